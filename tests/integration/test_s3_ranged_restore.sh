#!/usr/bin/env bash
# Large S3 objects restored in parallel ranges (src/storage/ranged.h) against
# s3rver on 127.0.0.1: a ~16 MiB database whose snapshot spans many ranges is
# restored with -parallelism 8 and 2 (content identical, one GET per range;
# -parallelism 1: one GET streamed through the same buffers),
# again through a proxy that drops connections, answers 500/503 and cuts
# bodies (identical), and through one that can never serve one byte range
# (a clear error naming the file and the range; nothing left behind).
# Also: `status -json` reports the request counters `replicate` persisted
# (src/engine/stats.h).
source "$(dirname "$0")/lib.sh"
source "$LS_SOURCE_DIR/tests/s3/lib.sh"
s3_require_deps
B=$LITESTREAM_BIN
export LITESTREAM_S3_STALL_TIMEOUT_MS=2000
s3_start
proxy_start "$T/proxy.log" ""
EP=$PROXY_ENDPOINT
proxy_start "$T/proxy_faults.log" "drop=0.03,e500=0.04,e503=0.04,midbody=0.15" --seed 777
EP_FAULTS=$PROXY_ENDPOINT
SNAP_NAME=0000000000000001-0000000000000001.ltx
# byte 5,000,000 lies in range 4 (bytes 4194304-5242879) of 1 MiB ranges
# (any file starting at TXID 1 holds the whole database: L0 1-1, or its
# compaction into level 1 that the plan prefers)
proxy_start "$T/proxy_fail.log" "" --fail-range-byte 5000000 --fail-range-key "/0000000000000001-"
EP_FAIL=$PROXY_ENDPOINT
DB=$T/data/app.db
mkdir -p "$T/data"
dump_sum() { sqlite3 "$1" .dump | sha256sum | cut -d' ' -f1; }
obj() { echo "$S3_DATA/$S3_BUCKET/$1._S3rver_object"; }

s3_config "$T/ls.yml" "$DB" "$EP" db
"$WRITER" -db "$DB" -count 12288 >/dev/null # ~16 MiB of 1 KiB rows
sql "$DB" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
start_bg "$T/rep.log" "$B" replicate -config "$T/ls.yml" -mcp-addr 127.0.0.1:0
REP=$BG_PID
check "the snapshot reaches s3" wait_until 60 test -e "$(obj "db/0000/$SNAP_NAME")"
"$WRITER" -db "$DB" -count 200 -start-id 100000 >/dev/null
sleep 2.5
# the MCP tools inside replicate report the live counters
wait_until 20 grep -q 'MCP server listening' "$T/rep.log" || bad "MCP server did not start"
MCP_PORT=$(grep 'MCP server listening' "$T/rep.log" | tail -1 | grep -o 'addr=[^ ]*' | sed 's/.*://')
live=$(curl -s "http://127.0.0.1:$MCP_PORT/mcp/tools/litestream_status" -H 'Content-Type: application/json' -d "{\"path\":\"$DB\"}")
lput=$(echo "$live" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{ try {
  const o=JSON.parse(s); const d=(o.structuredContent||o).databases[0]; const r=d.replicas[0];
  console.log(r.requests ? r.requests.put : "null", r.updated_at === null ? "live" : "file");
  } catch (e) { console.log("unparsable"); } })')
case "$lput" in
  "unparsable"|null*) bad "MCP litestream_status shows no live request counters: $(echo "$live" | head -c 600)" ;;
  *" live") [ "${lput% *}" -gt 0 ] && ok "MCP litestream_status shows the live PUT count (${lput% *})" || bad "live PUT count: $lput" ;;
  *) bad "MCP litestream_status counters are not live: $lput" ;;
esac
stop_pid "$REP" TERM && rc=0 || rc=$?
check_eq "replicate exits 0" 0 "$rc"
size=$(stat -c %s "$(obj "db/0000/$SNAP_NAME")")
[ "$size" -gt $((8 << 20)) ] && ok "snapshot object is large ($size bytes)" || bad "snapshot only $size bytes"
want=$(dump_sum "$DB")
rows=$(sql "$DB" "SELECT count(*) FROM t")

# ---- request counters persisted by replicate, shown by status -json
st=$("$B" status -json -config "$T/ls.yml")
puts=$(echo "$st" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{
  const r=JSON.parse(s)[0].replicas[0]; console.log(r && r.requests ? r.requests.put : "null")})')
[ "$puts" != null ] && [ "$puts" -gt 0 ] && ok "status -json shows the PUT count of the s3 replica ($puts)" ||
  bad "status -json requests.put: $puts ($st)"
echo "$st" | grep -q '"since": "20' && ok "status -json shows since" || bad "no since in: $st"
for k in get list delete head; do
  echo "$st" | grep -q "\"$k\": [0-9]" || bad "status -json lacks requests.$k"
done

