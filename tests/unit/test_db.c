/*
 * tests/unit/test_db.c — engine/db: WAL -> L0 with a real SQLite database.
 * Every test replays the local L0 chain into an empty image and compares it
 * page by page with sqlite3_serialize() of the application connection.
 */
#include "db_testutil.h"

#include <errno.h>
#include <time.h>

static int scale(int n) { return lst_under_valgrind() ? (n + 3) / 4 : n; }

/* ---- basic chain ---- */

static void test_first_sync_snapshot_then_incremental(void **state) {
    (void)state;
    tdb t;
    tdb_setup(&t, 4096, 0);
    tdb_write(&t, 10);
    tdb_open_db(&t);
    ls_sync_result r = tdb_sync(&t);
    assert_true(r.wrote);
    assert_true(r.snapshot);
    assert_int_equal(r.txid, 1);
    ltx_header h = tdb_l0_header(&t, 1);
    assert_int_equal(h.min_txid, 1);
    assert_int_equal(h.wal_offset, WAL_HEADER_SIZE);
    assert_true(h.wal_size > 0);
    assert_int_equal(h.flags, LTX_FLAG_NO_CHECKSUM);
    tdb_assert_local_equals(&t);

    /* nothing new: no file */
    r = tdb_sync(&t);
    assert_false(r.wrote);
    assert_int_equal(tdb_txid(&t), 1);

    for (int i = 0; i < scale(12); i++) {
        tdb_write(&t, 1 + i % 3);
        r = tdb_sync(&t);
        assert_true(r.wrote);
        assert_false(r.snapshot);
        assert_int_equal(r.txid, (uint64_t)i + 2);
        ltx_header hi = tdb_l0_header(&t, r.txid);
        ltx_header hp = tdb_l0_header(&t, r.txid - 1);
        /* contiguous WAL ranges */
        assert_int_equal(hi.wal_offset, hp.wal_offset + hp.wal_size);
        assert_int_equal(hi.wal_salt1, hp.wal_salt1);
        tdb_assert_local_equals(&t);
    }
    ls_db_status st;
    ls_db_status_get(t.db, &st);
    assert_true(st.initialized);
    assert_int_equal(st.page_size, 4096);
    assert_int_equal(st.txid, tdb_txid(&t));
    assert_true(st.last_sync_ns > 0);
    assert_int_equal(st.last_error, LS_OK);
    tdb_teardown(&t);
}

static void test_missing_database_is_not_ready(void **state) {
    (void)state;
    char *dir = lst_tmpdir();
    char *path = ls_path_join(dir, "nope.db");
    ls_db_opts o;
    memset(&o, 0, sizeof(o));
    ls_db_opts_defaults(&o);
    o.path = path;
    ls_db *db = NULL;
    ls_err e;
    assert_int_equal(ls_db_new(&o, &db, &e), LS_OK);
    bool ready = true;
    assert_int_equal(ls_db_init(db, &ready, &e), LS_OK);
    assert_false(ready);
    ls_sync_result r;
    assert_int_equal(ls_db_sync(db, &r, &e), LS_OK);
    assert_false(r.wrote);
    char *meta = ls_path_join(dir, ".nope.db-litestream");
    assert_false(ls_path_exists(meta));
    assert_string_equal(ls_db_meta_path(db), meta);
    ls_db_status st;
    ls_db_status_get(db, &st);
    assert_false(st.exists);
    assert_false(st.initialized);
    assert_int_equal(ls_db_close(db, &e), LS_OK);
    ls_db_free(db);
    char *dm = ls_db_default_meta_path("/var/lib/app.db");
    assert_string_equal(dm, "/var/lib/.app.db-litestream");
    free(dm);
    free(meta);
    free(path);
    lst_rmtree(dir);
}

static void test_init_creates_tables_and_removes_tmp(void **state) {
    (void)state;
    tdb t;
    tdb_setup(&t, 4096, 0);
    /* stale temporary files from a crash */
    ls_err e;
    assert_int_equal(ls_mkdir_p(t.l0, 0700, &e), LS_OK);
    char *tmp = ls_path_join(t.l0, "0000000000000001-0000000000000001.ltx.tmp");
    char *tmp2 = ls_path_join(t.meta, "x.tmp");
    lst_write_file(tmp, "junk", 4);
    lst_write_file(tmp2, "junk", 4);
    tdb_open_db(&t);
    assert_false(ls_path_exists(tmp));
    assert_false(ls_path_exists(tmp2));
    assert_int_equal(t_query_int(t.app, "SELECT COUNT(*) FROM sqlite_master WHERE name IN "
                                        "('_litestream_seq','_litestream_lock')"),
                     2);
    assert_true(t_file_size(t.wal) >= WAL_HEADER_SIZE);
    tdb_sync(&t);
    tdb_assert_local_equals(&t);
    free(tmp);
    free(tmp2);
    tdb_teardown(&t);
}

/* ---- restart ---- */

