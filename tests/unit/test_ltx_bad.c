/* Bad LTX input: truncation at every length, every single-bit flip, and
 * hand-crafted violations (magic, flags, page order, lying sizes and
 * offsets, varint overflow, index size field, trailing data, formats 1/2).
 * Each must give the right error code and a message that says what and
 * where, never a crash. */
#include "test_ltx_util.h"

static ltx_header hdr(uint32_t ps, uint32_t commit, uint64_t min, uint64_t max, bool checksum) {
    ltx_header h;
    memset(&h, 0, sizeof(h));
    h.page_size = ps;
    h.commit = commit;
    h.min_txid = min;
    h.max_txid = max;
    h.timestamp = 12345;
    h.flags = checksum ? 0 : LTX_FLAG_NO_CHECKSUM;
    if (checksum && min != 1) h.pre_apply_checksum = LTX_CHECKSUM_FLAG | 0x1234;
    return h;
}

static uint8_t g_pages[4][512];

static void init_pages(void) {
    uint64_t rng = 1;
    for (int i = 0; i < 4; i++) fill_text_page(g_pages[i], 512, &rng);
}

/* Decodes buf fully (streaming) and checks the result. */
static void expect_decode(const uint8_t *p, size_t len, ls_code code, const char *phrase) {
    tdecoded d;
    ls_err e;
    memset(&e, 0, sizeof(e));
    ls_code rc = dec_file(p, len, &d, &e);
    tdecoded_free(&d);
    if (rc != code) fail_msg("rc %d (%s), want %d", rc, e.msg, code);
    if (phrase && !strstr(e.msg, phrase)) fail_msg("message \"%s\" lacks \"%s\"", e.msg, phrase);
}

static void expect_index(const tbuf *f, ls_code code, const char *phrase) {
    ltx_file_index fi;
    ls_err e;
    memset(&e, 0, sizeof(e));
    ls_code rc = ltx_file_index_read(tbuf_pread, (void *)f, f->len, &fi, &e);
    if (rc == LS_OK) ltx_file_index_free(&fi);
    if (rc != code) fail_msg("index: rc %d (%s), want %d", rc, e.msg, code);
    if (phrase && !strstr(e.msg, phrase)) fail_msg("index: \"%s\" lacks \"%s\"", e.msg, phrase);
}

static void build(const ltx_header *h, const uint32_t *pgnos, const uint16_t *flags, size_t n,
                  const rawopts *o, tbuf *out) {
    rawpage rp[8];
    for (size_t i = 0; i < n; i++) {
        rp[i].pgno = pgnos[i];
        rp[i].flags = flags ? flags[i] : 1;
        rp[i].data = g_pages[i % 4];
    }
    raw_file(h, rp, n, o, out);
}

/* The raw builder itself makes valid files. */
static void test_raw_builder_valid(void **state) {
    (void)state;
    init_pages();
    ltx_header h = hdr(512, 3, 2, 2, false);
    tbuf f;
    build(&h, (uint32_t[]){1, 3}, (uint16_t[]){1, 0}, 2, NULL, &f);
    expect_decode(f.p, f.len, LS_OK, NULL);
    expect_index(&f, LS_OK, NULL);
    tbuf_free(&f);
}

/* ---- truncation and bit flips ---------------------------------------------- */

static void small_files(tbuf *f, size_t *n) {
    init_pages();
    ltx_header h = hdr(512, 3, 1, 1, true);
    uint8_t db[3 * 512];
    for (int i = 0; i < 3; i++) memcpy(db + i * 512, g_pages[i], 512);
    uint64_t post;
    assert_int_equal(ltx_db_checksum(db, sizeof(db), 512, &post, NULL), LS_OK);
    assert_int_equal(enc_file(&h, (uint32_t[]){1, 2, 3}, db, 3, post, &f[0], NULL), LS_OK);
    h = hdr(512, 4, 5, 6, false);
    uint8_t two[2 * 512];
    memcpy(two, g_pages[3], 512);
    memcpy(two + 512, g_pages[1], 512);
    assert_int_equal(enc_file(&h, (uint32_t[]){2, 4}, two, 2, 0, &f[1], NULL), LS_OK);
    /* legacy frame pages */
    h = hdr(512, 2, 7, 7, false);
    build(&h, (uint32_t[]){1, 2}, (uint16_t[]){0, 0}, 2, NULL, &f[2]);
    *n = 3;
}

