/*
 * engine/restore.c — restore plan (spec 8.3) and its application (8.4).
 * Contract and design notes: engine/restore.h.
 */
#include "engine/restore.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/legacy.h"
#include "engine/restore_internal.h"
#include "ltx/ltx.h"
#include "storage/legacy.h"
#include "storage/ltxfiles.h"
#include "storage/ranged.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/timeutil.h"

#define RS_COPY_BUF (128 * 1024)        /* download worker buffer */
#define RS_WRITE_BUF (512 * 1024)       /* coalesced page writes */
#define RS_PROGRESS_MAX_STEP (4ull << 20)
#define RS_DEFAULT_PARALLELISM 8
#define RS_MAX_PARALLELISM 64
#define RS_DEFAULT_FANIN 64             /* inputs merged at once */

static const char *const ERR_TX_NOT_AVAILABLE = "transaction not available";

static bool canceled(const ls_restore_opts *o) {
    return o && o->cancel && atomic_load(o->cancel);
}

/* ======================================================================== */
/* Plan (8.3)                                                               */

static ls_code plan_push(ls_restore_plan *p, size_t *cap, const ls_ltx_file *f, ls_err *err) {
    if (p->n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 8;
        ls_restore_file *n = realloc(p->files, ncap * sizeof(*n));
        if (!n) return ls_err_set(err, LS_ERR_NOMEM, "restore plan: out of memory");
        p->files = n;
        *cap = ncap;
    }
    ls_restore_file *d = &p->files[p->n++];
    d->level = f->level;
    d->min_txid = f->min_txid;
    d->max_txid = f->max_txid;
    d->size = f->size;
    d->created_at_ns = f->created_at_ns;
    return LS_OK;
}

/* "Better" ordering: larger max TXID, then smaller min TXID, then higher
 * level, then earlier creation time. True when b beats a. */
static bool candidate_better(const ls_ltx_file *a, const ls_ltx_file *b) {
    if (b->max_txid != a->max_txid) return b->max_txid > a->max_txid;
    if (b->min_txid != a->min_txid) return b->min_txid < a->min_txid;
    if (b->level != a->level) return b->level > a->level;
    return b->created_at_ns < a->created_at_ns;
}

/* A file is eligible for the target when it is not past the TXID target and
 * (with a timestamp) was created strictly before it. */
static bool eligible(const ls_ltx_file *f, uint64_t txid, int64_t ts) {
    if (txid != 0 && f->max_txid > txid) return false;
    if (ts != 0 && !(f->created_at_ns < ts)) return false;
    return true;
}

typedef struct level_cursor {
    ls_ltx_file_list list;
    size_t pos;      /* next unconsumed file */
    long cand;       /* index of the best candidate, -1 none */
} level_cursor;

static void cursor_refresh(level_cursor *c, uint64_t current, uint64_t txid, int64_t ts) {
    if (c->cand >= 0 && c->list.items[c->cand].max_txid <= current) c->cand = -1;
    while (c->pos < c->list.n) {
        const ls_ltx_file *f = &c->list.items[c->pos];
        if (f->min_txid > current + 1) return; /* stays unconsumed */
        c->pos++;
        if (f->max_txid <= current) continue;
        if (!eligible(f, txid, ts)) continue;
        if (c->cand < 0 || candidate_better(&c->list.items[c->cand], f))
            c->cand = (long)(c->pos - 1);
    }
}

ls_code ls_restore_plan_compute(ls_storage *st, uint64_t txid, int64_t timestamp_ns,
                                ls_restore_plan *plan, ls_err *err) {
    if (!plan) return ls_err_set(err, LS_ERR_INVALID, "restore plan: NULL output");
    memset(plan, 0, sizeof(*plan));
    plan->layout = "ltx";
    if (!st) return ls_err_set(err, LS_ERR_INVALID, "restore plan: no replica");
    if (txid != 0 && timestamp_ns != 0)
        return ls_err_set(err, LS_ERR_INVALID, "cannot specify index & timestamp to restore");
    bool accurate = timestamp_ns != 0;
    size_t cap = 0;
    ls_code rc;

    /* 1. Snapshot: the last eligible level-9 file in listing order. */
    ls_ltx_file_list snaps;
    rc = ls_ltx_list(st, LS_LTX_SNAPSHOT_LEVEL, 0, accurate, &snaps, err);
    if (rc != LS_OK) return rc;
    const ls_ltx_file *snap = NULL;
    for (size_t i = 0; i < snaps.n; i++)
        if (eligible(&snaps.items[i], txid, timestamp_ns)) snap = &snaps.items[i];
    uint64_t current = 0;
    if (snap) {
        rc = plan_push(plan, &cap, snap, err);
        current = snap->max_txid;
    }
    ls_ltx_file_list_free(&snaps);
    if (rc != LS_OK) goto fail;
    if (txid != 0 && current >= txid) goto done;

    /* 2. Cursors on levels 8..0. */
    level_cursor cur[LS_LTX_SNAPSHOT_LEVEL];
    int ncur = 0;
    for (int level = LS_LTX_SNAPSHOT_LEVEL - 1; level >= 0; level--) {
        level_cursor *c = &cur[ncur];
        memset(c, 0, sizeof(*c));
        c->cand = -1;
        rc = ls_ltx_list(st, level, 0, accurate, &c->list, err);
        if (rc != LS_OK) break;
        ncur++;
    }
    if (rc == LS_OK) {
        /* 3. Repeatedly take the best candidate over all levels. */
        for (;;) {
            level_cursor *next = NULL;
            for (int i = 0; i < ncur; i++) {
                cursor_refresh(&cur[i], current, txid, timestamp_ns);
                if (cur[i].cand < 0) continue;
                if (!next || candidate_better(&next->list.items[next->cand],
                                              &cur[i].list.items[cur[i].cand]))
                    next = &cur[i];
            }
            if (!next) break;
            const ls_ltx_file *f = &next->list.items[next->cand];
            next->cand = -1;
            if (f->max_txid <= current) continue;
            rc = plan_push(plan, &cap, f, err);
            if (rc != LS_OK) break;
            current = f->max_txid;
            if (txid != 0 && current >= txid) break;
        }
        /* 4. A latest restore must not stop at a gap. */
        if (rc == LS_OK && plan->n > 0 && txid == 0 && timestamp_ns == 0) {
            for (int i = 0; i < ncur; i++) {
                if (cur[i].pos >= cur[i].list.n) continue;
                const ls_ltx_file *f = &cur[i].list.items[cur[i].pos];
                if (f->min_txid > current + 1) {
                    rc = ls_err_set(err, LS_ERR_FORMAT,
                                    "non-contiguous ltx files: have up to %016" PRIx64
                                    " but next file starts at %016" PRIx64,
                                    current, f->min_txid);
                    break;
                }
            }
        }
    }
    for (int i = 0; i < ncur; i++) ls_ltx_file_list_free(&cur[i].list);
    if (rc != LS_OK) goto fail;

done:
    /* 5. Nothing usable, or the TXID target is not reached. */
    if (plan->n == 0 || (txid != 0 && plan->files[plan->n - 1].max_txid < txid)) {
        rc = ls_err_set(err, LS_ERR_UNAVAILABLE, "%s", ERR_TX_NOT_AVAILABLE);
        goto fail;
    }
    plan->min_txid = plan->files[0].min_txid;
    plan->max_txid = plan->files[plan->n - 1].max_txid;
    return LS_OK;
fail:
    ls_restore_plan_free(plan);
    plan->layout = "ltx";
    return rc;
}

