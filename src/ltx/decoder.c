/*
 * ltx/decoder.c — streaming LTX v3 reader with full verification
 * (spec 1.5, 1.7-1.9, 1.12), stricter than the Go decoder where the spec
 * allows: page order, bounds and snapshot completeness are checked, the page
 * index must describe exactly the frames that were read, the index size
 * field must be right and nothing may follow the trailer.
 *
 * Page frame (v0.5.2 form, page header flag 0x0001):
 *
 * | off | size | field                                  |
 * |-----|------|----------------------------------------|
 * |   0 |    4 | pgno (BE32, 1-based, never 0)          |
 * |   4 |    2 | flags (BE16) = 0x0001                  |
 * |   6 |    4 | N = compressed size (BE32)             |
 * |  10 |    N | one LZ4 block -> exactly page_size     |
 *
 * Legacy frame (v0.5.0/v0.5.1, flags 0x0000): the 6-byte page header, then
 * one complete LZ4 frame (see lz4util.c) -> exactly page_size bytes.
 * Terminator: 6 zero bytes.
 *
 * After the terminator (read at close):
 *
 * | size     | field                                                   |
 * |----------|---------------------------------------------------------|
 * | variable | page index: uvarint pgno, offset, frame size per page,  |
 * |          | ascending pgno, then uvarint 0                           |
 * | 8        | BE64 length of the page index including its 0           |
 * | 8        | BE64 post-apply checksum                                |
 * | 8        | BE64 file checksum                                      |
 *
 * Memory: one read buffer of max(64 KiB, 2 x largest frame) (none in memory
 * mode, which decompresses straight from the caller's bytes) and, only when
 * close() has to skip unread pages, one page buffer.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "ltx/ltx_internal.h"

typedef enum { DEC_PAGES, DEC_INDEX, DEC_CLOSED, DEC_FAILED } dec_state;

struct ltx_decoder {
    ls_reader *r;
    ltx_header h;
    dec_state state;
    ls_code failed;
    const uint8_t *buf; /* == own, or the caller's bytes (memory mode) */
    uint8_t *own;
    bool mem;           /* memory mode: buf holds the whole file, no reads */
    size_t cap, pos, len;
    bool eof;
    uint64_t offset; /* file offset of buf[pos] */
    uint64_t crc;    /* running file CRC (Go convention) */
    bool track_db;   /* snapshot with checksums: verify post-apply */
    uint64_t db_checksum;
    uint32_t lock_pgno, prev_pgno, npages;
    uint64_t idx_hash; /* hash of the (pgno, offset, size) triples the frames imply */
    uint64_t idx_len;  /* bytes of their canonical varint encoding */
    size_t max_block, max_frame;
    uint8_t *scratch_page;
};

static ls_code dec_fail(ltx_decoder *d, ls_code rc) {
    d->state = DEC_FAILED;
    d->failed = rc;
    return rc;
}

/* Makes at least need (<= cap) bytes available at buf[pos] unless EOF comes
 * first; *avail gets what is available. */
static ls_code dec_fill(ltx_decoder *d, size_t need, size_t *avail, ls_err *err) {
    if (d->len - d->pos < need && !d->eof) {
        if (d->cap - d->pos < need) {
            memmove(d->own, d->own + d->pos, d->len - d->pos);
            d->len -= d->pos;
            d->pos = 0;
        }
        while (d->len - d->pos < need) {
            size_t n = 0;
            ls_code rc = ls_read(d->r, d->own + d->len, d->cap - d->len, &n, err);
            if (rc != LS_OK) {
                ls_err_wrap(err, "read LTX at offset %" PRIu64, d->offset + (d->len - d->pos));
                return dec_fail(d, rc);
            }
            if (n == 0) {
                d->eof = true;
                break;
            }
            d->len += n;
        }
    }
    *avail = d->len - d->pos;
    return LS_OK;
}

static void dec_consume(ltx_decoder *d, size_t n, bool hash) {
    if (hash) d->crc = ltx_crc64(d->crc, d->buf + d->pos, n);
    d->pos += n;
    d->offset += n;
}

