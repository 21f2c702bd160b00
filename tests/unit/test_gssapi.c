/* Unit tests for the GSSAPI method (RFC 1961): the message framing (core/gssapi_msg.c), the proxy
 * URL options that ask for it (core/proxy.c), and the method inside the SOCKS5 handshake
 * (core/hop_gssapi.c) against a fake GSS-API provider, so no Kerberos is needed. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "gss.h"
#include "gssapi_msg.h"
#include "handshake_driver.h"

/* ---- framing ---- */

Test(gssapi_msg, encodes_context_and_protection_messages)
{
    uint8_t buf[16];
    cr_assert_eq(gssapi_msg_encode(buf, sizeof(buf), GSSAPI_MTYP_CONTEXT, BYTES('a', 'b', 'c'), 3), 7);
    test_assert_bytes(buf, 7, BYTES(0x01, 0x01, 0x00, 0x03, 'a', 'b', 'c'), 7);
    cr_assert_eq(gssapi_msg_encode(buf, sizeof(buf), GSSAPI_MTYP_PROTECTION, BYTES(0x00), 1), 5);
    test_assert_bytes(buf, 5, BYTES(0x01, 0x02, 0x00, 0x01, 0x00), 5);
    cr_assert_eq(gssapi_abort_encode(buf, sizeof(buf)), 2);
    test_assert_bytes(buf, 2, BYTES(0x01, 0xff), 2);
}

Test(gssapi_msg, encode_refuses_what_the_format_cannot_carry)
{
    static uint8_t big[GSSAPI_HEADER_LEN + GSSAPI_TOKEN_MAX + 1];
    cr_assert_eq(gssapi_header_encode(big, sizeof(big), GSSAPI_MTYP_CONTEXT, GSSAPI_TOKEN_MAX), 4);
    test_assert_bytes(big, 4, BYTES(0x01, 0x01, 0xff, 0xff), 4);
    cr_assert_eq(gssapi_header_encode(big, sizeof(big), GSSAPI_MTYP_CONTEXT, GSSAPI_TOKEN_MAX + 1), -EINVAL);
    cr_assert_eq(gssapi_header_encode(big, sizeof(big), GSSAPI_MTYP_ABORT, 0), -EINVAL);
    cr_assert_eq(gssapi_header_encode(big, sizeof(big), 0x03, 0), -EINVAL);
    cr_assert_eq(gssapi_header_encode(big, 3, GSSAPI_MTYP_CONTEXT, 0), -ENOSPC);
    cr_assert_eq(gssapi_msg_encode(big, 6, GSSAPI_MTYP_CONTEXT, BYTES('a', 'b', 'c'), 3), -ENOSPC);
    cr_assert_eq(gssapi_abort_encode(big, 1), -ENOSPC);
}

/* Decodes msg at every prefix: each shorter one asks for more, never past the message's end. */
static int decode_every_prefix(const uint8_t *msg, size_t len, struct gssapi_msg *out)
{
    for (size_t i = 0; i < len; i++) {
        size_t need = 0;
        int r = gssapi_msg_decode(msg, i, out, &need);
        cr_assert_eq(r, 0, "prefix %zu of %zu: got %d", i, len, r);
        cr_assert(need > i && need <= len, "prefix %zu of %zu: need %zu", i, len, need);
    }
    size_t need = 0;
    return gssapi_msg_decode(msg, len, out, &need);
}

Test(gssapi_msg, decodes_a_context_token)
{
    const uint8_t msg[] = { 0x01, 0x01, 0x00, 0x02, 'o', 'k', 'X' };
    struct gssapi_msg m;
    cr_assert_eq(decode_every_prefix(msg, 6, &m), 6);
    cr_assert_eq(m.mtyp, GSSAPI_MTYP_CONTEXT);
    cr_assert_eq(m.token, msg + 4);
    cr_assert_eq(m.token_len, 2);
    size_t need;
    cr_assert_eq(gssapi_msg_decode(msg, sizeof(msg), &m, &need), 6, "a byte past the message is not taken");
}

