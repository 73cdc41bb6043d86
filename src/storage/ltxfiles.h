/*
 * storage/ltxfiles.h — LTX files on top of any backend (spec 3.2, 3.3, 6.3).
 *
 * An LTX file is identified by (level, min TXID, max TXID). This layer maps
 * it to a key with the backend's layout (ls_storage.layout):
 *   LS_LTX_LAYOUT_DIR   "ltx/<level decimal>/<min hex16>-<max hex16>.ltx"
 *   LS_LTX_LAYOUT_HEX4  "<level %04x>/<min hex16>-<max hex16>.ltx"
 * (an S3 backend prepends its own path; keys here are relative to the
 * replica root).
 *
 * Levels are 0..LS_LTX_MAX_LEVEL (9 = snapshots). TXIDs must satisfy
 * 1 <= min <= max. Listings ignore names that do not match
 * ^[0-9a-f]{16}-[0-9a-f]{16}\.ltx$ (ltx_parse_filename) and are sorted by
 * (min TXID, max TXID) ascending.
 *
 * Creation times (spec 3.3): ls_ltx_write records timestamp_ms (the LTX
 * header timestamp) as the object's creation time. ls_ltx_list reports the
 * listing time; with accurate_time and a backend whose listing does not
 * carry the recorded time (list_times_accurate false, e.g. s3) it heads each
 * object for the recorded time.
 *
 * Errors: every function returns LS_OK or a code with err filled (naming
 * the level / TXIDs / key). Lists are owned by the caller
 * (ls_ltx_file_list_free). Thread-safety: as the underlying storage.
 */
#ifndef LS_STORAGE_LTXFILES_H
#define LS_STORAGE_LTXFILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/storage.h"
#include "util/error.h"
#include "util/stream.h"

#define LS_LTX_MAX_LEVEL 9
#define LS_LTX_SNAPSHOT_LEVEL 9
/* Enough for any key this layer builds ("ltx/9/" + 37 + NUL). */
#define LS_LTX_KEY_MAX 64

typedef struct ls_ltx_file {
    int level;
    uint64_t min_txid, max_txid;
    int64_t size;           /* bytes */
    int64_t created_at_ns;  /* see header comment; 0 unknown */
} ls_ltx_file;

typedef struct ls_ltx_file_list {
    ls_ltx_file *items;
    size_t n, cap;
} ls_ltx_file_list;

void ls_ltx_file_list_free(ls_ltx_file_list *l);
ls_code ls_ltx_file_list_push(ls_ltx_file_list *l, const ls_ltx_file *f, ls_err *err);
/* Sorts by (min_txid, max_txid) ascending. */
void ls_ltx_file_list_sort(ls_ltx_file_list *l);

/* Writes the key of an LTX file into buf (n bytes). Returns the key length,
 * or -1 when the level is out of range, the TXIDs are invalid or buf is too
 * small (buf then holds ""). */
int ls_ltx_key(const ls_storage *s, int level, uint64_t min_txid, uint64_t max_txid, char *buf,
               size_t n);
/* Listing prefix of a level ("ltx/3/" or "0003/"); -1 as above. */
int ls_ltx_level_prefix(const ls_storage *s, int level, char *buf, size_t n);

/* Lists level's files with min TXID >= min_txid_seek (0: all). *out is
 * initialised by the call. A missing level is an empty list. */
ls_code ls_ltx_list(ls_storage *s, int level, uint64_t min_txid_seek, bool accurate_time,
                    ls_ltx_file_list *out, ls_err *err);

/* Stores src (read to EOF, not closed) as the file (level, min, max) with
 * creation time timestamp_ms (ms since the epoch; 0 = backend default). */
ls_code ls_ltx_write(ls_storage *s, int level, uint64_t min_txid, uint64_t max_txid,
                     ls_reader *src, int64_t timestamp_ms, ls_err *err);
/* As ls_ltx_write; out (may be NULL) gets the written file's metadata: size
 * = bytes read from src, created_at_ns = timestamp_ms (spec 3.3: the write
 * reports the header timestamp, used to prime caches). */
ls_code ls_ltx_write_ex(ls_storage *s, int level, uint64_t min_txid, uint64_t max_txid,
                        ls_reader *src, int64_t timestamp_ms, ls_ltx_file *out, ls_err *err);

/* Opens bytes [off, off+len) (len LS_STORAGE_TO_END: to the end) of a file.
 * Missing -> LS_ERR_NOTFOUND. Caller closes *out. */
ls_code ls_ltx_open(ls_storage *s, int level, uint64_t min_txid, uint64_t max_txid, uint64_t off,
                    uint64_t len, ls_reader **out, ls_err *err);

/* Deletes the files (level/min/max of each entry); missing ones are fine. */
ls_code ls_ltx_delete(ls_storage *s, const ls_ltx_file *files, size_t n, ls_err *err);

/* Greatest max TXID in level (0 when the level is empty). */
ls_code ls_ltx_max_txid(ls_storage *s, int level, uint64_t *out, ls_err *err);
/* The file with the greatest max TXID in level; *found false when empty. */
ls_code ls_ltx_last(ls_storage *s, int level, ls_ltx_file *out, bool *found, ls_err *err);

/*
 * Resumable reader (spec 6.3): reads the whole object key of known size
 * (size < 0: unknown, premature EOF cannot be detected). The object is
 * opened lazily at the first read. On a read error, or an EOF before size
 * bytes, it closes the stream and reopens the object at the current byte
 * offset (ranged get), waiting 250 ms, 500 ms, 1 s before the 1st, 2nd,
 * 3rd retry; after 3 failed retries in a row the last error is returned
 * (wrapped with the key and offset). The retry budget is restored whenever a
 * read makes progress. Permanent errors (not found, auth, invalid, no
 * memory, cancelled) are not retried. Each retry adds 1 to stats.retries.
 * The storage must outlive the reader. Returns LS_ERR_NOMEM only.
 */
ls_code ls_resumable_reader(ls_storage *s, const char *key, int64_t size, ls_reader **out);

typedef struct ls_resume_opts {
    int max_retries;         /* default 3 */
    int64_t delays_ms[8];    /* wait before retry i (last value repeats); default 250,500,1000 */
    int ndelays;
} ls_resume_opts;
/* opts NULL = defaults above (tests use short delays). */
ls_code ls_resumable_reader_ex(ls_storage *s, const char *key, int64_t size,
                               const ls_resume_opts *opts, ls_reader **out);
/* The same over bytes [off, off+len) of key: every (re)open is a ranged get
 * of what remains of the range; an EOF before off+len is retried like a
 * broken read, and a backend delivering bytes past the range is an error.
 * len 0 reads nothing (no request). Returns LS_ERR_NOMEM only. */
ls_code ls_resumable_range_reader(ls_storage *s, const char *key, uint64_t off, uint64_t len,
                                  const ls_resume_opts *opts, ls_reader **out);
/* Resumable reader over an LTX file (key from ls_ltx_key). */
ls_code ls_ltx_open_resumable(ls_storage *s, int level, uint64_t min_txid, uint64_t max_txid,
                              int64_t size, ls_reader **out, ls_err *err);

#endif
