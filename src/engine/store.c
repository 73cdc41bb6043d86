/*
 * engine/store.c — scheduling of databases and replicas on a libuv loop.
 * See store.h for the contract (event-driven syncs, per-database
 * serialisation of blocking jobs on the thread pool, graceful shutdown).
 */
#include "engine/store.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/fs.h"
#include "util/log.h"
#include "util/timeutil.h"

enum job_kind { JOB_NONE, JOB_SYNC, JOB_COMPACT, JOB_SNAPSHOT, JOB_L0_RETENTION, JOB_FINAL };

#define BUSY_STREAK_REPORT 5

typedef struct store_db {
    ls_store *store;
    size_t index;
    ls_db *db;
    ls_replica **replicas;
    size_t nreplicas;
    int64_t monitor_interval_ns;
    int64_t min_spacing_ns;
    char *dir, *db_name, *wal_name;

    uv_fs_event_t fsev;
    uv_timer_t monitor_timer;   /* safety net */
    uv_timer_t spacing_timer;   /* delayed sync (spacing / retry backoff) */
    bool fsev_started;
    bool fsev_paused;           /* watch stopped until the requested sync ran */
    int busy_streak;            /* consecutive LS_ERR_BUSY sync results */

    /* loop-thread scheduling state */
    bool busy;
    bool want_sync;
    bool want_snapshot;
    bool snapshot_missed;       /* the last snapshot attempt failed or was not ready */
    bool want_l0_retention;
    unsigned want_compact;      /* bit L set: compact level L */
    int64_t last_sync_start;    /* monotonic ns */
    int64_t retry_at;           /* monotonic ns; 0 = none */
    struct { int64_t size, mtime_ns; ino_t ino; bool exists; } wal_seen;

    /* change counters used to skip work when nothing is new */
    uint64_t level_writes[LS_SNAPSHOT_LEVEL + 1]; /* [0] = L0 uploads */
    uint64_t compacted_from[LS_SNAPSHOT_LEVEL + 1]; /* level_writes[L-1] seen by level L */
    bool compacted_once[LS_SNAPSHOT_LEVEL + 1];     /* level L ran at least once */
    int64_t last_change_ns;     /* wall time of the last upload/compaction */
    int64_t last_upload_ns;     /* wall time of the last L0 upload */
    bool l0_waiting;            /* last L0 retention kept files as too recent */
    bool job_l0_waiting;        /* ...as reported by the job (worker side) */

    /* current job (owned by the worker while busy) */
    uv_work_t work;
    enum job_kind job;
    int job_level;
    ls_code job_rc;
    ls_err job_err;
    bool job_uploaded;
    bool job_compacted;
    bool job_replica_error;
    bool job_snapshot_missed;
    struct { int64_t size, mtime_ns; ino_t ino; bool exists; } job_wal;
} store_db;

struct ls_store {
    ls_store_opts opts;
    store_db **dbs;
    size_t ndbs, cap;
    uv_loop_t *loop;
    uv_timer_t level_timers[LS_MAX_LEVELS + 1]; /* [L] for L = 1..n */
    uv_timer_t snapshot_timer;
    uv_timer_t l0_timer;
    bool started;
    bool shutting_down;
    atomic_bool abort_shutdown;
    size_t final_pending;
    size_t closing_handles;
    ls_code shutdown_rc;
    void (*done)(void *ctx, ls_code rc);
    void *done_ctx;
};

void ls_store_opts_defaults(ls_store_opts *o) {
    memset(o, 0, sizeof(*o));
    ls_compact_opts_defaults(&o->compact);
    o->l0_retention_check_interval_ns = 15 * LS_NS_PER_SEC;
    o->shutdown_sync_timeout_ns = 30 * LS_NS_PER_SEC;
    o->shutdown_sync_interval_ns = 500 * LS_NS_PER_MS;
}

ls_code ls_store_new(const ls_store_opts *opts, ls_store **out, ls_err *err) {
    ls_store *s = calloc(1, sizeof(*s));
    if (!s) return ls_err_set(err, LS_ERR_NOMEM, "store: out of memory");
    if (opts) s->opts = *opts;
    else ls_store_opts_defaults(&s->opts);
    atomic_init(&s->abort_shutdown, false);
    *out = s;
    return LS_OK;
}

static void upload_all(store_db *d, bool ignore_backoff);
static void after_l0_cb(void *arg) { upload_all(arg, false); }

