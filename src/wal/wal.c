/*
 * wal/wal.c — WAL header, checksum, frame I/O and the sequential reader.
 * See wal.h for the contract.
 */
#include "wal/wal.h"
#include "wal/wal_internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "util/fs.h"

struct wal_reader {
    int fd;
    wal_header hdr;
    uint32_t page_size;
    bool big_endian;
    uint32_t salt1, salt2;           /* expected salts */
    uint32_t ck1, ck2;               /* running checksum */
    uint32_t commit_ck1, commit_ck2; /* checksum after the last commit (page map) */
    int64_t pos;                     /* offset of the next frame */
    int64_t last;                    /* offset of the last frame read, 0 if none */
    bool eof;
    uint8_t *buf;  /* 24 + page_size (previous frame of a resume reader) */
    const uint8_t *cur; /* the frame read last: into buf or into ra */
    /* Read-ahead: sequential frames are read WAL_READAHEAD bytes per pread
     * instead of one frame per call. Frames already committed never change
     * in place (only a WAL restart rewrites them, and the salts/checksum
     * chain detects that), so buffered bytes are as good as fresh ones; a
     * torn frame at the end of the buffer is re-read from the file. */
    uint8_t *ra;
    size_t ra_cap, ra_len;
    int64_t ra_off;
};

#define WAL_READAHEAD (256 * 1024)

static uint32_t get_be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static uint32_t get_le32(const uint8_t *p) {
    return ((uint32_t)p[3] << 24) | ((uint32_t)p[2] << 16) | ((uint32_t)p[1] << 8) | p[0];
}
static void put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

void wal_checksum(bool big_endian, const uint8_t *buf, size_t n, uint32_t *s0, uint32_t *s1) {
    uint32_t a = *s0, b = *s1;
    size_t end = n & ~(size_t)7;
    if (big_endian) {
        for (size_t i = 0; i < end; i += 8) {
            a += get_be32(buf + i) + b;
            b += get_be32(buf + i + 4) + a;
        }
    } else {
        for (size_t i = 0; i < end; i += 8) {
            a += get_le32(buf + i) + b;
            b += get_le32(buf + i + 4) + a;
        }
    }
    *s0 = a;
    *s1 = b;
}

bool wal_page_size_valid(uint32_t ps) {
    return ps >= WAL_MIN_PAGE_SIZE && ps <= WAL_MAX_PAGE_SIZE && (ps & (ps - 1)) == 0;
}

void wal_header_decode(const uint8_t buf[WAL_HEADER_SIZE], wal_header *h) {
    h->magic = get_be32(buf + 0);
    h->version = get_be32(buf + 4);
    h->page_size = get_be32(buf + 8);
    h->ckpt_seq = get_be32(buf + 12);
    h->salt1 = get_be32(buf + 16);
    h->salt2 = get_be32(buf + 20);
    h->cksum1 = get_be32(buf + 24);
    h->cksum2 = get_be32(buf + 28);
    h->cksum_big_endian = h->magic == WAL_MAGIC_BE;
}

void wal_header_encode(const wal_header *h, uint8_t buf[WAL_HEADER_SIZE]) {
    put_be32(buf + 0, h->magic);
    put_be32(buf + 4, h->version);
    put_be32(buf + 8, h->page_size);
    put_be32(buf + 12, h->ckpt_seq);
    put_be32(buf + 16, h->salt1);
    put_be32(buf + 20, h->salt2);
    put_be32(buf + 24, h->cksum1);
    put_be32(buf + 28, h->cksum2);
}

void wal_header_finalize(wal_header *h) {
    uint8_t buf[WAL_HEADER_SIZE];
    h->cksum_big_endian = h->magic == WAL_MAGIC_BE;
    wal_header_encode(h, buf);
    uint32_t s0 = 0, s1 = 0;
    wal_checksum(h->cksum_big_endian, buf, 24, &s0, &s1);
    h->cksum1 = s0;
    h->cksum2 = s1;
}

