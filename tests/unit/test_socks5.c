/* Unit tests for core/socks5.c: the RFC 1928 / RFC 1929 codecs. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/un.h>

#include "socks5.h"
#include "helpers.h"

/* Asserts got[0..got_len) is exactly the listed bytes. */
#define ASSERT_BYTES(got, got_len, ...) test_assert_bytes((got), (size_t)(got_len), BYTES(__VA_ARGS__), NBYTES(__VA_ARGS__))

/* A name target of n copies of c (n may be 256: the name then fills the array with no NUL). */
static struct socks_target target_name_n(char c, size_t n, uint16_t port)
{
    struct socks_target t;
    memset(&t, 0, sizeof(t));
    t.is_name = true;
    cr_assert_leq(n, sizeof(t.name));
    memset(t.name, c, n);
    t.port = port;
    return t;
}

/* ---- method selection ---- */

Test(socks5_methods, encode_no_auth)
{
    uint8_t buf[16];
    memset(buf, 0xee, sizeof(buf));
    int n = socks5_methods_encode(buf, sizeof(buf), false);
    ASSERT_BYTES(buf, n, 0x05, 0x01, 0x00);
    cr_assert_eq(buf[3], 0xee, "wrote past the message");
}

Test(socks5_methods, encode_with_userpass)
{
    uint8_t buf[16];
    int n = socks5_methods_encode(buf, sizeof(buf), true);
    ASSERT_BYTES(buf, n, 0x05, 0x02, 0x00, 0x02);
}

Test(socks5_methods, encode_exact_size_fits)
{
    uint8_t buf3[3], buf4[4];
    cr_assert_eq(socks5_methods_encode(buf3, sizeof(buf3), false), 3);
    cr_assert_eq(socks5_methods_encode(buf4, sizeof(buf4), true), 4);
}

Test(socks5_methods, encode_enospc)
{
    uint8_t buf[4];
    memset(buf, 0xee, sizeof(buf));
    cr_assert_eq(socks5_methods_encode(buf, 0, false), -ENOSPC);
    cr_assert_eq(socks5_methods_encode(buf, 2, false), -ENOSPC);
    cr_assert_eq(socks5_methods_encode(buf, 3, true), -ENOSPC);
    cr_assert_eq(socks5_methods_encode(buf, 0, true), -ENOSPC);
    for (size_t i = 0; i < sizeof(buf); i++)
        cr_assert_eq(buf[i], 0xee, "byte %zu written on ENOSPC", i);
}

Test(socks5_methods, decode_short)
{
    uint8_t method = 0x77;
    cr_assert_eq(socks5_method_decode(BYTES(0x05), 0, &method), 0);
    cr_assert_eq(socks5_method_decode(BYTES(0x05), 1, &method), 0);
    cr_assert_eq(method, 0x77, "method set on a short message");
}

Test(socks5_methods, decode_wrong_version)
{
    uint8_t method;
    cr_assert_eq(socks5_method_decode(BYTES(0x04, 0x00), 2, &method), -EPROTO);
    cr_assert_eq(socks5_method_decode(BYTES(0x00, 0x00), 2, &method), -EPROTO);
    cr_assert_eq(socks5_method_decode(BYTES(0x01, 0x02), 2, &method), -EPROTO);
}

Test(socks5_methods, decode_each_method)
{
    static const uint8_t methods[] = { SOCKS5_METHOD_NONE, 0x01 /* GSSAPI */, SOCKS5_METHOD_USERPASS, 0x80,
                                       SOCKS5_METHOD_UNACCEPTABLE };
    for (size_t i = 0; i < sizeof(methods); i++) {
        uint8_t method = 0x77;
        uint8_t msg[2] = { 0x05, methods[i] };
        cr_assert_eq(socks5_method_decode(msg, 2, &method), 2);
        cr_assert_eq(method, methods[i]);
    }
}

Test(socks5_methods, decode_uses_two_bytes_only)
{
    uint8_t method;
    cr_assert_eq(socks5_method_decode(BYTES(0x05, 0x00, 0x05, 0x01), 4, &method), 2);
    cr_assert_eq(method, SOCKS5_METHOD_NONE);
}

