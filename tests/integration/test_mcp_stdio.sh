#!/usr/bin/env bash
# MCP over stdio (`litestream mcp -config FILE`, no daemon) with the official
# TypeScript SDK client: initialize with each protocol version, list tools,
# call every tool against a replica made by our own replicate, errors,
# read-only mode, a restore with progress and one cancelled half way (test
# slow-down LITESTREAM_MCP_TEST_RESTORE_DELAY_MS), raw bad input.
source "$(dirname "$0")/lib.sh"
source "$LS_SOURCE_DIR/tests/mcp/lib.sh"
mcp_require_deps
B=$LITESTREAM_BIN

make_replicated_db "$T/data/app.db" "$T/replica" "$T/ls.yml" 300
mkdir -p "$T/out"
common=(transport=stdio "bin=$B" "config=$T/ls.yml" "db=$T/data/app.db" "replica=file://$T/replica" "out=$T/out")
for v in 2024-11-05 2025-03-26 2025-06-18 2025-11-25; do
  sdk tools "${common[@]}" "version=$v"
done

# Read-only: restore and reset disappear.
{ cat "$T/ls.yml"; echo "mcp-read-only: true"; } >"$T/ro.yml"
sdk tools transport=stdio "bin=$B" "config=$T/ro.yml" "db=$T/data/app.db" "replica=file://$T/replica" "out=$T/out" readonly=1

# A 60 MB database: restore with progress, then a restore cancelled half way.
make_replicated_db "$T/data/big.db" "$T/bigrep" "$T/big.yml" 60000 1024
big=(transport=stdio "bin=$B" "config=$T/big.yml" "db=$T/data/big.db" "replica=file://$T/bigrep" "out=$T/out")
sdk restore "${big[@]}"
check_eq "restored database holds every row" 60000 "$(sql "$T/out/restored-stdio-2025-11-25.db" 'SELECT count(*) FROM t')"
LITESTREAM_MCP_TEST_RESTORE_DELAY_MS=25 sdk cancel "${big[@]}"

# Raw protocol over stdio: bad lines get errors and the server goes on.
big_line=$(head -c 1100000 /dev/zero | tr '\0' 'a')
out=$(printf '%s\n' '{"jsonrpc":"2.0","id":1,"method":"ping"' '[]' "$big_line" \
  '{"jsonrpc":"2.0","id":"x","method":"nope"}' '{"jsonrpc":"2.0","id":2,"method":"ping"}' |
  "$B" mcp -config "$T/ls.yml" 2>"$T/stdio.err") && rc=0 || rc=$?
check_eq "stdio server exits 0 at EOF" 0 "$rc"
check "malformed JSON -> -32700" grep -q '"code":-32700' <<<"$out"
check "empty batch -> -32600" grep -q 'empty batch' <<<"$out"
check "line over 1 MiB -> error" grep -q 'larger than 1 MiB' <<<"$out"
check "unknown method -> -32601" grep -q '"id":"x","error":{"code":-32601' <<<"$out"
check "ping still answered" grep -q '"id":2,"result":{}' <<<"$out"
check "stdout holds only JSON-RPC lines" bash -c '! grep -qv "^{\"jsonrpc\"" <<<"$0"' "$out"
finish
