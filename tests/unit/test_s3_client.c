/* Unit tests of the S3 backend's HTTP behaviour against a scripted
 * in-process HTTP/1.1 server on 127.0.0.1 (no npm needed): request shape
 * and SigV4 headers, retries with backoff on 5xx / dropped connections,
 * no retry on 403, ranged GET resumed after a cut body (If-Match), list
 * pagination, DeleteObjects with Content-MD5, keep-alive, multipart upload
 * (parts, complete, abort on failure). */
#include "testlib.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "storage/s3.h"
#include "storage/s3_internal.h"
#include "storage/storage.h"

/* ------------------------------------------------------- fake server -- */

#define MAXREQ 256

typedef struct req {
    char method[8];
    char target[1024];
    char headers[4096];   /* raw header block, lower-cased names */
    unsigned char *body;
    size_t body_len;
    int conn;             /* connection number */
} req;

typedef struct srv srv;
/* Handler: writes a full HTTP response to fd (or closes early). Returns
 * false to close the connection after the response. */
typedef bool (*handler_fn)(srv *s, const req *r, int fd);

struct srv {
    int lfd, port;
    pthread_t th;
    handler_fn handler;
    void *ctx;
    pthread_mutex_t mu;
    req reqs[MAXREQ];
    int nreq, nconn;
    volatile int stop;
    /* object store for multipart / get */
    unsigned char *obj;
    size_t obj_len;
    int counter;
};

static const char *hdr(const req *r, const char *name, char *out, size_t cap) {
    char pat[128];
    snprintf(pat, sizeof(pat), "\n%s:", name);
    const char *p = strstr(r->headers, pat);
    if (!p) return NULL;
    p += strlen(pat);
    while (*p == ' ') p++;
    size_t n = strcspn(p, "\r\n");
    if (n >= cap) n = cap - 1;
    memcpy(out, p, n);
    out[n] = '\0';
    return out;
}

static bool read_request(int fd, req *r) {
    char buf[8192];
    size_t n = 0;
    memset(r, 0, sizeof(*r));
    for (;;) {
        if (n + 1 >= sizeof(buf)) return false;
        ssize_t k = recv(fd, buf + n, 1, 0);
        if (k <= 0) return false;
        n++;
        if (n >= 4 && memcmp(buf + n - 4, "\r\n\r\n", 4) == 0) break;
    }
    buf[n] = '\0';
    sscanf(buf, "%7s %1023s", r->method, r->target);
    char *eol = strstr(buf, "\r\n");
    snprintf(r->headers, sizeof(r->headers), "\n%s", eol ? eol + 2 : "");
    /* lower-case header names */
    for (char *p = r->headers; *p; p++) {
        if (*p == '\n') {
            for (char *q = p + 1; *q && *q != ':' && *q != '\r'; q++)
                if (*q >= 'A' && *q <= 'Z') *q = (char)(*q + 32);
        }
    }
    char v[64];
    if (hdr(r, "expect", v, sizeof(v))) send(fd, "HTTP/1.1 100 Continue\r\n\r\n", 25, MSG_NOSIGNAL);
    if (hdr(r, "content-length", v, sizeof(v))) {
        r->body_len = (size_t)atoll(v);
        r->body = malloc(r->body_len + 1);
        size_t got = 0;
        while (got < r->body_len) {
            ssize_t k = recv(fd, r->body + got, r->body_len - got, 0);
            if (k <= 0) return false;
            got += (size_t)k;
        }
        r->body[r->body_len] = '\0';
    }
    return true;
}

static void send_all(int fd, const void *p, size_t n) {
    const char *c = p;
    while (n > 0) {
        ssize_t k = send(fd, c, n, MSG_NOSIGNAL);
        if (k <= 0) return;
        c += k;
        n -= (size_t)k;
    }
}

static void respond(int fd, int status, const char *extra_headers, const void *body, size_t len) {
    char head[2048];
    int n = snprintf(head, sizeof(head), "HTTP/1.1 %d X\r\nContent-Length: %zu\r\n%s\r\n", status, len,
                     extra_headers ? extra_headers : "");
    send_all(fd, head, (size_t)n);
    if (len) send_all(fd, body, len);
}

typedef struct {
    srv *s;
    int fd, conn;
} conn_arg;

