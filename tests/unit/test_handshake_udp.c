/* Unit tests for core/handshake.c with the UDP ASSOCIATE command (handshake_start_command): the
 * last hop is asked for UDP ASSOCIATE (cmd 3) for the client's address, the hops before it for a
 * CONNECT to the next; the relay's address comes back in h->reply.bound. Only SOCKS5 carries UDP. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "handshake_driver.h"

/* ---- fixtures ---- */

/* Replies to UDP ASSOCIATE: the relay's address and port. */
static const uint8_t RELAY_V4[] = { 0x05, 0x00, 0x00, 0x01, 10, 9, 8, 7, 0x13, 0x89 };          /* 10.9.8.7:5001 */
static const uint8_t RELAY_V6[] = { 0x05, 0x00, 0x00, 0x04,
                                    0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xbe, 0xef,
                                    0xc3, 0x50 };                                                /* [fd00::beef]:50000 */
static const uint8_t RELAY_NAME[] = { 0x05, 0x00, 0x00, 0x03, 9, 'r', 'e', 'l', 'a', 'y', '.', 'l', 'a', 'n',
                                      0x04, 0x38 };                                              /* relay.lan:1080 */
/* Replies to a CONNECT to the next hop. */
static const uint8_t CONNECTED_V4[] = { 0x05, 0x00, 0x00, 0x01, 192, 168, 1, 1, 0x10, 0xe1 };
static const uint8_t S4_GRANTED[] = { 0x00, 90, 0x04, 0x38, 10, 0, 0, 9 };
static const char HTTP_200[] = "HTTP/1.1 200 Connection established\r\n\r\n";

/* Starts a UDP ASSOCIATE through hops[0..n) for the client address t, asserting success. */
static void start_udp(struct handshake *h, const struct proxy *const *hops, size_t n, const struct socks_target *t)
{
    int r = handshake_start_command(h, hops, n, t, SOCKS5_CMD_UDP_ASSOCIATE);
    cr_assert_eq(r, 0, "handshake_start_command: %d (%s)", r, strerror(-r));
    cr_assert_eq(handshake_status(h), HANDSHAKE_WRITE);
    cr_assert_eq(handshake_error(h), 0);
    cr_assert_eq(h->hop, 0);
    cr_assert_eq(h->command, SOCKS5_CMD_UDP_ASSOCIATE);
}

#define FEED(h, ...) drive_feed_reply((h), BYTES(__VA_ARGS__), NBYTES(__VA_ARGS__), 1)

/* start_udp through the one no-auth SOCKS5 hop hops[0], past the method selection: the request is next. */
static void start_udp_noauth(struct handshake *h, const struct proxy *const *hops, const struct socks_target *t)
{
    start_udp(h, hops, 1, t);
    EXPECT_SEND(h, 0, 0x05, 0x01, 0x00);
    cr_assert_eq(FEED(h, 0x05, 0x00), HANDSHAKE_WRITE);
}

/* The relay's address as decoded from RELAY_V4 / RELAY_V6 / RELAY_NAME. */
static void assert_relay_v4(const struct handshake *h)
{
    const struct socks_target *b = &h->reply.bound;
    cr_assert_eq(h->reply.code, 0);
    cr_assert_not(b->is_name);
    cr_assert_eq(b->addr.sa.sa_family, AF_INET);
    cr_assert_eq(b->addr.in4.sin_addr.s_addr, htonl(0x0a090807));
    cr_assert_eq(b->addr.in4.sin_port, htons(5001));
    cr_assert_eq(b->port, 5001);
}

static void assert_relay_v6(const struct handshake *h)
{
    const struct socks_target *b = &h->reply.bound;
    cr_assert_eq(h->reply.code, 0);
    cr_assert_not(b->is_name);
    cr_assert_eq(b->addr.sa.sa_family, AF_INET6);
    struct in6_addr want;
    cr_assert_eq(inet_pton(AF_INET6, "fd00::beef", &want), 1);
    cr_assert_eq(memcmp(&b->addr.in6.sin6_addr, &want, sizeof(want)), 0);
    cr_assert_eq(b->addr.in6.sin6_port, htons(50000));
    cr_assert_eq(b->port, 50000);
}

