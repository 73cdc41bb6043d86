/*
 * bench_lag — replication lag of a running replicator, measured from the
 * outside: for every commit the writer logged, the time until a file that
 * contains it appears in the replica directory.
 *
 *   bench_lag -layout v05|v03 -replica DIR -log WRITER_LOG
 *             [-seconds MAX] [-grace S] [-poll-ms N] [-out FILE]
 *   bench_lag -layout v05|v03 -replica DIR -log WRITER_LOG -verify
 *   bench_lag -layout events -replica DIR -seconds S
 *
 * Input: the log of bench_writer -log, one line per commit
 *   "<id> <unix-ns> <wal-salt1 hex> <wal-end>"
 * where wal-end is the WAL byte position right after the commit's last frame
 * (32 + frames x (24 + page size)) in the WAL generation with that salt-1.
 *
 * Replica files are found with inotify (recursive, directories created later
 * are added as they appear) plus a full rescan every second as a safety net;
 * files found only by the rescan are counted as "late" (their detection time
 * may be up to 1 s late; expected 0). Each new file is mapped to a WAL
 * position (salt1, end):
 *   v05: <replica>/ltx/0/<min>-<max>.ltx, LTX header (spec 1.3, big-endian):
 *        WALOffset @48, WALSize @56, WALSalt1 @64; end = WALOffset + WALSize.
 *   v03: <replica>/generations/<gen>/wal/<index>_<offset>.wal.lz4, one LZ4
 *        frame of raw WAL bytes; the offset-0 segment starts with the WAL
 *        header (salt-1 at bytes 16..19); end = offset + decompressed length.
 *        Every index is one WAL generation; its salt comes from its offset-0
 *        segment (later segments wait until that one has been seen).
 * A commit (s_c, w_c) is covered by a file (s_f, e_f) when s_f is a later WAL
 * generation than s_c or s_f == s_c and e_f >= w_c. Generations are numbered
 * by the order in which their salt-1 first appears in the writer's log, not
 * by the salt's value: SQLite usually adds 1 to salt-1 at a WAL restart, but
 * uses random salts when the WAL was reset by another connection (reported as
 * salt_resets). A file whose salt-1 the log has not shown yet waits; when it
 * is resolved, coverage is recomputed in detection-time order. The commit's
 * lag is the detection time of the first covering file minus the commit's
 * log timestamp.
 *
 -verify is a one-shot check run after a benchmark (no watching, no lag):
 * all files are read in (index, offset) order; for v03 every segment is
 * streamed and checked against the mapping assumption: frames aligned at
 * 32 + k x (24 + page size), every frame carrying its index's salt-1,
 * segments of one index contiguous (offset == previous end). For both
 * layouts it reports how many file ends coincide exactly with a logged
 * commit end in the same WAL generation: evidence that file positions are in
 * the coordinates of the real WAL.
 *
 * Ending: at -seconds (default 600), on SIGTERM/SIGINT, or after SIGUSR1
 * ("the writer is done") as soon as every logged commit is covered or -grace
 * seconds (default 10) have passed. Output, one line of key=value:
 *   lag: commits=N covered=N uncovered=N p50_ms=.. p99_ms=.. max_ms=.. ...
 *
 * -layout events: counts files created, changed, renamed or deleted anywhere
 * under DIR for -seconds; prints "events: files_touched=N events=N" and the
 * paths (up to 20).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <lz4.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum layout { L_V05, L_V03, L_EVENTS };

typedef struct commit {
    int64_t id, t_ns, wend, cov_ns; /* cov_ns 0: not covered yet */
    uint32_t salt, ord;              /* ord: WAL generation number, see gen_of */
} commit;

typedef struct point {
    uint32_t salt, ord;
    int64_t end, t_ns;
} point;

typedef struct v03idx { /* one WAL index of one v0.3 generation */
    char gen[17];
    uint32_t index, salt, page_size;
    bool have_salt;
    int64_t next_off; /* -verify: expected offset of the next segment */
} v03idx;

typedef struct pending_seg { /* segment waiting for its index's salt */
    char gen[17];
    uint32_t index;
    int64_t off, len, t_ns;
} pending_seg;

static volatile sig_atomic_t g_stop, g_writer_done;
static void on_term(int s) { (void)s; g_stop = 1; }
static void on_usr1(int s) { (void)s; g_writer_done = 1; }

