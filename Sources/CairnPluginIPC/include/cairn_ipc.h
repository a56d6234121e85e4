/*
 * cairn_ipc.h -- how cairn talks to a plugin running in a worker process (isolation: process).
 *
 * Internal to Cairn: plugin authors never see it. The worker (`cairn-plugin-worker`) loads the
 * plugin's library and runs its operations; cairn keeps a proxy table in place of the plugin's
 * own, so the rest of the host calls a process-isolated plugin exactly as it calls a loaded one.
 *
 * One stream socket (the worker's fd 3) carries frames both ways: an 8-byte header (payload
 * length, kind, operation) and a payload of fields (u64 integers, length-prefixed byte strings).
 * Either side may send a request while it waits for the reply to its own: cairn asks the worker
 * to run `backup`, the plugin's sink->write arrives at cairn as a request, cairn answers it, and
 * so on until the reply to `backup` comes.
 *
 * Bulk data (the plugin's entry data, archive bytes written to or read from a store in a worker,
 * entries read back for verify and restore) does not cross the socket: it goes through a memory
 * region both sides map (a sealed memfd cairn creates; the worker's fd 4 at start), and the frame
 * carries only its offset and length. The region has one area per direction: cairn writes the
 * first, the worker the second. The receiver checks every offset and length against the area, and
 * cairn reads every header, length and string it parses out of the region once, into memory of its
 * own, before it checks and uses it; store reads are copied out whole, and what cairn writes there
 * it reads back from a copy of its own. The one thing cairn takes from the region in place is an
 * entry's data, which the archive only hashes and compresses: changed under it, it makes a backup
 * whose checksums fail verification. So a worker that lies or scribbles on the region breaks the
 * protocol or its own backup at worst (its step fails), never cairn.
 *
 * A backup's sink calls (begin, write, end) and its progress reports answer nothing but a refusal,
 * so the worker gathers them as records in its area (cairn_ipc_record) and sends one
 * CAIRN_OP_SINK_WRITE frame for the lot when the area is full or before any other request: a round
 * trip per half MiB, not per call. cairn runs the records in order and stops at the first refusal,
 * which the plugin gets from its next sink call. Each half of the area holds one batch: the worker
 * sends one without waiting and fills the other, and takes the reply before its next send. The
 * buffer the sink lends the plugin (ABI 1.3) is the rest of the half being filled, so the bytes
 * read into it become a DATA record where they lie. SOURCE_SKIP passes over the rest of an entry
 * in cairn, which sends the worker only its count. cairn
 * does the same with store writes in its own area; a failure comes back from the writer's next
 * write or its commit. Small payloads (settings, cairn.store objects, put_if) stay in frames of at
 * most CAIRN_IPC_MAX_CHUNK bytes.
 */
#ifndef CAIRN_IPC_H
#define CAIRN_IPC_H

#include "cairn_plugin.h"
#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- frames ---------------------------------------------------------------------------------- */

#define CAIRN_IPC_REQUEST 1
#define CAIRN_IPC_REPLY 2
/** A frame larger than this is garbage on the channel, not a message. */
#define CAIRN_IPC_MAX_FRAME ((uint32_t)(64u << 20))
/** Bulk data is split into frames of at most this many bytes. */
#define CAIRN_IPC_MAX_CHUNK ((size_t)(4u << 20))
/** The worker's exit statuses of its own: it could not load the plugin; it lost cairn. */
#define CAIRN_WORKER_EXIT_LOAD 70
#define CAIRN_WORKER_EXIT_LOST 71
/** The worker's end of the channel. */
#define CAIRN_IPC_FD 3
/** The worker's descriptor of the shared region, at start (the worker maps it and closes it). */
#define CAIRN_IPC_SHM_FD 4
/** Bytes of one area of the shared region; the region holds two: small, since cairn maps one
 *  region per worker and its peak memory counts every touched page. */
