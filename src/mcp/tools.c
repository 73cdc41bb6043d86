/*
 * mcp/tools.c — the MCP tools: one table (name, title, description, input
 * schema, output schema, annotations, handler) and the handlers, which call
 * the same engine functions as the CLI.
 *
 * Argument spellings of both Litestream documents are accepted: `path` or
 * `database`, `o` or `output`. Arguments are checked against the published
 * input schema first (unknown names, wrong types, bad patterns, bad
 * timestamps -> JSON-RPC -32602); problems found while running (no backups,
 * output exists, timestamp before the first backup ...) are tool errors
 * whose message says what to do.
 *
 * Output keys cover both documents: info {version, config_path, databases},
 * databases {databases[].path, replica{type,url,status}, replicas[]{name,
 * type,url}}, ltx {files[] and ltx_files[] with level, min_txid, max_txid,
 * size, created_at, plus generation/index for v0.3 entries}, snapshots
 * {snapshots[] with txid, size, created_at}, restore {restored_path, txid,
 * size}. TXIDs are 16-digit hex strings.
 */
#include <dirent.h>
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine/legacy.h"
#include "engine/restore.h"
#include "engine/store.h"
#include "ltx/ltx.h"
#include "mcp/mcp_internal.h"
#include "mcp/mcp_state.h"
#include "storage/legacy.h"
#include "storage/ltxfiles.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/version.h"

/* ---- schema fragments ------------------------------------------------- */

#define P_PATH                                                                                 \
    "\"path\":{\"type\":\"string\",\"description\":\"Database path as written in the config "  \
    "(e.g. /var/lib/app.db) or a replica URL (file:///backups/app, s3://bucket/app)\"},"       \
    "\"database\":{\"type\":\"string\",\"description\":\"Same as path (alternative spelling)\"},"
#define P_CONFIG                                                                               \
    "\"config\":{\"type\":\"string\",\"description\":\"Path of the litestream.yml to read "    \
    "(default: the server's configuration)\"},"
#define P_REPLICA                                                                              \
    "\"replica\":{\"type\":\"string\",\"description\":\"Name or type of the replica to use "   \
    "(default: the database's first replica)\"},"
#define P_GENERATION                                                                           \
    "\"generation\":{\"type\":\"string\",\"pattern\":\"^[0-9a-f]{16}$\",\"description\":"     \
    "\"v0.3 generation (16 hex digits) to filter by\"},"
#define P_LIMIT                                                                                \
    "\"limit\":{\"type\":[\"integer\",\"string\"],\"minimum\":1,\"pattern\":\"^[0-9]+$\","     \
    "\"description\":\"Maximum number of entries to return (first in listing order)\"},"
#define P_INDEX                                                                                \
    "\"index\":{\"type\":[\"integer\",\"string\"],\"minimum\":0,\"maximum\":4294967295,"         \
    "\"pattern\":\"^[0-9a-fA-F]{1,8}$\",\"description\":\"v0.3 WAL index (integer, or hex "      \
    "string as v0.3 prints it, e.g. 0000001f)\"},"

#define HEX16 "{\"type\":\"string\",\"pattern\":\"^[0-9a-f]{16}$\"}"
#define TIME_OR_NULL "{\"type\":[\"string\",\"null\"]}"

/* Storage requests of a replica since `since` (live in `replicate`, else as
 * it last persisted them; null when unknown). */
#define REQUESTS_OBJ                                                                           \
    "{\"type\":[\"object\",\"null\"],\"properties\":{\"put\":{\"type\":\"integer\"},\"get\":{"   \
    "\"type\":\"integer\"},\"list\":{\"type\":\"integer\"},\"delete\":{\"type\":\"integer\"},"    \
    "\"head\":{\"type\":\"integer\"}}}"

#define REPLICA_OBJ                                                                            \
    "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},\"type\":{\"type\":"  \
    "\"string\"},\"url\":{\"type\":\"string\"},\"status\":{\"type\":\"string\",\"enum\":["     \
    "\"syncing\",\"idle\",\"error\",\"stopped\"]},\"txid\":" HEX16 ",\"last_sync_at\":"        \
    TIME_OR_NULL ",\"error\":{\"type\":\"string\"},\"requests\":" REQUESTS_OBJ ",\"since\":"    \
    TIME_OR_NULL ",\"updated_at\":" TIME_OR_NULL "},\"required\":[\"name\",\"type\",\"url\"]}"

#define DB_ENTRY                                                                               \
    "{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\"},\"database\":{"       \
    "\"type\":\"string\"},\"status\":{\"type\":\"string\",\"enum\":[\"syncing\",\"idle\","     \
    "\"error\",\"stopped\"]},\"replicating\":{\"type\":\"boolean\"},\"exists\":{\"type\":"     \
    "\"boolean\"},\"local_status\":{\"type\":\"string\"},\"local_txid\":" HEX16               \
    ",\"remote_txid\":" HEX16 ",\"replication_lag\":{\"type\":\"object\",\"properties\":{"     \
    "\"txids\":{\"type\":\"integer\"},\"seconds\":{\"type\":\"number\"}}},\"last_sync_at\":"  \
    TIME_OR_NULL ",\"wal_size\":{\"type\":\"integer\"},\"db_size\":{\"type\":\"integer\"},"   \
    "\"meta_path\":{\"type\":\"string\"},\"replica\":" REPLICA_OBJ ",\"replicas\":{\"type\":"  \
    "\"array\",\"items\":" REPLICA_OBJ "}},\"required\":[\"path\",\"status\",\"replicas\"]}"

#define FILE_ENTRY                                                                             \
    "{\"type\":\"object\",\"properties\":{\"level\":{\"type\":\"integer\"},\"min_txid\":"      \
    HEX16 ",\"max_txid\":" HEX16 ",\"size\":{\"type\":\"integer\"},\"created_at\":{\"type\":"  \
    "\"string\"},\"generation\":{\"type\":\"string\"},\"index\":{\"type\":\"integer\"},"       \
    "\"offset\":{\"type\":\"integer\"},\"kind\":{\"type\":\"string\"}},\"required\":["         \
    "\"size\",\"created_at\"]}"

#define SOURCE_PROPS                                                                           \
    "\"source\":{\"type\":\"string\"},\"replica\":{\"type\":\"object\",\"properties\":{"       \
    "\"name\":{\"type\":\"string\"},\"type\":{\"type\":\"string\"},\"url\":{\"type\":"         \
    "\"string\"}}},"

/* ---- argument validation ---------------------------------------------- */

static bool type_matches(const char *type, json_t *v) {
    if (strcmp(type, "string") == 0) return json_is_string(v);
    if (strcmp(type, "integer") == 0) return json_is_integer(v);
    if (strcmp(type, "number") == 0) return json_is_number(v);
    if (strcmp(type, "boolean") == 0) return json_is_boolean(v);
    if (strcmp(type, "object") == 0) return json_is_object(v);
    if (strcmp(type, "array") == 0) return json_is_array(v);
    if (strcmp(type, "null") == 0) return json_is_null(v);
    return false;
}

static const char *json_type_name(json_t *v) {
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER: return "integer";
    case JSON_REAL: return "number";
    case JSON_TRUE:
    case JSON_FALSE: return "boolean";
    default: return "null";
    }
}

