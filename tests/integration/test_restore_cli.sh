#!/usr/bin/env bash
# `litestream restore`, `ltx` and `snapshots` against a file replica built
# from the golden synthetic LTX files (shared MANIFEST section D): outputs
# (sha256 of the "Expected restore results" table), dry-run text/JSON, -json,
# -txid/-timestamp, output rules, and the error texts / exit codes of spec
# 10.3 / 10.5 / 8.6.
if [ -z "${LS_SHARED_DIR:-}" ] || [ ! -d "${LS_SHARED_DIR}/testdata/golden" ]; then
  echo "SKIP: \$LS_SHARED_DIR (shared fixtures) is absent; restore CLI test not run"
  exit 0
fi
source "$(dirname "$0")/lib.sh"
B=$LITESTREAM_BIN
G=$LS_SHARED_DIR/testdata/golden
SHA_LATEST=251688f5628345349360146859f22778e97b16751bdbeb49b57f2e747b7c03e5
SHA_TXID1=7985d875ff1b004486787df3ac03a5562ee3ae5c98ec91ad0f856f459b43b5a0
N1=0000000000000001-0000000000000001.ltx
N2=0000000000000002-0000000000000002.ltx
N12=0000000000000001-0000000000000002.ltx

# make_replica DIR [with_d4=1]: golden D2, D3 (+ D4) with the header
# timestamps as mtimes (what the file backend records, spec 3.3).
make_replica() {
  local r=$1 d4=${2:-1}
  mkdir -p "$r/ltx/0" "$r/ltx/1"
  cp "$G/ltx-v3-synthetic-l0-$N1" "$r/ltx/0/$N1"
  cp "$G/ltx-v3-synthetic-l0-$N2" "$r/ltx/0/$N2"
  touch -d @1700000000 "$r/ltx/0/$N1"
  touch -d @1700000001 "$r/ltx/0/$N2"
  if [ "$d4" = 1 ]; then
    cp "$G/ltx-v3-synthetic-l1-$N12" "$r/ltx/1/$N12"
    touch -d @1700000001 "$r/ltx/1/$N12"
  fi
  chmod -R u+w "$r"
}
sha() { sha256sum "$1" | cut -d' ' -f1; }
# run CMD...: sets RC, OUT (stdout), ERR (stderr)
run() {
  set +e
  "$@" >"$T/stdout" 2>"$T/stderr"
  RC=$?
  set -e
  OUT=$(cat "$T/stdout")
  ERR=$(cat "$T/stderr")
}

R=$T/replica
make_replica "$R"
U="file://$R"

# ---- restore latest / -txid / -timestamp ---------------------------------
run "$B" restore -o "$T/latest.db" "$U"
check_eq "restore latest exits 0" 0 "$RC"
check_eq "restore latest output (sha256)" "$SHA_LATEST" "$(sha "$T/latest.db" 2>/dev/null)"
check_eq "default quick check logs its result" 1 "$(grep -c 'msg="post-restore integrity check passed"' <<<"$OUT")"
check "no temp file left" test ! -e "$T/latest.db.tmp"
check "no -wal/-shm left" test ! -e "$T/latest.db-wal" -a ! -e "$T/latest.db-shm"
check_eq "restored db has table t" t "$(sqlite3 "$T/latest.db" "SELECT name FROM sqlite_master WHERE name='t'")"

run "$B" restore -integrity-check none -o "$T/none.db" "$U"
check_eq "-integrity-check none exits 0" 0 "$RC"
check_eq "-integrity-check none logs nothing" "" "$OUT"

run "$B" restore -txid 0000000000000001 -o "$T/tx1.db" "$U"
check_eq "restore -txid 1 exits 0" 0 "$RC"
check_eq "restore -txid 1 output (sha256)" "$SHA_TXID1" "$(sha "$T/tx1.db" 2>/dev/null)"

