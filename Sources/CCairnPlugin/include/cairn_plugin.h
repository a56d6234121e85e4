/*
 * cairn_plugin.h -- the Cairn plugin ABI, version 1.
 *
 * This header is the whole contract between the Cairn host and a plugin. Nothing else crosses:
 * only C types (POD structs, function pointers, `void *` contexts, byte buffers). A plugin may be
 * written in C, C++, Rust, Zig or Swift; a Swift plugin must still speak only through these types.
 *
 * ------------------------------------------------------------------------------------------------
 * HOW A PLUGIN IS LOADED
 *
 *   1. The host reads `plugin.json` next to the shared library (no plugin code runs for this).
 *   2. It opens the library with dlopen(RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE). It never unloads it.
 *   3. It looks up the exported function `cairn_plugin_entry_v1` (CAIRN_PLUGIN_ENTRY_SYMBOL) and calls
 *      it with the host's ABI version. The plugin returns a pointer to a static, constant
 *      `cairn_plugin` descriptor (or NULL if it cannot work with that host).
 *   4. The host validates the descriptor (struct_size, abi_major, pointer size, toolchain stamp,
 *      name/kind/version against the manifest) and refuses the plugin, naming the field, if
 *      anything differs. Validation fails closed.
 *   5. For each configured instance the host calls `open`, then the kind's operations, then `close`.
 *
 * ------------------------------------------------------------------------------------------------
 * VERSIONING RULES (read before changing this file)
 *
 *   - The entry symbol carries the major version. A future v2 host looks up `cairn_plugin_entry_v2`
 *     first and may adapt v1 plugins; a v1 host never loads a plugin that only exports v2.
 *   - Every struct starts with `struct_size`, `abi_major`, `abi_minor`, except the small value
 *     structs (cairn_entry, cairn_object_info and the request structs), which start with
 *     `struct_size` only. A minor version only APPENDS fields at the end of structs. Fields are never
 *     removed, reordered or retyped within a major version.
 *   - Whoever reads a struct checks `struct_size` before touching a field added after v1.0. The host
 *     refuses a descriptor whose `struct_size` is smaller than v1.0's. Use CAIRN_HAS_FIELD() below.
 *   - Function pointers marked OPTIONAL may be NULL; the host then reports the operation as not
 *     supported by the plugin. Optional feature tables are reached through `host->get_api()`.
 *
 * ------------------------------------------------------------------------------------------------
 * MEMORY OWNERSHIP (one owner for every byte)
 *
 *   - BORROWED IN: every pointer the host passes to a plugin call (strings, structs, buffers) is valid
 *     for the duration of that call only. Copy what you keep. The one exception: the `host` table
 *     `open` receives, and the strings its services return, stay valid until `close` (see
 *     cairn_host_api), so an instance keeps `host` and uses it in later calls.
 *   - BORROWED OUT: every pointer a plugin passes to a host callback (entry paths, messages, object
 *     keys) is borrowed by the host for the duration of that callback only. The host copies what it
 *     keeps. A plugin may reuse or free its buffer as soon as the callback returns.
 *   - The descriptor returned by the entry function, and every string and table it points to, are
 *     owned by the plugin and must stay valid and unchanged for the life of the process.
 *   - Memory that crosses in the other direction and outlives a call (today: the return value of a
 *     native action with a string result) is allocated with `host->alloc` and freed by the host.
 *   - LENT (since 1.3): `sink->buffer` lends the plugin host memory to fill with entry data. It is
 *     the plugin's from that call until its `write` (or any other call of that sink), then the
 *     host's again: do not touch it after.
 *   - Bulk data never crosses as a whole buffer: it moves through the reader/writer callbacks below,
 *     in chunks the sender chooses. Neither side may assume a chunk size.
 *
 * ------------------------------------------------------------------------------------------------
 * THREADING AND CANCELLATION
 *
 *   - The host calls one instance from one thread at a time (CAIRN_CAP_THREAD_SAFE does not change
 *     that today). Different instances may be called from different threads concurrently.
 *   - Host services (every function of cairn_host_api and of the "cairn.store" table) may be called
 *     from ANY thread, concurrently, from the moment the host calls into the instance until that
 *     call returns: a plugin's worker threads may log, report progress, poll `is_cancelled`,
 *     allocate and read settings while the operation that started them runs. For a storage
 *     plugin, an open writer or reader counts as a call under way, from `open_writer` until
 *     `commit` or `abort` returns, from `open_reader` until `close_reader` returns (upload workers
 *     may run between `write` calls). Join or stop those threads before then; between calls, and
 *     after `close`, call nothing (`cairn plugins test` fails a plugin that does). (since 1.1;
 *     1.0 said "from the thread the host called the plugin on": a plugin that needs threads
 *     checks host->abi_minor >= 1.)
 *   - The callbacks handed to one operation (err, report, the entry sink and source, object sinks)
 *     may also be called from any thread during that operation, but one at a time: the plugin
 *     orders them (a mutex, or one thread doing the writing). The entry sink keeps the order of
 *     its calls as the archive's order.
 *   - Long operations poll `host->is_cancelled()` between chunks and return CAIRN_CANCELLED promptly.
 *     One that blocks (a socket, a server call, a child process) registers `host->set_interrupt`
 *     (since 1.1) so the host can wake it.
 *
 * ------------------------------------------------------------------------------------------------
 * SERIALIZABLE BY DESIGN
 *
 *   Every call takes and gives only strings, integers, POD structs and byte streams, so the host can
 *   run any plugin in a separate worker process and forward each call as a message, with streams as
 *   byte pipes. A plugin must therefore not rely on sharing memory with the host beyond a call, and
 *   must not call exit(), abort(), signal() or curl_global_init(): the host owns the process. A
 *   process, the host's or a worker's, may open, close and open again instances of the plugin in
 *   turn: keep per-instance state in the instance, not in globals.
 *
 * ------------------------------------------------------------------------------------------------
 * ERRORS
 *
 *   Operations return a cairn_status. On anything but CAIRN_OK the plugin should also describe what
 *   went wrong through `err->set(err->ctx, status, message)`: what failed, on which object, and how
 *   to fix it if known. The message must never contain credentials. If a host callback (a sink's
 *   write, say) returns non-zero, the plugin stops and returns that status; the host already knows why.
 */
