#include "util/version.h"

#include <sqlite3.h>

#ifndef LS_VERSION_STRING
#define LS_VERSION_STRING "(development build)"
#endif

const char *ls_version(void) { return LS_VERSION_STRING; }

const char *ls_compiler_version(void) {
#if defined(__clang__)
    return "clang " __clang_version__;
#elif defined(__GNUC__)
    return "gcc " __VERSION__;
#else
    return "unknown";
#endif
}

const char *ls_sqlite_version(void) { return sqlite3_libversion(); }
