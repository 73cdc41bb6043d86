#!/usr/bin/env bash
# Litestream v0.3 backups through the CLI (engine/legacy.h, docs/legacy.md):
# every target of testdata/v3-replica/expected.tsv via its own verify.sh
# (after apply-mtimes), the golden v03-replica byte for byte, the listing
# commands (generations, snapshots, wal; human and -json), the v0.3 dry run
# and -json summary, flag errors, the documented decisions (index above the
# highest, timestamps outside every generation), damaged replicas (errors
# name the file, nothing is left behind), a replica holding both layouts,
# and config (DB_PATH) mode.
if [ -z "${LS_SHARED_DIR:-}" ] || [ ! -d "${LS_SHARED_DIR}/testdata/v3-replica" ]; then
  echo "SKIP: \$LS_SHARED_DIR (shared fixtures) is absent; v0.3 restore CLI test not run"
  exit 0
fi
source "$(dirname "$0")/lib.sh"
B=$LITESTREAM_BIN
V=$LS_SHARED_DIR/testdata/v3-replica
G=$LS_SHARED_DIR/testdata/golden
A=dad4f3dffdd83a65
GB=c155c5742e53380e

run() {
  set +e
  "$@" >"$T/stdout" 2>"$T/stderr"
  RC=$?
  set -e
  OUT=$(cat "$T/stdout")
  ERR=$(cat "$T/stderr")
}
content() { sql "$1" "SELECT id,gen,note,pad FROM t ORDER BY id;" | sha256sum | cut -c1-64; }
no_leftovers() { # no_leftovers OUT
  local f
  for f in "$1" "$1.tmp" "$1.tmp-wal" "$1.tmp-shm" "$1-wal" "$1-shm"; do
    [ ! -e "$f" ] || { echo "left behind: $f"; return 1; }
  done
}

# ---- every expected.tsv target, with the fixture's own checker ---------------
run env LITESTREAM="$B" bash "$V/verify.sh"
check_eq "verify.sh exits 0" 0 "$RC"
check_eq "verify.sh: 21 of 21" "21 passed, 0 failed" "$(tail -n1 "$T/stdout")"
[ "$RC" = 0 ] || cat "$T/stdout"

R=$T/rep
cp -R "$V/replica" "$R"
chmod -R u+w "$R"
bash "$V/apply-mtimes.sh" "$R"
U="file://$R"

# ---- golden v03-replica: byte for byte -----------------------------------
cp -R "$G/v03-replica" "$T/gold"
chmod -R u+w "$T/gold"
run "$B" restore -integrity-check none -o "$T/gold.db" "file://$T/gold"
check_eq "golden restore exits 0" 0 "$RC"
check "golden restore is byte-identical" cmp -s "$T/gold.db" "$G/v03-replica-expected-restore.db"
check "golden restore: no -wal/-shm/.tmp" test ! -e "$T/gold.db-wal" -a ! -e "$T/gold.db.tmp" -a ! -e "$T/gold.db.tmp-wal"

# ---- listings ----------------------------------------------------------------
run "$B" generations "$U"
EXPECTED="generation        snapshots  wal  indexes            size   start                 end                   current
c155c5742e53380e  1          8    00000000-00000003  5662   2026-11-22T02:26:23Z  2026-11-22T02:26:31Z  yes
dad4f3dffdd83a65  2          18   00000000-00000007  11407  2026-11-22T02:26:03Z  2026-11-22T02:26:20Z  no"
check_eq "generations table" "$EXPECTED" "$OUT"
run "$B" generations -json "$U"
check_eq "generations -json" "$GB 1 8 0 3 true 2026-11-22T02:26:31.657873488Z|$A 2 18 0 7 false 2026-11-22T02:26:20.846363278Z" \
  "$(jq -r '[.[] | "\(.generation) \(.snapshots) \(.wal_segments) \(.min_index) \(.max_index) \(.current) \(.end)"] | join("|")' <<<"$OUT")"

