#!/usr/bin/env bash
# The main job, end to end: sets everything up, builds, creates a sample
# database with a little write traffic, replicates it to a local file replica
# while serving MCP on 127.0.0.1:3001, shows the replica's LTX files and a
# point-in-time restore, prints how to connect an assistant, and keeps
# replicating and serving until Ctrl-C.
#   DEMO_DIR            working directory (default ./.demo, recreated)
#   DEMO_SECONDS        how long the first write traffic runs (default 15)
#   DEMO_SERVE_SECONDS  stop after serving this long (default: until Ctrl-C)
#   DEMO_MCP_ADDR       MCP listen address (default 127.0.0.1:3001)
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
ADDR=${DEMO_MCP_ADDR:-127.0.0.1:3001}
rm -rf "$D"; mkdir -p "$D/data"
cat >"$D/litestream.yml" <<YML
# Demo configuration (Litestream v0.5 format plus mcp-addr).
mcp-addr: "$ADDR"
dbs:
  - path: $D/data/app.db
    replica:
      url: file://$D/replica
YML
echo "== $($LS version)"
echo "== creating $D/data/app.db, replicating it to $D/replica, MCP on $ADDR"
"$W" -db "$D/data/app.db" -count 100 -row-size 256 >/dev/null
"$LS" replicate -config "$D/litestream.yml" >"$D/replicate.log" 2>&1 &
PID=$!
WPID=""
stop() {
  if [ -n "$WPID" ]; then kill "$WPID" 2>/dev/null || true; fi
  kill -TERM "$PID" 2>/dev/null || true
  wait "$PID" 2>/dev/null || true
}
trap stop EXIT
trap 'exit 0' INT TERM
"$W" -db "$D/data/app.db" -rate 20 -seconds "$SECS" -row-size 256 -checkpoint-every 200
sleep 2
MID=$(date -u +%Y-%m-%dT%H:%M:%SZ)
sleep 1
"$W" -db "$D/data/app.db" -rate 20 -seconds 3 -row-size 256 >/dev/null
sleep 2
echo "== replicate log (first lines)"; head -6 "$D/replicate.log"
echo "== status"; "$LS" status -config "$D/litestream.yml"
echo "== LTX files in the replica (all levels)"; "$LS" ltx -level all "file://$D/replica" | head -20
echo "== restore latest"
"$LS" restore -o "$D/restored.db" "file://$D/replica"
echo "source rows:   $(sqlite3 "$D/data/app.db" 'SELECT count(*) FROM t')"
echo "restored rows: $(sqlite3 "$D/restored.db" 'SELECT count(*) FROM t')"
echo "== restore as of $MID"
"$LS" restore -o "$D/restored-mid.db" -timestamp "$MID" "file://$D/replica"
echo "rows then:     $(sqlite3 "$D/restored-mid.db" 'SELECT count(*) FROM t')"
echo "== MCP tools served at http://$ADDR/mcp"
curl -s "http://$ADDR/mcp/tools" | grep -o '"name": *"litestream_[a-z_]*"' | sed 's/.*"\(litestream_[a-z_]*\)"/  \1/' || true
cat <<TXT

Connect an assistant (details: docs/mcp.md):
  Claude Code:      claude mcp add --transport http litestream http://$ADDR/mcp
  MCP Inspector:    npx @modelcontextprotocol/inspector --cli http://$ADDR/mcp --transport http --method tools/list
  Claude Desktop:   command "$LS" with args ["mcp", "-config", "$D/litestream.yml"] (stdio)
  curl (REST):      curl -s -X POST http://$ADDR/mcp/tools/litestream_databases -d '{}'

Replicating (1 write/s) and serving MCP; Ctrl-C stops.
TXT
"$W" -db "$D/data/app.db" -rate 1 -seconds "${DEMO_SERVE_SECONDS:-100000000}" -row-size 256 >/dev/null &
WPID=$!
wait "$WPID" || true
