/*
 * tests/unit/test_legacy_restore.c — Litestream v0.3 restore (engine/legacy.h,
 * spec 9): the LZ4 frame reader, every row of testdata/v3-replica/expected.tsv
 * (after its recorded mtimes are applied), the golden v03-replica restored
 * byte for byte, generation choice by time, the documented decisions
 * (index above the highest, timestamp outside every generation), damaged
 * replicas (corrupt / truncated LZ4, missing snapshot, WAL index gap,
 * missing offset, salt mismatch, checksum mismatch, torn segment, trailing
 * incomplete transaction, page size mismatch), the v0.3 / LTX choice on a
 * replica holding both, progress, cancellation and a synthetic multi-index
 * generation built from real SQLite WAL files restored with bounded memory.
 */
#include "testlib.h"

#include <fcntl.h>
#include <lz4frame.h>
#include <malloc.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine/legacy.h"
#include "engine/restore.h"
#include "storage/legacy.h"
#include "storage/storage.h"
#include "util/fs.h"
#include "util/stream.h"
#include "util/timeutil.h"
#include "wal/wal.h"

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

#define GEN_A "dad4f3dffdd83a65"
#define GEN_B "c155c5742e53380e"
#define GOLD "generations/0000000000000000/"

/* ---- helpers ------------------------------------------------------------ */

typedef struct fx {
    char *dir;     /* temp dir */
    char *rep;     /* replica root inside it */
    char *out;     /* output database path */
    ls_storage *st;
} fx;

static int setup(void **state) {
    fx *f = calloc(1, sizeof(*f));
    f->dir = lst_tmpdir();
    f->rep = ls_path_join(f->dir, "replica");
    f->out = ls_path_join(f->dir, "out/restored.db");
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fx *f = *state;
    if (f->st) ls_storage_close(f->st);
    free(f->rep);
    free(f->out);
    lst_rmtree(f->dir);
    free(f);
    return 0;
}

static void open_storage(fx *f) {
    ls_err e;
    if (f->st) ls_storage_close(f->st);
    f->st = NULL;
    if (ls_storage_file_open(f->rep, &f->st, &e) != LS_OK) fail_msg("open storage: %s", e.msg);
}

static void run_cmd(const char *fmt, const char *a, const char *b) {
    char cmd[8192];
    snprintf(cmd, sizeof(cmd), fmt, a, b);
    if (system(cmd) != 0) fail_msg("command failed: %s", cmd);
}

/* Copies a shared fixture tree (read-only) to f->rep, writable. */
static void copy_fixture(fx *f, const char *rel) {
    char *src = lst_shared_path(rel);
    assert_non_null(src);
    run_cmd("cp -R '%s' '%s'", src, f->rep);
    run_cmd("chmod -R u+w '%s'%s", f->rep, "");
    free(src);
    open_storage(f);
}

static void set_mtime_ns(const char *path, int64_t ns) {
    struct timespec ts[2];
    ts[0].tv_sec = ts[1].tv_sec = (time_t)(ns / 1000000000);
    ts[0].tv_nsec = ts[1].tv_nsec = (long)(ns % 1000000000);
    if (utimensat(AT_FDCWD, path, ts, 0) != 0) fail_msg("utimensat %s", path);
}

/* The v3-replica fixture with its recorded mtimes (what apply-mtimes.sh does). */
static void copy_v3_fixture(fx *f) {
    copy_fixture(f, "testdata/v3-replica/replica");
    char *tsv = lst_shared_path("testdata/v3-replica/mtimes.tsv");
    FILE *fp = fopen(tsv, "r");
    assert_non_null(fp);
    char line[1024];
    int n = 0;
    while (fgets(line, sizeof(line), fp)) {
        char rel[512];
        long long ns;
        if (sscanf(line, "%511[^\t]\t%lld", rel, &ns) != 2) continue; /* header */
        char *p = ls_path_join(f->rep, rel);
        set_mtime_ns(p, ns);
        free(p);
        n++;
    }
    fclose(fp);
    free(tsv);
    assert_int_equal(n, 29);
}

static void hex_digest(const unsigned char *md, unsigned n, char *out) {
    for (unsigned i = 0; i < n; i++) sprintf(out + 2 * i, "%02x", md[i]);
}

/* SHA-256 of `sqlite3 -list -separator '|' DB "SELECT id,gen,note,pad FROM t
 * ORDER BY id"` (the fixture's content hash); *rows = row count. */
static void content_hash(const char *path, char out[65], int *rows) {
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT id,gen,note,pad FROM t ORDER BY id", -1, &st,
                                        NULL),
                     SQLITE_OK);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    *rows = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        for (int c = 0; c < 4; c++) {
            const unsigned char *v = sqlite3_column_text(st, c);
            if (c) EVP_DigestUpdate(ctx, "|", 1);
            if (v) EVP_DigestUpdate(ctx, v, strlen((const char *)v));
        }
        EVP_DigestUpdate(ctx, "\n", 1);
        (*rows)++;
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    EVP_DigestFinal_ex(ctx, md, &mdlen);
    EVP_MD_CTX_free(ctx);
    hex_digest(md, mdlen, out);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static void integrity_ok(const char *path) {
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* Our own sqlite3 opens of a restored WAL-mode database leave -wal/-shm. */
static void ls_restore_remove_sidecars_for_test(const char *out) {
    char *a = ls_strfmt("%s-wal", out), *b = ls_strfmt("%s-shm", out);
    unlink(a);
    unlink(b);
    free(a);
    free(b);
}

static bool exists(const char *p) {
    struct stat sb;
    return lstat(p, &sb) == 0;
}

static void assert_no_leftovers(const char *out) {
    static const char *const sfx[] = {".tmp", ".tmp-wal", ".tmp-shm", ".tmp-journal",
                                      "-wal", "-shm", ".tmp-work"};
    for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
        char *p = ls_strfmt("%s%s", out, sfx[i]);
        if (exists(p)) fail_msg("left behind: %s", p);
        free(p);
    }
}

