/*
 * tests/unit/test_restore.c — restore plan (spec 8.3) and apply (8.4):
 * the golden synthetic replica (MANIFEST section D, "Expected restore
 * results"), plan edge cases, corrupt inputs, output rules, cancellation,
 * concurrency on one output, and a multi-megabyte database restored with
 * bounded memory.
 */
#include "testlib.h"

#include <fcntl.h>
#include <malloc.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine/restore.h"
#include "engine/restore_internal.h"
#include "ltx/ltx.h"
#include "storage/ltxfiles.h"
#include "storage/storage.h"
#include "util/fs.h"
#include "util/stream.h"

#if defined(__SANITIZE_ADDRESS__)
#define LST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LST_ASAN 1
#endif
#endif
#ifndef LST_ASAN
#define LST_ASAN 0
#endif

/* ---- sha256 through OpenSSL EVP ---------------------------------------- */

static void sha256_file_hex(const char *path, char out[65]) {
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    assert_non_null(ctx);
    assert_int_equal(EVP_DigestInit_ex(ctx, EVP_sha256(), NULL), 1);
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    unsigned char buf[65536];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0)
        assert_int_equal(EVP_DigestUpdate(ctx, buf, (size_t)n), 1);
    assert_true(n == 0);
    close(fd);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    assert_int_equal(EVP_DigestFinal_ex(ctx, md, &mdlen), 1);
    assert_int_equal(mdlen, 32);
    EVP_MD_CTX_free(ctx);
    for (int i = 0; i < 32; i++) snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* ---- fixtures ------------------------------------------------------------ */

typedef struct fx {
    char *dir;       /* temp dir */
    char *root;      /* replica root */
    char *out;       /* output path */
    ls_storage *st;
} fx;

static int setup(void **state) {
    fx *f = calloc(1, sizeof(*f));
    f->dir = lst_tmpdir();
    f->root = ls_path_join(f->dir, "replica");
    f->out = ls_path_join(f->dir, "out/restored.db");
    ls_err err;
    if (ls_storage_file_open(f->root, &f->st, &err) != LS_OK) fail_msg("%s", err.msg);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fx *f = *state;
    ls_storage_close(f->st);
    free(f->root);
    free(f->out);
    lst_rmtree(f->dir);
    free(f);
    return 0;
}

static void put_bytes(ls_storage *st, int level, uint64_t mn, uint64_t mx, const void *data,
                      size_t len, int64_t ts_ms) {
    ls_reader *r = ls_reader_mem(data, len);
    ls_err err;
    if (ls_ltx_write(st, level, mn, mx, r, ts_ms, &err) != LS_OK) fail_msg("%s", err.msg);
    ls_reader_close(r);
}

/* A placeholder file for plan-only tests (content is never read). */
static void put_fake(ls_storage *st, int level, uint64_t mn, uint64_t mx, int64_t ts_ms) {
    uint8_t buf[128];
    memset(buf, 0xAB, sizeof(buf));
    put_bytes(st, level, mn, mx, buf, sizeof(buf), ts_ms);
}

static void put_golden(ls_storage *st, int level, uint64_t mn, uint64_t mx, const char *name,
                       int64_t ts_ms) {
    char rel[256];
    snprintf(rel, sizeof(rel), "testdata/golden/%s", name);
    char *p = lst_shared_path(rel);
    assert_non_null(p);
    size_t len;
    unsigned char *data = lst_read_file(p, &len);
    put_bytes(st, level, mn, mx, data, len, ts_ms);
    free(data);
    free(p);
}

#define TS1 INT64_C(1700000000000) /* D2 */
#define TS2 INT64_C(1700000001000) /* D3, D4 */

static void put_golden_replica(ls_storage *st, bool with_d4) {
    put_golden(st, 0, 1, 1, "ltx-v3-synthetic-l0-0000000000000001-0000000000000001.ltx", TS1);
    put_golden(st, 0, 2, 2, "ltx-v3-synthetic-l0-0000000000000002-0000000000000002.ltx", TS2);
    if (with_d4)
        put_golden(st, 1, 1, 2, "ltx-v3-synthetic-l1-0000000000000001-0000000000000002.ltx", TS2);
}

typedef struct pf {
    int level;
    uint64_t mn, mx;
} pf;

static void assert_plan(const ls_restore_plan *p, const pf *want, size_t n) {
    if (p->n != n) {
        for (size_t i = 0; i < p->n; i++)
            print_message("plan[%zu] = L%d %llu-%llu\n", i, p->files[i].level,
                          (unsigned long long)p->files[i].min_txid,
                          (unsigned long long)p->files[i].max_txid);
        fail_msg("plan has %zu files, want %zu", p->n, n);
    }
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(p->files[i].level, want[i].level);
        assert_int_equal(p->files[i].min_txid, want[i].mn);
        assert_int_equal(p->files[i].max_txid, want[i].mx);
    }
    assert_int_equal(p->min_txid, want[0].mn);
    assert_int_equal(p->max_txid, want[n - 1].mx);
}

static ls_code plan_for(ls_storage *st, uint64_t txid, int64_t ts_ns, ls_restore_plan *p,
                        ls_err *err) {
    ls_err_clear(err);
    return ls_restore_plan_compute(st, txid, ts_ns, p, err);
}

static bool path_exists(const char *p) {
    struct stat sb;
    return lstat(p, &sb) == 0;
}

/* Nothing but the expected entries in the output directory. */
static void assert_no_leftovers(const char *out) {
    char *p = ls_strfmt("%s.tmp", out);
    assert_false(path_exists(p));
    free(p);
    static const char *sfx[] = {".tmp-wal", ".tmp-shm", ".tmp-journal", ".tmp-work", "-wal",
                                "-shm"};
    for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
        p = ls_strfmt("%s%s", out, sfx[i]);
        if (path_exists(p)) fail_msg("left behind: %s", p);
        free(p);
    }
}

static ls_code do_restore(fx *f, uint64_t txid, int64_t ts_ns, ls_restore_fetch fetch,
                          ls_restore_result *res, ls_err *err) {
    ls_restore_opts o = {.output = f->out, .txid = txid, .timestamp_ns = ts_ns,
                         .integrity = LS_INTEGRITY_FULL, .parallelism = 2, .fetch = fetch};
    ls_err_clear(err);
    return ls_restore_run(f->st, &o, res, err);
}

static void assert_has_table_t(const char *path) {
    sqlite3 *db = NULL;
    char *uri = ls_strfmt("file:%s?immutable=1", path);
    assert_int_equal(sqlite3_open_v2(uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL),
                     SQLITE_OK);
    free(uri);
    sqlite3_stmt *s = NULL;
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master WHERE name='t'", -1, &s, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(s, 0), 1);
    sqlite3_finalize(s);
    sqlite3_close(db);
}

#define SHA_LATEST "251688f5628345349360146859f22778e97b16751bdbeb49b57f2e747b7c03e5"
#define SHA_TXID1 "7985d875ff1b004486787df3ac03a5562ee3ae5c98ec91ad0f856f459b43b5a0"

static void check_restored(fx *f, const ls_restore_result *res, const char *sha, uint64_t txid) {
    char hex[65];
    struct stat sb;
    assert_int_equal(stat(f->out, &sb), 0);
    assert_int_equal(sb.st_size, 8192);
    sha256_file_hex(f->out, hex);
    assert_string_equal(hex, sha);
    assert_string_equal(res->restored_path, f->out);
    assert_int_equal(res->txid, txid);
    assert_int_equal(res->size, 8192);
    assert_int_equal(res->page_size, 4096);
    assert_string_equal(res->layout, "ltx");
    assert_string_equal(res->integrity_result, "ok");
    assert_no_leftovers(f->out);
    assert_has_table_t(f->out);
}

/* ======================================================================== */
/* Golden replica: every row of MANIFEST D "Expected restore results".      */