void ls_restore_plan_free(ls_restore_plan *plan) {
    if (!plan) return;
    if (plan->v3) {
        ls_v3_plan_free(plan->v3);
        free(plan->v3);
        plan->v3 = NULL;
    }
    free(plan->files);
    plan->files = NULL;
    plan->n = 0;
    plan->min_txid = plan->max_txid = 0;
}

ls_code ls_restore_time_bounds(ls_storage *st, int64_t *created_ns, int64_t *updated_ns,
                               ls_err *err) {
    int64_t lo = 0, hi = 0;
    for (int level = LS_LTX_SNAPSHOT_LEVEL; level >= 0; level--) {
        ls_ltx_file_list l;
        ls_code rc = ls_ltx_list(st, level, 0, false, &l, err);
        if (rc != LS_OK) return rc;
        for (size_t i = 0; i < l.n; i++) {
            int64_t t = l.items[i].created_at_ns;
            if (lo == 0 || t < lo) lo = t;
            if (hi == 0 || t > hi) hi = t;
        }
        ls_ltx_file_list_free(&l);
    }
    if (created_ns) *created_ns = lo;
    if (updated_ns) *updated_ns = hi;
    return LS_OK;
}

static ls_code v03_time_bounds(ls_storage *st, int64_t *lo_out, int64_t *hi_out, ls_err *err);

ls_code ls_restore_check_timestamp(ls_storage *st, int64_t timestamp_ns, ls_err *err) {
    int64_t lo, hi, vlo = 0, vhi = 0;
    ls_code rc = ls_restore_time_bounds(st, &lo, &hi, err);
    if (rc == LS_OK) rc = v03_time_bounds(st, &vlo, &vhi, err);
    if (rc != LS_OK) return rc;
    /* The v0.3 data extends the range (8.6). */
    if (vlo != 0 && (lo == 0 || vlo < lo)) lo = vlo;
    if (vhi != 0 && (hi == 0 || vhi > hi)) hi = vhi;
    if (timestamp_ns == 0) return LS_OK;
    if (lo == 0 && hi == 0) return ls_err_set(err, LS_ERR_UNAVAILABLE, "no backups found");
    if (timestamp_ns < lo || timestamp_ns > hi)
        return ls_err_set(err, LS_ERR_UNAVAILABLE, "timestamp does not exist");
    return LS_OK;
}

/* ======================================================================== */
/* v0.3 vs LTX (8.2, 9.4)                                                   */

/* Creation-time bounds over every v0.3 snapshot and WAL segment (both 0
 * when there is no v0.3 data). */
static ls_code v03_time_bounds(ls_storage *st, int64_t *lo_out, int64_t *hi_out, ls_err *err) {
    ls_v3_generation_list gens;
    ls_code rc = ls_v3_list_generations(st, &gens, err);
    if (rc != LS_OK) return rc;
    int64_t lo = 0, hi = 0;
    for (size_t g = 0; g < gens.n && rc == LS_OK; g++) {
        ls_v3_snapshot_list sn;
        ls_v3_segment_list sg;
        rc = ls_v3_list_snapshots(st, gens.items[g].name, &sn, err);
        if (rc != LS_OK) break;
        for (size_t i = 0; i < sn.n; i++) {
            int64_t t = sn.items[i].created_at_ns;
            if (lo == 0 || t < lo) lo = t;
            if (t > hi) hi = t;
        }
        ls_v3_snapshot_list_free(&sn);
        rc = ls_v3_list_segments(st, gens.items[g].name, &sg, err);
        if (rc != LS_OK) break;
        for (size_t i = 0; i < sg.n; i++) {
            int64_t t = sg.items[i].created_at_ns;
            if (lo == 0 || t < lo) lo = t;
            if (t > hi) hi = t;
        }
        ls_v3_segment_list_free(&sg);
    }
    ls_v3_generation_list_free(&gens);
    *lo_out = lo;
    *hi_out = hi;
    return rc;
}

ls_code ls_restore_prefers_v03(ls_storage *st, int64_t timestamp_ns, bool *use_v03, ls_err *err) {
    *use_v03 = false;
    int64_t v3_lo = 0, v3_hi = 0;
    ls_code rc = v03_time_bounds(st, &v3_lo, &v3_hi, err);
    if (rc != LS_OK) return rc;
    if (v3_hi == 0) return LS_OK; /* 1. no v0.3 data */
    int64_t ltx_lo = 0, ltx_hi = 0;
    rc = ls_restore_time_bounds(st, &ltx_lo, &ltx_hi, err);
    if (rc != LS_OK) return rc;
    if (ltx_hi == 0) { /* 2. only v0.3 data */
        *use_v03 = true;
        return LS_OK;
    }
    if (timestamp_ns == 0) { /* 4. newest backup wins */
        *use_v03 = v3_hi > ltx_hi;
        return LS_OK;
    }
    /* 3. best snapshot for the timestamp in each layout. */
    ls_v3_snapshot_list all;
    rc = ls_v3_list_all_snapshots(st, &all, err);
    if (rc != LS_OK) return rc;
    int64_t v3_best = 0;
    bool v3_found = false;
    for (size_t i = 0; i < all.n; i++) {
        int64_t t = all.items[i].created_at_ns;
        if (t <= timestamp_ns && (!v3_found || t > v3_best)) {
            v3_best = t;
            v3_found = true;
        }
    }
    ls_v3_snapshot_list_free(&all);
    ls_ltx_file_list snaps;
    rc = ls_ltx_list(st, LS_LTX_SNAPSHOT_LEVEL, 0, true, &snaps, err);
    if (rc != LS_OK) return rc;
    const ls_ltx_file *ltx_best = NULL;
    for (size_t i = 0; i < snaps.n; i++)
        if (snaps.items[i].created_at_ns < timestamp_ns) ltx_best = &snaps.items[i];
    *use_v03 = v3_found && (!ltx_best || v3_best > ltx_best->created_at_ns);
    ls_ltx_file_list_free(&snaps);
    return LS_OK;
}

