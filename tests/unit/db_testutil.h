/*
 * tests/unit/db_testutil.h — helpers shared by test_db*.c and test_replica*.c
 * (header-only; static functions). A "tdb" is a temp directory with a real
 * SQLite database, an application connection and an ls_db on it.
 *
 * Never open the database FILE itself with open()/fopen() in these tests:
 * closing such an fd would drop the process's POSIX locks held by SQLite.
 * Database images come from sqlite3_serialize() on a connection.
 */
#ifndef LS_TESTS_DB_TESTUTIL_H
#define LS_TESTS_DB_TESTUTIL_H

#include <dirent.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testlib.h"

#include "engine/db.h"
#include "ltx/ltx.h"
#include "util/fs.h"
#include "wal/wal.h"

/* every helper is static and may be unused by a given test file */
#define TU_FN static __attribute__((unused))

typedef struct tdb {
    char *dir;
    char *path;
    char *wal;
    char *meta;
    char *l0;
    sqlite3 *app;
    ls_db *db;
    ls_db_opts opts;
    uint32_t ps;
    uint64_t seed;
    int rows;
} tdb;

TU_FN void t_exec(sqlite3 *c, const char *sql) {
    char *msg = NULL;
    int rc = sqlite3_exec(c, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) fail_msg("sql %s: %s", sql, msg ? msg : sqlite3_errstr(rc));
}

/* Returns the first column of the first row as int64 (e.g. PRAGMA). */
TU_FN int64_t t_query_int(sqlite3 *c, const char *sql) {
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(c, sql, -1, &st, NULL);
    if (rc != SQLITE_OK) fail_msg("prepare %s: %s", sql, sqlite3_errmsg(c));
    rc = sqlite3_step(st);
    int64_t v = -1;
    if (rc == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
    else if (rc != SQLITE_DONE) fail_msg("step %s: %s", sql, sqlite3_errmsg(c));
    sqlite3_finalize(st);
    return v;
}

/* PRAGMA wal_checkpoint(mode): returns the busy column. */
TU_FN int t_app_checkpoint(sqlite3 *c, const char *mode) {
    char sql[64];
    snprintf(sql, sizeof(sql), "PRAGMA wal_checkpoint(%s)", mode);
    return (int)t_query_int(c, sql);
}

TU_FN sqlite3 *t_open_conn(const char *path, int busy_ms) {
    sqlite3 *c = NULL;
    int rc = sqlite3_open_v2(path, &c, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK) fail_msg("open %s: %s", path, sqlite3_errstr(rc));
    sqlite3_busy_timeout(c, busy_ms);
    return c;
}

/* Creates dir + database with page size ps in WAL mode and table t. The
 * application connection keeps SQLite's default auto-checkpoint off unless
 * autockpt > 0. */
TU_FN void tdb_setup(tdb *t, uint32_t ps, int autockpt) {
    memset(t, 0, sizeof(*t));
    t->dir = lst_tmpdir();
    t->path = ls_path_join(t->dir, "app.db");
    t->wal = ls_strfmt("%s-wal", t->path);
    t->meta = ls_path_join(t->dir, ".app.db-litestream");
    t->l0 = ls_path_join(t->meta, "ltx/0");
    t->ps = ps;
    t->seed = 42;
    t->app = t_open_conn(t->path, 20);
    char sql[128];
    snprintf(sql, sizeof(sql), "PRAGMA page_size = %u", ps);
    t_exec(t->app, sql);
    t_exec(t->app, "PRAGMA journal_mode = wal");
    snprintf(sql, sizeof(sql), "PRAGMA wal_autocheckpoint = %d", autockpt);
    t_exec(t->app, sql);
    t_exec(t->app, "CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)");
    memset(&t->opts, 0, sizeof(t->opts));
    ls_db_opts_defaults(&t->opts);
    t->opts.path = t->path;
    t->opts.busy_timeout_ns = 200 * 1000000LL;
    t->opts.checkpoint_interval_ns = -1;         /* off unless a test enables it */
    t->opts.min_checkpoint_page_n = 1000000;     /* off unless a test lowers it */
    t->opts.truncate_page_n = -1;                /* off unless a test enables it */
    t->opts.max_sync_wal_bytes = 0;
}

TU_FN void tdb_open_db(tdb *t) {
    ls_err e;
    if (ls_db_new(&t->opts, &t->db, &e) != LS_OK) fail_msg("ls_db_new: %s", e.msg);
    bool ready = false;
    if (ls_db_init(t->db, &ready, &e) != LS_OK) fail_msg("ls_db_init: %s", e.msg);
    assert_true(ready);
}

TU_FN void tdb_close_db(tdb *t) {
    if (!t->db) return;
    ls_err e;
    if (ls_db_close(t->db, &e) != LS_OK) fail_msg("ls_db_close: %s", e.msg);
    ls_db_free(t->db);
    t->db = NULL;
}

TU_FN void tdb_teardown(tdb *t) {
    if (t->db) {
        ls_err e;
        ls_db_close(t->db, &e);
        ls_db_free(t->db);
    }
    if (t->app) sqlite3_close(t->app);
    free(t->path);
    free(t->wal);
    free(t->meta);
    free(t->l0);
    lst_rmtree(t->dir);
    memset(t, 0, sizeof(*t));
}

/* Inserts n rows of size bytes each, one transaction per row (or one for all). */
TU_FN void tdb_insert(tdb *t, sqlite3 *c, int n, int size, bool one_tx) {
    if (one_tx) t_exec(c, "BEGIN");
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(c, "INSERT INTO t (v) VALUES (?)", -1, &st, NULL),
                     SQLITE_OK);
    unsigned char *buf = malloc((size_t)size + 1);
    for (int i = 0; i < n; i++) {
        lst_rand_bytes(&t->seed, buf, (size_t)size);
        sqlite3_bind_blob(st, 1, buf, size, SQLITE_TRANSIENT);
        int rc = sqlite3_step(st);
        if (rc != SQLITE_DONE) fail_msg("insert: %s", sqlite3_errmsg(c));
        sqlite3_reset(st);
        t->rows++;
    }
    free(buf);
    sqlite3_finalize(st);
    if (one_tx) t_exec(c, "COMMIT");
}

