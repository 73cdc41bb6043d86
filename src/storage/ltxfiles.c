/*
 * storage/ltxfiles.c — LTX file naming, listing, writing and reading on top
 * of the generic storage API, and the resumable reader. See ltxfiles.h.
 */
#include "storage/ltxfiles.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ltx/ltx.h"
#include "util/log.h"
#include "util/timeutil.h"

/* --------------------------------------------------------------- lists -- */

void ls_ltx_file_list_free(ls_ltx_file_list *l) {
    if (!l) return;
    free(l->items);
    l->items = NULL;
    l->n = l->cap = 0;
}

ls_code ls_ltx_file_list_push(ls_ltx_file_list *l, const ls_ltx_file *f, ls_err *err) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        if (cap > SIZE_MAX / sizeof(*l->items))
            return ls_err_set(err, LS_ERR_NOMEM, "ltx file list: too many entries");
        ls_ltx_file *p = realloc(l->items, cap * sizeof(*p));
        if (!p) return ls_err_set(err, LS_ERR_NOMEM, "ltx file list: out of memory");
        l->items = p;
        l->cap = cap;
    }
    l->items[l->n++] = *f;
    return LS_OK;
}

static int cmp_ltx(const void *a, const void *b) {
    const ls_ltx_file *x = a, *y = b;
    if (x->min_txid != y->min_txid) return x->min_txid < y->min_txid ? -1 : 1;
    if (x->max_txid != y->max_txid) return x->max_txid < y->max_txid ? -1 : 1;
    return 0;
}

void ls_ltx_file_list_sort(ls_ltx_file_list *l) {
    if (l && l->n > 1) qsort(l->items, l->n, sizeof(*l->items), cmp_ltx);
}

/* ---------------------------------------------------------------- keys -- */

int ls_ltx_level_prefix(const ls_storage *s, int level, char *buf, size_t n) {
    if (!buf || n == 0) return -1;
    buf[0] = '\0';
    if (!s || level < 0 || level > LS_LTX_MAX_LEVEL) return -1;
    int w = s->layout == LS_LTX_LAYOUT_HEX4 ? snprintf(buf, n, "%04x/", (unsigned)level)
                                            : snprintf(buf, n, "ltx/%d/", level);
    if (w < 0 || (size_t)w >= n) {
        buf[0] = '\0';
        return -1;
    }
    return w;
}

int ls_ltx_key(const ls_storage *s, int level, uint64_t min_txid, uint64_t max_txid, char *buf,
               size_t n) {
    int p = ls_ltx_level_prefix(s, level, buf, n);
    if (p < 0) return -1;
    int w = snprintf(buf + p, n - (size_t)p, "%016llx-%016llx.ltx", (unsigned long long)min_txid,
                     (unsigned long long)max_txid);
    if (w < 0 || (size_t)w >= n - (size_t)p) {
        buf[0] = '\0';
        return -1;
    }
    return p + w;
}

static ls_code key_or_fail(const ls_storage *s, int level, uint64_t min, uint64_t max, char *buf,
                           ls_err *err) {
    if (ls_ltx_key(s, level, min, max, buf, LS_LTX_KEY_MAX) < 0)
        return ls_err_set(err, LS_ERR_INVALID, "ltx file level %d %016llx-%016llx: invalid level",
                          level, (unsigned long long)min, (unsigned long long)max);
    return LS_OK;
}

/* -------------------------------------------------------------- listing -- */

