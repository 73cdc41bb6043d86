#!/usr/bin/env bash
# bench/replicate_bench.sh — replication benchmark: this implementation
# ("ours", Litestream v0.5 behaviour) against the reference Litestream v0.3.13
# on the same workloads, one command:
#
#   bash bench/replicate_bench.sh            # full run (~8 minutes on 2 cores)
#   BENCH_QUICK=1 bash bench/replicate_bench.sh   # smoke test (~2 minutes)
#
# Workload everywhere: bench_writer, one writer, one 1 KiB row per
# transaction, WAL mode, synchronous=normal, a file replica on the local disk,
# default replicator settings. Phases (see bench/README.md):
#   1. max rate for PHASE s: with ours and with the reference, each between two
#      runs without a replicator
#   2. 100 commits/s for PHASE s: ours, reference, ours with sync-interval 1ms
#   3. replication lag of every commit in 1 and 2 (bench_lag)
#   4. replicator CPU per 1,000 commits and peak RSS (VmHWM) in 1 and 2
#   5. IDLE s idle after some writes: replicator CPU and replica files touched
#   6. restore of a RESTORE_MIB database: seconds and row count
# Prints a table: metric | ours | reference | ratio | target | result.
#
# Environment: BENCH_QUICK=1 (5 s phases, 10 s idle, 20 MiB restore),
# BENCH_OUT=DIR (work/log dir, default a new /tmp/lsbench-*), BENCH_KEEP=1
# (keep databases and replicas), BENCH_BUILD_DIR (default build-release),
# BENCH_SKIP_BUILD=1 (use the binaries already in BENCH_BUILD_DIR),
# BENCH_CASES="max_base max_ours ..." (run only those cases, no table).
# Every process started here is recorded by PID and stopped on exit.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
QUICK=${BENCH_QUICK:-0}
BUILD=${BENCH_BUILD_DIR:-$ROOT/build-release}
REF_PKG_VERSION=1.0.1 # @flydotio/litestream-linux-x64 1.0.1 ships Litestream v0.3.13
REF_DIR=$ROOT/bench/.ref
REF=$REF_DIR/node_modules/@flydotio/litestream-linux-x64/litestream
OURS=$BUILD/litestream
W=$BUILD/bench_writer
LAG=$BUILD/bench_lag

if [ "$QUICK" = 1 ]; then
  PHASE=5; IDLE=10; RESTORE_MIB=20; GRACE_MAX=15; SETTLE=3; IDLE_WRITES=2
else
  PHASE=30; IDLE=60; RESTORE_MIB=200; GRACE_MAX=30; SETTLE=5; IDLE_WRITES=5
fi
OUT=${BENCH_OUT:-$(mktemp -d /tmp/lsbench-XXXXXX)}
mkdir -p "$OUT"
T_START=$(date +%s)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]:-}"; do
    [ -n "$p" ] || continue
    if kill -0 "$p" 2>/dev/null; then
      kill -TERM "$p" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$p" 2>/dev/null || true
    fi
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '[%4ds] %s\n' "$(( $(date +%s) - T_START ))" "$*" >&2; }
die() { log "FATAL: $*"; exit 1; }

