/*
 * Unit tests for wal/: golden Litestream fixtures (MANIFEST section B),
 * checksum vectors, both byte orders, header validation order, resume,
 * byte limits, truncation at every length and random bit flips.
 */
#include "testlib.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/fs.h"
#include "wal/wal.h"

/* ------------------------------------------------------------------------ */
/* helpers                                                                  */

static int open_ro(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail_msg("open %s", path);
    return fd;
}

static int open_golden(const char *name) {
    char rel[128];
    snprintf(rel, sizeof(rel), "testdata/golden/%s", name);
    char *p = lst_shared_path(rel);
    assert_non_null(p);
    int fd = open_ro(p);
    free(p);
    return fd;
}

/* An anonymous temp file holding data (read/write fd). */
static int mem_fd(const void *data, size_t len) {
    char tmpl[] = "/tmp/lstest-wal-XXXXXX";
    int fd = mkstemp(tmpl);
    assert_true(fd >= 0);
    unlink(tmpl);
    if (len) {
        ls_err e;
        if (ls_write_full(fd, data, len, &e, "tmp") != LS_OK) fail_msg("%s", e.msg);
    }
    return fd;
}

static void put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* In-memory WAL builder (valid SQLite WAL layout and checksum chain). */
typedef struct walb {
    uint8_t *buf;
    size_t len, cap;
    uint32_t ps, salt1, salt2, c1, c2;
    bool be;
} walb;

static void walb_reserve(walb *w, size_t more) {
    if (w->len + more <= w->cap) return;
    size_t ncap = (w->len + more) * 2;
    w->buf = realloc(w->buf, ncap);
    assert_non_null(w->buf);
    w->cap = ncap;
}

static void walb_init(walb *w, uint32_t ps, bool be, uint32_t salt1, uint32_t salt2) {
    memset(w, 0, sizeof(*w));
    w->ps = ps;
    w->be = be;
    w->salt1 = salt1;
    w->salt2 = salt2;
    wal_header h = {.magic = be ? WAL_MAGIC_BE : WAL_MAGIC_LE, .version = WAL_VERSION,
                    .page_size = ps, .ckpt_seq = 7, .salt1 = salt1, .salt2 = salt2};
    wal_header_finalize(&h);
    walb_reserve(w, WAL_HEADER_SIZE);
    wal_header_encode(&h, w->buf);
    w->len = WAL_HEADER_SIZE;
    w->c1 = h.cksum1;
    w->c2 = h.cksum2;
}

/* Appends a frame whose page is filled with (fill + i) bytes; the salts can
 * be overridden (0,0 = use the WAL's). Returns the frame offset. */
static int64_t walb_frame_salts(walb *w, uint32_t pgno, uint32_t commit, uint8_t fill,
                                uint32_t s1, uint32_t s2) {
    int64_t off = (int64_t)w->len;
    walb_reserve(w, WAL_FRAME_HEADER_SIZE + w->ps);
    uint8_t *f = w->buf + w->len;
    put_be32(f, pgno);
    put_be32(f + 4, commit);
    put_be32(f + 8, s1);
    put_be32(f + 12, s2);
    for (uint32_t i = 0; i < w->ps; i++) f[24 + i] = (uint8_t)(fill + i * 7);
    uint32_t a = w->c1, b = w->c2;
    wal_checksum(w->be, f, 8, &a, &b);
    wal_checksum(w->be, f + 24, w->ps, &a, &b);
    put_be32(f + 16, a);
    put_be32(f + 20, b);
    w->c1 = a;
    w->c2 = b;
    w->len += WAL_FRAME_HEADER_SIZE + w->ps;
    return off;
}

static int64_t walb_frame(walb *w, uint32_t pgno, uint32_t commit, uint8_t fill) {
    return walb_frame_salts(w, pgno, commit, fill, w->salt1, w->salt2);
}

static void check_map(const wal_page_map *m, size_t n, const uint32_t *pgnos,
                      const int64_t *offs, int64_t end, uint32_t commit) {
    assert_int_equal(m->n, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(m->entries[i].pgno, pgnos[i]);
        assert_int_equal(m->entries[i].offset, offs[i]);
        int64_t o = -1;
        assert_true(wal_page_map_get(m, pgnos[i], &o));
        assert_int_equal(o, offs[i]);
    }
    assert_int_equal(m->end, end);
    assert_int_equal(m->commit, commit);
}

static void build_map(int fd, int64_t limit, wal_page_map *m) {
    wal_reader *r = NULL;
    ls_err e;
    if (wal_reader_open(&r, fd, &e) != LS_OK) fail_msg("%s", e.msg);
    if (wal_reader_page_map(r, limit, m, &e) != LS_OK) fail_msg("%s", e.msg);
    wal_reader_free(r);
}

/* ------------------------------------------------------------------------ */
/* checksum vectors and header validation                                   */

static void test_checksum_vectors(void **state) {
    (void)state;
    /* Go's BadHeaderVersion vector: big-endian magic, version 1, rest zero. */
    uint8_t h[WAL_HEADER_SIZE] = {0};
    put_be32(h, WAL_MAGIC_BE);
    put_be32(h + 4, 1);
    uint32_t s0 = 0, s1 = 0;
    wal_checksum(true, h, 24, &s0, &s1);
    assert_int_equal(s0, 0x157b2092u);
    assert_int_equal(s1, 0xbbf8341du);
    put_be32(h + 24, s0);
    put_be32(h + 28, s1);
    int fd = mem_fd(h, sizeof(h));
    wal_header hd;
    bool valid = true;
    ls_err e;
    assert_int_equal(wal_header_read(fd, &hd, &valid, &e), LS_ERR_FORMAT);
    assert_string_equal(e.msg, "unsupported wal version: 1");
    assert_false(valid);
    close(fd);

    /* The same words summed little-endian give a different checksum. */
    uint32_t l0 = 0, l1 = 0;
    wal_checksum(false, h, 24, &l0, &l1);
    assert_true(l0 != s0 || l1 != s1);

    /* Running state: checksumming in pieces equals checksumming at once. */
    uint8_t buf[64];
    uint64_t st = 42;
    lst_rand_bytes(&st, buf, sizeof(buf));
    for (int be = 0; be < 2; be++) {
        uint32_t a = 1, b = 2, c = 1, d = 2;
        wal_checksum(be, buf, 64, &a, &b);
        wal_checksum(be, buf, 24, &c, &d);
        wal_checksum(be, buf + 24, 40, &c, &d);
        assert_int_equal(a, c);
        assert_int_equal(b, d);
    }
    /* Trailing bytes beyond a multiple of 8 are ignored. */
    uint32_t a = 0, b = 0, c = 0, d = 0;
    wal_checksum(false, buf, 16, &a, &b);
    wal_checksum(false, buf, 21, &c, &d);
    assert_int_equal(a, c);
    assert_int_equal(b, d);
}