ls_code ls_ltx_list(ls_storage *s, int level, uint64_t min_txid_seek, bool accurate_time,
                    ls_ltx_file_list *out, ls_err *err) {
    if (!out) return ls_err_set(err, LS_ERR_INVALID, "list ltx files: NULL output");
    memset(out, 0, sizeof(*out));
    char prefix[LS_LTX_KEY_MAX];
    if (ls_ltx_level_prefix(s, level, prefix, sizeof(prefix)) < 0)
        return ls_err_set(err, LS_ERR_INVALID, "list ltx files: invalid level %d", level);
    /* The directory layout lists one directory; S3 lists the prefix without
     * a delimiter (spec 14.8). Keys nested deeper are skipped below. */
    char delim = s->layout == LS_LTX_LAYOUT_HEX4 ? 0 : '/';
    ls_object_list objs;
    ls_code rc = ls_storage_list(s, prefix, delim, &objs, err);
    if (rc != LS_OK) {
        ls_err_wrap(err, "list ltx level %d", level);
        return rc;
    }
    for (size_t i = 0; i < objs.n && rc == LS_OK; i++) {
        const ls_object_info *o = &objs.items[i];
        if (o->is_dir) continue;
        /* Only objects directly in the level "directory": a nested key could
         * not be opened by (level, min, max) anyway. */
        size_t pl = strlen(prefix);
        if (strncmp(o->key, prefix, pl) != 0 || strchr(o->key + pl, '/')) continue;
        const char *name = o->key + pl;
        uint64_t mn, mx;
        if (!ltx_parse_filename(name, &mn, &mx)) continue;
        if (mn < min_txid_seek) continue;
        ls_ltx_file f = {.level = level, .min_txid = mn, .max_txid = mx, .size = o->size,
                         .created_at_ns = o->created_at_ns};
        if (accurate_time && !s->list_times_accurate) {
            ls_object_info h;
            rc = ls_storage_head(s, o->key, true, &h, err);
            if (rc == LS_ERR_NOTFOUND) { /* deleted since the listing */
                rc = LS_OK;
                continue;
            }
            if (rc != LS_OK) {
                ls_err_wrap(err, "list ltx level %d", level);
                break;
            }
            if (h.created_at_ns) f.created_at_ns = h.created_at_ns;
            ls_object_info_free(&h);
        }
        rc = ls_ltx_file_list_push(out, &f, err);
    }
    ls_object_list_free(&objs);
    if (rc != LS_OK) {
        ls_ltx_file_list_free(out);
        return rc;
    }
    ls_ltx_file_list_sort(out);
    return LS_OK;
}

ls_code ls_ltx_last(ls_storage *s, int level, ls_ltx_file *out, bool *found, ls_err *err) {
    *found = false;
    ls_ltx_file_list l;
    ls_code rc = ls_ltx_list(s, level, 0, false, &l, err);
    if (rc != LS_OK) return rc;
    for (size_t i = 0; i < l.n; i++) {
        if (!*found || l.items[i].max_txid > out->max_txid) {
            *out = l.items[i];
            *found = true;
        }
    }
    ls_ltx_file_list_free(&l);
    return LS_OK;
}

ls_code ls_ltx_max_txid(ls_storage *s, int level, uint64_t *out, ls_err *err) {
    ls_ltx_file f;
    bool found;
    *out = 0;
    ls_code rc = ls_ltx_last(s, level, &f, &found, err);
    if (rc == LS_OK && found) *out = f.max_txid;
    return rc;
}

/* ------------------------------------------------------ write/open/del -- */

/* Counts the bytes a put reads from the caller's source (not owned). */
typedef struct {
    ls_reader base;
    ls_reader *inner;
    uint64_t n;
} counting_src;

static ls_code counting_read(ls_reader *r, void *buf, size_t len, size_t *nread, ls_err *err) {
    counting_src *c = (counting_src *)r;
    ls_code rc = ls_read(c->inner, buf, len, nread, err);
    if (rc == LS_OK) c->n += *nread;
    return rc;
}
static void counting_close(ls_reader *r) { (void)r; }

ls_code ls_ltx_write_ex(ls_storage *s, int level, uint64_t min_txid, uint64_t max_txid,
                        ls_reader *src, int64_t timestamp_ms, ls_ltx_file *out, ls_err *err) {
    char key[LS_LTX_KEY_MAX];
    ls_code rc = key_or_fail(s, level, min_txid, max_txid, key, err);
    if (rc != LS_OK) return rc;
    if (min_txid == 0 || min_txid > max_txid)
        return ls_err_set(err, LS_ERR_INVALID, "write ltx file %s: invalid TXID range", key);
    if (timestamp_ms < 0 || timestamp_ms > INT64_MAX / LS_NS_PER_MS)
        return ls_err_set(err, LS_ERR_INVALID, "write ltx file %s: timestamp %lld out of range",
                          key, (long long)timestamp_ms);
    if (!src) return ls_err_set(err, LS_ERR_INVALID, "write ltx file %s: NULL source", key);
    counting_src cs = {.base = {counting_read, counting_close}, .inner = src, .n = 0};
    ls_put_opts opts = {.created_at_ns = timestamp_ms * LS_NS_PER_MS, .size_hint = -1};
    rc = ls_storage_put(s, key, &cs.base, &opts, err);
    if (rc != LS_OK) return rc;
    if (out) {
        *out = (ls_ltx_file){.level = level, .min_txid = min_txid, .max_txid = max_txid,
                             .size = (int64_t)cs.n, .created_at_ns = opts.created_at_ns};
    }
    return LS_OK;
}

