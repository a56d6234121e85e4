/*
 * probe_plugin.c -- a component plugin that exercises ABI 1.1's promises, built by the tests:
 * typed setting getters, the backup's own facts in verify, host services called from the
 * plugin's own threads, and an interrupt callback that wakes a blocked backup.
 *
 * Settings (plugin.json written by the test): mode ("plain", "threads", "block", "replace" or
 * "lend"), retries (int), verbose (bool), wait (a duration as text), names (list).
 *
 * Mode "lend" (ABI 1.3): the backup writes LEND_FILES files through the sink's lent buffer in every
 * way a plugin may use it, byte i of file k being pattern(k, i); verify skips and reads them in
 * turn and reports what each came to.
 */
#define _GNU_SOURCE
#include "cairn_plugin.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define THREADS 8
#define ROUNDS 250

typedef struct probe {
    const cairn_host_api *host;
    char mode[32];
    int64_t retries, wait_ms;
    int verbose;
    size_t names;
    char first_name[64];
    int wake[2]; /* self-pipe: the interrupt writes, a blocked backup polls */
    int calls;   /* times `counted` ran */
} probe;

static void counted(void *data) {
    probe *p = data;
    __atomic_add_fetch(&p->calls, 1, __ATOMIC_SEQ_CST);
}

static void woken(void *data) {
    probe *p = data;
    char byte = 1;
    (void)!write(p->wake[1], &byte, 1);
}

static cairn_status probe_open(const cairn_host_api *host, void **instance, const cairn_error *err) {
    if (!CAIRN_HAS_FIELD(cairn_host_api, host, set_interrupt))
        return cairn_fail(err, CAIRN_UNSUPPORTED, "the host lacks ABI 1.1");
    probe *p = calloc(1, sizeof *p);
    p->host = host;
    const char *mode = host->config_get(host->host_ctx, "mode");
    snprintf(p->mode, sizeof p->mode, "%s", mode ? mode : "plain");
    cairn_status status;
    if ((status = host->config_int(host->host_ctx, "retries", &p->retries, err)) == CAIRN_INVALID ||
        (status = host->config_bool(host->host_ctx, "verbose", &p->verbose, err)) == CAIRN_INVALID ||
        (status = host->config_duration_ms(host->host_ctx, "wait", &p->wait_ms, err)) == CAIRN_INVALID) {
        free(p);
        return status;
    }
    const char *const *items = NULL;
    status = host->config_list(host->host_ctx, "names", &items, &p->names, err);
    if (status == CAIRN_INVALID) {
        free(p);
        return status;
    }
    if (status == CAIRN_OK && p->names > 0) snprintf(p->first_name, sizeof p->first_name, "%s", items[0]);
    if (pipe(p->wake) != 0) {
        free(p);
        return cairn_fail(err, CAIRN_IO, "pipe: %s", strerror(errno));
    }
    *instance = p;
    return CAIRN_OK;
}

static void probe_close(void *instance) {
    probe *p = instance;
    if (!p) return;
    close(p->wake[0]);
    close(p->wake[1]);
    free(p);
}

static int64_t now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Every host service, many times, from a thread the host never saw. */
static void *hammer(void *data) {
    const cairn_host_api *host = data;
    for (int i = 0; i < ROUNDS; i++) {
        host->log(host->host_ctx, CAIRN_LOG_DEBUG, "probe worker");
        (void)host->is_cancelled(host->host_ctx);
        host->progress(host->host_ctx, (uint64_t)i, ROUNDS, "worker");
        void *block = host->alloc(host->host_ctx, 100);
        host->free(host->host_ctx, block);
        (void)host->config_get(host->host_ctx, "mode");
        int64_t n;
        (void)host->config_int(host->host_ctx, "retries", &n, NULL);
        const char *const *items;
        size_t count;
        (void)host->config_list(host->host_ctx, "names", &items, &count, NULL);
        (void)host->temp_dir(host->host_ctx);
        (void)host->get_api(host->host_ctx, CAIRN_STORE_API_NAME, CAIRN_STORE_API_VERSION);
    }
    return NULL;
}

static cairn_status run_threads(probe *p, const cairn_error *err) {
    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++) {
        if (pthread_create(&threads[i], NULL, hammer, (void *)p->host) != 0)
            return cairn_fail(err, CAIRN_ERROR, "pthread_create failed");
    }
    for (int i = 0; i < THREADS; i++) pthread_join(threads[i], NULL);
    return CAIRN_OK;
}

