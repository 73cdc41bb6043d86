/* Unit tests for config/: replica URL parsing (every scheme, every S3 host
 * form and query parameter), display URLs, byte sizes, env expansion, Go
 * path.Clean and go-yaml v2 scalar resolution. */
#include "util/fs.h"
#include "testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "config/config_internal.h"

static const char *nn(const char *s) { return s ? s : "(null)"; }

typedef struct url_case {
    const char *url;
    ls_replica_type type;
    const char *host;
    const char *path;
    const char *bucket;
    const char *region;
    const char *endpoint;
    int fps; /* -1: don't check, else force_path_style.v */
} url_case;

static void check_url(const url_case *c) {
    ls_replica_url *u = NULL;
    ls_err e;
    ls_code rc = ls_parse_replica_url(c->url, &u, &e);
    if (rc != LS_OK) fail_msg("%s: unexpected error %s", c->url, e.msg);
    if (u->type != c->type) fail_msg("%s: type %d, want %d", c->url, u->type, c->type);
    if (c->host && strcmp(nn(u->host), c->host) != 0)
        fail_msg("%s: host %s, want %s", c->url, nn(u->host), c->host);
    if (c->path && strcmp(nn(u->path), c->path) != 0)
        fail_msg("%s: path \"%s\", want \"%s\"", c->url, nn(u->path), c->path);
    if (c->bucket && strcmp(nn(u->bucket), c->bucket) != 0)
        fail_msg("%s: bucket \"%s\", want \"%s\"", c->url, nn(u->bucket), c->bucket);
    if (c->region && strcmp(nn(u->region), c->region) != 0)
        fail_msg("%s: region \"%s\", want \"%s\"", c->url, nn(u->region), c->region);
    if (c->endpoint && strcmp(nn(u->endpoint), c->endpoint) != 0)
        fail_msg("%s: endpoint \"%s\", want \"%s\"", c->url, nn(u->endpoint), c->endpoint);
    if (c->fps >= 0 && u->force_path_style.v != (c->fps == 1))
        fail_msg("%s: force_path_style %d, want %d", c->url, u->force_path_style.v, c->fps);
    ls_replica_url_free(u);
}

