/*
 * tests/unit/test_mcp.c — the MCP layer without a client library: JSON-RPC
 * framing and errors, version negotiation, per-version tool metadata,
 * batches, argument validation, read-only mode, output-path safety,
 * address parsing, and the HTTP transport's guards (Host/Origin, token,
 * body limit, sessions) through libcurl on loopback.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testlib.h"

#include "mcp/mcp_internal.h"
#include "mcp/mcp_state.h"

typedef struct fx {
    char *dir;
    char cfg[4096];
    ls_mcp *m;
} fx;

static void write_text(const char *path, const char *text) { lst_write_file(path, text, strlen(text)); }

static ls_mcp *new_server(fx *f, bool read_only, const char *token, const char *restore_dir) {
    ls_mcp_opts o;
    memset(&o, 0, sizeof(o));
    o.config_path = f->cfg;
    o.expand_env = true;
    o.read_only = read_only;
    o.token = token;
    const char *dirs[1] = {restore_dir};
    if (restore_dir) {
        o.restore_dirs = dirs;
        o.nrestore_dirs = 1;
    }
    o.addr = "test";
    ls_mcp *m = NULL;
    ls_err e;
    assert_int_equal(ls_mcp_new(&o, &m, &e), LS_OK);
    return m;
}

static int setup(void **state) {
    fx *f = calloc(1, sizeof(*f));
    f->dir = lst_tmpdir();
    snprintf(f->cfg, sizeof(f->cfg), "%s/ls.yml", f->dir);
    char yml[8192];
    snprintf(yml, sizeof(yml), "dbs:\n  - path: %s/app.db\n    replica:\n      url: file://%s/replica\n",
             f->dir, f->dir);
    write_text(f->cfg, yml);
    f->m = new_server(f, false, NULL, NULL);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fx *f = *state;
    ls_mcp_free(f->m);
    lst_rmtree(f->dir);
    free(f);
    return 0;
}

/* Sends one body through the core; returns the parsed reply (or NULL). */
static json_t *rpc(ls_mcp *m, ls_mcp_session *s, const char *body) {
    ls_mcp_msg *msg = NULL;
    char *reply = NULL;
    if (ls_mcp_parse(body, strlen(body), &msg, &reply) == LS_MCP_PARSE_OK) {
        bool cancelled = false;
        reply = ls_mcp_execute(m, s, msg, NULL, &cancelled);
        ls_mcp_msg_free(msg);
    }
    if (!reply) return NULL;
    json_t *j = json_loads(reply, 0, NULL);
    assert_non_null(j);
    free(reply);
    return j;
}

static int err_code(json_t *j) { return (int)json_integer_value(json_object_get(json_object_get(j, "error"), "code")); }

static void init(ls_mcp *m, ls_mcp_session *s, const char *version, const char *want) {
    char body[512];
    snprintf(body, sizeof(body),
             "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
             "\"%s\",\"capabilities\":{},\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}",
             version);
    json_t *j = rpc(m, s, body);
    json_t *res = json_object_get(j, "result");
    assert_non_null(res);
    assert_string_equal(json_string_value(json_object_get(res, "protocolVersion")), want);
    assert_string_equal(json_string_value(json_object_get(json_object_get(res, "serverInfo"), "name")),
                        "Litestream MCP Server");
    assert_non_null(json_object_get(json_object_get(res, "capabilities"), "tools"));
    json_decref(j);
}

static void test_versions(void **state) {
    fx *f = *state;
    const char *v[] = {"2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"};
    for (int i = 0; i < 4; i++) {
        ls_mcp_session *s = ls_mcp_session_transient(LS_MCP_V_UNKNOWN);
        init(f->m, s, v[i], v[i]);
        json_t *j = rpc(f->m, s, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}");
        json_t *tools = json_object_get(json_object_get(j, "result"), "tools");
        assert_int_equal(json_array_size(tools), 9);
        json_t *t0 = json_array_get(tools, 0);
        assert_non_null(json_object_get(t0, "inputSchema"));
        assert_int_equal(json_object_get(t0, "outputSchema") != NULL, i >= 2);
        assert_int_equal(json_object_get(t0, "annotations") != NULL, i >= 1);
        assert_int_equal(json_object_get(t0, "title") != NULL, i >= 2);
        json_decref(j);
        j = rpc(f->m, s, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":\"litestream_version\"}}");
        json_t *res = json_object_get(j, "result");
        assert_non_null(res);
        assert_int_equal(json_object_get(res, "structuredContent") != NULL, i >= 2);
        assert_true(json_is_false(json_object_get(res, "isError")));
        json_decref(j);
        ls_mcp_session_put(s);
    }
    ls_mcp_session *s = ls_mcp_session_transient(LS_MCP_V_UNKNOWN);
    init(f->m, s, "2099-01-01", "2025-11-25");
    json_t *j = rpc(f->m, s, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{}}");
    assert_int_equal(err_code(j), -32602);
    json_decref(j);
    ls_mcp_session_put(s);
}

