/* Unit tests for config/: loading, every key, defaults, propagation and
 * precedence, scalar syntax, validation and structural errors (code, key,
 * value and line), the supported-feature table, paths, URL mode, and
 * robustness against malformed or hostile YAML. */
#include "testlib.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "util/fs.h"
#include "util/log.h"

#define SEC INT64_C(1000000000)
#define MIN (60 * SEC)
#define HOUR (60 * MIN)

static ls_config *load_ok(const char *yaml) {
    ls_config *c = NULL;
    ls_err e;
    ls_code rc = ls_config_parse_string(yaml, "test.yml", true, &c, &e);
    if (rc != LS_OK) fail_msg("unexpected error %d: %s\n--- yaml ---\n%s", rc, e.msg, yaml);
    assert_non_null(c);
    return c;
}

/* Asserts LS_ERR_CONFIG, "config line <line>: " (line > 0) and every needle. */
static void expect_err_v(const char *yaml, bool expand, int line, va_list ap) {
    ls_config *c = (ls_config *)1;
    ls_err e;
    ls_code rc = ls_config_parse_string(yaml, "test.yml", expand, &c, &e);
    if (rc != LS_ERR_CONFIG) {
        if (rc == LS_OK) ls_config_free(c);
        fail_msg("expected LS_ERR_CONFIG, got %d (%s)\n--- yaml ---\n%s", rc, rc ? e.msg : "ok", yaml);
    }
    assert_null(c);
    if (line > 0) {
        char want[48];
        snprintf(want, sizeof(want), "config line %d: ", line);
        if (strncmp(e.msg, want, strlen(want)) != 0)
            fail_msg("message \"%s\" does not start with \"%s\"", e.msg, want);
    }
    const char *needle;
    while ((needle = va_arg(ap, const char *)) != NULL)
        if (!strstr(e.msg, needle)) fail_msg("message \"%s\" lacks \"%s\"", e.msg, needle);
}

static void expect_err(const char *yaml, int line, ...) {
    va_list ap;
    va_start(ap, line);
    expect_err_v(yaml, true, line, ap);
    va_end(ap);
}

/* ------------------------------------------------------------------------ */

static const char *FULL_CONFIG =
    "addr: \":9090\"\n"                                        /* 1 */
    "socket:\n"
    "  enabled: true\n"
    "  path: /tmp/ls.sock\n"
    "  permissions: 0660\n"                                    /* 5 */
    "levels:\n"
    "  - interval: 10s\n"
    "  - interval: 2m\n"
    "snapshot:\n"
    "  interval: 12h\n"                                        /* 10 */
    "  retention: 48h\n"
    "validation:\n"
    "  interval: 6h\n"
    "l0-retention: 10m\n"
    "l0-retention-check-interval: 30s\n"                       /* 15 */
    "verify-compaction: yes\n"
    "retention:\n"
    "  enabled: off\n"
    "heartbeat-url: https://hc.example.com/ping\n"
    "heartbeat-interval: 2m\n"                                 /* 20 */
    "exec: myapp -serve\n"
    "logging:\n"
    "  level: debug\n"
    "  type: json\n"
    "  stderr: true\n"                                         /* 25 */
    "  source: true\n"
    "mcp-addr: 127.0.0.1:3001\n"
    "shutdown-sync-timeout: 5s\n"
    "shutdown-sync-interval: 250ms\n"
    "mcp-read-only: true\n"                                    /* 30 */
    "mcp-token: tok123\n"
    "mcp-restore-dirs: [/srv/restore, /tmp/r2]\n"
    "sync-interval: 3s\n"
    "validation-interval: 1h\n"
    "max-sync-ltx-files: 64\n"                                 /* 35 */
    "auto-recover: true\n"
    "access-key-id: AKIAGLOBAL\n"
    "secret-access-key: globalsecret\n"
    "region: eu-west-1\n"
    "force-path-style: false\n"                                /* 40 */
    "sign-payload: true\n"
    "require-content-md5: true\n"
    "storage-class: STANDARD\n"
    "part-size: 8MiB\n"
    "concurrency: 4\n"                                         /* 45 */
    "account-name: globalacct\n"
    "user: globaluser\n"
    "key-path: /keys/id\n"
    "concurrent-writes: false\n"
    "jwt: gjwt\n"                                              /* 50 */
    "tls: true\n"
    "root-cas: [/ca/a.pem]\n"
    "max-reconnects: 5\n"
    "reconnect-wait: 3s\n"
    "timeout: 20s\n"                                           /* 55 */
    "dbs:\n"
    "  - path: /data/app.db\n"
    "    meta-path: /var/lib/meta0\n"
    "    monitor-interval: 2s\n"
    "    checkpoint-interval: 5m\n"                            /* 60 */
    "    busy-timeout: 3s\n"
    "    min-checkpoint-page-count: 500\n"
    "    truncate-page-n: 2000\n"
    "    max-sync-wal-bytes: 1048576\n"
    "    restore-if-db-not-exists: true\n"                     /* 65 */
    "    snapshot:\n"
    "      interval: 6h\n"
    "      retention: 24h\n"
    "    replica:\n"
    "      type: s3\n"                                         /* 70 */
    "      name: legacy\n"
    "      bucket: mybucket\n"
    "      path: backups/app\n"
    "      endpoint: https://s3.example.com\n"
    "      sync-interval: 7s\n"                                /* 75 */
    "      skip-verify: true\n"
    "      storage-class: GLACIER_IR\n"
    "      part-size: 16MB\n"
    "      concurrency: 8\n"
    "      sse-customer-algorithm: AES256\n"                   /* 80 */
    "      sse-customer-key: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
    "  - path: sqlite://relative.db\n"
    "    replicas:\n"
    "      - type: abs\n"
    "        bucket: container\n"                              /* 85 */
    "        path: p/q\n"
    "        account-key: akey\n"
    "        sas-token: sas\n"
    "  - path: /data/sftp.db\n"
    "    replica:\n"                                           /* 90 */
    "      type: sftp\n"
    "      host: backup.example.com\n"
    "      password: pw\n"
    "      host-key: ssh-ed25519 AAAA\n"
    "      path: /remote/dir\n"                                /* 95 */
    "  - path: /data/dav.db\n"
    "    replica:\n"
    "      type: webdav\n"
    "      webdav-url: https://dav.example.com\n"
    "      webdav-username: du\n"                              /* 100 */
    "      webdav-password: dp\n"
    "      path: /dav/app\n"
    "  - path: /data/nats.db\n"
    "    replica:\n"
    "      url: nats://nats.example.com:4222/natsbucket\n"     /* 105 */
    "      seed: sd\n"
    "      creds: /creds\n"
    "      nkey: nk\n"
    "      username: nu\n"
    "      token: nt\n"                                        /* 110 */
    "      client-cert: /c.pem\n"
    "      client-key: /k.pem\n"
    "  - path: /data/oss.db\n"
    "    replica:\n"
    "      type: oss\n"                                        /* 115 */
    "      bucket: ossb\n"
    "      path: o\n"
    "  - path: /data/gs.db\n"
    "    replica:\n"
    "      url: gs://gsbucket/g\n"                             /* 120 */
    "  - dir: /data/tenants\n"
    "    pattern: \"*.db\"\n"
    "    recursive: true\n"
    "    watch: true\n"
    "    meta-dir: /var/lib/tenant-meta\n"                     /* 125 */
    "    replica:\n"
    "      type: file\n"
    "      path: /backups/tenants\n"
    "      age:\n"
    "        identities: []\n"                                 /* 130 */
    "        recipients: []\n"
    "  - path: /data/ssec.db\n"
    "    replica:\n"
    "      type: s3\n"
    "      bucket: b2\n"                                       /* 135 */
    "      sse-kms-key-id: kms-1\n"
    "      validation-interval: 2h\n"
    "      auto-recover: false\n"
    "      max-sync-ltx-files: 0\n"
    "      force-path-style: true\n"                           /* 140 */
    "      sign-payload: false\n"
    "      require-content-md5: false\n"
    "      access-key-id: AKIALOCAL\n"
    "      secret-access-key: localsecret\n"
    "      region: us-east-2\n";                               /* 145 */

