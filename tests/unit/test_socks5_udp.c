/* Unit tests for core/socks5.c: the RFC 1928 section 7 UDP request header
 * (RSV RSV FRAG ATYP DST.ADDR DST.PORT) that precedes each datagram on a UDP association. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "socks5.h"
#include "helpers.h"

/* Asserts got[0..got_len) is exactly the listed bytes. */
#define ASSERT_BYTES(got, got_len, ...) test_assert_bytes((got), (size_t)(got_len), BYTES(__VA_ARGS__), NBYTES(__VA_ARGS__))

/* Headers as a relay sends them, each followed by nothing (the datagram's payload is empty). */
static const uint8_t HDR_V4[] = { 0x00, 0x00, 0x00, 0x01, 192, 0, 2, 7, 0x1f, 0x90 }; /* 192.0.2.7:8080 */
static const uint8_t HDR_V6[] = { 0x00, 0x00, 0x00, 0x04,
                                  0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34,
                                  0x00, 0x35 };                                             /* [2001:db8::1234]:53 */
static const uint8_t HDR_NAME[] = { 0x00, 0x00, 0x00, 0x03, 11, 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'c', 'o', 'm',
                                    0x01, 0xbb };                                           /* example.com:443 */

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

/* Encodes t into a heap block of exactly size bytes (so ASan sees any write past it); the bytes
 * written, if any, go to out (which must hold SOCKS5_UDP_HEADER_MAX bytes). */
static int encode_exact(const struct socks_target *t, size_t size, uint8_t *out)
{
    uint8_t *buf = malloc(size ? size : 1);
    cr_assert_not_null(buf);
    memset(buf, 0xee, size);
    int n = socks5_udp_header_encode(buf, size, t);
    cr_assert_leq(size, SOCKS5_UDP_HEADER_MAX + 16);
    memcpy(out, buf, size);
    free(buf);
    return n;
}

/* Decodes msg[0..len) from a heap copy of exactly len bytes (so ASan sees any read past it). */
static int decode_exact(const uint8_t *msg, size_t len, struct socks_target *from, uint8_t *frag)
{
    uint8_t *copy = malloc(len ? len : 1);
    cr_assert_not_null(copy);
    memcpy(copy, msg, len);
    int n = socks5_udp_header_decode(copy, len, from, frag);
    free(copy);
    return n;
}

/* Decodes all of msg[0..len), asserting it is a whole header of len bytes with FRAG 0. */
static struct socks_target decode_whole(const uint8_t *msg, size_t len)
{
    struct socks_target from;
    memset(&from, 0x55, sizeof(from));
    uint8_t frag = 0x55;
    int n = decode_exact(msg, len, &from, &frag);
    cr_assert_eq(n, (int)len, "decoded %d bytes, expected %zu", n, len);
    cr_assert_eq(frag, 0);
    return from;
}

/* ---- encoding ---- */

Test(socks5_udp_encode, ipv4_exact_bytes)
{
    struct socks_target t = test_target("192.0.2.7", 8080);
    uint8_t buf[64];
    memset(buf, 0xee, sizeof(buf));
    int n = socks5_udp_header_encode(buf, sizeof(buf), &t);
    ASSERT_BYTES(buf, n, 0x00, 0x00, 0x00, 0x01, 192, 0, 2, 7, 0x1f, 0x90);
    cr_assert_eq(buf[n], 0xee, "wrote past the header");
}

Test(socks5_udp_encode, ipv6_exact_bytes)
{
    struct socks_target t = test_target("2001:db8::1234", 53);
    uint8_t buf[64];
    memset(buf, 0xee, sizeof(buf));
    int n = socks5_udp_header_encode(buf, sizeof(buf), &t);
    ASSERT_BYTES(buf, n, 0x00, 0x00, 0x00, 0x04,
                 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34,
                 0x00, 0x35);
    cr_assert_eq(buf[n], 0xee, "wrote past the header");
}