static void test_restart_resumes_incrementally(void **state) {
    (void)state;
    tdb t;
    tdb_setup(&t, 4096, 0);
    tdb_write(&t, 5);
    tdb_open_db(&t);
    tdb_sync(&t);
    tdb_write(&t, 5);
    tdb_sync(&t);
    tdb_close_db(&t);
    /* a new ls_db over the same meta dir */
    tdb_open_db(&t);
    assert_int_equal(tdb_txid(&t), 2);
    ls_sync_result r = tdb_sync(&t);
    assert_false(r.wrote);
    tdb_write(&t, 3);
    r = tdb_sync(&t);
    assert_true(r.wrote);
    assert_false(r.snapshot);
    assert_int_equal(r.txid, 3);
    tdb_assert_local_equals(&t);
    /* writes while closed, no checkpoint: still incremental */
    tdb_close_db(&t);
    tdb_write(&t, 4);
    tdb_open_db(&t);
    r = tdb_sync(&t);
    assert_true(r.wrote);
    assert_false(r.snapshot);
    tdb_assert_local_equals(&t);
    tdb_teardown(&t);
}

/* ---- byte limit ---- */

static void test_max_sync_wal_bytes_splits(void **state) {
    (void)state;
    tdb t;
    tdb_setup(&t, 1024, 0);
    t.opts.max_sync_wal_bytes = 8 * 1024;
    tdb_open_db(&t);
    tdb_sync(&t);
    /* many small transactions, ~1 KiB pages */
    tdb_write(&t, scale(60));
    ls_sync_result r = tdb_sync(&t);
    assert_true(r.wrote);
    uint64_t txid = tdb_txid(&t);
    assert_true(txid > 3); /* split into several files in ONE sync call */
    for (uint64_t i = 2; i <= txid; i++) {
        ltx_header h = tdb_l0_header(&t, i);
        ltx_header p = tdb_l0_header(&t, i - 1);
        assert_int_equal(h.wal_offset, p.wal_offset + p.wal_size);
        if (i < txid) assert_true(h.wal_size >= 8 * 1024);
        assert_true(h.wal_size < 8 * 1024 + 40 * (1024 + 24));
    }
    tdb_assert_local_equals(&t);
    /* one big transaction is never split (limits apply at commit frames) */
    tdb_insert(&t, t.app, scale(40), 900, true);
    r = tdb_sync(&t);
    assert_true(r.wrote);
    assert_int_equal(tdb_txid(&t), txid + 1);
    tdb_assert_local_equals(&t);
    tdb_teardown(&t);
}

/* ---- growing and shrinking ---- */

static void test_grow_and_vacuum(void **state) {
    (void)state;
    tdb t;
    tdb_setup(&t, 4096, 0);
    tdb_open_db(&t);
    tdb_sync(&t);
    tdb_insert(&t, t.app, scale(200), 3000, true);
    tdb_sync(&t);
    tdb_assert_local_equals(&t);
    int64_t big = t_query_int(t.app, "PRAGMA page_count");
    t_exec(t.app, "DELETE FROM t WHERE id % 4 != 0");
    tdb_sync(&t);
    tdb_assert_local_equals(&t);
    t_exec(t.app, "VACUUM");
    int64_t small = t_query_int(t.app, "PRAGMA page_count");
    assert_true(small < big);
    ls_sync_result r = tdb_sync(&t);
    assert_true(r.wrote);
    ltx_header h = tdb_l0_header(&t, r.txid);
    assert_int_equal(h.commit, small);
    tdb_assert_local_equals(&t);
    /* grow again */
    tdb_insert(&t, t.app, scale(100), 3000, false);
    tdb_sync(&t);
    tdb_assert_local_equals(&t);
    tdb_teardown(&t);
}

static void run_page_size(uint32_t ps) {
    tdb t;
    tdb_setup(&t, ps, 0);
    tdb_open_db(&t);
    ls_db_status st;
    ls_db_status_get(t.db, &st);
    assert_int_equal(st.page_size, ps);
    tdb_sync(&t);
    for (int i = 0; i < scale(6); i++) {
        tdb_insert(&t, t.app, 3, (int)(ps / 3) + 50, false);
        ls_sync_result r = tdb_sync(&t);
        assert_true(r.wrote);
        assert_false(r.snapshot);
    }
    t_exec(t.app, "DELETE FROM t WHERE id % 2 = 0");
    t_exec(t.app, "VACUUM");
    tdb_sync(&t);
    tdb_assert_local_equals(&t);
    assert_int_equal(tdb_l0_header(&t, 1).page_size, ps);
    tdb_teardown(&t);
}

static void test_page_size_1024(void **state) {
    (void)state;
    run_page_size(1024);
}

static void test_page_size_65536(void **state) {
    (void)state;
    run_page_size(65536);
}

/* ---- application checkpoints while our read transaction is held ---- */