static void test_frame_size_calc(void **state) {
    (void)state;
    assert_int_equal(wal_frame_size(4096), 4120);
    assert_int_equal(wal_calc_size(4096, 0), 32);
    assert_int_equal(wal_calc_size(4096, 1000), 32 + 4120LL * 1000);
    assert_int_equal(wal_calc_size(4096, 121359), 32 + 4120LL * 121359);
    assert_int_equal(wal_calc_size(65536, 100000), 32 + 65560LL * 100000);
    assert_true(wal_page_size_valid(512));
    assert_true(wal_page_size_valid(4096));
    assert_true(wal_page_size_valid(65536));
    uint32_t bad[] = {0, 1, 256, 511, 513, 1000, 4095, 131072, 0xffffffffu, 0x80000000u};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(wal_page_size_valid(bad[i]));
}

static ls_code read_hdr_bytes(const uint8_t *b, size_t n, wal_header *h, bool *valid, ls_err *e) {
    int fd = mem_fd(b, n);
    ls_code rc = wal_header_read(fd, h, valid, e);
    close(fd);
    return rc;
}

static void test_header_validation_order(void **state) {
    (void)state;
    wal_header h = {.magic = WAL_MAGIC_LE, .version = WAL_VERSION, .page_size = 4096,
                    .ckpt_seq = 3, .salt1 = 0x11223344, .salt2 = 0x55667788};
    wal_header_finalize(&h);
    uint8_t b[WAL_HEADER_SIZE];
    wal_header_encode(&h, b);
    wal_header got;
    bool valid = false;
    ls_err e;
    assert_int_equal(read_hdr_bytes(b, sizeof(b), &got, &valid, &e), LS_OK);
    assert_true(valid);
    assert_int_equal(got.magic, WAL_MAGIC_LE);
    assert_false(got.cksum_big_endian);
    assert_int_equal(got.page_size, 4096);
    assert_int_equal(got.ckpt_seq, 3);
    assert_int_equal(got.salt1, 0x11223344);
    assert_int_equal(got.salt2, 0x55667788);
    assert_int_equal(got.cksum1, h.cksum1);
    assert_int_equal(got.cksum2, h.cksum2);

    /* Every short length: "EOF" (valid = false, no error). */
    for (size_t n = 0; n < sizeof(b); n++) {
        valid = true;
        assert_int_equal(read_hdr_bytes(b, n, &got, &valid, &e), LS_OK);
        assert_false(valid);
    }

    /* Bad magic wins over a bad checksum. */
    uint8_t m[WAL_HEADER_SIZE];
    memcpy(m, b, sizeof(m));
    put_be32(m, 0x377f0684);
    assert_int_equal(read_hdr_bytes(m, sizeof(m), &got, &valid, &e), LS_ERR_FORMAT);
    assert_string_equal(e.msg, "invalid wal header magic: 377f0684");
    put_be32(m, 0);
    assert_int_equal(read_hdr_bytes(m, sizeof(m), &got, &valid, &e), LS_ERR_FORMAT);
    assert_string_equal(e.msg, "invalid wal header magic: 0");

    /* Bad version with a bad checksum: EOF, not the version error. */
    wal_header v = h;
    v.version = 3007001;
    wal_header_encode(&v, m); /* old checksum kept -> mismatch */
    e.code = LS_OK;
    assert_int_equal(read_hdr_bytes(m, sizeof(m), &got, &valid, &e), LS_OK);
    assert_false(valid);
    /* Bad version with a good checksum: the version error. */
    wal_header_finalize(&v);
    wal_header_encode(&v, m);
    assert_int_equal(read_hdr_bytes(m, sizeof(m), &got, &valid, &e), LS_ERR_FORMAT);
    assert_string_equal(e.msg, "unsupported wal version: 3007001");

    /* Checksum byte order follows the magic: swapping the magic without
     * recomputing breaks the header checksum. */
    wal_header s = h;
    s.magic = WAL_MAGIC_BE;
    wal_header_encode(&s, m);
    assert_int_equal(read_hdr_bytes(m, sizeof(m), &got, &valid, &e), LS_OK);
    assert_false(valid);
    wal_header_finalize(&s);
    wal_header_encode(&s, m);
    assert_int_equal(read_hdr_bytes(m, sizeof(m), &got, &valid, &e), LS_OK);
    assert_true(valid);
    assert_true(got.cksum_big_endian);

    /* Page sizes: stored as is; 65536 is 65536 (SQLite never writes 1). */
    struct { uint32_t ps; bool ok; } ps[] = {
        {512, true}, {1024, true}, {32768, true}, {65536, true}, {0, false}, {1, false},
        {256, false}, {1000, false}, {4097, false}, {131072, false}, {0xffffffffu, false},
    };
    for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
        wal_header p = h;
        p.page_size = ps[i].ps;
        wal_header_finalize(&p);
        wal_header_encode(&p, m);
        ls_code rc = read_hdr_bytes(m, sizeof(m), &got, &valid, &e);
        if (ps[i].ok) {
            assert_int_equal(rc, LS_OK);
            assert_true(valid);
            assert_int_equal(got.page_size, ps[i].ps);
        } else {
            assert_int_equal(rc, LS_ERR_FORMAT);
            assert_false(valid);
            char want[64];
            snprintf(want, sizeof(want), "invalid wal page size: %u", ps[i].ps);
            assert_string_equal(e.msg, want);
        }
    }

    /* Raw read: no validation, short files zero-filled. */
    {
        uint8_t raw[WAL_HEADER_SIZE];
        size_t nraw = 99;
        int rfd = mem_fd(m, 20);
        assert_int_equal(wal_header_read_raw(rfd, raw, &nraw, &e), LS_OK);
        assert_int_equal(nraw, 20);
        assert_memory_equal(raw, m, 20);
        for (size_t i = 20; i < sizeof(raw); i++) assert_int_equal(raw[i], 0);
        close(rfd);
        rfd = mem_fd(b, sizeof(b));
        assert_int_equal(wal_header_read_raw(rfd, raw, &nraw, &e), LS_OK);
        assert_int_equal(nraw, 32);
        assert_memory_equal(raw, b, 32);
        wal_header dh;
        wal_header_decode(raw, &dh);
        assert_int_equal(dh.salt1, 0x11223344);
        close(rfd);
    }

    /* An invalid header makes the reader and the salts scan fail with "EOF". */
    int fd = mem_fd(b, 20);
    wal_reader *r = (wal_reader *)1;
    assert_int_equal(wal_reader_open(&r, fd, &e), LS_ERR_FORMAT);
    assert_null(r);
    assert_string_equal(e.msg, "EOF");
    bool mm = true;
    assert_int_equal(wal_reader_open_at(&r, fd, 32 + 4120, 1, 2, &mm, &e), LS_ERR_FORMAT);
    assert_string_equal(e.msg, "read header: EOF");
    assert_false(mm);
    wal_salt_pair *sp = NULL;
    size_t n = 9;
    assert_int_equal(wal_frame_salts_until(fd, 0, 0, &sp, &n, &e), LS_ERR_FORMAT);
    assert_string_equal(e.msg, "EOF");
    assert_null(sp);
    assert_int_equal(n, 0);
    close(fd);
}