static void test_framing(void **state) {
    fx *f = *state;
    ls_mcp_session *s = ls_mcp_session_transient(LS_MCP_V_2025_11_25);
    static const struct {
        const char *body;
        int code;
    } cases[] = {
        {"{\"jsonrpc\":\"2.0\",\"id\":1,", -32700},
        {"", -32700},
        {"42", -32600},
        {"[]", -32600},
        {"{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"ping\"}", -32600},
        {"{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"ping\"}", -32600},
        {"{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"ping\"}", -32600},
        {"{\"jsonrpc\":\"2.0\",\"id\":1}", -32600},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":7}", -32600},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":[1]}", -32602},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"resources/list\"}", -32601},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\",\"params\":{\"cursor\":\"x\"}}", -32602},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"nope\"}}", -32602},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{}}", -32602},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"litestream_ltx\",\"arguments\":[]}}", -32602},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"litestream_ltx\",\"arguments\":{}}}", -32602},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"litestream_ltx\",\"arguments\":{\"path\":1}}}", -32602},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"litestream_ltx\",\"arguments\":{\"path\":\"x\",\"level\":10}}}", -32602},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"litestream_ltx\",\"arguments\":{\"path\":\"x\",\"nope\":1}}}", -32602},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"litestream_restore\",\"arguments\":{\"path\":\"x\",\"txid\":\"12\"}}}", -32602},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"litestream_restore\",\"arguments\":{\"path\":\"x\",\"timestamp\":\"noon\"}}}", -32602},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"litestream_restore\",\"arguments\":{\"path\":\"x\",\"o\":\"a\",\"output\":\"b\"}}}", -32602},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"logging/setLevel\",\"params\":{\"level\":\"loud\"}}", -32602},
        {"[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]", -32600}, /* batch in 2025-11-25 */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *j = rpc(f->m, s, cases[i].body);
        if (!j || err_code(j) != cases[i].code) fail_msg("case %zu (%s): got %d", i, cases[i].body, j ? err_code(j) : 0);
        json_decref(j);
    }
    /* notifications and client responses get no answer */
    assert_null(rpc(f->m, s, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}"));
    assert_null(rpc(f->m, s, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":9}}"));
    assert_null(rpc(f->m, s, "{\"jsonrpc\":\"2.0\",\"id\":5,\"result\":{}}"));
    json_t *j = rpc(f->m, s, "{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"ping\"}");
    assert_string_equal(json_string_value(json_object_get(j, "id")), "a");
    assert_true(json_is_object(json_object_get(j, "result")));
    json_decref(j);
    j = rpc(f->m, s, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"logging/setLevel\",\"params\":{\"level\":\"error\"}}");
    assert_non_null(json_object_get(j, "result"));
    json_decref(j);
    ls_mcp_session_put(s);

    /* 2025-03-26 batches */
    s = ls_mcp_session_transient(LS_MCP_V_2025_03_26);
    j = rpc(f->m, s, "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"},{\"jsonrpc\":\"2.0\",\"method\":\"notifications/x\"},{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"nope\"},{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-03-26\"}}]");
    assert_true(json_is_array(j));
    assert_int_equal(json_array_size(j), 3);
    assert_int_equal(err_code(json_array_get(j, 1)), -32601);
    assert_int_equal(err_code(json_array_get(j, 2)), -32600);
    json_decref(j);
    assert_null(rpc(f->m, s, "[{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}]"));
    ls_mcp_session_put(s);
}

static json_t *call_tool(ls_mcp *m, const char *name, const char *args, bool *is_error) {
    ls_mcp_session *s = ls_mcp_session_transient(LS_MCP_V_2025_11_25);
    char body[8192];
    snprintf(body, sizeof(body),
             "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"%s\",\"arguments\":%s}}",
             name, args);
    json_t *j = rpc(m, s, body);
    ls_mcp_session_put(s);
    json_t *res = json_object_get(j, "result");
    if (!res) fail_msg("%s: %s", name, json_dumps(j, 0));
    *is_error = json_is_true(json_object_get(res, "isError"));
    json_t *out = *is_error ? json_incref(json_object_get(json_array_get(json_object_get(res, "content"), 0), "text"))
                            : json_incref(json_object_get(res, "structuredContent"));
    json_decref(j);
    return out;
}