/* Blocks on the self-pipe with no timeout: only the host's interrupt can end it. */
static cairn_status block_until_interrupted(probe *p, const cairn_error *err) {
    const cairn_host_api *host = p->host;
    int64_t start = now_ms();
    host->set_interrupt(host->host_ctx, woken, p);
    struct pollfd fd = {p->wake[0], POLLIN, 0};
    while (poll(&fd, 1, -1) < 0 && errno == EINTR) {}
    host->set_interrupt(host->host_ctx, NULL, NULL);
    if (!host->is_cancelled(host->host_ctx))
        return cairn_fail(err, CAIRN_ERROR, "woken without a cancellation");
    return cairn_fail(err, CAIRN_CANCELLED, "probe: woken by the host's interrupt after %" PRId64 " ms",
                      now_ms() - start);
}

/* Registers `woken`, replaces it with `counted`, waits for the cancellation (polling), and says
 * how often each ran: the replacing one once, the replaced one never (cairn_plugin.h). */
static cairn_status replace_and_count(probe *p, const cairn_error *err) {
    const cairn_host_api *host = p->host;
    host->set_interrupt(host->host_ctx, woken, p);
    host->set_interrupt(host->host_ctx, counted, p);
    for (int waited = 0; !host->is_cancelled(host->host_ctx) && waited < 10000; waited += 10) usleep(10000);
    usleep(300000);  /* time for a second, wrong call to show */
    host->set_interrupt(host->host_ctx, NULL, NULL);
    struct pollfd fd = {p->wake[0], POLLIN, 0};
    int replaced = poll(&fd, 1, 0) > 0;
    return cairn_fail(err, CAIRN_CANCELLED, "probe: the replacing interrupt was called %d time(s), the replaced one %d",
                      __atomic_load_n(&p->calls, __ATOMIC_SEQ_CST), replaced);
}

/* ---- mode "lend" ---------------------------------------------------------------------------- */

#define LEND_FILES 6
static const int64_t lend_sizes[LEND_FILES] = {3000000, 100000, 300000, 200000, 37000, 0};

static uint8_t pattern(int file, uint64_t i) { return (uint8_t)(i * 31 + (uint64_t)file * 7 + i / 251); }

static void fill(uint8_t *buffer, int file, uint64_t from, size_t n) {
    for (size_t j = 0; j < n; j++) buffer[j] = pattern(file, from + j);
}

static void *report_progress(void *data) {
    const cairn_host_api *host = data;
    for (int i = 0; i < 50; i++) host->progress(host->host_ctx, (uint64_t)i, 50, "lend");
    return NULL;
}

/* Writes `n` bytes of file `file` from offset `at`, the way file `file` asks for. */
static int lend_chunk(probe *p, const cairn_entry_sink *sink, int file, uint64_t at, size_t *n) {
    size_t cap = 0;
    uint8_t *lent = sink->buffer(sink->ctx, &cap);
    if (lent == NULL || cap < (64 << 10)) return CAIRN_ERROR;
    switch (file) {
    case 0:  /* as big as lent; asked twice first, the second superseding */
        lent = sink->buffer(sink->ctx, &cap);
        if (*n > cap) *n = cap;
        fill(lent, file, at, *n);
        return sink->write(sink->ctx, lent, *n);
    case 1: {  /* a log line and another thread's progress between lending and writing */
        if (*n > cap) *n = cap;
        fill(lent, file, at, *n / 2);
        p->host->log(p->host->host_ctx, CAIRN_LOG_DEBUG, "probe: between lending and writing");
        pthread_t thread;
        if (pthread_create(&thread, NULL, report_progress, (void *)p->host) != 0) return CAIRN_ERROR;
        pthread_join(thread, NULL);
        fill(lent + *n / 2, file, at + *n / 2, *n - *n / 2);
        return sink->write(sink->ctx, lent, *n);
    }
    case 3:  /* from inside the lent buffer, not its start */
        if (*n > cap - 10) *n = cap - 10;
        fill(lent + 10, file, at, *n);
        return sink->write(sink->ctx, lent + 10, *n);
    case 2:  /* every other chunk from a buffer of its own, the lent one left unused */
        if (at / 50000 % 2 == 0) {
            static uint8_t own[50000];
            fill(own, file, at, *n);
            return sink->write(sink->ctx, own, *n);
        }
        /* fall through */
    default:  /* a few bytes at a time (file 4), or a lent chunk (file 2) */
        fill(lent, file, at, *n);
        return sink->write(sink->ctx, lent, *n);
    }
}