run "$B" restore -timestamp 2023-11-14T22:13:21Z -o "$T/ts.db" "$U"
check_eq "restore -timestamp (D2 only) exits 0" 0 "$RC"
check_eq "restore -timestamp output (sha256)" "$SHA_TXID1" "$(sha "$T/ts.db" 2>/dev/null)"
run "$B" restore -timestamp 2023-11-14T22:13:20.5Z -o "$T/ts2.db" "$U"
check_eq "restore -timestamp with a fraction" "$SHA_TXID1" "$(sha "$T/ts2.db" 2>/dev/null)"
run "$B" restore -timestamp 2023-11-14T22:13:21.5Z -o "$T/ts2b.db" "$U"
check_eq "timestamp after the newest file (URL pre-check)" "Error: timestamp does not exist" "$ERR"
run "$B" restore -timestamp 2020-01-01T00:00:00Z -o "$T/ts3.db" "$U"
check_eq "timestamp before the replica exits 1" 1 "$RC"
check_eq "timestamp before the replica message" "Error: timestamp does not exist" "$ERR"

R2=$T/replica-nod4
make_replica "$R2" 0
run "$B" restore -o "$T/nod4.db" "file://$R2"
check_eq "restore without D4 (sha256)" "$SHA_LATEST" "$(sha "$T/nod4.db" 2>/dev/null)"

R5=$T/replica-d5
mkdir -p "$R5/ltx/0"
cp "$G/ltx-v3-legacyframe-synthetic-l0-$N1" "$R5/ltx/0/$N1"
chmod -R u+w "$R5"
run "$B" restore -o "$T/d5.db" "file://$R5"
check_eq "restore D5 legacy frames (sha256)" "$SHA_TXID1" "$(sha "$T/d5.db" 2>/dev/null)"

# ---- -json ---------------------------------------------------------------
run "$B" restore -json -o "$T/json.db" "$U"
check_eq "restore -json exits 0" 0 "$RC"
check_eq "restore -json keys in order" "db_path,replica,txid,duration_ms,integrity_check" \
  "$(jq -r 'keys_unsorted | join(",")' <<<"$OUT")"
check_eq "restore -json values" "$T/json.db file 0000000000000002 quick" \
  "$(jq -r '"\(.db_path) \(.replica) \(.txid) \(.integrity_check)"' <<<"$OUT")"
check_eq "restore -json duration is an integer" number "$(jq -r '.duration_ms | type' <<<"$OUT")"
check "restore -json logs go to stderr" grep -q "post-restore integrity check passed" "$T/stderr"
run "$B" restore -json -txid 0000000000000001 -integrity-check full -o "$T/json1.db" "$U"
check_eq "restore -json -txid" "0000000000000001 full" "$(jq -r '"\(.txid) \(.integrity_check)"' <<<"$OUT")"

# ---- dry run -------------------------------------------------------------
run "$B" restore -dry-run -o "$T/dry.db" "$U"
check_eq "dry-run exits 0" 0 "$RC"
EXPECTED="Restore plan:
  source: $U
  target: $T/dry.db
  replica: file
  txid range: 0000000000000001 - 0000000000000002

Files to fetch:
level  file                                   min_txid          max_txid          size  timestamp
1      $N12  0000000000000001  0000000000000002  318   2023-11-14T22:13:21Z"
check_eq "dry-run human text" "$EXPECTED" "$OUT"
check "dry-run writes nothing" test ! -e "$T/dry.db"
run "$B" restore -dry-run -json -o "$T/dry.db" "file://$R2"
EXPECTED='{
  "source": "file://'"$R2"'",
  "target_path": "'"$T"'/dry.db",
  "replica": "file",
  "min_txid": "0000000000000001",
  "max_txid": "0000000000000002",
  "files": [
    {
      "level": 0,
      "name": "'"$N1"'",
      "min_txid": "0000000000000001",
      "max_txid": "0000000000000001",
      "size": 316,
      "timestamp": "2023-11-14T22:13:20Z"
    },
    {
      "level": 0,
      "name": "'"$N2"'",
      "min_txid": "0000000000000002",
      "max_txid": "0000000000000002",
      "size": 180,
      "timestamp": "2023-11-14T22:13:21Z"
    }
  ]
}'
check_eq "dry-run JSON" "$EXPECTED" "$OUT"