/* ---- username/password (RFC 1929) ---- */

Test(socks5_userpass, encode)
{
    uint8_t buf[64];
    int n = socks5_userpass_encode(buf, sizeof(buf), "user", "pass");
    ASSERT_BYTES(buf, n, 0x01, 0x04, 'u', 's', 'e', 'r', 0x04, 'p', 'a', 's', 's');
}

Test(socks5_userpass, encode_empty_user_einval)
{
    uint8_t buf[64];
    cr_assert_eq(socks5_userpass_encode(buf, sizeof(buf), "", "pass"), -EINVAL);
    cr_assert_eq(socks5_userpass_encode(buf, sizeof(buf), "", ""), -EINVAL);
}

/* A URL like socks5://user@host has an empty password; it goes out as PLEN 0 (as curl does). */
Test(socks5_userpass, encode_empty_password)
{
    uint8_t buf[64];
    int n = socks5_userpass_encode(buf, sizeof(buf), "u", "");
    ASSERT_BYTES(buf, n, 0x01, 0x01, 'u', 0x00);
}

Test(socks5_userpass, encode_255_byte_limits)
{
    char u255[256], p255[256];
    memset(u255, 'u', 255);
    u255[255] = '\0';
    memset(p255, 'p', 255);
    p255[255] = '\0';
    uint8_t buf[SOCKS5_MSG_MAX];
    int n = socks5_userpass_encode(buf, sizeof(buf), u255, p255);
    cr_assert_eq(n, 3 + 255 + 255);
    cr_assert_leq(n, SOCKS5_MSG_MAX);
    cr_assert_eq(buf[0], 0x01);
    cr_assert_eq(buf[1], 255);
    cr_assert_eq(memcmp(buf + 2, u255, 255), 0);
    cr_assert_eq(buf[2 + 255], 255);
    cr_assert_eq(memcmp(buf + 3 + 255, p255, 255), 0);
}

Test(socks5_userpass, encode_256_bytes_einval)
{
    char s256[257];
    memset(s256, 'x', 256);
    s256[256] = '\0';
    uint8_t buf[1024];
    cr_assert_eq(socks5_userpass_encode(buf, sizeof(buf), s256, "pass"), -EINVAL);
    cr_assert_eq(socks5_userpass_encode(buf, sizeof(buf), "user", s256), -EINVAL);
}

Test(socks5_userpass, encode_enospc)
{
    uint8_t buf[11];
    cr_assert_eq(socks5_userpass_encode(buf, 10, "user", "pass"), -ENOSPC);
    cr_assert_eq(socks5_userpass_encode(buf, 0, "user", "pass"), -ENOSPC);
    cr_assert_eq(socks5_userpass_encode(buf, 11, "user", "pass"), 11);
}

Test(socks5_userpass, decode_success)
{
    cr_assert_eq(socks5_userpass_decode(BYTES(0x01, 0x00), 2), 2);
    cr_assert_eq(socks5_userpass_decode(BYTES(0x01, 0x00, 0xaa), 3), 2);
}

Test(socks5_userpass, decode_rejected)
{
    cr_assert_eq(socks5_userpass_decode(BYTES(0x01, 0x01), 2), -EACCES);
    cr_assert_eq(socks5_userpass_decode(BYTES(0x01, 0xff), 2), -EACCES);
}

Test(socks5_userpass, decode_version5_tolerated)
{
    cr_assert_eq(socks5_userpass_decode(BYTES(0x05, 0x00), 2), 2);
    cr_assert_eq(socks5_userpass_decode(BYTES(0x05, 0x01), 2), -EACCES);
}

Test(socks5_userpass, decode_bad_version)
{
    cr_assert_eq(socks5_userpass_decode(BYTES(0x00, 0x00), 2), -EPROTO);
    cr_assert_eq(socks5_userpass_decode(BYTES(0x02, 0x00), 2), -EPROTO);
    cr_assert_eq(socks5_userpass_decode(BYTES(0x04, 0x00), 2), -EPROTO);
    cr_assert_eq(socks5_userpass_decode(BYTES(0xff, 0x00), 2), -EPROTO);
}