static void assert_relay_name(const struct handshake *h)
{
    const struct socks_target *b = &h->reply.bound;
    cr_assert_eq(h->reply.code, 0);
    cr_assert(b->is_name);
    cr_assert_str_eq(b->name, "relay.lan");
    cr_assert_eq(b->port, 1080);
}

/* A single no-auth SOCKS5 proxy, UDP ASSOCIATE for 0.0.0.0:0, through the method selection:
 * ready to read the reply. */
static void to_udp_reply(struct handshake *h, const struct proxy *p)
{
    struct socks_target any = test_target("0.0.0.0", 0);
    const struct proxy *hops[] = { p };
    start_udp(h, hops, 1, &any);
    cr_assert_str_eq(handshake_step_name(h), "method selection");
    EXPECT_SEND(h, 0, 0x05, 0x01, 0x00);
    cr_assert_eq(FEED(h, 0x05, 0x00), HANDSHAKE_WRITE);
    cr_assert_str_eq(handshake_step_name(h), "request");
    EXPECT_SEND(h, 0, 0x05, 0x03, 0x00, 0x01, 0, 0, 0, 0, 0x00, 0x00);
    cr_assert_eq(handshake_wants(h), 5);
}

/* ---- one SOCKS5 proxy ---- */

Test(handshake_udp, unspecified_ipv4_exact_bytes_relay_v4)
{
    struct proxy p = test_proxy("socks5://10.0.0.1:1080");
    struct handshake h;
    to_udp_reply(&h, &p);
    cr_assert_eq(drive_feed_reply(&h, RELAY_V4, 5, 5), HANDSHAKE_READ);
    cr_assert_eq(handshake_wants(&h), 5);
    cr_assert_eq(drive_feed_reply(&h, RELAY_V4 + 5, 5, 5), HANDSHAKE_DONE);
    drive_assert_done(&h);
    assert_relay_v4(&h);
}

Test(handshake_udp, relay_v6_byte_by_byte)
{
    struct proxy p = test_proxy("socks5://10.0.0.1:1080");
    struct handshake h;
    to_udp_reply(&h, &p);
    cr_assert_eq(drive_feed_reply(&h, RELAY_V6, sizeof(RELAY_V6), 1), HANDSHAKE_DONE);
    drive_assert_done(&h);
    assert_relay_v6(&h);
}

Test(handshake_udp, relay_name_any_chunking)
{
    for (size_t chunk = 1; chunk <= sizeof(RELAY_NAME); chunk++) {
        struct proxy p = test_proxy("socks5://10.0.0.1:1080");
        struct handshake h;
        to_udp_reply(&h, &p);
        cr_assert_eq(drive_feed_reply(&h, RELAY_NAME, sizeof(RELAY_NAME), chunk), HANDSHAKE_DONE, "chunk %zu", chunk);
        drive_assert_done(&h);
        assert_relay_name(&h);
    }
}

/* Many relays answer 0.0.0.0 (or ::) for "my own address": decoded as it is, for the driver to judge. */
Test(handshake_udp, relay_unspecified_address_decoded_as_is)
{
    struct proxy p = test_proxy("socks5://10.0.0.1:1080");
    struct handshake h;
    to_udp_reply(&h, &p);
    cr_assert_eq(FEED(&h, 0x05, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0xd4, 0x31), HANDSHAKE_DONE);
    drive_assert_done(&h);
    cr_assert_eq(h.reply.bound.addr.sa.sa_family, AF_INET);
    cr_assert_eq(h.reply.bound.addr.in4.sin_addr.s_addr, 0);
    cr_assert_eq(h.reply.bound.port, 54321);
}

Test(handshake_udp, client_address_ipv4)
{
    struct proxy p = test_proxy("socks5://10.0.0.1:1080");
    const struct proxy *hops[] = { &p };
    struct socks_target t = test_target("192.168.0.10", 40000);
    struct handshake h;
    start_udp_noauth(&h, hops, &t);
    EXPECT_SEND(&h, 0, 0x05, 0x03, 0x00, 0x01, 192, 168, 0, 10, 0x9c, 0x40);
    cr_assert_eq(drive_feed_reply(&h, RELAY_V4, sizeof(RELAY_V4), 3), HANDSHAKE_DONE);
    drive_assert_done(&h);
    assert_relay_v4(&h);
}

