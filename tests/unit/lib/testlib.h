/*
 * tests/unit/lib/testlib.h — helpers shared by the cmocka unit tests.
 * Include after <cmocka.h>'s prerequisites: use LST_INCLUDE_CMOCKA first.
 */
#ifndef LS_TESTLIB_H
#define LS_TESTLIB_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>

/* Absolute path of ../shared (beside the project), or NULL when absent. */
const char *lst_shared_dir(void);
/* Path under ../shared (malloc'd) or NULL when ../shared is absent. */
char *lst_shared_path(const char *rel);

/* Skips the current test with a visible message when ../shared is absent. */
#define LST_REQUIRE_SHARED()                                                        \
    do {                                                                            \
        if (!lst_shared_dir()) {                                                    \
            print_message("SKIP: ../shared is absent; test %s needs its fixtures\n", __func__); \
            skip();                                                                 \
        }                                                                           \
    } while (0)

/* Creates a fresh temporary directory (malloc'd path). */
char *lst_tmpdir(void);
/* Removes a directory tree and frees the path. */
void lst_rmtree(char *path);
/* Reads a whole file (malloc'd); fails the test on error. */
unsigned char *lst_read_file(const char *path, size_t *len);
/* Writes a whole file; fails the test on error. */
void lst_write_file(const char *path, const void *data, size_t len);
/* Deterministic PRNG (xorshift64*). */
uint64_t lst_rand(uint64_t *state);
void lst_rand_bytes(uint64_t *state, void *buf, size_t n);
/* True when running under valgrind (scripts set LS_UNDER_VALGRIND=1). */
bool lst_under_valgrind(void);

#endif
