/*
 * Unit tests for engine/compact.c with a real database (engine/db.h): level
 * compaction reading local L0 files (falling back to the replica), NOT_READY
 * for an uninitialised database, snapshots (7.4/7.5) and their cadence, L0
 * retention deleting local files too, and a pipeline of writes, syncs,
 * uploads, compactions, snapshots and retention after which a restore of
 * "latest" (integrity-checked) holds exactly the rows of the source.
 */
#include "testlib.h"

#include <dirent.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compact_testlib.h"
#include "engine/compact.h"
#include "engine/db.h"
#include "engine/restore.h"
#include "ltx/ltx.h"
#include "storage/faulty.h"
#include "storage/ltxfiles.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/timeutil.h"

#define SEC LS_NS_PER_SEC
#define HOUR_NS (3600 * SEC)
#define DAY_NS (24 * HOUR_NS)

#define CHECK(expr)                                                               \
    do {                                                                          \
        ls_err e_;                                                                \
        memset(&e_, 0, sizeof(e_));                                               \
        ls_code rc_ = (expr);                                                     \
        if (rc_ != LS_OK) fail_msg("%s: %s (%s)", #expr, e_.msg, ls_code_name(rc_)); \
    } while (0)

typedef struct env {
    char *dir, *db_path, *root;
    sqlite3 *app;     /* the application's connection */
    ls_db *db;
    ls_storage *st;
    uint64_t rng;
    int rows;
    int restores;
} env;

static void exec(sqlite3 *db, const char *sql) {
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("sqlite: %s: %s", sql, msg ? msg : "?");
}

static int setup(void **state) {
    env *e = calloc(1, sizeof(*e));
    assert_non_null(e);
    e->dir = lst_tmpdir();
    e->db_path = ls_path_join(e->dir, "app.db");
    e->root = ls_path_join(e->dir, "replica");
    e->rng = 99;
    assert_int_equal(sqlite3_open_v2(e->db_path, &e->app,
                                     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
                     SQLITE_OK);
    sqlite3_busy_timeout(e->app, 5000);
    exec(e->app, "PRAGMA page_size=1024");
    exec(e->app, "PRAGMA journal_mode=WAL");
    exec(e->app, "PRAGMA wal_autocheckpoint=0");
    exec(e->app, "CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)");
    CHECK(ls_storage_file_open(e->root, &e->st, &e_));
    ls_db_opts o;
    memset(&o, 0, sizeof(o));
    o.path = e->db_path;
    ls_db_opts_defaults(&o);
    o.checkpoint_interval_ns = 0;
    CHECK(ls_db_new(&o, &e->db, &e_));
    *state = e;
    return 0;
}

static int teardown(void **state) {
    env *e = *state;
    ls_err err;
    if (e->db) {
        ls_db_close(e->db, &err);
        ls_db_free(e->db);
    }
    sqlite3_close(e->app);
    ls_storage_close(e->st);
    free(e->db_path);
    free(e->root);
    lst_rmtree(e->dir);
    free(e);
    return 0;
}

static void init_db(env *e) {
    bool ready = false;
    CHECK(ls_db_init(e->db, &ready, &e_));
    assert_true(ready);
}

/* n transactions of random rows (inserts and some updates), then one sync. */
static void write_and_sync(env *e, int ntx) {
    for (int i = 0; i < ntx; i++) {
        exec(e->app, "BEGIN");
        int n = 1 + (int)(lst_rand(&e->rng) % 20);
        for (int j = 0; j < n; j++) {
            char sql[160];
            if (e->rows > 10 && lst_rand(&e->rng) % 4 == 0)
                snprintf(sql, sizeof(sql), "UPDATE t SET v = randomblob(%d) WHERE id = %d",
                         50 + (int)(lst_rand(&e->rng) % 900),
                         1 + (int)(lst_rand(&e->rng) % (uint64_t)e->rows));
            else
                snprintf(sql, sizeof(sql), "INSERT INTO t (id, v) VALUES (%d, randomblob(%d))",
                         ++e->rows, 50 + (int)(lst_rand(&e->rng) % 900));
            exec(e->app, sql);
        }
        exec(e->app, "COMMIT");
    }
    ls_sync_result res;
    memset(&res, 0, sizeof(res));
    CHECK(ls_db_sync(e->db, &res, &e_));
}

static uint64_t local_txid(env *e) {
    ls_pos pos;
    CHECK(ls_db_pos(e->db, &pos, &e_));
    return pos.txid;
}

/* Local L0 file names (sorted) in the meta directory. */
static size_t local_l0_files(env *e, uint64_t *txids, size_t cap) {
    char *dir = ls_strfmt("%s/ltx/0", ls_db_meta_path(e->db));
    DIR *d = opendir(dir);
    size_t n = 0;
    if (d) {
        struct dirent *de;
        while ((de = readdir(d))) {
            uint64_t mn, mx;
            if (!ltx_parse_filename(de->d_name, &mn, &mx)) continue;
            if (n < cap) txids[n] = mx;
            n++;
        }
        closedir(d);
    }
    free(dir);
    size_t k = n < cap ? n : cap;
    for (size_t i = 1; i < k; i++) /* insertion sort */
        for (size_t j = i; j > 0 && txids[j - 1] > txids[j]; j--) {
            uint64_t x = txids[j];
            txids[j] = txids[j - 1];
            txids[j - 1] = x;
        }
    return n;
}

/* What the replica upload (spec 6) does: copy every local L0 file newer than
 * the replica's level 0 to it, with the header timestamp. */
static void upload(env *e) {
    uint64_t have = 0;
    CHECK(ls_ltx_max_txid(e->st, 0, &have, &e_));
    uint64_t txids[4096];
    size_t n = local_l0_files(e, txids, 4096);
    assert_true(n <= 4096);
    for (size_t i = 0; i < n; i++) {
        if (txids[i] <= have) continue;
        char name[LTX_FILENAME_MAX];
        ltx_format_filename(txids[i], txids[i], name);
        char *path = ls_strfmt("%s/ltx/0/%s", ls_db_meta_path(e->db), name);
        size_t len = 0;
        unsigned char *buf = lst_read_file(path, &len);
        assert_true(len >= LTX_HEADER_SIZE);
        ltx_header h;
        CHECK(ltx_header_decode(buf, &h, &e_));
        ls_reader *r = ls_reader_mem(buf, len);
        CHECK(ls_ltx_write(e->st, 0, h.min_txid, h.max_txid, r, h.timestamp, &e_));
        ls_reader_close(r);
        free(buf);
        free(path);
    }
}

/* Restores latest into a new file and compares every row with the source. */
static void check_restore(env *e) {
    char *out = ls_strfmt("%s/restored-%d.db", e->dir, ++e->restores);
    ls_restore_opts o;
    memset(&o, 0, sizeof(o));
    o.output = out;
    o.integrity = LS_INTEGRITY_QUICK;
    o.parallelism = 2;
    ls_restore_result res;
    memset(&res, 0, sizeof(res));
    CHECK(ls_restore_run(e->st, &o, &res, &e_));
    assert_int_equal(res.txid, ct_newest_txid(e->st));
    ls_restore_result_free(&res);
    sqlite3 *r = NULL;
    assert_int_equal(sqlite3_open_v2(out, &r, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    const char *q = "SELECT count(*), coalesce(sum(id * length(v)), 0), "
                    "coalesce(sum(unicode(hex(v))), 0), max(id) FROM t";
    sqlite3_stmt *a = NULL, *b = NULL;
    assert_int_equal(sqlite3_prepare_v2(e->app, q, -1, &a, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(r, q, -1, &b, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(a), SQLITE_ROW);
    assert_int_equal(sqlite3_step(b), SQLITE_ROW);
    for (int i = 0; i < 4; i++)
        assert_int_equal(sqlite3_column_int64(a, i), sqlite3_column_int64(b, i));
    sqlite3_finalize(a);
    sqlite3_finalize(b);
    /* row by row */
    assert_int_equal(sqlite3_prepare_v2(e->app, "SELECT id, v FROM t ORDER BY id", -1, &a, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(r, "SELECT id, v FROM t ORDER BY id", -1, &b, NULL),
                     SQLITE_OK);
    for (;;) {
        int ra = sqlite3_step(a), rb = sqlite3_step(b);
        assert_int_equal(ra, rb);
        if (ra != SQLITE_ROW) break;
        assert_int_equal(sqlite3_column_int64(a, 0), sqlite3_column_int64(b, 0));
        int la = sqlite3_column_bytes(a, 1), lb = sqlite3_column_bytes(b, 1);
        assert_int_equal(la, lb);
        assert_memory_equal(sqlite3_column_blob(a, 1), sqlite3_column_blob(b, 1), (size_t)la);
    }
    sqlite3_finalize(a);
    sqlite3_finalize(b);
    sqlite3_close(r);
    unlink(out);
    free(out);
}

/* ---- tests --------------------------------------------------------------- */

static void test_not_ready(void **state) {
    env *e = *state;
    ls_compact_result r;
    CHECK(ls_compact_level_ex(e->st, e->db, 1, 30 * SEC, ls_now_ns(), false, &r, &e_));
    assert_int_equal(r.outcome, LS_COMPACT_NOT_READY);
    CHECK(ls_compact_snapshot_ex(e->st, e->db, DAY_NS, ls_now_ns(), true, &r, &e_));
    assert_int_equal(r.outcome, LS_COMPACT_NOT_READY);
    assert_int_equal(ct_count(e->st, 9), 0);
}

static void test_compact_reads_local_l0(void **state) {
    env *e = *state;
    init_db(e);
    for (int i = 0; i < 6; i++) write_and_sync(e, 1 + i % 3);
    upload(e);
    uint64_t t1 = local_txid(e);
    assert_true(t1 >= 2);
    size_t nremote = ct_count(e->st, 0);
    int64_t now = ls_now_ns();
    ls_compact_result r;
    CHECK(ls_compact_level_ex(e->st, e->db, 1, 30 * SEC, now, true, &r, &e_));
    assert_int_equal(r.outcome, LS_COMPACT_DONE);
    assert_int_equal(r.min_txid, 1);
    assert_int_equal(r.max_txid, t1);
    assert_int_equal(r.ninputs, nremote);
    assert_int_equal(r.nlocal, nremote); /* every input read locally */
    check_restore(e);

    /* a missing local file is read from the replica */
    for (int i = 0; i < 4; i++) write_and_sync(e, 1);
    upload(e);
    uint64_t t2 = local_txid(e);
    char name[LTX_FILENAME_MAX];
    ltx_format_filename(t1 + 1, t1 + 1, name);
    char *p = ls_strfmt("%s/ltx/0/%s", ls_db_meta_path(e->db), name);
    assert_int_equal(unlink(p), 0);
    free(p);
    CHECK(ls_compact_level_ex(e->st, e->db, 1, 30 * SEC, now + 3600 * SEC, true, &r, &e_));
    assert_int_equal(r.outcome, LS_COMPACT_DONE);
    assert_int_equal(r.min_txid, t1 + 1);
    assert_int_equal(r.max_txid, t2);
    assert_int_equal(r.nlocal + 1, r.ninputs);
    check_restore(e);
}

static void flip_byte(const char *path, long off) {
    FILE *fp = fopen(path, "r+b");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, off, SEEK_SET), 0);
    int c = fgetc(fp);
    assert_true(c != EOF);
    assert_int_equal(fseek(fp, off, SEEK_SET), 0);
    fputc(c ^ 0x5a, fp);
    assert_int_equal(fclose(fp), 0);
}

/* A corrupt local L0 file: the replica's good copy is used instead; when
 * both are corrupt the compaction fails naming the file and writes nothing. */
static void test_corrupt_local_l0(void **state) {
    env *e = *state;
    init_db(e);
    for (int i = 0; i < 5; i++) write_and_sync(e, 1);
    upload(e);
    uint64_t t = local_txid(e);
    assert_true(t >= 4);
    char name[LTX_FILENAME_MAX];
    ltx_format_filename(2, 2, name);
    char *local = ls_strfmt("%s/ltx/0/%s", ls_db_meta_path(e->db), name);
    char *remote = ls_strfmt("%s/ltx/0/%s", e->root, name);
    flip_byte(local, LTX_HEADER_SIZE + 20);
    ls_compact_result r;
    CHECK(ls_compact_level_ex(e->st, e->db, 1, 30 * SEC, ls_now_ns(), false, &r, &e_));
    assert_int_equal(r.outcome, LS_COMPACT_DONE);
    assert_int_equal(r.max_txid, t);
    assert_int_equal(r.nlocal + 1, r.ninputs);
    check_restore(e);
    /* both copies of a newer file corrupt */
    write_and_sync(e, 1);
    write_and_sync(e, 1);
    upload(e);
    uint64_t t2 = local_txid(e);
    ltx_format_filename(t + 1, t + 1, name);
    free(local);
    free(remote);
    local = ls_strfmt("%s/ltx/0/%s", ls_db_meta_path(e->db), name);
    remote = ls_strfmt("%s/ltx/0/%s", e->root, name);
    flip_byte(local, LTX_HEADER_SIZE + 20);
    flip_byte(remote, LTX_HEADER_SIZE + 20);
    ls_err err;
    ls_code rc = ls_compact_level_ex(e->st, e->db, 1, 30 * SEC, ls_now_ns() + HOUR_NS, false, &r,
                                     &err);
    assert_int_not_equal(rc, LS_OK);
    print_message("both corrupt: %s\n", err.msg);
    assert_non_null(strstr(err.msg, name));
    assert_false(ct_exists(e->st, 1, t + 1, t2));
    assert_int_equal(ct_count(e->st, 1), 1);
    free(local);
    free(remote);
}

/* A failing upload of the snapshot leaves no level-9 file. */
static void test_snapshot_put_fails(void **state) {
    env *e = *state;
    init_db(e);
    write_and_sync(e, 2);
    ls_storage *fs = NULL;
    CHECK(ls_storage_faulty_wrap(e->st, false, &fs, &e_));
    ls_faulty_fail_nth(fs, LS_FAULT_PUT, 1, LS_ERR_NETWORK);
    ls_compact_result r;
    ls_err err;
    assert_int_equal(ls_compact_snapshot_ex(fs, e->db, DAY_NS, ls_now_ns(), false, &r, &err),
                     LS_ERR_NETWORK);
    assert_non_null(strstr(err.msg, "snapshot"));
    assert_int_equal(ct_count(e->st, 9), 0);
    CHECK(ls_compact_snapshot_ex(fs, e->db, DAY_NS, ls_now_ns(), false, &r, &e_));
    assert_int_equal(r.outcome, LS_COMPACT_DONE);
    assert_int_equal(ct_count(e->st, 9), 1);
    ls_storage_close(fs);
}

static void test_snapshot_cadence(void **state) {
    env *e = *state;
    init_db(e);
    write_and_sync(e, 3);
    upload(e);
    uint64_t t1 = local_txid(e);
    int64_t now = ls_now_ns();
    ls_compact_result r;
    CHECK(ls_compact_snapshot_ex(e->st, e->db, DAY_NS, now, false, &r, &e_));
    assert_int_equal(r.outcome, LS_COMPACT_DONE);
    assert_int_equal(r.min_txid, 1);
    assert_int_equal(r.max_txid, t1);
    assert_true(ct_exists(e->st, 9, 1, t1));
    ltx_header h;
    ct_read_header(e->st, 9, 1, t1, &h);
    assert_int_equal(h.flags, LTX_FLAG_NO_CHECKSUM);
    assert_int_equal(h.min_txid, 1);
    assert_int_equal(h.page_size, 1024);
    assert_int_equal(h.timestamp, r.timestamp_ms);
    /* page for page what SQLite sees (database + WAL) */
    {
        sqlite3_int64 sz = 0;
        unsigned char *want = sqlite3_serialize(e->app, "main", &sz, 0);
        assert_non_null(want);
        uint8_t *img = NULL;
        size_t cap = 0;
        uint32_t commit = 0;
        ct_apply_file(e->st, 9, 1, t1, &img, &cap, &commit, 1024);
        assert_int_equal((sqlite3_int64)commit * 1024, sz);
        assert_memory_equal(img, want, (size_t)sz);
        free(img);
        sqlite3_free(want);
    }
    /* the listed creation time is the header timestamp */
    ls_ltx_file_list l = ct_list(e->st, 9);
    assert_int_equal(l.items[0].created_at_ns, h.timestamp * 1000000);
    ls_ltx_file_list_free(&l);

    /* same interval: too early (the snapshot is from today) */
    CHECK(ls_compact_snapshot_ex(e->st, e->db, DAY_NS, now, false, &r, &e_));
    assert_int_equal(r.outcome, LS_COMPACT_TOO_EARLY);
    /* next interval, nothing new since the snapshot */
    CHECK(ls_compact_snapshot_ex(e->st, e->db, DAY_NS, now + DAY_NS, false, &r, &e_));
    assert_int_equal(r.outcome, LS_COMPACT_NOTHING);
    /* new transactions: a new snapshot */
    write_and_sync(e, 2);
    upload(e);
    uint64_t t2 = local_txid(e);
    assert_true(t2 > t1);
    CHECK(ls_compact_snapshot_ex(e->st, e->db, DAY_NS, now, false, &r, &e_));
    assert_int_equal(r.outcome, LS_COMPACT_TOO_EARLY);
    CHECK(ls_compact_snapshot_ex(e->st, e->db, DAY_NS, now + DAY_NS, false, &r, &e_));
    assert_int_equal(r.outcome, LS_COMPACT_DONE);
    assert_int_equal(r.max_txid, t2);
    assert_int_equal(ct_count(e->st, 9), 2);
    /* force ignores the cadence */
    write_and_sync(e, 1);
    upload(e);
    ls_compact_outcome out;
    CHECK(ls_compact_snapshot(e->st, e->db, DAY_NS, now, true, &out, &e_));
    assert_int_equal(out, LS_COMPACT_DONE);
    assert_int_equal(ct_count(e->st, 9), 3);
    check_restore(e);
    /* a restore from the snapshot alone (L0 removed) gives the same rows */
    ls_ltx_file_list l0 = ct_list(e->st, 0);
    CHECK(ls_ltx_delete(e->st, l0.items, l0.n, &e_));
    ls_ltx_file_list_free(&l0);
    check_restore(e);
}

static void test_l0_retention_local(void **state) {
    env *e = *state;
    init_db(e);
    for (int i = 0; i < 8; i++) write_and_sync(e, 1);
    upload(e);
    uint64_t t = local_txid(e);
    int64_t now = ls_now_ns();
    ls_compact_result r;
    CHECK(ls_compact_level_ex(e->st, e->db, 1, 30 * SEC, now, false, &r, &e_));
    assert_int_equal(r.outcome, LS_COMPACT_DONE);
    ls_compact_opts o;
    ls_compact_opts_defaults(&o);
    ls_retention_result rr;
    /* just written: too recent */
    CHECK(ls_enforce_l0_retention_ex(e->st, e->db, &o, now, &rr, &e_));
    assert_int_equal(rr.l0_eligible, 0);
    uint64_t txids[64];
    size_t nlocal_before = local_l0_files(e, txids, 64);
    assert_true(nlocal_before >= 2);
    /* ten minutes later: everything but the newest goes, locally too */
    CHECK(ls_enforce_l0_retention_ex(e->st, e->db, &o, now + 600 * SEC, &rr, &e_));
    assert_int_equal(rr.l0_deleted_upto, t - 1);
    assert_int_equal(ct_count(e->st, 0), 1);
    assert_int_equal(local_l0_files(e, txids, 64), 1);
    assert_int_equal(txids[0], t);
    check_restore(e);
    /* replication goes on from the kept position */
    write_and_sync(e, 2);
    upload(e);
    assert_true(local_txid(e) > t);
    CHECK(ls_compact_level_ex(e->st, e->db, 1, 30 * SEC, now + 3600 * SEC, false, &r, &e_));
    assert_int_equal(r.outcome, LS_COMPACT_DONE);
    assert_int_equal(r.min_txid, t + 1);
    check_restore(e);
    /* retention disabled: local files still go, remote ones stay */
    write_and_sync(e, 1);
    write_and_sync(e, 1);
    upload(e);
    CHECK(ls_compact_level_ex(e->st, e->db, 1, 30 * SEC, now + 7200 * SEC, false, &r, &e_));
    assert_int_equal(r.outcome, LS_COMPACT_DONE);
    o.retention_enabled = false;
    size_t remote_before = ct_count(e->st, 0);
    CHECK(ls_enforce_l0_retention_ex(e->st, e->db, &o, now + 9000 * SEC, &rr, &e_));
    assert_true(rr.l0_eligible > 0);
    assert_int_equal(ct_count(e->st, 0), remote_before);
    assert_int_equal(local_l0_files(e, txids, 64), 1);
    check_restore(e);
}

/* Writes, syncs, uploads, compactions, snapshots and retention with times
 * offset from the wall clock; a restore of latest after every step. */
static void test_pipeline(void **state) {
    env *e = *state;
    init_db(e);
    ls_compact_opts o;
    ls_compact_opts_defaults(&o);
    o.snapshot_retention_ns = 3 * HOUR_NS;
    int64_t t0 = ls_now_ns();
    int steps = lst_under_valgrind() ? 8 : 24;
    for (int step = 0; step < steps; step++) {
        int64_t now = t0 + (int64_t)step * 40 * 60 * SEC; /* 40 min per step */
        write_and_sync(e, 1 + step % 3);
        upload(e);
        for (int level = 1; level <= 3; level++) {
            ls_compact_result r;
            CHECK(ls_compact_level_ex(e->st, e->db, level, o.level_interval_ns[level - 1], now,
                                      true, &r, &e_));
            assert_false(r.verify_failed);
            if (level == 1 && r.outcome == LS_COMPACT_DONE) {
                CHECK(ls_enforce_l0_retention(e->st, e->db, &o, now, &e_));
                check_restore(e);
            }
        }
        if (step % 4 == 0) {
            ls_compact_outcome out;
            CHECK(ls_compact_snapshot(e->st, e->db, HOUR_NS, now, true, &out, &e_));
            assert_int_equal(out, LS_COMPACT_DONE);
        }
        ls_retention_result rr;
        CHECK(ls_enforce_snapshot_retention_ex(e->st, e->db, &o, now, &rr, &e_));
        check_restore(e);
        CHECK(ls_enforce_l0_retention(e->st, e->db, &o, now + 600 * SEC, &e_));
        check_restore(e);
    }
    assert_true(ct_count(e->st, 9) <= 3);
}

int main(void) {
    ls_log_set_level(LS_LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_not_ready, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compact_reads_local_l0, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_local_l0, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_put_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_cadence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_l0_retention_local, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipeline, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
