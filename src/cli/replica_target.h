/*
 * cli/replica_target.h — resolves the `DB_PATH|REPLICA_URL` argument of the
 * replica-reading commands (ltx, restore, snapshots; spec 10.1, 10.3, 10.5)
 * to an open storage backend, with the reference's rules and messages:
 *
 *   - the argument is a replica URL iff it matches ^\w+:// (ls_is_replica_url);
 *     a non-empty -config with a URL -> "cannot specify a replica URL and the
 *     -config flag";
 *   - otherwise the config file is loaded (-config, else $LITESTREAM_CONFIG,
 *     else /etc/litestream.yml), the path is expanded (sqlite:// stripped,
 *     ~ expanded, made absolute) and must name a `dbs:` entry ->
 *     "database not found in config: P";
 *   - the replica is opened with cli/replica_open.h (backends this build does
 *     not implement -> LS_ERR_UNSUPPORTED naming the type).
 *
 * cli_target_resolve() does everything except opening the storage, so a
 * command can act on the resolved paths first (restore -if-db-not-exists);
 * cli_target_open_storage() then opens it. cli_target_open() does both.
 *
 * Ownership: the target owns the config, the expanded path and the storage;
 * cli_target_close() frees everything (safe on a zeroed target).
 * Not thread-safe (CLI use only).
 */
#ifndef LS_CLI_REPLICA_TARGET_H
#define LS_CLI_REPLICA_TARGET_H

#include <stdbool.h>

#include "config/config.h"
#include "storage/storage.h"
#include "util/error.h"

typedef struct cli_target {
    bool is_url;
    const char *arg;          /* the argument as given (not owned) */
    ls_config *cfg;           /* config mode: the loaded config */
    const ls_db_config *db;   /* config mode: the database entry */
    char *db_path;            /* config mode: expanded database path */
    ls_storage *st;           /* after cli_target_open_storage() */
} cli_target;

/* config_path: the -config value (NULL or "" = not given). */
ls_code cli_target_resolve(const char *arg, const char *config_path, bool expand_env,
                           cli_target *t, ls_err *err);
ls_code cli_target_open_storage(cli_target *t, ls_err *err);
ls_code cli_target_open(const char *arg, const char *config_path, bool expand_env, cli_target *t,
                        ls_err *err);
/* Replica type name for output ("file", "s3", ...). */
const char *cli_target_type(const cli_target *t);
void cli_target_close(cli_target *t);

/* The usage line "Defaults to <path>" uses the effective default config
 * path; this fills buf with it. */
void cli_default_config_text(char *buf, size_t n);

#endif