#ifndef CAIRN_PLUGIN_H
#define CAIRN_PLUGIN_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ============================================================================================== */
/* Versions and identity                                                                          */
/* ============================================================================================== */

/** Major version: a different major is a different ABI. The entry symbol carries it. */
#define CAIRN_ABI_MAJOR 1
/** Minor version: grows when fields are appended. A plugin built against minor N runs on a host of
 *  any minor >= N, and on older hosts if it checks `struct_size` before using newer fields.
 *
 *  History (fields are marked "since 1.N" where they are declared; everything unmarked is 1.0):
 *    1.0  the first release.
 *    1.1  cairn_storage_api.put_if: conditional writes, for locks in the store.
 *         cairn_host_api: typed setting getters (config_int, config_bool, config_duration_ms,
 *         config_list) and set_interrupt, which wakes a blocked plugin on cancellation.
 *         cairn_entry_source: fact, fact_int (the backup's own facts in verify and restore).
 *         Host services callable from any thread during a call (THREADING).
 *    1.2  cairn_object_info.locked_until_ms: a store's retention lock (S3 Object Lock); the reserved
 *         source fact "partial" (cairn_entry_sink.fact): a backup saved with parts missing.
 *    1.3  cairn_entry_sink.buffer: the host lends the plugin memory to read entry data into, which
 *         spares a copy of every byte; cairn_entry_source.skip: an entry's data checked and counted
 *         without being handed over. */
#define CAIRN_ABI_MINOR 3

/** The one symbol every plugin exports (type `cairn_plugin_entry_fn`). */
#define CAIRN_PLUGIN_ENTRY_SYMBOL "cairn_plugin_entry_v1"

/** Toolchain stamp for plugins written in C, C++, Rust or anything that does not link the Swift
 *  runtime: such plugins are not tied to the host's compiler. */
#define CAIRN_TOOLCHAIN_NONE "none"

/** Toolchain stamp for plugins written in Swift. Swift has no stable ABI on Linux and the runtime
 *  library has an unversioned SONAME, so a Swift plugin runs only in a host built by the very same
 *  toolchain. The stamp is the version string of the Clang that the Swift compiler embeds (it names
 *  the toolchain build, down to its commit). Because this function is inline, a Swift plugin that
 *  calls it gets the stamp of the compiler that built the plugin; the host compares it with its own.
 *  The returned string is a literal: static storage, valid for the life of the process. */
#if defined(__clang_version__) /* only Clang has it; a C plugin built with GCC needs no stamp */
static inline const char *cairn_swift_toolchain(void) {
    return "swift/clang " __clang_version__;
}
#endif

/** True when a struct of `struct_size` bytes contains `field`: use before reading any field added
 *  after v1.0, e.g. CAIRN_HAS_FIELD(cairn_host_api, host, new_service). */
#define CAIRN_HAS_FIELD(type, ptr, field) \
    ((ptr)->struct_size >= offsetof(type, field) + sizeof(((type *)0)->field))

/** Status codes returned by every operation. Values are stable; new ones may be appended. */
typedef enum cairn_status {
    CAIRN_OK = 0,            /**< success */
    CAIRN_ERROR = 1,         /**< generic failure; the message says what */
    CAIRN_INVALID = 2,       /**< bad configuration or arguments (the operator can fix it) */
    CAIRN_NOT_FOUND = 3,     /**< the object, key, file or entry does not exist */
    CAIRN_IO = 4,            /**< a read, write, network or server error */
    CAIRN_CORRUPT = 5,       /**< data failed validation (checksum, format, truncation) */
    CAIRN_CHANGED = 6,       /**< a source changed while it was being read */
    CAIRN_UNSUPPORTED = 7,   /**< the plugin does not implement this operation or option */
    CAIRN_CANCELLED = 8,     /**< `is_cancelled()` became true and the plugin stopped */
    CAIRN_DENIED = 9         /**< permission or authentication failure */
} cairn_status;

/** Log levels for `host->log`. */
typedef enum cairn_log_level {
    CAIRN_LOG_DEBUG = 0,
    CAIRN_LOG_INFO = 1,
    CAIRN_LOG_WARNING = 2,
    CAIRN_LOG_ERROR = 3
} cairn_log_level;

