/*
 * storage/file.c — the file backend: objects are plain files under a root
 * directory (spec 3.2, 3.3, 15).
 *
 *  put   writes "<final>.<pid>.<counter>.tmp" (unique per process and call,
 *        so concurrent puts of one key never share a temp file), sets mtime
 *        and atime to created_at_ns (when given) on the open file, fsyncs,
 *        renames over the final name and fsyncs the directory. Setting the
 *        times before the rename (spec 3.3 sets them after) means a reader
 *        never sees the final name with a wrong time; the outcome is the same.
 *        Parent directories are created with the root's permission bits
 *        (0700 if the root did not exist at open); files get the same bits
 *        minus execute; new directories are fsynced into their parents.
 *        Any failure removes the temp file.
 *  get   opens the file (the open descriptor keeps reading the same inode
 *        even if a put replaces the key meanwhile) and streams [off, off+len).
 *  head  stat(): size and mtime (the recorded creation time).
 *  list  reads the directory part of the prefix and filters its last
 *        (partial) element by name; recursive without delimiter, directories
 *        folded into "name/" entries with delimiter '/'. Files ending in
 *        ".tmp" (in-progress puts) are ignored; symlinked directories are
 *        not followed when recursing. A missing directory is an empty list.
 *  del   unlink(); missing keys (and directories) are skipped; directories
 *        are never removed. All keys are attempted; the first error is
 *        returned.
 *
 * Errors name the file path and the errno text; ENOSPC/EDQUOT map to
 * LS_ERR_NOSPACE and EACCES/EPERM/EROFS to LS_ERR_AUTH (util/error.c).
 * Thread-safe: no shared mutable state except an atomic temp-name counter.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "storage/storage.h"
#include "util/fs.h"

#define FILE_COPY_BUF (128 * 1024)
#define FILE_LIST_MAX_DEPTH 64

typedef struct {
    ls_storage base;
    char *root;
    mode_t dir_mode, file_mode;
} file_storage;

static uint64_t g_tmp_counter;

static const ls_storage_ops file_ops;

static char *obj_path(const file_storage *fs, const char *key) {
    return ls_path_join(fs->root, key);
}

static int64_t stat_mtime_ns(const struct stat *st) {
    return (int64_t)st->st_mtim.tv_sec * INT64_C(1000000000) + (int64_t)st->st_mtim.tv_nsec;
}

/* ------------------------------------------------------------------ put -- */

/* Creates dir (below the root) if missing. New directory entries are made
 * durable by fsyncing every directory from dir's parent up to the root, and
 * the root's parent too (best effort: it may not be readable). */
static ls_code ensure_dir(const file_storage *fs, const char *dir, ls_err *err) {
    struct stat st;
    if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) return LS_OK;
    ls_code rc = ls_mkdir_p(dir, fs->dir_mode, err);
    if (rc != LS_OK) return rc;
    size_t rootlen = strlen(fs->root);
    char *p = ls_path_dir(dir);
    while (rc == LS_OK && p) {
        bool at_root_parent = strlen(p) < rootlen;
        if (at_root_parent) {
            ls_fsync_dir(p, NULL);
            break;
        }
        rc = ls_fsync_dir(p, err);
        char *up = ls_path_dir(p);
        if (up && strcmp(up, p) == 0) { /* reached "/" */
            free(up);
            up = NULL;
        }
        free(p);
        p = up;
    }
    free(p);
    return rc;
}