Test(socks5_udp_encode, name_exact_bytes)
{
    struct socks_target t = test_name_target("example.com", 443);
    uint8_t buf[64];
    memset(buf, 0xee, sizeof(buf));
    int n = socks5_udp_header_encode(buf, sizeof(buf), &t);
    test_assert_bytes(buf, (size_t)n, HDR_NAME, sizeof(HDR_NAME));
    cr_assert_eq(buf[n], 0xee, "wrote past the header");
}

Test(socks5_udp_encode, same_bytes_as_the_fixtures)
{
    struct socks_target v4 = test_target("192.0.2.7", 8080), v6 = test_target("2001:db8::1234", 53);
    uint8_t buf[SOCKS5_UDP_HEADER_MAX];
    int n = socks5_udp_header_encode(buf, sizeof(buf), &v4);
    test_assert_bytes(buf, (size_t)n, HDR_V4, sizeof(HDR_V4));
    n = socks5_udp_header_encode(buf, sizeof(buf), &v6);
    test_assert_bytes(buf, (size_t)n, HDR_V6, sizeof(HDR_V6));
}

Test(socks5_udp_encode, port_edges_big_endian)
{
    static const struct { uint16_t port; uint8_t hi, lo; } ports[] = {
        { 0, 0x00, 0x00 }, { 1, 0x00, 0x01 }, { 255, 0x00, 0xff }, { 256, 0x01, 0x00 }, { 0xabcd, 0xab, 0xcd },
        { 65535, 0xff, 0xff },
    };
    for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
        struct socks_target t = test_target("10.0.0.1", ports[i].port);
        uint8_t buf[SOCKS5_UDP_HEADER_MAX];
        int n = socks5_udp_header_encode(buf, sizeof(buf), &t);
        cr_assert_eq(n, 10);
        cr_assert_eq(buf[8], ports[i].hi, "port %u", ports[i].port);
        cr_assert_eq(buf[9], ports[i].lo, "port %u", ports[i].port);
    }
}

/* The unspecified address, as a client that does not know its own address writes it. */
Test(socks5_udp_encode, unspecified_addresses)
{
    struct socks_target v4 = test_target("0.0.0.0", 0), v6 = test_target("::", 0);
    uint8_t buf[SOCKS5_UDP_HEADER_MAX];
    int n = socks5_udp_header_encode(buf, sizeof(buf), &v4);
    ASSERT_BYTES(buf, n, 0, 0, 0, 0x01, 0, 0, 0, 0, 0, 0);
    n = socks5_udp_header_encode(buf, sizeof(buf), &v6);
    ASSERT_BYTES(buf, n, 0, 0, 0, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
}

/* After RSV RSV FRAG, the header is the request's ATYP, address and port. */
Test(socks5_udp_encode, tail_matches_the_request_encoding)
{
    struct socks_target targets[] = { test_target("192.0.2.7", 8080), test_target("2001:db8::1234", 53),
                                      test_name_target("example.com", 443), target_name_n('x', 255, 7) };
    for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
        uint8_t hdr[SOCKS5_UDP_HEADER_MAX], req[SOCKS5_MSG_MAX];
        int h = socks5_udp_header_encode(hdr, sizeof(hdr), &targets[i]);
        int r = socks5_request_encode(req, sizeof(req), SOCKS5_CMD_UDP_ASSOCIATE, &targets[i]);
        cr_assert_gt(h, 0, "target %zu", i);
        cr_assert_eq(h, r, "target %zu", i);
        cr_assert_eq(memcmp(hdr + 3, req + 3, (size_t)h - 3), 0, "target %zu", i);
        cr_assert_eq(hdr[0], 0);
        cr_assert_eq(hdr[1], 0);
        cr_assert_eq(hdr[2], 0, "FRAG is 0: a whole datagram");
    }
}

