/*
 * mcp/stdio.c — MCP over stdio: one JSON-RPC message per line on stdin,
 * answers and notifications one per line on stdout (nothing else is ever
 * written there; logs go to stderr). tools/call requests run on their own
 * threads so a later notifications/cancelled line can stop them.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcp/mcp_internal.h"
#include "util/log.h"

typedef struct stdio_ctx {
    ls_mcp *m;
    ls_mcp_session *s;
    FILE *out;
    pthread_mutex_t wmu;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int workers;
    bool write_error;
} stdio_ctx;

static bool stdio_send(void *arg, const char *json) {
    stdio_ctx *c = arg;
    pthread_mutex_lock(&c->wmu);
    bool ok = !c->write_error && fputs(json, c->out) >= 0 && fputc('\n', c->out) != EOF &&
              fflush(c->out) == 0;
    if (!ok) c->write_error = true;
    pthread_mutex_unlock(&c->wmu);
    return ok;
}

typedef struct job {
    stdio_ctx *c;
    ls_mcp_msg *msg;
} job;

static void run_msg(stdio_ctx *c, ls_mcp_msg *msg) {
    ls_mcp_sink sink = {stdio_send, c};
    bool cancelled = false;
    char *reply = ls_mcp_execute(c->m, c->s, msg, &sink, &cancelled);
    if (reply) stdio_send(c, reply);
    free(reply);
}

static void *worker(void *arg) {
    job *j = arg;
    run_msg(j->c, j->msg);
    ls_mcp_msg_free(j->msg);
    stdio_ctx *c = j->c;
    free(j);
    pthread_mutex_lock(&c->mu);
    c->workers--;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

/* Reads one line of at most max bytes into *buf (grown as needed). Returns
 * the length, -1 at EOF, or -2 when the line was too long (it is skipped). */
static long read_line(FILE *in, char **buf, size_t *cap, size_t max) {
    size_t len = 0;
    bool too_long = false;
    int ch;
    while ((ch = fgetc(in)) != EOF) {
        if (ch == '\n') break;
        if (too_long) continue;
        if (len + 2 > *cap) {
            size_t nc = *cap ? *cap * 2 : 4096;
            char *nb = realloc(*buf, nc);
            if (!nb) {
                too_long = true;
                continue;
            }
            *buf = nb;
            *cap = nc;
        }
        (*buf)[len++] = (char)ch;
        if (len > max) too_long = true;
    }
    if (ch == EOF && len == 0 && !too_long) return -1;
    if (too_long) return -2;
    (*buf)[len] = 0;
    return (long)len;
}

int ls_mcp_stdio_run(ls_mcp *m, FILE *in, FILE *out) {
    stdio_ctx c;
    memset(&c, 0, sizeof(c));
    c.m = m;
    c.out = out;
    c.s = ls_mcp_session_transient(LS_MCP_V_UNKNOWN);
    if (!c.s) return 1;
    pthread_mutex_init(&c.wmu, NULL);
    pthread_mutex_init(&c.mu, NULL);
    pthread_cond_init(&c.cv, NULL);
    char *buf = NULL;
    size_t cap = 0;
    long n;
    while ((n = read_line(in, &buf, &cap, LS_MCP_MAX_MESSAGE)) != -1) {
        if (n == -2) {
            char *e = ls_mcp_error_json(NULL, -32600, "Invalid Request: message larger than 1 MiB", NULL);
            if (e) stdio_send(&c, e);
            free(e);
            continue;
        }
        while (n > 0 && (buf[n - 1] == '\r' || buf[n - 1] == ' ' || buf[n - 1] == '\t')) buf[--n] = 0;
        if (n == 0) continue;
        ls_mcp_msg *msg = NULL;
        char *err = NULL;
        if (ls_mcp_parse(buf, (size_t)n, &msg, &err) != LS_MCP_PARSE_OK) {
            if (err) stdio_send(&c, err);
            free(err);
            continue;
        }
        if (!ls_mcp_msg_is_batch(msg) && strcmp(ls_mcp_msg_method(msg), "tools/call") == 0 &&
            ls_mcp_msg_requests(msg) == 1) {
            job *j = malloc(sizeof(*j));
            pthread_t th;
            pthread_attr_t attr;
            pthread_attr_init(&attr);
            pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
            if (j) {
                j->c = &c;
                j->msg = msg;
                pthread_mutex_lock(&c.mu);
                c.workers++;
                pthread_mutex_unlock(&c.mu);
                if (pthread_create(&th, &attr, worker, j) == 0) {
                    pthread_attr_destroy(&attr);
                    continue;
                }
                pthread_mutex_lock(&c.mu);
                c.workers--;
                pthread_mutex_unlock(&c.mu);
                free(j);
            }
            pthread_attr_destroy(&attr);
        }
        run_msg(&c, msg);
        ls_mcp_msg_free(msg);
    }
    free(buf);
    /* stdin closed: finish (and answer) the calls still running. A client
     * that wants them stopped sends notifications/cancelled first, or
     * SIGTERM (cmd_mcp cancels everything then). */
    pthread_mutex_lock(&c.mu);
    while (c.workers) pthread_cond_wait(&c.cv, &c.mu);
    pthread_mutex_unlock(&c.mu);
    ls_mcp_session_put(c.s);
    pthread_cond_destroy(&c.cv);
    pthread_mutex_destroy(&c.mu);
    pthread_mutex_destroy(&c.wmu);
    return c.write_error ? 1 : 0;
}
