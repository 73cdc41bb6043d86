/*
 * ltx/encoder.c — streaming LTX v3 writer (spec 1.5-1.9).
 *
 * Page frame as written (always the size-prefixed block form):
 *
 * | off | size | field                                  |
 * |-----|------|----------------------------------------|
 * |   0 |    4 | pgno (BE32, 1-based)                   |
 * |   4 |    2 | flags (BE16) = 0x0001 (size follows)   |
 * |   6 |    4 | N = compressed size (BE32)             |
 * |  10 |    N | one LZ4 block -> page_size bytes       |
 *
 * After the pages: 6 zero bytes, the page index (varint triples pgno,
 * offset, frame size in pgno order, then varint 0), BE64 index length
 * (varints incl. the 0), then the trailer (BE64 post-apply, BE64 file
 * checksum). The file checksum is CRC-64/GO-ISO over every byte before it
 * except that pages contribute their decompressed bytes instead of their
 * LZ4 payload; bit 63 is set.
 */
#include <inttypes.h>
#include <lz4.h>
#include <stdlib.h>

#include "ltx/ltx_internal.h"

typedef enum { ENC_OPEN, ENC_CLOSED, ENC_FAILED } enc_state;

struct ltx_encoder {
    ltx_header h;
    ls_writer *w;
    enc_state state;
    ls_code failed; /* code of the first error (state ENC_FAILED) */
    uint64_t crc;   /* running file CRC (Go convention) */
    uint64_t offset;
    uint64_t file_checksum;
    uint32_t lock_pgno;
    uint32_t prev_pgno;
    uint32_t npages;
    uint8_t *frame; /* 10 + compressBound(page size) */
    int frame_cap;
    uint8_t *index; /* varint page index */
    size_t index_len, index_cap;
};

static ls_code enc_fail(ltx_encoder *e, ls_code rc) {
    e->state = ENC_FAILED;
    e->failed = rc;
    return rc;
}

static ls_code enc_check_usable(ltx_encoder *e, const char *what, ls_err *err) {
    if (e->state == ENC_OPEN) return LS_OK;
    if (e->state == ENC_CLOSED)
        return ls_err_set(err, LS_ERR_INVALID, "%s: LTX encoder already closed", what);
    return ls_err_set(err, e->failed, "%s: LTX encoder failed earlier", what);
}

static ls_code enc_write(ltx_encoder *e, const void *p, size_t n, ls_err *err) {
    ls_code rc = ls_write(e->w, p, n, err);
    if (rc != LS_OK) {
        ls_err_wrap(err, "write LTX at offset %" PRIu64, e->offset);
        return enc_fail(e, rc);
    }
    e->offset += n;
    return LS_OK;
}

ls_code ltx_encoder_open(ltx_encoder **out, const ltx_header *h, ls_writer *w, ls_err *err) {
    *out = NULL;
    ls_err verr;
    if (ltx_header_validate(h, &verr) != LS_OK)
        return ls_err_set(err, LS_ERR_INVALID, "encode LTX header: %s", verr.msg);
    ltx_encoder *e = calloc(1, sizeof(*e));
    if (!e) return ls_err_set(err, LS_ERR_NOMEM, "LTX encoder: out of memory");
    e->h = *h;
    e->w = w;
    e->lock_pgno = ltx_lock_pgno(h->page_size);
    e->frame_cap = 10 + LZ4_compressBound((int)h->page_size);
    e->frame = malloc((size_t)e->frame_cap);
    if (!e->frame) {
        free(e);
        return ls_err_set(err, LS_ERR_NOMEM, "LTX encoder: out of memory");
    }
    uint8_t hdr[LTX_HEADER_SIZE];
    ltx_header_encode(h, hdr);
    e->crc = ltx_crc64(0, hdr, sizeof(hdr));
    ls_code rc = enc_write(e, hdr, sizeof(hdr), err);
    if (rc != LS_OK) {
        ltx_encoder_free(e);
        return rc;
    }
    *out = e;
    return LS_OK;
}

static ls_code index_append(ltx_encoder *e, uint32_t pgno, uint64_t off, uint64_t size,
                            ls_err *err) {
    if (e->index_cap - e->index_len < 3 * LTX_VARINT_MAX) {
        size_t cap = e->index_cap ? e->index_cap * 2 : 4096;
        uint8_t *p = realloc(e->index, cap);
        if (!p) {
            ls_err_set(err, LS_ERR_NOMEM, "LTX encoder: page index: out of memory");
            return enc_fail(e, LS_ERR_NOMEM);
        }
        e->index = p;
        e->index_cap = cap;
    }
    e->index_len += ltx_varint_put(e->index + e->index_len, pgno);
    e->index_len += ltx_varint_put(e->index + e->index_len, off);
    e->index_len += ltx_varint_put(e->index + e->index_len, size);
    return LS_OK;
}

