/*
 * mcp/state.c — configs, targets, database status and output-path safety
 * for the MCP tools (see mcp_state.h).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/stats.h"
#include "engine/store.h"
#include "ltx/ltx.h"
#include "mcp/mcp_state.h"
#include "storage/ltxfiles.h"
#include "util/fs.h"
#include "util/timeutil.h"

struct ls_mcp_cfgref {
    ls_config *cfg;
    int refs;           /* under m->mu */
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
};

void ls_mcp_hex16(uint64_t v, char out[17]) { snprintf(out, 17, "%016llx", (unsigned long long)v); }

json_t *ls_mcp_time_json(int64_t ns) {
    if (ns == 0) return json_null();
    char buf[64];
    ls_format_rfc3339_nano(ns, buf, sizeof(buf));
    return json_string(buf);
}

char *ls_mcp_display_url(const char *url) {
    if (!url) return ls_strdup("");
    char *d = ls_replica_url_display(url);
    return d ? d : ls_strdup("");
}

/* ---- configs ---------------------------------------------------------- */

static void ref_put_locked(struct ls_mcp_cfgref *r) {
    if (r && --r->refs == 0) {
        ls_config_free(r->cfg);
        free(r);
    }
}

void ls_mcp_state_free(ls_mcp *m) {
    pthread_mutex_lock(&m->mu);
    ref_put_locked(m->cfg_cache);
    m->cfg_cache = NULL;
    pthread_mutex_unlock(&m->mu);
}

static const char *server_config_path(const ls_mcp *m) {
    return m->config_path && *m->config_path ? m->config_path : ls_config_default_path();
}

static bool same_file(const char *a, const char *b) {
    char *ra = realpath(a, NULL), *rb = realpath(b, NULL);
    bool same = ra && rb && strcmp(ra, rb) == 0;
    if (!ra || !rb) same = strcmp(a, b) == 0;
    free(ra);
    free(rb);
    return same;
}

ls_code ls_mcp_config_acquire(ls_mcp *m, const char *arg, ls_mcp_cfg *out, ls_err *err) {
    memset(out, 0, sizeof(*out));
    bool server = !arg || !*arg || same_file(arg, server_config_path(m));
    snprintf(out->path, sizeof(out->path), "%s", server ? server_config_path(m) : arg);
    if (server && m->config) {
        out->cfg = m->config;
        out->is_server_config = true;
        return LS_OK;
    }
    if (!server) {
        ls_config *cfg = NULL;
        ls_code rc = ls_config_load(arg, m->expand_env, &cfg, err);
        if (rc != LS_OK) return rc;
        struct ls_mcp_cfgref *r = calloc(1, sizeof(*r));
        if (!r) {
            ls_config_free(cfg);
            return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
        }
        r->cfg = cfg;
        r->refs = 1;
        out->cfg = cfg;
        out->ref = r;
        return LS_OK;
    }
    /* The server's config file, cached and reloaded when it changes. */
    const char *path = server_config_path(m);
    char *abs = ls_expand_db_path(path);
    struct stat st;
    bool have_st = abs && stat(abs, &st) == 0;
    free(abs);
    pthread_mutex_lock(&m->mu);
    struct ls_mcp_cfgref *c = m->cfg_cache;
    if (c && have_st && c->dev == st.st_dev && c->ino == st.st_ino && c->size == st.st_size &&
        c->mtime.tv_sec == st.st_mtim.tv_sec && c->mtime.tv_nsec == st.st_mtim.tv_nsec) {
        c->refs++;
        pthread_mutex_unlock(&m->mu);
        out->cfg = c->cfg;
        out->ref = c;
        out->is_server_config = true;
        return LS_OK;
    }
    pthread_mutex_unlock(&m->mu);
    ls_config *cfg = NULL;
    ls_code rc = ls_config_load(path, m->expand_env, &cfg, err);
    if (rc != LS_OK) return rc;
    struct ls_mcp_cfgref *r = calloc(1, sizeof(*r));
    if (!r) {
        ls_config_free(cfg);
        return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
    }
    r->cfg = cfg;
    r->refs = 2; /* cache + caller */
    if (have_st) {
        r->dev = st.st_dev;
        r->ino = st.st_ino;
        r->size = st.st_size;
        r->mtime = st.st_mtim;
    }
    pthread_mutex_lock(&m->mu);
    ref_put_locked(m->cfg_cache);
    m->cfg_cache = r;
    pthread_mutex_unlock(&m->mu);
    out->cfg = cfg;
    out->ref = r;
    out->is_server_config = true;
    return LS_OK;
}

