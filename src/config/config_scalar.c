/*
 * config/config_scalar.c — scalar rules of the configuration file:
 * environment expansion (Go os.Expand, spec 11.1), go-yaml v2 plain-scalar
 * resolution, Go integer syntax, go-humanize byte sizes (11.7), Go
 * path.Clean, and a small edit distance for "did you mean" hints.
 */
#include "config/config_internal.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/fs.h"

/* ------------------------------------------------------------------------ */
/* Growable buffer                                                           */

typedef struct sbuf {
    char *p;
    size_t len, cap;
    bool oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n) {
    if (b->oom || n == 0) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1) {
            if (cap > SIZE_MAX / 2) {
                b->oom = true;
                return;
            }
            cap *= 2;
        }
        char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = true;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static char *sb_finish(sbuf *b, size_t *out_len) {
    if (b->oom) {
        free(b->p);
        return NULL;
    }
    if (!b->p) {
        b->p = malloc(1);
        if (!b->p) return NULL;
        b->p[0] = '\0';
    }
    if (out_len) *out_len = b->len;
    return b->p;
}

/* ------------------------------------------------------------------------ */
/* Environment expansion (Go os.Expand)                                      */

static bool is_shell_special(char c) {
    switch (c) {
    case '*': case '#': case '$': case '@': case '!': case '?': case '-':
        return true;
    default:
        return c >= '0' && c <= '9';
    }
}

static bool is_alnum_us(char c) {
    return c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Go getShellName: returns the name (start, length) and the width consumed
 * after the '$'. name_len == 0 && w > 0 means "bad syntax, eat w chars". */
static void shell_name(const char *s, size_t n, size_t *name_off, size_t *name_len, size_t *w) {
    *name_off = 0;
    *name_len = 0;
    *w = 0;
    if (n == 0) return;
    if (s[0] == '{') {
        if (n > 2 && is_shell_special(s[1]) && s[2] == '}') {
            *name_off = 1;
            *name_len = 1;
            *w = 3;
            return;
        }
        for (size_t i = 1; i < n; i++) {
            if (s[i] == '}') {
                if (i == 1) { /* "${}" */
                    *w = 2;
                    return;
                }
                *name_off = 1;
                *name_len = i - 1;
                *w = i + 1;
                return;
            }
        }
        *w = 1; /* unterminated "${": eat the two characters */
        return;
    }
    if (is_shell_special(s[0])) {
        *name_len = 1;
        *w = 1;
        return;
    }
    size_t i = 0;
    while (i < n && is_alnum_us(s[i])) i++;
    *name_len = i;
    *w = i;
}

static void put_env_value(sbuf *b, const char *name, size_t len) {
    char small[256];
    char *key = len < sizeof(small) ? small : malloc(len + 1);
    if (!key) {
        b->oom = true;
        return;
    }
    memcpy(key, name, len);
    key[len] = '\0';
    if (strcmp(key, "PID") == 0) {
        char pid[32];
        int k = snprintf(pid, sizeof(pid), "%ld", (long)getpid());
        sb_put(b, pid, (size_t)k);
    } else if (memchr(name, '\0', len) == NULL) {
        const char *v = getenv(key);
        if (v) sb_put(b, v, strlen(v));
    }
    if (key != small) free(key);
}

char *lscfg_expand_env_n(const char *s, size_t n, size_t *out_len) {
    sbuf b = {0};
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '$' && i + 1 < n) {
            sb_put(&b, s + j, i - j);
            size_t off, nlen, w;
            shell_name(s + i + 1, n - i - 1, &off, &nlen, &w);
            if (nlen == 0 && w > 0) {
                /* invalid syntax: eat the characters */
            } else if (nlen == 0) {
                sb_put(&b, "$", 1); /* '$' not followed by a name stays */
            } else {
                put_env_value(&b, s + i + 1 + off, nlen);
            }
            i += w;
            j = i + 1;
        }
    }
    if (j < n) sb_put(&b, s + j, n - j);
    return sb_finish(&b, out_len);
}

