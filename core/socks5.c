#include "socks5.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fakedns.h"

/* Length of the ATYP+address+port part for a target, or -EINVAL. */
static int target_wire_len(const struct socks_target *t)
{
    if (t->is_name) {
        size_t n = strnlen(t->name, sizeof(t->name));
        if (n == 0 || n > SOCKS5_NAME_MAX)
            return -EINVAL;
        return (int)(1 + 1 + n + 2);
    }
    if (t->addr.sa.sa_family == AF_INET)
        return 1 + 4 + 2;
    if (t->addr.sa.sa_family == AF_INET6)
        return 1 + 16 + 2;
    return -EINVAL;
}

/* Writes ATYP, address and port; buf must hold target_wire_len bytes. */
static void target_write(uint8_t *p, const struct socks_target *t)
{
    if (t->is_name) {
        size_t n = strlen(t->name);
        *p++ = SOCKS5_ATYP_DOMAIN;
        *p++ = (uint8_t)n;
        memcpy(p, t->name, n);
        p += n;
    } else if (t->addr.sa.sa_family == AF_INET) {
        *p++ = SOCKS5_ATYP_IPV4;
        memcpy(p, &t->addr.in4.sin_addr, 4);
        p += 4;
    } else {
        *p++ = SOCKS5_ATYP_IPV6;
        memcpy(p, &t->addr.in6.sin6_addr, 16);
        p += 16;
    }
    p[0] = (uint8_t)(t->port >> 8);
    p[1] = (uint8_t)t->port;
}

char *socks_target_describe(const struct socks_target *t, const union sockaddr_any *dst, char *buf, size_t size)
{
    char addr[ADDR_TEXT_MAX];
    addr_format(dst, addr, sizeof(addr));
    if (t->is_name)
        snprintf(buf, size, "%s:%u (%s)", t->name, t->port, addr);
    else
        snprintf(buf, size, "%s", addr);
    return buf;
}

int socks5_methods_encode(uint8_t *buf, size_t size, bool offer_userpass)
{
    size_t n = offer_userpass ? 4 : 3;
    if (size < n)
        return -ENOSPC;
    buf[0] = SOCKS5_VERSION;
    buf[1] = (uint8_t)(n - 2);
    buf[2] = SOCKS5_METHOD_NONE;
    if (offer_userpass)
        buf[3] = SOCKS5_METHOD_USERPASS;
    return (int)n;
}

int socks5_method_decode(const uint8_t *buf, size_t len, uint8_t *method)
{
    if (len < 2)
        return 0;
    if (buf[0] != SOCKS5_VERSION)
        return -EPROTO;
    *method = buf[1];
    return 2;
}

int socks5_userpass_encode(uint8_t *buf, size_t size, const char *user, const char *pass)
{
    size_t ulen = strlen(user), plen = strlen(pass);
    if (ulen == 0 || ulen > 255 || plen > 255)
        return -EINVAL;
    size_t n = 3 + ulen + plen;
    if (size < n)
        return -ENOSPC;
    buf[0] = SOCKS5_USERPASS_VERSION;
    buf[1] = (uint8_t)ulen;
    memcpy(buf + 2, user, ulen);
    buf[2 + ulen] = (uint8_t)plen;
    memcpy(buf + 3 + ulen, pass, plen);
    return (int)n;
}

int socks5_userpass_decode(const uint8_t *buf, size_t len)
{
    if (len < 2)
        return 0;
    /* Some servers answer with version 5 here; the status byte is what matters. */
    if (buf[0] != SOCKS5_USERPASS_VERSION && buf[0] != SOCKS5_VERSION)
        return -EPROTO;
    return buf[1] == 0 ? 2 : -EACCES;
}

int socks5_request_encode(uint8_t *buf, size_t size, enum socks5_command cmd, const struct socks_target *target)
{
    int tlen = target_wire_len(target);
    if (tlen < 0)
        return tlen;
    if (size < (size_t)(3 + tlen))
        return -ENOSPC;
    buf[0] = SOCKS5_VERSION;
    buf[1] = (uint8_t)cmd;
    buf[2] = 0;
    target_write(buf + 3, target);
    return 3 + tlen;
}

/* Reads ATYP+address+port at p (len bytes available). Returns bytes used, 0 with *need if short, -EPROTO. */
static int target_read(const uint8_t *p, size_t len, struct socks_target *t, size_t *need)
{
    memset(t, 0, sizeof(*t));
    if (len < 2) {
        *need = 2;
        return 0;
    }
    size_t addr_len;
    switch (p[0]) {
    case SOCKS5_ATYP_IPV4: addr_len = 4; break;
    case SOCKS5_ATYP_IPV6: addr_len = 16; break;
    case SOCKS5_ATYP_DOMAIN: addr_len = 1 + (size_t)p[1]; break;
    default: return -EPROTO;
    }
    size_t total = 1 + addr_len + 2;
    if (len < total) {
        *need = total;
        return 0;
    }
    const uint8_t *port = p + 1 + addr_len;
    t->port = (uint16_t)(port[0] << 8 | port[1]);
    if (p[0] == SOCKS5_ATYP_IPV4) {
        t->addr.in4.sin_family = AF_INET;
        memcpy(&t->addr.in4.sin_addr, p + 1, 4);
        t->addr.in4.sin_port = htons(t->port);
    } else if (p[0] == SOCKS5_ATYP_IPV6) {
        t->addr.in6.sin6_family = AF_INET6;
        memcpy(&t->addr.in6.sin6_addr, p + 1, 16);
        t->addr.in6.sin6_port = htons(t->port);
    } else {
        t->is_name = true;
        memcpy(t->name, p + 2, p[1]);
        t->name[p[1]] = '\0';
    }
    return (int)total;
}

