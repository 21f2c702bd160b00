/* When a listening socket is meant for the proxy (SOCKS5 BIND) and when it stays local: the one
 * rule the hooks ask, unit-tested here. A socket goes through the proxy when all of these hold:
 *   - the config's `bind` is auto (the default; `bind no` keeps every listener local);
 *   - it is a TCP socket bound to port 0 (a fixed port is a server of the program's own);
 *   - its address is not loopback (0.0.0.0, ::, or one of the host's other addresses);
 *   - the program has a proxied TCP connection open (the tunnel), routed via a chain whose last
 *     proxy can be a SOCKS5 one only (SOCKS4 and HTTP CONNECT proxies cannot BIND here).
 * The BIND then goes through that tunnel's chain, naming the tunnel's target as the expected
 * peer: the FTP server of an active-mode transfer connects back from the host the control
 * connection reaches. */
#ifndef SOCKSIFY_BIND_RULE_H
#define SOCKSIFY_BIND_RULE_H

#include <stdbool.h>

#include "addr.h"
#include "config.h"
#include "route.h"

struct bind_verdict {
    bool via_proxy;
    const char *reason;   /* static text for logs: why local, or "proxied connection open" */
};

/* The verdict for a TCP socket (tcp false: any other) bound to local, while the program's latest
 * proxied connection takes tunnel_route (NULL: it has none open). */
struct bind_verdict bind_rule_decide(const struct config *c, bool tcp, const union sockaddr_any *local,
                                     const struct route *tunnel_route);
/* Whether every proxy that chain ch may put last is a SOCKS5 one (the only kind that can BIND here;
 * chain_socks5_end). */
bool bind_rule_chain_binds(const struct config *c, const struct chain *ch);

#endif
