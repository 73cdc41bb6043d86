/*
 * config/config_url.c — replica URLs (spec 11.5): generic parsing in the
 * manner of Go net/url, per-scheme mapping (file, s3 with every host form
 * and query parameter, s3 access points, gs, abs, sftp, webdav(s), nats,
 * oss), display form with secrets removed, and endpoint helpers.
 */
#include "config/config_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/fs.h"

static const struct {
    const char *name;
    ls_replica_type type;
} type_names[] = {
    {"file", LS_REPLICA_FILE}, {"s3", LS_REPLICA_S3},         {"gs", LS_REPLICA_GS},
    {"abs", LS_REPLICA_ABS},   {"sftp", LS_REPLICA_SFTP},     {"webdav", LS_REPLICA_WEBDAV},
    {"webdavs", LS_REPLICA_WEBDAV}, {"nats", LS_REPLICA_NATS}, {"oss", LS_REPLICA_OSS},
};

const char *ls_replica_type_name(ls_replica_type t) {
    for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
        if (type_names[i].type == t) return type_names[i].name;
    return "";
}

ls_replica_type ls_replica_type_from_name(const char *name) {
    if (!name) return LS_REPLICA_UNKNOWN;
    for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
        if (strcmp(type_names[i].name, name) == 0) return type_names[i].type;
    return LS_REPLICA_UNKNOWN;
}

bool ls_is_replica_url(const char *s) {
    if (!s) return false;
    size_t i = 0;
    while (s[i] == '_' || isalnum((unsigned char)s[i])) i++;
    return i > 0 && strncmp(s + i, "://", 3) == 0;
}

/* ------------------------------------------------------------------------ */
/* Percent decoding                                                          */

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes %XX (and '+' as space when plus_space). NULL on a bad escape or
 * OOM (*bad set for a bad escape). */
static char *pct_decode(const char *s, size_t n, bool plus_space, bool *bad) {
    char *o = malloc(n + 1);
    if (!o) return NULL;
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            int h = i + 2 < n ? hexval(s[i + 1]) : -1;
            int l = i + 2 < n ? hexval(s[i + 2]) : -1;
            if (h < 0 || l < 0) {
                free(o);
                if (bad) *bad = true;
                return NULL;
            }
            o[w++] = (char)(h * 16 + l);
            i += 2;
        } else if (plus_space && s[i] == '+') {
            o[w++] = ' ';
        } else {
            o[w++] = s[i];
        }
    }
    o[w] = '\0';
    return o;
}

/* ------------------------------------------------------------------------ */
/* Endpoint helpers                                                          */

char *lscfg_endpoint_host(const char *endpoint) {
    if (!endpoint) return ls_strdup("");
    while (isspace((unsigned char)*endpoint)) endpoint++;
    size_t n = strlen(endpoint);
    while (n > 0 && isspace((unsigned char)endpoint[n - 1])) n--;
    char *e = malloc(n + 1);
    if (!e) return NULL;
    for (size_t i = 0; i < n; i++) e[i] = (char)tolower((unsigned char)endpoint[i]);
    e[n] = '\0';
    const char *h = e;
    if (strncmp(e, "http://", 7) == 0) h = e + 7;
    else if (strncmp(e, "https://", 8) == 0) h = e + 8;
    size_t hl = strcspn(h, "/?#");
    if (memchr(h, '@', hl)) {
        e[0] = '\0';
        return e;
    }
    memmove(e, h, hl);
    e[hl] = '\0';
    return e;
}

bool lscfg_is_local_endpoint(const char *endpoint) {
    char *host = lscfg_endpoint_host(endpoint);
    if (!host) return false;
    char *colon = strrchr(host, ':');
    if (colon) *colon = '\0';
    size_t n = strlen(host);
    bool local = n > 0 && (strcmp(host, "localhost") == 0 || strcmp(host, "127.0.0.1") == 0 ||
                           strncmp(host, "192.168.", 8) == 0 || strncmp(host, "10.", 3) == 0 ||
                           strncmp(host, "172.16.", 7) == 0 || strncmp(host, "172.17.", 7) == 0 ||
                           strncmp(host, "172.18.", 7) == 0 || strncmp(host, "172.19.", 7) == 0 ||
                           strncmp(host, "172.2", 5) == 0 || strncmp(host, "172.30.", 7) == 0 ||
                           strncmp(host, "172.31.", 7) == 0 ||
                           (n > 6 && strcmp(host + n - 6, ".local") == 0) ||
                           (n > 10 && strcmp(host + n - 10, ".localhost") == 0));
    free(host);
    return local;
}