Test(gssapi_msg, decodes_an_empty_token_and_an_abort)
{
    struct gssapi_msg m;
    cr_assert_eq(decode_every_prefix(BYTES(0x01, 0x02, 0x00, 0x00), 4, &m), 4);
    cr_assert_eq(m.mtyp, GSSAPI_MTYP_PROTECTION);
    cr_assert_eq(m.token_len, 0);
    cr_assert_eq(decode_every_prefix(BYTES(0x01, 0xff), 2, &m), 2);
    cr_assert_eq(m.mtyp, GSSAPI_MTYP_ABORT);
    cr_assert_null(m.token);
}

Test(gssapi_msg, refuses_a_bad_version_or_type)
{
    struct gssapi_msg m;
    size_t need;
    cr_assert_eq(gssapi_msg_decode(BYTES(0x05), 1, &m, &need), -EPROTO, "a SOCKS5 reply is not a GSSAPI message");
    cr_assert_eq(gssapi_msg_decode(BYTES(0x00, 0x01, 0, 0), 4, &m, &need), -EPROTO);
    cr_assert_eq(gssapi_msg_decode(BYTES(0x01, 0x00, 0, 0), 4, &m, &need), -EPROTO);
    cr_assert_eq(gssapi_msg_decode(BYTES(0x01, 0x03), 2, &m, &need), -EPROTO);
}

Test(gssapi_msg, level_text)
{
    cr_assert_not_null(strstr(gssapi_level_text(0), "clear"));
    cr_assert_str_eq(gssapi_level_text(1), "integrity");
    cr_assert_str_eq(gssapi_level_text(2), "confidentiality");
    cr_assert_str_eq(gssapi_level_text(9), "unknown");
}

/* ---- proxy URL options ---- */

static void parse_bad(const char *url, const char *mention)
{
    struct proxy p;
    char err[256] = "";
    cr_assert_eq(proxy_url_parse(url, &p, err, sizeof(err)), -EINVAL, "%s was accepted", url);
    cr_assert_not_null(strcasestr(err, mention), "%s: \"%s\" does not mention \"%s\"", url, err, mention);
}

Test(gssapi_url, auth_and_principal)
{
    struct proxy p = test_proxy("socks5h://proxy.corp.example:1080?auth=gssapi");
    cr_assert_eq(p.auth, PROXY_AUTH_GSSAPI);
    cr_assert_str_eq(p.host, "proxy.corp.example");
    cr_assert_eq(p.port, 1080);
    char principal[PROXY_PRINCIPAL_MAX + 1];
    cr_assert_str_eq(proxy_gssapi_principal(&p, principal, sizeof(principal)), "rcmd/proxy.corp.example");

    p = test_proxy("socks5://10.0.0.1/?auth=gssapi,none&principal=rcmd/gw.corp.example%40CORP.EXAMPLE");
    cr_assert_eq(p.auth, PROXY_AUTH_GSSAPI | PROXY_AUTH_NONE);
    cr_assert_str_eq(proxy_gssapi_principal(&p, principal, sizeof(principal)), "rcmd/gw.corp.example@CORP.EXAMPLE");
    p = test_proxy("socks5://u:pw@h?principal=rcmd/x@R&auth=userpass,gssapi");
    cr_assert_eq(p.auth, PROXY_AUTH_GSSAPI | PROXY_AUTH_USERPASS);
    cr_assert_str_eq(p.principal, "rcmd/x@R");
    cr_assert_str_eq(p.user, "u");
}