/** What a plugin is. */
typedef enum cairn_plugin_kind {
    CAIRN_KIND_COMPONENT = 1, /**< backs up and restores something (Redis, Weaviate, a directory) */
    CAIRN_KIND_STORAGE = 2    /**< keeps archives somewhere (S3, a local directory) */
} cairn_plugin_kind;

/** Capability bits in `cairn_plugin.capabilities`. */
/** The instance's operations may be called from several threads at once. Recorded and shown by
 *  `cairn plugins inspect`; this host does not act on it yet: it calls each instance from one
 *  thread at a time whether or not the bit is set (THREADING above), so setting it is a promise
 *  for a later host and costs nothing today. It says nothing about host services, which every
 *  plugin may call from any thread during a call. */
#define CAIRN_CAP_THREAD_SAFE ((uint64_t)1 << 0)

/* ============================================================================================== */
/* Small shared structs                                                                           */
/* ============================================================================================== */

/** Error reporter handed to every operation. Host-owned; the plugin only calls `set`.
 *  `message` is borrowed for the call; the host copies it. Calling `set` again replaces the
 *  message. Never put secrets in it. */
typedef struct cairn_error {
    uint32_t struct_size; /**< sizeof(cairn_error) as the host compiled it */
    uint32_t abi_major;   /**< CAIRN_ABI_MAJOR of the host */
    uint32_t abi_minor;   /**< CAIRN_ABI_MINOR of the host */
    void *ctx;            /**< host context; pass it back unchanged */
    void (*set)(void *ctx, cairn_status status, const char *message);
} cairn_error;

/** Result of one check (pre-check, verification, access check). */
typedef enum cairn_check_status {
    CAIRN_CHECK_PASS = 0, /**< fine */
    CAIRN_CHECK_WARN = 1, /**< works, but the operator should look (e.g. CRC disabled) */
    CAIRN_CHECK_FAIL = 2  /**< blocks the backup (pre-check) or marks the backup bad (verify) */
} cairn_check_status;

/** Host-owned sink for check results. `name` is a short stable identifier ("ping", "memory",
 *  "rdb.crc64"); `message` one line for people (the host shows it in tables, logs and hook
 *  events, and turns any line break in it into "; "); `detail_json` is an optional JSON object
 *  with evidence, multi-line or structured (may be NULL). All three are borrowed for the
 *  callback. Returns 0, or non-zero when the host wants the plugin to stop. */
typedef struct cairn_report {
    uint32_t struct_size;
    uint32_t abi_major;
    uint32_t abi_minor;
    void *ctx;
    int (*check)(void *ctx, const char *name, cairn_check_status status, const char *message,
                 const char *detail_json);
} cairn_report;

/* ============================================================================================== */
/* Host services                                                                                  */
/* ============================================================================================== */

/** Services the host hands to `open`. Host-owned; valid until `close` returns. `host_ctx` is
 *  specific to the plugin instance (log lines are tagged with the instance and plugin name). */