Test(handshake_udp, client_address_ipv6)
{
    struct proxy p = test_proxy("socks5://[fd00::1]:1080");
    const struct proxy *hops[] = { &p };
    struct socks_target t = test_target("2001:db8::42", 5353);
    struct handshake h;
    start_udp_noauth(&h, hops, &t);
    EXPECT_SEND(&h, 0, 0x05, 0x03, 0x00, 0x04, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x42,
                0x14, 0xe9);
    cr_assert_eq(drive_feed_reply(&h, RELAY_V6, sizeof(RELAY_V6), 7), HANDSHAKE_DONE);
    drive_assert_done(&h);
    assert_relay_v6(&h);
}

Test(handshake_udp, client_address_name_socks5h)
{
    struct proxy p = test_proxy("socks5h://10.0.0.1:1080");
    const struct proxy *hops[] = { &p };
    struct socks_target t = test_name_target("me.lan", 6000);
    struct handshake h;
    start_udp_noauth(&h, hops, &t);
    EXPECT_SEND(&h, 0, 0x05, 0x03, 0x00, 0x03, 6, 'm', 'e', '.', 'l', 'a', 'n', 0x17, 0x70);
    cr_assert_eq(drive_feed_reply(&h, RELAY_NAME, sizeof(RELAY_NAME), 2), HANDSHAKE_DONE);
    drive_assert_done(&h);
    assert_relay_name(&h);
}

Test(handshake_udp, userpass_then_udp_associate)
{
    struct proxy p = test_proxy("socks5://alice:s3cret@10.0.0.1:1080");
    const struct proxy *hops[] = { &p };
    struct socks_target any = test_target("0.0.0.0", 0);
    struct handshake h;
    start_udp(&h, hops, 1, &any);
    EXPECT_SEND(&h, 0, 0x05, 0x02, 0x00, 0x02);
    cr_assert_eq(FEED(&h, 0x05, 0x02), HANDSHAKE_WRITE);
    cr_assert_str_eq(handshake_step_name(&h), "authentication");
    EXPECT_SEND(&h, 0, 0x01, 5, 'a', 'l', 'i', 'c', 'e', 6, 's', '3', 'c', 'r', 'e', 't');
    cr_assert_eq(FEED(&h, 0x01, 0x00), HANDSHAKE_WRITE);
    EXPECT_SEND(&h, 0, 0x05, 0x03, 0x00, 0x01, 0, 0, 0, 0, 0, 0);
    cr_assert_eq(drive_feed_reply(&h, RELAY_V4, sizeof(RELAY_V4), 100), HANDSHAKE_DONE);
    drive_assert_done(&h);
    assert_relay_v4(&h);
}

/* CONNECT through handshake_start_command is what handshake_start_chain does. */
Test(handshake_udp, start_command_connect_is_start_chain)
{
    struct proxy p = test_proxy("socks5://10.0.0.1:1080");
    const struct proxy *hops[] = { &p };
    struct socks_target t = test_target("10.1.2.3", 80);
    struct handshake h;
    cr_assert_eq(handshake_start_command(&h, hops, 1, &t, SOCKS5_CMD_CONNECT), 0);
    cr_assert_eq(h.command, SOCKS5_CMD_CONNECT);
    EXPECT_SEND(&h, 0, 0x05, 0x01, 0x00);
    cr_assert_eq(FEED(&h, 0x05, 0x00), HANDSHAKE_WRITE);
    EXPECT_SEND(&h, 0, 0x05, 0x01, 0x00, 0x01, 10, 1, 2, 3, 0x00, 0x50);
    cr_assert_eq(handshake_start_chain(&h, hops, 1, &t), 0);
    cr_assert_eq(h.command, SOCKS5_CMD_CONNECT);
}

/* ---- refusals ---- */

