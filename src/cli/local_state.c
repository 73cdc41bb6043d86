#include "cli/local_state.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ltx/ltx.h"
#include "util/fs.h"

ls_code cli_local_max_txid(const char *meta_path, uint64_t *txid, ls_err *err) {
    *txid = 0;
    char *dir = ls_strfmt("%s/ltx/0", meta_path);
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

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static ls_code collect(const char *dir, char ***v, size_t *n, size_t *cap, ls_err *err) {
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT) return LS_OK;
        return ls_err_errno(err, errno, "read directory %s", dir);
    }
    struct dirent *de;
    ls_code rc = LS_OK;
    while ((de = readdir(d)) != NULL && rc == LS_OK) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
        char *p = ls_path_join(dir, de->d_name);
        if (!p) {
            rc = ls_err_set(err, LS_ERR_NOMEM, "out of memory");
            break;
        }
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
            rc = collect(p, v, n, cap, err);
            free(p);
            continue;
        }
        if (*n == *cap) {
            size_t nc = *cap ? *cap * 2 : 16;
            char **np = realloc(*v, nc * sizeof(char *));
            if (!np) {
                free(p);
                rc = ls_err_set(err, LS_ERR_NOMEM, "out of memory");
                break;
            }
            *v = np;
            *cap = nc;
        }
        (*v)[(*n)++] = p;
    }
    closedir(d);
    return rc;
}

ls_code cli_local_ltx_files(const char *meta_path, char ***paths, size_t *n, ls_err *err) {
    *paths = NULL;
    *n = 0;
    size_t cap = 0;
    char *dir = ls_strfmt("%s/ltx", meta_path);
    if (!dir) return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
    ls_code rc = collect(dir, paths, n, &cap, err);
    free(dir);
    if (rc != LS_OK) {
        cli_free_strings(*paths, *n);
        *paths = NULL;
        *n = 0;
        return rc;
    }
    if (*n) qsort(*paths, *n, sizeof(char *), cmp_str);
    return LS_OK;
}

void cli_free_strings(char **v, size_t n) {
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

void cli_format_si_bytes(uint64_t n, char *buf, size_t len) {
    static const char *units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
    if (n < 10) {
        snprintf(buf, len, "%llu B", (unsigned long long)n);
        return;
    }
    int e = (int)floor(log((double)n) / log(1000.0));
    if (e > 6) e = 6;
    double v = floor((double)n / pow(1000.0, e) * 10.0 + 0.5) / 10.0;
    snprintf(buf, len, v < 10 ? "%.1f %s" : "%.0f %s", v, units[e]);
}