static void test_url_table(void **state) {
    (void)state;
    const url_case cases[] = {
        /* file: scheme dropped, query ignored, cleaned absolute path */
        {"file:///backups/db", LS_REPLICA_FILE, NULL, "/backups/db", NULL, NULL, NULL, -1},
        {"file://host/x", LS_REPLICA_FILE, NULL, "/host/x", NULL, NULL, NULL, -1},
        {"file:///a/../b/./c/", LS_REPLICA_FILE, NULL, "/b/c", NULL, NULL, NULL, -1},
        {"file:///x?y=1", LS_REPLICA_FILE, NULL, "/x", NULL, NULL, NULL, -1},
        {"file:///a%20b", LS_REPLICA_FILE, NULL, "/a%20b", NULL, NULL, NULL, -1},
        /* s3: plain bucket, path cleaning, "." quirk */
        {"s3://mybucket/backups/db", LS_REPLICA_S3, "mybucket", "backups/db", "mybucket", NULL, NULL, 0},
        {"s3://b", LS_REPLICA_S3, "b", ".", "b", NULL, NULL, 0},
        {"s3://b/", LS_REPLICA_S3, "b", "", "b", NULL, NULL, 0},
        {"s3://b/x/", LS_REPLICA_S3, "b", "x", "b", NULL, NULL, 0},
        {"s3://b//a//b/../c", LS_REPLICA_S3, "b", "a/c", "b", NULL, NULL, 0},
        {"S3://b/p", LS_REPLICA_S3, "b", "p", "b", NULL, NULL, 0},
        {"s3://b/a%2Fb", LS_REPLICA_S3, "b", "a/b", "b", NULL, NULL, 0},
        /* s3 host forms */
        {"s3://mybucket.s3.amazonaws.com/p", LS_REPLICA_S3, NULL, "p", "mybucket", NULL, NULL, 0},
        {"s3://my.bucket.s3.us-west-2.amazonaws.com/p", LS_REPLICA_S3, NULL, "p", "my.bucket", "us-west-2", NULL, 0},
        {"s3://b.s3.eu-central-1.amazonaws.com", LS_REPLICA_S3, NULL, ".", "b", "eu-central-1", NULL, 0},
        {"s3://b.nyc3.digitaloceanspaces.com/p", LS_REPLICA_S3, NULL, "p", "b", "nyc3", "https://nyc3.digitaloceanspaces.com", 0},
        {"s3://b.s3.us-west-002.backblazeb2.com/p", LS_REPLICA_S3, NULL, "p", "b", "us-west-002", "https://s3.us-west-002.backblazeb2.com", 1},
        {"s3://b.s3.filebase.com/p", LS_REPLICA_S3, NULL, "p", "b", NULL, "s3.filebase.com", 0},
        {"s3://b.s3.fr-par.scw.cloud/p", LS_REPLICA_S3, NULL, "p", "b", "fr-par", "s3.fr-par.scw.cloud", 0},
        {"s3://bucket.localhost:9000/p", LS_REPLICA_S3, "bucket.localhost", "p", "bucket", "us-east-1", "http://localhost:9000", 1},
        {"s3://bkt.minio.internal:9000/p", LS_REPLICA_S3, NULL, "p", "bkt", "us-east-1", "http://minio.internal:9000", 1},
        {"s3://localhost:9000/p", LS_REPLICA_S3, "localhost", "p", "", NULL, "http://localhost:9000", 1},
        {"s3://other.example.org/p", LS_REPLICA_S3, NULL, "p", "other.example.org", NULL, NULL, 0},
        /* access points */
        {"s3://arn:aws:s3:us-east-2:123456789012:accesspoint/my-ap/prefix/db", LS_REPLICA_S3, NULL, "prefix/db",
         "arn:aws:s3:us-east-2:123456789012:accesspoint/my-ap", "us-east-2", NULL, 0},
        {"s3://arn:aws:s3:us-east-2:123456789012:accesspoint/my-ap", LS_REPLICA_S3, NULL, "",
         "arn:aws:s3:us-east-2:123456789012:accesspoint/my-ap", "us-east-2", NULL, 0},
        {"s3://arn:aws:s3:us-east-2:1:accesspoint/ap/x/../y/?region=eu-west-1", LS_REPLICA_S3, NULL, "y",
         "arn:aws:s3:us-east-2:1:accesspoint/ap", "eu-west-1", NULL, 0},
        /* query parameters */
        {"s3://b/p?endpoint=localhost:9000", LS_REPLICA_S3, NULL, "p", "b", NULL, "http://localhost:9000", 1},
        {"s3://b/p?endpoint=minio.example.com&forcePathStyle=false", LS_REPLICA_S3, NULL, "p", "b", NULL, "https://minio.example.com", 0},
        {"s3://b/p?endpoint=172.20.1.1:9000", LS_REPLICA_S3, NULL, "p", "b", NULL, "http://172.20.1.1:9000", 1},
        {"s3://b/p?endpoint=nas.local:9000", LS_REPLICA_S3, NULL, "p", "b", NULL, "http://nas.local:9000", 1},
        {"s3://b/p?endpoint=10.0.0.5", LS_REPLICA_S3, NULL, "p", "b", NULL, "http://10.0.0.5", 1},
        {"s3://b/p?endpoint=https://x.example.com&region=eu", LS_REPLICA_S3, NULL, "p", "b", "eu", "https://x.example.com", 1},
        {"s3://b/p?forcePathStyle=true", LS_REPLICA_S3, NULL, "p", "b", NULL, NULL, 1},
        {"s3://b/p?force-path-style=true", LS_REPLICA_S3, NULL, "p", "b", NULL, NULL, 0},
        /* gs, abs */
        {"gs://bucket/path/db", LS_REPLICA_GS, NULL, "path/db", "bucket", NULL, NULL, -1},
        {"gs://bucket", LS_REPLICA_GS, NULL, ".", "bucket", NULL, NULL, -1},
        {"abs://account@container/path", LS_REPLICA_ABS, "container", "path", "container", NULL, NULL, -1},
        {"abs://container/p/", LS_REPLICA_ABS, NULL, "p", "container", NULL, NULL, -1},
        /* sftp keeps the leading "/" and the port in host */
        {"sftp://user:pass@host:2222/data/db", LS_REPLICA_SFTP, "host:2222", "/data/db", NULL, NULL, NULL, -1},
        {"sftp://user@host", LS_REPLICA_SFTP, "host", "", NULL, NULL, NULL, -1},
        /* webdav / webdavs */
        {"webdav://u:p@dav.example.com:8080/dav/x", LS_REPLICA_WEBDAV, NULL, "/dav/x", NULL, NULL, NULL, -1},
        {"webdavs://dav.example.com/x", LS_REPLICA_WEBDAV, NULL, "/x", NULL, NULL, NULL, -1},
        /* nats */
        {"nats://u:p@nats.local:4222/mybucket", LS_REPLICA_NATS, NULL, "", "mybucket", NULL, NULL, -1},
        {"nats://nats.local/mybucket/", LS_REPLICA_NATS, NULL, "", "mybucket", NULL, NULL, -1},
        {"nats://nats.local", LS_REPLICA_NATS, NULL, "", "", NULL, NULL, -1},
        /* oss */
        {"oss://b.oss-cn-shanghai.aliyuncs.com/p", LS_REPLICA_OSS, NULL, "p", "b", "cn-shanghai", NULL, -1},
        {"oss://b.oss-cn-beijing-internal.aliyuncs.com/p", LS_REPLICA_OSS, NULL, "p", "b", "cn-beijing", NULL, -1},
        {"oss://oss-cn-hangzhou.aliyuncs.com/p", LS_REPLICA_OSS, NULL, "p", "", "cn-hangzhou", NULL, -1},
        {"oss://mybucket/p", LS_REPLICA_OSS, NULL, "p", "mybucket", "", NULL, -1},
        {"oss://mybucket", LS_REPLICA_OSS, NULL, ".", "mybucket", "", NULL, -1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) check_url(&cases[i]);
}

static void test_url_details(void **state) {
    (void)state;
    ls_replica_url *u;
    ls_err e;
    assert_int_equal(ls_parse_replica_url(
                         "s3://b/p?endpoint=http://x:9000&region=eu&skipVerify=true&signPayload=false"
                         "&requireContentMD5=no&storageClass=GLACIER&partSize=10485760&concurrency=3",
                         &u, &e),
                     LS_OK);
    assert_string_equal(u->endpoint, "http://x:9000");
    assert_string_equal(u->region, "eu");
    assert_true(u->skip_verify.set && u->skip_verify.v);
    assert_true(u->sign_payload.set && !u->sign_payload.v);
    assert_true(u->require_content_md5.set && !u->require_content_md5.v);
    assert_string_equal(u->storage_class, "GLACIER");
    assert_int_equal(u->part_size, 10485760);
    assert_int_equal(u->concurrency, 3);
    assert_string_equal(ls_replica_url_query(u, "region"), "eu");
    assert_null(ls_replica_url_query(u, "nope"));
    ls_replica_url_free(u);

    /* alternate spellings; booleans accept true/1/t/yes, anything else false */
    assert_int_equal(ls_parse_replica_url("s3://b/p?sign-payload=1&require-content-md5=T"
                                          "&storage-class=STANDARD_IA&part-size=6000000",
                                          &u, &e),
                     LS_OK);
    assert_true(u->sign_payload.set && u->sign_payload.v);
    assert_true(u->require_content_md5.set && u->require_content_md5.v);
    assert_string_equal(u->storage_class, "STANDARD_IA");
    assert_int_equal(u->part_size, 6000000);
    assert_false(u->skip_verify.set);
    ls_replica_url_free(u);
    assert_int_equal(ls_parse_replica_url("s3://b/p?signPayload=maybe&skipVerify=yes", &u, &e), LS_OK);
    assert_true(u->sign_payload.set && !u->sign_payload.v);
    assert_true(u->skip_verify.set && !u->skip_verify.v); /* only "true" counts */
    ls_replica_url_free(u);

    /* userinfo decoding */
    assert_int_equal(ls_parse_replica_url("sftp://us%40er:p%3Ass@h:22/x", &u, &e), LS_OK);
    assert_string_equal(u->user, "us@er");
    assert_string_equal(u->password, "p:ss");
    assert_int_equal(u->port, 22);
    ls_replica_url_free(u);
    assert_int_equal(ls_parse_replica_url("webdavs://u:p@dav.example.com:8443/x", &u, &e), LS_OK);
    assert_string_equal(u->server_url, "https://dav.example.com:8443");
    assert_string_equal(u->scheme, "webdavs");
    assert_string_equal(u->user, "u");
    ls_replica_url_free(u);
    assert_int_equal(ls_parse_replica_url("nats://u:p@nats.local:4222/bkt", &u, &e), LS_OK);
    assert_string_equal(u->server_url, "nats://nats.local:4222");
    ls_replica_url_free(u);
    assert_int_equal(ls_parse_replica_url("abs://acct@ctr/p", &u, &e), LS_OK);
    assert_string_equal(u->account_name, "acct");
    ls_replica_url_free(u);
    assert_int_equal(ls_parse_replica_url("s3://[::1]:9000/p", &u, &e), LS_OK);
    assert_int_equal(u->port, 9000);
    ls_replica_url_free(u);
}

static void expect_url_error(const char *url, const char *needle) {
    ls_replica_url *u = (ls_replica_url *)1;
    ls_err e;
    ls_code rc = ls_parse_replica_url(url, &u, &e);
    if (rc != LS_ERR_CONFIG) fail_msg("%s: expected LS_ERR_CONFIG, got %d", url, rc);
    assert_null(u);
    if (!strstr(e.msg, needle)) fail_msg("%s: message \"%s\" lacks \"%s\"", url, e.msg, needle);
}

static void test_url_errors(void **state) {
    (void)state;
    expect_url_error("/abs/path", "replica url scheme required: /abs/path");
    expect_url_error("bucket/path", "replica url scheme required: bucket/path");
    expect_url_error("", "replica url scheme required");
    expect_url_error("foo://x/y", "unsupported replica URL scheme: \"foo\"");
    expect_url_error("sqlite://x.db", "unsupported replica URL scheme: \"sqlite\"");
    expect_url_error("s3://b%zz/x", "invalid URL escape");
    expect_url_error("s3://b/%2", "invalid URL escape");
    expect_url_error("s3://host:abc/x", "invalid port");
    expect_url_error("s3://host:99999/x", "port out of range");
    expect_url_error("s3://b/p?partSize=abc", "invalid value for query parameter \"partSize\": \"abc\"");
    expect_url_error("s3://b/p?concurrency=0", "invalid value for query parameter \"concurrency\": \"0\"");
    expect_url_error("s3://b/p?part-size=-5", "part-size");
    expect_url_error("s3://arn:aws:s3:us-east-1:1:bucket/x", "invalid s3 access point arn");
    expect_url_error("s3://b\x01/x", "invalid control character");
    expect_url_error("s3://b c/x", "invalid character");
    /* secrets never appear in error messages */
    ls_replica_url *u;
    ls_err e;
    assert_int_equal(ls_parse_replica_url("foo://user:hunter2@h/x?secret=s3cr3t", &u, &e), LS_ERR_CONFIG);
    assert_null(strstr(e.msg, "hunter2"));
    assert_null(strstr(e.msg, "s3cr3t"));
    assert_int_equal(ls_parse_replica_url("s3://user:hunter2@b%zz/x", &u, &e), LS_ERR_CONFIG);
    assert_null(strstr(e.msg, "hunter2"));
}

static void check_display(const char *in, const char *want) {
    char *d = ls_replica_url_display(in);
    assert_non_null(d);
    if (strcmp(d, want) != 0) fail_msg("display(%s) = %s, want %s", in, d, want);
    free(d);
}

static void test_url_display(void **state) {
    (void)state;
    check_display("sftp://user:secret@host/x", "sftp://user:xxxxx@host/x");
    check_display("sftp://user@host/x", "sftp://user@host/x");
    check_display("webdavs://u:p%40ss@dav/x", "webdavs://u:xxxxx@dav/x");
    check_display("s3://b/p?secret-access-key=abc&region=us", "s3://b/p?secret-access-key=xxxxx&region=us");
    check_display("s3://b/p?sseCustomerKey=AAAA&sseKmsKeyId=k1", "s3://b/p?sseCustomerKey=xxxxx&sseKmsKeyId=k1");
    check_display("abs://acct@c/p?sas-token=zzz&sig=qq", "abs://acct@c/p?sas-token=xxxxx&sig=xxxxx");
    check_display("nats://u:pw@n:4222/b?token=t&jwt=j", "nats://u:xxxxx@n:4222/b?token=xxxxx&jwt=xxxxx");
    check_display("s3://b/p?accessKeyId=AKIA&secretAccessKey=S", "s3://b/p?accessKeyId=AKIA&secretAccessKey=xxxxx");
    check_display("s3://b/p", "s3://b/p");
    check_display("file:///x/y", "file:///x/y");
    check_display("/plain/path", "/plain/path");
    check_display("s3://b/p?", "s3://b/p?");
    check_display("s3://b/p?a&&password", "s3://b/p?a&&password");
    check_display("s3://b/p#frag", "s3://b/p");
    check_display("s3://u:p@b/x\n", "<invalid url>");
    /* many short secret params cannot overflow the output buffer */
    char big[2048] = "s3://b/p?";
    for (int i = 0; i < 300; i++) strcat(big, "sig=&");
    char *d = ls_replica_url_display(big);
    assert_non_null(d);
    assert_null(strstr(d, "sig=&sig=&sig=&x"));
    free(d);
}

static void test_is_replica_url(void **state) {
    (void)state;
    assert_true(ls_is_replica_url("s3://b"));
    assert_true(ls_is_replica_url("file:///x"));
    assert_true(ls_is_replica_url("sqlite3://x.db"));
    assert_true(ls_is_replica_url("a_1://x"));
    assert_false(ls_is_replica_url("/x/y"));
    assert_false(ls_is_replica_url("s3:/b"));
    assert_false(ls_is_replica_url("://x"));
    assert_false(ls_is_replica_url("s-3://x"));
    assert_false(ls_is_replica_url(NULL));
    assert_int_equal(ls_replica_type_from_name("webdavs"), LS_REPLICA_WEBDAV);
    assert_int_equal(ls_replica_type_from_name("S3"), LS_REPLICA_UNKNOWN);
    assert_string_equal(ls_replica_type_name(LS_REPLICA_OSS), "oss");
    assert_string_equal(ls_replica_type_name(LS_REPLICA_UNKNOWN), "");
}

static void test_parse_bytes(void **state) {
    (void)state;
    struct {
        const char *in;
        int64_t want;
    } ok[] = {
        {"5MB", 5000000},      {"5MiB", 5242880},     {"5mib", 5242880},   {"5 MiB", 5242880},
        {"1,000 kb", 1000000}, {"1.5 GiB", 1610612736}, {"100", 100},      {"100B", 100},
        {"1k", 1000},          {"1Ki", 1024},         {"2G", 2000000000},  {"1TB", 1000000000000LL},
        {"1tib", 1099511627776LL}, {"1PB", 1000000000000000LL}, {"1e", 1000000000000000000LL},
        {"  7 kB  ", 7000},    {"0", 0},              {"1.", 1},           {".5k", 500},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        int64_t v = -1;
        ls_err e;
        if (ls_parse_bytes(ok[i].in, &v, &e) != LS_OK) fail_msg("%s: %s", ok[i].in, e.msg);
        if (v != ok[i].want) fail_msg("%s = %lld, want %lld", ok[i].in, (long long)v, (long long)ok[i].want);
    }
    const char *bad[] = {"", "  ", "MB", "-5MB", "5XB", "5 M B", "1.2.3MB", "10EiB", "abc", "5MBs"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t v;
        ls_err e;
        if (ls_parse_bytes(bad[i], &v, &e) == LS_OK) fail_msg("%s: expected error", bad[i]);
    }
    ls_err e;
    int64_t v;
    assert_int_not_equal(ls_parse_bytes("5XB", &v, &e), LS_OK);
    assert_non_null(strstr(e.msg, "5XB"));
}

static void check_expand(const char *in, const char *want) {
    char *o = ls_config_expand_env(in);
    assert_non_null(o);
    if (strcmp(o, want) != 0) fail_msg("expand(%s) = \"%s\", want \"%s\"", in, o, want);
    free(o);
}

static void test_env_expand(void **state) {
    (void)state;
    setenv("LST_A", "alpha", 1);
    setenv("LST_B_2", "beta", 1);
    unsetenv("LST_UNSET");
    setenv("X:-d", "weird", 1);
    char pid[32];
    snprintf(pid, sizeof(pid), "%ld", (long)getpid());
    char want[96];

    check_expand("$LST_A", "alpha");
    check_expand("${LST_A}", "alpha");
    check_expand("x$LST_A.y", "xalpha.y");
    check_expand("$LST_B_2/z", "beta/z");
    check_expand("$LST_UNSET|", "|");                 /* unset -> empty */
    check_expand("${LST_UNSET:-default}", "");       /* no :- syntax: name "LST_UNSET:-default" */
    check_expand("${X:-d}", "weird");                /* looked up literally */
    check_expand("a${}b", "ab");                     /* ${} removed */
    check_expand("a${LST_A", "aLST_A");              /* unterminated: only "${" dropped */
    check_expand("cost $5", "cost ");                /* $5 special one-char name */
    check_expand("$$", "");                          /* $$ -> special "$" (empty) */
    check_expand("a$*b$#c$@d$!e$?f$-g$0h", "abcdefgh");
    check_expand("$1abc", "abc");                    /* one char only */
    check_expand("${*}x", "x");
    check_expand("100$", "100$");                    /* $ at end stays */
    check_expand("a $ b", "a $ b");                  /* $ + other char stays */
    check_expand("$/x", "$/x");
    check_expand("$%", "$%");
    check_expand("", "");
    snprintf(want, sizeof(want), "pid=%s", pid);
    check_expand("pid=$PID", want);
    snprintf(want, sizeof(want), "%s.sock", pid);
    check_expand("${PID}.sock", want);
    check_expand("$PIDX", "");                       /* a different name */
    unsetenv("X:-d");
}

static void test_path_clean(void **state) {
    (void)state;
    struct {
        const char *in, *want;
    } c[] = {
        {"", "."},        {"/", "/"},        {"a/b", "a/b"},    {"a//b", "a/b"},   {"a/./b", "a/b"},
        {"a/../b", "b"},  {"/../a", "/a"},   {"../a", "../a"},  {"a/..", "."},     {"//x//", "/x"},
        {"a/b/../../..", ".."}, {"./", "."}, {"/a/b/./c/..", "/a/b"}, {"..", ".."}, {"../../x/..", "../.."},
    };
    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        char *o = ls_path_clean(c[i].in);
        if (strcmp(o, c[i].want) != 0) fail_msg("clean(%s)=%s want %s", c[i].in, o, c[i].want);
        free(o);
    }
}

