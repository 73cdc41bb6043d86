/*
 * engine/legacy_restore.c — Litestream v0.3 restore (spec 9.3), the choice
 * between v0.3 and LTX data (8.2, 9.4), generation summaries and the LZ4
 * frame reader. Contract and behaviour decisions: engine/legacy.h and
 * docs/legacy.md.
 */
#include "engine/legacy.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <lz4frame.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/restore_internal.h"
#include "storage/ltxfiles.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "wal/wal.h"

#define V3_IN_BUF (64 * 1024)       /* compressed input buffer */
#define V3_OUT_BUF (256 * 1024)     /* decoded output / write coalescing */
#define V3_SQLITE_HEADER 100

static bool canceled(const ls_restore_opts *o) {
    return o && o->cancel && atomic_load(o->cancel);
}

/* ======================================================================== */
/* LZ4 frame reader (liblz4 LZ4F)                                           */

typedef struct lz4f_reader {
    ls_reader base;
    ls_reader *src;
    LZ4F_dctx *dctx;
    uint8_t *in;
    size_t in_pos, in_len;
    bool src_eof;
    bool started;       /* some input was consumed */
    size_t hint;        /* last LZ4F return value: 0 = at a frame boundary */
    bool failed;
    char *name;
} lz4f_reader;

static ls_code lz4f_read(ls_reader *r, void *buf, size_t len, size_t *nread, ls_err *err) {
    lz4f_reader *z = (lz4f_reader *)r;
    *nread = 0;
    if (z->failed) return ls_err_set(err, LS_ERR_FORMAT, "%s: lz4: reader already failed", z->name);
    if (len == 0) return LS_OK;
    for (;;) {
        if (z->in_pos == z->in_len && !z->src_eof) {
            size_t n = 0;
            ls_code rc = ls_read(z->src, z->in, V3_IN_BUF, &n, err);
            if (rc != LS_OK) {
                z->failed = true;
                if (err && !strstr(err->msg, z->name)) ls_err_wrap(err, "%s", z->name);
                return rc;
            }
            z->in_pos = 0;
            z->in_len = n;
            if (n == 0) z->src_eof = true;
        }
        size_t avail = z->in_len - z->in_pos;
        if (avail == 0 && z->src_eof && z->hint == 0) {
            /* Clean end: at a frame boundary with nothing buffered. */
            if (!z->started) {
                z->failed = true;
                return ls_err_set(err, LS_ERR_FORMAT, "%s: lz4: empty file (no LZ4 frame)",
                                  z->name);
            }
            return LS_OK;
        }
        size_t dst = len, srcn = avail;
        size_t ret = LZ4F_decompress(z->dctx, buf, &dst, z->in + z->in_pos, &srcn, NULL);
        if (LZ4F_isError(ret)) {
            z->failed = true;
            return ls_err_set(err, LS_ERR_FORMAT, "%s: lz4: %s", z->name, LZ4F_getErrorName(ret));
        }
        if (srcn > 0) z->started = true;
        z->in_pos += srcn;
        z->hint = ret;
        if (dst > 0) {
            *nread = dst;
            return LS_OK;
        }
        if (srcn == 0 && z->in_pos == z->in_len && z->src_eof) {
            /* No more input and the decoder wants more: truncated. */
            z->failed = true;
            return ls_err_set(err, LS_ERR_FORMAT,
                              "%s: lz4: truncated frame (the file ends inside an LZ4 frame)",
                              z->name);
        }
        if (srcn == 0 && avail > 0) {
            z->failed = true;
            return ls_err_set(err, LS_ERR_FORMAT, "%s: lz4: decoder made no progress", z->name);
        }
    }
}

static void lz4f_close(ls_reader *r) {
    lz4f_reader *z = (lz4f_reader *)r;
    ls_reader_close(z->src);
    if (z->dctx) LZ4F_freeDecompressionContext(z->dctx);
    free(z->in);
    free(z->name);
    free(z);
}

ls_code ls_lz4f_reader_open(ls_reader *src, const char *name, ls_reader **out, ls_err *err) {
    *out = NULL;
    lz4f_reader *z = calloc(1, sizeof(*z));
    if (!z) {
        ls_reader_close(src);
        return ls_err_set(err, LS_ERR_NOMEM, "%s: lz4: out of memory", name ? name : "");
    }
    z->base.read = lz4f_read;
    z->base.close = lz4f_close;
    z->src = src;
    z->name = ls_strdup(name ? name : "lz4 input");
    z->in = malloc(V3_IN_BUF);
    size_t rc = LZ4F_createDecompressionContext(&z->dctx, LZ4F_VERSION);
    if (!z->name || !z->in || LZ4F_isError(rc)) {
        lz4f_close(&z->base);
        return ls_err_set(err, LS_ERR_NOMEM, "%s: lz4: cannot create decoder", name ? name : "");
    }
    *out = &z->base;
    return LS_OK;
}

/* ======================================================================== */
/* Listing of one generation                                                */

typedef struct gen_data {
    char name[LS_V3_GENERATION_LEN + 1];
    ls_v3_snapshot_list snaps;
    ls_v3_segment_list segs;
    int64_t first_ns, last_ns;
    uint32_t min_index, max_index;
    int64_t size;
} gen_data;

static void gen_data_free(gen_data *g) {
    ls_v3_snapshot_list_free(&g->snaps);
    ls_v3_segment_list_free(&g->segs);
}