int socks5_reply_decode(const uint8_t *buf, size_t len, struct socks5_reply *out, size_t *need)
{
    *need = 3 + 2;
    if (len >= 1 && buf[0] != SOCKS5_VERSION)
        return -EPROTO;
    if (len >= 3 && buf[2] != 0)
        return -EPROTO;
    if (len < 3)
        return 0;
    size_t tneed = 0;
    int used = target_read(buf + 3, len - 3, &out->bound, &tneed);
    if (used <= 0) {
        if (used == 0)
            *need = 3 + tneed;
        return used;
    }
    out->code = buf[1];
    return 3 + used;
}

int socks5_udp_header_encode(uint8_t *buf, size_t size, const struct socks_target *target)
{
    int tlen = target_wire_len(target);
    if (tlen < 0)
        return tlen;
    if (size < (size_t)(3 + tlen))
        return -ENOSPC;
    buf[0] = buf[1] = 0; /* RSV */
    buf[2] = 0;          /* FRAG: a whole datagram */
    target_write(buf + 3, target);
    return 3 + tlen;
}

int socks5_udp_header_decode(const uint8_t *buf, size_t len, struct socks_target *from, uint8_t *frag)
{
    /* RSV is not checked: relays differ, and only the address matters. */
    if (len < 3)
        return -EPROTO;
    size_t need = 0;
    int used = target_read(buf + 3, len - 3, from, &need);
    /* A datagram is whole: a header that wants more bytes than it has is malformed. */
    if (used <= 0)
        return -EPROTO;
    *frag = buf[2];
    return 3 + used;
}

int socks5_udp_relay(const struct socks_target *bound, const union sockaddr_any *proxy, union sockaddr_any *relay)
{
    if (bound->is_name)
        return -EPROTO;   /* RFC 1928 allows it; no server we know does it, and we resolve nothing here */
    *relay = bound->addr;
    bool unspecified = relay->sa.sa_family == AF_INET ? relay->in4.sin_addr.s_addr == htonl(INADDR_ANY)
                                                      : IN6_IS_ADDR_UNSPECIFIED(&relay->in6.sin6_addr);
    if (!unspecified)
        return 0;
    if (!proxy)
        return -EHOSTUNREACH;
    *relay = *proxy;
    if (relay->sa.sa_family == AF_INET)
        relay->in4.sin_port = htons(bound->port);
    else
        relay->in6.sin6_port = htons(bound->port);
    return 0;
}

int socks5_reply_errno(uint8_t code)
{
    switch (code) {
    case SOCKS5_REP_SUCCEEDED: return 0;
    case SOCKS5_REP_NOT_ALLOWED: return EACCES;
    case SOCKS5_REP_NET_UNREACHABLE: return ENETUNREACH;
    case SOCKS5_REP_HOST_UNREACHABLE: return EHOSTUNREACH;
    case SOCKS5_REP_TTL_EXPIRED: return ETIMEDOUT;
    case SOCKS5_REP_CMD_UNSUPPORTED: return EOPNOTSUPP;
    case SOCKS5_REP_ATYP_UNSUPPORTED: return EAFNOSUPPORT;
    case SOCKS5_REP_GENERAL_FAILURE:
    case SOCKS5_REP_REFUSED:
    default: return ECONNREFUSED;
    }
}

const char *socks5_reply_text(uint8_t code)
{
    static const char *const text[] = {
        "succeeded", "general SOCKS server failure", "connection not allowed by ruleset",
        "network unreachable", "host unreachable", "connection refused", "TTL expired",
        "command not supported", "address type not supported",
    };
    return code < sizeof(text) / sizeof(text[0]) ? text[code] : "unknown reply code";
}

int socks5_udp_request_family(int sock_family, bool v6only, int last_proxy_family)
{
    if (sock_family != AF_INET6)
        return AF_INET;
    return v6only || last_proxy_family == AF_INET6 ? AF_INET6 : AF_INET;
}

int socks_target_for(struct fakedns *names, const union sockaddr_any *dst, struct socks_target *t)
{
    memset(t, 0, sizeof(*t));
    t->addr = *dst;
    t->port = addr_port(dst);
    if (!names || !fakedns_is_fake(names, dst))
        return 0;
    if (fakedns_name_for(names, dst, t->name) < 0)
        return -EHOSTUNREACH;
    t->is_name = true;
    return 0;
}