static void test_tools(void **state) {
    fx *f = *state;
    bool ie;
    json_t *r = call_tool(f->m, "litestream_info", "{}", &ie);
    assert_false(ie);
    assert_int_equal(json_integer_value(json_object_get(r, "databases")), 1);
    assert_string_equal(json_string_value(json_object_get(r, "config_path")), f->cfg);
    json_decref(r);
    r = call_tool(f->m, "litestream_databases", "{}", &ie);
    assert_false(ie);
    json_t *db = json_array_get(json_object_get(r, "databases"), 0);
    assert_string_equal(json_string_value(json_object_get(db, "status")), "stopped");
    assert_string_equal(json_string_value(json_object_get(db, "local_status")), "no database");
    assert_string_equal(json_string_value(json_object_get(json_object_get(db, "replica"), "type")), "file");
    json_decref(r);

    char args[4300];
    snprintf(args, sizeof(args), "{\"database\":\"%s/app.db\"}", f->dir);
    r = call_tool(f->m, "litestream_ltx", args, &ie);
    assert_false(ie);
    assert_int_equal(json_array_size(json_object_get(r, "files")), 0);
    assert_non_null(json_object_get(r, "note"));
    json_decref(r);
    r = call_tool(f->m, "litestream_generations", args, &ie);
    assert_false(ie);
    assert_non_null(json_object_get(r, "note"));
    json_decref(r);
    snprintf(args, sizeof(args), "{\"database\":\"%s/app.db\",\"output\":\"%s/out.db\"}", f->dir, f->dir);
    r = call_tool(f->m, "litestream_restore", args, &ie);
    assert_true(ie);
    assert_non_null(strstr(json_string_value(r), "no backups found"));
    json_decref(r);
    snprintf(args, sizeof(args), "{\"database\":\"%s/app.db\",\"output\":\"%s/out.db\",\"if_replica_exists\":true}", f->dir, f->dir);
    r = call_tool(f->m, "litestream_restore", args, &ie);
    assert_false(ie);
    assert_true(json_is_true(json_object_get(r, "skipped")));
    json_decref(r);
    r = call_tool(f->m, "litestream_ltx", "{\"path\":\"/not/in/config.db\"}", &ie);
    assert_true(ie);
    assert_non_null(strstr(json_string_value(r), "database not found in config"));
    json_decref(r);
    snprintf(args, sizeof(args), "{\"path\":\"%s/app.db\",\"replica\":\"s3\"}", f->dir);
    r = call_tool(f->m, "litestream_ltx", args, &ie);
    assert_true(ie);
    assert_non_null(strstr(json_string_value(r), "replica \"s3\" not found"));
    json_decref(r);
    r = call_tool(f->m, "litestream_status", "{\"config\":\"/nonexistent.yml\"}", &ie);
    assert_true(ie);
    json_decref(r);

    /* REST path */
    char *body = NULL;
    assert_int_equal(ls_mcp_rest_call(f->m, "litestream_version", NULL, &body), 200);
    free(body);
    assert_int_equal(ls_mcp_rest_call(f->m, "nope", NULL, &body), 404);
    free(body);
    json_t *bad = json_pack("{s:i}", "path", 3);
    assert_int_equal(ls_mcp_rest_call(f->m, "litestream_ltx", bad, &body), 400);
    free(body);
    json_decref(bad);
}

static void test_read_only(void **state) {
    fx *f = *state;
    ls_mcp *m = new_server(f, true, NULL, NULL);
    ls_mcp_session *s = ls_mcp_session_transient(LS_MCP_V_2025_11_25);
    json_t *j = rpc(m, s, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}");
    assert_int_equal(json_array_size(json_object_get(json_object_get(j, "result"), "tools")), 7);
    json_decref(j);
    j = rpc(m, s, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"litestream_reset\",\"arguments\":{\"path\":\"x\"}}}");
    assert_int_equal(err_code(j), -32602);
    assert_non_null(strstr(json_string_value(json_object_get(json_object_get(j, "error"), "message")), "read-only"));
    json_decref(j);
    char *body = NULL;
    assert_int_equal(ls_mcp_rest_call(m, "litestream_restore", NULL, &body), 403);
    free(body);
    ls_mcp_session_put(s);
    ls_mcp_free(m);
}

