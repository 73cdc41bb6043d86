/*
 * engine/legacy.h — restoring Litestream v0.3 backups (spec 9) and choosing
 * between the v0.3 and v0.5 (LTX) layouts of one replica (spec 8.2, 9.4).
 * Listing of the raw objects is storage/legacy.h; this layer adds the
 * restore plan, its application, per-generation summaries and layout
 * detection. Behaviour decisions (where v0.3.13 is odd) are documented in
 * docs/legacy.md.
 *
 * Target (ls_v3_target): a generation (or "choose"), an optional WAL index
 * (replay up to and including it) and an optional timestamp.
 *   - Generation choice: with a timestamp, the generations whose time span
 *     [first file, last file] contains it; otherwise every generation with a
 *     file. Among the candidates the one whose last file is newest wins
 *     ("by time, not by name"; ties: the greater name). A timestamp inside
 *     no generation's span -> LS_ERR_UNAVAILABLE "no matching backups found:
 *     ..." (before the first backup, between two generations, after the
 *     last backup: the state of the database at that time is unknown).
 *   - Snapshot: the highest-index snapshot of the generation with index <=
 *     the target index (with a timestamp: created <= timestamp). None ->
 *     LS_ERR_UNAVAILABLE naming the generation and the oldest snapshot; a
 *     generation that has WAL segments but no snapshot at all ->
 *     LS_ERR_FORMAT "... has no snapshot" naming the snapshots folder.
 *   - Segments: every segment with snapshot index <= index <= target index
 *     in (index, offset) order; with a timestamp the prefix of that list
 *     created <= timestamp (replay stops at the first later file).
 *   - An index above the generation's highest index -> LS_ERR_UNAVAILABLE
 *     (v0.3.13 silently restored the latest state instead).
 *   - index and timestamp together -> LS_ERR_INVALID "cannot specify index &
 *     timestamp to restore".
 *   Plan-time checks on names (no data read): the first segment must be
 *   <snapshot index>/0 — a snapshot is never restored without the WAL of
 *   its own index, since it holds only the checkpointed pages — each index
 *   must start at offset 0 and follow the previous index by one ("missing
 *   WAL index: expected E/0, got I/O" plus the file), and with a target
 *   index the replay must reach it.
 *
 * Application (ls_v3_restore_run): the snapshot is LZ4-decoded into
 * "<output>.tmp" (same temp file, lock, force and cleanup rules as LTX
 * restores, engine/restore.h). Each WAL index is decoded into
 * "<output>.tmp-wal" while being validated frame by frame BEFORE SQLite
 * sees it: offset continuity ("missing WAL segment: expected I/X, got
 * I/Y"), WAL header magic/version/page size/checksum, page size equal to
 * the snapshot's, whole frames only, every frame's salts equal to the
 * index's header salts ("salt mismatch", naming the file and offset), the
 * cumulative checksum chain, and a commit frame at the end of the index.
 * Then SQLite applies it (PRAGMA wal_checkpoint(PASSIVE), whose frame
 * count must equal ours, then TRUNCATE), so SQLite can never silently drop
 * frames. Finally the integrity check runs and the temp file is renamed
 * into place. Every error names the object key (generations/...).
 *
 * LZ4: liblz4's frame API (LZ4F); any block size up to 4 MiB, content and
 * block checksums verified when present, concatenated and skippable frames
 * accepted, a truncated frame or trailing garbage is an error.
 *
 * Memory: bounded and independent of the database size: LZ4F state (block
 * buffers sized by the frame's declared block size, at most 4 MiB each),
 * 64 KiB input, 256 KiB output buffer, one WAL frame (<= 64 KiB + 24),
 * SQLite's page cache while it checkpoints, plus the listing (O(number of
 * objects)).
 *
 * Thread-safety: functions use only their own state; several restores may
 * run at once on different outputs. Results are owned by the caller.
 */
#ifndef LS_ENGINE_LEGACY_H
#define LS_ENGINE_LEGACY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/restore.h"
#include "storage/legacy.h"
#include "storage/storage.h"
#include "util/error.h"
#include "util/stream.h"

