/*
 * cairn-plugin-worker: runs a plugin's instances, one at a time, in a process of its own
 * (isolation: process).
 *
 *   cairn-plugin-worker LIBRARY MEMORY_LIMIT_BYTES
 *
 * cairn starts it with the channel on fd 3 (cairn_ipc.h), stdout and stderr on a pipe that goes
 * to the run log, and stdin on /dev/null. The worker loads LIBRARY, then runs each operation cairn
 * sends, handing the plugin a host table whose services forward to cairn. After a clean close,
 * cairn may keep it for the plugin's next instance (open again): one instance at a time. Those
 * services may be called from any thread of the plugin during a call: one lock serializes the
 * channel. SIGUSR1 is cairn asking the plugin to cancel; is_cancelled() answers from that, without
 * a message, and a thread of the worker calls the plugin's set_interrupt callback, as cairn would
 * in process.
 * When cairn goes away (killed, say) the worker exits at once.
 */
#define _GNU_SOURCE
#include "cairn_ipc.h"

#include <dlfcn.h>
#include <ffi.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* Exit codes cairn reads as "the worker gave up", not as a plugin's own exit. */
enum { EXIT_LOAD = CAIRN_WORKER_EXIT_LOAD, EXIT_LOST = CAIRN_WORKER_EXIT_LOST };

static const cairn_plugin *plugin;
static void *library;
static void *instance;
static int opened;
static cairn_ipc_conn channel = { .fd = CAIRN_IPC_FD };
static pthread_mutex_t channel_lock;
static volatile sig_atomic_t cancelled;
/* The region shared with cairn (cairn_ipc.h): cairn's area carries store writes and entries read
 * back; ours carries the plugin's sink data and store reads. */
static uint8_t *shm;
#define FROM_CAIRN (shm + CAIRN_IPC_TO_WORKER)
#define TO_CAIRN (shm + CAIRN_IPC_TO_HOST)
/* A backup's sink calls and progress reports gathered as records (cairn_ipc.h) and not sent yet,
 * and the first refusal cairn answered a batch with: the plugin gets it from its next sink call.
 * Our area holds two batches: while cairn takes one, the plugin fills the other (`sink_slot`),
 * and `sink_posted` says a sent batch awaits cairn's reply. `gathering` while a backup runs.
 * Under channel_lock. */
#define SLOT (CAIRN_IPC_AREA / 2)
#define SINK_BATCH (TO_CAIRN + sink_slot * SLOT)
static size_t sink_pending, sink_slot;
static int sink_posted;
static int sink_refused;
static int gathering;
/* The buffer sink->buffer lent the plugin (ABI 1.3): the rest of a half of our area, after room
 * for the DATA record's header at `lent_at`. Its bytes are sent where they lie. Nothing else is
 * gathered over it: a record that comes first (a progress report from another thread) moves the
 * batch to the other half, and the lent half is not reused until the buffer comes back. */
static uint8_t *lent;
static size_t lent_slot, lent_at;
#define LEND_MIN ((size_t)64 << 10)

/* ---- calling cairn ---------------------------------------------------------------------------- */

/* Takes cairn's reply to the batch sent last (under channel_lock). cairn asks nothing of ours
 * while it runs a batch, so the next frame is that reply. */
static void settle_sink(void) {
    if (!sink_posted) return;
    sink_posted = 0;
    cairn_ipc_buf reply = {0};
    uint8_t kind;
    uint16_t op;
    if (cairn_ipc_recv(&channel, &kind, &op, &reply) != 0 || kind != CAIRN_IPC_REPLY || op != CAIRN_OP_SINK_WRITE) _exit(EXIT_LOST);
    int code = (int)(int64_t)cairn_ipc_get_u64(&reply);
    if (reply.bad) _exit(EXIT_LOST);
    if (code != 0 && sink_refused == 0) sink_refused = code;
    cairn_ipc_buf_free(&reply);
}

/* Sends a batch without waiting for cairn to take it; cairn's reply to the one before is taken
 * first (under channel_lock). */
static void post_batch(size_t offset, size_t len) {
    settle_sink();
    cairn_ipc_buf request = {0};
    cairn_ipc_put_u64(&request, offset);  /* in our area */
    cairn_ipc_put_u64(&request, len);
    if (cairn_ipc_send(&channel, CAIRN_IPC_REQUEST, CAIRN_OP_SINK_WRITE, &request, NULL, 0) != 0) _exit(EXIT_LOST);
    cairn_ipc_buf_free(&request);
    sink_posted = 1;
}

/* Sends the gathered records: the plugin goes on into the other half of our area, or, while that
 * half holds the lent buffer, into this one once cairn has taken them (under channel_lock). */
static void flush_sink(void) {
    if (sink_pending == 0) return;
    post_batch(sink_slot * SLOT, sink_pending);
    sink_pending = 0;
    if (lent != NULL && lent_slot != sink_slot) settle_sink();  /* the other half is lent: stay */
    else sink_slot ^= 1;
}

/* Gathering goes on in the other half, leaving the lent buffer in this one (under channel_lock). */
static void leave_lent_slot(void) {
    if (sink_pending > 0) {
        flush_sink();
    } else {
        settle_sink();
        sink_slot ^= 1;
    }
}

/* Every batch sent and taken (under channel_lock). */
static void drain_sink(void) {
    flush_sink();
    settle_sink();
}

/* One request to cairn and its reply, from any thread. A broken channel means cairn is gone or
 * has given up on this worker: nothing is left to do but exit. Gathered sink data goes first, so
 * cairn sees every call in the order the plugin made it. */
static void forward(uint16_t op, const cairn_ipc_buf *request, const void *extra, size_t extra_len,
                    cairn_ipc_buf *reply, void *call_ctx) {
    pthread_mutex_lock(&channel_lock);
    drain_sink();
    int rc = cairn_ipc_call(&channel, op, request, extra, extra_len, reply, call_ctx);
    pthread_mutex_unlock(&channel_lock);
    if (rc != 0) _exit(EXIT_LOST);
}

/* Appends a record with the body `head` then `tail` (under channel_lock), sending the batch first
 * when it does not fit. -1 when the record could never fit. */
static int gather(uint32_t kind, const void *head, size_t head_len, const void *tail, size_t tail_len) {
    cairn_ipc_record record = { kind, (uint32_t)(head_len + tail_len) };
    size_t need = sizeof record + head_len + tail_len;
    if (need > SLOT) return -1;
    if (lent != NULL && lent_slot == sink_slot) leave_lent_slot();
    if (need > SLOT - sink_pending) flush_sink();
    memcpy(SINK_BATCH + sink_pending, &record, sizeof record);
    if (head_len) memcpy(SINK_BATCH + sink_pending + sizeof record, head, head_len);
    if (tail_len) memcpy(SINK_BATCH + sink_pending + sizeof record + head_len, tail, tail_len);
    sink_pending += need;
    return 0;
}

/* A request whose reply is one integer (a callback's return code). */
static int64_t forward_code(uint16_t op, cairn_ipc_buf *request, const void *extra, size_t extra_len, void *call_ctx) {
    cairn_ipc_buf reply = {0};
    forward(op, request, extra, extra_len, &reply, call_ctx);
    int64_t code = (int64_t)cairn_ipc_get_u64(&reply);
    cairn_ipc_buf_free(&reply);
    cairn_ipc_buf_free(request);
    return code;
}

