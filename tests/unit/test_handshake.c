/* Unit tests for core/handshake.c: the sans-I/O SOCKS5 client machine, driven as a driver would. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "handshake_driver.h"

/* ---- fixtures ---- */

static struct proxy proxy_noauth(void)
{
    struct proxy p;
    memset(&p, 0, sizeof(p));
    p.kind = PROXY_SOCKS5;
    strcpy(p.host, "127.0.0.1");
    p.port = 1080;
    return p;
}

static struct proxy proxy_userpass(const char *user, const char *pass)
{
    struct proxy p = proxy_noauth();
    p.has_auth = true;
    strcpy(p.user, user);
    strcpy(p.pass, pass);
    return p;
}

/* Replies a server may send to the request. */
static const uint8_t REPLY_V4[] = { 0x05, 0x00, 0x00, 0x01, 192, 168, 1, 1, 0x10, 0xe1 };   /* 192.168.1.1:4321 */
static const uint8_t REPLY_V6[] = { 0x05, 0x00, 0x00, 0x04,
                                    0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x07,
                                    0x00, 0x35 };                                             /* [fd00::7]:53 */
static const uint8_t REPLY_NAME[] = { 0x05, 0x00, 0x00, 0x03, 4, 'g', 'a', 't', 'e', 0x01, 0xbb }; /* gate:443 */

/* ---- step-by-step driving ---- */

/* Feeds data[0..n) in one call, asserting the machine wanted at least that much. */
static enum handshake_status feed(struct handshake *h, const uint8_t *data, size_t n)
{
    cr_assert_eq(handshake_status(h), HANDSHAKE_READ);
    cr_assert_geq(handshake_wants(h), n, "feeding %zu bytes but the machine wants %zu", n, handshake_wants(h));
    return handshake_feed(h, data, n);
}
#define FEED(h, ...) feed((h), BYTES(__VA_ARGS__), NBYTES(__VA_ARGS__))

/* Starts a CONNECT to 10.1.2.3:80 through p. */
static void start_connect(struct handshake *h, const struct proxy *p)
{
    struct socks_target t = test_target("10.1.2.3", 80);
    cr_assert_eq(handshake_start(h, p, &t), 0);
}

/* Starts a no-auth CONNECT to 10.1.2.3:80 and sends the method selection. */
static void start_noauth(struct handshake *h, const struct proxy *p)
{
    start_connect(h, p);
    EXPECT_SEND(h, 0, 0x05, 0x01, 0x00);
}

/* Starts a CONNECT to 10.1.2.3:80 offering user/pass and sends the method selection. */
static void start_userpass(struct handshake *h, const struct proxy *p)
{
    start_connect(h, p);
    EXPECT_SEND(h, 0, 0x05, 0x02, 0x00, 0x02);
}

/* Continues start_noauth through the method choice and the request, ready to read the reply. */
static void to_reply(struct handshake *h, const struct proxy *p)
{
    start_noauth(h, p);
    cr_assert_eq(FEED(h, 0x05, 0x00), HANDSHAKE_WRITE);
    EXPECT_SEND(h, 0, 0x05, 0x01, 0x00, 0x01, 10, 1, 2, 3, 0x00, 0x50);
    cr_assert_str_eq(handshake_step_name(h), "request");
}

/* ---- full exchanges ---- */

Test(handshake, noauth_exact_bytes)
{
    struct proxy p = proxy_noauth();
    struct handshake h;
    start_connect(&h, &p);
    cr_assert_eq(handshake_error(&h), 0);
    cr_assert_str_eq(handshake_step_name(&h), "method selection");
    EXPECT_SEND(&h, 0, 0x05, 0x01, 0x00);
    cr_assert_eq(handshake_wants(&h), 2);
    cr_assert_eq(FEED(&h, 0x05, 0x00), HANDSHAKE_WRITE);
    cr_assert_str_eq(handshake_step_name(&h), "request");
    EXPECT_SEND(&h, 0, 0x05, 0x01, 0x00, 0x01, 10, 1, 2, 3, 0x00, 0x50);
    cr_assert_eq(handshake_wants(&h), 5);
    cr_assert_eq(feed(&h, REPLY_V4, 5), HANDSHAKE_READ);
    cr_assert_eq(handshake_wants(&h), 5);
    cr_assert_eq(feed(&h, REPLY_V4 + 5, 5), HANDSHAKE_DONE);
    cr_assert_eq(handshake_status(&h), HANDSHAKE_DONE);
    cr_assert_eq(handshake_error(&h), 0);
    cr_assert_eq(handshake_wants(&h), 0);
    cr_assert_str_eq(handshake_step_name(&h), "done");
    size_t len = 99;
    cr_assert_null(handshake_output(&h, &len));
    cr_assert_eq(len, 0);
}

