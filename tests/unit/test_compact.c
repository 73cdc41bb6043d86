/*
 * Unit tests for engine/compact.c without a database (db == NULL): interval
 * alignment, level compaction from replica files, failure modes, snapshot /
 * cascading retention, L0 retention, and a randomized simulation that checks
 * after every step that a restore of "latest" still reaches the newest TXID
 * with the right database image. Synthetic histories: lib/compact_testlib.h.
 */
#include "testlib.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compact_testlib.h"
#include "engine/compact.h"
#include "ltx/ltx.h"
#include "storage/faulty.h"
#include "storage/ltxfiles.h"
#include "util/fs.h"
#include "util/timeutil.h"

#define SEC LS_NS_PER_SEC
#define MIN_NS (60 * SEC)
#define HOUR_NS (60 * MIN_NS)
#define DAY_NS (24 * HOUR_NS)
/* 2023-11-14T00:00:00Z: a multiple of 30 s, 5 min, 1 h and 24 h. */
#define BASE_S INT64_C(1699920000)
#define BASE_NS (BASE_S * SEC)
#define AT(s) (BASE_NS + (int64_t)(s) * SEC)           /* fake clock, ns */
#define AT_MS(s) (BASE_S * 1000 + (int64_t)(s) * 1000) /* same instant, ms */