/* Reply code 7: the proxy has no UDP ASSOCIATE. */
Test(handshake_udp, command_not_supported_is_eopnotsupp)
{
    struct proxy p = test_proxy("socks5://10.0.0.1:1080");
    struct handshake h;
    to_udp_reply(&h, &p);
    cr_assert_eq(FEED(&h, 0x05, 0x07, 0x00, 0x01, 0, 0, 0, 0, 0, 0), HANDSHAKE_FAILED);
    drive_assert_failed(&h, EOPNOTSUPP, "request", 0);
    cr_assert_eq(h.reply.code, 7);
    cr_assert_str_eq(h.detail, "command not supported");
}

Test(handshake_udp, other_reply_codes)
{
    static const struct { uint8_t code; int err; } codes[] = {
        { 1, ECONNREFUSED }, { 2, EACCES }, { 3, ENETUNREACH }, { 4, EHOSTUNREACH }, { 5, ECONNREFUSED },
        { 8, EAFNOSUPPORT }, { 0x42, ECONNREFUSED },
    };
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        struct proxy p = test_proxy("socks5://10.0.0.1:1080");
        struct handshake h;
        to_udp_reply(&h, &p);
        uint8_t reply[sizeof(RELAY_V4)];
        memcpy(reply, RELAY_V4, sizeof(reply));
        reply[1] = codes[i].code;
        cr_assert_eq(drive_feed_reply(&h, reply, sizeof(reply), 1), HANDSHAKE_FAILED, "code %u", codes[i].code);
        drive_assert_failed(&h, codes[i].err, "request", 0);
    }
}

Test(handshake_udp, malformed_reply_is_eproto)
{
    struct proxy p = test_proxy("socks5://10.0.0.1:1080");
    struct handshake h;
    to_udp_reply(&h, &p);
    /* ATYP 2 does not exist */
    cr_assert_eq(drive_feed_reply(&h, BYTES(0x05, 0x00, 0x00, 0x02, 0x00), 5, 5), HANDSHAKE_FAILED);
    drive_assert_failed(&h, EPROTO, "request", 0);
}

/* ---- chains ---- */

/* Hop 0 is asked to CONNECT to hop 1, hop 1 for UDP ASSOCIATE; the relay is hop 1's. */
Test(handshake_udp, chain_socks5_socks5)
{
    struct proxy p0 = test_proxy("socks5://10.0.0.1:1080"), p1 = test_proxy("socks5://u:pw@10.0.0.2:1081");
    const struct proxy *hops[] = { &p0, &p1 };
    struct socks_target any = test_target("0.0.0.0", 0);
    struct handshake h;
    start_udp(&h, hops, 2, &any);
    EXPECT_SEND(&h, 0, 0x05, 0x01, 0x00);
    cr_assert_eq(FEED(&h, 0x05, 0x00), HANDSHAKE_WRITE);
    EXPECT_SEND(&h, 0, 0x05, 0x01, 0x00, 0x01, 10, 0, 0, 2, 0x04, 0x39);
    cr_assert_eq(drive_feed_reply(&h, CONNECTED_V4, sizeof(CONNECTED_V4), 100), HANDSHAKE_WRITE);
    cr_assert_eq(h.hop, 1);
    EXPECT_SEND(&h, 1, 0x05, 0x02, 0x00, 0x02);
    cr_assert_eq(FEED(&h, 0x05, 0x02), HANDSHAKE_WRITE);
    EXPECT_SEND(&h, 1, 0x01, 1, 'u', 2, 'p', 'w');
    cr_assert_eq(FEED(&h, 0x01, 0x00), HANDSHAKE_WRITE);
    EXPECT_SEND(&h, 1, 0x05, 0x03, 0x00, 0x01, 0, 0, 0, 0, 0, 0);
    cr_assert_eq(drive_feed_reply(&h, RELAY_V6, sizeof(RELAY_V6), 1), HANDSHAKE_DONE);
    drive_assert_done(&h);
    assert_relay_v6(&h);
}