/* ======================================================================== */
/* Apply (8.4)                                                              */

typedef struct fetch_pool fetch_pool;

typedef struct restore_ctx {
    ls_storage *st;
    const ls_restore_opts *opts;
    const ls_restore_plan *plan;
    bool download;
    fetch_pool *pool;
    ls_ranged_group *ranged; /* large remote files: read in ranges */
    char *workdir;      /* "<output>.tmp-work": downloads, merge passes */
    bool workdir_made;
    uint64_t done, total, reported, step;
} restore_ctx;

/* Creates the private work directory (a stale one from a crashed restore
 * into the same output is removed first; the temp-file lock makes it ours). */
static ls_code ensure_workdir(restore_ctx *rc, ls_err *err) {
    if (rc->workdir_made) return LS_OK;
    ls_code code = ls_remove_all(rc->workdir, err);
    if (code != LS_OK) return code;
    if (mkdir(rc->workdir, 0700) != 0)
        return ls_err_errno(err, errno, "restore: create work directory %s", rc->workdir);
    rc->workdir_made = true;
    return LS_OK;
}

static void file_key(const restore_ctx *rc, size_t i, char *buf, size_t n) {
    const ls_restore_file *f = &rc->plan->files[i];
    if (ls_ltx_key(rc->st, f->level, f->min_txid, f->max_txid, buf, n) < 0)
        snprintf(buf, n, "level %d %016" PRIx64 "-%016" PRIx64, f->level, f->min_txid,
                 f->max_txid);
}

static void report_progress(restore_ctx *rc, bool force) {
    const ls_restore_opts *o = rc->opts;
    if (!o->progress) return;
    if (!force && rc->done - rc->reported < rc->step) return;
    rc->reported = rc->done;
    o->progress(o->progress_ctx, rc->done, rc->total);
}

/* ---- download workers (DOWNLOAD mode) ----------------------------------- */

enum { FETCH_PENDING = 0, FETCH_RUNNING, FETCH_DONE, FETCH_FAILED, FETCH_RANGED };

struct fetch_pool {
    restore_ctx *rc;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t n, next;
    int *state;
    ls_err *errs;
    char **paths;       /* "<workdir>/fetch-<i>.ltx" */
    bool abort;
    pthread_t *threads;
    int nthreads;
};

static ls_code fetch_one(fetch_pool *p, size_t i, ls_err *err) {
    restore_ctx *rc = p->rc;
    const ls_restore_file *f = &rc->plan->files[i];
    char key[LS_LTX_KEY_MAX + 64];
    file_key(rc, i, key, sizeof(key));
    ls_reader *r = NULL;
    ls_code code = ls_ltx_open_resumable(rc->st, f->level, f->min_txid, f->max_txid, f->size, &r,
                                         err);
    if (code != LS_OK) return code;
    int fd = open(p->paths[i], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        ls_reader_close(r);
        return ls_err_errno(err, errno, "download %s: create %s", key, p->paths[i]);
    }
    unsigned char *buf = malloc(RS_COPY_BUF);
    if (!buf) code = ls_err_set(err, LS_ERR_NOMEM, "download %s: out of memory", key);
    int64_t total = 0;
    while (code == LS_OK) {
        bool stop;
        pthread_mutex_lock(&p->mu);
        stop = p->abort;
        pthread_mutex_unlock(&p->mu);
        if (stop || canceled(rc->opts)) {
            code = ls_err_set(err, LS_ERR_CANCELED, "restore canceled");
            break;
        }
        size_t nr = 0;
        code = ls_read(r, buf, RS_COPY_BUF, &nr, err);
        if (code != LS_OK) {
            if (!strstr(err ? err->msg : "", key)) ls_err_wrap(err, "download %s", key);
            break;
        }
        if (nr == 0) break;
        code = ls_write_full(fd, buf, nr, err, p->paths[i]);
        total += (int64_t)nr;
    }
    if (code == LS_OK && f->size >= 0 && total != f->size)
        code = ls_err_set(err, LS_ERR_FORMAT, "download %s: got %" PRId64 " bytes, listed size %" PRId64,
                          key, total, f->size);
    free(buf);
    if (close(fd) != 0 && code == LS_OK)
        code = ls_err_errno(err, errno, "download %s: close %s", key, p->paths[i]);
    ls_reader_close(r);
    return code;
}

static void *fetch_worker(void *arg) {
    fetch_pool *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        if (p->abort || p->next >= p->n) {
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        size_t i = p->next++;
        if (p->state[i] == FETCH_RANGED) { /* the merge reads it in ranges */
            pthread_mutex_unlock(&p->mu);
            continue;
        }
        p->state[i] = FETCH_RUNNING;
        pthread_mutex_unlock(&p->mu);

        ls_err e;
        ls_err_clear(&e);
        ls_code code = fetch_one(p, i, &e);

        pthread_mutex_lock(&p->mu);
        p->state[i] = code == LS_OK ? FETCH_DONE : FETCH_FAILED;
        if (code != LS_OK) {
            p->errs[i] = e;
            p->errs[i].code = code;
        }
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
}

static void pool_free(fetch_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->abort = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int t = 0; t < p->nthreads; t++) pthread_join(p->threads[t], NULL);
    if (p->paths)
        for (size_t i = 0; i < p->n; i++) {
            if (p->paths[i]) unlink(p->paths[i]);
            free(p->paths[i]);
        }
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->paths);
    free(p->state);
    free(p->errs);
    free(p->threads);
    free(p);
}

