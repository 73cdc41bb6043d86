/*
 * mcp/mcp.h — the MCP (Model Context Protocol) server: contract.
 *
 * One server object (ls_mcp) holds what every transport shares: the tool
 * table (mcp/tools.c), the sessions and the requests in flight. Transports
 * feed it JSON-RPC 2.0 messages and write back what it answers:
 *
 *   stdio   ls_mcp_stdio_run(): one message per line on in/out (what
 *           `litestream mcp -config FILE` runs; logs go to stderr).
 *   HTTP    ls_mcp_http_start() / ls_mcp_http_stop(): libmicrohttpd, one
 *           thread per connection. Endpoints:
 *             POST/GET/DELETE /  and  /mcp      Streamable HTTP (2025-03-26+)
 *             GET /sse, POST /messages?sessionId=   legacy HTTP+SSE (2024-11-05)
 *             GET /mcp/tools                     REST: tools with schemas
 *             GET|POST /mcp/tools/{tool}         REST: run a tool, JSON result
 *
 * Protocol versions: 2024-11-05, 2025-03-26, 2025-06-18, 2025-11-25. The
 * client's version is echoed when supported, otherwise 2025-11-25 is
 * answered. Tool metadata and results follow the negotiated version
 * (annotations from 2025-03-26; title, outputSchema and structuredContent
 * from 2025-06-18); batches (JSON arrays) are accepted only where the
 * version allows them (2025-03-26, or no version known yet).
 *
 * Errors: malformed JSON -32700, not a JSON-RPC message -32600, unknown
 * method -32601, unknown tool or arguments that do not match the tool's
 * input schema -32602; a tool that ran and failed answers a result with
 * isError true and a message saying what to do.
 *
 * Tools never spawn processes: they call the engine (config, storage,
 * restore, store) directly. Replica storages are opened through
 * opts.open_replica / opts.open_url (the CLI injects its openers; NULL =
 * file backend only), so this module does not depend on cli/.
 *
 * Safety: read_only removes litestream_restore and litestream_reset; a
 * token makes every HTTP request need "Authorization: Bearer <token>"
 * (constant-time compare, never logged); restore outputs are confined to
 * restore_dirs when given (resolved with realpath, ".." refused); a restore
 * never writes over a database the given store replicates, nor over an
 * existing file unless the call says force. Replica URLs are shown without
 * credentials (ls_replica_url_display).
 *
 * Ownership: ls_mcp_new copies every string of opts; opts.config and
 * opts.store are borrowed and must outlive the server (stop the HTTP
 * transport before freeing either). Thread-safety: one ls_mcp may serve
 * several transports and threads at once; all shared state is locked.
 */
#ifndef LS_MCP_MCP_H
#define LS_MCP_MCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config/config.h"
#include "storage/storage.h"
#include "util/error.h"

struct ls_store;

#define LS_MCP_SERVER_NAME "Litestream MCP Server"
#define LS_MCP_LATEST_VERSION "2025-11-25"
/* Largest accepted JSON-RPC message (HTTP body or stdio line). */
#define LS_MCP_MAX_MESSAGE (1024 * 1024)

typedef ls_code (*ls_mcp_open_replica_fn)(const ls_replica_client_cfg *c, ls_storage **out,
                                          ls_err *err);
typedef ls_code (*ls_mcp_open_url_fn)(const char *url, ls_storage **out, ls_err *err);

typedef struct ls_mcp_opts {
    /* Default `config` argument of the tools (NULL/"" = $LITESTREAM_CONFIG
     * or /etc/litestream.yml). */
    const char *config_path;
    /* Optional already loaded config for config_path (borrowed). When NULL
     * the server loads config_path itself (and reloads it when the file
     * changes). */
    const ls_config *config;
    bool expand_env;               /* for configs the server loads */
    /* Optional running store (replicate): live status, and the set of
     * databases a restore must never overwrite. Borrowed. */
    struct ls_store *store;
    const char *addr;              /* shown by litestream_info */
    bool read_only;
    const char *token;             /* NULL/"" = no authentication */
    const char *const *restore_dirs;
    size_t nrestore_dirs;
    ls_mcp_open_replica_fn open_replica;
    ls_mcp_open_url_fn open_url;
} ls_mcp_opts;

typedef struct ls_mcp ls_mcp;

ls_code ls_mcp_new(const ls_mcp_opts *opts, ls_mcp **out, ls_err *err);
/* Cancels nothing: stop transports first. */
void ls_mcp_free(ls_mcp *m);

/* Sets the cancel flag of every tool call in flight, and of every call
 * started afterwards (shutdown). */
void ls_mcp_cancel_all(ls_mcp *m);
/* Number of tool calls in flight. */
size_t ls_mcp_calls_in_flight(ls_mcp *m);

/* ---- stdio ------------------------------------------------------------ */

/* Serves one client on in/out until EOF on in (then waits for the calls
 * still running and writes their answers). Tool calls run on their own
 * threads so notifications/cancelled can reach them. Returns 0, or 1 on an
 * I/O error. */
int ls_mcp_stdio_run(ls_mcp *m, FILE *in, FILE *out);

/* ---- HTTP ------------------------------------------------------------- */

typedef struct ls_mcp_http ls_mcp_http;

/* Parses "host:port" (":3001" = every interface, "127.0.0.1:3001",
 * "localhost:8080", "[::1]:3001"; port 0 = any free port), binds, starts
 * serving and logs "Starting MCP server addr=<addr>". Warns when the
 * address reaches beyond loopback and no token is set. */
ls_code ls_mcp_http_start(ls_mcp *m, const char *addr, ls_mcp_http **out, ls_err *err);
/* Port actually bound (useful with port 0). */
int ls_mcp_http_port(const ls_mcp_http *h);
/* Stops accepting, cancels calls in flight, ends streams and waits up to
 * deadline_ns for connections to finish; frees h. Returns false when the
 * deadline passed (the remaining threads are abandoned). */
bool ls_mcp_http_stop(ls_mcp_http *h, int64_t deadline_ns);

/* Parses an MCP listen address. host is "" for every interface. */
ls_code ls_mcp_parse_addr(const char *addr, char *host, size_t hostlen, int *port, ls_err *err);

#endif
