#!/usr/bin/env bash
# curl tests of the MCP HTTP server (`litestream mcp -addr`, no daemon):
# REST endpoints, JSON-RPC framing, sessions, version header, batches, and
# bad input (malformed JSON, wrong types, huge bodies, unknown tools,
# foreign Origin/Host, traversal in o, restore-dir confinement): each a clear
# error, and the server stays up.
source "$(dirname "$0")/lib.sh"
source "$LS_SOURCE_DIR/tests/mcp/lib.sh"
B=$LITESTREAM_BIN

make_replicated_db "$T/data/app.db" "$T/replica" "$T/base.yml" 200
mkdir -p "$T/allowed" "$T/other"
{ cat "$T/base.yml"; echo "mcp-restore-dirs: [\"$T/allowed\"]"; } >"$T/ls.yml"
start_bg "$T/mcp.log" "$B" mcp -config "$T/ls.yml" -addr 127.0.0.1:0
SRV=$BG_PID
mcp_port "$T/mcp.log" || bad "MCP port"
URL="http://127.0.0.1:$MCP_PORT"
J=(-H 'Content-Type: application/json')

# req METHOD PATH [BODY] [curl args...] -> sets CODE and BODY
req() {
  local m=$1 p=$2 d=${3:-}; shift 3 || shift $#
  local args=(-s -o "$T/body" -w '%{http_code}' -X "$m" "$@")
  [ -n "$d" ] && args+=(--data-binary "$d")
  CODE=$(curl "${args[@]}" "$URL$p")
  BODY=$(cat "$T/body")
}
has() { grep -q -- "$1" <<<"$BODY"; }

# --- REST ---
req GET /mcp/tools ""
check_eq "GET /mcp/tools -> 200" 200 "$CODE"
check "REST listing has schemas" has '"inputSchema"'
check "REST listing has outputSchema" has '"outputSchema"'
check_eq "REST lists 9 tools" 9 "$(grep -c '"name": "litestream_' <<<"$BODY")"
req GET /mcp/tools/litestream_databases ""
check_eq "GET /mcp/tools/litestream_databases -> 200" 200 "$CODE"
check "databases result has the db path" has "\"path\": \"$T/data/app.db\""
req GET "/mcp/tools/litestream_ltx?path=$T/data/app.db&level=0" ""
check_eq "GET with query arguments -> 200" 200 "$CODE"
check "ltx result has files" has '"min_txid": "0000000000000001"'
req POST /mcp/tools/litestream_ltx "{\"database\":\"$T/data/app.db\",\"limit\":1}" "${J[@]}"
check_eq "POST /mcp/tools/litestream_ltx -> 200" 200 "$CODE"
check "ltx limit honoured" has '"count": 1'
req POST /mcp/tools/litestream_info "" "${J[@]}"
check_eq "POST with empty body -> 200" 200 "$CODE"
check "info has version" has '"version"'
req POST /mcp/tools/litestream_restore "{\"path\":\"$T/data/app.db\",\"o\":\"$T/allowed/r.db\"}" "${J[@]}"
check_eq "REST restore into an allowed dir -> 200" 200 "$CODE"
check "restore result has restored_path" has "\"restored_path\": \"$T/allowed/r.db\""
check_eq "restored rows" 200 "$(sql "$T/allowed/r.db" 'SELECT count(*) FROM t')"