static void test_truncation_every_length(void **state) {
    (void)state;
    tbuf f[3];
    size_t nf;
    small_files(f, &nf);
    for (size_t k = 0; k < nf; k++) {
        expect_decode(f[k].p, f[k].len, LS_OK, NULL);
        for (size_t len = 0; len < f[k].len; len++) {
            tdecoded d;
            ls_err e;
            ls_code rc = dec_file(f[k].p, len, &d, &e);
            tdecoded_free(&d);
            if (rc != LS_ERR_FORMAT)
                fail_msg("file %zu truncated to %zu: rc %d (%s)", k, len, rc, e.msg);
            /* it says where: an EOF/offset phrase */
            if (!strstr(e.msg, "EOF") && !strstr(e.msg, "offset") && !strstr(e.msg, "index"))
                fail_msg("file %zu truncated to %zu: vague message \"%s\"", k, len, e.msg);
            tbuf t = {f[k].p, len};
            ltx_file_index fi;
            if (ltx_file_index_read(tbuf_pread, &t, len, &fi, &e) == LS_OK) {
                ltx_file_index_free(&fi);
                fail_msg("file %zu truncated to %zu: random access accepted it", k, len);
            }
        }
    }
    for (size_t k = 0; k < nf; k++) tbuf_free(&f[k]);
}

static void test_bit_flips(void **state) {
    (void)state;
    tbuf f[3];
    size_t nf;
    small_files(f, &nf);
    size_t harmless = 0, total = 0;
    if (lst_under_valgrind()) nf = 1; /* every bit of one file is plenty there */
    for (size_t k = 0; k < nf; k++) {
        tdecoded orig;
        assert_int_equal(dec_file(f[k].p, f[k].len, &orig, NULL), LS_OK);
        uint8_t *b = malloc(f[k].len);
        for (size_t bit = 0; bit < f[k].len * 8; bit++) {
            memcpy(b, f[k].p, f[k].len);
            b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            tdecoded d;
            ls_err e;
            ls_code rc = dec_file(b, f[k].len, &d, &e);
            total++;
            if (rc == LS_OK) {
                /* Only possible when the flip changed neither the decoded
                 * pages nor any hashed byte: an LZ4 payload bit whose
                 * change decodes to the same page (e.g. a match offset
                 * inside a run). Everything else is covered by the file
                 * checksum. */
                size_t off = bit / 8;
                assert_true(off >= LTX_HEADER_SIZE && off < f[k].len - 24);
                assert_int_equal(d.n, orig.n);
                assert_memory_equal(d.pages, orig.pages, orig.n * orig.h.page_size);
                harmless++;
            } else {
                assert_true(rc == LS_ERR_FORMAT || rc == LS_ERR_CHECKSUM ||
                            rc == LS_ERR_UNSUPPORTED);
                assert_true(strlen(e.msg) > 10);
            }
            tdecoded_free(&d);
            /* random access never crashes (it does not verify checksums) */
            tbuf t = {b, f[k].len};
            ltx_file_index fi;
            if (ltx_file_index_read(tbuf_pread, &t, t.len, &fi, NULL) == LS_OK) {
                uint8_t page[512];
                for (size_t i = 0; i < fi.n; i++)
                    (void)ltx_read_page(tbuf_pread, &t, &fi.header, &fi.entries[i], page, NULL);
                ltx_file_index_free(&fi);
            }
        }
        /* flips in the stored file checksum are always caught */
        for (int bit = 0; bit < 64; bit++) {
            memcpy(b, f[k].p, f[k].len);
            b[f[k].len - 8 + bit / 8] ^= (uint8_t)(1u << (bit % 8));
            expect_decode(b, f[k].len, LS_ERR_CHECKSUM, "file checksum mismatch");
        }
        free(b);
        tdecoded_free(&orig);
    }
    print_message("bit flips: %zu of %zu decoded to identical pages (LZ4 payload only)\n",
                  harmless, total);
    for (size_t k = 0; k < 3; k++) tbuf_free(&f[k]);
}

