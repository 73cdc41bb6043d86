#include "testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fs.h"

const char *lst_shared_dir(void) {
    static char path[4096];
    static int state = 0; /* 0 unknown, 1 present, 2 absent */
    if (state == 0) {
        const char *env = getenv("LS_SHARED_DIR");
        const char *base = env && *env ? env : LS_SHARED_DIR;
        struct stat st;
        if (realpath(base, path) && stat(path, &st) == 0 && S_ISDIR(st.st_mode)) state = 1;
        else state = 2;
    }
    return state == 1 ? path : NULL;
}

char *lst_shared_path(const char *rel) {
    const char *d = lst_shared_dir();
    return d ? ls_path_join(d, rel) : NULL;
}

char *lst_tmpdir(void) {
    char tmpl[] = "/tmp/lstest-XXXXXX";
    char *p = mkdtemp(tmpl);
    assert_non_null(p);
    return ls_strdup(p);
}

void lst_rmtree(char *path) {
    if (!path) return;
    ls_err e;
    ls_remove_all(path, &e);
    free(path);
}

unsigned char *lst_read_file(const char *path, size_t *len) {
    char *buf = NULL;
    ls_err e;
    if (ls_read_file(path, (size_t)1 << 31, &buf, len, &e) != LS_OK) fail_msg("%s", e.msg);
    return (unsigned char *)buf;
}

void lst_write_file(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

uint64_t lst_rand(uint64_t *s) {
    uint64_t x = *s ? *s : 0x9E3779B97F4A7C15ULL;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

void lst_rand_bytes(uint64_t *s, void *buf, size_t n) {
    unsigned char *p = buf;
    while (n >= 8) {
        uint64_t v = lst_rand(s);
        memcpy(p, &v, 8);
        p += 8;
        n -= 8;
    }
    if (n) {
        uint64_t v = lst_rand(s);
        memcpy(p, &v, n);
    }
}

bool lst_under_valgrind(void) {
    const char *v = getenv("LS_UNDER_VALGRIND");
    return v && *v == '1';
}
