/*
 * storage/faulty.c — fault-injecting storage wrapper for tests (faulty.h).
 */
#include "storage/faulty.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define FAULTY_MAX_RULES 16
#define FAULTY_NOPS 5

typedef struct {
    bool active, every;
    unsigned ops;
    uint64_t countdown; /* nth rules: calls left until the failing one */
    ls_code code;
} fault_rule;

typedef struct {
    ls_storage base;
    ls_storage *inner;
    bool own;
    pthread_mutex_t mu;
    fault_rule rules[FAULTY_MAX_RULES];
    bool after;
    char *filter;
    /* read faults */
    bool read_active, read_all;
    uint64_t read_after, read_left;
    ls_code read_code;
    /* counters */
    uint64_t calls[FAULTY_NOPS];
    uint64_t injected;
} faulty;

static const ls_storage_ops faulty_ops;

static faulty *as_faulty(ls_storage *s) {
    return (s && s->ops == &faulty_ops) ? (faulty *)s : NULL;
}

static int op_index(unsigned op) {
    for (int i = 0; i < FAULTY_NOPS; i++)
        if (op == (1u << i)) return i;
    return -1;
}

static const char *op_name(unsigned op) {
    switch (op) {
    case LS_FAULT_PUT: return "put";
    case LS_FAULT_GET: return "get";
    case LS_FAULT_HEAD: return "head";
    case LS_FAULT_LIST: return "list";
    case LS_FAULT_DEL: return "delete";
    default: return "?";
    }
}

/* Counts the call and decides whether to inject; keys (n of them) are
 * matched against the filter. Returns the code to inject or LS_OK. */
static ls_code decide(faulty *f, unsigned op, const char *const *keys, size_t n) {
    ls_code inject = LS_OK;
    pthread_mutex_lock(&f->mu);
    int oi = op_index(op);
    if (oi >= 0) f->calls[oi]++;
    bool match = f->filter == NULL;
    for (size_t i = 0; !match && i < n; i++)
        if (keys[i] && strstr(keys[i], f->filter)) match = true;
    if (match) {
        for (int i = 0; i < FAULTY_MAX_RULES; i++) {
            fault_rule *r = &f->rules[i];
            if (!r->active || !(r->ops & op)) continue;
            if (r->every) {
                if (inject == LS_OK) inject = r->code;
            } else if (r->countdown > 0 && --r->countdown == 0) {
                r->active = false;
                if (inject == LS_OK) inject = r->code;
            }
        }
    }
    if (inject != LS_OK) f->injected++;
    pthread_mutex_unlock(&f->mu);
    return inject;
}

static ls_code injected_err(ls_err *err, ls_code code, unsigned op, const char *key) {
    return ls_err_set(err, code, "injected fault (%s) in %s %s", ls_code_name(code), op_name(op),
                      key && *key ? key : "(root)");
}

/* ------------------------------------------------------------ readers -- */

typedef struct {
    ls_reader base;
    ls_reader *inner;
    uint64_t delivered, after;
    ls_code code;
    faulty *f;
} faulty_reader;

static ls_code freader_read(ls_reader *r, void *buf, size_t len, size_t *nread, ls_err *err) {
    faulty_reader *fr = (faulty_reader *)r;
    *nread = 0;
    if (fr->delivered >= fr->after) {
        if (len == 0) return LS_OK;
        if (fr->code == LS_OK) return LS_OK; /* premature EOF */
        pthread_mutex_lock(&fr->f->mu);
        fr->f->injected++;
        pthread_mutex_unlock(&fr->f->mu);
        return ls_err_set(err, fr->code, "injected fault (%s) in read after %llu bytes",
                          ls_code_name(fr->code), (unsigned long long)fr->delivered);
    }
    uint64_t left = fr->after - fr->delivered;
    if ((uint64_t)len > left) len = (size_t)left;
    ls_code rc = ls_read(fr->inner, buf, len, nread, err);
    if (rc == LS_OK) fr->delivered += *nread;
    return rc;
}

static void freader_close(ls_reader *r) {
    faulty_reader *fr = (faulty_reader *)r;
    ls_reader_close(fr->inner);
    free(fr);
}

/* ---------------------------------------------------------------- ops -- */

