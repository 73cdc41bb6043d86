/*
 * engine/compact.c — compaction levels, snapshots and retention (spec 7).
 * Contract: engine/compact.h.
 */
#include "engine/compact.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ltx/ltx.h"
#include "storage/ltxfiles.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/timeutil.h"

#define DELETE_BATCH 1000

static uint64_t g_verify_errors;

uint64_t ls_compact_verify_error_count(void) {
    return __atomic_load_n(&g_verify_errors, __ATOMIC_RELAXED);
}

void ls_compact_opts_defaults(ls_compact_opts *o) {
    memset(o, 0, sizeof(*o));
    o->nlevels = 3;
    o->level_interval_ns[0] = 30 * LS_NS_PER_SEC;
    o->level_interval_ns[1] = 5 * 60 * LS_NS_PER_SEC;
    o->level_interval_ns[2] = 60 * 60 * LS_NS_PER_SEC;
    o->snapshot_interval_ns = 24 * 60 * 60 * LS_NS_PER_SEC;
    o->snapshot_retention_ns = 24 * 60 * 60 * LS_NS_PER_SEC;
    o->l0_retention_ns = 5 * 60 * LS_NS_PER_SEC;
    o->retention_enabled = true;
    o->verify_compaction = false;
}

const char *ls_compact_outcome_name(ls_compact_outcome o) {
    switch (o) {
    case LS_COMPACT_DONE: return "done";
    case LS_COMPACT_NOTHING: return "nothing";
    case LS_COMPACT_TOO_EARLY: return "too_early";
    case LS_COMPACT_NOT_READY: return "not_ready";
    }
    return "unknown";
}

/* ---- interval alignment (7.2) -------------------------------------------- */

/* (a * b) mod m for a, b < m without overflow (m < 2^63). */
static uint64_t mulmod(uint64_t a, uint64_t b, uint64_t m) {
    uint64_t r = 0;
    a %= m;
    while (b) {
        if (b & 1) {
            r += a; /* r, a < m < 2^63: no overflow */
            if (r >= m) r -= m;
        }
        a <<= 1;
        if (a >= m) a -= m;
        b >>= 1;
    }
    return r;
}

/* Seconds from Go's zero time (0001-01-01T00:00:00Z) to the Unix epoch. */
#define GO_ZERO_TO_UNIX_SEC UINT64_C(62135596800)

int64_t ls_interval_prev(int64_t now_ns, int64_t interval_ns) {
    if (interval_ns <= 0) return now_ns;
    uint64_t d = (uint64_t)interval_ns;
    /* prev = now - ((now + Z) mod d) with Z = GO_ZERO_TO_UNIX_SEC * 1e9 ns,
     * i.e. floor((now + Z) / d) * d - Z, computed without the 6.2e19 sum. */
    uint64_t zmod = mulmod(GO_ZERO_TO_UNIX_SEC % d, UINT64_C(1000000000) % d, d);
    int64_t nm = now_ns % interval_ns;
    if (nm < 0) nm += interval_ns;
    uint64_t r = (uint64_t)nm + zmod; /* both < d < 2^63 */
    if (r >= d) r -= d;
    if (now_ns < INT64_MIN + (int64_t)r) return INT64_MIN;
    return now_ns - (int64_t)r;
}

/* a - b for b >= 0, saturating at INT64_MIN (huge retention settings). */
static int64_t sub_sat(int64_t a, int64_t b) {
    if (b < 0) b = 0;
    return a < INT64_MIN + b ? INT64_MIN : a - b;
}

/* ---- temp files and a buffered fd writer ---------------------------------- */

/* Creates an anonymous temporary file (created, then unlinked at once) in the
 * db's meta directory, else $TMPDIR, else /tmp. */
