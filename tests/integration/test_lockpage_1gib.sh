#!/usr/bin/env bash
# ctest-labels: slow
# A database that grows past 1 GiB while `replicate` runs, so SQLite's lock
# page (the page holding byte offset 0x40000000: page 262145 at 4096-byte
# pages, never written by SQLite and never stored in LTX files) lies inside
# the replicated range. Eleven 100-row transactions of 1 MB blobs (200 kB
# random + 800 kB zeros, so LTX files stay small) take the database from 0 to
# ~1.1 GB; after each one the test waits until the replica's newest level-0
# file has Commit == the source's page count. The state after the 10th
# (below 1 GiB) is recorded (TXID + content hash); after crossing 1 GiB the
# rows around the lock page are deleted, updated and re-inserted (freelist
# reuse around the lock page). Compaction (L1 every 10 s) and a level-9
# snapshot (every 20 s; the test waits for one past 1 GiB) run over the lock
# page too. Then replicate stops (SIGTERM)
# and the replica is restored latest (content hash, integrity_check, and
# byte-identical to the checkpointed source, lock page zeros) and at the
# recorded pre-1-GiB TXID.
#
# Slow (about 1-3 minutes, ~4 GiB of free disk under $TMPDIR); skips visibly
# when less is free.
source "$(dirname "$0")/lib.sh"
B=$LITESTREAM_BIN
NEED_KB=$((4 * 1024 * 1024))
AVAIL_KB=$(df -Pk "$T" | awk 'NR == 2 { print $4 }')
if [ "${AVAIL_KB:-0}" -lt "$NEED_KB" ]; then
  echo "SKIP: only $((AVAIL_KB / 1024)) MiB free under $T; the 1 GiB lock-page test needs 4096 MiB"
  exit 0
fi
START=$SECONDS
GIB=1073741824
PS=4096
LOCK_PGNO=$((GIB / PS + 1))
DB=$T/data/big.db
R=$T/replica
CFG=$T/ls.yml
mkdir -p "$T/data"
cat >"$CFG" <<YML
levels:
  - interval: 10s
snapshot:
  interval: 20s
dbs:
  - path: $DB
    monitor-interval: 100ms
    replica:
      url: file://$R
      sync-interval: 100ms
YML