typedef struct cairn_host_api {
    uint32_t struct_size; /**< check with CAIRN_HAS_FIELD before using fields newer than v1.0 */
    uint32_t abi_major;   /**< CAIRN_ABI_MAJOR of the host */
    uint32_t abi_minor;   /**< CAIRN_ABI_MINOR of the host */
    void *host_ctx;       /**< pass back unchanged to every service below */

    /** Write one line to the run log. `message` is borrowed; no trailing newline needed. */
    void (*log)(void *host_ctx, cairn_log_level level, const char *message);

    /** Report progress of the current operation: `done` of `total` BYTES, always (the host shows
     *  them as sizes and `--json` reports them as done_bytes/total_bytes; counts of other things,
     *  such as keys or objects, belong in a log line or a fact). `total` 0 means unknown. `what`
     *  names the item (borrowed, may be NULL). Cheap; call it per chunk if you like, the host
     *  rate-limits the display. */
    void (*progress)(void *host_ctx, uint64_t done, uint64_t total, const char *what);

    /** Non-zero once the operator or a deadline cancelled the run. Poll it between chunks. */
    int (*is_cancelled)(void *host_ctx);

    /** The instance's setting `key` as text, or NULL when it has no value. Settings come from
     *  `cairn.yaml`, overridden by the environment variable and then the flag the manifest
     *  declares; with none of them, the manifest's `default` is returned as if it had been
     *  written in cairn.yaml (so a plugin sees its default here and need not repeat it). The
     *  value has the setting's manifest type by then: a string or path as it is (a path made
     *  absolute), an `int` as its digits ("42": a manifest default of an int setting must be a
     *  JSON number, 42, and a quoted "42" is refused when the manifest is read), a `bool` as
     *  "true" or "false", a `list` or `map` as JSON text. Typed getters below (since 1.1) spare
     *  the parsing. The string is host-owned and valid until `close`. */
    const char *(*config_get)(void *host_ctx, const char *key);

    /** Like config_get for settings the manifest marks `secret` (passwords, API keys). Kept
     *  separate so the host never logs these values; the plugin must not log them either. */
    const char *(*secret_get)(void *host_ctx, const char *key);

    /** Allocate `size` bytes that the host will own and free (see MEMORY OWNERSHIP). Returns NULL
     *  on failure. Memory is counted against the plugin in the host's statistics. */
    void *(*alloc)(void *host_ctx, size_t size);

    /** Free memory from `alloc`. NULL is ignored. */
    void (*free)(void *host_ctx, void *ptr);

    /** Optional feature tables by name and minimum version, e.g. get_api(ctx, "cairn.store", 1).
     *  Returns a host-owned table valid for the process, or NULL if this host lacks it (or does
     *  not offer it to this instance). Every table starts with struct_size / abi_major /
     *  abi_minor. Tables so far: "cairn.store" v1 (cairn_store_api, below). Plugins must cope
     *  with NULL. */
    const void *(*get_api)(void *host_ctx, const char *name, uint32_t min_version);

    /** Directory where the plugin may create temporary files for this run (host-owned string,
     *  valid until `close`). The host removes it after the run. */
    const char *(*temp_dir)(void *host_ctx);

    /* ---- since 1.1 (check CAIRN_HAS_FIELD(cairn_host_api, host, field) before use) -------------
     * Settings read as the type the plugin wants, so a C plugin parses no text or JSON. Each
     * getter takes the same `key` as config_get and sees the same value (the manifest's default
     * when cairn.yaml, the environment and the flags give none). It returns CAIRN_OK and fills
     * `*out`; CAIRN_NOT_FOUND when the setting has no value (`*out` untouched, `err` untouched,
     * so a plugin can fall back to its own default); CAIRN_INVALID when the value does not fit
     * the type, with a message through `err` (which may be NULL) that names the setting: return
     * that status from `open` as it is, and the host adds where the value came from (a file
     * line, a variable, a flag). Secret settings are not read here (use secret_get). Thread rules: as every host service (THREADING above). */

    /** since 1.1. A whole number (a JSON number without fraction, or text such as "42"). */
    cairn_status (*config_int)(void *host_ctx, const char *key, int64_t *out, const cairn_error *err);

    /** since 1.1. A boolean as 1 or 0: JSON true/false, or the text true/false, yes/no, on/off,
     *  1/0 (any case). */
    cairn_status (*config_bool)(void *host_ctx, const char *key, int *out, const cairn_error *err);

    /** since 1.1. A duration in milliseconds: text such as "250ms", "30s", "5m", "1h30m", "2d",
     *  or a bare number of seconds ("90", 90, 1.5). Zero and negative durations are invalid. */
    cairn_status (*config_duration_ms)(void *host_ctx, const char *key, int64_t *out,
                                       const cairn_error *err);

    /** since 1.1. A list: `*items` receives a host-owned array of `*count` host-owned strings
     *  (strings as they are, other items as JSON text), valid until `close`. An empty list gives
     *  `*count` 0. A text value (an environment variable such as "a, b") is split at commas. */
    cairn_status (*config_list)(void *host_ctx, const char *key, const char *const **items,
                                size_t *count, const cairn_error *err);

    /** since 1.1. Registers `interrupt(data)`, which the host calls to wake the instance when the
     *  run is cancelled (a step's timeout, Ctrl-C, SIGTERM), as sqlite3_interrupt() wakes a
     *  query: a plugin blocked in a read, poll or server call cannot poll `is_cancelled`, so the
     *  callback makes the blocking call return (shut a socket down, write to a self-pipe, cancel a
     *  request), and the plugin then sees `is_cancelled` and returns CAIRN_CANCELLED.
     *  - It is called at most once per registration, on a thread of the host's (never the one
     *    that cancels, so a slow callback delays nothing else), while the plugin may be inside
     *    any call. Keep it short and thread-safe; it may call `is_cancelled` and `log`, and
     *    nothing else of the host.
     *  - If the run is already cancelled, it is called at once, before set_interrupt returns.
     *  - A new registration replaces the old one; `interrupt` NULL removes it. When set_interrupt
     *    returns, the previous callback is neither running nor will it be called, so its `data`
     *    may be freed. `close` removes the registration too.
     *  One registration per instance; in a native action, per call (it ends when the action
     *  returns). */
    void (*set_interrupt)(void *host_ctx, void (*interrupt)(void *data), void *data);
} cairn_host_api;

/* ============================================================================================== */
/* Archive entries: how components move bulk data                                                 */
/* ============================================================================================== */

/** Entry types a backup may contain. Links and devices are deliberately absent: a backup holds
 *  regular files and directories only, which keeps restores safe from link tricks. */
typedef enum cairn_entry_type {
    CAIRN_ENTRY_FILE = 0,
    CAIRN_ENTRY_DIRECTORY = 1
} cairn_entry_type;

/** Size value meaning "not known up front" (a stream without a length). The host then spools the
 *  data to its temp dir to learn the size before archiving it; give the size when you know it. */
#define CAIRN_SIZE_UNKNOWN ((int64_t)-1)

/** One archive entry. Whoever passes it owns it; the receiver borrows it for the callback. */
typedef struct cairn_entry {
    uint32_t struct_size;   /**< sizeof(cairn_entry) as the sender compiled it */
    const char *path;       /**< relative, '/'-separated, UTF-8; no leading '/', no '.'/'..' parts.
                                 The host prefixes the backup id folder; do not include it. */
    cairn_entry_type type;  /**< file or directory */
    uint32_t mode;          /**< permission bits (07777) */
    int64_t mtime;          /**< modification time, seconds since the Unix epoch */
    int64_t size;           /**< exact byte count of a file, or CAIRN_SIZE_UNKNOWN; 0 for dirs */
} cairn_entry;