# start_bg LOGFILE CMD... : background process, recorded; sets BG_PID.
start_bg() {
  local lf=$1; shift
  "$@" >"$lf" 2>&1 &
  BG_PID=$!
  PIDS+=("$BG_PID")
}
# stop_pid PID [SIGNAL]: signal, wait up to 60 s, then SIGKILL.
stop_pid() {
  local pid=$1 sig=${2:-TERM}
  kill -s "$sig" "$pid" 2>/dev/null || true
  for _ in $(seq 1 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then log "pid $pid did not stop, SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; fi
  wait "$pid" 2>/dev/null || true
}
# wait_until TIMEOUT_S CMD...: polls every 0.05 s.
wait_until() {
  local t=$1; shift
  local end=$(( $(date +%s%N) + t * 1000000000 ))
  while [ "$(date +%s%N)" -lt "$end" ]; do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.05
  done
  return 1
}
calc() { awk "BEGIN { printf \"%s\", $* }" </dev/null; }
fmt() { awk -v v="$1" -v f="${2:-%.2f}" 'BEGIN { if (v == "" || v == "-" || v == "inf" || v == "nan") print (v == "" ? "-" : v); else printf f, v }'; }
kv() { # kv KEY FILE: value of KEY=... in the last line of FILE containing it
  grep -o "\b$1=[^ ]*" "$2" 2>/dev/null | tail -1 | cut -d= -f2
}

# CPU seconds of a process: utime+stime (/proc/PID/stat, clock ticks, includes
# exited threads) and, for fine resolution, the sum of per-thread schedstat run
# time (ns). Memory: VmHWM (kB).
TCK=$(getconf CLK_TCK)
cpu_ticks_s() { sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk -v t="$TCK" '{ printf "%.3f", ($12 + $13) / t }'; }
cpu_sched_s() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.6f", s / 1e9 }'; }
# time the process's threads spent runnable but waiting for a CPU (contention)
runq_wait_s() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $2 } END { printf "%.3f", s / 1e9 }'; }
vmhwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

# ---------------------------------------------------------------------------
# Setup: reference binary (npm), our Release build.
install_ref() {
  if [ -x "$REF" ] && "$REF" version 2>/dev/null | grep -q '^v0.3.13'; then return 0; fi
  command -v npm >/dev/null || die "npm is required to install the reference (apt-get install npm)"
  log "installing reference Litestream v0.3.13 (npm @flydotio/litestream-linux-x64@$REF_PKG_VERSION) into bench/.ref"
  mkdir -p "$REF_DIR"
  npm install --prefix "$REF_DIR" --no-audit --no-fund --loglevel=error \
    "@flydotio/litestream-linux-x64@$REF_PKG_VERSION" >&2 || die "npm install failed"
  "$REF" version | grep -q '^v0.3.13' || die "reference binary does not report v0.3.13"
}
build_ours() {
  log "building ours (Release) in $BUILD"
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS= >"$OUT/cmake.log" 2>&1 || { tail -20 "$OUT/cmake.log"; die "cmake configure failed"; }
  if ! cmake --build "$BUILD" -j2 --target litestream bench_writer bench_lag >>"$OUT/cmake.log" 2>&1; then
    # -Werror turns optimiser-only warnings (e.g. -Wstringop-overflow at -O2)
    # into errors that a Debug build does not show; measure anyway, loudly.
    log "WARNING: the Release build fails with -Werror:"
    grep -m3 'error:' "$OUT/cmake.log" >&2
    log "WARNING: rebuilding with those optimiser warnings not fatal, to run the benchmark"
    local noerr="-Wno-error=stringop-overflow -Wno-error=maybe-uninitialized -Wno-error=array-bounds"
    noerr="$noerr -Wno-error=stringop-truncation -Wno-error=restrict -Wno-error=stringop-overread"
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release "-DCMAKE_C_FLAGS=$noerr" >>"$OUT/cmake.log" 2>&1 &&
      cmake --build "$BUILD" -j2 --target litestream bench_writer bench_lag >>"$OUT/cmake.log" 2>&1 ||
      { grep -m5 -A5 error "$OUT/cmake.log"; die "build failed"; }
  fi
}
install_ref
if [ "${BENCH_SKIP_BUILD:-0}" = 1 ]; then log "BENCH_SKIP_BUILD=1: using binaries in $BUILD"; else build_ours; fi
command -v sqlite3 >/dev/null || die "sqlite3 CLI is required (apt-get install sqlite3)"
log "ours: $("$OURS" version 2>/dev/null | head -1)   reference: $("$REF" version)   out: $OUT"

bin_of() { case $1 in ours) echo "$OURS" ;; ref) echo "$REF" ;; esac; }
layout_of() { case $1 in ref) echo v03 ;; *) echo v05 ;; esac; }