static int64_t now_ns(clockid_t c) {
    struct timespec ts;
    clock_gettime(c, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void *xrealloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fprintf(stderr, "bench_lag: out of memory\n");
        exit(2);
    }
    return q;
}

#define GROW(arr, n, cap)                                                     \
    do {                                                                      \
        if ((n) == (cap)) {                                                   \
            (cap) = (cap) ? (cap) * 2 : 256;                                  \
            (arr) = xrealloc((arr), (size_t)(cap) * sizeof(*(arr)));          \
        }                                                                     \
    } while (0)

static uint32_t be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static uint64_t be64(const unsigned char *p) { return (uint64_t)be32(p) << 32 | be32(p + 4); }

/* Order of WAL positions: (generation number, end). */
static int cmp_pos(uint32_t oa, int64_t ea, uint32_t ob, int64_t eb) {
    if (oa != ob) return oa > ob ? 1 : -1;
    return ea > eb ? 1 : ea < eb ? -1 : 0;
}

/* WAL generations are numbered in the order their salt-1 first appears in
 * the writer's log. Salt-1 is not a reliable order by itself: SQLite adds 1
 * when a connection restarts the WAL, but picks random salts when a
 * connection whose own checkpoint counter is 0 writes the first frame of a
 * WAL that another connection reset (e.g. the replicator's RESTART/TRUNCATE
 * checkpoint). */
static uint32_t *gen_salts;
static size_t n_gen, cap_gen;
static bool gen_of(uint32_t salt, uint32_t *ord) {
    for (size_t i = n_gen; i-- > 0;)
        if (gen_salts[i] == salt) {
            *ord = (uint32_t)i;
            return true;
        }
    return false;
}

/* ---- state ------------------------------------------------------------- */
static enum layout g_layout;
static const char *g_root;
static size_t g_rootlen;
static bool g_verify;

static commit *C;
static size_t nC, capC, next_unc;
static point *R; /* record-setting files: strictly increasing position */
static size_t nR, capR;
static point *F; /* every mapped file whose generation is known, by detection time */
static size_t nF, capF;
static point *U; /* files whose salt-1 the writer's log has not shown yet */
static size_t nU, capU;
static size_t n_salt_resets; /* generation changes where salt-1 did not grow by 1 */
static size_t n_late, n_nowal, n_unparsed_retry;

static v03idx *X;
static size_t nX, capX;
static pending_seg *P;
static size_t nP, capP;
static int64_t v_frames, v_misaligned, v_saltbad, v_gaps, v_segments;

/* seen-set of file paths (open addressing, grows) */
static char **seen;
static size_t seen_cap, seen_n;
static uint64_t hash_str(const char *s) {
    uint64_t h = 1469598103934665603ULL;
    while (*s) h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
    return h;
}
static bool seen_has(const char *s) {
    if (!seen_cap) return false;
    for (size_t i = hash_str(s) & (seen_cap - 1);; i = (i + 1) & (seen_cap - 1)) {
        if (!seen[i]) return false;
        if (strcmp(seen[i], s) == 0) return true;
    }
}
static void seen_add(const char *s) {
    if ((seen_n + 1) * 2 > seen_cap) {
        size_t ncap = seen_cap ? seen_cap * 2 : 1024;
        char **ns = calloc(ncap, sizeof(char *));
        if (!ns) exit(2);
        for (size_t j = 0; j < seen_cap; j++) {
            if (!seen[j]) continue;
            size_t i = hash_str(seen[j]) & (ncap - 1);
            while (ns[i]) i = (i + 1) & (ncap - 1);
            ns[i] = seen[j];
        }
        free(seen);
        seen = ns;
        seen_cap = ncap;
    }
    size_t i = hash_str(s) & (seen_cap - 1);
    while (seen[i]) i = (i + 1) & (seen_cap - 1);
    seen[i] = strdup(s);
    seen_n++;
}

/* ---- coverage ------------------------------------------------------------ */
static void add_point(uint32_t salt, int64_t end, int64_t t) {
    point p = {salt, 0, end, t};
    if (!gen_of(salt, &p.ord)) {
        GROW(U, nU, capU);
        U[nU++] = p;
        return;
    }
    GROW(F, nF, capF);
    F[nF++] = p;
    if (nR == 0 || cmp_pos(p.ord, end, R[nR - 1].ord, R[nR - 1].end) > 0) {
        GROW(R, nR, capR);
        R[nR++] = p;
    }
}

