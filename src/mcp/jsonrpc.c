/*
 * mcp/jsonrpc.c — JSON-RPC 2.0 for MCP: parsing, validation, dispatch,
 * version negotiation, sessions, calls in flight and notifications.
 * Transport-neutral: http.c and stdio.c call ls_mcp_parse/ls_mcp_execute.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "mcp/mcp_internal.h"
#include "mcp/mcp_state.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/version.h"

/* ---- versions --------------------------------------------------------- */

static const char *const ver_names[LS_MCP_V_COUNT] = {"", "2024-11-05", "2025-03-26",
                                                      "2025-06-18", "2025-11-25"};

ls_mcp_ver ls_mcp_ver_parse(const char *s) {
    if (!s) return LS_MCP_V_UNKNOWN;
    for (int i = 1; i < LS_MCP_V_COUNT; i++)
        if (strcmp(s, ver_names[i]) == 0) return (ls_mcp_ver)i;
    return LS_MCP_V_UNKNOWN;
}

const char *ls_mcp_ver_name(ls_mcp_ver v) {
    return v > 0 && v < LS_MCP_V_COUNT ? ver_names[v] : "";
}

/* ---- server object ---------------------------------------------------- */

ls_code ls_mcp_new(const ls_mcp_opts *o, ls_mcp **out, ls_err *err) {
    *out = NULL;
    ls_mcp *m = calloc(1, sizeof(*m));
    if (!m) return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
    pthread_mutex_init(&m->mu, NULL);
    sem_init(&m->listing_sem, 0, LS_MCP_MAX_LISTINGS);
    m->config_path = o->config_path && *o->config_path ? ls_path_abs(o->config_path) : ls_strdup("");
    m->config = o->config;
    m->expand_env = o->expand_env;
    m->store = o->store;
    m->addr = ls_strdup(o->addr ? o->addr : "");
    m->read_only = o->read_only;
    m->token = o->token && *o->token ? ls_strdup(o->token) : NULL;
    m->open_replica = o->open_replica;
    m->open_url = o->open_url;
    m->started_ns = ls_now_ns();
    m->started_mono_ns = ls_monotonic_ns();
    if (!m->config_path || !m->addr || (o->token && *o->token && !m->token)) {
        ls_mcp_free(m);
        return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
    }
    if (o->nrestore_dirs) {
        m->restore_dirs = calloc(o->nrestore_dirs, sizeof(char *));
        if (!m->restore_dirs) {
            ls_mcp_free(m);
            return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
        }
        for (size_t i = 0; i < o->nrestore_dirs; i++) {
            char *abs = ls_path_abs(o->restore_dirs[i]);
            char *real = abs ? realpath(abs, NULL) : NULL;
            if (!real) {
                int e = errno;
                ls_code rc = ls_err_set(err, LS_ERR_CONFIG,
                                        "mcp-restore-dirs: directory %s cannot be used: %s",
                                        o->restore_dirs[i], strerror(abs ? e : ENOMEM));
                free(abs);
                ls_mcp_free(m);
                return rc;
            }
            free(abs);
            m->restore_dirs[m->nrestore_dirs++] = real;
        }
    }
    ls_code rc = ls_mcp_tools_init(m, err);
    if (rc != LS_OK) {
        ls_mcp_free(m);
        return rc;
    }
    *out = m;
    return LS_OK;
}

void ls_mcp_free(ls_mcp *m) {
    if (!m) return;
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->nsessions; i++) {
        m->sessions[i]->closed = true;
        ls_mcp_session_put(m->sessions[i]);
    }
    free(m->sessions);
    m->sessions = NULL;
    m->nsessions = 0;
    while (m->inflight) {
        ls_mcp_inflight *n = m->inflight->next;
        free(m->inflight->id_key);
        free(m->inflight);
        m->inflight = n;
    }
    pthread_mutex_unlock(&m->mu);
    ls_mcp_state_free(m);
    for (int i = 0; i < LS_MCP_V_COUNT; i++) free(m->tools_json[i]);
    for (int i = 0; i < 16; i++) json_decref(m->in_schemas[i]);
    free(m->tools_rest_json);
    for (size_t i = 0; i < m->nrestore_dirs; i++) free(m->restore_dirs[i]);
    free(m->restore_dirs);
    if (m->token) {
        memset(m->token, 0, strlen(m->token));
        free(m->token);
    }
    free(m->config_path);
    free(m->addr);
    pthread_mutex_destroy(&m->mu);
    sem_destroy(&m->listing_sem);
    free(m);
}

