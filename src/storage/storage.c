/*
 * storage/storage.c — the generic half of the backend contract: argument
 * validation, request accounting and error context around every backend
 * call, plus the object-list helpers. See storage.h for the contract.
 */
#include "storage/storage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- keys -- */

/* Quotes a key for messages: control characters as \xNN, truncated. */
static const char *key_quote(const char *key, char *buf, size_t n) {
    if (!key) {
        snprintf(buf, n, "(null)");
        return buf;
    }
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
        char tmp[8];
        size_t tl;
        if (*p < 0x20 || *p == 0x7f || *p == '"' || *p == '\\') {
            tl = (size_t)snprintf(tmp, sizeof(tmp), "\\x%02x", *p);
        } else {
            tmp[0] = (char)*p;
            tl = 1;
        }
        if (o + tl + 4 > n) { /* room for "..." + NUL */
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        memcpy(buf + o, tmp, tl);
        o += tl;
    }
    buf[o] = '\0';
    return buf;
}

ls_code ls_storage_key_check(const char *key, bool is_prefix, ls_err *err) {
    char q[160];
    if (!key) return ls_err_set(err, LS_ERR_INVALID, "invalid key: NULL");
    size_t len = strlen(key);
    if (len == 0 && !is_prefix) return ls_err_set(err, LS_ERR_INVALID, "invalid key: empty key");
    if (len > LS_STORAGE_KEY_MAX)
        return ls_err_set(err, LS_ERR_INVALID, "invalid key \"%s\": longer than %d bytes",
                          key_quote(key, q, sizeof(q)), LS_STORAGE_KEY_MAX);
    if (key[0] == '/')
        return ls_err_set(err, LS_ERR_INVALID, "invalid key \"%s\": leading '/'",
                          key_quote(key, q, sizeof(q)));
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)key[i];
        if (c < 0x20 || c == 0x7f)
            return ls_err_set(err, LS_ERR_INVALID,
                              "invalid key \"%s\": control character 0x%02x at byte %zu",
                              key_quote(key, q, sizeof(q)), c, i);
    }
    /* segment checks */
    const char *seg = key;
    for (;;) {
        const char *slash = strchr(seg, '/');
        size_t sl = slash ? (size_t)(slash - seg) : strlen(seg);
        bool last = slash == NULL;
        if (sl == 0) {
            if (last) {
                /* trailing '/' (or empty prefix) */
                if (!is_prefix)
                    return ls_err_set(err, LS_ERR_INVALID, "invalid key \"%s\": trailing '/'",
                                      key_quote(key, q, sizeof(q)));
            } else {
                return ls_err_set(err, LS_ERR_INVALID, "invalid key \"%s\": empty path segment",
                                  key_quote(key, q, sizeof(q)));
            }
        }
        if ((sl == 1 && seg[0] == '.') || (sl == 2 && seg[0] == '.' && seg[1] == '.'))
            return ls_err_set(err, LS_ERR_INVALID,
                              "invalid key \"%s\": path segment \"%.*s\" not allowed",
                              key_quote(key, q, sizeof(q)), (int)sl, seg);
        if (last) break;
        seg = slash + 1;
    }
    return LS_OK;
}

/* ---------------------------------------------------------------- lists -- */

void ls_object_info_free(ls_object_info *o) {
    if (!o) return;
    free(o->key);
    o->key = NULL;
}

void ls_object_list_free(ls_object_list *l) {
    if (!l) return;
    for (size_t i = 0; i < l->n; i++) free(l->items[i].key);
    free(l->items);
    l->items = NULL;
    l->n = l->cap = 0;
}

ls_code ls_object_list_push(ls_object_list *l, const char *key, int64_t size, int64_t created_ns,
                            bool is_dir, ls_err *err) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        if (cap > SIZE_MAX / sizeof(*l->items))
            return ls_err_set(err, LS_ERR_NOMEM, "object list: too many entries");
        ls_object_info *p = realloc(l->items, cap * sizeof(*p));
        if (!p) return ls_err_set(err, LS_ERR_NOMEM, "object list: out of memory");
        l->items = p;
        l->cap = cap;
    }
    char *k = strdup(key);
    if (!k) return ls_err_set(err, LS_ERR_NOMEM, "object list: out of memory");
    l->items[l->n++] = (ls_object_info){.key = k, .size = size, .created_at_ns = created_ns,
                                        .is_dir = is_dir};
    return LS_OK;
}

static int cmp_info(const void *a, const void *b) {
    return strcmp(((const ls_object_info *)a)->key, ((const ls_object_info *)b)->key);
}

void ls_object_list_sort(ls_object_list *l) {
    if (l && l->n > 1) qsort(l->items, l->n, sizeof(*l->items), cmp_info);
}

/* ---------------------------------------------------------------- stats -- */

