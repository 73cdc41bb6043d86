/*
 * ltx/index.c — page index decoding and random access through ranged reads
 * (spec 1.7; litestream's FetchPageIndex locates the index from the end).
 *
 * End of an LTX file:
 *
 * | size        | field                                                |
 * |-------------|------------------------------------------------------|
 * | 6           | page block terminator (zeros)                        |
 * | S           | page index: (uvarint pgno, uvarint offset, uvarint   |
 * |             | frame size)* then uvarint 0                          |
 * | 8           | BE64 S                                               |
 * | 16          | trailer: BE64 post-apply, BE64 file checksum         |
 *
 * so the index starts at file_size - 16 - 8 - S. Frames are contiguous and
 * in pgno order: the first starts at 100, each next one where the previous
 * ended, and the last ends at the terminator.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "ltx/ltx_internal.h"

ls_code ltx_page_index_decode(const uint8_t *buf, size_t len, ltx_page_index_entry **out,
                              size_t *n, ls_err *err) {
    *out = NULL;
    *n = 0;
    /* Each entry takes at least 3 bytes: bounds the allocation by len. */
    size_t cap = len / 3;
    ltx_page_index_entry *e = NULL;
    if (cap) {
        e = malloc(cap * sizeof(*e));
        if (!e) return ls_err_set(err, LS_ERR_NOMEM, "page index: out of memory");
    }
    ltx_cur c = ltx_cur_make(buf, len);
    size_t count = 0;
    uint32_t prev = 0;
    for (;;) {
        size_t at = c.pos;
        uint64_t pgno, off, size;
        ltx_varint_rc vr = ltx_cur_varint(&c, &pgno);
        if (vr == LTX_VARINT_OK && pgno != 0) {
            vr = ltx_cur_varint(&c, &off);
            if (vr == LTX_VARINT_OK) vr = ltx_cur_varint(&c, &size);
        }
        if (vr == LTX_VARINT_SHORT) {
            free(e);
            return ls_err_set(err, LS_ERR_FORMAT,
                              "page index: truncated entry at index offset %zu (index is %zu "
                              "bytes, no 0 terminator)",
                              at, len);
        }
        if (vr == LTX_VARINT_OVERFLOW) {
            free(e);
            return ls_err_set(err, LS_ERR_FORMAT, "page index: varint overflow at index offset %zu",
                              at);
        }
        if (pgno == 0) break;
        if (pgno > UINT32_MAX || pgno <= prev) {
            free(e);
            return ls_err_set(err, LS_ERR_FORMAT,
                              "page index: page number %" PRIu64
                              " at index offset %zu is not above the previous (%u)",
                              pgno, at, prev);
        }
        if (count == cap) { /* cannot happen: each entry is >= 3 bytes */
            free(e);
            return ls_err_set(err, LS_ERR_INTERNAL, "page index: entry count overflow");
        }
        e[count].pgno = (uint32_t)pgno;
        e[count].offset = off;
        e[count].size = size;
        count++;
        prev = (uint32_t)pgno;
    }
    if (ltx_cur_left(&c) != 0) {
        free(e);
        return ls_err_set(err, LS_ERR_FORMAT,
                          "page index: %zu unexpected bytes after the terminator at index "
                          "offset %zu",
                          ltx_cur_left(&c), c.pos);
    }
    if (count == 0) {
        free(e);
        e = NULL;
    }
    *out = e;
    *n = count;
    return LS_OK;
}

static ls_code pread_exact(ltx_pread_fn pread, void *ctx, void *buf, size_t len, uint64_t off,
                           const char *what, ls_err *err) {
    size_t got = 0;
    ls_code rc = pread(ctx, buf, len, off, &got, err);
    if (rc != LS_OK) return ls_err_wrap(err, "read LTX %s at offset %" PRIu64, what, off);
    if (got != len)
        return ls_err_set(err, LS_ERR_FORMAT,
                          "unexpected EOF reading LTX %s: %zu of %zu bytes at offset %" PRIu64,
                          what, got, len, off);
    return LS_OK;
}

void ltx_file_index_free(ltx_file_index *fi) {
    if (!fi) return;
    free(fi->entries);
    fi->entries = NULL;
    fi->n = 0;
}