Test(socks5_udp_encode, name_255_bytes_is_the_longest_header)
{
    struct socks_target t = target_name_n('n', 255, 0x1234);
    uint8_t out[SOCKS5_UDP_HEADER_MAX + 16];
    int n = encode_exact(&t, SOCKS5_UDP_HEADER_MAX, out);
    cr_assert_eq(n, SOCKS5_UDP_HEADER_MAX);
    cr_assert_eq(n, 3 + 1 + 1 + 255 + 2);
    cr_assert_eq(out[0], 0);
    cr_assert_eq(out[1], 0);
    cr_assert_eq(out[2], 0);
    cr_assert_eq(out[3], SOCKS5_ATYP_DOMAIN);
    cr_assert_eq(out[4], 255);
    for (size_t i = 0; i < 255; i++)
        cr_assert_eq(out[5 + i], 'n', "name byte %zu", i);
    cr_assert_eq(out[260], 0x12);
    cr_assert_eq(out[261], 0x34);
}

Test(socks5_udp_encode, exact_size_fits)
{
    struct socks_target targets[] = { test_target("192.0.2.7", 8080), test_target("2001:db8::1234", 53),
                                      test_name_target("a", 1), test_name_target("example.com", 443),
                                      target_name_n('z', 255, 65535) };
    size_t want[] = { 10, 22, 8, 18, 262 };
    for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
        uint8_t out[SOCKS5_UDP_HEADER_MAX + 16];
        cr_assert_eq(encode_exact(&targets[i], want[i], out), (int)want[i], "target %zu", i);
    }
}

/* Every buffer size below the header's length is refused, and nothing is written. */
Test(socks5_udp_encode, enospc_every_smaller_size)
{
    struct socks_target targets[] = { test_target("192.0.2.7", 8080), test_target("2001:db8::1234", 53),
                                      test_name_target("a", 1), test_name_target("example.com", 443),
                                      target_name_n('z', 255, 65535) };
    size_t want[] = { 10, 22, 8, 18, 262 };
    for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
        for (size_t size = 0; size < want[i]; size++) {
            uint8_t out[SOCKS5_UDP_HEADER_MAX + 16];
            int n = encode_exact(&targets[i], size, out);
            cr_assert_eq(n, -ENOSPC, "target %zu, buffer of %zu bytes (needs %zu): %d", i, size, want[i], n);
            for (size_t b = 0; b < size; b++)
                cr_assert_eq(out[b], 0xee, "target %zu, buffer of %zu: byte %zu written on ENOSPC", i, size, b);
        }
    }
}

Test(socks5_udp_encode, empty_name_einval)
{
    struct socks_target t = test_name_target("", 53);
    uint8_t buf[SOCKS5_UDP_HEADER_MAX];
    memset(buf, 0xee, sizeof(buf));
    cr_assert_eq(socks5_udp_header_encode(buf, sizeof(buf), &t), -EINVAL);
    cr_assert_eq(buf[0], 0xee, "wrote on EINVAL");
}

/* A name filling all 256 bytes of the array, unterminated, is one byte too long. */
Test(socks5_udp_encode, name_256_bytes_einval)
{
    struct socks_target t = target_name_n('x', 256, 53);
    uint8_t buf[SOCKS5_UDP_HEADER_MAX + 16];
    cr_assert_eq(socks5_udp_header_encode(buf, sizeof(buf), &t), -EINVAL);
}

Test(socks5_udp_encode, no_family_einval)
{
    uint8_t buf[SOCKS5_UDP_HEADER_MAX];
    memset(buf, 0xee, sizeof(buf));
    struct socks_target t;
    memset(&t, 0, sizeof(t));
    t.port = 53;
    cr_assert_eq(socks5_udp_header_encode(buf, sizeof(buf), &t), -EINVAL, "AF_UNSPEC");
    t.addr.sa.sa_family = AF_UNIX;
    cr_assert_eq(socks5_udp_header_encode(buf, sizeof(buf), &t), -EINVAL, "AF_UNIX");
    t.addr.sa.sa_family = 0xffff;
    cr_assert_eq(socks5_udp_header_encode(buf, sizeof(buf), &t), -EINVAL, "family 0xffff");
    for (size_t i = 0; i < sizeof(buf); i++)
        cr_assert_eq(buf[i], 0xee, "byte %zu written on EINVAL", i);
}