static void test_golden_latest(void **state) {
    LST_REQUIRE_SHARED();
    fx *f = *state;
    put_golden_replica(f->st, true);
    ls_restore_plan p;
    ls_err err;
    assert_int_equal(plan_for(f->st, 0, 0, &p, &err), LS_OK);
    assert_plan(&p, (pf[]){{1, 1, 2}}, 1);
    ls_restore_plan_free(&p);
    ls_restore_result res;
    ls_code rc = do_restore(f, 0, 0, LS_RESTORE_FETCH_AUTO, &res, &err);
    if (rc != LS_OK) fail_msg("%s", err.msg);
    check_restored(f, &res, SHA_LATEST, 2);
    ls_restore_result_free(&res);
}

static void test_golden_latest_download(void **state) {
    LST_REQUIRE_SHARED();
    fx *f = *state;
    put_golden_replica(f->st, true);
    ls_restore_result res;
    ls_err err;
    ls_code rc = do_restore(f, 0, 0, LS_RESTORE_FETCH_DOWNLOAD, &res, &err);
    if (rc != LS_OK) fail_msg("%s", err.msg);
    check_restored(f, &res, SHA_LATEST, 2);
    ls_restore_result_free(&res);
}

static void test_golden_without_d4(void **state) {
    LST_REQUIRE_SHARED();
    fx *f = *state;
    put_golden_replica(f->st, false);
    ls_restore_plan p;
    ls_err err;
    assert_int_equal(plan_for(f->st, 0, 0, &p, &err), LS_OK);
    assert_plan(&p, (pf[]){{0, 1, 1}, {0, 2, 2}}, 2);
    ls_restore_plan_free(&p);
    ls_restore_result res;
    ls_code rc = do_restore(f, 0, 0, LS_RESTORE_FETCH_STREAM, &res, &err);
    if (rc != LS_OK) fail_msg("%s", err.msg);
    check_restored(f, &res, SHA_LATEST, 2);
    ls_restore_result_free(&res);
}

static void test_golden_txid1(void **state) {
    LST_REQUIRE_SHARED();
    fx *f = *state;
    put_golden_replica(f->st, true);
    ls_restore_plan p;
    ls_err err;
    assert_int_equal(plan_for(f->st, 1, 0, &p, &err), LS_OK);
    assert_plan(&p, (pf[]){{0, 1, 1}}, 1);
    ls_restore_plan_free(&p);
    ls_restore_result res;
    ls_code rc = do_restore(f, 1, 0, LS_RESTORE_FETCH_AUTO, &res, &err);
    if (rc != LS_OK) fail_msg("%s", err.msg);
    check_restored(f, &res, SHA_TXID1, 1);
    ls_restore_result_free(&res);
}

static void test_golden_legacy_frame(void **state) {
    LST_REQUIRE_SHARED();
    fx *f = *state;
    put_golden(f->st, 0, 1, 1,
               "ltx-v3-legacyframe-synthetic-l0-0000000000000001-0000000000000001.ltx", TS1);
    ls_restore_plan p;
    ls_err err;
    assert_int_equal(plan_for(f->st, 0, 0, &p, &err), LS_OK);
    assert_plan(&p, (pf[]){{0, 1, 1}}, 1);
    ls_restore_plan_free(&p);
    ls_restore_result res;
    ls_code rc = do_restore(f, 0, 0, LS_RESTORE_FETCH_AUTO, &res, &err);
    if (rc != LS_OK) fail_msg("%s", err.msg);
    check_restored(f, &res, SHA_TXID1, 1);
    ls_restore_result_free(&res);
}

/* A timestamp between D2 and D3 restores TXID 1 (accurate creation times:
 * the file backend reports the recorded mtime). */
static void test_golden_timestamp(void **state) {
    LST_REQUIRE_SHARED();
    fx *f = *state;
    put_golden_replica(f->st, true);
    ls_restore_plan p;
    ls_err err;
    int64_t ts = TS2 * 1000000; /* created_at < ts is required: D3/D4 excluded */
    assert_int_equal(plan_for(f->st, 0, ts, &p, &err), LS_OK);
    assert_plan(&p, (pf[]){{0, 1, 1}}, 1);
    ls_restore_plan_free(&p);
    assert_int_equal(plan_for(f->st, 0, ts + 1, &p, &err), LS_OK);
    assert_plan(&p, (pf[]){{1, 1, 2}}, 1);
    ls_restore_plan_free(&p);
    ls_restore_result res;
    ls_code rc = do_restore(f, 0, ts, LS_RESTORE_FETCH_AUTO, &res, &err);
    if (rc != LS_OK) fail_msg("%s", err.msg);
    check_restored(f, &res, SHA_TXID1, 1);
    ls_restore_result_free(&res);
    /* Before the first file: nothing. */
    assert_int_equal(plan_for(f->st, 0, TS1 * 1000000, &p, &err), LS_ERR_UNAVAILABLE);
    assert_string_equal(err.msg, "transaction not available");
    /* CLI pre-check of 8.6. */
    assert_int_equal(ls_restore_check_timestamp(f->st, TS1 * 1000000 - 1, &err),
                     LS_ERR_UNAVAILABLE);
    assert_string_equal(err.msg, "timestamp does not exist");
    assert_int_equal(ls_restore_check_timestamp(f->st, TS2 * 1000000 + 1, &err),
                     LS_ERR_UNAVAILABLE);
    assert_int_equal(ls_restore_check_timestamp(f->st, TS1 * 1000000, &err), LS_OK);
    assert_int_equal(ls_restore_check_timestamp(f->st, TS2 * 1000000, &err), LS_OK);
}

/* ======================================================================== */
/* Plan edge cases (placeholder files: plans never read contents).          */

static void test_plan_empty_and_invalid(void **state) {
    fx *f = *state;
    ls_restore_plan p;
    ls_err err;
    assert_int_equal(plan_for(f->st, 0, 0, &p, &err), LS_ERR_UNAVAILABLE);
    assert_string_equal(err.msg, "transaction not available");
    assert_int_equal(p.n, 0);
    assert_int_equal(plan_for(f->st, 5, 0, &p, &err), LS_ERR_UNAVAILABLE);
    assert_int_equal(plan_for(f->st, 5, 123, &p, &err), LS_ERR_INVALID);
    assert_string_equal(err.msg, "cannot specify index & timestamp to restore");
    assert_int_equal(ls_restore_check_timestamp(f->st, 123, &err), LS_ERR_UNAVAILABLE);
    assert_string_equal(err.msg, "no backups found");
}

static void test_plan_gap(void **state) {
    fx *f = *state;
    put_fake(f->st, 0, 1, 1, 1000);
    put_fake(f->st, 0, 2, 2, 2000);
    put_fake(f->st, 0, 4, 4, 4000);
    ls_restore_plan p;
    ls_err err;
    assert_int_equal(plan_for(f->st, 0, 0, &p, &err), LS_ERR_FORMAT);
    assert_string_equal(err.msg, "non-contiguous ltx files: have up to 0000000000000002 but next "
                                 "file starts at 0000000000000004");
    /* Targeted restores stop before the gap without the contiguity check. */
    assert_int_equal(plan_for(f->st, 2, 0, &p, &err), LS_OK);
    assert_plan(&p, (pf[]){{0, 1, 1}, {0, 2, 2}}, 2);
    ls_restore_plan_free(&p);
    assert_int_equal(plan_for(f->st, 4, 0, &p, &err), LS_ERR_UNAVAILABLE);
    assert_int_equal(plan_for(f->st, 0, INT64_C(10000) * 1000000, &p, &err), LS_OK);
    assert_plan(&p, (pf[]){{0, 1, 1}, {0, 2, 2}}, 2);
    ls_restore_plan_free(&p);
    /* A higher level bridges the gap. */
    put_fake(f->st, 1, 1, 3, 3000);
    assert_int_equal(plan_for(f->st, 0, 0, &p, &err), LS_OK);
    assert_plan(&p, (pf[]){{1, 1, 3}, {0, 4, 4}}, 2);
    ls_restore_plan_free(&p);
}