Test(handshake_udp, chain_socks5_to_named_socks5h)
{
    struct proxy p0 = test_proxy("socks5h://10.0.0.1:1080"), p1 = test_proxy("socks5h://gw.example:1080");
    cr_assert_not(p1.has_addr);
    const struct proxy *hops[] = { &p0, &p1 };
    struct socks_target t = test_target("192.168.0.10", 40000);
    struct handshake h;
    start_udp(&h, hops, 2, &t);
    EXPECT_SEND(&h, 0, 0x05, 0x01, 0x00);
    cr_assert_eq(FEED(&h, 0x05, 0x00), HANDSHAKE_WRITE);
    EXPECT_SEND(&h, 0, 0x05, 0x01, 0x00, 0x03, 10, 'g', 'w', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0x04, 0x38);
    cr_assert_eq(drive_feed_reply(&h, CONNECTED_V4, sizeof(CONNECTED_V4), 3), HANDSHAKE_WRITE);
    EXPECT_SEND(&h, 1, 0x05, 0x01, 0x00);
    cr_assert_eq(FEED(&h, 0x05, 0x00), HANDSHAKE_WRITE);
    EXPECT_SEND(&h, 1, 0x05, 0x03, 0x00, 0x01, 192, 168, 0, 10, 0x9c, 0x40);
    cr_assert_eq(drive_feed_reply(&h, RELAY_NAME, sizeof(RELAY_NAME), 4), HANDSHAKE_DONE);
    drive_assert_done(&h);
    assert_relay_name(&h);
}

/* SOCKS4 and HTTP can be hops before the last: they are only asked to CONNECT. */
Test(handshake_udp, chain_http_socks4_then_socks5)
{
    struct proxy p0 = test_proxy("http://10.0.0.1:3128"), p1 = test_proxy("socks4://10.0.0.2:1080"), p2 = test_proxy("socks5://10.0.0.3:1080");
    const struct proxy *hops[] = { &p0, &p1, &p2 };
    struct socks_target any = test_target("0.0.0.0", 0);
    struct handshake h;
    start_udp(&h, hops, 3, &any);
    const char *connect = "CONNECT 10.0.0.2:1080 HTTP/1.1\r\nHost: 10.0.0.2:1080\r\n\r\n";
    EXPECT_SEND_TEXT(&h, 0, connect);
    cr_assert_eq(drive_feed_reply(&h, HTTP_200, strlen(HTTP_200), 5), HANDSHAKE_WRITE);
    EXPECT_SEND(&h, 1, 0x04, 0x01, 0x04, 0x38, 10, 0, 0, 3, 0x00);
    cr_assert_eq(drive_feed_reply(&h, S4_GRANTED, sizeof(S4_GRANTED), 8), HANDSHAKE_WRITE);
    EXPECT_SEND(&h, 2, 0x05, 0x01, 0x00);
    cr_assert_eq(FEED(&h, 0x05, 0x00), HANDSHAKE_WRITE);
    EXPECT_SEND(&h, 2, 0x05, 0x03, 0x00, 0x01, 0, 0, 0, 0, 0, 0);
    cr_assert_eq(drive_feed_reply(&h, RELAY_V4, sizeof(RELAY_V4), 1), HANDSHAKE_DONE);
    drive_assert_done(&h);
    assert_relay_v4(&h);
}

/* The last hop refusing UDP fails there, with the first hop's CONNECT through. */
Test(handshake_udp, chain_last_hop_refuses_udp)
{
    struct proxy p0 = test_proxy("socks5://10.0.0.1:1080"), p1 = test_proxy("socks5://10.0.0.2:1081");
    const struct proxy *hops[] = { &p0, &p1 };
    struct socks_target any = test_target("0.0.0.0", 0);
    struct handshake h;
    start_udp(&h, hops, 2, &any);
    EXPECT_SEND(&h, 0, 0x05, 0x01, 0x00);
    cr_assert_eq(FEED(&h, 0x05, 0x00), HANDSHAKE_WRITE);
    EXPECT_SEND(&h, 0, 0x05, 0x01, 0x00, 0x01, 10, 0, 0, 2, 0x04, 0x39);
    cr_assert_eq(drive_feed_reply(&h, CONNECTED_V4, sizeof(CONNECTED_V4), 100), HANDSHAKE_WRITE);
    EXPECT_SEND(&h, 1, 0x05, 0x01, 0x00);
    cr_assert_eq(FEED(&h, 0x05, 0x00), HANDSHAKE_WRITE);
    EXPECT_SEND(&h, 1, 0x05, 0x03, 0x00, 0x01, 0, 0, 0, 0, 0, 0);
    cr_assert_eq(FEED(&h, 0x05, 0x07, 0x00, 0x01, 0, 0, 0, 0, 0, 0), HANDSHAKE_FAILED);
    drive_assert_failed(&h, EOPNOTSUPP, "request", 1);
}

