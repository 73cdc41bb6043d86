/*
 * cli/cmd_replicate.c — `litestream replicate` (spec 10.4).
 *
 * Config mode or `replicate DB_PATH REPLICA_URL`; -exec runs the
 * application as a child (signals forwarded, exit status propagated); -once
 * syncs and uploads once. The daemon runs on a libuv loop (engine/store.h).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "cli/commands.h"
#include "cli/replica_open.h"
#include "config/config.h"
#include "engine/restore.h"
#include "engine/store.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/version.h"

static const char replicate_usage[] =
    "The replicate command starts a server to monitor & replicate databases.\n"
    "You can specify your database & replicas in a configuration file or you can\n"
    "replicate a single database file by specifying its path and its replicas in the\n"
    "command line arguments.\n"
    "\n"
    "Usage:\n"
    "\n"
    "\tlitestream replicate [arguments]\n"
    "\n"
    "\tlitestream replicate [arguments] DB_PATH REPLICA_URL [REPLICA_URL...]\n"
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
    "\t-exec CMD\n"
    "\t    Executes a subcommand. Litestream will exit when the child\n"
    "\t    process exits. Useful for simple process management.\n"
    "\n"
    "\t-log-level LEVEL\n"
    "\t    Sets the log level (trace, debug, info, warn, error).\n"
    "\n"
    "\t-restore-if-db-not-exists\n"
    "\t    Restores each database from its replica first if the file does not exist.\n"
    "\n"
    "\t-once\n"
    "\t    Syncs every database and replica once, then exits.\n"
    "\n"
    "\t-force-snapshot\n"
    "\t    With -once: also writes a snapshot of every database.\n"
    "\n"
    "\t-enforce-retention\n"
    "\t    With -once: also enforces snapshot retention.\n"
    "\n"
    "\t-mcp-addr ADDR\n"
    "\t    Serves MCP on ADDR (overrides the mcp-addr config key).\n"
    "\n";

typedef struct daemon_ctx {
    uv_loop_t *loop;
    ls_store *store;
    uv_signal_t sigint, sigterm;
    uv_process_t child;
    bool child_running;
    int64_t child_status;
    bool child_exited;
    bool stopping;
    int exit_code;
} daemon_ctx;

static void on_shutdown_done(void *arg, ls_code rc) {
    daemon_ctx *c = arg;
    (void)rc;
    uv_close((uv_handle_t *)&c->sigint, NULL);
    uv_close((uv_handle_t *)&c->sigterm, NULL);
    if (c->child_running || c->child_exited) {
        if (!uv_is_closing((uv_handle_t *)&c->child)) uv_close((uv_handle_t *)&c->child, NULL);
    }
}

static void begin_stop(daemon_ctx *c) {
    if (c->stopping) {
        ls_store_shutdown(c->store, on_shutdown_done, c); /* second signal: abort retries */
        return;
    }
    c->stopping = true;
    ls_info("shutting down");
    ls_store_shutdown(c->store, on_shutdown_done, c);
}

static void on_signal(uv_signal_t *h, int signum) {
    daemon_ctx *c = h->data;
    ls_info("signal received", "signal", signum == SIGINT ? "interrupt" : "terminated");
    if (c->child_running) {
        uv_process_kill(&c->child, signum);
        return; /* we stop when the child exits */
    }
    begin_stop(c);
}

static void on_child_exit(uv_process_t *p, int64_t status, int term_signal) {
    daemon_ctx *c = p->data;
    c->child_running = false;
    c->child_exited = true;
    c->child_status = term_signal ? 128 + term_signal : status;
    if (c->child_status != 0)
        ls_error("subprocess exited with error", "code", LS_INT(c->child_status));
    else
        ls_info("subprocess exited");
    begin_stop(c);
}