# write_config IMPL FILE DB REPLICA [lowlat]: both implementations accept the
# v0.3 form "dbs: - path: replicas: - url:". lowlat: "sync-interval: 0" is
# rejected by the configuration (it must be > 0, as in the reference), so the
# low-latency run uses 1ms; ours syncs when inotify reports a WAL change, at
# most once per min(monitor-interval, sync-interval), so this means "at once".
write_config() {
  local extra=""
  [ "${5:-}" = lowlat ] && extra=$'\n        sync-interval: 1ms'
  cat >"$2" <<EOF
dbs:
  - path: $3
    replicas:
      - url: file://$4$extra
EOF
}
# replica_ready IMPL REPLICA: the first replicated file is there.
replica_ready() {
  case $1 in
    ref) compgen -G "$2/generations/*/wal/*.wal.lz4" >/dev/null ;;
    *) compgen -G "$2/ltx/0/*.ltx" >/dev/null ;;
  esac
}

# ready_or_dead IMPL REPLICA PID: ready, or the replicator is gone (then 2).
ready_or_dead() {
  replica_ready "$1" "$2" && return 0
  kill -0 "$3" 2>/dev/null || return 2
  return 1
}
# wait_ready IMPL REPLICA PID TIMEOUT NAME: waits for the first replica file.
wait_ready() {
  local end=$(( $(date +%s%N) + $4 * 1000000000 )) rc
  while [ "$(date +%s%N)" -lt "$end" ]; do
    ready_or_dead "$1" "$2" "$3"; rc=$?
    [ $rc = 0 ] && return 0
    if [ $rc = 2 ]; then log "$5: replicator exited (see ${2%/replica}/replicator.log):"; tail -3 "${2%/replica}/replicator.log" >&2; return 1; fi
    sleep 0.05
  done
  log "$5: no replica file after $4 s"
  return 1
}

# settle: flush dirty pages left by earlier cases (GBs at max rate) so that
# their writeback does not slow this case's fsyncs or throttle its writer.
settle() {
  local t0; t0=$(date +%s%N)
  sync
  local ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  [ "$ms" -gt 500 ] && log "sync before $1 took ${ms} ms"
  return 0
}

declare -A M # results: M[case.key]=value

