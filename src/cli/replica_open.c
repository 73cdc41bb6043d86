#include "cli/replica_open.h"

#include <stdlib.h>
#include <string.h>

#include "storage/s3.h"
#include "util/fs.h"

/* s3: the resolved client settings (11.4/11.5) -> backend options. */
static ls_code open_s3(const ls_replica_client_cfg *c, const char *url, ls_storage **out,
                       ls_err *err) {
    if (!c->bucket || !*c->bucket)
        return ls_err_set(err, LS_ERR_CONFIG, "bucket required for s3 replica");
    ls_s3_opts o;
    ls_s3_opts_defaults(&o);
    o.bucket = c->bucket;
    o.path = c->path ? c->path : "";
    o.region = c->region;
    o.endpoint = c->endpoint;
    o.access_key_id = c->access_key_id;
    o.secret_access_key = c->secret_access_key;
    o.force_path_style = c->force_path_style;
    o.skip_verify = c->skip_verify;
    o.sign_payload = c->sign_payload;
    o.require_content_md5 = c->require_content_md5;
    o.storage_class = c->storage_class;
    o.part_size = c->part_size;
    o.concurrency = c->concurrency;
    o.sse_customer_algorithm = c->sse_customer_algorithm;
    o.sse_customer_key = c->sse_customer_key;
    o.sse_kms_key_id = c->sse_kms_key_id;
    char *disp = url ? ls_replica_url_display(url) : NULL;
    if (!disp) disp = ls_strfmt("s3://%s/%s", c->bucket, o.path);
    o.display_url = disp;
    ls_code rc = ls_storage_s3_open(&o, out, err);
    free(disp);
    return rc;
}

ls_code cli_open_replica_storage(const ls_replica_client_cfg *c, ls_storage **out, ls_err *err) {
    switch (c->type) {
    case LS_REPLICA_FILE:
        if (!c->path || !*c->path)
            return ls_err_set(err, LS_ERR_CONFIG, "file replica requires a path");
        return ls_storage_file_open(c->path, out, err);
    case LS_REPLICA_S3:
        return open_s3(c, c->url, out, err);
    default:
        return ls_err_set(err, LS_ERR_UNSUPPORTED,
                          "replica type \"%s\" is not supported by this build yet",
                          ls_replica_type_name(c->type));
    }
}

ls_code cli_open_replica_url(const char *url, ls_storage **out, ls_err *err) {
    ls_replica_url *u = NULL;
    ls_code rc = ls_parse_replica_url(url, &u, err);
    if (rc != LS_OK) return rc;
    if (u->type == LS_REPLICA_FILE) {
        rc = ls_storage_file_open(u->path, out, err);
    } else if (u->type == LS_REPLICA_S3) {
        /* Resolve the URL exactly as a config `url:` would be (provider
         * defaults, query options, 11.5) through the URL-mode config. The
         * database path is a placeholder that is never touched. */
        ls_config *cfg = NULL;
        const char *urls[1] = {url};
        rc = ls_config_from_url_mode("/nonexistent/litestream-url-mode.db", urls, 1, &cfg, err);
        if (rc == LS_OK) {
            rc = open_s3(&cfg->dbs[0].replica->client, url, out, err);
            ls_config_free(cfg);
        }
    } else {
        char *disp = ls_replica_url_display(url);
        rc = ls_err_set(err, LS_ERR_UNSUPPORTED,
                        "replica type \"%s\" is not supported by this build yet: %s",
                        ls_replica_type_name(u->type), disp ? disp : "");
        free(disp);
    }
    ls_replica_url_free(u);
    return rc;
}
