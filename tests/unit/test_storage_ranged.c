/* Unit tests for storage/ranged (parallel ranged reads of one object) and
 * the ranged resumable reader, over the file backend behind the
 * fault-injecting wrapper (its type is not "file", so ranges are used). */
#include "testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/faulty.h"
#include "storage/ltxfiles.h"
#include "storage/ranged.h"
#include "storage/storage.h"
#include "util/log.h"

#define CHUNK LS_RANGED_MIN_CHUNK /* 64 KiB: many ranges from small objects */

typedef struct {
    char *dir;
    ls_storage *inner; /* file backend */
    ls_storage *s;     /* faulty wrapper around it */
} fixture;

static const ls_resume_opts fast = {.max_retries = 3, .delays_ms = {1, 2, 3}, .ndelays = 3};

static int setup(void **state) {
    fixture *f = calloc(1, sizeof(*f));
    f->dir = lst_tmpdir();
    ls_err e;
    assert_int_equal(ls_storage_file_open(f->dir, &f->inner, &e), LS_OK);
    assert_int_equal(ls_storage_faulty_wrap(f->inner, false, &f->s, &e), LS_OK);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    ls_storage_close(f->s);
    ls_storage_close(f->inner);
    lst_rmtree(f->dir);
    free(f);
    return 0;
}

static unsigned char *put_object(ls_storage *s, const char *key, size_t size, uint64_t seed) {
    unsigned char *data = malloc(size ? size : 1);
    lst_rand_bytes(&seed, data, size);
    ls_reader *r = ls_reader_mem(data, size);
    ls_err e;
    ls_code rc = ls_storage_put(s, key, r, NULL, &e);
    ls_reader_close(r);
    if (rc != LS_OK) fail_msg("put %s: %s", key, e.msg);
    return data;
}

/* Reads r to EOF or error in reads of `step` bytes (varying when 0). */
static unsigned char *read_all(ls_reader *r, size_t step, size_t *n_out, ls_code *rc_out, ls_err *e) {
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = malloc(cap);
    ls_code rc = LS_OK;
    uint64_t seed = 99;
    for (;;) {
        size_t want = step ? step : 1 + (size_t)(lst_rand(&seed) % 100000);
        if (n + want > cap) {
            while (n + want > cap) cap *= 2;
            buf = realloc(buf, cap);
        }
        size_t got = 0;
        rc = ls_read(r, buf + n, want, &got, e);
        if (rc != LS_OK || got == 0) break;
        n += got;
    }
    *n_out = n;
    *rc_out = rc;
    return buf;
}

static ls_ranged_opts opts(int par) {
    return (ls_ranged_opts){.parallelism = par, .chunk_size = CHUNK, .resume = &fast};
}

static void check_read(fixture *f, const char *key, const unsigned char *data, size_t size, int par,
                       size_t step) {
    ls_ranged_group *g;
    ls_err e;
    ls_ranged_opts o = opts(par);
    assert_int_equal(ls_ranged_group_new(&o, &g, &e), LS_OK);
    uint64_t gets0 = ls_faulty_calls(f->s, LS_FAULT_GET);
    ls_reader *r;
    assert_int_equal(ls_ranged_open(g, f->s, key, size, &r, &e), LS_OK);
    size_t n;
    ls_code rc;
    unsigned char *b = read_all(r, step, &n, &rc, &e);
    if (rc != LS_OK) fail_msg("par %d: %s", par, e.msg);
    assert_int_equal(n, size);
    if (size) assert_memory_equal(b, data, size);
    /* EOF is sticky */
    size_t got = 1;
    assert_int_equal(ls_read(r, b, 16, &got, &e), LS_OK);
    assert_int_equal(got, 0);
    ls_reader_close(r);
    uint64_t chunks = size / CHUNK + (size % CHUNK ? 1 : 0);
    /* one get per range; alone, one get for them all */
    uint64_t gets = par == 1 ? (chunks ? 1 : 0) : chunks;
    assert_int_equal(ls_faulty_calls(f->s, LS_FAULT_GET) - gets0, gets);
    ls_ranged_stats st;
    ls_ranged_group_stats(g, &st);
    assert_int_equal(st.ranges, chunks);
    assert_true(st.peak_fetching <= (uint64_t)par);   /* par requests in flight */
    assert_true(st.peak_chunks <= (uint64_t)par + 1); /* one reader: par + 1 chunks */
    assert_true(st.peak_buffers <= (uint64_t)par + 1);/* ... and buffers */
    assert_int_equal(st.buffers, 0);               /* freed with the last reader */
    ls_ranged_group_free(g);
    free(b);
}

