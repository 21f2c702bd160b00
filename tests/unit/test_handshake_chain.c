/* Unit tests for core/handshake.c across chains: hop i is asked to CONNECT to hop i+1, the last
 * to the target, mixing SOCKS5 (with and without auth), SOCKS4, SOCKS4a and HTTP CONNECT; the
 * bytes each hop sends, replies in any chunking, tunnel bytes left alone, errors and blame. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "handshake_driver.h"

/* ---- fixtures ---- */

static const uint8_t S5_REPLY_V4[] = { 0x05, 0x00, 0x00, 0x01, 192, 168, 1, 1, 0x10, 0xe1 };   /* 192.168.1.1:4321 */
static const uint8_t S5_REPLY_NAME[] = { 0x05, 0x00, 0x00, 0x03, 4, 'g', 'a', 't', 'e', 0x01, 0xbb };
static const uint8_t S4_GRANTED[] = { 0x00, 90, 0x04, 0x38, 10, 0, 0, 9 };
static const char HTTP_200[] = "HTTP/1.1 200 Connection established\r\n\r\n";
static const uint8_t S5_PICK_NONE[] = { 0x05, 0x00 };

/* An HTTP 200 response with many header lines, into buf; returns its length. */
static size_t http_200_long(char *buf, size_t size, int lines)
{
    int n = snprintf(buf, size, "HTTP/1.0 200 OK, go ahead\r\n");
    for (int i = 0; i < lines; i++)
        n += snprintf(buf + n, size - (size_t)n, "X-Header-%d: value %d; with: colons\r\n", i, i * 7);
    n += snprintf(buf + n, size - (size_t)n, "Proxy-Agent: test\r\n\r\n");
    cr_assert_lt((size_t)n, size);
    return (size_t)n;
}

/* Starts a handshake through hops[0..n) to t, asserting success. */
static void start(struct handshake *h, const struct proxy *const *hops, size_t n, const struct socks_target *t)
{
    int r = handshake_start_chain(h, hops, n, t);
    cr_assert_eq(r, 0, "handshake_start_chain: %d (%s)", r, strerror(-r));
    cr_assert_eq(handshake_status(h), HANDSHAKE_WRITE);
    cr_assert_eq(h->hop, 0);
    cr_assert_eq(handshake_blame(h), -1, "nothing failed yet");
}

/* drive_assert_failed, and the hop blamed for the failure is `blame`. */
static void assert_failed(const struct handshake *h, int err, const char *step, size_t hop, int blame)
{
    drive_assert_failed(h, err, step, hop);
    cr_assert_eq(handshake_blame(h), blame, "blame %d, expected %d", handshake_blame(h), blame);
}

/* ---- exact bytes, driven by hand ---- */

Test(handshake_chain, socks5_then_socks5_with_auth)
{
    struct proxy p0 = test_proxy("socks5://10.0.0.1:1080"), p1 = test_proxy("socks5://u:pw@10.0.0.2:1081");
    const struct proxy *hops[] = { &p0, &p1 };
    struct socks_target t = test_target("10.1.2.3", 80);
    struct handshake h;
    start(&h, hops, 2, &t);
    cr_assert_str_eq(handshake_step_name(&h), "method selection");
    EXPECT_SEND(&h, 0, 0x05, 0x01, 0x00);
    cr_assert_eq(drive_feed_reply(&h, BYTES(0x05, 0x00), 2, 1), HANDSHAKE_WRITE);
    cr_assert_str_eq(handshake_step_name(&h), "request");
    /* hop 0 is asked for hop 1: 10.0.0.2:1081 */
    EXPECT_SEND(&h, 0, 0x05, 0x01, 0x00, 0x01, 10, 0, 0, 2, 0x04, 0x39);
    cr_assert_eq(handshake_wants(&h), 5);
    cr_assert_eq(drive_feed_reply(&h, S5_REPLY_V4, sizeof(S5_REPLY_V4), 100), HANDSHAKE_WRITE);
    cr_assert_eq(h.hop, 1);
    cr_assert_str_eq(handshake_step_name(&h), "method selection");
    /* hop 1, through the tunnel: offers user/pass */
    EXPECT_SEND(&h, 1, 0x05, 0x02, 0x00, 0x02);
    cr_assert_eq(drive_feed_reply(&h, BYTES(0x05, 0x02), 2, 2), HANDSHAKE_WRITE);
    cr_assert_str_eq(handshake_step_name(&h), "authentication");
    EXPECT_SEND(&h, 1, 0x01, 1, 'u', 2, 'p', 'w');
    cr_assert_eq(drive_feed_reply(&h, BYTES(0x01, 0x00), 2, 1), HANDSHAKE_WRITE);
    /* hop 1 is asked for the target */
    EXPECT_SEND(&h, 1, 0x05, 0x01, 0x00, 0x01, 10, 1, 2, 3, 0x00, 0x50);
    cr_assert_eq(drive_feed_reply(&h, S5_REPLY_NAME, sizeof(S5_REPLY_NAME), 1), HANDSHAKE_DONE);
    drive_assert_done(&h);
    cr_assert(h.reply.bound.is_name, "the bound address is the last hop's");
    cr_assert_str_eq(h.reply.bound.name, "gate");
}

