/*
 * config/config_resolve.c — turns one replica entry (after top-level
 * propagation) into resolved client settings: type selection, url-vs-keys
 * precedence (11.5), provider defaults, SSE checks, per-type requirements.
 */
#include "config/config_internal.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/fs.h"

#define NS_SEC INT64_C(1000000000)
#define S3_MIN_PART_SIZE (INT64_C(5) * 1024 * 1024)

ls_code lscfg_resolve_replica(ls_replica_config *rc, ls_err *err);
void lscfg_client_free(ls_replica_client_cfg *c);

void lscfg_client_free(ls_replica_client_cfg *c) {
    char **strs[] = {&c->url, &c->path, &c->bucket, &c->region, &c->endpoint, &c->access_key_id,
                     &c->secret_access_key, &c->storage_class, &c->sse_customer_algorithm,
                     &c->sse_customer_key, &c->sse_customer_key_path, &c->sse_kms_key_id,
                     &c->account_name, &c->account_key, &c->sas_token, &c->host, &c->user,
                     &c->password, &c->key_path, &c->host_key, &c->webdav_url,
                     &c->webdav_username, &c->webdav_password, &c->nats_url, &c->jwt, &c->seed,
                     &c->creds, &c->nkey, &c->username, &c->token, &c->client_cert,
                     &c->client_key};
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        free(*strs[i]);
        *strs[i] = NULL;
    }
    for (size_t i = 0; i < c->n_root_cas; i++) free(c->root_cas[i]);
    free(c->root_cas);
    memset(c, 0, sizeof(*c));
}

/* "config line N: <field>: <msg>"; without a line (URL mode) just the msg. */
static ls_code __attribute__((format(printf, 4, 5)))
rerr(ls_err *err, const ls_replica_config *rc, int line, const char *fmt, ...) {
    char msg[LS_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (line <= 0) line = rc->line;
    if (line <= 0) return ls_err_set(err, LS_ERR_CONFIG, "%s", msg);
    return ls_err_set(err, LS_ERR_CONFIG, "config line %d: %s: %s", line, rc->field, msg);
}

static ls_code nomem(ls_err *err) { return ls_err_set(err, LS_ERR_NOMEM, "config: out of memory"); }

static const char *sv(const ls_cfg_str *s) { return (s->v && s->v[0]) ? s->v : NULL; }
static const char *nz(const char *s) { return (s && *s) ? s : NULL; }

/* strdup that treats NULL as NULL; *oom set on allocation failure. */
static char *dup_or_null(const char *s, bool *oom) {
    if (!s) return NULL;
    char *d = ls_strdup(s);
    if (!d) *oom = true;
    return d;
}

/* ------------------------------------------------------------------------ */
/* Base64 (standard alphabet, padding optional)                              */

static int b64v(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Returns decoded length or -1 on invalid input; out must hold len*3/4+3. */
static long b64_decode(const char *s, unsigned char *out, size_t cap) {
    size_t n = strlen(s);
    while (n > 0 && s[n - 1] == '=') n--;
    if (n % 4 == 1) return -1;
    size_t w = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64v((unsigned char)s[i]);
        if (v < 0) return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (w >= cap) return -1;
            out[w++] = (unsigned char)((acc >> bits) & 0xff);
        }
    }
    return (long)w;
}

/* ------------------------------------------------------------------------ */
/* Provider detection by endpoint host                                       */

static bool host_suffix(const char *host, const char *suf) {
    size_t n = strlen(host), m = strlen(suf);
    return n >= m && strcmp(host + n - m, suf) == 0;
}

typedef struct provider {
    bool tigris, hetzner, digitalocean, backblaze, filebase, scaleway, minio, r2, supabase;
} provider;

