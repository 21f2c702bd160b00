#include "addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
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
    if (sa->sa_family == AF_INET6 && len >= ADDR_IN6_MIN_LEN) {
        memset(out, 0, sizeof(*out));
        /* The scope id is read only from a full sockaddr_in6, as the kernel does. */
        memcpy(&out->in6, sa, len < (socklen_t)sizeof(struct sockaddr_in6) ? ADDR_IN6_MIN_LEN : sizeof(struct sockaddr_in6));
        return true;
    }
    return false;
}

/* AF_UNSPEC in a send: an IPv4 socket takes the rest as an IPv4 address, an IPv6 one as none. */
static enum addr_form unspec_send(union sockaddr_any *out, const struct sockaddr *sa, socklen_t len, int sock_family)
{
    if (sock_family < 0)
        return ADDR_FORM_UNKNOWN;
    if (sock_family != AF_INET)
        return ADDR_FORM_NONE;   /* an IPv6 socket, or not an inet socket at all */
    if (len < (socklen_t)sizeof(struct sockaddr_in))
        return ADDR_FORM_INVALID;
    memset(out, 0, sizeof(*out));
    memcpy(&out->in4, sa, sizeof(struct sockaddr_in));
    out->in4.sin_family = AF_INET;
    return ADDR_FORM_INET;
}

enum addr_form addr_read_as_kernel(union sockaddr_any *out, const struct sockaddr *sa, socklen_t len, int sock_family,
                                   bool is_connect)
{
    if (!sa || len < (socklen_t)sizeof(sa_family_t))
        return is_connect ? ADDR_FORM_INVALID : ADDR_FORM_NONE;
    if (addr_from_sockaddr(out, sa, len))
        return ADDR_FORM_INET;
    if (sa->sa_family != AF_UNSPEC)
        return ADDR_FORM_INVALID;
    return is_connect ? ADDR_FORM_NONE : unspec_send(out, sa, len, sock_family);
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

void addr_set_port(union sockaddr_any *a, uint16_t port)
{
    if (a->sa.sa_family == AF_INET)
        a->in4.sin_port = htons(port);
    else if (a->sa.sa_family == AF_INET6)
        a->in6.sin6_port = htons(port);
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

bool addr_is_this_host(const union sockaddr_any *a)
{
    if (addr_is_loopback(a))
        return true;
    if (a->sa.sa_family == AF_INET)
        return a->in4.sin_addr.s_addr == htonl(INADDR_ANY);
    if (a->sa.sa_family != AF_INET6)
        return false;
    const struct in6_addr *x = &a->in6.sin6_addr;
    static const uint8_t mapped_any[16] = { [10] = 0xff, [11] = 0xff };
    return IN6_IS_ADDR_UNSPECIFIED(x) || memcmp(x->s6_addr, mapped_any, 16) == 0;
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

int addr_fit_family(union sockaddr_any *a, int family)
{
    if (a->sa.sa_family == family)
        return 0;
    if (family != AF_INET6 || a->sa.sa_family != AF_INET)
        return -EAFNOSUPPORT;
    addr_to_v4mapped(a);
    return 0;
}

int addr_split_hostport(const char *text, struct addr_hostport *out)
{
    memset(out, 0, sizeof(*out));
    out->host = text;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (!close)
            return -EINVAL;
        if (close[1] != '\0' && close[1] != ':')
            return -EBADMSG;
        out->host = text + 1;
        out->host_len = (size_t)(close - out->host);
        out->port = close[1] ? close + 2 : NULL;
        out->bracketed = true;
        return 0;
    }
    const char *colon = strchr(text, ':');
    out->bare_ipv6 = colon && strchr(colon + 1, ':');
    if (!colon || out->bare_ipv6) {
        out->host_len = strlen(text);
        return 0;
    }
    out->host_len = (size_t)(colon - text);
    out->port = colon + 1;
    return 0;
}

int addr_parse_port(const char *text, uint16_t *port)
{
    if (text[0] == '\0' || strspn(text, "0123456789") != strlen(text))
        return -EINVAL;
    /* Digits only, so strtol stops at the end; a long run of them saturates at LONG_MAX. */
    long v = strtol(text, NULL, 10);
    if (v < 1 || v > 65535)
        return -ERANGE;
    *port = (uint16_t)v;
    return 0;
}