static ls_code restore(fx *f, const char *gen, int index, int64_t ts, ls_restore_result *res,
                       ls_err *err) {
    ls_restore_opts o = {.output = f->out, .integrity = LS_INTEGRITY_QUICK,
                         .timestamp_ns = ts, .v3_generation = gen,
                         .v3_has_index = index >= 0, .v3_index = index >= 0 ? (uint32_t)index : 0};
    ls_err_clear(err);
    return ls_restore_run(f->st, &o, res, err);
}

static unsigned char *lz4_compress(const void *src, size_t n, LZ4F_blockSizeID_t bs,
                                   bool content_ck, bool block_ck, size_t *out_len) {
    LZ4F_preferences_t prefs;
    memset(&prefs, 0, sizeof(prefs));
    prefs.frameInfo.blockSizeID = bs;
    prefs.frameInfo.blockMode = LZ4F_blockIndependent;
    prefs.frameInfo.contentChecksumFlag = content_ck ? LZ4F_contentChecksumEnabled : 0;
    prefs.frameInfo.blockChecksumFlag = block_ck ? LZ4F_blockChecksumEnabled : 0;
    size_t cap = LZ4F_compressFrameBound(n, &prefs);
    unsigned char *dst = malloc(cap);
    size_t r = LZ4F_compressFrame(dst, cap, src, n, &prefs);
    assert_false(LZ4F_isError(r));
    *out_len = r;
    return dst;
}

/* Decodes a whole .lz4 file (test side, via our reader). */
static unsigned char *lz4_file_decode(const char *path, size_t *len) {
    ls_reader *raw = NULL, *z = NULL;
    ls_err e;
    assert_int_equal(ls_reader_file(path, &raw, &e), LS_OK);
    assert_int_equal(ls_lz4f_reader_open(raw, path, &z, &e), LS_OK);
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = malloc(cap);
    for (;;) {
        if (n == cap) buf = realloc(buf, cap *= 2);
        size_t got = 0;
        if (ls_read(z, buf + n, cap - n, &got, &e) != LS_OK) fail_msg("%s", e.msg);
        if (got == 0) break;
        n += got;
    }
    ls_reader_close(z);
    *len = n;
    return buf;
}

static void lz4_file_write(const char *path, const void *data, size_t n) {
    size_t cl;
    unsigned char *c = lz4_compress(data, n, LZ4F_max4MB, true, false, &cl);
    lst_write_file(path, c, cl);
    free(c);
}

/* Recomputes the WAL header checksum and every frame checksum of a WAL
 * buffer (header + whole frames) so an edited WAL is self-consistent. */
static void wal_rechain(unsigned char *w, size_t n) {
    wal_header h;
    wal_header_decode(w, &h);
    uint32_t s0 = 0, s1 = 0;
    bool be = h.magic == WAL_MAGIC_BE;
    wal_checksum(be, w, 24, &s0, &s1);
    h.cksum1 = s0;
    h.cksum2 = s1;
    h.cksum_big_endian = be;
    wal_header_encode(&h, w);
    size_t fs = 24 + h.page_size;
    for (size_t off = 32; off + fs <= n; off += fs) {
        wal_checksum(be, w + off, 8, &s0, &s1);
        wal_checksum(be, w + off + 24, h.page_size, &s0, &s1);
        wal_frame_header fh;
        wal_frame_header_decode(w + off, &fh);
        fh.cksum1 = s0;
        fh.cksum2 = s1;
        wal_frame_header_encode(&fh, w + off);
    }
}

/* ---- LZ4 frame reader --------------------------------------------------- */

static ls_code decode_all(const unsigned char *c, size_t cl, size_t chunk, unsigned char **out,
                          size_t *outlen, ls_err *e) {
    ls_reader *z = NULL;
    ls_code rc = ls_lz4f_reader_open(ls_reader_mem(c, cl), "obj.lz4", &z, e);
    if (rc != LS_OK) return rc;
    size_t cap = 1024, n = 0;
    unsigned char *buf = malloc(cap);
    for (;;) {
        if (n + chunk > cap) {
            while (n + chunk > cap) cap *= 2;
            buf = realloc(buf, cap);
        }
        size_t got = 0;
        rc = ls_read(z, buf + n, chunk, &got, e);
        if (rc != LS_OK || got == 0) break;
        n += got;
    }
    ls_reader_close(z);
    if (rc != LS_OK) {
        free(buf);
        return rc;
    }
    *out = buf;
    *outlen = n;
    return LS_OK;
}