static void test_ranged_content(void **state) {
    fixture *f = *state;
    const size_t sizes[] = {0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 17 * CHUNK + 12345};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        char key[32];
        snprintf(key, sizeof(key), "obj%zu", i);
        unsigned char *data = put_object(f->s, key, sizes[i], 1 + i);
        const int pars[] = {1, 2, 3, 8};
        for (size_t p = 0; p < 4; p++) {
            check_read(f, key, data, sizes[i], pars[p], 0);
            check_read(f, key, data, sizes[i], pars[p], 4096);
        }
        check_read(f, key, data, sizes[i], 5, 1000003);
        free(data);
    }
}

/* Broken transfers are resumed inside their range; the result is exact. */
static void test_ranged_retries(void **state) {
    fixture *f = *state;
    const size_t size = 20 * CHUNK + 777;
    unsigned char *data = put_object(f->s, "big", size, 42);
    ls_err e;
    ls_storage_stats before, after;
    ls_storage_stats_get(f->s, &before);
    /* the next 12 readers break after 10000 bytes (some ranges twice) */
    ls_faulty_fail_reads(f->s, 10000, LS_ERR_NETWORK, 12);
    ls_reader *r;
    ls_ranged_opts o = opts(4);
    assert_int_equal(ls_ranged_reader(f->s, "big", size, &o, &r, &e), LS_OK);
    size_t n;
    ls_code rc;
    unsigned char *b = read_all(r, 0, &n, &rc, &e);
    ls_reader_close(r);
    if (rc != LS_OK) fail_msg("%s", e.msg);
    assert_int_equal(n, size);
    assert_memory_equal(b, data, size);
    free(b);
    ls_storage_stats_get(f->s, &after);
    /* a wrapped reader with < 10000 bytes left in its range does not fail */
    assert_true(after.retries - before.retries >= 6);

    /* premature ends (a truncated body) are detected and resumed too */
    ls_faulty_fail_reads(f->s, 5000, LS_OK, 6);
    assert_int_equal(ls_ranged_reader(f->s, "big", size, &o, &r, &e), LS_OK);
    b = read_all(r, 65536, &n, &rc, &e);
    ls_reader_close(r);
    if (rc != LS_OK) fail_msg("%s", e.msg);
    assert_int_equal(n, size);
    assert_memory_equal(b, data, size);
    free(b);

    /* failed (re)opens are retried */
    ls_faulty_clear(f->s);
    ls_faulty_fail_nth(f->s, LS_FAULT_GET, 2, LS_ERR_TIMEOUT);
    ls_faulty_fail_nth(f->s, LS_FAULT_GET, 5, LS_ERR_UNAVAILABLE);
    assert_int_equal(ls_ranged_reader(f->s, "big", size, &o, &r, &e), LS_OK);
    b = read_all(r, 0, &n, &rc, &e);
    ls_reader_close(r);
    if (rc != LS_OK) fail_msg("%s", e.msg);
    assert_int_equal(n, size);
    assert_memory_equal(b, data, size);
    free(b);
    ls_faulty_clear(f->s);
    free(data);
}

/* A range that keeps failing: the bytes before it are delivered intact,
 * then the error (naming the key and the range), again on every read. */
