/* Unit tests for core/handshake.c with the BIND command (RFC 1928 section 4): the last hop is
 * asked for BIND with the address of the expected peer; the first reply names where the proxy
 * listens, and handshake_bind_second then reads the second reply on the same connection: the
 * peer that connected, or a refusal. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "handshake_driver.h"

/* First reply: the proxy listens on 10.9.8.7:5001. */
static const uint8_t LISTENING_V4[] = { 0x05, 0x00, 0x00, 0x01, 10, 9, 8, 7, 0x13, 0x89 };
/* Second reply: 192.0.2.20:20 connected. */
static const uint8_t PEER_V4[] = { 0x05, 0x00, 0x00, 0x01, 192, 0, 2, 20, 0x00, 0x14 };
/* Second reply, IPv6: [2001:db8::20]:2020. */
static const uint8_t PEER_V6[] = { 0x05, 0x00, 0x00, 0x04, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0,
                                   0, 0, 0, 0x20, 0x07, 0xe4 };
static const uint8_t CONNECTED_V4[] = { 0x05, 0x00, 0x00, 0x01, 192, 168, 1, 1, 0x10, 0xe1 };

#define FEED(h, ...) drive_feed_reply((h), BYTES(__VA_ARGS__), NBYTES(__VA_ARGS__), 1)

/* A BIND for peer 192.0.2.20:0 through the one no-auth SOCKS5 proxy p, through the first reply. */
static void to_first_reply_done(struct handshake *h, const struct proxy *p)
{
    struct socks_target peer = test_target("192.0.2.20", 0);
    const struct proxy *hops[] = { p };
    cr_assert_eq(handshake_start_command(h, hops, 1, &peer, SOCKS5_CMD_BIND), 0);
    EXPECT_SEND(h, 0, 0x05, 0x01, 0x00);
    cr_assert_eq(FEED(h, 0x05, 0x00), HANDSHAKE_WRITE);
    EXPECT_SEND(h, 0, 0x05, 0x02, 0x00, 0x01, 192, 0, 2, 20, 0x00, 0x00);
    cr_assert_eq(drive_feed_reply(h, LISTENING_V4, sizeof(LISTENING_V4), 3), HANDSHAKE_DONE);
    drive_assert_done(h);
    cr_assert_eq(h->reply.bound.addr.in4.sin_addr.s_addr, htonl(0x0a090807));
    cr_assert_eq(h->reply.bound.port, 5001);
}

/* to_first_reply_done, then waiting for the second reply. */
static void to_second_reply(struct handshake *h, const struct proxy *p)
{
    to_first_reply_done(h, p);
    cr_assert_eq(handshake_bind_second(h), 0);
    cr_assert_eq(handshake_status(h), HANDSHAKE_READ);
    cr_assert_eq(handshake_wants(h), 5);
    cr_assert_str_eq(handshake_step_name(h), "BIND second reply");
    size_t len;
    cr_assert_null(handshake_output(h, &len));
    cr_assert_eq(len, 0);
}

Test(handshake_bind, both_replies_v4_any_chunking)
{
    for (size_t chunk = 1; chunk <= sizeof(PEER_V4); chunk++) {
        struct proxy p = test_proxy("socks5://10.0.0.1:1080");
        struct handshake h;
        to_second_reply(&h, &p);
        cr_assert_eq(drive_feed_reply(&h, PEER_V4, sizeof(PEER_V4), chunk), HANDSHAKE_DONE, "chunk %zu", chunk);
        drive_assert_done(&h);
        cr_assert_eq(h.reply.bound.addr.sa.sa_family, AF_INET);
        cr_assert_eq(h.reply.bound.addr.in4.sin_addr.s_addr, htonl(0xc0000214));
        cr_assert_eq(h.reply.bound.port, 20);
    }
}

Test(handshake_bind, second_reply_v6)
{
    struct proxy p = test_proxy("socks5://10.0.0.1:1080");
    struct handshake h;
    to_second_reply(&h, &p);
    cr_assert_eq(drive_feed_reply(&h, PEER_V6, sizeof(PEER_V6), 4), HANDSHAKE_DONE);
    drive_assert_done(&h);
    cr_assert_eq(h.reply.bound.addr.sa.sa_family, AF_INET6);
    cr_assert_eq(h.reply.bound.port, 2020);
}