static void test_lz4_reader(void **state) {
    (void)state;
    uint64_t seed = 42;
    size_t n = 5 * 1024 * 1024 + 123;
    unsigned char *data = malloc(n);
    /* half compressible, half random */
    for (size_t i = 0; i < n; i++) data[i] = (unsigned char)(i % 251);
    lst_rand_bytes(&seed, data + n / 2, n - n / 2);
    struct {
        LZ4F_blockSizeID_t bs;
        bool cck, bck;
    } cfg[] = {{LZ4F_max64KB, true, false}, {LZ4F_max4MB, false, true}, {LZ4F_max256KB, true, true},
               {LZ4F_max1MB, false, false}};
    for (size_t k = 0; k < sizeof(cfg) / sizeof(cfg[0]); k++) {
        size_t cl;
        unsigned char *c = lz4_compress(data, n, cfg[k].bs, cfg[k].cck, cfg[k].bck, &cl);
        size_t chunks[] = {1, 4096, 1 << 20};
        for (size_t j = 0; j < 3; j++) {
            if (chunks[j] == 1 && k > 0) continue; /* byte-wise once is enough */
            unsigned char *d = NULL;
            size_t dl = 0;
            ls_err e;
            if (chunks[j] == 1) {
                /* byte-wise only on a small prefix frame */
                size_t sl;
                unsigned char *sc = lz4_compress(data, 70000, cfg[k].bs, true, true, &sl);
                assert_int_equal(decode_all(sc, sl, 1, &d, &dl, &e), LS_OK);
                assert_int_equal(dl, 70000);
                assert_memory_equal(d, data, 70000);
                free(sc);
            } else {
                assert_int_equal(decode_all(c, cl, chunks[j], &d, &dl, &e), LS_OK);
                assert_int_equal(dl, n);
                assert_memory_equal(d, data, n);
            }
            free(d);
        }
        free(c);
    }

    /* Concatenated frames decode as one stream (as `lz4 -d` does). */
    size_t l1, l2;
    unsigned char *f1 = lz4_compress(data, 1000, LZ4F_max64KB, true, false, &l1);
    unsigned char *f2 = lz4_compress(data + 1000, 2000, LZ4F_max64KB, false, false, &l2);
    unsigned char *cat = malloc(l1 + l2 + 1);
    memcpy(cat, f1, l1);
    memcpy(cat + l1, f2, l2);
    unsigned char *d = NULL;
    size_t dl = 0;
    ls_err e;
    assert_int_equal(decode_all(cat, l1 + l2, 4096, &d, &dl, &e), LS_OK);
    assert_int_equal(dl, 3000);
    assert_memory_equal(d, data, 3000);
    free(d);

    /* Trailing garbage after a frame. */
    cat[l1] = 0x00;
    assert_int_equal(decode_all(cat, l1 + 1, 4096, &d, &dl, &e), LS_ERR_FORMAT);
    assert_non_null(strstr(e.msg, "obj.lz4: lz4:"));

    /* Every truncation of a frame is an error, never a short success. */
    for (size_t cut = 0; cut < l1; cut++) {
        ls_code rc = decode_all(f1, cut, 4096, &d, &dl, &e);
        if (rc == LS_OK) fail_msg("truncated to %zu of %zu bytes decoded without error", cut, l1);
        assert_int_equal(rc, LS_ERR_FORMAT);
        assert_non_null(strstr(e.msg, "obj.lz4"));
    }
    assert_int_equal(decode_all(f1, 0, 4096, &d, &dl, &e), LS_ERR_FORMAT);
    assert_non_null(strstr(e.msg, "empty"));

    /* A flipped byte anywhere is caught (content checksum or format). */
    for (size_t pos = 0; pos < l1; pos += 7) {
        unsigned char *bad = malloc(l1);
        memcpy(bad, f1, l1);
        bad[pos] ^= 0x40;
        ls_code rc = decode_all(bad, l1, 4096, &d, &dl, &e);
        if (rc == LS_OK) {
            /* Only acceptable if the decoded bytes are still right (e.g. a
             * flipped reserved-but-ignored bit); never silently different. */
            assert_int_equal(dl, 1000);
            assert_memory_equal(d, data, 1000);
            free(d);
        } else {
            assert_int_equal(rc, LS_ERR_FORMAT);
        }
        free(bad);
    }
    free(cat);
    free(f1);
    free(f2);
    free(data);
}

/* ---- fixtures ----------------------------------------------------------- */

static void test_golden_byte_for_byte(void **state) {
    LST_REQUIRE_SHARED();
    fx *f = *state;
    copy_fixture(f, "testdata/golden/v03-replica");
    char *want = lst_shared_path("testdata/golden/v03-replica-expected-restore.db");
    for (int mode = 0; mode < 2; mode++) {
        ls_restore_opts o = {.output = f->out,
                             .integrity = mode ? LS_INTEGRITY_FULL : LS_INTEGRITY_NONE};
        ls_restore_result res;
        ls_err e;
        if (ls_restore_run(f->st, &o, &res, &e) != LS_OK) fail_msg("%s", e.msg);
        assert_string_equal(res.layout, "v0.3");
        assert_int_equal(res.txid, 0);
        assert_int_equal(res.page_size, 4096);
        assert_int_equal(res.size, 8192);
        size_t a, b;
        unsigned char *x = lst_read_file(f->out, &a), *y = lst_read_file(want, &b);
        assert_int_equal(a, b);
        assert_memory_equal(x, y, a);
        free(x);
        free(y);
        assert_no_leftovers(f->out);
        ls_restore_result_free(&res);
        unlink(f->out);
    }
    free(want);
}

/* Every row of testdata/v3-replica/expected.tsv. */
static void test_v3_fixture_expected(void **state) {
    LST_REQUIRE_SHARED();
    fx *f = *state;
    copy_v3_fixture(f);
    char *tsv = lst_shared_path("testdata/v3-replica/expected.tsv");
    FILE *fp = fopen(tsv, "r");
    assert_non_null(fp);
    char line[1024];
    int cases = 0;
    while (fgets(line, sizeof(line), fp)) {
        if (line[0] == '#' || line[0] == '\n') continue;
        line[strcspn(line, "\n")] = '\0';
        char *save = NULL;
        char *name = strtok_r(line, "\t", &save);
        char *args = strtok_r(NULL, "\t", &save);
        char *rows = strtok_r(NULL, "\t", &save);
        char *want = strtok_r(NULL, "\t", &save);
        assert_non_null(want);
        const char *gen = NULL;
        int index = -1;
        int64_t ts = 0;
        char *asave = NULL;
        for (char *tok = strtok_r(args, " ", &asave); tok; tok = strtok_r(NULL, " ", &asave)) {
            if (strcmp(tok, "-") == 0) continue;
            char *val = strtok_r(NULL, " ", &asave);
            assert_non_null(val);
            if (strcmp(tok, "-generation") == 0) gen = val;
            else if (strcmp(tok, "-index") == 0) index = (int)strtol(val, NULL, 16);
            else if (strcmp(tok, "-timestamp") == 0)
                assert_int_equal(ls_parse_rfc3339(val, &ts, NULL), LS_OK);
            else fail_msg("%s: unknown argument %s", name, tok);
        }
        ls_restore_result res;
        ls_err e;
        ls_code rc = restore(f, gen, index, ts, &res, &e);
        if (strcmp(rows, "ERROR") == 0) {
            if (rc == LS_OK) fail_msg("%s: restored, expected error '%s'", name, want);
            assert_int_equal(rc, LS_ERR_UNAVAILABLE);
            if (!strstr(e.msg, want)) fail_msg("%s: error '%s' lacks '%s'", name, e.msg, want);
            assert_false(exists(f->out));
            assert_no_leftovers(f->out);
        } else {
            if (rc != LS_OK) fail_msg("%s: %s", name, e.msg);
            assert_no_leftovers(f->out);
            assert_string_equal(res.layout, "v0.3");
            char got[65];
            int n = 0;
            content_hash(f->out, got, &n);
            if (n != atoi(rows) || strcmp(got, want) != 0)
                fail_msg("%s: rows=%d sha256=%s, want rows=%s sha256=%s", name, n, got, rows, want);
            integrity_ok(f->out);
            /* Stays in WAL mode like the source (header bytes 18/19 = 2). */
            size_t len;
            unsigned char *db = lst_read_file(f->out, &len);
            assert_true(len >= 100);
            assert_int_equal(db[18], 2);
            assert_int_equal(db[19], 2);
            free(db);
            ls_restore_result_free(&res);
            unlink(f->out);
            ls_restore_remove_sidecars_for_test(f->out);
        }
        cases++;
    }
    fclose(fp);
    free(tsv);
    assert_int_equal(cases, 21);
}