# ---- output rules (8.6) --------------------------------------------------
echo "precious" >"$T/exists.db"
run "$B" restore -o "$T/exists.db" "$U"
check_eq "existing output exits 1" 1 "$RC"
check_eq "existing output message" \
  "Error: cannot restore, output path already exists and is not empty: $T/exists.db. Use -force to overwrite" "$ERR"
check_eq "existing output untouched" precious "$(cat "$T/exists.db")"
echo "stale" >"$T/exists.db-wal"
run "$B" restore -force -o "$T/exists.db" "$U"
check_eq "-force replaces the output" "$SHA_LATEST" "$(sha "$T/exists.db")"
check "-force removes a stale -wal" test ! -e "$T/exists.db-wal"
: >"$T/empty.db"
run "$B" restore -o "$T/empty.db" "$U"
check_eq "an empty output file is replaced silently" "$SHA_LATEST" "$(sha "$T/empty.db")"
echo "stale" >"$T/side.db-shm"
run "$B" restore -o "$T/side.db" "$U"
check_eq "sidecar message" \
  "Error: cannot restore, SQLite sidecar path already exists: $T/side.db-shm. Use -force to overwrite" "$ERR"
mkdir -p "$T/dir.db"
run "$B" restore -force -o "$T/dir.db" "$U"
check_eq "directory output message" "Error: cannot restore, output path is a directory: $T/dir.db" "$ERR"
run "$B" restore -if-db-not-exists -o "$T/exists.db" "$U"
check_eq "-if-db-not-exists with an existing db exits 0" 0 "$RC"
check "-if-db-not-exists logs the skip" grep -q 'msg="database already exists, skipping"' "$T/stdout"
run "$B" restore -o "$T/deep/er/out.db" "$U"
check_eq "missing parent directories are created" "$SHA_LATEST" "$(sha "$T/deep/er/out.db" 2>/dev/null)"

# ---- errors and exit codes (10.5) -----------------------------------------
run "$B" restore
check_eq "no argument exits 1" 1 "$RC"
check_eq "no argument message" "Error: database path or replica URL required
Try: litestream restore -o /path/to/db s3://bucket/prefix" "$ERR"
run "$B" restore "$U"
check_eq "URL without -o" "Error: -o is required when restoring from a replica URL
Try: litestream restore -o /path/to/db $U" "$ERR"
run "$B" restore -o "$T/x.db" "$U" extra
check_eq "too many arguments" "Error: too many arguments" "$ERR"
run "$B" restore -txid 12 -o "$T/x.db" "$U"
check_eq "bad -txid exits 1" 1 "$RC"
check "bad -txid message" grep -q 'Error: invalid value "12" for flag -txid: invalid txid format' "$T/stderr"
run "$B" restore -timestamp yesterday -o "$T/x.db" "$U"
check_eq "bad -timestamp" "Error: invalid -timestamp, must specify in ISO 8601 format (e.g. 2000-01-01T00:00:00Z)" "$ERR"
run "$B" restore -integrity-check maybe -o "$T/x.db" "$U"
check_eq "bad -integrity-check" "Error: invalid -integrity-check value: maybe" "$ERR"
run "$B" restore -config /nonexistent.yml -o "$T/x.db" "$U"
check_eq "-config with a URL" "Error: cannot specify a replica URL and the -config flag" "$ERR"
run "$B" restore -f -txid 0000000000000001 -o "$T/x.db" "$U"
check_eq "-f with -txid" "Error: cannot use follow mode with -txid" "$ERR"
run "$B" restore -f -dry-run -o "$T/x.db" "$U"
check_eq "-f with -dry-run" "Error: cannot use -dry-run with -f" "$ERR"
run "$B" restore -txid 0000000000000009 -o "$T/x.db" "$U"
check_eq "unavailable txid" "Error: no matching backup files available" "$ERR"
mkdir -p "$T/emptyrep"
run "$B" restore -o "$T/x.db" "file://$T/emptyrep"
check_eq "empty replica exits 1" 1 "$RC"
check_eq "empty replica message" "Error: no matching backup files available" "$ERR"
run "$B" restore -if-replica-exists -o "$T/x.db" "file://$T/emptyrep"
check_eq "-if-replica-exists on an empty replica exits 0" 0 "$RC"
check "-if-replica-exists logs" grep -q 'msg="no matching backups found"' "$T/stdout"
run "$B" restore -dry-run -o "$T/x.db" "file://$T/emptyrep"
check_eq "dry-run on an empty replica" "Error: no matching backup files available" "$ERR"
run "$B" restore -o "$T/x.db" "s3://bucket/prefix"
check_eq "s3 exits 1 (not in this build yet)" 1 "$RC"
run "$B" restore -h
check_eq "restore -h exits 0" 0 "$RC"
check "restore -h prints usage on stdout" grep -q "litestream restore \[arguments\] REPLICA_URL" "$T/stdout"
check "x.db never created" test ! -e "$T/x.db"

