#include "cli/replica_target.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/replica_open.h"

ls_code cli_target_resolve(const char *arg, const char *config_path, bool expand_env,
                           cli_target *t, ls_err *err) {
    memset(t, 0, sizeof(*t));
    t->arg = arg;
    if (ls_is_replica_url(arg)) {
        t->is_url = true;
        if (config_path && *config_path)
            return ls_err_set(err, LS_ERR_USAGE,
                              "cannot specify a replica URL and the -config flag");
        return LS_OK;
    }
    const char *cp = (config_path && *config_path) ? config_path : ls_config_default_path();
    ls_code rc = ls_config_load(cp, expand_env, &t->cfg, err);
    if (rc != LS_OK) return rc;
    t->db_path = ls_expand_db_path(arg);
    if (!t->db_path) return ls_err_set(err, LS_ERR_NOMEM, "expand path %s: out of memory", arg);
    t->db = ls_config_find_db(t->cfg, t->db_path);
    if (!t->db) return ls_err_set(err, LS_ERR_NOTFOUND, "database not found in config: %s", t->db_path);
    if (!t->db->replica) return ls_err_set(err, LS_ERR_CONFIG, "database has no replica");
    return LS_OK;
}

ls_code cli_target_open_storage(cli_target *t, ls_err *err) {
    if (t->st) return LS_OK;
    if (t->is_url) return cli_open_replica_url(t->arg, &t->st, err);
    return cli_open_replica_storage(&t->db->replica->client, &t->st, err);
}

ls_code cli_target_open(const char *arg, const char *config_path, bool expand_env, cli_target *t,
                        ls_err *err) {
    ls_code rc = cli_target_resolve(arg, config_path, expand_env, t, err);
    if (rc == LS_OK) rc = cli_target_open_storage(t, err);
    return rc;
}

const char *cli_target_type(const cli_target *t) {
    if (t->st && t->st->type) return t->st->type;
    if (t->db && t->db->replica) return ls_replica_type_name(t->db->replica->client.type);
    return "";
}

void cli_target_close(cli_target *t) {
    if (!t) return;
    if (t->st) ls_storage_close(t->st);
    free(t->db_path);
    ls_config_free(t->cfg);
    memset(t, 0, sizeof(*t));
}

void cli_default_config_text(char *buf, size_t n) {
    snprintf(buf, n, "%s", ls_config_default_path());
}