static void test_plan_overlap_and_ordering(void **state) {
    fx *f = *state;
    /* L1 1-5, L0 1..7 individually, L2 1-5 (ties L1 on range, higher level
     * wins), L3 3-6 (overlap). */
    for (uint64_t t = 1; t <= 7; t++) put_fake(f->st, 0, t, t, (int64_t)t * 1000);
    put_fake(f->st, 1, 1, 5, 5000);
    put_fake(f->st, 2, 1, 5, 5000);
    put_fake(f->st, 3, 3, 6, 6000);
    ls_restore_plan p;
    ls_err err;
    assert_int_equal(plan_for(f->st, 0, 0, &p, &err), LS_OK);
    /* From 0: candidates L2 1-5, L1 1-5, L0 1-1 -> L2 1-5 (higher level).
     * From 5: L3 3-6 (overlap allowed; max 6 beats L0 6-6? equal max, L3
     * has smaller min... L3 min 3 < L0 min 6) -> L3 3-6, then L0 7-7. */
    assert_plan(&p, (pf[]){{2, 1, 5}, {3, 3, 6}, {0, 7, 7}}, 3);
    ls_restore_plan_free(&p);
    /* TXID target 4 can only be met by L0 files (L1/L2 end at 5). */
    assert_int_equal(plan_for(f->st, 4, 0, &p, &err), LS_OK);
    assert_plan(&p, (pf[]){{0, 1, 1}, {0, 2, 2}, {0, 3, 3}, {0, 4, 4}}, 4);
    ls_restore_plan_free(&p);
}

static void test_plan_smaller_min_beats_level(void **state) {
    fx *f = *state;
    put_fake(f->st, 0, 1, 2, 1000);
    put_fake(f->st, 4, 3, 6, 3000);  /* from 2: L4 3-6 */
    put_fake(f->st, 1, 2, 6, 3000);  /* also reaches 6 but min 2 < 3 */
    ls_restore_plan p;
    ls_err err;
    assert_int_equal(plan_for(f->st, 0, 0, &p, &err), LS_OK);
    assert_plan(&p, (pf[]){{0, 1, 2}, {1, 2, 6}}, 2);
    ls_restore_plan_free(&p);
}

static void test_plan_snapshots(void **state) {
    fx *f = *state;
    put_fake(f->st, 9, 1, 10, 10000);
    put_fake(f->st, 9, 1, 20, 20000);
    put_fake(f->st, 0, 21, 21, 21000);
    put_fake(f->st, 1, 11, 15, 15000);
    put_fake(f->st, 0, 16, 16, 16000);
    ls_restore_plan p;
    ls_err err;
    assert_int_equal(plan_for(f->st, 0, 0, &p, &err), LS_OK);
    assert_plan(&p, (pf[]){{9, 1, 20}, {0, 21, 21}}, 2);
    ls_restore_plan_free(&p);
    /* TXID target: newest snapshot not past it, then levels. */
    assert_int_equal(plan_for(f->st, 15, 0, &p, &err), LS_OK);
    assert_plan(&p, (pf[]){{9, 1, 10}, {1, 11, 15}}, 2);
    ls_restore_plan_free(&p);
    assert_int_equal(plan_for(f->st, 10, 0, &p, &err), LS_OK);
    assert_plan(&p, (pf[]){{9, 1, 10}}, 1);
    ls_restore_plan_free(&p);
    assert_int_equal(plan_for(f->st, 16, 0, &p, &err), LS_OK);
    assert_plan(&p, (pf[]){{9, 1, 10}, {1, 11, 15}, {0, 16, 16}}, 3);
    ls_restore_plan_free(&p);
    assert_int_equal(plan_for(f->st, 12, 0, &p, &err), LS_ERR_UNAVAILABLE);
    /* Timestamp: snapshot created strictly before it. */
    assert_int_equal(plan_for(f->st, 0, INT64_C(20000) * 1000000, &p, &err), LS_OK);
    assert_plan(&p, (pf[]){{9, 1, 10}, {1, 11, 15}, {0, 16, 16}}, 3);
    ls_restore_plan_free(&p);
    assert_int_equal(plan_for(f->st, 0, INT64_C(20001) * 1000000, &p, &err), LS_OK);
    assert_plan(&p, (pf[]){{9, 1, 20}}, 1);
    ls_restore_plan_free(&p);
    assert_int_equal(plan_for(f->st, 0, INT64_C(10000) * 1000000, &p, &err), LS_ERR_UNAVAILABLE);
    int64_t lo, hi;
    assert_int_equal(ls_restore_time_bounds(f->st, &lo, &hi, &err), LS_OK);
    assert_int_equal(lo, INT64_C(10000) * 1000000);
    assert_int_equal(hi, INT64_C(21000) * 1000000);
}

static void test_plan_ignores_foreign_names(void **state) {
    fx *f = *state;
    put_fake(f->st, 0, 1, 1, 1000);
    char *p1 = ls_path_join(f->root, "ltx/0/junk.ltx");
    char *p2 = ls_path_join(f->root, "ltx/0/00000000000000AA-00000000000000AA.ltx");
    lst_write_file(p1, "x", 1);
    lst_write_file(p2, "x", 1);
    ls_restore_plan p;
    ls_err err;
    assert_int_equal(plan_for(f->st, 0, 0, &p, &err), LS_OK);
    assert_plan(&p, (pf[]){{0, 1, 1}}, 1);
    ls_restore_plan_free(&p);
    free(p1);
    free(p2);
}

/* ======================================================================== */
/* Real LTX files built with the encoder.                                   */

#define PS 4096u

/* Page content for (pgno, version): compressible, distinct. */
static void page_fill(uint8_t *page, uint32_t pgno, uint32_t version) {
    uint64_t s = ((uint64_t)pgno << 20) ^ version ^ 0x5DEECE66DULL;
    memset(page, 0, PS);
    lst_rand_bytes(&s, page, PS / 4);
    memcpy(page + PS - 8, &pgno, 4);
    memcpy(page + PS - 4, &version, 4);
    if (pgno == 1) { /* enough of a SQLite header for the page size */
        memcpy(page, "SQLite format 3", 16);
        page[16] = (uint8_t)(PS >> 8);
        page[17] = (uint8_t)(PS & 0xff);
    }
}

/* Encodes an LTX file (pages pgnos[0..n) with versions) and stores it under
 * the key of (level, key_mn, key_mx) — normally the header's own range. */
static void put_encoded_as(ls_storage *st, int level, uint64_t key_mn, uint64_t key_mx,
                           uint64_t mn, uint64_t mx, uint32_t commit, const uint32_t *pgnos,
                           size_t n, uint32_t version, int64_t ts_ms) {
    ltx_header h = {.flags = LTX_FLAG_NO_CHECKSUM, .page_size = PS, .commit = commit,
                    .min_txid = mn, .max_txid = mx, .timestamp = ts_ms};
    ls_writer *w = ls_writer_mem();
    ltx_encoder *e = NULL;
    ls_err err;
    uint8_t *page = malloc(PS);
    if (ltx_encoder_open(&e, &h, w, &err) != LS_OK) fail_msg("%s", err.msg);
    for (size_t i = 0; i < n; i++) {
        page_fill(page, pgnos[i], version);
        if (ltx_encoder_write_page(e, pgnos[i], page, &err) != LS_OK) fail_msg("%s", err.msg);
    }
    if (ltx_encoder_close(e, 0, &err) != LS_OK) fail_msg("%s", err.msg);
    size_t len;
    const uint8_t *data = ls_writer_mem_data(w, &len);
    put_bytes(st, level, key_mn, key_mx, data, len, ts_ms);
    ltx_encoder_free(e);
    ls_writer_close(w);
    free(page);
}

static void put_encoded(ls_storage *st, int level, uint64_t mn, uint64_t mx, uint32_t commit,
                        const uint32_t *pgnos, size_t n, uint32_t version, int64_t ts_ms) {
    put_encoded_as(st, level, mn, mx, mn, mx, commit, pgnos, n, version, ts_ms);
}

