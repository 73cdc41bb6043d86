/* Helpers for the compaction tests; contract in compact_testlib.h. */
#include "testlib.h"

#include "compact_testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/restore.h"
#include "ltx/ltx.h"
#include "util/fs.h"

#define CT_CHECK(expr)                                                   \
    do {                                                                 \
        ls_err e_;                                                       \
        memset(&e_, 0, sizeof(e_));                                      \
        ls_code rc_ = (expr);                                            \
        if (rc_ != LS_OK) fail_msg("%s: %s (%s)", #expr, e_.msg, ls_code_name(rc_)); \
    } while (0)

void ct_hist_init(ct_hist *h, uint32_t page_size, uint64_t seed) {
    memset(h, 0, sizeof(*h));
    h->page_size = page_size;
    h->rng = seed ? seed : 1;
}

void ct_hist_free(ct_hist *h) {
    for (size_t t = 1; t <= h->ntx; t++) {
        free(h->tx[t].pgnos);
        free(h->tx[t].pages);
    }
    free(h->tx);
    memset(h, 0, sizeof(*h));
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

uint64_t ct_hist_add(ct_hist *h) {
    if (h->ntx + 2 > h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        ct_tx *p = realloc(h->tx, cap * sizeof(*p));
        assert_non_null(p);
        h->tx = p;
        h->cap = cap;
    }
    uint64_t t = ++h->ntx;
    ct_tx *x = &h->tx[t];
    memset(x, 0, sizeof(*x));
    uint32_t prev = t == 1 ? 0 : h->tx[t - 1].commit;
    uint32_t want[64];
    uint32_t n = 0;
    if (t == 1) {
        x->commit = 4 + (uint32_t)(lst_rand(&h->rng) % 8);
        for (uint32_t p = 1; p <= x->commit; p++) want[n++] = p;
    } else {
        uint64_t r = lst_rand(&h->rng) % 10;
        if (r == 0 && prev > 4) {
            x->commit = prev - 1 - (uint32_t)(lst_rand(&h->rng) % 2); /* shrink */
        } else if (r < 3 && prev < 40) {
            x->commit = prev + 1 + (uint32_t)(lst_rand(&h->rng) % 3); /* grow */
            for (uint32_t p = prev + 1; p <= x->commit; p++) want[n++] = p;
        } else {
            x->commit = prev;
        }
        uint32_t k = 1 + (uint32_t)(lst_rand(&h->rng) % 3);
        for (uint32_t i = 0; i < k; i++) {
            uint32_t p = 1 + (uint32_t)(lst_rand(&h->rng) % x->commit);
            bool dup = false;
            for (uint32_t j = 0; j < n; j++) dup |= want[j] == p;
            if (!dup) want[n++] = p;
        }
    }
    qsort(want, n, sizeof(want[0]), cmp_u32);
    x->n = n;
    x->pgnos = malloc(n * sizeof(uint32_t));
    x->pages = malloc((size_t)n * h->page_size);
    assert_non_null(x->pgnos);
    assert_non_null(x->pages);
    memcpy(x->pgnos, want, n * sizeof(uint32_t));
    lst_rand_bytes(&h->rng, x->pages, (size_t)n * h->page_size);
    if (x->commit > h->max_commit) h->max_commit = x->commit;
    return t;
}

uint8_t *ct_hist_image(const ct_hist *h, uint64_t t, uint32_t *commit) {
    assert_true(t >= 1 && t <= h->ntx);
    size_t ps = h->page_size;
    uint8_t *img = calloc(h->max_commit ? h->max_commit : 1, ps);
    assert_non_null(img);
    for (uint64_t i = 1; i <= t; i++) {
        const ct_tx *x = &h->tx[i];
        for (uint32_t j = 0; j < x->n; j++)
            memcpy(img + (size_t)(x->pgnos[j] - 1) * ps, x->pages + (size_t)j * ps, ps);
    }
    *commit = h->tx[t].commit;
    return img;
}

uint8_t *ct_hist_ltx(const ct_hist *h, uint64_t a, uint64_t b, int64_t timestamp_ms, size_t *len) {
    assert_true(a >= 1 && a <= b && b <= h->ntx);
    uint32_t commit = h->tx[b].commit;
    ltx_header hdr;
    memset(&hdr, 0, sizeof(hdr));
    hdr.flags = LTX_FLAG_NO_CHECKSUM;
    hdr.page_size = h->page_size;
    hdr.commit = commit;
    hdr.min_txid = a;
    hdr.max_txid = b;
    hdr.timestamp = timestamp_ms;
    ls_writer *w = ls_writer_mem();
    assert_non_null(w);
    ltx_encoder *enc = NULL;
    CT_CHECK(ltx_encoder_open(&enc, &hdr, w, &e_));
    /* the newest write of each page in a..b, pages above the final commit
     * dropped (what the compactor keeps) */
    for (uint32_t p = 1; p <= commit; p++) {
        const uint8_t *data = NULL;
        for (uint64_t t = b; t >= a && !data; t--) {
            const ct_tx *x = &h->tx[t];
            for (uint32_t j = 0; j < x->n; j++)
                if (x->pgnos[j] == p) {
                    data = x->pages + (size_t)j * h->page_size;
                    break;
                }
        }
        if (data) CT_CHECK(ltx_encoder_write_page(enc, p, data, &e_));
    }
    CT_CHECK(ltx_encoder_close(enc, 0, &e_));
    ltx_encoder_free(enc);
    size_t n = 0;
    const uint8_t *d = ls_writer_mem_data(w, &n);
    uint8_t *out = malloc(n);
    assert_non_null(out);
    memcpy(out, d, n);
    ls_writer_close(w);
    *len = n;
    return out;
}

void ct_put_range(ls_storage *st, const ct_hist *h, int level, uint64_t a, uint64_t b,
                  int64_t timestamp_ms) {
    size_t n = 0;
    uint8_t *buf = ct_hist_ltx(h, a, b, timestamp_ms, &n);
    ls_reader *r = ls_reader_mem(buf, n);
    assert_non_null(r);
    CT_CHECK(ls_ltx_write(st, level, a, b, r, timestamp_ms, &e_));
    ls_reader_close(r);
    free(buf);
}

void ct_apply_file(ls_storage *st, int level, uint64_t min, uint64_t max, uint8_t **img,
                   size_t *cap, uint32_t *commit, uint32_t page_size) {
    ls_reader *r = NULL;
    CT_CHECK(ls_ltx_open(st, level, min, max, 0, LS_STORAGE_TO_END, &r, &e_));
    ltx_decoder *d = NULL;
    CT_CHECK(ltx_decoder_open(&d, r, &e_));
    const ltx_header *hdr = ltx_decoder_header(d);
    assert_int_equal(hdr->page_size, page_size);
    assert_int_equal(hdr->min_txid, min);
    assert_int_equal(hdr->max_txid, max);
    size_t need = (size_t)hdr->commit * page_size;
    if (need > *cap) {
        uint8_t *p = realloc(*img, need);
        assert_non_null(p);
        memset(p + *cap, 0, need - *cap);
        *img = p;
        *cap = need;
    }
    uint8_t *page = malloc(page_size);
    assert_non_null(page);
    for (;;) {
        uint32_t pgno = 0;
        bool done = false;
        CT_CHECK(ltx_decoder_next_page(d, &pgno, page, &done, &e_));
        if (done) break;
        assert_true(pgno >= 1 && pgno <= hdr->commit);
        memcpy(*img + (size_t)(pgno - 1) * page_size, page, page_size);
    }
    *commit = hdr->commit;
    CT_CHECK(ltx_decoder_close(d, NULL, &e_));
    ltx_decoder_free(d);
    ls_reader_close(r);
    free(page);
}

void ct_read_header(ls_storage *st, int level, uint64_t min, uint64_t max, ltx_header *out) {
    ls_reader *r = NULL;
    CT_CHECK(ls_ltx_open(st, level, min, max, 0, LS_STORAGE_TO_END, &r, &e_));
    CT_CHECK(ltx_verify(r, out, NULL, &e_));
    ls_reader_close(r);
}

ls_ltx_file_list ct_list(ls_storage *st, int level) {
    ls_ltx_file_list l;
    memset(&l, 0, sizeof(l));
    CT_CHECK(ls_ltx_list(st, level, 0, false, &l, &e_));
    return l;
}

size_t ct_count(ls_storage *st, int level) {
    ls_ltx_file_list l = ct_list(st, level);
    size_t n = l.n;
    ls_ltx_file_list_free(&l);
    return n;
}

bool ct_exists(ls_storage *st, int level, uint64_t min, uint64_t max) {
    ls_ltx_file_list l = ct_list(st, level);
    bool found = false;
    for (size_t i = 0; i < l.n; i++)
        if (l.items[i].min_txid == min && l.items[i].max_txid == max) found = true;
    ls_ltx_file_list_free(&l);
    return found;
}

uint64_t ct_newest_txid(ls_storage *st) {
    uint64_t m = 0;
    for (int level = 0; level <= 9; level++) {
        ls_ltx_file_list l = ct_list(st, level);
        for (size_t i = 0; i < l.n; i++)
            if (l.items[i].max_txid > m) m = l.items[i].max_txid;
        ls_ltx_file_list_free(&l);
    }
    return m;
}

uint8_t *ct_restore_latest(ls_storage *st, uint32_t page_size, uint64_t *txid, uint32_t *commit) {
    ls_ltx_file_list lv[10];
    for (int level = 0; level <= 9; level++) lv[level] = ct_list(st, level);
    uint8_t *img = NULL;
    size_t cap = 0;
    uint64_t current = 0;
    *commit = 0;
    bool first = true;
    if (lv[9].n) {
        const ls_ltx_file *s = &lv[9].items[lv[9].n - 1];
        assert_int_equal(s->min_txid, 1);
        ct_apply_file(st, 9, s->min_txid, s->max_txid, &img, &cap, commit, page_size);
        current = s->max_txid;
        first = false;
    }
    for (;;) {
        const ls_ltx_file *best = NULL;
        int best_level = -1;
        for (int level = 8; level >= 0; level--) {
            for (size_t i = 0; i < lv[level].n; i++) {
                const ls_ltx_file *f = &lv[level].items[i];
                if (f->min_txid > current + 1 || f->max_txid <= current) continue;
                if (!best || f->max_txid > best->max_txid ||
                    (f->max_txid == best->max_txid && f->min_txid < best->min_txid)) {
                    best = f;
                    best_level = level;
                }
            }
        }
        if (!best) break;
        if (first) {
            if (best->min_txid != 1)
                fail_msg("latest restore would start at TXID %llu (level %d), not 1",
                         (unsigned long long)best->min_txid, best_level);
            first = false;
        }
        ct_apply_file(st, best_level, best->min_txid, best->max_txid, &img, &cap, commit,
                      page_size);
        current = best->max_txid;
    }
    for (int level = 0; level <= 9; level++) ls_ltx_file_list_free(&lv[level]);
    *txid = current;
    return img;
}

void ct_check_restore(ls_storage *st, const ct_hist *h, const char *tmpdir) {
    uint64_t newest = ct_newest_txid(st);
    assert_true(newest >= 1);
    uint32_t want_commit = 0;
    uint8_t *want = ct_hist_image(h, newest, &want_commit);
    size_t want_len = (size_t)want_commit * h->page_size;

    /* 1. independent planner */
    uint64_t got_txid = 0;
    uint32_t got_commit = 0;
    uint8_t *got = ct_restore_latest(st, h->page_size, &got_txid, &got_commit);
    if (got_txid != newest)
        fail_msg("latest restore reaches TXID %llu, replica's newest is %llu",
                 (unsigned long long)got_txid, (unsigned long long)newest);
    assert_int_equal(got_commit, want_commit);
    assert_memory_equal(got, want, want_len);
    free(got);

    /* 2. the engine's restore */
    static unsigned seq;
    char *out = ls_strfmt("%s/restored-%u.db", tmpdir, ++seq);
    assert_non_null(out);
    ls_restore_opts o;
    memset(&o, 0, sizeof(o));
    o.output = out;
    o.integrity = LS_INTEGRITY_NONE;
    o.parallelism = 2;
    ls_restore_result res;
    memset(&res, 0, sizeof(res));
    CT_CHECK(ls_restore_run(st, &o, &res, &e_));
    assert_int_equal(res.txid, newest);
    size_t len = 0;
    unsigned char *file = lst_read_file(out, &len);
    assert_int_equal(len, want_len);
    assert_memory_equal(file, want, want_len);
    free(file);
    ls_restore_result_free(&res);
    unlink(out);
    free(out);
    free(want);
}