#define CAIRN_IPC_AREA ((size_t)1u << 20)
/** Where each area starts: what cairn writes for the worker, what the worker writes for cairn. */
#define CAIRN_IPC_TO_WORKER ((size_t)0)
#define CAIRN_IPC_TO_HOST CAIRN_IPC_AREA
#define CAIRN_IPC_SHM_SIZE (2 * CAIRN_IPC_AREA)

/** Operations. cairn -> worker: the plugin's functions. worker -> cairn: host services and the
 *  callbacks of the structs cairn passed. New host services are appended (one case each side). */
typedef enum cairn_ipc_op {
    CAIRN_OP_OPEN = 1, CAIRN_OP_CLOSE, CAIRN_OP_CHECK, CAIRN_OP_BACKUP, CAIRN_OP_VERIFY, CAIRN_OP_RESTORE,
    CAIRN_OP_OPEN_WRITER, CAIRN_OP_WRITE, CAIRN_OP_COMMIT, CAIRN_OP_ABORT, CAIRN_OP_OPEN_READER,
    CAIRN_OP_READ, CAIRN_OP_CLOSE_READER, CAIRN_OP_LIST, CAIRN_OP_STAT, CAIRN_OP_COPY, CAIRN_OP_REMOVE,
    CAIRN_OP_CHECK_ACCESS, CAIRN_OP_PUT_IF,
    /* cairn -> worker during a cairn.store call the worker made */
    CAIRN_OP_STORE_CHUNK, CAIRN_OP_STORE_OBJECT,
    /* cairn -> worker: a native action, called through libffi in the worker */
    CAIRN_OP_ACTION,

    /* worker -> cairn: host services (cairn_host_api) */
    CAIRN_OP_LOG = 64, CAIRN_OP_PROGRESS, CAIRN_OP_CONFIG_GET, CAIRN_OP_SECRET_GET, CAIRN_OP_TEMP_DIR,
    CAIRN_OP_GET_API,
    /* worker -> cairn: callbacks of host-owned structs */
    /* SINK_WRITE: records in the worker's area (offset, length); SINK_BEGIN and SINK_END are
     * records inside it, never frames of their own */
    CAIRN_OP_REPORT_CHECK, CAIRN_OP_SINK_BEGIN, CAIRN_OP_SINK_WRITE, CAIRN_OP_SINK_END, CAIRN_OP_SINK_FACT,
    CAIRN_OP_SOURCE_NEXT, CAIRN_OP_SOURCE_READ, CAIRN_OP_SOURCE_METADATA, CAIRN_OP_OBJECT, CAIRN_OP_NEXT_PAGE,
    /* worker -> cairn: the cairn.store table */
    CAIRN_OP_STORE_LIST, CAIRN_OP_STORE_READ, CAIRN_OP_STORE_WRITE,
    /* worker -> cairn: ABI 1.1's typed setting getters (a cairn_ipc_setting_type, then the key)
     * and the entry source's facts */
    CAIRN_OP_CONFIG_TYPED, CAIRN_OP_CONFIG_LIST, CAIRN_OP_SOURCE_FACT, CAIRN_OP_SOURCE_FACT_INT,
    /* worker -> cairn: ABI 1.3's entry_source.skip, for what cairn has not sent ahead */
    CAIRN_OP_SOURCE_SKIP,
    CAIRN_OP_LIMIT = 128
} cairn_ipc_op;

/** A record of a sink batch: this header, then `size` bytes of body.
 *  BEGIN: u32 type, u32 mode, i64 mtime, i64 size, the path with its NUL.  DATA: the bytes.
 *  END: nothing.  PROGRESS: u64 done, u64 total, u32 1 and the text with its NUL, or u32 0. */
typedef struct cairn_ipc_record { uint32_t kind, size; } cairn_ipc_record;
enum { CAIRN_RECORD_BEGIN = 1, CAIRN_RECORD_DATA, CAIRN_RECORD_END, CAIRN_RECORD_PROGRESS };
#define CAIRN_RECORD_BEGIN_FIXED 24
#define CAIRN_RECORD_PROGRESS_FIXED 20

