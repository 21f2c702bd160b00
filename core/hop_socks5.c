/* A SOCKS5 hop (RFC 1928, RFC 1929): method selection, optional username/password, request. */
#include <errno.h>

#include "hop.h"
#include "hop_gssapi.h"

static int request(uint8_t *buf, size_t size, const struct proxy *p, const struct socks_target *t, enum socks5_command cmd)
{
    (void)p;
    return socks5_request_encode(buf, size, cmd, t);
}

static enum socks5_command command_of(const struct handshake *h)
{
    return h->hop + 1 == h->hop_count ? h->command : SOCKS5_CMD_CONNECT;
}

/* Greeting (one method: the one we will use), credentials and request in one write: a round
 * trip or two fewer, for proxies that read ahead (most do; RFC 1928 does not promise it). */
static int pipelined_messages(struct handshake *h)
{
    const struct proxy *p = h->hops[h->hop];
    uint8_t *out = h->out;
    size_t size = sizeof(h->out);
    out[0] = SOCKS5_VERSION;
    out[1] = 1;
    out[2] = p->has_auth ? SOCKS5_METHOD_USERPASS : SOCKS5_METHOD_NONE;
    size_t used = 3;
    if (p->has_auth) {
        int n = socks5_userpass_encode(out + used, size - used, p->user, p->pass);
        if (n < 0)
            return n;
        used += (size_t)n;
    }
    int n = socks5_request_encode(out + used, size - used, command_of(h), &h->hop_target);
    return n < 0 ? n : (int)(used + (size_t)n);
}

/* The method byte of a PROXY_AUTH_* bit. */
static uint8_t method_byte(unsigned auth)
{
    return auth == PROXY_AUTH_GSSAPI ? SOCKS5_METHOD_GSSAPI
         : auth == PROXY_AUTH_USERPASS ? SOCKS5_METHOD_USERPASS : SOCKS5_METHOD_NONE;
}

/* The greeting: the default offer, or exactly the methods of the URL's auth= in their order. */
static int methods_encode(uint8_t *buf, size_t size, const struct proxy *p)
{
    if (!p->auth)
        return socks5_methods_encode(buf, size, p->has_auth);
    unsigned methods[3];
    size_t n = proxy_auth_methods(p, methods);
    if (size < 2 + n)
        return -ENOSPC;
    buf[0] = SOCKS5_VERSION;
    buf[1] = (uint8_t)n;
    for (size_t i = 0; i < n; i++)
        buf[2 + i] = method_byte(methods[i]);
    return (int)(2 + n);
}

/* Whether we offered method: a proxy choosing another is broken or hostile. */
static bool offered(const struct proxy *p, uint8_t method)
{
    unsigned methods[3];
    size_t n = proxy_auth_methods(p, methods);
    for (size_t i = 0; i < n; i++)
        if (method_byte(methods[i]) == method)
            return true;
    return false;
}

static enum handshake_status start(struct handshake *h)
{
    const struct proxy *p = h->hops[h->hop];
    h->step = STEP_METHODS;
    /* An explicit auth= may offer several methods, or GSSAPI's rounds: nothing to send ahead. */
    h->pipelined = p->pipeline && !p->auth;
    if (h->pipelined)
        return hs_send_then_read(h, pipelined_messages(h), 2);
    return hs_send_then_read(h, methods_encode(h->out, sizeof(h->out), p), 2);
}

/* Pipelined: the next reply is already on its way; nothing to send. */
static enum handshake_status read_next(struct handshake *h, enum handshake_step step, size_t need)
{
    h->step = step;
    h->in_len = 0;
    h->in_need = need;
    return HANDSHAKE_READ;
}

static size_t reply_first_need(void)
{
    size_t need;
    struct socks5_reply scratch;
    socks5_reply_decode(NULL, 0, &scratch, &need);
    return need;
}

enum handshake_status hs_socks5_read_reply(struct handshake *h)
{
    return read_next(h, STEP_REQUEST, reply_first_need());
}

static enum handshake_status start_request(struct handshake *h)
{
    h->step = STEP_REQUEST;
    return hs_send_then_read(h, socks5_request_encode(h->out, sizeof(h->out), command_of(h), &h->hop_target),
                             reply_first_need());
}

static enum handshake_status on_method(struct handshake *h)
{
    const struct proxy *p = h->hops[h->hop];
    uint8_t method;
    int r = socks5_method_decode(h->in, h->in_len, &method);
    if (r < 0)
        return hs_fail(h, -r);
    if (h->pipelined) {
        if (method != (p->has_auth ? SOCKS5_METHOD_USERPASS : SOCKS5_METHOD_NONE))
            return hs_fail(h, method == SOCKS5_METHOD_UNACCEPTABLE ? EACCES : EPROTO);
        return p->has_auth ? read_next(h, STEP_AUTH, 2) : read_next(h, STEP_REQUEST, reply_first_need());
    }
    if (method == SOCKS5_METHOD_NONE && offered(p, method))
        return start_request(h);
    if (method == SOCKS5_METHOD_USERPASS && offered(p, method)) {
        h->step = STEP_AUTH;
        return hs_send_then_read(h, socks5_userpass_encode(h->out, sizeof(h->out), p->user, p->pass), 2);
    }
    if (method == SOCKS5_METHOD_GSSAPI && offered(p, method)) {
        h->step = STEP_AUTH;
        return hs_gssapi_start(h, p);
    }
    /* 0xFF (no acceptable method), or a method we never offered. */
    return hs_fail(h, method == SOCKS5_METHOD_UNACCEPTABLE ? EACCES : EPROTO);
}

static enum handshake_status on_auth(struct handshake *h)
{
    int r = socks5_userpass_decode(h->in, h->in_len);
    if (r < 0)
        return hs_fail(h, -r);
    return h->pipelined ? read_next(h, STEP_REQUEST, reply_first_need()) : start_request(h);
}

/* A GSSAPI message; once authenticated, the request follows. */
static enum handshake_status on_gssapi(struct handshake *h)
{
    enum handshake_status s = hs_gssapi_feed(h);
    return s == HANDSHAKE_DONE ? start_request(h) : s;
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
    case STEP_AUTH: return h->gss ? on_gssapi(h) : on_auth(h);
    default: return on_reply(h);
    }
}

const struct hop_ops hop_socks5 = { request, start, hs_buffer_wants, feed };