/* A bad target is judged before the room for it, as in socks5_request_encode. */
Test(socks5_udp_encode, einval_before_enospc)
{
    struct socks_target empty = test_name_target("", 53), none;
    memset(&none, 0, sizeof(none));
    uint8_t buf[1];
    cr_assert_eq(socks5_udp_header_encode(buf, 0, &empty), -EINVAL);
    cr_assert_eq(socks5_udp_header_encode(buf, 0, &none), -EINVAL);
    cr_assert_eq(socks5_udp_header_encode(buf, 1, &none), -EINVAL);
}

/* ---- decoding ---- */

Test(socks5_udp_decode, ipv4)
{
    struct socks_target from = decode_whole(HDR_V4, sizeof(HDR_V4));
    cr_assert_not(from.is_name);
    cr_assert_eq(from.port, 8080);
    cr_assert_eq(from.addr.sa.sa_family, AF_INET);
    cr_assert_eq(from.addr.in4.sin_addr.s_addr, htonl(0xc0000207));
    cr_assert_eq(from.addr.in4.sin_port, htons(8080));
    cr_assert_str_empty(from.name);
}

Test(socks5_udp_decode, ipv6)
{
    struct socks_target from = decode_whole(HDR_V6, sizeof(HDR_V6));
    cr_assert_not(from.is_name);
    cr_assert_eq(from.port, 53);
    cr_assert_eq(from.addr.sa.sa_family, AF_INET6);
    cr_assert_eq(from.addr.in6.sin6_port, htons(53));
    struct in6_addr want;
    cr_assert_eq(inet_pton(AF_INET6, "2001:db8::1234", &want), 1);
    cr_assert_eq(memcmp(&from.addr.in6.sin6_addr, &want, sizeof(want)), 0);
    cr_assert_str_empty(from.name);
}

Test(socks5_udp_decode, name)
{
    struct socks_target from = decode_whole(HDR_NAME, sizeof(HDR_NAME));
    cr_assert(from.is_name);
    cr_assert_str_eq(from.name, "example.com");
    cr_assert_eq(from.port, 443);
    cr_assert_eq(from.addr.sa.sa_family, AF_UNSPEC, "a name has no address");
}

/* The header's length is returned, not the datagram's: the payload starts there. */
Test(socks5_udp_decode, returns_header_length_before_payload)
{
    const uint8_t *hdrs[] = { HDR_V4, HDR_V6, HDR_NAME };
    size_t lens[] = { sizeof(HDR_V4), sizeof(HDR_V6), sizeof(HDR_NAME) };
    for (size_t i = 0; i < 3; i++) {
        uint8_t dgram[64 + 1500];
        memcpy(dgram, hdrs[i], lens[i]);
        for (size_t j = 0; j < 1500; j++)
            dgram[lens[i] + j] = (uint8_t)(j * 7 + 1);
        struct socks_target from;
        uint8_t frag = 0x55;
        cr_assert_eq(decode_exact(dgram, lens[i] + 1500, &from, &frag), (int)lens[i], "header %zu", i);
        cr_assert_eq(frag, 0);
        cr_assert_eq(decode_exact(dgram, lens[i] + 1, &from, &frag), (int)lens[i], "header %zu, 1-byte payload", i);
    }
}

/* A datagram may be empty: the header alone is a whole datagram. */
Test(socks5_udp_decode, zero_length_payload)
{
    struct socks_target from;
    uint8_t frag;
    cr_assert_eq(decode_exact(HDR_V4, sizeof(HDR_V4), &from, &frag), (int)sizeof(HDR_V4));
    cr_assert_eq(decode_exact(HDR_V6, sizeof(HDR_V6), &from, &frag), (int)sizeof(HDR_V6));
    cr_assert_eq(decode_exact(HDR_NAME, sizeof(HDR_NAME), &from, &frag), (int)sizeof(HDR_NAME));
    cr_assert_str_eq(from.name, "example.com");
}