Test(gssapi_url, refuses_what_would_not_work)
{
    parse_bad("socks4://h?auth=gssapi", "socks5");
    parse_bad("http://h?auth=gssapi", "socks5");
    parse_bad("socks5://h?auth=kerberos", "auth method");
    parse_bad("socks5://h?auth=", "auth");
    parse_bad("socks5://h?auth=gssapi&x=1", "option");
    parse_bad("socks5://h?principal=rcmd/h", "needs auth=gssapi");
    parse_bad("socks5://h?auth=userpass", "user:password");
    parse_bad("socks5://u:pw@h?auth=gssapi", "credentials");
    parse_bad("socks5://h?auth=gssapi&principal=", "principal");
}

Test(gssapi_url, a_question_mark_in_a_password_is_never_shown)
{
    struct proxy p;
    char err[256] = "";
    cr_assert_eq(proxy_url_parse("socks5://u:se?cret@h", &p, err, sizeof(err)), -EINVAL);
    cr_assert_null(strstr(err, "cret"), "%s", err);
    cr_assert_eq(proxy_url_parse("socks5://h?auth=se,cret", &p, err, sizeof(err)), -EINVAL);
    cr_assert_null(strstr(err, "cret"), "%s", err);
}

Test(gssapi_url, format_and_describe)
{
    struct proxy p = test_proxy("socks5h://gw:1081?auth=gssapi,none&principal=rcmd/gw@R");
    char buf[PROXY_HOST_MAX + PROXY_CRED_MAX + 32], auth[PROXY_PRINCIPAL_MAX + 160];
    cr_assert_str_eq(proxy_format(&p, buf, sizeof(buf)), "socks5h://gw:1081?auth=gssapi,none");
    cr_assert_str_eq(proxy_auth_describe(&p, auth, sizeof(auth)),
                     "GSSAPI (Kerberos principal rcmd/gw@R, no per-message protection) or no authentication");
    p = test_proxy("socks5://gw");
    cr_assert_str_eq(proxy_format(&p, buf, sizeof(buf)), "socks5://gw:1080");
    cr_assert_str_eq(proxy_auth_describe(&p, auth, sizeof(auth)), "no authentication");
}

/* ---- the method in the handshake, with a fake GSS-API ---- */

/* The fake: a context is established after `rounds` tokens from the proxy; wrap prepends 'W',
 * unwrap strips it. Failures on demand; every open and close counted. */
static struct {
    int opens, closes, steps; /* steps: of the current context */
    int rounds;              /* proxy tokens needed before established */
    int open_error, step_error;
    char last_principal[128];
    uint8_t out[8];
} fake;

static int fake_open(void **ctx, const char *principal, char *err, size_t errsize)
{
    snprintf(fake.last_principal, sizeof(fake.last_principal), "%s", principal);
    if (fake.open_error) {
        snprintf(err, errsize, "cannot load the fake library");
        return -fake.open_error;
    }
    fake.opens++;
    fake.steps = 0;
    *ctx = &fake;
    return 0;
}

static int fake_step(void *ctx, const uint8_t *in, size_t in_len, const uint8_t **out, size_t *out_len,
                     char *err, size_t errsize)
{
    (void)ctx;
    if (fake.step_error) {
        snprintf(err, errsize, "no valid Kerberos ticket (run kinit)");
        return -fake.step_error;
    }
    /* Round n sends "Cn"; the proxy's tokens must be "Sn". */
    if (fake.steps > 0 && (in_len != 2 || in[0] != 'S' || in[1] != '0' + fake.steps)) {
        snprintf(err, errsize, "bad proxy token");
        return -EACCES;
    }
    bool done = fake.steps == fake.rounds;
    fake.steps++;
    fake.out[0] = 'C';
    fake.out[1] = (uint8_t)('0' + fake.steps);
    *out = fake.out;
    *out_len = done ? 0 : 2;
    return done ? 1 : 0;
}