Test(handshake, userpass_exact_bytes)
{
    struct proxy p = proxy_userpass("alice", "s3cret");
    struct handshake h;
    start_userpass(&h, &p);
    cr_assert_eq(FEED(&h, 0x05, 0x02), HANDSHAKE_WRITE);
    cr_assert_str_eq(handshake_step_name(&h), "authentication");
    EXPECT_SEND(&h, 0, 0x01, 5, 'a', 'l', 'i', 'c', 'e', 6, 's', '3', 'c', 'r', 'e', 't');
    cr_assert_eq(handshake_wants(&h), 2);
    cr_assert_eq(FEED(&h, 0x01, 0x00), HANDSHAKE_WRITE);
    cr_assert_str_eq(handshake_step_name(&h), "request");
    EXPECT_SEND(&h, 0, 0x05, 0x01, 0x00, 0x01, 10, 1, 2, 3, 0x00, 0x50);
    cr_assert_eq(feed(&h, REPLY_V4, 5), HANDSHAKE_READ);
    cr_assert_eq(feed(&h, REPLY_V4 + 5, 5), HANDSHAKE_DONE);
    cr_assert_eq(handshake_error(&h), 0);
}

Test(handshake, userpass_empty_password)
{
    struct proxy p = proxy_userpass("bob", "");
    struct handshake h;
    start_userpass(&h, &p);
    cr_assert_eq(FEED(&h, 0x05, 0x02), HANDSHAKE_WRITE);
    EXPECT_SEND(&h, 0, 0x01, 3, 'b', 'o', 'b', 0);
    cr_assert_eq(FEED(&h, 0x01, 0x00), HANDSHAKE_WRITE);
}

Test(handshake, auth_reply_version5_tolerated)
{
    struct proxy p = proxy_userpass("u", "p");
    struct handshake h;
    start_userpass(&h, &p);
    cr_assert_eq(FEED(&h, 0x05, 0x02), HANDSHAKE_WRITE);
    EXPECT_SEND(&h, 0, 0x01, 1, 'u', 1, 'p');
    cr_assert_eq(FEED(&h, 0x05, 0x00), HANDSHAKE_WRITE);
    cr_assert_str_eq(handshake_step_name(&h), "request");
}

Test(handshake, password_wiped_after_sending)
{
    struct proxy p = proxy_userpass("alice", "VerySecretPw");
    struct handshake h;
    start_userpass(&h, &p);
    cr_assert_eq(FEED(&h, 0x05, 0x02), HANDSHAKE_WRITE);
    size_t len;
    handshake_output(&h, &len);
    handshake_sent(&h, len);
    cr_assert_null(memmem(h.out, sizeof(h.out), "VerySecretPw", 12), "the password is left in the output buffer");
}

Test(handshake, offered_userpass_server_picks_none)
{
    struct proxy p = proxy_userpass("alice", "pw");
    struct handshake h;
    start_userpass(&h, &p);
    cr_assert_eq(FEED(&h, 0x05, 0x00), HANDSHAKE_WRITE);
    cr_assert_str_eq(handshake_step_name(&h), "request");
    EXPECT_SEND(&h, 0, 0x05, 0x01, 0x00, 0x01, 10, 1, 2, 3, 0x00, 0x50);
}

/* Asserts a no-auth CONNECT to t sends exactly want[0..n) as its request. */
static void expect_request(const struct socks_target *t, const uint8_t *want, size_t n)
{
    struct proxy p = proxy_noauth();
    struct handshake h;
    cr_assert_eq(handshake_start(&h, &p, t), 0);
    EXPECT_SEND(&h, 0, 0x05, 0x01, 0x00);
    cr_assert_eq(FEED(&h, 0x05, 0x00), HANDSHAKE_WRITE);
    drive_expect_send(&h, 0, want, n);
}
#define EXPECT_REQUEST(t, ...) expect_request((t), BYTES(__VA_ARGS__), NBYTES(__VA_ARGS__))

Test(handshake, name_target_request_bytes)
{
    struct socks_target t = test_name_target("example.com", 443);
    EXPECT_REQUEST(&t, 0x05, 0x01, 0x00, 0x03, 11, 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'c', 'o', 'm', 0x01, 0xbb);
}

Test(handshake, ipv6_target_request_bytes)
{
    struct socks_target t = test_target("2001:db8::2", 8080);
    EXPECT_REQUEST(&t, 0x05, 0x01, 0x00, 0x04, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02,
                   0x1f, 0x90);
}

Test(handshake, name_of_255_accepted)
{
    struct proxy p = proxy_noauth();
    struct socks_target t = test_name_target("", 80);
    memset(t.name, 'a', 255);
    t.name[255] = '\0';
    struct handshake h;
    cr_assert_eq(handshake_start(&h, &p, &t), 0);
    cr_assert_eq(handshake_status(&h), HANDSHAKE_WRITE);
}