/* Relays the message of a cairn-side failure (a cairn.store call) to the plugin's err. */
static cairn_status take_result(cairn_ipc_buf *reply, const cairn_error *err) {
    cairn_status status = (cairn_status)cairn_ipc_get_u64(reply);
    const char *message = cairn_ipc_get_str(reply);
    if (status != CAIRN_OK && err && err->set) err->set(err->ctx, status, message ? message : "cairn.store failed");
    return status;
}

/* Strings the host table hands out stay valid until close: kept until then (forget_instance). */
typedef struct kept_value { struct kept_value *next; uint16_t op; char *key; char *value; } kept_value;
static kept_value *kept;

/* The string cairn answers `op` with for `key`, asked once and kept in `*list`. */
static const char *kept_in(kept_value **list, uint16_t op, const char *key) {
    pthread_mutex_lock(&channel_lock);  /* recursive: also guards the list */
    for (kept_value *k = *list; k; k = k->next) {
        if (k->op == op && strcmp(k->key, key) == 0) { pthread_mutex_unlock(&channel_lock); return k->value; }
    }
    cairn_ipc_buf request = {0}, reply = {0};
    cairn_ipc_put_str(&request, key);
    forward(op, &request, NULL, 0, &reply, NULL);
    const char *value = cairn_ipc_get_str(&reply);
    kept_value *k = calloc(1, sizeof *k);
    k->op = op;
    k->key = strdup(key);
    k->value = value ? strdup(value) : NULL;
    k->next = *list;
    *list = k;
    cairn_ipc_buf_free(&request);
    cairn_ipc_buf_free(&reply);
    pthread_mutex_unlock(&channel_lock);
    return k->value;
}

/* ---- the host table the plugin gets: one function per service -------------------------------- */

static void sv_log(void *ctx, cairn_log_level level, const char *message) {
    (void)ctx;
    if (message == NULL) return;
    cairn_ipc_buf request = {0};
    cairn_ipc_put_u64(&request, (uint64_t)level);
    cairn_ipc_put_str(&request, message);
    forward_code(CAIRN_OP_LOG, &request, NULL, 0, NULL);
}

static void sv_progress(void *ctx, uint64_t done, uint64_t total, const char *what) {
    (void)ctx;
    pthread_mutex_lock(&channel_lock);
    if (gathering) {  /* with the backup's records: in order, without a round trip of its own */
        uint8_t fixed[CAIRN_RECORD_PROGRESS_FIXED];
        uint32_t has_text = what != NULL;
        memcpy(fixed, &done, 8);
        memcpy(fixed + 8, &total, 8);
        memcpy(fixed + 16, &has_text, 4);
        int gathered = gather(CAIRN_RECORD_PROGRESS, fixed, sizeof fixed, what, what ? strlen(what) + 1 : 0);
        pthread_mutex_unlock(&channel_lock);
        if (gathered == 0) return;
    } else {
        pthread_mutex_unlock(&channel_lock);
    }
    cairn_ipc_buf request = {0};
    cairn_ipc_put_u64(&request, done);
    cairn_ipc_put_u64(&request, total);
    cairn_ipc_put_str(&request, what);
    forward_code(CAIRN_OP_PROGRESS, &request, NULL, 0, NULL);
}

static int sv_is_cancelled(void *ctx) { (void)ctx; return cancelled != 0; }

static const char *sv_config_get(void *ctx, const char *key) {
    (void)ctx;
    return key ? kept_in(&kept, CAIRN_OP_CONFIG_GET, key) : NULL;
}

static const char *sv_secret_get(void *ctx, const char *key) {
    (void)ctx;
    return key ? kept_in(&kept, CAIRN_OP_SECRET_GET, key) : NULL;
}

static void *sv_alloc(void *ctx, size_t size) { (void)ctx; return malloc(size); }
static void sv_free(void *ctx, void *ptr) { (void)ctx; free(ptr); }
static const char *sv_temp_dir(void *ctx) { (void)ctx; return kept_in(&kept, CAIRN_OP_TEMP_DIR, ""); }

static const cairn_store_api store_table;

static const void *sv_get_api(void *ctx, const char *name, uint32_t min_version) {
    (void)ctx;
    if (name == NULL || strcmp(name, CAIRN_STORE_API_NAME) != 0 || min_version > CAIRN_STORE_API_VERSION) return NULL;
    cairn_ipc_buf request = {0};
    cairn_ipc_put_str(&request, name);
    cairn_ipc_put_u64(&request, min_version);
    return forward_code(CAIRN_OP_GET_API, &request, NULL, 0, NULL) ? &store_table : NULL;
}

/* A getter's status; its message to `err` (which may be NULL), except for CAIRN_NOT_FOUND, which
 * leaves `err` untouched (cairn_plugin.h). */
static cairn_status take_setting_result(cairn_ipc_buf *reply, const cairn_error *err) {
    cairn_status status = (cairn_status)cairn_ipc_get_u64(reply);
    const char *message = cairn_ipc_get_str(reply);
    if (status != CAIRN_OK && status != CAIRN_NOT_FOUND && message && err && err->set) err->set(err->ctx, status, message);
    return status;
}

/* ABI 1.1's typed getters: cairn converts (the same code as in process) and sends the value, or
 * the refusal's message for the plugin's err. */
static cairn_status config_typed(cairn_ipc_setting_type type, const char *key, int64_t *value, const cairn_error *err) {
    if (key == NULL || value == NULL) return cairn_fail(err, CAIRN_INVALID, "a typed setting getter needs a key and a place for the value");
    cairn_ipc_buf request = {0}, reply = {0};
    cairn_ipc_put_u64(&request, type);
    cairn_ipc_put_str(&request, key);
    forward(CAIRN_OP_CONFIG_TYPED, &request, NULL, 0, &reply, NULL);
    cairn_status status = take_setting_result(&reply, err);
    int64_t got = (int64_t)cairn_ipc_get_u64(&reply);
    if (status == CAIRN_OK) *value = got;
    cairn_ipc_buf_free(&request);
    cairn_ipc_buf_free(&reply);
    return status;
}

static cairn_status sv_config_int(void *ctx, const char *key, int64_t *out, const cairn_error *err) {
    (void)ctx;
    return config_typed(CAIRN_SETTING_INT, key, out, err);
}

static cairn_status sv_config_bool(void *ctx, const char *key, int *out, const cairn_error *err) {
    (void)ctx;
    int64_t value = 0;
    cairn_status status = config_typed(CAIRN_SETTING_BOOL, key, &value, err);
    if (status == CAIRN_OK && out) *out = value != 0;
    return status;
}

static cairn_status sv_config_duration_ms(void *ctx, const char *key, int64_t *out, const cairn_error *err) {
    (void)ctx;
    return config_typed(CAIRN_SETTING_DURATION_MS, key, out, err);
}

/* A list setting's items, kept as config_get's strings are (valid until close); asked once per key. */
typedef struct kept_list { struct kept_list *next; char *key; char **items; size_t count; } kept_list;
static kept_list *kept_lists;

