/*
 * cli/local_state.h — read-only views of a database's local metadata
 * directory (spec 4.2/4.3) for commands that must not open the database
 * (status, reset): the newest local L0 TXID and the local L0 files.
 */
#ifndef LS_CLI_LOCAL_STATE_H
#define LS_CLI_LOCAL_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

/* Greatest MaxTXID among the <meta>/ltx/0 LTX files (0 when none or no directory).
 * LS_ERR_IO (or AUTH) when the directory exists but cannot be read. */
ls_code cli_local_max_txid(const char *meta_path, uint64_t *txid, ls_err *err);

/* Paths of every file below <meta>/ltx (sorted), malloc'd array of malloc'd
 * strings; *n = 0 when none. */
ls_code cli_local_ltx_files(const char *meta_path, char ***paths, size_t *n, ls_err *err);
void cli_free_strings(char **v, size_t n);

/* go-humanize Bytes (spec 17.2): "0 B", "4.2 kB", "12 kB", "1.0 MB". */
void cli_format_si_bytes(uint64_t n, char *buf, size_t len);

#endif