/* ------------------------------------------------------------------------ */
/* golden fixtures (MANIFEST section B)                                     */

static void expect_frame(wal_reader *r, int64_t off, uint32_t pgno, uint32_t commit,
                         uint32_t c1, uint32_t c2, uint8_t *page) {
    wal_frame_header fh;
    int64_t fo = -1;
    bool eof = true;
    ls_err e;
    assert_int_equal(wal_reader_next(r, &fh, page, &fo, &eof, &e), LS_OK);
    assert_false(eof);
    assert_int_equal(fo, off);
    assert_int_equal(wal_reader_offset(r), off);
    assert_int_equal(wal_reader_pos(r), off + 4120);
    assert_int_equal(fh.pgno, pgno);
    assert_int_equal(fh.commit, commit);
    assert_int_equal(fh.cksum1, c1);
    assert_int_equal(fh.cksum2, c2);
    uint32_t k1, k2;
    wal_reader_checksum(r, &k1, &k2);
    assert_int_equal(k1, c1);
    assert_int_equal(k2, c2);
}

static void expect_eof(wal_reader *r, int64_t pos) {
    wal_frame_header fh;
    int64_t fo = -1;
    bool eof = false;
    ls_err e;
    for (int i = 0; i < 2; i++) { /* sticky */
        assert_int_equal(wal_reader_next(r, &fh, NULL, &fo, &eof, &e), LS_OK);
        assert_true(eof);
        assert_int_equal(wal_reader_pos(r), pos);
    }
}

static void expect_header(int fd, uint32_t seq, uint32_t s1, uint32_t s2, uint32_t c1,
                          uint32_t c2) {
    wal_header h;
    bool valid = false;
    ls_err e;
    assert_int_equal(wal_header_read(fd, &h, &valid, &e), LS_OK);
    assert_true(valid);
    assert_int_equal(h.magic, 0x377f0682u);
    assert_false(h.cksum_big_endian);
    assert_int_equal(h.version, 3007000);
    assert_int_equal(h.page_size, 4096);
    assert_int_equal(h.ckpt_seq, seq);
    assert_int_equal(h.salt1, s1);
    assert_int_equal(h.salt2, s2);
    assert_int_equal(h.cksum1, c1);
    assert_int_equal(h.cksum2, c2);
    /* The header checksum recomputed from the raw bytes. */
    uint8_t raw[32];
    size_t got = 0;
    assert_int_equal(ls_pread_full(fd, raw, 32, 0, &got, &e, "wal"), LS_OK);
    uint32_t a = 0, b = 0;
    wal_checksum(false, raw, 24, &a, &b);
    assert_int_equal(a, c1);
    assert_int_equal(b, c2);
}

static void test_golden_ok(void **state) {
    (void)state;
    LST_REQUIRE_SHARED();
    int fd = open_golden("wal-ok.wal");
    expect_header(fd, 0, 0x4875a40b, 0xa38de4f5, 0xe08b785b, 0x8e57dda3);

    ls_err e;
    wal_reader *r = NULL;
    assert_int_equal(wal_reader_open(&r, fd, &e), LS_OK);
    assert_int_equal(wal_reader_page_size(r), 4096);
    assert_int_equal(wal_reader_offset(r), 0);
    assert_int_equal(wal_reader_pos(r), 32);
    uint32_t s1, s2;
    wal_reader_salts(r, &s1, &s2);
    assert_int_equal(s1, 0x4875a40b);
    assert_int_equal(s2, 0xa38de4f5);
    assert_int_equal(wal_reader_header(r)->salt1, 0x4875a40b);

    uint8_t page[4096];
    expect_frame(r, 32, 1, 0, 0x366b4d98, 0x34f637cf, page);
    /* page data of frame 1 = file bytes [56, 4152) */
    uint8_t raw[4096];
    size_t got = 0;
    assert_int_equal(ls_pread_full(fd, raw, 4096, 56, &got, &e, "wal"), LS_OK);
    assert_memory_equal(page, raw, 4096);
    expect_frame(r, 4152, 2, 2, 0xd6702fda, 0xf16cceda, NULL);
    expect_frame(r, 8272, 2, 2, 0x420a5a7c, 0xf49c13ab, page);
    expect_eof(r, 12392);
    wal_reader_free(r);

    wal_page_map m;
    build_map(fd, 0, &m);
    check_map(&m, 2, (uint32_t[]){1, 2}, (int64_t[]){32, 8272}, 12392, 2);
    assert_false(m.limited);
    assert_int_equal(m.start, 32);
    assert_false(wal_page_map_get(&m, 3, NULL));
    assert_false(wal_page_map_get(&m, 0, NULL));
    wal_page_map_free(&m);
    assert_null(m.entries);
    assert_int_equal(m.n, 0);

    /* Frame helpers. */
    wal_frame_header fh;
    bool found = false;
    assert_int_equal(wal_frame_header_read(fd, 8272, &fh, &found, &e), LS_OK);
    assert_true(found);
    assert_int_equal(fh.pgno, 2);
    assert_int_equal(fh.salt1, 0x4875a40b);
    assert_int_equal(fh.cksum1, 0x420a5a7c);
    assert_int_equal(wal_frame_header_read(fd, 12392, &fh, &found, &e), LS_OK);
    assert_false(found);
    assert_int_equal(wal_frame_header_read(fd, 12392 - 10, &fh, &found, &e), LS_OK);
    assert_false(found);
    assert_int_equal(wal_read_frame(fd, 32, 4096, &fh, page, &found, &e), LS_OK);
    assert_true(found);
    assert_int_equal(fh.pgno, 1);
    assert_memory_equal(page, raw, 4096);
    assert_int_equal(wal_read_frame(fd, 8272 + 8, 4096, &fh, page, &found, &e), LS_OK);
    assert_false(found);
    assert_int_equal(wal_read_frame(fd, 32, 1000, &fh, page, &found, &e), LS_ERR_INVALID);
    assert_int_equal(wal_read_frame_page(fd, 32, 4096, page, &e), LS_OK);
    assert_memory_equal(page, raw, 4096);
    assert_int_equal(wal_read_frame_page(fd, 12392, 4096, page, &e), LS_ERR_FORMAT);
    assert_string_equal(e.msg, "short wal frame at offset 12392");
    assert_int_equal(wal_read_frame_page(fd, -5, 4096, page, &e), LS_ERR_INVALID);

    /* Frame-salts scan: one generation. */
    wal_salt_pair *sp = NULL;
    size_t n = 0;
    assert_int_equal(wal_frame_salts_until(fd, 0, 0, &sp, &n, &e), LS_OK);
    assert_int_equal(n, 1);
    assert_int_equal(sp[0].salt1, 0x4875a40b);
    assert_int_equal(sp[0].salt2, 0xa38de4f5);
    free(sp);
    close(fd);
}

