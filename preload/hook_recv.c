/* recv, recvfrom, recvmsg, recvmmsg (and glibc's __recv, and the fortified __recv_chk and
 * __recvfrom_chk). While a non-blocking connect's handshake runs they give EAGAIN, as on a
 * connecting socket; on a UDP socket with an association each call takes one datagram from the
 * relay, without its SOCKS header and from the real peer (udp.h). Other descriptors pay two
 * relaxed atomic loads. */
#include <stddef.h>

#include "engine.h"
#include "hooks.h"
#include "libc.h"
#include "udp.h"

SOCKSIFY_EXPORT ssize_t recv(int fd, void *buf, size_t n, int flags)
{
    if (engine_holds(fd))
        return hook_fail(EAGAIN);
    struct udp_assoc *a = udp_managed(fd);
    if (!a)
        return libc()->recv(fd, buf, n, flags);
    return hook_result(udp_recv_buffer(fd, a, buf, n, flags, NULL, NULL));
}

SOCKSIFY_EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *addr, socklen_t *len)
{
    if (engine_holds(fd))
        return hook_fail(EAGAIN);
    struct udp_assoc *a = udp_managed(fd);
    if (!a)
        return libc()->recvfrom(fd, buf, n, flags, addr, len);
    return hook_result(udp_recv_buffer(fd, a, buf, n, flags, addr, len));
}

SOCKSIFY_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
    if (engine_holds(fd))
        return hook_fail(EAGAIN);
    struct udp_assoc *a = msg ? udp_managed(fd) : NULL;
    return a ? hook_result(udp_recv(fd, a, msg, flags)) : libc()->recvmsg(fd, msg, flags);
}

SOCKSIFY_EXPORT int recvmmsg(int fd, struct mmsghdr *msgs, unsigned int n, int flags, struct timespec *timeout)
{
    if (engine_holds(fd))
        return hook_fail(EAGAIN);
    struct udp_assoc *a = msgs ? udp_managed(fd) : NULL;
    if (!a)
        return libc()->recvmmsg(fd, msgs, n, flags, timeout);
    return (int)hook_result(udp_recv_many(fd, a, msgs, n, flags, timeout));
}

/* glibc's: reports the overflow and aborts, as the unhooked variant would. */
extern void __chk_fail(void) __attribute__((noreturn));

/* What programs built with _FORTIFY_SOURCE call when the buffer's size is known. */
SOCKSIFY_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
    if (n > buflen)
        __chk_fail();
    return hook_recv(fd, buf, n, flags);
}

SOCKSIFY_EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags, struct sockaddr *addr,
                                       socklen_t *len)
{
    if (n > buflen)
        __chk_fail();
    return hook_recvfrom(fd, buf, n, flags, addr, len);
}

SOCKSIFY_ALIAS(recv, __recv);
SOCKSIFY_INTERNAL(recv);
SOCKSIFY_INTERNAL(recvfrom);
SOCKSIFY_INTERNAL(recvmsg);
SOCKSIFY_INTERNAL(recvmmsg);
