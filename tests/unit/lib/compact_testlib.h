/*
 * tests/unit/lib/compact_testlib.h — a synthetic database history and LTX
 * helpers for the compaction / retention tests (test_compact*.c).
 *
 * A history is a sequence of transactions 1..ntx over a database of small
 * pages: TXID 1 writes every page (a snapshot), later ones change a few
 * random pages, grow the database (writing every new page) or shrink it.
 * From it the tests build LTX files of any TXID range (what a compaction of
 * those transactions must contain), put them into a replica, and compute the
 * expected database image at any TXID. Helpers fail the current test on any
 * error. Not thread-safe.
 */
#ifndef LS_COMPACT_TESTLIB_H
#define LS_COMPACT_TESTLIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ltx/ltx.h"
#include "storage/ltxfiles.h"
#include "storage/storage.h"

typedef struct ct_tx {
    uint32_t commit;   /* database size in pages after the transaction */
    uint32_t n;        /* pages written */
    uint32_t *pgnos;   /* ascending */
    uint8_t *pages;    /* n * page_size */
} ct_tx;

typedef struct ct_hist {
    uint32_t page_size;
    size_t ntx, cap;
    ct_tx *tx;         /* tx[t] for t in 1..ntx (tx[0] unused) */
    uint64_t rng;
    uint32_t max_commit;
} ct_hist;

void ct_hist_init(ct_hist *h, uint32_t page_size, uint64_t seed);
void ct_hist_free(ct_hist *h);
/* Appends the next transaction; returns its TXID. */
uint64_t ct_hist_add(ct_hist *h);
/* Database image at TXID t (malloc'd, *commit pages of page_size). */
uint8_t *ct_hist_image(const ct_hist *h, uint64_t t, uint32_t *commit);
/* LTX bytes (malloc'd) of the merge of transactions a..b with timestamp_ms. */
uint8_t *ct_hist_ltx(const ct_hist *h, uint64_t a, uint64_t b, int64_t timestamp_ms, size_t *len);
/* Stores ct_hist_ltx(a, b) as (level, a, b) with creation time timestamp_ms. */
void ct_put_range(ls_storage *st, const ct_hist *h, int level, uint64_t a, uint64_t b,
                  int64_t timestamp_ms);

/* Applies one stored LTX file to img (resized as needed, *cap bytes). */
void ct_apply_file(ls_storage *st, int level, uint64_t min, uint64_t max, uint8_t **img,
                   size_t *cap, uint32_t *commit, uint32_t page_size);
/* Decodes one stored LTX file and returns its header. */
void ct_read_header(ls_storage *st, int level, uint64_t min, uint64_t max, ltx_header *out);

/* Every file of a level (caller frees with ls_ltx_file_list_free). */
ls_ltx_file_list ct_list(ls_storage *st, int level);
size_t ct_count(ls_storage *st, int level);
bool ct_exists(ls_storage *st, int level, uint64_t min, uint64_t max);

/*
 * Restore of "latest", computed independently of engine/restore.c: start at
 * the newest level-9 snapshot, then repeatedly take, over all levels 0..8,
 * the file with min <= current + 1 and the largest max > current (ties:
 * smaller min, higher level). Applies it page by page and returns the image
 * (malloc'd) and its TXID. Fails the test if the plan does not start at TXID
 * 1. Returns NULL (txid 0) for an empty replica.
 */
uint8_t *ct_restore_latest(ls_storage *st, uint32_t page_size, uint64_t *txid, uint32_t *commit);
/* Greatest max TXID over levels 0..9. */
uint64_t ct_newest_txid(ls_storage *st);
/*
 * Asserts that a latest restore reaches the replica's newest TXID and yields
 * the history's image there, both with ct_restore_latest and with the
 * engine's ls_restore_run (plan + apply, no integrity check) into a file in
 * tmpdir.
 */
void ct_check_restore(ls_storage *st, const ct_hist *h, const char *tmpdir);

#endif