char *ls_config_expand_env(const char *text) {
    if (!text) return NULL;
    return lscfg_expand_env_n(text, strlen(text), NULL);
}


/* ------------------------------------------------------------------------ */
/* Integers and go-yaml v2 resolution                                        */

static int digit_val(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'z') return c - 'a' + 10;
    if (c >= 'A' && c <= 'Z') return c - 'A' + 10;
    return 99;
}

/* Unsigned magnitude with Go base-0 prefixes; s has no sign. */
static bool parse_go_uint_mag(const char *s, uint64_t *out) {
    int base = 10;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    } else if (s[0] == '0' && (s[1] == 'o' || s[1] == 'O')) {
        base = 8;
        s += 2;
    } else if (s[0] == '0' && (s[1] == 'b' || s[1] == 'B')) {
        base = 2;
        s += 2;
    } else if (s[0] == '0' && s[1] != '\0') {
        base = 8;
        s += 1;
    }
    if (!*s) return false;
    uint64_t v = 0;
    for (; *s; s++) {
        int d = digit_val(*s);
        if (d >= base) return false;
        if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base) return false;
        v = v * (uint64_t)base + (uint64_t)d;
    }
    *out = v;
    return true;
}

static char *strip_underscores(const char *s) {
    size_t n = strlen(s);
    char *o = malloc(n + 1);
    if (!o) return NULL;
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] != '_') o[w++] = s[i];
    o[w] = '\0';
    return o;
}

bool lscfg_parse_go_int(const char *in, int64_t *out) {
    char *s = strip_underscores(in);
    if (!s) return false;
    const char *p = s;
    bool neg = false;
    if (*p == '+' || *p == '-') {
        neg = *p == '-';
        p++;
    }
    uint64_t mag;
    bool ok = *p && parse_go_uint_mag(p, &mag);
    free(s);
    if (!ok) return false;
    if (neg) {
        if (mag > (uint64_t)INT64_MAX + 1) return false;
        *out = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
    } else {
        if (mag > (uint64_t)INT64_MAX) return false;
        *out = (int64_t)mag;
    }
    return true;
}

/* ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ */
static bool yaml_style_float(const char *s) {
    if (*s == '+' || *s == '-') s++;
    if (*s == '.') {
        s++;
        if (!isdigit((unsigned char)*s)) return false;
        while (isdigit((unsigned char)*s)) s++;
    } else {
        if (!isdigit((unsigned char)*s)) return false;
        while (isdigit((unsigned char)*s)) s++;
        if (*s == '.') {
            s++;
            while (isdigit((unsigned char)*s)) s++;
        }
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-') s++;
        if (!isdigit((unsigned char)*s)) return false;
        while (isdigit((unsigned char)*s)) s++;
    }
    return *s == '\0';
}

static bool full_strtod(const char *s, double *out) {
    if (!*s) return false;
    /* strtod accepts hex floats, "inf", "nan" and leading spaces; the
     * callers only pass yaml-float-shaped text. */
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (!end || *end != '\0') return false;
    *out = v;
    return true;
}

