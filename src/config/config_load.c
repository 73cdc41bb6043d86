/*
 * config/config_load.c — YAML -> ls_config: libyaml document walking with
 * line numbers, key tables, defaults, snapshot promotion, top-level replica
 * propagation, validation (11.6) and freeing.
 */
#include "config/config_internal.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "util/fs.h"
#include "util/log.h"
#include "util/timeutil.h"

#define LSCFG_MAX_FILE_SIZE (16u * 1024u * 1024u)
#define LSCFG_MAX_LEVELS 8
#define LSCFG_MAX_DEPTH 64        /* nesting of lists/mappings */
#define LSCFG_MAX_NODES 2000000u  /* scalars + collections + aliases */
#define NS_SEC INT64_C(1000000000)

/* Implemented in config_resolve.c */
ls_code lscfg_resolve_replica(ls_replica_config *rc, ls_err *err);
void lscfg_client_free(ls_replica_client_cfg *c);

/* ------------------------------------------------------------------------ */
/* Error helpers                                                             */

static ls_code cfg_errv(ls_err *err, ls_code code, int line, const char *fmt, va_list ap) {
    char msg[LS_ERR_MSG_MAX];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (line > 0) return ls_err_set(err, code, "config line %d: %s", line, msg);
    return ls_err_set(err, code, "config: %s", msg);
}

static ls_code __attribute__((format(printf, 3, 4)))
cfg_err(ls_err *err, int line, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    ls_code rc = cfg_errv(err, LS_ERR_CONFIG, line, fmt, ap);
    va_end(ap);
    return rc;
}

static ls_code nomem(ls_err *err) {
    return ls_err_set(err, LS_ERR_NOMEM, "config: out of memory");
}

/* Quotes a value for messages: at most 80 bytes, control bytes escaped. */
static const char *qv(char buf[128], const char *s) {
    size_t w = 0;
    buf[w++] = '"';
    size_t i = 0;
    for (; s && s[i] && w < 120; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            buf[w++] = '\\';
            buf[w++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            w += (size_t)snprintf(buf + w, 128 - w, "\\x%02x", c);
        } else {
            buf[w++] = (char)c;
        }
        if (i >= 80) {
            i++;
            break;
        }
    }
    if (s && s[i]) {
        memcpy(buf + w, "...", 3);
        w += 3;
    }
    buf[w++] = '"';
    buf[w] = '\0';
    return buf;
}
#define QV(s) qv((char[128]){0}, (s))

static const char *fmt_dur(char buf[48], int64_t ns) {
    ls_format_duration(ns, buf, 48);
    return buf;
}
#define FD(ns) fmt_dur((char[48]){0}, (ns))

/* ------------------------------------------------------------------------ */
/* Parse context                                                             */

typedef struct pctx {
    yaml_document_t *doc;
    ls_err *err;
    size_t budget; /* node visits left (alias bombs) */
} pctx;

#define NLINE(n) ((int)(n)->start_mark.line + 1)

static yaml_node_t *node_at(pctx *c, yaml_node_item_t id) {
    return yaml_document_get_node(c->doc, id);
}

static ls_code visit(pctx *c, yaml_node_t *n) {
    if (c->budget == 0)
        return cfg_err(c->err, NLINE(n), "document contains excessive aliasing");
    c->budget--;
    return LS_OK;
}

static const char *kind_name(yaml_node_t *n) {
    switch (n->type) {
    case YAML_MAPPING_NODE: return "a mapping";
    case YAML_SEQUENCE_NODE: return "a list";
    default: return "a scalar";
    }
}

static const char *stext(yaml_node_t *n) { return (const char *)n->data.scalar.value; }
static bool splain(yaml_node_t *n) { return n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE; }

static bool is_null(yaml_node_t *n) {
    if (n->type != YAML_SCALAR_NODE || !splain(n)) return false;
    lscfg_resolved r;
    lscfg_resolve(stext(n), true, &r);
    return r.tag == LSCFG_R_NULL;
}

/* ------------------------------------------------------------------------ */
/* Mapping pairs with merge keys and duplicate detection                     */

typedef struct kv {
    yaml_node_t *key;
    yaml_node_t *val;
    const char *name;
    bool merged; /* came from a "<<" merge */
    bool keep;
} kv;

typedef struct kvlist {
    kv *v;
    size_t n, cap;
} kvlist;

static ls_code kv_push(pctx *c, kvlist *l, kv item) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        kv *nv = realloc(l->v, cap * sizeof(kv));
        if (!nv) return nomem(c->err);
        l->v = nv;
        l->cap = cap;
    }
    l->v[l->n++] = item;
    return LS_OK;
}

static ls_code gather_merge(pctx *c, yaml_node_t *src, kvlist *out, const char *path, int depth);

/* Appends a mapping's explicit pairs (document order), then the pairs of its
 * "<<" merges, so that earlier entries take precedence. */
static ls_code gather(pctx *c, yaml_node_t *map, kvlist *out, const char *path, int depth,
                      bool merged) {
    for (int pass = 0; pass < 2; pass++) {
        for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
             p++) {
            yaml_node_t *k = node_at(c, p->key);
            yaml_node_t *v = node_at(c, p->value);
            if (!k || !v) return cfg_err(c->err, NLINE(map), "%s: malformed mapping", path);
            ls_code rc = visit(c, k);
            if (rc) return rc;
            if (k->type != YAML_SCALAR_NODE)
                return cfg_err(c->err, NLINE(k), "%s: mapping keys must be strings, got %s",
                               *path ? path : "top level", kind_name(k));
            bool is_merge = splain(k) && strcmp(stext(k), "<<") == 0;
            if (pass == 0 && !is_merge) {
                rc = kv_push(c, out, (kv){k, v, stext(k), merged, true});
            } else if (pass == 1 && is_merge) {
                if (depth > 32)
                    return cfg_err(c->err, NLINE(k), "%s: merge keys nested too deeply", path);
                rc = gather_merge(c, v, out, path, depth + 1);
            }
            if (rc) return rc;
        }
    }
    return LS_OK;
}

static ls_code gather_merge(pctx *c, yaml_node_t *src, kvlist *out, const char *path, int depth) {
    ls_code rc = visit(c, src);
    if (rc) return rc;
    if (src->type == YAML_MAPPING_NODE) return gather(c, src, out, path, depth, true);
    if (src->type == YAML_SEQUENCE_NODE) {
        for (yaml_node_item_t *it = src->data.sequence.items.start;
             it < src->data.sequence.items.top; it++) {
            yaml_node_t *m = node_at(c, *it);
            if (!m || m->type != YAML_MAPPING_NODE)
                return cfg_err(c->err, NLINE(src),
                               "%s: merge key \"<<\" needs a mapping or a list of mappings", path);
            rc = visit(c, m);
            if (rc) return rc;
            rc = gather(c, m, out, path, depth + 1, true);
            if (rc) return rc;
        }
        return LS_OK;
    }
    return cfg_err(c->err, NLINE(src), "%s: merge key \"<<\" needs a mapping or a list of mappings",
                   path);
}

typedef struct kv_ord {
    const char *name;
    size_t idx;
} kv_ord;

static int cmp_kv_ord(const void *a, const void *b) {
    const kv_ord *x = a, *y = b;
    int r = strcmp(x->name, y->name);
    if (r) return r;
    return x->idx < y->idx ? -1 : (x->idx > y->idx);
}

/* Explicit keys win over merged ones; earlier merges win over later ones;
 * an explicit key given twice is an error. O(n log n). */
static ls_code collect_pairs(pctx *c, yaml_node_t *map, kvlist *out, const char *path) {
    kvlist l = {0};
    ls_code rc = gather(c, map, &l, path, 0, false);
    if (rc == LS_OK && l.n > 1) {
        kv_ord *idx = malloc(l.n * sizeof(kv_ord));
        if (!idx) rc = nomem(c->err);
        for (size_t i = 0; rc == LS_OK && i < l.n; i++) idx[i] = (kv_ord){l.v[i].name, i};
        if (rc == LS_OK) {
            /* explicit items precede merged ones by position */
            qsort(idx, l.n, sizeof(kv_ord), cmp_kv_ord);
            for (size_t i = 1; i < l.n; i++) {
                kv *prev = &l.v[idx[i - 1].idx], *cur = &l.v[idx[i].idx];
                if (strcmp(prev->name, cur->name) != 0) continue;
                if (!prev->merged && !cur->merged) {
                    rc = cfg_err(c->err, NLINE(cur->key), "%s: duplicate key %s (first given at line %d)",
                                 *path ? path : "top level", QV(cur->name), NLINE(prev->key));
                    break;
                }
                cur->keep = false;
            }
        }
        free(idx);
    }
    if (rc) {
        free(l.v);
        return rc;
    }
    size_t w = 0;
    for (size_t i = 0; i < l.n; i++)
        if (l.v[i].keep) l.v[w++] = l.v[i];
    l.n = w;
    *out = l;
    return LS_OK;
}

/* ------------------------------------------------------------------------ */
/* Typed scalar decoding                                                     */

typedef enum vtype { T_STR, T_BOOL, T_DUR, T_INT, T_U32, T_BYTES, T_STRLIST } vtype;

static ls_code need_scalar(pctx *c, yaml_node_t *v, const char *path, const char *what) {
    if (v->type != YAML_SCALAR_NODE)
        return cfg_err(c->err, NLINE(v), "%s: expected %s, got %s", path, what, kind_name(v));
    return LS_OK;
}

