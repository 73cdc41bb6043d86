/*
 * config/config_misc.c — paths (10.1 expand, 4.1 meta directories), the
 * default config path, database lookup, the "supported by this build"
 * table and logging set-up from a loaded config.
 */
#include "config/config_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/fs.h"
#include "util/log.h"

const char *ls_config_default_path(void) {
    const char *v = getenv("LITESTREAM_CONFIG");
    if (v && *v) return v;
    return "/etc/litestream.yml";
}

char *ls_expand_db_path(const char *arg) {
    if (!arg || !*arg) return NULL;
    if (strncmp(arg, "sqlite3://", 10) == 0) arg += 10;
    else if (strncmp(arg, "sqlite://", 9) == 0) arg += 9;
    if (!*arg) return ls_path_abs(".");
    return ls_path_abs(arg);
}

char *ls_default_meta_path(const char *db_path) {
    if (!db_path) return NULL;
    char *dir = ls_path_dir(db_path);
    char *base = ls_path_base(db_path);
    char *res = (dir && base) ? ls_strfmt("%s/.%s-litestream", dir, base) : NULL;
    if (res && dir && strcmp(dir, "/") == 0) {
        free(res);
        res = ls_strfmt("/.%s-litestream", base);
    }
    free(dir);
    free(base);
    return res;
}

char *ls_config_db_meta_path(const ls_db_config *db) {
    if (!db || !db->path) return NULL;
    if (db->meta_path.set && db->meta_path.v && db->meta_path.v[0])
        return ls_strdup(db->meta_path.v);
    return ls_default_meta_path(db->path);
}

char *ls_config_dir_entry_meta_path(const ls_db_config *db, const char *rel) {
    if (!db || !db->dir || !rel) return NULL;
    char *clean = ls_path_clean(rel);
    if (!clean) return NULL;
    char *res = NULL;
    if (db->meta_dir.set && db->meta_dir.v) {
        char *joined = ls_strfmt("%s/%s-litestream", db->meta_dir.v, clean);
        res = joined ? ls_path_clean(joined) : NULL;
        free(joined);
    } else if (db->meta_path.set && db->meta_path.v) {
        if (strcmp(clean, ".") == 0) {
            res = ls_strdup(db->meta_path.v);
        } else {
            char *slash = strrchr(clean, '/');
            char *joined = slash ? ls_strfmt("%s/%.*s/.%s-litestream", db->meta_path.v,
                                            (int)(slash - clean), clean, slash + 1)
                                 : ls_strfmt("%s/.%s-litestream", db->meta_path.v, clean);
            res = joined ? ls_path_clean(joined) : NULL;
            free(joined);
        }
    } else {
        char *dbp = ls_strfmt("%s/%s", db->dir, clean);
        char *c2 = dbp ? ls_path_clean(dbp) : NULL;
        res = c2 ? ls_default_meta_path(c2) : NULL;
        free(dbp);
        free(c2);
    }
    free(clean);
    return res;
}

const ls_db_config *ls_config_find_db(const ls_config *cfg, const char *path) {
    if (!cfg || !path) return NULL;
    char *abs = ls_expand_db_path(path);
    if (!abs) return NULL;
    const ls_db_config *found = NULL;
    for (size_t i = 0; i < cfg->ndbs && !found; i++)
        if (cfg->dbs[i].path && strcmp(cfg->dbs[i].path, abs) == 0) found = &cfg->dbs[i];
    free(abs);
    return found;
}

/* ------------------------------------------------------------------------ */
/* What this build implements. Flip entries as backends/features land.      */

static const bool replica_supported[] = {
    [LS_REPLICA_UNKNOWN] = false,
    [LS_REPLICA_FILE] = true,
    [LS_REPLICA_S3] = true,
    [LS_REPLICA_GS] = false,
    [LS_REPLICA_ABS] = false,
    [LS_REPLICA_SFTP] = false,
    [LS_REPLICA_WEBDAV] = false,
    [LS_REPLICA_NATS] = false,
    [LS_REPLICA_OSS] = false,
};

