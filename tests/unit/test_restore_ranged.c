/*
 * tests/unit/test_restore_ranged.c — restore of LTX files larger than one
 * range (storage/ranged.h): a replica on the file backend behind the
 * fault-injecting wrapper (not "file", so large files are read in ranges of
 * 64 KiB here), restored in both fetch modes with several parallelisms,
 * with broken transfers (identical output) and with a range that keeps
 * failing (a clear error, nothing left behind).
 */
#include "testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/restore.h"
#include "ltx/ltx.h"
#include "storage/faulty.h"
#include "storage/ltxfiles.h"
#include "storage/ranged.h"
#include "storage/storage.h"
#include "util/fs.h"
#include "util/log.h"

#define PS 4096u
#define NPAGES 400u /* ~1.6 MB of incompressible pages: ~25 ranges */

typedef struct {
    char *dir, *root, *out;
    ls_storage *file, *st; /* st: faulty wrapper around file */
    uint8_t *expect;       /* NPAGES x PS */
} fx;

static void page_fill(uint8_t *page, uint32_t pgno, uint32_t version) {
    uint64_t s = ((uint64_t)pgno << 20) ^ version ^ 0x9E3779B97F4A7C15ULL;
    lst_rand_bytes(&s, page, PS);
    if (pgno == 1) {
        memcpy(page, "SQLite format 3", 16);
        page[16] = (uint8_t)(PS >> 8);
        page[17] = (uint8_t)(PS & 0xff);
    }
}

/* Stores an LTX file with pages [first, first+n) at version v and applies
 * them to the expected image. */
static void put_ltx(fx *f, int level, uint64_t mn, uint64_t mx, uint32_t first, uint32_t n,
                    uint32_t v) {
    ltx_header h = {.flags = LTX_FLAG_NO_CHECKSUM, .page_size = PS, .commit = NPAGES,
                    .min_txid = mn, .max_txid = mx, .timestamp = 1000 + (int64_t)mx};
    ls_writer *w = ls_writer_mem();
    ltx_encoder *e = NULL;
    ls_err err;
    if (ltx_encoder_open(&e, &h, w, &err) != LS_OK) fail_msg("%s", err.msg);
    for (uint32_t pg = first; pg < first + n; pg++) {
        uint8_t *page = f->expect + (size_t)(pg - 1) * PS;
        page_fill(page, pg, v);
        if (ltx_encoder_write_page(e, pg, page, &err) != LS_OK) fail_msg("%s", err.msg);
    }
    if (ltx_encoder_close(e, 0, &err) != LS_OK) fail_msg("%s", err.msg);
    size_t len;
    const uint8_t *data = ls_writer_mem_data(w, &len);
    ls_reader *r = ls_reader_mem(data, len);
    if (ls_ltx_write(f->file, level, mn, mx, r, h.timestamp, &err) != LS_OK) fail_msg("%s", err.msg);
    ls_reader_close(r);
    ltx_encoder_free(e);
    ls_writer_close(w);
}

static int setup(void **state) {
    fx *f = calloc(1, sizeof(*f));
    f->dir = lst_tmpdir();
    f->root = ls_path_join(f->dir, "replica");
    f->out = ls_path_join(f->dir, "out/restored.db");
    f->expect = calloc(NPAGES, PS);
    ls_err err;
    if (ls_storage_file_open(f->root, &f->file, &err) != LS_OK) fail_msg("%s", err.msg);
    if (ls_storage_faulty_wrap(f->file, false, &f->st, &err) != LS_OK) fail_msg("%s", err.msg);
    /* a snapshot of every page, a large increment (two ranged readers in
     * one merge) and a small one (downloaded or streamed as before) */
    put_ltx(f, 0, 1, 1, 1, NPAGES, 1);
    put_ltx(f, 0, 2, 2, 50, 200, 2);
    put_ltx(f, 0, 3, 3, 7, 3, 3);
    setenv("LITESTREAM_RESTORE_RANGE_SIZE", "65536", 1);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fx *f = *state;
    unsetenv("LITESTREAM_RESTORE_RANGE_SIZE");
    ls_storage_close(f->st);
    ls_storage_close(f->file);
    free(f->root);
    free(f->out);
    free(f->expect);
    lst_rmtree(f->dir);
    free(f);
    return 0;
}

static ls_code restore(fx *f, ls_restore_fetch fetch, int par, ls_restore_result *res, ls_err *err) {
    ls_restore_opts o = {.output = f->out, .integrity = LS_INTEGRITY_NONE, .parallelism = par,
                         .fetch = fetch};
    ls_err_clear(err);
    return ls_restore_run(f->st, &o, res, err);
}

static void check_output(fx *f) {
    size_t len;
    unsigned char *d = lst_read_file(f->out, &len);
    assert_int_equal(len, (size_t)NPAGES * PS);
    for (uint32_t pg = 1; pg <= NPAGES; pg++)
        if (memcmp(d + (size_t)(pg - 1) * PS, f->expect + (size_t)(pg - 1) * PS, PS) != 0)
            fail_msg("page %u differs", pg);
    free(d);
}

