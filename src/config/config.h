/*
 * config/config.h — the YAML configuration file (spec section 11), replica
 * URLs (11.5) and the path rules of 4.1 / 10.1.
 *
 * CONTRACT
 *
 * Loading. ls_config_load() reads a file (path expanded like a database path;
 * missing file -> LS_ERR_CONFIG "config file not found: <path>"), expands
 * environment variables over the raw text unless expand_env is false (Go
 * os.Expand rules, $PID = our pid), parses YAML 1.1 with libyaml using the
 * go-yaml v2 scalar rules (durations: Go strings or bare integers =
 * nanoseconds; 0600 octal, 0x hex; true/false/yes/no/on/off/y/n), applies the
 * defaults of 5.1 / 6 / 7.1 / 11.x, propagates the top-level replica settings
 * (11.4), resolves every replica (URL vs keys precedence, 11.5) and validates
 * (11.6). Unlike the reference, unknown keys are refused.
 *
 * Errors. Every failure returns LS_ERR_CONFIG (LS_ERR_NOMEM on allocation
 * failure) and a message naming the line, the key path and the value, e.g.
 *   config line 7: dbs[0].replica.sync-interval: invalid duration "1x"
 * Validation messages keep the reference wording after the "config line N: "
 * prefix: "snapshot.interval: snapshot interval must be greater than 0 (got 0s)",
 * "database config #2: must specify either 'path' or 'dir'".
 *
 * Values. Every scalar is an ls_cfg_* value: `set` tells whether the file
 * gave it (or, for replica settings, whether it was inherited from the top
 * level), `line` is the 1-based YAML line it came from (0 when not from the
 * file), and `v` ALWAYS holds the effective value: the default when !set.
 * String values are NULL when unset and no default exists.
 *
 * Replicas. Each database has exactly one replica (`replica:` or the
 * deprecated one-element `replicas:` list). ls_replica_config keeps what the
 * entry said (after top-level propagation) in `settings`/`type`/`url`/`path`,
 * and the fully resolved client settings in `client` (defaults applied, URL
 * parsed and merged with the keys). Storage backends read only `client`.
 *
 * Ownership. An ls_config and everything reachable from it is owned by the
 * config and freed by ls_config_free(). Functions returning char * return
 * malloc'd strings owned by the caller. Structures returned via **out are
 * owned by the caller and freed with the matching *_free function.
 *
 * Thread-safety. Loading touches no global state except reading the
 * environment and the current directory. A loaded ls_config may be read
 * from several threads. Its creator may adjust fields before sharing it
 * (e.g. the CLI applies -exec or -restore-if-db-not-exists); strings are
 * malloc'd and owned by the config, so replace them with free + strdup.
 *
 * Limits. Files up to 16 MiB, nesting depth 64, 2,000,000 nodes, and an
 * alias-expansion budget ("document contains excessive aliasing").
 * Top-level keys starting with "x-" are ignored (anchor holders).
 */
#ifndef LS_CONFIG_CONFIG_H
#define LS_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

/* ------------------------------------------------------------------------ */
/* Value wrappers                                                            */

typedef struct ls_cfg_dur {
    bool set;
    int line;
    int64_t v; /* nanoseconds */
} ls_cfg_dur;

typedef struct ls_cfg_int {
    bool set;
    int line;
    int64_t v;
} ls_cfg_int;

typedef struct ls_cfg_bool {
    bool set;
    int line;
    bool v;
} ls_cfg_bool;

typedef struct ls_cfg_str {
    bool set;
    int line;
    char *v; /* NULL when unset and no default; may be "" when given empty */
} ls_cfg_str;

typedef struct ls_cfg_strlist {
    bool set;
    int line;
    size_t n;
    char **v; /* n strings */
} ls_cfg_strlist;

/* ------------------------------------------------------------------------ */
/* Replica types and URLs                                                    */

