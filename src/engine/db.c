/*
 * engine/db.c — one replicated SQLite database: WAL -> L0 LTX files
 * (spec 4, 5, 7.5). Contract in db.h.
 *
 * ---------------------------------------------------------------------------
 * The long-running read transaction ("pin") and application checkpoints
 * ---------------------------------------------------------------------------
 * Litestream keeps a read transaction open on the database so that nobody
 * else can restart or truncate the WAL underneath it. Facts from SQLite's
 * wal.c this design relies on:
 *   (a) a reader holding read-mark slot i >= 1 with mark M stops every
 *       checkpoint from backfilling frames after M;
 *   (b) restarting the WAL (a writer after a complete checkpoint, or a
 *       RESTART/TRUNCATE checkpoint) needs EXCLUSIVE locks on slots 1..4, so
 *       it is impossible while anyone holds a slot >= 1;
 *   (c) a reader that starts while the WAL is fully backfilled takes slot 0,
 *       which does not block a restart but blocks ALL backfilling (the
 *       checkpointer needs slot 0 exclusively).
 * Go's Litestream begins its read transaction once (and after its own
 * checkpoints) and keeps it, so its read mark never moves: an application's
 * own checkpoints (its auto-checkpoint, or explicit ones) can copy nothing
 * newer than that mark, i.e. they make no progress at all between
 * Litestream's checkpoints.
 *
 * Decision: we keep the pin at all times (except around our own checkpoint,
 * 5.7) but MOVE it forward after every sync step that read the WAL up to its
 * committed end: a second read transaction is begun on another connection
 * and only then is the old one rolled back ("handover"; two pin connections
 * alternate, so there is never a moment without a pin). Consequences:
 *   - application checkpoints of every mode can backfill everything we have
 *     already copied into L0 files (their progress lags ours by at most one
 *     sync); what they still cannot do while we run is RESTART/TRUNCATE the
 *     WAL (that needs all readers gone — inherent to any reader); they
 *     return SQLITE_BUSY after their busy timeout having backfilled what
 *     they could; the WAL is restarted by our own checkpoint policy (5.7);
 *   - invariant ("guard"): while the pin has been held continuously since a
 *     sync step that read the WAL to its committed end (and the WAL
 *     generation did not change during that step), the WAL can only be
 *     restarted or truncated by someone else if every frame committed in the
 *     current generation is already in our L0 files, and at most once
 *     (after a restart our pin must be on slot 0, which freezes backfilling,
 *     so the new generation cannot be restarted again). Proof sketch: the
 *     old pin's mark (or, on slot 0, the frozen backfill point) is <= the end
 *     of that sync's map; a new pin can only land on slot 0 if everything is
 *     backfilled, hence everything committed is <= that end.
 *   - verify (5.5) uses the guard: a WAL generation change seen while
 *     guarded is always "expected" and continues incrementally from offset
 *     32. Without the guard (start-up, after our pin was released without a
 *     write barrier, after adopt/reset) we use the spec's conservative rules
 *     plus one extra check (5.5 step 8: the frame right after our last
 *     synced offset must not be a valid continuation of the old generation),
 *     so frames written while we were not looking are never skipped: a
 *     snapshot is taken instead. Go's in-memory "syncedToWALEnd" is NOT
 *     trusted on its own (it is only sound with an unbroken pin).
 *   - reading pages: a snapshot (from offset 32) may read WAL frames that are
 *     already backfilled, which a restart could overwrite while we read.
 *     SQLite writes the new WAL header (new salts) before it overwrites any
 *     frame of a restarted WAL, so once all pages of a file are read the WAL
 *     header is read again: changed salts discard the file and verify runs
 *     again (it then sees the new generation).
 *   - ls_db_write_snapshot first runs one unlimited sync step without a
 *     handover, so the pin's mark is <= the end of the pages it streams and
 *     no application checkpoint can change database-file pages it reads.
 *
 * Deviations from Go, all on the safe side: the _litestream_seq bump after a
 * checkpoint is only made when the checkpoint copied every frame (only then
 * can it restart the WAL) and, like the first frames of a restarted WAL, it
 * goes with the next regular sync instead of an extra L0 file inside the
 * checkpoint (Go syncs again after a PASSIVE restart); snapshots always read the WAL
 * from offset 32 with the current header salts (Go may resume at the old
 * offset, which would miss unbackfilled frames before it); a WAL header
 * salt change between verify and write restarts verify (Go falls back to
 * offset 32 keeping the decision); an incremental step whose grown pages
 * lie beyond the database file end becomes a snapshot.
 */
#include "engine/db.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ltx/ltx.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "wal/wal.h"

#define DEFAULT_BUSY_TIMEOUT_NS (1 * LS_NS_PER_SEC)
#define DEFAULT_CHECKPOINT_INTERVAL_NS (60 * LS_NS_PER_SEC)
#define DEFAULT_MIN_CHECKPOINT_PAGE_N 1000
#define DEFAULT_TRUNCATE_PAGE_N 121359
#define DEFAULT_MAX_SYNC_WAL_BYTES (64 * 1024 * 1024)
#define NOSPACE_CLEANUP_AFTER 3
#define VERIFY_RETRIES 3
#define BUF_WRITER_SIZE (256 * 1024)

struct ls_db {
    ls_db_opts opts;
    char *path, *meta_path, *wal_path, *ltx_root, *l0_dir;

    /* Two SQLite connections per database. The long-running read tx (the
     * pin) alternates between them so one is held at every instant; the
     * write barrier is taken on the one not pinned, and pragmas, seq bumps
     * and checkpoints run on whichever holds no transaction (spare_conn).
     * Each connection costs ~20 KiB, which matters with many databases. */
    sqlite3 *c[2];
    int pin_cur;          /* index of the connection holding the read tx; -1 none */
    int barrier_idx;      /* index of the connection holding the write barrier; -1 none */
    uint64_t pin_epoch;   /* incremented whenever a pin is (re)started */
    bool guard;           /* see the header comment */
    bool barrier;         /* c[barrier_idx] holds a write transaction */
    bool handover_pending;

    int db_fd;            /* read-only fd on the database, kept open */
    uint32_t page_size;
    bool initialized;
    bool closed;
    mode_t file_mode, dir_mode;
    uid_t uid;
    gid_t gid;

    bool pos_valid;
    ls_pos pos;

    int64_t last_synced_wal_offset;
    bool synced_to_wal_end;
    bool synced_since_checkpoint;
    bool emergency_passive_failed;
    bool snapshot_active; /* checkpoint lock held "shared" by a snapshot */
    bool checkpoint_deferred; /* a due checkpoint was left to the next sync */
    int nospace_errors;

    ls_sync_result acc;   /* every L0 write since the start of ls_db_sync */

    uint8_t *page;        /* page buffers (page_size bytes) */
    uint8_t *page2;

    pthread_mutex_t mu;   /* protects st */
    ls_db_status st;
};

/* ------------------------------------------------------------------------ */
/* Options, paths                                                           */

void ls_db_opts_defaults(ls_db_opts *o) {
    if (o->busy_timeout_ns == 0) o->busy_timeout_ns = DEFAULT_BUSY_TIMEOUT_NS;
    if (o->checkpoint_interval_ns == 0) o->checkpoint_interval_ns = DEFAULT_CHECKPOINT_INTERVAL_NS;
    if (o->min_checkpoint_page_n == 0) o->min_checkpoint_page_n = DEFAULT_MIN_CHECKPOINT_PAGE_N;
    if (o->truncate_page_n == 0) o->truncate_page_n = DEFAULT_TRUNCATE_PAGE_N;
    if (o->max_sync_wal_bytes == 0) o->max_sync_wal_bytes = DEFAULT_MAX_SYNC_WAL_BYTES;
}

char *ls_db_default_meta_path(const char *db_path) {
    if (!db_path) return NULL;
    char *dir = ls_path_dir(db_path);
    char *base = ls_path_base(db_path);
    char *out = NULL;
    if (dir && base) {
        char *name = ls_strfmt(".%s-litestream", base);
        if (name) out = ls_path_join(dir, name);
        free(name);
    }
    free(dir);
    free(base);
    return out;
}

const char *ls_db_path(const ls_db *db) { return db->path; }
const char *ls_db_meta_path(const ls_db *db) { return db->meta_path; }
const char *ls_db_wal_path(const ls_db *db) { return db->wal_path; }

/* ------------------------------------------------------------------------ */
/* Status                                                                   */

static int64_t file_size_or(const char *path, int64_t dflt) {
    struct stat sb;
    if (stat(path, &sb) != 0) return dflt;
    return (int64_t)sb.st_size;
}

static void status_refresh(ls_db *db) {
    int64_t wal = file_size_or(db->wal_path, -1);
    int64_t dbs = -1;
    struct stat sb;
    bool exists = stat(db->path, &sb) == 0;
    if (exists) dbs = (int64_t)sb.st_size;
    pthread_mutex_lock(&db->mu);
    db->st.initialized = db->initialized;
    db->st.exists = exists;
    db->st.page_size = db->page_size;
    if (db->pos_valid) db->st.txid = db->pos.txid;
    db->st.wal_size = wal;
    db->st.db_size = dbs;
    pthread_mutex_unlock(&db->mu);
}

static void status_error(ls_db *db, ls_code rc, const ls_err *e) {
    pthread_mutex_lock(&db->mu);
    db->st.last_error = rc;
    if (rc == LS_OK) db->st.last_error_msg[0] = '\0';
    else snprintf(db->st.last_error_msg, sizeof(db->st.last_error_msg), "%s", e ? e->msg : "");
    pthread_mutex_unlock(&db->mu);
}

void ls_db_status_get(ls_db *db, ls_db_status *out) {
    pthread_mutex_lock(&db->mu);
    *out = db->st;
    pthread_mutex_unlock(&db->mu);
}

/* ------------------------------------------------------------------------ */
/* SQLite helpers                                                           */

static ls_code sql_code(int rc) {
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return LS_ERR_BUSY;
    case SQLITE_FULL: return LS_ERR_NOSPACE;
    case SQLITE_NOMEM: return LS_ERR_NOMEM;
    case SQLITE_IOERR: return LS_ERR_IO;
    case SQLITE_CANTOPEN: return LS_ERR_IO;
    case SQLITE_PERM:
    case SQLITE_AUTH:
    case SQLITE_READONLY: return LS_ERR_AUTH;
    default: return LS_ERR_SQLITE;
    }
}

static ls_code sql_fail(ls_db *db, sqlite3 *c, int rc, ls_err *err, const char *what) {
    return ls_err_set(err, sql_code(rc), "%s: %s: %s", db->path, what,
                      c ? sqlite3_errmsg(c) : sqlite3_errstr(rc));
}

static ls_code sql_exec(ls_db *db, sqlite3 *c, const char *sql, ls_err *err) {
    int rc = sqlite3_exec(c, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK) return sql_fail(db, c, rc, err, sql);
    return LS_OK;
}

