/*
 * tests/unit/test_stats.c — persisted replica request counters
 * (engine/stats.h): the file round trip, bounded and hostile input, the
 * lookup used by `status`, and the write policy of
 * ls_replicas_persist_stats (only on change, rate-limited unless forced,
 * nothing before the meta directory exists).
 */
#include "testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/replica.h"
#include "engine/stats.h"
#include "storage/storage.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/timeutil.h"

static ls_stats_snapshot sample(void) {
    ls_stats_snapshot s;
    memset(&s, 0, sizeof(s));
    s.updated_ns = 1795300000123456789LL;
    s.pid = 4242;
    s.n = 2;
    snprintf(s.replicas[0].name, sizeof(s.replicas[0].name), "primary");
    snprintf(s.replicas[0].type, sizeof(s.replicas[0].type), "s3");
    s.replicas[0].since_ns = 1795299000000000000LL;
    s.replicas[0].stats = (ls_storage_stats){.puts = 75, .gets = 2, .lists = 18, .deletes = 3,
                                             .heads = 1, .bytes_out = 1u << 30,
                                             .bytes_in = 5000000000ULL, .errors = 4, .retries = 9};
    snprintf(s.replicas[1].name, sizeof(s.replicas[1].name), "backup \"dir\"");
    snprintf(s.replicas[1].type, sizeof(s.replicas[1].type), "file");
    s.replicas[1].since_ns = 0;
    s.replicas[1].stats = (ls_storage_stats){.puts = 1};
    return s;
}

static void assert_snap_equal(const ls_stats_snapshot *a, const ls_stats_snapshot *b) {
    assert_int_equal(a->updated_ns, b->updated_ns);
    assert_int_equal(a->pid, b->pid);
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        assert_string_equal(a->replicas[i].name, b->replicas[i].name);
        assert_string_equal(a->replicas[i].type, b->replicas[i].type);
        assert_int_equal(a->replicas[i].since_ns, b->replicas[i].since_ns);
        assert_memory_equal(&a->replicas[i].stats, &b->replicas[i].stats, sizeof(ls_storage_stats));
    }
}

static void test_roundtrip(void **state) {
    (void)state;
    ls_stats_snapshot s = sample(), back;
    char *text;
    size_t len;
    ls_err e;
    assert_int_equal(ls_stats_encode(&s, &text, &len, &e), LS_OK);
    assert_non_null(strstr(text, "\"requests\""));
    assert_non_null(strstr(text, "\"put\": 75"));
    assert_non_null(strstr(text, "\"since\": null")); /* unknown start */
    assert_int_equal(ls_stats_decode(text, len, "t", &back, &e), LS_OK);
    assert_snap_equal(&s, &back);
    free(text);

    /* through a meta directory */
    char *dir = lst_tmpdir();
    assert_int_equal(ls_stats_read(dir, &back, &e), LS_ERR_NOTFOUND);
    assert_int_equal(ls_stats_write(dir, &s, 0640, &e), LS_OK);
    assert_int_equal(ls_stats_read(dir, &back, &e), LS_OK);
    assert_snap_equal(&s, &back);
    char *p = ls_stats_path(dir);
    struct stat sb;
    assert_int_equal(stat(p, &sb), 0);
    assert_int_equal(sb.st_mode & 0077 & ~0640, 0);
    char *tmp = ls_strfmt("%s.tmp", p);
    assert_false(ls_path_exists(tmp));
    free(tmp);
    free(p);
    /* a missing directory is an error naming it */
    char *missing = ls_path_join(dir, "nope");
    assert_int_not_equal(ls_stats_write(missing, &s, 0600, &e), LS_OK);
    assert_non_null(strstr(e.msg, "nope"));
    free(missing);
    lst_rmtree(dir);
}

