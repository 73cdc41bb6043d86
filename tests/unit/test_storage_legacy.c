/* Unit tests for storage/legacy: v0.3 generations, snapshots and WAL
 * segments, against synthetic trees and the shared fixtures
 * (testdata/golden/v03-replica, testdata/v3-replica). */
#include "testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "storage/legacy.h"
#include "storage/storage.h"
#include "util/fs.h"
#include "util/timeutil.h"

static void put_raw(ls_storage *s, const char *key, const char *data) {
    ls_reader *r = ls_reader_mem(data, strlen(data));
    ls_err e;
    ls_code rc = ls_storage_put(s, key, r, NULL, &e);
    ls_reader_close(r);
    if (rc != LS_OK) fail_msg("put %s: %s", key, e.msg);
}

static void test_name_parsing(void **state) {
    (void)state;
    uint32_t idx;
    uint64_t off;
    assert_true(ls_v3_is_generation("0123456789abcdef"));
    assert_false(ls_v3_is_generation("0123456789ABCDEF"));
    assert_false(ls_v3_is_generation("0123456789abcde"));
    assert_false(ls_v3_is_generation("0123456789abcdef0"));
    assert_false(ls_v3_is_generation(NULL));

    assert_true(ls_v3_parse_snapshot_name("0000000a.snapshot.lz4", &idx));
    assert_int_equal(idx, 10);
    assert_true(ls_v3_parse_snapshot_name("ffffffff.snapshot.lz4", &idx));
    assert_int_equal(idx, 0xffffffffu);
    assert_false(ls_v3_parse_snapshot_name("0000000A.snapshot.lz4", &idx));
    assert_false(ls_v3_parse_snapshot_name("000000001.snapshot.lz4", &idx));
    assert_false(ls_v3_parse_snapshot_name("00000001.snapshot", &idx));
    assert_false(ls_v3_parse_snapshot_name("00000001.snapshot.lz4.tmp", &idx));

    assert_true(ls_v3_parse_segment_name("00000002_00001038.wal.lz4", &idx, &off));
    assert_int_equal(idx, 2);
    assert_int_equal(off, 4152);
    assert_true(ls_v3_parse_segment_name("00000002_0000000000001038.wal.lz4", &idx, &off));
    assert_int_equal(off, 4152);
    assert_true(ls_v3_parse_segment_name("00000002_ffffffffffffffff.wal.lz4", &idx, &off));
    assert_int_equal(off, UINT64_MAX);
    assert_true(ls_v3_parse_segment_name("00000002_000000001.wal.lz4", &idx, &off)); /* 9 digits */
    assert_false(ls_v3_parse_segment_name("00000002_0000103.wal.lz4", &idx, &off));  /* 7 */
    assert_false(ls_v3_parse_segment_name("00000002_00000000000010380.wal.lz4", &idx, &off)); /* 17 */
    assert_false(ls_v3_parse_segment_name("00000002.wal.lz4", &idx, &off)); /* v0.3.0-4 file form */
    assert_false(ls_v3_parse_segment_name("00000002.wal", &idx, &off));
    assert_false(ls_v3_parse_segment_name("0000002_00001038.wal.lz4", &idx, &off));
    assert_false(ls_v3_parse_segment_name("00000002-00001038.wal.lz4", &idx, &off));
    assert_false(ls_v3_parse_segment_name("00000002_0000103G.wal.lz4", &idx, &off));
    assert_false(ls_v3_parse_segment_name("00000002_00001038.wal", &idx, &off));

    char buf[64];
    ls_v3_format_pos("dad4f3dffdd83a65", 5, 4152, buf, sizeof(buf));
    assert_string_equal(buf, "dad4f3dffdd83a65/00000005:0000000000001038");
}