/** Host-owned sink a component writes its backup into. Call order per entry:
 *  begin(entry) -> write(...)* -> end(). Directories take no writes. The host checks that exactly
 *  `size` bytes arrive (a short or long file fails the backup with CAIRN_CHANGED), hashes every
 *  byte, and writes tar + gzip straight into the storage backend. Each call returns 0 or a
 *  cairn_status to stop with. */
typedef struct cairn_entry_sink {
    uint32_t struct_size;
    uint32_t abi_major;
    uint32_t abi_minor;
    void *ctx;
    int (*begin)(void *ctx, const cairn_entry *entry);
    /** `data`: borrowed, or the address `buffer` (since 1.3) returned, filled with `len` bytes. */
    int (*write)(void *ctx, const uint8_t *data, size_t len);
    int (*end)(void *ctx);
    /** Add a source fact to backup_metadata.json under "source": `key` (e.g. "redis_version") and
     *  `json_value` (valid JSON text: "\"7.0.15\"", "42", "{...}"). Borrowed; may be called at any
     *  point of the backup; a later call with the same key replaces the value.
     *  Since 1.2 the key "partial" is reserved: a JSON string naming what the backup lacks (for
     *  example shards of a cluster that failed while the others were saved, as the operator
     *  allowed). The host stores, verifies and publishes the backup as usual and ends the backup
     *  step as partial (exit 3); an older host records the fact and ends it as a success. */
    int (*fact)(void *ctx, const char *key, const char *json_value);

    /* ---- since 1.3 (check CAIRN_HAS_FIELD(cairn_entry_sink, sink, buffer) before use) -------- */

    /** since 1.3. Lends host memory to read the current entry's next bytes into: returns its
     *  address and sets `*cap` to its size (64 KiB or more), or returns NULL with `*cap` 0 when
     *  there is none to lend (the backup is stopping, say): then write from a buffer of your own.
     *  Fill up to `*cap` bytes and pass the returned address and the count to `write`. The bytes
     *  then reach the archive without the copy `write` makes of a buffer of yours; in a worker
     *  process (isolation: process) the buffer lies in the memory the worker shares with the host,
     *  so nothing is copied across either. The buffer is the plugin's until that `write` or any
     *  other call of this sink, whichever comes first; a plugin that lets it go unused simply asks
     *  again. Call it between `begin` and `end` of a file. */
    uint8_t *(*buffer)(void *ctx, size_t *cap);
} cairn_entry_sink;

/** Host-owned source a component reads a stored backup from (for verify and restore). Before the
 *  plugin sees anything, the host has read the whole archive once and checked its structure and
 *  every SHA-256 in backup_metadata.json. While the plugin reads, the host hashes again and fails
 *  `read` with CAIRN_CORRUPT if the bytes differ from the metadata at the end of an entry. */
typedef struct cairn_entry_source {
    uint32_t struct_size;
    uint32_t abi_major;
    uint32_t abi_minor;
    void *ctx;
    /** Advance to the next entry and fill `*entry` (its strings are valid until the next call).
     *  The plugin owns `*entry` and sets `entry->struct_size` to the size it compiled before the
     *  call; the host fills only the fields that fit in that size.
     *  Paths are relative to the backup's folder, as the component wrote them; backup_metadata.json
     *  is not returned as an entry (see `metadata`). Returns 1 when an entry was produced, 0 at the
     *  end, or -cairn_status on error. Unread data of the previous entry is skipped (and still
     *  verified). */
    int (*next)(void *ctx, cairn_entry *entry);
    /** Read up to `cap` bytes of the current entry into `buf`. Returns the byte count, 0 at the end
     *  of the entry, or -cairn_status on error. */
    int64_t (*read)(void *ctx, uint8_t *buf, size_t cap);
    /** The backup's backup_metadata.json as text (host-owned, valid for the whole operation). */
    const char *(*metadata)(void *ctx);

    /* ---- since 1.1 (check CAIRN_HAS_FIELD(cairn_entry_source, source, field) before use) ------
     * The facts the plugin's backup reported through `sink->fact` (backup_metadata.json's
     * "source"), read back without parsing JSON. `key` is a fact's name, or a path into an object
     * fact with '.' between member names ("keys.db0.keys"); a fact whose own name contains '.'
     * is found by that name first. Callable from any thread during the operation. */

    /** since 1.1. The fact as text: a string without quotes, a number or boolean as written
     *  ("42", "true"), an object or list as JSON text. Host-owned, valid for the whole operation.
     *  NULL when the backup recorded no such fact. */
    const char *(*fact)(void *ctx, const char *key);

    /** since 1.1. The fact as a whole number: CAIRN_OK and `*out` filled; CAIRN_NOT_FOUND when
     *  absent; CAIRN_INVALID when it is not a whole number. */
    cairn_status (*fact_int)(void *ctx, const char *key, int64_t *out);

    /* ---- since 1.3 (check CAIRN_HAS_FIELD(cairn_entry_source, source, skip) before use) ------ */

    /** since 1.3. Passes over the rest of the current entry's data and returns how many bytes that
     *  was (0 at its end or for a directory), or -cairn_status: CAIRN_CORRUPT when the entry's
     *  bytes do not match backup_metadata.json. The host still reads and checks every byte; the
     *  plugin just does not receive them. For a verify that needs an entry's size, not its
     *  content. `read` then returns 0 until `next`. */
    int64_t (*skip)(void *ctx);
} cairn_entry_source;

