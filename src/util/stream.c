#include "util/stream.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/fs.h"

ls_code ls_read_full(ls_reader *r, void *buf, size_t len, size_t *nread, ls_err *err) {
    size_t done = 0;
    while (done < len) {
        size_t n = 0;
        ls_code rc = r->read(r, (char *)buf + done, len - done, &n, err);
        if (rc != LS_OK) {
            if (nread) *nread = done;
            return rc;
        }
        if (n == 0) break;
        done += n;
    }
    if (nread) *nread = done;
    return LS_OK;
}

/* ---- memory reader ---- */
typedef struct {
    ls_reader base;
    const uint8_t *data;
    size_t len, pos;
} mem_reader;

static ls_code mem_read(ls_reader *r, void *buf, size_t len, size_t *nread, ls_err *err) {
    (void)err;
    mem_reader *m = (mem_reader *)r;
    size_t n = m->len - m->pos;
    if (n > len) n = len;
    if (n) memcpy(buf, m->data + m->pos, n);
    m->pos += n;
    *nread = n;
    return LS_OK;
}
static void mem_rclose(ls_reader *r) { free(r); }

ls_reader *ls_reader_mem(const void *data, size_t len) {
    mem_reader *m = calloc(1, sizeof(*m));
    if (!m) return NULL;
    m->base.read = mem_read;
    m->base.close = mem_rclose;
    m->data = data;
    m->len = len;
    return &m->base;
}

/* ---- fd reader ---- */
typedef struct {
    ls_reader base;
    int fd, own;
    uint64_t off, remaining;
} fd_reader;

static ls_code fd_read(ls_reader *r, void *buf, size_t len, size_t *nread, ls_err *err) {
    fd_reader *f = (fd_reader *)r;
    if ((uint64_t)len > f->remaining) len = (size_t)f->remaining;
    if (len == 0) {
        *nread = 0;
        return LS_OK;
    }
    for (;;) {
        ssize_t n = pread(f->fd, buf, len, (off_t)f->off);
        if (n < 0) {
            if (errno == EINTR) continue;
            return ls_err_errno(err, errno, "read at offset %llu", (unsigned long long)f->off);
        }
        f->off += (uint64_t)n;
        f->remaining -= (uint64_t)n;
        *nread = (size_t)n;
        return LS_OK;
    }
}
static void fd_rclose(ls_reader *r) {
    fd_reader *f = (fd_reader *)r;
    if (f->own) close(f->fd);
    free(f);
}

ls_reader *ls_reader_fd(int fd, uint64_t offset, uint64_t len, int own_fd) {
    fd_reader *f = calloc(1, sizeof(*f));
    if (!f) return NULL;
    f->base.read = fd_read;
    f->base.close = fd_rclose;
    f->fd = fd;
    f->own = own_fd;
    f->off = offset;
    f->remaining = len;
    return &f->base;
}

ls_code ls_reader_file(const char *path, ls_reader **out, ls_err *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ls_err_errno(err, errno, "open %s", path);
    *out = ls_reader_fd(fd, 0, UINT64_MAX, 1);
    if (!*out) {
        close(fd);
        return ls_err_set(err, LS_ERR_NOMEM, "open %s: out of memory", path);
    }
    return LS_OK;
}

/* ---- memory writer ---- */
typedef struct {
    ls_writer base;
    uint8_t *data;
    size_t len, cap;
} mem_writer;

static ls_code mem_write(ls_writer *w, const void *buf, size_t len, ls_err *err) {
    mem_writer *m = (mem_writer *)w;
    if (m->len + len > m->cap) {
        size_t cap = m->cap ? m->cap : 4096;
        while (cap < m->len + len) cap *= 2;
        uint8_t *p = realloc(m->data, cap);
        if (!p) return ls_err_set(err, LS_ERR_NOMEM, "memory writer: out of memory");
        m->data = p;
        m->cap = cap;
    }
    if (len) memcpy(m->data + m->len, buf, len);
    m->len += len;
    return LS_OK;
}
static void mem_wclose(ls_writer *w) {
    mem_writer *m = (mem_writer *)w;
    free(m->data);
    free(m);
}

ls_writer *ls_writer_mem(void) {
    mem_writer *m = calloc(1, sizeof(*m));
    if (!m) return NULL;
    m->base.write = mem_write;
    m->base.close = mem_wclose;
    return &m->base;
}

const uint8_t *ls_writer_mem_data(ls_writer *w, size_t *len) {
    mem_writer *m = (mem_writer *)w;
    *len = m->len;
    return m->data;
}

/* ---- fd writer ---- */
typedef struct {
    ls_writer base;
    int fd;
} fd_writer;

static ls_code fdw_write(ls_writer *w, const void *buf, size_t len, ls_err *err) {
    return ls_write_full(((fd_writer *)w)->fd, buf, len, err, "file");
}
static void fdw_close(ls_writer *w) { free(w); }

ls_writer *ls_writer_fd(int fd) {
    fd_writer *f = calloc(1, sizeof(*f));
    if (!f) return NULL;
    f->base.write = fdw_write;
    f->base.close = fdw_close;
    f->fd = fd;
    return &f->base;
}

/* ---- atomic file writer ---- */
typedef struct {
    ls_writer base;
    int fd;
    char *path, *tmp;
    int done;
} atomic_writer;

static ls_code aw_write(ls_writer *w, const void *buf, size_t len, ls_err *err) {
    atomic_writer *a = (atomic_writer *)w;
    return ls_write_full(a->fd, buf, len, err, a->tmp);
}

static ls_code aw_finish(ls_writer *w, ls_err *err) {
    atomic_writer *a = (atomic_writer *)w;
    if (fsync(a->fd) != 0) return ls_err_errno(err, errno, "fsync %s", a->tmp);
    if (close(a->fd) != 0) {
        a->fd = -1;
        return ls_err_errno(err, errno, "close %s", a->tmp);
    }
    a->fd = -1;
    if (rename(a->tmp, a->path) != 0) return ls_err_errno(err, errno, "rename %s", a->tmp);
    a->done = 1;
    return ls_fsync_parent(a->path, err);
}

static void aw_close(ls_writer *w) {
    atomic_writer *a = (atomic_writer *)w;
    if (a->fd >= 0) close(a->fd);
    if (!a->done) unlink(a->tmp);
    free(a->path);
    free(a->tmp);
    free(a);
}

ls_code ls_writer_atomic_file(const char *path, int mode, ls_writer **out, ls_err *err) {
    atomic_writer *a = calloc(1, sizeof(*a));
    if (!a) return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
    a->path = ls_strdup(path);
    a->tmp = ls_strfmt("%s.tmp", path);
    if (!a->path || !a->tmp) {
        free(a->path);
        free(a->tmp);
        free(a);
        return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
    }
    a->fd = open(a->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (a->fd < 0) {
        ls_code rc = ls_err_errno(err, errno, "create %s", a->tmp);
        free(a->path);
        free(a->tmp);
        free(a);
        return rc;
    }
    a->base.write = aw_write;
    a->base.finish = aw_finish;
    a->base.close = aw_close;
    *out = &a->base;
    return LS_OK;
}