static void test_synthetic_tree(void **state) {
    (void)state;
    char *dir = lst_tmpdir();
    ls_storage *s;
    ls_err e;
    assert_int_equal(ls_storage_file_open(dir, &s, &e), LS_OK);

    /* empty replica */
    ls_v3_generation_list g;
    assert_int_equal(ls_v3_list_generations(s, &g, &e), LS_OK);
    assert_int_equal(g.n, 0);
    ls_v3_generation_list_free(&g);
    bool has;
    assert_int_equal(ls_v3_has_data(s, &has, &e), LS_OK);
    assert_false(has);

    const char *B = "generations/bbbbbbbbbbbbbbbb/";
    const char *A = "generations/aaaaaaaaaaaaaaaa/";
    char k[128];
#define PUT(base, rest) (snprintf(k, sizeof(k), "%s%s", base, rest), put_raw(s, k, rest))
    PUT(B, "snapshots/00000002.snapshot.lz4");
    PUT(B, "snapshots/00000000.snapshot.lz4");
    PUT(B, "snapshots/0000000A.snapshot.lz4"); /* upper case: ignored */
    PUT(B, "snapshots/junk");
    PUT(B, "wal/00000001_00000020.wal.lz4");
    PUT(B, "wal/00000001_0000000100000000.wal.lz4"); /* sorts first by name, last by offset */
    PUT(B, "wal/00000001_00000000.wal.lz4");
    PUT(B, "wal/00000000_00000000.wal.lz4");
    PUT(B, "wal/00000000.wal.lz4");            /* v0.3.0-4 file replica form: ignored */
    PUT(B, "wal/00000003/00000000.wal.lz4");   /* dev-build form: ignored */
    PUT(A, "snapshots/00000000.snapshot.lz4");
    put_raw(s, "generations/AAAAAAAAAAAAAAAA/snapshots/00000000.snapshot.lz4", "x");
    put_raw(s, "generations/ccccccccccccccc/snapshots/00000000.snapshot.lz4", "x");
    put_raw(s, "generations/dddddddddddddddd", "a file, not a generation");
    put_raw(s, "ltx/0/0000000000000001-0000000000000001.ltx", "v0.5 data beside it");
#undef PUT

    assert_int_equal(ls_v3_list_generations(s, &g, &e), LS_OK);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.items[0].name, "aaaaaaaaaaaaaaaa");
    assert_string_equal(g.items[1].name, "bbbbbbbbbbbbbbbb");
    ls_v3_generation_list_free(&g);

    ls_v3_snapshot_list sn;
    assert_int_equal(ls_v3_list_snapshots(s, "bbbbbbbbbbbbbbbb", &sn, &e), LS_OK);
    assert_int_equal(sn.n, 2);
    assert_int_equal(sn.items[0].index, 0);
    assert_int_equal(sn.items[1].index, 2);
    assert_string_equal(sn.items[1].key, "generations/bbbbbbbbbbbbbbbb/snapshots/00000002.snapshot.lz4");
    assert_string_equal(sn.items[1].generation, "bbbbbbbbbbbbbbbb");
    assert_int_equal(sn.items[1].size, (int64_t)strlen("snapshots/00000002.snapshot.lz4"));
    assert_true(sn.items[1].created_at_ns > 0);
    ls_reader *r;
    assert_int_equal(ls_v3_open_snapshot(s, &sn.items[1], &r, &e), LS_OK);
    char buf[64] = {0};
    size_t n;
    assert_int_equal(ls_read_full(r, buf, sizeof(buf) - 1, &n, &e), LS_OK);
    ls_reader_close(r);
    assert_string_equal(buf, "snapshots/00000002.snapshot.lz4");
    ls_v3_snapshot_list_free(&sn);

    ls_v3_segment_list sg;
    assert_int_equal(ls_v3_list_segments(s, "bbbbbbbbbbbbbbbb", &sg, &e), LS_OK);
    assert_int_equal(sg.n, 4);
    assert_int_equal(sg.items[0].index, 0);
    assert_int_equal(sg.items[0].offset, 0);
    assert_int_equal(sg.items[1].index, 1);
    assert_int_equal(sg.items[1].offset, 0);
    assert_int_equal(sg.items[2].offset, 0x20);
    assert_int_equal(sg.items[3].offset, 0x100000000ULL);
    /* the key is kept as written (16-digit offset) */
    assert_string_equal(sg.items[3].key,
                        "generations/bbbbbbbbbbbbbbbb/wal/00000001_0000000100000000.wal.lz4");
    assert_int_equal(ls_v3_open_segment(s, &sg.items[3], &r, &e), LS_OK);
    ls_reader_close(r);
    ls_v3_segment_list_free(&sg);

    assert_int_equal(ls_v3_list_all_snapshots(s, &sn, &e), LS_OK);
    assert_int_equal(sn.n, 3);
    assert_string_equal(sn.items[0].generation, "aaaaaaaaaaaaaaaa");
    assert_string_equal(sn.items[1].generation, "bbbbbbbbbbbbbbbb");
    assert_int_equal(sn.items[2].index, 2);
    ls_v3_snapshot_list_free(&sn);

    assert_int_equal(ls_v3_has_data(s, &has, &e), LS_OK);
    assert_true(has);

    /* missing generation: empty; invalid generation: error */
    assert_int_equal(ls_v3_list_segments(s, "0000000000000001", &sg, &e), LS_OK);
    assert_int_equal(sg.n, 0);
    ls_v3_segment_list_free(&sg);
    assert_int_equal(ls_v3_list_segments(s, "../../etc", &sg, &e), LS_ERR_INVALID);
    assert_non_null(strstr(e.msg, "invalid v0.3 generation"));
    assert_int_equal(ls_v3_list_snapshots(s, "ABCDEFABCDEFABCD", &sn, &e), LS_ERR_INVALID);
    assert_int_equal(ls_v3_list_snapshots(s, NULL, &sn, &e), LS_ERR_INVALID);

    ls_storage_close(s);
    lst_rmtree(dir);
}