static void *conn_main(void *arg) {
    conn_arg *c = arg;
    srv *s = c->s;
    for (;;) {
        req r;
        if (!read_request(c->fd, &r)) {
            free(r.body);
            break;
        }
        r.conn = c->conn;
        pthread_mutex_lock(&s->mu);
        int idx = s->nreq < MAXREQ ? s->nreq++ : -1;
        if (idx >= 0) s->reqs[idx] = r;
        pthread_mutex_unlock(&s->mu);
        bool keep = s->handler(s, &r, c->fd);
        if (idx < 0) free(r.body);
        if (!keep) break;
    }
    close(c->fd);
    free(c);
    return NULL;
}

#define MAXCONN 64
static pthread_t g_conn_th[MAXCONN];
static int g_nconn_th;

static void *srv_main(void *arg) {
    srv *s = arg;
    while (!s->stop) {
        int fd = accept(s->lfd, NULL, NULL);
        if (fd < 0) continue;
        if (s->stop || g_nconn_th >= MAXCONN) {
            close(fd);
            break;
        }
        pthread_mutex_lock(&s->mu);
        int conn = ++s->nconn;
        pthread_mutex_unlock(&s->mu);
        conn_arg *c = malloc(sizeof(*c));
        c->s = s;
        c->fd = fd;
        c->conn = conn;
        pthread_create(&g_conn_th[g_nconn_th++], NULL, conn_main, c);
    }
    return NULL;
}

static srv *srv_start(handler_fn h) {
    srv *s = calloc(1, sizeof(*s));
    s->handler = h;
    pthread_mutex_init(&s->mu, NULL);
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s->lfd, 16), 0);
    socklen_t al = sizeof(a);
    getsockname(s->lfd, (struct sockaddr *)&a, &al);
    s->port = ntohs(a.sin_port);
    pthread_create(&s->th, NULL, srv_main, s);
    return s;
}

static void srv_stop(srv *s) {
    s->stop = 1;
    /* wake accept() */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                            .sin_port = htons((uint16_t)s->port)};
    connect(fd, (struct sockaddr *)&a, sizeof(a));
    close(fd);
    pthread_join(s->th, NULL);
    for (int i = 0; i < g_nconn_th; i++) pthread_join(g_conn_th[i], NULL);
    g_nconn_th = 0;
    close(s->lfd);
    for (int i = 0; i < s->nreq && i < MAXREQ; i++) free(s->reqs[i].body);
    free(s->obj);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static ls_storage *open_s3(srv *s, const char *path, int64_t part, int conc) {
    ls_s3_opts o;
    ls_s3_opts_defaults(&o);
    char ep[64];
    snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", s->port);
    o.bucket = "bkt";
    o.path = path;
    o.endpoint = ep;
    o.force_path_style = true;
    o.access_key_id = "AKIDEXAMPLE";
    o.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    o.retry_base_ms = 1;
    o.retry_max_ms = 5;
    o.max_attempts = 4;
    o.part_size = part;
    o.concurrency = conc;
    ls_storage *st = NULL;
    ls_err e;
    assert_int_equal(ls_storage_s3_open(&o, &st, &e), LS_OK);
    return st;
}