static void run_app_checkpoint_pinned(const char *mode) {
    tdb t;
    tdb_setup(&t, 4096, 0);
    tdb_write(&t, 5);
    tdb_open_db(&t);
    tdb_sync(&t);
    uint32_t s1, s2, n1, n2;
    t_wal_salts(t.wal, &s1, &s2);
    for (int round = 0; round < 3; round++) {
        tdb_write(&t, 4);
        ls_sync_result r = tdb_sync(&t);
        assert_false(r.snapshot);
        /* the application checkpoints: it can backfill what we synced but
         * cannot restart/truncate the WAL while we hold the read tx */
        t_app_checkpoint(t.app, mode);
        tdb_write(&t, 3);
        t_app_checkpoint(t.app, mode);
        tdb_write(&t, 2);
        r = tdb_sync(&t);
        assert_true(r.wrote);
        assert_false(r.snapshot);
        tdb_assert_local_equals(&t);
    }
    t_wal_salts(t.wal, &n1, &n2);
    assert_int_equal(s1, n1); /* never restarted underneath us */
    assert_int_equal(s2, n2);
    /* The application's PASSIVE/FULL checkpoints did make progress: the
     * database file grew with backfilled pages. */
    tdb_teardown(&t);
}

static void test_app_checkpoint_passive_pinned(void **state) {
    (void)state;
    run_app_checkpoint_pinned("PASSIVE");
}
static void test_app_checkpoint_full_pinned(void **state) {
    (void)state;
    run_app_checkpoint_pinned("FULL");
}
static void test_app_checkpoint_restart_pinned(void **state) {
    (void)state;
    run_app_checkpoint_pinned("RESTART");
}
static void test_app_checkpoint_truncate_pinned(void **state) {
    (void)state;
    run_app_checkpoint_pinned("TRUNCATE");
}

/* The application's checkpoints make progress while we run: after a sync,
 * a PASSIVE checkpoint by the application backfills everything synced. */
static void test_app_checkpoint_progress(void **state) {
    (void)state;
    tdb t;
    tdb_setup(&t, 4096, 0);
    tdb_open_db(&t);
    tdb_sync(&t);
    tdb_write(&t, 20);
    tdb_sync(&t);
    int log = -1, ckpt = -1;
    int rc = sqlite3_wal_checkpoint_v2(t.app, "main", SQLITE_CHECKPOINT_PASSIVE, &log, &ckpt);
    assert_int_equal(rc, SQLITE_OK);
    assert_true(log > 0);
    assert_int_equal(ckpt, log); /* everything we synced could be backfilled */
    tdb_teardown(&t);
}

/* ---- application checkpoints while our read transaction is released ---- */

typedef enum { W_NONE, W_BEFORE, W_AFTER, W_BOTH } write_when;

/* sync; release pin; [write]; app checkpoint(mode); [write]; sync */
static void run_app_checkpoint_released(const char *mode, write_when ww, bool expect_snapshot) {
    tdb t;
    tdb_setup(&t, 4096, 0);
    tdb_write(&t, 30);
    tdb_open_db(&t);
    tdb_sync(&t);
    tdb_write(&t, 10);
    tdb_sync(&t);
    ls_db_release_read_tx(t.db);
    if (ww == W_BEFORE || ww == W_BOTH) tdb_write(&t, 3);
    int busy = t_app_checkpoint(t.app, mode);
    assert_int_equal(busy, 0);
    if (ww == W_AFTER || ww == W_BOTH) tdb_write(&t, 2);
    ls_sync_result r = tdb_sync(&t);
    if (ww != W_NONE || expect_snapshot) assert_true(r.wrote);
    if (expect_snapshot) assert_true(r.snapshot);
    else assert_false(r.snapshot);
    tdb_assert_local_equals(&t);
    /* and the chain continues */
    tdb_write(&t, 2);
    r = tdb_sync(&t);
    assert_true(r.wrote);
    assert_false(r.snapshot);
    tdb_assert_local_equals(&t);
    tdb_teardown(&t);
}

static void test_app_checkpoint_released(void **state) {
    (void)state;
    /* PASSIVE/FULL: no restart by the checkpoint itself; a later write
     * restarts the WAL */
    run_app_checkpoint_released("PASSIVE", W_NONE, false);
    run_app_checkpoint_released("PASSIVE", W_AFTER, false);
    run_app_checkpoint_released("PASSIVE", W_BEFORE, false); /* no restart yet */
    run_app_checkpoint_released("PASSIVE", W_BOTH, true);    /* unsynced frames lost from the WAL */
    run_app_checkpoint_released("FULL", W_AFTER, false);
    run_app_checkpoint_released("FULL", W_BOTH, true);
    /* RESTART: WAL restarted at once */
    run_app_checkpoint_released("RESTART", W_AFTER, false);
    run_app_checkpoint_released("RESTART", W_BEFORE, false); /* not yet overwritten */
    run_app_checkpoint_released("RESTART", W_BOTH, true);
    /* TRUNCATE: WAL truncated; we cannot tell what was lost */
    run_app_checkpoint_released("TRUNCATE", W_NONE, true);
    run_app_checkpoint_released("TRUNCATE", W_AFTER, true);
    run_app_checkpoint_released("TRUNCATE", W_BOTH, true);
}

/* Two restarts (two generations) while released: snapshot. */
static void test_double_restart_released(void **state) {
    (void)state;
    tdb t;
    tdb_setup(&t, 4096, 0);
    tdb_write(&t, 30);
    tdb_open_db(&t);
    tdb_sync(&t);
    ls_db_release_read_tx(t.db);
    tdb_write(&t, 5);
    t_app_checkpoint(t.app, "RESTART");
    tdb_write(&t, 5); /* generation 2 */
    t_app_checkpoint(t.app, "RESTART");
    tdb_write(&t, 1); /* generation 3, shorter */
    ls_sync_result r = tdb_sync(&t);
    assert_true(r.snapshot);
    tdb_assert_local_equals(&t);
    tdb_teardown(&t);
}