static int fake_wrap(void *ctx, const uint8_t *in, size_t in_len, const uint8_t **out, size_t *out_len,
                     char *err, size_t errsize)
{
    (void)ctx, (void)err, (void)errsize;
    cr_assert_eq(in_len, 1);
    fake.out[0] = 'W';
    fake.out[1] = in[0];
    *out = fake.out;
    *out_len = 2;
    return 0;
}

static int fake_unwrap(void *ctx, const uint8_t *in, size_t in_len, const uint8_t **out, size_t *out_len,
                       char *err, size_t errsize)
{
    (void)ctx;
    if (in_len < 1 || in[0] != 'W') {
        snprintf(err, errsize, "bad wrap");
        return -EACCES;
    }
    *out = in + 1;
    *out_len = in_len - 1;
    return 0;
}

static void fake_close(void *ctx)
{
    cr_assert_eq(ctx, &fake);
    fake.closes++;
}

static const struct gss_provider fake_provider = { fake_open, fake_step, fake_wrap, fake_unwrap, fake_close };

static void setup(void)
{
    memset(&fake, 0, sizeof(fake));
    fake.rounds = 1;
    gss_provider_set(&fake_provider);
}

static void teardown(void)
{
    gss_provider_set(NULL);
}

static const uint8_t REQUEST[] = { 0x05, 0x01, 0x00, 0x01, 10, 1, 2, 3, 0x00, 0x50 };
static const uint8_t REPLY[] = { 0x05, 0x00, 0x00, 0x01, 10, 0, 0, 1, 0x04, 0x38 };

/* Starts a CONNECT to 10.1.2.3:80 through url; asserts the greeting offers exactly `methods`. */
static void start(struct handshake *h, struct proxy *p, const char *url, const uint8_t *greeting, size_t n)
{
    *p = test_proxy(url);
    struct socks_target t = test_target("10.1.2.3", 80);
    cr_assert_eq(handshake_start(h, p, &t), 0);
    drive_expect_send(h, 0, greeting, n);
}

/* Goes from the greeting to the proxy choosing GSSAPI and our first context token. */
static void to_first_token(struct handshake *h, struct proxy *p, const char *url)
{
    start(h, p, url, BYTES(0x05, 0x01, 0x01), 3);
    cr_assert_eq(drive_feed_reply(h, BYTES(0x05, 0x01), 2, 1), HANDSHAKE_WRITE);
    EXPECT_SEND(h, 0, 0x01, 0x01, 0x00, 0x02, 'C', '1');
    cr_assert_str_eq(handshake_step_name(h), "authentication");
}

/* Feeds the proxy's bytes until the machine fails; asserts it failed with err during the method,
 * said `says` in its detail and released the context. */
static void expect_failure(struct handshake *h, const uint8_t *bytes, size_t n, int err, const char *says)
{
    drive_feed_until_failed(h, bytes, n, n);
    drive_assert_failed(h, err, "authentication", 0);
    cr_assert_not_null(strstr(h->detail, says), "%s", h->detail);
    cr_assert_eq(fake.closes, fake.opens, "a context was not released");
}

TestSuite(gssapi_handshake, .init = setup, .fini = teardown);

Test(gssapi_handshake, one_round_then_clear_then_the_request)
{
    struct handshake h;
    struct proxy p;
    to_first_token(&h, &p, "socks5://gw.example:1080?auth=gssapi");
    cr_assert_str_eq(fake.last_principal, "rcmd/gw.example");
    /* The proxy's mutual-authentication token ends the context; our protection level follows. */
    cr_assert_eq(drive_feed_reply(&h, BYTES(0x01, 0x01, 0x00, 0x02, 'S', '1'), 6, 1), HANDSHAKE_WRITE);
    EXPECT_SEND(&h, 0, 0x01, 0x02, 0x00, 0x02, 'W', 0x00);
    cr_assert_eq(drive_feed_reply(&h, BYTES(0x01, 0x02, 0x00, 0x02, 'W', 0x00), 6, 2), HANDSHAKE_WRITE);
    cr_assert_eq(fake.closes, 1, "the context is released once the method is done");
    drive_expect_send(&h, 0, REQUEST, sizeof(REQUEST));
    cr_assert_eq(drive_feed_reply(&h, REPLY, sizeof(REPLY), 3), HANDSHAKE_DONE);
    drive_assert_done(&h);
    cr_assert_eq(fake.opens, 1);
    cr_assert_null(h.gss);
}