void ls_mcp_config_release(ls_mcp *m, ls_mcp_cfg *c) {
    if (!c || !c->ref) return;
    pthread_mutex_lock(&m->mu);
    ref_put_locked(c->ref);
    pthread_mutex_unlock(&m->mu);
    c->ref = NULL;
    c->cfg = NULL;
}

/* ---- storage ---------------------------------------------------------- */

static ls_code open_replica(ls_mcp *m, const ls_replica_client_cfg *c, ls_storage **out, ls_err *err) {
    if (m->open_replica) return m->open_replica(c, out, err);
    if (c->type == LS_REPLICA_FILE && c->path && *c->path)
        return ls_storage_file_open(c->path, out, err);
    return ls_err_set(err, LS_ERR_UNSUPPORTED, "replica type \"%s\" is not supported by this build yet",
                      ls_replica_type_name(c->type));
}

static ls_code open_url(ls_mcp *m, const char *url, ls_storage **out, ls_err *err) {
    if (m->open_url) return m->open_url(url, out, err);
    ls_replica_url *u = NULL;
    ls_code rc = ls_parse_replica_url(url, &u, err);
    if (rc != LS_OK) return rc;
    if (u->type == LS_REPLICA_FILE) rc = ls_storage_file_open(u->path, out, err);
    else rc = ls_err_set(err, LS_ERR_UNSUPPORTED, "replica type \"%s\" is not supported by this build yet",
                         ls_replica_type_name(u->type));
    ls_replica_url_free(u);
    return rc;
}

static const char *replica_name(const ls_replica_config *r) {
    if (r->name.v && *r->name.v) return r->name.v;
    return ls_replica_type_name(r->client.type);
}

/* Display URL of a configured replica (URL or keys form). */
static char *replica_url(const ls_replica_config *r) {
    const ls_replica_client_cfg *c = &r->client;
    if (c->url && *c->url) return ls_mcp_display_url(c->url);
    switch (c->type) {
    case LS_REPLICA_FILE: return ls_strfmt("file://%s", c->path ? c->path : "");
    case LS_REPLICA_S3:
    case LS_REPLICA_GS:
    case LS_REPLICA_OSS:
        return ls_strfmt("%s://%s/%s", ls_replica_type_name(c->type), c->bucket ? c->bucket : "",
                         c->path ? c->path : "");
    default: return ls_strfmt("%s://", ls_replica_type_name(c->type));
    }
}

static void list_db_paths(const ls_config *cfg, char *buf, size_t n) {
    size_t len = 0;
    buf[0] = 0;
    for (size_t i = 0; i < cfg->ndbs && len + 8 < n; i++) {
        const char *p = cfg->dbs[i].path ? cfg->dbs[i].path : cfg->dbs[i].dir;
        if (!p) continue;
        int w = snprintf(buf + len, n - len, "%s%s", len ? ", " : "", p);
        if (w < 0 || (size_t)w >= n - len) {
            snprintf(buf + (n > 5 ? n - 5 : 0), 5, "...");
            return;
        }
        len += (size_t)w;
    }
}

