/* A minimal storage plugin compiled by the tests in several deliberately broken variants, to prove
 * that the loader refuses each with a specific message. Build flags pick the defect:
 *   -DNO_ENTRY           export no cairn_plugin_entry_v1 (but a v2 entry)
 *   -DABI_MAJOR=2        claim another ABI major
 *   -DSHORT_STRUCT       report a struct_size smaller than v1.0's
 *   -DTOOLCHAIN="..."    carry a Swift toolchain stamp from another compiler
 *   -DNAME="..."         disagree with the manifest's name
 *   -DNO_COMMIT          leave a required storage function NULL
 */
#include "cairn_plugin.h"

#ifndef ABI_MAJOR
#define ABI_MAJOR CAIRN_ABI_MAJOR
#endif
#ifndef TOOLCHAIN
#define TOOLCHAIN CAIRN_TOOLCHAIN_NONE
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
static cairn_status open_reader(void *i, const char *k, void **r, const cairn_error *e) { (void)i; (void)k; (void)r; return unsupported(e); }
static int64_t read_data(void *r, uint8_t *b, size_t n, const cairn_error *e) { (void)r; (void)b; (void)n; (void)e; return -CAIRN_UNSUPPORTED; }
static void close_reader(void *r) { (void)r; }
static cairn_status list(void *i, const char *p, const char *t, uint32_t m, const cairn_object_sink *s, const cairn_error *e) {
    (void)i; (void)p; (void)t; (void)m; (void)s; return unsupported(e);
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
    NAME, "1.0.0", CAIRN_KIND_STORAGE, TOOLCHAIN, 0,
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
