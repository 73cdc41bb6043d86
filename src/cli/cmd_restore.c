/*
 * cli/cmd_restore.c — `litestream restore` (spec 8.6, 10.5).
 *
 * Differences from the reference, on purpose:
 *   - -integrity-check defaults to "quick" (the reference: "none").
 *   - An existing output (with -force, or an empty output file) is not
 *     deleted up front: the restore is built in "<output>.tmp" and replaces
 *     the output (and its sidecars) only once it is complete and checked, so
 *     a failed restore leaves the old database untouched.
 *   - SIGINT/SIGTERM cancel a running restore cleanly (temp files removed).
 *   - With -json in config mode, log lines stay on stderr even when the
 *     config's logging section says stdout, so stdout holds only the JSON.
 *   - Follow mode verifies each LTX file completely before writing any of
 *     its pages, and resumes after a restart whenever the saved TXID is not
 *     ahead of the replica (see engine/restore.h).
 *   - Litestream v0.3 backups (engine/legacy.h, docs/legacy.md): -generation
 *     and -index (hex, as v0.3) select them explicitly; otherwise the newer
 *     layout wins (spec 9.4) and -dry-run shows the plan of the layout that
 *     would really be used (the reference's dry run only looks at LTX).
 *     When the replica holds v0.3 data, the -json summary and the dry run
 *     say which "layout" was used (v0.5-only output keeps the reference's
 *     exact keys). A v0.3 timestamp outside every generation fails with
 *     "no matching backups found: ..." (no LTX-style pre-check).
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/commands.h"
#include "cli/output.h"
#include "cli/replica_target.h"
#include "engine/legacy.h"
#include "engine/restore.h"
#include "ltx/ltx.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/timeutil.h"

static const char restore_usage_fmt[] =
    "The restore command recovers a database from a previous snapshot and WAL.\n"
    "\n"
    "Usage:\n"
    "\n"
    "\tlitestream restore [arguments] DB_PATH\n"
    "\n"
    "\tlitestream restore [arguments] REPLICA_URL\n"
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
    "\t-txid TXID\n"
    "\t    Restore up to a specific hex-encoded transaction ID (inclusive).\n"
    "\t    Defaults to use the highest available transaction.\n"
    "\n"
    "\t-generation NAME\n"
    "\t    Restore from a specific Litestream v0.3 generation.\n"
    "\t    Defaults to the generation with the latest data.\n"
    "\n"
    "\t-index NUM\n"
    "\t    Restore a v0.3 backup up to a specific hex-encoded WAL index\n"
    "\t    (inclusive). Defaults to use the highest available index.\n"
    "\n"
    "\t-timestamp TIMESTAMP\n"
    "\t    Restore to a specific point-in-time.\n"
    "\t    Defaults to use the latest available backup.\n"
    "\n"
    "\t-o PATH\n"
    "\t    Output path of the restored database.\n"
    "\t    Defaults to original DB path.\n"
    "\n"
    "\t-if-db-not-exists\n"
    "\t    Returns exit code of 0 if the database already exists.\n"
    "\n"
    "\t-if-replica-exists\n"
    "\t    Returns exit code of 0 if no backups found.\n"
    "\n"
    "\t-dry-run\n"
    "\t    Print the restore plan and exit without writing a database.\n"
    "\n"
    "\t-force\n"
    "\t    Overwrite an existing output database and SQLite sidecar files.\n"
    "\n"
    "\t-json\n"
    "\t    Output raw JSON summary on successful restore.\n"
    "\n"
    "\t-f\n"
    "\t    Follow mode. After restoring, continuously poll for and apply\n"
    "\t    new changes. Similar to tail -f. The restored database should\n"
    "\t    only be opened in read-only mode by consumers.\n"
    "\t    Cannot be used with -txid or -timestamp.\n"
    "\n"
    "\t-follow-interval DURATION\n"
    "\t    Polling interval for follow mode.\n"
    "\t    Defaults to 1s.\n"
    "\n"
    "\t-parallelism NUM\n"
    "\t    Determines the number of LTX files downloaded in parallel.\n"
    "\t    Defaults to 8.\n"
    "\n"
    "\t-integrity-check MODE\n"
    "\t    Run a post-restore integrity check on the database.\n"
    "\t    MODE is one of: none, quick, full.\n"
    "\t    Defaults to quick.\n"
    "\n"
    "\n"
    "Examples:\n"
    "\n"
    "\t# Restore latest replica for database to original location.\n"
    "\t$ litestream restore /path/to/db\n"
    "\n"
    "\t# Restore replica for database to a given point in time.\n"
    "\t$ litestream restore -timestamp 2020-01-01T00:00:00Z /path/to/db\n"
    "\n"
    "\t# Restore latest replica for database to new /tmp directory\n"
    "\t$ litestream restore -o /tmp/db /path/to/db\n"
    "\n"
    "\t# Restore a Litestream v0.3 backup up to WAL index 0x1f of a generation.\n"
    "\t$ litestream restore -generation 0123456789abcdef -index 0000001f \\\n"
    "\t      -o /tmp/db file:///backups/db\n"
    "\n"
    "\t# Restore database from S3 replica URL.\n"
    "\t$ litestream restore -o /tmp/db s3://mybucket/db\n"
    "\n"
    "\t# Preview restore plan without writing a database.\n"
    "\t$ litestream restore -dry-run -o /tmp/db s3://mybucket/db\n"
    "\n"
    "\t# Continuously restore (follow) a database from a replica.\n"
    "\t$ litestream restore -f -o /tmp/read-replica.db s3://mybucket/db\n"
    "\n";

static atomic_bool g_cancel;

static void on_signal(int sig) {
    (void)sig;
    atomic_store(&g_cancel, true);
}

static void install_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static int flag_value_error(const char *usage, const char *flag, const char *value,
                            const char *reason) {
    fprintf(stderr, "invalid value \"%s\" for flag -%s: %s\n", value, flag, reason);
    fputs(usage, stdout);
    return cli_fail(NULL, "invalid value \"%s\" for flag -%s: %s", value, flag, reason);
}

/* 8.6: checks of the output path before a restore. Sets *replace when the
 * engine must replace an existing (empty, or -force) output. */
