/* Frames and fields of the channel between cairn and a plugin worker (cairn_ipc.h). */
#include "cairn_ipc.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define ABSENT UINT32_MAX

typedef struct frame_header {
    uint32_t length; /* payload bytes */
    uint8_t kind;
    uint8_t reserved;
    uint16_t op;
} frame_header;

static int reserve(cairn_ipc_buf *b, size_t more) {
    if (b->len + more <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more) cap *= 2;
    uint8_t *grown = realloc(b->data, cap);
    if (grown == NULL) { b->bad = 1; return -1; }
    b->data = grown;
    b->cap = cap;
    return 0;
}

void cairn_ipc_buf_free(cairn_ipc_buf *b) {
    free(b->data);
    memset(b, 0, sizeof *b);
}

void cairn_ipc_put_u64(cairn_ipc_buf *b, uint64_t value) {
    if (reserve(b, 8) != 0) return;
    memcpy(b->data + b->len, &value, 8);
    b->len += 8;
}

void cairn_ipc_put_bytes(cairn_ipc_buf *b, const void *data, size_t len) {
    uint32_t n = data == NULL ? ABSENT : (uint32_t)len;
    if (reserve(b, 4 + len + 1) != 0) return;
    memcpy(b->data + b->len, &n, 4);
    b->len += 4;
    if (data == NULL) return;
    if (len) memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len++] = 0;
}

void cairn_ipc_put_str(cairn_ipc_buf *b, const char *text) {
    cairn_ipc_put_bytes(b, text, text ? strlen(text) : 0);
}

uint64_t cairn_ipc_get_u64(cairn_ipc_buf *b) {
    uint64_t value = 0;
    if (b->bad || b->pos + 8 > b->len) { b->bad = 1; return 0; }
    memcpy(&value, b->data + b->pos, 8);
    b->pos += 8;
    return value;
}

const uint8_t *cairn_ipc_get_bytes(cairn_ipc_buf *b, size_t *len) {
    uint32_t n;
    *len = 0;
    if (b->bad || b->pos + 4 > b->len) { b->bad = 1; return NULL; }
    memcpy(&n, b->data + b->pos, 4);
    b->pos += 4;
    if (n == ABSENT) return NULL;
    if (b->pos + (size_t)n + 1 > b->len || b->data[b->pos + n] != 0) { b->bad = 1; return NULL; }
    const uint8_t *start = b->data + b->pos;
    b->pos += (size_t)n + 1;
    *len = n;
    return start;
}

const char *cairn_ipc_get_str(cairn_ipc_buf *b) {
    size_t len;
    return (const char *)cairn_ipc_get_bytes(b, &len);
}

static int fail(cairn_ipc_conn *c, const char *why) {
    if (c->broken == NULL) c->broken = why;
    return -1;
}

static int write_all(cairn_ipc_conn *c, struct iovec *iov, int count) {
    while (count > 0) {
        /* MSG_NOSIGNAL: a peer that died is an error here, not a SIGPIPE that ends this process. */
        struct msghdr message = { .msg_iov = iov, .msg_iovlen = (size_t)count };
        ssize_t n = sendmsg(c->fd, &message, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            if ((errno == EAGAIN || errno == EWOULDBLOCK) && c->wait) {
                if (c->wait(c, POLLOUT) != 0) return fail(c, "stopped");
                continue;
            }
            return fail(c, "closed");
        }
        while (count > 0 && (size_t)n >= iov->iov_len) { n -= (ssize_t)iov->iov_len; iov++; count--; }
        if (count > 0) { iov->iov_base = (uint8_t *)iov->iov_base + n; iov->iov_len -= (size_t)n; }
    }
    return 0;
}

/* One read of whatever the channel has, up to `len`; waits for it first where the descriptor does
 * not block (cairn's side: a reply is rarely there the moment the request went out). */
static ssize_t read_some(cairn_ipc_conn *c, void *into, size_t len) {
    for (int waited = 0;;) {
        if (c->wait && !waited) {
            if (c->wait(c, POLLIN) != 0) return fail(c, "stopped");
            waited = 1;
        }
        ssize_t n = read(c->fd, into, len);
        if (n > 0) return n;
        if (n == 0) return fail(c, "closed");
        if (errno == EINTR) continue;
        if ((errno == EAGAIN || errno == EWOULDBLOCK) && c->wait) { waited = 0; continue; }
        return fail(c, "closed");
    }
}

/* `len` bytes of the channel: what was read ahead first, then large rests straight into `into`,
 * small ones through the read-ahead buffer. */
