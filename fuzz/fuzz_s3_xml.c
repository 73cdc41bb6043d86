/*
 * fuzz/fuzz_s3_xml.c — libFuzzer target for the S3 backend's bounded XML
 * scanner and response parsers (storage/s3_xml.c): ListObjectsV2,
 * DeleteObjects, InitiateMultipartUpload, GetBucketLocation and Error
 * documents. The input is passed as an exact-size buffer (no NUL), so any
 * read past the end is caught by ASan.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "storage/s3_internal.h"

static void on_err(void *ctx, const char *key, const char *code, const char *msg) {
    size_t *n = ctx;
    *n += strlen(key) + strlen(code) + strlen(msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *buf = malloc(size ? size : 1);
    if (!buf) return 0;
    if (size) memcpy(buf, data, size);
    ls_err e;
    s3_list_page p;
    if (s3_parse_list(buf, size, &p, &e) == LS_OK) s3_list_page_free(&p);
    s3_error_doc d;
    s3_parse_error(buf, size, &d, &e);
    size_t total = 0, ndel = 0;
    s3_parse_delete_result(buf, size, on_err, &total, &ndel, &e);
    char *id = NULL;
    if (s3_parse_initiate(buf, size, &id, &e) == LS_OK) free(id);
    char region[64], root[S3X_NAME_MAX + 1];
    s3_parse_location(buf, size, region, sizeof(region), &e);
    s3_xml_root(buf, size, root, sizeof(root), &e);
    char out[256];
    s3x_decode(buf, size, false, out, sizeof(out));
    free(buf);
    return 0;
}
