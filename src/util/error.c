#include "util/error.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const struct {
    ls_code code;
    const char *name;
    int exit_status;
} code_table[LS_CODE_COUNT_] = {
    {LS_OK, "ok", 0},
    {LS_ERR_NOMEM, "out_of_memory", 1},
    {LS_ERR_IO, "io", 1},
    {LS_ERR_NOTFOUND, "not_found", 1},
    {LS_ERR_EXISTS, "exists", 1},
    {LS_ERR_INVALID, "invalid_argument", 1},
    {LS_ERR_USAGE, "usage", 1},
    {LS_ERR_CONFIG, "config", 1},
    {LS_ERR_FORMAT, "format", 1},
    {LS_ERR_CHECKSUM, "checksum", 1},
    {LS_ERR_UNSUPPORTED, "unsupported", 1},
    {LS_ERR_NOSPACE, "no_space", 1},
    {LS_ERR_BUSY, "busy", 1},
    {LS_ERR_SQLITE, "sqlite", 1},
    {LS_ERR_NETWORK, "network", 1},
    {LS_ERR_AUTH, "permission", 1},
    {LS_ERR_CANCELED, "canceled", 1},
    {LS_ERR_TIMEOUT, "timeout", 1},
    {LS_ERR_UNAVAILABLE, "unavailable", 1},
    {LS_ERR_INTERNAL, "internal", 1},
};

const char *ls_code_name(ls_code code) {
    if ((int)code < 0 || code >= LS_CODE_COUNT_) return "unknown";
    return code_table[code].name;
}

int ls_code_exit_status(ls_code code) {
    if ((int)code < 0 || code >= LS_CODE_COUNT_) return 1;
    return code_table[code].exit_status;
}

ls_code ls_code_from_errno(int errnum) {
    switch (errnum) {
    case 0: return LS_OK;
    case ENOENT: return LS_ERR_NOTFOUND;
    case EEXIST: return LS_ERR_EXISTS;
    case ENOSPC:
#ifdef EDQUOT
    case EDQUOT:
#endif
        return LS_ERR_NOSPACE;
    case EACCES:
    case EPERM:
    case EROFS: return LS_ERR_AUTH;
    case ENOMEM: return LS_ERR_NOMEM;
    case EINVAL: return LS_ERR_INVALID;
    case ETIMEDOUT: return LS_ERR_TIMEOUT;
    case ECANCELED: return LS_ERR_CANCELED;
    default: return LS_ERR_IO;
    }
}

ls_code ls_err_vset(ls_err *e, ls_code code, const char *fmt, va_list ap) {
    if (e) {
        e->code = code;
        e->sys_errno = 0;
        vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    }
    return code;
}

ls_code ls_err_set(ls_err *e, ls_code code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    ls_err_vset(e, code, fmt, ap);
    va_end(ap);
    return code;
}

ls_code ls_err_errno(ls_err *e, int errnum, const char *fmt, ...) {
    ls_code code = ls_code_from_errno(errnum);
    if (code == LS_OK) code = LS_ERR_IO;
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        ls_err_vset(e, code, fmt, ap);
        va_end(ap);
        e->sys_errno = errnum;
        size_t n = strlen(e->msg);
        snprintf(e->msg + n, sizeof(e->msg) - n, ": %s", strerror(errnum));
    }
    return code;
}

ls_code ls_err_wrap(ls_err *e, const char *fmt, ...) {
    if (!e) return LS_ERR_INTERNAL;
    char prefix[LS_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    char old[LS_ERR_MSG_MAX];
    memcpy(old, e->msg, sizeof(old));
    snprintf(e->msg, sizeof(e->msg), "%s: %s", prefix, old);
    if (e->code == LS_OK) e->code = LS_ERR_INTERNAL;
    return e->code;
}

void ls_err_clear(ls_err *e) {
    if (!e) return;
    e->code = LS_OK;
    e->sys_errno = 0;
    e->msg[0] = '\0';
}