char *lscfg_ensure_endpoint_scheme(const char *endpoint) {
    if (!endpoint || !*endpoint) return ls_strdup("");
    if (strncmp(endpoint, "http://", 7) == 0 || strncmp(endpoint, "https://", 8) == 0)
        return ls_strdup(endpoint);
    return ls_strfmt("%s%s", lscfg_is_local_endpoint(endpoint) ? "http://" : "https://",
                     endpoint);
}

bool lscfg_is_secret_param(const char *key) {
    char k[128];
    size_t w = 0;
    for (const char *p = key; *p && w + 1 < sizeof(k); p++) {
        if (*p == '-' || *p == '_') continue;
        k[w++] = (char)tolower((unsigned char)*p);
    }
    k[w] = '\0';
    static const char *const needles[] = {"secret", "password", "passwd", "token", "signature",
                                          "credential", "sas", "jwt", "seed", "nkey", "creds"};
    for (size_t i = 0; i < sizeof(needles) / sizeof(needles[0]); i++)
        if (strstr(k, needles[i])) return true;
    if (strcmp(k, "sig") == 0) return true;
    if (w >= 3 && strcmp(k + w - 3, "key") == 0) return true;
    if (strstr(k, "keymd5")) return true;
    return false;
}

/* ------------------------------------------------------------------------ */
/* Generic URL parsing                                                       */

typedef struct raw_url {
    char *scheme;   /* lower-cased */
    char *userinfo_raw;
    bool has_userinfo;
    char *hostport; /* decoded host[:port] as Go u.Host */
    char *host;     /* without port */
    int port;
    char *path_raw; /* as written */
    char *path;     /* decoded */
    char *query;    /* raw query (no '?') or NULL */
} raw_url;

static void raw_url_free(raw_url *r) {
    free(r->scheme);
    free(r->userinfo_raw);
    free(r->hostport);
    free(r->host);
    free(r->path_raw);
    free(r->path);
    free(r->query);
    memset(r, 0, sizeof(*r));
}

static char *dupn(const char *s, size_t n) {
    char *o = malloc(n + 1);
    if (!o) return NULL;
    memcpy(o, s, n);
    o[n] = '\0';
    return o;
}

static bool host_char_ok(unsigned char c) {
    if (c >= 0x80) return true;
    if (isalnum(c)) return true;
    return strchr("-._~!$&'()*+,;=:[]<>\"%", c) != NULL;
}

/* Parses scheme://authority/path?query#fragment. The caller has checked
 * the "scheme://" shape. */
