/*
 * cli/commands.h — the table of subcommands. Each command lives in its own
 * file cmd_<name>.c and exposes one entry point with this signature.
 */
#ifndef LS_CLI_COMMANDS_H
#define LS_CLI_COMMANDS_H

#include "cli/flags.h"

int cmd_version(const cli_command *cmd, int argc, char **argv);
int cmd_replicate(const cli_command *cmd, int argc, char **argv);
int cmd_databases(const cli_command *cmd, int argc, char **argv);
int cmd_status(const cli_command *cmd, int argc, char **argv);
int cmd_reset(const cli_command *cmd, int argc, char **argv);
int cmd_ltx(const cli_command *cmd, int argc, char **argv);
int cmd_restore(const cli_command *cmd, int argc, char **argv);
int cmd_snapshots(const cli_command *cmd, int argc, char **argv);
int cmd_wal(const cli_command *cmd, int argc, char **argv);
int cmd_generations(const cli_command *cmd, int argc, char **argv);
int cmd_mcp(const cli_command *cmd, int argc, char **argv);

/* MCP server of `replicate` (cli/cmd_mcp.c): starts HTTP on addr for cfg and
 * the running store; logs and returns -1 on failure (replication goes on).
 * cli_mcp_stop() stops it with a 10 s deadline and frees it. */
struct ls_config;
struct ls_store;
struct ls_mcp;
struct ls_mcp_http;
int cli_mcp_start(const struct ls_config *cfg, const char *config_path, bool expand_env,
                  const char *addr, struct ls_store *store, struct ls_mcp **mcp_out,
                  struct ls_mcp_http **http_out);
void cli_mcp_stop(struct ls_mcp *m, struct ls_mcp_http *h);

extern const cli_command ls_commands[];
extern const int ls_command_count;

#endif
