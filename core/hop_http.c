/* An HTTP CONNECT hop: one request, a status line and headers of any length, read exactly. */
#include <errno.h>
#include <stdio.h>

#include "hop.h"

static int request(uint8_t *buf, size_t size, const struct proxy *p, const struct socks_target *t, enum socks5_command cmd)
{
    if (cmd != SOCKS5_CMD_CONNECT)
        return -EOPNOTSUPP;
    return http_connect_encode((char *)buf, size, t, p->has_auth ? p->user : NULL, p->has_auth ? p->pass : NULL);
}

static enum handshake_status start(struct handshake *h)
{
    http_response_init(&h->http);
    return hs_send_then_read(h, request(h->out, sizeof(h->out), h->hops[h->hop], &h->hop_target, SOCKS5_CMD_CONNECT), 0);
}

static size_t wants(const struct handshake *h)
{
    return http_response_wants(&h->http);
}

static enum handshake_status feed(struct handshake *h, const uint8_t *data, size_t len)
{
    int r = http_response_feed(&h->http, data, len);
    if (r < 0)
        return hs_fail(h, r == -EMSGSIZE ? EPROTO : -r);
    if (!http_response_done(&h->http))
        return HANDSHAKE_READ;
    int err = http_status_errno(h->http.status);
    if (err == 0)
        return hs_hop_done(h);
    /* 407 and 401 are about our credentials: the proxy's own business, not the target's. */
    if (h->http.status == 407 || h->http.status == 401) {
        hs_fail(h, err);
        snprintf(h->detail, sizeof(h->detail), "%s", h->http.status_line);
        return HANDSHAKE_FAILED;
    }
    return hs_refused(h, err, h->http.status_line);
}

const struct hop_ops hop_http = { request, start, wants, feed };
