#!/usr/bin/env bash
# Long crash soak: the crash-safety test with many more SIGKILL cycles.
#   tests/soak/crash_soak.sh [ITERATIONS]   (default 1000)
# Needs a build (build/litestream and build/bench_writer).
set -euo pipefail
cd "$(dirname "$0")/../.."
export LITESTREAM_BIN=${LITESTREAM_BIN:-$PWD/build/litestream}
export LS_BUILD_DIR=${LS_BUILD_DIR:-$PWD/build}
export LS_CRASH_ITERATIONS=${1:-1000}
exec bash tests/integration/test_crash_safety.sh