/* Our pin lands on read-mark slot 0 (the WAL was fully backfilled when it
 * began), so a writer may restart the WAL while we run. The guard proves
 * nothing was lost, so we continue incrementally from offset 32 even though
 * the new generation overwrote our last synced frame (Go would snapshot). */
static void test_guard_pin_on_slot0_restart(void **state) {
    (void)state;
    tdb t;
    tdb_setup(&t, 4096, 0);
    tdb_open_db(&t);
    tdb_sync(&t);
    ls_db_release_read_tx(t.db);
    tdb_write(&t, 1);
    int log = 0, ck = 0;
    assert_int_equal(sqlite3_wal_checkpoint_v2(t.app, "main", SQLITE_CHECKPOINT_PASSIVE, &log, &ck),
                     SQLITE_OK);
    assert_int_equal(log, ck); /* fully backfilled */
    ls_sync_result r = tdb_sync(&t); /* pin begins on slot 0, reads the row, guard set */
    assert_true(r.wrote);
    assert_false(r.snapshot);
    int64_t old_len = t_file_size(t.wal);
    uint32_t s1, s2, n1, n2;
    t_wal_salts(t.wal, &s1, &s2);
    /* the application's next write restarts the WAL and outgrows the old one */
    tdb_insert(&t, t.app, 30, 3000, true);
    t_wal_salts(t.wal, &n1, &n2);
    assert_true(n1 != s1 || n2 != s2);
    assert_true(t_file_size(t.wal) > old_len);
    /* a second restart is impossible while we hold slot 0 (no backfill) */
    assert_int_equal(t_app_checkpoint(t.app, "RESTART"), 1);
    tdb_write(&t, 2);
    r = tdb_sync(&t);
    assert_true(r.wrote);
    assert_false(r.snapshot);
    tdb_assert_local_equals(&t);
    ltx_header h = tdb_l0_header(&t, r.txid);
    assert_int_equal(h.wal_offset, WAL_HEADER_SIZE);
    assert_int_equal(h.wal_salt1, n1);
    tdb_teardown(&t);
}

/* 5.5 step 3 "expected truncation": with our pin on slot 0 and everything
 * synced, the application's TRUNCATE checkpoint succeeds; we continue
 * incrementally from offset 32 of the new WAL. */
static void test_guard_expected_truncation(void **state) {
    (void)state;
    tdb t;
    tdb_setup(&t, 4096, 0);
    tdb_write(&t, 20);
    tdb_open_db(&t);
    tdb_sync(&t);
    ls_db_release_read_tx(t.db);
    tdb_write(&t, 1);
    assert_int_equal(t_app_checkpoint(t.app, "PASSIVE"), 0);
    ls_sync_result r = tdb_sync(&t); /* pin on slot 0, guard set */
    assert_true(r.wrote);
    assert_int_equal(t_app_checkpoint(t.app, "TRUNCATE"), 0);
    assert_int_equal(t_file_size(t.wal), 0);
    tdb_write(&t, 1);
    r = tdb_sync(&t);
    assert_true(r.wrote);
    assert_false(r.snapshot);
    assert_int_equal(tdb_l0_header(&t, r.txid).wal_offset, WAL_HEADER_SIZE);
    tdb_assert_local_equals(&t);
    tdb_teardown(&t);
}

/* 5.5 step 7 without the guard: the new generation overwrote our last
 * synced frame, so nothing can be proven -> snapshot. */
static void test_released_restart_overwrites_last_page(void **state) {
    (void)state;
    tdb t;
    tdb_setup(&t, 4096, 0);
    tdb_write(&t, 5);
    tdb_open_db(&t);
    tdb_sync(&t);
    tdb_write(&t, 2);
    tdb_sync(&t);
    int64_t old_len = t_file_size(t.wal);
    ls_db_release_read_tx(t.db);
    assert_int_equal(t_app_checkpoint(t.app, "RESTART"), 0);
    tdb_insert(&t, t.app, 40, 3000, true);
    assert_true(t_file_size(t.wal) > old_len);
    ls_sync_result r = tdb_sync(&t);
    assert_true(r.snapshot);
    assert_non_null(strstr(r.reason, "last page does not exist"));
    tdb_assert_local_equals(&t);
    tdb_teardown(&t);
}

/* ---- writes while not running ---- */

