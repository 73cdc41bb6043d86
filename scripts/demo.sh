#!/usr/bin/env bash
# Sets everything up, builds, and runs the main job.
# (Until the replication engine lands this builds and prints the version.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)"
./build/litestream version
