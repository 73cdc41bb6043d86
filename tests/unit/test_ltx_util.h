/*
 * tests/unit/test_ltx_util.h — helpers for the test_ltx*.c files (header-only,
 * static functions): building LTX files in memory, a pread over a buffer,
 * decoding a whole file into a page list.
 */
#ifndef LS_TEST_LTX_UTIL_H
#define LS_TEST_LTX_UTIL_H

#include "testlib.h"

#include <lz4.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ltx/ltx.h"
#include "ltx/ltx_internal.h"

/* A memory buffer owned by the test. */
typedef struct tbuf {
    uint8_t *p;
    size_t len;
} tbuf;

static inline void tbuf_free(tbuf *b) {
    free(b->p);
    b->p = NULL;
    b->len = 0;
}

/* pread over a tbuf */
static inline ls_code tbuf_pread(void *ctx, void *buf, size_t len, uint64_t off, size_t *nread,
                          ls_err *err) {
    (void)err;
    tbuf *b = ctx;
    if (off >= b->len) {
        *nread = 0;
        return LS_OK;
    }
    size_t n = b->len - (size_t)off < len ? b->len - (size_t)off : len;
    memcpy(buf, b->p + off, n);
    *nread = n;
    return LS_OK;
}

/* Field-wise header comparison (structs have padding). */
#define assert_header_equal(a, b) assert_header_equal_((a), (b), __FILE__, __LINE__)
static inline void assert_header_equal_(const ltx_header *a, const ltx_header *b,
                                        const char *file, int line) {
    if (a->flags != b->flags || a->page_size != b->page_size || a->commit != b->commit ||
        a->min_txid != b->min_txid || a->max_txid != b->max_txid ||
        a->timestamp != b->timestamp || a->pre_apply_checksum != b->pre_apply_checksum ||
        a->wal_offset != b->wal_offset || a->wal_size != b->wal_size ||
        a->wal_salt1 != b->wal_salt1 || a->wal_salt2 != b->wal_salt2 || a->node_id != b->node_id)
        fail_msg("%s:%d: headers differ (flags %x/%x ps %u/%u commit %u/%u txid %llu-%llu/"
                 "%llu-%llu ts %lld/%lld)",
                 file, line, a->flags, b->flags, a->page_size, b->page_size, a->commit,
                 b->commit, (unsigned long long)a->min_txid, (unsigned long long)a->max_txid,
                 (unsigned long long)b->min_txid, (unsigned long long)b->max_txid,
                 (long long)a->timestamp, (long long)b->timestamp);
}

/* Encodes pages (pgnos[i], data + i*page_size) with our encoder. */
static inline ls_code enc_file(const ltx_header *h, const uint32_t *pgnos, const uint8_t *data, size_t n,
                        uint64_t post, tbuf *out, ls_err *err) {
    ls_writer *w = ls_writer_mem();
    ltx_encoder *e = NULL;
    ls_code rc = ltx_encoder_open(&e, h, w, err);
    for (size_t i = 0; rc == LS_OK && i < n; i++)
        rc = ltx_encoder_write_page(e, pgnos[i], data + i * h->page_size, err);
    if (rc == LS_OK) rc = ltx_encoder_close(e, post, err);
    if (rc == LS_OK) {
        size_t len;
        const uint8_t *p = ls_writer_mem_data(w, &len);
        out->p = malloc(len ? len : 1);
        memcpy(out->p, p, len);
        out->len = len;
        assert_int_equal(ltx_encoder_bytes_written(e), len);
    }
    ltx_encoder_free(e);
    ls_writer_close(w);
    return rc;
}

/* Result of decoding a whole file. */
typedef struct tdecoded {
    ltx_header h;
    ltx_trailer t;
    size_t n;
    uint32_t *pgnos;
    uint8_t *pages; /* n * page_size */
} tdecoded;

