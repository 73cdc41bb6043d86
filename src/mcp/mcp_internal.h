/*
 * mcp/mcp_internal.h — what the MCP modules share (not used outside mcp/).
 *
 *   jsonrpc.c  message parsing, dispatch, versions, sessions, calls in flight
 *   tools.c    the tool table (name, description, schemas, annotations,
 *              handler) and the argument validator
 *   state.c    database / replica facts for the tools (store or local state)
 *   http.c     Streamable HTTP, legacy SSE and REST (libmicrohttpd)
 *   stdio.c    the stdio transport
 *
 * Ownership: ls_mcp_session is reference counted (ls_mcp_session_put); a
 * parsed message (ls_mcp_msg) belongs to the caller; JSON values follow
 * jansson's reference rules (functions say "new reference" or "borrowed").
 */
#ifndef LS_MCP_INTERNAL_H
#define LS_MCP_INTERNAL_H

#include <jansson.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "mcp/mcp.h"

/* ---- protocol versions ------------------------------------------------ */

typedef enum ls_mcp_ver {
    LS_MCP_V_UNKNOWN = 0,
    LS_MCP_V_2024_11_05,
    LS_MCP_V_2025_03_26,
    LS_MCP_V_2025_06_18,
    LS_MCP_V_2025_11_25,
} ls_mcp_ver;
#define LS_MCP_V_COUNT 5

ls_mcp_ver ls_mcp_ver_parse(const char *s);      /* UNKNOWN if unsupported */
const char *ls_mcp_ver_name(ls_mcp_ver v);       /* "" for UNKNOWN */

/* ---- sessions --------------------------------------------------------- */

typedef enum ls_mcp_log_level {
    LS_MCP_LOG_DEBUG = 0, LS_MCP_LOG_INFO, LS_MCP_LOG_NOTICE, LS_MCP_LOG_WARNING,
    LS_MCP_LOG_ERROR, LS_MCP_LOG_CRITICAL, LS_MCP_LOG_ALERT, LS_MCP_LOG_EMERGENCY,
} ls_mcp_log_level;

typedef struct ls_mcp_session {
    char id[40];                  /* "" for a transient (stateless) session */
    _Atomic int version;          /* ls_mcp_ver */
    _Atomic int log_level;        /* ls_mcp_log_level; default INFO */
    atomic_bool initialized;
    atomic_bool closed;
    _Atomic int refs;
    _Atomic int64_t last_used_ns;
    bool legacy;                  /* HTTP+SSE session */
    void *transport;              /* transport-owned data (legacy stream) */
    void (*transport_free)(void *);
} ls_mcp_session;

/* A transient session (not registered): for stateless HTTP requests,
 * REST calls and stdio. refs = 1. */
ls_mcp_session *ls_mcp_session_transient(ls_mcp_ver v);
/* Creates and registers a session with a random 128-bit id. refs = 2
 * (registry + caller). NULL when the table is full or on OOM. */
ls_mcp_session *ls_mcp_session_create(ls_mcp *m, bool legacy);
/* Finds a registered live session (new reference) or NULL. */
ls_mcp_session *ls_mcp_session_find(ls_mcp *m, const char *id);
/* Unregisters (DELETE / stream closed) and marks closed. */
void ls_mcp_session_close(ls_mcp *m, ls_mcp_session *s);
void ls_mcp_session_put(ls_mcp_session *s);
size_t ls_mcp_session_count(ls_mcp *m);

/* ---- sinks: where notifications of a running request go -------------- */

typedef struct ls_mcp_sink {
    /* Sends one complete JSON-RPC message (a single line of JSON, no
     * newline). Returns false when the peer is gone. NULL = notifications
     * cannot be delivered (plain JSON answer). */
    bool (*send)(void *ctx, const char *json);
    void *ctx;
} ls_mcp_sink;

/* ---- tool calls ------------------------------------------------------- */

typedef struct ls_mcp_call {
    ls_mcp *m;
    ls_mcp_session *s;
    const ls_mcp_sink *sink;
    json_t *progress_token;       /* borrowed; NULL = no progress wanted */
    atomic_bool cancel;
    double last_progress;
    int64_t last_progress_ns;
    bool rest;                    /* REST call (no JSON-RPC) */
} ls_mcp_call;

/* Sends notifications/progress (rate limited to ~10/s unless final;
 * progress must increase). No-op without token or sink. */
void ls_mcp_call_progress(ls_mcp_call *c, double progress, double total, const char *message,
                          bool final);
