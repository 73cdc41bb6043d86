/*
 * ltx/merger.c — k-way merge of LTX files by page number and the compactor
 * built on it (spec 2). The merger is also what restore uses to apply a
 * chain of files without writing an intermediate LTX file.
 *
 * Each input keeps one decoded "next page" buffer; the smallest buffered
 * pgno is emitted from the newest input that has it, the older copies are
 * discarded, and pages above the final commit are dropped. Memory: one page
 * buffer and one decoder per input.
 */
#include <inttypes.h>
#include <stdlib.h>

#include "ltx/ltx_internal.h"

#define LTX_MERGE_READ_BUDGET (1u << 20)

struct ltx_merger {
    size_t n;
    ltx_decoder **dec;
    uint8_t **page;   /* buffered page per input */
    uint32_t *pgno;   /* buffered pgno per input, 0 = empty */
    bool *exhausted;  /* input reached its page block terminator */
    ltx_header h;     /* merged header */
    bool done, closed, failed;
    ls_code failed_code;
    uint32_t prev_out; /* last emitted pgno */
    uint32_t lock_pgno;
    size_t base;       /* first merged input (> 0: the page size changed there) */
};

static ls_code merger_fail(ltx_merger *m, ls_code rc) {
    m->failed = true;
    m->failed_code = rc;
    return rc;
}

void ltx_merger_free(ltx_merger *m) {
    if (!m) return;
    for (size_t i = 0; i < m->n; i++) {
        if (m->dec) ltx_decoder_free(m->dec[i]);
        if (m->page) free(m->page[i]);
    }
    free(m->dec);
    free(m->page);
    free(m->pgno);
    free(m->exhausted);
    free(m);
}

ls_code ltx_merger_open(ltx_merger **out, ls_reader **inputs, size_t n, ls_err *err) {
    *out = NULL;
    if (n == 0) return ls_err_set(err, LS_ERR_INVALID, "at least one input reader required");
    ltx_merger *m = calloc(1, sizeof(*m));
    if (!m) return ls_err_set(err, LS_ERR_NOMEM, "LTX merger: out of memory");
    m->n = n;
    m->dec = calloc(n, sizeof(*m->dec));
    m->page = calloc(n, sizeof(*m->page));
    m->pgno = calloc(n, sizeof(*m->pgno));
    m->exhausted = calloc(n, sizeof(*m->exhausted));
    if (!m->dec || !m->page || !m->pgno || !m->exhausted) {
        ltx_merger_free(m);
        return ls_err_set(err, LS_ERR_NOMEM, "LTX merger: out of memory");
    }
    ls_code rc = LS_OK;
    /* All inputs are open at once (a level-1 compaction at maximum write
     * rate merges dozens of L0 files): their read buffers share a budget of
     * LTX_MERGE_READ_BUDGET, 64 KiB each for up to 16 inputs, less for more
     * (at least two page frames each, see ltx_decoder_open_buf). */
    size_t read_buf = LTX_MERGE_READ_BUDGET / n;
    if (read_buf > LTX_DECODER_READ_BUF) read_buf = LTX_DECODER_READ_BUF;
    for (size_t i = 0; i < n; i++) {
        rc = ltx_decoder_open_buf(&m->dec[i], inputs[i], read_buf, err);
        if (rc != LS_OK) {
            ls_err_wrap(err, "input %zu of %zu", i + 1, n);
            ltx_merger_free(m);
            return rc;
        }
        const ltx_header *cur = ltx_decoder_header(m->dec[i]);
        if (i > 0) {
            const ltx_header *prev = ltx_decoder_header(m->dec[i - 1]);
            /* A page-size change (journal_mode=DELETE; page_size=N; VACUUM)
             * is replicated as a full snapshot of the new layout: it
             * supersedes every older input, which is not merged at all. The
             * merged pages must then cover the whole database (checked like
             * a snapshot in ltx_merger_next). */
            if (cur->page_size != prev->page_size) m->base = i;
            if (!(cur->min_txid <= prev->max_txid + 1 && cur->max_txid > prev->max_txid)) {
                rc = ls_err_set(err, LS_ERR_FORMAT,
                                "non-contiguous transaction ids in input files: (%" PRIu64
                                ",%" PRIu64 ") -> (%" PRIu64 ",%" PRIu64 ")",
                                prev->min_txid, prev->max_txid, cur->min_txid, cur->max_txid);
            }
            if (rc != LS_OK) {
                ltx_merger_free(m);
                return rc;
            }
        }
        m->page[i] = malloc(cur->page_size);
        if (!m->page[i]) {
            ltx_merger_free(m);
            return ls_err_set(err, LS_ERR_NOMEM, "LTX merger: out of memory");
        }
    }
    const ltx_header *first = ltx_decoder_header(m->dec[0]);
    const ltx_header *last = ltx_decoder_header(m->dec[n - 1]);
    memset(&m->h, 0, sizeof(m->h));
    for (size_t i = 0; i < n; i++)
        if (!ltx_header_has_checksum(ltx_decoder_header(m->dec[i])))
            m->h.flags = LTX_FLAG_NO_CHECKSUM;
    /* base is the last page-size change, so every later input shares its size */
    const ltx_header *base = ltx_decoder_header(m->dec[m->base]);
    m->h.page_size = base->page_size;
    m->h.commit = last->commit;
    m->h.min_txid = first->min_txid;
    m->h.max_txid = last->max_txid;
    m->h.timestamp = last->timestamp;
    m->h.pre_apply_checksum = first->pre_apply_checksum;
    m->lock_pgno = ltx_lock_pgno(base->page_size);
    for (size_t i = 0; i < m->base; i++) m->exhausted[i] = true; /* superseded */
    *out = m;
    return LS_OK;
}