static cairn_status lend_backup(probe *p, const cairn_entry_sink *sink, const cairn_error *err) {
    if (!CAIRN_HAS_FIELD(cairn_entry_sink, sink, buffer) || sink->buffer == NULL)
        return cairn_fail(err, CAIRN_UNSUPPORTED, "the host lends no buffer");
    static const size_t chunk[LEND_FILES] = {1u << 30, 1u << 30, 50000, 1u << 30, 37, 1};
    for (int file = 0; file < LEND_FILES; file++) {
        char path[32];
        snprintf(path, sizeof path, "lent-%d.bin", file);
        cairn_entry entry = {sizeof entry, path, CAIRN_ENTRY_FILE, 0644, 1700000000, lend_sizes[file]};
        int rc = sink->begin(sink->ctx, &entry);
        for (uint64_t at = 0; rc == 0 && at < (uint64_t)lend_sizes[file];) {
            size_t n = (uint64_t)lend_sizes[file] - at < chunk[file] ? (size_t)(lend_sizes[file] - (int64_t)at) : chunk[file];
            rc = lend_chunk(p, sink, file, at, &n);
            at += n;
        }
        if (rc == 0) rc = sink->end(sink->ctx);
        if (rc != 0) return cairn_fail(err, (cairn_status)rc, "probe: writing %s failed", path);
    }
    return CAIRN_OK;
}

/* Entry k: skipped (k % 3 == 0), 1000 bytes read then skipped (1), or read whole then skipped
 * (2, which skips nothing). Reports each entry's count and what a read after the skip gave. */
static cairn_status lend_verify(const cairn_entry_source *source, const cairn_report *report, const cairn_error *err) {
    if (!CAIRN_HAS_FIELD(cairn_entry_source, source, skip) || source->skip == NULL)
        return cairn_fail(err, CAIRN_UNSUPPORTED, "the host cannot skip");
    char sizes[256] = "", after[256] = "";
    uint8_t buffer[4096];
    for (int k = 0;; k++) {
        cairn_entry entry;
        memset(&entry, 0, sizeof entry);
        entry.struct_size = sizeof entry;
        int more = source->next(source->ctx, &entry);
        if (more < 0) return (cairn_status)-more;
        if (more == 0) break;
        int64_t count = 0, n = 1;
        while (k % 3 != 0 && n > 0 && (k % 3 == 2 || count < 1000)) {
            n = source->read(source->ctx, buffer, sizeof buffer);
            if (n < 0) return (cairn_status)-n;
            count += n;
        }
        int64_t skipped = source->skip(source->ctx);
        if (skipped < 0) return (cairn_status)-skipped;
        int64_t later = source->read(source->ctx, buffer, sizeof buffer);
        snprintf(sizes + strlen(sizes), sizeof sizes - strlen(sizes), "%s%" PRId64, k ? "," : "", count + skipped);
        snprintf(after + strlen(after), sizeof after - strlen(after), "%s%" PRId64, k ? "," : "", later);
    }
    char detail[600];
    snprintf(detail, sizeof detail, "{\"sizes\":[%s],\"after_skip\":[%s]}", sizes, after);
    return (cairn_status)report->check(report->ctx, "lend", CAIRN_CHECK_PASS, "entries skipped and read", detail);
}

static cairn_status probe_backup(void *instance, const cairn_backup_request *request,
                                 const cairn_entry_sink *sink, const cairn_error *err) {
    probe *p = instance;
    (void)request;
    cairn_status status = CAIRN_OK;
    if (strcmp(p->mode, "threads") == 0) status = run_threads(p, err);
    if (strcmp(p->mode, "block") == 0) status = block_until_interrupted(p, err);
    if (strcmp(p->mode, "replace") == 0) status = replace_and_count(p, err);
    if (strcmp(p->mode, "lend") == 0) return lend_backup(p, sink, err);
    if (status != CAIRN_OK) return status;
    static const char data[] = "probe\n";
    cairn_entry entry = {sizeof entry, "data.txt", CAIRN_ENTRY_FILE, 0644, 1700000000, sizeof data - 1};
    int rc;
    if ((rc = sink->begin(sink->ctx, &entry)) || (rc = sink->write(sink->ctx, (const uint8_t *)data, sizeof data - 1)) ||
        (rc = sink->end(sink->ctx)))
        return (cairn_status)rc;
    char settings[256];
    snprintf(settings, sizeof settings,
             "{\"retries\":%" PRId64 ",\"verbose\":%d,\"wait_ms\":%" PRId64 ",\"names\":%zu,\"first_name\":\"%s\"}",
             p->retries, p->verbose, p->wait_ms, p->names, p->first_name);
    if ((rc = sink->fact(sink->ctx, "settings", settings)) || (rc = sink->fact(sink->ctx, "count", "1")) ||
        (rc = sink->fact(sink->ctx, "nested", "{\"inner\":{\"value\":7}}")) ||
        (rc = sink->fact(sink->ctx, "label", "\"a probe\"")))
        return (cairn_status)rc;
    return CAIRN_OK;
}