static void test_scalar_resolution(void **state) {
    (void)state;
    lscfg_resolved r;
    const char *trues[] = {"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"};
    for (size_t i = 0; i < sizeof(trues) / sizeof(trues[0]); i++) {
        lscfg_resolve(trues[i], true, &r);
        if (r.tag != LSCFG_R_BOOL || !r.b) fail_msg("%s should be true", trues[i]);
    }
    const char *falses[] = {"n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"};
    for (size_t i = 0; i < sizeof(falses) / sizeof(falses[0]); i++) {
        lscfg_resolve(falses[i], true, &r);
        if (r.tag != LSCFG_R_BOOL || r.b) fail_msg("%s should be false", falses[i]);
    }
    const char *strs[] = {"yEs", "tRue", "oN", "enabled", "1s", "0x", "0b2", "abc", "--1"};
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        lscfg_resolve(strs[i], true, &r);
        if (r.tag != LSCFG_R_STR) fail_msg("%s should be a string (tag %d)", strs[i], r.tag);
    }
    lscfg_resolve("true", false, &r); /* quoted */
    assert_int_equal(r.tag, LSCFG_R_STR);
    struct {
        const char *in;
        int64_t v;
    } ints[] = {{"0600", 384}, {"600", 600}, {"0o600", 384}, {"0x180", 384}, {"0X1f", 31},
                {"0b101", 5}, {"-0b11", -3}, {"+42", 42}, {"-7", -7}, {"1_000", 1000},
                {"0", 0}, {"9223372036854775807", INT64_MAX}, {"-9223372036854775808", INT64_MIN}};
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        lscfg_resolve(ints[i].in, true, &r);
        if (r.tag != LSCFG_R_INT || r.i != ints[i].v)
            fail_msg("%s: tag %d value %lld", ints[i].in, r.tag, (long long)r.i);
    }
    lscfg_resolve("18446744073709551615", true, &r);
    assert_int_equal(r.tag, LSCFG_R_UINT);
    lscfg_resolve("0800", true, &r); /* invalid octal -> float 800 (go-yaml v2) */
    assert_int_equal(r.tag, LSCFG_R_FLOAT);
    assert_true(r.f == 800.0);
    lscfg_resolve("1e3", true, &r);
    assert_int_equal(r.tag, LSCFG_R_FLOAT);
    lscfg_resolve(".5", true, &r);
    assert_int_equal(r.tag, LSCFG_R_FLOAT);
    lscfg_resolve(".inf", true, &r);
    assert_int_equal(r.tag, LSCFG_R_FLOAT);
    const char *nulls[] = {"", "~", "null", "Null", "NULL"};
    for (size_t i = 0; i < 5; i++) {
        lscfg_resolve(nulls[i], true, &r);
        assert_int_equal(r.tag, LSCFG_R_NULL);
    }
    lscfg_resolve("nULL", true, &r);
    assert_int_equal(r.tag, LSCFG_R_STR);
}

