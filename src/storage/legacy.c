/*
 * storage/legacy.c — v0.3 generations / snapshots / WAL segments listing
 * (legacy.h, spec 9.2).
 */
#include "storage/legacy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --------------------------------------------------------------- names -- */

static bool is_lower_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

/* Parses exactly n (1..16) lower-case hex digits. */
static bool parse_hex(const char *s, size_t n, uint64_t *out) {
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!is_lower_hex(c)) return false;
        v = (v << 4) | (uint64_t)(c <= '9' ? c - '0' : c - 'a' + 10);
    }
    *out = v;
    return true;
}

bool ls_v3_is_generation(const char *name) {
    uint64_t v;
    return name && strlen(name) == LS_V3_GENERATION_LEN && parse_hex(name, LS_V3_GENERATION_LEN, &v);
}

bool ls_v3_parse_snapshot_name(const char *name, uint32_t *index) {
    static const char suffix[] = ".snapshot.lz4";
    uint64_t v;
    if (!name || strlen(name) != 8 + sizeof(suffix) - 1) return false;
    if (strcmp(name + 8, suffix) != 0 || !parse_hex(name, 8, &v)) return false;
    if (index) *index = (uint32_t)v;
    return true;
}

bool ls_v3_parse_segment_name(const char *name, uint32_t *index, uint64_t *offset) {
    static const char suffix[] = ".wal.lz4";
    const size_t sl = sizeof(suffix) - 1;
    if (!name) return false;
    size_t len = strlen(name);
    /* 8 hex + '_' + 8..16 hex + suffix */
    if (len < 8 + 1 + 8 + sl || len > 8 + 1 + 16 + sl) return false;
    if (name[8] != '_' || strcmp(name + len - sl, suffix) != 0) return false;
    uint64_t idx, off;
    if (!parse_hex(name, 8, &idx) || !parse_hex(name + 9, len - sl - 9, &off)) return false;
    if (index) *index = (uint32_t)idx;
    if (offset) *offset = off;
    return true;
}

void ls_v3_format_pos(const char *generation, uint32_t index, uint64_t offset, char *buf,
                      size_t n) {
    snprintf(buf, n, "%s/%08x:%016llx", generation ? generation : "", (unsigned)index,
             (unsigned long long)offset);
}

/* --------------------------------------------------------------- lists -- */

void ls_v3_generation_list_free(ls_v3_generation_list *l) {
    if (!l) return;
    free(l->items);
    memset(l, 0, sizeof(*l));
}
void ls_v3_snapshot_list_free(ls_v3_snapshot_list *l) {
    if (!l) return;
    free(l->items);
    memset(l, 0, sizeof(*l));
}
void ls_v3_segment_list_free(ls_v3_segment_list *l) {
    if (!l) return;
    free(l->items);
    memset(l, 0, sizeof(*l));
}

/* Grows a list of items of size isz so one more fits. */
static ls_code grow(void **items, size_t *n, size_t *cap, size_t isz, ls_err *err) {
    if (*n < *cap) return LS_OK;
    size_t nc = *cap ? *cap * 2 : 16;
    if (nc > SIZE_MAX / isz) return ls_err_set(err, LS_ERR_NOMEM, "v0.3 listing: too many entries");
    void *p = realloc(*items, nc * isz);
    if (!p) return ls_err_set(err, LS_ERR_NOMEM, "v0.3 listing: out of memory");
    *items = p;
    *cap = nc;
    return LS_OK;
}

static const char *last_elem(const char *key) {
    const char *s = strrchr(key, '/');
    return s ? s + 1 : key;
}

static int cmp_gen(const void *a, const void *b) {
    return strcmp(((const ls_v3_generation *)a)->name, ((const ls_v3_generation *)b)->name);
}

static int cmp_snap(const void *a, const void *b) {
    const ls_v3_snapshot *x = a, *y = b;
    int c = strcmp(x->generation, y->generation);
    if (c) return c;
    if (x->index != y->index) return x->index < y->index ? -1 : 1;
    return strcmp(x->key, y->key);
}

