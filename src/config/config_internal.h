/*
 * config/config_internal.h — helpers shared by the files of src/config/.
 * Not part of the public API; other modules include config/config.h only.
 */
#ifndef LS_CONFIG_INTERNAL_H
#define LS_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

/* Go os.Expand over text[0..len) with $PID -> getpid(). malloc'd, NUL
 * terminated; *out_len (optional) receives the length. NULL on OOM. */
char *lscfg_expand_env_n(const char *text, size_t len, size_t *out_len);

/* Go path.Clean ("" -> "."). malloc'd; NULL on OOM. */

/* go-yaml v2 plain-scalar resolution. */
typedef enum lscfg_rtag {
    LSCFG_R_NULL,
    LSCFG_R_BOOL,
    LSCFG_R_INT,    /* fits int64 */
    LSCFG_R_UINT,   /* > INT64_MAX, fits uint64 */
    LSCFG_R_FLOAT,
    LSCFG_R_STR,
} lscfg_rtag;

typedef struct lscfg_resolved {
    lscfg_rtag tag;
    bool b;
    int64_t i;
    uint64_t u;
    double f;
} lscfg_resolved;

/* Resolves a scalar as go-yaml v2 does; quoted scalars are always strings. */
void lscfg_resolve(const char *text, bool plain, lscfg_resolved *out);

/* Go strconv.ParseInt(s, 0, 64) after removing '_' (sign, 0x/0o/0b, leading
 * 0 = octal). Returns false on syntax error or overflow. */
bool lscfg_parse_go_int(const char *s, int64_t *out);

/* Case-insensitive ASCII prefix / equality. */
bool lscfg_has_prefix_ci(const char *s, const char *prefix);

/* Levenshtein distance (bounded inputs). */
size_t lscfg_edit_distance(const char *a, const char *b);

/* Endpoint helpers of 11.5 (host part only, lower-cased comparisons). */
bool lscfg_is_local_endpoint(const char *endpoint);
/* Adds http:// (local) or https:// when no scheme. malloc'd. */
char *lscfg_ensure_endpoint_scheme(const char *endpoint);
/* Lower-cased host[:port] of an endpoint ("" when it has userinfo). malloc'd. */
char *lscfg_endpoint_host(const char *endpoint);

/* True when a URL query key names a secret (display redaction). */
bool lscfg_is_secret_param(const char *key);

#endif
