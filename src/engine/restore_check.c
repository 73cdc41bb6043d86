/*
 * engine/restore_check.c — the post-restore integrity check (PRAGMA
 * quick_check / integrity_check) on the complete temp file, through a small
 * SQLite VFS that reads the database by bounded memory maps.
 *
 * Why: the check reads every page of the database, and SQLite 3.40's
 * quick_check even reads each one twice (the b-tree walk, descending, then a
 * scan of every row, ascending) because its page cache is far smaller than
 * the database. Through pread that is one system call and one 4 KiB copy
 * per page and pass. SQLite's own mmap (PRAGMA mmap_size) avoids both, but
 * maps the whole file: the process's resident size would grow with the
 * database. This VFS ("ls-restore-check") forwards everything to the
 * default VFS except xFetch/xUnfetch on the main database file, which it
 * serves from at most QC_SLOTS read-only windows of QC_WINDOW bytes
 * (MAP_POPULATE: the pages were just written and are in the page cache).
 * A window is unmapped only when SQLite holds no page of it; when every slot
 * is pinned, or a mapping fails, xFetch returns no pointer and SQLite reads
 * the page with xRead as usual. Mapped memory is therefore bounded by
 * QC_SLOTS x QC_WINDOW (8 MiB) whatever the database size; it is the page
 * cache's own pages, not a copy.
 *
 * The temp file is locked by the restore (flock) and nobody else writes it
 * while it is checked; like any memory-mapped read, an I/O error while a
 * page is faulted in would end the process (SIGBUS) instead of returning an
 * error (the pages are normally resident: they were written moments ago).
 *
 * Thread-safety: the VFS is registered once (pthread_once); each file
 * object is used by the one connection (SQLITE_OPEN_NOMUTEX) that opened it.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/restore_internal.h"
#include "util/fs.h"

#define QC_VFS_NAME "ls-restore-check"
#define QC_WINDOW (1024 * 1024) /* a multiple of every page size */
#define QC_SLOTS 8

typedef struct qc_slot {
    uint8_t *p;      /* NULL = empty */
    size_t len;
    int64_t idx;     /* window number: file offset / QC_WINDOW */
    int refs;        /* pages SQLite holds from this window */
    uint64_t used;   /* last use, for LRU */
} qc_slot;

typedef struct qc_file {
    sqlite3_file base;    /* pMethods = &qc_io */
    sqlite3_file *real;   /* the default VFS's file, allocated after this struct */
    int mfd;              /* main database: read-only fd for the maps; else -1 */
    int64_t size;         /* main database size at open */
    uint64_t tick;
    qc_slot slot[QC_SLOTS];
} qc_file;

static sqlite3_vfs *qc_real_vfs;
static sqlite3_vfs qc_vfs;
static sqlite3_io_methods qc_io;
static pthread_once_t qc_once = PTHREAD_ONCE_INIT;
static int qc_ready; /* registration succeeded */

static sqlite3_file *R(sqlite3_file *f) { return ((qc_file *)f)->real; }

static void qc_unmap_idle(qc_file *f) {
    for (int i = 0; i < QC_SLOTS; i++) {
        qc_slot *s = &f->slot[i];
        if (s->p && s->refs == 0) {
            munmap(s->p, s->len);
            s->p = NULL;
        }
    }
}

/* ---- io methods: forwarded, except the maps ----------------------------- */

