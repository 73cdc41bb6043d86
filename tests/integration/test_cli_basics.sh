#!/usr/bin/env bash
# CLI dispatch, help and exit codes (spec 10.1), databases/status/reset.
source "$(dirname "$0")/lib.sh"
B=$LITESTREAM_BIN

out=$($B version); check "version prints a version" test -n "$out"
$B >/dev/null 2>&1 && rc=0 || rc=$?; check_eq "no command exits 1" 1 "$rc"
$B -h >/dev/null && rc=0 || rc=$?; check_eq "-h exits 0" 0 "$rc"
$B --help | grep -q "litestream <command>" && ok "--help prints usage" || bad "--help prints usage"
err=$($B frobnicate 2>&1 >/dev/null) && rc=0 || rc=$?
check_eq "unknown command exits 1" 1 "$rc"
check_eq "unknown command message" "Error: litestream frobnicate: unknown command" "$err"
for c in version replicate databases status reset; do
  $B $c -h >/dev/null && rc=0 || rc=$?; check_eq "$c -h exits 0" 0 "$rc"
  $B $c --help | grep -q "Usage:" && ok "$c --help prints usage" || bad "$c --help prints usage"
done
err=$($B status -nope 2>&1 >/dev/null) && rc=0 || rc=$?
check_eq "unknown flag exits 1" 1 "$rc"
echo "$err" | grep -q "flag provided but not defined: -nope" && ok "unknown flag message" || bad "unknown flag message: $err"

# databases / status / reset against a real config
mkdir -p "$T/data" "$T/replica"
sql "$T/data/app.db" "PRAGMA journal_mode=wal; CREATE TABLE x(a); INSERT INTO x VALUES(1);" >/dev/null
cat >"$T/ls.yml" <<YML
dbs:
  - path: $T/data/app.db
    replica:
      url: file://$T/replica
YML
out=$($B databases -config "$T/ls.yml")
echo "$out" | head -1 | grep -q "^path  *replica$" && ok "databases header" || bad "databases header: $out"
echo "$out" | grep -q "^$T/data/app.db  file$" && ok "databases row" || bad "databases row: $out"
out=$($B databases -config "$T/ls.yml" -json)
echo "$out" | grep -q "\"replica\": \"file\"" && ok "databases -json" || bad "databases -json: $out"
out=$($B status -config "$T/ls.yml")
echo "$out" | grep -q "not initialized" && ok "status before replication" || bad "status before replication: $out"
err=$($B databases -config "$T/missing.yml" 2>&1) && rc=0 || rc=$?
check_eq "missing config exits 1" 1 "$rc"
echo "$err" | grep -q "config file not found" && ok "missing config message" || bad "missing config message: $err"
printf 'dbs:\n  - path: /x\n    replica:\n      url: file:///r\n    bogus-key: 1\n' >"$T/bad.yml"
err=$($B databases -config "$T/bad.yml" 2>&1) && rc=0 || rc=$?
check_eq "unknown key exits 1" 1 "$rc"
echo "$err" | grep -q "bogus-key" && echo "$err" | grep -q "line 5" && ok "unknown key names key and line" || bad "unknown key message: $err"

out=$($B reset "$T/data/app.db")
echo "$out" | grep -q "No local state to reset" && ok "reset without state" || bad "reset without state: $out"
err=$($B reset 2>&1) && rc=0 || rc=$?
check_eq "reset without path exits 1" 1 "$rc"
echo "$err" | grep -q "database path required" && ok "reset usage error" || bad "reset usage error: $err"
finish
