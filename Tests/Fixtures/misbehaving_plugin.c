/* A component plugin that misbehaves on request, to prove that a plugin in a worker process
 * (isolation: process) fails its step and not cairn. Setting `mode` picks what backup does:
 *   ok        back up one small file (and log and poll is_cancelled from a thread of its own)
 *   segfault  write through a NULL pointer          abort     call abort()
 *   exit      call exit(3)                           loop      spin forever, never polling is_cancelled
 *   polite    spin, polling is_cancelled, and stop when asked
 *   garbage   write garbage onto the worker's channel (fd 3)
 *   stdout    print to stdout and stderr, then back up as `ok` does
 *   allocate  allocate and touch memory until malloc fails, then use the NULL it returned
 *   stream    stream `size` bytes of incompressible data into one entry, then segfault
 *   shared    back up one file, and log whether its bytes are in the memory the worker shares
 *             with cairn (cairn_ipc.h) once the sink has taken them
 *   lie-offset / lie-length   write a sink frame onto the channel whose bytes lie outside the
 *             worker's area of that memory (an offset past it; a length longer than it)
 *   scribble  stream `size` bytes into one entry while a thread overwrites the shared memory
 * With MISBEHAVE_AT_LOAD=crash in the environment, the library's constructor writes through a NULL
 * pointer as the library is loaded, before any call (=hang: it spins forever).
 */
#define _GNU_SOURCE
#include "cairn_ipc.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct instance { const cairn_host_api *host; char mode[32]; long long size; } instance;

static cairn_status open_instance(const cairn_host_api *host, void **out, const cairn_error *err) {
    instance *inst = calloc(1, sizeof *inst);
    if (inst == NULL) return cairn_fail(err, CAIRN_ERROR, "out of memory");
    inst->host = host;
    const char *mode = host->config_get(host->host_ctx, "mode");
    snprintf(inst->mode, sizeof inst->mode, "%s", mode ? mode : "ok");
    const char *size = host->config_get(host->host_ctx, "size");
    inst->size = size ? atoll(size) : 0;
    *out = inst;
    return CAIRN_OK;
}

static void close_instance(void *p) { free(p); }

/* The worker's mapping of the memory it shares with cairn, from /proc/self/maps; 0 if none. */
static uint8_t *shared_memory(size_t *size) {
    FILE *maps = fopen("/proc/self/maps", "r");
    char line[512];
    uint8_t *found = NULL;
    while (maps && found == NULL && fgets(line, sizeof line, maps)) {
        unsigned long start, end;
        if (strstr(line, "memfd:cairn-ipc") && sscanf(line, "%lx-%lx", &start, &end) == 2) {
            found = (uint8_t *)start;
            *size = end - start;
        }
    }
    if (maps) fclose(maps);
    return found;
}

static volatile int scribbling;

static void *scribble(void *unused) {
    (void)unused;
    size_t size = 0;
    uint8_t *region = shared_memory(&size);
    for (unsigned n = 0; region && scribbling; n++) memset(region, (int)(n * 37u), size);
    return NULL;
}

/* Host services from a thread the host never called the plugin on, during the call. */
static void *from_another_thread(void *p) {
    instance *inst = p;
    for (int i = 0; i < 50; i++) {
        if (inst->host->is_cancelled(inst->host->host_ctx)) break;
        if (i % 10 == 0) cairn_logf(inst->host, CAIRN_LOG_INFO, "worker thread %d says hello", i);
    }
    return NULL;
}

static int write_file(const cairn_entry_sink *sink, const char *path, const char *text) {
    cairn_entry entry = { sizeof entry, path, CAIRN_ENTRY_FILE, 0644, 1700000000, (int64_t)strlen(text) };
    int rc = sink->begin(sink->ctx, &entry);
    if (rc == 0) rc = sink->write(sink->ctx, (const uint8_t *)text, strlen(text));
    if (rc == 0) rc = sink->end(sink->ctx);
    return rc;
}

