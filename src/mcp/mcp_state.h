/*
 * mcp/mcp_state.h — facts the tools report: configs, targets (a database
 * of a config or a replica URL, opened as storage), database/replica status
 * (live from the running store, or from local metadata and the replica),
 * and output-path safety for restores.
 *
 * Configs: the server's own config (opts.config, or config_path loaded once
 * and reloaded when the file changes) is shared and reference counted;
 * another `config` argument is loaded for the one call. Every acquire is
 * paired with a release. Thread-safe.
 */
#ifndef LS_MCP_STATE_H
#define LS_MCP_STATE_H

#include <jansson.h>
#include <stdbool.h>

#include "config/config.h"
#include "mcp/mcp_internal.h"
#include "storage/storage.h"

typedef struct ls_mcp_cfg {
    const ls_config *cfg;
    struct ls_mcp_cfgref *ref;     /* NULL when borrowed from opts.config */
    bool is_server_config;         /* the server's own config */
    char path[4096];               /* path shown to users */
} ls_mcp_cfg;

/* arg NULL/"" = the server's config. Errors: LS_ERR_CONFIG with the
 * loader's message. */
ls_code ls_mcp_config_acquire(ls_mcp *m, const char *arg, ls_mcp_cfg *out, ls_err *err);
void ls_mcp_config_release(ls_mcp *m, ls_mcp_cfg *c);
void ls_mcp_state_free(ls_mcp *m);

typedef struct ls_mcp_target {
    bool is_url;
    char *db_path;                 /* config mode: expanded path */
    const ls_db_config *db;        /* config mode */
    ls_mcp_cfg cfg;                /* config mode */
    ls_storage *st;
    char *url;                     /* display URL (no secrets) */
    const char *type;              /* "file", "s3", ... */
    char *replica_name;
} ls_mcp_target;

/* Resolves arg (database path or replica URL), checks the optional replica
 * name filter and opens the storage. Errors say what to do. */
ls_code ls_mcp_target_open(ls_mcp *m, const char *arg, const char *config, const char *replica,
                           ls_mcp_target *t, ls_err *err);
void ls_mcp_target_close(ls_mcp *m, ls_mcp_target *t);

/* One database entry of litestream_databases / litestream_status (new
 * reference). remote: list the replica when no live status exists. */
json_t *ls_mcp_db_entry(ls_mcp *m, const ls_mcp_cfg *c, const ls_db_config *db, bool remote);

/* True when this process replicates abs_path (store given). */
bool ls_mcp_is_replicated(ls_mcp *m, const char *abs_path);

/* Resolves a restore output path: absolute, no ".." element, symlinks
 * resolved for the existing part, inside restore_dirs when configured.
 * *out is malloc'd. Errors (LS_ERR_INVALID / LS_ERR_AUTH) say why. */
ls_code ls_mcp_resolve_output(ls_mcp *m, const char *path, char **out, ls_err *err);

/* Greatest L0 TXID in a meta directory (0 when none). */
ls_code ls_mcp_local_txid(const char *meta, uint64_t *txid, ls_err *err);

/* "0000000000000abc" (static-per-call buffer given by caller). */
void ls_mcp_hex16(uint64_t v, char out[17]);
/* RFC 3339 with nanoseconds or JSON null when ns == 0 (new reference). */
json_t *ls_mcp_time_json(int64_t ns);

#endif
