/* connect(): TCP connections to routed destinations become tunnels through the proxy. */
#include "outbound.h"
#include "real.h"

SOCKSIFY_EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    if (outbound_decide(fd, addr, len) == OUTBOUND_PASS)
        return libc()->connect(fd, addr, len);
    return outbound_connect(fd, addr, len);
}