/* ---- crafted violations ------------------------------------------------------ */

static void test_bad_header(void **state) {
    (void)state;
    init_pages();
    ltx_header h = hdr(512, 2, 2, 2, false);
    tbuf f;
    build(&h, (uint32_t[]){1, 2}, NULL, 2, NULL, &f);
    expect_decode(f.p, 0, LS_ERR_FORMAT, "EOF in LTX header");
    expect_decode(f.p, 50, LS_ERR_FORMAT, "EOF in LTX header");
    f.p[0] = 'X';
    expect_decode(f.p, f.len, LS_ERR_FORMAT, "invalid LTX file: bad magic");
    expect_index(&f, LS_ERR_FORMAT, "bad magic");
    f.p[0] = 'L';
    f.p[7] = 0x04;
    expect_decode(f.p, f.len, LS_ERR_FORMAT, "invalid flags: 0x00000004");
    expect_index(&f, LS_ERR_FORMAT, "invalid flags: 0x00000004");
    f.p[7] = 0x03;
    expect_decode(f.p, f.len, LS_ERR_UNSUPPORTED, "format version 1");
    f.p[7] = 0x02;
    f.p[10] = 0x03; /* page size 0x300 */
    expect_decode(f.p, f.len, LS_ERR_FORMAT, "invalid page size: 768");
    tbuf_free(&f);
    /* min > max */
    h = hdr(512, 2, 3, 2, false);
    build(&h, (uint32_t[]){1}, NULL, 1, NULL, &f);
    expect_decode(f.p, f.len, LS_ERR_FORMAT, "transaction ids out of order: (3,2)");
    tbuf_free(&f);
}

static void test_bad_page_order(void **state) {
    (void)state;
    init_pages();
    tbuf f;
    ltx_header h = hdr(512, 5, 2, 2, false);
    build(&h, (uint32_t[]){3, 2}, NULL, 2, NULL, &f);
    expect_decode(f.p, f.len, LS_ERR_FORMAT, "out-of-order page number 2 after 3");
    expect_index(&f, LS_ERR_FORMAT, "not above the previous");
    tbuf_free(&f);
    build(&h, (uint32_t[]){2, 2}, NULL, 2, NULL, &f);
    expect_decode(f.p, f.len, LS_ERR_FORMAT, "duplicate page 2");
    tbuf_free(&f);
    build(&h, (uint32_t[]){2, 6}, NULL, 2, NULL, &f);
    expect_decode(f.p, f.len, LS_ERR_FORMAT, "page number 6 out-of-bounds for commit size 5");
    expect_index(&f, LS_ERR_FORMAT, "beyond the commit");
    tbuf_free(&f);
    /* snapshot holes */
    h = hdr(512, 3, 1, 1, false);
    build(&h, (uint32_t[]){1, 3}, NULL, 2, NULL, &f);
    expect_decode(f.p, f.len, LS_ERR_FORMAT, "snapshot is missing page 2");
    tbuf_free(&f);
    build(&h, (uint32_t[]){2, 3}, NULL, 2, NULL, &f);
    expect_decode(f.p, f.len, LS_ERR_FORMAT, "snapshot is missing page 1");
    tbuf_free(&f);
    build(&h, (uint32_t[]){1, 2}, NULL, 2, NULL, &f);
    expect_decode(f.p, f.len, LS_ERR_FORMAT, "snapshot is missing pages 3..3");
    expect_index(&f, LS_ERR_FORMAT, "snapshot page index lists 2 pages");
    tbuf_free(&f);
    /* lock page stored (64 KiB pages: lock page 16385) */
    h = hdr(65536, 16390, 2, 2, false);
    uint8_t *big = calloc(1, 65536);
    rawpage rp[1] = {{16385, 1, big}};
    raw_file(&h, rp, 1, NULL, &f);
    expect_decode(f.p, f.len, LS_ERR_FORMAT, "lock page 16385");
    expect_index(&f, LS_ERR_FORMAT, "lock page");
    tbuf_free(&f);
    free(big);
}

