/* A minimal storage plugin compiled by the tests in several deliberately broken variants, to prove
 * that the loader refuses each with a specific message. Build flags pick the defect:
 *   -DNO_ENTRY           export no cairn_plugin_entry_v1 (but a v2 entry)
 *   -DABI_MAJOR=2        claim another ABI major
 *   -DSHORT_STRUCT       report a struct_size smaller than v1.0's
 *   -DTOOLCHAIN="..."    carry a Swift toolchain stamp from another compiler
 *   -DNAME="..."         disagree with the manifest's name
 *   -DNO_COMMIT          leave a required storage function NULL
 * It also exports native actions of every type, called through libffi by NativeActionTests, and
 * serves reads of made-up objects (StoreReadTests): "good/N" holds N bytes of a pattern, "bad/N"
 * fails with a message after them, and "liar/N" claims one byte more than the buffer holds. Reads
 * come in uneven pieces, as from a network.
 */
#include "cairn_plugin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef ABI_MAJOR
#define ABI_MAJOR CAIRN_ABI_MAJOR
#endif
#ifndef TOOLCHAIN
#define TOOLCHAIN CAIRN_TOOLCHAIN_NONE
#endif
#ifndef CAPABILITIES
#define CAPABILITIES 0
#endif
#ifndef NAME
#define NAME "teststore"
#endif

static cairn_status open_instance(const cairn_host_api *host, void **instance, const cairn_error *err) {
    (void)host; (void)err; *instance = NULL; return CAIRN_OK;
}
static void close_instance(void *instance) { (void)instance; }
static cairn_status unsupported(const cairn_error *err) { return cairn_fail(err, CAIRN_UNSUPPORTED, "test plugin"); }
static cairn_status open_writer(void *i, const char *k, void **w, const cairn_error *e) { (void)i; (void)k; (void)w; return unsupported(e); }
static cairn_status write_data(void *w, const uint8_t *d, size_t n, const cairn_error *e) { (void)w; (void)d; (void)n; return unsupported(e); }
static cairn_status commit(void *w, const cairn_error *e) { (void)w; return unsupported(e); }
static void abort_writer(void *w) { (void)w; }

typedef struct reader { long long at, size; int fails, lies; } reader;

static cairn_status open_reader(void *i, const char *k, void **r, const cairn_error *e) {
    (void)i;
    int fails = strncmp(k, "bad/", 4) == 0, lies = strncmp(k, "liar/", 5) == 0;
    if (!fails && !lies && strncmp(k, "good/", 5) != 0) return cairn_fail(e, CAIRN_NOT_FOUND, "no object '%s'", k);
    reader *made = calloc(1, sizeof *made);
    made->size = atoll(strchr(k, '/') + 1);
    made->fails = fails;
    made->lies = lies;
    *r = made;
    return CAIRN_OK;
}
/* Byte i of every object: a pattern that does not repeat at any power of two. */
static uint8_t pattern(long long i) { return (uint8_t)(i * 7 + i / 251); }
static int64_t read_data(void *r, uint8_t *b, size_t n, const cairn_error *e) {
    reader *rd = r;
    if (rd->lies) return (int64_t)n + 1;
    if (rd->at == rd->size) {
        if (rd->fails) return -(int64_t)cairn_fail(e, CAIRN_IO, "the disk went away after %lld bytes", rd->size);
        return 0;
    }
    long long piece = 1 + (rd->at * 31 + 12345) % 100003;  /* uneven, at most ~100 KB */
    if (piece > (long long)n) piece = (long long)n;
    if (piece > rd->size - rd->at) piece = rd->size - rd->at;
    for (long long j = 0; j < piece; j++) b[j] = pattern(rd->at + j);
    rd->at += piece;
    return piece;
}
static void close_reader(void *r) { free(r); }
/* An empty store: enough for cairn prune to reach the store's own cleanup action. */
static cairn_status list(void *i, const char *p, const char *t, uint32_t m, const cairn_object_sink *s, const cairn_error *e) {
    (void)i; (void)p; (void)t; (void)m; (void)s; (void)e; return CAIRN_OK;
}
static cairn_status stat_object(void *i, const char *k, const cairn_object_sink *s, const cairn_error *e) { (void)i; (void)k; (void)s; return unsupported(e); }
static cairn_status copy(void *i, const char *a, const char *b, const cairn_error *e) { (void)i; (void)a; (void)b; return unsupported(e); }
static cairn_status remove_object(void *i, const char *k, const cairn_error *e) { (void)i; (void)k; return unsupported(e); }
static cairn_status check_access(void *i, const cairn_report *r, const cairn_error *e) {
    (void)i; (void)e; r->check(r->ctx, "test", CAIRN_CHECK_PASS, "reachable", NULL); return CAIRN_OK;
}