static ls_code tmp_create(ls_db *db, int *out_fd, ls_err *err) {
    const char *dirs[3];
    size_t nd = 0;
    if (db && ls_db_meta_path(db)) dirs[nd++] = ls_db_meta_path(db);
    const char *t = getenv("TMPDIR");
    if (t && *t) dirs[nd++] = t;
    dirs[nd++] = "/tmp";
    int last_errno = 0;
    const char *last_dir = "/tmp";
    for (size_t i = 0; i < nd; i++) {
        char *tmpl = ls_strfmt("%s/.litestream-compact-XXXXXX.tmp", dirs[i]);
        if (!tmpl) return ls_err_set(err, LS_ERR_NOMEM, "temporary file: out of memory");
        int fd = mkstemps(tmpl, 4);
        if (fd >= 0) {
            (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
            unlink(tmpl);
            free(tmpl);
            *out_fd = fd;
            return LS_OK;
        }
        last_errno = errno;
        last_dir = dirs[i];
        free(tmpl);
    }
    return ls_err_errno(err, last_errno, "create temporary file in %s", last_dir);
}

typedef struct buf_writer {
    ls_writer base;
    int fd;
    size_t n;
    uint64_t total;
    uint8_t buf[64 * 1024];
} buf_writer;

static ls_code bw_flush(buf_writer *b, ls_err *err) {
    if (b->n == 0) return LS_OK;
    ls_code rc = ls_write_full(b->fd, b->buf, b->n, err, "temporary file");
    b->n = 0;
    return rc;
}

static ls_code bw_write(ls_writer *w, const void *p, size_t len, ls_err *err) {
    buf_writer *b = (buf_writer *)w;
    const uint8_t *src = p;
    b->total += len;
    while (len > 0) {
        if (b->n == sizeof(b->buf)) {
            ls_code rc = bw_flush(b, err);
            if (rc != LS_OK) return rc;
        }
        size_t k = sizeof(b->buf) - b->n;
        if (k > len) k = len;
        memcpy(b->buf + b->n, src, k);
        b->n += k;
        src += k;
        len -= k;
    }
    return LS_OK;
}

static ls_code bw_finish(ls_writer *w, ls_err *err) { return bw_flush((buf_writer *)w, err); }
static void bw_close(ls_writer *w) { free(w); }

static buf_writer *bw_new(int fd) {
    buf_writer *b = malloc(sizeof(*b));
    if (!b) return NULL;
    b->base.write = bw_write;
    b->base.finish = bw_finish;
    b->base.close = bw_close;
    b->fd = fd;
    b->n = 0;
    b->total = 0;
    return b;
}

/* ---- helpers -------------------------------------------------------------- */

static void file_name(const ls_ltx_file *f, char out[LTX_FILENAME_MAX]) {
    ltx_format_filename(f->min_txid, f->max_txid, out);
}

/* Human name of an input: its storage key, or the local L0 path. */
static void input_name(ls_storage *st, ls_db *db, int level, const ls_ltx_file *f, bool local,
                       char *buf, size_t n) {
    char name[LTX_FILENAME_MAX];
    file_name(f, name);
    if (local && db && ls_db_meta_path(db)) {
        snprintf(buf, n, "local file %s/ltx/0/%s", ls_db_meta_path(db), name);
        return;
    }
    if (ls_ltx_key(st, level, f->min_txid, f->max_txid, buf, n) < 0)
        snprintf(buf, n, "level %d file %s", level, name);
}

/* Deletes files in batches; a failure names the first file of the batch. */
static ls_code delete_files(ls_storage *st, const ls_ltx_file *files, size_t n, ls_err *err) {
    for (size_t i = 0; i < n; i += DELETE_BATCH) {
        size_t k = n - i < DELETE_BATCH ? n - i : DELETE_BATCH;
        ls_code rc = ls_ltx_delete(st, files + i, k, err);
        if (rc != LS_OK) return rc;
    }
    return LS_OK;
}

static bool db_ready(ls_db *db) {
    ls_db_status s;
    memset(&s, 0, sizeof(s));
    ls_db_status_get(db, &s);
    return s.initialized && s.page_size != 0;
}

/* ---- merging (7.3 steps 4-5) ------------------------------------------------ */

typedef struct merge_ctx {
    ls_storage *st;
    ls_db *db;          /* NULL: inputs from the replica only */
    int src_level;      /* level the inputs come from */
    int dst_level;
    size_t nlocal;
    /* local L0 files found corrupt while their replica copy is fine: read
     * from the replica instead (bounded by the number of inputs) */
    uint64_t *skip_local;
    size_t nskip, cap_skip;
    bool bad_local_valid;   /* set by diagnose_inputs */
    uint64_t bad_local;
} merge_ctx;

static bool skip_local(const merge_ctx *c, uint64_t txid) {
    for (size_t i = 0; i < c->nskip; i++)
        if (c->skip_local[i] == txid) return true;
    return false;
}

static bool skip_local_add(merge_ctx *c, uint64_t txid) {
    if (c->nskip == c->cap_skip) {
        size_t cap = c->cap_skip ? c->cap_skip * 2 : 8;
        uint64_t *p = realloc(c->skip_local, cap * sizeof(*p));
        if (!p) return false;
        c->skip_local = p;
        c->cap_skip = cap;
    }
    c->skip_local[c->nskip++] = txid;
    return true;
}

/* Opens one input: the local L0 file when there is one, else the replica
 * copy through the resumable reader. */
static ls_code open_input(merge_ctx *c, const ls_ltx_file *f, bool try_local, bool *local,
                          ls_reader **out, ls_err *err) {
    *local = false;
    if (try_local && c->db && c->src_level == 0 && f->min_txid == f->max_txid) {
        ls_err le;
        ls_code rc = ls_db_open_l0(c->db, f->max_txid, out, &le);
        if (rc == LS_OK) {
            *local = true;
            return LS_OK;
        }
        if (rc != LS_ERR_NOTFOUND)
            ls_debug("compaction: local L0 file unusable, reading the replica copy", "txid",
                     LS_HEX16(f->max_txid), "error", le.msg);
    }
    return ls_ltx_open_resumable(c->st, c->src_level, f->min_txid, f->max_txid, f->size, out, err);
}

/* After a failed merge: re-reads each input on its own to name the one that
 * is broken. Returns true (err filled) when a culprit was found. */
static bool diagnose_inputs(merge_ctx *c, const ls_ltx_file *files, const bool *was_local,
                            size_t n, ls_err *err) {
    for (size_t i = 0; i < n; i++) {
        ls_reader *r = NULL;
        bool local = false;
        ls_err e;
        ls_code rc = open_input(c, &files[i], was_local[i], &local, &r, &e);
        if (rc == LS_OK) {
            rc = ltx_verify(r, NULL, NULL, &e);
            ls_reader_close(r);
        }
        if (rc != LS_OK && rc != LS_ERR_NOMEM) {
            char name[LS_LTX_KEY_MAX + 512];
            input_name(c->st, c->db, c->src_level, &files[i], local, name, sizeof(name));
            ls_err_set(err, rc, "%s: %s", name, e.msg);
            if (local) { /* is the replica's copy usable instead? */
                ls_reader *rr = NULL;
                bool l2 = false;
                ls_err e2;
                if (open_input(c, &files[i], false, &l2, &rr, &e2) == LS_OK) {
                    if (ltx_verify(rr, NULL, NULL, &e2) == LS_OK) {
                        c->bad_local_valid = true;
                        c->bad_local = files[i].max_txid;
                    }
                    ls_reader_close(rr);
                }
            }
            return true;
        }
    }
    return false;
}

/*
 * One merge pass: [prev temp file (if prev_fd >= 0)] + files[0..n) into a
 * new temp file (*out_fd, *out_size, *hdr). prev_fd stays open (caller's).
 */
static ls_code merge_pass(merge_ctx *c, int prev_fd, const ls_ltx_file *files, size_t n,
                          int *out_fd, uint64_t *out_size, ltx_header *hdr, ls_err *err) {
    ls_code rc = LS_OK;
    size_t nloc = 0;
    size_t total = n + (prev_fd >= 0 ? 1 : 0);
    ls_reader **rs = calloc(total, sizeof(*rs));
    bool *was_local = calloc(n ? n : 1, sizeof(*was_local));
    buf_writer *bw = NULL;
    int fd = -1;
    if (!rs || !was_local) {
        rc = ls_err_set(err, LS_ERR_NOMEM, "out of memory");
        goto done;
    }
    size_t k = 0;
    if (prev_fd >= 0) {
        rs[k] = ls_reader_fd(prev_fd, 0, UINT64_MAX, 0);
        if (!rs[k]) {
            rc = ls_err_set(err, LS_ERR_NOMEM, "out of memory");
            goto done;
        }
        k++;
    }
    for (size_t i = 0; i < n; i++, k++) {
        rc = open_input(c, &files[i], !skip_local(c, files[i].max_txid), &was_local[i], &rs[k],
                        err);
        if (rc != LS_OK) {
            char name[LS_LTX_KEY_MAX + 512];
            input_name(c->st, c->db, c->src_level, &files[i], false, name, sizeof(name));
            ls_err_wrap(err, "open %s", name);
            goto done;
        }
        if (was_local[i]) nloc++;
    }
    rc = tmp_create(c->db, &fd, err);
    if (rc != LS_OK) goto done;
    bw = bw_new(fd);
    if (!bw) {
        rc = ls_err_set(err, LS_ERR_NOMEM, "out of memory");
        goto done;
    }
    ls_err me;
    memset(&me, 0, sizeof(me));
    rc = ltx_compact(rs, total, LTX_FLAG_NO_CHECKSUM, &bw->base, hdr, &me);
    if (rc == LS_OK) rc = ls_writer_finish(&bw->base, &me);
    for (size_t i = 0; i < total; i++) {
        ls_reader_close(rs[i]);
        rs[i] = NULL;
    }
    if (rc != LS_OK) {
        ls_err de;
        if (rc != LS_ERR_NOMEM && rc != LS_ERR_NOSPACE &&
            diagnose_inputs(c, files, was_local, n, &de))
            me = de;
        else
            me.code = rc;
        rc = me.code;
        if (err) *err = me;
        goto done;
    }
    *out_size = bw->total;
    *out_fd = fd;
    fd = -1;
    c->nlocal += nloc;
done:
    if (bw) ls_writer_close(&bw->base);
    if (fd >= 0) close(fd);
    if (rs)
        for (size_t i = 0; i < total; i++) ls_reader_close(rs[i]);
    free(rs);
    free(was_local);
    return rc;
}

/* Merges all files (ascending) in passes of at most LS_COMPACT_MAX_OPEN open
 * inputs, folding each pass's output into the next. */
static ls_code merge_all(merge_ctx *c, const ls_ltx_file *files, size_t n, int *out_fd,
                         uint64_t *out_size, ltx_header *hdr, ls_err *err) {
    int acc = -1;
    size_t i = 0;
    while (i < n) {
        size_t room = LS_COMPACT_MAX_OPEN - (acc >= 0 ? 1 : 0);
        size_t k = n - i < room ? n - i : room;
        int fd = -1;
        uint64_t size = 0;
        c->bad_local_valid = false;
        ls_code rc = merge_pass(c, acc, files + i, k, &fd, &size, hdr, err);
        if (rc != LS_OK && c->bad_local_valid && !skip_local(c, c->bad_local) &&
            skip_local_add(c, c->bad_local)) {
            ls_warn("compaction: local L0 file is unusable, using the replica copy", "txid",
                    LS_HEX16(c->bad_local), "error", err ? err->msg : "");
            continue; /* same pass again */
        }
        if (acc >= 0) close(acc);
        acc = -1;
        if (rc != LS_OK) return rc;
        acc = fd;
        *out_size = size;
        i += k;
    }
    *out_fd = acc;
    return LS_OK;
}

/* 7.3 step 7 / 7.9: consecutive files must satisfy prev.max + 1 == cur.min. */
static ls_code verify_level(ls_storage *st, int level, bool *ok, ls_err *err) {
    ls_ltx_file_list l = {0};
    ls_code rc = ls_ltx_list(st, level, 0, false, &l, err);
    if (rc != LS_OK) return rc;
    *ok = true;
    for (size_t i = 1; i < l.n; i++) {
        const ls_ltx_file *p = &l.items[i - 1], *q = &l.items[i];
        if (q->min_txid == p->max_txid + 1) continue;
        char a[LTX_FILENAME_MAX], b[LTX_FILENAME_MAX];
        file_name(p, a);
        file_name(q, b);
        ls_warn("compaction verification failed", "level", LS_INT(level), "type",
                q->min_txid > p->max_txid + 1 ? "gap" : "overlap", "prev", a, "file", b);
        *ok = false;
    }
    ls_ltx_file_list_free(&l);
    if (!*ok) __atomic_fetch_add(&g_verify_errors, 1, __ATOMIC_RELAXED);
    return LS_OK;
}

/* Stores the temp file (fd, size) as (level, min, max) with timestamp_ms. */
static ls_code put_tmp(ls_storage *st, int level, uint64_t min, uint64_t max, int fd,
                       uint64_t size, int64_t timestamp_ms, ls_ltx_file *written, ls_err *err) {
    ls_reader *r = ls_reader_fd(fd, 0, size, 0);
    if (!r) return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
    ls_code rc = ls_ltx_write_ex(st, level, min, max, r, timestamp_ms, written, err);
    ls_reader_close(r);
    return rc;
}

ls_code ls_compact_level_ex(ls_storage *st, ls_db *db, int level, int64_t interval_ns,
                            int64_t now_ns, bool verify, ls_compact_result *res, ls_err *err) {
    ls_compact_result local_res;
    if (!res) res = &local_res;
    memset(res, 0, sizeof(*res));
    res->outcome = LS_COMPACT_NOTHING;
    res->level = level;
    if (!st || level < 1 || level > LS_MAX_LEVELS)
        return ls_err_set(err, LS_ERR_INVALID, "compact: invalid level %d (1..%d)", level,
                          LS_MAX_LEVELS);
    if (db && !db_ready(db)) {
        res->outcome = LS_COMPACT_NOT_READY;
        return LS_OK;
    }

    /* step 2: newest file of the destination level, "too early" */
    ls_ltx_file dst;
    bool have_dst = false;
    ls_code rc = ls_ltx_last(st, level, &dst, &have_dst, err);
    if (rc != LS_OK) return ls_err_wrap(err, "compact level %d: list level %d", level, level);
    if (have_dst && dst.created_at_ns > ls_interval_prev(now_ns, interval_ns)) {
        res->outcome = LS_COMPACT_TOO_EARLY;
        return LS_OK;
    }
    if (have_dst && dst.max_txid == UINT64_MAX) return LS_OK;

    /* steps 3-4: inputs = level-1 files starting after dst (a source whose
     * max <= dst.min cannot start after dst.max, so step 3 is implied) */
    uint64_t seek = have_dst ? dst.max_txid + 1 : 0;
    ls_ltx_file_list in = {0};
    rc = ls_ltx_list(st, level - 1, seek, false, &in, err);
    if (rc != LS_OK) return ls_err_wrap(err, "compact level %d: list level %d", level, level - 1);
    if (in.n == 0) {
        ls_ltx_file_list_free(&in);
        return LS_OK;
    }
    uint64_t min = in.items[0].min_txid, max = 0;
    for (size_t i = 0; i < in.n; i++)
        if (in.items[i].max_txid > max) max = in.items[i].max_txid;
    if (min != seek && !(seek == 0 && min == 1))
        ls_warn("compaction input does not continue the level", "level", LS_INT(level),
                "expected_min_txid", LS_HEX16(seek ? seek : 1), "min_txid", LS_HEX16(min));

    /* step 5: merge into a temp file, then one atomic put */
    merge_ctx c = {.st = st, .db = db, .src_level = level - 1, .dst_level = level};
    int fd = -1;
    uint64_t size = 0;
    ltx_header hdr;
    memset(&hdr, 0, sizeof(hdr));
    rc = merge_all(&c, in.items, in.n, &fd, &size, &hdr, err);
    char range[2 * LTX_TXID_STR_SIZE + 2];
    {
        char a[LTX_TXID_STR_SIZE], b[LTX_TXID_STR_SIZE];
        ltx_format_txid(min, a);
        ltx_format_txid(max, b);
        snprintf(range, sizeof(range), "%s-%s", a, b);
    }
    res->ninputs = in.n;
    res->nlocal = c.nlocal;
    free(c.skip_local);
    ls_ltx_file_list_free(&in);
    if (rc != LS_OK) return ls_err_wrap(err, "compact level %d (%s)", level, range);
    if (hdr.min_txid != min || hdr.max_txid != max) {
        close(fd);
        return ls_err_set(err, LS_ERR_FORMAT,
                          "compact level %d (%s): merged header covers %016llx-%016llx, "
                          "which does not match the input file names",
                          level, range, (unsigned long long)hdr.min_txid,
                          (unsigned long long)hdr.max_txid);
    }
    ls_ltx_file written;
    memset(&written, 0, sizeof(written));
    rc = put_tmp(st, level, min, max, fd, size, hdr.timestamp, &written, err);
    close(fd);
    if (rc != LS_OK) return ls_err_wrap(err, "compact level %d (%s): write", level, range);

    res->outcome = LS_COMPACT_DONE;
    res->min_txid = min;
    res->max_txid = max;
    res->size = (int64_t)size;
    res->timestamp_ms = hdr.timestamp;
    ls_debug("compacted", "level", LS_INT(level), "min_txid", LS_HEX16(min), "max_txid",
             LS_HEX16(max), "inputs", LS_INT(res->ninputs), "size", LS_INT(size));

    /* step 7 */
    if (verify) {
        bool ok = true;
        ls_err ve;
        if (verify_level(st, level, &ok, &ve) != LS_OK)
            ls_warn("compaction verification: list failed", "level", LS_INT(level), "error",
                    ve.msg);
        res->verify_failed = !ok;
    }
    return LS_OK;
}

ls_code ls_compact_level(ls_storage *st, ls_db *db, int level, int64_t interval_ns,
                         int64_t now_ns, ls_compact_outcome *out, ls_err *err) {
    ls_compact_result r;
    ls_code rc = ls_compact_level_ex(st, db, level, interval_ns, now_ns, false, &r, err);
    if (out) *out = r.outcome;
    return rc;
}

/* ---- snapshots (7.4, 7.5) ------------------------------------------------- */

ls_code ls_compact_snapshot_ex(ls_storage *st, ls_db *db, int64_t interval_ns, int64_t now_ns,
                               bool force, ls_compact_result *res, ls_err *err) {
    ls_compact_result local_res;
    if (!res) res = &local_res;
    memset(res, 0, sizeof(*res));
    res->outcome = LS_COMPACT_NOTHING;
    res->level = LS_SNAPSHOT_LEVEL;
    if (!st) return ls_err_set(err, LS_ERR_INVALID, "snapshot: no storage");
    if (!db || !db_ready(db)) {
        res->outcome = LS_COMPACT_NOT_READY;
        return LS_OK;
    }
    ls_pos pos;
    ls_code rc = ls_db_pos(db, &pos, err);
    if (rc != LS_OK) return ls_err_wrap(err, "snapshot: local position");
    if (pos.txid == 0) {
        res->outcome = LS_COMPACT_NOT_READY;
        return LS_OK;
    }
    if (!force) {
        ls_ltx_file last;
        bool found = false;
        rc = ls_ltx_last(st, LS_SNAPSHOT_LEVEL, &last, &found, err);
        if (rc != LS_OK) return ls_err_wrap(err, "snapshot: list level %d", LS_SNAPSHOT_LEVEL);
        if (found && last.created_at_ns > ls_interval_prev(now_ns, interval_ns)) {
            res->outcome = LS_COMPACT_TOO_EARLY;
            return LS_OK;
        }
        if (found && last.max_txid >= pos.txid) return LS_OK;
    }

    int fd = -1;
    rc = tmp_create(db, &fd, err);
    if (rc != LS_OK) return ls_err_wrap(err, "snapshot");
    buf_writer *bw = bw_new(fd);
    if (!bw) {
        close(fd);
        return ls_err_set(err, LS_ERR_NOMEM, "snapshot: out of memory");
    }
    uint64_t max_txid = 0;
    int64_t ts_ms = 0;
    rc = ls_db_write_snapshot(db, &bw->base, &max_txid, &ts_ms, err);
    if (rc == LS_OK) rc = ls_writer_finish(&bw->base, err);
    uint64_t size = bw->total;
    ls_writer_close(&bw->base);
    if (rc != LS_OK) {
        close(fd);
        return ls_err_wrap(err, "snapshot");
    }
    if (max_txid == 0) {
        close(fd);
        return ls_err_set(err, LS_ERR_INTERNAL, "snapshot: database wrote a snapshot of TXID 0");
    }
    ls_ltx_file written;
    rc = put_tmp(st, LS_SNAPSHOT_LEVEL, 1, max_txid, fd, size, ts_ms, &written, err);
    close(fd);
    if (rc != LS_OK) {
        char a[LTX_TXID_STR_SIZE];
        ltx_format_txid(max_txid, a);
        return ls_err_wrap(err, "snapshot %s: write", a);
    }
    res->outcome = LS_COMPACT_DONE;
    res->min_txid = 1;
    res->max_txid = max_txid;
    res->size = (int64_t)size;
    res->timestamp_ms = ts_ms;
    ls_debug("snapshot written", "db", ls_db_path(db), "txid", LS_HEX16(max_txid), "size",
             LS_INT(size));
    return LS_OK;
}

ls_code ls_compact_snapshot(ls_storage *st, ls_db *db, int64_t interval_ns, int64_t now_ns,
                            bool force, ls_compact_outcome *out, ls_err *err) {
    ls_compact_result r;
    ls_code rc = ls_compact_snapshot_ex(st, db, interval_ns, now_ns, force, &r, err);
    if (out) *out = r.outcome;
    return rc;
}

/* ---- retention (7.6, 7.7) ------------------------------------------------- */

/* Moves the marked entries of l to the front (order kept); returns count. */
static size_t compact_marked(ls_ltx_file_list *l, const bool *mark) {
    size_t k = 0;
    for (size_t i = 0; i < l->n; i++)
        if (mark[i]) l->items[k++] = l->items[i];
    return k;
}

ls_code ls_enforce_snapshot_retention_ex(ls_storage *st, ls_db *db, const ls_compact_opts *o,
                                         int64_t now_ns, ls_retention_result *res, ls_err *err) {
    ls_retention_result local_res;
    if (!res) res = &local_res;
    memset(res, 0, sizeof(*res));
    if (!st || !o) return ls_err_set(err, LS_ERR_INVALID, "snapshot retention: bad arguments");
    res->remote_deletes = o->retention_enabled;
    (void)db; /* snapshots and levels >= 1 have no local copies (4.2) */

    /* 1-2 */
    int64_t cutoff = sub_sat(now_ns, o->snapshot_retention_ns);
    ls_ltx_file_list snaps = {0};
    ls_code rc = ls_ltx_list(st, LS_SNAPSHOT_LEVEL, 0, false, &snaps, err);
    if (rc != LS_OK)
        return ls_err_wrap(err, "snapshot retention: list level %d", LS_SNAPSHOT_LEVEL);
    bool *mark = calloc(snaps.n ? snaps.n : 1, sizeof(*mark));
    if (!mark) {
        ls_ltx_file_list_free(&snaps);
        return ls_err_set(err, LS_ERR_NOMEM, "snapshot retention: out of memory");
    }
    for (size_t i = 0; i < snaps.n; i++) mark[i] = snaps.items[i].created_at_ns < cutoff;
    if (snaps.n) mark[snaps.n - 1] = false;
    /* 3: MaxTXID of the file just before the first survivor */
    uint64_t min_snapshot_txid = 0;
    for (size_t i = 0; i < snaps.n; i++) {
        if (!mark[i]) {
            if (i > 0) min_snapshot_txid = snaps.items[i - 1].max_txid;
            break;
        }
    }
    res->min_snapshot_txid = min_snapshot_txid;
    size_t nmark = compact_marked(&snaps, mark);
    free(mark);
    res->snapshots_deleted = nmark;
    /* 4 */
    if (nmark && o->retention_enabled) {
        rc = delete_files(st, snaps.items, nmark, err);
        if (rc != LS_OK) {
            ls_ltx_file_list_free(&snaps);
            return ls_err_wrap(err, "snapshot retention: delete snapshots");
        }
    }
    if (nmark)
        ls_debug("snapshot retention", "deleted", LS_INT(nmark), "min_snapshot_txid",
                 LS_HEX16(min_snapshot_txid), "remote", o->retention_enabled ? "true" : "false");
    ls_ltx_file_list_free(&snaps);

    /* 5: cascade to levels 1..nlevels */
    int nlevels = o->nlevels;
    if (nlevels > LS_MAX_LEVELS) nlevels = LS_MAX_LEVELS;
    for (int level = 1; level <= nlevels && min_snapshot_txid > 0; level++) {
        ls_ltx_file_list l = {0};
        rc = ls_ltx_list(st, level, 0, false, &l, err);
        if (rc != LS_OK) return ls_err_wrap(err, "snapshot retention: list level %d", level);
        size_t k = 0;
        /* marked = MaxTXID < minSnapshotTXID, never the last listed file */
        for (size_t i = 0; i + 1 < l.n; i++)
            if (l.items[i].max_txid < min_snapshot_txid) l.items[k++] = l.items[i];
        res->level_deleted[level] = k;
        if (k && o->retention_enabled) {
            rc = delete_files(st, l.items, k, err);
            if (rc != LS_OK) {
                ls_ltx_file_list_free(&l);
                return ls_err_wrap(err, "snapshot retention: delete level %d files", level);
            }
        }
        if (k)
            ls_debug("level retention", "level", LS_INT(level), "deleted", LS_INT(k),
                     "below_txid", LS_HEX16(min_snapshot_txid));
        ls_ltx_file_list_free(&l);
    }
    return LS_OK;
}

ls_code ls_enforce_snapshot_retention(ls_storage *st, ls_db *db, const ls_compact_opts *o,
                                      int64_t now_ns, ls_err *err) {
    return ls_enforce_snapshot_retention_ex(st, db, o, now_ns, NULL, err);
}

/* Local L0 file mtime (ns), 0 when unavailable. */
static int64_t local_l0_mtime(ls_db *db, const ls_ltx_file *f) {
    if (!db || !ls_db_meta_path(db)) return 0;
    char name[LTX_FILENAME_MAX];
    file_name(f, name);
    char *p = ls_strfmt("%s/ltx/0/%s", ls_db_meta_path(db), name);
    if (!p) return 0;
    struct stat sb;
    int64_t t = 0;
    if (stat(p, &sb) == 0)
        t = (int64_t)sb.st_mtim.tv_sec * LS_NS_PER_SEC + (int64_t)sb.st_mtim.tv_nsec;
    free(p);
    return t;
}

ls_code ls_enforce_l0_retention_ex(ls_storage *st, ls_db *db, const ls_compact_opts *o,
                                   int64_t now_ns, ls_retention_result *res, ls_err *err) {
    ls_retention_result local_res;
    if (!res) res = &local_res;
    memset(res, 0, sizeof(*res));
    if (!st || !o) return ls_err_set(err, LS_ERR_INVALID, "l0 retention: bad arguments");
    res->remote_deletes = o->retention_enabled;
    if (o->l0_retention_ns <= 0) return LS_OK;

    /* 1 */
    uint64_t max_l1 = 0;
    ls_code rc = ls_ltx_max_txid(st, 1, &max_l1, err);
    if (rc != LS_OK) return ls_err_wrap(err, "l0 retention: list level 1");
    if (max_l1 == 0) return LS_OK;
    /* 2 */
    int64_t threshold = sub_sat(now_ns, o->l0_retention_ns);
    /* 3 */
    ls_ltx_file_list l = {0};
    rc = ls_ltx_list(st, 0, 0, false, &l, err);
    if (rc != LS_OK) return ls_err_wrap(err, "l0 retention: list level 0");
    bool *mark = calloc(l.n ? l.n : 1, sizeof(*mark));
    if (!mark) {
        ls_ltx_file_list_free(&l);
        return ls_err_set(err, LS_ERR_NOMEM, "l0 retention: out of memory");
    }
    bool reached_end = true;
    for (size_t i = 0; i < l.n; i++) {
        const ls_ltx_file *f = &l.items[i];
        int64_t created = f->created_at_ns;
        if (created == 0) created = local_l0_mtime(db, f);
        if (created == 0) created = threshold;
        if (created > threshold) {
            res->l0_too_recent = l.n - i;
            reached_end = false;
            break;
        }
        if (f->max_txid <= max_l1) {
            mark[i] = true;
            res->l0_eligible++;
        } else {
            res->l0_not_compacted++;
        }
    }
    /* 4: the newest L0 file is always kept */
    if (reached_end && l.n && mark[l.n - 1]) {
        mark[l.n - 1] = false;
        res->l0_eligible--;
    }
    size_t nmark = compact_marked(&l, mark);
    free(mark);
    /* 5 */
    if (nmark) {
        uint64_t upto = 0;
        for (size_t i = 0; i < nmark; i++)
            if (l.items[i].max_txid > upto) upto = l.items[i].max_txid;
        res->l0_deleted_upto = upto;
        if (o->retention_enabled) {
            rc = delete_files(st, l.items, nmark, err);
            if (rc != LS_OK) {
                ls_ltx_file_list_free(&l);
                return ls_err_wrap(err, "l0 retention: delete level 0 files");
            }
        }
        if (db) {
            rc = ls_db_delete_l0_upto(db, upto, err);
            if (rc != LS_OK) {
                ls_ltx_file_list_free(&l);
                return ls_err_wrap(err, "l0 retention: delete local L0 files");
            }
        }
        ls_debug("l0 retention", "deleted", LS_INT(nmark), "upto_txid", LS_HEX16(upto), "remote",
                 o->retention_enabled ? "true" : "false");
    }
    ls_ltx_file_list_free(&l);
    return LS_OK;
}

ls_code ls_enforce_l0_retention(ls_storage *st, ls_db *db, const ls_compact_opts *o,
                                int64_t now_ns, ls_err *err) {
    return ls_enforce_l0_retention_ex(st, db, o, now_ns, NULL, err);
}
