/*
 * mcp/http.c — MCP over HTTP with libmicrohttpd (one thread per connection,
 * so a handler may block; long tool calls never stall other clients).
 *
 * Routes (every request first passes the Host / Origin checks -> 403 and,
 * with a token, the bearer check -> 401):
 *   POST   /, /mcp            Streamable HTTP: JSON-RPC message or batch;
 *                             200 application/json, or text/event-stream
 *                             for a tools/call with a progress token; 202
 *                             for notifications only.
 *   GET    /, /mcp            with Mcp-Session-Id: 405 (no server stream);
 *                             without, Accept: text/event-stream: legacy
 *                             HTTP+SSE stream (as GET /sse).
 *   DELETE /, /mcp            ends the session (200; unknown -> 404).
 *   GET    /sse               legacy stream; first event "endpoint" with
 *                             /messages?sessionId=<id>.
 *   POST   /messages          legacy: 202 "Accepted", answers on the stream.
 *   GET    /mcp/tools         REST: tools with schemas.
 *   GET|POST /mcp/tools/NAME  REST: run a tool (query parameters or a JSON
 *                             object body as arguments) -> its JSON result;
 *                             errors {"error","code"} with a matching status.
 *   /.well-known/oauth-*      404 (no OAuth: clients then report auth errors).
 *
 * Sessions: initialize creates one (Mcp-Session-Id); requests without the
 * header are served statelessly (version from MCP-Protocol-Version, else
 * 2025-03-26); an unknown id -> 404. Bodies over LS_MCP_MAX_MESSAGE -> 413.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mcp/mcp_internal.h"
#include "util/dynlib.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/timeutil.h"

#define KEEPALIVE_NS (15 * LS_NS_PER_SEC)

typedef struct stream stream;

struct ls_mcp_http {
    ls_mcp *m;
    struct MHD_Daemon *d;
    int port;
    char host[256];
    char **allowed;               /* extra allowed Host names */
    size_t nallowed;
    unsigned char token_hash[32];
    bool has_token;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int workers;
    stream *streams;
    atomic_bool stopping;
};

/* ---- SSE streams ------------------------------------------------------ */

struct stream {
    ls_mcp_http *h;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char *buf;
    size_t len, off, cap;
    bool done;                    /* producer finished */
    bool closed;                  /* MHD dropped the response */
    int refs;
    ls_mcp_session *session;      /* legacy stream: its session (reference) */
    stream *next;
};

static stream *stream_new(ls_mcp_http *h) {
    stream *s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    s->h = h;
    s->refs = 1;
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_lock(&h->mu);
    s->next = h->streams;
    h->streams = s;
    pthread_mutex_unlock(&h->mu);
    return s;
}

static void stream_put(stream *s) {
    pthread_mutex_lock(&s->mu);
    bool last = --s->refs == 0;
    pthread_mutex_unlock(&s->mu);
    if (!last) return;
    ls_mcp_http *h = s->h;
    pthread_mutex_lock(&h->mu);
    for (stream **p = &h->streams; *p; p = &(*p)->next)
        if (*p == s) {
            *p = s->next;
            break;
        }
    pthread_mutex_unlock(&h->mu);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s->buf);
    free(s);
}

static bool stream_write(stream *s, const char *a, const char *b, const char *c) {
    pthread_mutex_lock(&s->mu);
    if (s->closed) {
        pthread_mutex_unlock(&s->mu);
        return false;
    }
    size_t la = strlen(a), lb = b ? strlen(b) : 0, lc = c ? strlen(c) : 0;
    size_t need = s->len - s->off + la + lb + lc + 1;
    if (s->off) { /* compact */
        memmove(s->buf, s->buf + s->off, s->len - s->off);
        s->len -= s->off;
        s->off = 0;
    }
    if (need > s->cap) {
        size_t nc = s->cap ? s->cap : 4096;
        while (nc < need) nc *= 2;
        char *nb = realloc(s->buf, nc);
        if (!nb) {
            pthread_mutex_unlock(&s->mu);
            return false;
        }
        s->buf = nb;
        s->cap = nc;
    }
    memcpy(s->buf + s->len, a, la);
    s->len += la;
    if (lb) memcpy(s->buf + s->len, b, lb);
    s->len += lb;
    if (lc) memcpy(s->buf + s->len, c, lc);
    s->len += lc;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return true;
}