void ls_mcp_cancel_all(ls_mcp *m) {
    m->stopping = true;
    pthread_mutex_lock(&m->mu);
    for (ls_mcp_inflight *f = m->inflight; f; f = f->next) atomic_store(f->cancel, true);
    pthread_mutex_unlock(&m->mu);
}

size_t ls_mcp_calls_in_flight(ls_mcp *m) {
    size_t n = 0;
    pthread_mutex_lock(&m->mu);
    for (ls_mcp_inflight *f = m->inflight; f; f = f->next) n++;
    pthread_mutex_unlock(&m->mu);
    return n;
}

/* ---- sessions --------------------------------------------------------- */

#define SESSION_MAX 4096
#define SESSION_IDLE_NS (INT64_C(3600) * LS_NS_PER_SEC)

static ls_mcp_session *session_alloc(ls_mcp_ver v) {
    ls_mcp_session *s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    s->version = (int)v;
    s->log_level = LS_MCP_LOG_INFO;
    s->refs = 1;
    s->last_used_ns = ls_monotonic_ns();
    return s;
}

ls_mcp_session *ls_mcp_session_transient(ls_mcp_ver v) { return session_alloc(v); }

void ls_mcp_session_put(ls_mcp_session *s) {
    if (!s) return;
    if (atomic_fetch_sub(&s->refs, 1) == 1) {
        if (s->transport_free) s->transport_free(s->transport);
        free(s);
    }
}

static void random_hex(char *out, size_t nbytes) {
    unsigned char b[32];
    if (nbytes > sizeof(b)) nbytes = sizeof(b);
    size_t got = 0;
    while (got < nbytes) {
        ssize_t r = getrandom(b + got, nbytes - got, 0);
        if (r < 0) {
            if (errno == EINTR) continue;
            /* Should never happen; fall back to a weaker source. */
            for (; got < nbytes; got++) b[got] = (unsigned char)(rand() ^ (int)ls_monotonic_ns());
            break;
        }
        got += (size_t)r;
    }
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < nbytes; i++) {
        out[2 * i] = hex[b[i] >> 4];
        out[2 * i + 1] = hex[b[i] & 15];
    }
    out[2 * nbytes] = 0;
}

/* Drops sessions idle for an hour (caller holds mu). Legacy sessions live
 * as long as their stream and are closed by the transport. */
static void prune_locked(ls_mcp *m) {
    int64_t now = ls_monotonic_ns();
    size_t j = 0;
    for (size_t i = 0; i < m->nsessions; i++) {
        ls_mcp_session *s = m->sessions[i];
        if (!s->legacy && now - s->last_used_ns > SESSION_IDLE_NS) {
            s->closed = true;
            ls_mcp_session_put(s);
        } else {
            m->sessions[j++] = s;
        }
    }
    m->nsessions = j;
}

ls_mcp_session *ls_mcp_session_create(ls_mcp *m, bool legacy) {
    ls_mcp_session *s = session_alloc(legacy ? LS_MCP_V_2024_11_05 : LS_MCP_V_UNKNOWN);
    if (!s) return NULL;
    s->legacy = legacy;
    random_hex(s->id, 16);
    pthread_mutex_lock(&m->mu);
    if (m->nsessions >= SESSION_MAX / 2) prune_locked(m);
    if (m->nsessions >= SESSION_MAX) {
        pthread_mutex_unlock(&m->mu);
        free(s);
        return NULL;
    }
    if (m->nsessions == m->capsessions) {
        size_t nc = m->capsessions ? m->capsessions * 2 : 16;
        ls_mcp_session **ns = realloc(m->sessions, nc * sizeof(*ns));
        if (!ns) {
            pthread_mutex_unlock(&m->mu);
            free(s);
            return NULL;
        }
        m->sessions = ns;
        m->capsessions = nc;
    }
    s->refs = 2;
    m->sessions[m->nsessions++] = s;
    pthread_mutex_unlock(&m->mu);
    return s;
}

ls_mcp_session *ls_mcp_session_find(ls_mcp *m, const char *id) {
    if (!id || !*id) return NULL;
    ls_mcp_session *found = NULL;
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->nsessions; i++) {
        if (strcmp(m->sessions[i]->id, id) == 0 && !m->sessions[i]->closed) {
            found = m->sessions[i];
            atomic_fetch_add(&found->refs, 1);
            found->last_used_ns = ls_monotonic_ns();
            break;
        }
    }
    pthread_mutex_unlock(&m->mu);
    return found;
}

