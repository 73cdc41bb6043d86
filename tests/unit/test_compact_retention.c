/*
 * Unit tests for engine/compact.c retention (spec 7.6, 7.7, 7.8) on a file
 * replica without a database, plus a randomized simulation of the daemon's
 * schedule (L0 uploads, L1..L3 compaction, snapshots, both retentions) with
 * a fake clock. After every retention step a restore of "latest" is checked
 * twice (an independent planner and the engine's ls_restore_run) to reach
 * the newest TXID with the expected database image.
 */
#include "testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compact_testlib.h"
#include "engine/compact.h"
#include "storage/ltxfiles.h"
#include "util/fs.h"
#include "util/timeutil.h"

#define SEC LS_NS_PER_SEC
#define HOUR_NS (3600 * SEC)
#define DAY_NS (24 * HOUR_NS)
#define BASE_S INT64_C(1699920000)
#define AT(s) (BASE_S * SEC + (int64_t)(s) * SEC)
#define AT_MS(s) (BASE_S * 1000 + (int64_t)(s) * 1000)
#define H(x) ((int64_t)(x) * 3600) /* hours, in seconds for AT() */

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
    ls_compact_opts o;
} fx;

static int setup(void **state) {
    fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->dir = lst_tmpdir();
    f->root = ls_path_join(f->dir, "replica");
    CHECK(ls_storage_file_open(f->root, &f->st, &e_));
    ct_hist_init(&f->h, 512, 4242);
    ls_compact_opts_defaults(&f->o);
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

/*
 * 60 transactions, one per hour (TXID t at hour t), every one in L0;
 * L1 = [1-10] [11-20] ... [51-60]; L2 = [1-30] [31-60];
 * L9 = [1-15]@15h [1-35]@35h [1-50]@50h. Each file's time is its newest TXID's.
 */
static void build_layout(fx *f) {
    for (uint64_t t = 1; t <= 60; t++) {
        ct_hist_add(&f->h);
        ct_put_range(f->st, &f->h, 0, t, t, AT_MS(H(t)));
    }
    for (uint64_t a = 1; a <= 60; a += 10) ct_put_range(f->st, &f->h, 1, a, a + 9, AT_MS(H(a + 9)));
    ct_put_range(f->st, &f->h, 2, 1, 30, AT_MS(H(30)));
    ct_put_range(f->st, &f->h, 2, 31, 60, AT_MS(H(60)));
    ct_put_range(f->st, &f->h, 9, 1, 15, AT_MS(H(15)));
    ct_put_range(f->st, &f->h, 9, 1, 35, AT_MS(H(35)));
    ct_put_range(f->st, &f->h, 9, 1, 50, AT_MS(H(50)));
    ct_check_restore(f->st, &f->h, f->dir);
}

static ls_retention_result snap_retention(fx *f, int64_t now) {
    ls_retention_result r;
    CHECK(ls_enforce_snapshot_retention_ex(f->st, NULL, &f->o, now, &r, &e_));
    ct_check_restore(f->st, &f->h, f->dir);
    return r;
}

static ls_retention_result l0_retention(fx *f, int64_t now) {
    ls_retention_result r;
    CHECK(ls_enforce_l0_retention_ex(f->st, NULL, &f->o, now, &r, &e_));
    ct_check_restore(f->st, &f->h, f->dir);
    return r;
}

/* ---- 7.6 ---------------------------------------------------------------- */

static void test_snapshot_retention_cascade(void **state) {
    fx *f = *state;
    build_layout(f);
    /* cutoff = 61h - 24h = 37h: snapshots @15h and @35h go; the first
     * survivor is [1-50], the file before it is [1-35] -> minSnapshotTXID 35 */
    ls_retention_result r = snap_retention(f, AT(H(61)));
    assert_true(r.remote_deletes);
    assert_int_equal(r.snapshots_deleted, 2);
    assert_int_equal(r.min_snapshot_txid, 35);
    assert_int_equal(r.level_deleted[1], 3); /* [1-10] [11-20] [21-30]: max < 35 */
    assert_int_equal(r.level_deleted[2], 1); /* [1-30] */
    assert_int_equal(r.level_deleted[3], 0);
    assert_int_equal(ct_count(f->st, 9), 1);
    assert_true(ct_exists(f->st, 9, 1, 50));
    assert_int_equal(ct_count(f->st, 1), 3);
    assert_true(ct_exists(f->st, 1, 31, 40));
    assert_false(ct_exists(f->st, 1, 21, 30));
    assert_int_equal(ct_count(f->st, 2), 1);
    assert_true(ct_exists(f->st, 2, 31, 60));
    assert_int_equal(ct_count(f->st, 0), 60); /* 7.6 never touches L0 */
    /* idempotent: the single snapshot always survives, nothing more goes */
    r = snap_retention(f, AT(H(1000)));
    assert_int_equal(r.snapshots_deleted, 0);
    assert_int_equal(r.min_snapshot_txid, 0);
    assert_int_equal(ct_count(f->st, 9), 1);
    assert_int_equal(ct_count(f->st, 1), 3);
}

static void test_snapshot_retention_all_old(void **state) {
    fx *f = *state;
    build_layout(f);
    /* every snapshot is older than the cutoff: the last listed survives */
    ls_retention_result r = snap_retention(f, AT(H(500)));
    assert_int_equal(r.snapshots_deleted, 2);
    assert_int_equal(r.min_snapshot_txid, 35);
    assert_true(ct_exists(f->st, 9, 1, 50));
    assert_int_equal(ct_count(f->st, 9), 1);
}

static void test_snapshot_retention_first_survives(void **state) {
    fx *f = *state;
    build_layout(f);
    /* huge retention settings do not overflow (UBSan) and keep everything */
    f->o.snapshot_retention_ns = INT64_MAX;
    f->o.l0_retention_ns = INT64_MAX;
    ls_retention_result r0 = snap_retention(f, INT64_MIN + 5);
    assert_int_equal(r0.snapshots_deleted, 0);
    r0 = l0_retention(f, AT(H(100)));
    assert_int_equal(r0.l0_eligible, 0);
    assert_int_equal(ct_count(f->st, 0), 60);
    ls_compact_opts_defaults(&f->o);
    /* cutoff before every snapshot: nothing marked, minSnapshotTXID 0 */
    ls_retention_result r = snap_retention(f, AT(H(20)));
    assert_int_equal(r.snapshots_deleted, 0);
    assert_int_equal(r.min_snapshot_txid, 0);
    assert_int_equal(ct_count(f->st, 9), 3);
    assert_int_equal(ct_count(f->st, 1), 6);
    assert_int_equal(ct_count(f->st, 2), 2);
    /* cutoff 27h: only [1-15] goes; the file before the first survivor
     * ([1-35]) is [1-15] -> levels lose files with max < 15 */
    r = snap_retention(f, AT(H(51)));
    assert_int_equal(r.snapshots_deleted, 1);
    assert_int_equal(r.min_snapshot_txid, 15);
    assert_int_equal(r.level_deleted[1], 1);
    assert_false(ct_exists(f->st, 1, 1, 10));
    assert_true(ct_exists(f->st, 1, 11, 20));
    assert_int_equal(r.level_deleted[2], 0);
}

static void test_snapshot_retention_keeps_last_of_level(void **state) {
    fx *f = *state;
    for (uint64_t t = 1; t <= 60; t++) ct_hist_add(&f->h);
    ct_put_range(f->st, &f->h, 0, 60, 60, AT_MS(H(60)));
    ct_put_range(f->st, &f->h, 1, 1, 10, AT_MS(H(10))); /* only L1 file, max 10 < 35 */
    ct_put_range(f->st, &f->h, 4, 1, 10, AT_MS(H(10))); /* level 4 not configured */
    ct_put_range(f->st, &f->h, 4, 11, 20, AT_MS(H(20)));
    ct_put_range(f->st, &f->h, 9, 1, 35, AT_MS(H(35)));
    ct_put_range(f->st, &f->h, 9, 1, 59, AT_MS(H(59)));
    ls_retention_result r = snap_retention(f, AT(H(100)));
    assert_int_equal(r.snapshots_deleted, 1);
    assert_int_equal(r.min_snapshot_txid, 35);
    assert_int_equal(r.level_deleted[1], 0);
    assert_true(ct_exists(f->st, 1, 1, 10)); /* the last listed file survives */
    assert_int_equal(ct_count(f->st, 4), 2); /* nlevels = 3 */
    /* with 4 configured levels, L4 [1-10] goes, [11-20] (last) stays */
    f->o.nlevels = 4;
    f->o.level_interval_ns[3] = DAY_NS;
    ct_put_range(f->st, &f->h, 9, 1, 60, AT_MS(H(60)));
    r = snap_retention(f, AT(H(200)));
    assert_int_equal(r.snapshots_deleted, 1);
    assert_int_equal(r.min_snapshot_txid, 59);
    assert_int_equal(r.level_deleted[4], 1);
    assert_true(ct_exists(f->st, 4, 11, 20));
    assert_false(ct_exists(f->st, 4, 1, 10));
}

/* 7.8: retention disabled decides the same but deletes nothing remotely. */
static void test_retention_disabled(void **state) {
    fx *f = *state;
    build_layout(f);
    f->o.retention_enabled = false;
    ls_retention_result r = snap_retention(f, AT(H(61)));
    assert_false(r.remote_deletes);
    assert_int_equal(r.snapshots_deleted, 2);
    assert_int_equal(r.level_deleted[1], 3);
    assert_int_equal(ct_count(f->st, 9), 3);
    assert_int_equal(ct_count(f->st, 1), 6);
    assert_int_equal(ct_count(f->st, 2), 2);
    r = l0_retention(f, AT(H(100)));
    assert_int_equal(r.l0_eligible, 59);
    assert_int_equal(r.l0_deleted_upto, 59);
    assert_int_equal(ct_count(f->st, 0), 60);
    /* enabled again: the same decisions are carried out */
    f->o.retention_enabled = true;
    r = snap_retention(f, AT(H(61)));
    assert_int_equal(ct_count(f->st, 9), 1);
    assert_int_equal(ct_count(f->st, 1), 3);
    r = l0_retention(f, AT(H(100)));
    assert_int_equal(ct_count(f->st, 0), 1);
    assert_true(ct_exists(f->st, 0, 60, 60));
}

/* ---- 7.7 ---------------------------------------------------------------- */

static void put_l0_range(fx *f, uint64_t a, uint64_t b, int64_t ts_s_base) {
    for (uint64_t t = a; t <= b; t++) ct_put_range(f->st, &f->h, 0, t, t, AT_MS(ts_s_base + (int64_t)t));
}

static void test_l0_too_recent(void **state) {
    fx *f = *state;
    for (int i = 0; i < 10; i++) ct_hist_add(&f->h);
    put_l0_range(f, 1, 10, 0);
    ct_put_range(f->st, &f->h, 1, 1, 10, AT_MS(10));
    /* threshold = 12s - 5min: every file is newer */
    ls_retention_result r = l0_retention(f, AT(12));
    assert_int_equal(r.l0_too_recent, 10);
    assert_int_equal(r.l0_eligible, 0);
    assert_int_equal(r.l0_deleted_upto, 0);
    assert_int_equal(ct_count(f->st, 0), 10);
    /* a file exactly at the threshold is old enough */
    r = l0_retention(f, AT(3) + f->o.l0_retention_ns);
    assert_int_equal(r.l0_eligible, 3);
    assert_int_equal(r.l0_too_recent, 7);
    assert_int_equal(ct_count(f->st, 0), 7);
}

static void test_l0_not_compacted(void **state) {
    fx *f = *state;
    for (int i = 0; i < 10; i++) ct_hist_add(&f->h);
    put_l0_range(f, 1, 10, 0);
    ct_put_range(f->st, &f->h, 1, 1, 5, AT_MS(5));
    ls_retention_result r = l0_retention(f, AT(H(1)));
    assert_int_equal(r.l0_eligible, 5);
    assert_int_equal(r.l0_not_compacted, 5);
    assert_int_equal(r.l0_too_recent, 0);
    assert_int_equal(r.l0_deleted_upto, 5);
    assert_int_equal(ct_count(f->st, 0), 5);
    assert_false(ct_exists(f->st, 0, 5, 5));
    assert_true(ct_exists(f->st, 0, 6, 6));
}

static void test_l0_newest_kept(void **state) {
    fx *f = *state;
    for (int i = 0; i < 10; i++) ct_hist_add(&f->h);
    put_l0_range(f, 1, 10, 0);
    ct_put_range(f->st, &f->h, 1, 1, 10, AT_MS(10));
    ls_retention_result r = l0_retention(f, AT(H(1)));
    assert_int_equal(r.l0_eligible, 9);
    assert_int_equal(r.l0_deleted_upto, 9);
    assert_int_equal(ct_count(f->st, 0), 1);
    assert_true(ct_exists(f->st, 0, 10, 10));
    /* again: the single (newest) file stays */
    r = l0_retention(f, AT(H(2)));
    assert_int_equal(r.l0_eligible, 0);
    assert_int_equal(ct_count(f->st, 0), 1);
}

static void test_l0_walk_stops_at_recent(void **state) {
    fx *f = *state;
    for (int i = 0; i < 10; i++) ct_hist_add(&f->h);
    put_l0_range(f, 1, 6, 0);     /* at 1..6 s */
    put_l0_range(f, 7, 10, 1000); /* at 1007..1010 s */
    ct_put_range(f->st, &f->h, 1, 1, 10, AT_MS(1010));
    /* threshold = 1200 - 300 = 900 s: the walk stops at TXID 7 */
    ls_retention_result r = l0_retention(f, AT(1200));
    assert_int_equal(r.l0_eligible, 6);
    assert_int_equal(r.l0_too_recent, 4);
    assert_int_equal(r.l0_deleted_upto, 6);
    assert_int_equal(ct_count(f->st, 0), 4);
    assert_true(ct_exists(f->st, 0, 7, 7));
}

static void test_l0_nothing_without_l1_or_disabled(void **state) {
    fx *f = *state;
    for (int i = 0; i < 10; i++) ct_hist_add(&f->h);
    put_l0_range(f, 1, 10, 0);
    ls_retention_result r = l0_retention(f, AT(H(5))); /* no L1 file */
    assert_int_equal(r.l0_eligible, 0);
    assert_int_equal(ct_count(f->st, 0), 10);
    ct_put_range(f->st, &f->h, 1, 1, 10, AT_MS(10));
    f->o.l0_retention_ns = 0; /* disabled */
    r = l0_retention(f, AT(H(5)));
    assert_int_equal(r.l0_eligible, 0);
    assert_int_equal(ct_count(f->st, 0), 10);
    f->o.l0_retention_ns = -SEC;
    CHECK(ls_enforce_l0_retention(f->st, NULL, &f->o, AT(H(5)), &e_));
    assert_int_equal(ct_count(f->st, 0), 10);
}

/* ---- simulation ---------------------------------------------------------- */

static void sim_compact(fx *f, int level, int64_t now, bool *l1_done, size_t *ndone) {
    ls_compact_result r;
    CHECK(ls_compact_level_ex(f->st, NULL, level, f->o.level_interval_ns[level - 1], now, true,
                              &r, &e_));
    assert_false(r.verify_failed);
    if (r.outcome == LS_COMPACT_DONE) ndone[level]++;
    if (level == 1 && r.outcome == LS_COMPACT_DONE) *l1_done = true;
}

/*
 * The daemon's schedule with a fake clock: one or more transactions per
 * second uploaded to L0; L1/L2/L3 every 3 s / 10 s / 30 s (attempted every
 * tick; the too-early rule spaces them); a snapshot every 25 s (written
 * directly from the history: there is no db); snapshot retention 60 s after
 * every snapshot tick and every 7 s; L0 retention (4 s) after each L1
 * compaction and every 5 s. Restore of latest is checked after each step.
 */
static void run_simulation(fx *f, uint64_t seed, int ticks) {
    f->h.rng = seed;
    f->o.nlevels = 3;
    f->o.level_interval_ns[0] = 3 * SEC;
    f->o.level_interval_ns[1] = 10 * SEC;
    f->o.level_interval_ns[2] = 30 * SEC;
    f->o.snapshot_interval_ns = 25 * SEC;
    f->o.snapshot_retention_ns = 60 * SEC;
    f->o.l0_retention_ns = 4 * SEC;
    uint64_t rng = seed;
    size_t max_l0 = 0, max_l9 = 0, ndone[4] = {0};
    for (int tick = 1; tick <= ticks; tick++) {
        int64_t now = AT(tick);
        int ntx = 1 + (int)(lst_rand(&rng) % 3);
        for (int i = 0; i < ntx; i++) {
            uint64_t t = ct_hist_add(&f->h);
            ct_put_range(f->st, &f->h, 0, t, t, AT_MS(tick) - 500 + i);
        }
        bool l1_done = false;
        for (int level = 1; level <= 3; level++) sim_compact(f, level, now, &l1_done, ndone);
        if (l1_done) l0_retention(f, now);
        if (tick % 25 == 0) ct_put_range(f->st, &f->h, 9, 1, f->h.ntx, AT_MS(tick));
        if (tick % 25 == 0 || tick % 7 == 0) snap_retention(f, now);
        if (tick % 5 == 0) l0_retention(f, now);
        ct_check_restore(f->st, &f->h, f->dir);
        size_t n0 = ct_count(f->st, 0), n9 = ct_count(f->st, 9);
        if (n0 > max_l0) max_l0 = n0;
        if (n9 > max_l9) max_l9 = n9;
    }
    /* then idle for a long time (no writes, so no new snapshot, 7.4):
     * every snapshot ages out except the newest, levels catch up */
    for (int k = 1; k <= 12; k++) {
        int64_t now = AT(ticks + k * 20);
        bool l1_done = false;
        for (int level = 1; level <= 3; level++) sim_compact(f, level, now, &l1_done, ndone);
        snap_retention(f, now);
        l0_retention(f, now);
    }
    assert_int_equal(ct_count(f->st, 9), 1);
    assert_int_equal(ct_count(f->st, 0), 1);
    ct_check_restore(f->st, &f->h, f->dir);
    /* retention keeps the replica bounded */
    print_message("simulation seed %llu: %zu txns, max L0 files %zu, max snapshots %zu; "
                  "L1 %zu of %zu written, L2 %zu of %zu, L3 %zu of %zu\n",
                  (unsigned long long)seed, f->h.ntx, max_l0, max_l9, ct_count(f->st, 1),
                  ndone[1], ct_count(f->st, 2), ndone[2], ct_count(f->st, 3), ndone[3]);
    /* L0: about (L1 interval + L0 retention + check interval) x 3 per second;
     * snapshots: retention / interval + 1; L1..L3 keep the files back to the
     * snapshot before the oldest survivor (about 60 s + 2 x 25 s) */
    assert_true(max_l0 <= 3 * 12);
    assert_true(max_l9 <= 4);
    assert_true(ct_count(f->st, 1) < ndone[1]);
    assert_true(ct_count(f->st, 1) <= 110 * 2 / 3 + 2);
    assert_true(ct_count(f->st, 2) < ndone[2]);
}

static void test_simulation(void **state) {
    fx *f = *state;
    run_simulation(f, 11, lst_under_valgrind() ? 80 : 200);
}

static void test_simulation_seed2(void **state) {
    fx *f = *state;
    run_simulation(f, 977, lst_under_valgrind() ? 60 : 150);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_snapshot_retention_cascade, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_retention_all_old, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_retention_first_survives, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_retention_keeps_last_of_level, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_retention_disabled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_l0_too_recent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_l0_not_compacted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_l0_newest_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_l0_walk_stops_at_recent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_l0_nothing_without_l1_or_disabled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_simulation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_simulation_seed2, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
