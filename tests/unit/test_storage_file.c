/* Unit tests for storage/: generic wrappers, the file backend and the
 * fault-injection wrapper. */
#include "testlib.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/faulty.h"
#include "storage/storage.h"
#include "util/fs.h"

/* ------------------------------------------------------------ helpers -- */

typedef struct {
    char *dir;
    ls_storage *s;
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof(*f));
    f->dir = lst_tmpdir();
    char *root = ls_path_join(f->dir, "replica");
    ls_err e;
    assert_int_equal(ls_storage_file_open(root, &f->s, &e), LS_OK);
    free(root);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    ls_storage_close(f->s);
    char *root = ls_path_join(f->dir, "replica");
    chmod(root, 0700);
    free(root);
    lst_rmtree(f->dir);
    free(f);
    return 0;
}

static ls_code put_buf(ls_storage *s, const char *key, const void *data, size_t len,
                       int64_t created_ns, ls_err *e) {
    ls_reader *r = ls_reader_mem(data, len);
    assert_non_null(r);
    ls_put_opts o = {.created_at_ns = created_ns, .size_hint = (int64_t)len};
    ls_code rc = ls_storage_put(s, key, r, &o, e);
    ls_reader_close(r);
    return rc;
}

static void put_str(ls_storage *s, const char *key, const char *str) {
    ls_err e;
    ls_code rc = put_buf(s, key, str, strlen(str), 0, &e);
    if (rc != LS_OK) fail_msg("put %s: %s", key, e.msg);
}

/* Reads [off, off+len) of key into a malloc'd NUL-terminated buffer. */
static ls_code get_buf(ls_storage *s, const char *key, uint64_t off, uint64_t len, char **out,
                       size_t *outlen, ls_err *e) {
    ls_reader *r = NULL;
    *out = NULL;
    ls_code rc = ls_storage_get(s, key, off, len, &r, e);
    if (rc != LS_OK) {
        assert_null(r);
        return rc;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    for (;;) {
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
        }
        size_t got = 0;
        rc = ls_read(r, buf + n, cap - n, &got, e);
        if (rc != LS_OK) break;
        if (got == 0) break;
        n += got;
    }
    ls_reader_close(r);
    buf[n] = '\0';
    if (rc != LS_OK) {
        free(buf);
        return rc;
    }
    *out = buf;
    if (outlen) *outlen = n;
    return LS_OK;
}

static char *get_str(ls_storage *s, const char *key) {
    char *b;
    ls_err e;
    if (get_buf(s, key, 0, LS_STORAGE_TO_END, &b, NULL, &e) != LS_OK) fail_msg("get %s: %s", key, e.msg);
    return b;
}

/* "k1,k2/,k3" from a listing (directories keep their trailing '/'). */
static char *list_str(ls_storage *s, const char *prefix, char delim) {
    ls_object_list l;
    ls_err e;
    if (ls_storage_list(s, prefix, delim, &l, &e) != LS_OK) fail_msg("list %s: %s", prefix, e.msg);
    size_t cap = 1;
    for (size_t i = 0; i < l.n; i++) cap += strlen(l.items[i].key) + 1;
    char *out = calloc(1, cap);
    for (size_t i = 0; i < l.n; i++) {
        if (i) strcat(out, ",");
        strcat(out, l.items[i].key);
        assert_int_equal(l.items[i].is_dir, l.items[i].key[strlen(l.items[i].key) - 1] == '/');
    }
    ls_object_list_free(&l);
    return out;
}

static void assert_list(ls_storage *s, const char *prefix, char delim, const char *want) {
    char *got = list_str(s, prefix, delim);
    if (strcmp(got, want) != 0) {
        print_error("list \"%s\" delim %d: got \"%s\" want \"%s\"\n", prefix, delim, got, want);
        free(got);
        fail();
    }
    free(got);
}

static char *root_path(fixture *f, const char *rel) {
    char *root = ls_path_join(f->dir, "replica");
    char *p = rel ? ls_path_join(root, rel) : ls_strdup(root);
    free(root);
    return p;
}

/* Counts files ending in ".tmp" below dir (recursively). */
#include <dirent.h>
static int count_tmp(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        char *p = ls_path_join(dir, de->d_name);
        struct stat st;
        if (lstat(p, &st) == 0) {
            if (S_ISDIR(st.st_mode)) n += count_tmp(p);
            else if (strlen(de->d_name) > 4 && !strcmp(de->d_name + strlen(de->d_name) - 4, ".tmp")) n++;
        }
        free(p);
    }
    closedir(d);
    return n;
}