static ls_code dec_str(pctx *c, yaml_node_t *v, const char *path, ls_cfg_str *out) {
    ls_code rc = need_scalar(c, v, path, "a string");
    if (rc) return rc;
    if (is_null(v)) return LS_OK;
    char *s = ls_strdup(stext(v));
    if (!s) return nomem(c->err);
    free(out->v);
    out->v = s;
    out->set = true;
    out->line = NLINE(v);
    return LS_OK;
}

static ls_code dec_bool(pctx *c, yaml_node_t *v, const char *path, ls_cfg_bool *out) {
    ls_code rc = need_scalar(c, v, path, "a boolean");
    if (rc) return rc;
    lscfg_resolved r;
    lscfg_resolve(stext(v), splain(v), &r);
    if (r.tag == LSCFG_R_NULL) return LS_OK;
    if (r.tag != LSCFG_R_BOOL)
        return cfg_err(c->err, NLINE(v), "%s: invalid boolean %s (use true/false, yes/no or on/off%s)",
                       path, QV(stext(v)), splain(v) ? "" : ", unquoted");
    out->v = r.b;
    out->set = true;
    out->line = NLINE(v);
    return LS_OK;
}

static bool float_to_i64(double f, int64_t *out) {
    if (!isfinite(f) || f != floor(f) || f < -9.2233720368547758e18 || f >= 9.2233720368547758e18)
        return false;
    *out = (int64_t)f;
    return true;
}

static ls_code dec_int(pctx *c, yaml_node_t *v, const char *path, ls_cfg_int *out, int64_t min,
                       int64_t max) {
    ls_code rc = need_scalar(c, v, path, "an integer");
    if (rc) return rc;
    lscfg_resolved r;
    lscfg_resolve(stext(v), splain(v), &r);
    int64_t x;
    switch (r.tag) {
    case LSCFG_R_NULL:
        return LS_OK;
    case LSCFG_R_INT:
        x = r.i;
        break;
    case LSCFG_R_FLOAT:
        if (!float_to_i64(r.f, &x)) {
            if (isfinite(r.f) && r.f == floor(r.f))
                return cfg_err(c->err, NLINE(v), "%s: integer %s is out of range", path, QV(stext(v)));
            return cfg_err(c->err, NLINE(v), "%s: invalid integer %s", path, QV(stext(v)));
        }
        break;
    case LSCFG_R_UINT:
        return cfg_err(c->err, NLINE(v), "%s: integer %s is out of range", path, QV(stext(v)));
    default:
        return cfg_err(c->err, NLINE(v), "%s: invalid integer %s%s", path, QV(stext(v)),
                       splain(v) ? "" : " (quoted strings are not numbers)");
    }
    if (x < min || x > max)
        return cfg_err(c->err, NLINE(v), "%s: integer %s is out of range", path, QV(stext(v)));
    out->v = x;
    out->set = true;
    out->line = NLINE(v);
    return LS_OK;
}

static ls_code dec_dur(pctx *c, yaml_node_t *v, const char *path, ls_cfg_dur *out) {
    ls_code rc = need_scalar(c, v, path, "a duration");
    if (rc) return rc;
    lscfg_resolved r;
    lscfg_resolve(stext(v), splain(v), &r);
    int64_t x;
    switch (r.tag) {
    case LSCFG_R_NULL:
        return LS_OK;
    case LSCFG_R_INT:
        x = r.i; /* bare integers are nanoseconds */
        break;
    case LSCFG_R_FLOAT:
        if (!float_to_i64(r.f, &x))
            return cfg_err(c->err, NLINE(v), "%s: invalid duration %s", path, QV(stext(v)));
        break;
    case LSCFG_R_STR: {
        ls_err e;
        if (ls_parse_duration(stext(v), &x, &e) != LS_OK)
            return cfg_err(c->err, NLINE(v), "%s: invalid duration %s", path, QV(stext(v)));
        break;
    }
    default:
        return cfg_err(c->err, NLINE(v), "%s: invalid duration %s", path, QV(stext(v)));
    }
    out->v = x;
    out->set = true;
    out->line = NLINE(v);
    return LS_OK;
}

static ls_code dec_bytes(pctx *c, yaml_node_t *v, const char *path, ls_cfg_int *out) {
    ls_code rc = need_scalar(c, v, path, "a byte size");
    if (rc) return rc;
    if (is_null(v)) return LS_OK;
    ls_err e;
    int64_t x;
    if (ls_parse_bytes(stext(v), &x, &e) != LS_OK)
        return cfg_err(c->err, NLINE(v), "%s: invalid size %s: %s", path, QV(stext(v)), e.msg);
    out->v = x;
    out->set = true;
    out->line = NLINE(v);
    return LS_OK;
}

static void strlist_clear(ls_cfg_strlist *l) {
    for (size_t i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
    l->set = false;
}

static ls_code dec_strlist(pctx *c, yaml_node_t *v, const char *path, ls_cfg_strlist *out) {
    if (is_null(v)) return LS_OK;
    if (v->type != YAML_SEQUENCE_NODE)
        return cfg_err(c->err, NLINE(v), "%s: expected a list of strings, got %s", path,
                       kind_name(v));
    strlist_clear(out);
    size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    out->v = calloc(n ? n : 1, sizeof(char *));
    if (!out->v) return nomem(c->err);
    out->set = true;
    out->line = NLINE(v);
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *it = node_at(c, v->data.sequence.items.start[i]);
        if (!it) return cfg_err(c->err, NLINE(v), "%s: malformed list", path);
        ls_code rc = visit(c, it);
        if (rc) return rc;
        if (it->type != YAML_SCALAR_NODE)
            return cfg_err(c->err, NLINE(it), "%s[%zu]: expected a string, got %s", path, i,
                           kind_name(it));
        out->v[i] = ls_strdup(is_null(it) ? "" : stext(it));
        if (!out->v[i]) return nomem(c->err);
        out->n = i + 1;
    }
    return LS_OK;
}

/* ------------------------------------------------------------------------ */
/* Key tables                                                                */

typedef struct keydef {
    const char *name;
    vtype t;
    size_t off;
} keydef;

#define RS(field) offsetof(ls_replica_settings, field)
static const keydef replica_setting_keys[] = {
    {"sync-interval", T_DUR, RS(sync_interval)},
    {"validation-interval", T_DUR, RS(validation_interval)},
    {"max-sync-ltx-files", T_INT, RS(max_sync_ltx_files)},
    {"auto-recover", T_BOOL, RS(auto_recover)},
    {"access-key-id", T_STR, RS(access_key_id)},
    {"secret-access-key", T_STR, RS(secret_access_key)},
    {"region", T_STR, RS(region)},
    {"bucket", T_STR, RS(bucket)},
    {"endpoint", T_STR, RS(endpoint)},
    {"force-path-style", T_BOOL, RS(force_path_style)},
    {"sign-payload", T_BOOL, RS(sign_payload)},
    {"require-content-md5", T_BOOL, RS(require_content_md5)},
    {"skip-verify", T_BOOL, RS(skip_verify)},
    {"storage-class", T_STR, RS(storage_class)},
    {"part-size", T_BYTES, RS(part_size)},
    {"concurrency", T_INT, RS(concurrency)},
    {"sse-customer-algorithm", T_STR, RS(sse_customer_algorithm)},
    {"sse-customer-key", T_STR, RS(sse_customer_key)},
    {"sse-customer-key-path", T_STR, RS(sse_customer_key_path)},
    {"sse-kms-key-id", T_STR, RS(sse_kms_key_id)},
    {"account-name", T_STR, RS(account_name)},
    {"account-key", T_STR, RS(account_key)},
    {"sas-token", T_STR, RS(sas_token)},
    {"host", T_STR, RS(host)},
    {"user", T_STR, RS(user)},
    {"password", T_STR, RS(password)},
    {"key-path", T_STR, RS(key_path)},
    {"host-key", T_STR, RS(host_key)},
    {"concurrent-writes", T_BOOL, RS(concurrent_writes)},
    {"webdav-url", T_STR, RS(webdav_url)},
    {"webdav-username", T_STR, RS(webdav_username)},
    {"webdav-password", T_STR, RS(webdav_password)},
    {"jwt", T_STR, RS(jwt)},
    {"seed", T_STR, RS(seed)},
    {"creds", T_STR, RS(creds)},
    {"nkey", T_STR, RS(nkey)},
    {"username", T_STR, RS(username)},
    {"token", T_STR, RS(token)},
    {"tls", T_BOOL, RS(tls)},
    {"root-cas", T_STRLIST, RS(root_cas)},
    {"client-cert", T_STR, RS(client_cert)},
    {"client-key", T_STR, RS(client_key)},
    {"max-reconnects", T_INT, RS(max_reconnects)},
    {"reconnect-wait", T_DUR, RS(reconnect_wait)},
    {"timeout", T_DUR, RS(timeout)},
    {NULL, T_STR, 0},
};
#undef RS

static const keydef age_keys[] = {
    {"identities", T_STRLIST, offsetof(ls_replica_settings, age_identities)},
    {"recipients", T_STRLIST, offsetof(ls_replica_settings, age_recipients)},
    {NULL, T_STR, 0},
};

#define RC(field) offsetof(ls_replica_config, field)
static const keydef replica_keys[] = {
    {"type", T_STR, RC(type)},
    {"url", T_STR, RC(url)},
    {"path", T_STR, RC(path)},
    {"name", T_STR, RC(name)},
    {NULL, T_STR, 0},
};
#undef RC