static void test_ranged_gives_up(void **state) {
    fixture *f = *state;
    const size_t size = 10 * CHUNK;
    unsigned char *data = put_object(f->s, "obj", size, 5);
    ls_err e;
    /* parallelism 1: one get streams every range; it breaks 100 bytes into
     * range 3 and the next 3 gets (every retry) fail */
    ls_ranged_opts o = opts(1);
    ls_ranged_group *g;
    assert_int_equal(ls_ranged_group_new(&o, &g, &e), LS_OK);
    ls_faulty_fail_reads(f->s, 3 * CHUNK + 100, LS_ERR_NETWORK, 1);
    for (uint64_t k = 2; k <= 4; k++) ls_faulty_fail_nth(f->s, LS_FAULT_GET, k, LS_ERR_NETWORK);
    ls_reader *r;
    assert_int_equal(ls_ranged_open(g, f->s, "obj", size, &r, &e), LS_OK);
    unsigned char *buf = malloc(size);
    size_t n = 0;
    ls_code rc = LS_OK;
    while (n < size) {
        size_t got = 0;
        rc = ls_read(r, buf + n, 7000, &got, &e);
        if (rc != LS_OK || got == 0) break;
        n += got;
    }
    assert_int_equal(rc, LS_ERR_NETWORK);
    assert_int_equal(n, 3 * CHUNK + 100);
    assert_memory_equal(buf, data, n);
    assert_non_null(strstr(e.msg, "obj"));
    char range[64];
    snprintf(range, sizeof(range), "bytes %zu-%zu", 3 * CHUNK, 4 * CHUNK - 1);
    if (!strstr(e.msg, range)) fail_msg("error does not name the range: %s", e.msg);
    ls_err e2;
    size_t got = 1;
    assert_int_equal(ls_read(r, buf, 10, &got, &e2), LS_ERR_NETWORK);
    assert_int_equal(got, 0);
    assert_string_equal(e2.msg, e.msg);
    ls_reader_close(r);
    ls_faulty_clear(f->s);
    ls_ranged_stats st;
    ls_ranged_group_stats(g, &st);
    assert_int_equal(st.buffers, 0);
    ls_ranged_group_free(g);

    /* a permanent error (object gone) is not retried */
    uint64_t gets0 = ls_faulty_calls(f->s, LS_FAULT_GET);
    assert_int_equal(ls_ranged_reader(f->s, "missing", size, &o, &r, &e), LS_OK);
    unsigned char *b = read_all(r, 0, &n, &rc, &e);
    ls_reader_close(r);
    assert_int_equal(rc, LS_ERR_NOTFOUND);
    assert_int_equal(n, 0);
    assert_int_equal(ls_faulty_calls(f->s, LS_FAULT_GET) - gets0, 1);
    free(b);

    /* an object shorter than announced fails at its end */
    assert_int_equal(ls_ranged_reader(f->s, "obj", size + 3 * CHUNK, &o, &r, &e), LS_OK);
    b = read_all(r, 0, &n, &rc, &e);
    ls_reader_close(r);
    assert_int_not_equal(rc, LS_OK);
    assert_int_equal(n, size);
    assert_memory_equal(b, data, size);
    free(b);
    free(buf);
    free(data);
}

/* Two readers of one group consumed alternately (as a k-way merge does):
 * no deadlock, at most parallelism + readers chunks held. */
static void test_ranged_group_shared(void **state) {
    fixture *f = *state;
    const size_t sa = 13 * CHUNK + 5, sb = 9 * CHUNK + 77;
    unsigned char *da = put_object(f->s, "a", sa, 11), *db = put_object(f->s, "b", sb, 12);
    for (int par = 1; par <= 3; par++) {
        ls_ranged_opts o = opts(par);
        ls_ranged_group *g;
        ls_err e;
        assert_int_equal(ls_ranged_group_new(&o, &g, &e), LS_OK);
        ls_reader *ra, *rb;
        assert_int_equal(ls_ranged_open(g, f->s, "a", sa, &ra, &e), LS_OK);
        assert_int_equal(ls_ranged_open(g, f->s, "b", sb, &rb, &e), LS_OK);
        unsigned char *ba = malloc(sa), *bb = malloc(sb);
        size_t na = 0, nb = 0;
        uint64_t seed = 3;
        while (na < sa || nb < sb) {
            bool pick_a = nb >= sb || (na < sa && (lst_rand(&seed) & 1));
            ls_reader *r = pick_a ? ra : rb;
            unsigned char *dst = pick_a ? ba + na : bb + nb;
            size_t left = pick_a ? sa - na : sb - nb;
            size_t want = 1 + (size_t)(lst_rand(&seed) % (3 * CHUNK));
            size_t got = 0;
            assert_int_equal(ls_read(r, dst, want < left ? want : left, &got, &e), LS_OK);
            assert_true(got > 0);
            if (pick_a) na += got;
            else nb += got;
        }
        assert_memory_equal(ba, da, sa);
        assert_memory_equal(bb, db, sb);
        ls_reader_close(ra);
        ls_reader_close(rb);
        ls_ranged_stats st;
        ls_ranged_group_stats(g, &st);
        assert_true(st.peak_fetching <= (uint64_t)par);
        assert_true(st.peak_chunks <= (uint64_t)par + 1 + 2);
        assert_true(st.peak_buffers <= (uint64_t)par + 1 + 2);
        assert_int_equal(st.buffers, 0);
        ls_ranged_group_free(g);
        free(ba);
        free(bb);
    }
    free(da);
    free(db);
}

