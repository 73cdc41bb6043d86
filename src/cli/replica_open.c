#include "cli/replica_open.h"

#include <stdlib.h>
#include <string.h>

#include "util/fs.h"

ls_code cli_open_replica_storage(const ls_replica_client_cfg *c, ls_storage **out, ls_err *err) {
    switch (c->type) {
    case LS_REPLICA_FILE:
        if (!c->path || !*c->path)
            return ls_err_set(err, LS_ERR_CONFIG, "file replica requires a path");
        return ls_storage_file_open(c->path, out, err);
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