ls_code wal_header_read_raw(int fd, uint8_t buf[WAL_HEADER_SIZE], size_t *n, ls_err *err) {
    size_t got = 0;
    memset(buf, 0, WAL_HEADER_SIZE);
    *n = 0;
    ls_code rc = ls_pread_full(fd, buf, WAL_HEADER_SIZE, 0, &got, err, "wal header");
    if (rc != LS_OK) return rc;
    *n = got;
    return LS_OK;
}

ls_code wal_header_read(int fd, wal_header *h, bool *valid, ls_err *err) {
    uint8_t buf[WAL_HEADER_SIZE];
    size_t got = 0;
    memset(h, 0, sizeof(*h));
    *valid = false;
    ls_code rc = ls_pread_full(fd, buf, sizeof(buf), 0, &got, err, "wal header");
    if (rc != LS_OK) return rc;
    if (got < sizeof(buf)) return LS_OK; /* partial WAL: "EOF" */

    wal_header tmp;
    wal_header_decode(buf, &tmp);
    if (tmp.magic != WAL_MAGIC_LE && tmp.magic != WAL_MAGIC_BE)
        return ls_err_set(err, LS_ERR_FORMAT, "invalid wal header magic: %x", tmp.magic);

    /* A header checksum mismatch may be a torn header write: "EOF". */
    uint32_t s0 = 0, s1 = 0;
    wal_checksum(tmp.cksum_big_endian, buf, 24, &s0, &s1);
    if (s0 != tmp.cksum1 || s1 != tmp.cksum2) return LS_OK;

    if (tmp.version != WAL_VERSION)
        return ls_err_set(err, LS_ERR_FORMAT, "unsupported wal version: %u", tmp.version);
    if (!wal_page_size_valid(tmp.page_size))
        return ls_err_set(err, LS_ERR_FORMAT, "invalid wal page size: %u", tmp.page_size);

    *h = tmp;
    *valid = true;
    return LS_OK;
}

void wal_frame_header_decode(const uint8_t buf[WAL_FRAME_HEADER_SIZE], wal_frame_header *fh) {
    fh->pgno = get_be32(buf + 0);
    fh->commit = get_be32(buf + 4);
    fh->salt1 = get_be32(buf + 8);
    fh->salt2 = get_be32(buf + 12);
    fh->cksum1 = get_be32(buf + 16);
    fh->cksum2 = get_be32(buf + 20);
}

void wal_frame_header_encode(const wal_frame_header *fh, uint8_t buf[WAL_FRAME_HEADER_SIZE]) {
    put_be32(buf + 0, fh->pgno);
    put_be32(buf + 4, fh->commit);
    put_be32(buf + 8, fh->salt1);
    put_be32(buf + 12, fh->salt2);
    put_be32(buf + 16, fh->cksum1);
    put_be32(buf + 20, fh->cksum2);
}

/* Offsets beyond this cannot exist in a file and would overflow off_t
 * arithmetic (offset + frame size) in the reads below. */
#define WAL_MAX_OFFSET (INT64_MAX / 4)

static ls_code check_offset(int64_t offset, ls_err *err) {
    if (offset < 0 || offset > WAL_MAX_OFFSET)
        return ls_err_set(err, LS_ERR_INVALID, "invalid wal offset %lld", (long long)offset);
    return LS_OK;
}

ls_code wal_frame_header_read(int fd, int64_t offset, wal_frame_header *fh, bool *found,
                              ls_err *err) {
    uint8_t buf[WAL_FRAME_HEADER_SIZE];
    size_t got = 0;
    *found = false;
    memset(fh, 0, sizeof(*fh));
    ls_code rc = check_offset(offset, err);
    if (rc != LS_OK) return rc;
    rc = ls_pread_full(fd, buf, sizeof(buf), (off_t)offset, &got, err, "wal frame header");
    if (rc != LS_OK) return rc;
    if (got < sizeof(buf)) return LS_OK;
    wal_frame_header_decode(buf, fh);
    *found = true;
    return LS_OK;
}

