/* Routing: which connections go through the proxy and which go straight to their destination. */
#ifndef SOCKSIFY_ROUTE_H
#define SOCKSIFY_ROUTE_H

#include "addr.h"
#include "config.h"

enum route_action { ROUTE_DIRECT, ROUTE_PROXY };

struct route {
    enum route_action action;
    const char *reason;   /* static text for logs: "loopback", "direct 10.0.0.0/8", ... */
};

/* Decides the route for a TCP connection to dst under config c (first match wins). */
struct route route_decide(const struct config *c, const union sockaddr_any *dst);

#endif
