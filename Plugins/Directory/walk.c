/*
 * walk.c -- the one tree walk shared by check, backup and the native actions (count.c).
 *
 * Every directory is read whole and sorted with strcmp, so a backup of an unchanged tree always
 * lists the same entries in the same order. Children are reached with openat/fstatat relative to
 * their parent's descriptor and never through a symlink, so a link swapped in during the walk
 * cannot lead it out of the tree. The walk is a loop over a heap stack of open directories, not a
 * recursion: depth costs heap, not the caller's stack.
 */
#include "directory_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct name_list {
    char **names;
    size_t count;
    size_t cap;
} name_list;

int walk_cancelled(const cairn_host_api *host) {
    return host != NULL && host->is_cancelled != NULL && host->is_cancelled(host->host_ctx) != 0;
}

int walk_open_root(const char *path, int *fd, char **real) {
    *fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (*fd < 0) return errno;
    *real = realpath(path, NULL);
    if (*real == NULL) {
        int e = errno;
        close(*fd);
        *fd = -1;
        return e;
    }
    return 0;
}

/* The current entry as "'rel' (/full/path)" for messages. The text lives in the walker, not on
 * the stack of whichever host thread called the plugin. */
static const char *describe(walker *w) {
    char *out = w->where;
    size_t cap = sizeof w->where;
    int n = snprintf(out, cap, "'%s' (", w->rel[0] != '\0' ? w->rel : ".");
    if (n < 0 || (size_t)n >= cap) return out;
    path_join(out + n, cap - (size_t)n - 1, w->root, w->rel);
    size_t len = strlen(out);
    snprintf(out + len, cap - len, ")");
    return out;
}

/* Hands a formatted notice to the walker's callback. Returns the status to stop with, or 0. */
__attribute__((format(printf, 4, 5))) static int notify(walker *w, walk_notice kind,
                                                         cairn_status status, const char *format,
                                                         ...) {
    char message[1536];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof message, format, args);
    va_end(args);
    int stop = w->notice != NULL ? w->notice(w, kind, status, message) : (int)status;
    return kind == NOTICE_ERROR ? stop : 0;
}

static int compare_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void names_free(name_list *list) {
    for (size_t i = 0; i < list->count; i++) free(list->names[i]);
    free(list->names);
}

static int names_push(name_list *list, const char *name) {
    if (list->count == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 32;
        char **grown = realloc(list->names, cap * sizeof *grown);
        if (grown == NULL) return ENOMEM;
        list->names = grown;
        list->cap = cap;
    }
    list->names[list->count] = strdup(name);
    if (list->names[list->count] == NULL) return ENOMEM;
    list->count++;
    return 0;
}

/* Reads and sorts the names in `dirfd`. Returns 0 or an errno value. */
static int names_read(int dirfd, name_list *out) {
    /* A fresh open file description: the caller's descriptor keeps its own offset. */
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return errno;
    DIR *dir = fdopendir(fd);
    if (dir == NULL) {
        int e = errno;
        close(fd);
        return e;
    }
    int e = 0;
    for (;;) {
        errno = 0;
        struct dirent *entry = readdir(dir);
        if (entry == NULL) {
            e = errno;
            break;
        }
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
        if ((e = names_push(out, entry->d_name)) != 0) break;
    }
    closedir(dir);
    if (e == 0) qsort(out->names, out->count, sizeof *out->names, compare_names);
    return e;
}