# A replica holding only v0.3 backups is restored from them (the v0.3
# restore itself is covered by test_legacy_cli.sh).
cp -r "$G/v03-replica" "$T/v03"
chmod -R u+w "$T/v03"
run "$B" restore -o "$T/v03.db" "file://$T/v03"
check_eq "v0.3-only replica exits 0" 0 "$RC"
check "v0.3-only replica logs the layout" grep -q "layout=v0.3" "$T/stdout"
check_eq "v0.3-only replica content" "1,2,3,4,5" "$(sql "$T/v03.db" "SELECT group_concat(x) FROM (SELECT x FROM t ORDER BY x)")"

# A corrupt file: the error names it and nothing is left behind.
RC_=$T/replica-corrupt
make_replica "$RC_" 0
printf '\xff' | dd of="$RC_/ltx/0/$N2" bs=1 seek=120 conv=notrunc 2>/dev/null
run "$B" restore -o "$T/corrupt.db" "file://$RC_"
check_eq "corrupt replica exits 1" 1 "$RC"
check "corrupt replica error names the file" grep -q "ltx/0/$N2" "$T/stderr"
check "corrupt replica leaves no output" test ! -e "$T/corrupt.db" -a ! -e "$T/corrupt.db.tmp"

# ---- follow mode (8.5) ---------------------------------------------------
FR=$T/replica-follow
mkdir -p "$FR/ltx/0"
cp "$G/ltx-v3-synthetic-l0-$N1" "$FR/ltx/0/$N1"
chmod -R u+w "$FR"
FO=$T/follow.db
txid_is() { [ "$(cat "$FO-txid" 2>/dev/null)" = "$1" ]; }
start_bg "$T/follow1.log" "$B" restore -f -follow-interval 100ms -o "$FO" "file://$FR"
FPID=$BG_PID
check "follow: initial restore writes the -txid file" wait_until 10 txid_is 0000000000000001
check_eq "follow: initial output is TXID 1" "$SHA_TXID1" "$(sha "$FO")"
cp "$G/ltx-v3-synthetic-l0-$N2" "$FR/ltx/0/$N2"
check "follow: a new L0 file is applied" wait_until 10 txid_is 0000000000000002
check_eq "follow: output now equals the latest restore" "$SHA_LATEST" "$(sha "$FO")"
stop_pid "$FPID" INT && rc=0 || rc=$?
check_eq "follow: SIGINT exits 0" 0 "$rc"
check "follow: logs entering follow mode" grep -q 'msg="entering follow mode"' "$T/follow1.log"
check "follow: logs applied updates" grep -q 'msg="follow: applied updates" from_txid=0000000000000001 to_txid=0000000000000002' "$T/follow1.log"
check "follow: logs stop" grep -q 'msg="follow mode stopped"' "$T/follow1.log"
start_bg "$T/follow2.log" "$B" restore -f -follow-interval 100ms -o "$FO" "file://$FR"
FPID=$BG_PID
check "follow: resumes after a restart" wait_until 10 grep -q 'msg="resuming follow mode from crash recovery" txid=0000000000000002' "$T/follow2.log"
stop_pid "$FPID" TERM && rc=0 || rc=$?
check_eq "follow: SIGTERM exits 0" 0 "$rc"
rm -f "$FO-txid"
run "$B" restore -f -o "$FO" "file://$FR"
check_eq "follow: existing db without -txid" "Error: cannot resume follow mode: database exists but no -txid file found; delete the database to re-restore: $FO" "$ERR"

