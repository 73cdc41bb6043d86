/*
 * ltx/lz4util.c — LZ4 page payloads: the size-prefixed LZ4 block of ltx
 * v0.5.2 and the legacy per-page LZ4 frame of ltx v0.5.0/v0.5.1 (spec 1.5).
 *
 * Decompression is always liblz4's (LZ4_decompress_safe*); this file only
 * walks the LZ4 frame container to find block boundaries and checks the
 * frame's xxHash32 checksums.
 */
#include <lz4.h>
#include <stdio.h>

#include "ltx/ltx_internal.h"

/* ---- xxHash32 ------------------------------------------------------------ */

#define XXH_P1 0x9E3779B1u
#define XXH_P2 0x85EBCA77u
#define XXH_P3 0xC2B2AE3Du
#define XXH_P4 0x27D4EB2Fu
#define XXH_P5 0x165667B1u

static inline uint32_t rotl32(uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }
static inline uint32_t xxh_round(uint32_t acc, uint32_t in) {
    acc += in * XXH_P2;
    acc = rotl32(acc, 13);
    return acc * XXH_P1;
}

uint32_t ltx_xxh32(const void *data, size_t n, uint32_t seed) {
    const uint8_t *p = data;
    const uint8_t *end = p + n;
    uint32_t h;
    if (n >= 16) {
        uint32_t v1 = seed + XXH_P1 + XXH_P2, v2 = seed + XXH_P2, v3 = seed, v4 = seed - XXH_P1;
        const uint8_t *limit = end - 16;
        do {
            v1 = xxh_round(v1, ltx_le32(p));
            v2 = xxh_round(v2, ltx_le32(p + 4));
            v3 = xxh_round(v3, ltx_le32(p + 8));
            v4 = xxh_round(v4, ltx_le32(p + 12));
            p += 16;
        } while (p <= limit);
        h = rotl32(v1, 1) + rotl32(v2, 7) + rotl32(v3, 12) + rotl32(v4, 18);
    } else {
        h = seed + XXH_P5;
    }
    h += (uint32_t)n;
    while (p + 4 <= end) {
        h += ltx_le32(p) * XXH_P3;
        h = rotl32(h, 17) * XXH_P4;
        p += 4;
    }
    while (p < end) {
        h += (*p++) * XXH_P5;
        h = rotl32(h, 11) * XXH_P1;
    }
    h ^= h >> 15;
    h *= XXH_P2;
    h ^= h >> 13;
    h *= XXH_P3;
    h ^= h >> 16;
    return h;
}

const char *ltx_where_str(const ltx_where *w, char *buf) {
    if (w->offset == UINT64_MAX) snprintf(buf, 64, "page %u", w->pgno);
    else snprintf(buf, 64, "page %u at offset %llu", w->pgno, (unsigned long long)w->offset);
    return buf;
}

/* ---- size-prefixed LZ4 block --------------------------------------------- */

size_t ltx_max_block_size(uint32_t page_size) {
    return (size_t)LZ4_compressBound((int)page_size);
}

ls_code ltx_lz4_block_decode(const uint8_t *src, size_t n, uint8_t *page, uint32_t page_size,
                             const ltx_where *wh, ls_err *err) {
    if (n == 0 || n > ltx_max_block_size(page_size))
        return ls_err_set(err, LS_ERR_FORMAT, "%s: invalid compressed size %zu (page size %u)",
                          LTX_WHERE(wh), n, page_size);
    int r = LZ4_decompress_safe((const char *)src, (char *)page, (int)n, (int)page_size);
    if (r < 0)
        return ls_err_set(err, LS_ERR_FORMAT,
                          "%s: corrupt LZ4 block of %zu bytes (or larger than the page size %u)",
                          LTX_WHERE(wh), n, page_size);
    if ((uint32_t)r != page_size)
        return ls_err_set(err, LS_ERR_FORMAT,
                          "%s: LZ4 block decompresses to %d bytes, want page size %u", LTX_WHERE(wh), r,
                          page_size);
    return LS_OK;
}

/* ---- LZ4 frame ------------------------------------------------------------
 *
 * LZ4 frame format (little-endian), as far as this code reads it:
 *
 * | size   | field                                                        |
 * |--------|--------------------------------------------------------------|
 * | 4      | magic 04 22 4D 18 (LE32 0x184D2204)                          |
 * | 1      | FLG: bits 7-6 version = 01, 5 block independence, 4 block    |
 * |        | checksum, 3 content size, 2 content checksum, 1 reserved 0,  |
 * |        | 0 dictionary id                                              |
 * | 1      | BD: bit 7 reserved 0, bits 6-4 max block size (4=64 KiB,     |
 * |        | 5=256 KiB, 6=1 MiB, 7=4 MiB), bits 3-0 reserved 0            |
 * | 0 / 8  | content size (LE64) if FLG bit 3                             |
 * | 0 / 4  | dictionary id (LE32) if FLG bit 0 (refused: no dictionary)   |
 * | 1      | HC = (xxh32(FLG .. before HC, seed 0) >> 8) & 0xFF           |
 * | blocks | LE32 size (bit 31 = stored uncompressed, value 0 = EndMark), |
 * |        | data, LE32 xxh32(data) if FLG bit 4                          |
 * | 4      | EndMark 00 00 00 00                                          |
 * | 0 / 4  | LE32 xxh32(decompressed content) if FLG bit 2                |
 */

