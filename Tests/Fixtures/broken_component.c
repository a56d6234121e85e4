/*
 * broken_component.c -- a component plugin that breaks the rules `cairn plugins test` checks, one
 * per operation, so that the suite's reasons can be asserted: its verify reports a pass without
 * reading anything, its restore fails without a message, its backup ignores cancellation for
 * three seconds, and a thread it starts logs after the backup returned.
 */
#include "cairn_plugin.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

static cairn_status broken_open(const cairn_host_api *host, void **instance, const cairn_error *err) {
    (void)err;
    *instance = (void *)host;
    return CAIRN_OK;
}

static void broken_close(void *instance) { (void)instance; }

static void *late_logger(void *data) {
    const cairn_host_api *host = data;
    usleep(100 * 1000);
    host->log(host->host_ctx, CAIRN_LOG_INFO, "still here after the backup returned");
    return NULL;
}

static cairn_status broken_backup(void *instance, const cairn_backup_request *request, const cairn_entry_sink *sink,
                                  const cairn_error *err) {
    const cairn_host_api *host = instance;
    (void)request;
    (void)err;
    if (host->is_cancelled(host->host_ctx)) sleep(3); /* seen, and ignored */
    static const char data[] = "some data that verify never reads\n";
    cairn_entry entry = {sizeof entry, "data.txt", CAIRN_ENTRY_FILE, 0644, 1700000000, sizeof data - 1};
    int rc;
    if ((rc = sink->begin(sink->ctx, &entry)) || (rc = sink->write(sink->ctx, (const uint8_t *)data, sizeof data - 1)) ||
        (rc = sink->end(sink->ctx)))
        return (cairn_status)rc;
    pthread_t thread;
    if (pthread_create(&thread, NULL, late_logger, (void *)host) == 0) pthread_detach(thread);
    return CAIRN_OK;
}

static cairn_status broken_verify(void *instance, const cairn_entry_source *source, const cairn_report *report,
                                  const cairn_error *err) {
    (void)instance;
    (void)source;
    (void)err;
    return (cairn_status)report->check(report->ctx, "looks fine", CAIRN_CHECK_PASS, "did not look", NULL);
}

static cairn_status broken_restore(void *instance, const cairn_restore_request *request, const cairn_entry_source *source,
                                   const cairn_report *report, const cairn_error *err) {
    (void)instance;
    (void)request;
    (void)source;
    (void)report;
    (void)err;
    return CAIRN_IO;
}

static const cairn_component_api component = {
    sizeof component, CAIRN_ABI_MAJOR, CAIRN_ABI_MINOR, NULL, broken_backup, broken_verify, broken_restore,
};

static const cairn_plugin descriptor = {
    sizeof descriptor, CAIRN_ABI_MAJOR, CAIRN_ABI_MINOR, sizeof(void *), "broken", "1.0.0",
    CAIRN_KIND_COMPONENT, CAIRN_TOOLCHAIN_NONE, 0, broken_open, broken_close, &component, NULL,
};

__attribute__((visibility("default"))) const cairn_plugin *cairn_plugin_entry_v1(uint32_t major, uint32_t minor) {
    (void)minor;
    return major == CAIRN_ABI_MAJOR ? &descriptor : NULL;
}
