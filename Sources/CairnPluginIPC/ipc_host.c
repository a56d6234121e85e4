/* cairn's side of a plugin in a worker process (cairn_ipc.h): starting and ending the worker,
 * tables that forward each plugin function to it, and the host services it asks for, one small
 * function each in `services` below. A worker that dies, hangs past its grace after a cancel, or
 * breaks the protocol fails the call with one sentence saying so, and every later call too. */
#define _GNU_SOURCE
#include "cairn_ipc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

typedef struct proxy {
    cairn_ipc_conn conn;
    pthread_mutex_t lock;
    pid_t pid;
    /* what the worker runs: an idle worker serves a later open of the same */
    char *worker_path, *library_path;
    const cairn_host_api *host;
    char *label;
    uint64_t memory_limit;
    uint32_t grace_ms;
    const char *operation;
    /* cancellation: when the worker was asked to stop */
    int cancel_sent;
    struct timespec cancel_at;
    int killed_for_cancel;
    /* what the worker's death or misbehaviour was, once it happened */
    int dead;
    char failure[512];
    /* the worker's stdout and stderr, relayed line by line to the instance it serves (none while
     * idle): `output_lock` guards output_line and output_ctx */
    pthread_mutex_t output_lock;
    int output_fd;
    pthread_t output_thread;
    int output_running;
    volatile int output_stop;
    void (*output_line)(void *, const char *);
    void *output_ctx;
    /* the host-owned structs of the call in progress */
    const cairn_entry_sink *sink;
    const cairn_entry_source *source;
    /* An entry's next bytes, read from `source` into the half of cairn's area the worker is not
     * reading while it takes the half before (`ahead_ready`): `ahead_count` bytes (or the read's
     * failure) at `ahead_offset`, `ahead_last` if the entry ends with them. Until then, what the
     * last SOURCE_READ reply sent. */
    int ahead_ready, ahead_last;
    int64_t ahead_count;
    size_t ahead_offset;
    const cairn_report *report;
    const cairn_object_sink *objects;
    /* the region shared with the worker (cairn_ipc.h); bulk bytes are copied out of it into
     * `scratch`, memory the worker cannot touch, before anything here reads them */
    uint8_t *shm;
    uint8_t *scratch;
    /* store writes of `writing` gathered in cairn's area, half of it at a time: the worker writes
     * one half to its store while the next fills (`write_slot`); `write_posted`: a sent half awaits
     * its reply. Under `lock`. */
    struct proxy_stream *writing;
    size_t gathered, write_slot;
    int write_posted;
    /* a reader whose next half of the worker's area is asked for and not yet answered: the worker
     * reads it while cairn takes the half before. Under `lock`. */
    struct proxy_stream *reading;
} proxy;

/* A writer or reader of a storage plugin in the worker: the proxy and the worker's handle. */
/* A reader keeps what the worker read beyond the caller's buffer: [ahead_at, ahead_end) of `ahead`,
 * memory of cairn's own; `read_slot`: the half of the worker's area its next read goes to; and,
 * once a read answered so, its end (`at_end`) or its failure, for the caller's next read. */
/* A writer keeps the first failure the worker answered its gathered writes with, for its next call. */
typedef struct proxy_stream {
    proxy *p;
    uint64_t remote;
    uint8_t *ahead;
    size_t ahead_at, ahead_end, read_slot;
    int at_end;
    cairn_status failed;
    char message[1024];
} proxy_stream;

static double seconds_since(const struct timespec *t) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

/* ---- cancellation and the grace period -------------------------------------------------------- */

/* Passes a cancel on to the worker (SIGUSR1: the plugin's is_cancelled() turns true) and, once the
 * grace is over, kills it. Returns -1 when the worker was killed. */
static int watch(proxy *p) {
    if (p->dead || p->pid <= 0) return p->dead ? -1 : 0;
    if (!p->cancel_sent) {
        if (p->host && p->host->is_cancelled && p->host->is_cancelled(p->host->host_ctx)) {
            kill(p->pid, SIGUSR1);
            p->cancel_sent = 1;
            clock_gettime(CLOCK_MONOTONIC, &p->cancel_at);
        }
        return 0;
    }
    if (seconds_since(&p->cancel_at) * 1000.0 >= (double)p->grace_ms) {
        kill(p->pid, SIGKILL);
        p->killed_for_cancel = 1;
        return -1;
    }
    return 0;
}

static int wait_for_worker(cairn_ipc_conn *c, short events) {
    proxy *p = c->owner;
    for (;;) {
        struct pollfd pfd = { c->fd, events, 0 };
        int n = poll(&pfd, 1, 100);
        if (n > 0) return 0;  /* ready, or hung up: the read or write says which */
        if (n < 0 && errno != EINTR) return -1;
        if (watch(p) != 0) return -1;
    }
}

/* ---- the worker's death ----------------------------------------------------------------------- */

void cairn_signal_name(int number, char *out, size_t size) {
    const char *abbreviation = sigabbrev_np(number);
    if (abbreviation) snprintf(out, size, "SIG%s", abbreviation);
    else snprintf(out, size, "signal %d", number);
}

/* Reaps the worker, waiting at most `ms` before killing it. Returns its wait status. The wait
 * is a poll on a pidfd, which wakes the moment the worker exits (a worker takes a few ms to exit
 * after close, and cairn starts several per run); without one, a 1 ms sleep loop. */
static int reap(proxy *p, int ms) {
    int status = 0;
    if (p->pid <= 0) return 0;
    int pidfd = (int)syscall(SYS_pidfd_open, p->pid, 0);
    for (double waited = 0;;) {
        pid_t done = waitpid(p->pid, &status, WNOHANG);
        if (done == p->pid || (done < 0 && errno != EINTR)) break;
        if (waited >= ms) { kill(p->pid, SIGKILL); waitpid(p->pid, &status, 0); break; }
        struct timespec before;
        clock_gettime(CLOCK_MONOTONIC, &before);
        if (pidfd >= 0) {
            struct pollfd pfd = { pidfd, POLLIN, 0 };
            poll(&pfd, 1, ms - (int)waited > 0 ? ms - (int)waited : 0);
        } else {
            usleep(1000);
        }
        waited += seconds_since(&before) * 1000.0;
    }
    if (pidfd >= 0) close(pidfd);
    p->pid = 0;
    return status;
}

/* Records why the worker is gone, in the words every later call repeats. */
static void bury(proxy *p) {
    if (p->dead) return;
    const char *during = p->operation ? p->operation : "a call";
    int garbage = p->conn.broken && strcmp(p->conn.broken, "garbage") == 0;
    if (garbage && p->pid > 0) kill(p->pid, SIGKILL);
    int status = reap(p, p->killed_for_cancel || garbage ? 0 : 2000);
    char limit[96] = "";
    if (p->memory_limit) snprintf(limit, sizeof limit, " (its memory limit is %llu MiB)", (unsigned long long)(p->memory_limit >> 20));
    if (p->killed_for_cancel) {
        snprintf(p->failure, sizeof p->failure, "%s did not stop within %.3g s of being cancelled during %s; its worker was killed",
                 p->label, p->grace_ms / 1000.0, during);
    } else if (garbage) {
        snprintf(p->failure, sizeof p->failure, "%s broke the worker protocol during %s (unexpected bytes on its channel); its worker was killed",
                 p->label, during);
    } else if (WIFSIGNALED(status)) {
        char name[32];
        cairn_signal_name(WTERMSIG(status), name, sizeof name);
        snprintf(p->failure, sizeof p->failure, "%s crashed (%s) during %s%s", p->label, name, during, limit);
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == CAIRN_WORKER_EXIT_LOAD) {
        snprintf(p->failure, sizeof p->failure, "%s: its worker could not load the plugin's library (the reason is in the run log)", p->label);
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == CAIRN_WORKER_EXIT_LOST) {
        snprintf(p->failure, sizeof p->failure, "%s: its worker lost the channel during %s", p->label, during);
    } else if (WIFEXITED(status)) {
        snprintf(p->failure, sizeof p->failure, "%s exited (status %d) during %s%s", p->label, WEXITSTATUS(status), during, limit);
    } else {
        snprintf(p->failure, sizeof p->failure, "%s: its worker closed the channel during %s", p->label, during);
    }
    p->dead = 1;
}

/* ---- the worker's output ---------------------------------------------------------------------- */

static void emit(proxy *p, const char *line) {
    pthread_mutex_lock(&p->output_lock);
    if (p->output_line) p->output_line(p->output_ctx, line);
    pthread_mutex_unlock(&p->output_lock);
}

