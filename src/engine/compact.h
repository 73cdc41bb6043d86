/*
 * engine/compact.h — compaction levels, snapshots and retention (spec 7).
 *
 * Pure operations on one replica's storage (plus the database for local L0
 * files and snapshots). Scheduling (when to call them) belongs to the store;
 * these functions decide only "too early" / "nothing to do" from the files
 * and the times they are given, so tests drive them with a fake clock.
 *
 * Every write goes through storage put (atomic), so a crash mid-compaction
 * leaves the previous state; deletes happen only after the replacement
 * files exist, and never remove files a restore plan could still need
 * (cascading retention keeps lower levels back to the snapshot before the
 * oldest survivor, 7.6; the newest file of every level always survives).
 *
 * Errors: LS_OK or a code with err filled; messages name the level, the
 * TXID range and, for a bad input, the file. "Too early" / "nothing to do" /
 * "not ready" are outcomes, not errors.
 *
 * Thread-safety: no shared state except an atomic counter; calls on
 * different replicas may run in parallel. Calls on the same replica and
 * level must be serialised by the caller (the store runs them on the
 * database's executor); a db argument is used as db.h allows (one thread).
 */
#ifndef LS_ENGINE_COMPACT_H
#define LS_ENGINE_COMPACT_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/db.h"
#include "storage/storage.h"
#include "util/error.h"

#define LS_SNAPSHOT_LEVEL 9
#define LS_MAX_LEVELS 8

typedef struct ls_compact_opts {
    int nlevels;                          /* configured levels L1..Ln (default 3) */
    int64_t level_interval_ns[LS_MAX_LEVELS]; /* [0] = L1 interval (30s, 5m, 1h) */
    int64_t snapshot_interval_ns;         /* 24 h */
    int64_t snapshot_retention_ns;        /* 24 h */
    int64_t l0_retention_ns;              /* 5 min; <= 0 disables */
    bool retention_enabled;               /* true: delete remotely */
    bool verify_compaction;
} ls_compact_opts;

void ls_compact_opts_defaults(ls_compact_opts *o);

typedef enum ls_compact_outcome {
    LS_COMPACT_DONE = 0,        /* a file was written */
    LS_COMPACT_NOTHING,         /* no new input */
    LS_COMPACT_TOO_EARLY,       /* newest file of the level is from this interval */
    LS_COMPACT_NOT_READY,       /* database not initialised */
} ls_compact_outcome;

/* Static name of an outcome ("done", "nothing", "too_early", "not_ready"). */
const char *ls_compact_outcome_name(ls_compact_outcome o);

/* Go Time.Truncate alignment of 7.2: start of the interval containing now,
 * counted from Go's zero time 0001-01-01T00:00:00Z (for intervals dividing
 * one day this is UTC wall-clock alignment). interval_ns <= 0 returns now_ns
 * unchanged (as Go does); never overflows (saturates at INT64_MIN). */
int64_t ls_interval_prev(int64_t now_ns, int64_t interval_ns);

/* Details of one compaction / snapshot attempt (all optional output). */
typedef struct ls_compact_result {
    ls_compact_outcome outcome;
    int level;                  /* level written (or examined) */
    uint64_t min_txid, max_txid;/* the written file (DONE only) */
    int64_t size;               /* bytes of the written file */
    int64_t timestamp_ms;       /* its header timestamp = recorded creation time */
    size_t ninputs;             /* level-1 files merged */
    size_t nlocal;              /* ...of which were read from local L0 files */
    bool verify_failed;         /* verify requested and level L has a gap/overlap */
} ls_compact_result;

/*
 * 7.3: compacts level-1 files into level (1..8). db may be NULL (then all
 * inputs are read from the replica; never NOT_READY). With a db, an
 * uninitialised database is NOT_READY, and level-0 inputs are read from the
 * local L0 files when present (else from the replica).
 *
 * The merge output goes to an anonymous temporary file (in the db's meta
 * directory, else $TMPDIR or /tmp) and is then stored with one atomic put,
 * so memory stays bounded by the page size and a failing or corrupt input
 * writes nothing: the error then names the offending file (its key, or the
 * local L0 path). A corrupt local L0 file whose replica copy verifies is
 * replaced by that copy (warning) instead of failing. More than
 * LS_COMPACT_MAX_OPEN inputs are merged in successive passes (bounded open
 * files; each pass folds the previous pass's output in as its first input).
 * A level whose new inputs do not start right after its newest file is
 * compacted anyway (as the reference does) with a warning.
 */
#define LS_COMPACT_MAX_OPEN 128
ls_code ls_compact_level(ls_storage *st, ls_db *db, int level, int64_t interval_ns,
                         int64_t now_ns, ls_compact_outcome *out, ls_err *err);
/* As ls_compact_level; verify runs 7.3 step 7 (gap/overlap check of level
 * after the write: warning + ls_compact_verify_error_count()). res may be
 * NULL. Does NOT run L0 retention (7.3 step 8 is the caller's job). */
ls_code ls_compact_level_ex(ls_storage *st, ls_db *db, int level, int64_t interval_ns,
                            int64_t now_ns, bool verify, ls_compact_result *res, ls_err *err);
/* Number of failed post-compaction verifications since start (metric
 * litestream_compaction_verify_error_count). Thread-safe. */
uint64_t ls_compact_verify_error_count(void);

/* 7.4/7.5: writes a snapshot (level 9) of db when due (or when force).
 * db NULL, uninitialised, or without any replicated TXID -> NOT_READY. */
ls_code ls_compact_snapshot(ls_storage *st, ls_db *db, int64_t interval_ns, int64_t now_ns,
                            bool force, ls_compact_outcome *out, ls_err *err);
ls_code ls_compact_snapshot_ex(ls_storage *st, ls_db *db, int64_t interval_ns, int64_t now_ns,
                               bool force, ls_compact_result *res, ls_err *err);

/* What a retention pass decided (optional output). */
typedef struct ls_retention_result {
    /* 7.6 */
    size_t snapshots_deleted;                  /* marked (deleted unless disabled) */
    uint64_t min_snapshot_txid;
    size_t level_deleted[LS_SNAPSHOT_LEVEL + 1]; /* per level 1..nlevels */
    /* 7.7 (gauge litestream_l0_retention_files_total) */
    size_t l0_eligible, l0_not_compacted, l0_too_recent;
    uint64_t l0_deleted_upto;                  /* greatest deleted MaxTXID, 0 none */
    bool remote_deletes;                       /* false when retention is disabled */
} ls_retention_result;

/* 7.6: snapshot retention + cascading retention of levels 1..nlevels.
 * o->retention_enabled false: nothing is deleted remotely. */
ls_code ls_enforce_snapshot_retention(ls_storage *st, ls_db *db, const ls_compact_opts *o,
                                      int64_t now_ns, ls_err *err);
ls_code ls_enforce_snapshot_retention_ex(ls_storage *st, ls_db *db, const ls_compact_opts *o,
                                         int64_t now_ns, ls_retention_result *res, ls_err *err);
/* 7.7: L0 retention (remote files, and local ones via ls_db_delete_l0_upto
 * when db != NULL). o->l0_retention_ns <= 0: does nothing. */
ls_code ls_enforce_l0_retention(ls_storage *st, ls_db *db, const ls_compact_opts *o,
                                int64_t now_ns, ls_err *err);
ls_code ls_enforce_l0_retention_ex(ls_storage *st, ls_db *db, const ls_compact_opts *o,
                                   int64_t now_ns, ls_retention_result *res, ls_err *err);

#endif