ls_code ltx_file_index_read(ltx_pread_fn pread, void *ctx, uint64_t file_size,
                            ltx_file_index *out, ls_err *err) {
    memset(out, 0, sizeof(*out));
    const uint64_t min_size =
        LTX_HEADER_SIZE + LTX_PAGE_HEADER_SIZE + 1 + LTX_INDEX_SIZE_FIELD + LTX_TRAILER_SIZE;
    if (file_size < min_size)
        return ls_err_set(err, LS_ERR_FORMAT,
                          "LTX file of %" PRIu64 " bytes is too small (minimum %" PRIu64 ")",
                          file_size, min_size);
    uint8_t hdr[LTX_HEADER_SIZE];
    ls_code rc = pread_exact(pread, ctx, hdr, sizeof(hdr), 0, "header", err);
    if (rc != LS_OK) return rc;
    ltx_header h;
    rc = ltx_header_decode(hdr, &h, err);
    if (rc != LS_OK) return rc;
    if (h.flags & 0x1u)
        return ls_err_set(err, LS_ERR_UNSUPPORTED,
                          "invalid flags: 0x%08x: flag 0x1 is CompressLZ4 of LTX format version "
                          "1 (litestream v0.3.x); format 1 is not supported",
                          h.flags);
    ls_err verr;
    if (ltx_header_validate(&h, &verr) != LS_OK)
        return ls_err_set(err, LS_ERR_FORMAT, "invalid LTX header: %s", verr.msg);

    uint8_t tail[LTX_INDEX_SIZE_FIELD + LTX_TRAILER_SIZE];
    uint64_t tail_at = file_size - sizeof(tail);
    rc = pread_exact(pread, ctx, tail, sizeof(tail), tail_at, "index size and trailer", err);
    if (rc != LS_OK) return rc;
    uint64_t isize = ltx_be64(tail);
    uint64_t max_isize = tail_at - LTX_HEADER_SIZE - LTX_PAGE_HEADER_SIZE;
    if (isize == 0 || isize > max_isize)
        return ls_err_set(err, LS_ERR_FORMAT,
                          "page index size field %" PRIu64 " at offset %" PRIu64
                          " does not fit a file of %" PRIu64 " bytes",
                          isize, tail_at, file_size);
    uint64_t index_at = tail_at - isize;
    uint64_t pages_end = index_at - LTX_PAGE_HEADER_SIZE; /* terminator position */
    /* Bound the allocation by what the file can hold: at most one entry
     * (<= 30 bytes) per page <= commit and per 11-byte minimal frame. */
    uint64_t max_entries = (pages_end - LTX_HEADER_SIZE) / 11;
    if (max_entries > h.commit) max_entries = h.commit;
    if (isize > max_entries * 3 * LTX_VARINT_MAX + 1)
        return ls_err_set(err, LS_ERR_FORMAT,
                          "page index size field %" PRIu64 " at offset %" PRIu64
                          " is larger than %" PRIu64 " entries can take (commit %u)",
                          isize, tail_at, max_entries, h.commit);
    uint8_t *ibuf = malloc((size_t)isize);
    if (!ibuf) return ls_err_set(err, LS_ERR_NOMEM, "page index: out of memory");
    rc = pread_exact(pread, ctx, ibuf, (size_t)isize, index_at, "page index", err);
    ltx_page_index_entry *e = NULL;
    size_t n = 0;
    if (rc == LS_OK) {
        rc = ltx_page_index_decode(ibuf, (size_t)isize, &e, &n, err);
        if (rc != LS_OK) ls_err_wrap(err, "page index at offset %" PRIu64, index_at);
    }
    free(ibuf);
    if (rc != LS_OK) return rc;

    uint32_t lock = ltx_lock_pgno(h.page_size);
    size_t max_frame = ltx_max_frame_size(h.page_size);
    uint64_t expect_off = LTX_HEADER_SIZE;
    for (size_t i = 0; i < n; i++) {
        const char *why = NULL;
        if (e[i].pgno > h.commit) why = "page number beyond the commit size";
        else if (e[i].pgno == lock) why = "lock page listed";
        else if (e[i].offset != expect_off) why = "frame offset is not where the previous frame ends";
        else if (e[i].size < 11 || e[i].size > max_frame) why = "invalid frame size";
        else if (e[i].size > pages_end - e[i].offset) why = "frame extends past the page block";
        if (why) {
            rc = ls_err_set(err, LS_ERR_FORMAT,
                            "page index entry %zu (pgno %u, offset %" PRIu64 ", size %" PRIu64
                            "): %s (commit %u, page block ends at %" PRIu64 ")",
                            i, e[i].pgno, e[i].offset, e[i].size, why, h.commit, pages_end);
            free(e);
            return rc;
        }
        expect_off = e[i].offset + e[i].size;
    }
    if (expect_off != pages_end) {
        free(e);
        return ls_err_set(err, LS_ERR_FORMAT,
                          "page index describes frames up to offset %" PRIu64
                          " but the page block ends at %" PRIu64,
                          expect_off, pages_end);
    }
    if (ltx_header_is_snapshot(&h)) {
        uint64_t want = h.commit - (h.commit >= lock ? 1 : 0);
        if (n != want) {
            free(e);
            return ls_err_set(err, LS_ERR_FORMAT,
                              "snapshot page index lists %zu pages, commit %u needs %" PRIu64, n,
                              h.commit, want);
        }
    }
    out->header = h;
    ltx_trailer_decode(tail + LTX_INDEX_SIZE_FIELD, &out->trailer);
    out->file_size = file_size;
    out->index_offset = index_at;
    out->index_size = isize;
    out->entries = e;
    out->n = n;
    return LS_OK;
}