/* ---- bound address ---- */

static void finish_with_reply(struct handshake *h, const uint8_t *reply, size_t len)
{
    static struct proxy p;   /* must outlive h */
    p = proxy_noauth();
    to_reply(h, &p);
    size_t off = 0;
    while (handshake_status(h) == HANDSHAKE_READ) {
        size_t n = handshake_wants(h);
        cr_assert_leq(off + n, len, "wants bytes past the reply");
        handshake_feed(h, reply + off, n);
        off += n;
    }
    cr_assert_eq(off, len);
    cr_assert_eq(handshake_status(h), HANDSHAKE_DONE);
}

Test(handshake, bound_ipv4_captured)
{
    struct handshake h;
    finish_with_reply(&h, REPLY_V4, sizeof(REPLY_V4));
    cr_assert_eq(h.reply.code, 0);
    cr_assert_not(h.reply.bound.is_name);
    cr_assert_eq(h.reply.bound.addr.sa.sa_family, AF_INET);
    cr_assert_eq(h.reply.bound.addr.in4.sin_addr.s_addr, htonl(0xc0a80101));
    cr_assert_eq(h.reply.bound.port, 4321);
}

Test(handshake, bound_ipv6_captured)
{
    struct handshake h;
    finish_with_reply(&h, REPLY_V6, sizeof(REPLY_V6));
    cr_assert_eq(h.reply.bound.addr.sa.sa_family, AF_INET6);
    struct in6_addr want;
    inet_pton(AF_INET6, "fd00::7", &want);
    cr_assert_eq(memcmp(&h.reply.bound.addr.in6.sin6_addr, &want, 16), 0);
    cr_assert_eq(h.reply.bound.port, 53);
}

Test(handshake, bound_name_captured)
{
    struct handshake h;
    finish_with_reply(&h, REPLY_NAME, sizeof(REPLY_NAME));
    cr_assert(h.reply.bound.is_name);
    cr_assert_str_eq(h.reply.bound.name, "gate");
    cr_assert_eq(h.reply.bound.port, 443);
}

/* ---- a scripted server, read in chunks ---- */

/* The server's messages: reply i becomes readable once the client has sent its i-th message.
 * After the last reply the socket holds tunnel data, which the machine must never ask for. */
struct script {
    const uint8_t *reply[3];
    size_t len[3];
    size_t count;
};

struct run {
    enum handshake_status status;
    uint8_t sent[2 * SOCKS5_MSG_MAX];
    size_t sent_len;
    size_t consumed;          /* bytes of the server's replies fed to the machine */
    struct socks5_reply reply;
};

/* Drives h against s, writing and reading at most chunk bytes per call. When the script has no
 * more bytes for a read, the server hangs up (handshake_eof). */
static void run_script(struct handshake *h, const struct script *s, size_t chunk, struct run *r)
{
    memset(r, 0, sizeof(*r));
    size_t msgs_sent = 0, msg = 0, off = 0;   /* reply being read, offset in it */
    for (int guard = 0; guard < 10000; guard++) {
        enum handshake_status st = handshake_status(h);
        if (st == HANDSHAKE_WRITE) {
            size_t len = 0;
            const uint8_t *out = handshake_output(h, &len);
            cr_assert(out && len > 0);
            size_t n = len < chunk ? len : chunk;
            cr_assert_leq(r->sent_len + n, sizeof(r->sent));
            memcpy(r->sent + r->sent_len, out, n);
            r->sent_len += n;
            handshake_sent(h, n);
            if (handshake_status(h) != HANDSHAKE_WRITE)
                msgs_sent++;
            continue;
        }
        if (st != HANDSHAKE_READ)
            break;
        size_t wants = handshake_wants(h);
        cr_assert_gt(wants, 0, "READ but wants nothing");
        cr_assert_geq(msgs_sent, 1);
        if (msg < msgs_sent - 1) {   /* the client moved on to its next message */
            msg = msgs_sent - 1;
            off = 0;
        }
        if (msg >= s->count || off == s->len[msg]) {
            handshake_eof(h);
            continue;
        }
        size_t left = s->len[msg] - off;
        cr_assert_leq(wants, left, "reply %zu: wants %zu bytes but only %zu remain in the reply", msg, wants, left);
        size_t n = wants < chunk ? wants : chunk;
        handshake_feed(h, s->reply[msg] + off, n);
        off += n;
        r->consumed += n;
    }
    r->status = handshake_status(h);
    r->reply = h->reply;
}