ls_code ls_mcp_target_open(ls_mcp *m, const char *arg, const char *config, const char *replica,
                           ls_mcp_target *t, ls_err *err) {
    memset(t, 0, sizeof(*t));
    ls_code rc;
    if (ls_is_replica_url(arg)) {
        t->is_url = true;
        t->url = ls_mcp_display_url(arg);
        rc = open_url(m, arg, &t->st, err);
        if (rc != LS_OK) return rc;
        t->type = t->st->type;
        t->replica_name = ls_strdup(t->st->type);
        if (replica && *replica && strcmp(replica, t->st->type) != 0)
            return ls_err_set(err, LS_ERR_NOTFOUND,
                              "replica \"%s\" does not match the replica URL %s (type %s); omit "
                              "`replica` when giving a URL",
                              replica, t->url, t->st->type);
        return LS_OK;
    }
    rc = ls_mcp_config_acquire(m, config, &t->cfg, err);
    if (rc != LS_OK)
        return ls_err_wrap(err, "cannot read the configuration (pass `config` with the path of "
                                "litestream.yml, or give a replica URL)");
    t->db_path = ls_expand_db_path(arg);
    if (!t->db_path) return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
    t->db = ls_config_find_db(t->cfg.cfg, t->db_path);
    if (!t->db) {
        char list[1024];
        list_db_paths(t->cfg.cfg, list, sizeof(list));
        return ls_err_set(err, LS_ERR_NOTFOUND,
                          "database not found in config: %s (config %s lists: %s); use one of "
                          "those paths, or a replica URL",
                          t->db_path, t->cfg.path, *list ? list : "no databases");
    }
    /* The replica: by name or type when asked, else the first one. */
    size_t nrep = ls_db_config_replica_count(t->db);
    const ls_replica_config *rc0 = NULL;
    for (size_t i = 0; i < nrep && !rc0; i++) {
        const ls_replica_config *r = ls_db_config_replica_at(t->db, i);
        if (!replica || !*replica || strcmp(replica, replica_name(r)) == 0 ||
            strcmp(replica, ls_replica_type_name(r->client.type)) == 0)
            rc0 = r;
    }
    if (!rc0) {
        char names[512] = "";
        size_t len = 0;
        for (size_t i = 0; i < nrep && len + 4 < sizeof(names); i++) {
            const ls_replica_config *r = ls_db_config_replica_at(t->db, i);
            int w = snprintf(names + len, sizeof(names) - len, "%s\"%s\" (type %s)", i ? ", " : "",
                             replica_name(r), ls_replica_type_name(r->client.type));
            if (w < 0) break;
            len += (size_t)w;
            if (len >= sizeof(names)) len = sizeof(names) - 1;
        }
        return ls_err_set(err, LS_ERR_NOTFOUND, "replica \"%s\" not found for database %s; its replicas: %s",
                          replica, t->db_path, names);
    }
    t->replica_name = ls_strdup(replica_name(rc0));
    t->url = replica_url(rc0);
    rc = open_replica(m, &rc0->client, &t->st, err);
    if (rc != LS_OK) return ls_err_wrap(err, "open replica %s", t->url ? t->url : "");
    t->type = t->st->type;
    return LS_OK;
}

void ls_mcp_target_close(ls_mcp *m, ls_mcp_target *t) {
    if (t->st) ls_storage_close(t->st);
    ls_mcp_config_release(m, &t->cfg);
    free(t->db_path);
    free(t->url);
    free(t->replica_name);
    memset(t, 0, sizeof(*t));
}

/* ---- local state ------------------------------------------------------ */

ls_code ls_mcp_local_txid(const char *meta, uint64_t *txid, ls_err *err) {
    *txid = 0;
    char *dir = ls_strfmt("%s/ltx/0", meta);
    if (!dir) return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
    DIR *d = opendir(dir);
    if (!d) {
        int e = errno;
        ls_code rc = e == ENOENT ? LS_OK : ls_err_errno(err, e, "read directory %s", dir);
        free(dir);
        return rc;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        uint64_t mn, mx;
        if (ltx_parse_filename(de->d_name, &mn, &mx) && mx > *txid) *txid = mx;
    }
    closedir(d);
    free(dir);
    return LS_OK;
}

bool ls_mcp_is_replicated(ls_mcp *m, const char *abs_path) {
    if (!m->store || !abs_path) return false;
    if (ls_store_find(m->store, abs_path) >= 0) return true;
    char *real = realpath(abs_path, NULL);
    bool found = false;
    if (real) {
        size_t n = ls_store_db_count(m->store);
        for (size_t i = 0; i < n && !found; i++) {
            ls_store_db_status st;
            if (!ls_store_db_status_get(m->store, i, &st)) continue;
            char *r2 = realpath(st.path, NULL);
            if (r2 && strcmp(r2, real) == 0) found = true;
            free(r2);
        }
        free(real);
    }
    return found;
}

