/// The C component skeleton of `cairn plugins new NAME --lang c`; @NAME@ is the plugin's name.
extension PluginSkeleton {
    static let cSource = #"""
/*
 * @NAME@.c -- a Cairn component plugin: backs up the regular files directly inside the folder of
 * its `path` setting, verifies a stored backup against the file count it recorded, and restores
 * into a folder. Written by `cairn plugins new`; the contract is cairn_plugin.h, the guide
 * docs/plugin-authors.md. Replace what it backs up; keep the rules it shows.
 */
#define _POSIX_C_SOURCE 200809L
#include <cairn_plugin.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK (256 * 1024)

typedef struct instance {
    const cairn_host_api *host; /* valid until close: the one host pointer an instance may keep */
    char *path;
} instance;

static cairn_status open_instance(const cairn_host_api *host, void **out, const cairn_error *err) {
    const char *path = host->config_get(host->host_ctx, "path");
    if (path == NULL || path[0] == '\0')
        return cairn_fail(err, CAIRN_INVALID, "setting 'path' is required: the folder to back up");
    instance *self = calloc(1, sizeof *self);
    if (self == NULL || (self->path = strdup(path)) == NULL) {
        free(self);
        return cairn_fail(err, CAIRN_ERROR, "out of memory");
    }
    self->host = host;
    *out = self;
    return CAIRN_OK;
}

static void close_instance(void *data) {
    instance *self = data;
    if (self == NULL) return;
    free(self->path);
    free(self);
}

static cairn_status check(void *data, const cairn_report *report, const cairn_error *err) {
    instance *self = data;
    (void)err;
    char message[512];
    struct stat st;
    int ok = stat(self->path, &st) == 0 && S_ISDIR(st.st_mode) && access(self->path, R_OK | X_OK) == 0;
    snprintf(message, sizeof message, ok ? "'%s' is a readable folder" : "'%s' is not a readable folder", self->path);
    return (cairn_status)report->check(report->ctx, "path", ok ? CAIRN_CHECK_PASS : CAIRN_CHECK_FAIL, message, NULL);
}

/* One file into the archive, in chunks, polling cancellation between them. */
static cairn_status back_up_file(instance *self, const char *name, const struct stat *st, const cairn_entry_sink *sink,
                                 uint8_t *buffer, const cairn_error *err) {
    char full[4096];
    snprintf(full, sizeof full, "%s/%s", self->path, name);
    int fd = open(full, O_RDONLY);
    if (fd < 0) return cairn_fail(err, CAIRN_IO, "cannot open '%s': %s", full, strerror(errno));
    cairn_entry entry = {sizeof entry, name, CAIRN_ENTRY_FILE, (uint32_t)(st->st_mode & 07777), (int64_t)st->st_mtime,
                         (int64_t)st->st_size};
    int rc = sink->begin(sink->ctx, &entry);
    ssize_t n = 0;
    while (rc == 0 && (n = read(fd, buffer, CHUNK)) > 0) {
        if (self->host->is_cancelled(self->host->host_ctx)) {
            close(fd);
            return cairn_fail(err, CAIRN_CANCELLED, "backup of '%s' cancelled", self->path);
        }
        rc = sink->write(sink->ctx, buffer, (size_t)n);
    }
    int read_errno = errno;
    close(fd);
    if (rc != 0) return (cairn_status)rc; /* the host already knows why */
    if (n < 0) return cairn_fail(err, CAIRN_IO, "cannot read '%s': %s", full, strerror(read_errno));
    return (cairn_status)sink->end(sink->ctx); /* a file that changed size fails here as CAIRN_CHANGED */
}

static cairn_status backup(void *data, const cairn_backup_request *request, const cairn_entry_sink *sink,
                           const cairn_error *err) {
    instance *self = data;
    (void)request;
    if (self->host->is_cancelled(self->host->host_ctx)) return cairn_fail(err, CAIRN_CANCELLED, "backup cancelled");
    DIR *folder = opendir(self->path);
    if (folder == NULL) return cairn_fail(err, CAIRN_IO, "cannot open folder '%s': %s", self->path, strerror(errno));
    uint8_t *buffer = malloc(CHUNK);
    if (buffer == NULL) {
        closedir(folder);
        return cairn_fail(err, CAIRN_ERROR, "out of memory");
    }
    cairn_status status = CAIRN_OK;
    long files = 0;
    struct dirent *item;
    while (status == CAIRN_OK && (item = readdir(folder)) != NULL) {
        char full[4096];
        struct stat st;
        snprintf(full, sizeof full, "%s/%s", self->path, item->d_name);
        if (item->d_name[0] == '.' || lstat(full, &st) != 0 || !S_ISREG(st.st_mode)) continue;
        status = back_up_file(self, item->d_name, &st, sink, buffer, err);
        files++;
    }
    closedir(folder);
    free(buffer);
    if (status != CAIRN_OK) return status;
    char count[32];
    snprintf(count, sizeof count, "%ld", files);
    return (cairn_status)sink->fact(sink->ctx, "files", count); /* read back in verify with fact_int */
}

/* Reads every entry to its end: the host re-hashes what is read and fails a changed file. */
static cairn_status verify(void *data, const cairn_entry_source *source, const cairn_report *report,
                           const cairn_error *err) {
    instance *self = data;
    uint8_t *buffer = malloc(CHUNK);
    if (buffer == NULL) return cairn_fail(err, CAIRN_ERROR, "out of memory");
    int64_t files = 0, n = 0;
    int more;
    cairn_entry entry;
    for (;;) {
        memset(&entry, 0, sizeof entry);
        entry.struct_size = sizeof entry;
        if ((more = source->next(source->ctx, &entry)) <= 0) break;
        if (entry.type == CAIRN_ENTRY_FILE) files++;
        while ((n = source->read(source->ctx, buffer, CHUNK)) > 0) {
            if (self->host->is_cancelled(self->host->host_ctx)) {
                free(buffer);
                return cairn_fail(err, CAIRN_CANCELLED, "verify cancelled");
            }
        }
        if (n < 0) break;
    }
    free(buffer);
    if (more < 0) return (cairn_status)-more; /* pass the host's status on: it described the problem */
    if (n < 0) return (cairn_status)-n;
    int64_t recorded = -1;
    cairn_status found = source->fact_int(source->ctx, "files", &recorded);
    char message[256];
    snprintf(message, sizeof message, "%lld file(s), %lld recorded at backup time", (long long)files, (long long)recorded);
    int ok = found == CAIRN_OK && recorded == files;
    return (cairn_status)report->check(report->ctx, "files", ok ? CAIRN_CHECK_PASS : CAIRN_CHECK_FAIL, message, NULL);
}

/* mkdir -p: a restore target that does not exist yet is the plugin's to create. */
static int make_folders(const char *path) {
    char partial[4096];
    snprintf(partial, sizeof partial, "%s", path);
    for (char *slash = strchr(partial + 1, '/'); slash != NULL; slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        if (mkdir(partial, 0755) != 0 && errno != EEXIST) return -1;
        *slash = '/';
    }
    return mkdir(partial, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

static cairn_status restore(void *data, const cairn_restore_request *request, const cairn_entry_source *source,
                            const cairn_report *report, const cairn_error *err) {
    instance *self = data;
    (void)report;
    if (make_folders(request->target) != 0)
        return cairn_fail(err, CAIRN_IO, "cannot create the restore target '%s': %s", request->target, strerror(errno));
    uint8_t *buffer = malloc(CHUNK);
    if (buffer == NULL) return cairn_fail(err, CAIRN_ERROR, "out of memory");
    cairn_status status = CAIRN_OK;
    cairn_entry entry;
    for (;;) {
        memset(&entry, 0, sizeof entry);
        entry.struct_size = sizeof entry;
        int more = source->next(source->ctx, &entry);
        if (more < 0) status = (cairn_status)-more;
        if (more <= 0) break;
        if (entry.type != CAIRN_ENTRY_FILE || strchr(entry.path, '/') != NULL) continue; /* only what backup writes */
        char full[4096];
        snprintf(full, sizeof full, "%s/%s", request->target, entry.path);
        int fd = open(full, O_WRONLY | O_CREAT | O_EXCL, entry.mode & 0777);
        if (fd < 0) {
            status = cairn_fail(err, CAIRN_IO, "cannot create '%s': %s", full, strerror(errno));
            break;
        }
        int64_t n;
        while ((n = source->read(source->ctx, buffer, CHUNK)) > 0) {
            if (self->host->is_cancelled(self->host->host_ctx)) { n = -CAIRN_CANCELLED; break; }
            if (write(fd, buffer, (size_t)n) != n) {
                close(fd);
                free(buffer);
                return cairn_fail(err, CAIRN_IO, "cannot write '%s': %s", full, strerror(errno));
            }
        }
        close(fd);
        if (n < 0) {
            status = n == -CAIRN_CANCELLED ? cairn_fail(err, CAIRN_CANCELLED, "restore cancelled") : (cairn_status)-n;
            break;
        }
    }
    free(buffer);
    return status;
}

static const cairn_component_api component = {
    .struct_size = sizeof(cairn_component_api),
    .abi_major = CAIRN_ABI_MAJOR,
    .abi_minor = CAIRN_ABI_MINOR,
    .check = check,
    .backup = backup,
    .verify = verify,
    .restore = restore,
};

static const cairn_plugin descriptor = {
    .struct_size = sizeof(cairn_plugin),
    .abi_major = CAIRN_ABI_MAJOR,
    .abi_minor = CAIRN_ABI_MINOR,
    .pointer_size = sizeof(void *),
    .name = "@NAME@",
    .version = "0.1.0",
    .kind = CAIRN_KIND_COMPONENT,
    .toolchain = CAIRN_TOOLCHAIN_NONE,
    .capabilities = 0,
    .open = open_instance,
    .close = close_instance,
    .component = &component,
    .storage = NULL,
};

__attribute__((visibility("default"))) const cairn_plugin *cairn_plugin_entry_v1(uint32_t major, uint32_t minor) {
    /* fact_int (verify) is ABI 1.1: an older host gets NULL, and says the plugin needs a newer one. */
    return major == CAIRN_ABI_MAJOR && minor >= 1 ? &descriptor : NULL;
}
"""#
}
