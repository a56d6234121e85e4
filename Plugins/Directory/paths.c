/*
 * paths.c -- joining paths and judging archive entry paths.
 */
#include "directory_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int path_join(char *out, size_t cap, const char *dir, const char *rel) {
    size_t dir_len = strlen(dir);
    const char *sep = (dir_len > 0 && dir[dir_len - 1] == '/') || rel[0] == '\0' ? "" : "/";
    int n = snprintf(out, cap, "%s%s%s", dir, sep, rel);
    return n >= 0 && (size_t)n < cap;
}

const char *path_problem(const char *rel) {
    if (rel == NULL || rel[0] == '\0') return "is empty";
    if (rel[0] == '/') return "is absolute";
    if (strlen(rel) >= DIR_PATH_MAX) return "is too long";
    const char *part = rel;
    for (;;) {
        const char *slash = strchr(part, '/');
        size_t len = slash != NULL ? (size_t)(slash - part) : strlen(part);
        if (len == 0) return "has an empty component";
        if (len == 1 && part[0] == '.') return "has a '.' component";
        if (len == 2 && part[0] == '.' && part[1] == '.') return "has a '..' component";
        if (slash == NULL) return NULL;
        part = slash + 1;
    }
}

cairn_status status_for_errno(int error) {
    switch (error) {
    case EACCES:
    case EPERM:
        return CAIRN_DENIED;
    case ENOENT:
    case ENOTDIR:
        return CAIRN_NOT_FOUND;
    default:
        return CAIRN_IO;
    }
}