static cairn_status sv_config_list(void *ctx, const char *key, const char *const **items, size_t *count, const cairn_error *err) {
    (void)ctx;
    if (key == NULL || items == NULL || count == NULL)
        return cairn_fail(err, CAIRN_INVALID, "config_list needs a key and places for the items and their count");
    pthread_mutex_lock(&channel_lock);  /* recursive: also guards the list */
    for (kept_list *k = kept_lists; k; k = k->next) {
        if (strcmp(k->key, key) == 0) {
            *items = (const char *const *)k->items;
            *count = k->count;
            pthread_mutex_unlock(&channel_lock);
            return CAIRN_OK;
        }
    }
    cairn_ipc_buf request = {0}, reply = {0};
    cairn_ipc_put_str(&request, key);
    forward(CAIRN_OP_CONFIG_LIST, &request, NULL, 0, &reply, NULL);
    cairn_status status = take_setting_result(&reply, err);
    if (status == CAIRN_OK) {
        size_t n = (size_t)cairn_ipc_get_u64(&reply);
        if (n > reply.len) _exit(EXIT_LOST);  /* more items than bytes: not cairn's reply */
        kept_list *k = calloc(1, sizeof *k);
        k->key = strdup(key);
        k->items = calloc(n + 1, sizeof *k->items);
        for (size_t i = 0; i < n; i++) {
            const char *item = cairn_ipc_get_str(&reply);
            k->items[i] = strdup(item ? item : "");
        }
        if (reply.bad) _exit(EXIT_LOST);
        k->count = n;
        k->next = kept_lists;
        kept_lists = k;
        *items = (const char *const *)k->items;
        *count = n;
    }
    cairn_ipc_buf_free(&request);
    cairn_ipc_buf_free(&reply);
    pthread_mutex_unlock(&channel_lock);
    return status;
}

/* ---- set_interrupt: kept here, fired by a thread of the worker's own on cairn's SIGUSR1 ------- */

/* The signal handler writes to `cancel_pipe`; `interrupter` wakes and calls the registration.
 * `interrupt_lock` is held while the callback runs, so replacing or removing a registration waits
 * for it, and the plugin may free the old data once set_interrupt returns (cairn_plugin.h). */
static int cancel_pipe[2] = { -1, -1 };
static pthread_mutex_t interrupt_lock = PTHREAD_MUTEX_INITIALIZER;
static void (*interrupt_fn)(void *);
static void *interrupt_data;

/* Calls the registration, if any, once: it is removed before it runs. Under interrupt_lock. */
static void fire_interrupt_locked(void) {
    void (*fn)(void *) = interrupt_fn;
    void *data = interrupt_data;
    interrupt_fn = NULL;
    interrupt_data = NULL;
    if (fn) fn(data);
}

static void sv_set_interrupt(void *ctx, void (*fn)(void *), void *data) {
    (void)ctx;
    pthread_mutex_lock(&interrupt_lock);
    interrupt_fn = fn;
    interrupt_data = data;
    /* Already cancelled: called at once, on this thread, before set_interrupt returns. */
    if (fn && cancelled) fire_interrupt_locked();
    pthread_mutex_unlock(&interrupt_lock);
}

/* Removes the registration (close, the end of a native action); waits for a running callback. */
static void clear_interrupt(void) { sv_set_interrupt(NULL, NULL, NULL); }

static void *interrupter(void *unused) {
    (void)unused;
    char byte;
    for (;;) {
        ssize_t got = read(cancel_pipe[0], &byte, 1);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return NULL;
        pthread_mutex_lock(&interrupt_lock);
        fire_interrupt_locked();
        pthread_mutex_unlock(&interrupt_lock);
    }
}

static const cairn_host_api host_table = {
    .struct_size = sizeof(cairn_host_api), .abi_major = CAIRN_ABI_MAJOR, .abi_minor = CAIRN_ABI_MINOR, .host_ctx = NULL,
    .log = sv_log, .progress = sv_progress, .is_cancelled = sv_is_cancelled, .config_get = sv_config_get,
    .secret_get = sv_secret_get, .alloc = sv_alloc, .free = sv_free, .get_api = sv_get_api, .temp_dir = sv_temp_dir,
    .config_int = sv_config_int, .config_bool = sv_config_bool, .config_duration_ms = sv_config_duration_ms,
    .config_list = sv_config_list, .set_interrupt = sv_set_interrupt,
};

/* ---- results: the plugin's err->set, sent back with the status -------------------------------- */

typedef struct captured {
    cairn_error err;
    int has_message;
    char message[4096];
} captured;

static void capture_set(void *ctx, cairn_status status, const char *message) {
    (void)status;
    captured *c = ctx;
    pthread_mutex_lock(&channel_lock);
    c->has_message = message != NULL;
    if (message) snprintf(c->message, sizeof c->message, "%s", message);
    pthread_mutex_unlock(&channel_lock);
}

static void capture_init(captured *c) {
    memset(c, 0, sizeof *c);
    c->err = (cairn_error){ sizeof(cairn_error), CAIRN_ABI_MAJOR, CAIRN_ABI_MINOR, c, capture_set };
}

static void put_result(cairn_ipc_buf *out, cairn_status status, const captured *c) {
    cairn_ipc_put_u64(out, (uint64_t)status);
    cairn_ipc_put_str(out, c->has_message ? c->message : NULL);
}

/* The reply of a function that returns nothing: CAIRN_OK without a message. */
static void put_done(cairn_ipc_buf *out) {
    cairn_ipc_put_u64(out, CAIRN_OK);
    cairn_ipc_put_str(out, NULL);
}

/* ---- callbacks of the structs cairn passed, forwarded ----------------------------------------- */

static int rp_check(void *ctx, const char *name, cairn_check_status status, const char *message, const char *detail) {
    (void)ctx;
    cairn_ipc_buf request = {0};
    cairn_ipc_put_str(&request, name);
    cairn_ipc_put_u64(&request, (uint64_t)status);
    cairn_ipc_put_str(&request, message);
    cairn_ipc_put_str(&request, detail);
    return (int)forward_code(CAIRN_OP_REPORT_CHECK, &request, NULL, 0, NULL);
}

static const cairn_report report_table = { sizeof(cairn_report), CAIRN_ABI_MAJOR, CAIRN_ABI_MINOR, NULL, rp_check };

/* The sink's calls become records of the batch; each returns the refusal cairn answered an
 * earlier batch with, if any (then nothing more is gathered). Any call but the lent buffer's own
 * write takes the buffer back. */
static int sk_begin(void *ctx, const cairn_entry *entry) {
    (void)ctx;
    if (entry == NULL || entry->path == NULL) return CAIRN_INVALID;
    uint8_t fixed[CAIRN_RECORD_BEGIN_FIXED];
    uint32_t type = (uint32_t)entry->type, mode = entry->mode;
    int64_t mtime = entry->mtime, size = entry->size;
    memcpy(fixed, &type, 4);
    memcpy(fixed + 4, &mode, 4);
    memcpy(fixed + 8, &mtime, 8);
    memcpy(fixed + 16, &size, 8);
    pthread_mutex_lock(&channel_lock);
    lent = NULL;
    int code = sink_refused;
    if (code == 0 && gather(CAIRN_RECORD_BEGIN, fixed, sizeof fixed, entry->path, strlen(entry->path) + 1) != 0) code = CAIRN_INVALID;
    pthread_mutex_unlock(&channel_lock);
    return code;
}