static int prepare_output(const char *path, bool force, bool *replace) {
    struct stat sb;
    *replace = false;
    if (stat(path, &sb) != 0) {
        if (errno != ENOENT)
            return cli_fail(NULL, "cannot access output path: stat %s: %s", path, strerror(errno));
    } else {
        if (S_ISDIR(sb.st_mode))
            return cli_fail(NULL, "cannot restore, output path is a directory: %s", path);
        if (sb.st_size > 0 && !force)
            return cli_fail(NULL,
                            "cannot restore, output path already exists and is not empty: %s. "
                            "Use -force to overwrite",
                            path);
        *replace = true;
    }
    static const char *const suffix[] = {"-wal", "-shm", "-journal"};
    for (size_t i = 0; i < 3; i++) {
        char side[4200];
        snprintf(side, sizeof(side), "%s%s", path, suffix[i]);
        if (stat(side, &sb) == 0) {
            if (!force)
                return cli_fail(NULL,
                                "cannot restore, SQLite sidecar path already exists: %s. Use "
                                "-force to overwrite",
                                side);
            *replace = true;
        } else if (errno != ENOENT) {
            return cli_fail(NULL, "cannot access SQLite sidecar path: stat %s: %s", side,
                            strerror(errno));
        }
    }
    return 0;
}

static void print_plan_human(const char *source, const char *target, const char *type,
                             const ls_restore_plan *plan, bool mixed) {
    char mn[LTX_TXID_STR_SIZE], mx[LTX_TXID_STR_SIZE];
    ltx_format_txid(plan->min_txid, mn);
    ltx_format_txid(plan->max_txid, mx);
    printf("Restore plan:\n");
    printf("  source: %s\n", source);
    printf("  target: %s\n", target);
    printf("  replica: %s\n", type);
    if (mixed) printf("  layout: ltx (the replica also holds older Litestream v0.3 backups)\n");
    printf("  txid range: %s - %s\n", mn, mx);
    printf("\n");
    printf("Files to fetch:\n");
    cli_table *t = cli_table_new(6);
    cli_table_row(t, "level", "file", "min_txid", "max_txid", "size", "timestamp");
    for (size_t i = 0; i < plan->n; i++) {
        const ls_restore_file *f = &plan->files[i];
        char lv[16], name[LTX_FILENAME_MAX], fmn[LTX_TXID_STR_SIZE], fmx[LTX_TXID_STR_SIZE],
            sz[32], ts[64];
        snprintf(lv, sizeof(lv), "%d", f->level);
        ltx_format_filename(f->min_txid, f->max_txid, name);
        ltx_format_txid(f->min_txid, fmn);
        ltx_format_txid(f->max_txid, fmx);
        snprintf(sz, sizeof(sz), "%lld", (long long)f->size);
        ls_format_rfc3339(f->created_at_ns, ts, sizeof(ts));
        cli_table_row(t, lv, name, fmn, fmx, sz, ts);
    }
    cli_table_print(t, stdout);
}