static ls_code faulty_put(ls_storage *s, const char *key, ls_reader *src, const ls_put_opts *opts,
                          ls_err *err) {
    faulty *f = (faulty *)s;
    ls_code inj = decide(f, LS_FAULT_PUT, &key, 1);
    if (inj != LS_OK && !f->after) return injected_err(err, inj, LS_FAULT_PUT, key);
    ls_code rc = ls_storage_put(f->inner, key, src, opts, err);
    if (rc != LS_OK) return rc;
    if (inj != LS_OK) return injected_err(err, inj, LS_FAULT_PUT, key);
    return LS_OK;
}

static ls_code faulty_get(ls_storage *s, const char *key, uint64_t off, uint64_t len,
                          ls_reader **out, ls_err *err) {
    faulty *f = (faulty *)s;
    *out = NULL;
    ls_code inj = decide(f, LS_FAULT_GET, &key, 1);
    if (inj != LS_OK) return injected_err(err, inj, LS_FAULT_GET, key);
    ls_reader *inner = NULL;
    ls_code rc = ls_storage_get(f->inner, key, off, len, &inner, err);
    if (rc != LS_OK) return rc;
    bool wrap = false;
    uint64_t after = 0;
    ls_code code = LS_OK;
    pthread_mutex_lock(&f->mu);
    bool match = f->filter == NULL || strstr(key, f->filter) != NULL;
    if (f->read_active && match) {
        wrap = true;
        after = f->read_after;
        code = f->read_code;
        if (!f->read_all && --f->read_left == 0) f->read_active = false;
    }
    pthread_mutex_unlock(&f->mu);
    if (!wrap) {
        *out = inner;
        return LS_OK;
    }
    faulty_reader *fr = calloc(1, sizeof(*fr));
    if (!fr) {
        ls_reader_close(inner);
        return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
    }
    fr->base.read = freader_read;
    fr->base.close = freader_close;
    fr->inner = inner;
    fr->after = after;
    fr->code = code;
    fr->f = f;
    *out = &fr->base;
    return LS_OK;
}

static ls_code faulty_head(ls_storage *s, const char *key, bool accurate_time, ls_object_info *out,
                           ls_err *err) {
    faulty *f = (faulty *)s;
    ls_code inj = decide(f, LS_FAULT_HEAD, &key, 1);
    if (inj != LS_OK) return injected_err(err, inj, LS_FAULT_HEAD, key);
    return ls_storage_head(f->inner, key, accurate_time, out, err);
}

static ls_code faulty_list(ls_storage *s, const char *prefix, char delimiter, ls_object_list *out,
                           ls_err *err) {
    faulty *f = (faulty *)s;
    ls_code inj = decide(f, LS_FAULT_LIST, &prefix, 1);
    if (inj != LS_OK) return injected_err(err, inj, LS_FAULT_LIST, prefix);
    return ls_storage_list(f->inner, prefix, delimiter, out, err);
}

static ls_code faulty_del(ls_storage *s, const char *const *keys, size_t n, ls_err *err) {
    faulty *f = (faulty *)s;
    ls_code inj = decide(f, LS_FAULT_DEL, keys, n);
    if (inj != LS_OK && !f->after) return injected_err(err, inj, LS_FAULT_DEL, keys[0]);
    ls_code rc = ls_storage_del(f->inner, keys, n, err);
    if (rc != LS_OK) return rc;
    if (inj != LS_OK) return injected_err(err, inj, LS_FAULT_DEL, keys[0]);
    return LS_OK;
}

static void faulty_close(ls_storage *s) {
    faulty *f = (faulty *)s;
    if (f->own) ls_storage_close(f->inner);
    pthread_mutex_destroy(&f->mu);
    free(f->filter);
    free(f->base.url);
    free(f);
}

static const ls_storage_ops faulty_ops = {
    .put = faulty_put,
    .get = faulty_get,
    .head = faulty_head,
    .list = faulty_list,
    .del = faulty_del,
    .close = faulty_close,
};