static int inside_tree(const char *root_real, const char *path) {
    size_t n = strlen(root_real);
    if (n == 1 && root_real[0] == '/') return 1;
    return strncmp(path, root_real, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

static const char *kind_name(mode_t mode) {
    if (S_ISSOCK(mode)) return "sockets";
    if (S_ISFIFO(mode)) return "FIFOs";
    if (S_ISCHR(mode) || S_ISBLK(mode)) return "devices";
    return "special files";
}

/* Applies the `symlinks` setting to a link that cannot be archived; `format` says what is wrong
 * with it. */
__attribute__((format(printf, 2, 3))) static int refuse_or_skip(walker *w, const char *format,
                                                                 ...) {
    char what[1024];
    va_list args;
    va_start(args, format);
    vsnprintf(what, sizeof what, format, args);
    va_end(args);
    if (w->skip_symlinks) {
        return notify(w, NOTICE_WARNING, CAIRN_OK, "%s; skipped (symlinks: skip)", what);
    }
    return notify(w, NOTICE_ERROR, CAIRN_INVALID, "%s; remove it or set symlinks: skip", what);
}

static int walk_link_target(walker *w, int dirfd, const char *resolved) {
    struct stat st;
    if (stat(resolved, &st) != 0) {
        int e = errno;
        return notify(w, NOTICE_ERROR, status_for_errno(e), "cannot stat %s, target of symlink %s: %s",
                      resolved, describe(w), strerror(e));
    }
    if (S_ISDIR(st.st_mode)) {
        return notify(w, NOTICE_INFO, CAIRN_OK,
                      "skipping symlink '%s' to directory '%s' inside the tree (that directory is "
                      "backed up itself)", w->rel, resolved);
    }
    if (!S_ISREG(st.st_mode)) {
        return notify(w, NOTICE_WARNING, CAIRN_OK, "skipping symlink '%s': it points to %s (%s)",
                      w->rel, resolved, kind_name(st.st_mode));
    }
    walk_item item = {WALK_FILE, w->rel, dirfd, NULL, resolved, st};
    return w->visit != NULL ? w->visit(w, &item) : 0;
}

static int walk_link(walker *w, int dirfd, const char *name) {
    char link_path[DIR_PATH_MAX * 2], target[DIR_PATH_MAX];
    ssize_t n = readlinkat(dirfd, name, target, sizeof target - 1);
    if (n <= 0) {
        target[0] = '?';
        n = 1;
    }
    target[n] = '\0';
    path_join(link_path, sizeof link_path, w->root_real, w->rel);
    char *resolved = realpath(link_path, NULL);
    if (resolved == NULL) {
        int e = errno;
        if (e != ENOENT && e != ELOOP && e != ENOTDIR) {
            return notify(w, NOTICE_ERROR, status_for_errno(e), "cannot resolve symlink '%s' (%s -> %s): %s",
                          w->rel, link_path, target, strerror(e));
        }
        return refuse_or_skip(w, "symlink '%s' does not resolve (-> %s: %s)", w->rel, target,
                              strerror(e));
    }
    int rc;
    if (inside_tree(w->root_real, resolved)) {
        rc = walk_link_target(w, dirfd, resolved);
    } else if (strcmp(target, resolved) == 0) {
        rc = refuse_or_skip(w, "symlink '%s' points outside the backed-up tree (-> %s)", w->rel,
                            target);
    } else {
        rc = refuse_or_skip(w, "symlink '%s' points outside the backed-up tree (-> %s, that is %s)",
                            w->rel, target, resolved);
    }
    free(resolved);
    return rc;
}

/* Reports the directory, then opens it for the walk to descend into (`*child`). */
static int walk_subdir(walker *w, int dirfd, const char *name, const struct stat *st, int *child) {
    walk_item item = {WALK_DIRECTORY, w->rel, dirfd, name, NULL, *st};
    int rc = w->visit != NULL ? w->visit(w, &item) : 0;
    if (rc != 0) return rc;
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct stat now;
    if (fd >= 0 && (fstat(fd, &now) != 0 || now.st_dev != st->st_dev || now.st_ino != st->st_ino)) {
        close(fd);
        fd = -1;
        errno = ESTALE;
    }
    if (fd < 0) {
        int e = errno;
        int changed = e == ENOENT || e == ELOOP || e == ENOTDIR || e == ESTALE;
        return notify(w, NOTICE_ERROR, changed ? CAIRN_CHANGED : status_for_errno(e),
                      "cannot open directory %s: %s%s", describe(w),
                      changed ? "it changed while the tree was being read" : strerror(e),
                      changed ? "; re-run the backup when it is quiet" : "");
    }
    *child = fd;
    return 0;
}

/* Decides what the entry `name` (already appended to w->rel) is and hands it on. */
static int walk_classify(walker *w, int dirfd, const char *name, int *child) {
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        int e = errno;
        if (e == ENOENT) {
            return notify(w, NOTICE_ERROR, CAIRN_CHANGED,
                          "%s disappeared while the tree was being read; re-run the backup when "
                          "it is quiet", describe(w));
        }
        return notify(w, NOTICE_ERROR, status_for_errno(e), "cannot stat %s: %s",
                      describe(w), strerror(e));
    }
    if (exclude_matches(w->exclude, w->rel)) return 0;
    if (w->root_real != NULL && !utf8_valid(w->rel)) {
        return notify(w, NOTICE_ERROR, CAIRN_INVALID,
                      "the name %s is not valid UTF-8 and archives hold UTF-8 paths; rename it "
                      "or exclude it", describe(w));
    }
    if (S_ISDIR(st.st_mode)) return walk_subdir(w, dirfd, name, &st, child);
    if (S_ISREG(st.st_mode)) {
        walk_item item = {WALK_FILE, w->rel, dirfd, name, NULL, st};
        return w->visit != NULL ? w->visit(w, &item) : 0;
    }
    if (S_ISLNK(st.st_mode)) return w->root_real != NULL ? walk_link(w, dirfd, name) : 0;
    return notify(w, NOTICE_WARNING, CAIRN_OK, "skipping %s: %s are not backed up",
                  describe(w), kind_name(st.st_mode));
}

/* Appends `name` to w->rel and handles it; `*child` receives a directory to descend into. */
static int walk_entry(walker *w, int dirfd, const char *name, size_t rel_len, int *child) {
    if (walk_cancelled(w->host)) {
        notify(w, NOTICE_ERROR, CAIRN_CANCELLED, "cancelled while reading '%s'", w->root);
        return CAIRN_CANCELLED;
    }
    size_t name_len = strlen(name), len = rel_len + (rel_len > 0) + name_len;
    if (len >= sizeof w->rel) {
        return notify(w, NOTICE_ERROR, CAIRN_INVALID,
                      "path '%s/%s' under '%s' is longer than %d bytes", w->rel, name, w->root,
                      DIR_PATH_MAX - 1);
    }
    if (rel_len > 0) w->rel[rel_len] = '/';
    memcpy(w->rel + rel_len + (rel_len > 0), name, name_len + 1);
    return walk_classify(w, dirfd, name, child);
}

/* ---- the walk itself ----------------------------------------------------------------------- */

/* One open directory on the way down. The walk keeps these on the heap rather than recursing, so
 * a deep tree cannot overflow the (possibly small) stack of the host thread that called us. */
typedef struct walk_frame {
    int fd;
    int owned;      /* closed when the frame is popped (not the caller's root descriptor) */
    name_list names;
    size_t next;    /* index of the next name to visit */
    size_t rel_len; /* length of w->rel for this directory */
} walk_frame;

typedef struct frame_stack {
    walk_frame *frames;
    size_t count, cap;
} frame_stack;

static void frame_pop(frame_stack *stack) {
    walk_frame *top = &stack->frames[--stack->count];
    if (top->owned) close(top->fd);
    names_free(&top->names);
}

/* Reads the directory `fd` (w->rel names it) and pushes it; takes ownership of `fd` if `owned`. */
static int frame_push(walker *w, frame_stack *stack, int fd, int owned) {
    if (stack->count == stack->cap) {
        size_t cap = stack->cap ? stack->cap * 2 : 16;
        walk_frame *grown = realloc(stack->frames, cap * sizeof *grown);
        if (grown == NULL) {
            if (owned) close(fd);
            return notify(w, NOTICE_ERROR, CAIRN_ERROR, "out of memory walking %s", describe(w));
        }
        stack->frames = grown;
        stack->cap = cap;
    }
    walk_frame frame = {fd, owned, {NULL, 0, 0}, 0, strlen(w->rel)};
    int e = names_read(fd, &frame.names);
    if (e != 0) {
        names_free(&frame.names);
        if (owned) close(fd);
        return notify(w, NOTICE_ERROR, status_for_errno(e), "cannot list directory %s: %s",
                      describe(w), strerror(e));
    }
    stack->frames[stack->count++] = frame;
    return 0;
}

int walk_tree(walker *w, int rootfd) {
    frame_stack stack = {NULL, 0, 0};
    w->rel[0] = '\0';
    int rc = frame_push(w, &stack, rootfd, 0);
    while (rc == 0 && stack.count > 0) {
        walk_frame *top = &stack.frames[stack.count - 1];
        if (top->next == top->names.count) {
            frame_pop(&stack);
            continue;
        }
        int child = -1;
        size_t rel_len = top->rel_len, depth = stack.count;
        rc = walk_entry(w, top->fd, top->names.names[top->next++], rel_len, &child);
        if (rc == 0 && child >= 0) rc = frame_push(w, &stack, child, 1);
        /* w->rel keeps the name of a directory just entered; its children extend it. */
        if (stack.count == depth) w->rel[rel_len] = '\0';
    }
    while (stack.count > 0) frame_pop(&stack);
    free(stack.frames);
    return rc;
}