/* -------------------------------------------------------------- tests -- */

static void test_put_get_head(void **state) {
    fixture *f = *state;
    ls_err e;
    assert_string_equal(f->s->type, "file");
    assert_true(strncmp(f->s->url, "file:///", 8) == 0);
    assert_non_null(ls_storage_file_root(f->s));
    assert_int_equal(f->s->layout, LS_LTX_LAYOUT_DIR);

    put_str(f->s, "a/b/c.txt", "hello world");
    char *b = get_str(f->s, "a/b/c.txt");
    assert_string_equal(b, "hello world");
    free(b);

    ls_object_info h;
    assert_int_equal(ls_storage_head(f->s, "a/b/c.txt", false, &h, &e), LS_OK);
    assert_string_equal(h.key, "a/b/c.txt");
    assert_int_equal(h.size, 11);
    assert_false(h.is_dir);
    assert_true(h.created_at_ns > 0);
    ls_object_info_free(&h);

    /* overwrite replaces atomically */
    put_str(f->s, "a/b/c.txt", "bye");
    b = get_str(f->s, "a/b/c.txt");
    assert_string_equal(b, "bye");
    free(b);

    /* empty object */
    put_str(f->s, "empty", "");
    b = get_str(f->s, "empty");
    assert_string_equal(b, "");
    free(b);

    /* missing */
    ls_reader *r = (ls_reader *)1;
    assert_int_equal(ls_storage_get(f->s, "nope", 0, LS_STORAGE_TO_END, &r, &e), LS_ERR_NOTFOUND);
    assert_null(r);
    assert_non_null(strstr(e.msg, "file get nope"));
    assert_int_equal(ls_storage_head(f->s, "a/nope", false, &h, &e), LS_ERR_NOTFOUND);
    assert_int_equal(ls_storage_head(f->s, "a/b/c.txt/x", false, &h, &e), LS_ERR_NOTFOUND);
    /* a directory is not an object */
    assert_int_equal(ls_storage_get(f->s, "a/b", 0, LS_STORAGE_TO_END, &r, &e), LS_ERR_NOTFOUND);
    assert_int_equal(ls_storage_head(f->s, "a", false, &h, &e), LS_ERR_NOTFOUND);

    /* directories created with the default 0700 (root did not exist) */
    char *p = root_path(f, "a/b");
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    free(p);
    p = root_path(f, "a/b/c.txt");
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    free(p);
    p = root_path(f, NULL);
    assert_int_equal(count_tmp(p), 0);
    free(p);
}

static void test_ranged_get(void **state) {
    fixture *f = *state;
    ls_err e;
    put_str(f->s, "r", "0123456789");
    char *b;
    size_t n;
    assert_int_equal(get_buf(f->s, "r", 2, 3, &b, &n, &e), LS_OK);
    assert_string_equal(b, "234");
    free(b);
    assert_int_equal(get_buf(f->s, "r", 7, LS_STORAGE_TO_END, &b, &n, &e), LS_OK);
    assert_string_equal(b, "789");
    free(b);
    assert_int_equal(get_buf(f->s, "r", 8, 100, &b, &n, &e), LS_OK); /* past end: truncated */
    assert_string_equal(b, "89");
    free(b);
    assert_int_equal(get_buf(f->s, "r", 10, LS_STORAGE_TO_END, &b, &n, &e), LS_OK);
    assert_int_equal(n, 0);
    free(b);
    assert_int_equal(get_buf(f->s, "r", 0, 0, &b, &n, &e), LS_OK);
    assert_int_equal(n, 0);
    free(b);
    assert_int_equal(get_buf(f->s, "r", 11, LS_STORAGE_TO_END, &b, &n, &e), LS_ERR_INVALID);
    assert_non_null(strstr(e.msg, "beyond the end"));
    assert_int_equal(get_buf(f->s, "r", 5, UINT64_MAX - 2, &b, &n, &e), LS_ERR_INVALID);
}

