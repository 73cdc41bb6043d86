/*
 * storage/s3.c — the S3 backend on libcurl (contract in storage/s3.h).
 *
 * Signing is libcurl's (CURLOPT_AWS_SIGV4, "aws:amz:<region>:s3"). libcurl
 * 7.88 signs the URL path and query exactly as given and takes the payload
 * hash from our x-amz-content-sha256 header, so this file always builds
 * canonical URLs itself: the path is AWS-URI-encoded once ('/' kept), the
 * query is sorted by name and encoded, valueless parameters are written
 * "name=" (e.g. "?delete="), and CURLOPT_PATH_AS_IS stops curl from
 * removing "./" segments of keys (path "." quirk). Every header we add is
 * signed (curl signs all custom headers); none is ever added with an empty
 * value, and curl's own headers (User-Agent, Accept, Content-Length,
 * Expect) are not signed.
 *
 * Connection slots. A slot is a curl easy handle plus a private multi
 * handle; every transfer runs through the slot's multi, whose connection
 * cache keeps the connection alive between requests. Threads borrow slots
 * from a mutex-protected pool (at most SLOT_IDLE_MAX kept idle); DNS and
 * TLS sessions are shared between slots through a curl share handle
 * (connections are not shared: libcurl documents that as unsafe across
 * threads).
 *
 * Streaming GET. A reader keeps its slot for its lifetime; the write
 * callback copies into a fixed buffer and pauses the transfer when it is
 * full, so memory per reader is bounded (GET_BUF_CAP).
 */
#include "storage/s3.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "storage/s3_internal.h"
#include "util/dynlib.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/timeutil.h"

/* libcurl is loaded on first use (util/dynlib.h): every curl call below goes
 * through the function table. ls_storage_s3_open loads it before any other
 * code here can run (all of it needs an s3_storage). A macro is not
 * re-expanded inside its own expansion, so the names stay readable. */
#define LS_CURL_VIA_TABLE_(name) (ls_curl_api()->name)
/* curl.h keeps argument-count guards for these three; replace them. */
#undef curl_easy_setopt
#undef curl_easy_getinfo
#undef curl_share_setopt
#define curl_global_init LS_CURL_VIA_TABLE_(curl_global_init)
#define curl_version_info LS_CURL_VIA_TABLE_(curl_version_info)
#define curl_getdate LS_CURL_VIA_TABLE_(curl_getdate)
#define curl_easy_init LS_CURL_VIA_TABLE_(curl_easy_init)
#define curl_easy_cleanup LS_CURL_VIA_TABLE_(curl_easy_cleanup)
#define curl_easy_reset LS_CURL_VIA_TABLE_(curl_easy_reset)
#define curl_easy_setopt LS_CURL_VIA_TABLE_(curl_easy_setopt)
#define curl_easy_getinfo LS_CURL_VIA_TABLE_(curl_easy_getinfo)
#define curl_easy_strerror LS_CURL_VIA_TABLE_(curl_easy_strerror)
#define curl_easy_pause LS_CURL_VIA_TABLE_(curl_easy_pause)
#define curl_multi_init LS_CURL_VIA_TABLE_(curl_multi_init)
#define curl_multi_cleanup LS_CURL_VIA_TABLE_(curl_multi_cleanup)
#define curl_multi_add_handle LS_CURL_VIA_TABLE_(curl_multi_add_handle)
#define curl_multi_remove_handle LS_CURL_VIA_TABLE_(curl_multi_remove_handle)
#define curl_multi_perform LS_CURL_VIA_TABLE_(curl_multi_perform)
#define curl_multi_poll LS_CURL_VIA_TABLE_(curl_multi_poll)
#define curl_multi_info_read LS_CURL_VIA_TABLE_(curl_multi_info_read)
#define curl_share_init LS_CURL_VIA_TABLE_(curl_share_init)
#define curl_share_setopt LS_CURL_VIA_TABLE_(curl_share_setopt)
#define curl_share_cleanup LS_CURL_VIA_TABLE_(curl_share_cleanup)
#define curl_slist_append LS_CURL_VIA_TABLE_(curl_slist_append)
#define curl_slist_free_all LS_CURL_VIA_TABLE_(curl_slist_free_all)

#define SLOT_IDLE_MAX 32
#define RESP_BODY_LIMIT (32u * 1024 * 1024)
#define ERR_BODY_LIMIT (64u * 1024)
#define GET_CURL_BUFSIZE (128 * 1024)
#define GET_BUF_CAP (3 * GET_CURL_BUFSIZE)
#define DELETE_BATCH 1000
#define MAX_PARTS 10000
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* ------------------------------------------------------------- globals -- */

static pthread_once_t g_curl_once = PTHREAD_ONCE_INIT;
static CURLcode g_curl_init_rc = CURLE_OK;
static void curl_init_once(void) { g_curl_init_rc = curl_global_init(CURL_GLOBAL_ALL); }

/* ---------------------------------------------------------------- types -- */

typedef struct slot {
    CURL *easy;
    CURLM *multi;
    struct slot *next;
} slot;

typedef struct s3_storage {
    ls_storage base;
    char *bucket;            /* as configured (ARN for access points) */
    char *url_bucket;        /* bucket in URLs; NULL for access points */
    char *path;
    char *region;            /* NULL until known */
    char *access_key, *secret_key, *session_token;
    char *storage_class;
    char *sse_alg, *sse_key, *sse_key_md5, *sse_kms;
    bool have_endpoint, path_style, skip_verify, sign_payload, req_md5, tigris;
    bool verbose;
    s3_endpoint ep;          /* valid once the region is known (AWS) */
    char endpoint_disp[300];
    int64_t part_size;
    int concurrency;
    int max_attempts;
    int64_t retry_base_ms, retry_max_ms, stall_ms, connect_ms;
    int list_max_keys;
    char *noproxy;

    pthread_mutex_t mu;      /* slots + region discovery */
    slot *idle;
    int nidle;
    CURLSH *share;
    pthread_mutex_t share_mu[CURL_LOCK_DATA_LAST];
} s3_storage;

static const ls_storage_ops s3_ops;

/* --------------------------------------------------------------- random -- */

static double rnd01(void) {
    static _Thread_local uint64_t st;
    if (st == 0) st = (uint64_t)ls_monotonic_ns() ^ ((uint64_t)(uintptr_t)&st << 16) ^ 0x9e3779b97f4a7c15ull;
    st ^= st << 13;
    st ^= st >> 7;
    st ^= st << 17;
    return (double)(st >> 11) / 9007199254740992.0;
}

static void sleep_ms(int64_t ms) {
    if (ms <= 0) return;
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* --------------------------------------------------------------- share -- */

static void share_lock(CURL *h, curl_lock_data d, curl_lock_access a, void *u) {
    (void)h;
    (void)a;
    s3_storage *s = u;
    if ((int)d >= 0 && d < CURL_LOCK_DATA_LAST) pthread_mutex_lock(&s->share_mu[d]);
}
static void share_unlock(CURL *h, curl_lock_data d, void *u) {
    (void)h;
    s3_storage *s = u;
    if ((int)d >= 0 && d < CURL_LOCK_DATA_LAST) pthread_mutex_unlock(&s->share_mu[d]);
}

/* ---------------------------------------------------------------- slots -- */

static slot *slot_get(s3_storage *s) {
    pthread_mutex_lock(&s->mu);
    slot *sl = s->idle;
    if (sl) {
        s->idle = sl->next;
        s->nidle--;
    }
    pthread_mutex_unlock(&s->mu);
    if (sl) return sl;
    sl = calloc(1, sizeof(*sl));
    if (!sl) return NULL;
    sl->easy = curl_easy_init();
    sl->multi = curl_multi_init();
    if (!sl->easy || !sl->multi) {
        if (sl->easy) curl_easy_cleanup(sl->easy);
        if (sl->multi) curl_multi_cleanup(sl->multi);
        free(sl);
        return NULL;
    }
    return sl;
}

static void slot_free(slot *sl) {
    if (!sl) return;
    curl_multi_remove_handle(sl->multi, sl->easy);
    curl_easy_cleanup(sl->easy);
    curl_multi_cleanup(sl->multi);
    free(sl);
}

/* Returns a slot to the pool; broken = the connection state is unknown
 * (an aborted transfer), so the slot is dropped. */
static void slot_put(s3_storage *s, slot *sl, bool broken) {
    if (!sl) return;
    if (!broken) {
        pthread_mutex_lock(&s->mu);
        if (s->nidle < SLOT_IDLE_MAX) {
            sl->next = s->idle;
            s->idle = sl;
            s->nidle++;
            sl = NULL;
        }
        pthread_mutex_unlock(&s->mu);
    }
    slot_free(sl);
}

/* ------------------------------------------------------------- requests -- */

typedef struct s3_req {
    const char *op;          /* for messages: "put", "get", ... */
    const char *method;      /* GET PUT POST DELETE HEAD */
    const char *objkey;      /* full object key; NULL = bucket */
    const char *query;       /* canonical query or NULL */
    const void *body;        /* PUT/POST body (NULL with has_body = empty) */
    size_t body_len;
    bool has_body;
    const char *content_type;
    const char *content_md5;
    const char *range;       /* "bytes=..." */
    const char *if_match;
    const char *meta_ts;     /* x-amz-meta-litestream-timestamp */
    bool storage_class;      /* add x-amz-storage-class */
    bool sse_c;              /* SSE-C headers */
    bool sse_kms;            /* SSE-KMS headers */
    /* overrides (region discovery) */
    const char *region;
    const s3_endpoint *ep;
    bool force_path_style;
    /* response handling */
    bool capture_body;       /* keep the body (else only error bodies) */
} s3_req;

typedef struct s3_resp {
    long status;
    long hdr_status;         /* status of the response whose headers are being read */
    bool headers_done;       /* final (non-1xx) header block complete */
    s3_buf body;
    char etag[160];
    int64_t content_length;
    int64_t last_modified_ns;
    char meta_ts[80];
    char bucket_region[64];
    char content_range[128];
} s3_resp;

static void resp_reset(s3_resp *r, size_t limit) {
    s3_buf_free(&r->body);
    memset(r, 0, sizeof(*r));
    r->content_length = -1;
    r->body.limit = limit;
}

static void trim_copy(char *dst, size_t cap, const char *v, size_t n) {
    while (n > 0 && (*v == ' ' || *v == '\t')) {
        v++;
        n--;
    }
    while (n > 0 && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' ' || v[n - 1] == '\t')) n--;
    if (n >= cap) n = cap - 1;
    memcpy(dst, v, n);
    dst[n] = '\0';
}