static ls_code file_put(ls_storage *s, const char *key, ls_reader *src, const ls_put_opts *opts,
                        ls_err *err) {
    file_storage *fs = (file_storage *)s;
    ls_code rc = ls_storage_key_check(key, false, err);
    if (rc != LS_OK) return rc;
    char *path = obj_path(fs, key);
    char *dir = path ? ls_path_dir(path) : NULL;
    uint64_t seq = __atomic_add_fetch(&g_tmp_counter, 1, __ATOMIC_RELAXED);
    char *tmp = path ? ls_strfmt("%s.%ld.%llu.tmp", path, (long)getpid(),
                                 (unsigned long long)seq)
                     : NULL;
    unsigned char *buf = malloc(FILE_COPY_BUF);
    int fd = -1;
    bool created = false;
    if (!path || !dir || !tmp || !buf) {
        rc = ls_err_set(err, LS_ERR_NOMEM, "out of memory");
        goto out;
    }
    rc = ensure_dir(fs, dir, err);
    if (rc != LS_OK) goto out;
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, fs->file_mode);
    if (fd < 0) {
        rc = ls_err_errno(err, errno, "create %s", tmp);
        goto out;
    }
    created = true;
    for (;;) {
        size_t n = 0;
        rc = ls_read(src, buf, FILE_COPY_BUF, &n, err);
        if (rc != LS_OK) {
            ls_err_wrap(err, "read source for %s", path);
            goto out;
        }
        if (n == 0) break;
        rc = ls_write_full(fd, buf, n, err, tmp);
        if (rc != LS_OK) goto out;
    }
    if (opts && opts->created_at_ns != 0) {
        int64_t ns = opts->created_at_ns;
        int64_t sec = ns / INT64_C(1000000000), nsec = ns % INT64_C(1000000000);
        if (nsec < 0) {
            nsec += INT64_C(1000000000);
            sec--;
        }
        struct timespec ts[2] = {{.tv_sec = (time_t)sec, .tv_nsec = (long)nsec},
                                 {.tv_sec = (time_t)sec, .tv_nsec = (long)nsec}};
        if (futimens(fd, ts) != 0) {
            rc = ls_err_errno(err, errno, "set times of %s", tmp);
            goto out;
        }
    }
    if (fsync(fd) != 0) {
        rc = ls_err_errno(err, errno, "fsync %s", tmp);
        goto out;
    }
    int crc = close(fd);
    fd = -1;
    if (crc != 0) {
        rc = ls_err_errno(err, errno, "close %s", tmp);
        goto out;
    }
    if (rename(tmp, path) != 0) {
        rc = ls_err_errno(err, errno, "rename %s to %s", tmp, path);
        goto out;
    }
    created = false;
    rc = ls_fsync_dir(dir, err);
out:
    if (fd >= 0) close(fd);
    if (created) unlink(tmp);
    free(buf);
    free(tmp);
    free(dir);
    free(path);
    return rc;
}

/* ------------------------------------------------------------ get/head -- */

static ls_code not_found(ls_err *err, const char *path) {
    return ls_err_set(err, LS_ERR_NOTFOUND, "object not found: %s", path);
}

static ls_code file_get(ls_storage *s, const char *key, uint64_t off, uint64_t len,
                        ls_reader **out, ls_err *err) {
    file_storage *fs = (file_storage *)s;
    *out = NULL;
    ls_code rc = ls_storage_key_check(key, false, err);
    if (rc != LS_OK) return rc;
    char *path = obj_path(fs, key);
    if (!path) return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        rc = (e == ENOENT || e == ENOTDIR) ? not_found(err, path)
                                           : ls_err_errno(err, e, "open %s", path);
        free(path);
        return rc;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        rc = ls_err_errno(err, errno, "stat %s", path);
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = not_found(err, path);
        goto fail;
    }
    if (off > (uint64_t)st.st_size) {
        rc = ls_err_set(err, LS_ERR_INVALID, "offset %llu is beyond the end of %s (%lld bytes)",
                        (unsigned long long)off, path, (long long)st.st_size);
        goto fail;
    }
    *out = ls_reader_fd(fd, off, len, 1);
    if (!*out) {
        rc = ls_err_set(err, LS_ERR_NOMEM, "open %s: out of memory", path);
        goto fail;
    }
    free(path);
    return LS_OK;
fail:
    close(fd);
    free(path);
    return rc;
}