# --- bad input over REST ---
req POST /mcp/tools/litestream_nope "{}" "${J[@]}"
check_eq "unknown tool -> 404" 404 "$CODE"
check "unknown tool error names it" has 'unknown tool: litestream_nope'
req POST /mcp/tools/litestream_ltx '{"path": ' "${J[@]}"
check_eq "malformed JSON -> 400" 400 "$CODE"
check "malformed JSON says so" has 'invalid JSON'
req POST /mcp/tools/litestream_ltx '[1,2]' "${J[@]}"
check_eq "non-object body -> 400" 400 "$CODE"
req POST /mcp/tools/litestream_ltx '{"path": 12}' "${J[@]}"
check_eq "wrong type -> 400" 400 "$CODE"
check "wrong type names the argument" has 'argument \\"path\\" must be of type string'
req POST /mcp/tools/litestream_ltx "{\"path\":\"$T/data/app.db\",\"level\":12}" "${J[@]}"
check_eq "level out of range -> 400" 400 "$CODE"
req POST /mcp/tools/litestream_restore "{\"path\":\"$T/data/app.db\",\"o\":\"$T/allowed/../other/x.db\"}" "${J[@]}"
check_eq "traversal in o -> 400" 400 "$CODE"
check "traversal error explains" has 'contains \\"..\\"'
req POST /mcp/tools/litestream_restore "{\"path\":\"$T/data/app.db\",\"o\":\"$T/other/x.db\"}" "${J[@]}"
check_eq "outside mcp-restore-dirs -> 403" 403 "$CODE"
check "restore-dirs error names the setting" has 'mcp-restore-dirs'
ln -s "$T/other" "$T/allowed/link"
req POST /mcp/tools/litestream_restore "{\"path\":\"$T/data/app.db\",\"o\":\"$T/allowed/link/x.db\"}" "${J[@]}"
check_eq "symlink escaping the restore dir -> 403" 403 "$CODE"
check "nothing written outside" test ! -e "$T/other/x.db"
req POST /mcp/tools/litestream_restore "{\"path\":\"$T/data/app.db\",\"txid\":\"xyz\"}" "${J[@]}"
check_eq "bad txid -> 400" 400 "$CODE"
req POST /mcp/tools/litestream_restore "{\"path\":\"$T/data/app.db\",\"o\":\"$T/allowed/t.db\",\"timestamp\":\"yesterday\"}" "${J[@]}"
check_eq "bad timestamp -> 400" 400 "$CODE"
check "bad timestamp explains the format" has 'RFC 3339'
req POST /mcp/tools/litestream_restore "{\"path\":\"file://$T/nothing-here\",\"o\":\"$T/allowed/e.db\"}" "${J[@]}"
check_eq "empty replica -> 404" 404 "$CODE"
check "empty replica says no backups" has 'no backups found'
req POST /mcp/tools/litestream_restore "{\"path\":\"$T/data/app.db\",\"o\":\"$T/allowed/r.db\"}" "${J[@]}"
check_eq "existing output -> 409" 409 "$CODE"
check "existing output suggests force" has 'force'
head -c 2000000 /dev/zero | tr '\0' ' ' >"$T/huge.json"
CODE=$(curl -s -o "$T/body" -w '%{http_code}' -X POST "${J[@]}" --data-binary @"$T/huge.json" "$URL/mcp/tools/litestream_info")
check_eq "huge body -> 413" 413 "$CODE"
CODE=$(curl -s -o "$T/body" -w '%{http_code}' -X POST "${J[@]}" -H 'Transfer-Encoding: chunked' --data-binary @"$T/huge.json" "$URL/mcp")
check_eq "huge chunked body -> 413" 413 "$CODE"
req GET /mcp/tools "" -H 'Origin: http://evil.example.com'
check_eq "foreign Origin -> 403" 403 "$CODE"
req GET /mcp/tools "" -H 'Host: evil.example.com'
check_eq "foreign Host -> 403" 403 "$CODE"
req GET /mcp/tools "" -H 'Origin: http://localhost:6274'
check_eq "localhost Origin -> 200" 200 "$CODE"
req GET /.well-known/oauth-protected-resource ""
check_eq "no OAuth metadata -> 404" 404 "$CODE"

