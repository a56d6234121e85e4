/*
 * json.c -- the little JSON the plugin writes: quoting strings for facts and check details, and
 * UTF-8 checks. It reads none: the host hands settings and the backup's own facts over typed
 * (config_list, config_bool, fact_int; ABI 1.1), and the `exclude` patterns are kept here.
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

/* ---- the `exclude` list ---------------------------------------------------------------------- */

int exclude_list_copy(exclude_list *out, const char *const *items, size_t count, char *why,
                      size_t why_cap) {
    exclude_list list = {NULL, 0};
    if (count > 0) {
        list.patterns = calloc(count, sizeof *list.patterns);
        if (list.patterns == NULL) {
            snprintf(why, why_cap, "out of memory");
            return 0;
        }
    }
    for (size_t i = 0; i < count; i++) {
        if (items[i] == NULL || items[i][0] == '\0') {
            snprintf(why, why_cap, "pattern %zu is empty", i + 1);
            exclude_list_free(&list);
            return 0;
        }
        if ((list.patterns[list.count] = strdup(items[i])) == NULL) {
            snprintf(why, why_cap, "out of memory");
            exclude_list_free(&list);
            return 0;
        }
        list.count++;
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