enum { FEAT_SOCKET, FEAT_ADDR, FEAT_HEARTBEAT, FEAT_DIR, FEAT_COUNT_ };
static const struct {
    const char *key;
    bool supported;
    const char *what;
} features[FEAT_COUNT_] = {
    [FEAT_SOCKET] = {"socket.enabled", false, "the control socket"},
    [FEAT_ADDR] = {"addr", false, "the Prometheus metrics server"},
    [FEAT_HEARTBEAT] = {"heartbeat-url", false, "heartbeat pings"},
    [FEAT_DIR] = {"dir", false, "directory replication"},
};

bool ls_config_replica_type_supported(ls_replica_type t) {
    if ((size_t)t >= sizeof(replica_supported) / sizeof(replica_supported[0])) return false;
    return replica_supported[t];
}

static ls_code unsupported(ls_err *err, int line, const char *field, const char *what) {
    if (line > 0)
        return ls_err_set(err, LS_ERR_CONFIG, "config line %d: %s: %s is not supported by this build yet",
                          line, field, what);
    return ls_err_set(err, LS_ERR_CONFIG, "config: %s: %s is not supported by this build yet", field,
                      what);
}

ls_code ls_config_check_supported(const ls_config *cfg, ls_err *err) {
    if (!cfg) return LS_OK;
    if (!features[FEAT_SOCKET].supported && cfg->socket_enabled.v)
        return unsupported(err, cfg->socket_enabled.line, features[FEAT_SOCKET].key,
                           features[FEAT_SOCKET].what);
    if (!features[FEAT_ADDR].supported && cfg->addr.v && cfg->addr.v[0])
        return unsupported(err, cfg->addr.line, features[FEAT_ADDR].key, features[FEAT_ADDR].what);
    if (!features[FEAT_HEARTBEAT].supported && cfg->heartbeat_url.v && cfg->heartbeat_url.v[0])
        return unsupported(err, cfg->heartbeat_url.line, features[FEAT_HEARTBEAT].key,
                           features[FEAT_HEARTBEAT].what);
    for (size_t i = 0; i < cfg->ndbs; i++) {
        const ls_db_config *db = &cfg->dbs[i];
        char field[160];
        if (!features[FEAT_DIR].supported && db->dir) {
            snprintf(field, sizeof(field), "dbs[%zu].dir", i);
            return unsupported(err, db->dir_raw.line, field, features[FEAT_DIR].what);
        }
        for (size_t k = 0; k < ls_db_config_replica_count(db); k++) {
            const ls_replica_config *rc = ls_db_config_replica_at(db, k);
            if (!rc || ls_config_replica_type_supported(rc->client.type)) continue;
            const char *tn = ls_replica_type_name(rc->client.type);
            int line = rc->url.v && rc->url.v[0] ? rc->url.line : (rc->type.line ? rc->type.line : rc->line);
            snprintf(field, sizeof(field), "%s.%s", rc->field,
                     rc->url.v && rc->url.v[0] ? "url" : "type");
            char what[64];
            snprintf(what, sizeof(what), "replica type \"%s\"", tn);
            return unsupported(err, line, field, what);
        }
    }
    return LS_OK;
}

void ls_config_configure_logging(const ls_config *cfg) {
    ls_log_level level = LS_LOG_INFO;
    ls_log_format fmt = LS_LOG_FORMAT_TEXT;
    const char *lv = getenv("LOG_LEVEL");
    if (!lv || !*lv) lv = cfg ? cfg->logging_level.v : NULL;
    if (lv && !ls_log_parse_level(lv, &level)) level = LS_LOG_INFO;
    if (cfg && cfg->logging_type.v && !ls_log_parse_format(cfg->logging_type.v, &fmt))
        fmt = LS_LOG_FORMAT_TEXT;
    ls_log_configure(level, fmt, cfg && cfg->logging_stderr.v ? stderr : stdout);
}
