/*
 * util/stream.h — byte streams that codecs and backends stack on.
 *
 * An ls_reader yields bytes until EOF; an ls_writer accepts bytes. Both are
 * small vtables so the LTX codec, compression, checksums and storage
 * backends compose without knowing each other (pgBackRest IoFilter style).
 *
 * Ownership: whoever opened a stream closes it exactly once with
 * ls_reader_close()/ls_writer_close(), which also frees it. A NULL stream
 * may be closed (no-op).
 *
 * read(): fills up to len bytes, sets *nread; *nread == 0 with LS_OK means
 * EOF. Short reads are allowed before EOF; use ls_read_full() to loop.
 * write(): consumes all len bytes or fails.
 * finish(): (writers only, optional) makes the written data durable /
 * visible; close() without finish() discards where the sink supports it
 * (e.g. an atomic file writer removes its temp file).
 */
#ifndef LS_UTIL_STREAM_H
#define LS_UTIL_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

typedef struct ls_reader ls_reader;
struct ls_reader {
    ls_code (*read)(ls_reader *r, void *buf, size_t len, size_t *nread, ls_err *err);
    void (*close)(ls_reader *r);
};

typedef struct ls_writer ls_writer;
struct ls_writer {
    ls_code (*write)(ls_writer *w, const void *buf, size_t len, ls_err *err);
    ls_code (*finish)(ls_writer *w, ls_err *err); /* may be NULL */
    void (*close)(ls_writer *w);
};

static inline ls_code ls_read(ls_reader *r, void *buf, size_t len, size_t *nread, ls_err *err) {
    return r->read(r, buf, len, nread, err);
}
static inline ls_code ls_write(ls_writer *w, const void *buf, size_t len, ls_err *err) {
    return w->write(w, buf, len, err);
}
static inline ls_code ls_writer_finish(ls_writer *w, ls_err *err) {
    return w->finish ? w->finish(w, err) : LS_OK;
}
static inline void ls_reader_close(ls_reader *r) {
    if (r) r->close(r);
}
static inline void ls_writer_close(ls_writer *w) {
    if (w) w->close(w);
}

/* Reads exactly len bytes unless EOF comes first; *nread tells how many. */
ls_code ls_read_full(ls_reader *r, void *buf, size_t len, size_t *nread, ls_err *err);

/* A reader over a memory buffer (not copied; must outlive the reader). */
ls_reader *ls_reader_mem(const void *data, size_t len);
/* A reader over an open fd starting at offset; len UINT64_MAX = to EOF.
 * own_fd: close the fd when the reader is closed. */
ls_reader *ls_reader_fd(int fd, uint64_t offset, uint64_t len, int own_fd);
/* Opens path for reading (error names the path). */
ls_code ls_reader_file(const char *path, ls_reader **out, ls_err *err);

/* A writer that appends to a growable memory buffer. ls_writer_mem_data()
 * returns the buffer (still owned by the writer until close). */
ls_writer *ls_writer_mem(void);
const uint8_t *ls_writer_mem_data(ls_writer *w, size_t *len);
/* A writer to an fd (not closed by the writer, no fsync). */
ls_writer *ls_writer_fd(int fd);
/* An atomic file writer: writes "<path>.tmp"; finish() fsyncs, renames into
 * place and fsyncs the directory; close() without finish() unlinks the
 * temp file. mode is used for the created file. */
ls_code ls_writer_atomic_file(const char *path, int mode, ls_writer **out, ls_err *err);

#endif
