/* libFuzzer target: the GSSAPI method (RFC 1961) against a hostile proxy. The input is decoded as
 * one message of the method's framing at every short prefix and whole (the decoder must never
 * read past what it was given, and what it takes must be the message the header describes); then
 * the same bytes are a proxy's replies to a SOCKS5 handshake through a proxy with auth=gssapi,
 * with a fake GSS-API (no Kerberos), fed in chunk sizes the input chooses. The machine must never
 * ask for more than one message, must end DONE or FAILED with a sane errno, and must release every
 * GSS-API context it opened, whichever way it ends.
 * The first byte chooses the setup: bits 0-1 how many proxy tokens the context needs (0-3), bit 2
 * the fake fails to open (no library), bit 3 the fake refuses the proxy's second token, bit 4
 * auth=gssapi,none instead of auth=gssapi, bit 5 a no-auth SOCKS5 hop in front of it. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "fuzz_feed.h"
#include "gss.h"
#include "gssapi_msg.h"
#include "handshake.h"

#define CHECK(cond) \
    do { \
        if (!(cond)) \
            abort(); \
    } while (0)

static struct {
    unsigned rounds, steps;
    int opens, closes;
    bool open_fails, refuse_second;
    uint8_t out[4];
} fake;

static int fake_open(void **ctx, const char *principal, char *err, size_t errsize)
{
    CHECK(strcmp(principal, "rcmd/proxy.example") == 0);
    if (fake.open_fails) {
        snprintf(err, errsize, "no library");
        return -EACCES;
    }
    fake.opens++;
    fake.steps = 0;
    *ctx = &fake;
    return 0;
}

static int fake_step(void *ctx, const uint8_t *in, size_t in_len, const uint8_t **out, size_t *out_len,
                     char *err, size_t errsize)
{
    CHECK(ctx == &fake);
    CHECK(in_len <= GSSAPI_TOKEN_MAX && (in_len == 0 || in));
    if (in_len)
        CHECK(in[0] == in[0] && in[in_len - 1] == in[in_len - 1]);   /* ASan: the token is readable */
    if (fake.refuse_second && fake.steps == 2) {
        snprintf(err, errsize, "refused");
        return -EACCES;
    }
    bool done = fake.steps++ == fake.rounds;
    memcpy(fake.out, "TOKN", 4);
    *out = fake.out;
    *out_len = done ? fake.steps % 2 * 4 : 4;   /* a last token sometimes, as some mechanisms have */
    return done;
}

static int fake_wrap(void *ctx, const uint8_t *in, size_t in_len, const uint8_t **out, size_t *out_len,
                     char *err, size_t errsize)
{
    (void)err, (void)errsize;
    CHECK(ctx == &fake && in_len == 1 && in[0] == GSSAPI_LEVEL_CLEAR);
    fake.out[0] = 'W';
    fake.out[1] = in[0];
    *out = fake.out;
    *out_len = 2;
    return 0;
}

static int fake_unwrap(void *ctx, const uint8_t *in, size_t in_len, const uint8_t **out, size_t *out_len,
                       char *err, size_t errsize)
{
    CHECK(ctx == &fake);
    if (in_len == 0) {
        snprintf(err, errsize, "empty");
        return -EACCES;
    }
    *out = in;
    *out_len = in_len;
    return 0;
}

static void fake_close(void *ctx)
{
    CHECK(ctx == &fake);
    fake.closes++;
}

static const struct gss_provider fake_provider = { fake_open, fake_step, fake_wrap, fake_unwrap, fake_close };

/* Decodes data[0..len) from a heap copy of exactly len bytes, so ASan sees any read past len. */
static void decode_prefix(const uint8_t *data, size_t len)
{
    uint8_t *copy = malloc(len ? len : 1);
    CHECK(copy);
    memcpy(copy, data, len);
    struct gssapi_msg m;
    size_t need = 0;
    int r = gssapi_msg_decode(copy, len, &m, &need);
    if (r > 0) {
        CHECK((size_t)r <= len);
        if (m.mtyp == GSSAPI_MTYP_ABORT)
            CHECK(r == GSSAPI_ABORT_LEN && !m.token && copy[1] == 0xff);
        else
            CHECK((size_t)r == GSSAPI_HEADER_LEN + m.token_len && m.token == copy + GSSAPI_HEADER_LEN &&
                  m.token_len == ((size_t)copy[2] << 8 | copy[3]));
    } else if (r == 0) {
        CHECK(need > len && need <= GSSAPI_HEADER_LEN + GSSAPI_TOKEN_MAX);
    } else {
        CHECK(r == -EPROTO && len >= 1);
    }
    free(copy);
}

static void drive(const uint8_t *data, size_t size)
{
    memset(&fake, 0, sizeof(fake));
    fake.rounds = data[0] & 3;
    fake.open_fails = (data[0] & 4) != 0;
    fake.refuse_second = (data[0] & 8) != 0;
    struct proxy proxy = { .kind = PROXY_SOCKS5, .port = 1080,
                           .auth = PROXY_AUTH_GSSAPI | ((data[0] & 16) ? PROXY_AUTH_NONE : 0) };
    strcpy(proxy.host, "proxy.example");
    struct proxy first = { .kind = PROXY_SOCKS5, .has_addr = true, .port = 1080 };
    first.addr.in4.sin_family = AF_INET;
    struct socks_target target = { .is_name = true, .port = 80 };
    strcpy(target.name, "example.com");
    const struct proxy *hops[2] = { &first, &proxy };
    struct handshake h;
    if (data[0] & 32)
        handshake_start_chain(&h, hops, 2, &target);
    else
        handshake_start_chain(&h, &hops[1], 1, &target);
    size_t off = 1;
    while (handshake_status(&h) == HANDSHAKE_WRITE || handshake_status(&h) == HANDSHAKE_READ) {
        if (handshake_status(&h) == HANDSHAKE_WRITE) {
            size_t len;
            CHECK(handshake_output(&h, &len) && len > 0);
            handshake_sent(&h, len);
            continue;
        }
        if (!fuzz_feed(&h, data, size, &off, GSSAPI_HEADER_LEN + GSSAPI_TOKEN_MAX))
            break;
    }
    int err = handshake_error(&h);
    CHECK(handshake_status(&h) == HANDSHAKE_DONE ? err == 0 : err > 0);
    CHECK(fake.opens == fake.closes);
    CHECK(h.gss == NULL && h.ext_in == NULL && h.ext_out == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    gss_provider_set(&fake_provider);
    /* Past a header the answer only waits for the token: longer prefixes are checked once, whole. */
    for (size_t len = 0; len < size - 1 && len <= 8; len++)
        decode_prefix(data + 1, len);
    decode_prefix(data + 1, size - 1);
    drive(data, size);
    return 0;
}
