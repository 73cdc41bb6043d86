/* util/version.h — the build's version strings. */
#ifndef LS_UTIL_VERSION_H
#define LS_UTIL_VERSION_H

/* Version printed by `litestream version` (set at configure time). */
const char *ls_version(void);
const char *ls_compiler_version(void);
const char *ls_sqlite_version(void);

#endif