static int cmp_point_t(const void *a, const void *b) {
    const point *x = a, *y = b;
    return x->t_ns < y->t_ns ? -1 : x->t_ns > y->t_ns;
}

/* Files waiting for their generation: once the log has shown their salt, put
 * them in detection-time order and recompute coverage from the start. */
static void resolve_unknown(void) {
    bool moved = false;
    for (size_t i = 0; i < nU;) {
        uint32_t ord;
        if (gen_of(U[i].salt, &ord)) {
            GROW(F, nF, capF);
            F[nF] = U[i];
            F[nF++].ord = ord;
            U[i] = U[--nU];
            moved = true;
        } else {
            i++;
        }
    }
    if (!moved) return;
    qsort(F, nF, sizeof(point), cmp_point_t);
    nR = 0;
    for (size_t i = 0; i < nF; i++)
        if (nR == 0 || cmp_pos(F[i].ord, F[i].end, R[nR - 1].ord, R[nR - 1].end) > 0) {
            GROW(R, nR, capR);
            R[nR++] = F[i];
        }
    for (size_t i = 0; i < nC; i++) C[i].cov_ns = 0;
    next_unc = 0;
}

static void cover(void) {
    while (next_unc < nC) {
        commit *c = &C[next_unc];
        /* first record (earliest, smallest) with position >= commit */
        size_t lo = 0, hi = nR;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (cmp_pos(R[mid].ord, R[mid].end, c->ord, c->wend) >= 0) hi = mid;
            else lo = mid + 1;
        }
        if (lo == nR) break;
        c->cov_ns = R[lo].t_ns;
        next_unc++;
    }
}

/* ---- writer log ---------------------------------------------------------- */
static int log_fd = -1;
static const char *g_log;
static char logbuf[1 << 16];
static size_t loglen;
static size_t n_log_backwards;

static void read_log(void) {
    if (log_fd < 0) {
        log_fd = open(g_log, O_RDONLY);
        if (log_fd < 0) return;
    }
    for (;;) {
        ssize_t r = read(log_fd, logbuf + loglen, sizeof(logbuf) - loglen);
        if (r <= 0) return;
        loglen += (size_t)r;
        size_t start = 0;
        for (size_t i = 0; i < loglen; i++) {
            if (logbuf[i] != '\n') continue;
            logbuf[i] = 0;
            long long id, t, we;
            unsigned salt;
            if (sscanf(logbuf + start, "%lld %lld %x %lld", &id, &t, &salt, &we) == 4) {
                uint32_t ord;
                if (!gen_of(salt, &ord)) {
                    if (n_gen > 0 && salt != gen_salts[n_gen - 1] + 1) n_salt_resets++;
                    GROW(gen_salts, n_gen, cap_gen);
                    ord = (uint32_t)n_gen;
                    gen_salts[n_gen++] = salt;
                }
                GROW(C, nC, capC);
                if (nC > 0 && cmp_pos(ord, we, C[nC - 1].ord, C[nC - 1].wend) < 0) n_log_backwards++;
                C[nC++] = (commit){id, t, we, 0, salt, ord};
            }
            start = i + 1;
        }
        memmove(logbuf, logbuf + start, loglen - start);
        loglen -= start;
    }
}

/* ---- file parsing -------------------------------------------------------- */
static bool is_hex(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
    return true;
}

/* Byte sink for decompressed segment bytes: captures the first 32 bytes (the
 * WAL header of an offset-0 segment) and, when verifying, the salt-1 of every
 * frame header (bytes 8..11 of each frame) as the bytes stream past. */
typedef struct seg_sink {
    unsigned char head[32];
    size_t headn;
    bool verify;
    int64_t frame_size;      /* 0 until known */
    int64_t next_salt;       /* segment position of the next salt byte 0 */
    unsigned char acc[4];
    int accn;
    uint32_t salt;
    int64_t frames, saltbad;
} seg_sink;

static void sink_feed(seg_sink *k, int64_t pos, const unsigned char *d, size_t n) {
    while (k->headn < 32 && (int64_t)k->headn >= pos && (int64_t)k->headn < pos + (int64_t)n) {
        k->head[k->headn] = d[(int64_t)k->headn - pos];
        k->headn++;
    }
    if (!k->verify || k->frame_size == 0) return;
    for (;;) {
        int64_t want = k->next_salt + k->accn;
        if (want < pos || want >= pos + (int64_t)n) break;
        k->acc[k->accn++] = d[want - pos];
        if (k->accn == 4) {
            k->frames++;
            if (be32(k->acc) != k->salt) k->saltbad++;
            k->accn = 0;
            k->next_salt += k->frame_size;
        }
    }
}
static bool sink_needs_data(const seg_sink *k) { return k->headn < 32 || (k->verify && k->frame_size); }