static int cmp_seg(const void *a, const void *b) {
    const ls_v3_segment *x = a, *y = b;
    int c = strcmp(x->generation, y->generation);
    if (c) return c;
    if (x->index != y->index) return x->index < y->index ? -1 : 1;
    if (x->offset != y->offset) return x->offset < y->offset ? -1 : 1;
    return strcmp(x->key, y->key);
}

ls_code ls_v3_list_generations(ls_storage *s, ls_v3_generation_list *out, ls_err *err) {
    memset(out, 0, sizeof(*out));
    ls_object_list objs;
    ls_code rc = ls_storage_list(s, "generations/", '/', &objs, err);
    if (rc != LS_OK) {
        ls_err_wrap(err, "list v0.3 generations");
        return rc;
    }
    for (size_t i = 0; i < objs.n; i++) {
        const ls_object_info *o = &objs.items[i];
        if (!o->is_dir) continue;
        /* key = "generations/<name>/" */
        const char *name = o->key + strlen("generations/");
        size_t nl = strlen(name);
        if (nl != LS_V3_GENERATION_LEN + 1 || name[LS_V3_GENERATION_LEN] != '/') continue;
        char g[LS_V3_GENERATION_LEN + 1];
        memcpy(g, name, LS_V3_GENERATION_LEN);
        g[LS_V3_GENERATION_LEN] = '\0';
        if (!ls_v3_is_generation(g)) continue;
        rc = grow((void **)&out->items, &out->n, &out->cap, sizeof(*out->items), err);
        if (rc != LS_OK) break;
        memcpy(out->items[out->n++].name, g, sizeof(g));
    }
    ls_object_list_free(&objs);
    if (rc != LS_OK) {
        ls_v3_generation_list_free(out);
        return rc;
    }
    if (out->n > 1) qsort(out->items, out->n, sizeof(*out->items), cmp_gen);
    return LS_OK;
}

static ls_code check_gen(const char *generation, ls_err *err) {
    if (!ls_v3_is_generation(generation))
        return ls_err_set(err, LS_ERR_INVALID, "invalid v0.3 generation \"%.32s\"%s",
                          generation ? generation : "(null)",
                          " (want 16 lower-case hex digits)");
    return LS_OK;
}

static ls_code append_snapshots(ls_storage *s, const char *generation, ls_v3_snapshot_list *out,
                                ls_err *err) {
    ls_code rc = check_gen(generation, err);
    if (rc != LS_OK) return rc;
    char prefix[LS_V3_KEY_MAX];
    snprintf(prefix, sizeof(prefix), "generations/%s/snapshots/", generation);
    ls_object_list objs;
    rc = ls_storage_list(s, prefix, '/', &objs, err);
    if (rc != LS_OK) {
        ls_err_wrap(err, "list v0.3 snapshots of generation %s", generation);
        return rc;
    }
    for (size_t i = 0; i < objs.n; i++) {
        const ls_object_info *o = &objs.items[i];
        uint32_t idx;
        if (o->is_dir || !ls_v3_parse_snapshot_name(last_elem(o->key), &idx)) continue;
        if (strlen(o->key) >= LS_V3_KEY_MAX) continue; /* cannot happen for matching names */
        rc = grow((void **)&out->items, &out->n, &out->cap, sizeof(*out->items), err);
        if (rc != LS_OK) break;
        ls_v3_snapshot *sn = &out->items[out->n++];
        memset(sn, 0, sizeof(*sn));
        memcpy(sn->generation, generation, LS_V3_GENERATION_LEN);
        sn->index = idx;
        sn->size = o->size;
        sn->created_at_ns = o->created_at_ns;
        snprintf(sn->key, sizeof(sn->key), "%s", o->key);
    }
    ls_object_list_free(&objs);
    return rc;
}

ls_code ls_v3_list_snapshots(ls_storage *s, const char *generation, ls_v3_snapshot_list *out,
                             ls_err *err) {
    memset(out, 0, sizeof(*out));
    ls_code rc = append_snapshots(s, generation, out, err);
    if (rc != LS_OK) {
        ls_v3_snapshot_list_free(out);
        return rc;
    }
    if (out->n > 1) qsort(out->items, out->n, sizeof(*out->items), cmp_snap);
    return LS_OK;
}

