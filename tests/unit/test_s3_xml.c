/* Unit tests for the S3 backend's pure parts: the bounded XML scanner and
 * response parsers, key mapping (spec 3.2 / 9.2), endpoints and URLs, time
 * formats, retry policy, digests, and option validation at open. */
#include "util/fs.h"
#include "testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/s3.h"
#include "storage/s3_internal.h"
#include "storage/storage.h"

/* ------------------------------------------------------------------ XML -- */

static const char LIST1[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\n"
    "  <Name>testbkt</Name><Prefix>db/0000/</Prefix><KeyCount>3</KeyCount>\n"
    "  <MaxKeys>1000</MaxKeys><IsTruncated>true</IsTruncated>\n"
    "  <NextContinuationToken>tok&amp;en/+=</NextContinuationToken>\n"
    "  <!-- a comment with <tags> inside -->\n"
    "  <Contents><Key>db/0000/0000000000000001-0000000000000001.ltx</Key>"
    "<LastModified>2024-01-02T03:04:05.000Z</LastModified><ETag>&quot;abc&quot;</ETag>"
    "<Size>123</Size><StorageClass>STANDARD</StorageClass></Contents>\n"
    "  <Contents><Key>db/a &amp; b &lt;c&gt; &#233;&#x4e2d;</Key><Size>0</Size></Contents>\n"
    "  <Contents><Key><![CDATA[db/x<y>&z]]></Key><Size>7</Size>"
    "<Owner><ID>1</ID><DisplayName>me</DisplayName></Owner></Contents>\n"
    "  <CommonPrefixes><Prefix>db/generations/</Prefix></CommonPrefixes>\n"
    "</ListBucketResult>\n";

static void test_xml_list(void **state) {
    (void)state;
    s3_list_page p;
    ls_err e;
    assert_int_equal(s3_parse_list(LIST1, strlen(LIST1), &p, &e), LS_OK);
    assert_int_equal(p.n, 4);
    assert_true(p.truncated);
    assert_string_equal(p.next_token, "tok&en/+=");
    assert_string_equal(p.items[0].key, "db/0000/0000000000000001-0000000000000001.ltx");
    assert_int_equal(p.items[0].size, 123);
    assert_int_equal(p.items[0].mtime_ns, INT64_C(1704164645) * 1000000000);
    assert_string_equal(p.items[1].key, "db/a & b <c> \xc3\xa9\xe4\xb8\xad");
    assert_int_equal(p.items[1].size, 0);
    assert_int_equal(p.items[1].mtime_ns, 0);
    assert_string_equal(p.items[2].key, "db/x<y>&z");
    assert_true(p.items[3].is_prefix);
    assert_string_equal(p.items[3].key, "db/generations/");
    assert_int_equal(p.items[3].size, -1);
    s3_list_page_free(&p);

    const char *last = "<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>";
    assert_int_equal(s3_parse_list(last, strlen(last), &p, &e), LS_OK);
    assert_int_equal(p.n, 0);
    assert_false(p.truncated);
    assert_null(p.next_token);
    s3_list_page_free(&p);

    const char *ns = "<s3:ListBucketResult xmlns:s3=\"x\"><s3:Contents><s3:Key>k</s3:Key><s3:Size>5</s3:Size>"
                     "</s3:Contents></s3:ListBucketResult>";
    assert_int_equal(s3_parse_list(ns, strlen(ns), &p, &e), LS_OK);
    assert_int_equal(p.n, 1);
    assert_string_equal(p.items[0].key, "k");
    s3_list_page_free(&p);
}

static void test_xml_list_errors(void **state) {
    (void)state;
    const char *bad[] = {
        "",
        "   ",
        "<ListBucketResult>",                                         /* unclosed */
        "<ListBucketResult></ListBucketResul>",                       /* mismatched */
        "<ListBucketResult></ListBucketResult><Again/>",              /* 2 roots */
        "junk<ListBucketResult/>",                                    /* text outside */
        "<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>", /* no key */
        "<ListBucketResult><Contents><Key>k</Key></Contents></ListBucketResult>",   /* no size */
        "<ListBucketResult><Contents><Key>k</Key><Size>-1</Size></Contents></ListBucketResult>",
        "<ListBucketResult><Contents><Key>k</Key><Size>99999999999999999999</Size></Contents></ListBucketResult>",
        "<ListBucketResult><Contents><Key>a&bogus;</Key><Size>1</Size></Contents></ListBucketResult>",
        "<ListBucketResult><Contents><Key>a&#0;</Key><Size>1</Size></Contents></ListBucketResult>",
        "<ListBucketResult><Contents><Key>a&#xD800;</Key><Size>1</Size></Contents></ListBucketResult>",
        "<ListBucketResult><Contents><Key>a&amp</Key><Size>1</Size></Contents></ListBucketResult>",
        "<Error><Code>AccessDenied</Code></Error>",                  /* wrong root */
        "<ListBucketResult a=\"1></ListBucketResult>",                /* bad attribute */
        "<ListBucketResult><![CDATA[x</ListBucketResult>",            /* unterminated CDATA */
        "<ListBucketResult><!-- x </ListBucketResult>",               /* unterminated comment */
        "<ListBucketResult><?pi </ListBucketResult>",
        "<ListBucketResult></ >",
        "<>",
        "</x>",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        s3_list_page p;
        ls_err e;
        ls_code rc = s3_parse_list(bad[i], strlen(bad[i]), &p, &e);
        if (rc == LS_OK) fail_msg("accepted bad input %zu: %s", i, bad[i]);
        assert_int_equal(rc, LS_ERR_FORMAT);
        assert_true(strlen(e.msg) > 0);
    }
    /* nesting depth and name length limits */
    char deep[2048] = "";
    for (int i = 0; i < S3X_DEPTH_MAX + 1; i++) strcat(deep, "<a>");
    for (int i = 0; i < S3X_DEPTH_MAX + 1; i++) strcat(deep, "</a>");
    char root[80];
    ls_err e;
    s3x x;
    s3x_init(&x, deep, strlen(deep));
    s3x_event ev;
    ls_code rc;
    while ((rc = s3x_next(&x, &ev, &e)) == LS_OK && ev.kind != S3X_EOF) {
    }
    assert_int_equal(rc, LS_ERR_FORMAT);
    assert_non_null(strstr(e.msg, "nested too deeply"));
    char longname[200];
    memset(longname, 'n', sizeof(longname));
    longname[0] = '<';
    longname[S3X_NAME_MAX + 2] = '/';
    longname[S3X_NAME_MAX + 3] = '>';
    assert_int_equal(s3_xml_root(longname, S3X_NAME_MAX + 4, root, sizeof(root), &e), LS_ERR_FORMAT);
    /* a key longer than the value limit */
    size_t big = LS_S3_XML_VALUE_MAX + 100;
    char *doc = malloc(big + 200);
    strcpy(doc, "<ListBucketResult><Contents><Key>");
    size_t o = strlen(doc);
    memset(doc + o, 'k', big);
    strcpy(doc + o + big, "</Key><Size>1</Size></Contents></ListBucketResult>");
    s3_list_page p;
    assert_int_equal(s3_parse_list(doc, strlen(doc), &p, &e), LS_ERR_FORMAT);
    assert_non_null(strstr(e.msg, "longer than"));
    free(doc);
}

static void test_xml_other_docs(void **state) {
    (void)state;
    ls_err e;
    s3_error_doc d;
    const char *err =
        "<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code><Message>The key &lt;x&gt; does not exist</Message>"
        "<Key>a</Key><RequestId>1</RequestId><Region>eu-west-2</Region></Error>";
    assert_int_equal(s3_parse_error(err, strlen(err), &d, &e), LS_OK);
    assert_string_equal(d.code, "NoSuchKey");
    assert_string_equal(d.message, "The key <x> does not exist");
    assert_string_equal(d.region, "eu-west-2");
    assert_int_equal(s3_parse_error("<Other/>", 8, &d, &e), LS_ERR_FORMAT);
    assert_int_equal(s3_parse_error("<Error>", 7, &d, &e), LS_ERR_FORMAT);

    const char *del = "<DeleteResult><Deleted><Key>a</Key></Deleted><Deleted><Key>b</Key></Deleted>"
                      "<Error><Key>c&amp;d</Key><Code>AccessDenied</Code><Message>no</Message></Error>"
                      "<Error><Key>e</Key><Code>NoSuchKey</Code><Message></Message></Error></DeleteResult>";
    struct {
        int n;
        char keys[4][16];
        char codes[4][32];
    } seen = {0};
    size_t ndel = 0;
    assert_int_equal(s3_parse_delete_result(del, strlen(del),
                                            (s3_delete_error_fn)(void (*)(void))NULL, NULL, &ndel, &e),
                     LS_OK);
    assert_int_equal(ndel, 2);
    (void)seen;

    char *id = NULL;
    const char *init = "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key>"
                       "<UploadId>VXBsb2FkIElE&amp;x</UploadId></InitiateMultipartUploadResult>";
    assert_int_equal(s3_parse_initiate(init, strlen(init), &id, &e), LS_OK);
    assert_string_equal(id, "VXBsb2FkIElE&x");
    free(id);
    const char *noid = "<InitiateMultipartUploadResult><Bucket>b</Bucket></InitiateMultipartUploadResult>";
    assert_int_equal(s3_parse_initiate(noid, strlen(noid), &id, &e), LS_ERR_FORMAT);
    assert_null(id);

    char region[64];
    const char *l1 = "<LocationConstraint xmlns=\"x\">eu-central-1</LocationConstraint>";
    assert_int_equal(s3_parse_location(l1, strlen(l1), region, sizeof(region), &e), LS_OK);
    assert_string_equal(region, "eu-central-1");
    const char *l2 = "<LocationConstraint xmlns=\"x\"/>";
    assert_int_equal(s3_parse_location(l2, strlen(l2), region, sizeof(region), &e), LS_OK);
    assert_string_equal(region, "us-east-1");
    const char *l3 = "<LocationConstraint>EU</LocationConstraint>";
    assert_int_equal(s3_parse_location(l3, strlen(l3), region, sizeof(region), &e), LS_OK);
    assert_string_equal(region, "eu-west-1");

    char root[S3X_NAME_MAX + 1];
    const char *cm = "<?xml version=\"1.0\"?>\n<!DOCTYPE x [<!ENTITY e \"boom\">]><s3:Error/>";
    assert_int_equal(s3_xml_root(cm, strlen(cm), root, sizeof(root), &e), LS_OK);
    assert_string_equal(root, "Error");
}

typedef struct {
    int n;
    char key[4][32];
    char code[4][32];
} del_seen;

static void on_del_err(void *ctx, const char *key, const char *code, const char *msg) {
    (void)msg;
    del_seen *s = ctx;
    if (s->n < 4) {
        snprintf(s->key[s->n], sizeof(s->key[0]), "%s", key);
        snprintf(s->code[s->n], sizeof(s->code[0]), "%s", code);
    }
    s->n++;
}

static void test_xml_delete_errors(void **state) {
    (void)state;
    const char *del = "<DeleteResult><Deleted><Key>a</Key></Deleted>"
                      "<Error><Key>c&amp;d</Key><Code>AccessDenied</Code><Message>no</Message></Error>"
                      "<Error><Key>e</Key><Code>NoSuchKey</Code></Error></DeleteResult>";
    del_seen s;
    memset(&s, 0, sizeof(s));
    size_t ndel = 0;
    ls_err e;
    assert_int_equal(s3_parse_delete_result(del, strlen(del), on_del_err, &s, &ndel, &e), LS_OK);
    assert_int_equal(ndel, 1);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.key[0], "c&d");
    assert_string_equal(s.code[0], "AccessDenied");
    assert_string_equal(s.key[1], "e");
    assert_string_equal(s.code[1], "NoSuchKey");
    assert_int_equal(s3_parse_delete_result("<Error/>", 8, on_del_err, &s, &ndel, &e), LS_ERR_FORMAT);
}