static void *relay_output(void *context) {
    proxy *p = context;
    char line[4096];
    size_t used = 0;
    for (;;) {
        struct pollfd pfd = { p->output_fd, POLLIN, 0 };
        int n = poll(&pfd, 1, 100);
        if (n == 0) { if (p->output_stop) break; continue; }
        if (n < 0) { if (errno == EINTR) continue; break; }
        ssize_t got = read(p->output_fd, line + used, sizeof line - 1 - used);
        if (got <= 0) { if (got < 0 && errno == EINTR) continue; break; }
        used += (size_t)got;
        size_t start = 0;
        for (size_t i = 0; i < used; i++) {
            if (line[i] != '\n') continue;
            line[i] = 0;
            emit(p, line + start);
            start = i + 1;
        }
        memmove(line, line + start, used - start);
        used -= start;
        if (used == sizeof line - 1) {  /* a line longer than the buffer: pass it on in pieces */
            line[used] = 0;
            emit(p, line);
            used = 0;
        }
    }
    if (used > 0) { line[used] = 0; emit(p, line); }
    return NULL;
}

/* ---- host services and callbacks the worker asks for: one function each ----------------------- */

typedef int (*service_fn)(proxy *p, cairn_ipc_buf *in, cairn_ipc_buf *out);

static int sv_log(proxy *p, cairn_ipc_buf *in, cairn_ipc_buf *out) {
    cairn_log_level level = (cairn_log_level)cairn_ipc_get_u64(in);
    const char *message = cairn_ipc_get_str(in);
    if (message && p->host->log) p->host->log(p->host->host_ctx, level, message);
    cairn_ipc_put_u64(out, 0);
    return 0;
}

static int sv_progress(proxy *p, cairn_ipc_buf *in, cairn_ipc_buf *out) {
    uint64_t done = cairn_ipc_get_u64(in);
    uint64_t total = cairn_ipc_get_u64(in);
    const char *what = cairn_ipc_get_str(in);
    if (!in->bad && p->host->progress) p->host->progress(p->host->host_ctx, done, total, what);
    cairn_ipc_put_u64(out, 0);
    return 0;
}

static int sv_config_get(proxy *p, cairn_ipc_buf *in, cairn_ipc_buf *out) {
    const char *key = cairn_ipc_get_str(in);
    cairn_ipc_put_str(out, key && p->host->config_get ? p->host->config_get(p->host->host_ctx, key) : NULL);
    return 0;
}

static int sv_secret_get(proxy *p, cairn_ipc_buf *in, cairn_ipc_buf *out) {
    const char *key = cairn_ipc_get_str(in);
    cairn_ipc_put_str(out, key && p->host->secret_get ? p->host->secret_get(p->host->host_ctx, key) : NULL);
    return 0;
}

static int sv_temp_dir(proxy *p, cairn_ipc_buf *in, cairn_ipc_buf *out) {
    (void)in;
    cairn_ipc_put_str(out, p->host->temp_dir ? p->host->temp_dir(p->host->host_ctx) : NULL);
    return 0;
}

static int sv_get_api(proxy *p, cairn_ipc_buf *in, cairn_ipc_buf *out) {
    const char *name = cairn_ipc_get_str(in);
    uint32_t version = (uint32_t)cairn_ipc_get_u64(in);
    const void *table = name && p->host->get_api ? p->host->get_api(p->host->host_ctx, name, version) : NULL;
    cairn_ipc_put_u64(out, table != NULL);
    return 0;
}

static int sv_report_check(proxy *p, cairn_ipc_buf *in, cairn_ipc_buf *out) {
    const char *name = cairn_ipc_get_str(in);
    cairn_check_status status = (cairn_check_status)cairn_ipc_get_u64(in);
    const char *message = cairn_ipc_get_str(in);
    const char *detail = cairn_ipc_get_str(in);
    if (p->report == NULL || in->bad) return -1;
    cairn_ipc_put_u64(out, (uint64_t)(int64_t)p->report->check(p->report->ctx, name, status, message, detail));
    return 0;
}

/* The worker's area of the shared region, `len` bytes at `offset`, as the worker claims: checked
 * against the area, never trusted. NULL when they do not fit (the worker broke the protocol). */
static const uint8_t *from_worker(proxy *p, uint64_t offset, uint64_t len) {
    if (p->shm == NULL || offset > CAIRN_IPC_AREA || len > CAIRN_IPC_AREA - offset) return NULL;
    return p->shm + CAIRN_IPC_TO_HOST + offset;
}

static int take_scratch(proxy *p) {
    return p->scratch != NULL || (p->scratch = malloc(CAIRN_IPC_AREA)) != NULL ? 0 : -1;
}

/* One record of a sink batch: the sink's answer to `*code`; -1 when the record is malformed. */
static int run_record(proxy *p, uint32_t kind, const uint8_t *body, size_t size, int *code) {
    *code = 0;
    switch (kind) {
    case CAIRN_RECORD_BEGIN: {
        if (size <= CAIRN_RECORD_BEGIN_FIXED || body[size - 1] != 0) return -1;
        uint32_t type, mode;
        cairn_entry entry = { sizeof entry, (const char *)body + CAIRN_RECORD_BEGIN_FIXED, CAIRN_ENTRY_FILE, 0, 0, 0 };
        memcpy(&type, body, 4);
        memcpy(&mode, body + 4, 4);
        memcpy(&entry.mtime, body + 8, 8);
        memcpy(&entry.size, body + 16, 8);
        entry.type = (cairn_entry_type)type;
        entry.mode = mode;
        *code = p->sink->begin(p->sink->ctx, &entry);
        return 0;
    }
    case CAIRN_RECORD_DATA:
        if (size) *code = p->sink->write(p->sink->ctx, body, size);
        return 0;
    case CAIRN_RECORD_END:
        if (size != 0) return -1;
        *code = p->sink->end(p->sink->ctx);
        return 0;
    case CAIRN_RECORD_PROGRESS: {
        uint64_t done, total;
        uint32_t has_text;
        if (size < CAIRN_RECORD_PROGRESS_FIXED) return -1;
        memcpy(&done, body, 8);
        memcpy(&total, body + 8, 8);
        memcpy(&has_text, body + 16, 4);
        const char *text = NULL;
        if (has_text) {
            if (size == CAIRN_RECORD_PROGRESS_FIXED || body[size - 1] != 0) return -1;
            text = (const char *)body + CAIRN_RECORD_PROGRESS_FIXED;
        }
        if (p->host->progress) p->host->progress(p->host->host_ctx, done, total, text);
        return 0;
    }
    default: return -1;
    }
}

/* A batch of sink calls, as records in the worker's area: run in order up to the first refusal,
 * whose code is the reply. */
static int sv_sink_write(proxy *p, cairn_ipc_buf *in, cairn_ipc_buf *out) {
    uint64_t offset = cairn_ipc_get_u64(in);
    uint64_t len = cairn_ipc_get_u64(in);
    const uint8_t *batch = from_worker(p, offset, len);
    if (p->sink == NULL || in->bad || batch == NULL || take_scratch(p) != 0) return -1;
    /* The worker can change the region while this runs, so each record's header is read once and
     * checked, and a record cairn parses (an entry's path, a progress text) is copied out first.
     * The entry's bytes go to the archive from the region as they are: it only hashes and
     * compresses them, within the bounds checked here, and bytes changed between the two reads
     * make a backup whose checksums fail its verification, nothing worse. */
    int code = 0;
    for (size_t at = 0; at < len && code == 0;) {
        cairn_ipc_record record;
        if (len - at < sizeof record) return -1;
        memcpy(&record, batch + at, sizeof record);
        at += sizeof record;
        if (record.size > len - at) return -1;
        const uint8_t *body = batch + at;
        if (record.kind != CAIRN_RECORD_DATA) {
            memcpy(p->scratch, body, record.size);
            body = p->scratch;
        }
        if (run_record(p, record.kind, body, record.size, &code) != 0) return -1;
        at += record.size;
    }
    cairn_ipc_put_u64(out, (uint64_t)(int64_t)code);
    return 0;
}

static int sv_sink_fact(proxy *p, cairn_ipc_buf *in, cairn_ipc_buf *out) {
    const char *key = cairn_ipc_get_str(in);
    const char *json = cairn_ipc_get_str(in);
    if (p->sink == NULL || p->sink->fact == NULL || in->bad) return -1;
    cairn_ipc_put_u64(out, (uint64_t)(int64_t)p->sink->fact(p->sink->ctx, key, json));
    return 0;
}

