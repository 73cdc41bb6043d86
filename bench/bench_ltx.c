/*
 * bench_ltx — throughput of the LTX codec against raw liblz4.
 *
 * Usage: bench_ltx [MiB (default 256)] [repetitions (default 5)]
 *
 * Builds MiB of 4 KiB pages, half SQLite-like table pages (compressible
 * text rows) and half random bytes, interleaved, and measures in memory
 * (best of the repetitions):
 *   encode  ltx_encoder_* into a preallocated in-memory writer;
 *   decode  ltx_decoder_open_mem (zero-copy over the bytes, as for an
 *           mmap'd or downloaded file) and ltx_decoder_open over an
 *           ls_reader_mem (pull stream: one extra copy into the decoder's
 *           buffer); page buffer reused, full close-time verification;
 *   crc     ltx_crc64 over all pages (and the portable table path);
 *   raw     LZ4_compress_default / LZ4_decompress_safe on the same pages,
 *           the ceiling the codec is compared with.
 * MB = 10^6 bytes of uncompressed page data per second. Each repetition
 * times raw and codec back to back; the speeds printed are the best of the
 * repetitions and the ratios the median of the per-repetition ratios (so a
 * busy machine skews both sides alike).
 */
#include <lz4.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ltx/ltx.h"
#include "ltx/ltx_internal.h"