static inline void tdecoded_free(tdecoded *d) {
    free(d->pgnos);
    free(d->pages);
    memset(d, 0, sizeof(*d));
}

/* Decode + close through a reader (mem = false) or over the bytes
 * (ltx_decoder_open_mem). Returns the first error. */
static inline ls_code dec_file_mode(const uint8_t *p, size_t len, bool mem, tdecoded *out,
                                    ls_err *err) {
    memset(out, 0, sizeof(*out));
    ls_reader *r = mem ? NULL : ls_reader_mem(p, len);
    ltx_decoder *d = NULL;
    ls_code rc = mem ? ltx_decoder_open_mem(&d, p, len, err) : ltx_decoder_open(&d, r, err);
    if (rc == LS_OK) {
        out->h = *ltx_decoder_header(d);
        uint32_t ps = out->h.page_size;
        size_t cap = 0;
        uint8_t *page = malloc(ps);
        for (;;) {
            uint32_t pgno;
            bool done;
            rc = ltx_decoder_next_page(d, &pgno, page, &done, err);
            if (rc != LS_OK || done) break;
            if (out->n == cap) {
                cap = cap ? cap * 2 : 16;
                out->pgnos = realloc(out->pgnos, cap * sizeof(uint32_t));
                out->pages = realloc(out->pages, cap * ps);
            }
            out->pgnos[out->n] = pgno;
            memcpy(out->pages + out->n * ps, page, ps);
            out->n++;
        }
        free(page);
        if (rc == LS_OK) rc = ltx_decoder_close(d, &out->t, err);
        if (rc == LS_OK) assert_int_equal(ltx_decoder_offset(d), len);
        ltx_decoder_free(d);
    }
    ls_reader_close(r);
    return rc;
}

/* Decodes with both decoders and checks they agree (result, pages,
 * trailer, error code and message); returns the reader-mode result. */
static inline ls_code dec_file(const uint8_t *p, size_t len, tdecoded *out, ls_err *err) {
    ls_err e1, e2;
    memset(&e1, 0, sizeof(e1));
    memset(&e2, 0, sizeof(e2));
    ls_code rc = dec_file_mode(p, len, false, out, &e1);
    tdecoded m;
    ls_code rc2 = dec_file_mode(p, len, true, &m, &e2);
    assert_int_equal(rc, rc2);
    if (rc != LS_OK) {
        if (strcmp(e1.msg, e2.msg) != 0)
            fail_msg("decoders disagree: \"%s\" vs \"%s\"", e1.msg, e2.msg);
    } else {
        assert_int_equal(out->n, m.n);
        if (m.n) {
            assert_memory_equal(out->pgnos, m.pgnos, m.n * sizeof(uint32_t));
            assert_memory_equal(out->pages, m.pages, m.n * m.h.page_size);
        }
        assert_true(out->t.file_checksum == m.t.file_checksum);
        assert_true(out->t.post_apply_checksum == m.t.post_apply_checksum);
    }
    free(m.pgnos);
    free(m.pages);
    if (err) *err = e1;
    return rc;
}

/* ---- raw file builder (no rule checks): for crafting bad files ---------- */

typedef struct rawpage {
    uint32_t pgno;
    uint16_t flags;       /* 1 = size-prefixed block, 0 = legacy frame via LZ4F */
    const uint8_t *data;  /* page_size bytes */
} rawpage;

typedef struct rawopts {
    const uint8_t *index;  /* replace the index area (incl. its 0) */
    size_t index_len;
    int64_t size_field_delta;
    const uint8_t *trailing;
    size_t trailing_len;
    uint64_t post;
    bool bad_checksum;
} rawopts;

#include <lz4frame.h>