void ls_storage_stats_get(const ls_storage *s, ls_storage_stats *out) {
    out->puts = __atomic_load_n(&s->stats.puts, __ATOMIC_RELAXED);
    out->gets = __atomic_load_n(&s->stats.gets, __ATOMIC_RELAXED);
    out->lists = __atomic_load_n(&s->stats.lists, __ATOMIC_RELAXED);
    out->deletes = __atomic_load_n(&s->stats.deletes, __ATOMIC_RELAXED);
    out->heads = __atomic_load_n(&s->stats.heads, __ATOMIC_RELAXED);
    out->bytes_out = __atomic_load_n(&s->stats.bytes_out, __ATOMIC_RELAXED);
    out->bytes_in = __atomic_load_n(&s->stats.bytes_in, __ATOMIC_RELAXED);
    out->errors = __atomic_load_n(&s->stats.errors, __ATOMIC_RELAXED);
    out->retries = __atomic_load_n(&s->stats.retries, __ATOMIC_RELAXED);
}

/* Counts a failure (a missing object is an answer, not a failure). */
static ls_code fail(ls_storage *s, ls_code rc) {
    if (rc != LS_OK && rc != LS_ERR_NOTFOUND) ls_storage_stat_add(&s->stats.errors, 1);
    return rc;
}

static const char *stype(const ls_storage *s) { return s->type ? s->type : "storage"; }

/* ----------------------------------------------------- counting readers -- */

/* Put source: counts bytes read from the caller's reader (not owned). */
typedef struct {
    ls_reader base;
    ls_reader *inner;
    uint64_t *counter;
} count_reader;

static ls_code count_read(ls_reader *r, void *buf, size_t len, size_t *nread, ls_err *err) {
    count_reader *c = (count_reader *)r;
    size_t n = 0;
    ls_code rc = c->inner->read(c->inner, buf, len, &n, err);
    if (rc == LS_OK && n) ls_storage_stat_add(c->counter, n);
    *nread = rc == LS_OK ? n : 0;
    return rc;
}
static void count_close(ls_reader *r) { (void)r; }

/* Get result: owns the backend reader; counts bytes_in and errors and names
 * the backend + key in read errors. */
typedef struct {
    ls_reader base;
    ls_reader *inner;
    ls_storage *s;
    uint64_t pos;  /* bytes delivered so far (relative to the get offset) */
    uint64_t off;  /* get offset */
    char key[];
} get_reader;

static ls_code get_read(ls_reader *r, void *buf, size_t len, size_t *nread, ls_err *err) {
    get_reader *g = (get_reader *)r;
    ls_err local;
    ls_err *e = err ? err : &local;
    size_t n = 0;
    ls_code rc = g->inner->read(g->inner, buf, len, &n, e);
    if (rc != LS_OK) {
        *nread = 0;
        ls_err_wrap(e, "%s get %s (at byte %llu)", stype(g->s), g->key,
                    (unsigned long long)(g->off + g->pos));
        return fail(g->s, rc);
    }
    g->pos += n;
    if (n) ls_storage_stat_add(&g->s->stats.bytes_in, n);
    *nread = n;
    return LS_OK;
}
static void get_close(ls_reader *r) {
    get_reader *g = (get_reader *)r;
    ls_reader_close(g->inner);
    free(g);
}

/* ------------------------------------------------------------ wrappers -- */

ls_code ls_storage_put(ls_storage *s, const char *key, ls_reader *src, const ls_put_opts *opts,
                       ls_err *err) {
    ls_err local;
    ls_err *e = err ? err : &local;
    if (!s) return ls_err_set(e, LS_ERR_INVALID, "put: NULL storage");
    ls_storage_stat_add(&s->stats.puts, 1);
    ls_code rc = ls_storage_key_check(key, false, e);
    if (rc != LS_OK) {
        ls_err_wrap(e, "%s put", stype(s));
        return fail(s, rc);
    }
    if (!src) {
        ls_err_set(e, LS_ERR_INVALID, "%s put %s: NULL source", stype(s), key);
        return fail(s, LS_ERR_INVALID);
    }
    ls_put_opts o = {.created_at_ns = 0, .size_hint = -1};
    if (opts) o = *opts;
    count_reader cr = {.base = {count_read, count_close}, .inner = src,
                       .counter = &s->stats.bytes_out};
    rc = s->ops->put(s, key, &cr.base, &o, e);
    if (rc != LS_OK) {
        ls_err_wrap(e, "%s put %s", stype(s), key);
        return fail(s, rc);
    }
    return LS_OK;
}