run "$B" snapshots "$U"
EXPECTED="generation        index     size  created
c155c5742e53380e  00000000  2293  2026-11-22T02:26:23Z
dad4f3dffdd83a65  00000000  664   2026-11-22T02:26:03Z
dad4f3dffdd83a65  00000004  1660  2026-11-22T02:26:15Z"
check_eq "snapshots table (v0.3 only)" "$EXPECTED" "$OUT"
run "$B" snapshots -json "$U"
check_eq "snapshots -json" "v0.3 $GB 0 2293|v0.3 $A 0 664|v0.3 $A 4 1660" \
  "$(jq -r '[.[] | "\(.layout) \(.generation) \(.index) \(.size)"] | join("|")' <<<"$OUT")"

run "$B" wal "$U"
check_eq "wal exits 0" 0 "$RC"
check_eq "wal: no deprecation warning on v0.3 data" "" "$ERR"
check_eq "wal rows" 27 "$(wc -l <<<"$OUT")"
check_eq "wal header" "generation        index     offset  size  created" "$(head -n1 <<<"$OUT")"
check "wal row for A/0/16512" grep -qx "$A  00000000  16512   510   2026-11-22T02:26:03Z" "$T/stdout"
check "wal row for B/2/4152" grep -qx "$GB  00000002  4152    1261  2026-11-22T02:26:30Z" "$T/stdout"
run "$B" wal -json -generation "$A" "$U"
check_eq "wal -json -generation count" 18 "$(jq length <<<"$OUT")"
check_eq "wal -json first" "$A 0 0 487 2026-11-22T02:26:03.351657095Z" \
  "$(jq -r '.[0] | "\(.generation) \(.index) \(.offset) \(.size) \(.created_at)"' <<<"$OUT")"
run "$B" wal -generation 0123456789abcdef "$U"
check_eq "wal unknown generation exits 1" 1 "$RC"
check "wal unknown generation message" grep -q "generation 0123456789abcdef not found" "$T/stderr"
run "$B" wal -level 0 "$U"
check_eq "wal -level is the ltx alias" 0 "$RC"
check "wal -level warns" grep -q "Warning: 'wal' command is deprecated" "$T/stderr"
check_eq "wal -level lists LTX (none here)" "level  min_txid  max_txid  size  created" "$OUT"
mkdir -p "$T/empty"
run "$B" generations "file://$T/empty"
check_eq "generations on an empty replica" "generation  snapshots  wal  indexes  size  start  end  current" "$OUT"
run "$B" generations -json "file://$T/empty"
check_eq "generations -json on an empty replica" "[]" "$OUT"
run "$B" generations
check_eq "generations without argument" "Error: database path or replica URL required
Try: litestream generations /path/to/db" "$ERR"
run "$B" generations -h
check_eq "generations -h exits 0" 0 "$RC"
run "$B" help
check "help lists generations" grep -q "generations  *list Litestream v0.3 generations" "$T/stdout"

# ---- restore: dry run, -json, decisions, errors ---------------------------------
run "$B" restore -dry-run -generation "$A" -index 5 -o "$T/x.db" "$U"
check_eq "v0.3 dry-run exits 0" 0 "$RC"
EXPECTED="Restore plan:
  source: $U
  target: $T/x.db
  replica: file
  layout: v0.3
  generation: $A
  index range: 00000004 - 00000005

Files to fetch:
type      file                                                          index     offset  size  timestamp
snapshot  generations/$A/snapshots/00000004.snapshot.lz4  00000004  0       1660  2026-11-22T02:26:15Z
wal       generations/$A/wal/00000004_00000000.wal.lz4    00000004  0       119   2026-11-22T02:26:13Z
wal       generations/$A/wal/00000004_00001038.wal.lz4    00000004  4152    419   2026-11-22T02:26:15Z
wal       generations/$A/wal/00000005_00000000.wal.lz4    00000005  0       119   2026-11-22T02:26:15Z
wal       generations/$A/wal/00000005_00001038.wal.lz4    00000005  4152    560   2026-11-22T02:26:16Z"
check_eq "v0.3 dry-run text" "$EXPECTED" "$OUT"
check "dry-run writes nothing" test ! -e "$T/x.db"
run "$B" restore -dry-run -json -o "$T/x.db" "$U"
check_eq "v0.3 dry-run JSON" "v0.3 $GB 0 3 9 snapshot wal" \
  "$(jq -r '"\(.layout) \(.generation) \(.snapshot_index) \(.max_index) \(.files | length) \(.files[0].type) \(.files[1].type)"' <<<"$OUT")"
