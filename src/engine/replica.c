/*
 * engine/replica.c — uploads a database's local L0 files to one replica
 * (spec 6). Contract in replica.h.
 *
 * Every file is verified completely (ltx_verify) before it is uploaded, so a
 * corrupt local file is never propagated; the upload goes through
 * ls_ltx_write (atomic put) with the file's header timestamp as the object's
 * creation time (3.3).
 */
#include "engine/replica.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/stats.h"
#include "ltx/ltx.h"
#include "storage/ltxfiles.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/timeutil.h"

#define DEFAULT_SYNC_INTERVAL_NS (1 * LS_NS_PER_SEC)
#define DEFAULT_MAX_SYNC_LTX_FILES 256
#define MAX_BACKOFF_NS (5 * 60 * LS_NS_PER_SEC)

struct ls_replica {
    char *name;
    ls_storage *storage;
    int64_t sync_interval_ns;
    int max_files;
    bool auto_recover;

    uint64_t pos;          /* replica position (valid when pos_known) */
    bool pos_known;

    pthread_mutex_t mu;    /* protects st */
    ls_replica_status st;

    /* persisted counters (g_stats_mu) */
    ls_storage_stats stats_written;
    int64_t stats_written_mono;  /* 0: never written */
};

static pthread_mutex_t g_stats_mu = PTHREAD_MUTEX_INITIALIZER;
static bool g_stats_warned;

ls_code ls_replica_new(const ls_replica_opts *opts, ls_replica **out, ls_err *err) {
    *out = NULL;
    if (!opts || !opts->storage)
        return ls_err_set(err, LS_ERR_INVALID, "replica: storage required");
    ls_replica *r = calloc(1, sizeof(*r));
    if (!r) return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
    const char *name = opts->name && *opts->name ? opts->name
                       : opts->storage->type     ? opts->storage->type
                                                 : "replica";
    r->name = ls_strdup(name);
    if (!r->name) {
        free(r);
        return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
    }
    r->storage = opts->storage;
    r->sync_interval_ns = opts->sync_interval_ns >= 0 ? opts->sync_interval_ns : DEFAULT_SYNC_INTERVAL_NS;
    r->max_files = opts->max_sync_ltx_files >= 0 ? opts->max_sync_ltx_files : DEFAULT_MAX_SYNC_LTX_FILES;
    r->auto_recover = opts->auto_recover;
    pthread_mutex_init(&r->mu, NULL);
    r->st.state = LS_REPLICA_IDLE;
    r->st.stats_since_ns = ls_now_ns();
    *out = r;
    return LS_OK;
}

void ls_replica_free(ls_replica *r) {
    if (!r) return;
    ls_storage_close(r->storage);
    pthread_mutex_destroy(&r->mu);
    free(r->name);
    free(r);
}

ls_storage *ls_replica_storage(ls_replica *r) { return r->storage; }
const char *ls_replica_name(const ls_replica *r) { return r->name; }
int64_t ls_replica_sync_interval(const ls_replica *r) { return r->sync_interval_ns; }

void ls_replica_status_get(ls_replica *r, ls_replica_status *out) {
    pthread_mutex_lock(&r->mu);
    *out = r->st;
    pthread_mutex_unlock(&r->mu);
    if (r->storage) ls_storage_stats_get(r->storage, &out->stats);
}

void ls_replica_set_state(ls_replica *r, ls_replica_state s) {
    pthread_mutex_lock(&r->mu);
    r->st.state = s;
    pthread_mutex_unlock(&r->mu);
}

int64_t ls_replica_backoff_ns(const ls_replica *r) {
    ls_replica *m = (ls_replica *)r; /* status lock only */
    pthread_mutex_lock(&m->mu);
    uint32_t n = r->st.consecutive_errors;
    pthread_mutex_unlock(&m->mu);
    if (n == 0) return 0;
    int64_t b = r->sync_interval_ns > 0 ? r->sync_interval_ns : DEFAULT_SYNC_INTERVAL_NS;
    for (uint32_t i = 1; i < n && b < MAX_BACKOFF_NS; i++) b *= 2;
    return b < MAX_BACKOFF_NS ? b : MAX_BACKOFF_NS;
}

/* ---- status helpers ---- */

static void set_pos(ls_replica *r, uint64_t txid) {
    r->pos = txid;
    r->pos_known = true;
    pthread_mutex_lock(&r->mu);
    r->st.txid = txid;
    pthread_mutex_unlock(&r->mu);
}

static void reset_pos(ls_replica *r) {
    r->pos = 0;
    r->pos_known = false;
}

static ls_code fail(ls_replica *r, ls_code rc, const ls_err *e) {
    reset_pos(r);
    pthread_mutex_lock(&r->mu);
    if (r->st.state != LS_REPLICA_STOPPED) r->st.state = LS_REPLICA_ERROR;
    r->st.consecutive_errors++;
    r->st.last_error = rc;
    r->st.last_error_ns = ls_now_ns();
    snprintf(r->st.last_error_msg, sizeof(r->st.last_error_msg), "%s", e ? e->msg : "");
    pthread_mutex_unlock(&r->mu);
    return rc;
}

