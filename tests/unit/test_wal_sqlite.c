/*
 * Unit tests for wal/ against WAL files written by the real SQLite library:
 * the page map reproduces the database as SQLite sees it (compared page by
 * page with sqlite3_serialize), resume from the middle yields exactly the
 * later frames, checkpoints that restart the WAL are detected, byte limits
 * split a WAL into maps that together equal the unlimited map, and frames of
 * an uncommitted (spilled) transaction are ignored.
 */
#include "testlib.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fs.h"
#include "wal/wal.h"

typedef struct env {
    char *dir, *db_path, *wal_path;
    sqlite3 *db; /* writer connection, wal_autocheckpoint = 0 */
    uint32_t ps;
} env;

static void exec(sqlite3 *db, const char *sql) {
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fail_msg("sqlite: %s: %s", sql, msg ? msg : "?");
    }
}

static int64_t query_int(sqlite3 *db, const char *sql) {
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static sqlite3 *open_conn(const char *path) {
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
                     SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    exec(db, "PRAGMA wal_autocheckpoint=0");
    return db;
}

static env *env_new(uint32_t ps) {
    env *e = calloc(1, sizeof(*e));
    assert_non_null(e);
    e->dir = lst_tmpdir();
    e->db_path = ls_path_join(e->dir, "db");
    e->wal_path = ls_strfmt("%s-wal", e->db_path);
    e->ps = ps;
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(e->db_path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                                     NULL),
                     SQLITE_OK);
    char sql[64];
    snprintf(sql, sizeof(sql), "PRAGMA page_size=%u", ps);
    exec(db, sql);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    exec(db, "PRAGMA wal_autocheckpoint=0");
    sqlite3_busy_timeout(db, 5000);
    e->db = db;
    return e;
}

static void env_free(env *e) {
    sqlite3_close(e->db);
    free(e->db_path);
    free(e->wal_path);
    lst_rmtree(e->dir);
    free(e);
}

static int setup(void **state) {
    *state = env_new(4096);
    return 0;
}

static int teardown(void **state) {
    env_free(*state);
    return 0;
}

static int open_wal(env *e) {
    int fd = open(e->wal_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail_msg("open %s", e->wal_path);
    return fd;
}

static int64_t file_size(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0) return -1;
    return (int64_t)st.st_size;
}

static void full_map(int fd, wal_page_map *m) {
    wal_reader *r = NULL;
    ls_err err;
    if (wal_reader_open(&r, fd, &err) != LS_OK) fail_msg("%s", err.msg);
    if (wal_reader_page_map(r, 0, m, &err) != LS_OK) fail_msg("%s", err.msg);
    wal_reader_free(r);
}

static void header_salts(int fd, uint32_t *s1, uint32_t *s2) {
    wal_header h;
    bool valid = false;
    ls_err err;
    assert_int_equal(wal_header_read(fd, &h, &valid, &err), LS_OK);
    assert_true(valid);
    *s1 = h.salt1;
    *s2 = h.salt2;
}

static void maps_equal(const wal_page_map *a, const wal_page_map *b) {
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        assert_int_equal(a->entries[i].pgno, b->entries[i].pgno);
        assert_int_equal(a->entries[i].offset, b->entries[i].offset);
    }
    assert_int_equal(a->end, b->end);
    assert_int_equal(a->commit, b->commit);
}

/* The committed database = db file overlaid with the page map's WAL pages,
 * cut at commit; it must equal SQLite's own view byte for byte. */
