/* Unit tests for storage/ltxfiles: key layouts, listing, writing, reading,
 * deleting LTX files and the resumable reader. */
#include "testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/faulty.h"
#include "storage/ltxfiles.h"
#include "storage/storage.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/timeutil.h"

typedef struct {
    char *dir;
    ls_storage *s;
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof(*f));
    f->dir = lst_tmpdir();
    ls_err e;
    assert_int_equal(ls_storage_file_open(f->dir, &f->s, &e), LS_OK);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    ls_storage_close(f->s);
    lst_rmtree(f->dir);
    free(f);
    return 0;
}

static void write_ltx(ls_storage *s, int level, uint64_t mn, uint64_t mx, const char *data,
                      int64_t ts_ms) {
    ls_reader *r = ls_reader_mem(data, strlen(data));
    ls_err e;
    ls_code rc = ls_ltx_write(s, level, mn, mx, r, ts_ms, &e);
    ls_reader_close(r);
    if (rc != LS_OK) fail_msg("write ltx: %s", e.msg);
}

static void put_raw(ls_storage *s, const char *key, const char *data) {
    ls_reader *r = ls_reader_mem(data, strlen(data));
    ls_err e;
    ls_code rc = ls_storage_put(s, key, r, NULL, &e);
    ls_reader_close(r);
    if (rc != LS_OK) fail_msg("put %s: %s", key, e.msg);
}

static char *read_all(ls_reader *r, size_t *n_out, ls_code *rc_out, ls_err *e) {
    size_t cap = 1024, n = 0;
    char *buf = malloc(cap + 1);
    ls_code rc = LS_OK;
    for (;;) {
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
        }
        size_t got = 0;
        rc = ls_read(r, buf + n, cap - n, &got, e);
        if (rc != LS_OK || got == 0) break;
        n += got;
    }
    buf[n] = '\0';
    if (n_out) *n_out = n;
    if (rc_out) *rc_out = rc;
    return buf;
}

/* ------------------------------------------------------------------------ */

static void test_keys(void **state) {
    fixture *f = *state;
    char buf[LS_LTX_KEY_MAX];
    assert_int_equal(ls_ltx_key(f->s, 0, 1, 1, buf, sizeof(buf)), 43);
    assert_string_equal(buf, "ltx/0/0000000000000001-0000000000000001.ltx");
    assert_true(ls_ltx_key(f->s, 9, 1, 0xabcdefULL, buf, sizeof(buf)) > 0);
    assert_string_equal(buf, "ltx/9/0000000000000001-0000000000abcdef.ltx");
    assert_true(ls_ltx_key(f->s, 3, UINT64_MAX, UINT64_MAX, buf, sizeof(buf)) > 0);
    assert_string_equal(buf, "ltx/3/ffffffffffffffff-ffffffffffffffff.ltx");
    assert_int_equal(ls_ltx_level_prefix(f->s, 2, buf, sizeof(buf)), 6);
    assert_string_equal(buf, "ltx/2/");
    /* invalid level / too small buffer */
    assert_int_equal(ls_ltx_key(f->s, 10, 1, 1, buf, sizeof(buf)), -1);
    assert_string_equal(buf, "");
    assert_int_equal(ls_ltx_key(f->s, -1, 1, 1, buf, sizeof(buf)), -1);
    assert_int_equal(ls_ltx_key(f->s, 0, 1, 1, buf, 43), -1);
    assert_string_equal(buf, "");
    assert_int_equal(ls_ltx_key(f->s, 0, 1, 1, buf, 44), 43);

    f->s->layout = LS_LTX_LAYOUT_HEX4;
    assert_int_equal(ls_ltx_key(f->s, 0, 1, 1, buf, sizeof(buf)), 42);
    assert_string_equal(buf, "0000/0000000000000001-0000000000000001.ltx");
    assert_true(ls_ltx_key(f->s, 9, 1, 0x64, buf, sizeof(buf)) > 0);
    assert_string_equal(buf, "0009/0000000000000001-0000000000000064.ltx");
    assert_int_equal(ls_ltx_level_prefix(f->s, 3, buf, sizeof(buf)), 5);
    assert_string_equal(buf, "0003/");
    f->s->layout = LS_LTX_LAYOUT_DIR;
}