static ls_code dec_eof_error(ltx_decoder *d, const char *what, ls_err *err) {
    ls_err_set(err, LS_ERR_FORMAT, "unexpected EOF %s at offset %" PRIu64, what,
               d->offset + (d->len - d->pos));
    return dec_fail(d, LS_ERR_FORMAT);
}

size_t ltx_max_frame_size(uint32_t page_size) {
    return LTX_PAGE_HEADER_SIZE + 4 + ltx_max_block_size(page_size) + LTX_LZ4F_OVERHEAD;
}

/* Header checks shared by both open functions; allocates the decoder. */
static ls_code dec_new(const uint8_t hdr[LTX_HEADER_SIZE], ltx_decoder **out, ls_err *err) {
    ltx_header h;
    ls_code rc = ltx_header_decode(hdr, &h, err);
    if (rc != LS_OK) return rc;
    if (h.flags & 0x1u)
        return ls_err_set(err, LS_ERR_UNSUPPORTED,
                          "invalid flags: 0x%08x: flag 0x1 is CompressLZ4 of LTX format version "
                          "1 (litestream v0.3.x); format 1 is not supported",
                          h.flags);
    ls_err verr;
    if (ltx_header_validate(&h, &verr) != LS_OK)
        return ls_err_set(err, LS_ERR_FORMAT, "invalid LTX header: %s", verr.msg);
    ltx_decoder *d = calloc(1, sizeof(*d));
    if (!d) return ls_err_set(err, LS_ERR_NOMEM, "LTX decoder: out of memory");
    d->h = h;
    d->max_block = ltx_max_block_size(h.page_size);
    d->max_frame = ltx_max_frame_size(h.page_size);
    d->offset = LTX_HEADER_SIZE;
    d->crc = ltx_crc64(0, hdr, LTX_HEADER_SIZE);
    d->lock_pgno = ltx_lock_pgno(h.page_size);
    d->track_db = ltx_header_is_snapshot(&h) && ltx_header_has_checksum(&h);
    d->db_checksum = LTX_EMPTY_CHECKSUM;
    d->state = DEC_PAGES;
    *out = d;
    return LS_OK;
}

ls_code ltx_decoder_open(ltx_decoder **out, ls_reader *r, ls_err *err) {
    return ltx_decoder_open_buf(out, r, LTX_DECODER_READ_BUF, err);
}

ls_code ltx_decoder_open_buf(ltx_decoder **out, ls_reader *r, size_t read_buf, ls_err *err) {
    *out = NULL;
    uint8_t hdr[LTX_HEADER_SIZE];
    size_t got = 0;
    ls_code rc = ls_read_full(r, hdr, sizeof(hdr), &got, err);
    if (rc != LS_OK) return ls_err_wrap(err, "read LTX header");
    if (got < sizeof(hdr))
        return ls_err_set(err, LS_ERR_FORMAT,
                          "unexpected EOF in LTX header at offset %zu (file has %zu of %d "
                          "header bytes)",
                          got, got, LTX_HEADER_SIZE);
    ltx_decoder *d;
    rc = dec_new(hdr, &d, err);
    if (rc != LS_OK) return rc;
    d->r = r;
    d->cap = 2 * d->max_frame;
    if (d->cap < read_buf) d->cap = read_buf;
    d->own = malloc(d->cap);
    if (!d->own) {
        free(d);
        return ls_err_set(err, LS_ERR_NOMEM, "LTX decoder: out of memory");
    }
    d->buf = d->own;
    *out = d;
    return LS_OK;
}

ls_code ltx_decoder_open_mem(ltx_decoder **out, const void *data, size_t len, ls_err *err) {
    *out = NULL;
    if (len < LTX_HEADER_SIZE)
        return ls_err_set(err, LS_ERR_FORMAT,
                          "unexpected EOF in LTX header at offset %zu (file has %zu of %d "
                          "header bytes)",
                          len, len, LTX_HEADER_SIZE);
    ltx_decoder *d;
    ls_code rc = dec_new(data, &d, err);
    if (rc != LS_OK) return rc;
    d->mem = true;
    d->buf = data;
    d->pos = LTX_HEADER_SIZE;
    d->len = d->cap = len;
    d->eof = true;
    *out = d;
    return LS_OK;
}