static size_t expected_output(uint8_t *buf, const struct proxy *p, const struct socks_target *t, bool server_picks_auth)
{
    size_t n = 0;
    n += (size_t)socks5_methods_encode(buf + n, SOCKS5_MSG_MAX, p->has_auth);
    if (server_picks_auth)
        n += (size_t)socks5_userpass_encode(buf + n, SOCKS5_MSG_MAX, p->user, p->pass);
    n += (size_t)socks5_request_encode(buf + n, SOCKS5_MSG_MAX, SOCKS5_CMD_CONNECT, t);
    return n;
}

static void check_chunked(bool auth, const uint8_t *reply, size_t reply_len, const struct socks_target *t)
{
    static const size_t chunks[] = { 1, 2, 3, 4, 5, 7, 11, SIZE_MAX };
    struct proxy p = auth ? proxy_userpass("user", "password") : proxy_noauth();
    static const uint8_t pick_none[] = { 0x05, 0x00 }, pick_auth[] = { 0x05, 0x02 }, auth_ok[] = { 0x01, 0x00 };
    struct script s = { .count = 0 };
    s.reply[s.count] = auth ? pick_auth : pick_none;
    s.len[s.count++] = 2;
    if (auth) {
        s.reply[s.count] = auth_ok;
        s.len[s.count++] = 2;
    }
    s.reply[s.count] = reply;
    s.len[s.count++] = reply_len;
    size_t total = 2 + (auth ? 2 : 0) + reply_len;

    uint8_t want_out[3 * SOCKS5_MSG_MAX];
    size_t want_len = expected_output(want_out, &p, t, auth);
    struct run first;
    for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        struct handshake h;
        struct run r;
        cr_assert_eq(handshake_start(&h, &p, t), 0);
        run_script(&h, &s, chunks[i], &r);
        cr_assert_eq(r.status, HANDSHAKE_DONE, "chunk %zu: status %d error %d in %s", chunks[i], r.status,
                     handshake_error(&h), handshake_step_name(&h));
        cr_assert_eq(r.consumed, total, "chunk %zu: consumed %zu of %zu", chunks[i], r.consumed, total);
        test_assert_bytes(r.sent, r.sent_len, want_out, want_len);
        if (i == 0)
            first = r;
        else
            cr_assert_eq(memcmp(&first.reply, &r.reply, sizeof(r.reply)), 0, "chunk %zu decodes differently", chunks[i]);
    }
}

Test(handshake, chunked_noauth_every_reply_type)
{
    struct socks_target v4 = test_target("10.1.2.3", 80), name = test_name_target("example.org", 80);
    check_chunked(false, REPLY_V4, sizeof(REPLY_V4), &v4);
    check_chunked(false, REPLY_V6, sizeof(REPLY_V6), &v4);
    check_chunked(false, REPLY_NAME, sizeof(REPLY_NAME), &name);
}

Test(handshake, chunked_userpass_every_reply_type)
{
    struct socks_target v6 = test_target("2001:db8::1", 22);
    check_chunked(true, REPLY_V4, sizeof(REPLY_V4), &v6);
    check_chunked(true, REPLY_V6, sizeof(REPLY_V6), &v6);
    check_chunked(true, REPLY_NAME, sizeof(REPLY_NAME), &v6);
}

Test(handshake, chunked_domain_reply_lengths_0_to_255)
{
    struct socks_target t = test_target("10.1.2.3", 80);
    for (unsigned n = 0; n <= 255; n += (n < 8 || n > 250) ? 1 : 31) {
        uint8_t reply[3 + 1 + 1 + 255 + 2] = { 0x05, 0x00, 0x00, 0x03, (uint8_t)n };
        memset(reply + 5, 'h', n);
        reply[5 + n] = 0x12;
        reply[6 + n] = 0x34;
        check_chunked(n % 2 == 1, reply, 7 + n, &t);
    }
}

/* The driver's greedy read: everything the socket has, up to wants(); tunnel data stays put. */
Test(handshake, tunnel_bytes_after_reply_stay_unread)
{
    struct proxy p = proxy_noauth();
    struct handshake h;
    to_reply(&h, &p);
    uint8_t sock[sizeof(REPLY_NAME) + 600];
    memcpy(sock, REPLY_NAME, sizeof(REPLY_NAME));
    memset(sock + sizeof(REPLY_NAME), 'T', 600);   /* e.g. a server banner sent at once */
    size_t off = 0;
    while (handshake_status(&h) == HANDSHAKE_READ) {
        size_t n = handshake_wants(&h);
        handshake_feed(&h, sock + off, n);
        off += n;
    }
    cr_assert_eq(handshake_status(&h), HANDSHAKE_DONE);
    cr_assert_eq(off, sizeof(REPLY_NAME), "consumed %zu bytes, the reply has %zu", off, sizeof(REPLY_NAME));
}

