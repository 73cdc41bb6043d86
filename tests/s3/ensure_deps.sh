#!/usr/bin/env bash
# Installs the node dependencies of the S3 tests into tests/s3/node_modules
# (s3rver 3.7.1, the AWS SigV4 signer @smithy/signature-v4 with
# @aws-crypto/sha256-js) and applies the one-line s3rver fix of
# ../shared/spec/test-servers.md (common prefixes below a delimiter).
# Idempotent: does nothing when node_modules matches package-lock.json and
# the patch is in place. Used by scripts/setup.sh and the S3 tests.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v npm >/dev/null 2>&1; then
  echo "ensure_deps: npm not found" >&2
  exit 1
fi
stamp=node_modules/.litestream-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
fs=node_modules/s3rver/lib/stores/filesystem.js
if ! { [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -f "$fs" ]; }; then
  echo "ensure_deps: installing S3 test dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi
# Patch (required for delimiter listings): one perl substitution, idempotent.
if ! grep -q 'patched: descend below common prefixes' "$fs"; then
  perl -0pi -e 's/if \(\s*delimiterEnc &&\s*dirPath\.slice\(prefixPath\.length\)\.indexOf\(delimiterEnc\) !== -1\s*\) \{\s*\/\/ avoid directories occurring beneath a common prefix\s*return false;\s*\}/\/\* patched: descend below common prefixes \*\//' "$fs"
  grep -q 'patched: descend below common prefixes' "$fs" || { echo "ensure_deps: s3rver patch failed" >&2; exit 1; }
fi
echo "$want" >"$stamp"