static void print_plan_json(const char *source, const char *target, const char *type,
                            const ls_restore_plan *plan, bool mixed) {
    char mn[LTX_TXID_STR_SIZE], mx[LTX_TXID_STR_SIZE];
    ltx_format_txid(plan->min_txid, mn);
    ltx_format_txid(plan->max_txid, mx);
    json_t *o = json_object();
    json_object_set_new(o, "source", json_string(source));
    json_object_set_new(o, "target_path", json_string(target));
    json_object_set_new(o, "replica", json_string(type));
    if (mixed) json_object_set_new(o, "layout", json_string("ltx"));
    json_object_set_new(o, "min_txid", json_string(mn));
    json_object_set_new(o, "max_txid", json_string(mx));
    json_t *files = json_array();
    for (size_t i = 0; i < plan->n; i++) {
        const ls_restore_file *f = &plan->files[i];
        char name[LTX_FILENAME_MAX], fmn[LTX_TXID_STR_SIZE], fmx[LTX_TXID_STR_SIZE], ts[64];
        ltx_format_filename(f->min_txid, f->max_txid, name);
        ltx_format_txid(f->min_txid, fmn);
        ltx_format_txid(f->max_txid, fmx);
        ls_format_rfc3339(f->created_at_ns, ts, sizeof(ts));
        json_t *e = json_object();
        json_object_set_new(e, "level", json_integer(f->level));
        json_object_set_new(e, "name", json_string(name));
        json_object_set_new(e, "min_txid", json_string(fmn));
        json_object_set_new(e, "max_txid", json_string(fmx));
        json_object_set_new(e, "size", json_integer(f->size));
        json_object_set_new(e, "timestamp", json_string(ts));
        json_array_append_new(files, e);
    }
    json_object_set_new(o, "files", files);
    cli_print_json(o, stdout);
}

/* One row of a v0.3 plan: the snapshot (seg == NULL) or a WAL segment. */
static void v3_row(const ls_v3_plan *p, const ls_v3_segment *seg, cli_table *t, json_t *files) {
    const char *kind = seg ? "wal" : "snapshot";
    const char *key = seg ? seg->key : p->snapshot.key;
    uint32_t index = seg ? seg->index : p->snapshot.index;
    uint64_t off = seg ? seg->offset : 0;
    int64_t size = seg ? seg->size : p->snapshot.size;
    int64_t created = seg ? seg->created_at_ns : p->snapshot.created_at_ns;
    char ts[64];
    if (t) {
        char ix[16], of[32], sz[32];
        snprintf(ix, sizeof(ix), "%08x", index);
        snprintf(of, sizeof(of), "%llu", (unsigned long long)off);
        snprintf(sz, sizeof(sz), "%lld", (long long)size);
        ls_format_rfc3339(created, ts, sizeof(ts));
        cli_table_row(t, kind, key, ix, of, sz, ts);
    } else {
        ls_format_rfc3339_nano(created, ts, sizeof(ts));
        json_t *e = json_object();
        json_object_set_new(e, "type", json_string(kind));
        json_object_set_new(e, "name", json_string(key));
        json_object_set_new(e, "generation", json_string(p->generation));
        json_object_set_new(e, "index", json_integer(index));
        json_object_set_new(e, "offset", json_integer((json_int_t)off));
        json_object_set_new(e, "size", json_integer(size));
        json_object_set_new(e, "timestamp", json_string(ts));
        json_array_append_new(files, e);
    }
}

