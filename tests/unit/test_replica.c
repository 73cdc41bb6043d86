/*
 * tests/unit/test_replica.c — engine/replica: uploading local L0 files to a
 * file replica (spec 6), batch limit, failures without TXID gaps, backoff,
 * "database behind replica" adoption and auto-recovery.
 */
#include "db_testutil.h"

#include "engine/replica.h"
#include "storage/faulty.h"
#include "storage/ltxfiles.h"

typedef struct trep {
    char *root;        /* replica directory */
    char *l0;          /* root/ltx/0 */
    ls_storage *file;  /* inner file storage (owned by faulty when wrapped) */
    ls_storage *st;    /* what the replica uses */
    ls_replica *r;
} trep;

static void trep_open(trep *tr, const char *dir, bool faulty, int max_files, bool auto_recover) {
    memset(tr, 0, sizeof(*tr));
    tr->root = ls_path_join(dir, "replica");
    tr->l0 = ls_path_join(tr->root, "ltx/0");
    ls_err e;
    if (ls_storage_file_open(tr->root, &tr->file, &e) != LS_OK) fail_msg("%s", e.msg);
    tr->st = tr->file;
    if (faulty && ls_storage_faulty_wrap(tr->file, true, &tr->st, &e) != LS_OK)
        fail_msg("%s", e.msg);
    ls_replica_opts o = {.name = "file",
                         .storage = tr->st,
                         .sync_interval_ns = 1000000000LL,
                         .max_sync_ltx_files = max_files,
                         .auto_recover = auto_recover};
    if (ls_replica_new(&o, &tr->r, &e) != LS_OK) fail_msg("%s", e.msg);
}

static void trep_close(trep *tr) {
    ls_replica_free(tr->r); /* closes the storage */
    free(tr->root);
    free(tr->l0);
    memset(tr, 0, sizeof(*tr));
}

/* Runs upload steps until no batch limit is hit; returns the steps taken. */
static int trep_sync_all(trep *tr, ls_db *db) {
    int steps = 0;
    bool more = true;
    while (more) {
        ls_err e;
        if (ls_replica_sync(tr->r, db, &more, &e) != LS_OK) fail_msg("replica sync: %s", e.msg);
        steps++;
        assert_true(steps < 1000);
    }
    return steps;
}

static uint64_t trep_pos(trep *tr) {
    uint64_t p = 0;
    ls_err e;
    if (ls_replica_pos(tr->r, &p, &e) != LS_OK) fail_msg("%s", e.msg);
    return p;
}

static void test_upload_and_replay(void **state) {
    (void)state;
    tdb t;
    tdb_setup(&t, 4096, 0);
    tdb_write(&t, 10);
    tdb_open_db(&t);
    trep tr;
    trep_open(&tr, t.dir, false, 0, false);
    bool more = true;
    ls_err e;
    /* nothing local yet: waiting, not an error */
    assert_int_equal(ls_replica_sync(tr.r, t.db, &more, &e), LS_OK);
    assert_false(more);
    assert_int_equal(trep_pos(&tr), 0);
    for (int i = 0; i < 6; i++) {
        tdb_write(&t, 2);
        tdb_sync(&t);
    }
    trep_sync_all(&tr, t.db);
    assert_int_equal(trep_pos(&tr), tdb_txid(&t));
    t_assert_chain_equals(tr.l0, t.app);
    /* byte-identical copies with the header timestamp as mtime */
    for (uint64_t txid = 1; txid <= tdb_txid(&t); txid++) {
        char name[LTX_FILENAME_MAX];
        ltx_format_filename(txid, txid, name);
        char *a = ls_path_join(t.l0, name);
        char *b = ls_path_join(tr.l0, name);
        size_t la = 0, lb = 0;
        unsigned char *da = lst_read_file(a, &la);
        unsigned char *dbb = lst_read_file(b, &lb);
        assert_int_equal(la, lb);
        assert_memory_equal(da, dbb, la);
        ltx_header h = tdb_l0_header(&t, txid);
        struct stat sb;
        assert_int_equal(stat(b, &sb), 0);
        assert_int_equal((int64_t)sb.st_mtim.tv_sec * 1000 + sb.st_mtim.tv_nsec / 1000000,
                         h.timestamp);
        free(da);
        free(dbb);
        free(a);
        free(b);
    }
    ls_replica_status st;
    ls_replica_status_get(tr.r, &st);
    assert_int_equal(st.state, LS_REPLICA_IDLE);
    assert_int_equal(st.txid, tdb_txid(&t));
    assert_true(st.last_sync_ns > 0);
    assert_int_equal(st.consecutive_errors, 0);
    assert_true(st.stats.puts >= tdb_txid(&t));
    /* idle: no further puts */
    uint64_t puts = st.stats.puts;
    trep_sync_all(&tr, t.db);
    ls_replica_status_get(tr.r, &st);
    assert_int_equal(st.stats.puts, puts);
    assert_string_equal(ls_replica_name(tr.r), "file");
    assert_int_equal(ls_replica_sync_interval(tr.r), 1000000000LL);
    trep_close(&tr);
    tdb_teardown(&t);
}