/* Listing summaries and the generation/snapshot choice. */
static void test_plan_and_generations(void **state) {
    LST_REQUIRE_SHARED();
    fx *f = *state;
    copy_v3_fixture(f);
    ls_err e;
    ls_v3_generation_info_list gl;
    assert_int_equal(ls_v3_list_generation_infos(f->st, &gl, &e), LS_OK);
    assert_int_equal(gl.n, 2);
    assert_string_equal(gl.items[0].name, GEN_B); /* name order: B first */
    assert_true(gl.items[0].current);             /* ...and newest */
    assert_int_equal(gl.items[0].snapshots, 1);
    assert_int_equal(gl.items[0].segments, 8);
    assert_int_equal(gl.items[0].max_index, 3);
    assert_string_equal(gl.items[1].name, GEN_A);
    assert_false(gl.items[1].current);
    assert_int_equal(gl.items[1].snapshots, 2);
    assert_int_equal(gl.items[1].segments, 18);
    assert_int_equal(gl.items[1].min_index, 0);
    assert_int_equal(gl.items[1].max_index, 7);
    assert_true(gl.items[1].first_ns < gl.items[1].last_ns);
    assert_true(gl.items[1].last_ns < gl.items[0].first_ns);
    ls_v3_generation_info_list_free(&gl);

    bool ltx = true, v3 = false;
    assert_int_equal(ls_replica_detect_layout(f->st, &ltx, &v3, &e), LS_OK);
    assert_false(ltx);
    assert_true(v3);

    ls_v3_plan p;
    ls_v3_target t = {0};
    assert_int_equal(ls_v3_plan_compute(f->st, &t, &p, &e), LS_OK);
    assert_string_equal(p.generation, GEN_B);
    assert_int_equal(p.snapshot.index, 0);
    assert_int_equal(p.n, 8);
    assert_int_equal(p.max_index, 3);
    ls_v3_plan_free(&p);

    /* Snapshot 4 is used for index 4..7; segments start at its index. */
    t.generation = GEN_A;
    t.has_index = true;
    t.index = 5;
    assert_int_equal(ls_v3_plan_compute(f->st, &t, &p, &e), LS_OK);
    assert_int_equal(p.snapshot.index, 4);
    assert_int_equal(p.n, 4);
    assert_int_equal(p.segments[0].index, 4);
    assert_int_equal(p.segments[0].offset, 0);
    assert_int_equal(p.max_index, 5);
    ls_v3_plan_free(&p);

    /* Decisions (docs/legacy.md). */
    t.index = 8; /* above the highest (7): an error, not "latest" */
    assert_int_equal(ls_v3_plan_compute(f->st, &t, &p, &e), LS_ERR_UNAVAILABLE);
    assert_non_null(strstr(e.msg, "above the highest index 00000007"));
    t.index = 0x10;
    t.generation = NULL; /* -index alone: the latest generation (B, highest 3) */
    assert_int_equal(ls_v3_plan_compute(f->st, &t, &p, &e), LS_ERR_UNAVAILABLE);
    assert_non_null(strstr(e.msg, GEN_B));
    t.index = 1;
    assert_int_equal(ls_v3_plan_compute(f->st, &t, &p, &e), LS_OK);
    assert_string_equal(p.generation, GEN_B);
    ls_v3_plan_free(&p);
    t.timestamp_ns = 1;
    assert_int_equal(ls_v3_plan_compute(f->st, &t, &p, &e), LS_ERR_INVALID);
    assert_string_equal(e.msg, "cannot specify index & timestamp to restore");
    memset(&t, 0, sizeof(t));
    t.generation = "0123456789abcdef";
    assert_int_equal(ls_v3_plan_compute(f->st, &t, &p, &e), LS_ERR_NOTFOUND);
    assert_non_null(strstr(e.msg, "0123456789abcdef"));
    t.generation = "XYZ";
    assert_int_equal(ls_v3_plan_compute(f->st, &t, &p, &e), LS_ERR_INVALID);

    /* A timestamp equal to a file time includes that file. */
    int64_t ts;
    assert_int_equal(ls_parse_rfc3339("2026-11-22T02:26:09.841795074Z", &ts, NULL), LS_OK);
    memset(&t, 0, sizeof(t));
    t.timestamp_ns = ts;
    assert_int_equal(ls_v3_plan_compute(f->st, &t, &p, &e), LS_OK);
    assert_string_equal(p.generation, GEN_A);
    assert_int_equal(p.segments[p.n - 1].index, 1);
    assert_int_equal(p.segments[p.n - 1].offset, 4152);
    ls_v3_plan_free(&p);
    t.timestamp_ns = ts - 1;
    assert_int_equal(ls_v3_plan_compute(f->st, &t, &p, &e), LS_OK);
    assert_int_equal(p.segments[p.n - 1].offset, 0);
    ls_v3_plan_free(&p);
    /* Between snapshot A/0 (03.345) and the upload of its WAL (03.351):
     * the snapshot alone would lack its index's frames. */
    assert_int_equal(ls_parse_rfc3339("2026-11-22T02:26:03.348Z", &t.timestamp_ns, NULL), LS_OK);
    assert_int_equal(ls_v3_plan_compute(f->st, &t, &p, &e), LS_ERR_UNAVAILABLE);
    assert_non_null(strstr(e.msg, "snapshots/00000000.snapshot.lz4 (index 00000000) was uploaded after"));
    t.timestamp_ns = ts - 1;
    /* A timestamp with -generation outside its span. */
    t.generation = GEN_B;
    assert_int_equal(ls_v3_plan_compute(f->st, &t, &p, &e), LS_ERR_UNAVAILABLE);
    assert_non_null(strstr(e.msg, "outside generation " GEN_B));

    /* "Latest" is chosen by time, not by name: make A the newest. */
    char *p7 = ls_path_join(f->rep, "generations/" GEN_A "/wal/00000007_00000000.wal.lz4");
    set_mtime_ns(p7, INT64_C(1900000000) * 1000000000);
    free(p7);
    memset(&t, 0, sizeof(t));
    assert_int_equal(ls_v3_plan_compute(f->st, &t, &p, &e), LS_OK);
    assert_string_equal(p.generation, GEN_A);
    ls_v3_plan_free(&p);
    assert_int_equal(ls_v3_list_generation_infos(f->st, &gl, &e), LS_OK);
    assert_false(gl.items[0].current);
    assert_true(gl.items[1].current);
    ls_v3_generation_info_list_free(&gl);
    ls_restore_result res;
    assert_int_equal(restore(f, NULL, -1, 0, &res, &e), LS_OK);
    char got[65];
    int rows;
    content_hash(f->out, got, &rows);
    assert_int_equal(rows, 105); /* generation A's latest (txn-12) */
    ls_restore_result_free(&res);
}

