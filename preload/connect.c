/* connect(): TCP connections to routed destinations become tunnels through the proxy. */
#include <errno.h>

#include "outbound.h"
#include "pending.h"
#include "real.h"

SOCKSIFY_EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    if (pending_maybe(fd)) {
        int r = pending_connect_again(fd);
        if (r <= 0)
            return r;
    }
    enum outbound_verdict v = outbound_decide(fd, addr, len);
    switch (v) {
    case OUTBOUND_PROXY: return outbound_connect(fd, addr, len);
    case OUTBOUND_REFUSE:
    case OUTBOUND_REJECT: return outbound_fail(v);
    default: return libc()->connect(fd, addr, len);
    }
}