Test(handshake, partial_sends)
{
    struct proxy p = proxy_noauth();
    struct handshake h;
    start_connect(&h, &p);
    size_t len;
    const uint8_t *out = handshake_output(&h, &len);
    cr_assert_eq(len, 3);
    cr_assert_eq(out[0], 0x05);
    handshake_sent(&h, 1);
    cr_assert_eq(handshake_status(&h), HANDSHAKE_WRITE);
    out = handshake_output(&h, &len);
    test_assert_bytes(out, len, BYTES(0x01, 0x00), 2);
    handshake_sent(&h, 0);
    out = handshake_output(&h, &len);
    cr_assert_eq(len, 2);
    handshake_sent(&h, 100);   /* more than pending: clamped */
    cr_assert_eq(handshake_status(&h), HANDSHAKE_READ);
    cr_assert_null(handshake_output(&h, &len));
    cr_assert_eq(len, 0);
    cr_assert_eq(handshake_wants(&h), 2);
}

Test(handshake, feed_nothing_is_harmless)
{
    struct proxy p = proxy_noauth();
    struct handshake h;
    start_noauth(&h, &p);
    uint8_t none[1] = { 0x05 };
    cr_assert_eq(handshake_feed(&h, none, 0), HANDSHAKE_READ);
    cr_assert_eq(handshake_wants(&h), 2);
}

Test(handshake, start_resets_a_used_struct)
{
    struct proxy p = proxy_noauth();
    struct handshake h;
    to_reply(&h, &p);
    handshake_abort(&h, ETIMEDOUT);
    start_noauth(&h, &p);
    cr_assert_eq(handshake_error(&h), 0);
    cr_assert_eq(handshake_wants(&h), 2);
}

/* ---- failures ---- */

/* Starts through p (offering user/pass if p has it), answers the method selection with ver, method,
 * and asserts the handshake fails there with err. */
static void check_method_reply_fails(const struct proxy *p, uint8_t ver, uint8_t method, int err)
{
    struct handshake h;
    if (p->has_auth)
        start_userpass(&h, p);
    else
        start_noauth(&h, p);
    cr_assert_eq(FEED(&h, ver, method), HANDSHAKE_FAILED);
    drive_assert_failed(&h, err, "method selection", 0);
}

Test(handshake, no_acceptable_method_eacces)
{
    struct proxy p = proxy_noauth();
    check_method_reply_fails(&p, 0x05, 0xff, EACCES);
}

Test(handshake, no_acceptable_method_with_auth_eacces)
{
    struct proxy p = proxy_userpass("u", "p");
    check_method_reply_fails(&p, 0x05, 0xff, EACCES);
}

Test(handshake, server_picks_unoffered_userpass_eproto)
{
    struct proxy p = proxy_noauth();
    check_method_reply_fails(&p, 0x05, 0x02, EPROTO);
}

Test(handshake, server_picks_gssapi_eproto)
{
    struct proxy p = proxy_userpass("u", "p");
    check_method_reply_fails(&p, 0x05, 0x01, EPROTO);
}

Test(handshake, method_reply_bad_version_eproto)
{
    struct proxy p = proxy_noauth();
    check_method_reply_fails(&p, 0x04, 0x00, EPROTO);
}

/* Starts a user/pass CONNECT for u:pw and sends the credentials, ready to read their status. */
static void to_auth_reply(struct handshake *h, const struct proxy *p)
{
    start_userpass(h, p);
    cr_assert_eq(FEED(h, 0x05, 0x02), HANDSHAKE_WRITE);
    EXPECT_SEND(h, 0, 0x01, 1, 'u', 2, 'p', 'w');
}

Test(handshake, auth_rejected_eacces)
{
    struct proxy p = proxy_userpass("u", "pw");
    struct handshake h;
    to_auth_reply(&h, &p);
    cr_assert_eq(FEED(&h, 0x01, 0x01), HANDSHAKE_FAILED);
    drive_assert_failed(&h, EACCES, "authentication", 0);
}

Test(handshake, auth_reply_bad_version_eproto)
{
    struct proxy p = proxy_userpass("u", "pw");
    struct handshake h;
    to_auth_reply(&h, &p);
    cr_assert_eq(FEED(&h, 0x02, 0x00), HANDSHAKE_FAILED);
    drive_assert_failed(&h, EPROTO, "authentication", 0);
}