ls_code wal_read_frame(int fd, int64_t offset, uint32_t page_size, wal_frame_header *fh,
                       uint8_t *page, bool *found, ls_err *err) {
    *found = false;
    memset(fh, 0, sizeof(*fh));
    if (!wal_page_size_valid(page_size))
        return ls_err_set(err, LS_ERR_INVALID, "invalid wal page size: %u", page_size);
    ls_code rc = check_offset(offset, err);
    if (rc != LS_OK) return rc;
    uint8_t hdr[WAL_FRAME_HEADER_SIZE];
    size_t got = 0;
    rc = ls_pread_full(fd, hdr, sizeof(hdr), (off_t)offset, &got, err, "wal frame header");
    if (rc != LS_OK) return rc;
    if (got < sizeof(hdr)) return LS_OK;
    rc = ls_pread_full(fd, page, page_size, (off_t)(offset + WAL_FRAME_HEADER_SIZE), &got, err,
                       "wal frame data");
    if (rc != LS_OK) return rc;
    if (got < page_size) return LS_OK;
    wal_frame_header_decode(hdr, fh);
    *found = true;
    return LS_OK;
}

ls_code wal_read_frame_page(int fd, int64_t frame_offset, uint32_t page_size, uint8_t *page,
                            ls_err *err) {
    if (!wal_page_size_valid(page_size))
        return ls_err_set(err, LS_ERR_INVALID, "invalid wal page size: %u", page_size);
    ls_code rc = check_offset(frame_offset, err);
    if (rc != LS_OK) return rc;
    size_t got = 0;
    rc = ls_pread_full(fd, page, page_size, (off_t)(frame_offset + WAL_FRAME_HEADER_SIZE), &got,
                       err, "wal frame data");
    if (rc != LS_OK) return rc;
    if (got < page_size)
        return ls_err_set(err, LS_ERR_FORMAT, "short wal frame at offset %lld",
                          (long long)frame_offset);
    return LS_OK;
}

/* ------------------------------------------------------------------------ */

/* Reads and validates the header; an invalid header is LS_ERR_FORMAT "EOF". */
static ls_code reader_new(wal_reader **out, int fd, ls_err *err) {
    wal_header h;
    bool valid = false;
    *out = NULL;
    ls_code rc = wal_header_read(fd, &h, &valid, err);
    if (rc != LS_OK) return rc;
    if (!valid) return ls_err_set(err, LS_ERR_FORMAT, "EOF");
    wal_reader *r = calloc(1, sizeof(*r));
    if (!r) return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
    r->buf = malloc((size_t)wal_frame_size(h.page_size));
    if (!r->buf) {
        free(r);
        return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
    }
    r->fd = fd;
    r->hdr = h;
    r->page_size = h.page_size;
    r->big_endian = h.cksum_big_endian;
    r->salt1 = h.salt1;
    r->salt2 = h.salt2;
    r->ck1 = r->commit_ck1 = h.cksum1;
    r->ck2 = r->commit_ck2 = h.cksum2;
    r->pos = WAL_HEADER_SIZE;
    r->last = 0;
    *out = r;
    return LS_OK;
}

ls_code wal_reader_open(wal_reader **r, int fd, ls_err *err) {
    return reader_new(r, fd, err);
}

/* Reads the frame at r->pos into r->buf (r->cur = r->buf). *ok = false
 * when incomplete. */
static ls_code read_raw_frame(wal_reader *r, bool *ok, ls_err *err) {
    size_t want = (size_t)wal_frame_size(r->page_size), got = 0;
    *ok = false;
    ls_code rc = ls_pread_full(r->fd, r->buf, want, (off_t)r->pos, &got, err, "wal frame");
    if (rc != LS_OK) return rc;
    r->cur = r->buf;
    *ok = got == want;
    return LS_OK;
}

