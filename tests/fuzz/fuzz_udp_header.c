/* libFuzzer target: the RFC 1928 UDP request header (RSV RSV FRAG ATYP DST.ADDR DST.PORT).
 * The input is a datagram from a hostile relay, decoded whole and at every shorter length, each
 * from a heap block of exactly that size (ASan sees any read past it). Decoding must agree with
 * the format as judged here; a decoded header must encode back to the same bytes (RSV aside,
 * which the decoder ignores, and FRAG, which the encoder always writes as 0); names holding a NUL
 * byte cannot round-trip (the name is a C string) and empty names are refused by the encoder.
 * The same bytes also build a target and a buffer size to encode into: encoding must never write
 * past the buffer, must refuse what it cannot carry, and what it writes must decode back. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "socks5.h"

#define CHECK(cond) \
    do { \
        if (!(cond)) \
            abort(); \
    } while (0)

/* Decodes data[0..len) from a heap copy of exactly len bytes. */
static int decode_exact(const uint8_t *data, size_t len, struct socks_target *from, uint8_t *frag)
{
    uint8_t *copy = malloc(len ? len : 1);
    CHECK(copy);
    memcpy(copy, data, len);
    int n = socks5_udp_header_decode(copy, len, from, frag);
    free(copy);
    return n;
}

/* Encodes t into a heap block of exactly size bytes; what was written goes to out. */
static int encode_exact(const struct socks_target *t, size_t size, uint8_t *out)
{
    uint8_t *buf = malloc(size ? size : 1);
    CHECK(buf);
    memset(buf, 0xee, size);
    int n = socks5_udp_header_encode(buf, size, t);
    memcpy(out, buf, size);
    free(buf);
    return n;
}

/* The header's length as the format says, judged apart from the decoder; 0 if it is malformed or
 * cut short (a datagram is whole: there are no more bytes to wait for). */
static size_t header_len(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    size_t total;
    switch (data[3]) {
    case SOCKS5_ATYP_IPV4: total = 3 + 1 + 4 + 2; break;
    case SOCKS5_ATYP_IPV6: total = 3 + 1 + 16 + 2; break;
    case SOCKS5_ATYP_DOMAIN:
        if (size < 5)
            return 0;
        total = 3 + 1 + 1 + (size_t)data[4] + 2;
        break;
    default: return 0;
    }
    return size < total ? 0 : total;
}

static bool same_target(const struct socks_target *a, const struct socks_target *b)
{
    if (a->is_name != b->is_name || a->port != b->port)
        return false;
    if (a->is_name)
        return strcmp(a->name, b->name) == 0;
    if (a->addr.sa.sa_family != b->addr.sa.sa_family)
        return false;
    if (a->addr.sa.sa_family == AF_INET)
        return memcmp(&a->addr.in4.sin_addr, &b->addr.in4.sin_addr, 4) == 0;
    return memcmp(&a->addr.in6.sin6_addr, &b->addr.in6.sin6_addr, 16) == 0;
}

/* Decodes the datagram and checks what comes back; then the decoded header encodes back. */
static void decode_datagram(const uint8_t *data, size_t size)
{
    size_t total = header_len(data, size);
    struct socks_target from;
    memset(&from, 0x5a, sizeof(from));
    uint8_t frag = 0xa5;
    int n = decode_exact(data, size, &from, &frag);
    if (total == 0) {
        CHECK(n == -EPROTO);
        CHECK(frag == 0xa5);   /* nothing claimed on failure */
        return;
    }
    CHECK(n > 0 && (size_t)n == total);
    CHECK(total <= SOCKS5_UDP_HEADER_MAX);
    CHECK(frag == data[2]);
    CHECK(from.port == (uint16_t)(data[total - 2] << 8 | data[total - 1]));

    /* Every shorter datagram is a header cut short. Past the longest header nothing changes. */
    for (size_t len = 0; len < total; len++) {
        struct socks_target cut;
        uint8_t cut_frag = 0xa5;
        CHECK(decode_exact(data, len, &cut, &cut_frag) == -EPROTO);
        CHECK(cut_frag == 0xa5);
    }

    size_t name_len = 0;
    switch (data[3]) {
    case SOCKS5_ATYP_IPV4:
        CHECK(!from.is_name && from.addr.sa.sa_family == AF_INET);
        CHECK(memcmp(&from.addr.in4.sin_addr, data + 4, 4) == 0);
        CHECK(from.addr.in4.sin_port == htons(from.port));
        break;
    case SOCKS5_ATYP_IPV6:
        CHECK(!from.is_name && from.addr.sa.sa_family == AF_INET6);
        CHECK(memcmp(&from.addr.in6.sin6_addr, data + 4, 16) == 0);
        CHECK(from.addr.in6.sin6_port == htons(from.port));
        break;
    default:
        CHECK(from.is_name);
        name_len = strnlen(from.name, sizeof(from.name));
        CHECK(name_len <= data[4]);
        CHECK(memcmp(from.name, data + 5, name_len) == 0);
        /* Cut only at a NUL the name itself holds. */
        CHECK(name_len == data[4] || data[5 + name_len] == 0);
        break;
    }

    uint8_t out[SOCKS5_UDP_HEADER_MAX];
    if (from.is_name && name_len == 0) {
        CHECK(encode_exact(&from, sizeof(out), out) == -EINVAL);
        return;
    }
    if (from.is_name && name_len != data[4])
        return;   /* a NUL in the name: it cannot come back whole */
    CHECK(encode_exact(&from, total, out) == (int)total);
    CHECK(out[0] == 0 && out[1] == 0 && out[2] == 0);
    if (frag == 0)
        CHECK(memcmp(out + 2, data + 2, total - 2) == 0);
    else
        CHECK(memcmp(out + 3, data + 3, total - 3) == 0);
    /* One byte less does not fit, and nothing is written. */
    CHECK(encode_exact(&from, total - 1, out) == -ENOSPC);
    for (size_t i = 0; i < total - 1; i++)
        CHECK(out[i] == 0xee);
}

