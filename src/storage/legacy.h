/*
 * storage/legacy.h — listing of Litestream v0.3 backups (spec 9.1, 9.2) on
 * top of the generic storage API (works for every backend).
 *
 * Layout, relative to the replica root:
 *   generations/<generation>/snapshots/<index %08x>.snapshot.lz4
 *   generations/<generation>/wal/<index %08x>_<offset %08x..%016x>.wal.lz4
 * Accepted names (anything else is silently ignored, as v0.5 does):
 *   generation  ^[0-9a-f]{16}$                      (a "directory")
 *   snapshot    ^([0-9a-f]{8})\.snapshot\.lz4$
 *   WAL segment ^([0-9a-f]{8})_([0-9a-f]{8,16})\.wal\.lz4$
 * Creation times are the listing times (file: mtime; s3: LastModified).
 *
 * Sorting: generations ascending by name; snapshots by index; segments by
 * (index, offset) — ties (e.g. the same offset written with 8 and 16
 * digits) keep key order.
 *
 * Every entry carries its exact key (names are not re-formatted, so an
 * offset written with 16 digits is opened as written).
 *
 * Errors: LS_OK or a code with err naming the generation/prefix; a missing
 * "generations/" tree or generation is an empty list. Lists are owned by the
 * caller (ls_v3_*_list_free). Thread-safety: as the underlying storage.
 */
#ifndef LS_STORAGE_LEGACY_H
#define LS_STORAGE_LEGACY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/storage.h"
#include "util/error.h"
#include "util/stream.h"

#define LS_V3_GENERATION_LEN 16
/* "generations/" + 16 + "/wal/" + 8 + "_" + 16 + ".wal.lz4" + NUL = 67 */
#define LS_V3_KEY_MAX 80

typedef struct ls_v3_generation {
    char name[LS_V3_GENERATION_LEN + 1];
} ls_v3_generation;

typedef struct ls_v3_snapshot {
    char generation[LS_V3_GENERATION_LEN + 1];
    uint32_t index;
    int64_t size;           /* compressed object size */
    int64_t created_at_ns;
    char key[LS_V3_KEY_MAX];
} ls_v3_snapshot;

typedef struct ls_v3_segment {
    char generation[LS_V3_GENERATION_LEN + 1];
    uint32_t index;
    uint64_t offset;        /* byte offset inside the index's WAL */
    int64_t size;           /* compressed object size */
    int64_t created_at_ns;
    char key[LS_V3_KEY_MAX];
} ls_v3_segment;

typedef struct ls_v3_generation_list { ls_v3_generation *items; size_t n, cap; } ls_v3_generation_list;
typedef struct ls_v3_snapshot_list { ls_v3_snapshot *items; size_t n, cap; } ls_v3_snapshot_list;
typedef struct ls_v3_segment_list { ls_v3_segment *items; size_t n, cap; } ls_v3_segment_list;

void ls_v3_generation_list_free(ls_v3_generation_list *l);
void ls_v3_snapshot_list_free(ls_v3_snapshot_list *l);
void ls_v3_segment_list_free(ls_v3_segment_list *l);

/* Name checks (exact regexes above). */
bool ls_v3_is_generation(const char *name);
bool ls_v3_parse_snapshot_name(const char *name, uint32_t *index);
bool ls_v3_parse_segment_name(const char *name, uint32_t *index, uint64_t *offset);

/* *out is initialised by each call. */
ls_code ls_v3_list_generations(ls_storage *s, ls_v3_generation_list *out, ls_err *err);
/* generation must match ^[0-9a-f]{16}$ (else LS_ERR_INVALID). */
ls_code ls_v3_list_snapshots(ls_storage *s, const char *generation, ls_v3_snapshot_list *out,
                             ls_err *err);
ls_code ls_v3_list_segments(ls_storage *s, const char *generation, ls_v3_segment_list *out,
                            ls_err *err);
/* Snapshots of every generation, in generation order then index order. */
ls_code ls_v3_list_all_snapshots(ls_storage *s, ls_v3_snapshot_list *out, ls_err *err);
/* True when at least one snapshot or segment exists in any generation. */
ls_code ls_v3_has_data(ls_storage *s, bool *out, ls_err *err);

/* Opens the (still LZ4-compressed) object of a listed entry. */
ls_code ls_v3_open_snapshot(ls_storage *s, const ls_v3_snapshot *snap, ls_reader **out,
                            ls_err *err);
ls_code ls_v3_open_segment(ls_storage *s, const ls_v3_segment *seg, ls_reader **out, ls_err *err);

/* Position text form "<generation>/<index %08x>:<offset %016x>" (9.1). */
void ls_v3_format_pos(const char *generation, uint32_t index, uint64_t offset, char *buf,
                      size_t n);

#endif