/* As much of the current entry as fits in [offset, offset + cap) of cairn's area goes there.
 * They are read into `scratch` first: the archive reader hashes what it has written, and the worker
 * maps the region. `*count`: the bytes (or the read's failure); `*at_end`: the entry ends with them. */
static int fill_entry_data(proxy *p, size_t offset, size_t cap, int64_t *count, int *at_end) {
    if (p->shm == NULL || take_scratch(p) != 0 || offset > CAIRN_IPC_AREA || cap > CAIRN_IPC_AREA - offset) return -1;
    *count = 0;
    *at_end = 0;
    while ((size_t)*count < cap) {
        int64_t n = p->source->read(p->source->ctx, p->scratch + *count, cap - (size_t)*count);
        if (n < 0 || n > (int64_t)(cap - (size_t)*count)) { *count = n < 0 ? n : -CAIRN_IO; break; }
        if (n == 0) { *at_end = 1; break; }
        *count += n;
    }
    if (*count > 0) memcpy(p->shm + CAIRN_IPC_TO_WORKER + offset, p->scratch, (size_t)*count);
    return 0;
}

static void put_entry_reply(cairn_ipc_buf *out, int64_t count, size_t offset, int at_end) {
    cairn_ipc_put_u64(out, (uint64_t)count);
    cairn_ipc_put_u64(out, offset);
    cairn_ipc_put_u64(out, (uint64_t)at_end);
}

/* As much of the current entry as fits in cairn's area from `offset` on goes there; the reply
 * says how many bytes (or the read's failure), where, and whether the entry ends with them (then
 * the worker answers the plugin's next read with 0 itself). `*complete` when the whole entry is in. */
static int put_entry_data(proxy *p, size_t offset, cairn_ipc_buf *out, size_t *used, int *complete) {
    int64_t count;
    int at_end;
    if (offset > CAIRN_IPC_AREA || fill_entry_data(p, offset, CAIRN_IPC_AREA - offset, &count, &at_end) != 0) return -1;
    put_entry_reply(out, count, offset, at_end);
    *used = count > 0 ? (size_t)count : 0;
    *complete = count >= 0 && at_end;
    return 0;
}

/* The next entry, with its first bytes: a round trip per file fewer. While an entry's bytes all
 * fit, the entries after it come in the same reply, each its code and fields, until the area is
 * nearly full or the source ends or fails (that code is the last). next() reads the rest of the
 * previous entry anyway, so reading ahead checks nothing the plugin would not have; a failure on
 * the way reaches the plugin where it would have met it. */
static int sv_source_next(proxy *p, cairn_ipc_buf *in, cairn_ipc_buf *out) {
    (void)in;
    if (p->source == NULL) return -1;
    /* bytes read ahead of the previous entry: next() would have skipped them */
    p->ahead_ready = 0;
    size_t offset = 0;
    for (int entries = 0; entries < 256; entries++) {
        cairn_entry entry = { sizeof entry, NULL, CAIRN_ENTRY_FILE, 0, 0, 0 };
        int code = p->source->next(p->source->ctx, &entry);
        cairn_ipc_put_u64(out, (uint64_t)(int64_t)code);
        if (code != 1) break;
        cairn_ipc_put_str(out, entry.path);
        cairn_ipc_put_u64(out, (uint64_t)entry.type);
        cairn_ipc_put_u64(out, entry.mode);
        cairn_ipc_put_u64(out, (uint64_t)entry.mtime);
        cairn_ipc_put_u64(out, (uint64_t)entry.size);
        size_t used = 0;
        int complete = 1;
        if (entry.type != CAIRN_ENTRY_FILE) {
            cairn_ipc_put_u64(out, 0);
            cairn_ipc_put_u64(out, offset);
            cairn_ipc_put_u64(out, 1);
        } else if (put_entry_data(p, offset, out, &used, &complete) != 0) {
            return -1;
        }
        offset += used;
        /* another entry only while this one is whole and a small file still fits */
        if (!complete || CAIRN_IPC_AREA - offset < (CAIRN_IPC_AREA >> 3)) break;
    }
    return 0;
}

#define SOURCE_HALF (CAIRN_IPC_AREA / 2)

/* The rest of an entry, half an area at a time: the half read ahead while the worker took the one
 * before, if there is one, else one read now; and the next half is read once this reply is sent
 * (source_replied). The worker asks only when it has taken all it had, so both halves are free. */
static int sv_source_read(proxy *p, cairn_ipc_buf *in, cairn_ipc_buf *out) {
    (void)cairn_ipc_get_u64(in);  /* what the worker asks for: as much as there is, always */
    if (p->source == NULL || in->bad) return -1;
    int64_t count = p->ahead_count;
    size_t offset = p->ahead_offset;
    int at_end = p->ahead_last;
    if (!p->ahead_ready) {
        offset = 0;
        if (fill_entry_data(p, offset, SOURCE_HALF, &count, &at_end) != 0) return -1;
    }
    put_entry_reply(out, count, offset, at_end);
    p->ahead_ready = 0;
    p->ahead_count = count;
    p->ahead_last = at_end;
    p->ahead_offset = offset == 0 ? SOURCE_HALF : 0;
    return 0;
}

/* After a SOURCE_READ reply that did not end the entry, the next half is read ahead. */
static void source_replied(cairn_ipc_conn *c, uint16_t op) {
    proxy *p = c->owner;
    if (op != CAIRN_OP_SOURCE_READ || p->ahead_count <= 0 || p->ahead_last) return;
    p->ahead_ready = fill_entry_data(p, p->ahead_offset, SOURCE_HALF, &p->ahead_count, &p->ahead_last) == 0;
}

/* The rest of the entry, passed over here: what was read ahead into cairn's area counts, and the
 * source skips the rest (reading and checking it) without a copy into the region. */
static int sv_source_skip(proxy *p, cairn_ipc_buf *in, cairn_ipc_buf *out) {
    (void)in;
    if (p->source == NULL) return -1;
    int64_t count = p->ahead_ready ? p->ahead_count : 0;
    int at_end = p->ahead_ready && p->ahead_last;
    p->ahead_ready = 0;
    if (count >= 0 && !at_end) {
        int64_t rest = CAIRN_HAS_FIELD(cairn_entry_source, p->source, skip) && p->source->skip
                           ? p->source->skip(p->source->ctx) : -CAIRN_ERROR;  /* cairn's own source has it */
        count = rest < 0 ? rest : count + rest;
    }
    cairn_ipc_put_u64(out, (uint64_t)count);
    return 0;
}

static int sv_source_metadata(proxy *p, cairn_ipc_buf *in, cairn_ipc_buf *out) {
    (void)in;
    if (p->source == NULL) return -1;
    cairn_ipc_put_str(out, p->source->metadata ? p->source->metadata(p->source->ctx) : NULL);
    return 0;
}

static int sv_object(proxy *p, cairn_ipc_buf *in, cairn_ipc_buf *out) {
    cairn_object_info info;
    cairn_ipc_get_object(in, &info);
    if (p->objects == NULL || in->bad || info.key == NULL) return -1;
    cairn_ipc_put_u64(out, (uint64_t)(int64_t)p->objects->object(p->objects->ctx, &info));
    return 0;
}

static int sv_next_page(proxy *p, cairn_ipc_buf *in, cairn_ipc_buf *out) {
    const char *token = cairn_ipc_get_str(in);
    if (p->objects == NULL || p->objects->next_page == NULL || in->bad) return -1;
    cairn_ipc_put_u64(out, (uint64_t)(int64_t)p->objects->next_page(p->objects->ctx, token));
    return 0;
}

/* cairn.store: the call runs here; the plugin's sink and chunk callbacks are asked in the worker. */
typedef struct captured { cairn_error err; cairn_status status; char message[2048]; int has; } captured;

static void capture_set(void *ctx, cairn_status status, const char *message) {
    captured *c = ctx;
    c->status = status;
    c->has = message != NULL;
    if (message) snprintf(c->message, sizeof c->message, "%s", message);
}

static void capture_init(captured *c) {
    memset(c, 0, sizeof *c);
    c->err = (cairn_error){ sizeof(cairn_error), CAIRN_ABI_MAJOR, CAIRN_ABI_MINOR, c, capture_set };
}