# run_case IMPL CASE RATE SECONDS [lowlat]: one workload run; IMPL none|ours|ref.
run_case() {
  local impl=$1 name=$2 rate=$3 secs=$4 mode=${5:-}
  # the database gets a directory of its own: ours watches the database's
  # directory with inotify, and the benchmark's own files (writer log) must
  # not generate events there
  local d=$OUT/$name db=$OUT/$name/db/db.sqlite rep=$OUT/$name/replica rpid="" lpid
  rm -rf "$d"; mkdir -p "$d/db"
  settle "$name"
  "$W" -db "$db" -count 1 >/dev/null || die "$name: cannot create database"
  if [ "$impl" != none ]; then
    write_config "$impl" "$d/litestream.yml" "$db" "$rep" "$mode"
    start_bg "$d/replicator.log" "$(bin_of "$impl")" replicate -config "$d/litestream.yml"
    rpid=$BG_PID
    wait_ready "$impl" "$rep" "$rpid" 20 "$name"
  fi
  local grace=$GRACE_MAX
  [ "$impl" = none ] && grace=0
  start_bg "$d/lag.out" "$LAG" -layout "$(layout_of "$impl")" -replica "$rep" -log "$d/writer.log" \
    -grace "$grace" -out "$d/lags.txt"
  lpid=$BG_PID
  sleep 0.2
  local c0=0 s0=0 q0=0
  if [ -n "$rpid" ]; then c0=$(cpu_ticks_s "$rpid"); s0=$(cpu_sched_s "$rpid"); q0=$(runq_wait_s "$rpid"); fi
  log "$name: writer rate=${rate:-max} for ${secs}s"
  "$W" -db "$db" -rate "$rate" -seconds "$secs" -log "$d/writer.log" >"$d/writer.out" 2>&1 || log "$name: writer failed: $(cat "$d/writer.out")"
  kill -USR1 "$lpid" 2>/dev/null
  wait "$lpid" 2>/dev/null
  M[$name.commits]=$(kv commits "$d/writer.out")
  M[$name.rate]=$(kv rate "$d/writer.out" | tr -d '/s')
  M[$name.wcpu_per_k]=$(calc "(${M[$name.commits]:-0} > 0) ? $(kv cpu_s "$d/writer.out" | grep . || echo 0) * 1e6 / ${M[$name.commits]} : 0")
  local k
  for k in p50_ms p99_ms max_ms uncovered files file_ends_at_commit late_files; do M[$name.$k]=$(kv "$k" "$d/lag.out"); done
  if [ -n "$rpid" ]; then
    if kill -0 "$rpid" 2>/dev/null; then
      local c1 s1
      c1=$(cpu_ticks_s "$rpid"); s1=$(cpu_sched_s "$rpid")
      M[$name.hwm_kb]=$(vmhwm_kb "$rpid")
      M[$name.cpu_s]=$(calc "$c1 - $c0")
      M[$name.cpu_per_k]=$(calc "(${M[$name.commits]:-0} > 0) ? ($c1 - $c0) * 1000 / ${M[$name.commits]} : 0")
      M[$name.sched_s]=$(calc "$s1 - $s0")
      M[$name.runq_s]=$(calc "$(runq_wait_s "$rpid") - $q0")
      stop_pid "$rpid" TERM
    else
      log "$name: replicator exited early (see $d/replicator.log)"
      tail -5 "$d/replicator.log" >&2
      wait "$rpid" 2>/dev/null
    fi
  fi
  log "$name: commits=${M[$name.commits]:-?} rate=${M[$name.rate]:-?}/s lag p50/p99/max=${M[$name.p50_ms]:-}/${M[$name.p99_ms]:-}/${M[$name.max_ms]:-} ms uncovered=${M[$name.uncovered]:-} cpu=${M[$name.cpu_s]:--}s rss=${M[$name.hwm_kb]:--}kB runq-wait=${M[$name.runq_s]:--}s load=$(cut -d' ' -f1 /proc/loadavg)"
  if [ -n "$rpid" ]; then
    # after the run: check the file -> WAL position mapping on every file
    "$LAG" -layout "$(layout_of "$impl")" -replica "$rep" -log "$d/writer.log" -verify >"$d/verify.out" 2>&1
    sed 's/^/    /' "$d/verify.out" >&2
  fi
  [ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$d/db" "$rep"
}

# BENCH_CASES="max_base max_ours" (development aid): run only these cases of
# phases 1-2 and stop; no table.
if [ -n "${BENCH_CASES:-}" ]; then
  for c in $BENCH_CASES; do
    case $c in
      max_base*) run_case none "$c" 0 "$PHASE" ;;
      max_ours) run_case ours "$c" 0 "$PHASE" ;;
      max_ref) run_case ref "$c" 0 "$PHASE" ;;
      r100_ours) run_case ours "$c" 100 "$PHASE" ;;
      r100_ref) run_case ref "$c" 100 "$PHASE" ;;
      r100_lowlat) run_case ours "$c" 100 "$PHASE" lowlat ;;
      *) die "unknown case $c" ;;
    esac
  done
  exit 0
fi

# ---------------------------------------------------------------------------
log "phase 1: max rate, ${PHASE}s each (baseline, ours, baseline, reference, baseline)"
# The machine may be shared: each replicator run is compared with the mean of
# the baseline runs just before and just after it.
run_case none max_base 0 "$PHASE"
run_case ours max_ours 0 "$PHASE"
run_case none max_base2 0 "$PHASE"
run_case ref max_ref 0 "$PHASE"
run_case none max_base3 0 "$PHASE"
M[max_baseours.rate]=$(calc "(${M[max_base.rate]:-0} + ${M[max_base2.rate]:-0}) / 2")
M[max_baseref.rate]=$(calc "(${M[max_base2.rate]:-0} + ${M[max_base3.rate]:-0}) / 2")
log "baselines: ${M[max_base.rate]:-?}, ${M[max_base2.rate]:-?}, ${M[max_base3.rate]:-?} commits/s"

log "phase 2: 100 commits/s, ${PHASE}s each (ours, reference, ours with sync-interval 1ms)"
run_case ours r100_ours 100 "$PHASE"
run_case ref r100_ref 100 "$PHASE"
run_case ours r100_lowlat 100 "$PHASE" lowlat

