#!/usr/bin/env bash
# The official MCP conformance suite (@modelcontextprotocol/conformance, run
# with the Node 22 binary from the `node` npm package) against the server of
# `litestream replicate`: the scenarios that apply to a tools-only server.
source "$(dirname "$0")/lib.sh"
source "$LS_SOURCE_DIR/tests/mcp/lib.sh"
mcp_require_deps
B=$LITESTREAM_BIN

make_replicated_db "$T/data/app.db" "$T/replica" "$T/base.yml" 100
{ echo 'mcp-addr: "127.0.0.1:0"'; cat "$T/base.yml"; } >"$T/ls.yml"
start_bg "$T/rep.log" "$B" replicate -config "$T/ls.yml"
REP=$BG_PID
mcp_port "$T/rep.log" || bad "MCP port"
check_eq "conformance runner uses Node 22" v22 "$("$NODE22" --version | cut -d. -f1)"
for s in server-initialize ping tools-list logging-set-level server-sse-multiple-streams dns-rebinding-protection; do
  out=$(cd "$T" && timeout 300 "$NODE22" "$MCP_DIR/node_modules/@modelcontextprotocol/conformance/dist/index.js" \
    server --url "http://localhost:$MCP_PORT/mcp" --scenario "$s" -o "$T/conf-$s" 2>&1) && rc=0 || rc=$?
  line=$(grep -E '^Passed: [0-9]+/[0-9]+' <<<"$out" | tail -1)
  if [ "$rc" -eq 0 ] && [[ "$line" =~ ^Passed:\ ([0-9]+)/([0-9]+),\ 0\ failed ]] && [ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ]; then
    ok "conformance $s ($line)"
  else
    bad "conformance $s (rc=$rc): $(tail -15 <<<"$out")"
  fi
done
check "server alive after the suite" kill -0 "$REP"
stop_pid "$REP" TERM && rc=0 || rc=$?
check_eq "replicate exits 0" 0 "$rc"
finish
