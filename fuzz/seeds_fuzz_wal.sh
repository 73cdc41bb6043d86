#!/usr/bin/env bash
# Seeds for fuzz_wal: the golden WAL fixtures (when ../shared exists) and a
# small WAL written by the sqlite3 CLI (when installed).
set -euo pipefail
out=$1
here=$(cd "$(dirname "$0")/.." && pwd)
shared=${LS_SHARED_DIR:-$here/../shared}
for f in "$shared"/testdata/golden/wal-*.wal; do
  [ -f "$f" ] && cp "$f" "$out/"
done
if command -v sqlite3 >/dev/null 2>&1; then
  tmp=$(mktemp -d)
  # One session: the WAL exists only while the connection is open.
  printf '%s\n' "PRAGMA page_size=512;" "PRAGMA journal_mode=wal;" "PRAGMA wal_autocheckpoint=0;" \
    "CREATE TABLE t(x);" "INSERT INTO t VALUES (randomblob(300));" "INSERT INTO t VALUES (1);" \
    "UPDATE t SET x = 2;" ".shell cp $tmp/db-wal $out/sqlite-512.wal" |
    sqlite3 "$tmp/db" >/dev/null 2>&1 || true
  rm -rf "$tmp"
fi
chmod u+w "$out"/* 2>/dev/null || true
