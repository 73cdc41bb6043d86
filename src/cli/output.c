#include "cli/output.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "util/fs.h"

struct cli_table {
    int ncols;
    char **cells; /* rows * ncols */
    size_t rows, cap;
};

cli_table *cli_table_new(int ncols) {
    cli_table *t = calloc(1, sizeof(*t));
    if (t) t->ncols = ncols;
    return t;
}

void cli_table_row(cli_table *t, ...) {
    if (!t) return;
    if (t->rows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        char **p = realloc(t->cells, cap * (size_t)t->ncols * sizeof(char *));
        if (!p) return;
        t->cells = p;
        t->cap = cap;
    }
    va_list ap;
    va_start(ap, t);
    for (int i = 0; i < t->ncols; i++) {
        const char *c = va_arg(ap, const char *);
        t->cells[t->rows * (size_t)t->ncols + (size_t)i] = ls_strdup(c ? c : "");
    }
    va_end(ap);
    t->rows++;
}

/* Width in Unicode code points (UTF-8 continuation bytes not counted). */
static size_t cp_width(const char *s) {
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80) n++;
    return n;
}

void cli_table_print(cli_table *t, FILE *f) {
    if (!t) return;
    size_t *w = calloc((size_t)t->ncols, sizeof(size_t));
    for (size_t r = 0; r < t->rows && w; r++)
        for (int c = 0; c < t->ncols; c++) {
            size_t cw = cp_width(t->cells[r * (size_t)t->ncols + (size_t)c]);
            if (cw > w[c]) w[c] = cw;
        }
    for (size_t r = 0; r < t->rows; r++) {
        for (int c = 0; c < t->ncols; c++) {
            const char *cell = t->cells[r * (size_t)t->ncols + (size_t)c];
            fputs(cell, f);
            if (c < t->ncols - 1 && w)
                for (size_t k = cp_width(cell); k < w[c] + 2; k++) fputc(' ', f);
        }
        fputc('\n', f);
    }
    for (size_t i = 0; i < t->rows * (size_t)t->ncols; i++) free(t->cells[i]);
    free(t->cells);
    free(w);
    free(t);
}

void cli_print_json(json_t *v, FILE *f) {
    char *s = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(v);
    if (!s) return;
    for (const char *p = s; *p; p++) {
        switch (*p) {
        case '<': fputs("\\u003c", f); break;
        case '>': fputs("\\u003e", f); break;
        case '&': fputs("\\u0026", f); break;
        default: fputc(*p, f);
        }
    }
    fputc('\n', f);
    free(s);
}
