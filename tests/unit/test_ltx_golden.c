/* Golden LTX files: ../shared/testdata/golden (Python-made, D1-D5, the
 * format-1 file A1) and ../shared/testdata/golden-go (written by the Go ltx
 * v0.5.2 library). Every value checked here is listed in the folders'
 * MANIFEST.md files. */
#include "test_ltx_util.h"

#include <inttypes.h>

typedef struct gframe {
    int idx;          /* position in the file (0-based frame number) */
    uint32_t pgno;
    uint16_t flags;
    uint64_t off, fsize; /* frame offset and size */
    uint64_t csum;    /* per-page checksum, 0 = not listed */
    uint32_t liblz4;  /* LZ4_compress_default block size, 0 = not listed */
} gframe;

typedef struct gexp {
    const char *path;
    size_t size;
    ltx_header h;
    size_t npages;
    gframe frames[6];
    size_t nframes;
    uint64_t index_at, index_size;
    uint64_t post, fc;
    const char *db;        /* pages equal this database's pages (or NULL) */
    uint64_t sum_blocks;   /* sum of block sizes (0 = not listed) */
    uint64_t sum_liblz4;   /* what LZ4_compress_default gives in total */
} gexp;

#define TS_D2 1700000000000LL
#define TS_D3 1700000001000LL
#define SALT1 0x4875a40bu
#define SALT2 0xa38de4f5u