TU_FN void tdb_write(tdb *t, int n) { tdb_insert(t, t->app, n, 200, false); }

TU_FN ls_sync_result tdb_sync(tdb *t) {
    ls_sync_result r;
    ls_err e;
    if (ls_db_sync(t->db, &r, &e) != LS_OK) fail_msg("ls_db_sync: %s", e.msg);
    return r;
}

/* Database image as seen by connection c (sqlite3_serialize). */
TU_FN unsigned char *t_db_image(sqlite3 *c, size_t *len) {
    sqlite3_int64 n = 0;
    unsigned char *p = sqlite3_serialize(c, "main", &n, 0);
    assert_non_null(p);
    *len = (size_t)n;
    return p;
}

/* ---- applying L0 files ---- */

typedef struct t_image {
    uint8_t *data;
    size_t len;
    uint32_t ps;
    uint64_t txid;     /* last applied */
    int files;
    int snapshots;     /* files that contained every page */
} t_image;

TU_FN int t_cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* TXIDs of the L0 files in dir (sorted); *n gets the count. */
TU_FN uint64_t *t_list_l0(const char *dir, size_t *n) {
    *n = 0;
    size_t cap = 16;
    uint64_t *v = malloc(cap * sizeof(*v));
    DIR *d = opendir(dir);
    if (!d) return v;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        uint64_t mn, mx;
        if (!ltx_parse_filename(de->d_name, &mn, &mx)) continue;
        assert_int_equal(mn, mx);
        if (*n == cap) v = realloc(v, (cap *= 2) * sizeof(*v));
        v[(*n)++] = mx;
    }
    closedir(d);
    qsort(v, *n, sizeof(*v), t_cmp_u64);
    return v;
}

/* Applies one LTX file to the image (full decode + verification). */
TU_FN void t_apply_file(t_image *img, const char *path) {
    ls_reader *r = NULL;
    ls_err e;
    if (ls_reader_file(path, &r, &e) != LS_OK) fail_msg("%s", e.msg);
    ltx_decoder *d = NULL;
    if (ltx_decoder_open(&d, r, &e) != LS_OK) fail_msg("%s: %s", path, e.msg);
    const ltx_header *h = ltx_decoder_header(d);
    assert_int_equal(h->flags, LTX_FLAG_NO_CHECKSUM);
    if (img->ps == 0) img->ps = h->page_size;
    assert_int_equal(h->page_size, img->ps);
    size_t nlen = (size_t)h->commit * h->page_size;
    if (ltx_header_is_snapshot(h)) {
        free(img->data);
        img->data = calloc(1, nlen ? nlen : 1);
    } else {
        img->data = realloc(img->data, nlen ? nlen : 1);
        if (nlen > img->len) memset(img->data + img->len, 0, nlen - img->len);
    }
    img->len = nlen;
    uint8_t *page = malloc(h->page_size);
    uint32_t count = 0;
    for (;;) {
        uint32_t pgno = 0;
        bool done = false;
        if (ltx_decoder_next_page(d, &pgno, page, &done, &e) != LS_OK)
            fail_msg("%s: %s", path, e.msg);
        if (done) break;
        assert_true(pgno >= 1 && pgno <= h->commit);
        memcpy(img->data + (size_t)(pgno - 1) * h->page_size, page, h->page_size);
        count++;
    }
    if (ltx_decoder_close(d, NULL, &e) != LS_OK) fail_msg("%s: %s", path, e.msg);
    uint32_t lock = ltx_lock_pgno(h->page_size);
    uint32_t expect_all = h->commit - (h->commit >= lock ? 1 : 0);
    if (count == expect_all) img->snapshots++;
    img->txid = h->max_txid;
    img->files++;
    ltx_decoder_free(d);
    ls_reader_close(r);
    free(page);
}