static ls_code build_store(const ls_config *cfg, const ls_store_opts *sopts, ls_store **out,
                           ls_err *err) {
    ls_store *st = NULL;
    ls_code rc = ls_store_new(sopts, &st, err);
    if (rc != LS_OK) return rc;
    for (size_t i = 0; i < cfg->ndbs; i++) {
        const ls_db_config *dc = &cfg->dbs[i];
        if (!dc->path) continue; /* dir entries are refused by check_supported */
        ls_store_db_spec spec;
        memset(&spec, 0, sizeof(spec));
        ls_db_opts_defaults(&spec.db);
        spec.db.path = dc->path;
        spec.db.meta_path = dc->meta_path.set ? dc->meta_path.v : NULL;
        spec.db.busy_timeout_ns = dc->busy_timeout.v;
        spec.db.checkpoint_interval_ns = dc->checkpoint_interval.v;
        spec.db.min_checkpoint_page_n = dc->min_checkpoint_page_count.v;
        spec.db.truncate_page_n = dc->truncate_page_n.v;
        spec.db.max_sync_wal_bytes = dc->max_sync_wal_bytes.v;
        spec.monitor_interval_ns = dc->monitor_interval.v;
        size_t nrep = ls_db_config_replica_count(dc);
        ls_replica **reps = calloc(nrep ? nrep : 1, sizeof(ls_replica *));
        if (!reps) {
            rc = ls_err_set(err, LS_ERR_NOMEM, "out of memory");
            break;
        }
        size_t made = 0;
        for (; made < nrep; made++) {
            const ls_replica_config *rcfg = ls_db_config_replica_at(dc, made);
            ls_storage *storage = NULL;
            rc = cli_open_replica_storage(&rcfg->client, &storage, err);
            if (rc != LS_OK) {
                ls_err_wrap(err, "%s: %s", dc->path, rcfg->field);
                break;
            }
            ls_replica_opts ro = {
                .name = rcfg->name.v ? rcfg->name.v : ls_replica_type_name(rcfg->client.type),
                .storage = storage,
                .sync_interval_ns = rcfg->client.sync_interval,
                .max_sync_ltx_files = (int)rcfg->client.max_sync_ltx_files,
                .auto_recover = rcfg->client.auto_recover,
            };
            rc = ls_replica_new(&ro, &reps[made], err);
            if (rc != LS_OK) {
                ls_storage_close(storage);
                break;
            }
            char iv[32];
            ls_format_duration(ro.sync_interval_ns, iv, sizeof(iv));
            ls_info("replicating to", "db", dc->path, "name", ro.name, "type", storage->type,
                    "sync-interval", iv, "url", storage->url ? storage->url : "");
        }
        if (rc == LS_OK) {
            spec.replicas = reps;
            spec.nreplicas = nrep;
            rc = ls_store_add_db(st, &spec, err);
            if (rc == LS_OK) made = 0; /* the store owns them now */
        }
        for (size_t k = 0; k < made; k++) ls_replica_free(reps[k]);
        free(reps);
        if (rc != LS_OK) break;
    }
    if (rc != LS_OK) {
        ls_store_free(st);
        return rc;
    }
    *out = st;
    return LS_OK;
}

static void store_opts_from_config(const ls_config *cfg, bool once, ls_store_opts *o) {
    ls_store_opts_defaults(o);
    o->once = once;
    o->compact.nlevels = (int)(cfg->nlevels < LS_MAX_LEVELS ? cfg->nlevels : LS_MAX_LEVELS);
    for (int i = 0; i < o->compact.nlevels; i++) o->compact.level_interval_ns[i] = cfg->levels[i].interval;
    o->compact.snapshot_interval_ns = cfg->snapshot_interval.v;
    o->compact.snapshot_retention_ns = cfg->snapshot_retention.v;
    o->compact.l0_retention_ns = cfg->l0_retention.v;
    o->compact.retention_enabled = cfg->retention_enabled.v;
    o->compact.verify_compaction = cfg->verify_compaction.v;
    o->l0_retention_check_interval_ns = cfg->l0_retention_check_interval.v;
    o->shutdown_sync_timeout_ns = cfg->shutdown_sync_timeout.v;
    o->shutdown_sync_interval_ns = cfg->shutdown_sync_interval.v;
}