# ---------------------------------------------------------------------------
settle idle
log "phase 5: idle ${IDLE}s after ${IDLE_WRITES}s of writes at 100/s (both replicators side by side)"
declare -A IPID
for impl in ours ref; do
  d=$OUT/idle_$impl; rm -rf "$d"; mkdir -p "$d/db"
  "$W" -db "$d/db/db.sqlite" -count 1 >/dev/null
  write_config "$impl" "$d/litestream.yml" "$d/db/db.sqlite" "$d/replica"
  start_bg "$d/replicator.log" "$(bin_of "$impl")" replicate -config "$d/litestream.yml"
  IPID[$impl]=$BG_PID
done
for impl in ours ref; do wait_ready "$impl" "$OUT/idle_$impl/replica" "${IPID[$impl]}" 20 "idle_$impl"; done
wpids=()
for impl in ours ref; do
  start_bg "$OUT/idle_$impl/writer.out" "$W" -db "$OUT/idle_$impl/db/db.sqlite" -rate 100 -seconds "$IDLE_WRITES"
  wpids+=("$BG_PID")
done
for p in "${wpids[@]}"; do wait "$p" 2>/dev/null; done
sleep "$SETTLE"
# Place the window between compaction boundaries: compaction runs at UTC
# multiples of each level's interval (30 s, 5 min, 1 h; spec 7.2), so start
# 3 s after the next 30 s boundary (L1 then compacts the writes above) and
# move past a 5 min boundary that would fall inside the window. The window
# then measures idleness, not deferred compaction of the writes.
now=$(date +%s)
start=$(( (now / 30 + 1) * 30 + 3 ))
b5=$(( (start / 300 + 1) * 300 ))
[ "$b5" -le $(( start + IDLE + 1 )) ] && start=$(( b5 + 3 ))
log "idle window starts at $(date -u -d @"$start" +%H:%M:%S) (in $(( start - now )) s), lasts ${IDLE}s"
sleep $(( start - now ))
declare -A IC0 IS0 IEV
for impl in ours ref; do
  start_bg "$OUT/idle_$impl/events.out" "$LAG" -layout events -replica "$OUT/idle_$impl/replica" -seconds "$IDLE"
  IEV[$impl]=$BG_PID
  IC0[$impl]=$(cpu_ticks_s "${IPID[$impl]}"); IS0[$impl]=$(cpu_sched_s "${IPID[$impl]}")
done
sleep "$IDLE"
for impl in ours ref; do
  p=${IPID[$impl]}
  if kill -0 "$p" 2>/dev/null; then
    c1=$(cpu_ticks_s "$p"); s1=$(cpu_sched_s "$p")
    M[idle_$impl.cpu_pct]=$(calc "($s1 - ${IS0[$impl]}) / $IDLE * 100")
    M[idle_$impl.cpu_ticks_pct]=$(calc "($c1 - ${IC0[$impl]}) / $IDLE * 100")
  fi
  wait "${IEV[$impl]}" 2>/dev/null
  M[idle_$impl.files]=$(kv files_touched "$OUT/idle_$impl/events.out")
  stop_pid "$p" TERM
  log "idle_$impl: cpu=$(fmt "${M[idle_$impl.cpu_pct]:-}" %.4f)% (ticks: ${M[idle_$impl.cpu_ticks_pct]:-}%) replica files touched=${M[idle_$impl.files]:-?}"
  grep -h 'touched:' "$OUT/idle_$impl/events.out" | head -5 >&2 || true
done