#define PAGE 4096u

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static uint64_t rnd(void) {
    uint64_t x = rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof(double), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* A table b-tree leaf page: 8-byte header, cell pointers, cells at the end
 * holding "id|name|email|city|note" text rows. */
static void text_page(uint8_t *p, uint32_t pgno) {
    static const char *first[] = {"alice", "bob", "carol", "dave", "erin", "frank", "grace",
                                  "heidi", "ivan", "judy", "mallory", "oscar"};
    static const char *city[] = {"Berlin", "Paris", "Lisbon", "Oslo", "Madrid", "Rome",
                                 "Vienna", "Prague", "Dublin", "Warsaw"};
    static const char *note[] = {"pending review", "shipped", "on hold", "paid in full",
                                 "refund requested", "awaiting stock", "delivered"};
    memset(p, 0, PAGE);
    p[0] = 0x0D;
    size_t end = PAGE, ncell = 0;
    char row[200];
    for (;;) {
        uint32_t id = pgno * 40 + (uint32_t)ncell;
        int n = snprintf(row, sizeof(row), "%u|%s %s|%s.%u@example.com|%s|%s|%llu", id,
                         first[rnd() % 12], first[rnd() % 12], first[rnd() % 12],
                         (unsigned)(rnd() % 1000), city[rnd() % 10], note[rnd() % 7],
                         (unsigned long long)(rnd() % 100000000));
        size_t need = (size_t)n + 4;
        if (8 + 2 * (ncell + 1) + need > end) break;
        end -= need;
        p[end] = (uint8_t)n;
        p[end + 1] = (uint8_t)(id >> 8);
        p[end + 2] = (uint8_t)id;
        p[end + 3] = 0x17;
        memcpy(p + end + 4, row, (size_t)n);
        ltx_put_be16(p + 8 + 2 * ncell, (uint16_t)end);
        ncell++;
    }
    ltx_put_be16(p + 3, (uint16_t)ncell);
    ltx_put_be16(p + 5, (uint16_t)end);
}

/* In-memory writer into a preallocated buffer. */
typedef struct bench_writer {
    ls_writer base;
    uint8_t *buf;
    size_t len, cap;
} bench_writer;

static ls_code bw_write(ls_writer *w, const void *p, size_t n, ls_err *err) {
    bench_writer *b = (bench_writer *)w;
    if (n > b->cap - b->len) return ls_err_set(err, LS_ERR_NOSPACE, "bench writer full");
    memcpy(b->buf + b->len, p, n);
    b->len += n;
    return LS_OK;
}
static void bw_close(ls_writer *w) { (void)w; }

int main(int argc, char **argv) {
    size_t mib = argc > 1 ? (size_t)atol(argv[1]) : 256;
    int reps = argc > 2 ? atoi(argv[2]) : 5;
    if (mib == 0 || reps <= 0) {
        fprintf(stderr, "usage: bench_ltx [MiB] [repetitions]\n");
        return 2;
    }
    uint32_t npages = (uint32_t)(mib * 1024 * 1024 / PAGE);
    size_t total = (size_t)npages * PAGE;
    uint8_t *pages = malloc(total);
    size_t cap = (size_t)npages * (10 + (size_t)LZ4_compressBound(PAGE)) + 1024 * 1024;
    bench_writer bw = {{bw_write, NULL, bw_close}, malloc(cap), 0, cap};
    uint8_t *raw = malloc((size_t)npages * (size_t)LZ4_compressBound(PAGE));
    int *rawlen = malloc(sizeof(int) * npages);
    uint8_t *page = malloc(PAGE);
    if (!pages || !bw.buf || !raw || !rawlen || !page) {
        fprintf(stderr, "bench_ltx: out of memory\n");
        return 1;
    }
    for (uint32_t i = 0; i < npages; i++) {
        uint8_t *p = pages + (size_t)i * PAGE;
        if (i % 2 == 0) text_page(p, i + 1);
        else
            for (uint32_t k = 0; k < PAGE; k += 8) {
                uint64_t v = rnd();
                memcpy(p + k, &v, 8);
            }
    }
    double mb = (double)total / 1e6;
    printf("bench_ltx: %u pages of %u bytes (%.0f MB), half text rows / half random, "
           "best of %d\n",
           npages, PAGE, mb, reps);
    printf("CRC-64 path: %s\n", ltx_crc64_impl());

    double best_enc = 1e9, best_dec = 1e9, best_decr = 1e9, best_crc = 1e9, best_crc_port = 1e9;
    double best_rc = 1e9, best_rd = 1e9;
    double *ratio_enc = calloc((size_t)reps, sizeof(double));
    double *ratio_dec = calloc((size_t)reps, sizeof(double));
    double *ratio_decr = calloc((size_t)reps, sizeof(double));
    double t_rc = 0, t_rd = 0;
    size_t file_len = 0, raw_total = 0;
    volatile uint64_t sink = 0;
    for (int r = 0; r < reps; r++) {
        /* raw LZ4 compress */
        double t0 = now();
        size_t ro = 0;
        for (uint32_t i = 0; i < npages; i++) {
            int n = LZ4_compress_default((const char *)pages + (size_t)i * PAGE, (char *)raw + ro,
                                         (int)PAGE, LZ4_compressBound(PAGE));
            rawlen[i] = n;
            ro += (size_t)n;
        }
        double t = now() - t0;
        if (t < best_rc) best_rc = t;
        t_rc = t;
        raw_total = ro;
        /* raw LZ4 decompress */
        t0 = now();
        ro = 0;
        for (uint32_t i = 0; i < npages; i++) {
            int n = LZ4_decompress_safe((const char *)raw + ro, (char *)page, rawlen[i], PAGE);
            if (n != (int)PAGE) abort();
            sink += page[i % PAGE];
            ro += (size_t)rawlen[i];
        }
        t = now() - t0;
        if (t < best_rd) best_rd = t;
        t_rd = t;

        /* encode */
        ltx_header h;
        memset(&h, 0, sizeof(h));
        h.flags = LTX_FLAG_NO_CHECKSUM;
        h.page_size = PAGE;
        h.commit = npages + 1; /* + lock page when it falls inside */
        h.min_txid = 2;
        h.max_txid = 2;
        bw.len = 0;
        ls_err err;
        t0 = now();
        ltx_encoder *e;
        if (ltx_encoder_open(&e, &h, &bw.base, &err) != LS_OK) goto fail;
        uint32_t lock = ltx_lock_pgno(PAGE), pgno = 0;
        for (uint32_t i = 0; i < npages; i++) {
            if (++pgno == lock) pgno++;
            if (ltx_encoder_write_page(e, pgno, pages + (size_t)i * PAGE, &err) != LS_OK) goto fail;
        }
        if (ltx_encoder_close(e, 0, &err) != LS_OK) goto fail;
        ltx_encoder_free(e);
        t = now() - t0;
        if (t < best_enc) best_enc = t;
        ratio_enc[r] = t_rc / t;
        file_len = bw.len;

        /* decode: memory mode, then through an ls_reader */
        for (int mode = 0; mode < 2; mode++) {
            t0 = now();
            ls_reader *rd = mode ? ls_reader_mem(bw.buf, bw.len) : NULL;
            ltx_decoder *d;
            ls_code orc = mode ? ltx_decoder_open(&d, rd, &err)
                               : ltx_decoder_open_mem(&d, bw.buf, bw.len, &err);
            if (orc != LS_OK) goto fail;
            uint32_t count = 0;
            for (;;) {
                bool done;
                if (ltx_decoder_next_page(d, &pgno, page, &done, &err) != LS_OK) goto fail;
                if (done) break;
                sink += page[count % PAGE];
                count++;
            }
            if (ltx_decoder_close(d, NULL, &err) != LS_OK) goto fail;
            ltx_decoder_free(d);
            ls_reader_close(rd);
            t = now() - t0;
            if (count != npages) abort();
            if (mode == 0) {
                if (t < best_dec) best_dec = t;
                ratio_dec[r] = t_rd / t;
            } else {
                if (t < best_decr) best_decr = t;
                ratio_decr[r] = t_rd / t;
            }
        }

        /* CRC */
        t0 = now();
        sink += ltx_crc64(0, pages, total);
        t = now() - t0;
        if (t < best_crc) best_crc = t;
        t0 = now();
        sink += ltx_crc64_portable(0, pages, total);
        t = now() - t0;
        if (t < best_crc_port) best_crc_port = t;
        continue;
    fail:
        fprintf(stderr, "bench_ltx: %s\n", err.msg);
        return 1;
    }
    (void)sink;
    double enc = mb / best_enc, dec = mb / best_dec, rc = mb / best_rc, rd = mb / best_rd;
    double renc = median(ratio_enc, reps), rdec = median(ratio_dec, reps);
    double decr = mb / best_decr, rdecr = median(ratio_decr, reps);
    printf("file: %zu bytes (raw LZ4 blocks %zu bytes, ratio %.2f)\n", file_len, raw_total,
           (double)total / (double)raw_total);
    printf("encode:          %8.0f MB/s   (raw LZ4_compress_default   %8.0f MB/s)  "
           "codec/raw %5.1f%%\n",
           enc, rc, 100.0 * renc);
    printf("decode+verify:   %8.0f MB/s   (raw LZ4_decompress_safe    %8.0f MB/s)  "
           "codec/raw %5.1f%%  [in memory, zero-copy]\n",
           dec, rd, 100.0 * rdec);
    printf("decode+verify:   %8.0f MB/s   (raw LZ4_decompress_safe    %8.0f MB/s)  "
           "codec/raw %5.1f%%  [through ls_reader]\n",
           decr, rd, 100.0 * rdecr);
    printf("CRC-64/GO-ISO:   %8.2f GB/s   (portable slicing-by-16     %8.2f GB/s)\n",
           mb / best_crc / 1000.0, mb / best_crc_port / 1000.0);
    free(ratio_enc);
    free(ratio_dec);
    free(ratio_decr);
    free(pages);
    free(bw.buf);
    free(raw);
    free(rawlen);
    free(page);
    return 0;
}
