/* read, write, readv, writev (and glibc's __read, __write, and the fortified __read_chk). While a
 * non-blocking connect's handshake runs the descriptor is a connecting socket, which has no data
 * either way (EAGAIN); on a UDP socket with an association each call carries one datagram through
 * the relay (udp.h). Every other call costs two relaxed atomic loads more than libc's: no lock,
 * no syscall, no allocation. */
#include <stddef.h>

#include "engine.h"
#include "hooks.h"
#include "libc.h"
#include "udp.h"

SOCKSIFY_EXPORT ssize_t read(int fd, void *buf, size_t n)
{
    if (engine_holds(fd))
        return hook_fail(EAGAIN);
    struct udp_assoc *a = udp_managed(fd);
    if (!a)
        return libc()->read(fd, buf, n);
    return hook_result(udp_recv_buffer(fd, a, buf, n, 0, NULL, NULL));
}

SOCKSIFY_EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
    if (engine_holds(fd))
        return hook_fail(EAGAIN);
    struct udp_assoc *a = udp_managed(fd);
    if (!a)
        return libc()->write(fd, buf, n);
    return hook_result(udp_send_buffer(fd, a, buf, n, 0));
}

SOCKSIFY_EXPORT ssize_t readv(int fd, const struct iovec *iov, int n)
{
    if (engine_holds(fd))
        return hook_fail(EAGAIN);
    struct udp_assoc *a = udp_managed(fd);
    if (!a || n < 0)
        return libc()->readv(fd, iov, n);
    struct msghdr msg = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n };
    return hook_result(udp_recv(fd, a, &msg, 0));
}

SOCKSIFY_EXPORT ssize_t writev(int fd, const struct iovec *iov, int n)
{
    if (engine_holds(fd))
        return hook_fail(EAGAIN);
    struct udp_assoc *a = udp_managed(fd);
    if (!a || n < 0)
        return libc()->writev(fd, iov, n);
    struct msghdr msg = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n };
    return hook_result(udp_send(fd, a, &msg, 0));
}


/* What programs built with _FORTIFY_SOURCE call when the buffer's size is known. */
SOCKSIFY_EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
    if (n > buflen)
        __chk_fail();
    return hook_read(fd, buf, n);
}

SOCKSIFY_ALIAS(read, __read);
SOCKSIFY_ALIAS(write, __write);
SOCKSIFY_INTERNAL(read);