static void test_batch_limit(void **state) {
    (void)state;
    tdb t;
    tdb_setup(&t, 4096, 0);
    tdb_open_db(&t);
    for (int i = 0; i < 7; i++) {
        tdb_write(&t, 1);
        tdb_sync(&t);
    }
    trep tr;
    trep_open(&tr, t.dir, false, 3, false);
    bool more = false;
    ls_err e;
    assert_int_equal(ls_replica_sync(tr.r, t.db, &more, &e), LS_OK);
    assert_true(more);
    assert_int_equal(trep_pos(&tr), 3);
    int steps = trep_sync_all(&tr, t.db);
    assert_int_equal(steps, 2); /* 4..6, then 7 */
    assert_int_equal(trep_pos(&tr), 7);
    t_assert_chain_equals(tr.l0, t.app);
    trep_close(&tr);
    tdb_teardown(&t);
}

static void test_upload_failure_no_gap(void **state) {
    (void)state;
    tdb t;
    tdb_setup(&t, 4096, 0);
    tdb_open_db(&t);
    for (int i = 0; i < 6; i++) {
        tdb_write(&t, 1);
        tdb_sync(&t);
    }
    trep tr;
    trep_open(&tr, t.dir, true, 0, false);
    ls_faulty_fail_nth(tr.st, LS_FAULT_PUT, 3, LS_ERR_NETWORK);
    bool more = false;
    ls_err e;
    assert_int_equal(ls_replica_sync(tr.r, t.db, &more, &e), LS_ERR_NETWORK);
    assert_non_null(strstr(e.msg, "0000000000000003"));
    ls_replica_status st;
    ls_replica_status_get(tr.r, &st);
    assert_int_equal(st.state, LS_REPLICA_ERROR);
    assert_int_equal(st.consecutive_errors, 1);
    assert_int_equal(st.last_error, LS_ERR_NETWORK);
    assert_true(st.last_error_ns > 0);
    assert_int_equal(ls_replica_backoff_ns(tr.r), 1000000000LL);
    /* a failure that happens after the object was stored (lost response) */
    ls_faulty_set_after(tr.st, true);
    ls_faulty_fail_nth(tr.st, LS_FAULT_PUT, 1, LS_ERR_NETWORK);
    assert_int_equal(ls_replica_sync(tr.r, t.db, &more, &e), LS_ERR_NETWORK);
    ls_replica_status_get(tr.r, &st);
    assert_int_equal(st.consecutive_errors, 2);
    assert_int_equal(ls_replica_backoff_ns(tr.r), 2000000000LL);
    ls_faulty_set_after(tr.st, false);
    /* listing fails: still an error, position unknown */
    ls_faulty_fail_nth(tr.st, LS_FAULT_LIST, 1, LS_ERR_NETWORK);
    assert_int_equal(ls_replica_sync(tr.r, t.db, &more, &e), LS_ERR_NETWORK);
    /* recovery: position recomputed from the listing, no gap */
    trep_sync_all(&tr, t.db);
    assert_int_equal(trep_pos(&tr), 6);
    ls_replica_status_get(tr.r, &st);
    assert_int_equal(st.state, LS_REPLICA_IDLE);
    assert_int_equal(st.consecutive_errors, 0);
    assert_int_equal(ls_replica_backoff_ns(tr.r), 0);
    t_assert_chain_equals(tr.l0, t.app);
    /* continues after more writes */
    tdb_write(&t, 3);
    tdb_sync(&t);
    trep_sync_all(&tr, t.db);
    t_assert_chain_equals(tr.l0, t.app);
    trep_close(&tr);
    tdb_teardown(&t);
}

static void test_backoff_cap(void **state) {
    (void)state;
    char *dir = lst_tmpdir();
    trep tr;
    trep_open(&tr, dir, true, 0, false);
    tdb t;
    tdb_setup(&t, 4096, 0);
    tdb_open_db(&t);
    tdb_sync(&t);
    ls_faulty_fail_every(tr.st, LS_FAULT_ALL, LS_ERR_NETWORK);
    ls_err e;
    bool more;
    for (int i = 0; i < 12; i++)
        assert_int_equal(ls_replica_sync(tr.r, t.db, &more, &e), LS_ERR_NETWORK);
    assert_int_equal(ls_replica_backoff_ns(tr.r), 5LL * 60 * 1000000000LL);
    ls_faulty_clear(tr.st);
    trep_sync_all(&tr, t.db);
    assert_int_equal(ls_replica_backoff_ns(tr.r), 0);
    ls_replica_set_state(tr.r, LS_REPLICA_STOPPED);
    ls_replica_status st;
    ls_replica_status_get(tr.r, &st);
    assert_int_equal(st.state, LS_REPLICA_STOPPED);
    trep_close(&tr);
    tdb_teardown(&t);
    lst_rmtree(dir);
}

/* The meta directory is lost while the replica has data: the local chain
 * adopts the replica's newest L0 file and continues from it. */
