/*
 * cli/cmd_snapshots.c — `litestream snapshots` (an extension of this
 * implementation; Litestream v0.3 had a command of that name, v0.5 has
 * none): lists the full-database snapshots of a replica, i.e. its level-9
 * LTX files, for a database from the config or a replica URL.
 *
 * Human output (Go tabwriter rules, spec 10.1):
 *   txid              size  created
 *   0000000000000064  4152  2024-01-02T03:04:05Z
 * JSON: [{"layout":"ltx","txid","min_txid","max_txid","size","created_at"}],
 * txids as 16 hex digits, created_at as RFC 3339 with nanoseconds (trailing
 * zeros cut).
 *
 * Litestream v0.3 snapshots (storage/legacy.h) of every generation follow,
 * in (generation, index) order. A replica with only v0.3 data prints
 *   generation        index     size  created
 *   c155c5742e53380e  00000000  2293  2026-11-22T02:26:23Z
 * (index in hex as in the object names and as `restore -index` takes it);
 * a replica with both layouts prints the LTX table, a blank line and the
 * v0.3 table, each under a title line. JSON entries for v0.3 are
 * {"layout":"v0.3","generation","index","size","created_at"} (index a
 * number), after the LTX entries.
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

/* The v0.3 snapshots shown after the LTX ones. */
static ls_code list_v03_snapshots(ls_storage *st, ls_v3_snapshot_list *out, ls_err *err) {
    return ls_v3_list_all_snapshots(st, out, err);
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
    /* Only v0.3 snapshots: their table alone. */
    bool show_ltx = list.n > 0 || v3.n == 0;
    cli_table *tab = as_json || !show_ltx ? NULL : cli_table_new(3);
    if (tab) cli_table_row(tab, "txid", "size", "created");
    for (size_t i = 0; i < list.n; i++) {
        const ls_ltx_file *f = &list.items[i];
        char mn[LTX_TXID_STR_SIZE], mx[LTX_TXID_STR_SIZE], sz[32], ts[64];
        ltx_format_txid(f->min_txid, mn);
        ltx_format_txid(f->max_txid, mx);
        if (arr) {
            ls_format_rfc3339_nano(f->created_at_ns, ts, sizeof(ts));
            json_t *o = json_object();
            json_object_set_new(o, "layout", json_string("ltx"));
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
    bool mixed = list.n > 0 && v3.n > 0;
    ls_ltx_file_list_free(&list);
    cli_table *tab3 = NULL;
    if (!as_json && v3.n > 0) {
        tab3 = cli_table_new(4);
        cli_table_row(tab3, "generation", "index", "size", "created");
    }
    for (size_t i = 0; i < v3.n; i++) {
        const ls_v3_snapshot *s = &v3.items[i];
        char ts[64];
        if (arr) {
            ls_format_rfc3339_nano(s->created_at_ns, ts, sizeof(ts));
            json_t *o = json_object();
            json_object_set_new(o, "layout", json_string("v0.3"));
            json_object_set_new(o, "generation", json_string(s->generation));
            json_object_set_new(o, "index", json_integer(s->index));
            json_object_set_new(o, "size", json_integer(s->size));
            json_object_set_new(o, "created_at", json_string(ts));
            json_array_append_new(arr, o);
        } else {
            char ix[16], sz[32];
            snprintf(ix, sizeof(ix), "%08x", s->index);
            snprintf(sz, sizeof(sz), "%lld", (long long)s->size);
            ls_format_rfc3339(s->created_at_ns, ts, sizeof(ts));
            cli_table_row(tab3, s->generation, ix, sz, ts);
        }
    }
    ls_v3_snapshot_list_free(&v3);
    if (arr) {
        cli_print_json(arr, stdout);
        return 0;
    }
    if (mixed) fputs("v0.5 LTX snapshots (level 9):\n", stdout);
    if (tab) cli_table_print(tab, stdout);
    if (mixed) fputs("\nLitestream v0.3 snapshots:\n", stdout);
    if (tab3) cli_table_print(tab3, stdout);
    return 0;
}