/* ---- damaged replicas --------------------------------------------------- */

static char *rp(fx *f, const char *rel) { return ls_path_join(f->rep, rel); }

static void expect_fail(fx *f, ls_code code, const char *s1, const char *s2) {
    ls_restore_result res;
    ls_err e;
    ls_code rc = restore(f, NULL, -1, 0, &res, &e);
    if (rc == LS_OK) fail_msg("restore succeeded; expected an error naming '%s'", s1);
    if (rc != code) fail_msg("code %s (%s), want %s", ls_code_name(rc), e.msg, ls_code_name(code));
    if (s1 && !strstr(e.msg, s1)) fail_msg("error '%s' lacks '%s'", e.msg, s1);
    if (s2 && !strstr(e.msg, s2)) fail_msg("error '%s' lacks '%s'", e.msg, s2);
    assert_false(exists(f->out));
    assert_no_leftovers(f->out);
}

static void fresh_golden(fx *f) {
    if (f->st) ls_storage_close(f->st);
    f->st = NULL;
    run_cmd("rm -rf '%s'%s", f->rep, "");
    copy_fixture(f, "testdata/golden/v03-replica");
}

/* Rewrites a segment after edit(): decoded bytes, edited, re-encoded. */
typedef void (*edit_fn)(unsigned char *buf, size_t *len);

static void edit_segment(fx *f, const char *rel, edit_fn edit) {
    char *p = rp(f, rel);
    size_t n;
    unsigned char *d = lz4_file_decode(p, &n);
    d = realloc(d, n + 8192);
    edit(d, &n);
    lz4_file_write(p, d, n);
    free(d);
    free(p);
}

static void salt_edit(unsigned char *b, size_t *n) {
    (void)n;
    b[8] ^= 0x01; /* frame salt-1 of the only frame (not covered by the checksum) */
}
static void page_edit(unsigned char *b, size_t *n) {
    (void)n;
    b[24 + 100] ^= 0xff; /* page data: breaks the checksum chain */
}
static void torn_edit(unsigned char *b, size_t *n) {
    (void)b;
    *n -= 10;
}
static void header_salt_edit(unsigned char *b, size_t *n) {
    /* New header salt-1 for this segment's header and frame; checksums
     * recomputed, so the segment is consistent in itself. */
    b[16] ^= 0x01;
    b[32 + 8] ^= 0x01;
    wal_rechain(b, *n);
}
static void page_size_edit(unsigned char *b, size_t *n) {
    b[8] = 0;
    b[9] = 0;
    b[10] = 0x20; /* page size 8192 */
    b[11] = 0;
    wal_rechain(b, 32);
    *n = 32;
}

