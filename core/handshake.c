#include "handshake.h"

#include <errno.h>
#include <string.h>

static enum handshake_status fail(struct handshake *h, int err)
{
    h->error = err;
    h->failed_step = h->step;
    h->step = STEP_FAILED;
    h->out_len = h->out_sent = 0;
    return HANDSHAKE_FAILED;
}

/* Queues an encoded message (len from an encoder, maybe -errno) and the reply length to expect first. */
static enum handshake_status send_then_read(struct handshake *h, int len, size_t first_need)
{
    if (len < 0)
        return fail(h, -len);
    h->out_len = (size_t)len;
    h->out_sent = 0;
    h->in_len = 0;
    h->in_need = first_need;
    return HANDSHAKE_WRITE;
}

static enum handshake_status start_request(struct handshake *h)
{
    h->step = STEP_REQUEST;
    size_t need;
    struct socks5_reply scratch;
    socks5_reply_decode(h->in, 0, &scratch, &need);
    return send_then_read(h, socks5_request_encode(h->out, sizeof(h->out), h->command, &h->target), need);
}

int handshake_start(struct handshake *h, const struct proxy *proxy, const struct socks_target *target)
{
    memset(h, 0, sizeof(*h));
    h->proxy = proxy;
    h->target = *target;
    h->command = SOCKS5_CMD_CONNECT;
    h->step = STEP_METHODS;
    /* Check the target now so a bad one fails before any byte goes out. */
    if (socks5_request_encode(h->in, sizeof(h->in), h->command, target) < 0) {
        fail(h, EINVAL);
        return -EINVAL;
    }
    send_then_read(h, socks5_methods_encode(h->out, sizeof(h->out), proxy->has_auth), 2);
    return 0;
}

enum handshake_status handshake_status(const struct handshake *h)
{
    switch (h->step) {
    case STEP_DONE: return HANDSHAKE_DONE;
    case STEP_FAILED: return HANDSHAKE_FAILED;
    default: return h->out_sent < h->out_len ? HANDSHAKE_WRITE : HANDSHAKE_READ;
    }
}

const uint8_t *handshake_output(const struct handshake *h, size_t *len)
{
    *len = h->out_len - h->out_sent;
    return *len ? h->out + h->out_sent : NULL;
}

void handshake_sent(struct handshake *h, size_t n)
{
    size_t pending = h->out_len - h->out_sent;
    h->out_sent += n < pending ? n : pending;
    /* Credentials must not linger in memory longer than needed. */
    if (h->out_sent == h->out_len && h->step == STEP_AUTH)
        memset(h->out, 0, h->out_len);
}

size_t handshake_wants(const struct handshake *h)
{
    if (handshake_status(h) != HANDSHAKE_READ)
        return 0;
    return h->in_need - h->in_len;
}

static enum handshake_status on_method(struct handshake *h)
{
    uint8_t method;
    int r = socks5_method_decode(h->in, h->in_len, &method);
    if (r < 0)
        return fail(h, -r);
    if (method == SOCKS5_METHOD_NONE)
        return start_request(h);
    if (method == SOCKS5_METHOD_USERPASS && h->proxy->has_auth) {
        h->step = STEP_AUTH;
        return send_then_read(h, socks5_userpass_encode(h->out, sizeof(h->out), h->proxy->user, h->proxy->pass), 2);
    }
    /* 0xFF (no acceptable method), or a method we never offered. */
    return fail(h, method == SOCKS5_METHOD_UNACCEPTABLE ? EACCES : EPROTO);
}

static enum handshake_status on_auth(struct handshake *h)
{
    int r = socks5_userpass_decode(h->in, h->in_len);
    if (r < 0)
        return fail(h, -r);
    return start_request(h);
}

static enum handshake_status on_reply(struct handshake *h)
{
    size_t need;
    int r = socks5_reply_decode(h->in, h->in_len, &h->reply, &need);
    if (r < 0)
        return fail(h, -r);
    if (r == 0) {
        h->in_need = need;
        return HANDSHAKE_READ;
    }
    if (h->reply.code != SOCKS5_REP_SUCCEEDED)
        return fail(h, socks5_reply_errno(h->reply.code));
    h->step = STEP_DONE;
    return HANDSHAKE_DONE;
}

enum handshake_status handshake_feed(struct handshake *h, const uint8_t *data, size_t len)
{
    enum handshake_status now = handshake_status(h);
    if (now == HANDSHAKE_DONE || now == HANDSHAKE_FAILED)
        return now;
    /* Bytes while we still have to write, or past the reply, mean the driver lost track. */
    if (len > handshake_wants(h))
        return fail(h, EPROTO);
    if (len == 0)
        return now;
    memcpy(h->in + h->in_len, data, len);
    h->in_len += len;
    if (h->in_len < h->in_need)
        return HANDSHAKE_READ;
    switch (h->step) {
    case STEP_METHODS: return on_method(h);
    case STEP_AUTH: return on_auth(h);
    case STEP_REQUEST: return on_reply(h);
    default: return handshake_status(h);
    }
}

void handshake_eof(struct handshake *h)
{
    if (h->step != STEP_DONE && h->step != STEP_FAILED)
        fail(h, ECONNRESET);
}

void handshake_abort(struct handshake *h, int err)
{
    if (h->step != STEP_DONE && h->step != STEP_FAILED)
        fail(h, err);
}

int handshake_error(const struct handshake *h)
{
    return h->step == STEP_FAILED ? h->error : 0;
}

const char *handshake_step_name(const struct handshake *h)
{
    static const char *const names[] = { "method selection", "authentication", "request", "done", "failed" };
    return names[h->step == STEP_FAILED ? h->failed_step : h->step];
}