Test(handshake, every_reply_code_maps_to_errno)
{
    static const struct { uint8_t code; int err; } map[] = {
        { 1, ECONNREFUSED }, { 2, EACCES }, { 3, ENETUNREACH }, { 4, EHOSTUNREACH }, { 5, ECONNREFUSED },
        { 6, ETIMEDOUT }, { 7, EOPNOTSUPP }, { 8, EAFNOSUPPORT }, { 9, ECONNREFUSED }, { 0xff, ECONNREFUSED },
    };
    struct proxy p = proxy_noauth();
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        struct handshake h;
        to_reply(&h, &p);
        uint8_t reply[sizeof(REPLY_V4)];
        memcpy(reply, REPLY_V4, sizeof(reply));
        reply[1] = map[i].code;
        cr_assert_eq(feed(&h, reply, 5), HANDSHAKE_READ, "code %u", map[i].code);
        cr_assert_eq(feed(&h, reply + 5, 5), HANDSHAKE_FAILED, "code %u", map[i].code);
        cr_assert_eq(handshake_error(&h), map[i].err, "code %u gave %d", map[i].code, handshake_error(&h));
        drive_assert_failed(&h, map[i].err, "request", 0);
        cr_assert_eq(h.reply.code, map[i].code);
    }
}

Test(handshake, malformed_reply_eproto)
{
    static const uint8_t bad[][5] = {
        { 0x04, 0x00, 0x00, 0x01, 1 },   /* version */
        { 0x00, 0x00, 0x00, 0x01, 1 },   /* version */
        { 0x05, 0x00, 0x01, 0x01, 1 },   /* RSV */
        { 0x05, 0x00, 0x00, 0x02, 1 },   /* ATYP */
        { 0x05, 0x00, 0x00, 0x00, 1 },   /* ATYP */
        { 0x05, 0x00, 0x00, 0xff, 1 },   /* ATYP */
    };
    struct proxy p = proxy_noauth();
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct handshake h;
        to_reply(&h, &p);
        cr_assert_eq(feed(&h, bad[i], 5), HANDSHAKE_FAILED, "case %zu", i);
        drive_assert_failed(&h, EPROTO, "request", 0);
    }
}

Test(handshake, malformed_reply_byte_by_byte_eproto)
{
    struct proxy p = proxy_noauth();
    struct handshake h;
    to_reply(&h, &p);
    cr_assert_eq(FEED(&h, 0x05), HANDSHAKE_READ);
    cr_assert_eq(FEED(&h, 0x00), HANDSHAKE_READ);
    cr_assert_eq(FEED(&h, 0x00), HANDSHAKE_READ);
    cr_assert_eq(FEED(&h, 0x07), HANDSHAKE_READ);
    cr_assert_eq(FEED(&h, 0x00), HANDSHAKE_FAILED);
    drive_assert_failed(&h, EPROTO, "request", 0);
}

/* EOF at every point of a userpass exchange. */
Test(handshake, eof_at_each_step_econnreset)
{
    static const struct { int stop; const char *step; } points[] = {
        { 0, "method selection" },   /* nothing sent yet */
        { 1, "method selection" },   /* waiting for the method */
        { 2, "method selection" },   /* half the method reply */
        { 3, "authentication" },     /* auth to send */
        { 4, "authentication" },     /* waiting for the status */
        { 5, "authentication" },     /* half the status */
        { 6, "request" },            /* request to send */
        { 7, "request" },            /* waiting for the reply */
        { 8, "request" },            /* 3 bytes of the reply */
        { 9, "request" },            /* 5 bytes of the reply */
        { 10, "request" },           /* 9 bytes of the reply */
    };
    struct proxy p = proxy_userpass("u", "pw");
    for (size_t i = 0; i < sizeof(points) / sizeof(points[0]); i++) {
        struct handshake h;
        size_t len;
        start_connect(&h, &p);
        int stage = 0;
        for (; stage < points[i].stop; stage++) {
            switch (stage) {
            case 0: handshake_output(&h, &len); handshake_sent(&h, len); break;
            case 1: FEED(&h, 0x05); break;
            case 2: FEED(&h, 0x02); break;
            case 3: handshake_output(&h, &len); handshake_sent(&h, len); break;
            case 4: FEED(&h, 0x01); break;
            case 5: FEED(&h, 0x00); break;
            case 6: handshake_output(&h, &len); handshake_sent(&h, len); break;
            case 7: feed(&h, REPLY_V4, 3); break;
            case 8: feed(&h, REPLY_V4 + 3, 2); break;
            case 9: feed(&h, REPLY_V4 + 5, 4); break;
            }
        }
        cr_assert_neq(handshake_status(&h), HANDSHAKE_FAILED, "point %zu", i);
        handshake_eof(&h);
        drive_assert_failed(&h, ECONNRESET, points[i].step, 0);
    }
}

Test(handshake, eof_after_done_changes_nothing)
{
    struct handshake h;
    finish_with_reply(&h, REPLY_V4, sizeof(REPLY_V4));
    handshake_eof(&h);
    cr_assert_eq(handshake_status(&h), HANDSHAKE_DONE);
    cr_assert_eq(handshake_error(&h), 0);
    cr_assert_str_eq(handshake_step_name(&h), "done");
}