typedef enum ls_replica_type {
    LS_REPLICA_UNKNOWN = 0,
    LS_REPLICA_FILE,
    LS_REPLICA_S3,
    LS_REPLICA_GS,
    LS_REPLICA_ABS,
    LS_REPLICA_SFTP,
    LS_REPLICA_WEBDAV,
    LS_REPLICA_NATS,
    LS_REPLICA_OSS,
} ls_replica_type;

/* "file", "s3", ... ("" for UNKNOWN). */
const char *ls_replica_type_name(ls_replica_type t);
/* Type for a `type:` value or URL scheme ("webdavs" -> WEBDAV); UNKNOWN if none. */
ls_replica_type ls_replica_type_from_name(const char *name);

typedef struct ls_url_param {
    char *key;
    char *value; /* percent-decoded */
} ls_url_param;

/* A parsed replica URL (11.5). Derived fields are filled per scheme. */
typedef struct ls_replica_url {
    char *raw;          /* the URL as given */
    char *scheme;       /* as written, lower-cased: "s3", "webdavs" */
    ls_replica_type type;
    char *user;         /* userinfo user, NULL when absent (percent-decoded) */
    char *password;     /* userinfo password, NULL when absent */
    char *host;         /* host without port ("" when none); for s3 access
                           points the raw ARN host */
    int port;           /* 0 when absent */
    char *path;         /* file: absolute cleaned path; others: path.Clean'd
                           URL path without leading "/" ("" or "." per 11.5);
                           sftp: keeps the leading "/"; nats: "" */
    ls_url_param *query;
    size_t nquery;

    /* Derived (s3/gs/abs/oss/nats/webdav). NULL / unset when not applicable. */
    char *bucket;       /* s3/gs/oss bucket, abs container, nats bucket */
    char *region;
    char *endpoint;     /* s3: "http(s)://host[:port]"; oss: endpoint host */
    char *account_name; /* abs: userinfo user */
    char *server_url;   /* webdav: http[s]://host[:port]; nats: nats://host[:port] */
    ls_cfg_bool force_path_style;
    ls_cfg_bool skip_verify;
    ls_cfg_bool sign_payload;
    ls_cfg_bool require_content_md5;
    char *storage_class;
    int64_t part_size;  /* 0 = not given */
    int64_t concurrency;/* 0 = not given */
} ls_replica_url;

/* Parses a replica URL (no configuration keys involved; requirements such as
 * "bucket required" are checked when a replica is resolved). Errors
 * (LS_ERR_CONFIG):
 *   replica url scheme required: <url>
 *   unsupported replica URL scheme: "<scheme>"
 *   invalid value for query parameter "<name>": "<value>" (must be a positive integer)
 *   invalid s3 access point arn in replica URL <url>
 *   invalid replica URL <url>: invalid URL escape | invalid port ... | ...
 * A MinIO-style host without a bucket ("s3://localhost:9000") parses with
 * bucket "". Secrets are never included in messages (display form). */
ls_code ls_parse_replica_url(const char *url, ls_replica_url **out, ls_err *err);
void ls_replica_url_free(ls_replica_url *u);
/* Value of a query parameter (first match, exact key), or NULL. */
const char *ls_replica_url_query(const ls_replica_url *u, const char *key);

/* The URL with secrets removed: the userinfo password becomes "xxxxx" (no
 * password -> user kept as is), and query parameters that carry secrets
 * (secret/key/token/password/signature/credential/sas: e.g.
 * secret-access-key, sseCustomerKey, sas-token) get value "xxxxx".
 * Unparsable input is returned as "<invalid url>". Never NULL except on OOM. */
char *ls_replica_url_display(const char *url);

/* True iff arg matches ^\w+:// (a replica URL rather than a path). */
bool ls_is_replica_url(const char *arg);

/* ------------------------------------------------------------------------ */
/* Replica configuration                                                     */

