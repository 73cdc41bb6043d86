#include "cli/flags.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/timeutil.h"

int cli_fail(const char *hint, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("Error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    if (hint) fprintf(stderr, "Try: %s\n", hint);
    return 1;
}

const cli_flag *cli_flag_find(const cli_flag *flags, int nflags, const char *name) {
    for (int i = 0; i < nflags; i++)
        if (strcmp(flags[i].name, name) == 0) return &flags[i];
    return NULL;
}

static bool parse_bool(const char *s, bool *out) {
    static const char *t[] = {"1", "t", "T", "true", "TRUE", "True"};
    static const char *f[] = {"0", "f", "F", "false", "FALSE", "False"};
    for (size_t i = 0; i < 6; i++) {
        if (strcmp(s, t[i]) == 0) { *out = true; return true; }
        if (strcmp(s, f[i]) == 0) { *out = false; return true; }
    }
    return false;
}

static int parse_error(const char *usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int parse_error(const char *usage, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", msg);
    if (usage) fputs(usage, stdout);
    cli_fail(NULL, "%s", msg);
    return CLI_ERROR;
}

static int set_value(const char *usage, cli_flag *f, const char *val) {
    switch (f->type) {
    case CLI_BOOL: {
        bool b;
        if (!parse_bool(val, &b))
            return parse_error(usage, "invalid boolean value \"%s\" for -%s: parse error", val, f->name);
        *(bool *)f->target = b;
        break;
    }
    case CLI_STRING: *(const char **)f->target = val; break;
    case CLI_INT: {
        char *end;
        errno = 0;
        long long v = strtoll(val, &end, 0);
        if (errno || end == val || *end)
            return parse_error(usage, "invalid value \"%s\" for flag -%s: parse error", val, f->name);
        *(long long *)f->target = v;
        break;
    }
    case CLI_DURATION: {
        int64_t ns;
        ls_err e;
        if (ls_parse_duration(val, &ns, &e) != LS_OK)
            return parse_error(usage, "invalid value \"%s\" for flag -%s: %s", val, f->name, e.msg);
        *(int64_t *)f->target = ns;
        break;
    }
    }
    f->seen = true;
    return CLI_OK;
}

int cli_parse(const char *usage, cli_flag *flags, int nflags, int argc, char **argv,
              int *npos, char ***pos) {
    int i = 0;
    while (i < argc) {
        const char *a = argv[i];
        if (a[0] != '-' || a[1] == '\0') break;       /* positional or lone "-" */
        const char *name = a + 1;
        if (*name == '-') {
            name++;
            if (*name == '\0') { i++; break; }       /* "--" terminator */
        }
        if (*name == '-' || *name == '=')
            return parse_error(usage, "bad flag syntax: %s", a);
        const char *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        if ((nlen == 1 && name[0] == 'h') || (nlen == 4 && memcmp(name, "help", 4) == 0)) {
            bool defined = false;
            for (int k = 0; k < nflags; k++)
                if (strlen(flags[k].name) == nlen && memcmp(flags[k].name, name, nlen) == 0) defined = true;
            if (!defined) {
                if (usage) fputs(usage, stdout);
                return CLI_HELP;
            }
        }
        cli_flag *f = NULL;
        for (int k = 0; k < nflags; k++) {
            if (strlen(flags[k].name) == nlen && memcmp(flags[k].name, name, nlen) == 0) {
                f = &flags[k];
                break;
            }
        }
        if (!f) return parse_error(usage, "flag provided but not defined: -%.*s", (int)nlen, name);
        i++;
        if (eq) {
            if (set_value(usage, f, eq + 1) != CLI_OK) return CLI_ERROR;
        } else if (f->type == CLI_BOOL) {
            *(bool *)f->target = true;
            f->seen = true;
        } else {
            if (i >= argc) return parse_error(usage, "flag needs an argument: -%s", f->name);
            if (set_value(usage, f, argv[i]) != CLI_OK) return CLI_ERROR;
            i++;
        }
    }
    *npos = argc - i;
    *pos = argv + i;
    return CLI_OK;
}