static void put_snapshot_pages(ls_storage *st, int level, uint64_t mx, uint32_t commit,
                               uint32_t version) {
    uint32_t *pg = malloc(commit * sizeof(*pg));
    for (uint32_t i = 0; i < commit; i++) pg[i] = i + 1;
    put_encoded(st, level, 1, mx, commit, pg, commit, version, 1000);
    free(pg);
}

/* A 3-file replica: snapshot 1-1 (8 pages v1), 2-2 (pages 2,5 v2),
 * 3-3 (page 7 v3, commit 8). */
static void put_small_chain(ls_storage *st) {
    put_snapshot_pages(st, 0, 1, 8, 1);
    put_encoded(st, 0, 2, 2, 8, (uint32_t[]){2, 5}, 2, 2, 2000);
    put_encoded(st, 0, 3, 3, 8, (uint32_t[]){7}, 1, 3, 3000);
}

static void check_small_chain_output(const char *out) {
    size_t len;
    unsigned char *d = lst_read_file(out, &len);
    assert_int_equal(len, 8 * PS);
    uint8_t page[PS];
    for (uint32_t pg = 1; pg <= 8; pg++) {
        uint32_t v = (pg == 2 || pg == 5) ? 2 : (pg == 7 ? 3 : 1);
        page_fill(page, pg, v);
        assert_memory_equal(d + (size_t)(pg - 1) * PS, page, PS);
    }
    free(d);
}

static ls_code restore_none(fx *f, ls_restore_fetch fetch, bool force, atomic_bool *cancel,
                            ls_restore_progress_fn prog, void *pctx, ls_restore_result *res,
                            ls_err *err) {
    ls_restore_opts o = {.output = f->out, .integrity = LS_INTEGRITY_NONE, .parallelism = 3,
                         .fetch = fetch, .force = force, .cancel = cancel, .progress = prog,
                         .progress_ctx = pctx};
    ls_err_clear(err);
    return ls_restore_run(f->st, &o, res, err);
}

typedef struct prog_rec {
    uint64_t last_done, total;
    int calls;
    atomic_bool *cancel_at_first_progress;
    size_t peak_heap, base_heap;
} prog_rec;

static size_t heap_in_use(void) {
#if defined(__GLIBC__)
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
#else
    return 0;
#endif
}

static void on_progress(void *ctx, uint64_t done, uint64_t total) {
    prog_rec *p = ctx;
    assert_true(done >= p->last_done);
    assert_true(done <= total);
    p->last_done = done;
    p->total = total;
    p->calls++;
    if (p->cancel_at_first_progress && done > 0) atomic_store(p->cancel_at_first_progress, true);
    size_t h = heap_in_use();
    if (h > p->peak_heap) p->peak_heap = h;
}

static void test_apply_small_chain(void **state) {
    fx *f = *state;
    put_small_chain(f->st);
    for (int mode = 0; mode < 2; mode++) {
        prog_rec pr = {0};
        ls_restore_result res;
        ls_err err;
        ls_code rc = restore_none(f, mode ? LS_RESTORE_FETCH_DOWNLOAD : LS_RESTORE_FETCH_STREAM,
                                  false, NULL, on_progress, &pr, &res, &err);
        if (rc != LS_OK) fail_msg("%s", err.msg);
        check_small_chain_output(f->out);
        assert_int_equal(res.txid, 3);
        assert_string_equal(res.integrity_result, "skipped");
        assert_true(pr.calls >= 2);
        assert_int_equal(pr.last_done, pr.total);
        assert_true(pr.total > 300);
        assert_no_leftovers(f->out);
        ls_restore_result_free(&res);
        unlink(f->out);
    }
}

static void corrupt_file(const char *root, const char *key, long off) {
    char *p = ls_path_join(root, key);
    int fd = open(p, O_RDWR);
    assert_true(fd >= 0);
    unsigned char b;
    assert_int_equal(pread(fd, &b, 1, off), 1);
    b ^= 0x5A;
    assert_int_equal(pwrite(fd, &b, 1, off), 1);
    close(fd);
    free(p);
}

/* More plan files than the merge fan-in: intermediate merge passes. */
static void test_apply_multi_pass(void **state) {
    fx *f = *state;
    put_snapshot_pages(f->st, 0, 1, 8, 1);
    uint32_t latest[11];
    for (int i = 1; i <= 8; i++) latest[i] = 1;
    for (uint32_t t = 2; t <= 30; t++) {
        uint32_t pg = t % 8 + 1;
        uint32_t commit = t >= 20 ? 10 : 8;
        if (t == 20) {
            put_encoded(f->st, 0, t, t, commit, (uint32_t[]){pg, 9, 10}, 3, t, (int64_t)t * 1000);
            latest[9] = latest[10] = t;
        } else {
            put_encoded(f->st, 0, t, t, commit, (uint32_t[]){pg}, 1, t, (int64_t)t * 1000);
        }
        latest[pg] = t;
    }
    for (int mode = 0; mode < 2; mode++) {
        ls_restore_opts o = {.output = f->out, .integrity = LS_INTEGRITY_NONE,
                             .fetch = mode ? LS_RESTORE_FETCH_DOWNLOAD : LS_RESTORE_FETCH_STREAM,
                             .parallelism = 4, .merge_fanin = 3};
        prog_rec pr = {0};
        o.progress = on_progress;
        o.progress_ctx = &pr;
        ls_restore_result res;
        ls_err err;
        if (ls_restore_run(f->st, &o, &res, &err) != LS_OK) fail_msg("%s", err.msg);
        assert_int_equal(res.txid, 30);
        assert_int_equal(res.size, 10 * PS);
        assert_int_equal(pr.last_done, pr.total);
        size_t len;
        unsigned char *d = lst_read_file(f->out, &len);
        assert_int_equal(len, 10 * PS);
        uint8_t page[PS];
        for (uint32_t pg = 1; pg <= 10; pg++) {
            page_fill(page, pg, latest[pg]);
            assert_memory_equal(d + (size_t)(pg - 1) * PS, page, PS);
        }
        free(d);
        assert_no_leftovers(f->out);
        ls_restore_result_free(&res);
        unlink(f->out);
    }
    /* A corrupt file in a multi-pass plan is still named. */
    corrupt_file(f->root, "ltx/0/0000000000000011-0000000000000011.ltx", 120);
    ls_restore_opts o = {.output = f->out, .integrity = LS_INTEGRITY_NONE, .merge_fanin = 3};
    ls_restore_result res;
    ls_err err;
    assert_int_not_equal(ls_restore_run(f->st, &o, &res, &err), LS_OK);
    assert_non_null(strstr(err.msg, "ltx/0/0000000000000011-0000000000000011.ltx"));
    assert_no_leftovers(f->out);
    assert_false(path_exists(f->out));
}

static void test_apply_precomputed_plan(void **state) {
    fx *f = *state;
    put_small_chain(f->st);
    ls_restore_plan p;
    ls_err err;
    assert_int_equal(plan_for(f->st, 2, 0, &p, &err), LS_OK);
    ls_restore_opts o = {.output = f->out, .integrity = LS_INTEGRITY_NONE, .plan = &p};
    ls_restore_result res;
    assert_int_equal(ls_restore_run(f->st, &o, &res, &err), LS_OK);
    assert_int_equal(res.txid, 2);
    size_t len;
    unsigned char *d = lst_read_file(f->out, &len);
    assert_int_equal(len, 8 * PS);
    uint8_t page[PS];
    page_fill(page, 7, 1); /* page 7 still at version 1 at TXID 2 */
    assert_memory_equal(d + 6 * PS, page, PS);
    free(d);
    ls_restore_result_free(&res);
    ls_restore_plan_free(&p);
}

/* Database shrinks: pages above the last commit are dropped. */
static void test_apply_shrink(void **state) {
    fx *f = *state;
    put_snapshot_pages(f->st, 0, 1, 8, 1);
    put_encoded(f->st, 0, 2, 2, 5, (uint32_t[]){3}, 1, 2, 2000);
    ls_restore_result res;
    ls_err err;
    ls_code rc = restore_none(f, LS_RESTORE_FETCH_AUTO, false, NULL, NULL, NULL, &res, &err);
    if (rc != LS_OK) fail_msg("%s", err.msg);
    assert_int_equal(res.size, 5 * PS);
    struct stat sb;
    assert_int_equal(stat(f->out, &sb), 0);
    assert_int_equal(sb.st_size, 5 * PS);
    ls_restore_result_free(&res);
}