static void test_writes_while_not_running(void **state) {
    (void)state;
    tdb t;
    tdb_setup(&t, 4096, 0);
    tdb_write(&t, 10);
    tdb_open_db(&t);
    tdb_sync(&t);
    tdb_close_db(&t);
    tdb_write(&t, 5);
    assert_int_equal(t_app_checkpoint(t.app, "TRUNCATE"), 0);
    tdb_write(&t, 2);
    tdb_open_db(&t);
    ls_sync_result r = tdb_sync(&t);
    assert_true(r.wrote);
    assert_true(r.snapshot);
    assert_non_null(r.reason);
    tdb_assert_local_equals(&t);
    /* same with RESTART and a shorter new generation */
    tdb_close_db(&t);
    tdb_write(&t, 8);
    assert_int_equal(t_app_checkpoint(t.app, "RESTART"), 0);
    tdb_write(&t, 1);
    tdb_open_db(&t);
    r = tdb_sync(&t);
    assert_true(r.snapshot);
    tdb_assert_local_equals(&t);
    /* and with nothing lost: checkpoint right after our last sync */
    tdb_sync(&t);
    tdb_close_db(&t);
    assert_int_equal(t_app_checkpoint(t.app, "RESTART"), 0);
    tdb_write(&t, 1);
    tdb_open_db(&t);
    r = tdb_sync(&t);
    assert_true(r.wrote);
    tdb_assert_local_equals(&t);
    tdb_teardown(&t);
}

/* ---- WAL deleted by the application ---- */

static void test_app_leaves_wal_mode(void **state) {
    (void)state;
    /* Leaving WAL mode needs the application to be the only connection, so
     * it can only happen while we are not running. */
    tdb t;
    tdb_setup(&t, 4096, 0);
    tdb_write(&t, 10);
    tdb_open_db(&t);
    tdb_sync(&t);
    tdb_write(&t, 2);
    tdb_sync(&t);
    tdb_close_db(&t);
    t_exec(t.app, "PRAGMA journal_mode = delete");
    assert_false(ls_path_exists(t.wal));
    tdb_write(&t, 3);
    t_exec(t.app, "PRAGMA journal_mode = wal");
    tdb_write(&t, 1);
    tdb_open_db(&t);
    ls_sync_result r = tdb_sync(&t);
    assert_true(r.snapshot);
    tdb_assert_local_equals(&t);
    /* left in delete mode: init switches it back to WAL */
    tdb_close_db(&t);
    t_exec(t.app, "PRAGMA journal_mode = delete");
    tdb_write(&t, 3);
    tdb_open_db(&t);
    r = tdb_sync(&t);
    assert_true(r.wrote);
    assert_true(r.snapshot);
    assert_true(t_file_size(t.wal) >= WAL_HEADER_SIZE);
    tdb_assert_local_equals(&t);
    tdb_write(&t, 1);
    r = tdb_sync(&t);
    assert_true(r.wrote);
    assert_false(r.snapshot);
    tdb_assert_local_equals(&t);
    tdb_teardown(&t);
}

/* ---- our checkpoint policy ---- */

static void test_policy_passive_threshold(void **state) {
    (void)state;
    tdb t;
    tdb_setup(&t, 4096, 0);
    t.opts.min_checkpoint_page_n = 8;
    tdb_open_db(&t);
    ls_sync_result r = tdb_sync(&t);
    uint32_t s1, s2, n1, n2;
    t_wal_salts(t.wal, &s1, &s2);
    int ckpts = 0;
    for (int i = 0; i < scale(8); i++) {
        tdb_write(&t, 3);
        r = tdb_sync(&t);
        assert_true(r.wrote);
        assert_false(r.snapshot); /* PASSIVE + seal: WAL restarts need no snapshot */
        if (r.checkpointed) ckpts++;
        tdb_assert_local_equals(&t);
    }
    assert_true(ckpts >= 1);
    t_wal_salts(t.wal, &n1, &n2);
    assert_true(s1 != n1 || s2 != n2);
    ls_db_status st;
    ls_db_status_get(t.db, &st);
    assert_true(st.last_checkpoint_ns > 0);
    tdb_teardown(&t);
}

/* A commit lands between a sync and its checkpoint (after_l0 runs right
 * after the sync's L0 file): the checkpoint is left to the next sync, which
 * runs under the write barrier and ships everything up to the checkpoint in
 * its one L0 file, no catch-up file of its own. */
typedef struct { tdb *t; bool armed; } joined_ctx;

static void joined_after_l0(void *arg) {
    joined_ctx *c = arg;
    if (!c->armed) return;
    c->armed = false;
    tdb_write(c->t, 1);
}

static void test_policy_joined_checkpoint(void **state) {
    (void)state;
    tdb t;
    tdb_setup(&t, 4096, 0);
    joined_ctx c = {&t, false};
    t.opts.min_checkpoint_page_n = 8;
    t.opts.after_l0 = joined_after_l0;
    t.opts.after_l0_arg = &c;
    tdb_open_db(&t);
    tdb_sync(&t);
    uint32_t s1, s2, n1, n2;
    t_wal_salts(t.wal, &s1, &s2);
    while (t_file_size(t.wal) < 32 + 10 * (4096 + 24)) tdb_write(&t, 4); /* past 8 pages */
    c.armed = true;
    ls_sync_result r = tdb_sync(&t);
    assert_true(r.wrote);
    assert_false(c.armed);       /* the commit happened after the sync */
    assert_false(r.checkpointed); /* ...so the checkpoint waits for the next sync */
    size_t before = 0, after = 0;
    free(t_list_l0(t.l0, &before));
    r = tdb_sync(&t);
    assert_true(r.wrote);
    assert_true(r.checkpointed);
    assert_false(r.snapshot);
    free(t_list_l0(t.l0, &after));
    assert_int_equal(after, before + 1); /* one file for the commit and the checkpoint */
    tdb_assert_local_equals(&t);
    tdb_write(&t, 1); /* restarts the WAL: everything was checkpointed */
    r = tdb_sync(&t);
    assert_true(r.wrote);
    assert_false(r.snapshot);
    t_wal_salts(t.wal, &n1, &n2);
    assert_true(s1 != n1 || s2 != n2);
    tdb_assert_local_equals(&t);
    tdb_teardown(&t);
}