#define DB(field) offsetof(ls_db_config, field)
static const keydef db_keys[] = {
    {"path", T_STR, DB(path_raw)},
    {"dir", T_STR, DB(dir_raw)},
    {"pattern", T_STR, DB(pattern)},
    {"recursive", T_BOOL, DB(recursive)},
    {"watch", T_BOOL, DB(watch)},
    {"meta-path", T_STR, DB(meta_path)},
    {"meta-dir", T_STR, DB(meta_dir)},
    {"monitor-interval", T_DUR, DB(monitor_interval)},
    {"checkpoint-interval", T_DUR, DB(checkpoint_interval)},
    {"busy-timeout", T_DUR, DB(busy_timeout)},
    {"min-checkpoint-page-count", T_INT, DB(min_checkpoint_page_count)},
    {"truncate-page-n", T_INT, DB(truncate_page_n)},
    {"max-sync-wal-bytes", T_INT, DB(max_sync_wal_bytes)},
    {"restore-if-db-not-exists", T_BOOL, DB(restore_if_db_not_exists)},
    {NULL, T_STR, 0},
};
static const keydef db_snapshot_keys[] = {
    {"interval", T_DUR, DB(snapshot_interval)},
    {"retention", T_DUR, DB(snapshot_retention)},
    {NULL, T_STR, 0},
};
#undef DB

#define CF(field) offsetof(ls_config, field)
static const keydef top_keys[] = {
    {"addr", T_STR, CF(addr)},
    {"l0-retention", T_DUR, CF(l0_retention)},
    {"l0-retention-check-interval", T_DUR, CF(l0_retention_check_interval)},
    {"verify-compaction", T_BOOL, CF(verify_compaction)},
    {"heartbeat-url", T_STR, CF(heartbeat_url)},
    {"heartbeat-interval", T_DUR, CF(heartbeat_interval)},
    {"exec", T_STR, CF(exec)},
    {"mcp-addr", T_STR, CF(mcp_addr)},
    {"shutdown-sync-timeout", T_DUR, CF(shutdown_sync_timeout)},
    {"shutdown-sync-interval", T_DUR, CF(shutdown_sync_interval)},
    {"mcp-read-only", T_BOOL, CF(mcp_read_only)},
    {"mcp-token", T_STR, CF(mcp_token)},
    {"mcp-restore-dirs", T_STRLIST, CF(mcp_restore_dirs)},
    {NULL, T_STR, 0},
};
static const keydef socket_keys[] = {
    {"enabled", T_BOOL, CF(socket_enabled)},
    {"path", T_STR, CF(socket_path)},
    {"permissions", T_U32, CF(socket_permissions)},
    {NULL, T_STR, 0},
};
static const keydef snapshot_keys[] = {
    {"interval", T_DUR, CF(snapshot_interval)},
    {"retention", T_DUR, CF(snapshot_retention)},
    {NULL, T_STR, 0},
};
static const keydef validation_keys[] = {
    {"interval", T_DUR, CF(validation_interval)},
    {NULL, T_STR, 0},
};
static const keydef retention_keys[] = {
    {"enabled", T_BOOL, CF(retention_enabled)},
    {NULL, T_STR, 0},
};
static const keydef logging_keys[] = {
    {"level", T_STR, CF(logging_level)},
    {"type", T_STR, CF(logging_type)},
    {"stderr", T_BOOL, CF(logging_stderr)},
    {"source", T_BOOL, CF(logging_source)},
    {NULL, T_STR, 0},
};
#undef CF

static const keydef *find_key(const keydef *t, const char *name) {
    for (; t && t->name; t++)
        if (strcmp(t->name, name) == 0) return t;
    return NULL;
}

static ls_code decode_key(pctx *c, const keydef *k, void *base, yaml_node_t *v,
                          const char *path) {
    char *p = (char *)base + k->off;
    switch (k->t) {
    case T_STR: return dec_str(c, v, path, (ls_cfg_str *)p);
    case T_BOOL: return dec_bool(c, v, path, (ls_cfg_bool *)p);
    case T_DUR: return dec_dur(c, v, path, (ls_cfg_dur *)p);
    case T_INT: return dec_int(c, v, path, (ls_cfg_int *)p, INT64_MIN, INT64_MAX);
    case T_U32: return dec_int(c, v, path, (ls_cfg_int *)p, 0, UINT32_MAX);
    case T_BYTES: return dec_bytes(c, v, path, (ls_cfg_int *)p);
    case T_STRLIST: return dec_strlist(c, v, path, (ls_cfg_strlist *)p);
    }
    return LS_OK;
}

/* "unknown key" with a did-you-mean hint over the given tables + extras. */
static ls_code unknown_key(pctx *c, yaml_node_t *k, const char *path, const keydef *const *tables,
                           const char *const *extras) {
    const char *name = stext(k);
    const char *best = NULL;
    size_t bestd = SIZE_MAX;
    for (size_t t = 0; tables && tables[t]; t++)
        for (const keydef *d = tables[t]; d->name; d++) {
            size_t dd = lscfg_edit_distance(name, d->name);
            if (dd < bestd) {
                bestd = dd;
                best = d->name;
            }
        }
    for (size_t i = 0; extras && extras[i]; i++) {
        size_t dd = lscfg_edit_distance(name, extras[i]);
        if (dd < bestd) {
            bestd = dd;
            best = extras[i];
        }
    }
    /* a known key that starts with what was typed (or the reverse) is an
     * obvious typo too: "identity" -> "identities" */
    if (!(best && bestd <= 1) && strlen(name) >= 4) {
        for (size_t t = 0; tables && tables[t]; t++)
            for (const keydef *d = tables[t]; d->name; d++) {
                size_t a = strlen(name), b = strlen(d->name), m = a < b ? a : b;
                if (m >= 4 && m + 3 >= (a > b ? a : b) && strncmp(name, d->name, m - 1) == 0) {
                    best = d->name;
                    bestd = 0;
                }
            }
    }
    size_t len = strlen(name);
    size_t limit = len <= 4 ? 1 : (len <= 10 ? 2 : 3);
    const char *where = *path ? path : "top level";
    if (best && bestd <= limit)
        return cfg_err(c->err, NLINE(k), "%s: unknown key %s (did you mean \"%s\"?)", where,
                       QV(name), best);
    return cfg_err(c->err, NLINE(k), "%s: unknown key %s", where, QV(name));
}

static void join_path(char *out, size_t n, const char *path, const char *key) {
    if (*path) snprintf(out, n, "%s.%s", path, key);
    else snprintf(out, n, "%s", key);
}