static void verify_db(env *e) {
    int fd = open_wal(e);
    wal_page_map m;
    full_map(fd, &m);
    int64_t page_count = query_int(e->db, "PRAGMA page_count");
    sqlite3_int64 sz = 0;
    unsigned char *img = sqlite3_serialize(e->db, "main", &sz, 0);
    assert_non_null(img);
    assert_int_equal(sz, page_count * (int64_t)e->ps);
    assert_int_equal(m.commit, (uint32_t)page_count);
    assert_true(m.end > 32);
    assert_true(m.end <= file_size(e->wal_path));

    int dbfd = open(e->db_path, O_RDONLY | O_CLOEXEC);
    assert_true(dbfd >= 0);
    uint8_t *page = malloc(e->ps);
    assert_non_null(page);
    ls_err err;
    for (uint32_t pgno = 1; pgno <= m.commit; pgno++) {
        int64_t off;
        if (wal_page_map_get(&m, pgno, &off)) {
            assert_true(off >= 32 && off < m.end);
            assert_int_equal((off - 32) % wal_frame_size(e->ps), 0);
            if (wal_read_frame_page(fd, off, e->ps, page, &err) != LS_OK) fail_msg("%s", err.msg);
        } else {
            size_t got = 0;
            memset(page, 0, e->ps);
            assert_int_equal(ls_pread_full(dbfd, page, e->ps, (off_t)(pgno - 1) * e->ps, &got,
                                           &err, "db"),
                             LS_OK);
            assert_int_equal(got, e->ps);
        }
        if (memcmp(page, img + (size_t)(pgno - 1) * e->ps, e->ps) != 0)
            fail_msg("page %u differs from SQLite's view", pgno);
    }
    for (size_t i = 0; i < m.n; i++) assert_true(m.entries[i].pgno <= m.commit);
    free(page);
    close(dbfd);
    sqlite3_free(img);
    wal_page_map_free(&m);
    close(fd);
}

static int scale(int n) { return lst_under_valgrind() ? (n + 4) / 5 : n; }

/* ------------------------------------------------------------------------ */

static void test_page_map_matches_sqlite(void **state) {
    env *e = *state;
    exec(e->db, "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB); CREATE INDEX t_v ON t(v)");
    verify_db(e);
    uint64_t st = 7;
    int n = scale(40);
    for (int i = 0; i < n; i++) {
        char sql[256];
        switch (lst_rand(&st) % 4) {
        case 0:
        case 1:
            snprintf(sql, sizeof(sql),
                     "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
                     "WHERE x < %d) INSERT INTO t(v) SELECT randomblob(50 + abs(random()) %% 3000) "
                     "FROM c",
                     1 + (int)(lst_rand(&st) % 20));
            break;
        case 2:
            snprintf(sql, sizeof(sql),
                     "UPDATE t SET v = randomblob(abs(random()) %% 2000) WHERE id %% %d = 0",
                     2 + (int)(lst_rand(&st) % 5));
            break;
        default:
            snprintf(sql, sizeof(sql), "DELETE FROM t WHERE id %% %d = 1",
                     3 + (int)(lst_rand(&st) % 7));
            break;
        }
        exec(e->db, sql);
        if (i % 5 == 4) verify_db(e);
    }
    verify_db(e);

    /* Grow a lot in one transaction, then shrink with VACUUM. */
    exec(e->db, "BEGIN");
    for (int i = 0; i < scale(200); i++)
        exec(e->db, "INSERT INTO t(v) VALUES (randomblob(3000))");
    exec(e->db, "COMMIT");
    verify_db(e);
    int64_t big = query_int(e->db, "PRAGMA page_count");
    exec(e->db, "DELETE FROM t WHERE id > 5");
    verify_db(e);
    exec(e->db, "VACUUM");
    int64_t small = query_int(e->db, "PRAGMA page_count");
    assert_true(small < big);
    verify_db(e);

    /* The WAL still holds frames for pages beyond the shrunken size; the map
     * must have dropped them. */
    int fd = open_wal(e);
    wal_reader *r = NULL;
    ls_err err;
    assert_int_equal(wal_reader_open(&r, fd, &err), LS_OK);
    uint32_t maxpg = 0;
    for (;;) {
        wal_frame_header fh;
        bool eof;
        assert_int_equal(wal_reader_next(r, &fh, NULL, NULL, &eof, &err), LS_OK);
        if (eof) break;
        if (fh.pgno > maxpg) maxpg = fh.pgno;
    }
    wal_reader_free(r);
    assert_true(maxpg > (uint32_t)small);
    wal_page_map m;
    full_map(fd, &m);
    assert_int_equal(m.commit, (uint32_t)small);
    assert_true(m.n > 0 && m.entries[m.n - 1].pgno <= (uint32_t)small);
    wal_page_map_free(&m);
    close(fd);

    /* Grow again after the shrink. */
    exec(e->db, "INSERT INTO t(v) SELECT randomblob(2500) FROM t");
    verify_db(e);
}

