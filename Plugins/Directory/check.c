/*
 * check.c -- pre-checks: the path is a readable directory, and the tree under it can be archived.
 */
#include "directory_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct check_state {
    uint64_t files, directories, bytes, problems, warnings;
    char first_problem[768];
    char first_warning[768];
} check_state;

int report_check(const cairn_report *report, const char *name, cairn_check_status status,
                 const char *detail_json, const char *format, ...) {
    char message[1024];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof message, format, args);
    va_end(args);
    return report->check(report->ctx, name, status, message, detail_json);
}

static void remember(char *slot, size_t cap, uint64_t *count, const char *message) {
    if ((*count)++ == 0) snprintf(slot, cap, "%s", message);
}

static int check_notice(walker *w, walk_notice kind, cairn_status status, const char *message) {
    check_state *c = w->user;
    if (kind == NOTICE_ERROR) {
        /* Keep walking to count every problem, unless the operator cancelled. */
        if (status == CAIRN_CANCELLED) return status;
        remember(c->first_problem, sizeof c->first_problem, &c->problems, message);
    } else if (kind == NOTICE_WARNING) {
        remember(c->first_warning, sizeof c->first_warning, &c->warnings, message);
    }
    return 0;
}

static int check_visit(walker *w, const walk_item *item) {
    check_state *c = w->user;
    if (item->kind == WALK_DIRECTORY) {
        c->directories++;
        return 0;
    }
    c->files++;
    c->bytes += (uint64_t)item->st.st_size;
    int readable = item->name != NULL ? faccessat(item->dirfd, item->name, R_OK, AT_EACCESS) == 0
                                      : access(item->real, R_OK) == 0;
    if (!readable) {
        char message[768];
        snprintf(message, sizeof message, "file '%s' under '%s' is not readable: %s", item->rel,
                 w->root, strerror(errno));
        remember(c->first_problem, sizeof c->first_problem, &c->problems, message);
    }
    return 0;
}

static int report_tree(const cairn_report *report, const check_state *c) {
    char detail[256];
    snprintf(detail, sizeof detail,
             "{\"files\":%" PRIu64 ",\"directories\":%" PRIu64 ",\"bytes\":%" PRIu64
             ",\"problems\":%" PRIu64 ",\"warnings\":%" PRIu64 "}",
             c->files, c->directories, c->bytes, c->problems, c->warnings);
    const char *counts = "%" PRIu64 " files, %" PRIu64 " directories, %" PRIu64 " bytes";
    char summary[128];
    snprintf(summary, sizeof summary, counts, c->files, c->directories, c->bytes);
    if (c->problems > 0) {
        return report_check(report, "tree", CAIRN_CHECK_FAIL, detail,
                            "%s; %" PRIu64 " problem(s), the first: %s", summary, c->problems,
                            c->first_problem);
    }
    if (c->warnings > 0) {
        return report_check(report, "tree", CAIRN_CHECK_WARN, detail,
                            "%s; %" PRIu64 " item(s) will be skipped, the first: %s", summary,
                            c->warnings, c->first_warning);
    }
    return report_check(report, "tree", CAIRN_CHECK_PASS, detail, "%s", summary);
}

/* Walks the tree and reports "tree". Returns the report's stop value or CAIRN_CANCELLED. */
static int check_tree(dir_instance *inst, const cairn_report *report, int fd, const char *real) {
    check_state c;
    memset(&c, 0, sizeof c);
    walker *w = calloc(1, sizeof *w);
    if (w == NULL) {
        return report_check(report, "tree", CAIRN_CHECK_FAIL, NULL, "out of memory walking '%s'",
                            inst->path);
    }
    w->host = inst->host;
    w->root = inst->path;
    w->root_real = real;
    w->exclude = &inst->exclude;
    w->skip_symlinks = inst->skip_symlinks;
    w->visit = check_visit;
    w->notice = check_notice;
    w->user = &c;
    int rc = walk_tree(w, fd);
    free(w);
    return rc == CAIRN_CANCELLED ? rc : report_tree(report, &c);
}

static int check_path(const dir_instance *inst, const cairn_report *report, int *ok) {
    struct stat st;
    *ok = 0;
    if (stat(inst->path, &st) != 0) {
        return report_check(report, "path", CAIRN_CHECK_FAIL, NULL, "cannot use '%s': %s",
                            inst->path, strerror(errno));
    }
    if (!S_ISDIR(st.st_mode)) {
        return report_check(report, "path", CAIRN_CHECK_FAIL, NULL,
                            "'%s' is not a directory; set 'path' to the directory to back up",
                            inst->path);
    }
    *ok = 1;
    return report_check(report, "path", CAIRN_CHECK_PASS, NULL, "'%s' is a directory", inst->path);
}

cairn_status dir_check(void *instance, const cairn_report *report, const cairn_error *err) {
    dir_instance *inst = instance;
    if (inst == NULL || report == NULL || report->check == NULL) {
        return cairn_fail(err, CAIRN_INVALID, "check: no instance or report given");
    }
    int ok, fd = -1;
    char *real = NULL;
    int rc = check_path(inst, report, &ok);
    if (rc != 0) return (cairn_status)rc;
    int e = ok ? walk_open_root(inst->path, &fd, &real) : ENOTDIR;
    if (!ok) {
        rc = report_check(report, "readable", CAIRN_CHECK_FAIL, NULL, "'%s' was not checked: %s",
                          inst->path, "the path is not a directory");
    } else if (e != 0 || access(inst->path, R_OK | X_OK) != 0) {
        e = e != 0 ? e : errno;
        rc = report_check(report, "readable", CAIRN_CHECK_FAIL, NULL, "cannot read '%s': %s",
                          inst->path, strerror(e));
    } else {
        rc = report_check(report, "readable", CAIRN_CHECK_PASS, NULL, "'%s' can be read",
                          inst->path);
    }
    if (rc == 0 && fd >= 0 && e == 0) {
        rc = check_tree(inst, report, fd, real);
        if (rc == CAIRN_CANCELLED) cairn_fail(err, CAIRN_CANCELLED, "check of '%s' cancelled", inst->path);
    } else if (rc == 0) {
        rc = report_check(report, "tree", CAIRN_CHECK_FAIL, NULL,
                          "'%s' was not walked: it is not a readable directory", inst->path);
    }
    if (fd >= 0) close(fd);
    free(real);
    return (cairn_status)rc;
}