static void put_captured(cairn_ipc_buf *out, cairn_status status, const captured *c) {
    cairn_ipc_put_u64(out, (uint64_t)status);
    cairn_ipc_put_str(out, c->has ? c->message : NULL);
}

static const cairn_store_api *store_of(proxy *p) {
    return p->host->get_api ? p->host->get_api(p->host->host_ctx, CAIRN_STORE_API_NAME, CAIRN_STORE_API_VERSION) : NULL;
}

/* Asks the worker to run the plugin's callback; its return code, or CAIRN_IO when the channel broke.
 * Frees `request`. */
static int callback_in_worker(proxy *p, uint16_t op, cairn_ipc_buf *request) {
    cairn_ipc_buf reply = {0};
    int code = cairn_ipc_call(&p->conn, op, request, NULL, 0, &reply, p) == 0
        ? (int)(int64_t)cairn_ipc_get_u64(&reply) : CAIRN_IO;
    cairn_ipc_buf_free(request);
    cairn_ipc_buf_free(&reply);
    return code;
}

static int store_object_to_worker(void *ctx, const cairn_object_info *info) {
    cairn_ipc_buf request = {0};
    cairn_ipc_put_object(&request, info);
    return callback_in_worker(ctx, CAIRN_OP_STORE_OBJECT, &request);
}

static int store_chunk_to_worker(void *ctx, const uint8_t *data, size_t len) {
    cairn_ipc_buf request = {0};
    cairn_ipc_put_bytes(&request, data, len);
    return callback_in_worker(ctx, CAIRN_OP_STORE_CHUNK, &request);
}

static int sv_store_list(proxy *p, cairn_ipc_buf *in, cairn_ipc_buf *out) {
    const char *prefix = cairn_ipc_get_str(in);
    const cairn_store_api *store = store_of(p);
    if (store == NULL || in->bad) return -1;
    cairn_object_sink sink = { sizeof sink, CAIRN_ABI_MAJOR, CAIRN_ABI_MINOR, p, store_object_to_worker, NULL };
    captured c; capture_init(&c);
    put_captured(out, store->list(p->host->host_ctx, prefix, &sink, &c.err), &c);
    return 0;
}

static int sv_store_read(proxy *p, cairn_ipc_buf *in, cairn_ipc_buf *out) {
    const char *key = cairn_ipc_get_str(in);
    const cairn_store_api *store = store_of(p);
    if (store == NULL || in->bad) return -1;
    captured c; capture_init(&c);
    put_captured(out, store->read(p->host->host_ctx, key, store_chunk_to_worker, p, &c.err), &c);
    return 0;
}

static int sv_store_write(proxy *p, cairn_ipc_buf *in, cairn_ipc_buf *out) {
    const char *key = cairn_ipc_get_str(in);
    const cairn_store_api *store = store_of(p);
    if (store == NULL || in->bad) return -1;
    captured c; capture_init(&c);
    put_captured(out, store->write(p->host->host_ctx, key, in->data + in->pos, in->len - in->pos, &c.err), &c);
    in->pos = in->len;
    return 0;
}

/* ABI 1.1: the typed getters run here, on the same settings; a refusal's message goes back with
 * the status for the plugin's err (and cairn's context notes where the value came from). */
static int sv_config_typed(proxy *p, cairn_ipc_buf *in, cairn_ipc_buf *out) {
    uint64_t type = cairn_ipc_get_u64(in);
    const char *key = cairn_ipc_get_str(in);
    if (in->bad || key == NULL || !CAIRN_HAS_FIELD(cairn_host_api, p->host, config_list)) return -1;
    captured c; capture_init(&c);
    cairn_status status;
    int64_t value = 0;
    int flag = 0;
    switch (type) {
    case CAIRN_SETTING_INT: status = p->host->config_int(p->host->host_ctx, key, &value, &c.err); break;
    case CAIRN_SETTING_BOOL: status = p->host->config_bool(p->host->host_ctx, key, &flag, &c.err); value = flag; break;
    case CAIRN_SETTING_DURATION_MS: status = p->host->config_duration_ms(p->host->host_ctx, key, &value, &c.err); break;
    default: return -1;
    }
    put_captured(out, status, &c);
    cairn_ipc_put_u64(out, (uint64_t)value);
    return 0;
}

static int sv_config_list(proxy *p, cairn_ipc_buf *in, cairn_ipc_buf *out) {
    const char *key = cairn_ipc_get_str(in);
    if (in->bad || key == NULL || !CAIRN_HAS_FIELD(cairn_host_api, p->host, config_list)) return -1;
    captured c; capture_init(&c);
    const char *const *items = NULL;
    size_t count = 0;
    cairn_status status = p->host->config_list(p->host->host_ctx, key, &items, &count, &c.err);
    put_captured(out, status, &c);
    if (status != CAIRN_OK) count = 0;
    cairn_ipc_put_u64(out, count);
    for (size_t i = 0; i < count; i++) cairn_ipc_put_str(out, items[i]);
    return 0;
}

static int sv_source_fact(proxy *p, cairn_ipc_buf *in, cairn_ipc_buf *out) {
    const char *key = cairn_ipc_get_str(in);
    if (p->source == NULL || in->bad || key == NULL) return -1;
    int has = CAIRN_HAS_FIELD(cairn_entry_source, p->source, fact) && p->source->fact;
    cairn_ipc_put_str(out, has ? p->source->fact(p->source->ctx, key) : NULL);
    return 0;
}

static int sv_source_fact_int(proxy *p, cairn_ipc_buf *in, cairn_ipc_buf *out) {
    const char *key = cairn_ipc_get_str(in);
    if (p->source == NULL || in->bad || key == NULL) return -1;
    int64_t value = 0;
    int has = CAIRN_HAS_FIELD(cairn_entry_source, p->source, fact_int) && p->source->fact_int;
    cairn_ipc_put_u64(out, (uint64_t)(has ? p->source->fact_int(p->source->ctx, key, &value) : CAIRN_NOT_FOUND));
    cairn_ipc_put_u64(out, (uint64_t)value);
    return 0;
}

static const service_fn services[CAIRN_OP_LIMIT] = {
    [CAIRN_OP_CONFIG_TYPED] = sv_config_typed, [CAIRN_OP_CONFIG_LIST] = sv_config_list,
    [CAIRN_OP_SOURCE_FACT] = sv_source_fact, [CAIRN_OP_SOURCE_FACT_INT] = sv_source_fact_int,
    [CAIRN_OP_SOURCE_SKIP] = sv_source_skip,
    [CAIRN_OP_LOG] = sv_log, [CAIRN_OP_PROGRESS] = sv_progress, [CAIRN_OP_CONFIG_GET] = sv_config_get,
    [CAIRN_OP_SECRET_GET] = sv_secret_get, [CAIRN_OP_TEMP_DIR] = sv_temp_dir, [CAIRN_OP_GET_API] = sv_get_api,
    [CAIRN_OP_REPORT_CHECK] = sv_report_check, 
    [CAIRN_OP_SINK_WRITE] = sv_sink_write, [CAIRN_OP_SINK_FACT] = sv_sink_fact,
    [CAIRN_OP_SOURCE_NEXT] = sv_source_next, [CAIRN_OP_SOURCE_READ] = sv_source_read,
    [CAIRN_OP_SOURCE_METADATA] = sv_source_metadata, [CAIRN_OP_OBJECT] = sv_object,
    [CAIRN_OP_NEXT_PAGE] = sv_next_page, [CAIRN_OP_STORE_LIST] = sv_store_list,
    [CAIRN_OP_STORE_READ] = sv_store_read, [CAIRN_OP_STORE_WRITE] = sv_store_write,
};

static int serve_worker(cairn_ipc_conn *c, uint16_t op, cairn_ipc_buf *in, cairn_ipc_buf *out, void *call_ctx) {
    (void)call_ctx;
    proxy *p = c->owner;
    if (watch(p) != 0) return -1;
    return services[op] ? services[op](p, in, out) : -1;
}

/* ---- one call into the worker ----------------------------------------------------------------- */

/* The worker's reply does not parse, or claims bytes it does not have (a length or offset outside
 * its area): the protocol is broken, as with garbage on the channel. Under p->lock. */
static void lied(proxy *p) {
    if (p->dead) return;
    if (p->conn.broken == NULL) p->conn.broken = "garbage";
    bury(p);
}

/* The worker is gone: the call fails with the sentence saying why. */
static cairn_status worker_gone(proxy *p, const cairn_error *err) {
    if (err && err->set) err->set(err->ctx, CAIRN_ERROR, p->failure);
    return CAIRN_ERROR;
}

