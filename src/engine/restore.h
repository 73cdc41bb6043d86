/*
 * engine/restore.h — plan and run a restore from a replica (spec 8).
 *
 * The same functions serve `litestream restore` and the MCP restore tool.
 * A restore never writes the output path directly: pages are streamed into
 * "<output>.tmp" (created beside it), which is fsynced, integrity-checked
 * and renamed into place only when complete; on any failure or cancellation
 * the temp file (and any -wal/-shm it grew) is removed and the output path
 * is left exactly as it was.
 *
 * Memory is bounded by (number of plan files) x (one page + one compressed
 * page), independent of the database size.
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

typedef struct ls_restore_plan {
    ls_restore_file *files;   /* in order of application */
    size_t n;
    uint64_t min_txid, max_txid;
    const char *layout;       /* "ltx" (v0.5) or "v0.3" (static string) */
} ls_restore_plan;

/* Progress: bytes of LTX input consumed so far / total planned bytes. */
typedef void (*ls_restore_progress_fn)(void *ctx, uint64_t done, uint64_t total);

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
 * LS_ERR_UNAVAILABLE with the reference's message. */
ls_code ls_restore_plan_compute(ls_storage *st, uint64_t txid, int64_t timestamp_ns,
                                ls_restore_plan *plan, ls_err *err);
void ls_restore_plan_free(ls_restore_plan *plan);

/* Plans and applies. Output exists and !force -> LS_ERR_EXISTS. */
ls_code ls_restore_run(ls_storage *st, const ls_restore_opts *opts, ls_restore_result *res,
                       ls_err *err);
void ls_restore_result_free(ls_restore_result *res);

#endif