static void succeed(ls_replica *r, bool synced) {
    pthread_mutex_lock(&r->mu);
    if (r->st.state != LS_REPLICA_STOPPED) r->st.state = LS_REPLICA_IDLE;
    r->st.consecutive_errors = 0;
    r->st.last_error = LS_OK;
    r->st.last_error_msg[0] = '\0';
    if (synced) r->st.last_sync_ns = ls_now_ns();
    pthread_mutex_unlock(&r->mu);
}

/* ---- position (6.1) ---- */

ls_code ls_replica_pos(ls_replica *r, uint64_t *txid, ls_err *err) {
    if (r->pos_known) {
        *txid = r->pos;
        return LS_OK;
    }
    uint64_t t = 0;
    ls_code rc = ls_ltx_max_txid(r->storage, 0, &t, err);
    if (rc != LS_OK) {
        ls_err_wrap(err, "replica %s: list level 0", r->name);
        return rc;
    }
    set_pos(r, t);
    *txid = t;
    return LS_OK;
}

/* Local-file problems that reset + re-snapshot can fix (4.3, 6.3). */
static bool auto_recoverable(ls_code rc) {
    return rc == LS_ERR_NOTFOUND || rc == LS_ERR_FORMAT || rc == LS_ERR_CHECKSUM ||
           rc == LS_ERR_UNSUPPORTED;
}

static ls_code recover_or_fail(ls_replica *r, ls_db *db, ls_code rc, ls_err *err) {
    ls_err e = err ? *err : (ls_err){0};
    if (r->auto_recover && auto_recoverable(rc)) {
        ls_warn("local ltx files unusable; resetting local state (auto-recover)", "db",
                ls_db_path(db), "replica", r->name, "error", e.msg);
        ls_err re;
        if (ls_db_reset_local(db, &re) != LS_OK)
            ls_error("auto-recover: reset failed", "db", ls_db_path(db), "error", re.msg);
    } else if (auto_recoverable(rc)) {
        ls_err_wrap(err, "local ltx file error (fix with 'litestream reset %s' or set auto-recover)",
                    ls_db_path(db));
        e = *err;
    }
    return fail(r, rc, &e);
}

/* "Database behind replica" (5.3 step 10): adopts the replica's newest L0
 * file when the local position is behind the replica's. */
static ls_code adopt_if_behind(ls_replica *r, ls_db *db, uint64_t local, uint64_t remote,
                               bool *adopted, ls_err *err) {
    *adopted = false;
    if (remote == 0 || local >= remote) return LS_OK;
    ls_reader *src = NULL;
    ls_code rc = ls_ltx_open(r->storage, 0, remote, remote, 0, LS_STORAGE_TO_END, &src, err);
    if (rc != LS_OK) return ls_err_wrap(err, "replica %s: open newest L0 file", r->name);
    rc = ls_db_adopt_replica_l0(db, remote, src, err);
    ls_reader_close(src);
    if (rc != LS_OK) return ls_err_wrap(err, "replica %s", r->name);
    *adopted = true;
    return LS_OK;
}

/* Verifies the local file for txid and returns its header. */
static ls_code verify_local(ls_db *db, uint64_t txid, ltx_header *h, ls_err *err) {
    ls_reader *rd = NULL;
    ls_code rc = ls_db_open_l0(db, txid, &rd, err);
    if (rc != LS_OK) {
        if (rc == LS_ERR_NOTFOUND) {
            char t[LTX_TXID_STR_SIZE];
            ltx_format_txid(txid, t);
            ls_err_set(err, LS_ERR_NOTFOUND, "%s: ltx missing: local L0 file %s not found",
                       ls_db_path(db), t);
        }
        return rc;
    }
    rc = ltx_verify(rd, h, NULL, err);
    ls_reader_close(rd);
    if (rc == LS_OK && (h->min_txid != txid || h->max_txid != txid))
        rc = ls_err_set(err, LS_ERR_FORMAT, "header TXIDs %016llx-%016llx do not match",
                        (unsigned long long)h->min_txid, (unsigned long long)h->max_txid);
    if (rc != LS_OK) {
        char t[LTX_TXID_STR_SIZE];
        ltx_format_txid(txid, t);
        ls_err_wrap(err, "%s: local L0 file %s", ls_db_path(db), t);
    }
    return rc;
}

