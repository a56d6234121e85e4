/*
 * count.c -- the native actions "count_files" and "describe", called by the host through libffi.
 */
#include "directory_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct tally {
    const char *action; /* for log messages */
    int64_t files;
    int64_t bytes;
} tally;

static int tally_visit(walker *w, const walk_item *item) {
    tally *t = w->user;
    if (item->kind == WALK_FILE) {
        t->files++;
        t->bytes += (int64_t)item->st.st_size;
    }
    return 0;
}

static int tally_notice(walker *w, walk_notice kind, cairn_status status, const char *message) {
    if (kind != NOTICE_ERROR) return 0; /* sockets and FIFOs are simply not regular files */
    cairn_logf(w->host, CAIRN_LOG_ERROR, "%s: %s", ((tally *)w->user)->action, message);
    return status;
}

/* Walks `path` and fills `t`. Returns 0, or -1 after logging why. */
static int tally_tree(const cairn_host_api *host, const char *path, tally *t) {
    if (path == NULL || path[0] == '\0') {
        cairn_logf(host, CAIRN_LOG_ERROR, "%s: the 'path' argument is empty", t->action);
        return -1;
    }
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        cairn_logf(host, CAIRN_LOG_ERROR, "%s: cannot open directory '%s': %s", t->action, path,
                   strerror(errno));
        return -1;
    }
    walker *w = calloc(1, sizeof *w);
    int rc = -1;
    if (w == NULL) {
        cairn_logf(host, CAIRN_LOG_ERROR, "%s: out of memory reading '%s'", t->action, path);
    } else {
        /* No root_real: symlinks are neither followed nor counted. */
        w->host = host;
        w->root = path;
        w->visit = tally_visit;
        w->notice = tally_notice;
        w->user = t;
        rc = walk_tree(w, fd);
    }
    free(w);
    close(fd);
    return rc == 0 ? 0 : -1;
}

int64_t cairn_directory_count_files(const cairn_host_api *host, const char *path) {
    tally t = {"count_files", 0, 0};
    return tally_tree(host, path, &t) == 0 ? t.files : -1;
}

char *cairn_directory_describe(const cairn_host_api *host, const char *path) {
    /* The result must come from host->alloc because the host frees it; without a host there is
     * nobody to own it. */
    if (host == NULL || host->alloc == NULL) return NULL;
    tally t = {"describe", 0, 0};
    if (tally_tree(host, path, &t) != 0) return NULL;
    char text[96];
    int n = snprintf(text, sizeof text, "%" PRId64 " file%s, %" PRId64 " byte%s", t.files,
                     t.files == 1 ? "" : "s", t.bytes, t.bytes == 1 ? "" : "s");
    if (n < 0 || (size_t)n >= sizeof text) return NULL;
    char *result = host->alloc(host->host_ctx, (size_t)n + 1);
    if (result == NULL) {
        cairn_logf(host, CAIRN_LOG_ERROR, "describe: out of memory");
        return NULL;
    }
    memcpy(result, text, (size_t)n + 1);
    return result;
}