static void test_created_time_roundtrip(void **state) {
    fixture *f = *state;
    ls_err e;
    const int64_t t = INT64_C(1700000000123456789);
    assert_int_equal(put_buf(f->s, "ltx/0/x", "abc", 3, t, &e), LS_OK);
    ls_object_info h;
    assert_int_equal(ls_storage_head(f->s, "ltx/0/x", true, &h, &e), LS_OK);
    assert_int_equal(h.created_at_ns, t);
    ls_object_info_free(&h);
    ls_object_list l;
    assert_int_equal(ls_storage_list(f->s, "ltx/0/", '/', &l, &e), LS_OK);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.items[0].created_at_ns, t);
    assert_int_equal(l.items[0].size, 3);
    ls_object_list_free(&l);
    char *p = root_path(f, "ltx/0/x");
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal((int64_t)st.st_atim.tv_sec * 1000000000 + st.st_atim.tv_nsec, t);
    assert_int_equal((int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec, t);
    free(p);
    /* millisecond value as used by the LTX layer */
    assert_int_equal(put_buf(f->s, "ltx/0/y", "abc", 3, INT64_C(1700000000123) * 1000000, &e), LS_OK);
    assert_int_equal(ls_storage_head(f->s, "ltx/0/y", false, &h, &e), LS_OK);
    assert_int_equal(h.created_at_ns, INT64_C(1700000000123000000));
    ls_object_info_free(&h);
}

static void test_list(void **state) {
    fixture *f = *state;
    put_str(f->s, "ltx/0/0000000000000001-0000000000000001.ltx", "a");
    put_str(f->s, "ltx/0/0000000000000002-0000000000000002.ltx", "bb");
    put_str(f->s, "ltx/0/0000000000000010-0000000000000010.ltx", "ccc");
    put_str(f->s, "ltx/1/0000000000000001-0000000000000002.ltx", "dddd");
    put_str(f->s, "ltx/10/x", "e");
    put_str(f->s, "generations/abc/wal/w1", "f");
    put_str(f->s, "top", "g");
    /* in-progress temp files are ignored */
    char *p = root_path(f, "ltx/0/0000000000000003-0000000000000003.ltx.123.4.tmp");
    lst_write_file(p, "x", 1);
    free(p);
    p = root_path(f, "ltx/0/junk.tmp");
    lst_write_file(p, "x", 1);
    free(p);

    assert_list(f->s, "ltx/0/", '/',
                "ltx/0/0000000000000001-0000000000000001.ltx,"
                "ltx/0/0000000000000002-0000000000000002.ltx,"
                "ltx/0/0000000000000010-0000000000000010.ltx");
    /* prefix ending in the middle of a name */
    assert_list(f->s, "ltx/0/000000000000000", '/',
                "ltx/0/0000000000000001-0000000000000001.ltx,"
                "ltx/0/0000000000000002-0000000000000002.ltx");
    assert_list(f->s, "ltx/0/0000000000000001", 0,
                "ltx/0/0000000000000001-0000000000000001.ltx");
    assert_list(f->s, "ltx/1", '/', "ltx/1/,ltx/10/");
    assert_list(f->s, "ltx/1", 0, "ltx/1/0000000000000001-0000000000000002.ltx,ltx/10/x");
    /* delimiter folding at the root */
    assert_list(f->s, "", '/', "generations/,ltx/,top");
    assert_list(f->s, "ltx/", '/', "ltx/0/,ltx/1/,ltx/10/");
    /* recursive, sorted by key */
    assert_list(f->s, "", 0,
                "generations/abc/wal/w1,"
                "ltx/0/0000000000000001-0000000000000001.ltx,"
                "ltx/0/0000000000000002-0000000000000002.ltx,"
                "ltx/0/0000000000000010-0000000000000010.ltx,"
                "ltx/1/0000000000000001-0000000000000002.ltx,"
                "ltx/10/x,top");
    assert_list(f->s, "generations/", 0, "generations/abc/wal/w1");
    assert_list(f->s, "generations/", '/', "generations/abc/");
    /* missing prefix = empty list, also below a file */
    assert_list(f->s, "ltx/7/", '/', "");
    assert_list(f->s, "nothing/here/", 0, "");
    assert_list(f->s, "top/x", 0, "");
    assert_list(f->s, "zzz", '/', "");

    /* sizes in the listing */
    ls_object_list l;
    ls_err e;
    assert_int_equal(ls_storage_list(f->s, "ltx/0/", '/', &l, &e), LS_OK);
    assert_int_equal(l.n, 3);
    assert_int_equal(l.items[0].size, 1);
    assert_int_equal(l.items[2].size, 3);
    ls_object_list_free(&l);
    assert_int_equal(ls_storage_list(f->s, "ltx/", '/', &l, &e), LS_OK);
    assert_int_equal(l.items[0].size, -1);
    assert_true(l.items[0].is_dir);
    ls_object_list_free(&l);

    /* a root that does not exist yet lists as empty */
    ls_storage *s2;
    char *missing = ls_path_join(f->dir, "missing-root");
    assert_int_equal(ls_storage_file_open(missing, &s2, &e), LS_OK);
    assert_list(s2, "", 0, "");
    assert_list(s2, "ltx/0/", '/', "");
    ls_storage_close(s2);
    assert_false(ls_path_exists(missing));
    free(missing);
}

