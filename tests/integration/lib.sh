# tests/integration/lib.sh — shared helpers for the shell integration tests.
# Every process a test starts is recorded by PID and stopped on exit.
set -euo pipefail

: "${LITESTREAM_BIN:?LITESTREAM_BIN must point at the litestream binary}"
: "${LS_BUILD_DIR:=$(dirname "$LITESTREAM_BIN")}"
WRITER="$LS_BUILD_DIR/bench_writer"
T=$(mktemp -d /tmp/lsit-XXXXXX)
PIDS=()
FAILS=0
PASSES=0

cleanup() {
  for p in "${PIDS[@]:-}"; do
    [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true
  done
  if [ "${KEEP_TMP:-0}" != 1 ]; then rm -rf "$T"; fi
}
trap cleanup EXIT

# start_bg LOGFILE CMD... : runs CMD in the background, sets BG_PID.
start_bg() {
  local log=$1; shift
  "$@" >"$log" 2>&1 &
  BG_PID=$!
  PIDS+=("$BG_PID")
}

# stop_pid PID [SIGNAL]: signals and waits (max 60 s); returns the exit code.
stop_pid() {
  local pid=$1 sig=${2:-TERM} rc=0
  kill -s "$sig" "$pid" 2>/dev/null || true
  for _ in $(seq 1 600); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
  wait "$pid" 2>/dev/null || rc=$?
  return $rc
}

# wait_until TIMEOUT_S CMD...: polls CMD every 0.1 s.
wait_until() {
  local t=$1; shift
  local n=$((t * 10))
  for _ in $(seq 1 "$n"); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  return 1
}

ok()   { PASSES=$((PASSES + 1)); echo "ok - $*"; }
bad()  { FAILS=$((FAILS + 1)); echo "not ok - $*"; }
check() { # check DESCRIPTION CMD...
  local d=$1; shift
  if "$@"; then ok "$d"; else bad "$d"; fi
}
check_eq() { # check_eq DESCRIPTION EXPECTED ACTUAL
  if [ "$2" = "$3" ]; then ok "$1"; else bad "$1 (expected '$2', got '$3')"; fi
}
finish() {
  echo "$PASSES passed, $FAILS failed"
  [ "$FAILS" -eq 0 ]
}

sql() { sqlite3 -batch -cmd ".timeout 5000" "$@"; }