static int qc_close(sqlite3_file *f) {
    qc_file *q = (qc_file *)f;
    for (int i = 0; i < QC_SLOTS; i++)
        if (q->slot[i].p) munmap(q->slot[i].p, q->slot[i].len);
    memset(q->slot, 0, sizeof(q->slot));
    if (q->mfd >= 0) close(q->mfd);
    q->mfd = -1;
    int rc = SQLITE_OK;
    if (q->real->pMethods) rc = q->real->pMethods->xClose(q->real);
    q->real->pMethods = NULL;
    return rc;
}
static int qc_read(sqlite3_file *f, void *b, int n, sqlite3_int64 o) {
    return R(f)->pMethods->xRead(R(f), b, n, o);
}
static int qc_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 o) {
    return R(f)->pMethods->xWrite(R(f), b, n, o);
}
static int qc_truncate(sqlite3_file *f, sqlite3_int64 size) {
    qc_file *q = (qc_file *)f;
    qc_unmap_idle(q);
    if (q->mfd >= 0 && size < q->size) q->size = size; /* no map past the new end */
    return R(f)->pMethods->xTruncate(R(f), size);
}
static int qc_sync(sqlite3_file *f, int flags) { return R(f)->pMethods->xSync(R(f), flags); }
static int qc_file_size(sqlite3_file *f, sqlite3_int64 *out) {
    return R(f)->pMethods->xFileSize(R(f), out);
}
static int qc_lock(sqlite3_file *f, int l) { return R(f)->pMethods->xLock(R(f), l); }
static int qc_unlock(sqlite3_file *f, int l) { return R(f)->pMethods->xUnlock(R(f), l); }
static int qc_check_reserved(sqlite3_file *f, int *out) {
    return R(f)->pMethods->xCheckReservedLock(R(f), out);
}
static int qc_file_control(sqlite3_file *f, int op, void *arg) {
    /* The maps are ours: the default VFS must not map the file as well. */
    if (op == SQLITE_FCNTL_MMAP_SIZE) return SQLITE_OK;
    return R(f)->pMethods->xFileControl(R(f), op, arg);
}
static int qc_sector_size(sqlite3_file *f) { return R(f)->pMethods->xSectorSize(R(f)); }
static int qc_device_chars(sqlite3_file *f) {
    return R(f)->pMethods->xDeviceCharacteristics(R(f));
}
static int qc_shm_map(sqlite3_file *f, int pg, int sz, int extend, void volatile **pp) {
    if (R(f)->pMethods->iVersion < 2) return SQLITE_IOERR_SHMMAP;
    return R(f)->pMethods->xShmMap(R(f), pg, sz, extend, pp);
}
static int qc_shm_lock(sqlite3_file *f, int off, int n, int flags) {
    if (R(f)->pMethods->iVersion < 2) return SQLITE_IOERR_SHMLOCK;
    return R(f)->pMethods->xShmLock(R(f), off, n, flags);
}
static void qc_shm_barrier(sqlite3_file *f) {
    if (R(f)->pMethods->iVersion >= 2) R(f)->pMethods->xShmBarrier(R(f));
}
static int qc_shm_unmap(sqlite3_file *f, int del) {
    if (R(f)->pMethods->iVersion < 2) return SQLITE_OK;
    return R(f)->pMethods->xShmUnmap(R(f), del);
}

static int qc_fetch(sqlite3_file *f, sqlite3_int64 off, int amt, void **pp) {
    qc_file *q = (qc_file *)f;
    *pp = NULL;
    if (q->mfd < 0 || off < 0 || amt <= 0 || off + amt > q->size) return SQLITE_OK;
    int64_t idx = off / QC_WINDOW;
    if ((off + amt - 1) / QC_WINDOW != idx) return SQLITE_OK; /* spans two windows */
    q->tick++;
    qc_slot *hit = NULL, *victim = NULL;
    for (int i = 0; i < QC_SLOTS; i++) {
        qc_slot *s = &q->slot[i];
        if (s->p && s->idx == idx) {
            hit = s;
            break;
        }
        if (s->refs == 0 && (!victim || !s->p || (victim->p && s->used < victim->used)))
            victim = s;
    }
    if (!hit) {
        if (!victim) return SQLITE_OK; /* every window pinned: xRead */
        if (victim->p) munmap(victim->p, victim->len);
        victim->p = NULL;
        int64_t start = idx * QC_WINDOW;
        size_t len = (size_t)(q->size - start < QC_WINDOW ? q->size - start : QC_WINDOW);
        void *p = mmap(NULL, len, PROT_READ, MAP_SHARED | MAP_POPULATE, q->mfd, (off_t)start);
        if (p == MAP_FAILED) return SQLITE_OK; /* xRead instead */
        victim->p = p;
        victim->len = len;
        victim->idx = idx;
        victim->refs = 0;
        hit = victim;
    }
    hit->refs++;
    hit->used = q->tick;
    *pp = hit->p + (off - hit->idx * QC_WINDOW);
    return SQLITE_OK;
}

