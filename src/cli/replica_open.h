/*
 * cli/replica_open.h — from a config replica or a replica URL to a storage
 * backend, shared by every command that talks to a replica.
 *
 * Returns a storage the caller closes with ls_storage_close(). Backends this
 * build does not implement yet give LS_ERR_UNSUPPORTED with a message naming
 * the type.
 */
#ifndef LS_CLI_REPLICA_OPEN_H
#define LS_CLI_REPLICA_OPEN_H

#include "config/config.h"
#include "storage/storage.h"

/* From a resolved replica client config (cfg->dbs[i].replica->client). */
ls_code cli_open_replica_storage(const ls_replica_client_cfg *c, ls_storage **out, ls_err *err);

/* From a replica URL given on the command line ("file:///backups/db"). */
ls_code cli_open_replica_url(const char *url, ls_storage **out, ls_err *err);

#endif