# ---- config mode ---------------------------------------------------------
DB=$T/data/app.db
cat >"$T/ls.yml" <<YML
dbs:
  - path: $DB
    replica:
      url: $U
YML
run "$B" restore -config "$T/ls.yml" "$DB"
check_eq "config mode restores to the db path" "$SHA_LATEST" "$(sha "$DB" 2>/dev/null)"
run "$B" restore -config "$T/ls.yml" -o "$T/cfg-out.db" -txid 0000000000000001 "$DB"
check_eq "config mode -o -txid" "$SHA_TXID1" "$(sha "$T/cfg-out.db" 2>/dev/null)"
run "$B" restore -config "$T/ls.yml" "$T/other.db"
check_eq "db not in config" "Error: database not found in config: $T/other.db" "$ERR"
run "$B" restore -config "$T/ls.yml" -if-db-not-exists "$DB"
check_eq "config mode -if-db-not-exists exits 0" 0 "$RC"

# ---- ltx -----------------------------------------------------------------
run "$B" ltx "$U"
EXPECTED="level  min_txid          max_txid          size  created
0      0000000000000001  0000000000000001  316   2023-11-14T22:13:20Z
0      0000000000000002  0000000000000002  180   2023-11-14T22:13:21Z"
check_eq "ltx (level 0) table" "$EXPECTED" "$OUT"
run "$B" ltx -level all "$U"
check_eq "ltx -level all rows" 4 "$(wc -l <<<"$OUT")"
check_eq "ltx -level all last row" "1      0000000000000001  0000000000000002  318   2023-11-14T22:13:21Z" "$(tail -1 <<<"$OUT")"
run "$B" ltx -json -level 1 "$U"
EXPECTED='[
  {
    "level": 1,
    "min_txid": "0000000000000001",
    "max_txid": "0000000000000002",
    "size": 318,
    "timestamp": "2023-11-14T22:13:21Z"
  }
]'
check_eq "ltx -json" "$EXPECTED" "$OUT"
run "$B" ltx -json -level 5 "$U"
check_eq "ltx -json empty level" "[]" "$OUT"
run "$B" ltx -config "$T/ls.yml" "$DB"
check_eq "ltx config mode" 3 "$(wc -l <<<"$OUT")"
run "$B" ltx -level 10 "$U"
check_eq "ltx -level 10 exits 1" 1 "$RC"
check "ltx -level 10 message" grep -q 'Error: invalid value "10" for flag -level: level must be between 0 and 9' "$T/stderr"
run "$B" ltx -level x "$U"
check "ltx -level x message" grep -q 'Error: invalid value "x" for flag -level: invalid level: must be 0-9 or "all"' "$T/stderr"
run "$B" ltx
check_eq "ltx without argument" "Error: database path or replica URL required
Try: litestream ltx /path/to/db" "$ERR"
run "$B" wal "$U"
check_eq "wal alias exits 0" 0 "$RC"
check "wal alias warns" grep -q "Warning: 'wal' command is deprecated, please use 'ltx' instead" "$T/stderr"

# ---- snapshots -----------------------------------------------------------
run "$B" snapshots "$U"
check_eq "snapshots: none yet" "txid  size  created" "$OUT"
mkdir -p "$R/ltx/9"
cp "$G/ltx-v3-synthetic-l1-$N12" "$R/ltx/9/$N12"
touch -d @1700000001 "$R/ltx/9/$N12"
run "$B" snapshots "$U"
EXPECTED="txid              size  created
0000000000000002  318   2023-11-14T22:13:21Z"
check_eq "snapshots table" "$EXPECTED" "$OUT"
run "$B" snapshots -json "$U"
check_eq "snapshots -json" '0000000000000002 0000000000000001 318 2023-11-14T22:13:21Z' \
  "$(jq -r '.[0] | "\(.txid) \(.min_txid) \(.size) \(.created_at)"' <<<"$OUT")"
run "$B" restore -dry-run -o "$T/x.db" "$U"
check "a level-9 snapshot is planned first" grep -q "^9      $N12" "$T/stdout"

finish