static int qc_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p) {
    qc_file *q = (qc_file *)f;
    (void)off;
    if (!p) { /* SQLite holds no page: drop every map */
        qc_unmap_idle(q);
        return SQLITE_OK;
    }
    for (int i = 0; i < QC_SLOTS; i++) {
        qc_slot *s = &q->slot[i];
        if (s->p && (uint8_t *)p >= s->p && (uint8_t *)p < s->p + s->len) {
            if (s->refs > 0) s->refs--;
            break;
        }
    }
    return SQLITE_OK;
}

/* ---- vfs methods: forwarded to the default VFS -------------------------- */

static int qc_open(sqlite3_vfs *v, const char *name, sqlite3_file *f, int flags,
                   int *out_flags) {
    (void)v;
    qc_file *q = (qc_file *)f;
    memset(q, 0, sizeof(*q));
    q->mfd = -1;
    q->real = (sqlite3_file *)(q + 1);
    memset(q->real, 0, (size_t)qc_real_vfs->szOsFile);
    int rc = qc_real_vfs->xOpen(qc_real_vfs, name, q->real, flags, out_flags);
    if (q->real->pMethods) q->base.pMethods = &qc_io; /* xClose closes the real file */
    if (rc != SQLITE_OK || !q->real->pMethods) return rc;
    if ((flags & SQLITE_OPEN_MAIN_DB) && name) {
        int fd = open(name, O_RDONLY | O_CLOEXEC);
        struct stat sb;
        if (fd >= 0 && fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode)) {
            q->mfd = fd;
            q->size = (int64_t)sb.st_size;
        } else if (fd >= 0) {
            close(fd); /* no maps: plain reads */
        }
    }
    return SQLITE_OK;
}
static int qc_delete(sqlite3_vfs *v, const char *n, int sync_dir) {
    (void)v;
    return qc_real_vfs->xDelete(qc_real_vfs, n, sync_dir);
}
static int qc_access(sqlite3_vfs *v, const char *n, int flags, int *out) {
    (void)v;
    return qc_real_vfs->xAccess(qc_real_vfs, n, flags, out);
}
static int qc_full_pathname(sqlite3_vfs *v, const char *n, int len, char *out) {
    (void)v;
    return qc_real_vfs->xFullPathname(qc_real_vfs, n, len, out);
}
static void *qc_dlopen(sqlite3_vfs *v, const char *n) {
    (void)v;
    return qc_real_vfs->xDlOpen(qc_real_vfs, n);
}
static void qc_dlerror(sqlite3_vfs *v, int n, char *msg) {
    (void)v;
    qc_real_vfs->xDlError(qc_real_vfs, n, msg);
}
static void (*qc_dlsym(sqlite3_vfs *v, void *h, const char *sym))(void) {
    (void)v;
    return qc_real_vfs->xDlSym(qc_real_vfs, h, sym);
}
static void qc_dlclose(sqlite3_vfs *v, void *h) {
    (void)v;
    qc_real_vfs->xDlClose(qc_real_vfs, h);
}
static int qc_randomness(sqlite3_vfs *v, int n, char *out) {
    (void)v;
    return qc_real_vfs->xRandomness(qc_real_vfs, n, out);
}
static int qc_sleep(sqlite3_vfs *v, int us) {
    (void)v;
    return qc_real_vfs->xSleep(qc_real_vfs, us);
}
static int qc_current_time(sqlite3_vfs *v, double *out) {
    (void)v;
    return qc_real_vfs->xCurrentTime(qc_real_vfs, out);
}
static int qc_last_error(sqlite3_vfs *v, int n, char *out) {
    (void)v;
    return qc_real_vfs->xGetLastError ? qc_real_vfs->xGetLastError(qc_real_vfs, n, out) : 0;
}
static int qc_current_time64(sqlite3_vfs *v, sqlite3_int64 *out) {
    (void)v;
    if (qc_real_vfs->iVersion >= 2 && qc_real_vfs->xCurrentTimeInt64)
        return qc_real_vfs->xCurrentTimeInt64(qc_real_vfs, out);
    double d = 0;
    int rc = qc_real_vfs->xCurrentTime(qc_real_vfs, &d);
    *out = (sqlite3_int64)(d * 86400000.0);
    return rc;
}

