/*
 * util/timeutil.h — time values and the Go text forms Litestream prints.
 *
 * Times are int64 nanoseconds since the Unix epoch (UTC) unless a name says
 * _ms. Durations are int64 nanoseconds.
 */
#ifndef LS_UTIL_TIMEUTIL_H
#define LS_UTIL_TIMEUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define LS_NS_PER_MS INT64_C(1000000)
#define LS_NS_PER_SEC INT64_C(1000000000)

int64_t ls_now_ns(void);          /* wall clock (CLOCK_REALTIME) */
int64_t ls_now_ms(void);
int64_t ls_monotonic_ns(void);    /* CLOCK_MONOTONIC */

/* Go time.ParseDuration syntax: "300ms", "1.5h", "2h45m", "-1s", "0".
 * Units: ns, us (µs), ms, s, m, h. Errors name the input. */
ls_code ls_parse_duration(const char *s, int64_t *out_ns, ls_err *err);
/* Go Duration.String(): "0s", "1.5s", "500ms", "5m0s", "1h2m3s". */
void ls_format_duration(int64_t ns, char *buf, size_t n);

/* RFC 3339 / ISO 8601 with optional fractional seconds and Z or +hh:mm.
 * Result is nanoseconds since the epoch. */
ls_code ls_parse_rfc3339(const char *s, int64_t *out_ns, ls_err *err);
/* "2006-01-02T15:04:05Z" (UTC, no fraction). */
void ls_format_rfc3339(int64_t ns, char *buf, size_t n);
/* RFC 3339 with nanoseconds, trailing zeros trimmed, UTC ("...05.1Z"). */
void ls_format_rfc3339_nano(int64_t ns, char *buf, size_t n);
/* RFC 3339 with milliseconds always printed ("...05.100Z"). */
void ls_format_rfc3339_ms(int64_t ns, char *buf, size_t n);

#endif
