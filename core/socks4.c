#include "socks4.h"

#include <errno.h>
#include <string.h>

/* The fixed part of a request: VN CD DSTPORT(2) DSTIP(4). */
#define SOCKS4_HEADER_LEN 8

/* The reply's VN: 0, not 4, per the protocol. */
#define SOCKS4_REPLY_VERSION 0

/* Finds the IPv4 address to put in DSTIP for an address target. Returns 0, -EAFNOSUPPORT for
 * IPv6 that is not v4-mapped, or -EINVAL for another family or an address a SOCKS4a server would
 * take for the "a name follows" marker (0.0.0.x, x != 0). */
static int target_ipv4(const struct socks_target *t, uint8_t ip[4])
{
    if (t->addr.sa.sa_family == AF_INET) {
        memcpy(ip, &t->addr.in4.sin_addr, 4);
    } else if (t->addr.sa.sa_family == AF_INET6) {
        const struct in6_addr *a6 = &t->addr.in6.sin6_addr;
        if (!IN6_IS_ADDR_V4MAPPED(a6))
            return -EAFNOSUPPORT;
        memcpy(ip, &a6->s6_addr[12], 4);
    } else {
        return -EINVAL;
    }
    /* A 4a server would look for a name after the userid, find none, and wait or fail. */
    if (ip[0] == 0 && ip[1] == 0 && ip[2] == 0 && ip[3] != 0)
        return -EINVAL;
    return 0;
}

/* Length of a NUL-terminated field of at most max bytes, or -EINVAL if the string is longer.
 * strnlen with max + 1 bounds the scan, so an unterminated array is caught rather than overrun. */
static int field_len(const char *s, size_t max)
{
    size_t n = strnlen(s, max + 1);
    return n > max ? -EINVAL : (int)n;
}

int socks4_request_encode(uint8_t *buf, size_t size, const struct socks_target *t, const char *userid)
{
    uint8_t ip[4] = { 0, 0, 0, 1 };   /* the SOCKS4a marker, kept for name targets */
    int name_len = 0;
    if (t->is_name) {
        /* name[] is SOCKS5_NAME_MAX + 1 bytes: a name that fills it has no NUL and is too long. */
        name_len = field_len(t->name, SOCKS5_NAME_MAX);
        if (name_len <= 0)
            return -EINVAL;
    } else {
        int err = target_ipv4(t, ip);
        if (err < 0)
            return err;
    }
    int user_len = field_len(userid ? userid : "", SOCKS4_USERID_MAX);
    if (user_len < 0)
        return user_len;

    size_t n = SOCKS4_HEADER_LEN + (size_t)user_len + 1 + (t->is_name ? (size_t)name_len + 1 : 0);
    if (size < n)
        return -ENOSPC;
    buf[0] = SOCKS4_VERSION;
    buf[1] = SOCKS4_CMD_CONNECT;
    buf[2] = (uint8_t)(t->port >> 8);
    buf[3] = (uint8_t)t->port;
    memcpy(buf + 4, ip, 4);
    uint8_t *p = buf + SOCKS4_HEADER_LEN;
    memcpy(p, userid ? userid : "", (size_t)user_len + 1);   /* with its NUL */
    p += user_len + 1;
    if (t->is_name)
        memcpy(p, t->name, (size_t)name_len + 1);
    return (int)n;
}

int socks4_reply_decode(const uint8_t *buf, size_t len, uint8_t *code)
{
    /* Judged on the first byte, so a server speaking something else fails without waiting for 8. */
    if (len >= 1 && buf[0] != SOCKS4_REPLY_VERSION)
        return -EPROTO;
    if (len < SOCKS4_REPLY_LEN)
        return 0;
    *code = buf[1];
    return SOCKS4_REPLY_LEN;
}

int socks4_reply_errno(uint8_t code)
{
    switch (code) {
    case SOCKS4_REP_GRANTED: return 0;
    case SOCKS4_REP_REJECTED: return ECONNREFUSED;
    case SOCKS4_REP_NO_IDENTD:
    case SOCKS4_REP_IDENTD_MISMATCH: return EACCES;
    default: return EPROTO;   /* the protocol defines no other code */
    }
}

const char *socks4_reply_text(uint8_t code)
{
    switch (code) {
    case SOCKS4_REP_GRANTED: return "request granted";
    case SOCKS4_REP_REJECTED: return "request rejected or failed";
    case SOCKS4_REP_NO_IDENTD: return "rejected: the server cannot reach identd on the client";
    case SOCKS4_REP_IDENTD_MISMATCH: return "rejected: identd reports a different user-id";
    default: return "unknown reply code";
    }
}
