/* Unit tests for util/: errors, durations, timestamps, paths, files. */
#include "testlib.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/timeutil.h"

static void test_error_set_wrap(void **state) {
    (void)state;
    ls_err e;
    assert_int_equal(ls_err_set(&e, LS_ERR_CHECKSUM, "file checksum mismatch in %s", "a.ltx"),
                     LS_ERR_CHECKSUM);
    assert_string_equal(e.msg, "file checksum mismatch in a.ltx");
    ls_err_wrap(&e, "restore txid %016llx", 5ULL);
    assert_string_equal(e.msg, "restore txid 0000000000000005: file checksum mismatch in a.ltx");
    assert_int_equal(e.code, LS_ERR_CHECKSUM);
    assert_int_equal(ls_err_errno(&e, ENOENT, "open %s", "/x"), LS_ERR_NOTFOUND);
    assert_non_null(strstr(e.msg, "open /x: "));
    assert_int_equal(ls_err_errno(&e, ENOSPC, "write"), LS_ERR_NOSPACE);
    assert_string_equal(ls_code_name(LS_ERR_CHECKSUM), "checksum");
    assert_string_equal(ls_code_name((ls_code)999), "unknown");
    assert_int_equal(ls_code_exit_status(LS_OK), 0);
    assert_int_equal(ls_code_exit_status(LS_ERR_IO), 1);
    /* a NULL err is allowed everywhere */
    assert_int_equal(ls_err_set(NULL, LS_ERR_IO, "x"), LS_ERR_IO);
}

static void test_duration_parse(void **state) {
    (void)state;
    struct { const char *in; int64_t ns; } ok[] = {
        {"0", 0}, {"1s", 1000000000LL}, {"500ms", 500000000LL}, {"1h30m", 5400000000000LL},
        {"1.5s", 1500000000LL}, {"-2m", -120000000000LL}, {"10us", 10000}, {"3ns", 3},
        {"24h", 86400000000000LL},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        int64_t v = -1;
        ls_err e;
        assert_int_equal(ls_parse_duration(ok[i].in, &v, &e), LS_OK);
        assert_int_equal(v, ok[i].ns);
    }
    const char *bad[] = {"", "1", "s", "1x", "1d", "--1s", "1.s5", "abc"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t v;
        ls_err e;
        assert_int_not_equal(ls_parse_duration(bad[i], &v, &e), LS_OK);
        assert_non_null(strstr(e.msg, "duration"));
    }
}

static void test_duration_format(void **state) {
    (void)state;
    struct { int64_t ns; const char *out; } t[] = {
        {0, "0s"}, {1500000000LL, "1.5s"}, {500000000LL, "500ms"}, {300000000000LL, "5m0s"},
        {3723000000000LL, "1h2m3s"}, {45000000000LL, "45s"}, {1500, "1.5\xc2\xb5s"}, {7, "7ns"},
        {-1000000000LL, "-1s"},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        char buf[64];
        ls_format_duration(t[i].ns, buf, sizeof(buf));
        assert_string_equal(buf, t[i].out);
    }
}

static void test_rfc3339(void **state) {
    (void)state;
    int64_t ns;
    ls_err e;
    assert_int_equal(ls_parse_rfc3339("2023-11-14T22:13:20Z", &ns, &e), LS_OK);
    assert_int_equal(ns, 1700000000LL * 1000000000LL);
    assert_int_equal(ls_parse_rfc3339("2023-11-14T23:13:20.5+01:00", &ns, &e), LS_OK);
    assert_int_equal(ns, 1700000000LL * 1000000000LL + 500000000LL);
    char buf[64];
    ls_format_rfc3339(ns, buf, sizeof(buf));
    assert_string_equal(buf, "2023-11-14T22:13:20Z");
    ls_format_rfc3339_nano(ns, buf, sizeof(buf));
    assert_string_equal(buf, "2023-11-14T22:13:20.5Z");
    ls_format_rfc3339_ms(ns, buf, sizeof(buf));
    assert_string_equal(buf, "2023-11-14T22:13:20.500Z");
    const char *bad[] = {"2023-11-14", "2023-13-01T00:00:00Z", "2023-02-29T00:00:00Z",
                         "2023-11-14T22:13:20", "yesterday", "2023-11-14T22:13:20Zjunk"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(ls_parse_rfc3339(bad[i], &ns, &e), LS_ERR_INVALID);
        assert_non_null(strstr(e.msg, bad[i]));
    }
}