static void test_damaged_replicas(void **state) {
    LST_REQUIRE_SHARED();
    fx *f = *state;
    char *p;

    /* Corrupt LZ4 (a flipped byte in the compressed block). */
    fresh_golden(f);
    p = rp(f, GOLD "wal/00000000_00002050.wal.lz4");
    size_t n;
    unsigned char *raw = lst_read_file(p, &n);
    raw[n / 2] ^= 0x55;
    lst_write_file(p, raw, n);
    free(raw);
    free(p);
    expect_fail(f, LS_ERR_FORMAT, GOLD "wal/00000000_00002050.wal.lz4", "lz4");

    /* Truncated snapshot. */
    fresh_golden(f);
    p = rp(f, GOLD "snapshots/00000000.snapshot.lz4");
    assert_int_equal(truncate(p, 40), 0);
    free(p);
    expect_fail(f, LS_ERR_FORMAT, GOLD "snapshots/00000000.snapshot.lz4", "lz4");

    /* Truncated WAL segment. */
    fresh_golden(f);
    p = rp(f, GOLD "wal/00000002_00001038.wal.lz4");
    raw = lst_read_file(p, &n);
    assert_int_equal(truncate(p, (off_t)n - 5), 0);
    free(raw);
    free(p);
    expect_fail(f, LS_ERR_FORMAT, GOLD "wal/00000002_00001038.wal.lz4", "truncated");

    /* Missing snapshot. */
    fresh_golden(f);
    p = rp(f, GOLD "snapshots/00000000.snapshot.lz4");
    unlink(p);
    free(p);
    expect_fail(f, LS_ERR_FORMAT, "0000000000000000 has WAL segments but no snapshot",
                GOLD "snapshots/");

    /* Gap in WAL indexes. */
    fresh_golden(f);
    p = rp(f, GOLD "wal/00000001_00000000.wal.lz4");
    unlink(p);
    free(p);
    expect_fail(f, LS_ERR_FORMAT, "missing WAL index: expected 00000001/0, got 00000002/0",
                GOLD "wal/00000002_00000000.wal.lz4");

    /* Gap at the start: the snapshot's index has no offset-0 segment. */
    fresh_golden(f);
    p = rp(f, GOLD "wal/00000000_00000000.wal.lz4");
    unlink(p);
    free(p);
    expect_fail(f, LS_ERR_FORMAT, "missing WAL index: expected 00000000/0, got 00000000/2050",
                GOLD "wal/00000000_00002050.wal.lz4");

    /* No WAL at all: the snapshot is never restored alone. */
    fresh_golden(f);
    run_cmd("rm -f '%s'/%s", f->rep, GOLD "wal/*.wal.lz4");
    expect_fail(f, LS_ERR_FORMAT, "missing WAL index: expected 00000000/0, got none",
                GOLD "snapshots/00000000.snapshot.lz4");

    /* Missing offset inside an index. */
    fresh_golden(f);
    p = rp(f, GOLD "wal/00000000_00002050.wal.lz4");
    unlink(p);
    free(p);
    expect_fail(f, LS_ERR_FORMAT, "missing WAL segment: expected 00000000/2050, got 00000000/3068",
                GOLD "wal/00000000_00003068.wal.lz4");

    /* A segment whose decoded bytes end inside a frame (torn write). */
    fresh_golden(f);
    edit_segment(f, GOLD "wal/00000000_00002050.wal.lz4", torn_edit);
    expect_fail(f, LS_ERR_FORMAT, GOLD "wal/00000000_00002050.wal.lz4", "ends inside a frame");

    /* Salt mismatch: the frame checksum is still valid, the salt is not. */
    fresh_golden(f);
    edit_segment(f, GOLD "wal/00000000_00002050.wal.lz4", salt_edit);
    expect_fail(f, LS_ERR_FORMAT, GOLD "wal/00000000_00002050.wal.lz4", "salt mismatch");

    /* Salt mismatch across segments: index 2's header gets other salts
     * (self-consistent), so its second segment does not continue it. */
    fresh_golden(f);
    edit_segment(f, GOLD "wal/00000002_00000000.wal.lz4", header_salt_edit);
    expect_fail(f, LS_ERR_FORMAT, GOLD "wal/00000002_00001038.wal.lz4", "salt mismatch");

    /* Checksum chain broken by a changed page. */
    fresh_golden(f);
    edit_segment(f, GOLD "wal/00000000_00002050.wal.lz4", page_edit);
    expect_fail(f, LS_ERR_CHECKSUM, GOLD "wal/00000000_00002050.wal.lz4", "checksum mismatch");

    /* WAL page size differs from the snapshot's. */
    fresh_golden(f);
    edit_segment(f, GOLD "wal/00000001_00000000.wal.lz4", page_size_edit);
    expect_fail(f, LS_ERR_FORMAT, GOLD "wal/00000001_00000000.wal.lz4", "page size 8192");

    /* Snapshot that is not a database. */
    fresh_golden(f);
    p = rp(f, GOLD "snapshots/00000000.snapshot.lz4");
    lz4_file_write(p, "hello, not sqlite", 17);
    free(p);
    expect_fail(f, LS_ERR_FORMAT, GOLD "snapshots/00000000.snapshot.lz4", "not a SQLite database");

    /* Empty segment. */
    fresh_golden(f);
    p = rp(f, GOLD "wal/00000002_00001038.wal.lz4");
    lz4_file_write(p, "", 0);
    free(p);
    expect_fail(f, LS_ERR_FORMAT, GOLD "wal/00000002_00001038.wal.lz4", "empty");

    /* An index that ends inside a transaction (its commit frame lost):
     * index 2 rebuilt with the last frame's commit field cleared. */
    fresh_golden(f);
    {
        char *a = rp(f, GOLD "wal/00000002_00000000.wal.lz4");
        char *b = rp(f, GOLD "wal/00000002_00001038.wal.lz4");
        size_t la, lb;
        unsigned char *da = lz4_file_decode(a, &la), *db = lz4_file_decode(b, &lb);
        unsigned char *w = malloc(la + lb);
        memcpy(w, da, la);
        memcpy(w + la, db, lb);
        size_t last = la + lb - 4120;
        memset(w + last + 4, 0, 4); /* commit = 0 */
        wal_rechain(w, la + lb);
        lz4_file_write(b, w + la, lb);
        free(w);
        free(da);
        free(db);
        free(a);
        free(b);
    }
    expect_fail(f, LS_ERR_FORMAT, "ends inside a transaction", GOLD "wal/00000002_00001038.wal.lz4");

    /* Duplicate offset written with 8 and 16 digits. */
    fresh_golden(f);
    {
        char *a = rp(f, GOLD "wal/00000000_00002050.wal.lz4");
        char *b = rp(f, GOLD "wal/00000000_0000000000002050.wal.lz4");
        run_cmd("cp '%s' '%s'", a, b);
        free(a);
        free(b);
    }
    expect_fail(f, LS_ERR_FORMAT, "duplicate WAL segment", "0000000000002050");

    /* Intact again: restores. */
    fresh_golden(f);
    ls_restore_result res;
    ls_err e;
    assert_int_equal(restore(f, NULL, -1, 0, &res, &e), LS_OK);
    ls_restore_result_free(&res);
}

/* Output rules shared with LTX restores: existing output, force. */
static void test_output_rules(void **state) {
    LST_REQUIRE_SHARED();
    fx *f = *state;
    copy_fixture(f, "testdata/golden/v03-replica");
    char *dir = ls_path_dir(f->out);
    ls_err e;
    assert_int_equal(ls_mkdir_p(dir, 0700, &e), LS_OK);
    free(dir);
    lst_write_file(f->out, "precious", 8);
    ls_restore_result res;
    assert_int_equal(restore(f, NULL, -1, 0, &res, &e), LS_ERR_EXISTS);
    size_t n;
    unsigned char *d = lst_read_file(f->out, &n);
    assert_memory_equal(d, "precious", 8);
    free(d);
    char *side = ls_strfmt("%s-wal", f->out);
    lst_write_file(side, "stale", 5);
    ls_restore_opts o = {.output = f->out, .integrity = LS_INTEGRITY_FULL, .force = true};
    assert_int_equal(ls_restore_run(f->st, &o, &res, &e), LS_OK);
    assert_false(exists(side));
    integrity_ok(f->out);
    ls_restore_result_free(&res);
    free(side);
    /* A TXID with a v0.3 target is refused. */
    o.txid = 5;
    o.v3_generation = "0000000000000000";
    assert_int_equal(ls_restore_run(f->st, &o, &res, &e), LS_ERR_INVALID);
}

