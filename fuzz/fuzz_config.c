/*
 * libFuzzer target for config/: the input is a YAML configuration file.
 * Exercises the loader (with and without env expansion), the replica URL
 * parser and the display form on the input's first line. Invariants checked
 * on success: every database has a resolved replica of a known type, path
 * entries are absolute, errors carry LS_ERR_CONFIG and a "config" message,
 * display URLs never contain a userinfo password.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

static void check_config(const ls_config *c) {
    for (size_t i = 0; i < c->ndbs; i++) {
        const ls_db_config *d = &c->dbs[i];
        if (!d->replica) abort();
        if (d->replica->client.type == LS_REPLICA_UNKNOWN) abort();
        if (d->path && d->path[0] != '/') abort();
        if (!d->path && !d->dir) abort();
        if (d->path) {
            char *m = ls_config_db_meta_path(d);
            if (!m || m[0] != '/') abort();
            free(m);
            if (ls_config_find_db(c, d->path) == NULL) abort();
        }
    }
    ls_err e;
    (void)ls_config_check_supported(c, &e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 1 << 16) return 0;
    char *s = malloc(size + 1);
    if (!s) return 0;
    memcpy(s, data, size);
    s[size] = '\0';

    for (int expand = 0; expand < 2; expand++) {
        ls_config *c = NULL;
        ls_err e;
        ls_code rc = ls_config_parse_string(s, "fuzz", expand != 0, &c, &e);
        if (rc == LS_OK) {
            if (!c) abort();
            check_config(c);
            ls_config_free(c);
        } else {
            if (c) abort();
            if (rc != LS_ERR_CONFIG && rc != LS_ERR_NOMEM) abort();
            if (!strstr(e.msg, "config")) abort();
        }
    }

    /* first line as a replica URL */
    char *nl = strchr(s, '\n');
    if (nl) *nl = '\0';
    ls_replica_url *u = NULL;
    ls_err e;
    if (ls_parse_replica_url(s, &u, &e) == LS_OK) {
        if (!u || !u->path || u->type == LS_REPLICA_UNKNOWN) abort();
        ls_replica_url_free(u);
    } else if (u) {
        abort();
    }
    char *d = ls_replica_url_display(s);
    if (d && ls_is_replica_url(s)) {
        /* a password in the authority is always masked */
        const char *a = strstr(d, "://");
        if (a) {
            a += 3;
            size_t alen = strcspn(a, "/?#");
            const char *at = NULL;
            for (size_t i = 0; i < alen; i++)
                if (a[i] == '@') at = a + i;
            if (at) {
                const char *colon = memchr(a, ':', (size_t)(at - a));
                if (colon && strncmp(colon, ":xxxxx@", 7) != 0) abort();
            }
        }
    }
    free(d);
    free(s);
    return 0;
}