# ---------------------------------------------------------------------------
ROWS=$(( RESTORE_MIB * 768 )) # 3 rows of 1 KiB per 4 KiB page
log "phase 6: restore of a ${RESTORE_MIB} MiB database ($ROWS rows)"
RD=$OUT/restore; rm -rf "$RD"; mkdir -p "$RD"
"$W" -db "$RD/src.sqlite" -count "$ROWS" >"$RD/build.out" 2>&1 || die "cannot build restore database"
sqlite3 "$RD/src.sqlite" 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null
M[restore.db_mib]=$(calc "$(stat -c %s "$RD/src.sqlite") / 1048576")
M[restore.rows]=$(sqlite3 "$RD/src.sqlite" 'SELECT count(*) FROM t')
for impl in ours ref; do
  d=$RD/$impl; mkdir -p "$d/db"
  cp "$RD/src.sqlite" "$d/db/db.sqlite"
  write_config "$impl" "$d/litestream.yml" "$d/db/db.sqlite" "$d/replica"
  t0=$(date +%s%N)
  start_bg "$d/replicator.log" "$(bin_of "$impl")" replicate -config "$d/litestream.yml"
  rp=$BG_PID
  # initial sync done: v0.3 logs "wal segment written" after the snapshot;
  # ours renames the TXID-1 snapshot into ltx/0 when it is complete.
  if [ "$impl" = ref ]; then
    wait_until 300 grep -q '"wal segment written"' "$d/replicator.log" || log "restore_ref: initial sync not seen"
  else
    wait_ready ours "$d/replica" "$rp" 300 restore_ours
  fi
  M[restore_$impl.initial_sync_s]=$(calc "($(date +%s%N) - $t0) / 1e9")
  stop_pid "$rp" TERM
  M[restore_$impl.replica_mib]=$(calc "$(du -sb "$d/replica" 2>/dev/null | cut -f1 | grep . || echo 0) / 1048576")
  # three restores, the median time counts
  times=()
  for k in 1 2 3; do
    rm -f "$d/restored.sqlite"
    settle "restore_$impl"
    t0=$(date +%s%N)
    if "$(bin_of "$impl")" restore -o "$d/restored.sqlite" "file://$d/replica" >"$d/restore.log" 2>&1; then
      times+=("$(calc "($(date +%s%N) - $t0) / 1e9")")
    else
      log "restore_$impl failed: $(tail -3 "$d/restore.log")"
      break
    fi
  done
  if [ "${#times[@]}" = 3 ]; then
    M[restore_$impl.s]=$(printf '%s\n' "${times[@]}" | sort -g | sed -n 2p)
    M[restore_$impl.all]=$(printf '%.3f ' "${times[@]}")
  fi
  M[restore_$impl.rows]=$(sqlite3 "$d/restored.sqlite" 'SELECT count(*) FROM t' 2>/dev/null || echo error)
  if [ "$impl" = ours ]; then
    # ours runs "PRAGMA quick_check" after a restore unless told otherwise; the
    # reference checks nothing: also time ours doing the same work
    times=()
    for k in 1 2 3; do
      rm -f "$d/restored-nocheck.sqlite"
      settle "restore_nocheck"
      t0=$(date +%s%N)
      "$OURS" restore -integrity-check none -o "$d/restored-nocheck.sqlite" "file://$d/replica" >"$d/restore-nocheck.log" 2>&1 &&
        times+=("$(calc "($(date +%s%N) - $t0) / 1e9")")
    done
    [ "${#times[@]}" = 3 ] && M[restore_ours.nocheck_s]=$(printf '%s\n' "${times[@]}" | sort -g | sed -n 2p)
    rm -f "$d/restored-nocheck.sqlite"
  fi
  log "restore_$impl: initial sync ${M[restore_$impl.initial_sync_s]}s, restore ${M[restore_$impl.s]:-failed}s (median of ${M[restore_$impl.all]:-}), rows=${M[restore_$impl.rows]} (expected ${M[restore.rows]})"
  [ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$d/db" "$d/restored.sqlite" "$d/replica"
done
[ "${BENCH_KEEP:-0}" = 1 ] || rm -f "$RD/src.sqlite"

# ---------------------------------------------------------------------------
# Report
pass() { if [ "$(awk "BEGIN { print (($1) ? 1 : 0) }" </dev/null 2>/dev/null)" = 1 ]; then echo PASS; else echo FAIL; fi; }
num() { case "$1" in ''|-|inf|nan) return 1 ;; esac; }
ROWS_OUT=()
row() { ROWS_OUT+=("$(printf '%-46s | %12s | %12s | %8s | %-22s | %s' "$@")"); }
ratio() { if num "$1" && num "$2" && [ "$(calc "$2 != 0")" = 1 ]; then calc "$1 / $2" | xargs printf '%.2f'; else echo -; fi; }