/* Shared header parsing: status lines reset the captured values (1xx
 * interim responses, redirects). */
static void parse_header_line(s3_resp *r, const char *line, size_t n) {
    if (n >= 5 && memcmp(line, "HTTP/", 5) == 0) {
        const char *sp = memchr(line, ' ', n);
        long st = 0;
        if (sp) {
            for (const char *p = sp + 1; p < line + n && *p >= '0' && *p <= '9'; p++) st = st * 10 + (*p - '0');
        }
        memset(r->etag, 0, sizeof(r->etag));
        r->content_length = -1;
        r->last_modified_ns = 0;
        r->meta_ts[0] = r->bucket_region[0] = r->content_range[0] = '\0';
        r->hdr_status = st;
        r->headers_done = false;
        return;
    }
    if (n <= 2 && (n == 0 || line[0] == '\r' || line[0] == '\n')) {
        if (r->hdr_status >= 200) {
            r->headers_done = true;
            r->status = r->hdr_status;
        }
        return;
    }
    const char *colon = memchr(line, ':', n);
    if (!colon) return;
    size_t nl = (size_t)(colon - line);
    const char *v = colon + 1;
    size_t vl = n - nl - 1;
#define HDR_IS(lit) (nl == sizeof(lit) - 1 && strncasecmp(line, lit, nl) == 0)
    if (HDR_IS("etag")) {
        trim_copy(r->etag, sizeof(r->etag), v, vl);
    } else if (HDR_IS("content-length")) {
        char tmp[32];
        trim_copy(tmp, sizeof(tmp), v, vl);
        char *e;
        long long x = strtoll(tmp, &e, 10);
        if (*tmp && !*e && x >= 0) r->content_length = x;
    } else if (HDR_IS("last-modified")) {
        char tmp[80];
        trim_copy(tmp, sizeof(tmp), v, vl);
        time_t t = curl_getdate(tmp, NULL);
        if (t > 0) r->last_modified_ns = (int64_t)t * LS_NS_PER_SEC;
    } else if (HDR_IS("x-amz-meta-litestream-timestamp")) {
        trim_copy(r->meta_ts, sizeof(r->meta_ts), v, vl);
    } else if (HDR_IS("x-amz-bucket-region")) {
        trim_copy(r->bucket_region, sizeof(r->bucket_region), v, vl);
    } else if (HDR_IS("content-range")) {
        trim_copy(r->content_range, sizeof(r->content_range), v, vl);
    }
#undef HDR_IS
}

static size_t hdr_cb(char *buf, size_t size, size_t nitems, void *ud) {
    size_t n = size * nitems;
    parse_header_line(ud, buf, n);
    return n;
}

typedef struct {
    s3_resp *r;
    bool capture;
} body_ctx;

static size_t body_cb(char *buf, size_t size, size_t nitems, void *ud) {
    body_ctx *c = ud;
    size_t n = size * nitems;
    bool ok_status = c->r->status >= 200 && c->r->status < 300;
    if (ok_status && !c->capture) return n;
    if (!ok_status && c->r->body.limit > ERR_BODY_LIMIT) c->r->body.limit = ERR_BODY_LIMIT;
    if (!s3_buf_append(&c->r->body, buf, n)) {
        if (!ok_status) return n; /* error bodies are truncated, not failed */
        return 0;                 /* response too large: CURLE_WRITE_ERROR */
    }
    return n;
}

static const char *effective_region(const s3_storage *s, const s3_req *rq) {
    if (rq && rq->region) return rq->region;
    return s->region ? s->region : "us-east-1";
}

/* Builds the header list for a request. NULL on OOM. */
static struct curl_slist *build_headers(const s3_storage *s, const s3_req *rq, const char *sha) {
    struct curl_slist *h = NULL, *t;
    char line[1024];
#define ADD(...)                                            \
    do {                                                    \
        snprintf(line, sizeof(line), __VA_ARGS__);          \
        t = curl_slist_append(h, line);                     \
        if (!t) goto oom;                                   \
        h = t;                                              \
    } while (0)
    ADD("x-amz-content-sha256: %s", sha);
    if (rq->has_body) ADD("Content-Type: %s", rq->content_type ? rq->content_type : "application/octet-stream");
    if (rq->content_md5) ADD("Content-MD5: %s", rq->content_md5);
    if (rq->range) ADD("Range: %s", rq->range);
    if (rq->if_match && *rq->if_match) ADD("If-Match: %s", rq->if_match);
    if (rq->meta_ts) ADD("x-amz-meta-litestream-timestamp: %s", rq->meta_ts);
    if (rq->storage_class && s->storage_class) ADD("x-amz-storage-class: %s", s->storage_class);
    if (rq->sse_c && s->sse_key) {
        ADD("x-amz-server-side-encryption-customer-algorithm: %s", s->sse_alg ? s->sse_alg : "AES256");
        ADD("x-amz-server-side-encryption-customer-key: %s", s->sse_key);
        ADD("x-amz-server-side-encryption-customer-key-md5: %s", s->sse_key_md5);
    }
    if (rq->sse_kms && s->sse_kms) {
        ADD("x-amz-server-side-encryption: aws:kms");
        ADD("x-amz-server-side-encryption-aws-kms-key-id: %s", s->sse_kms);
    }
    if (s->session_token && s->access_key) ADD("x-amz-security-token: %s", s->session_token);
    if (s->tigris) ADD("X-Tigris-Consistent: true");
#undef ADD
    return h;
oom:
    curl_slist_free_all(h);
    return NULL;
}

/* Configures sl->easy for one request (after curl_easy_reset). */
static ls_code setup_easy(s3_storage *s, slot *sl, const s3_req *rq, const char *url,
                          struct curl_slist *hdrs, char *errbuf, ls_err *err) {
    CURL *e = sl->easy;
    curl_easy_reset(e);
    CURLcode c = CURLE_OK;
#define SET(opt, val) \
    if (c == CURLE_OK) c = curl_easy_setopt(e, opt, val)
    SET(CURLOPT_URL, url);
    SET(CURLOPT_PATH_AS_IS, 1L);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_ERRORBUFFER, errbuf);
    SET(CURLOPT_USERAGENT, "litestream");
    SET(CURLOPT_HTTPHEADER, hdrs);
    SET(CURLOPT_SHARE, s->share);
    SET(CURLOPT_CONNECTTIMEOUT_MS, (long)s->connect_ms);
    SET(CURLOPT_TCP_KEEPALIVE, 1L);
    SET(CURLOPT_TCP_KEEPIDLE, 30L);
    SET(CURLOPT_TCP_KEEPINTVL, 30L);
    SET(CURLOPT_MAXAGE_CONN, 90L);
    SET(CURLOPT_TIMEOUT, 24L * 3600);
    long stall_s = (long)((s->stall_ms + 999) / 1000);
    if (stall_s < 1) stall_s = 1;
    SET(CURLOPT_LOW_SPEED_LIMIT, 1L);
    SET(CURLOPT_LOW_SPEED_TIME, stall_s);
    SET(CURLOPT_EXPECT_100_TIMEOUT_MS, 1000L);
    if (s->noproxy) SET(CURLOPT_NOPROXY, s->noproxy);
    if (s->skip_verify) {
        SET(CURLOPT_SSL_VERIFYPEER, 0L);
        SET(CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (s->verbose) SET(CURLOPT_VERBOSE, 1L);
    if (s->access_key && s->secret_key) {
        char sig[160];
        snprintf(sig, sizeof(sig), "aws:amz:%s:s3", effective_region(s, rq));
        SET(CURLOPT_AWS_SIGV4, sig);
        SET(CURLOPT_USERNAME, s->access_key);
        SET(CURLOPT_PASSWORD, s->secret_key);
    }
    if (strcmp(rq->method, "HEAD") == 0) {
        SET(CURLOPT_NOBODY, 1L);
    } else if (strcmp(rq->method, "GET") == 0) {
        SET(CURLOPT_HTTPGET, 1L);
    } else if (rq->has_body) {
        SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
        SET(CURLOPT_POSTFIELDS, rq->body ? (const char *)rq->body : "");
        if (strcmp(rq->method, "POST") != 0) SET(CURLOPT_CUSTOMREQUEST, rq->method);
    } else {
        SET(CURLOPT_CUSTOMREQUEST, rq->method);
    }
#undef SET
    if (c != CURLE_OK)
        return ls_err_set(err, LS_ERR_INTERNAL, "s3: configuring the HTTP request failed: %s",
                          curl_easy_strerror(c));
    return LS_OK;
}

/* Runs the transfer configured on sl to completion. */
static CURLcode run_transfer(slot *sl) {
    CURLMcode mc = curl_multi_add_handle(sl->multi, sl->easy);
    if (mc != CURLM_OK) return CURLE_FAILED_INIT;
    CURLcode result = CURLE_OK;
    bool done = false;
    while (!done) {
        int running = 0;
        mc = curl_multi_perform(sl->multi, &running);
        if (mc != CURLM_OK) {
            result = CURLE_RECV_ERROR;
            break;
        }
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(sl->multi, &left))) {
            if (m->msg == CURLMSG_DONE && m->easy_handle == sl->easy) {
                result = m->data.result;
                done = true;
            }
        }
        if (!done && running) curl_multi_poll(sl->multi, NULL, 0, 1000, NULL);
        else if (!done && !running) {
            /* finished without a message: should not happen */
            result = CURLE_RECV_ERROR;
            done = true;
        }
    }
    curl_multi_remove_handle(sl->multi, sl->easy);
    return result;
}