static void test_endpoint_helpers(void **state) {
    (void)state;
    assert_true(lscfg_is_local_endpoint("localhost:9000"));
    assert_true(lscfg_is_local_endpoint("http://127.0.0.1:9000"));
    assert_true(lscfg_is_local_endpoint("192.168.1.2"));
    assert_true(lscfg_is_local_endpoint("172.31.0.1"));
    assert_true(lscfg_is_local_endpoint("172.29.0.1"));
    assert_true(lscfg_is_local_endpoint("minio.localhost"));
    assert_false(lscfg_is_local_endpoint("172.32.0.1"));
    assert_false(lscfg_is_local_endpoint("s3.amazonaws.com"));
    assert_false(lscfg_is_local_endpoint(""));
    char *s = lscfg_ensure_endpoint_scheme("minio:9000");
    assert_string_equal(s, "https://minio:9000");
    free(s);
    s = lscfg_ensure_endpoint_scheme("10.1.2.3:9000");
    assert_string_equal(s, "http://10.1.2.3:9000");
    free(s);
    s = lscfg_endpoint_host("HTTPS://User@Host/x");
    assert_string_equal(s, "");
    free(s);
    assert_true(lscfg_is_secret_param("secret-access-key"));
    assert_true(lscfg_is_secret_param("sse-customer-key"));
    assert_false(lscfg_is_secret_param("sse-kms-key-id"));
    assert_false(lscfg_is_secret_param("region"));
}

int main(int argc, char **argv) {
    if (argc > 1) cmocka_set_test_filter(argv[1]); /* e.g. "test_errors" */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_table),        cmocka_unit_test(test_url_details),
        cmocka_unit_test(test_url_errors),       cmocka_unit_test(test_url_display),
        cmocka_unit_test(test_is_replica_url),   cmocka_unit_test(test_parse_bytes),
        cmocka_unit_test(test_env_expand),       cmocka_unit_test(test_path_clean),
        cmocka_unit_test(test_scalar_resolution), cmocka_unit_test(test_endpoint_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