static const gexp golden[] = {
    /* ---- golden/ (Python reference encoder, liblz4 blocks) ---- */
    {"testdata/golden/ltx-v3-synthetic-snapshot-checksummed.ltx", 213,
     {.flags = 0, .page_size = 1024, .commit = 3, .min_txid = 1, .max_txid = 1, .timestamp = 1000},
     3, {{0, 1, 1, 100, 24, 0, 14}, {1, 2, 1, 124, 24, 0, 14}, {2, 3, 1, 148, 24, 0, 14}}, 3,
     178, 11, 0x8a249272ad9f7deaULL, 0xe4c3b9620d4ec6b6ULL, NULL, 0, 0},
    {"testdata/golden/ltx-v3-synthetic-l0-0000000000000001-0000000000000001.ltx", 316,
     {.flags = 2, .page_size = 4096, .commit = 2, .min_txid = 1, .max_txid = 1,
      .timestamp = TS_D2, .wal_offset = 32, .wal_size = 8240, .wal_salt1 = SALT1,
      .wal_salt2 = SALT2},
     2, {{0, 1, 1, 100, 133, 0, 123}, {1, 2, 1, 233, 44, 0, 34}}, 2, 283, 9, 0,
     0xca7c70120cbe5043ULL, NULL, 0, 0},
    {"testdata/golden/ltx-v3-synthetic-l0-0000000000000002-0000000000000002.ltx", 180,
     {.flags = 2, .page_size = 4096, .commit = 2, .min_txid = 2, .max_txid = 2,
      .timestamp = TS_D3, .wal_offset = 8272, .wal_size = 4120, .wal_salt1 = SALT1,
      .wal_salt2 = SALT2},
     1, {{0, 2, 1, 100, 46, 0, 36}}, 1, 152, 4, 0, 0x979623856c06c3ebULL, NULL, 0, 0},
    {"testdata/golden/ltx-v3-synthetic-l1-0000000000000001-0000000000000002.ltx", 318,
     {.flags = 2, .page_size = 4096, .commit = 2, .min_txid = 1, .max_txid = 2,
      .timestamp = TS_D3},
     2, {{0, 1, 1, 100, 133, 0, 123}, {1, 2, 1, 233, 46, 0, 36}}, 2, 285, 9, 0,
     0x8be4e28e84268691ULL, NULL, 0, 0},
    {"testdata/golden/ltx-v3-legacyframe-synthetic-l0-0000000000000001-0000000000000001.ltx", 346,
     {.flags = 2, .page_size = 4096, .commit = 2, .min_txid = 1, .max_txid = 1,
      .timestamp = TS_D2, .wal_offset = 32, .wal_size = 8240, .wal_salt1 = SALT1,
      .wal_salt2 = SALT2},
     2, {{0, 1, 0, 100, 148, 0, 123}, {1, 2, 0, 248, 59, 0, 34}}, 2, 313, 9, 0,
     0xc67bda5f4f94768eULL, NULL, 0, 0},
    /* ---- golden-go/ (Go ltx v0.5.2, pierrec/lz4 blocks) ---- */
    {"testdata/golden-go/encdb-4096-3pages.ltx", 520,
     {.flags = 0, .page_size = 4096, .commit = 3, .min_txid = 1, .max_txid = 1,
      .timestamp = 1795317740771LL},
     3,
     {{0, 1, 1, 100, 218, 0x8fe473cdcc854ce0ULL, 206},
      {1, 2, 1, 318, 80, 0xd09b4653d1945a70ULL, 69},
      {2, 3, 1, 398, 79, 0xfac5a5789cfaa936ULL, 68}},
     3, 483, 13, 0xa5ba90e681ebbfa6ULL, 0x969e45f13eb1eac9ULL,
     "testdata/golden-go/db-4096-3pages.db", 0, 0},
    {"testdata/golden-go/encdb-1024-3pages.ltx", 467,
     {.flags = 0, .page_size = 1024, .commit = 3, .min_txid = 1, .max_txid = 1,
      .timestamp = 1795317740775LL},
     3,
     {{0, 1, 1, 100, 191, 0xdb547f562c4ce6d2ULL, 177},
      {1, 2, 1, 291, 78, 0x9754ffaf479b85caULL, 60},
      {2, 3, 1, 369, 55, 0xd17925e7f73bcc3cULL, 38}},
     3, 430, 13, 0x9d79a51e9cecaf24ULL, 0xd761485d818279c4ULL,
     "testdata/golden-go/db-1024-3pages.db", 0, 0},
    {"testdata/golden-go/encdb-4096-302pages.ltx", 73952,
     {.flags = 0, .page_size = 4096, .commit = 302, .min_txid = 1, .max_txid = 1,
      .timestamp = 1795317763077LL},
     302,
     {{0, 1, 1, 100, 176, 0, 0}, {1, 2, 1, 276, 2416, 0, 0}, {2, 3, 1, 2692, 229, 0, 0},
      {300, 301, 1, 71526, 231, 0, 0}, {301, 302, 1, 71757, 240, 0, 0}},
     5, 72003, 1925, 0x9e96322d829142e9ULL, 0xf23a602c78580affULL,
     "testdata/golden-go/db-4096-302pages.db", 68877, 65753},
    {"testdata/golden-go/twin-D1-snapshot-checksummed.ltx", 250,
     {.flags = 0, .page_size = 1024, .commit = 3, .min_txid = 1, .max_txid = 1, .timestamp = 1000},
     3,
     {{0, 1, 1, 100, 36, 0xeb953fc47685d740ULL, 14},
      {1, 2, 1, 136, 36, 0xf947c91f1baa28bfULL, 14},
      {2, 3, 1, 172, 36, 0x98f664a9c0b08215ULL, 14}},
     3, 214, 12, 0x8a249272ad9f7deaULL, 0xe0da9133f0c345b8ULL, NULL, 0, 0},
    {"testdata/golden-go/twin-D2-l0-0000000000000001-0000000000000001.ltx", 330,
     {.flags = 2, .page_size = 4096, .commit = 2, .min_txid = 1, .max_txid = 1,
      .timestamp = TS_D2, .wal_offset = 32, .wal_size = 8240, .wal_salt1 = SALT1,
      .wal_salt2 = SALT2},
     2,
     {{0, 1, 1, 100, 135, 0xe392db7940edfa9aULL, 123},
      {1, 2, 1, 235, 56, 0xa3bf9c94c1b7b9dbULL, 34}},
     2, 297, 9, 0, 0x9fef78e024ccb1feULL, NULL, 0, 0},
    {"testdata/golden-go/twin-D3-l0-0000000000000002-0000000000000002.ltx", 191,
     {.flags = 2, .page_size = 4096, .commit = 2, .min_txid = 2, .max_txid = 2,
      .timestamp = TS_D3, .wal_offset = 8272, .wal_size = 4120, .wal_salt1 = SALT1,
      .wal_salt2 = SALT2},
     1, {{0, 2, 1, 100, 57, 0xc6e70e7fb9aa1f23ULL, 36}}, 1, 163, 4, 0,
     0xef2b67f325d09c41ULL, NULL, 0, 0},
    {"testdata/golden-go/twin-D4-l1-0000000000000001-0000000000000002.ltx", 331,
     {.flags = 2, .page_size = 4096, .commit = 2, .min_txid = 1, .max_txid = 2,
      .timestamp = TS_D3},
     2,
     {{0, 1, 1, 100, 135, 0xe392db7940edfa9aULL, 123},
      {1, 2, 1, 235, 57, 0xc6e70e7fb9aa1f23ULL, 36}},
     2, 298, 9, 0, 0xb3c70cc11c3b366fULL, NULL, 0, 0},
    {"testdata/golden-go/delta-4096-4pages-0000000000000002-0000000000000002.ltx", 626,
     {.flags = 0, .page_size = 4096, .commit = 4, .min_txid = 2, .max_txid = 2,
      .timestamp = 1700000100000LL, .pre_apply_checksum = 0xa5ba90e681ebbfa6ULL},
     4,
     {{0, 1, 1, 100, 237, 0xf3a97f247c5a428dULL, 224},
      {1, 2, 1, 337, 93, 0xabe324d6b2f0efd0ULL, 83},
      {2, 3, 1, 430, 92, 0xc7a152f5402af337ULL, 81},
      {3, 4, 1, 522, 57, 0xcf822c43820fbf26ULL, 36}},
     4, 585, 17, 0xd06925440c8fe14cULL, 0xd1d07e7363e56f67ULL,
     "testdata/golden-go/db-4096-4pages-txid2.db", 0, 0},
    {"testdata/golden-go/delta-4096-302pages-0000000000000002-0000000000000002.ltx", 816,
     {.flags = 0, .page_size = 4096, .commit = 302, .min_txid = 2, .max_txid = 2,
      .timestamp = 1700000200000LL, .pre_apply_checksum = 0x9e96322d829142e9ULL},
     3,
     {{0, 1, 1, 100, 176, 0xe7b976bef42d7493ULL, 163},
      {1, 145, 1, 276, 248, 0xec084dbf07e64411ULL, 228},
      {2, 146, 1, 524, 245, 0xee341c862a6a6ab9ULL, 225}},
     3, 775, 17, 0x83f8d0b42b61720eULL, 0x8ba9644aa53ab689ULL, NULL, 0, 0},
    {"testdata/golden-go/compact-4096-4pages-l1-0000000000000001-0000000000000002.ltx", 626,
     {.flags = 0, .page_size = 4096, .commit = 4, .min_txid = 1, .max_txid = 2,
      .timestamp = 1700000100000LL},
     4,
     {{0, 1, 1, 100, 237, 0xf3a97f247c5a428dULL, 224},
      {1, 2, 1, 337, 93, 0xabe324d6b2f0efd0ULL, 83},
      {2, 3, 1, 430, 92, 0xc7a152f5402af337ULL, 81},
      {3, 4, 1, 522, 57, 0xcf822c43820fbf26ULL, 36}},
     4, 585, 17, 0xd06925440c8fe14cULL, 0xc72ad64083aa1c91ULL,
     "testdata/golden-go/db-4096-4pages-txid2.db", 0, 0},
    {"testdata/golden-go/compact-4096-302pages-l1-0000000000000001-0000000000000002.ltx", 73982,
     {.flags = 0, .page_size = 4096, .commit = 302, .min_txid = 1, .max_txid = 2,
      .timestamp = 1700000200000LL},
     302,
     {{0, 1, 1, 100, 176, 0, 0}, {1, 2, 1, 276, 2416, 0, 0}, {2, 3, 1, 2692, 229, 0, 0},
      {300, 301, 1, 71556, 231, 0, 0}, {301, 302, 1, 71787, 240, 0, 0}},
     5, 72033, 1925, 0x83f8d0b42b61720eULL, 0x87020c884f45dcc0ULL, NULL, 68907, 65783},
};
#define NGOLDEN (sizeof(golden) / sizeof(golden[0]))