static bool curl_retryable(CURLcode c) {
    switch (c) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_WEIRD_SERVER_REPLY:
        return true;
    default:
        return false;
    }
}

static ls_code curl_error(ls_err *err, CURLcode c, const char *errbuf, const s3_storage *s) {
    ls_code code = c == CURLE_OPERATION_TIMEDOUT ? LS_ERR_TIMEOUT
                   : c == CURLE_URL_MALFORMAT   ? LS_ERR_CONFIG
                   : c == CURLE_OUT_OF_MEMORY   ? LS_ERR_NOMEM
                                                : LS_ERR_NETWORK;
    return ls_err_set(err, code, "%s (%s)", errbuf && errbuf[0] ? errbuf : curl_easy_strerror(c),
                      s->endpoint_disp);
}

/* Maps an HTTP error response to an error code and message. */
static ls_code http_error(const s3_storage *s, const s3_req *rq, const s3_resp *rs, ls_err *err) {
    s3_error_doc doc;
    memset(&doc, 0, sizeof(doc));
    if (rs->body.n > 0) s3_parse_error(rs->body.p, rs->body.n, &doc, NULL);
    long st = rs->status;
    const char *code = doc.code;
    const char *msg = doc.message;
    if (st == 404 && strcmp(code, "NoSuchBucket") == 0)
        return ls_err_set(err, LS_ERR_CONFIG, "bucket \"%s\" does not exist (NoSuchBucket, %s)",
                          s->bucket, s->endpoint_disp);
    if (st == 404) return ls_err_set(err, LS_ERR_NOTFOUND, "object not found (HTTP 404%s%s)",
                                     code[0] ? " " : "", code);
    const char *hint_region = rs->bucket_region[0] ? rs->bucket_region : doc.region;
    if ((st == 301 || st == 307 || st == 400) &&
        (strcmp(code, "PermanentRedirect") == 0 || strcmp(code, "AuthorizationHeaderMalformed") == 0 ||
         strcmp(code, "IllegalLocationConstraintException") == 0 || (st != 400 && !code[0])))
        return ls_err_set(err, LS_ERR_CONFIG,
                          "HTTP %ld %s: bucket \"%s\" is not in region %s%s%s; set region",
                          st, code[0] ? code : "redirect", s->bucket, effective_region(s, rq),
                          hint_region[0] ? " (it is in " : "", hint_region[0] ? hint_region : "");
    ls_code lc = LS_ERR_NETWORK;
    if (st == 401 || st == 403) lc = LS_ERR_AUTH;
    else if (st == 412) lc = LS_ERR_NOTFOUND;
    else if (st == 400 || st == 411 || st == 413 || st == 416) lc = LS_ERR_INVALID;
    char extra[96] = "";
    if (lc == LS_ERR_AUTH && !(s->access_key && s->secret_key))
        snprintf(extra, sizeof(extra), "; no credentials configured");
    if (st == 412)
        return ls_err_set(err, lc, "object changed while it was read (HTTP 412 PreconditionFailed)");
    return ls_err_set(err, lc, "HTTP %ld%s%s%s%s (bucket %s, %s%s)", st, code[0] ? " " : "", code,
                      msg[0] ? ": " : "", msg, s->bucket, s->endpoint_disp, extra);
}

static ls_code ensure_region(s3_storage *s, ls_err *err);

/* Executes one request with retries. rs is (re)initialised. */
static ls_code s3_exec(s3_storage *s, const s3_req *rq, s3_resp *rs, ls_err *err) {
    memset(rs, 0, sizeof(*rs));
    ls_code rc = LS_OK;
    if (!rq->ep) {
        rc = ensure_region(s, err);
        if (rc != LS_OK) return rc;
    }
    char sha[65];
    if (!rq->has_body || rq->body_len == 0) memcpy(sha, EMPTY_SHA256, 65);
    else if (s->sign_payload) s3_sha256_hex(rq->body, rq->body_len, sha);
    else snprintf(sha, sizeof(sha), "UNSIGNED-PAYLOAD");
    const s3_endpoint *ep = rq->ep ? rq->ep : &s->ep;
    char *url = s3_build_url(ep, s->url_bucket, rq->force_path_style || s->path_style, rq->objkey,
                             rq->query);
    struct curl_slist *hdrs = build_headers(s, rq, sha);
    slot *sl = slot_get(s);
    if (!url || !hdrs || !sl) {
        rc = ls_err_set(err, LS_ERR_NOMEM, "out of memory");
        goto out;
    }
    char errbuf[CURL_ERROR_SIZE];
    int attempts = s->max_attempts > 0 ? s->max_attempts : LS_S3_DEFAULT_MAX_ATTEMPTS;
    for (int attempt = 1;; attempt++) {
        resp_reset(rs, rq->capture_body ? RESP_BODY_LIMIT : ERR_BODY_LIMIT);
        errbuf[0] = '\0';
        body_ctx bc = {.r = rs, .capture = rq->capture_body};
        rc = setup_easy(s, sl, rq, url, hdrs, errbuf, err);
        if (rc != LS_OK) break;
        curl_easy_setopt(sl->easy, CURLOPT_HEADERFUNCTION, hdr_cb);
        curl_easy_setopt(sl->easy, CURLOPT_HEADERDATA, rs);
        curl_easy_setopt(sl->easy, CURLOPT_WRITEFUNCTION, body_cb);
        curl_easy_setopt(sl->easy, CURLOPT_WRITEDATA, &bc);
        CURLcode cc = run_transfer(sl);
        bool retry = false;
        if (cc == CURLE_WRITE_ERROR && rq->capture_body) {
            rc = ls_err_set(err, LS_ERR_FORMAT, "response larger than %u bytes", RESP_BODY_LIMIT);
        } else if (cc != CURLE_OK) {
            rc = curl_error(err, cc, errbuf, s);
            retry = curl_retryable(cc);
        } else {
            if (!rs->status) curl_easy_getinfo(sl->easy, CURLINFO_RESPONSE_CODE, &rs->status);
            if (rs->status >= 200 && rs->status < 300) {
                rc = LS_OK;
                break;
            }
            rc = http_error(s, rq, rs, err);
            s3_error_doc doc;
            memset(&doc, 0, sizeof(doc));
            if (rs->body.n) s3_parse_error(rs->body.p, rs->body.n, &doc, NULL);
            retry = s3_retryable_status(rs->status, doc.code);
        }
        if (!retry) break;
        if (attempt >= attempts) {
            ls_err_wrap(err, "after %d attempts", attempt);
            break;
        }
        int64_t d = s3_backoff_ms(attempt, s->retry_base_ms, s->retry_max_ms, rnd01());
        ls_debug("s3 request failed, retrying", "op", rq->op, "key", rq->objkey ? rq->objkey : "",
                 "attempt", LS_INT(attempt), "delay_ms", LS_INT(d), "error", err ? err->msg : "");
        ls_storage_stat_add(&s->base.stats.retries, 1);
        sleep_ms(d);
    }
out:
    slot_put(s, sl, false);
    curl_slist_free_all(hdrs);
    free(url);
    if (rc != LS_OK) {
        s3_buf_free(&rs->body);
    }
    return rc;
}

static void resp_free(s3_resp *rs) { s3_buf_free(&rs->body); }

/* ---------------------------------------------------------------- region -- */