/* Settings that may appear in a replica entry and at the top level (11.4). */
typedef struct ls_replica_settings {
    ls_cfg_dur sync_interval;
    ls_cfg_dur validation_interval;
    ls_cfg_int max_sync_ltx_files;
    ls_cfg_bool auto_recover;
    /* S3 / OSS */
    ls_cfg_str access_key_id, secret_access_key, region, bucket, endpoint;
    ls_cfg_bool force_path_style, sign_payload, require_content_md5, skip_verify;
    ls_cfg_str storage_class;
    ls_cfg_int part_size; /* bytes (parsed with ls_parse_bytes) */
    ls_cfg_int concurrency;
    ls_cfg_str sse_customer_algorithm, sse_customer_key, sse_customer_key_path,
        sse_kms_key_id;
    /* ABS */
    ls_cfg_str account_name, account_key, sas_token;
    /* SFTP */
    ls_cfg_str host, user, password, key_path, host_key;
    ls_cfg_bool concurrent_writes;
    /* WebDAV */
    ls_cfg_str webdav_url, webdav_username, webdav_password;
    /* NATS */
    ls_cfg_str jwt, seed, creds, nkey, username, token;
    ls_cfg_bool tls;
    ls_cfg_strlist root_cas;
    ls_cfg_str client_cert, client_key;
    ls_cfg_int max_reconnects;
    ls_cfg_dur reconnect_wait, timeout;
    /* age (always an error when non-empty) */
    ls_cfg_strlist age_identities, age_recipients;
} ls_replica_settings;

/* Resolved client settings: defaults applied, URL merged (11.4/11.5). */
typedef struct ls_replica_client_cfg {
    ls_replica_type type;
    char *url;            /* the replica's url (NULL when given by keys) */
    char *path;           /* file: absolute directory; s3/oss/gs/abs: key
                             prefix exactly as Go derives it ("" / "." quirks
                             of 3.2 kept); sftp/webdav: remote path; nats: "" */
    int64_t sync_interval;        /* ns, default 1s */
    int64_t validation_interval;  /* ns, 0 = unset */
    int64_t max_sync_ltx_files;   /* default 256; 0 = unlimited */
    bool auto_recover;            /* default false */

    /* s3, oss, gs */
    char *bucket;
    char *region;         /* s3: NULL = discover (us-east-1 with endpoint);
                             oss: default "cn-hangzhou" */
    char *endpoint;       /* NULL = provider default */
    char *access_key_id, *secret_access_key; /* NULL = environment chain */
    bool force_path_style;
    bool skip_verify;
    bool sign_payload;        /* default true */
    bool require_content_md5; /* default true (Tigris: false) */
    char *storage_class;
    int64_t part_size;        /* 0 = backend default (5 MiB) */
    int64_t concurrency;      /* 0 = backend default (5; R2 2) */
    char *sse_customer_algorithm, *sse_customer_key, *sse_customer_key_path,
        *sse_kms_key_id;
    /* abs */
    char *account_name, *account_key, *sas_token;
    /* sftp */
    char *host;               /* "host:port" (":22" added) */
    char *user, *password, *key_path, *host_key;
    bool concurrent_writes;   /* default true */
    /* webdav */
    char *webdav_url, *webdav_username, *webdav_password;
    /* nats (password shared with sftp above) */
    char *nats_url;           /* nats://host[:port] or NULL */
    char *jwt, *seed, *creds, *nkey, *username, *token;
    bool tls;
    char **root_cas;
    size_t n_root_cas;
    char *client_cert, *client_key;
    int64_t max_reconnects;   /* default -1 (unlimited) */
    int64_t reconnect_wait;   /* ns, default 2s */
    int64_t timeout;          /* ns, default 10s */
} ls_replica_client_cfg;

typedef struct ls_replica_config {
    int line;              /* line of the replica mapping */
    char *field;           /* "dbs[0].replica" / "dbs[0].replicas[0]" */
    ls_cfg_str type, url, path, name;
    ls_replica_settings settings;   /* after top-level propagation */
    ls_replica_client_cfg client;   /* resolved */
} ls_replica_config;

/* ------------------------------------------------------------------------ */
/* Database configuration                                                    */