/* Runs a one-row query and copies the first column as text. */
static ls_code sql_query_text(ls_db *db, sqlite3 *c, const char *sql, char *out, size_t n,
                              ls_err *err) {
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(c, sql, -1, &st, NULL);
    if (rc != SQLITE_OK) return sql_fail(db, c, rc, err, sql);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(st, 0);
        snprintf(out, n, "%s", t ? (const char *)t : "");
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) rc = SQLITE_DONE; /* ignore further rows */
    } else if (rc == SQLITE_DONE) {
        out[0] = '\0';
    }
    ls_code code = LS_OK;
    if (rc != SQLITE_DONE) code = sql_fail(db, c, rc, err, sql);
    sqlite3_finalize(st);
    return code;
}

static ls_code sql_open(ls_db *db, sqlite3 **out, ls_err *err) {
    sqlite3 *c = NULL;
    int rc = sqlite3_open_v2(db->path, &c, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        ls_code code = sql_fail(db, c, rc, err, "open");
        sqlite3_close(c);
        return code;
    }
    /* Our connections run a handful of tiny statements and read pages
     * through plain file reads: no lookaside arena and a 64 KiB page cache
     * keep a database's two connections to a few dozen KiB (the defaults
     * cost ~120 KiB of lookaside each, which dominates RSS with many dbs). */
    sqlite3_db_config(c, SQLITE_DBCONFIG_LOOKASIDE, NULL, 0, 0);
    int64_t ms = db->opts.busy_timeout_ns / LS_NS_PER_MS;
    if (ms > INT32_MAX) ms = INT32_MAX;
    sqlite3_busy_timeout(c, (int)ms);
    int persist = 1;
    rc = sqlite3_file_control(c, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
    if (rc != SQLITE_OK) {
        ls_code code = sql_fail(db, c, rc, err, "set PERSIST_WAL");
        sqlite3_close(c);
        return code;
    }
    ls_code code = sql_exec(db, c, "PRAGMA wal_autocheckpoint = 0; PRAGMA cache_size = -64", err);
    if (code != LS_OK) {
        sqlite3_close(c);
        return code;
    }
    *out = c;
    return LS_OK;
}

/* The connection holding neither the pin nor the barrier (NULL when both are
 * held: then there is nothing to run statements on until one ends). */
static sqlite3 *spare_conn(ls_db *db) {
    for (int i = 0; i < 2; i++)
        if (i != db->pin_cur && i != db->barrier_idx) return db->c[i];
    return NULL;
}

static ls_code need_spare(ls_db *db, sqlite3 **out, const char *what, ls_err *err) {
    *out = spare_conn(db);
    if (*out) return LS_OK;
    return ls_err_set(err, LS_ERR_BUSY, "%s: %s: both connections are busy; will retry", db->path,
                      what);
}

/* Bumps _litestream_seq: forces a WAL write. */
static ls_code bump_seq(ls_db *db, ls_err *err) {
    sqlite3 *c;
    if (need_spare(db, &c, "bump _litestream_seq", err) != LS_OK) return err->code;
    ls_code rc = sql_exec(db, c,
                          "INSERT INTO _litestream_seq (id, seq) VALUES (1, 1) "
                          "ON CONFLICT (id) DO UPDATE SET seq = seq + 1",
                          err);
    if (rc != LS_OK) ls_err_wrap(err, "bump _litestream_seq");
    return rc;
}

/* ---- the pin (long-running read transaction) ---- */

static ls_code pin_begin(ls_db *db, int i, ls_err *err) {
    sqlite3 *c = db->c[i];
    ls_code rc = sql_exec(db, c, "BEGIN", err);
    if (rc != LS_OK) return ls_err_wrap(err, "begin read transaction");
    char buf[32];
    rc = sql_query_text(db, c, "SELECT COUNT(1) FROM _litestream_seq", buf, sizeof(buf), err);
    if (rc != LS_OK) {
        sqlite3_exec(c, "ROLLBACK", NULL, NULL, NULL);
        return ls_err_wrap(err, "begin read transaction");
    }
    return LS_OK;
}

static void pin_end(ls_db *db, int i) {
    if (db->c[i] && !sqlite3_get_autocommit(db->c[i]))
        sqlite3_exec(db->c[i], "ROLLBACK", NULL, NULL, NULL);
}

/* Releases the read transaction (our own checkpoint, close, tests). */
static void pin_release(ls_db *db) {
    if (db->pin_cur >= 0) pin_end(db, db->pin_cur);
    db->pin_cur = -1;
}

/* Starts the read transaction if none is held. A fresh pin does not (yet)
 * establish the guard. */
static ls_code pin_ensure(ls_db *db, ls_err *err) {
    if (db->pin_cur >= 0) return LS_OK;
    const int i = db->barrier_idx == 0 ? 1 : 0;
    ls_code rc = pin_begin(db, i, err);
    if (rc != LS_OK) return rc;
    db->pin_cur = i;
    db->pin_epoch++;
    return LS_OK;
}

/* Moves the pin forward: begin on the other connection, then release the
 * current one, so a pin is held at every instant. A failure keeps the old
 * pin (only delays application checkpoints). */
static void pin_handover(ls_db *db) {
    int next = db->pin_cur == 0 ? 1 : 0;
    if (next == db->barrier_idx) { /* the other connection holds the barrier */
        db->handover_pending = true;
        return;
    }
    db->handover_pending = false;
    ls_err e;
    if (pin_begin(db, next, &e) != LS_OK) {
        ls_debug("read transaction handover failed; keeping the old one", "db", db->path, "error",
                 e.msg);
        return;
    }
    if (db->pin_cur >= 0) pin_end(db, db->pin_cur);
    db->pin_cur = next;
    /* not a new epoch: the invariant is carried over by the overlap */
}

/* ---- write barrier (_litestream_lock, 5.7) ---- */

static ls_code barrier_begin(ls_db *db, ls_err *err) {
    if (db->barrier) return ls_err_set(err, LS_ERR_INTERNAL, "%s: write lock already held", db->path);
    sqlite3 *c;
    if (need_spare(db, &c, "take write lock", err) != LS_OK) return err->code;
    ls_code rc = sql_exec(db, c, "BEGIN", err);
    if (rc != LS_OK) return ls_err_wrap(err, "take write lock");
    rc = sql_exec(db, c, "INSERT INTO _litestream_lock (id) VALUES (1)", err);
    if (rc != LS_OK) {
        sqlite3_exec(c, "ROLLBACK", NULL, NULL, NULL);
        return ls_err_wrap(err, "take write lock");
    }
    db->barrier_idx = c == db->c[0] ? 0 : 1;
    db->barrier = true;
    return LS_OK;
}

static void barrier_end(ls_db *db) {
    if (db->barrier && db->barrier_idx >= 0) {
        sqlite3 *c = db->c[db->barrier_idx];
        if (c && !sqlite3_get_autocommit(c)) sqlite3_exec(c, "ROLLBACK", NULL, NULL, NULL);
    }
    db->barrier = false;
    db->barrier_idx = -1;
}

/* ------------------------------------------------------------------------ */
/* Local L0 files                                                           */

static char *l0_path(const ls_db *db, uint64_t txid) {
    char name[LTX_FILENAME_MAX];
    ltx_format_filename(txid, txid, name);
    return ls_path_join(db->l0_dir, name);
}

/* Greatest max TXID among valid L0 names; 0 when none (or no directory). */
static ls_code l0_max_txid(ls_db *db, uint64_t *out, ls_err *err) {
    *out = 0;
    DIR *d = opendir(db->l0_dir);
    if (!d) {
        if (errno == ENOENT) return LS_OK;
        return ls_err_errno(err, errno, "list %s", db->l0_dir);
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        uint64_t mn, mx;
        if (ltx_parse_filename(de->d_name, &mn, &mx) && mx > *out) *out = mx;
    }
    closedir(d);
    return LS_OK;
}

static ls_code read_l0_header(ls_db *db, uint64_t txid, ltx_header *h, ls_err *err) {
    char *p = l0_path(db, txid);
    if (!p) return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        ls_code rc = ls_err_errno(err, errno, "open ltx file %s", p);
        free(p);
        return rc;
    }
    uint8_t buf[LTX_HEADER_SIZE];
    size_t n = 0;
    ls_code rc = ls_pread_full(fd, buf, sizeof(buf), 0, &n, err, p);
    close(fd);
    if (rc == LS_OK && n != sizeof(buf))
        rc = ls_err_set(err, LS_ERR_FORMAT, "decode ltx file %s: short header (%zu bytes)", p, n);
    if (rc == LS_OK) rc = ltx_header_decode(buf, h, err);
    if (rc == LS_OK) rc = ltx_header_validate(h, err);
    if (rc != LS_OK && rc != LS_ERR_NOTFOUND && rc != LS_ERR_IO) ls_err_wrap(err, "%s", p);
    free(p);
    return rc;
}

/* 4.3: position from the names, newest file fully verified. */
static ls_code db_pos(ls_db *db, ls_pos *out, ls_err *err) {
    if (db->pos_valid) {
        *out = db->pos;
        return LS_OK;
    }
    uint64_t txid = 0;
    ls_code rc = l0_max_txid(db, &txid, err);
    if (rc != LS_OK) return rc;
    ls_pos pos = {0, 0};
    if (txid > 0) {
        char *p = l0_path(db, txid);
        if (!p) return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
        ls_reader *r = NULL;
        rc = ls_reader_file(p, &r, err);
        if (rc == LS_OK) {
            ltx_header h;
            ltx_trailer t;
            rc = ltx_verify(r, &h, &t, err);
            ls_reader_close(r);
            if (rc == LS_OK && (h.min_txid != txid || h.max_txid != txid))
                rc = ls_err_set(err, LS_ERR_FORMAT, "TXID range %016" PRIx64 "-%016" PRIx64
                                " in header does not match the file name",
                                h.min_txid, h.max_txid);
            if (rc == LS_OK) pos.post_apply_checksum = t.post_apply_checksum;
            if (rc != LS_OK) ls_err_wrap(err, "verify ltx file %s", p);
        }
        free(p);
        if (rc != LS_OK) return rc;
        pos.txid = txid;
    }
    db->pos = pos;
    db->pos_valid = true;
    *out = pos;
    return LS_OK;
}

ls_code ls_db_pos(ls_db *db, ls_pos *pos, ls_err *err) {
    ls_code rc = db_pos(db, pos, err);
    if (rc == LS_OK) status_refresh(db);
    return rc;
}

ls_code ls_db_open_l0(ls_db *db, uint64_t txid, ls_reader **out, ls_err *err) {
    *out = NULL;
    if (txid == 0) return ls_err_set(err, LS_ERR_INVALID, "%s: open L0 file: TXID 0", db->path);
    char *p = l0_path(db, txid);
    if (!p) return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
    ls_code rc = ls_reader_file(p, out, err);
    free(p);
    return rc;
}