ls_code ls_storage_faulty_wrap(ls_storage *inner, bool own_inner, ls_storage **out, ls_err *err) {
    *out = NULL;
    if (!inner) return ls_err_set(err, LS_ERR_INVALID, "faulty storage: NULL inner storage");
    faulty *f = calloc(1, sizeof(*f));
    if (!f) return ls_err_set(err, LS_ERR_NOMEM, "faulty storage: out of memory");
    if (pthread_mutex_init(&f->mu, NULL) != 0) {
        free(f);
        return ls_err_set(err, LS_ERR_INTERNAL, "faulty storage: mutex init failed");
    }
    f->base.url = strdup(inner->url ? inner->url : "");
    if (!f->base.url) {
        pthread_mutex_destroy(&f->mu);
        free(f);
        return ls_err_set(err, LS_ERR_NOMEM, "faulty storage: out of memory");
    }
    f->base.ops = &faulty_ops;
    f->base.type = "faulty";
    f->base.layout = inner->layout;
    f->base.list_times_accurate = inner->list_times_accurate;
    f->inner = inner;
    f->own = own_inner;
    *out = &f->base;
    return LS_OK;
}

static void add_rule(faulty *f, unsigned ops, bool every, uint64_t nth, ls_code code) {
    pthread_mutex_lock(&f->mu);
    for (int i = 0; i < FAULTY_MAX_RULES; i++) {
        if (!f->rules[i].active) {
            f->rules[i] = (fault_rule){.active = true, .every = every, .ops = ops,
                                       .countdown = nth, .code = code};
            break;
        }
    }
    pthread_mutex_unlock(&f->mu);
}

void ls_faulty_fail_nth(ls_storage *s, unsigned ops, uint64_t nth, ls_code code) {
    faulty *f = as_faulty(s);
    if (!f || nth == 0 || code == LS_OK) return;
    add_rule(f, ops, false, nth, code);
}

void ls_faulty_fail_every(ls_storage *s, unsigned ops, ls_code code) {
    faulty *f = as_faulty(s);
    if (!f || code == LS_OK) return;
    add_rule(f, ops, true, 0, code);
}

void ls_faulty_fail_reads(ls_storage *s, uint64_t after_bytes, ls_code code, uint64_t nreaders) {
    faulty *f = as_faulty(s);
    if (!f) return;
    pthread_mutex_lock(&f->mu);
    f->read_active = true;
    f->read_all = nreaders == 0;
    f->read_left = nreaders;
    f->read_after = after_bytes;
    f->read_code = code;
    pthread_mutex_unlock(&f->mu);
}

void ls_faulty_set_after(ls_storage *s, bool after) {
    faulty *f = as_faulty(s);
    if (!f) return;
    pthread_mutex_lock(&f->mu);
    f->after = after;
    pthread_mutex_unlock(&f->mu);
}

void ls_faulty_set_key_filter(ls_storage *s, const char *substr) {
    faulty *f = as_faulty(s);
    if (!f) return;
    char *copy = substr ? strdup(substr) : NULL;
    pthread_mutex_lock(&f->mu);
    free(f->filter);
    f->filter = copy;
    pthread_mutex_unlock(&f->mu);
}

void ls_faulty_clear(ls_storage *s) {
    faulty *f = as_faulty(s);
    if (!f) return;
    pthread_mutex_lock(&f->mu);
    memset(f->rules, 0, sizeof(f->rules));
    f->read_active = false;
    f->after = false;
    free(f->filter);
    f->filter = NULL;
    pthread_mutex_unlock(&f->mu);
}

uint64_t ls_faulty_calls(ls_storage *s, unsigned op) {
    faulty *f = as_faulty(s);
    if (!f) return 0;
    uint64_t n = 0;
    pthread_mutex_lock(&f->mu);
    for (int i = 0; i < FAULTY_NOPS; i++)
        if (op & (1u << i)) n += f->calls[i];
    pthread_mutex_unlock(&f->mu);
    return n;
}

uint64_t ls_faulty_injected(ls_storage *s) {
    faulty *f = as_faulty(s);
    if (!f) return 0;
    pthread_mutex_lock(&f->mu);
    uint64_t n = f->injected;
    pthread_mutex_unlock(&f->mu);
    return n;
}

ls_storage *ls_faulty_inner(ls_storage *s) {
    faulty *f = as_faulty(s);
    return f ? f->inner : NULL;
}