bo=${M[max_baseours.rate]:-0}; br=${M[max_baseref.rate]:-0}
o_pct=$(num "${M[max_ours.rate]:-}" && calc "${M[max_ours.rate]} / $bo * 100" || echo -)
r_pct=$(num "${M[max_ref.rate]:-}" && calc "${M[max_ref.rate]} / $br * 100" || echo -)
row "max rate, no replicator (commits/s)" "$(fmt "$bo" %.0f)" "$(fmt "$br" %.0f)" "" "runs before+after" ""
row "max rate with replicator (commits/s)" "$(fmt "${M[max_ours.rate]:-}" %.0f)" "$(fmt "${M[max_ref.rate]:-}" %.0f)" "$(ratio "${M[max_ours.rate]:-}" "${M[max_ref.rate]:-}")" "" ""
row "max rate with/without replicator (%)" "$(fmt "$o_pct" %.1f)" "$(fmt "$r_pct" %.1f)" "" "ours >= 95%" "$(num "$o_pct" && pass "$o_pct >= 95" || echo FAIL)"
wb=$(calc "(${M[max_base.wcpu_per_k]:-0} + ${M[max_base2.wcpu_per_k]:-0} + ${M[max_base3.wcpu_per_k]:-0}) / 3")
row "writer's own CPU per 1,000 commits, max (ms)" "$(fmt "${M[max_ours.wcpu_per_k]:-}" %.1f)" "$(fmt "${M[max_ref.wcpu_per_k]:-}" %.1f)" "$(ratio "${M[max_ours.wcpu_per_k]:-}" "${M[max_ref.wcpu_per_k]:-}")" "info; alone: $(fmt "$wb" %.1f)" ""
row "100/s achieved rate (commits/s)" "$(fmt "${M[r100_ours.rate]:-}" %.1f)" "$(fmt "${M[r100_ref.rate]:-}" %.1f)" "" "" ""
for c in max r100; do
  label=$([ $c = max ] && echo "max rate" || echo "100/s")
  for q in p50 p99 max; do
    o=${M[${c}_ours.${q}_ms]:-}; r=${M[${c}_ref.${q}_ms]:-}
    tgt=""; res=""
    if [ $q = p99 ]; then tgt="ours <= 1100 ms"; res=$(num "$o" && pass "$o <= 1100" || echo FAIL); fi
    row "lag $q, $label (ms)" "$(fmt "$o" %.1f)" "$(fmt "$r" %.1f)" "$(ratio "$o" "$r")" "$tgt" "$res"
  done
  row "commits never replicated, $label" "${M[${c}_ours.uncovered]:--}" "${M[${c}_ref.uncovered]:--}" "" "ours 0" "$([ "${M[${c}_ours.uncovered]:-x}" = 0 ] && echo PASS || echo FAIL)"
done
for q in p50 p99 max; do
  o=${M[r100_lowlat.${q}_ms]:-}; tgt=""; res=""
  if [ $q = p99 ]; then tgt="ours <= 50 ms"; res=$(num "$o" && pass "$o <= 50" || echo FAIL); fi
  row "lag $q, 100/s, sync-interval 1ms (ms)" "$(fmt "$o" %.1f)" "n/a" "" "$tgt" "$res"
done
for c in max r100; do
  label=$([ $c = max ] && echo "max rate" || echo "100/s")
  o=${M[${c}_ours.cpu_per_k]:-}; r=${M[${c}_ref.cpu_per_k]:-}; rt=$(ratio "$o" "$r")
  row "CPU s per 1,000 commits, $label" "$(fmt "$o" %.4f)" "$(fmt "$r" %.4f)" "$rt" "ratio <= 0.33" "$(num "$rt" && pass "$rt <= 0.3334" || echo FAIL)"