ls_code ls_store_add_db(ls_store *s, const ls_store_db_spec *spec, ls_err *err) {
    if (ls_store_find(s, spec->db.path) >= 0)
        return ls_err_set(err, LS_ERR_CONFIG, "database %s is configured twice", spec->db.path);
    if (s->ndbs == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        store_db **p = realloc(s->dbs, cap * sizeof(*p));
        if (!p) return ls_err_set(err, LS_ERR_NOMEM, "store: out of memory");
        s->dbs = p;
        s->cap = cap;
    }
    store_db *d = calloc(1, sizeof(*d));
    if (!d) return ls_err_set(err, LS_ERR_NOMEM, "store: out of memory");
    ls_db_opts dbo = spec->db;
    dbo.after_l0 = after_l0_cb; /* ship each L0 file as soon as it exists */
    dbo.after_l0_arg = d;
    ls_code rc = ls_db_new(&dbo, &d->db, err);
    if (rc != LS_OK) {
        free(d);
        return rc;
    }
    d->store = s;
    d->index = s->ndbs;
    d->monitor_interval_ns = spec->monitor_interval_ns > 0 ? spec->monitor_interval_ns : LS_NS_PER_SEC;
    d->dir = ls_path_dir(spec->db.path);
    d->db_name = ls_path_base(spec->db.path);
    d->wal_name = ls_strfmt("%s-wal", d->db_name ? d->db_name : "");
    d->replicas = calloc(spec->nreplicas ? spec->nreplicas : 1, sizeof(ls_replica *));
    if (!d->dir || !d->db_name || !d->wal_name || !d->replicas) {
        ls_db_free(d->db);
        free(d->dir);
        free(d->db_name);
        free(d->wal_name);
        free(d->replicas);
        free(d);
        return ls_err_set(err, LS_ERR_NOMEM, "store: out of memory");
    }
    d->min_spacing_ns = d->monitor_interval_ns;
    for (size_t i = 0; i < spec->nreplicas; i++) {
        d->replicas[i] = spec->replicas[i];
        int64_t si = ls_replica_sync_interval(spec->replicas[i]);
        if (si < d->min_spacing_ns) d->min_spacing_ns = si;
    }
    d->nreplicas = spec->nreplicas;
    s->dbs[s->ndbs++] = d;
    return LS_OK;
}

size_t ls_store_db_count(ls_store *s) { return s->ndbs; }

long ls_store_find(ls_store *s, const char *path) {
    for (size_t i = 0; i < s->ndbs; i++)
        if (strcmp(ls_db_path(s->dbs[i]->db), path) == 0) return (long)i;
    return -1;
}

bool ls_store_db_status_get(ls_store *s, size_t i, ls_store_db_status *out) {
    if (i >= s->ndbs) return false;
    store_db *d = s->dbs[i];
    memset(out, 0, sizeof(*out));
    snprintf(out->path, sizeof(out->path), "%s", ls_db_path(d->db));
    ls_db_status_get(d->db, &out->db);
    out->nreplicas = d->nreplicas < 8 ? d->nreplicas : 8;
    for (size_t k = 0; k < out->nreplicas; k++) {
        ls_replica_status_get(d->replicas[k], &out->replicas[k]);
        ls_storage *st = ls_replica_storage(d->replicas[k]);
        snprintf(out->replica_names[k], sizeof(out->replica_names[k]), "%s",
                 ls_replica_name(d->replicas[k]));
        snprintf(out->replica_types[k], sizeof(out->replica_types[k]), "%s",
                 st && st->type ? st->type : "");
        snprintf(out->replica_urls[k], sizeof(out->replica_urls[k]), "%s",
                 st && st->url ? st->url : "");
    }
    return true;
}

/* ------------------------------------------------------------------------
 * Jobs (run on the thread pool; touch only this database's objects)
 */

static void stat_wal(store_db *d, int64_t *size, int64_t *mtime, ino_t *ino, bool *exists) {
    struct stat st;
    if (stat(ls_db_wal_path(d->db), &st) == 0) {
        *size = st.st_size;
        *mtime = (int64_t)st.st_mtim.tv_sec * LS_NS_PER_SEC + st.st_mtim.tv_nsec;
        *ino = st.st_ino;
        *exists = true;
    } else {
        *size = -1;
        *mtime = 0;
        *ino = 0;
        *exists = false;
    }
}

