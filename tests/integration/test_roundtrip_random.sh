#!/usr/bin/env bash
# Many random write workloads, replicated to a file replica and restored at
# every recorded point. One run per page size (512, 1024, 4096, 8192, 65536),
# each with a fresh database and its own `replicate` (sync-interval and
# monitor-interval 100ms, compaction levels 2s/5s, snapshots every 10s); even
# runs stop and restart `replicate` half way. Each batch is one sqlite3 CLI
# session mixing inserts of random-size blobs (inline to multi-page
# overflow chains), updates, range deletes, rolled-back and multi-statement
# transactions, CREATE/DROP/ALTER TABLE, indexes, VACUUM and application
# checkpoints of all four modes; one batch in three has a concurrent second
# writer (bench_writer). After each batch the test waits until the
# replica caught up (local TXID from `status -json` == replica level-0 max
# TXID from `ltx -json`, newer than the previous batch, and a restore of the
# replica holds exactly the source's content), then records (TXID, content
# hash) and, between batches, a timestamp with >= 0.6 s of quiet on both
# sides. At the end
# `replicate` is stopped with SIGTERM and the replica is restored latest, at
# every recorded TXID and at every recorded timestamp; every restore must
# pass PRAGMA integrity_check and hash exactly like the source did at that
# point. Content hash = sha3 over the schema (minus _litestream_*) and every
# user table's rows in rowid order.
#
# The workload shapes come from bash's $RANDOM seeded with LS_RT_SEED
# (default: a random seed, printed), so a failing run can be replayed.
# LS_RT_RUNS limits the page sizes (e.g. "512 65536"); LS_RT_BATCHES sets
# the batches per run (default 10).
#
# A last run changes the page size mid-way (replicate stopped, PRAGMA
# journal_mode=DELETE; page_size=N; VACUUM; back to WAL; replicate restarted —
# SQLite refuses the journal-mode switch while replicate holds its read
# transaction): the restart ships a full snapshot of the new layout, which
# compaction and restore use in place of everything older (ltx merger).
# LS_RT_PAGESIZE_CHANGE=0 leaves that run out.
source "$(dirname "$0")/lib.sh"
B=$LITESTREAM_BIN
SEED=${LS_RT_SEED:-$RANDOM}
RUN_SIZES=${LS_RT_RUNS:-512 1024 4096 8192 65536}
NBATCH=${LS_RT_BATCHES:-10}
echo "# seed $SEED (replay the workload shapes with LS_RT_SEED=$SEED)"
RANDOM=$SEED
START=$SECONDS
# Only the parent shell draws from $RANDOM (never inside $(...)), so the
# sequence depends on the seed alone.

# content_hash DB: sha3 of the schema and of every user table, rowid order.
content_hash() {
  local db=$1 tabs t q
  tabs=$(sql "$db" "SELECT name FROM sqlite_schema WHERE type='table' AND name NOT GLOB 'sqlite_*' AND name NOT GLOB '_litestream_*' ORDER BY name") || return 1
  q="SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE name NOT GLOB ''_litestream_*'' ORDER BY type, name;"
  for t in $tabs; do q+="SELECT * FROM \"$t\" ORDER BY rowid;"; done
  sql "$db" "SELECT hex(sha3_query('$q'))"
}
json_field() { sed -n "s/.*\"$1\": *\"\\([^\"]*\\)\".*/\\1/p"; }
local_txid() { "$B" status -json -config "$CFG" 2>/dev/null | json_field local_txid | head -1; }
replica_l0_max() { "$B" ltx -json -level 0 "file://$R" 2>/dev/null | json_field max_txid | sort | tail -1; }
now_ts() { date -u +%Y-%m-%dT%H:%M:%S.%3NZ; }