static cairn_status backup(void *p, const cairn_backup_request *request, const cairn_entry_sink *sink, const cairn_error *err) {
    instance *inst = p;
    (void)request;
    const char *mode = inst->mode;
    volatile int *nowhere = NULL;
    if (strcmp(mode, "segfault") == 0) { *nowhere = 1; }
    if (strcmp(mode, "abort") == 0) abort();
    if (strcmp(mode, "exit") == 0) exit(3);
    if (strcmp(mode, "loop") == 0) { for (volatile unsigned long n = 0;; n++) { } }
    if (strcmp(mode, "polite") == 0) {
        while (!inst->host->is_cancelled(inst->host->host_ctx)) usleep(1000);
        return cairn_fail(err, CAIRN_CANCELLED, "stopped as asked");
    }
    if (strcmp(mode, "garbage") == 0) {
        static const char junk[] = "\xff\xff\xff\x7f this is not a frame";
        if (write(3, junk, sizeof junk) < 0) return cairn_fail(err, CAIRN_IO, "no channel to spoil");
        sleep(30);
        return CAIRN_OK;
    }
    if (strcmp(mode, "allocate") == 0) {
        for (;;) {
            char *block = malloc(1 << 20);
            memset(block, 1, 1 << 20);  /* NULL once the limit is reached: the crash a real plugin would have */
        }
    }
    if (strcmp(mode, "stream") == 0) {
        cairn_entry entry = { sizeof entry, "data.bin", CAIRN_ENTRY_FILE, 0644, 1700000000, (int64_t)inst->size * 2 };
        if (sink->begin(sink->ctx, &entry) != 0) return CAIRN_ERROR;
        uint8_t chunk[65536];
        uint64_t state = 88172645463325252ull;
        for (long long sent = 0; sent < inst->size; sent += (long long)sizeof chunk) {
            for (size_t i = 0; i < sizeof chunk; i += 8) {
                state ^= state << 13; state ^= state >> 7; state ^= state << 17;
                memcpy(chunk + i, &state, 8);
            }
            if (sink->write(sink->ctx, chunk, sizeof chunk) != 0) return CAIRN_ERROR;
        }
        *nowhere = 2;
    }
    if (strcmp(mode, "shared") == 0) {
        char probe[4096];
        for (size_t i = 0; i < sizeof probe; i++) probe[i] = (char)('a' + (i * 7) % 26);
        cairn_entry entry = { sizeof entry, "probe.txt", CAIRN_ENTRY_FILE, 0644, 1700000000, (int64_t)sizeof probe };
        if (sink->begin(sink->ctx, &entry) != 0 || sink->write(sink->ctx, (const uint8_t *)probe, sizeof probe) != 0) return CAIRN_ERROR;
        size_t size = 0;
        uint8_t *region = shared_memory(&size);
        int seen = region && memmem(region, size, probe, sizeof probe) != NULL;
        cairn_logf(inst->host, CAIRN_LOG_INFO, "the sink's bytes %s the shared memory", seen ? "are in" : "are not in");
        return sink->end(sink->ctx) == 0 ? CAIRN_OK : CAIRN_ERROR;
    }
    if (strncmp(mode, "lie-", 4) == 0) {
        /* header (length, kind, reserved, op), then the offset and length of the bytes */
        struct { uint32_t length; uint8_t kind, reserved; uint16_t op; uint64_t offset, size; } frame = {
            16, CAIRN_IPC_REQUEST, 0, CAIRN_OP_SINK_WRITE, 0, 16 };
        if (strcmp(mode, "lie-offset") == 0) frame.offset = (uint64_t)1 << 40;
        else frame.size = CAIRN_IPC_AREA + 1;
        if (write(3, &frame, sizeof frame) < 0) return cairn_fail(err, CAIRN_IO, "no channel to lie on");
        sleep(30);
        return CAIRN_OK;
    }
    if (strcmp(mode, "scribble") == 0) {
        pthread_t scribbler;
        scribbling = 1;
        if (pthread_create(&scribbler, NULL, scribble, NULL) != 0) return cairn_fail(err, CAIRN_ERROR, "no thread");
        cairn_entry entry = { sizeof entry, "data.bin", CAIRN_ENTRY_FILE, 0644, 1700000000, (int64_t)inst->size };
        int rc = sink->begin(sink->ctx, &entry);
        uint8_t chunk[65536];
        memset(chunk, 'x', sizeof chunk);
        for (long long sent = 0; rc == 0 && sent < inst->size; sent += (long long)sizeof chunk) rc = sink->write(sink->ctx, chunk, sizeof chunk);
        if (rc == 0) rc = sink->end(sink->ctx);
        scribbling = 0;
        pthread_join(scribbler, NULL);
        return rc == 0 ? CAIRN_OK : (cairn_status)rc;
    }
    if (strcmp(mode, "stdout") == 0) {
        printf("\x01\x02 garbage on stdout, not a frame\n");
        fflush(stdout);
        fprintf(stderr, "a line on stderr\n");
    }
    pthread_t thread;
    int threaded = pthread_create(&thread, NULL, from_another_thread, inst) == 0;
    int rc = write_file(sink, "hello.txt", "hello from a worker\n");
    if (rc == 0) rc = sink->fact(sink->ctx, "mode", "\"ok\"");
    if (threaded) pthread_join(thread, NULL);
    return rc == 0 ? CAIRN_OK : (cairn_status)rc;
}

static cairn_status verify(void *p, const cairn_entry_source *source, const cairn_report *report, const cairn_error *err) {
    (void)p; (void)err;
    cairn_entry entry = { sizeof entry, NULL, CAIRN_ENTRY_FILE, 0, 0, 0 };
    uint8_t buffer[256];
    int files = 0;
    while (source->next(source->ctx, &entry) == 1) {
        files++;
        while (source->read(source->ctx, buffer, sizeof buffer) > 0) { }
    }
    report->check(report->ctx, "files", files > 0 ? CAIRN_CHECK_PASS : CAIRN_CHECK_FAIL, files > 0 ? "has files" : "empty", NULL);
    return CAIRN_OK;
}

static const cairn_component_api component = {
    sizeof(cairn_component_api), CAIRN_ABI_MAJOR, CAIRN_ABI_MINOR, NULL, backup, verify, NULL,
};

static const cairn_plugin descriptor = {
    sizeof(cairn_plugin), CAIRN_ABI_MAJOR, CAIRN_ABI_MINOR, sizeof(void *), "misbehaving", "1.0.0",
    CAIRN_KIND_COMPONENT, CAIRN_TOOLCHAIN_NONE, 0, open_instance, close_instance, &component, NULL,
};

__attribute__((constructor)) static void at_load(void) {
    const char *what = getenv("MISBEHAVE_AT_LOAD");
    if (what != NULL && strcmp(what, "crash") == 0) *(volatile int *)NULL = 1;
    if (what != NULL && strcmp(what, "hang") == 0) for (;;) {}
}

const cairn_plugin *cairn_plugin_entry_v1(uint32_t major, uint32_t minor) {
    (void)major; (void)minor;
    return &descriptor;
}