/* True when the WAL differs (existence, size, mtime, inode) from what the
 * last sync saw: loop thread only. */
static bool wal_changed(store_db *d) {
    int64_t size, mtime;
    ino_t ino;
    bool exists;
    stat_wal(d, &size, &mtime, &ino, &exists);
    return exists != d->wal_seen.exists || size != d->wal_seen.size ||
           mtime != d->wal_seen.mtime_ns || ino != d->wal_seen.ino;
}

/* Uploads pending L0 files to every replica that is not in backoff. */
static void upload_all(store_db *d, bool ignore_backoff) {
    for (size_t i = 0; i < d->nreplicas; i++) {
        ls_replica *r = d->replicas[i];
        ls_replica_status rs;
        ls_replica_status_get(r, &rs);
        if (!ignore_backoff && rs.state == LS_REPLICA_ERROR && rs.last_error_ns > 0 &&
            ls_now_ns() < rs.last_error_ns + ls_replica_backoff_ns(r)) {
            d->job_replica_error = true;
            continue;
        }
        bool more = true;
        while (more) {
            ls_err e;
            uint64_t before = rs.txid;
            if (ls_replica_sync(r, d->db, &more, &e) != LS_OK) {
                d->job_replica_error = true;
                /* logged at most every 30 s by consecutive-error count */
                ls_replica_status_get(r, &rs);
                if (rs.consecutive_errors == 1 || rs.consecutive_errors % 30 == 0)
                    ls_error("replica sync error", "db", ls_db_path(d->db), "replica",
                             ls_replica_name(r), "error", e.msg);
                break;
            }
            ls_replica_status_get(r, &rs);
            if (rs.txid > before) d->job_uploaded = true;
        }
    }
}

static void job_sync(store_db *d) {
    stat_wal(d, &d->job_wal.size, &d->job_wal.mtime_ns, &d->job_wal.ino, &d->job_wal.exists);
    bool ready = false;
    d->job_rc = ls_db_init(d->db, &ready, &d->job_err);
    if (d->job_rc != LS_OK || !ready) return;
    ls_sync_result res;
    memset(&res, 0, sizeof(res));
    d->job_rc = ls_db_sync(d->db, &res, &d->job_err);
    if (res.wrote && res.snapshot)
        ls_info("snapshot written", "db", ls_db_path(d->db), "txid", LS_HEX16(res.txid), "reason",
                res.reason ? res.reason : "");
    /* upload whatever exists locally, even after a sync error */
    upload_all(d, false);
}

/* L0 retention for every replica: remote files per replica, local L0 files
 * only up to what every replica has already compacted (a replica that is
 * behind must still be able to upload them). */
static void run_l0_retention(store_db *d) {
    ls_store *s = d->store;
    uint64_t upto = UINT64_MAX;
    d->job_l0_waiting = false;
    for (size_t i = 0; i < d->nreplicas; i++) {
        ls_retention_result rr;
        memset(&rr, 0, sizeof(rr));
        ls_err e;
        if (ls_enforce_l0_retention_ex(ls_replica_storage(d->replicas[i]), NULL, &s->opts.compact,
                                       ls_now_ns(), &rr, &e) != LS_OK) {
            ls_warn("l0 retention failed", "db", ls_db_path(d->db), "replica",
                    ls_replica_name(d->replicas[i]), "error", e.msg);
            upto = 0;
            continue;
        }
        if (rr.l0_deleted_upto < upto) upto = rr.l0_deleted_upto;
        if (rr.l0_too_recent > 0) d->job_l0_waiting = true;
    }
    if (d->nreplicas > 0 && upto != UINT64_MAX && upto > 0) {
        ls_err e;
        if (ls_db_delete_l0_upto(d->db, upto, &e) != LS_OK)
            ls_warn("local l0 retention failed", "db", ls_db_path(d->db), "error", e.msg);
    }
}

static void job_compact(store_db *d) {
    ls_store *s = d->store;
    int level = d->job_level;
    bool any_l1 = false;
    for (size_t i = 0; i < d->nreplicas; i++) {
        ls_compact_result res;
        memset(&res, 0, sizeof(res));
        ls_err e;
        ls_code rc = ls_compact_level_ex(ls_replica_storage(d->replicas[i]), d->db, level,
                                         s->opts.compact.level_interval_ns[level - 1], ls_now_ns(),
                                         s->opts.compact.verify_compaction, &res, &e);
        if (rc != LS_OK) {
            d->job_rc = rc;
            d->job_err = e;
            continue;
        }
        if (res.outcome == LS_COMPACT_DONE) {
            d->job_compacted = true;
            if (level == 1) any_l1 = true;
        }
    }
    if (any_l1) run_l0_retention(d); /* 7.3 step 8 */
}

