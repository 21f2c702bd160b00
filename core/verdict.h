/* The decision every way in shares (the library's hooks today, the seccomp supervisor next): what
 * becomes of one outgoing connect or datagram, from the facts a hook gathered about it. Pure: no
 * I/O, no logging; the caller acts on the verdict and says why. */
#ifndef SOCKSIFY_VERDICT_H
#define SOCKSIFY_VERDICT_H

#include <stdbool.h>

#include "addr.h"
#include "config.h"
#include "route.h"

enum verdict_action {
    VERDICT_PASS,     /* not socksify's: the call goes to libc as if socksify were not there */
    VERDICT_PROXY,    /* a TCP connection through the route's chain */
    VERDICT_UDP,      /* a datagram (or UDP connect) through the socket's UDP association */
    VERDICT_REFUSE,   /* it would leak past the proxy: fails with EACCES */
    VERDICT_REJECT,   /* a route says reject: fails with ECONNREFUSED */
};

/* Why, for the caller's log line. */
enum verdict_reason {
    VERDICT_ROUTED,        /* the route (route.rule, or its built-in reason) decided */
    VERDICT_NO_CONFIG,     /* no usable configuration: what would be proxied fails closed */
    VERDICT_FAKE_ADDRESS,  /* a fake address stands for a name only the proxy can resolve */
    VERDICT_DNS_LEAK,      /* DNS routed direct while names are remote */
    VERDICT_UNCARRIED,     /* a protocol SOCKS cannot carry, routed via a proxy */
};

/* The kind of socket the call is made on. */
enum verdict_protocol {
    VERDICT_TCP_SOCKET,     /* TCP or MPTCP: speaks TCP to the proxy */
    VERDICT_UDP_SOCKET,
    VERDICT_OTHER_SOCKET,   /* another inet protocol (UDP-Lite, SCTP, ICMP, raw): SOCKS cannot carry it */
};

struct verdict {
    enum verdict_action action;
    enum verdict_reason reason;
    struct route route;   /* valid when reason is VERDICT_ROUTED or VERDICT_DNS_LEAK */
};

/* The verdict for a call of protocol to dst under c (NULL: no usable configuration), is_fake
 * telling whether dst is a fake address. */
struct verdict route_verdict(const struct config *c, const union sockaddr_any *dst, bool is_fake,
                             enum verdict_protocol protocol);
/* Whether traffic straight to dst would carry DNS past the proxy: port 53 while names are not
 * local (unless direct_dns yes). c may be NULL. */
bool verdict_dns_leak(const struct config *c, const union sockaddr_any *dst);
/* The errno a refused or rejected call fails with (0 for the others). */
int verdict_errno(enum verdict_action action);

#endif
