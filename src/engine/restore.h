/*
 * engine/restore.h — plan and run a restore from a replica (spec 8).
 *
 * The same functions serve `litestream restore` and the MCP restore tool.
 * A restore never writes the output path directly: pages are streamed into
 * "<output>.tmp" (created beside it), which is fsynced and integrity-checked
 * (concurrently) and renamed into place only when complete; on any failure
 * or cancellation the temp file (and any -wal/-shm it grew, and the work
 * directory below) is removed and the output path is left exactly as it was.
 *
 * Memory is bounded by min(plan files, merge fan-in) x (one page + one
 * compressed page) plus fixed buffers (4 x 512 KiB write buffers, 128 KiB per
 * download worker, the range buffers described under Fetching) and, during the integrity check, at most 8 MiB of
 * read-only maps of the temp file, independent of the database size.
 *
 * Writing: merged pages are coalesced into 512 KiB buffers that a writer
 * thread pwrites while the merge decodes the next ones; every 8 MiB it
 * starts the kernel's writeback (sync_file_range WRITE) so the final fsync
 * has little left to do. The output is written once, in page order.
 *
 * Fetching (opts.fetch / opts.parallelism): in STREAM mode every plan file
 * is read straight from the backend by the k-way merge through a resumable
 * reader (opened lazily, ranged re-opens on failure); this is the default
 * for the file backend. In DOWNLOAD mode (default for remote backends) up to
 * `parallelism` worker threads copy the plan files concurrently into
 * "<output>.tmp-work/" (beside the output, removed afterwards; disk use =
 * the sum of the plan's file sizes, memory = one fixed buffer per worker)
 * while the merge consumes them in plan order as each one completes.
 * In both modes, with parallelism >= 2, a file of a remote backend that
 * spans more than one range (about 64 MiB / (parallelism + 1), <= 8 MiB;
 * $LITESTREAM_RESTORE_RANGE_SIZE) is neither downloaded nor read by one
 * request: `parallelism` workers fetch its consecutive ranges
 * concurrently (storage/ranged.h) and the merge consumes the bytes in order
 * as they arrive, so a restore dominated by one large snapshot still uses
 * `parallelism` connections, the download overlaps the decoding, and the
 * file takes no disk space in the work directory (memory: at most
 * (parallelism + 1 + large files) x range size; a range that fails after its
 * retries fails the restore with the file and byte range named).
 *
 * Fan-in: at most `merge_fanin` (default 64) files are merged at once. A
 * longer plan is first reduced by merging consecutive groups into
 * intermediate LTX files (spec 2 compaction, NoChecksum output) in the work
 * directory, so open files and decoder memory stay bounded however many
 * files the plan has.
 *
 * Verification: every input's file checksum (and, for checksum-tracked
 * snapshots, its post-apply checksum) is verified by the merge; the merged
 * page set must be exactly pages 1..commit (lock page written as zeros);
 * the output is exactly commit x page_size bytes; the integrity check (when
 * not NONE) runs on the temp file before it is renamed into place. When the
 * merge fails, each plan file is re-verified on its own so the error names
 * the offending file (failure path only).
 *
 * Concurrency on one output: "<output>.tmp" is locked (flock) for the whole
 * restore; a second restore into the same output fails with LS_ERR_BUSY. A
 * stale temp file from a crashed restore is reused (truncated). Without
 * force the final rename refuses to replace a path that appeared meanwhile
 * (RENAME_NOREPLACE); with force an existing output and its -wal / -shm /
 * -journal sidecars are replaced (sidecars are removed before the rename so
 * a stale WAL can never be applied to the restored file).
 *
 * Thread-safety: a restore uses only its own state; several may run at once
 * on different outputs. The progress callback is called on the restoring
 * thread; the cancel flag may be set from any thread.
 */
#ifndef LS_ENGINE_RESTORE_H
#define LS_ENGINE_RESTORE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "storage/storage.h"
#include "util/error.h"