/* The rest of a half of our area, at least LEND_MIN (under channel_lock). */
static uint8_t *lend(size_t *cap) {
    lent = NULL;
    if (SLOT - sink_pending < sizeof(cairn_ipc_record) + LEND_MIN) flush_sink();
    lent_slot = sink_slot;
    lent_at = sink_pending;
    lent = SINK_BATCH + sink_pending + sizeof(cairn_ipc_record);
    *cap = SLOT - sink_pending - sizeof(cairn_ipc_record);
    return lent;
}

static uint8_t *sk_buffer(void *ctx, size_t *cap) {
    (void)ctx;
    if (cap == NULL) return NULL;
    *cap = 0;
    pthread_mutex_lock(&channel_lock);
    uint8_t *buffer = sink_refused == 0 && gathering ? lend(cap) : NULL;
    pthread_mutex_unlock(&channel_lock);
    return buffer;
}

/* The lent buffer's `len` bytes become a DATA record where they lie (under channel_lock): in the
 * batch being gathered if nothing came after the lending, else sent on their own once what was
 * gathered since has gone first. */
static void give_back(size_t len) {
    cairn_ipc_record record = { CAIRN_RECORD_DATA, (uint32_t)len };
    memcpy(TO_CAIRN + lent_slot * SLOT + lent_at, &record, sizeof record);
    if (lent_slot == sink_slot) {
        sink_pending = lent_at + sizeof record + len;
    } else {
        flush_sink();  /* the other half stays lent: this one is sent and taken */
        post_batch(lent_slot * SLOT + lent_at, sizeof record + len);
    }
}

/* Bytes from a buffer of the plugin's, copied into the batch (under channel_lock). A plugin's
 * writes of a few KiB each (a Redis plugin writes what each recv gave it) cost one round trip per
 * area, not one each. */
static int gather_data(const uint8_t *data, size_t len) {
    uint8_t *copy = NULL;  /* bytes in our own area would be gathered over: move them out first */
    if (len > 0 && data >= TO_CAIRN && data < TO_CAIRN + CAIRN_IPC_AREA) {
        if ((copy = malloc(len)) == NULL) return CAIRN_ERROR;
        data = memcpy(copy, data, len);
    }
    while (len > 0 && sink_refused == 0) {
        size_t room = SLOT - sink_pending;
        /* a sliver left: send the batch rather than split the data into it */
        if (room < sizeof(cairn_ipc_record) + (len < 4096 ? len : 4096)) { flush_sink(); continue; }
        size_t n = room - sizeof(cairn_ipc_record);
        if (n > len) n = len;
        gather(CAIRN_RECORD_DATA, data, n, NULL, 0);
        data += n;
        len -= n;
    }
    free(copy);
    return sink_refused;
}

static int sk_write(void *ctx, const uint8_t *data, size_t len) {
    (void)ctx;
    if (data == NULL && len > 0) return CAIRN_INVALID;
    pthread_mutex_lock(&channel_lock);
    int code = sink_refused;
    if (code == 0 && lent != NULL && data == lent) {
        if (len > SLOT - lent_at - sizeof(cairn_ipc_record)) code = CAIRN_INVALID;  /* it wrote past the buffer */
        else if (len > 0) give_back(len);
    } else if (code == 0) {
        lent = NULL;
        code = gather_data(data, len);
    }
    lent = NULL;
    pthread_mutex_unlock(&channel_lock);
    return code;
}

static int sk_end(void *ctx) {
    (void)ctx;
    pthread_mutex_lock(&channel_lock);
    lent = NULL;
    int code = sink_refused;
    if (code == 0) gather(CAIRN_RECORD_END, NULL, 0, NULL, 0);
    pthread_mutex_unlock(&channel_lock);
    return code;
}

static int sk_fact(void *ctx, const char *key, const char *json) {
    (void)ctx;
    pthread_mutex_lock(&channel_lock);
    lent = NULL;
    pthread_mutex_unlock(&channel_lock);
    cairn_ipc_buf request = {0};
    cairn_ipc_put_str(&request, key);
    cairn_ipc_put_str(&request, json);
    return (int)forward_code(CAIRN_OP_SINK_FACT, &request, NULL, 0, NULL);
}

static const cairn_entry_sink sink_table = {
    sizeof(cairn_entry_sink), CAIRN_ABI_MAJOR, CAIRN_ABI_MINOR, NULL, sk_begin, sk_write, sk_end, sk_fact, sk_buffer,
};

/* The entry source: the current entry's path and the metadata live until the next call / the
 * end of the operation. */
static char *source_path;
static char *source_metadata;
/* Entry bytes cairn sent ahead in its area and the plugin has not read yet: [ahead_at, ahead_end),
 * and whether the entry ends with them. Dropped at the next entry. Under channel_lock. */
static size_t ahead_at, ahead_end;
static int ahead_last;
static int64_t ahead_failed;  /* cairn's read failed: the plugin's next read returns this */
/* The entries cairn sent ahead (sv_source_next in ipc_host.c), taken one per next(). */
static cairn_ipc_buf entries;

/* Takes the count, offset and end flag of entry bytes cairn put in its area (under channel_lock). */
static void take_ahead(cairn_ipc_buf *reply) {
    int64_t count = (int64_t)cairn_ipc_get_u64(reply);
    uint64_t offset = cairn_ipc_get_u64(reply);
    int last = cairn_ipc_get_u64(reply) != 0;
    if (reply->bad) _exit(EXIT_LOST);
    ahead_at = ahead_end = 0;
    ahead_failed = count < 0 ? count : 0;
    ahead_last = count >= 0 && last;
    if (count > 0) {
        if (offset > CAIRN_IPC_AREA || (uint64_t)count > CAIRN_IPC_AREA - offset) _exit(EXIT_LOST);
        ahead_at = (size_t)offset;
        ahead_end = (size_t)offset + (size_t)count;
    }
}

static int so_next(void *ctx, cairn_entry *out) {
    (void)ctx;
    if (out == NULL) return -CAIRN_INVALID;
    pthread_mutex_lock(&channel_lock);  /* recursive: forward takes it too */
    ahead_at = ahead_end = 0;
    ahead_last = 0;
    ahead_failed = 0;
    if (entries.pos >= entries.len) {
        cairn_ipc_buf request = {0};
        forward(CAIRN_OP_SOURCE_NEXT, &request, NULL, 0, &entries, NULL);
    }
    cairn_ipc_buf *reply = &entries;
    int code = (int)(int64_t)cairn_ipc_get_u64(reply);
    if (code == 1) {
        const char *path = cairn_ipc_get_str(reply);
        free(source_path);
        source_path = strdup(path ? path : "");
        /* Fields one at a time: the order of an initializer's calls is unspecified in C. */
        cairn_entry filled = { out->struct_size, source_path, CAIRN_ENTRY_FILE, 0, 0, 0 };
        filled.type = (cairn_entry_type)cairn_ipc_get_u64(reply);
        filled.mode = (uint32_t)cairn_ipc_get_u64(reply);
        filled.mtime = (int64_t)cairn_ipc_get_u64(reply);
        filled.size = (int64_t)cairn_ipc_get_u64(reply);
        /* The plugin says how big its struct is: fill only what fits (cairn_plugin.h). */
        size_t size = out->struct_size < sizeof filled ? out->struct_size : sizeof filled;
        memcpy(out, &filled, size);
        take_ahead(reply);  /* the entry's first bytes */
    } else {
        entries.pos = entries.len;  /* the source's end or failure is the last of a reply */
    }
    if (reply->bad) _exit(EXIT_LOST);
    pthread_mutex_unlock(&channel_lock);
    return code;
}

