/*
 * util/dynlib.h — libcurl and libcrypto (OpenSSL), loaded on first use.
 *
 * The litestream binary does not link libcurl or libcrypto: loading them
 * (and the ~20 libraries libcurl pulls in: TLS, Kerberos, LDAP, ...) costs
 * about 3 MB of RSS in every process, also in one that only has file
 * replicas. They are dlopen'ed ("libcurl.so.4", "libcrypto.so.3") the first
 * time a feature needs them: an s3:// replica (libcurl + libcrypto) or an
 * MCP bearer token (libcrypto).
 *
 * Contract:
 *  - ls_curl_load(purpose, err) / ls_crypto_load(purpose, err) load the
 *    library once per process (pthread_once; thread-safe) and resolve every
 *    symbol in the lists below. They return LS_OK, or LS_ERR_UNSUPPORTED with
 *    a message such as
 *      "S3 replica needs libcurl: libcurl.so.4: cannot open shared object
 *       file: No such file or directory (install libcurl4)"
 *    A failure is remembered: later calls fail the same way without retrying.
 *    A loaded library is never unloaded.
 *  - ls_curl_api() / ls_crypto_api() return the function table (loading on
 *    first use), or NULL if the library is unavailable. Code calls through
 *    the table only after a successful ls_*_load (or a non-NULL accessor).
 *    The tables are immutable once loaded and safe to use from any thread.
 *  - The field types are __typeof__ of the real prototypes, so every call is
 *    type-checked. curl's setopt/getinfo are plain variadic functions here:
 *    this header defines CURL_DISABLE_TYPECHECK and must be included before
 *    any other include of <curl/curl.h>.
 *  - ls_dynlib_load() is the generic loader behind both (exposed for tests).
 */
#ifndef LS_UTIL_DYNLIB_H
#define LS_UTIL_DYNLIB_H

#include <stddef.h>

#if defined(CURLINC_CURL_H) && !defined(CURL_DISABLE_TYPECHECK)
#error "include util/dynlib.h before <curl/curl.h>"
#endif
#ifndef CURL_DISABLE_TYPECHECK
#define CURL_DISABLE_TYPECHECK 1
#endif
#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "util/error.h"

#define LS_CURL_SONAME "libcurl.so.4"
#define LS_CURL_PACKAGE "libcurl4"
#define LS_CRYPTO_SONAME "libcrypto.so.3"
#define LS_CRYPTO_PACKAGE "libssl3"

/* Every libcurl function the S3 backend calls. */
#define LS_CURL_SYMBOLS(X)                                                            \
    X(curl_global_init) X(curl_version_info) X(curl_getdate) X(curl_easy_init)         \
    X(curl_easy_cleanup) X(curl_easy_reset) X(curl_easy_setopt) X(curl_easy_getinfo)   \
    X(curl_easy_strerror) X(curl_easy_pause) X(curl_multi_init) X(curl_multi_cleanup)  \
    X(curl_multi_add_handle) X(curl_multi_remove_handle) X(curl_multi_perform)         \
    X(curl_multi_poll) X(curl_multi_info_read) X(curl_share_init) X(curl_share_setopt) \
    X(curl_share_cleanup) X(curl_slist_append) X(curl_slist_free_all)

/* Every libcrypto function the S3 backend and the MCP HTTP server call. */
#define LS_CRYPTO_SYMBOLS(X)                                                          \
    X(SHA256) X(EVP_Digest) X(EVP_md5) X(EVP_sha256) X(EVP_EncodeBlock)                \
    X(EVP_DecodeBlock) X(CRYPTO_memcmp)

#define LS_DYNLIB_FIELD_(name) __typeof__(name) *name;

typedef struct ls_curl_table {
    LS_CURL_SYMBOLS(LS_DYNLIB_FIELD_)
} ls_curl_table;

typedef struct ls_crypto_table {
    LS_CRYPTO_SYMBOLS(LS_DYNLIB_FIELD_)
} ls_crypto_table;

/* purpose names the feature in the error ("S3 replica", "MCP bearer token"). */
ls_code ls_curl_load(const char *purpose, ls_err *err);
ls_code ls_crypto_load(const char *purpose, ls_err *err);

const ls_curl_table *ls_curl_api(void);
const ls_crypto_table *ls_crypto_api(void);

/* dlopen(soname) and dlsym each of names[0..n) into syms[0..n). On success
 * *handle_out owns the library handle (the caller may dlclose it). On failure
 * nothing stays loaded and err says "<soname>: <reason> (install <package>)"
 * for a missing library or "<soname>: missing symbol <name> (install a newer
 * <package>)"; returns LS_ERR_UNSUPPORTED. */
ls_code ls_dynlib_load(const char *soname, const char *package, const char *const *names,
                       void **syms, size_t n, void **handle_out, ls_err *err);

#endif