static void test_write_list_open(void **state) {
    fixture *f = *state;
    ls_err e;
    /* written out of order */
    write_ltx(f->s, 0, 3, 3, "ccc", 1700000003000);
    write_ltx(f->s, 0, 1, 1, "a", 1700000001000);
    write_ltx(f->s, 0, 2, 2, "bb", 1700000002000);
    write_ltx(f->s, 0, 0x10, 0x10, "dddd", 1700000010123);
    write_ltx(f->s, 1, 1, 3, "L1", 1700000003000);
    write_ltx(f->s, 9, 1, 16, "snapshot", 1700000020000);

    char *p = ls_path_join(f->dir, "ltx/0/0000000000000003-0000000000000003.ltx");
    assert_true(ls_path_exists(p));
    free(p);

    ls_ltx_file_list l;
    assert_int_equal(ls_ltx_list(f->s, 0, 0, false, &l, &e), LS_OK);
    assert_int_equal(l.n, 4);
    uint64_t want[] = {1, 2, 3, 0x10};
    int64_t sizes[] = {1, 2, 3, 4};
    int64_t ts[] = {1700000001000, 1700000002000, 1700000003000, 1700000010123};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(l.items[i].level, 0);
        assert_int_equal(l.items[i].min_txid, want[i]);
        assert_int_equal(l.items[i].max_txid, want[i]);
        assert_int_equal(l.items[i].size, sizes[i]);
        assert_int_equal(l.items[i].created_at_ns, ts[i] * LS_NS_PER_MS);
    }
    ls_ltx_file_list_free(&l);

    /* seek */
    assert_int_equal(ls_ltx_list(f->s, 0, 3, false, &l, &e), LS_OK);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.items[0].min_txid, 3);
    assert_int_equal(l.items[1].min_txid, 0x10);
    ls_ltx_file_list_free(&l);
    assert_int_equal(ls_ltx_list(f->s, 0, 0x11, false, &l, &e), LS_OK);
    assert_int_equal(l.n, 0);
    ls_ltx_file_list_free(&l);

    /* other levels, missing level */
    assert_int_equal(ls_ltx_list(f->s, 9, 0, true, &l, &e), LS_OK);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.items[0].level, 9);
    assert_int_equal(l.items[0].max_txid, 16);
    ls_ltx_file_list_free(&l);
    assert_int_equal(ls_ltx_list(f->s, 5, 0, false, &l, &e), LS_OK);
    assert_int_equal(l.n, 0);
    ls_ltx_file_list_free(&l);
    assert_int_equal(ls_ltx_list(f->s, 10, 0, false, &l, &e), LS_ERR_INVALID);

    /* max txid / last */
    uint64_t mx;
    assert_int_equal(ls_ltx_max_txid(f->s, 0, &mx, &e), LS_OK);
    assert_int_equal(mx, 0x10);
    assert_int_equal(ls_ltx_max_txid(f->s, 4, &mx, &e), LS_OK);
    assert_int_equal(mx, 0);
    ls_ltx_file last;
    bool found;
    assert_int_equal(ls_ltx_last(f->s, 1, &last, &found, &e), LS_OK);
    assert_true(found);
    assert_int_equal(last.min_txid, 1);
    assert_int_equal(last.max_txid, 3);
    assert_int_equal(last.size, 2);
    assert_int_equal(ls_ltx_last(f->s, 2, &last, &found, &e), LS_OK);
    assert_false(found);

    /* open, ranged */
    ls_reader *r;
    assert_int_equal(ls_ltx_open(f->s, 9, 1, 16, 0, LS_STORAGE_TO_END, &r, &e), LS_OK);
    char *b = read_all(r, NULL, NULL, &e);
    ls_reader_close(r);
    assert_string_equal(b, "snapshot");
    free(b);
    assert_int_equal(ls_ltx_open(f->s, 9, 1, 16, 4, 3, &r, &e), LS_OK);
    b = read_all(r, NULL, NULL, &e);
    ls_reader_close(r);
    assert_string_equal(b, "sho");
    free(b);
    assert_int_equal(ls_ltx_open(f->s, 9, 1, 15, 0, LS_STORAGE_TO_END, &r, &e), LS_ERR_NOTFOUND);
    assert_null(r);
    assert_non_null(strstr(e.msg, "ltx/9/0000000000000001-000000000000000f.ltx"));
    assert_int_equal(ls_ltx_open(f->s, 11, 1, 15, 0, LS_STORAGE_TO_END, &r, &e), LS_ERR_INVALID);
}