static ls_code file_head(ls_storage *s, const char *key, bool accurate_time, ls_object_info *out,
                         ls_err *err) {
    (void)accurate_time; /* mtime is the recorded creation time */
    file_storage *fs = (file_storage *)s;
    ls_code rc = ls_storage_key_check(key, false, err);
    if (rc != LS_OK) return rc;
    char *path = obj_path(fs, key);
    if (!path) return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
    struct stat st;
    if (stat(path, &st) != 0) {
        int e = errno;
        rc = (e == ENOENT || e == ENOTDIR) ? not_found(err, path)
                                           : ls_err_errno(err, e, "stat %s", path);
        free(path);
        return rc;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = not_found(err, path);
        free(path);
        return rc;
    }
    free(path);
    out->key = strdup(key);
    if (!out->key) return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
    out->size = (int64_t)st.st_size;
    out->created_at_ns = stat_mtime_ns(&st);
    out->is_dir = false;
    return LS_OK;
}

/* ----------------------------------------------------------------- list -- */

static bool ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

/* Lists directory dirpath whose entries have keys keybase + name. */
static ls_code list_dir(const char *dirpath, const char *keybase, const char *name_prefix,
                        char delimiter, int depth, ls_object_list *out, ls_err *err) {
    DIR *d = opendir(dirpath);
    if (!d) {
        int e = errno;
        if (e == ENOENT || e == ENOTDIR) return LS_OK;
        return ls_err_errno(err, e, "open directory %s", dirpath);
    }
    size_t plen = strlen(name_prefix);
    ls_code rc = LS_OK;
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (!de) {
            if (errno != 0) rc = ls_err_errno(err, errno, "read directory %s", dirpath);
            break;
        }
        const char *name = de->d_name;
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) continue;
        if (plen && strncmp(name, name_prefix, plen) != 0) continue;
        struct stat st;
        if (fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno == ENOENT) continue; /* removed meanwhile */
            rc = ls_err_errno(err, errno, "stat %s/%s", dirpath, name);
            break;
        }
        bool followed = false;
        if (S_ISLNK(st.st_mode)) {
            if (fstatat(dirfd(d), name, &st, 0) != 0) continue; /* dangling link */
            followed = true;
        }
        if (S_ISDIR(st.st_mode)) {
            if (delimiter == '/') {
                char *k = ls_strfmt("%s%s/", keybase, name);
                if (!k) {
                    rc = ls_err_set(err, LS_ERR_NOMEM, "out of memory");
                    break;
                }
                rc = ls_object_list_push(out, k, -1, 0, true, err);
                free(k);
                if (rc != LS_OK) break;
            } else if (!followed) {
                if (depth >= FILE_LIST_MAX_DEPTH) {
                    rc = ls_err_set(err, LS_ERR_IO, "list %s/%s: directories nested too deep",
                                    dirpath, name);
                    break;
                }
                char *sub = ls_strfmt("%s/%s", dirpath, name);
                char *kb = ls_strfmt("%s%s/", keybase, name);
                if (!sub || !kb) rc = ls_err_set(err, LS_ERR_NOMEM, "out of memory");
                else rc = list_dir(sub, kb, "", delimiter, depth + 1, out, err);
                free(sub);
                free(kb);
                if (rc != LS_OK) break;
            }
        } else if (S_ISREG(st.st_mode)) {
            if (ends_with(name, ".tmp")) continue;
            char *k = ls_strfmt("%s%s", keybase, name);
            if (!k) {
                rc = ls_err_set(err, LS_ERR_NOMEM, "out of memory");
                break;
            }
            rc = ls_object_list_push(out, k, (int64_t)st.st_size, stat_mtime_ns(&st), false, err);
            free(k);
            if (rc != LS_OK) break;
        }
    }
    closedir(d);
    return rc;
}

static ls_code file_list(ls_storage *s, const char *prefix, char delimiter, ls_object_list *out,
                         ls_err *err) {
    file_storage *fs = (file_storage *)s;
    ls_code rc = ls_storage_key_check(prefix, true, err);
    if (rc != LS_OK) return rc;
    const char *slash = strrchr(prefix, '/');
    char *dirpath, *keybase;
    const char *name_prefix;
    if (slash) {
        size_t dl = (size_t)(slash - prefix);
        dirpath = ls_strfmt("%s/%.*s", strcmp(fs->root, "/") == 0 ? "" : fs->root, (int)dl,
                            prefix);
        keybase = ls_strfmt("%.*s/", (int)dl, prefix);
        name_prefix = slash + 1;
    } else {
        dirpath = ls_strdup(fs->root);
        keybase = ls_strdup("");
        name_prefix = prefix;
    }
    if (!dirpath || !keybase) rc = ls_err_set(err, LS_ERR_NOMEM, "out of memory");
    else rc = list_dir(dirpath, keybase, name_prefix, delimiter, 0, out, err);
    free(dirpath);
    free(keybase);
    if (rc == LS_OK) ls_object_list_sort(out);
    return rc;
}