static void stream_finish(stream *s) {
    pthread_mutex_lock(&s->mu);
    s->done = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static bool sse_send(void *ctx, const char *json) {
    return stream_write(ctx, "event: message\ndata: ", json, "\n\n");
}

static ssize_t stream_read(void *cls, uint64_t pos, char *out, size_t max) {
    (void)pos;
    stream *s = cls;
    pthread_mutex_lock(&s->mu);
    while (s->off == s->len && !s->done && !s->h->stopping) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += KEEPALIVE_NS / LS_NS_PER_SEC;
        if (pthread_cond_timedwait(&s->cv, &s->mu, &ts) == ETIMEDOUT && s->off == s->len && !s->done) {
            static const char ka[] = ": keepalive\n\n";
            size_t n = sizeof(ka) - 1 < max ? sizeof(ka) - 1 : max;
            memcpy(out, ka, n);
            pthread_mutex_unlock(&s->mu);
            return (ssize_t)n;
        }
    }
    if (s->off == s->len) {
        pthread_mutex_unlock(&s->mu);
        return MHD_CONTENT_READER_END_OF_STREAM;
    }
    size_t n = s->len - s->off;
    if (n > max) n = max;
    memcpy(out, s->buf + s->off, n);
    s->off += n;
    pthread_mutex_unlock(&s->mu);
    return (ssize_t)n;
}

static void stream_free_cb(void *cls) {
    stream *s = cls;
    pthread_mutex_lock(&s->mu);
    s->closed = true;
    ls_mcp_session *sess = s->session;
    s->session = NULL;
    pthread_mutex_unlock(&s->mu);
    if (sess) { /* legacy stream gone: the session ends with it */
        ls_mcp_session_close(s->h->m, sess);
        ls_mcp_session_put(sess);
    }
    stream_put(s);
}

/* ---- addresses and checks --------------------------------------------- */

ls_code ls_mcp_parse_addr(const char *addr, char *host, size_t hostlen, int *port, ls_err *err) {
    if (!addr || !*addr) return ls_err_set(err, LS_ERR_INVALID, "MCP address is empty");
    const char *colon;
    if (addr[0] == '[') {
        const char *rb = strchr(addr, ']');
        if (!rb || rb[1] != ':')
            return ls_err_set(err, LS_ERR_INVALID, "invalid MCP address \"%s\": expected [IPv6]:PORT", addr);
        size_t n = (size_t)(rb - addr - 1);
        if (n >= hostlen) return ls_err_set(err, LS_ERR_INVALID, "invalid MCP address \"%s\"", addr);
        memcpy(host, addr + 1, n);
        host[n] = 0;
        colon = rb + 1;
    } else {
        colon = strrchr(addr, ':');
        if (!colon)
            return ls_err_set(err, LS_ERR_INVALID,
                              "invalid MCP address \"%s\": expected HOST:PORT or :PORT (e.g. "
                              "127.0.0.1:3001)",
                              addr);
        size_t n = (size_t)(colon - addr);
        if (n >= hostlen || memchr(addr, ':', n))
            return ls_err_set(err, LS_ERR_INVALID, "invalid MCP address \"%s\"", addr);
        memcpy(host, addr, n);
        host[n] = 0;
    }
    const char *p = colon + 1;
    char *end;
    errno = 0;
    long v = strtol(p, &end, 10);
    if (!*p || *end || errno || v < 0 || v > 65535)
        return ls_err_set(err, LS_ERR_INVALID, "invalid MCP address \"%s\": bad port", addr);
    *port = (int)v;
    return LS_OK;
}

static bool is_loopback(const struct sockaddr *sa) {
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(a)) return true;
        if (IN6_IS_ADDR_V4MAPPED(a)) return a->s6_addr[12] == 127;
    }
    return false;
}

static int bind_listen(const char *host, int port, bool *loopback, int *bound_port, ls_err *err) {
    char ps[16];
    snprintf(ps, sizeof(ps), "%d", port);
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    hints.ai_family = *host ? AF_UNSPEC : AF_INET6;
    int rc = getaddrinfo(*host ? host : NULL, ps, &hints, &res);
    if (rc != 0 && !*host) {
        hints.ai_family = AF_INET;
        rc = getaddrinfo(NULL, ps, &hints, &res);
    }
    if (rc != 0) {
        ls_err_set(err, LS_ERR_NETWORK, "MCP address %s:%d: %s", host, port, gai_strerror(rc));
        return -1;
    }
    int fd = -1, last = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            last = errno;
            continue;
        }
        int one = 1, zero = 0;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (ai->ai_family == AF_INET6 && !*host) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 256) == 0) {
            *loopback = *host && is_loopback(ai->ai_addr);
            struct sockaddr_storage ss;
            socklen_t sl = sizeof(ss);
            *bound_port = port;
            if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
                *bound_port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                                       : ntohs(((struct sockaddr_in *)&ss)->sin_port);
            break;
        }
        last = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) ls_err_set(err, LS_ERR_NETWORK, "MCP server cannot listen on %s:%d: %s", host, port, strerror(last));
    return fd;
}

