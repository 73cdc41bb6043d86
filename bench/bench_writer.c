/*
 * bench_writer — the application side of tests and benchmarks: one writer
 * committing one row per transaction into a WAL-mode SQLite database.
 *
 *   bench_writer -db PATH [-rate N] [-seconds S | -count N] [-row-size B]
 *                [-checkpoint-every N] [-log FILE] [-start-id N]
 *
 * -rate 0 (default) writes as fast as possible; otherwise N commits/s paced
 * against a monotonic clock. -checkpoint-every N runs a checkpoint after
 * every N commits cycling through PASSIVE, FULL, RESTART, TRUNCATE (busy is
 * not an error). -log writes one line per commit: "<id> <unix-ns> <wal-salt1>
 * <wal-size>": the WAL position right after the commit, so tools can tell
 * which replicated file contains it. The position comes from SQLite's WAL
 * hook (frames in the WAL after the commit: wal-size = 32 + frames x (24 +
 * page size)) and salt-1 from the commit's own frame header; the WAL file's
 * size would be wrong after a WAL restart, because SQLite rewrites the file
 * from the start without shrinking it. The hook also performs SQLite's
 * default auto-checkpoint (PASSIVE at >= 1000 frames), which installing a
 * hook would otherwise disable. Prints a summary line (cpu_s: the writer's
 * own user+system CPU time):
 *   commits=N seconds=S rate=R/s cpu_s=C
 * Rows: t(id INTEGER PRIMARY KEY, ts INTEGER, payload BLOB) — payload is
 * random bytes (incompressible) of -row-size bytes (default 1024).
 */
