/*
 * engine/stats.c — the persisted request counters file. Contract in stats.h.
 */
#include "engine/stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/fs.h"
#include "util/timeutil.h"

char *ls_stats_path(const char *meta_path) {
    return meta_path ? ls_path_join(meta_path, LS_STATS_FILE) : NULL;
}

static json_t *time_json(int64_t ns) {
    if (ns <= 0) return json_null();
    char buf[64];
    ls_format_rfc3339_nano(ns, buf, sizeof(buf));
    return json_string(buf);
}

json_t *ls_stats_requests_json(const ls_storage_stats *s) {
    return json_pack("{s:I,s:I,s:I,s:I,s:I}", "put", (json_int_t)s->puts, "get", (json_int_t)s->gets,
                     "list", (json_int_t)s->lists, "delete", (json_int_t)s->deletes, "head",
                     (json_int_t)s->heads);
}

void ls_stats_add_json(json_t *obj, const ls_storage_stats *s, int64_t since_ns, int64_t updated_ns) {
    json_object_set_new(obj, "requests", ls_stats_requests_json(s));
    json_object_set_new(obj, "errors", json_integer((json_int_t)s->errors));
    json_object_set_new(obj, "retries", json_integer((json_int_t)s->retries));
    json_object_set_new(obj, "bytes_in", json_integer((json_int_t)s->bytes_in));
    json_object_set_new(obj, "bytes_out", json_integer((json_int_t)s->bytes_out));
    json_object_set_new(obj, "since", time_json(since_ns));
    json_object_set_new(obj, "updated_at", time_json(updated_ns));
}

ls_code ls_stats_encode(const ls_stats_snapshot *s, char **out, size_t *len, ls_err *err) {
    *out = NULL;
    *len = 0;
    json_t *reps = json_array();
    json_t *root = json_object();
    if (!reps || !root) {
        json_decref(reps);
        json_decref(root);
        return ls_err_set(err, LS_ERR_NOMEM, "stats: out of memory");
    }
    json_object_set_new(root, "version", json_integer(LS_STATS_VERSION));
    json_object_set_new(root, "pid", json_integer(s->pid));
    json_object_set_new(root, "updated_at", time_json(s->updated_ns));
    size_t n = s->n < LS_STATS_MAX_REPLICAS ? s->n : LS_STATS_MAX_REPLICAS;
    for (size_t i = 0; i < n; i++) {
        const ls_stats_replica *r = &s->replicas[i];
        json_t *o = json_object();
        json_object_set_new(o, "name", json_string(r->name));
        json_object_set_new(o, "type", json_string(r->type));
        ls_stats_add_json(o, &r->stats, r->since_ns, 0);
        json_object_del(o, "updated_at"); /* one time for the file */
        json_array_append_new(reps, o);
    }
    json_object_set_new(root, "replicas", reps);
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (!text) return ls_err_set(err, LS_ERR_NOMEM, "stats: out of memory");
    *out = text;
    *len = strlen(text);
    return LS_OK;
}

static uint64_t get_count(json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0) return 0;
    return (uint64_t)json_integer_value(v);
}

static int64_t get_time(json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    int64_t ns = 0;
    if (json_is_string(v) && ls_parse_rfc3339(json_string_value(v), &ns, NULL) == LS_OK) return ns;
    return 0;
}

static void copy_str(char *dst, size_t cap, json_t *v) {
    const char *s = json_is_string(v) ? json_string_value(v) : "";
    snprintf(dst, cap, "%s", s);
}

ls_code ls_stats_decode(const char *data, size_t len, const char *what, ls_stats_snapshot *out,
                        ls_err *err) {
    memset(out, 0, sizeof(*out));
    if (!what) what = "stats";
    json_error_t je;
    json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) return ls_err_set(err, LS_ERR_FORMAT, "%s: invalid JSON at line %d: %s", what, je.line, je.text);
    ls_code rc = LS_OK;
    json_t *ver = json_object_get(root, "version");
    json_t *reps = json_object_get(root, "replicas");
    if (!json_is_object(root)) {
        rc = ls_err_set(err, LS_ERR_FORMAT, "%s: not a JSON object", what);
    } else if (!json_is_integer(ver) || json_integer_value(ver) != LS_STATS_VERSION) {
        rc = ls_err_set(err, LS_ERR_FORMAT, "%s: unsupported version (want %d)", what, LS_STATS_VERSION);
    } else if (!json_is_array(reps)) {
        rc = ls_err_set(err, LS_ERR_FORMAT, "%s: \"replicas\" is not an array", what);
    } else {
        json_t *pid = json_object_get(root, "pid");
        out->pid = json_is_integer(pid) ? (long)json_integer_value(pid) : 0;
        out->updated_ns = get_time(root, "updated_at");
        size_t i;
        json_t *o;
        json_array_foreach(reps, i, o) {
            if (out->n == LS_STATS_MAX_REPLICAS) break;
            if (!json_is_object(o)) continue;
            ls_stats_replica *r = &out->replicas[out->n++];
            copy_str(r->name, sizeof(r->name), json_object_get(o, "name"));
            copy_str(r->type, sizeof(r->type), json_object_get(o, "type"));
            r->since_ns = get_time(o, "since");
            json_t *req = json_object_get(o, "requests");
            if (json_is_object(req)) {
                r->stats.puts = get_count(req, "put");
                r->stats.gets = get_count(req, "get");
                r->stats.lists = get_count(req, "list");
                r->stats.deletes = get_count(req, "delete");
                r->stats.heads = get_count(req, "head");
            }
            r->stats.errors = get_count(o, "errors");
            r->stats.retries = get_count(o, "retries");
            r->stats.bytes_in = get_count(o, "bytes_in");
            r->stats.bytes_out = get_count(o, "bytes_out");
        }
    }
    json_decref(root);
    if (rc != LS_OK) memset(out, 0, sizeof(*out));
    return rc;
}

ls_code ls_stats_write(const char *meta_path, const ls_stats_snapshot *s, unsigned mode, ls_err *err) {
    char *path = ls_stats_path(meta_path);
    if (!path) return ls_err_set(err, LS_ERR_NOMEM, "stats: out of memory");
    char *text = NULL;
    size_t len = 0;
    ls_code rc = ls_stats_encode(s, &text, &len, err);
    if (rc == LS_OK) rc = ls_write_file_replace(path, text, len, (mode_t)mode, err);
    free(text);
    free(path);
    return rc;
}

ls_code ls_stats_read(const char *meta_path, ls_stats_snapshot *out, ls_err *err) {
    memset(out, 0, sizeof(*out));
    char *path = ls_stats_path(meta_path);
    if (!path) return ls_err_set(err, LS_ERR_NOMEM, "stats: out of memory");
    char *data = NULL;
    size_t len = 0;
    ls_code rc = ls_read_file(path, LS_STATS_FILE_MAX, &data, &len, err);
    if (rc == LS_OK) rc = ls_stats_decode(data, len, path, out, err);
    free(data);
    free(path);
    return rc;
}

const ls_stats_replica *ls_stats_find(const ls_stats_snapshot *snap, const char *name,
                                      const char *type, size_t index) {
    if (!snap) return NULL;
    if (!name) name = "";
    if (!type) type = "";
    for (size_t i = 0; i < snap->n; i++)
        if (strcmp(snap->replicas[i].name, name) == 0 && strcmp(snap->replicas[i].type, type) == 0)
            return &snap->replicas[i];
    if (index < snap->n && strcmp(snap->replicas[index].type, type) == 0) return &snap->replicas[index];
    return NULL;
}