/* A Host (or Origin host) is acceptable when it cannot be a DNS-rebinding
 * name: localhost names, IP literals, the bind host, or names listed in
 * LITESTREAM_MCP_ALLOWED_HOSTS (comma separated). */
static bool name_allowed(ls_mcp_http *h, const char *hostport) {
    char host[300];
    const char *p = hostport;
    size_t n;
    if (*p == '[') {
        const char *rb = strchr(p, ']');
        if (!rb) return false;
        n = (size_t)(rb - p - 1);
        if (n >= sizeof(host)) return false;
        memcpy(host, p + 1, n);
        host[n] = 0;
        struct in6_addr a6;
        return inet_pton(AF_INET6, host, &a6) == 1 && (rb[1] == 0 || rb[1] == ':');
    }
    const char *colon = strchr(p, ':');
    n = colon ? (size_t)(colon - p) : strlen(p);
    if (n == 0 || n >= sizeof(host)) return false;
    for (size_t i = 0; i < n; i++) host[i] = (char)((p[i] >= 'A' && p[i] <= 'Z') ? p[i] + 32 : p[i]);
    host[n] = 0;
    if (n > 0 && host[n - 1] == '.') host[--n] = 0;
    if (strcmp(host, "localhost") == 0) return true;
    if (n > 10 && strcmp(host + n - 10, ".localhost") == 0) return true;
    struct in_addr a4;
    if (inet_pton(AF_INET, host, &a4) == 1) return true;
    if (*h->host && strcasecmp(host, h->host) == 0) return true;
    for (size_t i = 0; i < h->nallowed; i++)
        if (strcasecmp(host, h->allowed[i]) == 0) return true;
    return false;
}

static bool origin_allowed(ls_mcp_http *h, const char *origin) {
    const char *p = strstr(origin, "://");
    if (!p) return false;
    p += 3;
    char hp[300];
    size_t n = strcspn(p, "/");
    if (n == 0 || n >= sizeof(hp)) return false;
    memcpy(hp, p, n);
    hp[n] = 0;
    return name_allowed(h, hp);
}

/* libcrypto is loaded only when a token is configured (ls_mcp_http_start
 * loads it before the first hash; util/dynlib.h). */
static void sha256(const void *data, size_t len, unsigned char out[32]) {
    const ls_crypto_table *c = ls_crypto_api();
    unsigned int n = 32;
    if (!c || !c->EVP_Digest(data, len, out, &n, c->EVP_sha256(), NULL)) memset(out, 0, 32);
}

static bool token_ok(ls_mcp_http *h, const char *auth) {
    if (!h->has_token) return true;
    if (!auth || strncasecmp(auth, "Bearer ", 7) != 0) return false;
    const char *t = auth + 7;
    while (*t == ' ') t++;
    unsigned char got[32];
    sha256(t, strlen(t), got);
    const ls_crypto_table *c = ls_crypto_api();
    return c && c->CRYPTO_memcmp(got, h->token_hash, 32) == 0;
}

/* ---- responses -------------------------------------------------------- */

static enum MHD_Result respond(struct MHD_Connection *c, unsigned status, const char *ctype,
                               char *body, const char *session_id) {
    size_t len = body ? strlen(body) : 0;
    struct MHD_Response *r = body ? MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE)
                                  : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    if (ctype && len) MHD_add_response_header(r, "Content-Type", ctype);
    if (session_id && *session_id) MHD_add_response_header(r, "Mcp-Session-Id", session_id);
    if (status == 401) MHD_add_response_header(r, "WWW-Authenticate", "Bearer");
    if (status == 405) MHD_add_response_header(r, "Allow", "GET, POST, DELETE");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result respond_static(struct MHD_Connection *c, unsigned status, const char *ctype,
                                      const char *body) {
    return respond(c, status, ctype, body ? ls_strdup(body) : NULL, NULL);
}

static enum MHD_Result respond_error(struct MHD_Connection *c, unsigned status, int code,
                                     const char *msg) {
    return respond(c, status, "application/json", ls_mcp_error_json(NULL, code, msg, NULL), NULL);
}

static enum MHD_Result respond_rest_error(struct MHD_Connection *c, unsigned status,
                                          const char *code, const char *msg) {
    json_t *o = json_pack("{s:s,s:s}", "error", msg, "code", code);
    char *s = o ? json_dumps(o, JSON_INDENT(2)) : NULL;
    json_decref(o);
    return respond(c, status, "application/json", s, NULL);
}