Test(socks5_userpass, decode_short)
{
    cr_assert_eq(socks5_userpass_decode(BYTES(0x01), 0), 0);
    cr_assert_eq(socks5_userpass_decode(BYTES(0x01), 1), 0);
}

/* ---- requests ---- */

Test(socks5_request, encode_ipv4)
{
    struct socks_target t = test_target("10.1.2.3", 80);
    uint8_t buf[SOCKS5_MSG_MAX];
    int n = socks5_request_encode(buf, sizeof(buf), SOCKS5_CMD_CONNECT, &t);
    ASSERT_BYTES(buf, n, 0x05, 0x01, 0x00, 0x01, 10, 1, 2, 3, 0x00, 0x50);
}

Test(socks5_request, encode_ipv6)
{
    struct socks_target t = test_target("2001:db8::1", 443);
    uint8_t buf[SOCKS5_MSG_MAX];
    int n = socks5_request_encode(buf, sizeof(buf), SOCKS5_CMD_CONNECT, &t);
    ASSERT_BYTES(buf, n, 0x05, 0x01, 0x00, 0x04,
                 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
                 0x01, 0xbb);
}

Test(socks5_request, encode_domain)
{
    struct socks_target t = test_name_target("example.com", 8080);
    uint8_t buf[SOCKS5_MSG_MAX];
    int n = socks5_request_encode(buf, sizeof(buf), SOCKS5_CMD_CONNECT, &t);
    ASSERT_BYTES(buf, n, 0x05, 0x01, 0x00, 0x03, 11,
                 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'c', 'o', 'm',
                 0x1f, 0x90);
}

Test(socks5_request, encode_other_commands_and_port_extremes)
{
    uint8_t buf[SOCKS5_MSG_MAX];
    struct socks_target t = test_target("0.0.0.0", 0);
    int n = socks5_request_encode(buf, sizeof(buf), SOCKS5_CMD_BIND, &t);
    ASSERT_BYTES(buf, n, 0x05, 0x02, 0x00, 0x01, 0, 0, 0, 0, 0x00, 0x00);
    t = test_target("255.255.255.255", 65535);
    n = socks5_request_encode(buf, sizeof(buf), SOCKS5_CMD_UDP_ASSOCIATE, &t);
    ASSERT_BYTES(buf, n, 0x05, 0x03, 0x00, 0x01, 255, 255, 255, 255, 0xff, 0xff);
}

Test(socks5_request, encode_name_255)
{
    struct socks_target t = target_name_n('a', 255, 0x1234);
    uint8_t buf[SOCKS5_MSG_MAX];
    int n = socks5_request_encode(buf, sizeof(buf), SOCKS5_CMD_CONNECT, &t);
    cr_assert_eq(n, 3 + 1 + 1 + 255 + 2);
    ASSERT_BYTES(buf, 5, 0x05, 0x01, 0x00, 0x03, 0xff);
    for (int i = 0; i < 255; i++)
        cr_assert_eq(buf[5 + i], 'a');
    cr_assert_eq(buf[260], 0x12);
    cr_assert_eq(buf[261], 0x34);
}

Test(socks5_request, encode_name_256_einval)
{
    struct socks_target t = target_name_n('a', 256, 80);   /* fills name[], no NUL */
    uint8_t buf[1024];
    cr_assert_eq(socks5_request_encode(buf, sizeof(buf), SOCKS5_CMD_CONNECT, &t), -EINVAL);
}

Test(socks5_request, encode_empty_name_einval)
{
    struct socks_target t = test_name_target("", 80);
    uint8_t buf[64];
    cr_assert_eq(socks5_request_encode(buf, sizeof(buf), SOCKS5_CMD_CONNECT, &t), -EINVAL);
}

Test(socks5_request, encode_bad_family_einval)
{
    uint8_t buf[64];
    struct socks_target t;
    memset(&t, 0, sizeof(t));
    t.port = 80;
    t.addr.sa.sa_family = AF_UNSPEC;
    cr_assert_eq(socks5_request_encode(buf, sizeof(buf), SOCKS5_CMD_CONNECT, &t), -EINVAL);
    t.addr.sa.sa_family = AF_UNIX;
    cr_assert_eq(socks5_request_encode(buf, sizeof(buf), SOCKS5_CMD_CONNECT, &t), -EINVAL);
}

