/*
 * verify.c -- checks a stored backup beyond the host's checksums: every entry path is safe to
 * restore, every file holds the size its entry announces, and the file count matches the one
 * recorded at backup time.
 */
#include "directory_internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct verify_state {
    uint64_t files, directories, bytes, problems;
    char first_problem[768];
    const char *metadata_note;
} verify_state;

__attribute__((format(printf, 2, 3))) static void problem(verify_state *v, const char *format,
                                                          ...) {
    if (v->problems++ > 0) return;
    va_list args;
    va_start(args, format);
    vsnprintf(v->first_problem, sizeof v->first_problem, format, args);
    va_end(args);
}

/* Reads the current entry to its end; `*got` receives the byte count. Only the count matters
 * here, so a host that can skip (ABI 1.3) checks the bytes without handing them over. */
static int drain(const dir_instance *inst, const cairn_entry_source *source, uint8_t *buffer,
                 int64_t *got, const cairn_error *err) {
    int skips = CAIRN_HAS_FIELD(cairn_entry_source, source, skip) && source->skip != NULL;
    *got = 0;
    for (;;) {
        if (walk_cancelled(inst->host)) {
            return cairn_fail(err, CAIRN_CANCELLED, "verify of '%s' cancelled", inst->path);
        }
        int64_t n = skips ? source->skip(source->ctx) : source->read(source->ctx, buffer, DIR_CHUNK_SIZE);
        if (n < 0) return (int)-n; /* the host already knows why */
        *got += n;
        if (n == 0 || skips) return 0;
    }
}

static int verify_entry(const dir_instance *inst, const cairn_entry_source *source,
                        const cairn_entry *entry, verify_state *v, uint8_t *buffer,
                        const cairn_error *err) {
    const char *path = entry->path != NULL ? entry->path : "";
    const char *why = path_problem(entry->path);
    if (why != NULL) problem(v, "entry '%s' %s and cannot be restored safely", path, why);
    if (entry->type == CAIRN_ENTRY_DIRECTORY) {
        v->directories++;
        return 0;
    }
    if (entry->type != CAIRN_ENTRY_FILE) {
        problem(v, "entry '%s' has unknown type %d", path, (int)entry->type);
        return 0;
    }
    int64_t got;
    int rc = drain(inst, source, buffer, &got, err);
    if (rc != 0) return rc;
    v->files++;
    v->bytes += (uint64_t)got;
    if (entry->size != CAIRN_SIZE_UNKNOWN && got != entry->size) {
        problem(v, "file '%s' holds %" PRId64 " bytes but its entry says %" PRId64, path, got,
                entry->size);
    }
    return 0;
}

static void compare_metadata(const cairn_entry_source *source, verify_state *v) {
    int64_t recorded = 0;
    cairn_status found = CAIRN_HAS_FIELD(cairn_entry_source, source, fact_int)
                             ? source->fact_int(source->ctx, "files", &recorded)
                             : CAIRN_UNSUPPORTED;
    if (found == CAIRN_OK && (recorded < 0 || (uint64_t)recorded != v->files)) {
        problem(v, "the archive holds %" PRIu64 " files but backup_metadata.json records %" PRId64,
                v->files, recorded);
    }
    v->metadata_note = found == CAIRN_OK          ? "; file count matches backup_metadata.json"
                       : found == CAIRN_NOT_FOUND ? "; backup_metadata.json records no file count"
                                                  : "; backup_metadata.json could not be read for the file count";
}

static int report_result(const cairn_report *report, const verify_state *v) {
    char detail[192];
    snprintf(detail, sizeof detail,
             "{\"files\":%" PRIu64 ",\"directories\":%" PRIu64 ",\"bytes\":%" PRIu64
             ",\"problems\":%" PRIu64 "}",
             v->files, v->directories, v->bytes, v->problems);
    if (v->problems > 0) {
        return report_check(report, "tree", CAIRN_CHECK_FAIL, detail,
                            "%" PRIu64 " problem(s), the first: %s", v->problems, v->first_problem);
    }
    return report_check(report, "tree", CAIRN_CHECK_PASS, detail,
                        "%" PRIu64 " files, %" PRIu64 " directories, %" PRIu64 " bytes%s", v->files,
                        v->directories, v->bytes, v->metadata_note);
}

cairn_status dir_verify(void *instance, const cairn_entry_source *source,
                        const cairn_report *report, const cairn_error *err) {
    const dir_instance *inst = instance;
    if (inst == NULL || source == NULL || !source->next || !source->read || report == NULL ||
        !report->check) {
        return cairn_fail(err, CAIRN_INVALID, "verify: no instance, source or report given");
    }
    verify_state v;
    memset(&v, 0, sizeof v);
    uint8_t *buffer = malloc(DIR_CHUNK_SIZE);
    if (buffer == NULL) return cairn_fail(err, CAIRN_ERROR, "out of memory verifying a backup");
    int rc = 0;
    for (;;) {
        cairn_entry entry;
        memset(&entry, 0, sizeof entry);
        entry.struct_size = sizeof entry;
        int more = source->next(source->ctx, &entry);
        if (more <= 0) {
            rc = -more;
            break;
        }
        if ((rc = verify_entry(inst, source, &entry, &v, buffer, err)) != 0) break;
    }
    free(buffer);
    if (rc != 0) return (cairn_status)rc;
    compare_metadata(source, &v);
    return (cairn_status)report_result(report, &v);
}