/* Sequential variant through the read-ahead buffer (r->cur points into it).
 * A frame that is incomplete in the buffer is read again from the file:
 * with one more pread at its own offset the buffer refills. */
static ls_code next_raw_frame(wal_reader *r, bool *ok, ls_err *err) {
    const size_t want = (size_t)wal_frame_size(r->page_size);
    *ok = false;
    if (!r->ra) {
        size_t cap = want > WAL_READAHEAD ? want : WAL_READAHEAD;
        cap -= cap % want; /* whole frames */
        r->ra = malloc(cap);
        if (!r->ra) return read_raw_frame(r, ok, err); /* degrade: frame by frame */
        r->ra_cap = cap;
        r->ra_len = 0;
        r->ra_off = 0;
    }
    if (r->pos < r->ra_off || r->pos + (int64_t)want > r->ra_off + (int64_t)r->ra_len) {
        size_t got = 0;
        ls_code rc = ls_pread_full(r->fd, r->ra, r->ra_cap, (off_t)r->pos, &got, err, "wal frame");
        if (rc != LS_OK) return rc;
        r->ra_off = r->pos;
        r->ra_len = got;
        if (got < want) return LS_OK; /* incomplete: end of the WAL for now */
    }
    r->cur = r->ra + (r->pos - r->ra_off);
    *ok = true;
    return LS_OK;
}

ls_code wal_reader_open_at(wal_reader **out, int fd, int64_t offset, uint32_t salt1,
                           uint32_t salt2, bool *prev_frame_mismatch, ls_err *err) {
    *out = NULL;
    *prev_frame_mismatch = false;
    if (offset <= WAL_HEADER_SIZE)
        return ls_err_set(err, LS_ERR_INVALID,
                          "offset (%lld) must be greater than the wal header size (%d)",
                          (long long)offset, WAL_HEADER_SIZE);
    ls_code rc = check_offset(offset, err);
    if (rc != LS_OK) return rc;
    wal_reader *r = NULL;
    rc = reader_new(&r, fd, err);
    if (rc != LS_OK) return ls_err_wrap(err, "read header");
    r->salt1 = salt1;
    r->salt2 = salt2;
    int64_t fs = wal_frame_size(r->page_size);
    if ((offset - WAL_HEADER_SIZE) % fs != 0) {
        rc = ls_err_set(err, LS_ERR_FORMAT, "unaligned wal offset %lld for page size %u",
                        (long long)offset, r->page_size);
        wal_reader_free(r);
        return rc;
    }
    r->pos = offset - fs;
    bool ok = false;
    rc = read_raw_frame(r, &ok, err);
    if (rc != LS_OK) {
        wal_reader_free(r);
        return ls_err_wrap(err, "read prev frame");
    }
    wal_frame_header fh;
    if (ok) wal_frame_header_decode(r->cur, &fh);
    if (!ok || fh.salt1 != salt1 || fh.salt2 != salt2) {
        wal_reader_free(r);
        *prev_frame_mismatch = true;
        return LS_OK;
    }
    r->ck1 = r->commit_ck1 = fh.cksum1;
    r->ck2 = r->commit_ck2 = fh.cksum2;
    r->last = r->pos;
    r->pos = offset;
    *out = r;
    return LS_OK;
}