done
ho=0; hr=0
for c in max_ours r100_ours r100_lowlat; do v=${M[$c.hwm_kb]:-0}; [ "$v" -gt "$ho" ] && ho=$v; done
for c in max_ref r100_ref; do v=${M[$c.hwm_kb]:-0}; [ "$v" -gt "$hr" ] && hr=$v; done
rt=$(ratio "$ho" "$hr")
row "peak RSS, VmHWM (MB)" "$(fmt "$(calc "$ho / 1024")" %.1f)" "$(fmt "$(calc "$hr / 1024")" %.1f)" "$rt" "ratio <= 0.20" "$(num "$rt" && [ "$ho" -gt 0 ] && pass "$rt <= 0.2" || echo FAIL)"
o=${M[idle_ours.cpu_pct]:-}; r=${M[idle_ref.cpu_pct]:-}
row "idle CPU (% of a core)" "$(fmt "$o" %.4f)" "$(fmt "$r" %.4f)" "$(ratio "$o" "$r")" "ours < 0.01%" "$(num "$o" && pass "$o < 0.01" || echo FAIL)"
row "idle replica files written" "${M[idle_ours.files]:--}" "${M[idle_ref.files]:--}" "" "ours 0" "$([ "${M[idle_ours.files]:-x}" = 0 ] && echo PASS || echo FAIL)"
o=${M[restore_ours.s]:-}; r=${M[restore_ref.s]:-}; rt=$(ratio "$o" "$r")
ok_rows=$([ "${M[restore_ours.rows]:-x}" = "${M[restore.rows]:-y}" ] && echo 1 || echo 0)
row "restore ${RESTORE_MIB} MiB (s, median of 3)" "$(fmt "$o" %.2f)" "$(fmt "$r" %.2f)" "$rt" "ours <= reference" "$([ "$ok_rows" = 1 ] && num "$rt" && pass "$rt <= 1.0" || echo FAIL)"
row "restore, ours with -integrity-check none (s)" "$(fmt "${M[restore_ours.nocheck_s]:-}" %.2f)" "$(fmt "$r" %.2f)" "$(ratio "${M[restore_ours.nocheck_s]:-}" "$r")" "info: same work" ""
row "restored rows (expected ${M[restore.rows]:-?})" "${M[restore_ours.rows]:--}" "${M[restore_ref.rows]:--}" "" "= expected" "$([ "${M[restore_ours.rows]:-x}" = "${M[restore.rows]:-y}" ] && echo PASS || echo FAIL)"
row "replicator run-queue wait, max rate (s, info)" "$(fmt "${M[max_ours.runq_s]:-}" %.2f)" "$(fmt "${M[max_ref.runq_s]:-}" %.2f)" "" "CPU contention" ""
row "run-queue wait, 100/s sync-interval 1ms (s)" "$(fmt "${M[r100_lowlat.runq_s]:-}" %.3f)" "n/a" "" "CPU contention" ""
row "initial sync of the restore DB (s, info)" "$(fmt "${M[restore_ours.initial_sync_s]:-}" %.2f)" "$(fmt "${M[restore_ref.initial_sync_s]:-}" %.2f)" "" "" ""

{
  echo
  echo "Replication benchmark — $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, phases ${PHASE}s, idle ${IDLE}s, restore ${M[restore.db_mib]:-?} MiB$([ "$QUICK" = 1 ] && echo ' (BENCH_QUICK)')"
  echo "load average (1/5/15 min) at start: $LOAD_START, at end: $(cut -d' ' -f1-3 /proc/loadavg) (other processes on this machine skew rates and lags)"
  echo "ours: $("$OURS" version 2>/dev/null | head -1); reference: Litestream $("$REF" version)"
  printf '%-46s | %12s | %12s | %8s | %-22s | %s\n' metric ours reference ratio target result
  printf '%s\n' "-----------------------------------------------+--------------+--------------+----------+------------------------+-------"
  printf '%s\n' "${ROWS_OUT[@]}"
  echo "(ratio = ours / reference; details and logs in $OUT; total $(( $(date +%s) - T_START )) s)"
} | tee "$OUT/results.txt"
