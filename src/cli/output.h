/*
 * cli/output.h — the two output forms every inspection command shares:
 * Go text/tabwriter tables (padding 2, last column unpadded, widths in code
 * points) and Go-style indented JSON (2 spaces, <>& escaped as \u003c...,
 * trailing newline, empty arrays as []).
 */
#ifndef LS_CLI_OUTPUT_H
#define LS_CLI_OUTPUT_H

#include <jansson.h>
#include <stdio.h>

typedef struct cli_table cli_table;

/* ncols columns; header cells are given to the first cli_table_row call. */
cli_table *cli_table_new(int ncols);
/* Adds a row of ncols cells (copied). */
void cli_table_row(cli_table *t, ...);
/* Prints and frees the table. */
void cli_table_print(cli_table *t, FILE *f);

/* Prints v as Go's json.MarshalIndent(v, "", "  ") + "\n"; decrefs v. */
void cli_print_json(json_t *v, FILE *f);

#endif