/* Random mutations of valid documents: every parser must return without
 * crashing (ASan/valgrind catch out-of-bounds reads); inputs are not NUL
 * terminated (copied into exact-size heap blocks). */
static void test_xml_mutations(void **state) {
    (void)state;
    const char *seeds[] = {
        LIST1,
        "<Error><Code>SlowDown</Code><Message>m</Message></Error>",
        "<DeleteResult><Deleted><Key>a</Key></Deleted><Error><Key>b</Key><Code>X</Code></Error></DeleteResult>",
        "<InitiateMultipartUploadResult><UploadId>u</UploadId></InitiateMultipartUploadResult>",
        "<LocationConstraint>us-west-2</LocationConstraint>",
    };
    uint64_t rs = 0x5eed;
    int iters = lst_under_valgrind() ? 3000 : 40000;
    for (int it = 0; it < iters; it++) {
        const char *seed = seeds[lst_rand(&rs) % 5];
        size_t n = strlen(seed);
        char *buf = malloc(n + 64);
        memcpy(buf, seed, n);
        int muts = 1 + (int)(lst_rand(&rs) % 4);
        for (int m = 0; m < muts; m++) {
            uint64_t r = lst_rand(&rs);
            size_t pos = n ? (size_t)(r % n) : 0;
            switch ((r >> 32) % 4) {
            case 0: buf[pos] = (char)(lst_rand(&rs) & 0xff); break;
            case 1: buf[pos] = "<>/&;\"'[]!?-#x"[lst_rand(&rs) % 14]; break;
            case 2: if (n > 1) { memmove(buf + pos, buf + pos + 1, n - pos - 1); n--; } break;
            default: n = pos; break; /* truncate */
            }
        }
        char *exact = malloc(n ? n : 1);
        memcpy(exact, buf, n);
        free(buf);
        ls_err e;
        s3_list_page p;
        if (s3_parse_list(exact, n, &p, &e) == LS_OK) s3_list_page_free(&p);
        s3_error_doc d;
        s3_parse_error(exact, n, &d, &e);
        size_t nd;
        del_seen ds;
        memset(&ds, 0, sizeof(ds));
        s3_parse_delete_result(exact, n, on_del_err, &ds, &nd, &e);
        char *id = NULL;
        if (s3_parse_initiate(exact, n, &id, &e) == LS_OK) free(id);
        char region[64];
        s3_parse_location(exact, n, region, sizeof(region), &e);
        char root[S3X_NAME_MAX + 1];
        s3_xml_root(exact, n, root, sizeof(root), &e);
        free(exact);
    }
}