/* A fragment decodes: its header length comes back with FRAG, for the caller to drop it. */
Test(socks5_udp_decode, fragment_returns_length_and_frag)
{
    static const uint8_t frags[] = { 0x01, 0x02, 0x7f, 0x80, 0x81, 0xfe, 0xff };
    const uint8_t *hdrs[] = { HDR_V4, HDR_V6, HDR_NAME };
    size_t lens[] = { sizeof(HDR_V4), sizeof(HDR_V6), sizeof(HDR_NAME) };
    for (size_t i = 0; i < 3; i++) {
        for (size_t f = 0; f < sizeof(frags); f++) {
            uint8_t dgram[64];
            memcpy(dgram, hdrs[i], lens[i]);
            dgram[2] = frags[f];
            memcpy(dgram + lens[i], "data", 4);
            struct socks_target from;
            uint8_t frag = 0;
            int n = decode_exact(dgram, lens[i] + 4, &from, &frag);
            cr_assert_eq(n, (int)lens[i], "header %zu, FRAG 0x%02x: %d", i, frags[f], n);
            cr_assert_eq(frag, frags[f], "header %zu: frag 0x%02x, expected 0x%02x", i, frag, frags[f]);
            cr_assert_eq(from.port, i == 0 ? 8080 : i == 1 ? 53 : 443);
        }
    }
}

/* RSV is not checked: relays differ. */
Test(socks5_udp_decode, nonzero_rsv_accepted)
{
    static const uint8_t rsv[][2] = { { 0x00, 0x01 }, { 0x01, 0x00 }, { 0x12, 0x34 }, { 0xff, 0xff } };
    for (size_t i = 0; i < sizeof(rsv) / sizeof(rsv[0]); i++) {
        uint8_t dgram[sizeof(HDR_NAME)];
        memcpy(dgram, HDR_NAME, sizeof(dgram));
        dgram[0] = rsv[i][0];
        dgram[1] = rsv[i][1];
        struct socks_target from = decode_whole(dgram, sizeof(dgram));
        cr_assert_str_eq(from.name, "example.com");
        cr_assert_eq(from.port, 443);
        uint8_t v4[sizeof(HDR_V4)];
        memcpy(v4, HDR_V4, sizeof(v4));
        v4[0] = rsv[i][0];
        v4[1] = rsv[i][1];
        from = decode_whole(v4, sizeof(v4));
        cr_assert_eq(from.addr.in4.sin_addr.s_addr, htonl(0xc0000207));
    }
}

/* A datagram is whole: a header cut anywhere is malformed, not "more needed". */
static void check_every_truncation(const uint8_t *hdr, size_t total)
{
    for (size_t len = 0; len < total; len++) {
        struct socks_target from;
        uint8_t frag = 0x55;
        int n = decode_exact(hdr, len, &from, &frag);
        cr_assert_eq(n, -EPROTO, "cut at %zu of %zu bytes: %d, expected -EPROTO", len, total, n);
        cr_assert_eq(frag, 0x55, "cut at %zu: frag set on failure", len);
    }
    struct socks_target from;
    uint8_t frag;
    cr_assert_eq(decode_exact(hdr, total, &from, &frag), (int)total);
}

Test(socks5_udp_decode, truncated_ipv4_every_length)
{
    check_every_truncation(HDR_V4, sizeof(HDR_V4));
}

Test(socks5_udp_decode, truncated_ipv6_every_length)
{
    check_every_truncation(HDR_V6, sizeof(HDR_V6));
}

Test(socks5_udp_decode, truncated_name_every_length)
{
    check_every_truncation(HDR_NAME, sizeof(HDR_NAME));
}

Test(socks5_udp_decode, truncated_255_byte_name_every_length)
{
    uint8_t hdr[SOCKS5_UDP_HEADER_MAX];
    hdr[0] = hdr[1] = hdr[2] = 0;
    hdr[3] = SOCKS5_ATYP_DOMAIN;
    hdr[4] = 255;
    memset(hdr + 5, 'q', 255);
    hdr[260] = 0x00;
    hdr[261] = 0x35;
    check_every_truncation(hdr, sizeof(hdr));
}