/* Sends `op`, serves the worker until it replies, and passes the plugin's status and message on
 * to `err`. The rest of the reply (handles, counts) stays in `reply` for the caller. */
static void drain_writes(proxy *p);
static void drain_reads(proxy *p);

static cairn_status round_trip_locked(proxy *p, const char *operation, uint16_t op, cairn_ipc_buf *request,
                                      const void *extra, size_t extra_len, cairn_ipc_buf *reply, const cairn_error *err) {
    cairn_status status = CAIRN_ERROR;
    drain_writes(p);  /* gathered store writes reach the worker before anything else */
    drain_reads(p);   /* and a read asked for ahead is answered first */
    if (!p->dead) {
        p->operation = operation;
        /* Each call after a cancel gets the whole grace: cleaning up (an abort, a remove) after a
         * cancelled backup must not be killed for the time the backup took to stop. */
        if (p->cancel_sent) clock_gettime(CLOCK_MONOTONIC, &p->cancel_at);
        if (watch(p) == 0 && cairn_ipc_call(&p->conn, op, request, extra, extra_len, reply, p) == 0) {
            status = (cairn_status)cairn_ipc_get_u64(reply);
            const char *message = cairn_ipc_get_str(reply);
            if (reply->bad) lied(p);
            else if (status != CAIRN_OK && message && err && err->set) err->set(err->ctx, status, message);
        } else {
            bury(p);
        }
    }
    if (p->dead) status = worker_gone(p, err);
    cairn_ipc_buf_free(request);
    return status;
}

static cairn_status round_trip(proxy *p, const char *operation, uint16_t op, cairn_ipc_buf *request, const void *extra,
                               size_t extra_len, cairn_ipc_buf *reply, const cairn_error *err) {
    pthread_mutex_lock(&p->lock);
    cairn_status status = round_trip_locked(p, operation, op, request, extra, extra_len, reply, err);
    pthread_mutex_unlock(&p->lock);
    return status;
}

static cairn_status simple(proxy *p, const char *operation, uint16_t op, cairn_ipc_buf *request, const cairn_error *err) {
    cairn_ipc_buf reply = {0};
    cairn_status status = round_trip(p, operation, op, request, NULL, 0, &reply, err);
    cairn_ipc_buf_free(&reply);
    return status;
}

/* ---- starting and ending the worker ------------------------------------------------------------ */

/* The worker now serves `spec`'s instance: messages name it, its output goes to its log. */
static void bind_worker(proxy *p, const cairn_proxy_spec *spec, const cairn_host_api *host) {
    p->host = host;
    free(p->label);
    p->label = strdup(spec->label);
    p->grace_ms = spec->grace_ms;
    p->operation = NULL;
    pthread_mutex_lock(&p->output_lock);
    p->output_line = spec->output_line;
    p->output_ctx = spec->output_ctx;
    pthread_mutex_unlock(&p->output_lock);
}

/* ---- idle workers ----------------------------------------------------------------------------- */

/* A worker whose instance closed cleanly waits here for the plugin's next instance in this cairn
 * process: a run opens its store and its components a dozen times, and starting a worker (exec,
 * loading the plugin's libraries) costs milliseconds each time. One that crashed, was asked to
 * cancel or broke the protocol is never kept. The few kept end when cairn exits (retire_idle), or
 * when it is killed: their channel hangs up. */
#define IDLE_MAX 4
static pthread_mutex_t idle_lock = PTHREAD_MUTEX_INITIALIZER;
static proxy *idle[IDLE_MAX];
static size_t idle_count;

static void end_worker(proxy *p);

/* An idle worker for `spec`'s plugin, still alive, or NULL. */
static proxy *take_idle(const cairn_proxy_spec *spec) {
    for (;;) {
        proxy *found = NULL;
        pthread_mutex_lock(&idle_lock);
        for (size_t i = 0; i < idle_count && found == NULL; i++) {
            proxy *q = idle[i];
            if (q->memory_limit == spec->memory_limit && strcmp(q->worker_path, spec->worker_path) == 0
                && strcmp(q->library_path, spec->library_path) == 0) {
                found = q;
                memmove(idle + i, idle + i + 1, (idle_count - i - 1) * sizeof *idle);
                idle_count--;
            }
        }
        pthread_mutex_unlock(&idle_lock);
        if (found == NULL) return NULL;
        int status;
        if (waitpid(found->pid, &status, WNOHANG) == 0) return found;
        found->pid = 0;  /* it died while idle (killed from outside): start another */
        found->dead = 1;
        end_worker(found);
    }
}

/* At exit every idle worker ends and is reaped, so none outlives cairn and their CPU time is
 * counted as cairn's children's. */
static void retire_idle(void) {
    proxy *ending[IDLE_MAX];
    pthread_mutex_lock(&idle_lock);
    size_t count = idle_count;
    memcpy(ending, idle, count * sizeof *idle);
    idle_count = 0;
    pthread_mutex_unlock(&idle_lock);
    /* An idle worker reads the end of its channel and exits: all at once, then each is reaped. */
    for (size_t i = 0; i < count; i++) shutdown(ending[i]->conn.fd, SHUT_WR);
    for (size_t i = 0; i < count; i++) end_worker(ending[i]);
}

static void register_retire_idle(void) { atexit(retire_idle); }

/* Keeps `p` for a later open; the oldest idle worker ends when there are too many. */
static void park(proxy *p) {
    static pthread_once_t registered = PTHREAD_ONCE_INIT;
    pthread_once(&registered, register_retire_idle);
    proxy *evicted = NULL;
    pthread_mutex_lock(&idle_lock);
    if (idle_count == IDLE_MAX) {
        evicted = idle[0];
        memmove(idle, idle + 1, (IDLE_MAX - 1) * sizeof *idle);
        idle_count--;
    }
    idle[idle_count++] = p;
    pthread_mutex_unlock(&idle_lock);
    if (evicted) {  /* it reads the end of its channel and exits */
        shutdown(evicted->conn.fd, SHUT_WR);
        end_worker(evicted);
    }
}

/* Starts a worker for `spec`; the instance is not opened yet. */
static cairn_status start_worker(const cairn_proxy_spec *spec, const cairn_host_api *host, proxy **started,
                                 const cairn_error *err) {
    int channel[2], output[2];
    *started = NULL;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, channel) != 0) {
        return cairn_fail(err, CAIRN_ERROR, "%s: cannot create the worker's channel: %s", spec->label, strerror(errno));
    }
    if (pipe2(output, O_CLOEXEC) != 0) {
        close(channel[0]); close(channel[1]);
        return cairn_fail(err, CAIRN_ERROR, "%s: cannot create the worker's output pipe: %s", spec->label, strerror(errno));
    }
    /* The shared region: sealed at its size, so the worker can neither shrink it under cairn (a
     * SIGBUS here) nor grow it. */
    int region = memfd_create("cairn-ipc", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    void *shm = MAP_FAILED;
    if (region >= 0 && ftruncate(region, (off_t)CAIRN_IPC_SHM_SIZE) == 0
        && fcntl(region, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) == 0) {
        shm = mmap(NULL, CAIRN_IPC_SHM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, region, 0);
    }
    if (shm == MAP_FAILED) {
        int saved = errno;
        if (region >= 0) close(region);
        close(channel[0]); close(channel[1]); close(output[0]); close(output[1]);
        return cairn_fail(err, CAIRN_ERROR, "%s: cannot create the worker's shared memory: %s", spec->label, strerror(saved));
    }
    proxy *p = calloc(1, sizeof *p);
    p->shm = shm;
    pthread_mutex_init(&p->lock, NULL);
    pthread_mutex_init(&p->output_lock, NULL);
    p->worker_path = strdup(spec->worker_path);
    p->library_path = strdup(spec->library_path);
    p->memory_limit = spec->memory_limit;
    bind_worker(p, spec, host);
    p->conn = (cairn_ipc_conn){ channel[0], serve_worker, wait_for_worker, p, NULL };
    p->conn.replied = source_replied;
    p->output_fd = output[0];

    /* The worker: channel on fd 3, stdout and stderr into the output pipe, no stdin, nothing else
     * of ours. A process group of its own, so the terminal's Ctrl-C reaches cairn only: cairn
     * then asks the plugin to cancel. Signals back to their defaults. */
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, output[1], 1);
    posix_spawn_file_actions_adddup2(&actions, output[1], 2);
    posix_spawn_file_actions_adddup2(&actions, channel[1], CAIRN_IPC_FD);
    posix_spawn_file_actions_adddup2(&actions, region, CAIRN_IPC_SHM_FD);
    posix_spawn_file_actions_addclosefrom_np(&actions, CAIRN_IPC_SHM_FD + 1);
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    sigset_t blocked, defaults;
    sigemptyset(&blocked);
    /* SIGUSR1 (cancel) starts blocked: one sent before the worker has set its handler stays
     * pending until it has, instead of killing it. */
    sigaddset(&blocked, SIGUSR1);
    sigemptyset(&defaults);
    int reset[] = { SIGINT, SIGTERM, SIGPIPE, SIGUSR1, SIGCHLD, SIGHUP, SIGQUIT };
    for (size_t i = 0; i < sizeof reset / sizeof reset[0]; i++) sigaddset(&defaults, reset[i]);
    posix_spawnattr_setsigmask(&attributes, &blocked);
    posix_spawnattr_setsigdefault(&attributes, &defaults);
    posix_spawnattr_setpgroup(&attributes, 0);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
    char limit[32];
    snprintf(limit, sizeof limit, "%llu", (unsigned long long)spec->memory_limit);
    char *argv[] = { (char *)spec->worker_path, (char *)spec->library_path, limit, NULL };
    int spawned = posix_spawn(&p->pid, spec->worker_path, &actions, &attributes, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    close(channel[1]);
    close(output[1]);
    close(region);
    if (spawned != 0) {
        cairn_status status = cairn_fail(err, CAIRN_ERROR, "%s: cannot start the plugin worker %s: %s (reinstall Cairn, or set isolation: in-process)",
                                         spec->label, spec->worker_path, strerror(spawned));
        p->pid = 0;
        cairn_proxy_close(p);
        return status;
    }
    fcntl(p->conn.fd, F_SETFL, fcntl(p->conn.fd, F_GETFL) | O_NONBLOCK);
    p->output_running = pthread_create(&p->output_thread, NULL, relay_output, p) == 0;
    *started = p;
    return CAIRN_OK;
}