ls_code ls_storage_get(ls_storage *s, const char *key, uint64_t off, uint64_t len,
                       ls_reader **out, ls_err *err) {
    ls_err local;
    ls_err *e = err ? err : &local;
    if (out) *out = NULL;
    if (!s || !out) return ls_err_set(e, LS_ERR_INVALID, "get: NULL argument");
    ls_storage_stat_add(&s->stats.gets, 1);
    ls_code rc = ls_storage_key_check(key, false, e);
    if (rc != LS_OK) {
        ls_err_wrap(e, "%s get", stype(s));
        return fail(s, rc);
    }
    if (len != LS_STORAGE_TO_END && len > UINT64_MAX - off) {
        ls_err_set(e, LS_ERR_INVALID, "%s get %s: range offset %llu length %llu overflows",
                   stype(s), key, (unsigned long long)off, (unsigned long long)len);
        return fail(s, LS_ERR_INVALID);
    }
    if (off > (uint64_t)INT64_MAX) {
        ls_err_set(e, LS_ERR_INVALID, "%s get %s: offset %llu out of range", stype(s), key,
                   (unsigned long long)off);
        return fail(s, LS_ERR_INVALID);
    }
    size_t kl = strlen(key);
    get_reader *g = malloc(sizeof(*g) + kl + 1);
    if (!g) {
        ls_err_set(e, LS_ERR_NOMEM, "%s get %s: out of memory", stype(s), key);
        return fail(s, LS_ERR_NOMEM);
    }
    ls_reader *inner = NULL;
    rc = s->ops->get(s, key, off, len, &inner, e);
    if (rc != LS_OK) {
        free(g);
        ls_reader_close(inner);
        ls_err_wrap(e, "%s get %s", stype(s), key);
        return fail(s, rc);
    }
    if (!inner) {
        free(g);
        ls_err_set(e, LS_ERR_INTERNAL, "%s get %s: backend returned no reader", stype(s), key);
        return fail(s, LS_ERR_INTERNAL);
    }
    g->base.read = get_read;
    g->base.close = get_close;
    g->inner = inner;
    g->s = s;
    g->pos = 0;
    g->off = off;
    memcpy(g->key, key, kl + 1);
    *out = &g->base;
    return LS_OK;
}

ls_code ls_storage_head(ls_storage *s, const char *key, bool accurate_time, ls_object_info *out,
                        ls_err *err) {
    ls_err local;
    ls_err *e = err ? err : &local;
    if (!s || !out) return ls_err_set(e, LS_ERR_INVALID, "head: NULL argument");
    memset(out, 0, sizeof(*out));
    ls_storage_stat_add(&s->stats.heads, 1);
    ls_code rc = ls_storage_key_check(key, false, e);
    if (rc != LS_OK) {
        ls_err_wrap(e, "%s head", stype(s));
        return fail(s, rc);
    }
    rc = s->ops->head(s, key, accurate_time, out, e);
    if (rc != LS_OK) {
        ls_object_info_free(out);
        ls_err_wrap(e, "%s head %s", stype(s), key);
        return fail(s, rc);
    }
    if (!out->key) {
        out->key = strdup(key);
        if (!out->key) {
            ls_err_set(e, LS_ERR_NOMEM, "%s head %s: out of memory", stype(s), key);
            return fail(s, LS_ERR_NOMEM);
        }
    }
    return LS_OK;
}

ls_code ls_storage_list(ls_storage *s, const char *prefix, char delimiter, ls_object_list *out,
                        ls_err *err) {
    ls_err local;
    ls_err *e = err ? err : &local;
    if (!s || !out) return ls_err_set(e, LS_ERR_INVALID, "list: NULL argument");
    memset(out, 0, sizeof(*out));
    ls_storage_stat_add(&s->stats.lists, 1);
    if (!prefix) prefix = "";
    ls_code rc = ls_storage_key_check(prefix, true, e);
    if (rc != LS_OK) {
        ls_err_wrap(e, "%s list", stype(s));
        return fail(s, rc);
    }
    if (delimiter != 0 && delimiter != '/') {
        ls_err_set(e, LS_ERR_INVALID, "%s list %s: unsupported delimiter 0x%02x", stype(s), prefix,
                   (unsigned char)delimiter);
        return fail(s, LS_ERR_INVALID);
    }
    rc = s->ops->list(s, prefix, delimiter, out, e);
    if (rc != LS_OK) {
        ls_object_list_free(out);
        ls_err_wrap(e, "%s list %s", stype(s), *prefix ? prefix : "(root)");
        return fail(s, rc);
    }
    ls_object_list_sort(out);
    return LS_OK;
}

ls_code ls_storage_del(ls_storage *s, const char *const *keys, size_t n, ls_err *err) {
    ls_err local;
    ls_err *e = err ? err : &local;
    if (!s) return ls_err_set(e, LS_ERR_INVALID, "delete: NULL storage");
    if (n == 0) return LS_OK;
    ls_storage_stat_add(&s->stats.deletes, 1);
    if (!keys) {
        ls_err_set(e, LS_ERR_INVALID, "%s delete: NULL key array", stype(s));
        return fail(s, LS_ERR_INVALID);
    }
    for (size_t i = 0; i < n; i++) {
        ls_code rc = ls_storage_key_check(keys[i], false, e);
        if (rc != LS_OK) {
            ls_err_wrap(e, "%s delete (key %zu of %zu)", stype(s), i + 1, n);
            return fail(s, rc);
        }
    }
    ls_code rc = s->ops->del(s, keys, n, e);
    if (rc != LS_OK) {
        if (n == 1) ls_err_wrap(e, "%s delete %s", stype(s), keys[0]);
        else ls_err_wrap(e, "%s delete %zu keys (first %s)", stype(s), n, keys[0]);
        return fail(s, rc);
    }
    return LS_OK;
}

void ls_storage_close(ls_storage *s) {
    if (s && s->ops && s->ops->close) s->ops->close(s);
}