Test(socks5_udp_decode, unknown_atyp)
{
    static const uint8_t atyps[] = { 0x00, 0x02, 0x05, 0x06, 0x7f, 0x80, 0xff };
    for (size_t i = 0; i < sizeof(atyps); i++) {
        /* Long enough for any address type, so only the type itself is wrong. */
        uint8_t dgram[64];
        memset(dgram, 0x01, sizeof(dgram));
        dgram[0] = dgram[1] = dgram[2] = 0;
        dgram[3] = atyps[i];
        struct socks_target from;
        uint8_t frag = 0x55;
        cr_assert_eq(decode_exact(dgram, sizeof(dgram), &from, &frag), -EPROTO, "ATYP 0x%02x", atyps[i]);
        cr_assert_eq(decode_exact(dgram, 4, &from, &frag), -EPROTO, "ATYP 0x%02x, header cut after it", atyps[i]);
        cr_assert_eq(frag, 0x55);
    }
}

/* The name's length byte points past the end of the datagram. */
Test(socks5_udp_decode, name_length_beyond_datagram)
{
    struct socks_target from;
    uint8_t frag;
    /* length 10, 5 name bytes and a port: 3 bytes short */
    cr_assert_eq(decode_exact(BYTES(0, 0, 0, 0x03, 10, 'a', 'b', 'c', 'd', 'e', 0x00, 0x35), 12, &from, &frag), -EPROTO);
    /* length 255, nothing after it */
    cr_assert_eq(decode_exact(BYTES(0, 0, 0, 0x03, 255), 5, &from, &frag), -EPROTO);
    /* length 255 in a datagram of 200 bytes */
    uint8_t dgram[200];
    memset(dgram, 'x', sizeof(dgram));
    dgram[0] = dgram[1] = dgram[2] = 0;
    dgram[3] = 0x03;
    dgram[4] = 255;
    cr_assert_eq(decode_exact(dgram, sizeof(dgram), &from, &frag), -EPROTO);
    /* the name fits but the port's last byte is missing */
    cr_assert_eq(decode_exact(BYTES(0, 0, 0, 0x03, 3, 'a', 'b', 'c', 0x00), 9, &from, &frag), -EPROTO);
    /* ... and with it, it decodes */
    cr_assert_eq(decode_exact(BYTES(0, 0, 0, 0x03, 3, 'a', 'b', 'c', 0x00, 0x35), 10, &from, &frag), 10);
    cr_assert_str_eq(from.name, "abc");
}

Test(socks5_udp_decode, name_255_bytes)
{
    uint8_t dgram[SOCKS5_UDP_HEADER_MAX + 3];
    dgram[0] = dgram[1] = dgram[2] = 0;
    dgram[3] = SOCKS5_ATYP_DOMAIN;
    dgram[4] = 255;
    for (size_t i = 0; i < 255; i++)
        dgram[5 + i] = (uint8_t)('a' + i % 26);
    dgram[260] = 0xff;
    dgram[261] = 0xfe;
    memcpy(dgram + 262, "pay", 3);
    struct socks_target from;
    uint8_t frag = 0x55;
    cr_assert_eq(decode_exact(dgram, sizeof(dgram), &from, &frag), SOCKS5_UDP_HEADER_MAX);
    cr_assert_eq(frag, 0);
    cr_assert(from.is_name);
    cr_assert_eq(strlen(from.name), 255);
    cr_assert_eq(memcmp(from.name, dgram + 5, 255), 0);
    cr_assert_eq(from.port, 0xfffe);
}

/* Every name length the byte can say, as socks5_reply_decode takes them (0 included: an empty name). */
Test(socks5_udp_decode, name_every_length)
{
    for (unsigned n = 0; n <= 255; n++) {
        uint8_t dgram[SOCKS5_UDP_HEADER_MAX];
        size_t total = 3 + 1 + 1 + n + 2;
        dgram[0] = dgram[1] = dgram[2] = 0;
        dgram[3] = SOCKS5_ATYP_DOMAIN;
        dgram[4] = (uint8_t)n;
        for (unsigned i = 0; i < n; i++)
            dgram[5 + i] = (uint8_t)('a' + i % 26);
        dgram[5 + n] = 0xab;
        dgram[6 + n] = 0xcd;
        struct socks_target from = decode_whole(dgram, total);
        cr_assert(from.is_name, "name length %u", n);
        cr_assert_eq(strlen(from.name), n);
        cr_assert_eq(memcmp(from.name, dgram + 5, n), 0);
        cr_assert_eq(from.port, 0xabcd);
    }
}