static const char *replica_state_name(ls_replica_state s) {
    switch (s) {
    case LS_REPLICA_IDLE: return "idle";
    case LS_REPLICA_SYNCING: return "syncing";
    case LS_REPLICA_ERROR: return "error";
    default: return "stopped";
    }
}

static json_t *lag_json(uint64_t local, uint64_t remote, int64_t seconds_ns) {
    return json_pack("{s:I,s:f}", "txids", (json_int_t)(local > remote ? local - remote : 0),
                     "seconds", local > remote ? (double)seconds_ns / 1e9 : 0.0);
}

/* Local facts every entry carries: existence, CLI status, WAL size. */
static void add_local(json_t *o, const ls_db_config *db, uint64_t *local_txid) {
    struct stat st;
    bool exists = stat(db->path, &st) == 0;
    const char *lstatus = "no database";
    *local_txid = 0;
    char *meta = ls_config_db_meta_path(db);
    if (meta) json_object_set_new(o, "meta_path", json_string(meta));
    if (exists) {
        ls_err e;
        if (!meta || ls_mcp_local_txid(meta, local_txid, &e) != LS_OK) lstatus = "error";
        else lstatus = *local_txid ? "ok" : "not initialized";
    }
    free(meta);
    json_object_set_new(o, "exists", json_boolean(exists));
    json_object_set_new(o, "local_status", json_string(lstatus));
    json_object_set_new(o, "db_size", json_integer(exists ? (json_int_t)st.st_size : 0));
    char *walp = ls_strfmt("%s-wal", db->path);
    int64_t wal = 0;
    if (walp && stat(walp, &st) == 0) wal = st.st_size;
    free(walp);
    json_object_set_new(o, "wal_size", json_integer(wal));
}

static void add_live_local(json_t *o, const ls_db_config *db, const ls_db_status *d) {
    char *meta = ls_config_db_meta_path(db);
    if (meta) json_object_set_new(o, "meta_path", json_string(meta));
    free(meta);
    json_object_set_new(o, "exists", json_boolean(d->exists));
    json_object_set_new(o, "local_status",
                        json_string(!d->exists ? "no database" : d->txid ? "ok" : "not initialized"));
    json_object_set_new(o, "db_size", json_integer(d->db_size > 0 ? d->db_size : 0));
    json_object_set_new(o, "wal_size", json_integer(d->wal_size > 0 ? d->wal_size : 0));
}

