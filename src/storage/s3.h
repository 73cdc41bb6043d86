/*
 * storage/s3.h — the S3 replica backend (spec 3.2, 3.3, 11.4, 11.5, 14) on
 * libcurl with its built-in AWS Signature V4 signing (CURLOPT_AWS_SIGV4).
 *
 * Object keys. A storage key k (relative to the replica root) maps to the
 * object key  path + "/" + k  by plain concatenation, as the Go client builds
 * LTX keys (an empty path gives "/0000/...", a path "." gives "./0000/...",
 * spec 3.2). Keys below "generations/" (v0.3 data, spec 9.2) are joined with
 * Go path.Join semantics instead ("" and "." vanish). Listings strip the same
 * root again.
 *
 * Requests (all signed with SigV4, service "s3"):
 *   put   <  part size: one PutObject from memory; otherwise a multipart
 *         upload with `concurrency` worker threads, each part buffered
 *         (memory <= part_size x concurrency); any failure aborts the
 *         upload (AbortMultipartUpload). Metadata x-amz-meta-litestream-
 *         timestamp = created_at_ns as RFC 3339 nano (trailing zeros
 *         trimmed); storage class / SSE headers when configured.
 *   get   GetObject with "Range: bytes=off-[end]" streamed through a bounded
 *         buffer (paused transfer); a broken body is resumed in place at the
 *         current offset (If-Match on the ETag) before an error is returned.
 *   head  HeadObject; accurate_time -> the metadata timestamp, else (and as
 *         fallback) Last-Modified.
 *   list  ListObjectsV2 with continuation tokens; created_at = LastModified.
 *   del   DeleteObjects (POST ?delete, <= 1000 keys per request,
 *         Content-MD5 unless require_content_md5 is false); per-key errors
 *         other than NoSuchKey fail the call.
 * Retries: up to max_attempts (default 10) per request with exponential
 * backoff and jitter on connection errors, timeouts, 408, 429, 5xx and the
 * S3 codes RequestTimeout/SlowDown/InternalError; each retry adds 1 to
 * stats.retries. Connections are kept alive: each thread borrows a pooled
 * connection slot (a curl easy + multi handle pair) per request; DNS and TLS
 * sessions are shared. No request is made by open() or while idle.
 *
 * Region: opts.region, else "us-east-1" when an endpoint is given (no
 * request), else GetBucketLocation against s3.amazonaws.com at the first
 * request. Credentials: opts keys, else AWS_ACCESS_KEY_ID /
 * AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN), else LITESTREAM_ACCESS_KEY_ID
 * / LITESTREAM_SECRET_ACCESS_KEY, else the shared credentials file
 * (AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials, profile AWS_PROFILE or
 * "default"); none -> anonymous (unsigned) requests.
 *
 * Errors name the operation, the object key and the HTTP status / S3 error
 * code; secrets never appear. 404 NoSuchKey -> LS_ERR_NOTFOUND, NoSuchBucket
 * -> LS_ERR_CONFIG ("bucket ... does not exist"), 401/403 -> LS_ERR_AUTH,
 * transport failures -> LS_ERR_NETWORK / LS_ERR_TIMEOUT.
 *
 * Thread-safety: one storage may be used from any number of threads.
 */
#ifndef LS_STORAGE_S3_H
#define LS_STORAGE_S3_H

#include <stdbool.h>
#include <stdint.h>

#include "storage/storage.h"
#include "util/error.h"

#define LS_S3_DEFAULT_PART_SIZE (INT64_C(5) * 1024 * 1024)
#define LS_S3_DEFAULT_CONCURRENCY 5
#define LS_S3_DEFAULT_MAX_ATTEMPTS 10

/* Options (strings are copied by open; NULL = unset). */
typedef struct ls_s3_opts {
    const char *bucket;            /* required; may be an access point ARN */
    const char *path;              /* key prefix as Go derives it ("" / "." kept) */
    const char *region;            /* NULL: see header comment */
    const char *endpoint;          /* "http(s)://host[:port][/base]"; NULL = AWS */
    const char *access_key_id, *secret_access_key, *session_token;
    bool force_path_style;
    bool skip_verify;
    bool sign_payload;             /* false: UNSIGNED-PAYLOAD */
    bool require_content_md5;
    const char *storage_class;
    int64_t part_size;             /* 0 = 5 MiB */
    int64_t concurrency;           /* 0 = 5 */
    const char *sse_customer_algorithm, *sse_customer_key; /* base64 key */
    const char *sse_kms_key_id;
    const char *display_url;       /* for storage->url (made secret-free by the caller) */

    /* Tuning (0 = default; environment variables override, see docs/s3.md):
     * LITESTREAM_S3_MAX_ATTEMPTS, LITESTREAM_S3_RETRY_BASE_MS,
     * LITESTREAM_S3_RETRY_MAX_MS, LITESTREAM_S3_STALL_TIMEOUT_MS,
     * LITESTREAM_S3_LIST_MAX_KEYS. */
    int max_attempts;              /* default 10 */
    int64_t retry_base_ms;         /* default 100 */
    int64_t retry_max_ms;          /* default 20000 */
    int64_t stall_timeout_ms;      /* no byte for this long -> retry; default 60000 */
    int64_t connect_timeout_ms;    /* default 30000 */
    int list_max_keys;             /* 0 = server default (1000) */
} ls_s3_opts;

/* Fills o with the defaults above (sign_payload and require_content_md5
 * true). */
void ls_s3_opts_defaults(ls_s3_opts *o);

/* Creates the backend. Validates the options (bucket required, part size >=
 * 5 MiB when given, endpoint syntax) but makes no request. */
ls_code ls_storage_s3_open(const ls_s3_opts *opts, ls_storage **out, ls_err *err);

#endif
