/*
 * storage/ranged.h — parallel ranged reads of large objects (used by restore).
 *
 * A remote object that is much larger than one request should carry (a
 * compacted snapshot of hundreds of MB) is read as consecutive ranges of
 * chunk_size bytes, fetched concurrently by a group's worker threads with
 * ranged gets (ls_storage_get(key, off, len)), and handed to the reader's
 * caller strictly in byte order. Any backend works (the contract's get
 * takes a range); for the file backend it is pointless, so
 * ls_ranged_worthwhile() says no there.
 *
 * Group: readers that are consumed at the same time (the inputs of one
 * restore merge) share one group, i.e. `parallelism` worker threads (at
 * most `parallelism` range requests in flight) and parallelism + 1 chunk
 * tokens:
 *   - a chunk holds a token from the moment a worker starts fetching it
 *     until the reader's caller has consumed its last byte, so at most
 *     parallelism + 1 ranges are requested or buffered per group (the one
 *     extra lets every worker fetch ahead while the caller still reads a
 *     completed chunk) ...
 *   - ... except that the chunk a reader's caller is waiting for (nothing
 *     of that reader in flight) is always started, even without a token, so
 *     a caller that consumes several readers alternately (a k-way merge)
 *     can never deadlock on buffers held by another reader. Memory is
 *     therefore at most (parallelism + 1 + open readers) x chunk_size; with
 *     one large reader it is (parallelism + 1) x chunk_size. Buffers are
 *     recycled within the group and freed when its last reader closes.
 *   - the caller reads bytes of the next chunk as they arrive (in batches of
 *     256 KiB, no wait for the whole range).
 *   - with parallelism 1 the one worker reads every chunk in order from a
 *     single get of the rest of the object (one request instead of one per
 *     chunk; a request has a cost of its own), pausing it while both
 *     buffers are full: a read-ahead of up to 2 chunks that overlaps the
 *     download with the caller's work.
 *
 * Retries: every range is read through ls_resumable_range_reader (a broken
 * or short transfer is reopened at the byte where it stopped; the backend's
 * own retries come on top). A range that still fails stops new requests for
 * its reader; the bytes before it are delivered, then read() returns the
 * error (naming the key and the range) and keeps returning it. Ranges are
 * separate requests, so an object replaced while it is read could mix two
 * versions; LTX files are immutable and checksummed, which is what this is
 * for.
 *
 * Ownership/threads: ls_ranged_group_new/free by the owner; free only after
 * every reader of the group is closed. A reader (ls_reader) is used by one
 * thread at a time; closing it waits for its in-flight reads to stop (each
 * checks between backend reads). The storage must outlive the readers.
 * Readers of one group may be opened and closed from different threads.
 */
#ifndef LS_STORAGE_RANGED_H
#define LS_STORAGE_RANGED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/ltxfiles.h"
#include "storage/storage.h"
#include "util/error.h"
#include "util/stream.h"

#define LS_RANGED_DEFAULT_CHUNK ((size_t)8 << 20)  /* largest default range */
#define LS_RANGED_BUFFER_BUDGET ((size_t)64 << 20) /* default ranges x (parallelism + 1) */
#define LS_RANGED_MIN_CHUNK ((size_t)64 << 10)
#define LS_RANGED_MAX_CHUNK ((size_t)256 << 20)
#define LS_RANGED_MAX_PARALLELISM 64

typedef struct ls_ranged_opts {
    int parallelism;              /* workers and tokens (clamped to 1..64) */
    size_t chunk_size;            /* bytes per range; 0: $LITESTREAM_RESTORE_RANGE_SIZE
                                     if set, else LS_RANGED_BUFFER_BUDGET / (parallelism + 1)
                                     in whole 2 MiB, at most 8 MiB, else 1 MiB (8 MiB up
                                     to parallelism 7, 6 MiB at 8, 1 MiB from 32); clamped to
                                     LS_RANGED_MIN_CHUNK..LS_RANGED_MAX_CHUNK */
    const ls_resume_opts *resume; /* retries per range; NULL: resumable defaults */
} ls_ranged_opts;

typedef struct ls_ranged_group ls_ranged_group;

/* Counters of a group (for tests and debugging). */
typedef struct ls_ranged_stats {
    uint64_t ranges;       /* range fetches started */
    uint64_t peak_fetching;/* most range fetches running at once */
    uint64_t peak_chunks;  /* most chunks requested-or-buffered at once */
    uint64_t buffers;      /* chunk buffers currently allocated */
    uint64_t peak_buffers; /* most chunk buffers allocated at once */
} ls_ranged_stats;

/* A group; starts no thread until its first reader opens. */
ls_code ls_ranged_group_new(const ls_ranged_opts *o, ls_ranged_group **out, ls_err *err);
/* Stops the workers and frees everything (NULL is fine). Every reader of
 * the group must have been closed. */
void ls_ranged_group_free(ls_ranged_group *g);
size_t ls_ranged_chunk_size(const ls_ranged_group *g);
void ls_ranged_group_stats(ls_ranged_group *g, ls_ranged_stats *out);

/* True when reading size bytes of an object of s in ranges pays: g is not
 * NULL, the backend is not "file" and the object spans more than one
 * chunk. */
bool ls_ranged_worthwhile(const ls_ranged_group *g, const ls_storage *s, int64_t size);

/* Opens a reader over bytes [0, size) of key; fetching starts at once.
 * size must be the object's size (from a listing or head): a shorter
 * object is an error at the range that ends early. Caller closes *out
 * (before freeing g). LS_ERR_NOMEM / LS_ERR_INTERNAL (thread start). */
ls_code ls_ranged_open(ls_ranged_group *g, ls_storage *s, const char *key, uint64_t size,
                       ls_reader **out, ls_err *err);

/* A reader with a private group (freed when the reader is closed). */
ls_code ls_ranged_reader(ls_storage *s, const char *key, uint64_t size, const ls_ranged_opts *o,
                         ls_reader **out, ls_err *err);

/* An LTX file (key from ls_ltx_key) of known size through group g. */
ls_code ls_ltx_open_ranged(ls_ranged_group *g, ls_storage *s, int level, uint64_t min_txid,
                           uint64_t max_txid, uint64_t size, ls_reader **out, ls_err *err);

#endif