static void test_policy_time_based(void **state) {
    (void)state;
    tdb t;
    tdb_setup(&t, 4096, 0);
    t.opts.checkpoint_interval_ns = 1000000; /* 1 ms */
    tdb_open_db(&t);
    tdb_sync(&t);
    tdb_write(&t, 3);
    struct timespec ts = {0, 20 * 1000000};
    nanosleep(&ts, NULL);
    ls_sync_result r = tdb_sync(&t);
    assert_true(r.wrote);
    assert_true(r.checkpointed);
    tdb_write(&t, 1);
    r = tdb_sync(&t);
    assert_false(r.snapshot);
    tdb_assert_local_equals(&t);
    tdb_teardown(&t);
}

static void test_forced_truncate_boundary_snapshot(void **state) {
    (void)state;
    tdb t;
    tdb_setup(&t, 4096, 0);
    tdb_write(&t, 20);
    tdb_open_db(&t);
    tdb_sync(&t);
    tdb_write(&t, 20);
    uint64_t before = tdb_txid(&t);
    ls_err e;
    assert_int_equal(ls_db_checkpoint(t.db, "TRUNCATE", &e), LS_OK);
    uint64_t after = tdb_txid(&t);
    /* catch-up sync + boundary snapshot */
    assert_int_equal(after, before + 2);
    ltx_header h = tdb_l0_header(&t, after);
    assert_int_equal(h.wal_offset, WAL_HEADER_SIZE);
    assert_true(t_file_size(t.wal) < 32 + 8 * (4096 + 24));
    tdb_assert_local_equals(&t);
    tdb_write(&t, 2);
    ls_sync_result r = tdb_sync(&t);
    assert_true(r.wrote);
    assert_false(r.snapshot);
    tdb_assert_local_equals(&t);
    assert_int_equal(ls_db_checkpoint(t.db, "RESTART", &e), LS_ERR_INVALID);
    assert_int_equal(ls_db_checkpoint(t.db, "PASSIVE", &e), LS_OK);
    tdb_write(&t, 1);
    tdb_sync(&t);
    tdb_assert_local_equals(&t);
    tdb_teardown(&t);
}

static void test_policy_emergency_truncate(void **state) {
    (void)state;
    tdb t;
    tdb_setup(&t, 4096, 0);
    t.opts.truncate_page_n = 10;
    t.opts.busy_timeout_ns = 50 * 1000000LL;
    tdb_open_db(&t);
    tdb_sync(&t);
    uint32_t s1, s2, n1, n2;
    t_wal_salts(t.wal, &s1, &s2);
    /* (a) an application reader with an old snapshot: PASSIVE cannot
     * complete and TRUNCATE stays busy; the sync itself still succeeds */
    sqlite3 *reader = t_open_conn(t.path, 10);
    t_exec(reader, "BEGIN");
    t_query_int(reader, "SELECT COUNT(*) FROM t");
    tdb_write(&t, 15);
    ls_sync_result r = tdb_sync(&t); /* threshold is judged on the previous offset */
    assert_true(r.wrote);
    tdb_write(&t, 1);
    r = tdb_sync(&t);
    assert_true(r.wrote);
    assert_true(r.checkpointed);
    t_wal_salts(t.wal, &n1, &n2);
    assert_int_equal(s1, n1);
    tdb_assert_local_equals(&t);
    t_exec(reader, "ROLLBACK");
    /* (b) reader gone: the emergency PASSIVE completes and restarts the WAL */
    tdb_write(&t, 1);
    r = tdb_sync(&t);
    assert_true(r.checkpointed);
    assert_false(r.snapshot);
    t_wal_salts(t.wal, &n1, &n2);
    assert_true(n1 != s1 || n2 != s2);
    tdb_assert_local_equals(&t);
    /* (c) a writer holds the write lock: PASSIVE's barrier is busy, so the
     * next emergency goes straight to TRUNCATE -> boundary snapshot */
    tdb_write(&t, 15);
    tdb_sync(&t);
    t_exec(reader, "BEGIN IMMEDIATE");
    r = tdb_sync(&t); /* barrier busy -> PASSIVE failed; TRUNCATE busy */
    assert_true(r.checkpointed);
    t_exec(reader, "ROLLBACK");
    tdb_write(&t, 1);
    r = tdb_sync(&t);
    assert_true(r.checkpointed);
    assert_true(r.snapshot);
    assert_non_null(r.reason);
    assert_string_equal(r.reason, "checkpoint boundary snapshot");
    assert_true(t_file_size(t.wal) < 32 + 10 * (4096 + 24));
    tdb_assert_local_equals(&t);
    tdb_write(&t, 1);
    r = tdb_sync(&t);
    assert_false(r.snapshot);
    tdb_assert_local_equals(&t);
    sqlite3_close(reader);
    tdb_teardown(&t);
}