static unsigned char *read_shared(const char *rel, size_t *len) {
    char *p = lst_shared_path(rel);
    assert_non_null(p);
    unsigned char *b = lst_read_file(p, len);
    free(p);
    return b;
}

/* Decodes, checks every listed value, re-encodes with our encoder and checks
 * that our decoder reads back the same header and pages. */
static void check_golden(const gexp *g) {
    size_t len;
    unsigned char *buf = read_shared(g->path, &len);
    assert_int_equal(len, g->size);
    tdecoded d;
    ls_err e;
    if (dec_file(buf, len, &d, &e) != LS_OK) fail_msg("%s: %s", g->path, e.msg);
    assert_header_equal(&d.h, &g->h);
    assert_int_equal(d.n, g->npages);
    assert_true(d.t.post_apply_checksum == g->post);
    assert_true(d.t.file_checksum == g->fc);
    uint32_t ps = g->h.page_size;

    /* frames through the random-access index */
    tbuf tb = {buf, len};
    ltx_file_index fi;
    if (ltx_file_index_read(tbuf_pread, &tb, len, &fi, &e) != LS_OK)
        fail_msg("%s: %s", g->path, e.msg);
    assert_int_equal(fi.n, g->npages);
    assert_int_equal(fi.index_offset, g->index_at);
    assert_int_equal(fi.index_size, g->index_size);
    assert_true(fi.trailer.file_checksum == g->fc);
    uint8_t *page = malloc(ps);
    uint64_t sum_blocks = 0;
    for (size_t i = 0; i < fi.n; i++) {
        assert_int_equal(fi.entries[i].pgno, d.pgnos[i]);
        if (ltx_read_page(tbuf_pread, &tb, &fi.header, &fi.entries[i], page, &e) != LS_OK)
            fail_msg("%s: %s", g->path, e.msg);
        assert_memory_equal(page, d.pages + i * ps, ps);
        sum_blocks += fi.entries[i].size - 10;
    }
    if (g->sum_blocks) assert_int_equal(sum_blocks, g->sum_blocks);
    for (size_t k = 0; k < g->nframes; k++) {
        const gframe *f = &g->frames[k];
        const ltx_page_index_entry *ie = &fi.entries[f->idx];
        assert_int_equal(ie->pgno, f->pgno);
        assert_int_equal(ie->offset, f->off);
        assert_int_equal(ie->size, f->fsize);
        assert_int_equal(ltx_be16(buf + f->off + 4), f->flags);
        if (f->flags == 1) assert_int_equal(ltx_be32(buf + f->off + 6), f->fsize - 10);
        if (f->csum)
            assert_true(ltx_page_checksum(f->pgno, d.pages + (size_t)f->idx * ps, ps) == f->csum);
    }
    /* end marker right before the index; trailer = last 16 bytes */
    assert_memory_equal(buf + g->index_at - 6, "\0\0\0\0\0\0", 6);
    assert_true(ltx_be64(buf + len - 16) == g->post);
    assert_true(ltx_be64(buf + len - 8) == g->fc);
    assert_true(ltx_be64(buf + len - 24) == g->index_size);

    /* snapshot rule: XOR of page checksums = post-apply (checksummed) */
    if (ltx_header_is_snapshot(&g->h) && ltx_header_has_checksum(&g->h)) {
        uint64_t c = LTX_EMPTY_CHECKSUM;
        for (size_t i = 0; i < d.n; i++)
            c = ltx_checksum_fold(c, ltx_page_checksum(d.pgnos[i], d.pages + i * ps, ps));
        assert_true(c == g->post);
    }
    /* decoded pages equal the database's pages */
    if (g->db) {
        size_t dblen;
        unsigned char *db = read_shared(g->db, &dblen);
        assert_int_equal(dblen, (size_t)g->h.commit * ps);
        for (size_t i = 0; i < d.n; i++)
            assert_memory_equal(d.pages + i * ps, db + (size_t)(d.pgnos[i] - 1) * ps, ps);
        free(db);
    }

    /* re-encode with our encoder: liblz4 block sizes, decodes to the same */
    tbuf re = {0};
    if (enc_file(&d.h, d.pgnos, d.pages, d.n, d.t.post_apply_checksum, &re, &e) != LS_OK)
        fail_msg("%s: re-encode: %s", g->path, e.msg);
    tdecoded d2;
    if (dec_file(re.p, re.len, &d2, &e) != LS_OK) fail_msg("%s: re-decode: %s", g->path, e.msg);
    assert_header_equal(&d2.h, &d.h);
    assert_int_equal(d2.n, d.n);
    assert_memory_equal(d2.pgnos, d.pgnos, d.n * sizeof(uint32_t));
    assert_memory_equal(d2.pages, d.pages, d.n * ps);
    assert_true(d2.t.post_apply_checksum == d.t.post_apply_checksum);
    ltx_file_index fi2;
    assert_int_equal(ltx_file_index_read(tbuf_pread, &re, re.len, &fi2, NULL), LS_OK);
    uint64_t sum2 = 0;
    for (size_t i = 0; i < fi2.n; i++) sum2 += fi2.entries[i].size - 10;
    for (size_t k = 0; k < g->nframes; k++)
        if (g->frames[k].liblz4)
            assert_int_equal(fi2.entries[g->frames[k].idx].size - 10, g->frames[k].liblz4);
    if (g->sum_liblz4) assert_int_equal(sum2, g->sum_liblz4);
    /* files made by the Python encoder (liblz4, block pages) are byte-equal
     * to our re-encoding */
    if (strstr(g->path, "golden/ltx-v3-synthetic")) {
        assert_int_equal(re.len, len);
        assert_memory_equal(re.p, buf, len);
    }
    ltx_file_index_free(&fi2);
    tdecoded_free(&d2);
    tbuf_free(&re);
    free(page);
    ltx_file_index_free(&fi);
    tdecoded_free(&d);
    free(buf);
}

