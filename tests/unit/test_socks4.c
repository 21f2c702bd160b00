/* Unit tests for core/socks4.c: the SOCKS4 / SOCKS4a codecs. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "socks4.h"
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

/* A NUL-terminated string of n copies of c, in a static buffer (n <= 300). */
static const char *repeat(char c, size_t n)
{
    static char s[301];
    cr_assert_leq(n, sizeof(s) - 1);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

/* Encodes into a junk-filled buffer and asserts nothing past the returned length was touched. */
static int encode_checked(uint8_t *buf, size_t size, const struct socks_target *t, const char *userid)
{
    memset(buf, 0xee, size);
    int n = socks4_request_encode(buf, size, t, userid);
    for (size_t i = n > 0 ? (size_t)n : 0; i < size; i++)
        cr_assert_eq(buf[i], 0xee, "byte %zu written past the message (returned %d)", i, n);
    return n;
}

/* Asserts every buffer shorter than the message gives -ENOSPC without writing, and the exact size fits. */
static void check_enospc_every_size(const struct socks_target *t, const char *userid)
{
    uint8_t buf[SOCKS4_MSG_MAX];
    int full = socks4_request_encode(buf, sizeof(buf), t, userid);
    cr_assert_gt(full, 0);
    for (size_t size = 0; size < (size_t)full; size++) {
        int got = encode_checked(buf, size, t, userid);
        cr_assert_eq(got, -ENOSPC, "buffer of %zu/%d bytes: returned %d", size, full, got);
    }
    cr_assert_eq(encode_checked(buf, (size_t)full, t, userid), full);
}

/* ---- requests ---- */

Test(socks4_request, encode_ipv4_no_userid)
{
    struct socks_target t = test_target("10.1.2.3", 80);
    uint8_t buf[SOCKS4_MSG_MAX];
    int n = encode_checked(buf, sizeof(buf), &t, NULL);
    ASSERT_BYTES(buf, n, 0x04, 0x01, 0x00, 0x50, 10, 1, 2, 3, 0x00);
}

Test(socks4_request, encode_ipv4_empty_userid_same_as_null)
{
    struct socks_target t = test_target("10.1.2.3", 80);
    uint8_t buf[SOCKS4_MSG_MAX];
    int n = encode_checked(buf, sizeof(buf), &t, "");
    ASSERT_BYTES(buf, n, 0x04, 0x01, 0x00, 0x50, 10, 1, 2, 3, 0x00);
}

Test(socks4_request, encode_ipv4_userid)
{
    struct socks_target t = test_target("192.0.2.7", 8080);
    uint8_t buf[SOCKS4_MSG_MAX];
    int n = encode_checked(buf, sizeof(buf), &t, "alice");
    ASSERT_BYTES(buf, n, 0x04, 0x01, 0x1f, 0x90, 192, 0, 2, 7, 'a', 'l', 'i', 'c', 'e', 0x00);
}

Test(socks4_request, encode_port_and_address_extremes)
{
    uint8_t buf[SOCKS4_MSG_MAX];
    struct socks_target t = test_target("0.0.0.0", 0);
    int n = encode_checked(buf, sizeof(buf), &t, NULL);
    ASSERT_BYTES(buf, n, 0x04, 0x01, 0x00, 0x00, 0, 0, 0, 0, 0x00);
    t = test_target("255.255.255.255", 65535);
    n = encode_checked(buf, sizeof(buf), &t, NULL);
    ASSERT_BYTES(buf, n, 0x04, 0x01, 0xff, 0xff, 255, 255, 255, 255, 0x00);
    t = test_target("0.0.1.0", 1);   /* not the 4a marker: only 0.0.0.x is */
    n = encode_checked(buf, sizeof(buf), &t, NULL);
    ASSERT_BYTES(buf, n, 0x04, 0x01, 0x00, 0x01, 0, 0, 1, 0, 0x00);
}

Test(socks4_request, encode_name_is_socks4a)
{
    struct socks_target t = test_name_target("example.com", 8080);
    uint8_t buf[SOCKS4_MSG_MAX];
    int n = encode_checked(buf, sizeof(buf), &t, "u");
    ASSERT_BYTES(buf, n, 0x04, 0x01, 0x1f, 0x90, 0, 0, 0, 1, 'u', 0x00,
                 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'c', 'o', 'm', 0x00);
}

Test(socks4_request, encode_name_no_userid)
{
    struct socks_target t = test_name_target("a.b", 443);
    uint8_t buf[SOCKS4_MSG_MAX];
    int n = encode_checked(buf, sizeof(buf), &t, NULL);
    ASSERT_BYTES(buf, n, 0x04, 0x01, 0x01, 0xbb, 0, 0, 0, 1, 0x00, 'a', '.', 'b', 0x00);
}

/* The name goes NUL-terminated, so any other byte is carried as is: nothing to inject into. */
Test(socks4_request, encode_name_bytes_verbatim)
{
    struct socks_target t = test_name_target("x y\r\n\xff", 1);
    uint8_t buf[SOCKS4_MSG_MAX];
    int n = encode_checked(buf, sizeof(buf), &t, NULL);
    ASSERT_BYTES(buf, n, 0x04, 0x01, 0x00, 0x01, 0, 0, 0, 1, 0x00, 'x', ' ', 'y', '\r', '\n', 0xff, 0x00);
}

Test(socks4_request, encode_v4mapped_as_ipv4)
{
    struct socks_target t = test_target("::ffff:192.0.2.1", 443);
    uint8_t buf[SOCKS4_MSG_MAX];
    int n = encode_checked(buf, sizeof(buf), &t, "id");
    ASSERT_BYTES(buf, n, 0x04, 0x01, 0x01, 0xbb, 192, 0, 2, 1, 'i', 'd', 0x00);
}

Test(socks4_request, encode_ipv6_refused)
{
    static const char *const addrs[] = { "2001:db8::1", "::1", "::", "fd00::1", "::192.0.2.1" /* v4-compatible */,
                                         "::fffe:192.0.2.1", "64:ff9b::192.0.2.1" };
    uint8_t buf[SOCKS4_MSG_MAX];
    for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
        struct socks_target t = test_target(addrs[i], 80);
        cr_assert_eq(encode_checked(buf, sizeof(buf), &t, NULL), -EAFNOSUPPORT, "%s", addrs[i]);
    }
}