/* ---- both layouts ------------------------------------------------------- */

static void put_ltx(fx *f, const char *golden, const char *name, int64_t mtime_ns) {
    char *src = lst_shared_path(golden);
    char *dst = ls_strfmt("%s/ltx/0/%s", f->rep, name);
    char *d = ls_path_dir(dst);
    ls_err e;
    assert_int_equal(ls_mkdir_p(d, 0700, &e), LS_OK);
    size_t n;
    unsigned char *b = lst_read_file(src, &n);
    lst_write_file(dst, b, n);
    set_mtime_ns(dst, mtime_ns);
    free(b);
    free(d);
    free(dst);
    free(src);
}

static void set_tree_mtime(fx *f, const char *rel, int64_t ns) {
    char *dir = rp(f, rel);
    char cmd[4096];
    snprintf(cmd, sizeof(cmd), "find '%s' -type f -exec touch -m -d @%lld {} +", dir,
             (long long)(ns / 1000000000));
    assert_int_equal(system(cmd), 0);
    free(dir);
}

static void test_mixed_layouts(void **state) {
    LST_REQUIRE_SHARED();
    fx *f = *state;
    copy_fixture(f, "testdata/golden/v03-replica");
    const int64_t S = 1000000000;
    set_tree_mtime(f, "generations", 1600000000 * S);
    put_ltx(f, "testdata/golden/ltx-v3-synthetic-l0-0000000000000001-0000000000000001.ltx",
            "0000000000000001-0000000000000001.ltx", 1500000000 * S);
    put_ltx(f, "testdata/golden/ltx-v3-synthetic-l0-0000000000000002-0000000000000002.ltx",
            "0000000000000002-0000000000000002.ltx", 1500000001 * S);
    ls_err e;
    bool ltx = false, v3 = false;
    assert_int_equal(ls_replica_detect_layout(f->st, &ltx, &v3, &e), LS_OK);
    assert_true(ltx && v3);

    /* v0.3 newer: v0.3. */
    ls_restore_opts o = {.output = f->out, .integrity = LS_INTEGRITY_QUICK};
    ls_restore_plan plan;
    assert_int_equal(ls_restore_plan_choose(f->st, &o, &plan, &e), LS_OK);
    assert_string_equal(plan.layout, "v0.3");
    assert_non_null(plan.v3);
    assert_string_equal(plan.v3->generation, "0000000000000000");
    /* The precomputed v0.3 plan is what runs. */
    o.plan = &plan;
    ls_restore_result res;
    assert_int_equal(ls_restore_run(f->st, &o, &res, &e), LS_OK);
    assert_string_equal(res.layout, "v0.3");
    ls_restore_result_free(&res);
    ls_restore_plan_free(&plan);
    assert_null(plan.v3);
    unlink(f->out);
    o.plan = NULL;

    /* An LTX plan given without ltx_only: still the newer v0.3 data. */
    assert_int_equal(ls_restore_plan_compute(f->st, 0, 0, &plan, &e), LS_OK);
    o.plan = &plan;
    assert_int_equal(ls_restore_run(f->st, &o, &res, &e), LS_OK);
    assert_string_equal(res.layout, "v0.3");
    ls_restore_result_free(&res);
    unlink(f->out);
    /* ...unless the caller says LTX. */
    o.ltx_only = true;
    assert_int_equal(ls_restore_run(f->st, &o, &res, &e), LS_OK);
    assert_string_equal(res.layout, "ltx");
    ls_restore_result_free(&res);
    unlink(f->out);
    ls_restore_plan_free(&plan);
    o.plan = NULL;
    o.ltx_only = false;

    /* A TXID selects LTX. */
    o.txid = 1;
    assert_int_equal(ls_restore_plan_choose(f->st, &o, &plan, &e), LS_OK);
    assert_string_equal(plan.layout, "ltx");
    ls_restore_plan_free(&plan);
    o.txid = 0;

    /* LTX newer: LTX; but -generation forces v0.3. */
    set_tree_mtime(f, "generations", 1400000000 * S);
    assert_int_equal(ls_restore_run(f->st, &o, &res, &e), LS_OK);
    assert_string_equal(res.layout, "ltx");
    ls_restore_result_free(&res);
    unlink(f->out);
    o.v3_generation = "0000000000000000";
    assert_int_equal(ls_restore_run(f->st, &o, &res, &e), LS_OK);
    assert_string_equal(res.layout, "v0.3");
    ls_restore_result_free(&res);
    unlink(f->out);
    o.v3_generation = NULL;
    o.v3_has_index = true;
    o.v3_index = 1;
    assert_int_equal(ls_restore_plan_choose(f->st, &o, &plan, &e), LS_OK);
    assert_string_equal(plan.layout, "v0.3");
    assert_int_equal(plan.v3->max_index, 1);
    ls_restore_plan_free(&plan);
}

/* ---- synthetic generation from real SQLite WALs ------------------------- */

typedef struct prog {
    uint64_t last, total;
    int calls;
    size_t base_heap, peak_heap;
    atomic_bool *cancel_at_half;
} prog;

static size_t heap_in_use(void) {
#if defined(__GLIBC__)
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
#else
    return 0;
#endif
}

static void on_progress(void *ctx, uint64_t done, uint64_t total) {
    prog *p = ctx;
    assert_true(done >= p->last);
    assert_true(done <= total);
    p->last = done;
    p->total = total;
    p->calls++;
    size_t h = heap_in_use();
    if (h > p->peak_heap) p->peak_heap = h;
    if (p->cancel_at_half && done > total / 2) atomic_store(p->cancel_at_half, true);
}