const ltx_header *ltx_decoder_header(const ltx_decoder *d) { return &d->h; }
uint64_t ltx_decoder_offset(const ltx_decoder *d) { return d->offset; }
uint32_t ltx_decoder_page_count(const ltx_decoder *d) { return d->npages; }

static ls_code dec_check_usable(ltx_decoder *d, const char *what, ls_err *err) {
    if (d->state == DEC_CLOSED)
        return ls_err_set(err, LS_ERR_INVALID, "%s: LTX decoder already closed", what);
    if (d->state == DEC_FAILED)
        return ls_err_set(err, d->failed, "%s: LTX decoder failed earlier", what);
    return LS_OK;
}

/* The first page header has flags a v3 file never has: tell a format-1/2
 * file (4-byte page headers) from plain corruption. Format 1 stores raw
 * pages, so the 4 bytes after the first page are the next pgno or the 0
 * terminator; a real first page starts with "SQLite format 3" ("SQ" =
 * 0x5351 read as flags). Format 2 puts an LZ4 frame after the pgno. */
static ls_code dec_bad_flags(ltx_decoder *d, uint32_t pgno, uint16_t flags, ls_err *err) {
    uint64_t at = d->offset;
    if (d->npages == 0 && d->offset == LTX_HEADER_SIZE) {
        size_t avail;
        size_t span = 4 + (size_t)d->h.page_size + 4;
        ls_code rc = dec_fill(d, span, &avail, err);
        if (rc != LS_OK) return rc;
        const uint8_t *p = d->buf + d->pos;
        bool v2 = avail >= 8 && ltx_le32(p + 4) == LTX_LZ4F_MAGIC;
        bool v1 = flags == 0x5351;
        if (!v1 && avail >= span) {
            uint32_t next = ltx_be32(p + span - 4);
            v1 = next == 0 || (next > pgno && next <= d->h.commit);
        }
        if (v2) {
            ls_err_set(err, LS_ERR_UNSUPPORTED,
                       "LTX format version 2 file (ltx v0.4: 4-byte page headers, LZ4 frame "
                       "pages) is not supported: invalid page header flags: 0x%04x at offset "
                       "%" PRIu64,
                       flags, at);
            return dec_fail(d, LS_ERR_UNSUPPORTED);
        }
        if (v1) {
            ls_err_set(err, LS_ERR_UNSUPPORTED,
                       "LTX format version 1 file (litestream v0.3.x: 4-byte page headers, no "
                       "page index) is not supported: invalid page header flags: 0x%04x at "
                       "offset %" PRIu64,
                       flags, at);
            return dec_fail(d, LS_ERR_UNSUPPORTED);
        }
    }
    ls_err_set(err, LS_ERR_FORMAT, "invalid page header flags: 0x%04x (pgno %u at offset %" PRIu64 ")",
               flags, pgno, at);
    return dec_fail(d, LS_ERR_FORMAT);
}

static ls_code dec_check_order(ltx_decoder *d, uint32_t pgno, ls_err *err) {
    const ltx_header *h = &d->h;
    const char *why = NULL;
    char buf[96];
    if (pgno > h->commit) {
        snprintf(buf, sizeof(buf), "page number %u out-of-bounds for commit size %u", pgno,
                 h->commit);
        why = buf;
    } else if (pgno == d->lock_pgno) {
        snprintf(buf, sizeof(buf), "lock page %u must not be stored", pgno);
        why = buf;
    } else if (pgno == d->prev_pgno) {
        snprintf(buf, sizeof(buf), "duplicate page %u", pgno);
        why = buf;
    } else if (pgno < d->prev_pgno) {
        snprintf(buf, sizeof(buf), "out-of-order page number %u after %u", pgno, d->prev_pgno);
        why = buf;
    } else if (ltx_header_is_snapshot(h)) {
        uint32_t want = d->prev_pgno + 1;
        if (want == d->lock_pgno) want++;
        if (pgno != want) {
            snprintf(buf, sizeof(buf), "snapshot is missing page %u (next page is %u)", want,
                     pgno);
            why = buf;
        }
    }
    if (!why) return LS_OK;
    ls_err_set(err, LS_ERR_FORMAT, "%s (page frame at offset %" PRIu64 ")", why, d->offset);
    return dec_fail(d, LS_ERR_FORMAT);
}

