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

extern const cli_command ls_commands[];
extern const int ls_command_count;

#endif