static void test_delete(void **state) {
    fixture *f = *state;
    ls_err e;
    put_str(f->s, "d/1", "1");
    put_str(f->s, "d/2", "2");
    put_str(f->s, "d/3", "3");
    const char *keys[] = {"d/1", "d/missing", "d/3", "nodir/x", "d/1/below-a-file"};
    assert_int_equal(ls_storage_del(f->s, keys, 5, &e), LS_OK);
    assert_list(f->s, "d/", '/', "d/2");
    /* deleting again is fine; an empty batch is fine */
    assert_int_equal(ls_storage_del(f->s, keys, 5, &e), LS_OK);
    assert_int_equal(ls_storage_del(f->s, NULL, 0, &e), LS_OK);
    /* directories stay */
    const char *k2[] = {"d/2"};
    assert_int_equal(ls_storage_del(f->s, k2, 1, &e), LS_OK);
    char *p = root_path(f, "d");
    assert_true(ls_path_exists(p));
    free(p);
    /* a directory key is not an object: skipped, not removed */
    put_str(f->s, "d/sub/x", "x");
    const char *k3[] = {"d/sub"};
    assert_int_equal(ls_storage_del(f->s, k3, 1, &e), LS_OK);
    assert_list(f->s, "d/", 0, "d/sub/x");
    /* an invalid key fails the whole batch before anything is deleted */
    const char *k4[] = {"d/sub/x", "../etc"};
    assert_int_equal(ls_storage_del(f->s, k4, 2, &e), LS_ERR_INVALID);
    assert_non_null(strstr(e.msg, "key 2 of 2"));
    assert_list(f->s, "d/", 0, "d/sub/x");
}

static void test_invalid_keys(void **state) {
    fixture *f = *state;
    ls_err e;
    const char *bad[] = {"", "/abs", "a/../b", "..", "../x", "a/..", "./a", "a/./b", "a//b",
                         "a/", "a\001b", "tab\tkey", "del\x7f"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(ls_storage_key_check(bad[i], false, &e), LS_ERR_INVALID);
        assert_non_null(strstr(e.msg, "invalid key"));
        assert_int_equal(put_buf(f->s, bad[i], "x", 1, 0, &e), LS_ERR_INVALID);
        assert_non_null(strstr(e.msg, "file put"));
        ls_reader *r;
        assert_int_equal(ls_storage_get(f->s, bad[i], 0, 1, &r, &e), LS_ERR_INVALID);
        ls_object_info h;
        assert_int_equal(ls_storage_head(f->s, bad[i], false, &h, &e), LS_ERR_INVALID);
    }
    assert_int_equal(ls_storage_key_check(NULL, false, &e), LS_ERR_INVALID);
    assert_int_equal(ls_storage_key_check(NULL, true, &e), LS_ERR_INVALID);
    /* control characters are escaped in messages */
    assert_int_equal(ls_storage_key_check("a\nb", false, &e), LS_ERR_INVALID);
    assert_null(strchr(e.msg, '\n'));
    assert_non_null(strstr(e.msg, "a\\x0ab"));
    /* too long */
    char *longkey = malloc(LS_STORAGE_KEY_MAX + 2);
    memset(longkey, 'k', LS_STORAGE_KEY_MAX + 1);
    longkey[LS_STORAGE_KEY_MAX + 1] = '\0';
    assert_int_equal(ls_storage_key_check(longkey, false, &e), LS_ERR_INVALID);
    assert_non_null(strstr(e.msg, "longer than"));
    free(longkey);
    /* good keys and prefixes */
    assert_int_equal(ls_storage_key_check("a..b/c.ltx", false, &e), LS_OK);
    assert_int_equal(ls_storage_key_check(".hidden/x", false, &e), LS_OK);
    assert_int_equal(ls_storage_key_check("", true, &e), LS_OK);
    assert_int_equal(ls_storage_key_check("ltx/0/", true, &e), LS_OK);
    assert_int_equal(ls_storage_key_check("ltx/0/00", true, &e), LS_OK);
    /* bad prefixes */
    ls_object_list l;
    assert_int_equal(ls_storage_list(f->s, "/ltx", 0, &l, &e), LS_ERR_INVALID);
    assert_int_equal(ls_storage_list(f->s, "../", '/', &l, &e), LS_ERR_INVALID);
    assert_int_equal(ls_storage_list(f->s, "a//", '/', &l, &e), LS_ERR_INVALID);
    assert_int_equal(ls_storage_list(f->s, "a", ',', &l, &e), LS_ERR_INVALID);
    assert_int_equal(l.n, 0);
    /* nothing escaped the root */
    char *p = ls_path_join(f->dir, "b");
    assert_false(ls_path_exists(p));
    free(p);
    /* NULL source */
    assert_int_equal(ls_storage_put(f->s, "k", NULL, NULL, &e), LS_ERR_INVALID);
    /* NULL err is allowed */
    assert_int_equal(put_buf(f->s, "/x", "x", 1, 0, NULL), LS_ERR_INVALID);
    /* open errors */
    ls_storage *s2;
    assert_int_equal(ls_storage_file_open("", &s2, &e), LS_ERR_INVALID);
    char *fp = ls_path_join(f->dir, "plainfile");
    lst_write_file(fp, "x", 1);
    assert_int_equal(ls_storage_file_open(fp, &s2, &e), LS_ERR_INVALID);
    assert_non_null(strstr(e.msg, "not a directory"));
    free(fp);
}