static void test_output_paths(void **state) {
    fx *f = *state;
    char allowed[4200], other[4200], p[8400];
    snprintf(allowed, sizeof(allowed), "%s/allowed", f->dir);
    snprintf(other, sizeof(other), "%s/other", f->dir);
    mkdir(allowed, 0700);
    mkdir(other, 0700);
    ls_mcp *m = new_server(f, false, NULL, allowed);
    char *out = NULL;
    ls_err e;
    snprintf(p, sizeof(p), "%s/a.db", allowed);
    assert_int_equal(ls_mcp_resolve_output(m, p, &out, &e), LS_OK);
    free(out);
    snprintf(p, sizeof(p), "%s/sub/dir/a.db", allowed);
    assert_int_equal(ls_mcp_resolve_output(m, p, &out, &e), LS_OK);
    free(out);
    snprintf(p, sizeof(p), "%s/../other/a.db", allowed);
    assert_int_equal(ls_mcp_resolve_output(m, p, &out, &e), LS_ERR_INVALID);
    snprintf(p, sizeof(p), "%s/a.db", other);
    assert_int_equal(ls_mcp_resolve_output(m, p, &out, &e), LS_ERR_AUTH);
    snprintf(p, sizeof(p), "%s/link", allowed);
    assert_int_equal(symlink(other, p), 0);
    snprintf(p, sizeof(p), "%s/link/a.db", allowed);
    assert_int_equal(ls_mcp_resolve_output(m, p, &out, &e), LS_ERR_AUTH);
    assert_int_equal(ls_mcp_resolve_output(m, allowed, &out, &e), LS_ERR_AUTH); /* the dir itself */
    assert_int_equal(ls_mcp_resolve_output(m, "", &out, &e), LS_ERR_INVALID);
    assert_int_equal(ls_mcp_resolve_output(m, "a\nb", &out, &e), LS_ERR_INVALID);
    ls_mcp_free(m);
}

static void test_parse_addr(void **state) {
    (void)state;
    char host[256];
    int port;
    ls_err e;
    assert_int_equal(ls_mcp_parse_addr(":3001", host, sizeof(host), &port, &e), LS_OK);
    assert_string_equal(host, "");
    assert_int_equal(port, 3001);
    assert_int_equal(ls_mcp_parse_addr("127.0.0.1:8080", host, sizeof(host), &port, &e), LS_OK);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(ls_mcp_parse_addr("[::1]:0", host, sizeof(host), &port, &e), LS_OK);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 0);
    assert_int_equal(ls_mcp_parse_addr("localhost:99999", host, sizeof(host), &port, &e), LS_ERR_INVALID);
    assert_int_equal(ls_mcp_parse_addr("3001", host, sizeof(host), &port, &e), LS_ERR_INVALID);
    assert_int_equal(ls_mcp_parse_addr("a:b:1", host, sizeof(host), &port, &e), LS_ERR_INVALID);
    assert_int_equal(ls_mcp_parse_addr("", host, sizeof(host), &port, &e), LS_ERR_INVALID);
    assert_int_equal(ls_mcp_parse_addr("[::1", host, sizeof(host), &port, &e), LS_ERR_INVALID);
}

/* ---- HTTP through libcurl --------------------------------------------- */

typedef struct buf {
    char *p;
    size_t n;
} buf;

static size_t on_data(char *d, size_t sz, size_t nm, void *u) {
    buf *b = u;
    size_t n = sz * nm;
    char *np = realloc(b->p, b->n + n + 1);
    if (!np) return 0;
    b->p = np;
    memcpy(b->p + b->n, d, n);
    b->n += n;
    b->p[b->n] = 0;
    return n;
}

static long http(int port, const char *method, const char *path, const char *body,
                 const char *const *headers, buf *out, buf *hdrs) {
    CURL *c = curl_easy_init();
    char url[256];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    struct curl_slist *hl = NULL;
    for (size_t i = 0; headers && headers[i]; i++) hl = curl_slist_append(hl, headers[i]);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        hl = curl_slist_append(hl, "Content-Type: application/json");
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    if (hdrs) {
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, hdrs);
    }
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    long code = 0;
    if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    return code;
}

