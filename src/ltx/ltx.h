/*
 * ltx/ltx.h — the LTX v3 file codec: header, CRC-64 checksums, streaming
 * encoder and decoder, page index / random access, merger and compactor,
 * file names. Facts: ../shared/spec/litestream-reference.md sections 1 and 2.
 *
 * On-disk layout (all integers big-endian, no padding):
 *
 *   header (100) | page frames ... | 6 zero bytes | page index varints ... 00 |
 *   BE64 index size | trailer (16: post-apply checksum, file checksum)
 *
 * Contract shared by every function here:
 *  - Errors: a failing function returns an ls_code and fills the ls_err (may
 *    be NULL). LS_ERR_FORMAT = malformed data, LS_ERR_CHECKSUM = checksum
 *    mismatch, LS_ERR_UNSUPPORTED = LTX format version 1 (litestream v0.3),
 *    LS_ERR_INVALID = caller broke a rule (page order, header fields ...),
 *    LS_ERR_NOMEM, and whatever the underlying stream returned (LS_ERR_IO ...).
 *    Messages say what and where (byte offset, pgno, input number).
 *  - Streams: the codec never closes the ls_reader / ls_writer it is given;
 *    the caller owns them and must keep them alive until the codec object is
 *    freed.
 *  - Memory: bounded by the page size, never by the file size: a decoder
 *    holds one read buffer of max(64 KiB, 2 x largest frame) (none when
 *    opened over memory), the merger one decoder plus one page per input,
 *    the encoder one frame buffer plus ~8 bytes of page index per written
 *    page. Nothing is allocated from a size read from the input beyond fixed
 *    bounds (random access allocates the page index, which it bounds by the
 *    file size and the commit).
 *  - Objects (encoder, decoder, merger) are not thread-safe; use one per
 *    thread. The free functions (CRC, header, file names, index decode) are
 *    thread-safe. After any error an encoder/decoder/merger is "failed": every
 *    later call returns the same error code; it must still be freed.
 */
#ifndef LS_LTX_LTX_H
#define LS_LTX_LTX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"
#include "util/stream.h"

/* ---- constants ---------------------------------------------------------- */

#define LTX_MAGIC "LTX1"
#define LTX_VERSION 3
#define LTX_HEADER_SIZE 100
#define LTX_PAGE_HEADER_SIZE 6
#define LTX_TRAILER_SIZE 16
#define LTX_INDEX_SIZE_FIELD 8 /* BE64 after the page index varints */

#define LTX_FLAG_NO_CHECKSUM 0x2u      /* header flag: db checksums not tracked */
#define LTX_HEADER_FLAGS_MASK 0x2u     /* every valid header flag */
#define LTX_PAGE_FLAG_SIZE 0x1u        /* page header flag: BE32 size + LZ4 block */
#define LTX_CHECKSUM_FLAG (1ULL << 63) /* bit set in every stored checksum */
#define LTX_EMPTY_CHECKSUM LTX_CHECKSUM_FLAG /* database checksum of 0 pages */

#define LTX_MIN_PAGE_SIZE 512u
#define LTX_MAX_PAGE_SIZE 65536u

/* "0000000000000001-0000000000000064.ltx" + NUL (38), rounded up. */
#define LTX_FILENAME_MAX 40
/* 16 hex digits + NUL. */
#define LTX_TXID_STR_SIZE 17
/* "txid/checksum" position text: 16 + 1 + 16 + NUL. */
#define LTX_POS_STR_SIZE 34

/* ---- header and trailer ------------------------------------------------- */

typedef struct ltx_header {
    uint32_t flags;              /* LTX_FLAG_NO_CHECKSUM or 0 */
    uint32_t page_size;          /* power of two, 512..65536 */
    uint32_t commit;             /* database size in pages after applying */
    uint64_t min_txid, max_txid; /* TXID range covered; min == 1 => snapshot */
    int64_t timestamp;           /* milliseconds since the Unix epoch (UTC) */
    uint64_t pre_apply_checksum; /* database checksum before applying */
    int64_t wal_offset, wal_size;
    uint32_t wal_salt1, wal_salt2;
    uint64_t node_id;
} ltx_header;

