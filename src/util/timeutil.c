#include "util/timeutil.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t ls_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * LS_NS_PER_SEC + ts.tv_nsec;
}

int64_t ls_now_ms(void) { return ls_now_ns() / LS_NS_PER_MS; }

int64_t ls_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * LS_NS_PER_SEC + ts.tv_nsec;
}

static const struct {
    const char *name;
    int64_t mult;
} dur_units[] = {
    {"ns", 1}, {"us", 1000}, {"\xc2\xb5s", 1000}, {"\xce\xbcs", 1000}, {"ms", LS_NS_PER_MS},
    {"s", LS_NS_PER_SEC}, {"m", 60 * LS_NS_PER_SEC}, {"h", 3600 * LS_NS_PER_SEC},
};

ls_code ls_parse_duration(const char *s, int64_t *out_ns, ls_err *err) {
    const char *orig = s;
    if (!s || !*s) return ls_err_set(err, LS_ERR_INVALID, "invalid duration \"%s\"", orig ? orig : "");
    bool neg = false;
    if (*s == '-' || *s == '+') {
        neg = (*s == '-');
        s++;
    }
    if (strcmp(s, "0") == 0) {
        *out_ns = 0;
        return LS_OK;
    }
    if (!*s) return ls_err_set(err, LS_ERR_INVALID, "invalid duration \"%s\"", orig);
    double total = 0;
    while (*s) {
        if (!(isdigit((unsigned char)*s) || *s == '.'))
            return ls_err_set(err, LS_ERR_INVALID, "invalid duration \"%s\"", orig);
        /* integer and fraction parts */
        double v = 0;
        bool digits = false;
        while (isdigit((unsigned char)*s)) {
            v = v * 10 + (*s - '0');
            s++;
            digits = true;
        }
        if (*s == '.') {
            s++;
            double scale = 0.1;
            while (isdigit((unsigned char)*s)) {
                v += (*s - '0') * scale;
                scale /= 10;
                s++;
                digits = true;
            }
        }
        if (!digits) return ls_err_set(err, LS_ERR_INVALID, "invalid duration \"%s\"", orig);
        size_t ulen = 0;
        while (s[ulen] && !(isdigit((unsigned char)s[ulen]) || s[ulen] == '.')) ulen++;
        if (ulen == 0)
            return ls_err_set(err, LS_ERR_INVALID, "missing unit in duration \"%s\"", orig);
        int64_t mult = 0;
        for (size_t i = 0; i < sizeof(dur_units) / sizeof(dur_units[0]); i++) {
            if (strlen(dur_units[i].name) == ulen && memcmp(dur_units[i].name, s, ulen) == 0) {
                mult = dur_units[i].mult;
                break;
            }
        }
        if (!mult)
            return ls_err_set(err, LS_ERR_INVALID, "unknown unit \"%.*s\" in duration \"%s\"",
                              (int)ulen, s, orig);
        total += v * (double)mult;
        if (total > 9.2e18) return ls_err_set(err, LS_ERR_INVALID, "invalid duration \"%s\"", orig);
        s += ulen;
    }
    int64_t ns = (int64_t)(total + 0.5);
    *out_ns = neg ? -ns : ns;
    return LS_OK;
}

/* Formats frac (< 10^prec) with trailing zeros removed, e.g. ".5". */
static void append_frac(char *buf, size_t n, uint64_t frac, int prec) {
    if (frac == 0) return;
    char digits[32];
    snprintf(digits, sizeof(digits), "%0*llu", prec, (unsigned long long)frac);
    int len = prec;
    while (len > 0 && digits[len - 1] == '0') len--;
    digits[len] = '\0';
    size_t cur = strlen(buf);
    snprintf(buf + cur, n - cur, ".%s", digits);
}