static void test_corrupt_input_names_file(void **state) {
    fx *f = *state;
    put_small_chain(f->st);
    /* Flip a byte inside the page data of the middle file. */
    corrupt_file(f->root, "ltx/0/0000000000000002-0000000000000002.ltx", 120);
    for (int mode = 0; mode < 2; mode++) {
        ls_restore_result res;
        ls_err err;
        ls_code rc = restore_none(f, mode ? LS_RESTORE_FETCH_DOWNLOAD : LS_RESTORE_FETCH_STREAM,
                                  false, NULL, NULL, NULL, &res, &err);
        assert_int_not_equal(rc, LS_OK);
        print_message("corrupt input (%s): %s\n", mode ? "download" : "stream", err.msg);
        assert_non_null(strstr(err.msg, "ltx/0/0000000000000002-0000000000000002.ltx"));
        assert_false(path_exists(f->out));
        assert_no_leftovers(f->out);
        assert_null(res.restored_path);
    }
}

static void test_corrupt_trailer_checksum(void **state) {
    fx *f = *state;
    put_small_chain(f->st);
    /* The file checksum is the last 8 bytes: only verified at close. */
    char *p = ls_path_join(f->root, "ltx/0/0000000000000003-0000000000000003.ltx");
    struct stat sb;
    assert_int_equal(stat(p, &sb), 0);
    corrupt_file(f->root, "ltx/0/0000000000000003-0000000000000003.ltx", (long)sb.st_size - 1);
    ls_restore_result res;
    ls_err err;
    ls_code rc = restore_none(f, LS_RESTORE_FETCH_AUTO, false, NULL, NULL, NULL, &res, &err);
    assert_int_equal(rc, LS_ERR_CHECKSUM);
    assert_non_null(strstr(err.msg, "ltx/0/0000000000000003-0000000000000003.ltx"));
    assert_false(path_exists(f->out));
    assert_no_leftovers(f->out);
    free(p);
}

static void test_too_small_and_non_snapshot(void **state) {
    fx *f = *state;
    put_bytes(f->st, 0, 1, 1, "tiny", 4, 1000);
    ls_restore_result res;
    ls_err err;
    assert_int_equal(restore_none(f, LS_RESTORE_FETCH_AUTO, false, NULL, NULL, NULL, &res, &err),
                     LS_ERR_FORMAT);
    assert_string_equal(err.msg, "invalid ltx file: level=0 min=0000000000000001 "
                                 "max=0000000000000001 has size 4 bytes (minimum 100)");
    assert_false(path_exists(f->out));
    /* A file named 1-1 whose header says 2-2: the merge has no snapshot. */
    ls_storage_close(f->st);
    lst_rmtree(ls_strdup(f->root));
    assert_int_equal(ls_storage_file_open(f->root, &f->st, &err), LS_OK);
    put_encoded_as(f->st, 0, 1, 1, 2, 2, 8, (uint32_t[]){2}, 1, 2, 2000);
    assert_int_equal(restore_none(f, LS_RESTORE_FETCH_AUTO, false, NULL, NULL, NULL, &res, &err),
                     LS_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "cannot decode non-snapshot LTX file"));
    assert_false(path_exists(f->out));
    assert_no_leftovers(f->out);
}

static void test_output_rules(void **state) {
    fx *f = *state;
    put_small_chain(f->st);
    char *dir = ls_path_dir(f->out);
    ls_err err;
    assert_int_equal(ls_mkdir_p(dir, 0700, &err), LS_OK);
    lst_write_file(f->out, "old database", 12);
    ls_restore_result res;
    assert_int_equal(restore_none(f, LS_RESTORE_FETCH_AUTO, false, NULL, NULL, NULL, &res, &err),
                     LS_ERR_EXISTS);
    char want[512];
    snprintf(want, sizeof(want), "cannot restore, output path already exists: %s", f->out);
    assert_string_equal(err.msg, want);
    size_t len;
    unsigned char *d = lst_read_file(f->out, &len);
    assert_int_equal(len, 12);
    free(d);
    /* A sidecar alone also blocks. */
    unlink(f->out);
    char *wal = ls_strfmt("%s-wal", f->out);
    lst_write_file(wal, "stale wal", 9);
    assert_int_equal(restore_none(f, LS_RESTORE_FETCH_AUTO, false, NULL, NULL, NULL, &res, &err),
                     LS_ERR_EXISTS);
    assert_non_null(strstr(err.msg, "-wal"));
    /* force replaces the output and removes stale sidecars. */
    lst_write_file(f->out, "old database", 12);
    assert_int_equal(restore_none(f, LS_RESTORE_FETCH_AUTO, true, NULL, NULL, NULL, &res, &err),
                     LS_OK);
    check_small_chain_output(f->out);
    assert_false(path_exists(wal));
    ls_restore_result_free(&res);
    /* A directory is never replaced. */
    unlink(f->out);
    assert_int_equal(mkdir(f->out, 0700), 0);
    assert_int_equal(restore_none(f, LS_RESTORE_FETCH_AUTO, true, NULL, NULL, NULL, &res, &err),
                     LS_ERR_INVALID);
    assert_non_null(strstr(err.msg, "is a directory"));
    rmdir(f->out);
    free(wal);
    free(dir);
}

static void test_output_parent_created(void **state) {
    fx *f = *state;
    put_small_chain(f->st);
    free(f->out);
    f->out = ls_path_join(f->dir, "a/b/c/db.sqlite");
    ls_restore_result res;
    ls_err err;
    assert_int_equal(restore_none(f, LS_RESTORE_FETCH_AUTO, false, NULL, NULL, NULL, &res, &err),
                     LS_OK);
    char *c = ls_path_join(f->dir, "a/b/c");
    struct stat sb;
    assert_int_equal(stat(c, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0700);
    free(c);
    ls_restore_result_free(&res);
}

static void test_concurrent_restore_same_output(void **state) {
    fx *f = *state;
    put_small_chain(f->st);
    char *dir = ls_path_dir(f->out);
    ls_err err;
    assert_int_equal(ls_mkdir_p(dir, 0700, &err), LS_OK);
    char *tmp = ls_strfmt("%s.tmp", f->out);
    int fd = open(tmp, O_RDWR | O_CREAT, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "junk", 4), 4);
    assert_int_equal(flock(fd, LOCK_EX), 0);
    ls_restore_result res;
    assert_int_equal(restore_none(f, LS_RESTORE_FETCH_AUTO, false, NULL, NULL, NULL, &res, &err),
                     LS_ERR_BUSY);
    assert_false(path_exists(f->out));
    assert_true(path_exists(tmp)); /* the other restore's file is untouched */
    close(fd);                     /* "crash": stale, unlocked temp file */
    assert_int_equal(restore_none(f, LS_RESTORE_FETCH_AUTO, false, NULL, NULL, NULL, &res, &err),
                     LS_OK);
    check_small_chain_output(f->out);
    assert_no_leftovers(f->out);
    ls_restore_result_free(&res);
    free(tmp);
    free(dir);
}

/* ======================================================================== */
/* Real SQLite databases, cancellation, bounded memory.                     */

static void exec_sql(sqlite3 *db, const char *sql) {
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) fail_msg("%s: %s", sql, msg);
}

/* Encodes pages of the file at path: all of them (snapshot) or only those
 * that differ from prev (incremental). Streams: one page in memory. */