static void test_golden_salt_mismatch(void **state) {
    (void)state;
    LST_REQUIRE_SHARED();
    int fd = open_golden("wal-salt-mismatch.wal");
    expect_header(fd, 0, 0x4875a40b, 0xa38de4f5, 0xe08b785b, 0x8e57dda3);
    ls_err e;
    wal_reader *r = NULL;
    assert_int_equal(wal_reader_open(&r, fd, &e), LS_OK);
    expect_frame(r, 32, 1, 0, 0x366b4d98, 0x34f637cf, NULL);
    expect_eof(r, 4152);
    wal_reader_free(r);

    wal_page_map m;
    build_map(fd, 0, &m);
    check_map(&m, 0, NULL, NULL, 0, 0);
    assert_null(m.entries);
    wal_page_map_free(&m);

    wal_salt_pair *sp = NULL;
    size_t n = 0;
    assert_int_equal(wal_frame_salts_until(fd, 0xdeadbeef, 0xdeadbeef, &sp, &n, &e), LS_OK);
    assert_int_equal(n, 2);
    assert_int_equal(sp[0].salt1, 0x4875a40b);
    assert_int_equal(sp[0].salt2, 0xa38de4f5);
    assert_int_equal(sp[1].salt1, 0x00000000);
    assert_int_equal(sp[1].salt2, 0xa38de4f5);
    free(sp);
    close(fd);
}

static void test_golden_checksum_mismatch(void **state) {
    (void)state;
    LST_REQUIRE_SHARED();
    int fd = open_golden("wal-frame-checksum-mismatch.wal");
    expect_header(fd, 0, 0x4875a40b, 0xa38de4f5, 0xe08b785b, 0x8e57dda3);
    ls_err e;
    wal_reader *r = NULL;
    assert_int_equal(wal_reader_open(&r, fd, &e), LS_OK);
    expect_frame(r, 32, 1, 0, 0x366b4d98, 0x34f637cf, NULL);
    expect_eof(r, 4152);
    wal_reader_free(r);
    wal_page_map m;
    build_map(fd, 0, &m);
    check_map(&m, 0, NULL, NULL, 0, 0);
    wal_page_map_free(&m);
    close(fd);
}

static void test_golden_frame_salts(void **state) {
    (void)state;
    LST_REQUIRE_SHARED();
    int fd = open_golden("wal-frame-salts.wal");
    expect_header(fd, 2, 0x1b9a294b, 0x37f91916, 0x22109d2e, 0xf2126e0a);
    ls_err e;
    wal_reader *r = NULL;
    assert_int_equal(wal_reader_open(&r, fd, &e), LS_OK);
    expect_frame(r, 32, 2, 2, 0xf49e7413, 0xd3c5e072, NULL);
    expect_frame(r, 4152, 2, 2, 0xe43e26e6, 0x9c0af5b2, NULL);
    expect_eof(r, 8272);
    wal_reader_free(r);

    wal_frame_header fh;
    bool found = false;
    assert_int_equal(wal_frame_header_read(fd, 8272, &fh, &found, &e), LS_OK);
    assert_true(found);
    assert_int_equal(fh.salt1, 0x1b9a294a);
    assert_int_equal(fh.salt2, 0x031f195e);

    wal_page_map m;
    build_map(fd, 0, &m);
    check_map(&m, 1, (uint32_t[]){2}, (int64_t[]){4152}, 8272, 2);
    wal_page_map_free(&m);

    wal_salt_pair *sp = NULL;
    size_t n = 0;
    assert_int_equal(wal_frame_salts_until(fd, 0, 0, &sp, &n, &e), LS_OK);
    assert_int_equal(n, 3);
    const uint32_t want[3][2] = {
        {0x1b9a294b, 0x37f91916}, {0x1b9a294a, 0x031f195e}, {0x1b9a2949, 0x13b3dd67}};
    for (size_t i = 0; i < 3; i++) {
        bool hit = false;
        for (size_t j = 0; j < n; j++)
            hit |= sp[j].salt1 == want[i][0] && sp[j].salt2 == want[i][1];
        assert_true(hit);
    }
    free(sp);

    /* Stopping at the "until" pair: the scan ends after the first frame of
     * the previous generation, so the oldest pair is never seen. */
    assert_int_equal(wal_frame_salts_until(fd, 0x1b9a294a, 0x031f195e, &sp, &n, &e), LS_OK);
    assert_int_equal(n, 2);
    assert_int_equal(sp[0].salt1, 0x1b9a294b);
    assert_int_equal(sp[1].salt1, 0x1b9a294a);
    free(sp);
    /* Until the current generation: stops after frame 0. */
    assert_int_equal(wal_frame_salts_until(fd, 0x1b9a294b, 0x37f91916, &sp, &n, &e), LS_OK);
    assert_int_equal(n, 1);
    free(sp);
    close(fd);
}

