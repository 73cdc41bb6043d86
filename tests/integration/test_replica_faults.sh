#!/usr/bin/env bash
# Replica faults while `replicate` runs, then fixed:
#  (a) the replica root cannot be created (its parent is a regular file) from
#      the start; writes go on; replicate must log an error naming the replica
#      path and keep running; after the file is removed the replica must catch
#      up with no TXID gap and nothing lost (and compaction with it).
#  (a2) the same mid-run: the replica directory is moved away and a regular
#      file put in its place, then moved back.
#  (b) the replica is a 2 MiB tmpfs that fills up: errors must mention "no
#      space"; after `mount -o remount,size=64m` the replica must catch up;
#      every level-0 TXID must restore to a gap-free prefix of the rows, no
#      temp file may be left, and the latest restore must equal the source.
#      Skipped visibly when mounting a tmpfs is not permitted.
# "Caught up" = a restore of the replica, taken while replicate still runs
# and the writer has finished, hashes exactly like the source.
source "$(dirname "$0")/lib.sh"
B=$LITESTREAM_BIN
START=$SECONDS
MNT=$T/small
MOUNTED=0
cleanup_faults() {
  local p
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null || true; done
  if [ "$MOUNTED" = 1 ]; then umount "$MNT" 2>/dev/null || umount -l "$MNT" || true; fi
  cleanup
}
trap cleanup_faults EXIT