Test(gssapi_handshake, several_rounds_and_a_last_token_with_the_protection_request)
{
    /* A mechanism whose last round still has a token for the proxy: that token and the
     * protection message go out in one write. */
    fake.rounds = 2;
    struct handshake h;
    struct proxy p;
    to_first_token(&h, &p, "socks5://gw?auth=gssapi&principal=host/gw@R");
    cr_assert_str_eq(fake.last_principal, "host/gw@R");
    cr_assert_eq(drive_feed_reply(&h, BYTES(0x01, 0x01, 0x00, 0x02, 'S', '1'), 6, 4), HANDSHAKE_WRITE);
    EXPECT_SEND(&h, 0, 0x01, 0x01, 0x00, 0x02, 'C', '2');
    cr_assert_eq(drive_feed_reply(&h, BYTES(0x01, 0x01, 0x00, 0x02, 'S', '2'), 6, 6), HANDSHAKE_WRITE);
    EXPECT_SEND(&h, 0, 0x01, 0x02, 0x00, 0x02, 'W', 0x00);
    cr_assert_eq(drive_feed_reply(&h, BYTES(0x01, 0x02, 0x00, 0x02, 'W', 0x00), 6, 6), HANDSHAKE_WRITE);
    drive_expect_send(&h, 0, REQUEST, sizeof(REQUEST));
    cr_assert_eq(drive_feed_reply(&h, REPLY, sizeof(REPLY), 64), HANDSHAKE_DONE);
    cr_assert_eq(fake.closes, 1);
}

Test(gssapi_handshake, a_long_proxy_token_is_read_whole)
{
    /* Kerberos tokens with a PAC run to kilobytes: the reply is read in pieces, never past it. */
    fake.rounds = 1;
    struct handshake h;
    struct proxy p;
    to_first_token(&h, &p, "socks5://gw?auth=gssapi");
    static uint8_t msg[4 + 3000];
    gssapi_header_encode(msg, sizeof(msg), GSSAPI_MTYP_CONTEXT, 3000);
    memset(msg + 4, 'x', 3000);
    /* The fake wants "S1": a long token is refused by it, after the machine took it all. */
    expect_failure(&h, msg, sizeof(msg), EACCES, "GSSAPI: bad proxy token");
}

Test(gssapi_handshake, gssapi_or_none_offers_both_and_takes_none)
{
    struct handshake h;
    struct proxy p;
    start(&h, &p, "socks5://gw?auth=gssapi,none", BYTES(0x05, 0x02, 0x01, 0x00), 4);
    cr_assert_eq(drive_feed_reply(&h, BYTES(0x05, 0x00), 2, 2), HANDSHAKE_WRITE);
    drive_expect_send(&h, 0, REQUEST, sizeof(REQUEST));
    cr_assert_eq(fake.opens, 0, "no GSS-API context when the proxy picks no authentication");
}

Test(gssapi_handshake, never_falls_back_to_no_authentication)
{
    struct handshake h;
    struct proxy p;
    start(&h, &p, "socks5://gw?auth=gssapi", BYTES(0x05, 0x01, 0x01), 3);
    drive_feed_until_failed(&h, BYTES(0x05, 0x00), 2, 2);
    drive_assert_failed(&h, EPROTO, "method selection", 0);
    start(&h, &p, "socks5://gw?auth=gssapi", BYTES(0x05, 0x01, 0x01), 3);
    drive_feed_until_failed(&h, BYTES(0x05, 0xff), 2, 2);
    drive_assert_failed(&h, EACCES, "method selection", 0);
}

