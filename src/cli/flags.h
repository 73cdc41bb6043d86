/*
 * cli/flags.h — Go `flag`-style command-line parsing driven by one table.
 *
 * Syntax accepted (as Litestream's Go flag package): -name value, -name=value,
 * --name (same as -name), boolean flags take no separate value (-flag or
 * -flag=false); parsing stops at the first positional argument or after "--".
 * -h, -help and --help print the usage to stdout and report CLI_HELP.
 *
 * The same table renders the "Arguments:" section of a command's usage, so
 * parsing and help cannot drift apart.
 */
#ifndef LS_CLI_FLAGS_H
#define LS_CLI_FLAGS_H

#include <stdbool.h>
#include <stdint.h>

typedef enum cli_flag_type {
    CLI_BOOL,      /* bool *                                    */
    CLI_STRING,    /* const char ** (points into argv)          */
    CLI_INT,       /* long long *                               */
    CLI_DURATION,  /* int64_t * nanoseconds (Go duration text)  */
} cli_flag_type;

typedef struct cli_flag {
    const char *name;      /* without dash: "config" */
    cli_flag_type type;
    void *target;
    const char *arg_name;  /* placeholder in help: "PATH" (NULL for bool) */
    const char *help;
    bool seen;             /* set by the parser */
} cli_flag;

typedef struct cli_command {
    const char *name;
    const char *summary;                  /* one line for the main usage */
    int (*run)(const struct cli_command *cmd, int argc, char **argv);
    bool hidden;
} cli_command;

enum { CLI_OK = 0, CLI_HELP = 1, CLI_ERROR = 2 };

/*
 * Parses argv[0] up to argc (argv[0] is the first argument after the command
 * name). On CLI_OK npos and pos give the positional arguments. On CLI_HELP
 * the usage was printed; the caller exits 0. On CLI_ERROR the Go-style
 * messages were printed (error on stderr, usage on stdout); exit 1.
 */
int cli_parse(const char *usage, cli_flag *flags, int nflags, int argc, char **argv,
              int *npos, char ***pos);

/* Prints "Error: <msg>" (and "Try: <hint>" when hint != NULL) to stderr;
 * returns the exit status 1. */
int cli_fail(const char *hint, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Looks up a flag by name in a table (for "was -config given?"). */
const cli_flag *cli_flag_find(const cli_flag *flags, int nflags, const char *name);

#endif