#define CHECK(expr)                                                               \
    do {                                                                          \
        ls_err e_;                                                                \
        memset(&e_, 0, sizeof(e_));                                               \
        ls_code rc_ = (expr);                                                     \
        if (rc_ != LS_OK) fail_msg("%s: %s (%s)", #expr, e_.msg, ls_code_name(rc_)); \
    } while (0)

typedef struct fx {
    char *dir;
    char *root;
    ls_storage *st;
    ct_hist h;
} fx;

static int setup(void **state) {
    fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->dir = lst_tmpdir();
    f->root = ls_path_join(f->dir, "replica");
    CHECK(ls_storage_file_open(f->root, &f->st, &e_));
    ct_hist_init(&f->h, 512, 42);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fx *f = *state;
    ls_storage_close(f->st);
    ct_hist_free(&f->h);
    free(f->root);
    lst_rmtree(f->dir);
    free(f);
    return 0;
}

/* Adds transactions up to TXID `upto`, each stored in L0 with timestamp
 * AT_MS(ts_of(t)) where the caller passes the timestamp of each. */
static void add_l0(fx *f, uint64_t txid_expected, int64_t ts_ms) {
    uint64_t t = ct_hist_add(&f->h);
    assert_int_equal(t, txid_expected);
    ct_put_range(f->st, &f->h, 0, t, t, ts_ms);
}

static ls_compact_result compact(fx *f, int level, int64_t interval, int64_t now) {
    ls_compact_result r;
    CHECK(ls_compact_level_ex(f->st, NULL, level, interval, now, true, &r, &e_));
    assert_false(r.verify_failed); /* every level stays contiguous */
    return r;
}

static void assert_image_of(fx *f, int level, uint64_t min, uint64_t max) {
    /* a file starting at 1 is a full image by itself */
    uint8_t *img = NULL;
    size_t cap = 0;
    uint32_t commit = 0;
    assert_int_equal(min, 1);
    ct_apply_file(f->st, level, min, max, &img, &cap, &commit, f->h.page_size);
    uint32_t wc = 0;
    uint8_t *want = ct_hist_image(&f->h, max, &wc);
    assert_int_equal(commit, wc);
    assert_memory_equal(img, want, (size_t)wc * f->h.page_size);
    free(img);
    free(want);
}

/* ---- 7.2 ---------------------------------------------------------------- */

static int64_t oracle_prev(int64_t now, int64_t d) {
    __int128 z = (__int128)INT64_C(62135596800) * 1000000000;
    __int128 x = (__int128)now + z; /* > 0 for every int64 now */
    __int128 p = (x / d) * d - z;
    return p < INT64_MIN ? INT64_MIN : (int64_t)p;
}

static void test_interval_prev(void **state) {
    (void)state;
    const int64_t day_divisors[] = {30 * SEC, 5 * MIN_NS, HOUR_NS, DAY_NS, SEC, 15 * SEC};
    const int64_t nows[] = {BASE_NS,        BASE_NS + 1,      BASE_NS + 29 * SEC + 999999999,
                            0,              -1,               -DAY_NS - 5,
                            BASE_NS - 1,    AT(86399),        INT64_C(4102444800) * SEC + 12345,
                            INT64_C(-5000000000000000000)};
    for (size_t i = 0; i < sizeof(day_divisors) / sizeof(day_divisors[0]); i++) {
        int64_t d = day_divisors[i];
        for (size_t j = 0; j < sizeof(nows) / sizeof(nows[0]); j++) {
            int64_t now = nows[j];
            /* intervals dividing a day: plain UTC alignment (floor) */
            int64_t q = now / d;
            if (now % d < 0) q--;
            assert_int_equal(ls_interval_prev(now, d), q * d);
        }
    }
    /* 24 h -> UTC midnight */
    assert_int_equal(ls_interval_prev(AT(13 * 3600 + 7), DAY_NS), BASE_NS);
    /* weekly: Go's zero time is a Monday; 2023-11-14 is a Tuesday, the Unix
     * epoch a Thursday */
    assert_int_equal(ls_interval_prev(BASE_NS, 7 * DAY_NS), BASE_NS - DAY_NS);
    assert_int_equal(ls_interval_prev(0, 7 * DAY_NS), -3 * DAY_NS);
    /* 7 s does not divide the offset from Go's zero time */
    assert_int_equal(ls_interval_prev(0, 7 * SEC), oracle_prev(0, 7 * SEC));
    assert_true(ls_interval_prev(0, 7 * SEC) != 0);
    /* random intervals and times against 128-bit arithmetic */
    uint64_t rng = 7;
    for (int i = 0; i < 20000; i++) {
        int64_t d = (int64_t)(lst_rand(&rng) % (i % 2 ? UINT64_C(1000000000000000) : 1000000)) + 1;
        int64_t now = (int64_t)lst_rand(&rng);
        if (i % 3 == 0) now /= 1000;
        assert_int_equal(ls_interval_prev(now, d), oracle_prev(now, d));
    }
    /* extremes: no overflow (UBSan), saturation, Go's d <= 0 rule */
    assert_int_equal(ls_interval_prev(INT64_MAX, 1), INT64_MAX);
    assert_int_equal(ls_interval_prev(INT64_MAX, INT64_MAX), oracle_prev(INT64_MAX, INT64_MAX));
    assert_int_equal(ls_interval_prev(INT64_MIN, HOUR_NS), INT64_MIN);
    assert_int_equal(ls_interval_prev(INT64_MIN, INT64_MAX), INT64_MIN);
    assert_int_equal(ls_interval_prev(AT(5), 0), AT(5));
    assert_int_equal(ls_interval_prev(AT(5), -SEC), AT(5));
}

static void test_opts_defaults(void **state) {
    (void)state;
    ls_compact_opts o;
    ls_compact_opts_defaults(&o);
    assert_int_equal(o.nlevels, 3);
    assert_int_equal(o.level_interval_ns[0], 30 * SEC);
    assert_int_equal(o.level_interval_ns[1], 5 * MIN_NS);
    assert_int_equal(o.level_interval_ns[2], HOUR_NS);
    assert_int_equal(o.snapshot_interval_ns, DAY_NS);
    assert_int_equal(o.snapshot_retention_ns, DAY_NS);
    assert_int_equal(o.l0_retention_ns, 5 * MIN_NS);
    assert_true(o.retention_enabled);
    assert_false(o.verify_compaction);
    assert_string_equal(ls_compact_outcome_name(LS_COMPACT_TOO_EARLY), "too_early");
}

/* ---- 7.3 ---------------------------------------------------------------- */

static void test_l1_then_l2(void **state) {
    fx *f = *state;
    /* nothing yet */
    assert_int_equal(compact(f, 1, 30 * SEC, AT(1)).outcome, LS_COMPACT_NOTHING);
    for (uint64_t t = 1; t <= 10; t++) add_l0(f, t, AT_MS(t));

    ls_compact_result r = compact(f, 1, 30 * SEC, AT(11));
    assert_int_equal(r.outcome, LS_COMPACT_DONE);
    assert_int_equal(r.level, 1);
    assert_int_equal(r.min_txid, 1);
    assert_int_equal(r.max_txid, 10);
    assert_int_equal(r.ninputs, 10);
    assert_int_equal(r.nlocal, 0);
    assert_int_equal(r.timestamp_ms, AT_MS(10));
    ltx_header hdr;
    ct_read_header(f->st, 1, 1, 10, &hdr);
    assert_int_equal(hdr.flags, LTX_FLAG_NO_CHECKSUM);
    assert_int_equal(hdr.timestamp, AT_MS(10));
    assert_int_equal(hdr.commit, f->h.tx[10].commit);
    assert_int_equal(hdr.wal_offset, 0);
    assert_int_equal(hdr.wal_size, 0);
    assert_image_of(f, 1, 1, 10);
    /* the replica records the newest input's timestamp as creation time */
    ls_ltx_file_list l = ct_list(f->st, 1);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.items[0].created_at_ns, AT(10));
    assert_int_equal(l.items[0].size, r.size);
    ls_ltx_file_list_free(&l);

    for (uint64_t t = 11; t <= 15; t++) add_l0(f, t, AT_MS(t));
    /* the L1 file's time (AT(10)) is after this interval's start (AT(0)) */
    assert_int_equal(compact(f, 1, 30 * SEC, AT(20)).outcome, LS_COMPACT_TOO_EARLY);
    assert_int_equal(ct_count(f->st, 1), 1);
    r = compact(f, 1, 30 * SEC, AT(31));
    assert_int_equal(r.outcome, LS_COMPACT_DONE);
    assert_int_equal(r.min_txid, 11);
    assert_int_equal(r.max_txid, 15);
    assert_int_equal(r.timestamp_ms, AT_MS(15));
    /* 11-15 is not a snapshot: L1 1-10 then 11-15 must give image 15 */
    {
        uint8_t *img = NULL;
        size_t cap = 0;
        uint32_t commit = 0, wc = 0;
        ct_apply_file(f->st, 1, 1, 10, &img, &cap, &commit, 512);
        ct_apply_file(f->st, 1, 11, 15, &img, &cap, &commit, 512);
        uint8_t *want = ct_hist_image(&f->h, 15, &wc);
        assert_int_equal(commit, wc);
        assert_memory_equal(img, want, (size_t)wc * 512);
        free(img);
        free(want);
    }
    /* no new L0 file: nothing (not too early: AT(15) < AT(30)) */
    assert_int_equal(compact(f, 1, 30 * SEC, AT(32)).outcome, LS_COMPACT_NOTHING);

    r = compact(f, 2, 5 * MIN_NS, AT(32));
    assert_int_equal(r.outcome, LS_COMPACT_DONE);
    assert_int_equal(r.min_txid, 1);
    assert_int_equal(r.max_txid, 15);
    assert_int_equal(r.ninputs, 2);
    assert_int_equal(r.timestamp_ms, AT_MS(15));
    assert_image_of(f, 2, 1, 15);
    assert_int_equal(compact(f, 2, 5 * MIN_NS, AT(33)).outcome, LS_COMPACT_TOO_EARLY);
    assert_int_equal(compact(f, 2, 5 * MIN_NS, AT(301)).outcome, LS_COMPACT_NOTHING);
    r = compact(f, 3, HOUR_NS, AT(301));
    assert_int_equal(r.outcome, LS_COMPACT_DONE);
    assert_image_of(f, 3, 1, 15);
    ct_check_restore(f->st, &f->h, f->dir);

    /* bad levels */
    ls_err e;
    ls_compact_result rr;
    assert_int_equal(ls_compact_level_ex(f->st, NULL, 0, SEC, AT(1), false, &rr, &e),
                     LS_ERR_INVALID);
    assert_int_equal(ls_compact_level_ex(f->st, NULL, 9, SEC, AT(1), false, &rr, &e),
                     LS_ERR_INVALID);
    ls_compact_outcome out = LS_COMPACT_DONE;
    CHECK(ls_compact_level(f->st, NULL, 1, 30 * SEC, AT(400), &out, &e_));
    assert_int_equal(out, LS_COMPACT_NOTHING);
}

