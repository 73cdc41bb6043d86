/*
 * util/log.h — structured logging in Litestream's format.
 *
 * Text (default), as Go's log/slog TextHandler prints it:
 *   time=2025-01-02T03:04:05.123Z level=INFO msg="replicating to" name=file url=file:///x
 * JSON (logging.type: json):
 *   {"time":"...","level":"INFO","msg":"replicating to","name":"file",...}
 *
 * Calls take a message and then key/value string pairs; the macros append the
 * terminating NULL and skip argument evaluation when the level is disabled:
 *   ls_info("replicating to", "db", path, "txid", LS_HEX16(txid));
 * LS_INT()/LS_HEX16() format numbers into a temporary buffer that lives for
 * the statement; LS_INT values are emitted as JSON numbers.
 * Secrets must never be passed as values: log URLs through
 * ls_replica_url_display() (config/config.h), which removes credentials.
 * Thread-safe: one line is written atomically under a mutex.
 */
#ifndef LS_UTIL_LOG_H
#define LS_UTIL_LOG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef enum ls_log_level {
    LS_LOG_TRACE = -8,
    LS_LOG_DEBUG = -4,
    LS_LOG_INFO = 0,
    LS_LOG_WARN = 4,
    LS_LOG_ERROR = 8,
} ls_log_level;

typedef enum ls_log_format { LS_LOG_FORMAT_TEXT, LS_LOG_FORMAT_JSON } ls_log_format;

/* Configure the process-wide logger. out == NULL means stdout. */
void ls_log_configure(ls_log_level level, ls_log_format format, FILE *out);
void ls_log_set_level(ls_log_level level);
ls_log_level ls_log_get_level(void);
bool ls_log_enabled(ls_log_level level);

/* Parse "trace|debug|info|warn|warning|error" (case-insensitive). */
bool ls_log_parse_level(const char *s, ls_log_level *out);
/* Parse "text|json|pretty" ("pretty" is text). */
bool ls_log_parse_format(const char *s, ls_log_format *out);

/* Emit one record: msg then (key, value) pairs terminated by a NULL key. */
void ls_log_kv(ls_log_level level, const char *msg, ...);

#define LS_LOG_AT(lvl, ...)                                                   \
    do {                                                                      \
        if (ls_log_enabled(lvl)) ls_log_kv((lvl), __VA_ARGS__, (const char *)0); \
    } while (0)
#define ls_trace(...) LS_LOG_AT(LS_LOG_TRACE, __VA_ARGS__)
#define ls_debug(...) LS_LOG_AT(LS_LOG_DEBUG, __VA_ARGS__)
#define ls_info(...) LS_LOG_AT(LS_LOG_INFO, __VA_ARGS__)
#define ls_warn(...) LS_LOG_AT(LS_LOG_WARN, __VA_ARGS__)
#define ls_error(...) LS_LOG_AT(LS_LOG_ERROR, __VA_ARGS__)

/* Number formatting helpers for log values (buffer lives for the statement). */
const char *ls_log_fmt_int(char buf[32], long long v);
const char *ls_log_fmt_hex16(char buf[32], uint64_t v);
#define LS_INT(x) ls_log_fmt_int((char[32]){0}, (long long)(x))
#define LS_HEX16(x) ls_log_fmt_hex16((char[32]){0}, (uint64_t)(x))

#endif