static void test_golden_resume(void **state) {
    (void)state;
    LST_REQUIRE_SHARED();
    int fd = open_golden("wal-ok.wal");
    const uint32_t S1 = 0x4875a40b, S2 = 0xa38de4f5;
    ls_err e;
    wal_reader *r = NULL;
    bool mm = true;

    /* At 4152: previous frame @32 supplies the checksum state. */
    assert_int_equal(wal_reader_open_at(&r, fd, 4152, S1, S2, &mm, &e), LS_OK);
    assert_false(mm);
    assert_non_null(r);
    assert_int_equal(wal_reader_pos(r), 4152);
    assert_int_equal(wal_reader_offset(r), 32);
    uint32_t c1, c2;
    wal_reader_checksum(r, &c1, &c2);
    assert_int_equal(c1, 0x366b4d98);
    assert_int_equal(c2, 0x34f637cf);
    expect_frame(r, 4152, 2, 2, 0xd6702fda, 0xf16cceda, NULL);
    expect_frame(r, 8272, 2, 2, 0x420a5a7c, 0xf49c13ab, NULL);
    expect_eof(r, 12392);
    wal_reader_free(r);

    wal_page_map m;
    assert_int_equal(wal_reader_open_at(&r, fd, 4152, S1, S2, &mm, &e), LS_OK);
    assert_int_equal(wal_reader_page_map(r, 0, &m, &e), LS_OK);
    check_map(&m, 1, (uint32_t[]){2}, (int64_t[]){8272}, 12392, 2);
    assert_int_equal(m.start, 4152);
    wal_page_map_free(&m);
    wal_reader_free(r);

    /* At the end: nothing new. */
    assert_int_equal(wal_reader_open_at(&r, fd, 12392, S1, S2, &mm, &e), LS_OK);
    assert_false(mm);
    assert_int_equal(wal_reader_page_map(r, 0, &m, &e), LS_OK);
    check_map(&m, 0, NULL, NULL, 0, 0);
    wal_page_map_free(&m);
    wal_reader_free(r);

    /* Beyond the end and wrong salts: previous frame mismatch. */
    int64_t bad_offs[] = {12392 + 4120, 12392 + 4120 * 5};
    for (size_t i = 0; i < 2; i++) {
        r = (wal_reader *)1;
        mm = false;
        assert_int_equal(wal_reader_open_at(&r, fd, bad_offs[i], S1, S2, &mm, &e), LS_OK);
        assert_true(mm);
        assert_null(r);
    }
    mm = false;
    assert_int_equal(wal_reader_open_at(&r, fd, 8272, S1 + 1, S2, &mm, &e), LS_OK);
    assert_true(mm);
    mm = false;
    assert_int_equal(wal_reader_open_at(&r, fd, 8272, S1, 0, &mm, &e), LS_OK);
    assert_true(mm);

    /* Misaligned and too-small offsets are errors. */
    int64_t unaligned[] = {33, 4151, 4153, 8272 + 1, 12392 - 1, 100000};
    for (size_t i = 0; i < sizeof(unaligned) / sizeof(unaligned[0]); i++) {
        mm = true;
        assert_int_equal(wal_reader_open_at(&r, fd, unaligned[i], S1, S2, &mm, &e),
                         LS_ERR_FORMAT);
        assert_false(mm);
        assert_null(r);
        char want[96];
        snprintf(want, sizeof(want), "unaligned wal offset %lld for page size 4096",
                 (long long)unaligned[i]);
        assert_string_equal(e.msg, want);
    }
    int64_t small[] = {32, 0, -4088};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(wal_reader_open_at(&r, fd, small[i], S1, S2, &mm, &e), LS_ERR_INVALID);
        assert_non_null(strstr(e.msg, "must be greater than the wal header size (32)"));
    }

    /* Absurd offsets are rejected before any arithmetic on them. */
    assert_int_equal(wal_reader_open_at(&r, fd, INT64_MAX, S1, S2, &mm, &e), LS_ERR_INVALID);
    assert_int_equal(wal_reader_open_at(&r, fd, 32 + (INT64_MAX / 4120) * 4120 - 4120, S1, S2,
                                        &mm, &e),
                     LS_ERR_INVALID);
    uint8_t pg[4096];
    assert_int_equal(wal_read_frame_page(fd, INT64_MAX, 4096, pg, &e), LS_ERR_INVALID);
    wal_frame_header fh;
    bool found;
    assert_int_equal(wal_frame_header_read(fd, INT64_MAX - 3, &fh, &found, &e), LS_ERR_INVALID);
    assert_int_equal(wal_read_frame(fd, INT64_MAX - 3, 4096, &fh, pg, &found, &e), LS_ERR_INVALID);
    /* Large but sane: simply beyond the file. */
    mm = false;
    assert_int_equal(wal_reader_open_at(&r, fd, 32 + 4120LL * 1000000000LL, S1, S2, &mm, &e), LS_OK);
    assert_true(mm);

    /* The salts given replace the header's: a resume in the salt-mismatch
     * fixture with the stray salts reads the frame carrying them (its
     * checksum is checked against the stored previous checksum). */
    close(fd);
    fd = open_golden("wal-salt-mismatch.wal");
    assert_int_equal(wal_reader_open_at(&r, fd, 4152, S1, S2, &mm, &e), LS_OK);
    assert_false(mm);
    expect_eof(r, 4152);
    wal_reader_free(r);
    assert_int_equal(wal_reader_open_at(&r, fd, 4152 + 4120, 0, S2, &mm, &e), LS_OK);
    assert_false(mm); /* frame @4152 carries (0, S2) */
    uint32_t s1, s2;
    wal_reader_salts(r, &s1, &s2);
    assert_int_equal(s1, 0);
    assert_int_equal(s2, S2);
    assert_int_equal(wal_reader_header(r)->salt1, S1);
    wal_reader_free(r);
    close(fd);
}

