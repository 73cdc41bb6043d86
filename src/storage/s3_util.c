/*
 * storage/s3_util.c — pure helpers of the S3 backend: buffers, AWS URI
 * encoding, key mapping (spec 3.2 / 9.2), endpoints and URLs (14.3),
 * timestamps (3.3), retry policy (14.10) and digests. Contract in
 * storage/s3_internal.h.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/dynlib.h"
#include "util/fs.h"
#include "storage/s3_internal.h"
#include "util/timeutil.h"

/* --------------------------------------------------------------- buffer -- */

static bool buf_reserve(s3_buf *b, size_t extra) {
    if (extra > SIZE_MAX - b->n - 1) return false;
    size_t need = b->n + extra + 1;
    if (b->limit && need > b->limit + 1) return false;
    if (need <= b->cap) return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) return false;
        cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (!p) return false;
    b->p = p;
    b->cap = cap;
    return true;
}

bool s3_buf_append(s3_buf *b, const void *data, size_t n) {
    if (!buf_reserve(b, n)) return false;
    if (n) memcpy(b->p + b->n, data, n);
    b->n += n;
    b->p[b->n] = '\0';
    return true;
}

bool s3_buf_puts(s3_buf *b, const char *s) { return s3_buf_append(b, s, strlen(s)); }

bool s3_buf_printf(s3_buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char tmp[512];
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0) return false;
    if ((size_t)n < sizeof(tmp)) return s3_buf_append(b, tmp, (size_t)n);
    if (!buf_reserve(b, (size_t)n)) return false;
    va_start(ap, fmt);
    vsnprintf(b->p + b->n, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)n;
    return true;
}

void s3_buf_free(s3_buf *b) {
    free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
}

/* ------------------------------------------------------------- encoding -- */

bool s3_uri_encode(s3_buf *b, const char *s, bool keep_slash) {
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/');
        if (keep) {
            if (!s3_buf_append(b, p, 1)) return false;
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            if (!s3_buf_append(b, e, 3)) return false;
        }
    }
    if (!b->p && !s3_buf_append(b, "", 0)) return false;
    return true;
}

bool s3_xml_escape(s3_buf *b, const char *s) {
    for (const char *p = s; *p; p++) {
        const char *r = NULL;
        switch (*p) {
        case '&': r = "&amp;"; break;
        case '<': r = "&lt;"; break;
        case '>': r = "&gt;"; break;
        case '"': r = "&quot;"; break;
        case '\'': r = "&apos;"; break;
        default: break;
        }
        if (!(r ? s3_buf_puts(b, r) : s3_buf_append(b, p, 1))) return false;
    }
    return true;
}

/* ----------------------------------------------------------------- keys -- */


static bool is_generations_key(const char *key) {
    return strncmp(key, "generations", 11) == 0 && (key[11] == '\0' || key[11] == '/');
}

char *s3_key_root(const char *path, const char *key) {
    if (!path) path = "";
    if (key && is_generations_key(key)) {
        char *c = ls_path_clean(path);
        if (!c) return NULL;
        if (strcmp(c, ".") == 0) {
            c[0] = '\0';
            return c;
        }
        size_t n = strlen(c);
        if (n > 0 && c[n - 1] == '/') return c; /* "/" */
        char *r = malloc(n + 2);
        if (r) {
            memcpy(r, c, n);
            r[n] = '/';
            r[n + 1] = '\0';
        }
        free(c);
        return r;
    }
    size_t n = strlen(path);
    char *r = malloc(n + 2);
    if (!r) return NULL;
    memcpy(r, path, n);
    r[n] = '/';
    r[n + 1] = '\0';
    return r;
}

char *s3_object_key(const char *path, const char *key) {
    char *root = s3_key_root(path, key);
    if (!root) return NULL;
    size_t a = strlen(root), b = strlen(key);
    char *r = malloc(a + b + 1);
    if (r) {
        memcpy(r, root, a);
        memcpy(r + a, key, b + 1);
    }
    free(root);
    return r;
}

/* ------------------------------------------------------------ endpoints -- */

static void lower(char *s) {
    for (; *s; s++) *s = (char)tolower((unsigned char)*s);
}