/* An idle worker for the plugin, bound to `spec`, or a new one. */
static cairn_status acquire_worker(const cairn_proxy_spec *spec, const cairn_host_api *host, proxy **p,
                                   const cairn_error *err) {
    if ((*p = take_idle(spec)) != NULL) {
        bind_worker(*p, spec, host);
        return CAIRN_OK;
    }
    return start_worker(spec, host, p, err);
}

cairn_status cairn_proxy_open(const cairn_proxy_spec *spec, const cairn_host_api *host, void **instance,
                              const cairn_error *err) {
    proxy *p;
    *instance = NULL;
    cairn_status status = acquire_worker(spec, host, &p, err);
    if (status != CAIRN_OK) return status;
    cairn_ipc_buf request = {0};
    status = simple(p, "open", CAIRN_OP_OPEN, &request, err);
    if (status != CAIRN_OK) { cairn_proxy_close(p); return status; }
    *instance = p;
    return CAIRN_OK;
}

cairn_status cairn_proxy_call_action(const cairn_proxy_spec *spec, const cairn_host_api *host, const char *symbol,
                                     cairn_action_type returns, uint32_t count, const cairn_action_type *types,
                                     const uint64_t *slots, const char *const *strings, uint64_t *result, char **text,
                                     const cairn_error *err) {
    proxy *p;
    *result = 0;
    *text = NULL;
    cairn_status status = acquire_worker(spec, host, &p, err);
    if (status != CAIRN_OK) return status;
    cairn_ipc_buf request = {0}, reply = {0};
    cairn_ipc_put_str(&request, symbol);
    cairn_ipc_put_u64(&request, (uint64_t)returns);
    cairn_ipc_put_u64(&request, count);
    for (uint32_t i = 0; i < count; i++) {
        cairn_ipc_put_u64(&request, (uint64_t)types[i]);
        if (types[i] == CAIRN_ACTION_STRING) cairn_ipc_put_str(&request, strings[i]);
        else cairn_ipc_put_u64(&request, slots[i]);
    }
    status = round_trip(p, symbol, CAIRN_OP_ACTION, &request, NULL, 0, &reply, err);
    if (status == CAIRN_OK) {
        if (returns == CAIRN_ACTION_STRING) {
            const char *value = cairn_ipc_get_str(&reply);
            *text = value ? strdup(value) : NULL;
        } else {
            *result = cairn_ipc_get_u64(&reply);
        }
    }
    cairn_ipc_buf_free(&reply);
    cairn_proxy_close(p);
    return status;
}

/* Closes the instance, asking the worker to stay (`stay`) for the next one. 0: it is ready for that. */
static int close_instance(proxy *p, int stay) {
    if (p->dead || p->pid <= 0) return -1;
    cairn_ipc_buf request = {0};
    cairn_ipc_put_u64(&request, (uint64_t)stay);
    return simple(p, "close", CAIRN_OP_CLOSE, &request, NULL) == CAIRN_OK && !p->dead ? 0 : -1;
}

void cairn_proxy_close(void *instance) {
    proxy *p = instance;
    if (p == NULL) return;
    if (!p->cancel_sent && close_instance(p, 1) == 0) {
        /* nobody's output while idle; the next open binds its own */
        pthread_mutex_lock(&p->output_lock);
        p->output_line = NULL;
        p->output_ctx = NULL;
        pthread_mutex_unlock(&p->output_lock);
        p->host = NULL;
        park(p);
        return;
    }
    close_instance(p, 0);
    end_worker(p);
}

/* Reaps the worker (killed if it has not exited within the grace) and frees the proxy. */
static void end_worker(proxy *p) {
    reap(p, (int)p->grace_ms);
    close(p->conn.fd);
    if (p->output_running) {
        p->output_stop = 1;
        pthread_join(p->output_thread, NULL);
    }
    close(p->output_fd);
    pthread_mutex_destroy(&p->lock);
    pthread_mutex_destroy(&p->output_lock);
    if (p->shm) munmap(p->shm, CAIRN_IPC_SHM_SIZE);
    free(p->scratch);
    free(p->label);
    free(p->worker_path);
    free(p->library_path);
    free(p);
}

const char *cairn_proxy_failure(void *instance) {
    proxy *p = instance;
    return p && p->dead ? p->failure : NULL;
}

pid_t cairn_proxy_pid(void *instance) {
    proxy *p = instance;
    return p ? p->pid : 0;
}

/* ---- the component table ---------------------------------------------------------------------- */

static cairn_status px_check(void *instance, const cairn_report *report, const cairn_error *err) {
    proxy *p = instance;
    p->report = report;
    cairn_ipc_buf request = {0};
    cairn_status status = simple(p, "check", CAIRN_OP_CHECK, &request, err);
    p->report = NULL;
    return status;
}

static cairn_status px_backup(void *instance, const cairn_backup_request *r, const cairn_entry_sink *sink, const cairn_error *err) {
    proxy *p = instance;
    p->sink = sink;
    cairn_ipc_buf request = {0};
    cairn_ipc_put_str(&request, r->backup_id);
    cairn_ipc_put_str(&request, r->component);
    cairn_ipc_put_str(&request, r->environment);
    cairn_ipc_put_str(&request, r->options_json);
    cairn_status status = simple(p, "backup", CAIRN_OP_BACKUP, &request, err);
    p->sink = NULL;
    return status;
}

/* verify and restore: the entry source and report are the host's for the call alone. */
static cairn_status with_source(proxy *p, const char *operation, uint16_t op, cairn_ipc_buf *request,
                                const cairn_entry_source *source, const cairn_report *report, const cairn_error *err) {
    p->source = source;
    p->report = report;
    cairn_status status = simple(p, operation, op, request, err);
    p->source = NULL;
    p->ahead_ready = 0;
    p->report = NULL;
    return status;
}

static cairn_status px_verify(void *instance, const cairn_entry_source *source, const cairn_report *report, const cairn_error *err) {
    cairn_ipc_buf request = {0};
    return with_source(instance, "verify", CAIRN_OP_VERIFY, &request, source, report, err);
}

static cairn_status px_restore(void *instance, const cairn_restore_request *r, const cairn_entry_source *source,
                               const cairn_report *report, const cairn_error *err) {
    cairn_ipc_buf request = {0};
    cairn_ipc_put_str(&request, r->backup_id);
    cairn_ipc_put_str(&request, r->target);
    cairn_ipc_put_str(&request, r->options_json);
    return with_source(instance, "restore", CAIRN_OP_RESTORE, &request, source, report, err);
}