static void gen_bound(gen_data *g, int64_t t, uint32_t idx, int64_t size, bool *any) {
    if (!*any || t < g->first_ns) g->first_ns = t;
    if (!*any || t > g->last_ns) g->last_ns = t;
    if (!*any || idx < g->min_index) g->min_index = idx;
    if (!*any || idx > g->max_index) g->max_index = idx;
    if (size > 0) g->size += size;
    *any = true;
}

static ls_code gen_load(ls_storage *st, const char *name, gen_data *g, ls_err *err) {
    memset(g, 0, sizeof(*g));
    snprintf(g->name, sizeof(g->name), "%s", name);
    ls_code rc = ls_v3_list_snapshots(st, name, &g->snaps, err);
    if (rc == LS_OK) rc = ls_v3_list_segments(st, name, &g->segs, err);
    if (rc != LS_OK) {
        gen_data_free(g);
        return rc;
    }
    bool any = false;
    for (size_t i = 0; i < g->snaps.n; i++)
        gen_bound(g, g->snaps.items[i].created_at_ns, g->snaps.items[i].index,
                  g->snaps.items[i].size, &any);
    for (size_t i = 0; i < g->segs.n; i++)
        gen_bound(g, g->segs.items[i].created_at_ns, g->segs.items[i].index,
                  g->segs.items[i].size, &any);
    return LS_OK;
}

static bool gen_empty(const gen_data *g) { return g->snaps.n == 0 && g->segs.n == 0; }

/* Loads every generation that holds at least one file. */
static ls_code gens_load(ls_storage *st, gen_data **out, size_t *nout, ls_err *err) {
    *out = NULL;
    *nout = 0;
    ls_v3_generation_list gens;
    ls_code rc = ls_v3_list_generations(st, &gens, err);
    if (rc != LS_OK) return rc;
    gen_data *arr = gens.n ? calloc(gens.n, sizeof(*arr)) : NULL;
    if (gens.n && !arr) {
        ls_v3_generation_list_free(&gens);
        return ls_err_set(err, LS_ERR_NOMEM, "v0.3 generations: out of memory");
    }
    size_t n = 0;
    for (size_t i = 0; i < gens.n; i++) {
        rc = gen_load(st, gens.items[i].name, &arr[n], err);
        if (rc != LS_OK) break;
        if (gen_empty(&arr[n])) gen_data_free(&arr[n]);
        else n++;
    }
    ls_v3_generation_list_free(&gens);
    if (rc != LS_OK) {
        for (size_t i = 0; i < n; i++) gen_data_free(&arr[i]);
        free(arr);
        return rc;
    }
    *out = arr;
    *nout = n;
    return LS_OK;
}

static void gens_free(gen_data *g, size_t n) {
    for (size_t i = 0; i < n; i++) gen_data_free(&g[i]);
    free(g);
}

/* The latest generation: newest last file; ties -> greater name. */
static bool gen_newer(const gen_data *a, const gen_data *b) {
    if (a->last_ns != b->last_ns) return a->last_ns > b->last_ns;
    return strcmp(a->name, b->name) > 0;
}

/* ======================================================================== */
/* Plan                                                                     */

void ls_v3_plan_free(ls_v3_plan *plan) {
    if (!plan) return;
    free(plan->segments);
    memset(plan, 0, sizeof(*plan));
}

static void fmt_ts(int64_t ns, char *buf, size_t n) { ls_format_rfc3339_ms(ns, buf, n); }

/* Chooses the generation for a target (rules in legacy.h). */
static ls_code choose_generation(gen_data *g, size_t n, const ls_v3_target *t, size_t *pick,
                                 ls_err *err) {
    const char *want = t->generation && *t->generation ? t->generation : NULL;
    int64_t ts = t->timestamp_ns;
    long best = -1;
    for (size_t i = 0; i < n; i++) {
        if (want && strcmp(g[i].name, want) != 0) continue;
        if (ts && (ts < g[i].first_ns || ts > g[i].last_ns)) continue;
        if (best < 0 || gen_newer(&g[i], &g[best])) best = (long)i;
    }
    if (best >= 0) {
        *pick = (size_t)best;
        return LS_OK;
    }
    if (n == 0) return ls_err_set(err, LS_ERR_UNAVAILABLE, "no snapshots available");
    if (want) {
        long found = -1;
        for (size_t i = 0; i < n; i++)
            if (strcmp(g[i].name, want) == 0) found = (long)i;
        if (found < 0)
            return ls_err_set(err, LS_ERR_NOTFOUND,
                              "no matching backups found: generation %s does not exist on this "
                              "replica (list them with `litestream generations`)",
                              want);
        char a[64], b[64], q[64];
        fmt_ts(g[found].first_ns, a, sizeof(a));
        fmt_ts(g[found].last_ns, b, sizeof(b));
        fmt_ts(ts, q, sizeof(q));
        return ls_err_set(err, LS_ERR_UNAVAILABLE,
                          "no matching backups found: timestamp %s is outside generation %s "
                          "(%s to %s)",
                          q, want, a, b);
    }
    /* A timestamp inside no generation: before, between or after them. */
    long before = -1, after = -1; /* generation ending before ts / starting after ts */
    for (size_t i = 0; i < n; i++) {
        if (g[i].last_ns < ts && (before < 0 || g[i].last_ns > g[before].last_ns)) before = (long)i;
        if (g[i].first_ns > ts && (after < 0 || g[i].first_ns < g[after].first_ns)) after = (long)i;
    }
    char q[64], a[64], b[64];
    fmt_ts(ts, q, sizeof(q));
    if (before < 0) {
        fmt_ts(g[after].first_ns, a, sizeof(a));
        return ls_err_set(err, LS_ERR_UNAVAILABLE,
                          "no matching backups found: timestamp %s is before the first v0.3 "
                          "backup (%s, generation %s)",
                          q, a, g[after].name);
    }
    if (after < 0) {
        fmt_ts(g[before].last_ns, a, sizeof(a));
        return ls_err_set(err, LS_ERR_UNAVAILABLE,
                          "no matching backups found: timestamp %s is after the last v0.3 backup "
                          "(%s, generation %s); the database may have changed after it; omit "
                          "-timestamp to restore the latest backup",
                          q, a, g[before].name);
    }
    fmt_ts(g[before].last_ns, a, sizeof(a));
    fmt_ts(g[after].first_ns, b, sizeof(b));
    return ls_err_set(err, LS_ERR_UNAVAILABLE,
                      "no matching backups found: timestamp %s falls between generation %s (last "
                      "backup %s) and generation %s (first backup %s); the database state at that "
                      "time is unknown",
                      q, g[before].name, a, g[after].name, b);
}