static enum MHD_Result respond_stream(struct MHD_Connection *c, stream *s, const char *session_id) {
    pthread_mutex_lock(&s->mu);
    s->refs++; /* the response's reference, dropped by stream_free_cb */
    pthread_mutex_unlock(&s->mu);
    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024,
                                                               stream_read, s, stream_free_cb);
    if (!r) {
        stream_free_cb(s);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "text/event-stream");
    MHD_add_response_header(r, "Cache-Control", "no-cache");
    MHD_add_response_header(r, "X-Accel-Buffering", "no");
    if (session_id && *session_id) MHD_add_response_header(r, "Mcp-Session-Id", session_id);
    enum MHD_Result ret = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ret;
}

/* ---- workers (streamed and legacy tool calls) ------------------------- */

typedef struct work {
    ls_mcp_http *h;
    ls_mcp_session *s;    /* reference */
    ls_mcp_msg *msg;
    stream *out;          /* reference */
    bool finish;          /* end the stream afterwards (Streamable HTTP) */
} work;

static void *work_main(void *arg) {
    work *w = arg;
    ls_mcp_sink sink = {sse_send, w->out};
    bool cancelled = false;
    char *reply = ls_mcp_execute(w->h->m, w->s, w->msg, &sink, &cancelled);
    if (reply) sse_send(w->out, reply);
    free(reply);
    if (w->finish) stream_finish(w->out);
    ls_mcp_msg_free(w->msg);
    ls_mcp_session_put(w->s);
    stream_put(w->out);
    ls_mcp_http *h = w->h;
    free(w);
    pthread_mutex_lock(&h->mu);
    h->workers--;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

/* Takes over msg; adds references to s and out. */
static bool start_work(ls_mcp_http *h, ls_mcp_session *s, ls_mcp_msg *msg, stream *out, bool finish) {
    work *w = calloc(1, sizeof(*w));
    if (!w) return false;
    w->h = h;
    w->s = s;
    w->msg = msg;
    w->out = out;
    w->finish = finish;
    atomic_fetch_add(&s->refs, 1);
    pthread_mutex_lock(&out->mu);
    out->refs++;
    pthread_mutex_unlock(&out->mu);
    pthread_mutex_lock(&h->mu);
    h->workers++;
    pthread_mutex_unlock(&h->mu);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t th;
    int rc = pthread_create(&th, &attr, work_main, w);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        pthread_mutex_lock(&h->mu);
        h->workers--;
        pthread_mutex_unlock(&h->mu);
        ls_mcp_session_put(s);
        stream_put(out);
        free(w);
        return false;
    }
    return true;
}

/* ---- request handling ------------------------------------------------- */

typedef struct req {
    char *body;
    size_t len, cap;
    bool too_large;
} req;

static const char *hdr(struct MHD_Connection *c, const char *name) {
    return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

static enum MHD_Result start_legacy_stream(ls_mcp_http *h, struct MHD_Connection *c) {
    ls_mcp_session *sess = ls_mcp_session_create(h->m, true);
    if (!sess) return respond_error(c, 503, -32603, "too many sessions");
    stream *s = stream_new(h);
    if (!s) {
        ls_mcp_session_close(h->m, sess);
        ls_mcp_session_put(sess);
        return respond_error(c, 500, -32603, "out of memory");
    }
    /* The session keeps a reference to its stream for POST /messages. */
    pthread_mutex_lock(&s->mu);
    s->refs++;
    s->session = sess; /* the creator's reference; released when the stream ends */
    pthread_mutex_unlock(&s->mu);
    sess->transport = s;
    sess->transport_free = (void (*)(void *))stream_put;
    char ev[128];
    snprintf(ev, sizeof(ev), "/messages?sessionId=%s", sess->id);
    stream_write(s, "event: endpoint\ndata: ", ev, "\n\n");
    ls_debug("mcp: legacy SSE session opened", "session", sess->id);
    enum MHD_Result ret = respond_stream(c, s, NULL);
    stream_put(s); /* stream_new's reference */
    return ret;
}

static enum MHD_Result handle_legacy_post(ls_mcp_http *h, struct MHD_Connection *c, req *rq) {
    const char *sid = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "sessionId");
    if (!sid) sid = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "session_id");
    ls_mcp_session *sess = sid ? ls_mcp_session_find(h->m, sid) : NULL;
    if (!sess || !sess->legacy) {
        ls_mcp_session_put(sess);
        return respond_error(c, sid ? 404 : 400, -32600,
                             sid ? "Session not found: open a new stream with GET /sse"
                                 : "Missing sessionId: open a stream with GET /sse first");
    }
    stream *out = sess->transport;
    ls_mcp_msg *msg = NULL;
    char *err = NULL;
    if (ls_mcp_parse(rq->body ? rq->body : "", rq->len, &msg, &err) != LS_MCP_PARSE_OK) {
        ls_mcp_session_put(sess);
        return respond(c, 400, "application/json", err, NULL);
    }
    if (strcmp(ls_mcp_msg_method(msg), "tools/call") == 0 && !ls_mcp_msg_is_batch(msg)) {
        if (!start_work(h, sess, msg, out, false)) {
            ls_mcp_msg_free(msg);
            ls_mcp_session_put(sess);
            return respond_error(c, 503, -32603, "cannot start the tool call");
        }
    } else {
        ls_mcp_sink sink = {sse_send, out};
        bool cancelled;
        char *reply = ls_mcp_execute(h->m, sess, msg, &sink, &cancelled);
        if (reply) sse_send(out, reply);
        free(reply);
        ls_mcp_msg_free(msg);
    }
    ls_mcp_session_put(sess);
    return respond(c, 202, "text/plain", ls_strdup("Accepted"), NULL);
}

