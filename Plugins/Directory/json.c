/*
 * json.c -- the little JSON the plugin needs: the `exclude` setting (an array of strings), quoting
 * strings for facts and check details, and finding "source"."files" in backup_metadata.json.
 * Deliberately not a general parser: each function accepts exactly what it needs and rejects the
 * rest with a reason.
 */
#include "directory_internal.h"

#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- UTF-8 --------------------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at `s` (1-4), or 0 if the bytes are not valid UTF-8
 * (overlong forms, surrogates and code points above U+10FFFF are invalid). */
static size_t utf8_sequence(const unsigned char *s) {
    unsigned char c = s[0];
    if (c < 0x80) return 1;
    unsigned char lo = 0x80, hi = 0xBF;
    size_t len;
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c >= 0xE0 && c <= 0xEF) len = 3;
    else if (c >= 0xF0 && c <= 0xF4) len = 4;
    else return 0;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
    if (s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < len; i++) {
        if (s[i] < 0x80 || s[i] > 0xBF) return 0;
    }
    return len;
}

int utf8_valid(const char *text) {
    const unsigned char *s = (const unsigned char *)text;
    while (*s) {
        size_t n = utf8_sequence(s);
        if (n == 0) return 0;
        s += n;
    }
    return 1;
}

static size_t utf8_encode(unsigned long cp, char *out) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* ---- quoting ------------------------------------------------------------------------------- */

char *json_quote(const char *text) {
    size_t len = strlen(text);
    /* Worst case: every byte becomes a six-character \u escape. */
    char *out = malloc(len * 6 + 3);
    if (out == NULL) return NULL;
    char *o = out;
    *o++ = '"';
    const unsigned char *s = (const unsigned char *)text;
    while (*s) {
        size_t n = utf8_sequence(s);
        if (n == 0) { /* JSON text must be UTF-8; keep the rest of the name readable */
            memcpy(o, "\\ufffd", 6);
            o += 6;
            s++;
        } else if (*s == '"' || *s == '\\') {
            *o++ = '\\';
            *o++ = (char)*s++;
        } else if (*s < 0x20) {
            o += sprintf(o, "\\u%04x", *s++);
        } else {
            memcpy(o, s, n);
            o += n;
            s += n;
        }
    }
    *o++ = '"';
    *o = '\0';
    return out;
}

/* ---- the `exclude` array ------------------------------------------------------------------- */

typedef struct cursor {
    const char *text;
    size_t pos;
    char *why;
    size_t why_cap;
} cursor;

static int cursor_fail(cursor *c, const char *what) {
    snprintf(c->why, c->why_cap, "%s at offset %zu", what, c->pos);
    return 0;
}

static void skip_space(cursor *c) {
    while (strchr(" \t\r\n", c->text[c->pos]) != NULL && c->text[c->pos] != '\0') c->pos++;
}

static int parse_hex4(cursor *c, unsigned long *out) {
    unsigned long v = 0;
    for (int i = 0; i < 4; i++) {
        char h = c->text[c->pos];
        int d = (h >= '0' && h <= '9')   ? h - '0'
                : (h >= 'a' && h <= 'f') ? h - 'a' + 10
                : (h >= 'A' && h <= 'F') ? h - 'A' + 10
                                         : -1;
        if (d < 0) return cursor_fail(c, "bad \\u escape");
        v = v * 16 + (unsigned long)d;
        c->pos++;
    }
    *out = v;
    return 1;
}

/* Decodes \uXXXX (after the 'u'), joining surrogate pairs. */
static int parse_unicode(cursor *c, char *out, size_t *len) {
    unsigned long cp, low;
    if (!parse_hex4(c, &cp)) return 0;
    if (cp >= 0xDC00 && cp <= 0xDFFF) return cursor_fail(c, "lone low surrogate in \\u escape");
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (c->text[c->pos] != '\\' || c->text[c->pos + 1] != 'u') {
            return cursor_fail(c, "high surrogate without its low half");
        }
        c->pos += 2;
        if (!parse_hex4(c, &low)) return 0;
        if (low < 0xDC00 || low > 0xDFFF) return cursor_fail(c, "invalid surrogate pair");
        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
    }
    if (cp == 0) return cursor_fail(c, "\\u0000 is not allowed in a pattern");
    *len = utf8_encode(cp, out);
    return 1;
}