static void print_v3_plan(const char *source, const char *target, const char *type,
                          const ls_v3_plan *p, bool as_json) {
    if (as_json) {
        json_t *o = json_object();
        json_object_set_new(o, "source", json_string(source));
        json_object_set_new(o, "target_path", json_string(target));
        json_object_set_new(o, "replica", json_string(type));
        json_object_set_new(o, "layout", json_string("v0.3"));
        json_object_set_new(o, "generation", json_string(p->generation));
        json_object_set_new(o, "snapshot_index", json_integer(p->snapshot.index));
        json_object_set_new(o, "max_index", json_integer(p->max_index));
        json_object_set_new(o, "size", json_integer(p->total_bytes));
        json_t *files = json_array();
        v3_row(p, NULL, NULL, files);
        for (size_t i = 0; i < p->n; i++) v3_row(p, &p->segments[i], NULL, files);
        json_object_set_new(o, "files", files);
        cli_print_json(o, stdout);
        return;
    }
    printf("Restore plan:\n");
    printf("  source: %s\n", source);
    printf("  target: %s\n", target);
    printf("  replica: %s\n", type);
    printf("  layout: v0.3\n");
    printf("  generation: %s\n", p->generation);
    printf("  index range: %08x - %08x\n", p->snapshot.index, p->max_index);
    printf("\n");
    printf("Files to fetch:\n");
    cli_table *t = cli_table_new(6);
    cli_table_row(t, "type", "file", "index", "offset", "size", "timestamp");
    v3_row(p, NULL, t, NULL);
    for (size_t i = 0; i < p->n; i++) v3_row(p, &p->segments[i], t, NULL);
    cli_table_print(t, stdout);
}

/* The reference's keys; "layout" (and the v0.3 target) only when the
 * replica holds v0.3 data, so v0.5-only output stays identical. */
static void print_result_json(const char *db_path, const char *type, const char *txid,
                              int64_t duration_ns, const char *integrity,
                              const ls_v3_plan *v3, bool mixed) {
    json_t *o = json_object();
    json_object_set_new(o, "db_path", json_string(db_path));
    json_object_set_new(o, "replica", json_string(type));
    json_object_set_new(o, "txid", json_string(txid));
    json_object_set_new(o, "duration_ms", json_integer(duration_ns / LS_NS_PER_MS));
    json_object_set_new(o, "integrity_check", json_string(integrity));
    if (v3 || mixed) json_object_set_new(o, "layout", json_string(v3 ? "v0.3" : "ltx"));
    if (v3) {
        json_object_set_new(o, "generation", json_string(v3->generation));
        json_object_set_new(o, "index", json_integer(v3->max_index));
    }
    cli_print_json(o, stdout);
}

/* The plan of the chosen layout (use_v03 from ls_restore_uses_v03). */
static ls_code compute_plan(ls_storage *st, bool use_v03, const ls_restore_opts *o,
                            ls_restore_plan *plan, ls_err *err) {
    memset(plan, 0, sizeof(*plan));
    plan->layout = "ltx";
    if (!use_v03) return ls_restore_plan_compute(st, o->txid, o->timestamp_ns, plan, err);
    ls_v3_plan *p = calloc(1, sizeof(*p));
    if (!p) return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
    ls_v3_target t = {.generation = o->v3_generation, .has_index = o->v3_has_index,
                      .index = o->v3_index, .timestamp_ns = o->timestamp_ns};
    ls_code rc = ls_v3_plan_compute(st, &t, p, err);
    if (rc != LS_OK) {
        ls_v3_plan_free(p);
        free(p);
        return rc;
    }
    plan->layout = "v0.3";
    plan->v3 = p;
    return LS_OK;
}

/* -index: 1 to 8 hex digits (v0.3 took the index in hex). */
static bool parse_index(const char *s, uint32_t *out) {
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 8) return false;
    uint32_t v = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0) return false;
        v = v << 4 | (uint32_t)d;
    }
    *out = v;
    return true;
}