const cairn_component_api *cairn_proxy_component_table(const cairn_component_api *plugin_table) {
    cairn_component_api *table = calloc(1, sizeof *table);
    table->struct_size = sizeof *table;
    table->abi_major = plugin_table->abi_major;
    table->abi_minor = plugin_table->abi_minor;
    table->check = plugin_table->check ? px_check : NULL;
    table->backup = plugin_table->backup ? px_backup : NULL;
    table->verify = plugin_table->verify ? px_verify : NULL;
    table->restore = plugin_table->restore ? px_restore : NULL;
    return table;
}

/* ---- the storage table ------------------------------------------------------------------------- */

static cairn_status with_handle(proxy *p, const char *operation, uint16_t op, cairn_ipc_buf *request, void **handle,
                                const cairn_error *err) {
    cairn_ipc_buf reply = {0};
    cairn_status status = round_trip(p, operation, op, request, NULL, 0, &reply, err);
    if (status == CAIRN_OK) {
        proxy_stream *stream = calloc(1, sizeof *stream);
        stream->p = p;
        stream->remote = cairn_ipc_get_u64(&reply);
        *handle = stream;
    }
    cairn_ipc_buf_free(&reply);
    return status;
}

static cairn_status px_open_writer(void *instance, const char *key, void **writer, const cairn_error *err) {
    cairn_ipc_buf request = {0};
    cairn_ipc_put_str(&request, key);
    return with_handle(instance, "open_writer", CAIRN_OP_OPEN_WRITER, &request, writer, err);
}

/* ---- store streams: requests posted ahead of their replies ------------------------------------ */

/* Sends `op` without waiting for its reply (under p->lock); frees `request`. 0: sent. */
static int post(proxy *p, const char *operation, uint16_t op, cairn_ipc_buf *request) {
    p->operation = operation;
    int sent = cairn_ipc_send(&p->conn, CAIRN_IPC_REQUEST, op, request, NULL, 0);
    cairn_ipc_buf_free(request);
    if (sent != 0) bury(p);
    return sent;
}

/* The reply to a request sent with post(), serving the worker meanwhile (under p->lock). 0: it is
 * in `reply`; -1: the worker is gone. */
static int await_posted(proxy *p, const char *operation, uint16_t op, cairn_ipc_buf *reply) {
    p->operation = operation;
    if (watch(p) == 0 && cairn_ipc_await(&p->conn, op, reply, p) == 0) return 0;
    bury(p);
    return -1;
}

/* A stream keeps its first failure, for its caller's next call. */
static void keep_failure(proxy_stream *s, cairn_status status, const char *message, const char *otherwise) {
    if (s->failed != CAIRN_OK) return;
    s->failed = status;
    snprintf(s->message, sizeof s->message, "%s", message ? message : otherwise);
}

static cairn_status stream_failure(const proxy_stream *s, const cairn_error *err) {
    if (err && err->set) err->set(err->ctx, s->failed, s->message);
    return s->failed;
}

#define WRITE_SLOT (CAIRN_IPC_AREA / 2)

/* Takes the worker's reply to the half sent last (under p->lock). */
static void settle_write(proxy *p) {
    if (!p->write_posted || p->dead) { p->write_posted = 0; return; }
    p->write_posted = 0;
    cairn_ipc_buf reply = {0};
    if (await_posted(p, "write", CAIRN_OP_WRITE, &reply) == 0) {
        cairn_status status = (cairn_status)cairn_ipc_get_u64(&reply);
        const char *message = cairn_ipc_get_str(&reply);
        if (reply.bad) lied(p);
        else if (status != CAIRN_OK && p->writing) keep_failure(p->writing, status, message, "the store's write failed");
    }
    cairn_ipc_buf_free(&reply);
}

/* Sends the gathered half without waiting for the worker to write it (under p->lock). */
static void post_write(proxy *p) {
    if (p->gathered == 0 || p->writing == NULL) return;
    settle_write(p);
    size_t len = p->gathered;
    p->gathered = 0;
    if (p->dead || p->writing->failed != CAIRN_OK) return;
    cairn_ipc_buf request = {0};
    cairn_ipc_put_u64(&request, p->writing->remote);
    cairn_ipc_put_u64(&request, p->write_slot * WRITE_SLOT);  /* the offset in the area */
    cairn_ipc_put_u64(&request, len);
    p->write_posted = post(p, "write", CAIRN_OP_WRITE, &request) == 0;
    p->write_slot ^= 1;
}

/* Every gathered write sent and answered (under p->lock). */
static void drain_writes(proxy *p) {
    post_write(p);
    settle_write(p);
}

/* A store write's failure, or the worker's death, for the writer's caller (under p->lock). */
static cairn_status write_outcome(proxy_stream *w, const cairn_error *err) {
    proxy *p = w->p;
    if (p->dead) return worker_gone(p, err);
    return w->failed != CAIRN_OK ? stream_failure(w, err) : CAIRN_OK;
}

/* The bytes are gathered in cairn's area, half of it at a time, and sent when a half is full or
 * any other call comes: the worker writes them to its store while cairn compresses the next, and
 * archive chunks of a few hundred KiB cost a round trip per half MiB. A failure comes back from
 * the writer's next write or its commit. */
static cairn_status px_write(void *writer, const uint8_t *data, size_t len, const cairn_error *err) {
    proxy_stream *w = writer;
    proxy *p = w->p;
    pthread_mutex_lock(&p->lock);
    drain_reads(p);
    if (p->writing != w) {
        drain_writes(p);
        p->writing = w;
    }
    while (len > 0 && !p->dead && w->failed == CAIRN_OK) {
        size_t n = WRITE_SLOT - p->gathered < len ? WRITE_SLOT - p->gathered : len;
        memcpy(p->shm + CAIRN_IPC_TO_WORKER + p->write_slot * WRITE_SLOT + p->gathered, data, n);
        p->gathered += n;
        data += n;
        len -= n;
        if (p->gathered == WRITE_SLOT) post_write(p);
    }
    cairn_status status = write_outcome(w, err);
    pthread_mutex_unlock(&p->lock);
    return status;
}

/* Ends the writer's gathering: what it gathered is sent (`keep`) or dropped, and its failure, if
 * any, returned (under p->lock). */
static cairn_status finish_writes(proxy_stream *w, int keep, const cairn_error *err) {
    proxy *p = w->p;
    if (p->writing == w) {
        if (!keep) p->gathered = 0;
        drain_writes(p);
        p->writing = NULL;
    }
    return write_outcome(w, err);
}

static cairn_status px_commit(void *writer, const cairn_error *err) {
    proxy_stream *w = writer;
    proxy *p = w->p;
    cairn_ipc_buf request = {0}, reply = {0};
    cairn_ipc_put_u64(&request, w->remote);
    pthread_mutex_lock(&p->lock);
    cairn_status status = finish_writes(w, 1, err);
    if (status == CAIRN_OK) {
        status = round_trip_locked(p, "commit", CAIRN_OP_COMMIT, &request, NULL, 0, &reply, err);
    } else {
        /* a write failed: the plugin's writer is released as a failed write would have been */
        round_trip_locked(p, "abort", CAIRN_OP_ABORT, &request, NULL, 0, &reply, NULL);
    }
    pthread_mutex_unlock(&p->lock);
    cairn_ipc_buf_free(&reply);
    free(w);
    return status;
}

static void px_abort(void *writer) {
    proxy_stream *w = writer;
    if (w == NULL) return;
    proxy *p = w->p;
    cairn_ipc_buf request = {0}, reply = {0};
    cairn_ipc_put_u64(&request, w->remote);
    pthread_mutex_lock(&p->lock);
    finish_writes(w, 0, NULL);
    round_trip_locked(p, "abort", CAIRN_OP_ABORT, &request, NULL, 0, &reply, NULL);
    pthread_mutex_unlock(&p->lock);
    cairn_ipc_buf_free(&reply);
    free(w);
}

static cairn_status px_open_reader(void *instance, const char *key, void **reader, const cairn_error *err) {
    cairn_ipc_buf request = {0};
    cairn_ipc_put_str(&request, key);
    return with_handle(instance, "open_reader", CAIRN_OP_OPEN_READER, &request, reader, err);
}

#define READ_SLOT (CAIRN_IPC_AREA / 2)

