# tests/mcp/lib.sh — helpers for tests/integration/test_mcp_*.sh (sourced
# after tests/integration/lib.sh).
MCP_DIR="${LS_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/tests/mcp"
NODE22="$MCP_DIR/node_modules/.bin/node"

# Installs the node test dependencies (idempotent) or skips the test visibly.
mcp_require_deps() {
  if ! command -v npm >/dev/null 2>&1; then
    echo "SKIP: npm not available; MCP SDK tests need it (scripts/setup.sh)"
    exit 0
  fi
  if ! bash "$MCP_DIR/ensure_deps.sh" >"$T/npm.log" 2>&1; then
    cat "$T/npm.log"
    echo "not ok - installing the MCP test dependencies (npm ci in tests/mcp)"
    exit 1
  fi
}

# sdk MODE key=value... : runs the SDK client, counts its ok/not ok lines.
sdk() {
  local out rc=0
  out=$("$NODE22" "$MCP_DIR/sdk_client.mjs" "$@" 2>&1) || rc=$?
  echo "$out" | grep -E '^(ok|not ok|#)' || true
  local p f
  p=$(echo "$out" | grep -c '^ok - ' || true)
  f=$(echo "$out" | grep -c '^not ok - ' || true)
  PASSES=$((PASSES + p))
  FAILS=$((FAILS + f))
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    bad "sdk client $1 exited $rc: $(echo "$out" | tail -5)"
  fi
}

# mcp_port LOG: waits for "MCP server listening addr=HOST:PORT"; sets MCP_PORT.
mcp_port() {
  local log=$1
  if ! wait_until 20 grep -q 'MCP server listening' "$log"; then
    echo "server log:"; cat "$log"
    return 1
  fi
  MCP_PORT=$(grep 'MCP server listening' "$log" | tail -1 | grep -o 'addr=[^ ]*' | sed 's/.*://')
  [ -n "$MCP_PORT" ]
}

# make_replicated_db DB REPLICA_DIR CONFIG ROWS [ROW_SIZE]: writes rows and
# replicates once with our own replicate.
make_replicated_db() {
  local db=$1 rep=$2 cfg=$3 rows=$4 size=${5:-1024}
  mkdir -p "$(dirname "$db")"
  "$WRITER" -db "$db" -count "$rows" -row-size "$size" >/dev/null
  cat >"$cfg" <<YML
dbs:
  - path: $db
    replica:
      url: file://$rep
YML
  "$LITESTREAM_BIN" replicate -once -config "$cfg" >"$cfg.once.log" 2>&1
}
