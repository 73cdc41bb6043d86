/*
 * storage/s3_internal.h — pieces of the S3 backend that are pure functions
 * (no network), shared by s3.c and exposed for the unit tests and the
 * fuzz target. Not part of the storage API.
 *
 * XML. S3 answers with small XML documents (ListObjectsV2, DeleteObjects,
 * InitiateMultipartUpload, CompleteMultipartUpload, GetBucketLocation,
 * Error). There is no XML library among the dependencies, so s3_xml.c has a
 * bounded tag scanner:
 *   - input is a (pointer, length) buffer; it is never read past its end
 *     and need not be NUL-terminated;
 *   - it yields start tags, end tags and text; attributes are skipped
 *     (quoted values may contain '>'); "<?...?>", comments, and
 *     "<!DOCTYPE ...>" are skipped (no DTD, so no entity expansion beyond
 *     the five predefined entities and numeric character references);
 *     CDATA sections are text;
 *   - element names longer than S3X_NAME_MAX or nesting deeper than
 *     S3X_DEPTH_MAX, unterminated constructs, mismatched end tags, bad
 *     entities and text after the root element are LS_ERR_FORMAT errors that
 *     name the byte offset;
 *   - namespace prefixes are kept in names but matching ignores them
 *     (s3x_name_is compares local names).
 * The response parsers below use it and cap what they allocate (keys at
 * LS_S3_XML_VALUE_MAX bytes, at most S3X_MAX_ENTRIES entries per page).
 *
 * Thread-safety: everything here is reentrant.
 */
#ifndef LS_STORAGE_S3_INTERNAL_H
#define LS_STORAGE_S3_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

/* ------------------------------------------------------------------ XML -- */

#define S3X_NAME_MAX 64
#define S3X_DEPTH_MAX 16
#define LS_S3_XML_VALUE_MAX 4096
#define S3X_MAX_ENTRIES 100000

typedef enum s3x_kind { S3X_START, S3X_END, S3X_TEXT, S3X_EOF } s3x_kind;

typedef struct s3x_event {
    s3x_kind kind;
    const char *name;   /* START/END: element name (NUL-terminated, scanner-owned) */
    const char *text;   /* TEXT: raw text (entities not decoded), not terminated */
    size_t text_len;
    bool cdata;         /* TEXT from a CDATA section (no entity decoding) */
    int depth;          /* START: depth of the new element (root = 1); END: same */
} s3x_event;

typedef struct s3x {
    const char *buf;
    size_t len, pos;
    int depth;
    bool root_closed;
    bool pending_end;   /* self-closing tag: END still to emit */
    char stack[S3X_DEPTH_MAX][S3X_NAME_MAX + 1];
} s3x;

void s3x_init(s3x *x, const void *buf, size_t len);
/* Next event; LS_OK with kind S3X_EOF at the end of a well-formed document. */
ls_code s3x_next(s3x *x, s3x_event *ev, ls_err *err);
/* Local-name comparison ("s3:Key" matches "Key"). */
bool s3x_name_is(const char *name, const char *local);
/* Decodes raw text (entities unless cdata) into out (NUL-terminated,
 * at most cap-1 bytes). Returns the decoded length, or -1 when the text
 * is malformed or does not fit. */
long s3x_decode(const char *raw, size_t len, bool cdata, char *out, size_t cap);

/* Root element of a document (local name, at most S3X_NAME_MAX) or "". */
ls_code s3_xml_root(const void *buf, size_t len, char *root, size_t cap, ls_err *err);

/* S3 <Error> document: Code, Message (either may be ""), BucketRegion
 * (Region), all truncated to their buffers. Returns LS_ERR_FORMAT when the
 * body is not an Error document. */
typedef struct s3_error_doc {
    char code[64];
    char message[256];
    char region[64];
} s3_error_doc;
ls_code s3_parse_error(const void *buf, size_t len, s3_error_doc *out, ls_err *err);

/* ListObjectsV2 page. Keys are the full object keys (decoded). */
typedef struct s3_list_entry {
    char *key;
    int64_t size;         /* -1 for common prefixes */
    int64_t mtime_ns;     /* LastModified, 0 if absent/unparsable */
    bool is_prefix;
} s3_list_entry;
typedef struct s3_list_page {
    s3_list_entry *items;
    size_t n, cap;
    bool truncated;
    char *next_token;     /* NextContinuationToken or NULL */
} s3_list_page;
ls_code s3_parse_list(const void *buf, size_t len, s3_list_page *out, ls_err *err);
void s3_list_page_free(s3_list_page *p);

/* DeleteResult: calls on_error for every <Error> entry (key, code, message
 * decoded); counts <Deleted> entries. */