static void job_snapshot(store_db *d, bool force) {
    ls_store *s = d->store;
    for (size_t i = 0; i < d->nreplicas; i++) {
        ls_storage *st = ls_replica_storage(d->replicas[i]);
        ls_compact_outcome out = LS_COMPACT_NOTHING;
        ls_err e;
        ls_code rc = ls_compact_snapshot(st, d->db, s->opts.compact.snapshot_interval_ns,
                                         ls_now_ns(), force, &out, &e);
        if (rc != LS_OK) {
            d->job_rc = rc;
            d->job_err = e;
            d->job_snapshot_missed = true;
        } else if (out == LS_COMPACT_NOT_READY) {
            d->job_snapshot_missed = true;
        } else if (out == LS_COMPACT_DONE) {
            d->job_compacted = true;
        }
        if (ls_enforce_snapshot_retention(st, d->db, &s->opts.compact, ls_now_ns(), &e) != LS_OK)
            ls_warn("snapshot retention failed", "db", ls_db_path(d->db), "error", e.msg);
    }
}

static void job_l0_retention(store_db *d) { run_l0_retention(d); }

/* Final sync on shutdown: one unlimited sync, then uploads retried every
 * shutdown-sync-interval until they succeed or the timeout passes. */
static void job_final(store_db *d) {
    ls_store *s = d->store;
    bool ready = false;
    ls_err e;
    if (ls_db_init(d->db, &ready, &e) == LS_OK && ready) {
        ls_sync_result res;
        if (ls_db_sync(d->db, &res, &e) != LS_OK)
            ls_error("final sync failed", "db", ls_db_path(d->db), "error", e.msg);
        int64_t deadline = ls_monotonic_ns() + s->opts.shutdown_sync_timeout_ns;
        for (;;) {
            d->job_replica_error = false;
            upload_all(d, true);
            if (!d->job_replica_error) break;
            if (atomic_load(&s->abort_shutdown)) {
                ls_warn("shutdown sync interrupted", "db", ls_db_path(d->db));
                break;
            }
            if (ls_monotonic_ns() + s->opts.shutdown_sync_interval_ns > deadline) {
                ls_error("shutdown sync timed out; some changes were not uploaded", "db",
                         ls_db_path(d->db));
                break;
            }
            struct timespec ts = {(time_t)(s->opts.shutdown_sync_interval_ns / LS_NS_PER_SEC),
                                  (long)(s->opts.shutdown_sync_interval_ns % LS_NS_PER_SEC)};
            nanosleep(&ts, NULL);
        }
    }
    if (ls_db_close(d->db, &e) != LS_OK)
        ls_error("close database failed", "db", ls_db_path(d->db), "error", e.msg);
}

/* Request counters for `status` (engine/stats.h): written only when they
 * changed, at most every 10 s unless forced; a no-op otherwise. */
static void persist_stats(store_db *d, bool force) {
    ls_err e;
    (void)ls_replicas_persist_stats(d->replicas, d->nreplicas, ls_db_meta_path(d->db), force, &e);
}

static void work_cb(uv_work_t *w) {
    store_db *d = w->data;
    d->job_rc = LS_OK;
    ls_err_clear(&d->job_err);
    d->job_uploaded = d->job_compacted = d->job_replica_error = d->job_snapshot_missed = false;
    switch (d->job) {
    case JOB_SYNC: job_sync(d); break;
    case JOB_COMPACT: job_compact(d); break;
    case JOB_SNAPSHOT: job_snapshot(d, false); break;
    case JOB_L0_RETENTION: job_l0_retention(d); break;
    case JOB_FINAL: job_final(d); break;
    case JOB_NONE: break;
    }
    if (d->job != JOB_FINAL) ls_db_trim(d->db);
    persist_stats(d, d->job == JOB_FINAL);
}

/* ------------------------------------------------------------------------
 * Loop-thread scheduling
 */

static void dispatch(store_db *d);
static void final_done(store_db *d);
static void resume_watch(store_db *d);