static const struct {
    const char *s;
    lscfg_rtag tag;
    int v; /* bool value or float kind: 0 nan, 1 +inf, -1 -inf */
} resolve_map[] = {
    {"y", LSCFG_R_BOOL, 1},     {"Y", LSCFG_R_BOOL, 1},     {"yes", LSCFG_R_BOOL, 1},
    {"Yes", LSCFG_R_BOOL, 1},   {"YES", LSCFG_R_BOOL, 1},   {"true", LSCFG_R_BOOL, 1},
    {"True", LSCFG_R_BOOL, 1},  {"TRUE", LSCFG_R_BOOL, 1},  {"on", LSCFG_R_BOOL, 1},
    {"On", LSCFG_R_BOOL, 1},    {"ON", LSCFG_R_BOOL, 1},    {"n", LSCFG_R_BOOL, 0},
    {"N", LSCFG_R_BOOL, 0},     {"no", LSCFG_R_BOOL, 0},    {"No", LSCFG_R_BOOL, 0},
    {"NO", LSCFG_R_BOOL, 0},    {"false", LSCFG_R_BOOL, 0}, {"False", LSCFG_R_BOOL, 0},
    {"FALSE", LSCFG_R_BOOL, 0}, {"off", LSCFG_R_BOOL, 0},   {"Off", LSCFG_R_BOOL, 0},
    {"OFF", LSCFG_R_BOOL, 0},   {"", LSCFG_R_NULL, 0},      {"~", LSCFG_R_NULL, 0},
    {"null", LSCFG_R_NULL, 0},  {"Null", LSCFG_R_NULL, 0},  {"NULL", LSCFG_R_NULL, 0},
    {".nan", LSCFG_R_FLOAT, 0}, {".NaN", LSCFG_R_FLOAT, 0}, {".NAN", LSCFG_R_FLOAT, 0},
    {".inf", LSCFG_R_FLOAT, 1}, {".Inf", LSCFG_R_FLOAT, 1}, {".INF", LSCFG_R_FLOAT, 1},
    {"+.inf", LSCFG_R_FLOAT, 1}, {"+.Inf", LSCFG_R_FLOAT, 1}, {"+.INF", LSCFG_R_FLOAT, 1},
    {"-.inf", LSCFG_R_FLOAT, -1}, {"-.Inf", LSCFG_R_FLOAT, -1}, {"-.INF", LSCFG_R_FLOAT, -1},
};

void lscfg_resolve(const char *text, bool plain, lscfg_resolved *out) {
    memset(out, 0, sizeof(*out));
    out->tag = LSCFG_R_STR;
    if (!plain) return;
    char c = text[0];
    char hint;
    if (c == '\0') hint = 'N';
    else if (c == '+' || c == '-') hint = 'S';
    else if (c >= '0' && c <= '9') hint = 'D';
    else if (strchr("yYnNtTfFoO~", c)) hint = 'M';
    else if (c == '.') hint = '.';
    else return;

    for (size_t i = 0; i < sizeof(resolve_map) / sizeof(resolve_map[0]); i++) {
        if (strcmp(resolve_map[i].s, text) == 0) {
            out->tag = resolve_map[i].tag;
            if (out->tag == LSCFG_R_BOOL) out->b = resolve_map[i].v != 0;
            if (out->tag == LSCFG_R_FLOAT)
                out->f = resolve_map[i].v == 0 ? NAN : (resolve_map[i].v > 0 ? INFINITY : -INFINITY);
            return;
        }
    }
    if (hint == 'M' || hint == 'N') return;
    if (hint == '.') {
        double f;
        if (yaml_style_float(text) && full_strtod(text, &f)) {
            out->tag = LSCFG_R_FLOAT;
            out->f = f;
        }
        return;
    }
    /* 'D' / 'S': int, uint, float (timestamps stay strings here). */
    char *plain_s = strip_underscores(text);
    if (!plain_s) return;
    int64_t iv;
    uint64_t uv;
    double f;
    if (lscfg_parse_go_int(plain_s, &iv)) {
        out->tag = LSCFG_R_INT;
        out->i = iv;
    } else if (plain_s[0] != '-' && plain_s[0] != '+' && parse_go_uint_mag(plain_s, &uv)) {
        out->tag = LSCFG_R_UINT;
        out->u = uv;
    } else if (yaml_style_float(plain_s) && full_strtod(plain_s, &f)) {
        out->tag = LSCFG_R_FLOAT;
        out->f = f;
    }
    free(plain_s);
}

/* ------------------------------------------------------------------------ */
/* Byte sizes (go-humanize ParseBytes)                                       */

