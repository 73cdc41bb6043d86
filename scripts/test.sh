#!/usr/bin/env bash
# Sets everything up and runs every test:
#   1. installs the Debian/npm packages (scripts/setup.sh, idempotent)
#   2. builds and runs the whole ctest suite (unit + integration)
#   3. rebuilds with AddressSanitizer + UndefinedBehaviorSanitizer and runs
#      the unit tests again
#   4. runs the unit tests under valgrind (leak check)
#   5. runs the libFuzzer targets for a bounded time on their seed corpora
# Environment: LS_SKIP_SETUP=1 skips step 1, LS_FUZZ_SECONDS (default 60).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
JOBS=$(nproc 2>/dev/null || echo 2)

if [ "${LS_SKIP_SETUP:-0}" != 1 ]; then bash scripts/setup.sh; fi

echo "== build (RelWithDebInfo) =="
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$JOBS"
echo "== tests =="
(cd build && ctest --output-on-failure -j"$JOBS")

echo "== unit tests under ASan+UBSan =="
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DLS_SANITIZE=ON -DCMAKE_C_COMPILER=clang >/dev/null
cmake --build build-asan -j"$JOBS"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --output-on-failure -j"$JOBS" -L unit)

echo "== unit tests under valgrind =="
bash scripts/valgrind-unit.sh build

echo "== fuzzing =="
bash scripts/fuzz.sh "${LS_FUZZ_SECONDS:-60}"
echo "== all test stages passed =="