static void after_work_cb(uv_work_t *w, int status) {
    store_db *d = w->data;
    (void)status;
    enum job_kind kind = d->job;
    d->busy = false;
    d->job = JOB_NONE;
    if (kind == JOB_FINAL) {
        final_done(d);
        return;
    }
    /* LS_ERR_BUSY is a transient race with the application (the WAL was
     * restarted or truncated while we read it, a lock was held): retried at
     * the next spacing tick, and reported only when it keeps happening. */
    const bool transient = d->job_rc == LS_ERR_BUSY && ++d->busy_streak < BUSY_STREAK_REPORT;
    if (d->job_rc == LS_OK) d->busy_streak = 0;
    if (transient)
        ls_debug("sync interrupted; retrying", "db", ls_db_path(d->db), "error", d->job_err.msg);
    else if (d->job_rc != LS_OK)
        ls_error("sync error", "db", ls_db_path(d->db), "error", d->job_err.msg);
    if (kind == JOB_SYNC) {
        d->wal_seen.size = d->job_wal.size;
        d->wal_seen.mtime_ns = d->job_wal.mtime_ns;
        d->wal_seen.ino = d->job_wal.ino;
        d->wal_seen.exists = d->job_wal.exists;
        if (d->job_replica_error) {
            /* retry uploads after the largest replica backoff */
            int64_t backoff = 0;
            for (size_t i = 0; i < d->nreplicas; i++) {
                int64_t b = ls_replica_backoff_ns(d->replicas[i]);
                if (b > backoff) backoff = b;
            }
            d->retry_at = ls_monotonic_ns() + backoff;
        } else {
            d->retry_at = 0;
        }
        if (d->job_rc == LS_ERR_BUSY && d->retry_at == 0) d->want_sync = true;
        else if (d->job_rc != LS_OK && d->retry_at == 0)
            d->retry_at = ls_monotonic_ns() + d->monitor_interval_ns;
        resume_watch(d);
    }
    if (d->job_uploaded) {
        d->level_writes[0]++;
        d->last_change_ns = d->last_upload_ns = ls_now_ns();
    }
    /* A snapshot that failed (replica unreachable) or found the database not
     * ready runs again after the next successful upload, not only at the next
     * snapshot boundary (up to a day later); no timer while nothing changes. */
    if (kind == JOB_SNAPSHOT) d->snapshot_missed = d->job_snapshot_missed;
    if (kind == JOB_SYNC && d->job_uploaded && d->snapshot_missed) {
        d->snapshot_missed = false;
        d->want_snapshot = true;
    }
    if (kind == JOB_L0_RETENTION || (kind == JOB_COMPACT && d->job_level == 1 && d->job_compacted))
        d->l0_waiting = d->job_l0_waiting;
    /* A failed compaction must run again at the next tick even when nothing
     * new is uploaded meanwhile (e.g. the replica was unreachable). */
    if (kind == JOB_COMPACT && d->job_rc != LS_OK) d->compacted_once[d->job_level] = false;
    if (kind == JOB_COMPACT && d->job_compacted) {
        d->level_writes[d->job_level]++;
        d->last_change_ns = ls_now_ns();
    }
    if (!d->store->shutting_down) dispatch(d);
    else if (d->store->final_pending) {
        /* shutdown began while this job ran: now run the final job */
        d->job = JOB_FINAL;
        d->busy = true;
        d->work.data = d;
        uv_queue_work(d->store->loop, &d->work, work_cb, after_work_cb);
    }
}

static void queue_job(store_db *d, enum job_kind kind, int level) {
    d->job = kind;
    d->job_level = level;
    d->busy = true;
    d->work.data = d;
    int rc = uv_queue_work(d->store->loop, &d->work, work_cb, after_work_cb);
    if (rc != 0) {
        d->busy = false;
        d->job = JOB_NONE;
        ls_error("cannot queue job", "db", ls_db_path(d->db), "error", uv_strerror(rc));
    }
}

static void spacing_cb(uv_timer_t *t) {
    store_db *d = t->data;
    dispatch(d);
}