/* Removes every "*.tmp" file below dir (recursively). */
static void remove_tmp_files(const char *dir, int depth) {
    if (depth > 8) return;
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
        char *p = ls_path_join(dir, de->d_name);
        if (!p) continue;
        struct stat sb;
        if (lstat(p, &sb) == 0) {
            size_t n = strlen(de->d_name);
            if (S_ISDIR(sb.st_mode)) {
                remove_tmp_files(p, depth + 1);
            } else if (n > 4 && strcmp(de->d_name + n - 4, ".tmp") == 0) {
                if (unlink(p) == 0) ls_debug("removed stale temporary file", "path", p);
            }
        }
        free(p);
    }
    closedir(d);
}

static void chown_if_root(const ls_db *db, const char *path) {
    if (geteuid() != 0) return;
    if (chown(path, db->uid, db->gid) != 0) { /* best effort */
    }
}

static ls_code ensure_meta_dirs(ls_db *db, ls_err *err) {
    ls_code rc = ls_mkdir_p(db->l0_dir, db->dir_mode, err);
    if (rc != LS_OK) return rc;
    chown_if_root(db, db->meta_path);
    chown_if_root(db, db->ltx_root);
    chown_if_root(db, db->l0_dir);
    return LS_OK;
}

/* ------------------------------------------------------------------------ */
/* Buffered writer (the LTX encoder writes small pieces)                    */

typedef struct buf_writer {
    ls_writer base;
    ls_writer *inner; /* owned */
    uint8_t *buf;
    size_t len;
} buf_writer;

static ls_code bw_flush(buf_writer *b, ls_err *err) {
    if (b->len == 0) return LS_OK;
    ls_code rc = ls_write(b->inner, b->buf, b->len, err);
    b->len = 0;
    return rc;
}

static ls_code bw_write(ls_writer *w, const void *p, size_t n, ls_err *err) {
    buf_writer *b = (buf_writer *)w;
    if (b->len + n > BUF_WRITER_SIZE) {
        ls_code rc = bw_flush(b, err);
        if (rc != LS_OK) return rc;
        if (n >= BUF_WRITER_SIZE) return ls_write(b->inner, p, n, err);
    }
    memcpy(b->buf + b->len, p, n);
    b->len += n;
    return LS_OK;
}

static ls_code bw_finish(ls_writer *w, ls_err *err) {
    buf_writer *b = (buf_writer *)w;
    ls_code rc = bw_flush(b, err);
    if (rc != LS_OK) return rc;
    return ls_writer_finish(b->inner, err);
}

static void bw_close(ls_writer *w) {
    buf_writer *b = (buf_writer *)w;
    ls_writer_close(b->inner);
    free(b->buf);
    free(b);
}

static ls_writer *bw_new(ls_writer *inner) {
    buf_writer *b = calloc(1, sizeof(*b));
    if (!b) return NULL;
    b->buf = malloc(BUF_WRITER_SIZE);
    if (!b->buf) {
        free(b);
        return NULL;
    }
    b->base.write = bw_write;
    b->base.finish = bw_finish;
    b->base.close = bw_close;
    b->inner = inner;
    return &b->base;
}

/* ------------------------------------------------------------------------ */
/* Page sources                                                             */

static ls_code db_file_size(ls_db *db, int64_t *out, ls_err *err) {
    struct stat sb;
    if (fstat(db->db_fd, &sb) != 0) return ls_err_errno(err, errno, "stat %s", db->path);
    *out = (int64_t)sb.st_size;
    return LS_OK;
}

/* Reads page pgno into buf: from the WAL frame in m when present, else from
 * the database file. A WAL frame that is no longer there (the WAL was
 * truncated underneath) is LS_ERR_BUSY: the step is retried. Frames that a
 * WAL restart overwrote while we read are caught once per file by
 * wal_unchanged() (a restart rewrites the WAL header before any frame). */
static ls_code read_page(ls_db *db, int wal_fd, const wal_page_map *m, uint32_t pgno,
                         uint8_t *buf, ls_err *err) {
    int64_t off;
    if (m && wal_page_map_get(m, pgno, &off)) {
        size_t n = 0;
        ls_code rc = ls_pread_full(wal_fd, buf, db->page_size, (off_t)(off + WAL_FRAME_HEADER_SIZE),
                                   &n, err, "wal frame");
        if (rc != LS_OK) return ls_err_wrap(err, "%s", db->wal_path);
        if (n != db->page_size)
            return ls_err_set(err, LS_ERR_BUSY,
                              "%s: wal frame at offset %" PRId64
                              " is gone (wal truncated while it was read); will retry",
                              db->wal_path, off);
        return LS_OK;
    }
    size_t n = 0;
    off_t pos = (off_t)(pgno - 1) * (off_t)db->page_size;
    ls_code rc = ls_pread_full(db->db_fd, buf, db->page_size, pos, &n, err, db->path);
    if (rc != LS_OK) return rc;
    if (n != db->page_size)
        return ls_err_set(err, LS_ERR_FORMAT,
                          "%s: page %u is beyond the end of the database file", db->path, pgno);
    return LS_OK;
}

/* After the pages of a file were read: is the WAL header still the one the
 * reader was opened on? SQLite writes a new header (new salts) before it
 * overwrites any frame of a restarted WAL, so an unchanged header proves
 * that every frame read belonged to the generation the map was built from. */
static ls_code wal_unchanged(ls_db *db, int wal_fd, uint32_t salt1, uint32_t salt2, bool *same,
                             ls_err *err) {
    uint8_t raw[WAL_HEADER_SIZE];
    size_t n = 0;
    ls_code rc = wal_header_read_raw(wal_fd, raw, &n, err);
    if (rc != LS_OK) return ls_err_wrap(err, "%s", db->wal_path);
    wal_header h;
    wal_header_decode(raw, &h);
    *same = n == WAL_HEADER_SIZE && h.salt1 == salt1 && h.salt2 == salt2;
    return LS_OK;
}

/* ------------------------------------------------------------------------ */
/* Verify (5.5)                                                             */

typedef struct verify_result {
    bool snapshot;
    const char *reason;
    int64_t offset;          /* start offset for an incremental */
    uint32_t salt1, salt2;   /* expected salts for an incremental */
    uint32_t prev_commit;
    bool expected_trunc;     /* 5.5 step 3 "expected" branch taken */
    uint32_t hdr_salt1, hdr_salt2; /* WAL header salts seen by verify */
    bool hdr_valid;
} verify_result;

static ls_code wal_open_fd(ls_db *db, int *fd, ls_err *err) {
    *fd = open(db->wal_path, O_RDONLY | O_CLOEXEC);
    if (*fd < 0) return ls_err_errno(err, errno, "open %s", db->wal_path);
    return LS_OK;
}

/* Does the local L0 file for txid hold page pgno with exactly data? */
typedef struct pread_ctx {
    int fd;
} pread_ctx;

static ls_code fd_pread_cb(void *ctx, void *buf, size_t len, uint64_t off, size_t *nread,
                           ls_err *err) {
    pread_ctx *c = ctx;
    return ls_pread_full(c->fd, buf, len, (off_t)off, nread, err, "ltx file");
}

static ls_code l0_has_page(ls_db *db, uint64_t txid, uint32_t pgno, const uint8_t *data,
                           bool *match, ls_err *err) {
    *match = false;
    char *p = l0_path(db, txid);
    if (!p) return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        ls_code rc = ls_err_errno(err, errno, "open ltx file %s", p);
        free(p);
        return rc;
    }
    struct stat sb;
    ls_code rc = LS_OK;
    if (fstat(fd, &sb) != 0) rc = ls_err_errno(err, errno, "stat %s", p);
    ltx_file_index fi;
    memset(&fi, 0, sizeof(fi));
    pread_ctx ctx = {fd};
    if (rc == LS_OK) rc = ltx_file_index_read(fd_pread_cb, &ctx, (uint64_t)sb.st_size, &fi, err);
    if (rc == LS_OK && fi.header.page_size == db->page_size) {
        size_t lo = 0, hi = fi.n;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (fi.entries[mid].pgno < pgno) lo = mid + 1;
            else hi = mid;
        }
        if (lo < fi.n && fi.entries[lo].pgno == pgno) {
            rc = ltx_read_page(fd_pread_cb, &ctx, &fi.header, &fi.entries[lo], db->page2, err);
            if (rc == LS_OK) *match = memcmp(db->page2, data, db->page_size) == 0;
        }
    }
    if (rc != LS_OK) ls_err_wrap(err, "%s", p);
    ltx_file_index_free(&fi);
    close(fd);
    free(p);
    return rc;
}

static void verify_incremental(verify_result *v, int64_t off, uint32_t s1, uint32_t s2) {
    v->snapshot = false;
    v->reason = NULL;
    v->offset = off;
    v->salt1 = s1;
    v->salt2 = s2;
}

/* The two page buffers of verify and write_l0: allocated on first use and
 * dropped by ls_db_trim, so idle databases hold none. */
static ls_code scratch_pages(ls_db *db, ls_err *err) {
    if (!db->page) db->page = malloc(db->page_size);
    if (!db->page2) db->page2 = malloc(db->page_size);
    if (!db->page || !db->page2) return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
    return LS_OK;
}

void ls_db_trim(ls_db *db) {
    free(db->page);
    free(db->page2);
    db->page = db->page2 = NULL;
    for (int i = 0; i < 2; i++)
        if (db->c[i]) sqlite3_db_release_memory(db->c[i]);
}

