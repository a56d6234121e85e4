/*
 * restore.c -- writes a stored backup into an empty or new directory.
 *
 * Every path is resolved component by component with openat(O_NOFOLLOW) from the target's
 * descriptor, and files are created with O_EXCL|O_NOFOLLOW, so an entry can never write through a
 * symlink or outside the target. Directories stay 0700 while they are filled; their real mode and
 * mtime are applied at the end, deepest first (writing a child would otherwise bump the parent's
 * mtime, and a read-only mode would block the children).
 *
 * Setuid and setgid bits (and the sticky bit of files) are dropped unless the operator sets
 * keep_special_modes. A restore that fails part-way removes everything it wrote: the target was
 * empty or new when it began, so all that is in it is the restore's own, half-done work.
 */
#include "directory_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct dir_fixup {
    char *rel;
    uint32_t mode;
    int64_t mtime;  /* -1: leave the time alone */
    int implicit;   /* created because an entry needed it, not from a directory entry */
} dir_fixup;

typedef struct restore_state {
    const dir_instance *inst;
    const cairn_entry_source *source;
    const cairn_error *err;
    const char *target;
    int target_fd;
    dir_fixup *fixups;
    size_t fixup_count, fixup_cap, implicit_count;
    uint8_t *buffer;
    uint64_t files, directories, bytes;
    int created_target;       /* the target did not exist: remove it too on failure */
    uint64_t special_dropped; /* entries whose setuid/setgid/sticky bits were dropped */
    char first_special[256];
} restore_state;

/* ---- the target directory ------------------------------------------------------------------ */

static int mkdir_parents(char *path) {
    for (char *p = path + 1; *p != '\0'; p++) {
        if (*p != '/') continue;
        *p = '\0';
        int failed = mkdir(path, 0777) != 0 && errno != EEXIST;
        *p = '/';
        if (failed) return errno;
    }
    return mkdir(path, 0777) != 0 && errno != EEXIST ? errno : 0;
}

static int dir_is_empty(int fd, int *empty) {
    int copy = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *dir = copy >= 0 ? fdopendir(copy) : NULL;
    if (dir == NULL) {
        int e = errno;
        if (copy >= 0) close(copy);
        return e;
    }
    struct dirent *entry;
    *empty = 1;
    errno = 0;
    while ((entry = readdir(dir)) != NULL) {
        if (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0) *empty = 0;
    }
    int e = errno;
    closedir(dir);
    return e;
}

static cairn_status create_target(restore_state *r) {
    struct stat st;
    int found = stat(r->target, &st) == 0;
    r->created_target = !found && errno == ENOENT;
    if (found && !S_ISDIR(st.st_mode)) {
        return cairn_fail(r->err, CAIRN_INVALID,
                          "restore target '%s' exists and is not a directory; choose an empty or "
                          "new directory", r->target);
    }
    char *copy = strdup(r->target);
    int e = copy != NULL ? mkdir_parents(copy) : ENOMEM;
    free(copy);
    if (e != 0) {
        return cairn_fail(r->err, status_for_errno(e), "cannot create restore target '%s': %s",
                          r->target, strerror(e));
    }
    return CAIRN_OK;
}

