/* read/write/recv/send and their vector and message forms. While a non-blocking connect's
 * handshake runs the descriptor is a connecting socket, which has no data either way (EAGAIN);
 * on a UDP socket with an association each call carries one datagram through the relay (udp.h).
 * Every other call costs two relaxed atomic loads more than libc's: no lock, no syscall, no
 * allocation. */
#include "pending.h"
#include "real.h"
#include "udp.h"

SOCKSIFY_EXPORT ssize_t read(int fd, void *buf, size_t n)
{
    if (pending_hold(fd))
        return -1;
    struct udp_assoc *a = udp_managed(fd);
    if (!a)
        return libc()->read(fd, buf, n);
    return udp_recv_buffer(fd, a, buf, n, 0, NULL, NULL);
}

SOCKSIFY_EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
    if (pending_hold(fd))
        return -1;
    struct udp_assoc *a = udp_managed(fd);
    if (!a)
        return libc()->write(fd, buf, n);
    return udp_send_buffer(fd, a, buf, n, 0);
}

SOCKSIFY_EXPORT ssize_t readv(int fd, const struct iovec *iov, int n)
{
    if (pending_hold(fd))
        return -1;
    struct udp_assoc *a = udp_managed(fd);
    if (!a || n < 0)
        return libc()->readv(fd, iov, n);
    struct msghdr msg = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n };
    return udp_recv(fd, a, &msg, 0);
}

SOCKSIFY_EXPORT ssize_t writev(int fd, const struct iovec *iov, int n)
{
    if (pending_hold(fd))
        return -1;
    struct udp_assoc *a = udp_managed(fd);
    if (!a || n < 0)
        return libc()->writev(fd, iov, n);
    struct msghdr msg = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n };
    return udp_send(fd, a, &msg, 0);
}

SOCKSIFY_EXPORT ssize_t recv(int fd, void *buf, size_t n, int flags)
{
    if (pending_hold(fd))
        return -1;
    struct udp_assoc *a = udp_managed(fd);
    if (!a)
        return libc()->recv(fd, buf, n, flags);
    return udp_recv_buffer(fd, a, buf, n, flags, NULL, NULL);
}

SOCKSIFY_EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags)
{
    if (pending_hold(fd))
        return -1;
    struct udp_assoc *a = udp_managed(fd);
    if (!a)
        return libc()->send(fd, buf, n, flags);
    return udp_send_buffer(fd, a, buf, n, flags);
}

SOCKSIFY_EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *addr, socklen_t *len)
{
    if (pending_hold(fd))
        return -1;
    struct udp_assoc *a = udp_managed(fd);
    if (!a)
        return libc()->recvfrom(fd, buf, n, flags, addr, len);
    return udp_recv_buffer(fd, a, buf, n, flags, addr, len);
}

SOCKSIFY_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
    if (pending_hold(fd))
        return -1;
    struct udp_assoc *a = msg ? udp_managed(fd) : NULL;
    return a ? udp_recv(fd, a, msg, flags) : libc()->recvmsg(fd, msg, flags);
}

SOCKSIFY_EXPORT int recvmmsg(int fd, struct mmsghdr *msgs, unsigned int n, int flags, struct timespec *timeout)
{
    if (pending_hold(fd))
        return -1;
    struct udp_assoc *a = msgs ? udp_managed(fd) : NULL;
    return a ? udp_recv_many(fd, a, msgs, n, flags, timeout) : libc()->recvmmsg(fd, msgs, n, flags, timeout);
}

SOCKSIFY_ALIAS(read, __read);
SOCKSIFY_ALIAS(write, __write);
SOCKSIFY_ALIAS(recv, __recv);
SOCKSIFY_ALIAS(send, __send);
SOCKSIFY_INTERNAL(read);
SOCKSIFY_INTERNAL(recv);
SOCKSIFY_INTERNAL(recvfrom);
SOCKSIFY_INTERNAL(recvmsg);
SOCKSIFY_INTERNAL(recvmmsg);