Test(handshake_chain, http_socks4a_socks5h_with_names)
{
    struct proxy p0 = test_proxy("http://10.0.0.1:3128"), p1 = test_proxy("socks4a://uid@10.0.0.2:1080"), p2 = test_proxy("socks5h://gw.example:1080");
    cr_assert_not(p2.has_addr);
    const struct proxy *hops[] = { &p0, &p1, &p2 };
    struct socks_target t = test_name_target("example.org", 443);
    struct handshake h;
    start(&h, hops, 3, &t);
    cr_assert_str_eq(handshake_step_name(&h), "request");
    EXPECT_SEND_TEXT(&h, 0, "CONNECT 10.0.0.2:1080 HTTP/1.1\r\nHost: 10.0.0.2:1080\r\n\r\n");
    char head[4096];
    size_t head_len = http_200_long(head, sizeof(head), 40);
    cr_assert_eq(drive_feed_reply(&h, head, head_len, 1), HANDSHAKE_WRITE);
    cr_assert_eq(h.hop, 1);
    /* hop 1 (SOCKS4a) is asked for hop 2 by name: DSTIP 0.0.0.1, user id, name */
    EXPECT_SEND(&h, 1, 0x04, 0x01, 0x04, 0x38, 0, 0, 0, 1, 'u', 'i', 'd', 0, 'g', 'w', '.', 'e', 'x', 'a', 'm', 'p',
                'l', 'e', 0);
    cr_assert_eq(handshake_wants(&h), 8);
    cr_assert_eq(drive_feed_reply(&h, S4_GRANTED, sizeof(S4_GRANTED), 1), HANDSHAKE_WRITE);
    cr_assert_eq(h.hop, 2);
    EXPECT_SEND(&h, 2, 0x05, 0x01, 0x00);
    cr_assert_eq(drive_feed_reply(&h, BYTES(0x05, 0x00), 2, 1), HANDSHAKE_WRITE);
    EXPECT_SEND(&h, 2, 0x05, 0x01, 0x00, 0x03, 11, 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'o', 'r', 'g', 0x01, 0xbb);
    cr_assert_eq(drive_feed_reply(&h, S5_REPLY_V4, sizeof(S5_REPLY_V4), 1), HANDSHAKE_DONE);
    drive_assert_done(&h);
    cr_assert_eq(h.reply.bound.port, 4321);
}

Test(handshake_chain, http_asked_for_an_ipv6_proxy)
{
    struct proxy p0 = test_proxy("http://10.0.0.1:3128"), p1 = test_proxy("socks5://[2001:db8::2]:1090");
    const struct proxy *hops[] = { &p0, &p1 };
    struct socks_target t = test_target("10.1.2.3", 80);
    struct handshake h;
    start(&h, hops, 2, &t);
    EXPECT_SEND_TEXT(&h, 0, "CONNECT [2001:db8::2]:1090 HTTP/1.1\r\nHost: [2001:db8::2]:1090\r\n\r\n");
    cr_assert_eq(drive_feed_reply(&h, HTTP_200, strlen(HTTP_200), 3), HANDSHAKE_WRITE);
    EXPECT_SEND(&h, 1, 0x05, 0x01, 0x00);
    cr_assert_eq(drive_feed_reply(&h, BYTES(0x05, 0x00), 2, 2), HANDSHAKE_WRITE);
    EXPECT_SEND(&h, 1, 0x05, 0x01, 0x00, 0x01, 10, 1, 2, 3, 0x00, 0x50);
    cr_assert_eq(drive_feed_reply(&h, S5_REPLY_V4, sizeof(S5_REPLY_V4), 4), HANDSHAKE_DONE);
    drive_assert_done(&h);
}

Test(handshake_chain, socks5_asked_for_a_named_http_proxy_with_auth)
{
    struct proxy p0 = test_proxy("socks5://10.0.0.1"), p1 = test_proxy("http://user:pass@proxy.example:3128");
    const struct proxy *hops[] = { &p0, &p1 };
    struct socks_target t = test_target("2001:db8::7", 22);
    struct handshake h;
    start(&h, hops, 2, &t);
    EXPECT_SEND(&h, 0, 0x05, 0x01, 0x00);
    drive_feed_reply(&h, BYTES(0x05, 0x00), 2, 2);
    EXPECT_SEND(&h, 0, 0x05, 0x01, 0x00, 0x03, 13, 'p', 'r', 'o', 'x', 'y', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0x0c,
                0x38);
    cr_assert_eq(drive_feed_reply(&h, S5_REPLY_V4, sizeof(S5_REPLY_V4), 3), HANDSHAKE_WRITE);
    EXPECT_SEND_TEXT(&h, 1, "CONNECT [2001:db8::7]:22 HTTP/1.1\r\nHost: [2001:db8::7]:22\r\n"
                            "Proxy-Authorization: Basic dXNlcjpwYXNz\r\n\r\n");
    cr_assert_str_eq(handshake_step_name(&h), "request");
    cr_assert_eq(drive_feed_reply(&h, "HTTP/1.1 200 \r\nA: b\r\n\r\n", 23, 2), HANDSHAKE_DONE);
    drive_assert_done(&h);
}

Test(handshake_chain, socks4_carries_v4_mapped_and_user_id)
{
    struct proxy p0 = test_proxy("socks4://alice@10.0.0.1:1080"), p1 = test_proxy("socks4://10.0.0.2:1081");
    const struct proxy *hops[] = { &p0, &p1 };
    struct socks_target t = test_target("::ffff:203.0.113.5", 8080);
    struct handshake h;
    start(&h, hops, 2, &t);
    EXPECT_SEND(&h, 0, 0x04, 0x01, 0x04, 0x39, 10, 0, 0, 2, 'a', 'l', 'i', 'c', 'e', 0);
    cr_assert_eq(drive_feed_reply(&h, S4_GRANTED, sizeof(S4_GRANTED), 3), HANDSHAKE_WRITE);
    EXPECT_SEND(&h, 1, 0x04, 0x01, 0x1f, 0x90, 203, 0, 113, 5, 0);
    cr_assert_eq(drive_feed_reply(&h, S4_GRANTED, sizeof(S4_GRANTED), 8), HANDSHAKE_DONE);
    drive_assert_done(&h);
}