/* Decodes a plain sub-mapping (socket:, logging:, ...) against one table. */
static ls_code decode_table_map(pctx *c, yaml_node_t *m, const keydef *table, void *base,
                                const char *path) {
    if (is_null(m)) return LS_OK;
    if (m->type != YAML_MAPPING_NODE)
        return cfg_err(c->err, NLINE(m), "%s: expected a mapping, got %s", path, kind_name(m));
    kvlist l;
    ls_code rc = collect_pairs(c, m, &l, path);
    if (rc) return rc;
    for (size_t i = 0; rc == LS_OK && i < l.n; i++) {
        char sub[256];
        join_path(sub, sizeof(sub), path, l.v[i].name);
        const keydef *k = find_key(table, l.v[i].name);
        if (!k) {
            const keydef *tabs[] = {table, NULL};
            rc = unknown_key(c, l.v[i].key, path, tabs, NULL);
            break;
        }
        rc = visit(c, l.v[i].val);
        if (rc == LS_OK) rc = decode_key(c, k, base, l.v[i].val, sub);
    }
    free(l.v);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Replica entries                                                           */

static void settings_free(ls_replica_settings *s) {
    for (const keydef *k = replica_setting_keys; k->name; k++) {
        char *p = (char *)s + k->off;
        if (k->t == T_STR) {
            free(((ls_cfg_str *)p)->v);
            ((ls_cfg_str *)p)->v = NULL;
        } else if (k->t == T_STRLIST) {
            strlist_clear((ls_cfg_strlist *)p);
        }
    }
    strlist_clear(&s->age_identities);
    strlist_clear(&s->age_recipients);
}

static void replica_free(ls_replica_config *rc) {
    if (!rc) return;
    free(rc->field);
    free(rc->type.v);
    free(rc->url.v);
    free(rc->path.v);
    free(rc->name.v);
    settings_free(&rc->settings);
    lscfg_client_free(&rc->client);
    free(rc);
}

/* Keys shared by replica entries and the top level (settings + age). Returns
 * 1 when the key was not a settings key. */
static int decode_settings_key(pctx *c, ls_replica_settings *s, const kv *item, const char *path,
                               ls_code *rc) {
    char sub[256];
    join_path(sub, sizeof(sub), path, item->name);
    const keydef *k = find_key(replica_setting_keys, item->name);
    if (k) {
        *rc = visit(c, item->val);
        if (*rc == LS_OK) *rc = decode_key(c, k, s, item->val, sub);
        return 0;
    }
    if (strcmp(item->name, "age") == 0) {
        *rc = decode_table_map(c, item->val, age_keys, s, sub);
        return 0;
    }
    return 1;
}

static ls_code parse_replica(pctx *c, yaml_node_t *m, int line, const char *path,
                             ls_replica_config **out) {
    *out = NULL;
    if (m->type != YAML_MAPPING_NODE)
        return cfg_err(c->err, NLINE(m), "%s: expected a mapping, got %s", path, kind_name(m));
    ls_replica_config *rc = calloc(1, sizeof(*rc));
    if (!rc || !(rc->field = ls_strdup(path))) {
        free(rc);
        return nomem(c->err);
    }
    rc->line = line > 0 ? line : NLINE(m);
    kvlist l;
    ls_code code = collect_pairs(c, m, &l, path);
    if (code) {
        replica_free(rc);
        return code;
    }
    for (size_t i = 0; code == LS_OK && i < l.n; i++) {
        char sub[256];
        join_path(sub, sizeof(sub), path, l.v[i].name);
        const keydef *k = find_key(replica_keys, l.v[i].name);
        if (k) {
            code = visit(c, l.v[i].val);
            if (code == LS_OK) code = decode_key(c, k, rc, l.v[i].val, sub);
            continue;
        }
        if (decode_settings_key(c, &rc->settings, &l.v[i], path, &code) == 0) continue;
        const keydef *tabs[] = {replica_keys, replica_setting_keys, NULL};
        const char *extras[] = {"age", NULL};
        code = unknown_key(c, l.v[i].key, path, tabs, extras);
    }
    free(l.v);
    if (code) {
        replica_free(rc);
        return code;
    }
    *out = rc;
    return LS_OK;
}

/* ------------------------------------------------------------------------ */
/* Databases                                                                 */

static void db_init_defaults(ls_db_config *db) {
    db->monitor_interval.v = 1 * NS_SEC;
    db->checkpoint_interval.v = 60 * NS_SEC;
    db->busy_timeout.v = 1 * NS_SEC;
    db->min_checkpoint_page_count.v = 1000;
    db->truncate_page_n.v = 121359;
    db->max_sync_wal_bytes.v = INT64_C(64) << 20;
}

static void db_free_fields(ls_db_config *db) {
    free(db->path);
    free(db->dir);
    free(db->path_raw.v);
    free(db->dir_raw.v);
    free(db->pattern.v);
    free(db->meta_path.v);
    free(db->meta_dir.v);
    replica_free(db->replica);
    for (size_t i = 0; i < db->nextra_replicas; i++) replica_free(db->extra_replicas[i]);
    free(db->extra_replicas);
    db->extra_replicas = NULL;
    db->nextra_replicas = 0;
}

size_t ls_db_config_replica_count(const ls_db_config *db) {
    return (db->replica ? 1 : 0) + db->nextra_replicas;
}

const ls_replica_config *ls_db_config_replica_at(const ls_db_config *db, size_t i) {
    if (i == 0) return db->replica;
    return i - 1 < db->nextra_replicas ? db->extra_replicas[i - 1] : NULL;
}

static ls_code parse_db(pctx *c, yaml_node_t *m, size_t idx, ls_db_config *db) {
    char path[64];
    snprintf(path, sizeof(path), "dbs[%zu]", idx);
    db->index = (int)idx;
    db->line = NLINE(m);
    db_init_defaults(db);
    if (m->type != YAML_MAPPING_NODE)
        return cfg_err(c->err, NLINE(m), "%s: expected a mapping, got %s", path, kind_name(m));
    kvlist l;
    ls_code rc = collect_pairs(c, m, &l, path);
    if (rc) return rc;
    yaml_node_t *replica = NULL, *replicas = NULL;
    int replicas_line = 0, replica_line = 0;
    for (size_t i = 0; rc == LS_OK && i < l.n; i++) {
        char sub[256];
        join_path(sub, sizeof(sub), path, l.v[i].name);
        const keydef *k = find_key(db_keys, l.v[i].name);
        if (k) {
            rc = visit(c, l.v[i].val);
            if (rc == LS_OK) rc = decode_key(c, k, db, l.v[i].val, sub);
        } else if (strcmp(l.v[i].name, "snapshot") == 0) {
            rc = decode_table_map(c, l.v[i].val, db_snapshot_keys, db, sub);
        } else if (strcmp(l.v[i].name, "replica") == 0) {
            if (!is_null(l.v[i].val)) {
                replica = l.v[i].val;
                replica_line = NLINE(l.v[i].key);
            }
        } else if (strcmp(l.v[i].name, "replicas") == 0) {
            if (!is_null(l.v[i].val)) {
                replicas = l.v[i].val;
                replicas_line = NLINE(l.v[i].key);
            }
        } else {
            const keydef *tabs[] = {db_keys, NULL};
            const char *extras[] = {"snapshot", "replica", "replicas", NULL};
            /* A replica setting directly under the database is a common
             * mistake: say where it belongs. */
            if (find_key(replica_setting_keys, l.v[i].name) || find_key(replica_keys, l.v[i].name)) {
                rc = cfg_err(c->err, NLINE(l.v[i].key),
                             "%s: unknown key %s (replica settings belong under \"replica:\")",
                             path, QV(l.v[i].name));
            } else {
                rc = unknown_key(c, l.v[i].key, path, tabs, extras);
            }
        }
    }
    free(l.v);
    if (rc) return rc;

    /* Exactly one replica (checked here, like the reference's DB build). */
    size_t nlist = 0;
    if (replicas) {
        rc = visit(c, replicas);
        if (rc) return rc;
        if (replicas->type != YAML_SEQUENCE_NODE)
            return cfg_err(c->err, NLINE(replicas), "%s.replicas: expected a list, got %s", path,
                           kind_name(replicas));
        nlist = (size_t)(replicas->data.sequence.items.top - replicas->data.sequence.items.start);
    }
    if (replica) {
        rc = visit(c, replica);
        if (rc) return rc;
        if (nlist > 0)
            return cfg_err(c->err, replicas_line,
                           "%s: cannot specify 'replica' and 'replicas' on a database", path);
        char sub[96];
        snprintf(sub, sizeof(sub), "%s.replica", path);
        return parse_replica(c, replica, replica_line, sub, &db->replica);
    }
    if (nlist > 1) {
        /* The reference refuses several replicas per database; this build
         * replicates to each of them, every one with its own position. */
        db->extra_replicas = calloc(nlist - 1, sizeof(ls_replica_config *));
        if (!db->extra_replicas) return nomem(c->err);
    }
    for (size_t k = 0; k < nlist; k++) {
        yaml_node_t *rk = node_at(c, replicas->data.sequence.items.start[k]);
        if (!rk) return cfg_err(c->err, NLINE(replicas), "%s.replicas: malformed list", path);
        char sub[96];
        snprintf(sub, sizeof(sub), "%s.replicas[%zu]", path, k);
        db->replica_from_list = true;
        rc = visit(c, rk);
        if (rc) return rc;
        if (k == 0) {
            rc = parse_replica(c, rk, 0, sub, &db->replica);
        } else {
            rc = parse_replica(c, rk, 0, sub, &db->extra_replicas[k - 1]);
            if (db->extra_replicas[k - 1]) db->nextra_replicas = k;
        }
        if (rc) return rc;
    }
    if (nlist > 0) return LS_OK;
    /* No replica: reported after structural validation (see validate). */
    return LS_OK;
}

static ls_code parse_dbs(pctx *c, yaml_node_t *seq, ls_config *cfg) {
    if (is_null(seq)) return LS_OK;
    if (seq->type != YAML_SEQUENCE_NODE)
        return cfg_err(c->err, NLINE(seq), "dbs: expected a list, got %s", kind_name(seq));
    size_t n = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
    if (n == 0) return LS_OK;
    cfg->dbs = calloc(n, sizeof(ls_db_config));
    if (!cfg->dbs) return nomem(c->err);
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *m = node_at(c, seq->data.sequence.items.start[i]);
        if (!m) return cfg_err(c->err, NLINE(seq), "dbs: malformed list");
        cfg->ndbs = i + 1;
        ls_code rc = visit(c, m);
        if (rc) return rc;
        rc = parse_db(c, m, i, &cfg->dbs[i]);
        if (rc) return rc;
    }
    return LS_OK;
}

static ls_code parse_levels(pctx *c, yaml_node_t *seq, ls_config *cfg) {
    if (is_null(seq)) return LS_OK;
    if (seq->type != YAML_SEQUENCE_NODE)
        return cfg_err(c->err, NLINE(seq), "levels: expected a list, got %s", kind_name(seq));
    size_t n = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
    free(cfg->levels);
    cfg->levels = NULL;
    cfg->nlevels = 0;
    cfg->levels_set = true;
    cfg->levels_line = NLINE(seq);
    if (n > LSCFG_MAX_LEVELS)
        return cfg_err(c->err, NLINE(seq),
                       "levels: compaction level cannot exceed %d (got %zu levels; level 9 is the snapshot level)",
                       LSCFG_MAX_LEVELS, n);
    if (n == 0) return LS_OK;
    cfg->levels = calloc(n, sizeof(ls_level_config));
    if (!cfg->levels) return nomem(c->err);
    for (size_t i = 0; i < n; i++) {
        char path[64];
        snprintf(path, sizeof(path), "levels[%zu]", i);
        yaml_node_t *m = node_at(c, seq->data.sequence.items.start[i]);
        if (!m) return cfg_err(c->err, NLINE(seq), "levels: malformed list");
        ls_code rc = visit(c, m);
        if (rc) return rc;
        cfg->nlevels = i + 1;
        cfg->levels[i].line = NLINE(m);
        if (m->type != YAML_MAPPING_NODE)
            return cfg_err(c->err, NLINE(m), "%s: expected a mapping with \"interval\", got %s",
                           path, kind_name(m));
        ls_cfg_dur iv = {0};
        static const keydef level_keys[] = {{"interval", T_DUR, 0}, {NULL, T_STR, 0}};
        rc = decode_table_map(c, m, level_keys, &iv, path);
        if (rc) return rc;
        cfg->levels[i].interval = iv.v;
        if (iv.set) cfg->levels[i].line = iv.line;
    }
    return LS_OK;
}

/* ------------------------------------------------------------------------ */
/* Top level                                                                 */