static ls_code ensure_region(s3_storage *s, ls_err *err) {
    pthread_mutex_lock(&s->mu);
    bool known = s->region != NULL;
    pthread_mutex_unlock(&s->mu);
    if (known) return LS_OK;
    /* No endpoint was given (else the region defaulted to us-east-1 at
     * open): GetBucketLocation on the global endpoint (spec 14.2). */
    s3_endpoint g;
    memset(&g, 0, sizeof(g));
    g.https = true;
    snprintf(g.host, sizeof(g.host), "s3.amazonaws.com");
    s3_req rq = {.op = "get bucket location", .method = "GET", .query = "location=",
                 .region = "us-east-1", .ep = &g, .force_path_style = true, .capture_body = true};
    s3_resp rs;
    ls_code rc = s3_exec(s, &rq, &rs, err);
    if (rc != LS_OK) return ls_err_wrap(err, "find region of bucket \"%s\"", s->bucket);
    char region[64];
    rc = s3_parse_location(rs.body.p, rs.body.n, region, sizeof(region), err);
    resp_free(&rs);
    if (rc != LS_OK) return ls_err_wrap(err, "find region of bucket \"%s\"", s->bucket);
    for (const char *p = region; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-')
            return ls_err_set(err, LS_ERR_FORMAT, "bucket \"%s\": bad region \"%s\"", s->bucket, region);
    pthread_mutex_lock(&s->mu);
    if (!s->region) {
        s->region = strdup(region);
        snprintf(s->ep.host, sizeof(s->ep.host), "s3.%s.amazonaws.com", region);
        s->ep.https = true;
        snprintf(s->endpoint_disp, sizeof(s->endpoint_disp), "https://%s", s->ep.host);
    }
    bool ok = s->region != NULL;
    pthread_mutex_unlock(&s->mu);
    if (!ok) return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
    ls_debug("s3 bucket region", "bucket", s->bucket, "region", region);
    return LS_OK;
}

/* ------------------------------------------------------------------ put -- */

static ls_code put_single(s3_storage *s, const char *objkey, const void *data, size_t len,
                          const char *ts, ls_err *err) {
    s3_req rq = {.op = "put", .method = "PUT", .objkey = objkey, .body = data, .body_len = len,
                 .has_body = true, .meta_ts = ts, .storage_class = true, .sse_c = true,
                 .sse_kms = true};
    s3_resp rs;
    ls_code rc = s3_exec(s, &rq, &rs, err);
    if (rc != LS_OK) return rc;
    bool etag = rs.etag[0] != '\0';
    resp_free(&rs);
    if (!etag) return ls_err_set(err, LS_ERR_NETWORK, "PutObject response has no ETag (%s)", s->endpoint_disp);
    return LS_OK;
}

typedef struct mp_buf {
    unsigned char *data;
    size_t len;
    int part;                /* part number being uploaded from it */
    struct mp_buf *next;
} mp_buf;

typedef struct mp_state {
    s3_storage *s;
    const char *objkey;
    char *upload_id;
    char *query_base;        /* "uploadId=<enc>" */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    mp_buf *ready;           /* FIFO of filled buffers */
    mp_buf *ready_tail;
    mp_buf *free_list;
    int nbufs;
    bool producer_done, failed;
    ls_err err;
    char (*etags)[160];      /* per part number (1-based index - 1) */
    int nparts;
} mp_state;

static void *mp_worker(void *arg) {
    mp_state *m = arg;
    for (;;) {
        pthread_mutex_lock(&m->mu);
        while (!m->ready && !m->producer_done && !m->failed) pthread_cond_wait(&m->cv, &m->mu);
        if (m->failed || (!m->ready && m->producer_done)) {
            pthread_mutex_unlock(&m->mu);
            return NULL;
        }
        mp_buf *b = m->ready;
        m->ready = b->next;
        if (!m->ready) m->ready_tail = NULL;
        pthread_mutex_unlock(&m->mu);

        char query[LS_S3_XML_VALUE_MAX * 3 + 64];
        snprintf(query, sizeof(query), "partNumber=%d&%s", b->part, m->query_base);
        s3_req rq = {.op = "upload part", .method = "PUT", .objkey = m->objkey, .query = query,
                     .body = b->data, .body_len = b->len, .has_body = true, .sse_c = true};
        s3_resp rs;
        ls_err e;
        ls_code rc = s3_exec(m->s, &rq, &rs, &e);
        if (rc == LS_OK && !rs.etag[0]) rc = ls_err_set(&e, LS_ERR_NETWORK, "UploadPart response has no ETag");
        pthread_mutex_lock(&m->mu);
        if (rc == LS_OK) {
            memcpy(m->etags[b->part - 1], rs.etag, sizeof(rs.etag));
        } else if (!m->failed) {
            m->failed = true;
            m->err = e;
            ls_err_wrap(&m->err, "part %d", b->part);
        }
        b->next = m->free_list;
        m->free_list = b;
        pthread_cond_broadcast(&m->cv);
        pthread_mutex_unlock(&m->mu);
        if (rc == LS_OK) resp_free(&rs);
    }
}

/* Fills b from src up to part_size; *eof when the source ended. */
static ls_code fill(ls_reader *src, unsigned char *buf, size_t cap, size_t *len, bool *eof, ls_err *err) {
    *len = 0;
    *eof = false;
    while (*len < cap) {
        size_t n = 0;
        ls_code rc = ls_read(src, buf + *len, cap - *len, &n, err);
        if (rc != LS_OK) return rc;
        if (n == 0) {
            *eof = true;
            break;
        }
        *len += n;
    }
    return LS_OK;
}

static void mp_abort(s3_storage *s, mp_state *m) {
    s3_req rq = {.op = "abort multipart upload", .method = "DELETE", .objkey = m->objkey,
                 .query = m->query_base};
    s3_resp rs;
    ls_err e;
    if (s3_exec(s, &rq, &rs, &e) == LS_OK) resp_free(&rs);
    else ls_warn("s3: abort multipart upload failed", "key", m->objkey, "error", e.msg);
}

static ls_code put_multipart(s3_storage *s, const char *objkey, unsigned char *first,
                             size_t first_len, ls_reader *src, const char *ts, ls_err *err) {
    mp_state m;
    memset(&m, 0, sizeof(m));
    m.s = s;
    m.objkey = objkey;
    /* create */
    s3_req cq = {.op = "create multipart upload", .method = "POST", .objkey = objkey,
                 .query = "uploads=", .has_body = true, .meta_ts = ts, .storage_class = true,
                 .sse_c = true, .sse_kms = true, .capture_body = true};
    s3_resp rs;
    ls_code rc = s3_exec(s, &cq, &rs, err);
    if (rc != LS_OK) {
        free(first);
        return rc;
    }
    rc = s3_parse_initiate(rs.body.p, rs.body.n, &m.upload_id, err);
    resp_free(&rs);
    if (rc != LS_OK) {
        free(first);
        return ls_err_wrap(err, "create multipart upload");
    }
    s3_buf qb = {0};
    if (!s3_buf_puts(&qb, "uploadId=") || !s3_uri_encode(&qb, m.upload_id, false)) {
        free(first);
        free(m.upload_id);
        s3_buf_free(&qb);
        return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
    }
    m.query_base = qb.p;
    pthread_mutex_init(&m.mu, NULL);
    pthread_cond_init(&m.cv, NULL);
    m.etags = calloc(MAX_PARTS, sizeof(*m.etags));
    int nworkers = s->concurrency > 0 ? s->concurrency : LS_S3_DEFAULT_CONCURRENCY;
    pthread_t *tids = calloc((size_t)nworkers, sizeof(*tids));
    mp_buf *first_b = calloc(1, sizeof(*first_b));
    int started = 0;
    if (!m.etags || !tids || !first_b) {
        free(first);
        free(first_b);
        rc = ls_err_set(err, LS_ERR_NOMEM, "out of memory");
        goto done;
    }
    first_b->data = first;
    first_b->len = first_len;
    first_b->part = 1;
    m.nbufs = 1;
    m.ready = m.ready_tail = first_b;
    m.nparts = 1;
    for (int i = 0; i < nworkers; i++) {
        if (pthread_create(&tids[i], NULL, mp_worker, &m) != 0) break;
        started++;
    }
    if (started == 0) {
        rc = ls_err_set(err, LS_ERR_INTERNAL, "cannot start upload threads");
        pthread_mutex_lock(&m.mu);
        m.failed = true;
        pthread_mutex_unlock(&m.mu);
    }
    /* producer */
    bool eof = false;
    while (rc == LS_OK && !eof) {
        pthread_mutex_lock(&m.mu);
        mp_buf *b = NULL;
        for (;;) {
            if (m.failed) break;
            if (m.free_list) {
                b = m.free_list;
                m.free_list = b->next;
                break;
            }
            if (m.nbufs < nworkers) {
                m.nbufs++;
                break; /* allocate below */
            }
            pthread_cond_wait(&m.cv, &m.mu);
        }
        bool failed = m.failed;
        pthread_mutex_unlock(&m.mu);
        if (failed) break;
        if (!b) {
            b = calloc(1, sizeof(*b));
            if (b) b->data = malloc((size_t)s->part_size);
            if (!b || !b->data) {
                if (b) free(b);
                rc = ls_err_set(err, LS_ERR_NOMEM, "out of memory (part buffer of %lld bytes)",
                                (long long)s->part_size);
                break;
            }
        }
        size_t n = 0;
        rc = fill(src, b->data, (size_t)s->part_size, &n, &eof, err);
        if (rc != LS_OK) ls_err_wrap(err, "read source");
        if (rc == LS_OK && n > 0 && m.nparts >= MAX_PARTS)
            rc = ls_err_set(err, LS_ERR_INVALID, "object needs more than %d parts of %lld bytes; raise part-size",
                            MAX_PARTS, (long long)s->part_size);
        pthread_mutex_lock(&m.mu);
        if (rc != LS_OK || n == 0) {
            b->next = m.free_list;
            m.free_list = b;
        } else {
            b->len = n;
            b->part = ++m.nparts;
            b->next = NULL;
            if (m.ready_tail) m.ready_tail->next = b;
            else m.ready = b;
            m.ready_tail = b;
            pthread_cond_broadcast(&m.cv);
        }
        pthread_mutex_unlock(&m.mu);
    }
    pthread_mutex_lock(&m.mu);
    m.producer_done = true;
    if (rc != LS_OK) m.failed = true;
    pthread_cond_broadcast(&m.cv);
    pthread_mutex_unlock(&m.mu);
    for (int i = 0; i < started; i++) pthread_join(tids[i], NULL);
    if (rc == LS_OK && m.failed) {
        if (err) *err = m.err;
        rc = m.err.code ? m.err.code : LS_ERR_NETWORK;
    }
    if (rc == LS_OK) {
        /* complete */
        s3_buf body = {0};
        bool ok = s3_buf_puts(&body, "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
        for (int i = 0; ok && i < m.nparts; i++) {
            ok = s3_buf_printf(&body, "<Part><PartNumber>%d</PartNumber><ETag>", i + 1) &&
                 s3_xml_escape(&body, m.etags[i]) && s3_buf_puts(&body, "</ETag></Part>");
        }
        ok = ok && s3_buf_puts(&body, "</CompleteMultipartUpload>");
        if (!ok) {
            rc = ls_err_set(err, LS_ERR_NOMEM, "out of memory");
        } else {
            int attempts = s->max_attempts > 0 ? s->max_attempts : LS_S3_DEFAULT_MAX_ATTEMPTS;
            for (int attempt = 1;; attempt++) {
                s3_req rq = {.op = "complete multipart upload", .method = "POST", .objkey = objkey,
                             .query = m.query_base, .body = body.p, .body_len = body.n,
                             .has_body = true, .content_type = "application/xml",
                             .capture_body = true};
                rc = s3_exec(s, &rq, &rs, err);
                if (rc != LS_OK) break;
                /* S3 may answer 200 with an <Error> document */
                char root[S3X_NAME_MAX + 1];
                ls_err xe;
                bool is_err = s3_xml_root(rs.body.p, rs.body.n, root, sizeof(root), &xe) == LS_OK &&
                              strcmp(root, "Error") == 0;
                if (!is_err) {
                    resp_free(&rs);
                    break;
                }
                s3_error_doc doc;
                s3_parse_error(rs.body.p, rs.body.n, &doc, NULL);
                resp_free(&rs);
                rc = ls_err_set(err, LS_ERR_NETWORK, "CompleteMultipartUpload failed: %s: %s", doc.code,
                                doc.message);
                if (!s3_retryable_status(500, doc.code) || attempt >= attempts) break;
                ls_storage_stat_add(&s->base.stats.retries, 1);
                sleep_ms(s3_backoff_ms(attempt, s->retry_base_ms, s->retry_max_ms, rnd01()));
            }
        }
        s3_buf_free(&body);
    }
done:
    if (rc != LS_OK) mp_abort(s, &m);
    /* free buffers */
    while (m.ready) {
        mp_buf *b = m.ready;
        m.ready = b->next;
        free(b->data);
        free(b);
    }
    while (m.free_list) {
        mp_buf *b = m.free_list;
        m.free_list = b->next;
        free(b->data);
        free(b);
    }
    pthread_mutex_destroy(&m.mu);
    pthread_cond_destroy(&m.cv);
    free(tids);
    free(m.etags);
    free(m.upload_id);
    free(m.query_base);
    return rc;
}

static ls_code s3_put(ls_storage *st, const char *key, ls_reader *src, const ls_put_opts *opts,
                      ls_err *err) {
    s3_storage *s = (s3_storage *)st;
    char *objkey = s3_object_key(s->path, key);
    if (!objkey) return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
    char ts[80];
    const char *tsp = NULL;
    if (opts && opts->created_at_ns != 0) {
        s3_format_timestamp(opts->created_at_ns, ts, sizeof(ts));
        tsp = ts;
    }
    /* Buffer up to one part: smaller objects go up in one PutObject. */
    size_t part = (size_t)s->part_size;
    size_t cap = part < 65536 ? part : 65536;
    if (opts && opts->size_hint >= 0 && (uint64_t)opts->size_hint < part) cap = (size_t)opts->size_hint + 1;
    unsigned char *buf = malloc(cap ? cap : 1);
    size_t len = 0;
    bool eof = false;
    ls_code rc = LS_OK;
    while (rc == LS_OK && buf) {
        if (len == cap) {
            if (cap >= part) break;
            size_t ncap = cap * 2 > part ? part : cap * 2;
            unsigned char *nb = realloc(buf, ncap);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap = ncap;
        }
        size_t n = 0;
        rc = ls_read(src, buf + len, cap - len, &n, err);
        if (rc != LS_OK) {
            ls_err_wrap(err, "read source");
            break;
        }
        if (n == 0) {
            eof = true;
            break;
        }
        len += n;
    }
    if (!buf) {
        free(objkey);
        return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
    }
    if (rc == LS_OK) {
        if (eof) {
            rc = put_single(s, objkey, buf, len, tsp, err);
            free(buf);
        } else {
            rc = put_multipart(s, objkey, buf, len, src, tsp, err); /* takes buf */
        }
    } else {
        free(buf);
    }
    free(objkey);
    return rc;
}

/* ------------------------------------------------------------------ get -- */

typedef struct s3_get_reader {
    ls_reader base;
    s3_storage *s;
    slot *sl;
    char *objkey;
    char *url;
    struct curl_slist *hdrs;
    uint64_t pos;            /* absolute offset of the next byte to deliver */
    uint64_t end;            /* absolute end (exclusive) or UINT64_MAX */
    uint64_t skip;           /* bytes to drop (server ignored the range) */
    char etag[160];
    /* transfer */
    bool active, done, paused;
    CURLcode result;
    s3_resp rs;
    unsigned char *buf;
    size_t head, tail;
    char errbuf[CURL_ERROR_SIZE];
    int failures;            /* consecutive failed attempts */
} s3_get_reader;

static size_t get_body_cb(char *data, size_t size, size_t nitems, void *ud) {
    s3_get_reader *g = ud;
    size_t n = size * nitems;
    long st = g->rs.status;
    if (!(st >= 200 && st < 300)) {
        if (!s3_buf_append(&g->rs.body, data, n)) return n;
        return n;
    }
    size_t d = 0;
    if (st == 200 && g->skip > 0) d = n < g->skip ? n : (size_t)g->skip;
    size_t keep = n - d;
    if (g->tail + keep > GET_BUF_CAP && g->head > 0) {
        memmove(g->buf, g->buf + g->head, g->tail - g->head);
        g->tail -= g->head;
        g->head = 0;
    }
    if (g->tail + keep > GET_BUF_CAP) {
        g->paused = true;
        return CURL_WRITEFUNC_PAUSE; /* redelivered after the buffer drained */
    }
    g->skip -= d;
    memcpy(g->buf + g->tail, data + d, keep);
    g->tail += keep;
    return n;
}

static ls_code get_start(s3_get_reader *g, ls_err *err) {
    s3_storage *s = g->s;
    char range[96];
    if (g->end == UINT64_MAX) snprintf(range, sizeof(range), "bytes=%llu-", (unsigned long long)g->pos);
    else
        snprintf(range, sizeof(range), "bytes=%llu-%llu", (unsigned long long)g->pos,
                 (unsigned long long)(g->end - 1));
    s3_req rq = {.op = "get", .method = "GET", .objkey = g->objkey, .range = range,
                 .if_match = g->etag[0] ? g->etag : NULL, .sse_c = true};
    curl_slist_free_all(g->hdrs);
    g->hdrs = build_headers(s, &rq, EMPTY_SHA256);
    if (!g->hdrs) return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
    resp_reset(&g->rs, ERR_BODY_LIMIT);
    g->head = g->tail = 0;
    g->skip = 0;
    g->done = g->paused = false;
    g->result = CURLE_OK;
    g->errbuf[0] = '\0';
    ls_code rc = setup_easy(s, g->sl, &rq, g->url, g->hdrs, g->errbuf, err);
    if (rc != LS_OK) return rc;
    CURL *e = g->sl->easy;
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, hdr_cb);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &g->rs);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, get_body_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, g);
    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, (long)GET_CURL_BUFSIZE);
    if (curl_multi_add_handle(g->sl->multi, e) != CURLM_OK)
        return ls_err_set(err, LS_ERR_INTERNAL, "s3: cannot start transfer");
    g->active = true;
    return LS_OK;
}