static void qc_register(void) {
    if (sqlite3_initialize() != SQLITE_OK) return;
    qc_real_vfs = sqlite3_vfs_find(NULL);
    if (!qc_real_vfs || qc_real_vfs->szOsFile <= 0) return;
    qc_io = (sqlite3_io_methods){
        .iVersion = 3,
        .xClose = qc_close,
        .xRead = qc_read,
        .xWrite = qc_write,
        .xTruncate = qc_truncate,
        .xSync = qc_sync,
        .xFileSize = qc_file_size,
        .xLock = qc_lock,
        .xUnlock = qc_unlock,
        .xCheckReservedLock = qc_check_reserved,
        .xFileControl = qc_file_control,
        .xSectorSize = qc_sector_size,
        .xDeviceCharacteristics = qc_device_chars,
        .xShmMap = qc_shm_map,
        .xShmLock = qc_shm_lock,
        .xShmBarrier = qc_shm_barrier,
        .xShmUnmap = qc_shm_unmap,
        .xFetch = qc_fetch,
        .xUnfetch = qc_unfetch,
    };
    qc_vfs = (sqlite3_vfs){
        .iVersion = 2,
        .szOsFile = (int)sizeof(qc_file) + qc_real_vfs->szOsFile,
        .mxPathname = qc_real_vfs->mxPathname,
        .zName = QC_VFS_NAME,
        .xOpen = qc_open,
        .xDelete = qc_delete,
        .xAccess = qc_access,
        .xFullPathname = qc_full_pathname,
        .xDlOpen = qc_dlopen,
        .xDlError = qc_dlerror,
        .xDlSym = qc_dlsym,
        .xDlClose = qc_dlclose,
        .xRandomness = qc_randomness,
        .xSleep = qc_sleep,
        .xCurrentTime = qc_current_time,
        .xGetLastError = qc_last_error,
        .xCurrentTimeInt64 = qc_current_time64,
    };
    qc_ready = sqlite3_vfs_register(&qc_vfs, 0) == SQLITE_OK;
}

/* ---- the check ---------------------------------------------------------- */

static int ic_progress(void *arg) {
    atomic_bool *c = arg;
    return c && atomic_load(c) ? 1 : 0;
}

ls_code ls_restore_check_integrity(const char *path, ls_integrity mode, atomic_bool *cancel,
                                   ls_err *err) {
    pthread_once(&qc_once, qc_register);
    sqlite3 *db = NULL;
    ls_code code = LS_OK;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                             qc_ready ? QC_VFS_NAME : NULL);
    if (rc != SQLITE_OK) {
        code = ls_err_set(err, LS_ERR_SQLITE,
                          "post-restore integrity check: open database for integrity check: %s",
                          db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close_v2(db);
        ls_restore_remove_sidecars(path, false);
        return code;
    }
    sqlite3_busy_timeout(db, 5000);
    /* Any positive size makes SQLite ask the VFS for maps (xFetch); the VFS
     * decides what is mapped. Without mmap support in this SQLite build
     * the pragma is a no-op and pages are read as usual. */
    if (qc_ready) sqlite3_exec(db, "PRAGMA mmap_size=1073741824", NULL, NULL, NULL);
    if (cancel) sqlite3_progress_handler(db, 1000, ic_progress, cancel);
    const char *sql = mode == LS_INTEGRITY_FULL ? "PRAGMA integrity_check" : "PRAGMA quick_check";
    sqlite3_stmt *stmt = NULL;
    rc = sqlite3_prepare_v2(db, sql, -1, &stmt, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        const char *res = (const char *)sqlite3_column_text(stmt, 0);
        if (!res || strcmp(res, "ok") != 0)
            code = ls_err_set(err, LS_ERR_FORMAT,
                              "post-restore integrity check: integrity check failed: %s",
                              res ? res : "(null)");
    } else if (rc == SQLITE_INTERRUPT) {
        code = ls_err_set(err, LS_ERR_CANCELED, "restore canceled");
    } else {
        ls_code c = LS_ERR_SQLITE;
        if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) c = LS_ERR_BUSY;
        else if (rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT) c = LS_ERR_FORMAT;
        code = ls_err_set(err, c, "post-restore integrity check: integrity check: %s",
                          sqlite3_errmsg(db));
    }
    sqlite3_finalize(stmt);
    sqlite3_close_v2(db);
    ls_restore_remove_sidecars(path, false);
    return code;
}