static void test_list_ignores_junk(void **state) {
    fixture *f = *state;
    ls_err e;
    write_ltx(f->s, 0, 1, 1, "a", 1000);
    const char *junk[] = {
        "ltx/0/0000000000000002-0000000000000002.LTX",
        "ltx/0/000000000000000A-000000000000000A.ltx",   /* upper-case hex */
        "ltx/0/000000000000002-0000000000000002.ltx",    /* 15 digits */
        "ltx/0/00000000000000002-0000000000000002.ltx",  /* 17 digits */
        "ltx/0/0000000000000002_0000000000000002.ltx",
        "ltx/0/0000000000000002-0000000000000002.ltx.bak",
        "ltx/0/x0000000000000002-0000000000000002.ltx",
        "ltx/0/0000000000000002-0000000000000002.ltxx",
        "ltx/0/readme.txt",
        "ltx/0/sub/0000000000000003-0000000000000003.ltx", /* nested */
        "ltx/00/0000000000000004-0000000000000004.ltx",
        "0000/0000000000000005-0000000000000005.ltx",      /* other layout */
    };
    for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) put_raw(f->s, junk[i], "junk");
    /* an in-progress upload */
    char *p = ls_path_join(f->dir, "ltx/0/0000000000000006-0000000000000006.ltx.77.1.tmp");
    lst_write_file(p, "partial", 7);
    free(p);
    ls_ltx_file_list l;
    assert_int_equal(ls_ltx_list(f->s, 0, 0, false, &l, &e), LS_OK);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.items[0].min_txid, 1);
    ls_ltx_file_list_free(&l);
}