/* Picks the next job for an idle database, honouring sync spacing. */
static void dispatch(store_db *d) {
    if (d->busy || d->store->shutting_down) return;
    int64_t now = ls_monotonic_ns();
    if (d->retry_at && now >= d->retry_at) {
        d->retry_at = 0;
        d->want_sync = true;
    }
    if (d->want_sync) {
        int64_t next = d->last_sync_start + d->min_spacing_ns;
        if (d->last_sync_start == 0 || now >= next) {
            d->want_sync = false;
            d->last_sync_start = now;
            queue_job(d, JOB_SYNC, 0);
            return;
        }
        uint64_t ms = (uint64_t)((next - now + LS_NS_PER_MS - 1) / LS_NS_PER_MS);
        uv_timer_start(&d->spacing_timer, spacing_cb, ms, 0);
        /* fall through: other work may run while we wait */
    }
    for (int level = 1; level <= d->store->opts.compact.nlevels; level++) {
        if (!(d->want_compact & (1u << level))) continue;
        d->want_compact &= ~(1u << level);
        if (d->compacted_once[level] && d->level_writes[level - 1] == d->compacted_from[level])
            continue; /* nothing new below this level */
        d->compacted_once[level] = true;
        d->compacted_from[level] = d->level_writes[level - 1];
        queue_job(d, JOB_COMPACT, level);
        return;
    }
    if (d->want_snapshot) {
        d->want_snapshot = false;
        queue_job(d, JOB_SNAPSHOT, LS_SNAPSHOT_LEVEL);
        return;
    }
    if (d->want_l0_retention) {
        d->want_l0_retention = false;
        queue_job(d, JOB_L0_RETENTION, 0);
        return;
    }
    if (d->retry_at) {
        uint64_t ms = (uint64_t)((d->retry_at - now + LS_NS_PER_MS - 1) / LS_NS_PER_MS);
        if (!d->want_sync) uv_timer_start(&d->spacing_timer, spacing_cb, ms, 0);
    }
}

static void request_sync(store_db *d) {
    d->want_sync = true;
    dispatch(d);
}

static void fs_event_cb(uv_fs_event_t *h, const char *filename, int events, int status) {
    store_db *d = h->data;
    (void)events;
    if (status < 0 || !filename) {
        request_sync(d);
        return;
    }
    if (strcmp(filename, d->wal_name) == 0 || strcmp(filename, d->db_name) == 0) {
        /* One event is enough: stop watching until the sync has run, so a
         * busy application's every WAL write does not wake this thread (and
         * queue an inotify event at its own expense). after_work_cb re-arms
         * the watch and compares the WAL with what the sync saw. */
        if (d->fsev_started && !d->fsev_paused && uv_fs_event_stop(&d->fsev) == 0)
            d->fsev_paused = true;
        request_sync(d);
    }
}

/* Re-arms a paused watch after a sync; if the WAL changed since the sync
 * looked at it (while nobody was watching), syncs again. */
static void resume_watch(store_db *d) {
    if (!d->fsev_paused || d->store->shutting_down) return;
    d->fsev_paused = false;
    if (uv_fs_event_start(&d->fsev, fs_event_cb, d->dir, 0) != 0) d->fsev_started = false;
    if (wal_changed(d)) d->want_sync = true;
}

/* Safety net: sync only if the WAL changed since the last sync saw it, the
 * database is not initialised yet, or a retry is due. */
static void monitor_cb(uv_timer_t *t) {
    store_db *d = t->data;
    if (!d->busy) persist_stats(d, false); /* counters changed < 10 s before going idle */
    ls_db_status st;
    ls_db_status_get(d->db, &st);
    if (wal_changed(d) || !st.initialized || (d->retry_at && ls_monotonic_ns() >= d->retry_at)) {
        request_sync(d);
    }
}

/* Delay until just after the next boundary. A tick that fires even a
 * fraction of a millisecond before the boundary finds the newest file of the
 * level "too early" (7.3 step 2) and the compaction waits a whole interval
 * (seen in bench/s3_bench.sh: no L1 at the first 30 s boundary). libuv counts
 * a timer in whole milliseconds from the loop's cached time, which is stale
 * by however long the loop has been busy since it was updated: update it,
 * and aim 20 ms past the boundary. */
#define BOUNDARY_MARGIN_MS 20
static uint64_t ms_until_boundary(uv_loop_t *loop, int64_t interval_ns) {
    uv_update_time(loop);
    int64_t now = ls_now_ns();
    int64_t next = ls_interval_prev(now, interval_ns) + interval_ns;
    int64_t ms = (next - now) / LS_NS_PER_MS + BOUNDARY_MARGIN_MS;
    return ms > 0 ? (uint64_t)ms : 1;
}