static void test_golden_limit(void **state) {
    (void)state;
    LST_REQUIRE_SHARED();
    int fd = open_golden("wal-ok.wal");
    ls_err e;
    /* Any limit <= 8240 (two frames) stops after the first commit (@4152). */
    int64_t limits[] = {1, 4120, 8240};
    for (size_t i = 0; i < 3; i++) {
        wal_reader *r = NULL;
        assert_int_equal(wal_reader_open(&r, fd, &e), LS_OK);
        wal_page_map m;
        assert_int_equal(wal_reader_page_map(r, limits[i], &m, &e), LS_OK);
        check_map(&m, 2, (uint32_t[]){1, 2}, (int64_t[]){32, 4152}, 8272, 2);
        assert_true(m.limited);
        assert_int_equal(wal_reader_pos(r), 8272);
        uint32_t a, b;
        wal_reader_commit_checksum(r, &a, &b);
        assert_int_equal(a, 0xd6702fda);
        assert_int_equal(b, 0xf16cceda);
        wal_page_map_free(&m);
        /* Continuing with the same reader yields the rest. */
        assert_int_equal(wal_reader_page_map(r, limits[i], &m, &e), LS_OK);
        check_map(&m, 1, (uint32_t[]){2}, (int64_t[]){8272}, 12392, 2);
        assert_int_equal(m.limited, 4120 >= limits[i]); /* 12392 - 8272 >= limit */
        wal_page_map_free(&m);
        assert_int_equal(wal_reader_page_map(r, limits[i], &m, &e), LS_OK);
        check_map(&m, 0, NULL, NULL, 0, 0);
        assert_false(m.limited);
        wal_page_map_free(&m);
        wal_reader_free(r);
    }
    /* A limit beyond the commit at 8272 (8241..12360) reads everything and
     * stops after the last commit: limited only if reached. */
    wal_page_map m;
    build_map(fd, 8241, &m);
    check_map(&m, 2, (uint32_t[]){1, 2}, (int64_t[]){32, 8272}, 12392, 2);
    assert_true(m.limited); /* 12392 - 32 = 12360 >= 8241 */
    wal_page_map_free(&m);
    build_map(fd, 12361, &m);
    check_map(&m, 2, (uint32_t[]){1, 2}, (int64_t[]){32, 8272}, 12392, 2);
    assert_false(m.limited);
    wal_page_map_free(&m);
    close(fd);
}

/* ------------------------------------------------------------------------ */
/* synthetic WALs                                                           */

/* Frames: pgno / commit; a transaction {1,3,2} (commit 3), {2,4} (commit 4),
 * {4,1} (commit 2: shrink), then an uncommitted {5,1}. */
static const uint32_t SYN_PGNO[] = {1, 3, 2, 2, 4, 4, 1, 5, 1};
static const uint32_t SYN_COMMIT[] = {0, 0, 3, 0, 4, 0, 2, 0, 0};
#define SYN_N (sizeof(SYN_PGNO) / sizeof(SYN_PGNO[0]))

static void build_syn(walb *w, uint32_t ps, bool be) {
    walb_init(w, ps, be, 0xa1b2c3d4, 0x01020304);
    for (size_t i = 0; i < SYN_N; i++) walb_frame(w, SYN_PGNO[i], SYN_COMMIT[i], (uint8_t)(i * 31));
}

/* Reference page map over the first nframes frames of the synthetic WAL,
 * starting at frame `first`, with byte limit. Returns number of entries;
 * fills pg/off sorted by pgno. */
static size_t ref_map(uint32_t ps, size_t first, size_t nframes, int64_t limit, uint32_t *pg,
                      int64_t *off, int64_t *end, uint32_t *commit, bool *limited) {
    int64_t fs = wal_frame_size(ps);
    int64_t latest[8], pend[8];
    for (int i = 0; i < 8; i++) latest[i] = pend[i] = -1;
    uint32_t c = 0;
    *limited = false;
    int64_t start = 32 + (int64_t)first * fs;
    for (size_t i = first; i < nframes; i++) {
        int64_t fo = 32 + (int64_t)i * fs;
        pend[SYN_PGNO[i]] = fo;
        if (SYN_COMMIT[i]) {
            for (int p = 0; p < 8; p++)
                if (pend[p] >= 0) latest[p] = pend[p], pend[p] = -1;
            c = SYN_COMMIT[i];
            if (limit > 0 && fo + fs - start >= limit) {
                *limited = true;
                break;
            }
        }
    }
    size_t n = 0;
    int64_t mx = -1;
    for (uint32_t p = 0; p < 8; p++) {
        if (latest[p] < 0 || p > c) continue;
        pg[n] = p;
        off[n] = latest[p];
        if (latest[p] > mx) mx = latest[p];
        n++;
    }
    *end = n ? mx + fs : 0;
    *commit = n ? c : 0;
    return n;
}

static void test_synthetic_both_byte_orders(void **state) {
    (void)state;
    for (int be = 0; be < 2; be++) {
        walb w;
        build_syn(&w, 512, be);
        int fd = mem_fd(w.buf, w.len);
        wal_header h;
        bool valid = false;
        ls_err e;
        assert_int_equal(wal_header_read(fd, &h, &valid, &e), LS_OK);
        assert_true(valid);
        assert_int_equal(h.cksum_big_endian, (bool)be);
        assert_int_equal(h.magic, be ? 0x377f0683u : 0x377f0682u);

        wal_reader *r = NULL;
        assert_int_equal(wal_reader_open(&r, fd, &e), LS_OK);
        uint8_t page[512];
        for (size_t i = 0; i < SYN_N; i++) {
            wal_frame_header fh;
            int64_t fo;
            bool eof = true;
            assert_int_equal(wal_reader_next(r, &fh, page, &fo, &eof, &e), LS_OK);
            assert_false(eof);
            assert_int_equal(fo, 32 + (int64_t)i * 536);
            assert_int_equal(fh.pgno, SYN_PGNO[i]);
            assert_int_equal(fh.commit, SYN_COMMIT[i]);
            assert_int_equal(page[0], (uint8_t)(i * 31));
            assert_int_equal(page[1], (uint8_t)(i * 31 + 7));
        }
        expect_eof(r, (int64_t)w.len);
        wal_reader_free(r);

        /* Map: pages <= 2 (shrink), uncommitted tail ignored. */
        wal_page_map m;
        build_map(fd, 0, &m);
        check_map(&m, 2, (uint32_t[]){1, 2}, (int64_t[]){32 + 6 * 536, 32 + 3 * 536},
                  32 + 7 * 536, 2);
        wal_page_map_free(&m);

        /* With the other byte order the checksum chain breaks at frame 0. */
        walb x;
        build_syn(&x, 512, be);
        wal_header hx;
        wal_header_decode(x.buf, &hx);
        hx.magic = be ? WAL_MAGIC_LE : WAL_MAGIC_BE;
        hx.cksum1 = hx.cksum2 = 0;
        wal_header_finalize(&hx); /* valid header, wrong frame byte order */
        wal_header_encode(&hx, x.buf);
        int fx = mem_fd(x.buf, x.len);
        assert_int_equal(wal_reader_open(&r, fx, &e), LS_OK);
        expect_eof(r, 32);
        wal_reader_free(r);
        close(fx);
        free(x.buf);
        close(fd);
        free(w.buf);
    }
}