run "$B" restore -json -timestamp 2026-11-22T02:26:19Z -o "$T/j.db" "$U"
check_eq "restore -json exits 0" 0 "$RC"
check_eq "restore -json v0.3 summary" "v0.3 $A 6  quick" \
  "$(jq -r '"\(.layout) \(.generation) \(.index) \(.txid) \(.integrity_check)"' <<<"$OUT")"
check_eq "restore -json: stdout is only JSON" object "$(jq -r type <<<"$OUT")"
check "restore logs the layout on stderr" grep -q 'msg="restoring from a Litestream v0.3 backup" layout=v0.3 generation='"$A" "$T/stderr"
check_eq "MARK_B content" 2567a1d4466b72e1a3be83e674bc064442e453e13e21d2cc696731dde68bdd1e "$(content "$T/j.db")"
check_eq "restored file stays in WAL mode (byte 18)" 2 "$(od -An -tu1 -j18 -N1 "$T/j.db" | tr -d ' ')"

run "$B" restore -generation "$A" -index 8 -o "$T/x.db" "$U"
check_eq "index above the highest: exit 1" 1 "$RC"
check_eq "index above the highest: message" "Error: no matching backups found: WAL index 00000008 is above the highest index 00000007 of generation $A" "$ERR"
run "$B" restore -index 0000000a -o "$T/x.db" "$U"
check "-index is hex (0000000a = 10)" grep -q "WAL index 0000000a is above the highest index 00000003 of generation $GB" "$T/stderr"
run "$B" restore -timestamp 2026-11-22T03:00:00Z -o "$T/x.db" "$U"
check "timestamp after the last backup: clear error" grep -q "no matching backups found: timestamp 2026-11-22T03:00:00.000Z is after the last v0.3 backup (2026-11-22T02:26:31.657Z, generation $GB)" "$T/stderr"
run "$B" restore -timestamp 2026-11-22T02:26:22Z -o "$T/x.db" "$U"
check "timestamp between generations: clear error" grep -q "falls between generation $A .* and generation $GB" "$T/stderr"
run "$B" restore -if-replica-exists -timestamp 2026-11-22T03:00:00Z -o "$T/x.db" "$U"
check_eq "-if-replica-exists covers a v0.3 miss" 0 "$RC"
check "-if-replica-exists logs" grep -q 'msg="no matching backups found"' "$T/stdout"
run "$B" restore -index 1 -timestamp 2026-11-22T02:26:19Z -o "$T/x.db" "$U"
check_eq "-index with -timestamp" "Error: cannot specify index & timestamp to restore" "$ERR"
run "$B" restore -txid 0000000000000001 -generation "$A" -o "$T/x.db" "$U"
check "-txid with -generation is refused" grep -q "cannot specify -txid with -generation or -index" "$T/stderr"
run "$B" restore -index zz -o "$T/x.db" "$U"
check "bad -index" grep -q "invalid -index, must be a hex-encoded WAL index" "$T/stderr"
run "$B" restore -index 123456789 -o "$T/x.db" "$U"
check "-index longer than 8 digits" grep -q "invalid -index" "$T/stderr"
run "$B" restore -generation DAD4F3DFFDD83A65 -o "$T/x.db" "$U"
check "bad -generation" grep -q "invalid -generation, must be 16 lower-case hex digits" "$T/stderr"
run "$B" restore -generation 0123456789abcdef -o "$T/x.db" "$U"
check "unknown -generation" grep -q "generation 0123456789abcdef does not exist" "$T/stderr"
run "$B" restore -f -generation "$A" -o "$T/x.db" "$U"
check "-f with -generation is refused" grep -q "cannot use follow mode with -generation or -index" "$T/stderr"
run timeout 20 "$B" restore -f -o "$T/x.db" "$U"
check_eq "-f on a v0.3-only replica exits 1" 1 "$RC"
check "-f on a v0.3-only replica says why" grep -q "follow mode reads v0.5 LTX files; this replica holds Litestream v0.3 backups" "$T/stderr"
check "no output from the failures" test ! -e "$T/x.db"
echo precious >"$T/exists.db"
run "$B" restore -generation "$A" -o "$T/exists.db" "$U"
check_eq "existing output exits 1" 1 "$RC"
check_eq "existing output untouched" precious "$(cat "$T/exists.db")"
run "$B" restore -force -generation "$A" -integrity-check full -o "$T/exists.db" "$U"
check_eq "-force replaces it" bc6136853c175fe2079e6cfdf3e00c9554da4678f58cd98f921d9d7c258401e0 "$(content "$T/exists.db")"
check "full integrity check logged" grep -q "post-restore integrity check passed" "$T/stdout"