/* ---- a scripted server, any chunking ---- */

#define SCRIPT_MAX 40

struct script {
    const uint8_t *reply[SCRIPT_MAX];
    size_t len[SCRIPT_MAX];
    size_t count;
    const uint8_t *tunnel;   /* sent by the last proxy right after its last reply */
    size_t tunnel_len;
};

static void script_add(struct script *s, const void *reply, size_t len)
{
    cr_assert_lt(s->count, SCRIPT_MAX);
    s->reply[s->count] = reply;
    s->len[s->count++] = len;
}

/* Drives h against s, writing and reading at most chunk bytes per call. The server answers each
 * message the client completes with the next reply; the last comes with the tunnel bytes. Checks
 * the machine reads every reply exactly and never a tunnel byte; returns what it sent. */
static size_t run_script(struct handshake *h, const struct script *s, size_t chunk, uint8_t *sent, size_t sent_size)
{
    uint8_t sock[16384];
    size_t sock_len = 0, sock_off = 0, sent_len = 0, msgs = 0, reply_end[SCRIPT_MAX];
    size_t consumed = 0;
    for (int guard = 0; guard < 100000; guard++) {
        enum handshake_status st = handshake_status(h);
        if (st == HANDSHAKE_WRITE) {
            size_t len = 0;
            const uint8_t *out = handshake_output(h, &len);
            cr_assert(out && len > 0);
            size_t n = len < chunk ? len : chunk;
            cr_assert_leq(sent_len + n, sent_size);
            memcpy(sent + sent_len, out, n);
            sent_len += n;
            handshake_sent(h, n);
            if (handshake_status(h) != HANDSHAKE_WRITE) {
                /* A whole message went out: the server answers. */
                cr_assert_lt(msgs, s->count, "the client sent more messages than the script answers");
                memcpy(sock + sock_len, s->reply[msgs], s->len[msgs]);
                sock_len += s->len[msgs];
                reply_end[msgs] = sock_len;
                if (msgs + 1 == s->count) {
                    memcpy(sock + sock_len, s->tunnel, s->tunnel_len);
                    sock_len += s->tunnel_len;
                }
                msgs++;
            }
            continue;
        }
        if (st != HANDSHAKE_READ)
            break;
        size_t wants = handshake_wants(h);
        cr_assert_gt(wants, 0, "READ but wants nothing");
        cr_assert_geq(msgs, 1);
        cr_assert_leq(sock_off + wants, reply_end[msgs - 1], "reply %zu: wants %zu bytes, past the reply's end", msgs - 1,
                      wants);
        size_t n = wants < chunk ? wants : chunk;
        handshake_feed(h, sock + sock_off, n);
        sock_off += n;
        consumed += n;
    }
    drive_assert_done(h);
    cr_assert_eq(msgs, s->count, "%zu messages answered of %zu", msgs, s->count);
    cr_assert_eq(sock_off, reply_end[s->count - 1], "consumed %zu bytes, the replies end at %zu", sock_off,
                 reply_end[s->count - 1]);
    cr_assert_eq(sock_len - sock_off, s->tunnel_len, "tunnel bytes were consumed");
    (void)consumed;
    return sent_len;
}

/* Appends bytes to a growing expected-output buffer. */
struct bytes {
    uint8_t b[8192];
    size_t n;
};

static void put(struct bytes *x, const void *p, size_t n)
{
    cr_assert_leq(x->n + n, sizeof(x->b));
    memcpy(x->b + x->n, p, n);
    x->n += n;
}
#define PUT(x, ...) put((x), BYTES(__VA_ARGS__), NBYTES(__VA_ARGS__))
#define PUT_TEXT(x, s) put((x), (s), strlen(s))

static const size_t CHUNKS[] = { 1, 2, 3, 4, 5, 7, 13, 64, SIZE_MAX };

Test(handshake_chain, three_kinds_any_chunking)
{
    struct proxy p0 = test_proxy("socks5://user:password@10.0.0.1:1080"), p1 = test_proxy("http://10.0.0.2:8080"),
                 p2 = test_proxy("socks4://10.0.0.3:1081");
    const struct proxy *hops[] = { &p0, &p1, &p2 };
    struct socks_target t = test_target("198.51.100.9", 443);
    char head[8192];
    size_t head_len = http_200_long(head, sizeof(head), 120);
    static const uint8_t tunnel[] = "SSH-2.0-OpenSSH_9.6\r\n";
    struct script s = { .tunnel = tunnel, .tunnel_len = sizeof(tunnel) - 1 };
    script_add(&s, BYTES(0x05, 0x02), 2);
    script_add(&s, BYTES(0x01, 0x00), 2);
    script_add(&s, S5_REPLY_V4, sizeof(S5_REPLY_V4));
    script_add(&s, head, head_len);
    script_add(&s, S4_GRANTED, sizeof(S4_GRANTED));

    struct bytes want = { .n = 0 };
    PUT(&want, 0x05, 0x02, 0x00, 0x02);
    PUT(&want, 0x01, 4, 'u', 's', 'e', 'r', 8, 'p', 'a', 's', 's', 'w', 'o', 'r', 'd');
    PUT(&want, 0x05, 0x01, 0x00, 0x01, 10, 0, 0, 2, 0x1f, 0x90);
    PUT_TEXT(&want, "CONNECT 10.0.0.3:1081 HTTP/1.1\r\nHost: 10.0.0.3:1081\r\n\r\n");
    PUT(&want, 0x04, 0x01, 0x01, 0xbb, 198, 51, 100, 9, 0);
    for (size_t i = 0; i < sizeof(CHUNKS) / sizeof(CHUNKS[0]); i++) {
        struct handshake h;
        uint8_t sent[8192];
        start(&h, hops, 3, &t);
        size_t n = run_script(&h, &s, CHUNKS[i], sent, sizeof(sent));
        test_assert_bytes(sent, n, want.b, want.n);
    }
}