static void test_bad_page_headers(void **state) {
    (void)state;
    init_pages();
    tbuf f;
    ltx_header h = hdr(512, 5, 2, 2, false);
    build(&h, (uint32_t[]){2, 3}, NULL, 2, NULL, &f);
    /* second frame's flags (not the first page: no format guessing) */
    ltx_file_index fi;
    assert_int_equal(ltx_file_index_read(tbuf_pread, &f, f.len, &fi, NULL), LS_OK);
    size_t off2 = fi.entries[1].offset;
    f.p[off2 + 5] = 0x03;
    expect_decode(f.p, f.len, LS_ERR_FORMAT, "invalid page header flags: 0x0003");
    f.p[off2 + 5] = 0x01;
    /* pgno 0 with flags */
    memset(f.p + off2, 0, 4);
    expect_decode(f.p, f.len, LS_ERR_FORMAT, "page number required");
    ltx_put_be32(f.p + off2, 3);
    /* compressed size: huge, zero, slightly too big, slightly too small */
    uint32_t real = ltx_be32(f.p + off2 + 6);
    ltx_put_be32(f.p + off2 + 6, 0xFFFFFFF0u);
    expect_decode(f.p, f.len, LS_ERR_FORMAT, "invalid compressed size 4294967280");
    ltx_put_be32(f.p + off2 + 6, 0);
    expect_decode(f.p, f.len, LS_ERR_FORMAT, "invalid compressed size 0");
    ltx_put_be32(f.p + off2 + 6, real + 3);
    expect_decode(f.p, f.len, LS_ERR_FORMAT, "page 3 at offset");
    ltx_put_be32(f.p + off2 + 6, real - 1);
    expect_decode(f.p, f.len, LS_ERR_FORMAT, "page 3 at offset");
    ltx_put_be32(f.p + off2 + 6, real);
    /* the same frame through random access */
    uint8_t page[512];
    assert_int_equal(ltx_read_page(tbuf_pread, &f, &fi.header, &fi.entries[1], page, NULL), LS_OK);
    ltx_page_index_entry bad = fi.entries[1];
    bad.pgno = 4;
    ls_err e;
    assert_int_equal(ltx_read_page(tbuf_pread, &f, &fi.header, &bad, page, &e), LS_ERR_FORMAT);
    assert_non_null(strstr(e.msg, "holds page 3, the index says 4"));
    bad = fi.entries[1];
    bad.size = 1u << 30;
    assert_int_equal(ltx_read_page(tbuf_pread, &f, &fi.header, &bad, page, &e), LS_ERR_FORMAT);
    assert_non_null(strstr(e.msg, "invalid frame size"));
    bad = fi.entries[1];
    bad.offset = f.len - 20;
    assert_int_equal(ltx_read_page(tbuf_pread, &f, &fi.header, &bad, page, &e), LS_ERR_FORMAT);
    assert_non_null(strstr(e.msg, "unexpected EOF"));
    ltx_file_index_free(&fi);
    tbuf_free(&f);

    /* an LZ4 block that decompresses to less than the page size */
    uint8_t *b = calloc(1, 2048);
    ltx_header_encode(&h, b);
    size_t off = 100;
    ltx_put_be32(b + off, 2);
    ltx_put_be16(b + off + 4, 1);
    int n = LZ4_compress_default((const char *)g_pages[0], (char *)b + off + 10, 256, 1000);
    ltx_put_be32(b + off + 6, (uint32_t)n);
    off += 10 + (size_t)n;
    off += 6; /* terminator; the rest never gets read */
    expect_decode(b, off + 40, LS_ERR_FORMAT, "decompresses to 256 bytes, want page size 512");
    free(b);
}