/* A last hop that is not SOCKS5 cannot carry UDP: refused before any byte goes out. */
static void expect_no_udp(const char *const *urls, size_t n, const struct socks_target *t)
{
    struct proxy ps[PROXY_CHAIN_MAX];
    const struct proxy *hops[PROXY_CHAIN_MAX];
    for (size_t i = 0; i < n; i++) {
        ps[i] = test_proxy(urls[i]);
        hops[i] = &ps[i];
    }
    struct handshake h;
    memset(&h, 0x5a, sizeof(h));
    int r = handshake_start_command(&h, hops, n, t, SOCKS5_CMD_UDP_ASSOCIATE);
    cr_assert_eq(r, -EOPNOTSUPP, "%s (last of %zu): %d (%s), expected -EOPNOTSUPP", urls[n - 1], n, r, strerror(-r));
    cr_assert_eq(handshake_status(&h), HANDSHAKE_FAILED);
    cr_assert_eq(handshake_error(&h), EOPNOTSUPP);
    cr_assert_eq(handshake_wants(&h), 0);
    size_t len = 99;
    cr_assert_null(handshake_output(&h, &len), "%s: something to send", urls[n - 1]);
    cr_assert_eq(len, 0);
    cr_assert(test_all_zero(h.out, sizeof(h.out)), "%s: bytes (credentials?) left in the output buffer", urls[n - 1]);
    /* Fed or told of EOF, it stays failed as it was. */
    cr_assert_eq(handshake_feed(&h, BYTES(0x05, 0x00), 2), HANDSHAKE_FAILED);
    handshake_eof(&h);
    cr_assert_eq(handshake_error(&h), EOPNOTSUPP);
}

Test(handshake_udp, single_socks4_or_http_eopnotsupp)
{
    struct socks_target v4 = test_target("0.0.0.0", 0), v6 = test_target("::", 0);
    static const char *const kinds[] = { "socks4://10.0.0.1:1080", "socks4://uid@10.0.0.1:1080",
                                         "socks4a://10.0.0.1:1080", "http://10.0.0.1:3128",
                                         "http://u:pw@10.0.0.1:3128", "http://proxy.example:3128" };
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        expect_no_udp(&kinds[i], 1, &v4);
        /* IPv6 through SOCKS4 would be EAFNOSUPPORT for CONNECT; for UDP the command is the fault. */
        expect_no_udp(&kinds[i], 1, &v6);
    }
}

Test(handshake_udp, chain_ending_in_socks4_or_http_eopnotsupp)
{
    struct socks_target any = test_target("0.0.0.0", 0);
    static const char *const to_socks4[] = { "socks5://10.0.0.1:1080", "socks4://10.0.0.2:1080" };
    static const char *const to_socks4a[] = { "socks5://10.0.0.1:1080", "socks4a://u@10.0.0.2:1080" };
    static const char *const to_http[] = { "socks5://10.0.0.1:1080", "http://u:pw@10.0.0.2:3128" };
    static const char *const three[] = { "socks5://10.0.0.1:1080", "socks5://10.0.0.2:1080", "http://10.0.0.3:3128" };
    expect_no_udp(to_socks4, 2, &any);
    expect_no_udp(to_socks4a, 2, &any);
    expect_no_udp(to_http, 2, &any);
    expect_no_udp(three, 3, &any);
}

