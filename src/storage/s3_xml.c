/*
 * storage/s3_xml.c — bounded XML tag scanner and the S3 response parsers
 * (contract in storage/s3_internal.h).
 *
 * The scanner is a single forward pass over a (pointer, length) buffer with
 * a fixed-size element stack; it allocates nothing. Every read is guarded by
 * the remaining length. Parsers copy decoded values into bounded buffers or
 * malloc'd strings of at most LS_S3_XML_VALUE_MAX bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/s3_internal.h"
#include "util/timeutil.h"

void s3x_init(s3x *x, const void *buf, size_t len) {
    memset(x, 0, sizeof(*x));
    x->buf = buf;
    x->len = buf ? len : 0;
}

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

static bool is_name_char(char c) {
    unsigned char u = (unsigned char)c;
    return (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') ||
           u == '_' || u == '-' || u == '.' || u == ':' || u >= 0x80;
}

/* Position of the first occurrence of needle at or after from, or len. */
static size_t find(const s3x *x, size_t from, const char *needle) {
    size_t nl = strlen(needle);
    if (nl == 0 || x->len < nl) return x->len;
    for (size_t i = from; i + nl <= x->len; i++)
        if (x->buf[i] == needle[0] && memcmp(x->buf + i, needle, nl) == 0) return i;
    return x->len;
}

static bool starts(const s3x *x, size_t at, const char *lit) {
    size_t n = strlen(lit);
    return at <= x->len && x->len - at >= n && memcmp(x->buf + at, lit, n) == 0;
}

static ls_code bad(ls_err *err, size_t off, const char *what) {
    return ls_err_set(err, LS_ERR_FORMAT, "malformed XML at byte %zu: %s", off, what);
}

/* Reads a name at x->pos into out; advances. */
static ls_code read_name(s3x *x, char *out, ls_err *err) {
    size_t start = x->pos;
    while (x->pos < x->len && is_name_char(x->buf[x->pos])) x->pos++;
    size_t n = x->pos - start;
    if (n == 0) return bad(err, start, "expected an element name");
    if (n > S3X_NAME_MAX) return bad(err, start, "element name too long");
    memcpy(out, x->buf + start, n);
    out[n] = '\0';
    return LS_OK;
}

