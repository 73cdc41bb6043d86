/* cli/cmd_status.c — `litestream status` (spec 10.6): local state only.
 * -json adds per database "replicas": the configured replicas with the
 * request counters `replicate` persisted in <meta>/stats.json
 * (engine/stats.h); "requests" is null when none were recorded. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/commands.h"
#include "cli/local_state.h"
#include "cli/output.h"
#include "config/config.h"
#include "engine/stats.h"
#include "ltx/ltx.h"
#include "util/fs.h"

static const char status_usage[] =
    "The status command displays the replication status of databases from the\n"
    "configuration file, using local state only (it does not contact replicas).\n"
    "\n"
    "Usage:\n"
    "\n"
    "\tlitestream status [arguments] [DB_PATH]\n"
    "\n"
    "Arguments:\n"
    "\n"
    "\t-config PATH\n"
    "\t    Specifies the configuration file.\n"
    "\t    Defaults to $LITESTREAM_CONFIG or /etc/litestream.yml\n"
    "\n"
    "\t-no-expand-env\n"
    "\t    Disables environment variable expansion in configuration file.\n"
    "\n"
    "\t-json\n"
    "\t    Output raw JSON instead of human-readable text.\n"
    "\n";

/* The configured replicas of d with their persisted request counters. */
static json_t *replicas_json(const ls_db_config *d, const char *meta) {
    json_t *arr = json_array();
    ls_stats_snapshot *snap = calloc(1, sizeof(*snap));
    ls_err e;
    bool have = snap && meta && ls_stats_read(meta, snap, &e) == LS_OK;
    size_t n = ls_db_config_replica_count(d);
    for (size_t i = 0; i < n; i++) {
        const ls_replica_config *r = ls_db_config_replica_at(d, i);
        const char *type = ls_replica_type_name(r->client.type);
        const char *name = r->name.v && *r->name.v ? r->name.v : type;
        json_t *o = json_object();
        json_object_set_new(o, "name", json_string(name));
        json_object_set_new(o, "type", json_string(type));
        const ls_stats_replica *sr = have ? ls_stats_find(snap, name, type, i) : NULL;
        if (sr) {
            ls_stats_add_json(o, &sr->stats, sr->since_ns, snap->updated_ns);
            json_object_set_new(o, "pid", json_integer(snap->pid));
        } else {
            json_object_set_new(o, "requests", json_null());
        }
        json_array_append_new(arr, o);
    }
    free(snap);
    return arr;
}

int cmd_status(const cli_command *cmd, int argc, char **argv) {
    (void)cmd;
    const char *config_path = NULL;
    bool no_expand = false, as_json = false;
    cli_flag flags[] = {
        {"config", CLI_STRING, &config_path, "PATH", "", false},
        {"no-expand-env", CLI_BOOL, &no_expand, NULL, "", false},
        {"json", CLI_BOOL, &as_json, NULL, "", false},
    };
    int npos;
    char **pos;
    int prc = cli_parse(status_usage, flags, 3, argc, argv, &npos, &pos);
    if (prc == CLI_HELP) return 0;
    if (prc != CLI_OK) return 1;
    if (npos > 1) return cli_fail(NULL, "too many arguments");
    ls_config *cfg = NULL;
    ls_err err;
    if (ls_config_load(config_path, !no_expand, &cfg, &err) != LS_OK) return cli_fail(NULL, "%s", err.msg);

    json_t *arr = as_json ? json_array() : NULL;
    cli_table *t = as_json ? NULL : cli_table_new(4);
    if (t) cli_table_row(t, "database", "status", "local txid", "wal size");
    for (size_t i = 0; i < cfg->ndbs; i++) {
        const ls_db_config *d = &cfg->dbs[i];
        if (!d->path) continue;
        if (npos == 1 && strcmp(pos[0], d->path) != 0) continue;
        const char *status;
        char txid[32] = "-", wal[32] = "-";
        struct stat st;
        char *meta = ls_config_db_meta_path(d);
        if (stat(d->path, &st) != 0) {
            status = "no database";
        } else {
            uint64_t tx = 0;
            ls_err e;
            if (!meta || cli_local_max_txid(meta, &tx, &e) != LS_OK) status = "error";
            else if (tx > 0) {
                status = "ok";
                ltx_format_txid(tx, txid);
            } else {
                status = "not initialized";
            }
            char *walp = ls_strfmt("%s-wal", d->path);
            if (walp && stat(walp, &st) == 0) cli_format_si_bytes((uint64_t)st.st_size, wal, sizeof(wal));
            else if (walp && errno == ENOENT) snprintf(wal, sizeof(wal), "0 B");
            free(walp);
        }
        if (arr) {
            json_t *o = json_object();
            json_object_set_new(o, "database", json_string(d->path));
            json_object_set_new(o, "status", json_string(status));
            json_object_set_new(o, "local_txid", json_string(txid));
            json_object_set_new(o, "wal_size", json_string(wal));
            json_object_set_new(o, "replicas", replicas_json(d, meta));
            json_array_append_new(arr, o);
        } else {
            cli_table_row(t, d->path, status, txid, wal);
        }
        free(meta);
    }
    if (arr) cli_print_json(arr, stdout);
    else cli_table_print(t, stdout);
    ls_config_free(cfg);
    return 0;
}