typedef struct ls_v3_target {
    const char *generation; /* NULL or "" = choose by time */
    bool has_index;
    uint32_t index;         /* with has_index: last WAL index to replay */
    int64_t timestamp_ns;   /* 0 = latest */
} ls_v3_target;

typedef struct ls_v3_plan {
    char generation[LS_V3_GENERATION_LEN + 1];
    ls_v3_snapshot snapshot;
    ls_v3_segment *segments;   /* in replay order (owned) */
    size_t n;
    uint32_t max_index;        /* last WAL index replayed (snapshot index if none) */
    int64_t total_bytes;       /* compressed bytes: snapshot + segments */
    int64_t created_at_ns;     /* newest file of the plan */
    int64_t gen_first_ns, gen_last_ns; /* time span of the generation */
} ls_v3_plan;

/* Computes the plan (rules above). *plan is initialised by the call and
 * must be freed with ls_v3_plan_free (also after an error). */
ls_code ls_v3_plan_compute(ls_storage *st, const ls_v3_target *target, ls_v3_plan *plan,
                           ls_err *err);
void ls_v3_plan_free(ls_v3_plan *plan);

/* Restores a v0.3 backup. Uses opts->plan->v3 when given, else computes the
 * plan from opts (v3_generation, v3_has_index/v3_index, timestamp_ns).
 * Output rules, integrity check, cancellation, progress (compressed bytes)
 * and the result are as ls_restore_run (res->layout = "v0.3", res->txid =
 * 0). opts->txid must be 0 (LS_ERR_INVALID). */
ls_code ls_v3_restore_run(ls_storage *st, const ls_restore_opts *opts, ls_restore_result *res,
                          ls_err *err);

/* Which layout a restore with these options uses (8.2, 9.4):
 * a precomputed plan decides by itself (plan->v3 -> v0.3; an LTX plan with a
 * TXID or ltx_only -> LTX); a v0.3 target (v3_generation / v3_has_index) ->
 * v0.3 (with a TXID too -> LS_ERR_INVALID); a TXID or ltx_only -> LTX;
 * otherwise ls_restore_prefers_v03(timestamp). */
ls_code ls_restore_uses_v03(ls_storage *st, const ls_restore_opts *opts, bool *use_v03,
                            ls_err *err);

/* Computes the plan the restore would use: plan->layout "v0.3" with
 * plan->v3 set (plan->files empty), or an LTX plan (ls_restore_plan_compute).
 * Free with ls_restore_plan_free. */
ls_code ls_restore_plan_choose(ls_storage *st, const ls_restore_opts *opts,
                               ls_restore_plan *plan, ls_err *err);

/* Layout detection: any LTX file on levels 0..9; any v0.3 snapshot or WAL
 * segment. Either pointer may be NULL. */
ls_code ls_replica_detect_layout(ls_storage *st, bool *has_ltx, bool *has_v3, ls_err *err);

/* Per-generation summary (generations with at least one file, name order).
 * current = the generation a latest restore would use. */
typedef struct ls_v3_generation_info {
    char name[LS_V3_GENERATION_LEN + 1];
    size_t snapshots, segments;
    int64_t size;               /* compressed bytes of all its files */
    int64_t first_ns, last_ns;  /* oldest / newest file time */
    uint32_t min_index, max_index; /* over snapshots and segments */
    bool current;
} ls_v3_generation_info;

typedef struct ls_v3_generation_info_list {
    ls_v3_generation_info *items;
    size_t n;
} ls_v3_generation_info_list;

ls_code ls_v3_list_generation_infos(ls_storage *st, ls_v3_generation_info_list *out,
                                    ls_err *err);
void ls_v3_generation_info_list_free(ls_v3_generation_info_list *l);

/* LZ4 frame decoder over src (liblz4 LZ4F). name is used in error messages
 * (copied). Takes ownership of src (closed with the reader). Errors:
 * LS_ERR_FORMAT "<name>: lz4: ..." for corrupt data, a checksum mismatch, a
 * truncated frame or trailing garbage; empty input is LS_ERR_FORMAT too. */
ls_code ls_lz4f_reader_open(ls_reader *src, const char *name, ls_reader **out, ls_err *err);

#endif
