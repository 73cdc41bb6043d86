#!/usr/bin/env bash
# Crash safety: a writer commits continuously (and runs checkpoints of all
# four modes) while the replicator is killed with SIGKILL at random moments
# and restarted, LS_CRASH_ITERATIONS times (default 50). After every kill the
# replica is restored and must (1) pass PRAGMA integrity_check, (2) hold a
# gap-free prefix of the writer's rows, and (3) hold at least every row an
# earlier restore held: nothing that was replicated is ever lost. Finally a
# graceful run must bring the replica up to the source exactly.
source "$(dirname "$0")/lib.sh"
B=$LITESTREAM_BIN
ITER=${LS_CRASH_ITERATIONS:-50}
DB=$T/data/app.db
R=$T/replica
mkdir -p "$T/data"
cat >"$T/ls.yml" <<YML
dbs:
  - path: $DB
    replica:
      url: file://$R
      sync-interval: 100ms
    monitor-interval: 100ms
YML
"$WRITER" -db "$DB" -count 10 >/dev/null
start_bg "$T/writer.log" "$WRITER" -db "$DB" -rate 300 -seconds 100000 -checkpoint-every 40 -row-size 512
WPID=$BG_PID

prev=0
restores=0
for i in $(seq 1 "$ITER"); do
  start_bg "$T/rep.log" "$B" replicate -config "$T/ls.yml"
  RPID=$BG_PID
  sleep "0.$(( (RANDOM % 9) + 1 ))$(( RANDOM % 10 ))"
  kill -9 "$RPID" 2>/dev/null || true
  wait "$RPID" 2>/dev/null || true
  out=$T/r$i.db
  if ! $B restore -o "$out" -integrity-check full "file://$R" >"$T/restore.log" 2>&1; then
    if [ "$prev" -eq 0 ] && grep -q "no matching backup" "$T/restore.log"; then continue; fi
    bad "iteration $i: restore failed: $(cat "$T/restore.log")"
    continue
  fi
  restores=$((restores + 1))
  ic=$(sql "$out" "PRAGMA integrity_check")
  read -r n lo hi < <(sql -separator ' ' "$out" "SELECT count(*), coalesce(min(id),0), coalesce(max(id),0) FROM t")
  if [ "$ic" != ok ]; then bad "iteration $i: integrity_check: $ic"; fi
  if [ "$n" -ne $((hi - lo + 1)) ] || [ "$lo" -ne 1 ]; then bad "iteration $i: rows are not a gap-free prefix (n=$n min=$lo max=$hi)"; fi
  if [ "$hi" -lt "$prev" ]; then bad "iteration $i: replicated rows were lost ($hi < $prev)"; fi
  prev=$hi
  rm -f "$out"
done
ok "$ITER kill -9 cycles, $restores verified restores, last restored row $prev"
[ "$prev" -gt 0 ] && ok "replication made progress across kills" || bad "no rows were ever replicated"

stop_pid "$WPID" KILL || true
start_bg "$T/rep-final.log" "$B" replicate -config "$T/ls.yml"
RPID=$BG_PID
sleep 3
stop_pid "$RPID" TERM && rc=0 || rc=$?
check_eq "final graceful replicate exits 0" 0 "$rc"
$B restore -o "$T/final.db" "file://$R" >/dev/null 2>&1 || true
src=$(sql "$DB" "SELECT count(*) || ' ' || max(id) FROM t")
dst=$(sql "$T/final.db" "SELECT count(*) || ' ' || max(id) FROM t" 2>/dev/null || echo none)
check_eq "final restore equals the source" "$src" "$dst"
check_eq "final restore content equals the source" \
  "$(sql "$DB" "SELECT hex(sha3_query('SELECT id, payload FROM t ORDER BY id'))")" \
  "$(sql "$T/final.db" "SELECT hex(sha3_query('SELECT id, payload FROM t ORDER BY id'))" 2>/dev/null || echo none)"
finish