/* The caller finishing a chunk while its worker is still returning from the
 * last read (the slot is handed to the next chunk at once): many rounds of
 * chunk-sized reads of a fast backend. */
static void test_ranged_stress(void **state) {
    fixture *f = *state;
    const size_t size = 32 * CHUNK + 100;
    unsigned char *data = put_object(f->s, "obj", size, 21);
    unsigned char *buf = malloc(size);
    int rounds = lst_under_valgrind() ? 5 : 200;
    for (int i = 0; i < rounds; i++) {
        ls_ranged_opts o = opts(1 + i % 8);
        ls_reader *r;
        ls_err e;
        assert_int_equal(ls_ranged_reader(f->s, "obj", size, &o, &r, &e), LS_OK);
        size_t n = 0;
        while (n < size) {
            size_t got = 0;
            ls_code rc = ls_read(r, buf + n, i % 2 ? CHUNK : size - n, &got, &e);
            if (rc != LS_OK) fail_msg("round %d at %zu: %s", i, n, e.msg);
            assert_true(got > 0);
            n += got;
        }
        ls_reader_close(r);
        assert_memory_equal(buf, data, size);
    }
    free(buf);
    free(data);
}

/* Closing a reader with ranges in flight (and one never read) is clean. */
static void test_ranged_close_early(void **state) {
    fixture *f = *state;
    const size_t size = 40 * CHUNK;
    unsigned char *data = put_object(f->s, "obj", size, 8);
    ls_ranged_opts o = opts(8);
    ls_ranged_group *g;
    ls_err e;
    assert_int_equal(ls_ranged_group_new(&o, &g, &e), LS_OK);
    ls_ranged_group *g1; /* parallelism 1: a paused stream is left open */
    ls_ranged_opts o1 = opts(1);
    assert_int_equal(ls_ranged_group_new(&o1, &g1, &e), LS_OK);
    for (int i = 0; i < 20; i++) {
        ls_reader *r1;
        assert_int_equal(ls_ranged_open(g1, f->s, "obj", size, &r1, &e), LS_OK);
        unsigned char b1[100];
        size_t got1 = 0;
        if (i % 3) assert_int_equal(ls_read_full(r1, b1, sizeof(b1), &got1, &e), LS_OK);
        ls_reader_close(r1);
        ls_reader *r;
        assert_int_equal(ls_ranged_open(g, f->s, "obj", size, &r, &e), LS_OK);
        unsigned char buf[1000];
        size_t got = 0;
        if (i % 2) {
            assert_int_equal(ls_read_full(r, buf, sizeof(buf), &got, &e), LS_OK);
            assert_memory_equal(buf, data, sizeof(buf));
        }
        ls_reader_close(r);
    }
    ls_ranged_group_free(g);
    ls_ranged_group_free(g1);
    ls_ranged_group_free(NULL);
    free(data);
}