static cairn_status probe_verify(void *instance, const cairn_entry_source *source, const cairn_report *report,
                                 const cairn_error *err) {
    probe *p = instance;
    if (strcmp(p->mode, "lend") == 0) return lend_verify(source, report, err);
    if (!CAIRN_HAS_FIELD(cairn_entry_source, source, fact_int))
        return cairn_fail(err, CAIRN_UNSUPPORTED, "the host passes no facts");
    int64_t count = -1, nested = -1, label = -1;
    cairn_status count_status = source->fact_int(source->ctx, "count", &count);
    cairn_status nested_status = source->fact_int(source->ctx, "nested.inner.value", &nested);
    cairn_status label_status = source->fact_int(source->ctx, "label", &label);
    cairn_status missing_status = source->fact_int(source->ctx, "missing", &label);
    const char *text = source->fact(source->ctx, "label");
    const char *object = source->fact(source->ctx, "nested");
    char detail[512];
    snprintf(detail, sizeof detail,
             "{\"count\":%" PRId64 ",\"count_status\":%d,\"nested\":%" PRId64 ",\"nested_status\":%d,"
             "\"label_status\":%d,\"missing_status\":%d,\"label\":\"%s\",\"object_length\":%zu,\"missing_text\":%s}",
             count, count_status, nested, nested_status, label_status, missing_status, text ? text : "",
             object ? strlen(object) : 0, source->fact(source->ctx, "missing") ? "\"set\"" : "null");
    int64_t files = 0;
    cairn_entry entry;
    for (;;) {
        memset(&entry, 0, sizeof entry);
        entry.struct_size = sizeof entry;
        int more = source->next(source->ctx, &entry);
        if (more < 0) return (cairn_status)-more;
        if (more == 0) break;
        files++;
    }
    return (cairn_status)report->check(report->ctx, "facts", files == count ? CAIRN_CHECK_PASS : CAIRN_CHECK_FAIL,
                                       "facts read back\nwith a second line", detail);
}

static cairn_status probe_restore(void *instance, const cairn_restore_request *request, const cairn_entry_source *source,
                                  const cairn_report *report, const cairn_error *err) {
    (void)instance;
    (void)report;
    if (mkdir(request->target, 0755) != 0 && errno != EEXIST)
        return cairn_fail(err, CAIRN_IO, "cannot create '%s': %s", request->target, strerror(errno));
    cairn_entry entry;
    for (;;) {
        memset(&entry, 0, sizeof entry);
        entry.struct_size = sizeof entry;
        int more = source->next(source->ctx, &entry);
        if (more < 0) return (cairn_status)-more;
        if (more == 0) return CAIRN_OK;
        if (entry.type != CAIRN_ENTRY_FILE || strchr(entry.path, '/')) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", request->target, entry.path);
        FILE *out = fopen(path, "wb");
        if (!out) return cairn_fail(err, CAIRN_IO, "cannot write '%s': %s", path, strerror(errno));
        uint8_t buffer[4096];
        int64_t n;
        while ((n = source->read(source->ctx, buffer, sizeof buffer)) > 0) fwrite(buffer, 1, (size_t)n, out);
        fclose(out);
        if (n < 0) return (cairn_status)-n;
    }
}

static const cairn_component_api component = {
    sizeof component, CAIRN_ABI_MAJOR, CAIRN_ABI_MINOR, NULL, probe_backup, probe_verify, probe_restore,
};

static const cairn_plugin descriptor = {
    sizeof descriptor, CAIRN_ABI_MAJOR, CAIRN_ABI_MINOR, sizeof(void *), "probe", "1.0.0",
    CAIRN_KIND_COMPONENT, CAIRN_TOOLCHAIN_NONE, 0, probe_open, probe_close, &component, NULL,
};

__attribute__((visibility("default"))) const cairn_plugin *cairn_plugin_entry_v1(uint32_t major, uint32_t minor) {
    return major == CAIRN_ABI_MAJOR && minor >= 1 ? &descriptor : NULL;
}