#define FLG_VERSION_MASK 0xC0
#define FLG_VERSION_01 0x40
#define FLG_BLOCK_INDEP 0x20
#define FLG_BLOCK_CSUM 0x10
#define FLG_CONTENT_SIZE 0x08
#define FLG_CONTENT_CSUM 0x04
#define FLG_RESERVED 0x02
#define FLG_DICT_ID 0x01

static size_t bd_max_block(uint8_t bd) {
    switch ((bd >> 4) & 7) {
    case 4: return 64u << 10;
    case 5: return 256u << 10;
    case 6: return 1u << 20;
    case 7: return 4u << 20;
    default: return 0;
    }
}

/* Parses the frame descriptor at buf (have bytes). Returns LS_OK with
 * *hdr_len set, or *need > have when more bytes are needed. */
static ls_code lz4f_header(const uint8_t *buf, size_t have, size_t *hdr_len, size_t *need,
                           uint8_t *flg_out, size_t *max_block, const ltx_where *wh, ls_err *err) {
    *hdr_len = 0;
    *need = 0;
    if (have < 7) {
        *need = 7;
        return LS_OK;
    }
    uint32_t magic = ltx_le32(buf);
    if (magic != LTX_LZ4F_MAGIC)
        return ls_err_set(err, LS_ERR_FORMAT,
                          "%s: page without size flag is not an LZ4 frame (magic %08x, want "
                          "%08x)",
                          LTX_WHERE(wh), magic, LTX_LZ4F_MAGIC);
    uint8_t flg = buf[4], bd = buf[5];
    if ((flg & FLG_VERSION_MASK) != FLG_VERSION_01)
        return ls_err_set(err, LS_ERR_FORMAT, "%s: unsupported LZ4 frame version (FLG 0x%02x)",
                          LTX_WHERE(wh), flg);
    if (flg & FLG_RESERVED)
        return ls_err_set(err, LS_ERR_FORMAT, "%s: LZ4 frame reserved FLG bit set (0x%02x)",
                          LTX_WHERE(wh), flg);
    if (flg & FLG_DICT_ID)
        return ls_err_set(err, LS_ERR_FORMAT,
                          "%s: LZ4 frame needs a dictionary (FLG 0x%02x), not supported", LTX_WHERE(wh),
                          flg);
    if ((bd & 0x8F) || bd_max_block(bd) == 0)
        return ls_err_set(err, LS_ERR_FORMAT, "%s: invalid LZ4 frame BD byte 0x%02x", LTX_WHERE(wh), bd);
    size_t len = 4 + 2 + ((flg & FLG_CONTENT_SIZE) ? 8 : 0) + 1;
    if (have < len) {
        *need = len;
        return LS_OK;
    }
    uint8_t hc = (uint8_t)(ltx_xxh32(buf + 4, len - 5, 0) >> 8);
    if (hc != buf[len - 1])
        return ls_err_set(err, LS_ERR_FORMAT,
                          "%s: LZ4 frame header checksum mismatch (stored 0x%02x, computed 0x%02x)",
                          LTX_WHERE(wh), buf[len - 1], hc);
    *hdr_len = len;
    *flg_out = flg;
    *max_block = bd_max_block(bd);
    return LS_OK;
}

ls_code ltx_lz4f_scan(const uint8_t *buf, size_t have, size_t max_len, size_t *total,
                      size_t *need, const ltx_where *wh, ls_err *err) {
    *total = 0;
    *need = 0;
    size_t pos, max_block;
    uint8_t flg = 0;
    ls_code rc = lz4f_header(buf, have, &pos, need, &flg, &max_block, wh, err);
    if (rc != LS_OK) return rc;
    if (*need) return LS_OK;
    for (;;) {
        if (have < pos + 4) {
            *need = pos + 4;
            break;
        }
        uint32_t bsize = ltx_le32(buf + pos);
        if (bsize == 0) { /* EndMark */
            size_t end = pos + 4 + ((flg & FLG_CONTENT_CSUM) ? 4 : 0);
            if (end > max_len) goto too_large;
            if (have < end) {
                *need = end;
                return LS_OK;
            }
            *total = end;
            return LS_OK;
        }
        size_t len = bsize & 0x7FFFFFFFu;
        if (len == 0 || len > max_block)
            return ls_err_set(err, LS_ERR_FORMAT,
                              "%s: invalid LZ4 frame block size %zu at frame offset %zu", LTX_WHERE(wh),
                              len, pos);
        size_t next = pos + 4 + len + ((flg & FLG_BLOCK_CSUM) ? 4 : 0);
        if (next > max_len) goto too_large;
        pos = next;
    }
    if (*need > max_len) goto too_large;
    return LS_OK;
too_large:
    return ls_err_set(err, LS_ERR_FORMAT, "%s: LZ4 frame longer than %zu bytes", LTX_WHERE(wh), max_len);
}