typedef struct ltx_trailer {
    uint64_t post_apply_checksum;
    uint64_t file_checksum;
} ltx_trailer;

/* Serializes h into 100 bytes (reserved bytes zero). No validation. */
void ltx_header_encode(const ltx_header *h, uint8_t out[LTX_HEADER_SIZE]);
/* Parses 100 bytes: checks the magic only (LS_ERR_FORMAT "invalid LTX file:
 * bad magic"). Use ltx_header_validate() for the field rules. */
ls_code ltx_header_decode(const uint8_t buf[LTX_HEADER_SIZE], ltx_header *h, ls_err *err);
/* Header rules of spec 1.4, in order, with the spec's texts, e.g.
 * "invalid flags: 0x00000001", "invalid page size: 1000". LS_ERR_FORMAT. */
ls_code ltx_header_validate(const ltx_header *h, ls_err *err);
/* min_txid == 1. */
bool ltx_header_is_snapshot(const ltx_header *h);
/* !(flags & LTX_FLAG_NO_CHECKSUM). */
bool ltx_header_has_checksum(const ltx_header *h);
/* SQLite lock (pending-byte) page: 0x40000000 / page_size + 1. */
uint32_t ltx_lock_pgno(uint32_t page_size);

void ltx_trailer_encode(const ltx_trailer *t, uint8_t out[LTX_TRAILER_SIZE]);
void ltx_trailer_decode(const uint8_t buf[LTX_TRAILER_SIZE], ltx_trailer *t);

/* ---- checksums (CRC-64/GO-ISO) ------------------------------------------ */

/* Streaming CRC-64/GO-ISO with Go's convention: start with crc = 0 and feed
 * the previous return value back in; ltx_crc64(0, "123456789", 9) ==
 * 0xB90956C775A41001. Uses carry-less multiplication when the CPU has it,
 * slicing-by-16 tables otherwise. */
uint64_t ltx_crc64(uint64_t crc, const void *p, size_t n);
/* LTX_CHECKSUM_FLAG | crc64(BE32(pgno) || data[0..page_size)). */
uint64_t ltx_page_checksum(uint32_t pgno, const uint8_t *data, uint32_t page_size);
/* Folds one page checksum into a database checksum (XOR, bit 63 forced).
 * Start from LTX_EMPTY_CHECKSUM. Folding the same page checksum twice
 * removes it again, so replacing a page is fold(old) then fold(new). */
static inline uint64_t ltx_checksum_fold(uint64_t db_checksum, uint64_t page_checksum) {
    return LTX_CHECKSUM_FLAG | (db_checksum ^ page_checksum);
}
/* Database checksum of a whole image in memory: len must be a multiple of
 * page_size (else LS_ERR_INVALID); the lock page is skipped. */
ls_code ltx_db_checksum(const uint8_t *db, size_t len, uint32_t page_size, uint64_t *out,
                        ls_err *err);
/* Same, streaming the database from a reader (one page buffer). A trailing
 * partial page is LS_ERR_FORMAT. *npages (may be NULL) gets the page count. */
ls_code ltx_db_checksum_reader(ls_reader *r, uint32_t page_size, uint64_t *out,
                               uint32_t *npages, ls_err *err);

/* ---- encoder ------------------------------------------------------------ */

typedef struct ltx_encoder ltx_encoder;

/* Validates h (spec 1.4) and writes the header to w. */
ls_code ltx_encoder_open(ltx_encoder **out, const ltx_header *h, ls_writer *w, ls_err *err);
/* Writes one page (page_size bytes) as a size-prefixed LZ4 block. Rules
 * (spec 1.6): pgno in 1..commit, not the lock page, strictly ascending; a
 * snapshot starts at 1 and is contiguous except for the lock page. Rule
 * violations are LS_ERR_INVALID. */
ls_code ltx_encoder_write_page(ltx_encoder *e, uint32_t pgno, const uint8_t *data, ls_err *err);
/* Writes the terminator, page index and trailer (spec 1.7-1.9). Rules: with
 * NoChecksum the post-apply checksum must be 0, otherwise non-zero with bit
 * 63; commit 0 requires post-apply LTX_EMPTY_CHECKSUM; a snapshot must hold
 * every page 1..commit (lock page excepted). Does not finish/close w. */
