/*
 * wal/wal.h — SQLite WAL reader as Litestream v0.5 uses it (spec 5.2).
 *
 * Contract
 * --------
 * - Everything reads through a caller-owned file descriptor with pread(); no
 *   function changes the fd's file position and none closes it. The fd must
 *   stay open while a wal_reader uses it.
 * - "End of WAL" is never an error: an incomplete frame, a frame whose salts
 *   differ from the expected salts, or a frame that breaks the checksum chain
 *   ends reading (eof = true). The WAL may be appended to concurrently by
 *   SQLite; frames are read once and validated, so a torn append simply
 *   looks like the end of the WAL.
 * - Errors: LS_ERR_IO (pread failed, errno text), LS_ERR_FORMAT (bad magic,
 *   version, page size, misaligned resume offset, header missing),
 *   LS_ERR_INVALID (bad arguments), LS_ERR_NOMEM.
 *   Messages do NOT name the WAL file: callers wrap them with the path,
 *   e.g. ls_err_wrap(err, "%s", wal_path). The core texts match the Go
 *   reader: "invalid wal header magic: %x", "unsupported wal version: %u",
 *   "unaligned wal offset %lld for page size %u", and — when a reader is
 *   opened on a WAL whose header is short or fails its checksum — "EOF"
 *   (code LS_ERR_FORMAT), so that "new wal reader: " + msg reads exactly
 *   like Litestream's "new wal reader: EOF".
 * - Memory: a wal_reader holds one frame buffer (24 + page size bytes) and,
 *   once frames are read sequentially, a 256 KiB read-ahead buffer (whole
 *   frames; one pread per 256 KiB instead of one per frame).
 *   Building a page map takes a hash table of at most ~70 bytes per
 *   distinct committed page plus 16 bytes per frame of the transaction
 *   being collected; the result keeps 16 bytes per page. Everything is
 *   bounded by the number of frames actually present in the file; nothing
 *   is sized from unvalidated input (page size is checked to be a power of
 *   two in [512, 65536] before any buffer is allocated).
 * - Thread-safety: a wal_reader / wal_page_map is single-threaded; distinct
 *   objects (even on the same fd) may be used from different threads, since
 *   only pread() is used.
 *
 * WAL header (32 bytes at offset 0, every field big-endian u32)
 * --------------------------------------------------------------
 * | off | field      | notes                                               |
 * |-----|------------|-----------------------------------------------------|
 * |   0 | magic      | 0x377f0682: checksum words little-endian,           |
 * |     |            | 0x377f0683: checksum words big-endian               |
 * |   4 | version    | 3007000                                             |
 * |   8 | page size  | stored as is (65536 is stored as 65536, not 1)      |
 * |  12 | ckpt seq   | checkpoint sequence                                 |
 * |  16 | salt-1     |                                                     |
 * |  20 | salt-2     |                                                     |
 * |  24 | checksum-1 | wal_checksum over bytes 0..23 starting from (0,0)   |
 * |  28 | checksum-2 |                                                     |
 *
 * Frame (24-byte header + page data; frame k at 32 + k*(24 + page size))
 * ----------------------------------------------------------------------
 * | off | field      | notes                                               |
 * |-----|------------|-----------------------------------------------------|
 * |   0 | pgno       | page number                                         |
 * |   4 | commit     | db size in pages on a commit frame, else 0          |
 * |   8 | salt-1     | must equal the expected salt-1                      |
 * |  12 | salt-2     | must equal the expected salt-2                      |
 * |  16 | checksum-1 | running checksum over frame header bytes 0..7 and   |
 * |  20 | checksum-2 | the page data, seeded by the previous frame's       |
 * |     |            | checksum (the header checksum for frame 0)          |
 * |  24 | page data  | page size bytes                                     |
 *
 * Header validation order (as Litestream): fewer than 32 bytes -> invalid
 * ("EOF"); bad magic -> error; bad header checksum -> invalid ("EOF"); bad
 * version -> error; then (this implementation only, Go does not check)
 * page size not a power of two in [512, 65536] -> error
 * "invalid wal page size: N".
 */
#ifndef LS_WAL_WAL_H
#define LS_WAL_WAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define WAL_HEADER_SIZE 32
#define WAL_FRAME_HEADER_SIZE 24
#define WAL_MAGIC_LE 0x377f0682u
#define WAL_MAGIC_BE 0x377f0683u
#define WAL_VERSION 3007000u
#define WAL_MIN_PAGE_SIZE 512u
#define WAL_MAX_PAGE_SIZE 65536u

/* ------------------------------------------------------------------------ */
/* Header and checksum                                                      */

typedef struct wal_header {
    uint32_t magic, version, page_size, ckpt_seq, salt1, salt2, cksum1, cksum2;
    bool cksum_big_endian; /* magic == WAL_MAGIC_BE */
} wal_header;

