#include "bind_rule.h"

#include <stddef.h>

#include "chain.h"

bool bind_rule_chain_binds(const struct config *c, const struct chain *ch)
{
    return ch && ch->hop_count && chain_socks5_end(c, ch) == CHAIN_SOCKS5_END_ALWAYS;
}

static struct bind_verdict local(const char *why)
{
    return (struct bind_verdict){ .via_proxy = false, .reason = why };
}

struct bind_verdict bind_rule_decide(const struct config *c, bool tcp, const union sockaddr_any *addr,
                                     const struct route *tunnel_route)
{
    if (!c || !c->bind_auto)
        return local("bind no");
    if (!tcp)
        return local("not a TCP socket");
    if (addr->sa.sa_family != AF_INET && addr->sa.sa_family != AF_INET6)
        return local("not an inet address");
    if (addr_port(addr) != 0)
        return local("a fixed port: a server of the program's own");
    if (addr_is_loopback(addr))
        return local("loopback");
    if (!tunnel_route)
        return local("no proxied connection open");
    if (tunnel_route->action != ROUTE_VIA)
        return local("the proxied connection's route is not via a proxy");
    if (!bind_rule_chain_binds(c, tunnel_route->chain))
        return local("the chain's last proxy cannot BIND (SOCKS5 only)");
    return (struct bind_verdict){ .via_proxy = true, .reason = "proxied connection open" };
}
