#include "handshake.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hop.h"
#include "hop_gssapi.h"

static const struct hop_ops *ops_for(const struct proxy *p)
{
    switch (p->kind) {
    case PROXY_SOCKS4: return &hop_socks4;
    case PROXY_HTTP: return &hop_http;
    default: return &hop_socks5;
    }
}

static const struct hop_ops *current(const struct handshake *h)
{
    return ops_for(h->hops[h->hop]);
}

enum handshake_status hs_fail(struct handshake *h, int err)
{
    h->error = err;
    h->failed_step = h->step;
    h->step = STEP_FAILED;
    hs_gssapi_end(h);
    memset(h->out, 0, h->out_len);
    h->out_len = h->out_sent = 0;
    return HANDSHAKE_FAILED;
}

enum handshake_status hs_refused(struct handshake *h, int err, const char *why)
{
    h->answered = true;
    snprintf(h->detail, sizeof(h->detail), "%s", why);
    return hs_fail(h, err);
}

enum handshake_status hs_send_then_read(struct handshake *h, int len, size_t first_need)
{
    if (len < 0)
        return hs_fail(h, -len);
    h->out_len = (size_t)len;
    h->out_sent = 0;
    h->in_len = 0;
    h->in_need = first_need;
    return HANDSHAKE_WRITE;
}

size_t hs_buffer_wants(const struct handshake *h)
{
    return h->in_need - h->in_len;
}

bool hs_buffer(struct handshake *h, const uint8_t *data, size_t len)
{
    memcpy((h->ext_in ? h->ext_in : h->in) + h->in_len, data, len);
    h->in_len += len;
    return h->in_len == h->in_need;
}

/* What hop i is asked for: the next proxy, or the target after the last. */
static void target_of_hop(const struct handshake *h, size_t i, struct socks_target *t)
{
    if (i + 1 == h->hop_count) {
        *t = h->target;
        return;
    }
    const struct proxy *next = h->hops[i + 1];
    memset(t, 0, sizeof(*t));
    t->port = next->port;
    t->is_name = !next->has_addr;
    if (next->has_addr)
        t->addr = next->addr;
    else
        snprintf(t->name, sizeof(t->name), "%s", next->host);
}

static enum handshake_status start_hop(struct handshake *h)
{
    target_of_hop(h, h->hop, &h->hop_target);
    h->step = STEP_REQUEST;
    return current(h)->start(h);
}

enum handshake_status hs_hop_done(struct handshake *h)
{
    if (h->hop + 1 == h->hop_count) {
        h->step = STEP_DONE;
        return HANDSHAKE_DONE;
    }
    h->hop++;
    return start_hop(h);
}

/* Whether every hop can carry what it will be asked for, before any byte goes out. */
static int check_targets(struct handshake *h)
{
    for (size_t i = 0; i < h->hop_count; i++) {
        struct socks_target t;
        target_of_hop(h, i, &t);
        const struct proxy *p = h->hops[i];
        enum socks5_command cmd = i + 1 == h->hop_count ? h->command : SOCKS5_CMD_CONNECT;
        int r = ops_for(p)->request(h->out, sizeof(h->out), p, &t, cmd);
        /* A command the hop lacks outranks the target: no target would do. */
        if (r == -EOPNOTSUPP)
            return r;
        if (t.is_name && !proxy_carries_names(p))
            return -EHOSTUNREACH;
        if (r < 0)
            return r == -EAFNOSUPPORT ? r : -EINVAL;
    }
    return 0;
}

int handshake_start_command(struct handshake *h, const struct proxy *const *hops, size_t n,
                            const struct socks_target *target, enum socks5_command cmd)
{
    memset(h, 0, sizeof(*h));
    h->target = *target;
    h->command = cmd;
    h->step = STEP_REQUEST;
    if (n == 0 || n > PROXY_CHAIN_MAX) {
        hs_fail(h, EINVAL);
        return -EINVAL;
    }
    memcpy(h->hops, hops, n * sizeof(*hops));
    h->hop_count = n;
    int r = check_targets(h);
    memset(h->out, 0, sizeof(h->out));
    if (r < 0) {
        hs_fail(h, -r);
        return r;
    }
    start_hop(h);
    return 0;
}

int handshake_bind_second(struct handshake *h)
{
    if (h->step != STEP_DONE || h->command != SOCKS5_CMD_BIND || h->bind_second)
        return -EINVAL;
    h->bind_second = true;
    h->out_len = h->out_sent = 0;
    memset(&h->reply, 0, sizeof(h->reply));
    hs_socks5_read_reply(h);
    return 0;
}

int handshake_start_chain(struct handshake *h, const struct proxy *const *hops, size_t n, const struct socks_target *target)
{
    return handshake_start_command(h, hops, n, target, SOCKS5_CMD_CONNECT);
}

int handshake_start(struct handshake *h, const struct proxy *proxy, const struct socks_target *target)
{
    return handshake_start_chain(h, &proxy, 1, target);
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
    return *len ? (h->ext_out ? h->ext_out : h->out) + h->out_sent : NULL;
}

void handshake_sent(struct handshake *h, size_t n)
{
    size_t pending = h->out_len - h->out_sent;
    h->out_sent += n < pending ? n : pending;
    /* Credentials must not linger in memory longer than needed. */
    if (h->out_sent == h->out_len && !h->ext_out)
        memset(h->out, 0, h->out_len);
}

size_t handshake_wants(const struct handshake *h)
{
    if (handshake_status(h) != HANDSHAKE_READ)
        return 0;
    return current(h)->wants(h);
}

enum handshake_status handshake_feed(struct handshake *h, const uint8_t *data, size_t len)
{
    enum handshake_status now = handshake_status(h);
    if (now == HANDSHAKE_DONE || now == HANDSHAKE_FAILED)
        return now;
    /* Bytes while we still have to write, or past the reply, mean the driver lost track. */
    if (len > handshake_wants(h))
        return hs_fail(h, EPROTO);
    if (len == 0)
        return now;
    return current(h)->feed(h, data, len);
}

void handshake_eof(struct handshake *h)
{
    if (h->gss)
        hs_gssapi_eof(h);
    else if (h->step != STEP_DONE && h->step != STEP_FAILED)
        hs_fail(h, ECONNRESET);
}

void handshake_abort(struct handshake *h, int err)
{
    if (h->gss && (err == ECONNRESET || err == EPIPE))
        hs_gssapi_eof(h);
    else if (h->step != STEP_DONE && h->step != STEP_FAILED)
        hs_fail(h, err);
}

int handshake_error(const struct handshake *h)
{
    return h->step == STEP_FAILED ? h->error : 0;
}

const char *handshake_step_name(const struct handshake *h)
{
    static const char *const names[] = { "method selection", "authentication", "request", "done", "failed" };
    enum handshake_step step = h->step == STEP_FAILED ? h->failed_step : h->step;
    if (h->bind_second && step == STEP_REQUEST)
        return "BIND second reply";
    return names[step];
}

int handshake_blame(const struct handshake *h)
{
    if (h->step != STEP_FAILED)
        return -1;
    /* A proxy that answers "cannot reach it", or that waits forever on its way there, is fine
     * itself: what it was asked to reach is not. */
    bool beyond = h->answered || (h->error == ETIMEDOUT && h->failed_step == STEP_REQUEST);
    if (!beyond)
        return (int)h->hop;
    return h->hop + 1 < h->hop_count ? (int)h->hop + 1 : -1;
}