# ---- damaged replicas: errors name the file, nothing left behind ----------------
damaged() { rm -rf "$T/dmg"; cp -a "$R" "$T/dmg"; }
WA=generations/$A/wal
damaged
printf '\x00\x00\x00\x00\x00\x00' | dd of="$T/dmg/$WA/00000002_00001038.wal.lz4" bs=1 seek=30 conv=notrunc 2>/dev/null
run "$B" restore -generation "$A" -index 3 -o "$T/d.db" "file://$T/dmg"
check_eq "corrupt segment exits 1" 1 "$RC"
check "corrupt segment error names the file" grep -q "$WA/00000002_00001038.wal.lz4" "$T/stderr"
check "corrupt segment leaves nothing" no_leftovers "$T/d.db"
run "$B" restore -generation "$A" -index 1 -o "$T/d.db" "file://$T/dmg"
check_eq "a target before the damage still restores" 0 "$RC"
check_eq "...with the right content" 5bed1f96a4a1140d2e2fa1aea8bd9dffffc11ebdf0e5b91fef9ebe12c03adb9d "$(content "$T/d.db")"
rm -f "$T/d.db" "$T/d.db-wal" "$T/d.db-shm"
damaged
truncate -s 100 "$T/dmg/$WA/00000003_00000000.wal.lz4"
run "$B" restore -generation "$A" -index 3 -o "$T/d.db" "file://$T/dmg"
check "truncated segment error names the file" grep -qF "$WA/00000003_00000000.wal.lz4: lz4: truncated" "$T/stderr"
check "truncated segment leaves nothing" no_leftovers "$T/d.db"
damaged
rm "$T/dmg/generations/$GB/snapshots/00000000.snapshot.lz4"
run "$B" restore -o "$T/d.db" "file://$T/dmg"
check "missing snapshot: clear error" grep -qF "generation $GB has WAL segments but no snapshot (generations/$GB/snapshots/" "$T/stderr"
check "missing snapshot: no silent fallback to an older generation" test ! -e "$T/d.db"
damaged
rm "$T/dmg/$WA/00000005_00000000.wal.lz4"
run "$B" restore -generation "$A" -o "$T/d.db" "file://$T/dmg"
check "WAL index gap: clear error" grep -qF "missing WAL segment: expected 00000005/0, got 00000005/1038 ($WA/00000005_00001038.wal.lz4; index 00000005 has no segment at offset 0)" "$T/stderr"
damaged
rm "$T/dmg/$WA/00000005_00000000.wal.lz4" "$T/dmg/$WA/00000005_00001038.wal.lz4"
run "$B" restore -generation "$A" -o "$T/d.db" "file://$T/dmg"
check "WAL index gap: whole index missing" grep -qF "missing WAL index: expected 00000005/0, got 00000006/0 ($WA/00000006_00000000.wal.lz4 follows $WA/00000004_00001038.wal.lz4)" "$T/stderr"
check "WAL index gap leaves nothing" no_leftovers "$T/d.db"
damaged
rm "$T/dmg/$WA/00000000_00005098.wal.lz4"
run "$B" restore -generation "$A" -index 2 -o "$T/d.db" "file://$T/dmg"
check "missing offset: clear error" grep -qF "missing WAL segment: expected 00000000/5098, got 00000000/60b0 ($WA/00000000_000060b0.wal.lz4" "$T/stderr"
check "missing offset leaves nothing" no_leftovers "$T/d.db"
damaged
# A segment of generation B where generation A's belongs: salts differ.
cp "$T/dmg/generations/$GB/wal/00000001_00001038.wal.lz4" "$T/dmg/$WA/00000001_00001038.wal.lz4"
run "$B" restore -generation "$A" -index 1 -o "$T/d.db" "file://$T/dmg"
check "foreign segment: salt mismatch naming the file" grep -qF "$WA/00000001_00001038.wal.lz4: salt mismatch at WAL offset 4152" "$T/stderr"
check "salt mismatch leaves nothing" no_leftovers "$T/d.db"