/* Decodes 32 raw bytes without any validation. */
void wal_header_decode(const uint8_t buf[WAL_HEADER_SIZE], wal_header *h);
/* Encodes h into 32 bytes exactly as given (checksums are NOT recomputed;
 * use wal_header_finalize for that). */
void wal_header_encode(const wal_header *h, uint8_t buf[WAL_HEADER_SIZE]);
/* Sets h->cksum_big_endian from h->magic and h->cksum1/2 to the checksum of
 * the encoded bytes 0..23 (test and tooling helper). */
void wal_header_finalize(wal_header *h);

/* Reads and validates the header at offset 0 (order above).
 * Short file or bad header checksum -> LS_OK with *valid = false (*h is then
 * zeroed). Bad magic / version / page size -> LS_ERR_FORMAT. */
ls_code wal_header_read(int fd, wal_header *h, bool *valid, ls_err *err);

/* Reads the raw header bytes at offset 0 without any validation (for
 * byte-for-byte comparisons around a checkpoint, spec 5.7, and for reading
 * the salts the way Litestream's verify does, spec 5.5 step 4: decode with
 * wal_header_decode). *n = bytes read (< 32 when the file is shorter; the
 * rest of buf is zeroed). */
ls_code wal_header_read_raw(int fd, uint8_t buf[WAL_HEADER_SIZE], size_t *n, ls_err *err);

/* SQLite's WAL checksum: for each 8-byte chunk, words x0, x1 in the chosen
 * byte order, s0 += x0 + s1; s1 += x1 + s0 (mod 2^32). n must be a multiple
 * of 8 (trailing bytes are ignored). *s0 and *s1 are the running state. */
void wal_checksum(bool big_endian, const uint8_t *buf, size_t n, uint32_t *s0, uint32_t *s1);

/* Power of two in [512, 65536]. */
bool wal_page_size_valid(uint32_t page_size);

/* 24 + page_size. */
static inline int64_t wal_frame_size(uint32_t page_size) {
    return (int64_t)WAL_FRAME_HEADER_SIZE + (int64_t)page_size;
}
/* 32 + (24 + page_size) * nframes (calcWALSize). */
static inline int64_t wal_calc_size(uint32_t page_size, int64_t nframes) {
    return (int64_t)WAL_HEADER_SIZE + wal_frame_size(page_size) * nframes;
}

/* ------------------------------------------------------------------------ */
/* Frames at an offset (no checksum / salt validation)                      */
/* A negative offset or one above INT64_MAX / 4 is LS_ERR_INVALID
 * "invalid wal offset N" in every function below.                          */

typedef struct wal_frame_header {
    uint32_t pgno, commit, salt1, salt2, cksum1, cksum2;
} wal_frame_header;

void wal_frame_header_decode(const uint8_t buf[WAL_FRAME_HEADER_SIZE], wal_frame_header *fh);
void wal_frame_header_encode(const wal_frame_header *fh, uint8_t buf[WAL_FRAME_HEADER_SIZE]);

/* Reads the 24-byte frame header at offset. *found = false (LS_OK) when the
 * file ends before 24 bytes. */
ls_code wal_frame_header_read(int fd, int64_t offset, wal_frame_header *fh, bool *found,
                              ls_err *err);

/* Reads a whole frame (header + page_size bytes of data into page) at
 * offset, e.g. "read the WAL frame at prev" (spec 5.5 step 7). No salt or
 * checksum validation. *found = false (LS_OK) when the frame is incomplete.
 * page_size must be valid (LS_ERR_INVALID otherwise). */
ls_code wal_read_frame(int fd, int64_t offset, uint32_t page_size, wal_frame_header *fh,
                       uint8_t *page, bool *found, ls_err *err);

/* Reads the page data of the frame at frame_offset (bytes at
 * frame_offset + 24). An incomplete page is LS_ERR_FORMAT
 * ("short wal frame at offset N"): callers use it for frames a page map
 * already validated, so a short read means the WAL shrank underneath. */
ls_code wal_read_frame_page(int fd, int64_t frame_offset, uint32_t page_size, uint8_t *page,
                            ls_err *err);

/* ------------------------------------------------------------------------ */
/* Sequential validated reader (WALReader)                                  */

typedef struct wal_reader wal_reader;

/* Opens a reader at offset 32 with the header's salts and checksum as the
 * expected salts / running checksum. A header that is short or fails its
 * checksum -> LS_ERR_FORMAT "EOF" (see contract); bad magic / version / page
 * size -> LS_ERR_FORMAT. *r is NULL on failure. */
ls_code wal_reader_open(wal_reader **r, int fd, ls_err *err);

