/* bind(), listen(), accept(), accept4(): a listener meant for the proxy (core/bind_rule.h) goes
 * through it with SOCKS5 BIND (binds.h); every other socket goes straight to libc, at the cost of
 * one relaxed load (accept, listen) or a look at the address (bind). */
#include "binds.h"
#include "hooks.h"
#include "libc.h"

SOCKSIFY_EXPORT int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
    int r = binds_bind(fd, addr, len);
    if (r > 0)
        return libc()->bind(fd, addr, len);
    return (int)hook_result(r);
}

SOCKSIFY_EXPORT int listen(int fd, int backlog)
{
    int r = binds_maybe(fd) ? binds_listen(fd, backlog) : 1;
    if (r > 0)
        return libc()->listen(fd, backlog);
    return (int)hook_result(r);
}

SOCKSIFY_EXPORT int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    bool mine = false;
    int r = binds_maybe(fd) ? binds_accept(fd, addr, len, flags, &mine) : 0;
    return mine ? (int)hook_result(r) : libc()->accept4(fd, addr, len, flags);
}

SOCKSIFY_EXPORT int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
    bool mine = false;
    int r = binds_maybe(fd) ? binds_accept(fd, addr, len, 0, &mine) : 0;
    return mine ? (int)hook_result(r) : libc()->accept(fd, addr, len);
}