static void config_init_defaults(ls_config *cfg) {
    cfg->socket_path.v = ls_strdup("/var/run/litestream.sock");
    cfg->socket_permissions.v = 0600;
    cfg->snapshot_interval.v = 24 * 3600 * NS_SEC;
    cfg->snapshot_retention.v = 24 * 3600 * NS_SEC;
    cfg->l0_retention.v = 5 * 60 * NS_SEC;
    cfg->l0_retention_check_interval.v = 15 * NS_SEC;
    cfg->retention_enabled.v = true;
    cfg->heartbeat_interval.v = 5 * 60 * NS_SEC;
    cfg->logging_level.v = ls_strdup("INFO");
    cfg->logging_type.v = ls_strdup("text");
    cfg->shutdown_sync_timeout.v = 30 * NS_SEC;
    cfg->shutdown_sync_interval.v = 500 * LS_NS_PER_MS;
    cfg->levels = calloc(3, sizeof(ls_level_config));
    if (cfg->levels) {
        cfg->nlevels = 3;
        cfg->levels[0].interval = 30 * NS_SEC;
        cfg->levels[1].interval = 5 * 60 * NS_SEC;
        cfg->levels[2].interval = 3600 * NS_SEC;
    }
}

static bool config_defaults_ok(const ls_config *cfg) {
    return cfg->socket_path.v && cfg->logging_level.v && cfg->logging_type.v && cfg->levels;
}

