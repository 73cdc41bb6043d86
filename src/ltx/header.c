/*
 * ltx/header.c — LTX header and trailer (de)serialization and validation,
 * file names and TXID text forms (spec 1.1, 1.3, 1.4, 1.8, 1.11).
 */
#include <inttypes.h>
#include <stdio.h>

#include "ltx/ltx_internal.h"

/*
 * Header, 100 bytes, big-endian (spec 1.3):
 *
 * | off | size | field              | type          |
 * |-----|------|--------------------|---------------|
 * |   0 |    4 | magic "LTX1"       | ASCII         |
 * |   4 |    4 | flags              | BE32          |
 * |   8 |    4 | page size          | BE32          |
 * |  12 |    4 | commit (pages)     | BE32          |
 * |  16 |    8 | min TXID           | BE64          |
 * |  24 |    8 | max TXID           | BE64          |
 * |  32 |    8 | timestamp (ms)     | BE64 signed   |
 * |  40 |    8 | pre-apply checksum | BE64          |
 * |  48 |    8 | WAL offset         | BE64 signed   |
 * |  56 |    8 | WAL size           | BE64 signed   |
 * |  64 |    4 | WAL salt 1         | BE32          |
 * |  68 |    4 | WAL salt 2         | BE32          |
 * |  72 |    8 | node id            | BE64          |
 * |  80 |   20 | reserved (zero, not checked on read) |
 */
void ltx_header_encode(const ltx_header *h, uint8_t out[LTX_HEADER_SIZE]) {
    memset(out, 0, LTX_HEADER_SIZE);
    memcpy(out, LTX_MAGIC, 4);
    ltx_put_be32(out + 4, h->flags);
    ltx_put_be32(out + 8, h->page_size);
    ltx_put_be32(out + 12, h->commit);
    ltx_put_be64(out + 16, h->min_txid);
    ltx_put_be64(out + 24, h->max_txid);
    ltx_put_be64(out + 32, (uint64_t)h->timestamp);
    ltx_put_be64(out + 40, h->pre_apply_checksum);
    ltx_put_be64(out + 48, (uint64_t)h->wal_offset);
    ltx_put_be64(out + 56, (uint64_t)h->wal_size);
    ltx_put_be32(out + 64, h->wal_salt1);
    ltx_put_be32(out + 68, h->wal_salt2);
    ltx_put_be64(out + 72, h->node_id);
}

ls_code ltx_header_decode(const uint8_t buf[LTX_HEADER_SIZE], ltx_header *h, ls_err *err) {
    ltx_cur c = ltx_cur_make(buf, LTX_HEADER_SIZE);
    const uint8_t *magic = ltx_cur_take(&c, 4);
    if (memcmp(magic, LTX_MAGIC, 4) != 0)
        return ls_err_set(err, LS_ERR_FORMAT,
                          "invalid LTX file: bad magic %02x %02x %02x %02x at offset 0 "
                          "(want \"LTX1\")",
                          magic[0], magic[1], magic[2], magic[3]);
    uint64_t ts, wo, ws;
    ltx_cur_be32(&c, &h->flags);
    ltx_cur_be32(&c, &h->page_size);
    ltx_cur_be32(&c, &h->commit);
    ltx_cur_be64(&c, &h->min_txid);
    ltx_cur_be64(&c, &h->max_txid);
    ltx_cur_be64(&c, &ts);
    ltx_cur_be64(&c, &h->pre_apply_checksum);
    ltx_cur_be64(&c, &wo);
    ltx_cur_be64(&c, &ws);
    ltx_cur_be32(&c, &h->wal_salt1);
    ltx_cur_be32(&c, &h->wal_salt2);
    ltx_cur_be64(&c, &h->node_id);
    h->timestamp = (int64_t)ts;
    h->wal_offset = (int64_t)wo;
    h->wal_size = (int64_t)ws;
    return LS_OK;
}

bool ltx_page_size_valid(uint32_t page_size) {
    return page_size >= LTX_MIN_PAGE_SIZE && page_size <= LTX_MAX_PAGE_SIZE &&
           (page_size & (page_size - 1)) == 0;
}

bool ltx_header_is_snapshot(const ltx_header *h) { return h->min_txid == 1; }

bool ltx_header_has_checksum(const ltx_header *h) {
    return (h->flags & LTX_FLAG_NO_CHECKSUM) == 0;
}

uint32_t ltx_lock_pgno(uint32_t page_size) {
    if (page_size == 0) return 0;
    return (uint32_t)(0x40000000u / page_size + 1);
}

