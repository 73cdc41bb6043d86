/*
 * engine/db.h — one replicated SQLite database: WAL -> L0 LTX files.
 *
 * Implements spec sections 4 (local metadata), 5 (WAL -> LTX replication,
 * checkpoints) and 7.5 (snapshot streaming) for ONE database file. It owns a
 * SQLite connection with the long-running read transaction, a plain fd on the
 * database file, and the meta directory <dir>/.<name>-litestream/ltx/0/.
 *
 * Threading: an ls_db is not internally scheduled. Every call below that
 * takes the db may block (file I/O, SQLite busy waits) and must be made from
 * one thread at a time (the engine's per-database executor). The only calls
 * safe from any thread are ls_db_status() and the accessors marked (any).
 *
 * Durability: an L0 file becomes visible under its final name only after it
 * is fully written and fsynced (".tmp" + fsync + rename + dir fsync), so a
 * crash at any moment leaves either no file or a complete, verified one; the
 * local position is derived from those names (4.3), never from memory.
 */
#ifndef LS_ENGINE_DB_H
#define LS_ENGINE_DB_H

#include <stdbool.h>
#include <stdint.h>

#include "util/error.h"
#include "util/stream.h"

typedef struct ls_db ls_db;

typedef struct ls_db_opts {
    const char *path;                 /* absolute database path (required) */
    const char *meta_path;            /* NULL: default "<dir>/.<name>-litestream" */
    int64_t busy_timeout_ns;          /* default 1 s */
    int64_t checkpoint_interval_ns;   /* default 1 min (ls_db_opts_defaults); 0 or <0 disables */
    int64_t min_checkpoint_page_n;    /* default 1000 */
    int64_t truncate_page_n;          /* default 121359; 0 = default; <0 disables */
    int64_t max_sync_wal_bytes;       /* default 64 MiB; 0 unlimited */
    /* Called on the syncing thread after each sync step that installed an
     * L0 file, before the checkpoint policy runs (the store ships the file
     * at once instead of after the whole sync). NULL: none. */
    void (*after_l0)(void *arg);
    void *after_l0_arg;
} ls_db_opts;

/* Fills defaults for every zero field that has a non-zero default. */
void ls_db_opts_defaults(ls_db_opts *o);

/* Position of the local L0 chain: (TXID, post-apply checksum). */
typedef struct ls_pos {
    uint64_t txid;
    uint64_t post_apply_checksum;
} ls_pos;

/* Result of one ls_db_sync() call. */
typedef struct ls_sync_result {
    bool wrote;              /* at least one L0 file was written (also by a checkpoint) */
    bool snapshot;           /* ...and at least one was a full snapshot */
    uint64_t txid;           /* TXID of the last written file */
    const char *reason;      /* static text: why the (last) snapshot was taken */
    bool checkpointed;       /* a checkpoint ran after the sync */
} ls_sync_result;

/* Public status snapshot (copied out; no pointers into the db). */
typedef struct ls_db_status {
    bool initialized;        /* SQLite connection open, page size known */
    bool exists;             /* database file exists */
    uint32_t page_size;
    uint64_t txid;           /* local TXID (0 = nothing replicated yet) */
    int64_t wal_size;        /* bytes, -1 unknown */
    int64_t db_size;         /* bytes, -1 unknown */
    int64_t last_sync_ns;    /* wall time of the last L0 write, 0 never */
    int64_t last_checkpoint_ns;
    ls_code last_error;      /* LS_OK when the last sync succeeded */
    char last_error_msg[256];
} ls_db_status;

/* Creates the object; does not touch the database (lazy init, 5.3). */
ls_code ls_db_new(const ls_db_opts *opts, ls_db **out, ls_err *err);
/* Initialises if needed (5.3 steps 1-9; a missing database is not an error:
 * *ready=false) and removes stale *.tmp files in the meta directory. */
ls_code ls_db_init(ls_db *db, bool *ready, ls_err *err);
/* One full sync (5.4): repeats limited steps until the WAL end is reached,
 * then runs the checkpoint policy (5.7). When it returns LS_OK, every
 * transaction committed before the call is in the local L0 chain.
 * Errors: LS_ERR_NOSPACE (disk full; no partial file is left), LS_ERR_BUSY
 * (SQLite locks, or the WAL changed while read: retry), LTX errors from the
 * newest local file (FORMAT/CHECKSUM: see replica auto-recover), IO. */
ls_code ls_db_sync(ls_db *db, ls_sync_result *res, ls_err *err);
/* Forces a checkpoint in mode "PASSIVE" or "TRUNCATE" (5.7 "one checkpoint"). */
ls_code ls_db_checkpoint(ls_db *db, const char *mode, ls_err *err);
/* Local position from the L0 file names (4.3), cached. */
ls_code ls_db_pos(ls_db *db, ls_pos *pos, ls_err *err);
/* Opens a reader over the local L0 file for txid (NOTFOUND if missing). */
ls_code ls_db_open_l0(ls_db *db, uint64_t txid, ls_reader **out, ls_err *err);
/* Streams a snapshot LTX (7.5) of the current position into w; fills the
 * header's TXID and timestamp. Holds the checkpoint lock while streaming.
 * It first runs one unlimited sync step (which may write a new L0 file), so
 * the snapshot is of the newest data and no checkpoint can change a page it
 * reads (see db.c); *max_txid is the TXID actually snapshotted.
 * LS_ERR_UNAVAILABLE when not initialised / nothing replicated yet;
 * LS_ERR_BUSY when the WAL was restarted underneath (retry later). */
ls_code ls_db_write_snapshot(ls_db *db, ls_writer *w, uint64_t *max_txid, int64_t *timestamp_ms,
                             ls_err *err);
/* "Database behind replica" (5.3 step 10): if replica_txid > local TXID,
 * replaces the local L0 directory with the replica's newest L0 file, read
 * from src (header must have min == max == replica_txid). */
ls_code ls_db_adopt_replica_l0(ls_db *db, uint64_t replica_txid, ls_reader *src, ls_err *err);
/* Deletes local L0 files with max TXID <= upto (L0 retention, 7.7); keeps
 * the newest file always. */
ls_code ls_db_delete_l0_upto(ls_db *db, uint64_t upto, ls_err *err);
/* Removes <meta>/ltx entirely (reset, auto-recover). */
ls_code ls_db_reset_local(ls_db *db, ls_err *err);
/* Releases the long-running read transaction until the next sync/checkpoint
 * (tests and diagnostics: lets another connection RESTART/TRUNCATE the WAL).
 * Drops the "guard" (see db.c), so the next sync verifies conservatively. */
void ls_db_release_read_tx(ls_db *db);
/* Gives back memory an idle database does not need: the scratch page
 * buffers and the SQLite connections' cached pages (the store calls it after
 * every job; the next operation re-reads what it needs). */
void ls_db_trim(ls_db *db);
/* Final sync without byte limit, release the read transaction, close. */
ls_code ls_db_close(ls_db *db, ls_err *err);
void ls_db_free(ls_db *db);

/* (any) */
const char *ls_db_path(const ls_db *db);
const char *ls_db_meta_path(const ls_db *db);
const char *ls_db_wal_path(const ls_db *db);
void ls_db_status_get(ls_db *db, ls_db_status *out);

/* Default meta path for a database path (spec 4.1), malloc'd. */
char *ls_db_default_meta_path(const char *db_path);

#endif