static void detect_provider(const char *endpoint, provider *p) {
    memset(p, 0, sizeof(*p));
    char *h = lscfg_endpoint_host(endpoint);
    if (!h || !*h) {
        free(h);
        return;
    }
    p->tigris = strcmp(h, "fly.storage.tigris.dev") == 0 || strcmp(h, "t3.storage.dev") == 0;
    p->hetzner = host_suffix(h, ".your-objectstorage.com");
    p->digitalocean = host_suffix(h, ".digitaloceanspaces.com");
    p->backblaze = host_suffix(h, ".backblazeb2.com");
    p->filebase = strcmp(h, "s3.filebase.com") == 0;
    p->scaleway = host_suffix(h, ".scw.cloud");
    p->r2 = host_suffix(h, ".r2.cloudflarestorage.com");
    p->supabase = host_suffix(h, ".supabase.co");
    if (strchr(h, ':')) {
        static const char *const known[] = {".amazonaws.com", ".digitaloceanspaces.com",
                                            ".backblazeb2.com", ".filebase.com", ".scw.cloud",
                                            ".r2.cloudflarestorage.com", "tigris.dev",
                                            "t3.storage.dev", ".supabase.co"};
        bool cloud = false;
        for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
            if (strstr(h, known[i])) cloud = true;
        p->minio = !cloud;
    }
    free(h);
}

/* Private / loopback hosts for the SSE-C over HTTP rule. */
static bool private_host(const char *endpoint) {
    char *h = lscfg_endpoint_host(endpoint);
    if (!h) return false;
    char *colon = strrchr(h, ':');
    if (colon && !strchr(h, ']')) *colon = '\0';
    bool ok = false;
    unsigned a, b, c2, d;
    char tail;
    if (strcmp(h, "localhost") == 0 || strcmp(h, "[::1]") == 0 || strncmp(h, "[::1]", 5) == 0) {
        ok = true;
    } else if (sscanf(h, "%u.%u.%u.%u%c", &a, &b, &c2, &d, &tail) == 4 && a < 256 && b < 256 &&
               c2 < 256 && d < 256) {
        ok = a == 127 || a == 10 || (a == 172 && b >= 16 && b <= 31) || (a == 192 && b == 168);
    }
    free(h);
    return ok;
}

/* ------------------------------------------------------------------------ */
/* Per-type resolution                                                       */

static ls_code resolve_file(ls_replica_config *rc, const ls_replica_url *u, ls_err *err) {
    ls_replica_client_cfg *c = &rc->client;
    if (u && sv(&rc->path))
        return rerr(err, rc, rc->path.line, "cannot specify url & path for file replica");
    const char *p = u ? u->path : sv(&rc->path);
    /* "file://" alone cleans to "." (the reference then uses the current
     * directory); refuse it as a missing path. */
    if (!p || !*p || (u && strcmp(p, ".") == 0))
        return rerr(err, rc, u ? rc->url.line : rc->line, "file replica path required");
    c->path = ls_expand_db_path(p);
    return c->path ? LS_OK : nomem(err);
}

