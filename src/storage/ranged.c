/*
 * storage/ranged.c — parallel ranged reads of large objects. Contract and
 * design in ranged.h.
 *
 * One mutex and one condition variable per group cover every reader of the
 * group: workers wait there for work, callers for data, closers for their
 * in-flight fetches. Chunk i of a reader lives in slot i % window (window =
 * parallelism + 1: the extra slot lets every worker fetch ahead while the
 * caller is still reading its chunk), so a slot is free again exactly when
 * the caller has moved past the chunk that used it before.
 *
 * Wake-ups are batched: a waiting caller asks for WAKE_BYTES more (or the
 * rest of the chunk) and its worker signals only when that much arrived;
 * bytes already known to be there are read without the lock.
 */
#include "storage/ranged.h"

#include <errno.h>
#include <pthread.h>
#include <sys/mman.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOT_FREE UINT64_MAX
#define WAKE_BYTES ((size_t)256 << 10)

typedef struct rslot {
    uint64_t idx;        /* chunk held, SLOT_FREE when none */
    unsigned char *buf;  /* chunk_size bytes, from the group's pool */
    size_t len;          /* bytes of this chunk */
    size_t filled;       /* bytes fetched so far (published under mu) */
    bool done;           /* the fetch ended (code says how) */
    ls_code code;
    ls_err err;
} rslot;

typedef struct rreader rreader;

struct ls_ranged_group {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int parallelism;         /* workers = ranges in flight */
    int window;              /* chunk slots per reader = tokens = parallelism + 1 */
    size_t chunk;
    ls_resume_opts resume;
    bool have_resume;
    long tokens;             /* may go below 0 by exempt fetches */
    rreader *readers;        /* open readers (linked) */
    unsigned char **pool;    /* free chunk buffers */
    size_t npool, pool_cap;
    pthread_t *threads;
    int nthreads;
    bool stop;
    ls_ranged_stats stats;
    uint64_t in_use;         /* chunks holding a token right now */
    uint64_t fetching;       /* fetches running right now */
};

struct rreader {
    ls_reader base;
    ls_ranged_group *g;
    bool own_group;
    ls_reader *stream;       /* parallelism 1: open get positioned at chunk stream_idx */
    uint64_t stream_idx;
    rreader *next;
    ls_storage *s;
    char *key;
    uint64_t size, nchunks;
    int window;
    rslot *slots;
    uint64_t next_fetch;     /* next chunk to hand to a worker */
    uint64_t cur;            /* chunk the caller reads */
    size_t cur_off;          /* caller's offset in chunk cur */
    size_t seen;             /* caller only: bytes of chunk cur known published */
    size_t want;             /* caller waits until chunk cur has this many (0: not waiting) */
    int active;              /* fetches running */
    bool closing;
    bool fetch_failed;       /* a range failed: start no more */
    bool failed;             /* the caller got an error: latched */
    ls_err ferr;
};

/* ------------------------------------------------------------ buffers -- */

/* Chunk buffers of 2 MiB or more are mapped directly, 2 MiB-aligned and
 * rounded up to 2 MiB, with MADV_HUGEPAGE: filled once per range by the
 * workers, their first touch would otherwise cost one page fault per 4 KiB
 * (measured: +13,000 faults and +60 ms of system time for a 160 MB restore
 * at parallelism 8). Where transparent huge pages are off this is plain
 * anonymous memory; smaller buffers are plain page-rounded mappings. */
#define HUGE_ALIGN ((size_t)2 << 20)
#define SMALL_ALIGN ((size_t)4096)

static size_t buf_span(size_t chunk) {
    size_t a = chunk >= HUGE_ALIGN ? HUGE_ALIGN : SMALL_ALIGN;
    return (chunk + a - 1) / a * a;
}