Test(socks5_request, encode_enospc)
{
    uint8_t buf[SOCKS5_MSG_MAX];
    struct socks_target v4 = test_target("1.2.3.4", 80), v6 = test_target("::1", 80), name = target_name_n('n', 255, 80);
    cr_assert_eq(socks5_request_encode(buf, 9, SOCKS5_CMD_CONNECT, &v4), -ENOSPC);
    cr_assert_eq(socks5_request_encode(buf, 10, SOCKS5_CMD_CONNECT, &v4), 10);
    cr_assert_eq(socks5_request_encode(buf, 21, SOCKS5_CMD_CONNECT, &v6), -ENOSPC);
    cr_assert_eq(socks5_request_encode(buf, 22, SOCKS5_CMD_CONNECT, &v6), 22);
    cr_assert_eq(socks5_request_encode(buf, 261, SOCKS5_CMD_CONNECT, &name), -ENOSPC);
    cr_assert_eq(socks5_request_encode(buf, 262, SOCKS5_CMD_CONNECT, &name), 262);
    cr_assert_eq(socks5_request_encode(buf, 0, SOCKS5_CMD_CONNECT, &v4), -ENOSPC);
}

/* ---- replies ---- */

static const uint8_t reply_v4[] = { 0x05, 0x00, 0x00, 0x01, 10, 0, 0, 1, 0x1f, 0x90 };
static const uint8_t reply_v6[] = { 0x05, 0x00, 0x00, 0x04,
                                    0xfd, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34,
                                    0x04, 0x38 };
static const uint8_t reply_name[] = { 0x05, 0x00, 0x00, 0x03, 11,
                                      'p', 'r', 'o', 'x', 'y', '.', 'l', 'o', 'c', 'a', 'l',
                                      0x00, 0x50 };

/* Decodes the first len bytes of msg from a buffer whose following bytes are junk, so a
 * decoder reading past len would see them. */
static int decode_prefix(const uint8_t *msg, size_t len, struct socks5_reply *out, size_t *need)
{
    uint8_t buf[SOCKS5_MSG_MAX + 16];
    cr_assert_leq(len, SOCKS5_MSG_MAX);
    memset(buf, 0xee, sizeof(buf));
    memcpy(buf, msg, len);
    return socks5_reply_decode(buf, len, out, need);
}

/* Decodes all of msg[0..len) into a junk-filled reply, asserting it takes len bytes and has code 0. */
static struct socks5_reply decode_whole(const uint8_t *msg, size_t len)
{
    struct socks5_reply r;
    memset(&r, 0x55, sizeof(r));
    size_t need = 0;
    cr_assert_eq(socks5_reply_decode(msg, len, &r, &need), (int)len);
    cr_assert_eq(r.code, 0);
    return r;
}

Test(socks5_reply, decode_ipv4)
{
    struct socks5_reply r = decode_whole(reply_v4, sizeof(reply_v4));
    cr_assert_not(r.bound.is_name);
    cr_assert_eq(r.bound.port, 8080);
    cr_assert_eq(r.bound.addr.sa.sa_family, AF_INET);
    cr_assert_eq(r.bound.addr.in4.sin_addr.s_addr, htonl(0x0a000001));
    cr_assert_eq(r.bound.addr.in4.sin_port, htons(8080));
    cr_assert_str_empty(r.bound.name);
}

Test(socks5_reply, decode_ipv6)
{
    struct socks5_reply r = decode_whole(reply_v6, sizeof(reply_v6));
    cr_assert_not(r.bound.is_name);
    cr_assert_eq(r.bound.port, 1080);
    cr_assert_eq(r.bound.addr.sa.sa_family, AF_INET6);
    cr_assert_eq(r.bound.addr.in6.sin6_port, htons(1080));
    struct in6_addr want;
    inet_pton(AF_INET6, "fd00::1234", &want);
    cr_assert_eq(memcmp(&r.bound.addr.in6.sin6_addr, &want, sizeof(want)), 0);
}