static void test_hex4_layout(void **state) {
    fixture *f = *state;
    ls_err e;
    f->s->layout = LS_LTX_LAYOUT_HEX4;
    write_ltx(f->s, 0, 2, 2, "b", 2000);
    write_ltx(f->s, 0, 1, 1, "a", 1000);
    write_ltx(f->s, 9, 1, 2, "snap", 3000);
    /* keys created by hand, as an S3 replica would hold them */
    put_raw(f->s, "0001/0000000000000001-0000000000000002.ltx", "L1");
    put_raw(f->s, "000a/0000000000000001-0000000000000002.ltx", "level 10");
    put_raw(f->s, "0001/junk.ltx", "junk");
    put_raw(f->s, "0001/nested/0000000000000003-0000000000000003.ltx", "nested");
    put_raw(f->s, "ltx/1/0000000000000004-0000000000000004.ltx", "dir layout");
    put_raw(f->s, "00010/0000000000000005-0000000000000005.ltx", "5 digits");

    char *p = ls_path_join(f->dir, "0000/0000000000000002-0000000000000002.ltx");
    assert_true(ls_path_exists(p));
    free(p);
    p = ls_path_join(f->dir, "0009/0000000000000001-0000000000000002.ltx");
    assert_true(ls_path_exists(p));
    free(p);

    ls_ltx_file_list l;
    assert_int_equal(ls_ltx_list(f->s, 0, 0, false, &l, &e), LS_OK);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.items[0].min_txid, 1);
    assert_int_equal(l.items[0].created_at_ns, 1000 * LS_NS_PER_MS);
    assert_int_equal(l.items[1].min_txid, 2);
    ls_ltx_file_list_free(&l);
    assert_int_equal(ls_ltx_list(f->s, 1, 0, false, &l, &e), LS_OK);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.items[0].level, 1);
    assert_int_equal(l.items[0].max_txid, 2);
    assert_int_equal(l.items[0].size, 2);
    ls_ltx_file_list_free(&l);
    assert_int_equal(ls_ltx_list(f->s, 9, 0, false, &l, &e), LS_OK);
    assert_int_equal(l.n, 1);
    ls_ltx_file_list_free(&l);

    ls_reader *r;
    assert_int_equal(ls_ltx_open(f->s, 1, 1, 2, 0, LS_STORAGE_TO_END, &r, &e), LS_OK);
    char *b = read_all(r, NULL, NULL, &e);
    ls_reader_close(r);
    assert_string_equal(b, "L1");
    free(b);

    ls_ltx_file del[] = {{.level = 0, .min_txid = 1, .max_txid = 1}};
    assert_int_equal(ls_ltx_delete(f->s, del, 1, &e), LS_OK);
    assert_int_equal(ls_ltx_list(f->s, 0, 0, false, &l, &e), LS_OK);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.items[0].min_txid, 2);
    ls_ltx_file_list_free(&l);
    f->s->layout = LS_LTX_LAYOUT_DIR;
}

static void test_write_validation_and_ex(void **state) {
    fixture *f = *state;
    ls_err e;
    ls_reader *r = ls_reader_mem("xyz", 3);
    assert_int_equal(ls_ltx_write(f->s, 0, 0, 1, r, 1, &e), LS_ERR_INVALID);
    assert_int_equal(ls_ltx_write(f->s, 0, 5, 4, r, 1, &e), LS_ERR_INVALID);
    assert_non_null(strstr(e.msg, "0000000000000005-0000000000000004"));
    assert_int_equal(ls_ltx_write(f->s, 10, 1, 1, r, 1, &e), LS_ERR_INVALID);
    assert_int_equal(ls_ltx_write(f->s, 0, 1, 1, r, -5, &e), LS_ERR_INVALID);
    assert_int_equal(ls_ltx_write(f->s, 0, 1, 1, NULL, 5, &e), LS_ERR_INVALID);
    ls_ltx_file info;
    assert_int_equal(ls_ltx_write_ex(f->s, 2, 7, 9, r, 1234, &info, &e), LS_OK);
    ls_reader_close(r);
    assert_int_equal(info.level, 2);
    assert_int_equal(info.min_txid, 7);
    assert_int_equal(info.max_txid, 9);
    assert_int_equal(info.size, 3);
    assert_int_equal(info.created_at_ns, 1234 * LS_NS_PER_MS);
    /* timestamp 0 = backend default (now) */
    int64_t before = ls_now_ns();
    write_ltx(f->s, 3, 1, 1, "x", 0);
    ls_ltx_file_list l;
    assert_int_equal(ls_ltx_list(f->s, 3, 0, false, &l, &e), LS_OK);
    assert_int_equal(l.n, 1);
    assert_true(l.items[0].created_at_ns >= before - LS_NS_PER_SEC);
    ls_ltx_file_list_free(&l);
}