/* restore -f (8.5): runs until SIGINT/SIGTERM, then exits 0. */
static int run_follow(cli_target *t, const char *out_path, const char *type,
                      ls_integrity integrity, const char *integrity_str, int parallelism,
                      int64_t interval, uint64_t txid, int64_t ts, bool if_replica_exists,
                      bool as_json) {
    if (txid != 0) return cli_fail(NULL, "cannot use follow mode with -txid");
    if (ts != 0) return cli_fail(NULL, "cannot use follow mode with -timestamp");
    install_signals();
    ls_follow_opts fo = {.output = out_path, .interval_ns = interval, .integrity = integrity,
                         .parallelism = parallelism > 0 && parallelism < 1024 ? parallelism : 8,
                         .cancel = &g_cancel};
    ls_err err;
    ls_err_clear(&err);
    int64_t start = ls_monotonic_ns();
    ls_code rc = ls_restore_follow(t->st, &fo, &err);
    if (rc == LS_ERR_UNAVAILABLE && strcmp(err.msg, "transaction not available") == 0) {
        if (if_replica_exists) {
            ls_info("no matching backups found");
            return 0;
        }
        bool v3 = false;
        if (ls_v3_has_data(t->st, &v3, &err) == LS_OK && v3)
            return cli_fail(NULL, "no matching backup files available (follow mode reads v0.5 LTX "
                                  "files; this replica holds Litestream v0.3 backups: restore them "
                                  "without -f)");
        return cli_fail(NULL, "no matching backup files available");
    }
    if (rc == LS_ERR_CANCELED) return 0; /* interrupted during the initial restore */
    if (rc != LS_OK) return cli_fail(NULL, "%s", err.msg);
    if (as_json)
        print_result_json(out_path, type, "", ls_monotonic_ns() - start, integrity_str, NULL,
                          false);
    return 0;
}