/* A source that fails after some bytes, checking meanwhile that the final
 * name does not exist yet. */
typedef struct {
    ls_reader base;
    const char *final_path;
    size_t total, done, fail_at; /* fail_at == 0: never */
    int checks;
} probe_reader;

static ls_code probe_read(ls_reader *r, void *buf, size_t len, size_t *nread, ls_err *err) {
    probe_reader *p = (probe_reader *)r;
    if (p->final_path) {
        assert_false(ls_path_exists(p->final_path));
        p->checks++;
    }
    if (p->fail_at && p->done >= p->fail_at) {
        *nread = 0;
        return ls_err_set(err, LS_ERR_NETWORK, "source broke at %zu", p->done);
    }
    size_t n = p->total - p->done;
    if (n > len) n = len;
    if (n > 1000) n = 1000;
    memset(buf, 'x', n);
    p->done += n;
    *nread = n;
    return LS_OK;
}
static void probe_close(ls_reader *r) { (void)r; }

static void test_put_atomic_visibility(void **state) {
    fixture *f = *state;
    ls_err e;
    char *final = root_path(f, "atom/obj");
    probe_reader p = {.base = {probe_read, probe_close}, .final_path = final, .total = 50000};
    assert_int_equal(ls_storage_put(f->s, "atom/obj", &p.base, NULL, &e), LS_OK);
    assert_true(p.checks > 10);
    assert_true(ls_path_exists(final));
    ls_object_info h;
    assert_int_equal(ls_storage_head(f->s, "atom/obj", false, &h, &e), LS_OK);
    assert_int_equal(h.size, 50000);
    ls_object_info_free(&h);

    /* a failing source leaves neither the final object nor a temp file */
    char *final2 = root_path(f, "atom/obj2");
    probe_reader p2 = {.base = {probe_read, probe_close}, .final_path = final2, .total = 50000,
                       .fail_at = 20000};
    assert_int_equal(ls_storage_put(f->s, "atom/obj2", &p2.base, NULL, &e), LS_ERR_NETWORK);
    assert_non_null(strstr(e.msg, "source broke"));
    assert_non_null(strstr(e.msg, "file put atom/obj2"));
    assert_false(ls_path_exists(final2));
    /* and a failing replacement keeps the old object intact */
    probe_reader p3 = {.base = {probe_read, probe_close}, .total = 50000, .fail_at = 10000};
    assert_int_equal(ls_storage_put(f->s, "atom/obj", &p3.base, NULL, &e), LS_ERR_NETWORK);
    assert_int_equal(ls_storage_head(f->s, "atom/obj", false, &h, &e), LS_OK);
    assert_int_equal(h.size, 50000);
    ls_object_info_free(&h);
    char *root = root_path(f, NULL);
    assert_int_equal(count_tmp(root), 0);
    free(root);
    free(final);
    free(final2);
}

/* Concurrency: one thread keeps replacing a large object with one of two
 * contents while others read it; every read sees one complete version. */
#define BIG (1024 * 1024 + 17)
typedef struct {
    ls_storage *s;
    unsigned char *a, *b;
    int stop; /* atomic */
    int reads;
    int bad;
} race_ctx;

static void race_bad(race_ctx *c) { __atomic_fetch_add(&c->bad, 1, __ATOMIC_RELAXED); }