static int parse_escape(cursor *c, char *out, size_t *len) {
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    char e = c->text[c->pos];
    const char *hit = e != '\0' ? strchr(from, e) : NULL;
    c->pos++;
    if (hit != NULL) {
        *out = to[hit - from];
        *len = 1;
        return 1;
    }
    if (e == 'u') return parse_unicode(c, out, len);
    c->pos--;
    return cursor_fail(c, "unknown escape in string");
}

/* Parses a string at the cursor into a malloc'd, NUL-terminated buffer. */
static int parse_string(cursor *c, char **out) {
    if (c->text[c->pos] != '"') return cursor_fail(c, "expected a string in double quotes");
    c->pos++;
    /* Decoding never makes a string longer than its JSON form. */
    char *buf = malloc(strlen(c->text + c->pos) + 1);
    if (buf == NULL) return cursor_fail(c, "out of memory");
    size_t n = 0;
    for (;;) {
        unsigned char ch = (unsigned char)c->text[c->pos];
        size_t len = 1;
        if (ch == '"') break;
        if (ch == '\0') { free(buf); return cursor_fail(c, "unterminated string"); }
        if (ch < 0x20) { free(buf); return cursor_fail(c, "control character in string"); }
        if (ch == '\\') {
            c->pos++;
            if (!parse_escape(c, buf + n, &len)) { free(buf); return 0; }
        } else {
            buf[n] = (char)ch;
            c->pos++;
        }
        n += len;
    }
    c->pos++;
    buf[n] = '\0';
    if (!utf8_valid(buf)) { free(buf); return cursor_fail(c, "string is not valid UTF-8"); }
    *out = buf;
    return 1;
}

static int list_push(exclude_list *list, char *pattern) {
    char **grown = realloc(list->patterns, (list->count + 1) * sizeof *grown);
    if (grown == NULL) return 0;
    grown[list->count++] = pattern;
    list->patterns = grown;
    return 1;
}

static int parse_items(cursor *c, exclude_list *list) {
    for (;;) {
        char *item = NULL;
        skip_space(c);
        size_t start = c->pos;
        if (!parse_string(c, &item)) return 0;
        if (item[0] == '\0') {
            free(item);
            c->pos = start;
            return cursor_fail(c, "empty pattern");
        }
        if (!list_push(list, item)) {
            free(item);
            return cursor_fail(c, "out of memory");
        }
        skip_space(c);
        if (c->text[c->pos] == ']') return 1;
        if (c->text[c->pos] != ',') return cursor_fail(c, "expected ',' or ']'");
        c->pos++;
    }
}

int json_parse_string_array(const char *text, exclude_list *out, char *why, size_t why_cap) {
    cursor c = {text, 0, why, why_cap};
    exclude_list list = {NULL, 0};
    skip_space(&c);
    if (text[c.pos] != '[') return cursor_fail(&c, "expected '['");
    c.pos++;
    skip_space(&c);
    int ok = text[c.pos] == ']' ? 1 : parse_items(&c, &list);
    if (ok) {
        c.pos++;
        skip_space(&c);
        if (text[c.pos] != '\0') ok = cursor_fail(&c, "unexpected text after the list");
    }
    if (!ok) {
        exclude_list_free(&list);
        return 0;
    }
    *out = list;
    return 1;
}

void exclude_list_free(exclude_list *list) {
    for (size_t i = 0; i < list->count; i++) free(list->patterns[i]);
    free(list->patterns);
    list->patterns = NULL;
    list->count = 0;
}