ls_code ltx_encoder_write_page(ltx_encoder *e, uint32_t pgno, const uint8_t *data, ls_err *err) {
    ls_code rc = enc_check_usable(e, "encode page", err);
    if (rc != LS_OK) return rc;
    const ltx_header *h = &e->h;
    if (pgno == 0) {
        ls_err_set(err, LS_ERR_INVALID, "encode page: page number required");
        return enc_fail(e, LS_ERR_INVALID);
    }
    if (pgno > h->commit) {
        ls_err_set(err, LS_ERR_INVALID, "encode page: page number %u out-of-bounds for commit size %u",
                   pgno, h->commit);
        return enc_fail(e, LS_ERR_INVALID);
    }
    if (pgno == e->lock_pgno) {
        ls_err_set(err, LS_ERR_INVALID, "encode page: cannot encode lock page: pgno=%u", pgno);
        return enc_fail(e, LS_ERR_INVALID);
    }
    if (ltx_header_is_snapshot(h)) {
        uint32_t want = e->prev_pgno + 1;
        if (want == e->lock_pgno) want++;
        if (pgno != want) {
            ls_err_set(err, LS_ERR_INVALID,
                       "encode page: nonsequential page numbers in snapshot transaction: %u,%u",
                       e->prev_pgno, pgno);
            return enc_fail(e, LS_ERR_INVALID);
        }
    } else if (pgno <= e->prev_pgno) {
        ls_err_set(err, LS_ERR_INVALID, "encode page: out-of-order page numbers: %u,%u",
                   e->prev_pgno, pgno);
        return enc_fail(e, LS_ERR_INVALID);
    }

    int n = LZ4_compress_default((const char *)data, (char *)e->frame + 10, (int)h->page_size,
                                 e->frame_cap - 10);
    if (n <= 0) {
        ls_err_set(err, LS_ERR_INTERNAL, "encode page %u: LZ4 compression failed", pgno);
        return enc_fail(e, LS_ERR_INTERNAL);
    }
    ltx_put_be32(e->frame, pgno);
    ltx_put_be16(e->frame + 4, LTX_PAGE_FLAG_SIZE);
    ltx_put_be32(e->frame + 6, (uint32_t)n);
    e->crc = ltx_crc64(e->crc, e->frame, 10);
    e->crc = ltx_crc64(e->crc, data, h->page_size);

    uint64_t off = e->offset;
    rc = index_append(e, pgno, off, 10 + (uint64_t)n, err);
    if (rc != LS_OK) return rc;
    rc = enc_write(e, e->frame, 10 + (size_t)n, err);
    if (rc != LS_OK) return rc;
    e->prev_pgno = pgno;
    e->npages++;
    return LS_OK;
}

ls_code ltx_encoder_close(ltx_encoder *e, uint64_t post, ls_err *err) {
    ls_code rc = enc_check_usable(e, "close LTX encoder", err);
    if (rc != LS_OK) return rc;
    const ltx_header *h = &e->h;
    const char *bad = NULL;
    if (!ltx_header_has_checksum(h)) {
        if (post != 0) bad = "post-apply checksum not allowed";
    } else if (post == 0) {
        bad = "post-apply checksum required";
    } else if (!(post & LTX_CHECKSUM_FLAG)) {
        bad = "invalid post-apply checksum format";
    }
    if (!bad && h->commit == 0 && post != LTX_EMPTY_CHECKSUM)
        bad = "post-apply checksum must be empty for zero-length database";
    if (bad) {
        ls_err_set(err, LS_ERR_INVALID, "close LTX encoder: %s (0x%016" PRIx64 ")", bad, post);
        return enc_fail(e, LS_ERR_INVALID);
    }
    if (ltx_header_is_snapshot(h) && h->commit > 0) {
        uint32_t last = h->commit;
        if (last == e->lock_pgno) last--;
        if (e->prev_pgno != last) {
            ls_err_set(err, LS_ERR_INVALID,
                       "close LTX encoder: snapshot is missing pages %u..%u (commit %u)",
                       e->prev_pgno + 1, h->commit, h->commit);
            return enc_fail(e, LS_ERR_INVALID);
        }
    }

    static const uint8_t term[LTX_PAGE_HEADER_SIZE] = {0};
    e->crc = ltx_crc64(e->crc, term, sizeof(term));
    rc = enc_write(e, term, sizeof(term), err);
    if (rc != LS_OK) return rc;
    if (e->index_len) {
        e->crc = ltx_crc64(e->crc, e->index, e->index_len);
        rc = enc_write(e, e->index, e->index_len, err);
        if (rc != LS_OK) return rc;
    }
    /* 00 index terminator, BE64 index length, trailer */
    uint8_t tail[1 + 8 + LTX_TRAILER_SIZE];
    tail[0] = 0;
    ltx_put_be64(tail + 1, (uint64_t)e->index_len + 1);
    ltx_put_be64(tail + 9, post);
    e->crc = ltx_crc64(e->crc, tail, 17);
    e->file_checksum = LTX_CHECKSUM_FLAG | e->crc;
    ltx_put_be64(tail + 17, e->file_checksum);
    rc = enc_write(e, tail, sizeof(tail), err);
    if (rc != LS_OK) {
        e->file_checksum = 0;
        return rc;
    }
    e->state = ENC_CLOSED;
    return LS_OK;
}

const ltx_header *ltx_encoder_header(const ltx_encoder *e) { return &e->h; }
uint64_t ltx_encoder_bytes_written(const ltx_encoder *e) { return e->offset; }
uint64_t ltx_encoder_file_checksum(const ltx_encoder *e) {
    return e->state == ENC_CLOSED ? e->file_checksum : 0;
}
uint32_t ltx_encoder_page_count(const ltx_encoder *e) { return e->npages; }

void ltx_encoder_free(ltx_encoder *e) {
    if (!e) return;
    free(e->frame);
    free(e->index);
    free(e);
}
