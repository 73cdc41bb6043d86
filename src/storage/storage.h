/*
 * storage/storage.h — the contract every replica backend implements.
 *
 * A backend stores opaque objects under '/'-separated keys relative to the
 * replica root (a directory for file://, a bucket prefix for s3://). It knows
 * nothing of LTX, databases or MCP; storage/ltxfiles.h maps LTX files
 * (level, min TXID, max TXID) onto keys with the backend's naming scheme.
 *
 * Methods (all return LS_OK or an error code with err filled; err names the
 * backend, the key and the underlying cause; secrets never appear):
 *
 *   put(key, src, opts)   Stores the whole of src under key ATOMICALLY: a
 *                         reader of key sees either the old object or the
 *                         complete new one, never a partial one. When
 *                         opts->created_at_ns != 0 the backend records it as
 *                         the object's creation time (file: mtime+atime;
 *                         s3: x-amz-meta-litestream-timestamp). src is read
 *                         to EOF but not closed (caller owns it).
 *   get(key, off, len)    Opens a reader over bytes [off, off+len) of the
 *                         object (len == LS_STORAGE_TO_END: to the end).
 *                         Missing key -> LS_ERR_NOTFOUND. Caller closes.
 *   head(key)             Size and creation time of one object; missing ->
 *                         LS_ERR_NOTFOUND. With accurate_time the backend
 *                         reports the recorded creation time (file: mtime;
 *                         s3: the metadata value, else LastModified).
 *   list(prefix)          Every object whose key starts with prefix, sorted
 *                         by key ascending (paginates internally). With
 *                         delimiter '/', keys below the next '/' are folded
 *                         into one "directory" entry (is_dir = true, key ends
 *                         with '/'). A missing prefix is an empty list.
 *   del(keys, n)          Deletes keys; missing keys are not errors (multi-
 *                         object delete where the backend has it).
 *   close()               Frees the backend and everything it owns.
 *
 * Thread-safety: one ls_storage may be used from several threads at once;
 * backends lock internally where they hold shared state.
 */
#ifndef LS_STORAGE_STORAGE_H
#define LS_STORAGE_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"
#include "util/stream.h"

#define LS_STORAGE_TO_END UINT64_MAX

typedef struct ls_object_info {
    char *key;              /* malloc'd, relative to the replica root */
    int64_t size;           /* bytes; -1 for directory entries */
    int64_t created_at_ns;  /* creation time (see head/list notes), 0 unknown */
    bool is_dir;
} ls_object_info;

typedef struct ls_object_list {
    ls_object_info *items;
    size_t n, cap;
} ls_object_list;

typedef struct ls_put_opts {
    int64_t created_at_ns;  /* 0: backend default */
    int64_t size_hint;      /* total bytes if known, else -1 */
} ls_put_opts;

/* Request counters kept by every backend (reported by status/metrics). */
typedef struct ls_storage_stats {
    uint64_t puts, gets, lists, deletes, heads;
    uint64_t bytes_out, bytes_in, errors, retries;
} ls_storage_stats;

typedef struct ls_storage ls_storage;

typedef struct ls_storage_ops {
    ls_code (*put)(ls_storage *s, const char *key, ls_reader *src, const ls_put_opts *opts,
                   ls_err *err);
    ls_code (*get)(ls_storage *s, const char *key, uint64_t off, uint64_t len, ls_reader **out,
                   ls_err *err);
    ls_code (*head)(ls_storage *s, const char *key, bool accurate_time, ls_object_info *out,
                    ls_err *err);
    ls_code (*list)(ls_storage *s, const char *prefix, char delimiter, ls_object_list *out,
                    ls_err *err);
    ls_code (*del)(ls_storage *s, const char *const *keys, size_t n, ls_err *err);
    void (*close)(ls_storage *s);
} ls_storage_ops;

/* LTX key layout of a backend (spec 3.2). */
typedef enum ls_ltx_layout {
    LS_LTX_LAYOUT_DIR,   /* "ltx/<level decimal>/<min>-<max>.ltx" (file, sftp, ...) */
    LS_LTX_LAYOUT_HEX4,  /* "<%04x level>/<min>-<max>.ltx" (s3, oss) */
} ls_ltx_layout;