static ls_code pool_start(restore_ctx *rc, ls_err *err) {
    fetch_pool *p = calloc(1, sizeof(*p));
    if (!p) return ls_err_set(err, LS_ERR_NOMEM, "restore: out of memory");
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->rc = rc;
    p->n = rc->plan->n;
    rc->pool = p;
    p->state = calloc(p->n, sizeof(*p->state));
    p->errs = calloc(p->n, sizeof(*p->errs));
    p->paths = calloc(p->n, sizeof(*p->paths));
    int par = rc->opts->parallelism > 0 ? rc->opts->parallelism : RS_DEFAULT_PARALLELISM;
    if (par > RS_MAX_PARALLELISM) par = RS_MAX_PARALLELISM;
    if ((size_t)par > p->n) par = (int)p->n;
    p->threads = calloc((size_t)par, sizeof(*p->threads));
    if (!p->state || !p->errs || !p->paths || !p->threads)
        return ls_err_set(err, LS_ERR_NOMEM, "restore: out of memory");
    for (size_t i = 0; i < p->n; i++) {
        p->paths[i] = ls_strfmt("%s/fetch-%zu.ltx", rc->workdir, i);
        if (!p->paths[i]) return ls_err_set(err, LS_ERR_NOMEM, "restore: out of memory");
        if (ls_ranged_worthwhile(rc->ranged, rc->st, rc->plan->files[i].size))
            p->state[i] = FETCH_RANGED;
    }
    ls_code code = ensure_workdir(rc, err);
    if (code != LS_OK) return code;
    for (int t = 0; t < par; t++) {
        int e = pthread_create(&p->threads[t], NULL, fetch_worker, p);
        if (e != 0) {
            if (t == 0) return ls_err_errno(err, e, "restore: start download worker");
            break; /* fewer workers is fine */
        }
        p->nthreads++;
    }
    return LS_OK;
}

/* Waits until file i is downloaded; opens it. */
static ls_code pool_open(fetch_pool *p, size_t i, ls_reader **out, ls_err *err) {
    pthread_mutex_lock(&p->mu);
    while (p->state[i] != FETCH_DONE && p->state[i] != FETCH_FAILED && !p->abort)
        pthread_cond_wait(&p->cv, &p->mu);
    int st = p->state[i];
    ls_err e = p->errs[i];
    pthread_mutex_unlock(&p->mu);
    if (st == FETCH_FAILED) {
        if (err) *err = e;
        return e.code ? e.code : LS_ERR_IO;
    }
    if (st != FETCH_DONE) return ls_err_set(err, LS_ERR_CANCELED, "restore canceled");
    return ls_reader_file(p->paths[i], out, err);
}

/* ---- input readers handed to the merger --------------------------------- */

/* Reads either plan file idx (from the backend or its download; counted
 * for progress) or, when path is set, an intermediate merge file. Checks
 * the cancel flag on every read. */
typedef struct in_reader {
    ls_reader base;
    restore_ctx *rc;
    size_t idx;
    const char *path; /* not owned */
    ls_reader *inner;
} in_reader;

static ls_code open_source(restore_ctx *rc, size_t i, ls_reader **out, ls_err *err) {
    const ls_restore_file *f = &rc->plan->files[i];
    if (ls_ranged_worthwhile(rc->ranged, rc->st, f->size))
        return ls_ltx_open_ranged(rc->ranged, rc->st, f->level, f->min_txid, f->max_txid,
                                  (uint64_t)f->size, out, err);
    if (rc->download) return pool_open(rc->pool, i, out, err);
    return ls_ltx_open_resumable(rc->st, f->level, f->min_txid, f->max_txid, f->size, out, err);
}

static ls_code in_read(ls_reader *r, void *buf, size_t len, size_t *nread, ls_err *err) {
    in_reader *ir = (in_reader *)r;
    restore_ctx *rc = ir->rc;
    *nread = 0;
    if (canceled(rc->opts)) return ls_err_set(err, LS_ERR_CANCELED, "restore canceled");
    char key[LS_LTX_KEY_MAX + 64];
    ls_code code = LS_OK;
    if (!ir->inner) {
        if (ir->path) code = ls_reader_file(ir->path, &ir->inner, err);
        else code = open_source(rc, ir->idx, &ir->inner, err);
    }
    if (code == LS_OK) code = ls_read(ir->inner, buf, len, nread, err);
    if (code != LS_OK && ir->path) return code; /* errors name the path */
    if (code != LS_OK) {
        file_key(rc, ir->idx, key, sizeof(key));
        if (code != LS_ERR_CANCELED && !strstr(err ? err->msg : "", key))
            ls_err_wrap(err, "%s", key);
        return code;
    }
    if (!ir->path) {
        rc->done += *nread;
        report_progress(rc, false);
    }
    return LS_OK;
}


static void in_close(ls_reader *r) {
    in_reader *ir = (in_reader *)r;
    ls_reader_close(ir->inner);
    free(ir);
}

static ls_reader *in_reader_new(restore_ctx *rc, size_t idx, const char *path) {
    in_reader *ir = calloc(1, sizeof(*ir));
    if (!ir) return NULL;
    ir->base.read = in_read;
    ir->base.close = in_close;
    ir->rc = rc;
    ir->idx = idx;
    ir->path = path;
    return &ir->base;
}

/* ---- page writer: coalesces ascending pages into large pwrites ---------- */

/* The merge fills one RS_WRITE_BUF buffer at a time with consecutive pages;
 * a full buffer is handed to a writer thread, which pwrites it while the
 * merge decodes the next pages into another buffer (RS_WRITE_BUFS buffers
 * in all, so memory stays fixed). Every RS_WRITEBACK_STEP bytes the writer
 * starts the kernel's writeback of what it wrote (sync_file_range WRITE,
 * advisory: it only starts I/O), so the final fsync finds most of the file
 * already on its way to the disk. Without a thread (pthread_create failed)
 * the buffers are written on the merge's thread. The first write error is
 * kept and returned by the next pw_put / pw_finish. */
#define RS_WRITE_BUFS 4
#define RS_WRITEBACK_STEP (8ull << 20)

typedef struct wbuf {
    uint8_t *p;
    size_t len;
    uint64_t off; /* file offset of p[0] */
} wbuf;

typedef struct page_writer {
    int fd;
    const char *path;
    size_t cap;              /* bytes per buffer (a multiple of the page size) */
    wbuf cur;                /* being filled by the merge (p NULL = none) */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool threaded, stop;
    pthread_t th;
    wbuf queue[RS_WRITE_BUFS]; /* filled, in file order: [qhead, qhead+qlen) */
    size_t qhead, qlen;
    uint8_t *spare[RS_WRITE_BUFS]; /* free buffers */
    size_t nspare;
    bool busy;               /* the writer holds a buffer outside the queue */
    int werr;                /* errno of the first failed write, 0 none */
    uint64_t werr_off;
    uint64_t kicked;         /* writeback started for [0, kicked) */
    uint8_t *all[RS_WRITE_BUFS];
} page_writer;

/* Writes b (any thread); returns 0 or an errno, *at = failing offset. */
static int pw_write(page_writer *w, const wbuf *b, uint64_t *at) {
    size_t done = 0;
    while (done < b->len) {
        ssize_t n = pwrite(w->fd, b->p + done, b->len - done, (off_t)(b->off + done));
        if (n < 0) {
            if (errno == EINTR) continue;
            *at = b->off + done;
            return errno;
        }
        done += (size_t)n;
    }
    uint64_t end = b->off + b->len;
    if (end >= w->kicked + RS_WRITEBACK_STEP && b->off >= w->kicked) {
        (void)sync_file_range(w->fd, (off_t)w->kicked, (off_t)(end - w->kicked),
                              SYNC_FILE_RANGE_WRITE);
        w->kicked = end;
    }
    return 0;
}