static unsigned char *buf_alloc(size_t chunk) {
    size_t span = buf_span(chunk);
    bool huge = chunk >= HUGE_ALIGN;
    size_t extra = huge ? HUGE_ALIGN : 0;
    unsigned char *p = mmap(NULL, span + extra, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
    if (!huge) return p;
    uintptr_t a = ((uintptr_t)p + HUGE_ALIGN - 1) & ~(uintptr_t)(HUGE_ALIGN - 1);
    size_t head = (size_t)(a - (uintptr_t)p), tail = extra - head;
    if (head) munmap(p, head);
    if (tail) munmap((unsigned char *)a + span, tail);
#ifdef MADV_HUGEPAGE
    madvise((void *)a, span, MADV_HUGEPAGE);
#endif
    return (unsigned char *)a;
}

static void buf_free(unsigned char *b, size_t chunk) {
    if (b) munmap(b, buf_span(chunk));
}

/* mu held. A pooled buffer or NULL (the caller allocates outside the lock). */
static unsigned char *pool_pop(ls_ranged_group *g) {
    return g->npool ? g->pool[--g->npool] : NULL;
}

/* mu held. Keeps the buffer for reuse (the pool array was sized for every
 * buffer that can exist) or frees it. */
static void pool_push(ls_ranged_group *g, unsigned char *b) {
    if (!b) return;
    if (g->npool < g->pool_cap) {
        g->pool[g->npool++] = b;
        return;
    }
    buf_free(b, g->chunk);
    g->stats.buffers--;
}

/* mu held: frees every pooled buffer (no reader left). */
static void pool_trim(ls_ranged_group *g) {
    while (g->npool) {
        buf_free(g->pool[--g->npool], g->chunk);
        g->stats.buffers--;
    }
}

/* ------------------------------------------------------------ workers -- */

static size_t chunk_len(const rreader *r, uint64_t idx) {
    uint64_t off = idx * (uint64_t)r->g->chunk;
    uint64_t rest = r->size - off;
    return rest < r->g->chunk ? (size_t)rest : r->g->chunk;
}

/* mu held. The next (reader, chunk) to fetch, or NULL. A reader whose
 * caller has nothing in flight comes first and needs no token. */
static rreader *pick(ls_ranged_group *g) {
    rreader *best = NULL;
    uint64_t best_ahead = UINT64_MAX;
    for (rreader *r = g->readers; r; r = r->next) {
        if (r->closing || r->fetch_failed || r->failed || r->next_fetch >= r->nchunks) continue;
        if (r->next_fetch == r->cur) return r;
        if (g->tokens <= 0 || r->next_fetch >= r->cur + (uint64_t)r->window) continue;
        uint64_t ahead = r->next_fetch - r->cur;
        if (ahead < best_ahead) {
            best = r;
            best_ahead = ahead;
        }
    }
    return best;
}

/* Fetches chunk idx of r into sl (mu not held on entry or exit). With
 * parallelism 1 the single worker fetches r's chunks in order, so it reads
 * them all from one get to the end of the object, kept open in r between
 * chunks, instead of one get per chunk. */
static void fetch_chunk(ls_ranged_group *g, rreader *r, rslot *sl, uint64_t idx) {
    ls_err e;
    ls_err_clear(&e);
    ls_code rc = LS_OK;
    uint64_t off = idx * (uint64_t)g->chunk;
    size_t len = sl->len;
    if (!sl->buf) {
        unsigned char *b = buf_alloc(g->chunk);
        pthread_mutex_lock(&g->mu);
        if (b) {
            sl->buf = b;
            g->stats.buffers++;
            if (g->stats.buffers > g->stats.peak_buffers) g->stats.peak_buffers = g->stats.buffers;
        }
        pthread_mutex_unlock(&g->mu);
        if (!b) rc = ls_err_set(&e, LS_ERR_NOMEM, "out of memory (%zu-byte range buffer)", g->chunk);
    }
    ls_reader *rd = NULL, *stale = NULL;
    pthread_mutex_lock(&g->mu);
    if (r->stream && r->stream_idx == idx) rd = r->stream; /* continue it */
    else stale = r->stream;
    r->stream = NULL;
    pthread_mutex_unlock(&g->mu);
    ls_reader_close(stale);
    /* alone, one stream to the end of the object; else this range only */
    uint64_t span = g->parallelism == 1 ? r->size - off : len;
    if (rc == LS_OK && !rd &&
        ls_resumable_range_reader(r->s, r->key, off, span, g->have_resume ? &g->resume : NULL, &rd) != LS_OK)
        rc = ls_err_set(&e, LS_ERR_NOMEM, "out of memory");
    size_t filled = 0;
    while (rc == LS_OK && filled < len) {
        size_t n = 0;
        rc = ls_read(rd, sl->buf + filled, len - filled, &n, &e);
        if (rc != LS_OK) break;
        if (n == 0) { /* the resumable reader reports a short range itself */
            rc = ls_err_set(&e, LS_ERR_IO, "premature end of object at byte %llu",
                            (unsigned long long)(off + filled));
            break;
        }
        filled += n;
        pthread_mutex_lock(&g->mu);
        sl->filled = filled;
        bool quit = r->closing || g->stop;
        if (r->cur == idx && r->want && filled >= r->want) pthread_cond_broadcast(&g->cv);
        pthread_mutex_unlock(&g->mu);
        if (quit) {
            rc = ls_err_set(&e, LS_ERR_CANCELED, "ranged read closed");
            break;
        }
    }
    if (rc == LS_OK && rd && off + len < r->size && g->parallelism == 1) {
        pthread_mutex_lock(&g->mu); /* the next chunk continues here */
        r->stream = rd;
        r->stream_idx = idx + 1;
        pthread_mutex_unlock(&g->mu);
        rd = NULL;
    }
    ls_reader_close(rd);
    if (rc != LS_OK && rc != LS_ERR_CANCELED)
        ls_err_wrap(&e, "ranged read of %s bytes %llu-%llu", r->key, (unsigned long long)off,
                    (unsigned long long)(off + len - 1));
    pthread_mutex_lock(&g->mu);
    /* Once the last byte is published the caller may consume it and hand
     * the slot to the next chunk before this lock is taken: then the slot
     * is no longer ours (and a complete fetch has nothing to report). */
    if (sl->idx == idx) {
        sl->done = true;
        sl->code = rc;
        if (rc != LS_OK) {
            sl->err = e;
            sl->err.code = rc;
        }
    }
    if (rc != LS_OK) r->fetch_failed = true;
    r->active--;
    g->fetching--;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

static void *worker(void *arg) {
    ls_ranged_group *g = arg;
    pthread_mutex_lock(&g->mu);
    while (!g->stop) {
        rreader *r = pick(g);
        if (!r) {
            pthread_cond_wait(&g->cv, &g->mu);
            continue;
        }
        uint64_t idx = r->next_fetch++;
        rslot *sl = &r->slots[idx % (uint64_t)r->window];
        sl->idx = idx;
        sl->len = chunk_len(r, idx);
        sl->filled = 0;
        sl->done = false;
        sl->code = LS_OK;
        if (!sl->buf) sl->buf = pool_pop(g);
        r->active++;
        g->tokens--;
        g->in_use++;
        g->fetching++;
        g->stats.ranges++;
        if (g->in_use > g->stats.peak_chunks) g->stats.peak_chunks = g->in_use;
        if (g->fetching > g->stats.peak_fetching) g->stats.peak_fetching = g->fetching;
        pthread_mutex_unlock(&g->mu);
        fetch_chunk(g, r, sl, idx);
        pthread_mutex_lock(&g->mu);
    }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

/* mu held. Starts the workers once. */
static ls_code start_workers(ls_ranged_group *g, ls_err *err) {
    if (g->threads) return LS_OK;
    g->threads = calloc((size_t)g->parallelism, sizeof(*g->threads));
    if (!g->threads) return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
    for (int i = 0; i < g->parallelism; i++) {
        int e = pthread_create(&g->threads[i], NULL, worker, g);
        if (e != 0) {
            if (i == 0) {
                free(g->threads);
                g->threads = NULL;
                return ls_err_errno(err, e, "start ranged read worker");
            }
            break; /* fewer workers still work */
        }
        g->nthreads++;
    }
    return LS_OK;
}

/* ------------------------------------------------------------- reader -- */

/* mu held. Gives back chunk sl's token and buffer. */
static void slot_release(ls_ranged_group *g, rslot *sl) {
    pool_push(g, sl->buf);
    sl->buf = NULL;
    sl->idx = SLOT_FREE;
    sl->filled = 0;
    sl->done = false;
    g->tokens++;
    g->in_use--;
}

static ls_code rr_read(ls_reader *base, void *out, size_t len, size_t *nread, ls_err *err) {
    rreader *r = (rreader *)base;
    ls_ranged_group *g = r->g;
    *nread = 0;
    if (len == 0) return LS_OK;
    if (r->failed) {
        if (err) *err = r->ferr;
        return r->ferr.code;
    }
    if (r->cur >= r->nchunks) return LS_OK; /* EOF */
    rslot *sl = &r->slots[r->cur % (uint64_t)r->window];
    size_t clen = chunk_len(r, r->cur);
    if (r->seen <= r->cur_off) { /* nothing known to be there: ask */
        pthread_mutex_lock(&g->mu);
        if (!(sl->idx == r->cur && (sl->filled > r->cur_off || sl->done))) {
            size_t ask = clen - r->cur_off < WAKE_BYTES ? clen - r->cur_off : WAKE_BYTES;
            r->want = r->cur_off + ask;
            while (!(sl->idx == r->cur && (sl->filled >= r->want || sl->done)))
                pthread_cond_wait(&g->cv, &g->mu);
            r->want = 0;
        }
        r->seen = sl->filled;
        if (r->seen <= r->cur_off) { /* the fetch ended without the next byte */
            r->failed = true;
            if (sl->code != LS_OK) r->ferr = sl->err;
            else ls_err_set(&r->ferr, LS_ERR_INTERNAL, "ranged read of %s: chunk %llu ended early",
                            r->key, (unsigned long long)r->cur);
            pthread_cond_broadcast(&g->cv);
            pthread_mutex_unlock(&g->mu);
            if (err) *err = r->ferr;
            return r->ferr.code;
        }
        pthread_mutex_unlock(&g->mu);
    }
    /* bytes [cur_off, seen) are published and never touched again by the
     * worker, which only writes past them */
    size_t avail = r->seen - r->cur_off;
    size_t n = avail < len ? avail : len;
    memcpy(out, sl->buf + r->cur_off, n);
    r->cur_off += n;
    if (r->cur_off == clen) {
        pthread_mutex_lock(&g->mu);
        slot_release(g, sl);
        r->cur++;
        r->cur_off = 0;
        r->seen = 0;
        pthread_cond_broadcast(&g->cv);
        pthread_mutex_unlock(&g->mu);
    }
    *nread = n;
    return LS_OK;
}

static void rr_close(ls_reader *base) {
    rreader *r = (rreader *)base;
    ls_ranged_group *g = r->g;
    pthread_mutex_lock(&g->mu);
    r->closing = true;
    pthread_cond_broadcast(&g->cv);
    while (r->active > 0) pthread_cond_wait(&g->cv, &g->mu);
    for (int i = 0; i < r->window; i++)
        if (r->slots[i].idx != SLOT_FREE) slot_release(g, &r->slots[i]);
    for (rreader **p = &g->readers; *p; p = &(*p)->next)
        if (*p == r) {
            *p = r->next;
            break;
        }
    if (!g->readers) pool_trim(g);
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
    ls_reader_close(r->stream);
    free(r->slots);
    free(r->key);
    bool own = r->own_group;
    free(r);
    if (own) ls_ranged_group_free(g);
}

/* -------------------------------------------------------------- group -- */

static size_t env_chunk(void) {
    const char *v = getenv("LITESTREAM_RESTORE_RANGE_SIZE");
    if (!v || !*v) return 0;
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno || *end) return 0;
    return (size_t)n;
}

ls_code ls_ranged_group_new(const ls_ranged_opts *o, ls_ranged_group **out, ls_err *err) {
    *out = NULL;
    ls_ranged_group *g = calloc(1, sizeof(*g));
    if (!g) return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
    int par = o ? o->parallelism : 1;
    if (par < 1) par = 1;
    if (par > LS_RANGED_MAX_PARALLELISM) par = LS_RANGED_MAX_PARALLELISM;
    size_t chunk = o && o->chunk_size ? o->chunk_size : env_chunk();
    if (!chunk) { /* whole 2 MiB (huge pages) within the buffer budget */
        chunk = LS_RANGED_BUFFER_BUDGET / (size_t)(par + 1) / ((size_t)2 << 20) * ((size_t)2 << 20);
        if (chunk > LS_RANGED_DEFAULT_CHUNK) chunk = LS_RANGED_DEFAULT_CHUNK;
        if (chunk == 0) chunk = (size_t)1 << 20;
    }
    if (chunk < LS_RANGED_MIN_CHUNK) chunk = LS_RANGED_MIN_CHUNK;
    if (chunk > LS_RANGED_MAX_CHUNK) chunk = LS_RANGED_MAX_CHUNK;
    g->parallelism = par;
    g->window = par + 1;
    g->chunk = chunk;
    g->tokens = g->window;
    if (o && o->resume) {
        g->resume = *o->resume;
        g->have_resume = true;
    }
    /* buffers that can exist at once: the tokens + one exempt chunk per
     * reader; the pool keeps up to 2 x window of them for reuse */
    g->pool_cap = (size_t)g->window * 2;
    g->pool = calloc(g->pool_cap, sizeof(*g->pool));
    if (!g->pool) {
        free(g);
        return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
    }
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    *out = g;
    return LS_OK;
}

void ls_ranged_group_free(ls_ranged_group *g) {
    if (!g) return;
    pthread_mutex_lock(&g->mu);
    g->stop = true;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
    for (int i = 0; i < g->nthreads; i++) pthread_join(g->threads[i], NULL);
    pool_trim(g);
    free(g->pool);
    free(g->threads);
    pthread_mutex_destroy(&g->mu);
    pthread_cond_destroy(&g->cv);
    free(g);
}

size_t ls_ranged_chunk_size(const ls_ranged_group *g) { return g ? g->chunk : 0; }

void ls_ranged_group_stats(ls_ranged_group *g, ls_ranged_stats *out) {
    pthread_mutex_lock(&g->mu);
    *out = g->stats;
    pthread_mutex_unlock(&g->mu);
}

bool ls_ranged_worthwhile(const ls_ranged_group *g, const ls_storage *s, int64_t size) {
    if (!g || !s || size <= 0 || (uint64_t)size <= g->chunk) return false;
    return !(s->type && strcmp(s->type, "file") == 0);
}

ls_code ls_ranged_open(ls_ranged_group *g, ls_storage *s, const char *key, uint64_t size,
                       ls_reader **out, ls_err *err) {
    *out = NULL;
    if (!g || !s || !key) return ls_err_set(err, LS_ERR_INVALID, "ranged read: missing argument");
    rreader *r = calloc(1, sizeof(*r));
    if (!r) return ls_err_set(err, LS_ERR_NOMEM, "ranged read of %s: out of memory", key);
    r->base.read = rr_read;
    r->base.close = rr_close;
    r->g = g;
    r->s = s;
    r->size = size;
    r->nchunks = size / g->chunk + (size % g->chunk ? 1 : 0);
    r->window = g->window;
    r->key = strdup(key);
    r->slots = calloc((size_t)r->window, sizeof(*r->slots));
    if (!r->key || !r->slots) {
        free(r->key);
        free(r->slots);
        free(r);
        return ls_err_set(err, LS_ERR_NOMEM, "ranged read of %s: out of memory", key);
    }
    for (int i = 0; i < r->window; i++) r->slots[i].idx = SLOT_FREE;
    pthread_mutex_lock(&g->mu);
    ls_code rc = r->nchunks ? start_workers(g, err) : LS_OK;
    if (rc == LS_OK) {
        r->next = g->readers;
        g->readers = r;
        pthread_cond_broadcast(&g->cv);
    }
    pthread_mutex_unlock(&g->mu);
    if (rc != LS_OK) {
        free(r->key);
        free(r->slots);
        free(r);
        return ls_err_wrap(err, "ranged read of %s", key);
    }
    *out = &r->base;
    return LS_OK;
}

ls_code ls_ranged_reader(ls_storage *s, const char *key, uint64_t size, const ls_ranged_opts *o,
                         ls_reader **out, ls_err *err) {
    *out = NULL;
    ls_ranged_group *g = NULL;
    ls_code rc = ls_ranged_group_new(o, &g, err);
    if (rc != LS_OK) return rc;
    rc = ls_ranged_open(g, s, key, size, out, err);
    if (rc != LS_OK) {
        ls_ranged_group_free(g);
        return rc;
    }
    ((rreader *)*out)->own_group = true;
    return LS_OK;
}

ls_code ls_ltx_open_ranged(ls_ranged_group *g, ls_storage *s, int level, uint64_t min_txid,
                           uint64_t max_txid, uint64_t size, ls_reader **out, ls_err *err) {
    char key[LS_LTX_KEY_MAX];
    *out = NULL;
    if (ls_ltx_key(s, level, min_txid, max_txid, key, sizeof(key)) < 0)
        return ls_err_set(err, LS_ERR_INVALID, "ltx file level %d %016llx-%016llx: invalid level",
                          level, (unsigned long long)min_txid, (unsigned long long)max_txid);
    return ls_ranged_open(g, s, key, size, out, err);
}