/* A NUL inside the name: the header's length still counts every byte the length byte says. */
Test(socks5_udp_decode, name_with_nul_keeps_header_length)
{
    struct socks_target from;
    uint8_t frag;
    cr_assert_eq(decode_exact(BYTES(0, 0, 0, 0x03, 3, 'a', 0, 'b', 0x00, 0x35, 'P'), 11, &from, &frag), 10);
    cr_assert(from.is_name);
    cr_assert_eq(from.port, 53);
}

/* Fields of the previous datagram do not leak into the next one's. */
Test(socks5_udp_decode, clears_previous_target)
{
    struct socks_target from = decode_whole(HDR_NAME, sizeof(HDR_NAME));
    uint8_t frag;
    cr_assert_eq(decode_exact(HDR_V4, sizeof(HDR_V4), &from, &frag), (int)sizeof(HDR_V4));
    cr_assert_not(from.is_name);
    cr_assert_str_empty(from.name);
    cr_assert_eq(decode_exact(BYTES(0, 0, 0, 0x03, 1, 'x', 0, 1), 8, &from, &frag), 8);
    cr_assert_str_eq(from.name, "x");
    cr_assert_eq(from.addr.sa.sa_family, AF_UNSPEC);
}

/* ---- round trips ---- */

/* Asserts a and b are the same target (as decoded: port in both places for addresses). */
static void assert_same_target(const struct socks_target *a, const struct socks_target *b)
{
    cr_assert_eq(a->is_name, b->is_name);
    cr_assert_eq(a->port, b->port);
    if (a->is_name) {
        cr_assert_str_eq(a->name, b->name);
        return;
    }
    cr_assert_eq(a->addr.sa.sa_family, b->addr.sa.sa_family);
    if (a->addr.sa.sa_family == AF_INET) {
        cr_assert_eq(a->addr.in4.sin_addr.s_addr, b->addr.in4.sin_addr.s_addr);
        cr_assert_eq(a->addr.in4.sin_port, b->addr.in4.sin_port);
    } else {
        cr_assert_eq(memcmp(&a->addr.in6.sin6_addr, &b->addr.in6.sin6_addr, 16), 0);
        cr_assert_eq(a->addr.in6.sin6_port, b->addr.in6.sin6_port);
    }
}

/* encode -> decode -> encode: the target and the bytes come back. */
static void round_trip(const struct socks_target *t)
{
    uint8_t buf[SOCKS5_UDP_HEADER_MAX + 8];
    int n = socks5_udp_header_encode(buf, sizeof(buf), t);
    cr_assert_gt(n, 0);
    memcpy(buf + n, "payload", 7);
    struct socks_target from;
    uint8_t frag = 0x55;
    cr_assert_eq(decode_exact(buf, (size_t)n + 7, &from, &frag), n);
    cr_assert_eq(frag, 0);
    assert_same_target(t, &from);
    uint8_t again[SOCKS5_UDP_HEADER_MAX];
    int m = socks5_udp_header_encode(again, sizeof(again), &from);
    test_assert_bytes(again, (size_t)m, buf, (size_t)n);
}

Test(socks5_udp_round_trip, ipv4)
{
    static const char *const ips[] = { "0.0.0.0", "127.0.0.1", "192.0.2.7", "10.255.0.1", "255.255.255.255" };
    static const uint16_t ports[] = { 0, 1, 53, 8080, 65535 };
    for (size_t i = 0; i < sizeof(ips) / sizeof(ips[0]); i++)
        for (size_t j = 0; j < sizeof(ports) / sizeof(ports[0]); j++) {
            struct socks_target t = test_target(ips[i], ports[j]);
            round_trip(&t);
        }
}