static uint32_t le32(const unsigned char *p) {
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

/* Walks one LZ4 frame (LZ4 frame format) held in memory and returns its
 * decompressed length, or -1 when it is incomplete or corrupt. Uncompressed
 * blocks (v0.3 stores incompressible WAL data that way) are not copied, only
 * handed to the sink when it needs them; compressed blocks are decoded, with
 * the previous 64 KiB of output as dictionary when blocks are linked. */
static int64_t lz4_walk(const unsigned char *p, size_t n, seg_sink *k) {
    if (n < 7 || le32(p) != 0x184D2204u) return -1;
    unsigned flg = p[4], bd = p[5];
    if ((flg >> 6) != 1) return -1;
    bool indep = flg & 0x20, bcsum = flg & 0x10, csize = flg & 0x08, ccsum = flg & 0x04, dictid = flg & 0x01;
    unsigned bsid = (bd >> 4) & 7;
    if (bsid < 4) return -1;
    size_t bmax = (size_t)1 << (8 + 2 * bsid); /* 4:64K 5:256K 6:1M 7:4M */
    size_t q = 6 + (csize ? 8 : 0) + (dictid ? 4 : 0) + 1;
    if (q > n) return -1;
    unsigned char *out = NULL, *hist = NULL;
    size_t histn = 0;
    int64_t total = 0;
    bool ok = false;
    for (;;) {
        if (q + 4 > n) break;
        uint32_t bs = le32(p + q);
        q += 4;
        if (bs == 0) { /* end mark */
            if (ccsum) {
                if (q + 4 > n) break;
                q += 4;
            }
            ok = true;
            break;
        }
        bool raw = bs & 0x80000000u;
        size_t len = bs & 0x7FFFFFFFu;
        if (len > bmax || q + len + (bcsum ? 4 : 0) > n) break;
        const unsigned char *blk = p + q, *data;
        size_t dn;
        if (raw) {
            data = blk;
            dn = len;
        } else {
            if (!out) out = xrealloc(NULL, bmax);
            int r = indep || histn == 0
                        ? LZ4_decompress_safe((const char *)blk, (char *)out, (int)len, (int)bmax)
                        : LZ4_decompress_safe_usingDict((const char *)blk, (char *)out, (int)len, (int)bmax,
                                                        (const char *)hist, (int)histn);
            if (r < 0) break;
            data = out;
            dn = (size_t)r;
        }
        if (sink_needs_data(k)) sink_feed(k, total, data, dn);
        if (!indep) { /* keep the last 64 KiB of output as the next dictionary */
            if (!hist) hist = xrealloc(NULL, 65536);
            if (dn >= 65536) {
                memcpy(hist, data + dn - 65536, 65536);
                histn = 65536;
            } else {
                size_t keep = histn + dn > 65536 ? 65536 - dn : histn;
                memmove(hist, hist + histn - keep, keep);
                memcpy(hist + keep, data, dn);
                histn = keep + dn;
            }
        }
        total += (int64_t)dn;
        q += len + (bcsum ? 4 : 0);
    }
    free(out);
    free(hist);
    return ok ? total : -1;
}

static v03idx *find_idx(const char *gen, uint32_t index, bool create) {
    for (size_t i = 0; i < nX; i++)
        if (X[i].index == index && strcmp(X[i].gen, gen) == 0) return &X[i];
    if (!create) return NULL;
    GROW(X, nX, capX);
    v03idx *x = &X[nX++];
    memset(x, 0, sizeof(*x));
    snprintf(x->gen, sizeof(x->gen), "%s", gen);
    x->index = index;
    return x;
}

static void resolve_pending(void) {
    for (size_t i = 0; i < nP;) {
        v03idx *x = find_idx(P[i].gen, P[i].index, false);
        if (x && x->have_salt) {
            add_point(x->salt, P[i].off + P[i].len, P[i].t_ns);
            P[i] = P[--nP];
        } else {
            i++;
        }
    }
}

/* 1: mapped to a WAL position; 0: not a replica file of interest (or gone);
 * -1: not readable yet (incomplete), try again on a later event/rescan. */
static int handle_file(const char *path, int64_t t) {
    const char *rel = path + g_rootlen;
    while (*rel == '/') rel++;
    const char *base = strrchr(rel, '/');
    base = base ? base + 1 : rel;
    if (g_layout == L_V05) {
        /* ltx/0/<16hex>-<16hex>.ltx */
        if (strncmp(rel, "ltx/0/", 6) != 0 || strlen(base) != 37 || strcmp(base + 33, ".ltx") != 0 ||
            !is_hex(base, 16) || base[16] != '-' || !is_hex(base + 17, 16))
            return 0;
        int fd = open(path, O_RDONLY);
        if (fd < 0) return errno == ENOENT ? 0 : -1; /* deleted (retention): nothing to do */
        unsigned char h[100];
        ssize_t r = pread(fd, h, sizeof(h), 0);
        close(fd);
        if (r != 100 || memcmp(h, "LTX1", 4) != 0) return -1;
        int64_t walOff = (int64_t)be64(h + 48), walSize = (int64_t)be64(h + 56);
        uint32_t salt = be32(h + 64);
        if (salt == 0 && walOff == 0 && walSize == 0) {
            n_nowal++;
            return 0;
        }
        add_point(salt, walOff + walSize, t);
        return 1;
    }
    if (g_layout == L_V03) {
        /* generations/<16hex>/wal/<8hex>_<8..16hex>.wal.lz4 */
        if (strncmp(rel, "generations/", 12) != 0) return 0;
        const char *g = rel + 12;
        if (strlen(g) < 21 || !is_hex(g, 16) || strncmp(g + 16, "/wal/", 5) != 0) return 0;
        size_t bl = strlen(base);
        if (bl < 8 + 1 + 8 + 8 || strcmp(base + bl - 8, ".wal.lz4") != 0 || !is_hex(base, 8) || base[8] != '_')
            return 0;
        size_t offlen = bl - 8 - 9;
        if (offlen < 8 || offlen > 16 || !is_hex(base + 9, offlen)) return 0;
        char gen[17];
        memcpy(gen, g, 16);
        gen[16] = 0;
        uint32_t index = (uint32_t)strtoul(base, NULL, 16);
        int64_t off = (int64_t)strtoull(base + 9, NULL, 16);
        int fd = open(path, O_RDONLY);
        if (fd < 0) return errno == ENOENT ? 0 : -1;
        struct stat st;
        if (fstat(fd, &st) != 0 || st.st_size < 7) {
            close(fd);
            return -1;
        }
        void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        close(fd);
        if (map == MAP_FAILED) return -1;
        v03idx *x = find_idx(gen, index, true);
        seg_sink sk = {0};
        if (g_verify && off != 0 && x->have_salt) {
            sk.verify = true;
            sk.frame_size = 24 + (int64_t)x->page_size;
            sk.salt = x->salt;
            sk.next_salt = 8;
            if ((off - 32) % sk.frame_size != 0) v_misaligned++;
        } else if (g_verify && off == 0) {
            sk.verify = true; /* frame size known once the header streamed past */
        }
        int64_t dn = lz4_walk(map, (size_t)st.st_size, &sk);
        if (dn >= 0 && off == 0 && sk.verify && sk.headn == 32) {
            /* second pass over the offset-0 segment now that the header is known */
            seg_sink s2 = {0};
            s2.verify = true;
            s2.frame_size = 24 + (int64_t)be32(sk.head + 8);
            s2.salt = be32(sk.head + 16);
            s2.next_salt = 32 + 8;
            lz4_walk(map, (size_t)st.st_size, &s2);
            sk.frames = s2.frames;
            sk.saltbad = s2.saltbad;
        }
        munmap(map, (size_t)st.st_size);
        if (dn < 0 || (off == 0 && (dn < 32 || sk.headn < 32))) return -1;
        if (off == 0) {
            x->salt = be32(sk.head + 16);
            x->page_size = be32(sk.head + 8);
            x->have_salt = true;
        }
        if (g_verify) {
            v_segments++;
            if (x->next_off != off) v_gaps++;
            x->next_off = off + dn;
            int64_t fsz = 24 + (int64_t)x->page_size;
            if ((dn - (off == 0 ? 32 : 0)) % fsz != 0) v_misaligned++;
            v_frames += sk.frames;
            v_saltbad += sk.saltbad;
        }
        GROW(P, nP, capP);
        P[nP] = (pending_seg){.index = index, .off = off, .len = dn, .t_ns = t};
        memcpy(P[nP].gen, gen, sizeof(gen));
        nP++;
        resolve_pending();
        return 1;
    }
    return 0;
}

/* ---- inotify watcher ------------------------------------------------------ */
static int ino = -1;
static char **wpath; /* indexed by watch descriptor */
static int wpath_cap;
static bool root_watched;

/* events mode */
static char **touched;
static size_t n_touched, cap_touched;
static int64_t n_events;

static void note_touched(const char *path) {
    for (size_t i = 0; i < n_touched; i++)
        if (strcmp(touched[i], path) == 0) return;
    GROW(touched, n_touched, cap_touched);
    touched[n_touched++] = strdup(path);
}

static void try_file(const char *path, int64_t t, bool from_rescan) {
    if (g_layout == L_EVENTS) return;
    if (seen_has(path)) return;
    int r = handle_file(path, t);
    if (r >= 0) {
        seen_add(path);
        if (r == 1 && from_rescan) n_late++;
    } else {
        n_unparsed_retry++;
    }
}

static void watch_tree(const char *dir, int64_t t, bool from_rescan);

static void add_watch(const char *dir) {
    int wd = inotify_add_watch(ino, dir,
                               IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE | IN_MOVED_FROM |
                                   IN_MODIFY | IN_ATTRIB | IN_ONLYDIR);
    if (wd < 0) return;
    if (wd >= wpath_cap) {
        int ncap = wpath_cap ? wpath_cap : 64;
        while (ncap <= wd) ncap *= 2;
        wpath = xrealloc(wpath, (size_t)ncap * sizeof(char *));
        for (int i = wpath_cap; i < ncap; i++) wpath[i] = NULL;
        wpath_cap = ncap;
    }
    if (!wpath[wd]) wpath[wd] = strdup(dir);
    if (strcmp(dir, g_root) == 0) root_watched = true;
}

/* Watches dir and everything below it, handling files already present. */
static void watch_tree(const char *dir, int64_t t, bool from_rescan) {
    if (!from_rescan) add_watch(dir);
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char p[PATH_MAX];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        bool isdir = e->d_type == DT_DIR;
        if (e->d_type == DT_UNKNOWN) {
            struct stat st;
            isdir = stat(p, &st) == 0 && S_ISDIR(st.st_mode);
        }
        if (isdir) {
            if (from_rescan) add_watch(p); /* idempotent; new dirs missed by events */
            watch_tree(p, t, from_rescan);
        } else {
            try_file(p, t, from_rescan);
        }
    }
    closedir(d);
}

