/* A SOCKS5 hop (RFC 1928, RFC 1929): method selection, optional username/password, request. */
#include <errno.h>

#include "hop.h"

static int request(uint8_t *buf, size_t size, const struct proxy *p, const struct socks_target *t, enum socks5_command cmd)
{
    (void)p;
    return socks5_request_encode(buf, size, cmd, t);
}

static enum socks5_command command_of(const struct handshake *h)
{
    return h->hop + 1 == h->hop_count ? h->command : SOCKS5_CMD_CONNECT;
}

static enum handshake_status start(struct handshake *h)
{
    h->step = STEP_METHODS;
    return hs_send_then_read(h, socks5_methods_encode(h->out, sizeof(h->out), h->hops[h->hop]->has_auth), 2);
}

static enum handshake_status start_request(struct handshake *h)
{
    h->step = STEP_REQUEST;
    size_t need;
    struct socks5_reply scratch;
    socks5_reply_decode(h->in, 0, &scratch, &need);
    return hs_send_then_read(h, socks5_request_encode(h->out, sizeof(h->out), command_of(h), &h->hop_target), need);
}

static enum handshake_status on_method(struct handshake *h)
{
    const struct proxy *p = h->hops[h->hop];
    uint8_t method;
    int r = socks5_method_decode(h->in, h->in_len, &method);
    if (r < 0)
        return hs_fail(h, -r);
    if (method == SOCKS5_METHOD_NONE)
        return start_request(h);
    if (method == SOCKS5_METHOD_USERPASS && p->has_auth) {
        h->step = STEP_AUTH;
        return hs_send_then_read(h, socks5_userpass_encode(h->out, sizeof(h->out), p->user, p->pass), 2);
    }
    /* 0xFF (no acceptable method), or a method we never offered. */
    return hs_fail(h, method == SOCKS5_METHOD_UNACCEPTABLE ? EACCES : EPROTO);
}

static enum handshake_status on_auth(struct handshake *h)
{
    int r = socks5_userpass_decode(h->in, h->in_len);
    if (r < 0)
        return hs_fail(h, -r);
    return start_request(h);
}

static enum handshake_status on_reply(struct handshake *h)
{
    size_t need;
    int r = socks5_reply_decode(h->in, h->in_len, &h->reply, &need);
    if (r < 0)
        return hs_fail(h, -r);
    if (r == 0) {
        h->in_need = need;
        return HANDSHAKE_READ;
    }
    if (h->reply.code != SOCKS5_REP_SUCCEEDED)
        return hs_refused(h, socks5_reply_errno(h->reply.code), socks5_reply_text(h->reply.code));
    return hs_hop_done(h);
}

static enum handshake_status feed(struct handshake *h, const uint8_t *data, size_t len)
{
    if (!hs_buffer(h, data, len))
        return HANDSHAKE_READ;
    switch (h->step) {
    case STEP_METHODS: return on_method(h);
    case STEP_AUTH: return on_auth(h);
    default: return on_reply(h);
    }
}

const struct hop_ops hop_socks5 = { request, start, hs_buffer_wants, feed };
