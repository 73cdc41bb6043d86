#!/usr/bin/env bash
# MCP over HTTP served by `litestream replicate` (mcp-addr in the config and
# the -mcp-addr flag), driven by the official TypeScript SDK client over
# Streamable HTTP (each protocol version) and the legacy HTTP+SSE transport:
# every tool against live status, a restore with progress (SSE response),
# a restore cancelled half way, the refusal to overwrite a replicated
# database, bearer-token auth, graceful shutdown.
source "$(dirname "$0")/lib.sh"
source "$LS_SOURCE_DIR/tests/mcp/lib.sh"
mcp_require_deps
B=$LITESTREAM_BIN

make_replicated_db "$T/data/app.db" "$T/replica" "$T/base.yml" 300
make_replicated_db "$T/data/big.db" "$T/bigrep" "$T/bigbase.yml" 60000 1024
cat >"$T/ls.yml" <<YML
mcp-addr: "127.0.0.1:0"
dbs:
  - path: $T/data/app.db
    replica:
      url: file://$T/replica
  - path: $T/data/big.db
    replica:
      url: file://$T/bigrep
YML
mkdir -p "$T/out"
LITESTREAM_MCP_TEST_RESTORE_DELAY_MS=0 start_bg "$T/rep.log" "$B" replicate -config "$T/ls.yml"
REP=$BG_PID
check "replicate logs Starting MCP server" wait_until 20 grep -q 'msg="Starting MCP server" addr=127.0.0.1:0' "$T/rep.log"
mcp_port "$T/rep.log" || bad "MCP port"
URL="http://127.0.0.1:$MCP_PORT"
"$WRITER" -db "$T/data/app.db" -count 50 >/dev/null
sleep 1.5

common=("config=$T/ls.yml" "db=$T/data/app.db" "replica=file://$T/replica" "out=$T/out")
for v in 2024-11-05 2025-03-26 2025-06-18 2025-11-25; do
  sdk tools transport=http "url=$URL/mcp" "${common[@]}" "version=$v"
done
sdk tools transport=http "url=$URL/" "${common[@]}" version=2025-11-25
sdk tools transport=sse "url=$URL/sse" "${common[@]}" version=2024-11-05

live=$(curl -s "$URL/mcp/tools/litestream_databases")
check "live status comes from the running store" grep -q '"replicating": true' <<<"$live"
check "live replica status is idle or syncing" grep -Eq '"status": "(idle|syncing)"' <<<"$live"

big=("config=$T/ls.yml" "db=$T/data/big.db" "replica=file://$T/bigrep" "out=$T/out")
sdk restore transport=http "url=$URL/mcp" "${big[@]}"
check_eq "restored database holds every row" 60000 "$(sql "$T/out/restored-http-2025-11-25.db" 'SELECT count(*) FROM t')"
stop_pid "$REP" TERM || true

# Cancellation needs a slow restore: restart with the test-only slow-down.
LITESTREAM_MCP_TEST_RESTORE_DELAY_MS=25 start_bg "$T/rep2.log" "$B" replicate -config "$T/bigbase.yml" -mcp-addr 127.0.0.1:0
REP=$BG_PID
check "-mcp-addr starts the server" wait_until 20 grep -q 'msg="Starting MCP server" addr=127.0.0.1:0' "$T/rep2.log"
mcp_port "$T/rep2.log" || bad "MCP port"
URL="http://127.0.0.1:$MCP_PORT"
sdk cancel transport=http "url=$URL/mcp" "${big[@]}"
sdk cancel transport=sse "url=$URL/sse" "${big[@]}" version=2024-11-05

# Never over the database being replicated, even with force.
r=$(curl -s -X POST "$URL/mcp/tools/litestream_restore" -H 'Content-Type: application/json' \
  -d "{\"path\":\"$T/data/big.db\",\"force\":true}")
check "restore over a replicated database is refused" grep -q 'is replicating that database' <<<"$r"
r=$(curl -s -X POST "$URL/mcp/tools/litestream_reset" -d "{\"path\":\"$T/data/big.db\"}")
check "reset of a replicated database is refused" grep -q 'is replicating it' <<<"$r"

t0=$(date +%s%N)
stop_pid "$REP" TERM && rc=0 || rc=$?
t1=$(date +%s%N)
check_eq "replicate with MCP exits 0 on SIGTERM" 0 "$rc"
check "shutdown within 15 s" test $(((t1 - t0) / 1000000)) -lt 15000
check "no error logged at shutdown" bash -c '! grep -q "level=ERROR" "$0"' "$T/rep2.log"

# Bearer token from an environment variable (config expansion).
cat >"$T/tok.yml" <<YML
mcp-addr: "127.0.0.1:0"
mcp-token: \${MCP_TEST_TOKEN}
dbs:
  - path: $T/data/app.db
    replica:
      url: file://$T/replica
YML
MCP_TEST_TOKEN=s3cr3t-token start_bg "$T/rep3.log" "$B" replicate -config "$T/tok.yml"
REP=$BG_PID
mcp_port "$T/rep3.log" || bad "MCP port"
URL="http://127.0.0.1:$MCP_PORT"
sdk tools transport=http "url=$URL/mcp" token=s3cr3t-token "config=$T/tok.yml" "db=$T/data/app.db" "replica=file://$T/replica" "out=$T/out"
sdk tools transport=sse "url=$URL/sse" token=s3cr3t-token "config=$T/tok.yml" "db=$T/data/app.db" "replica=file://$T/replica" "out=$T/out" version=2024-11-05
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/mcp/tools")
check_eq "no token -> 401" 401 "$code"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer wrong' "$URL/mcp/tools")
check_eq "wrong token -> 401" 401 "$code"
hdrs=$(curl -s -D - -o /dev/null -X POST "$URL/mcp" -d '{}')
check "401 carries WWW-Authenticate: Bearer" grep -qi '^WWW-Authenticate: Bearer' <<<"$hdrs"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer s3cr3t-token' "$URL/mcp/tools")
check_eq "right token -> 200" 200 "$code"
check "the token is never logged" bash -c '! grep -q s3cr3t "$0"' "$T/rep3.log"
stop_pid "$REP" TERM || true
finish