ls_code ls_replica_sync(ls_replica *r, ls_db *db, bool *more, ls_err *err) {
    bool more_local = false;
    if (!more) more = &more_local;
    *more = false;
    pthread_mutex_lock(&r->mu);
    if (r->st.state != LS_REPLICA_STOPPED) r->st.state = LS_REPLICA_SYNCING;
    pthread_mutex_unlock(&r->mu);

    ls_db_status ds;
    ls_db_status_get(db, &ds);
    if (!ds.initialized) { /* database not there / not opened yet: waiting */
        succeed(r, false);
        return LS_OK;
    }
    /* 1 */
    uint64_t rpos = 0;
    ls_code rc = ls_replica_pos(r, &rpos, err);
    if (rc != LS_OK) return fail(r, rc, err);
    /* 2 */
    ls_pos lpos;
    rc = ls_db_pos(db, &lpos, err);
    if (rc != LS_OK) return recover_or_fail(r, db, rc, err);
    bool adopted = false;
    rc = adopt_if_behind(r, db, lpos.txid, rpos, &adopted, err);
    if (rc != LS_OK) return fail(r, rc, err);
    if (adopted) {
        succeed(r, false);
        return LS_OK; /* the next database sync writes a snapshot at rpos+1 */
    }
    if (lpos.txid == 0) { /* waiting for data */
        succeed(r, false);
        return LS_OK;
    }
    /* 3, 4 */
    int n = 0;
    for (uint64_t txid = rpos + 1; txid <= lpos.txid; txid++) {
        if (r->max_files > 0 && n >= r->max_files) {
            *more = true;
            break;
        }
        ltx_header h;
        rc = verify_local(db, txid, &h, err);
        if (rc != LS_OK) return recover_or_fail(r, db, rc, err);
        ls_reader *rd = NULL;
        rc = ls_db_open_l0(db, txid, &rd, err);
        if (rc != LS_OK) return recover_or_fail(r, db, rc, err);
        rc = ls_ltx_write(r->storage, 0, txid, txid, rd, h.timestamp, err);
        ls_reader_close(rd);
        if (rc != LS_OK) {
            char t[LTX_TXID_STR_SIZE];
            ltx_format_txid(txid, t);
            ls_err_wrap(err, "replica %s: upload L0 file %s", r->name, t);
            return fail(r, rc, err);
        }
        set_pos(r, txid);
        n++;
        ls_debug("ltx file uploaded", "db", ls_db_path(db), "replica", r->name, "txid",
                 LS_HEX16(txid));
    }
    /* 5 */
    succeed(r, true);
    return LS_OK;
}

/* ---- persisted request counters (engine/stats.h) ---- */

ls_code ls_replicas_persist_stats(ls_replica *const *reps, size_t n, const char *meta_path,
                                  bool force, ls_err *err) {
    if (!reps || n == 0 || !meta_path) return LS_OK;
    if (n > LS_STATS_MAX_REPLICAS) n = LS_STATS_MAX_REPLICAS;
    ls_storage_stats now[LS_STATS_MAX_REPLICAS];
    pthread_mutex_lock(&g_stats_mu);
    bool changed = false;
    int64_t last = 0;
    for (size_t i = 0; i < n; i++) {
        memset(&now[i], 0, sizeof(now[i]));
        if (reps[i]->storage) ls_storage_stats_get(reps[i]->storage, &now[i]);
        if (memcmp(&now[i], &reps[i]->stats_written, sizeof(now[i])) != 0) changed = true;
        if (reps[i]->stats_written_mono > last) last = reps[i]->stats_written_mono;
    }
    int64_t mono = ls_monotonic_ns();
    if (!changed || (!force && last != 0 && mono - last < LS_STATS_PERSIST_INTERVAL_NS)) {
        pthread_mutex_unlock(&g_stats_mu);
        return LS_OK;
    }
    struct stat sb;
    if (stat(meta_path, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        pthread_mutex_unlock(&g_stats_mu); /* not initialised yet */
        return LS_OK;
    }
    ls_stats_snapshot *snap = calloc(1, sizeof(*snap));
    if (!snap) {
        pthread_mutex_unlock(&g_stats_mu);
        return ls_err_set(err, LS_ERR_NOMEM, "stats: out of memory");
    }
    snap->updated_ns = ls_now_ns();
    snap->pid = (long)getpid();
    snap->n = n;
    for (size_t i = 0; i < n; i++) {
        ls_stats_replica *d = &snap->replicas[i];
        snprintf(d->name, sizeof(d->name), "%s", reps[i]->name);
        snprintf(d->type, sizeof(d->type), "%s",
                 reps[i]->storage && reps[i]->storage->type ? reps[i]->storage->type : "");
        pthread_mutex_lock(&reps[i]->mu);
        d->since_ns = reps[i]->st.stats_since_ns;
        pthread_mutex_unlock(&reps[i]->mu);
        d->stats = now[i];
    }
    ls_err e;
    ls_code rc = ls_stats_write(meta_path, snap, (unsigned)(sb.st_mode & 0666), &e);
    for (size_t i = 0; i < n; i++) {
        if (rc == LS_OK) reps[i]->stats_written = now[i];
        reps[i]->stats_written_mono = mono; /* a failure is retried after the interval */
    }
    if (rc != LS_OK && !g_stats_warned) {
        g_stats_warned = true;
        ls_warn("cannot write replica request counters", "path", meta_path, "error", e.msg);
    } else if (rc == LS_OK) {
        g_stats_warned = false;
    }
    pthread_mutex_unlock(&g_stats_mu);
    free(snap);
    if (rc != LS_OK && err) *err = e;
    return rc;
}