static void level_timer_cb(uv_timer_t *t) {
    ls_store *s = t->data;
    int level = (int)(t - s->level_timers);
    for (size_t i = 0; i < s->ndbs; i++) {
        s->dbs[i]->want_compact |= 1u << level;
        dispatch(s->dbs[i]);
    }
    uv_timer_start(t, level_timer_cb, ms_until_boundary(s->loop, s->opts.compact.level_interval_ns[level - 1]), 0);
}

static void snapshot_timer_cb(uv_timer_t *t) {
    ls_store *s = t->data;
    for (size_t i = 0; i < s->ndbs; i++) {
        s->dbs[i]->want_snapshot = true;
        dispatch(s->dbs[i]);
    }
    uv_timer_start(t, snapshot_timer_cb, ms_until_boundary(s->loop, s->opts.compact.snapshot_interval_ns), 0);
}

/* L0 retention runs after every L1 compaction (7.3 step 8). The timer adds
 * a run only when the last one kept compacted files because they were too
 * recent, and only once the newest of them is old enough: a replica that is
 * idle, or whose eligible files are already gone, gets no requests. */
static void l0_timer_cb(uv_timer_t *t) {
    ls_store *s = t->data;
    if (s->opts.compact.l0_retention_ns <= 0) return;
    int64_t now = ls_now_ns();
    for (size_t i = 0; i < s->ndbs; i++) {
        store_db *d = s->dbs[i];
        if (!d->l0_waiting || now < d->last_upload_ns + s->opts.compact.l0_retention_ns) continue;
        d->l0_waiting = false; /* the job reports again whether files remain */
        d->want_l0_retention = true;
        dispatch(d);
    }
}

static uint64_t ns_to_ms(int64_t ns) {
    int64_t ms = ns / LS_NS_PER_MS;
    return ms > 0 ? (uint64_t)ms : 1;
}

ls_code ls_store_start(ls_store *s, uv_loop_t *loop, ls_err *err) {
    s->loop = loop;
    for (size_t i = 0; i < s->ndbs; i++) {
        store_db *d = s->dbs[i];
        uv_timer_init(loop, &d->monitor_timer);
        uv_timer_init(loop, &d->spacing_timer);
        d->monitor_timer.data = d->spacing_timer.data = d;
        uv_fs_event_init(loop, &d->fsev);
        d->fsev.data = d;
        int rc = uv_fs_event_start(&d->fsev, fs_event_cb, d->dir, 0);
        if (rc != 0) {
            ls_warn("cannot watch database directory; relying on the monitor interval", "db",
                    ls_db_path(d->db), "dir", d->dir, "error", uv_strerror(rc));
        } else {
            d->fsev_started = true;
        }
        uv_timer_start(&d->monitor_timer, monitor_cb, ns_to_ms(d->monitor_interval_ns),
                       ns_to_ms(d->monitor_interval_ns));
        d->want_sync = true;
        if (!s->opts.once) {
            for (int l = 1; l <= s->opts.compact.nlevels; l++) d->want_compact |= 1u << l;
            d->want_snapshot = true;
        }
    }
    if (!s->opts.once) {
        for (int l = 1; l <= s->opts.compact.nlevels; l++) {
            uv_timer_init(loop, &s->level_timers[l]);
            s->level_timers[l].data = s;
            uv_timer_start(&s->level_timers[l], level_timer_cb,
                           ms_until_boundary(s->loop, s->opts.compact.level_interval_ns[l - 1]), 0);
        }
        uv_timer_init(loop, &s->snapshot_timer);
        s->snapshot_timer.data = s;
        uv_timer_start(&s->snapshot_timer, snapshot_timer_cb,
                       ms_until_boundary(s->loop, s->opts.compact.snapshot_interval_ns), 0);
        uv_timer_init(loop, &s->l0_timer);
        s->l0_timer.data = s;
        uv_timer_start(&s->l0_timer, l0_timer_cb, ns_to_ms(s->opts.l0_retention_check_interval_ns),
                       ns_to_ms(s->opts.l0_retention_check_interval_ns));
    }
    s->started = true;
    for (size_t i = 0; i < s->ndbs; i++) dispatch(s->dbs[i]);
    (void)err;
    return LS_OK;
}

/* ------------------------------------------------------------------------
 * Shutdown
 */