static ls_code parse_top(pctx *c, yaml_node_t *root, ls_config *cfg) {
    if (!root || is_null(root)) return LS_OK;
    if (root->type != YAML_MAPPING_NODE)
        return cfg_err(c->err, NLINE(root), "top level: expected a mapping of settings, got %s",
                       kind_name(root));
    kvlist l;
    ls_code rc = collect_pairs(c, root, &l, "");
    if (rc) return rc;
    for (size_t i = 0; rc == LS_OK && i < l.n; i++) {
        const char *name = l.v[i].name;
        yaml_node_t *v = l.v[i].val;
        const keydef *k = find_key(top_keys, name);
        if (k) {
            rc = visit(c, v);
            if (rc == LS_OK) rc = decode_key(c, k, cfg, v, name);
        } else if (strcmp(name, "dbs") == 0) {
            rc = visit(c, v);
            if (rc == LS_OK) rc = parse_dbs(c, v, cfg);
        } else if (strcmp(name, "levels") == 0) {
            rc = visit(c, v);
            if (rc == LS_OK) rc = parse_levels(c, v, cfg);
        } else if (strcmp(name, "socket") == 0) {
            rc = decode_table_map(c, v, socket_keys, cfg, "socket");
        } else if (strcmp(name, "snapshot") == 0) {
            rc = decode_table_map(c, v, snapshot_keys, cfg, "snapshot");
        } else if (strcmp(name, "validation") == 0) {
            rc = decode_table_map(c, v, validation_keys, cfg, "validation");
        } else if (strcmp(name, "retention") == 0) {
            rc = decode_table_map(c, v, retention_keys, cfg, "retention");
        } else if (strcmp(name, "logging") == 0) {
            rc = decode_table_map(c, v, logging_keys, cfg, "logging");
        } else if (decode_settings_key(c, &cfg->replica_defaults, &l.v[i], "", &rc) == 0) {
            /* top-level replica default */
        } else if (strncmp(name, "x-", 2) == 0) {
            /* extension keys: ignored, useful to hold YAML anchors */
        } else if (find_key(replica_keys, name)) {
            rc = cfg_err(c->err, NLINE(l.v[i].key),
                         "top level: unknown key %s (\"%s\" is only valid inside a replica entry)",
                         QV(name), name);
        } else {
            const keydef *tabs[] = {top_keys, replica_setting_keys, NULL};
            const char *extras[] = {"dbs", "levels", "socket", "snapshot", "validation",
                                    "retention", "logging", "age", NULL};
            rc = unknown_key(c, l.v[i].key, "", tabs, extras);
        }
    }
    free(l.v);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Propagation, promotion, validation                                        */

static bool given(const ls_cfg_str *s) { return s->v && s->v[0]; }

static ls_code copy_str(ls_cfg_str *dst, const ls_cfg_str *src) {
    char *v = ls_strdup(src->v);
    if (!v) return LS_ERR_NOMEM;
    free(dst->v);
    dst->v = v;
    dst->set = true;
    dst->line = src->line;
    return LS_OK;
}

static ls_code copy_list(ls_cfg_strlist *dst, const ls_cfg_strlist *src) {
    strlist_clear(dst);
    dst->v = calloc(src->n ? src->n : 1, sizeof(char *));
    if (!dst->v) return LS_ERR_NOMEM;
    for (size_t i = 0; i < src->n; i++) {
        dst->v[i] = ls_strdup(src->v[i]);
        if (!dst->v[i]) return LS_ERR_NOMEM;
        dst->n = i + 1;
    }
    dst->set = true;
    dst->line = src->line;
    return LS_OK;
}

/* 11.4: unset replica fields take the top-level value. Not propagated:
 * part-size, concurrency, host-key, webdav-*; skip-verify only when the
 * global value is true. */
static ls_code propagate(ls_replica_settings *r, const ls_replica_settings *g) {
    static const char *const skip[] = {"part-size", "concurrency", "host-key", "webdav-url",
                                       "webdav-username", "webdav-password", NULL};
    for (const keydef *k = replica_setting_keys; k->name; k++) {
        bool skipped = false;
        for (size_t i = 0; skip[i]; i++)
            if (strcmp(skip[i], k->name) == 0) skipped = true;
        if (skipped) continue;
        char *rp = (char *)r + k->off;
        const char *gp = (const char *)g + k->off;
        if (strcmp(k->name, "skip-verify") == 0) {
            const ls_cfg_bool *gb = (const ls_cfg_bool *)gp;
            if (gb->set && gb->v) *(ls_cfg_bool *)rp = *gb;
            continue;
        }
        switch (k->t) {
        case T_STR:
            if (!given((ls_cfg_str *)rp) && given((const ls_cfg_str *)gp))
                if (copy_str((ls_cfg_str *)rp, (const ls_cfg_str *)gp)) return LS_ERR_NOMEM;
            break;
        case T_STRLIST:
            if (((ls_cfg_strlist *)rp)->n == 0 && ((const ls_cfg_strlist *)gp)->n > 0)
                if (copy_list((ls_cfg_strlist *)rp, (const ls_cfg_strlist *)gp)) return LS_ERR_NOMEM;
            break;
        case T_BOOL:
            if (!((ls_cfg_bool *)rp)->set && ((const ls_cfg_bool *)gp)->set)
                *(ls_cfg_bool *)rp = *(const ls_cfg_bool *)gp;
            break;
        case T_DUR:
            if (!((ls_cfg_dur *)rp)->set && ((const ls_cfg_dur *)gp)->set)
                *(ls_cfg_dur *)rp = *(const ls_cfg_dur *)gp;
            break;
        case T_INT:
        case T_U32:
        case T_BYTES:
            if (!((ls_cfg_int *)rp)->set && ((const ls_cfg_int *)gp)->set)
                *(ls_cfg_int *)rp = *(const ls_cfg_int *)gp;
            break;
        }
    }
    if (r->age_identities.n == 0 && g->age_identities.n > 0)
        if (copy_list(&r->age_identities, &g->age_identities)) return LS_ERR_NOMEM;
    if (r->age_recipients.n == 0 && g->age_recipients.n > 0)
        if (copy_list(&r->age_recipients, &g->age_recipients)) return LS_ERR_NOMEM;
    return LS_OK;
}

static const char *db_ident(const ls_db_config *db) {
    if (db->path) return db->path;
    if (given(&db->dir_raw)) return db->dir_raw.v;
    if (db->path_raw.v) return db->path_raw.v;
    return "";
}

/* 11.2: per-database snapshot values become the global value when the
 * global one is not set; different values conflict. */
static ls_code promote_snapshots(ls_config *cfg, ls_err *err) {
    const ls_db_config *idb = NULL, *rdb = NULL;
    for (size_t i = 0; i < cfg->ndbs; i++) {
        const ls_db_config *db = &cfg->dbs[i];
        if (db->snapshot_interval.set) {
            if (idb && idb->snapshot_interval.v != db->snapshot_interval.v)
                return cfg_err(err, db->snapshot_interval.line,
                               "conflicting database snapshot intervals: %s has %s, %s has %s",
                               db_ident(idb), FD(idb->snapshot_interval.v), db_ident(db),
                               FD(db->snapshot_interval.v));
            idb = db;
        }
        if (db->snapshot_retention.set) {
            if (rdb && rdb->snapshot_retention.v != db->snapshot_retention.v)
                return cfg_err(err, db->snapshot_retention.line,
                               "conflicting database snapshot retentions: %s has %s, %s has %s",
                               db_ident(rdb), FD(rdb->snapshot_retention.v), db_ident(db),
                               FD(db->snapshot_retention.v));
            rdb = db;
        }
    }
    if (!cfg->snapshot_interval.set && idb) {
        cfg->snapshot_interval = idb->snapshot_interval;
        cfg->snapshot_interval.set = false; /* still "not set at the top level" */
    }
    if (!cfg->snapshot_retention.set && rdb) {
        cfg->snapshot_retention = rdb->snapshot_retention;
        cfg->snapshot_retention.set = false;
    }
    return LS_OK;
}

static ls_code verr(ls_err *err, int line, const char *field, const char *reason,
                    const char *got) {
    return cfg_err(err, line, "%s: %s (got %s)", field, reason, got);
}

static int cmp_db_path(const void *a, const void *b) {
    const ls_db_config *x = *(const ls_db_config *const *)a;
    const ls_db_config *y = *(const ls_db_config *const *)b;
    int r = strcmp(x->path, y->path);
    if (r) return r;
    return x->index - y->index;
}

typedef struct meta_ent {
    char *meta;
    const ls_db_config *db;
} meta_ent;

static int cmp_meta(const void *a, const void *b) {
    const meta_ent *x = a, *y = b;
    int r = strcmp(x->meta, y->meta);
    if (r) return r;
    return x->db->index - y->db->index;
}

static ls_code validate(ls_config *cfg, ls_err *err) {
    if (cfg->snapshot_interval.v <= 0)
        return verr(err, cfg->snapshot_interval.line, "snapshot.interval",
                    "snapshot interval must be greater than 0", FD(cfg->snapshot_interval.v));
    if (cfg->snapshot_retention.v <= 0)
        return verr(err, cfg->snapshot_retention.line, "snapshot.retention",
                    "snapshot retention must be greater than 0", FD(cfg->snapshot_retention.v));
    if (cfg->l0_retention.v < 0)
        return verr(err, cfg->l0_retention.line, "l0-retention",
                    "l0 retention must not be negative", FD(cfg->l0_retention.v));
    if (cfg->l0_retention_check_interval.v <= 0)
        return verr(err, cfg->l0_retention_check_interval.line, "l0-retention-check-interval",
                    "l0 retention check interval must be greater than 0",
                    FD(cfg->l0_retention_check_interval.v));
    if (cfg->shutdown_sync_timeout.v < 0)
        return verr(err, cfg->shutdown_sync_timeout.line, "shutdown-sync-timeout",
                    "shutdown-sync-timeout must be >= 0", FD(cfg->shutdown_sync_timeout.v));
    if (cfg->shutdown_sync_interval.v <= 0)
        return verr(err, cfg->shutdown_sync_interval.line, "shutdown-sync-interval",
                    "shutdown sync interval must be greater than 0",
                    FD(cfg->shutdown_sync_interval.v));
    if (given(&cfg->heartbeat_url) && strncmp(cfg->heartbeat_url.v, "http://", 7) != 0 &&
        strncmp(cfg->heartbeat_url.v, "https://", 8) != 0)
        return verr(err, cfg->heartbeat_url.line, "heartbeat-url",
                    "heartbeat URL must be a valid HTTP or HTTPS URL", cfg->heartbeat_url.v);
    if (cfg->heartbeat_interval.set && cfg->heartbeat_interval.v < 60 * NS_SEC)
        return verr(err, cfg->heartbeat_interval.line, "heartbeat-interval",
                    "heartbeat interval must be at least 1 minute", FD(cfg->heartbeat_interval.v));
    for (size_t i = 0; i < cfg->nlevels; i++) {
        if (cfg->levels[i].interval <= 0) {
            char field[48];
            snprintf(field, sizeof(field), "levels[%zu].interval", i);
            return verr(err, cfg->levels[i].line, field, "compaction interval must be greater than 0",
                        FD(cfg->levels[i].interval));
        }
    }
    /* logging values (the reference silently falls back; we refuse). */
    if (cfg->logging_level.v && cfg->logging_level.v[0]) {
        ls_log_level lvl;
        if (!ls_log_parse_level(cfg->logging_level.v, &lvl))
            return cfg_err(err, cfg->logging_level.line,
                           "logging.level: invalid log level %s (use trace, debug, info, warn or error)",
                           QV(cfg->logging_level.v));
    }
    if (cfg->logging_type.v && cfg->logging_type.v[0] && strcmp(cfg->logging_type.v, "text") &&
        strcmp(cfg->logging_type.v, "json") && strcmp(cfg->logging_type.v, "pretty"))
        return cfg_err(err, cfg->logging_type.line,
                       "logging.type: invalid log type %s (use text, json or pretty)",
                       QV(cfg->logging_type.v));

    for (size_t i = 0; i < cfg->ndbs; i++) {
        ls_db_config *db = &cfg->dbs[i];
        size_t n = i + 1;
        bool hp = given(&db->path_raw), hd = given(&db->dir_raw);
        if (hp && hd)
            return cfg_err(err, db->line, "database config #%zu: cannot specify both 'path' and 'dir'", n);
        if (!hp && !hd)
            return cfg_err(err, db->line, "database config #%zu: must specify either 'path' or 'dir'", n);
        if (hd && !given(&db->pattern))
            return cfg_err(err, db->dir_raw.line, "database config #%zu: 'pattern' is required when using 'dir'", n);
        if (db->watch.v && !hd)
            return cfg_err(err, db->watch.line, "database config #%zu: 'watch' can only be enabled with a directory", n);
        if (db->meta_dir.set && !hd)
            return cfg_err(err, db->meta_dir.line, "database config #%zu: 'meta-dir' can only be used with a directory", n);
        if (db->meta_path.set && db->meta_dir.set)
            return cfg_err(err, db->meta_dir.line, "database config #%zu: cannot specify both 'meta-path' and 'meta-dir'", n);
        char field[LS_ERR_MSG_MAX / 2];
        const char *id = db_ident(db);
        if (db->snapshot_interval.set && db->snapshot_interval.v <= 0) {
            snprintf(field, sizeof(field), "dbs[%s].snapshot.interval", id);
            return verr(err, db->snapshot_interval.line, field,
                        "snapshot interval must be greater than 0", FD(db->snapshot_interval.v));
        }
        if (db->snapshot_retention.set && db->snapshot_retention.v <= 0) {
            snprintf(field, sizeof(field), "dbs[%s].snapshot.retention", id);
            return verr(err, db->snapshot_retention.line, field,
                        "snapshot retention must be greater than 0", FD(db->snapshot_retention.v));
        }
        for (size_t k = 0; k < ls_db_config_replica_count(db); k++) {
            const ls_replica_config *rc = ls_db_config_replica_at(db, k);
            /* 0 is our extension (ship every change as soon as it is seen);
             * the reference requires > 0. */
            if (rc && rc->settings.sync_interval.set && rc->settings.sync_interval.v < 0) {
                char which[32];
                if (db->replica_from_list) snprintf(which, sizeof(which), "replicas[%zu]", k);
                else snprintf(which, sizeof(which), "replica");
                snprintf(field, sizeof(field), "dbs[%s].%s.sync-interval", id, which);
                return verr(err, rc->settings.sync_interval.line, field,
                            "sync interval must not be negative", FD(rc->settings.sync_interval.v));
            }
        }
    }

    /* Checks of this implementation (the reference fails later or never). */
    for (size_t i = 0; i < cfg->ndbs; i++) {
        ls_db_config *db = &cfg->dbs[i];
        char b[32];
        if (!db->replica)
            return cfg_err(err, db->line, "dbs[%zu] (%s): must specify replica for database", i,
                           db_ident(db));
        if (db->min_checkpoint_page_count.v <= 0) {
            snprintf(b, sizeof(b), "%" PRId64, db->min_checkpoint_page_count.v);
            return cfg_err(err, db->min_checkpoint_page_count.line,
                           "dbs[%zu].min-checkpoint-page-count: must be greater than 0 (got %s)", i, b);
        }
        if (db->monitor_interval.v < 0)
            return cfg_err(err, db->monitor_interval.line,
                           "dbs[%zu].monitor-interval: must not be negative (got %s)", i,
                           FD(db->monitor_interval.v));
        if (db->checkpoint_interval.v < 0)
            return cfg_err(err, db->checkpoint_interval.line,
                           "dbs[%zu].checkpoint-interval: must not be negative (got %s)", i,
                           FD(db->checkpoint_interval.v));
        if (db->busy_timeout.v < 0)
            return cfg_err(err, db->busy_timeout.line,
                           "dbs[%zu].busy-timeout: must not be negative (got %s)", i,
                           FD(db->busy_timeout.v));
        if (db->max_sync_wal_bytes.v < 0) {
            snprintf(b, sizeof(b), "%" PRId64, db->max_sync_wal_bytes.v);
            return cfg_err(err, db->max_sync_wal_bytes.line,
                           "dbs[%zu].max-sync-wal-bytes: must not be negative (got %s)", i, b);
        }
    }

    /* Duplicate database paths (sorted, O(n log n)). */
    if (cfg->ndbs > 1) {
        ls_db_config **v = calloc(cfg->ndbs, sizeof(*v));
        if (!v) return nomem(err);
        size_t k = 0;
        for (size_t i = 0; i < cfg->ndbs; i++)
            if (cfg->dbs[i].path) v[k++] = &cfg->dbs[i];
        qsort(v, k, sizeof(*v), cmp_db_path);
        for (size_t i = 1; i < k; i++) {
            if (strcmp(v[i - 1]->path, v[i]->path) == 0) {
                const ls_db_config *a = v[i - 1], *b2 = v[i];
                free(v);
                return cfg_err(err, b2->path_raw.line,
                               "dbs[%d].path: database %s is already configured by dbs[%d] at line %d",
                               b2->index, QV(b2->path), a->index, a->path_raw.line);
            }
        }
        free(v);

        /* Meta-path collisions between path entries. */
        meta_ent *m = calloc(cfg->ndbs, sizeof(*m));
        if (!m) return nomem(err);
        k = 0;
        ls_code rc = LS_OK;
        for (size_t i = 0; i < cfg->ndbs; i++) {
            if (!cfg->dbs[i].path) continue;
            m[k].meta = ls_config_db_meta_path(&cfg->dbs[i]);
            m[k].db = &cfg->dbs[i];
            if (!m[k].meta) rc = nomem(err);
            k++;
        }
        if (rc == LS_OK) {
            qsort(m, k, sizeof(*m), cmp_meta);
            for (size_t i = 1; i < k; i++) {
                if (strcmp(m[i - 1].meta, m[i].meta) == 0) {
                    const ls_db_config *b2 = m[i].db;
                    rc = cfg_err(err, b2->meta_path.line ? b2->meta_path.line : b2->line,
                                 "dbs[%d].meta-path: databases %s and %s would share meta-path %s, causing replication state corruption",
                                 b2->index, m[i - 1].db->path, b2->path, QV(m[i].meta));
                    break;
                }
            }
        }
        for (size_t i = 0; i < k; i++) free(m[i].meta);
        free(m);
        if (rc) return rc;
    }
    return LS_OK;
}

/* ------------------------------------------------------------------------ */
/* Post-parse normalisation                                                  */

static ls_code normalize(ls_config *cfg, ls_err *err) {
    for (size_t i = 0; i < cfg->ndbs; i++) {
        ls_db_config *db = &cfg->dbs[i];
        if (given(&db->path_raw)) {
            db->path = ls_expand_db_path(db->path_raw.v);
            if (!db->path)
                return cfg_err(err, db->path_raw.line, "dbs[%zu].path: cannot expand %s", i,
                               QV(db->path_raw.v));
        }
        if (given(&db->dir_raw)) {
            db->dir = ls_expand_db_path(db->dir_raw.v);
            if (!db->dir)
                return cfg_err(err, db->dir_raw.line, "dbs[%zu].dir: cannot expand %s", i,
                               QV(db->dir_raw.v));
        }
        ls_cfg_str *mp[2] = {&db->meta_path, &db->meta_dir};
        for (int j = 0; j < 2; j++) {
            if (!mp[j]->set) continue;
            if (!given(mp[j]))
                return cfg_err(err, mp[j]->line, "dbs[%zu].%s: must not be empty", i,
                               j == 0 ? "meta-path" : "meta-dir");
            char *e = ls_expand_db_path(mp[j]->v);
            if (!e) return nomem(err);
            free(mp[j]->v);
            mp[j]->v = e;
        }
    }
    for (size_t i = 0; i < cfg->mcp_restore_dirs.n; i++) {
        if (!cfg->mcp_restore_dirs.v[i][0])
            return cfg_err(err, cfg->mcp_restore_dirs.line, "mcp-restore-dirs[%zu]: must not be empty", i);
        char *e = ls_path_abs(cfg->mcp_restore_dirs.v[i]);
        if (!e) return nomem(err);
        free(cfg->mcp_restore_dirs.v[i]);
        cfg->mcp_restore_dirs.v[i] = e;
    }
    return LS_OK;
}

/* ------------------------------------------------------------------------ */
/* Entry points                                                              */

void ls_config_free(ls_config *cfg) {
    if (!cfg) return;
    free(cfg->source);
    for (size_t i = 0; i < cfg->ndbs; i++) db_free_fields(&cfg->dbs[i]);
    free(cfg->dbs);
    free(cfg->levels);
    ls_cfg_str *strs[] = {&cfg->addr, &cfg->socket_path, &cfg->heartbeat_url, &cfg->exec,
                          &cfg->logging_level, &cfg->logging_type, &cfg->mcp_addr, &cfg->mcp_token};
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) free(strs[i]->v);
    strlist_clear(&cfg->mcp_restore_dirs);
    settings_free(&cfg->replica_defaults);
    free(cfg);
}