ls_code ls_v3_list_all_snapshots(ls_storage *s, ls_v3_snapshot_list *out, ls_err *err) {
    memset(out, 0, sizeof(*out));
    ls_v3_generation_list gens;
    ls_code rc = ls_v3_list_generations(s, &gens, err);
    if (rc != LS_OK) return rc;
    for (size_t i = 0; i < gens.n && rc == LS_OK; i++)
        rc = append_snapshots(s, gens.items[i].name, out, err);
    ls_v3_generation_list_free(&gens);
    if (rc != LS_OK) {
        ls_v3_snapshot_list_free(out);
        return rc;
    }
    if (out->n > 1) qsort(out->items, out->n, sizeof(*out->items), cmp_snap);
    return LS_OK;
}

ls_code ls_v3_list_segments(ls_storage *s, const char *generation, ls_v3_segment_list *out,
                            ls_err *err) {
    memset(out, 0, sizeof(*out));
    ls_code rc = check_gen(generation, err);
    if (rc != LS_OK) return rc;
    char prefix[LS_V3_KEY_MAX];
    snprintf(prefix, sizeof(prefix), "generations/%s/wal/", generation);
    ls_object_list objs;
    rc = ls_storage_list(s, prefix, '/', &objs, err);
    if (rc != LS_OK) {
        ls_err_wrap(err, "list v0.3 WAL segments of generation %s", generation);
        return rc;
    }
    for (size_t i = 0; i < objs.n; i++) {
        const ls_object_info *o = &objs.items[i];
        uint32_t idx;
        uint64_t off;
        if (o->is_dir || !ls_v3_parse_segment_name(last_elem(o->key), &idx, &off)) continue;
        if (strlen(o->key) >= LS_V3_KEY_MAX) continue;
        rc = grow((void **)&out->items, &out->n, &out->cap, sizeof(*out->items), err);
        if (rc != LS_OK) break;
        ls_v3_segment *sg = &out->items[out->n++];
        memset(sg, 0, sizeof(*sg));
        memcpy(sg->generation, generation, LS_V3_GENERATION_LEN);
        sg->index = idx;
        sg->offset = off;
        sg->size = o->size;
        sg->created_at_ns = o->created_at_ns;
        snprintf(sg->key, sizeof(sg->key), "%s", o->key);
    }
    ls_object_list_free(&objs);
    if (rc != LS_OK) {
        ls_v3_segment_list_free(out);
        return rc;
    }
    if (out->n > 1) qsort(out->items, out->n, sizeof(*out->items), cmp_seg);
    return LS_OK;
}

ls_code ls_v3_has_data(ls_storage *s, bool *out, ls_err *err) {
    *out = false;
    ls_v3_generation_list gens;
    ls_code rc = ls_v3_list_generations(s, &gens, err);
    if (rc != LS_OK) return rc;
    for (size_t i = 0; i < gens.n && !*out; i++) {
        ls_v3_snapshot_list sn;
        rc = ls_v3_list_snapshots(s, gens.items[i].name, &sn, err);
        if (rc != LS_OK) break;
        *out = sn.n > 0;
        ls_v3_snapshot_list_free(&sn);
        if (*out) break;
        ls_v3_segment_list sg;
        rc = ls_v3_list_segments(s, gens.items[i].name, &sg, err);
        if (rc != LS_OK) break;
        *out = sg.n > 0;
        ls_v3_segment_list_free(&sg);
    }
    ls_v3_generation_list_free(&gens);
    return rc;
}

ls_code ls_v3_open_snapshot(ls_storage *s, const ls_v3_snapshot *snap, ls_reader **out,
                            ls_err *err) {
    return ls_storage_get(s, snap->key, 0, LS_STORAGE_TO_END, out, err);
}

ls_code ls_v3_open_segment(ls_storage *s, const ls_v3_segment *seg, ls_reader **out, ls_err *err) {
    return ls_storage_get(s, seg->key, 0, LS_STORAGE_TO_END, out, err);
}