/* A name for the client address through SOCKS4a (which carries names) is still refused for the command. */
Test(handshake_udp, name_through_socks4a_eopnotsupp)
{
    struct socks_target t = test_name_target("me.lan", 6000);
    static const char *const s4a[] = { "socks4a://10.0.0.1:1080" };
    static const char *const http[] = { "http://10.0.0.1:3128" };
    static const char *const s4[] = { "socks4://10.0.0.1:1080" };
    expect_no_udp(s4a, 1, &t);
    expect_no_udp(http, 1, &t);
    expect_no_udp(s4, 1, &t);   /* the missing command, not the name, is what fails */
}

/* A SOCKS5 last hop with a middle hop that cannot carry the next hop's address still fails as for CONNECT. */
Test(handshake_udp, middle_hop_faults_unchanged)
{
    struct proxy p0 = test_proxy("socks4://10.0.0.1:1080"), p1 = test_proxy("socks5://[fd00::2]:1080");
    const struct proxy *hops[] = { &p0, &p1 };
    struct socks_target any = test_target("0.0.0.0", 0);
    struct handshake h;
    cr_assert_eq(handshake_start_command(&h, hops, 2, &any, SOCKS5_CMD_UDP_ASSOCIATE), -EAFNOSUPPORT);
    cr_assert_eq(handshake_status(&h), HANDSHAKE_FAILED);
}

Test(handshake_udp, bad_client_address_einval)
{
    struct proxy p = test_proxy("socks5://10.0.0.1:1080");
    const struct proxy *hops[] = { &p };
    struct socks_target none;
    memset(&none, 0, sizeof(none));
    struct handshake h;
    cr_assert_eq(handshake_start_command(&h, hops, 1, &none, SOCKS5_CMD_UDP_ASSOCIATE), -EINVAL);
    cr_assert_eq(handshake_error(&h), EINVAL);
    struct socks_target empty = test_name_target("", 0);
    cr_assert_eq(handshake_start_command(&h, hops, 1, &empty, SOCKS5_CMD_UDP_ASSOCIATE), -EINVAL);
    cr_assert_eq(handshake_error(&h), EINVAL);
    size_t len = 99;
    cr_assert_null(handshake_output(&h, &len));
    cr_assert_eq(len, 0);
}

/* ---- socks5_pipelining: greeting, credentials and UDP ASSOCIATE in one write ---- */

Test(handshake_udp, pipelined_noauth)
{
    struct proxy p = test_proxy("socks5://10.0.0.1:1080");
    p.pipeline = true;
    const struct proxy *hops[] = { &p };
    struct socks_target t = test_target("192.168.0.10", 40000);
    struct handshake h;
    start_udp(&h, hops, 1, &t);
    EXPECT_SEND(&h, 0, 0x05, 0x01, 0x00, 0x05, 0x03, 0x00, 0x01, 192, 168, 0, 10, 0x9c, 0x40);
    cr_assert_eq(handshake_wants(&h), 2);
    cr_assert_eq(FEED(&h, 0x05, 0x00), HANDSHAKE_READ, "nothing more to send: the request went already");
    cr_assert_str_eq(handshake_step_name(&h), "request");
    cr_assert_eq(drive_feed_reply(&h, RELAY_V6, sizeof(RELAY_V6), 1), HANDSHAKE_DONE);
    drive_assert_done(&h);
    assert_relay_v6(&h);
}

Test(handshake_udp, pipelined_userpass)
{
    struct proxy p = test_proxy("socks5://u:pw@10.0.0.1:1080");
    p.pipeline = true;
    const struct proxy *hops[] = { &p };
    struct socks_target any = test_target("0.0.0.0", 0);
    struct handshake h;
    start_udp(&h, hops, 1, &any);
    EXPECT_SEND(&h, 0, 0x05, 0x01, 0x02, 0x01, 1, 'u', 2, 'p', 'w', 0x05, 0x03, 0x00, 0x01, 0, 0, 0, 0, 0, 0);
    cr_assert_eq(FEED(&h, 0x05, 0x02), HANDSHAKE_READ);
    cr_assert_str_eq(handshake_step_name(&h), "authentication");
    cr_assert_eq(FEED(&h, 0x01, 0x00), HANDSHAKE_READ, "no second write");
    cr_assert_eq(drive_feed_reply(&h, RELAY_NAME, sizeof(RELAY_NAME), 1), HANDSHAKE_DONE);
    drive_assert_done(&h);
    assert_relay_name(&h);
}

