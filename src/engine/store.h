/*
 * engine/store.h — the set of databases and replicas of one `replicate` run,
 * and their scheduling on a libuv event loop.
 *
 * Zero work when idle: a database is synced when inotify reports a change in
 * its directory (the WAL or the database file), never by polling; a timer at
 * monitor-interval is only a safety net that stats the WAL and does nothing
 * else when it has not changed. Uploads, compactions and retention run only
 * when something new exists, so an idle database makes no replica requests.
 *
 * Threads: the loop thread owns all scheduling state. Blocking work (sync,
 * upload, compaction, snapshot, retention) runs on the libuv thread pool,
 * serialised per database (one job at a time), so ls_db and ls_replica are
 * only ever touched by one thread at a time. ls_store_status() may be called
 * from any thread (it copies status under each object's own lock).
 *
 * Spacing: after a database's L0 write, the next one starts no sooner than
 * min(monitor-interval, the smallest replica sync-interval) later, so under
 * load there is at most one L0 file (and one upload per replica) per sync
 * interval; with sync-interval 0 every change is shipped as soon as seen.
 */
#ifndef LS_ENGINE_STORE_H
#define LS_ENGINE_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "engine/compact.h"
#include "engine/db.h"
#include "engine/replica.h"
#include "util/error.h"

typedef struct ls_store ls_store;

typedef struct ls_store_opts {
    ls_compact_opts compact;
    int64_t l0_retention_check_interval_ns;   /* 15 s */
    int64_t shutdown_sync_timeout_ns;         /* 30 s; 0 = one attempt */
    int64_t shutdown_sync_interval_ns;        /* 500 ms */
    bool once;                                /* no background monitors */
} ls_store_opts;

void ls_store_opts_defaults(ls_store_opts *o);

/* One database's entry: its options and its replicas (taken over). */
typedef struct ls_store_db_spec {
    ls_db_opts db;
    int64_t monitor_interval_ns;    /* 1 s */
    ls_replica **replicas;          /* ownership moves to the store */
    size_t nreplicas;
} ls_store_db_spec;

/* Status of one database and its replicas (copied). */
typedef struct ls_store_db_status {
    char path[4096];
    ls_db_status db;
    size_t nreplicas;
    ls_replica_status replicas[8];
    char replica_names[8][64];
    char replica_types[8][16];
    char replica_urls[8][512];
} ls_store_db_status;

ls_code ls_store_new(const ls_store_opts *opts, ls_store **out, ls_err *err);
ls_code ls_store_add_db(ls_store *s, const ls_store_db_spec *spec, ls_err *err);
/* Starts watchers and timers on loop (the loop thread calls this). */
ls_code ls_store_start(ls_store *s, uv_loop_t *loop, ls_err *err);
/* Begins graceful shutdown: stops watchers/timers, waits for running jobs,
 * final sync + uploads bounded by shutdown-sync-timeout, closes databases,
 * then calls done(ctx, rc) on the loop thread. A second call aborts the
 * upload retries. */
void ls_store_shutdown(ls_store *s, void (*done)(void *ctx, ls_code rc), void *ctx);
void ls_store_free(ls_store *s);

/* -once mode: synchronously sync every database, upload, optionally write a
 * snapshot and enforce retention (no loop needed). */
ls_code ls_store_run_once(ls_store *s, bool force_snapshot, bool enforce_retention, ls_err *err);

size_t ls_store_db_count(ls_store *s);
/* Copies the status of database i (0-based). */
bool ls_store_db_status_get(ls_store *s, size_t i, ls_store_db_status *out);
/* Index of the database with this absolute path, or -1. */
long ls_store_find(ls_store *s, const char *path);

#endif
