/*
 * engine/restore_internal.h — output-path helpers shared by the LTX restore
 * (engine/restore.c) and the v0.3 restore (engine/legacy_restore.c), so both
 * follow the same rules (engine/restore.h): "<output>.tmp" locked with flock,
 * integrity check before the rename, RENAME_NOREPLACE without force, the
 * output's sidecars removed before a forced replace. Not a public API.
 *
 * Errors name the path. Thread-safety: no shared state.
 */
#ifndef LS_ENGINE_RESTORE_INTERNAL_H
#define LS_ENGINE_RESTORE_INTERNAL_H

#include <stdbool.h>

#include "engine/restore.h"
#include "util/error.h"

/* Directory -> LS_ERR_INVALID; existing output or -wal/-shm/-journal
 * sidecar without force -> LS_ERR_EXISTS. */
ls_code ls_restore_check_output(const char *out, bool force, ls_err *err);

/* Creates (or reuses a stale) tmp, locks it (flock, LS_ERR_BUSY when another
 * restore holds it) and truncates it. *fd is owned by the caller. */
ls_code ls_restore_open_tmp(const char *tmp, int *fd, ls_err *err);

/* Removes "<path>-wal", "<path>-shm" (and "<path>-journal" when journal). */
void ls_restore_remove_sidecars(const char *path, bool journal);

/* Runs PRAGMA quick_check (LS_INTEGRITY_QUICK) or integrity_check (FULL)
 * on the database at path (engine/restore_check.c: pages are read through
 * bounded read-only maps, at most 8 MiB mapped at once); removes the
 * -wal/-shm the open may create. Not "ok" -> LS_ERR_FORMAT with SQLite's
 * first message; *cancel set -> LS_ERR_CANCELED. */
ls_code ls_restore_check_integrity(const char *path, ls_integrity mode, atomic_bool *cancel,
                                   ls_err *err);

/* Finishes a complete temp file: fsync and, concurrently on a second
 * thread, the integrity check (opts->integrity); both must succeed (the
 * fsync error wins), then cancellation check, removal of the output's sidecars when opts->force,
 * rename into place, directory fsync (failure only logged). On error the
 * temp file is left for the caller to remove; on success it no longer
 * exists under its name. fd stays open (caller closes it). */
ls_code ls_restore_commit_tmp(int fd, const char *tmp, const char *out, const char *dir,
                              const ls_restore_opts *opts, ls_err *err);

#endif