static void test_delete(void **state) {
    fixture *f = *state;
    ls_err e;
    for (uint64_t t = 1; t <= 5; t++) write_ltx(f->s, 0, t, t, "x", (int64_t)t);
    ls_ltx_file del[] = {{.level = 0, .min_txid = 2, .max_txid = 2},
                         {.level = 0, .min_txid = 4, .max_txid = 4},
                         {.level = 0, .min_txid = 40, .max_txid = 40}}; /* missing: fine */
    assert_int_equal(ls_ltx_delete(f->s, del, 3, &e), LS_OK);
    assert_int_equal(ls_ltx_delete(f->s, NULL, 0, &e), LS_OK);
    ls_ltx_file_list l;
    assert_int_equal(ls_ltx_list(f->s, 0, 0, false, &l, &e), LS_OK);
    assert_int_equal(l.n, 3);
    assert_int_equal(l.items[0].min_txid, 1);
    assert_int_equal(l.items[1].min_txid, 3);
    assert_int_equal(l.items[2].min_txid, 5);
    /* a listed file can be passed back for deletion */
    assert_int_equal(ls_ltx_delete(f->s, l.items, l.n, &e), LS_OK);
    ls_ltx_file_list_free(&l);
    assert_int_equal(ls_ltx_list(f->s, 0, 0, false, &l, &e), LS_OK);
    assert_int_equal(l.n, 0);
    ls_ltx_file_list_free(&l);
    ls_ltx_file bad[] = {{.level = 12, .min_txid = 1, .max_txid = 1}};
    assert_int_equal(ls_ltx_delete(f->s, bad, 1, &e), LS_ERR_INVALID);
}

static void test_accurate_time_heads(void **state) {
    fixture *f = *state;
    ls_err e;
    write_ltx(f->s, 0, 1, 1, "a", 1111);
    write_ltx(f->s, 0, 2, 2, "b", 2222);
    ls_storage *fs;
    assert_int_equal(ls_storage_faulty_wrap(f->s, false, &fs, &e), LS_OK);
    fs->list_times_accurate = false; /* behave like s3 */
    ls_ltx_file_list l;
    assert_int_equal(ls_ltx_list(fs, 0, 0, false, &l, &e), LS_OK);
    assert_int_equal(ls_faulty_calls(fs, LS_FAULT_HEAD), 0);
    ls_ltx_file_list_free(&l);
    assert_int_equal(ls_ltx_list(fs, 0, 0, true, &l, &e), LS_OK);
    assert_int_equal(ls_faulty_calls(fs, LS_FAULT_HEAD), 2);
    assert_int_equal(l.items[0].created_at_ns, 1111 * LS_NS_PER_MS);
    assert_int_equal(l.items[1].created_at_ns, 2222 * LS_NS_PER_MS);
    ls_ltx_file_list_free(&l);
    /* head failures fail the listing; list failures are wrapped */
    ls_faulty_fail_nth(fs, LS_FAULT_HEAD, 2, LS_ERR_NETWORK);
    assert_int_equal(ls_ltx_list(fs, 0, 0, true, &l, &e), LS_ERR_NETWORK);
    assert_int_equal(l.n, 0);
    ls_faulty_fail_nth(fs, LS_FAULT_LIST, 1, LS_ERR_NETWORK);
    assert_int_equal(ls_ltx_list(fs, 0, 0, false, &l, &e), LS_ERR_NETWORK);
    assert_non_null(strstr(e.msg, "list ltx level 0"));
    /* a failed write stores nothing */
    ls_faulty_fail_nth(fs, LS_FAULT_PUT, 1, LS_ERR_NOSPACE);
    ls_reader *r = ls_reader_mem("c", 1);
    assert_int_equal(ls_ltx_write(fs, 0, 3, 3, r, 3333, &e), LS_ERR_NOSPACE);
    ls_reader_close(r);
    uint64_t mx;
    assert_int_equal(ls_ltx_max_txid(fs, 0, &mx, &e), LS_OK);
    assert_int_equal(mx, 2);
    ls_storage_close(fs);
}

/* ---------------------------------------------------- resumable reader -- */

#define OBJ_SIZE 100000

static unsigned char *make_object(ls_storage *s, const char *key) {
    unsigned char *data = malloc(OBJ_SIZE);
    uint64_t seed = 7;
    lst_rand_bytes(&seed, data, OBJ_SIZE);
    ls_reader *r = ls_reader_mem(data, OBJ_SIZE);
    ls_err e;
    assert_int_equal(ls_storage_put(s, key, r, NULL, &e), LS_OK);
    ls_reader_close(r);
    return data;
}