/** Which typed getter CAIRN_OP_CONFIG_TYPED runs. */
typedef enum cairn_ipc_setting_type {
    CAIRN_SETTING_INT = 0, CAIRN_SETTING_BOOL, CAIRN_SETTING_DURATION_MS
} cairn_ipc_setting_type;

/** A growable payload; readers take fields in order and set `bad` on any overrun. */
typedef struct cairn_ipc_buf {
    uint8_t *data;
    size_t len, cap, pos;
    int bad;
} cairn_ipc_buf;

void cairn_ipc_buf_free(cairn_ipc_buf *b);
void cairn_ipc_put_u64(cairn_ipc_buf *b, uint64_t value);
/** Bytes with a length; a NULL string is sent as "absent" and read back as NULL. Strings are
 *  stored NUL-terminated so the reader can hand out a pointer into the buffer. */
void cairn_ipc_put_bytes(cairn_ipc_buf *b, const void *data, size_t len);
void cairn_ipc_put_str(cairn_ipc_buf *b, const char *text);
uint64_t cairn_ipc_get_u64(cairn_ipc_buf *b);
const uint8_t *cairn_ipc_get_bytes(cairn_ipc_buf *b, size_t *len);
const char *cairn_ipc_get_str(cairn_ipc_buf *b);
/** An object's info (list, stat, cairn.store list): every field the sender's struct has, a
 *  field its struct_size lacks (locked_until_ms of a 1.1 plugin) sent as 0. The reader's strings
 *  point into `b`. */
void cairn_ipc_put_object(cairn_ipc_buf *b, const cairn_object_info *info);
void cairn_ipc_get_object(cairn_ipc_buf *b, cairn_object_info *info);

struct cairn_ipc_conn;
/** Handles a request that arrived while this side waited for a reply; fills `out`. Returns 0, or
 *  -1 when the request is not understood (the channel is then broken). */
typedef int (*cairn_ipc_dispatch_fn)(struct cairn_ipc_conn *c, uint16_t op, cairn_ipc_buf *in,
                                     cairn_ipc_buf *out, void *call_ctx);
/** Waits until `fd` can be read (events POLLIN) or written (POLLOUT); -1 to give up. NULL: the
 *  descriptor is blocking and nothing is waited for. */
typedef int (*cairn_ipc_wait_fn)(struct cairn_ipc_conn *c, short events);
/** Runs after the reply to the other side's request is sent, before the next frame is waited for:
 *  work done here overlaps the other side's. */
typedef void (*cairn_ipc_replied_fn)(struct cairn_ipc_conn *c, uint16_t op);

typedef struct cairn_ipc_conn {
    int fd;
    cairn_ipc_dispatch_fn dispatch;
    cairn_ipc_wait_fn wait;
    void *owner;
    /** Set when the channel failed: "closed", "garbage", "write failed"; the reason stays. */
    const char *broken;
    /** Bytes read ahead of the frame being taken: a small frame's header and payload come in one
     *  read, not two. [in_at, in_end) of `in`. */
    size_t in_at, in_end;
    uint8_t in[4096];
    /** NULL: nothing to do between frames. */
    cairn_ipc_replied_fn replied;
} cairn_ipc_conn;

/** Sends one frame: the payload, then `extra` bytes appended to it (bulk data, not copied). */
int cairn_ipc_send(cairn_ipc_conn *c, uint8_t kind, uint16_t op, const cairn_ipc_buf *payload,
                   const void *extra, size_t extra_len);
/** Receives one frame into `into` (replacing its contents). */
int cairn_ipc_recv(cairn_ipc_conn *c, uint8_t *kind, uint16_t *op, cairn_ipc_buf *into);
/** Sends a request and waits for its reply (into `reply`), serving the other side's requests
 *  meanwhile through `c->dispatch` with `call_ctx`. Returns 0, or -1 when the channel broke. */