ls_code ltx_lz4f_decode(const uint8_t *buf, size_t len, uint8_t *page, uint32_t page_size,
                        const ltx_where *wh, ls_err *err) {
    size_t pos, need, max_block;
    uint8_t flg = 0;
    ls_code rc = lz4f_header(buf, len, &pos, &need, &flg, &max_block, wh, err);
    if (rc != LS_OK) return rc;
    if (need)
        return ls_err_set(err, LS_ERR_FORMAT, "%s: truncated LZ4 frame header", LTX_WHERE(wh));
    if (flg & FLG_CONTENT_SIZE) {
        uint64_t csize = (uint64_t)ltx_le32(buf + 6) | ((uint64_t)ltx_le32(buf + 10) << 32);
        if (csize != page_size)
            return ls_err_set(err, LS_ERR_FORMAT,
                              "%s: LZ4 frame content size %llu, want page size %u", LTX_WHERE(wh),
                              (unsigned long long)csize, page_size);
    }
    ltx_cur c = ltx_cur_make(buf, len);
    c.pos = pos;
    size_t out = 0;
    for (;;) {
        size_t at = c.pos;
        uint32_t bsize;
        if (!ltx_cur_le32(&c, &bsize))
            return ls_err_set(err, LS_ERR_FORMAT, "%s: truncated LZ4 frame at offset %zu", LTX_WHERE(wh),
                              at);
        if (bsize == 0) break;
        size_t blen = bsize & 0x7FFFFFFFu;
        const uint8_t *data = ltx_cur_take(&c, blen);
        if (!data || blen == 0 || blen > max_block)
            return ls_err_set(err, LS_ERR_FORMAT,
                              "%s: invalid LZ4 frame block of %zu bytes at frame offset %zu",
                              LTX_WHERE(wh), blen, at);
        if (flg & FLG_BLOCK_CSUM) {
            uint32_t want;
            if (!ltx_cur_le32(&c, &want))
                return ls_err_set(err, LS_ERR_FORMAT, "%s: truncated LZ4 block checksum",
                                  LTX_WHERE(wh));
            uint32_t got = ltx_xxh32(data, blen, 0);
            if (got != want)
                return ls_err_set(err, LS_ERR_CHECKSUM,
                                  "%s: LZ4 block checksum mismatch at frame offset %zu", LTX_WHERE(wh),
                                  at);
        }
        size_t room = page_size - out;
        if (bsize & 0x80000000u) { /* stored */
            if (blen > room)
                return ls_err_set(err, LS_ERR_FORMAT,
                                  "%s: LZ4 frame decompresses to more than the page size %u",
                                  LTX_WHERE(wh), page_size);
            memcpy(page + out, data, blen);
            out += blen;
        } else {
            int r;
            if (room == 0) {
                r = -1;
            } else if ((flg & FLG_BLOCK_INDEP) || out == 0) {
                r = LZ4_decompress_safe((const char *)data, (char *)page + out, (int)blen,
                                        (int)room);
            } else {
                r = LZ4_decompress_safe_usingDict((const char *)data, (char *)page + out,
                                                  (int)blen, (int)room, (const char *)page,
                                                  (int)out);
            }
            if (r < 0)
                return ls_err_set(err, LS_ERR_FORMAT,
                                  "%s: corrupt LZ4 block at frame offset %zu (or larger than "
                                  "the page size %u)",
                                  LTX_WHERE(wh), at, page_size);
            out += (size_t)r;
        }
    }
    if (out != page_size)
        return ls_err_set(err, LS_ERR_FORMAT,
                          "%s: LZ4 frame decompresses to %zu bytes, want page size %u", LTX_WHERE(wh),
                          out, page_size);
    if (flg & FLG_CONTENT_CSUM) {
        uint32_t want;
        if (!ltx_cur_le32(&c, &want))
            return ls_err_set(err, LS_ERR_FORMAT, "%s: truncated LZ4 content checksum", LTX_WHERE(wh));
        uint32_t got = ltx_xxh32(page, page_size, 0);
        if (got != want)
            return ls_err_set(err, LS_ERR_CHECKSUM,
                              "%s: LZ4 frame content checksum mismatch (stored %08x, computed "
                              "%08x)",
                              LTX_WHERE(wh), want, got);
    }
    if (ltx_cur_left(&c) != 0)
        return ls_err_set(err, LS_ERR_FORMAT, "%s: %zu unexpected bytes after the LZ4 frame",
                          LTX_WHERE(wh), ltx_cur_left(&c));
    return LS_OK;
}
