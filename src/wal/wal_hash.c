/* wal/wal_hash.c — open-addressing u64 -> i64 map (see wal_internal.h). */
#include "wal/wal_internal.h"

#include <stdlib.h>

static size_t hash_u64(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return (size_t)x;
}

/* Slot of key, or of the empty slot where it would go. cap must be > 0. */
static size_t find_slot(const wal_u64map *m, uint64_t key) {
    size_t mask = m->cap - 1, i = hash_u64(key) & mask;
    while (m->used[i] && m->keys[i] != key) i = (i + 1) & mask;
    return i;
}

static bool grow(wal_u64map *m) {
    size_t ncap = m->cap ? m->cap * 2 : 64;
    if (ncap < m->cap || ncap > SIZE_MAX / sizeof(uint64_t)) return false;
    wal_u64map nm = {0};
    nm.keys = malloc(ncap * sizeof(*nm.keys));
    nm.vals = malloc(ncap * sizeof(*nm.vals));
    nm.used = calloc(ncap, 1);
    if (!nm.keys || !nm.vals || !nm.used) {
        wal_u64map_free(&nm);
        return false;
    }
    nm.cap = ncap;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->used[i]) continue;
        size_t j = find_slot(&nm, m->keys[i]);
        nm.used[j] = 1;
        nm.keys[j] = m->keys[i];
        nm.vals[j] = m->vals[i];
        nm.n++;
    }
    wal_u64map_free(m);
    *m = nm;
    return true;
}

bool wal_u64map_add(wal_u64map *m, uint64_t key, int64_t val, bool *inserted) {
    *inserted = false;
    if ((m->n + 1) * 2 > m->cap && !grow(m)) return false;
    size_t i = find_slot(m, key);
    if (m->used[i]) return true;
    m->used[i] = 1;
    m->keys[i] = key;
    m->vals[i] = val;
    m->n++;
    *inserted = true;
    return true;
}

bool wal_u64map_put(wal_u64map *m, uint64_t key, int64_t val) {
    if ((m->n + 1) * 2 > m->cap && !grow(m)) return false;
    size_t i = find_slot(m, key);
    if (!m->used[i]) {
        m->used[i] = 1;
        m->keys[i] = key;
        m->n++;
    }
    m->vals[i] = val;
    return true;
}

bool wal_u64map_get(const wal_u64map *m, uint64_t key, int64_t *val) {
    if (m->cap == 0) return false;
    size_t i = find_slot(m, key);
    if (!m->used[i]) return false;
    if (val) *val = m->vals[i];
    return true;
}

void wal_u64map_free(wal_u64map *m) {
    free(m->keys);
    free(m->vals);
    free(m->used);
    m->keys = NULL;
    m->vals = NULL;
    m->used = NULL;
    m->cap = m->n = 0;
}
