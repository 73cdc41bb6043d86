#!/usr/bin/env bash
# Installs every Debian package the project needs to build, run and test.
# Idempotent: packages already present are skipped; safe to run repeatedly.
set -euo pipefail

DEBS=(
  build-essential cmake pkg-config clang llvm valgrind sqlite3
  libsqlite3-dev liblz4-dev libcurl4-openssl-dev libmicrohttpd-dev
  libjansson-dev libyaml-dev libuv1-dev libssl-dev libssh2-1-dev
  libcmocka-dev liblz4-tool curl ca-certificates
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