static ls_code push_segment(ls_v3_plan *p, size_t *cap, const ls_v3_segment *s, ls_err *err) {
    if (p->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        ls_v3_segment *a = realloc(p->segments, nc * sizeof(*a));
        if (!a) return ls_err_set(err, LS_ERR_NOMEM, "v0.3 restore plan: out of memory");
        p->segments = a;
        *cap = nc;
    }
    p->segments[p->n++] = *s;
    return LS_OK;
}

static ls_code plan_in_generation(const gen_data *g, const ls_v3_target *t, ls_v3_plan *p,
                                  ls_err *err) {
    int64_t ts = t->timestamp_ns;
    if (g->snaps.n == 0)
        return ls_err_set(err, LS_ERR_FORMAT,
                          "generation %s has WAL segments but no snapshot "
                          "(generations/%s/snapshots/ holds no *.snapshot.lz4): it cannot be "
                          "restored",
                          g->name, g->name);
    if (t->has_index && t->index > g->max_index)
        return ls_err_set(err, LS_ERR_UNAVAILABLE,
                          "no matching backups found: WAL index %08x is above the highest index "
                          "%08x of generation %s",
                          t->index, g->max_index, g->name);
    /* Snapshot: highest index within the target. */
    const ls_v3_snapshot *snap = NULL;
    for (size_t i = 0; i < g->snaps.n; i++) {
        const ls_v3_snapshot *s = &g->snaps.items[i];
        if (t->has_index && s->index > t->index) continue;
        if (ts && s->created_at_ns > ts) continue;
        if (!snap || s->index > snap->index ||
            (s->index == snap->index && s->created_at_ns > snap->created_at_ns))
            snap = s;
    }
    if (!snap) {
        const ls_v3_snapshot *old = &g->snaps.items[0];
        if (t->has_index)
            return ls_err_set(err, LS_ERR_UNAVAILABLE,
                              "no matching backups found: generation %s has no snapshot at or "
                              "below WAL index %08x (the oldest is %s)",
                              g->name, t->index, old->key);
        char q[64], a[64];
        fmt_ts(ts, q, sizeof(q));
        int64_t oldest = old->created_at_ns;
        for (size_t i = 0; i < g->snaps.n; i++)
            if (g->snaps.items[i].created_at_ns < oldest) oldest = g->snaps.items[i].created_at_ns;
        fmt_ts(oldest, a, sizeof(a));
        return ls_err_set(err, LS_ERR_UNAVAILABLE,
                          "no matching backups found: generation %s has no snapshot created at or "
                          "before %s (the oldest was created %s)",
                          g->name, q, a);
    }
    snprintf(p->generation, sizeof(p->generation), "%s", g->name);
    p->snapshot = *snap;
    p->total_bytes = snap->size > 0 ? snap->size : 0;
    p->created_at_ns = snap->created_at_ns;
    p->gen_first_ns = g->first_ns;
    p->gen_last_ns = g->last_ns;
    p->max_index = snap->index;

    /* Segments, checked by name: contiguous indexes each starting at 0. */
    size_t cap = 0;
    bool started = false;
    uint32_t cur = snap->index;
    uint64_t last_off = 0;
    const ls_v3_segment *prev = NULL;
    for (size_t i = 0; i < g->segs.n; i++) {
        const ls_v3_segment *s = &g->segs.items[i];
        if (s->index < snap->index) continue;
        if (t->has_index && s->index > t->index) break;
        if (ts && s->created_at_ns > ts) break; /* state as of ts: stop at the first later file */
        if (!started) {
            if (s->index != snap->index || s->offset != 0)
                return ls_err_set(err, LS_ERR_FORMAT,
                                  "missing WAL index: expected %08x/0, got %08x/%" PRIx64
                                  " (%s; the snapshot %s needs the WAL from index %08x offset 0)",
                                  snap->index, s->index, s->offset, s->key, snap->key,
                                  snap->index);
            started = true;
        } else if (s->index != cur) {
            if (s->index != cur + 1)
                return ls_err_set(err, LS_ERR_FORMAT,
                                  "missing WAL index: expected %08x/0, got %08x/%" PRIx64
                                  " (%s follows %s)",
                                  cur + 1, s->index, s->offset, s->key, prev->key);
            if (s->offset != 0)
                return ls_err_set(err, LS_ERR_FORMAT,
                                  "missing WAL segment: expected %08x/0, got %08x/%" PRIx64
                                  " (%s; index %08x has no segment at offset 0)",
                                  s->index, s->index, s->offset, s->key, s->index);
        } else if (prev && s->offset == last_off) {
            return ls_err_set(err, LS_ERR_FORMAT, "duplicate WAL segment: %s and %s hold offset %" PRIx64,
                              prev->key, s->key, s->offset);
        }
        cur = s->index;
        last_off = s->offset;
        prev = s;
        ls_code rc = push_segment(p, &cap, s, err);
        if (rc != LS_OK) return rc;
        if (s->size > 0) p->total_bytes += s->size;
        if (s->created_at_ns > p->created_at_ns) p->created_at_ns = s->created_at_ns;
        p->max_index = s->index;
    }
    /* The snapshot is the main database file only: the frames of its own
     * WAL index up to the snapshot's position are needed too, so a
     * snapshot without any segment of its index is never restored alone. */
    if (p->n == 0 && ts) {
        char q[64];
        fmt_ts(ts, q, sizeof(q));
        return ls_err_set(err, LS_ERR_UNAVAILABLE,
                          "no matching backups found: the WAL of snapshot %s (index %08x) was "
                          "uploaded after %s",
                          snap->key, snap->index, q);
    }
    if (p->n == 0)
        return ls_err_set(err, LS_ERR_FORMAT,
                          "missing WAL index: expected %08x/0, got none (generation %s has no WAL "
                          "segment for snapshot %s, which needs the WAL of its index from offset 0)",
                          snap->index, g->name, snap->key);
    if (t->has_index && p->max_index < t->index)
        return ls_err_set(err, LS_ERR_FORMAT,
                          "missing WAL index: expected %08x/0 in generation %s (the replay from "
                          "snapshot %s stops at index %08x, before the requested index %08x)",
                          p->max_index + 1u, g->name, snap->key, p->max_index,
                          t->index);
    return LS_OK;
}