static void *race_writer(void *arg) {
    race_ctx *c = arg;
    for (int i = 0; i < 12; i++) {
        ls_err e;
        const unsigned char *d = (i & 1) ? c->a : c->b;
        ls_reader *r = ls_reader_mem(d, BIG);
        if (ls_storage_put(c->s, "race/obj", r, NULL, &e) != LS_OK) race_bad(c);
        ls_reader_close(r);
    }
    __atomic_store_n(&c->stop, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void *race_reader(void *arg) {
    race_ctx *c = arg;
    unsigned char *buf = malloc(BIG + 1);
    while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE)) {
        ls_reader *r;
        ls_err e;
        if (ls_storage_get(c->s, "race/obj", 0, LS_STORAGE_TO_END, &r, &e) != LS_OK) {
            race_bad(c);
            continue;
        }
        size_t n = 0;
        if (ls_read_full(r, buf, BIG + 1, &n, &e) != LS_OK) race_bad(c);
        ls_reader_close(r);
        if (n != BIG || (memcmp(buf, c->a, BIG) != 0 && memcmp(buf, c->b, BIG) != 0)) race_bad(c);
        __atomic_fetch_add(&c->reads, 1, __ATOMIC_RELAXED);
    }
    free(buf);
    return NULL;
}

static void *same_key_writer(void *arg) {
    race_ctx *c = arg;
    for (int i = 0; i < 8; i++) {
        ls_err e;
        ls_reader *r = ls_reader_mem(c->a, BIG);
        if (ls_storage_put(c->s, "race/same", r, NULL, &e) != LS_OK) race_bad(c);
        ls_reader_close(r);
    }
    return NULL;
}

static void test_concurrent_put_get(void **state) {
    fixture *f = *state;
    race_ctx c = {.s = f->s};
    c.a = malloc(BIG);
    c.b = malloc(BIG);
    uint64_t seed = 42;
    lst_rand_bytes(&seed, c.a, BIG);
    lst_rand_bytes(&seed, c.b, BIG);
    ls_err e;
    ls_reader *r = ls_reader_mem(c.a, BIG);
    assert_int_equal(ls_storage_put(f->s, "race/obj", r, NULL, &e), LS_OK);
    ls_reader_close(r);
    pthread_t w, rd[2];
    pthread_create(&rd[0], NULL, race_reader, &c);
    pthread_create(&rd[1], NULL, race_reader, &c);
    pthread_create(&w, NULL, race_writer, &c);
    pthread_join(w, NULL);
    pthread_join(rd[0], NULL);
    pthread_join(rd[1], NULL);
    assert_int_equal(c.bad, 0);
    assert_true(c.reads > 0);

    /* concurrent puts of the same key do not collide on the temp name */
    pthread_t s1, s2;
    pthread_create(&s1, NULL, same_key_writer, &c);
    pthread_create(&s2, NULL, same_key_writer, &c);
    pthread_join(s1, NULL);
    pthread_join(s2, NULL);
    assert_int_equal(c.bad, 0);
    char *root = root_path(f, NULL);
    assert_int_equal(count_tmp(root), 0);
    free(root);

    ls_storage_stats st;
    ls_storage_stats_get(f->s, &st);
    assert_int_equal(st.puts, 1 + 12 + 16);
    assert_int_equal(st.bytes_out, (uint64_t)BIG * (1 + 12 + 16));
    assert_int_equal(st.gets, (uint64_t)c.reads);
    assert_int_equal(st.bytes_in, (uint64_t)BIG * (uint64_t)c.reads);
    assert_int_equal(st.errors, 0);
    free(c.a);
    free(c.b);
}

static void test_stats(void **state) {
    fixture *f = *state;
    ls_err e;
    put_str(f->s, "s/1", "abcd");
    char *b = get_str(f->s, "s/1");
    free(b);
    ls_object_info h;
    assert_int_equal(ls_storage_head(f->s, "s/1", false, &h, &e), LS_OK);
    ls_object_info_free(&h);
    assert_int_equal(ls_storage_head(f->s, "s/2", false, &h, &e), LS_ERR_NOTFOUND);
    ls_object_list l;
    assert_int_equal(ls_storage_list(f->s, "s/", '/', &l, &e), LS_OK);
    ls_object_list_free(&l);
    const char *k[] = {"s/1"};
    assert_int_equal(ls_storage_del(f->s, k, 1, &e), LS_OK);
    assert_int_equal(put_buf(f->s, "/bad", "x", 1, 0, &e), LS_ERR_INVALID);
    ls_storage_stats st;
    ls_storage_stats_get(f->s, &st);
    assert_int_equal(st.puts, 2);
    assert_int_equal(st.gets, 1);
    assert_int_equal(st.heads, 2);
    assert_int_equal(st.lists, 1);
    assert_int_equal(st.deletes, 1);
    assert_int_equal(st.bytes_out, 4);
    assert_int_equal(st.bytes_in, 4);
    assert_int_equal(st.errors, 1); /* the invalid key; not-found is not an error */
    assert_int_equal(st.retries, 0);
}