static inline size_t raw_frame(uint8_t *dst, size_t cap, const rawpage *pg, uint32_t ps) {
    ltx_put_be32(dst, pg->pgno);
    ltx_put_be16(dst + 4, pg->flags);
    if (pg->flags == 1) {
        int n = LZ4_compress_default((const char *)pg->data, (char *)dst + 10, (int)ps,
                                     (int)cap - 10);
        assert_true(n > 0);
        ltx_put_be32(dst + 6, (uint32_t)n);
        return 10 + (size_t)n;
    }
    LZ4F_preferences_t prefs;
    memset(&prefs, 0, sizeof(prefs));
    prefs.frameInfo.blockSizeID = LZ4F_max64KB;
    prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
    size_t n = LZ4F_compressFrame(dst + 6, cap - 6, pg->data, ps, &prefs);
    assert_false(LZ4F_isError(n));
    return 6 + n;
}

/* Builds a file from raw frames with a correct index and file checksum
 * (unless opts say otherwise). */
static inline void raw_file(const ltx_header *h, const rawpage *pages, size_t n, const rawopts *o,
                     tbuf *out) {
    uint32_t ps = h->page_size;
    size_t cap = LTX_HEADER_SIZE + n * (ltx_max_frame_size(ps) + 64) + n * 30 + 1024 +
                 (o && o->index ? o->index_len : 0) + (o ? o->trailing_len : 0);
    uint8_t *b = calloc(1, cap);
    ltx_header_encode(h, b);
    uint64_t crc = ltx_crc64(0, b, LTX_HEADER_SIZE);
    size_t off = LTX_HEADER_SIZE;
    uint8_t *idx = malloc(n * 30 + 1);
    size_t ilen = 0;
    for (size_t i = 0; i < n; i++) {
        size_t fl = raw_frame(b + off, cap - off, &pages[i], ps);
        crc = ltx_crc64(crc, b + off, pages[i].flags == 1 ? 10 : 6);
        crc = ltx_crc64(crc, pages[i].data, ps);
        ilen += ltx_varint_put(idx + ilen, pages[i].pgno);
        ilen += ltx_varint_put(idx + ilen, off);
        ilen += ltx_varint_put(idx + ilen, fl);
        off += fl;
    }
    idx[ilen++] = 0;
    memset(b + off, 0, 6);
    crc = ltx_crc64(crc, b + off, 6);
    off += 6;
    const uint8_t *ip = o && o->index ? o->index : idx;
    size_t il = o && o->index ? o->index_len : ilen;
    memcpy(b + off, ip, il);
    crc = ltx_crc64(crc, b + off, il);
    off += il;
    ltx_put_be64(b + off, (uint64_t)((int64_t)il + (o ? o->size_field_delta : 0)));
    crc = ltx_crc64(crc, b + off, 8);
    off += 8;
    ltx_put_be64(b + off, o ? o->post : 0);
    crc = ltx_crc64(crc, b + off, 8);
    off += 8;
    uint64_t fc = LTX_CHECKSUM_FLAG | crc;
    if (o && o->bad_checksum) fc ^= 1;
    ltx_put_be64(b + off, fc);
    off += 8;
    if (o && o->trailing_len) {
        memcpy(b + off, o->trailing, o->trailing_len);
        off += o->trailing_len;
    }
    free(idx);
    out->p = b;
    out->len = off;
}

/* Fills a page with SQLite-like compressible text (deterministic). */
static inline void fill_text_page(uint8_t *p, uint32_t ps, uint64_t *rng) {
    static const char *words[] = {"alpha ", "bravo ", "charlie ", "delta ", "echo ",
                                  "foxtrot ", "golf ", "hotel ", "india ", "juliet "};
    size_t o = 0;
    while (o < ps) {
        const char *w = words[lst_rand(rng) % 10];
        size_t l = strlen(w);
        if (l > ps - o) l = ps - o;
        memcpy(p + o, w, l);
        o += l;
        if (o + 4 <= ps && lst_rand(rng) % 8 == 0) {
            uint32_t v = (uint32_t)lst_rand(rng);
            memcpy(p + o, &v, 4);
            o += 4;
        }
    }
}

#endif
