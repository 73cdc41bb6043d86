#include <stdio.h>
#include <sys/utsname.h>

#include "cli/commands.h"
#include "util/version.h"

static const char version_usage[] =
    "The version command prints the version of this build.\n"
    "\n"
    "Usage:\n"
    "\n"
    "\tlitestream version [arguments]\n"
    "\n"
    "Arguments:\n"
    "\n"
    "\t-verbose\n"
    "\t    Print build details (compiler, SQLite and library versions, OS/arch).\n"
    "\n";

int cmd_version(const cli_command *cmd, int argc, char **argv) {
    (void)cmd;
    bool verbose = false;
    cli_flag flags[] = {{"verbose", CLI_BOOL, &verbose, NULL, "print build details", false}};
    int npos;
    char **pos;
    int rc = cli_parse(version_usage, flags, 1, argc, argv, &npos, &pos);
    if (rc == CLI_HELP) return 0;
    if (rc != CLI_OK) return 1;
    if (npos > 0) return cli_fail(NULL, "too many arguments");
    if (!verbose) {
        printf("%s\n", ls_version());
        return 0;
    }
    struct utsname u;
    uname(&u);
    printf("Version:     %s\n", ls_version());
    printf("C Compiler:  %s\n", ls_compiler_version());
    printf("SQLite:      %s\n", ls_sqlite_version());
    printf("OS/Arch:     %s/%s\n", u.sysname, u.machine);
    return 0;
}