# ---- clean restores in 1 MiB ranges, -parallelism 8, 2 and 1 (one stream)
export LITESTREAM_RESTORE_RANGE_SIZE=1048576
for par in 8 2 1; do
  mark=$(wc -l <"$T/proxy.log")
  "$B" restore -o "$T/out_p$par.db" -parallelism "$par" -config "$T/ls.yml" "$DB" >"$T/restore_p$par.log" 2>&1 && rc=0 || rc=$?
  check_eq "restore -parallelism $par exits 0" 0 "$rc"
  [ "$rc" = 0 ] || tail -3 "$T/restore_p$par.log"
  check_eq "restore -parallelism $par is identical ($rows rows)" "$want" "$(dump_sum "$T/out_p$par.db" 2>/dev/null || echo none)"
  # the most requested object is the large one; one bounded GET per range
  read -r url gets ranged < <(tail -n +"$((mark + 1))" "$T/proxy.log" | node -e '
    let s=""; process.stdin.on("data",d=>s+=d).on("end",()=>{ const c={}, r={};
      for (const l of s.split("\n").filter(Boolean)) { const x=JSON.parse(l); if (x.op!=="GET") continue;
        c[x.url]=(c[x.url]||0)+1; if (/^bytes=\d+-\d+$/.test(x.range||"")) r[x.url]=(r[x.url]||0)+1; }
      const u=Object.keys(c).sort((a,b)=>c[b]-c[a])[0]||"-"; console.log(u, c[u]||0, r[u]||0); });')
  osize=$(stat -c %s "$S3_DATA${url}._S3rver_object" 2>/dev/null || echo 0)
  nranges=$(( (osize + 1048575) / 1048576 ))
  [ "$osize" -gt $((8 << 20)) ] && ok "the restore read a large object ($url, $osize bytes)" || bad "largest object read: $url ($osize bytes)"
  if [ "$par" = 1 ]; then
    check_eq "restore -parallelism 1 fetched it with one GET" 1 "$gets"
  else
    check_eq "restore -parallelism $par fetched it as $nranges ranges" "$nranges" "$gets"
    check_eq "every GET of it had a bounded Range" "$nranges" "$ranged"
  fi
done
[ -e "$T/out_p8.db.tmp-work" ] && bad "work directory left behind" || ok "no work directory left behind"
# default range size (4 MiB)
unset LITESTREAM_RESTORE_RANGE_SIZE
"$B" restore -o "$T/out_def.db" -config "$T/ls.yml" "$DB" >"$T/restore_def.log" 2>&1 && rc=0 || rc=$?
check_eq "restore with the default range size is identical" "$want" "$(dump_sum "$T/out_def.db" 2>/dev/null || echo none)"
export LITESTREAM_RESTORE_RANGE_SIZE=1048576

# ---- broken transfers, 500/503 and dropped connections: identical output
URLF="s3://$S3_BUCKET/db?endpoint=$EP_FAULTS"
for i in 1 2; do
  "$B" restore -o "$T/out_f$i.db" -parallelism 8 "$URLF" >"$T/restore_f$i.log" 2>&1 && rc=0 || rc=$?
  check_eq "restore $i under faults exits 0" 0 "$rc"
  [ "$rc" = 0 ] || tail -3 "$T/restore_f$i.log"
  check_eq "restore $i under faults is identical" "$want" "$(dump_sum "$T/out_f$i.db" 2>/dev/null || echo none)"
done
for par in 2 1; do
  "$B" restore -o "$T/out_fp$par.db" -parallelism $par "$URLF" >"$T/restore_fp$par.log" 2>&1 && rc=0 || rc=$?
  check_eq "restore -parallelism $par under faults is identical" "$want" "$(dump_sum "$T/out_fp$par.db" 2>/dev/null || echo none)"
done
nf=$(grep -c '"fault":"[a-z0-9]*"' "$T/proxy_faults.log" || true)
mb=$(grep '"fault":"midbody"' "$T/proxy_faults.log" | grep -c '/0000000000000001-' || true)
[ "$nf" -ge 3 ] && ok "faults were injected ($nf; $mb bodies of the large file cut)" || bad "only $nf faults injected"

# ---- one range can never be read: a clear error, nothing left behind
export LITESTREAM_S3_MAX_ATTEMPTS=2
URLX="s3://$S3_BUCKET/db?endpoint=$EP_FAIL"
for par in 8 2 1; do
  out=$T/out_x$par.db
  msg=$("$B" restore -o "$out" -parallelism "$par" "$URLX" 2>&1) && rc=0 || rc=$?
  check "restore -parallelism $par with an unreadable range fails" test "$rc" != 0
  range="bytes 4194304-5242879"
  [ "$par" = 1 ] && range="HTTP 500" # one GET of the whole file
  echo "$msg" | grep -q "/0000000000000001-" && echo "$msg" | grep -q "$range" &&
    ok "the error names the file and the range (-parallelism $par)" || bad "error: $msg"
  check "no output, temp file or work directory left (-parallelism $par)" \
    test ! -e "$out" -a ! -e "$out.tmp" -a ! -e "$out.tmp-work"
done
echo "# error: $(echo "$msg" | tail -1 | cut -c1-400)"
unset LITESTREAM_S3_MAX_ATTEMPTS

s3_stop
finish