ls_code ltx_decode_frame(const uint8_t *frame, size_t len, uint32_t page_size, uint32_t *pgno,
                         uint8_t *page, ls_err *err) {
    if (!ltx_page_size_valid(page_size))
        return ls_err_set(err, LS_ERR_INVALID, "decode page frame: invalid page size: %u",
                          page_size);
    ltx_cur c = ltx_cur_make(frame, len);
    uint32_t pg;
    uint16_t flags;
    if (!ltx_cur_be32(&c, &pg) || !ltx_cur_be16(&c, &flags))
        return ls_err_set(err, LS_ERR_FORMAT, "page frame of %zu bytes is too short", len);
    if (pg == 0) return ls_err_set(err, LS_ERR_FORMAT, "page frame: page number required");
    ltx_where wh = {pg, UINT64_MAX};
    ls_code rc;
    if (flags == LTX_PAGE_FLAG_SIZE) {
        uint32_t n;
        if (!ltx_cur_be32(&c, &n))
            return ls_err_set(err, LS_ERR_FORMAT, "%s: truncated size prefix", LTX_WHERE(&wh));
        if (n != ltx_cur_left(&c))
            return ls_err_set(err, LS_ERR_FORMAT,
                              "%s: compressed size %u does not match the frame (%zu bytes left)",
                              LTX_WHERE(&wh), n, ltx_cur_left(&c));
        rc = ltx_lz4_block_decode(frame + c.pos, n, page, page_size, &wh, err);
    } else if (flags == 0) {
        size_t total, need;
        size_t left = ltx_cur_left(&c);
        rc = ltx_lz4f_scan(frame + c.pos, left, ltx_max_frame_size(page_size), &total, &need,
                           &wh, err);
        if (rc == LS_OK && total != left)
            rc = ls_err_set(err, LS_ERR_FORMAT,
                            "%s: LZ4 frame length does not match the frame size (%zu bytes)",
                            LTX_WHERE(&wh), left);
        if (rc == LS_OK) rc = ltx_lz4f_decode(frame + c.pos, left, page, page_size, &wh, err);
    } else {
        rc = ls_err_set(err, LS_ERR_FORMAT, "%s: invalid page header flags: 0x%04x", LTX_WHERE(&wh), flags);
    }
    if (rc != LS_OK) return rc;
    *pgno = pg;
    return LS_OK;
}

ls_code ltx_read_page(ltx_pread_fn pread, void *ctx, const ltx_header *h,
                      const ltx_page_index_entry *e, uint8_t *page, ls_err *err) {
    if (e->size < 11 || e->size > ltx_max_frame_size(h->page_size))
        return ls_err_set(err, LS_ERR_FORMAT, "page %u: invalid frame size %" PRIu64, e->pgno,
                          e->size);
    uint8_t *frame = malloc((size_t)e->size);
    if (!frame) return ls_err_set(err, LS_ERR_NOMEM, "read page %u: out of memory", e->pgno);
    ls_code rc = pread_exact(pread, ctx, frame, (size_t)e->size, e->offset, "page frame", err);
    uint32_t pgno = 0;
    if (rc == LS_OK) rc = ltx_decode_frame(frame, (size_t)e->size, h->page_size, &pgno, page, err);
    free(frame);
    if (rc != LS_OK) return ls_err_wrap(err, "page %u at offset %" PRIu64, e->pgno, e->offset);
    if (pgno != e->pgno)
        return ls_err_set(err, LS_ERR_FORMAT,
                          "page frame at offset %" PRIu64 " holds page %u, the index says %u",
                          e->offset, pgno, e->pgno);
    return LS_OK;
}