ls_code wal_reader_next(wal_reader *r, wal_frame_header *fh, uint8_t *page,
                        int64_t *frame_offset, bool *eof, ls_err *err) {
    *eof = true;
    if (r->eof) return LS_OK;
    bool ok = false;
    ls_code rc = next_raw_frame(r, &ok, err);
    if (rc != LS_OK) return rc;
    wal_frame_header h;
    if (ok) {
        wal_frame_header_decode(r->cur, &h);
        if (h.salt1 != r->salt1 || h.salt2 != r->salt2) ok = false;
    }
    if (ok) {
        uint32_t s0 = r->ck1, s1 = r->ck2;
        wal_checksum(r->big_endian, r->cur, 8, &s0, &s1);
        wal_checksum(r->big_endian, r->cur + WAL_FRAME_HEADER_SIZE, r->page_size, &s0, &s1);
        if (s0 != h.cksum1 || s1 != h.cksum2) ok = false;
        else {
            r->ck1 = s0;
            r->ck2 = s1;
        }
    }
    if (!ok) {
        r->eof = true; /* sticky: the valid WAL ends here */
        return LS_OK;
    }
    if (fh) *fh = h;
    if (page) memcpy(page, r->cur + WAL_FRAME_HEADER_SIZE, r->page_size);
    if (frame_offset) *frame_offset = r->pos;
    r->last = r->pos;
    r->pos += wal_frame_size(r->page_size);
    *eof = false;
    return LS_OK;
}

uint32_t wal_reader_page_size(const wal_reader *r) { return r->page_size; }
const wal_header *wal_reader_header(const wal_reader *r) { return &r->hdr; }
void wal_reader_salts(const wal_reader *r, uint32_t *salt1, uint32_t *salt2) {
    *salt1 = r->salt1;
    *salt2 = r->salt2;
}
int64_t wal_reader_pos(const wal_reader *r) { return r->pos; }
int64_t wal_reader_offset(const wal_reader *r) { return r->last; }
void wal_reader_checksum(const wal_reader *r, uint32_t *c1, uint32_t *c2) {
    *c1 = r->ck1;
    *c2 = r->ck2;
}
void wal_reader_commit_checksum(const wal_reader *r, uint32_t *c1, uint32_t *c2) {
    *c1 = r->commit_ck1;
    *c2 = r->commit_ck2;
}

void wal_reader_mark_commit_(wal_reader *r) {
    r->commit_ck1 = r->ck1;
    r->commit_ck2 = r->ck2;
}

void wal_reader_free(wal_reader *r) {
    if (!r) return;
    free(r->ra);
    free(r->buf);
    free(r);
}

/* ------------------------------------------------------------------------ */

ls_code wal_frame_salts_until(int fd, uint32_t until1, uint32_t until2, wal_salt_pair **out,
                              size_t *n, ls_err *err) {
    *out = NULL;
    *n = 0;
    wal_header h;
    bool valid = false;
    ls_code rc = wal_header_read(fd, &h, &valid, err);
    if (rc != LS_OK) return rc;
    if (!valid) return ls_err_set(err, LS_ERR_FORMAT, "EOF");

    wal_salt_pair *v = NULL;
    size_t cnt = 0, cap = 0;
    wal_u64map seen = {0}; /* distinct pairs; crafted files may hold many */
    int64_t fs = wal_frame_size(h.page_size);
    for (int64_t off = WAL_HEADER_SIZE;; off += fs) {
        wal_frame_header fh;
        bool found = false;
        rc = wal_frame_header_read(fd, off, &fh, &found, err);
        if (rc != LS_OK) goto fail;
        if (!found) break;
        bool inserted = false;
        if (!wal_u64map_add(&seen, ((uint64_t)fh.salt1 << 32) | fh.salt2, 0, &inserted)) {
            rc = ls_err_set(err, LS_ERR_NOMEM, "out of memory");
            goto fail;
        }
        if (inserted) {
            if (cnt == cap) {
                size_t ncap = cap ? cap * 2 : 4;
                wal_salt_pair *nv = realloc(v, ncap * sizeof(*nv));
                if (!nv) {
                    rc = ls_err_set(err, LS_ERR_NOMEM, "out of memory");
                    goto fail;
                }
                v = nv;
                cap = ncap;
            }
            v[cnt].salt1 = fh.salt1;
            v[cnt].salt2 = fh.salt2;
            cnt++;
        }
        if (fh.salt1 == until1 && fh.salt2 == until2) break;
    }
    wal_u64map_free(&seen);
    *out = v;
    *n = cnt;
    return LS_OK;
fail:
    wal_u64map_free(&seen);
    free(v);
    return rc;
}