json_t *ls_mcp_db_entry(ls_mcp *m, const ls_mcp_cfg *c, const ls_db_config *db, bool remote) {
    json_t *o = json_object();
    char hex[17];
    if (!db->path) { /* directory entry */
        json_object_set_new(o, "path", json_string(db->dir ? db->dir : ""));
        json_object_set_new(o, "database", json_string(db->dir ? db->dir : ""));
        json_object_set_new(o, "type", json_string("directory"));
        json_object_set_new(o, "status", json_string("stopped"));
        json_object_set_new(o, "note", json_string("directory entries are listed as one row"));
        json_object_set_new(o, "replicas", json_array());
        return o;
    }
    json_object_set_new(o, "path", json_string(db->path));
    json_object_set_new(o, "database", json_string(db->path));
    uint64_t local = 0;

    long idx = c->is_server_config && m->store ? ls_store_find(m->store, db->path) : -1;
    ls_store_db_status *live = NULL;
    if (idx >= 0) {
        live = malloc(sizeof(*live));
        if (live && !ls_store_db_status_get(m->store, (size_t)idx, live)) {
            free(live);
            live = NULL;
        }
    }
    if (live) add_live_local(o, db, &live->db);
    else add_local(o, db, &local);

    size_t nrep = ls_db_config_replica_count(db);
    json_t *reps = json_array();
    /* request counters: live from this process, else as `replicate` last
     * persisted them (engine/stats.h) */
    ls_stats_snapshot *snap = NULL;
    if (!live && nrep) {
        char *meta = ls_config_db_meta_path(db);
        snap = meta ? calloc(1, sizeof(*snap)) : NULL;
        ls_err se;
        if (snap && ls_stats_read(meta, snap, &se) != LS_OK) {
            free(snap);
            snap = NULL;
        }
        free(meta);
    }
    int worst = 0; /* 0 stopped/none, 1 idle, 2 syncing, 3 error */
    static const char *const rank_name[] = {"stopped", "idle", "syncing", "error"};
    uint64_t remote_min = UINT64_MAX;
    int64_t last_sync_min = 0, lag_ns = 0;
    for (size_t i = 0; i < nrep; i++) {
        const ls_replica_config *rcfg = ls_db_config_replica_at(db, i);
        json_t *rep = json_object();
        json_object_set_new(rep, "name", json_string(replica_name(rcfg)));
        json_object_set_new(rep, "type", json_string(ls_replica_type_name(rcfg->client.type)));
        char *url = replica_url(rcfg);
        json_object_set_new(rep, "url", json_string(url ? url : ""));
        free(url);
        const char *status = "stopped";
        uint64_t rtxid = 0;
        int64_t last_sync = 0;
        if (live && i < live->nreplicas) {
            const ls_replica_status *rs = &live->replicas[i];
            status = replica_state_name(rs->state);
            rtxid = rs->txid;
            last_sync = rs->last_sync_ns;
            if (rs->last_error != LS_OK && rs->state == LS_REPLICA_ERROR)
                json_object_set_new(rep, "error", json_string(rs->last_error_msg));
            json_object_set_new(rep, "consecutive_errors", json_integer(rs->consecutive_errors));
            ls_stats_add_json(rep, &rs->stats, rs->stats_since_ns, 0);
        } else if (!live && remote) {
            ls_storage *st = NULL;
            ls_err e;
            ls_err_clear(&e);
            ls_code rc = open_replica(m, &rcfg->client, &st, &e);
            ls_ltx_file last;
            bool found = false;
            if (rc == LS_OK) rc = ls_ltx_last(st, 0, &last, &found, &e);
            if (rc == LS_OK && found) {
                rtxid = last.max_txid;
                last_sync = last.created_at_ns;
            }
            for (int l = 1; rc == LS_OK && l <= LS_LTX_MAX_LEVEL; l++) {
                uint64_t mx = 0;
                rc = ls_ltx_max_txid(st, l, &mx, &e);
                if (rc == LS_OK && mx > rtxid) rtxid = mx;
            }
            if (st) ls_storage_close(st);
            if (rc != LS_OK) {
                status = "error";
                json_object_set_new(rep, "error", json_string(e.msg));
            }
        }
        if (!live) {
            const ls_stats_replica *sr =
                ls_stats_find(snap, replica_name(rcfg), ls_replica_type_name(rcfg->client.type), i);
            if (sr) ls_stats_add_json(rep, &sr->stats, sr->since_ns, snap->updated_ns);
        }
        if (!json_object_get(rep, "requests")) json_object_set_new(rep, "requests", json_null());
        if (live && live->db.last_error != LS_OK && strcmp(status, "stopped") != 0) status = "error";
        int rank = strcmp(status, "error") == 0 ? 3 : strcmp(status, "syncing") == 0 ? 2
                   : strcmp(status, "idle") == 0 ? 1 : 0;
        if (rank > worst) worst = rank;
        if (rtxid < remote_min) {
            remote_min = rtxid;
            last_sync_min = last_sync;
        }
        json_object_set_new(rep, "status", json_string(status));
        ls_mcp_hex16(rtxid, hex);
        json_object_set_new(rep, "txid", json_string(hex));
        json_object_set_new(rep, "last_sync_at", ls_mcp_time_json(last_sync));
        json_array_append_new(reps, rep);
    }
    free(snap);
    if (remote_min == UINT64_MAX) remote_min = 0;
    if (live) {
        local = live->db.txid;
        if (live->db.last_error != LS_OK)
            json_object_set_new(o, "error", json_string(live->db.last_error_msg));
        if (local > remote_min) {
            int64_t since = last_sync_min ? last_sync_min : live->db.last_sync_ns;
            lag_ns = since ? ls_now_ns() - since : 0;
            if (lag_ns < 0) lag_ns = 0;
        }
        json_object_set_new(o, "replicating", json_true());
        json_object_set_new(o, "db_last_sync_at", ls_mcp_time_json(live->db.last_sync_ns));
        free(live);
    } else {
        json_object_set_new(o, "replicating", json_false());
    }
    ls_mcp_hex16(local, hex);
    json_object_set_new(o, "local_txid", json_string(hex));
    ls_mcp_hex16(remote_min, hex);
    json_object_set_new(o, "remote_txid", json_string(hex));
    json_object_set_new(o, "status", json_string(rank_name[worst]));
    json_object_set_new(o, "replication_lag", lag_json(local, remote_min, lag_ns));
    json_object_set_new(o, "last_sync_at", ls_mcp_time_json(last_sync_min));
    /* the same object twice (reference counted), not a copy: dumped alike,
     * and the all-database document of 100 databases is a third smaller */
    if (json_array_size(reps)) json_object_set(o, "replica", json_array_get(reps, 0));
    json_object_set_new(o, "replicas", reps);
    return o;
}