# caught_up PREV_TXID WANT_HASH: polls (90 s) until the local TXID equals the
# replica's level-0 max, is beyond PREV_TXID, and a restore of the replica
# hashes to WANT_HASH. Sets CAUGHT_TXID (the restored TXID) or CAUGHT_WHY.
caught_up() {
  local prev=$((16#$1)) want=$2 l m out got=none deadline=$((SECONDS + 90))
  CAUGHT_TXID="" CAUGHT_WHY=""
  while [ $SECONDS -lt $deadline ]; do
    l=$(local_txid) m=$(replica_l0_max)
    if [ -n "$l" ] && [ "$l" = "$m" ] && [ $((16#$l)) -gt "$prev" ]; then
      rm -f "$T/probe.db"
      if out=$("$B" restore -json -o "$T/probe.db" "file://$R" 2>"$T/probe.err"); then
        got=$(content_hash "$T/probe.db" || echo error)
        if [ "$got" = "$want" ]; then
          CAUGHT_TXID=$(json_field txid <<<"$out")
          rm -f "$T/probe.db"
          return 0
        fi
      else
        got="restore failed: $(tail -1 "$T/probe.err")"
      fi
    fi
    sleep 0.2
  done
  CAUGHT_WHY="local txid '$l', replica level-0 max '$m', previous $1, last probe: $got"
  return 1
}

pick_table() { TBL=${TABLES[RANDOM % ${#TABLES[@]}]}; }
new_table() {
  NT=$((NT + 1))
  echo "CREATE TABLE t$NT(id INTEGER PRIMARY KEY, a INTEGER, b BLOB, c TEXT);"
  if [ $((RANDOM % 2)) = 0 ]; then echo "CREATE INDEX t${NT}_a ON t$NT(a, c);"; fi
  TABLES+=("t$NT")
}
blob_max() { # sets MAX: a blob size class relative to the page size
  case $((RANDOM % 4)) in
    0) MAX=64 ;;
    1) MAX=$PS ;;
    2) MAX=$((PS * 3)) ;;
    *) MAX=$((PS * 12 < 120000 ? PS * 12 : 120000)) ;;
  esac
}
sql_insert() {
  pick_table
  blob_max
  local n=$((RANDOM % 40 + 1))
  if [ "$MAX" -gt 20000 ]; then n=$((RANDOM % 8 + 1)); fi
  echo "INSERT INTO $TBL(a, b, c) SELECT abs(random()) % 1000, randomblob(abs(random()) % $MAX), hex(randomblob(abs(random()) % 40)) FROM generate_series(1, $n);"
}
sql_update() {
  pick_table
  blob_max
  echo "UPDATE $TBL SET a = a + 1, b = CASE WHEN random() % 2 = 0 THEN randomblob(abs(random()) % $MAX) ELSE b END WHERE id % $((RANDOM % 5 + 2)) = $((RANDOM % 2));"
}
sql_delete() {
  pick_table
  local x=$((RANDOM % 30))
  echo "DELETE FROM $TBL WHERE id BETWEEN (SELECT min(id) FROM $TBL) + $x AND (SELECT min(id) FROM $TBL) + $((x + RANDOM % 25));"
}
# gen_batch FILE: one sqlite3 session; the first statement always inserts so
# every batch advances the TXID.
gen_batch() {
  local f=$1 nops i modes=(PASSIVE FULL RESTART TRUNCATE)
  {
    echo ".timeout 10000"
    sql_insert
    nops=$((RANDOM % 5 + 1))
    for ((i = 0; i < nops; i++)); do
      case $((RANDOM % 14)) in
        0 | 1 | 2) sql_insert ;;
        3 | 4) sql_update ;;
        5 | 6) sql_delete ;;
        7) echo "BEGIN;"; sql_insert; sql_update; sql_delete; sql_insert; echo "COMMIT;" ;;
        8) pick_table; echo "BEGIN; DELETE FROM $TBL; ROLLBACK;" ;;
        9) if [ ${#TABLES[@]} -gt 1 ]; then
             pick_table
             echo "DROP TABLE $TBL;"
             local keep=() x
             for x in "${TABLES[@]}"; do [ "$x" != "$TBL" ] && keep+=("$x"); done
             TABLES=("${keep[@]}")
           fi
           new_table; sql_insert ;;
        10) pick_table; NT=$((NT + 1)); echo "ALTER TABLE $TBL ADD COLUMN d$NT TEXT DEFAULT 'v$NT';" ;;
        11) echo "VACUUM;" ;;
        *) # application checkpoint; RESTART/TRUNCATE wait for replicate's
           # read transaction, so keep their busy wait short
           echo ".timeout 300"
           echo "PRAGMA wal_checkpoint(${modes[RANDOM % 4]});"
           echo ".timeout 10000" ;;
      esac
    done
  } >"$f"
}

start_replicate() {
  start_bg "$RUNDIR/replicate.$1.log" "$B" replicate -config "$CFG"
  REP=$BG_PID
}
stop_replicate() {
  local rc=0
  stop_pid "$REP" TERM || rc=$?
  [ "$rc" = 0 ] || bad "run $RUN: replicate exited $rc on SIGTERM: $(tail -3 "$RUNDIR"/replicate.*.log)"
}