/* Asks cairn for a whole area of the entry at once and hands it out in the pieces the plugin
 * asks for. */
static int64_t so_read(void *ctx, uint8_t *buf, size_t cap) {
    (void)ctx;
    if (buf == NULL || cap == 0) return 0;
    pthread_mutex_lock(&channel_lock);  /* recursive: forward takes it too */
    int64_t count = 0;
    if (ahead_failed != 0) {
        count = ahead_failed;
        ahead_failed = 0;
    } else if (ahead_at == ahead_end && !ahead_last) {
        cairn_ipc_buf request = {0}, reply = {0};
        cairn_ipc_put_u64(&request, CAIRN_IPC_AREA);
        forward(CAIRN_OP_SOURCE_READ, &request, NULL, 0, &reply, NULL);
        take_ahead(&reply);
        count = ahead_failed;
        ahead_failed = 0;
        cairn_ipc_buf_free(&request);
        cairn_ipc_buf_free(&reply);
    }
    if (ahead_at < ahead_end) {
        size_t n = ahead_end - ahead_at < cap ? ahead_end - ahead_at : cap;
        memcpy(buf, FROM_CAIRN + ahead_at, n);
        ahead_at += n;
        count = (int64_t)n;
    }
    pthread_mutex_unlock(&channel_lock);
    return count;
}

/* The bytes cairn sent ahead are counted where they lie; cairn passes over the rest itself. */
static int64_t so_skip(void *ctx) {
    (void)ctx;
    pthread_mutex_lock(&channel_lock);  /* recursive: forward takes it too */
    int64_t count = ahead_failed != 0 ? ahead_failed : (int64_t)(ahead_end - ahead_at);
    if (ahead_failed == 0 && !ahead_last) {
        cairn_ipc_buf request = {0}, reply = {0};
        forward(CAIRN_OP_SOURCE_SKIP, &request, NULL, 0, &reply, NULL);
        int64_t rest = (int64_t)cairn_ipc_get_u64(&reply);
        if (reply.bad) _exit(EXIT_LOST);
        count = rest < 0 ? rest : count + rest;
        cairn_ipc_buf_free(&reply);
    }
    ahead_at = ahead_end = 0;
    ahead_failed = 0;
    ahead_last = 1;
    pthread_mutex_unlock(&channel_lock);
    return count;
}

static const char *so_metadata(void *ctx) {
    (void)ctx;
    pthread_mutex_lock(&channel_lock);
    if (source_metadata == NULL) {
        cairn_ipc_buf request = {0}, reply = {0};
        forward(CAIRN_OP_SOURCE_METADATA, &request, NULL, 0, &reply, NULL);
        const char *text = cairn_ipc_get_str(&reply);
        source_metadata = strdup(text ? text : "{}");
        cairn_ipc_buf_free(&reply);
    }
    pthread_mutex_unlock(&channel_lock);
    return source_metadata;
}

/* The backup's facts (ABI 1.1), asked once per key; the texts live until the operation ends. */
static kept_value *source_facts;

static const char *so_fact(void *ctx, const char *key) {
    (void)ctx;
    return key ? kept_in(&source_facts, CAIRN_OP_SOURCE_FACT, key) : NULL;
}

static cairn_status so_fact_int(void *ctx, const char *key, int64_t *out) {
    (void)ctx;
    if (key == NULL || out == NULL) return CAIRN_INVALID;
    cairn_ipc_buf request = {0}, reply = {0};
    cairn_ipc_put_str(&request, key);
    forward(CAIRN_OP_SOURCE_FACT_INT, &request, NULL, 0, &reply, NULL);
    cairn_status status = (cairn_status)cairn_ipc_get_u64(&reply);
    int64_t value = (int64_t)cairn_ipc_get_u64(&reply);
    if (status == CAIRN_OK) *out = value;
    cairn_ipc_buf_free(&request);
    cairn_ipc_buf_free(&reply);
    return status;
}

static const cairn_entry_source source_table = {
    .struct_size = sizeof(cairn_entry_source), .abi_major = CAIRN_ABI_MAJOR, .abi_minor = CAIRN_ABI_MINOR, .ctx = NULL,
    .next = so_next, .read = so_read, .metadata = so_metadata, .fact = so_fact, .fact_int = so_fact_int, .skip = so_skip,
};

static void free_kept(kept_value **list) {
    while (*list) {
        kept_value *k = *list;
        *list = k->next;
        free(k->key); free(k->value); free(k);
    }
}

static void source_done(void) {
    ahead_at = ahead_end = 0;
    ahead_last = 0;
    ahead_failed = 0;
    cairn_ipc_buf_free(&entries);
    free(source_path); source_path = NULL;
    free(source_metadata); source_metadata = NULL;
    free_kept(&source_facts);
}

/* After close: what the closed instance's settings answered is not the next instance's. */
static void forget_instance(void) {
    free_kept(&kept);
    while (kept_lists) {
        kept_list *k = kept_lists;
        kept_lists = k->next;
        for (size_t i = 0; i < k->count; i++) free(k->items[i]);
        free(k->items); free(k->key); free(k);
    }
    instance = NULL;
    opened = 0;
}

static int ob_object(void *ctx, const cairn_object_info *info) {
    (void)ctx;
    if (info == NULL) return CAIRN_INVALID;
    cairn_ipc_buf request = {0};
    cairn_ipc_put_object(&request, info);  /* locked_until_ms only if the plugin's struct has it */
    return (int)forward_code(CAIRN_OP_OBJECT, &request, NULL, 0, NULL);
}

static int ob_next_page(void *ctx, const char *token) {
    (void)ctx;
    cairn_ipc_buf request = {0};
    cairn_ipc_put_str(&request, token);
    return (int)forward_code(CAIRN_OP_NEXT_PAGE, &request, NULL, 0, NULL);
}

static const cairn_object_sink object_table = {
    sizeof(cairn_object_sink), CAIRN_ABI_MAJOR, CAIRN_ABI_MINOR, NULL, ob_object, ob_next_page,
};

/* ---- the cairn.store table, forwarded; cairn calls back into the plugin's sink / chunk ------- */

typedef struct store_call { const cairn_object_sink *sink; int (*chunk)(void *, const uint8_t *, size_t); void *chunk_ctx; } store_call;

static cairn_status st_list(void *ctx, const char *prefix, const cairn_object_sink *sink, const cairn_error *err) {
    (void)ctx;
    if (sink == NULL || sink->object == NULL) return cairn_fail(err, CAIRN_INVALID, "cairn.store list: no sink");
    store_call call = { sink, NULL, NULL };
    cairn_ipc_buf request = {0}, reply = {0};
    cairn_ipc_put_str(&request, prefix ? prefix : "");
    forward(CAIRN_OP_STORE_LIST, &request, NULL, 0, &reply, &call);
    cairn_status status = take_result(&reply, err);
    cairn_ipc_buf_free(&request);
    cairn_ipc_buf_free(&reply);
    return status;
}