ls_code ltx_encoder_close(ltx_encoder *e, uint64_t post_apply_checksum, ls_err *err);
const ltx_header *ltx_encoder_header(const ltx_encoder *e);
/* Bytes written to w so far (the file size after a successful close). */
uint64_t ltx_encoder_bytes_written(const ltx_encoder *e);
/* File checksum (valid after a successful close, else 0). */
uint64_t ltx_encoder_file_checksum(const ltx_encoder *e);
uint32_t ltx_encoder_page_count(const ltx_encoder *e);
void ltx_encoder_free(ltx_encoder *e);

/* ---- decoder ------------------------------------------------------------ */

typedef struct ltx_decoder ltx_decoder;

/* Reads and validates the header. Reads go through a buffer of
 * LTX_DECODER_READ_BUF bytes (at least two page frames). */
#define LTX_DECODER_READ_BUF (64u << 10)
ls_code ltx_decoder_open(ltx_decoder **out, ls_reader *r, ls_err *err);
/* Same with a read buffer of read_buf bytes (raised to two page frames). */
ls_code ltx_decoder_open_buf(ltx_decoder **out, ls_reader *r, size_t read_buf, ls_err *err);
/* Same over a whole file in memory (e.g. mmap'd or downloaded): no read
 * buffer, no copy; data must stay valid until ltx_decoder_free(). */
ls_code ltx_decoder_open_mem(ltx_decoder **out, const void *data, size_t len, ls_err *err);
const ltx_header *ltx_decoder_header(const ltx_decoder *d);
/* Decodes the next page into page (page_size bytes). At the end of the page
 * block sets *done = true (and leaves *pgno / page untouched). Accepts both v3
 * page encodings (size-prefixed LZ4 block, legacy LZ4 frame). Rejects: pgno 0
 * with flags, bad flags, pgno > commit, the lock page, non-ascending pgnos,
 * holes in a snapshot, decompressed size != page size. A v0.3 (format 1) file
 * is LS_ERR_UNSUPPORTED. */
ls_code ltx_decoder_next_page(ltx_decoder *d, uint32_t *pgno, uint8_t *page, bool *done,
                              ls_err *err);
/* Skips any pages not read yet, then reads the page index (must match the
 * frames), index size, trailer and requires EOF. Verifies the file checksum
 * and, for checksum-tracked snapshots, the post-apply checksum. out may be
 * NULL. Does not close the reader. */
ls_code ltx_decoder_close(ltx_decoder *d, ltx_trailer *out, ls_err *err);
/* Bytes consumed from the reader so far. */
uint64_t ltx_decoder_offset(const ltx_decoder *d);
/* Pages decoded so far. */
uint32_t ltx_decoder_page_count(const ltx_decoder *d);
void ltx_decoder_free(ltx_decoder *d);

/* Convenience: decodes a whole file and verifies it. h / t may be NULL. */
ls_code ltx_verify(ls_reader *r, ltx_header *h, ltx_trailer *t, ls_err *err);

/* ---- page index and random access --------------------------------------- */

typedef struct ltx_page_index_entry {
    uint32_t pgno;
    uint64_t offset; /* of the 6-byte page header, from the start of the file */
    uint64_t size;   /* whole frame: page header + size prefix + payload */
} ltx_page_index_entry;

/* Decodes the page index varint area: exactly len bytes, (pgno, offset,
 * size) triples terminated by a 0 pgno as the last byte. Checks varint
 * overflow, pgnos strictly ascending and <= UINT32_MAX. *out is malloc'd
 * (caller frees; NULL when *n == 0). */
ls_code ltx_page_index_decode(const uint8_t *buf, size_t len, ltx_page_index_entry **out,
                              size_t *n, ls_err *err);

/* pread-like source: reads up to len bytes at off; *nread < len only at EOF. */
typedef ls_code (*ltx_pread_fn)(void *ctx, void *buf, size_t len, uint64_t off, size_t *nread,
                                ls_err *err);

typedef struct ltx_file_index {
    ltx_header header;
    ltx_trailer trailer;
    uint64_t file_size;
    uint64_t index_offset;          /* start of the varint area */
    uint64_t index_size;            /* value of the BE64 size field */
    ltx_page_index_entry *entries;  /* ascending pgno; malloc'd */
    size_t n;
} ltx_file_index;