json_field() { sed -n "s/.*\"$1\": *\"\\([^\"]*\\)\".*/\\1/p"; }
local_txid() { "$B" status -json -config "$CFG" 2>/dev/null | json_field local_txid | head -1; }
replica_l0_max() { "$B" ltx -json -level 0 "file://$R" 2>/dev/null | json_field max_txid | sort | tail -1; }
# ltx_commit TXID: the Commit field (BE32 at offset 12) of the replica's L0 file
ltx_commit() {
  local f=$R/ltx/0/$1-$1.ltx
  [ -f "$f" ] || return 1
  echo $((16#$(od -An -tx1 -j12 -N4 "$f" | tr -d ' \n')))
}
content_hash() { sql "$1" "SELECT hex(sha3_query('SELECT * FROM b ORDER BY rowid'))"; }
page_count() { sql "$DB" "PRAGMA page_count"; }

# synced PREV_TXID: the replica caught up with the current source (local TXID
# == replica L0 max, beyond PREV_TXID, and that file's Commit equals the
# source's page count, which only grows here, so the last insert is in it).
# Sets SYNCED_TXID.
synced() {
  local prev=$((16#$1)) want l m c
  want=$(page_count) || return 1
  l=$(local_txid) m=$(replica_l0_max)
  [ -n "$l" ] && [ "$l" = "$m" ] && [ $((16#$l)) -gt "$prev" ] || return 1
  c=$(ltx_commit "$m") || return 1
  [ "$c" = "$want" ] || return 1
  SYNCED_TXID=$l
}
wait_synced() { # wait_synced PREV_TXID LABEL (timeout 180 s)
  local deadline=$((SECONDS + 180))
  while [ $SECONDS -lt $deadline ]; do
    if synced "$1"; then return 0; fi
    sleep 0.2
  done
  bad "$2: replica did not catch up within 180 s (local txid $(local_txid), replica max $(replica_l0_max), page count $(page_count))"
  return 1
}
# writes wait up to 60 s for replicate's checkpoint barrier
wsql() { sqlite3 -batch -cmd ".timeout 60000" "$@"; }
chunk() { # chunk ROWS: one transaction of ROWS 1 MB rows
  wsql "$DB" "INSERT INTO b(x) SELECT randomblob(200000) || zeroblob(800000) FROM generate_series(1, $1)"
}

sql "$DB" "PRAGMA page_size=$PS; PRAGMA journal_mode=WAL; CREATE TABLE b(id INTEGER PRIMARY KEY, x BLOB);" >/dev/null
start_bg "$T/replicate.log" "$B" replicate -config "$CFG"
REP=$BG_PID
TX=0000000000000000
fail_fast() { bad "$1"; stop_pid "$REP" TERM || true; finish; exit 1; }
wait_synced "$TX" "first snapshot" || fail_fast "replication never started: $(tail -3 "$T/replicate.log")"
TX=$SYNCED_TXID
for k in $(seq 1 10); do
  chunk 100 || fail_fast "insert chunk $k failed"
  wait_synced "$TX" "chunk $k" || fail_fast "giving up after chunk $k"
  TX=$SYNCED_TXID
done
PC=$(page_count)
check "after 1000 MB the database is still below 1 GiB ($PC pages)" test $((PC * PS)) -lt $GIB
PRE_TXID=$TX
PRE_HASH=$(content_hash "$DB")
echo "# $(((SECONDS - START))) s: recorded TXID $PRE_TXID below 1 GiB"

chunk 100 || fail_fast "insert chunk 11 failed"
wait_synced "$TX" "chunk 11" || fail_fast "giving up after chunk 11"
TX=$SYNCED_TXID
CROSS_TXID=$TX
PC=$(page_count)
check "the database grew past the lock page (page count $PC > lock page $LOCK_PGNO)" test "$PC" -gt "$LOCK_PGNO"

# The rows whose overflow chains surround the lock page: delete some, update
# others, re-insert (the freelist around the lock page gets reused), then
# grow once more so that `synced` can see the end of the session.
ROW=$(sql "$DB" "SELECT count(*) * $LOCK_PGNO / $PC FROM b")
wsql "$DB" "BEGIN;
  DELETE FROM b WHERE id BETWEEN $((ROW - 4)) AND $((ROW + 4));
  UPDATE b SET x = randomblob(300000) || zeroblob(500000) WHERE id IN ($((ROW - 6)), $((ROW + 6))) OR id % 97 = 0;
  COMMIT;
  INSERT INTO b(x) SELECT randomblob(100000) || zeroblob(200000) FROM generate_series(1, 12);
  UPDATE b SET x = x || randomblob(5000) WHERE id % 13 = 0;" || fail_fast "updates past 1 GiB failed"
chunk 20 || fail_fast "final insert failed"
wait_synced "$TX" "updates past 1 GiB" || fail_fast "giving up after the updates"
TX=$SYNCED_TXID
echo "# $(((SECONDS - START))) s: source at TXID $TX, $(page_count) pages"
l9_past() {
  local m
  m=$("$B" ltx -json -level 9 "file://$R" 2>/dev/null | json_field max_txid | sort | tail -1)
  [ -n "$m" ] && [ $((16#$m)) -ge $((16#$CROSS_TXID)) ]
}
check "a level-9 snapshot past 1 GiB is written (within 60 s)" wait_until 60 l9_past
stop_pid "$REP" TERM && rc=0 || rc=$?
check_eq "replicate exits 0 on SIGTERM" 0 "$rc"
if grep -q "level=ERROR" "$T/replicate.log"; then
  bad "replicate logged errors: $(grep "level=ERROR" "$T/replicate.log" | head -3)"
fi
LEVELS=$("$B" ltx -json -level all "file://$R" | sed -n 's/.*"level": *\([0-9]*\).*/\1/p' | sort -un | tr '\n' ' ')
echo "# replica levels: $LEVELS; replica $(du -sh "$R" | cut -f1), source $(du -sh "$DB" | cut -f1)"
L1MAX=$("$B" ltx -json -level 1 "file://$R" | json_field max_txid | sort | tail -1)
check "compaction to level 1 covered the TXIDs past 1 GiB (L1 max ${L1MAX:-none}, pre-1-GiB TXID $PRE_TXID)" \
  test $((16#${L1MAX:-0})) -gt $((16#$PRE_TXID))

# source: checkpoint into the database file so it can be compared byte-wise
check_eq "source checkpoints completely" "0" "$(sql "$DB" "PRAGMA wal_checkpoint(TRUNCATE)" | cut -d'|' -f1)"
SRC_HASH=$(content_hash "$DB")
SRC_PC=$(page_count)

OUT=$T/latest.db
"$B" restore -o "$OUT" "file://$R" >"$T/restore1.log" 2>&1 && rc=0 || rc=$?
check_eq "restore latest exits 0" 0 "$rc"
[ "$rc" = 0 ] || echo "# $(tail -3 "$T/restore1.log")"
check_eq "restore latest passes integrity_check" ok "$(sql "$OUT" "PRAGMA integrity_check" 2>&1)"
check_eq "restore latest has the source's page count" "$SRC_PC" "$(sql "$OUT" "PRAGMA page_count" 2>&1)"
check_eq "restore latest content equals the source" "$SRC_HASH" "$(content_hash "$OUT" 2>&1)"
check_eq "restored lock page is all zeros" 0 \
  "$(dd if="$OUT" bs=$PS skip=$((LOCK_PGNO - 1)) count=1 2>/dev/null | tr -d '\0' | wc -c)"
cmp -s "$DB" "$OUT" && ok "restore latest is byte-identical to the checkpointed source" \
  || bad "restore latest differs from the source: $(cmp "$DB" "$OUT" 2>&1 | head -1)"
rm -f "$OUT" "$OUT"-wal "$OUT"-shm

OUT=$T/pre.db
"$B" restore -o "$OUT" -txid "$PRE_TXID" "file://$R" >"$T/restore2.log" 2>&1 && rc=0 || rc=$?
check_eq "restore -txid $PRE_TXID (below 1 GiB) exits 0" 0 "$rc"
[ "$rc" = 0 ] || echo "# $(tail -3 "$T/restore2.log")"
check_eq "restore -txid $PRE_TXID passes integrity_check" ok "$(sql "$OUT" "PRAGMA integrity_check" 2>&1)"
check_eq "restore -txid $PRE_TXID content equals the source at that TXID" "$PRE_HASH" "$(content_hash "$OUT" 2>&1)"
check "restore -txid $PRE_TXID is below 1 GiB" test "$(stat -c %s "$OUT" 2>/dev/null || echo $GIB)" -lt $GIB
rm -f "$OUT" "$OUT"-wal "$OUT"-shm
echo "# $((SECONDS - START)) s"
finish