Test(handshake, eof_after_failure_keeps_first_error)
{
    struct proxy p = proxy_noauth();
    struct handshake h;
    start_noauth(&h, &p);
    FEED(&h, 0x05, 0xff);
    handshake_eof(&h);
    drive_assert_failed(&h, EACCES, "method selection", 0);
}

Test(handshake, abort_gives_errno)
{
    struct proxy p = proxy_noauth();
    struct handshake h;
    start_noauth(&h, &p);
    handshake_abort(&h, ETIMEDOUT);
    drive_assert_failed(&h, ETIMEDOUT, "method selection", 0);

    to_reply(&h, &p);
    FEED(&h, 0x05, 0x00);
    handshake_abort(&h, ECANCELED);
    drive_assert_failed(&h, ECANCELED, "request", 0);

    start_connect(&h, &p);   /* still WRITE */
    handshake_abort(&h, EINTR);
    drive_assert_failed(&h, EINTR, "method selection", 0);
}

Test(handshake, abort_after_done_or_failed_changes_nothing)
{
    struct handshake h;
    finish_with_reply(&h, REPLY_V6, sizeof(REPLY_V6));
    handshake_abort(&h, ETIMEDOUT);
    cr_assert_eq(handshake_status(&h), HANDSHAKE_DONE);
    cr_assert_eq(handshake_error(&h), 0);

    struct proxy p = proxy_noauth();
    start_noauth(&h, &p);
    handshake_abort(&h, ETIMEDOUT);
    handshake_abort(&h, ECONNRESET);
    drive_assert_failed(&h, ETIMEDOUT, "method selection", 0);
}

Test(handshake, feeding_more_than_wants_eproto)
{
    struct proxy p = proxy_noauth();
    struct handshake h;
    start_noauth(&h, &p);
    cr_assert_eq(handshake_feed(&h, BYTES(0x05, 0x00, 0x05), 3), HANDSHAKE_FAILED);
    drive_assert_failed(&h, EPROTO, "method selection", 0);

    start_noauth(&h, &p);
    cr_assert_eq(handshake_feed(&h, BYTES(0x05), 1), HANDSHAKE_READ);
    cr_assert_eq(handshake_feed(&h, BYTES(0x00, 0x05), 2), HANDSHAKE_FAILED);
    drive_assert_failed(&h, EPROTO, "method selection", 0);

    to_reply(&h, &p);
    cr_assert_eq(handshake_feed(&h, REPLY_V4, 6), HANDSHAKE_FAILED);
    drive_assert_failed(&h, EPROTO, "request", 0);

    to_reply(&h, &p);
    cr_assert_eq(feed(&h, REPLY_V4, 5), HANDSHAKE_READ);
    cr_assert_eq(handshake_feed(&h, REPLY_V4 + 5, 6), HANDSHAKE_FAILED);
    drive_assert_failed(&h, EPROTO, "request", 0);
}

/* While the machine is writing it wants 0 bytes, so any byte fed then is one too many. */
Test(handshake, feeding_while_writing_eproto)
{
    struct proxy p = proxy_noauth();
    struct handshake h;
    start_connect(&h, &p);
    cr_assert_eq(handshake_wants(&h), 0);
    cr_assert_eq(handshake_feed(&h, BYTES(0x05), 1), HANDSHAKE_FAILED,
                 "a byte fed while wants() == 0 was silently dropped instead of failing with EPROTO");
    drive_assert_failed(&h, EPROTO, "method selection", 0);
}

Test(handshake, feeding_after_done_is_ignored)
{
    struct handshake h;
    finish_with_reply(&h, REPLY_V4, sizeof(REPLY_V4));
    cr_assert_eq(handshake_wants(&h), 0);
    struct socks5_reply before = h.reply;
    cr_assert_eq(handshake_feed(&h, BYTES('x'), 1), HANDSHAKE_DONE);
    cr_assert_eq(memcmp(&before, &h.reply, sizeof(before)), 0);
}

static void check_bad_target(const struct socks_target *t)
{
    struct proxy p = proxy_noauth();
    struct handshake h;
    cr_assert_eq(handshake_start(&h, &p, t), -EINVAL);
    drive_assert_failed(&h, EINVAL, "request", 0);
    cr_assert_eq(handshake_feed(&h, BYTES(0x05, 0x00), 2), HANDSHAKE_FAILED);
    drive_assert_failed(&h, EINVAL, "request", 0);
}

Test(handshake, name_of_256_einval)
{
    struct socks_target t = test_name_target("", 80);
    memset(t.name, 'a', sizeof(t.name));   /* 256 characters, no room for a NUL */
    check_bad_target(&t);
}

