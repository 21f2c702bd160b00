#include "verdict.h"

#include <errno.h>

#define DNS_PORT 53

bool verdict_dns_leak(const struct config *c, const union sockaddr_any *dst)
{
    return addr_port(dst) == DNS_PORT && !(c && (config_dns_mode(c) == DNS_LOCAL || c->direct_dns));
}

/* What "through the proxy" means for protocol: a tunnel, an association, or nothing SOCKS has. */
static struct verdict via(enum verdict_protocol protocol, enum verdict_reason reason, const struct route *r)
{
    struct verdict v = { .reason = reason };
    if (r)
        v.route = *r;
    switch (protocol) {
    case VERDICT_TCP_SOCKET: v.action = VERDICT_PROXY; break;
    case VERDICT_UDP_SOCKET: v.action = VERDICT_UDP; break;
    default:
        v.action = VERDICT_REFUSE;
        v.reason = VERDICT_UNCARRIED;
    }
    return v;
}

struct verdict route_verdict(const struct config *c, const union sockaddr_any *dst, bool is_fake,
                             enum verdict_protocol protocol)
{
    if (!c)
        return via(protocol, VERDICT_NO_CONFIG, NULL);
    if (is_fake)
        return via(protocol, VERDICT_FAKE_ADDRESS, NULL);
    struct route r = route_decide(c, dst, NULL);
    if (r.action == ROUTE_VIA)
        return via(protocol, VERDICT_ROUTED, &r);
    if (r.action == ROUTE_REJECT)
        return (struct verdict){ .action = VERDICT_REJECT, .reason = VERDICT_ROUTED, .route = r };
    if (verdict_dns_leak(c, dst))
        return (struct verdict){ .action = VERDICT_REFUSE, .reason = VERDICT_DNS_LEAK, .route = r };
    return (struct verdict){ .action = VERDICT_PASS, .reason = VERDICT_ROUTED, .route = r };
}

int verdict_errno(enum verdict_action action)
{
    switch (action) {
    case VERDICT_REJECT: return ECONNREFUSED;
    case VERDICT_REFUSE: return EACCES;
    default: return 0;
    }
}
