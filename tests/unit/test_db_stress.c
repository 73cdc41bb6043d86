/*
 * tests/unit/test_db_stress.c — engine/db under concurrency: an application
 * writer thread (with its own auto-checkpoint), an application thread that
 * runs checkpoints of every mode, and the replicator (sync with a low
 * checkpoint threshold, forced TRUNCATE checkpoints, snapshot streams,
 * uploads) all at once. Checks:
 *   - the final replayed L0 chain equals the database;
 *   - every snapshot stream equals the chain replayed up to its TXID;
 *   - intermediate replayed states are valid databases (integrity_check);
 *   - the replica's chain equals the local one.
 */
#include "db_testutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "engine/replica.h"
#include "storage/ltxfiles.h"

typedef struct shared {
    const char *path;
    atomic_bool stop;
    atomic_int writes;
    atomic_int ckpts;
    uint64_t seed;
} shared;

static void *writer_main(void *arg) {
    shared *s = arg;
    sqlite3 *c = t_open_conn(s->path, 5000);
    t_exec(c, "PRAGMA wal_autocheckpoint = 40");
    sqlite3_stmt *ins = NULL, *upd = NULL, *del = NULL;
    sqlite3_prepare_v2(c, "INSERT INTO t (v) VALUES (?)", -1, &ins, NULL);
    sqlite3_prepare_v2(c, "UPDATE t SET v = ? WHERE id = ?", -1, &upd, NULL);
    sqlite3_prepare_v2(c, "DELETE FROM t WHERE id % 7 = ?", -1, &del, NULL);
    unsigned char buf[1500];
    uint64_t seed = s->seed;
    while (!atomic_load(&s->stop)) {
        uint64_t r = lst_rand(&seed);
        int size = 50 + (int)(r % 1400);
        lst_rand_bytes(&seed, buf, (size_t)size);
        int rc;
        if (r % 50 == 0) {
            sqlite3_bind_int(del, 1, (int)(r % 7));
            rc = sqlite3_step(del);
            sqlite3_reset(del);
        } else if (r % 3 == 0) {
            sqlite3_bind_blob(upd, 1, buf, size, SQLITE_TRANSIENT);
            sqlite3_bind_int64(upd, 2, (int64_t)(r % 500) + 1);
            rc = sqlite3_step(upd);
            sqlite3_reset(upd);
        } else {
            sqlite3_bind_blob(ins, 1, buf, size, SQLITE_TRANSIENT);
            rc = sqlite3_step(ins);
            sqlite3_reset(ins);
        }
        if (rc != SQLITE_DONE && (rc & 0xff) != SQLITE_BUSY) {
            fprintf(stderr, "writer: %s\n", sqlite3_errmsg(c)); /* no cmocka in threads */
            abort();
        }
        if (rc == SQLITE_DONE) atomic_fetch_add(&s->writes, 1);
        if (r % 4 == 0) { /* a hot but not lock-hogging writer */
            struct timespec ts = {0, 200 * 1000L};
            nanosleep(&ts, NULL);
        }
    }
    sqlite3_finalize(ins);
    sqlite3_finalize(upd);
    sqlite3_finalize(del);
    sqlite3_close(c);
    return NULL;
}

static void *checkpointer_main(void *arg) {
    shared *s = arg;
    sqlite3 *c = t_open_conn(s->path, 5);
    static const int modes[] = {SQLITE_CHECKPOINT_PASSIVE, SQLITE_CHECKPOINT_FULL,
                                SQLITE_CHECKPOINT_RESTART, SQLITE_CHECKPOINT_TRUNCATE};
    uint64_t seed = s->seed ^ 0x5555;
    while (!atomic_load(&s->stop)) {
        int m = modes[lst_rand(&seed) % 4];
        int log = 0, ck = 0;
        sqlite3_wal_checkpoint_v2(c, "main", m, &log, &ck);
        atomic_fetch_add(&s->ckpts, 1);
        struct timespec ts = {0, (long)(1 + lst_rand(&seed) % 5) * 1000000L};
        nanosleep(&ts, NULL);
    }
    sqlite3_close(c);
    return NULL;
}

