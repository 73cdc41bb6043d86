#include "util/log.h"

#include <ctype.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Values produced by LS_INT start with this byte: JSON prints them raw. */
#define NUM_MARK '\x01'

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    ls_log_level level;
    ls_log_format format;
    FILE *out;
} log_cfg = {LS_LOG_INFO, LS_LOG_FORMAT_TEXT, NULL};

void ls_log_configure(ls_log_level level, ls_log_format format, FILE *out) {
    pthread_mutex_lock(&log_mu);
    log_cfg.level = level;
    log_cfg.format = format;
    log_cfg.out = out;
    pthread_mutex_unlock(&log_mu);
}

void ls_log_set_level(ls_log_level level) {
    __atomic_store_n(&log_cfg.level, level, __ATOMIC_RELAXED);
}
ls_log_level ls_log_get_level(void) { return __atomic_load_n(&log_cfg.level, __ATOMIC_RELAXED); }
bool ls_log_enabled(ls_log_level level) { return level >= ls_log_get_level(); }

bool ls_log_parse_level(const char *s, ls_log_level *out) {
    static const struct { const char *name; ls_log_level lvl; } t[] = {
        {"trace", LS_LOG_TRACE}, {"debug", LS_LOG_DEBUG}, {"info", LS_LOG_INFO},
        {"warn", LS_LOG_WARN},   {"warning", LS_LOG_WARN}, {"error", LS_LOG_ERROR},
    };
    if (!s) return false;
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        if (strcasecmp(s, t[i].name) == 0) {
            *out = t[i].lvl;
            return true;
        }
    }
    return false;
}

bool ls_log_parse_format(const char *s, ls_log_format *out) {
    if (!s) return false;
    if (strcasecmp(s, "text") == 0 || strcasecmp(s, "pretty") == 0) {
        *out = LS_LOG_FORMAT_TEXT;
        return true;
    }
    if (strcasecmp(s, "json") == 0) {
        *out = LS_LOG_FORMAT_JSON;
        return true;
    }
    return false;
}

const char *ls_log_fmt_int(char buf[32], long long v) {
    snprintf(buf, 32, "%c%lld", NUM_MARK, v);
    return buf;
}

const char *ls_log_fmt_hex16(char buf[32], uint64_t v) {
    snprintf(buf, 32, "%016llx", (unsigned long long)v);
    return buf;
}

static const char *level_name(ls_log_level l) {
    if (l <= LS_LOG_TRACE) return "TRACE";
    if (l <= LS_LOG_DEBUG) return "DEBUG";
    if (l <= LS_LOG_INFO) return "INFO";
    if (l <= LS_LOG_WARN) return "WARN";
    return "ERROR";
}

/* RFC 3339 with milliseconds in local time, as slog prints it. */
static void format_time(char *buf, size_t n) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    localtime_r(&ts.tv_sec, &tm);
    char base[32];
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    long off = tm.tm_gmtoff;
    if (off == 0) {
        snprintf(buf, n, "%s.%03ldZ", base, ts.tv_nsec / 1000000);
    } else {
        char sign = off < 0 ? '-' : '+';
        if (off < 0) off = -off;
        snprintf(buf, n, "%s.%03ld%c%02ld:%02ld", base, ts.tv_nsec / 1000000, sign,
                 off / 3600, (off % 3600) / 60);
    }
}

/* slog's rule: quote when empty or containing space, '=', '"' or a
 * non-printable byte. */
static bool needs_quote(const char *s) {
    if (!*s) return true;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p <= ' ' || *p == '=' || *p == '"' || *p >= 0x7f) return true;
    }
    return false;
}

static void put_text_value(FILE *f, const char *v) {
    if (!needs_quote(v)) {
        fputs(v, f);
        return;
    }
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (*p < 0x20 || *p == 0x7f) fprintf(f, "\\x%02x", *p);
            else fputc(*p, f);
        }
    }
    fputc('"', f);
}

void ls_log_kv(ls_log_level level, const char *msg, ...) {
    if (!ls_log_enabled(level)) return;
    char tbuf[48];
    format_time(tbuf, sizeof(tbuf));
    va_list ap;
    va_start(ap, msg);

    pthread_mutex_lock(&log_mu);
    FILE *f = log_cfg.out ? log_cfg.out : stdout;
    if (log_cfg.format == LS_LOG_FORMAT_JSON) {
        json_t *o = json_object();
        json_object_set_new(o, "time", json_string(tbuf));
        json_object_set_new(o, "level", json_string(level_name(level)));
        json_object_set_new(o, "msg", json_string(msg ? msg : ""));
        for (;;) {
            const char *k = va_arg(ap, const char *);
            if (!k) break;
            const char *v = va_arg(ap, const char *);
            if (!v) v = "";
            json_t *jv;
            if (v[0] == NUM_MARK) jv = json_integer(strtoll(v + 1, NULL, 10));
            else {
                jv = json_stringn(v, strlen(v));
                if (!jv) jv = json_string("(invalid UTF-8 value)");
            }
            json_object_set_new(o, k, jv);
        }
        char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
        if (s) {
            fputs(s, f);
            fputc('\n', f);
            free(s);
        }
        json_decref(o);
    } else {
        fprintf(f, "time=%s level=%s msg=", tbuf, level_name(level));
        put_text_value(f, msg ? msg : "");
        for (;;) {
            const char *k = va_arg(ap, const char *);
            if (!k) break;
            const char *v = va_arg(ap, const char *);
            if (!v) v = "";
            if (v[0] == NUM_MARK) v++;
            fputc(' ', f);
            fputs(k, f);
            fputc('=', f);
            put_text_value(f, v);
        }
        fputc('\n', f);
    }
    fflush(f);
    pthread_mutex_unlock(&log_mu);
    va_end(ap);
}