static void test_golden_v03_replica(void **state) {
    (void)state;
    LST_REQUIRE_SHARED();
    char *root = lst_shared_path("testdata/golden/v03-replica");
    ls_storage *s;
    ls_err e;
    assert_int_equal(ls_storage_file_open(root, &s, &e), LS_OK);
    ls_v3_generation_list g;
    assert_int_equal(ls_v3_list_generations(s, &g, &e), LS_OK);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.items[0].name, "0000000000000000");
    ls_v3_generation_list_free(&g);

    ls_v3_snapshot_list sn;
    assert_int_equal(ls_v3_list_snapshots(s, "0000000000000000", &sn, &e), LS_OK);
    assert_int_equal(sn.n, 1);
    assert_int_equal(sn.items[0].index, 0);
    assert_int_equal(sn.items[0].size, 93);
    ls_v3_snapshot_list_free(&sn);

    struct { uint32_t index; uint64_t offset; int64_t size; } want[] = {
        {0, 0, 249}, {0, 0x2050, 90}, {0, 0x3068, 94}, {1, 0, 128}, {2, 0, 125}, {2, 0x1038, 108},
    };
    ls_v3_segment_list sg;
    assert_int_equal(ls_v3_list_segments(s, "0000000000000000", &sg, &e), LS_OK);
    assert_int_equal(sg.n, 6);
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(sg.items[i].index, want[i].index);
        assert_int_equal(sg.items[i].offset, want[i].offset);
        assert_int_equal(sg.items[i].size, want[i].size);
    }
    /* each object is one LZ4 frame */
    ls_reader *r;
    assert_int_equal(ls_v3_open_segment(s, &sg.items[1], &r, &e), LS_OK);
    unsigned char magic[4];
    size_t n;
    assert_int_equal(ls_read_full(r, magic, 4, &n, &e), LS_OK);
    ls_reader_close(r);
    assert_int_equal(n, 4);
    assert_memory_equal(magic, "\x04\x22\x4d\x18", 4);
    ls_v3_segment_list_free(&sg);
    ls_storage_close(s);
    free(root);
}

/* Copies the v3-replica tree to a temp dir and restores its mtimes from
 * mtimes.tsv (git does not keep them). Returns the copy's path. */
static char *copy_v3_replica(char **tmpdir_out) {
    char *src = lst_shared_path("testdata/v3-replica/replica");
    char *tsv = lst_shared_path("testdata/v3-replica/mtimes.tsv");
    char *tmp = lst_tmpdir();
    char *dst = ls_path_join(tmp, "replica");
    char *cmd = ls_strfmt("cp -R '%s' '%s'", src, dst);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    size_t len;
    char *text = (char *)lst_read_file(tsv, &len);
    int applied = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char rel[512];
        long long ns;
        if (sscanf(line, "%511[^\t]\t%lld", rel, &ns) != 2) continue; /* header */
        char *p = ls_path_join(dst, rel);
        struct timespec ts[2] = {{.tv_sec = ns / 1000000000LL, .tv_nsec = ns % 1000000000LL},
                                 {.tv_sec = ns / 1000000000LL, .tv_nsec = ns % 1000000000LL}};
        assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
        free(p);
        applied++;
    }
    assert_int_equal(applied, 29);
    free(text);
    free(src);
    free(tsv);
    *tmpdir_out = tmp;
    return dst;
}

static int64_t at_sec(const char *hhmmss) {
    char buf[64];
    snprintf(buf, sizeof(buf), "2026-11-22T%sZ", hhmmss);
    int64_t ns;
    ls_err e;
    assert_int_equal(ls_parse_rfc3339(buf, &ns, &e), LS_OK);
    return ns / LS_NS_PER_SEC;
}