static void test_unwritable_dir(void **state) {
    fixture *f = *state;
    ls_err e;
    put_str(f->s, "ltx/0/a", "a");
    if (geteuid() == 0) {
        print_message("NOTE: running as root, which bypasses directory permissions; "
                      "simulating EACCES with the faulty wrapper instead of chmod 0500\n");
        ls_storage *fs;
        assert_int_equal(ls_storage_faulty_wrap(f->s, false, &fs, &e), LS_OK);
        ls_faulty_fail_every(fs, LS_FAULT_PUT, LS_ERR_AUTH);
        assert_int_equal(put_buf(fs, "ltx/0/b", "b", 1, 0, &e), LS_ERR_AUTH);
        assert_non_null(strstr(e.msg, "ltx/0/b"));
        ls_storage_close(fs);
        assert_list(f->s, "ltx/0/", '/', "ltx/0/a");
        return;
    }
    char *dir = root_path(f, "ltx/0");
    assert_int_equal(chmod(dir, 0500), 0);
    assert_int_equal(put_buf(f->s, "ltx/0/b", "b", 1, 0, &e), LS_ERR_AUTH);
    assert_non_null(strstr(e.msg, "file put ltx/0/b"));
    assert_non_null(strstr(e.msg, dir)); /* the path is named */
    assert_int_equal(e.sys_errno, EACCES);
    /* reading still works; deleting fails with AUTH */
    char *b = get_str(f->s, "ltx/0/a");
    assert_string_equal(b, "a");
    free(b);
    const char *k[] = {"ltx/0/a"};
    assert_int_equal(ls_storage_del(f->s, k, 1, &e), LS_ERR_AUTH);
    /* a new subdirectory cannot be created either */
    assert_int_equal(put_buf(f->s, "ltx/0/sub/c", "c", 1, 0, &e), LS_ERR_AUTH);
    assert_int_equal(chmod(dir, 0700), 0);
    /* an unreadable directory is an error for list, not an empty list */
    assert_int_equal(chmod(dir, 0300), 0);
    ls_object_list l;
    assert_int_equal(ls_storage_list(f->s, "ltx/0/", '/', &l, &e), LS_ERR_AUTH);
    assert_int_equal(chmod(dir, 0700), 0);
    free(dir);
    assert_list(f->s, "ltx/0/", '/', "ltx/0/a");
}

static void test_faulty_nospace_and_after(void **state) {
    fixture *f = *state;
    ls_err e;
    ls_storage *fs;
    assert_int_equal(ls_storage_faulty_wrap(f->s, false, &fs, &e), LS_OK);
    assert_string_equal(fs->type, "faulty");
    assert_int_equal(fs->layout, f->s->layout);
    assert_true(fs->list_times_accurate);

    ls_faulty_fail_nth(fs, LS_FAULT_PUT, 2, LS_ERR_NOSPACE);
    assert_int_equal(put_buf(fs, "n/1", "1", 1, 0, &e), LS_OK);
    assert_int_equal(put_buf(fs, "n/2", "2", 1, 0, &e), LS_ERR_NOSPACE);
    assert_non_null(strstr(e.msg, "injected fault"));
    assert_non_null(strstr(e.msg, "n/2"));
    assert_int_equal(put_buf(fs, "n/3", "3", 1, 0, &e), LS_OK);
    assert_list(f->s, "n/", '/', "n/1,n/3"); /* nothing stored for the failed put */
    assert_int_equal(ls_faulty_injected(fs), 1);
    assert_int_equal(ls_faulty_calls(fs, LS_FAULT_PUT), 3);

    /* lost response: the object is stored but the caller sees an error */
    ls_faulty_set_after(fs, true);
    ls_faulty_fail_nth(fs, LS_FAULT_PUT | LS_FAULT_DEL, 1, LS_ERR_NETWORK);
    assert_int_equal(put_buf(fs, "n/4", "4", 1, 0, &e), LS_ERR_NETWORK);
    assert_list(f->s, "n/", '/', "n/1,n/3,n/4");
    ls_faulty_clear(fs);

    /* every call of one op, others unaffected; key filter */
    ls_faulty_fail_every(fs, LS_FAULT_LIST | LS_FAULT_HEAD, LS_ERR_NETWORK);
    ls_object_list l;
    assert_int_equal(ls_storage_list(fs, "n/", '/', &l, &e), LS_ERR_NETWORK);
    assert_int_equal(ls_storage_list(fs, "n/", '/', &l, &e), LS_ERR_NETWORK);
    ls_object_info h;
    assert_int_equal(ls_storage_head(fs, "n/1", false, &h, &e), LS_ERR_NETWORK);
    char *b = NULL;
    assert_int_equal(get_buf(fs, "n/1", 0, LS_STORAGE_TO_END, &b, NULL, &e), LS_OK);
    free(b);
    ls_faulty_clear(fs);
    ls_faulty_set_key_filter(fs, "n/3");
    ls_faulty_fail_every(fs, LS_FAULT_DEL, LS_ERR_NOSPACE);
    const char *k1[] = {"n/1"};
    assert_int_equal(ls_storage_del(fs, k1, 1, &e), LS_OK);
    const char *k3[] = {"n/3"};
    assert_int_equal(ls_storage_del(fs, k3, 1, &e), LS_ERR_NOSPACE);
    ls_faulty_clear(fs);
    assert_list(fs, "n/", '/', "n/3,n/4");

    /* the wrapper's own counters */
    ls_storage_stats st;
    ls_storage_stats_get(fs, &st);
    assert_true(st.errors >= 5);
    assert_int_equal(ls_faulty_inner(fs), f->s);
    ls_storage_close(fs); /* does not close the inner storage */
    assert_list(f->s, "n/", '/', "n/3,n/4");
}

