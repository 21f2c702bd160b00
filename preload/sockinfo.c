/* getpeername(): a proxied socket's peer is the target the program asked for, not the proxy;
 * a UDP socket with an association has the default destination the program connected it to;
 * a socket whose handshake runs has none yet. */
#include <errno.h>

#include "pending.h"
#include "real.h"
#include "registry.h"
#include "udp.h"

SOCKSIFY_EXPORT int getpeername(int fd, struct sockaddr *addr, socklen_t *len)
{
    if (!addr || !len)
        return libc()->getpeername(fd, addr, len);
    /* A connecting socket has no peer yet (the placeholder under its number has one: its own pair). */
    if (pending_maybe(fd) && pending_running(fd)) {
        errno = ENOTCONN;
        return -1;
    }
    struct udp_assoc *a = udp_managed(fd);
    if (a)
        return udp_peer(a, addr, len);
    union sockaddr_any target;
    if (!registry_target(fd, &target))
        return libc()->getpeername(fd, addr, len);
    *len = addr_copy_out(&target, addr, *len);
    return 0;
}