static ls_code verify(ls_db *db, const ls_pos *pos, verify_result *v, ls_err *err) {
    memset(v, 0, sizeof(*v));
    if (scratch_pages(db, err) != LS_OK) return err->code;
    v->snapshot = true;
    const int64_t fs = wal_frame_size(db->page_size);

    /* current WAL header (raw, as Go reads it) */
    int wfd = -1;
    ls_code rc = wal_open_fd(db, &wfd, err);
    if (rc != LS_OK) return rc;
    uint8_t raw[WAL_HEADER_SIZE];
    size_t nraw = 0;
    rc = wal_header_read_raw(wfd, raw, &nraw, err);
    if (rc != LS_OK) {
        close(wfd);
        return ls_err_wrap(err, "%s", db->wal_path);
    }
    wal_header hdr;
    wal_header_decode(raw, &hdr);
    v->hdr_valid = nraw == WAL_HEADER_SIZE;
    v->hdr_salt1 = hdr.salt1;
    v->hdr_salt2 = hdr.salt2;

    /* 1 */
    if (pos->txid == 0) {
        v->offset = WAL_HEADER_SIZE;
        v->reason = "no ltx files";
        goto out;
    }
    /* 2 */
    ltx_header lh;
    rc = read_l0_header(db, pos->txid, &lh, err);
    if (rc != LS_OK) goto out;
    const int64_t off = lh.wal_offset + lh.wal_size;
    v->prev_commit = lh.commit;
    v->offset = off;
    v->salt1 = lh.wal_salt1;
    v->salt2 = lh.wal_salt2;
    if (lh.page_size != db->page_size) {
        v->reason = "page size changed";
        goto out;
    }
    if (off < WAL_HEADER_SIZE) {
        /* not a WAL-based file (e.g. adopted from a replica written
         * without WAL fields): nothing to resume from */
        v->reason = "last ltx file has no wal position";
        goto out;
    }
    struct stat sb;
    if (fstat(wfd, &sb) != 0) {
        rc = ls_err_errno(err, errno, "stat %s", db->wal_path);
        goto out;
    }
    const int64_t wal_size = (int64_t)sb.st_size;
    const bool salt_match = v->hdr_valid && hdr.salt1 == lh.wal_salt1 && hdr.salt2 == lh.wal_salt2;

    /* 3 */
    if (off > wal_size) {
        if (db->guard) {
            if (!v->hdr_valid) {
                rc = ls_err_set(err, LS_ERR_FORMAT, "%s: new wal reader: EOF", db->wal_path);
                goto out;
            }
            verify_incremental(v, WAL_HEADER_SIZE, hdr.salt1, hdr.salt2);
            v->expected_trunc = true;
            goto out;
        }
        v->reason = "wal truncated by another process";
        goto out;
    }
    /* Guarded generation change: always expected (see header comment). */
    if (!salt_match && db->guard && v->hdr_valid) {
        verify_incremental(v, WAL_HEADER_SIZE, hdr.salt1, hdr.salt2);
        goto out;
    }
    /* 5 */
    if (off == WAL_HEADER_SIZE) {
        if (salt_match) verify_incremental(v, WAL_HEADER_SIZE, lh.wal_salt1, lh.wal_salt2);
        else v->reason = "wal header salt reset, snapshotting";
        goto out;
    }
    /* 6 */
    const int64_t prev = off - fs;
    if (prev < WAL_HEADER_SIZE) {
        rc = ls_err_set(err, LS_ERR_FORMAT,
                        "%s: invalid wal offset %" PRId64 " in ltx file %016" PRIx64, db->path,
                        off, pos->txid);
        goto out;
    }
    if (prev == WAL_HEADER_SIZE) {
        if (salt_match) verify_incremental(v, off, lh.wal_salt1, lh.wal_salt2);
        else v->reason = "wal header salt reset, snapshotting";
        goto out;
    }
    /* 7: last page match */
    {
        wal_frame_header fh;
        bool found = false;
        rc = wal_read_frame(wfd, prev, db->page_size, &fh, db->page, &found, err);
        if (rc != LS_OK) {
            ls_err_wrap(err, "%s", db->wal_path);
            goto out;
        }
        bool match = false;
        if (found && fh.salt1 == lh.wal_salt1 && fh.salt2 == lh.wal_salt2) {
            rc = l0_has_page(db, pos->txid, fh.pgno, db->page, &match, err);
            if (rc != LS_OK) goto out;
        }
        if (!match) {
            v->reason = "last page does not exist in last ltx file, wal overwritten by another process";
            goto out;
        }
    }
    /* 8 */
    if (!salt_match) {
        if (!v->hdr_valid) {
            rc = ls_err_set(err, LS_ERR_FORMAT, "%s: new wal reader: EOF", db->wal_path);
            goto out;
        }
        wal_salt_pair *pairs = NULL;
        size_t np = 0;
        rc = wal_frame_salts_until(wfd, lh.wal_salt1, lh.wal_salt2, &pairs, &np, err);
        if (rc != LS_OK) {
            ls_err_wrap(err, "%s", db->wal_path);
            goto out;
        }
        bool other = false;
        for (size_t i = 0; i < np; i++) {
            bool is_new = pairs[i].salt1 == hdr.salt1 && pairs[i].salt2 == hdr.salt2;
            bool is_old = pairs[i].salt1 == lh.wal_salt1 && pairs[i].salt2 == lh.wal_salt2;
            if (!is_new && !is_old) other = true;
        }
        free(pairs);
        if (other) {
            v->reason = "full or restart checkpoint detected, snapshotting";
            goto out;
        }
        /* Extra (not in Go): frames of the old generation after our offset
         * were checkpointed and are gone from the new one -> snapshot. */
        wal_reader *r = NULL;
        bool mismatch = false;
        rc = wal_reader_open_at(&r, wfd, off, lh.wal_salt1, lh.wal_salt2, &mismatch, err);
        if (rc != LS_OK) {
            ls_err_wrap(err, "%s", db->wal_path);
            goto out;
        }
        bool cont = false;
        if (r) {
            bool eof = true;
            rc = wal_reader_next(r, NULL, NULL, NULL, &eof, err);
            wal_reader_free(r);
            if (rc != LS_OK) {
                ls_err_wrap(err, "%s", db->wal_path);
                goto out;
            }
            cont = !eof;
        }
        if (cont) {
            v->reason = "wal restarted after frames that were not synced, snapshotting";
            goto out;
        }
        verify_incremental(v, WAL_HEADER_SIZE, hdr.salt1, hdr.salt2);
        goto out;
    }
    /* 9 */
    verify_incremental(v, off, lh.wal_salt1, lh.wal_salt2);
out:
    close(wfd);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Writing an L0 file (5.6)                                                 */

typedef struct write_result {
    bool wrote;
    bool snapshot;
    bool limited;
    bool retry;           /* WAL header changed since verify */
    uint64_t txid;
    int64_t start;        /* WAL offset the file starts at */
    int64_t wal_bytes;
    uint32_t salt1, salt2;
    const char *reason;
} write_result;

/* Opens the reader for v (snapshot: always from 32). *retry when the WAL
 * header salts differ from what verify saw. */
static ls_code open_reader(ls_db *db, int wfd, const verify_result *v, bool snapshot,
                           wal_reader **out, bool *retry, ls_err *err) {
    *out = NULL;
    *retry = false;
    wal_reader *r = NULL;
    ls_code rc;
    if (snapshot || v->offset <= WAL_HEADER_SIZE) {
        rc = wal_reader_open(&r, wfd, err);
        if (rc != LS_OK) return ls_err_wrap(err, "%s: new wal reader", db->wal_path);
    } else {
        bool mismatch = false;
        rc = wal_reader_open_at(&r, wfd, v->offset, v->salt1, v->salt2, &mismatch, err);
        if (rc != LS_OK) return ls_err_wrap(err, "%s: new wal reader", db->wal_path);
        if (mismatch) {
            rc = wal_reader_open(&r, wfd, err);
            if (rc != LS_OK) return ls_err_wrap(err, "%s: new wal reader", db->wal_path);
        }
    }
    const wal_header *h = wal_reader_header(r);
    if (h->page_size != db->page_size) {
        wal_reader_free(r);
        return ls_err_set(err, LS_ERR_FORMAT, "%s: wal page size %u differs from database page size %u",
                          db->wal_path, h->page_size, db->page_size);
    }
    if (!v->hdr_valid || h->salt1 != v->hdr_salt1 || h->salt2 != v->hdr_salt2) {
        wal_reader_free(r);
        *retry = true;
        return LS_OK;
    }
    *out = r;
    return LS_OK;
}

/* Encodes the pages. Snapshot: 1..commit except the lock page. Incremental:
 * the map's pages plus grown pages (prev_commit, commit] not in the map. */
static ls_code encode_pages(ls_db *db, ltx_encoder *enc, int wfd, const wal_page_map *m,
                            bool snapshot, uint32_t commit, uint32_t prev_commit, ls_err *err) {
    const uint32_t lock = ltx_lock_pgno(db->page_size);
    ls_code rc = LS_OK;
    if (snapshot) {
        for (uint32_t p = 1; p <= commit && rc == LS_OK; p++) {
            if (p == lock) continue;
            rc = read_page(db, wfd, m, p, db->page, err);
            if (rc == LS_OK) rc = ltx_encoder_write_page(enc, p, db->page, err);
            if (p == UINT32_MAX) break;
        }
        return rc;
    }
    uint64_t g = (uint64_t)prev_commit + 1; /* next grown page candidate */
    size_t i = 0;
    for (;;) {
        uint64_t next_map = i < m->n ? m->entries[i].pgno : UINT64_MAX;
        uint64_t next_grown = g <= commit ? g : UINT64_MAX;
        if (next_map == UINT64_MAX && next_grown == UINT64_MAX) break;
        uint32_t p;
        if (next_grown < next_map) {
            p = (uint32_t)next_grown;
            g++;
            if (p == lock) continue;
        } else {
            p = (uint32_t)next_map;
            i++;
            if (next_grown == next_map) g++;
            if (p == lock) continue; /* SQLite never writes it; never encode it */
        }
        rc = read_page(db, wfd, m, p, db->page, err);
        if (rc == LS_OK) rc = ltx_encoder_write_page(enc, p, db->page, err);
        if (rc != LS_OK) return rc;
    }
    return LS_OK;
}

/* Grown pages must be readable from the database file; otherwise the step
 * is turned into a snapshot (which takes them from the WAL). */
static bool grown_pages_available(const ls_db *db, const wal_page_map *m, uint32_t commit,
                                  uint32_t prev_commit, int64_t db_size) {
    const uint32_t lock = ltx_lock_pgno(db->page_size);
    for (uint64_t p = commit; p > prev_commit; p--) {
        if (p == lock || wal_page_map_get(m, (uint32_t)p, NULL)) continue;
        return (int64_t)p * (int64_t)db->page_size <= db_size;
    }
    return true;
}

static void note_nospace(ls_db *db, ls_code rc) {
    if (rc == LS_ERR_NOSPACE) {
        if (++db->nospace_errors >= NOSPACE_CLEANUP_AFTER) {
            remove_tmp_files(db->meta_path, 0);
            db->nospace_errors = 0;
        }
    } else if (rc == LS_OK) {
        db->nospace_errors = 0;
    }
}

/* Encodes an L0 file from an open reader + map and installs it atomically. */
static ls_code write_l0_file(ls_db *db, uint64_t txid, int wfd, const wal_page_map *m,
                             const wal_reader *r, bool snapshot, uint32_t commit,
                             uint32_t prev_commit, int64_t wal_bytes, bool *restarted,
                             ls_err *err) {
    *restarted = false;
    uint32_t s1, s2;
    wal_reader_salts(r, &s1, &s2);
    ltx_header h;
    memset(&h, 0, sizeof(h));
    h.flags = LTX_FLAG_NO_CHECKSUM;
    h.page_size = db->page_size;
    h.commit = commit;
    h.min_txid = h.max_txid = txid;
    h.timestamp = ls_now_ms();
    h.wal_offset = m->start;
    h.wal_size = wal_bytes;
    h.wal_salt1 = s1;
    h.wal_salt2 = s2;

    ls_code rc = ensure_meta_dirs(db, err);
    if (rc != LS_OK) return rc;
    char *path = l0_path(db, txid);
    if (!path) return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
    ls_writer *aw = NULL;
    rc = ls_writer_atomic_file(path, (int)db->file_mode, &aw, err);
    if (rc != LS_OK) {
        free(path);
        return rc;
    }
    ls_writer *w = bw_new(aw);
    if (!w) {
        ls_writer_close(aw);
        free(path);
        return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
    }
    ltx_encoder *enc = NULL;
    rc = ltx_encoder_open(&enc, &h, w, err);
    if (rc == LS_OK) rc = encode_pages(db, enc, wfd, m, snapshot, commit, prev_commit, err);
    if (rc == LS_OK && m->n > 0) {
        bool same = false;
        const wal_header *h0 = wal_reader_header(r);
        rc = wal_unchanged(db, wfd, h0->salt1, h0->salt2, &same, err);
        if (rc == LS_OK && !same) {
            *restarted = true;
            rc = ls_err_set(err, LS_ERR_BUSY, "%s: wal restarted while it was read; will retry",
                            db->wal_path);
        }
    }
    if (rc == LS_OK) rc = ltx_encoder_close(enc, 0, err);
    if (rc == LS_OK) {
        rc = ls_writer_finish(w, err);
        if (rc != LS_OK) db->pos_valid = false; /* rename / fsync failure */
    }
    ltx_encoder_free(enc);
    ls_writer_close(w); /* removes the .tmp file unless finished */
    if (rc == LS_OK) chown_if_root(db, path);
    else ls_err_wrap(err, "write %s", path);
    free(path);
    return rc;
}

static ls_code write_l0(ls_db *db, const verify_result *v, const ls_pos *pos, int64_t limit,
                        write_result *out, ls_err *err) {
    memset(out, 0, sizeof(*out));
    if (scratch_pages(db, err) != LS_OK) return err->code;
    bool snapshot = v->snapshot;
    const char *reason = v->reason;
    int wfd = -1;
    ls_code rc = wal_open_fd(db, &wfd, err);
    if (rc != LS_OK) return rc;
    wal_reader *r = NULL;
    wal_page_map m;
    memset(&m, 0, sizeof(m));

again:
    /* 2 */
    {
        int64_t dbsz = 0;
        rc = db_file_size(db, &dbsz, err);
        if (rc != LS_OK) goto done;
        uint32_t commit = (uint32_t)(dbsz / db->page_size);
        /* 3 */
        bool retry = false;
        rc = open_reader(db, wfd, v, snapshot, &r, &retry, err);
        if (rc != LS_OK) goto done;
        if (retry) {
            out->retry = true;
            goto done;
        }
        /* 4, 5 */
        rc = wal_reader_page_map(r, snapshot ? 0 : limit, &m, err);
        if (rc != LS_OK) {
            ls_err_wrap(err, "%s: wal page map", db->wal_path);
            goto done;
        }
        if (m.commit > 0) commit = m.commit;
        int64_t wal_bytes = m.end > 0 ? m.end - m.start : 0;
        /* 6 */
        if (!snapshot && wal_bytes == 0) goto done;
        if (!snapshot && commit > v->prev_commit &&
            !grown_pages_available(db, &m, commit, v->prev_commit, dbsz)) {
            snapshot = true;
            reason = "grown pages are not in the database file";
            wal_page_map_free(&m);
            wal_reader_free(r);
            r = NULL;
            goto again;
        }
        if (commit == 0) {
            rc = ls_err_set(err, LS_ERR_FORMAT, "%s: database has no pages", db->path);
            goto done;
        }
        /* 7-10 */
        uint64_t txid = pos->txid + 1;
        bool restarted = false;
        rc = write_l0_file(db, txid, wfd, &m, r, snapshot, commit, v->prev_commit, wal_bytes,
                           &restarted, err);
        note_nospace(db, rc);
        if (restarted) {
            /* verify again: it sees the new generation */
            out->retry = true;
            rc = LS_OK;
            goto done;
        }
        if (rc != LS_OK) goto done;
        /* 11 */
        db->pos.txid = txid;
        db->pos.post_apply_checksum = 0;
        db->pos_valid = true;
        db->acc.wrote = true;
        db->acc.txid = txid;
        if (snapshot) {
            db->acc.snapshot = true;
            db->acc.reason = reason;
        }
        out->wrote = true;
        out->snapshot = snapshot;
        out->reason = snapshot ? reason : NULL;
        out->limited = m.limited;
        out->txid = txid;
        out->start = m.start;
        out->wal_bytes = wal_bytes;
        wal_reader_salts(r, &out->salt1, &out->salt2);
        pthread_mutex_lock(&db->mu);
        db->st.last_sync_ns = ls_now_ns();
        pthread_mutex_unlock(&db->mu);
        ls_debug("ltx file written", "db", db->path, "txid", LS_HEX16(txid), "snapshot",
                 snapshot ? "true" : "false", "wal_offset", LS_INT(m.start), "wal_size",
                 LS_INT(wal_bytes), "commit", LS_INT(commit));
    }
done:
    wal_page_map_free(&m);
    wal_reader_free(r);
    close(wfd);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Initialisation (5.3)                                                     */

static ls_code ensure_wal(ls_db *db, ls_err *err);

static void close_connections(ls_db *db) {
    barrier_end(db);
    pin_release(db);
    for (int i = 0; i < 2; i++) {
        if (db->c[i]) sqlite3_close(db->c[i]);
        db->c[i] = NULL;
    }
    if (db->db_fd >= 0) close(db->db_fd); /* after SQLite: see 5.3 step 3 */
    db->db_fd = -1;
}

static ls_code do_init(ls_db *db, ls_err *err) {
    struct stat sb;
    /* 2 */
    ls_code rc = sql_open(db, &db->c[0], err);
    if (rc == LS_OK) rc = sql_open(db, &db->c[1], err);
    if (rc != LS_OK) goto fail;
    /* 3 */
    db->db_fd = open(db->path, O_RDONLY | O_CLOEXEC);
    if (db->db_fd < 0) {
        rc = ls_err_errno(err, errno, "open %s", db->path);
        goto fail;
    }
    if (fstat(db->db_fd, &sb) == 0) {
        db->file_mode = sb.st_mode & 0666;
        db->uid = sb.st_uid;
        db->gid = sb.st_gid;
    }
    {
        char *dir = ls_path_dir(db->path);
        struct stat ds;
        if (dir && stat(dir, &ds) == 0) db->dir_mode = ds.st_mode & 07777;
        free(dir);
    }
    /* 4 */
    char mode[32];
    rc = sql_query_text(db, db->c[0], "PRAGMA journal_mode = wal", mode, sizeof(mode), err);
    if (rc != LS_OK) goto fail;
    if (strcasecmp(mode, "wal") != 0) {
        rc = ls_err_set(err, LS_ERR_SQLITE, "%s: enable wal failed, mode=%s", db->path, mode);
        goto fail;
    }
    /* 5 */
    rc = sql_exec(db, db->c[0],
                  "CREATE TABLE IF NOT EXISTS _litestream_seq (id INTEGER PRIMARY KEY, seq INTEGER);"
                  "CREATE TABLE IF NOT EXISTS _litestream_lock (id INTEGER);",
                  err);
    if (rc != LS_OK) goto fail;
    /* 7 */
    char ps[32];
    rc = sql_query_text(db, db->c[0], "PRAGMA page_size", ps, sizeof(ps), err);
    if (rc != LS_OK) goto fail;
    long v = strtol(ps, NULL, 10);
    if (v < 512 || v > 65536 || (v & (v - 1)) != 0) {
        rc = ls_err_set(err, LS_ERR_FORMAT, "%s: invalid page size %s", db->path, ps);
        goto fail;
    }
    db->page_size = (uint32_t)v;
    /* 8 */
    rc = ensure_meta_dirs(db, err);
    if (rc != LS_OK) goto fail;
    remove_tmp_files(db->meta_path, 0);
    /* 9 */
    rc = ensure_wal(db, err);
    if (rc != LS_OK) goto fail;
    /* 6: the pin, after the WAL exists so it normally lands on a slot >= 1 */
    rc = pin_ensure(db, err);
    if (rc != LS_OK) goto fail;
    db->guard = false;
    db->initialized = true;
    return LS_OK;
fail:
    close_connections(db);
    free(db->page);
    free(db->page2);
    db->page = db->page2 = NULL;
    db->page_size = 0;
    return rc;
}

ls_code ls_db_init(ls_db *db, bool *ready, ls_err *err) {
    if (ready) *ready = false;
    if (db->closed) return ls_err_set(err, LS_ERR_INVALID, "%s: database is closed", db->path);
    if (db->initialized) {
        if (ready) *ready = true;
        return LS_OK;
    }
    struct stat sb;
    if (stat(db->path, &sb) != 0) {
        if (errno == ENOENT) {
            status_refresh(db);
            return LS_OK; /* 1: not there yet */
        }
        return ls_err_errno(err, errno, "stat %s", db->path);
    }
    ls_code rc = do_init(db, err);
    if (rc != LS_OK) {
        status_error(db, rc, err);
        return ls_err_wrap(err, "init");
    }
    ls_pos pos;
    ls_err e;
    if (db_pos(db, &pos, &e) != LS_OK)
        ls_warn("cannot read local position", "db", db->path, "error", e.msg);
    status_refresh(db);
    if (ready) *ready = true;
    return LS_OK;
}

/* Makes sure a WAL with a header exists (5.3 step 9). If the application
 * switched the database out of WAL mode, switches it back (needs our pin
 * released; the guard is lost). */
static ls_code ensure_wal(ls_db *db, ls_err *err) {
    if (file_size_or(db->wal_path, 0) >= WAL_HEADER_SIZE) return LS_OK;
    ls_code rc = bump_seq(db, err);
    if (rc != LS_OK) return rc;
    if (file_size_or(db->wal_path, 0) >= WAL_HEADER_SIZE) return LS_OK;
    /* not in WAL mode any more */
    ls_warn("database left wal mode; switching it back", "db", db->path);
    pin_release(db);
    db->guard = false;
    char mode[32];
    sqlite3 *c;
    if (need_spare(db, &c, "enable wal", err) != LS_OK) return err->code;
    rc = sql_query_text(db, c, "PRAGMA journal_mode = wal", mode, sizeof(mode), err);
    if (rc == LS_OK && strcasecmp(mode, "wal") != 0)
        rc = ls_err_set(err, LS_ERR_SQLITE, "%s: enable wal failed, mode=%s", db->path, mode);
    if (rc == LS_OK) rc = bump_seq(db, err);
    if (rc == LS_OK && file_size_or(db->wal_path, 0) < WAL_HEADER_SIZE)
        rc = ls_err_set(err, LS_ERR_SQLITE, "%s: wal file missing after write", db->wal_path);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Sync (5.4)                                                               */

typedef struct step_out {
    bool wrote, snapshot, limited, checkpointed;
    uint64_t txid;
    const char *reason;
} step_out;

static ls_code checkpoint_policy(ls_db *db, int64_t orig_wal_size, bool *ran, ls_err *err);
static ls_code checkpoint(ls_db *db, int mode, bool *restarted, ls_err *err);

static int64_t truncate_threshold(const ls_db *db) {
    int64_t n = db->opts.truncate_page_n;
    if (n == 0) n = DEFAULT_TRUNCATE_PAGE_N;
    if (n < 0) return -1;
    return wal_calc_size(db->page_size, n);
}

/* At most this much unsynced WAL is synced under the write barrier. */
#define JOINED_CHECKPOINT_MAX_PENDING (4 * 1024 * 1024)

static int64_t min_checkpoint_size(const ls_db *db) {
    int64_t n = db->opts.min_checkpoint_page_n > 0 ? db->opts.min_checkpoint_page_n
                                                   : DEFAULT_MIN_CHECKPOINT_PAGE_N;
    return wal_calc_size(db->page_size, n);
}

/* A PASSIVE checkpoint due by WAL size can be "joined" with the next sync:
 * that sync runs under the write barrier and the checkpoint follows it, so
 * everything up to the checkpoint ships in that sync's one L0 file. (Run
 * after a sync instead, the checkpoint's own catch-up sync ships the few
 * commits made in between as a second file: ~9 extra uploads a minute at
 * 100 commits/s.) Only when little WAL is unsynced, since the barrier blocks
 * the application's writers while it is held, and never at the emergency
 * size (the TRUNCATE path handles that). */
static bool joined_checkpoint_due(ls_db *db) {
    if (!db->initialized || db->snapshot_active || db->barrier) return false;
    if (db->last_synced_wal_offset < min_checkpoint_size(db)) return false;
    int64_t size = file_size_or(db->wal_path, -1);
    if (size < db->last_synced_wal_offset) return false; /* gone, or restarted by someone else */
    int64_t thr = truncate_threshold(db);
    if (thr >= 0 && size >= thr) return false;
    return size - db->last_synced_wal_offset <= JOINED_CHECKPOINT_MAX_PENDING;
}

/* One sync step without the checkpoint policy ("inner" sync). */
static ls_code sync_inner(ls_db *db, int64_t limit, bool allow_handover, step_out *so,
                          int64_t *orig_wal_size, ls_err *err) {
    memset(so, 0, sizeof(*so));
    /* 1 */
    ls_pos pos;
    ls_code rc = db_pos(db, &pos, err);
    if (rc != LS_OK) return rc;
    rc = pin_ensure(db, err);
    if (rc != LS_OK) return rc;
    /* 2 */
    rc = ensure_wal(db, err);
    if (rc != LS_OK) return rc;
    rc = pin_ensure(db, err); /* ensure_wal may have released it */
    if (rc != LS_OK) return rc;
    const uint64_t epoch = db->pin_epoch;
    /* 3 */
    int64_t wal_size = file_size_or(db->wal_path, 0);
    if (orig_wal_size)
        *orig_wal_size = db->last_synced_wal_offset ? db->last_synced_wal_offset : wal_size;
    /* 4, 5 (verify again if the WAL header changed in between) */
    verify_result v;
    write_result w;
    for (int attempt = 0;; attempt++) {
        rc = verify(db, &pos, &v, err);
        if (rc != LS_OK) return ls_err_wrap(err, "verify");
        rc = write_l0(db, &v, &pos, limit, &w, err);
        if (rc != LS_OK) return rc;
        if (!w.retry) break;
        if (attempt + 1 >= VERIFY_RETRIES)
            return ls_err_set(err, LS_ERR_BUSY, "%s: wal keeps changing while syncing; will retry",
                              db->wal_path);
    }
    /* 6 */
    if (w.wrote) {
        db->last_synced_wal_offset = w.start + w.wal_bytes;
        db->synced_to_wal_end = db->last_synced_wal_offset == file_size_or(db->wal_path, -1);
        db->synced_since_checkpoint = true;
        /* guard: the whole committed WAL was read while one pin was held and
         * the WAL generation did not change during the step */
        bool same_gen = false;
        int wfd = open(db->wal_path, O_RDONLY | O_CLOEXEC);
        if (wfd >= 0) {
            ls_err e;
            if (wal_unchanged(db, wfd, w.salt1, w.salt2, &same_gen, &e) != LS_OK) same_gen = false;
            close(wfd);
        }
        bool full = !w.limited && db->pin_cur >= 0 && epoch == db->pin_epoch && same_gen;
        if (full) {
            db->guard = true;
            if (allow_handover) pin_handover(db);
            else db->handover_pending = true;
        } else if (!same_gen) {
            db->guard = false;
        }
        so->wrote = true;
        so->snapshot = w.snapshot;
        so->reason = w.reason;
        so->txid = w.txid;
        so->limited = w.limited;
        if (w.snapshot)
            ls_debug("snapshot ltx file written", "db", db->path, "txid", LS_HEX16(w.txid),
                    "reason", w.reason ? w.reason : "");
    } else if (v.expected_trunc) {
        db->synced_to_wal_end = false;
    }
    return LS_OK;
}

static ls_code sync_step(ls_db *db, int64_t limit, step_out *so, ls_err *err) {
    int64_t orig = 0;
    if (joined_checkpoint_due(db)) {
        ls_err be;
        if (barrier_begin(db, &be) == LS_OK) {
            ls_code rc = sync_inner(db, 0, true, so, &orig, err);
            if (rc != LS_OK) {
                barrier_end(db);
                return rc;
            }
            bool restarted = false;
            db->checkpoint_deferred = false;
            rc = checkpoint(db, SQLITE_CHECKPOINT_PASSIVE, &restarted, err);
            barrier_end(db); /* checkpoint ends it, except on its early error returns */
            so->checkpointed = true;
            if (so->wrote && db->opts.after_l0) db->opts.after_l0(db->opts.after_l0_arg);
            if (rc == LS_ERR_BUSY) rc = LS_OK;
            if (rc != LS_OK) return ls_err_wrap(err, "checkpoint");
            return LS_OK;
        }
        ls_debug("write lock for a joined checkpoint not taken; syncing without it", "db", db->path,
                 "error", be.msg);
    }
    ls_code rc = sync_inner(db, limit, true, so, &orig, err);
    if (rc != LS_OK) return rc;
    if (so->wrote && db->opts.after_l0) db->opts.after_l0(db->opts.after_l0_arg);
    /* 7 */
    int64_t thr = truncate_threshold(db);
    if (!so->limited || db->synced_to_wal_end || (thr >= 0 && orig >= thr)) {
        bool ran = false;
        rc = checkpoint_policy(db, orig, &ran, err);
        so->checkpointed = ran;
        if (rc != LS_OK) return ls_err_wrap(err, "checkpoint");
    }
    return LS_OK;
}

ls_code ls_db_sync(ls_db *db, ls_sync_result *res, ls_err *err) {
    ls_sync_result local;
    if (!res) res = &local;
    memset(res, 0, sizeof(*res));
    bool ready = false;
    ls_code rc = ls_db_init(db, &ready, err);
    if (rc != LS_OK) return rc;
    if (!ready) return LS_OK;
    int64_t limit = db->opts.max_sync_wal_bytes > 0 ? db->opts.max_sync_wal_bytes : 0;
    memset(&db->acc, 0, sizeof(db->acc));
    for (;;) {
        step_out so;
        rc = sync_step(db, limit, &so, err);
        if (so.checkpointed) res->checkpointed = true;
        if (rc != LS_OK) break;
        if (!(so.wrote && so.limited && !db->synced_to_wal_end)) break;
    }
    res->wrote = db->acc.wrote;
    res->txid = db->acc.txid;
    res->snapshot = db->acc.snapshot;
    res->reason = db->acc.reason;
    status_refresh(db);
    status_error(db, rc, err);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Checkpoints (5.7)                                                        */

static ls_code wal_header_raw(ls_db *db, uint8_t out[WAL_HEADER_SIZE], ls_err *err) {
    memset(out, 0, WAL_HEADER_SIZE);
    int fd = open(db->wal_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return LS_OK;
        return ls_err_errno(err, errno, "open %s", db->wal_path);
    }
    size_t n = 0;
    ls_code rc = wal_header_read_raw(fd, out, &n, err);
    close(fd);
    if (rc != LS_OK) ls_err_wrap(err, "%s", db->wal_path);
    return rc;
}

static int mode_of(const char *mode) {
    if (strcasecmp(mode, "PASSIVE") == 0) return SQLITE_CHECKPOINT_PASSIVE;
    if (strcasecmp(mode, "TRUNCATE") == 0) return SQLITE_CHECKPOINT_TRUNCATE;
    return -1;
}

/* "One checkpoint in mode M" (5.7). *restarted: the WAL was restarted. */
static ls_code checkpoint(ls_db *db, int mode, bool *restarted, ls_err *err) {
    *restarted = false;
    const char *mname = mode == SQLITE_CHECKPOINT_PASSIVE ? "PASSIVE" : "TRUNCATE";
    /* 1 */
    if (db->snapshot_active) {
        ls_debug("checkpoint skipped: snapshot in progress", "db", db->path);
        return LS_OK;
    }
    /* 2 */
    uint8_t h1[WAL_HEADER_SIZE], h2[WAL_HEADER_SIZE];
    ls_code rc = wal_header_raw(db, h1, err);
    if (rc != LS_OK) return rc;
    /* 3 (a joined checkpoint holds the barrier already: nothing to catch up) */
    step_out so;
    if (!db->barrier) {
        rc = sync_inner(db, 0, false, &so, NULL, err);
        if (rc != LS_OK) return ls_err_wrap(err, "checkpoint: sync");
    }
    /* 4 */
    if (mode == SQLITE_CHECKPOINT_PASSIVE) {
        if (!db->barrier) {
            rc = barrier_begin(db, err);
            if (rc != LS_OK) return rc;
        }
        rc = sync_inner(db, 0, false, &so, NULL, err);
        if (rc != LS_OK) {
            barrier_end(db);
            return ls_err_wrap(err, "checkpoint: seal");
        }
    }
    /* 5 */
    const int64_t fs = wal_frame_size(db->page_size);
    int64_t pre_frames =
        db->last_synced_wal_offset > WAL_HEADER_SIZE ? (db->last_synced_wal_offset - WAL_HEADER_SIZE) / fs : 0;
    /* 6 */
    int64_t t0 = ls_monotonic_ns();
    db->handover_pending = false;
    pin_release(db);
    sqlite3 *cc = spare_conn(db); /* the pinned one is free now */
    int nlog = 0, nckpt = 0;
    int src = sqlite3_wal_checkpoint_v2(cc, "main", mode, &nlog, &nckpt);
    ls_code prc = pin_ensure(db, err);
    int64_t t1 = ls_monotonic_ns();
    pthread_mutex_lock(&db->mu);
    db->st.last_checkpoint_ns = ls_now_ns();
    pthread_mutex_unlock(&db->mu);
    ls_debug("checkpoint", "db", db->path, "mode", mname, "rc", LS_INT(src), "log", LS_INT(nlog),
             "checkpointed", LS_INT(nckpt), "ms", LS_INT((t1 - t0) / LS_NS_PER_MS));
    /* Without the barrier, commits may have slipped in while no pin was held;
     * they may be backfilled already, so the guard is lost (PASSIVE keeps it:
     * nothing could commit). */
    if (!db->barrier) db->guard = false;
    /* 7 */
    barrier_end(db);
    if (prc != LS_OK) {
        db->guard = false;
        return ls_err_wrap(err, "checkpoint: restart read transaction");
    }
    bool busy = (src & 0xff) == SQLITE_BUSY || (src & 0xff) == SQLITE_LOCKED;
    if (src != SQLITE_OK && !busy)
        return sql_fail(db, cc, src, err, mode == SQLITE_CHECKPOINT_PASSIVE
                                                    ? "checkpoint(PASSIVE)"
                                                    : "checkpoint(TRUNCATE)");
    /* 8: a write makes SQLite restart the WAL, which is only possible when
     * the checkpoint copied every frame; after a partial one the bump would
     * only add a frame (and wake the next sync for nothing). */
    const bool complete = src == SQLITE_OK && nckpt >= nlog;
    if (complete || mode != SQLITE_CHECKPOINT_PASSIVE) {
        rc = bump_seq(db, err);
        if (rc != LS_OK) return rc;
    }
    /* 9 */
    rc = wal_header_raw(db, h2, err);
    if (rc != LS_OK) return rc;
    db->synced_since_checkpoint = false;
    if (memcmp(h1, h2, WAL_HEADER_SIZE) == 0) {
        /* Not restarted. The bump (if any) is left for the next sync, as Go
         * does: syncing it here would ship one more L0 file per checkpoint. */
        if (busy) return ls_err_set(err, LS_ERR_BUSY, "%s: checkpoint(%s): database is locked",
                                    db->path, mname);
        return LS_OK;
    }
    *restarted = true;
    /* nothing of the new generation is synced yet */
    db->last_synced_wal_offset = WAL_HEADER_SIZE;
    db->synced_to_wal_end = false;
    /* 10: Go syncs again here. We leave the new generation to the next sync:
     * the pin (held since before the barrier was released) guarantees that
     * the WAL cannot restart again before it, so verify continues from
     * offset 32 of the new generation; one L0 file per sync interval. */
    if (mode == SQLITE_CHECKPOINT_PASSIVE) return LS_OK;
    /* 11: only for modes the policy never uses (FULL/RESTART) */
    (void)pre_frames;
    (void)nlog;
    /* 12: checkpoint boundary snapshot under the write lock */
    rc = barrier_begin(db, err);
    if (rc != LS_OK) return ls_err_wrap(err, "checkpoint: boundary snapshot");
    ls_pos pos;
    rc = db_pos(db, &pos, err);
    if (rc == LS_OK) {
        rc = pin_ensure(db, err);
    }
    const uint64_t epoch = db->pin_epoch;
    if (rc == LS_OK) {
        verify_result v;
        memset(&v, 0, sizeof(v));
        v.snapshot = true;
        v.reason = "checkpoint boundary snapshot";
        wal_header hh;
        wal_header_decode(h2, &hh);
        v.hdr_valid = true;
        v.hdr_salt1 = hh.salt1;
        v.hdr_salt2 = hh.salt2;
        v.offset = WAL_HEADER_SIZE;
        write_result w;
        rc = write_l0(db, &v, &pos, 0, &w, err);
        if (rc == LS_OK && w.retry)
            rc = ls_err_set(err, LS_ERR_BUSY, "%s: wal changed under the write lock", db->wal_path);
        if (rc == LS_OK && w.wrote) {
            db->last_synced_wal_offset = w.start + w.wal_bytes;
            db->synced_to_wal_end = db->last_synced_wal_offset == file_size_or(db->wal_path, -1);
            db->synced_since_checkpoint = false;
            /* written under the barrier with the pin held since before */
            if (epoch == db->pin_epoch && db->pin_cur >= 0) db->guard = true;
            ls_debug("snapshot ltx file written", "db", db->path, "txid", LS_HEX16(w.txid),
                    "reason", v.reason);
        }
    }
    barrier_end(db);
    if (rc != LS_OK) return ls_err_wrap(err, "checkpoint: boundary snapshot");
    return LS_OK;
}

ls_code ls_db_checkpoint(ls_db *db, const char *mode, ls_err *err) {
    int m = mode ? mode_of(mode) : -1;
    if (m < 0)
        return ls_err_set(err, LS_ERR_INVALID, "%s: unsupported checkpoint mode %s", db->path,
                          mode ? mode : "(null)");
    bool ready = false;
    ls_code rc = ls_db_init(db, &ready, err);
    if (rc != LS_OK) return rc;
    if (!ready) return ls_err_set(err, LS_ERR_NOTFOUND, "%s: database does not exist", db->path);
    bool restarted = false;
    rc = checkpoint(db, m, &restarted, err);
    status_refresh(db);
    return rc;
}

static ls_code checkpoint_policy(ls_db *db, int64_t orig_wal_size, bool *ran, ls_err *err) {
    *ran = false;
    const uint32_t ps = db->page_size;
    bool restarted = false;
    ls_code rc;
    /* 1: emergency TRUNCATE */
    int64_t thr = truncate_threshold(db);
    if (thr >= 0 && orig_wal_size >= thr) {
        if (!db->emergency_passive_failed) {
            *ran = true;
            ls_err e;
            rc = checkpoint(db, SQLITE_CHECKPOINT_PASSIVE, &restarted, &e);
            if (rc == LS_ERR_BUSY) {
                db->emergency_passive_failed = true;
            } else if (rc != LS_OK) {
                if (err) *err = e;
                return rc;
            } else if (restarted && db->last_synced_wal_offset < thr) {
                return LS_OK;
            }
        }
        ls_warn("wal exceeds the truncate threshold; running a TRUNCATE checkpoint", "db",
                db->path, "wal_size", LS_INT(orig_wal_size));
        *ran = true;
        ls_err e;
        rc = checkpoint(db, SQLITE_CHECKPOINT_TRUNCATE, &restarted, &e);
        if (rc == LS_OK) {
            db->emergency_passive_failed = false;
        } else if (rc == LS_ERR_BUSY) {
            /* readers or a writer kept it from completing; next sync retries */
            ls_warn("truncate checkpoint could not complete", "db", db->path, "error", e.msg);
            rc = LS_OK;
        } else if (err) {
            *err = e;
        }
        return rc;
    }
    db->emergency_passive_failed = false;
    /* 2: with commits arriving, left to the next sync (joined checkpoint) */
    if (db->last_synced_wal_offset >= min_checkpoint_size(db)) {
        /* fresh: commits may have arrived since the sync (its upload ran) */
        bool at_end = file_size_or(db->wal_path, -1) == db->last_synced_wal_offset;
        /* at most once in a row: if the next sync cannot join (too much
         * WAL pending by then), the checkpoint runs after it as before */
        if (!at_end && !db->checkpoint_deferred && joined_checkpoint_due(db)) {
            db->checkpoint_deferred = true;
            ls_debug("checkpoint joins the next sync", "db", db->path);
            return LS_OK;
        }
        db->checkpoint_deferred = false;
        *ran = true;
        rc = checkpoint(db, SQLITE_CHECKPOINT_PASSIVE, &restarted, err);
        if (rc == LS_ERR_BUSY) rc = LS_OK;
        return rc;
    }
    /* 3 */
    if (db->opts.checkpoint_interval_ns > 0 && db->synced_since_checkpoint &&
        db->last_synced_wal_offset > wal_calc_size(ps, 1)) {
        struct stat sb;
        if (stat(db->path, &sb) == 0) {
            int64_t mtime = (int64_t)sb.st_mtim.tv_sec * LS_NS_PER_SEC + sb.st_mtim.tv_nsec;
            if (ls_now_ns() - mtime >= db->opts.checkpoint_interval_ns) {
                *ran = true;
                rc = checkpoint(db, SQLITE_CHECKPOINT_PASSIVE, &restarted, err);
                if (rc == LS_ERR_BUSY) rc = LS_OK;
                return rc;
            }
        }
    }
    return LS_OK;
}

/* ------------------------------------------------------------------------ */
/* Snapshot stream (7.5)                                                    */

ls_code ls_db_write_snapshot(ls_db *db, ls_writer *w, uint64_t *max_txid, int64_t *timestamp_ms,
                             ls_err *err) {
    if (max_txid) *max_txid = 0;
    if (timestamp_ms) *timestamp_ms = 0;
    if (!db->initialized)
        return ls_err_set(err, LS_ERR_UNAVAILABLE, "%s: snapshot: database not initialized",
                          db->path);
    /* Catch up first (no handover) so the pin's read mark is <= the end of
     * the pages streamed below: no checkpoint can then change the database
     * file pages we read. */
    step_out so;
    ls_code rc = sync_inner(db, 0, false, &so, NULL, err);
    if (rc != LS_OK) return ls_err_wrap(err, "snapshot: sync");
    ls_pos pos;
    rc = db_pos(db, &pos, err);
    if (rc != LS_OK) return ls_err_wrap(err, "snapshot: position");
    if (pos.txid == 0)
        return ls_err_set(err, LS_ERR_UNAVAILABLE, "%s: snapshot: no local position", db->path);
    ltx_header lh;
    rc = read_l0_header(db, pos.txid, &lh, err);
    if (rc != LS_OK) return ls_err_wrap(err, "snapshot");

    db->snapshot_active = true;
    int wfd = -1;
    wal_reader *r = NULL;
    wal_page_map m;
    memset(&m, 0, sizeof(m));
    ltx_encoder *enc = NULL;
    rc = wal_open_fd(db, &wfd, err);
    if (rc != LS_OK) goto done;
    /* 1: E */
    wal_header hdr;
    bool hvalid = false;
    rc = wal_header_read(wfd, &hdr, &hvalid, err);
    if (rc != LS_OK) {
        ls_err_wrap(err, "%s", db->wal_path);
        goto done;
    }
    int64_t end = WAL_HEADER_SIZE;
    if (hvalid && hdr.salt1 == lh.wal_salt1 && hdr.salt2 == lh.wal_salt2)
        end = lh.wal_offset + lh.wal_size;
    if (end < WAL_HEADER_SIZE) end = WAL_HEADER_SIZE;
    /* 2 */
    int64_t dbsz = 0;
    rc = db_file_size(db, &dbsz, err);
    if (rc != LS_OK) goto done;
    uint32_t commit = (uint32_t)(dbsz / db->page_size);
    /* 3 */
    uint32_t s1 = hvalid ? hdr.salt1 : 0, s2 = hvalid ? hdr.salt2 : 0;
    if (end > WAL_HEADER_SIZE) {
        rc = wal_reader_open(&r, wfd, err);
        if (rc != LS_OK) {
            ls_err_wrap(err, "%s: new wal reader", db->wal_path);
            goto done;
        }
        uint32_t rs1, rs2;
        wal_reader_salts(r, &rs1, &rs2);
        if (rs1 != s1 || rs2 != s2) {
            rc = ls_err_set(err, LS_ERR_BUSY, "%s: wal restarted during snapshot; will retry",
                            db->wal_path);
            goto done;
        }
        rc = wal_reader_page_map(r, end - WAL_HEADER_SIZE, &m, err);
        if (rc != LS_OK) {
            ls_err_wrap(err, "%s: wal page map", db->wal_path);
            goto done;
        }
        if (m.end > end) {
            rc = ls_err_set(err, LS_ERR_INTERNAL,
                            "%s: wal page map end %" PRId64 " exceeds synced offset %" PRId64,
                            db->wal_path, m.end, end);
            goto done;
        }
        if (m.commit > 0) commit = m.commit;
    }
    /* 4 */
    ltx_header h;
    memset(&h, 0, sizeof(h));
    h.flags = LTX_FLAG_NO_CHECKSUM;
    h.page_size = db->page_size;
    h.commit = commit;
    h.min_txid = 1;
    h.max_txid = pos.txid;
    h.timestamp = ls_now_ms();
    h.wal_salt1 = s1;
    h.wal_salt2 = s2;
    const int64_t fs = wal_frame_size(db->page_size);
    if (m.end > WAL_HEADER_SIZE) {
        h.wal_offset = m.end - fs;
        h.wal_size = fs;
    } else {
        h.wal_offset = WAL_HEADER_SIZE;
        h.wal_size = 0;
    }
    if (commit == 0) {
        rc = ls_err_set(err, LS_ERR_FORMAT, "%s: database has no pages", db->path);
        goto done;
    }
    /* 5 */
    rc = ltx_encoder_open(&enc, &h, w, err);
    if (rc == LS_OK) rc = encode_pages(db, enc, wfd, &m, true, commit, 0, err);
    if (rc == LS_OK && r && m.n > 0) {
        bool same = false;
        const wal_header *h0 = wal_reader_header(r);
        rc = wal_unchanged(db, wfd, h0->salt1, h0->salt2, &same, err);
        if (rc == LS_OK && !same)
            rc = ls_err_set(err, LS_ERR_BUSY, "%s: wal restarted during snapshot; will retry",
                            db->wal_path);
    }
    if (rc == LS_OK) rc = ltx_encoder_close(enc, 0, err);
    if (rc == LS_OK) {
        if (max_txid) *max_txid = pos.txid;
        if (timestamp_ms) *timestamp_ms = h.timestamp;
    }
done:
    ltx_encoder_free(enc);
    wal_page_map_free(&m);
    wal_reader_free(r);
    if (wfd >= 0) close(wfd);
    db->snapshot_active = false;
    if (db->handover_pending) pin_handover(db);
    if (rc != LS_OK) ls_err_wrap(err, "snapshot");
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Local file management                                                    */

ls_code ls_db_adopt_replica_l0(ls_db *db, uint64_t replica_txid, ls_reader *src, ls_err *err) {
    if (replica_txid == 0 || !src)
        return ls_err_set(err, LS_ERR_INVALID, "%s: adopt replica L0: bad arguments", db->path);
    ls_pos pos;
    ls_err e;
    if (db_pos(db, &pos, &e) == LS_OK && pos.txid >= replica_txid) return LS_OK;
    if (db->file_mode == 0) db->file_mode = 0600;
    ls_code rc = ensure_meta_dirs(db, err);
    if (rc != LS_OK) return rc;
    char *final = l0_path(db, replica_txid);
    char *tmp = final ? ls_strfmt("%s.tmp", final) : NULL;
    if (!final || !tmp) {
        free(final);
        free(tmp);
        return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
    }
    /* download into <name>.tmp, fsync */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, db->file_mode);
    if (fd < 0) {
        rc = ls_err_errno(err, errno, "create %s", tmp);
        goto out;
    }
    uint8_t buf[64 * 1024];
    for (;;) {
        size_t n = 0;
        rc = ls_read(src, buf, sizeof(buf), &n, err);
        if (rc != LS_OK || n == 0) break;
        rc = ls_write_full(fd, buf, n, err, tmp);
        if (rc != LS_OK) break;
    }
    if (rc == LS_OK && fsync(fd) != 0) rc = ls_err_errno(err, errno, "fsync %s", tmp);
    close(fd);
    /* verify it completely */
    if (rc == LS_OK) {
        ls_reader *r = NULL;
        rc = ls_reader_file(tmp, &r, err);
        if (rc == LS_OK) {
            ltx_header h;
            rc = ltx_verify(r, &h, NULL, err);
            ls_reader_close(r);
            if (rc == LS_OK && (h.min_txid != replica_txid || h.max_txid != replica_txid))
                rc = ls_err_set(err, LS_ERR_FORMAT,
                                "replica L0 file has TXIDs %016" PRIx64 "-%016" PRIx64
                                ", expected %016" PRIx64,
                                h.min_txid, h.max_txid, replica_txid);
        }
        if (rc != LS_OK) ls_err_wrap(err, "verify %s", tmp);
    }
    if (rc != LS_OK) {
        unlink(tmp);
        goto out;
    }
    /* replace the local L0 directory's contents */
    DIR *d = opendir(db->l0_dir);
    if (d) {
        struct dirent *de;
        const char *tmpbase = strrchr(tmp, '/') ? strrchr(tmp, '/') + 1 : tmp;
        while ((de = readdir(d)) != NULL) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
            if (strcmp(de->d_name, tmpbase) == 0) continue;
            char *p = ls_path_join(db->l0_dir, de->d_name);
            if (p && unlink(p) != 0 && errno != ENOENT) ls_warn("cannot remove", "path", p);
            free(p);
        }
        closedir(d);
    }
    db->pos_valid = false;
    if (rename(tmp, final) != 0) {
        rc = ls_err_errno(err, errno, "rename %s", tmp);
        unlink(tmp);
        goto out;
    }
    chown_if_root(db, final);
    rc = ls_fsync_dir(db->l0_dir, err);
    db->guard = false;
    db->last_synced_wal_offset = 0;
    db->synced_to_wal_end = false;
    ls_info("database is behind its replica; adopted the replica's newest L0 file", "db",
            db->path, "txid", LS_HEX16(replica_txid));
out:
    free(final);
    free(tmp);
    status_refresh(db);
    return rc;
}

ls_code ls_db_delete_l0_upto(ls_db *db, uint64_t upto, ls_err *err) {
    uint64_t newest = 0;
    ls_code rc = l0_max_txid(db, &newest, err);
    if (rc != LS_OK) return rc;
    DIR *d = opendir(db->l0_dir);
    if (!d) return errno == ENOENT ? LS_OK : ls_err_errno(err, errno, "list %s", db->l0_dir);
    struct dirent *de;
    size_t n = 0;
    while ((de = readdir(d)) != NULL) {
        uint64_t mn, mx;
        if (!ltx_parse_filename(de->d_name, &mn, &mx)) continue;
        if (mx > upto || mx == newest) continue;
        char *p = ls_path_join(db->l0_dir, de->d_name);
        if (!p) {
            rc = ls_err_set(err, LS_ERR_NOMEM, "out of memory");
            break;
        }
        if (unlink(p) != 0 && errno != ENOENT) {
            rc = ls_err_errno(err, errno, "delete %s", p);
            free(p);
            break;
        }
        free(p);
        n++;
    }
    closedir(d);
    db->pos_valid = false;
    if (n > 0 && rc == LS_OK) rc = ls_fsync_dir(db->l0_dir, err);
    return rc;
}

ls_code ls_db_reset_local(ls_db *db, ls_err *err) {
    ls_code rc = ls_remove_all(db->ltx_root, err);
    db->pos_valid = false;
    db->pos.txid = 0;
    db->pos.post_apply_checksum = 0;
    db->guard = false;
    db->last_synced_wal_offset = 0;
    db->synced_to_wal_end = false;
    pthread_mutex_lock(&db->mu);
    db->st.txid = 0;
    pthread_mutex_unlock(&db->mu);
    return rc;
}

void ls_db_release_read_tx(ls_db *db) {
    db->handover_pending = false;
    pin_release(db);
    db->guard = false;
}

/* ------------------------------------------------------------------------ */
/* Lifecycle                                                                */

ls_code ls_db_new(const ls_db_opts *opts, ls_db **out, ls_err *err) {
    *out = NULL;
    if (!opts || !opts->path || !*opts->path)
        return ls_err_set(err, LS_ERR_INVALID, "database path required");
    ls_db *db = calloc(1, sizeof(*db));
    if (!db) return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
    db->opts = *opts;
    if (db->opts.busy_timeout_ns <= 0) db->opts.busy_timeout_ns = DEFAULT_BUSY_TIMEOUT_NS;
    if (db->opts.min_checkpoint_page_n <= 0) db->opts.min_checkpoint_page_n = DEFAULT_MIN_CHECKPOINT_PAGE_N;
    if (db->opts.max_sync_wal_bytes < 0) db->opts.max_sync_wal_bytes = 0;
    db->path = ls_path_abs(opts->path);
    db->meta_path = opts->meta_path && *opts->meta_path ? ls_path_abs(opts->meta_path)
                                                         : ls_db_default_meta_path(db->path);
    db->wal_path = db->path ? ls_strfmt("%s-wal", db->path) : NULL;
    db->ltx_root = db->meta_path ? ls_path_join(db->meta_path, "ltx") : NULL;
    db->l0_dir = db->ltx_root ? ls_path_join(db->ltx_root, "0") : NULL;
    db->opts.path = db->path;
    db->opts.meta_path = db->meta_path;
    db->db_fd = -1;
    db->pin_cur = -1;
    db->barrier_idx = -1;
    db->file_mode = 0600;
    db->dir_mode = 0700;
    db->uid = (uid_t)-1;
    db->gid = (gid_t)-1;
    pthread_mutex_init(&db->mu, NULL);
    db->st.wal_size = -1;
    db->st.db_size = -1;
    if (!db->path || !db->meta_path || !db->wal_path || !db->ltx_root || !db->l0_dir) {
        ls_db_free(db);
        return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
    }
    *out = db;
    return LS_OK;
}

ls_code ls_db_close(ls_db *db, ls_err *err) {
    if (!db || db->closed) return LS_OK;
    ls_code rc = LS_OK;
    if (db->initialized) {
        step_out so;
        rc = sync_inner(db, 0, false, &so, NULL, err);
        if (rc != LS_OK) ls_err_wrap(err, "%s: final sync", db->path);
    }
    close_connections(db);
    db->initialized = false;
    db->closed = true;
    status_refresh(db);
    return rc;
}

void ls_db_free(ls_db *db) {
    if (!db) return;
    close_connections(db);
    pthread_mutex_destroy(&db->mu);
    free(db->page);
    free(db->page2);
    free(db->path);
    free(db->meta_path);
    free(db->wal_path);
    free(db->ltx_root);
    free(db->l0_dir);
    free(db);
}