static void test_golden_files(void **state) {
    (void)state;
    LST_REQUIRE_SHARED();
    for (size_t i = 0; i < NGOLDEN; i++) check_golden(&golden[i]);
}

/* WAL@32, WAL@4152, WAL@8272 of golden/wal-ok.wal = the pages of D2-D5. */
static void test_golden_pages_from_wal(void **state) {
    (void)state;
    LST_REQUIRE_SHARED();
    size_t wl;
    unsigned char *wal = read_shared("testdata/golden/wal-ok.wal", &wl);
    assert_int_equal(wl, 12392);
    const uint8_t *w32 = wal + 32 + 24, *w4152 = wal + 4152 + 24, *w8272 = wal + 8272 + 24;
    const char *files[] = {
        "testdata/golden/ltx-v3-synthetic-l0-0000000000000001-0000000000000001.ltx",
        "testdata/golden/ltx-v3-legacyframe-synthetic-l0-0000000000000001-0000000000000001.ltx",
        "testdata/golden-go/twin-D2-l0-0000000000000001-0000000000000001.ltx",
        "testdata/golden/ltx-v3-synthetic-l0-0000000000000002-0000000000000002.ltx",
        "testdata/golden-go/twin-D3-l0-0000000000000002-0000000000000002.ltx",
        "testdata/golden/ltx-v3-synthetic-l1-0000000000000001-0000000000000002.ltx",
        "testdata/golden-go/twin-D4-l1-0000000000000001-0000000000000002.ltx",
    };
    const uint8_t *want[][2] = {{w32, w4152}, {w32, w4152}, {w32, w4152}, {w8272, NULL},
                                {w8272, NULL}, {w32, w8272}, {w32, w8272}};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        size_t len;
        unsigned char *b = read_shared(files[i], &len);
        tdecoded d;
        ls_err e;
        if (dec_file(b, len, &d, &e) != LS_OK) fail_msg("%s: %s", files[i], e.msg);
        for (size_t k = 0; k < d.n; k++) assert_memory_equal(d.pages + k * 4096, want[i][k], 4096);
        tdecoded_free(&d);
        free(b);
    }
    free(wal);
}

