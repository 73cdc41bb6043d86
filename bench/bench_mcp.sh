#!/usr/bin/env bash
# bench/bench_mcp.sh — MCP server throughput, latency and memory.
#
# Starts `litestream replicate` with 100 configured databases (small WAL-mode
# databases written by bench_writer, file replicas) and the MCP server on a
# free loopback port, then drives it with wrk over keep-alive connections:
#   1. tools/list   (JSON-RPC POST /mcp, stateless, 2025-11-25)
#   2. tools/call litestream_databases (live status of 100 databases)
# and prints requests/s, p50/p99 latency and the replicate process's peak
# RSS (VmHWM). Targets on a 2-core machine: >= 10,000 tools/list req/s with
# p99 < 5 ms; whole process < 16 MB RSS.
#
#   bash bench/bench_mcp.sh [BUILD_DIR]    (env: DURATION=10 CONNS=16 THREADS=1 NDB=100)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
B=$BUILD/litestream
W=$BUILD/bench_writer
DURATION=${DURATION:-10}
CONNS=${CONNS:-16}
THREADS=${THREADS:-1}
NDB=${NDB:-100}
for x in "$B" "$W"; do [ -x "$x" ] || { echo "missing $x (build first)"; exit 1; }; done
command -v wrk >/dev/null || { echo "wrk not installed (bash scripts/setup.sh)"; exit 1; }

T=$(mktemp -d /tmp/bench-mcp-XXXXXX)
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT

mkdir -p "$T/db"
{
  echo 'mcp-addr: "127.0.0.1:0"'
  echo 'dbs:'
  for i in $(seq 1 "$NDB"); do
    "$W" -db "$T/db/$i.db" -count 20 -row-size 200 >/dev/null
    printf '  - path: %s\n    replica:\n      url: file://%s\n' "$T/db/$i.db" "$T/rep/$i"
  done
} >"$T/ls.yml"

"$B" replicate -config "$T/ls.yml" >"$T/rep.log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do grep -q 'MCP server listening' "$T/rep.log" && break; sleep 0.1; done
PORT=$(grep 'MCP server listening' "$T/rep.log" | grep -o 'addr=[^ ]*' | sed 's/.*://')
[ -n "$PORT" ] || { cat "$T/rep.log"; exit 1; }
# Let the initial snapshots of every database reach the replicas.
for _ in $(seq 1 100); do
  n=$(ls "$T"/rep/*/ltx/0 2>/dev/null | grep -c '\.ltx$' || true)
  [ "$n" -ge "$NDB" ] && break
  sleep 0.2
done
sleep 1

lua() { # lua FILE BODY
  cat >"$1" <<LUA
wrk.method = "POST"
wrk.body = '$2'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["MCP-Protocol-Version"] = "2025-11-25"
LUA
}
lua "$T/list.lua" '{"jsonrpc":"2.0","id":1,"method":"tools/list"}'
lua "$T/dbs.lua" '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"litestream_databases"}}'

# Sanity: both requests succeed.
curl -sf -X POST -H 'Content-Type: application/json' --data-binary '{"jsonrpc":"2.0","id":1,"method":"tools/list"}' "http://127.0.0.1:$PORT/mcp" | grep -q litestream_restore
curl -sf -X POST -H 'Content-Type: application/json' -H 'MCP-Protocol-Version: 2025-11-25' --data-binary '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"litestream_databases"}}' "http://127.0.0.1:$PORT/mcp" | grep -q "\"count\":$NDB"

ms() { # wrk latency text -> milliseconds
  awk -v v="$1" 'BEGIN{ if (v ~ /us$/) {sub(/us$/,"",v); print v/1000} else if (v ~ /ms$/) {sub(/ms$/,"",v); print v+0} else if (v ~ /s$/) {sub(/s$/,"",v); print v*1000} else print v }'
}
run() { # run NAME LUA
  local out rps p50 p99 errs
  out=$(wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency -s "$2" "http://127.0.0.1:$PORT/mcp")
  rps=$(awk '/^Requests\/sec/{print $2}' <<<"$out")
  p50=$(ms "$(awk '$1=="50%"{print $2}' <<<"$out")")
  p99=$(ms "$(awk '$1=="99%"{print $2}' <<<"$out")")
  errs=$(grep -E 'Non-2xx|Socket errors' <<<"$out" || true)
  printf '%-22s %10.0f req/s   p50 %7.3f ms   p99 %7.3f ms   %s\n' "$1" "$rps" "$p50" "$p99" "${errs:-no errors}"
  eval "${1//[^a-z]/_}_RPS=$rps; ${1//[^a-z]/_}_P99=$p99"
}
BASE=$(awk '/VmHWM/{print $2}' /proc/$PID/status)
echo "MCP server bench: $NDB databases, wrk -t$THREADS -c$CONNS -d${DURATION}s, loopback port $PORT, $(nproc) cores"
run tools_list "$T/list.lua"
AFTER_LIST=$(awk '/VmHWM/{print $2}' /proc/$PID/status)
run databases "$T/dbs.lua"
HWM=$(awk '/VmHWM/{print $2}' /proc/$PID/status)
RSS=$(awk '/VmRSS/{print $2}' /proc/$PID/status)
THR=$(awk '/Threads/{print $2}' /proc/$PID/status)
printf 'replicate process:      peak RSS (VmHWM) %.1f MB (before load %.1f MB, after tools/list %.1f MB), RSS now %.1f MB, threads %s\n' \
  "$(echo "$HWM/1024" | bc -l)" "$(echo "$BASE/1024" | bc -l)" "$(echo "$AFTER_LIST/1024" | bc -l)" "$(echo "$RSS/1024" | bc -l)" "$THR"
verdict() { if awk "BEGIN{exit !($1)}"; then echo "PASS  $2"; else echo "MISS  $2"; fi; }
verdict "$tools_list_RPS >= 10000" "tools/list >= 10,000 req/s ($tools_list_RPS)"
verdict "$tools_list_P99 < 5" "tools/list p99 < 5 ms ($tools_list_P99 ms)"
verdict "$HWM < 16384" "replicate peak RSS < 16 MB ($HWM kB)"
