/* The GSSAPI method (RFC 1961) inside a SOCKS5 hop: the context-establishment rounds, then the
 * protection-level negotiation. socksify asks for, and accepts only, "clear" (no per-message
 * protection, Dante's gssapi.enctype clear): integrity and confidentiality would wrap every later
 * byte, and the program's socket could no longer be the tunnel itself. */
#include "hop_gssapi.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gss.h"
#include "gssapi_msg.h"

#define GSSAPI_MSG_MAX (GSSAPI_HEADER_LEN + GSSAPI_TOKEN_MAX)

struct gss_exchange {
    const struct gss_provider *provider;
    void *ctx;
    bool established;               /* our side is done; waiting for the proxy's protection level */
    uint8_t out[2 * GSSAPI_MSG_MAX]; /* a last context token and the protection message may go together */
    uint8_t in[GSSAPI_MSG_MAX];
};

/* Fails with err, the text (after "GSSAPI: ") going to the log as the handshake's detail. */
static enum handshake_status gss_fail(struct handshake *h, int err, const char *fmt, ...)
{
    int n = snprintf(h->detail, sizeof(h->detail), "GSSAPI: ");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(h->detail + n, sizeof(h->detail) - (size_t)n, fmt, ap);
    va_end(ap);
    return hs_fail(h, err);
}

void hs_gssapi_end(struct handshake *h)
{
    struct gss_exchange *g = h->gss;
    if (!g)
        return;
    if (g->ctx)
        g->provider->close(g->ctx);
    memset(g, 0, sizeof(*g));
    free(g);
    h->gss = NULL;
    h->ext_in = h->ext_out = NULL;
    h->out_len = h->out_sent = h->in_len = 0;
}

void hs_gssapi_eof(struct handshake *h)
{
    gss_fail(h, EACCES, "the proxy closed the connection %s (it refused our credentials; its log says why)",
             h->gss->established ? "after our protection level" : "during context establishment");
}

/* Waits for the proxy's next message (its 2 first bytes at first: an abort is no longer). */
static enum handshake_status read_message(struct handshake *h)
{
    h->in_len = 0;
    h->in_need = GSSAPI_ABORT_LEN;
    return h->out_sent < h->out_len ? HANDSHAKE_WRITE : HANDSHAKE_READ;
}

/* Appends the protection-level message asking for "clear" to the output. */
static int queue_protection(struct handshake *h, char *err, size_t errsize)
{
    struct gss_exchange *g = h->gss;
    static const uint8_t level = GSSAPI_LEVEL_CLEAR;
    const uint8_t *wrapped;
    size_t wrapped_len;
    int r = g->provider->wrap(g->ctx, &level, 1, &wrapped, &wrapped_len, err, errsize);
    if (r < 0)
        return r;
    r = gssapi_msg_encode(g->out + h->out_len, sizeof(g->out) - h->out_len, GSSAPI_MTYP_PROTECTION, wrapped, wrapped_len);
    if (r < 0)
        return r;
    h->out_len += (size_t)r;
    return 0;
}

/* One round of context establishment on the proxy's token (empty the first time): queues our
 * token, and the protection request once our side is established. */
static enum handshake_status context_round(struct handshake *h, const uint8_t *token, size_t len)
{
    struct gss_exchange *g = h->gss;
    char err[HANDSHAKE_DETAIL_MAX];
    const uint8_t *out;
    size_t out_len = 0;
    int r = g->provider->step(g->ctx, token, len, &out, &out_len, err, sizeof(err));
    if (r < 0)
        return gss_fail(h, -r, "%s", err);
    h->out_len = h->out_sent = 0;
    if (out_len > 0) {
        int n = gssapi_msg_encode(g->out, sizeof(g->out), GSSAPI_MTYP_CONTEXT, out, out_len);
        if (n < 0)
            return gss_fail(h, EACCES, "context token of %zu bytes is too long", out_len);
        h->out_len = (size_t)n;
    } else if (r == 0) {
        return gss_fail(h, EPROTO, "the GSS-API library wants a token but gave none to send");
    }
    if (r == 1) {
        g->established = true;
        int q = queue_protection(h, err, sizeof(err));
        if (q < 0)
            return gss_fail(h, -q, "%s", err);
    }
    return read_message(h);
}

enum handshake_status hs_gssapi_start(struct handshake *h, const struct proxy *p)
{
    const struct gss_provider *provider = gss_provider();
    struct gss_exchange *g = calloc(1, sizeof(*g));
    if (!g)
        return hs_fail(h, ENOMEM);
    g->provider = provider;
    h->gss = g;
    h->ext_out = g->out;
    h->ext_in = g->in;
    char principal[PROXY_PRINCIPAL_MAX + 1];
    proxy_gssapi_principal(p, principal, sizeof(principal));
    char err[HANDSHAKE_DETAIL_MAX];
    int r = provider->open(&g->ctx, principal, err, sizeof(err));
    if (r < 0) {
        g->ctx = NULL;
        return gss_fail(h, -r, "%s", err);
    }
    return context_round(h, NULL, 0);
}

/* The proxy's answer to our protection request: the level it chose, wrapped. */
static enum handshake_status on_protection(struct handshake *h, const uint8_t *token, size_t len)
{
    struct gss_exchange *g = h->gss;
    char err[HANDSHAKE_DETAIL_MAX];
    const uint8_t *level;
    size_t level_len;
    int r = g->provider->unwrap(g->ctx, token, len, &level, &level_len, err, sizeof(err));
    if (r < 0)
        return gss_fail(h, -r, "the proxy's protection level does not unwrap: %s", err);
    if (level_len != 1)
        return gss_fail(h, EPROTO, "the proxy's protection level is %zu bytes, not 1", level_len);
    if (level[0] != GSSAPI_LEVEL_CLEAR)
        return gss_fail(h, EACCES, "the proxy requires per-message protection (%s), which socksify does not "
                        "support: allow gssapi.enctype clear on the proxy", gssapi_level_text(level[0]));
    hs_gssapi_end(h);
    return HANDSHAKE_DONE;
}

enum handshake_status hs_gssapi_feed(struct handshake *h)
{
    struct gssapi_msg msg;
    size_t need;
    int r = gssapi_msg_decode(h->ext_in, h->in_len, &msg, &need);
    if (r < 0)
        return gss_fail(h, -r, "malformed message from the proxy");
    if (r == 0) {
        h->in_need = need;
        return HANDSHAKE_READ;
    }
    if (msg.mtyp == GSSAPI_MTYP_ABORT)
        return gss_fail(h, EACCES, "the proxy refused the authentication (it sent an abort)");
    if (msg.mtyp == GSSAPI_MTYP_CONTEXT && !h->gss->established)
        return context_round(h, msg.token, msg.token_len);
    if (msg.mtyp == GSSAPI_MTYP_PROTECTION && h->gss->established)
        return on_protection(h, msg.token, msg.token_len);
    return gss_fail(h, EPROTO, "unexpected message type %u from the proxy", msg.mtyp);
}
