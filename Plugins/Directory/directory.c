/*
 * directory.c -- descriptor, entry point and settings of the `directory` component plugin.
 *
 * The plugin backs up one directory tree as archive entries (directories and regular files with
 * mode and mtime) and restores it into an empty directory. It is written in plain C11 + POSIX on
 * purpose: it proves that the Cairn ABI needs nothing but C.
 */
#include "directory_internal.h"

#include <stdlib.h>
#include <string.h>

static int setting_is_set(const char *value) {
    return value != NULL && value[0] != '\0';
}

static cairn_status read_path(dir_instance *inst, const cairn_error *err) {
    const char *path = inst->host->config_get(inst->host->host_ctx, "path");
    if (!setting_is_set(path)) {
        return cairn_fail(err, CAIRN_INVALID,
                          "setting 'path' is required: the directory to back up (config "
                          "components.<name>.path or CAIRN_DIRECTORY_PATH)");
    }
    inst->path = strdup(path);
    if (inst->path == NULL) return cairn_fail(err, CAIRN_ERROR, "out of memory reading 'path'");
    return CAIRN_OK;
}

static cairn_status read_exclude(dir_instance *inst, const cairn_error *err) {
    const char *const *items = NULL;
    size_t count = 0;
    cairn_status status = inst->host->config_list(inst->host->host_ctx, "exclude", &items, &count, err);
    if (status == CAIRN_NOT_FOUND) return CAIRN_OK;
    if (status != CAIRN_OK) return status; /* the host named the setting */
    char why[256];
    if (!exclude_list_copy(&inst->exclude, items, count, why, sizeof why)) {
        return cairn_fail(err, CAIRN_INVALID,
                          "setting 'exclude' must be a list of patterns such as "
                          "[\"*.tmp\", \"cache/*\"]: %s",
                          why);
    }
    return CAIRN_OK;
}

static cairn_status read_symlinks(dir_instance *inst, const cairn_error *err) {
    const char *value = inst->host->config_get(inst->host->host_ctx, "symlinks");
    if (value == NULL || strcmp(value, "refuse") == 0) {
        inst->skip_symlinks = 0;
    } else if (strcmp(value, "skip") == 0) {
        inst->skip_symlinks = 1;
    } else {
        return cairn_fail(err, CAIRN_INVALID,
                          "setting 'symlinks' must be 'refuse' or 'skip', not '%s'", value);
    }
    return CAIRN_OK;
}

static cairn_status read_keep_special_modes(dir_instance *inst, const cairn_error *err) {
    cairn_status status = inst->host->config_bool(inst->host->host_ctx, "keep_special_modes",
                                                  &inst->keep_special_modes, err);
    if (status == CAIRN_NOT_FOUND) inst->keep_special_modes = 0;
    return status == CAIRN_NOT_FOUND ? CAIRN_OK : status;
}

static void dir_close(void *instance) {
    dir_instance *inst = instance;
    if (inst == NULL) return;
    exclude_list_free(&inst->exclude);
    free(inst->path);
    free(inst);
}

static cairn_status dir_open(const cairn_host_api *host, void **instance, const cairn_error *err) {
    if (instance == NULL) return cairn_fail(err, CAIRN_INVALID, "open: no instance slot given");
    *instance = NULL;
    if (host == NULL || !CAIRN_HAS_FIELD(cairn_host_api, host, set_interrupt)) {
        return cairn_fail(err, CAIRN_INVALID, "open: the host lacks ABI 1.1's typed settings");
    }
    dir_instance *inst = calloc(1, sizeof *inst);
    if (inst == NULL) return cairn_fail(err, CAIRN_ERROR, "out of memory opening the instance");
    inst->host = host;
    cairn_status status = read_path(inst, err);
    if (status == CAIRN_OK) status = read_exclude(inst, err);
    if (status == CAIRN_OK) status = read_symlinks(inst, err);
    if (status == CAIRN_OK) status = read_keep_special_modes(inst, err);
    if (status != CAIRN_OK) {
        dir_close(inst);
        return status;
    }
    *instance = inst;
    return CAIRN_OK;
}

static const cairn_component_api component_api = {
    .struct_size = sizeof(cairn_component_api),
    .abi_major = CAIRN_ABI_MAJOR,
    .abi_minor = CAIRN_ABI_MINOR,
    .check = dir_check,
    .backup = dir_backup,
    .verify = dir_verify,
    .restore = dir_restore,
};

static const cairn_plugin descriptor = {
    .struct_size = sizeof(cairn_plugin),
    .abi_major = CAIRN_ABI_MAJOR,
    .abi_minor = CAIRN_ABI_MINOR,
    .pointer_size = sizeof(void *),
    .name = "directory",
    .version = "1.0.0",
    .kind = CAIRN_KIND_COMPONENT,
    .toolchain = CAIRN_TOOLCHAIN_NONE,
    .capabilities = 0,
    .open = dir_open,
    .close = dir_close,
    .component = &component_api,
    .storage = NULL,
};

const cairn_plugin *cairn_plugin_entry_v1(uint32_t host_abi_major, uint32_t host_abi_minor) {
    /* Reads settings and facts through ABI 1.1's typed getters: a 1.0 host has none of them. */
    return host_abi_major == CAIRN_ABI_MAJOR && host_abi_minor >= 1 ? &descriptor : NULL;
}