static void maybe_finish(ls_store *s) {
    if (s->final_pending > 0 || s->closing_handles > 0) return;
    if (s->done) {
        void (*done)(void *, ls_code) = s->done;
        s->done = NULL;
        done(s->done_ctx, s->shutdown_rc);
    }
}

typedef struct close_ctx {
    ls_store *s;
} close_ctx;

static void close_handle(ls_store *s, uv_handle_t *h);

static void on_handle_closed(uv_handle_t *h) {
    ls_store *s = ((close_ctx *)h->data)->s;
    free(h->data);
    h->data = NULL;
    s->closing_handles--;
    maybe_finish(s);
}

static void close_handle(ls_store *s, uv_handle_t *h) {
    if (uv_is_closing(h)) return;
    close_ctx *c = malloc(sizeof(*c));
    if (!c) return;
    c->s = s;
    h->data = c;
    s->closing_handles++;
    uv_close(h, on_handle_closed);
}

static void final_done(store_db *d) {
    ls_store *s = d->store;
    s->final_pending--;
    maybe_finish(s);
}

void ls_store_shutdown(ls_store *s, void (*done)(void *ctx, ls_code rc), void *ctx) {
    if (s->shutting_down) {
        atomic_store(&s->abort_shutdown, true);
        return;
    }
    s->shutting_down = true;
    s->done = done;
    s->done_ctx = ctx;
    if (s->started) {
        for (size_t i = 0; i < s->ndbs; i++) {
            store_db *d = s->dbs[i];
            if (d->fsev_started && !d->fsev_paused) uv_fs_event_stop(&d->fsev);
            close_handle(s, (uv_handle_t *)&d->fsev);
            close_handle(s, (uv_handle_t *)&d->monitor_timer);
            close_handle(s, (uv_handle_t *)&d->spacing_timer);
        }
        if (!s->opts.once) {
            for (int l = 1; l <= s->opts.compact.nlevels; l++)
                close_handle(s, (uv_handle_t *)&s->level_timers[l]);
            close_handle(s, (uv_handle_t *)&s->snapshot_timer);
            close_handle(s, (uv_handle_t *)&s->l0_timer);
        }
    }
    s->final_pending = s->ndbs;
    for (size_t i = 0; i < s->ndbs; i++) {
        store_db *d = s->dbs[i];
        if (!d->busy) queue_job(d, JOB_FINAL, 0); /* else after_work_cb queues it */
    }
    maybe_finish(s);
}

ls_code ls_store_run_once(ls_store *s, bool force_snapshot, bool enforce_retention, ls_err *err) {
    ls_code first = LS_OK;
    for (size_t i = 0; i < s->ndbs; i++) {
        store_db *d = s->dbs[i];
        d->job_rc = LS_OK;
        ls_err_clear(&d->job_err);
        d->job_replica_error = false;
        job_sync(d);
        if (d->job_rc == LS_OK && d->job_replica_error) {
            d->job_rc = LS_ERR_NETWORK;
            ls_err_set(&d->job_err, LS_ERR_NETWORK, "upload to a replica failed for %s",
                       ls_db_path(d->db));
        }
        if (d->job_rc == LS_OK && force_snapshot) job_snapshot(d, true);
        if (d->job_rc == LS_OK && enforce_retention) {
            for (size_t k = 0; k < d->nreplicas; k++) {
                ls_err e;
                if (ls_enforce_snapshot_retention(ls_replica_storage(d->replicas[k]), d->db,
                                                  &s->opts.compact, ls_now_ns(), &e) != LS_OK) {
                    d->job_rc = e.code;
                    d->job_err = e;
                }
            }
        }
        if (d->job_rc != LS_OK && first == LS_OK) {
            first = d->job_rc;
            if (err) *err = d->job_err;
        }
        persist_stats(d, true);
        ls_err e;
        ls_db_close(d->db, &e);
    }
    return first;
}

void ls_store_free(ls_store *s) {
    if (!s) return;
    for (size_t i = 0; i < s->ndbs; i++) {
        store_db *d = s->dbs[i];
        for (size_t k = 0; k < d->nreplicas; k++) ls_replica_free(d->replicas[k]);
        free(d->replicas);
        ls_db_free(d->db);
        free(d->dir);
        free(d->db_name);
        free(d->wal_name);
        free(d);
    }
    free(s->dbs);
    free(s);
}