Test(socks4_request, encode_bad_family_einval)
{
    uint8_t buf[SOCKS4_MSG_MAX];
    struct socks_target t;
    memset(&t, 0, sizeof(t));
    t.port = 80;
    t.addr.sa.sa_family = AF_UNSPEC;
    cr_assert_eq(encode_checked(buf, sizeof(buf), &t, NULL), -EINVAL);
    t.addr.sa.sa_family = AF_UNIX;
    cr_assert_eq(encode_checked(buf, sizeof(buf), &t, NULL), -EINVAL);
}

/* 0.0.0.x (x != 0) is how SOCKS4a says "a name follows": sending it as an address would make a
 * 4a server read the userid's end as a missing name. */
Test(socks4_request, encode_4a_marker_address_einval)
{
    static const char *const addrs[] = { "0.0.0.1", "0.0.0.255", "::ffff:0.0.0.1" };
    uint8_t buf[SOCKS4_MSG_MAX];
    for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
        struct socks_target t = test_target(addrs[i], 80);
        cr_assert_eq(encode_checked(buf, sizeof(buf), &t, NULL), -EINVAL, "%s", addrs[i]);
    }
}

Test(socks4_request, encode_empty_name_einval)
{
    struct socks_target t = test_name_target("", 80);
    uint8_t buf[SOCKS4_MSG_MAX];
    cr_assert_eq(encode_checked(buf, sizeof(buf), &t, NULL), -EINVAL);
    cr_assert_eq(encode_checked(buf, sizeof(buf), &t, "user"), -EINVAL);
}

Test(socks4_request, encode_name_255)
{
    struct socks_target t = target_name_n('a', 255, 0x1234);
    uint8_t buf[SOCKS4_MSG_MAX];
    int n = encode_checked(buf, sizeof(buf), &t, NULL);
    cr_assert_eq(n, 8 + 1 + 255 + 1);
    ASSERT_BYTES(buf, 9, 0x04, 0x01, 0x12, 0x34, 0, 0, 0, 1, 0x00);
    for (int i = 0; i < 255; i++)
        cr_assert_eq(buf[9 + i], 'a');
    cr_assert_eq(buf[9 + 255], 0x00);
}

Test(socks4_request, encode_name_256_einval)
{
    struct socks_target t = target_name_n('a', 256, 80);   /* fills name[], no NUL */
    uint8_t buf[1024];
    memset(buf, 0xee, sizeof(buf));
    cr_assert_eq(socks4_request_encode(buf, sizeof(buf), &t, NULL), -EINVAL);
    cr_assert_eq(buf[0], 0xee, "written on EINVAL");
}

