/*
 * util/dynlib.c — on-demand loading of libcurl and libcrypto (contract in
 * util/dynlib.h).
 */
#include "util/dynlib.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

ls_code ls_dynlib_load(const char *soname, const char *package, const char *const *names,
                       void **syms, size_t n, void **handle_out, ls_err *err) {
    *handle_out = NULL;
    dlerror();
    void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *why = dlerror();
        return ls_err_set(err, LS_ERR_UNSUPPORTED, "%s (install %s)",
                          why ? why : soname, package);
    }
    for (size_t i = 0; i < n; i++) {
        dlerror();
        syms[i] = dlsym(h, names[i]);
        if (!syms[i]) {
            dlclose(h);
            return ls_err_set(err, LS_ERR_UNSUPPORTED, "%s: missing symbol %s (install a newer %s)",
                              soname, names[i], package);
        }
    }
    *handle_out = h;
    return LS_OK;
}

#define LS_DYNLIB_NAME_(name) #name,
#define LS_DYNLIB_COUNT_(name) +1
#define LS_DYNLIB_ASSIGN_(name) t->name = (__typeof__(t->name))syms[i++];

/* ---------------------------------------------------------------- curl -- */

static pthread_once_t g_curl_once = PTHREAD_ONCE_INIT;
static ls_curl_table g_curl;
static bool g_curl_ok;
static ls_err g_curl_err;

static void curl_load_once(void) {
    static const char *const names[] = {LS_CURL_SYMBOLS(LS_DYNLIB_NAME_)};
    enum { N = 0 LS_CURL_SYMBOLS(LS_DYNLIB_COUNT_) };
    _Static_assert(sizeof(names) / sizeof(names[0]) == N, "curl symbol list");
    void *syms[N], *h;
    if (ls_dynlib_load(LS_CURL_SONAME, LS_CURL_PACKAGE, names, syms, N, &h, &g_curl_err) != LS_OK)
        return;
    ls_curl_table *t = &g_curl;
    size_t i = 0;
    LS_CURL_SYMBOLS(LS_DYNLIB_ASSIGN_)
    g_curl_ok = true;
}

ls_code ls_curl_load(const char *purpose, ls_err *err) {
    pthread_once(&g_curl_once, curl_load_once);
    if (g_curl_ok) return LS_OK;
    if (!err) return g_curl_err.code;
    *err = g_curl_err;
    return ls_err_wrap(err, "%s needs libcurl", purpose);
}

const ls_curl_table *ls_curl_api(void) {
    pthread_once(&g_curl_once, curl_load_once);
    return g_curl_ok ? &g_curl : NULL;
}

/* -------------------------------------------------------------- crypto -- */

static pthread_once_t g_crypto_once = PTHREAD_ONCE_INIT;
static ls_crypto_table g_crypto;
static bool g_crypto_ok;
static ls_err g_crypto_err;

static void crypto_load_once(void) {
    static const char *const names[] = {LS_CRYPTO_SYMBOLS(LS_DYNLIB_NAME_)};
    enum { N = 0 LS_CRYPTO_SYMBOLS(LS_DYNLIB_COUNT_) };
    _Static_assert(sizeof(names) / sizeof(names[0]) == N, "crypto symbol list");
    void *syms[N], *h;
    if (ls_dynlib_load(LS_CRYPTO_SONAME, LS_CRYPTO_PACKAGE, names, syms, N, &h, &g_crypto_err) !=
        LS_OK)
        return;
    ls_crypto_table *t = &g_crypto;
    size_t i = 0;
    LS_CRYPTO_SYMBOLS(LS_DYNLIB_ASSIGN_)
    g_crypto_ok = true;
}

ls_code ls_crypto_load(const char *purpose, ls_err *err) {
    pthread_once(&g_crypto_once, crypto_load_once);
    if (g_crypto_ok) return LS_OK;
    if (!err) return g_crypto_err.code;
    *err = g_crypto_err;
    return ls_err_wrap(err, "%s needs libcrypto", purpose);
}

const ls_crypto_table *ls_crypto_api(void) {
    pthread_once(&g_crypto_once, crypto_load_once);
    return g_crypto_ok ? &g_crypto : NULL;
}