static void test_bad_legacy_frames(void **state) {
    (void)state;
    init_pages();
    tbuf f;
    ltx_header h = hdr(512, 5, 2, 2, false);
    build(&h, (uint32_t[]){2, 3}, (uint16_t[]){0, 0}, 2, NULL, &f);
    ltx_file_index fi;
    assert_int_equal(ltx_file_index_read(tbuf_pread, &f, f.len, &fi, NULL), LS_OK);
    size_t o = fi.entries[1].offset + 6;
    uint8_t save[8];
    memcpy(save, f.p + o, 8);
    f.p[o] = 0x05; /* magic */
    expect_decode(f.p, f.len, LS_ERR_FORMAT, "not an LZ4 frame");
    memcpy(f.p + o, save, 8);
    f.p[o + 4] ^= 0x80; /* FLG version */
    expect_decode(f.p, f.len, LS_ERR_FORMAT, "LZ4 frame version");
    memcpy(f.p + o, save, 8);
    f.p[o + 4] |= 0x01; /* dictionary id */
    expect_decode(f.p, f.len, LS_ERR_FORMAT, "dictionary");
    memcpy(f.p + o, save, 8);
    f.p[o + 5] = 0x00; /* BD block size id 0 */
    expect_decode(f.p, f.len, LS_ERR_FORMAT, "BD byte");
    memcpy(f.p + o, save, 8);
    /* block size larger than the frame allows (header checksum fixed) */
    uint32_t bs = ltx_le32(f.p + o + 7);
    f.p[o + 7] = 0xFF;
    f.p[o + 8] = 0xFF;
    f.p[o + 9] = 0x00;
    f.p[o + 10] = 0x00;
    expect_decode(f.p, f.len, LS_ERR_FORMAT, "LZ4 frame");
    f.p[o + 7] = (uint8_t)bs;
    f.p[o + 8] = (uint8_t)(bs >> 8);
    f.p[o + 9] = (uint8_t)(bs >> 16);
    f.p[o + 10] = (uint8_t)(bs >> 24);
    expect_decode(f.p, f.len, LS_OK, NULL);
    ltx_file_index_free(&fi);
    tbuf_free(&f);
}

