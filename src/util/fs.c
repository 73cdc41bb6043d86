#include "util/fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *ls_strdup(const char *s) {
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p) memcpy(p, s, n);
    return p;
}

char *ls_strfmt(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return NULL;
    char *p = malloc((size_t)n + 1);
    if (!p) return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

ls_code ls_mkdir_p(const char *path, mode_t mode, ls_err *err) {
    char *p = ls_strdup(path);
    if (!p) return ls_err_set(err, LS_ERR_NOMEM, "mkdir %s: out of memory", path);
    size_t n = strlen(p);
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != '\0') continue;
        char c = p[i];
        p[i] = '\0';
        if (mkdir(p, mode) != 0 && errno != EEXIST) {
            int e = errno;
            ls_code rc = ls_err_errno(err, e, "mkdir %s", p);
            free(p);
            return rc;
        }
        p[i] = c;
    }
    free(p);
    struct stat st;
    if (stat(path, &st) != 0) return ls_err_errno(err, errno, "stat %s", path);
    if (!S_ISDIR(st.st_mode)) return ls_err_set(err, LS_ERR_IO, "mkdir %s: not a directory", path);
    return LS_OK;
}

ls_code ls_fsync_dir(const char *dir, ls_err *err) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return ls_err_errno(err, errno, "open directory %s", dir);
    if (fsync(fd) != 0 && errno != EINVAL) {
        int e = errno;
        close(fd);
        return ls_err_errno(err, e, "fsync directory %s", dir);
    }
    close(fd);
    return LS_OK;
}

ls_code ls_fsync_parent(const char *path, ls_err *err) {
    char *d = ls_path_dir(path);
    if (!d) return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
    ls_code rc = ls_fsync_dir(d, err);
    free(d);
    return rc;
}

ls_code ls_write_full(int fd, const void *buf, size_t len, ls_err *err, const char *what) {
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return ls_err_errno(err, errno, "write %s", what ? what : "file");
        }
        p += n;
        len -= (size_t)n;
    }
    return LS_OK;
}

ls_code ls_pread_full(int fd, void *buf, size_t len, off_t off, size_t *nread, ls_err *err,
                      const char *what) {
    char *p = buf;
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread(fd, p + done, len - done, off + (off_t)done);
        if (n < 0) {
            if (errno == EINTR) continue;
            return ls_err_errno(err, errno, "read %s at offset %lld", what ? what : "file",
                                (long long)(off + (off_t)done));
        }
        if (n == 0) break;
        done += (size_t)n;
    }
    if (nread) *nread = done;
    return LS_OK;
}

static ls_code write_file_via_tmp(const char *path, const void *data, size_t len, mode_t mode,
                                  bool durable, ls_err *err) {
    char *tmp = ls_strfmt("%s.tmp", path);
    if (!tmp) return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    ls_code rc = LS_OK;
    if (fd < 0) {
        rc = ls_err_errno(err, errno, "create %s", tmp);
        goto out;
    }
    rc = ls_write_full(fd, data, len, err, tmp);
    if (rc == LS_OK && durable && fsync(fd) != 0) rc = ls_err_errno(err, errno, "fsync %s", tmp);
    if (close(fd) != 0 && rc == LS_OK) rc = ls_err_errno(err, errno, "close %s", tmp);
    if (rc == LS_OK && rename(tmp, path) != 0) rc = ls_err_errno(err, errno, "rename %s", tmp);
    if (rc == LS_OK && durable) rc = ls_fsync_parent(path, err);
    if (rc != LS_OK) unlink(tmp);
out:
    free(tmp);
    return rc;
}

ls_code ls_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
                             ls_err *err) {
    return write_file_via_tmp(path, data, len, mode, true, err);
}

ls_code ls_write_file_replace(const char *path, const void *data, size_t len, mode_t mode,
                              ls_err *err) {
    return write_file_via_tmp(path, data, len, mode, false, err);
}

ls_code ls_read_file(const char *path, size_t max_len, char **out, size_t *len, ls_err *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ls_err_errno(err, errno, "open %s", path);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return ls_err_errno(err, e, "stat %s", path);
    }
    if ((uint64_t)st.st_size > max_len) {
        close(fd);
        return ls_err_set(err, LS_ERR_FORMAT, "%s: file too large (%lld bytes, limit %zu)", path,
                          (long long)st.st_size, max_len);
    }
    size_t sz = (size_t)st.st_size;
    char *buf = malloc(sz + 1);
    if (!buf) {
        close(fd);
        return ls_err_set(err, LS_ERR_NOMEM, "read %s: out of memory", path);
    }
    size_t got = 0;
    ls_code rc = ls_pread_full(fd, buf, sz, 0, &got, err, path);
    close(fd);
    if (rc != LS_OK) {
        free(buf);
        return rc;
    }
    buf[got] = '\0';
    *out = buf;
    *len = got;
    return LS_OK;
}