void ls_mcp_session_close(ls_mcp *m, ls_mcp_session *s) {
    pthread_mutex_lock(&m->mu);
    s->closed = true;
    for (size_t i = 0; i < m->nsessions; i++) {
        if (m->sessions[i] == s) {
            m->sessions[i] = m->sessions[--m->nsessions];
            pthread_mutex_unlock(&m->mu);
            ls_mcp_session_put(s);
            return;
        }
    }
    pthread_mutex_unlock(&m->mu);
}

size_t ls_mcp_session_count(ls_mcp *m) {
    pthread_mutex_lock(&m->mu);
    size_t n = m->nsessions;
    pthread_mutex_unlock(&m->mu);
    return n;
}

/* ---- calls in flight (cancellation) ----------------------------------- */

static char *id_key(json_t *id) { return json_dumps(id, JSON_COMPACT | JSON_ENCODE_ANY); }

static ls_mcp_inflight *inflight_add(ls_mcp *m, ls_mcp_session *s, json_t *id, atomic_bool *cancel) {
    ls_mcp_inflight *f = calloc(1, sizeof(*f));
    if (!f) return NULL;
    f->id_key = id_key(id);
    if (!f->id_key) {
        free(f);
        return NULL;
    }
    f->s = s;
    f->cancel = cancel;
    pthread_mutex_lock(&m->mu);
    f->next = m->inflight;
    m->inflight = f;
    if (m->stopping) atomic_store(cancel, true);
    pthread_mutex_unlock(&m->mu);
    return f;
}

static void inflight_remove(ls_mcp *m, ls_mcp_inflight *f) {
    if (!f) return;
    pthread_mutex_lock(&m->mu);
    for (ls_mcp_inflight **p = &m->inflight; *p; p = &(*p)->next) {
        if (*p == f) {
            *p = f->next;
            break;
        }
    }
    pthread_mutex_unlock(&m->mu);
    free(f->id_key);
    free(f);
}

/* Sessions are matched by identity; transient sessions (stateless HTTP)
 * match each other by empty id so a stateless client can still cancel. */
static void inflight_cancel(ls_mcp *m, ls_mcp_session *s, json_t *request_id) {
    char *key = id_key(request_id);
    if (!key) return;
    pthread_mutex_lock(&m->mu);
    for (ls_mcp_inflight *f = m->inflight; f; f = f->next) {
        bool same = f->s == s || (s->id[0] == 0 && f->s->id[0] == 0);
        if (same && strcmp(f->id_key, key) == 0) atomic_store(f->cancel, true);
    }
    pthread_mutex_unlock(&m->mu);
    free(key);
}

/* ---- messages --------------------------------------------------------- */

struct ls_mcp_msg {
    json_t *root;     /* object or array */
};

char *ls_mcp_error_json(json_t *id, int code, const char *message, json_t *data) {
    json_t *e = json_pack("{s:i,s:s}", "code", code, "message", message ? message : "");
    if (e && data) json_object_set(e, "data", data);
    json_t *o = json_pack("{s:s,s:O?,s:o}", "jsonrpc", "2.0", "id", id, "error", e);
    if (!o) return NULL;
    if (!id) json_object_set_new(o, "id", json_null());
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

ls_mcp_parse_rc ls_mcp_parse(const char *body, size_t len, ls_mcp_msg **out, char **reply) {
    *out = NULL;
    *reply = NULL;
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!root) {
        char msg[256];
        snprintf(msg, sizeof(msg), "Parse error: %s (line %d, column %d)", jerr.text, jerr.line,
                 jerr.column);
        *reply = ls_mcp_error_json(NULL, -32700, msg, NULL);
        return LS_MCP_PARSE_ERROR;
    }
    if (!json_is_object(root) && !json_is_array(root)) {
        json_decref(root);
        *reply = ls_mcp_error_json(NULL, -32600,
                                   "Invalid Request: a JSON-RPC message must be an object", NULL);
        return LS_MCP_PARSE_INVALID;
    }
    if (json_is_array(root) && json_array_size(root) == 0) {
        json_decref(root);
        *reply = ls_mcp_error_json(NULL, -32600, "Invalid Request: empty batch", NULL);
        return LS_MCP_PARSE_INVALID;
    }
    ls_mcp_msg *m = malloc(sizeof(*m));
    if (!m) {
        json_decref(root);
        *reply = ls_mcp_error_json(NULL, -32603, "Internal error: out of memory", NULL);
        return LS_MCP_PARSE_INVALID;
    }
    m->root = root;
    *out = m;
    return LS_MCP_PARSE_OK;
}