/* Records every valid frame (offset, pgno, commit, checksum). */
typedef struct frame_rec {
    int64_t off;
    wal_frame_header fh;
} frame_rec;

static size_t read_frames(wal_reader *r, frame_rec *out, size_t max) {
    size_t n = 0;
    ls_err err;
    for (;;) {
        wal_frame_header fh;
        int64_t off;
        bool eof;
        assert_int_equal(wal_reader_next(r, &fh, NULL, &off, &eof, &err), LS_OK);
        if (eof) break;
        assert_true(n < max);
        out[n].off = off;
        out[n].fh = fh;
        n++;
    }
    return n;
}

static void test_resume_yields_later_frames(void **state) {
    env *e = *state;
    exec(e->db, "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)");
    for (int i = 0; i < scale(10); i++) exec(e->db, "INSERT INTO t(v) VALUES (randomblob(5000))");
    int fd = open_wal(e);
    uint32_t s1, s2;
    header_salts(fd, &s1, &s2);
    wal_page_map m1;
    full_map(fd, &m1);
    assert_int_equal(m1.end, file_size(e->wal_path));

    for (int i = 0; i < scale(15); i++) {
        exec(e->db, "INSERT INTO t(v) VALUES (randomblob(3000))");
        exec(e->db, "UPDATE t SET v = randomblob(100) WHERE id = 1");
    }
    wal_reader *r = NULL;
    bool mm = true;
    ls_err err;
    assert_int_equal(wal_reader_open_at(&r, fd, m1.end, s1, s2, &mm, &err), LS_OK);
    assert_false(mm);
    static frame_rec later[4096], all[4096];
    size_t nl = read_frames(r, later, 4096);
    wal_reader_free(r);
    assert_int_equal(wal_reader_open(&r, fd, &err), LS_OK);
    size_t na = read_frames(r, all, 4096);
    wal_reader_free(r);
    assert_true(nl > 0);
    size_t first = 0;
    while (first < na && all[first].off < m1.end) first++;
    assert_int_equal(na - first, nl);
    for (size_t i = 0; i < nl; i++) {
        assert_int_equal(later[i].off, all[first + i].off);
        assert_memory_equal(&later[i].fh, &all[first + i].fh, sizeof(wal_frame_header));
    }

    /* Resumed map overlaid on the first map == the full map. */
    wal_page_map m2, full;
    assert_int_equal(wal_reader_open_at(&r, fd, m1.end, s1, s2, &mm, &err), LS_OK);
    assert_int_equal(wal_reader_page_map(r, 0, &m2, &err), LS_OK);
    wal_reader_free(r);
    full_map(fd, &full);
    assert_int_equal(m2.start, m1.end);
    assert_int_equal(m2.end, full.end);
    assert_int_equal(m2.commit, full.commit);
    for (size_t i = 0; i < m2.n; i++) assert_true(m2.entries[i].offset >= m1.end);
    for (size_t i = 0; i < full.n; i++) {
        int64_t o;
        uint32_t p = full.entries[i].pgno;
        if (!wal_page_map_get(&m2, p, &o)) assert_true(wal_page_map_get(&m1, p, &o));
        assert_int_equal(o, full.entries[i].offset);
    }
    size_t union_n = m2.n;
    for (size_t i = 0; i < m1.n; i++)
        if (!wal_page_map_get(&m2, m1.entries[i].pgno, NULL) && m1.entries[i].pgno <= m2.commit)
            union_n++;
    assert_int_equal(union_n, full.n);
    wal_page_map_free(&m1);
    wal_page_map_free(&m2);
    wal_page_map_free(&full);
    close(fd);
    verify_db(e);
}