int cmd_restore(const cli_command *cmd, int argc, char **argv) {
    (void)cmd;
    char defcfg[4096], usage[sizeof(restore_usage_fmt) + 4096];
    cli_default_config_text(defcfg, sizeof(defcfg));
    snprintf(usage, sizeof(usage), restore_usage_fmt, defcfg);

    const char *config_path = NULL, *output = NULL, *txid_str = NULL, *ts_str = "",
               *integrity_str = "quick", *gen_str = NULL, *index_str = NULL;
    bool no_expand = false, if_db_not_exists = false, if_replica_exists = false, dry_run = false,
         force = false, as_json = false, follow = false;
    long long parallelism = 8;
    int64_t follow_interval = LS_NS_PER_SEC;
    enum { F_TXID = 3, F_INDEX = 15 };
    cli_flag flags[] = {
        {"config", CLI_STRING, &config_path, "PATH", "", false},
        {"no-expand-env", CLI_BOOL, &no_expand, NULL, "", false},
        {"o", CLI_STRING, &output, "PATH", "", false},
        {"txid", CLI_STRING, &txid_str, "TXID", "", false},
        {"parallelism", CLI_INT, &parallelism, "NUM", "", false},
        {"if-db-not-exists", CLI_BOOL, &if_db_not_exists, NULL, "", false},
        {"if-replica-exists", CLI_BOOL, &if_replica_exists, NULL, "", false},
        {"timestamp", CLI_STRING, &ts_str, "TIMESTAMP", "", false},
        {"dry-run", CLI_BOOL, &dry_run, NULL, "", false},
        {"force", CLI_BOOL, &force, NULL, "", false},
        {"json", CLI_BOOL, &as_json, NULL, "", false},
        {"f", CLI_BOOL, &follow, NULL, "", false},
        {"follow-interval", CLI_DURATION, &follow_interval, "DURATION", "", false},
        {"integrity-check", CLI_STRING, &integrity_str, "MODE", "", false},
        {"generation", CLI_STRING, &gen_str, "NAME", "", false},
        {"index", CLI_STRING, &index_str, "NUM", "", false},
    };
    const int nflags = (int)(sizeof(flags) / sizeof(flags[0]));
    int npos;
    char **pos;
    int prc = cli_parse(usage, flags, nflags, argc, argv, &npos, &pos);
    if (prc == CLI_HELP) return 0;
    if (prc != CLI_OK) return 1;

    uint64_t txid = 0;
    if (flags[F_TXID].seen && !ltx_parse_txid(txid_str, &txid))
        return flag_value_error(usage, "txid", txid_str, "invalid txid format");
    if (npos == 0 || pos[0][0] == '\0')
        return cli_fail("litestream restore -o /path/to/db s3://bucket/prefix",
                        "database path or replica URL required");
    if (npos > 1) return cli_fail(NULL, "too many arguments");
    const char *arg = pos[0];

    /* v0.3 targets (engine/legacy.h). */
    uint32_t v3_index = 0;
    bool has_index = flags[F_INDEX].seen;
    if (gen_str && !*gen_str) gen_str = NULL;
    if (gen_str && !ls_v3_is_generation(gen_str))
        return cli_fail(NULL, "invalid -generation, must be 16 lower-case hex digits (see "
                              "`litestream generations`)");
    if (has_index && !parse_index(index_str, &v3_index))
        return cli_fail(NULL, "invalid -index, must be a hex-encoded WAL index of up to 8 digits "
                              "(e.g. 0000001f)");
    if ((gen_str || has_index) && flags[F_TXID].seen)
        return cli_fail(NULL, "cannot specify -txid with -generation or -index (-txid selects v0.5 "
                              "LTX data, -generation/-index select Litestream v0.3 backups)");
    if ((gen_str || has_index) && follow)
        return cli_fail(NULL, "cannot use follow mode with -generation or -index (follow mode "
                              "reads v0.5 LTX data)");

    ls_log_configure(LS_LOG_INFO, LS_LOG_FORMAT_TEXT, as_json ? stderr : stdout);


    ls_integrity integrity;
    if (strcmp(integrity_str, "none") == 0) integrity = LS_INTEGRITY_NONE;
    else if (strcmp(integrity_str, "quick") == 0) integrity = LS_INTEGRITY_QUICK;
    else if (strcmp(integrity_str, "full") == 0) integrity = LS_INTEGRITY_FULL;
    else return cli_fail(NULL, "invalid -integrity-check value: %s", integrity_str);

    int64_t ts = 0;
    if (ts_str && *ts_str) {
        if (ls_parse_rfc3339(ts_str, &ts, NULL) != LS_OK)
            return cli_fail(NULL, "invalid -timestamp, must specify in ISO 8601 format (e.g. "
                                  "2000-01-01T00:00:00Z)");
        if (ts == 0) ts = 1; /* the epoch itself is a real (if useless) target */
    }

    /* Resolve the replica (10.5 / 8.6 order: output rules, then skip). */
    cli_target t;
    ls_err err;
    ls_err_clear(&err);
    ls_code rc = cli_target_resolve(arg, config_path, !no_expand, &t, &err);
    if (rc != LS_OK) {
        cli_target_close(&t);
        return cli_fail(NULL, "%s", err.msg);
    }
    if (t.cfg) {
        ls_config_configure_logging(t.cfg);
        if (as_json) {
            ls_log_format fmt = LS_LOG_FORMAT_TEXT;
            ls_log_parse_format(t.cfg->logging_type.v, &fmt);
            ls_log_configure(ls_log_get_level(), fmt, stderr);
        }
    }
    char *out_path = NULL;
    if (t.is_url) {
        if (!output || !*output) {
            cli_target_close(&t);
            char hint[4200];
            snprintf(hint, sizeof(hint), "litestream restore -o /path/to/db %s", arg);
            return cli_fail(hint, "-o is required when restoring from a replica URL");
        }
    }
    out_path = ls_strdup(output && *output ? output : t.db_path);
    int exit_code = 0;
    ls_restore_plan plan = {0};
    if (!out_path) {
        exit_code = cli_fail(NULL, "out of memory");
        goto done;
    }
    if (if_db_not_exists) {
        struct stat sb;
        if (stat(out_path, &sb) == 0 || errno != ENOENT) {
            ls_info("database already exists, skipping");
            goto done;
        }
    }
    if (has_index && ts != 0) {
        exit_code = cli_fail(NULL, "cannot specify index & timestamp to restore");
        goto done;
    }
    ls_restore_opts want = {.output = out_path, .txid = txid, .timestamp_ns = ts,
                            .ltx_only = follow, .v3_generation = gen_str,
                            .v3_has_index = has_index, .v3_index = v3_index};
    bool use_v03 = false, mixed = false;
    rc = cli_target_open_storage(&t, &err);
    if (rc == LS_OK) rc = ls_restore_uses_v03(t.st, &want, &use_v03, &err);
    if (rc == LS_OK && !use_v03 && !follow) rc = ls_v3_has_data(t.st, &mixed, &err);
    /* The v0.3 plan checks its timestamp itself (clearer messages). */
    if (rc == LS_OK && !use_v03 && t.is_url && ts != 0)
        rc = ls_restore_check_timestamp(t.st, ts, &err);
    if (rc != LS_OK) {
        exit_code = cli_fail(NULL, "%s", err.msg);
        goto done;
    }
    const char *type = cli_target_type(&t);
    if (mixed && !dry_run)
        ls_info("replica holds both v0.5 LTX files and Litestream v0.3 backups; restoring the LTX data",
                "layout", "ltx");

    if (dry_run) {
        if (follow) {
            exit_code = cli_fail(NULL, "cannot use -dry-run with -f");
            goto done;
        }
        if (txid != 0 && ts != 0) {
            exit_code = cli_fail(NULL, "cannot specify both TXID & timestamp to restore");
            goto done;
        }
        rc = compute_plan(t.st, use_v03, &want, &plan, &err);
        if (rc == LS_ERR_UNAVAILABLE && !use_v03)
            exit_code = cli_fail(NULL, "no matching backup files available");
        else if (rc != LS_OK) exit_code = cli_fail(NULL, "%s", err.msg);
        else if (plan.v3) print_v3_plan(arg, out_path, type, plan.v3, as_json);
        else if (as_json) print_plan_json(arg, out_path, type, &plan, mixed);
        else print_plan_human(arg, out_path, type, &plan, mixed);
        goto done;
    }

    if (follow) {
        if (txid != 0 && ts != 0) {
            exit_code = cli_fail(NULL, "cannot specify index & timestamp to restore");
            goto done;
        }
        exit_code = run_follow(&t, out_path, type, integrity, integrity_str, (int)parallelism,
                               follow_interval, txid, ts, if_replica_exists, as_json);
        goto done;
    }

    bool replace = false;
    exit_code = prepare_output(out_path, force, &replace);
    if (exit_code != 0) goto done;
    if (txid != 0 && ts != 0) {
        exit_code = cli_fail(NULL, "cannot specify index & timestamp to restore");
        goto done;
    }

    rc = compute_plan(t.st, use_v03, &want, &plan, &err);
    if (rc == LS_ERR_UNAVAILABLE) {
        if (if_replica_exists) {
            ls_info("no matching backups found");
            goto done;
        }
        if (use_v03) exit_code = cli_fail(NULL, "%s", err.msg);
        else exit_code = cli_fail(NULL, "no matching backup files available");
        goto done;
    } else if (rc != LS_OK && use_v03) {
        exit_code = cli_fail(NULL, "%s", err.msg);
        goto done;
    } else if (rc != LS_OK) {
        exit_code = cli_fail(NULL, "cannot calc restore plan: %s", err.msg);
        goto done;
    }

    install_signals();
    ls_restore_opts opts = {
        .output = out_path,
        .txid = txid,
        .timestamp_ns = ts,
        .integrity = integrity,
        .parallelism = parallelism > 0 && parallelism < 1024 ? (int)parallelism : 8,
        .force = replace,
        .cancel = &g_cancel,
        .plan = &plan,
        .ltx_only = true, /* checked above; a v0.3 plan carries plan.v3 */
    };
    ls_restore_result res;
    int64_t start = ls_monotonic_ns();
    rc = ls_restore_run(t.st, &opts, &res, &err);
    if (rc != LS_OK) {
        exit_code = cli_fail(NULL, "%s", err.msg);
        goto done;
    }
    if (as_json) {
        char tx[LTX_TXID_STR_SIZE];
        if (plan.v3) tx[0] = '\0';
        else ltx_format_txid(txid ? txid : plan.max_txid, tx);
        print_result_json(out_path, type, tx, ls_monotonic_ns() - start, integrity_str, plan.v3,
                          mixed);
    }
    ls_restore_result_free(&res);

done:
    ls_restore_plan_free(&plan);
    free(out_path);
    cli_target_close(&t);
    return exit_code;
}