Test(socks5_udp_round_trip, ipv6)
{
    static const char *const ips[] = { "::", "::1", "2001:db8::1234", "fe80::1:2:3:4", "::ffff:192.0.2.7",
                                       "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" };
    static const uint16_t ports[] = { 0, 1, 443, 65535 };
    for (size_t i = 0; i < sizeof(ips) / sizeof(ips[0]); i++)
        for (size_t j = 0; j < sizeof(ports) / sizeof(ports[0]); j++) {
            struct socks_target t = test_target(ips[i], ports[j]);
            round_trip(&t);
        }
}

Test(socks5_udp_round_trip, name_every_length)
{
    for (size_t n = 1; n <= SOCKS5_NAME_MAX; n++) {
        struct socks_target t = target_name_n('a', n, (uint16_t)(n * 257));
        for (size_t i = 0; i < n; i++)
            t.name[i] = (char)('a' + (i * 7 + n) % 26);
        round_trip(&t);
    }
    struct socks_target dotted = test_name_target("relay.example.org", 1080);
    round_trip(&dotted);
    /* Bytes a name would not hold in DNS still travel as they are. */
    struct socks_target odd = test_name_target("\x01\x7f\x80\xff .-_", 9);
    round_trip(&odd);
}

/* ---- the relay a UDP ASSOCIATE reply names ---- */

Test(socks5_udp_relay, a_named_address_is_the_relay)
{
    struct socks_target bound = test_target("192.0.2.9", 40000);
    union sockaddr_any proxy = test_addr("10.0.0.1", 1080), relay, want = test_addr("192.0.2.9", 40000);
    cr_assert_eq(socks5_udp_relay(&bound, &proxy, &relay), 0);
    cr_assert(addr_equal(&relay, &want));
    bound = test_target("2001:db8::9", 40001);
    want = test_addr("2001:db8::9", 40001);
    cr_assert_eq(socks5_udp_relay(&bound, NULL, &relay), 0);
    cr_assert(addr_equal(&relay, &want));
}

Test(socks5_udp_relay, unspecified_means_the_proxy_with_the_replys_port)
{
    union sockaddr_any relay;
    struct socks_target any4 = test_target("0.0.0.0", 40002), any6 = test_target("::", 40003);
    union sockaddr_any proxy4 = test_addr("10.0.0.1", 1080), proxy6 = test_addr("fd00::1", 1080);
    union sockaddr_any want4 = test_addr("10.0.0.1", 40002), want6 = test_addr("fd00::1", 40003);
    cr_assert_eq(socks5_udp_relay(&any4, &proxy4, &relay), 0);
    cr_assert(addr_equal(&relay, &want4));
    cr_assert_eq(socks5_udp_relay(&any6, &proxy6, &relay), 0);
    cr_assert(addr_equal(&relay, &want6));
    /* The proxy's family wins: an IPv4 proxy answering "::" is reached at its IPv4 address. */
    union sockaddr_any want46 = test_addr("10.0.0.1", 40003);
    cr_assert_eq(socks5_udp_relay(&any6, &proxy4, &relay), 0);
    cr_assert(addr_equal(&relay, &want46));
    cr_assert_eq(socks5_udp_relay(&any4, NULL, &relay), -EHOSTUNREACH);
}

Test(socks5_udp_relay, a_relay_by_name_is_refused)
{
    union sockaddr_any relay, proxy = test_addr("10.0.0.1", 1080);
    struct socks_target named = test_name_target("relay.example", 40004);
    cr_assert_eq(socks5_udp_relay(&named, &proxy, &relay), -EPROTO);
}

Test(socks5_udp, request_family)
{
    /* danted answers with a relay of the family the request names. */
    cr_assert_eq(socks5_udp_request_family(AF_INET, false, AF_INET6), AF_INET, "an IPv4 socket needs an IPv4 relay");
    cr_assert_eq(socks5_udp_request_family(AF_INET6, true, AF_INET), AF_INET6, "IPv6-only");
    cr_assert_eq(socks5_udp_request_family(AF_INET6, false, AF_INET6), AF_INET6, "proxy over IPv6");
    cr_assert_eq(socks5_udp_request_family(AF_INET6, false, AF_INET), AF_INET, "dual stack reaches IPv4 v4-mapped");
    cr_assert_eq(socks5_udp_request_family(AF_INET6, false, AF_UNSPEC), AF_INET);
}
