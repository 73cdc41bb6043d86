/*
 * engine/replica.h — one replication destination of a database (spec 6).
 *
 * Uploads the database's local L0 files to level 0 of its storage in TXID
 * order, one at a time; after each success the in-memory replica position
 * advances. Nothing is persisted locally: an unknown position (start-up, any
 * upload error) is recomputed from the replica's level-0 listing, so a
 * failed upload is simply re-sent and the TXID chain never has a gap.
 *
 * State machine (ls_replica_state): IDLE -> SYNCING -> IDLE | ERROR;
 * ERROR -> SYNCING on the next attempt (with backoff) ; any -> STOPPED.
 *
 * Threading: ls_replica_sync() runs on the database's executor (never two at
 * once for one replica); ls_replica_status_get() is safe from any thread.
 */
#ifndef LS_ENGINE_REPLICA_H
#define LS_ENGINE_REPLICA_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/db.h"
#include "storage/storage.h"
#include "util/error.h"

typedef enum ls_replica_state {
    LS_REPLICA_IDLE = 0,
    LS_REPLICA_SYNCING,
    LS_REPLICA_ERROR,
    LS_REPLICA_STOPPED,
} ls_replica_state;

typedef struct ls_replica_opts {
    const char *name;              /* display name ("file", "s3", or config name) */
    ls_storage *storage;           /* taken over: closed by ls_replica_free */
    int64_t sync_interval_ns;      /* default 1 s; 0 = upload as soon as written */
    int max_sync_ltx_files;        /* default 256; 0 unlimited */
    bool auto_recover;
} ls_replica_opts;

typedef struct ls_replica_status {
    ls_replica_state state;
    uint64_t txid;                 /* replica position (0 unknown/empty) */
    int64_t last_sync_ns;          /* last successful upload step, 0 never */
    int64_t last_error_ns;
    uint32_t consecutive_errors;
    ls_code last_error;
    char last_error_msg[256];
    ls_storage_stats stats;        /* request counters since stats_since_ns */
    int64_t stats_since_ns;        /* when the replica (and its counters) began */
} ls_replica_status;

typedef struct ls_replica ls_replica;

ls_code ls_replica_new(const ls_replica_opts *opts, ls_replica **out, ls_err *err);
void ls_replica_free(ls_replica *r);

/* Replica position: cached, else max TXID of level 0 (6.1). */
ls_code ls_replica_pos(ls_replica *r, uint64_t *txid, ls_err *err);
/* One upload step (6.2): uploads local L0 files after the replica position
 * up to the local TXID (at most max_sync_ltx_files; *more = true when the
 * batch limit was hit). Errors reset the cached position.
 * - Each local file is fully verified (ltx_verify) before its upload, so a
 *   corrupt file is never propagated; uploads use ls_ltx_write with the
 *   file's header timestamp as the created time.
 * - "Database behind replica" (5.3 step 10) is done here: whenever the local
 *   TXID is below the replica position, the replica's newest L0 file is
 *   adopted (ls_db_adopt_replica_l0) and the call returns LS_OK; the next
 *   database sync continues from it (usually a snapshot at that TXID + 1).
 *   This also covers the state after an auto-recover reset (6.3 quirk fixed
 *   as the spec recommends).
 * - Local LTX errors (missing file "ltx missing", FORMAT, CHECKSUM) with
 *   auto_recover reset the local state (ls_db_reset_local) and return the
 *   error; without it the message carries a recovery hint.
 * - A database that is not initialised yet, or has no local data: LS_OK
 *   ("waiting"), nothing uploaded. */
ls_code ls_replica_sync(ls_replica *r, ls_db *db, bool *more, ls_err *err);
/* Backoff to wait before the next attempt after consecutive errors:
 * sync-interval doubled per error, capped at 5 min (6.3). */
int64_t ls_replica_backoff_ns(const ls_replica *r);

ls_storage *ls_replica_storage(ls_replica *r);
const char *ls_replica_name(const ls_replica *r);
int64_t ls_replica_sync_interval(const ls_replica *r);
void ls_replica_status_get(ls_replica *r, ls_replica_status *out);
void ls_replica_set_state(ls_replica *r, ls_replica_state s);

/*
 * Persists the request counters of one database's replicas (reps[0..n), in
 * configuration order) to <meta_path>/stats.json (engine/stats.h) so that
 * `litestream status` can show them. Writes only when a counter changed
 * since the last write of these replicas and either force is set or that
 * write is at least LS_STATS_PERSIST_INTERVAL_NS old; otherwise it costs a
 * few atomic loads and no system call, so it may be called on every timer
 * tick (an idle database writes nothing). Nothing is written when
 * meta_path does not exist yet (the database was never synced); the file
 * gets the meta directory's permission bits without execute. A failed write
 * is logged once (warning) until a write succeeds again, is retried after
 * the interval, and is returned. Thread-safe (a process-wide lock
 * serialises writers).
 */
ls_code ls_replicas_persist_stats(ls_replica *const *reps, size_t n, const char *meta_path,
                                  bool force, ls_err *err);

#endif