Test(socks5_reply, decode_domain)
{
    struct socks5_reply r = decode_whole(reply_name, sizeof(reply_name));
    cr_assert(r.bound.is_name);
    cr_assert_str_eq(r.bound.name, "proxy.local");
    cr_assert_eq(r.bound.port, 80);
}

Test(socks5_reply, decode_returns_code_without_judging)
{
    uint8_t msg[sizeof(reply_v4)];
    memcpy(msg, reply_v4, sizeof(msg));
    for (int code = 0; code < 256; code++) {
        msg[1] = (uint8_t)code;
        struct socks5_reply r;
        size_t need;
        cr_assert_eq(socks5_reply_decode(msg, sizeof(msg), &r, &need), (int)sizeof(msg), "code %d", code);
        cr_assert_eq(r.code, code);
    }
}

Test(socks5_reply, decode_stops_at_reply_end)
{
    /* Tunnel data right after the reply is not consumed. */
    uint8_t msg[sizeof(reply_name) + 3];
    memcpy(msg, reply_name, sizeof(reply_name));
    memcpy(msg + sizeof(reply_name), "GET", 3);
    struct socks5_reply r;
    size_t need;
    cr_assert_eq(socks5_reply_decode(msg, sizeof(msg), &r, &need), (int)sizeof(reply_name));
    cr_assert_str_eq(r.bound.name, "proxy.local");
}

static void check_every_prefix(const uint8_t *msg, size_t total)
{
    for (size_t len = 0; len < total; len++) {
        struct socks5_reply r;
        size_t need = 0;
        int got = decode_prefix(msg, len, &r, &need);
        cr_assert_eq(got, 0, "prefix of %zu/%zu bytes: returned %d, expected 0", len, total, got);
        cr_assert_gt(need, len, "prefix of %zu/%zu bytes: need %zu makes no progress", len, total, need);
        cr_assert_leq(need, total, "prefix of %zu/%zu bytes: need %zu is past the reply", len, total, need);
    }
    struct socks5_reply r;
    size_t need = 0;
    cr_assert_eq(decode_prefix(msg, total, &r, &need), (int)total);
}

Test(socks5_reply, truncated_ipv4_every_prefix)
{
    check_every_prefix(reply_v4, sizeof(reply_v4));
}

Test(socks5_reply, truncated_ipv6_every_prefix)
{
    check_every_prefix(reply_v6, sizeof(reply_v6));
}

Test(socks5_reply, truncated_domain_every_prefix)
{
    check_every_prefix(reply_name, sizeof(reply_name));
}

/* A reader that always reads exactly need - have bytes ends exactly at the reply's end. */
Test(socks5_reply, need_driven_reads_land_on_reply_end)
{
    const uint8_t *msgs[] = { reply_v4, reply_v6, reply_name };
    size_t lens[] = { sizeof(reply_v4), sizeof(reply_v6), sizeof(reply_name) };
    for (size_t m = 0; m < 3; m++) {
        size_t have = 0, need = 0;
        struct socks5_reply r;
        int got;
        while ((got = decode_prefix(msgs[m], have, &r, &need)) == 0) {
            cr_assert_gt(need, have);
            have = need;
        }
        cr_assert_eq(got, (int)lens[m]);
        cr_assert_eq(have, lens[m]);
    }
}

Test(socks5_reply, wrong_version)
{
    uint8_t msg[sizeof(reply_v4)];
    memcpy(msg, reply_v4, sizeof(msg));
    struct socks5_reply r;
    size_t need;
    static const uint8_t versions[] = { 0x00, 0x01, 0x04, 0x06, 0xff };
    for (size_t i = 0; i < sizeof(versions); i++) {
        msg[0] = versions[i];
        cr_assert_eq(socks5_reply_decode(msg, sizeof(msg), &r, &need), -EPROTO);
        /* Detected as soon as the first byte is there. */
        cr_assert_eq(socks5_reply_decode(msg, 1, &r, &need), -EPROTO);
    }
}