static void *pw_thread(void *arg) {
    page_writer *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (w->qlen == 0 && !w->stop) pthread_cond_wait(&w->cv, &w->mu);
        if (w->qlen == 0) break; /* stop and nothing left */
        wbuf b = w->queue[w->qhead];
        w->qhead = (w->qhead + 1) % RS_WRITE_BUFS;
        w->qlen--;
        w->busy = true;
        bool skip = w->werr != 0 || w->stop;
        pthread_mutex_unlock(&w->mu);
        int e = 0;
        uint64_t at = 0;
        if (!skip) e = pw_write(w, &b, &at);
        pthread_mutex_lock(&w->mu);
        if (e != 0 && w->werr == 0) {
            w->werr = e;
            w->werr_off = at;
        }
        w->spare[w->nspare++] = b.p;
        w->busy = false;
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

static ls_code pw_error(page_writer *w, ls_err *err) {
    return ls_err_errno(err, w->werr, "write %s at offset %" PRIu64, w->path, w->werr_off);
}

/* Allocates the buffers and starts the writer thread. */
static ls_code pw_open(page_writer *w, int fd, const char *path, uint32_t ps, ls_err *err) {
    memset(w, 0, sizeof(*w));
    w->fd = fd;
    w->path = path;
    w->cap = RS_WRITE_BUF >= ps ? RS_WRITE_BUF - RS_WRITE_BUF % ps : ps;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    for (size_t i = 0; i < RS_WRITE_BUFS; i++) {
        w->all[i] = malloc(w->cap);
        if (!w->all[i]) return ls_err_set(err, LS_ERR_NOMEM, "restore: out of memory");
        w->spare[w->nspare++] = w->all[i];
    }
    w->threaded = pthread_create(&w->th, NULL, pw_thread, w) == 0;
    return LS_OK;
}

/* Hands the current buffer to the writer (or writes it here). */
static ls_code pw_flush(page_writer *w, ls_err *err) {
    if (!w->cur.p || w->cur.len == 0) return LS_OK;
    if (!w->threaded) {
        uint64_t at = 0;
        int e = pw_write(w, &w->cur, &at);
        w->cur.len = 0;
        if (e != 0) {
            w->werr = e;
            w->werr_off = at;
            return pw_error(w, err);
        }
        return LS_OK;
    }
    pthread_mutex_lock(&w->mu);
    /* queue capacity = RS_WRITE_BUFS: the current buffer always fits */
    w->queue[(w->qhead + w->qlen) % RS_WRITE_BUFS] = w->cur;
    w->qlen++;
    w->cur.p = NULL;
    w->cur.len = 0;
    int e = w->werr;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return e ? pw_error(w, err) : LS_OK;
}

static ls_code pw_put(page_writer *w, uint64_t off, const uint8_t *page, size_t ps, ls_err *err) {
    if (w->cur.p && w->cur.len > 0 &&
        (w->cur.off + w->cur.len != off || w->cur.len + ps > w->cap)) {
        ls_code rc = pw_flush(w, err);
        if (rc != LS_OK) return rc;
    }
    if (!w->cur.p) {
        pthread_mutex_lock(&w->mu);
        while (w->nspare == 0) pthread_cond_wait(&w->cv, &w->mu);
        w->cur.p = w->spare[--w->nspare];
        int e = w->werr;
        pthread_mutex_unlock(&w->mu);
        if (e) return pw_error(w, err);
    }
    if (w->cur.len == 0) w->cur.off = off;
    if (page) memcpy(w->cur.p + w->cur.len, page, ps);
    else memset(w->cur.p + w->cur.len, 0, ps);
    w->cur.len += ps;
    return LS_OK;
}

/* Writes what is left and waits for every write; stops the thread. With
 * abort, pending buffers are dropped instead. Safe on a zeroed writer. */
static ls_code pw_finish(page_writer *w, bool abort, ls_err *err) {
    ls_code code = LS_OK;
    if (!w->cap) return LS_OK; /* never opened */
    if (!abort) code = pw_flush(w, err);
    if (w->threaded) {
        pthread_mutex_lock(&w->mu);
        if (abort || code != LS_OK) w->stop = true;
        while (w->qlen > 0 || w->busy) pthread_cond_wait(&w->cv, &w->mu);
        w->stop = true;
        pthread_cond_broadcast(&w->cv);
        pthread_mutex_unlock(&w->mu);
        pthread_join(w->th, NULL);
        w->threaded = false;
    }
    if (code == LS_OK && !abort && w->werr) code = pw_error(w, err);
    for (size_t i = 0; i < RS_WRITE_BUFS; i++) free(w->all[i]);
    memset(w->all, 0, sizeof(w->all));
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    w->cap = 0;
    return code;
}

/* Closes and frees n readers. */
static void close_inputs(ls_reader **in, size_t n) {
    for (size_t i = 0; i < n; i++) ls_reader_close(in[i]);
    free(in);
}

/* Readers over sources [from, to): plan files (paths == NULL) or the
 * intermediate files paths[]. */
static ls_code make_inputs(restore_ctx *rc, char **paths, size_t from, size_t to,
                           ls_reader ***out, ls_err *err) {
    ls_reader **in = calloc(to - from, sizeof(*in));
    if (!in) return ls_err_set(err, LS_ERR_NOMEM, "restore: out of memory");
    for (size_t i = from; i < to; i++) {
        in[i - from] = in_reader_new(rc, i, paths ? paths[i] : NULL);
        if (!in[i - from]) {
            close_inputs(in, i - from);
            return ls_err_set(err, LS_ERR_NOMEM, "restore: out of memory");
        }
    }
    *out = in;
    return LS_OK;
}

static void free_paths(char **paths, size_t n) {
    if (!paths) return;
    for (size_t i = 0; i < n; i++) {
        if (paths[i]) unlink(paths[i]);
        free(paths[i]);
    }
    free(paths);
}

/* When the plan has more files than the merge fan-in, merge consecutive
 * groups into intermediate LTX files (spec 2 compaction, NoChecksum) until
 * at most fan-in sources remain, so open files and decoder memory stay
 * bounded. Every plan file is fully verified by the first pass.
 * On return *paths_io / *nsrc_io describe the remaining sources (paths NULL =
 * plan files). */
static ls_code reduce_sources(restore_ctx *rc, char ***paths_io, size_t *nsrc_io, ls_err *err) {
    size_t fanin = rc->opts->merge_fanin >= 2 ? (size_t)rc->opts->merge_fanin : RS_DEFAULT_FANIN;
    char **paths = *paths_io;
    size_t nsrc = *nsrc_io;
    ls_code code = LS_OK;
    for (int pass = 1; code == LS_OK && nsrc > fanin; pass++) {
        code = ensure_workdir(rc, err);
        if (code != LS_OK) break;
        size_t ngroups = (nsrc + fanin - 1) / fanin;
        char **next = calloc(ngroups, sizeof(*next));
        if (!next) {
            code = ls_err_set(err, LS_ERR_NOMEM, "restore: out of memory");
            break;
        }
        for (size_t g = 0; g < ngroups && code == LS_OK; g++) {
            size_t from = g * fanin, to = from + fanin < nsrc ? from + fanin : nsrc;
            next[g] = ls_strfmt("%s/merge-%d-%zu.ltx", rc->workdir, pass, g);
            if (!next[g]) {
                code = ls_err_set(err, LS_ERR_NOMEM, "restore: out of memory");
                break;
            }
            ls_reader **in = NULL;
            code = make_inputs(rc, paths, from, to, &in, err);
            if (code != LS_OK) break;
            int fd = open(next[g], O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
            if (fd < 0) {
                code = ls_err_errno(err, errno, "restore: create %s", next[g]);
            } else {
                ls_writer *w = ls_writer_fd(fd);
                if (!w) code = ls_err_set(err, LS_ERR_NOMEM, "restore: out of memory");
                else code = ltx_compact(in, to - from, LTX_FLAG_NO_CHECKSUM, w, NULL, err);
                ls_writer_close(w);
                if (close(fd) != 0 && code == LS_OK)
                    code = ls_err_errno(err, errno, "restore: close %s", next[g]);
            }
            close_inputs(in, to - from);
            /* Sources of this group are no longer needed. */
            for (size_t i = from; paths && i < to; i++) unlink(paths[i]);
        }
        free_paths(paths, nsrc);
        paths = next;
        nsrc = ngroups;
        ls_debug("restore: merge pass done", "pass", LS_INT(pass), "files", LS_INT(nsrc));
    }
    *paths_io = paths;
    *nsrc_io = nsrc;
    return code;
}

/* Merges the plan into fd; *commit / *page_size get the database size. */
static ls_code merge_into(restore_ctx *rc, int fd, const char *tmp_path, uint32_t *commit_out,
                          uint32_t *ps_out, ls_err *err) {
    char **paths = NULL;
    size_t nsrc = rc->plan->n;
    ls_reader **inputs = NULL;
    ls_code code = reduce_sources(rc, &paths, &nsrc, err);
    if (code == LS_OK) code = make_inputs(rc, paths, 0, nsrc, &inputs, err);
    ltx_merger *m = NULL;
    page_writer w = {0};
    if (code == LS_OK) code = ltx_merger_open(&m, inputs, nsrc, err);
    if (code == LS_OK) {
        const ltx_header *h = ltx_merger_header(m);
        uint32_t ps = h->page_size, commit = h->commit;
        uint32_t lock = ltx_lock_pgno(ps);
        *commit_out = commit;
        *ps_out = ps;
        if (h->min_txid != 1) {
            code = ls_err_set(err, LS_ERR_FORMAT,
                              "decode database: cannot decode non-snapshot LTX file to SQLite "
                              "database (plan starts at TXID %016" PRIx64 ")",
                              h->min_txid);
        }
        if (code == LS_OK) code = pw_open(&w, fd, tmp_path, ps, err);
        uint32_t expected = 1;
        while (code == LS_OK) {
            if (canceled(rc->opts)) {
                code = ls_err_set(err, LS_ERR_CANCELED, "restore canceled");
                break;
            }
            uint32_t pgno = 0;
            const uint8_t *page = NULL;
            bool done = false;
            code = ltx_merger_next(m, &pgno, &page, &done, err);
            if (code != LS_OK) break;
            if (done) break;
            if (expected == lock && expected <= commit) { /* lock page: zeros */
                code = pw_put(&w, (uint64_t)(expected - 1) * ps, NULL, ps, err);
                expected++;
                if (code != LS_OK) break;
            }
            if (pgno != expected) {
                code = ls_err_set(err, LS_ERR_FORMAT,
                                  "decode database: unexpected pgno while decoding page: read "
                                  "%" PRIu32 ", expected %" PRIu32,
                                  pgno, expected);
                break;
            }
            code = pw_put(&w, (uint64_t)(pgno - 1) * ps, page, ps, err);
            expected++;
        }
        if (code == LS_OK && expected == lock && expected <= commit) {
            code = pw_put(&w, (uint64_t)(expected - 1) * ps, NULL, ps, err);
            expected++;
        }
        if (code == LS_OK && (uint64_t)expected != (uint64_t)commit + 1)
            code = ls_err_set(err, LS_ERR_FORMAT,
                              "decode database: merged pages end at page %" PRIu32
                              " but the database has %" PRIu32 " pages (commit)",
                              expected - 1, commit);
        if (code == LS_OK) code = pw_finish(&w, false, err);
        /* Full verification of every input (file checksums, trailers). */
        if (code == LS_OK) code = ltx_merger_close(m, NULL, err);
        if (code == LS_OK && ftruncate(fd, (off_t)((uint64_t)commit * ps)) != 0)
            code = ls_err_errno(err, errno, "truncate %s", tmp_path);
    }
    pw_finish(&w, true, NULL);
    ltx_merger_free(m);
    if (inputs) close_inputs(inputs, nsrc);
    free_paths(paths, nsrc);
    return code;
}

/* After a merge failure caused by bad data, verify each plan file alone so
 * the error names the offending file. Leaves err untouched when every file
 * verifies (the failure is then about the combination, e.g. a gap). */
static void diagnose(restore_ctx *rc, ls_code code, ls_err *err) {
    if (code != LS_ERR_FORMAT && code != LS_ERR_CHECKSUM && code != LS_ERR_UNSUPPORTED) return;
    if (err && strstr(err->msg, ".ltx")) return; /* already names a file */
    for (size_t i = 0; i < rc->plan->n; i++) {
        if (canceled(rc->opts)) return;
        ls_reader *r = NULL;
        ls_err e;
        ls_err_clear(&e);
        ls_code c = open_source(rc, i, &r, &e);
        if (c == LS_OK) c = ltx_verify(r, NULL, NULL, &e);
        ls_reader_close(r);
        if (c != LS_OK && c != LS_ERR_CANCELED) {
            char key[LS_LTX_KEY_MAX + 64];
            file_key(rc, i, key, sizeof(key));
            if (err) {
                if (strstr(e.msg, key)) ls_err_set(err, c, "%s", e.msg);
                else ls_err_set(err, c, "%s: %s", key, e.msg);
            }
            return;
        }
    }
}

/* ---- integrity check ---------------------------------------------------- */

static void remove_sidecars(const char *path, bool journal) {
    static const char *const suffix[] = {"-wal", "-shm", "-journal"};
    for (size_t i = 0; i < (journal ? 3u : 2u); i++) {
        char *p = ls_strfmt("%s%s", path, suffix[i]);
        if (p) unlink(p);
        free(p);
    }
}

/* ---- temp file ---------------------------------------------------------- */

/* Opens and locks "<output>.tmp", truncated. Retries when the name was
 * replaced between open and lock (another restore renamed it away). */
static ls_code open_tmp(const char *tmp, int *fd_out, ls_err *err) {
    for (int attempt = 0; attempt < 8; attempt++) {
        int fd = open(tmp, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0666);
        if (fd < 0) return ls_err_errno(err, errno, "create temp database path %s", tmp);
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            int e = errno;
            close(fd);
            if (e == EWOULDBLOCK)
                return ls_err_set(err, LS_ERR_BUSY,
                                  "another restore into this output is in progress (%s is locked)",
                                  tmp);
            return ls_err_errno(err, e, "lock %s", tmp);
        }
        struct stat a, b;
        if (fstat(fd, &a) == 0 && lstat(tmp, &b) == 0 && a.st_dev == b.st_dev &&
            a.st_ino == b.st_ino) {
            if (ftruncate(fd, 0) != 0) {
                int e = errno;
                close(fd);
                return ls_err_errno(err, e, "truncate %s", tmp);
            }
            *fd_out = fd;
            return LS_OK;
        }
        close(fd); /* renamed or removed meanwhile: try again */
    }
    return ls_err_set(err, LS_ERR_BUSY, "cannot lock temp database path %s", tmp);
}

static ls_code rename_into_place(const char *tmp, const char *out, bool force, ls_err *err) {
    if (force) {
        if (rename(tmp, out) != 0)
            return ls_err_errno(err, errno, "rename %s to %s", tmp, out);
        return LS_OK;
    }
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, out, RENAME_NOREPLACE) == 0) return LS_OK;
    int e = errno;
    if (e == EEXIST)
        return ls_err_set(err, LS_ERR_EXISTS, "cannot restore, output path already exists: %s",
                          out);
    if (e != EINVAL && e != ENOSYS && e != ENOTSUP)
        return ls_err_errno(err, e, "rename %s to %s", tmp, out);
    /* File system without RENAME_NOREPLACE: link() refuses existing names. */
    if (link(tmp, out) != 0) {
        e = errno;
        if (e == EEXIST)
            return ls_err_set(err, LS_ERR_EXISTS,
                              "cannot restore, output path already exists: %s", out);
        return ls_err_errno(err, e, "link %s to %s", tmp, out);
    }
    unlink(tmp);
    return LS_OK;
}