/* Each refusal in the second reply (the proxy could not take the peer's connection) gives its errno. */
Test(handshake_bind, second_reply_codes)
{
    static const struct { uint8_t code; int err; } cases[] = {
        { 1, ECONNREFUSED }, { 2, EACCES }, { 3, ENETUNREACH }, { 4, EHOSTUNREACH }, { 5, ECONNREFUSED },
        { 6, ETIMEDOUT }, { 7, EOPNOTSUPP }, { 8, EAFNOSUPPORT }, { 0x42, ECONNREFUSED },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct proxy p = test_proxy("socks5://10.0.0.1:1080");
        struct handshake h;
        to_second_reply(&h, &p);
        uint8_t reply[sizeof(PEER_V4)];
        memcpy(reply, PEER_V4, sizeof(reply));
        reply[1] = cases[i].code;
        cr_assert_eq(drive_feed_reply(&h, reply, sizeof(reply), 2), HANDSHAKE_FAILED, "code %u", cases[i].code);
        drive_assert_failed(&h, cases[i].err, "BIND second reply", 0);
    }
}

Test(handshake_bind, first_reply_refused)
{
    struct proxy p = test_proxy("socks5://10.0.0.1:1080");
    struct socks_target peer = test_target("192.0.2.20", 0);
    const struct proxy *hops[] = { &p };
    struct handshake h;
    cr_assert_eq(handshake_start_command(&h, hops, 1, &peer, SOCKS5_CMD_BIND), 0);
    EXPECT_SEND(&h, 0, 0x05, 0x01, 0x00);
    cr_assert_eq(FEED(&h, 0x05, 0x00), HANDSHAKE_WRITE);
    EXPECT_SEND(&h, 0, 0x05, 0x02, 0x00, 0x01, 192, 0, 2, 20, 0x00, 0x00);
    cr_assert_eq(FEED(&h, 0x05, 0x07, 0x00, 0x01, 0, 0, 0, 0, 0, 0), HANDSHAKE_FAILED);
    drive_assert_failed(&h, EOPNOTSUPP, "request", 0);
    cr_assert_eq(handshake_bind_second(&h), -EINVAL);
}

/* Malformed second replies: wrong version, non-zero reserved byte, unknown address type. */
Test(handshake_bind, second_reply_malformed)
{
    static const uint8_t bad[][10] = {
        { 0x04, 0x00, 0x00, 0x01, 1, 2, 3, 4, 0, 20 },
        { 0x05, 0x00, 0x01, 0x01, 1, 2, 3, 4, 0, 20 },
        { 0x05, 0x00, 0x00, 0x09, 1, 2, 3, 4, 0, 20 },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct proxy p = test_proxy("socks5://10.0.0.1:1080");
        struct handshake h;
        to_second_reply(&h, &p);
        drive_feed_until_failed(&h, bad[i], sizeof(bad[i]), 1);
        drive_assert_failed(&h, EPROTO, "BIND second reply", 0);
    }
}

/* The proxy hangs up before the second reply, or in its middle. */
Test(handshake_bind, second_reply_short_then_eof)
{
    for (size_t cut = 0; cut < sizeof(PEER_V4); cut++) {
        struct proxy p = test_proxy("socks5://10.0.0.1:1080");
        struct handshake h;
        to_second_reply(&h, &p);
        if (cut)
            drive_feed_some(&h, PEER_V4, cut);
        handshake_eof(&h);
        drive_assert_failed(&h, ECONNRESET, "BIND second reply", 0);
    }
}

/* Bytes beyond the second reply belong to the peer: the machine never asks for them, and refuses
 * them if a driver pushes them in. */
Test(handshake_bind, second_reply_oversized)
{
    struct proxy p = test_proxy("socks5://10.0.0.1:1080");
    struct handshake h;
    to_second_reply(&h, &p);
    uint8_t more[sizeof(PEER_V4) + 3];
    memcpy(more, PEER_V4, sizeof(PEER_V4));
    memcpy(more + sizeof(PEER_V4), "abc", 3);
    cr_assert_eq(handshake_feed(&h, more, 5), HANDSHAKE_READ);
    cr_assert_eq(handshake_wants(&h), 5);
    cr_assert_eq(handshake_feed(&h, more + 5, 8), HANDSHAKE_FAILED);
    cr_assert_eq(handshake_error(&h), EPROTO);
}

/* A timeout while waiting for the peer is the driver's to decide. */
Test(handshake_bind, second_reply_timeout_abort)
{
    struct proxy p = test_proxy("socks5://10.0.0.1:1080");
    struct handshake h;
    to_second_reply(&h, &p);
    handshake_abort(&h, ETIMEDOUT);
    drive_assert_failed(&h, ETIMEDOUT, "BIND second reply", 0);
}