struct ls_storage {
    const ls_storage_ops *ops;
    const char *type;      /* "file", "s3", ... */
    char *url;             /* display URL with credentials removed (owned) */
    ls_ltx_layout layout;
    ls_storage_stats stats;/* atomic adds; see "Request accounting" below */
    /* Added: true when list() already reports the recorded creation time
     * (file: mtime). When false (s3: LastModified), ls_ltx_list() with
     * accurate_time issues one head(accurate) per object. */
    bool list_times_accurate;
};

/* Convenience wrappers (validate arguments, count requests, prefix errors
 * with "<type> <op> <key>: "). Callers use these, never ops directly.
 * Output parameters are initialised by the call: a list is freed with
 * ls_object_list_free (sorted by key even if a backend is not), a head
 * result with ls_object_info_free; get readers must not outlive s.
 * ls_storage_del with n == 0 is a no-op. */
ls_code ls_storage_put(ls_storage *s, const char *key, ls_reader *src, const ls_put_opts *opts,
                       ls_err *err);
ls_code ls_storage_get(ls_storage *s, const char *key, uint64_t off, uint64_t len,
                       ls_reader **out, ls_err *err);
ls_code ls_storage_head(ls_storage *s, const char *key, bool accurate_time, ls_object_info *out,
                        ls_err *err);
ls_code ls_storage_list(ls_storage *s, const char *prefix, char delimiter, ls_object_list *out,
                        ls_err *err);
ls_code ls_storage_del(ls_storage *s, const char *const *keys, size_t n, ls_err *err);
void ls_storage_close(ls_storage *s);

/*
 * Request accounting. The ls_storage_* wrappers count every request
 * (puts/gets/heads/lists/deletes), failed requests (errors) and payload bytes
 * (bytes_out: read from a put's source; bytes_in: delivered by a get reader)
 * with relaxed atomic adds (deletes counts calls, not keys; a missing
 * object is not counted as an error), so backends must NOT count those; a
 * backend only adds its internal retries (ls_storage_stat_add(&s->stats.
 * retries, 1)). ls_storage_stats_get() takes a consistent-enough snapshot.
 */
static inline void ls_storage_stat_add(uint64_t *field, uint64_t n) {
    __atomic_fetch_add(field, n, __ATOMIC_RELAXED);
}
void ls_storage_stats_get(const ls_storage *s, ls_storage_stats *out);

/*
 * Key rules (checked by every wrapper before the backend is called; backends
 * may call it again): a key is 1..LS_STORAGE_KEY_MAX bytes of '/'-separated
 * non-empty segments, none of which is "." or ".."; no leading or trailing
 * '/', no "//", no control characters (0x01-0x1f, 0x7f). A list prefix
 * (is_prefix) may be empty and may end with '/'. Violations return
 * LS_ERR_INVALID with a message that quotes the key (control characters
 * escaped).
 */
#define LS_STORAGE_KEY_MAX 1024
ls_code ls_storage_key_check(const char *key, bool is_prefix, ls_err *err);

void ls_object_list_free(ls_object_list *l);
/* Sorts by key ascending (strcmp, i.e. byte order as S3 lists). */
void ls_object_list_sort(ls_object_list *l);
ls_code ls_object_list_push(ls_object_list *l, const char *key, int64_t size, int64_t created_ns,
                            bool is_dir, ls_err *err);
void ls_object_info_free(ls_object_info *o);

/*
 * Backends. Each constructor takes its backend's options and returns a
 * storage the caller closes.
 */
/* file backend rooted at a directory path (made absolute; created on first
 * put). Objects are plain files root/<key>; see storage/file.c for details:
 * put writes "<final>.<pid>.<n>.tmp", fsyncs, sets mtime+atime to
 * created_at_ns, renames and fsyncs the directory; list ignores "*.tmp";
 * head/list report mtime as the creation time; new directories get the
 * root's permission bits (0700 when the root does not exist yet) and files
 * the same bits without execute (0600). */
ls_code ls_storage_file_open(const char *root, ls_storage **out, ls_err *err);
/* Root directory of a file backend (NULL for other backends). */
const char *ls_storage_file_root(const ls_storage *s);
/* s3 backend: ls_storage_s3_open(const ls_s3_opts *, ls_storage **,
 * ls_err *) and its options are declared in storage/s3.h (kept apart so
 * this header does not grow libcurl-specific options). */

#endif