Test(socks5_reply, nonzero_rsv)
{
    uint8_t msg[sizeof(reply_v4)];
    memcpy(msg, reply_v4, sizeof(msg));
    struct socks5_reply r;
    size_t need;
    msg[2] = 0x01;
    cr_assert_eq(socks5_reply_decode(msg, sizeof(msg), &r, &need), -EPROTO);
    cr_assert_eq(socks5_reply_decode(msg, 3, &r, &need), -EPROTO);
    msg[2] = 0xff;
    cr_assert_eq(socks5_reply_decode(msg, sizeof(msg), &r, &need), -EPROTO);
}

Test(socks5_reply, unknown_atyp)
{
    static const uint8_t atyps[] = { 0x00, 0x02, 0x05, 0x7f, 0xff };
    for (size_t i = 0; i < sizeof(atyps); i++) {
        uint8_t msg[sizeof(reply_v4)];
        memcpy(msg, reply_v4, sizeof(msg));
        msg[3] = atyps[i];
        struct socks5_reply r;
        size_t need;
        cr_assert_eq(socks5_reply_decode(msg, sizeof(msg), &r, &need), -EPROTO, "ATYP 0x%02x", atyps[i]);
    }
}

Test(socks5_reply, domain_every_length)
{
    for (unsigned n = 0; n <= 255; n++) {
        uint8_t msg[3 + 1 + 1 + 255 + 2];
        size_t total = 3 + 1 + 1 + n + 2;
        msg[0] = 0x05;
        msg[1] = 0x00;
        msg[2] = 0x00;
        msg[3] = 0x03;
        msg[4] = (uint8_t)n;
        for (unsigned i = 0; i < n; i++)
            msg[5 + i] = (uint8_t)('a' + i % 26);
        msg[5 + n] = 0xab;
        msg[6 + n] = 0xcd;
        struct socks5_reply r;
        size_t need = 0;
        cr_assert_eq(decode_prefix(msg, total, &r, &need), (int)total, "name length %u", n);
        cr_assert(r.bound.is_name);
        cr_assert_eq(strlen(r.bound.name), n);
        cr_assert_eq(memcmp(r.bound.name, msg + 5, n), 0);
        cr_assert_eq(r.bound.port, 0xabcd);
        for (size_t len = 0; len < total; len++) {
            int got = decode_prefix(msg, len, &r, &need);
            cr_assert_eq(got, 0, "name length %u, prefix %zu", n, len);
            cr_assert(need > len && need <= total, "name length %u, prefix %zu: need %zu", n, len, need);
        }
    }
}

/* ---- reply codes ---- */

Test(socks5_codes, errno_mapping)
{
    static const struct { uint8_t code; int err; } map[] = {
        { 0, 0 },
        { 1, ECONNREFUSED },
        { 2, EACCES },
        { 3, ENETUNREACH },
        { 4, EHOSTUNREACH },
        { 5, ECONNREFUSED },
        { 6, ETIMEDOUT },
        { 7, EOPNOTSUPP },
        { 8, EAFNOSUPPORT },
        { 9, ECONNREFUSED },
        { 0x7f, ECONNREFUSED },
        { 0xff, ECONNREFUSED },
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        cr_assert_eq(socks5_reply_errno(map[i].code), map[i].err, "code %u gives %d, expected %d", map[i].code,
                     socks5_reply_errno(map[i].code), map[i].err);
}

Test(socks5_codes, every_unknown_code_is_refused)
{
    for (int code = 9; code < 256; code++)
        cr_assert_eq(socks5_reply_errno((uint8_t)code), ECONNREFUSED, "code %d", code);
}

Test(socks5_codes, text_never_null)
{
    for (int code = 0; code < 256; code++) {
        const char *text = socks5_reply_text((uint8_t)code);
        cr_assert_not_null(text, "code %d", code);
        cr_assert_str_not_empty(text, "code %d", code);
    }
    cr_assert_str_eq(socks5_reply_text(0), "succeeded");
    cr_assert_str_eq(socks5_reply_text(5), "connection refused");
    cr_assert_str_neq(socks5_reply_text(1), socks5_reply_text(2));
}