typedef struct poller {
    ls_db *db;
    ls_replica *rep;
    atomic_bool *stop;
    long polls;
} poller;

/* Status getters must be safe from any thread while the executor works. */
static void *poller_main(void *arg) {
    poller *p = arg;
    while (!atomic_load(p->stop)) {
        ls_db_status ds;
        ls_replica_status rs;
        ls_db_status_get(p->db, &ds);
        ls_replica_status_get(p->rep, &rs);
        if (ds.page_size != 0 && ds.page_size != 4096 && ds.page_size != 1024) abort();
        p->polls++;
        struct timespec ts = {0, 100 * 1000L};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

/* Replays local files 1..upto into img. */
static void replay_upto(const char *dir, uint64_t upto, t_image *img) {
    memset(img, 0, sizeof(*img));
    for (uint64_t txid = 1; txid <= upto; txid++) {
        char name[LTX_FILENAME_MAX];
        ltx_format_filename(txid, txid, name);
        char *p = ls_path_join(dir, name);
        t_apply_file(img, p);
        free(p);
    }
}

/* integrity_check of an image through sqlite3_deserialize. */
static void assert_valid_image(const uint8_t *data, size_t len, uint64_t txid) {
    sqlite3 *m = NULL;
    assert_int_equal(sqlite3_open(":memory:", &m), SQLITE_OK);
    unsigned char *copy = sqlite3_malloc64(len);
    memcpy(copy, data, len);
    if (len >= 100) copy[18] = copy[19] = 1; /* WAL -> rollback mode for memdb */
    int rc = sqlite3_deserialize(m, "main", copy, (sqlite3_int64)len, (sqlite3_int64)len,
                                 SQLITE_DESERIALIZE_FREEONCLOSE | SQLITE_DESERIALIZE_RESIZEABLE);
    assert_int_equal(rc, SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(m, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    const char *res = (const char *)sqlite3_column_text(st, 0);
    if (strcmp(res, "ok") != 0) fail_msg("state at TXID %" PRIu64 " is corrupt: %s", txid, res);
    sqlite3_finalize(st);
    sqlite3_close(m);
}

static void check_snapshot(tdb *t) {
    ls_writer *w = ls_writer_mem();
    uint64_t txid = 0;
    int64_t ts = 0;
    ls_err e;
    ls_code rc = ls_db_write_snapshot(t->db, w, &txid, &ts, &e);
    if (rc == LS_ERR_BUSY) { /* WAL restarted while streaming: retried later */
        ls_writer_close(w);
        return;
    }
    if (rc != LS_OK) fail_msg("snapshot: %s", e.msg);
    size_t len = 0;
    const uint8_t *data = ls_writer_mem_data(w, &len);
    char *p = ls_path_join(t->dir, "snap.ltx");
    lst_write_file(p, data, len);
    ls_writer_close(w);
    t_image snap;
    memset(&snap, 0, sizeof(snap));
    t_apply_file(&snap, p);
    free(p);
    t_image chain;
    replay_upto(t->l0, txid, &chain);
    assert_int_equal(snap.len, chain.len);
    if (memcmp(snap.data, chain.data, snap.len) != 0)
        fail_msg("snapshot of TXID %" PRIu64 " differs from the replayed chain", txid);
    assert_valid_image(chain.data, chain.len, txid);
    t_image_free(&snap);
    t_image_free(&chain);
}

static void run_stress(uint32_t ps, int64_t max_sync_bytes, int duration_ms, uint64_t seed) {
    tdb t;
    tdb_setup(&t, ps, 0);
    tdb_insert(&t, t.app, 200, 300, true);
    t.opts.min_checkpoint_page_n = 60;
    t.opts.truncate_page_n = 400;
    t.opts.max_sync_wal_bytes = max_sync_bytes;
    t.opts.busy_timeout_ns = 500 * 1000000LL;
    tdb_open_db(&t);
    char *root = ls_path_join(t.dir, "replica");
    char *rl0 = ls_path_join(root, "ltx/0");
    ls_storage *st = NULL;
    ls_err e;
    assert_int_equal(ls_storage_file_open(root, &st, &e), LS_OK);
    ls_replica_opts ro = {.name = "file", .storage = st, .max_sync_ltx_files = 16};
    ls_replica *rep = NULL;
    assert_int_equal(ls_replica_new(&ro, &rep, &e), LS_OK);

    shared s = {.path = t.path, .seed = seed};
    atomic_init(&s.stop, false);
    atomic_init(&s.writes, 0);
    atomic_init(&s.ckpts, 0);
    pthread_t wt, ct, pt;
    poller pl = {.db = t.db, .rep = rep, .stop = &s.stop};
    assert_int_equal(pthread_create(&wt, NULL, writer_main, &s), 0);
    assert_int_equal(pthread_create(&ct, NULL, checkpointer_main, &s), 0);
    assert_int_equal(pthread_create(&pt, NULL, poller_main, &pl), 0);

    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int iter = 0, snapshots = 0;
    for (;;) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        int64_t el = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
        if (el > duration_ms) break;
        ls_sync_result r;
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        ls_code rc = ls_db_sync(t.db, &r, &e);
        clock_gettime(CLOCK_MONOTONIC, &b);
        if (getenv("LST_STRESS_VERBOSE"))
            print_message("sync %d: %ld ms rc=%d ckpt=%d\n", iter,
                          (long)((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000),
                          rc, r.checkpointed);
        if (rc != LS_OK && rc != LS_ERR_BUSY) fail_msg("sync: %s", e.msg);
        if (r.snapshot) snapshots++;
        if (iter % 7 == 3) {
            clock_gettime(CLOCK_MONOTONIC, &a);
            rc = ls_db_checkpoint(t.db, "TRUNCATE", &e);
            clock_gettime(CLOCK_MONOTONIC, &b);
            if (getenv("LST_STRESS_VERBOSE"))
                print_message("truncate: %ld ms rc=%d\n",
                              (long)((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000),
                              rc);
            if (rc != LS_OK && rc != LS_ERR_BUSY) fail_msg("checkpoint: %s", e.msg);
        }
        if (iter % 11 == 5) check_snapshot(&t);
        bool more = true;
        while (more) {
            if (ls_replica_sync(rep, t.db, &more, &e) != LS_OK) fail_msg("upload: %s", e.msg);
        }
        iter++;
        struct timespec ts = {0, 2 * 1000000L};
        nanosleep(&ts, NULL);
    }
    atomic_store(&s.stop, true);
    pthread_join(wt, NULL);
    pthread_join(ct, NULL);
    pthread_join(pt, NULL);
    assert_true(pl.polls > 0);

    tdb_sync(&t);
    tdb_assert_local_equals(&t);
    bool more = true;
    while (more) {
        if (ls_replica_sync(rep, t.db, &more, &e) != LS_OK) fail_msg("upload: %s", e.msg);
    }
    t_assert_chain_equals(rl0, t.app);

    /* every 5th intermediate state is a valid database */
    uint64_t n = tdb_txid(&t);
    t_image img;
    memset(&img, 0, sizeof(img));
    for (uint64_t txid = 1; txid <= n; txid++) {
        char name[LTX_FILENAME_MAX];
        ltx_format_filename(txid, txid, name);
        char *p = ls_path_join(t.l0, name);
        t_apply_file(&img, p);
        free(p);
        if (txid % 5 == 0 || txid == n) assert_valid_image(img.data, img.len, txid);
    }
    t_image_free(&img);
    print_message("stress ps=%u: %d syncs, %" PRIu64 " L0 files, %d snapshots, %d app writes, "
                  "%d app checkpoints\n",
                  ps, iter, n, snapshots, atomic_load(&s.writes), atomic_load(&s.ckpts));
    assert_true(atomic_load(&s.writes) > 0);
    ls_replica_free(rep);
    free(root);
    free(rl0);
    tdb_teardown(&t);
}

static int dur(int ms) { return lst_under_valgrind() ? ms / 2 : ms; }

static void test_stress_4096(void **state) {
    (void)state;
    run_stress(4096, 0, dur(2500), 1);
}

static void test_stress_1024_limited(void **state) {
    (void)state;
    run_stress(1024, 16 * 1024, dur(2000), 2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stress_4096),
        cmocka_unit_test(test_stress_1024_limited),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
