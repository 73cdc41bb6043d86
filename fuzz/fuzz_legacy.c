/*
 * libFuzzer target for the Litestream v0.3 restore (engine/legacy.h): the
 * input describes the objects of one generation; they are written to a
 * file replica in a temporary directory and restored with ls_restore_run
 * (layout choice, plan, LZ4 frame reader, WAL validation, SQLite apply,
 * integrity check, output rules).
 *
 * Input: a sequence of records  tag:u8  len:u16le  [offset:u32le]  data[len]
 *   tag & 0x80  snapshot (index = tag & 0x0f), else a WAL segment of index
 *               tag & 0x0f;
 *   tag & 0x40  (segment) explicit offset follows; otherwise the offset is
 *               the sum of the previous segment lengths of that index;
 *   tag & 0x20  data is stored as is (raw LZ4 input); otherwise it is
 *               compressed into one LZ4 frame first (so mutations reach the
 *               WAL / snapshot checks).
 * Invariants: no crash, no leak; after a failure neither the output nor its
 * temp files exist; after a success the output exists and the temp files
 * do not.
 */
#include <lz4frame.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/legacy.h"
#include "engine/restore.h"
#include "storage/storage.h"
#include "util/fs.h"
#include "util/log.h"

static char *g_root;

static void put(const char *rel, const uint8_t *d, size_t n, int raw) {
    char *p = ls_path_join(g_root, rel);
    char *dir = ls_path_dir(p);
    ls_mkdir_p(dir, 0700, NULL);
    FILE *f = fopen(p, "wb");
    if (f) {
        if (raw) {
            if (n) fwrite(d, 1, n, f);
        } else {
            LZ4F_preferences_t prefs;
            memset(&prefs, 0, sizeof(prefs));
            prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
            size_t cap = LZ4F_compressFrameBound(n, &prefs);
            uint8_t *c = malloc(cap);
            if (c) {
                size_t r = LZ4F_compressFrame(c, cap, d, n, &prefs);
                if (!LZ4F_isError(r)) fwrite(c, 1, r, f);
                free(c);
            }
        }
        fclose(f);
    }
    free(dir);
    free(p);
}

static int exists(const char *p) {
    struct stat sb;
    return lstat(p, &sb) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 256 * 1024) return 0;
    if (!g_root) {
        char tmpl[] = "/tmp/fuzz-legacy-XXXXXX";
        char *d = mkdtemp(tmpl);
        if (!d) abort();
        g_root = ls_strdup(d);
        ls_log_configure(LS_LOG_ERROR, LS_LOG_FORMAT_TEXT, stderr);
    }
    ls_remove_all(g_root, NULL);
    mkdir(g_root, 0700);

    uint64_t next_off[16] = {0};
    size_t pos = 0;
    int files = 0;
    while (pos + 3 <= size && files < 64) {
        uint8_t tag = data[pos];
        size_t len = (size_t)data[pos + 1] | (size_t)data[pos + 2] << 8;
        pos += 3;
        uint32_t off = 0;
        int explicit_off = !(tag & 0x80) && (tag & 0x40);
        if (explicit_off) {
            if (pos + 4 > size) break;
            off = (uint32_t)data[pos] | (uint32_t)data[pos + 1] << 8 |
                  (uint32_t)data[pos + 2] << 16 | (uint32_t)data[pos + 3] << 24;
            pos += 4;
        }
        if (len > size - pos) len = size - pos;
        unsigned idx = tag & 0x0f;
        char rel[128];
        if (tag & 0x80) {
            snprintf(rel, sizeof(rel), "generations/00000000000000f0/snapshots/%08x.snapshot.lz4",
                     idx);
        } else {
            uint64_t o = explicit_off ? off : next_off[idx];
            snprintf(rel, sizeof(rel), "generations/00000000000000f0/wal/%08x_%08llx.wal.lz4", idx,
                     (unsigned long long)o);
            next_off[idx] = o + len;
        }
        put(rel, data + pos, len, tag & 0x20);
        pos += len;
        files++;
    }

    ls_storage *st = NULL;
    ls_err e;
    if (ls_storage_file_open(g_root, &st, &e) != LS_OK) abort();
    char *out = ls_path_join(g_root, "out/restored.db");
    ls_restore_opts o = {.output = out, .integrity = LS_INTEGRITY_QUICK};
    ls_restore_result res;
    ls_code rc = ls_restore_run(st, &o, &res, &e);
    char *tmp = ls_strfmt("%s.tmp", out), *tw = ls_strfmt("%s.tmp-wal", out);
    if (exists(tmp) || exists(tw)) abort();
    if (rc == LS_OK) {
        if (!exists(out)) abort();
        ls_restore_result_free(&res);
    } else if (exists(out)) {
        abort();
    }
    free(tmp);
    free(tw);
    free(out);
    ls_storage_close(st);
    return 0;
}
