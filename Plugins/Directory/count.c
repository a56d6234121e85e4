/*
 * count.c -- the native action "count_files", called by the host through libffi.
 */
#include "directory_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int count_visit(walker *w, const walk_item *item) {
    if (item->kind == WALK_FILE) (*(int64_t *)w->user)++;
    return 0;
}

static int count_notice(walker *w, walk_notice kind, cairn_status status, const char *message) {
    if (kind != NOTICE_ERROR) return 0; /* sockets and FIFOs are simply not regular files */
    cairn_logf(w->host, CAIRN_LOG_ERROR, "count_files: %s", message);
    return status;
}

int64_t cairn_directory_count_files(const cairn_host_api *host, const char *path) {
    if (path == NULL || path[0] == '\0') {
        cairn_logf(host, CAIRN_LOG_ERROR, "count_files: the 'path' argument is empty");
        return -1;
    }
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        cairn_logf(host, CAIRN_LOG_ERROR, "count_files: cannot open directory '%s': %s", path,
                   strerror(errno));
        return -1;
    }
    walker *w = calloc(1, sizeof *w);
    int64_t count = 0;
    int rc = -1;
    if (w == NULL) {
        cairn_logf(host, CAIRN_LOG_ERROR, "count_files: out of memory counting '%s'", path);
    } else {
        /* No root_real: symlinks are neither followed nor counted. */
        w->host = host;
        w->root = path;
        w->visit = count_visit;
        w->notice = count_notice;
        w->user = &count;
        rc = walk_tree(w, fd);
    }
    free(w);
    close(fd);
    return rc == 0 ? count : -1;
}
