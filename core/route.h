/* Routing: which connections go straight to their destination, which are refused, and which
 * chain of proxies the others take. */
#ifndef SOCKSIFY_ROUTE_H
#define SOCKSIFY_ROUTE_H

#include "addr.h"
#include "config.h"

struct route {
    enum route_action action;
    const struct chain *chain;   /* for ROUTE_VIA */
    const struct rule *rule;     /* the rule that matched, NULL for the built-in ones */
    const char *reason;          /* static text for logs: "loopback", "route", "no route matched", ... */
    bool to_proxy;               /* built-in: the destination is a configured proxy (the library's own connects) */
};

/* Decides the route of a TCP connection to dst under c. name is the host name behind a fake
 * address (then dst's address means nothing and only its port counts), or NULL. Built-in routes
 * come first (the proxies themselves and, unless turned off, loopback go direct), then the
 * rules in order, then the default chain; with no default, the connection is rejected. */
struct route route_decide(const struct config *c, const union sockaddr_any *dst, const char *name);
/* True if rule r matches a connection to dst (or to name, when not NULL) at dst's port. */
bool rule_match(const struct rule *r, const union sockaddr_any *dst, const char *name);

#endif