static const struct {
    const char *unit;
    double mult;
} byte_units[] = {
    {"", 1},
    {"b", 1},
    {"k", 1e3},
    {"kb", 1e3},
    {"ki", 1024.0},
    {"kib", 1024.0},
    {"m", 1e6},
    {"mb", 1e6},
    {"mi", 1048576.0},
    {"mib", 1048576.0},
    {"g", 1e9},
    {"gb", 1e9},
    {"gi", 1073741824.0},
    {"gib", 1073741824.0},
    {"t", 1e12},
    {"tb", 1e12},
    {"ti", 1099511627776.0},
    {"tib", 1099511627776.0},
    {"p", 1e15},
    {"pb", 1e15},
    {"pi", 1125899906842624.0},
    {"pib", 1125899906842624.0},
    {"e", 1e18},
    {"eb", 1e18},
    {"ei", 1152921504606846976.0},
    {"eib", 1152921504606846976.0},
};

ls_code ls_parse_bytes(const char *in, int64_t *out, ls_err *err) {
    if (!in) return ls_err_set(err, LS_ERR_INVALID, "empty size string");
    /* Trim surrounding whitespace (the config layer does this first). */
    while (isspace((unsigned char)*in)) in++;
    size_t n = strlen(in);
    while (n > 0 && isspace((unsigned char)in[n - 1])) n--;
    if (n == 0) return ls_err_set(err, LS_ERR_INVALID, "empty size string");
    if (n > 256) return ls_err_set(err, LS_ERR_INVALID, "invalid size \"%.64s...\"", in);

    char num[257];
    size_t k = 0, i = 0;
    for (; i < n; i++) {
        char c = in[i];
        if (!(isdigit((unsigned char)c) || c == '.' || c == ',')) break;
        if (c != ',') num[k++] = c;
    }
    num[k] = '\0';
    double f;
    if (k == 0 || !yaml_style_float(num) || !full_strtod(num, &f))
        return ls_err_set(err, LS_ERR_INVALID, "invalid size \"%.*s\": expected a number",
                          (int)n, in);

    char unit[257];
    size_t u = 0;
    const char *rest = in + i;
    size_t rn = n - i;
    while (rn > 0 && isspace((unsigned char)*rest)) {
        rest++;
        rn--;
    }
    for (size_t j = 0; j < rn; j++) unit[u++] = (char)tolower((unsigned char)rest[j]);
    unit[u] = '\0';
    for (size_t j = 0; j < sizeof(byte_units) / sizeof(byte_units[0]); j++) {
        if (strcmp(byte_units[j].unit, unit) == 0) {
            double v = f * byte_units[j].mult;
            if (!(v < 9223372036854775808.0))
                return ls_err_set(err, LS_ERR_INVALID, "size \"%.*s\" is too large", (int)n, in);
            *out = (int64_t)v;
            return LS_OK;
        }
    }
    return ls_err_set(err, LS_ERR_INVALID, "invalid size \"%.*s\": unknown unit \"%s\"", (int)n,
                      in, unit);
}

/* ------------------------------------------------------------------------ */
/* Misc                                                                      */

bool lscfg_has_prefix_ci(const char *s, const char *prefix) {
    for (; *prefix; s++, prefix++) {
        if (tolower((unsigned char)*s) != tolower((unsigned char)*prefix)) return false;
    }
    return true;
}

size_t lscfg_edit_distance(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64) return SIZE_MAX;
    size_t prev[65], cur[65];
    for (size_t j = 0; j <= lb; j++) prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 1]) ? 0 : 1;
            size_t v = prev[j - 1] + cost;
            if (prev[j] + 1 < v) v = prev[j] + 1;
            if (cur[j - 1] + 1 < v) v = cur[j - 1] + 1;
            cur[j] = v;
        }
        memcpy(prev, cur, (lb + 1) * sizeof(size_t));
    }
    return prev[lb];
}