static void get_stop(s3_get_reader *g) {
    if (g->active) {
        curl_multi_remove_handle(g->sl->multi, g->sl->easy);
        g->active = false;
    }
}

/* Drives the transfer once (waiting up to 1 s for activity). */
static void get_pump(s3_get_reader *g) {
    if (!g->active || g->done) return;
    if (g->paused) {
        g->paused = false;
        curl_easy_pause(g->sl->easy, CURLPAUSE_CONT);
    }
    int running = 0;
    CURLMcode mc = curl_multi_perform(g->sl->multi, &running);
    if (mc != CURLM_OK) {
        g->done = true;
        g->result = CURLE_RECV_ERROR;
        return;
    }
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(g->sl->multi, &left))) {
        if (m->msg == CURLMSG_DONE && m->easy_handle == g->sl->easy) {
            g->done = true;
            g->result = m->data.result;
        }
    }
    if (g->done || g->tail > g->head || g->paused) return;
    if (!running) {
        g->done = true;
        g->result = CURLE_RECV_ERROR;
        return;
    }
    curl_multi_poll(g->sl->multi, NULL, 0, 1000, NULL);
}

/* Parses the total size from "bytes STAR/SIZE" (416 answer); -1 if absent. */
static int64_t range_total(const char *cr) {
    const char *slash = strrchr(cr, '/');
    if (!slash || !slash[1] || slash[1] == '*') return -1;
    char *e;
    long long v = strtoll(slash + 1, &e, 10);
    return (*e || v < 0) ? -1 : v;
}

/* Opens (or re-opens) the transfer and waits for the response headers.
 * Retries transient failures. On success the reader is streaming (or done
 * with an empty body). */