/* Only a finished BIND has a second reply, and only one. */
Test(handshake_bind, second_only_after_bind_done)
{
    struct proxy p = test_proxy("socks5://10.0.0.1:1080");
    struct socks_target t = test_target("192.0.2.20", 80);
    const struct proxy *hops[] = { &p };
    struct handshake h;
    cr_assert_eq(handshake_start_chain(&h, hops, 1, &t), 0);
    cr_assert_eq(handshake_bind_second(&h), -EINVAL, "not done");
    cr_assert_eq(handshake_start_command(&h, hops, 1, &t, SOCKS5_CMD_BIND), 0);
    cr_assert_eq(handshake_bind_second(&h), -EINVAL, "BIND not done");
    to_second_reply(&h, &p);
    cr_assert_eq(drive_feed_reply(&h, PEER_V4, sizeof(PEER_V4), 10), HANDSHAKE_DONE);
    cr_assert_eq(handshake_bind_second(&h), -EINVAL, "a third reply");
}

Test(handshake_bind, connect_done_has_no_second)
{
    struct proxy p = test_proxy("socks5://10.0.0.1:1080");
    struct socks_target t = test_target("192.0.2.20", 80);
    const struct proxy *hops[] = { &p };
    struct handshake h;
    cr_assert_eq(handshake_start_chain(&h, hops, 1, &t), 0);
    EXPECT_SEND(&h, 0, 0x05, 0x01, 0x00);
    cr_assert_eq(FEED(&h, 0x05, 0x00), HANDSHAKE_WRITE);
    EXPECT_SEND(&h, 0, 0x05, 0x01, 0x00, 0x01, 192, 0, 2, 20, 0x00, 80);
    cr_assert_eq(drive_feed_reply(&h, CONNECTED_V4, sizeof(CONNECTED_V4), 10), HANDSHAKE_DONE);
    cr_assert_eq(handshake_bind_second(&h), -EINVAL);
}

/* Through a chain: the first hop CONNECTs to the second, which is asked for BIND. */
Test(handshake_bind, chain_last_hop_binds)
{
    struct proxy p1 = test_proxy("socks5://10.0.0.1:1080"), p2 = test_proxy("socks5://10.0.0.2:1081");
    const struct proxy *hops[] = { &p1, &p2 };
    struct socks_target peer = test_target("192.0.2.20", 0);
    struct handshake h;
    cr_assert_eq(handshake_start_command(&h, hops, 2, &peer, SOCKS5_CMD_BIND), 0);
    EXPECT_SEND(&h, 0, 0x05, 0x01, 0x00);
    cr_assert_eq(FEED(&h, 0x05, 0x00), HANDSHAKE_WRITE);
    EXPECT_SEND(&h, 0, 0x05, 0x01, 0x00, 0x01, 10, 0, 0, 2, 0x04, 0x39);
    cr_assert_eq(drive_feed_reply(&h, CONNECTED_V4, sizeof(CONNECTED_V4), 10), HANDSHAKE_WRITE);
    EXPECT_SEND(&h, 1, 0x05, 0x01, 0x00);
    cr_assert_eq(FEED(&h, 0x05, 0x00), HANDSHAKE_WRITE);
    EXPECT_SEND(&h, 1, 0x05, 0x02, 0x00, 0x01, 192, 0, 2, 20, 0x00, 0x00);
    cr_assert_eq(drive_feed_reply(&h, LISTENING_V4, sizeof(LISTENING_V4), 10), HANDSHAKE_DONE);
    cr_assert_eq(handshake_bind_second(&h), 0);
    cr_assert_eq(drive_feed_reply(&h, PEER_V4, sizeof(PEER_V4), 10), HANDSHAKE_DONE);
    cr_assert_eq(h.reply.bound.port, 20);
}

/* SOCKS4 and HTTP CONNECT last hops cannot BIND here: refused before any byte goes out. */
Test(handshake_bind, non_socks5_last_hop_refused)
{
    const char *urls[] = { "socks4://10.0.0.1:1080", "http://10.0.0.1:3128" };
    for (size_t i = 0; i < 2; i++) {
        struct proxy p = test_proxy(urls[i]);
        const struct proxy *hops[] = { &p };
        struct socks_target peer = test_target("192.0.2.20", 0);
        struct handshake h;
        cr_assert_eq(handshake_start_command(&h, hops, 1, &peer, SOCKS5_CMD_BIND), -EOPNOTSUPP, "%s", urls[i]);
        cr_assert_eq(handshake_status(&h), HANDSHAKE_FAILED);
    }
}