void ls_format_duration(int64_t ns, char *buf, size_t n) {
    if (n == 0) return;
    buf[0] = '\0';
    if (ns == 0) {
        snprintf(buf, n, "0s");
        return;
    }
    char tmp[64] = "";
    uint64_t u = ns < 0 ? (uint64_t)(-(ns + 1)) + 1 : (uint64_t)ns;
    const char *sign = ns < 0 ? "-" : "";
    if (u < 1000000000ULL) {
        const char *unit;
        uint64_t whole, frac;
        int prec;
        if (u < 1000) {
            snprintf(buf, n, "%s%lluns", sign, (unsigned long long)u);
            return;
        } else if (u < 1000000) {
            unit = "\xc2\xb5s", whole = u / 1000, frac = u % 1000, prec = 3;
        } else {
            unit = "ms", whole = u / 1000000, frac = u % 1000000, prec = 6;
        }
        snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)whole);
        append_frac(tmp, sizeof(tmp), frac, prec);
        snprintf(buf, n, "%s%s%s", sign, tmp, unit);
        return;
    }
    uint64_t secs = u / 1000000000ULL, frac = u % 1000000000ULL;
    uint64_t h = secs / 3600, m = (secs % 3600) / 60, s = secs % 60;
    char sec[40];
    snprintf(sec, sizeof(sec), "%llu", (unsigned long long)s);
    append_frac(sec, sizeof(sec), frac, 9);
    if (h > 0)
        snprintf(buf, n, "%s%lluh%llum%ss", sign, (unsigned long long)h, (unsigned long long)m, sec);
    else if (m > 0)
        snprintf(buf, n, "%s%llum%ss", sign, (unsigned long long)m, sec);
    else
        snprintf(buf, n, "%s%ss", sign, sec);
}

static int parse_digits(const char **p, int count, int *out) {
    int v = 0;
    for (int i = 0; i < count; i++) {
        if (!isdigit((unsigned char)(*p)[i])) return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += count;
    *out = v;
    return 0;
}

ls_code ls_parse_rfc3339(const char *s, int64_t *out_ns, ls_err *err) {
    const char *p = s;
    int Y, M, D, h, mi, sec;
    if (!s) return ls_err_set(err, LS_ERR_INVALID, "invalid timestamp \"\"");
    if (parse_digits(&p, 4, &Y) || *p++ != '-' || parse_digits(&p, 2, &M) || *p++ != '-' ||
        parse_digits(&p, 2, &D) || (*p != 'T' && *p != 't' && *p != ' '))
        goto bad;
    p++;
    if (parse_digits(&p, 2, &h) || *p++ != ':' || parse_digits(&p, 2, &mi) || *p++ != ':' ||
        parse_digits(&p, 2, &sec))
        goto bad;
    int64_t frac_ns = 0;
    if (*p == '.' || *p == ',') {
        p++;
        int nd = 0;
        int64_t scale = 100000000;
        if (!isdigit((unsigned char)*p)) goto bad;
        while (isdigit((unsigned char)*p)) {
            if (nd < 9) frac_ns += (*p - '0') * scale;
            scale /= 10;
            nd++;
            p++;
        }
    }
    int64_t off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1, oh, om;
        p++;
        if (parse_digits(&p, 2, &oh) || *p++ != ':' || parse_digits(&p, 2, &om)) goto bad;
        if (oh > 23 || om > 59) goto bad;
        off = sign * (oh * 3600 + om * 60);
    } else {
        goto bad;
    }
    if (*p) goto bad;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (M < 1 || M > 12 || D < 1 || D > mdays[M - 1] || h > 23 || mi > 59 || sec > 60) goto bad;
    bool leap = (Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0;
    if (M == 2 && D == 29 && !leap) goto bad;
    struct tm tm = {0};
    tm.tm_year = Y - 1900;
    tm.tm_mon = M - 1;
    tm.tm_mday = D;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    time_t t = timegm(&tm);
    *out_ns = ((int64_t)t - off) * LS_NS_PER_SEC + frac_ns;
    return LS_OK;
bad:
    return ls_err_set(err, LS_ERR_INVALID,
                      "invalid timestamp \"%s\", must be RFC 3339 (e.g. 2000-01-01T00:00:00Z)", s);
}

static void format_base(int64_t ns, char *buf, size_t n, int64_t *frac) {
    int64_t secs = ns / LS_NS_PER_SEC, f = ns % LS_NS_PER_SEC;
    if (f < 0) {
        f += LS_NS_PER_SEC;
        secs--;
    }
    time_t t = (time_t)secs;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
    *frac = f;
}

void ls_format_rfc3339(int64_t ns, char *buf, size_t n) {
    int64_t f;
    format_base(ns, buf, n, &f);
    size_t cur = strlen(buf);
    snprintf(buf + cur, n - cur, "Z");
}

void ls_format_rfc3339_nano(int64_t ns, char *buf, size_t n) {
    int64_t f;
    format_base(ns, buf, n, &f);
    append_frac(buf, n, (uint64_t)f, 9);
    size_t cur = strlen(buf);
    snprintf(buf + cur, n - cur, "Z");
}

void ls_format_rfc3339_ms(int64_t ns, char *buf, size_t n) {
    int64_t f;
    format_base(ns, buf, n, &f);
    size_t cur = strlen(buf);
    snprintf(buf + cur, n - cur, ".%03dZ", (int)(f / LS_NS_PER_MS));
}