ls_code s3x_next(s3x *x, s3x_event *ev, ls_err *err) {
    memset(ev, 0, sizeof(*ev));
    if (x->pending_end) {
        x->pending_end = false;
        ev->kind = S3X_END;
        ev->name = x->stack[x->depth - 1];
        ev->depth = x->depth;
        x->depth--;
        if (x->depth == 0) x->root_closed = true;
        return LS_OK;
    }
    for (;;) {
        if (x->pos >= x->len) {
            if (x->depth > 0) return bad(err, x->pos, "unexpected end of document (unclosed element)");
            if (!x->root_closed) return bad(err, x->pos, "no root element");
            ev->kind = S3X_EOF;
            return LS_OK;
        }
        char c = x->buf[x->pos];
        if (c != '<') {
            /* text run up to the next '<' */
            size_t start = x->pos;
            size_t end = find(x, start, "<");
            x->pos = end;
            if (x->depth == 0) {
                for (size_t i = start; i < end; i++)
                    if (!is_space(x->buf[i])) return bad(err, i, "text outside the root element");
                continue;
            }
            ev->kind = S3X_TEXT;
            ev->text = x->buf + start;
            ev->text_len = end - start;
            return LS_OK;
        }
        size_t at = x->pos;
        if (starts(x, at, "<?")) {
            size_t e = find(x, at + 2, "?>");
            if (e >= x->len) return bad(err, at, "unterminated processing instruction");
            x->pos = e + 2;
            continue;
        }
        if (starts(x, at, "<!--")) {
            size_t e = find(x, at + 4, "-->");
            if (e >= x->len) return bad(err, at, "unterminated comment");
            x->pos = e + 3;
            continue;
        }
        if (starts(x, at, "<![CDATA[")) {
            if (x->depth == 0) return bad(err, at, "CDATA outside the root element");
            size_t e = find(x, at + 9, "]]>");
            if (e >= x->len) return bad(err, at, "unterminated CDATA section");
            ev->kind = S3X_TEXT;
            ev->cdata = true;
            ev->text = x->buf + at + 9;
            ev->text_len = e - (at + 9);
            x->pos = e + 3;
            return LS_OK;
        }
        if (starts(x, at, "<!")) {
            /* DOCTYPE or other declaration: skip to the matching '>'
             * (one level of [...] internal subset, quoted strings). */
            size_t i = at + 2;
            int bracket = 0;
            char quote = 0;
            for (; i < x->len; i++) {
                char d = x->buf[i];
                if (quote) {
                    if (d == quote) quote = 0;
                } else if (d == '"' || d == '\'') {
                    quote = d;
                } else if (d == '[') {
                    bracket++;
                } else if (d == ']') {
                    bracket--;
                } else if (d == '>' && bracket <= 0) {
                    break;
                }
            }
            if (i >= x->len) return bad(err, at, "unterminated declaration");
            x->pos = i + 1;
            continue;
        }
        if (starts(x, at, "</")) {
            x->pos = at + 2;
            char name[S3X_NAME_MAX + 1];
            ls_code rc = read_name(x, name, err);
            if (rc != LS_OK) return rc;
            while (x->pos < x->len && is_space(x->buf[x->pos])) x->pos++;
            if (x->pos >= x->len || x->buf[x->pos] != '>') return bad(err, x->pos, "expected '>'");
            x->pos++;
            if (x->depth == 0) return bad(err, at, "end tag without start tag");
            if (strcmp(name, x->stack[x->depth - 1]) != 0)
                return bad(err, at, "mismatched end tag");
            ev->kind = S3X_END;
            ev->name = x->stack[x->depth - 1];
            ev->depth = x->depth;
            x->depth--;
            if (x->depth == 0) x->root_closed = true;
            return LS_OK;
        }
        /* start tag */
        if (x->root_closed) return bad(err, at, "second root element");
        if (x->depth >= S3X_DEPTH_MAX) return bad(err, at, "elements nested too deeply");
        x->pos = at + 1;
        ls_code rc = read_name(x, x->stack[x->depth], err);
        if (rc != LS_OK) return rc;
        /* attributes: name="value" / name='value', skipped */
        bool self_close = false;
        for (;;) {
            while (x->pos < x->len && is_space(x->buf[x->pos])) x->pos++;
            if (x->pos >= x->len) return bad(err, at, "unterminated start tag");
            char d = x->buf[x->pos];
            if (d == '>') {
                x->pos++;
                break;
            }
            if (d == '/') {
                if (x->pos + 1 >= x->len || x->buf[x->pos + 1] != '>')
                    return bad(err, x->pos, "expected '/>'");
                x->pos += 2;
                self_close = true;
                break;
            }
            size_t ns = x->pos;
            while (x->pos < x->len && is_name_char(x->buf[x->pos])) x->pos++;
            if (x->pos == ns) return bad(err, ns, "bad attribute");
            while (x->pos < x->len && is_space(x->buf[x->pos])) x->pos++;
            if (x->pos >= x->len || x->buf[x->pos] != '=') return bad(err, x->pos, "expected '='");
            x->pos++;
            while (x->pos < x->len && is_space(x->buf[x->pos])) x->pos++;
            if (x->pos >= x->len || (x->buf[x->pos] != '"' && x->buf[x->pos] != '\''))
                return bad(err, x->pos, "expected a quoted attribute value");
            char q = x->buf[x->pos];
            size_t e = x->pos + 1;
            while (e < x->len && x->buf[e] != q) e++;
            if (e >= x->len) return bad(err, x->pos, "unterminated attribute value");
            x->pos = e + 1;
        }
        x->depth++;
        ev->kind = S3X_START;
        ev->name = x->stack[x->depth - 1];
        ev->depth = x->depth;
        if (self_close) x->pending_end = true;
        return LS_OK;
    }
}

bool s3x_name_is(const char *name, const char *local) {
    const char *colon = strrchr(name, ':');
    return strcmp(colon ? colon + 1 : name, local) == 0;
}