static int read_all(cairn_ipc_conn *c, void *into, size_t len) {
    uint8_t *p = into;
    while (len > 0) {
        if (c->in_at < c->in_end) {
            size_t n = c->in_end - c->in_at < len ? c->in_end - c->in_at : len;
            memcpy(p, c->in + c->in_at, n);
            c->in_at += n;
            p += n;
            len -= n;
            continue;
        }
        if (len >= sizeof c->in) {
            ssize_t n = read_some(c, p, len);
            if (n < 0) return -1;
            p += n;
            len -= (size_t)n;
            continue;
        }
        ssize_t n = read_some(c, c->in, sizeof c->in);
        if (n < 0) return -1;
        c->in_at = 0;
        c->in_end = (size_t)n;
    }
    return 0;
}

int cairn_ipc_send(cairn_ipc_conn *c, uint8_t kind, uint16_t op, const cairn_ipc_buf *payload,
                   const void *extra, size_t extra_len) {
    if (c->broken) return -1;
    size_t body = (payload ? payload->len : 0) + extra_len;
    if (body > CAIRN_IPC_MAX_FRAME) return fail(c, "oversized");
    frame_header header = { (uint32_t)body, kind, 0, op };
    struct iovec iov[3] = {
        { &header, sizeof header },
        { payload ? payload->data : NULL, payload ? payload->len : 0 },
        { (void *)extra, extra_len },
    };
    return write_all(c, iov, 3);
}

int cairn_ipc_recv(cairn_ipc_conn *c, uint8_t *kind, uint16_t *op, cairn_ipc_buf *into) {
    frame_header header;
    if (c->broken) return -1;
    if (read_all(c, &header, sizeof header) != 0) return -1;
    if (header.length > CAIRN_IPC_MAX_FRAME || (header.kind != CAIRN_IPC_REQUEST && header.kind != CAIRN_IPC_REPLY)
        || header.reserved != 0 || header.op == 0 || header.op >= CAIRN_OP_LIMIT) {
        return fail(c, "garbage");
    }
    into->len = 0;
    into->pos = 0;
    into->bad = 0;
    if (reserve(into, header.length) != 0) return fail(c, "out of memory");
    if (read_all(c, into->data, header.length) != 0) return -1;
    into->len = header.length;
    *kind = header.kind;
    *op = header.op;
    return 0;
}

int cairn_ipc_call(cairn_ipc_conn *c, uint16_t op, const cairn_ipc_buf *request, const void *extra,
                   size_t extra_len, cairn_ipc_buf *reply, void *call_ctx) {
    if (cairn_ipc_send(c, CAIRN_IPC_REQUEST, op, request, extra, extra_len) != 0) return -1;
    return cairn_ipc_await(c, op, reply, call_ctx);
}

int cairn_ipc_await(cairn_ipc_conn *c, uint16_t op, cairn_ipc_buf *reply, void *call_ctx) {
    for (;;) {
        uint8_t kind;
        uint16_t got;
        if (cairn_ipc_recv(c, &kind, &got, reply) != 0) return -1;
        if (kind == CAIRN_IPC_REPLY) {
            if (got != op) return fail(c, "garbage");
            return 0;
        }
        /* A request of the other side, nested in ours: serve it, then keep waiting. The incoming
         * payload moves to a buffer of its own, since serving it may make calls of its own. */
        cairn_ipc_buf in = *reply, out = {0};
        memset(reply, 0, sizeof *reply);
        int served = c->dispatch ? c->dispatch(c, got, &in, &out, call_ctx) : -1;
        if (served == 0 && in.bad) served = -1;
        cairn_ipc_buf_free(&in);
        if (served != 0) { cairn_ipc_buf_free(&out); return fail(c, "garbage"); }
        int sent = cairn_ipc_send(c, CAIRN_IPC_REPLY, got, &out, NULL, 0);
        cairn_ipc_buf_free(&out);
        if (sent != 0) return -1;
        if (c->replied) c->replied(c, got);
    }
}

void cairn_ipc_put_object(cairn_ipc_buf *b, const cairn_object_info *info) {
    cairn_ipc_put_str(b, info->key);
    cairn_ipc_put_u64(b, info->size);
    cairn_ipc_put_u64(b, (uint64_t)info->modified_ms);
    cairn_ipc_put_str(b, info->etag);
    cairn_ipc_put_u64(b, CAIRN_HAS_FIELD(cairn_object_info, info, locked_until_ms) ? (uint64_t)info->locked_until_ms : 0);
}

void cairn_ipc_get_object(cairn_ipc_buf *b, cairn_object_info *info) {
    /* Fields one at a time: the order of an initializer's calls is unspecified in C. */
    memset(info, 0, sizeof *info);
    info->struct_size = sizeof *info;
    info->key = cairn_ipc_get_str(b);
    info->size = cairn_ipc_get_u64(b);
    info->modified_ms = (int64_t)cairn_ipc_get_u64(b);
    info->etag = cairn_ipc_get_str(b);
    info->locked_until_ms = (int64_t)cairn_ipc_get_u64(b);
}