static cairn_status st_read(void *ctx, const char *key, int (*chunk)(void *, const uint8_t *, size_t), void *chunk_ctx,
                            const cairn_error *err) {
    (void)ctx;
    if (key == NULL || chunk == NULL) return cairn_fail(err, CAIRN_INVALID, "cairn.store read: a required argument is NULL");
    store_call call = { NULL, chunk, chunk_ctx };
    cairn_ipc_buf request = {0}, reply = {0};
    cairn_ipc_put_str(&request, key);
    forward(CAIRN_OP_STORE_READ, &request, NULL, 0, &reply, &call);
    cairn_status status = take_result(&reply, err);
    cairn_ipc_buf_free(&request);
    cairn_ipc_buf_free(&reply);
    return status;
}

static cairn_status st_write(void *ctx, const char *key, const uint8_t *data, size_t len, const cairn_error *err) {
    (void)ctx;
    if (key == NULL || (data == NULL && len > 0)) return cairn_fail(err, CAIRN_INVALID, "cairn.store write: a required argument is NULL");
    if (len > CAIRN_IPC_MAX_CHUNK) {
        return cairn_fail(err, CAIRN_INVALID, "cairn.store write: %zu bytes for '%s'; it takes small objects (at most %zu bytes)",
                          len, key, CAIRN_IPC_MAX_CHUNK);
    }
    cairn_ipc_buf request = {0}, reply = {0};
    cairn_ipc_put_str(&request, key);
    forward(CAIRN_OP_STORE_WRITE, &request, data, len, &reply, NULL);
    cairn_status status = take_result(&reply, err);
    cairn_ipc_buf_free(&request);
    cairn_ipc_buf_free(&reply);
    return status;
}

static const cairn_store_api store_table = {
    sizeof(cairn_store_api), CAIRN_ABI_MAJOR, CAIRN_ABI_MINOR, st_list, st_read, st_write,
};

/* cairn's requests nested in a cairn.store call: the plugin's sink or chunk callback. */
static int serve_nested(cairn_ipc_conn *c, uint16_t op, cairn_ipc_buf *in, cairn_ipc_buf *out, void *call_ctx) {
    (void)c;
    store_call *call = call_ctx;
    if (call == NULL) return -1;
    if (op == CAIRN_OP_STORE_CHUNK && call->chunk) {
        size_t len = 0;
        const uint8_t *data = cairn_ipc_get_bytes(in, &len);
        cairn_ipc_put_u64(out, (uint64_t)(int64_t)call->chunk(call->chunk_ctx, data, len));
        return 0;
    }
    if (op == CAIRN_OP_STORE_OBJECT && call->sink) {
        cairn_object_info info;
        cairn_ipc_get_object(in, &info);
        if (in->bad || info.key == NULL) return -1;
        cairn_ipc_put_u64(out, (uint64_t)(int64_t)call->sink->object(call->sink->ctx, &info));
        return 0;
    }
    return -1;
}

/* ---- operations: one function each ------------------------------------------------------------ */

typedef void (*operation_fn)(cairn_ipc_buf *in, cairn_ipc_buf *out);
#define HANDLE(h) ((void *)(uintptr_t)(h))

static void op_open(cairn_ipc_buf *in, cairn_ipc_buf *out) {
    (void)in;
    captured c; capture_init(&c);
    cairn_status status = plugin->open(&host_table, &instance, &c.err);
    opened = status == CAIRN_OK;
    put_result(out, status, &c);
}

static void op_check(cairn_ipc_buf *in, cairn_ipc_buf *out) {
    (void)in;
    captured c; capture_init(&c);
    put_result(out, plugin->component->check(instance, &report_table, &c.err), &c);
}

static void op_backup(cairn_ipc_buf *in, cairn_ipc_buf *out) {
    cairn_backup_request request = { sizeof request, NULL, NULL, NULL, NULL };
    request.backup_id = cairn_ipc_get_str(in);
    request.component = cairn_ipc_get_str(in);
    request.environment = cairn_ipc_get_str(in);
    request.options_json = cairn_ipc_get_str(in);
    if (in->bad) return;
    captured c; capture_init(&c);
    pthread_mutex_lock(&channel_lock);
    sink_refused = 0;
    gathering = 1;
    pthread_mutex_unlock(&channel_lock);
    cairn_status status = plugin->component->backup(instance, &request, &sink_table, &c.err);
    pthread_mutex_lock(&channel_lock);
    drain_sink();  /* cairn sees the last records before the backup's result */
    gathering = 0;
    lent = NULL;
    pthread_mutex_unlock(&channel_lock);
    put_result(out, status, &c);
}

static void op_verify(cairn_ipc_buf *in, cairn_ipc_buf *out) {
    (void)in;
    captured c; capture_init(&c);
    put_result(out, plugin->component->verify(instance, &source_table, &report_table, &c.err), &c);
    source_done();
}

static void op_restore(cairn_ipc_buf *in, cairn_ipc_buf *out) {
    cairn_restore_request request = { sizeof request, NULL, NULL, NULL };
    request.backup_id = cairn_ipc_get_str(in);
    request.target = cairn_ipc_get_str(in);
    request.options_json = cairn_ipc_get_str(in);
    if (in->bad) return;
    captured c; capture_init(&c);
    put_result(out, plugin->component->restore(instance, &request, &source_table, &report_table, &c.err), &c);
    source_done();
}

static void op_open_writer(cairn_ipc_buf *in, cairn_ipc_buf *out) {
    const char *key = cairn_ipc_get_str(in);
    void *writer = NULL;
    captured c; capture_init(&c);
    put_result(out, plugin->storage->open_writer(instance, key, &writer, &c.err), &c);
    cairn_ipc_put_u64(out, (uint64_t)(uintptr_t)writer);
}

static void op_write(cairn_ipc_buf *in, cairn_ipc_buf *out) {
    uint64_t writer = cairn_ipc_get_u64(in);
    uint64_t offset = cairn_ipc_get_u64(in);
    uint64_t len = cairn_ipc_get_u64(in);
    if (in->bad || offset > CAIRN_IPC_AREA || len > CAIRN_IPC_AREA - offset) { in->bad = 1; return; }
    captured c; capture_init(&c);
    put_result(out, plugin->storage->write(HANDLE(writer), FROM_CAIRN + offset, (size_t)len, &c.err), &c);
}

static void op_commit(cairn_ipc_buf *in, cairn_ipc_buf *out) {
    uint64_t writer = cairn_ipc_get_u64(in);
    captured c; capture_init(&c);
    put_result(out, plugin->storage->commit(HANDLE(writer), &c.err), &c);
}

static void op_abort(cairn_ipc_buf *in, cairn_ipc_buf *out) {
    plugin->storage->abort(HANDLE(cairn_ipc_get_u64(in)));
    put_done(out);
}

static void op_open_reader(cairn_ipc_buf *in, cairn_ipc_buf *out) {
    const char *key = cairn_ipc_get_str(in);
    void *reader = NULL;
    captured c; capture_init(&c);
    put_result(out, plugin->storage->open_reader(instance, key, &reader, &c.err), &c);
    cairn_ipc_put_u64(out, (uint64_t)(uintptr_t)reader);
}

