#!/usr/bin/env bash
# End to end with real SQLite and a file replica: replicate (config mode,
# URL mode, -once, -exec), graceful shutdown, restore latest / timestamp /
# txid, restart, inspection commands.
source "$(dirname "$0")/lib.sh"
B=$LITESTREAM_BIN
DB=$T/data/app.db
R=$T/replica
mkdir -p "$T/data"
cat >"$T/ls.yml" <<YML
dbs:
  - path: $DB
    replica:
      url: file://$R
YML

count() { sql "$1" "SELECT count(*) FROM t"; }
integrity() { sql "$1" "PRAGMA integrity_check"; }

"$WRITER" -db "$DB" -count 50 >/dev/null
start_bg "$T/rep1.log" "$B" replicate -config "$T/ls.yml"
REP=$BG_PID
check "first snapshot reaches the replica" wait_until 10 test -e "$R/ltx/0/0000000000000001-0000000000000001.ltx"
"$WRITER" -db "$DB" -count 150 >/dev/null
sleep 2.5
TS=$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)
sleep 1.5
"$WRITER" -db "$DB" -count 300 -checkpoint-every 100 >/dev/null
sleep 2
stop_pid "$REP" TERM && rc=0 || rc=$?
check_eq "replicate exits 0 on SIGTERM" 0 "$rc"
grep -q "level=INFO msg=\"replicating to\"" "$T/rep1.log" && ok "logs replicating to" || bad "logs replicating to: $(head -5 "$T/rep1.log")"

$B restore -o "$T/out1.db" "file://$R" && rc=0 || rc=$?
check_eq "restore latest exits 0" 0 "$rc"
check_eq "restore latest has every row" 500 "$(count "$T/out1.db")"
check_eq "restored db passes integrity_check" ok "$(integrity "$T/out1.db")"
check "no temp file left" test ! -e "$T/out1.db.tmp"
check "no -wal left" test ! -e "$T/out1.db-wal"

$B restore -o "$T/out2.db" -timestamp "$TS" "file://$R" && rc=0 || rc=$?
check_eq "restore -timestamp exits 0" 0 "$rc"
check_eq "restore -timestamp has the rows before the timestamp" 200 "$(count "$T/out2.db" 2>/dev/null || echo none)"

$B restore -o "$T/out3.db" -txid 0000000000000001 "file://$R" && rc=0 || rc=$?
check_eq "restore -txid 1 exits 0" 0 "$rc"
check_eq "restore -txid 1 holds the first snapshot" 50 "$(count "$T/out3.db" 2>/dev/null || echo none)"

err=$($B restore -o "$T/out1.db" "file://$R" 2>&1) && rc=0 || rc=$?
check_eq "restore over an existing file exits 1" 1 "$rc"
echo "$err" | grep -qi "exists" && ok "existing output message" || bad "existing output message: $err"

# restart: continues incrementally from the local position
start_bg "$T/rep2.log" "$B" replicate -config "$T/ls.yml"
REP=$BG_PID
sleep 1
"$WRITER" -db "$DB" -count 100 >/dev/null
sleep 2
stop_pid "$REP" INT && rc=0 || rc=$?
check_eq "replicate exits 0 on SIGINT" 0 "$rc"
$B restore -o "$T/out4.db" "file://$R" >/dev/null 2>&1 || true
check_eq "after restart the replica has every row" 600 "$(count "$T/out4.db" 2>/dev/null || echo none)"
out=$($B status -config "$T/ls.yml")
echo "$out" | grep -q " ok " && ok "status ok after replication" || bad "status: $out"
out=$($B ltx "file://$R" 2>&1 || true)
echo "$out" | head -1 | grep -q "^level  *min_txid  *max_txid  *size  *created" && ok "ltx lists replica files" || bad "ltx: $out"

# -exec: replicate while a child writes, exit with the child
$B replicate -config "$T/ls.yml" -exec "$WRITER -db $DB -count 100" >"$T/exec.log" 2>&1 && rc=0 || rc=$?
check_eq "-exec exits 0 when the child succeeds" 0 "$rc"
$B restore -o "$T/out5.db" "file://$R" >/dev/null 2>&1 || true
check_eq "-exec child's writes are replicated" 700 "$(count "$T/out5.db" 2>/dev/null || echo none)"
err=$($B replicate -config "$T/ls.yml" -exec "sh -c 'exit 3'" 2>&1 >/dev/null) && rc=0 || rc=$?
check_eq "-exec exits 1 when the child fails" 1 "$rc"
echo "$err" | grep -q "exit status 3" && ok "-exec reports the child's status" || bad "-exec message: $err"

# URL mode + -once
DB2=$T/data/url.db
"$WRITER" -db "$DB2" -count 25 >/dev/null
$B replicate -once "$DB2" "file://$T/replica2" >"$T/once.log" 2>&1 && rc=0 || rc=$?
check_eq "replicate -once in URL mode exits 0" 0 "$rc"
$B restore -o "$T/out6.db" "file://$T/replica2" >/dev/null 2>&1 || true
check_eq "-once replicated everything" 25 "$(count "$T/out6.db" 2>/dev/null || echo none)"
err=$($B replicate -once -exec true 2>&1) && rc=0 || rc=$?
echo "$err" | grep -q "cannot specify -once flag with -exec" && ok "-once with -exec refused" || bad "-once -exec: $err"
err=$($B replicate "$DB2" 2>&1) && rc=0 || rc=$?
echo "$err" | grep -q "must specify at least one replica URL" && ok "missing replica URL refused" || bad "missing URL: $err"

out=$($B reset "$DB")
echo "$out" | grep -q "Reset complete" && ok "reset clears local state" || bad "reset: $out"
finish