void ls_mcp_msg_free(ls_mcp_msg *msg) {
    if (!msg) return;
    json_decref(msg->root);
    free(msg);
}

bool ls_mcp_msg_is_batch(const ls_mcp_msg *msg) { return json_is_array(msg->root); }

static bool is_request(json_t *o) {
    return json_is_object(o) && json_is_string(json_object_get(o, "method")) &&
           json_object_get(o, "id") != NULL;
}

size_t ls_mcp_msg_requests(const ls_mcp_msg *msg) {
    if (!json_is_array(msg->root)) return is_request(msg->root) ? 1 : 0;
    size_t n = 0, i;
    json_t *v;
    json_array_foreach(msg->root, i, v) if (is_request(v)) n++;
    return n;
}

static json_t *first_msg(const ls_mcp_msg *msg) {
    return json_is_array(msg->root) ? json_array_get(msg->root, 0) : msg->root;
}

const char *ls_mcp_msg_method(const ls_mcp_msg *msg) {
    const char *s = json_string_value(json_object_get(first_msg(msg), "method"));
    return s ? s : "";
}

bool ls_mcp_msg_wants_progress(const ls_mcp_msg *msg) {
    if (json_is_array(msg->root) || !is_request(msg->root)) return false;
    if (strcmp(ls_mcp_msg_method(msg), "tools/call") != 0) return false;
    json_t *tok = json_object_get(json_object_get(json_object_get(msg->root, "params"), "_meta"),
                                  "progressToken");
    return json_is_string(tok) || json_is_integer(tok);
}

const char *ls_mcp_msg_init_version(const ls_mcp_msg *msg) {
    if (json_is_array(msg->root) || !is_request(msg->root)) return NULL;
    if (strcmp(ls_mcp_msg_method(msg), "initialize") != 0) return NULL;
    return json_string_value(json_object_get(json_object_get(msg->root, "params"), "protocolVersion"));
}

/* ---- notifications ---------------------------------------------------- */

static void send_notification(const ls_mcp_sink *sink, const char *method, json_t *params) {
    if (!sink || !sink->send) {
        json_decref(params);
        return;
    }
    json_t *o = json_pack("{s:s,s:s,s:o}", "jsonrpc", "2.0", "method", method, "params", params);
    if (!o) return;
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (s) sink->send(sink->ctx, s);
    free(s);
}

void ls_mcp_call_progress(ls_mcp_call *c, double progress, double total, const char *message,
                          bool final) {
    if (!c->progress_token || !c->sink || !c->sink->send) return;
    if (progress <= c->last_progress && c->last_progress_ns != 0) return;
    int64_t now = ls_monotonic_ns();
    if (!final && c->last_progress_ns != 0 && now - c->last_progress_ns < 100 * LS_NS_PER_MS) return;
    c->last_progress = progress;
    c->last_progress_ns = now;
    json_t *p = json_pack("{s:O,s:f}", "progressToken", c->progress_token, "progress", progress);
    if (!p) return;
    if (total > 0) json_object_set_new(p, "total", json_real(total));
    if (message && atomic_load(&c->s->version) >= LS_MCP_V_2025_03_26)
        json_object_set_new(p, "message", json_string(message));
    send_notification(c->sink, "notifications/progress", p);
}

static const char *const log_names[] = {"debug", "info", "notice", "warning",
                                        "error", "critical", "alert", "emergency"};

void ls_mcp_call_log(ls_mcp_call *c, ls_mcp_log_level level, const char *fmt, ...) {
    if (!c->sink || !c->sink->send || (int)level < atomic_load(&c->s->log_level)) return;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    json_t *p = json_pack("{s:s,s:s,s:s}", "level", log_names[level], "logger", "litestream",
                          "data", buf);
    if (p) send_notification(c->sink, "notifications/message", p);
}

/* ---- method handlers -------------------------------------------------- */

typedef struct reply {
    json_t *result;       /* new reference, or */
    const char *raw;      /* pre-serialised result text (borrowed), or */
    int code;             /* error code */
    char msg[1100];
    json_t *data;         /* error data (new ref) */
    bool none;            /* no answer (cancelled) */
} reply;