int cairn_ipc_call(cairn_ipc_conn *c, uint16_t op, const cairn_ipc_buf *request, const void *extra,
                   size_t extra_len, cairn_ipc_buf *reply, void *call_ctx);
/** The second half of cairn_ipc_call, for a request sent earlier with cairn_ipc_send: waits for
 *  its reply, serving the other side's requests meanwhile. */
int cairn_ipc_await(cairn_ipc_conn *c, uint16_t op, cairn_ipc_buf *reply, void *call_ctx);

/* ---- cairn's side: the proxy ----------------------------------------------------------------- */

/** How to start a worker for one plugin instance. */
typedef struct cairn_proxy_spec {
    const char *worker_path;  /**< the cairn-plugin-worker executable */
    const char *library_path; /**< the plugin's shared library */
    const char *label;        /**< "plugin sqlite" or "plugin sqlite (instance main)": how messages name it */
    uint64_t memory_limit;    /**< bytes of data the worker may map (RLIMIT_DATA); 0 = no limit */
    uint32_t grace_ms;        /**< after asking the plugin to cancel, how long before the worker is killed */
    /** Each line the worker writes to stderr or stdout (a crash's backtrace, say): to the run log. */
    void (*output_line)(void *output_ctx, const char *line);
    void *output_ctx;
} cairn_proxy_spec;

/** Opens the plugin instance in a worker: one this process kept after an earlier instance of the
 *  same plugin (same library, worker and memory limit) closed cleanly, else a new one.
 *  `*instance` receives the proxy's handle, which the proxy tables below take. The strings of
 *  `spec` are copied. */
cairn_status cairn_proxy_open(const cairn_proxy_spec *spec, const cairn_host_api *host, void **instance,
                              const cairn_error *err);
/** Closes the instance. A worker that closed it cleanly (not asked to cancel, not crashed) is kept
 *  for the plugin's next instance; a few are kept, the oldest ends first. Any other worker ends
 *  (killed if it does not exit within the grace). */
void cairn_proxy_close(void *instance);
/** Tables with the plugin's own shape: each function the plugin has becomes one that forwards to
 *  the worker; a NULL one stays NULL. Built once per plugin and never freed. */
const cairn_component_api *cairn_proxy_component_table(const cairn_component_api *plugin_table);
const cairn_storage_api *cairn_proxy_storage_table(const cairn_storage_api *plugin_table);
/** The C types of a native action's parameters and result (cairn_plugin.h, "Native actions"). */
typedef enum cairn_action_type {
    CAIRN_ACTION_VOID = 0, CAIRN_ACTION_INT32, CAIRN_ACTION_UINT32, CAIRN_ACTION_INT64, CAIRN_ACTION_UINT64,
    CAIRN_ACTION_DOUBLE, CAIRN_ACTION_STRING
} cairn_action_type;

/** Calls the native action `symbol` in a worker (kept or new, as for an open), with `count`
 *  arguments after the host table: `slots[i]` holds argument i's bits as the in-process call
 *  stores them (a string's in `strings[i]`). The result's bits go to `*result`; a string result
 *  to `*text` (malloc'd, NULL for NULL). Fails like any call when the worker dies. */
cairn_status cairn_proxy_call_action(const cairn_proxy_spec *spec, const cairn_host_api *host, const char *symbol,
                                     cairn_action_type returns, uint32_t count, const cairn_action_type *types,
                                     const uint64_t *slots, const char *const *strings, uint64_t *result, char **text,
                                     const cairn_error *err);

/** Why the worker of `instance` is gone ("plugin sqlite crashed (SIGSEGV) during backup"), or
 *  NULL while it serves. Valid until cairn_proxy_close. */
const char *cairn_proxy_failure(void *instance);
/** The worker's process id (0 once it is gone). */
pid_t cairn_proxy_pid(void *instance);
/** `number`'s name as the messages give it ("SIGSEGV"; "signal 99" for one without a name). */
void cairn_signal_name(int number, char *out, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* CAIRN_IPC_H */