Test(handshake_chain, http_last_hop_leaves_tunnel_bytes)
{
    struct proxy p0 = test_proxy("socks4a://10.0.0.1"), p1 = test_proxy("http://u:p@10.0.0.2:3128");
    const struct proxy *hops[] = { &p0, &p1 };
    struct socks_target t = test_name_target("git.example", 22);
    /* The proxy's response and the server's banner arrive together; so do CRs and LFs that look
     * like the end of the head inside the tunnel. */
    static const uint8_t tunnel[] = "\r\n\r\nSSH-2.0-x\r\n\r\n";
    struct script s = { .tunnel = tunnel, .tunnel_len = sizeof(tunnel) - 1 };
    script_add(&s, S4_GRANTED, sizeof(S4_GRANTED));
    static const char resp[] = "HTTP/1.1 200 OK\r\nVia: 1.1 proxy\r\nConnection: keep-alive\r\n\r\n";
    script_add(&s, resp, sizeof(resp) - 1);
    struct bytes want = { .n = 0 };
    PUT(&want, 0x04, 0x01, 0x0c, 0x38, 10, 0, 0, 2, 0);
    PUT_TEXT(&want, "CONNECT git.example:22 HTTP/1.1\r\nHost: git.example:22\r\nProxy-Authorization: Basic dTpw\r\n\r\n");
    for (size_t i = 0; i < sizeof(CHUNKS) / sizeof(CHUNKS[0]); i++) {
        struct handshake h;
        uint8_t sent[4096];
        start(&h, hops, 2, &t);
        size_t n = run_script(&h, &s, CHUNKS[i], sent, sizeof(sent));
        test_assert_bytes(sent, n, want.b, want.n);
    }
}

Test(handshake_chain, sixteen_hops_of_every_kind)
{
    static const char *const kinds[] = { "socks5", "socks4", "http", "socks4a", "socks5h" };
    struct proxy p[16];
    const struct proxy *hops[16];
    for (int i = 0; i < 16; i++) {
        char url[64];
        snprintf(url, sizeof(url), "%s://10.0.%d.1:%d", kinds[i % 5], i, 2000 + i);
        p[i] = test_proxy(url);
        hops[i] = &p[i];
    }
    struct script s = { .tunnel = (const uint8_t *)"TT", .tunnel_len = 2 };
    struct bytes want = { .n = 0 };
    struct socks_target t = test_target("10.9.9.9", 80);
    for (int i = 0; i < 16; i++) {
        uint8_t ip[4] = { 10, 0, (uint8_t)(i + 1), 1 };
        uint16_t port = (uint16_t)(2001 + i);
        if (i == 15) {
            memcpy(ip, (const uint8_t[]){ 10, 9, 9, 9 }, 4);
            port = 80;
        }
        char text[128];
        switch (p[i].kind) {
        case PROXY_SOCKS5:
            PUT(&want, 0x05, 0x01, 0x00);
            script_add(&s, S5_PICK_NONE, sizeof(S5_PICK_NONE));
            PUT(&want, 0x05, 0x01, 0x00, 0x01, ip[0], ip[1], ip[2], ip[3], (uint8_t)(port >> 8), (uint8_t)port);
            script_add(&s, S5_REPLY_V4, sizeof(S5_REPLY_V4));
            break;
        case PROXY_SOCKS4:
            PUT(&want, 0x04, 0x01, (uint8_t)(port >> 8), (uint8_t)port, ip[0], ip[1], ip[2], ip[3], 0);
            script_add(&s, S4_GRANTED, sizeof(S4_GRANTED));
            break;
        case PROXY_HTTP:
            snprintf(text, sizeof(text), "CONNECT %u.%u.%u.%u:%u HTTP/1.1\r\nHost: %u.%u.%u.%u:%u\r\n\r\n", ip[0], ip[1],
                     ip[2], ip[3], port, ip[0], ip[1], ip[2], ip[3], port);
            PUT_TEXT(&want, text);
            script_add(&s, HTTP_200, strlen(HTTP_200));
            break;
        }
    }
    for (size_t i = 0; i < sizeof(CHUNKS) / sizeof(CHUNKS[0]); i++) {
        struct handshake h;
        uint8_t sent[8192];
        start(&h, hops, 16, &t);
        size_t n = run_script(&h, &s, CHUNKS[i], sent, sizeof(sent));
        test_assert_bytes(sent, n, want.b, want.n);
        cr_assert_eq(h.hop, 15);
    }
}

/* ---- failures and blame ---- */

/* A 3-hop chain socks5 -> socks4 -> http to 10.1.2.3:80, driven up to hop `hop` waiting for its
 * request's reply. */
struct three {
    struct proxy p[3];
    const struct proxy *hops[3];
    struct handshake h;
};

