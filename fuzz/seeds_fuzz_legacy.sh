#!/usr/bin/env bash
# Seeds for fuzz_legacy: the golden v0.3 replica (and generation A of the
# v3-replica fixture up to index 2) re-encoded in the target's record format
# (tag, u16le length, decoded data; the target compresses it again).
# Needs ../shared, python3 and the lz4 CLI; otherwise no seeds.
set -euo pipefail
out=$1
here=$(cd "$(dirname "$0")/.." && pwd)
shared=${LS_SHARED_DIR:-$here/../shared}
command -v python3 >/dev/null 2>&1 && command -v lz4 >/dev/null 2>&1 || exit 0
[ -d "$shared/testdata/golden/v03-replica" ] || exit 0
python3 - "$shared" "$out" <<'PY'
import os, re, struct, subprocess, sys
shared, out = sys.argv[1], sys.argv[2]
def records(gen_dir, max_index):
    recs = []
    for name in sorted(os.listdir(os.path.join(gen_dir, "snapshots"))):
        idx = int(name[:8], 16)
        if idx <= max_index:
            recs.append((0x80 | idx, os.path.join(gen_dir, "snapshots", name)))
            break
    for name in sorted(os.listdir(os.path.join(gen_dir, "wal"))):
        m = re.match(r"([0-9a-f]{8})_([0-9a-f]+)\.wal\.lz4$", name)
        if m and int(m.group(1), 16) <= max_index:
            recs.append((int(m.group(1), 16) & 0x0f, os.path.join(gen_dir, "wal", name)))
    blob = b""
    for tag, path in recs:
        data = subprocess.run(["lz4", "-dc", path], check=True, capture_output=True).stdout
        if len(data) > 0xffff:
            return None
        blob += struct.pack("<BH", tag, len(data)) + data
    return blob
gold = records(os.path.join(shared, "testdata/golden/v03-replica/generations/0000000000000000"), 15)
seeds = {"golden": gold}
a = os.path.join(shared, "testdata/v3-replica/replica/generations/dad4f3dffdd83a65")
if os.path.isdir(a):
    seeds["v3-A-2"] = records(a, 2)
for k, v in seeds.items():
    if v:
        open(os.path.join(out, "seed-" + k), "wb").write(v)
PY