static enum MHD_Result handle_mcp_post(ls_mcp_http *h, struct MHD_Connection *c, req *rq) {
    const char *ct = hdr(c, "Content-Type");
    if (ct && !strstr(ct, "json") && !strstr(ct, "JSON"))
        return respond_error(c, 415, -32600, "Unsupported Media Type: send Content-Type: application/json");
    const char *pv = hdr(c, "MCP-Protocol-Version");
    ls_mcp_ver hv = LS_MCP_V_UNKNOWN;
    if (pv) {
        hv = ls_mcp_ver_parse(pv);
        if (hv == LS_MCP_V_UNKNOWN) {
            char m[200];
            snprintf(m, sizeof(m),
                     "Bad Request: unsupported MCP-Protocol-Version \"%.40s\" (supported: "
                     "2024-11-05, 2025-03-26, 2025-06-18, 2025-11-25)",
                     pv);
            return respond_error(c, 400, -32600, m);
        }
    }
    ls_mcp_msg *msg = NULL;
    char *err = NULL;
    if (ls_mcp_parse(rq->body ? rq->body : "", rq->len, &msg, &err) != LS_MCP_PARSE_OK)
        return respond(c, 400, "application/json", err, NULL);

    const char *sid = hdr(c, "Mcp-Session-Id");
    ls_mcp_session *sess = NULL;
    bool is_init = ls_mcp_msg_init_version(msg) != NULL ||
                   (!ls_mcp_msg_is_batch(msg) && strcmp(ls_mcp_msg_method(msg), "initialize") == 0);
    if (is_init) {
        sess = ls_mcp_session_create(h->m, false);
        if (!sess) {
            ls_mcp_msg_free(msg);
            return respond_error(c, 503, -32603, "too many sessions");
        }
    } else if (sid) {
        sess = ls_mcp_session_find(h->m, sid);
        if (!sess || sess->legacy) {
            ls_mcp_session_put(sess);
            ls_mcp_msg_free(msg);
            return respond_error(c, 404, -32001, "Session not found: initialize a new session");
        }
    } else {
        sess = ls_mcp_session_transient(hv != LS_MCP_V_UNKNOWN ? hv : LS_MCP_V_2025_03_26);
        if (!sess) {
            ls_mcp_msg_free(msg);
            return respond_error(c, 500, -32603, "out of memory");
        }
    }
    size_t nreq = ls_mcp_msg_requests(msg);
    ls_mcp_ver v = (ls_mcp_ver)atomic_load(&sess->version);
    const char *accept = hdr(c, "Accept");
    bool sse_ok = !accept || strstr(accept, "text/event-stream") || strstr(accept, "*/*");
    if (nreq == 1 && sse_ok && ls_mcp_msg_wants_progress(msg) && v != LS_MCP_V_2024_11_05) {
        stream *s = stream_new(h);
        if (!s || !start_work(h, sess, msg, s, true)) {
            if (s) stream_put(s);
            ls_mcp_msg_free(msg);
            ls_mcp_session_put(sess);
            return respond_error(c, 503, -32603, "cannot start the tool call");
        }
        enum MHD_Result ret = respond_stream(c, s, sess->id);
        stream_put(s);
        ls_mcp_session_put(sess);
        return ret;
    }
    bool cancelled = false;
    char *reply = ls_mcp_execute(h->m, sess, msg, NULL, &cancelled);
    ls_mcp_msg_free(msg);
    enum MHD_Result ret;
    if (is_init) {
        bool okinit = reply && strstr(reply, "\"result\"") != NULL;
        if (okinit) {
            ls_debug("mcp: session created", "session", sess->id, "version",
                     ls_mcp_ver_name((ls_mcp_ver)atomic_load(&sess->version)));
            ret = respond(c, 200, "application/json", reply, sess->id);
        } else {
            ls_mcp_session_close(h->m, sess);
            ret = respond(c, 200, "application/json", reply, NULL);
        }
    } else if (!reply) {
        ret = respond(c, 202, NULL, NULL, NULL);
    } else if (nreq == 0) {
        ret = respond(c, 400, "application/json", reply, NULL); /* malformed notification */
    } else {
        ret = respond(c, 200, "application/json", reply, sid ? sess->id : NULL);
    }
    ls_mcp_session_put(sess);
    return ret;
}

