/* getpeername(): a proxied socket's peer is the target the program asked for, not the proxy. */
#include <string.h>

#include "real.h"
#include "registry.h"

SOCKSIFY_EXPORT int getpeername(int fd, struct sockaddr *addr, socklen_t *len)
{
    union sockaddr_any target;
    if (!addr || !len || !registry_target(fd, &target))
        return libc()->getpeername(fd, addr, len);
    socklen_t full = addr_len(&target);
    memcpy(addr, &target, *len < full ? *len : full);
    *len = full;
    return 0;
}