/* ------------------------------------------------------------------ del -- */

static ls_code file_del(ls_storage *s, const char *const *keys, size_t n, ls_err *err) {
    file_storage *fs = (file_storage *)s;
    ls_code first = LS_OK;
    size_t failed = 0;
    for (size_t i = 0; i < n; i++) {
        ls_err e1;
        ls_code rc = ls_storage_key_check(keys[i], false, &e1);
        char *path = rc == LS_OK ? obj_path(fs, keys[i]) : NULL;
        if (rc == LS_OK && !path) rc = ls_err_set(&e1, LS_ERR_NOMEM, "out of memory");
        if (rc == LS_OK && unlink(path) != 0) {
            int e = errno;
            struct stat st;
            bool is_dir = (e == EISDIR || e == EPERM) && lstat(path, &st) == 0 &&
                          S_ISDIR(st.st_mode);
            if (e != ENOENT && e != ENOTDIR && !is_dir) rc = ls_err_errno(&e1, e, "remove %s", path);
        }
        free(path);
        if (rc != LS_OK) {
            failed++;
            if (first == LS_OK) {
                first = rc;
                if (err) *err = e1;
            }
        }
    }
    if (first != LS_OK && failed > 1 && err)
        ls_err_wrap(err, "%zu of %zu deletes failed, first", failed, n);
    return first;
}

/* ---------------------------------------------------------------- setup -- */

static void file_close(ls_storage *s) {
    file_storage *fs = (file_storage *)s;
    free(fs->root);
    free(fs->base.url);
    free(fs);
}

static const ls_storage_ops file_ops = {
    .put = file_put,
    .get = file_get,
    .head = file_head,
    .list = file_list,
    .del = file_del,
    .close = file_close,
};

ls_code ls_storage_file_open(const char *root, ls_storage **out, ls_err *err) {
    if (out) *out = NULL;
    if (!out) return ls_err_set(err, LS_ERR_INVALID, "file replica: NULL output");
    if (!root || !*root) return ls_err_set(err, LS_ERR_INVALID, "file replica: empty path");
    file_storage *fs = calloc(1, sizeof(*fs));
    if (!fs) return ls_err_set(err, LS_ERR_NOMEM, "file replica: out of memory");
    fs->root = ls_path_abs(root);
    if (fs->root) {
        size_t l = strlen(fs->root);
        while (l > 1 && fs->root[l - 1] == '/') fs->root[--l] = '\0';
        fs->base.url = ls_strfmt("file://%s", fs->root);
    }
    if (!fs->root || !fs->base.url) {
        file_close(&fs->base);
        return ls_err_set(err, LS_ERR_NOMEM, "file replica %s: out of memory", root);
    }
    struct stat st;
    if (stat(fs->root, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) {
            ls_code rc = ls_err_set(err, LS_ERR_INVALID, "file replica %s: not a directory",
                                    fs->root);
            file_close(&fs->base);
            return rc;
        }
        fs->dir_mode = (st.st_mode & 0777) | S_IRWXU;
        fs->file_mode = (st.st_mode & 0666) | S_IRUSR | S_IWUSR;
    } else {
        fs->dir_mode = 0700;
        fs->file_mode = 0600;
    }
    fs->base.ops = &file_ops;
    fs->base.type = "file";
    fs->base.layout = LS_LTX_LAYOUT_DIR;
    fs->base.list_times_accurate = true;
    *out = &fs->base;
    return LS_OK;
}

const char *ls_storage_file_root(const ls_storage *s) {
    if (!s || s->ops != &file_ops) return NULL;
    return ((const file_storage *)s)->root;
}