static void test_bad_input(void **state) {
    (void)state;
    ls_stats_snapshot out;
    ls_err e;
    const char *bad[] = {
        "",
        "null",
        "[]",
        "{}",
        "{\"version\":2,\"replicas\":[]}",
        "{\"version\":\"1\",\"replicas\":[]}",
        "{\"version\":1,\"replicas\":{}}",
        "{\"version\":1,\"replicas\":[],\"version\":1}", /* duplicate key */
        "{\"version\":1,\"replicas\":[",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(ls_stats_decode(bad[i], strlen(bad[i]), "x.json", &out, &e), LS_ERR_FORMAT);
        assert_non_null(strstr(e.msg, "x.json"));
        assert_int_equal(out.n, 0);
    }
    /* wrong types and negative counters read as 0; odd entries skipped */
    const char *odd = "{\"version\":1,\"pid\":\"x\",\"updated_at\":\"yesterday\",\"replicas\":["
                      "3,{\"name\":7,\"type\":\"s3\",\"requests\":{\"put\":-5,\"get\":\"9\",\"list\":2},"
                      "\"errors\":1.5,\"since\":\"2026-01-02T03:04:05Z\"}]}";
    assert_int_equal(ls_stats_decode(odd, strlen(odd), "x", &out, &e), LS_OK);
    assert_int_equal(out.n, 1);
    assert_string_equal(out.replicas[0].name, "");
    assert_int_equal(out.replicas[0].stats.puts, 0);
    assert_int_equal(out.replicas[0].stats.gets, 0);
    assert_int_equal(out.replicas[0].stats.lists, 2);
    assert_int_equal(out.replicas[0].stats.errors, 0);
    assert_int_equal(out.pid, 0);
    assert_int_equal(out.updated_ns, 0);
    assert_true(out.replicas[0].since_ns > 0);
    /* long names are truncated; more than the maximum entries dropped */
    char *big = malloc(200000);
    size_t o = (size_t)snprintf(big, 200000, "{\"version\":1,\"replicas\":[");
    for (int i = 0; i < LS_STATS_MAX_REPLICAS + 5; i++)
        o += (size_t)snprintf(big + o, 200000 - o, "%s{\"name\":\"%0300d\",\"type\":\"%050d\"}", i ? "," : "",
                              i, i);
    o += (size_t)snprintf(big + o, 200000 - o, "]}");
    assert_int_equal(ls_stats_decode(big, o, "x", &out, &e), LS_OK);
    assert_int_equal(out.n, LS_STATS_MAX_REPLICAS);
    assert_int_equal(strlen(out.replicas[0].name), sizeof(out.replicas[0].name) - 1);
    assert_int_equal(strlen(out.replicas[0].type), sizeof(out.replicas[0].type) - 1);
    free(big);
    /* a file larger than the limit is refused */
    char *dir = lst_tmpdir();
    char *p = ls_stats_path(dir);
    char *huge = calloc(1, LS_STATS_FILE_MAX + 10);
    memset(huge, ' ', LS_STATS_FILE_MAX + 9);
    lst_write_file(p, huge, LS_STATS_FILE_MAX + 9);
    assert_int_equal(ls_stats_read(dir, &out, &e), LS_ERR_FORMAT);
    free(huge);
    /* random corruption of a valid file never crashes */
    ls_stats_snapshot s = sample();
    char *text;
    size_t len;
    assert_int_equal(ls_stats_encode(&s, &text, &len, &e), LS_OK);
    uint64_t seed = 17;
    char *mut = malloc(len);
    for (int round = 0; round < 3000; round++) {
        memcpy(mut, text, len);
        int flips = 1 + (int)(lst_rand(&seed) % 4);
        for (int k = 0; k < flips; k++) mut[lst_rand(&seed) % len] = (char)(lst_rand(&seed) & 0xff);
        size_t ml = len - (size_t)(lst_rand(&seed) % 8);
        ls_code rc = ls_stats_decode(mut, ml, "m", &out, &e);
        assert_true(rc == LS_OK || rc == LS_ERR_FORMAT);
        assert_true(out.n <= LS_STATS_MAX_REPLICAS);
    }
    free(mut);
    free(text);
    free(p);
    lst_rmtree(dir);
}

static void test_find(void **state) {
    (void)state;
    ls_stats_snapshot s = sample();
    assert_ptr_equal(ls_stats_find(&s, "primary", "s3", 5), &s.replicas[0]);
    assert_ptr_equal(ls_stats_find(&s, "backup \"dir\"", "file", 0), &s.replicas[1]);
    /* renamed in the config: same position and type */
    assert_ptr_equal(ls_stats_find(&s, "renamed", "s3", 0), &s.replicas[0]);
    assert_null(ls_stats_find(&s, "renamed", "file", 0));
    assert_null(ls_stats_find(&s, "other", "s3", 7));
    assert_null(ls_stats_find(NULL, "primary", "s3", 0));
}

/* ---- the write policy ---------------------------------------------------- */

static void put_one(ls_storage *st, const char *key) {
    ls_reader *r = ls_reader_mem("x", 1);
    ls_err e;
    assert_int_equal(ls_storage_put(st, key, r, NULL, &e), LS_OK);
    ls_reader_close(r);
}

static int64_t file_mtime_ns(const char *meta) {
    char *p = ls_stats_path(meta);
    struct stat sb;
    int64_t t = stat(p, &sb) == 0 ? (int64_t)sb.st_mtim.tv_sec * 1000000000LL + sb.st_mtim.tv_nsec : -1;
    free(p);
    return t;
}