static void test_ranged_worthwhile(void **state) {
    fixture *f = *state;
    ls_ranged_opts o = {.parallelism = 4, .chunk_size = 1 << 20};
    ls_ranged_group *g;
    ls_err e;
    assert_int_equal(ls_ranged_group_new(&o, &g, &e), LS_OK);
    assert_int_equal(ls_ranged_chunk_size(g), 1 << 20);
    assert_false(ls_ranged_worthwhile(g, f->inner, 100 << 20)); /* file backend */
    assert_true(ls_ranged_worthwhile(g, f->s, (1 << 20) + 1));
    assert_false(ls_ranged_worthwhile(g, f->s, 1 << 20));
    assert_false(ls_ranged_worthwhile(g, f->s, -1));
    assert_false(ls_ranged_worthwhile(NULL, f->s, 100 << 20));
    ls_ranged_group_free(g);
    o.parallelism = 1; /* one streamed get with read-ahead */
    assert_int_equal(ls_ranged_group_new(&o, &g, &e), LS_OK);
    assert_true(ls_ranged_worthwhile(g, f->s, 100 << 20));
    ls_ranged_group_free(g);
    /* default range size: 64 MiB of buffers in whole 2 MiB, 1..8 MiB */
    const int par[] = {1, 2, 7, 8, 15, 31, 32, 64};
    const size_t want[] = {8, 8, 8, 6, 4, 2, 1, 1};
    for (size_t i = 0; i < 8; i++) {
        ls_ranged_opts d = {.parallelism = par[i]};
        assert_int_equal(ls_ranged_group_new(&d, &g, &e), LS_OK);
        assert_int_equal(ls_ranged_chunk_size(g), want[i] << 20);
        ls_ranged_group_free(g);
    }
    /* clamping */
    o.parallelism = 4;
    o.chunk_size = 1;
    o.parallelism = 1000;
    assert_int_equal(ls_ranged_group_new(&o, &g, &e), LS_OK);
    assert_int_equal(ls_ranged_chunk_size(g), LS_RANGED_MIN_CHUNK);
    ls_ranged_group_free(g);
    setenv("LITESTREAM_RESTORE_RANGE_SIZE", "2097152", 1);
    o.chunk_size = 0;
    assert_int_equal(ls_ranged_group_new(&o, &g, &e), LS_OK);
    assert_int_equal(ls_ranged_chunk_size(g), 2 << 20);
    ls_ranged_group_free(g);
    unsetenv("LITESTREAM_RESTORE_RANGE_SIZE");
    assert_int_equal(ls_ranged_group_new(NULL, &g, &e), LS_OK);
    assert_int_equal(ls_ranged_chunk_size(g), LS_RANGED_DEFAULT_CHUNK);
    ls_ranged_group_free(g);
}

/* ls_resumable_range_reader: exact range, resumed inside it. */
static void test_resumable_range(void **state) {
    fixture *f = *state;
    const size_t size = 100000;
    unsigned char *data = put_object(f->s, "obj", size, 77);
    ls_err e;
    ls_reader *r;
    size_t n;
    ls_code rc;
    assert_int_equal(ls_resumable_range_reader(f->s, "obj", 1000, 50000, &fast, &r), LS_OK);
    ls_faulty_fail_reads(f->s, 7000, LS_ERR_NETWORK, 3);
    unsigned char *b = read_all(r, 3000, &n, &rc, &e);
    ls_reader_close(r);
    assert_int_equal(rc, LS_OK);
    assert_int_equal(n, 50000);
    assert_memory_equal(b, data + 1000, 50000);
    free(b);
    ls_faulty_clear(f->s);
    /* empty range: no request */
    uint64_t gets0 = ls_faulty_calls(f->s, LS_FAULT_GET);
    assert_int_equal(ls_resumable_range_reader(f->s, "obj", 5, 0, &fast, &r), LS_OK);
    b = read_all(r, 100, &n, &rc, &e);
    ls_reader_close(r);
    assert_int_equal(rc, LS_OK);
    assert_int_equal(n, 0);
    assert_int_equal(ls_faulty_calls(f->s, LS_FAULT_GET), gets0);
    free(b);
    /* a range past the end of the object is an error, not a short read */
    assert_int_equal(ls_resumable_range_reader(f->s, "obj", size - 10, 100, &fast, &r), LS_OK);
    b = read_all(r, 0, &n, &rc, &e);
    ls_reader_close(r);
    assert_int_not_equal(rc, LS_OK);
    assert_int_equal(n, 10);
    free(b);
    free(data);
}

int main(void) {
    ls_log_set_level(LS_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ranged_content, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ranged_retries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ranged_gives_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ranged_group_shared, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ranged_stress, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ranged_close_early, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ranged_worthwhile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resumable_range, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
