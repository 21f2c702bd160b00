/* A SOCKS4 hop, or SOCKS4a when the proxy is asked for a name: one request, one 8-byte reply. */
#include <errno.h>
#include <stdio.h>

#include "hop.h"
#include "socks4.h"

static int request(uint8_t *buf, size_t size, const struct proxy *p, const struct socks_target *t, enum socks5_command cmd)
{
    /* SOCKS4 has CONNECT and BIND, and UDP not at all. */
    if (cmd != SOCKS5_CMD_CONNECT)
        return -EOPNOTSUPP;
    return socks4_request_encode(buf, size, t, p->has_auth ? p->user : NULL);
}

static enum handshake_status start(struct handshake *h)
{
    const struct proxy *p = h->hops[h->hop];
    return hs_send_then_read(h, request(h->out, sizeof(h->out), p, &h->hop_target, SOCKS5_CMD_CONNECT), SOCKS4_REPLY_LEN);
}

static enum handshake_status feed(struct handshake *h, const uint8_t *data, size_t len)
{
    uint8_t code = 0;
    if (!hs_buffer(h, data, len)) {
        /* A wrong version byte is known at once; no need to wait for the rest. */
        int r = socks4_reply_decode(h->in, h->in_len, &code);
        return r < 0 ? hs_fail(h, -r) : HANDSHAKE_READ;
    }
    int r = socks4_reply_decode(h->in, h->in_len, &code);
    if (r < 0)
        return hs_fail(h, -r);
    if (code == SOCKS4_REP_GRANTED)
        return hs_hop_done(h);
    /* 92/93 are about identd, i.e. about us, not about where the proxy was asked to go; a code
     * the protocol does not have is the proxy's own error. Only 91 is an answer about the host. */
    if (code != SOCKS4_REP_REJECTED) {
        hs_fail(h, socks4_reply_errno(code));
        snprintf(h->detail, sizeof(h->detail), "%s", socks4_reply_text(code));
        return HANDSHAKE_FAILED;
    }
    return hs_refused(h, socks4_reply_errno(code), socks4_reply_text(code));
}

const struct hop_ops hop_socks4 = { request, start, hs_buffer_wants, feed };
