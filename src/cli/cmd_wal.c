/*
 * cli/cmd_wal.c — `litestream wal`.
 *
 * In Litestream v0.5 `wal` is a hidden, deprecated alias of `ltx` (spec
 * 10.1: warning on stderr, then `ltx`). Litestream v0.3 had a `wal` command
 * listing WAL segments. We do both, decided by the replica:
 *   - the replica holds Litestream v0.3 data (or -generation is given):
 *     list its v0.3 WAL segments, no warning;
 *   - otherwise, or when -level is given: the deprecated alias, exactly as
 *     the reference (warning, then `ltx` with the same arguments).
 *
 * v0.3 human output (Go tabwriter rules, spec 10.1), in (generation, index,
 * offset) order; index in hex as in the object names and as `restore
 * -index` takes it, offset and size (compressed bytes) in decimal:
 *   generation        index     offset  size  created
 *   c155c5742e53380e  00000000  0       119   2026-11-22T02:26:23Z
 * JSON: [{"generation","index","offset","size","created_at"}] (numbers;
 * created_at RFC 3339 with nanoseconds). When the replica also holds v0.5
 * LTX files a note on stderr says so.
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

static const char wal_usage_fmt[] =
    "The wal command lists the WAL segments of Litestream v0.3 backups on a\n"
    "replica. On a replica without v0.3 data it is a deprecated alias of the\n"
    "ltx command.\n"
    "\n"
    "Usage:\n"
    "\n"
    "\tlitestream wal [arguments] DB_PATH\n"
    "\n"
    "\tlitestream wal [arguments] REPLICA_URL\n"
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
    "\t-generation NAME\n"
    "\t    Only list the WAL segments of this v0.3 generation.\n"
    "\n"
    "\t-level LEVEL\n"
    "\t    List LTX files of this level instead (as `litestream ltx`).\n"
    "\n"
    "\t-json\n"
    "\t    Output raw JSON instead of human-readable text.\n"
    "\n"
    "Examples:\n"
    "\n"
    "\t# List the v0.3 WAL segments of a database's replica.\n"
    "\t$ litestream wal /path/to/db\n"
    "\n"
    "\t# List the WAL segments of one generation as JSON.\n"
    "\t$ litestream wal -json -generation 0123456789abcdef file:///backups/db\n"
    "\n";

static int as_ltx_alias(const cli_command *cmd, int argc, char **argv) {
    fputs("Warning: 'wal' command is deprecated, please use 'ltx' instead\n", stderr);
    return cmd_ltx(cmd, argc, argv);
}

int cmd_wal(const cli_command *cmd, int argc, char **argv) {
    char defcfg[4096], usage[sizeof(wal_usage_fmt) + 4096];
    cli_default_config_text(defcfg, sizeof(defcfg));
    snprintf(usage, sizeof(usage), wal_usage_fmt, defcfg);

    const char *config_path = NULL, *gen = NULL, *level = NULL;
    bool no_expand = false, as_json = false;
    cli_flag flags[] = {
        {"config", CLI_STRING, &config_path, "PATH", "", false},
        {"no-expand-env", CLI_BOOL, &no_expand, NULL, "", false},
        {"json", CLI_BOOL, &as_json, NULL, "", false},
        {"level", CLI_STRING, &level, "LEVEL", "", false},
        {"generation", CLI_STRING, &gen, "NAME", "", false},
    };
    int npos;
    char **pos;
    /* -level means "list LTX files": the alias, parsed by ltx itself. */
    bool peek_gen = false, peek_level = false;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || strcmp(a, "--") == 0) break;
        const char *n = a + (a[1] == '-' ? 2 : 1);
        size_t len = strcspn(n, "=");
        bool takes_value = (len == 6 && strncmp(n, "config", 6) == 0) ||
                           (len == 5 && strncmp(n, "level", 5) == 0) ||
                           (len == 10 && strncmp(n, "generation", 10) == 0);
        if (len == 5 && strncmp(n, "level", 5) == 0) peek_level = true;
        if (len == 10 && strncmp(n, "generation", 10) == 0) peek_gen = true;
        if (takes_value && n[len] != '=') i++;
    }
    if (peek_level && !peek_gen) return as_ltx_alias(cmd, argc, argv);
    int prc = cli_parse(usage, flags, 5, argc, argv, &npos, &pos);
    if (prc == CLI_HELP) return 0;
    if (prc != CLI_OK) return 1;
    if (gen && flags[3].seen)
        return cli_fail(NULL, "cannot specify -generation with -level (-level lists v0.5 LTX files)");
    if (gen && !ls_v3_is_generation(gen))
        return cli_fail(NULL, "invalid -generation, must be 16 lower-case hex digits");
    if (npos == 0 || pos[0][0] == '\0')
        return cli_fail("litestream wal /path/to/db", "database path or replica URL required");
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
    bool has_v3 = false, has_ltx = false;
    if (rc == LS_OK) rc = ls_replica_detect_layout(t.st, &has_ltx, &has_v3, &err);
    if (rc == LS_OK && !has_v3 && !gen) {
        cli_target_close(&t);
        return as_ltx_alias(cmd, argc, argv);
    }

    /* Collect first (a listing error prints nothing but the error). */
    ls_v3_segment_list all = {0};
    size_t cap = 0;
    ls_v3_generation_list gens = {0};
    if (rc == LS_OK) rc = ls_v3_list_generations(t.st, &gens, &err);
    bool found = gen == NULL;
    for (size_t g = 0; rc == LS_OK && g < gens.n; g++) {
        if (gen && strcmp(gen, gens.items[g].name) != 0) continue;
        found = true;
        ls_v3_segment_list l;
        rc = ls_v3_list_segments(t.st, gens.items[g].name, &l, &err);
        for (size_t i = 0; rc == LS_OK && i < l.n; i++) {
            if (all.n == cap) {
                size_t nc = cap ? cap * 2 : 64;
                ls_v3_segment *p = realloc(all.items, nc * sizeof(*p));
                if (!p) {
                    rc = ls_err_set(&err, LS_ERR_NOMEM, "out of memory");
                    break;
                }
                all.items = p;
                cap = nc;
            }
            all.items[all.n++] = l.items[i];
        }
        ls_v3_segment_list_free(&l);
    }
    ls_v3_generation_list_free(&gens);
    cli_target_close(&t);
    if (rc == LS_OK && !found)
        rc = ls_err_set(&err, LS_ERR_NOTFOUND, "generation %s not found on this replica", gen);
    if (rc != LS_OK) {
        free(all.items);
        return cli_fail(NULL, "%s", err.msg);
    }

    json_t *arr = as_json ? json_array() : NULL;
    cli_table *tab = as_json ? NULL : cli_table_new(5);
    if (tab) cli_table_row(tab, "generation", "index", "offset", "size", "created");
    for (size_t i = 0; i < all.n; i++) {
        const ls_v3_segment *s = &all.items[i];
        char ts[64];
        if (arr) {
            ls_format_rfc3339_nano(s->created_at_ns, ts, sizeof(ts));
            json_t *o = json_object();
            json_object_set_new(o, "generation", json_string(s->generation));
            json_object_set_new(o, "index", json_integer(s->index));
            json_object_set_new(o, "offset", json_integer((json_int_t)s->offset));
            json_object_set_new(o, "size", json_integer(s->size));
            json_object_set_new(o, "created_at", json_string(ts));
            json_array_append_new(arr, o);
        } else {
            char ix[16], of[32], sz[32];
            snprintf(ix, sizeof(ix), "%08x", s->index);
            snprintf(of, sizeof(of), "%llu", (unsigned long long)s->offset);
            snprintf(sz, sizeof(sz), "%lld", (long long)s->size);
            ls_format_rfc3339(s->created_at_ns, ts, sizeof(ts));
            cli_table_row(tab, s->generation, ix, of, sz, ts);
        }
    }
    free(all.items);
    if (arr) {
        cli_print_json(arr, stdout);
        return 0;
    }
    cli_table_print(tab, stdout);
    if (has_ltx)
        fputs("This replica also holds v0.5 LTX files (list them with `litestream ltx -level "
              "all`).\n",
              stderr);
    return 0;
}