typedef struct ls_db_config {
    int index;             /* 0-based position in dbs */
    int line;              /* line of the entry */
    char *path;            /* expanded absolute path; NULL for dir entries */
    char *dir;             /* expanded absolute directory; NULL for path entries */
    ls_cfg_str path_raw;   /* `path:` as written */
    ls_cfg_str dir_raw;    /* `dir:` as written */
    ls_cfg_str pattern;
    ls_cfg_bool recursive;
    ls_cfg_bool watch;
    ls_cfg_str meta_path;  /* expanded (~, absolute) when set */
    ls_cfg_str meta_dir;   /* expanded when set */
    ls_cfg_dur snapshot_interval;   /* per-db value (promoted, 11.2) */
    ls_cfg_dur snapshot_retention;
    ls_cfg_dur monitor_interval;    /* default 1s; 0 disables background sync */
    ls_cfg_dur checkpoint_interval; /* default 1m */
    ls_cfg_dur busy_timeout;        /* default 1s */
    ls_cfg_int min_checkpoint_page_count; /* default 1000 */
    ls_cfg_int truncate_page_n;     /* default 121359; 0 -> default */
    ls_cfg_int max_sync_wal_bytes;  /* default 67108864; 0 = unlimited */
    ls_cfg_bool restore_if_db_not_exists;
    ls_replica_config *replica;     /* never NULL after a successful load;
                                       the first of the replicas */
    bool replica_from_list;         /* given as the `replicas:` list */
    ls_replica_config **extra_replicas; /* replicas[1..] of a `replicas:` list
                                       (this build replicates to every one) */
    size_t nextra_replicas;
} ls_db_config;

typedef struct ls_level_config {
    int line;
    int64_t interval;      /* ns */
} ls_level_config;

/* ------------------------------------------------------------------------ */
/* Top level                                                                 */

typedef struct ls_config {
    char *source;          /* path loaded from, or the display name */

    ls_db_config *dbs;
    size_t ndbs;

    ls_cfg_str addr;                 /* metrics bind address; NULL = off */
    ls_cfg_bool socket_enabled;      /* default false */
    ls_cfg_str socket_path;          /* default /var/run/litestream.sock */
    ls_cfg_int socket_permissions;   /* default 0600 */

    ls_level_config *levels;         /* L1..LN, default 30s, 5m, 1h */
    size_t nlevels;
    bool levels_set;
    int levels_line;

    ls_cfg_dur snapshot_interval;    /* default 24h */
    ls_cfg_dur snapshot_retention;   /* default 24h */
    ls_cfg_dur validation_interval;  /* unset = off */
    ls_cfg_dur l0_retention;         /* default 5m; 0 disables */
    ls_cfg_dur l0_retention_check_interval; /* default 15s */
    ls_cfg_bool verify_compaction;   /* default false */
    ls_cfg_bool retention_enabled;   /* default true */
    ls_cfg_str heartbeat_url;        /* NULL = off */
    ls_cfg_dur heartbeat_interval;   /* default 5m (>= 1m) */
    ls_cfg_str exec;                 /* NULL = none */
    ls_cfg_str logging_level;        /* default "INFO" (LOG_LEVEL env is
                                        applied by ls_config_configure_logging) */
    ls_cfg_str logging_type;         /* default "text" */
    ls_cfg_bool logging_stderr;
    ls_cfg_bool logging_source;
    ls_cfg_str mcp_addr;             /* NULL = MCP off */
    ls_cfg_dur shutdown_sync_timeout;  /* default 30s */
    ls_cfg_dur shutdown_sync_interval; /* default 500ms */

    /* MCP extensions of this implementation. */
    ls_cfg_bool mcp_read_only;       /* default false */
    ls_cfg_str mcp_token;            /* bearer token; NULL = no auth */
    ls_cfg_strlist mcp_restore_dirs; /* expanded absolute directories */

    ls_replica_settings replica_defaults; /* top-level replica keys */
} ls_config;

/* ------------------------------------------------------------------------ */
/* Loading                                                                   */

/* $LITESTREAM_CONFIG if set and non-empty, else "/etc/litestream.yml".
 * Returns a static or environment string; do not free. */
