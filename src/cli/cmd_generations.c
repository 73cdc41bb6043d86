/*
 * cli/cmd_generations.c — `litestream generations`: the Litestream v0.3
 * generations of a replica (spec 9.1; an extension for v0.5, which has no
 * such command — v0.3 had one). One row per generation that holds a file,
 * in name order (generation names are random, so name order is not time
 * order); "current" marks the generation a latest restore uses (the one
 * whose newest file is newest, engine/legacy.h).
 *
 * Human output (Go tabwriter rules, spec 10.1), times in UTC seconds:
 *   generation        snapshots  wal  indexes            size  start                 end                   current
 *   c155c5742e53380e  1          8    00000000-00000003  3653  2026-11-22T02:26:23Z  2026-11-22T02:26:31Z  yes
 * JSON: [{"generation","snapshots","wal_segments","size","min_index",
 * "max_index","start","end","current"}] (indexes as numbers, times RFC 3339
 * with nanoseconds). A replica without v0.3 data prints only the header
 * ("[]" with -json) and, on stderr, a note naming the layout it has.
 * Differences from v0.3.13: no "name"/"lag" columns (lag changes with the
 * clock), counts and indexes instead.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/output.h"
#include "cli/replica_target.h"
#include "engine/legacy.h"
#include "util/log.h"
#include "util/timeutil.h"

static const char generations_usage_fmt[] =
    "The generations command lists the Litestream v0.3 generations of a replica.\n"
    "\n"
    "Usage:\n"
    "\n"
    "\tlitestream generations [arguments] DB_PATH\n"
    "\n"
    "\tlitestream generations [arguments] REPLICA_URL\n"
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
    "\t# List the v0.3 generations of a database's replica.\n"
    "\t$ litestream generations /path/to/db\n"
    "\n"
    "\t# List the v0.3 generations on a replica URL.\n"
    "\t$ litestream generations -json file:///backups/db\n"
    "\n";

int cmd_generations(const cli_command *cmd, int argc, char **argv) {
    (void)cmd;
    char defcfg[4096], usage[sizeof(generations_usage_fmt) + 4096];
    cli_default_config_text(defcfg, sizeof(defcfg));
    snprintf(usage, sizeof(usage), generations_usage_fmt, defcfg);

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
        return cli_fail("litestream generations /path/to/db",
                        "database path or replica URL required");
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
    ls_v3_generation_info_list gens = {0};
    bool has_ltx = false;
    if (rc == LS_OK) rc = ls_v3_list_generation_infos(t.st, &gens, &err);
    if (rc == LS_OK && !as_json) rc = ls_replica_detect_layout(t.st, &has_ltx, NULL, &err);
    cli_target_close(&t);
    if (rc != LS_OK) {
        ls_v3_generation_info_list_free(&gens);
        return cli_fail(NULL, "%s", err.msg);
    }

    json_t *arr = as_json ? json_array() : NULL;
    cli_table *tab = as_json ? NULL : cli_table_new(8);
    if (tab)
        cli_table_row(tab, "generation", "snapshots", "wal", "indexes", "size", "start", "end",
                      "current");
    for (size_t i = 0; i < gens.n; i++) {
        const ls_v3_generation_info *g = &gens.items[i];
        char a[64], b[64];
        if (arr) {
            ls_format_rfc3339_nano(g->first_ns, a, sizeof(a));
            ls_format_rfc3339_nano(g->last_ns, b, sizeof(b));
            json_t *o = json_object();
            json_object_set_new(o, "generation", json_string(g->name));
            json_object_set_new(o, "snapshots", json_integer((json_int_t)g->snapshots));
            json_object_set_new(o, "wal_segments", json_integer((json_int_t)g->segments));
            json_object_set_new(o, "size", json_integer(g->size));
            json_object_set_new(o, "min_index", json_integer(g->min_index));
            json_object_set_new(o, "max_index", json_integer(g->max_index));
            json_object_set_new(o, "start", json_string(a));
            json_object_set_new(o, "end", json_string(b));
            json_object_set_new(o, "current", json_boolean(g->current));
            json_array_append_new(arr, o);
        } else {
            char ns[32], nw[32], ix[32], sz[32];
            snprintf(ns, sizeof(ns), "%zu", g->snapshots);
            snprintf(nw, sizeof(nw), "%zu", g->segments);
            snprintf(ix, sizeof(ix), "%08x-%08x", g->min_index, g->max_index);
            snprintf(sz, sizeof(sz), "%lld", (long long)g->size);
            ls_format_rfc3339(g->first_ns, a, sizeof(a));
            ls_format_rfc3339(g->last_ns, b, sizeof(b));
            cli_table_row(tab, g->name, ns, nw, ix, sz, a, b, g->current ? "yes" : "no");
        }
    }
    size_t n = gens.n;
    ls_v3_generation_info_list_free(&gens);
    if (arr) {
        cli_print_json(arr, stdout);
        return 0;
    }
    cli_table_print(tab, stdout);
    if (n == 0 && has_ltx)
        fputs("No Litestream v0.3 generations: this replica uses the v0.5 LTX layout (list it with "
              "`litestream ltx -level all`).\n",
              stderr);
    else if (n > 0 && has_ltx)
        fputs("This replica also holds v0.5 LTX files (list them with `litestream ltx -level "
              "all`).\n",
              stderr);
    return 0;
}