static ls_code remove_rec(const char *path, ls_err *err) {
    struct stat st;
    if (lstat(path, &st) != 0) {
        if (errno == ENOENT) return LS_OK;
        return ls_err_errno(err, errno, "stat %s", path);
    }
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (!d) return ls_err_errno(err, errno, "open directory %s", path);
        struct dirent *de;
        ls_code rc = LS_OK;
        while ((de = readdir(d)) != NULL) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
            char *child = ls_path_join(path, de->d_name);
            if (!child) {
                rc = ls_err_set(err, LS_ERR_NOMEM, "out of memory");
                break;
            }
            rc = remove_rec(child, err);
            free(child);
            if (rc != LS_OK) break;
        }
        closedir(d);
        if (rc != LS_OK) return rc;
        if (rmdir(path) != 0 && errno != ENOENT) return ls_err_errno(err, errno, "remove %s", path);
        return LS_OK;
    }
    if (unlink(path) != 0 && errno != ENOENT) return ls_err_errno(err, errno, "remove %s", path);
    return LS_OK;
}

ls_code ls_remove_all(const char *path, ls_err *err) { return remove_rec(path, err); }

char *ls_path_join(const char *a, const char *b) {
    if (!a || !*a) return ls_strdup(b);
    if (!b || !*b) return ls_strdup(a);
    size_t la = strlen(a);
    while (la > 1 && a[la - 1] == '/') la--;
    while (*b == '/') b++;
    return ls_strfmt("%.*s/%s", (int)la, a, b);
}

char *ls_path_dir(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash) return ls_strdup(".");
    if (slash == path) return ls_strdup("/");
    return ls_strfmt("%.*s", (int)(slash - path), path);
}

char *ls_path_base(const char *path) {
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/') n--;
    const char *end = path + n;
    const char *start = end;
    while (start > path && start[-1] != '/') start--;
    if (start == end) return ls_strdup(n ? "/" : ".");
    return ls_strfmt("%.*s", (int)(end - start), start);
}

/* Lexically cleans an absolute path: collapses "//", ".", "..". */
static void clean_abs(char *p) {
    char *out = p;
    const char *in = p;
    while (*in) {
        while (*in == '/') in++;
        if (!*in) break;
        const char *seg = in;
        while (*in && *in != '/') in++;
        size_t len = (size_t)(in - seg);
        if (len == 1 && seg[0] == '.') continue;
        if (len == 2 && seg[0] == '.' && seg[1] == '.') {
            while (out > p && *--out != '/') {}
            continue;
        }
        *out++ = '/';
        memmove(out, seg, len);
        out += len;
    }
    if (out == p) *out++ = '/';
    *out = '\0';
}

char *ls_path_abs(const char *path) {
    if (!path) return NULL;
    char *res;
    if (path[0] == '~' && (path[1] == '/' || path[1] == '\0')) {
        const char *home = getenv("HOME");
        if (!home || !*home) {
            struct passwd *pw = getpwuid(getuid());
            home = pw ? pw->pw_dir : "/";
        }
        res = ls_strfmt("%s/%s", home, path + 1);
    } else if (path[0] == '/') {
        res = ls_strdup(path);
    } else {
        char cwd[4096];
        if (!getcwd(cwd, sizeof(cwd))) return NULL;
        res = ls_strfmt("%s/%s", cwd, path);
    }
    if (res) clean_abs(res);
    return res;
}

bool ls_path_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* Go's path.Clean: lexical, "/"-separated; "" -> ".". */
char *ls_path_clean(const char *p) {
    if (!p || !*p) return ls_strdup(".");
    size_t n = strlen(p);
    bool rooted = p[0] == '/';
    char *out = malloc(n + 2);
    if (!out) return NULL;
    size_t w = 0, r = 0, dotdot = 0;
    if (rooted) {
        out[w++] = '/';
        r = 1;
        dotdot = 1;
    }
    while (r < n) {
        if (p[r] == '/') {
            r++;
        } else if (p[r] == '.' && (r + 1 == n || p[r + 1] == '/')) {
            r++;
        } else if (p[r] == '.' && p[r + 1] == '.' && (r + 2 == n || p[r + 2] == '/')) {
            r += 2;
            if (w > dotdot) {
                w--;
                while (w > dotdot && out[w] != '/') w--;
            } else if (!rooted) {
                if (w > 0) out[w++] = '/';
                out[w++] = '.';
                out[w++] = '.';
                dotdot = w;
            }
        } else {
            if ((rooted && w != 1) || (!rooted && w != 0)) out[w++] = '/';
            while (r < n && p[r] != '/') out[w++] = p[r++];
        }
    }
    if (w == 0) out[w++] = '.';
    out[w] = '\0';
    return out;
}