static void test_http(void **state) {
    fx *f = *state;
    ls_mcp *m = new_server(f, false, "tok-123", NULL);
    ls_mcp_http *h = NULL;
    ls_err e;
    assert_int_equal(ls_mcp_http_start(m, "127.0.0.1:0", &h, &e), LS_OK);
    int port = ls_mcp_http_port(h);
    assert_true(port > 0);
    buf b = {0}, hd = {0};
    const char *auth[] = {"Authorization: Bearer tok-123", NULL};
    const char *badauth[] = {"Authorization: Bearer tok-124", NULL};
    const char *evil[] = {"Authorization: Bearer tok-123", "Origin: http://evil.example.com", NULL};
    const char *evilhost[] = {"Authorization: Bearer tok-123", "Host: evil.example.com", NULL};
    assert_int_equal(http(port, "GET", "/mcp/tools", NULL, NULL, &b, NULL), 401);
    assert_int_equal(http(port, "GET", "/mcp/tools", NULL, badauth, &b, NULL), 401);
    assert_int_equal(http(port, "GET", "/mcp/tools", NULL, evil, &b, NULL), 403);
    assert_int_equal(http(port, "GET", "/mcp/tools", NULL, evilhost, &b, NULL), 403);
    assert_int_equal(http(port, "GET", "/mcp/tools", NULL, auth, &b, NULL), 200);
    free(b.p);
    b = (buf){0};
    assert_int_equal(http(port, "POST", "/mcp",
                          "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-06-18\"}}",
                          auth, &b, &hd),
                     200);
    assert_non_null(strstr(b.p, "\"2025-06-18\""));
    char *sid = strcasestr(hd.p, "mcp-session-id: ");
    assert_non_null(sid);
    char sh[100];
    snprintf(sh, sizeof(sh), "Mcp-Session-Id: %.32s", sid + 16);
    const char *sess[] = {"Authorization: Bearer tok-123", sh, NULL};
    free(b.p);
    b = (buf){0};
    assert_int_equal(http(port, "POST", "/mcp", "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}", sess, &b, NULL), 202);
    assert_int_equal(http(port, "POST", "/mcp", "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}", sess, &b, NULL), 200);
    assert_int_equal(http(port, "POST", "/mcp", "{bad", sess, &b, NULL), 400);
    assert_int_equal(http(port, "DELETE", "/mcp", NULL, sess, &b, NULL), 200);
    assert_int_equal(http(port, "POST", "/mcp", "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"ping\"}", sess, &b, NULL), 404);
    size_t big = LS_MCP_MAX_MESSAGE + 10;
    char *huge = malloc(big + 1);
    memset(huge, ' ', big);
    huge[big] = 0;
    assert_int_equal(http(port, "POST", "/mcp", huge, auth, &b, NULL), 413);
    free(huge);
    assert_int_equal(http(port, "GET", "/nope", NULL, auth, &b, NULL), 404);
    free(b.p);
    free(hd.p);
    assert_true(ls_mcp_http_stop(h, 10LL * 1000000000LL));
    ls_mcp_free(m);
}

static void test_no_secrets(void **state) {
    fx *f = *state;
    char yml[8192], cfg[4200];
    snprintf(cfg, sizeof(cfg), "%s/s3.yml", f->dir);
    snprintf(yml, sizeof(yml),
             "dbs:\n  - path: %s/app.db\n    replica:\n      url: "
             "s3://bucket/db?endpoint=http://127.0.0.1:1&secret-access-key=TOPSECRET\n"
             "      access-key-id: AKIAEXAMPLE\n",
             f->dir);
    write_text(cfg, yml);
    char args[4300];
    snprintf(args, sizeof(args), "{\"config\":\"%s\"}", cfg);
    bool ie;
    json_t *r = call_tool(f->m, "litestream_databases", args, &ie);
    char *txt = json_dumps(r, 0);
    if (!ie) assert_non_null(strstr(txt, "s3://bucket/db"));
    assert_null(strstr(txt, "TOPSECRET"));
    free(txt);
    json_decref(r);
    snprintf(args, sizeof(args), "{\"config\":\"%s\",\"path\":\"%s/app.db\"}", cfg, f->dir);
    r = call_tool(f->m, "litestream_ltx", args, &ie);
    txt = json_dumps(r, JSON_ENCODE_ANY);
    assert_null(strstr(txt, "TOPSECRET"));
    free(txt);
    json_decref(r);
}

int main(void) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_versions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_framing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tools, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_output_paths, setup, teardown),
        cmocka_unit_test(test_parse_addr),
        cmocka_unit_test_setup_teardown(test_no_secrets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