ls_code ls_ltx_write(ls_storage *s, int level, uint64_t min_txid, uint64_t max_txid,
                     ls_reader *src, int64_t timestamp_ms, ls_err *err) {
    return ls_ltx_write_ex(s, level, min_txid, max_txid, src, timestamp_ms, NULL, err);
}

ls_code ls_ltx_open(ls_storage *s, int level, uint64_t min_txid, uint64_t max_txid, uint64_t off,
                    uint64_t len, ls_reader **out, ls_err *err) {
    char key[LS_LTX_KEY_MAX];
    if (out) *out = NULL;
    ls_code rc = key_or_fail(s, level, min_txid, max_txid, key, err);
    if (rc != LS_OK) return rc;
    return ls_storage_get(s, key, off, len, out, err);
}

ls_code ls_ltx_delete(ls_storage *s, const ls_ltx_file *files, size_t n, ls_err *err) {
    if (n == 0) return LS_OK;
    if (!files) return ls_err_set(err, LS_ERR_INVALID, "delete ltx files: NULL list");
    /* One allocation: n pointers followed by n fixed-size key buffers. */
    if (n > SIZE_MAX / (sizeof(char *) + LS_LTX_KEY_MAX))
        return ls_err_set(err, LS_ERR_NOMEM, "delete ltx files: too many files (%zu)", n);
    char **keys = malloc(n * (sizeof(char *) + LS_LTX_KEY_MAX));
    if (!keys) return ls_err_set(err, LS_ERR_NOMEM, "delete ltx files: out of memory");
    char *bufs = (char *)(keys + n);
    for (size_t i = 0; i < n; i++) {
        keys[i] = bufs + i * LS_LTX_KEY_MAX;
        ls_code rc = key_or_fail(s, files[i].level, files[i].min_txid, files[i].max_txid, keys[i],
                                 err);
        if (rc != LS_OK) {
            free(keys);
            return rc;
        }
    }
    ls_code rc = ls_storage_del(s, (const char *const *)keys, n, err);
    free(keys);
    return rc;
}

/* ------------------------------------------------------ resumable reader -- */

typedef struct {
    ls_reader base;
    ls_storage *s;
    ls_reader *inner;
    uint64_t pos;
    int64_t size;
    uint64_t end;  /* range end (exclusive); UINT64_MAX: whole object */
    int failures; /* consecutive failed attempts without progress */
    ls_resume_opts o;
    char key[];
} resumable;

static bool retryable(ls_code c) {
    switch (c) {
    case LS_ERR_IO:
    case LS_ERR_NETWORK:
    case LS_ERR_TIMEOUT:
    case LS_ERR_UNAVAILABLE:
    case LS_ERR_BUSY:
    case LS_ERR_FORMAT:   /* e.g. a garbled transfer */
    case LS_ERR_CHECKSUM: /* e.g. a transport checksum */
        return true;
    default:
        return false;
    }
}