ls_code ltx_header_validate(const ltx_header *h, ls_err *err) {
    if (h->flags & ~LTX_HEADER_FLAGS_MASK)
        return ls_err_set(err, LS_ERR_FORMAT, "invalid flags: 0x%08x", h->flags);
    if (!ltx_page_size_valid(h->page_size))
        return ls_err_set(err, LS_ERR_FORMAT, "invalid page size: %u", h->page_size);
    if (h->min_txid == 0)
        return ls_err_set(err, LS_ERR_FORMAT, "minimum transaction id required");
    if (h->max_txid == 0)
        return ls_err_set(err, LS_ERR_FORMAT, "maximum transaction id required");
    if (h->min_txid > h->max_txid)
        return ls_err_set(err, LS_ERR_FORMAT, "transaction ids out of order: (%" PRIu64 ",%" PRIu64 ")",
                          h->min_txid, h->max_txid);
    if (h->wal_offset < 0)
        return ls_err_set(err, LS_ERR_FORMAT, "wal offset cannot be negative: %" PRId64,
                          h->wal_offset);
    if (h->wal_size < 0)
        return ls_err_set(err, LS_ERR_FORMAT, "wal size cannot be negative: %" PRId64,
                          h->wal_size);
    if ((h->wal_salt1 != 0 || h->wal_salt2 != 0) && h->wal_offset == 0)
        return ls_err_set(err, LS_ERR_FORMAT, "wal offset required if salt exists");
    if (h->wal_offset == 0 && h->wal_size != 0)
        return ls_err_set(err, LS_ERR_FORMAT, "wal offset required if wal size exists");
    if (ltx_header_is_snapshot(h)) {
        if (h->pre_apply_checksum != 0)
            return ls_err_set(err, LS_ERR_FORMAT, "pre-apply checksum must be zero on snapshots");
    } else if (!ltx_header_has_checksum(h)) {
        if (h->pre_apply_checksum != 0)
            return ls_err_set(err, LS_ERR_FORMAT,
                              "pre-apply checksum must be zero when checksums are disabled "
                              "(flag 0x%08x)",
                              LTX_FLAG_NO_CHECKSUM);
    } else {
        if (h->pre_apply_checksum == 0)
            return ls_err_set(err, LS_ERR_FORMAT,
                              "pre-apply checksum required on non-snapshot files");
        if (!(h->pre_apply_checksum & LTX_CHECKSUM_FLAG))
            return ls_err_set(err, LS_ERR_FORMAT, "invalid pre-apply checksum format");
    }
    return LS_OK;
}

/*
 * Trailer, 16 bytes (spec 1.8):
 *
 * | off | size | field               | type |
 * |-----|------|---------------------|------|
 * |   0 |    8 | post-apply checksum | BE64 |
 * |   8 |    8 | file checksum       | BE64 |
 */
void ltx_trailer_encode(const ltx_trailer *t, uint8_t out[LTX_TRAILER_SIZE]) {
    ltx_put_be64(out, t->post_apply_checksum);
    ltx_put_be64(out + 8, t->file_checksum);
}

void ltx_trailer_decode(const uint8_t buf[LTX_TRAILER_SIZE], ltx_trailer *t) {
    t->post_apply_checksum = ltx_be64(buf);
    t->file_checksum = ltx_be64(buf + 8);
}

/* ---- names ---------------------------------------------------------------- */

static int hexval(char ch, bool lower_only) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (!lower_only && ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

static bool parse_hex16(const char *s, bool lower_only, uint64_t *out) {
    uint64_t v = 0;
    for (int i = 0; i < 16; i++) {
        int d = hexval(s[i], lower_only);
        if (d < 0) return false;
        v = (v << 4) | (uint64_t)d;
    }
    *out = v;
    return true;
}

bool ltx_parse_txid(const char *s, uint64_t *out) {
    if (!s || strlen(s) != 16) return false;
    uint64_t v;
    if (!parse_hex16(s, false, &v)) return false;
    if (out) *out = v;
    return true;
}

void ltx_format_txid(uint64_t txid, char out[LTX_TXID_STR_SIZE]) {
    snprintf(out, LTX_TXID_STR_SIZE, "%016" PRIx64, txid);
}

void ltx_format_pos(uint64_t txid, uint64_t checksum, char out[LTX_POS_STR_SIZE]) {
    snprintf(out, LTX_POS_STR_SIZE, "%016" PRIx64 "/%016" PRIx64, txid, checksum);
}

bool ltx_parse_filename(const char *name, uint64_t *min, uint64_t *max) {
    /* ^[0-9a-f]{16}-[0-9a-f]{16}\.ltx$ */
    if (!name || strlen(name) != 37) return false;
    uint64_t a, b;
    if (!parse_hex16(name, true, &a) || name[16] != '-' || !parse_hex16(name + 17, true, &b) ||
        memcmp(name + 33, ".ltx", 4) != 0)
        return false;
    if (min) *min = a;
    if (max) *max = b;
    return true;
}

void ltx_format_filename(uint64_t min, uint64_t max, char out[LTX_FILENAME_MAX]) {
    snprintf(out, LTX_FILENAME_MAX, "%016" PRIx64 "-%016" PRIx64 ".ltx", min, max);
}