/* Reads the header and the page index of a file of file_size bytes with
 * three ranged reads (header, index size + trailer, index), and checks that
 * every entry lies inside the page block, frames do not overlap, pgnos are
 * ascending, <= commit and not the lock page. The file checksum is NOT
 * verified (that needs every byte). Free with ltx_file_index_free(). */
ls_code ltx_file_index_read(ltx_pread_fn pread, void *ctx, uint64_t file_size,
                            ltx_file_index *out, ls_err *err);
void ltx_file_index_free(ltx_file_index *fi);
/* Largest valid page frame for a page size (bound for ranged reads). */
size_t ltx_max_frame_size(uint32_t page_size);
/* Fetches one frame with one ranged read and decompresses it into page
 * (h->page_size bytes); the frame's pgno must equal e->pgno. */
ls_code ltx_read_page(ltx_pread_fn pread, void *ctx, const ltx_header *h,
                      const ltx_page_index_entry *e, uint8_t *page, ls_err *err);
/* Decodes one complete page frame held in memory (frame = e->size bytes). */
ls_code ltx_decode_frame(const uint8_t *frame, size_t len, uint32_t page_size, uint32_t *pgno,
                         uint8_t *page, ls_err *err);

/* ---- merger and compactor (spec 2) -------------------------------------- */

typedef struct ltx_merger ltx_merger;

/* Opens a decoder on each input (oldest first; n >= 1) and checks contiguous
 * TXIDs ("non-contiguous transaction ids in input files: (a,b) -> (c,d)").
 * Page sizes: when an input's page size differs from the one before it (a
 * replicated page-size change), that input must be a full snapshot of the new
 * layout: the inputs before it are superseded and neither merged nor
 * verified, and the merged pages must cover 1..commit ("page size changes at
 * input N, which is not a full snapshot"). Readers stay owned by the caller. */
ls_code ltx_merger_open(ltx_merger **out, ls_reader **inputs, size_t n, ls_err *err);
/* Merged header: page size (of the newest layout); min_txid and pre_apply_checksum of the first
 * input; max_txid, commit and timestamp of the last; flags = NoChecksum if
 * any input has it; WAL fields and node id 0. */
const ltx_header *ltx_merger_header(const ltx_merger *m);
/* Next page in ascending pgno (newest input wins; pages > final commit are
 * dropped). *page points into the merger, valid until the next call. If the
 * merged header is a snapshot, a missing page is LS_ERR_FORMAT. */
ls_code ltx_merger_next(ltx_merger *m, uint32_t *pgno, const uint8_t **page, bool *done,
                        ls_err *err);
/* Closes (fully verifies) every input decoder; *post_apply_of_last (may be
 * NULL) gets the last input's post-apply checksum. */
ls_code ltx_merger_close(ltx_merger *m, uint64_t *post_apply_of_last, ls_err *err);
void ltx_merger_free(ltx_merger *m);

/* Merges inputs into one LTX file written to out (header flags out_flags,
 * post-apply of the last input). out_header (may be NULL) gets the written
 * header. Does not finish/close out. */
ls_code ltx_compact(ls_reader **inputs, size_t n, uint32_t out_flags, ls_writer *out,
                    ltx_header *out_header, ls_err *err);

/* ---- file names and text forms ------------------------------------------ */

/* Exactly ^[0-9a-f]{16}-[0-9a-f]{16}\.ltx$. min/max may be NULL. */
bool ltx_parse_filename(const char *name, uint64_t *min, uint64_t *max);
void ltx_format_filename(uint64_t min, uint64_t max, char out[LTX_FILENAME_MAX]);
/* 16 lower-case hex digits. */
void ltx_format_txid(uint64_t txid, char out[LTX_TXID_STR_SIZE]);
/* Exactly 16 hex digits (either case, as Go's ParseUint accepts). */
bool ltx_parse_txid(const char *s, uint64_t *out);
/* "hex16(txid)/hex16(checksum)". */
void ltx_format_pos(uint64_t txid, uint64_t checksum, char out[LTX_POS_STR_SIZE]);

#endif