static void test_v3_replica_listing(void **state) {
    (void)state;
    LST_REQUIRE_SHARED();
    char *tmp;
    char *root = copy_v3_replica(&tmp);
    ls_storage *s;
    ls_err e;
    assert_int_equal(ls_storage_file_open(root, &s, &e), LS_OK);

    /* generations in name order (B sorts before A) */
    ls_v3_generation_list g;
    assert_int_equal(ls_v3_list_generations(s, &g, &e), LS_OK);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.items[0].name, "c155c5742e53380e");
    assert_string_equal(g.items[1].name, "dad4f3dffdd83a65");
    ls_v3_generation_list_free(&g);

    /* `litestream snapshots` of v0.3.13 (MANIFEST) */
    struct { const char *gen; uint32_t index; int64_t size; const char *created; } snaps[] = {
        {"c155c5742e53380e", 0, 2293, "02:26:23"},
        {"dad4f3dffdd83a65", 0, 664, "02:26:03"},
        {"dad4f3dffdd83a65", 4, 1660, "02:26:15"},
    };
    ls_v3_snapshot_list sn;
    assert_int_equal(ls_v3_list_all_snapshots(s, &sn, &e), LS_OK);
    assert_int_equal(sn.n, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(sn.items[i].generation, snaps[i].gen);
        assert_int_equal(sn.items[i].index, snaps[i].index);
        assert_int_equal(sn.items[i].size, snaps[i].size);
        assert_int_equal(sn.items[i].created_at_ns / LS_NS_PER_SEC, at_sec(snaps[i].created));
    }
    /* exact nanoseconds survive (mtimes.tsv first row) */
    assert_int_equal(sn.items[0].created_at_ns, INT64_C(1795314383409794934));
    ls_v3_snapshot_list_free(&sn);

    /* `litestream wal` of v0.3.13 (MANIFEST) */
    struct { const char *gen; uint32_t index; uint64_t offset; int64_t size; const char *created; } wal[] = {
        {"c155c5742e53380e", 0, 0, 119, "02:26:23"},
        {"c155c5742e53380e", 0, 4152, 394, "02:26:23"},
        {"c155c5742e53380e", 0, 8272, 544, "02:26:24"},
        {"c155c5742e53380e", 1, 0, 119, "02:26:25"},
        {"c155c5742e53380e", 1, 4152, 694, "02:26:29"},
        {"c155c5742e53380e", 2, 0, 119, "02:26:29"},
        {"c155c5742e53380e", 2, 4152, 1261, "02:26:30"},
        {"c155c5742e53380e", 3, 0, 119, "02:26:31"},
        {"dad4f3dffdd83a65", 0, 0, 487, "02:26:03"},
        {"dad4f3dffdd83a65", 0, 16512, 510, "02:26:03"},
        {"dad4f3dffdd83a65", 0, 20632, 663, "02:26:04"},
        {"dad4f3dffdd83a65", 0, 24752, 1170, "02:26:04"},
        {"dad4f3dffdd83a65", 0, 41232, 1100, "02:26:05"},
        {"dad4f3dffdd83a65", 1, 0, 119, "02:26:05"},
        {"dad4f3dffdd83a65", 1, 4152, 736, "02:26:09"},
        {"dad4f3dffdd83a65", 2, 0, 119, "02:26:09"},
        {"dad4f3dffdd83a65", 2, 4152, 1196, "02:26:10"},
        {"dad4f3dffdd83a65", 2, 20632, 275, "02:26:11"},
        {"dad4f3dffdd83a65", 3, 0, 563, "02:26:11"},
        {"dad4f3dffdd83a65", 4, 0, 119, "02:26:13"},
        {"dad4f3dffdd83a65", 4, 4152, 419, "02:26:15"},
        {"dad4f3dffdd83a65", 5, 0, 119, "02:26:15"},
        {"dad4f3dffdd83a65", 5, 4152, 560, "02:26:16"},
        {"dad4f3dffdd83a65", 6, 0, 119, "02:26:17"},
        {"dad4f3dffdd83a65", 6, 4152, 694, "02:26:20"},
        {"dad4f3dffdd83a65", 7, 0, 115, "02:26:20"},
    };
    size_t k = 0;
    const char *gens[] = {"c155c5742e53380e", "dad4f3dffdd83a65"};
    for (size_t gi = 0; gi < 2; gi++) {
        ls_v3_segment_list sg;
        assert_int_equal(ls_v3_list_segments(s, gens[gi], &sg, &e), LS_OK);
        for (size_t i = 0; i < sg.n; i++, k++) {
            assert_true(k < sizeof(wal) / sizeof(wal[0]));
            assert_string_equal(sg.items[i].generation, wal[k].gen);
            assert_int_equal(sg.items[i].index, wal[k].index);
            assert_int_equal(sg.items[i].offset, wal[k].offset);
            assert_int_equal(sg.items[i].size, wal[k].size);
            assert_int_equal(sg.items[i].created_at_ns / LS_NS_PER_SEC, at_sec(wal[k].created));
        }
        ls_v3_segment_list_free(&sg);
    }
    assert_int_equal(k, sizeof(wal) / sizeof(wal[0]));

    bool has;
    assert_int_equal(ls_v3_has_data(s, &has, &e), LS_OK);
    assert_true(has);
    ls_storage_close(s);
    free(root);
    lst_rmtree(tmp);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name_parsing),
        cmocka_unit_test(test_synthetic_tree),
        cmocka_unit_test(test_golden_v03_replica),
        cmocka_unit_test(test_v3_replica_listing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