static const ls_resume_opts fast = {.max_retries = 3, .delays_ms = {1, 2, 3}, .ndelays = 3};

static void test_resumable_recovers(void **state) {
    fixture *f = *state;
    ls_err e;
    unsigned char *data = make_object(f->s, "obj");
    ls_storage *fs;
    assert_int_equal(ls_storage_faulty_wrap(f->s, false, &fs, &e), LS_OK);

    /* the first two readers break after 30000 bytes each */
    ls_faulty_fail_reads(fs, 30000, LS_ERR_NETWORK, 2);
    ls_reader *r;
    assert_int_equal(ls_resumable_reader_ex(fs, "obj", OBJ_SIZE, &fast, &r), LS_OK);
    assert_int_equal(ls_faulty_calls(fs, LS_FAULT_GET), 0); /* lazily opened */
    size_t n;
    ls_code rc;
    char *b = read_all(r, &n, &rc, &e);
    ls_reader_close(r);
    assert_int_equal(rc, LS_OK);
    assert_int_equal(n, OBJ_SIZE);
    assert_memory_equal(b, data, OBJ_SIZE);
    free(b);
    assert_int_equal(ls_faulty_calls(fs, LS_FAULT_GET), 3);
    ls_storage_stats st;
    ls_storage_stats_get(fs, &st);
    assert_int_equal(st.retries, 2);

    /* premature EOF (a truncated stream) is detected with a known size */
    ls_faulty_fail_reads(fs, 12345, LS_OK, 3);
    assert_int_equal(ls_resumable_reader_ex(fs, "obj", OBJ_SIZE, &fast, &r), LS_OK);
    b = read_all(r, &n, &rc, &e);
    ls_reader_close(r);
    assert_int_equal(rc, LS_OK);
    assert_int_equal(n, OBJ_SIZE);
    assert_memory_equal(b, data, OBJ_SIZE);
    free(b);

    /* ... and not with an unknown size */
    ls_faulty_fail_reads(fs, 12345, LS_OK, 1);
    assert_int_equal(ls_resumable_reader_ex(fs, "obj", -1, &fast, &r), LS_OK);
    b = read_all(r, &n, &rc, &e);
    ls_reader_close(r);
    assert_int_equal(n, 12345);
    free(b);

    /* every reader breaks after 1000 bytes: progress restores the budget */
    ls_faulty_fail_reads(fs, 1000, LS_ERR_IO, 0);
    assert_int_equal(ls_resumable_reader_ex(fs, "obj", OBJ_SIZE, &fast, &r), LS_OK);
    b = read_all(r, &n, &rc, &e);
    ls_reader_close(r);
    assert_int_equal(rc, LS_OK);
    assert_int_equal(n, OBJ_SIZE);
    assert_memory_equal(b, data, OBJ_SIZE);
    free(b);
    ls_faulty_clear(fs);

    /* a failed (re)open is retried too */
    ls_faulty_fail_nth(fs, LS_FAULT_GET, 1, LS_ERR_TIMEOUT);
    ls_faulty_fail_nth(fs, LS_FAULT_GET, 2, LS_ERR_NETWORK);
    assert_int_equal(ls_resumable_reader_ex(fs, "obj", OBJ_SIZE, &fast, &r), LS_OK);
    b = read_all(r, &n, &rc, &e);
    ls_reader_close(r);
    assert_int_equal(rc, LS_OK);
    assert_int_equal(n, OBJ_SIZE);
    free(b);

    /* a reader closed before its first read never opens the object */
    uint64_t gets = ls_faulty_calls(fs, LS_FAULT_GET);
    assert_int_equal(ls_resumable_reader_ex(fs, "obj", OBJ_SIZE, &fast, &r), LS_OK);
    ls_reader_close(r);
    assert_int_equal(ls_faulty_calls(fs, LS_FAULT_GET), gets);
    ls_storage_close(fs);
    free(data);
}