static ls_config *config_new(const char *source) {
    ls_config *cfg = calloc(1, sizeof(*cfg));
    if (!cfg) return NULL;
    config_init_defaults(cfg);
    cfg->source = ls_strdup(source ? source : "");
    if (!config_defaults_ok(cfg) || !cfg->source) {
        ls_config_free(cfg);
        return NULL;
    }
    return cfg;
}

ls_code ls_config_default(ls_config **out, ls_err *err) {
    *out = config_new("");
    return *out ? LS_OK : nomem(err);
}

/* Applies propagation, resolves replicas, validates. */
static ls_code finish(ls_config *cfg, ls_err *err) {
    ls_code rc = promote_snapshots(cfg, err);
    if (rc) return rc;
    rc = normalize(cfg, err);
    if (rc) return rc;
    for (size_t i = 0; i < cfg->ndbs; i++)
        for (size_t k = 0; k < ls_db_config_replica_count(&cfg->dbs[i]); k++)
            if (propagate(&((ls_replica_config *)ls_db_config_replica_at(&cfg->dbs[i], k))->settings,
                          &cfg->replica_defaults))
                return nomem(err);
    rc = validate(cfg, err);
    if (rc) return rc;
    for (size_t i = 0; i < cfg->ndbs; i++) {
        for (size_t k = 0; k < ls_db_config_replica_count(&cfg->dbs[i]); k++) {
            rc = lscfg_resolve_replica((ls_replica_config *)ls_db_config_replica_at(&cfg->dbs[i], k), err);
            if (rc) return rc;
        }
    }
    return LS_OK;
}

static ls_code yaml_problem(yaml_parser_t *p, ls_err *err, const char *text, size_t len) {
    int line = (int)p->problem_mark.line + 1;
    const char *problem = p->problem ? p->problem : "malformed YAML";
    /* tabs are the most common cause: say so */
    bool tab = false;
    size_t cur = 0;
    for (size_t i = 0; i < len && cur <= p->problem_mark.line; i++) {
        if (cur == p->problem_mark.line && text[i] == '\t') tab = true;
        if (text[i] == '\n') cur++;
    }
    if (p->context)
        return cfg_err(err, line, "invalid YAML: %s %s%s", p->context, problem,
                       tab ? " (tabs are not allowed for indentation)" : "");
    return cfg_err(err, line, "invalid YAML: %s%s", problem,
                   tab ? " (tabs are not allowed for indentation)" : "");
}

static ls_code prescan(const char *text, size_t len, ls_err *err) {
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) return nomem(err);
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    yaml_parser_set_encoding(&p, YAML_UTF8_ENCODING);
    ls_code rc = LS_OK;
    size_t depth = 0, nodes = 0;
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            rc = yaml_problem(&p, err, text, len);
            break;
        }
        yaml_event_type_t t = ev.type;
        int line = (int)ev.start_mark.line + 1;
        yaml_event_delete(&ev);
        if (t == YAML_STREAM_END_EVENT) break;
        if (t == YAML_SEQUENCE_START_EVENT || t == YAML_MAPPING_START_EVENT) {
            if (++depth > LSCFG_MAX_DEPTH) {
                rc = cfg_err(err, line, "document nesting is too deep (more than %d levels)",
                             LSCFG_MAX_DEPTH);
                break;
            }
        } else if (t == YAML_SEQUENCE_END_EVENT || t == YAML_MAPPING_END_EVENT) {
            if (depth > 0) depth--;
        }
        if (t == YAML_SCALAR_EVENT || t == YAML_ALIAS_EVENT || t == YAML_SEQUENCE_START_EVENT ||
            t == YAML_MAPPING_START_EVENT) {
            if (++nodes > LSCFG_MAX_NODES) {
                rc = cfg_err(err, line, "document has too many nodes (more than %u)", LSCFG_MAX_NODES);
                break;
            }
        }
    }
    yaml_parser_delete(&p);
    return rc;
}

static ls_code parse_text(const char *text, size_t len, const char *source, bool expand_env,
                          ls_config **out, ls_err *err) {
    *out = NULL;
    if (len > LSCFG_MAX_FILE_SIZE)
        return cfg_err(err, 0, "%s is too large (%zu bytes; the limit is %u bytes)",
                       source && *source ? source : "document", len, LSCFG_MAX_FILE_SIZE);
    char *expanded = NULL;
    if (expand_env) {
        expanded = lscfg_expand_env_n(text, len, &len);
        if (!expanded) return nomem(err);
        text = expanded;
        if (len > LSCFG_MAX_FILE_SIZE) {
            free(expanded);
            return cfg_err(err, 0, "document is too large after environment expansion (%zu bytes)", len);
        }
    }
    ls_config *cfg = config_new(source);
    if (!cfg) {
        free(expanded);
        return nomem(err);
    }

    yaml_parser_t parser;
    yaml_document_t doc;
    bool have_doc = false;
    ls_code rc = LS_OK;
    if (!yaml_parser_initialize(&parser)) {
        free(expanded);
        ls_config_free(cfg);
        return nomem(err);
    }
    /* Pass 1: events only, to refuse absurd nesting / node counts before
     * libyaml builds a tree for them. */
    rc = prescan(text, len, err);
    if (rc) goto out;
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);
    if (!yaml_parser_load(&parser, &doc)) {
        rc = yaml_problem(&parser, err, text, len);
        goto out;
    }
    have_doc = true;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (root) {
        /* A second document would be silently ignored by the reference. */
        yaml_document_t doc2;
        if (!yaml_parser_load(&parser, &doc2)) {
            rc = yaml_problem(&parser, err, text, len);
            goto out;
        }
        yaml_node_t *root2 = yaml_document_get_root_node(&doc2);
        int line2 = root2 ? NLINE(root2) : 0;
        yaml_document_delete(&doc2);
        if (root2) {
            rc = cfg_err(err, line2, "multiple YAML documents are not supported (use one document)");
            goto out;
        }
        size_t nnodes = (size_t)(doc.nodes.top - doc.nodes.start);
        pctx c = {&doc, err, nnodes * 16 + 10000};
        rc = parse_top(&c, root, cfg);
        if (rc) goto out;
    }
    rc = finish(cfg, err);

out:
    if (have_doc) yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    free(expanded);
    if (rc) {
        ls_config_free(cfg);
        return rc;
    }
    *out = cfg;
    return LS_OK;
}

ls_code ls_config_parse_string(const char *yaml, const char *display_name, bool expand_env,
                               ls_config **out, ls_err *err) {
    if (!yaml) yaml = "";
    return parse_text(yaml, strlen(yaml), display_name, expand_env, out, err);
}