static void put_db_file(ls_storage *st, int level, uint64_t mn, uint64_t mx, const char *path,
                        const char *prev, int64_t ts_ms, const char *scratch) {
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    int pfd = prev ? open(prev, O_RDONLY) : -1;
    struct stat sb;
    assert_int_equal(fstat(fd, &sb), 0);
    uint32_t commit = (uint32_t)(sb.st_size / PS);
    int ofd = open(scratch, O_RDWR | O_CREAT | O_TRUNC, 0600);
    assert_true(ofd >= 0);
    ls_writer *w = ls_writer_fd(ofd);
    ltx_header h = {.flags = LTX_FLAG_NO_CHECKSUM, .page_size = PS, .commit = commit,
                    .min_txid = mn, .max_txid = mx, .timestamp = ts_ms};
    ltx_encoder *e = NULL;
    ls_err err;
    if (ltx_encoder_open(&e, &h, w, &err) != LS_OK) fail_msg("%s", err.msg);
    uint8_t a[PS], b[PS];
    for (uint32_t pg = 1; pg <= commit; pg++) {
        assert_int_equal(pread(fd, a, PS, (off_t)(pg - 1) * PS), PS);
        if (pfd >= 0) {
            ssize_t n = pread(pfd, b, PS, (off_t)(pg - 1) * PS);
            if (n == PS && memcmp(a, b, PS) == 0) continue;
        }
        if (ltx_encoder_write_page(e, pg, a, &err) != LS_OK) fail_msg("%s", err.msg);
    }
    if (ltx_encoder_close(e, 0, &err) != LS_OK) fail_msg("%s", err.msg);
    ltx_encoder_free(e);
    ls_writer_close(w);
    close(fd);
    if (pfd >= 0) close(pfd);
    ls_reader *r = ls_reader_fd(ofd, 0, UINT64_MAX, 1);
    if (ls_ltx_write(st, level, mn, mx, r, ts_ms, &err) != LS_OK) fail_msg("%s", err.msg);
    ls_reader_close(r);
    unlink(scratch);
}

static void copy_file(const char *src, const char *dst) {
    size_t len;
    unsigned char *d = lst_read_file(src, &len);
    lst_write_file(dst, d, len);
    free(d);
}

/* Builds a real database of about `mb` MiB, a snapshot of it, and an
 * incremental after updates; *expected is the final database path. */
static void build_real_replica(fx *f, int mb, char **expected) {
    char *v1 = ls_path_join(f->dir, "v1.db"), *v2 = ls_path_join(f->dir, "v2.db");
    char *scratch = ls_path_join(f->dir, "scratch.ltx");
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(v2, &db), SQLITE_OK);
    exec_sql(db, "PRAGMA page_size=4096; PRAGMA journal_mode=DELETE;");
    exec_sql(db, "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)");
    char sql[256];
    snprintf(sql, sizeof(sql),
             "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < %d) "
             "INSERT INTO t SELECT x, randomblob(3000) FROM c",
             mb * 300);
    exec_sql(db, sql);
    sqlite3_close(db);
    copy_file(v2, v1);
    put_db_file(f->st, 9, 1, 1, v1, NULL, 1000, scratch);
    assert_int_equal(sqlite3_open(v2, &db), SQLITE_OK);
    exec_sql(db, "UPDATE t SET v = randomblob(3000) WHERE id % 17 = 0");
    exec_sql(db, "INSERT INTO t VALUES (1000000, randomblob(50000))");
    sqlite3_close(db);
    put_db_file(f->st, 0, 2, 2, v2, v1, 2000, scratch);
    unlink(v1);
    free(v1);
    free(scratch);
    *expected = v2;
}

static void test_real_database_bounded_memory(void **state) {
    fx *f = *state;
    int mb = lst_under_valgrind() ? 2 : 24;
    char *expected = NULL;
    build_real_replica(f, mb, &expected);
    prog_rec pr = {0};
    pr.base_heap = heap_in_use();
    ls_restore_opts o = {.output = f->out, .integrity = LS_INTEGRITY_QUICK,
                         .progress = on_progress, .progress_ctx = &pr};
    ls_restore_result res;
    ls_err err;
    if (ls_restore_run(f->st, &o, &res, &err) != LS_OK) fail_msg("%s", err.msg);
    char h1[65], h2[65];
    sha256_file_hex(expected, h1);
    sha256_file_hex(f->out, h2);
    assert_string_equal(h1, h2);
    struct stat sb;
    assert_int_equal(stat(expected, &sb), 0);
    assert_int_equal(res.size, sb.st_size);
    assert_true(sb.st_size > (off_t)mb * 1000 * 1000);
    assert_int_equal(res.txid, 2);
    assert_true(pr.calls > 10);
    assert_int_equal(pr.last_done, pr.total);
    assert_no_leftovers(f->out);
    ls_restore_result_free(&res);
    if (!LST_ASAN && !lst_under_valgrind() && pr.base_heap > 0) {
        size_t grown = pr.peak_heap > pr.base_heap ? pr.peak_heap - pr.base_heap : 0;
        print_message("restore of %lld bytes: heap grew by at most %zu bytes\n",
                      (long long)sb.st_size, grown);
        assert_true(grown < (size_t)4 << 20);
    }
    free(expected);
}

/* A database of n rows of `blob` bytes with an index, in journal mode
 * `mode`, page size ps. */
static char *make_check_db(fx *f, const char *name, int ps, const char *mode, int n, int blob) {
    char *path = ls_path_join(f->dir, name);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char sql[512];
    snprintf(sql, sizeof(sql), "PRAGMA page_size=%d; PRAGMA journal_mode=%s;", ps, mode);
    exec_sql(db, sql);
    exec_sql(db, "CREATE TABLE t(id INTEGER PRIMARY KEY, k TEXT NOT NULL, v BLOB)");
    snprintf(sql, sizeof(sql),
             "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < %d) "
             "INSERT INTO t SELECT x, hex(randomblob(8)), randomblob(%d) FROM c",
             n, blob);
    exec_sql(db, sql);
    exec_sql(db, "CREATE INDEX t_k ON t(k)");
    sqlite3_close(db);
    return path;
}

static void assert_no_sidecars(const char *path) {
    static const char *sfx[] = {"-wal", "-shm", "-journal"};
    for (size_t i = 0; i < 3; i++) {
        char *p = ls_strfmt("%s%s", path, sfx[i]);
        if (path_exists(p)) fail_msg("left behind: %s", p);
        free(p);
    }
}

/* The integrity check reads through bounded maps (engine/restore_check.c):
 * databases larger than the map budget, WAL and rollback modes, the
 * smallest and largest page sizes pass; a corrupt page in the middle of a
 * large file (served from a map) is reported; nothing is left beside. */
static void test_integrity_check_maps(void **state) {
    fx *f = *state;
    bool small = lst_under_valgrind();
    struct {
        const char *name, *mode;
        int ps, n, blob;
    } dbs[] = {
        {"big-wal.db", "WAL", 4096, small ? 800 : 9000, 3000}, /* ~27 MiB: > 8 MiB of maps */
        {"big-del.db", "DELETE", 4096, small ? 800 : 4000, 3000},
        {"p512.db", "WAL", 512, 3000, 100},
        {"p64k.db", "DELETE", 65536, small ? 200 : 600, 20000},
    };
    for (size_t i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++) {
        char *p = make_check_db(f, dbs[i].name, dbs[i].ps, dbs[i].mode, dbs[i].n, dbs[i].blob);
        for (int mode = LS_INTEGRITY_QUICK; mode <= LS_INTEGRITY_FULL; mode++) {
            ls_err err;
            ls_err_clear(&err);
            ls_code rc = ls_restore_check_integrity(p, (ls_integrity)mode, NULL, &err);
            if (rc != LS_OK) fail_msg("%s: %s", dbs[i].name, err.msg);
            assert_no_sidecars(p);
        }
        if (i == 0) {
            /* Overwrite a b-tree page past the first map windows with an
             * invalid page type: the check must see it. */
            struct stat sb;
            assert_int_equal(stat(p, &sb), 0);
            off_t pages = sb.st_size / 4096;
            int fd = open(p, O_RDWR);
            assert_true(fd >= 0);
            uint8_t junk[4096];
            memset(junk, 0x5A, sizeof(junk));
            assert_int_equal(pwrite(fd, junk, sizeof(junk), (pages * 2 / 3) * 4096),
                             (ssize_t)sizeof(junk));
            close(fd);
            ls_err err;
            ls_err_clear(&err);
            ls_code rc = ls_restore_check_integrity(p, LS_INTEGRITY_QUICK, NULL, &err);
            assert_int_equal(rc, LS_ERR_FORMAT);
            print_message("corrupt page: %s\n", err.msg);
            assert_non_null(strstr(err.msg, "integrity check"));
            assert_no_sidecars(p);
        }
        unlink(p);
        free(p);
    }
}