static ls_code resolve_s3(ls_replica_config *rc, const ls_replica_url *u, ls_err *err) {
    ls_replica_settings *s = &rc->settings;
    ls_replica_client_cfg *c = &rc->client;
    int uline = rc->url.line;
    if (u && sv(&rc->path))
        return rerr(err, rc, rc->path.line, "cannot specify url & path for s3 replica");
    if (u && sv(&s->bucket))
        return rerr(err, rc, uline,
                    "cannot specify url & bucket for s3 replica (bucket \"%s\" given at line %d)",
                    s->bucket.v, s->bucket.line);

    const char *bucket = sv(&s->bucket), *path = sv(&rc->path);
    const char *region = sv(&s->region), *endpoint = sv(&s->endpoint);
    const char *storage = sv(&s->storage_class);
    bool skip = s->skip_verify.set && s->skip_verify.v;
    bool sign = true, sign_set = false, req = true, req_set = false;
    if (s->sign_payload.set) {
        sign = s->sign_payload.v;
        sign_set = true;
    }
    if (s->require_content_md5.set) {
        req = s->require_content_md5.v;
        req_set = true;
    }
    bool fps = endpoint != NULL;
    if (s->force_path_style.set) fps = s->force_path_style.v;
    int64_t part = 0, conc = 0;
    bool part_from_url = false;

    if (u) {
        if (u->skip_verify.set) skip = u->skip_verify.v;
        if (!path) path = u->path;
        if (!bucket) bucket = nz(u->bucket);
        if (!region) region = nz(u->region);
        if (!endpoint) endpoint = nz(u->endpoint);
        if (!storage) storage = nz(u->storage_class);
        if (!fps) fps = u->force_path_style.v;
        if (!sign_set && u->sign_payload.set) {
            sign = u->sign_payload.v;
            sign_set = true;
        }
        if (!req_set && u->require_content_md5.set) {
            req = u->require_content_md5.v;
            req_set = true;
        }
    }
    if (!bucket) return rerr(err, rc, u ? uline : rc->line, "bucket required for s3 replica");

    provider pv;
    detect_provider(endpoint, &pv);
    if (pv.tigris) {
        if (!sign_set) sign = true;
        if (!req_set) req = false;
    }
    if (!s->force_path_style.set && (pv.filebase || pv.backblaze || pv.minio || pv.supabase))
        fps = true;
    if (pv.r2) conc = 2;
    if (u && u->part_size > 0) {
        part = u->part_size;
        part_from_url = true;
    }
    if (u && u->concurrency > 0) conc = u->concurrency;
    if (s->part_size.set) {
        part = s->part_size.v;
        part_from_url = false;
    }
    if (s->concurrency.set) {
        if (s->concurrency.v < 0)
            return rerr(err, rc, s->concurrency.line, "concurrency: must not be negative (got %" PRId64 ")",
                        s->concurrency.v);
        conc = s->concurrency.v;
    }
    if ((s->part_size.set || part_from_url) && part < S3_MIN_PART_SIZE)
        return rerr(err, rc, part_from_url ? uline : s->part_size.line,
                    "part-size: must be at least 5MiB (5242880 bytes) for s3 (got %" PRId64 ")", part);

    bool oom = false;
    c->bucket = dup_or_null(bucket, &oom);
    c->path = dup_or_null(path ? path : "", &oom);
    c->region = dup_or_null(region, &oom);
    if (endpoint) c->endpoint = lscfg_ensure_endpoint_scheme(endpoint), oom |= !c->endpoint;
    /* the URL parser already chose http:// for local hosts; keys given in
     * the config without a scheme get https:// (14.3). */
    if (endpoint && sv(&s->endpoint) && !strstr(endpoint, "://")) {
        free(c->endpoint);
        c->endpoint = ls_strfmt("https://%s", endpoint);
        oom |= !c->endpoint;
    }
    c->access_key_id = dup_or_null(sv(&s->access_key_id), &oom);
    c->secret_access_key = dup_or_null(sv(&s->secret_access_key), &oom);
    c->storage_class = dup_or_null(storage, &oom);
    c->force_path_style = fps;
    c->skip_verify = skip;
    c->sign_payload = sign;
    c->require_content_md5 = req;
    c->part_size = part;
    c->concurrency = conc;
    if (oom) return nomem(err);

    /* SSE */
    const char *key = sv(&s->sse_customer_key), *key_path = sv(&s->sse_customer_key_path);
    if (key || key_path) {
        const char *alg = sv(&s->sse_customer_algorithm);
        if (!alg) alg = "AES256";
        if (strcmp(alg, "AES256") != 0)
            return rerr(err, rc, s->sse_customer_algorithm.line,
                        "sse-customer-algorithm: only AES256 is supported (got \"%s\")", alg);
        c->sse_customer_algorithm = ls_strdup(alg);
        if (!c->sse_customer_algorithm) return nomem(err);
        if (key_path) {
            c->sse_customer_key_path = ls_strdup(key_path);
            char *kp = key_path[0] == '~' ? ls_path_abs(key_path) : ls_strdup(key_path);
            if (!c->sse_customer_key_path || !kp) {
                free(kp);
                return nomem(err);
            }
            char *data = NULL;
            size_t len = 0;
            ls_err e;
            if (ls_read_file(kp, 4096, &data, &len, &e) != LS_OK) {
                free(kp);
                return rerr(err, rc, s->sse_customer_key_path.line,
                            "cannot read sse-customer-key-path \"%s\": %s", key_path, e.msg);
            }
            free(kp);
            size_t a = 0, b = len;
            while (a < b && isspace((unsigned char)data[a])) a++;
            while (b > a && isspace((unsigned char)data[b - 1])) b--;
            data[b] = '\0';
            memmove(data, data + a, b - a + 1);
            c->sse_customer_key = data;
        } else {
            c->sse_customer_key = ls_strdup(key);
            if (!c->sse_customer_key) return nomem(err);
        }
        unsigned char raw[64];
        if (b64_decode(c->sse_customer_key, raw, sizeof(raw)) != 32)
            return rerr(err, rc, key_path ? s->sse_customer_key_path.line : s->sse_customer_key.line,
                        "%s: must be the base64 encoding of a 32-byte key",
                        key_path ? "sse-customer-key-path" : "sse-customer-key");
        if (sv(&s->sse_kms_key_id))
            return rerr(err, rc, s->sse_kms_key_id.line,
                        "sse-kms-key-id: SSE-C (sse-customer-key) and SSE-KMS are mutually exclusive");
        if (c->endpoint && strncmp(c->endpoint, "http://", 7) == 0 && !private_host(c->endpoint))
            return rerr(err, rc, s->sse_customer_key.line ? s->sse_customer_key.line
                                                           : s->sse_customer_key_path.line,
                        "SSE-C requires HTTPS unless the endpoint is localhost, loopback or a private address (endpoint %s)",
                        c->endpoint);
    }
    if (sv(&s->sse_kms_key_id)) {
        c->sse_kms_key_id = ls_strdup(s->sse_kms_key_id.v);
        if (!c->sse_kms_key_id) return nomem(err);
    }
    return LS_OK;
}