static void test_checkpoint_restart_changes_salts(void **state) {
    env *e = *state;
    exec(e->db, "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)");
    for (int i = 0; i < scale(10); i++) exec(e->db, "INSERT INTO t(v) VALUES (randomblob(4000))");
    int fd = open_wal(e);
    uint32_t o1, o2;
    header_salts(fd, &o1, &o2);
    wal_page_map m;
    full_map(fd, &m);
    int64_t old_end = m.end;
    wal_page_map_free(&m);
    ls_err err;
    wal_reader *r = NULL;
    bool mm;

    /* RESTART + a small write: the new generation is shorter than the old
     * one, so the frame before old_end still carries the old salts (Go
     * behaves the same; verify (spec 5.5) catches this through the header
     * salts). The salts scan sees both generations. */
    exec(e->db, "PRAGMA wal_checkpoint(RESTART)");
    exec(e->db, "INSERT INTO t(v) VALUES (1)");
    uint32_t n1, n2;
    header_salts(fd, &n1, &n2);
    assert_true(n1 != o1 || n2 != o2);
    assert_int_equal(n1, o1 + 1); /* SQLite increments salt-1 on restart */
    mm = true;
    assert_int_equal(wal_reader_open_at(&r, fd, old_end, o1, o2, &mm, &err), LS_OK);
    assert_false(mm);
    wal_reader_free(r);
    wal_salt_pair *sp = NULL;
    size_t n = 0;
    assert_int_equal(wal_frame_salts_until(fd, o1, o2, &sp, &n, &err), LS_OK);
    assert_int_equal(n, 2);
    assert_int_equal(sp[0].salt1, n1);
    assert_int_equal(sp[0].salt2, n2);
    assert_int_equal(sp[1].salt1, o1);
    assert_int_equal(sp[1].salt2, o2);
    free(sp);
    verify_db(e);

    /* More writes than the old generation held: the frame before old_end
     * now carries the new salts -> previous frame mismatch with the old
     * salts, a clean resume with the new ones. */
    for (int i = 0; i < scale(10) + 2; i++) exec(e->db, "INSERT INTO t(v) VALUES (randomblob(4000))");
    assert_true(file_size(e->wal_path) > old_end + 2 * wal_frame_size(e->ps));
    mm = false;
    assert_int_equal(wal_reader_open_at(&r, fd, old_end, o1, o2, &mm, &err), LS_OK);
    assert_true(mm);
    assert_null(r);
    mm = true;
    assert_int_equal(wal_reader_open_at(&r, fd, old_end, n1, n2, &mm, &err), LS_OK);
    assert_false(mm);
    wal_page_map tail, full;
    assert_int_equal(wal_reader_page_map(r, 0, &tail, &err), LS_OK);
    wal_reader_free(r);
    full_map(fd, &full);
    assert_true(tail.n > 0);
    assert_int_equal(tail.end, full.end);
    assert_int_equal(tail.commit, full.commit);
    wal_page_map_free(&tail);
    wal_page_map_free(&full);
    verify_db(e);
    header_salts(fd, &o1, &o2);
    full_map(fd, &m);
    old_end = m.end;
    wal_page_map_free(&m);
    close(fd);

    /* TRUNCATE: the WAL is emptied (header gone) until the next write. */
    exec(e->db, "PRAGMA wal_checkpoint(TRUNCATE)");
    assert_int_equal(file_size(e->wal_path), 0);
    fd = open_wal(e);
    assert_int_equal(wal_reader_open_at(&r, fd, old_end, o1, o2, &mm, &err), LS_ERR_FORMAT);
    assert_string_equal(err.msg, "read header: EOF");
    exec(e->db, "INSERT INTO t(v) VALUES (2)");
    header_salts(fd, &n1, &n2);
    assert_true(n1 != o1 || n2 != o2);
    mm = false;
    assert_int_equal(wal_reader_open_at(&r, fd, old_end, o1, o2, &mm, &err), LS_OK);
    assert_true(mm); /* beyond the new, short WAL */
    close(fd);
    verify_db(e);
}