static void test_full_config(void **state) {
    (void)state;
    ls_config *c = load_ok(FULL_CONFIG);
    assert_string_equal(c->source, "test.yml");
    assert_string_equal(c->addr.v, ":9090");
    assert_int_equal(c->addr.line, 1);
    assert_true(c->socket_enabled.v);
    assert_string_equal(c->socket_path.v, "/tmp/ls.sock");
    assert_int_equal(c->socket_permissions.v, 0660);
    assert_int_equal(c->socket_permissions.line, 5);
    assert_int_equal(c->nlevels, 2);
    assert_true(c->levels_set);
    assert_int_equal(c->levels[0].interval, 10 * SEC);
    assert_int_equal(c->levels[1].interval, 2 * MIN);
    assert_int_equal(c->levels[1].line, 8);
    assert_int_equal(c->snapshot_interval.v, 12 * HOUR);
    assert_int_equal(c->snapshot_retention.v, 48 * HOUR);
    assert_true(c->validation_interval.set);
    assert_int_equal(c->validation_interval.v, 6 * HOUR);
    assert_int_equal(c->l0_retention.v, 10 * MIN);
    assert_int_equal(c->l0_retention_check_interval.v, 30 * SEC);
    assert_true(c->verify_compaction.v);
    assert_false(c->retention_enabled.v);
    assert_true(c->retention_enabled.set);
    assert_string_equal(c->heartbeat_url.v, "https://hc.example.com/ping");
    assert_int_equal(c->heartbeat_interval.v, 2 * MIN);
    assert_string_equal(c->exec.v, "myapp -serve");
    assert_string_equal(c->logging_level.v, "debug");
    assert_string_equal(c->logging_type.v, "json");
    assert_true(c->logging_stderr.v);
    assert_true(c->logging_source.v);
    assert_string_equal(c->mcp_addr.v, "127.0.0.1:3001");
    assert_int_equal(c->shutdown_sync_timeout.v, 5 * SEC);
    assert_int_equal(c->shutdown_sync_interval.v, 250 * INT64_C(1000000));
    assert_true(c->mcp_read_only.v);
    assert_string_equal(c->mcp_token.v, "tok123");
    assert_int_equal(c->mcp_restore_dirs.n, 2);
    assert_string_equal(c->mcp_restore_dirs.v[0], "/srv/restore");
    assert_string_equal(c->mcp_restore_dirs.v[1], "/tmp/r2");
    assert_int_equal(c->replica_defaults.sync_interval.v, 3 * SEC);
    assert_int_equal(c->replica_defaults.part_size.v, 8 * 1024 * 1024);
    assert_int_equal(c->replica_defaults.sync_interval.line, 33);
    assert_int_equal(c->ndbs, 9);

    /* db0: every db key, s3 replica by keys */
    const ls_db_config *d = &c->dbs[0];
    assert_string_equal(d->path, "/data/app.db");
    assert_int_equal(d->line, 57);
    assert_string_equal(d->meta_path.v, "/var/lib/meta0");
    assert_int_equal(d->monitor_interval.v, 2 * SEC);
    assert_int_equal(d->checkpoint_interval.v, 5 * MIN);
    assert_int_equal(d->busy_timeout.v, 3 * SEC);
    assert_int_equal(d->min_checkpoint_page_count.v, 500);
    assert_int_equal(d->truncate_page_n.v, 2000);
    assert_int_equal(d->max_sync_wal_bytes.v, 1048576);
    assert_true(d->restore_if_db_not_exists.v);
    assert_int_equal(d->snapshot_interval.v, 6 * HOUR);
    assert_int_equal(d->snapshot_retention.v, 24 * HOUR);
    char *meta = ls_config_db_meta_path(d);
    assert_string_equal(meta, "/var/lib/meta0");
    free(meta);
    const ls_replica_config *r = d->replica;
    assert_false(d->replica_from_list);
    assert_string_equal(r->field, "dbs[0].replica");
    assert_string_equal(r->name.v, "legacy");
    const ls_replica_client_cfg *k = &r->client;
    assert_int_equal(k->type, LS_REPLICA_S3);
    assert_null(k->url);
    assert_string_equal(k->bucket, "mybucket");
    assert_string_equal(k->path, "backups/app");
    assert_string_equal(k->endpoint, "https://s3.example.com");
    assert_string_equal(k->region, "eu-west-1");               /* propagated */
    assert_string_equal(k->access_key_id, "AKIAGLOBAL");       /* propagated */
    assert_string_equal(k->secret_access_key, "globalsecret");
    assert_false(k->force_path_style);                         /* global explicit false wins over implied */
    assert_true(k->skip_verify);
    assert_true(k->sign_payload);
    assert_true(k->require_content_md5);
    assert_string_equal(k->storage_class, "GLACIER_IR");
    assert_int_equal(k->part_size, 16000000);                  /* replica value; global not propagated */
    assert_int_equal(k->concurrency, 8);
    assert_string_equal(k->sse_customer_algorithm, "AES256");
    assert_string_equal(k->sse_customer_key, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    assert_int_equal(k->sync_interval, 7 * SEC);
    assert_int_equal(k->validation_interval, 1 * HOUR);        /* propagated */
    assert_int_equal(k->max_sync_ltx_files, 64);               /* propagated */
    assert_true(k->auto_recover);                              /* propagated */

    /* db1: sqlite:// stripped, made absolute; deprecated replicas list */
    d = &c->dbs[1];
    char *cwd = getcwd(NULL, 0);
    char *want = ls_strfmt("%s/relative.db", cwd);
    assert_string_equal(d->path, want);
    free(want);
    free(cwd);
    assert_true(d->replica_from_list);
    assert_string_equal(d->replica->field, "dbs[1].replicas[0]");
    k = &d->replica->client;
    assert_int_equal(k->type, LS_REPLICA_ABS);
    assert_string_equal(k->bucket, "container");
    assert_string_equal(k->path, "p/q");
    assert_string_equal(k->account_name, "globalacct");
    assert_string_equal(k->account_key, "akey");
    assert_string_equal(k->sas_token, "sas");

    /* db2: sftp by keys; user propagated; port 22 added */
    k = &c->dbs[2].replica->client;
    assert_int_equal(k->type, LS_REPLICA_SFTP);
    assert_string_equal(k->host, "backup.example.com:22");
    assert_string_equal(k->user, "globaluser");
    assert_string_equal(k->password, "pw");
    assert_string_equal(k->key_path, "/keys/id");
    assert_string_equal(k->host_key, "ssh-ed25519 AAAA");
    assert_string_equal(k->path, "/remote/dir");
    assert_false(k->concurrent_writes);                        /* propagated false */

    /* db3: webdav */
    k = &c->dbs[3].replica->client;
    assert_int_equal(k->type, LS_REPLICA_WEBDAV);
    assert_string_equal(k->webdav_url, "https://dav.example.com");
    assert_string_equal(k->webdav_username, "du");
    assert_string_equal(k->webdav_password, "dp");
    assert_string_equal(k->path, "/dav/app");

    /* db4: nats from URL with every auth key */
    k = &c->dbs[4].replica->client;
    assert_int_equal(k->type, LS_REPLICA_NATS);
    assert_string_equal(k->url, "nats://nats.example.com:4222/natsbucket");
    assert_string_equal(k->nats_url, "nats://nats.example.com:4222");
    assert_string_equal(k->bucket, "natsbucket");
    assert_string_equal(k->jwt, "gjwt");
    assert_string_equal(k->seed, "sd");
    assert_string_equal(k->creds, "/creds");
    assert_string_equal(k->nkey, "nk");
    assert_string_equal(k->username, "nu");
    assert_string_equal(k->token, "nt");
    assert_true(k->tls);
    assert_int_equal(k->n_root_cas, 1);
    assert_string_equal(k->root_cas[0], "/ca/a.pem");
    assert_string_equal(k->client_cert, "/c.pem");
    assert_string_equal(k->client_key, "/k.pem");
    assert_int_equal(k->max_reconnects, 5);
    assert_int_equal(k->reconnect_wait, 3 * SEC);
    assert_int_equal(k->timeout, 20 * SEC);

    /* db5: oss; default region */
    k = &c->dbs[5].replica->client;
    assert_int_equal(k->type, LS_REPLICA_OSS);
    assert_string_equal(k->bucket, "ossb");
    assert_string_equal(k->path, "o");
    assert_string_equal(k->region, "eu-west-1"); /* propagated global region */

    /* db6: gs url */
    k = &c->dbs[6].replica->client;
    assert_int_equal(k->type, LS_REPLICA_GS);
    assert_string_equal(k->bucket, "gsbucket");
    assert_string_equal(k->path, "g");

    /* db7: directory entry */
    d = &c->dbs[7];
    assert_null(d->path);
    assert_string_equal(d->dir, "/data/tenants");
    assert_string_equal(d->pattern.v, "*.db");
    assert_true(d->recursive.v);
    assert_true(d->watch.v);
    assert_string_equal(d->meta_dir.v, "/var/lib/tenant-meta");
    assert_null(ls_config_db_meta_path(d));
    meta = ls_config_dir_entry_meta_path(d, "a/b.db");
    assert_string_equal(meta, "/var/lib/tenant-meta/a/b.db-litestream");
    free(meta);
    assert_int_equal(d->replica->client.type, LS_REPLICA_FILE);
    assert_string_equal(d->replica->client.path, "/backups/tenants");

    /* db8: explicit replica values beat globals */
    k = &c->dbs[8].replica->client;
    assert_string_equal(k->sse_kms_key_id, "kms-1");
    assert_null(k->sse_customer_key);
    assert_int_equal(k->validation_interval, 2 * HOUR);
    assert_false(k->auto_recover);
    assert_int_equal(k->max_sync_ltx_files, 0);
    assert_true(k->force_path_style);
    assert_false(k->sign_payload);
    assert_false(k->require_content_md5);
    assert_string_equal(k->access_key_id, "AKIALOCAL");
    assert_string_equal(k->region, "us-east-2");
    assert_int_equal(k->part_size, 0); /* global part-size is not propagated */
    assert_int_equal(k->concurrency, 0);

    assert_ptr_equal(ls_config_find_db(c, "/data/app.db"), &c->dbs[0]);
    assert_ptr_equal(ls_config_find_db(c, "sqlite:///data/gs.db"), &c->dbs[6]);
    assert_ptr_equal(ls_config_find_db(c, "/data/../data/sftp.db"), &c->dbs[2]);
    assert_null(ls_config_find_db(c, "/data/tenants"));
    assert_null(ls_config_find_db(c, "/nope.db"));
    ls_config_free(c);
}

static void test_defaults(void **state) {
    (void)state;
    ls_config *c = load_ok("dbs:\n  - path: /tmp/d.db\n    replica:\n      path: /tmp/backup\n");
    assert_null(c->addr.v);
    assert_false(c->socket_enabled.v);
    assert_false(c->socket_enabled.set);
    assert_string_equal(c->socket_path.v, "/var/run/litestream.sock");
    assert_int_equal(c->socket_permissions.v, 0600);
    assert_int_equal(c->nlevels, 3);
    assert_false(c->levels_set);
    assert_int_equal(c->levels[0].interval, 30 * SEC);
    assert_int_equal(c->levels[1].interval, 5 * MIN);
    assert_int_equal(c->levels[2].interval, 1 * HOUR);
    assert_int_equal(c->snapshot_interval.v, 24 * HOUR);
    assert_int_equal(c->snapshot_retention.v, 24 * HOUR);
    assert_false(c->snapshot_interval.set);
    assert_false(c->validation_interval.set);
    assert_int_equal(c->validation_interval.v, 0);
    assert_int_equal(c->l0_retention.v, 5 * MIN);
    assert_int_equal(c->l0_retention_check_interval.v, 15 * SEC);
    assert_false(c->verify_compaction.v);
    assert_true(c->retention_enabled.v);
    assert_null(c->heartbeat_url.v);
    assert_int_equal(c->heartbeat_interval.v, 5 * MIN);
    assert_null(c->exec.v);
    assert_string_equal(c->logging_level.v, "INFO");
    assert_string_equal(c->logging_type.v, "text");
    assert_false(c->logging_stderr.v);
    assert_false(c->logging_source.v);
    assert_null(c->mcp_addr.v);
    assert_int_equal(c->shutdown_sync_timeout.v, 30 * SEC);
    assert_int_equal(c->shutdown_sync_interval.v, 500 * INT64_C(1000000));
    assert_false(c->mcp_read_only.v);
    assert_null(c->mcp_token.v);
    assert_int_equal(c->mcp_restore_dirs.n, 0);

    const ls_db_config *d = &c->dbs[0];
    assert_int_equal(d->monitor_interval.v, 1 * SEC);
    assert_int_equal(d->checkpoint_interval.v, 1 * MIN);
    assert_int_equal(d->busy_timeout.v, 1 * SEC);
    assert_int_equal(d->min_checkpoint_page_count.v, 1000);
    assert_int_equal(d->truncate_page_n.v, 121359);
    assert_int_equal(d->max_sync_wal_bytes.v, 67108864);
    assert_false(d->restore_if_db_not_exists.v);
    assert_false(d->monitor_interval.set);
    char *meta = ls_config_db_meta_path(d);
    assert_string_equal(meta, "/tmp/.d.db-litestream");
    free(meta);

    const ls_replica_client_cfg *k = &d->replica->client;
    assert_int_equal(k->type, LS_REPLICA_FILE); /* no type, no url -> file */
    assert_string_equal(k->path, "/tmp/backup");
    assert_int_equal(k->sync_interval, 1 * SEC);
    assert_int_equal(k->validation_interval, 0);
    assert_int_equal(k->max_sync_ltx_files, 256);
    assert_false(k->auto_recover);
    ls_config_free(c);

    /* empty documents, null sections and an empty dbs list are valid */
    const char *empties[] = {"", "# only a comment\n", "---\n", "~\n", "dbs:\n", "dbs: []\n",
                             "snapshot:\nlogging:\nsocket:\n", "levels:\n"};
    for (size_t i = 0; i < sizeof(empties) / sizeof(empties[0]); i++) {
        c = load_ok(empties[i]);
        assert_int_equal(c->ndbs, 0);
        assert_int_equal(c->snapshot_interval.v, 24 * HOUR);
        assert_int_equal(c->nlevels, 3);
        ls_config_free(c);
    }
    c = load_ok("levels: []\n");
    assert_int_equal(c->nlevels, 0); /* explicit empty list: only L0 */
    assert_true(c->levels_set);
    ls_config_free(c);
    c = load_ok("snapshot:\n  interval: 1h\n");
    assert_int_equal(c->snapshot_interval.v, 1 * HOUR);
    assert_int_equal(c->snapshot_retention.v, 24 * HOUR); /* omitted sub-key keeps default */
    ls_config_free(c);

    ls_config *dc;
    ls_err e;
    assert_int_equal(ls_config_default(&dc, &e), LS_OK);
    assert_int_equal(dc->ndbs, 0);
    assert_int_equal(dc->nlevels, 3);
    ls_config_free(dc);
}

static void test_snapshot_promotion(void **state) {
    (void)state;
    ls_config *c = load_ok("dbs:\n"
                           "  - path: /a.db\n"
                           "    snapshot: {interval: 2h}\n"
                           "    replica: {path: /b}\n"
                           "  - path: /c.db\n"
                           "    snapshot: {interval: 2h, retention: 72h}\n"
                           "    replica: {path: /d}\n");
    assert_int_equal(c->snapshot_interval.v, 2 * HOUR);
    assert_int_equal(c->snapshot_retention.v, 72 * HOUR);
    assert_false(c->snapshot_interval.set);
    ls_config_free(c);
    /* a global value wins over database values */
    c = load_ok("snapshot: {interval: 4h}\n"
                "dbs:\n  - path: /a.db\n    snapshot: {interval: 2h}\n    replica: {path: /b}\n");
    assert_int_equal(c->snapshot_interval.v, 4 * HOUR);
    ls_config_free(c);
    expect_err("dbs:\n"
               "  - path: /a.db\n"
               "    snapshot: {interval: 2h}\n"
               "    replica: {path: /b}\n"
               "  - path: /c.db\n"
               "    snapshot: {interval: 3h}\n"
               "    replica: {path: /d}\n",
               6, "conflicting database snapshot intervals: /a.db has 2h0m0s, /c.db has 3h0m0s", NULL);
    expect_err("dbs:\n"
               "  - path: /a.db\n"
               "    snapshot: {retention: 2h}\n"
               "    replica: {path: /b}\n"
               "  - path: /c.db\n"
               "    snapshot: {retention: 3h}\n"
               "    replica: {path: /d}\n",
               6, "conflicting database snapshot retentions", NULL);
}

static void test_propagation(void **state) {
    (void)state;
    /* skip-verify: only a global true propagates */
    ls_config *c = load_ok("skip-verify: false\n"
                           "dbs:\n  - path: /a.db\n    replica: {type: s3, bucket: b, skip-verify: true}\n"
                           "  - path: /c.db\n    replica: {type: s3, bucket: b}\n");
    assert_true(c->dbs[0].replica->client.skip_verify);
    assert_false(c->dbs[1].replica->client.skip_verify);
    ls_config_free(c);
    c = load_ok("skip-verify: true\n"
                "dbs:\n  - path: /a.db\n    replica: {type: s3, bucket: b, skip-verify: false}\n");
    assert_true(c->dbs[0].replica->client.skip_verify); /* global true overrides */
    ls_config_free(c);

    /* not propagated: part-size, concurrency, host-key, webdav-* */
    c = load_ok("part-size: 10MiB\nconcurrency: 9\nhost-key: hk\nwebdav-url: https://w\n"
                "webdav-username: wu\nwebdav-password: wp\nhost: h\nuser: u\npassword: p\n"
                "dbs:\n"
                "  - path: /a.db\n    replica: {type: s3, bucket: b}\n"
                "  - path: /c.db\n    replica: {type: sftp}\n"
                "  - path: /e.db\n    replica: {type: webdav, webdav-url: https://x}\n");
    assert_int_equal(c->dbs[0].replica->client.part_size, 0);
    assert_int_equal(c->dbs[0].replica->client.concurrency, 0);
    assert_null(c->dbs[1].replica->client.host_key);
    assert_string_equal(c->dbs[1].replica->client.host, "h:22");
    assert_string_equal(c->dbs[1].replica->client.user, "u");
    assert_string_equal(c->dbs[1].replica->client.password, "p");
    assert_null(c->dbs[2].replica->client.webdav_username);
    ls_config_free(c);
    expect_err("dbs:\n  - path: /e.db\n    replica: {type: webdav}\nwebdav-url: https://x\n", 3,
               "webdav-url required for webdav replica", NULL);

    /* NATS timing keys propagate */
    c = load_ok("max-reconnects: 3\nreconnect-wait: 1s\ntimeout: 4s\ntls: false\n"
                "dbs:\n  - path: /a.db\n    replica: {url: \"nats://n/b\"}\n");
    assert_int_equal(c->dbs[0].replica->client.max_reconnects, 3);
    assert_int_equal(c->dbs[0].replica->client.reconnect_wait, 1 * SEC);
    assert_int_equal(c->dbs[0].replica->client.timeout, 4 * SEC);
    assert_false(c->dbs[0].replica->client.tls);
    ls_config_free(c);
    c = load_ok("dbs:\n  - path: /a.db\n    replica: {url: \"nats://n/b\"}\n");
    assert_int_equal(c->dbs[0].replica->client.max_reconnects, -1);
    assert_int_equal(c->dbs[0].replica->client.reconnect_wait, 2 * SEC);
    assert_int_equal(c->dbs[0].replica->client.timeout, 10 * SEC);
    ls_config_free(c);

    /* quirk: a global bucket breaks url-based s3/gs/abs/oss replicas */
    const char *types[] = {"s3://x/p", "gs://x/p", "abs://x/p", "oss://x/p"};
    const char *names[] = {"s3", "gs", "abs", "oss"};
    for (int i = 0; i < 4; i++) {
        char y[256], want[64];
        snprintf(y, sizeof(y), "bucket: globalb\ndbs:\n  - path: /a.db\n    replica:\n      url: %s\n",
                 types[i]);
        snprintf(want, sizeof(want), "cannot specify url & bucket for %s replica", names[i]);
        expect_err(y, 5, "dbs[0].replica", want, "line 1", NULL);
    }
    /* and a global host breaks url-based sftp replicas */
    expect_err("host: h\ndbs:\n  - path: /a.db\n    replica:\n      url: sftp://u@x/p\n", 5,
               "cannot specify url & host for sftp replica", NULL);
    /* path is never propagated: it is not a top-level key at all */
    expect_err("path: /x\n", 1, "unknown key \"path\"", "only valid inside a replica entry", NULL);
    expect_err("url: s3://x\n", 1, "unknown key \"url\"", NULL);
}

static void test_s3_precedence(void **state) {
    (void)state;
    ls_config *c;
    /* region / endpoint / storage-class from config win over the URL */
    c = load_ok("dbs:\n  - path: /a.db\n    replica:\n"
                "      url: s3://b.s3.us-west-2.amazonaws.com/p?storageClass=X&endpoint=minio:9000\n"
                "      region: eu-central-1\n      endpoint: https://e.example.com\n"
                "      storage-class: Y\n");
    const ls_replica_client_cfg *k = &c->dbs[0].replica->client;
    assert_string_equal(k->bucket, "b");
    assert_string_equal(k->path, "p");
    assert_string_equal(k->region, "eu-central-1");
    assert_string_equal(k->endpoint, "https://e.example.com");
    assert_string_equal(k->storage_class, "Y");
    assert_true(k->force_path_style); /* implied by the config endpoint */
    assert_string_equal(k->url, "s3://b.s3.us-west-2.amazonaws.com/p?storageClass=X&endpoint=minio:9000");
    ls_config_free(c);

    /* URL values fill unset config values */
    c = load_ok("dbs:\n  - path: /a.db\n    replica:\n"
                "      url: s3://b/p?region=ap-1&storageClass=X&partSize=6000000&concurrency=2\n");
    k = &c->dbs[0].replica->client;
    assert_string_equal(k->region, "ap-1");
    assert_string_equal(k->storage_class, "X");
    assert_int_equal(k->part_size, 6000000);
    assert_int_equal(k->concurrency, 2);
    assert_null(k->endpoint);
    assert_false(k->force_path_style);
    ls_config_free(c);

    /* explicit config false does not override a URL true */
    c = load_ok("dbs:\n  - path: /a.db\n    replica:\n"
                "      url: s3://b/p?forcePathStyle=true\n      force-path-style: false\n");
    assert_true(c->dbs[0].replica->client.force_path_style);
    ls_config_free(c);
    /* config true wins over URL false */
    c = load_ok("dbs:\n  - path: /a.db\n    replica:\n"
                "      url: s3://b/p?endpoint=x.example.com&forcePathStyle=false\n      force-path-style: true\n");
    assert_true(c->dbs[0].replica->client.force_path_style);
    assert_string_equal(c->dbs[0].replica->client.endpoint, "https://x.example.com");
    ls_config_free(c);

    /* sign-payload / require-content-md5: config wins, else URL, else true */
    c = load_ok("dbs:\n  - path: /a.db\n    replica:\n"
                "      url: s3://b/p?signPayload=false&requireContentMD5=false\n"
                "      sign-payload: true\n");
    assert_true(c->dbs[0].replica->client.sign_payload);
    assert_false(c->dbs[0].replica->client.require_content_md5);
    ls_config_free(c);

    /* part-size / concurrency: config overrides URL */
    c = load_ok("dbs:\n  - path: /a.db\n    replica:\n"
                "      url: s3://b/p?partSize=6000000&concurrency=2\n"
                "      part-size: 5MiB\n      concurrency: 7\n");
    assert_int_equal(c->dbs[0].replica->client.part_size, 5242880);
    assert_int_equal(c->dbs[0].replica->client.concurrency, 7);
    ls_config_free(c);

    /* skip-verify from the URL overrides the config */
    c = load_ok("dbs:\n  - path: /a.db\n    replica:\n      url: s3://b/p?skipVerify=true\n");
    assert_true(c->dbs[0].replica->client.skip_verify);
    ls_config_free(c);

    /* provider defaults */
    c = load_ok("dbs:\n  - path: /a.db\n    replica:\n      type: s3\n      bucket: b\n"
                "      endpoint: https://fly.storage.tigris.dev\n");
    assert_true(c->dbs[0].replica->client.sign_payload);
    assert_false(c->dbs[0].replica->client.require_content_md5);
    ls_config_free(c);
    c = load_ok("dbs:\n  - path: /a.db\n    replica:\n      type: s3\n      bucket: b\n"
                "      endpoint: https://fly.storage.tigris.dev\n      require-content-md5: true\n");
    assert_true(c->dbs[0].replica->client.require_content_md5);
    ls_config_free(c);
    c = load_ok("dbs:\n  - path: /a.db\n    replica:\n      type: s3\n      bucket: b\n"
                "      endpoint: https://acct.r2.cloudflarestorage.com\n");
    assert_int_equal(c->dbs[0].replica->client.concurrency, 2);
    ls_config_free(c);
    c = load_ok("dbs:\n  - path: /a.db\n    replica:\n      url: s3://b.s3.filebase.com/p\n");
    assert_true(c->dbs[0].replica->client.force_path_style);
    assert_string_equal(c->dbs[0].replica->client.endpoint, "https://s3.filebase.com");
    ls_config_free(c);
    c = load_ok("dbs:\n  - path: /a.db\n    replica:\n      url: s3://b.minio:9000/p\n"
                "      force-path-style: false\n");
    assert_true(c->dbs[0].replica->client.force_path_style); /* config false does not beat URL true */
    ls_config_free(c);
    c = load_ok("dbs:\n  - path: /a.db\n    replica:\n      type: s3\n      bucket: b\n"
                "      endpoint: http://minio:9000\n      force-path-style: false\n");
    assert_false(c->dbs[0].replica->client.force_path_style); /* explicit: MinIO default not forced */
    ls_config_free(c);
    c = load_ok("dbs:\n  - path: /a.db\n    replica:\n      type: s3\n      bucket: b\n"
                "      endpoint: http://minio:9000\n");
    assert_true(c->dbs[0].replica->client.force_path_style);
    assert_string_equal(c->dbs[0].replica->client.endpoint, "http://minio:9000");
    ls_config_free(c);
    /* endpoint without scheme from the config gets https:// */
    c = load_ok("dbs:\n  - path: /a.db\n    replica: {type: s3, bucket: b, endpoint: \"localhost:9000\"}\n");
    assert_string_equal(c->dbs[0].replica->client.endpoint, "https://localhost:9000");
    assert_true(c->dbs[0].replica->client.force_path_style);
    ls_config_free(c);
    /* access point */
    c = load_ok("dbs:\n  - path: /a.db\n    replica:\n"
                "      url: s3://arn:aws:s3:us-east-2:123:accesspoint/ap/pre\n");
    assert_string_equal(c->dbs[0].replica->client.bucket, "arn:aws:s3:us-east-2:123:accesspoint/ap");
    assert_string_equal(c->dbs[0].replica->client.region, "us-east-2");
    assert_string_equal(c->dbs[0].replica->client.path, "pre");
    ls_config_free(c);
    /* s3://bucket keeps the "." path quirk */
    c = load_ok("dbs:\n  - path: /a.db\n    replica: {url: \"s3://bucket\"}\n");
    assert_string_equal(c->dbs[0].replica->client.path, ".");
    ls_config_free(c);
}

static void test_other_backends_resolution(void **state) {
    (void)state;
    ls_config *c = load_ok(
        "dbs:\n"
        "  - path: /a.db\n    replica: {url: \"sftp://bob:pw@host.example.com:2222/srv/bk\"}\n"
        "  - path: /b.db\n    replica: {url: \"webdavs://u:p@dav.example.com/dav\"}\n"
        "  - path: /c.db\n    replica: {url: \"abs://acct@ctr/pre\", account-name: other}\n"
        "  - path: /d.db\n    replica: {url: \"oss://ob.oss-cn-beijing.aliyuncs.com/x\"}\n"
        "  - path: /e.db\n    replica: {url: \"file:///srv/backups/e\"}\n"
        "  - path: /f.db\n    replica: {url: \"nats://u:p@n:4222/nb\", path: ignored}\n"
        "  - path: /g.db\n    replica: {type: nats, bucket: kb}\n"
        "  - path: /h.db\n    replica: {type: file, path: \"~/bk\"}\n");
    const ls_replica_client_cfg *k = &c->dbs[0].replica->client;
    assert_string_equal(k->host, "host.example.com:2222");
    assert_string_equal(k->user, "bob");
    assert_string_equal(k->password, "pw");
    assert_string_equal(k->path, "/srv/bk");
    assert_true(k->concurrent_writes);
    k = &c->dbs[1].replica->client;
    assert_int_equal(k->type, LS_REPLICA_WEBDAV);
    assert_string_equal(k->webdav_url, "https://dav.example.com");
    assert_string_equal(k->webdav_username, "u");
    assert_string_equal(k->webdav_password, "p");
    assert_string_equal(k->path, "/dav");
    k = &c->dbs[2].replica->client;
    assert_string_equal(k->account_name, "other"); /* config wins */
    assert_string_equal(k->bucket, "ctr");
    assert_string_equal(k->path, "pre");
    k = &c->dbs[3].replica->client;
    assert_string_equal(k->bucket, "ob");
    assert_string_equal(k->region, "cn-beijing");
    k = &c->dbs[4].replica->client;
    assert_int_equal(k->type, LS_REPLICA_FILE);
    assert_string_equal(k->path, "/srv/backups/e");
    k = &c->dbs[5].replica->client;
    assert_string_equal(k->bucket, "nb");
    assert_string_equal(k->username, "u"); /* URL userinfo fallback */
    assert_string_equal(k->path, "");
    k = &c->dbs[6].replica->client;
    assert_string_equal(k->bucket, "kb");
    assert_null(k->nats_url);
    k = &c->dbs[7].replica->client;
    const char *home = getenv("HOME");
    if (home && *home) {
        char *want = ls_strfmt("%s/bk", home);
        assert_string_equal(k->path, want);
        free(want);
    }
    ls_config_free(c);
    c = load_ok("dbs:\n  - path: /a.db\n    replica: {type: oss, bucket: b}\n");
    assert_string_equal(c->dbs[0].replica->client.region, "cn-hangzhou");
    ls_config_free(c);
}

static void test_scalar_syntax(void **state) {
    (void)state;
    struct {
        const char *v;
        int64_t ns;
    } durs[] = {
        {"1000", 1000},       {"0", 0},                  {"1s", SEC},       {"\"5m\"", 5 * MIN},
        {"1h30m", 90 * MIN},  {"500ms", 500000000},      {"1.5s", 1500000000}, {"'2h'", 2 * HOUR},
        {"0x10", 16},         {"1_000_000_000", SEC},    {"1e9", SEC},      {"10us", 10000},
        {"3ns", 3},           {"2h45m0.5s", 2 * HOUR + 45 * MIN + 500000000},
    };
    for (size_t i = 0; i < sizeof(durs) / sizeof(durs[0]); i++) {
        char y[128];
        snprintf(y, sizeof(y), "l0-retention: %s\n", durs[i].v);
        ls_config *c = load_ok(y);
        if (c->l0_retention.v != durs[i].ns)
            fail_msg("%s -> %lld, want %lld", durs[i].v, (long long)c->l0_retention.v, (long long)durs[i].ns);
        ls_config_free(c);
    }
    const char *bad_durs[] = {"1x", "\"1000\"", "true", "1d", "5 m", "1.5", "\"\"", "1e400", "0.5"};
    for (size_t i = 0; i < sizeof(bad_durs) / sizeof(bad_durs[0]); i++) {
        char y[128];
        snprintf(y, sizeof(y), "# c\nl0-retention: %s\n", bad_durs[i]);
        expect_err(y, 2, "l0-retention: invalid duration", NULL);
    }

    struct {
        const char *v;
        int64_t want;
    } perms[] = {{"0600", 384}, {"600", 600}, {"0o600", 384}, {"0x180", 384}, {"0800", 800}, {"0", 0}};
    for (size_t i = 0; i < sizeof(perms) / sizeof(perms[0]); i++) {
        char y[128];
        snprintf(y, sizeof(y), "socket:\n  permissions: %s\n", perms[i].v);
        ls_config *c = load_ok(y);
        if (c->socket_permissions.v != perms[i].want)
            fail_msg("%s -> %lld", perms[i].v, (long long)c->socket_permissions.v);
        ls_config_free(c);
    }
    expect_err("socket:\n  permissions: -1\n", 2, "socket.permissions", "out of range", NULL);
    expect_err("socket:\n  permissions: 4294967296\n", 2, "out of range", NULL);
    expect_err("socket:\n  permissions: \"0600\"\n", 2, "socket.permissions: invalid integer \"0600\"",
               "quoted", NULL);
    expect_err("socket:\n  permissions: 1.5\n", 2, "invalid integer \"1.5\"", NULL);
    expect_err("dbs:\n  - path: /a\n    truncate-page-n: 99999999999999999999\n    replica: {path: /b}\n",
               3, "dbs[0].truncate-page-n", "out of range", NULL);

    const char *trues[] = {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", "y", "Y"};
    for (size_t i = 0; i < sizeof(trues) / sizeof(trues[0]); i++) {
        char y[64];
        snprintf(y, sizeof(y), "verify-compaction: %s\n", trues[i]);
        ls_config *c = load_ok(y);
        assert_true(c->verify_compaction.v);
        ls_config_free(c);
    }
    const char *falses[] = {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", "n", "N"};
    for (size_t i = 0; i < sizeof(falses) / sizeof(falses[0]); i++) {
        char y[64];
        snprintf(y, sizeof(y), "retention:\n  enabled: %s\n", falses[i]);
        ls_config *c = load_ok(y);
        assert_false(c->retention_enabled.v);
        assert_true(c->retention_enabled.set);
        ls_config_free(c);
    }
    expect_err("verify-compaction: yEs\n", 1, "verify-compaction: invalid boolean \"yEs\"", NULL);
    expect_err("verify-compaction: 1\n", 1, "invalid boolean \"1\"", NULL);
    expect_err("verify-compaction: \"true\"\n", 1, "invalid boolean \"true\"", "unquoted", NULL);

    /* strings accept any scalar text */
    ls_config *c = load_ok("exec: 12345\nmcp-token: yes\nmcp-addr: :3001\n");
    assert_string_equal(c->exec.v, "12345");
    assert_string_equal(c->mcp_token.v, "yes");
    assert_string_equal(c->mcp_addr.v, ":3001");
    ls_config_free(c);
    c = load_ok("exec: \"\"\n");
    assert_true(c->exec.set);
    assert_string_equal(c->exec.v, "");
    ls_config_free(c);

    /* byte sizes: 5MB vs 5MiB */
    c = load_ok("part-size: 5MB\n");
    assert_int_equal(c->replica_defaults.part_size.v, 5000000);
    ls_config_free(c);
    c = load_ok("part-size: 5MiB\n");
    assert_int_equal(c->replica_defaults.part_size.v, 5242880);
    ls_config_free(c);
    c = load_ok("part-size: 5242880\n");
    assert_int_equal(c->replica_defaults.part_size.v, 5242880);
    ls_config_free(c);
    expect_err("part-size: 5XB\n", 1, "part-size: invalid size \"5XB\"", NULL);
    expect_err("part-size: [1]\n", 1, "part-size: expected a byte size, got a list", NULL);
    /* S3 minimum part size */
    expect_err("dbs:\n  - path: /a.db\n    replica:\n      type: s3\n      bucket: b\n      part-size: 5MB\n",
               6, "part-size: must be at least 5MiB", "5000000", NULL);
    expect_err("dbs:\n  - path: /a.db\n    replica:\n      url: s3://b/p?partSize=100\n", 4,
               "part-size: must be at least 5MiB", NULL);

}

static void test_anchors_and_merge(void **state) {
    (void)state;
    /* top-level "x-" keys are ignored and can hold anchors */
    ls_config *c0 = load_ok("x-common: &common\n  sync-interval: 9s\n  type: file\n"
                            "dbs:\n  - path: /a.db\n    replica:\n      <<: *common\n      path: /bk\n");
    assert_int_equal(c0->dbs[0].replica->client.sync_interval, 9 * SEC);
    ls_config_free(c0);
    expect_err("xcommon: 1\n", 1, "unknown key \"xcommon\"", NULL);
    expect_err("dbs:\n  - path: /a.db\n    x-foo: 1\n", 3, "dbs[0]: unknown key \"x-foo\"", NULL);
    ls_config *c = load_ok("dbs:\n"
                           "  - path: /a.db\n"
                           "    replica: &r\n"
                           "      type: file\n"
                           "      path: /bk/a\n"
                           "      sync-interval: 9s\n"
                           "  - path: /b.db\n"
                           "    replica:\n"
                           "      <<: *r\n"
                           "      path: /bk/b\n");
    assert_int_equal(c->dbs[1].replica->client.sync_interval, 9 * SEC);
    assert_string_equal(c->dbs[1].replica->client.path, "/bk/b");
    assert_string_equal(c->dbs[0].replica->client.path, "/bk/a");
    ls_config_free(c);
    c = load_ok("dbs:\n"
                "  - &d\n"
                "    path: /a.db\n"
                "    monitor-interval: 3s\n"
                "    replica: {path: /bk}\n"
                "  - <<: [*d]\n"
                "    path: /b.db\n"
                "    replica: {path: /bk2}\n");
    assert_int_equal(c->dbs[1].monitor_interval.v, 3 * SEC);
    ls_config_free(c);
    expect_err("dbs:\n  - <<: 5\n    path: /a\n", 2, "merge key", NULL);
}

static void test_env_in_config(void **state) {
    (void)state;
    setenv("LST_CFG_TOKEN", "s3cret-token", 1);
    setenv("LST_CFG_DIR", "/var/data", 1);
    setenv("LST_CFG_IV", "7s", 1);
    ls_config *c = load_ok("mcp-token: $LST_CFG_TOKEN\n"
                           "dbs:\n  - path: ${LST_CFG_DIR}/app.db\n"
                           "    replica:\n      path: $LST_CFG_DIR/bk-$PID\n"
                           "      sync-interval: $LST_CFG_IV\n");
    assert_string_equal(c->mcp_token.v, "s3cret-token");
    assert_string_equal(c->dbs[0].path, "/var/data/app.db");
    char *want = ls_strfmt("/var/data/bk-%ld", (long)getpid());
    assert_string_equal(c->dbs[0].replica->client.path, want);
    free(want);
    assert_int_equal(c->dbs[0].replica->client.sync_interval, 7 * SEC);
    ls_config_free(c);

    /* -no-expand-env keeps the text */
    ls_err e;
    assert_int_equal(ls_config_parse_string("mcp-token: $LST_CFG_TOKEN\n", "t", false, &c, &e), LS_OK);
    assert_string_equal(c->mcp_token.v, "$LST_CFG_TOKEN");
    ls_config_free(c);
    /* an unset variable expands to empty -> database has no path */
    unsetenv("LST_CFG_UNSET");
    expect_err("dbs:\n  - path: $LST_CFG_UNSET\n    replica: {path: /b}\n", 2,
               "database config #1: must specify either 'path' or 'dir'", NULL);
    unsetenv("LST_CFG_TOKEN");
    unsetenv("LST_CFG_DIR");
    unsetenv("LST_CFG_IV");
}

static void test_errors(void **state) {
    (void)state;
    /* wrong types and bad scalars */
    expect_err("dbs:\n  - path: /a.db\n    replica:\n      url: file:///b\n      sync-interval: 1x\n", 5,
               "dbs[0].replica.sync-interval: invalid duration \"1x\"", NULL);
    expect_err("dbs: /a.db\n", 1, "dbs: expected a list, got a scalar", NULL);
    expect_err("dbs:\n  - /a.db\n", 2, "dbs[0]: expected a mapping, got a scalar", NULL);
    expect_err("addr: {a: 1}\n", 1, "addr: expected a string, got a mapping", NULL);
    expect_err("logging: text\n", 1, "logging: expected a mapping, got a scalar", NULL);
    expect_err("mcp-restore-dirs: /srv\n", 1, "mcp-restore-dirs: expected a list of strings", NULL);
    expect_err("mcp-restore-dirs: [[/a]]\n", 1, "mcp-restore-dirs[0]: expected a string, got a list", NULL);
    expect_err("levels: {interval: 1s}\n", 1, "levels: expected a list", NULL);
    expect_err("levels:\n  - 30s\n", 2, "levels[0]: expected a mapping", NULL);
    expect_err("? [a]\n: b\n", 1, "mapping keys must be strings", NULL);
    expect_err("- a\n- b\n", 1, "top level: expected a mapping", NULL);
    expect_err("just a string\n", 1, "top level: expected a mapping", NULL);

    /* unknown keys with suggestions, at every level */
    expect_err("sync-intervl: 1s\n", 1, "top level: unknown key \"sync-intervl\"",
               "did you mean \"sync-interval\"", NULL);
    expect_err("dbs:\n  - path: /a\n    replica:\n      typ: file\n", 4,
               "dbs[0].replica: unknown key \"typ\"", "did you mean \"type\"", NULL);
    expect_err("dbs:\n  - pth: /a\n", 2, "dbs[0]: unknown key \"pth\"", "did you mean \"path\"", NULL);
    expect_err("dbs:\n  - path: /a\n    sync-interval: 1s\n", 3, "dbs[0]: unknown key \"sync-interval\"",
               "belong under \"replica:\"", NULL);
    expect_err("socket:\n  enable: true\n", 2, "socket: unknown key \"enable\"", "did you mean \"enabled\"", NULL);
    expect_err("logging:\n  levle: debug\n", 2, "logging: unknown key \"levle\"", NULL);
    expect_err("snapshot:\n  intervals: 1h\n", 2, "snapshot: unknown key \"intervals\"", NULL);
    expect_err("completely-unrelated-thing: 1\n", 1, "unknown key \"completely-unrelated-thing\"", NULL);
    expect_err("dbs:\n  - path: /a\n    replica:\n      age:\n        identity: [x]\n", 5,
               "dbs[0].replica.age: unknown key \"identity\"", "did you mean \"identities\"", NULL);
    expect_err("levels:\n  - intervl: 1s\n", 2, "levels[0]: unknown key \"intervl\"", NULL);
    /* duplicate keys */
    expect_err("addr: a\naddr: b\n", 2, "duplicate key \"addr\" (first given at line 1)", NULL);
    expect_err("dbs:\n  - path: /a\n    path: /b\n", 3, "dbs[0]: duplicate key \"path\"", NULL);

    /* structural database errors */
    expect_err("dbs:\n  - replica: {path: /b}\n", 2, "database config #1: must specify either 'path' or 'dir'", NULL);
    expect_err("dbs:\n  - path: /a\n    replica: {path: /b}\n  - path: \"\"\n    replica: {path: /c}\n", 4,
               "database config #2: must specify either 'path' or 'dir'", NULL);
    expect_err("dbs:\n  - path: /a\n    dir: /d\n    pattern: x\n", 2,
               "database config #1: cannot specify both 'path' and 'dir'", NULL);
    expect_err("dbs:\n  - dir: /d\n    replica: {path: /b}\n", 2,
               "database config #1: 'pattern' is required when using 'dir'", NULL);
    expect_err("dbs:\n  - path: /a\n    watch: true\n", 3,
               "database config #1: 'watch' can only be enabled with a directory", NULL);
    expect_err("dbs:\n  - path: /a\n    meta-dir: /m\n", 3,
               "database config #1: 'meta-dir' can only be used with a directory", NULL);
    expect_err("dbs:\n  - dir: /d\n    pattern: '*'\n    meta-path: /m\n    meta-dir: /n\n", 5,
               "database config #1: cannot specify both 'meta-path' and 'meta-dir'", NULL);
    expect_err("dbs:\n  - path: /a.db\n", 2, "must specify replica for database", "/a.db", NULL);
    expect_err("dbs:\n  - path: /a.db\n    replica: {path: /b}\n    replicas:\n      - path: /c\n", 4,
               "cannot specify 'replica' and 'replicas' on a database", NULL);
    {
        /* several replicas per database: each resolved, in order */
        ls_config *m = load_ok("dbs:\n  - path: /a.db\n    replicas:\n      - path: /b\n      - url: file:///c\n"
                               "        sync-interval: 5s\n");
        assert_int_equal(ls_db_config_replica_count(&m->dbs[0]), 2);
        assert_string_equal(ls_db_config_replica_at(&m->dbs[0], 0)->client.path, "/b");
        assert_string_equal(ls_db_config_replica_at(&m->dbs[0], 1)->client.path, "/c");
        assert_int_equal(ls_db_config_replica_at(&m->dbs[0], 1)->client.sync_interval, 5000000000LL);
        assert_string_equal(ls_db_config_replica_at(&m->dbs[0], 1)->field, "dbs[0].replicas[1]");
        assert_null(ls_db_config_replica_at(&m->dbs[0], 2));
        ls_config_free(m);
    }
    {
        /* every replica of the list is checked for build support */
        ls_config *g = load_ok("dbs:\n  - path: /a.db\n    replicas:\n      - path: /b\n      - type: gs\n"
                               "        bucket: x\n");
        ls_err ge;
        assert_int_not_equal(ls_config_check_supported(g, &ge), LS_OK);
        assert_non_null(strstr(ge.msg, "dbs[0].replicas[1].type"));
        assert_non_null(strstr(ge.msg, "\"gs\""));
        ls_config_free(g);
    }
    expect_err("dbs:\n  - path: /a.db\n    replicas: {path: /b}\n", 3, "dbs[0].replicas: expected a list", NULL);
    expect_err("dbs:\n  - path: /a.db\n    replica: /b\n", 3, "dbs[0].replica: expected a mapping", NULL);
    expect_err("dbs:\n  - path: /a.db\n    min-checkpoint-page-count: 0\n    replica: {path: /b}\n", 3,
               "dbs[0].min-checkpoint-page-count: must be greater than 0 (got 0)", NULL);
    expect_err("dbs:\n  - path: /a.db\n    meta-path: \"\"\n    replica: {path: /b}\n", 3,
               "dbs[0].meta-path: must not be empty", NULL);

    /* duplicates */
    expect_err("dbs:\n  - path: /data/a.db\n    replica: {path: /b}\n"
               "  - path: /data/./x/../a.db\n    replica: {path: /c}\n",
               4, "dbs[1].path: database \"/data/a.db\" is already configured by dbs[0] at line 2", NULL);
    expect_err("dbs:\n  - path: /data/a.db\n    meta-path: /m\n    replica: {path: /b}\n"
               "  - path: /data/b.db\n    meta-path: /m\n    replica: {path: /c}\n",
               6, "would share meta-path \"/m\"", NULL);

    /* 11.6 validation messages: field: reason (got value) */
    expect_err("snapshot:\n  interval: 0s\n", 2, "snapshot.interval: snapshot interval must be greater than 0 (got 0s)", NULL);
    expect_err("snapshot:\n  retention: -1h\n", 2, "snapshot.retention: snapshot retention must be greater than 0 (got -1h0m0s)", NULL);
    expect_err("l0-retention: -1s\n", 1, "l0-retention: l0 retention must not be negative (got -1s)", NULL);
    expect_err("l0-retention-check-interval: 0\n", 1,
               "l0-retention-check-interval: l0 retention check interval must be greater than 0 (got 0s)", NULL);
    expect_err("shutdown-sync-timeout: -1s\n", 1, "shutdown-sync-timeout: shutdown-sync-timeout must be >= 0 (got -1s)", NULL);
    expect_err("shutdown-sync-interval: 0\n", 1,
               "shutdown-sync-interval: shutdown sync interval must be greater than 0 (got 0s)", NULL);
    expect_err("heartbeat-url: ftp://x\n", 1,
               "heartbeat-url: heartbeat URL must be a valid HTTP or HTTPS URL (got ftp://x)", NULL);
    expect_err("heartbeat-interval: 30s\n", 1,
               "heartbeat-interval: heartbeat interval must be at least 1 minute (got 30s)", NULL);
    expect_err("levels:\n  - interval: 1s\n  - interval: 0s\n", 3,
               "levels[1].interval: compaction interval must be greater than 0 (got 0s)", NULL);
    expect_err("levels:\n  - {}\n", 2, "levels[0].interval: compaction interval must be greater than 0 (got 0s)", NULL);
    expect_err("levels:\n" "  - interval: 1s\n  - interval: 1s\n  - interval: 1s\n  - interval: 1s\n"
               "  - interval: 1s\n  - interval: 1s\n  - interval: 1s\n  - interval: 1s\n  - interval: 1s\n",
               2, "compaction level cannot exceed 8", "9 levels", NULL);
    expect_err("dbs:\n  - path: /a.db\n    snapshot:\n      interval: 0s\n    replica: {path: /b}\n", 4,
               "snapshot.interval: snapshot interval must be greater than 0 (got 0s)", NULL);
    expect_err("snapshot: {interval: 1h}\n"
               "dbs:\n  - path: /a.db\n    snapshot:\n      interval: 0s\n    replica: {path: /b}\n", 5,
               "dbs[/a.db].snapshot.interval: snapshot interval must be greater than 0 (got 0s)", NULL);
    expect_err("snapshot: {retention: 1h}\n"
               "dbs:\n  - path: /a.db\n    snapshot:\n      retention: 0s\n    replica: {path: /b}\n", 5,
               "dbs[/a.db].snapshot.retention: snapshot retention must be greater than 0 (got 0s)", NULL);
    expect_err("dbs:\n  - path: /a.db\n    replica:\n      path: /b\n      sync-interval: -1s\n", 5,
               "dbs[/a.db].replica.sync-interval: sync interval must not be negative (got -1s)", NULL);
    {
        /* sync-interval 0 is this build's extension: ship every change at once */
        ls_config *z = load_ok("dbs:\n  - path: /a.db\n    replica:\n      path: /b\n      sync-interval: 0s\n");
        assert_int_equal(z->dbs[0].replica->client.sync_interval, 0);
        ls_config_free(z);
    }
    expect_err("dbs:\n  - path: /a.db\n    replicas:\n      - path: /b\n        sync-interval: -1s\n", 5,
               "dbs[/a.db].replicas[0].sync-interval: sync interval must not be negative (got -1s)", NULL);
    expect_err("sync-interval: -2s\ndbs:\n  - path: /a.db\n    replica: {path: /b}\n", 1,
               "dbs[/a.db].replica.sync-interval: sync interval must not be negative (got -2s)", NULL);
    expect_err("logging:\n  level: verbose\n", 2, "logging.level: invalid log level \"verbose\"", NULL);
    expect_err("logging:\n  type: xml\n", 2, "logging.type: invalid log type \"xml\"", NULL);

    /* replica errors */
    expect_err("dbs:\n  - path: /a.db\n    replica:\n      age:\n        identities: [AGE-SECRET-KEY-1]\n", 5,
               "age encryption is not currently supported, if you need encryption please revert back to Litestream v0.3.x", NULL);
    expect_err("age:\n  recipients: [age1xyz]\ndbs:\n  - path: /a.db\n    replica: {path: /b}\n", 2,
               "age encryption is not currently supported", NULL);
    const char *types[] = {"file", "s3", "gs", "abs", "sftp", "webdav", "oss"};
    const char *urls[] = {"file:///x", "s3://b/x", "gs://b/x", "abs://b/x", "sftp://u@h/x",
                          "webdav://h/x", "oss://b/x"};
    for (int i = 0; i < 7; i++) {
        char y[256], want[64];
        snprintf(y, sizeof(y), "dbs:\n  - path: /a.db\n    replica:\n      url: %s\n      path: /p\n", urls[i]);
        snprintf(want, sizeof(want), "cannot specify url & path for %s replica", types[i]);
        expect_err(y, 5, "dbs[0].replica", want, NULL);
    }
    expect_err("dbs:\n  - path: /a.db\n    replica:\n      url: webdav://h/x\n      webdav-url: http://h\n", 4,
               "cannot specify url & webdav-url for webdav replica", NULL);
    expect_err("dbs:\n  - path: /a.db\n    replica:\n      url: s3://b/x\n      bucket: b2\n", 4,
               "cannot specify url & bucket for s3 replica", NULL);
    expect_err("dbs:\n  - path: /a.db\n    replica:\n      url: sftp://u@h/x\n      host: h2\n", 4,
               "cannot specify url & host for sftp replica", NULL);
    expect_err("dbs:\n  - path: /a.db\n    replica:\n      path: s3://bucket/x\n", 4,
               "replica path cannot be a url, please use the 'url' field instead: s3://bucket/x", NULL);
    expect_err("dbs:\n  - path: /a.db\n    replica:\n      type: ftp\n      path: /x\n", 4,
               "dbs[0].replica.type: unknown replica type in config: \"ftp\"", NULL);
    expect_err("dbs:\n  - path: /a.db\n    replica:\n      url: ftp://h/x\n", 4,
               "dbs[0].replica.url: unsupported replica URL scheme: \"ftp\"", NULL);
    expect_err("dbs:\n  - path: /a.db\n    replica:\n      url: /just/a/path\n", 4,
               "replica url scheme required: /just/a/path", NULL);
    expect_err("dbs:\n  - path: /a.db\n    replica:\n      type: s3\n      url: bucket/path\n", 5,
               "replica url scheme required: bucket/path", NULL);
    expect_err("dbs:\n  - path: /a.db\n    replica:\n      type: file\n", 3, "file replica path required", NULL);
    expect_err("dbs:\n  - path: /a.db\n    replica:\n      url: \"file://\"\n", 4, "file replica path required", NULL);
    expect_err("dbs:\n  - path: /a.db\n    replica:\n      type: s3\n", 3, "bucket required for s3 replica", NULL);
    expect_err("dbs:\n  - path: /a.db\n    replica:\n      url: s3://localhost:9000/x\n", 4,
               "bucket required for s3 replica", NULL);
    expect_err("dbs:\n  - path: /a.db\n    replica: {type: gs}\n", 3, "bucket required for gs replica", NULL);
    expect_err("dbs:\n  - path: /a.db\n    replica: {type: abs}\n", 3, "bucket required for abs replica", NULL);
    expect_err("dbs:\n  - path: /a.db\n    replica: {type: oss}\n", 3, "bucket required for oss replica", NULL);
    expect_err("dbs:\n  - path: /a.db\n    replica: {type: sftp, user: u}\n", 3, "host required for sftp replica", NULL);
    expect_err("dbs:\n  - path: /a.db\n    replica: {type: sftp, host: h}\n", 3, "user required for sftp replica", NULL);
    expect_err("dbs:\n  - path: /a.db\n    replica: {type: webdav}\n", 3, "webdav-url required for webdav replica", NULL);
    expect_err("dbs:\n  - path: /a.db\n    replica: {type: nats}\n", 3, "bucket required for NATS replica", NULL);
    expect_err("dbs:\n  - path: /a.db\n    replica: {url: \"nats://h\"}\n", 3, "bucket required for NATS replica", NULL);
    expect_err("dbs:\n  - path: /a.db\n    replica: {type: nats, bucket: b, client-cert: /c}\n", 3,
               "client-cert and client-key must both be specified", NULL);
    expect_err("dbs:\n  - path: /a.db\n    replica:\n      url: s3://b/x?concurrency=abc\n", 4,
               "dbs[0].replica.url: invalid value for query parameter \"concurrency\": \"abc\"", NULL);
    expect_err("dbs:\n  - path: /a.db\n    replica:\n      url: s3://b/x\n      max-sync-ltx-files: -1\n", 5,
               "max-sync-ltx-files: must not be negative", NULL);
    /* SSE */
    expect_err("dbs:\n  - path: /a.db\n    replica:\n      type: s3\n      bucket: b\n"
               "      sse-customer-key: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n      sse-customer-algorithm: AES128\n",
               7, "sse-customer-algorithm: only AES256 is supported (got \"AES128\")", NULL);
    expect_err("dbs:\n  - path: /a.db\n    replica:\n      type: s3\n      bucket: b\n      sse-customer-key: c2hvcnQ=\n",
               6, "sse-customer-key: must be the base64 encoding of a 32-byte key", NULL);
    expect_err("dbs:\n  - path: /a.db\n    replica:\n      type: s3\n      bucket: b\n"
               "      sse-customer-key: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n      sse-kms-key-id: k\n",
               7, "mutually exclusive", NULL);
    expect_err("dbs:\n  - path: /a.db\n    replica:\n      type: s3\n      bucket: b\n"
               "      endpoint: http://s3.example.com\n"
               "      sse-customer-key: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
               7, "SSE-C requires HTTPS", NULL);
    ls_config *c = load_ok("dbs:\n  - path: /a.db\n    replica:\n      type: s3\n      bucket: b\n"
                           "      endpoint: http://192.168.1.10:9000\n"
                           "      sse-customer-key: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n");
    assert_string_equal(c->dbs[0].replica->client.sse_customer_algorithm, "AES256");
    ls_config_free(c);
    expect_err("dbs:\n  - path: /a.db\n    replica:\n      type: s3\n      bucket: b\n"
               "      sse-customer-key-path: /nonexistent/key\n",
               6, "cannot read sse-customer-key-path \"/nonexistent/key\"", NULL);

    /* secrets never leak into messages */
    ls_err e;
    assert_int_equal(ls_config_parse_string("dbs:\n  - path: /a.db\n    replica:\n"
                                            "      url: ftp://user:hunter2@h/x\n",
                                            "t", true, &c, &e),
                     LS_ERR_CONFIG);
    assert_null(strstr(e.msg, "hunter2"));
}

static void test_sse_key_path(void **state) {
    (void)state;
    char *dir = lst_tmpdir();
    char *kp = ls_path_join(dir, "key");
    const char *key = "  AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
    lst_write_file(kp, key, strlen(key));
    char y[512];
    snprintf(y, sizeof(y),
             "dbs:\n  - path: /a.db\n    replica:\n      type: s3\n      bucket: b\n"
             "      sse-customer-key-path: %s\n", kp);
    ls_config *c = load_ok(y);
    assert_string_equal(c->dbs[0].replica->client.sse_customer_key,
                        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    assert_string_equal(c->dbs[0].replica->client.sse_customer_key_path, kp);
    ls_config_free(c);
    free(kp);
    lst_rmtree(dir);
}

static void test_load_file(void **state) {
    (void)state;
    char *dir = lst_tmpdir();
    char *p = ls_path_join(dir, "litestream.yml");
    const char *y = "dbs:\n  - path: /x.db\n    replica:\n      url: file:///bk\n";
    lst_write_file(p, y, strlen(y));
    ls_config *c = NULL;
    ls_err e;
    assert_int_equal(ls_config_load(p, true, &c, &e), LS_OK);
    assert_string_equal(c->source, p);
    assert_int_equal(c->ndbs, 1);
    ls_config_free(c);

    char *missing = ls_path_join(dir, "nope.yml");
    assert_int_equal(ls_config_load(missing, true, &c, &e), LS_ERR_CONFIG);
    assert_null(c);
    char want[4200];
    snprintf(want, sizeof(want), "config file not found: %s", missing);
    assert_string_equal(e.msg, want);

    /* LITESTREAM_CONFIG supplies the default path */
    setenv("LITESTREAM_CONFIG", p, 1);
    assert_string_equal(ls_config_default_path(), p);
    assert_int_equal(ls_config_load(NULL, true, &c, &e), LS_OK);
    ls_config_free(c);
    setenv("LITESTREAM_CONFIG", "", 1);
    assert_string_equal(ls_config_default_path(), "/etc/litestream.yml");
    unsetenv("LITESTREAM_CONFIG");
    assert_string_equal(ls_config_default_path(), "/etc/litestream.yml");

    /* errors inside a file name the line */
    const char *bad = "dbs:\n  - path: /x.db\n    replica:\n      sync-interval: soon\n";
    lst_write_file(p, bad, strlen(bad));
    assert_int_equal(ls_config_load(p, true, &c, &e), LS_ERR_CONFIG);
    assert_non_null(strstr(e.msg, "config line 4: dbs[0].replica.sync-interval: invalid duration \"soon\""));
    free(missing);
    free(p);
    lst_rmtree(dir);
}

static void test_paths(void **state) {
    (void)state;
    char *s = ls_expand_db_path("sqlite:///var/x.db");
    assert_string_equal(s, "/var/x.db");
    free(s);
    s = ls_expand_db_path("sqlite3:///var//y/../x.db");
    assert_string_equal(s, "/var/x.db");
    free(s);
    const char *home = getenv("HOME");
    if (home && *home && home[0] == '/' && strcmp(home, "/") != 0) {
        s = ls_expand_db_path("~/a.db");
        char *want = ls_strfmt("%s/a.db", home);
        assert_string_equal(s, want);
        free(want);
        free(s);
    }
    s = ls_expand_db_path("~user/a.db"); /* only ~ and ~/ expand */
    assert_non_null(strstr(s, "/~user/a.db"));
    free(s);
    assert_null(ls_expand_db_path(""));
    s = ls_default_meta_path("/var/lib/app.db");
    assert_string_equal(s, "/var/lib/.app.db-litestream");
    free(s);
    s = ls_default_meta_path("/app.db");
    assert_string_equal(s, "/.app.db-litestream");
    free(s);

    ls_config *c = load_ok("dbs:\n"
                           "  - dir: /srv/dbs\n    pattern: '*.db'\n    meta-path: /m\n    replica: {path: /b}\n"
                           "  - dir: /srv/other\n    pattern: '*.db'\n    replica: {path: /c}\n"
                           "  - path: /srv/z.db\n    meta-path: ~/meta-z\n    replica: {path: /d}\n");
    s = ls_config_dir_entry_meta_path(&c->dbs[0], "sub/x.db");
    assert_string_equal(s, "/m/sub/.x.db-litestream");
    free(s);
    s = ls_config_dir_entry_meta_path(&c->dbs[0], "x.db");
    assert_string_equal(s, "/m/.x.db-litestream");
    free(s);
    s = ls_config_dir_entry_meta_path(&c->dbs[1], "sub/x.db");
    assert_string_equal(s, "/srv/other/sub/.x.db-litestream");
    free(s);
    s = ls_config_db_meta_path(&c->dbs[2]);
    assert_true(s[0] == '/');
    assert_non_null(strstr(s, "meta-z"));
    free(s);
    ls_config_free(c);
}

static void test_dir_entry(void **state) {
    (void)state;
    ls_config *c = load_ok("dbs:\n"
                           "  - dir: /srv/dbs\n    pattern: '*.db'\n    meta-dir: /m\n"
                           "    monitor-interval: 4s\n"
                           "    replica: {url: \"s3://bkt/base?region=eu\", sync-interval: 3s}\n"
                           "  - dir: /srv/f\n    pattern: '*.db'\n    replica: {type: file, path: /bk}\n"
                           "  - dir: /srv/g\n    pattern: '*.db'\n    meta-path: /mp\n"
                           "    replica: {type: s3, bucket: b}\n"
                           "  - dir: /srv/h\n    pattern: '*.db'\n    replica: {url: \"s3://bkt\"}\n");
    ls_db_config *d = NULL;
    ls_err e;
    assert_int_equal(ls_config_dir_entry_db(&c->dbs[0], "/srv/dbs/t1/app.db", &d, &e), LS_OK);
    assert_string_equal(d->path, "/srv/dbs/t1/app.db");
    assert_null(d->dir);
    assert_int_equal(d->monitor_interval.v, 4 * SEC);
    char *meta = ls_config_db_meta_path(d);
    assert_string_equal(meta, "/m/t1/app.db-litestream");
    free(meta);
    assert_string_equal(d->replica->client.url, "s3://bkt/base/t1/app.db?region=eu");
    assert_string_equal(d->replica->client.path, "base/t1/app.db");
    assert_string_equal(d->replica->client.region, "eu");
    assert_int_equal(d->replica->client.sync_interval, 3 * SEC);
    ls_db_config_free(d);

    assert_int_equal(ls_config_dir_entry_db(&c->dbs[1], "/srv/f/a/b.db", &d, &e), LS_OK);
    assert_string_equal(d->replica->client.path, "/bk/a/b.db");
    meta = ls_config_db_meta_path(d);
    assert_string_equal(meta, "/srv/f/a/.b.db-litestream");
    free(meta);
    ls_db_config_free(d);

    assert_int_equal(ls_config_dir_entry_db(&c->dbs[2], "/srv/g/x.db", &d, &e), LS_OK);
    assert_string_equal(d->replica->client.path, "x.db");
    meta = ls_config_db_meta_path(d);
    assert_string_equal(meta, "/mp/.x.db-litestream");
    free(meta);
    ls_db_config_free(d);

    assert_int_equal(ls_config_dir_entry_db(&c->dbs[3], "/srv/h/x.db", &d, &e), LS_OK);
    assert_string_equal(d->replica->client.url, "s3://bkt/x.db");
    assert_string_equal(d->replica->client.path, "x.db");
    ls_db_config_free(d);

    assert_int_equal(ls_config_dir_entry_db(&c->dbs[0], "/elsewhere/x.db", &d, &e), LS_ERR_INVALID);
    assert_null(d);
    assert_int_equal(ls_config_dir_entry_db(&c->dbs[0], "/srv/dbs", &d, &e), LS_ERR_INVALID);
    assert_int_equal(ls_config_dir_entry_db(&c->dbs[0], "/srv/dbsx/a.db", &d, &e), LS_ERR_INVALID);
    ls_config_free(c);

    c = load_ok("dbs:\n  - path: /a.db\n    replica: {path: /b}\n");
    assert_int_equal(ls_config_dir_entry_db(&c->dbs[0], "/a.db", &d, &e), LS_ERR_INVALID);
    ls_config_free(c);
}

static void test_url_mode(void **state) {
    (void)state;
    ls_config *c = NULL;
    ls_err e;
    const char *one[] = {"file:///tmp/bk"};
    assert_int_equal(ls_config_from_url_mode("/tmp/app.db", one, 1, &c, &e), LS_OK);
    assert_int_equal(c->ndbs, 1);
    assert_string_equal(c->dbs[0].path, "/tmp/app.db");
    assert_true(c->dbs[0].replica_from_list);
    assert_int_equal(c->dbs[0].replica->client.type, LS_REPLICA_FILE);
    assert_string_equal(c->dbs[0].replica->client.path, "/tmp/bk");
    assert_int_equal(c->dbs[0].replica->client.sync_interval, SEC);
    assert_int_equal(c->nlevels, 3);
    assert_ptr_equal(ls_config_find_db(c, "sqlite:///tmp/app.db"), &c->dbs[0]);
    ls_config_free(c);

    const char *s3[] = {"s3://bucket/db"};
    assert_int_equal(ls_config_from_url_mode("rel.db", s3, 1, &c, &e), LS_OK);
    assert_true(c->dbs[0].path[0] == '/');
    assert_string_equal(c->dbs[0].replica->client.bucket, "bucket");
    ls_config_free(c);

    const char *two[] = {"file:///a", "file:///b"};
    assert_int_equal(ls_config_from_url_mode("/tmp/app.db", two, 2, &c, &e), LS_ERR_CONFIG);
    assert_string_equal(e.msg, "multiple replicas on a single database are no longer supported");
    assert_int_equal(ls_config_from_url_mode("/tmp/app.db", NULL, 0, &c, &e), LS_ERR_CONFIG);
    assert_string_equal(e.msg, "must specify at least one replica URL for /tmp/app.db");
    const char *flag[] = {"-once"};
    assert_int_equal(ls_config_from_url_mode("/tmp/app.db", flag, 1, &c, &e), LS_ERR_CONFIG);
    assert_non_null(strstr(e.msg, "flag \"-once\" must be positioned before DB_PATH and REPLICA_URL arguments"));
    const char *bad[] = {"/not/a/url"};
    assert_int_equal(ls_config_from_url_mode("/tmp/app.db", bad, 1, &c, &e), LS_ERR_CONFIG);
    assert_string_equal(e.msg, "replica url scheme required: /not/a/url");
    const char *unk[] = {"zz://x"};
    assert_int_equal(ls_config_from_url_mode("/tmp/app.db", unk, 1, &c, &e), LS_ERR_CONFIG);
    assert_string_equal(e.msg, "unsupported replica URL scheme: \"zz\"");
    assert_null(c);
}

static void test_check_supported(void **state) {
    (void)state;
    ls_err e;
    ls_config *c = load_ok("dbs:\n  - path: /a.db\n    replica: {url: \"file:///b\"}\n"
                           "mcp-addr: :3001\nexec: app\n");
    assert_int_equal(ls_config_check_supported(c, &e), LS_OK);
    ls_config_free(c);
    assert_true(ls_config_replica_type_supported(LS_REPLICA_FILE));
    assert_false(ls_config_replica_type_supported(LS_REPLICA_UNKNOWN));
    assert_false(ls_config_replica_type_supported((ls_replica_type)99));

    struct {
        const char *yaml;
        const char *want;
    } cases[] = {
        {"dbs:\n  - path: /a.db\n    replica: {path: /b}\n"
         "  - path: /c.db\n    replica:\n      url: gs://bucket/x\n",
         "config line 6: dbs[1].replica.url: replica type \"gs\" is not supported by this build yet"},
        {"dbs:\n  - path: /a.db\n    replica:\n      type: sftp\n      host: h\n      user: u\n",
         "config line 4: dbs[0].replica.type: replica type \"sftp\" is not supported by this build yet"},
        {"socket:\n  enabled: true\n",
         "config line 2: socket.enabled: the control socket is not supported by this build yet"},
        {"addr: \":9090\"\n", "config line 1: addr: the Prometheus metrics server is not supported by this build yet"},
        {"heartbeat-url: https://x\n", "config line 1: heartbeat-url: heartbeat pings is not supported by this build yet"},
        {"dbs:\n  - dir: /d\n    pattern: '*.db'\n    replica: {path: /b}\n",
         "config line 2: dbs[0].dir: directory replication is not supported by this build yet"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        c = load_ok(cases[i].yaml); /* loading succeeds: `databases` can list them */
        assert_int_equal(ls_config_check_supported(c, &e), LS_ERR_CONFIG);
        if (strcmp(e.msg, cases[i].want) != 0) fail_msg("got \"%s\"\nwant \"%s\"", e.msg, cases[i].want);
        ls_config_free(c);
    }
    /* socket present but disabled is fine */
    c = load_ok("socket:\n  enabled: false\n  path: /x.sock\n");
    assert_int_equal(ls_config_check_supported(c, &e), LS_OK);
    ls_config_free(c);
}

static void test_logging(void **state) {
    (void)state;
    ls_log_level saved = ls_log_get_level();
    ls_config *c = load_ok("logging:\n  level: WARN\n  type: json\n  stderr: true\n");
    unsetenv("LOG_LEVEL");
    ls_config_configure_logging(c);
    assert_int_equal(ls_log_get_level(), LS_LOG_WARN);
    setenv("LOG_LEVEL", "debug", 1);
    ls_config_configure_logging(c);
    assert_int_equal(ls_log_get_level(), LS_LOG_DEBUG);
    setenv("LOG_LEVEL", "nonsense", 1);
    ls_config_configure_logging(c);
    assert_int_equal(ls_log_get_level(), LS_LOG_INFO);
    unsetenv("LOG_LEVEL");
    ls_config_free(c);
    ls_log_configure(saved, LS_LOG_FORMAT_TEXT, stderr);
}

/* ------------------------------------------------------------------------ */
/* Robustness                                                                */

static void parse_any(const char *buf, size_t len) {
    char *s = malloc(len + 1);
    assert_non_null(s);
    memcpy(s, buf, len);
    s[len] = '\0';
    ls_config *c = NULL;
    ls_err e;
    ls_code rc = ls_config_parse_string(s, "fuzz", true, &c, &e);
    if (rc == LS_OK) {
        assert_non_null(c);
        ls_config_free(c);
    } else {
        assert_int_equal(rc, LS_ERR_CONFIG);
        assert_null(c);
        assert_non_null(strstr(e.msg, "config"));
    }
    free(s);
}

static void test_malformed_yaml(void **state) {
    (void)state;
    expect_err("dbs:\n\t- path: /a\n", 2, "invalid YAML", "tabs are not allowed", NULL);
    expect_err("dbs:\n  - path: \"/a\n", 0, "invalid YAML", NULL);
    expect_err("dbs:\n  - path: '/a\n    replica: {}\n", 0, "invalid YAML", NULL);
    expect_err("dbs: [ {path: /a}\n", 0, "invalid YAML", NULL);
    expect_err("a: b: c\n", 1, "invalid YAML", NULL);
    expect_err("dbs:\n  - path: /a\n   bad-indent: 1\n", 0, "invalid YAML", NULL);
    expect_err("*undefined\n", 1, "invalid YAML", NULL);
    expect_err("addr: a\n---\naddr: b\n", 3, "multiple YAML documents", NULL);
    expect_err("\xff\xfe\x00garbage", 0, "config", NULL);
    expect_err("addr: \"\\xZZ\"\n", 0, "invalid YAML", NULL);
    expect_err("addr: \x80\x81\n", 0, "invalid YAML", NULL);
    expect_err("%YAML 9.9\n---\na: 1\n", 0, "invalid YAML", NULL);

    /* binary garbage and random mutations never crash */
    uint64_t seed = 0x5eed1234;
    char buf[1024];
    int rounds = lst_under_valgrind() ? 60 : 400;
    for (int i = 0; i < rounds; i++) {
        size_t n = (size_t)(lst_rand(&seed) % sizeof(buf));
        lst_rand_bytes(&seed, buf, n);
        parse_any(buf, n);
    }
    size_t flen = strlen(FULL_CONFIG);
    char *m = malloc(flen + 64);
    assert_non_null(m);
    rounds = lst_under_valgrind() ? 150 : 1500;
    for (int i = 0; i < rounds; i++) {
        memcpy(m, FULL_CONFIG, flen);
        size_t n = flen;
        int edits = 1 + (int)(lst_rand(&seed) % 4);
        for (int k = 0; k < edits; k++) {
            size_t pos = (size_t)(lst_rand(&seed) % n);
            static const char alphabet[] = " :-\n\t\"'[]{}#&*!|>%@`,?0aZ$~";
            switch (lst_rand(&seed) % 3) {
            case 0: m[pos] = alphabet[lst_rand(&seed) % (sizeof(alphabet) - 1)]; break;
            case 1: memmove(m + pos, m + pos + 1, n - pos - 1); n--; break;
            default:
                memmove(m + pos + 1, m + pos, n - pos);
                m[pos] = alphabet[lst_rand(&seed) % (sizeof(alphabet) - 1)];
                n++;
                break;
            }
        }
        parse_any(m, n);
    }
    free(m);
}

static void test_hostile_documents(void **state) {
    (void)state;
    size_t big = lst_under_valgrind() ? (size_t)64 << 10 : (size_t)10 << 20;

    /* a 10 MB document (one long scalar) parses */
    char *s = malloc(big + 64);
    assert_non_null(s);
    memcpy(s, "exec: ", 6);
    memset(s + 6, 'x', big);
    strcpy(s + 6 + big, "\n");
    ls_config *c = load_ok(s);
    assert_int_equal(strlen(c->exec.v), big);
    ls_config_free(c);

    /* a 10 MB flow list of tiny scalars: refused by the node limit or parsed,
     * never a crash */
    memcpy(s, "mcp-restore-dirs: [", 19);
    size_t w = 19;
    while (w + 4 < big) {
        memcpy(s + w, "a, ", 3);
        w += 3;
    }
    strcpy(s + w, "a]\n");
    parse_any(s, strlen(s));

    /* deeply nested lists and mappings */
    size_t depth = 100000;
    char *d = malloc(depth * 3 + 64);
    assert_non_null(d);
    strcpy(d, "dbs: ");
    w = 5;
    for (size_t i = 0; i < depth; i++) d[w++] = '[';
    for (size_t i = 0; i < depth; i++) d[w++] = ']';
    d[w++] = '\n';
    d[w] = '\0';
    expect_err(d, 1, "nesting is too deep", NULL);
    w = 0;
    for (size_t i = 0; i < depth; i++) d[w++] = '{', d[w++] = 'a', d[w++] = ':';
    d[w] = '\0';
    parse_any(d, w);
    w = 0;
    for (size_t i = 0; i < 200; i++) {
        memset(d + w, ' ', i);
        w += i;
        memcpy(d + w, "- ", 2);
        w += 2;
        d[w++] = '\n';
    }
    parse_any(d, w);
    free(d);

    /* alias expansion bomb ("billion laughs") */
    const char *bomb =
        "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
        "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
        "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
        "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
        "mcp-restore-dirs: *a\n";
    parse_any(bomb, strlen(bomb));
    const char *dbbomb =
        "x-r: &r {path: /b}\n";
    parse_any(dbbomb, strlen(dbbomb));
    /* a list of aliases to one big db list -> budget stops it */
    char *lb = malloc(1 << 20);
    assert_non_null(lb);
    w = (size_t)sprintf(lb, "dbs: &l\n");
    int ndb = lst_under_valgrind() ? 300 : 2000;
    for (int i = 0; i < ndb; i++)
        w += (size_t)sprintf(lb + w, "  - {path: /d%d.db, replica: {path: /b%d}}\n", i, i);
    w += (size_t)sprintf(lb + w, "x-again: [*l, *l, *l, *l]\n");
    lb[w] = '\0';
    c = load_ok(lb);
    assert_int_equal(c->ndbs, (size_t)ndb);
    ls_config_free(c);
    /* exponential merge-key expansion hits the visit budget */
    const char *mbomb =
        "x-1: &m1 {sync-interval: 1s, type: file, path: /b}\n"
        "x-2: &m2 {<<: [*m1, *m1, *m1, *m1, *m1, *m1, *m1, *m1, *m1, *m1]}\n"
        "x-3: &m3 {<<: [*m2, *m2, *m2, *m2, *m2, *m2, *m2, *m2, *m2, *m2]}\n"
        "x-4: &m4 {<<: [*m3, *m3, *m3, *m3, *m3, *m3, *m3, *m3, *m3, *m3]}\n"
        "x-5: &m5 {<<: [*m4, *m4, *m4, *m4, *m4, *m4, *m4, *m4, *m4, *m4]}\n"
        "x-6: &m6 {<<: [*m5, *m5, *m5, *m5, *m5, *m5, *m5, *m5, *m5, *m5]}\n"
        "dbs:\n  - path: /a.db\n    replica:\n      <<: *m6\n";
    expect_err(mbomb, 0, "excessive aliasing", NULL);
    /* merge key recursion through aliases */
    const char *mrg = "dbs:\n  - &m\n    <<: *m\n    path: /a\n";
    parse_any(mrg, strlen(mrg));
    free(lb);
    free(s);

    /* mappings with very many keys are handled in O(n log n) */
    size_t nkeys = lst_under_valgrind() ? 5000 : 200000;
    char *mk = malloc(nkeys * 24 + 64);
    assert_non_null(mk);
    w = 0;
    for (size_t i = 0; i < nkeys; i++) w += (size_t)sprintf(mk + w, "x-k%zu: %zu\n", i, i);
    mk[w] = '\0';
    c = load_ok(mk);
    ls_config_free(c);
    w += (size_t)sprintf(mk + w, "x-k7: dup\n");
    expect_err(mk, (int)nkeys + 1, "duplicate key \"x-k7\" (first given at line 8)", NULL);
    free(mk);

    /* a document larger than the limit is refused up front */
    size_t huge = (size_t)17 << 20;
    char *h = malloc(huge + 1);
    assert_non_null(h);
    memset(h, '#', huge);
    h[huge] = '\0';
    ls_err e;
    assert_int_equal(ls_config_parse_string(h, "t", false, &c, &e), LS_ERR_CONFIG);
    assert_non_null(strstr(e.msg, "too large"));
    free(h);
}

int main(int argc, char **argv) {
    if (argc > 1) cmocka_set_test_filter(argv[1]); /* e.g. "test_errors" */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_config),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_snapshot_promotion),
        cmocka_unit_test(test_propagation),
        cmocka_unit_test(test_s3_precedence),
        cmocka_unit_test(test_other_backends_resolution),
        cmocka_unit_test(test_scalar_syntax),
        cmocka_unit_test(test_anchors_and_merge),
        cmocka_unit_test(test_env_in_config),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_sse_key_path),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_dir_entry),
        cmocka_unit_test(test_url_mode),
        cmocka_unit_test(test_check_supported),
        cmocka_unit_test(test_logging),
        cmocka_unit_test(test_malformed_yaml),
        cmocka_unit_test(test_hostile_documents),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
