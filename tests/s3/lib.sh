# tests/s3/lib.sh — helpers for tests/integration/test_s3_*.sh and
# bench/s3_bench.sh (sourced after tests/integration/lib.sh, which provides
# $T, PIDS, start_bg, stop_pid, wait_until).
S3_DIR="${LS_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/tests/s3"
S3_BUCKET=testbkt
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_REGION AWS_DEFAULT_REGION || true
# Short retry delays and stall detection so fault tests finish quickly.
export LITESTREAM_S3_RETRY_BASE_MS=${LITESTREAM_S3_RETRY_BASE_MS:-20}
export LITESTREAM_S3_RETRY_MAX_MS=${LITESTREAM_S3_RETRY_MAX_MS:-500}

# Installs s3rver (idempotent) or skips the test visibly when npm cannot.
s3_require_deps() {
  if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
    echo "SKIP: npm/node not available; the S3 tests need s3rver from npm (scripts/setup.sh)"
    exit 0
  fi
  if ! bash "$S3_DIR/ensure_deps.sh" >"$T/npm.log" 2>&1; then
    cat "$T/npm.log"
    if [ ! -d "$S3_DIR/node_modules/s3rver" ]; then
      echo "SKIP: s3rver could not be installed from npm (see the log above)"
      exit 0
    fi
    echo "not ok - installing the S3 test dependencies (npm ci in tests/s3)"
    exit 1
  fi
}

free_port() {
  python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])' 2>/dev/null ||
    node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# s3_start [DATA_DIR]: starts s3rver on 127.0.0.1 with bucket testbkt; sets
# S3_PORT, S3_PID, S3_DATA, S3_ENDPOINT.
s3_start() {
  S3_DATA=${1:-$T/s3data}
  mkdir -p "$S3_DATA"
  local tries
  for tries in 1 2 3; do
    S3_PORT=$(free_port)
    NODE_OPTIONS=--openssl-legacy-provider "$S3_DIR/node_modules/.bin/s3rver" -d "$S3_DATA" \
      -a 127.0.0.1 -p "$S3_PORT" --configure-bucket "$S3_BUCKET" --silent >"$T/s3rver.$S3_PORT.log" 2>&1 &
    S3_PID=$!
    PIDS+=("$S3_PID")
    if wait_until 20 curl -s -o /dev/null "http://127.0.0.1:$S3_PORT/"; then
      S3_ENDPOINT="http://127.0.0.1:$S3_PORT"
      return 0
    fi
    kill "$S3_PID" 2>/dev/null || true
  done
  echo "s3rver did not start:"; cat "$T"/s3rver.*.log
  return 1
}

s3_stop() { [ -n "${S3_PID:-}" ] && stop_pid "$S3_PID" TERM || true; }

# proxy_start LOG [FAULTS] [EXTRA...]: starts tests/s3/proxy.js in front of
# s3rver; sets PROXY_PORT, PROXY_PID, PROXY_ENDPOINT.
proxy_start() {
  local log=$1 faults=${2:-} pf="$T/proxy.port.$RANDOM"
  shift 2 || shift $#
  node "$S3_DIR/proxy.js" --target-port "$S3_PORT" --log "$log" --faults "$faults" \
    --port-file "$pf" "$@" >"$T/proxy.out.$RANDOM" 2>&1 &
  PROXY_PID=$!
  PIDS+=("$PROXY_PID")
  wait_until 20 test -s "$pf" || { echo "proxy did not start"; return 1; }
  PROXY_PORT=$(cat "$pf")
  PROXY_ENDPOINT="http://127.0.0.1:$PROXY_PORT"
}

# op_counts LOG: "OP count" lines from a proxy log (only answered requests).
op_counts() {
  node -e '
    const fs=require("fs"); const c={};
    for (const l of fs.readFileSync(process.argv[1],"utf8").split("\n")) {
      if (!l) continue; const r=JSON.parse(l); c[r.op]=(c[r.op]||0)+1; }
    for (const k of Object.keys(c).sort()) console.log(k, c[k]);' "$1"
}

# s3_config FILE DB ENDPOINT [PATH] [EXTRA YAML LINES...]: a replicate config.
s3_config() {
  local f=$1 db=$2 ep=$3 p=${4:-db}
  shift 4 || shift $#
  {
    echo "dbs:"
    echo "  - path: $db"
    echo "    replica:"
    echo "      type: s3"
    echo "      bucket: $S3_BUCKET"
    echo "      path: $p"
    echo "      endpoint: $ep"
    echo "      access-key-id: S3RVER"
    echo "      secret-access-key: S3RVER"
    for l in "$@"; do echo "      $l"; done
  } >"$f"
}
