/*
 * ltx/ltx_internal.h — helpers shared by the ltx .c files only: a
 * bounds-checked byte cursor, big/little-endian loads and stores, varints,
 * the portable CRC path (for tests), xxHash32 and LZ4 frame parsing.
 * Not part of the public API; thread-safe (no shared state beyond the CRC
 * tables, which are built once under pthread_once).
 */
#ifndef LS_LTX_INTERNAL_H
#define LS_LTX_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ltx/ltx.h"

/* ---- endian helpers ----------------------------------------------------- */

static inline uint16_t ltx_be16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline uint32_t ltx_be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline uint64_t ltx_be64(const uint8_t *p) {
    return ((uint64_t)ltx_be32(p) << 32) | ltx_be32(p + 4);
}
static inline uint32_t ltx_le32(const uint8_t *p) {
    return ((uint32_t)p[3] << 24) | ((uint32_t)p[2] << 16) | ((uint32_t)p[1] << 8) | p[0];
}
static inline void ltx_put_be16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void ltx_put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
static inline void ltx_put_be64(uint8_t *p, uint64_t v) {
    ltx_put_be32(p, (uint32_t)(v >> 32));
    ltx_put_be32(p + 4, (uint32_t)v);
}

/* ---- bounds-checked cursor over untrusted bytes ------------------------- */

typedef struct ltx_cur {
    const uint8_t *p;
    size_t len;
    size_t pos;
} ltx_cur;

static inline ltx_cur ltx_cur_make(const void *p, size_t len) {
    ltx_cur c = {(const uint8_t *)p, len, 0};
    return c;
}
static inline size_t ltx_cur_left(const ltx_cur *c) { return c->len - c->pos; }
/* Returns a pointer to the next n bytes and advances, or NULL (no advance). */
static inline const uint8_t *ltx_cur_take(ltx_cur *c, size_t n) {
    if (n > c->len - c->pos) return NULL;
    const uint8_t *p = c->p + c->pos;
    c->pos += n;
    return p;
}
static inline bool ltx_cur_u8(ltx_cur *c, uint8_t *v) {
    const uint8_t *p = ltx_cur_take(c, 1);
    if (!p) return false;
    *v = *p;
    return true;
}
static inline bool ltx_cur_be16(ltx_cur *c, uint16_t *v) {
    const uint8_t *p = ltx_cur_take(c, 2);
    if (!p) return false;
    *v = ltx_be16(p);
    return true;
}
static inline bool ltx_cur_be32(ltx_cur *c, uint32_t *v) {
    const uint8_t *p = ltx_cur_take(c, 4);
    if (!p) return false;
    *v = ltx_be32(p);
    return true;
}
static inline bool ltx_cur_be64(ltx_cur *c, uint64_t *v) {
    const uint8_t *p = ltx_cur_take(c, 8);
    if (!p) return false;
    *v = ltx_be64(p);
    return true;
}
static inline bool ltx_cur_le32(ltx_cur *c, uint32_t *v) {
    const uint8_t *p = ltx_cur_take(c, 4);
    if (!p) return false;
    *v = ltx_le32(p);
    return true;
}

/* ---- unsigned LEB128 varints (Go binary.Uvarint) ------------------------ */

#define LTX_VARINT_MAX 10