static int collect_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
    (void)kind;
    json_t *o = cls;
    if (key && *key) json_object_set_new(o, key, json_string(value ? value : ""));
    return MHD_YES;
}

static enum MHD_Result handle_rest(ls_mcp_http *h, struct MHD_Connection *c, const char *method,
                                   const char *tool, req *rq) {
    json_t *args = NULL;
    if (strcmp(method, "GET") == 0) {
        args = json_object();
        MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, (MHD_KeyValueIterator)collect_arg, args);
    } else if (strcmp(method, "POST") == 0) {
        if (rq->len == 0) {
            args = json_object();
        } else {
            json_error_t je;
            args = json_loadb(rq->body, rq->len, JSON_REJECT_DUPLICATES, &je);
            if (!args) {
                char m[300];
                snprintf(m, sizeof(m), "invalid JSON body: %s (line %d, column %d)", je.text, je.line, je.column);
                return respond_rest_error(c, 400, "parse_error", m);
            }
            if (!json_is_object(args)) {
                json_decref(args);
                return respond_rest_error(c, 400, "invalid_arguments",
                                          "the body must be a JSON object of tool arguments");
            }
        }
    } else {
        return respond_rest_error(c, 405, "method_not_allowed", "use GET or POST to run a tool");
    }
    char *body = NULL;
    int status = ls_mcp_rest_call(h->m, tool, args, &body);
    json_decref(args);
    return respond(c, (unsigned)status, "application/json", body, NULL);
}

static bool accepts_sse(struct MHD_Connection *c) {
    const char *a = hdr(c, "Accept");
    return a && strstr(a, "text/event-stream");
}

static enum MHD_Result handle(ls_mcp_http *h, struct MHD_Connection *c, const char *url,
                              const char *method, req *rq) {
    bool mcp_path = strcmp(url, "/") == 0 || strcmp(url, "/mcp") == 0 || strcmp(url, "/mcp/") == 0;
    if (rq->too_large)
        return respond_error(c, 413, -32600, "Request body too large (limit 1 MiB)");
    if (mcp_path) {
        if (strcmp(method, "POST") == 0) return handle_mcp_post(h, c, rq);
        if (strcmp(method, "GET") == 0) {
            const char *sid = hdr(c, "Mcp-Session-Id");
            if (sid) {
                ls_mcp_session *s = ls_mcp_session_find(h->m, sid);
                if (!s) return respond_error(c, 404, -32001, "Session not found");
                ls_mcp_session_put(s);
                return respond_error(c, 405, -32600,
                                     "Method Not Allowed: this server offers no standalone SSE stream");
            }
            if (accepts_sse(c)) return start_legacy_stream(h, c);
            return respond_error(c, 405, -32600,
                                 "Method Not Allowed: POST JSON-RPC messages here; GET /mcp/tools "
                                 "lists the tools");
        }
        if (strcmp(method, "DELETE") == 0) {
            const char *sid = hdr(c, "Mcp-Session-Id");
            if (!sid) return respond_error(c, 400, -32600, "Bad Request: Mcp-Session-Id header required");
            ls_mcp_session *s = ls_mcp_session_find(h->m, sid);
            if (!s) return respond_error(c, 404, -32001, "Session not found");
            ls_mcp_session_close(h->m, s);
            ls_mcp_session_put(s);
            return respond(c, 200, NULL, NULL, NULL);
        }
        return respond_error(c, 405, -32600, "Method Not Allowed");
    }
    if (strcmp(url, "/sse") == 0) {
        if (strcmp(method, "GET") != 0) return respond_error(c, 405, -32600, "Method Not Allowed: GET /sse");
        return start_legacy_stream(h, c);
    }
    if (strcmp(url, "/messages") == 0 || strcmp(url, "/message") == 0) {
        if (strcmp(method, "POST") != 0) return respond_error(c, 405, -32600, "Method Not Allowed: POST only");
        return handle_legacy_post(h, c, rq);
    }
    if (strcmp(url, "/mcp/tools") == 0 || strcmp(url, "/mcp/tools/") == 0) {
        if (strcmp(method, "GET") != 0)
            return respond_rest_error(c, 405, "method_not_allowed", "GET /mcp/tools lists the tools");
        return respond_static(c, 200, "application/json", ls_mcp_tools_rest_json(h->m));
    }
    if (strncmp(url, "/mcp/tools/", 11) == 0 && url[11])
        return handle_rest(h, c, method, url + 11, rq);
    if (strncmp(url, "/.well-known/", 13) == 0)
        return respond_rest_error(c, 404, "not_found", "no OAuth metadata: this server uses a static bearer token");
    return respond_rest_error(c, 404, "not_found",
                              "not found: MCP is served at / and /mcp; REST at /mcp/tools");
}