static void drain_inotify(int64_t t) {
    char buf[65536] __attribute__((aligned(__alignof__(struct inotify_event))));
    for (;;) {
        ssize_t r = read(ino, buf, sizeof(buf));
        if (r <= 0) return;
        for (char *p = buf; p < buf + r;) {
            struct inotify_event *ev = (struct inotify_event *)p;
            p += sizeof(*ev) + ev->len;
            if (ev->wd < 0 || ev->wd >= wpath_cap || !wpath[ev->wd] || ev->len == 0) continue;
            char path[PATH_MAX];
            snprintf(path, sizeof(path), "%s/%s", wpath[ev->wd], ev->name);
            if (ev->mask & IN_ISDIR) {
                if (ev->mask & (IN_CREATE | IN_MOVED_TO)) watch_tree(path, t, false);
                continue;
            }
            if (g_layout == L_EVENTS) {
                n_events++;
                note_touched(path);
                continue;
            }
            if (ev->mask & (IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE)) try_file(path, t, false);
        }
    }
}

/* ---- one-shot scan (-verify) --------------------------------------------- */
static char **all;
static size_t n_all, cap_all;

static void collect(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char p[PATH_MAX];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(p, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) {
            collect(p);
        } else {
            GROW(all, n_all, cap_all);
            all[n_all++] = strdup(p);
        }
    }
    closedir(d);
}