static void assert_clean(fx *f) {
    char *tmp = ls_strfmt("%s.tmp", f->out), *work = ls_strfmt("%s.tmp-work", f->out);
    assert_false(ls_path_exists(f->out));
    assert_false(ls_path_exists(tmp));
    assert_false(ls_path_exists(work));
    free(tmp);
    free(work);
}

static void test_ranged_restore_modes(void **state) {
    fx *f = *state;
    const int pars[] = {2, 3, 8};
    for (int mode = 0; mode < 2; mode++) {
        for (size_t p = 0; p < 3; p++) {
            uint64_t gets0 = ls_faulty_calls(f->st, LS_FAULT_GET);
            ls_restore_result res;
            ls_err err;
            ls_code rc = restore(f, mode ? LS_RESTORE_FETCH_DOWNLOAD : LS_RESTORE_FETCH_STREAM,
                                 pars[p], &res, &err);
            if (rc != LS_OK) fail_msg("mode %d par %d: %s", mode, pars[p], err.msg);
            check_output(f);
            assert_int_equal(res.txid, 3);
            /* the two large files were read in ranges: many gets */
            assert_true(ls_faulty_calls(f->st, LS_FAULT_GET) - gets0 > 20);
            ls_restore_result_free(&res);
            unlink(f->out);
        }
    }
}

/* Broken and truncated transfers of ranges are resumed: same output. */
static void test_ranged_restore_faults(void **state) {
    fx *f = *state;
    for (int mode = 0; mode < 2; mode++) {
        /* the next 8 readers break (or end early) after 20000 bytes; each
         * retry waits 250 ms, so not every one */
        ls_faulty_fail_reads(f->st, 20000, mode ? LS_OK : LS_ERR_NETWORK, 8);
        ls_restore_result res;
        ls_err err;
        ls_code rc = restore(f, mode ? LS_RESTORE_FETCH_DOWNLOAD : LS_RESTORE_FETCH_STREAM, 4,
                             &res, &err);
        ls_faulty_clear(f->st);
        if (rc != LS_OK) fail_msg("mode %d: %s", mode, err.msg);
        check_output(f);
        ls_restore_result_free(&res);
        unlink(f->out);
    }
    ls_storage_stats st;
    ls_storage_stats_get(f->st, &st);
    assert_true(st.retries >= 8);
}

/* A range that cannot be read: the restore fails naming the file and the
 * range, and leaves nothing behind. */
static void test_ranged_restore_fails_cleanly(void **state) {
    fx *f = *state;
    for (int mode = 0; mode < 2; mode++) {
        ls_faulty_set_key_filter(f->st, "0000000000000001-0000000000000001");
        ls_faulty_fail_nth(f->st, LS_FAULT_GET, 5, LS_ERR_NETWORK);
        ls_faulty_fail_nth(f->st, LS_FAULT_GET, 6, LS_ERR_NETWORK);
        ls_faulty_fail_nth(f->st, LS_FAULT_GET, 7, LS_ERR_NETWORK);
        ls_faulty_fail_nth(f->st, LS_FAULT_GET, 8, LS_ERR_NETWORK);
        ls_faulty_fail_nth(f->st, LS_FAULT_GET, 9, LS_ERR_NETWORK);
        ls_faulty_fail_nth(f->st, LS_FAULT_GET, 10, LS_ERR_NETWORK);
        ls_faulty_fail_nth(f->st, LS_FAULT_GET, 11, LS_ERR_NETWORK);
        ls_faulty_fail_nth(f->st, LS_FAULT_GET, 12, LS_ERR_NETWORK);
        ls_restore_result res;
        ls_err err;
        /* parallelism 2: the gets of the snapshot are its ranges, in order
         * give or take one, so every get from the 5th on fails for a while:
         * some range gets no successful attempt (1 + 3 retries) */
        ls_code rc = restore(f, mode ? LS_RESTORE_FETCH_DOWNLOAD : LS_RESTORE_FETCH_STREAM, 2,
                             &res, &err);
        ls_faulty_clear(f->st);
        ls_faulty_set_key_filter(f->st, NULL);
        assert_int_equal(rc, LS_ERR_NETWORK);
        print_message("expected error: %s\n", err.msg);
        if (!strstr(err.msg, "0000000000000001-0000000000000001.ltx") || !strstr(err.msg, "bytes "))
            fail_msg("mode %d: error does not name the file and range: %s", mode, err.msg);
        assert_clean(f);
    }
    /* and it works again afterwards */
    ls_restore_result res;
    ls_err err;
    ls_code rc = restore(f, LS_RESTORE_FETCH_AUTO, 8, &res, &err);
    if (rc != LS_OK) fail_msg("%s", err.msg);
    check_output(f);
    ls_restore_result_free(&res);
}

int main(void) {
    ls_log_set_level(LS_LOG_ERROR); /* retries log warnings */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ranged_restore_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ranged_restore_faults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ranged_restore_fails_cleanly, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