/* The plugin reads straight into our area of the region, at the offset cairn names: it takes one
 * half while the plugin fills the other. */
static void op_read(cairn_ipc_buf *in, cairn_ipc_buf *out) {
    uint64_t reader = cairn_ipc_get_u64(in);
    uint64_t cap = cairn_ipc_get_u64(in);
    uint64_t offset = cairn_ipc_get_u64(in);
    if (in->bad || offset > CAIRN_IPC_AREA || cap > CAIRN_IPC_AREA - offset) { in->bad = 1; return; }
    captured c; capture_init(&c);
    int64_t count = plugin->storage->read(HANDLE(reader), TO_CAIRN + offset, (size_t)cap, &c.err);
    if (count > (int64_t)cap) {
        /* in the words cairn uses for a plugin inside it (PluginStore) */
        c.has_message = 1;
        snprintf(c.message, sizeof c.message, "its read returned %lld bytes for a buffer of %llu", (long long)count,
                 (unsigned long long)cap);
        count = -CAIRN_ERROR;
    }
    cairn_ipc_put_u64(out, (uint64_t)count);
    cairn_ipc_put_str(out, c.has_message ? c.message : NULL);
    cairn_ipc_put_u64(out, offset);
}

static void op_close_reader(cairn_ipc_buf *in, cairn_ipc_buf *out) {
    plugin->storage->close_reader(HANDLE(cairn_ipc_get_u64(in)));
    put_done(out);
}

static void op_list(cairn_ipc_buf *in, cairn_ipc_buf *out) {
    const char *prefix = cairn_ipc_get_str(in);
    const char *token = cairn_ipc_get_str(in);
    uint32_t max_keys = (uint32_t)cairn_ipc_get_u64(in);
    if (in->bad) return;
    captured c; capture_init(&c);
    put_result(out, plugin->storage->list(instance, prefix, token, max_keys, &object_table, &c.err), &c);
}

static void op_stat(cairn_ipc_buf *in, cairn_ipc_buf *out) {
    const char *key = cairn_ipc_get_str(in);
    captured c; capture_init(&c);
    put_result(out, plugin->storage->stat(instance, key, &object_table, &c.err), &c);
}

static void op_copy(cairn_ipc_buf *in, cairn_ipc_buf *out) {
    const char *from = cairn_ipc_get_str(in);
    const char *to = cairn_ipc_get_str(in);
    captured c; capture_init(&c);
    put_result(out, plugin->storage->copy(instance, from, to, &c.err), &c);
}

static void op_remove(cairn_ipc_buf *in, cairn_ipc_buf *out) {
    const char *key = cairn_ipc_get_str(in);
    captured c; capture_init(&c);
    put_result(out, plugin->storage->remove(instance, key, &c.err), &c);
}

static void op_check_access(cairn_ipc_buf *in, cairn_ipc_buf *out) {
    (void)in;
    captured c; capture_init(&c);
    put_result(out, plugin->storage->check_access(instance, &report_table, &c.err), &c);
}

static void op_put_if(cairn_ipc_buf *in, cairn_ipc_buf *out) {
    const char *key = cairn_ipc_get_str(in);
    const char *version = cairn_ipc_get_str(in);
    size_t len = 0;
    const uint8_t *data = cairn_ipc_get_bytes(in, &len);
    if (in->bad) return;
    captured c; capture_init(&c);
    put_result(out, plugin->storage->put_if(instance, key, data, len, version, &object_table, &c.err), &c);
}

/* A native action: the host table first, then the arguments, through libffi as cairn would. */
static ffi_type *action_type(uint64_t code) {
    switch (code) {
    case CAIRN_ACTION_VOID: return &ffi_type_void;
    case CAIRN_ACTION_INT32: return &ffi_type_sint32;
    case CAIRN_ACTION_UINT32: return &ffi_type_uint32;
    case CAIRN_ACTION_INT64: return &ffi_type_sint64;
    case CAIRN_ACTION_UINT64: return &ffi_type_uint64;
    case CAIRN_ACTION_DOUBLE: return &ffi_type_double;
    case CAIRN_ACTION_STRING: return &ffi_type_pointer;
    default: return NULL;
    }
}

enum { MAX_ACTION_ARGUMENTS = 32 };

static void op_action(cairn_ipc_buf *in, cairn_ipc_buf *out) {
    const char *symbol = cairn_ipc_get_str(in);
    uint64_t returns = cairn_ipc_get_u64(in);
    uint64_t count = cairn_ipc_get_u64(in);
    if (in->bad || symbol == NULL || count > MAX_ACTION_ARGUMENTS || action_type(returns) == NULL) { in->bad = 1; return; }
    ffi_type *types[MAX_ACTION_ARGUMENTS + 1];
    void *values[MAX_ACTION_ARGUMENTS + 1];
    uint64_t slots[MAX_ACTION_ARGUMENTS + 1];
    const cairn_host_api *host = &host_table;
    types[0] = &ffi_type_pointer;
    values[0] = &host;
    for (uint64_t i = 1; i <= count; i++) {
        uint64_t code = cairn_ipc_get_u64(in);
        types[i] = code == CAIRN_ACTION_VOID ? NULL : action_type(code);
        if (types[i] == NULL) { in->bad = 1; return; }
        if (code == CAIRN_ACTION_STRING) {
            const char *text = cairn_ipc_get_str(in);  /* lives in `in` until the reply is sent */
            memcpy(&slots[i], &text, sizeof text);
        } else {
            slots[i] = cairn_ipc_get_u64(in);  /* the bits as cairn laid them out in its own slot */
        }
        values[i] = &slots[i];
    }
    if (in->bad) return;
    captured c; capture_init(&c);
    void *function = dlsym(library, symbol);
    ffi_cif cif;
    if (function == NULL) {
        put_result(out, cairn_fail(&c.err, CAIRN_NOT_FOUND, "symbol '%s' is not exported", symbol), &c);
        return;
    }
    if (ffi_prep_cif(&cif, FFI_DEFAULT_ABI, (unsigned)count + 1, action_type(returns), types) != FFI_OK) {
        put_result(out, cairn_fail(&c.err, CAIRN_ERROR, "libffi cannot prepare the call of '%s'", symbol), &c);
        return;
    }
    uint64_t result[2] = {0, 0};
    ffi_call(&cif, FFI_FN(function), result, values);
    clear_interrupt();  /* an action's registration ends when it returns */
    put_result(out, CAIRN_OK, &c);
    if (returns == CAIRN_ACTION_STRING) {
        char *text;
        memcpy(&text, result, sizeof text);
        cairn_ipc_put_str(out, text);
        free(text);  /* allocated with host->alloc, which is malloc here */
    } else {
        cairn_ipc_put_u64(out, result[0]);
    }
}

