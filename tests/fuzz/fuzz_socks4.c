/* libFuzzer target: SOCKS4 replies from a hostile proxy, decoded at every prefix length from a
 * block of exactly that size, and requests encoded from fuzzer-chosen targets, userids and
 * buffer sizes. Decoding must agree with the 8-byte format; encoding must never write past the
 * buffer, and what it writes must be the request its inputs describe. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "socks4.h"

#define CHECK(cond) \
    do { \
        if (!(cond)) \
            abort(); \
    } while (0)

/* Decodes data[0..len) from a heap copy of exactly len bytes, so ASan sees any read past len. */
static void decode_prefix(const uint8_t *data, size_t len)
{
    uint8_t *copy = malloc(len ? len : 1);
    CHECK(copy);
    memcpy(copy, data, len);
    uint8_t code = 0x5a;
    int got = socks4_reply_decode(copy, len, &code);
    if (len >= 1 && data[0] != 0) {
        CHECK(got == -EPROTO);
        CHECK(code == 0x5a);
    } else if (len < SOCKS4_REPLY_LEN) {
        CHECK(got == 0);
        CHECK(code == 0x5a);
    } else {
        CHECK(got == SOCKS4_REPLY_LEN);
        CHECK(code == data[1]);
        int err = socks4_reply_errno(code);
        CHECK(err >= 0 && (err == 0) == (code == SOCKS4_REP_GRANTED));
        CHECK(socks4_reply_text(code) != NULL);
    }
    free(copy);
}

/* Takes n bytes from the input, or zeros once it runs out. */
static void take(const uint8_t **p, const uint8_t *end, void *out, size_t n)
{
    size_t have = (size_t)(end - *p) < n ? (size_t)(end - *p) : n;
    memset(out, 0, n);
    memcpy(out, *p, have);
    *p += have;
}

/* What the encoder must answer for t and uid, judged apart from it: 0 or a negative errno, and
 * the DSTIP it must send. Target faults come before userid faults. */
static int expected(const struct socks_target *t, const char *uid, uint8_t ip[4])
{
    static const uint8_t mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    if (t->is_name) {
        size_t n = strnlen(t->name, sizeof(t->name));
        if (n == 0 || n == sizeof(t->name))
            return -EINVAL;
        memcpy(ip, "\0\0\0\1", 4);
    } else if (t->addr.sa.sa_family == AF_INET) {
        memcpy(ip, &t->addr.in4.sin_addr, 4);
    } else if (t->addr.sa.sa_family == AF_INET6) {
        if (memcmp(t->addr.in6.sin6_addr.s6_addr, mapped_prefix, 12) != 0)
            return -EAFNOSUPPORT;
        memcpy(ip, t->addr.in6.sin6_addr.s6_addr + 12, 4);
    } else {
        return -EINVAL;
    }
    if (!t->is_name && ip[0] == 0 && ip[1] == 0 && ip[2] == 0 && ip[3] != 0)
        return -EINVAL;   /* the SOCKS4a marker */
    return strlen(uid) > SOCKS4_USERID_MAX ? -EINVAL : 0;
}

/* Builds a target and userid from the input and checks the request encoded from them. */
static void encode_from(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size;
    uint8_t shape[2];
    take(&p, end, shape, sizeof(shape));
    struct socks_target t;
    memset(&t, 0, sizeof(t));
    take(&p, end, &t.port, sizeof(t.port));
    switch (shape[0] & 3) {
    case 0:
        t.is_name = true;
        /* Up to 256 bytes, NULs and all: the name may be empty, short, or fill the array unterminated. */
        take(&p, end, t.name, shape[1] % 2 ? sizeof(t.name) : shape[1]);
        break;
    case 1:
        t.addr.in4.sin_family = AF_INET;
        take(&p, end, &t.addr.in4.sin_addr, 4);
        break;
    case 2:
        t.addr.in6.sin6_family = AF_INET6;
        take(&p, end, &t.addr.in6.sin6_addr, 16);
        if (shape[1] & 1) {   /* make it v4-mapped half of the time */
            memset(&t.addr.in6.sin6_addr, 0, 10);
            t.addr.in6.sin6_addr.s6_addr[10] = t.addr.in6.sin6_addr.s6_addr[11] = 0xff;
        }
        break;
    default:
        t.addr.sa.sa_family = shape[1];
        break;
    }
    uint8_t size_byte[2];
    take(&p, end, size_byte, sizeof(size_byte));
    size_t bufsize = ((size_t)size_byte[0] << 8 | size_byte[1]) % (SOCKS4_MSG_MAX + 8);
    /* The rest of the input is the userid, cut at 300 bytes; it may hold NULs and be over 255. */
    char userid[301];
    size_t ulen = (size_t)(end - p) < 300 ? (size_t)(end - p) : 300;
    memcpy(userid, p, ulen);
    userid[ulen] = '\0';
    bool null_userid = (shape[0] & 4) != 0;

    uint8_t *buf = malloc(bufsize ? bufsize : 1);   /* exactly bufsize: ASan sees any overrun */
    CHECK(buf);
    int n = socks4_request_encode(buf, bufsize, &t, null_userid ? NULL : userid);
    uint8_t full[SOCKS4_MSG_MAX];
    int want = socks4_request_encode(full, sizeof(full), &t, null_userid ? NULL : userid);
    CHECK(want != -ENOSPC);   /* SOCKS4_MSG_MAX always suffices */
    uint8_t ip[4];
    int err = expected(&t, null_userid ? "" : userid, ip);
    CHECK(want < 0 ? want == err : err == 0);
    if (want < 0) {
        CHECK(want == -EINVAL || want == -EAFNOSUPPORT);
        CHECK(n == want);   /* a bad request is judged before the room for it */
    } else if ((size_t)want > bufsize) {
        CHECK(n == -ENOSPC);
    } else {
        CHECK(n == want);
        CHECK(memcmp(buf, full, (size_t)n) == 0);
    }
    if (want > 0) {
        /* VN CD PORT, then the userid and, for 4a, the name, each NUL-terminated. */
        CHECK(full[0] == SOCKS4_VERSION && full[1] == SOCKS4_CMD_CONNECT);
        CHECK((uint16_t)(full[2] << 8 | full[3]) == t.port);
        const char *uid = null_userid ? "" : userid;
        size_t uid_len = strlen(uid);
        CHECK(uid_len <= SOCKS4_USERID_MAX);
        CHECK(memcmp(full + 8, uid, uid_len + 1) == 0);
        size_t name_len = t.is_name ? strlen(t.name) : 0;
        CHECK(!t.is_name || (name_len >= 1 && name_len <= 255));
        CHECK((size_t)want == 8 + uid_len + 1 + (t.is_name ? name_len + 1 : 0));
        CHECK(memcmp(full + 4, ip, 4) == 0);
        if (t.is_name)
            CHECK(memcmp(full + 8 + uid_len + 1, t.name, name_len + 1) == 0);
    }
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Past the reply's 8 bytes the answer cannot change; longer prefixes are checked once, whole. */
    size_t prefixes = size < 2 * SOCKS4_REPLY_LEN ? size : 2 * SOCKS4_REPLY_LEN;
    for (size_t len = 0; len <= prefixes; len++)
        decode_prefix(data, len);
    decode_prefix(data, size);
    encode_from(data, size);
    return 0;
}