# ---- both layouts ------------------------------------------------------------------
M=$T/mixed
cp -a "$R" "$M"
mkdir -p "$M/ltx/0" "$M/ltx/9"
N1=0000000000000001-0000000000000001.ltx
N2=0000000000000002-0000000000000002.ltx
cp "$G/ltx-v3-synthetic-l0-$N1" "$M/ltx/0/$N1"
cp "$G/ltx-v3-synthetic-l0-$N2" "$M/ltx/0/$N2"
N12=0000000000000001-0000000000000002.ltx
cp "$G/ltx-v3-synthetic-l1-$N12" "$M/ltx/9/$N12"
touch -d @1700000000 "$M/ltx/0/$N1" "$M/ltx/0/$N2" "$M/ltx/9/$N12"   # 2023: older than the v0.3 data
run "$B" restore -json -o "$T/m1.db" "file://$M"
check_eq "both layouts, v0.3 newer: v0.3" "v0.3 $GB" "$(jq -r '"\(.layout) \(.generation)"' <<<"$OUT")"
run "$B" restore -dry-run -o "$T/m0.db" "file://$M"
check "dry run shows the v0.3 plan" grep -q "^  layout: v0.3" "$T/stdout"
touch -d @1900000000 "$M/ltx/0/$N1" "$M/ltx/0/$N2" "$M/ltx/9/$N12"   # 2030: newer
run "$B" restore -json -o "$T/m2.db" "file://$M"
check_eq "both layouts, LTX newer: ltx" "ltx 0000000000000002" "$(jq -r '"\(.layout) \(.txid)"' <<<"$OUT")"
check "says which layout it used" grep -q 'restoring the LTX data" layout=ltx' "$T/stderr"
run "$B" restore -dry-run -o "$T/m0.db" "file://$M"
check "LTX dry run mentions the v0.3 backups" grep -q "^  layout: ltx (the replica also holds older Litestream v0.3 backups)" "$T/stdout"
run "$B" restore -json -generation "$A" -o "$T/m3.db" "file://$M"
check_eq "-generation selects v0.3 on a mixed replica" "v0.3 $A" "$(jq -r '"\(.layout) \(.generation)"' <<<"$OUT")"
run "$B" snapshots "file://$M"
check "mixed snapshots: both titles" grep -q "^Litestream v0.3 snapshots:" "$T/stdout"
run "$B" generations "file://$M"
check "generations notes the LTX files" grep -q "also holds v0.5 LTX files" "$T/stderr"
run "$B" wal "file://$M"
check_eq "wal on a mixed replica lists v0.3 segments" 27 "$(wc -l <<<"$OUT")"

# ---- config mode (DB_PATH) ---------------------------------------------------------
cat >"$T/ls.yml" <<EOF
dbs:
  - path: $T/app.db
    replicas:
      - type: file
        path: $R
EOF
run "$B" restore -config "$T/ls.yml" -generation "$A" -index 3 -o "$T/c.db" "$T/app.db"
check_eq "config mode restore exits 0" 0 "$RC"
check_eq "config mode content (A index 3)" d93132732434c9bbb05f51f9c04d6e580a2c662b08d9ac6d681f7827b813c9d0 "$(content "$T/c.db")"
run "$B" generations -config "$T/ls.yml" "$T/app.db"
check_eq "config mode generations" 3 "$(wc -l <<<"$OUT")"
run "$B" wal -config "$T/ls.yml" -json "$T/app.db"
check_eq "config mode wal" 26 "$(jq length <<<"$OUT")"

finish