ls_code ls_v3_plan_compute(ls_storage *st, const ls_v3_target *target, ls_v3_plan *plan,
                           ls_err *err) {
    if (!plan) return ls_err_set(err, LS_ERR_INVALID, "v0.3 restore plan: NULL output");
    memset(plan, 0, sizeof(*plan));
    if (!st || !target) return ls_err_set(err, LS_ERR_INVALID, "v0.3 restore plan: invalid arguments");
    if (target->has_index && target->timestamp_ns != 0)
        return ls_err_set(err, LS_ERR_INVALID, "cannot specify index & timestamp to restore");
    if (target->generation && *target->generation && !ls_v3_is_generation(target->generation))
        return ls_err_set(err, LS_ERR_INVALID,
                          "invalid generation \"%.40s\": want 16 lower-case hex digits",
                          target->generation);
    gen_data *g;
    size_t n;
    ls_code rc = gens_load(st, &g, &n, err);
    if (rc != LS_OK) return rc;
    size_t pick = 0;
    rc = choose_generation(g, n, target, &pick, err);
    if (rc == LS_OK) rc = plan_in_generation(&g[pick], target, plan, err);
    gens_free(g, n);
    if (rc != LS_OK) ls_v3_plan_free(plan);
    return rc;
}

/* ======================================================================== */
/* Generation summaries and layout                                          */