/* ---- restore output safety -------------------------------------------- */

static bool has_dotdot(const char *p) {
    const char *s = p;
    while (*s) {
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n == 2 && s[0] == '.' && s[1] == '.') return true;
        if (!e) break;
        s = e + 1;
    }
    return false;
}

/* realpath of the longest existing prefix + the rest (which does not exist). */
static char *resolve_partial(const char *abs) {
    char *full = realpath(abs, NULL);
    if (full) return full;
    char *dir = ls_path_dir(abs), *base = ls_path_base(abs);
    char *out = NULL;
    if (dir && base && strcmp(dir, abs) != 0) {
        char *rd = resolve_partial(dir);
        if (rd) out = ls_path_join(rd, base);
        free(rd);
    }
    free(dir);
    free(base);
    return out;
}

ls_code ls_mcp_resolve_output(ls_mcp *m, const char *path, char **out, ls_err *err) {
    *out = NULL;
    if (!path || !*path) return ls_err_set(err, LS_ERR_INVALID, "output path is empty");
    if (strlen(path) >= PATH_MAX) return ls_err_set(err, LS_ERR_INVALID, "output path is too long");
    for (const char *p = path; *p; p++)
        if ((unsigned char)*p < 0x20)
            return ls_err_set(err, LS_ERR_INVALID, "output path contains control characters");
    if (has_dotdot(path))
        return ls_err_set(err, LS_ERR_INVALID,
                          "output path %s contains \"..\"; give a plain absolute path", path);
    char *abs = ls_path_abs(path);
    if (!abs) return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
    char *real = resolve_partial(abs);
    if (!real) {
        free(abs);
        return ls_err_set(err, LS_ERR_INVALID, "output path %s cannot be resolved", path);
    }
    if (m->nrestore_dirs) {
        bool ok = false;
        for (size_t i = 0; i < m->nrestore_dirs && !ok; i++) {
            const char *d = m->restore_dirs[i];
            size_t n = strlen(d);
            if (strcmp(d, "/") == 0) ok = true;
            else if (strncmp(real, d, n) == 0 && real[n] == '/' && real[n + 1]) ok = true;
        }
        if (!ok) {
            char dirs[1024];
            size_t len = 0;
            dirs[0] = 0;
            for (size_t i = 0; i < m->nrestore_dirs && len + 4 < sizeof(dirs); i++) {
                int w = snprintf(dirs + len, sizeof(dirs) - len, "%s%s", i ? ", " : "",
                                 m->restore_dirs[i]);
                if (w < 0) break;
                len += (size_t)w;
                if (len >= sizeof(dirs)) len = sizeof(dirs) - 1;
            }
            ls_code rc = ls_err_set(err, LS_ERR_AUTH,
                                    "output path %s is outside the allowed restore directories "
                                    "(mcp-restore-dirs: %s); choose a path inside one of them",
                                    path, dirs);
            free(abs);
            free(real);
            return rc;
        }
    }
    free(abs);
    *out = real;
    return LS_OK;
}