static void test_page_size_65536(void **state) {
    (void)state;
    walb w;
    walb_init(&w, 65536, false, 5, 6);
    walb_frame(&w, 1, 0, 1);
    walb_frame(&w, 2, 2, 2);
    int fd = mem_fd(w.buf, w.len);
    wal_page_map m;
    build_map(fd, 0, &m);
    int64_t fs = 65536 + 24;
    check_map(&m, 2, (uint32_t[]){1, 2}, (int64_t[]){32, 32 + fs}, 32 + 2 * fs, 2);
    wal_page_map_free(&m);
    /* Resume at frame 1. */
    wal_reader *r = NULL;
    bool mm = true;
    ls_err e;
    assert_int_equal(wal_reader_open_at(&r, fd, 32 + fs, 5, 6, &mm, &e), LS_OK);
    assert_false(mm);
    wal_frame_header fh;
    bool eof = true;
    int64_t fo = 0;
    assert_int_equal(wal_reader_next(r, &fh, NULL, &fo, &eof, &e), LS_OK);
    assert_false(eof);
    assert_int_equal(fo, 32 + fs);
    assert_int_equal(fh.pgno, 2);
    assert_int_equal(fh.commit, 2);
    expect_eof(r, 32 + 2 * fs);
    wal_reader_free(r);
    close(fd);
    free(w.buf);
}

static void test_truncation_every_length(void **state) {
    (void)state;
    walb w;
    build_syn(&w, 512, false);
    const int64_t fs = 536;
    int fd = mem_fd(w.buf, w.len);
    ls_err e;
    for (int64_t len = (int64_t)w.len; len >= 0; len--) {
        assert_int_equal(ftruncate(fd, (off_t)len), 0);
        wal_header h;
        bool valid = false;
        assert_int_equal(wal_header_read(fd, &h, &valid, &e), LS_OK);
        assert_int_equal(valid, len >= 32);
        wal_reader *r = NULL;
        if (len < 32) {
            assert_int_equal(wal_reader_open(&r, fd, &e), LS_ERR_FORMAT);
            assert_string_equal(e.msg, "EOF");
            continue;
        }
        size_t complete = (size_t)((len - 32) / fs);
        assert_int_equal(wal_reader_open(&r, fd, &e), LS_OK);
        size_t cnt = 0;
        for (;;) {
            bool eof;
            assert_int_equal(wal_reader_next(r, NULL, NULL, NULL, &eof, &e), LS_OK);
            if (eof) break;
            cnt++;
        }
        assert_int_equal(cnt, complete);
        wal_reader_free(r);

        /* Page map against the reference over the complete frames, from the
         * start and resumed from every frame boundary. */
        for (size_t first = 0; first <= complete && first <= SYN_N; first++) {
            uint32_t pg[8];
            int64_t off[8], end;
            uint32_t commit;
            bool lim;
            size_t n = ref_map(512, first, complete, 0, pg, off, &end, &commit, &lim);
            wal_page_map m;
            if (first == 0) {
                build_map(fd, 0, &m);
            } else {
                bool mm = true;
                assert_int_equal(
                    wal_reader_open_at(&r, fd, 32 + (int64_t)first * fs, 0xa1b2c3d4, 0x01020304,
                                       &mm, &e),
                    LS_OK);
                assert_false(mm);
                assert_int_equal(wal_reader_page_map(r, 0, &m, &e), LS_OK);
                wal_reader_free(r);
            }
            check_map(&m, n, pg, off, end, commit);
            wal_page_map_free(&m);
        }
        /* Resuming past the complete frames: mismatch. */
        bool mm = false;
        assert_int_equal(wal_reader_open_at(&r, fd, 32 + (int64_t)(complete + 1) * fs,
                                            0xa1b2c3d4, 0x01020304, &mm, &e),
                         LS_OK);
        assert_true(mm);
    }
    close(fd);
    free(w.buf);
}

static void test_limits_synthetic(void **state) {
    (void)state;
    walb w;
    build_syn(&w, 512, true);
    int fd = mem_fd(w.buf, w.len);
    ls_err e;
    for (int64_t limit = 1; limit <= (int64_t)w.len + 10; limit += 37) {
        /* Chunked with one reader: each chunk matches the reference. */
        wal_reader *r = NULL;
        assert_int_equal(wal_reader_open(&r, fd, &e), LS_OK);
        for (int guard = 0; guard < 20; guard++) {
            size_t first = (size_t)((wal_reader_pos(r) - 32) / 536);
            uint32_t pg[8];
            int64_t off[8], end;
            uint32_t commit;
            bool lim;
            size_t n = ref_map(512, first, SYN_N, limit, pg, off, &end, &commit, &lim);
            wal_page_map m;
            assert_int_equal(wal_reader_page_map(r, limit, &m, &e), LS_OK);
            check_map(&m, n, pg, off, end, commit);
            assert_int_equal(m.limited, lim);
            wal_page_map_free(&m);
            if (!lim) break;
        }
        wal_reader_free(r);
    }
    close(fd);
    free(w.buf);
}

