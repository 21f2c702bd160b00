#include "addr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

bool addr_from_sockaddr(union sockaddr_any *out, const struct sockaddr *sa, socklen_t len)
{
    if (!sa)
        return false;
    if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        memset(out, 0, sizeof(*out));
        memcpy(&out->in4, sa, sizeof(struct sockaddr_in));
        return true;
    }
    if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        memset(out, 0, sizeof(*out));
        memcpy(&out->in6, sa, sizeof(struct sockaddr_in6));
        return true;
    }
    return false;
}

socklen_t addr_len(const union sockaddr_any *a)
{
    switch (a->sa.sa_family) {
    case AF_INET: return sizeof(struct sockaddr_in);
    case AF_INET6: return sizeof(struct sockaddr_in6);
    default: return 0;
    }
}

uint16_t addr_port(const union sockaddr_any *a)
{
    return ntohs(a->sa.sa_family == AF_INET6 ? a->in6.sin6_port : a->in4.sin_port);
}

char *addr_format(const union sockaddr_any *a, char *buf, size_t size)
{
    char host[INET6_ADDRSTRLEN] = "?";
    if (a->sa.sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &a->in6.sin6_addr, host, sizeof(host));
        snprintf(buf, size, "[%s]:%u", host, addr_port(a));
    } else if (a->sa.sa_family == AF_INET) {
        inet_ntop(AF_INET, &a->in4.sin_addr, host, sizeof(host));
        snprintf(buf, size, "%s:%u", host, addr_port(a));
    } else {
        snprintf(buf, size, "(family %d)", a->sa.sa_family);
    }
    return buf;
}

bool addr_is_loopback(const union sockaddr_any *a)
{
    if (a->sa.sa_family == AF_INET)
        return (ntohl(a->in4.sin_addr.s_addr) >> 24) == 127;
    if (a->sa.sa_family != AF_INET6)
        return false;
    const struct in6_addr *x = &a->in6.sin6_addr;
    if (IN6_IS_ADDR_LOOPBACK(x))
        return true;
    return IN6_IS_ADDR_V4MAPPED(x) && x->s6_addr[12] == 127;
}

bool addr_equal(const union sockaddr_any *a, const union sockaddr_any *b)
{
    if (a->sa.sa_family != b->sa.sa_family || addr_port(a) != addr_port(b))
        return false;
    if (a->sa.sa_family == AF_INET)
        return a->in4.sin_addr.s_addr == b->in4.sin_addr.s_addr;
    if (a->sa.sa_family == AF_INET6)
        return memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, sizeof(struct in6_addr)) == 0;
    return false;
}

void addr_to_v4mapped(union sockaddr_any *a)
{
    if (a->sa.sa_family != AF_INET)
        return;
    struct sockaddr_in v4 = a->in4;
    memset(a, 0, sizeof(*a));
    a->in6.sin6_family = AF_INET6;
    a->in6.sin6_port = v4.sin_port;
    a->in6.sin6_addr.s6_addr[10] = 0xff;
    a->in6.sin6_addr.s6_addr[11] = 0xff;
    memcpy(&a->in6.sin6_addr.s6_addr[12], &v4.sin_addr, 4);
}

void addr_from_v4mapped(union sockaddr_any *a)
{
    if (a->sa.sa_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&a->in6.sin6_addr))
        return;
    struct sockaddr_in v4 = { .sin_family = AF_INET, .sin_port = a->in6.sin6_port };
    memcpy(&v4.sin_addr, &a->in6.sin6_addr.s6_addr[12], 4);
    memset(a, 0, sizeof(*a));
    a->in4 = v4;
}

socklen_t addr_copy_out(const union sockaddr_any *a, void *out, socklen_t room)
{
    socklen_t full = addr_len(a);
    memcpy(out, a, room < full ? room : full);
    return full;
}