/* Output-path rules: directory -> error; existing output or sidecar -> error
 * unless force. */
static ls_code check_output(const char *out, bool force, ls_err *err) {
    struct stat sb;
    if (stat(out, &sb) == 0) {
        if (S_ISDIR(sb.st_mode))
            return ls_err_set(err, LS_ERR_INVALID,
                              "cannot restore, output path is a directory: %s", out);
        if (!force)
            return ls_err_set(err, LS_ERR_EXISTS,
                              "cannot restore, output path already exists: %s", out);
    } else if (errno != ENOENT) {
        return ls_err_errno(err, errno, "cannot access output path %s", out);
    }
    if (force) return LS_OK;
    static const char *const suffix[] = {"-wal", "-shm", "-journal"};
    for (size_t i = 0; i < 3; i++) {
        char *p = ls_strfmt("%s%s", out, suffix[i]);
        if (!p) return ls_err_set(err, LS_ERR_NOMEM, "restore: out of memory");
        bool exists = lstat(p, &sb) == 0;
        int e = errno;
        ls_code code = LS_OK;
        if (exists)
            code = ls_err_set(err, LS_ERR_EXISTS,
                              "cannot restore, SQLite sidecar path already exists: %s", p);
        else if (e != ENOENT)
            code = ls_err_errno(err, e, "cannot access SQLite sidecar path %s", p);
        free(p);
        if (code != LS_OK) return code;
    }
    return LS_OK;
}

