/*
 * libFuzzer target for ltx/: the input is an LTX file. Exercises the
 * streaming decoder (pages + close-time verification), the zero-copy memory
 * decoder (must agree with it), the random-access
 * index reader and page fetches, the page-index varint decoder, and the
 * merger / compactor over two copies (the second one re-labelled as the
 * next TXID so the merge gets past the contiguity check).
 * Invariants checked: decoded pgnos ascend and stay within commit; an
 * accepted file has a trailer whose file checksum has bit 63; errors carry a
 * message; a file the streaming decoder accepts also opens for random
 * access and every page read that way equals the streamed page.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ltx/ltx.h"

typedef struct buf {
    const uint8_t *p;
    size_t len;
} buf;

static ls_code buf_pread(void *ctx, void *out, size_t len, uint64_t off, size_t *nread,
                         ls_err *err) {
    (void)err;
    buf *b = ctx;
    if (off >= b->len) {
        *nread = 0;
        return LS_OK;
    }
    size_t n = b->len - (size_t)off < len ? b->len - (size_t)off : len;
    memcpy(out, b->p + off, n);
    *nread = n;
    return LS_OK;
}

static void check_err(ls_code rc, const ls_err *e) {
    if (rc != LS_OK && e->msg[0] == '\0') abort();
}

/* Re-encodes a valid file's pages as TXID next with checksums disabled.
 * *must_work: the compaction of (input, copy) with NoChecksum output flags
 * is valid by the rules (input snapshot or NoChecksum; commit > 0). */
static void reencode(const uint8_t *data, size_t size, uint64_t next, uint8_t **out,
                     size_t *out_len, bool *must_work) {
    *out = NULL;
    ls_reader *r = ls_reader_mem(data, size);
    ltx_decoder *d = NULL;
    if (ltx_decoder_open(&d, r, NULL) != LS_OK) {
        ls_reader_close(r);
        return;
    }
    ltx_header h = *ltx_decoder_header(d);
    *must_work = h.commit > 0 && (ltx_header_is_snapshot(&h) || !ltx_header_has_checksum(&h));
    h.flags |= LTX_FLAG_NO_CHECKSUM;
    h.min_txid = h.max_txid = next;
    h.pre_apply_checksum = 0;
    ls_writer *w = ls_writer_mem();
    ltx_encoder *enc = NULL;
    uint8_t *page = malloc(h.page_size);
    ls_code rc = ltx_encoder_open(&enc, &h, w, NULL);
    while (rc == LS_OK) {
        uint32_t pgno;
        bool done;
        rc = ltx_decoder_next_page(d, &pgno, page, &done, NULL);
        if (rc != LS_OK || done) break;
        rc = ltx_encoder_write_page(enc, pgno, page, NULL);
    }
    if (rc == LS_OK) rc = ltx_encoder_close(enc, 0, NULL);
    if (rc == LS_OK) {
        const uint8_t *p = ls_writer_mem_data(w, out_len);
        *out = malloc(*out_len);
        memcpy(*out, p, *out_len);
    } else {
        *must_work = false;
    }
    free(page);
    ltx_encoder_free(enc);
    ls_writer_close(w);
    ltx_decoder_free(d);
    ls_reader_close(r);
}