static void test_bad_index(void **state) {
    (void)state;
    init_pages();
    ltx_header h = hdr(512, 5, 2, 2, false);
    tbuf good;
    build(&h, (uint32_t[]){2, 3}, NULL, 2, NULL, &good);
    ltx_file_index fi;
    assert_int_equal(ltx_file_index_read(tbuf_pread, &good, good.len, &fi, NULL), LS_OK);
    uint64_t o1 = fi.entries[0].offset, s1 = fi.entries[0].size;
    uint64_t o2 = fi.entries[1].offset, s2 = fi.entries[1].size;
    ltx_file_index_free(&fi);
    tbuf_free(&good);

    uint8_t idx[64];
    size_t n;
    tbuf f;
#define IDX_BEGIN n = 0
#define V(x) n += ltx_varint_put(idx + n, (x))
#define BUILD(...)                                                      \
    do {                                                                \
        rawopts o = {.index = idx, .index_len = n, __VA_ARGS__};        \
        build(&h, (uint32_t[]){2, 3}, NULL, 2, &o, &f);                 \
    } while (0)

    /* offset beyond EOF */
    IDX_BEGIN;
    V(2); V(o1); V(s1); V(3); V(999999); V(s2); V(0);
    BUILD(.post = 0);
    expect_decode(f.p, f.len, LS_ERR_FORMAT, "does not match the page frames");
    expect_index(&f, LS_ERR_FORMAT, "frame offset is not where");
    tbuf_free(&f);
    /* size too big */
    IDX_BEGIN;
    V(2); V(o1); V(s1); V(3); V(o2); V(s2 + 1000); V(0);
    BUILD(.post = 0);
    expect_decode(f.p, f.len, LS_ERR_FORMAT, "does not match the page frames");
    expect_index(&f, LS_ERR_FORMAT, "page index entry 1");
    tbuf_free(&f);
    /* a missing entry, an extra entry */
    IDX_BEGIN;
    V(2); V(o1); V(s1); V(0);
    BUILD(.post = 0);
    expect_decode(f.p, f.len, LS_ERR_FORMAT, "lists 1 pages, the file has 2");
    expect_index(&f, LS_ERR_FORMAT, "page index describes frames up to offset");
    tbuf_free(&f);
    IDX_BEGIN;
    V(2); V(o1); V(s1); V(3); V(o2); V(s2); V(4); V(o2 + s2); V(10); V(0);
    BUILD(.post = 0);
    expect_decode(f.p, f.len, LS_ERR_FORMAT, "more entries than the file has pages");
    tbuf_free(&f);
    /* 11-byte varint */
    IDX_BEGIN;
    V(2); V(o1); V(s1); V(3); V(o2);
    for (int i = 0; i < 10; i++) idx[n++] = 0x80;
    idx[n++] = 0x01;
    V(0);
    BUILD(.post = 0);
    expect_decode(f.p, f.len, LS_ERR_FORMAT, "varint overflow");
    expect_index(&f, LS_ERR_FORMAT, "varint overflow");
    tbuf_free(&f);
    /* pgno varint beyond 32 bits */
    IDX_BEGIN;
    V(2); V(o1); V(s1); V(0x100000003ULL); V(o2); V(s2); V(0);
    BUILD(.post = 0);
    expect_decode(f.p, f.len, LS_ERR_FORMAT, "too large");
    tbuf_free(&f);
    /* index size field lying */
    IDX_BEGIN;
    V(2); V(o1); V(s1); V(3); V(o2); V(s2); V(0);
    int64_t deltas[] = {1, -1, 1000000, -((int64_t)n)};
    for (size_t i = 0; i < 4; i++) {
        BUILD(.size_field_delta = deltas[i]);
        expect_decode(f.p, f.len, LS_ERR_FORMAT, "page index size field");
        expect_index(&f, LS_ERR_FORMAT, NULL);
        tbuf_free(&f);
    }
    /* the correct index, then trailing garbage, then a bad file checksum */
    BUILD(.trailing = (const uint8_t *)"x", .trailing_len = 1);
    expect_decode(f.p, f.len, LS_ERR_FORMAT, "unexpected data after the LTX trailer");
    tbuf_free(&f);
    BUILD(.bad_checksum = true);
    expect_decode(f.p, f.len, LS_ERR_CHECKSUM, "file checksum mismatch");
    tbuf_free(&f);
    BUILD(.post = 0);
    expect_decode(f.p, f.len, LS_OK, NULL);
    expect_index(&f, LS_OK, NULL);
    tbuf_free(&f);
    /* too-small file for random access */
    uint8_t tiny[40] = "LTX1";
    tbuf t = {tiny, sizeof(tiny)};
    expect_index(&t, LS_ERR_FORMAT, "too small");
#undef V
#undef BUILD
}

