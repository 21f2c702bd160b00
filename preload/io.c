/* read/write/recv/send and their vector forms: while a non-blocking connect's handshake runs the
 * descriptor is a connecting socket, which has no data either way (EAGAIN). Every other call
 * costs one relaxed atomic load more than libc's: no lock, no syscall, no allocation. */
#include "pending.h"
#include "real.h"

SOCKSIFY_EXPORT ssize_t read(int fd, void *buf, size_t n)
{
    return pending_hold(fd) ? -1 : libc()->read(fd, buf, n);
}

SOCKSIFY_EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
    return pending_hold(fd) ? -1 : libc()->write(fd, buf, n);
}

SOCKSIFY_EXPORT ssize_t readv(int fd, const struct iovec *iov, int n)
{
    return pending_hold(fd) ? -1 : libc()->readv(fd, iov, n);
}

SOCKSIFY_EXPORT ssize_t writev(int fd, const struct iovec *iov, int n)
{
    return pending_hold(fd) ? -1 : libc()->writev(fd, iov, n);
}

SOCKSIFY_EXPORT ssize_t recv(int fd, void *buf, size_t n, int flags)
{
    return pending_hold(fd) ? -1 : libc()->recv(fd, buf, n, flags);
}

SOCKSIFY_EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags)
{
    return pending_hold(fd) ? -1 : libc()->send(fd, buf, n, flags);
}

SOCKSIFY_EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *addr, socklen_t *len)
{
    return pending_hold(fd) ? -1 : libc()->recvfrom(fd, buf, n, flags, addr, len);
}

SOCKSIFY_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
    return pending_hold(fd) ? -1 : libc()->recvmsg(fd, msg, flags);
}

SOCKSIFY_EXPORT int recvmmsg(int fd, struct mmsghdr *msgs, unsigned int n, int flags, struct timespec *timeout)
{
    return pending_hold(fd) ? -1 : libc()->recvmmsg(fd, msgs, n, flags, timeout);
}