Test(socks4_request, encode_userid_255)
{
    struct socks_target t = test_target("10.0.0.1", 80);
    uint8_t buf[SOCKS4_MSG_MAX];
    int n = encode_checked(buf, sizeof(buf), &t, repeat('u', 255));
    cr_assert_eq(n, 8 + 255 + 1);
    for (int i = 0; i < 255; i++)
        cr_assert_eq(buf[8 + i], 'u');
    cr_assert_eq(buf[8 + 255], 0x00);
}

Test(socks4_request, encode_userid_256_einval)
{
    uint8_t buf[1024];
    struct socks_target v4 = test_target("10.0.0.1", 80), name = test_name_target("example.com", 80);
    cr_assert_eq(encode_checked(buf, sizeof(buf), &v4, repeat('u', 256)), -EINVAL);
    cr_assert_eq(encode_checked(buf, sizeof(buf), &name, repeat('u', 256)), -EINVAL);
    cr_assert_eq(encode_checked(buf, sizeof(buf), &v4, repeat('u', 300)), -EINVAL);
}

/* The longest request is exactly SOCKS4_MSG_MAX. */
Test(socks4_request, encode_longest_fits_msg_max)
{
    struct socks_target t = target_name_n('n', 255, 80);
    char userid[256];
    memset(userid, 'u', 255);
    userid[255] = '\0';
    uint8_t buf[SOCKS4_MSG_MAX];
    int n = encode_checked(buf, sizeof(buf), &t, userid);
    cr_assert_eq(n, SOCKS4_MSG_MAX);
    cr_assert_eq(memcmp(buf + 8, userid, 256), 0);
    cr_assert_eq(buf[8 + 256], 'n');
    cr_assert_eq(buf[SOCKS4_MSG_MAX - 1], 0x00);
}

/* Validity is judged before room: a bad target never reports ENOSPC. */
Test(socks4_request, encode_errors_before_enospc)
{
    uint8_t buf[4];
    struct socks_target v6 = test_target("::1", 80), empty = test_name_target("", 80), v4 = test_target("1.2.3.4", 80);
    cr_assert_eq(socks4_request_encode(buf, 0, &v6, NULL), -EAFNOSUPPORT);
    cr_assert_eq(socks4_request_encode(buf, 0, &empty, NULL), -EINVAL);
    cr_assert_eq(socks4_request_encode(buf, 0, &v4, repeat('u', 256)), -EINVAL);
}

Test(socks4_request, enospc_every_size_ipv4)
{
    struct socks_target t = test_target("1.2.3.4", 80);
    check_enospc_every_size(&t, NULL);
    check_enospc_every_size(&t, "userid");
}

Test(socks4_request, enospc_every_size_mapped)
{
    struct socks_target t = test_target("::ffff:1.2.3.4", 80);
    check_enospc_every_size(&t, "u");
}

Test(socks4_request, enospc_every_size_name)
{
    struct socks_target t = test_name_target("example.com", 80);
    check_enospc_every_size(&t, NULL);
    check_enospc_every_size(&t, "userid");
}

Test(socks4_request, enospc_every_size_longest)
{
    struct socks_target t = target_name_n('n', 255, 80);
    char userid[256];
    memset(userid, 'u', 255);
    userid[255] = '\0';
    check_enospc_every_size(&t, userid);
}

/* ---- replies ---- */

static const uint8_t reply_granted[SOCKS4_REPLY_LEN] = { 0x00, 90, 0x1f, 0x90, 10, 0, 0, 1 };

/* Decodes msg[0..len) from a heap block of exactly len bytes, so a read past len trips ASan. */
static int decode_exact(const uint8_t *msg, size_t len, uint8_t *code)
{
    uint8_t *copy = malloc(len ? len : 1);
    cr_assert_not_null(copy);
    memcpy(copy, msg, len);
    int got = socks4_reply_decode(copy, len, code);
    free(copy);
    return got;
}

Test(socks4_reply, decode_granted)
{
    uint8_t code = 0x77;
    cr_assert_eq(decode_exact(reply_granted, sizeof(reply_granted), &code), SOCKS4_REPLY_LEN);
    cr_assert_eq(code, SOCKS4_REP_GRANTED);
}