/* ============================================================================================== */
/* Component plugins                                                                              */
/* ============================================================================================== */

/** What a backup is asked to produce. Host-owned, borrowed for the call. */
typedef struct cairn_backup_request {
    uint32_t struct_size;
    const char *backup_id;   /**< e.g. "redis_20261126_190102" */
    const char *component;   /**< the instance name from the config, e.g. "redis" */
    const char *environment; /**< e.g. "prod" */
    const char *options_json;/**< per-run options as a JSON object, e.g. {"type":"both"}; never NULL */
} cairn_backup_request;

/** What a restore is asked to do. Host-owned, borrowed for the call. */
typedef struct cairn_restore_request {
    uint32_t struct_size;
    const char *backup_id;    /**< the backup being restored */
    const char *target;       /**< where to restore: a directory, a URL; plugin-defined, never NULL */
    const char *options_json; /**< per-run options as a JSON object; never NULL */
} cairn_restore_request;

/** Operations of a component plugin. Plugin-owned, static. */
typedef struct cairn_component_api {
    uint32_t struct_size;
    uint32_t abi_major;
    uint32_t abi_minor;

    /** Pre-checks: is the source reachable and healthy enough to back up? Report each check
     *  through `report`; return CAIRN_OK when the checks ran (even if some failed), or an error if
     *  they could not run. OPTIONAL. */
    cairn_status (*check)(void *instance, const cairn_report *report, const cairn_error *err);

    /** Produce the backup as a sequence of entries into `sink`. Must not leave anything changed on
     *  the source it did not restore. REQUIRED. */
    cairn_status (*backup)(void *instance, const cairn_backup_request *request,
                           const cairn_entry_sink *sink, const cairn_error *err);

    /** Validate a stored backup beyond checksums (e.g. an RDB's CRC64): read entries from
     *  `source`, report findings through `report`. OPTIONAL. */
    cairn_status (*verify)(void *instance, const cairn_entry_source *source,
                           const cairn_report *report, const cairn_error *err);

    /** Restore a stored backup to `request->target`. OPTIONAL. */
    cairn_status (*restore)(void *instance, const cairn_restore_request *request,
                            const cairn_entry_source *source, const cairn_report *report,
                            const cairn_error *err);
} cairn_component_api;

/* ============================================================================================== */
/* Storage plugins                                                                                */
/* ============================================================================================== */

/** Facts about one stored object. Sender-owned, borrowed by the receiver for the callback. */
typedef struct cairn_object_info {
    uint32_t struct_size;
    const char *key;          /**< full key, e.g. "redis/prod/redis_20261126_190102.tar.gz" */
    uint64_t size;            /**< bytes */
    int64_t modified_ms;      /**< last modification, milliseconds since the Unix epoch */
    const char *etag;         /**< opaque version tag, or NULL */
    /** Since 1.2. 0: nothing stops a delete. Otherwise the store refuses to destroy the object
     *  before this time (milliseconds since the Unix epoch; INT64_MAX: a hold with no date, such
     *  as an S3 legal hold). Set by `stat` at least; `list` may leave it 0. */
    int64_t locked_until_ms;
} cairn_object_info;

/** Host-owned sink for `list` and `stat` results. Callbacks return 0, or non-zero to stop. */
typedef struct cairn_object_sink {
    uint32_t struct_size;
    uint32_t abi_major;
    uint32_t abi_minor;
    void *ctx;
    int (*object)(void *ctx, const cairn_object_info *info);
    /** `list` only: called once, after the page's objects, with the token for the next page
     *  (borrowed; opaque to the host). Not called on the last page. */
    int (*next_page)(void *ctx, const char *continuation_token);
} cairn_object_sink;

/** Operations of a storage plugin. Plugin-owned, static. Keys are '/'-separated and relative to
 *  the store's root (bucket or directory). A store must make an object visible atomically: readers
 *  see the previous object or the whole new one, never a part. */