const ltx_header *ltx_merger_header(const ltx_merger *m) { return &m->h; }

static ls_code merger_usable(ltx_merger *m, ls_err *err) {
    if (m->failed) return ls_err_set(err, m->failed_code, "LTX merger failed earlier");
    if (m->closed) return ls_err_set(err, LS_ERR_INVALID, "LTX merger already closed");
    return LS_OK;
}

ls_code ltx_merger_next(ltx_merger *m, uint32_t *pgno, const uint8_t **page, bool *done,
                        ls_err *err) {
    *done = false;
    ls_code rc = merger_usable(m, err);
    if (rc != LS_OK) return rc;
    if (m->done) {
        *done = true;
        return LS_OK;
    }
    bool snapshot = ltx_header_is_snapshot(&m->h) || m->base > 0;
    for (;;) {
        /* refill empty buffers */
        uint32_t min = 0;
        for (size_t i = 0; i < m->n; i++) {
            if (m->pgno[i] == 0 && !m->exhausted[i]) {
                bool d;
                uint32_t p = 0;
                rc = ltx_decoder_next_page(m->dec[i], &p, m->page[i], &d, err);
                if (rc != LS_OK) {
                    ls_err_wrap(err, "input %zu of %zu", i + 1, m->n);
                    return merger_fail(m, rc);
                }
                if (d) m->exhausted[i] = true;
                else m->pgno[i] = p;
            }
            if (m->pgno[i] && (min == 0 || m->pgno[i] < min)) min = m->pgno[i];
        }
        if (min == 0) break;
        size_t winner = m->n;
        for (size_t i = m->n; i-- > 0;) {
            if (m->pgno[i] != min) continue;
            if (winner == m->n) winner = i;
            m->pgno[i] = 0; /* the winner's page stays in its buffer until the next call */
        }
        if (min > m->h.commit) continue; /* database shrank: drop */
        if (snapshot) {
            uint32_t want = m->prev_out + 1;
            if (want == m->lock_pgno) want++;
            if (min != want) {
                if (m->base > 0)
                    ls_err_set(err, LS_ERR_FORMAT,
                               "page size changes at input %zu, which is not a full snapshot "
                               "(missing page %u, commit %u)",
                               m->base + 1, want, m->h.commit);
                else
                    ls_err_set(err, LS_ERR_FORMAT,
                               "merged snapshot is missing page %u (next page is %u, commit %u)",
                               want, min, m->h.commit);
                return merger_fail(m, LS_ERR_FORMAT);
            }
        }
        m->prev_out = min;
        *pgno = min;
        *page = m->page[winner];
        return LS_OK;
    }
    if (snapshot && m->h.commit > 0) {
        uint32_t last = m->h.commit == m->lock_pgno ? m->h.commit - 1 : m->h.commit;
        if (m->prev_out != last) {
            ls_err_set(err, LS_ERR_FORMAT, "merged snapshot is missing pages %u..%u (commit %u)",
                       m->prev_out + 1, m->h.commit, m->h.commit);
            return merger_fail(m, LS_ERR_FORMAT);
        }
    }
    m->done = true;
    *done = true;
    return LS_OK;
}

ls_code ltx_merger_close(ltx_merger *m, uint64_t *post_apply_of_last, ls_err *err) {
    ls_code rc = merger_usable(m, err);
    if (rc != LS_OK) return rc;
    ltx_trailer t = {0, 0};
    for (size_t i = m->base; i < m->n; i++) {
        rc = ltx_decoder_close(m->dec[i], &t, err);
        if (rc != LS_OK) {
            ls_err_wrap(err, "input %zu of %zu", i + 1, m->n);
            return merger_fail(m, rc);
        }
    }
    m->closed = true;
    if (post_apply_of_last) *post_apply_of_last = t.post_apply_checksum;
    return LS_OK;
}

ls_code ltx_compact(ls_reader **inputs, size_t n, uint32_t out_flags, ls_writer *out,
                    ltx_header *out_header, ls_err *err) {
    ltx_merger *m;
    ls_code rc = ltx_merger_open(&m, inputs, n, err);
    if (rc != LS_OK) return ls_err_wrap(err, "compact");
    ltx_header h = m->h;
    h.flags = out_flags;
    ltx_encoder *e;
    rc = ltx_encoder_open(&e, &h, out, err);
    if (rc != LS_OK) {
        ltx_merger_free(m);
        return ls_err_wrap(err, "compact");
    }
    for (;;) {
        uint32_t pgno;
        const uint8_t *page;
        bool done;
        rc = ltx_merger_next(m, &pgno, &page, &done, err);
        if (rc != LS_OK || done) break;
        rc = ltx_encoder_write_page(e, pgno, page, err);
        if (rc != LS_OK) break;
    }
    uint64_t post = 0;
    if (rc == LS_OK) rc = ltx_merger_close(m, &post, err);
    if (rc == LS_OK) rc = ltx_encoder_close(e, post, err);
    if (rc == LS_OK && out_header) *out_header = h;
    ltx_encoder_free(e);
    ltx_merger_free(m);
    if (rc != LS_OK) return ls_err_wrap(err, "compact");
    return LS_OK;
}