/* More inputs than LS_COMPACT_MAX_OPEN: merged in passes, same result. */
static void test_many_inputs(void **state) {
    fx *f = *state;
    const uint64_t n = LS_COMPACT_MAX_OPEN * 2 + 45;
    for (uint64_t t = 1; t <= n; t++) add_l0(f, t, AT_MS(t));
    ls_compact_result r = compact(f, 1, 30 * SEC, AT(n + 1));
    assert_int_equal(r.outcome, LS_COMPACT_DONE);
    assert_int_equal(r.min_txid, 1);
    assert_int_equal(r.max_txid, n);
    assert_int_equal(r.ninputs, n);
    assert_int_equal(r.timestamp_ms, AT_MS(n));
    assert_image_of(f, 1, 1, n);
    /* and incremental ones over a pass boundary */
    for (uint64_t t = n + 1; t <= n + LS_COMPACT_MAX_OPEN + 3; t++) add_l0(f, t, AT_MS(t));
    r = compact(f, 1, 30 * SEC, AT(n + 10000));
    assert_int_equal(r.outcome, LS_COMPACT_DONE);
    assert_int_equal(r.min_txid, n + 1);
    assert_int_equal(r.max_txid, n + LS_COMPACT_MAX_OPEN + 3);
    ct_check_restore(f->st, &f->h, f->dir);
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

static size_t count_tmp_files(const char *dir) {
    size_t n = 0;
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        char *p = ls_path_join(dir, de->d_name);
        struct stat sb;
        if (stat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) n += count_tmp_files(p);
        else if (strstr(de->d_name, ".tmp")) n++;
        free(p);
    }
    closedir(d);
    return n;
}

