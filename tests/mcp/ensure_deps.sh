#!/usr/bin/env bash
# Installs the node dependencies of the MCP tests into tests/mcp/node_modules
# (the official MCP TypeScript SDK, the conformance suite and a Node 22
# binary from the `node` npm package). Idempotent: does nothing when
# node_modules matches package-lock.json. Used by scripts/setup.sh and by the
# MCP integration tests.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v npm >/dev/null 2>&1; then
  echo "ensure_deps: npm not found" >&2
  exit 1
fi
stamp=node_modules/.litestream-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -d node_modules ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] &&
   node_modules/.bin/node --version >/dev/null 2>&1; then
  exit 0
fi
echo "ensure_deps: installing MCP test dependencies (npm ci)"
npm ci --no-audit --no-fund --loglevel=error
node_modules/.bin/node --version >/dev/null
echo "$want" >"$stamp"