static void test_paths(void **state) {
    (void)state;
    char *p = ls_path_join("/a/", "/b");
    assert_string_equal(p, "/a/b");
    free(p);
    p = ls_path_dir("/var/lib/app.db");
    assert_string_equal(p, "/var/lib");
    free(p);
    p = ls_path_base("/var/lib/app.db");
    assert_string_equal(p, "app.db");
    free(p);
    p = ls_path_abs("/x/./y/../z//w");
    assert_string_equal(p, "/x/z/w");
    free(p);
    p = ls_path_abs("rel");
    assert_true(p[0] == '/');
    assert_non_null(strstr(p, "/rel"));
    free(p);
}

static void test_files(void **state) {
    (void)state;
    char *dir = lst_tmpdir();
    char *sub = ls_path_join(dir, "a/b/c");
    ls_err e;
    assert_int_equal(ls_mkdir_p(sub, 0700, &e), LS_OK);
    char *f = ls_path_join(sub, "file");
    assert_int_equal(ls_write_file_atomic(f, "hello", 5, 0600, &e), LS_OK);
    char *buf;
    size_t len;
    assert_int_equal(ls_read_file(f, 100, &buf, &len, &e), LS_OK);
    assert_int_equal(len, 5);
    assert_memory_equal(buf, "hello", 5);
    free(buf);
    assert_int_equal(ls_read_file(f, 3, &buf, &len, &e), LS_ERR_FORMAT);
    assert_non_null(strstr(e.msg, "too large"));
    char *missing = ls_path_join(dir, "missing");
    assert_int_equal(ls_read_file(missing, 100, &buf, &len, &e), LS_ERR_NOTFOUND);
    assert_non_null(strstr(e.msg, missing));
    assert_int_equal(ls_remove_all(dir, &e), LS_OK);
    assert_false(ls_path_exists(dir));
    free(missing);
    free(f);
    free(sub);
    free(dir);
}

static void test_log_levels(void **state) {
    (void)state;
    ls_log_level l;
    assert_true(ls_log_parse_level("WARNING", &l));
    assert_int_equal(l, LS_LOG_WARN);
    assert_true(ls_log_parse_level("trace", &l));
    assert_int_equal(l, LS_LOG_TRACE);
    assert_false(ls_log_parse_level("loud", &l));
    ls_log_format fmt;
    assert_true(ls_log_parse_format("json", &fmt));
    assert_int_equal(fmt, LS_LOG_FORMAT_JSON);
    assert_false(ls_log_parse_format("xml", &fmt));

    char *dir = lst_tmpdir();
    char *path = ls_path_join(dir, "log");
    FILE *f = fopen(path, "w+");
    assert_non_null(f);
    ls_log_configure(LS_LOG_INFO, LS_LOG_FORMAT_TEXT, f);
    ls_debug("hidden");
    ls_info("replicating to", "name", "file", "txid", LS_HEX16(13), "n", LS_INT(42), "q", "a b");
    ls_log_configure(LS_LOG_INFO, LS_LOG_FORMAT_JSON, f);
    ls_warn("slow", "n", LS_INT(7));
    ls_log_configure(LS_LOG_INFO, LS_LOG_FORMAT_TEXT, NULL);
    fclose(f);
    size_t len;
    char *txt = (char *)lst_read_file(path, &len);
    assert_null(strstr(txt, "hidden"));
    assert_non_null(strstr(txt, " level=INFO msg=\"replicating to\" name=file txid=000000000000000d n=42 q=\"a b\"\n"));
    assert_non_null(strstr(txt, "\"level\":\"WARN\",\"msg\":\"slow\",\"n\":7}"));
    assert_true(strncmp(txt, "time=", 5) == 0);
    free(txt);
    free(path);
    lst_rmtree(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_set_wrap), cmocka_unit_test(test_duration_parse),
        cmocka_unit_test(test_duration_format), cmocka_unit_test(test_rfc3339),
        cmocka_unit_test(test_paths),          cmocka_unit_test(test_files),
        cmocka_unit_test(test_log_levels),
    };
    return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