static void test_corrupt_input(void **state) {
    fx *f = *state;
    for (uint64_t t = 1; t <= 8; t++) add_l0(f, t, AT_MS(t));
    char *p5 = ls_strfmt("%s/ltx/0/%016x-%016x.ltx", f->root, 5, 5);
    char *p3 = ls_strfmt("%s/ltx/0/%016x-%016x.ltx", f->root, 3, 3);
    size_t len5 = 0;
    unsigned char *orig5 = lst_read_file(p5, &len5);

    /* a payload byte: LZ4 or file checksum failure */
    flip_byte(p5, LTX_HEADER_SIZE + 12);
    ls_err e;
    ls_compact_result r;
    ls_code rc = ls_compact_level_ex(f->st, NULL, 1, 30 * SEC, AT(9), false, &r, &e);
    assert_int_not_equal(rc, LS_OK);
    assert_int_equal(e.code, rc);
    print_message("corrupt payload: %s\n", e.msg);
    assert_non_null(strstr(e.msg, "compact level 1"));
    assert_non_null(strstr(e.msg, "ltx/0/0000000000000005-0000000000000005.ltx"));
    assert_int_equal(r.outcome, LS_COMPACT_NOTHING);
    assert_int_equal(ct_count(f->st, 1), 0);

    /* the trailer's file checksum only */
    lst_write_file(p5, orig5, len5);
    flip_byte(p5, (long)len5 - 1);
    rc = ls_compact_level_ex(f->st, NULL, 1, 30 * SEC, AT(9), false, &r, &e);
    assert_int_not_equal(rc, LS_OK);
    print_message("corrupt trailer: %s\n", e.msg);
    assert_non_null(strstr(e.msg, "ltx/0/0000000000000005-0000000000000005.ltx"));
    assert_int_equal(ct_count(f->st, 1), 0);

    /* a bad magic in another file */
    lst_write_file(p5, orig5, len5);
    flip_byte(p3, 0);
    rc = ls_compact_level_ex(f->st, NULL, 1, 30 * SEC, AT(9), false, &r, &e);
    assert_int_not_equal(rc, LS_OK);
    print_message("bad magic: %s\n", e.msg);
    assert_non_null(strstr(e.msg, "ltx/0/0000000000000003-0000000000000003.ltx"));
    assert_int_equal(ct_count(f->st, 1), 0);
    flip_byte(p3, 0);

    /* truncated */
    lst_write_file(p5, orig5, len5 / 2);
    rc = ls_compact_level_ex(f->st, NULL, 1, 30 * SEC, AT(9), false, &r, &e);
    assert_int_not_equal(rc, LS_OK);
    print_message("truncated: %s\n", e.msg);
    assert_non_null(strstr(e.msg, "0000000000000005-0000000000000005.ltx"));
    assert_int_equal(ct_count(f->st, 1), 0);
    assert_int_equal(count_tmp_files(f->root), 0);

    /* repaired: compacts */
    lst_write_file(p5, orig5, len5);
    r = compact(f, 1, 30 * SEC, AT(9));
    assert_int_equal(r.outcome, LS_COMPACT_DONE);
    assert_image_of(f, 1, 1, 8);
    free(orig5);
    free(p5);
    free(p3);
}

