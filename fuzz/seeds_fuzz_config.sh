#!/usr/bin/env bash
# Seeds for fuzz_config: small configuration files covering the key forms.
set -euo pipefail
out=$1
cat >"$out/file.yml" <<'Y'
dbs:
  - path: /data/app.db
    replica:
      url: file:///backups/app
      sync-interval: 1s
Y
cat >"$out/s3.yml" <<'Y'
access-key-id: $AWS_KEY
region: us-east-1
levels:
  - interval: 30s
  - interval: 5m
snapshot: {interval: 24h, retention: 48h}
dbs:
  - path: ~/db.sqlite
    replica:
      type: s3
      bucket: b
      path: p
      part-size: 5MiB
  - path: sqlite:///x.db
    replicas:
      - url: s3://b.s3.us-west-2.amazonaws.com/p?endpoint=localhost:9000&forcePathStyle=true
Y
cat >"$out/misc.yml" <<'Y'
x-r: &r {type: sftp, host: h, user: u}
socket: {enabled: true, permissions: 0600}
logging: {level: debug, type: json}
mcp-addr: ":3001"
mcp-restore-dirs: [/tmp]
dbs:
  - dir: /srv
    pattern: "*.db"
    meta-dir: /m
    replica:
      <<: *r
  - path: /n.db
    replica: {url: "nats://u:p@n:4222/b", client-cert: /c, client-key: /k}
Y
printf 'sftp://user:pw@host:22/x\n' >"$out/url.txt"
