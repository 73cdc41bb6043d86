#!/usr/bin/env bash
# Installs every Debian package the project needs to build, run and test.
# Idempotent: packages already present are skipped; safe to run repeatedly.
set -euo pipefail

DEBS=(
  build-essential cmake pkg-config clang llvm valgrind sqlite3
  libsqlite3-dev liblz4-dev libcurl4-openssl-dev libmicrohttpd-dev
  libjansson-dev libyaml-dev libuv1-dev libssl-dev libssh2-1-dev
  libcmocka-dev liblz4-tool curl ca-certificates wrk jq
)

missing=()
for p in "${DEBS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all Debian packages present"
fi

# Node.js and npm run the test clients and test servers (MCP SDK, s3rver).
# The machine image ships them; on a machine without them, Debian's packages.
if ! command -v npm >/dev/null 2>&1; then
  echo "setup: installing Debian packages: nodejs npm"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm
fi
# Node packages for the S3 tests (s3rver on loopback, the AWS SigV4 signer for
# the signing check): npm ci into tests/s3/node_modules plus the s3rver fix,
# only when missing or package-lock.json changed. Failure is not fatal: the
# S3 integration tests then print SKIP.
setup_s3_test_deps() {
  if ! command -v npm >/dev/null 2>&1; then
    echo "setup: npm not found; S3 integration tests will be skipped"
    return 0
  fi
  bash "$(dirname "$0")/../tests/s3/ensure_deps.sh" ||
    echo "setup: installing the S3 test dependencies failed; S3 integration tests will be skipped"
}
setup_s3_test_deps

# Node packages for the MCP tests (official MCP SDK client, conformance suite,
# Node 22): npm ci into tests/mcp/node_modules, only when it is missing or
# package-lock.json changed.
if command -v npm >/dev/null 2>&1; then
  bash "$(dirname "$0")/../tests/mcp/ensure_deps.sh"
else
  echo "setup: npm not found; MCP SDK tests will be skipped"
fi