/* ----------------------------------------------------------------- keys -- */

static void check_key(const char *path, const char *key, const char *want) {
    char *k = s3_object_key(path, key);
    assert_non_null(k);
    if (strcmp(k, want) != 0) fail_msg("object key of (\"%s\", \"%s\"): got \"%s\", want \"%s\"", path, key, k, want);
    char *root = s3_key_root(path, key);
    assert_true(strncmp(k, root, strlen(root)) == 0);
    assert_string_equal(k + strlen(root), key);
    free(root);
    free(k);
}

static void test_keys(void **state) {
    (void)state;
    /* LTX keys: plain concatenation (spec 3.2) */
    check_key("db", "0000/0000000000000001-0000000000000001.ltx", "db/0000/0000000000000001-0000000000000001.ltx");
    check_key("", "0009/0000000000000001-0000000000000002.ltx", "/0009/0000000000000001-0000000000000002.ltx");
    check_key(".", "0000/x.ltx", "./0000/x.ltx");
    check_key("a/b/", "0001/x.ltx", "a/b//0001/x.ltx");
    check_key("backups/db", "0003/", "backups/db/0003/");
    /* v0.3 keys: path.Join (spec 9.2) */
    check_key("", "generations/0123456789abcdef/snapshots/00000000.snapshot.lz4",
              "generations/0123456789abcdef/snapshots/00000000.snapshot.lz4");
    check_key(".", "generations/", "generations/");
    check_key("db", "generations/g/wal/x", "db/generations/g/wal/x");
    check_key("a//b/", "generations/x", "a/b/generations/x");
    check_key("/abs", "generations/x", "/abs/generations/x");
    check_key("db", "generationsX/y", "db/generationsX/y");

    const struct { const char *in, *out; } clean[] = {
        {"", "."}, {".", "."}, {"a/b/", "a/b"}, {"a//b", "a/b"}, {"/a/../b", "/b"}, {"../a", "../a"},
        {"a/./b/..", "a"}, {"/", "/"}, {"/..", "/"}, {"a/../..", ".."}, {"abc/def/../../..", ".."},
    };
    for (size_t i = 0; i < sizeof(clean) / sizeof(clean[0]); i++) {
        char *c = ls_path_clean(clean[i].in);
        if (strcmp(c, clean[i].out) != 0) fail_msg("Clean(%s) = %s, want %s", clean[i].in, c, clean[i].out);
        free(c);
    }
}