/* Encodes v into out (>= 10 bytes); returns the byte count. */
static inline size_t ltx_varint_put(uint8_t *out, uint64_t v) {
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

typedef enum { LTX_VARINT_OK, LTX_VARINT_SHORT, LTX_VARINT_OVERFLOW } ltx_varint_rc;

/* Incremental varint decoding: feed bytes one at a time. */
typedef struct ltx_varint_state {
    uint64_t v;
    unsigned shift;
    unsigned n;
} ltx_varint_state;

/* Returns LTX_VARINT_OK when b ended the varint (value in st->v),
 * LTX_VARINT_SHORT when more bytes are needed, LTX_VARINT_OVERFLOW when the
 * value does not fit 64 bits (more than 10 bytes, or a 10th byte > 1). */
static inline ltx_varint_rc ltx_varint_feed(ltx_varint_state *st, uint8_t b) {
    if (st->n == LTX_VARINT_MAX - 1 && b > 1) return LTX_VARINT_OVERFLOW;
    st->v |= (uint64_t)(b & 0x7f) << st->shift;
    st->n++;
    if (!(b & 0x80)) return LTX_VARINT_OK;
    if (st->n >= LTX_VARINT_MAX) return LTX_VARINT_OVERFLOW;
    st->shift += 7;
    return LTX_VARINT_SHORT;
}

static inline ltx_varint_rc ltx_cur_varint(ltx_cur *c, uint64_t *v) {
    ltx_varint_state st = {0, 0, 0};
    for (;;) {
        uint8_t b;
        if (!ltx_cur_u8(c, &b)) return LTX_VARINT_SHORT;
        ltx_varint_rc rc = ltx_varint_feed(&st, b);
        if (rc == LTX_VARINT_OK) {
            *v = st.v;
            return rc;
        }
        if (rc == LTX_VARINT_OVERFLOW) return rc;
    }
}

/* ---- CRC-64 -------------------------------------------------------------- */

/* Portable slicing-by-16 path (Go convention, like ltx_crc64). */
uint64_t ltx_crc64_portable(uint64_t crc, const void *p, size_t n);
/* True when ltx_crc64 uses the carry-less-multiplication path. */
bool ltx_crc64_accelerated(void);
/* Name of the CRC implementation in use (for benchmarks and tests). */
const char *ltx_crc64_impl(void);

/* ---- xxHash32 (LZ4 frame checksums) ------------------------------------- */

uint32_t ltx_xxh32(const void *p, size_t n, uint32_t seed);

/* ---- error context ------------------------------------------------------- */

/* Where a page frame is, for error messages; formatted only on failure. */
typedef struct ltx_where {
    uint32_t pgno;
    uint64_t offset; /* UINT64_MAX when unknown */
} ltx_where;

/* "page N at offset O" / "page N" into buf (>= 64 bytes); returns buf. */
const char *ltx_where_str(const ltx_where *w, char *buf);
#define LTX_WHERE(w) ltx_where_str((w), (char[64]){0})

/* ---- LZ4 frames (legacy v3 page encoding) ------------------------------- */

#define LTX_LZ4F_MAGIC 0x184D2204u
/* Extra bytes a legacy frame may take beyond LZ4_compressBound(page size). */
#define LTX_LZ4F_OVERHEAD 64u

/* Scans a (possibly partial) LZ4 frame in buf[0..have). Returns:
 *   LS_OK with *total = the frame length when the whole frame is present;
 *   LS_OK with *total = 0 and *need = bytes needed (> have) to progress;
 *   LS_ERR_FORMAT for a malformed frame or one longer than max_len.
 * Checks the magic, descriptor (version, reserved bits, header checksum) and
 * block sizes (each <= max_len). wh names the page in messages. */
ls_code ltx_lz4f_scan(const uint8_t *buf, size_t have, size_t max_len, size_t *total,
                      size_t *need, const ltx_where *wh, ls_err *err);
/* Decompresses a complete, scanned frame of len bytes into page; the output
 * must be exactly page_size bytes. Verifies block and content checksums. */
ls_code ltx_lz4f_decode(const uint8_t *buf, size_t len, uint8_t *page, uint32_t page_size,
                        const ltx_where *wh, ls_err *err);

/* LZ4 block decode of a size-prefixed page payload: exactly page_size out. */
ls_code ltx_lz4_block_decode(const uint8_t *src, size_t n, uint8_t *page, uint32_t page_size,
                             const ltx_where *wh, ls_err *err);

/* Max payload size of a size-prefixed block page. */
size_t ltx_max_block_size(uint32_t page_size);

/* Header checks shared by decoder and random access. */
bool ltx_page_size_valid(uint32_t page_size);

#endif