typedef enum ls_integrity {
    LS_INTEGRITY_NONE = 0,
    LS_INTEGRITY_QUICK,   /* PRAGMA quick_check (our default) */
    LS_INTEGRITY_FULL,    /* PRAGMA integrity_check */
} ls_integrity;

typedef struct ls_restore_file {
    int level;
    uint64_t min_txid, max_txid;
    int64_t size;
    int64_t created_at_ns;
} ls_restore_file;

struct ls_v3_plan;

typedef struct ls_restore_plan {
    ls_restore_file *files;   /* in order of application */
    size_t n;
    uint64_t min_txid, max_txid;
    const char *layout;       /* "ltx" (v0.5) or "v0.3" (static string) */
    struct ls_v3_plan *v3;    /* layout "v0.3": the v0.3 plan (owned; files
                                 empty); see engine/legacy.h */
} ls_restore_plan;

/* Progress: bytes of LTX input consumed so far / total planned bytes.
 * Called at the start (0), at least every 1% / 4 MiB, and at the end
 * (done == total after a successful merge). */
typedef void (*ls_restore_progress_fn)(void *ctx, uint64_t done, uint64_t total);

typedef enum ls_restore_fetch {
    LS_RESTORE_FETCH_AUTO = 0,   /* STREAM for the file backend, else DOWNLOAD */
    LS_RESTORE_FETCH_STREAM,     /* merge reads each file from the backend */
    LS_RESTORE_FETCH_DOWNLOAD,   /* N workers copy files to local temp files */
} ls_restore_fetch;

typedef struct ls_restore_opts {
    const char *output;          /* required: final database path */
    uint64_t txid;               /* 0 = latest */
    int64_t timestamp_ns;        /* 0 = latest; restore state as of this time */
    ls_integrity integrity;
    int parallelism;             /* concurrent downloads (>= 1; default 8) */
    bool force;                  /* allow replacing an existing output */
    ls_restore_progress_fn progress;
    void *progress_ctx;
    atomic_bool *cancel;         /* optional; set to true to cancel */
    /* Added: */
    ls_restore_fetch fetch;      /* see header comment; default AUTO */
    const ls_restore_plan *plan; /* optional precomputed plan (e.g. the one a
                                    dry run showed); NULL = compute it */
    int merge_fanin;             /* files merged at once; 0 = 64 (min 2) */
    bool ltx_only;               /* skip the v0.3 check (caller did it / follow) */
    /* v0.3 targets (engine/legacy.h); either one selects the v0.3 layout. */
    const char *v3_generation;   /* NULL = choose by time */
    bool v3_has_index;
    uint32_t v3_index;           /* replay WAL indexes up to and including it */
} ls_restore_opts;

typedef struct ls_restore_result {
    char *restored_path;         /* malloc'd */
    uint64_t txid;               /* TXID the output now holds */
    int64_t size;                /* bytes of the restored database */
    int64_t duration_ns;
    ls_integrity integrity;
    const char *integrity_result;/* "ok", "skipped" (static) */
    const char *layout;          /* "ltx" or "v0.3" */
    uint32_t page_size;
} ls_restore_result;

/* Computes the plan (8.3) for a TXID/timestamp target. No matching files ->
 * LS_ERR_UNAVAILABLE "transaction not available". TXID and timestamp both
 * given -> LS_ERR_INVALID "cannot specify index & timestamp to restore".
 * A latest restore whose levels have a gap after the plan -> LS_ERR_FORMAT
 * "non-contiguous ltx files: have up to X but next file starts at Y".
 * A timestamp target lists with accurate creation times (spec 3.3). */
ls_code ls_restore_plan_compute(ls_storage *st, uint64_t txid, int64_t timestamp_ns,
                                ls_restore_plan *plan, ls_err *err);
void ls_restore_plan_free(ls_restore_plan *plan);

/* Earliest and latest creation time over every LTX file of levels 0..9
 * (listing times). Both 0 when the replica holds no LTX file. */