/* ------------------------------------------------------------ endpoints -- */

static void test_endpoints_urls(void **state) {
    (void)state;
    s3_endpoint ep;
    ls_err e;
    assert_int_equal(s3_parse_endpoint("http://127.0.0.1:9000", &ep, &e), LS_OK);
    assert_false(ep.https);
    assert_string_equal(ep.host, "127.0.0.1");
    assert_int_equal(ep.port, 9000);
    assert_string_equal(ep.base, "");
    assert_int_equal(s3_parse_endpoint("HTTPS://S3.Example.COM/base/", &ep, &e), LS_OK);
    assert_true(ep.https);
    assert_string_equal(ep.host, "s3.example.com");
    assert_int_equal(ep.port, 0);
    assert_string_equal(ep.base, "/base");
    assert_int_equal(s3_parse_endpoint("minio.local:9000", &ep, &e), LS_OK);
    assert_true(ep.https);
    assert_int_equal(ep.port, 9000);
    assert_int_equal(s3_parse_endpoint("http://[::1]:8080", &ep, &e), LS_OK);
    assert_string_equal(ep.host, "[::1]");
    assert_int_equal(ep.port, 8080);
    const char *bad[] = {"", "ftp://x", "http://", "http://h:0", "http://h:99999", "http://h:x",
                         "http://user:pw@h", "http://h?x=1", "http://h b", "http://[::1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (s3_parse_endpoint(bad[i], &ep, &e) == LS_OK) fail_msg("accepted endpoint %s", bad[i]);
        assert_null(strstr(e.msg, "pw"));
    }
    assert_true(s3_host_is_loopback("127.0.0.1"));
    assert_true(s3_host_is_loopback("127.1.2.3"));
    assert_true(s3_host_is_loopback("localhost"));
    assert_true(s3_host_is_loopback("[::1]"));
    assert_false(s3_host_is_loopback("10.0.0.1"));
    assert_false(s3_host_is_loopback("s3.amazonaws.com"));

    assert_int_equal(s3_parse_endpoint("http://127.0.0.1:9000", &ep, &e), LS_OK);
    char *u = s3_build_url(&ep, "bkt", true, "db/0000/a b+c~d_e.ltx", NULL);
    assert_string_equal(u, "http://127.0.0.1:9000/bkt/db/0000/a%20b%2Bc~d_e.ltx");
    free(u);
    u = s3_build_url(&ep, "bkt", true, "/0000/x", "list-type=2");
    assert_string_equal(u, "http://127.0.0.1:9000/bkt//0000/x?list-type=2");
    free(u);
    u = s3_build_url(&ep, "bkt", true, "./0000/\xc3\xa9", NULL);
    assert_string_equal(u, "http://127.0.0.1:9000/bkt/./0000/%C3%A9");
    free(u);
    u = s3_build_url(&ep, "bkt", true, NULL, "delete=");
    assert_string_equal(u, "http://127.0.0.1:9000/bkt/?delete=");
    free(u);
    assert_int_equal(s3_parse_endpoint("https://s3.eu-west-1.amazonaws.com", &ep, &e), LS_OK);
    u = s3_build_url(&ep, "bkt", false, "k", NULL);
    assert_string_equal(u, "https://bkt.s3.eu-west-1.amazonaws.com/k");
    free(u);

    s3_buf b = {0};
    assert_true(s3_uri_encode(&b, "a/b=c&d%e", false));
    assert_string_equal(b.p, "a%2Fb%3Dc%26d%25e");
    s3_buf_free(&b);
    assert_true(s3_xml_escape(&b, "<a&'\">"));
    assert_string_equal(b.p, "&lt;a&amp;&apos;&quot;&gt;");
    s3_buf_free(&b);

    char name[64], acct[32], region[32];
    assert_true(s3_parse_access_point("arn:aws:s3:us-west-2:123456789012:accesspoint/my-ap", name, sizeof(name),
                                      acct, sizeof(acct), region, sizeof(region)));
    assert_string_equal(name, "my-ap");
    assert_string_equal(acct, "123456789012");
    assert_string_equal(region, "us-west-2");
    assert_false(s3_parse_access_point("mybucket", name, sizeof(name), acct, sizeof(acct), region, sizeof(region)));
    assert_false(s3_parse_access_point("arn:aws:s3:::bucket", name, sizeof(name), acct, sizeof(acct), region,
                                       sizeof(region)));
}