/* Applies every L0 file of dir in TXID order; TXIDs must be 1..N. */
TU_FN void t_apply_dir(const char *dir, t_image *img) {
    memset(img, 0, sizeof(*img));
    size_t n = 0;
    uint64_t *v = t_list_l0(dir, &n);
    assert_true(n > 0);
    for (size_t i = 0; i < n; i++) {
        if (v[i] != i + 1) fail_msg("%s: TXID gap: file %zu has TXID %" PRIu64, dir, i, v[i]);
        char name[LTX_FILENAME_MAX];
        ltx_format_filename(v[i], v[i], name);
        char *p = ls_path_join(dir, name);
        t_apply_file(img, p);
        free(p);
    }
    free(v);
}

TU_FN void t_image_free(t_image *img) {
    free(img->data);
    memset(img, 0, sizeof(*img));
}

/* The replayed L0 chain of dir equals the database as seen by c. */
TU_FN void t_assert_chain_equals(const char *dir, sqlite3 *c) {
    t_image img;
    t_apply_dir(dir, &img);
    size_t len = 0;
    unsigned char *db = t_db_image(c, &len);
    if (img.len != len) fail_msg("%s: image %zu bytes, database %zu bytes", dir, img.len, len);
    /* The replicator's own _litestream_seq bump after a checkpoint is left
     * for the next sync (as Go does), so that one page may be a step behind:
     * it holds no application data. */
    size_t seq_page = 0;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(c, "SELECT rootpage FROM sqlite_master WHERE name='_litestream_seq'",
                           -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        seq_page = (size_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    for (size_t off = 0; off < len; off += img.ps) {
        if (off / img.ps + 1 == seq_page) continue;
        if (memcmp(img.data + off, db + off, img.ps) != 0)
            fail_msg("%s: page %zu differs (last txid %" PRIu64 ")", dir, off / img.ps + 1,
                     img.txid);
    }
    sqlite3_free(db);
    t_image_free(&img);
}

TU_FN void tdb_assert_local_equals(tdb *t) { t_assert_chain_equals(t->l0, t->app); }

TU_FN uint64_t tdb_txid(tdb *t) {
    ls_pos p;
    ls_err e;
    if (ls_db_pos(t->db, &p, &e) != LS_OK) fail_msg("ls_db_pos: %s", e.msg);
    return p.txid;
}

/* Header of local L0 file txid. */
TU_FN ltx_header tdb_l0_header(tdb *t, uint64_t txid) {
    char name[LTX_FILENAME_MAX];
    ltx_format_filename(txid, txid, name);
    char *p = ls_path_join(t->l0, name);
    ls_reader *r = NULL;
    ls_err e;
    if (ls_reader_file(p, &r, &e) != LS_OK) fail_msg("%s", e.msg);
    ltx_header h;
    if (ltx_verify(r, &h, NULL, &e) != LS_OK) fail_msg("%s: %s", p, e.msg);
    ls_reader_close(r);
    free(p);
    return h;
}

TU_FN int64_t t_file_size(const char *path) {
    struct stat sb;
    if (stat(path, &sb) != 0) return -1;
    return (int64_t)sb.st_size;
}

/* WAL header salts (0,0 when missing). */
TU_FN void t_wal_salts(const char *wal, uint32_t *s1, uint32_t *s2) {
    uint8_t b[WAL_HEADER_SIZE] = {0};
    FILE *f = fopen(wal, "rb");
    if (f) {
        size_t n = fread(b, 1, sizeof(b), f);
        (void)n;
        fclose(f);
    }
    wal_header h;
    wal_header_decode(b, &h);
    *s1 = h.salt1;
    *s2 = h.salt2;
}

#endif
