#!/usr/bin/env bash
# The main job, end to end: sets everything up, builds, creates a sample
# database with a little write traffic, replicates it to a local file replica,
# shows the replica's LTX files and a point-in-time restore, then stops.
#   DEMO_DIR   working directory (default ./.demo, recreated)
#   DEMO_SECONDS  how long the write traffic runs (default 15)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
bash scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
LS=$ROOT/build/litestream
W=$ROOT/build/bench_writer
D=${DEMO_DIR:-$ROOT/.demo}
SECS=${DEMO_SECONDS:-15}
rm -rf "$D"; mkdir -p "$D"
cat >"$D/litestream.yml" <<YML
# Demo configuration (Litestream v0.5 format).
dbs:
  - path: $D/app.db
    replica:
      url: file://$D/replica
YML
echo "== $($LS version)"
echo "== creating $D/app.db and replicating it to $D/replica"
"$W" -db "$D/app.db" -count 100 -row-size 256 >/dev/null
"$LS" replicate -config "$D/litestream.yml" >"$D/replicate.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
"$W" -db "$D/app.db" -rate 20 -seconds "$SECS" -row-size 256 -checkpoint-every 200
sleep 2
MID=$(date -u +%Y-%m-%dT%H:%M:%SZ)
sleep 1
"$W" -db "$D/app.db" -rate 20 -seconds 3 -row-size 256 >/dev/null
sleep 2
kill -TERM $PID; wait $PID || true; trap - EXIT
echo "== replicate log (first lines)"; head -5 "$D/replicate.log"
echo "== status"; "$LS" status -config "$D/litestream.yml"
echo "== LTX files in the replica (all levels)"; "$LS" ltx -level all "file://$D/replica" | head -20
echo "== restore latest"
"$LS" restore -o "$D/restored.db" "file://$D/replica"
echo "source rows:   $(sqlite3 "$D/app.db" 'SELECT count(*) FROM t')"
echo "restored rows: $(sqlite3 "$D/restored.db" 'SELECT count(*) FROM t')"
echo "== restore as of $MID"
"$LS" restore -o "$D/restored-mid.db" -timestamp "$MID" "file://$D/replica"
echo "rows then:     $(sqlite3 "$D/restored-mid.db" 'SELECT count(*) FROM t')"
echo "== done; files are in $D"