/* Takes n bytes from the input, or zeros once it runs out. */
static void take(const uint8_t **p, const uint8_t *end, void *out, size_t n)
{
    size_t have = (size_t)(end - *p) < n ? (size_t)(end - *p) : n;
    memset(out, 0, n);
    memcpy(out, *p, have);
    *p += have;
}

/* Builds a target from the input: shape byte, buffer size (2 bytes), port (2 bytes), then the
 * address, a family, or a name of up to 256 bytes (NULs and all, maybe unterminated). */
static void encode_target(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size;
    uint8_t shape, size_bytes[2], port[2];
    take(&p, end, &shape, 1);
    take(&p, end, size_bytes, 2);
    take(&p, end, port, 2);
    struct socks_target t;
    memset(&t, 0, sizeof(t));
    t.port = (uint16_t)(port[0] << 8 | port[1]);
    size_t bufsize = ((size_t)size_bytes[0] << 8 | size_bytes[1]) % (SOCKS5_UDP_HEADER_MAX + 8);
    int want;   /* what the encoder must answer: the length, or -EINVAL */
    uint8_t atyp = 0;
    switch (shape & 3) {
    case 0: {
        t.is_name = true;
        take(&p, end, t.name, (shape & 4) ? sizeof(t.name) : (size_t)(shape >> 3) * 8);
        size_t n = strnlen(t.name, sizeof(t.name));
        want = n == 0 || n > SOCKS5_NAME_MAX ? -EINVAL : (int)(3 + 1 + 1 + n + 2);
        atyp = SOCKS5_ATYP_DOMAIN;
        break;
    }
    case 1:
        t.addr.in4.sin_family = AF_INET;
        take(&p, end, &t.addr.in4.sin_addr, 4);
        t.addr.in4.sin_port = htons(t.port);
        want = 3 + 1 + 4 + 2;
        atyp = SOCKS5_ATYP_IPV4;
        break;
    case 2:
        t.addr.in6.sin6_family = AF_INET6;
        take(&p, end, &t.addr.in6.sin6_addr, 16);
        t.addr.in6.sin6_port = htons(t.port);
        want = 3 + 1 + 16 + 2;
        atyp = SOCKS5_ATYP_IPV6;
        break;
    default: {
        uint8_t fam[2];
        take(&p, end, fam, 2);
        t.addr.sa.sa_family = (sa_family_t)(fam[0] << 8 | fam[1]);
        if (t.addr.sa.sa_family == AF_INET || t.addr.sa.sa_family == AF_INET6)
            return;   /* covered above, with an address */
        want = -EINVAL;
        break;
    }
    }

    uint8_t out[SOCKS5_UDP_HEADER_MAX + 8];
    int n = encode_exact(&t, bufsize, out);
    if (want < 0) {
        CHECK(n == want);   /* a bad target is judged before the room for it */
    } else if ((size_t)want > bufsize) {
        CHECK(n == -ENOSPC);
    } else {
        CHECK(n == want);
    }
    if (n < 0) {
        for (size_t i = 0; i < bufsize; i++)
            CHECK(out[i] == 0xee);
        return;
    }
    CHECK(n <= SOCKS5_UDP_HEADER_MAX);
    CHECK(out[0] == 0 && out[1] == 0 && out[2] == 0 && out[3] == atyp);
    CHECK((uint16_t)(out[n - 2] << 8 | out[n - 1]) == t.port);
    for (size_t i = (size_t)n; i < bufsize; i++)
        CHECK(out[i] == 0xee);   /* nothing written past the header */
    struct socks_target back;
    uint8_t frag = 0xa5;
    CHECK(decode_exact(out, (size_t)n, &back, &frag) == n);
    CHECK(frag == 0);
    CHECK(same_target(&t, &back));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    decode_datagram(data, size);
    encode_target(data, size);
    return 0;
}
