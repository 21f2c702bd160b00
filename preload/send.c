/* sendto()/sendmsg() with MSG_FASTOPEN connect and send in one call (TCP Fast Open): the
 * connect goes through the proxy, then the data goes through the tunnel. */
#include <stdbool.h>
#include <stddef.h>

#include "outbound.h"
#include "real.h"

static bool fastopen_via_proxy(int fd, int flags, const struct sockaddr *addr, socklen_t len)
{
    return (flags & MSG_FASTOPEN) && outbound_decide(fd, addr, len) == OUTBOUND_PROXY;
}

SOCKSIFY_EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *addr, socklen_t len)
{
    if (!fastopen_via_proxy(fd, flags, addr, len))
        return libc()->sendto(fd, buf, n, flags, addr, len);
    if (outbound_connect(fd, addr, len) < 0)
        return -1;
    return libc()->sendto(fd, buf, n, flags & ~MSG_FASTOPEN, NULL, 0);
}

SOCKSIFY_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
    if (!msg || !fastopen_via_proxy(fd, flags, msg->msg_name, msg->msg_namelen))
        return libc()->sendmsg(fd, msg, flags);
    if (outbound_connect(fd, msg->msg_name, msg->msg_namelen) < 0)
        return -1;
    struct msghdr tunnelled = *msg;
    tunnelled.msg_name = NULL;
    tunnelled.msg_namelen = 0;
    return libc()->sendmsg(fd, &tunnelled, flags & ~MSG_FASTOPEN);
}