/* ---- shared with the v0.3 restore (engine/restore_internal.h) ---------- */

ls_code ls_restore_check_output(const char *out, bool force, ls_err *err) {
    return check_output(out, force, err);
}

ls_code ls_restore_open_tmp(const char *tmp, int *fd, ls_err *err) { return open_tmp(tmp, fd, err); }

void ls_restore_remove_sidecars(const char *path, bool journal) { remove_sidecars(path, journal); }

/* The fsync of the temp file runs on a thread of its own while the
 * integrity check reads the same (complete) file: the check needs no data
 * on the disk, only the finished file, and the rename waits for both. */
typedef struct fsync_job {
    int fd;
    int err; /* errno of a failed fsync, 0 on success */
} fsync_job;

static void *fsync_thread(void *arg) {
    fsync_job *j = arg;
    j->err = fsync(j->fd) == 0 ? 0 : errno;
    return NULL;
}

ls_code ls_restore_commit_tmp(int fd, const char *tmp, const char *out, const char *dir,
                              const ls_restore_opts *opts, ls_err *err) {
    ls_code code = LS_OK;
    if (opts->integrity == LS_INTEGRITY_NONE) {
        if (fsync(fd) != 0) return ls_err_errno(err, errno, "fsync %s", tmp);
    } else {
        fsync_job job = {.fd = fd};
        pthread_t th;
        bool threaded = pthread_create(&th, NULL, fsync_thread, &job) == 0;
        if (!threaded) fsync_thread(&job);
        code = ls_restore_check_integrity(tmp, opts->integrity, opts->cancel, err);
        if (threaded) pthread_join(th, NULL);
        if (job.err != 0) return ls_err_errno(err, job.err, "fsync %s", tmp);
        if (code != LS_OK) return code;
        ls_info("post-restore integrity check passed");
    }
    if (canceled(opts)) return ls_err_set(err, LS_ERR_CANCELED, "restore canceled");
    if (opts->force) remove_sidecars(out, true);
    code = rename_into_place(tmp, out, opts->force, err);
    if (code != LS_OK) return code;
    if (ls_fsync_dir(dir, err) != LS_OK) {
        /* The database is in place; only the directory entry may not be
         * durable yet. Report it but keep the result. */
        ls_warn("restore: directory fsync failed", "path", dir, "error", err ? err->msg : "");
    }
    return LS_OK;
}