static ls_code resolve_gs(ls_replica_config *rc, const ls_replica_url *u, ls_err *err) {
    ls_replica_settings *s = &rc->settings;
    ls_replica_client_cfg *c = &rc->client;
    if (u && sv(&rc->path))
        return rerr(err, rc, rc->path.line, "cannot specify url & path for gs replica");
    if (u && sv(&s->bucket))
        return rerr(err, rc, rc->url.line,
                    "cannot specify url & bucket for gs replica (bucket \"%s\" given at line %d)",
                    s->bucket.v, s->bucket.line);
    const char *bucket = sv(&s->bucket), *path = sv(&rc->path);
    if (u) {
        if (!path) path = u->path;
        if (!bucket) bucket = nz(u->bucket);
    }
    if (!bucket) return rerr(err, rc, u ? rc->url.line : rc->line, "bucket required for gs replica");
    bool oom = false;
    c->bucket = dup_or_null(bucket, &oom);
    c->path = dup_or_null(path ? path : "", &oom);
    return oom ? nomem(err) : LS_OK;
}

static ls_code resolve_abs(ls_replica_config *rc, const ls_replica_url *u, ls_err *err) {
    ls_replica_settings *s = &rc->settings;
    ls_replica_client_cfg *c = &rc->client;
    if (u && sv(&rc->path))
        return rerr(err, rc, rc->path.line, "cannot specify url & path for abs replica");
    if (u && sv(&s->bucket))
        return rerr(err, rc, rc->url.line,
                    "cannot specify url & bucket for abs replica (bucket \"%s\" given at line %d)",
                    s->bucket.v, s->bucket.line);
    const char *account = sv(&s->account_name), *bucket = sv(&s->bucket), *path = sv(&rc->path);
    if (u) {
        if (!account) account = nz(u->account_name);
        if (!bucket) bucket = nz(u->bucket);
        if (!path) path = u->path;
    }
    if (!bucket) return rerr(err, rc, u ? rc->url.line : rc->line, "bucket required for abs replica");
    bool oom = false;
    c->account_name = dup_or_null(account, &oom);
    c->account_key = dup_or_null(sv(&s->account_key), &oom);
    c->sas_token = dup_or_null(sv(&s->sas_token), &oom);
    c->bucket = dup_or_null(bucket, &oom);
    c->path = dup_or_null(path ? path : "", &oom);
    c->endpoint = dup_or_null(sv(&s->endpoint), &oom);
    return oom ? nomem(err) : LS_OK;
}

