#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs each for a bounded time
# (default 60 s each) on its seed corpus (fuzz/corpus/<target>/ plus seeds
# the target's seed script generates). Crashes fail the run.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-60}
JOBS=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DLS_FUZZ=ON -DCMAKE_C_COMPILER=clang >/dev/null
targets=()
for f in fuzz/fuzz_*.c; do targets+=(--target "$(basename "$f" .c)"); done
[ ${#targets[@]} -gt 0 ] && cmake --build build-fuzz -j"$JOBS" "${targets[@]}" >/dev/null
found=0
for bin in build-fuzz/fuzz_*; do
  [ -x "$bin" ] || continue
  found=1
  name=$(basename "$bin")
  work=$(mktemp -d)
  mkdir -p "$work/corpus"
  if [ -d "fuzz/corpus/$name" ]; then cp -r "fuzz/corpus/$name/." "$work/corpus/"; fi
  if [ -f "fuzz/seeds_$name.sh" ]; then bash "fuzz/seeds_$name.sh" "$work/corpus"; fi
  echo "fuzz: $name for ${SECS}s on $(ls "$work/corpus" | wc -l) seeds"
  if ! "$bin" -max_total_time="$SECS" -print_final_stats=1 -artifact_prefix="$work/" \
        "$work/corpus" >"$work/log" 2>&1; then
    echo "fuzz: $name FAILED"; tail -60 "$work/log"; exit 1
  fi
  grep -E 'stat::number_of_executed_units|Done' "$work/log" | tail -2
  rm -rf "$work"
done
[ $found = 1 ] || echo "fuzz: no fuzz targets built"