typedef struct cairn_storage_api {
    uint32_t struct_size;
    uint32_t abi_major;
    uint32_t abi_minor;

    /** Start writing object `key`. Nothing is visible under `key` until `commit`. `*writer`
     *  receives the plugin's handle. REQUIRED. */
    cairn_status (*open_writer)(void *instance, const char *key, void **writer,
                                const cairn_error *err);
    /** Append `len` bytes (borrowed). REQUIRED. */
    cairn_status (*write)(void *writer, const uint8_t *data, size_t len, const cairn_error *err);
    /** Publish the object atomically and release the writer (also on failure). REQUIRED. */
    cairn_status (*commit)(void *writer, const cairn_error *err);
    /** Discard everything written and release the writer. Must leave no trace in the store.
     *  REQUIRED. */
    void (*abort)(void *writer);

    /** Open object `key` for reading; CAIRN_NOT_FOUND if absent. REQUIRED. */
    cairn_status (*open_reader)(void *instance, const char *key, void **reader,
                                const cairn_error *err);
    /** Read up to `cap` bytes into `buf`; returns the count, 0 at the end, or -cairn_status.
     *  REQUIRED. */
    int64_t (*read)(void *reader, uint8_t *buf, size_t cap, const cairn_error *err);
    /** Release a reader. REQUIRED. */
    void (*close_reader)(void *reader);

    /** List objects whose key starts with `prefix`, in key order, at most `max_keys` per call
     *  (0 = plugin default). `continuation_token` is NULL for the first page, else a token the
     *  previous call passed to `sink->next_page`. Temporary or hidden objects (names starting with
     *  '.') are not listed. REQUIRED. */
    cairn_status (*list)(void *instance, const char *prefix, const char *continuation_token,
                         uint32_t max_keys, const cairn_object_sink *sink, const cairn_error *err);
    /** Describe one object through `sink->object`; CAIRN_NOT_FOUND if absent. REQUIRED. */
    cairn_status (*stat)(void *instance, const char *key, const cairn_object_sink *sink,
                         const cairn_error *err);
    /** Copy `source_key` to `destination_key` atomically (replacing it). Used to publish
     *  latest.tar.gz after the new archive is verified. REQUIRED. */
    cairn_status (*copy)(void *instance, const char *source_key, const char *destination_key,
                         const cairn_error *err);
    /** Delete `key`; deleting a missing key is not an error. REQUIRED. */
    cairn_status (*remove)(void *instance, const char *key, const cairn_error *err);
    /** Check that the store is reachable, readable and writable (the runbook's
     *  `aws s3 ls` + `sts get-caller-identity`). Report each check. REQUIRED. */
    cairn_status (*check_access)(void *instance, const cairn_report *report,
                                 const cairn_error *err);

    /* ---- since 1.1 (the host checks struct_size before calling) ---- */

    /** OPTIONAL (since 1.1). Writes the small object `key` (`len` bytes, borrowed) in one go, only
     *  if a condition holds when it is written: `if_version` NULL means only if no object `key`
     *  exists (S3 If-None-Match: *, a filesystem exclusive create); otherwise only if the object's
     *  current etag equals `if_version` (S3 If-Match). Condition and write are one atomic step
     *  for every writer of the store, on any host. On success, describe the new object (its etag
     *  included) through `sink->object`. CAIRN_CHANGED when the condition does not hold, with
     *  nothing written. The host builds its locks on this (docs/pipelines.md); without it, the
     *  store offers no lock across hosts. Called from one thread at a time per instance. */
    cairn_status (*put_if)(void *instance, const char *key, const uint8_t *data, size_t len,
                           const char *if_version, const cairn_object_sink *sink, const cairn_error *err);
} cairn_storage_api;

/* ============================================================================================== */
/* Optional host table "cairn.store", version 1                                                   */
/* ============================================================================================== */

/** Name and version for host->get_api(host->host_ctx, CAIRN_STORE_API_NAME, CAIRN_STORE_API_VERSION). */
#define CAIRN_STORE_API_NAME "cairn.store"
#define CAIRN_STORE_API_VERSION 1

/** The store configured in cairn.yaml (`storage:`), offered to component plugins whose source
 *  writes straight into that store: Weaviate's backup-s3 module puts its files into the bucket
 *  Cairn keeps its archives in, and the plugin checks them and writes a metadata file beside them
 *  without credentials of its own. Bulk data still goes into the archive through the entry sink.
 *
 *  Host-owned and static; returned only to component instances. Every function takes the
 *  `host_ctx` of the instance's cairn_host_api and may be called only during a call the host
 *  made into that instance (the store is opened on first use). Keys are relative to the store's
 *  root, '/'-separated, as in cairn_storage_api. Every pointer passed in is borrowed for the call;
 *  every pointer passed to a callback is borrowed for that callback. On failure the function
 *  describes it through `err` and returns its status, as plugin operations do. */
typedef struct cairn_store_api {
    uint32_t struct_size; /**< sizeof(cairn_store_api) as the host compiled it */
    uint32_t abi_major;   /**< CAIRN_ABI_MAJOR of the host */
    uint32_t abi_minor;   /**< CAIRN_ABI_MINOR of the host */

    /** Every object whose key starts with `prefix`, in key order, all pages, one
     *  `sink->object` call each (`sink->next_page` is never called). The sink is plugin-owned;
     *  a non-zero return from it stops the listing and is returned as the status. */
    cairn_status (*list)(void *host_ctx, const char *prefix, const cairn_object_sink *sink,
                         const cairn_error *err);

    /** Streams object `key` through `chunk(chunk_ctx, data, len)`, in order, in chunks the host
     *  chooses; `data` is host-owned and borrowed for the callback. A non-zero return from
     *  `chunk` stops the read and is returned as the status. CAIRN_NOT_FOUND if `key` does not
     *  exist. */
    cairn_status (*read)(void *host_ctx, const char *key,
                         int (*chunk)(void *chunk_ctx, const uint8_t *data, size_t len),
                         void *chunk_ctx, const cairn_error *err);

    /** Writes object `key` with the `len` bytes at `data` (borrowed), replacing any object of
     *  that key atomically. Meant for small files such as metadata. */
    cairn_status (*write)(void *host_ctx, const char *key, const uint8_t *data, size_t len,
                          const cairn_error *err);
} cairn_store_api;

