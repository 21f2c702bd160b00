#include "cidr.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int cidr_parse(const char *text, struct cidr *out)
{
    char buf[INET6_ADDRSTRLEN + 5];
    if (strlen(text) >= sizeof(buf))
        return -EINVAL;
    strcpy(buf, text);
    char *slash = strchr(buf, '/');
    if (slash)
        *slash = '\0';
    memset(out, 0, sizeof(*out));
    if (inet_pton(AF_INET, buf, out->addr) == 1)
        out->family = AF_INET;
    else if (inet_pton(AF_INET6, buf, out->addr) == 1)
        out->family = AF_INET6;
    else
        return -EINVAL;
    unsigned max = out->family == AF_INET ? 32 : 128;
    out->prefix = max;
    if (slash) {
        char *end;
        const char *p = slash + 1;
        long v = strtol(p, &end, 10);
        if (!isdigit((unsigned char)*p) || *end != '\0' || v < 0 || v > (long)max)
            return -EINVAL;
        out->prefix = (unsigned)v;
    }
    for (unsigned bit = out->prefix; bit < max; bit++)
        out->addr[bit / 8] &= (uint8_t)~(0x80u >> (bit % 8));
    return 0;
}

static bool prefix_equal(const uint8_t *a, const uint8_t *b, unsigned prefix)
{
    unsigned bytes = prefix / 8, rest = prefix % 8;
    if (memcmp(a, b, bytes) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xffu << (8 - rest));
    return (a[bytes] & mask) == (b[bytes] & mask);
}

bool cidr_match(const struct cidr *c, const union sockaddr_any *a)
{
    if (a->sa.sa_family == AF_INET)
        return c->family == AF_INET && prefix_equal(c->addr, (const uint8_t *)&a->in4.sin_addr, c->prefix);
    if (a->sa.sa_family != AF_INET6)
        return false;
    const uint8_t *x = a->in6.sin6_addr.s6_addr;
    if (c->family == AF_INET6)
        return prefix_equal(c->addr, x, c->prefix);
    return IN6_IS_ADDR_V4MAPPED(&a->in6.sin6_addr) && prefix_equal(c->addr, x + 12, c->prefix);
}