static ls_code resolve_sftp(ls_replica_config *rc, const ls_replica_url *u, ls_err *err) {
    ls_replica_settings *s = &rc->settings;
    ls_replica_client_cfg *c = &rc->client;
    if (u && sv(&rc->path))
        return rerr(err, rc, rc->path.line, "cannot specify url & path for sftp replica");
    if (u && sv(&s->host))
        return rerr(err, rc, rc->url.line,
                    "cannot specify url & host for sftp replica (host \"%s\" given at line %d)",
                    s->host.v, s->host.line);
    const char *host = sv(&s->host), *user = sv(&s->user), *password = sv(&s->password),
               *path = sv(&rc->path);
    if (u) {
        if (!host) host = nz(u->host);
        if (!user) user = nz(u->user);
        if (!password) password = nz(u->password);
        if (!path) path = u->path;
    }
    if (!host) return rerr(err, rc, u ? rc->url.line : rc->line, "host required for sftp replica");
    if (!user) return rerr(err, rc, u ? rc->url.line : rc->line, "user required for sftp replica");
    bool oom = false;
    /* Port 22 when host has none ("[v6]" or "name"). */
    const char *rb = strrchr(host, ']');
    const char *colon = strrchr(host, ':');
    bool has_port = colon && (!rb || colon > rb);
    if (host[0] != '[' && colon && strchr(host, ':') != colon) has_port = false; /* bare v6 */
    c->host = has_port ? ls_strdup(host) : ls_strfmt("%s:22", host);
    oom |= !c->host;
    c->user = dup_or_null(user, &oom);
    c->password = dup_or_null(password, &oom);
    c->path = dup_or_null(path ? path : "", &oom);
    c->key_path = dup_or_null(sv(&s->key_path), &oom);
    c->host_key = dup_or_null(sv(&s->host_key), &oom);
    c->concurrent_writes = s->concurrent_writes.set ? s->concurrent_writes.v : true;
    return oom ? nomem(err) : LS_OK;
}

static ls_code resolve_webdav(ls_replica_config *rc, const ls_replica_url *u, ls_err *err) {
    ls_replica_settings *s = &rc->settings;
    ls_replica_client_cfg *c = &rc->client;
    if (u && sv(&rc->path))
        return rerr(err, rc, rc->path.line, "cannot specify url & path for webdav replica");
    if (u && sv(&s->webdav_url))
        return rerr(err, rc, rc->url.line, "cannot specify url & webdav-url for webdav replica");
    const char *wurl = sv(&s->webdav_url), *user = sv(&s->webdav_username),
               *password = sv(&s->webdav_password), *path = sv(&rc->path);
    if (u) {
        if (!wurl) wurl = nz(u->server_url);
        if (!user) user = nz(u->user);
        if (!password) password = nz(u->password);
        if (!path) path = u->path;
    }
    if (!wurl)
        return rerr(err, rc, u ? rc->url.line : rc->line, "webdav-url required for webdav replica");
    bool oom = false;
    c->webdav_url = dup_or_null(wurl, &oom);
    c->webdav_username = dup_or_null(user, &oom);
    c->webdav_password = dup_or_null(password, &oom);
    c->path = dup_or_null(path ? path : "", &oom);
    return oom ? nomem(err) : LS_OK;
}