/* -restore-if-db-not-exists: restore each missing database first. */
static ls_code restore_missing(const ls_config *cfg, ls_err *err) {
    for (size_t i = 0; i < cfg->ndbs; i++) {
        const ls_db_config *dc = &cfg->dbs[i];
        if (!dc->path || ls_path_exists(dc->path)) continue;
        ls_storage *storage = NULL;
        ls_code rc = cli_open_replica_storage(&dc->replica->client, &storage, err);
        if (rc != LS_OK) return rc;
        ls_restore_opts ro = {.output = dc->path, .integrity = LS_INTEGRITY_QUICK, .parallelism = 8};
        ls_restore_result res;
        memset(&res, 0, sizeof(res));
        rc = ls_restore_run(storage, &ro, &res, err);
        ls_storage_close(storage);
        if (rc == LS_ERR_UNAVAILABLE) {
            ls_info("no backups found, starting with a new database", "db", dc->path);
            continue;
        }
        if (rc != LS_OK) return ls_err_wrap(err, "restore %s", dc->path);
        ls_info("restored database from replica", "db", dc->path, "txid", LS_HEX16(res.txid));
        ls_restore_result_free(&res);
    }
    return LS_OK;
}

int cmd_replicate(const cli_command *cmd, int argc, char **argv) {
    (void)cmd;
    const char *config_path = NULL, *exec_cmd = NULL, *log_level = NULL, *mcp_addr = NULL;
    bool no_expand = false, restore_if = false, once = false, force_snap = false, enforce = false;
    cli_flag flags[] = {
        {"config", CLI_STRING, &config_path, "PATH", "config file", false},
        {"no-expand-env", CLI_BOOL, &no_expand, NULL, "", false},
        {"exec", CLI_STRING, &exec_cmd, "CMD", "", false},
        {"log-level", CLI_STRING, &log_level, "LEVEL", "", false},
        {"restore-if-db-not-exists", CLI_BOOL, &restore_if, NULL, "", false},
        {"once", CLI_BOOL, &once, NULL, "", false},
        {"force-snapshot", CLI_BOOL, &force_snap, NULL, "", false},
        {"enforce-retention", CLI_BOOL, &enforce, NULL, "", false},
        {"mcp-addr", CLI_STRING, &mcp_addr, "ADDR", "", false},
    };
    int nflags = (int)(sizeof(flags) / sizeof(flags[0]));
    int npos;
    char **pos;
    int prc = cli_parse(replicate_usage, flags, nflags, argc, argv, &npos, &pos);
    if (prc == CLI_HELP) return 0;
    if (prc != CLI_OK) return 1;
    for (int i = 1; i < npos; i++)
        if (pos[i][0] == '-')
            return cli_fail(NULL, "flag \"%s\" must be positioned before DB_PATH and REPLICA_URL arguments", pos[i]);
    if (npos == 1) return cli_fail(NULL, "must specify at least one replica URL for %s", pos[0]);
    if (npos > 1 && config_path) return cli_fail(NULL, "cannot specify a replica URL and the -config flag");
    if (once && exec_cmd) return cli_fail(NULL, "cannot specify -once flag with -exec");
    if ((force_snap || enforce) && !once)
        return cli_fail(NULL, "cannot specify -force-snapshot or -enforce-retention without -once");

    ls_err err;
    ls_config *cfg = NULL;
    ls_code rc;
    if (npos > 1) rc = ls_config_from_url_mode(pos[0], (const char *const *)(pos + 1), (size_t)(npos - 1), &cfg, &err);
    else rc = ls_config_load(config_path, !no_expand, &cfg, &err);
    if (rc != LS_OK) return cli_fail(NULL, "%s", err.msg);

    if (log_level) setenv("LOG_LEVEL", log_level, 1);
    ls_config_configure_logging(cfg);
    if (log_level) {
        ls_log_level lvl;
        if (ls_log_parse_level(log_level, &lvl)) ls_log_set_level(lvl);
    }
    if (ls_config_check_supported(cfg, &err) != LS_OK) {
        ls_config_free(cfg);
        return cli_fail(NULL, "%s", err.msg);
    }
    if (cfg->ndbs == 0) ls_warn("no databases specified in configuration");

    ls_info("litestream", "version", ls_version());
    const char *mcp = mcp_addr ? mcp_addr : cfg->mcp_addr.v;

    if (restore_if && restore_missing(cfg, &err) != LS_OK) {
        ls_config_free(cfg);
        return cli_fail(NULL, "%s", err.msg);
    }

    ls_store_opts sopts;
    store_opts_from_config(cfg, once, &sopts);
    ls_store *store = NULL;
    if (build_store(cfg, &sopts, &store, &err) != LS_OK) {
        ls_config_free(cfg);
        return cli_fail(NULL, "%s", err.msg);
    }
    if (!sopts.compact.retention_enabled)
        ls_warn("retention is disabled; replica files are never deleted by litestream");

    int exit_code = 0;
    if (once) {
        if (ls_store_run_once(store, force_snap, enforce, &err) != LS_OK) {
            ls_store_free(store);
            ls_config_free(cfg);
            return cli_fail(NULL, "%s", err.msg);
        }
        ls_info("one-shot replication complete");
        ls_store_free(store);
        ls_config_free(cfg);
        return 0;
    }

    /* MCP server (spec 12): on its own threads, reading the store's status;
     * a start failure is only logged, as the reference does. */
    struct ls_mcp *mcp_srv = NULL;
    struct ls_mcp_http *mcp_http = NULL;
    if (mcp && *mcp)
        cli_mcp_start(cfg, config_path, !no_expand, mcp, store, &mcp_srv, &mcp_http);

    uv_loop_t loop;
    uv_loop_init(&loop);
    daemon_ctx c;
    memset(&c, 0, sizeof(c));
    c.loop = &loop;
    c.store = store;
    uv_signal_init(&loop, &c.sigint);
    uv_signal_init(&loop, &c.sigterm);
    c.sigint.data = c.sigterm.data = &c;
    uv_signal_start(&c.sigint, on_signal, SIGINT);
    uv_signal_start(&c.sigterm, on_signal, SIGTERM);

    if (ls_store_start(store, &loop, &err) != LS_OK) {
        ls_error("cannot start replication", "error", err.msg);
        exit_code = 1;
        begin_stop(&c);
    }

    const char *child_cmd = exec_cmd ? exec_cmd : cfg->exec.v;
    if (exit_code == 0 && child_cmd && *child_cmd) {
        char *args[] = {"/bin/sh", "-c", (char *)child_cmd, NULL};
        uv_process_options_t po;
        memset(&po, 0, sizeof(po));
        uv_stdio_container_t stdio[3] = {
            {.flags = UV_INHERIT_FD, .data.fd = 0},
            {.flags = UV_INHERIT_FD, .data.fd = 1},
            {.flags = UV_INHERIT_FD, .data.fd = 2},
        };
        po.file = args[0];
        po.args = args;
        po.exit_cb = on_child_exit;
        po.stdio = stdio;
        po.stdio_count = 3;
        c.child.data = &c;
        int urc = uv_spawn(&loop, &c.child, &po);
        if (urc != 0) {
            ls_error("cannot start subprocess", "cmd", child_cmd, "error", uv_strerror(urc));
            c.child_exited = true; /* the handle is initialised: close it on shutdown */
            exit_code = 1;
            begin_stop(&c);
        } else {
            c.child_running = true;
        }
    }

    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    if (mcp_http) cli_mcp_stop(mcp_srv, mcp_http); /* before the store it reads */
    ls_store_free(store);
    ls_config_free(cfg);
    if (c.child_exited && c.child_status != 0) {
        fprintf(stderr, "Error: exit status %lld\n", (long long)c.child_status);
        return 1;
    }
    if (exit_code == 0) ls_info("litestream shut down");
    return exit_code;
}