const char *ls_config_default_path(void);

/* Loads and validates a config file (see CONTRACT). path NULL -> default. */
ls_code ls_config_load(const char *path, bool expand_env, ls_config **out, ls_err *err);

/* Same from a string; display_name is used in messages and cfg->source. */
ls_code ls_config_parse_string(const char *yaml, const char *display_name, bool expand_env,
                               ls_config **out, ls_err *err);

/* Default config (no file) — what `replicate` uses in URL mode. */
ls_code ls_config_default(ls_config **out, ls_err *err);

void ls_config_free(ls_config *cfg);

/* 10.4 URL mode: the default config plus one database at db_path (expanded)
 * with the deprecated replicas: form, one replica per URL with
 * sync-interval 1s. n > 1 -> "multiple replicas on a single database are no
 * longer supported"; n == 0 -> "must specify at least one replica URL for P". */
ls_code ls_config_from_url_mode(const char *db_path, const char *const *urls, size_t n,
                                ls_config **out, ls_err *err);

/* Number of replicas of a database entry (1 + extra_replicas), and the
 * i-th one (0 = db->replica). */
size_t ls_db_config_replica_count(const ls_db_config *db);
const ls_replica_config *ls_db_config_replica_at(const ls_db_config *db, size_t i);

/* The database entry whose expanded path equals abs_path (also expands
 * abs_path itself first), or NULL. Directory entries never match. */
const ls_db_config *ls_config_find_db(const ls_config *cfg, const char *abs_path);

/* Meta directory of a path entry (4.1): meta-path if set, else
 * "<dir>/.<name>-litestream". malloc'd; NULL for dir entries / OOM. */
char *ls_config_db_meta_path(const ls_db_config *db);

/* Meta directory of a database discovered under a directory entry; rel is
 * the path relative to db->dir (4.1 meta-dir / meta-path rules). */
char *ls_config_dir_entry_meta_path(const ls_db_config *db, const char *rel);

/* The configuration of one database discovered under a directory entry
 * (11.3 / 4.1): a path entry for db_path (which must lie under dir_entry->dir)
 * with the entry's settings, meta-path derived from meta-dir / meta-path,
 * and the replica location extended by the path relative to the directory
 * (appended to the url path, joined to a file path, or joined to the key
 * prefix with "/"), then re-resolved. Free with ls_db_config_free(). */
ls_code ls_config_dir_entry_db(const ls_db_config *dir_entry, const char *db_path,
                               ls_db_config **out, ls_err *err);
void ls_db_config_free(ls_db_config *db);

/* Default meta path for a database file: "D/.name-litestream". malloc'd. */
char *ls_default_meta_path(const char *db_path);

/* "sqlite://"/"sqlite3://" stripped, "~" expanded, made absolute. malloc'd;
 * NULL on OOM or empty input. */
char *ls_expand_db_path(const char *arg);

/* go-humanize ParseBytes (11.7): "5MB" = 5000000, "5MiB" = 5242880,
 * "1,000 kb", "1.5 GiB". Errors name the input. */
ls_code ls_parse_bytes(const char *s, int64_t *out, ls_err *err);

/* Environment expansion of 11.1 (Go os.Expand + $PID). malloc'd. */
char *ls_config_expand_env(const char *text);

/* Refuses configs that use features this build does not implement yet:
 * replica types other than those in the supported table, socket.enabled,
 * addr, heartbeat-url, dir entries. Message names line and key, e.g.
 * config line 12: dbs[1].replica.type: replica type "gs" is not supported by this build yet */
ls_code ls_config_check_supported(const ls_config *cfg, ls_err *err);

/* Whether this build implements a replica type / a top-level feature. */
bool ls_config_replica_type_supported(ls_replica_type t);

/* Configures the process logger from logging.* (LOG_LEVEL env overrides the
 * level); unknown levels fall back to INFO as the reference does. */
void ls_config_configure_logging(const ls_config *cfg);

#endif