static enum MHD_Result ahc(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                           const char *version, const char *upload, size_t *upload_size, void **con_cls) {
    (void)version;
    ls_mcp_http *h = cls;
    req *rq = *con_cls;
    if (!rq) {
        rq = calloc(1, sizeof(*rq));
        if (!rq) return MHD_NO;
        *con_cls = rq;
        if (h->stopping) return respond_error(c, 503, -32603, "server is stopping");
        const char *host = hdr(c, "Host");
        if (host && !name_allowed(h, host))
            return respond_error(c, 403, -32600,
                                 "Forbidden: Host header not allowed (DNS rebinding protection; set "
                                 "LITESTREAM_MCP_ALLOWED_HOSTS to allow a name)");
        const char *origin = hdr(c, "Origin");
        if (origin && !origin_allowed(h, origin))
            return respond_error(c, 403, -32600, "Forbidden: Origin not allowed");
        if (!token_ok(h, hdr(c, "Authorization")))
            return respond_error(c, 401, -32600,
                                 "Unauthorized: send Authorization: Bearer <mcp-token>");
        const char *cl = hdr(c, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > LS_MCP_MAX_MESSAGE) {
            rq->too_large = true;
            return respond_error(c, 413, -32600, "Request body too large (limit 1 MiB)");
        }
        return MHD_YES;
    }
    if (*upload_size) {
        size_t n = *upload_size;
        if (!rq->too_large) {
            if (rq->len + n > LS_MCP_MAX_MESSAGE) {
                rq->too_large = true;
            } else {
                if (rq->len + n + 1 > rq->cap) {
                    size_t nc = rq->cap ? rq->cap : 4096;
                    while (nc < rq->len + n + 1) nc *= 2;
                    char *nb = realloc(rq->body, nc);
                    if (!nb) return MHD_NO;
                    rq->body = nb;
                    rq->cap = nc;
                }
                memcpy(rq->body + rq->len, upload, n);
                rq->len += n;
                rq->body[rq->len] = 0;
            }
        }
        *upload_size = 0;
        return MHD_YES;
    }
    enum MHD_Result ret = handle(h, c, url, method, rq);
    if (ls_log_enabled(LS_LOG_DEBUG)) ls_debug("mcp http request", "method", method, "path", url);
    return ret;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe) {
    (void)cls;
    (void)c;
    (void)toe;
    req *rq = *con_cls;
    if (rq) {
        free(rq->body);
        free(rq);
    }
    *con_cls = NULL;
}

/* ---- start / stop ----------------------------------------------------- */

static void http_free(ls_mcp_http *h) {
    for (size_t i = 0; i < h->nallowed; i++) free(h->allowed[i]);
    free(h->allowed);
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->mu);
    free(h);
}

