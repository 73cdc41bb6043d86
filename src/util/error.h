/*
 * util/error.h — the error contract every module uses.
 *
 * A failing function returns an ls_code (never 0) and, when the caller passed
 * a non-NULL ls_err, fills it with a message built at the failure site that
 * names the context (file, key, TXID, offset, HTTP status ...). Callers that
 * add context on the way up use ls_err_wrap(), which prefixes the existing
 * message ("open replica: read ltx/0/...: file checksum mismatch").
 *
 * The codes come from one table (error.c) that also maps each code to a CLI
 * exit status and a short stable name used in JSON output and MCP results.
 *
 * ls_err is a plain value: no allocation, safe to put on the stack, safe to
 * copy. Functions never keep pointers to a caller's ls_err.
 */
#ifndef LS_UTIL_ERROR_H
#define LS_UTIL_ERROR_H

#include <stdarg.h>
#include <stddef.h>

typedef enum ls_code {
    LS_OK = 0,
    LS_ERR_NOMEM,        /* allocation failed */
    LS_ERR_IO,           /* operating-system I/O failure (errno in message) */
    LS_ERR_NOTFOUND,     /* file, object, database or key does not exist */
    LS_ERR_EXISTS,       /* target already exists */
    LS_ERR_INVALID,      /* invalid argument or option value */
    LS_ERR_USAGE,        /* command-line usage error */
    LS_ERR_CONFIG,       /* configuration file error */
    LS_ERR_FORMAT,       /* malformed data: LTX, WAL, LZ4, JSON, ... */
    LS_ERR_CHECKSUM,     /* checksum mismatch */
    LS_ERR_UNSUPPORTED,  /* valid but not supported (e.g. LTX format 1) */
    LS_ERR_NOSPACE,      /* disk full / quota exceeded */
    LS_ERR_BUSY,         /* SQLite busy / locked */
    LS_ERR_SQLITE,       /* other SQLite failure */
    LS_ERR_NETWORK,      /* network / remote storage failure */
    LS_ERR_AUTH,         /* authentication / permission failure */
    LS_ERR_CANCELED,     /* operation cancelled */
    LS_ERR_TIMEOUT,      /* deadline exceeded */
    LS_ERR_UNAVAILABLE,  /* requested TXID / timestamp not available */
    LS_ERR_INTERNAL,     /* broken invariant: a bug */
    LS_CODE_COUNT_
} ls_code;

#define LS_ERR_MSG_MAX 512

typedef struct ls_err {
    ls_code code;
    int sys_errno;              /* errno captured at the failure, or 0 */
    char msg[LS_ERR_MSG_MAX];   /* human message with context, NUL-terminated */
} ls_err;

/* Sets *e (if non-NULL) and returns code. Message is printf-formatted. */
ls_code ls_err_set(ls_err *e, ls_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
ls_code ls_err_vset(ls_err *e, ls_code code, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Like ls_err_set with code LS_ERR_IO (or NOTFOUND / NOSPACE / AUTH when
 * errno says so); appends ": strerror(errnum)" to the message. */
ls_code ls_err_errno(ls_err *e, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefixes "<context>: " to e->msg, keeping the code. Returns e->code
 * (or LS_ERR_INTERNAL if e is NULL). */
ls_code ls_err_wrap(ls_err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void ls_err_clear(ls_err *e);

/* Stable lower-case name of a code ("checksum", "not_found", ...). */
const char *ls_code_name(ls_code code);
/* Process exit status for a code (Litestream exits 1 on every error). */
int ls_code_exit_status(ls_code code);
/* errno -> code mapping used by ls_err_errno. */
ls_code ls_code_from_errno(int errnum);

#endif