static void test_gap_in_inputs(void **state) {
    fx *f = *state;
    for (uint64_t t = 1; t <= 8; t++) {
        uint64_t x = ct_hist_add(&f->h);
        if (x != 6) ct_put_range(f->st, &f->h, 0, x, x, AT_MS(x));
    }
    ls_err e;
    ls_compact_result r;
    ls_code rc = ls_compact_level_ex(f->st, NULL, 1, 30 * SEC, AT(9), false, &r, &e);
    assert_int_not_equal(rc, LS_OK);
    print_message("gap: %s\n", e.msg);
    assert_non_null(strstr(e.msg, "non-contiguous"));
    assert_non_null(strstr(e.msg, "compact level 1"));
    assert_int_equal(ct_count(f->st, 1), 0);
}

static void test_put_failure_and_read_retry(void **state) {
    fx *f = *state;
    ls_storage *fs = NULL;
    CHECK(ls_storage_faulty_wrap(f->st, false, &fs, &e_));
    for (uint64_t t = 1; t <= 6; t++) add_l0(f, t, AT_MS(t));
    ls_faulty_fail_nth(fs, LS_FAULT_PUT, 1, LS_ERR_NETWORK);
    ls_err e;
    ls_compact_result r;
    ls_code rc = ls_compact_level_ex(fs, NULL, 1, 30 * SEC, AT(7), false, &r, &e);
    assert_int_equal(rc, LS_ERR_NETWORK);
    assert_non_null(strstr(e.msg, "compact level 1"));
    assert_int_equal(ct_count(f->st, 1), 0);
    /* reads that break mid-file are resumed (resumable reader) */
    ls_faulty_clear(fs);
    ls_faulty_fail_reads(fs, 150, LS_ERR_NETWORK, 2);
    CHECK(ls_compact_level_ex(fs, NULL, 1, 30 * SEC, AT(7), false, &r, &e_));
    assert_int_equal(r.outcome, LS_COMPACT_DONE);
    assert_image_of(f, 1, 1, 6);
    ls_storage_close(fs);
}

static void test_verify(void **state) {
    fx *f = *state;
    for (uint64_t t = 1; t <= 9; t++) ct_hist_add(&f->h);
    ct_put_range(f->st, &f->h, 1, 1, 5, AT_MS(5));
    /* TXID 6 exists nowhere: the next L1 file leaves a gap */
    for (uint64_t t = 7; t <= 9; t++) ct_put_range(f->st, &f->h, 0, t, t, AT_MS(t));
    uint64_t before = ls_compact_verify_error_count();
    ls_compact_result r;
    CHECK(ls_compact_level_ex(f->st, NULL, 1, 30 * SEC, AT(40), true, &r, &e_));
    assert_int_equal(r.outcome, LS_COMPACT_DONE);
    assert_int_equal(r.min_txid, 7);
    assert_true(r.verify_failed);
    assert_int_equal(ls_compact_verify_error_count(), before + 1);
    /* without verify nothing is counted */
    for (uint64_t t = 10; t <= 11; t++) add_l0(f, t, AT_MS(t + 60));
    CHECK(ls_compact_level_ex(f->st, NULL, 1, 30 * SEC, AT(200), false, &r, &e_));
    assert_int_equal(r.outcome, LS_COMPACT_DONE);
    assert_false(r.verify_failed);
    assert_int_equal(ls_compact_verify_error_count(), before + 1);
}

static void test_snapshot_needs_db(void **state) {
    fx *f = *state;
    ls_compact_outcome out = LS_COMPACT_DONE;
    CHECK(ls_compact_snapshot(f->st, NULL, DAY_NS, AT(1), false, &out, &e_));
    assert_int_equal(out, LS_COMPACT_NOT_READY);
    CHECK(ls_compact_snapshot(f->st, NULL, DAY_NS, AT(1), true, &out, &e_));
    assert_int_equal(out, LS_COMPACT_NOT_READY);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_interval_prev),
        cmocka_unit_test(test_opts_defaults),
        cmocka_unit_test_setup_teardown(test_l1_then_l2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_inputs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gap_in_inputs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_failure_and_read_retry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_needs_db, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