static ls_code parse_raw(const char *url, raw_url *r, char *disp, ls_err *err) {
    memset(r, 0, sizeof(*r));
    for (const unsigned char *p = (const unsigned char *)url; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return ls_err_set(err, LS_ERR_CONFIG, "invalid replica URL %s: invalid control character in URL", disp);
    const char *sep = strstr(url, "://");
    size_t sl = (size_t)(sep - url);
    r->scheme = dupn(url, sl);
    if (!r->scheme) goto oom;
    for (size_t i = 0; i < sl; i++) r->scheme[i] = (char)tolower((unsigned char)r->scheme[i]);
    if (!isalpha((unsigned char)url[0]))
        return ls_err_set(err, LS_ERR_CONFIG, "invalid replica URL %s: first path segment in URL cannot contain colon", disp);

    const char *a = sep + 3;
    size_t alen = strcspn(a, "/?#");
    const char *rest = a + alen;
    size_t plen = strcspn(rest, "?#");
    r->path_raw = dupn(rest, plen);
    if (!r->path_raw) goto oom;
    if (rest[plen] == '?') {
        const char *q = rest + plen + 1;
        r->query = dupn(q, strcspn(q, "#"));
        if (!r->query) goto oom;
    }

    /* userinfo: up to the last '@' */
    const char *at = NULL;
    for (size_t i = 0; i < alen; i++)
        if (a[i] == '@') at = a + i;
    const char *hp = a;
    size_t hplen = alen;
    if (at) {
        r->has_userinfo = true;
        r->userinfo_raw = dupn(a, (size_t)(at - a));
        if (!r->userinfo_raw) goto oom;
        hp = at + 1;
        hplen = alen - (size_t)(hp - a);
    }
    for (size_t i = 0; i < hplen; i++)
        if (!host_char_ok((unsigned char)hp[i]))
            return ls_err_set(err, LS_ERR_CONFIG, "invalid replica URL %s: invalid character %c in host name",
                              disp, hp[i]);

    /* host and optional port */
    size_t hostlen = hplen;
    const char *portp = NULL;
    if (hplen > 0 && hp[0] == '[') {
        const char *rb = memchr(hp, ']', hplen);
        if (!rb) return ls_err_set(err, LS_ERR_CONFIG, "invalid replica URL %s: missing ']' in host", disp);
        hostlen = (size_t)(rb - hp) + 1;
        if (hostlen < hplen) {
            if (hp[hostlen] != ':')
                return ls_err_set(err, LS_ERR_CONFIG, "invalid replica URL %s: invalid port after host", disp);
            portp = hp + hostlen;
        }
    } else {
        for (size_t i = hplen; i > 0; i--) {
            if (hp[i - 1] == ':') {
                hostlen = i - 1;
                portp = hp + i - 1;
                break;
            }
        }
    }
    if (portp) {
        size_t pl = hplen - (size_t)(portp - hp);
        long port = 0;
        for (size_t i = 1; i < pl; i++) {
            if (!isdigit((unsigned char)portp[i]))
                return ls_err_set(err, LS_ERR_CONFIG, "invalid replica URL %s: invalid port %.*s after host",
                                  disp, (int)(pl > 16 ? 16 : pl), portp);
            if (port < 100000) port = port * 10 + (portp[i] - '0');
        }
        if (port > 65535)
            return ls_err_set(err, LS_ERR_CONFIG, "invalid replica URL %s: port out of range", disp);
        r->port = (int)port;
    }
    bool bad = false;
    r->hostport = pct_decode(hp, hplen, false, &bad);
    if (!r->hostport) goto bad_or_oom;
    r->host = pct_decode(hp, hostlen, false, &bad);
    if (!r->host) goto bad_or_oom;
    r->path = pct_decode(r->path_raw, strlen(r->path_raw), false, &bad);
    if (!r->path) goto bad_or_oom;
    return LS_OK;
bad_or_oom:
    if (bad) return ls_err_set(err, LS_ERR_CONFIG, "invalid replica URL %s: invalid URL escape", disp);
oom:
    return ls_err_set(err, LS_ERR_NOMEM, "out of memory parsing replica URL");
}

/* Splits a raw query into decoded pairs (Go url.ParseQuery; bad pairs are
 * skipped like url.Query() does). */
static ls_code parse_query(const char *q, ls_replica_url *u) {
    if (!q || !*q) return LS_OK;
    size_t n = strlen(q);
    size_t cnt = 1;
    for (size_t i = 0; i < n; i++)
        if (q[i] == '&') cnt++;
    u->query = calloc(cnt, sizeof(ls_url_param));
    if (!u->query) return LS_ERR_NOMEM;
    const char *p = q;
    while (p <= q + n) {
        size_t len = strcspn(p, "&");
        if (len > 0 && !memchr(p, ';', len)) {
            const char *eq = memchr(p, '=', len);
            size_t kl = eq ? (size_t)(eq - p) : len;
            bool bad = false;
            char *k = pct_decode(p, kl, true, &bad);
            char *v = eq ? pct_decode(eq + 1, len - kl - 1, true, &bad) : ls_strdup("");
            if (k && v) {
                u->query[u->nquery].key = k;
                u->query[u->nquery].value = v;
                u->nquery++;
            } else {
                free(k);
                free(v);
                if (!bad) return LS_ERR_NOMEM;
            }
        }
        p += len + 1;
    }
    return LS_OK;
}

const char *ls_replica_url_query(const ls_replica_url *u, const char *key) {
    if (!u) return NULL;
    for (size_t i = 0; i < u->nquery; i++)
        if (strcmp(u->query[i].key, key) == 0) return u->query[i].value;
    return NULL;
}

/* Go url.Values.Get: first value, "" when absent. */
static const char *qget(const ls_replica_url *u, const char *key) {
    const char *v = ls_replica_url_query(u, key);
    return v ? v : "";
}

void ls_replica_url_free(ls_replica_url *u) {
    if (!u) return;
    free(u->raw);
    free(u->scheme);
    free(u->user);
    free(u->password);
    free(u->host);
    free(u->path);
    for (size_t i = 0; i < u->nquery; i++) {
        free(u->query[i].key);
        free(u->query[i].value);
    }
    free(u->query);
    free(u->bucket);
    free(u->region);
    free(u->endpoint);
    free(u->account_name);
    free(u->server_url);
    free(u->storage_class);
    free(u);
}

/* ------------------------------------------------------------------------ */
/* Display form                                                              */

char *ls_replica_url_display(const char *url) {
    if (!url) return ls_strdup("");
    for (const unsigned char *p = (const unsigned char *)url; *p; p++)
        if (*p < 0x20 || *p == 0x7f) return ls_strdup("<invalid url>");
    const char *sep = strstr(url, "://");
    if (!sep || !ls_is_replica_url(url)) {
        /* Not a URL: a path has no credentials, but cap absurd lengths. */
        return ls_strdup(url);
    }
    size_t n = strlen(url);
    char *out = malloc(n * 2 + 32);
    if (!out) return NULL;
    size_t w = 0;
    size_t pre = (size_t)(sep - url) + 3;
    memcpy(out, url, pre);
    w = pre;
    const char *a = sep + 3;
    size_t alen = strcspn(a, "/?#");
    const char *at = NULL;
    for (size_t i = 0; i < alen; i++)
        if (a[i] == '@') at = a + i;
    if (at) {
        const char *colon = memchr(a, ':', (size_t)(at - a));
        if (colon) {
            memcpy(out + w, a, (size_t)(colon - a));
            w += (size_t)(colon - a);
            memcpy(out + w, ":xxxxx", 6);
            w += 6;
        } else {
            memcpy(out + w, a, (size_t)(at - a));
            w += (size_t)(at - a);
        }
        size_t restlen = alen - (size_t)(at - a);
        memcpy(out + w, at, restlen);
        w += restlen;
    } else {
        memcpy(out + w, a, alen);
        w += alen;
    }
    const char *p = a + alen;
    size_t plen = strcspn(p, "?#");
    memcpy(out + w, p, plen);
    w += plen;
    p += plen;
    if (*p == '?') {
        out[w++] = '?';
        p++;
        size_t qlen = strcspn(p, "#");
        const char *q = p, *qend = p + qlen;
        bool first = true;
        while (q <= qend) {
            size_t len = strcspn(q, "&#");
            if (q + len > qend) len = (size_t)(qend - q);
            if (!first) out[w++] = '&';
            first = false;
            const char *eq = memchr(q, '=', len);
            size_t kl = eq ? (size_t)(eq - q) : len;
            bool bad = false;
            char *k = pct_decode(q, kl, true, &bad);
            bool secret = k ? lscfg_is_secret_param(k) : true;
            free(k);
            if (secret && eq) {
                memcpy(out + w, q, kl + 1);
                w += kl + 1;
                memcpy(out + w, "xxxxx", 5);
                w += 5;
            } else {
                memcpy(out + w, q, len);
                w += len;
            }
            q += len + 1;
        }
        p = qend;
    }
    /* Fragments are dropped: replica URLs never carry meaningful ones. */
    out[w] = '\0';
    return out;
}

/* ------------------------------------------------------------------------ */
/* Host forms                                                                */

static bool ends_with(const char *s, const char *suf) {
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

/* Splits "[B.]s3.R" (R without dots) — the backblaze/scaleway forms.
 * Returns false when rest does not have that shape. */
static bool split_bucket_s3_region(const char *rest, char **bucket, char **region) {
    const char *last = strrchr(rest, '.');
    if (!last || !last[1]) return false;
    size_t head = (size_t)(last - rest); /* rest[0..head) must end with "s3" */
    if (head < 2 || strncmp(rest + head - 2, "s3", 2) != 0) return false;
    if (head == 2) {
        *bucket = ls_strdup("");
    } else {
        if (rest[head - 3] != '.') return false;
        if (head - 3 == 0) return false; /* (.+) needs one char */
        *bucket = dupn(rest, head - 3);
    }
    *region = ls_strdup(last + 1);
    return *bucket && *region;
}

typedef struct s3host {
    char *bucket, *region, *endpoint;
    bool force_path_style;
} s3host;

static ls_code s3_parse_host(const char *host, s3host *h) {
    memset(h, 0, sizeof(*h));
    if (strchr(host, ':') && !strstr(host, ".com")) {
        const char *dot = strchr(host, '.');
        if (dot) {
            h->bucket = dupn(host, (size_t)(dot - host));
            h->region = ls_strdup("us-east-1");
            h->endpoint = ls_strfmt("http://%s", dot + 1);
        } else {
            h->bucket = ls_strdup("");
            h->endpoint = ls_strfmt("http://%s", host);
        }
        h->force_path_style = true;
        goto done;
    }
    if (ends_with(host, ".amazonaws.com")) {
        size_t rl = strlen(host) - strlen(".amazonaws.com");
        char *rest = dupn(host, rl);
        if (!rest) return LS_ERR_NOMEM;
        bool ok = false;
        if (rl > 3 && ends_with(rest, ".s3")) {
            h->bucket = dupn(rest, rl - 3);
            ok = true;
        } else {
            const char *last = strrchr(rest, '.');
            if (last && last[1]) {
                size_t head = (size_t)(last - rest);
                if (head > 3 && strncmp(rest + head - 3, ".s3", 3) == 0) {
                    h->bucket = dupn(rest, head - 3);
                    h->region = ls_strdup(last + 1);
                    ok = true;
                }
            }
        }
        free(rest);
        if (ok) goto done;
    }
    if (ends_with(host, ".digitaloceanspaces.com")) {
        size_t rl = strlen(host) - strlen(".digitaloceanspaces.com");
        if (rl > 0) {
            char *rest = dupn(host, rl);
            if (!rest) return LS_ERR_NOMEM;
            const char *last = strrchr(rest, '.');
            if (last) {
                h->bucket = dupn(rest, (size_t)(last - rest));
                h->region = ls_strdup(last + 1);
            } else {
                h->bucket = ls_strdup("");
                h->region = ls_strdup(rest);
            }
            free(rest);
            if (h->region && *h->region) {
                h->endpoint = ls_strfmt("https://%s.digitaloceanspaces.com", h->region);
                goto done;
            }
            free(h->bucket);
            free(h->region);
            h->bucket = h->region = NULL;
        }
    }
    if (ends_with(host, ".backblazeb2.com")) {
        char *rest = dupn(host, strlen(host) - strlen(".backblazeb2.com"));
        if (!rest) return LS_ERR_NOMEM;
        bool ok = split_bucket_s3_region(rest, &h->bucket, &h->region);
        free(rest);
        if (ok) {
            h->endpoint = ls_strfmt("https://s3.%s.backblazeb2.com", h->region);
            h->force_path_style = true;
            goto done;
        }
        free(h->bucket);
        free(h->region);
        h->bucket = h->region = NULL;
    }
    if (strcmp(host, "s3.filebase.com") == 0 || (ends_with(host, ".s3.filebase.com") &&
                                                 strlen(host) > strlen(".s3.filebase.com"))) {
        size_t bl = strlen(host) > strlen("s3.filebase.com") ? strlen(host) - strlen(".s3.filebase.com") : 0;
        h->bucket = dupn(host, bl);
        h->endpoint = ls_strdup("s3.filebase.com");
        goto done;
    }
    if (ends_with(host, ".scw.cloud")) {
        char *rest = dupn(host, strlen(host) - strlen(".scw.cloud"));
        if (!rest) return LS_ERR_NOMEM;
        bool ok = split_bucket_s3_region(rest, &h->bucket, &h->region);
        free(rest);
        if (ok) {
            h->endpoint = ls_strfmt("s3.%s.scw.cloud", h->region);
            goto done;
        }
        free(h->bucket);
        free(h->region);
        h->bucket = h->region = NULL;
    }
    h->bucket = ls_strdup(host);
done:
    if (!h->bucket) return LS_ERR_NOMEM;
    return LS_OK;
}

/* oss: ^(?:([^.]+)\.)?oss-(.+?)-internal\.aliyuncs\.com$ then
 *      ^(?:([^.]+)\.)?oss-([^.]+)\.aliyuncs\.com$ ; else the host is the bucket. */
static ls_code oss_parse_host(const char *host, char **bucket, char **region) {
    *bucket = *region = NULL;
    const char *suffixes[2] = {"-internal.aliyuncs.com", ".aliyuncs.com"};
    for (int pass = 0; pass < 2; pass++) {
        if (!ends_with(host, suffixes[pass])) continue;
        size_t rl = strlen(host) - strlen(suffixes[pass]);
        char *rest = dupn(host, rl);
        if (!rest) return LS_ERR_NOMEM;
        /* try with a bucket first (greedy optional group), then without */
        const char *dot = strchr(rest, '.');
        const char *cands[2] = {dot ? dot + 1 : NULL, rest};
        size_t blen[2] = {dot ? (size_t)(dot - rest) : 0, 0};
        for (int c = 0; c < 2; c++) {
            const char *r = cands[c];
            if (!r) continue;
            if (c == 0 && blen[0] == 0) continue; /* [^.]+ needs one char */
            if (strncmp(r, "oss-", 4) != 0 || !r[4]) continue;
            if (pass == 1 && strchr(r + 4, '.')) continue; /* [^.]+ */
            *bucket = dupn(rest, blen[c]);
            *region = ls_strdup(r + 4);
            free(rest);
            return (*bucket && *region) ? LS_OK : LS_ERR_NOMEM;
        }
        free(rest);
    }
    *bucket = ls_strdup(host);
    *region = ls_strdup("");
    return (*bucket && *region) ? LS_OK : LS_ERR_NOMEM;
}

/* ------------------------------------------------------------------------ */
/* Query values                                                              */

static bool bool_query(const ls_replica_url *u, const char *k1, const char *k2, bool *set) {
    const char *keys[2] = {k1, k2};
    for (int i = 0; i < 2; i++) {
        if (!keys[i]) continue;
        const char *raw = qget(u, keys[i]);
        if (!*raw) continue;
        *set = true;
        char low[8] = {0};
        size_t n = strlen(raw);
        if (n >= sizeof(low)) return false;
        for (size_t j = 0; j < n && j < sizeof(low) - 1; j++) low[j] = (char)tolower((unsigned char)raw[j]);
        return strcmp(low, "true") == 0 || strcmp(low, "1") == 0 || strcmp(low, "t") == 0 ||
               strcmp(low, "yes") == 0;
    }
    *set = false;
    return false;
}

static ls_code int_query(const ls_replica_url *u, const char *k1, const char *k2, int64_t *out,
                         ls_err *err) {
    const char *keys[2] = {k1, k2};
    for (int i = 0; i < 2; i++) {
        if (!keys[i]) continue;
        const char *raw = qget(u, keys[i]);
        if (!*raw) continue;
        bool ok = true;
        int64_t v = 0;
        const char *p = raw;
        if (*p == '+' || *p == '-') p++;
        if (!*p) ok = false;
        for (; ok && *p; p++) {
            if (!isdigit((unsigned char)*p) || v > (INT64_MAX - 9) / 10) ok = false;
            else v = v * 10 + (*p - '0');
        }
        if (raw[0] == '-') v = -v;
        if (!ok || v <= 0)
            return ls_err_set(err, LS_ERR_CONFIG,
                              "invalid value for query parameter \"%s\": \"%.64s\" (must be a positive integer)",
                              keys[i], raw);
        *out = v;
        return LS_OK;
    }
    return LS_OK;
}

/* ------------------------------------------------------------------------ */
/* Per-scheme mapping                                                        */

static ls_code map_s3_query(ls_replica_url *u, ls_err *err) {
    const char *ep = qget(u, "endpoint");
    if (*ep) {
        free(u->endpoint);
        u->endpoint = lscfg_ensure_endpoint_scheme(ep);
        if (!u->endpoint) return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
        if (strcmp(qget(u, "forcePathStyle"), "false") != 0) u->force_path_style.v = true;
    }
    const char *rg = qget(u, "region");
    if (*rg) {
        free(u->region);
        u->region = ls_strdup(rg);
    }
    const char *fps = qget(u, "forcePathStyle");
    if (*fps) u->force_path_style.v = strcmp(fps, "true") == 0;
    u->force_path_style.set = true;
    const char *sv = qget(u, "skipVerify");
    if (*sv) {
        u->skip_verify.set = true;
        u->skip_verify.v = strcmp(sv, "true") == 0;
    }
    bool set;
    bool v = bool_query(u, "signPayload", "sign-payload", &set);
    if (set) {
        u->sign_payload.set = true;
        u->sign_payload.v = v;
    }
    v = bool_query(u, "requireContentMD5", "require-content-md5", &set);
    if (set) {
        u->require_content_md5.set = true;
        u->require_content_md5.v = v;
    }
    const char *sc = qget(u, "storageClass");
    if (!*sc) sc = qget(u, "storage-class");
    if (*sc) {
        u->storage_class = ls_strdup(sc);
        if (!u->storage_class) return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
    }
    ls_code rc = int_query(u, "partSize", "part-size", &u->part_size, err);
    if (rc) return rc;
    return int_query(u, "concurrency", NULL, &u->concurrency, err);
}

/* Go CleanReplicaURLPath: "" stays "", "." -> "". */
static char *clean_key_path(const char *p) {
    if (!*p) return ls_strdup("");
    char *tmp = ls_strfmt("/%s", p);
    if (!tmp) return NULL;
    char *c = ls_path_clean(tmp);
    free(tmp);
    if (!c) return NULL;
    char *res = ls_strdup(c[0] == '/' ? c + 1 : c);
    free(c);
    if (res && strcmp(res, ".") == 0) res[0] = '\0';
    return res;
}

static ls_code parse_s3_access_point(const char *url, ls_replica_url *u, const char *disp,
                                     ls_err *err) {
    const char *arn = url + 5; /* after "s3://" */
    const char *q = strchr(arn, '?');
    size_t alen = q ? (size_t)(q - arn) : strlen(arn);
    char *a = dupn(arn, alen);
    if (!a) return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
    /* find ":accesspoint/" case-insensitively */
    const char *marker = ":accesspoint/";
    size_t ml = strlen(marker);
    size_t idx = SIZE_MAX;
    for (size_t i = 0; i + ml <= alen; i++) {
        if (lscfg_has_prefix_ci(a + i, marker)) {
            idx = i;
            break;
        }
    }
    if (idx == SIZE_MAX || idx + ml >= alen) {
        free(a);
        return ls_err_set(err, LS_ERR_CONFIG, "invalid s3 access point arn in replica URL %s", disp);
    }
    size_t ns = idx + ml;
    const char *slash = strchr(a + ns, '/');
    char *key;
    if (slash) {
        u->bucket = dupn(a, (size_t)(slash - a));
        key = clean_key_path(slash + 1);
    } else {
        u->bucket = ls_strdup(a);
        key = ls_strdup("");
    }
    free(a);
    if (!u->bucket || !key) {
        free(key);
        return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
    }
    u->path = key;
    u->host = ls_strdup(u->bucket);
    /* region: 4th ':'-separated field */
    const char *p = u->bucket;
    for (int f = 0; f < 3 && p; f++) {
        p = strchr(p, ':');
        if (p) p++;
    }
    if (p) {
        const char *e = strchr(p, ':');
        u->region = e ? dupn(p, (size_t)(e - p)) : ls_strdup(p);
    } else {
        u->region = ls_strdup("");
    }
    if (!u->host || !u->region) return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
    if (q && parse_query(q + 1, u) != LS_OK) return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
    ls_code rc = map_s3_query(u, err);
    if (rc) return rc;
    return LS_OK;
}

ls_code ls_parse_replica_url(const char *url, ls_replica_url **out, ls_err *err) {
    *out = NULL;
    if (!url) url = "";
    char *disp = ls_replica_url_display(url);
    if (!disp) return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
    ls_code rc = LS_OK;
    raw_url r = {0};
    ls_replica_url *u = calloc(1, sizeof(*u));
    if (!u || !(u->raw = ls_strdup(url))) {
        rc = ls_err_set(err, LS_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (!ls_is_replica_url(url)) {
        rc = ls_err_set(err, LS_ERR_CONFIG, "replica url scheme required: %s", disp);
        goto done;
    }

    if (lscfg_has_prefix_ci(url, "s3://arn:")) {
        u->scheme = ls_strdup("s3");
        u->type = LS_REPLICA_S3;
        if (!u->scheme) {
            rc = ls_err_set(err, LS_ERR_NOMEM, "out of memory");
            goto done;
        }
        rc = parse_s3_access_point(url, u, disp, err);
        goto done;
    }

    rc = parse_raw(url, &r, disp, err);
    if (rc) goto done;
    u->scheme = ls_strdup(r.scheme);
    u->type = ls_replica_type_from_name(r.scheme);
    u->host = ls_strdup(r.host);
    u->port = r.port;
    if (!u->scheme || !u->host) {
        rc = ls_err_set(err, LS_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (u->type == LS_REPLICA_UNKNOWN) {
        rc = ls_err_set(err, LS_ERR_CONFIG, "unsupported replica URL scheme: \"%s\"", r.scheme);
        goto done;
    }
    if (r.has_userinfo) {
        const char *ui = r.userinfo_raw;
        const char *colon = strchr(ui, ':');
        bool bad = false;
        u->user = pct_decode(ui, colon ? (size_t)(colon - ui) : strlen(ui), false, &bad);
        if (u->user && colon) u->password = pct_decode(colon + 1, strlen(colon + 1), false, &bad);
        if (!u->user || (colon && !u->password)) {
            rc = bad ? ls_err_set(err, LS_ERR_CONFIG, "invalid replica URL %s: invalid URL escape in userinfo", disp)
                     : ls_err_set(err, LS_ERR_NOMEM, "out of memory");
            goto done;
        }
    }

    if (u->type == LS_REPLICA_FILE) {
        /* Scheme dropped, query ignored, rest cleaned (not percent-decoded:
         * Go re-escapes the path when it rebuilds the string). */
        const char *a = strstr(url, "://") + 3;
        size_t alen = strcspn(a, "/?#");
        const char *p = a + alen;
        size_t plen = strcspn(p, "?#");
        char *joined = alen ? ls_strfmt("//%.*s%.*s", (int)alen, a, (int)plen, p)
                            : dupn(p, plen);
        if (!joined) {
            rc = ls_err_set(err, LS_ERR_NOMEM, "out of memory");
            goto done;
        }
        u->path = ls_path_clean(joined);
        free(joined);
        if (!u->path) rc = ls_err_set(err, LS_ERR_NOMEM, "out of memory");
        goto done;
    }

    if (parse_query(r.query, u) != LS_OK) {
        rc = ls_err_set(err, LS_ERR_NOMEM, "out of memory");
        goto done;
    }

    /* Generic path: path.Clean(u.Path) without the leading "/". */
    char *cleaned = ls_path_clean(r.path);
    if (!cleaned) {
        rc = ls_err_set(err, LS_ERR_NOMEM, "out of memory");
        goto done;
    }
    char *generic = ls_strdup(cleaned[0] == '/' ? cleaned + 1 : cleaned);
    free(cleaned);
    if (!generic) {
        rc = ls_err_set(err, LS_ERR_NOMEM, "out of memory");
        goto done;
    }

    switch (u->type) {
    case LS_REPLICA_S3: {
        u->path = generic;
        s3host h;
        if (s3_parse_host(r.hostport, &h) != LS_OK) {
            rc = ls_err_set(err, LS_ERR_NOMEM, "out of memory");
            goto done;
        }
        u->bucket = h.bucket;
        u->region = h.region;
        u->endpoint = h.endpoint;
        u->force_path_style.set = true;
        u->force_path_style.v = h.force_path_style;
        rc = map_s3_query(u, err);
        break;
    }
    case LS_REPLICA_GS:
        u->path = generic;
        u->bucket = ls_strdup(r.hostport);
        break;
    case LS_REPLICA_ABS:
        u->path = generic;
        u->bucket = ls_strdup(r.hostport);
        if (u->user) u->account_name = ls_strdup(u->user);
        break;
    case LS_REPLICA_OSS: {
        u->path = generic;
        char *b, *rg;
        if (oss_parse_host(r.hostport, &b, &rg) != LS_OK) {
            free(b);
            free(rg);
            rc = ls_err_set(err, LS_ERR_NOMEM, "out of memory");
            goto done;
        }
        u->bucket = b;
        u->region = rg;
        break;
    }
    case LS_REPLICA_SFTP:
        free(generic);
        u->path = ls_strdup(r.path); /* keeps the leading "/" */
        free(u->host);
        u->host = ls_strdup(r.hostport); /* host[:port] as Go u.Host */
        break;
    case LS_REPLICA_WEBDAV:
        free(generic);
        u->path = ls_strdup(r.path);
        if (*r.hostport)
            u->server_url = ls_strfmt("%s://%s", strcmp(r.scheme, "webdavs") == 0 ? "https" : "http",
                                      r.hostport);
        break;
    case LS_REPLICA_NATS: {
        /* bucket = cleaned path with slashes trimmed ("." = no bucket). */
        size_t s = 0, e = strlen(generic);
        while (s < e && generic[s] == '/') s++;
        while (e > s && generic[e - 1] == '/') e--;
        u->bucket = (e - s == 1 && generic[s] == '.') ? ls_strdup("") : dupn(generic + s, e - s);
        free(generic);
        u->path = ls_strdup("");
        if (*r.hostport) u->server_url = ls_strfmt("nats://%s", r.hostport);
        break;
    }
    default:
        free(generic);
        break;
    }
    if (rc == LS_OK && !u->path) rc = ls_err_set(err, LS_ERR_NOMEM, "out of memory");

done:
    raw_url_free(&r);
    free(disp);
    if (rc != LS_OK) {
        ls_replica_url_free(u);
        return rc;
    }
    *out = u;
    return LS_OK;
}