Test(gssapi_handshake, a_default_proxy_never_accepts_gssapi)
{
    struct handshake h;
    struct proxy p;
    start(&h, &p, "socks5://gw", BYTES(0x05, 0x01, 0x00), 3);
    drive_feed_until_failed(&h, BYTES(0x05, 0x01), 2, 2);
    drive_assert_failed(&h, EPROTO, "method selection", 0);
    cr_assert_eq(fake.opens, 0);
}

Test(gssapi_handshake, no_library_is_eacces_with_the_reason)
{
    fake.open_error = EACCES;
    struct handshake h;
    struct proxy p;
    start(&h, &p, "socks5://gw?auth=gssapi", BYTES(0x05, 0x01, 0x01), 3);
    drive_feed_until_failed(&h, BYTES(0x05, 0x01), 2, 2);
    drive_assert_failed(&h, EACCES, "authentication", 0);
    cr_assert_str_eq(h.detail, "GSSAPI: cannot load the fake library");
    cr_assert_eq(fake.closes, 0);
    cr_assert_eq(handshake_blame(&h), 0, "the proxy (our way to it) is to blame, not the target");
}

Test(gssapi_handshake, no_ticket_is_eacces_with_the_reason)
{
    fake.step_error = EACCES;
    struct handshake h;
    struct proxy p;
    start(&h, &p, "socks5://gw?auth=gssapi", BYTES(0x05, 0x01, 0x01), 3);
    expect_failure(&h, BYTES(0x05, 0x01), 2, EACCES, "kinit");
    cr_assert_eq(fake.opens, 1);
}

Test(gssapi_handshake, the_proxy_aborts)
{
    struct handshake h;
    struct proxy p;
    to_first_token(&h, &p, "socks5://gw?auth=gssapi");
    expect_failure(&h, BYTES(0x01, 0xff), 2, EACCES, "abort");
}

Test(gssapi_handshake, the_proxy_insists_on_integrity)
{
    struct handshake h;
    struct proxy p;
    to_first_token(&h, &p, "socks5://gw?auth=gssapi");
    cr_assert_eq(drive_feed_reply(&h, BYTES(0x01, 0x01, 0x00, 0x02, 'S', '1'), 6, 6), HANDSHAKE_WRITE);
    EXPECT_SEND(&h, 0, 0x01, 0x02, 0x00, 0x02, 'W', 0x00);
    expect_failure(&h, BYTES(0x01, 0x02, 0x00, 0x02, 'W', 0x01), 6, EACCES, "requires per-message protection (integrity)");
    cr_assert_not_null(strstr(h.detail, "clear"), "%s", h.detail);
}

Test(gssapi_handshake, malformed_and_out_of_order_messages)
{
    struct handshake h;
    struct proxy p;
    to_first_token(&h, &p, "socks5://gw?auth=gssapi");
    expect_failure(&h, BYTES(0x05, 0x00), 2, EPROTO, "malformed");
    /* A protection level before the context is established. */
    to_first_token(&h, &p, "socks5://gw?auth=gssapi");
    expect_failure(&h, BYTES(0x01, 0x02, 0x00, 0x02, 'W', 0x00), 6, EPROTO, "unexpected message type 2");
    /* A level that is not one byte. */
    to_first_token(&h, &p, "socks5://gw?auth=gssapi");
    cr_assert_eq(drive_feed_reply(&h, BYTES(0x01, 0x01, 0x00, 0x02, 'S', '1'), 6, 6), HANDSHAKE_WRITE);
    EXPECT_SEND(&h, 0, 0x01, 0x02, 0x00, 0x02, 'W', 0x00);
    expect_failure(&h, BYTES(0x01, 0x02, 0x00, 0x03, 'W', 0x00, 0x00), 7, EPROTO, "2 bytes, not 1");
    cr_assert_eq(fake.opens, 3);
    cr_assert_eq(fake.closes, 3, "every context released");
}

