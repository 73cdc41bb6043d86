#!/usr/bin/env bash
# Runs every unit-test executable of a build directory under valgrind memcheck
# and fails on any error or definite/indirect leak.
# Tests that set LS_VALGRIND_SKIP in their source are run with
# LS_UNDER_VALGRIND=1 so they can shrink their workloads.
set -euo pipefail
BUILD=${1:-build}
fail=0
for t in "$BUILD"/test_*; do
  [ -x "$t" ] || continue
  log=$(mktemp)
  if LS_UNDER_VALGRIND=1 valgrind --quiet --error-exitcode=99 --leak-check=full \
       --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
       --suppressions="$(dirname "$0")/valgrind-dlopen.supp" \
       "$t" >"$log" 2>&1; then
    echo "valgrind ok: $(basename "$t")"
  else
    echo "valgrind FAILED: $(basename "$t")"; tail -50 "$log"; fail=1
  fi
  rm -f "$log"
done
exit $fail