static const cairn_storage_api storage_api = {
    sizeof(cairn_storage_api), CAIRN_ABI_MAJOR, CAIRN_ABI_MINOR,
    open_writer, write_data,
#ifdef NO_COMMIT
    NULL,
#else
    commit,
#endif
    abort_writer, open_reader, read_data, close_reader, list, stat_object, copy, remove_object, check_access,
};

static const cairn_plugin descriptor = {
#ifdef SHORT_STRUCT
    offsetof(cairn_plugin, component),
#else
    sizeof(cairn_plugin),
#endif
    ABI_MAJOR, CAIRN_ABI_MINOR, sizeof(void *),
    NAME, "1.0.0", CAIRN_KIND_STORAGE, TOOLCHAIN, CAPABILITIES,
    open_instance, close_instance, NULL, &storage_api,
};

#ifdef NO_ENTRY
__attribute__((visibility("default"))) const cairn_plugin *cairn_plugin_entry_v2(uint32_t major, uint32_t minor) {
    (void)major; (void)minor; return &descriptor;
}
#else
__attribute__((visibility("default"))) const cairn_plugin *cairn_plugin_entry_v1(uint32_t major, uint32_t minor) {
    (void)minor;
    return major == CAIRN_ABI_MAJOR ? &descriptor : NULL;
}
#endif

/* A native action, declared in the manifest of some variants. */
__attribute__((visibility("default"))) int64_t teststore_add(const cairn_host_api *host, int64_t a, int64_t b) {
    (void)host; return a + b;
}

/* Native actions covering every parameter and return type, for the libffi marshalling tests. */
#define TEST_ACTION __attribute__((visibility("default")))

TEST_ACTION int32_t teststore_negate32(const cairn_host_api *host, int32_t value) {
    (void)host; return -value;
}
TEST_ACTION uint32_t teststore_xor32(const cairn_host_api *host, uint32_t a, uint32_t b) {
    (void)host; return a ^ b;
}
TEST_ACTION uint64_t teststore_half64(const cairn_host_api *host, uint64_t value) {
    (void)host; return value / 2;
}
TEST_ACTION double teststore_scale(const cairn_host_api *host, double value, double factor) {
    (void)host; return value * factor;
}
TEST_ACTION int teststore_not(const cairn_host_api *host, int flag) {
    (void)host; return !flag;
}
/* More arguments than x86-64 and AArch64 pass in registers, of every type, so some go on the stack. */
TEST_ACTION double teststore_mix(const cairn_host_api *host, int32_t a, uint32_t b, int64_t c, uint64_t d,
                                 double e, int f, const char *s, int32_t g, int64_t h) {
    (void)host;
    return (double)a + (double)b + (double)c + (double)d + e + (f ? 1000.0 : 0.0) + (double)strlen(s)
           + (double)g + (double)h;
}
/* "hello, <name>" in host-allocated memory, or NULL for an empty name. */
TEST_ACTION char *teststore_greet(const cairn_host_api *host, const char *name) {
    if (name[0] == '\0') return NULL;
    size_t size = strlen("hello, ") + strlen(name) + 1;
    char *text = host->alloc(host->host_ctx, size);
    if (text != NULL) snprintf(text, size, "hello, %s", name);
    return text;
}
/* The setting `key` as config_get returns it, copied for the host, or NULL when unset. */
TEST_ACTION char *teststore_setting(const cairn_host_api *host, const char *key) {
    const char *value = host->config_get(host->host_ctx, key);
    if (value == NULL) return NULL;
    char *copy = host->alloc(host->host_ctx, strlen(value) + 1);
    if (copy != NULL) strcpy(copy, value);
    return copy;
}
/* Logs `message` and creates the file `name` in the host's temporary folder. */
TEST_ACTION void teststore_touch(const cairn_host_api *host, const char *name, const char *message) {
    cairn_logf(host, CAIRN_LOG_WARNING, "%s", message);
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", host->temp_dir(host->host_ctx), name);
    FILE *file = fopen(path, "w");
    if (file != NULL) fclose(file);
}
/* Stands in for a store's abort_stale_uploads (called by cairn prune): encodes what it was given,
 * the prefix's length * 1000 plus the age in days, so the test can see both arguments arrived. */
TEST_ACTION int64_t teststore_abort_stale_uploads(const cairn_host_api *host, const char *prefix, int64_t older_than_seconds) {
    (void)host; return (int64_t)strlen(prefix) * 1000 + older_than_seconds / 86400;
}