static bool check_prop(const char *name, json_t *schema, json_t *v, char *msg, size_t n) {
    json_t *type = json_object_get(schema, "type");
    bool ok = false;
    char want[64] = "";
    if (json_is_string(type)) {
        ok = type_matches(json_string_value(type), v);
        snprintf(want, sizeof(want), "%s", json_string_value(type));
        /* Booleans may also be given as "true"/"false". */
        if (!ok && strcmp(json_string_value(type), "boolean") == 0 && json_is_string(v) &&
            (strcmp(json_string_value(v), "true") == 0 || strcmp(json_string_value(v), "false") == 0))
            ok = true;
    } else if (json_is_array(type)) {
        size_t i;
        json_t *t;
        json_array_foreach(type, i, t) {
            if (type_matches(json_string_value(t), v)) ok = true;
            size_t l = strlen(want);
            snprintf(want + l, sizeof(want) - l, "%s%s", i ? " or " : "", json_string_value(t));
        }
    } else {
        ok = true;
    }
    if (!ok) {
        snprintf(msg, n, "argument \"%s\" must be of type %s (got %s)", name, want, json_type_name(v));
        return false;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        json_t *pat = json_object_get(schema, "pattern");
        if (json_is_string(pat)) {
            regex_t re;
            if (regcomp(&re, json_string_value(pat), REG_EXTENDED | REG_NOSUB) == 0) {
                int rc = regexec(&re, s, 0, NULL, 0);
                regfree(&re);
                if (rc != 0) {
                    snprintf(msg, n, "argument \"%s\" has an invalid value \"%.80s\" (must match %s)",
                             name, s, json_string_value(pat));
                    return false;
                }
            }
        }
        json_t *en = json_object_get(schema, "enum");
        if (json_is_array(en)) {
            bool found = false;
            size_t i;
            json_t *e;
            json_array_foreach(en, i, e) if (json_is_string(e) && strcmp(json_string_value(e), s) == 0) found = true;
            if (!found) {
                char *list = json_dumps(en, JSON_COMPACT);
                snprintf(msg, n, "argument \"%s\" must be one of %s (got \"%.80s\")", name,
                         list ? list : "", s);
                free(list);
                return false;
            }
        }
        const char *fmt = json_string_value(json_object_get(schema, "format"));
        if (fmt && strcmp(fmt, "date-time") == 0) {
            int64_t ns;
            if (ls_parse_rfc3339(s, &ns, NULL) != LS_OK) {
                snprintf(msg, n,
                         "argument \"%s\" must be an RFC 3339 timestamp such as "
                         "2025-01-15T10:00:00Z (got \"%.80s\")",
                         name, s);
                return false;
            }
        }
    }
    if (json_is_integer(v)) {
        json_int_t x = json_integer_value(v);
        json_t *mn = json_object_get(schema, "minimum"), *mx = json_object_get(schema, "maximum");
        if ((json_is_integer(mn) && x < json_integer_value(mn)) ||
            (json_is_integer(mx) && x > json_integer_value(mx))) {
            snprintf(msg, n, "argument \"%s\" is out of range (got %lld)", name, (long long)x);
            return false;
        }
    }
    return true;
}

bool ls_mcp_tool_check_args(ls_mcp *m, const ls_mcp_tool *t, json_t *args, char *msg, size_t n) {
    size_t idx = (size_t)(t - ls_mcp_tools);
    json_t *schema = idx < 16 ? m->in_schemas[idx] : NULL;
    if (!schema) {
        snprintf(msg, n, "internal error: no schema");
        return false;
    }
    json_t *props = json_object_get(schema, "properties");
    const char *key;
    json_t *v;
    if (args) {
        json_object_foreach(args, key, v) {
            json_t *ps = json_object_get(props, key);
            if (!ps) {
                char names[400] = "";
                size_t len = 0;
                const char *k2;
                json_t *v2;
                json_object_foreach(props, k2, v2) {
                    int w = snprintf(names + len, sizeof(names) - len, "%s%s", len ? ", " : "", k2);
                    if (w < 0 || (size_t)w >= sizeof(names) - len) break;
                    len += (size_t)w;
                }
                snprintf(msg, n, "unknown argument \"%.64s\" (accepted: %s)", key,
                         *names ? names : "none");
                return false;
            }
            if (!check_prop(key, ps, v, msg, n)) return false;
        }
    }
    json_t *req = json_object_get(schema, "required");
    size_t i;
    json_array_foreach(req, i, v) {
        if (!args || !json_object_get(args, json_string_value(v))) {
            snprintf(msg, n, "missing required argument \"%s\"", json_string_value(v));
            return false;
        }
    }
    return true;
}

/* ---- argument access -------------------------------------------------- */