void ls_v3_generation_info_list_free(ls_v3_generation_info_list *l) {
    if (!l) return;
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

ls_code ls_v3_list_generation_infos(ls_storage *st, ls_v3_generation_info_list *out,
                                    ls_err *err) {
    memset(out, 0, sizeof(*out));
    gen_data *g;
    size_t n;
    ls_code rc = gens_load(st, &g, &n, err);
    if (rc != LS_OK) return rc;
    if (n) {
        out->items = calloc(n, sizeof(*out->items));
        if (!out->items) {
            gens_free(g, n);
            return ls_err_set(err, LS_ERR_NOMEM, "v0.3 generations: out of memory");
        }
    }
    size_t cur = 0;
    for (size_t i = 0; i < n; i++) {
        ls_v3_generation_info *o = &out->items[i];
        memcpy(o->name, g[i].name, sizeof(o->name));
        o->snapshots = g[i].snaps.n;
        o->segments = g[i].segs.n;
        o->size = g[i].size;
        o->first_ns = g[i].first_ns;
        o->last_ns = g[i].last_ns;
        o->min_index = g[i].min_index;
        o->max_index = g[i].max_index;
        if (i > 0 && gen_newer(&g[i], &g[cur])) cur = i;
    }
    if (n) out->items[cur].current = true;
    out->n = n;
    gens_free(g, n);
    return LS_OK;
}

ls_code ls_replica_detect_layout(ls_storage *st, bool *has_ltx, bool *has_v3, ls_err *err) {
    if (has_ltx) {
        *has_ltx = false;
        for (int level = 0; level <= LS_LTX_MAX_LEVEL && !*has_ltx; level++) {
            ls_ltx_file_list l;
            ls_code rc = ls_ltx_list(st, level, 0, false, &l, err);
            if (rc != LS_OK) return rc;
            *has_ltx = l.n > 0;
            ls_ltx_file_list_free(&l);
        }
    }
    if (has_v3) return ls_v3_has_data(st, has_v3, err);
    return LS_OK;
}

/* ======================================================================== */
/* Choice between the layouts                                               */

static bool v3_target_given(const ls_restore_opts *o) {
    return (o->v3_generation && *o->v3_generation) || o->v3_has_index;
}

ls_code ls_restore_uses_v03(ls_storage *st, const ls_restore_opts *opts, bool *use_v03,
                            ls_err *err) {
    *use_v03 = false;
    if (opts->plan && opts->plan->v3) {
        *use_v03 = true;
        return LS_OK;
    }
    if (v3_target_given(opts)) {
        if (opts->txid != 0)
            return ls_err_set(err, LS_ERR_INVALID,
                              "cannot specify a TXID together with a v0.3 generation or index "
                              "(a TXID selects v0.5 LTX data)");
        if (opts->plan)
            return ls_err_set(err, LS_ERR_INVALID,
                              "a v0.3 generation or index was given with an LTX restore plan");
        *use_v03 = true;
        return LS_OK;
    }
    if (opts->txid != 0 || opts->ltx_only) return LS_OK;
    return ls_restore_prefers_v03(st, opts->timestamp_ns, use_v03, err);
}

static void target_from_opts(const ls_restore_opts *o, ls_v3_target *t) {
    memset(t, 0, sizeof(*t));
    t->generation = o->v3_generation;
    t->has_index = o->v3_has_index;
    t->index = o->v3_index;
    t->timestamp_ns = o->timestamp_ns;
}

ls_code ls_restore_plan_choose(ls_storage *st, const ls_restore_opts *opts,
                               ls_restore_plan *plan, ls_err *err) {
    if (!plan || !opts) return ls_err_set(err, LS_ERR_INVALID, "restore plan: invalid arguments");
    memset(plan, 0, sizeof(*plan));
    plan->layout = "ltx";
    ls_restore_opts o = *opts;
    o.plan = NULL;
    bool v3 = false;
    ls_code rc = ls_restore_uses_v03(st, &o, &v3, err);
    if (rc != LS_OK) return rc;
    if (!v3) return ls_restore_plan_compute(st, opts->txid, opts->timestamp_ns, plan, err);
    ls_v3_plan *p = calloc(1, sizeof(*p));
    if (!p) return ls_err_set(err, LS_ERR_NOMEM, "restore plan: out of memory");
    ls_v3_target t;
    target_from_opts(opts, &t);
    rc = ls_v3_plan_compute(st, &t, p, err);
    if (rc != LS_OK) {
        ls_v3_plan_free(p);
        free(p);
        return rc;
    }
    plan->layout = "v0.3";
    plan->v3 = p;
    return LS_OK;
}

/* ======================================================================== */
/* Apply                                                                    */

typedef struct v3_run {
    ls_storage *st;
    const ls_restore_opts *opts;
    const ls_v3_plan *plan;
    uint8_t *obuf;           /* V3_OUT_BUF: decoded data */
    uint64_t done, total, reported, step;
    uint32_t page_size;      /* of the snapshot */
} v3_run;

static void progress(v3_run *r, bool force) {
    const ls_restore_opts *o = r->opts;
    if (!o->progress) return;
    if (!force && r->done - r->reported < r->step) return;
    r->reported = r->done;
    /* An object that grew after the listing must not report done > total. */
    o->progress(o->progress_ctx, r->done < r->total ? r->done : r->total, r->total);
}

/* Counts compressed bytes consumed (for progress) as they are read. */
typedef struct counting_reader {
    ls_reader base;
    ls_reader *src;
    v3_run *run;
} counting_reader;

static ls_code counting_read(ls_reader *r, void *buf, size_t len, size_t *nread, ls_err *err) {
    counting_reader *c = (counting_reader *)r;
    ls_code rc = ls_read(c->src, buf, len, nread, err);
    if (rc == LS_OK) {
        c->run->done += *nread;
        progress(c->run, false);
    }
    return rc;
}

static void counting_close(ls_reader *r) {
    counting_reader *c = (counting_reader *)r;
    ls_reader_close(c->src);
    free(c);
}

/* Opens an object (snapshot or segment key) as a decoded stream. */
static ls_code open_decoded(v3_run *r, const char *key, ls_reader **out, ls_err *err) {
    *out = NULL;
    ls_reader *raw = NULL;
    ls_code rc = ls_storage_get(r->st, key, 0, LS_STORAGE_TO_END, &raw, err);
    if (rc != LS_OK) {
        if (err && !strstr(err->msg, key)) ls_err_wrap(err, "%s", key);
        return rc;
    }
    counting_reader *c = calloc(1, sizeof(*c));
    if (!c) {
        ls_reader_close(raw);
        return ls_err_set(err, LS_ERR_NOMEM, "%s: out of memory", key);
    }
    c->base.read = counting_read;
    c->base.close = counting_close;
    c->src = raw;
    c->run = r;
    return ls_lz4f_reader_open(&c->base, key, out, err);
}

/* Decodes the snapshot into fd (from offset 0) and checks it is a SQLite
 * database whose size is a whole number of pages. */
static ls_code write_snapshot(v3_run *r, int fd, const char *tmp, ls_err *err) {
    const ls_v3_snapshot *s = &r->plan->snapshot;
    ls_reader *rd = NULL;
    ls_code rc = open_decoded(r, s->key, &rd, err);
    if (rc != LS_OK) return rc;
    uint64_t total = 0;
    uint8_t hdr[V3_SQLITE_HEADER];
    size_t hdr_len = 0;
    for (;;) {
        if (canceled(r->opts)) {
            rc = ls_err_set(err, LS_ERR_CANCELED, "restore canceled");
            break;
        }
        size_t n = 0;
        rc = ls_read(rd, r->obuf, V3_OUT_BUF, &n, err);
        if (rc != LS_OK || n == 0) break;
        if (hdr_len < sizeof(hdr)) {
            size_t k = sizeof(hdr) - hdr_len < n ? sizeof(hdr) - hdr_len : n;
            memcpy(hdr + hdr_len, r->obuf, k);
            hdr_len += k;
        }
        rc = ls_write_full(fd, r->obuf, n, err, tmp);
        if (rc != LS_OK) break;
        total += n;
    }
    ls_reader_close(rd);
    if (rc != LS_OK) return rc;
    if (hdr_len < sizeof(hdr) || memcmp(hdr, "SQLite format 3", 16) != 0)
        return ls_err_set(err, LS_ERR_FORMAT,
                          "%s: the snapshot is not a SQLite database (%" PRIu64 " bytes, bad header)",
                          s->key, total);
    uint32_t ps = (uint32_t)hdr[16] << 8 | hdr[17];
    if (ps == 1) ps = 65536;
    if (!wal_page_size_valid(ps))
        return ls_err_set(err, LS_ERR_FORMAT, "%s: the snapshot has an invalid page size %u", s->key,
                          ps);
    if (total % ps != 0)
        return ls_err_set(err, LS_ERR_FORMAT,
                          "%s: the snapshot is %" PRIu64 " bytes, not a whole number of %u-byte "
                          "pages (truncated?)",
                          s->key, total, ps);
    r->page_size = ps;
    return LS_OK;
}

/* Validating WAL writer: one WAL index at a time. */
typedef struct walv {
    int fd;
    const char *path;
    uint8_t unit[WAL_FRAME_HEADER_SIZE + WAL_MAX_PAGE_SIZE];
    size_t unit_len, unit_need;
    bool have_header;
    wal_header hdr;
    uint32_t s0, s1;
    uint64_t frames;
    bool last_commit;
    uint64_t offset;        /* bytes of this index's WAL accepted so far */
    uint8_t *wbuf;          /* write coalescing (V3_OUT_BUF) */
    size_t wlen;
} walv;

static ls_code walv_flush(walv *v, ls_err *err) {
    if (v->wlen == 0) return LS_OK;
    ls_code rc = ls_write_full(v->fd, v->wbuf, v->wlen, err, v->path);
    v->wlen = 0;
    return rc;
}

/* Validates one complete unit (header or frame) at WAL offset v->offset. */
static ls_code walv_unit(walv *v, uint32_t page_size, const char *key, uint32_t index,
                         ls_err *err) {
    if (!v->have_header) {
        wal_header h;
        wal_header_decode(v->unit, &h);
        if (h.magic != WAL_MAGIC_LE && h.magic != WAL_MAGIC_BE)
            return ls_err_set(err, LS_ERR_FORMAT, "%s: invalid WAL header magic %08x", key, h.magic);
        if (h.version != WAL_VERSION)
            return ls_err_set(err, LS_ERR_FORMAT, "%s: unsupported WAL version %u", key, h.version);
        if (!wal_page_size_valid(h.page_size))
            return ls_err_set(err, LS_ERR_FORMAT, "%s: invalid WAL page size %u", key, h.page_size);
        if (h.page_size != page_size)
            return ls_err_set(err, LS_ERR_FORMAT,
                              "%s: WAL page size %u differs from the snapshot's page size %u", key,
                              h.page_size, page_size);
        uint32_t s0 = 0, s1 = 0;
        wal_checksum(h.cksum_big_endian, v->unit, 24, &s0, &s1);
        if (s0 != h.cksum1 || s1 != h.cksum2)
            return ls_err_set(err, LS_ERR_CHECKSUM, "%s: WAL header checksum mismatch (index %08x)",
                              key, index);
        v->hdr = h;
        v->s0 = s0;
        v->s1 = s1;
        v->have_header = true;
        v->unit_need = WAL_FRAME_HEADER_SIZE + h.page_size;
        return LS_OK;
    }
    wal_frame_header fh;
    wal_frame_header_decode(v->unit, &fh);
    if (fh.salt1 != v->hdr.salt1 || fh.salt2 != v->hdr.salt2)
        return ls_err_set(err, LS_ERR_FORMAT,
                          "%s: salt mismatch at WAL offset %" PRIu64
                          ": frame salts %08x/%08x, but the WAL header of index %08x has %08x/%08x "
                          "(the segment does not continue this WAL)",
                          key, v->offset, fh.salt1, fh.salt2, index, v->hdr.salt1, v->hdr.salt2);
    if (fh.pgno == 0)
        return ls_err_set(err, LS_ERR_FORMAT, "%s: WAL frame at offset %" PRIu64 " has page number 0",
                          key, v->offset);
    uint32_t s0 = v->s0, s1 = v->s1;
    wal_checksum(v->hdr.cksum_big_endian, v->unit, 8, &s0, &s1);
    wal_checksum(v->hdr.cksum_big_endian, v->unit + WAL_FRAME_HEADER_SIZE, v->hdr.page_size, &s0,
                 &s1);
    if (s0 != fh.cksum1 || s1 != fh.cksum2)
        return ls_err_set(err, LS_ERR_CHECKSUM,
                          "%s: WAL frame checksum mismatch at WAL offset %" PRIu64 " (page %u)",
                          key, v->offset, fh.pgno);
    v->s0 = s0;
    v->s1 = s1;
    v->frames++;
    v->last_commit = fh.commit != 0;
    return LS_OK;
}

static ls_code walv_feed(walv *v, const uint8_t *p, size_t n, uint32_t page_size,
                         const char *key, uint32_t index, ls_err *err) {
    while (n > 0) {
        size_t k = v->unit_need - v->unit_len;
        if (k > n) k = n;
        memcpy(v->unit + v->unit_len, p, k);
        v->unit_len += k;
        p += k;
        n -= k;
        if (v->unit_len < v->unit_need) break;
        size_t len = v->unit_len;
        ls_code rc = walv_unit(v, page_size, key, index, err);
        if (rc != LS_OK) return rc;
        if (v->wlen + len > V3_OUT_BUF) {
            rc = walv_flush(v, err);
            if (rc != LS_OK) return rc;
        }
        memcpy(v->wbuf + v->wlen, v->unit, len);
        v->wlen += len;
        v->offset += len;
        v->unit_len = 0;
    }
    return LS_OK;
}

/* Decodes one segment into the WAL being built. */
static ls_code wal_segment(v3_run *r, walv *v, const ls_v3_segment *s, ls_err *err) {
    if (s->offset != v->offset)
        return ls_err_set(err, LS_ERR_FORMAT,
                          "missing WAL segment: expected %08x/%" PRIx64 ", got %08x/%" PRIx64
                          " (%s; the previous segments of index %08x end at offset %" PRIu64 ")",
                          s->index, v->offset, s->index, s->offset, s->key, s->index, v->offset);
    ls_reader *rd = NULL;
    ls_code rc = open_decoded(r, s->key, &rd, err);
    if (rc != LS_OK) return rc;
    uint64_t got = 0;
    for (;;) {
        if (canceled(r->opts)) {
            rc = ls_err_set(err, LS_ERR_CANCELED, "restore canceled");
            break;
        }
        size_t n = 0;
        rc = ls_read(rd, r->obuf, V3_OUT_BUF, &n, err);
        if (rc != LS_OK || n == 0) break;
        got += n;
        rc = walv_feed(v, r->obuf, n, r->page_size, s->key, s->index, err);
        if (rc != LS_OK) break;
    }
    ls_reader_close(rd);
    if (rc != LS_OK) return rc;
    if (got == 0)
        return ls_err_set(err, LS_ERR_FORMAT, "%s: the WAL segment is empty", s->key);
    if (v->unit_len != 0)
        return ls_err_set(err, LS_ERR_FORMAT,
                          "%s: the WAL segment ends inside a %s (%zu of %zu bytes; truncated?)",
                          s->key, v->have_header ? "frame" : "WAL header", v->unit_len,
                          v->unit_need);
    return LS_OK;
}

/* Lets SQLite apply the WAL of one index to tmp; its frame count must be
 * ours (SQLite silently ignores frames it cannot validate). */
static ls_code checkpoint(const char *tmp, uint64_t frames, uint32_t index, const char *last_key,
                          ls_err *err) {
    sqlite3 *db = NULL;
    ls_code code = LS_OK;
    int rc = sqlite3_open_v2(tmp, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        code = ls_err_set(err, LS_ERR_SQLITE, "apply WAL index %08x: open %s: %s", index, tmp,
                          db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close_v2(db);
        return code;
    }
    sqlite3_busy_timeout(db, 5000);
    static const char *const sql[2] = {"PRAGMA wal_checkpoint(PASSIVE)",
                                       "PRAGMA wal_checkpoint(TRUNCATE)"};
    for (int i = 0; i < 2 && code == LS_OK; i++) {
        sqlite3_stmt *st = NULL;
        rc = sqlite3_prepare_v2(db, sql[i], -1, &st, NULL);
        if (rc == SQLITE_OK) rc = sqlite3_step(st);
        if (rc != SQLITE_ROW) {
            ls_code c = rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB ? LS_ERR_FORMAT : LS_ERR_SQLITE;
            code = ls_err_set(err, c, "apply WAL index %08x (up to %s): %s: %s", index, last_key,
                              sql[i], sqlite3_errmsg(db));
        } else {
            int busy = sqlite3_column_int(st, 0);
            long long log = sqlite3_column_int64(st, 1), done = sqlite3_column_int64(st, 2);
            if (busy != 0)
                code = ls_err_set(err, LS_ERR_BUSY, "apply WAL index %08x: %s: database busy",
                                  index, sql[i]);
            else if (i == 0 && ((uint64_t)log != frames || (uint64_t)done != frames))
                code = ls_err_set(err, LS_ERR_FORMAT,
                                  "apply WAL index %08x (up to %s): SQLite accepted %lld of %" PRIu64
                                  " frames (checkpointed %lld)",
                                  index, last_key, log, frames, done);
        }
        sqlite3_finalize(st);
    }
    if (sqlite3_close(db) != SQLITE_OK && code == LS_OK)
        code = ls_err_set(err, LS_ERR_SQLITE, "apply WAL index %08x: close %s", index, tmp);
    return code;
}

/* Replays the WAL indexes of the plan into tmp. */
static ls_code replay(v3_run *r, const char *tmp, const char *walpath, ls_err *err) {
    const ls_v3_plan *p = r->plan;
    walv *v = calloc(1, sizeof(*v));
    if (!v) return ls_err_set(err, LS_ERR_NOMEM, "v0.3 restore: out of memory");
    v->wbuf = malloc(V3_OUT_BUF);
    v->fd = -1;
    v->path = walpath;
    ls_code rc = v->wbuf ? LS_OK : ls_err_set(err, LS_ERR_NOMEM, "v0.3 restore: out of memory");
    size_t i = 0;
    while (rc == LS_OK && i < p->n) {
        uint32_t index = p->segments[i].index;
        /* A fresh WAL for this index. */
        ls_restore_remove_sidecars(tmp, true);
        v->fd = open(walpath, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (v->fd < 0) {
            rc = ls_err_errno(err, errno, "create %s", walpath);
            break;
        }
        v->unit_len = 0;
        v->unit_need = WAL_HEADER_SIZE;
        v->have_header = false;
        v->frames = 0;
        v->last_commit = false;
        v->offset = 0;
        v->wlen = 0;
        const char *last_key = p->segments[i].key;
        for (; rc == LS_OK && i < p->n && p->segments[i].index == index; i++) {
            rc = wal_segment(r, v, &p->segments[i], err);
            last_key = p->segments[i].key;
        }
        if (rc == LS_OK) rc = walv_flush(v, err);
        if (rc == LS_OK && v->frames > 0 && !v->last_commit)
            rc = ls_err_set(err, LS_ERR_FORMAT,
                            "WAL index %08x of generation %s ends inside a transaction (last "
                            "segment %s): a later segment is missing",
                            index, p->generation, last_key);
        if (close(v->fd) != 0 && rc == LS_OK) rc = ls_err_errno(err, errno, "close %s", walpath);
        v->fd = -1;
        if (rc == LS_OK && v->frames > 0) rc = checkpoint(tmp, v->frames, index, last_key, err);
        if (rc == LS_OK) ls_debug("v0.3 restore: applied WAL index", "generation", p->generation,
                                  "index", LS_INT(index), "frames", LS_INT(v->frames));
        ls_restore_remove_sidecars(tmp, false);
    }
    if (v->fd >= 0) close(v->fd);
    free(v->wbuf);
    free(v);
    return rc;
}

ls_code ls_v3_restore_run(ls_storage *st, const ls_restore_opts *opts, ls_restore_result *res,
                          ls_err *err) {
    if (res) memset(res, 0, sizeof(*res));
    if (!st || !opts || !res) return ls_err_set(err, LS_ERR_INVALID, "restore: invalid arguments");
    const char *out = opts->output;
    if (!out || !*out) return ls_err_set(err, LS_ERR_INVALID, "output path required");
    if (opts->txid != 0)
        return ls_err_set(err, LS_ERR_INVALID,
                          "cannot specify a TXID for a v0.3 restore (a TXID selects v0.5 LTX data)");
    if (opts->integrity != LS_INTEGRITY_NONE && opts->integrity != LS_INTEGRITY_QUICK &&
        opts->integrity != LS_INTEGRITY_FULL)
        return ls_err_set(err, LS_ERR_INVALID, "unsupported integrity check mode: %d",
                          (int)opts->integrity);
    int64_t start = ls_monotonic_ns();
    ls_code code = ls_restore_check_output(out, opts->force, err);
    if (code != LS_OK) return code;

    ls_v3_plan own = {0};
    const ls_v3_plan *plan = opts->plan ? opts->plan->v3 : NULL;
    if (!plan) {
        ls_v3_target t;
        target_from_opts(opts, &t);
        code = ls_v3_plan_compute(st, &t, &own, err);
        if (code != LS_OK) return code;
        plan = &own;
    }
    ls_info("restoring from a Litestream v0.3 backup", "layout", "v0.3", "generation",
            plan->generation, "snapshot_index", LS_INT(plan->snapshot.index), "max_index",
            LS_INT(plan->max_index), "segments", LS_INT(plan->n));

    v3_run r = {.st = st, .opts = opts, .plan = plan};
    r.total = plan->total_bytes > 0 ? (uint64_t)plan->total_bytes : 0;
    r.step = r.total / 100;
    if (r.step == 0) r.step = 1;
    if (r.step > (4u << 20)) r.step = 4u << 20;
    char *dir = ls_path_dir(out);
    char *tmp = ls_strfmt("%s.tmp", out);
    char *walpath = ls_strfmt("%s.tmp-wal", out);
    r.obuf = malloc(V3_OUT_BUF);
    int fd = -1;
    bool tmp_created = false;
    if (!dir || !tmp || !walpath || !r.obuf) {
        code = ls_err_set(err, LS_ERR_NOMEM, "restore: out of memory");
        goto cleanup;
    }
    code = ls_mkdir_p(dir, 0700, err);
    if (code != LS_OK) {
        ls_err_wrap(err, "create parent directory");
        goto cleanup;
    }
    code = ls_restore_open_tmp(tmp, &fd, err);
    if (code != LS_OK) goto cleanup;
    tmp_created = true;
    ls_restore_remove_sidecars(tmp, true); /* stale ones from a crashed restore */
    progress(&r, true);
    code = write_snapshot(&r, fd, tmp, err);
    if (code == LS_OK) code = replay(&r, tmp, walpath, err);
    if (code != LS_OK) goto cleanup;
    r.done = r.total;
    progress(&r, true);

    code = ls_restore_commit_tmp(fd, tmp, out, dir, opts, err);
    if (code != LS_OK) goto cleanup;
    tmp_created = false;

    struct stat sb;
    res->size = fstat(fd, &sb) == 0 ? (int64_t)sb.st_size : 0;
    res->restored_path = ls_strdup(out);
    res->txid = 0;
    res->duration_ns = ls_monotonic_ns() - start;
    res->integrity = opts->integrity;
    res->integrity_result = opts->integrity == LS_INTEGRITY_NONE ? "skipped" : "ok";
    res->layout = "v0.3";
    res->page_size = r.page_size;
    if (!res->restored_path) code = ls_err_set(err, LS_ERR_NOMEM, "restore: out of memory");

cleanup:
    if (fd >= 0) close(fd);
    if (tmp_created) {
        unlink(tmp);
        ls_restore_remove_sidecars(tmp, true);
    }
    free(r.obuf);
    free(walpath);
    free(tmp);
    free(dir);
    ls_v3_plan_free(&own);
    if (code != LS_OK && res) {
        free(res->restored_path);
        memset(res, 0, sizeof(*res));
    }
    return code;
}