ls_code s3_parse_endpoint(const char *endpoint, s3_endpoint *out, ls_err *err) {
    memset(out, 0, sizeof(*out));
    const char *p = endpoint;
    if (!p || !*p) return ls_err_set(err, LS_ERR_CONFIG, "s3: empty endpoint");
    if (strncasecmp(p, "https://", 8) == 0) {
        out->https = true;
        p += 8;
    } else if (strncasecmp(p, "http://", 7) == 0) {
        p += 7;
    } else if (strstr(p, "://")) {
        return ls_err_set(err, LS_ERR_CONFIG, "s3: endpoint \"%s\": scheme must be http or https", endpoint);
    } else {
        out->https = true;
    }
    size_t hl = strcspn(p, "/?#");
    const char *rest = p + hl;
    if (hl == 0) return ls_err_set(err, LS_ERR_CONFIG, "s3: endpoint \"%s\" has no host", endpoint);
    if (memchr(p, '@', hl))
        return ls_err_set(err, LS_ERR_CONFIG, "s3: endpoint must not contain credentials");
    char hostport[300];
    if (hl >= sizeof(hostport)) return ls_err_set(err, LS_ERR_CONFIG, "s3: endpoint host too long");
    memcpy(hostport, p, hl);
    hostport[hl] = '\0';
    char *portp = NULL;
    if (hostport[0] == '[') {
        char *rb = strchr(hostport, ']');
        if (!rb) return ls_err_set(err, LS_ERR_CONFIG, "s3: endpoint \"%s\": bad IPv6 host", endpoint);
        if (rb[1] == ':') portp = rb + 2;
        else if (rb[1]) return ls_err_set(err, LS_ERR_CONFIG, "s3: endpoint \"%s\": bad host", endpoint);
        rb[1] = '\0';
    } else {
        char *c = strchr(hostport, ':');
        if (c) {
            *c = '\0';
            portp = c + 1;
        }
    }
    if (portp) {
        char *e;
        long port = strtol(portp, &e, 10);
        if (!*portp || *e || port <= 0 || port > 65535)
            return ls_err_set(err, LS_ERR_CONFIG, "s3: endpoint \"%s\": invalid port", endpoint);
        out->port = (int)port;
    }
    if (!hostport[0] || strlen(hostport) >= sizeof(out->host))
        return ls_err_set(err, LS_ERR_CONFIG, "s3: endpoint \"%s\": bad host", endpoint);
    for (const char *h = hostport; *h; h++) {
        unsigned char c = (unsigned char)*h;
        if (!(isalnum(c) || c == '.' || c == '-' || c == '_' || c == '[' || c == ']' || c == ':'))
            return ls_err_set(err, LS_ERR_CONFIG, "s3: endpoint \"%s\": bad character in host", endpoint);
    }
    strcpy(out->host, hostport);
    lower(out->host);
    if (*rest == '?' || *rest == '#')
        return ls_err_set(err, LS_ERR_CONFIG, "s3: endpoint \"%s\" must not have a query", endpoint);
    size_t bl = strcspn(rest, "?#");
    while (bl > 0 && rest[bl - 1] == '/') bl--;
    if (bl >= sizeof(out->base)) return ls_err_set(err, LS_ERR_CONFIG, "s3: endpoint path too long");
    memcpy(out->base, rest, bl);
    out->base[bl] = '\0';
    return LS_OK;
}