static void exec_sql(sqlite3 *db, const char *sql) {
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) fail_msg("%s: %s", sql, msg);
}

/* Splits the WAL file at commit frames into segments of index idx. */
static int write_wal_segments(fx *f, const char *gen, uint32_t idx, const char *walpath,
                              int commits_per_segment) {
    size_t n;
    unsigned char *w = lst_read_file(walpath, &n);
    assert_true(n >= 32);
    wal_header h;
    wal_header_decode(w, &h);
    size_t fs = 24 + h.page_size, start = 0, off = 32;
    int commits = 0, segs = 0;
    while (off + fs <= n) {
        wal_frame_header fh;
        wal_frame_header_decode(w + off, &fh);
        off += fs;
        bool last = off + fs > n;
        if (fh.commit && (++commits % commits_per_segment == 0 || last)) {
            char *key = ls_strfmt("%s/generations/%s/wal/%08x_%08zx.wal.lz4", f->rep, gen, idx, start);
            char *d = ls_path_dir(key);
            ls_err e;
            assert_int_equal(ls_mkdir_p(d, 0700, &e), LS_OK);
            lz4_file_write(key, w + start, off - start);
            free(d);
            free(key);
            start = off;
            segs++;
        }
    }
    assert_int_equal(start, off); /* every frame was in a committed segment */
    free(w);
    return segs;
}

static void test_synthetic_generation(void **state) {
    fx *f = *state;
    const char *gen = "00000000000000aa";
    bool small = lst_under_valgrind() || LST_ASAN;
    int indexes = 4, txns = small ? 6 : 24, rows_per_txn = small ? 20 : 200;
    char *db_path = ls_path_join(f->dir, "src.db");
    char *wal_path = ls_strfmt("%s-wal", db_path);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
    exec_sql(db, "PRAGMA page_size=4096; PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0;"
                 "CREATE TABLE t(id INTEGER PRIMARY KEY, gen TEXT, note TEXT, pad TEXT);"
                 "INSERT INTO t VALUES(0,'s','snap','x');");
    exec_sql(db, "PRAGMA wal_checkpoint(TRUNCATE)");
    /* Snapshot at index 0: the main file with an empty WAL. */
    {
        size_t n;
        unsigned char *d = lst_read_file(db_path, &n);
        char *key = ls_strfmt("%s/generations/%s/snapshots/00000000.snapshot.lz4", f->rep, gen);
        char *dir = ls_path_dir(key);
        ls_err e;
        assert_int_equal(ls_mkdir_p(dir, 0700, &e), LS_OK);
        size_t cl;
        unsigned char *c = lz4_compress(d, n, LZ4F_max4MB, true, false, &cl);
        lst_write_file(key, c, cl);
        free(c);
        free(dir);
        free(key);
        free(d);
    }
    char hashes[8][65];
    int rows[8];
    int id = 1;
    for (int idx = 0; idx < indexes; idx++) {
        for (int k = 0; k < txns; k++) {
            char sql[512];
            snprintf(sql, sizeof(sql),
                     "WITH RECURSIVE c(i) AS (SELECT %d UNION ALL SELECT i+1 FROM c WHERE i < %d) "
                     "INSERT INTO t SELECT i, 'g', 'idx-%d', hex(randomblob(%d)) FROM c",
                     id, id + rows_per_txn - 1, idx, 100 + k * 7);
            exec_sql(db, sql);
            id += rows_per_txn;
            if (k % 5 == 4) exec_sql(db, "DELETE FROM t WHERE id % 17 = 3");
        }
        write_wal_segments(f, gen, (uint32_t)idx, wal_path, 1 + idx % 3);
        exec_sql(db, "PRAGMA wal_checkpoint(TRUNCATE)");
        content_hash(db_path, hashes[idx], &rows[idx]);
    }
    sqlite3_close(db);
    open_storage(f);

    /* Latest, with progress and a heap bound. */
    prog pr = {0};
    pr.base_heap = heap_in_use();
    ls_restore_opts o = {.output = f->out, .integrity = LS_INTEGRITY_QUICK,
                         .progress = on_progress, .progress_ctx = &pr};
    ls_restore_result res;
    ls_err e;
    if (ls_restore_run(f->st, &o, &res, &e) != LS_OK) fail_msg("%s", e.msg);
    char got[65];
    int n;
    content_hash(f->out, got, &n);
    assert_int_equal(n, rows[indexes - 1]);
    assert_string_equal(got, hashes[indexes - 1]);
    assert_int_equal(pr.last, pr.total);
    assert_true(pr.calls >= 2);
    ls_restore_result_free(&res);
    unlink(f->out);
    ls_restore_remove_sidecars_for_test(f->out);
    if (!LST_ASAN && !lst_under_valgrind() && pr.base_heap > 0) {
        size_t grown = pr.peak_heap > pr.base_heap ? pr.peak_heap - pr.base_heap : 0;
        print_message("v0.3 restore: heap grew by at most %zu bytes\n", grown);
        assert_true(grown < (size_t)12 << 20);
    }
    /* Each index. */
    for (int idx = 0; idx < indexes; idx++) {
        assert_int_equal(restore(f, gen, idx, 0, &res, &e), LS_OK);
        content_hash(f->out, got, &n);
        assert_int_equal(n, rows[idx]);
        assert_string_equal(got, hashes[idx]);
        ls_restore_result_free(&res);
        unlink(f->out);
        ls_restore_remove_sidecars_for_test(f->out);
    }
    /* Cancellation midway leaves nothing behind. */
    atomic_bool cancel = false;
    prog pc = {0};
    pc.cancel_at_half = &cancel;
    o.cancel = &cancel;
    o.progress_ctx = &pc;
    assert_int_equal(ls_restore_run(f->st, &o, &res, &e), LS_ERR_CANCELED);
    assert_false(exists(f->out));
    assert_no_leftovers(f->out);
    free(db_path);
    free(wal_path);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lz4_reader),
        cmocka_unit_test_setup_teardown(test_golden_byte_for_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_v3_fixture_expected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plan_and_generations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_replicas, setup, teardown),
        cmocka_unit_test_setup_teardown(test_output_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mixed_layouts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_synthetic_generation, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