static void three_to(struct three *x, size_t hop)
{
    x->p[0] = test_proxy("socks5://10.0.0.1:1080");
    x->p[1] = test_proxy("socks4://10.0.0.2:1081");
    x->p[2] = test_proxy("http://10.0.0.3:3128");
    for (int i = 0; i < 3; i++)
        x->hops[i] = &x->p[i];
    struct socks_target t = test_target("10.1.2.3", 80);
    start(&x->h, x->hops, 3, &t);
    EXPECT_SEND(&x->h, 0, 0x05, 0x01, 0x00);
    drive_feed_reply(&x->h, BYTES(0x05, 0x00), 2, 2);
    EXPECT_SEND(&x->h, 0, 0x05, 0x01, 0x00, 0x01, 10, 0, 0, 2, 0x04, 0x39);
    if (hop == 0)
        return;
    cr_assert_eq(drive_feed_reply(&x->h, S5_REPLY_V4, sizeof(S5_REPLY_V4), 10), HANDSHAKE_WRITE);
    EXPECT_SEND(&x->h, 1, 0x04, 0x01, 0x0c, 0x38, 10, 0, 0, 3, 0);
    if (hop == 1)
        return;
    cr_assert_eq(drive_feed_reply(&x->h, S4_GRANTED, sizeof(S4_GRANTED), 8), HANDSHAKE_WRITE);
    EXPECT_SEND_TEXT(&x->h, 2, "CONNECT 10.1.2.3:80 HTTP/1.1\r\nHost: 10.1.2.3:80\r\n\r\n");
}

Test(handshake_chain, hop0_cannot_reach_hop1_blames_hop1)
{
    static const struct { uint8_t code; int err; } codes[] = {
        { 5, ECONNREFUSED }, { 4, EHOSTUNREACH }, { 3, ENETUNREACH }, { 6, ETIMEDOUT }, { 1, ECONNREFUSED },
    };
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        struct three x;
        three_to(&x, 0);
        uint8_t reply[sizeof(S5_REPLY_V4)];
        memcpy(reply, S5_REPLY_V4, sizeof(reply));
        reply[1] = codes[i].code;
        cr_assert_eq(drive_feed_reply(&x.h, reply, sizeof(reply), 1), HANDSHAKE_FAILED);
        assert_failed(&x.h, codes[i].err, "request", 0, 1);
        cr_assert_str_not_empty(x.h.detail);
    }
}

Test(handshake_chain, hop1_cannot_reach_hop2_blames_hop2)
{
    struct three x;
    three_to(&x, 1);
    cr_assert_eq(drive_feed_reply(&x.h, BYTES(0x00, 91, 0, 0, 0, 0, 0, 0), 8, 3), HANDSHAKE_FAILED);
    assert_failed(&x.h, ECONNREFUSED, "request", 1, 2);
}

Test(handshake_chain, target_refused_blames_nobody)
{
    static const struct { const char *resp; int err; } cases[] = {
        { "HTTP/1.1 502 Bad Gateway\r\n\r\n", ECONNREFUSED },
        { "HTTP/1.1 504 Gateway Timeout\r\nX: y\r\n\r\n", ETIMEDOUT },
        { "HTTP/1.1 403 Forbidden\r\n\r\n", EACCES },
        { "HTTP/1.1 404 Not Found\r\n\r\n", EHOSTUNREACH },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct three x;
        three_to(&x, 2);
        cr_assert_eq(drive_feed_reply(&x.h, cases[i].resp, strlen(cases[i].resp), 1), HANDSHAKE_FAILED, "%s", cases[i].resp);
        assert_failed(&x.h, cases[i].err, "request", 2, -1);
        cr_assert_eq(strncmp(x.h.detail, cases[i].resp, 12), 0, "detail '%s'", x.h.detail);
    }
}