int exclude_matches(const exclude_list *list, const char *rel) {
    if (list == NULL) return 0;
    const char *slash = strrchr(rel, '/');
    const char *base = slash != NULL ? slash + 1 : rel;
    for (size_t i = 0; i < list->count; i++) {
        const char *pattern = list->patterns[i];
        /* No FNM_PATHNAME: like tar's --exclude, '*' also matches '/', so "cache/<star>" drops
         * the whole subtree and "<star>.tmp" matches at any depth. */
        if (fnmatch(pattern, rel, 0) == 0) return 1;
        if (strchr(pattern, '/') == NULL && fnmatch(pattern, base, 0) == 0) return 1;
    }
    return 0;
}

/* ---- scanning backup_metadata.json --------------------------------------------------------- */

/* A scanner that skips JSON values without building them; every function returns the position
 * after what it consumed, or NULL when the text is not well-formed. */

#define SCAN_MAX_DEPTH 64

static const char *scan_space(const char *p) {
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') p++;
    return p;
}

static const char *scan_string(const char *p) {
    if (*p != '"') return NULL;
    for (p++; *p != '"'; p++) {
        if (*p == '\0' || (unsigned char)*p < 0x20) return NULL;
        if (*p == '\\' && *++p == '\0') return NULL;
    }
    return p + 1;
}

static const char *scan_value(const char *p, int depth);

static const char *scan_container(const char *p, int depth) {
    char close = *p == '{' ? '}' : ']';
    int object = *p == '{';
    p = scan_space(p + 1);
    if (*p == close) return p + 1;
    for (;;) {
        if (object) {
            p = scan_string(p);
            if (p == NULL) return NULL;
            p = scan_space(p);
            if (*p++ != ':') return NULL;
        }
        p = scan_value(scan_space(p), depth + 1);
        if (p == NULL) return NULL;
        p = scan_space(p);
        if (*p == close) return p + 1;
        if (*p++ != ',') return NULL;
        p = scan_space(p);
    }
}

static const char *scan_value(const char *p, int depth) {
    if (depth > SCAN_MAX_DEPTH) return NULL;
    if (*p == '"') return scan_string(p);
    if (*p == '{' || *p == '[') return scan_container(p, depth);
    if (strncmp(p, "true", 4) == 0) return p + 4;
    if (strncmp(p, "false", 5) == 0) return p + 5;
    if (strncmp(p, "null", 4) == 0) return p + 4;
    const char *start = p;
    while (*p != '\0' && strchr("+-0123456789.eE", *p) != NULL) p++;
    return p == start ? NULL : p;
}

/* Finds member `key` of the object at `p`: 1 with `*value` set, 0 if absent, -1 if malformed.
 * Keys are compared as raw bytes, which is exact for the plain ASCII keys looked up here. */
static int scan_member(const char *p, const char *key, const char **value) {
    size_t key_len = strlen(key);
    if (*p != '{') return -1;
    p = scan_space(p + 1);
    if (*p == '}') return 0;
    for (;;) {
        const char *name = p + 1, *end = scan_string(p);
        if (end == NULL) return -1;
        int match = (size_t)(end - 1 - name) == key_len && memcmp(name, key, key_len) == 0;
        p = scan_space(end);
        if (*p++ != ':') return -1;
        p = scan_space(p);
        if (match) {
            *value = p;
            return 1;
        }
        p = scan_value(p, 1);
        if (p == NULL) return -1;
        p = scan_space(p);
        if (*p == '}') return 0;
        if (*p++ != ',') return -1;
        p = scan_space(p);
    }
}

int json_find_source_files(const char *json, int64_t *value) {
    const char *source = NULL, *files = NULL;
    if (json == NULL) return 0;
    int found = scan_member(scan_space(json), "source", &source);
    if (found != 1) return found;
    if (*source != '{') return -1;
    found = scan_member(source, "files", &files);
    if (found != 1) return found;
    int64_t n = 0;
    const char *p = files;
    if (*p < '0' || *p > '9') return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (n > (INT64_MAX - (*p - '0')) / 10) return -1;
        n = n * 10 + (*p - '0');
    }
    if (*p == '.' || *p == 'e' || *p == 'E') return -1;
    *value = n;
    return 1;
}