static void test_byte_limit_splits(void **state) {
    env *e = *state;
    exec(e->db, "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)");
    for (int i = 0; i < scale(60); i++) {
        exec(e->db, "INSERT INTO t(v) VALUES (randomblob(1000 + abs(random()) % 9000))");
        if (i % 7 == 0) exec(e->db, "DELETE FROM t WHERE id % 3 = 0");
    }
    int fd = open_wal(e);
    uint32_t s1, s2;
    header_salts(fd, &s1, &s2);
    wal_page_map full;
    full_map(fd, &full);
    const int64_t fs = wal_frame_size(e->ps);
    ls_err err;
    int64_t limits[] = {1, fs * 3, fs * 10 + 5, fs * 40};
    for (size_t li = 0; li < sizeof(limits) / sizeof(limits[0]); li++) {
        for (int mode = 0; mode < 2; mode++) {
            /* mode 0: one reader, repeated maps; mode 1: a new resume reader
             * at the previous end (as the sync loop does). */
            int64_t *offs = calloc(full.commit + 1, sizeof(int64_t));
            assert_non_null(offs);
            wal_reader *r = NULL;
            assert_int_equal(wal_reader_open(&r, fd, &err), LS_OK);
            uint32_t commit = 0;
            int64_t end = 0;
            int chunks = 0;
            for (;;) {
                wal_page_map m;
                assert_int_equal(wal_reader_page_map(r, limits[li], &m, &err), LS_OK);
                if (m.n == 0) {
                    assert_false(m.limited);
                    wal_page_map_free(&m);
                    break;
                }
                chunks++;
                if (m.limited) assert_true(m.end - m.start >= limits[li]);
                for (size_t i = 0; i < m.n; i++) {
                    assert_true(m.entries[i].offset >= m.start);
                    if (m.entries[i].pgno <= full.commit) offs[m.entries[i].pgno] = m.entries[i].offset;
                }
                commit = m.commit;
                end = m.end;
                bool lim = m.limited;
                wal_page_map_free(&m);
                if (!lim) break;
                if (mode == 1) {
                    wal_reader_free(r);
                    bool mm = true;
                    assert_int_equal(wal_reader_open_at(&r, fd, end, s1, s2, &mm, &err), LS_OK);
                    assert_false(mm);
                }
            }
            wal_reader_free(r);
            assert_int_equal(commit, full.commit);
            assert_int_equal(end, full.end);
            if (limits[li] <= fs * 3) assert_true(chunks > 3);
            size_t cnt = 0;
            for (uint32_t p = 1; p <= full.commit; p++) {
                if (!offs[p]) continue;
                cnt++;
                int64_t o;
                assert_true(wal_page_map_get(&full, p, &o));
                assert_int_equal(o, offs[p]);
            }
            assert_int_equal(cnt, full.n);
            free(offs);
        }
    }
    wal_page_map_free(&full);
    close(fd);
}

