/* cli/cmd_reset.c — `litestream reset` (spec 10.7): clear local state. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "cli/commands.h"
#include "cli/local_state.h"
#include "config/config.h"
#include "util/fs.h"

static const char reset_usage[] =
    "The reset command clears local Litestream state for a database. The next\n"
    "replication sync writes a fresh snapshot. The database file is not modified.\n"
    "\n"
    "Usage:\n"
    "\n"
    "\tlitestream reset [arguments] DB_PATH\n"
    "\n"
    "Arguments:\n"
    "\n"
    "\t-config PATH\n"
    "\t    Specifies the configuration file (used for the database's meta-path).\n"
    "\n"
    "\t-no-expand-env\n"
    "\t    Disables environment variable expansion in configuration file.\n"
    "\n"
    "\t-dry-run\n"
    "\t    Prints what would be removed without removing anything.\n"
    "\n";

int cmd_reset(const cli_command *cmd, int argc, char **argv) {
    (void)cmd;
    const char *config_path = NULL;
    bool no_expand = false, dry_run = false;
    cli_flag flags[] = {
        {"config", CLI_STRING, &config_path, "PATH", "", false},
        {"no-expand-env", CLI_BOOL, &no_expand, NULL, "", false},
        {"dry-run", CLI_BOOL, &dry_run, NULL, "", false},
    };
    int npos;
    char **pos;
    int prc = cli_parse(reset_usage, flags, 3, argc, argv, &npos, &pos);
    if (prc == CLI_HELP) return 0;
    if (prc != CLI_OK) return 1;
    if (npos == 0) return cli_fail("litestream reset /path/to/db", "database path required");
    if (npos > 1) return cli_fail(NULL, "too many arguments");

    char *db = ls_path_abs(pos[0]);
    if (!db) return cli_fail(NULL, "out of memory");
    char *meta = NULL;
    ls_err err;
    if (config_path) {
        ls_config *cfg = NULL;
        if (ls_config_load(config_path, !no_expand, &cfg, &err) != LS_OK) {
            free(db);
            return cli_fail(NULL, "%s", err.msg);
        }
        const ls_db_config *dc = ls_config_find_db(cfg, db);
        if (!dc) {
            ls_config_free(cfg);
            int rc = cli_fail(NULL, "database not found in config: %s", db);
            free(db);
            return rc;
        }
        meta = ls_config_db_meta_path(dc);
        ls_config_free(cfg);
    } else {
        meta = ls_default_meta_path(db);
    }
    struct stat st;
    if (stat(db, &st) != 0) {
        int rc = cli_fail(NULL, "database does not exist: %s", db);
        free(db);
        free(meta);
        return rc;
    }
    int rc = 0;
    char *ltxdir = ls_strfmt("%s/ltx", meta);
    if (stat(meta, &st) != 0) {
        printf("No local state to reset for %s\n", db);
        printf("Meta directory does not exist: %s\n", meta);
    } else if (dry_run) {
        printf("Dry run: local Litestream state would be reset for: %s\n", db);
        printf("Would remove: %s\n", ltxdir);
        char **files = NULL;
        size_t n = 0;
        if (cli_local_ltx_files(meta, &files, &n, &err) != LS_OK) {
            rc = cli_fail(NULL, "%s", err.msg);
        } else if (n == 0) {
            printf("No local LTX files would be removed.\n");
        } else {
            printf("Files that would be removed:\n");
            for (size_t i = 0; i < n; i++) printf("  %s\n", files[i]);
            printf("No files were removed.\n");
        }
        cli_free_strings(files, n);
    } else {
        printf("Resetting local Litestream state for: %s\n", db);
        printf("Removing: %s\n", ltxdir);
        if (ls_remove_all(ltxdir, &err) != LS_OK) rc = cli_fail(NULL, "%s", err.msg);
        else printf("Reset complete. Next replication sync will create a fresh snapshot.\n");
    }
    free(ltxdir);
    free(db);
    free(meta);
    return rc;
}