ls_code ls_restore_time_bounds(ls_storage *st, int64_t *created_ns, int64_t *updated_ns,
                               ls_err *err);
/* The CLI's pre-check for a timestamp restore from a replica URL (8.6), over
 * LTX files and v0.3 snapshots/segments: empty replica -> LS_ERR_UNAVAILABLE
 * "no backups found"; timestamp outside [earliest, latest] ->
 * LS_ERR_UNAVAILABLE "timestamp does not exist". */
ls_code ls_restore_check_timestamp(ls_storage *st, int64_t timestamp_ns, ls_err *err);

/* v0.3 backups (8.2, 9.4). ls_restore_prefers_v03() applies the reference's
 * choice between v0.3 and LTX data (only meaningful without a TXID target).
 * ls_restore_run() restores the v0.3 layout (engine/legacy.h,
 * ls_v3_restore_run) when ls_restore_uses_v03() says so: a v0.3 plan or
 * target is given, or, without a TXID and !opts->ltx_only, the v0.3 data is
 * the newer one — so a replica whose best backup is v0.3 is never silently
 * restored from older LTX data (even when an LTX opts->plan was given). */
ls_code ls_restore_prefers_v03(ls_storage *st, int64_t timestamp_ns, bool *use_v03, ls_err *err);

/* Plans (unless opts->plan) and applies (8.4). Output exists (or one of its
 * -wal/-shm/-journal sidecars) and !force -> LS_ERR_EXISTS "cannot restore,
 * output path already exists: P"; output is a directory -> LS_ERR_INVALID.
 * Cancelled -> LS_ERR_CANCELED (nothing left behind). A plan file smaller
 * than the 100-byte header -> LS_ERR_FORMAT. On success *res is filled
 * (free with ls_restore_result_free); on failure *res is zeroed. */
ls_code ls_restore_run(ls_storage *st, const ls_restore_opts *opts, ls_restore_result *res,
                       ls_err *err);
void ls_restore_result_free(ls_restore_result *res);

/*
 * Follow mode (spec 8.5; engine/restore_follow.c). If opts->output does not
 * exist it is restored first (latest, ls_restore_run with the given
 * integrity check) and "<output>-txid" is written (hex16 + "\n", atomic);
 * if it exists, the -txid file must exist and the saved TXID must still be
 * reachable (crash recovery). Then every interval: new level-0 files after
 * the saved TXID are applied in order, gaps are bridged from levels 1..8,
 * and the -txid file is rewritten after progress. Each file is fully
 * verified (file checksum) BEFORE any of its pages is written; pages are
 * written under the SQLite write locks (pending byte + shared range, POSIX
 * record locks, as a SQLite writer would), page 1 gets rollback-journal
 * bytes 18/19 = 1 and a random change counter, the file is truncated to
 * the new commit and fsynced. Poll errors are logged and retried on the
 * next tick. Returns LS_OK when *opts->cancel becomes true ("follow mode
 * stopped"); opts->cancel is required.
 *
 * Deviation: on resume the reference also refuses a saved TXID above the
 * newest snapshot's max TXID, which rejects almost every restart of a
 * follower; we refuse a saved TXID above the newest TXID the replica holds
 * (a rewound / reset replica) instead.
 */
typedef struct ls_follow_opts {
    const char *output;
    int64_t interval_ns;          /* 0 = 1 s */
    ls_integrity integrity;       /* for the initial restore */
    int parallelism;              /* for the initial restore */
    atomic_bool *cancel;          /* required: set to stop following */
} ls_follow_opts;

ls_code ls_restore_follow(ls_storage *st, const ls_follow_opts *opts, ls_err *err);

/* "<output>-txid" helpers (8.5): read returns 0 in *txid when the file does
 * not exist; a malformed file is LS_ERR_FORMAT. */
ls_code ls_restore_read_txid_file(const char *output, uint64_t *txid, ls_err *err);
ls_code ls_restore_write_txid_file(const char *output, uint64_t txid, ls_err *err);

#endif