#include <fcntl.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ns(clockid_t c) {
    struct timespec ts;
    clock_gettime(c, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* WAL hook: remembers the frame count; keeps the default auto-checkpoint. */
static int g_wal_frames;
static int wal_hook(void *arg, sqlite3 *db, const char *zdb, int nframe) {
    (void)arg;
    g_wal_frames = nframe;
    if (nframe >= 1000) sqlite3_wal_checkpoint(db, zdb);
    return SQLITE_OK;
}

static void die(sqlite3 *db, const char *what) {
    fprintf(stderr, "bench_writer: %s: %s\n", what, db ? sqlite3_errmsg(db) : "error");
    exit(2);
}

int main(int argc, char **argv) {
    const char *path = NULL, *log_path = NULL;
    double rate = 0, seconds = 0;
    long long count = 0, ckpt_every = 0, start_id = 0;
    int row_size = 1024;
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            fprintf(stderr, "bench_writer: missing value for %s\n", a);
            return 2;
        }
        if (strcmp(a, "-db") == 0) path = v;
        else if (strcmp(a, "-rate") == 0) rate = atof(v);
        else if (strcmp(a, "-seconds") == 0) seconds = atof(v);
        else if (strcmp(a, "-count") == 0) count = atoll(v);
        else if (strcmp(a, "-row-size") == 0) row_size = atoi(v);
        else if (strcmp(a, "-checkpoint-every") == 0) ckpt_every = atoll(v);
        else if (strcmp(a, "-log") == 0) log_path = v;
        else if (strcmp(a, "-start-id") == 0) start_id = atoll(v);
        else {
            fprintf(stderr, "bench_writer: unknown flag %s\n", a);
            return 2;
        }
    }
    if (!path || (seconds <= 0 && count <= 0) || row_size < 0 || row_size > 1 << 20) {
        fprintf(stderr, "usage: bench_writer -db PATH [-rate N] (-seconds S | -count N) "
                        "[-row-size B] [-checkpoint-every N] [-log FILE] [-start-id N]\n");
        return 2;
    }
    sqlite3 *db;
    if (sqlite3_open(path, &db) != SQLITE_OK) die(db, "open");
    sqlite3_busy_timeout(db, 5000);
    if (sqlite3_exec(db, "PRAGMA journal_mode=wal; PRAGMA synchronous=normal;"
                         "CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, ts INTEGER, payload BLOB);",
                     NULL, NULL, NULL) != SQLITE_OK)
        die(db, "init");
    sqlite3_stmt *ins;
    if (sqlite3_prepare_v2(db, "INSERT INTO t(id, ts, payload) VALUES(?, ?, ?)", -1, &ins, NULL) != SQLITE_OK)
        die(db, "prepare");
    if (start_id == 0) {
        sqlite3_stmt *q;
        sqlite3_prepare_v2(db, "SELECT coalesce(max(id),0) FROM t", -1, &q, NULL);
        if (sqlite3_step(q) == SQLITE_ROW) start_id = sqlite3_column_int64(q, 0) + 1;
        sqlite3_finalize(q);
    }
    FILE *log = log_path ? fopen(log_path, "a") : NULL;
    if (log_path && !log) {
        perror(log_path);
        return 2;
    }
    char *walpath = sqlite3_mprintf("%s-wal", path);
    long long page_size = 4096;
    if (log) {
        sqlite3_stmt *q;
        sqlite3_prepare_v2(db, "PRAGMA page_size", -1, &q, NULL);
        if (sqlite3_step(q) == SQLITE_ROW) page_size = sqlite3_column_int64(q, 0);
        sqlite3_finalize(q);
        sqlite3_wal_hook(db, wal_hook, NULL);
    }
    unsigned char *payload = malloc((size_t)row_size + 1);
    uint64_t rng = (uint64_t)now_ns(CLOCK_REALTIME) | 1;
    static const char *modes[] = {"PASSIVE", "FULL", "RESTART", "TRUNCATE"};
    int64_t t0 = now_ns(CLOCK_MONOTONIC);
    long long n = 0;
    for (;;) {
        int64_t now = now_ns(CLOCK_MONOTONIC);
        if (seconds > 0 && now - t0 >= (int64_t)(seconds * 1e9)) break;
        if (count > 0 && n >= count) break;
        if (rate > 0) {
            int64_t due = t0 + (int64_t)((double)n * 1e9 / rate);
            if (due > now) {
                struct timespec ts = {(time_t)((due - now) / 1000000000LL), (long)((due - now) % 1000000000LL)};
                nanosleep(&ts, NULL);
            }
        }
        for (int k = 0; k < row_size; k++) {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            payload[k] = (unsigned char)rng;
        }
        long long id = start_id + n;
        sqlite3_bind_int64(ins, 1, id);
        sqlite3_bind_int64(ins, 2, now_ns(CLOCK_REALTIME));
        sqlite3_bind_blob(ins, 3, payload, row_size, SQLITE_STATIC);
        int rc;
        while ((rc = sqlite3_step(ins)) == SQLITE_BUSY) usleep(1000);
        if (rc != SQLITE_DONE) die(db, "insert");
        sqlite3_reset(ins);
        n++;
        if (log) {
            /* salt-1 of the commit frame (bytes 8..11 of its frame header) */
            long long walsize = 32 + (long long)g_wal_frames * (24 + page_size);
            unsigned char fh[24] = {0};
            int fd = open(walpath, O_RDONLY);
            if (fd >= 0) {
                if (g_wal_frames <= 0 || pread(fd, fh, 24, walsize - (24 + page_size)) != 24) memset(fh, 0, 24);
                close(fd);
            }
            unsigned salt1 = (unsigned)fh[8] << 24 | (unsigned)fh[9] << 16 | (unsigned)fh[10] << 8 | fh[11];
            fprintf(log, "%lld %lld %08x %lld\n", id, (long long)now_ns(CLOCK_REALTIME), salt1, walsize);
            fflush(log);
        }
        if (ckpt_every > 0 && n % ckpt_every == 0) {
            const char *mode = modes[(n / ckpt_every) % 4];
            char sql[64];
            snprintf(sql, sizeof(sql), "PRAGMA wal_checkpoint(%s)", mode);
            sqlite3_exec(db, sql, NULL, NULL, NULL); /* SQLITE_BUSY is fine */
        }
    }
    double secs = (double)(now_ns(CLOCK_MONOTONIC) - t0) / 1e9;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
                 (double)ru.ru_stime.tv_usec / 1e6;
    printf("commits=%lld seconds=%.3f rate=%.1f/s cpu_s=%.3f\n", n, secs, secs > 0 ? (double)n / secs : 0, cpu);
    if (log) fclose(log);
    free(payload);
    sqlite3_free(walpath);
    sqlite3_finalize(ins);
    sqlite3_close(db);
    return 0;
}
