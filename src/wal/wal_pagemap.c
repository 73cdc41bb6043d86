/* wal/wal_pagemap.c — committed-page map of a WAL (spec 5.2 "Page map"). */
#include <stdlib.h>
#include <string.h>

#include "wal/wal.h"
#include "wal/wal_internal.h"

typedef struct pending_vec {
    wal_page_entry *v;
    size_t n, cap;
} pending_vec;

static bool pending_push(pending_vec *p, uint32_t pgno, int64_t off) {
    if (p->n == p->cap) {
        size_t ncap = p->cap ? p->cap * 2 : 64;
        if (ncap > SIZE_MAX / sizeof(*p->v)) return false;
        wal_page_entry *nv = realloc(p->v, ncap * sizeof(*nv));
        if (!nv) return false;
        p->v = nv;
        p->cap = ncap;
    }
    p->v[p->n].pgno = pgno;
    p->v[p->n].offset = off;
    p->n++;
    return true;
}

static int cmp_entry(const void *a, const void *b) {
    uint32_t x = ((const wal_page_entry *)a)->pgno, y = ((const wal_page_entry *)b)->pgno;
    return (x > y) - (x < y);
}

ls_code wal_reader_page_map(wal_reader *r, int64_t limit_bytes, wal_page_map *out, ls_err *err) {
    memset(out, 0, sizeof(*out));
    const int64_t fs = wal_frame_size(wal_reader_page_size(r));
    const int64_t start = wal_reader_pos(r);
    wal_u64map m = {0};
    pending_vec pend = {0};
    uint32_t commit = 0;
    bool limited = false;
    ls_code rc = LS_OK;

    for (;;) {
        wal_frame_header fh;
        int64_t off = 0;
        bool eof = false;
        rc = wal_reader_next(r, &fh, NULL, &off, &eof, err);
        if (rc != LS_OK) goto fail;
        if (eof) break;
        if (!pending_push(&pend, fh.pgno, off)) goto nomem;
        if (fh.commit == 0) continue;

        /* Commit frame: the transaction's pages become visible; within it
         * later frames overwrite earlier ones (pending is in file order). */
        wal_reader_mark_commit_(r);
        for (size_t i = 0; i < pend.n; i++)
            if (!wal_u64map_put(&m, pend.v[i].pgno, pend.v[i].offset)) goto nomem;
        pend.n = 0;
        commit = fh.commit;
        if (limit_bytes > 0 && off + fs - start >= limit_bytes) {
            limited = true;
            break;
        }
    }
    free(pend.v);
    pend.v = NULL;

    /* Keep pages within the final database size (it may have shrunk). */
    size_t keep = 0;
    for (size_t i = 0; i < m.cap; i++)
        if (m.used[i] && m.keys[i] <= commit) keep++;
    out->limited = limited;
    out->start = start;
    if (keep == 0) {
        wal_u64map_free(&m);
        return LS_OK; /* empty: end = 0, commit = 0 */
    }
    wal_page_entry *e = malloc(keep * sizeof(*e));
    if (!e) goto nomem;
    size_t k = 0;
    int64_t maxoff = 0;
    for (size_t i = 0; i < m.cap; i++) {
        if (!m.used[i] || m.keys[i] > commit) continue;
        e[k].pgno = (uint32_t)m.keys[i];
        e[k].offset = m.vals[i];
        if (e[k].offset > maxoff) maxoff = e[k].offset;
        k++;
    }
    wal_u64map_free(&m);
    qsort(e, keep, sizeof(*e), cmp_entry);
    out->entries = e;
    out->n = keep;
    out->end = maxoff + fs;
    out->commit = commit;
    return LS_OK;

nomem:
    rc = ls_err_set(err, LS_ERR_NOMEM, "out of memory");
fail:
    free(pend.v);
    wal_u64map_free(&m);
    memset(out, 0, sizeof(*out));
    return rc;
}

bool wal_page_map_get(const wal_page_map *m, uint32_t pgno, int64_t *off) {
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->entries[mid].pgno < pgno) lo = mid + 1;
        else hi = mid;
    }
    if (lo < m->n && m->entries[lo].pgno == pgno) {
        if (off) *off = m->entries[lo].offset;
        return true;
    }
    return false;
}

void wal_page_map_free(wal_page_map *m) {
    if (!m) return;
    free(m->entries);
    memset(m, 0, sizeof(*m));
}
