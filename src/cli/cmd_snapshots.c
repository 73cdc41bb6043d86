/*
 * cli/cmd_snapshots.c — `litestream snapshots` (an extension of this
 * implementation; Litestream v0.3 had a command of that name, v0.5 has
 * none): lists the full-database snapshots of a replica, i.e. its level-9
 * LTX files, for a database from the config or a replica URL.
 *
 * Human output (Go tabwriter rules, spec 10.1):
 *   txid              size  created
 *   0000000000000064  4152  2024-01-02T03:04:05Z
 * JSON: [{"txid","min_txid","max_txid","size","created_at"}], txids as 16
 * hex digits, created_at as RFC 3339 with nanoseconds (trailing zeros cut).
 *
 * v0.3 hook: snapshots of legacy generations (storage/legacy.h,
 * ls_v3_list_all_snapshots) are not listed yet; list_v03_snapshots() below
 * is where they will be appended (with "generation"/"index" fields).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/output.h"
#include "cli/replica_target.h"
#include "ltx/ltx.h"
#include "storage/legacy.h"
#include "storage/ltxfiles.h"
#include "util/log.h"
#include "util/timeutil.h"

static const char snapshots_usage_fmt[] =
    "The snapshots command lists all snapshots available for a database or replica.\n"
    "\n"
    "Usage:\n"
    "\n"
    "\tlitestream snapshots [arguments] DB_PATH\n"
    "\n"
    "\tlitestream snapshots [arguments] REPLICA_URL\n"
    "\n"
    "Arguments:\n"
    "\n"
    "\t-config PATH\n"
    "\t    Specifies the configuration file.\n"
    "\t    Defaults to %s\n"
    "\n"
    "\t-no-expand-env\n"
    "\t    Disables environment variable expansion in configuration file.\n"
    "\n"
    "\t-json\n"
    "\t    Output raw JSON instead of human-readable text.\n"
    "\n"
    "Examples:\n"
    "\n"
    "\t# List all snapshots for a database.\n"
    "\t$ litestream snapshots /path/to/db\n"
    "\n"
    "\t# List all snapshots on a replica URL.\n"
    "\t$ litestream snapshots -json file:///backups/db\n"
    "\n";

/* Hook for v0.3 generations: fills *out with the legacy snapshots to show
 * after the LTX ones. Not listed yet (always empty); the implementation is
 * ls_v3_list_all_snapshots(st, out, err) plus rows with generation/index. */
static ls_code list_v03_snapshots(ls_storage *st, ls_v3_snapshot_list *out, ls_err *err) {
    (void)st;
    (void)err;
    memset(out, 0, sizeof(*out));
    return LS_OK;
}

int cmd_snapshots(const cli_command *cmd, int argc, char **argv) {
    (void)cmd;
    char defcfg[4096], usage[sizeof(snapshots_usage_fmt) + 4096];
    cli_default_config_text(defcfg, sizeof(defcfg));
    snprintf(usage, sizeof(usage), snapshots_usage_fmt, defcfg);

    const char *config_path = NULL;
    bool no_expand = false, as_json = false;
    cli_flag flags[] = {
        {"config", CLI_STRING, &config_path, "PATH", "", false},
        {"no-expand-env", CLI_BOOL, &no_expand, NULL, "", false},
        {"json", CLI_BOOL, &as_json, NULL, "", false},
    };
    int npos;
    char **pos;
    int prc = cli_parse(usage, flags, 3, argc, argv, &npos, &pos);
    if (prc == CLI_HELP) return 0;
    if (prc != CLI_OK) return 1;
    if (npos == 0 || pos[0][0] == '\0')
        return cli_fail("litestream snapshots /path/to/db", "database path or replica URL required");
    if (npos > 1) return cli_fail(NULL, "too many arguments");

    cli_target t;
    ls_err err;
    ls_err_clear(&err);
    ls_code rc = cli_target_resolve(pos[0], config_path, !no_expand, &t, &err);
    if (rc == LS_OK) {
        if (t.cfg) ls_config_configure_logging(t.cfg);
        else ls_log_configure(LS_LOG_INFO, LS_LOG_FORMAT_TEXT, stdout);
        rc = cli_target_open_storage(&t, &err);
    }
    ls_ltx_file_list list = {0};
    ls_v3_snapshot_list v3 = {0};
    if (rc == LS_OK) rc = ls_ltx_list(t.st, LS_LTX_SNAPSHOT_LEVEL, 0, false, &list, &err);
    if (rc == LS_OK) rc = list_v03_snapshots(t.st, &v3, &err);
    cli_target_close(&t);
    if (rc != LS_OK) {
        ls_ltx_file_list_free(&list);
        ls_v3_snapshot_list_free(&v3);
        return cli_fail(NULL, "%s", err.msg);
    }

    json_t *arr = as_json ? json_array() : NULL;
    cli_table *tab = as_json ? NULL : cli_table_new(3);
    if (tab) cli_table_row(tab, "txid", "size", "created");
    for (size_t i = 0; i < list.n; i++) {
        const ls_ltx_file *f = &list.items[i];
        char mn[LTX_TXID_STR_SIZE], mx[LTX_TXID_STR_SIZE], sz[32], ts[64];
        ltx_format_txid(f->min_txid, mn);
        ltx_format_txid(f->max_txid, mx);
        if (arr) {
            ls_format_rfc3339_nano(f->created_at_ns, ts, sizeof(ts));
            json_t *o = json_object();
            json_object_set_new(o, "txid", json_string(mx));
            json_object_set_new(o, "min_txid", json_string(mn));
            json_object_set_new(o, "max_txid", json_string(mx));
            json_object_set_new(o, "size", json_integer(f->size));
            json_object_set_new(o, "created_at", json_string(ts));
            json_array_append_new(arr, o);
        } else {
            ls_format_rfc3339(f->created_at_ns, ts, sizeof(ts));
            snprintf(sz, sizeof(sz), "%lld", (long long)f->size);
            cli_table_row(tab, mx, sz, ts);
        }
    }
    ls_ltx_file_list_free(&list);
    ls_v3_snapshot_list_free(&v3); /* rows for v0.3 snapshots go here */
    if (arr) cli_print_json(arr, stdout);
    else cli_table_print(tab, stdout);
    return 0;
}