/* Directory, then (index, offset) parsed from "<index>_<offset>.wal.lz4"
 * (offsets past 4 GiB have more than 8 hex digits, so names do not sort). */
static int cmp_paths(const void *a, const void *b) {
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    const char *bx = strrchr(x, '/'), *by = strrchr(y, '/');
    size_t dx = (size_t)(bx - x), dy = (size_t)(by - y);
    int c = strncmp(x, y, dx < dy ? dx : dy);
    if (c || dx != dy) return c ? c : (dx < dy ? -1 : 1);
    unsigned long long ix = strtoull(bx + 1, NULL, 16), iy = strtoull(by + 1, NULL, 16);
    if (ix != iy) return ix < iy ? -1 : 1;
    const char *ux = strchr(bx, '_'), *uy = strchr(by, '_');
    if (ux && uy) {
        unsigned long long ox = strtoull(ux + 1, NULL, 16), oy = strtoull(uy + 1, NULL, 16);
        if (ox != oy) return ox < oy ? -1 : 1;
    }
    return strcmp(bx, by);
}

static size_t ends_at_commit(void) {
    size_t at_commit = 0;
    for (size_t i = 0; i < nF; i++) {
        size_t lo = 0, hi = nC;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (cmp_pos(C[mid].ord, C[mid].wend, F[i].ord, F[i].end) >= 0) hi = mid;
            else lo = mid + 1;
        }
        if (lo < nC && C[lo].ord == F[i].ord && C[lo].wend == F[i].end) at_commit++;
    }
    return at_commit;
}