/* Resume reader (NewWALReaderWithOffset, spec 5.2 "Reading from the middle"):
 *  1. offset <= 32 -> LS_ERR_INVALID
 *     "offset (N) must be greater than the wal header size (32)";
 *     offset > INT64_MAX / 4 -> LS_ERR_INVALID "invalid wal offset N";
 *  2. header read as wal_reader_open, errors prefixed "read header: "
 *     (so an invalid header gives "read header: EOF");
 *  3. expected salts := (salt1, salt2) (the header's are ignored);
 *  4. (offset - 32) % frame size != 0 -> LS_ERR_FORMAT
 *     "unaligned wal offset N for page size P";
 *  5. reads the frame at offset - frame size WITHOUT checksum verification;
 *     if it is incomplete (e.g. offset beyond the file size) or its salts
 *     differ from the expected ones: *prev_frame_mismatch = true, *r = NULL,
 *     returns LS_OK (the caller falls back to wal_reader_open, spec 5.6
 *     step 3); otherwise its stored checksum becomes the running state and
 *     the reader is positioned at offset.
 * I/O errors while reading the previous frame are returned as errors (Go
 * folds them into the mismatch; failing loudly is safer). */
ls_code wal_reader_open_at(wal_reader **r, int fd, int64_t offset, uint32_t salt1,
                           uint32_t salt2, bool *prev_frame_mismatch, ls_err *err);

/* Reads the next frame. On a valid frame: *eof = false, *fh filled, page
 * (page-size bytes, may be NULL to skip the copy) filled, *frame_offset =
 * offset of the frame header. At the end of the valid WAL: *eof = true
 * (LS_OK), and every later call also reports eof. fh and frame_offset may be
 * NULL. */
ls_code wal_reader_next(wal_reader *r, wal_frame_header *fh, uint8_t *page,
                        int64_t *frame_offset, bool *eof, ls_err *err);

uint32_t wal_reader_page_size(const wal_reader *r);
/* The header as read at open (for a resume reader its salts are the file's,
 * not the expected ones). */
const wal_header *wal_reader_header(const wal_reader *r);
/* Expected salts (header's, or the ones given to wal_reader_open_at). */
void wal_reader_salts(const wal_reader *r, uint32_t *salt1, uint32_t *salt2);
/* Offset of the next frame to be read. */
int64_t wal_reader_pos(const wal_reader *r);
/* Offset of the last frame read (Go's Offset()); 0 when no frame has been
 * read yet (for a resume reader: the previous frame's offset). */
int64_t wal_reader_offset(const wal_reader *r);
/* Running checksum after the last frame read. */
void wal_reader_checksum(const wal_reader *r, uint32_t *c1, uint32_t *c2);
/* Running checksum after the last commit frame read by wal_reader_page_map
 * (initially the header's / previous frame's checksum). */
void wal_reader_commit_checksum(const wal_reader *r, uint32_t *c1, uint32_t *c2);
void wal_reader_free(wal_reader *r); /* NULL is fine */

/* ------------------------------------------------------------------------ */
/* Page map (committed pages)                                               */

typedef struct wal_page_entry {
    uint32_t pgno;
    int64_t offset; /* frame offset (header position) of the newest committed version */
} wal_page_entry;

typedef struct wal_page_map {
    wal_page_entry *entries; /* n entries, ascending pgno (malloc'd, owned) */
    size_t n;
    int64_t start;  /* reader position when the map was built */
    int64_t end;    /* largest frame offset in the map + frame size; 0 if empty */
    uint32_t commit; /* final commit (db size in pages); 0 if the map is empty */
    bool limited;   /* stopped early because of the byte limit */
} wal_page_map;

/* Builds the page map from the reader's current position (spec 5.2):
 * frames are collected per transaction and move into the map on a commit
 * frame (later offsets overwrite earlier); frames after the last commit are
 * ignored; with limit_bytes > 0, reading stops after a commit frame once
 * frameOffset + frameSize - start >= limit_bytes (out->limited = true);
 * entries with pgno > final commit are dropped; an empty result has
 * end = 0 and commit = 0. The reader is left after the last frame read (for
 * a limited map: right after the limiting commit frame, so calling again
 * continues). *out is overwritten (not freed first); free with
 * wal_page_map_free. */
ls_code wal_reader_page_map(wal_reader *r, int64_t limit_bytes, wal_page_map *out, ls_err *err);

/* Looks pgno up; true and *off set when present. */
bool wal_page_map_get(const wal_page_map *m, uint32_t pgno, int64_t *off);
void wal_page_map_free(wal_page_map *m); /* frees entries, zeroes *m; NULL is fine */

/* ------------------------------------------------------------------------ */
/* Frame salts until (checkpoint detection, spec 5.5 step 8)                */

typedef struct wal_salt_pair {
    uint32_t salt1, salt2;
} wal_salt_pair;

/* Reads the header (as wal_reader_open: invalid -> LS_ERR_FORMAT "EOF"),
 * then only frame headers from offset 32 (no validation): collects the
 * distinct (salt1, salt2) pairs in order of first appearance, stopping after
 * a frame carrying (until1, until2) or at the end of the file. *out is
 * malloc'd (NULL when *n == 0); caller frees. */
ls_code wal_frame_salts_until(int fd, uint32_t until1, uint32_t until2, wal_salt_pair **out,
                              size_t *n, ls_err *err);

#endif
