/*
 * engine/restore_follow.c — `restore -f` (spec 8.5): keep a restored
 * database up to date by applying new LTX files as they appear.
 * Contract: engine/restore.h (ls_restore_follow).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine/restore.h"
#include "ltx/ltx.h"
#include "storage/ltxfiles.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/timeutil.h"

#define SQLITE_PENDING_BYTE 0x40000000
#define SQLITE_SHARED_FIRST (SQLITE_PENDING_BYTE + 2)
#define SQLITE_SHARED_SIZE 510

static bool is_canceled(atomic_bool *c) { return c && atomic_load(c); }

/* ---- -txid sidecar -------------------------------------------------------- */

ls_code ls_restore_read_txid_file(const char *output, uint64_t *txid, ls_err *err) {
    *txid = 0;
    char *path = ls_strfmt("%s-txid", output);
    if (!path) return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
    char *data = NULL;
    size_t len = 0;
    ls_err e;
    ls_code rc = ls_read_file(path, 4096, &data, &len, &e);
    if (rc == LS_ERR_NOTFOUND) {
        free(path);
        return LS_OK;
    }
    if (rc != LS_OK) {
        if (err) *err = e;
        ls_err_wrap(err, "read txid file");
        free(path);
        return rc;
    }
    /* strings.TrimSpace, then exactly 16 hex digits. */
    char *s = data, *end = data + len;
    while (s < end && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')) s++;
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
        end--;
    *end = '\0';
    if (!ltx_parse_txid(s, txid)) {
        rc = ls_err_set(err, LS_ERR_FORMAT, "parse txid file %s: invalid txid \"%.40s\"", path, s);
        *txid = 0;
    }
    free(data);
    free(path);
    return rc;
}

ls_code ls_restore_write_txid_file(const char *output, uint64_t txid, ls_err *err) {
    char *path = ls_strfmt("%s-txid", output);
    if (!path) return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
    char buf[LTX_TXID_STR_SIZE + 1];
    ltx_format_txid(txid, buf);
    buf[16] = '\n';
    buf[17] = '\0';
    ls_code rc = ls_write_file_atomic(path, buf, 17, 0644, err);
    free(path);
    return rc;
}

/* ---- applying one file ---------------------------------------------------- */

static ls_code set_lock(int fd, short type, off_t start, off_t len, ls_err *err) {
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
    while (fcntl(fd, F_SETLKW, &fl) != 0) {
        if (errno == EINTR) return ls_err_set(err, LS_ERR_CANCELED, "interrupted while locking");
        return ls_err_errno(err, errno, "lock database");
    }
    return LS_OK;
}

static void unlock_db(int fd) {
    set_lock(fd, F_UNLCK, SQLITE_SHARED_FIRST, SQLITE_SHARED_SIZE, NULL);
    set_lock(fd, F_UNLCK, SQLITE_PENDING_BYTE, 1, NULL);
}

static ls_code lock_db(int fd, ls_err *err) {
    ls_code rc = set_lock(fd, F_WRLCK, SQLITE_PENDING_BYTE, 1, err);
    if (rc != LS_OK) return rc;
    rc = set_lock(fd, F_WRLCK, SQLITE_SHARED_FIRST, SQLITE_SHARED_SIZE, err);
    if (rc != LS_OK) set_lock(fd, F_UNLCK, SQLITE_PENDING_BYTE, 1, NULL);
    return rc;
}

static ls_code apply_file(ls_storage *st, int fd, const char *output, const ls_ltx_file *f,
                          uint32_t page_size, ls_err *err) {
    /* 1. Verify the whole file before touching the database. */
    ls_reader *r = NULL;
    ltx_header h;
    ls_code rc = ls_ltx_open_resumable(st, f->level, f->min_txid, f->max_txid, f->size, &r, err);
    if (rc == LS_OK) rc = ltx_verify(r, &h, NULL, err);
    ls_reader_close(r);
    r = NULL;
    if (rc == LS_OK && h.page_size != page_size)
        rc = ls_err_set(err, LS_ERR_FORMAT, "page size %" PRIu32 " does not match the database's %" PRIu32,
                        h.page_size, page_size);
    if (rc != LS_OK) return rc;

    /* 2. Apply under the SQLite write locks. */
    uint8_t *page = malloc(page_size);
    if (!page) return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
    ltx_decoder *d = NULL;
    rc = ls_ltx_open_resumable(st, f->level, f->min_txid, f->max_txid, f->size, &r, err);
    if (rc == LS_OK) rc = ltx_decoder_open(&d, r, err);
    bool locked = false;
    if (rc == LS_OK) {
        rc = lock_db(fd, err);
        locked = rc == LS_OK;
    }
    while (rc == LS_OK) {
        uint32_t pgno = 0;
        bool done = false;
        rc = ltx_decoder_next_page(d, &pgno, page, &done, err);
        if (rc != LS_OK || done) break;
        if (pgno == 1 && page_size >= 28) {
            page[18] = page[19] = 0x01; /* rollback-journal mode */
            if (getrandom(page + 24, 4, 0) != 4) {
                uint64_t t = (uint64_t)ls_now_ns();
                memcpy(page + 24, &t, 4);
            }
        }
        size_t off = 0;
        while (off < page_size) {
            ssize_t n = pwrite(fd, page + off, page_size - off,
                               (off_t)((uint64_t)(pgno - 1) * page_size + off));
            if (n < 0) {
                if (errno == EINTR) continue;
                rc = ls_err_errno(err, errno, "write page %" PRIu32 " of %s", pgno, output);
                break;
            }
            off += (size_t)n;
        }
    }
    const ltx_header *dh = d ? ltx_decoder_header(d) : NULL;
    if (rc == LS_OK && dh->commit > 0 &&
        ftruncate(fd, (off_t)((uint64_t)dh->commit * page_size)) != 0)
        rc = ls_err_errno(err, errno, "truncate %s", output);
    if (rc == LS_OK) rc = ltx_decoder_close(d, NULL, err);
    if (rc == LS_OK && fsync(fd) != 0) rc = ls_err_errno(err, errno, "fsync %s", output);
    if (locked) unlock_db(fd);
    ltx_decoder_free(d);
    ls_reader_close(r);
    free(page);
    return rc;
}

static ls_code apply_wrapped(ls_storage *st, int fd, const char *output, const ls_ltx_file *f,
                             uint32_t ps, bool gap_fill, ls_err *err) {
    ls_code rc = apply_file(st, fd, output, f, ps, err);
    if (rc != LS_OK)
        ls_err_wrap(err, "apply %sltx file (level=%d, min=%016" PRIx64 ", max=%016" PRIx64 ")",
                    gap_fill ? "gap-fill " : "", f->level, f->min_txid, f->max_txid);
    return rc;
}

/* Bridges a level-0 gap from levels 1..8 (8.5 step 1). */
static ls_code fill_gap(ls_storage *st, int fd, const char *output, uint32_t ps, uint64_t after,
                        uint64_t gap_min, uint64_t *cur_out, atomic_bool *cancel, ls_err *err) {
    uint64_t cur = after;
    ls_code rc = LS_OK;
    for (int level = 1; level < LS_LTX_SNAPSHOT_LEVEL && rc == LS_OK; level++) {
        ls_ltx_file_list l;
        rc = ls_ltx_list(st, level, 0, false, &l, err);
        if (rc != LS_OK) break;
        bool bridged = false;
        for (size_t i = 0; i < l.n && rc == LS_OK; i++) {
            const ls_ltx_file *f = &l.items[i];
            if (f->min_txid > cur + 1) break;
            if (f->max_txid <= cur) continue;
            if (is_canceled(cancel)) {
                rc = ls_err_set(err, LS_ERR_CANCELED, "follow canceled");
                break;
            }
            rc = apply_wrapped(st, fd, output, f, ps, true, err);
            if (rc != LS_OK) break;
            cur = f->max_txid;
            if (cur + 1 >= gap_min) {
                bridged = true;
                break;
            }
        }
        ls_ltx_file_list_free(&l);
        if (bridged || cur > after) break;
    }
    *cur_out = cur;
    return rc;
}

/* One poll (8.5 step 1). *cur is advanced past every applied file, also
 * when an error stops the poll part-way. */
static ls_code poll_once(ls_storage *st, int fd, const char *output, uint32_t ps, uint64_t *cur,
                         atomic_bool *cancel, ls_err *err) {
    ls_ltx_file_list l;
    ls_code rc = ls_ltx_list(st, 0, *cur + 1, false, &l, err);
    if (rc != LS_OK) return rc;
    bool saw = l.n > 0;
    for (size_t i = 0; i < l.n && rc == LS_OK; i++) {
        const ls_ltx_file *f = &l.items[i];
        if (f->min_txid > *cur + 1) {
            rc = fill_gap(st, fd, output, ps, *cur, f->min_txid, cur, cancel, err);
            if (rc != LS_OK) break;
            if (f->max_txid <= *cur) continue;
            if (f->min_txid > *cur + 1) break; /* still not connected: next poll */
        }
        if (f->max_txid <= *cur) continue;
        if (is_canceled(cancel)) {
            rc = ls_err_set(err, LS_ERR_CANCELED, "follow canceled");
            break;
        }
        rc = apply_wrapped(st, fd, output, f, ps, false, err);
        if (rc == LS_OK) *cur = f->max_txid;
    }
    ls_ltx_file_list_free(&l);
    if (rc == LS_OK && !saw) rc = fill_gap(st, fd, output, ps, *cur, *cur + 1, cur, cancel, err);
    return rc;
}

/* Sleeps up to ns, waking early when cancelled. */
static void sleep_cancelable(int64_t ns, atomic_bool *cancel) {
    const int64_t slice = 50 * LS_NS_PER_MS;
    while (ns > 0 && !is_canceled(cancel)) {
        int64_t s = ns < slice ? ns : slice;
        struct timespec ts = {.tv_sec = (time_t)(s / LS_NS_PER_SEC),
                              .tv_nsec = (long)(s % LS_NS_PER_SEC)};
        nanosleep(&ts, NULL);
        ns -= s;
    }
}

static ls_code follow_loop(ls_storage *st, const char *output, uint64_t last, int64_t interval,
                           atomic_bool *cancel, ls_err *err) {
    int fd = open(output, O_RDWR | O_CLOEXEC);
    if (fd < 0) return ls_err_errno(err, errno, "open database for follow: %s", output);
    uint8_t hdr[2];
    size_t n = 0;
    ls_code rc = ls_pread_full(fd, hdr, 2, 16, &n, err, output);
    if (rc == LS_OK && n != 2)
        rc = ls_err_set(err, LS_ERR_FORMAT, "read page size from database header: %s is too short",
                        output);
    if (rc != LS_OK) {
        close(fd);
        return rc;
    }
    uint32_t ps = ((uint32_t)hdr[0] << 8) | hdr[1];
    if (ps == 1) ps = 65536;
    if (ps < 512 || (ps & (ps - 1)) != 0) {
        close(fd);
        return ls_err_set(err, LS_ERR_FORMAT, "invalid page size %" PRIu32 " in %s", ps, output);
    }
    char ibuf[32];
    ls_format_duration(interval, ibuf, sizeof(ibuf));
    ls_info("entering follow mode", "output", output, "txid", LS_HEX16(last), "interval", ibuf);
    long consecutive = 0;
    rc = LS_OK;
    for (;;) {
        sleep_cancelable(interval, cancel);
        if (is_canceled(cancel)) break;
        uint64_t cur = last;
        ls_err e;
        ls_err_clear(&e);
        ls_code prc = poll_once(st, fd, output, ps, &cur, cancel, &e);
        if (is_canceled(cancel)) break;
        if (cur > last) {
            rc = ls_restore_write_txid_file(output, cur, err);
            if (rc != LS_OK) {
                ls_err_wrap(err, "write txid file");
                break;
            }
            ls_info("follow: applied updates", "from_txid", LS_HEX16(last), "to_txid",
                    LS_HEX16(cur));
            last = cur;
            consecutive = 0;
        }
        if (prc != LS_OK) {
            consecutive++;
            ls_error("follow: error applying updates", "err", e.msg, "consecutive_errors",
                     LS_INT(consecutive));
        }
    }
    fsync(fd);
    close(fd);
    if (rc == LS_OK) ls_info("follow mode stopped");
    return rc;
}

/* Greatest max TXID over every level (0 when empty). */
static ls_code replica_max_txid(ls_storage *st, uint64_t *out, ls_err *err) {
    uint64_t mx = 0;
    for (int level = 0; level <= LS_LTX_MAX_LEVEL; level++) {
        uint64_t m = 0;
        ls_code rc = ls_ltx_max_txid(st, level, &m, err);
        if (rc != LS_OK) return rc;
        if (m > mx) mx = m;
    }
    *out = mx;
    return LS_OK;
}

ls_code ls_restore_follow(ls_storage *st, const ls_follow_opts *opts, ls_err *err) {
    if (!st || !opts || !opts->output || !*opts->output)
        return ls_err_set(err, LS_ERR_INVALID, "output path required");
    if (!opts->cancel) return ls_err_set(err, LS_ERR_INVALID, "follow mode needs a cancel flag");
    const char *out = opts->output;
    int64_t interval = opts->interval_ns > 0 ? opts->interval_ns : LS_NS_PER_SEC;
    struct stat sb;
    if (stat(out, &sb) == 0) {
        /* Crash recovery: continue from the saved TXID. */
        uint64_t txid = 0;
        ls_code rc = ls_restore_read_txid_file(out, &txid, err);
        if (rc != LS_OK) {
            ls_err_wrap(err, "read txid file for crash recovery");
            return rc;
        }
        if (txid == 0)
            return ls_err_set(err, LS_ERR_EXISTS,
                              "cannot resume follow mode: database exists but no -txid file "
                              "found; delete the database to re-restore: %s",
                              out);
        ls_ltx_file snap;
        bool found = false;
        rc = ls_ltx_last(st, LS_LTX_SNAPSHOT_LEVEL, &snap, &found, err);
        if (rc != LS_OK) {
            ls_err_wrap(err, "cannot validate saved TXID for crash recovery");
            return rc;
        }
        if (found && snap.min_txid > txid)
            return ls_err_set(err, LS_ERR_UNAVAILABLE,
                              "cannot resume follow mode: saved TXID %016" PRIx64
                              " is behind the earliest snapshot (min TXID %016" PRIx64
                              "); replica history has been pruned -- delete %s and %s-txid to "
                              "re-restore",
                              txid, snap.min_txid, out, out);
        uint64_t mx = 0;
        rc = replica_max_txid(st, &mx, err);
        if (rc != LS_OK) {
            ls_err_wrap(err, "cannot validate saved TXID for crash recovery");
            return rc;
        }
        if (txid > mx)
            return ls_err_set(err, LS_ERR_UNAVAILABLE,
                              "cannot resume follow mode: saved TXID %016" PRIx64
                              " is ahead of the replica (max TXID %016" PRIx64
                              "); delete %s and %s-txid to re-restore",
                              txid, mx, out, out);
        ls_info("resuming follow mode from crash recovery", "txid", LS_HEX16(txid), "output", out);
        return follow_loop(st, out, txid, interval, opts->cancel, err);
    } else if (errno != ENOENT) {
        return ls_err_errno(err, errno, "stat %s", out);
    }

    ls_restore_opts ro = {.output = out, .integrity = opts->integrity,
                          .parallelism = opts->parallelism, .cancel = opts->cancel,
                          .ltx_only = true /* v0.3 cannot be followed (8.2) */};
    ls_restore_result res;
    ls_code rc = ls_restore_run(st, &ro, &res, err);
    if (rc != LS_OK) return rc;
    uint64_t txid = res.txid;
    ls_restore_result_free(&res);
    rc = ls_restore_write_txid_file(out, txid, err);
    if (rc != LS_OK) {
        ls_err_wrap(err, "write initial txid file");
        return rc;
    }
    return follow_loop(st, out, txid, interval, opts->cancel, err);
}