/* A write error of the writer thread (file size limit: EFBIG part way) is
 * returned, names the temp file, and leaves nothing behind. */
static void test_write_error_leaves_nothing(void **state) {
    fx *f = *state;
    char *expected = NULL;
    build_real_replica(f, 4, &expected);
    struct rlimit old;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    struct rlimit lim = old;
    lim.rlim_cur = 3u << 20; /* the database is ~5 MB */
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    ls_restore_opts o = {.output = f->out, .integrity = LS_INTEGRITY_QUICK};
    ls_restore_result res;
    ls_err err;
    ls_err_clear(&err);
    ls_code rc = ls_restore_run(f->st, &o, &res, &err);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, prev);
    assert_int_not_equal(rc, LS_OK);
    print_message("write error: %s\n", err.msg);
    assert_non_null(strstr(err.msg, "write"));
    assert_non_null(strstr(err.msg, ".tmp"));
    assert_false(path_exists(f->out));
    assert_no_leftovers(f->out);
    /* and the same replica restores once the limit is gone */
    if (ls_restore_run(f->st, &o, &res, &err) != LS_OK) fail_msg("%s", err.msg);
    char h1[65], h2[65];
    sha256_file_hex(expected, h1);
    sha256_file_hex(f->out, h2);
    assert_string_equal(h1, h2);
    ls_restore_result_free(&res);
    free(expected);
}

static void test_cancel_midway(void **state) {
    fx *f = *state;
    char *expected = NULL;
    build_real_replica(f, 2, &expected);
    for (int mode = 0; mode < 2; mode++) {
        atomic_bool cancel = false;
        prog_rec pr = {0};
        pr.cancel_at_first_progress = &cancel;
        ls_restore_result res;
        ls_err err;
        ls_code rc = restore_none(f, mode ? LS_RESTORE_FETCH_DOWNLOAD : LS_RESTORE_FETCH_STREAM,
                                  false, &cancel, on_progress, &pr, &res, &err);
        assert_int_equal(rc, LS_ERR_CANCELED);
        assert_true(pr.last_done < pr.total);
        assert_false(path_exists(f->out));
        assert_no_leftovers(f->out);
    }
    /* Cancelled before it starts. */
    atomic_bool cancel = true;
    ls_restore_result res;
    ls_err err;
    assert_int_equal(restore_none(f, LS_RESTORE_FETCH_AUTO, false, &cancel, NULL, NULL, &res, &err),
                     LS_ERR_CANCELED);
    assert_false(path_exists(f->out));
    free(expected);
}

static void test_integrity_failure_leaves_nothing(void **state) {
    fx *f = *state;
    /* Valid LTX, but the pages are not a SQLite database. */
    put_small_chain(f->st);
    ls_restore_opts o = {.output = f->out, .integrity = LS_INTEGRITY_QUICK};
    ls_restore_result res;
    ls_err err;
    ls_code rc = ls_restore_run(f->st, &o, &res, &err);
    assert_int_not_equal(rc, LS_OK);
    print_message("integrity failure: %s\n", err.msg);
    assert_non_null(strstr(err.msg, "post-restore integrity check"));
    assert_false(path_exists(f->out));
    assert_no_leftovers(f->out);
}

/* ======================================================================== */
/* Follow mode (8.5).                                                       */

typedef struct follow_thr {
    ls_storage *st;
    ls_follow_opts o;
    atomic_bool cancel;
    ls_code rc;
    ls_err err;
    pthread_t th;
} follow_thr;

static void *follow_main(void *arg) {
    follow_thr *t = arg;
    t->rc = ls_restore_follow(t->st, &t->o, &t->err);
    if (t->rc != LS_OK) print_message("follow ended: %s\n", t->err.msg);
    return NULL;
}

static void follow_start(follow_thr *t, fx *f) {
    memset(t, 0, sizeof(*t));
    t->st = f->st;
    atomic_store(&t->cancel, false);
    t->o = (ls_follow_opts){.output = f->out, .interval_ns = 20 * 1000000,
                            .integrity = LS_INTEGRITY_NONE, .cancel = &t->cancel};
    assert_int_equal(pthread_create(&t->th, NULL, follow_main, t), 0);
}

static ls_code follow_stop(follow_thr *t) {
    atomic_store(&t->cancel, true);
    pthread_join(t->th, NULL);
    return t->rc;
}

static bool wait_txid(const char *out, uint64_t want, int ms) {
    for (int i = 0; i < ms / 10; i++) {
        uint64_t tx = 0;
        if (ls_restore_read_txid_file(out, &tx, NULL) == LS_OK && tx == want) return true;
        usleep(10000);
    }
    return false;
}

static void check_page(const unsigned char *db, uint32_t pg, uint32_t version) {
    uint8_t page[PS];
    page_fill(page, pg, version);
    const unsigned char *got = db + (size_t)(pg - 1) * PS;
    if (pg == 1) {
        /* follow mode marks page 1 rollback-journal and changes bytes 24..27 */
        assert_int_equal(got[18], 1);
        assert_int_equal(got[19], 1);
        assert_memory_equal(got, page, 18);
        assert_memory_equal(got + 20, page + 20, 4);
        assert_memory_equal(got + 28, page + 28, PS - 28);
    } else {
        assert_memory_equal(got, page, PS);
    }
}

static void test_follow(void **state) {
    fx *f = *state;
    uint64_t tx = 0;
    put_snapshot_pages(f->st, 0, 1, 8, 1);
    follow_thr t;
    follow_start(&t, f);
    assert_true(wait_txid(f->out, 1, 5000));
    put_encoded(f->st, 0, 2, 2, 8, (uint32_t[]){2, 5}, 2, 2, 2000);
    assert_true(wait_txid(f->out, 2, 5000));
    /* A gap in level 0 waits... */
    put_encoded(f->st, 0, 4, 4, 8, (uint32_t[]){3}, 1, 4, 4000);
    usleep(150000);
    assert_int_equal(ls_restore_read_txid_file(f->out, &tx, NULL), LS_OK);
    assert_int_equal(tx, 2);
    /* ...until a higher level bridges it. */
    put_encoded(f->st, 1, 3, 3, 8, (uint32_t[]){7}, 1, 3, 3000);
    assert_true(wait_txid(f->out, 4, 5000));
    /* A corrupt file is never applied; the poll retries. */
    put_encoded(f->st, 0, 5, 5, 8, (uint32_t[]){4}, 1, 5, 5000);
    corrupt_file(f->root, "ltx/0/0000000000000005-0000000000000005.ltx", 120);
    usleep(150000);
    assert_int_equal(ls_restore_read_txid_file(f->out, &tx, NULL), LS_OK);
    assert_int_equal(tx, 4);
    {
        size_t len;
        unsigned char *d = lst_read_file(f->out, &len);
        check_page(d, 4, 1); /* not touched by the corrupt file */
        free(d);
    }
    put_encoded(f->st, 0, 5, 5, 8, (uint32_t[]){4}, 1, 5, 5000); /* repaired */
    assert_true(wait_txid(f->out, 5, 5000));
    /* Growth and page 1. */
    put_encoded(f->st, 0, 6, 6, 10, (uint32_t[]){1, 9, 10}, 3, 6, 6000);
    assert_true(wait_txid(f->out, 6, 5000));
    assert_int_equal(follow_stop(&t), LS_OK);
    size_t len;
    unsigned char *d = lst_read_file(f->out, &len);
    assert_int_equal(len, 10 * PS);
    static const uint32_t want[11] = {0, 6, 2, 4, 5, 2, 1, 3, 1, 6, 6};
    for (uint32_t pg = 1; pg <= 10; pg++) check_page(d, pg, want[pg]);
    free(d);

    /* Restart: resumes from the -txid file. */
    follow_start(&t, f);
    put_encoded(f->st, 0, 7, 7, 9, (uint32_t[]){8}, 1, 7, 7000); /* and shrinks */
    assert_true(wait_txid(f->out, 7, 5000));
    assert_int_equal(follow_stop(&t), LS_OK);
    d = lst_read_file(f->out, &len);
    assert_int_equal(len, 9 * PS);
    check_page(d, 8, 7);
    free(d);

    /* A saved TXID ahead of the replica is refused. */
    ls_err err;
    assert_int_equal(ls_restore_write_txid_file(f->out, 99, &err), LS_OK);
    follow_start(&t, f);
    pthread_join(t.th, NULL);
    assert_int_equal(t.rc, LS_ERR_UNAVAILABLE);
    assert_non_null(strstr(t.err.msg, "is ahead of the replica"));
    /* No -txid file next to an existing database. */
    char *txf = ls_strfmt("%s-txid", f->out);
    unlink(txf);
    free(txf);
    follow_start(&t, f);
    pthread_join(t.th, NULL);
    assert_int_equal(t.rc, LS_ERR_EXISTS);
    assert_non_null(strstr(t.err.msg, "no -txid file found"));
}

