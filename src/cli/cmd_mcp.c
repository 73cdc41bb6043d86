/*
 * cli/cmd_mcp.c — `litestream mcp` (an extension: the reference has no such
 * command): serves the MCP tools over stdio for a configuration, without a
 * running daemon (state comes from the databases' local metadata and from
 * the replicas). With -addr it serves HTTP instead (same endpoints as the
 * server `replicate` starts).
 *
 * Also the helpers `replicate` uses to start and stop its MCP server.
 * Logs always go to stderr here: stdout carries only MCP messages.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/replica_open.h"
#include "config/config.h"
#include "mcp/mcp.h"
#include "util/log.h"
#include "util/timeutil.h"

static const char mcp_usage[] =
    "The mcp command serves the Model Context Protocol tools of a configuration\n"
    "over stdio (for MCP clients that start a local command), or over HTTP with\n"
    "-addr. It needs no running `litestream replicate`.\n"
    "\n"
    "Usage:\n"
    "\n"
    "\tlitestream mcp [arguments]\n"
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
    "\t-addr ADDR\n"
    "\t    Serves HTTP on ADDR (e.g. 127.0.0.1:3001) instead of stdio.\n"
    "\n"
    "\t-read-only\n"
    "\t    Removes the restore and reset tools (as mcp-read-only: true).\n"
    "\n"
    "\t-log-level LEVEL\n"
    "\t    Sets the log level (trace, debug, info, warn, error); logs go to stderr.\n"
    "\n";

/* Fills MCP options from a config (strings borrowed from cfg). */
static void opts_from_config(const ls_config *cfg, const char *config_path, bool expand_env,
                             ls_mcp_opts *o) {
    memset(o, 0, sizeof(*o));
    o->config_path = config_path;
    o->expand_env = expand_env;
    o->read_only = cfg->mcp_read_only.v;
    o->token = cfg->mcp_token.v && *cfg->mcp_token.v ? cfg->mcp_token.v : getenv("LITESTREAM_MCP_TOKEN");
    o->restore_dirs = (const char *const *)cfg->mcp_restore_dirs.v;
    o->nrestore_dirs = cfg->mcp_restore_dirs.n;
    o->open_replica = cli_open_replica_storage;
    o->open_url = cli_open_replica_url;
}

int cli_mcp_start(const ls_config *cfg, const char *config_path, bool expand_env, const char *addr,
                  struct ls_store *store, ls_mcp **mcp_out, ls_mcp_http **http_out) {
    *mcp_out = NULL;
    *http_out = NULL;
    ls_mcp_opts o;
    opts_from_config(cfg, config_path ? config_path : ls_config_default_path(), expand_env, &o);
    o.config = cfg;
    o.store = store;
    o.addr = addr;
    ls_err err;
    ls_mcp *m = NULL;
    if (ls_mcp_new(&o, &m, &err) != LS_OK) {
        ls_error("MCP server error", "error", err.msg);
        return -1;
    }
    if (ls_mcp_http_start(m, addr, http_out, &err) != LS_OK) {
        ls_error("MCP server error", "error", err.msg);
        ls_mcp_free(m);
        return -1;
    }
    *mcp_out = m;
    return 0;
}

void cli_mcp_stop(ls_mcp *m, ls_mcp_http *h) {
    if (h && !ls_mcp_http_stop(h, 10 * LS_NS_PER_SEC)) {
        ls_warn("MCP server did not stop within 10s; abandoning its connections");
        return; /* threads may still use m: leave it to process exit */
    }
    ls_mcp_free(m);
}

/* stdio mode: a signal cancels every call, waits up to 10 s for them to
 * clean up, then exits. */
static void *stdio_signal_main(void *arg) {
    ls_mcp *m = arg;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    int sig = 0;
    sigwait(&set, &sig);
    ls_info("signal received, stopping MCP server");
    ls_mcp_cancel_all(m);
    int64_t end = ls_monotonic_ns() + 10 * LS_NS_PER_SEC;
    while (ls_mcp_calls_in_flight(m) > 0 && ls_monotonic_ns() < end) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    fflush(stdout);
    _exit(0);
    return NULL;
}

int cmd_mcp(const cli_command *cmd, int argc, char **argv) {
    (void)cmd;
    const char *config_path = NULL, *addr = NULL, *log_level = NULL;
    bool no_expand = false, read_only = false;
    cli_flag flags[] = {
        {"config", CLI_STRING, &config_path, "PATH", "config file", false},
        {"no-expand-env", CLI_BOOL, &no_expand, NULL, "", false},
        {"addr", CLI_STRING, &addr, "ADDR", "", false},
        {"read-only", CLI_BOOL, &read_only, NULL, "", false},
        {"log-level", CLI_STRING, &log_level, "LEVEL", "", false},
    };
    int npos;
    char **pos;
    int prc = cli_parse(mcp_usage, flags, 5, argc, argv, &npos, &pos);
    if (prc == CLI_HELP) return 0;
    if (prc != CLI_OK) return 1;
    if (npos > 0) return cli_fail(NULL, "too many arguments");

    ls_log_configure(LS_LOG_INFO, LS_LOG_FORMAT_TEXT, stderr);
    ls_err err;
    ls_config *cfg = NULL;
    if (ls_config_load(config_path, !no_expand, &cfg, &err) != LS_OK) return cli_fail(NULL, "%s", err.msg);
    ls_config_configure_logging(cfg);
    ls_log_format fmt = LS_LOG_FORMAT_TEXT;
    ls_log_parse_format(cfg->logging_type.v, &fmt);
    ls_log_level lvl = ls_log_get_level();
    if (log_level && !ls_log_parse_level(log_level, &lvl)) {
        ls_config_free(cfg);
        return cli_fail(NULL, "invalid -log-level: %s", log_level);
    }
    ls_log_configure(lvl, fmt, stderr);

    ls_mcp_opts o;
    const char *cpath = config_path && *config_path ? config_path : ls_config_default_path();
    opts_from_config(cfg, cpath, !no_expand, &o);
    o.read_only = o.read_only || read_only;
    o.addr = addr ? addr : "stdio";
    ls_mcp *m = NULL;
    if (ls_mcp_new(&o, &m, &err) != LS_OK) {
        ls_config_free(cfg);
        return cli_fail(NULL, "%s", err.msg);
    }
    int rc = 0;
    if (!addr) {
        /* The server reloads the file itself when it changes. SIGINT/SIGTERM
         * cancel running calls (a restore removes its temp file) and exit. */
        signal(SIGPIPE, SIG_IGN);
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &set, NULL);
        pthread_t th;
        if (pthread_create(&th, NULL, stdio_signal_main, m) == 0) pthread_detach(th);
        rc = ls_mcp_stdio_run(m, stdin, stdout);
        ls_mcp_free(m);
        ls_config_free(cfg);
        return rc;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    ls_mcp_http *h = NULL;
    if (ls_mcp_http_start(m, addr, &h, &err) != LS_OK) {
        ls_mcp_free(m);
        ls_config_free(cfg);
        return cli_fail(NULL, "%s", err.msg);
    }
    int sig = 0;
    sigwait(&set, &sig);
    ls_info("signal received, stopping MCP server");
    cli_mcp_stop(m, h);
    ls_config_free(cfg);
    return rc;
}