Test(handshake_udp, pipelined_refused_command)
{
    struct proxy p = test_proxy("socks5://10.0.0.1:1080");
    p.pipeline = true;
    const struct proxy *hops[] = { &p };
    struct socks_target any = test_target("0.0.0.0", 0);
    struct handshake h;
    start_udp(&h, hops, 1, &any);
    EXPECT_SEND(&h, 0, 0x05, 0x01, 0x00, 0x05, 0x03, 0x00, 0x01, 0, 0, 0, 0, 0, 0);
    cr_assert_eq(FEED(&h, 0x05, 0x00), HANDSHAKE_READ);
    cr_assert_eq(FEED(&h, 0x05, 0x07, 0x00, 0x01, 0, 0, 0, 0, 0, 0), HANDSHAKE_FAILED);
    drive_assert_failed(&h, EOPNOTSUPP, "request", 0);
}

/* Pipelining in a chain: hop 0's one write asks for a CONNECT to hop 1, hop 1's for UDP ASSOCIATE. */
Test(handshake_udp, pipelined_chain)
{
    struct proxy p0 = test_proxy("socks5://10.0.0.1:1080"), p1 = test_proxy("socks5://u:pw@10.0.0.2:1081");
    p0.pipeline = p1.pipeline = true;
    const struct proxy *hops[] = { &p0, &p1 };
    struct socks_target any = test_target("0.0.0.0", 0);
    struct handshake h;
    start_udp(&h, hops, 2, &any);
    EXPECT_SEND(&h, 0, 0x05, 0x01, 0x00, 0x05, 0x01, 0x00, 0x01, 10, 0, 0, 2, 0x04, 0x39);
    cr_assert_eq(FEED(&h, 0x05, 0x00), HANDSHAKE_READ);
    cr_assert_eq(drive_feed_reply(&h, CONNECTED_V4, sizeof(CONNECTED_V4), 1), HANDSHAKE_WRITE);
    EXPECT_SEND(&h, 1, 0x05, 0x01, 0x02, 0x01, 1, 'u', 2, 'p', 'w', 0x05, 0x03, 0x00, 0x01, 0, 0, 0, 0, 0, 0);
    cr_assert_eq(FEED(&h, 0x05, 0x02), HANDSHAKE_READ);
    cr_assert_eq(FEED(&h, 0x01, 0x00), HANDSHAKE_READ);
    cr_assert_eq(drive_feed_reply(&h, RELAY_V4, sizeof(RELAY_V4), 2), HANDSHAKE_DONE);
    drive_assert_done(&h);
    assert_relay_v4(&h);
}

/* Pipelined first hop, plain second: each sends its own command. */
Test(handshake_udp, pipelined_first_hop_only)
{
    struct proxy p0 = test_proxy("socks5://10.0.0.1:1080"), p1 = test_proxy("socks5://10.0.0.2:1081");
    p0.pipeline = true;
    const struct proxy *hops[] = { &p0, &p1 };
    struct socks_target any = test_target("0.0.0.0", 0);
    struct handshake h;
    start_udp(&h, hops, 2, &any);
    EXPECT_SEND(&h, 0, 0x05, 0x01, 0x00, 0x05, 0x01, 0x00, 0x01, 10, 0, 0, 2, 0x04, 0x39);
    cr_assert_eq(FEED(&h, 0x05, 0x00), HANDSHAKE_READ);
    cr_assert_eq(drive_feed_reply(&h, CONNECTED_V4, sizeof(CONNECTED_V4), 10), HANDSHAKE_WRITE);
    EXPECT_SEND(&h, 1, 0x05, 0x01, 0x00);
    cr_assert_eq(FEED(&h, 0x05, 0x00), HANDSHAKE_WRITE);
    EXPECT_SEND(&h, 1, 0x05, 0x03, 0x00, 0x01, 0, 0, 0, 0, 0, 0);
    cr_assert_eq(drive_feed_reply(&h, RELAY_V4, sizeof(RELAY_V4), 10), HANDSHAKE_DONE);
    drive_assert_done(&h);
}
