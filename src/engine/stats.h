/*
 * engine/stats.h — request counters of a database's replicas, persisted by
 * `replicate` in the database's metadata directory so that `status` (which
 * never contacts a replica or the daemon) can report them.
 *
 * File: <meta>/stats.json, one per database, replaced atomically (written
 * to "stats.json.tmp" and renamed, no fsync: the counters are advisory and
 * a crash only loses the last update). Content (version 1):
 *
 *   {"version": 1, "pid": 1234, "updated_at": "<RFC 3339, ns>",
 *    "replicas": [{"name": "s3", "type": "s3", "since": "<RFC 3339>",
 *                  "requests": {"put": 12, "get": 3, "list": 40,
 *                               "delete": 2, "head": 0},
 *                  "errors": 0, "retries": 1,
 *                  "bytes_in": 8192, "bytes_out": 123456}]}
 *
 * Counters are those of ls_storage_stats (storage.h): storage calls since
 * `since` (when the replicate process opened the replica; they restart at
 * zero with every process), one multipart upload counting as one put.
 * Replicas appear in configuration order.
 *
 * Writing policy (ls_replicas_persist_stats in engine/replica.h): only when
 * a counter changed since the last write, at most once per
 * LS_STATS_PERSIST_INTERVAL_NS unless forced (shutdown), so an idle
 * database writes nothing.
 *
 * Reading is bounded (LS_STATS_FILE_MAX bytes, LS_STATS_MAX_REPLICAS
 * entries, names truncated to their fields) and never trusts the file:
 * malformed content is LS_ERR_FORMAT naming the path, a missing file
 * LS_ERR_NOTFOUND. Functions are thread-safe (no shared state).
 */
#ifndef LS_ENGINE_STATS_H
#define LS_ENGINE_STATS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/storage.h"
#include "util/error.h"

#define LS_STATS_FILE "stats.json"
#define LS_STATS_VERSION 1
#define LS_STATS_MAX_REPLICAS 16
#define LS_STATS_FILE_MAX (64 * 1024)
#define LS_STATS_PERSIST_INTERVAL_NS (10 * 1000000000LL)

typedef struct ls_stats_replica {
    char name[64];
    char type[16];
    int64_t since_ns;        /* counting began (0 unknown) */
    ls_storage_stats stats;
} ls_stats_replica;

typedef struct ls_stats_snapshot {
    int64_t updated_ns;      /* when the file was written */
    long pid;                /* writer's process id */
    size_t n;
    ls_stats_replica replicas[LS_STATS_MAX_REPLICAS];
} ls_stats_snapshot;

/* "<meta>/stats.json", malloc'd (NULL on OOM). */
char *ls_stats_path(const char *meta_path);

/* JSON text of a snapshot (malloc'd, *len bytes, NUL-terminated). */
ls_code ls_stats_encode(const ls_stats_snapshot *s, char **out, size_t *len, ls_err *err);
/* Parses JSON text; what names the source in messages. Unknown keys are
 * ignored; missing counters are 0; more than LS_STATS_MAX_REPLICAS entries
 * are dropped. */
ls_code ls_stats_decode(const char *data, size_t len, const char *what, ls_stats_snapshot *out,
                        ls_err *err);

/* Replaces <meta>/stats.json (the directory must exist; files get mode). */
ls_code ls_stats_write(const char *meta_path, const ls_stats_snapshot *s, unsigned mode,
                       ls_err *err);
/* Reads <meta>/stats.json (LS_ERR_NOTFOUND when there is none). */
ls_code ls_stats_read(const char *meta_path, ls_stats_snapshot *out, ls_err *err);

/* {"put","get","list","delete","head"} of s (new reference). */
json_t *ls_stats_requests_json(const ls_storage_stats *s);
/* The fields a status entry shows for one replica, added to obj:
 * requests{...}, errors, retries, bytes_in, bytes_out, since (RFC 3339 or
 * null) and, when updated_ns != 0, updated_at (null otherwise: live). */
void ls_stats_add_json(json_t *obj, const ls_storage_stats *s, int64_t since_ns,
                       int64_t updated_ns);
/* The entry of snap for a configured replica: same name and type, else the
 * same position (index) with the same type; NULL when none. */
const ls_stats_replica *ls_stats_find(const ls_stats_snapshot *snap, const char *name,
                                      const char *type, size_t index);

#endif
