/* connect(): TCP connections to routed destinations become tunnels through the proxy. */
#include <errno.h>

#include "outbound.h"
#include "real.h"

SOCKSIFY_EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    switch (outbound_decide(fd, addr, len)) {
    case OUTBOUND_PROXY: return outbound_connect(fd, addr, len);
    case OUTBOUND_REFUSE: errno = EACCES; return -1;
    default: return libc()->connect(fd, addr, len);
    }
}
