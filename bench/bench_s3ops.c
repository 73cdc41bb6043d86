/*
 * bench/bench_s3ops.c — drives the S3 backend's storage operations one at a
 * time from the command line, for the S3 integration tests (signing check,
 * fault proxy) and bench/s3_bench.sh.
 *
 *   bench_s3ops [-endpoint URL] [-bucket B] [-path P] [-region R]
 *               [-part-size N] [-concurrency N] [-unsigned] [-sse-c KEY64]
 *               [-sse-kms ID] [-storage-class C] [-no-md5] OP ARGS...
 *   OP: put KEY FILE [TS_MS] | get KEY [OFF LEN] (writes to stdout) |
 *       head KEY | head-accurate KEY | list PREFIX | list-dir PREFIX |
 *       del KEY... | stats
 * Credentials come from the environment (AWS_ACCESS_KEY_ID ...). Exit 0 on
 * success; errors go to stderr as "error: <code name>: <message>".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "storage/s3.h"
#include "util/stream.h"
#include "util/timeutil.h"

static int fail(const ls_err *e) {
    fprintf(stderr, "error: %s: %s\n", ls_code_name(e->code), e->msg);
    return 1;
}

int main(int argc, char **argv) {
    ls_s3_opts o;
    ls_s3_opts_defaults(&o);
    o.bucket = "testbkt";
    o.path = "db";
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-endpoint") && v) o.endpoint = v, i++;
        else if (!strcmp(a, "-bucket") && v) o.bucket = v, i++;
        else if (!strcmp(a, "-path") && v) o.path = v, i++;
        else if (!strcmp(a, "-region") && v) o.region = v, i++;
        else if (!strcmp(a, "-part-size") && v) o.part_size = atoll(v), i++;
        else if (!strcmp(a, "-concurrency") && v) o.concurrency = atoll(v), i++;
        else if (!strcmp(a, "-sse-c") && v) o.sse_customer_key = v, i++;
        else if (!strcmp(a, "-sse-kms") && v) o.sse_kms_key_id = v, i++;
        else if (!strcmp(a, "-storage-class") && v) o.storage_class = v, i++;
        else if (!strcmp(a, "-unsigned")) o.sign_payload = false;
        else if (!strcmp(a, "-no-md5")) o.require_content_md5 = false;
        else if (!strcmp(a, "-path-style")) o.force_path_style = true;
        else {
            fprintf(stderr, "usage: see bench/bench_s3ops.c (bad flag %s)\n", a);
            return 2;
        }
    }
    if (o.endpoint) o.force_path_style = true;
    if (i >= argc) {
        fprintf(stderr, "usage: bench_s3ops [flags] OP ARGS...\n");
        return 2;
    }
    const char *op = argv[i++];
    ls_storage *s = NULL;
    ls_err e;
    if (ls_storage_s3_open(&o, &s, &e) != LS_OK) return fail(&e);
    int rc = 0;
    if (!strcmp(op, "put") && i + 1 < argc) {
        ls_reader *r = NULL;
        if (ls_reader_file(argv[i + 1], &r, &e) != LS_OK) {
            rc = fail(&e);
        } else {
            ls_put_opts po = {.created_at_ns = i + 2 < argc ? atoll(argv[i + 2]) * LS_NS_PER_MS : 0,
                              .size_hint = -1};
            if (ls_storage_put(s, argv[i], r, &po, &e) != LS_OK) rc = fail(&e);
            ls_reader_close(r);
        }
    } else if (!strcmp(op, "get") && i < argc) {
        uint64_t off = i + 1 < argc ? strtoull(argv[i + 1], NULL, 10) : 0;
        uint64_t len = i + 2 < argc ? strtoull(argv[i + 2], NULL, 10) : LS_STORAGE_TO_END;
        ls_reader *r = NULL;
        if (ls_storage_get(s, argv[i], off, len, &r, &e) != LS_OK) {
            rc = fail(&e);
        } else {
            static unsigned char buf[1 << 16];
            for (;;) {
                size_t n = 0;
                if (ls_read(r, buf, sizeof(buf), &n, &e) != LS_OK) {
                    rc = fail(&e);
                    break;
                }
                if (n == 0) break;
                if (fwrite(buf, 1, n, stdout) != n) {
                    rc = 1;
                    break;
                }
            }
            ls_reader_close(r);
        }
    } else if ((!strcmp(op, "head") || !strcmp(op, "head-accurate")) && i < argc) {
        ls_object_info info;
        if (ls_storage_head(s, argv[i], !strcmp(op, "head-accurate"), &info, &e) != LS_OK) {
            rc = fail(&e);
        } else {
            char ts[64];
            ls_format_rfc3339_nano(info.created_at_ns, ts, sizeof(ts));
            printf("%s %lld %s\n", info.key, (long long)info.size, ts);
            ls_object_info_free(&info);
        }
    } else if ((!strcmp(op, "list") || !strcmp(op, "list-dir")) && i < argc) {
        ls_object_list l;
        if (ls_storage_list(s, argv[i], !strcmp(op, "list-dir") ? '/' : 0, &l, &e) != LS_OK) {
            rc = fail(&e);
        } else {
            for (size_t k = 0; k < l.n; k++) {
                char ts[64] = "-";
                if (l.items[k].created_at_ns) ls_format_rfc3339(l.items[k].created_at_ns, ts, sizeof(ts));
                printf("%s %lld %s\n", l.items[k].key, (long long)l.items[k].size, ts);
            }
            ls_object_list_free(&l);
        }
    } else if (!strcmp(op, "del") && i < argc) {
        if (ls_storage_del(s, (const char *const *)(argv + i), (size_t)(argc - i), &e) != LS_OK) rc = fail(&e);
    } else if (!strcmp(op, "stats")) {
        /* nothing: prints the (zero) counters */
    } else {
        fprintf(stderr, "unknown op or missing arguments: %s\n", op);
        rc = 2;
    }
    ls_storage_stats st;
    ls_storage_stats_get(s, &st);
    fprintf(stderr, "stats: puts=%llu gets=%llu heads=%llu lists=%llu deletes=%llu retries=%llu errors=%llu\n",
            (unsigned long long)st.puts, (unsigned long long)st.gets, (unsigned long long)st.heads,
            (unsigned long long)st.lists, (unsigned long long)st.deletes, (unsigned long long)st.retries,
            (unsigned long long)st.errors);
    ls_storage_close(s);
    return rc;
}
