/*
 * wal/wal_internal.h — private helpers shared by the wal/ sources.
 *
 * wal_u64map: a small open-addressing (linear probing) hash map from a
 * 64-bit key to a 64-bit value; grows at 50% load; no deletion. Not part of
 * the public API; single-threaded.
 */
#ifndef LS_WAL_WAL_INTERNAL_H
#define LS_WAL_WAL_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wal/wal.h"

typedef struct wal_u64map {
    uint64_t *keys;
    int64_t *vals;
    uint8_t *used;
    size_t cap; /* power of two or 0 */
    size_t n;
} wal_u64map;

/* Inserts or overwrites. Returns false on allocation failure (map unchanged). */
bool wal_u64map_put(wal_u64map *m, uint64_t key, int64_t val);
/* Inserts key if absent; *inserted tells whether it was new. false on OOM. */
bool wal_u64map_add(wal_u64map *m, uint64_t key, int64_t val, bool *inserted);
bool wal_u64map_get(const wal_u64map *m, uint64_t key, int64_t *val);
void wal_u64map_free(wal_u64map *m);

/* Records the running checksum as the commit checksum (page map). */
void wal_reader_mark_commit_(wal_reader *r);

#endif