ls_code ls_mcp_http_start(ls_mcp *m, const char *addr, ls_mcp_http **out, ls_err *err) {
    *out = NULL;
    char host[256];
    int port;
    ls_code rc = ls_mcp_parse_addr(addr, host, sizeof(host), &port, err);
    if (rc != LS_OK) return rc;
    if (m->token && (rc = ls_crypto_load("MCP bearer token", err)) != LS_OK) return rc;
    ls_mcp_http *h = calloc(1, sizeof(*h));
    if (!h) return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
    h->m = m;
    snprintf(h->host, sizeof(h->host), "%s", host);
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv, NULL);
    if (m->token) {
        sha256(m->token, strlen(m->token), h->token_hash);
        h->has_token = true;
    }
    const char *extra = getenv("LITESTREAM_MCP_ALLOWED_HOSTS");
    if (extra && *extra) {
        char *copy = ls_strdup(extra), *save = NULL;
        for (char *t = copy ? strtok_r(copy, ", ", &save) : NULL; t; t = strtok_r(NULL, ", ", &save)) {
            char **na = realloc(h->allowed, (h->nallowed + 1) * sizeof(char *));
            if (!na) break;
            h->allowed = na;
            h->allowed[h->nallowed] = ls_strdup(t);
            if (h->allowed[h->nallowed]) h->nallowed++;
        }
        free(copy);
    }
    bool loopback = false;
    int fd = bind_listen(host, port, &loopback, &h->port, err);
    if (fd < 0) {
        http_free(h);
        return err ? err->code : LS_ERR_NETWORK;
    }
    h->d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL_INTERNAL_THREAD, 0, NULL,
                            NULL, ahc, h, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_NOTIFY_COMPLETED,
                            completed, h, MHD_OPTION_CONNECTION_LIMIT, (unsigned)512,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)300,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
                            MHD_OPTION_THREAD_STACK_SIZE, (size_t)(1024 * 1024), MHD_OPTION_END);
    if (!h->d) {
        close(fd);
        http_free(h);
        return ls_err_set(err, LS_ERR_NETWORK, "MCP server cannot start on %s", addr);
    }
    ls_info("Starting MCP server", "addr", addr);
    char shown[300];
    snprintf(shown, sizeof(shown), "%s%s%s:%d", strchr(host, ':') ? "[" : "", *host ? host : "",
             strchr(host, ':') ? "]" : "", h->port);
    ls_info("MCP server listening", "addr", shown, "endpoint", "/mcp", "auth",
            h->has_token ? "bearer-token" : "none", "read-only", m->read_only ? "true" : "false");
    if (!loopback && !h->has_token)
        ls_warn("MCP server is reachable beyond loopback without a token: anyone who can reach "
                "it can list and restore databases; set mcp-token or bind 127.0.0.1",
                "addr", addr);
    *out = h;
    return LS_OK;
}

int ls_mcp_http_port(const ls_mcp_http *h) { return h->port; }

typedef struct stopper {
    ls_mcp_http *h;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    bool abandoned;
} stopper;

static void *stop_main(void *arg) {
    stopper *st = arg;
    MHD_stop_daemon(st->h->d);
    pthread_mutex_lock(&st->mu);
    st->done = true;
    bool abandoned = st->abandoned;
    pthread_cond_broadcast(&st->cv);
    pthread_mutex_unlock(&st->mu);
    if (abandoned) { /* the caller gave up; nothing else uses these */
        pthread_cond_destroy(&st->cv);
        pthread_mutex_destroy(&st->mu);
        free(st);
    }
    return NULL;
}

bool ls_mcp_http_stop(ls_mcp_http *h, int64_t deadline_ns) {
    if (!h) return true;
    h->stopping = true;
    ls_mcp_cancel_all(h->m);
    pthread_mutex_lock(&h->mu);
    for (stream *s = h->streams; s; s = s->next) {
        pthread_mutex_lock(&s->mu);
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
    }
    pthread_mutex_unlock(&h->mu);

    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    int64_t end = (int64_t)dl.tv_sec * LS_NS_PER_SEC + dl.tv_nsec + deadline_ns;
    dl.tv_sec = (time_t)(end / LS_NS_PER_SEC);
    dl.tv_nsec = (long)(end % LS_NS_PER_SEC);

    stopper *st = calloc(1, sizeof(*st));
    if (!st) return false;
    st->h = h;
    pthread_mutex_init(&st->mu, NULL);
    pthread_cond_init(&st->cv, NULL);
    pthread_t th;
    if (pthread_create(&th, NULL, stop_main, st) != 0) {
        MHD_stop_daemon(h->d);
        st->done = true;
    } else {
        pthread_detach(th);
    }
    pthread_mutex_lock(&st->mu);
    while (!st->done)
        if (pthread_cond_timedwait(&st->cv, &st->mu, &dl) == ETIMEDOUT) break;
    bool done = st->done;
    if (!done) st->abandoned = true;
    pthread_mutex_unlock(&st->mu);
    if (!done) return false;
    /* Legacy / streamed tool calls still running were cancelled: wait. */
    pthread_mutex_lock(&h->mu);
    while (h->workers > 0)
        if (pthread_cond_timedwait(&h->cv, &h->mu, &dl) == ETIMEDOUT) break;
    int left = h->workers;
    pthread_mutex_unlock(&h->mu);
    pthread_cond_destroy(&st->cv);
    pthread_mutex_destroy(&st->mu);
    free(st);
    if (left > 0) return false;
    http_free(h);
    return true;
}