static void test_persist_policy(void **state) {
    (void)state;
    char *dir = lst_tmpdir();
    char *meta = ls_path_join(dir, ".db-litestream");
    char *root_a = ls_path_join(dir, "ra"), *root_b = ls_path_join(dir, "rb");
    ls_storage *sa, *sb;
    ls_err e;
    assert_int_equal(ls_storage_file_open(root_a, &sa, &e), LS_OK);
    assert_int_equal(ls_storage_file_open(root_b, &sb, &e), LS_OK);
    ls_replica *reps[2];
    ls_replica_opts oa = {.name = "a", .storage = sa, .sync_interval_ns = -1, .max_sync_ltx_files = -1};
    ls_replica_opts ob = {.name = NULL, .storage = sb, .sync_interval_ns = -1, .max_sync_ltx_files = -1};
    assert_int_equal(ls_replica_new(&oa, &reps[0], &e), LS_OK);
    assert_int_equal(ls_replica_new(&ob, &reps[1], &e), LS_OK);

    /* nothing counted yet: nothing written, even forced */
    assert_int_equal(ls_replicas_persist_stats(reps, 2, meta, true, &e), LS_OK);
    assert_int_equal(file_mtime_ns(meta), -1);
    /* counted, but no meta directory yet: nothing written, no error */
    put_one(sa, "k1");
    assert_int_equal(ls_replicas_persist_stats(reps, 2, meta, false, &e), LS_OK);
    assert_false(ls_path_exists(meta));
    /* the directory exists: the first change is written at once */
    assert_int_equal(mkdir(meta, 0750), 0);
    assert_int_equal(ls_replicas_persist_stats(reps, 2, meta, false, &e), LS_OK);
    ls_stats_snapshot snap;
    assert_int_equal(ls_stats_read(meta, &snap, &e), LS_OK);
    assert_int_equal(snap.n, 2);
    assert_string_equal(snap.replicas[0].name, "a");
    assert_string_equal(snap.replicas[0].type, "file");
    assert_string_equal(snap.replicas[1].name, "file"); /* unnamed: its type */
    assert_int_equal(snap.replicas[0].stats.puts, 1);
    assert_int_equal(snap.replicas[1].stats.puts, 0);
    assert_int_equal(snap.pid, (long)getpid());
    assert_true(snap.replicas[0].since_ns > 0 && snap.replicas[0].since_ns <= snap.updated_ns);
    char *p = ls_stats_path(meta);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777 & ~0640, 0); /* meta dir bits, no execute */
    free(p);
    int64_t m1 = file_mtime_ns(meta);

    /* unchanged: no write (forced or not) */
    usleep(20000);
    assert_int_equal(ls_replicas_persist_stats(reps, 2, meta, false, &e), LS_OK);
    assert_int_equal(ls_replicas_persist_stats(reps, 2, meta, true, &e), LS_OK);
    assert_int_equal(file_mtime_ns(meta), m1);
    /* changed within the interval: deferred ... */
    put_one(sb, "k2");
    ls_storage_stats live;
    ls_storage_stats_get(sb, &live);
    assert_int_equal(ls_replicas_persist_stats(reps, 2, meta, false, &e), LS_OK);
    assert_int_equal(ls_stats_read(meta, &snap, &e), LS_OK);
    assert_int_equal(snap.replicas[1].stats.puts, 0);
    /* ... unless forced (shutdown) */
    assert_int_equal(ls_replicas_persist_stats(reps, 2, meta, true, &e), LS_OK);
    assert_int_equal(ls_stats_read(meta, &snap, &e), LS_OK);
    assert_int_equal(snap.replicas[1].stats.puts, 1);
    assert_memory_equal(&snap.replicas[1].stats, &live, sizeof(live));

    /* the live status carries the same counters and start time */
    ls_replica_status rs;
    ls_replica_status_get(reps[0], &rs);
    assert_int_equal(rs.stats.puts, 1);
    assert_int_equal(rs.stats_since_ns, snap.replicas[0].since_ns);

    /* a failing write is reported (and does not crash) */
    char *blocker = ls_path_join(meta, LS_STATS_FILE ".tmp");
    assert_int_equal(mkdir(blocker, 0700), 0); /* the temp file cannot be created */
    put_one(sa, "k3");
    ls_log_set_level(LS_LOG_ERROR); /* the warning */
    assert_int_not_equal(ls_replicas_persist_stats(reps, 2, meta, true, &e), LS_OK);
    assert_non_null(strstr(e.msg, "stats.json.tmp"));
    rmdir(blocker);
    free(blocker);
    assert_int_equal(ls_replicas_persist_stats(reps, 1, meta, true, &e), LS_OK);
    assert_int_equal(ls_stats_read(meta, &snap, &e), LS_OK);
    assert_int_equal(snap.n, 1);
    assert_int_equal(snap.replicas[0].stats.puts, 2);
    /* NULL / empty arguments are no-ops */
    assert_int_equal(ls_replicas_persist_stats(NULL, 0, meta, true, &e), LS_OK);
    assert_int_equal(ls_replicas_persist_stats(reps, 2, NULL, true, &e), LS_OK);

    ls_replica_free(reps[0]);
    ls_replica_free(reps[1]);
    free(root_a);
    free(root_b);
    free(meta);
    lst_rmtree(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_find),
        cmocka_unit_test(test_persist_policy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