static const operation_fn operations[CAIRN_OP_LIMIT] = {
    [CAIRN_OP_ACTION] = op_action,
    [CAIRN_OP_OPEN] = op_open, [CAIRN_OP_CHECK] = op_check, [CAIRN_OP_BACKUP] = op_backup,
    [CAIRN_OP_VERIFY] = op_verify, [CAIRN_OP_RESTORE] = op_restore,
    [CAIRN_OP_OPEN_WRITER] = op_open_writer, [CAIRN_OP_WRITE] = op_write, [CAIRN_OP_COMMIT] = op_commit,
    [CAIRN_OP_ABORT] = op_abort, [CAIRN_OP_OPEN_READER] = op_open_reader, [CAIRN_OP_READ] = op_read,
    [CAIRN_OP_CLOSE_READER] = op_close_reader, [CAIRN_OP_LIST] = op_list, [CAIRN_OP_STAT] = op_stat,
    [CAIRN_OP_COPY] = op_copy, [CAIRN_OP_REMOVE] = op_remove, [CAIRN_OP_CHECK_ACCESS] = op_check_access,
    [CAIRN_OP_PUT_IF] = op_put_if,
};

/* ---- startup and the serving loop ------------------------------------------------------------- */

/* Async-signal-safe: a flag for is_cancelled, a byte for the interrupter thread (once). */
static void on_cancel(int signal_number) {
    (void)signal_number;
    if (cancelled) return;
    cancelled = 1;
    int saved = errno;
    char byte = 1;
    (void)!write(cancel_pipe[1], &byte, 1);
    errno = saved;
}

/* cairn gone (its end of the channel hung up): nobody is left to answer, so stop now. */
static void *watch_cairn(void *unused) {
    (void)unused;
    struct pollfd pfd = { CAIRN_IPC_FD, 0, 0 };
    for (;;) {
        if (poll(&pfd, 1, -1) > 0 && (pfd.revents & (POLLHUP | POLLERR | POLLNVAL))) _exit(EXIT_LOST);
    }
    return NULL;
}

/* `--probe LIBRARY`: load the library and call its entry function, nothing else. cairn runs
 * this before it loads a plugin not shipped with it into itself (to read its descriptor), so a
 * library whose constructors or entry function crash or hang takes down this process, not cairn. */
static int probe(const char *path) {
    void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (handle == NULL) { fprintf(stderr, "cannot load %s: %s\n", path, dlerror()); return EXIT_LOAD; }
    cairn_plugin_entry_fn entry = (cairn_plugin_entry_fn)dlsym(handle, CAIRN_PLUGIN_ENTRY_SYMBOL);
    return entry != NULL && entry(CAIRN_ABI_MAJOR, CAIRN_ABI_MINOR) != NULL ? 0 : EXIT_LOAD;
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "--probe") == 0) return probe(argv[2]);
    if (argc != 3) {
        fprintf(stderr, "cairn-plugin-worker is started by cairn for plugins with isolation: process; it is not run by hand\n");
        return 64;
    }
    pthread_mutexattr_t attributes;
    pthread_mutexattr_init(&attributes);
    pthread_mutexattr_settype(&attributes, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&channel_lock, &attributes);
    channel.dispatch = serve_nested;

    if (pipe2(cancel_pipe, O_CLOEXEC) != 0) { fprintf(stderr, "cannot create the cancel pipe: %s\n", strerror(errno)); return EXIT_LOAD; }
    pthread_t interrupt_thread;
    pthread_create(&interrupt_thread, NULL, interrupter, NULL);
    struct sigaction action = {0};
    action.sa_handler = on_cancel;
    action.sa_flags = SA_RESTART;
    sigemptyset(&action.sa_mask);
    sigaction(SIGUSR1, &action, NULL);
    /* cairn starts the worker with SIGUSR1 blocked (a cancel before this point waits): the
     * handler is in place now, so take it, and a pending one arrives here. */
    sigset_t cancel_signal;
    sigemptyset(&cancel_signal);
    sigaddset(&cancel_signal, SIGUSR1);
    pthread_sigmask(SIG_UNBLOCK, &cancel_signal, NULL);
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);

    unsigned long long limit = strtoull(argv[2], NULL, 10);
    if (limit > 0) {
        struct rlimit rl = { (rlim_t)limit, (rlim_t)limit };
        if (setrlimit(RLIMIT_DATA, &rl) != 0) fprintf(stderr, "cannot set the memory limit: %s\n", strerror(errno));
    }
    /* Programs the plugin starts (a drill's redis-server) must not hold cairn's channel open. */
    fcntl(CAIRN_IPC_FD, F_SETFD, FD_CLOEXEC);
    /* The shared region: mapped, and its descriptor closed, so the plugin cannot reach it. */
    struct stat region;
    if (fstat(CAIRN_IPC_SHM_FD, &region) != 0 || (size_t)region.st_size != CAIRN_IPC_SHM_SIZE
        || (shm = mmap(NULL, CAIRN_IPC_SHM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, CAIRN_IPC_SHM_FD, 0)) == MAP_FAILED) {
        fprintf(stderr, "cannot map the memory shared with cairn: %s\n", strerror(errno));
        return EXIT_LOAD;
    }
    close(CAIRN_IPC_SHM_FD);
    pthread_t watcher;
    pthread_create(&watcher, NULL, watch_cairn, NULL);

    library = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (library == NULL) { fprintf(stderr, "cannot load %s: %s\n", argv[1], dlerror()); return EXIT_LOAD; }
    cairn_plugin_entry_fn entry = (cairn_plugin_entry_fn)dlsym(library, CAIRN_PLUGIN_ENTRY_SYMBOL);
    plugin = entry ? entry(CAIRN_ABI_MAJOR, CAIRN_ABI_MINOR) : NULL;
    if (plugin == NULL) { fprintf(stderr, "%s: no plugin descriptor\n", argv[1]); return EXIT_LOAD; }
    /* The host owns libcurl's global init (cairn_plugin.h); here the worker is the host. */
    int (*curl_init)(long) = (int (*)(long))dlsym(library, "curl_global_init");
    if (curl_init) curl_init(3 /* CURL_GLOBAL_DEFAULT */);

    cairn_ipc_buf in = {0}, out = {0};
    for (;;) {
        uint8_t kind;
        uint16_t op;
        pthread_mutex_lock(&channel_lock);
        int received = cairn_ipc_recv(&channel, &kind, &op, &in);
        pthread_mutex_unlock(&channel_lock);
        if (received != 0) return channel.broken && strcmp(channel.broken, "closed") == 0 ? 0 : EXIT_LOST;
        if (kind != CAIRN_IPC_REQUEST) return EXIT_LOST;
        out.len = 0;
        if (op == CAIRN_OP_CLOSE) {
            /* `stay`: cairn keeps this worker for the plugin's next instance in this run */
            int stay = cairn_ipc_get_u64(&in) == 1 && !in.bad;
            clear_interrupt();  /* never called during or after close */
            if (opened) plugin->close(instance);
            forget_instance();
            put_done(&out);
            pthread_mutex_lock(&channel_lock);
            int sent = cairn_ipc_send(&channel, CAIRN_IPC_REPLY, op, &out, NULL, 0);
            pthread_mutex_unlock(&channel_lock);
            if (!stay) return 0;
            if (sent != 0) return EXIT_LOST;
            continue;
        }
        if (operations[op] == NULL) return EXIT_LOST;
        operations[op](&in, &out);
        if (in.bad) return EXIT_LOST;
        pthread_mutex_lock(&channel_lock);
        int sent = cairn_ipc_send(&channel, CAIRN_IPC_REPLY, op, &out, NULL, 0);
        pthread_mutex_unlock(&channel_lock);
        if (sent != 0) return EXIT_LOST;
    }
}