static ls_code get_open(s3_get_reader *g, ls_err *err) {
    s3_storage *s = g->s;
    int attempts = s->max_attempts > 0 ? s->max_attempts : LS_S3_DEFAULT_MAX_ATTEMPTS;
    for (;;) {
        ls_code rc = get_start(g, err);
        if (rc != LS_OK) return rc;
        while (!g->done && !g->rs.headers_done) get_pump(g);
        bool retry = false;
        if (g->rs.headers_done && g->rs.status >= 200 && g->rs.status < 300) {
            if (g->rs.status == 200 && g->pos > 0) g->skip = g->pos; /* range ignored */
            if (!g->etag[0] && g->rs.etag[0]) memcpy(g->etag, g->rs.etag, sizeof(g->etag));
            return LS_OK;
        }
        if (g->rs.headers_done) {
            /* error response: read its (small) body */
            while (!g->done) get_pump(g);
            get_stop(g);
            if (g->rs.status == 416) {
                int64_t total = range_total(g->rs.content_range);
                if (total >= 0 && (uint64_t)total == g->pos) {
                    g->done = true;
                    g->result = CURLE_OK;
                    g->end = g->pos; /* empty */
                    return LS_OK;
                }
                return ls_err_set(err, LS_ERR_INVALID, "offset %llu is beyond the end of the object (%lld bytes)",
                                  (unsigned long long)g->pos, (long long)total);
            }
            s3_req rq = {.op = "get", .method = "GET", .objkey = g->objkey};
            rc = http_error(s, &rq, &g->rs, err);
            s3_error_doc doc;
            memset(&doc, 0, sizeof(doc));
            if (g->rs.body.n) s3_parse_error(g->rs.body.p, g->rs.body.n, &doc, NULL);
            retry = s3_retryable_status(g->rs.status, doc.code);
        } else {
            get_stop(g);
            rc = curl_error(err, g->result == CURLE_OK ? CURLE_GOT_NOTHING : g->result, g->errbuf, s);
            retry = curl_retryable(g->result == CURLE_OK ? CURLE_GOT_NOTHING : g->result);
        }
        g->failures++;
        if (!retry) return rc;
        if (g->failures >= attempts) return ls_err_wrap(err, "after %d attempts", g->failures);
        ls_storage_stat_add(&s->base.stats.retries, 1);
        sleep_ms(s3_backoff_ms(g->failures, s->retry_base_ms, s->retry_max_ms, rnd01()));
    }
}

static ls_code get_read(ls_reader *r, void *out, size_t len, size_t *nread, ls_err *err) {
    s3_get_reader *g = (s3_get_reader *)r;
    *nread = 0;
    if (len == 0) return LS_OK;
    for (;;) {
        if (g->pos >= g->end) {
            get_stop(g);
            return LS_OK; /* EOF */
        }
        if (g->tail > g->head) {
            size_t n = g->tail - g->head;
            if (n > len) n = len;
            if ((uint64_t)n > g->end - g->pos) n = (size_t)(g->end - g->pos);
            memcpy(out, g->buf + g->head, n);
            g->head += n;
            g->pos += n;
            *nread = n;
            g->failures = 0;
            return LS_OK;
        }
        if (!g->done) {
            get_pump(g);
            continue;
        }
        /* transfer finished and the buffer is empty */
        get_stop(g);
        bool complete_ok = g->result == CURLE_OK;
        if (complete_ok && g->end == UINT64_MAX) return LS_OK; /* EOF of an open-ended range */
        /* broken or short body: resume at pos */
        s3_storage *s = g->s;
        int attempts = s->max_attempts > 0 ? s->max_attempts : LS_S3_DEFAULT_MAX_ATTEMPTS;
        ls_err e;
        if (complete_ok) ls_err_set(&e, LS_ERR_NETWORK, "body ended early at byte %llu", (unsigned long long)g->pos);
        else curl_error(&e, g->result, g->errbuf, s);
        if (!complete_ok && !curl_retryable(g->result)) {
            if (err) *err = e;
            return e.code;
        }
        g->failures++;
        if (g->failures >= attempts) {
            if (err) *err = e;
            return ls_err_wrap(err, "after %d attempts", g->failures);
        }
        ls_debug("s3 get interrupted, resuming", "key", g->objkey, "offset", LS_INT(g->pos), "error", e.msg);
        ls_storage_stat_add(&s->base.stats.retries, 1);
        sleep_ms(s3_backoff_ms(g->failures, s->retry_base_ms, s->retry_max_ms, rnd01()));
        ls_code rc = get_open(g, err);
        if (rc != LS_OK) return rc;
    }
}

static void get_close(ls_reader *r) {
    s3_get_reader *g = (s3_get_reader *)r;
    bool broken = g->active && !g->done;
    get_stop(g);
    slot_put(g->s, g->sl, broken);
    curl_slist_free_all(g->hdrs);
    resp_free(&g->rs);
    free(g->buf);
    free(g->url);
    free(g->objkey);
    free(g);
}

static ls_code s3_get(ls_storage *st, const char *key, uint64_t off, uint64_t len, ls_reader **out,
                      ls_err *err) {
    s3_storage *s = (s3_storage *)st;
    *out = NULL;
    ls_code rc = ensure_region(s, err);
    if (rc != LS_OK) return rc;
    s3_get_reader *g = calloc(1, sizeof(*g));
    if (!g) return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
    g->base.read = get_read;
    g->base.close = get_close;
    g->s = s;
    g->pos = off;
    g->end = len == LS_STORAGE_TO_END ? UINT64_MAX : off + len;
    g->objkey = s3_object_key(s->path, key);
    g->url = g->objkey ? s3_build_url(&s->ep, s->url_bucket, s->path_style, g->objkey, NULL) : NULL;
    g->buf = malloc(GET_BUF_CAP);
    g->sl = slot_get(s);
    if (!g->objkey || !g->url || !g->buf || !g->sl) {
        get_close(&g->base);
        return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
    }
    if (len == 0) { /* nothing to read; no request */
        g->done = true;
        *out = &g->base;
        return LS_OK;
    }
    rc = get_open(g, err);
    if (rc != LS_OK) {
        get_close(&g->base);
        return rc;
    }
    *out = &g->base;
    return LS_OK;
}

/* ----------------------------------------------------------------- head -- */

static ls_code s3_head(ls_storage *st, const char *key, bool accurate, ls_object_info *out,
                       ls_err *err) {
    s3_storage *s = (s3_storage *)st;
    char *objkey = s3_object_key(s->path, key);
    if (!objkey) return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
    s3_req rq = {.op = "head", .method = "HEAD", .objkey = objkey, .sse_c = true};
    s3_resp rs;
    ls_code rc = s3_exec(s, &rq, &rs, err);
    free(objkey);
    if (rc != LS_OK) return rc;
    out->size = rs.content_length;
    out->created_at_ns = rs.last_modified_ns;
    if (accurate && rs.meta_ts[0]) {
        int64_t ns;
        if (ls_parse_rfc3339(rs.meta_ts, &ns, NULL) == LS_OK) out->created_at_ns = ns;
    }
    out->is_dir = false;
    resp_free(&rs);
    return LS_OK;
}

/* ----------------------------------------------------------------- list -- */

static ls_code s3_list(ls_storage *st, const char *prefix, char delimiter, ls_object_list *out,
                       ls_err *err) {
    s3_storage *s = (s3_storage *)st;
    char *root = s3_key_root(s->path, prefix);
    char *objprefix = root ? ls_strfmt("%s%s", root, prefix) : NULL;
    if (!objprefix) {
        free(root);
        return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
    }
    size_t rootlen = strlen(root);
    char *token = NULL;
    ls_code rc = LS_OK;
    for (int page = 0;; page++) {
        s3_buf q = {0};
        bool ok = true;
        if (token) ok = s3_buf_puts(&q, "continuation-token=") && s3_uri_encode(&q, token, false) &&
                        s3_buf_puts(&q, "&");
        if (delimiter) ok = ok && s3_buf_puts(&q, "delimiter=%2F&");
        ok = ok && s3_buf_puts(&q, "list-type=2&");
        if (s->list_max_keys > 0) ok = ok && s3_buf_printf(&q, "max-keys=%d&", s->list_max_keys);
        ok = ok && s3_buf_puts(&q, "prefix=") && s3_uri_encode(&q, objprefix, false);
        if (!ok) {
            s3_buf_free(&q);
            rc = ls_err_set(err, LS_ERR_NOMEM, "out of memory");
            break;
        }
        s3_req rq = {.op = "list", .method = "GET", .query = q.p, .capture_body = true};
        s3_resp rs;
        rc = s3_exec(s, &rq, &rs, err);
        s3_buf_free(&q);
        if (rc != LS_OK) break;
        s3_list_page pg;
        rc = s3_parse_list(rs.body.p, rs.body.n, &pg, err);
        resp_free(&rs);
        if (rc != LS_OK) {
            ls_err_wrap(err, "ListObjectsV2 response (page %d)", page + 1);
            break;
        }
        for (size_t i = 0; i < pg.n && rc == LS_OK; i++) {
            const s3_list_entry *e = &pg.items[i];
            if (strncmp(e->key, root, rootlen) != 0) continue;
            const char *rel = e->key + rootlen;
            if (!*rel) continue;
            if (ls_storage_key_check(rel, e->is_prefix, NULL) != LS_OK) continue;
            rc = ls_object_list_push(out, rel, e->is_prefix ? -1 : e->size, e->mtime_ns, e->is_prefix, err);
        }
        free(token);
        token = NULL;
        if (rc == LS_OK && pg.truncated) {
            if (!pg.next_token || !pg.next_token[0]) {
                rc = ls_err_set(err, LS_ERR_FORMAT, "truncated list response without a continuation token");
            } else {
                token = pg.next_token;
                pg.next_token = NULL;
            }
        }
        s3_list_page_free(&pg);
        if (rc != LS_OK || !token) break;
    }
    free(token);
    free(root);
    free(objprefix);
    return rc;
}

/* --------------------------------------------------------------- delete -- */

typedef struct {
    int nerr;
    char first[5][300];
} del_ctx;