static void set_error(reply *r, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_error(reply *r, int code, const char *fmt, ...) {
    r->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
    va_end(ap);
}

static const char instructions[] =
    "Litestream replicates SQLite databases to replicas (file, S3, ...) as LTX files. "
    "Use litestream_databases or litestream_status for replication health, litestream_ltx and "
    "litestream_snapshots to see restore points, litestream_generations for v0.3 backups, and "
    "litestream_restore (dry_run first) to restore a database to a new file. TXIDs are 16-digit "
    "hex strings; timestamps are RFC 3339.";

static void m_initialize(ls_mcp *m, ls_mcp_session *s, json_t *params, reply *r) {
    (void)m;
    json_t *pv = json_object_get(params, "protocolVersion");
    if (!json_is_string(pv)) {
        set_error(r, -32602, "Invalid params: initialize needs a string protocolVersion");
        return;
    }
    ls_mcp_ver v = ls_mcp_ver_parse(json_string_value(pv));
    if (v == LS_MCP_V_UNKNOWN) v = LS_MCP_V_2025_11_25;
    atomic_store(&s->version, (int)v);
    json_t *caps = json_pack("{s:{s:b},s:{}}", "tools", "listChanged", 0, "logging");
    json_t *info = json_pack("{s:s,s:s}", "name", LS_MCP_SERVER_NAME, "version", ls_version());
    if (info && v >= LS_MCP_V_2025_06_18) json_object_set_new(info, "title", json_string("Litestream"));
    r->result = json_pack("{s:s,s:o,s:o,s:s}", "protocolVersion", ls_mcp_ver_name(v),
                          "capabilities", caps, "serverInfo", info, "instructions", instructions);
    if (!r->result) set_error(r, -32603, "Internal error: out of memory");
}

static void m_tools_list(ls_mcp *m, ls_mcp_session *s, json_t *params, reply *r) {
    json_t *cursor = json_object_get(params, "cursor");
    if (cursor && !json_is_null(cursor)) {
        set_error(r, -32602, "Invalid params: unknown cursor (the tool list has one page)");
        return;
    }
    ls_mcp_ver v = (ls_mcp_ver)atomic_load(&s->version);
    if (v == LS_MCP_V_UNKNOWN) v = LS_MCP_V_2025_03_26;
    r->raw = ls_mcp_tools_json(m, v);
}

static void m_set_level(ls_mcp *m, ls_mcp_session *s, json_t *params, reply *r) {
    (void)m;
    const char *lv = json_string_value(json_object_get(params, "level"));
    for (int i = 0; lv && i < 8; i++) {
        if (strcmp(lv, log_names[i]) == 0) {
            atomic_store(&s->log_level, i);
            r->result = json_object();
            return;
        }
    }
    set_error(r, -32602,
              "Invalid params: level must be one of debug, info, notice, warning, error, "
              "critical, alert, emergency");
}

static json_t *tool_result_json(ls_mcp_session *s, ls_mcp_tool_result *tr) {
    json_t *res = json_object();
    json_t *content = json_array();
    if (tr->status == LS_MCP_TOOL_OK) {
        char *text = json_dumps(tr->value, JSON_COMPACT);
        /* jansson's own output is valid UTF-8: skip re-validating it */
        json_t *item = json_object();
        json_object_set_new(item, "type", json_string("text"));
        json_object_set_new(item, "text", json_string_nocheck(text ? text : "{}"));
        json_array_append_new(content, item);
        free(text);
        json_object_set_new(res, "content", content);
        if (atomic_load(&s->version) >= LS_MCP_V_2025_06_18)
            json_object_set(res, "structuredContent", tr->value);
        json_object_set_new(res, "isError", json_false());
    } else {
        json_array_append_new(content, json_pack("{s:s,s:s}", "type", "text", "text", tr->msg));
        json_object_set_new(res, "content", content);
        json_object_set_new(res, "isError", json_true());
    }
    return res;
}

static void m_tools_call(ls_mcp *m, ls_mcp_session *s, json_t *id, json_t *params,
                         const ls_mcp_sink *sink, reply *r) {
    if (!json_is_object(params)) {
        set_error(r, -32602, "Invalid params: tools/call needs params {name, arguments}");
        return;
    }
    json_t *name = json_object_get(params, "name");
    if (!json_is_string(name)) {
        set_error(r, -32602, "Invalid params: tools/call needs a string \"name\"");
        return;
    }
    json_t *args = json_object_get(params, "arguments");
    if (args && json_is_null(args)) args = NULL;
    if (args && !json_is_object(args)) {
        set_error(r, -32602, "Invalid params: \"arguments\" must be an object");
        return;
    }
    bool removed = false;
    const ls_mcp_tool *t = ls_mcp_tool_find(m, json_string_value(name), &removed);
    if (!t) {
        if (removed)
            set_error(r, -32602,
                      "Unknown tool: %s is disabled because this server is read-only "
                      "(mcp-read-only: true)",
                      json_string_value(name));
        else
            set_error(r, -32602, "Unknown tool: %s (call tools/list for the available tools)",
                      json_string_value(name));
        return;
    }
    char msg[600];
    if (!ls_mcp_tool_check_args(m, t, args, msg, sizeof(msg))) {
        set_error(r, -32602, "Invalid arguments for tool %s: %s", t->name, msg);
        return;
    }
    ls_mcp_call call;
    memset(&call, 0, sizeof(call));
    call.m = m;
    call.s = s;
    call.sink = sink;
    json_t *tok = json_object_get(json_object_get(params, "_meta"), "progressToken");
    if (json_is_string(tok) || json_is_integer(tok)) call.progress_token = tok;
    atomic_init(&call.cancel, false);
    ls_mcp_inflight *f = id ? inflight_add(m, s, id, &call.cancel) : NULL;
    ls_mcp_tool_result tr;
    memset(&tr, 0, sizeof(tr));
    ls_mcp_tool_run(&call, t, args, &tr);
    inflight_remove(m, f);
    if (tr.status == LS_MCP_TOOL_CANCELLED) {
        r->none = true;
    } else if (tr.status == LS_MCP_TOOL_INVALID) {
        set_error(r, -32602, "Invalid arguments for tool %s: %s", t->name, tr.msg);
    } else {
        r->result = tool_result_json(s, &tr);
    }
    json_decref(tr.value);
}

/* Calls that build a status document for every configured database
 * (litestream_databases, litestream_status) are CPU-bound jansson work
 * whose transient trees and serialized text dominate the process's peak
 * memory under concurrent load: at most LS_MCP_HEAVY_MAX run at a time
 * (more would not finish sooner on a small machine: with 100 databases one
 * at a time served 126 calls/s against 130 for two, at 1.3 MB less peak
 * RSS), the rest wait. */
#ifndef LS_MCP_HEAVY_MAX
#define LS_MCP_HEAVY_MAX 1
#endif
static char *exec_method(ls_mcp *m, ls_mcp_session *s, json_t *id, const char *meth,
                         json_t *params, const ls_mcp_sink *sink, bool in_batch, bool *cancelled,
                         reply *rp);
static pthread_mutex_t heavy_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t heavy_cv = PTHREAD_COND_INITIALIZER;
static int heavy_running;

static bool heavy_call(const char *meth, json_t *params) {
    if (strcmp(meth, "tools/call") != 0) return false;
    const char *n = json_string_value(json_object_get(params, "name"));
    return n && (strcmp(n, "litestream_databases") == 0 || strcmp(n, "litestream_status") == 0);
}

static void heavy_enter(void) {
    pthread_mutex_lock(&heavy_mu);
    while (heavy_running >= LS_MCP_HEAVY_MAX) pthread_cond_wait(&heavy_cv, &heavy_mu);
    heavy_running++;
    pthread_mutex_unlock(&heavy_mu);
}

static void heavy_leave(void) {
    pthread_mutex_lock(&heavy_mu);
    heavy_running--;
    pthread_cond_signal(&heavy_cv);
    pthread_mutex_unlock(&heavy_mu);
}

/* Executes one message; returns the serialized answer or NULL. */
static char *exec_one(ls_mcp *m, ls_mcp_session *s, json_t *msg, const ls_mcp_sink *sink,
                      bool in_batch, bool *cancelled) {
    reply r;
    memset(&r, 0, sizeof(r));
    json_t *id = json_is_object(msg) ? json_object_get(msg, "id") : NULL;
    bool valid_id = id && (json_is_string(id) || json_is_integer(id));
    json_t *method = json_is_object(msg) ? json_object_get(msg, "method") : NULL;
    json_t *jv = json_is_object(msg) ? json_object_get(msg, "jsonrpc") : NULL;

    if (!json_is_object(msg) || !json_is_string(jv) || strcmp(json_string_value(jv), "2.0") != 0) {
        return ls_mcp_error_json(valid_id ? id : NULL, -32600,
                                 "Invalid Request: expected a JSON-RPC 2.0 object with "
                                 "\"jsonrpc\": \"2.0\"",
                                 NULL);
    }
    if (!method) {
        /* A response from the client (we never send requests): ignore. */
        if (json_object_get(msg, "result") || json_object_get(msg, "error")) return NULL;
        return ls_mcp_error_json(valid_id ? id : NULL, -32600,
                                 "Invalid Request: missing \"method\"", NULL);
    }
    if (!json_is_string(method))
        return ls_mcp_error_json(valid_id ? id : NULL, -32600,
                                 "Invalid Request: \"method\" must be a string", NULL);
    if (id && !valid_id)
        return ls_mcp_error_json(NULL, -32600,
                                 "Invalid Request: \"id\" must be a string or an integer", NULL);
    json_t *params = json_object_get(msg, "params");
    if (params && !json_is_object(params)) {
        if (!id) return NULL;
        return ls_mcp_error_json(id, -32602, "Invalid params: \"params\" must be an object", NULL);
    }
    const char *meth = json_string_value(method);
    s->last_used_ns = ls_monotonic_ns();

    if (!id) { /* notification */
        if (strcmp(meth, "notifications/initialized") == 0) {
            s->initialized = true;
        } else if (strcmp(meth, "notifications/cancelled") == 0) {
            json_t *rid = json_object_get(params, "requestId");
            if (json_is_string(rid) || json_is_integer(rid)) inflight_cancel(m, s, rid);
        }
        return NULL; /* unknown notifications are ignored */
    }

    bool heavy = heavy_call(meth, params);
    if (heavy) heavy_enter();
    char *out = exec_method(m, s, id, meth, params, sink, in_batch, cancelled, &r);
    if (heavy) heavy_leave();
    return out;
}

static char *exec_method(ls_mcp *m, ls_mcp_session *s, json_t *id, const char *meth,
                         json_t *params, const ls_mcp_sink *sink, bool in_batch, bool *cancelled,
                         reply *rp) {
    reply r = *rp;
    if (strcmp(meth, "initialize") == 0) {
        if (in_batch) set_error(&r, -32600, "Invalid Request: initialize must not be part of a batch");
        else m_initialize(m, s, params, &r);
    } else if (strcmp(meth, "ping") == 0) {
        r.raw = "{}";
    } else if (strcmp(meth, "tools/list") == 0) {
        m_tools_list(m, s, params, &r);
    } else if (strcmp(meth, "tools/call") == 0) {
        m_tools_call(m, s, id, params, sink, &r);
    } else if (strcmp(meth, "logging/setLevel") == 0) {
        m_set_level(m, s, params, &r);
    } else {
        set_error(&r, -32601, "Method not found: %s", meth);
    }

    if (r.none) {
        *cancelled = true;
        return NULL;
    }
    char *out = NULL;
    if (r.code) {
        out = ls_mcp_error_json(id, r.code, r.msg, r.data);
    } else if (r.raw) {
        /* Hot path (tools/list, ping): plain concatenation, no printf. */
        char *idtxt = json_dumps(id, JSON_COMPACT | JSON_ENCODE_ANY);
        if (idtxt) {
            static const char a[] = "{\"jsonrpc\":\"2.0\",\"id\":", b[] = ",\"result\":";
            size_t li = strlen(idtxt), lr = strlen(r.raw);
            out = malloc(sizeof(a) - 1 + li + sizeof(b) - 1 + lr + 2);
            if (out) {
                char *p = out;
                memcpy(p, a, sizeof(a) - 1);
                p += sizeof(a) - 1;
                memcpy(p, idtxt, li);
                p += li;
                memcpy(p, b, sizeof(b) - 1);
                p += sizeof(b) - 1;
                memcpy(p, r.raw, lr);
                p += lr;
                *p++ = '}';
                *p = 0;
            }
        }
        free(idtxt);
    } else {
        json_t *o = json_pack("{s:s,s:O,s:o}", "jsonrpc", "2.0", "id", id, "result", r.result);
        r.result = NULL;
        out = o ? json_dumps(o, JSON_COMPACT) : NULL;
        json_decref(o);
    }
    json_decref(r.result);
    json_decref(r.data);
    return out;
}

char *ls_mcp_execute(ls_mcp *m, ls_mcp_session *s, ls_mcp_msg *msg, const ls_mcp_sink *sink,
                     bool *cancelled) {
    *cancelled = false;
    if (!json_is_array(msg->root)) return exec_one(m, s, msg->root, sink, false, cancelled);

    ls_mcp_ver v = (ls_mcp_ver)atomic_load(&s->version);
    if (v >= LS_MCP_V_2025_06_18 || v == LS_MCP_V_2024_11_05) {
        char txt[160];
        snprintf(txt, sizeof(txt),
                 "Invalid Request: JSON-RPC batches are not supported in protocol version %s "
                 "(only 2025-03-26)",
                 ls_mcp_ver_name(v));
        return ls_mcp_error_json(NULL, -32600, txt, NULL);
    }
    size_t cap = 256, len = 1, i;
    char *out = malloc(cap);
    if (!out) return NULL;
    out[0] = '[';
    size_t n = 0;
    json_t *e;
    json_array_foreach(msg->root, i, e) {
        bool c = false;
        char *one = exec_one(m, s, e, sink, true, &c);
        if (c) *cancelled = true;
        if (!one) continue;
        size_t l = strlen(one);
        if (len + l + 3 > cap) {
            while (len + l + 3 > cap) cap *= 2;
            char *no = realloc(out, cap);
            if (!no) {
                free(one);
                free(out);
                return NULL;
            }
            out = no;
        }
        if (n++) out[len++] = ',';
        memcpy(out + len, one, l);
        len += l;
        free(one);
    }
    if (n == 0) {
        free(out);
        return NULL;
    }
    out[len++] = ']';
    out[len] = 0;
    return out;
}

/* ---- REST ------------------------------------------------------------- */

static int http_status_for(ls_code c) {
    switch (c) {
    case LS_ERR_NOTFOUND:
    case LS_ERR_UNAVAILABLE: return 404;
    case LS_ERR_EXISTS:
    case LS_ERR_BUSY: return 409;
    case LS_ERR_INVALID:
    case LS_ERR_USAGE:
    case LS_ERR_CONFIG: return 400;
    case LS_ERR_AUTH: return 403;
    case LS_ERR_UNSUPPORTED: return 501;
    case LS_ERR_NETWORK:
    case LS_ERR_TIMEOUT: return 502;
    default: return 500;
    }
}

static char *rest_error(const char *code, const char *msg) {
    json_t *o = json_pack("{s:s,s:s}", "error", msg, "code", code);
    char *s = o ? json_dumps(o, JSON_INDENT(2)) : NULL;
    json_decref(o);
    return s;
}

int ls_mcp_rest_call(ls_mcp *m, const char *tool, json_t *args, char **body) {
    bool removed = false;
    const ls_mcp_tool *t = ls_mcp_tool_find(m, tool, &removed);
    char msg[1200];
    if (!t) {
        if (removed) {
            snprintf(msg, sizeof(msg), "tool %s is disabled because this server is read-only (mcp-read-only: true)", tool);
            *body = rest_error("forbidden", msg);
            return 403;
        }
        snprintf(msg, sizeof(msg), "unknown tool: %s (GET /mcp/tools lists the tools)", tool);
        *body = rest_error("unknown_tool", msg);
        return 404;
    }
    if (!ls_mcp_tool_check_args(m, t, args, msg, sizeof(msg))) {
        char full[1300];
        snprintf(full, sizeof(full), "invalid arguments for tool %s: %s", t->name, msg);
        *body = rest_error("invalid_arguments", full);
        return 400;
    }
    ls_mcp_session *s = ls_mcp_session_transient(LS_MCP_V_2025_11_25);
    if (!s) {
        *body = rest_error("internal", "out of memory");
        return 500;
    }
    ls_mcp_call call;
    memset(&call, 0, sizeof(call));
    call.m = m;
    call.s = s;
    call.rest = true;
    atomic_init(&call.cancel, false);
    json_t *fake_id = json_string("rest");
    ls_mcp_inflight *f = inflight_add(m, s, fake_id, &call.cancel);
    json_decref(fake_id);
    ls_mcp_tool_result tr;
    memset(&tr, 0, sizeof(tr));
    ls_mcp_tool_run(&call, t, args, &tr);
    inflight_remove(m, f);
    ls_mcp_session_put(s);
    int status;
    switch (tr.status) {
    case LS_MCP_TOOL_OK:
        *body = json_dumps(tr.value, JSON_INDENT(2));
        status = 200;
        break;
    case LS_MCP_TOOL_INVALID:
        snprintf(msg, sizeof(msg), "invalid arguments for tool %s: %s", t->name, tr.msg);
        *body = rest_error("invalid_arguments", msg);
        status = 400;
        break;
    case LS_MCP_TOOL_CANCELLED:
        *body = rest_error("canceled", "the call was cancelled because the server is stopping");
        status = 503;
        break;
    default:
        status = http_status_for(tr.code);
        *body = rest_error(ls_code_name(tr.code), tr.msg);
        break;
    }
    json_decref(tr.value);
    return status;
}
