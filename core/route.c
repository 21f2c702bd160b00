#include "route.h"

struct route route_decide(const struct config *c, const union sockaddr_any *dst)
{
    /* The proxy itself must be reachable directly, or nothing could ever connect to it. */
    if (c->has_proxy && c->proxy.has_addr) {
        union sockaddr_any proxy = c->proxy.addr, mapped = c->proxy.addr;
        addr_to_v4mapped(&mapped);
        if (addr_equal(&proxy, dst) || addr_equal(&mapped, dst))
            return (struct route){ ROUTE_DIRECT, "the proxy itself" };
    }
    if (c->direct_loopback && addr_is_loopback(dst))
        return (struct route){ ROUTE_DIRECT, "loopback" };
    for (size_t i = 0; i < c->direct_count; i++)
        if (cidr_match(&c->direct[i], dst))
            return (struct route){ ROUTE_DIRECT, "direct range" };
    return (struct route){ ROUTE_PROXY, "via proxy" };
}