static ls_code compact_files(const char **rel, size_t n, uint32_t flags, tbuf *out,
                             ltx_header *oh, ls_err *e) {
    unsigned char **bufs = calloc(n, sizeof(*bufs));
    ls_reader **r = calloc(n, sizeof(*r));
    for (size_t i = 0; i < n; i++) {
        size_t len;
        bufs[i] = read_shared(rel[i], &len);
        r[i] = ls_reader_mem(bufs[i], len);
    }
    ls_writer *w = ls_writer_mem();
    ls_code rc = ltx_compact(r, n, flags, w, oh, e);
    if (rc == LS_OK) {
        size_t len;
        const uint8_t *p = ls_writer_mem_data(w, &len);
        out->p = malloc(len);
        memcpy(out->p, p, len);
        out->len = len;
    }
    ls_writer_close(w);
    for (size_t i = 0; i < n; i++) {
        ls_reader_close(r[i]);
        free(bufs[i]);
    }
    free(r);
    free(bufs);
    return rc;
}

/* Our compactor reproduces the golden compactions: header and pages (and,
 * for D4 made with liblz4, every byte). */
static void test_golden_compaction(void **state) {
    (void)state;
    LST_REQUIRE_SHARED();
    struct {
        const char *in[2];
        uint32_t flags;
        const char *want;
        bool bytes_equal;
    } cases[] = {
        {{"testdata/golden/ltx-v3-synthetic-l0-0000000000000001-0000000000000001.ltx",
          "testdata/golden/ltx-v3-synthetic-l0-0000000000000002-0000000000000002.ltx"},
         LTX_FLAG_NO_CHECKSUM,
         "testdata/golden/ltx-v3-synthetic-l1-0000000000000001-0000000000000002.ltx", true},
        {{"testdata/golden/ltx-v3-legacyframe-synthetic-l0-0000000000000001-0000000000000001.ltx",
          "testdata/golden/ltx-v3-synthetic-l0-0000000000000002-0000000000000002.ltx"},
         LTX_FLAG_NO_CHECKSUM,
         "testdata/golden/ltx-v3-synthetic-l1-0000000000000001-0000000000000002.ltx", true},
        {{"testdata/golden-go/twin-D2-l0-0000000000000001-0000000000000001.ltx",
          "testdata/golden-go/twin-D3-l0-0000000000000002-0000000000000002.ltx"},
         LTX_FLAG_NO_CHECKSUM,
         "testdata/golden-go/twin-D4-l1-0000000000000001-0000000000000002.ltx", false},
        {{"testdata/golden-go/encdb-4096-3pages.ltx",
          "testdata/golden-go/delta-4096-4pages-0000000000000002-0000000000000002.ltx"},
         0, "testdata/golden-go/compact-4096-4pages-l1-0000000000000001-0000000000000002.ltx",
         false},
        {{"testdata/golden-go/encdb-4096-302pages.ltx",
          "testdata/golden-go/delta-4096-302pages-0000000000000002-0000000000000002.ltx"},
         0, "testdata/golden-go/compact-4096-302pages-l1-0000000000000001-0000000000000002.ltx",
         false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tbuf out = {0};
        ltx_header oh;
        ls_err e;
        if (compact_files(cases[i].in, 2, cases[i].flags, &out, &oh, &e) != LS_OK)
            fail_msg("case %zu: %s", i, e.msg);
        size_t wl;
        unsigned char *want = read_shared(cases[i].want, &wl);
        tdecoded a, b;
        assert_int_equal(dec_file(out.p, out.len, &a, NULL), LS_OK);
        assert_int_equal(dec_file(want, wl, &b, NULL), LS_OK);
        assert_header_equal(&oh, &b.h);
        assert_header_equal(&a.h, &b.h);
        assert_int_equal(a.n, b.n);
        assert_memory_equal(a.pgnos, b.pgnos, a.n * sizeof(uint32_t));
        assert_memory_equal(a.pages, b.pages, a.n * a.h.page_size);
        assert_true(a.t.post_apply_checksum == b.t.post_apply_checksum);
        if (cases[i].bytes_equal) {
            assert_int_equal(out.len, wl);
            assert_memory_equal(out.p, want, wl);
        }
        tdecoded_free(&a);
        tdecoded_free(&b);
        free(want);
        tbuf_free(&out);
    }
}

/* Applying chains of files (what restore does) gives the databases and
 * database checksums the MANIFESTs list. */
static void apply_chain(const char **rel, size_t n, uint8_t **db_out, size_t *db_len,
                        uint64_t *sum) {
    unsigned char **bufs = calloc(n, sizeof(*bufs));
    ls_reader **r = calloc(n, sizeof(*r));
    for (size_t i = 0; i < n; i++) {
        size_t len;
        bufs[i] = read_shared(rel[i], &len);
        r[i] = ls_reader_mem(bufs[i], len);
    }
    ltx_merger *m;
    ls_err e;
    if (ltx_merger_open(&m, r, n, &e) != LS_OK) fail_msg("%s", e.msg);
    const ltx_header *h = ltx_merger_header(m);
    size_t len = (size_t)h->commit * h->page_size;
    uint8_t *db = calloc(1, len ? len : 1);
    for (;;) {
        uint32_t pgno;
        const uint8_t *page;
        bool done;
        if (ltx_merger_next(m, &pgno, &page, &done, &e) != LS_OK) fail_msg("%s", e.msg);
        if (done) break;
        memcpy(db + (size_t)(pgno - 1) * h->page_size, page, h->page_size);
    }
    if (ltx_merger_close(m, NULL, &e) != LS_OK) fail_msg("%s", e.msg);
    assert_int_equal(ltx_db_checksum(db, len, h->page_size, sum, NULL), LS_OK);
    ltx_merger_free(m);
    for (size_t i = 0; i < n; i++) {
        ls_reader_close(r[i]);
        free(bufs[i]);
    }
    free(r);
    free(bufs);
    *db_out = db;
    *db_len = len;
}

static void test_golden_apply(void **state) {
    (void)state;
    LST_REQUIRE_SHARED();
#define G "testdata/golden/"
#define GG "testdata/golden-go/"
    struct {
        const char *in[2];
        size_t n;
        uint64_t sum;
        const char *db;
    } cases[] = {
        {{G "ltx-v3-synthetic-l0-0000000000000001-0000000000000001.ltx"}, 1,
         0xc02d47ed815a4341ULL, NULL},
        {{G "ltx-v3-synthetic-l0-0000000000000001-0000000000000001.ltx",
          G "ltx-v3-synthetic-l0-0000000000000002-0000000000000002.ltx"},
         2, 0xa575d506f947e5b9ULL, NULL},
        {{G "ltx-v3-synthetic-l1-0000000000000001-0000000000000002.ltx"}, 1,
         0xa575d506f947e5b9ULL, NULL},
        {{G "ltx-v3-legacyframe-synthetic-l0-0000000000000001-0000000000000001.ltx"}, 1,
         0xc02d47ed815a4341ULL, NULL},
        {{GG "twin-D2-l0-0000000000000001-0000000000000001.ltx"}, 1, 0xc02d47ed815a4341ULL, NULL},
        {{GG "twin-D2-l0-0000000000000001-0000000000000001.ltx",
          GG "twin-D3-l0-0000000000000002-0000000000000002.ltx"},
         2, 0xa575d506f947e5b9ULL, NULL},
        {{GG "twin-D4-l1-0000000000000001-0000000000000002.ltx"}, 1, 0xa575d506f947e5b9ULL, NULL},
        {{GG "encdb-4096-3pages.ltx"}, 1, 0xa5ba90e681ebbfa6ULL, GG "db-4096-3pages.db"},
        {{GG "encdb-1024-3pages.ltx"}, 1, 0x9d79a51e9cecaf24ULL, GG "db-1024-3pages.db"},
        {{GG "encdb-4096-302pages.ltx"}, 1, 0x9e96322d829142e9ULL, GG "db-4096-302pages.db"},
        {{GG "encdb-4096-3pages.ltx",
          GG "delta-4096-4pages-0000000000000002-0000000000000002.ltx"},
         2, 0xd06925440c8fe14cULL, GG "db-4096-4pages-txid2.db"},
        {{GG "compact-4096-4pages-l1-0000000000000001-0000000000000002.ltx"}, 1,
         0xd06925440c8fe14cULL, GG "db-4096-4pages-txid2.db"},
        {{GG "encdb-4096-302pages.ltx",
          GG "delta-4096-302pages-0000000000000002-0000000000000002.ltx"},
         2, 0x83f8d0b42b61720eULL, NULL},
        {{GG "compact-4096-302pages-l1-0000000000000001-0000000000000002.ltx"}, 1,
         0x83f8d0b42b61720eULL, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t *db;
        size_t len;
        uint64_t sum;
        apply_chain(cases[i].in, cases[i].n, &db, &len, &sum);
        if (sum != cases[i].sum)
            fail_msg("case %zu: checksum %016" PRIx64 ", want %016" PRIx64, i, sum, cases[i].sum);
        if (cases[i].db) {
            size_t wl;
            unsigned char *want = read_shared(cases[i].db, &wl);
            assert_int_equal(len, wl);
            assert_memory_equal(db, want, wl);
            free(want);
        }
        free(db);
    }
}

/* Database checksums of the .db fixtures (ltx checksum / spec 1.14.5). */
static void test_golden_db_checksums(void **state) {
    (void)state;
    LST_REQUIRE_SHARED();
    struct { const char *db; uint32_t ps; uint64_t sum; } cases[] = {
        {"testdata/golden-go/db-4096-3pages.db", 4096, 0xa5ba90e681ebbfa6ULL},
        {"testdata/golden-go/db-1024-3pages.db", 1024, 0x9d79a51e9cecaf24ULL},
        {"testdata/golden-go/db-4096-302pages.db", 4096, 0x9e96322d829142e9ULL},
        {"testdata/golden-go/db-4096-4pages-txid2.db", 4096, 0xd06925440c8fe14cULL},
        {"testdata/golden/sqlite-10pages-after-ltx-v1.db", 4096, 0xfe3831a381c602b9ULL},
        {"testdata/golden/v03-replica-expected-restore.db", 4096, 0x941778235a7c3a47ULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t len;
        unsigned char *db = read_shared(cases[i].db, &len);
        uint64_t sum;
        assert_int_equal(ltx_db_checksum(db, len, cases[i].ps, &sum, NULL), LS_OK);
        if (sum != cases[i].sum) fail_msg("%s: %016" PRIx64, cases[i].db, sum);
        char *p = lst_shared_path(cases[i].db);
        ls_reader *r;
        assert_int_equal(ls_reader_file(p, &r, NULL), LS_OK);
        uint64_t sum2;
        assert_int_equal(ltx_db_checksum_reader(r, cases[i].ps, &sum2, NULL, NULL), LS_OK);
        assert_true(sum2 == sum);
        ls_reader_close(r);
        free(p);
        free(db);
    }
}

/* A1: the Go-written format-1 file. Our decoder refuses it clearly; its raw
 * structure still validates the CRC parameters against real Go output. */
static void test_golden_format1(void **state) {
    (void)state;
    LST_REQUIRE_SHARED();
    size_t len;
    unsigned char *b = read_shared("testdata/golden/ltx-v1-legacy-000000000000000d-000000000000000d.ltx", &len);
    assert_int_equal(len, 12420);
    ltx_header h;
    assert_int_equal(ltx_header_decode(b, &h, NULL), LS_OK);
    assert_int_equal(h.flags, 0);
    assert_int_equal(h.page_size, 4096);
    assert_int_equal(h.commit, 10);
    assert_true(h.min_txid == 13 && h.max_txid == 13);
    assert_true(h.timestamp == 0);
    assert_true(h.pre_apply_checksum == 0x9c74a15b4e4f246cULL);
    assert_true(h.wal_offset == 0 && h.wal_size == 0 && h.node_id == 0);
    /* v1 file checksum rule: CRC of every byte but the last 8 */
    assert_true((LTX_CHECKSUM_FLAG | ltx_crc64(0, b, len - 8)) == 0x9496a29358326fb5ULL);
    assert_true(ltx_be64(b + len - 8) == 0x9496a29358326fb5ULL);
    assert_true(ltx_be64(b + len - 16) == 0xfe3831a381c602b9ULL);
    /* pages 1, 7, 8 raw at 100, 4200, 8300 = database pages */
    size_t dl;
    unsigned char *db = read_shared("testdata/golden/sqlite-10pages-after-ltx-v1.db", &dl);
    uint32_t pg[] = {1, 7, 8};
    size_t off[] = {100, 4200, 8300};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ltx_be32(b + off[i]), pg[i]);
        assert_memory_equal(b + off[i] + 4, db + (size_t)(pg[i] - 1) * 4096, 4096);
    }
    free(db);

    tdecoded d;
    ls_err e;
    assert_int_equal(dec_file(b, len, &d, &e), LS_ERR_UNSUPPORTED);
    assert_non_null(strstr(e.msg, "format version 1"));
    assert_non_null(strstr(e.msg, "not supported"));
    assert_non_null(strstr(e.msg, "invalid page header flags: 0x5351"));
    tdecoded_free(&d);
    /* random access: no page index, the tail is page data */
    tbuf tb = {b, len};
    ltx_file_index fi;
    assert_int_not_equal(ltx_file_index_read(tbuf_pread, &tb, len, &fi, &e), LS_OK);
    /* a compressed v1 file (header flag 0x1) is refused at the header */
    b[7] = 0x01;
    assert_int_equal(dec_file(b, len, &d, &e), LS_ERR_UNSUPPORTED);
    assert_non_null(strstr(e.msg, "format version"));
    assert_non_null(strstr(e.msg, "1"));
    tdecoded_free(&d);
    free(b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_files),
        cmocka_unit_test(test_golden_pages_from_wal),
        cmocka_unit_test(test_golden_compaction),
        cmocka_unit_test(test_golden_apply),
        cmocka_unit_test(test_golden_db_checksums),
        cmocka_unit_test(test_golden_format1),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
