/* cli/cmd_databases.c — `litestream databases` (spec 10.2). */
#include <stdio.h>
#include <stdlib.h>

#include "cli/commands.h"
#include "cli/output.h"
#include "config/config.h"

static const char databases_usage[] =
    "The databases command lists all databases in the configuration file.\n"
    "\n"
    "Usage:\n"
    "\n"
    "\tlitestream databases [arguments]\n"
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

int cmd_databases(const cli_command *cmd, int argc, char **argv) {
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
    int prc = cli_parse(databases_usage, flags, 3, argc, argv, &npos, &pos);
    if (prc == CLI_HELP) return 0;
    if (prc != CLI_OK) return 1;
    if (npos > 0) return cli_fail(NULL, "too many arguments");
    ls_config *cfg = NULL;
    ls_err err;
    if (ls_config_load(config_path, !no_expand, &cfg, &err) != LS_OK) return cli_fail(NULL, "%s", err.msg);
    if (as_json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < cfg->ndbs; i++) {
            const ls_db_config *d = &cfg->dbs[i];
            json_t *o = json_object();
            json_object_set_new(o, "path", json_string(d->path ? d->path : (d->dir ? d->dir : "")));
            json_object_set_new(o, "replica", json_string(ls_replica_type_name(d->replica->client.type)));
            json_array_append_new(arr, o);
        }
        cli_print_json(arr, stdout);
    } else {
        cli_table *t = cli_table_new(2);
        cli_table_row(t, "path", "replica");
        for (size_t i = 0; i < cfg->ndbs; i++) {
            const ls_db_config *d = &cfg->dbs[i];
            cli_table_row(t, d->path ? d->path : (d->dir ? d->dir : ""),
                          ls_replica_type_name(d->replica->client.type));
        }
        cli_table_print(t, stdout);
    }
    ls_config_free(cfg);
    return 0;
}