static ls_code resolve_nats(ls_replica_config *rc, const ls_replica_url *u, ls_err *err) {
    ls_replica_settings *s = &rc->settings;
    ls_replica_client_cfg *c = &rc->client;
    const char *bucket = NULL;
    if (u) bucket = nz(u->bucket);
    if (!bucket) bucket = sv(&s->bucket);
    if (!bucket)
        return rerr(err, rc, u ? rc->url.line : rc->line, "bucket required for NATS replica");
    if ((sv(&s->client_cert) != NULL) != (sv(&s->client_key) != NULL))
        return rerr(err, rc, s->client_cert.line ? s->client_cert.line : s->client_key.line,
                    "client-cert and client-key must both be specified for mutual TLS authentication");
    bool oom = false;
    c->nats_url = dup_or_null(u ? nz(u->server_url) : NULL, &oom);
    c->bucket = dup_or_null(bucket, &oom);
    c->path = dup_or_null("", &oom);
    c->jwt = dup_or_null(sv(&s->jwt), &oom);
    c->seed = dup_or_null(sv(&s->seed), &oom);
    c->creds = dup_or_null(sv(&s->creds), &oom);
    c->nkey = dup_or_null(sv(&s->nkey), &oom);
    /* The reference ignores URL userinfo here; we use it as a fallback. */
    c->username = dup_or_null(sv(&s->username) ? sv(&s->username) : (u ? nz(u->user) : NULL), &oom);
    c->password = dup_or_null(sv(&s->password) ? sv(&s->password) : (u ? nz(u->password) : NULL), &oom);
    c->token = dup_or_null(sv(&s->token), &oom);
    c->tls = s->tls.set && s->tls.v;
    if (s->root_cas.n > 0) {
        c->root_cas = calloc(s->root_cas.n, sizeof(char *));
        if (!c->root_cas) return nomem(err);
        for (size_t i = 0; i < s->root_cas.n; i++) {
            c->root_cas[i] = ls_strdup(s->root_cas.v[i]);
            if (!c->root_cas[i]) oom = true;
            c->n_root_cas = i + 1;
        }
    }
    c->client_cert = dup_or_null(sv(&s->client_cert), &oom);
    c->client_key = dup_or_null(sv(&s->client_key), &oom);
    c->max_reconnects = s->max_reconnects.set ? s->max_reconnects.v : -1;
    c->reconnect_wait = s->reconnect_wait.set ? s->reconnect_wait.v : 2 * NS_SEC;
    c->timeout = s->timeout.set ? s->timeout.v : 10 * NS_SEC;
    return oom ? nomem(err) : LS_OK;
}

static ls_code resolve_oss(ls_replica_config *rc, const ls_replica_url *u, ls_err *err) {
    ls_replica_settings *s = &rc->settings;
    ls_replica_client_cfg *c = &rc->client;
    if (u && sv(&rc->path))
        return rerr(err, rc, rc->path.line, "cannot specify url & path for oss replica");
    if (u && sv(&s->bucket))
        return rerr(err, rc, rc->url.line,
                    "cannot specify url & bucket for oss replica (bucket \"%s\" given at line %d)",
                    s->bucket.v, s->bucket.line);
    const char *bucket = sv(&s->bucket), *path = sv(&rc->path), *region = sv(&s->region);
    if (u) {
        if (!path) path = u->path;
        if (!bucket) bucket = nz(u->bucket);
        if (!region) region = nz(u->region);
    }
    if (!bucket) return rerr(err, rc, u ? rc->url.line : rc->line, "bucket required for oss replica");
    bool oom = false;
    c->bucket = dup_or_null(bucket, &oom);
    c->path = dup_or_null(path ? path : "", &oom);
    c->region = dup_or_null(region ? region : "cn-hangzhou", &oom);
    c->endpoint = dup_or_null(sv(&s->endpoint), &oom);
    c->access_key_id = dup_or_null(sv(&s->access_key_id), &oom);
    c->secret_access_key = dup_or_null(sv(&s->secret_access_key), &oom);
    if (s->part_size.set) c->part_size = s->part_size.v;
    if (s->concurrency.set) c->concurrency = s->concurrency.v;
    return oom ? nomem(err) : LS_OK;
}