static int verify_once(void) {
    read_log();
    collect(g_root);
    qsort(all, n_all, sizeof(char *), cmp_paths);
    int64_t t = now_ns(CLOCK_REALTIME);
    size_t unreadable = 0;
    for (size_t i = 0; i < n_all; i++)
        if (handle_file(all[i], t) < 0) unreadable++;
    resolve_unknown();
    cover();
    printf("verify: layout=%s files=%zu file_ends_at_commit=%zu unreadable=%zu commits=%zu "
           "covered_at_end=%zu wal_generations=%zu salt_resets=%zu unknown_generation_files=%zu "
           "log_backwards=%zu\n",
           g_layout == L_V05 ? "v05" : "v03", nF, ends_at_commit(), unreadable, nC, next_unc, n_gen, n_salt_resets,
           nU, n_log_backwards);
    if (g_layout == L_V03)
        printf("v03verify: indexes=%zu segments=%" PRId64 " frames=%" PRId64 " misaligned=%" PRId64
               " salt_mismatch=%" PRId64 " gaps=%" PRId64 " pending_segments=%zu\n",
               nX, v_segments, v_frames, v_misaligned, v_saltbad, v_gaps, nP);
    return 0;
}

/* ---- report --------------------------------------------------------------- */
static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of n sorted values; uncovered commits sort last as
 * INT64_MAX and print as "inf". */
static void pct(char *buf, size_t bn, const int64_t *v, size_t n, double q) {
    if (n == 0) {
        snprintf(buf, bn, "nan");
        return;
    }
    size_t k = (size_t)(q * (double)n + 0.999999999);
    if (k < 1) k = 1;
    if (k > n) k = n;
    if (v[k - 1] == INT64_MAX) snprintf(buf, bn, "inf");
    else snprintf(buf, bn, "%.1f", (double)v[k - 1] / 1e6);
}