static void test_time_retry_digest(void **state) {
    (void)state;
    char ts[64];
    s3_format_timestamp(INT64_C(1704164645) * 1000000000 + 123000000, ts, sizeof(ts));
    assert_string_equal(ts, "2024-01-02T03:04:05.123Z");
    s3_format_timestamp(INT64_C(1704164645) * 1000000000 + 100000000, ts, sizeof(ts));
    assert_string_equal(ts, "2024-01-02T03:04:05.1Z");
    s3_format_timestamp(INT64_C(1704164645) * 1000000000, ts, sizeof(ts));
    assert_string_equal(ts, "2024-01-02T03:04:05Z");

    for (int a = 1; a <= 12; a++) {
        int64_t lo = s3_backoff_ms(a, 100, 20000, 0.0), hi = s3_backoff_ms(a, 100, 20000, 0.9999);
        int64_t d = 100;
        for (int i = 1; i < a && d < 20000; i++) d *= 2;
        if (d > 20000) d = 20000;
        assert_int_equal(lo, d / 2);
        assert_true(hi <= d && hi >= d - 1);
    }
    assert_true(s3_retryable_status(500, ""));
    assert_true(s3_retryable_status(503, "SlowDown"));
    assert_true(s3_retryable_status(429, ""));
    assert_true(s3_retryable_status(408, ""));
    assert_true(s3_retryable_status(400, "RequestTimeout"));
    assert_true(s3_retryable_status(200, "InternalError"));
    assert_false(s3_retryable_status(403, "AccessDenied"));
    assert_false(s3_retryable_status(404, "NoSuchKey"));
    assert_false(s3_retryable_status(400, "InvalidArgument"));

    char hex[65], b64[25];
    s3_sha256_hex("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    s3_sha256_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    s3_md5_base64("", 0, b64);
    assert_string_equal(b64, "1B2M2Y8AsgTpgAmY7PhCfg==");
    unsigned char raw[40];
    assert_int_equal(s3_base64_decode("YWJj", raw, sizeof(raw)), 3);
    assert_memory_equal(raw, "abc", 3);
    assert_int_equal(s3_base64_decode("YQ==", raw, sizeof(raw)), 1);
    assert_int_equal(s3_base64_decode("Y", raw, sizeof(raw)), -1);
    assert_int_equal(s3_base64_decode("!!!!", raw, sizeof(raw)), -1);
}

/* ------------------------------------------------------------------ open -- */

static void test_open_validation(void **state) {
    (void)state;
    ls_s3_opts o;
    ls_storage *s = NULL;
    ls_err e;
    ls_s3_opts_defaults(&o);
    assert_int_equal(ls_storage_s3_open(&o, &s, &e), LS_ERR_CONFIG);
    assert_non_null(strstr(e.msg, "bucket required"));
    o.bucket = "b";
    o.part_size = 1024;
    assert_int_equal(ls_storage_s3_open(&o, &s, &e), LS_ERR_CONFIG);
    assert_non_null(strstr(e.msg, "part-size"));
    o.part_size = 0;
    o.sse_customer_key = "c2VjcmV0";
    assert_int_equal(ls_storage_s3_open(&o, &s, &e), LS_ERR_CONFIG);
    assert_null(strstr(e.msg, "c2VjcmV0"));
    o.sse_customer_key = NULL;
    o.endpoint = "ftp://nope";
    assert_int_equal(ls_storage_s3_open(&o, &s, &e), LS_ERR_CONFIG);
    o.endpoint = "http://127.0.0.1:1";
    o.path = "";
    o.access_key_id = "AK";
    o.secret_access_key = "SECRETKEY";
    /* open makes no request: a closed port is fine here */
    assert_int_equal(ls_storage_s3_open(&o, &s, &e), LS_OK);
    assert_string_equal(s->type, "s3");
    assert_int_equal(s->layout, LS_LTX_LAYOUT_HEX4);
    assert_false(s->list_times_accurate);
    assert_null(strstr(s->url, "SECRETKEY"));
    ls_storage_stats st;
    ls_storage_stats_get(s, &st);
    assert_int_equal(st.puts + st.gets + st.lists + st.heads + st.deletes, 0);
    ls_storage_close(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xml_list),
        cmocka_unit_test(test_xml_list_errors),
        cmocka_unit_test(test_xml_other_docs),
        cmocka_unit_test(test_xml_delete_errors),
        cmocka_unit_test(test_xml_mutations),
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_endpoints_urls),
        cmocka_unit_test(test_time_retry_digest),
        cmocka_unit_test(test_open_validation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