ls_code ls_restore_run(ls_storage *st, const ls_restore_opts *opts, ls_restore_result *res,
                       ls_err *err) {
    if (res) memset(res, 0, sizeof(*res));
    if (!st || !opts || !res) return ls_err_set(err, LS_ERR_INVALID, "restore: invalid arguments");
    const char *out = opts->output;
    if (!out || !*out) return ls_err_set(err, LS_ERR_INVALID, "output path required");
    if (opts->integrity != LS_INTEGRITY_NONE && opts->integrity != LS_INTEGRITY_QUICK &&
        opts->integrity != LS_INTEGRITY_FULL)
        return ls_err_set(err, LS_ERR_INVALID, "unsupported integrity check mode: %d",
                          (int)opts->integrity);
    if (opts->txid != 0 && opts->timestamp_ns != 0)
        return ls_err_set(err, LS_ERR_INVALID, "cannot specify index & timestamp to restore");
    int64_t start = ls_monotonic_ns();

    ls_code code = check_output(out, opts->force, err);
    if (code != LS_OK) return code;
    if (canceled(opts)) return ls_err_set(err, LS_ERR_CANCELED, "restore canceled");

    /* 8.2 / 9.4: v0.3 data may be the one to restore (engine/legacy.h). */
    bool use_v03 = false;
    code = ls_restore_uses_v03(st, opts, &use_v03, err);
    if (code != LS_OK) return code;
    if (use_v03) return ls_v3_restore_run(st, opts, res, err);

    ls_restore_plan own_plan = {0};
    const ls_restore_plan *plan = opts->plan;
    if (!plan) {
        code = ls_restore_plan_compute(st, opts->txid, opts->timestamp_ns, &own_plan, err);
        if (code != LS_OK) return code;
        plan = &own_plan;
    } else if (plan->n == 0) {
        return ls_err_set(err, LS_ERR_UNAVAILABLE, "%s", ERR_TX_NOT_AVAILABLE);
    }

    restore_ctx rc = {.st = st, .opts = opts, .plan = plan};
    for (size_t i = 0; i < plan->n; i++) {
        const ls_restore_file *f = &plan->files[i];
        if (f->size < LTX_HEADER_SIZE) {
            code = ls_err_set(err, LS_ERR_FORMAT,
                              "invalid ltx file: level=%d min=%016" PRIx64 " max=%016" PRIx64
                              " has size %" PRId64 " bytes (minimum %d)",
                              f->level, f->min_txid, f->max_txid, f->size, LTX_HEADER_SIZE);
            ls_restore_plan_free(&own_plan);
            return code;
        }
        rc.total += (uint64_t)f->size;
    }
    rc.step = rc.total / 100;
    if (rc.step == 0) rc.step = 1;
    if (rc.step > RS_PROGRESS_MAX_STEP) rc.step = RS_PROGRESS_MAX_STEP;
    switch (opts->fetch) {
    case LS_RESTORE_FETCH_STREAM: rc.download = false; break;
    case LS_RESTORE_FETCH_DOWNLOAD: rc.download = true; break;
    default: rc.download = !(st->type && strcmp(st->type, "file") == 0); break;
    }

    char *dir = ls_path_dir(out);
    char *tmp = ls_strfmt("%s.tmp", out);
    rc.workdir = ls_strfmt("%s.tmp-work", out);
    int fd = -1;
    bool tmp_created = false;
    uint32_t commit = 0, ps = 0;
    if (!dir || !tmp || !rc.workdir) {
        code = ls_err_set(err, LS_ERR_NOMEM, "restore: out of memory");
        goto cleanup;
    }
    code = ls_mkdir_p(dir, 0700, err);
    if (code != LS_OK) {
        ls_err_wrap(err, "create parent directory");
        goto cleanup;
    }
    code = open_tmp(tmp, &fd, err);
    if (code != LS_OK) goto cleanup;
    tmp_created = true;
    ls_ranged_opts ropts = {.parallelism = opts->parallelism > 0 ? opts->parallelism
                                                                 : RS_DEFAULT_PARALLELISM};
    code = ls_ranged_group_new(&ropts, &rc.ranged, err);
    if (code != LS_OK) goto cleanup;
    if (rc.download) {
        code = pool_start(&rc, err);
        if (code != LS_OK) goto cleanup;
    }

    ls_debug("restoring database", "output", out, "files", LS_INT(plan->n), "min_txid",
             LS_HEX16(plan->min_txid), "max_txid", LS_HEX16(plan->max_txid));
    report_progress(&rc, true);
    code = merge_into(&rc, fd, tmp, &commit, &ps, err);
    if (code != LS_OK) {
        if (code != LS_ERR_CANCELED) diagnose(&rc, code, err);
        goto cleanup;
    }
    if (rc.done != rc.total) rc.done = rc.total;
    report_progress(&rc, true);
    pool_free(rc.pool);
    rc.pool = NULL;
    ls_ranged_group_free(rc.ranged);
    rc.ranged = NULL;

    code = ls_restore_commit_tmp(fd, tmp, out, dir, opts, err);
    if (code != LS_OK) goto cleanup;
    tmp_created = false;

    res->restored_path = ls_strdup(out);
    res->txid = plan->max_txid;
    res->size = (int64_t)commit * ps;
    res->duration_ns = ls_monotonic_ns() - start;
    res->integrity = opts->integrity;
    res->integrity_result = opts->integrity == LS_INTEGRITY_NONE ? "skipped" : "ok";
    res->layout = plan->layout ? plan->layout : "ltx";
    res->page_size = ps;
    if (!res->restored_path) code = ls_err_set(err, LS_ERR_NOMEM, "restore: out of memory");

cleanup:
    pool_free(rc.pool);
    ls_ranged_group_free(rc.ranged);
    if (rc.workdir_made) ls_remove_all(rc.workdir, NULL);
    free(rc.workdir);
    if (fd >= 0) close(fd);
    if (tmp_created) {
        unlink(tmp);
        remove_sidecars(tmp, true);
    }
    free(tmp);
    free(dir);
    ls_restore_plan_free(&own_plan);
    if (code != LS_OK && res) {
        free(res->restored_path);
        memset(res, 0, sizeof(*res));
    }
    return code;
}

void ls_restore_result_free(ls_restore_result *res) {
    if (!res) return;
    free(res->restored_path);
    res->restored_path = NULL;
}