static void sleep_ms(int64_t ms) {
    if (ms <= 0) return;
    struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static ls_code resumable_read(ls_reader *r, void *buf, size_t len, size_t *nread, ls_err *err) {
    resumable *rr = (resumable *)r;
    *nread = 0;
    if (len == 0) return LS_OK;
    ls_err e;
    ls_err_clear(&e);
    for (;;) {
        ls_code rc = LS_OK;
        if (!rr->inner) {
            if (rr->pos >= rr->end) return LS_OK; /* end of the range */
            if (rr->size >= 0 && rr->pos >= (uint64_t)rr->size) return LS_OK; /* EOF */
            rc = ls_storage_get(rr->s, rr->key, rr->pos,
                                rr->end == UINT64_MAX ? LS_STORAGE_TO_END : rr->end - rr->pos,
                                &rr->inner, &e);
        }
        if (rc == LS_OK) {
            size_t n = 0;
            rc = ls_read(rr->inner, buf, len, &n, &e);
            if (rc == LS_OK && n > rr->end - rr->pos) /* a backend must honour the range */
                rc = ls_err_set(&e, LS_ERR_FORMAT, "read past the end of range at byte %llu",
                                (unsigned long long)rr->pos);
            if (rc == LS_OK && n > 0) {
                rr->pos += n;
                rr->failures = 0;
                *nread = n;
                return LS_OK;
            }
            if (rc == LS_OK) { /* EOF */
                if (rr->end != UINT64_MAX) {
                    if (rr->pos >= rr->end) return LS_OK;
                    rc = ls_err_set(&e, LS_ERR_IO,
                                    "premature end of object at byte %llu (range ends at %llu)",
                                    (unsigned long long)rr->pos, (unsigned long long)rr->end);
                } else {
                    if (rr->size < 0 || rr->pos >= (uint64_t)rr->size) return LS_OK;
                    rc = ls_err_set(&e, LS_ERR_IO, "premature end of object at byte %llu of %lld",
                                    (unsigned long long)rr->pos, (long long)rr->size);
                }
            }
        }
        ls_reader_close(rr->inner);
        rr->inner = NULL;
        if (!retryable(rc) || rr->failures >= rr->o.max_retries) {
            if (err) {
                *err = e;
                if (rr->failures > 0)
                    ls_err_wrap(err, "resumable read of %s at byte %llu (gave up after %d retries)",
                                rr->key, (unsigned long long)rr->pos, rr->failures);
                else
                    ls_err_wrap(err, "resumable read of %s at byte %llu", rr->key,
                                (unsigned long long)rr->pos);
            }
            return rc;
        }
        int di = rr->failures < rr->o.ndelays ? rr->failures : rr->o.ndelays - 1;
        int64_t delay = di >= 0 ? rr->o.delays_ms[di] : 0;
        rr->failures++;
        ls_storage_stat_add(&rr->s->stats.retries, 1);
        ls_warn("retrying remote read", "key", rr->key, "offset", LS_INT(rr->pos), "attempt",
                LS_INT(rr->failures), "delay_ms", LS_INT(delay), "error", e.msg);
        sleep_ms(delay);
    }
}

static void resumable_close(ls_reader *r) {
    resumable *rr = (resumable *)r;
    ls_reader_close(rr->inner);
    free(rr);
}

static ls_code resumable_new(ls_storage *s, const char *key, int64_t size, uint64_t off,
                             uint64_t end, const ls_resume_opts *opts, ls_reader **out) {
    *out = NULL;
    if (!key) key = "";
    size_t kl = strlen(key);
    resumable *rr = calloc(1, sizeof(*rr) + kl + 1);
    if (!rr) return LS_ERR_NOMEM;
    rr->base.read = resumable_read;
    rr->base.close = resumable_close;
    rr->s = s;
    rr->size = size;
    rr->pos = off;
    rr->end = end;
    memcpy(rr->key, key, kl + 1);
    if (opts) {
        rr->o = *opts;
        if (rr->o.max_retries < 0) rr->o.max_retries = 0;
        if (rr->o.ndelays < 0) rr->o.ndelays = 0;
        if (rr->o.ndelays > 8) rr->o.ndelays = 8;
    } else {
        rr->o = (ls_resume_opts){.max_retries = 3, .delays_ms = {250, 500, 1000}, .ndelays = 3};
    }
    *out = &rr->base;
    return LS_OK;
}

ls_code ls_resumable_reader_ex(ls_storage *s, const char *key, int64_t size,
                               const ls_resume_opts *opts, ls_reader **out) {
    return resumable_new(s, key, size, 0, UINT64_MAX, opts, out);
}

ls_code ls_resumable_range_reader(ls_storage *s, const char *key, uint64_t off, uint64_t len,
                                  const ls_resume_opts *opts, ls_reader **out) {
    if (len == 0 || off > UINT64_MAX - len) return resumable_new(s, key, -1, off, off, opts, out);
    return resumable_new(s, key, -1, off, off + len, opts, out);
}

ls_code ls_resumable_reader(ls_storage *s, const char *key, int64_t size, ls_reader **out) {
    return ls_resumable_reader_ex(s, key, size, NULL, out);
}

ls_code ls_ltx_open_resumable(ls_storage *s, int level, uint64_t min_txid, uint64_t max_txid,
                              int64_t size, ls_reader **out, ls_err *err) {
    char key[LS_LTX_KEY_MAX];
    *out = NULL;
    ls_code rc = key_or_fail(s, level, min_txid, max_txid, key, err);
    if (rc != LS_OK) return rc;
    rc = ls_resumable_reader(s, key, size, out);
    if (rc != LS_OK) return ls_err_set(err, LS_ERR_NOMEM, "open %s: out of memory", key);
    return LS_OK;
}