/* Sends notifications/message when the session's level allows it. */
void ls_mcp_call_log(ls_mcp_call *c, ls_mcp_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

typedef enum ls_mcp_tool_status {
    LS_MCP_TOOL_OK = 0,       /* value holds the structured result */
    LS_MCP_TOOL_ERROR,        /* isError result: msg says what to do */
    LS_MCP_TOOL_INVALID,      /* -32602: arguments invalid */
    LS_MCP_TOOL_CANCELLED,    /* cancelled: answer nothing */
} ls_mcp_tool_status;

typedef struct ls_mcp_tool_result {
    ls_mcp_tool_status status;
    ls_code code;             /* for REST status mapping (ERROR) */
    json_t *value;            /* new reference (OK) */
    char msg[1024];
} ls_mcp_tool_result;

typedef void (*ls_mcp_tool_fn)(ls_mcp_call *c, json_t *args, ls_mcp_tool_result *r);

enum {
    LS_MCP_TOOL_READONLY = 1,
    LS_MCP_TOOL_DESTRUCTIVE = 2,
    LS_MCP_TOOL_IDEMPOTENT = 4,
    LS_MCP_TOOL_OPENWORLD = 8,
    LS_MCP_TOOL_WRITES = 16,      /* removed in read-only mode */
};

typedef struct ls_mcp_tool {
    const char *name;
    const char *title;
    const char *description;
    const char *input_schema;     /* JSON text */
    const char *output_schema;    /* JSON text */
    int flags;
    ls_mcp_tool_fn run;
} ls_mcp_tool;

extern const ls_mcp_tool ls_mcp_tools[];
extern const size_t ls_mcp_tool_count;

/* Tool by name, NULL when unknown or removed by read-only mode. */
const ls_mcp_tool *ls_mcp_tool_find(ls_mcp *m, const char *name, bool *removed);
/* Checks args (object or NULL) against the tool's input schema; on failure
 * fills msg and returns false. */
bool ls_mcp_tool_check_args(ls_mcp *m, const ls_mcp_tool *t, json_t *args, char *msg, size_t n);
/* Runs a tool (arguments already checked). */
void ls_mcp_tool_run(ls_mcp_call *c, const ls_mcp_tool *t, json_t *args, ls_mcp_tool_result *r);
/* tools/list "tools" array for a version, as JSON text (cached, owned by m). */
const char *ls_mcp_tools_json(ls_mcp *m, ls_mcp_ver v);
/* REST listing {"tools":[...full metadata...]} (cached text). */
const char *ls_mcp_tools_rest_json(ls_mcp *m);
/* Builds the tool table caches (called by ls_mcp_new). */
ls_code ls_mcp_tools_init(ls_mcp *m, ls_err *err);

/* ---- the server object ------------------------------------------------ */

/* Read-only tool calls running at once (others wait): answers for many
 * databases are large, so this bounds the server's memory under load. */
#define LS_MCP_MAX_LISTINGS 4

typedef struct ls_mcp_inflight {
    ls_mcp_session *s;            /* not a reference: identity only */
    char *id_key;                 /* compact JSON of the request id */
    atomic_bool *cancel;
    struct ls_mcp_inflight *next;
} ls_mcp_inflight;

struct ls_mcp {
    char *config_path;            /* as given ("" = default) */
    const ls_config *config;      /* borrowed */
    bool expand_env;
    struct ls_store *store;
    char *addr;
    bool read_only;
    char *token;
    char **restore_dirs;          /* realpath'ed */
    size_t nrestore_dirs;
    ls_mcp_open_replica_fn open_replica;
    ls_mcp_open_url_fn open_url;
    int64_t started_ns;           /* wall */
    int64_t started_mono_ns;

    pthread_mutex_t mu;           /* sessions, inflight, config cache */
    sem_t listing_sem;            /* bounds concurrent read-only tool calls
                                     (memory: each builds its whole answer) */
    ls_mcp_session **sessions;
    size_t nsessions, capsessions;
    ls_mcp_inflight *inflight;
    atomic_bool stopping;

    /* Cached config loaded from config_path (when config == NULL). */
    struct ls_mcp_cfgref *cfg_cache;

    json_t *in_schemas[16];       /* parsed input schemas, by tool index */
    char *tools_json[LS_MCP_V_COUNT];
    char *tools_rest_json;
};

/* ---- jsonrpc.c -------------------------------------------------------- */

typedef struct ls_mcp_msg ls_mcp_msg;

typedef enum ls_mcp_parse_rc {
    LS_MCP_PARSE_OK = 0,
    LS_MCP_PARSE_ERROR,           /* -32700, reply holds the error */
    LS_MCP_PARSE_INVALID,         /* -32600, reply holds the error */
} ls_mcp_parse_rc;

/* Parses a body (one message or a batch). On error *reply is a malloc'd
 * JSON-RPC error (id null). */
ls_mcp_parse_rc ls_mcp_parse(const char *body, size_t len, ls_mcp_msg **out, char **reply);
void ls_mcp_msg_free(ls_mcp_msg *msg);
bool ls_mcp_msg_is_batch(const ls_mcp_msg *msg);
/* Number of requests (messages with an id and a method). */
size_t ls_mcp_msg_requests(const ls_mcp_msg *msg);
/* Method of the first message ("" when none). */
const char *ls_mcp_msg_method(const ls_mcp_msg *msg);
/* True when msg is a single tools/call request carrying a progress token. */
bool ls_mcp_msg_wants_progress(const ls_mcp_msg *msg);
/* protocolVersion asked by a single initialize request (NULL otherwise). */
const char *ls_mcp_msg_init_version(const ls_mcp_msg *msg);

/* Executes every message of msg in session s; notifications produced while
 * running go to sink. Returns the reply (malloc'd JSON: object, or array for
 * a batch) or NULL when nothing is to be answered (notifications only, or
 * the request was cancelled). *cancelled is set when a request was cancelled. */
char *ls_mcp_execute(ls_mcp *m, ls_mcp_session *s, ls_mcp_msg *msg, const ls_mcp_sink *sink,
                     bool *cancelled);

/* JSON-RPC error message text (malloc'd); id may be NULL (-> null). */
char *ls_mcp_error_json(json_t *id, int code, const char *message, json_t *data);

/* Runs a tool for REST: returns the HTTP status and a malloc'd JSON body. */
int ls_mcp_rest_call(ls_mcp *m, const char *tool, json_t *args, char **body);

/* Secret-free URL for display (never NULL; malloc'd). */
char *ls_mcp_display_url(const char *url);

#endif