/* Order-sensitive hash of index entries: the index read at close must
 * reproduce the one the frames imply, value by value. */
static inline uint64_t idx_mix(uint64_t h, uint64_t pgno, uint64_t off, uint64_t size) {
    h = (h ^ pgno) * 0x9E3779B97F4A7C15ULL;
    h = (h ^ off) * 0xC2B2AE3D27D4EB4FULL;
    h = (h ^ size) * 0x165667B19E3779F9ULL;
    return h ^ (h >> 29);
}

static inline uint64_t varint_len(uint64_t v) {
    uint64_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static void dec_index_expect(ltx_decoder *d, uint32_t pgno, uint64_t off, uint64_t size) {
    d->idx_hash = idx_mix(d->idx_hash, pgno, off, size);
    d->idx_len += varint_len(pgno) + varint_len(off) + varint_len(size);
}

static ls_code dec_end_of_pages(ltx_decoder *d, ls_err *err) {
    const ltx_header *h = &d->h;
    if (ltx_header_is_snapshot(h) && h->commit > 0) {
        uint32_t last = h->commit == d->lock_pgno ? h->commit - 1 : h->commit;
        if (d->prev_pgno != last) {
            ls_err_set(err, LS_ERR_FORMAT,
                       "snapshot is missing pages %u..%u (commit %u; page block ends at offset "
                       "%" PRIu64 ")",
                       d->prev_pgno + 1, h->commit, h->commit, d->offset);
            return dec_fail(d, LS_ERR_FORMAT);
        }
    }
    d->state = DEC_INDEX;
    return LS_OK;
}

ls_code ltx_decoder_next_page(ltx_decoder *d, uint32_t *pgno_out, uint8_t *page, bool *done,
                              ls_err *err) {
    *done = false;
    ls_code rc = dec_check_usable(d, "decode page", err);
    if (rc != LS_OK) return rc;
    if (d->state == DEC_INDEX) {
        *done = true;
        return LS_OK;
    }
    size_t avail;
    rc = dec_fill(d, LTX_PAGE_HEADER_SIZE, &avail, err);
    if (rc != LS_OK) return rc;
    if (avail < LTX_PAGE_HEADER_SIZE) return dec_eof_error(d, "in page block (page header)", err);
    const uint8_t *p = d->buf + d->pos;
    uint32_t pgno = ltx_be32(p);
    uint16_t flags = ltx_be16(p + 4);
    if (pgno == 0) {
        if (flags != 0) {
            ls_err_set(err, LS_ERR_FORMAT,
                       "page number required (page header with flags 0x%04x at offset "
                       "%" PRIu64 ")",
                       flags, d->offset);
            return dec_fail(d, LS_ERR_FORMAT);
        }
        dec_consume(d, LTX_PAGE_HEADER_SIZE, true);
        rc = dec_end_of_pages(d, err);
        if (rc == LS_OK) *done = true;
        return rc;
    }
    if (flags & ~LTX_PAGE_FLAG_SIZE) return dec_bad_flags(d, pgno, flags, err);
    rc = dec_check_order(d, pgno, err);
    if (rc != LS_OK) return rc;

    ltx_where wh = {pgno, d->offset};
    size_t frame;
    if (flags & LTX_PAGE_FLAG_SIZE) {
        rc = dec_fill(d, 10, &avail, err);
        if (rc != LS_OK) return rc;
        if (avail < 10) return dec_eof_error(d, "in page frame (size prefix)", err);
        uint32_t n = ltx_be32(d->buf + d->pos + 6);
        if (n == 0 || n > d->max_block) {
            ls_err_set(err, LS_ERR_FORMAT, "%s: invalid compressed size %u (max %zu)", LTX_WHERE(&wh), n,
                       d->max_block);
            return dec_fail(d, LS_ERR_FORMAT);
        }
        frame = 10 + (size_t)n;
        rc = dec_fill(d, frame, &avail, err);
        if (rc != LS_OK) return rc;
        if (avail < frame) return dec_eof_error(d, "in page frame (LZ4 block)", err);
        rc = ltx_lz4_block_decode(d->buf + d->pos + 10, n, page, d->h.page_size, &wh, err);
        if (rc != LS_OK) return dec_fail(d, rc);
        d->crc = ltx_crc64(d->crc, d->buf + d->pos, 10);
    } else {
        size_t total = 0, need = 0;
        for (;;) {
            rc = ltx_lz4f_scan(d->buf + d->pos + LTX_PAGE_HEADER_SIZE,
                               avail - LTX_PAGE_HEADER_SIZE, d->max_frame - LTX_PAGE_HEADER_SIZE,
                               &total, &need, &wh, err);
            if (rc != LS_OK) return dec_fail(d, rc);
            if (total) break;
            rc = dec_fill(d, LTX_PAGE_HEADER_SIZE + need, &avail, err);
            if (rc != LS_OK) return rc;
            if (avail < LTX_PAGE_HEADER_SIZE + need)
                return dec_eof_error(d, "in page frame (LZ4 frame)", err);
        }
        frame = LTX_PAGE_HEADER_SIZE + total;
        rc = ltx_lz4f_decode(d->buf + d->pos + LTX_PAGE_HEADER_SIZE, total, page,
                             d->h.page_size, &wh, err);
        if (rc != LS_OK) return dec_fail(d, rc);
        d->crc = ltx_crc64(d->crc, d->buf + d->pos, LTX_PAGE_HEADER_SIZE);
    }
    d->crc = ltx_crc64(d->crc, page, d->h.page_size);
    dec_index_expect(d, pgno, d->offset, frame);
    dec_consume(d, frame, false);
    if (d->track_db)
        d->db_checksum =
            ltx_checksum_fold(d->db_checksum, ltx_page_checksum(pgno, page, d->h.page_size));
    d->prev_pgno = pgno;
    d->npages++;
    *pgno_out = pgno;
    return LS_OK;
}

/* Parses one index entry (or the 0 terminator) from the buffer: *pgno = 0
 * for the terminator. The entry's bytes are hashed into the file CRC. */
static ls_code dec_index_entry(ltx_decoder *d, uint64_t *pgno, uint64_t *off, uint64_t *size,
                               ls_err *err) {
    size_t avail;
    ls_code rc = dec_fill(d, 3 * LTX_VARINT_MAX, &avail, err);
    if (rc != LS_OK) return rc;
    ltx_cur c = ltx_cur_make(d->buf + d->pos, avail);
    ltx_varint_rc vr = ltx_cur_varint(&c, pgno);
    if (vr == LTX_VARINT_OK && *pgno != 0) {
        vr = ltx_cur_varint(&c, off);
        if (vr == LTX_VARINT_OK) vr = ltx_cur_varint(&c, size);
    }
    if (vr == LTX_VARINT_SHORT) return dec_eof_error(d, "in page index", err);
    if (vr == LTX_VARINT_OVERFLOW) {
        ls_err_set(err, LS_ERR_FORMAT, "page index: varint overflow in entry at offset %" PRIu64,
                   d->offset);
        return dec_fail(d, LS_ERR_FORMAT);
    }
    dec_consume(d, c.pos, true);
    return LS_OK;
}

ls_code ltx_decoder_close(ltx_decoder *d, ltx_trailer *out, ls_err *err) {
    ls_code rc = dec_check_usable(d, "close LTX decoder", err);
    if (rc != LS_OK) return rc;
    if (d->state == DEC_PAGES) {
        if (!d->scratch_page) {
            d->scratch_page = malloc(d->h.page_size);
            if (!d->scratch_page) {
                ls_err_set(err, LS_ERR_NOMEM, "LTX decoder: out of memory");
                return dec_fail(d, LS_ERR_NOMEM);
            }
        }
        for (;;) {
            bool done;
            uint32_t pgno;
            rc = ltx_decoder_next_page(d, &pgno, d->scratch_page, &done, err);
            if (rc != LS_OK) return rc;
            if (done) break;
        }
    }

    /* page index */
    uint64_t index_at = d->offset, ihash = 0, entries = 0;
    for (;;) {
        uint64_t pgno, off = 0, size = 0;
        uint64_t entry_at = d->offset;
        rc = dec_index_entry(d, &pgno, &off, &size, err);
        if (rc != LS_OK) return rc;
        if (pgno == 0) break;
        if (pgno > UINT32_MAX) {
            ls_err_set(err, LS_ERR_FORMAT, "page index: page number %" PRIu64 " too large at offset %" PRIu64,
                       pgno, entry_at);
            return dec_fail(d, LS_ERR_FORMAT);
        }
        if (++entries > d->npages) {
            ls_err_set(err, LS_ERR_FORMAT,
                       "page index has more entries than the file has pages (%u) at offset "
                       "%" PRIu64,
                       d->npages, entry_at);
            return dec_fail(d, LS_ERR_FORMAT);
        }
        ihash = idx_mix(ihash, pgno, off, size);
    }
    uint64_t index_len = d->offset - index_at; /* includes the 0 terminator */
    if (entries != d->npages) {
        ls_err_set(err, LS_ERR_FORMAT,
                   "page index at offset %" PRIu64 " lists %" PRIu64 " pages, the file has %u",
                   index_at, entries, d->npages);
        return dec_fail(d, LS_ERR_FORMAT);
    }
    /* same values in the same order, canonically encoded (+1: the 0) */
    if (index_len != d->idx_len + 1 || ihash != d->idx_hash) {
        ls_err_set(err, LS_ERR_FORMAT,
                   "page index at offset %" PRIu64 " does not match the page frames", index_at);
        return dec_fail(d, LS_ERR_FORMAT);
    }

    size_t avail;
    rc = dec_fill(d, LTX_INDEX_SIZE_FIELD + LTX_TRAILER_SIZE, &avail, err);
    if (rc != LS_OK) return rc;
    if (avail < LTX_INDEX_SIZE_FIELD + LTX_TRAILER_SIZE)
        return dec_eof_error(d, "in page index size / trailer", err);
    uint64_t size_field = ltx_be64(d->buf + d->pos);
    if (size_field != index_len) {
        ls_err_set(err, LS_ERR_FORMAT,
                   "page index size field at offset %" PRIu64 " says %" PRIu64
                   " bytes, the index has %" PRIu64,
                   d->offset, size_field, index_len);
        return dec_fail(d, LS_ERR_FORMAT);
    }
    dec_consume(d, LTX_INDEX_SIZE_FIELD, true);
    uint64_t trailer_at = d->offset;
    ltx_trailer t;
    ltx_trailer_decode(d->buf + d->pos, &t);
    dec_consume(d, 8, true);
    dec_consume(d, 8, false);
    rc = dec_fill(d, 1, &avail, err);
    if (rc != LS_OK) return rc;
    if (avail) {
        ls_err_set(err, LS_ERR_FORMAT, "unexpected data after the LTX trailer at offset %" PRIu64,
                   d->offset);
        return dec_fail(d, LS_ERR_FORMAT);
    }
    uint64_t computed = LTX_CHECKSUM_FLAG | d->crc;
    if (t.file_checksum != computed) {
        ls_err_set(err, LS_ERR_CHECKSUM,
                   "file checksum mismatch: trailer at offset %" PRIu64 " has %016" PRIx64
                   ", computed %016" PRIx64,
                   trailer_at, t.file_checksum, computed);
        return dec_fail(d, LS_ERR_CHECKSUM);
    }
    if (d->track_db && t.post_apply_checksum != d->db_checksum) {
        ls_err_set(err, LS_ERR_CHECKSUM,
                   "post-apply checksum in trailer (%016" PRIx64
                   ") does not match calculated checksum (%016" PRIx64 ")",
                   t.post_apply_checksum, d->db_checksum);
        return dec_fail(d, LS_ERR_CHECKSUM);
    }
    d->state = DEC_CLOSED;
    if (out) *out = t;
    return LS_OK;
}

void ltx_decoder_free(ltx_decoder *d) {
    if (!d) return;
    free(d->own);
    free(d->scratch_page);
    free(d);
}

ls_code ltx_verify(ls_reader *r, ltx_header *h, ltx_trailer *t, ls_err *err) {
    ltx_decoder *d;
    ls_code rc = ltx_decoder_open(&d, r, err);
    if (rc != LS_OK) return rc;
    if (h) *h = d->h;
    rc = ltx_decoder_close(d, t, err);
    ltx_decoder_free(d);
    return rc;
}