Test(handshake_chain, http_in_the_middle_refusing_blames_next)
{
    struct proxy p0 = test_proxy("http://10.0.0.1:3128"), p1 = test_proxy("socks5://10.0.0.2");
    const struct proxy *hops[] = { &p0, &p1 };
    struct socks_target t = test_target("10.1.2.3", 80);
    struct handshake h;
    start(&h, hops, 2, &t);
    EXPECT_SEND_TEXT(&h, 0, "CONNECT 10.0.0.2:1080 HTTP/1.1\r\nHost: 10.0.0.2:1080\r\n\r\n");
    static const char resp[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n";
    cr_assert_eq(drive_feed_reply(&h, resp, sizeof(resp) - 1, 4), HANDSHAKE_FAILED);
    assert_failed(&h, ECONNREFUSED, "request", 0, 1);
    cr_assert_str_eq(h.detail, "HTTP/1.1 503 Service Unavailable");
}

Test(handshake_chain, proxy_auth_required_blames_that_hop)
{
    static const char *const resps[] = {
        "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"x\"\r\n\r\n",
        "HTTP/1.1 401 Unauthorized\r\n\r\n",
    };
    for (size_t i = 0; i < 2; i++) {
        struct three x;
        three_to(&x, 2);
        cr_assert_eq(drive_feed_reply(&x.h, resps[i], strlen(resps[i]), 5), HANDSHAKE_FAILED);
        assert_failed(&x.h, EACCES, "request", 2, 2);
        cr_assert_eq(strncmp(x.h.detail, resps[i], strcspn(resps[i], "\r")), 0, "detail '%s'", x.h.detail);
    }
    /* in the middle of a chain too */
    struct proxy p0 = test_proxy("http://10.0.0.1:3128"), p1 = test_proxy("socks5://10.0.0.2");
    const struct proxy *hops[] = { &p0, &p1 };
    struct socks_target t = test_target("10.1.2.3", 80);
    struct handshake h;
    start(&h, hops, 2, &t);
    EXPECT_SEND_TEXT(&h, 0, "CONNECT 10.0.0.2:1080 HTTP/1.1\r\nHost: 10.0.0.2:1080\r\n\r\n");
    cr_assert_eq(drive_feed_reply(&h, resps[0], strlen(resps[0]), 64), HANDSHAKE_FAILED);
    assert_failed(&h, EACCES, "request", 0, 0);
}

Test(handshake_chain, socks4_identd_blames_that_hop)
{
    for (uint8_t code = 92; code <= 93; code++) {
        struct three x;
        three_to(&x, 1);
        cr_assert_eq(drive_feed_reply(&x.h, BYTES(0x00, code, 0, 0, 0, 0, 0, 0), 8, 8), HANDSHAKE_FAILED);
        assert_failed(&x.h, EACCES, "request", 1, 1);
        cr_assert_str_not_empty(x.h.detail);
    }
}

Test(handshake_chain, protocol_errors_blame_the_hop)
{
    /* hop 0 (SOCKS5) answers its method selection with a SOCKS4 version */
    struct three x;
    struct proxy p0 = test_proxy("socks5://10.0.0.1"), p1 = test_proxy("socks5://10.0.0.2");
    const struct proxy *hops[] = { &p0, &p1 };
    struct socks_target t = test_target("10.1.2.3", 80);
    struct handshake h;
    start(&h, hops, 2, &t);
    EXPECT_SEND(&h, 0, 0x05, 0x01, 0x00);
    cr_assert_eq(drive_feed_reply(&h, BYTES(0x04, 0x00), 2, 2), HANDSHAKE_FAILED);
    assert_failed(&h, EPROTO, "method selection", 0, 0);

    /* hop 0's reply is malformed */
    three_to(&x, 0);
    cr_assert_eq(drive_feed_reply(&x.h, BYTES(0x05, 0x00, 0x01, 0x01, 1), 5, 5), HANDSHAKE_FAILED);
    assert_failed(&x.h, EPROTO, "request", 0, 0);

    /* hop 1 (SOCKS4) answers with version 4: known from the first byte */
    three_to(&x, 1);
    cr_assert_eq(handshake_feed(&x.h, BYTES(0x04), 1), HANDSHAKE_FAILED);
    assert_failed(&x.h, EPROTO, "request", 1, 1);

    /* hop 1 answers with a code SOCKS4 does not have: its own protocol error, not a refusal */
    three_to(&x, 1);
    cr_assert_eq(drive_feed_reply(&x.h, BYTES(0x00, 0x00, 0, 0, 0, 0, 0, 0), 8, 1), HANDSHAKE_FAILED);
    assert_failed(&x.h, EPROTO, "request", 1, 1);
    three_to(&x, 1);
    cr_assert_eq(drive_feed_reply(&x.h, BYTES(0x00, 0xff, 0, 0, 0, 0, 0, 0), 8, 8), HANDSHAKE_FAILED);
    assert_failed(&x.h, EPROTO, "request", 1, 1);

    /* hop 2 (HTTP) speaks something else: known from the first byte */
    three_to(&x, 2);
    drive_feed_until_failed(&x.h, "SSH-2.0-OpenSSH\r\n", 17, 1);
    assert_failed(&x.h, EPROTO, "request", 2, 2);

    /* a bare LF in the head */
    three_to(&x, 2);
    drive_feed_until_failed(&x.h, "HTTP/1.1 200 OK\n\n", 17, 1);
    assert_failed(&x.h, EPROTO, "request", 2, 2);
}

Test(handshake_chain, http_head_too_long)
{
    struct three x;
    three_to(&x, 2);
    static char big[HTTP_HEADERS_MAX + 100];
    size_t n = (size_t)snprintf(big, sizeof(big), "HTTP/1.1 200 OK\r\n");
    while (n + 20 < sizeof(big))
        n += (size_t)snprintf(big + n, sizeof(big) - n, "X-Pad: 0123456789\r\n");
    drive_feed_until_failed(&x.h, big, n, 4096);
    assert_failed(&x.h, EPROTO, "request", 2, 2);
}

Test(handshake_chain, auth_failures_blame_the_hop)
{
    struct proxy p0 = test_proxy("socks5://10.0.0.1"), p1 = test_proxy("socks5://u:pw@10.0.0.2");
    const struct proxy *hops[] = { &p0, &p1 };
    struct socks_target t = test_target("10.1.2.3", 80);
    struct handshake h;
    start(&h, hops, 2, &t);
    EXPECT_SEND(&h, 0, 0x05, 0x01, 0x00);
    drive_feed_reply(&h, BYTES(0x05, 0x00), 2, 2);
    EXPECT_SEND(&h, 0, 0x05, 0x01, 0x00, 0x01, 10, 0, 0, 2, 0x04, 0x38);
    drive_feed_reply(&h, S5_REPLY_V4, sizeof(S5_REPLY_V4), 10);
    EXPECT_SEND(&h, 1, 0x05, 0x02, 0x00, 0x02);
    drive_feed_reply(&h, BYTES(0x05, 0x02), 2, 2);
    EXPECT_SEND(&h, 1, 0x01, 1, 'u', 2, 'p', 'w');
    cr_assert_eq(drive_feed_reply(&h, BYTES(0x01, 0x01), 2, 1), HANDSHAKE_FAILED);
    assert_failed(&h, EACCES, "authentication", 1, 1);

    /* hop 0 accepts no method we offer */
    start(&h, hops, 2, &t);
    EXPECT_SEND(&h, 0, 0x05, 0x01, 0x00);
    cr_assert_eq(drive_feed_reply(&h, BYTES(0x05, 0xff), 2, 2), HANDSHAKE_FAILED);
    assert_failed(&h, EACCES, "method selection", 0, 0);
}

Test(handshake_chain, timeouts)
{
    struct three x;
    /* hop 0 waits forever for hop 1: hop 1 is to blame */
    three_to(&x, 0);
    handshake_abort(&x.h, ETIMEDOUT);
    assert_failed(&x.h, ETIMEDOUT, "request", 0, 1);
    /* ...hop 1 (SOCKS4) for hop 2 */
    three_to(&x, 1);
    handshake_abort(&x.h, ETIMEDOUT);
    assert_failed(&x.h, ETIMEDOUT, "request", 1, 2);
    /* ...the last hop (HTTP) for the target: nobody */
    three_to(&x, 2);
    handshake_abort(&x.h, ETIMEDOUT);
    assert_failed(&x.h, ETIMEDOUT, "request", 2, -1);
    /* part of the reply in, the rest never comes */
    three_to(&x, 2);
    drive_feed_some(&x.h, "HTTP/1.1 200", 12);
    handshake_abort(&x.h, ETIMEDOUT);
    assert_failed(&x.h, ETIMEDOUT, "request", 2, -1);

    /* a SOCKS5 hop that never answers its method selection is itself dead */
    struct proxy p0 = test_proxy("socks5://10.0.0.1"), p1 = test_proxy("socks5://10.0.0.2");
    const struct proxy *hops[] = { &p0, &p1 };
    struct socks_target t = test_target("10.1.2.3", 80);
    struct handshake h;
    start(&h, hops, 2, &t);
    handshake_abort(&h, ETIMEDOUT);   /* not even sent */
    assert_failed(&h, ETIMEDOUT, "method selection", 0, 0);
    start(&h, hops, 2, &t);
    EXPECT_SEND(&h, 0, 0x05, 0x01, 0x00);
    drive_feed_reply(&h, BYTES(0x05, 0x00), 2, 2);
    EXPECT_SEND(&h, 0, 0x05, 0x01, 0x00, 0x01, 10, 0, 0, 2, 0x04, 0x38);
    drive_feed_reply(&h, S5_REPLY_V4, sizeof(S5_REPLY_V4), 10);
    EXPECT_SEND(&h, 1, 0x05, 0x01, 0x00);
    handshake_abort(&h, ETIMEDOUT);
    assert_failed(&h, ETIMEDOUT, "method selection", 1, 1);
}

Test(handshake_chain, other_aborts_and_eof_blame_the_hop)
{
    struct three x;
    three_to(&x, 0);
    handshake_eof(&x.h);
    assert_failed(&x.h, ECONNRESET, "request", 0, 0);
    three_to(&x, 1);
    handshake_abort(&x.h, ECANCELED);
    assert_failed(&x.h, ECANCELED, "request", 1, 1);
    three_to(&x, 2);
    drive_feed_some(&x.h, "HTTP/1.1 200 OK\r\n", 17);
    handshake_eof(&x.h);
    assert_failed(&x.h, ECONNRESET, "request", 2, 2);
}

Test(handshake_chain, blame_when_nothing_failed)
{
    struct three x;
    three_to(&x, 1);
    cr_assert_eq(handshake_blame(&x.h), -1);
    cr_assert_eq(handshake_error(&x.h), 0);
}

Test(handshake_chain, feeding_too_much_at_a_later_hop)
{
    struct three x;
    three_to(&x, 2);
    cr_assert_eq(handshake_wants(&x.h), 4);
    cr_assert_eq(handshake_feed(&x.h, (const uint8_t *)"HTTP/", 5), HANDSHAKE_FAILED);
    assert_failed(&x.h, EPROTO, "request", 2, 2);
    three_to(&x, 1);
    cr_assert_eq(handshake_feed(&x.h, BYTES(0, 90, 0, 0, 0, 0, 0, 0, 'x'), 9), HANDSHAKE_FAILED);
    cr_assert_eq(handshake_error(&x.h), EPROTO);
}

/* ---- targets a hop cannot carry, refused before any byte ---- */

static void expect_start_fails(const struct proxy *const *hops, size_t n, const struct socks_target *t, int err)
{
    struct handshake h;
    memset(&h, 0x5a, sizeof(h));
    cr_assert_eq(handshake_start_chain(&h, hops, n, t), -err);
    cr_assert_eq(handshake_status(&h), HANDSHAKE_FAILED);
    cr_assert_eq(handshake_error(&h), err);
    size_t len = 99;
    cr_assert_null(handshake_output(&h, &len), "bytes to send after a failed start");
    cr_assert_eq(len, 0);
    cr_assert_eq(handshake_wants(&h), 0);
    cr_assert(test_all_zero(h.out, sizeof(h.out)), "the checks left requests (and credentials) in the buffer");
}

Test(handshake_chain, targets_a_hop_cannot_carry)
{
    struct proxy s4 = test_proxy("socks4://id@10.0.0.1"), s4a = test_proxy("socks4a://id@10.0.0.1"), s5 = test_proxy("socks5://u:pw@10.0.0.2"),
                 http = test_proxy("http://u:pw@10.0.0.3:3128"), s5v6 = test_proxy("socks5://[2001:db8::5]:1080"),
                 named = test_proxy("socks5h://gw.example");
    struct socks_target v6 = test_target("2001:db8::1", 80), name = test_name_target("example.org", 80),
                        v4 = test_target("10.1.2.3", 80);
    /* IPv6 through SOCKS4, as the target or as the next hop */
    expect_start_fails((const struct proxy *[]){ &s4 }, 1, &v6, EAFNOSUPPORT);
    expect_start_fails((const struct proxy *[]){ &s4a }, 1, &v6, EAFNOSUPPORT);
    expect_start_fails((const struct proxy *[]){ &s5, &s4 }, 2, &v6, EAFNOSUPPORT);
    expect_start_fails((const struct proxy *[]){ &s4, &s5v6 }, 2, &v4, EAFNOSUPPORT);
    expect_start_fails((const struct proxy *[]){ &http, &s5, &s4a, &s5v6 }, 4, &v4, EAFNOSUPPORT);
    /* a name through SOCKS4 without 'a' */
    expect_start_fails((const struct proxy *[]){ &s4 }, 1, &name, EHOSTUNREACH);
    expect_start_fails((const struct proxy *[]){ &s5, &s4 }, 2, &name, EHOSTUNREACH);
    expect_start_fails((const struct proxy *[]){ &s4, &named }, 2, &v4, EHOSTUNREACH);
    expect_start_fails((const struct proxy *[]){ &http, &s4, &named, &s5 }, 4, &v4, EHOSTUNREACH);
    /* a name HTTP cannot put in a request line */
    struct socks_target bad = test_name_target("a b", 80);
    expect_start_fails((const struct proxy *[]){ &s5, &http }, 2, &bad, EINVAL);
    /* no hops, too many */
    const struct proxy *many[PROXY_CHAIN_MAX + 1];
    for (size_t i = 0; i < PROXY_CHAIN_MAX + 1; i++)
        many[i] = &s5;
    expect_start_fails(many, 0, &v4, EINVAL);
    expect_start_fails(many, PROXY_CHAIN_MAX + 1, &v4, EINVAL);
    /* and what is fine */
    struct handshake h;
    cr_assert_eq(handshake_start_chain(&h, (const struct proxy *[]){ &s4a, &named }, 2, &v6), 0);
    cr_assert_eq(handshake_start_chain(&h, (const struct proxy *[]){ &s4a }, 1, &name), 0);
    cr_assert_eq(handshake_start_chain(&h, (const struct proxy *[]){ &http, &s5v6, &s4 }, 3, &v4), 0);
    cr_assert_eq(handshake_start_chain(&h, many, PROXY_CHAIN_MAX, &v6), 0);
}

/* ---- credentials ---- */

Test(handshake_chain, later_hops_credentials_not_left_by_start)
{
    struct proxy p0 = test_proxy("socks5://10.0.0.1"), p1 = test_proxy("http://alice:VerySecret@10.0.0.2:3128"),
                 p2 = test_proxy("socks5://bob:AlsoSecret@10.0.0.3");
    const struct proxy *hops[] = { &p0, &p1, &p2 };
    struct socks_target t = test_target("10.1.2.3", 80);
    struct handshake h;
    start(&h, hops, 3, &t);
    size_t len;
    handshake_output(&h, &len);
    cr_assert_eq(len, 3);
    cr_assert(test_all_zero(h.out + 3, sizeof(h.out) - 3), "start left other hops' requests in the buffer");
    cr_assert_null(memmem(&h, sizeof(h), "YWxpY2U6VmVyeVNlY3JldA==", 24), "hop 1's Basic credentials");
    cr_assert_null(memmem(&h, sizeof(h), "AlsoSecret", 10));
}

Test(handshake_chain, credentials_wiped_once_sent)
{
    struct proxy p0 = test_proxy("socks5://u:TopSecretPw@10.0.0.1"), p1 = test_proxy("http://user:HttpSecret@10.0.0.2:3128");
    const struct proxy *hops[] = { &p0, &p1 };
    struct socks_target t = test_target("10.1.2.3", 80);
    struct handshake h;
    start(&h, hops, 2, &t);
    EXPECT_SEND(&h, 0, 0x05, 0x02, 0x00, 0x02);
    drive_feed_reply(&h, BYTES(0x05, 0x02), 2, 2);
    /* sent in two parts: the password stays until the last byte is out */
    size_t len;
    const uint8_t *out = handshake_output(&h, &len);
    cr_assert_not_null(memmem(out, len, "TopSecretPw", 11));
    handshake_sent(&h, 5);
    cr_assert_eq(handshake_status(&h), HANDSHAKE_WRITE);
    out = handshake_output(&h, &len);
    handshake_sent(&h, len);
    cr_assert_null(memmem(&h, sizeof(h), "TopSecretPw", 11), "the SOCKS5 password is left in the handshake");
    cr_assert(test_all_zero(h.out, sizeof(h.out)));
    drive_feed_reply(&h, BYTES(0x01, 0x00), 2, 2);
    handshake_output(&h, &len);
    handshake_sent(&h, len);
    drive_feed_reply(&h, S5_REPLY_V4, sizeof(S5_REPLY_V4), 10);
    /* hop 1's request carries base64("user:HttpSecret") */
    out = handshake_output(&h, &len);
    cr_assert_not_null(memmem(out, len, "dXNlcjpIdHRwU2VjcmV0", 20));
    handshake_sent(&h, len);
    cr_assert_null(memmem(&h, sizeof(h), "dXNlcjpIdHRwU2VjcmV0", 20), "the Basic credentials are left in the handshake");
    cr_assert(test_all_zero(h.out, sizeof(h.out)));
}

Test(handshake_chain, credentials_wiped_on_abort_before_sending)
{
    struct proxy p0 = test_proxy("socks5://10.0.0.1"), p1 = test_proxy("http://user:HttpSecret@10.0.0.2:3128");
    const struct proxy *hops[] = { &p0, &p1 };
    struct socks_target t = test_target("10.1.2.3", 80);
    struct handshake h;
    start(&h, hops, 2, &t);
    EXPECT_SEND(&h, 0, 0x05, 0x01, 0x00);
    drive_feed_reply(&h, BYTES(0x05, 0x00), 2, 2);
    EXPECT_SEND(&h, 0, 0x05, 0x01, 0x00, 0x01, 10, 0, 0, 2, 0x0c, 0x38);
    drive_feed_reply(&h, S5_REPLY_V4, sizeof(S5_REPLY_V4), 10);
    size_t len;
    handshake_output(&h, &len);
    handshake_sent(&h, 10);   /* part of it */
    handshake_abort(&h, ETIMEDOUT);
    assert_failed(&h, ETIMEDOUT, "request", 1, -1);
    cr_assert_null(memmem(&h, sizeof(h), "dXNlcjpIdHRwU2VjcmV0", 20));
}