static void test_resumable_gives_up(void **state) {
    fixture *f = *state;
    ls_err e;
    unsigned char *data = make_object(f->s, "obj");
    ls_storage *fs;
    assert_int_equal(ls_storage_faulty_wrap(f->s, false, &fs, &e), LS_OK);

    /* reads fail at byte 5000 and every reopen fails */
    ls_faulty_fail_reads(fs, 5000, LS_ERR_NETWORK, 1);
    ls_reader *r;
    assert_int_equal(ls_resumable_reader_ex(fs, "obj", OBJ_SIZE, &fast, &r), LS_OK);
    unsigned char buf[8192];
    size_t n;
    assert_int_equal(ls_read_full(r, buf, 5000, &n, &e), LS_OK);
    assert_int_equal(n, 5000);
    ls_faulty_fail_every(fs, LS_FAULT_GET, LS_ERR_NETWORK);
    assert_int_equal(ls_read(r, buf, sizeof(buf), &n, &e), LS_ERR_NETWORK);
    assert_int_equal(n, 0);
    assert_non_null(strstr(e.msg, "gave up after 3 retries"));
    assert_non_null(strstr(e.msg, "obj at byte 5000"));
    ls_reader_close(r);
    ls_storage_stats st;
    ls_storage_stats_get(fs, &st);
    assert_int_equal(st.retries, 3);
    ls_faulty_clear(fs);

    /* permanent errors are not retried */
    assert_int_equal(ls_resumable_reader_ex(fs, "missing", 10, &fast, &r), LS_OK);
    assert_int_equal(ls_read(r, buf, sizeof(buf), &n, &e), LS_ERR_NOTFOUND);
    ls_reader_close(r);
    ls_faulty_fail_every(fs, LS_FAULT_GET, LS_ERR_AUTH);
    assert_int_equal(ls_resumable_reader_ex(fs, "obj", OBJ_SIZE, &fast, &r), LS_OK);
    assert_int_equal(ls_read(r, buf, sizeof(buf), &n, &e), LS_ERR_AUTH);
    ls_reader_close(r);
    ls_storage_stats_get(fs, &st);
    assert_int_equal(st.retries, 3);
    ls_storage_close(fs);
    free(data);
}

static void test_resumable_default_backoff(void **state) {
    fixture *f = *state;
    ls_err e;
    write_ltx(f->s, 0, 1, 1, "0123456789", 1000);
    ls_storage *fs;
    assert_int_equal(ls_storage_faulty_wrap(f->s, false, &fs, &e), LS_OK);
    ls_faulty_fail_reads(fs, 4, LS_ERR_NETWORK, 1);
    ls_reader *r;
    assert_int_equal(ls_ltx_open_resumable(fs, 0, 1, 1, 10, &r, &e), LS_OK);
    int64_t t0 = ls_monotonic_ns();
    size_t n;
    ls_code rc;
    char *b = read_all(r, &n, &rc, &e);
    int64_t dt = ls_monotonic_ns() - t0;
    ls_reader_close(r);
    assert_int_equal(rc, LS_OK);
    assert_string_equal(b, "0123456789");
    free(b);
    assert_true(dt >= 240 * LS_NS_PER_MS); /* first retry waits 250 ms */
    assert_true(dt < 5 * LS_NS_PER_SEC);
    assert_int_equal(ls_ltx_open_resumable(fs, 10, 1, 1, 10, &r, &e), LS_ERR_INVALID);
    assert_null(r);
    ls_storage_close(fs);
}

int main(void) {
    ls_log_set_level(LS_LOG_ERROR); /* retries log warnings */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_list_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_ignores_junk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hex4_layout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_validation_and_ex, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_accurate_time_heads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resumable_recovers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resumable_gives_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resumable_default_backoff, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