bool s3_host_is_loopback(const char *host) {
    if (strcmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0 || strcmp(host, "::1") == 0)
        return true;
    size_t n = strlen(host);
    if (n > 10 && strcmp(host + n - 10, ".localhost") == 0) return true;
    unsigned a, b, c, d;
    char tail;
    return sscanf(host, "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) == 4 && a == 127 && b < 256 &&
           c < 256 && d < 256;
}

bool s3_parse_access_point(const char *bucket, char *name, size_t ncap, char *account, size_t acap,
                           char *region, size_t rcap) {
    if (strncmp(bucket, "arn:", 4) != 0) return false;
    /* arn:partition:s3:region:account:accesspoint/name */
    const char *f[6];
    size_t fl[6];
    const char *p = bucket;
    for (int i = 0; i < 6; i++) {
        const char *c = i < 5 ? strchr(p, ':') : p + strlen(p);
        if (!c) return false;
        f[i] = p;
        fl[i] = (size_t)(c - p);
        p = i < 5 ? c + 1 : c;
    }
    if (fl[2] != 2 || memcmp(f[2], "s3", 2) != 0) return false;
    if (fl[5] < 13 || memcmp(f[5], "accesspoint/", 12) != 0) return false;
    const char *nm = f[5] + 12;
    size_t nl = fl[5] - 12;
    if (memchr(nm, '/', nl) || fl[3] == 0 || fl[4] == 0) return false;
    if (nl >= ncap || fl[4] >= acap || fl[3] >= rcap) return false;
    memcpy(name, nm, nl);
    name[nl] = '\0';
    memcpy(account, f[4], fl[4]);
    account[fl[4]] = '\0';
    memcpy(region, f[3], fl[3]);
    region[fl[3]] = '\0';
    return true;
}

char *s3_build_url(const s3_endpoint *ep, const char *bucket, bool path_style, const char *objkey,
                   const char *query) {
    s3_buf b = {0};
    bool ok = s3_buf_puts(&b, ep->https ? "https://" : "http://");
    if (!path_style && bucket && *bucket) ok = ok && s3_buf_printf(&b, "%s.", bucket);
    ok = ok && s3_buf_puts(&b, ep->host);
    if (ep->port) ok = ok && s3_buf_printf(&b, ":%d", ep->port);
    ok = ok && s3_buf_puts(&b, ep->base);
    if (path_style && bucket && *bucket) {
        ok = ok && s3_buf_puts(&b, "/");
        ok = ok && s3_uri_encode(&b, bucket, false);
    }
    ok = ok && s3_buf_puts(&b, "/");
    if (objkey) ok = ok && s3_uri_encode(&b, objkey, true);
    if (query && *query) ok = ok && s3_buf_printf(&b, "?%s", query);
    if (!ok) {
        s3_buf_free(&b);
        return NULL;
    }
    return b.p;
}

/* ------------------------------------------------------- times, retries -- */

void s3_format_timestamp(int64_t ns, char *buf, size_t n) { ls_format_rfc3339_nano(ns, buf, n); }

int64_t s3_backoff_ms(int attempt, int64_t base_ms, int64_t max_ms, double rnd) {
    if (attempt < 1) attempt = 1;
    if (base_ms < 1) base_ms = 1;
    if (max_ms < base_ms) max_ms = base_ms;
    int64_t d = base_ms;
    for (int i = 1; i < attempt && d < max_ms; i++) d *= 2;
    if (d > max_ms) d = max_ms;
    if (rnd < 0) rnd = 0;
    if (rnd >= 1) rnd = 0.999999;
    return d / 2 + (int64_t)((double)(d - d / 2) * rnd);
}

bool s3_retryable_status(long status, const char *code) {
    if (status == 408 || status == 429 || status >= 500) return true;
    if (code && (strcmp(code, "RequestTimeout") == 0 || strcmp(code, "SlowDown") == 0 ||
                 strcmp(code, "InternalError") == 0 || strcmp(code, "RequestCanceled") == 0 ||
                 strcmp(code, "ServiceUnavailable") == 0 || strcmp(code, "Throttling") == 0 ||
                 strcmp(code, "ThrottlingException") == 0 ||
                 strcmp(code, "RequestTimeTooSkewed") == 0 /* clock fixed by re-signing */))
        return true;
    return false;
}

/* -------------------------------------------------------------- digests -- */

/* libcrypto is loaded on first use (util/dynlib.h); ls_storage_s3_open
 * loads it, so these fail only where it is missing (then the digest is
 * zeros and base64 reports failure). */

void s3_sha256_hex(const void *data, size_t n, char out[65]) {
    const ls_crypto_table *c = ls_crypto_api();
    unsigned char md[SHA256_DIGEST_LENGTH] = {0};
    if (c) c->SHA256(data ? data : (const void *)"", n, md);
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++) sprintf(out + 2 * i, "%02x", md[i]);
    out[64] = '\0';
}

bool s3_base64(const void *data, size_t n, char *out, size_t cap) {
    const ls_crypto_table *c = ls_crypto_api();
    size_t need = 4 * ((n + 2) / 3) + 1;
    if (!c || need > cap || n > INT32_MAX) return false;
    c->EVP_EncodeBlock((unsigned char *)out, data, (int)n);
    return true;
}

void s3_md5_base64(const void *data, size_t n, char out[25]) {
    const ls_crypto_table *c = ls_crypto_api();
    unsigned char md[16] = {0};
    unsigned int mdl = 0;
    if (c) c->EVP_Digest(data ? data : (const void *)"", n, md, &mdl, c->EVP_md5(), NULL);
    if (!s3_base64(md, 16, out, 25)) out[0] = '\0';
}

long s3_base64_decode(const char *s, unsigned char *out, size_t cap) {
    size_t n = strlen(s);
    if (n == 0 || n % 4 != 0 || n > 4096) return -1;
    const ls_crypto_table *c = ls_crypto_api();
    if (!c) return -1;
    unsigned char *tmp = malloc(n / 4 * 3 + 1);
    if (!tmp) return -1;
    int r = c->EVP_DecodeBlock(tmp, (const unsigned char *)s, (int)n);
    long len = -1;
    if (r >= 0) {
        len = r;
        if (s[n - 1] == '=') len--;
        if (s[n - 2] == '=') len--;
        if (len < 0 || (size_t)len > cap) len = -1;
        else memcpy(out, tmp, (size_t)len);
    }
    free(tmp);
    return len;
}
