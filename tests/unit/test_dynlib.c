/* Unit tests for util/dynlib: on-demand loading of libcurl and libcrypto. */
#include "util/dynlib.h"

#include "testlib.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

static void test_load_resolves_symbol(void **state) {
    (void)state;
    const char *const names[] = {"curl_version_info"};
    void *syms[1] = {NULL}, *h = NULL;
    ls_err e;
    assert_int_equal(ls_dynlib_load(LS_CURL_SONAME, LS_CURL_PACKAGE, names, syms, 1, &h, &e), LS_OK);
    assert_non_null(h);
    assert_non_null(syms[0]);
    __typeof__(curl_version_info) *fn = (__typeof__(curl_version_info) *)syms[0];
    curl_version_info_data *vi = fn(CURLVERSION_NOW);
    assert_non_null(vi);
    assert_non_null(vi->version);
    dlclose(h);
}

static void test_missing_library(void **state) {
    (void)state;
    const char *const names[] = {"curl_version"};
    void *syms[1] = {NULL}, *h = (void *)1;
    ls_err e;
    assert_int_equal(ls_dynlib_load("libls-no-such-lib.so.7", "ls-no-such-lib7", names, syms, 1, &h, &e),
                     LS_ERR_UNSUPPORTED);
    assert_null(h);
    assert_int_equal(e.code, LS_ERR_UNSUPPORTED);
    assert_string_equal(e.msg, "libls-no-such-lib.so.7: cannot open shared object file: "
                               "No such file or directory (install ls-no-such-lib7)");
    /* the error path does not need an ls_err */
    assert_int_equal(ls_dynlib_load("libls-no-such-lib.so.7", "x", names, syms, 1, &h, NULL),
                     LS_ERR_UNSUPPORTED);
}

static void test_missing_symbol(void **state) {
    (void)state;
    const char *const names[] = {"SHA256", "ls_no_such_function"};
    void *syms[2] = {NULL, NULL}, *h = (void *)1;
    ls_err e;
    assert_int_equal(ls_dynlib_load(LS_CRYPTO_SONAME, LS_CRYPTO_PACKAGE, names, syms, 2, &h, &e),
                     LS_ERR_UNSUPPORTED);
    assert_null(h);
    assert_string_equal(e.msg, "libcrypto.so.3: missing symbol ls_no_such_function "
                               "(install a newer libssl3)");
}

static void test_tables(void **state) {
    (void)state;
    ls_err e;
    assert_int_equal(ls_curl_load("S3 replica", &e), LS_OK);
    assert_int_equal(ls_crypto_load("MCP bearer token", &e), LS_OK);
    assert_int_equal(ls_curl_load("S3 replica", NULL), LS_OK); /* once, then cached */
    const ls_curl_table *c = ls_curl_api();
    const ls_crypto_table *k = ls_crypto_api();
    assert_non_null(c);
    assert_non_null(k);
    curl_version_info_data *vi = c->curl_version_info(CURLVERSION_NOW);
    assert_non_null(vi);
    assert_true(vi->version_num >= 0x074b00);
    unsigned char md[SHA256_DIGEST_LENGTH];
    k->SHA256((const unsigned char *)"abc", 3, md);
    char hex[65];
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++) sprintf(hex + 2 * i, "%02x", md[i]);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    unsigned char a[4] = {1, 2, 3, 4}, b[4] = {1, 2, 3, 5};
    assert_int_equal(k->CRYPTO_memcmp(a, a, 4), 0);
    assert_int_not_equal(k->CRYPTO_memcmp(a, b, 4), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_resolves_symbol),
        cmocka_unit_test(test_missing_library),
        cmocka_unit_test(test_missing_symbol),
        cmocka_unit_test(test_tables),
    };
    return cmocka_run_group_tests_name("dynlib", tests, NULL, NULL);
}