#define MAX_KEEP 64 /* pages kept for the random-access comparison */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ls_err e;
    memset(&e, 0, sizeof(e));

    /* 1. streaming decode */
    uint32_t kept_pgno[MAX_KEEP];
    uint8_t *kept = NULL;
    size_t nkept = 0;
    bool accepted = false;
    uint32_t page_size = 0;
    ls_reader *r = ls_reader_mem(data, size);
    ltx_decoder *d = NULL;
    ls_code rc = ltx_decoder_open(&d, r, &e);
    check_err(rc, &e);
    if (rc == LS_OK) {
        const ltx_header *h = ltx_decoder_header(d);
        page_size = h->page_size;
        uint8_t *page = malloc(page_size);
        kept = malloc((size_t)MAX_KEEP * page_size);
        uint32_t prev = 0;
        for (;;) {
            uint32_t pgno;
            bool done;
            rc = ltx_decoder_next_page(d, &pgno, page, &done, &e);
            check_err(rc, &e);
            if (rc != LS_OK || done) break;
            if (pgno <= prev || pgno > h->commit) abort();
            prev = pgno;
            if (nkept < MAX_KEEP) {
                kept_pgno[nkept] = pgno;
                memcpy(kept + nkept * page_size, page, page_size);
                nkept++;
            }
        }
        if (rc == LS_OK) {
            ltx_trailer t;
            rc = ltx_decoder_close(d, &t, &e);
            check_err(rc, &e);
            if (rc == LS_OK) {
                if (!(t.file_checksum & LTX_CHECKSUM_FLAG)) abort();
                if (ltx_decoder_offset(d) != size) abort();
                accepted = true;
            }
        }
        free(page);
        ltx_decoder_free(d);
    }
    ls_reader_close(r);

    /* 1b. the zero-copy memory decoder agrees with the streaming one */
    {
        ltx_decoder *md = NULL;
        ls_err me;
        memset(&me, 0, sizeof(me));
        ls_code mrc = ltx_decoder_open_mem(&md, data, size, &me);
        check_err(mrc, &me);
        if (mrc == LS_OK) {
            uint8_t *page = malloc(ltx_decoder_header(md)->page_size);
            size_t i = 0;
            for (;;) {
                uint32_t pgno;
                bool done;
                mrc = ltx_decoder_next_page(md, &pgno, page, &done, &me);
                check_err(mrc, &me);
                if (mrc != LS_OK || done) break;
                if (i < nkept && (kept_pgno[i] != pgno ||
                                  memcmp(page, kept + i * page_size, page_size) != 0))
                    abort();
                i++;
            }
            if (mrc == LS_OK) mrc = ltx_decoder_close(md, NULL, &me);
            check_err(mrc, &me);
            free(page);
            ltx_decoder_free(md);
        }
        if ((mrc == LS_OK) != accepted) abort();
    }

    /* 2. random access */
    buf b = {data, size};
    ltx_file_index fi;
    rc = ltx_file_index_read(buf_pread, &b, size, &fi, &e);
    check_err(rc, &e);
    if (accepted && rc != LS_OK) abort();
    if (rc == LS_OK) {
        uint8_t *page = malloc(fi.header.page_size);
        for (size_t i = 0; i < fi.n && i < 2 * MAX_KEEP; i++) {
            ls_code prc = ltx_read_page(buf_pread, &b, &fi.header, &fi.entries[i], page, &e);
            check_err(prc, &e);
            if (accepted) {
                if (prc != LS_OK) abort();
                if (i < nkept && (kept_pgno[i] != fi.entries[i].pgno ||
                                  memcmp(page, kept + i * page_size, page_size) != 0))
                    abort();
            }
        }
        free(page);
        ltx_file_index_free(&fi);
    }
    free(kept);

    /* 3. page index decoder on the raw tail */
    if (size > 24) {
        ltx_page_index_entry *ents;
        size_t n;
        size_t len = size - 24 < 4096 ? size - 24 : 4096;
        rc = ltx_page_index_decode(data + size - 24 - len, len, &ents, &n, &e);
        check_err(rc, &e);
        if (rc == LS_OK) free(ents);
    }

    /* 4. merger + compactor over the input and a second file that claims
     * the next TXID with checksums disabled: a re-encoding of the input's
     * pages when the input is valid (then the compaction must succeed and
     * verify), else a header-patched copy (its own checksum then fails at
     * close, after the pages were merged). */
    if (size >= 100) {
        uint64_t max = 0;
        for (int i = 0; i < 8; i++) max = (max << 8) | data[24 + i];
        uint64_t next = max + 1;
        uint8_t *copy = NULL;
        size_t clen = 0;
        bool must_work = false;
        if (accepted && next != 0) reencode(data, size, next, &copy, &clen, &must_work);
        if (!copy) {
            copy = malloc(size);
            memcpy(copy, data, size);
            clen = size;
            for (int i = 0; i < 8; i++) {
                copy[16 + i] = (uint8_t)(next >> (56 - 8 * i));
                copy[24 + i] = (uint8_t)(next >> (56 - 8 * i));
                copy[40 + i] = 0;
            }
            copy[7] |= 0x02;
        }
        ls_reader *in[2] = {ls_reader_mem(data, size), ls_reader_mem(copy, clen)};
        ltx_merger *m;
        rc = ltx_merger_open(&m, in, 2, &e);
        check_err(rc, &e);
        if (must_work && rc != LS_OK) abort();
        if (rc == LS_OK) {
            uint32_t prev = 0;
            for (;;) {
                uint32_t pgno;
                const uint8_t *page;
                bool done;
                rc = ltx_merger_next(m, &pgno, &page, &done, &e);
                check_err(rc, &e);
                if (rc != LS_OK || done) break;
                if (pgno <= prev || pgno > ltx_merger_header(m)->commit) abort();
                prev = pgno;
            }
            if (rc == LS_OK) rc = ltx_merger_close(m, NULL, &e);
            check_err(rc, &e);
            if (must_work && rc != LS_OK) abort();
            ltx_merger_free(m);
        }
        ls_reader_close(in[0]);
        ls_reader_close(in[1]);

        in[0] = ls_reader_mem(data, size);
        in[1] = ls_reader_mem(copy, clen);
        ls_writer *w = ls_writer_mem();
        ltx_header oh;
        rc = ltx_compact(in, 2, LTX_FLAG_NO_CHECKSUM, w, &oh, &e);
        check_err(rc, &e);
        if (must_work && rc != LS_OK) abort();
        if (rc == LS_OK) {
            size_t olen;
            const uint8_t *out = ls_writer_mem_data(w, &olen);
            ls_reader *or = ls_reader_mem(out, olen);
            if (ltx_verify(or, NULL, NULL, &e) != LS_OK) abort();
            ls_reader_close(or);
        }
        ls_writer_close(w);
        ls_reader_close(in[0]);
        ls_reader_close(in[1]);
        free(copy);
    }
    return 0;
}
