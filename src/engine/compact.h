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

/* Go Time.Truncate alignment of 7.2: start of the interval containing now. */
int64_t ls_interval_prev(int64_t now_ns, int64_t interval_ns);

/* 7.3: compacts level-1 files into level (1..8). db may be NULL (then all
 * inputs are read from the replica). */
ls_code ls_compact_level(ls_storage *st, ls_db *db, int level, int64_t interval_ns,
                         int64_t now_ns, ls_compact_outcome *out, ls_err *err);
/* 7.4/7.5: writes a snapshot (level 9) of db when due (or when force). */
ls_code ls_compact_snapshot(ls_storage *st, ls_db *db, int64_t interval_ns, int64_t now_ns,
                            bool force, ls_compact_outcome *out, ls_err *err);
/* 7.6: snapshot retention + cascading retention of levels 1..nlevels. */
ls_code ls_enforce_snapshot_retention(ls_storage *st, ls_db *db, const ls_compact_opts *o,
                                      int64_t now_ns, ls_err *err);
/* 7.7: L0 retention (remote and local files). */
ls_code ls_enforce_l0_retention(ls_storage *st, ls_db *db, const ls_compact_opts *o,
                                int64_t now_ns, ls_err *err);

#endif