json_field() { sed -n "s/.*\"$1\": *\"\\([^\"]*\\)\".*/\\1/p"; }
local_txid() { "$B" status -json -config "$CFG" 2>/dev/null | json_field local_txid | head -1; }
src_hash() { sql "$1" "SELECT count(*) || ':' || hex(sha3_query('SELECT id, ts, payload FROM t ORDER BY id'))"; }
new_case() { # new_case NAME REPLICA_DIR: config, database with 10 rows
  NAME=$1 R=$2 DB=$T/$1/app.db CFG=$T/$1/ls.yml LOG=$T/$1/replicate.log
  mkdir -p "$T/$1"
  cat >"$CFG" <<YML
levels:
  - interval: 3s
dbs:
  - path: $DB
    monitor-interval: 100ms
    replica:
      url: file://$R
      sync-interval: 100ms
YML
  "$WRITER" -db "$DB" -count 10 >/dev/null
  ROWS=10
}
# write_rows N [ROW_SIZE [RATE]]: RATE commits/s spreads them over many
# TXIDs; then an application checkpoint (modes in turn; RESTART/TRUNCATE
# wait for replicate's read transaction, so only 300 ms)
CKPT=0
write_rows() {
  local modes=(PASSIVE FULL RESTART TRUNCATE)
  "$WRITER" -db "$DB" -count "$1" -row-size "${2:-1024}" -rate "${3:-0}" >>"$T/$NAME/writer.log" 2>&1 \
    || bad "$NAME: bench_writer failed: $(tail -1 "$T/$NAME/writer.log")"
  ROWS=$((ROWS + $1))
  sqlite3 -cmd ".timeout 300" "$DB" "PRAGMA wal_checkpoint(${modes[CKPT++ % 4]})" >>"$T/$NAME/writer.log" 2>&1 \
    || bad "$NAME: checkpoint failed: $(tail -1 "$T/$NAME/writer.log")"
}
probe_matches() { # the replica restores to exactly the source's content
  rm -f "$T/$NAME/probe.db"
  "$B" restore -o "$T/$NAME/probe.db" "file://$R" >"$T/$NAME/probe.log" 2>&1 || return 1
  [ "$(src_hash "$T/$NAME/probe.db")" = "$(src_hash "$DB")" ]
}
# l0_chain: level-0 files form one contiguous chain 1..local TXID
l0_chain() {
  local want=1 mn mx last
  last=$(local_txid)
  while read -r mn mx; do
    [ $((16#$mn)) = "$want" ] || { echo "gap or overlap: file $mn-$mx where $want was expected"; return 1; }
    want=$((16#$mx + 1))
  done < <("$B" ltx -json -level 0 "file://$R" | tr -d ' \n' | sed 's/},{/}\n{/g' |
           sed -n 's/.*"min_txid":"\([0-9a-f]*\)","max_txid":"\([0-9a-f]*\)".*/\1 \2/p' | sort)
  [ "$want" = $((16#$last + 1)) ] || { echo "chain ends at $((want - 1)), local TXID is $last"; return 1; }
}
l1_max() { "$B" ltx -json -level 1 "file://$R" 2>/dev/null | json_field max_txid | sort | tail -1; }
l1_caught_up() { [ "$(l1_max)" = "$(local_txid)" ]; }
# verify_case: replica caught up while running, L0 chain, graceful stop,
# latest restore equal to the source.
verify_case() {
  if wait_until 60 probe_matches; then ok "$NAME: replica caught up after the fix ($ROWS rows)"
  else bad "$NAME: replica did not catch up within 60 s (last probe: $(tail -1 "$T/$NAME/probe.log"))"; fi
  local why nerr
  nerr=$(grep -c "level=ERROR" "$LOG" || true)
  if why=$(l0_chain); then ok "$NAME: level-0 TXIDs are contiguous from 1 to the local TXID $(local_txid)"
  else bad "$NAME: level-0 chain: $why"; fi
  # compaction (L1 every 3 s) recovers too, without new errors
  if wait_until 30 l1_caught_up; then ok "$NAME: level-1 compaction caught up with the local TXID"
  else bad "$NAME: level-1 max is '$(l1_max)', local TXID $(local_txid)"; fi
  check_eq "$NAME: no new errors after the replica caught up" "$nerr" "$(grep -c "level=ERROR" "$LOG" || true)"
  check "$NAME: replicate kept running through the fault" kill -0 "$REP"
  stop_pid "$REP" TERM && rc=0 || rc=$?
  check_eq "$NAME: replicate exits 0 on SIGTERM" 0 "$rc"
  rm -f "$T/$NAME/final.db"
  "$B" restore -integrity-check full -o "$T/$NAME/final.db" "file://$R" >"$T/$NAME/final.log" 2>&1 && rc=0 || rc=$?
  check_eq "$NAME: restore latest exits 0" 0 "$rc"
  check_eq "$NAME: restore passes integrity_check" ok "$(sql "$T/$NAME/final.db" "PRAGMA integrity_check" 2>&1)"
  check_eq "$NAME: restore holds every row, byte for byte" "$(src_hash "$DB")" "$(src_hash "$T/$NAME/final.db" 2>&1)"
  local tmps
  tmps=$(find "$R" -name '*.tmp' 2>/dev/null | head -3)
  check_eq "$NAME: no temp files left in the replica" "" "$tmps"
}

# ---- (a) replica root impossible to create from the start ----------------
new_case a "$T/blocker/replica"
touch "$T/blocker"
start_bg "$LOG" "$B" replicate -config "$CFG"
REP=$BG_PID
write_rows 200 1024 400
wait_until 30 grep -q "level=ERROR.*$T/blocker/replica" "$LOG" \
  && ok "a: replicate logs an error naming the replica path" \
  || bad "a: no error naming $T/blocker/replica: $(grep -m2 ERROR "$LOG")"
grep -m1 "level=ERROR.*$T/blocker/replica" "$LOG" | sed 's/^/# /'
check "a: replicate keeps running" kill -0 "$REP"
check "a: the database keeps being synced locally (local TXID > 1)" test $((16#$(local_txid))) -gt 1
write_rows 100 1024 400
rm -f "$T/blocker"
# The start-up snapshot (level 9) failed while the replica was unreachable; it
# must be taken once uploads succeed again, not at the next daily boundary.
has_l9() { "$B" ltx -json -level 9 "file://$R" 2>/dev/null | grep -q '"max_txid"'; }
wait_until 60 has_l9 \
  && ok "a: the snapshot missed while the replica was unreachable is taken once it is back" \
  || bad "a: no level-9 snapshot after the replica came back"
# (An earlier bug left an idle database uncompacted when every pending file
# reached the replica in the first successful upload; store.c fixed it, so
# no write follows here: the idle case is what is checked.)
verify_case

# ---- (a2) replica directory replaced by a regular file mid-run ----------
new_case a2 "$T/a2/replica"
start_bg "$LOG" "$B" replicate -config "$CFG"
REP=$BG_PID
write_rows 100
if wait_until 30 probe_matches; then ok "a2: replicating before the fault"; else bad "a2: initial replication failed"; fi
mv "$R" "$R.away"
touch "$R"
write_rows 300 1024 400
wait_until 30 grep -q "level=ERROR.*$R" "$LOG" \
  && ok "a2: replicate logs an error naming the replica path" \
  || bad "a2: no error naming $R: $(grep -m2 ERROR "$LOG")"
grep -m1 "level=ERROR.*$R" "$LOG" | sed 's/^/# /'
write_rows 50
rm -f "$R"
mv "$R.away" "$R"
verify_case

# ---- (b) replica on a full tmpfs, then grown ------------------------------
mkdir -p "$MNT"
if ! err=$(mount -t tmpfs -o size=2m tmpfs "$MNT" 2>&1); then
  echo "# SKIP: (b) replica on a full tmpfs: mounting a tmpfs is not permitted here ($err)"
else
  MOUNTED=1
  new_case b "$MNT/replica"
  start_bg "$LOG" "$B" replicate -config "$CFG"
  REP=$BG_PID
  wait_until 30 test -e "$R/ltx/0/0000000000000001-0000000000000001.ltx" \
    && ok "b: first snapshot fits on the small replica" || bad "b: first snapshot was not replicated"
  write_rows 4000 1024 2000
  wait_until 30 grep -qi "level=ERROR.*no space" "$LOG" \
    && ok "b: replicate reports that the replica has no space left" \
    || bad "b: no 'no space' error: $(grep -m2 ERROR "$LOG")"
  grep -m1 -i "level=ERROR.*no space" "$LOG" | sed 's/^/# /'
  grep -qi "level=ERROR.*no space.*$MNT/replica\|level=ERROR.*$MNT/replica.*no space" "$LOG" \
    && ok "b: the error names the replica path" || bad "b: the no-space error does not name $MNT/replica"
  check "b: replicate keeps running while the replica is full" kill -0 "$REP"
  write_rows 500 1024 1000
  if mount -o remount,size=64m "$MNT"; then ok "b: tmpfs grown to 64 MiB"; else bad "b: remount failed"; fi
  verify_case
  # every level-0 TXID (including those that first failed) restores to a
  # gap-free prefix of the rows, never fewer than the TXID before it
  prev=0 nbad=0 n=0
  for tx in $("$B" ltx -json -level 0 "file://$R" | json_field max_txid | sort); do
    out=$T/b/tx.db
    rm -f "$out"
    n=$((n + 1))
    if ! "$B" restore -o "$out" -txid "$tx" "file://$R" >"$T/b/tx.log" 2>&1; then
      nbad=$((nbad + 1)); bad "b: restore -txid $tx: $(tail -1 "$T/b/tx.log")"; continue
    fi
    read -r cnt lo hi < <(sql -separator ' ' "$out" "SELECT count(*), coalesce(min(id),0), coalesce(max(id),0) FROM t")
    if [ "$cnt" != $((hi - lo + 1)) ] || [ "$lo" != 1 ] || [ "$hi" -lt "$prev" ]; then
      nbad=$((nbad + 1)); bad "b: restore -txid $tx: rows $lo..$hi ($cnt), previous TXID had $prev"
    fi
    prev=$hi
  done
  check_eq "b: all $n level-0 TXIDs restore to growing gap-free row prefixes" 0 "$nbad"
  check_eq "b: the last TXID holds every row" "$ROWS" "$prev"
  if umount "$MNT"; then MOUNTED=0; ok "b: tmpfs unmounted"; else bad "b: umount $MNT failed"; fi
fi
echo "# $((SECONDS - START)) s"
finish
