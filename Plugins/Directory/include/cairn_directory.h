/*
 * cairn_directory.h -- exported symbols of the Cairn `directory` component plugin.
 *
 * The plugin itself is reached through cairn_plugin_entry_v1 (see cairn_plugin.h). The functions
 * below are native actions: plugin.json declares them under "actions" and the host calls them
 * through libffi, passing its service table as the first argument.
 */
#ifndef CAIRN_DIRECTORY_H
#define CAIRN_DIRECTORY_H

#include <stdint.h>

#include "cairn_plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define CAIRN_DIRECTORY_EXPORT __attribute__((visibility("default")))
#else
#define CAIRN_DIRECTORY_EXPORT
#endif

/** The plugin entry point (CAIRN_PLUGIN_ENTRY_SYMBOL): the descriptor, or NULL for a host whose
 *  ABI major is not 1. */
CAIRN_DIRECTORY_EXPORT const cairn_plugin *cairn_plugin_entry_v1(uint32_t host_abi_major,
                                                                 uint32_t host_abi_minor);

/**
 * Native action "count_files": the number of regular files under the directory `path`.
 *
 * Symbolic links are neither followed nor counted, so the count matches what is on disk under
 * `path` itself. `path` is borrowed for the call. `host` may be NULL (then errors are not logged).
 *
 * Returns the count, or -1 on error (missing or unreadable directory, cancellation) after logging
 * the reason, with the path and the system error, through `host->log`.
 */
CAIRN_DIRECTORY_EXPORT int64_t cairn_directory_count_files(const cairn_host_api *host,
                                                           const char *path);

/**
 * Native action "describe": "N files, M bytes" for the regular files under the directory `path`,
 * counted as count_files counts them (M is the sum of their sizes).
 *
 * The string is allocated with `host->alloc` and belongs to the caller, who frees it with
 * `host->free` (the host does this for every "string" result). Returns NULL on error after
 * logging the reason, and also when `host` is NULL (nobody could free the result).
 */
CAIRN_DIRECTORY_EXPORT char *cairn_directory_describe(const cairn_host_api *host, const char *path);

#ifdef __cplusplus
}
#endif

#endif /* CAIRN_DIRECTORY_H */