static void test_frame_salts_synthetic(void **state) {
    (void)state;
    walb w;
    walb_init(&w, 512, false, 100, 200);
    walb_frame(&w, 1, 1, 0);
    walb_frame(&w, 1, 1, 0);
    walb_frame_salts(&w, 1, 1, 0, 99, 7);  /* leftover older generation */
    walb_frame_salts(&w, 1, 1, 0, 98, 3);
    walb_frame_salts(&w, 1, 1, 0, 99, 7);
    walb_frame_salts(&w, 1, 1, 0, 97, 1);
    int fd = mem_fd(w.buf, w.len);
    ls_err e;
    wal_salt_pair *sp;
    size_t n;
    assert_int_equal(wal_frame_salts_until(fd, 99, 7, &sp, &n, &e), LS_OK);
    assert_int_equal(n, 2);
    assert_int_equal(sp[0].salt1, 100);
    assert_int_equal(sp[1].salt1, 99);
    free(sp);
    assert_int_equal(wal_frame_salts_until(fd, 97, 1, &sp, &n, &e), LS_OK);
    assert_int_equal(n, 4);
    assert_int_equal(sp[2].salt1, 98);
    assert_int_equal(sp[3].salt1, 97);
    free(sp);
    close(fd);
    free(w.buf);

    /* Header only: no pairs. */
    walb_init(&w, 512, false, 1, 2);
    fd = mem_fd(w.buf, w.len);
    sp = (wal_salt_pair *)1;
    assert_int_equal(wal_frame_salts_until(fd, 0, 0, &sp, &n, &e), LS_OK);
    assert_int_equal(n, 0);
    assert_null(sp);
    close(fd);
    free(w.buf);

    /* Many distinct pairs (crafted): stays fast (hash set). */
    size_t many = lst_under_valgrind() ? 500 : 5000;
    walb_init(&w, 512, false, 1, 2);
    for (size_t i = 0; i < many; i++) walb_frame_salts(&w, 1, 1, 0, (uint32_t)i + 10, 9);
    fd = mem_fd(w.buf, w.len);
    assert_int_equal(wal_frame_salts_until(fd, 0, 0, &sp, &n, &e), LS_OK);
    assert_int_equal(n, many);
    for (size_t i = 0; i < many; i++) assert_int_equal(sp[i].salt1, i + 10);
    free(sp);
    close(fd);
    free(w.buf);
}

/* Random bit flips: every API either succeeds with sane values, reports
 * eof, or returns an error with a message — never crashes. Frames before
 * the first corrupted byte are always read. */
static void test_bit_flips(void **state) {
    (void)state;
    walb w;
    build_syn(&w, 512, false);
    size_t iters = lst_under_valgrind() ? 150 : 3000;
    uint64_t st = 0x5eed;
    uint8_t *copy = malloc(w.len);
    assert_non_null(copy);
    for (size_t it = 0; it < iters; it++) {
        memcpy(copy, w.buf, w.len);
        int nflips = 1 + (int)(lst_rand(&st) % 3);
        size_t lowest = w.len;
        for (int k = 0; k < nflips; k++) {
            size_t pos = (size_t)(lst_rand(&st) % w.len);
            copy[pos] ^= (uint8_t)(1u << (lst_rand(&st) % 8));
            if (pos < lowest) lowest = pos;
        }
        size_t len = w.len;
        if (lst_rand(&st) % 4 == 0) len = (size_t)(lst_rand(&st) % w.len);
        int fd = mem_fd(copy, len);
        ls_err e;
        wal_header h;
        bool valid;
        ls_code rc = wal_header_read(fd, &h, &valid, &e);
        if (rc != LS_OK) assert_true(e.msg[0] != '\0');
        wal_reader *r = NULL;
        rc = wal_reader_open(&r, fd, &e);
        if (rc == LS_OK) {
            size_t cnt = 0;
            for (;;) {
                bool eof;
                wal_frame_header fh;
                assert_int_equal(wal_reader_next(r, &fh, NULL, NULL, &eof, &e), LS_OK);
                if (eof) break;
                cnt++;
            }
            /* Flips inside the header's salts/page size can only shorten
             * the read; flips after frame k leave frames < k intact. */
            if (lowest >= 32 && len == w.len) {
                size_t intact = (lowest - 32) / 536;
                assert_true(cnt >= intact);
            }
            wal_reader_free(r);
            wal_page_map m;
            assert_int_equal(wal_reader_open(&r, fd, &e), LS_OK);
            assert_int_equal(wal_reader_page_map(r, (int64_t)(lst_rand(&st) % 2000), &m, &e),
                             LS_OK);
            for (size_t i = 0; i < m.n; i++) {
                assert_true(m.entries[i].pgno <= m.commit);
                assert_true(m.entries[i].offset < m.end);
                if (i) assert_true(m.entries[i - 1].pgno < m.entries[i].pgno);
            }
            wal_page_map_free(&m);
            wal_reader_free(r);
            /* Resume at every offset near frame boundaries. */
            for (int64_t off = 33; off < (int64_t)len + 600; off += 1 + (int64_t)(lst_rand(&st) % 600)) {
                bool mm;
                int64_t o = (lst_rand(&st) & 1) ? 32 + ((off - 32) / 536) * 536 : off;
                rc = wal_reader_open_at(&r, fd, o, 0xa1b2c3d4, 0x01020304, &mm, &e);
                if (rc == LS_OK && !mm) {
                    assert_int_equal(wal_reader_page_map(r, 0, &m, &e), LS_OK);
                    wal_page_map_free(&m);
                    wal_reader_free(r);
                } else if (rc != LS_OK) {
                    assert_true(e.msg[0] != '\0');
                }
            }
        } else {
            assert_null(r);
            assert_true(e.msg[0] != '\0');
        }
        wal_salt_pair *sp = NULL;
        size_t n = 0;
        if (wal_frame_salts_until(fd, 0xa1b2c3d4, 0x01020304, &sp, &n, &e) == LS_OK) free(sp);
        close(fd);
    }
    free(copy);
    free(w.buf);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checksum_vectors),
        cmocka_unit_test(test_frame_size_calc),
        cmocka_unit_test(test_header_validation_order),
        cmocka_unit_test(test_golden_ok),
        cmocka_unit_test(test_golden_salt_mismatch),
        cmocka_unit_test(test_golden_checksum_mismatch),
        cmocka_unit_test(test_golden_frame_salts),
        cmocka_unit_test(test_golden_resume),
        cmocka_unit_test(test_golden_limit),
        cmocka_unit_test(test_synthetic_both_byte_orders),
        cmocka_unit_test(test_page_size_65536),
        cmocka_unit_test(test_truncation_every_length),
        cmocka_unit_test(test_limits_synthetic),
        cmocka_unit_test(test_frame_salts_synthetic),
        cmocka_unit_test(test_bit_flips),
    };
    return cmocka_run_group_tests_name("wal", tests, NULL, NULL);
}