static void test_database_behind_replica(void **state) {
    (void)state;
    tdb t;
    tdb_setup(&t, 4096, 0);
    tdb_write(&t, 10);
    tdb_open_db(&t);
    trep tr;
    trep_open(&tr, t.dir, false, 0, false);
    for (int i = 0; i < 4; i++) {
        tdb_write(&t, 2);
        tdb_sync(&t);
    }
    trep_sync_all(&tr, t.db);
    assert_int_equal(trep_pos(&tr), 4);
    tdb_close_db(&t);
    ls_err e;
    assert_int_equal(ls_remove_all(t.meta, &e), LS_OK);
    /* writes + a truncating checkpoint while not running */
    tdb_write(&t, 3);
    assert_int_equal(t_app_checkpoint(t.app, "TRUNCATE"), 0);
    tdb_write(&t, 1);
    trep_close(&tr);
    trep_open(&tr, t.dir, false, 0, false);
    tdb_open_db(&t);
    ls_sync_result r = tdb_sync(&t); /* local TXID 1 (fresh chain) */
    assert_int_equal(r.txid, 1);
    trep_sync_all(&tr, t.db); /* local 1 < replica 4: adopt 4 */
    assert_int_equal(tdb_txid(&t), 4);
    r = tdb_sync(&t);
    assert_true(r.wrote);
    assert_true(r.snapshot);
    assert_int_equal(r.txid, 5);
    trep_sync_all(&tr, t.db);
    assert_int_equal(trep_pos(&tr), 5);
    t_assert_chain_equals(tr.l0, t.app);
    tdb_write(&t, 2);
    tdb_sync(&t);
    trep_sync_all(&tr, t.db);
    t_assert_chain_equals(tr.l0, t.app);
    trep_close(&tr);
    tdb_teardown(&t);
}

/* A corrupt newest local file: without auto-recover every attempt fails;
 * with it the local state is reset and the replica chain continues. */
static void test_auto_recover(void **state) {
    (void)state;
    tdb t;
    tdb_setup(&t, 4096, 0);
    tdb_write(&t, 10);
    tdb_open_db(&t);
    trep tr;
    trep_open(&tr, t.dir, false, 0, false);
    for (int i = 0; i < 3; i++) {
        tdb_write(&t, 2);
        tdb_sync(&t);
    }
    trep_sync_all(&tr, t.db);
    tdb_write(&t, 2);
    tdb_sync(&t); /* TXID 4, not uploaded yet */
    tdb_close_db(&t);
    char name[LTX_FILENAME_MAX];
    ltx_format_filename(4, 4, name);
    char *p = ls_path_join(t.l0, name);
    size_t len = 0;
    unsigned char *b = lst_read_file(p, &len);
    b[len - 20] ^= 0xff;
    lst_write_file(p, b, len);
    free(b);
    free(p);
    tdb_open_db(&t);
    bool more;
    ls_err e;
    ls_code rc = ls_replica_sync(tr.r, t.db, &more, &e);
    assert_true(rc == LS_ERR_CHECKSUM || rc == LS_ERR_FORMAT);
    assert_non_null(strstr(e.msg, "reset"));
    assert_int_equal(trep_pos(&tr), 3); /* the corrupt file was not uploaded */
    trep_close(&tr);

    trep_open(&tr, t.dir, false, 0, true);
    rc = ls_replica_sync(tr.r, t.db, &more, &e); /* resets local state */
    assert_int_not_equal(rc, LS_OK);
    tdb_sync(&t);                     /* fresh local TXID 1 */
    trep_sync_all(&tr, t.db);         /* behind the replica (3): adopt */
    assert_int_equal(tdb_txid(&t), 3);
    ls_sync_result r = tdb_sync(&t); /* same WAL: continues from file 3's offset */
    assert_true(r.wrote);
    assert_int_equal(r.txid, 4);
    trep_sync_all(&tr, t.db);
    t_assert_chain_equals(tr.l0, t.app);
    trep_close(&tr);
    tdb_teardown(&t);
}

/* A local file missing in the middle of the upload range: "ltx missing". */
static void test_missing_local_file(void **state) {
    (void)state;
    tdb t;
    tdb_setup(&t, 4096, 0);
    tdb_open_db(&t);
    for (int i = 0; i < 4; i++) {
        tdb_write(&t, 1);
        tdb_sync(&t);
    }
    char name[LTX_FILENAME_MAX];
    ltx_format_filename(2, 2, name);
    char *p = ls_path_join(t.l0, name);
    assert_int_equal(unlink(p), 0);
    free(p);
    trep tr;
    trep_open(&tr, t.dir, false, 0, false);
    bool more;
    ls_err e;
    assert_int_equal(ls_replica_sync(tr.r, t.db, &more, &e), LS_ERR_NOTFOUND);
    assert_non_null(strstr(e.msg, "ltx missing"));
    assert_int_equal(trep_pos(&tr), 1);
    trep_close(&tr);
    tdb_teardown(&t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_upload_and_replay),
        cmocka_unit_test(test_batch_limit),
        cmocka_unit_test(test_upload_failure_no_gap),
        cmocka_unit_test(test_backoff_cap),
        cmocka_unit_test(test_database_behind_replica),
        cmocka_unit_test(test_auto_recover),
        cmocka_unit_test(test_missing_local_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
