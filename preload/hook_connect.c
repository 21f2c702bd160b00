/* connect(): TCP connections to routed destinations become tunnels through the proxy; a UDP
 * socket gets an association and a default destination instead (udp.h). */
#include <errno.h>

#include "outbound.h"
#include "engine.h"
#include "libc.h"
#include "udp.h"

SOCKSIFY_EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    if (engine_maybe(fd)) {
        int r = engine_connect_again(fd);
        if (r <= 0)
            return r;
    }
    struct udp_assoc *a = udp_managed(fd);
    if (a)
        return udp_connect(fd, a, addr, len);
    union sockaddr_any dst;
    enum outbound_verdict v = outbound_decide(fd, addr, len, &dst);
    switch (v) {
    case OUTBOUND_PROXY: return outbound_connect(fd, addr, len);
    case OUTBOUND_UDP: return udp_connect(fd, NULL, addr, len);
    case OUTBOUND_REFUSE:
    case OUTBOUND_REJECT: return outbound_fail(v);
    default: return libc()->connect(fd, addr, len);
    }
}
SOCKSIFY_ALIAS(connect, __connect);
SOCKSIFY_INTERNAL(connect);