/* ============================================================================================== */
/* The plugin descriptor                                                                          */
/* ============================================================================================== */

/** Returned by the entry function. Plugin-owned, constant, valid for the life of the process. */
typedef struct cairn_plugin {
    uint32_t struct_size;  /**< sizeof(cairn_plugin) as the plugin compiled it; >= v1.0's size */
    uint32_t abi_major;    /**< CAIRN_ABI_MAJOR the plugin was built against */
    uint32_t abi_minor;    /**< CAIRN_ABI_MINOR the plugin was built against */
    uint32_t pointer_size; /**< sizeof(void *) of the plugin's build */
    const char *name;      /**< must equal the manifest's "name", e.g. "directory" */
    const char *version;   /**< the plugin's own version, must equal the manifest's "version" */
    cairn_plugin_kind kind;/**< must equal the manifest's "kind" */
    const char *toolchain; /**< CAIRN_TOOLCHAIN_NONE, or cairn_swift_toolchain() for Swift plugins */
    uint64_t capabilities; /**< CAIRN_CAP_* bits */

    /** Create an instance. `host` (the table and every string it hands out) stays valid until
     *  `close`, so an instance may keep the pointer and use it in every later call; this is the
     *  one host pointer that outlives a call. `*instance` receives the plugin's
     *  handle (may be NULL if the plugin keeps no state). Read settings here with
     *  `host->config_get` and reject bad ones with CAIRN_INVALID and a message naming the setting.
     *  REQUIRED. */
    cairn_status (*open)(const cairn_host_api *host, void **instance, const cairn_error *err);
    /** Destroy an instance. REQUIRED. */
    void (*close)(void *instance);

    const cairn_component_api *component; /**< non-NULL exactly when kind == COMPONENT */
    const cairn_storage_api *storage;     /**< non-NULL exactly when kind == STORAGE */
} cairn_plugin;

/** The entry function, exported as CAIRN_PLUGIN_ENTRY_SYMBOL. The host passes its own ABI version;
 *  return NULL if you need a newer minor than the host has (the host reports that), else the
 *  descriptor. Must be cheap and free of side effects: it may be called more than once. */
typedef const cairn_plugin *(*cairn_plugin_entry_fn)(uint32_t host_abi_major,
                                                     uint32_t host_abi_minor);

/* ============================================================================================== */
/* Native actions (called through libffi)                                                         */
/* ============================================================================================== */
/*
 * A plugin may export extra C functions and declare them in plugin.json under "actions":
 *
 *     "actions": { "count_files": { "symbol": "cairn_directory_count_files",
 *                                   "parameters": [ {"name": "path", "type": "string"} ],
 *                                   "returns": "int64" } }
 *
 * Pipelines call them by name with typed arguments; the host checks the arguments against the
 * declaration when the pipeline is loaded and makes the call through libffi. Parameter and return
 * types: "bool" (int, 0/1), "int32", "int64", "uint32", "uint64", "double", "string"
 * (const char *, borrowed for the call). A "string" return value must be allocated with
 * host->alloc, or be NULL; the host frees it. The first C parameter of every action is always
 * `const cairn_host_api *host` (not declared in the manifest), so actions can log and allocate.
 */

/* ============================================================================================== */
/* Frozen sizes (since 1.0)                                                                       */
/* ============================================================================================== */

/** The size of `type` through the end of `field`. With a version's last field, that version's size,
 *  which stays the same whatever later minors append (sizeof does not). */
#define CAIRN_SIZE_THROUGH(type, field) (offsetof(type, field) + sizeof(((type *)0)->field))

/** ABI v1.0's sizes of the structs a plugin hands the host. The host refuses a struct_size below
 *  these, and accepts any larger one (a plugin built against a newer minor). */
#define CAIRN_PLUGIN_SIZE_V1_0 CAIRN_SIZE_THROUGH(cairn_plugin, storage)
#define CAIRN_COMPONENT_API_SIZE_V1_0 CAIRN_SIZE_THROUGH(cairn_component_api, restore)
#define CAIRN_STORAGE_API_SIZE_V1_0 CAIRN_SIZE_THROUGH(cairn_storage_api, check_access)

/* ============================================================================================== */
/* Helpers for C plugin authors (inline, no link dependency)                                      */
/* ============================================================================================== */

/** printf-style error reporting: cairn_fail(err, CAIRN_IO, "cannot open %s: %s", p, strerror(e)). */
static inline cairn_status cairn_fail(const cairn_error *err, cairn_status status,
                                      const char *format, ...) {
    char message[1024];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof message, format, args);
    va_end(args);
    if (err && err->set) err->set(err->ctx, status, message);
    return status;
}

/** printf-style logging through the host. */
static inline void cairn_logf(const cairn_host_api *host, cairn_log_level level,
                              const char *format, ...) {
    char message[1024];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof message, format, args);
    va_end(args);
    if (host && host->log) host->log(host->host_ctx, level, message);
}

#ifdef __cplusplus
}
#endif

#endif /* CAIRN_PLUGIN_H */