int main(int argc, char **argv) {
    const char *lay = NULL, *out = NULL;
    double seconds = 600, grace = 10;
    int poll_ms = 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-verify") == 0) {
            g_verify = true;
            continue;
        }
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            fprintf(stderr, "bench_lag: missing value for %s\n", a);
            return 2;
        }
        if (strcmp(a, "-layout") == 0) lay = v;
        else if (strcmp(a, "-replica") == 0) g_root = v;
        else if (strcmp(a, "-log") == 0) g_log = v;
        else if (strcmp(a, "-seconds") == 0) seconds = atof(v);
        else if (strcmp(a, "-grace") == 0) grace = atof(v);
        else if (strcmp(a, "-poll-ms") == 0) poll_ms = atoi(v);
        else if (strcmp(a, "-out") == 0) out = v;
        else {
            fprintf(stderr, "bench_lag: unknown flag %s\n", a);
            return 2;
        }
        i++;
    }
    if (!lay || !g_root || (strcmp(lay, "v05") && strcmp(lay, "v03") && strcmp(lay, "events")) ||
        (strcmp(lay, "events") != 0 && !g_log) || poll_ms < 1 || poll_ms > 1000) {
        fprintf(stderr, "usage: bench_lag -layout v05|v03 -replica DIR -log WRITER_LOG [-seconds MAX] "
                        "[-grace S] [-poll-ms N] [-out FILE]\n"
                        "       bench_lag -layout v05|v03 -replica DIR -log WRITER_LOG -verify\n"
                        "       bench_lag -layout events -replica DIR -seconds S\n");
        return 2;
    }
    g_layout = strcmp(lay, "v05") == 0 ? L_V05 : strcmp(lay, "v03") == 0 ? L_V03 : L_EVENTS;
    g_rootlen = strlen(g_root);
    if (g_verify) return g_layout == L_EVENTS ? 2 : verify_once();
    struct sigaction sa = {0};
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);

    ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (ino < 0) {
        perror("inotify_init1");
        return 2;
    }
    int64_t t0 = now_ns(CLOCK_MONOTONIC), deadline = t0 + (int64_t)(seconds * 1e9), grace_end = 0;
    watch_tree(g_root, now_ns(CLOCK_REALTIME), false);
    int64_t next_rescan = t0 + 1000000000LL;
    for (;;) {
        struct pollfd pfd = {ino, POLLIN, 0};
        poll(&pfd, 1, poll_ms);
        int64_t t = now_ns(CLOCK_REALTIME);
        drain_inotify(t);
        int64_t m = now_ns(CLOCK_MONOTONIC);
        if (m >= next_rescan) {
            if (!root_watched) watch_tree(g_root, t, false);
            else if (g_layout != L_EVENTS) watch_tree(g_root, t, true);
            next_rescan = m + 1000000000LL;
        }
        if (g_layout != L_EVENTS) {
            read_log();
            resolve_unknown();
            cover();
        }
        if (g_stop || m >= deadline) break;
        if (g_writer_done && !grace_end) grace_end = m + (int64_t)(grace * 1e9);
        if (grace_end) {
            if (m >= grace_end) break;
            if (g_layout != L_EVENTS && nC > 0 && next_unc == nC) break;
        }
    }
    if (g_layout == L_EVENTS) {
        printf("events: files_touched=%zu events=%" PRId64 "\n", n_touched, n_events);
        for (size_t i = 0; i < n_touched && i < 20; i++) printf("  touched: %s\n", touched[i] + g_rootlen);
        return 0;
    }
    /* final pass: anything written up to now */
    int64_t t = now_ns(CLOCK_REALTIME);
    drain_inotify(t);
    read_log();
    resolve_unknown();
    cover();

    int64_t *lags = malloc((nC ? nC : 1) * sizeof(int64_t));
    size_t ncov = 0;
    double sum = 0;
    FILE *of = out ? fopen(out, "w") : NULL;
    for (size_t i = 0; i < nC; i++) {
        lags[i] = C[i].cov_ns ? C[i].cov_ns - C[i].t_ns : INT64_MAX;
        if (C[i].cov_ns) {
            ncov++;
            sum += (double)lags[i] / 1e6;
        }
        if (of) fprintf(of, "%" PRId64 " %" PRId64 "\n", C[i].id, C[i].cov_ns ? lags[i] : -1);
    }
    if (of) fclose(of);
    qsort(lags, nC, sizeof(int64_t), cmp_i64);
    size_t at_commit = ends_at_commit();
    char p50[32], p90[32], p99[32], pmax[32], pmin[32];
    pct(p50, sizeof(p50), lags, nC, 0.50);
    pct(p90, sizeof(p90), lags, nC, 0.90);
    pct(p99, sizeof(p99), lags, nC, 0.99);
    pct(pmax, sizeof(pmax), lags, nC, 1.0);
    pct(pmin, sizeof(pmin), lags, nC, 0.0);
    printf("lag: commits=%zu covered=%zu uncovered=%zu p50_ms=%s p90_ms=%s p99_ms=%s max_ms=%s "
           "min_ms=%s mean_covered_ms=%.1f files=%zu file_ends_at_commit=%zu late_files=%zu "
           "files_without_wal=%zu pending_segments=%zu wal_generations=%zu salt_resets=%zu "
           "unknown_generation_files=%zu log_backwards=%zu\n",
           nC, ncov, nC - ncov, p50, p90, p99, pmax, pmin, ncov ? sum / (double)ncov : -1.0, nF, at_commit,
           n_late, n_nowal, nP, n_gen, n_salt_resets, nU, n_log_backwards);
    free(lags);
    return 0;
}