typedef void (*s3_delete_error_fn)(void *ctx, const char *key, const char *code,
                                   const char *message);
ls_code s3_parse_delete_result(const void *buf, size_t len, s3_delete_error_fn on_error,
                               void *ctx, size_t *ndeleted, ls_err *err);

/* InitiateMultipartUploadResult -> UploadId (malloc'd). */
ls_code s3_parse_initiate(const void *buf, size_t len, char **upload_id, ls_err *err);

/* GetBucketLocation: LocationConstraint text ("" = us-east-1, "EU" =
 * eu-west-1 are mapped). */
ls_code s3_parse_location(const void *buf, size_t len, char *region, size_t cap, ls_err *err);

/* ---------------------------------------------------------------- utils -- */

/* Growable byte buffer (NUL-terminated when not empty). */
typedef struct s3_buf {
    char *p;
    size_t n, cap;
    size_t limit;         /* 0 = unlimited; appends beyond fail */
} s3_buf;
bool s3_buf_append(s3_buf *b, const void *data, size_t n);
bool s3_buf_puts(s3_buf *b, const char *s);
bool s3_buf_printf(s3_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void s3_buf_free(s3_buf *b);

/* AWS URI encoding (SigV4 canonical form): A-Z a-z 0-9 - _ . ~ kept, '/'
 * kept when keep_slash, every other byte %XX (upper-case hex). */
bool s3_uri_encode(s3_buf *b, const char *s, bool keep_slash);
/* XML text escaping (& < > " '). */
bool s3_xml_escape(s3_buf *b, const char *s);

/* Object key of a storage key (see s3.h): plain concatenation
 * path + "/" + key, except keys starting with "generations/" (or equal to
 * "generations") which are path.Join'ed. malloc'd, NULL on OOM. */
char *s3_object_key(const char *path, const char *key);
/* The root s3_object_key() puts in front of key: path + "/" for most keys,
 * the path.Join root (Clean(path) + "/", or "" when that is ".") for keys
 * under "generations". Listings strip it from returned keys. malloc'd. */
char *s3_key_root(const char *path, const char *key);
/* Go path.Clean ("" -> "."). malloc'd, NULL on OOM. */

/* Endpoint "scheme://host[:port][/base]" split; host lower-cased. */
typedef struct s3_endpoint {
    bool https;
    char host[256];       /* without port; IPv6 literals keep brackets */
    int port;             /* 0 = scheme default */
    char base[256];       /* "" or "/base" without trailing '/' */
} s3_endpoint;
ls_code s3_parse_endpoint(const char *endpoint, s3_endpoint *out, ls_err *err);
/* True for localhost, 127.0.0.0/8, ::1 (traffic that must not be proxied). */
bool s3_host_is_loopback(const char *host);

/* Access point ARN "arn:<partition>:s3:<region>:<account>:accesspoint/<name>":
 * fills name/account/region; false when bucket is not such an ARN. */
bool s3_parse_access_point(const char *bucket, char *name, size_t ncap, char *account,
                           size_t acap, char *region, size_t rcap);

/* The request URL for an object key (objkey NULL: the bucket itself) and a
 * canonical query string (already sorted and encoded, may be NULL/"").
 * Path style: <scheme>://<host>[:port]<base>/<bucket>/<key>; virtual-hosted:
 * <scheme>://<bucket>.<host>[:port]<base>/<key>. malloc'd. */
char *s3_build_url(const s3_endpoint *ep, const char *bucket, bool path_style,
                   const char *objkey, const char *query);

/* "x-amz-meta-litestream-timestamp" value of a creation time. */
void s3_format_timestamp(int64_t ns, char *buf, size_t n);

/* Backoff before retry `attempt` (1-based): a uniform random value in
 * [d/2, d] with d = min(max_ms, base_ms * 2^(attempt-1)); rnd in [0,1). */
int64_t s3_backoff_ms(int attempt, int64_t base_ms, int64_t max_ms, double rnd);
/* Whether an HTTP status / S3 error code is worth retrying. */
bool s3_retryable_status(long status, const char *code);

/* Hex SHA-256 (65 bytes incl. NUL) and base64 MD5 (25 bytes) of data. */
void s3_sha256_hex(const void *data, size_t n, char out[65]);
void s3_md5_base64(const void *data, size_t n, char out[25]);
/* Base64 of n bytes into out (cap incl. NUL); false if it does not fit. */
bool s3_base64(const void *data, size_t n, char *out, size_t cap);
/* Decodes base64 (standard alphabet, padding required); -1 on error. */
long s3_base64_decode(const char *s, unsigned char *out, size_t cap);

#endif
