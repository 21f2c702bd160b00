/* connect(): TCP connections to routed destinations become tunnels through the proxy; a UDP
 * socket gets an association and a default destination instead (udp.h). */
#include <errno.h>

#include "binds.h"
#include "outbound.h"
#include "engine.h"
#include "hooks.h"
#include "libc.h"
#include "udp.h"

SOCKSIFY_EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    int again = engine_maybe(fd) ? engine_connect_again(fd) : 0;
    if (again < 0)
        return hook_fail(-again);
    int unbound = binds_maybe(fd) ? binds_connecting(fd) : 0;
    if (unbound < 0)
        return hook_fail(-unbound);
    struct udp_assoc *a = udp_managed(fd);
    if (a)
        return (int)hook_result(udp_connect(fd, a, addr, len));
    union sockaddr_any dst;
    enum verdict_action v = outbound_decide(fd, addr, len, &dst);
    switch (v) {
    case VERDICT_PROXY: return (int)hook_result(outbound_connect(fd, addr, len));
    case VERDICT_UDP: return (int)hook_result(udp_connect(fd, NULL, addr, len));
    case VERDICT_REFUSE:
    case VERDICT_REJECT: return hook_fail(verdict_errno(v));
    default: return libc()->connect(fd, addr, len);
    }
}
SOCKSIFY_ALIAS(connect, __connect);
SOCKSIFY_INTERNAL(connect);