static void del_error(void *ctx, const char *key, const char *code, const char *msg) {
    del_ctx *d = ctx;
    if (strcmp(code, "NoSuchKey") == 0) return;
    if (d->nerr < 5) {
        snprintf(d->first[d->nerr], sizeof(d->first[0]), "%s: %s%s%s", key, code, msg[0] ? " " : "", msg);
        ls_error("s3: delete failed", "key", key, "code", code, "message", msg);
    }
    d->nerr++;
}

static ls_code s3_del(ls_storage *st, const char *const *keys, size_t n, ls_err *err) {
    s3_storage *s = (s3_storage *)st;
    ls_code rc = LS_OK;
    for (size_t off = 0; off < n && rc == LS_OK; off += DELETE_BATCH) {
        size_t cnt = n - off < DELETE_BATCH ? n - off : DELETE_BATCH;
        s3_buf body = {0};
        bool ok = s3_buf_puts(&body, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
                                     "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
        for (size_t i = 0; ok && i < cnt; i++) {
            char *ok_key = s3_object_key(s->path, keys[off + i]);
            ok = ok_key && s3_buf_puts(&body, "<Object><Key>") && s3_xml_escape(&body, ok_key) &&
                 s3_buf_puts(&body, "</Key></Object>");
            free(ok_key);
        }
        ok = ok && s3_buf_puts(&body, "<Quiet>false</Quiet></Delete>");
        if (!ok) {
            s3_buf_free(&body);
            return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
        }
        char md5[25];
        if (s->req_md5) s3_md5_base64(body.p, body.n, md5);
        s3_req rq = {.op = "delete", .method = "POST", .query = "delete=", .body = body.p,
                     .body_len = body.n, .has_body = true, .content_type = "application/xml",
                     .content_md5 = s->req_md5 ? md5 : NULL, .capture_body = true};
        s3_resp rs;
        rc = s3_exec(s, &rq, &rs, err);
        s3_buf_free(&body);
        if (rc != LS_OK) break;
        del_ctx d;
        memset(&d, 0, sizeof(d));
        size_t ndel = 0;
        rc = s3_parse_delete_result(rs.body.p, rs.body.n, del_error, &d, &ndel, err);
        resp_free(&rs);
        if (rc != LS_OK) {
            ls_err_wrap(err, "DeleteObjects response");
            break;
        }
        if (d.nerr > 0)
            rc = ls_err_set(err, LS_ERR_NETWORK, "%d of %zu keys not deleted (first: %s)", d.nerr, cnt,
                            d.first[0]);
    }
    return rc;
}

/* ---------------------------------------------------------------- close -- */

static void s3_close(ls_storage *st) {
    s3_storage *s = (s3_storage *)st;
    if (!s) return;
    ls_storage_stats stats;
    ls_storage_stats_get(st, &stats);
    ls_debug("s3 client closed", "bucket", s->bucket ? s->bucket : "", "puts", LS_INT(stats.puts), "gets",
             LS_INT(stats.gets), "lists", LS_INT(stats.lists), "deletes", LS_INT(stats.deletes), "heads",
             LS_INT(stats.heads), "retries", LS_INT(stats.retries), "errors", LS_INT(stats.errors));
    while (s->idle) {
        slot *sl = s->idle;
        s->idle = sl->next;
        slot_free(sl);
    }
    if (s->share) curl_share_cleanup(s->share);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++) pthread_mutex_destroy(&s->share_mu[i]);
    pthread_mutex_destroy(&s->mu);
    free(s->base.url);
    free(s->bucket);
    free(s->url_bucket);
    free(s->path);
    free(s->region);
    if (s->secret_key) memset(s->secret_key, 0, strlen(s->secret_key));
    free(s->access_key);
    free(s->secret_key);
    free(s->session_token);
    free(s->storage_class);
    free(s->sse_alg);
    if (s->sse_key) memset(s->sse_key, 0, strlen(s->sse_key));
    free(s->sse_key);
    free(s->sse_key_md5);
    free(s->sse_kms);
    free(s->noproxy);
    free(s);
}

static const ls_storage_ops s3_ops = {
    .put = s3_put, .get = s3_get, .head = s3_head, .list = s3_list, .del = s3_del, .close = s3_close,
};

/* ----------------------------------------------------------------- open -- */

void ls_s3_opts_defaults(ls_s3_opts *o) {
    memset(o, 0, sizeof(*o));
    o->sign_payload = true;
    o->require_content_md5 = true;
}

static const char *env_nonempty(const char *name) {
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

static int64_t env_int(const char *name, int64_t def) {
    const char *v = env_nonempty(name);
    if (!v) return def;
    char *e;
    long long x = strtoll(v, &e, 10);
    if (*e || x < 0) return def;
    return x;
}

/* Shared credentials file (INI): [profile] aws_access_key_id = ... */
static void load_credentials_file(s3_storage *s) {
    const char *file = env_nonempty("AWS_SHARED_CREDENTIALS_FILE");
    char *path = NULL;
    if (file) path = ls_strdup(file);
    else if (env_nonempty("HOME")) path = ls_strfmt("%s/.aws/credentials", getenv("HOME"));
    if (!path) return;
    const char *profile = env_nonempty("AWS_PROFILE");
    if (!profile) profile = "default";
    char *data = NULL;
    size_t len = 0;
    if (ls_read_file(path, 1 << 20, &data, &len, NULL) != LS_OK) {
        free(path);
        return;
    }
    free(path);
    bool in = false;
    char *ak = NULL, *sk = NULL, *tok = NULL;
    char *save = NULL;
    for (char *line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        while (*line == ' ' || *line == '\t') line++;
        size_t l = strlen(line);
        while (l > 0 && (line[l - 1] == '\r' || line[l - 1] == ' ' || line[l - 1] == '\t')) line[--l] = '\0';
        if (!*line || *line == '#' || *line == ';') continue;
        if (*line == '[') {
            char *rb = strchr(line, ']');
            if (rb) *rb = '\0';
            char *name = line + 1;
            while (*name == ' ') name++;
            size_t nl = strlen(name);
            while (nl > 0 && name[nl - 1] == ' ') name[--nl] = '\0';
            in = strcmp(name, profile) == 0;
            continue;
        }
        if (!in) continue;
        char *eq = strchr(line, '=');
        if (!eq) continue;
        *eq = '\0';
        char *k = line, *v = eq + 1;
        size_t kl = strlen(k);
        while (kl > 0 && (k[kl - 1] == ' ' || k[kl - 1] == '\t')) k[--kl] = '\0';
        while (*v == ' ' || *v == '\t') v++;
        char **dst = strcmp(k, "aws_access_key_id") == 0       ? &ak
                     : strcmp(k, "aws_secret_access_key") == 0 ? &sk
                     : strcmp(k, "aws_session_token") == 0     ? &tok
                                                               : NULL;
        if (dst && *v) {
            free(*dst);
            *dst = ls_strdup(v);
        }
    }
    if (ak && sk) {
        s->access_key = ak;
        s->secret_key = sk;
        s->session_token = tok;
        ak = sk = tok = NULL;
    }
    free(ak);
    if (sk) memset(sk, 0, strlen(sk));
    free(sk);
    free(tok);
    memset(data, 0, len);
    free(data);
}

static bool dns_compatible_bucket(const char *b) {
    size_t n = strlen(b);
    if (n < 3 || n > 63) return false;
    for (const char *p = b; *p; p++)
        if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '-')) return false;
    return b[0] != '-' && b[n - 1] != '-';
}

static bool str_ok(const char *v, bool *oom, char **dst) {
    if (!v) return true;
    *dst = strdup(v);
    if (!*dst) *oom = true;
    return *dst != NULL;
}