/* ---- snapshot stream (7.5) ---- */

static void test_write_snapshot(void **state) {
    (void)state;
    tdb t;
    tdb_setup(&t, 4096, 0);
    tdb_write(&t, 20);
    tdb_open_db(&t);
    tdb_sync(&t);
    tdb_write(&t, 5);
    tdb_sync(&t);
    tdb_write(&t, 2); /* not yet synced: the snapshot catches up first */
    ls_writer *w = ls_writer_mem();
    uint64_t txid = 0;
    int64_t ts = 0;
    ls_err e;
    assert_int_equal(ls_db_write_snapshot(t.db, w, &txid, &ts, &e), LS_OK);
    assert_int_equal(txid, 3);
    assert_true(ts > 0);
    size_t len = 0;
    const uint8_t *data = ls_writer_mem_data(w, &len);
    char *p = ls_path_join(t.dir, "snap.ltx");
    lst_write_file(p, data, len);
    ls_writer_close(w);
    t_image img;
    memset(&img, 0, sizeof(img));
    t_apply_file(&img, p);
    size_t dlen = 0;
    unsigned char *db = t_db_image(t.app, &dlen);
    assert_int_equal(img.len, dlen);
    assert_memory_equal(img.data, db, dlen);
    sqlite3_free(db);
    t_image_free(&img);
    free(p);
    tdb_write(&t, 1);
    ls_sync_result sr = tdb_sync(&t);
    assert_false(sr.snapshot);
    tdb_assert_local_equals(&t);
    tdb_teardown(&t);
}

/* ---- position, corruption, retention, reset ---- */

static void test_pos_verifies_newest_file(void **state) {
    (void)state;
    tdb t;
    tdb_setup(&t, 4096, 0);
    tdb_write(&t, 5);
    tdb_open_db(&t);
    tdb_sync(&t);
    tdb_write(&t, 2);
    tdb_sync(&t);
    tdb_close_db(&t);
    char name[LTX_FILENAME_MAX];
    ltx_format_filename(2, 2, name);
    char *p = ls_path_join(t.l0, name);
    size_t len = 0;
    unsigned char *b = lst_read_file(p, &len);
    b[len / 2] ^= 0x55;
    lst_write_file(p, b, len);
    free(b);
    tdb_open_db(&t);
    ls_pos pos;
    ls_err e;
    ls_code rc = ls_db_pos(t.db, &pos, &e);
    assert_true(rc == LS_ERR_CHECKSUM || rc == LS_ERR_FORMAT);
    assert_non_null(strstr(e.msg, name));
    ls_sync_result r;
    assert_int_not_equal(ls_db_sync(t.db, &r, &e), LS_OK);
    ls_db_status st;
    ls_db_status_get(t.db, &st);
    assert_int_not_equal(st.last_error, LS_OK);
    /* reset: next sync is a fresh snapshot at TXID 1 */
    assert_int_equal(ls_db_reset_local(t.db, &e), LS_OK);
    r = tdb_sync(&t);
    assert_true(r.snapshot);
    assert_int_equal(r.txid, 1);
    tdb_assert_local_equals(&t);
    free(p);
    tdb_teardown(&t);
}

static void test_delete_l0_upto_and_open(void **state) {
    (void)state;
    tdb t;
    tdb_setup(&t, 4096, 0);
    tdb_open_db(&t);
    for (int i = 0; i < 5; i++) {
        tdb_write(&t, 1);
        tdb_sync(&t);
    }
    uint64_t n = tdb_txid(&t);
    assert_int_equal(n, 5);
    ls_err e;
    ls_reader *r = NULL;
    assert_int_equal(ls_db_open_l0(t.db, 3, &r, &e), LS_OK);
    ls_reader_close(r);
    assert_int_equal(ls_db_open_l0(t.db, 99, &r, &e), LS_ERR_NOTFOUND);
    assert_int_equal(ls_db_delete_l0_upto(t.db, 3, &e), LS_OK);
    size_t cnt = 0;
    uint64_t *v = t_list_l0(t.l0, &cnt);
    assert_int_equal(cnt, 2);
    assert_int_equal(v[0], 4);
    free(v);
    /* the newest file always survives */
    assert_int_equal(ls_db_delete_l0_upto(t.db, 100, &e), LS_OK);
    v = t_list_l0(t.l0, &cnt);
    assert_int_equal(cnt, 1);
    assert_int_equal(v[0], 5);
    free(v);
    assert_int_equal(tdb_txid(&t), 5);
    tdb_write(&t, 1);
    ls_sync_result sr = tdb_sync(&t);
    assert_false(sr.snapshot);
    assert_int_equal(sr.txid, 6);
    tdb_teardown(&t);
}

/* ---- disk full ---- */