Test(gssapi_handshake, eof_and_abort_release_the_context)
{
    struct handshake h;
    struct proxy p;
    to_first_token(&h, &p, "socks5://gw?auth=gssapi");
    drive_feed_some(&h, BYTES(0x01, 0x01, 0x00), 3);
    handshake_eof(&h);
    drive_assert_failed(&h, EACCES, "authentication", 0);
    cr_assert_not_null(strstr(h.detail, "closed the connection during context establishment"), "%s", h.detail);
    to_first_token(&h, &p, "socks5://gw?auth=gssapi");
    handshake_abort(&h, ETIMEDOUT);
    cr_assert_eq(handshake_error(&h), ETIMEDOUT);
    /* A reset during the method is the proxy refusing us, as its close is. */
    to_first_token(&h, &p, "socks5://gw?auth=gssapi");
    handshake_abort(&h, ECONNRESET);
    drive_assert_failed(&h, EACCES, "authentication", 0);
    cr_assert_not_null(strstr(h.detail, "the proxy closed the connection"), "%s", h.detail);
    cr_assert_eq(fake.closes, 3);
    cr_assert_null(h.gss);
}

Test(gssapi_handshake, a_reset_elsewhere_stays_a_reset)
{
    struct handshake h;
    struct proxy p;
    start(&h, &p, "socks5://gw?auth=gssapi", BYTES(0x05, 0x01, 0x01), 3);
    handshake_abort(&h, ECONNRESET);
    drive_assert_failed(&h, ECONNRESET, "method selection", 0);
}

Test(gssapi_handshake, through_a_chain)
{
    /* GSSAPI at the second hop: the first is asked to connect to it, then the method runs on. */
    struct proxy p1 = test_proxy("socks5://10.0.0.1:1080");
    struct proxy p2 = test_proxy("socks5://10.0.0.2:1080?auth=gssapi&principal=rcmd/two");
    const struct proxy *hops[] = { &p1, &p2 };
    struct socks_target t = test_target("10.1.2.3", 80);
    struct handshake h;
    cr_assert_eq(handshake_start_chain(&h, hops, 2, &t), 0);
    EXPECT_SEND(&h, 0, 0x05, 0x01, 0x00);
    cr_assert_eq(drive_feed_reply(&h, BYTES(0x05, 0x00), 2, 2), HANDSHAKE_WRITE);
    EXPECT_SEND(&h, 0, 0x05, 0x01, 0x00, 0x01, 10, 0, 0, 2, 0x04, 0x38);
    cr_assert_eq(drive_feed_reply(&h, REPLY, sizeof(REPLY), 10), HANDSHAKE_WRITE);
    EXPECT_SEND(&h, 1, 0x05, 0x01, 0x01);
    cr_assert_eq(drive_feed_reply(&h, BYTES(0x05, 0x01), 2, 2), HANDSHAKE_WRITE);
    EXPECT_SEND(&h, 1, 0x01, 0x01, 0x00, 0x02, 'C', '1');
    cr_assert_str_eq(fake.last_principal, "rcmd/two");
    cr_assert_eq(drive_feed_reply(&h, BYTES(0x01, 0x01, 0x00, 0x02, 'S', '1'), 6, 6), HANDSHAKE_WRITE);
    EXPECT_SEND(&h, 1, 0x01, 0x02, 0x00, 0x02, 'W', 0x00);
    cr_assert_eq(drive_feed_reply(&h, BYTES(0x01, 0x02, 0x00, 0x02, 'W', 0x00), 6, 6), HANDSHAKE_WRITE);
    drive_expect_send(&h, 1, REQUEST, sizeof(REQUEST));
    cr_assert_eq(drive_feed_reply(&h, REPLY, sizeof(REPLY), 10), HANDSHAKE_DONE);
}