/* Asks the worker for the reader's next half area of bytes without waiting for them (under p->lock). */
static void post_read(proxy_stream *r) {
    proxy *p = r->p;
    cairn_ipc_buf request = {0};
    cairn_ipc_put_u64(&request, r->remote);
    cairn_ipc_put_u64(&request, READ_SLOT);
    cairn_ipc_put_u64(&request, r->read_slot * READ_SLOT);  /* the offset in the worker's area */
    if (post(p, "read", CAIRN_OP_READ, &request) == 0) p->reading = r;
}

/* Takes the worker's answer to the posted read (under p->lock): a count of bytes at `*data` in its
 * area, checked; 0 at the end; or the failure, kept with the reader. -1: the worker is gone. */
static int64_t settle_read(proxy *p, const uint8_t **data) {
    proxy_stream *r = p->reading;
    p->reading = NULL;
    *data = NULL;
    if (r == NULL || p->dead) return -1;
    cairn_ipc_buf reply = {0};
    int64_t count = -1;
    if (await_posted(p, "read", CAIRN_OP_READ, &reply) == 0) {
        /* The reply leads with the count where others have a status. */
        count = (int64_t)cairn_ipc_get_u64(&reply);
        const char *message = cairn_ipc_get_str(&reply);
        uint64_t offset = cairn_ipc_get_u64(&reply);
        *data = count > 0 ? from_worker(p, offset, (uint64_t)count) : NULL;
        if (reply.bad || (count > 0 && ((uint64_t)count > READ_SLOT || *data == NULL))) {
            lied(p);
            count = -1;
        } else if (count == 0) {
            r->at_end = 1;
        } else if (count < 0) {
            keep_failure(r, (cairn_status)-count, message, "the store's read failed");
        }
    }
    cairn_ipc_buf_free(&reply);
    return count;
}

/* A read asked for ahead is answered before anything else goes to the worker; its bytes wait in
 * the reader's `ahead` (under p->lock). */
static void drain_reads(proxy *p) {
    proxy_stream *r = p->reading;
    const uint8_t *data;
    int64_t count = settle_read(p, &data);
    if (count > 0) {
        /* after what the reader still holds: `ahead` has room for a half area twice */
        memmove(r->ahead, r->ahead + r->ahead_at, r->ahead_end - r->ahead_at);
        r->ahead_end -= r->ahead_at;
        r->ahead_at = 0;
        memcpy(r->ahead + r->ahead_end, data, (size_t)count);
        r->ahead_end += (size_t)count;
    }
}

/* The worker reads half an area at a time into its area of the region, and the next half while
 * cairn takes this one (a store's latency, or a busy core, then costs once, not per round trip).
 * The reply says how many bytes and where, which is checked before they are copied to `buf`; what
 * does not fit waits in `ahead`. A failure of a read made ahead comes from the caller's next read. */
static int64_t px_read(void *reader, uint8_t *buf, size_t cap, const cairn_error *err) {
    proxy_stream *r = reader;
    proxy *p = r->p;
    if (cap == 0) return 0;
    pthread_mutex_lock(&p->lock);
    int64_t count = 0;
    const uint8_t *data = NULL;
    if (r->ahead_at < r->ahead_end) {
        data = r->ahead + r->ahead_at;
        count = (int64_t)(r->ahead_end - r->ahead_at);
    } else if (r->at_end) {
        count = 0;
    } else if (r->failed != CAIRN_OK) {
        count = -(int64_t)stream_failure(r, err);
    } else if (r->ahead == NULL && (r->ahead = malloc(2 * READ_SLOT)) == NULL) {
        count = -CAIRN_ERROR;
        if (err && err->set) err->set(err->ctx, CAIRN_ERROR, "out of memory for a store read");
    } else {
        if (p->reading != r) {
            drain_writes(p);
            drain_reads(p);
            if (!p->dead) post_read(r);
        }
        count = settle_read(p, &data);
        if (count > 0) {
            r->read_slot ^= 1;
            post_read(r);  /* the worker fills the other half while this one is copied out */
        } else if (count < 0 && !p->dead) {
            stream_failure(r, err);
        }
    }
    if (p->dead) {
        count = -(int64_t)worker_gone(p, err);
    } else if (count > 0) {
        size_t n = (size_t)count < cap ? (size_t)count : cap;
        memcpy(buf, data, n);
        if (data == r->ahead + r->ahead_at) {
            r->ahead_at += n;
        } else {
            memcpy(r->ahead, data + n, (size_t)count - n);
            r->ahead_at = 0;
            r->ahead_end = (size_t)count - n;
        }
        count = (int64_t)n;
    }
    pthread_mutex_unlock(&p->lock);
    return count;
}

static void px_close_reader(void *reader) {
    proxy_stream *r = reader;
    if (r == NULL) return;
    cairn_ipc_buf request = {0};
    cairn_ipc_put_u64(&request, r->remote);
    simple(r->p, "close_reader", CAIRN_OP_CLOSE_READER, &request, NULL);
    free(r->ahead);
    free(r);
}

static cairn_status with_objects(proxy *p, const char *operation, uint16_t op, cairn_ipc_buf *request,
                                 const cairn_object_sink *sink, const cairn_error *err) {
    p->objects = sink;
    cairn_status status = simple(p, operation, op, request, err);
    p->objects = NULL;
    return status;
}

static cairn_status px_list(void *instance, const char *prefix, const char *token, uint32_t max_keys,
                            const cairn_object_sink *sink, const cairn_error *err) {
    cairn_ipc_buf request = {0};
    cairn_ipc_put_str(&request, prefix);
    cairn_ipc_put_str(&request, token);
    cairn_ipc_put_u64(&request, max_keys);
    return with_objects(instance, "list", CAIRN_OP_LIST, &request, sink, err);
}

static cairn_status px_stat(void *instance, const char *key, const cairn_object_sink *sink, const cairn_error *err) {
    cairn_ipc_buf request = {0};
    cairn_ipc_put_str(&request, key);
    return with_objects(instance, "stat", CAIRN_OP_STAT, &request, sink, err);
}

static cairn_status px_copy(void *instance, const char *from, const char *to, const cairn_error *err) {
    cairn_ipc_buf request = {0};
    cairn_ipc_put_str(&request, from);
    cairn_ipc_put_str(&request, to);
    return simple(instance, "copy", CAIRN_OP_COPY, &request, err);
}

static cairn_status px_remove(void *instance, const char *key, const cairn_error *err) {
    cairn_ipc_buf request = {0};
    cairn_ipc_put_str(&request, key);
    return simple(instance, "remove", CAIRN_OP_REMOVE, &request, err);
}

static cairn_status px_check_access(void *instance, const cairn_report *report, const cairn_error *err) {
    proxy *p = instance;
    p->report = report;
    cairn_ipc_buf request = {0};
    cairn_status status = simple(p, "check_access", CAIRN_OP_CHECK_ACCESS, &request, err);
    p->report = NULL;
    return status;
}

static cairn_status px_put_if(void *instance, const char *key, const uint8_t *data, size_t len, const char *if_version,
                              const cairn_object_sink *sink, const cairn_error *err) {
    if (len > CAIRN_IPC_MAX_CHUNK) return cairn_fail(err, CAIRN_INVALID, "put_if of %zu bytes: too large for a conditional write", len);
    cairn_ipc_buf request = {0};
    cairn_ipc_put_str(&request, key);
    cairn_ipc_put_str(&request, if_version);
    cairn_ipc_put_bytes(&request, data ? data : (const uint8_t *)"", len);
    return with_objects(instance, "put_if", CAIRN_OP_PUT_IF, &request, sink, err);
}

const cairn_storage_api *cairn_proxy_storage_table(const cairn_storage_api *plugin_table) {
    cairn_storage_api *table = calloc(1, sizeof *table);
    table->struct_size = sizeof *table;
    table->abi_major = plugin_table->abi_major;
    table->abi_minor = plugin_table->abi_minor;
    table->open_writer = px_open_writer;
    table->write = px_write;
    table->commit = px_commit;
    table->abort = px_abort;
    table->open_reader = px_open_reader;
    table->read = px_read;
    table->close_reader = px_close_reader;
    table->list = px_list;
    table->stat = px_stat;
    table->copy = px_copy;
    table->remove = px_remove;
    table->check_access = px_check_access;
    int has_put_if = plugin_table->struct_size >= CAIRN_SIZE_THROUGH(cairn_storage_api, put_if) && plugin_table->put_if;
    table->put_if = has_put_if ? px_put_if : NULL;
    return table;
}