ls_code ls_config_load(const char *path, bool expand_env, ls_config **out, ls_err *err) {
    *out = NULL;
    if (!path || !*path) path = ls_config_default_path();
    char *abs = ls_expand_db_path(path);
    if (!abs) return nomem(err);
    if (!ls_path_exists(abs)) {
        ls_code rc = ls_err_set(err, LS_ERR_CONFIG, "config file not found: %s", abs);
        free(abs);
        return rc;
    }
    char *data = NULL;
    size_t len = 0;
    ls_err e;
    if (ls_read_file(abs, LSCFG_MAX_FILE_SIZE, &data, &len, &e) != LS_OK) {
        ls_code rc = ls_err_set(err, LS_ERR_CONFIG, "cannot read config file %s: %s", abs, e.msg);
        free(abs);
        return rc;
    }
    ls_code rc = parse_text(data, len, abs, expand_env, out, err);
    free(data);
    free(abs);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* URL mode (10.4)                                                           */

ls_code ls_config_from_url_mode(const char *db_path, const char *const *urls, size_t n,
                                ls_config **out, ls_err *err) {
    *out = NULL;
    if (!db_path || !*db_path) return ls_err_set(err, LS_ERR_CONFIG, "database path required");
    if (n == 0)
        return ls_err_set(err, LS_ERR_CONFIG, "must specify at least one replica URL for %s", db_path);
    for (size_t i = 0; i < n; i++)
        if (urls[i] && urls[i][0] == '-')
            return ls_err_set(err, LS_ERR_CONFIG,
                              "flag \"%s\" must be positioned before DB_PATH and REPLICA_URL arguments",
                              urls[i]);
    if (n > 1)
        return ls_err_set(err, LS_ERR_CONFIG,
                          "multiple replicas on a single database are no longer supported");
    ls_config *cfg = config_new("");
    if (!cfg) return nomem(err);
    ls_code rc = LS_OK;
    cfg->dbs = calloc(1, sizeof(ls_db_config));
    if (!cfg->dbs) {
        rc = nomem(err);
        goto fail;
    }
    cfg->ndbs = 1;
    ls_db_config *db = &cfg->dbs[0];
    db_init_defaults(db);
    db->path_raw.v = ls_strdup(db_path);
    db->path_raw.set = true;
    db->replica = calloc(1, sizeof(ls_replica_config));
    if (!db->path_raw.v || !db->replica) {
        rc = nomem(err);
        goto fail;
    }
    db->replica_from_list = true;
    ls_replica_config *r = db->replica;
    r->field = ls_strdup("replicas[0]");
    r->url.v = ls_strdup(urls[0] ? urls[0] : "");
    r->url.set = true;
    r->settings.sync_interval.set = true;
    r->settings.sync_interval.v = NS_SEC;
    if (!r->field || !r->url.v) {
        rc = nomem(err);
        goto fail;
    }
    db->path = ls_expand_db_path(db_path);
    if (!db->path) {
        rc = nomem(err);
        goto fail;
    }
    rc = lscfg_resolve_replica(r, err);
    if (rc) goto fail;
    *out = cfg;
    return LS_OK;
fail:
    ls_config_free(cfg);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Databases discovered under a directory entry (11.3)                       */

static ls_code copy_str_field(ls_cfg_str *dst, const ls_cfg_str *src) {
    *dst = *src;
    dst->v = NULL;
    if (src->v && !(dst->v = ls_strdup(src->v))) return LS_ERR_NOMEM;
    return LS_OK;
}

static ls_code copy_list_field(ls_cfg_strlist *dst, const ls_cfg_strlist *src) {
    memset(dst, 0, sizeof(*dst));
    if (!src->set && src->n == 0) return LS_OK;
    if (copy_list(dst, src)) return LS_ERR_NOMEM;
    dst->set = src->set;
    return LS_OK;
}

static ls_replica_config *replica_clone(const ls_replica_config *src) {
    ls_replica_config *r = calloc(1, sizeof(*r));
    if (!r) return NULL;
    r->line = src->line;
    bool oom = !(r->field = ls_strdup(src->field ? src->field : ""));
    oom |= copy_str_field(&r->type, &src->type) != LS_OK;
    oom |= copy_str_field(&r->url, &src->url) != LS_OK;
    oom |= copy_str_field(&r->path, &src->path) != LS_OK;
    oom |= copy_str_field(&r->name, &src->name) != LS_OK;
    r->settings = src->settings; /* scalars; pointers replaced below */
    for (const keydef *k = replica_setting_keys; k->name; k++) {
        char *dp = (char *)&r->settings + k->off;
        const char *sp = (const char *)&src->settings + k->off;
        if (k->t == T_STR) {
            ((ls_cfg_str *)dp)->v = NULL;
            oom |= copy_str_field((ls_cfg_str *)dp, (const ls_cfg_str *)sp) != LS_OK;
        } else if (k->t == T_STRLIST) {
            oom |= copy_list_field((ls_cfg_strlist *)dp, (const ls_cfg_strlist *)sp) != LS_OK;
        }
    }
    oom |= copy_list_field(&r->settings.age_identities, &src->settings.age_identities) != LS_OK;
    oom |= copy_list_field(&r->settings.age_recipients, &src->settings.age_recipients) != LS_OK;
    if (oom) {
        replica_free(r);
        return NULL;
    }
    return r;
}

/* Appends rel to the path of a URL, keeping the query: Go's
 * appendRelativePathToURL (result rooted, forward slashes). */
static char *url_append_path(const char *url, const char *rel) {
    const char *sep = strstr(url, "://");
    if (!sep) return NULL;
    const char *a = sep + 3;
    size_t alen = strcspn(a, "/?#");
    const char *p = a + alen;
    size_t plen = strcspn(p, "?#");
    char *base = plen ? ls_strfmt("%.*s", (int)plen, p) : ls_strdup("");
    if (!base) return NULL;
    char *joined = *base ? ls_strfmt("%s/%s", base, rel) : ls_strdup(rel);
    free(base);
    char *clean = joined ? ls_path_clean(joined) : NULL;
    free(joined);
    if (!clean) return NULL;
    const char *c = clean;
    while (*c == '/') c++;
    char *res = ls_strfmt("%.*s/%s%s", (int)(a + alen - url), url, c, p + plen);
    free(clean);
    return res;
}

void ls_db_config_free(ls_db_config *db) {
    if (!db) return;
    db_free_fields(db);
    free(db);
}

ls_code ls_config_dir_entry_db(const ls_db_config *de, const char *db_path, ls_db_config **out,
                               ls_err *err) {
    *out = NULL;
    if (!de || !de->dir || !db_path) return ls_err_set(err, LS_ERR_INVALID, "not a directory entry");
    char *abs = ls_expand_db_path(db_path);
    if (!abs) return nomem(err);
    size_t dl = strlen(de->dir);
    bool root = strcmp(de->dir, "/") == 0;
    if (!(root ? abs[0] == '/' && abs[1] : (strncmp(abs, de->dir, dl) == 0 && abs[dl] == '/' && abs[dl + 1]))) {
        ls_code rc = ls_err_set(err, LS_ERR_INVALID, "database %s is not under directory %s", abs, de->dir);
        free(abs);
        return rc;
    }
    const char *rel = abs + (root ? 1 : dl + 1);

    ls_db_config *db = calloc(1, sizeof(*db));
    if (!db) {
        free(abs);
        return nomem(err);
    }
    *db = *de; /* scalars; owned pointers replaced below */
    db->path = abs;
    db->dir = NULL;
    db->replica = NULL;
    memset(&db->dir_raw, 0, sizeof(db->dir_raw));
    memset(&db->pattern, 0, sizeof(db->pattern));
    memset(&db->meta_dir, 0, sizeof(db->meta_dir));
    memset(&db->meta_path, 0, sizeof(db->meta_path));
    db->recursive = (ls_cfg_bool){0};
    db->watch = (ls_cfg_bool){0};
    db->path_raw = (ls_cfg_str){true, de->dir_raw.line, ls_strdup(abs)};
    ls_code rc = LS_OK;
    if (!db->path_raw.v) rc = nomem(err);
    if (rc == LS_OK && (de->meta_dir.set || de->meta_path.set)) {
        db->meta_path.v = ls_config_dir_entry_meta_path(de, rel);
        db->meta_path.set = true;
        db->meta_path.line = de->meta_dir.set ? de->meta_dir.line : de->meta_path.line;
        if (!db->meta_path.v) rc = nomem(err);
    }
    if (rc == LS_OK && de->replica) {
        ls_replica_config *r = replica_clone(de->replica);
        if (!r) rc = nomem(err);
        db->replica = r;
        if (rc == LS_OK && r->url.v && r->url.v[0]) {
            char *u = url_append_path(r->url.v, rel);
            if (!u) rc = cfg_err(err, r->url.line, "%s.url: cannot append %s to the replica URL", r->field, QV(rel));
            else {
                free(r->url.v);
                r->url.v = u;
            }
        } else if (rc == LS_OK) {
            char *np = (r->path.v && r->path.v[0]) ? ls_strfmt("%s/%s", r->path.v, rel) : ls_strdup(rel);
            char *cp = np ? ls_path_clean(np) : NULL;
            free(np);
            if (!cp) rc = nomem(err);
            else {
                free(r->path.v);
                r->path.v = cp;
                r->path.set = true;
            }
        }
        if (rc == LS_OK) rc = lscfg_resolve_replica(r, err);
    }
    if (rc) {
        ls_db_config_free(db);
        return rc;
    }
    *out = db;
    return LS_OK;
}