Test(handshake, empty_name_einval)
{
    struct socks_target t = test_name_target("", 80);
    check_bad_target(&t);
}

Test(handshake, bad_family_einval)
{
    struct socks_target t;
    memset(&t, 0, sizeof(t));
    t.addr.sa.sa_family = AF_UNIX;
    check_bad_target(&t);
}

Test(handshake, step_names)
{
    struct proxy p = proxy_userpass("u", "pw");
    struct handshake h;
    to_auth_reply(&h, &p);
    cr_assert_str_eq(handshake_step_name(&h), "authentication");
    FEED(&h, 0x01, 0x00);
    cr_assert_str_eq(handshake_step_name(&h), "request");
    handshake_abort(&h, ETIMEDOUT);
    cr_assert_str_eq(handshake_step_name(&h), "request", "a failed handshake names the step it failed in");
}

/* ---- socks5_pipelining: greeting, credentials and request in one write ---- */

/* Feeds reply as the machine asks for it (it learns the length on the way); it must end DONE. */
static void feed_whole_reply(struct handshake *h, const uint8_t *reply, size_t len)
{
    size_t off = 0;
    while (handshake_status(h) == HANDSHAKE_READ && off < len) {
        size_t n = handshake_wants(h);
        cr_assert_leq(off + n, len, "wants bytes past the reply");
        handshake_feed(h, reply + off, n);
        off += n;
    }
    cr_assert_eq(off, len);
    cr_assert_eq(handshake_status(h), HANDSHAKE_DONE);
}

Test(handshake, pipelined_noauth_sends_everything_at_once)
{
    struct proxy p = proxy_noauth();
    p.pipeline = true;
    struct handshake h;
    struct socks_target t = test_target("10.1.2.3", 80);
    cr_assert_eq(handshake_start(&h, &p, &t), 0);
    EXPECT_SEND(&h, 0, 0x05, 0x01, 0x00, 0x05, 0x01, 0x00, 0x01, 10, 1, 2, 3, 0x00, 80);
    cr_assert_eq(handshake_wants(&h), 2);
    cr_assert_eq(FEED(&h, 0x05, 0x00), HANDSHAKE_READ, "nothing more to send: the request went already");
    cr_assert_str_eq(handshake_step_name(&h), "request");
    feed_whole_reply(&h, REPLY_V4, sizeof(REPLY_V4));
}

Test(handshake, pipelined_userpass_offers_only_userpass)
{
    struct proxy p = proxy_userpass("u", "pw");
    p.pipeline = true;
    struct handshake h;
    struct socks_target t = test_target("10.1.2.3", 80);
    cr_assert_eq(handshake_start(&h, &p, &t), 0);
    EXPECT_SEND(&h, 0, 0x05, 0x01, 0x02, 0x01, 1, 'u', 2, 'p', 'w', 0x05, 0x01, 0x00, 0x01, 10, 1, 2, 3, 0x00, 80);
    cr_assert_eq(FEED(&h, 0x05, 0x02), HANDSHAKE_READ);
    cr_assert_str_eq(handshake_step_name(&h), "authentication");
    cr_assert_eq(handshake_wants(&h), 2);
    cr_assert_eq(FEED(&h, 0x01, 0x00), HANDSHAKE_READ);
    cr_assert_eq(handshake_status(&h), HANDSHAKE_READ, "no second write");
    feed_whole_reply(&h, REPLY_V4, sizeof(REPLY_V4));
}

Test(handshake, pipelined_unexpected_method_fails)
{
    struct proxy p = proxy_noauth();
    p.pipeline = true;
    struct handshake h;
    struct socks_target t = test_target("10.1.2.3", 80);
    handshake_start(&h, &p, &t);
    size_t len;
    handshake_output(&h, &len);
    handshake_sent(&h, len);
    FEED(&h, 0x05, 0x02);
    drive_assert_failed(&h, EPROTO, "method selection", 0);
    handshake_start(&h, &p, &t);
    handshake_output(&h, &len);
    handshake_sent(&h, len);
    FEED(&h, 0x05, 0xff);
    drive_assert_failed(&h, EACCES, "method selection", 0);
}

Test(handshake, pipelined_wrong_password_fails)
{
    struct proxy p = proxy_userpass("u", "bad");
    p.pipeline = true;
    struct handshake h;
    struct socks_target t = test_target("10.1.2.3", 80);
    handshake_start(&h, &p, &t);
    size_t len;
    handshake_output(&h, &len);
    handshake_sent(&h, len);
    FEED(&h, 0x05, 0x02);
    FEED(&h, 0x01, 0x01);
    drive_assert_failed(&h, EACCES, "authentication", 0);
}