/* Appends the UTF-8 encoding of cp; false when it does not fit / invalid. */
static bool put_utf8(unsigned long cp, char *out, size_t cap, size_t *o) {
    unsigned char tmp[4];
    size_t n;
    if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    if (cp < 0x80) {
        tmp[0] = (unsigned char)cp;
        n = 1;
    } else if (cp < 0x800) {
        tmp[0] = (unsigned char)(0xC0 | (cp >> 6));
        tmp[1] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        tmp[0] = (unsigned char)(0xE0 | (cp >> 12));
        tmp[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        tmp[2] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        tmp[0] = (unsigned char)(0xF0 | (cp >> 18));
        tmp[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        tmp[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        tmp[3] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    if (*o + n >= cap) return false;
    memcpy(out + *o, tmp, n);
    *o += n;
    return true;
}

long s3x_decode(const char *raw, size_t len, bool cdata, char *out, size_t cap) {
    if (cap == 0) return -1;
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        char c = raw[i];
        if (c == '&' && !cdata) {
            size_t semi = i + 1;
            while (semi < len && semi - i <= 12 && raw[semi] != ';') semi++;
            if (semi >= len || raw[semi] != ';') return -1;
            const char *ent = raw + i + 1;
            size_t el = semi - i - 1;
            char ch = 0;
            if (el == 3 && memcmp(ent, "amp", 3) == 0) ch = '&';
            else if (el == 2 && memcmp(ent, "lt", 2) == 0) ch = '<';
            else if (el == 2 && memcmp(ent, "gt", 2) == 0) ch = '>';
            else if (el == 4 && memcmp(ent, "quot", 4) == 0) ch = '"';
            else if (el == 4 && memcmp(ent, "apos", 4) == 0) ch = '\'';
            if (ch) {
                if (o + 1 >= cap) return -1;
                out[o++] = ch;
            } else if (el >= 2 && ent[0] == '#') {
                unsigned long cp = 0;
                bool hex = ent[1] == 'x' || ent[1] == 'X';
                size_t k = hex ? 2 : 1;
                if (k >= el) return -1;
                for (; k < el; k++) {
                    char d = ent[k];
                    int v;
                    if (d >= '0' && d <= '9') v = d - '0';
                    else if (hex && d >= 'a' && d <= 'f') v = d - 'a' + 10;
                    else if (hex && d >= 'A' && d <= 'F') v = d - 'A' + 10;
                    else return -1;
                    cp = cp * (hex ? 16 : 10) + (unsigned long)v;
                    if (cp > 0x10FFFF) return -1;
                }
                if (!put_utf8(cp, out, cap, &o)) return -1;
            } else {
                return -1;
            }
            i = semi + 1;
            continue;
        }
        if (o + 1 >= cap) return -1;
        out[o++] = c;
        i++;
    }
    out[o] = '\0';
    return (long)o;
}

/* ------------------------------------------------------------ parsers -- */

/* Accumulates the text of the current element (text may come in several
 * events, e.g. around comments or CDATA). */
typedef struct {
    char val[LS_S3_XML_VALUE_MAX + 1];
    size_t n;
    bool overflow, badent;
} textacc;

static void acc_reset(textacc *a) {
    a->n = 0;
    a->val[0] = '\0';
    a->overflow = a->badent = false;
}

static void acc_add(textacc *a, const s3x_event *ev) {
    if (a->overflow || a->badent) return;
    long d = s3x_decode(ev->text, ev->text_len, ev->cdata, a->val + a->n, sizeof(a->val) - a->n);
    if (d < 0) {
        /* distinguish "does not fit" from bad entities: retry into a large
         * scratch is not worth it; report as overflow when long */
        if (ev->text_len >= sizeof(a->val) - a->n) a->overflow = true;
        else a->badent = true;
        return;
    }
    a->n += (size_t)d;
}

static ls_code acc_check(const textacc *a, const s3x *x, const char *what, ls_err *err) {
    if (a->overflow)
        return ls_err_set(err, LS_ERR_FORMAT, "XML value of <%s> longer than %d bytes (near byte %zu)",
                          what, LS_S3_XML_VALUE_MAX, x->pos);
    if (a->badent)
        return ls_err_set(err, LS_ERR_FORMAT, "XML value of <%s> has a bad entity (near byte %zu)", what,
                          x->pos);
    return LS_OK;
}

static void copy_trunc(char *dst, size_t cap, const char *src) {
    size_t n = strlen(src);
    if (n >= cap) n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

ls_code s3_xml_root(const void *buf, size_t len, char *root, size_t cap, ls_err *err) {
    s3x x;
    s3x_init(&x, buf, len);
    if (cap) root[0] = '\0';
    for (;;) {
        s3x_event ev;
        ls_code rc = s3x_next(&x, &ev, err);
        if (rc != LS_OK) return rc;
        if (ev.kind == S3X_EOF) return bad(err, x.pos, "no root element");
        if (ev.kind == S3X_START) {
            const char *colon = strrchr(ev.name, ':');
            copy_trunc(root, cap, colon ? colon + 1 : ev.name);
            return LS_OK;
        }
    }
}

ls_code s3_parse_error(const void *buf, size_t len, s3_error_doc *out, ls_err *err) {
    memset(out, 0, sizeof(*out));
    s3x x;
    s3x_init(&x, buf, len);
    textacc *a = malloc(sizeof(*a));
    if (!a) return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
    acc_reset(a);
    bool is_error = false;
    ls_code rc;
    for (;;) {
        s3x_event ev;
        rc = s3x_next(&x, &ev, err);
        if (rc != LS_OK || ev.kind == S3X_EOF) break;
        if (ev.kind == S3X_START) {
            if (ev.depth == 1) is_error = s3x_name_is(ev.name, "Error");
            acc_reset(a);
        } else if (ev.kind == S3X_TEXT) {
            if (ev.text_len <= LS_S3_XML_VALUE_MAX) acc_add(a, &ev);
        } else if (ev.kind == S3X_END && ev.depth == 2 && is_error && !a->overflow && !a->badent) {
            if (s3x_name_is(ev.name, "Code")) copy_trunc(out->code, sizeof(out->code), a->val);
            else if (s3x_name_is(ev.name, "Message"))
                copy_trunc(out->message, sizeof(out->message), a->val);
            else if (s3x_name_is(ev.name, "Region") || s3x_name_is(ev.name, "BucketRegion"))
                copy_trunc(out->region, sizeof(out->region), a->val);
        }
    }
    free(a);
    if (rc != LS_OK) return rc;
    if (!is_error) return ls_err_set(err, LS_ERR_FORMAT, "not an S3 Error document");
    return LS_OK;
}

void s3_list_page_free(s3_list_page *p) {
    if (!p) return;
    for (size_t i = 0; i < p->n; i++) free(p->items[i].key);
    free(p->items);
    free(p->next_token);
    memset(p, 0, sizeof(*p));
}

static ls_code page_push(s3_list_page *p, const char *key, int64_t size, int64_t mtime,
                         bool is_prefix, ls_err *err) {
    if (p->n >= S3X_MAX_ENTRIES)
        return ls_err_set(err, LS_ERR_FORMAT, "list response has more than %d entries", S3X_MAX_ENTRIES);
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        s3_list_entry *it = realloc(p->items, cap * sizeof(*it));
        if (!it) return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
        p->items = it;
        p->cap = cap;
    }
    char *k = strdup(key);
    if (!k) return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
    p->items[p->n++] = (s3_list_entry){.key = k, .size = size, .mtime_ns = mtime,
                                       .is_prefix = is_prefix};
    return LS_OK;
}

static bool parse_i64(const char *s, int64_t *out) {
    if (!*s) return false;
    int64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return false;
        if (v > (INT64_MAX - (*s - '0')) / 10) return false;
        v = v * 10 + (*s - '0');
    }
    *out = v;
    return true;
}

ls_code s3_parse_list(const void *buf, size_t len, s3_list_page *out, ls_err *err) {
    memset(out, 0, sizeof(*out));
    s3x x;
    s3x_init(&x, buf, len);
    textacc *a = malloc(sizeof(*a));
    char *key = malloc(LS_S3_XML_VALUE_MAX + 1);
    if (!a || !key) {
        free(a);
        free(key);
        return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
    }
    acc_reset(a);
    bool root_ok = false, have_key = false;
    int64_t size = -1, mtime = 0;
    enum { NONE, CONTENTS, PREFIXES } in = NONE;
    ls_code rc = LS_OK;
    for (;;) {
        s3x_event ev;
        rc = s3x_next(&x, &ev, err);
        if (rc != LS_OK || ev.kind == S3X_EOF) break;
        if (ev.kind == S3X_START) {
            acc_reset(a);
            if (ev.depth == 1) {
                root_ok = s3x_name_is(ev.name, "ListBucketResult");
                if (!root_ok) {
                    rc = ls_err_set(err, LS_ERR_FORMAT, "unexpected list response root <%s>", ev.name);
                    break;
                }
            } else if (ev.depth == 2) {
                if (s3x_name_is(ev.name, "Contents")) in = CONTENTS;
                else if (s3x_name_is(ev.name, "CommonPrefixes")) in = PREFIXES;
                else in = NONE;
                have_key = false;
                size = -1;
                mtime = 0;
            }
        } else if (ev.kind == S3X_TEXT) {
            acc_add(a, &ev);
        } else if (ev.kind == S3X_END) {
            if (ev.depth == 2) {
                if (in == CONTENTS || in == PREFIXES) {
                    if (!have_key) {
                        rc = ls_err_set(err, LS_ERR_FORMAT, "list response entry without a key (near byte %zu)",
                                        x.pos);
                        break;
                    }
                    if (in == CONTENTS && size < 0) {
                        rc = ls_err_set(err, LS_ERR_FORMAT, "list response: object \"%s\" without a size",
                                        key);
                        break;
                    }
                    rc = page_push(out, key, in == CONTENTS ? size : -1, mtime, in == PREFIXES, err);
                    if (rc != LS_OK) break;
                } else if (s3x_name_is(ev.name, "IsTruncated")) {
                    out->truncated = strcmp(a->val, "true") == 0;
                } else if (s3x_name_is(ev.name, "NextContinuationToken")) {
                    if ((rc = acc_check(a, &x, "NextContinuationToken", err)) != LS_OK) break;
                    free(out->next_token);
                    out->next_token = strdup(a->val);
                    if (!out->next_token) {
                        rc = ls_err_set(err, LS_ERR_NOMEM, "out of memory");
                        break;
                    }
                }
                in = NONE;
            } else if (ev.depth == 3 && in != NONE) {
                bool is_key = in == CONTENTS ? s3x_name_is(ev.name, "Key") : s3x_name_is(ev.name, "Prefix");
                if (is_key) {
                    if ((rc = acc_check(a, &x, ev.name, err)) != LS_OK) break;
                    memcpy(key, a->val, a->n + 1);
                    have_key = true;
                } else if (in == CONTENTS && s3x_name_is(ev.name, "Size")) {
                    if (!parse_i64(a->val, &size)) {
                        rc = ls_err_set(err, LS_ERR_FORMAT, "list response: bad size \"%.40s\"", a->val);
                        break;
                    }
                } else if (in == CONTENTS && s3x_name_is(ev.name, "LastModified")) {
                    int64_t ns;
                    if (!a->overflow && ls_parse_rfc3339(a->val, &ns, NULL) == LS_OK) mtime = ns;
                }
            }
            acc_reset(a);
        }
    }
    free(a);
    free(key);
    if (rc == LS_OK && !root_ok) rc = ls_err_set(err, LS_ERR_FORMAT, "list response has no ListBucketResult");
    if (rc != LS_OK) s3_list_page_free(out);
    return rc;
}

ls_code s3_parse_delete_result(const void *buf, size_t len, s3_delete_error_fn on_error,
                               void *ctx, size_t *ndeleted, ls_err *err) {
    if (ndeleted) *ndeleted = 0;
    s3x x;
    s3x_init(&x, buf, len);
    textacc *a = malloc(sizeof(*a));
    char *key = malloc(LS_S3_XML_VALUE_MAX + 1);
    if (!a || !key) {
        free(a);
        free(key);
        return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
    }
    acc_reset(a);
    key[0] = '\0';
    char code[64] = "", msg[256] = "";
    bool root_ok = false;
    enum { NONE, DELETED, ERROR } in = NONE;
    ls_code rc = LS_OK;
    for (;;) {
        s3x_event ev;
        rc = s3x_next(&x, &ev, err);
        if (rc != LS_OK || ev.kind == S3X_EOF) break;
        if (ev.kind == S3X_START) {
            acc_reset(a);
            if (ev.depth == 1) {
                root_ok = s3x_name_is(ev.name, "DeleteResult");
                if (!root_ok) {
                    rc = ls_err_set(err, LS_ERR_FORMAT, "unexpected delete response root <%s>", ev.name);
                    break;
                }
            } else if (ev.depth == 2) {
                in = s3x_name_is(ev.name, "Deleted") ? DELETED
                     : s3x_name_is(ev.name, "Error") ? ERROR
                                                     : NONE;
                key[0] = code[0] = msg[0] = '\0';
            }
        } else if (ev.kind == S3X_TEXT) {
            acc_add(a, &ev);
        } else if (ev.kind == S3X_END) {
            if (ev.depth == 2) {
                if (in == DELETED && ndeleted) (*ndeleted)++;
                if (in == ERROR && on_error) on_error(ctx, key, code, msg);
                in = NONE;
            } else if (ev.depth == 3 && in != NONE) {
                if (s3x_name_is(ev.name, "Key")) {
                    if ((rc = acc_check(a, &x, "Key", err)) != LS_OK) break;
                    memcpy(key, a->val, a->n + 1);
                } else if (s3x_name_is(ev.name, "Code")) {
                    copy_trunc(code, sizeof(code), a->val);
                } else if (s3x_name_is(ev.name, "Message")) {
                    copy_trunc(msg, sizeof(msg), a->val);
                }
            }
            acc_reset(a);
        }
    }
    free(a);
    free(key);
    if (rc == LS_OK && !root_ok) rc = ls_err_set(err, LS_ERR_FORMAT, "delete response has no DeleteResult");
    return rc;
}

/* Text of the first depth-2 child `child` of root `root`. */
static ls_code simple_child(const void *buf, size_t len, const char *root, const char *child,
                            char *out, size_t cap, bool *found, ls_err *err) {
    *found = false;
    if (cap) out[0] = '\0';
    s3x x;
    s3x_init(&x, buf, len);
    textacc *a = malloc(sizeof(*a));
    if (!a) return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
    acc_reset(a);
    bool root_ok = false;
    ls_code rc;
    for (;;) {
        s3x_event ev;
        rc = s3x_next(&x, &ev, err);
        if (rc != LS_OK || ev.kind == S3X_EOF) break;
        if (ev.kind == S3X_START) {
            if (ev.depth == 1 && !(root_ok = s3x_name_is(ev.name, root))) {
                rc = ls_err_set(err, LS_ERR_FORMAT, "expected <%s>, got <%s>", root, ev.name);
                break;
            }
            acc_reset(a);
        } else if (ev.kind == S3X_TEXT) {
            acc_add(a, &ev);
        } else if (ev.kind == S3X_END) {
            if (ev.depth == 1 && root_ok && child == NULL) {
                /* root text (LocationConstraint) */
                if ((rc = acc_check(a, &x, root, err)) != LS_OK) break;
                if (a->n >= cap) {
                    rc = ls_err_set(err, LS_ERR_FORMAT, "<%s> value too long", root);
                    break;
                }
                memcpy(out, a->val, a->n + 1);
                *found = true;
            } else if (ev.depth == 2 && child && s3x_name_is(ev.name, child) && !*found) {
                if ((rc = acc_check(a, &x, child, err)) != LS_OK) break;
                if (a->n >= cap) {
                    rc = ls_err_set(err, LS_ERR_FORMAT, "<%s> value too long", child);
                    break;
                }
                memcpy(out, a->val, a->n + 1);
                *found = true;
            }
            if (ev.depth >= 2) acc_reset(a);
        }
    }
    free(a);
    return rc;
}

ls_code s3_parse_initiate(const void *buf, size_t len, char **upload_id, ls_err *err) {
    *upload_id = NULL;
    char *id = malloc(LS_S3_XML_VALUE_MAX + 1);
    if (!id) return ls_err_set(err, LS_ERR_NOMEM, "out of memory");
    bool found;
    ls_code rc = simple_child(buf, len, "InitiateMultipartUploadResult", "UploadId", id,
                              LS_S3_XML_VALUE_MAX + 1, &found, err);
    if (rc == LS_OK && (!found || !id[0]))
        rc = ls_err_set(err, LS_ERR_FORMAT, "multipart upload response has no UploadId");
    if (rc != LS_OK) {
        free(id);
        return rc;
    }
    *upload_id = id;
    return LS_OK;
}

ls_code s3_parse_location(const void *buf, size_t len, char *region, size_t cap, ls_err *err) {
    bool found;
    ls_code rc = simple_child(buf, len, "LocationConstraint", NULL, region, cap, &found, err);
    if (rc != LS_OK) return rc;
    /* trim whitespace */
    size_t n = strlen(region), a = 0;
    while (a < n && (region[a] == ' ' || region[a] == '\n' || region[a] == '\r' || region[a] == '\t')) a++;
    while (n > a && (region[n - 1] == ' ' || region[n - 1] == '\n' || region[n - 1] == '\r' ||
                     region[n - 1] == '\t'))
        n--;
    memmove(region, region + a, n - a);
    region[n - a] = '\0';
    if (!region[0]) copy_trunc(region, cap, "us-east-1");
    else if (strcmp(region, "EU") == 0) copy_trunc(region, cap, "eu-west-1");
    return LS_OK;
}
