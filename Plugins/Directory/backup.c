/*
 * backup.c -- streams the tree into the host's entry sink.
 *
 * A file is archived only if it stayed the same while it was read: same inode, size and mtime
 * from the walk's lstat to the final fstat, and exactly st_size bytes read. Anything else fails
 * with CAIRN_CHANGED rather than storing a torn copy.
 */
#include "directory_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct backup_state {
    const dir_instance *inst;
    const cairn_entry_sink *sink;
    const cairn_error *err;
    uint8_t *buffer;
    int lends; /* the sink has `buffer` (ABI 1.3) */
    uint64_t files, directories, bytes, total;
} backup_state;

static int same_mtime(const struct stat *a, const struct stat *b) {
    return a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static cairn_status fail_changed(backup_state *b, const char *rel, const struct stat *before,
                                 const struct stat *after, int64_t read_bytes) {
    char reason[128];
    if (after->st_dev != before->st_dev || after->st_ino != before->st_ino) {
        snprintf(reason, sizeof reason, "replaced by another file");
    } else if (after->st_size != before->st_size) {
        snprintf(reason, sizeof reason, "size %lld -> %lld", (long long)before->st_size,
                 (long long)after->st_size);
    } else if (!same_mtime(before, after)) {
        snprintf(reason, sizeof reason, "mtime changed");
    } else {
        snprintf(reason, sizeof reason, "read %lld bytes, expected %lld", (long long)read_bytes,
                 (long long)before->st_size);
    }
    return cairn_fail(b->err, CAIRN_CHANGED,
                      "file '%s' changed while being read (%s); re-run the backup when it is quiet",
                      rel, reason);
}

static int open_source(backup_state *b, const walk_item *item, int *fd) {
    /* O_NONBLOCK: if the file was swapped for a FIFO since the walk, open must not hang. */
    int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK;
    *fd = item->name != NULL ? openat(item->dirfd, item->name, flags) : open(item->real, flags);
    if (*fd >= 0) return 0;
    int e = errno;
    char full[DIR_PATH_MAX * 2];
    if (item->real != NULL) snprintf(full, sizeof full, "%s", item->real);
    else path_join(full, sizeof full, b->inst->path, item->rel);
    if (e == ENOENT || e == ELOOP) {
        return cairn_fail(b->err, CAIRN_CHANGED,
                          "file '%s' (%s) changed while being read (%s); re-run the backup when "
                          "it is quiet", item->rel, full, strerror(e));
    }
    return cairn_fail(b->err, status_for_errno(e), "cannot open file '%s' (%s): %s", item->rel,
                      full, strerror(e));
}

/* Opens the file and makes sure it is still what the walk saw. */
static int open_checked(backup_state *b, const walk_item *item, int *fd, struct stat *before) {
    int rc = open_source(b, item, fd);
    if (rc != 0) return rc;
    if (fstat(*fd, before) != 0) {
        rc = cairn_fail(b->err, CAIRN_IO, "cannot stat file '%s' under '%s': %s", item->rel,
                        b->inst->path, strerror(errno));
    } else if (!S_ISREG(before->st_mode) || before->st_ino != item->st.st_ino ||
               before->st_dev != item->st.st_dev || before->st_size != item->st.st_size ||
               !same_mtime(before, &item->st)) {
        rc = fail_changed(b, item->rel, &item->st, before, 0);
    }
    if (rc != 0) {
        close(*fd);
        *fd = -1;
    }
    return rc;
}

/* read(2) that retries on EINTR. */
static ssize_t read_some(int fd, uint8_t *buf, size_t len) {
    ssize_t n;
    do n = read(fd, buf, len);
    while (n < 0 && errno == EINTR);
    return n;
}

/* Sends st_size bytes of `fd`; `*got` receives what was read, one more byte if the file grew. */
static int stream_file(backup_state *b, int fd, const walk_item *item, int64_t *got) {
    const cairn_host_api *host = b->inst->host;
    int64_t size = item->st.st_size, done = 0;
    ssize_t n = 1;
    while (done < size && n > 0) {
        if (walk_cancelled(host)) {
            return cairn_fail(b->err, CAIRN_CANCELLED, "backup of '%s' cancelled while reading '%s'",
                              b->inst->path, item->rel);
        }
        /* Read into the host's memory when it lends some (ABI 1.3): a copy less per byte. */
        size_t cap = 0;
        uint8_t *buffer = b->lends ? b->sink->buffer(b->sink->ctx, &cap) : NULL;
        if (buffer == NULL) {
            buffer = b->buffer;
            cap = DIR_CHUNK_SIZE;
        }
        size_t want = (uint64_t)(size - done) < cap ? (size_t)(size - done) : cap;
        n = read_some(fd, buffer, want);
        if (n < 0) {
            return cairn_fail(b->err, CAIRN_IO, "cannot read file '%s' under '%s': %s", item->rel,
                              b->inst->path, strerror(errno));
        }
        int rc = n > 0 ? b->sink->write(b->sink->ctx, buffer, (size_t)n) : 0;
        if (rc != 0) return rc;
        done += n;
        b->bytes += (uint64_t)n;
        if (host->progress != NULL) host->progress(host->host_ctx, b->bytes, b->total, item->rel);
    }
    /* One more byte tells a file that grew from one that ended exactly at st_size. */
    if (done == size && read_some(fd, b->buffer, 1) > 0) done++;
    *got = done;
    return 0;
}

static int backup_file(backup_state *b, const walk_item *item) {
    int fd;
    struct stat before, after;
    int rc = open_checked(b, item, &fd, &before);
    if (rc != 0) return rc;
    cairn_entry entry = {sizeof(cairn_entry), item->rel, CAIRN_ENTRY_FILE,
                         (uint32_t)(before.st_mode & 07777), (int64_t)before.st_mtim.tv_sec,
                         (int64_t)before.st_size};
    int64_t got = 0;
    rc = b->sink->begin(b->sink->ctx, &entry);
    if (rc == 0) rc = stream_file(b, fd, item, &got);
    if (rc == 0 && fstat(fd, &after) != 0) {
        rc = cairn_fail(b->err, CAIRN_IO, "cannot stat file '%s' under '%s': %s", item->rel,
                        b->inst->path, strerror(errno));
    }
    if (rc == 0 && (got != before.st_size || after.st_size != before.st_size ||
                    !same_mtime(&before, &after))) {
        rc = fail_changed(b, item->rel, &before, &after, got);
    }
    if (rc == 0) rc = b->sink->end(b->sink->ctx);
    close(fd);
    if (rc == 0) b->files++;
    return rc;
}

static int backup_visit(walker *w, const walk_item *item) {
    backup_state *b = w->user;
    if (item->kind == WALK_FILE) return backup_file(b, item);
    cairn_entry entry = {sizeof(cairn_entry), item->rel, CAIRN_ENTRY_DIRECTORY,
                         (uint32_t)(item->st.st_mode & 07777), (int64_t)item->st.st_mtim.tv_sec, 0};
    int rc = b->sink->begin(b->sink->ctx, &entry);
    if (rc == 0) rc = b->sink->end(b->sink->ctx);
    if (rc == 0) b->directories++;
    return rc;
}

static int backup_notice(walker *w, walk_notice kind, cairn_status status, const char *message) {
    backup_state *b = w->user;
    if (kind == NOTICE_ERROR) return cairn_fail(b->err, status, "%s", message);
    cairn_logf(b->inst->host, kind == NOTICE_INFO ? CAIRN_LOG_INFO : CAIRN_LOG_WARNING, "%s",
               message);
    return 0;
}

/* The pre-walk sums sizes for progress and fails fast (before any data moves) on what the real
 * walk would refuse; it stays quiet about skipped items so they are logged once. */
static int total_visit(walker *w, const walk_item *item) {
    backup_state *b = w->user;
    if (item->kind == WALK_FILE) b->total += (uint64_t)item->st.st_size;
    return 0;
}

static int total_notice(walker *w, walk_notice kind, cairn_status status, const char *message) {
    return kind == NOTICE_ERROR ? backup_notice(w, kind, status, message) : 0;
}

static int add_number_fact(backup_state *b, const char *key, uint64_t value) {
    char text[32];
    snprintf(text, sizeof text, "%" PRIu64, value);
    return b->sink->fact(b->sink->ctx, key, text);
}

static int add_facts(backup_state *b) {
    if (b->sink->fact == NULL) return 0;
    char *path = json_quote(b->inst->path);
    if (path == NULL) return cairn_fail(b->err, CAIRN_ERROR, "out of memory adding facts");
    int rc = b->sink->fact(b->sink->ctx, "path", path);
    free(path);
    if (rc == 0) rc = add_number_fact(b, "files", b->files);
    if (rc == 0) rc = add_number_fact(b, "directories", b->directories);
    if (rc == 0) rc = add_number_fact(b, "bytes", b->bytes);
    return rc;
}

static cairn_status open_tree(const dir_instance *inst, int *fd, char **real,
                              const cairn_error *err) {
    int e = walk_open_root(inst->path, fd, real);
    if (e == 0) return CAIRN_OK;
    if (e == ENOENT) {
        return cairn_fail(err, CAIRN_NOT_FOUND, "path '%s' cannot be backed up: %s", inst->path,
                          strerror(e));
    }
    if (e == ENOTDIR) {
        return cairn_fail(err, CAIRN_INVALID, "path '%s' is not a directory: %s", inst->path,
                          strerror(e));
    }
    return cairn_fail(err, status_for_errno(e), "cannot open directory '%s': %s", inst->path,
                      strerror(e));
}

static int run_walks(backup_state *b, walker *w, int fd) {
    w->visit = total_visit;
    w->notice = total_notice;
    int rc = walk_tree(w, fd);
    if (rc != 0) return rc;
    w->visit = backup_visit;
    w->notice = backup_notice;
    rc = walk_tree(w, fd);
    return rc != 0 ? rc : add_facts(b);
}

cairn_status dir_backup(void *instance, const cairn_backup_request *request,
                        const cairn_entry_sink *sink, const cairn_error *err) {
    const dir_instance *inst = instance;
    (void)request; /* the host names and places the archive; the tree is all this plugin needs */
    if (inst == NULL || sink == NULL || !sink->begin || !sink->write || !sink->end) {
        return cairn_fail(err, CAIRN_INVALID, "backup: no instance or incomplete sink given");
    }
    int fd = -1;
    char *real = NULL;
    cairn_status status = open_tree(inst, &fd, &real, err);
    if (status != CAIRN_OK) return status;
    backup_state b = {inst, sink, err, malloc(DIR_CHUNK_SIZE),
                      CAIRN_HAS_FIELD(cairn_entry_sink, sink, buffer) && sink->buffer != NULL,
                      0, 0, 0, 0};
    walker *w = calloc(1, sizeof *w);
    int rc;
    if (b.buffer == NULL || w == NULL) {
        rc = cairn_fail(err, CAIRN_ERROR, "out of memory backing up '%s'", inst->path);
    } else {
        w->host = inst->host;
        w->root = inst->path;
        w->root_real = real;
        w->exclude = &inst->exclude;
        w->skip_symlinks = inst->skip_symlinks;
        w->user = &b;
        rc = run_walks(&b, w, fd);
    }
    if (rc == 0) {
        cairn_logf(inst->host, CAIRN_LOG_INFO, "backed up '%s': %" PRIu64 " files, %" PRIu64
                   " directories, %" PRIu64 " bytes", inst->path, b.files, b.directories, b.bytes);
    }
    free(w);
    free(b.buffer);
    free(real);
    close(fd);
    return (cairn_status)rc;
}