static void test_faulty_reads(void **state) {
    fixture *f = *state;
    ls_err e;
    ls_storage *fs;
    assert_int_equal(ls_storage_faulty_wrap(f->s, false, &fs, &e), LS_OK);
    put_str(f->s, "r/x", "0123456789");
    char *b;
    size_t n;
    /* next reader fails after 4 bytes */
    ls_faulty_fail_reads(fs, 4, LS_ERR_NETWORK, 1);
    assert_int_equal(get_buf(fs, "r/x", 0, LS_STORAGE_TO_END, &b, &n, &e), LS_ERR_NETWORK);
    assert_non_null(strstr(e.msg, "after 4 bytes"));
    assert_non_null(strstr(e.msg, "r/x"));
    /* the one after that is fine */
    assert_int_equal(get_buf(fs, "r/x", 0, LS_STORAGE_TO_END, &b, &n, &e), LS_OK);
    assert_string_equal(b, "0123456789");
    free(b);
    /* premature EOF instead of an error */
    ls_faulty_fail_reads(fs, 6, LS_OK, 1);
    assert_int_equal(get_buf(fs, "r/x", 0, LS_STORAGE_TO_END, &b, &n, &e), LS_OK);
    assert_string_equal(b, "012345");
    free(b);
    /* fail opening readers */
    ls_faulty_fail_nth(fs, LS_FAULT_GET, 1, LS_ERR_TIMEOUT);
    assert_int_equal(get_buf(fs, "r/x", 0, LS_STORAGE_TO_END, &b, &n, &e), LS_ERR_TIMEOUT);
    ls_storage_close(fs);
}

static void test_faulty_owns_inner(void **state) {
    (void)state;
    char *dir = lst_tmpdir();
    ls_storage *in, *fs;
    ls_err e;
    assert_int_equal(ls_storage_file_open(dir, &in, &e), LS_OK);
    assert_int_equal(ls_storage_faulty_wrap(in, true, &fs, &e), LS_OK);
    put_str(fs, "k", "v");
    ls_storage_close(fs); /* frees the inner storage too (valgrind checks) */
    lst_rmtree(dir);
}

static void test_root_mode_inherited(void **state) {
    (void)state;
    char *dir = lst_tmpdir();
    assert_int_equal(chmod(dir, 0750), 0);
    ls_storage *s;
    ls_err e;
    mode_t old = umask(022);
    assert_int_equal(ls_storage_file_open(dir, &s, &e), LS_OK);
    put_str(s, "x/y/z", "v");
    umask(old);
    char *p = ls_path_join(dir, "x/y");
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0750);
    free(p);
    p = ls_path_join(dir, "x/y/z");
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);
    free(p);
    ls_storage_close(s);
    lst_rmtree(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_put_get_head, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ranged_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_created_time_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_atomic_visibility, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_put_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unwritable_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_faulty_nospace_and_after, setup, teardown),
        cmocka_unit_test_setup_teardown(test_faulty_reads, setup, teardown),
        cmocka_unit_test(test_faulty_owns_inner),
        cmocka_unit_test(test_root_mode_inherited),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