# restore_check LABEL WANT_HASH WANT_PAGE_SIZE RESTORE_ARGS...: restores into
# a fresh file, then integrity_check, page size and content hash. Returns 1 on mismatch
# (and reports it).
restore_check() {
  local label=$1 want=$2 wantps=$3 out=$RUNDIR/restore-$((++NRESTORE)).db ic ps got
  shift 3
  if ! "$B" restore -integrity-check full -o "$out" "$@" "file://$R" >"$out.log" 2>&1; then
    bad "run $RUN: restore $label failed: $(tail -2 "$out.log")"
    return 1
  fi
  ic=$(sql "$out" "PRAGMA integrity_check" 2>&1)
  ps=$(sql "$out" "PRAGMA page_size" 2>&1)
  got=$(content_hash "$out" 2>&1)
  rm -f "$out"
  if [ "$ic" != ok ]; then bad "run $RUN: restore $label: integrity_check: $ic"; return 1; fi
  if [ "$ps" != "$wantps" ]; then bad "run $RUN: restore $label: page size $ps, want $wantps"; return 1; fi
  if [ "$got" != "$want" ]; then bad "run $RUN: restore $label: content hash $got, want $want"; return 1; fi
  return 0
}

# one_run PAGE_SIZE RESTART(0/1) NEW_PAGE_SIZE(0 = keep)
RUN=0
one_run() {
  PS=$1
  local restart=$2 newps=$3 b txid=0000000000000000 h rc ok_n fail_n i wpid out lv l9 what
  RUN=$((RUN + 1))
  RUNDIR=$T/run$RUN
  DB=$RUNDIR/data/app.db
  R=$RUNDIR/replica
  CFG=$RUNDIR/ls.yml
  NRESTORE=0
  mkdir -p "$RUNDIR/data"
  cat >"$CFG" <<YML
levels:
  - interval: 2s
  - interval: 5s
snapshot:
  interval: 10s
dbs:
  - path: $DB
    monitor-interval: 100ms
    replica:
      url: file://$R
      sync-interval: 100ms
YML
  TABLES=() NT=0
  { echo "PRAGMA page_size=$PS;"; echo "PRAGMA journal_mode=WAL;"; new_table; sql_insert; } >"$RUNDIR/init.sql"
  if ! sql -bail "$DB" <"$RUNDIR/init.sql" >"$RUNDIR/init.out" 2>&1; then
    bad "run $RUN: creating the database failed: $(cat "$RUNDIR/init.out")"
    return
  fi
  check_eq "run $RUN: fresh database has page size $PS" "$PS" "$(sql "$DB" "PRAGMA page_size")"
  start_replicate 1
  TXIDS=() HASHES=() PSS=() TSS=() TSHASHES=() TSPSS=()
  for ((b = 1; b <= NBATCH; b++)); do
    if [ "$restart" = 1 ] && [ "$b" = $((NBATCH / 2 + 1)) ]; then
      stop_replicate
      if [ "$newps" != 0 ]; then
        # SQLite can change the page size of a WAL database only through
        # rollback mode, which needs every reader (replicate) gone.
        out=$(sql "$DB" "PRAGMA journal_mode=DELETE; PRAGMA page_size=$newps; VACUUM; PRAGMA journal_mode=WAL; PRAGMA page_size;" 2>&1)
        check_eq "run $RUN: page size changed $PS -> $newps through rollback mode" "delete wal $newps" "$(echo $out)"
        PS=$newps
      fi
      start_replicate 2
    fi
    gen_batch "$RUNDIR/batch$b.sql"
    # one batch in three has a second writer (bench_writer, table t)
    # committing concurrently
    wpid=""
    if [ $((RANDOM % 3)) = 0 ]; then
      "$WRITER" -db "$DB" -count $((RANDOM % 200 + 20)) -rate 400 -row-size $((RANDOM % (2 * PS))) \
        >"$RUNDIR/writer$b.log" 2>&1 &
      wpid=$!
      PIDS+=("$wpid")
    fi
    rc=0
    sql -bail "$DB" <"$RUNDIR/batch$b.sql" >"$RUNDIR/batch$b.out" 2>&1 || rc=$?
    if [ -n "$wpid" ] && ! wait "$wpid"; then
      bad "run $RUN batch $b: concurrent bench_writer failed: $(tail -2 "$RUNDIR/writer$b.log")"
      break
    fi
    if [ "$rc" != 0 ]; then
      bad "run $RUN batch $b: workload failed: $(tail -2 "$RUNDIR/batch$b.out") (sql in $RUNDIR/batch$b.sql)"
      break
    fi
    h=$(content_hash "$DB")
    if ! caught_up "$txid" "$h"; then
      bad "run $RUN batch $b: replica did not catch up within 90 s: $CAUGHT_WHY"
      break
    fi
    txid=$CAUGHT_TXID
    TXIDS+=("$txid") HASHES+=("$h") PSS+=("$PS")
    # a timestamp between this batch and the next (none after the last
    # batch: restore refuses timestamps after the newest file, like the
    # reference's "timestamp does not exist")
    if [ "$b" -lt "$NBATCH" ]; then
      sleep 0.6
      TSS+=("$(now_ts)") TSHASHES+=("$h") TSPSS+=("$PS")
      sleep 0.6
    fi
  done
  stop_replicate
  if [ ${#TXIDS[@]} -ne "$NBATCH" ]; then return; fi
  what="page size $1"
  if [ "$newps" != 0 ]; then what+=" -> $newps"; fi
  if [ "$restart" = 1 ]; then what+=", replicate restarted"; fi
  ok "run $RUN ($what): $NBATCH batches replicated, last TXID $txid"

  h=$(content_hash "$DB")
  check_eq "run $RUN: source unchanged after replicate stopped" "${HASHES[-1]}" "$h"
  restore_check latest "$h" "$PS" && ok "run $RUN: restore latest matches the source"
  ok_n=0 fail_n=0
  for i in "${!TXIDS[@]}"; do
    if restore_check "-txid ${TXIDS[i]} (batch $((i + 1)))" "${HASHES[i]}" "${PSS[i]}" -txid "${TXIDS[i]}"; then
      ok_n=$((ok_n + 1)); else fail_n=$((fail_n + 1)); fi
  done
  check_eq "run $RUN: every -txid restore matches its batch ($ok_n ok)" 0 "$fail_n"
  ok_n=0 fail_n=0
  for i in "${!TSS[@]}"; do
    if restore_check "-timestamp ${TSS[i]} (after batch $((i + 1)))" "${TSHASHES[i]}" "${TSPSS[i]}" -timestamp "${TSS[i]}"; then
      ok_n=$((ok_n + 1)); else fail_n=$((fail_n + 1)); fi
  done
  check_eq "run $RUN: every -timestamp restore matches its batch ($ok_n ok)" 0 "$fail_n"
  # the restores above went through compacted files and snapshots too
  lv=$("$B" ltx -json -level all "file://$R" | sed -n 's/.*"level": *\([0-9]*\).*/\1/p' | sort -un | tr '\n' ' ')
  l9=$("$B" ltx -json -level 9 "file://$R" | json_field max_txid | sort | tail -1)
  case " $lv" in
    *" 1 2 "*) if [ $((16#${l9:-0})) -gt 1 ]; then
                 ok "run $RUN: compaction wrote levels 1 and 2 and a snapshot up to TXID $l9 (levels: $lv)"
               else bad "run $RUN: no level-9 snapshot beyond TXID 1 (newest: '${l9}')"; fi ;;
    *) bad "run $RUN: replica levels are '$lv', want level 1 and 2 files" ;;
  esac
  # A sync that races the WAL shrinking or restarting underneath is retried
  # quietly (LS_ERR_BUSY, debug level); no ERROR line is acceptable.
  local errs
  errs=$(grep -h "level=ERROR" "$RUNDIR"/replicate.*.log || true)
  if [ -n "$errs" ]; then bad "run $RUN: replicate logged errors: $(head -3 <<<"$errs")"; fi
}

n=0
for ps in $RUN_SIZES; do
  n=$((n + 1))
  one_run "$ps" $((n % 2 == 0 ? 1 : 0)) 0
done
if [ "${LS_RT_PAGESIZE_CHANGE:-1}" = 1 ]; then
  sizes=(512 1024 4096 8192 65536)
  from=${sizes[RANDOM % 5]}
  to=${sizes[RANDOM % 5]}
  [ "$to" = "$from" ] && to=$((from == 4096 ? 1024 : 4096))
  one_run "$from" 1 "$to"
else
  echo "# SKIP: page-size change run (LS_RT_PAGESIZE_CHANGE=0)"
fi
echo "# seed $SEED, $((SECONDS - START)) s"
finish