# --- JSON-RPC over Streamable HTTP ---
INIT='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}'
SID=$(curl -s -D - -o "$T/body" -X POST "${J[@]}" --data-binary "$INIT" "$URL/mcp" | tr -d '\r' | awk -F': ' 'tolower($1)=="mcp-session-id"{print $2}')
check "initialize returns Mcp-Session-Id" test -n "$SID"
S=(-H "Mcp-Session-Id: $SID" -H 'MCP-Protocol-Version: 2025-11-25')
req POST /mcp '{"jsonrpc":"2.0","method":"notifications/initialized"}' "${J[@]}" "${S[@]}"
check_eq "notification -> 202" 202 "$CODE"
req POST /mcp '{"jsonrpc":"2.0","id":2,"method":"tools/list"}' "${J[@]}" "${S[@]}"
check_eq "tools/list -> 200" 200 "$CODE"
check "tools/list has outputSchema for 2025-11-25" has '"outputSchema"'
req POST /mcp '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"litestream_version"}}' "${J[@]}" "${S[@]}"
check "tools/call has structuredContent" has '"structuredContent"'
req POST /mcp '{"jsonrpc":"2.0","id":4,' "${J[@]}" "${S[@]}"
check_eq "malformed JSON-RPC -> 400" 400 "$CODE"
check "malformed JSON-RPC -> -32700" has '"code":-32700'
req POST /mcp '{"jsonrpc":"2.0","id":5,"method":"prompts/list"}' "${J[@]}" "${S[@]}"
check "unknown method -> -32601" has '"code":-32601'
req POST /mcp '{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"nope"}}' "${J[@]}" "${S[@]}"
check "unknown tool -> -32602" has '"code":-32602'
req POST /mcp '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"litestream_ltx","arguments":{"path":true}}}' "${J[@]}" "${S[@]}"
check "wrong argument type -> -32602" has '"code":-32602'
req POST /mcp '{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"litestream_restore","arguments":{"path":"/nope.db"}}}' "${J[@]}" "${S[@]}"
check "tool failure -> isError result" has '"isError":true'
req POST /mcp '{"jsonrpc":"1.0","id":9,"method":"ping"}' "${J[@]}" "${S[@]}"
check "wrong jsonrpc version -> -32600" has '"code":-32600'
req POST /mcp '[{"jsonrpc":"2.0","id":10,"method":"ping"}]' "${J[@]}" "${S[@]}"
check "batch refused in 2025-11-25 -> -32600" has 'batches are not supported'
req POST /mcp '[{"jsonrpc":"2.0","id":11,"method":"ping"},{"jsonrpc":"2.0","method":"notifications/x"},{"jsonrpc":"2.0","id":12,"method":"tools/list"}]' "${J[@]}" -H 'MCP-Protocol-Version: 2025-03-26'
check_eq "stateless 2025-03-26 batch -> 200" 200 "$CODE"
check "batch answers both requests" bash -c 'grep -q "\"id\":11" <<<"$0" && grep -q "\"id\":12" <<<"$0" && [ "${0:0:1}" = "[" ]' "$BODY"
req POST /mcp '{"jsonrpc":"2.0","id":13,"method":"ping"}' "${J[@]}" -H 'MCP-Protocol-Version: 1999-01-01'
check_eq "unsupported MCP-Protocol-Version -> 400" 400 "$CODE"
req POST /mcp '{"jsonrpc":"2.0","id":14,"method":"ping"}' "${J[@]}" -H 'Mcp-Session-Id: deadbeef'
check_eq "unknown session -> 404" 404 "$CODE"
req POST /mcp '{"jsonrpc":"2.0","id":15,"method":"ping"}' -H 'Content-Type: text/plain'
check_eq "wrong Content-Type -> 415" 415 "$CODE"
req GET /mcp "" "${S[@]}" -H 'Accept: text/event-stream'
check_eq "GET with a session -> 405" 405 "$CODE"
req PUT /mcp "" 
check_eq "PUT -> 405" 405 "$CODE"
req DELETE /mcp "" "${S[@]}"
check_eq "DELETE session -> 200" 200 "$CODE"
req POST /mcp '{"jsonrpc":"2.0","id":16,"method":"ping"}' "${J[@]}" "${S[@]}"
check_eq "deleted session -> 404" 404 "$CODE"
INIT_OLD='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2099-01-01","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}'
req POST /mcp "$INIT_OLD" "${J[@]}"
check "unknown version -> newest (2025-11-25)" has '"protocolVersion":"2025-11-25"'
for v in 2024-11-05 2025-03-26 2025-06-18; do
  req POST /mcp "${INIT_OLD/2099-01-01/$v}" "${J[@]}"
  check "version $v is echoed" has "\"protocolVersion\":\"$v\""
done