static void test_page_index_decode(void **state) {
    (void)state;
    ltx_page_index_entry *e;
    size_t n;
    ls_err err;
    const uint8_t ok[] = {0x01, 0x64, 0x18, 0x02, 0x7C, 0x18, 0x03, 0x94, 0x01, 0x18, 0x00};
    assert_int_equal(ltx_page_index_decode(ok, sizeof(ok), &e, &n, NULL), LS_OK);
    assert_int_equal(n, 3);
    assert_int_equal(e[2].pgno, 3);
    assert_int_equal(e[2].offset, 148);
    assert_int_equal(e[2].size, 24);
    free(e);
    assert_int_equal(ltx_page_index_decode((const uint8_t *)"\0", 1, &e, &n, NULL), LS_OK);
    assert_int_equal(n, 0);
    assert_null(e);
    assert_int_equal(ltx_page_index_decode(ok, 0, &e, &n, &err), LS_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "truncated"));
    assert_int_equal(ltx_page_index_decode(ok, 10, &e, &n, &err), LS_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "no 0 terminator"));
    const uint8_t extra[] = {0x01, 0x64, 0x18, 0x00, 0x05};
    assert_int_equal(ltx_page_index_decode(extra, sizeof(extra), &e, &n, &err), LS_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "unexpected bytes after the terminator"));
    const uint8_t desc[] = {0x02, 0x64, 0x18, 0x01, 0x7C, 0x18, 0x00};
    assert_int_equal(ltx_page_index_decode(desc, sizeof(desc), &e, &n, &err), LS_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "not above the previous"));
    const uint8_t ovf[] = {0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x18, 0x00};
    assert_int_equal(ltx_page_index_decode(ovf, sizeof(ovf), &e, &n, &err), LS_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "varint overflow"));
}

/* Format 1 (raw pages after 4-byte pgnos) and format 2 (LZ4 frames after
 * 4-byte pgnos) are refused as unsupported, not as garbage. */
static void test_old_formats(void **state) {
    (void)state;
    init_pages();
    uint32_t ps = 512;
    ltx_header h = hdr(ps, 3, 1, 1, false);
    h.flags = 0;
    uint8_t *b = calloc(1, 4096);
    ltx_header_encode(&h, b);
    /* v1 with a page 1 that is not "SQLite format 3": structure decides */
    size_t o = 100;
    for (uint32_t p = 1; p <= 3; p++) {
        ltx_put_be32(b + o, p);
        memcpy(b + o + 4, g_pages[p], ps);
        b[o + 4] = 0x12; /* flags 0x12xx */
        o += 4 + ps;
    }
    o += 4 + 16;
    expect_decode(b, o, LS_ERR_UNSUPPORTED, "LTX format version 1");
    /* "SQ" is enough even when the file is cut short */
    memcpy(b + 104, "SQLite format 3", 16);
    expect_decode(b, 150, LS_ERR_UNSUPPORTED, "invalid page header flags: 0x5351");
    /* v2: pgno then an LZ4 frame */
    memset(b + 100, 0, 4096 - 100);
    ltx_put_be32(b + 100, 1);
    LZ4F_preferences_t prefs;
    memset(&prefs, 0, sizeof(prefs));
    size_t n = LZ4F_compressFrame(b + 104, 4096 - 104, g_pages[0], ps, &prefs);
    assert_false(LZ4F_isError(n));
    expect_decode(b, 104 + n + 30, LS_ERR_UNSUPPORTED, "LTX format version 2");
    /* plain garbage flags on the first page stay a format error */
    memset(b + 100, 0, 4096 - 100);
    ltx_put_be32(b + 100, 1);
    ltx_put_be16(b + 104, 0x0100);
    memset(b + 106, 0x77, 600);
    expect_decode(b, 106 + 600, LS_ERR_FORMAT, "invalid page header flags: 0x0100");
    free(b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_raw_builder_valid),
        cmocka_unit_test(test_truncation_every_length),
        cmocka_unit_test(test_bit_flips),
        cmocka_unit_test(test_bad_header),
        cmocka_unit_test(test_bad_page_order),
        cmocka_unit_test(test_bad_page_headers),
        cmocka_unit_test(test_bad_legacy_frames),
        cmocka_unit_test(test_bad_index),
        cmocka_unit_test(test_page_index_decode),
        cmocka_unit_test(test_old_formats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