ls_code ls_storage_s3_open(const ls_s3_opts *o, ls_storage **out, ls_err *err) {
    *out = NULL;
    if (!o || !o->bucket || !*o->bucket) return ls_err_set(err, LS_ERR_CONFIG, "bucket required for s3 replica");
    ls_code lrc = ls_curl_load("S3 replica", err);
    if (lrc == LS_OK) lrc = ls_crypto_load("S3 replica", err);
    if (lrc != LS_OK) return lrc;
    pthread_once(&g_curl_once, curl_init_once);
    if (g_curl_init_rc != CURLE_OK)
        return ls_err_set(err, LS_ERR_INTERNAL, "s3: libcurl initialisation failed: %s",
                          curl_easy_strerror(g_curl_init_rc));
    curl_version_info_data *vi = curl_version_info(CURLVERSION_NOW);
    if (vi && vi->version_num < 0x074b00)
        return ls_err_set(err, LS_ERR_UNSUPPORTED, "s3: libcurl %s is too old (AWS SigV4 needs 7.75 or later)",
                          vi->version);
    if (o->part_size != 0 && o->part_size < LS_S3_DEFAULT_PART_SIZE)
        return ls_err_set(err, LS_ERR_CONFIG, "s3: part-size must be at least 5MiB (5242880 bytes), got %lld",
                          (long long)o->part_size);
    if (o->part_size > INT64_C(5) * 1024 * 1024 * 1024)
        return ls_err_set(err, LS_ERR_CONFIG, "s3: part-size must be at most 5GiB, got %lld",
                          (long long)o->part_size);
    if (o->concurrency < 0 || o->concurrency > 1000)
        return ls_err_set(err, LS_ERR_CONFIG, "s3: concurrency must be between 1 and 1000, got %lld",
                          (long long)o->concurrency);
    if ((o->sse_customer_key && *o->sse_customer_key) && (o->sse_kms_key_id && *o->sse_kms_key_id))
        return ls_err_set(err, LS_ERR_CONFIG, "s3: SSE-C and SSE-KMS are mutually exclusive");

    s3_storage *s = calloc(1, sizeof(*s));
    if (!s) return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
    s->base.ops = &s3_ops;
    s->base.type = "s3";
    s->base.layout = LS_LTX_LAYOUT_HEX4;
    s->base.list_times_accurate = false;
    pthread_mutex_init(&s->mu, NULL);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++) pthread_mutex_init(&s->share_mu[i], NULL);
    ls_code rc = LS_OK;
    bool oom = false;
    str_ok(o->bucket, &oom, &s->bucket);
    s->path = strdup(o->path ? o->path : "");
    if (!s->path) oom = true;
    str_ok(o->region && *o->region ? o->region : NULL, &oom, &s->region);
    str_ok(o->storage_class && *o->storage_class ? o->storage_class : NULL, &oom, &s->storage_class);
    str_ok(o->sse_kms_key_id && *o->sse_kms_key_id ? o->sse_kms_key_id : NULL, &oom, &s->sse_kms);
    if (oom) {
        rc = ls_err_set(err, LS_ERR_NOMEM, "out of memory");
        goto fail;
    }
    s->skip_verify = o->skip_verify;
    s->sign_payload = o->sign_payload;
    s->req_md5 = o->require_content_md5;
    s->part_size = o->part_size > 0 ? o->part_size : LS_S3_DEFAULT_PART_SIZE;
    s->concurrency = o->concurrency > 0 ? (int)o->concurrency : LS_S3_DEFAULT_CONCURRENCY;
    s->max_attempts = (int)env_int("LITESTREAM_S3_MAX_ATTEMPTS", o->max_attempts > 0 ? o->max_attempts
                                                                                      : LS_S3_DEFAULT_MAX_ATTEMPTS);
    if (s->max_attempts < 1) s->max_attempts = 1;
    s->retry_base_ms = env_int("LITESTREAM_S3_RETRY_BASE_MS", o->retry_base_ms > 0 ? o->retry_base_ms : 100);
    s->retry_max_ms = env_int("LITESTREAM_S3_RETRY_MAX_MS", o->retry_max_ms > 0 ? o->retry_max_ms : 20000);
    s->stall_ms = env_int("LITESTREAM_S3_STALL_TIMEOUT_MS", o->stall_timeout_ms > 0 ? o->stall_timeout_ms : 60000);
    s->connect_ms = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 30000;
    s->list_max_keys = (int)env_int("LITESTREAM_S3_LIST_MAX_KEYS", o->list_max_keys);
    if (s->list_max_keys > 1000) s->list_max_keys = 1000;
    const char *dbg = env_nonempty("LITESTREAM_S3_DEBUG");
    s->verbose = dbg && (strstr(dbg, "request") || strstr(dbg, "all") || strstr(dbg, "signing"));

    /* credentials */
    if (o->access_key_id && *o->access_key_id && o->secret_access_key && *o->secret_access_key) {
        s->access_key = strdup(o->access_key_id);
        s->secret_key = strdup(o->secret_access_key);
        if (o->session_token && *o->session_token) s->session_token = strdup(o->session_token);
    } else if (env_nonempty("AWS_ACCESS_KEY_ID") && env_nonempty("AWS_SECRET_ACCESS_KEY")) {
        s->access_key = strdup(getenv("AWS_ACCESS_KEY_ID"));
        s->secret_key = strdup(getenv("AWS_SECRET_ACCESS_KEY"));
        if (env_nonempty("AWS_SESSION_TOKEN")) s->session_token = strdup(getenv("AWS_SESSION_TOKEN"));
    } else if (env_nonempty("LITESTREAM_ACCESS_KEY_ID") && env_nonempty("LITESTREAM_SECRET_ACCESS_KEY")) {
        s->access_key = strdup(getenv("LITESTREAM_ACCESS_KEY_ID"));
        s->secret_key = strdup(getenv("LITESTREAM_SECRET_ACCESS_KEY"));
    } else {
        load_credentials_file(s);
    }
    if ((s->access_key == NULL) != (s->secret_key == NULL)) {
        rc = ls_err_set(err, LS_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if (s->access_key && (strchr(s->access_key, '\n') || strchr(s->access_key, '\r') ||
                          strchr(s->secret_key, '\n') || strchr(s->secret_key, '\r'))) {
        rc = ls_err_set(err, LS_ERR_CONFIG, "s3: credentials contain a line break");
        goto fail;
    }

    /* SSE-C */
    if (o->sse_customer_key && *o->sse_customer_key) {
        unsigned char raw[64];
        long kl = s3_base64_decode(o->sse_customer_key, raw, sizeof(raw));
        if (kl != 32) {
            rc = ls_err_set(err, LS_ERR_CONFIG, "s3: sse-customer-key must be the base64 encoding of a 32-byte key");
            goto fail;
        }
        char md5[25];
        s3_md5_base64(raw, 32, md5);
        memset(raw, 0, sizeof(raw));
        s->sse_key = strdup(o->sse_customer_key);
        s->sse_key_md5 = strdup(md5);
        s->sse_alg = strdup(o->sse_customer_algorithm && *o->sse_customer_algorithm ? o->sse_customer_algorithm
                                                                                    : "AES256");
        if (!s->sse_key || !s->sse_key_md5 || !s->sse_alg) {
            rc = ls_err_set(err, LS_ERR_NOMEM, "out of memory");
            goto fail;
        }
    }
    if ((s->sse_key || s->sse_kms) && vi && vi->version_num < 0x080a00)
        ls_warn("s3: libcurl before 8.10 orders the SSE headers wrongly when signing; AWS may answer "
                "SignatureDoesNotMatch (see docs/s3.md)",
                "libcurl", vi->version);

    /* addressing */
    char ap_name[128], ap_account[64], ap_region[64];
    bool access_point = s3_parse_access_point(s->bucket, ap_name, sizeof(ap_name), ap_account,
                                              sizeof(ap_account), ap_region, sizeof(ap_region));
    if (o->endpoint && *o->endpoint) {
        rc = s3_parse_endpoint(o->endpoint, &s->ep, err);
        if (rc != LS_OK) goto fail;
        s->have_endpoint = true;
        s->path_style = o->force_path_style;
        /* an endpoint without a region: us-east-1, never a lookup (14.2) */
        if (!s->region && !(s->region = strdup(access_point ? ap_region : "us-east-1"))) {
            rc = ls_err_set(err, LS_ERR_NOMEM, "out of memory");
            goto fail;
        }
        s->url_bucket = strdup(s->bucket);
        if (s->ep.port)
            snprintf(s->endpoint_disp, sizeof(s->endpoint_disp), "%s://%s:%d%s", s->ep.https ? "https" : "http",
                     s->ep.host, s->ep.port, s->ep.base);
        else
            snprintf(s->endpoint_disp, sizeof(s->endpoint_disp), "%s://%s%s", s->ep.https ? "https" : "http",
                     s->ep.host, s->ep.base);
        s->tigris = strcmp(s->ep.host, "fly.storage.tigris.dev") == 0 || strcmp(s->ep.host, "t3.storage.dev") == 0;
        if (s3_host_is_loopback(s->ep.host)) s->noproxy = strdup("*");
    } else if (access_point) {
        if (!s->region && !(s->region = strdup(ap_region))) {
            rc = ls_err_set(err, LS_ERR_NOMEM, "out of memory");
            goto fail;
        }
        s->ep.https = true;
        snprintf(s->ep.host, sizeof(s->ep.host), "%s-%s.s3-accesspoint.%s.amazonaws.com", ap_name, ap_account,
                 s->region);
        s->url_bucket = NULL; /* virtual-hosted by the access point host */
        s->path_style = true;
        snprintf(s->endpoint_disp, sizeof(s->endpoint_disp), "https://%s", s->ep.host);
    } else {
        s->ep.https = true;
        s->path_style = o->force_path_style || !dns_compatible_bucket(s->bucket);
        s->url_bucket = strdup(s->bucket);
        if (s->region) {
            snprintf(s->ep.host, sizeof(s->ep.host), "s3.%s.amazonaws.com", s->region);
            snprintf(s->endpoint_disp, sizeof(s->endpoint_disp), "https://%s", s->ep.host);
        } else {
            snprintf(s->endpoint_disp, sizeof(s->endpoint_disp), "https://s3.amazonaws.com");
        }
    }
    if (access_point && s->url_bucket) {
        /* access point through a custom endpoint: path style with the ARN
         * is not meaningful; use the name */
        free(s->url_bucket);
        s->url_bucket = strdup(ap_name);
    }
    if ((s->url_bucket == NULL && !access_point) ||
        (s->access_key && !s->secret_key) || (s->have_endpoint && s3_host_is_loopback(s->ep.host) && !s->noproxy)) {
        rc = ls_err_set(err, LS_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if (strspn(s->url_bucket ? s->url_bucket : "x", "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") !=
        strlen(s->url_bucket ? s->url_bucket : "x")) {
        rc = ls_err_set(err, LS_ERR_CONFIG, "s3: invalid bucket name \"%s\"", s->bucket);
        goto fail;
    }

    s->share = curl_share_init();
    if (!s->share) {
        rc = ls_err_set(err, LS_ERR_NOMEM, "out of memory");
        goto fail;
    }
    curl_share_setopt(s->share, CURLSHOPT_LOCKFUNC, share_lock);
    curl_share_setopt(s->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
    curl_share_setopt(s->share, CURLSHOPT_USERDATA, s);
    curl_share_setopt(s->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(s->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);

    s->base.url = o->display_url ? strdup(o->display_url)
                                 : ls_strfmt("s3://%s/%s", s->bucket, s->path);
    if (!s->base.url) {
        rc = ls_err_set(err, LS_ERR_NOMEM, "out of memory");
        goto fail;
    }
    *out = &s->base;
    return LS_OK;
fail:
    s3_close(&s->base);
    return rc;
}