# progress over SSE with curl
req POST /mcp "{\"jsonrpc\":\"2.0\",\"id\":20,\"method\":\"tools/call\",\"params\":{\"name\":\"litestream_restore\",\"arguments\":{\"path\":\"$T/data/app.db\",\"o\":\"$T/allowed/sse.db\"},\"_meta\":{\"progressToken\":\"p1\"}}}" "${J[@]}" -H 'MCP-Protocol-Version: 2025-11-25' -H 'Accept: application/json, text/event-stream'
check "progress token -> SSE with notifications/progress" has 'notifications/progress'
check "SSE carries the final result" has '"id":20,"result"'

# legacy SSE endpoint event
curl -s -N --max-time 1 -H 'Accept: text/event-stream' "$URL/sse" >"$T/sse.txt" || true
check "GET /sse announces the endpoint" grep -q '^data: /messages?sessionId=' "$T/sse.txt"
req POST "/messages?sessionId=nope" '{"jsonrpc":"2.0","id":1,"method":"ping"}' "${J[@]}"
check_eq "legacy POST with unknown session -> 404" 404 "$CODE"

# v0.3 replicas (shared golden fixture): generations and their segments
V3="${LS_SHARED_DIR:-$LS_SOURCE_DIR/../shared}/testdata/golden/v03-replica"
if [ -d "$V3" ]; then
  req GET "/mcp/tools/litestream_generations?path=file://$V3" ""
  check_eq "v0.3 generations -> 200" 200 "$CODE"
  check "v0.3 generation listed" has '"generation": "0000000000000000"'
  check "v0.3 generation counts segments" has '"wal_segments": 6'
  req GET "/mcp/tools/litestream_ltx?path=file://$V3&generation=0000000000000000" ""
  check "v0.3 ltx entries carry generation and index" bash -c 'grep -q "\"generation\": \"0000000000000000\"" <<<"$0" && grep -q "\"index\": 2" <<<"$0"' "$BODY"
  req GET "/mcp/tools/litestream_ltx?path=file://$V3&generation=0000000000000000&index=1" ""
  check_eq "v0.3 index filter" 1 "$(grep -c '"offset"' <<<"$(sed -n '/"files"/,/"ltx_files"/p' <<<"$BODY")")"
  req GET "/mcp/tools/litestream_snapshots?path=file://$V3" ""
  check "v0.3 snapshots listed with generation and index" has '"index": 0'
  req GET "/mcp/tools/litestream_ltx?path=file://$V3&generation=00000000000000ff" ""
  check_eq "unknown generation -> 404" 404 "$CODE"
  req POST /mcp/tools/litestream_restore "{\"path\":\"file://$V3\",\"o\":\"$T/allowed/v3.db\",\"dry_run\":true}" "${J[@]}"
  check "v0.3 dry run names the layout and generation" bash -c 'grep -q "\"layout\": \"v0.3\"" <<<"$0" && grep -q "\"generation\": \"0000000000000000\"" <<<"$0"' "$BODY"
  req POST /mcp/tools/litestream_restore "{\"path\":\"file://$V3\",\"o\":\"$T/allowed/v3.db\"}" "${J[@]}"
  check_eq "v0.3 restore -> 200" 200 "$CODE"
  check "v0.3 restore equals the golden result" cmp -s "$T/allowed/v3.db" "$(dirname "$V3")/v03-replica-expected-restore.db"
  req POST /mcp/tools/litestream_restore "{\"path\":\"file://$V3\",\"o\":\"$T/allowed/v3b.db\",\"generation\":\"0000000000000000\",\"index\":\"00000001\"}" "${J[@]}"
  check_eq "v0.3 restore to a WAL index -> 200" 200 "$CODE"
  check "v0.3 restore reports the index" has '"index": 1'
  req POST /mcp/tools/litestream_restore "{\"path\":\"file://$V3\",\"o\":\"$T/allowed/v3c.db\",\"index\":9}" "${J[@]}"
  check_eq "v0.3 index past the end -> 404" 404 "$CODE"
  check "v0.3 index error names the highest index" has 'highest index'
else
  echo "SKIP: shared v0.3 fixture absent ($V3)"
fi

# still alive after all of that
req GET /mcp/tools/litestream_version ""
check_eq "server still answers" 200 "$CODE"
check "server process alive" kill -0 "$SRV"
stop_pid "$SRV" TERM && rc=0 || rc=$?
check_eq "mcp -addr exits 0 on SIGTERM" 0 "$rc"
finish
