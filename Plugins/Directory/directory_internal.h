/*
 * directory_internal.h -- shared declarations of the `directory` plugin's source files.
 * Include it first in every .c file: it selects the POSIX feature set before any system header.
 */
#ifndef CAIRN_DIRECTORY_INTERNAL_H
#define CAIRN_DIRECTORY_INTERNAL_H

/* POSIX.1-2008 with XSI (realpath) gives openat/fstatat/mkdirat/futimens without GNU
 * extensions, so the code stays portable C11. */
#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700
#endif

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "cairn_directory.h"
#include "cairn_plugin.h"

/* Only the entry point and the native actions are exported; everything declared here stays
 * inside the library. */
#pragma GCC visibility push(hidden)

/** Longest relative path the plugin handles (Linux PATH_MAX). */
#define DIR_PATH_MAX 4096

/** Read buffer for file data: large enough for throughput, small enough to poll cancellation. */
#define DIR_CHUNK_SIZE ((size_t)256 * 1024)

/* ---- settings (directory.c) ---------------------------------------------------------------- */

typedef struct exclude_list {
    char **patterns;
    size_t count;
} exclude_list;

typedef struct dir_instance {
    const cairn_host_api *host;
    char *path;          /* the `path` setting, as configured */
    exclude_list exclude;
    int skip_symlinks;   /* symlinks: skip (1) or refuse (0) */
    int keep_special_modes; /* restore setuid/setgid/sticky bits (1) or drop them (0) */
} dir_instance;

/* ---- text helpers and the exclude list (json.c) -------------------------------------------------------- */

/** Copies `count` patterns (from host->config_list) into `out`. On failure returns 0 and writes a
 *  reason into `why`: an empty pattern matches nothing and is refused. */
int exclude_list_copy(exclude_list *out, const char *const *items, size_t count, char *why,
                      size_t why_cap);
void exclude_list_free(exclude_list *list);
/** True when `rel` matches a pattern: the whole relative path, or the base name for patterns
 *  without a '/'. */
int exclude_matches(const exclude_list *list, const char *rel);

/** `text` as a quoted JSON string in a malloc'd buffer (invalid UTF-8 becomes U+FFFD), or NULL. */
char *json_quote(const char *text);
/** True when `text` is valid UTF-8. */
int utf8_valid(const char *text);

/* ---- paths (paths.c) ----------------------------------------------------------------------- */

/** Joins `dir` and `rel` into `out`; 0 when it does not fit. */
int path_join(char *out, size_t cap, const char *dir, const char *rel);
/** NULL when `rel` is a safe relative archive path, else why it is not. */
const char *path_problem(const char *rel);
/** The status that fits a failed system call: DENIED, NOT_FOUND or IO. */
cairn_status status_for_errno(int error);

/* ---- tree walk (walk.c) -------------------------------------------------------------------- */

typedef enum walk_kind { WALK_DIRECTORY, WALK_FILE } walk_kind;

typedef struct walk_item {
    walk_kind kind;
    const char *rel;  /* path relative to the root */
    int dirfd;        /* the parent directory */
    const char *name; /* name inside `dirfd`, or NULL for a symlink copy (open `real` instead) */
    const char *real; /* resolved path of a symlinked file inside the tree, else NULL */
    struct stat st;   /* lstat of the entry, or stat of the link's target */
} walk_item;

typedef enum walk_notice { NOTICE_INFO, NOTICE_WARNING, NOTICE_ERROR } walk_notice;

typedef struct walker walker;
struct walker {
    const cairn_host_api *host;   /* may be NULL */
    const char *root;             /* as configured, for messages */
    /** realpath of root, for archiving rules: symlinks are judged against it and names must be
     *  UTF-8. NULL for a plain count: symlinks are ignored and names are not checked. */
    const char *root_real;
    const exclude_list *exclude;  /* may be NULL */
    int skip_symlinks;
    /** Called per directory (before its children) and per file. Returns 0 or a status to stop. */
    int (*visit)(walker *w, const walk_item *item);
    /** Something the walk could not archive. For NOTICE_ERROR return `status` to stop or 0 to go
     *  on; the return value of other notices is ignored. */
    int (*notice)(walker *w, walk_notice kind, cairn_status status, const char *message);
    void *user;
    char rel[DIR_PATH_MAX];
    char where[DIR_PATH_MAX * 3]; /* scratch for messages */
};

/** Walks the tree under the open directory `rootfd` in strcmp order, depth first. Returns 0 or the
 *  status that stopped it. */
int walk_tree(walker *w, int rootfd);
/** Opens `path` as a directory and resolves it; fills `*fd` and `*real` (malloc'd) or returns
 *  errno. */
int walk_open_root(const char *path, int *fd, char **real);
/** Polls the host's cancellation flag (0 without a host). */
int walk_cancelled(const cairn_host_api *host);

/* ---- reports (check.c) --------------------------------------------------------------------- */

/** Sends one printf-formatted check result; returns the report callback's value. */
__attribute__((format(printf, 5, 6))) int report_check(const cairn_report *report, const char *name,
                                                       cairn_check_status status,
                                                       const char *detail_json,
                                                       const char *format, ...);

/* ---- operations ---------------------------------------------------------------------------- */

cairn_status dir_check(void *instance, const cairn_report *report, const cairn_error *err);
cairn_status dir_backup(void *instance, const cairn_backup_request *request,
                        const cairn_entry_sink *sink, const cairn_error *err);
cairn_status dir_verify(void *instance, const cairn_entry_source *source,
                        const cairn_report *report, const cairn_error *err);
cairn_status dir_restore(void *instance, const cairn_restore_request *request,
                         const cairn_entry_source *source, const cairn_report *report,
                         const cairn_error *err);

#pragma GCC visibility pop

#endif /* CAIRN_DIRECTORY_INTERNAL_H */