Test(socks4_reply, decode_every_code_unjudged)
{
    uint8_t msg[SOCKS4_REPLY_LEN];
    memcpy(msg, reply_granted, sizeof(msg));
    for (int c = 0; c < 256; c++) {
        msg[1] = (uint8_t)c;
        uint8_t code = (uint8_t)~c;
        cr_assert_eq(decode_exact(msg, sizeof(msg), &code), SOCKS4_REPLY_LEN, "code %d", c);
        cr_assert_eq(code, c);
    }
}

/* DSTPORT and DSTIP are ignored for CONNECT, whatever the server puts there. */
Test(socks4_reply, decode_ignores_port_and_address)
{
    static const uint8_t msg[] = { 0x00, 91, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    uint8_t code = 0;
    cr_assert_eq(decode_exact(msg, sizeof(msg), &code), SOCKS4_REPLY_LEN);
    cr_assert_eq(code, SOCKS4_REP_REJECTED);
}

Test(socks4_reply, truncated_every_prefix)
{
    static const uint8_t codes[] = { 90, 91, 92, 93, 0, 0xff };
    for (size_t i = 0; i < sizeof(codes); i++) {
        uint8_t msg[SOCKS4_REPLY_LEN];
        memcpy(msg, reply_granted, sizeof(msg));
        msg[1] = codes[i];
        for (size_t len = 0; len < SOCKS4_REPLY_LEN; len++) {
            uint8_t code = 0x77;
            cr_assert_eq(decode_exact(msg, len, &code), 0, "code %u, prefix %zu", codes[i], len);
            cr_assert_eq(code, 0x77, "code set on a prefix of %zu", len);
        }
    }
}

Test(socks4_reply, decode_stops_at_reply_end)
{
    uint8_t msg[SOCKS4_REPLY_LEN + 4];
    memcpy(msg, reply_granted, SOCKS4_REPLY_LEN);
    memcpy(msg + SOCKS4_REPLY_LEN, "SSH-", 4);
    uint8_t code;
    cr_assert_eq(decode_exact(msg, sizeof(msg), &code), SOCKS4_REPLY_LEN);
    cr_assert_eq(code, SOCKS4_REP_GRANTED);
}

/* VN must be 0; 4 (the request's version) and 5 (a SOCKS5 server's answer) included. */
Test(socks4_reply, wrong_version_every_prefix)
{
    static const uint8_t versions[] = { 0x01, 0x04, 0x05, 0x48 /* 'H' */, 0x7f, 0xff };
    for (size_t i = 0; i < sizeof(versions); i++) {
        uint8_t msg[SOCKS4_REPLY_LEN];
        memcpy(msg, reply_granted, sizeof(msg));
        msg[0] = versions[i];
        for (size_t len = 1; len <= SOCKS4_REPLY_LEN; len++) {
            uint8_t code = 0x77;
            cr_assert_eq(decode_exact(msg, len, &code), -EPROTO, "VN 0x%02x, %zu bytes", versions[i], len);
            cr_assert_eq(code, 0x77);
        }
    }
}

/* ---- reply codes ---- */

Test(socks4_codes, errno_mapping)
{
    static const struct { uint8_t code; int err; } map[] = {
        { SOCKS4_REP_GRANTED, 0 },
        { SOCKS4_REP_REJECTED, ECONNREFUSED },
        { SOCKS4_REP_NO_IDENTD, EACCES },
        { SOCKS4_REP_IDENTD_MISMATCH, EACCES },
        { 0, EPROTO },
        { 89, EPROTO },
        { 94, EPROTO },
        { 0xff, EPROTO },
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        cr_assert_eq(socks4_reply_errno(map[i].code), map[i].err, "code %u gives %d, expected %d", map[i].code,
                     socks4_reply_errno(map[i].code), map[i].err);
}

Test(socks4_codes, every_unknown_code_is_eproto)
{
    for (int code = 0; code < 256; code++) {
        if (code >= 90 && code <= 93)
            continue;
        cr_assert_eq(socks4_reply_errno((uint8_t)code), EPROTO, "code %d", code);
    }
}

Test(socks4_codes, text_never_null)
{
    for (int code = 0; code < 256; code++) {
        const char *text = socks4_reply_text((uint8_t)code);
        cr_assert_not_null(text, "code %d", code);
        cr_assert_str_not_empty(text, "code %d", code);
    }
    cr_assert_str_eq(socks4_reply_text(90), "request granted");
    cr_assert_str_eq(socks4_reply_text(91), "request rejected or failed");
    cr_assert_str_neq(socks4_reply_text(92), socks4_reply_text(93));
    cr_assert_str_eq(socks4_reply_text(0), "unknown reply code");
}
