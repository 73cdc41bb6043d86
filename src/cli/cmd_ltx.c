/* cli/cmd_ltx.c — `litestream ltx` (spec 10.3): list the LTX files of a
 * replica, one level (default 0) or all levels 0..9. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/output.h"
#include "cli/replica_target.h"
#include "ltx/ltx.h"
#include "storage/ltxfiles.h"
#include "util/log.h"
#include "util/timeutil.h"

#define LEVEL_ALL (-1)

static const char ltx_usage_fmt[] =
    "The ltx command lists all LTX files available for a database.\n"
    "\n"
    "Usage:\n"
    "\n"
    "\tlitestream ltx [arguments] DB_PATH\n"
    "\n"
    "\tlitestream ltx [arguments] REPLICA_URL\n"
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
    "\t-level LEVEL\n"
    "\t    Compaction level to list (0-9 or \"all\").\n"
    "\t    Defaults to 0.\n"
    "\n"
    "\t-json\n"
    "\t    Output raw JSON instead of human-readable text.\n"
    "\n"
    "Examples:\n"
    "\n"
    "\t# List all LTX files for a database.\n"
    "\t$ litestream ltx /path/to/db\n"
    "\n"
    "\t# List all LTX files for replica URL.\n"
    "\t$ litestream ltx s3://mybkt/db\n"
    "\n"
    "\t# List LTX files at snapshot level (level 9).\n"
    "\t$ litestream ltx -level 9 /path/to/db\n"
    "\n"
    "\t# List LTX files across all compaction levels.\n"
    "\t$ litestream ltx -level all /path/to/db\n"
    "\n";

/* Go strconv.Atoi: optional sign, decimal digits, fits in int. */
static bool parse_atoi(const char *s, long *out) {
    if (!s || !*s) return false;
    const char *p = s;
    if (*p == '+' || *p == '-') p++;
    if (!*p) return false;
    for (const char *q = p; *q; q++)
        if (*q < '0' || *q > '9') return false;
    errno = 0;
    long v = strtol(s, NULL, 10);
    if (errno) return false;
    *out = v;
    return true;
}

/* Go flag.Value failure: message on stderr, usage on stdout, then the
 * command error. */
static int flag_value_error(const char *usage, const char *flag, const char *value,
                            const char *reason) {
    fprintf(stderr, "invalid value \"%s\" for flag -%s: %s\n", value, flag, reason);
    fputs(usage, stdout);
    return cli_fail(NULL, "invalid value \"%s\" for flag -%s: %s", value, flag, reason);
}

int cmd_ltx(const cli_command *cmd, int argc, char **argv) {
    (void)cmd;
    char defcfg[4096], usage[sizeof(ltx_usage_fmt) + 4096];
    cli_default_config_text(defcfg, sizeof(defcfg));
    snprintf(usage, sizeof(usage), ltx_usage_fmt, defcfg);

    const char *config_path = NULL, *level_str = "0";
    bool no_expand = false, as_json = false;
    cli_flag flags[] = {
        {"config", CLI_STRING, &config_path, "PATH", "", false},
        {"no-expand-env", CLI_BOOL, &no_expand, NULL, "", false},
        {"json", CLI_BOOL, &as_json, NULL, "", false},
        {"level", CLI_STRING, &level_str, "LEVEL", "", false},
    };
    int npos;
    char **pos;
    int prc = cli_parse(usage, flags, 4, argc, argv, &npos, &pos);
    if (prc == CLI_HELP) return 0;
    if (prc != CLI_OK) return 1;

    int level = 0;
    if (flags[3].seen) {
        long v;
        if (strcmp(level_str, "all") == 0) level = LEVEL_ALL;
        else if (!parse_atoi(level_str, &v))
            return flag_value_error(usage, "level", level_str,
                                    "invalid level: must be 0-9 or \"all\"");
        else if (v < 0 || v > LS_LTX_MAX_LEVEL)
            return flag_value_error(usage, "level", level_str, "level must be between 0 and 9");
        else level = (int)v;
    }
    if (npos == 0 || pos[0][0] == '\0')
        return cli_fail("litestream ltx /path/to/db", "database path or replica URL required");
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
    if (rc != LS_OK) {
        cli_target_close(&t);
        return cli_fail(NULL, "%s", err.msg);
    }

    /* Collect first (a listing error prints nothing but the error). */
    int lo = level == LEVEL_ALL ? 0 : level, hi = level == LEVEL_ALL ? LS_LTX_MAX_LEVEL : level;
    ls_ltx_file_list all = {0};
    for (int l = lo; l <= hi && rc == LS_OK; l++) {
        ls_ltx_file_list list;
        rc = ls_ltx_list(t.st, l, 0, false, &list, &err);
        for (size_t i = 0; rc == LS_OK && i < list.n; i++)
            rc = ls_ltx_file_list_push(&all, &list.items[i], &err);
        ls_ltx_file_list_free(&list);
    }
    cli_target_close(&t);
    if (rc != LS_OK) {
        ls_ltx_file_list_free(&all);
        return cli_fail(NULL, "%s", err.msg);
    }

    json_t *arr = as_json ? json_array() : NULL;
    cli_table *tab = as_json ? NULL : cli_table_new(5);
    if (tab) cli_table_row(tab, "level", "min_txid", "max_txid", "size", "created");
    for (size_t i = 0; i < all.n; i++) {
        const ls_ltx_file *f = &all.items[i];
        char mn[LTX_TXID_STR_SIZE], mx[LTX_TXID_STR_SIZE], ts[64], lv[16], sz[32];
        ltx_format_txid(f->min_txid, mn);
        ltx_format_txid(f->max_txid, mx);
        ls_format_rfc3339(f->created_at_ns, ts, sizeof(ts));
        if (arr) {
            json_t *o = json_object();
            json_object_set_new(o, "level", json_integer(f->level));
            json_object_set_new(o, "min_txid", json_string(mn));
            json_object_set_new(o, "max_txid", json_string(mx));
            json_object_set_new(o, "size", json_integer(f->size));
            json_object_set_new(o, "timestamp", json_string(ts));
            json_array_append_new(arr, o);
        } else {
            snprintf(lv, sizeof(lv), "%d", f->level);
            snprintf(sz, sizeof(sz), "%lld", (long long)f->size);
            cli_table_row(tab, lv, mn, mx, sz, ts);
        }
    }
    ls_ltx_file_list_free(&all);
    if (arr) cli_print_json(arr, stdout);
    else cli_table_print(tab, stdout);
    return 0;
}

/* `wal` (v0.3 segments, or the deprecated alias of ltx): cli/cmd_wal.c. */
