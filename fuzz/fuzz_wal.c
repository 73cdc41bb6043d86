/*
 * libFuzzer target for wal/: the input is a WAL file. Exercises the header
 * check, the validated reader, page maps with and without a byte limit,
 * resume at frame-aligned and arbitrary offsets, frame reads at offsets and
 * the frame-salts scan. Invariants checked: map entries are sorted, within
 * the final commit and below `end`; errors always carry a message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util/fs.h"
#include "wal/wal.h"

static void check_map(const wal_page_map *m) {
    for (size_t i = 0; i < m->n; i++) {
        if (m->entries[i].pgno > m->commit) abort();
        if (m->entries[i].offset >= m->end || m->entries[i].offset < m->start) abort();
        if (i && m->entries[i - 1].pgno >= m->entries[i].pgno) abort();
        int64_t o;
        if (!wal_page_map_get(m, m->entries[i].pgno, &o) || o != m->entries[i].offset) abort();
    }
    if (m->n == 0 && (m->end != 0 || m->commit != 0)) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int fd = memfd_create("wal", 0);
    if (fd < 0) return 0;
    ls_err err;
    if (size && ls_write_full(fd, data, size, &err, "memfd") != LS_OK) {
        close(fd);
        return 0;
    }
    wal_header h;
    bool valid = false;
    if (wal_header_read(fd, &h, &valid, &err) != LS_OK && err.msg[0] == '\0') abort();

    wal_reader *r = NULL;
    if (wal_reader_open(&r, fd, &err) == LS_OK) {
        uint32_t ps = wal_reader_page_size(r);
        int64_t fs = wal_frame_size(ps);
        wal_page_map m;
        int64_t limit = size > 40 ? (int64_t)(data[size - 1] % 8) * fs / 2 : 0;
        while (wal_reader_page_map(r, limit, &m, &err) == LS_OK) {
            check_map(&m);
            bool more = m.limited;
            wal_page_map_free(&m);
            if (!more) break;
        }
        uint32_t s1, s2;
        wal_reader_salts(r, &s1, &s2);
        wal_reader_free(r);

        int64_t offs[] = {32 + fs, 32 + 2 * fs, 33, (int64_t)size, (int64_t)size + fs,
                          32 + ((int64_t)size / 2 - 32 > 0 ? ((int64_t)size / 2 - 32) / fs : 0) * fs};
        for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
            bool mm = false;
            if (wal_reader_open_at(&r, fd, offs[i], s1, s2, &mm, &err) != LS_OK) {
                if (err.msg[0] == '\0') abort();
                continue;
            }
            if (mm) continue;
            if (wal_reader_page_map(r, 0, &m, &err) == LS_OK) {
                check_map(&m);
                wal_page_map_free(&m);
            }
            wal_reader_free(r);
        }
        uint8_t *page = malloc(ps);
        if (page) {
            wal_frame_header fh;
            bool found;
            (void)wal_read_frame(fd, 32, ps, &fh, page, &found, &err);
            (void)wal_read_frame_page(fd, 32 + fs, ps, page, &err);
            free(page);
        }
    }
    wal_salt_pair *sp = NULL;
    size_t n = 0;
    if (wal_frame_salts_until(fd, 0, 0, &sp, &n, &err) == LS_OK) free(sp);
    close(fd);
    return 0;
}