static void invalid(ls_mcp_tool_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void invalid(ls_mcp_tool_result *r, const char *fmt, ...) {
    r->status = LS_MCP_TOOL_INVALID;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
    va_end(ap);
}

static void fail(ls_mcp_tool_result *r, ls_code code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(ls_mcp_tool_result *r, ls_code code, const char *fmt, ...) {
    r->status = LS_MCP_TOOL_ERROR;
    r->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
    va_end(ap);
}

static void ok(ls_mcp_tool_result *r, json_t *v) {
    if (!v) {
        fail(r, LS_ERR_NOMEM, "out of memory");
        return;
    }
    r->status = LS_MCP_TOOL_OK;
    r->value = v;
}

static const char *arg_string(json_t *args, const char *name) {
    return json_string_value(json_object_get(args, name));
}

/* Value of one of two spellings; both given and different -> invalid. */
static bool arg_alias(json_t *args, const char *a, const char *b, const char **out,
                      ls_mcp_tool_result *r) {
    const char *va = arg_string(args, a), *vb = arg_string(args, b);
    if (va && vb && strcmp(va, vb) != 0) {
        invalid(r, "arguments \"%s\" and \"%s\" are the same setting; give only one", a, b);
        return false;
    }
    *out = va ? va : vb;
    return true;
}

static bool arg_present(json_t *args, const char *name) { return json_object_get(args, name) != NULL; }

static bool arg_bool(json_t *args, const char *name) {
    json_t *v = json_object_get(args, name);
    if (json_is_boolean(v)) return json_is_true(v);
    return json_is_string(v) && strcmp(json_string_value(v), "true") == 0;
}

/* Integer or decimal string (validated by the schema). */
static bool arg_int(json_t *args, const char *name, long long *out) {
    json_t *v = json_object_get(args, name);
    if (json_is_integer(v)) {
        *out = (long long)json_integer_value(v);
        return true;
    }
    if (json_is_string(v)) {
        char *end;
        errno = 0;
        long long x = strtoll(json_string_value(v), &end, 10);
        if (errno || *end || end == json_string_value(v)) return false;
        *out = x;
        return true;
    }
    return false;
}

static bool need_path(json_t *args, const char **path, ls_mcp_tool_result *r) {
    if (!arg_alias(args, "path", "database", path, r)) return false;
    if (!*path || !**path) {
        invalid(r, "missing required argument \"path\" (or \"database\"): a database path from "
                   "the config or a replica URL");
        return false;
    }
    return true;
}

static void target_fail(ls_mcp_tool_result *r, const ls_err *e) {
    fail(r, e->code, "%s", e->msg);
}

static json_t *source_json(const ls_mcp_target *t) {
    return json_pack("{s:s,s:s,s:s}", "name", t->replica_name ? t->replica_name : "", "type",
                     t->type ? t->type : "", "url", t->url ? t->url : "");
}

static json_t *hex_json(uint64_t v) {
    char h[17];
    ls_mcp_hex16(v, h);
    return json_string(h);
}

static json_t *time_str(int64_t ns) {
    char buf[64];
    ls_format_rfc3339_nano(ns, buf, sizeof(buf));
    return json_string(buf);
}

/* ---- litestream_version ----------------------------------------------- */

static void tool_version(ls_mcp_call *c, json_t *args, ls_mcp_tool_result *r) {
    (void)c;
    (void)args;
    ok(r, json_pack("{s:s,s:s,s:s}", "version", ls_version(), "sqlite_version", ls_sqlite_version(),
                    "compiler", ls_compiler_version()));
}

/* ---- litestream_info -------------------------------------------------- */

static void tool_info(ls_mcp_call *c, json_t *args, ls_mcp_tool_result *r) {
    ls_mcp *m = c->m;
    ls_mcp_cfg cfg;
    ls_err e;
    ls_err_clear(&e);
    const char *cpath = arg_string(args, "config");
    json_t *o = json_object();
    int64_t ndb = -1;
    if (ls_mcp_config_acquire(m, cpath, &cfg, &e) == LS_OK) {
        ndb = (int64_t)cfg.cfg->ndbs;
        json_object_set_new(o, "config_path", json_string(cfg.path));
        ls_mcp_config_release(m, &cfg);
    } else {
        json_object_set_new(o, "config_path", json_string(cpath && *cpath ? cpath : (*m->config_path ? m->config_path : ls_config_default_path())));
        json_object_set_new(o, "config_error", json_string(e.msg));
    }
    if ((!cpath || !*cpath) && m->store) ndb = (int64_t)ls_store_db_count(m->store);
    if (ndb < 0) ndb = 0;
    json_object_set_new(o, "version", json_string(ls_version()));
    json_object_set_new(o, "databases", json_integer(ndb));
    json_object_set_new(o, "database_count", json_integer(ndb));
    int64_t up = ls_monotonic_ns() - m->started_mono_ns;
    json_object_set_new(o, "uptime_seconds", json_real((double)up / 1e9));
    char d[64];
    ls_format_duration(up / LS_NS_PER_SEC * LS_NS_PER_SEC, d, sizeof(d));
    json_object_set_new(o, "uptime", json_string(d));
    json_object_set_new(o, "started_at", time_str(m->started_ns));
    json_object_set_new(o, "pid", json_integer(getpid()));
    json_object_set_new(o, "mcp_addr", json_string(m->addr));
    json_object_set_new(o, "read_only", json_boolean(m->read_only));
    json_object_set_new(o, "auth_required", json_boolean(m->token != NULL));
    json_object_set_new(o, "replicating", json_boolean(m->store != NULL));
    json_t *dirs = json_array();
    for (size_t i = 0; i < m->nrestore_dirs; i++) json_array_append_new(dirs, json_string(m->restore_dirs[i]));
    json_object_set_new(o, "restore_dirs", dirs);
    json_object_set_new(o, "server", json_pack("{s:s,s:s}", "name", LS_MCP_SERVER_NAME, "version", ls_version()));
    json_object_set_new(o, "protocol_versions",
                        json_pack("[s,s,s,s]", "2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"));
    ok(r, o);
}

/* ---- litestream_databases / litestream_status ------------------------- */

static void list_dbs(ls_mcp_call *c, json_t *args, ls_mcp_tool_result *r, bool filter) {
    ls_mcp *m = c->m;
    const char *path = NULL;
    if (filter && !arg_alias(args, "path", "database", &path, r)) return;
    ls_mcp_cfg cfg;
    ls_err e;
    ls_err_clear(&e);
    if (ls_mcp_config_acquire(m, arg_string(args, "config"), &cfg, &e) != LS_OK) {
        fail(r, e.code, "%s (pass `config` with the path of litestream.yml)", e.msg);
        return;
    }
    char *want = path && *path ? ls_expand_db_path(path) : NULL;
    json_t *arr = json_array();
    for (size_t i = 0; i < cfg.cfg->ndbs; i++) {
        const ls_db_config *db = &cfg.cfg->dbs[i];
        if (want && (!db->path || (strcmp(db->path, want) != 0 && strcmp(db->path, path) != 0)))
            continue;
        if (atomic_load(&c->cancel)) break;
        json_array_append_new(arr, ls_mcp_db_entry(m, &cfg, db, true));
    }
    if (atomic_load(&c->cancel)) {
        r->status = LS_MCP_TOOL_CANCELLED;
        json_decref(arr);
    } else if (want && json_array_size(arr) == 0) {
        char list[800] = "";
        size_t len = 0;
        for (size_t i = 0; i < cfg.cfg->ndbs && len + 8 < sizeof(list); i++) {
            if (!cfg.cfg->dbs[i].path) continue;
            int w = snprintf(list + len, sizeof(list) - len, "%s%s", len ? ", " : "", cfg.cfg->dbs[i].path);
            if (w < 0) break;
            len += (size_t)w;
        }
        fail(r, LS_ERR_NOTFOUND, "database not found in config: %s (config %s lists: %s)", want,
             cfg.path, *list ? list : "no databases");
        json_decref(arr);
    } else {
        json_t *o = json_pack("{s:o,s:I,s:s}", "databases", arr, "count",
                              (json_int_t)json_array_size(arr), "config_path", cfg.path);
        ok(r, o);
    }
    free(want);
    ls_mcp_config_release(m, &cfg);
}

static void tool_databases(ls_mcp_call *c, json_t *args, ls_mcp_tool_result *r) { list_dbs(c, args, r, false); }
static void tool_status(ls_mcp_call *c, json_t *args, ls_mcp_tool_result *r) { list_dbs(c, args, r, true); }

/* ---- litestream_ltx --------------------------------------------------- */

static json_t *ltx_entry(const ls_ltx_file *f) {
    return json_pack("{s:i,s:o,s:o,s:I,s:o}", "level", f->level, "min_txid", hex_json(f->min_txid),
                     "max_txid", hex_json(f->max_txid), "size", (json_int_t)f->size, "created_at",
                     time_str(f->created_at_ns));
}

/* index: an integer, or 1-8 hex digits as v0.3 wrote it ("0000001f"). */
static bool parse_index(json_t *args, long long *out) {
    json_t *v = json_object_get(args, "index");
    if (!v) return false;
    if (json_is_integer(v)) {
        *out = (long long)json_integer_value(v);
        return true;
    }
    const char *s = json_string_value(v);
    if (!s) return false;
    *out = strtoll(s, NULL, 16);
    return true;
}

static void tool_ltx(ls_mcp_call *c, json_t *args, ls_mcp_tool_result *r) {
    const char *path;
    if (!need_path(args, &path, r)) return;
    int lo = 0, hi = LS_LTX_MAX_LEVEL;
    bool level_given = arg_present(args, "level");
    if (level_given) {
        json_t *lv = json_object_get(args, "level");
        long long l;
        if (json_is_string(lv) && strcmp(json_string_value(lv), "all") == 0) {
            level_given = false;
        } else if (arg_int(args, "level", &l) && l >= 0 && l <= LS_LTX_MAX_LEVEL) {
            lo = hi = (int)l;
        } else {
            invalid(r, "argument \"level\" must be 0-9 or \"all\"");
            return;
        }
    }
    long long limit = 0;
    if (arg_present(args, "limit") && (!arg_int(args, "limit", &limit) || limit < 1)) {
        invalid(r, "argument \"limit\" must be a positive integer");
        return;
    }
    const char *gen = arg_string(args, "generation");
    long long want_index = -1;
    bool index_given = parse_index(args, &want_index);

    ls_mcp_target t;
    ls_err e;
    ls_err_clear(&e);
    if (ls_mcp_target_open(c->m, path, arg_string(args, "config"), arg_string(args, "replica"), &t, &e) != LS_OK) {
        target_fail(r, &e);
        ls_mcp_target_close(c->m, &t);
        return;
    }
    json_t *files = json_array();
    size_t total = 0;
    ls_code rc = LS_OK;
    /* LTX files (unless only v0.3 entries were asked for). */
    if (!gen && !index_given) {
        for (int l = lo; l <= hi && rc == LS_OK; l++) {
            ls_ltx_file_list list;
            rc = ls_ltx_list(t.st, l, 0, false, &list, &e);
            for (size_t i = 0; rc == LS_OK && i < list.n; i++) {
                total++;
                if (limit && json_array_size(files) >= (size_t)limit) continue;
                json_array_append_new(files, ltx_entry(&list.items[i]));
            }
            ls_ltx_file_list_free(&list);
            if (atomic_load(&c->cancel)) rc = LS_ERR_CANCELED;
        }
    }
    /* v0.3 generations: their snapshots and WAL segments. */
    bool v3 = false;
    if (rc == LS_OK && (!level_given || gen || index_given)) {
        ls_v3_generation_list gens;
        rc = ls_v3_list_generations(t.st, &gens, &e);
        for (size_t g = 0; rc == LS_OK && g < gens.n; g++) {
            if (gen && strcmp(gen, gens.items[g].name) != 0) continue;
            v3 = true;
            ls_v3_snapshot_list snaps;
            ls_v3_segment_list segs;
            rc = ls_v3_list_snapshots(t.st, gens.items[g].name, &snaps, &e);
            if (rc != LS_OK) break;
            rc = ls_v3_list_segments(t.st, gens.items[g].name, &segs, &e);
            for (size_t i = 0; rc == LS_OK && i < snaps.n; i++) {
                const ls_v3_snapshot *s = &snaps.items[i];
                if (index_given && (long long)s->index != want_index) continue;
                total++;
                if (limit && json_array_size(files) >= (size_t)limit) continue;
                json_array_append_new(files, json_pack("{s:s,s:s,s:I,s:I,s:o}", "kind", "snapshot",
                                                       "generation", s->generation, "index",
                                                       (json_int_t)s->index, "size", (json_int_t)s->size,
                                                       "created_at", time_str(s->created_at_ns)));
            }
            for (size_t i = 0; rc == LS_OK && i < segs.n; i++) {
                const ls_v3_segment *s = &segs.items[i];
                if (index_given && (long long)s->index != want_index) continue;
                total++;
                if (limit && json_array_size(files) >= (size_t)limit) continue;
                json_array_append_new(files, json_pack("{s:s,s:s,s:I,s:I,s:I,s:o}", "kind", "wal",
                                                       "generation", s->generation, "index",
                                                       (json_int_t)s->index, "offset", (json_int_t)s->offset,
                                                       "size", (json_int_t)s->size, "created_at",
                                                       time_str(s->created_at_ns)));
            }
            ls_v3_snapshot_list_free(&snaps);
            ls_v3_segment_list_free(&segs);
        }
        ls_v3_generation_list_free(&gens);
        if (rc == LS_OK && gen && !v3) {
            fail(r, LS_ERR_NOTFOUND,
                 "generation %s not found on replica %s; call litestream_generations to list them",
                 gen, t.url);
            json_decref(files);
            ls_mcp_target_close(c->m, &t);
            return;
        }
    }
    if (rc == LS_ERR_CANCELED) {
        r->status = LS_MCP_TOOL_CANCELLED;
        json_decref(files);
    } else if (rc != LS_OK) {
        fail(r, e.code, "listing replica %s failed: %s", t.url, e.msg);
        json_decref(files);
    } else {
        json_t *o = json_object();
        json_object_set(o, "files", files);
        json_object_set_new(o, "ltx_files", files);
        json_object_set_new(o, "count", json_integer((json_int_t)json_array_size(files)));
        json_object_set_new(o, "total", json_integer((json_int_t)total));
        json_object_set_new(o, "truncated", json_boolean(json_array_size(files) < total));
        json_object_set_new(o, "source", json_string(t.is_url ? t.url : t.db_path));
        json_object_set_new(o, "replica", source_json(&t));
        if (total == 0)
            json_object_set_new(o, "note", json_string("no backup files yet: the replica is empty "
                                                       "(is `litestream replicate` running?)"));
        ok(r, o);
    }
    ls_mcp_target_close(c->m, &t);
}

/* ---- litestream_snapshots --------------------------------------------- */

static void tool_snapshots(ls_mcp_call *c, json_t *args, ls_mcp_tool_result *r) {
    const char *path;
    if (!need_path(args, &path, r)) return;
    long long limit = 0;
    if (arg_present(args, "limit") && (!arg_int(args, "limit", &limit) || limit < 1)) {
        invalid(r, "argument \"limit\" must be a positive integer");
        return;
    }
    const char *gen = arg_string(args, "generation");
    ls_mcp_target t;
    ls_err e;
    ls_err_clear(&e);
    if (ls_mcp_target_open(c->m, path, arg_string(args, "config"), arg_string(args, "replica"), &t, &e) != LS_OK) {
        target_fail(r, &e);
        ls_mcp_target_close(c->m, &t);
        return;
    }
    json_t *arr = json_array();
    size_t total = 0;
    ls_code rc = LS_OK;
    if (!gen) {
        ls_ltx_file_list list;
        rc = ls_ltx_list(t.st, LS_LTX_SNAPSHOT_LEVEL, 0, false, &list, &e);
        for (size_t i = 0; rc == LS_OK && i < list.n; i++) {
            const ls_ltx_file *f = &list.items[i];
            total++;
            if (limit && json_array_size(arr) >= (size_t)limit) continue;
            json_array_append_new(arr, json_pack("{s:o,s:o,s:o,s:i,s:I,s:o}", "txid", hex_json(f->max_txid),
                                                 "min_txid", hex_json(f->min_txid), "max_txid",
                                                 hex_json(f->max_txid), "level", f->level, "size",
                                                 (json_int_t)f->size, "created_at", time_str(f->created_at_ns)));
        }
        ls_ltx_file_list_free(&list);
    }
    if (rc == LS_OK) {
        ls_v3_snapshot_list snaps;
        rc = ls_v3_list_all_snapshots(t.st, &snaps, &e);
        for (size_t i = 0; rc == LS_OK && i < snaps.n; i++) {
            const ls_v3_snapshot *s = &snaps.items[i];
            if (gen && strcmp(gen, s->generation) != 0) continue;
            total++;
            if (limit && json_array_size(arr) >= (size_t)limit) continue;
            json_array_append_new(arr, json_pack("{s:s,s:I,s:I,s:o}", "generation", s->generation, "index",
                                                 (json_int_t)s->index, "size", (json_int_t)s->size,
                                                 "created_at", time_str(s->created_at_ns)));
        }
        ls_v3_snapshot_list_free(&snaps);
    }
    if (rc != LS_OK) {
        fail(r, e.code, "listing replica %s failed: %s", t.url, e.msg);
        json_decref(arr);
    } else {
        json_t *o = json_pack("{s:o,s:I,s:I,s:b,s:s,s:o}", "snapshots", arr, "count",
                              (json_int_t)json_array_size(arr), "total", (json_int_t)total, "truncated",
                              json_array_size(arr) < total, "source", t.is_url ? t.url : t.db_path,
                              "replica", source_json(&t));
        if (o && total == 0)
            json_object_set_new(o, "note", json_string("no snapshots yet: litestream writes one per "
                                                       "snapshot interval (default 24h) and at the "
                                                       "first sync"));
        ok(r, o);
    }
    ls_mcp_target_close(c->m, &t);
}

/* ---- litestream_generations ------------------------------------------- */

static void tool_generations(ls_mcp_call *c, json_t *args, ls_mcp_tool_result *r) {
    const char *path;
    if (!need_path(args, &path, r)) return;
    ls_mcp_target t;
    ls_err e;
    ls_err_clear(&e);
    if (ls_mcp_target_open(c->m, path, arg_string(args, "config"), arg_string(args, "replica"), &t, &e) != LS_OK) {
        target_fail(r, &e);
        ls_mcp_target_close(c->m, &t);
        return;
    }
    json_t *arr = json_array();
    ls_v3_generation_info_list gens = {0};
    ls_code rc = ls_v3_list_generation_infos(t.st, &gens, &e);
    for (size_t g = 0; rc == LS_OK && g < gens.n; g++) {
        const ls_v3_generation_info *gi = &gens.items[g];
        json_t *o = json_pack("{s:s,s:s,s:I,s:I,s:I,s:o,s:o,s:I,s:I,s:b}", "generation", gi->name,
                              "name", gi->name, "snapshots", (json_int_t)gi->snapshots,
                              "wal_segments", (json_int_t)gi->segments, "size", (json_int_t)gi->size,
                              "created_at", ls_mcp_time_json(gi->first_ns), "updated_at",
                              ls_mcp_time_json(gi->last_ns), "min_index", (json_int_t)gi->min_index,
                              "max_index", (json_int_t)gi->max_index, "current", gi->current);
        json_array_append_new(arr, o);
    }
    ls_v3_generation_info_list_free(&gens);
    if (rc != LS_OK) {
        fail(r, e.code, "listing replica %s failed: %s", t.url, e.msg);
        json_decref(arr);
    } else {
        json_t *o = json_pack("{s:o,s:I,s:s,s:o}", "generations", arr, "count",
                              (json_int_t)json_array_size(arr), "source", t.is_url ? t.url : t.db_path,
                              "replica", source_json(&t));
        if (o && json_array_size(arr) == 0)
            json_object_set_new(o, "note", json_string("no v0.3 generations on this replica: v0.5 "
                                                       "replaced generations with LTX levels (see "
                                                       "litestream_ltx and litestream_snapshots)"));
        ok(r, o);
    }
    ls_mcp_target_close(c->m, &t);
}

/* ---- litestream_restore ----------------------------------------------- */

typedef struct progress_ctx {
    ls_mcp_call *c;
    int delay_ms;
} progress_ctx;

static void restore_progress(void *ctx, uint64_t done, uint64_t total) {
    progress_ctx *p = ctx;
    char msg[128];
    snprintf(msg, sizeof(msg), "restored %.1f of %.1f MiB", (double)done / 1048576.0,
             (double)total / 1048576.0);
    ls_mcp_call_progress(p->c, (double)done, (double)total, msg, done == total);
    if (p->delay_ms > 0 && done < total && !atomic_load(&p->c->cancel)) {
        struct timespec ts = {p->delay_ms / 1000, (long)(p->delay_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static json_t *plan_files_json(const ls_restore_plan *plan, int64_t *bytes) {
    json_t *files = json_array();
    *bytes = 0;
    for (size_t i = 0; i < plan->n; i++) {
        const ls_restore_file *f = &plan->files[i];
        char name[LTX_FILENAME_MAX];
        ltx_format_filename(f->min_txid, f->max_txid, name);
        *bytes += f->size;
        json_array_append_new(files, json_pack("{s:i,s:s,s:o,s:o,s:I,s:o}", "level", f->level, "name",
                                               name, "min_txid", hex_json(f->min_txid), "max_txid",
                                               hex_json(f->max_txid), "size", (json_int_t)f->size,
                                               "created_at", time_str(f->created_at_ns)));
    }
    return files;
}

static void fmt_time(int64_t ns, char *buf, size_t n) { ls_format_rfc3339(ns, buf, n); }

static json_t *v3_entry(const char *kind, const ls_v3_snapshot *sn, const ls_v3_segment *sg) {
    if (sn)
        return json_pack("{s:s,s:s,s:I,s:I,s:o}", "kind", kind, "generation", sn->generation, "index",
                         (json_int_t)sn->index, "size", (json_int_t)sn->size, "created_at",
                         time_str(sn->created_at_ns));
    return json_pack("{s:s,s:s,s:I,s:I,s:I,s:o}", "kind", kind, "generation", sg->generation, "index",
                     (json_int_t)sg->index, "offset", (json_int_t)sg->offset, "size", (json_int_t)sg->size,
                     "created_at", time_str(sg->created_at_ns));
}

static void tool_restore(ls_mcp_call *c, json_t *args, ls_mcp_tool_result *r) {
    ls_mcp *m = c->m;
    const char *path, *output;
    if (!need_path(args, &path, r)) return;
    if (!arg_alias(args, "o", "output", &output, r)) return;
    const char *ts_str = arg_string(args, "timestamp"), *txid_str = NULL;
    uint64_t txid = 0;
    json_t *jtx = json_object_get(args, "txid");
    if (json_is_string(jtx)) {
        txid_str = json_string_value(jtx);
        if (*txid_str && !ltx_parse_txid(txid_str, &txid)) {
            invalid(r, "argument \"txid\" must be 16 hex digits, e.g. 0000000000001234");
            return;
        }
    } else if (json_is_integer(jtx)) {
        if (json_integer_value(jtx) < 1) {
            invalid(r, "argument \"txid\" must be a positive TXID");
            return;
        }
        txid = (uint64_t)json_integer_value(jtx);
    }
    int64_t ts = 0;
    if (ts_str && *ts_str) {
        if (ls_parse_rfc3339(ts_str, &ts, NULL) != LS_OK) {
            invalid(r, "argument \"timestamp\" must be RFC 3339, e.g. 2025-01-15T10:00:00Z");
            return;
        }
        if (ts == 0) ts = 1;
    }
    if (txid && ts) {
        invalid(r, "give either \"txid\" or \"timestamp\", not both");
        return;
    }
    const char *gen = arg_string(args, "generation");
    long long index = -1;
    bool has_index = parse_index(args, &index);
    if (has_index && (index < 0 || index > 0xffffffffLL)) {
        invalid(r, "argument \"index\" is out of range");
        return;
    }
    if ((gen || has_index) && txid) {
        invalid(r, "\"txid\" selects v0.5 LTX data and \"generation\"/\"index\" select Litestream "
                   "v0.3 backups; give only one of them");
        return;
    }
    if (has_index && ts) {
        invalid(r, "cannot specify index & timestamp to restore; give only one");
        return;
    }
    ls_integrity integ = LS_INTEGRITY_QUICK;
    const char *imode = arg_string(args, "integrity_check");
    if (imode && strcmp(imode, "none") == 0) integ = LS_INTEGRITY_NONE;
    else if (imode && strcmp(imode, "full") == 0) integ = LS_INTEGRITY_FULL;
    else imode = "quick";
    long long par = 8;
    if (arg_present(args, "parallelism") && (!arg_int(args, "parallelism", &par) || par < 1 || par > 64)) {
        invalid(r, "argument \"parallelism\" must be an integer between 1 and 64");
        return;
    }
    bool dry_run = arg_bool(args, "dry_run"), force = arg_bool(args, "force");
    bool if_db_not_exists = arg_bool(args, "if_db_not_exists");
    bool if_replica_exists = arg_bool(args, "if_replica_exists");

    ls_mcp_target t;
    ls_err e;
    ls_err_clear(&e);
    ls_restore_plan plan = {0};
    char *out = NULL;
    if (ls_mcp_target_open(m, path, arg_string(args, "config"), arg_string(args, "replica"), &t, &e) != LS_OK) {
        target_fail(r, &e);
        goto done;
    }
    if (!output || !*output) {
        if (t.is_url) {
            invalid(r, "\"o\" (or \"output\") is required when restoring from a replica URL: give "
                       "the path of the database file to create");
            goto done;
        }
        output = t.db_path;
    }
    if (ls_mcp_resolve_output(m, output, &out, &e) != LS_OK) {
        fail(r, e.code, "%s", e.msg);
        goto done;
    }
    struct stat sb;
    bool exists = stat(out, &sb) == 0;
    if (if_db_not_exists && exists) {
        ok(r, json_pack("{s:s,s:s,s:I,s:b,s:s,s:b}", "restored_path", out, "txid", "", "size",
                        (json_int_t)sb.st_size, "skipped", 1, "reason",
                        "database already exists (if_db_not_exists)", "dry_run", dry_run));
        goto done;
    }
    if (ls_mcp_is_replicated(m, out)) {
        fail(r, LS_ERR_BUSY,
             "refusing to restore over %s: this litestream process is replicating that database. "
             "Restore to another path with \"o\" (e.g. /tmp/restored.db), then stop replication "
             "before swapping files",
             out);
        goto done;
    }
    ls_restore_opts want = {.output = out, .txid = txid, .timestamp_ns = ts, .v3_generation = gen,
                            .v3_has_index = has_index, .v3_index = has_index ? (uint32_t)index : 0};
    bool use_v03 = false;
    if (ls_restore_uses_v03(t.st, &want, &use_v03, &e) != LS_OK) {
        fail(r, e.code, "cannot choose the backup layout of %s: %s", t.url, e.msg);
        goto done;
    }
    if (ts && !use_v03) { /* the v0.3 planner explains its own timestamps */
        int64_t first = 0, last = 0;
        if (ls_restore_time_bounds(t.st, &first, &last, &e) == LS_OK) {
            char a[64], b[64], q[64];
            fmt_time(first, a, sizeof(a));
            fmt_time(last, b, sizeof(b));
            fmt_time(ts, q, sizeof(q));
            if (first == 0 && !if_replica_exists) {
                fail(r, LS_ERR_UNAVAILABLE,
                     "no backups found on replica %s: it holds no LTX files yet. Start `litestream "
                     "replicate` and wait for the first sync",
                     t.url);
                goto done;
            }
            if (first && ts <= first && !if_replica_exists) {
                fail(r, LS_ERR_UNAVAILABLE,
                     "timestamp %s is before the first backup (%s); the replica covers %s to %s. "
                     "Choose a timestamp inside that range, or omit it for the latest state",
                     q, a, a, b);
                goto done;
            }
        }
    }
    ls_code rc = ls_restore_plan_choose(t.st, &want, &plan, &e);
    if (rc == LS_ERR_UNAVAILABLE) {
        if (if_replica_exists) {
            ok(r, json_pack("{s:s,s:s,s:i,s:b,s:s,s:b}", "restored_path", out, "txid", "", "size", 0,
                            "skipped", 1, "reason", "no matching backups found (if_replica_exists)",
                            "dry_run", dry_run));
            goto done;
        }
        if (use_v03) {
            fail(r, LS_ERR_UNAVAILABLE, "%s (litestream_generations lists the v0.3 generations and their index ranges)", e.msg);
            goto done;
        }
        uint64_t latest = 0;
        ls_err e2;
        for (int l = 0; l <= LS_LTX_MAX_LEVEL; l++) {
            uint64_t mx = 0;
            if (ls_ltx_max_txid(t.st, l, &mx, &e2) == LS_OK && mx > latest) latest = mx;
        }
        if (latest == 0) {
            fail(r, LS_ERR_UNAVAILABLE,
                 "no backups found on replica %s: it holds no LTX files yet. Start `litestream "
                 "replicate` and wait for the first sync",
                 t.url);
        } else if (txid) {
            char h[17], l[17];
            ls_mcp_hex16(txid, h);
            ls_mcp_hex16(latest, l);
            fail(r, LS_ERR_UNAVAILABLE,
                 "txid %s is not available on replica %s (latest is %s); choose a TXID listed by "
                 "litestream_ltx",
                 h, t.url, l);
        } else {
            fail(r, LS_ERR_UNAVAILABLE, "no backup matches the requested point on replica %s: %s", t.url, e.msg);
        }
        goto done;
    } else if (rc != LS_OK) {
        fail(r, e.code, "cannot plan the restore from %s: %s", t.url, e.msg);
        goto done;
    }
    if (dry_run) {
        json_t *o;
        if (plan.v3) {
            const ls_v3_plan *p = plan.v3;
            json_t *files = json_array();
            json_array_append_new(files, v3_entry("snapshot", &p->snapshot, NULL));
            for (size_t i = 0; i < p->n; i++) json_array_append_new(files, v3_entry("wal", NULL, &p->segments[i]));
            o = json_pack("{s:b,s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:o,s:s,s:b}", "dry_run", 1,
                          "source", path, "target_path", out, "restored_path", out, "replica", t.type,
                          "txid", "", "generation", p->generation, "snapshot_index",
                          (json_int_t)p->snapshot.index, "index", (json_int_t)p->max_index, "size",
                          (json_int_t)p->total_bytes, "file_count", (json_int_t)(p->n + 1), "files",
                          files, "layout", "v0.3", "output_exists", exists);
        } else {
            int64_t bytes;
            json_t *files = plan_files_json(&plan, &bytes);
            o = json_pack("{s:b,s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:I,s:I,s:o,s:s,s:b}", "dry_run", 1,
                          "source", path, "target_path", out, "restored_path", out, "replica",
                          t.type, "txid", hex_json(plan.max_txid), "min_txid", hex_json(plan.min_txid),
                          "max_txid", hex_json(plan.max_txid), "size", (json_int_t)bytes, "file_count",
                          (json_int_t)plan.n, "files", files, "layout", "ltx", "output_exists", exists);
        }
        ok(r, o);
        goto done;
    }
    /* Output rules (8.6): a directory never; a non-empty file or a sidecar
     * only with force; an empty file is replaced. */
    bool replace = false;
    if (exists) {
        if (S_ISDIR(sb.st_mode)) {
            fail(r, LS_ERR_INVALID, "cannot restore, output path is a directory: %s; give a file path", out);
            goto done;
        }
        if (sb.st_size > 0 && !force) {
            fail(r, LS_ERR_EXISTS,
                 "cannot restore, output path already exists: %s. Choose another \"o\"/\"output\", "
                 "or pass force: true to replace it",
                 out);
            goto done;
        }
        replace = true;
    }
    static const char *const suffix[] = {"-wal", "-shm", "-journal"};
    for (size_t i = 0; i < 3; i++) {
        char side[4200];
        snprintf(side, sizeof(side), "%s%s", out, suffix[i]);
        if (stat(side, &sb) == 0) {
            if (!force) {
                fail(r, LS_ERR_EXISTS,
                     "cannot restore, SQLite sidecar path already exists: %s. Remove it, choose "
                     "another output, or pass force: true",
                     side);
                goto done;
            }
            replace = true;
        }
    }
    progress_ctx pc = {c, 0};
    const char *delay = getenv("LITESTREAM_MCP_TEST_RESTORE_DELAY_MS"); /* test-only slow-down */
    if (delay && *delay) pc.delay_ms = atoi(delay);
    ls_restore_opts ro = {
        .output = out,
        .txid = txid,
        .timestamp_ns = ts,
        .integrity = integ,
        .parallelism = (int)par,
        .force = replace,
        .progress = restore_progress,
        .progress_ctx = &pc,
        .cancel = &c->cancel,
        .plan = &plan,
        .ltx_only = true, /* the layout was chosen above; a v0.3 plan carries plan.v3 */
        .v3_generation = gen,
        .v3_has_index = has_index,
        .v3_index = has_index ? (uint32_t)index : 0,
    };
    ls_mcp_call_log(c, LS_MCP_LOG_INFO, "restoring %s to %s (%s layout)", t.url, out,
                    plan.v3 ? "v0.3" : "ltx");
    ls_restore_result res;
    memset(&res, 0, sizeof(res));
    rc = ls_restore_run(t.st, &ro, &res, &e);
    if (rc == LS_ERR_CANCELED) {
        ls_info("mcp: restore cancelled", "output", out);
        r->status = LS_MCP_TOOL_CANCELLED;
        snprintf(r->msg, sizeof(r->msg), "restore cancelled; nothing was written to %s", out);
        r->code = LS_ERR_CANCELED;
        goto done;
    }
    if (rc != LS_OK) {
        fail(r, e.code, "restore from %s to %s failed: %s", t.url, out, e.msg);
        goto done;
    }
    ls_info("mcp: restored database", "output", out, "txid", LS_HEX16(res.txid));
    json_t *o = json_pack("{s:s,s:s,s:I,s:I,s:f,s:s,s:s,s:s,s:s,s:i,s:s,s:b}", "restored_path",
                          res.restored_path ? res.restored_path : out, "txid", "", "size",
                          (json_int_t)res.size, "duration_ms",
                          (json_int_t)(res.duration_ns / LS_NS_PER_MS), "duration_seconds",
                          (double)res.duration_ns / 1e9, "integrity_check",
                          res.integrity_result ? res.integrity_result : "skipped",
                          "integrity_check_mode", imode, "replica", t.type, "source", path,
                          "page_size", (int)res.page_size, "layout", plan.v3 ? "v0.3" : "ltx",
                          "dry_run", 0);
    if (o) {
        if (plan.v3) {
            json_object_set_new(o, "generation", json_string(plan.v3->generation));
            json_object_set_new(o, "index", json_integer(plan.v3->max_index));
        } else {
            json_object_set_new(o, "txid", hex_json(res.txid));
        }
        char d[64];
        ls_format_duration(res.duration_ns, d, sizeof(d));
        json_object_set_new(o, "duration", json_string(d));
        json_object_set_new(o, "db_path", json_string(res.restored_path ? res.restored_path : out));
    }
    ls_restore_result_free(&res);
    ok(r, o);
done:
    ls_restore_plan_free(&plan);
    free(out);
    ls_mcp_target_close(m, &t);
}

/* ---- litestream_reset ------------------------------------------------- */

static ls_code collect_files(const char *dir, json_t *arr, ls_err *err) {
    DIR *d = opendir(dir);
    if (!d) return errno == ENOENT ? LS_OK : ls_err_errno(err, errno, "read directory %s", dir);
    struct dirent *de;
    ls_code rc = LS_OK;
    while (rc == LS_OK && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
        char *p = ls_path_join(dir, de->d_name);
        if (!p) {
            rc = ls_err_set(err, LS_ERR_NOMEM, "out of memory");
            break;
        }
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) rc = collect_files(p, arr, err);
        else if (json_array_size(arr) < 10000) json_array_append_new(arr, json_string(p));
        free(p);
    }
    closedir(d);
    return rc;
}

static void tool_reset(ls_mcp_call *c, json_t *args, ls_mcp_tool_result *r) {
    ls_mcp *m = c->m;
    const char *path;
    if (!need_path(args, &path, r)) return;
    if (ls_is_replica_url(path)) {
        invalid(r, "litestream_reset takes a database path, not a replica URL");
        return;
    }
    bool dry_run = arg_bool(args, "dry_run");
    char *db = ls_expand_db_path(path);
    char *meta = NULL;
    ls_mcp_cfg cfg;
    memset(&cfg, 0, sizeof(cfg));
    ls_err e;
    ls_err_clear(&e);
    if (!db) {
        fail(r, LS_ERR_NOMEM, "out of memory");
        return;
    }
    const char *cpath = arg_string(args, "config");
    if (ls_mcp_config_acquire(m, cpath, &cfg, &e) == LS_OK) {
        const ls_db_config *dc = ls_config_find_db(cfg.cfg, db);
        if (dc) meta = ls_config_db_meta_path(dc);
        else if (cpath && *cpath) {
            fail(r, LS_ERR_NOTFOUND, "database not found in config %s: %s", cfg.path, db);
            goto done;
        }
    } else if (cpath && *cpath) {
        fail(r, e.code, "%s", e.msg);
        goto done;
    }
    if (!meta) meta = ls_default_meta_path(db);
    struct stat st;
    if (stat(db, &st) != 0) {
        fail(r, LS_ERR_NOTFOUND, "database does not exist: %s", db);
        goto done;
    }
    if (ls_mcp_is_replicated(m, db)) {
        fail(r, LS_ERR_BUSY,
             "refusing to reset %s: this litestream process is replicating it. Stop `litestream "
             "replicate` first, then reset with the CLI or `litestream mcp` (stdio)",
             db);
        goto done;
    }
    char *ltxdir = ls_strfmt("%s/ltx", meta);
    json_t *files = json_array();
    json_t *o = json_pack("{s:s,s:s,s:s,s:b}", "path", db, "meta_path", meta, "ltx_dir",
                          ltxdir ? ltxdir : "", "dry_run", dry_run);
    if (stat(meta, &st) != 0) {
        json_object_set_new(o, "status", json_string("no_state"));
        json_object_set_new(o, "message", json_string("No local state to reset: the meta directory does not exist"));
        json_object_set_new(o, "removed_files", files);
        ok(r, o);
    } else if (collect_files(ltxdir, files, &e) != LS_OK) {
        json_decref(files);
        json_decref(o);
        fail(r, e.code, "%s", e.msg);
    } else if (dry_run) {
        json_object_set_new(o, "status", json_string("dry_run"));
        json_object_set_new(o, "message", json_string("Dry run: these local LTX files would be removed; nothing was removed"));
        json_object_set_new(o, "removed_files", json_array());
        json_object_set_new(o, "would_remove", files);
        ok(r, o);
    } else if (ls_remove_all(ltxdir, &e) != LS_OK) {
        json_decref(files);
        json_decref(o);
        fail(r, e.code, "%s", e.msg);
    } else {
        ls_info("mcp: reset local state", "db", db);
        json_object_set_new(o, "status", json_string("reset"));
        json_object_set_new(o, "message", json_string("Reset complete. Next replication sync will create a fresh snapshot."));
        json_object_set_new(o, "removed_files", files);
        ok(r, o);
    }
    free(ltxdir);
done:
    ls_mcp_config_release(m, &cfg);
    free(db);
    free(meta);
}

/* ---- the table -------------------------------------------------------- */

const ls_mcp_tool ls_mcp_tools[] = {
    {"litestream_info", "Litestream info",
     "Status summary of this Litestream server: version, config path, number of databases, "
     "uptime, MCP address and whether the server is read-only.",
     "{\"type\":\"object\",\"properties\":{" P_CONFIG "\"_\":{}},\"additionalProperties\":false}",
     "{\"type\":\"object\",\"properties\":{\"version\":{\"type\":\"string\"},\"config_path\":{"
     "\"type\":\"string\"},\"databases\":{\"type\":\"integer\"},\"database_count\":{\"type\":"
     "\"integer\"},\"uptime_seconds\":{\"type\":\"number\"},\"uptime\":{\"type\":\"string\"},"
     "\"started_at\":{\"type\":\"string\"},\"pid\":{\"type\":\"integer\"},\"mcp_addr\":{\"type\":"
     "\"string\"},\"read_only\":{\"type\":\"boolean\"},\"auth_required\":{\"type\":\"boolean\"},"
     "\"replicating\":{\"type\":\"boolean\"},\"restore_dirs\":{\"type\":\"array\",\"items\":{"
     "\"type\":\"string\"}},\"config_error\":{\"type\":\"string\"}},\"required\":[\"version\","
     "\"config_path\",\"databases\",\"read_only\"]}",
     LS_MCP_TOOL_READONLY | LS_MCP_TOOL_IDEMPOTENT, tool_info},
    {"litestream_version", "Litestream version", "Version of the litestream binary.",
     "{\"type\":\"object\",\"properties\":{},\"additionalProperties\":false}",
     "{\"type\":\"object\",\"properties\":{\"version\":{\"type\":\"string\"},\"sqlite_version\":{"
     "\"type\":\"string\"},\"compiler\":{\"type\":\"string\"}},\"required\":[\"version\"]}",
     LS_MCP_TOOL_READONLY | LS_MCP_TOOL_IDEMPOTENT, tool_version},
    {"litestream_databases", "List databases",
     "Lists the configured databases with their replica: name, type, URL (without credentials), "
     "status (syncing, idle, error, stopped), local and remote TXID, replication lag and last "
     "sync time. Without a running `litestream replicate` in this process the status is "
     "\"stopped\" and the remote TXID is read from the replica.",
     "{\"type\":\"object\",\"properties\":{" P_CONFIG "\"_\":{}},\"additionalProperties\":false}",
     "{\"type\":\"object\",\"properties\":{\"databases\":{\"type\":\"array\",\"items\":" DB_ENTRY
     "},\"count\":{\"type\":\"integer\"},\"config_path\":{\"type\":\"string\"}},\"required\":["
     "\"databases\"]}",
     LS_MCP_TOOL_READONLY | LS_MCP_TOOL_IDEMPOTENT, tool_databases},
    {"litestream_status", "Replication status",
     "Replication status per database (optionally one database given by path): local status "
     "(ok, not initialized, no database), local and remote TXID, WAL size, lag, last sync and "
     "the replica's state.",
     "{\"type\":\"object\",\"properties\":{" P_CONFIG P_PATH "\"_\":{}},\"additionalProperties\":false}",
     "{\"type\":\"object\",\"properties\":{\"databases\":{\"type\":\"array\",\"items\":" DB_ENTRY
     "},\"count\":{\"type\":\"integer\"},\"config_path\":{\"type\":\"string\"}},\"required\":["
     "\"databases\"]}",
     LS_MCP_TOOL_READONLY | LS_MCP_TOOL_IDEMPOTENT, tool_status},
    {"litestream_ltx", "List LTX files",
     "Lists the LTX files (restore points) of a database or replica URL: level, min_txid, "
     "max_txid, size, created_at. Filters: level (0-9 or \"all\"; default all), limit, replica. "
     "For v0.3 replicas the generations' snapshots and WAL segments are listed with generation "
     "and index (filter with generation / index).",
     "{\"type\":\"object\",\"properties\":{" P_PATH P_CONFIG P_REPLICA P_GENERATION P_LIMIT P_INDEX
     "\"level\":{\"type\":[\"integer\",\"string\"],\"minimum\":0,\"maximum\":9,\"pattern\":\"^([0-"
     "9]|all)$\",\"description\":\"Level 0-9 (9 = snapshots) or \\\"all\\\" (default)\"}},"
     "\"additionalProperties\":false}",
     "{\"type\":\"object\",\"properties\":{\"files\":{\"type\":\"array\",\"items\":" FILE_ENTRY
     "},\"ltx_files\":{\"type\":\"array\",\"items\":" FILE_ENTRY "},\"count\":{\"type\":"
     "\"integer\"},\"total\":{\"type\":\"integer\"},\"truncated\":{\"type\":\"boolean\"},"
     SOURCE_PROPS "\"note\":{\"type\":\"string\"}},\"required\":[\"files\"]}",
     LS_MCP_TOOL_READONLY | LS_MCP_TOOL_IDEMPOTENT, tool_ltx},
    {"litestream_snapshots", "List snapshots",
     "Lists the full-database snapshots of a database or replica URL (level-9 LTX files: txid, "
     "size, created_at; v0.3 snapshots with generation and index).",
     "{\"type\":\"object\",\"properties\":{" P_PATH P_CONFIG P_REPLICA P_GENERATION P_LIMIT
     "\"_\":{}},\"additionalProperties\":false}",
     "{\"type\":\"object\",\"properties\":{\"snapshots\":{\"type\":\"array\",\"items\":{\"type\":"
     "\"object\",\"properties\":{\"txid\":" HEX16 ",\"min_txid\":" HEX16 ",\"max_txid\":" HEX16
     ",\"level\":{\"type\":\"integer\"},\"size\":{\"type\":\"integer\"},\"created_at\":{\"type\":"
     "\"string\"},\"generation\":{\"type\":\"string\"},\"index\":{\"type\":\"integer\"}},"
     "\"required\":[\"size\",\"created_at\"]}},\"count\":{\"type\":\"integer\"},\"total\":{"
     "\"type\":\"integer\"},\"truncated\":{\"type\":\"boolean\"}," SOURCE_PROPS "\"note\":{"
     "\"type\":\"string\"}},\"required\":[\"snapshots\"]}",
     LS_MCP_TOOL_READONLY | LS_MCP_TOOL_IDEMPOTENT, tool_snapshots},
    {"litestream_generations", "List v0.3 generations",
     "Lists the Litestream v0.3 generations of a replica (legacy compatibility; v0.5 replaced "
     "generations with LTX levels, so a v0.5-only replica gives an empty list with a note).",
     "{\"type\":\"object\",\"properties\":{" P_PATH P_CONFIG P_REPLICA "\"_\":{}},"
     "\"additionalProperties\":false}",
     "{\"type\":\"object\",\"properties\":{\"generations\":{\"type\":\"array\",\"items\":{\"type\":"
     "\"object\",\"properties\":{\"generation\":{\"type\":\"string\"},\"name\":{\"type\":\"string\""
     "},\"snapshots\":{\"type\":\"integer\"},\"wal_segments\":{\"type\":\"integer\"},\"size\":{"
     "\"type\":\"integer\"},\"created_at\":" TIME_OR_NULL ",\"updated_at\":" TIME_OR_NULL
     ",\"min_index\":{\"type\":\"integer\"},\"max_index\":{\"type\":\"integer\"},\"current\":{"
     "\"type\":\"boolean\"}},\"required\":[\"generation\"]}},\"count\":{\"type\":\"integer\"}," SOURCE_PROPS "\"note\":{\"type\":"
     "\"string\"}},\"required\":[\"generations\"]}",
     LS_MCP_TOOL_READONLY | LS_MCP_TOOL_IDEMPOTENT, tool_generations},
    {"litestream_restore", "Restore a database",
     "Restores a database from its replica (latest, a TXID, or a point in time) into a new file, "
     "verifying every file and running an integrity check. Use dry_run first to see the plan. "
     "Refuses to write over an existing file unless force is true, and never over a database "
     "this server is replicating. Reports progress when the client sends a progress token; "
     "cancellation leaves no partial file.",
     "{\"type\":\"object\",\"properties\":{" P_PATH P_CONFIG P_REPLICA
     "\"o\":{\"type\":\"string\",\"description\":\"Output database path (default: the original "
     "path of a config database; required for a replica URL)\"},\"output\":{\"type\":\"string\","
     "\"description\":\"Same as o\"},\"txid\":{\"type\":[\"string\",\"integer\"],\"pattern\":"
     "\"^[0-9a-fA-F]{16}$\",\"description\":\"Restore up to this TXID (16 hex digits)\"},"
     "\"timestamp\":{\"type\":\"string\",\"format\":\"date-time\",\"description\":\"Restore the "
     "state as of this RFC 3339 time\"},\"parallelism\":{\"type\":[\"integer\",\"string\"],"
     "\"minimum\":1,\"pattern\":\"^[0-9]+$\",\"description\":\"Concurrent downloads (default 8)\"},"
     "\"if_db_not_exists\":{\"type\":\"boolean\",\"description\":\"Do nothing if the output already "
     "exists\"},\"if_replica_exists\":{\"type\":\"boolean\",\"description\":\"Do nothing if no "
     "backups are found\"},\"dry_run\":{\"type\":\"boolean\",\"description\":\"Only show the restore "
     "plan\"},\"force\":{\"type\":\"boolean\",\"description\":\"Replace an existing output file\"},"
     "\"integrity_check\":{\"type\":\"string\",\"enum\":[\"none\",\"quick\",\"full\"],"
     "\"description\":\"Post-restore check (default quick)\"}," P_GENERATION P_INDEX "\"_\":{}},"
     "\"additionalProperties\":false}",
     "{\"type\":\"object\",\"properties\":{\"restored_path\":{\"type\":\"string\"},\"txid\":{"
     "\"type\":\"string\"},\"size\":{\"type\":\"integer\"},\"duration_ms\":{\"type\":\"integer\"},"
     "\"duration_seconds\":{\"type\":\"number\"},\"duration\":{\"type\":\"string\"},"
     "\"integrity_check\":{\"type\":\"string\"},\"integrity_check_mode\":{\"type\":\"string\"},"
     "\"replica\":{\"type\":\"string\"},\"source\":{\"type\":\"string\"},\"dry_run\":{\"type\":"
     "\"boolean\"},\"skipped\":{\"type\":\"boolean\"},\"reason\":{\"type\":\"string\"},"
     "\"target_path\":{\"type\":\"string\"},\"min_txid\":" HEX16 ",\"max_txid\":" HEX16 ","
     "\"file_count\":{\"type\":\"integer\"},\"files\":{\"type\":\"array\"},\"page_size\":{\"type\":"
     "\"integer\"},\"layout\":{\"type\":\"string\"},\"db_path\":{\"type\":\"string\"},\"generation\":{"
     "\"type\":\"string\"},\"index\":{\"type\":\"integer\"},\"snapshot_index\":{\"type\":\"integer\"}},"
     "\"required\":[\"restored_path\",\"txid\",\"size\"]}",
     LS_MCP_TOOL_DESTRUCTIVE | LS_MCP_TOOL_WRITES, tool_restore},
    {"litestream_reset", "Reset local state",
     "Clears Litestream's local state for a database (removes the local LTX files in its meta "
     "directory) so the next sync writes a fresh snapshot. The database file is not modified. "
     "Refused for a database this server is replicating.",
     "{\"type\":\"object\",\"properties\":{" P_PATH P_CONFIG
     "\"dry_run\":{\"type\":\"boolean\",\"description\":\"Only list what would be removed\"}},"
     "\"additionalProperties\":false}",
     "{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\"},\"meta_path\":{\"type\":"
     "\"string\"},\"ltx_dir\":{\"type\":\"string\"},\"status\":{\"type\":\"string\",\"enum\":["
     "\"reset\",\"no_state\",\"dry_run\"]},\"message\":{\"type\":\"string\"},\"dry_run\":{\"type\":"
     "\"boolean\"},\"removed_files\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
     "\"would_remove\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}},\"required\":["
     "\"path\",\"status\"]}",
     LS_MCP_TOOL_DESTRUCTIVE | LS_MCP_TOOL_IDEMPOTENT | LS_MCP_TOOL_WRITES, tool_reset},
};
const size_t ls_mcp_tool_count = sizeof(ls_mcp_tools) / sizeof(ls_mcp_tools[0]);

const ls_mcp_tool *ls_mcp_tool_find(ls_mcp *m, const char *name, bool *removed) {
    *removed = false;
    for (size_t i = 0; i < ls_mcp_tool_count; i++) {
        if (strcmp(ls_mcp_tools[i].name, name) != 0) continue;
        if (m->read_only && (ls_mcp_tools[i].flags & LS_MCP_TOOL_WRITES)) {
            *removed = true;
            return NULL;
        }
        return &ls_mcp_tools[i];
    }
    return NULL;
}

void ls_mcp_tool_run(ls_mcp_call *c, const ls_mcp_tool *t, json_t *args, ls_mcp_tool_result *r) {
    json_t *empty = NULL;
    if (!args) args = empty = json_object();
    bool limited = t->flags & LS_MCP_TOOL_READONLY;
    if (limited)
        while (sem_wait(&c->m->listing_sem) != 0) {
        }
    t->run(c, args, r);
    if (limited) sem_post(&c->m->listing_sem);
    json_decref(empty);
}

static json_t *tool_json(ls_mcp *m, const ls_mcp_tool *t, size_t idx, ls_mcp_ver v) {
    json_t *o = json_pack("{s:s}", "name", t->name);
    if (v >= LS_MCP_V_2025_06_18) json_object_set_new(o, "title", json_string(t->title));
    json_object_set_new(o, "description", json_string(t->description));
    json_object_set(o, "inputSchema", m->in_schemas[idx]);
    if (v >= LS_MCP_V_2025_06_18) json_object_set_new(o, "outputSchema", json_loads(t->output_schema, 0, NULL));
    if (v >= LS_MCP_V_2025_03_26) {
        bool ro = t->flags & LS_MCP_TOOL_READONLY;
        json_t *a = json_pack("{s:s,s:b,s:b}", "title", t->title, "readOnlyHint", ro, "openWorldHint", 0);
        if (!ro) {
            json_object_set_new(a, "destructiveHint", json_boolean(t->flags & LS_MCP_TOOL_DESTRUCTIVE));
            json_object_set_new(a, "idempotentHint", json_boolean(t->flags & LS_MCP_TOOL_IDEMPOTENT));
        }
        json_object_set_new(o, "annotations", a);
    }
    return o;
}

ls_code ls_mcp_tools_init(ls_mcp *m, ls_err *err) {
    if (ls_mcp_tool_count > 16) return ls_err_set(err, LS_ERR_INTERNAL, "too many tools");
    for (size_t i = 0; i < ls_mcp_tool_count; i++) {
        json_error_t je;
        json_t *s = json_loads(ls_mcp_tools[i].input_schema, 0, &je);
        json_t *os = json_loads(ls_mcp_tools[i].output_schema, 0, &je);
        json_decref(os);
        if (!s || !os)
            return ls_err_set(err, LS_ERR_INTERNAL, "tool %s: bad schema: %s", ls_mcp_tools[i].name, je.text);
        json_object_del(json_object_get(s, "properties"), "_"); /* trailing-comma helper */
        m->in_schemas[i] = s;
    }
    for (int v = LS_MCP_V_2024_11_05; v < LS_MCP_V_COUNT; v++) {
        json_t *arr = json_array();
        for (size_t i = 0; i < ls_mcp_tool_count; i++) {
            if (m->read_only && (ls_mcp_tools[i].flags & LS_MCP_TOOL_WRITES)) continue;
            json_array_append_new(arr, tool_json(m, &ls_mcp_tools[i], i, (ls_mcp_ver)v));
        }
        json_t *res = json_pack("{s:o}", "tools", arr);
        m->tools_json[v] = json_dumps(res, JSON_COMPACT);
        if (v == LS_MCP_V_2025_11_25) m->tools_rest_json = json_dumps(res, JSON_INDENT(2));
        json_decref(res);
        if (!m->tools_json[v]) return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
    }
    if (!m->tools_rest_json) return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
    m->tools_json[0] = NULL;
    return LS_OK;
}

const char *ls_mcp_tools_json(ls_mcp *m, ls_mcp_ver v) {
    if (v <= LS_MCP_V_UNKNOWN || v >= LS_MCP_V_COUNT) v = LS_MCP_V_2025_03_26;
    return m->tools_json[v];
}

const char *ls_mcp_tools_rest_json(ls_mcp *m) { return m->tools_rest_json; }
