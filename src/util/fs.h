/*
 * util/fs.h — file-system helpers with error context.
 *
 * Every function that fails fills err with a message that names the path and
 * the errno text. Returned strings are malloc'd and owned by the caller.
 */
#ifndef LS_UTIL_FS_H
#define LS_UTIL_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/error.h"

/* mkdir -p; existing directories are fine. */
ls_code ls_mkdir_p(const char *path, mode_t mode, ls_err *err);
/* fsync a directory (makes a rename or unlink durable). */
ls_code ls_fsync_dir(const char *dir, ls_err *err);
/* fsync the parent directory of path. */
ls_code ls_fsync_parent(const char *path, ls_err *err);
/* Writes data to "<path>.tmp", fsyncs, renames over path, fsyncs the dir. */
ls_code ls_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
                             ls_err *err);
/* The same without the fsyncs: readers see the old or the new content,
 * never a mix, but a crash may lose the update (for advisory files written
 * often, e.g. counters, where a stall on fsync would cost more). */
ls_code ls_write_file_replace(const char *path, const void *data, size_t len, mode_t mode,
                              ls_err *err);
/* Reads a whole file; refuses files larger than max_len (LS_ERR_FORMAT).
 * *out is malloc'd (NUL-terminated for convenience, not counted in *len). */
ls_code ls_read_file(const char *path, size_t max_len, char **out, size_t *len, ls_err *err);
/* Full pread/pwrite loops (retry EINTR, short transfers). pread stops at EOF
 * and reports the number of bytes read in *nread. */
ls_code ls_pread_full(int fd, void *buf, size_t len, off_t off, size_t *nread, ls_err *err,
                      const char *what);
ls_code ls_write_full(int fd, const void *buf, size_t len, ls_err *err, const char *what);
/* rm -rf; a missing path is not an error. */
ls_code ls_remove_all(const char *path, ls_err *err);
/* Joins two path pieces with exactly one '/'. Returns malloc'd string. */
char *ls_path_join(const char *a, const char *b);
/* Directory part / last element of a path, malloc'd ("." when none). */
char *ls_path_dir(const char *path);
char *ls_path_base(const char *path);
/* Go's path.Clean (lexical: single slashes, "." and ".." resolved, "" -> ".");
 * malloc'd, NULL on allocation failure. */
char *ls_path_clean(const char *p);
/* Makes path absolute (relative to cwd) and expands a leading "~". */
char *ls_path_abs(const char *path);
bool ls_path_exists(const char *path);
/* printf into a new malloc'd string; NULL on allocation failure. */
char *ls_strfmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *ls_strdup(const char *s);

#endif