static cairn_status open_target(restore_state *r) {
    cairn_status status = create_target(r);
    if (status != CAIRN_OK) return status;
    r->target_fd = open(r->target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int empty = 0, e = r->target_fd >= 0 ? dir_is_empty(r->target_fd, &empty) : errno;
    if (e != 0) {
        return cairn_fail(r->err, status_for_errno(e), "cannot open restore target '%s': %s",
                          r->target, strerror(e));
    }
    if (!empty) {
        return cairn_fail(r->err, CAIRN_INVALID,
                          "restore target '%s' is not empty; choose an empty or new directory",
                          r->target);
    }
    return CAIRN_OK;
}

/* ---- modes --------------------------------------------------------------------------------- */

/* The permission bits to apply to `rel`: without keep_special_modes, setuid and setgid are dropped
 * (and the sticky bit of a file, which means nothing there), so a restored tree holds no program
 * that runs as its owner or group. */
static uint32_t restored_mode(restore_state *r, const char *rel, size_t len, uint32_t mode,
                              int is_dir) {
    mode &= 07777;
    uint32_t drop = (uint32_t)(S_ISUID | S_ISGID) | (is_dir ? 0u : (uint32_t)S_ISVTX);
    if (r->inst->keep_special_modes || (mode & drop) == 0) return mode;
    if (r->special_dropped++ == 0) {
        snprintf(r->first_special, sizeof r->first_special, "'%.*s' (%04o)",
                 (int)(len < 200 ? len : 200), rel, (unsigned)mode);
    }
    return mode & ~drop;
}

/* ---- directories --------------------------------------------------------------------------- */

static int push_fixup(restore_state *r, const char *rel, size_t len, uint32_t mode, int64_t mtime,
                      int implicit) {
    if (!implicit && r->implicit_count > 0) { /* a late entry for a directory made on the way */
        for (size_t i = 0; i < r->fixup_count; i++) {
            dir_fixup *f = &r->fixups[i];
            if (f->implicit && strlen(f->rel) == len && memcmp(f->rel, rel, len) == 0) {
                *f = (dir_fixup){f->rel, mode, mtime, 0};
                r->implicit_count--;
                return 0;
            }
        }
    }
    if (r->fixup_count == r->fixup_cap) {
        size_t cap = r->fixup_cap ? r->fixup_cap * 2 : 64;
        dir_fixup *grown = realloc(r->fixups, cap * sizeof *grown);
        if (grown == NULL) return cairn_fail(r->err, CAIRN_ERROR, "out of memory restoring");
        r->fixups = grown;
        r->fixup_cap = cap;
    }
    char *copy = malloc(len + 1);
    if (copy == NULL) return cairn_fail(r->err, CAIRN_ERROR, "out of memory restoring");
    memcpy(copy, rel, len);
    copy[len] = '\0';
    r->fixups[r->fixup_count++] = (dir_fixup){copy, mode, mtime, implicit};
    r->implicit_count += implicit != 0;
    return 0;
}

static int fail_at(restore_state *r, int e, const char *what, const char *rel, size_t len) {
    return cairn_fail(r->err, e == ELOOP || e == ENOTDIR ? CAIRN_CORRUPT : status_for_errno(e),
                      "cannot %s '%.*s' in restore target '%s': %s", what, (int)len, rel,
                      r->target, strerror(e));
}

/* Opens directory `name` inside `parent` (`rel`/`len` name it for messages), creating it when an
 * entry needs a directory the archive did not list first. Returns the fd, or -1 with the error
 * set. */
static int open_child_dir(restore_state *r, int parent, const char *name, const char *rel,
                          size_t len) {
    int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    int fd = openat(parent, name, flags);
    if (fd < 0 && errno == ENOENT) {
        if (mkdirat(parent, name, 0700) != 0) {
            fail_at(r, errno, "create directory", rel, len);
            return -1;
        }
        if (push_fixup(r, rel, len, 0755, -1, 1) != 0) return -1;
        fd = openat(parent, name, flags);
    }
    if (fd < 0) fail_at(r, errno, "open directory", rel, len);
    return fd;
}

/* Opens the directory that holds `rel`; `*leaf` points at its last component. */
static int open_parent(restore_state *r, const char *rel, const char **leaf) {
    char name[DIR_PATH_MAX];
    int fd = openat(r->target_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        fail_at(r, errno, "open", ".", 1);
        return -1;
    }
    const char *part = rel, *slash;
    while ((slash = strchr(part, '/')) != NULL) {
        size_t n = (size_t)(slash - part);
        memcpy(name, part, n);
        name[n] = '\0';
        int child = open_child_dir(r, fd, name, rel, (size_t)(slash - rel));
        close(fd);
        if (child < 0) return -1;
        fd = child;
        part = slash + 1;
    }
    *leaf = part;
    return fd;
}

static int restore_directory(restore_state *r, const cairn_entry *entry) {
    const char *leaf;
    int parent = open_parent(r, entry->path, &leaf);
    if (parent < 0) return CAIRN_ERROR;
    struct stat st;
    int rc = 0;
    if (mkdirat(parent, leaf, 0700) != 0) {
        int e = errno;
        int usable = e == EEXIST && fstatat(parent, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                     S_ISDIR(st.st_mode);
        if (!usable) rc = fail_at(r, e, "create directory", entry->path, strlen(entry->path));
    }
    close(parent);
    size_t len = strlen(entry->path);
    if (rc == 0) rc = push_fixup(r, entry->path, len, restored_mode(r, entry->path, len, entry->mode, 1),
                                 entry->mtime, 0);
    if (rc == 0) r->directories++;
    return rc;
}

static int apply_fixup(restore_state *r, const dir_fixup *f) {
    const char *leaf;
    int parent = open_parent(r, f->rel, &leaf);
    if (parent < 0) return CAIRN_ERROR;
    int fd = openat(parent, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int e = fd < 0 ? errno : 0;
    close(parent);
    struct timespec times[2] = {{0, UTIME_OMIT}, {(time_t)f->mtime, 0}};
    if (e == 0 && fchmod(fd, (mode_t)f->mode) != 0) e = errno;
    if (e == 0 && f->mtime >= 0 && futimens(fd, times) != 0) e = errno;
    if (fd >= 0) close(fd);
    return e != 0 ? fail_at(r, e, "set mode and time of directory", f->rel, strlen(f->rel)) : 0;
}

static int apply_fixups(restore_state *r) {
    for (size_t i = r->fixup_count; i > 0; i--) {
        int rc = apply_fixup(r, &r->fixups[i - 1]);
        if (rc != 0) return rc;
    }
    return 0;
}

/* ---- files --------------------------------------------------------------------------------- */

static int write_all(int fd, const uint8_t *data, size_t len) {
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

static int copy_data(restore_state *r, int fd, const cairn_entry *entry, int64_t *got) {
    *got = 0;
    for (;;) {
        if (walk_cancelled(r->inst->host)) {
            return cairn_fail(r->err, CAIRN_CANCELLED, "restore into '%s' cancelled at '%s'",
                              r->target, entry->path);
        }
        int64_t n = r->source->read(r->source->ctx, r->buffer, DIR_CHUNK_SIZE);
        if (n < 0) return (int)-n; /* the host already knows why */
        if (n == 0) return 0;
        int e = write_all(fd, r->buffer, (size_t)n);
        if (e != 0) return fail_at(r, e, "write file", entry->path, strlen(entry->path));
        *got += n;
        r->bytes += (uint64_t)n;
    }
}

static int finish_file(restore_state *r, int fd, const cairn_entry *entry, int64_t got) {
    if (entry->size != CAIRN_SIZE_UNKNOWN && got != entry->size) {
        return cairn_fail(r->err, CAIRN_CORRUPT,
                          "file '%s' holds %" PRId64 " bytes but its entry says %" PRId64,
                          entry->path, got, entry->size);
    }
    /* The mode is set after writing: data written to a setuid file would clear the bit. */
    struct timespec times[2] = {{0, UTIME_OMIT}, {(time_t)entry->mtime, 0}};
    mode_t mode = (mode_t)restored_mode(r, entry->path, strlen(entry->path), entry->mode, 0);
    if (fchmod(fd, mode) != 0 || futimens(fd, times) != 0) {
        return fail_at(r, errno, "set mode and time of file", entry->path, strlen(entry->path));
    }
    return 0;
}

static int restore_file(restore_state *r, const cairn_entry *entry) {
    const char *leaf;
    int parent = open_parent(r, entry->path, &leaf);
    if (parent < 0) return CAIRN_ERROR;
    int fd = openat(parent, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    int e = errno;
    close(parent);
    if (fd < 0) {
        if (e != EEXIST) return fail_at(r, e, "create file", entry->path, strlen(entry->path));
        return cairn_fail(r->err, CAIRN_CORRUPT,
                          "cannot create file '%s' in restore target '%s': it already exists "
                          "(the archive holds it twice)", entry->path, r->target);
    }
    int64_t got;
    int rc = copy_data(r, fd, entry, &got);
    if (rc == 0) rc = finish_file(r, fd, entry, got);
    if (close(fd) != 0 && rc == 0) {
        rc = fail_at(r, errno, "write file", entry->path, strlen(entry->path));
    }
    if (rc == 0) r->files++;
    return rc;
}

/* ---- the operation ------------------------------------------------------------------------- */

static int restore_entry(restore_state *r, const cairn_entry *entry) {
    const char *why = path_problem(entry->path);
    if (why != NULL) {
        return cairn_fail(r->err, CAIRN_CORRUPT,
                          "archive entry '%s' %s; refusing to restore it into '%s'",
                          entry->path != NULL ? entry->path : "", why, r->target);
    }
    if (entry->type == CAIRN_ENTRY_DIRECTORY) return restore_directory(r, entry);
    if (entry->type == CAIRN_ENTRY_FILE) return restore_file(r, entry);
    return cairn_fail(r->err, CAIRN_CORRUPT, "archive entry '%s' has unknown type %d",
                      entry->path, (int)entry->type);
}

static int restore_all(restore_state *r) {
    for (;;) {
        cairn_entry entry;
        memset(&entry, 0, sizeof entry);
        entry.struct_size = sizeof entry;
        int more = r->source->next(r->source->ctx, &entry);
        if (more < 0) return -more; /* the host already knows why */
        if (more == 0) return apply_fixups(r);
        int rc = restore_entry(r, &entry);
        if (rc != 0) return rc;
    }
}

static int report_restored(const cairn_report *report, const restore_state *r) {
    char detail[192];
    snprintf(detail, sizeof detail,
             "{\"files\":%" PRIu64 ",\"directories\":%" PRIu64 ",\"bytes\":%" PRIu64 "}", r->files,
             r->directories, r->bytes);
    if (report == NULL || report->check == NULL) return 0;
    int rc = report_check(report, "restored", CAIRN_CHECK_PASS, detail,
                          "restored %" PRIu64 " files, %" PRIu64 " directories, %" PRIu64
                          " bytes into '%s'", r->files, r->directories, r->bytes, r->target);
    if (rc != 0 || r->special_dropped == 0) return rc;
    snprintf(detail, sizeof detail, "{\"entries\":%" PRIu64 "}", r->special_dropped);
    return report_check(report, "special_modes", CAIRN_CHECK_WARN, detail,
                        "dropped the setuid/setgid/sticky bits of %" PRIu64 " entries (the first: "
                        "%s); set keep_special_modes: true to restore them",
                        r->special_dropped, r->first_special);
}

/* ---- cleanup ------------------------------------------------------------------------------- */

/* One pass over the directory `fd`, removing what it holds without following symlinks; returns
 * how many entries it removed (entries removed while reading may hide others: the caller
 * repeats). Sets *left when something could not be removed. */
static int remove_pass(int fd, int *left) {
    int copy = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *dir = copy >= 0 ? fdopendir(copy) : NULL;
    if (dir == NULL) {
        if (copy >= 0) close(copy);
        *left = 1;
        return 0;
    }
    int removed = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        const char *name = entry->d_name;
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) continue;
        struct stat st;
        if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
        if (S_ISDIR(st.st_mode)) {
            int child = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (child >= 0) {
                (void)fchmod(child, 0700); /* a restored read-only mode would block removal */
                while (remove_pass(child, left) > 0) {}
                close(child);
            }
        }
        if (unlinkat(fd, name, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) == 0) removed++;
    }
    closedir(dir);
    return removed;
}

/* Undoes a restore that failed part-way, and logs what could not be undone. */
static void remove_restored(restore_state *r) {
    int left = 0;
    while (remove_pass(r->target_fd, &left) > 0) {}
    int empty = 0;
    if (dir_is_empty(r->target_fd, &empty) != 0 || !empty) left = 1;
    if (!left && r->created_target && rmdir(r->target) != 0) left = 1;
    const cairn_host_api *host = r->inst->host;
    if (left && host != NULL && host->log != NULL) {
        char message[DIR_PATH_MAX + 128];
        snprintf(message, sizeof message,
                 "the failed restore could not remove all it wrote into '%s': remove it by hand",
                 r->target);
        host->log(host->host_ctx, CAIRN_LOG_WARNING, message);
    }
}

cairn_status dir_restore(void *instance, const cairn_restore_request *request,
                         const cairn_entry_source *source, const cairn_report *report,
                         const cairn_error *err) {
    const dir_instance *inst = instance;
    if (inst == NULL || request == NULL || source == NULL || !source->next || !source->read) {
        return cairn_fail(err, CAIRN_INVALID, "restore: no instance, request or source given");
    }
    if (request->target == NULL || request->target[0] == '\0') {
        return cairn_fail(err, CAIRN_INVALID, "restore needs a target directory");
    }
    restore_state r;
    memset(&r, 0, sizeof r);
    r.inst = inst;
    r.source = source;
    r.err = err;
    r.target = request->target;
    r.target_fd = -1;
    int rc = open_target(&r);
    int opened = rc == 0; /* the target is ours to clean: it was empty or new */
    if (rc == 0) {
        r.buffer = malloc(DIR_CHUNK_SIZE);
        rc = r.buffer != NULL ? restore_all(&r)
                              : (int)cairn_fail(err, CAIRN_ERROR, "out of memory restoring");
    }
    if (rc == 0) rc = report_restored(report, &r);
    if (rc != 0 && opened) remove_restored(&r);
    for (size_t i = 0; i < r.fixup_count; i++) free(r.fixups[i].rel);
    free(r.fixups);
    free(r.buffer);
    if (r.target_fd >= 0) close(r.target_fd);
    return (cairn_status)rc;
}