static void test_uncommitted_frames_ignored(void **state) {
    env *e = *state;
    exec(e->db, "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)");
    exec(e->db, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 400) "
                "INSERT INTO t(v) SELECT randomblob(400) FROM c");
    int fd = open_wal(e);
    wal_page_map before;
    full_map(fd, &before);

    /* A second connection with a tiny cache spills an open transaction's
     * pages into the WAL (frames with commit = 0). */
    sqlite3 *b = open_conn(e->db_path);
    exec(b, "PRAGMA cache_size=2");
    exec(b, "BEGIN");
    exec(b, "UPDATE t SET v = randomblob(400)"); /* dirties every existing page */
    for (int i = 0; i < 60; i++) exec(b, "INSERT INTO t(v) VALUES (randomblob(3000))");
    int64_t wal_size = file_size(e->wal_path);
    assert_true(wal_size > before.end); /* spilled frames are in the file */

    wal_page_map during;
    full_map(fd, &during);
    maps_equal(&before, &during);
    verify_db(e); /* the writer connection does not see B's transaction */
    /* The spilled frames themselves are valid (checksum chain intact). */
    wal_reader *r = NULL;
    ls_err err;
    assert_int_equal(wal_reader_open(&r, fd, &err), LS_OK);
    size_t frames = 0, spilled_old_pages = 0;
    for (;;) {
        bool eof;
        wal_frame_header fh;
        int64_t off;
        assert_int_equal(wal_reader_next(r, &fh, NULL, &off, &eof, &err), LS_OK);
        if (eof) break;
        frames++;
        if (off >= before.end) {
            assert_int_equal(fh.commit, 0);
            if (fh.pgno <= before.commit) spilled_old_pages++;
        }
    }
    wal_reader_free(r);
    assert_true(wal_calc_size(e->ps, (int64_t)frames) > before.end);
    assert_true(spilled_old_pages > 0); /* uncommitted versions of live pages */

    /* Roll back; the next commit overwrites the stale frames from the old
     * commit point and the reader must stop where the new chain ends. */
    exec(b, "ROLLBACK");
    exec(e->db, "INSERT INTO t(v) VALUES (randomblob(100))");
    verify_db(e);
    wal_page_map after;
    full_map(fd, &after);
    assert_true(after.end > before.end);
    assert_true(after.end < wal_size);
    wal_page_map_free(&after);

    /* Then B commits a spilled transaction: all of it becomes visible. */
    exec(b, "BEGIN");
    for (int i = 0; i < scale(30); i++) exec(b, "INSERT INTO t(v) VALUES (randomblob(3000))");
    exec(b, "COMMIT");
    verify_db(e);
    sqlite3_close(b);
    wal_page_map_free(&before);
    wal_page_map_free(&during);
    close(fd);
}

/* SQLite stores the page size in the WAL header as is: 65536 is 65536
 * (only the database header encodes it as 1). */
static void test_page_sizes(void **state) {
    (void)state;
    const uint32_t sizes[] = {512, 1024, 65536};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        env *e = env_new(sizes[i]);
        assert_int_equal(query_int(e->db, "PRAGMA page_size"), sizes[i]);
        exec(e->db, "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)");
        for (int k = 0; k < 5; k++) exec(e->db, "INSERT INTO t(v) VALUES (randomblob(2000))");
        exec(e->db, "UPDATE t SET v = randomblob(300) WHERE id = 2");
        int fd = open_wal(e);
        wal_header h;
        bool valid = false;
        ls_err err;
        assert_int_equal(wal_header_read(fd, &h, &valid, &err), LS_OK);
        assert_true(valid);
        assert_int_equal(h.page_size, sizes[i]);
        /* SQLite checksums in native byte order. */
        const uint16_t one = 1;
        bool host_be = *(const uint8_t *)&one == 0;
        assert_int_equal(h.cksum_big_endian, host_be);
        uint8_t raw[WAL_HEADER_SIZE];
        size_t n = 0;
        assert_int_equal(wal_header_read_raw(fd, raw, &n, &err), LS_OK);
        assert_int_equal(n, 32);
        assert_int_equal(((uint32_t)raw[8] << 24) | ((uint32_t)raw[9] << 16) |
                             ((uint32_t)raw[10] << 8) | raw[11],
                         sizes[i]);
        close(fd);
        verify_db(e);
        env_free(e);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_page_map_matches_sqlite, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resume_yields_later_frames, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_restart_changes_salts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_byte_limit_splits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uncommitted_frames_ignored, setup, teardown),
        cmocka_unit_test(test_page_sizes),
    };
    return cmocka_run_group_tests_name("wal_sqlite", tests, NULL, NULL);
}