static void test_disk_full(void **state) {
    (void)state;
    if (access("/dev/full", W_OK) != 0) {
        print_message("SKIP: /dev/full not available\n");
        skip();
    }
    tdb t;
    tdb_setup(&t, 4096, 0);
    tdb_write(&t, 5);
    tdb_open_db(&t);
    tdb_sync(&t);
    tdb_write(&t, 5);
    /* the next L0 file's ".tmp" points at /dev/full: every write fails ENOSPC */
    char name[LTX_FILENAME_MAX];
    ltx_format_filename(2, 2, name);
    char *tmp = ls_strfmt("%s/%s.tmp", t.l0, name);
    char *fin = ls_path_join(t.l0, name);
    assert_int_equal(symlink("/dev/full", tmp), 0);
    ls_sync_result r;
    ls_err e;
    assert_int_equal(ls_db_sync(t.db, &r, &e), LS_ERR_NOSPACE);
    assert_false(r.wrote);
    assert_false(ls_path_exists(fin));
    struct stat sb;
    assert_int_not_equal(lstat(tmp, &sb), 0); /* temp removed */
    ls_db_status st;
    ls_db_status_get(t.db, &st);
    assert_int_equal(st.last_error, LS_ERR_NOSPACE);
    assert_int_equal(tdb_txid(&t), 1);
    /* space is back */
    r = tdb_sync(&t);
    assert_true(r.wrote);
    assert_int_equal(r.txid, 2);
    assert_false(r.snapshot);
    tdb_assert_local_equals(&t);
    free(tmp);
    free(fin);
    tdb_teardown(&t);
}

/* ---- adopting a replica's L0 file ---- */

static void test_adopt_replica_l0(void **state) {
    (void)state;
    tdb a;
    tdb_setup(&a, 4096, 0);
    tdb_write(&a, 5);
    tdb_open_db(&a);
    for (int i = 0; i < 4; i++) {
        tdb_write(&a, 1);
        tdb_sync(&a);
    }
    /* meta directory lost */
    tdb_close_db(&a);
    char name[LTX_FILENAME_MAX];
    ltx_format_filename(4, 4, name);
    char *p = ls_path_join(a.l0, name);
    size_t len = 0;
    unsigned char *copy = lst_read_file(p, &len);
    ls_err e;
    assert_int_equal(ls_remove_all(a.meta, &e), LS_OK);
    tdb_write(&a, 2);
    tdb_open_db(&a);
    assert_int_equal(tdb_txid(&a), 0);
    ls_reader *src = ls_reader_mem(copy, len);
    assert_int_equal(ls_db_adopt_replica_l0(a.db, 4, src, &e), LS_OK);
    ls_reader_close(src);
    assert_int_equal(tdb_txid(&a), 4);
    ls_sync_result r = tdb_sync(&a);
    assert_true(r.wrote);
    assert_int_equal(r.txid, 5); /* same WAL: may continue incrementally */
    /* a bad file is refused and changes nothing */
    copy[len - 3] ^= 1;
    src = ls_reader_mem(copy, len);
    assert_int_not_equal(ls_db_adopt_replica_l0(a.db, 9, src, &e), LS_OK);
    ls_reader_close(src);
    assert_int_equal(tdb_txid(&a), 5);
    free(copy);
    free(p);
    tdb_teardown(&a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_sync_snapshot_then_incremental),
        cmocka_unit_test(test_missing_database_is_not_ready),
        cmocka_unit_test(test_init_creates_tables_and_removes_tmp),
        cmocka_unit_test(test_restart_resumes_incrementally),
        cmocka_unit_test(test_max_sync_wal_bytes_splits),
        cmocka_unit_test(test_grow_and_vacuum),
        cmocka_unit_test(test_page_size_1024),
        cmocka_unit_test(test_page_size_65536),
        cmocka_unit_test(test_app_checkpoint_passive_pinned),
        cmocka_unit_test(test_app_checkpoint_full_pinned),
        cmocka_unit_test(test_app_checkpoint_restart_pinned),
        cmocka_unit_test(test_app_checkpoint_truncate_pinned),
        cmocka_unit_test(test_app_checkpoint_progress),
        cmocka_unit_test(test_app_checkpoint_released),
        cmocka_unit_test(test_double_restart_released),
        cmocka_unit_test(test_guard_pin_on_slot0_restart),
        cmocka_unit_test(test_guard_expected_truncation),
        cmocka_unit_test(test_released_restart_overwrites_last_page),
        cmocka_unit_test(test_writes_while_not_running),
        cmocka_unit_test(test_app_leaves_wal_mode),
        cmocka_unit_test(test_policy_passive_threshold),
        cmocka_unit_test(test_policy_joined_checkpoint),
        cmocka_unit_test(test_policy_time_based),
        cmocka_unit_test(test_forced_truncate_boundary_snapshot),
        cmocka_unit_test(test_policy_emergency_truncate),
        cmocka_unit_test(test_write_snapshot),
        cmocka_unit_test(test_pos_verifies_newest_file),
        cmocka_unit_test(test_delete_l0_upto_and_open),
        cmocka_unit_test(test_disk_full),
        cmocka_unit_test(test_adopt_replica_l0),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
