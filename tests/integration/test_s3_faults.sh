#!/usr/bin/env bash
# Fault injection between our S3 client and s3rver: a loopback proxy
# (tests/s3/proxy.js) drops connections, stalls requests, answers 500 and
# 503 and cuts GET bodies half way, at random, during replication and
# restore. Replication must catch up once the writes stop, the L0 chain must
# have no TXID gap, and restores (latest, parallel, timestamp) must be
# identical to the source database.
source "$(dirname "$0")/lib.sh"
source "$LS_SOURCE_DIR/tests/s3/lib.sh"
s3_require_deps
B=$LITESTREAM_BIN
export LITESTREAM_S3_STALL_TIMEOUT_MS=2000 LITESTREAM_S3_MAX_ATTEMPTS=10
s3_start
FAULTS="drop=0.04,stall=0.02,e500=0.05,e503=0.05,midbody=0.15"
proxy_start "$T/proxy.log" "$FAULTS" --stall-ms 20000 --seed 4242
EP=$PROXY_ENDPOINT
URL="s3://$S3_BUCKET/db?endpoint=$EP"
DB=$T/data/app.db
mkdir -p "$T/data"
s3_config "$T/ls.yml" "$DB" "$EP" db
cat >>"$T/ls.yml" <<YML
levels:
  - interval: 3s
snapshot:
  interval: 8s
  retention: 1h
l0-retention: 0s
YML

dump_sum() { sqlite3 "$1" .dump | sha256sum | cut -d' ' -f1; }

"$WRITER" -db "$DB" -count 200 -row-size 4096 >/dev/null
start_bg "$T/rep.log" "$B" replicate -config "$T/ls.yml"
REP=$BG_PID
"$WRITER" -db "$DB" -rate 40 -seconds 8 -start-id 10000 -checkpoint-every 150 -row-size 2048 >/dev/null
sleep 2.5
TS=$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)
rows_ts=$(sql "$DB" "SELECT count(*) FROM t")
sleep 1.5
"$WRITER" -db "$DB" -rate 40 -seconds 7 -start-id 50000 -checkpoint-every 150 -row-size 2048 >/dev/null
# faults off: replication must catch up with the local position
kill -USR1 "$PROXY_PID"
local_txid() { "$B" status -json -config "$T/ls.yml" | sed -n 's/.*"local_txid": "\([0-9a-f]*\)".*/\1/p'; }
caught_up() {
  local want have
  want=$(local_txid)
  have=$("$B" ltx "$URL" 2>/dev/null | awk 'NR>1{m=$3} END{print m}')
  [ -n "$want" ] && [ "$want" = "$have" ]
}
check "replication catches up after the faults stop" wait_until 60 caught_up
stop_pid "$REP" TERM && rc=0 || rc=$?
check_eq "replicate exits 0" 0 "$rc"
injected=$(grep -c '"fault":"[a-z0-9]*"' "$T/proxy.log" || true)
[ "$injected" -ge 5 ] && ok "faults were injected during replication ($injected)" || bad "only $injected faults injected"
retried=$(grep -c '"op":"PUT"' "$T/proxy.log" || true)
echo "# proxy saw $(wc -l <"$T/proxy.log") requests, $retried PUTs, $injected faults"

# no TXID gap in level 0 (L0 retention is off, so every file is still there)
"$B" ltx "$URL" | awk 'NR>1{print $2, $3}' >"$T/l0.txt"
gap=$(node -e '
  const fs=require("fs"); let prev=0n, bad="";
  for (const l of fs.readFileSync(process.argv[1],"utf8").split("\n").filter(Boolean)) {
    const [a,b]=l.split(" ").map(x=>BigInt("0x"+x));
    if (prev && a !== prev + 1n) bad += " " + a.toString(16);
    prev = b; }
  console.log(bad);' "$T/l0.txt")
check_eq "L0 files form a contiguous TXID chain" "" "$gap"
[ "$(wc -l <"$T/l0.txt")" -ge 10 ] && ok "many L0 files uploaded ($(wc -l <"$T/l0.txt"))" || bad "few L0 files: $(wc -l <"$T/l0.txt")"
grep -q "replica sync error" "$T/rep.log" && echo "# replica errors were logged and recovered from: $(grep -c 'replica sync error' "$T/rep.log")"

want=$(dump_sum "$DB")
rows=$(sql "$DB" "SELECT count(*) FROM t")
# restores under faults (faults back on)
kill -USR1 "$PROXY_PID"
mark=$(wc -l <"$T/proxy.log")
for i in 1 2 3; do
  "$B" restore -o "$T/out$i.db" -parallelism 8 "$URL" >"$T/restore$i.log" 2>&1 && rc=0 || rc=$?
  check_eq "restore $i under faults exits 0" 0 "$rc"
  [ "$rc" = 0 ] || tail -3 "$T/restore$i.log"
  check_eq "restore $i is identical to the source ($rows rows)" "$want" "$(dump_sum "$T/out$i.db" 2>/dev/null || echo none)"
done
"$B" restore -o "$T/out_p1.db" -parallelism 1 "$URL" >"$T/restore_p1.log" 2>&1 && rc=0 || rc=$?
check_eq "restore -parallelism 1 under faults is identical" "$want" "$(dump_sum "$T/out_p1.db" 2>/dev/null || echo none)"
"$B" restore -o "$T/out_ts.db" -timestamp "$TS" "$URL" >"$T/restore_ts.log" 2>&1 && rc=0 || rc=$?
check_eq "restore -timestamp (HEADs) under faults exits 0" 0 "$rc"
check_eq "restore -timestamp under faults has the rows before the timestamp" "$rows_ts" "$(sql "$T/out_ts.db" "SELECT count(*) FROM t" 2>/dev/null || echo none)"
rf=$(tail -n +"$((mark + 1))" "$T/proxy.log" | grep -c '"fault":"[a-z0-9]*"' || true)
[ "$rf" -ge 3 ] && ok "faults were injected during the restores ($rf)" || bad "only $rf faults during restores"
mb=$(tail -n +"$((mark + 1))" "$T/proxy.log" | grep -c '"fault":"midbody"' || true)
echo "# $mb GET bodies were cut during restores"

stop_pid "$PROXY_PID" TERM || true
s3_stop
finish