static int nreq(srv *s) {
    pthread_mutex_lock(&s->mu);
    int n = s->nreq;
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* ------------------------------------------------------------- tests -- */

static bool h_ok_put(srv *s, const req *r, int fd) {
    (void)s;
    if (!strcmp(r->method, "PUT")) respond(fd, 200, "ETag: \"e1\"\r\n", NULL, 0);
    else respond(fd, 404, NULL, NULL, 0);
    return true;
}

static void test_put_request_shape(void **state) {
    (void)state;
    srv *s = srv_start(h_ok_put);
    ls_storage *st = open_s3(s, "db", 0, 0);
    const char *data = "hello ltx";
    ls_reader *r = ls_reader_mem(data, strlen(data));
    ls_put_opts po = {.created_at_ns = INT64_C(1704164645) * 1000000000 + 123000000, .size_hint = -1};
    ls_err e;
    assert_int_equal(ls_storage_put(st, "0000/0000000000000001-0000000000000001.ltx", r, &po, &e), LS_OK);
    ls_reader_close(r);
    assert_int_equal(nreq(s), 1);
    req *q = &s->reqs[0];
    assert_string_equal(q->method, "PUT");
    assert_string_equal(q->target, "/bkt/db/0000/0000000000000001-0000000000000001.ltx");
    assert_int_equal(q->body_len, strlen(data));
    assert_memory_equal(q->body, data, strlen(data));
    char v[1024], sha[65];
    assert_non_null(hdr(q, "x-amz-meta-litestream-timestamp", v, sizeof(v)));
    assert_string_equal(v, "2024-01-02T03:04:05.123Z");
    s3_sha256_hex(data, strlen(data), sha);
    assert_non_null(hdr(q, "x-amz-content-sha256", v, sizeof(v)));
    assert_string_equal(v, sha);
    assert_non_null(hdr(q, "x-amz-date", v, sizeof(v)));
    assert_int_equal(strlen(v), 16);
    assert_non_null(hdr(q, "authorization", v, sizeof(v)));
    assert_true(strncmp(v, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/", 40) == 0);
    assert_non_null(strstr(v, "/us-east-1/s3/aws4_request"));
    assert_non_null(strstr(v, "SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;"
                              "x-amz-meta-litestream-timestamp,"));
    assert_null(strstr(v, "wJalrXUtnFEMI"));
    assert_non_null(hdr(q, "user-agent", v, sizeof(v)));
    assert_string_equal(v, "litestream");
    ls_storage_close(st);
    srv_stop(s);
}

/* 503 twice, then a dropped connection, then success. */
static bool h_flaky(srv *s, const req *r, int fd) {
    (void)r;
    int n = __atomic_add_fetch(&s->counter, 1, __ATOMIC_SEQ_CST);
    const char *xml = "<Error><Code>SlowDown</Code><Message>slow</Message></Error>";
    if (n <= 2) {
        respond(fd, 503, "Content-Type: application/xml\r\n", xml, strlen(xml));
        return true;
    }
    if (n == 3) return false; /* close without answering */
    respond(fd, 200, "ETag: \"x\"\r\n", NULL, 0);
    return true;
}

static void test_retries(void **state) {
    (void)state;
    srv *s = srv_start(h_flaky);
    ls_storage *st = open_s3(s, "db", 0, 0);
    ls_reader *r = ls_reader_mem("x", 1);
    ls_err e;
    assert_int_equal(ls_storage_put(st, "k", r, NULL, &e), LS_OK);
    ls_reader_close(r);
    ls_storage_stats stats;
    ls_storage_stats_get(st, &stats);
    /* 2 x 503 + 1 dropped connection (curl itself may re-send a request
     * whose reused connection died before any answer) */
    assert_true(stats.retries >= 2 && stats.retries <= 3);
    assert_int_equal(nreq(s), 4);
    assert_int_equal(stats.puts, 1);
    assert_int_equal(stats.errors, 0);
    /* every attempt fails -> error after max_attempts (4) */
    s->counter = -100;
    r = ls_reader_mem("x", 1);
    assert_int_equal(ls_storage_put(st, "k2", r, NULL, &e), LS_ERR_NETWORK);
    ls_reader_close(r);
    assert_non_null(strstr(e.msg, "s3 put k2"));
    assert_non_null(strstr(e.msg, "after 4 attempts"));
    assert_non_null(strstr(e.msg, "HTTP 503 SlowDown"));
    ls_storage_close(st);
    srv_stop(s);
}

static bool h_forbidden(srv *s, const req *r, int fd) {
    (void)s;
    (void)r;
    const char *xml = "<Error><Code>InvalidAccessKeyId</Code><Message>The AWS Access Key Id you provided does "
                      "not exist in our records.</Message></Error>";
    respond(fd, 403, NULL, xml, strlen(xml));
    return true;
}

static void test_no_retry_on_403(void **state) {
    (void)state;
    srv *s = srv_start(h_forbidden);
    ls_storage *st = open_s3(s, "db", 0, 0);
    ls_object_list l;
    ls_err e;
    assert_int_equal(ls_storage_list(st, "0000/", 0, &l, &e), LS_ERR_AUTH);
    assert_int_equal(nreq(s), 1);
    assert_non_null(strstr(e.msg, "HTTP 403 InvalidAccessKeyId"));
    assert_non_null(strstr(e.msg, "bucket bkt"));
    ls_object_info info;
    assert_int_equal(ls_storage_head(st, "x", false, &info, &e), LS_ERR_AUTH);
    ls_storage_close(st);
    srv_stop(s);
}

/* GET: first answer cuts the body half way; later answers honour Range. */
static bool h_get(srv *s, const req *r, int fd) {
    char range[128], extra[256];
    if (!strcmp(r->method, "HEAD")) {
        if (strstr(r->target, "missing")) {
            respond(fd, 404, NULL, NULL, 0);
            return true;
        }
        char h[256];
        snprintf(h, sizeof(h),
                 "ETag: \"obj\"\r\nLast-Modified: Tue, 02 Jan 2024 03:04:05 GMT\r\n"
                 "x-amz-meta-litestream-timestamp: 2024-01-02T03:04:01.5Z\r\n");
        char head[512];
        int n = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n%s\r\n", s->obj_len, h);
        send_all(fd, head, (size_t)n);
        return true;
    }
    if (strstr(r->target, "missing")) {
        const char *xml = "<Error><Code>NoSuchKey</Code></Error>";
        respond(fd, 404, NULL, xml, strlen(xml));
        return true;
    }
    unsigned long long a = 0, b = s->obj_len - 1;
    if (hdr(r, "range", range, sizeof(range))) {
        if (sscanf(range, "bytes=%llu-%llu", &a, &b) < 1) a = 0;
        if (b >= s->obj_len) b = s->obj_len - 1;
    }
    if (a >= s->obj_len) {
        snprintf(extra, sizeof(extra), "Content-Range: bytes */%zu\r\n", s->obj_len);
        const char *xml = "<Error><Code>InvalidRange</Code></Error>";
        respond(fd, 416, extra, xml, strlen(xml));
        return true;
    }
    size_t len = (size_t)(b - a + 1);
    snprintf(extra, sizeof(extra), "ETag: \"obj\"\r\nContent-Range: bytes %llu-%llu/%zu\r\n", a, b, s->obj_len);
    int n = __atomic_add_fetch(&s->counter, 1, __ATOMIC_SEQ_CST);
    if (n == 1) {
        /* announce everything, send half, hang up */
        char head[512];
        int hl = snprintf(head, sizeof(head), "HTTP/1.1 206 P\r\nContent-Length: %zu\r\n%s\r\n", len, extra);
        send_all(fd, head, (size_t)hl);
        send_all(fd, s->obj + a, len / 2);
        return false;
    }
    respond(fd, 206, extra, s->obj + a, len);
    return true;
}

static void read_all(ls_reader *r, unsigned char **out, size_t *n) {
    size_t cap = 1 << 16, len = 0;
    unsigned char *buf = malloc(cap);
    for (;;) {
        if (len == cap) buf = realloc(buf, cap *= 2);
        size_t k = 0;
        ls_err e;
        ls_code rc = ls_read(r, buf + len, cap - len, &k, &e);
        if (rc != LS_OK) fail_msg("read: %s", e.msg);
        if (k == 0) break;
        len += k;
    }
    *out = buf;
    *n = len;
}

static void test_get_resume_and_head(void **state) {
    (void)state;
    srv *s = srv_start(h_get);
    s->obj_len = 1000000;
    s->obj = malloc(s->obj_len);
    uint64_t rs = 7;
    lst_rand_bytes(&rs, s->obj, s->obj_len);
    ls_storage *st = open_s3(s, "db", 0, 0);
    ls_reader *r = NULL;
    ls_err e;
    assert_int_equal(ls_storage_get(st, "0000/a.ltx", 0, LS_STORAGE_TO_END, &r, &e), LS_OK);
    unsigned char *got;
    size_t n;
    read_all(r, &got, &n);
    ls_reader_close(r);
    assert_int_equal(n, s->obj_len);
    assert_memory_equal(got, s->obj, n);
    free(got);
    int k = nreq(s);
    assert_true(k >= 2);
    char v[128];
    assert_non_null(hdr(&s->reqs[0], "range", v, sizeof(v)));
    assert_string_equal(v, "bytes=0-");
    assert_non_null(hdr(&s->reqs[1], "range", v, sizeof(v)));
    assert_string_equal(v, "bytes=500000-");
    assert_non_null(hdr(&s->reqs[1], "if-match", v, sizeof(v)));
    assert_string_equal(v, "\"obj\"");
    ls_storage_stats stats;
    ls_storage_stats_get(st, &stats);
    assert_int_equal(stats.retries, 1);
    assert_int_equal(stats.bytes_in, s->obj_len);

    /* ranged read in the middle, exact length */
    assert_int_equal(ls_storage_get(st, "0000/a.ltx", 1234, 5000, &r, &e), LS_OK);
    read_all(r, &got, &n);
    ls_reader_close(r);
    assert_int_equal(n, 5000);
    assert_memory_equal(got, s->obj + 1234, 5000);
    free(got);
    assert_non_null(hdr(&s->reqs[nreq(s) - 1], "range", v, sizeof(v)));
    assert_string_equal(v, "bytes=1234-6233");
    /* at the end: empty; beyond: invalid; missing: not found */
    assert_int_equal(ls_storage_get(st, "0000/a.ltx", s->obj_len, LS_STORAGE_TO_END, &r, &e), LS_OK);
    read_all(r, &got, &n);
    ls_reader_close(r);
    free(got);
    assert_int_equal(n, 0);
    assert_int_equal(ls_storage_get(st, "0000/a.ltx", s->obj_len + 5, LS_STORAGE_TO_END, &r, &e), LS_ERR_INVALID);
    assert_int_equal(ls_storage_get(st, "0000/missing.ltx", 0, LS_STORAGE_TO_END, &r, &e), LS_ERR_NOTFOUND);
    /* close a reader half way (connection dropped, slot discarded) */
    assert_int_equal(ls_storage_get(st, "0000/a.ltx", 0, LS_STORAGE_TO_END, &r, &e), LS_OK);
    unsigned char small[100];
    size_t got_n;
    assert_int_equal(ls_read(r, small, sizeof(small), &got_n, &e), LS_OK);
    assert_memory_equal(small, s->obj, got_n);
    ls_reader_close(r);

    ls_object_info info;
    assert_int_equal(ls_storage_head(st, "0000/a.ltx", false, &info, &e), LS_OK);
    assert_int_equal(info.size, (int64_t)s->obj_len);
    assert_int_equal(info.created_at_ns, INT64_C(1704164645) * 1000000000);
    ls_object_info_free(&info);
    assert_int_equal(ls_storage_head(st, "0000/a.ltx", true, &info, &e), LS_OK);
    assert_int_equal(info.created_at_ns, INT64_C(1704164641) * 1000000000 + 500000000);
    ls_object_info_free(&info);
    assert_int_equal(ls_storage_head(st, "0000/missing.ltx", true, &info, &e), LS_ERR_NOTFOUND);
    ls_storage_close(st);
    srv_stop(s);
}

/* List: two pages; Delete: checks Content-MD5 and answers per key. */
static bool h_list_del(srv *s, const req *r, int fd) {
    (void)s;
    if (!strcmp(r->method, "GET") && strstr(r->target, "list-type=2")) {
        const char *xml;
        if (!strstr(r->target, "continuation-token=")) {
            xml = "<ListBucketResult><IsTruncated>true</IsTruncated><NextContinuationToken>p 2/=</NextContinuationToken>"
                  "<Contents><Key>db/0000/0000000000000002-0000000000000002.ltx</Key><Size>5</Size>"
                  "<LastModified>2024-01-02T03:04:05.000Z</LastModified></Contents>"
                  "<Contents><Key>db/0000/0000000000000001-0000000000000001.ltx</Key><Size>4</Size></Contents>"
                  "</ListBucketResult>";
        } else {
            xml = "<ListBucketResult><IsTruncated>false</IsTruncated>"
                  "<Contents><Key>db/0000/0000000000000003-0000000000000003.ltx</Key><Size>6</Size></Contents>"
                  "<Contents><Key>other/0000/x</Key><Size>6</Size></Contents>"
                  "<Contents><Key>db//bad</Key><Size>6</Size></Contents>"
                  "</ListBucketResult>";
        }
        respond(fd, 200, "Content-Type: application/xml\r\n", xml, strlen(xml));
        return true;
    }
    if (!strcmp(r->method, "POST") && strstr(r->target, "?delete=")) {
        char md5[64], want[25];
        s3_md5_base64(r->body, r->body_len, want);
        if (!hdr(r, "content-md5", md5, sizeof(md5)) || strcmp(md5, want) != 0) {
            respond(fd, 400, NULL, "<Error><Code>BadDigest</Code></Error>", 37);
            return true;
        }
        const char *xml = strstr((const char *)r->body, "denied")
                              ? "<DeleteResult><Error><Key>db/denied</Key><Code>AccessDenied</Code>"
                                "<Message>no</Message></Error></DeleteResult>"
                              : "<DeleteResult><Deleted><Key>db/a</Key></Deleted>"
                                "<Error><Key>db/b</Key><Code>NoSuchKey</Code></Error></DeleteResult>";
        respond(fd, 200, NULL, xml, strlen(xml));
        return true;
    }
    respond(fd, 400, NULL, NULL, 0);
    return true;
}

static void test_list_and_delete(void **state) {
    (void)state;
    srv *s = srv_start(h_list_del);
    ls_storage *st = open_s3(s, "db", 0, 0);
    ls_object_list l;
    ls_err e;
    assert_int_equal(ls_storage_list(st, "0000/", 0, &l, &e), LS_OK);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.items[0].key, "0000/0000000000000001-0000000000000001.ltx");
    assert_string_equal(l.items[2].key, "0000/0000000000000003-0000000000000003.ltx");
    assert_int_equal(l.items[1].size, 5);
    assert_int_equal(l.items[1].created_at_ns, INT64_C(1704164645) * 1000000000);
    ls_object_list_free(&l);
    assert_int_equal(nreq(s), 2);
    assert_string_equal(s->reqs[0].target, "/bkt/?list-type=2&prefix=db%2F0000%2F");
    assert_string_equal(s->reqs[1].target,
                        "/bkt/?continuation-token=p%202%2F%3D&list-type=2&prefix=db%2F0000%2F");
    /* one connection for both pages */
    assert_int_equal(s->reqs[0].conn, s->reqs[1].conn);

    const char *keys[] = {"a", "b"};
    assert_int_equal(ls_storage_del(st, keys, 2, &e), LS_OK);
    req *d = &s->reqs[nreq(s) - 1];
    assert_string_equal(d->target, "/bkt/?delete=");
    assert_non_null(strstr((char *)d->body, "<Object><Key>db/a</Key></Object><Object><Key>db/b</Key></Object>"));
    const char *bad[] = {"denied"};
    assert_int_equal(ls_storage_del(st, bad, 1, &e), LS_ERR_NETWORK);
    assert_non_null(strstr(e.msg, "AccessDenied"));
    ls_storage_close(st);
    srv_stop(s);
}

/* Multipart: assembles parts into s->obj; fails part 2 when asked. */
typedef struct {
    int fail_part;
    unsigned char *parts[8];
    size_t lens[8];
    int aborted, completed;
} mp_ctx;

static bool h_multipart(srv *s, const req *r, int fd) {
    mp_ctx *m = s->ctx;
    if (!strcmp(r->method, "POST") && strstr(r->target, "?uploads=")) {
        const char *xml = "<InitiateMultipartUploadResult><UploadId>up/1+x</UploadId></InitiateMultipartUploadResult>";
        respond(fd, 200, NULL, xml, strlen(xml));
        return true;
    }
    if (!strcmp(r->method, "PUT") && strstr(r->target, "partNumber=")) {
        int pn = atoi(strstr(r->target, "partNumber=") + 11);
        if (!strstr(r->target, "uploadId=up%2F1%2Bx") || pn < 1 || pn > 8) {
            respond(fd, 400, NULL, NULL, 0);
            return true;
        }
        if (pn == m->fail_part) {
            const char *xml = "<Error><Code>EntityTooSmall</Code></Error>";
            respond(fd, 400, NULL, xml, strlen(xml));
            return true;
        }
        pthread_mutex_lock(&s->mu);
        free(m->parts[pn - 1]);
        m->parts[pn - 1] = malloc(r->body_len);
        memcpy(m->parts[pn - 1], r->body, r->body_len);
        m->lens[pn - 1] = r->body_len;
        pthread_mutex_unlock(&s->mu);
        char etag[64];
        snprintf(etag, sizeof(etag), "ETag: \"p%d\"\r\n", pn);
        respond(fd, 200, etag, NULL, 0);
        return true;
    }
    if (!strcmp(r->method, "POST") && strstr(r->target, "uploadId=")) {
        m->completed++;
        const char *xml = "<CompleteMultipartUploadResult><ETag>\"all\"</ETag></CompleteMultipartUploadResult>";
        respond(fd, 200, NULL, xml, strlen(xml));
        return true;
    }
    if (!strcmp(r->method, "DELETE") && strstr(r->target, "uploadId=")) {
        m->aborted++;
        respond(fd, 204, NULL, NULL, 0);
        return true;
    }
    respond(fd, 400, NULL, NULL, 0);
    return true;
}

static void test_multipart(void **state) {
    (void)state;
    srv *s = srv_start(h_multipart);
    mp_ctx m;
    memset(&m, 0, sizeof(m));
    s->ctx = &m;
    int64_t part = LS_S3_DEFAULT_PART_SIZE;
    size_t total = (size_t)part * 2 + 12345;
    unsigned char *data = malloc(total);
    uint64_t rs = 99;
    lst_rand_bytes(&rs, data, total);
    ls_storage *st = open_s3(s, "db", part, 2);
    ls_reader *r = ls_reader_mem(data, total);
    ls_put_opts po = {.created_at_ns = INT64_C(1704164645) * 1000000000, .size_hint = -1};
    ls_err e;
    assert_int_equal(ls_storage_put(st, "0009/0000000000000001-0000000000000009.ltx", r, &po, &e), LS_OK);
    ls_reader_close(r);
    assert_int_equal(m.completed, 1);
    assert_int_equal(m.aborted, 0);
    size_t off = 0;
    for (int i = 0; i < 3; i++) {
        assert_non_null(m.parts[i]);
        assert_memory_equal(m.parts[i], data + off, m.lens[i]);
        off += m.lens[i];
    }
    assert_int_equal(off, total);
    /* the complete body lists the parts in order with their ETags */
    req *c = NULL;
    for (int i = 0; i < nreq(s); i++)
        if (!strcmp(s->reqs[i].method, "POST") && strstr(s->reqs[i].target, "uploadId=")) c = &s->reqs[i];
    assert_non_null(c);
    assert_non_null(strstr((char *)c->body, "<Part><PartNumber>1</PartNumber><ETag>&quot;p1&quot;</ETag></Part>"
                                            "<Part><PartNumber>2</PartNumber>"));
    char v[128];
    assert_non_null(hdr(&s->reqs[0], "x-amz-meta-litestream-timestamp", v, sizeof(v)));
    ls_storage_close(st);
    for (int i = 0; i < 8; i++) free(m.parts[i]);
    memset(&m, 0, sizeof(m));

    /* a failing part aborts the upload */
    m.fail_part = 2;
    st = open_s3(s, "db", part, 2);
    r = ls_reader_mem(data, total);
    assert_int_equal(ls_storage_put(st, "0009/x.ltx", r, &po, &e), LS_ERR_INVALID);
    ls_reader_close(r);
    assert_non_null(strstr(e.msg, "part 2"));
    assert_int_equal(m.aborted, 1);
    assert_int_equal(m.completed, 0);
    ls_storage_close(st);
    for (int i = 0; i < 8; i++) free(m.parts[i]);
    free(data);
    srv_stop(s);
}

static void test_keepalive(void **state) {
    (void)state;
    srv *s = srv_start(h_ok_put);
    ls_storage *st = open_s3(s, "", 0, 0);
    ls_err e;
    for (int i = 0; i < 5; i++) {
        ls_reader *r = ls_reader_mem("abc", 3);
        assert_int_equal(ls_storage_put(st, "0000/k", r, NULL, &e), LS_OK);
        ls_reader_close(r);
    }
    assert_int_equal(nreq(s), 5);
    assert_int_equal(s->nconn, 1);
    /* empty path: leading slash in the object key (spec 3.2) */
    assert_string_equal(s->reqs[0].target, "/bkt//0000/k");
    ls_storage_close(st);
    srv_stop(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_request_shape),
        cmocka_unit_test(test_retries),
        cmocka_unit_test(test_no_retry_on_403),
        cmocka_unit_test(test_get_resume_and_head),
        cmocka_unit_test(test_list_and_delete),
        cmocka_unit_test(test_multipart),
        cmocka_unit_test(test_keepalive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