/* A v0.3 object with a given mtime (listing only: contents never read). */
static void put_v03(fx *f, const char *rel, int64_t mtime_ms) {
    char *p = ls_path_join(f->root, rel);
    char *d = ls_path_dir(p);
    ls_err err;
    assert_int_equal(ls_mkdir_p(d, 0700, &err), LS_OK);
    lst_write_file(p, "v03", 3);
    struct timespec ts[2];
    ts[0].tv_sec = ts[1].tv_sec = (time_t)(mtime_ms / 1000);
    ts[0].tv_nsec = ts[1].tv_nsec = (long)(mtime_ms % 1000) * 1000000L;
    assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
    free(d);
    free(p);
}

#define GEN "generations/0123456789abcdef/"

static void test_v03_choice(void **state) {
    fx *f = *state;
    bool v3 = true;
    ls_err err;
    ls_restore_result res;
    /* No data at all: LTX (and then nothing to restore). */
    assert_int_equal(ls_restore_prefers_v03(f->st, 0, &v3, &err), LS_OK);
    assert_false(v3);
    /* Only v0.3 data: v0.3 is chosen and restored (engine/legacy.h); this
     * fake snapshot is not LZ4, so the error names it and nothing is left. */
    put_v03(f, GEN "snapshots/00000000.snapshot.lz4", 500);
    assert_int_equal(ls_restore_prefers_v03(f->st, 0, &v3, &err), LS_OK);
    assert_true(v3);
    assert_int_equal(restore_none(f, LS_RESTORE_FETCH_AUTO, false, NULL, NULL, NULL, &res, &err),
                     LS_ERR_FORMAT);
    assert_non_null(strstr(err.msg, GEN "snapshots/00000000.snapshot.lz4"));
    assert_false(path_exists(f->out));
    /* LTX newer than v0.3: LTX. */
    put_small_chain(f->st); /* created 1 s .. 3 s */
    assert_int_equal(ls_restore_prefers_v03(f->st, 0, &v3, &err), LS_OK);
    assert_false(v3);
    assert_int_equal(restore_none(f, LS_RESTORE_FETCH_AUTO, false, NULL, NULL, NULL, &res, &err),
                     LS_OK);
    ls_restore_result_free(&res);
    unlink(f->out);
    /* Timestamp: v0.3 snapshot (0.5 s) and no LTX level-9 snapshot -> v0.3. */
    assert_int_equal(ls_restore_prefers_v03(f->st, INT64_C(2500) * 1000000, &v3, &err), LS_OK);
    assert_true(v3);
    /* ...unless an LTX snapshot is newer than the v0.3 one. */
    put_snapshot_pages(f->st, 9, 1, 8, 1); /* created 1 s */
    assert_int_equal(ls_restore_prefers_v03(f->st, INT64_C(2500) * 1000000, &v3, &err), LS_OK);
    assert_false(v3);
    /* A newer v0.3 segment makes v0.3 the latest backup. */
    put_v03(f, GEN "wal/00000000_00000000.wal.lz4", 10000);
    assert_int_equal(ls_restore_prefers_v03(f->st, 0, &v3, &err), LS_OK);
    assert_true(v3);
    assert_int_equal(restore_none(f, LS_RESTORE_FETCH_AUTO, false, NULL, NULL, NULL, &res, &err),
                     LS_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "snapshot.lz4"));
    /* A TXID target or ltx_only restores LTX data regardless. */
    ls_restore_opts o = {.output = f->out, .integrity = LS_INTEGRITY_NONE, .txid = 3};
    assert_int_equal(ls_restore_run(f->st, &o, &res, &err), LS_OK);
    ls_restore_result_free(&res);
    unlink(f->out);
    o.txid = 0;
    o.ltx_only = true;
    assert_int_equal(ls_restore_run(f->st, &o, &res, &err), LS_OK);
    ls_restore_result_free(&res);
    /* The timestamp pre-check spans v0.3 data too. */
    assert_int_equal(ls_restore_check_timestamp(f->st, INT64_C(600) * 1000000, &err), LS_OK);
    assert_int_equal(ls_restore_check_timestamp(f->st, INT64_C(9000) * 1000000, &err), LS_OK);
    assert_int_equal(ls_restore_check_timestamp(f->st, INT64_C(11000) * 1000000, &err),
                     LS_ERR_UNAVAILABLE);
}

static void test_txid_file(void **state) {
    fx *f = *state;
    uint64_t tx = 7;
    ls_err err;
    assert_int_equal(ls_restore_read_txid_file(f->out, &tx, &err), LS_OK);
    assert_int_equal(tx, 0);
    char *dir = ls_path_dir(f->out);
    assert_int_equal(ls_mkdir_p(dir, 0700, &err), LS_OK);
    free(dir);
    assert_int_equal(ls_restore_write_txid_file(f->out, 0x1234, &err), LS_OK);
    char *p = ls_strfmt("%s-txid", f->out);
    size_t len;
    unsigned char *d = lst_read_file(p, &len);
    assert_int_equal(len, 17);
    assert_memory_equal(d, "0000000000001234\n", 17);
    free(d);
    assert_int_equal(ls_restore_read_txid_file(f->out, &tx, &err), LS_OK);
    assert_int_equal(tx, 0x1234);
    lst_write_file(p, "  00000000000000ff \n", 20);
    assert_int_equal(ls_restore_read_txid_file(f->out, &tx, &err), LS_OK);
    assert_int_equal(tx, 0xff);
    lst_write_file(p, "xyz\n", 4);
    assert_int_equal(ls_restore_read_txid_file(f->out, &tx, &err), LS_ERR_FORMAT);
    free(p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_golden_latest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_golden_latest_download, setup, teardown),
        cmocka_unit_test_setup_teardown(test_golden_without_d4, setup, teardown),
        cmocka_unit_test_setup_teardown(test_golden_txid1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_golden_legacy_frame, setup, teardown),
        cmocka_unit_test_setup_teardown(test_golden_timestamp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plan_empty_and_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plan_gap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plan_overlap_and_ordering, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plan_smaller_min_beats_level, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plan_snapshots, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plan_ignores_foreign_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_apply_small_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_apply_multi_pass, setup, teardown),
        cmocka_unit_test_setup_teardown(test_apply_precomputed_plan, setup, teardown),
        cmocka_unit_test_setup_teardown(test_apply_shrink, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_input_names_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_trailer_checksum, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_small_and_non_snapshot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_output_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_output_parent_created, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_restore_same_output, setup, teardown),
        cmocka_unit_test_setup_teardown(test_real_database_bounded_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_midway, setup, teardown),
        cmocka_unit_test_setup_teardown(test_integrity_failure_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_integrity_check_maps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_error_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_follow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_txid_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_v03_choice, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