ls_code lscfg_resolve_replica(ls_replica_config *rc, ls_err *err) {
    ls_replica_settings *s = &rc->settings;
    ls_replica_client_cfg *c = &rc->client;
    lscfg_client_free(c);
    c->sync_interval = s->sync_interval.set ? s->sync_interval.v : NS_SEC;
    c->validation_interval = s->validation_interval.set ? s->validation_interval.v : 0;
    c->max_sync_ltx_files = s->max_sync_ltx_files.set ? s->max_sync_ltx_files.v : 256;
    c->auto_recover = s->auto_recover.set && s->auto_recover.v;
    if (c->max_sync_ltx_files < 0)
        return rerr(err, rc, s->max_sync_ltx_files.line,
                    "max-sync-ltx-files: must not be negative (got %" PRId64 ")", c->max_sync_ltx_files);

    if (sv(&rc->path) && ls_is_replica_url(rc->path.v)) {
        char *d = ls_replica_url_display(rc->path.v);
        ls_code code = rerr(err, rc, rc->path.line,
                            "replica path cannot be a url, please use the 'url' field instead: %s",
                            d ? d : "");
        free(d);
        return code;
    }
    if (s->age_identities.n > 0 || s->age_recipients.n > 0)
        return rerr(err, rc, s->age_identities.n ? s->age_identities.line : s->age_recipients.line,
                    "age encryption is not currently supported, if you need encryption please revert back to Litestream v0.3.x");

    ls_replica_url *u = NULL;
    ls_replica_type type = LS_REPLICA_FILE;
    if (sv(&rc->url)) {
        ls_err e;
        ls_code code = ls_parse_replica_url(rc->url.v, &u, &e);
        if (code == LS_ERR_NOMEM) return ls_err_set(err, code, "%s", e.msg);
        if (code) {
            if (rc->url.line <= 0) return ls_err_set(err, LS_ERR_CONFIG, "%s", e.msg);
            return ls_err_set(err, LS_ERR_CONFIG, "config line %d: %s.url: %s", rc->url.line,
                              rc->field, e.msg);
        }
        type = u->type;
        c->url = ls_strdup(rc->url.v);
        if (!c->url) {
            ls_replica_url_free(u);
            return nomem(err);
        }
    } else if (sv(&rc->type)) {
        type = ls_replica_type_from_name(rc->type.v);
        if (type == LS_REPLICA_UNKNOWN || strcmp(rc->type.v, "webdavs") == 0) {
            if (rc->type.line <= 0)
                return ls_err_set(err, LS_ERR_CONFIG, "unknown replica type in config: \"%s\"", rc->type.v);
            return ls_err_set(err, LS_ERR_CONFIG,
                              "config line %d: %s.type: unknown replica type in config: \"%s\" (use file, s3, gs, abs, sftp, webdav, nats or oss)",
                              rc->type.line, rc->field, rc->type.v);
        }
    }
    c->type = type;

    ls_code code;
    switch (type) {
    case LS_REPLICA_FILE: code = resolve_file(rc, u, err); break;
    case LS_REPLICA_S3: code = resolve_s3(rc, u, err); break;
    case LS_REPLICA_GS: code = resolve_gs(rc, u, err); break;
    case LS_REPLICA_ABS: code = resolve_abs(rc, u, err); break;
    case LS_REPLICA_SFTP: code = resolve_sftp(rc, u, err); break;
    case LS_REPLICA_WEBDAV: code = resolve_webdav(rc, u, err); break;
    case LS_REPLICA_NATS: code = resolve_nats(rc, u, err); break;
    case LS_REPLICA_OSS: code = resolve_oss(rc, u, err); break;
    default: code = rerr(err, rc, rc->line, "unknown replica type"); break;
    }
    ls_replica_url_free(u);
    return code;
}
