/* recv, recvfrom, recvmsg, recvmmsg (and glibc's __recv, and the fortified __recv_chk and
 * __recvfrom_chk). While a non-blocking connect's handshake runs they give EAGAIN, as on a
 * connecting socket; on a UDP socket with an association each call takes one datagram from the
 * relay, without its SOCKS header and from the real peer (udp.h). Other descriptors pay two
 * relaxed atomic loads. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

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

/* recvmsg by real (libc's recvmsg, or i386's __recvmsg64), unless fd has an association. */
static ssize_t recvmsg_on(ssize_t (*real)(int, struct msghdr *, int), int fd, struct msghdr *msg, int flags)
{
    if (engine_holds(fd))
        return hook_fail(EAGAIN);
    struct udp_assoc *a = msg ? udp_managed(fd) : NULL;
    if (a)
        return hook_result(udp_recv(fd, a, msg, flags));
    return real ? real(fd, msg, flags) : hook_fail(ENOSYS);
}

SOCKSIFY_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
    return recvmsg_on(libc()->recvmsg, fd, msg, flags);
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

/* i386 programs built with _TIME_BITS=64 (glibc 2.34 on) call these instead of recvmsg and recvmmsg:
 * glibc's convert 64-bit time in control messages and the timeout, so they are functions of their
 * own, and a datagram of an association must be taken from the relay here too. Elsewhere libc has
 * neither, and nothing calls them. */
SOCKSIFY_EXPORT ssize_t __recvmsg64(int fd, struct msghdr *msg, int flags)
{
    return recvmsg_on(libc()->__recvmsg64, fd, msg, flags);
}

/* glibc's struct __timespec64 of a 32-bit program: 64-bit seconds, 32-bit nanoseconds, padding. */
struct timespec_time64 {
    int64_t tv_sec;
    int32_t tv_nsec;
    int32_t pad;
};

/* The program's 64-bit-time timeout as this libc's struct timespec (seconds clamped where time_t
 * is 32-bit): what udp_recv_many takes. */
static struct timespec *timeout_from_time64(const void *timeout, struct timespec *t)
{
    if (!timeout)
        return NULL;
    struct timespec_time64 t64;
    memcpy(&t64, timeout, sizeof(t64));
    bool fits = sizeof(time_t) >= sizeof(int64_t) || t64.tv_sec <= INT32_MAX;
    *t = (struct timespec){ .tv_sec = fits ? (time_t)t64.tv_sec : (time_t)INT32_MAX, .tv_nsec = t64.tv_nsec };
    return t;
}

SOCKSIFY_EXPORT int __recvmmsg64(int fd, struct mmsghdr *msgs, unsigned int n, int flags, void *timeout)
{
    if (engine_holds(fd))
        return hook_fail(EAGAIN);
    struct udp_assoc *a = msgs ? udp_managed(fd) : NULL;
    if (!a)
        return libc()->__recvmmsg64 ? libc()->__recvmmsg64(fd, msgs, n, flags, timeout) : hook_fail(ENOSYS);
    struct timespec t;
    return (int)hook_result(udp_recv_many(fd, a, msgs, n, flags, timeout_from_time64(timeout, &t)));
}


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
