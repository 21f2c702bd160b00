/* send(), sendto(), sendmsg(), sendmmsg() (and glibc's __send): a datagram routed via a proxy
 * goes through its socket's UDP association (udp.h); MSG_FASTOPEN connects and sends in one call (TCP Fast Open), so the
 * connect goes through the proxy and the data through the tunnel; a datagram that would carry
 * DNS past the proxy while names are remote is refused. */
#include <errno.h>
#include <stddef.h>

#include "outbound.h"
#include "engine.h"
#include "hooks.h"
#include "libc.h"
#include "udp.h"

/* What a send on fd to addr becomes, with *dst the destination as the kernel reads addr; for
 * VERDICT_UDP, *a is fd's association (NULL: to make; *dst unset: the message says where). */
static enum verdict_action verdict(int fd, int flags, const struct sockaddr *addr, socklen_t len, struct udp_assoc **a,
                                     union sockaddr_any *dst)
{
    dst->sa.sa_family = AF_UNSPEC;
    *a = udp_managed(fd);
    if (*a)
        return VERDICT_UDP;
    return (flags & MSG_FASTOPEN) ? outbound_decide(fd, addr, len, dst) : outbound_decide_send(fd, addr, len, dst);
}

/* The sendmsg() of one message that is not passed to libc as it is; dst: its destination in the
 * usual form (AF_UNSPEC: as in msg). The bytes sent, or -errno. */
static ssize_t send_routed(int fd, enum verdict_action v, struct udp_assoc *a, const struct msghdr *msg, int flags,
                           const union sockaddr_any *dst)
{
    struct msghdr m = *msg;
    if (dst->sa.sa_family != AF_UNSPEC) {
        m.msg_name = (void *)dst;
        m.msg_namelen = addr_len(dst);
    }
    msg = &m;
    switch (v) {
    case VERDICT_UDP: return udp_send(fd, a, msg, flags);
    case VERDICT_PROXY: {
        int r = outbound_connect(fd, msg->msg_name, msg->msg_namelen);
        if (r < 0)
            return r;
        struct msghdr tunnelled = *msg;
        tunnelled.msg_name = NULL;
        tunnelled.msg_namelen = 0;
        ssize_t n = libc()->sendmsg(fd, &tunnelled, flags & ~MSG_FASTOPEN);
        return n < 0 ? -errno : n;
    }
    default: return -verdict_errno(v);
    }
}

SOCKSIFY_EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags)
{
    if (engine_holds(fd))
        return hook_fail(EAGAIN);
    struct udp_assoc *a = udp_managed(fd);
    if (!a)
        return libc()->send(fd, buf, n, flags);
    return hook_result(udp_send_buffer(fd, a, buf, n, flags));
}

SOCKSIFY_EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *addr, socklen_t len)
{
    if (engine_holds(fd))
        return hook_fail(EAGAIN);
    struct udp_assoc *a;
    union sockaddr_any dst;
    enum verdict_action v = verdict(fd, flags, addr, len, &a, &dst);
    if (v == VERDICT_PASS)
        return libc()->sendto(fd, buf, n, flags, addr, len);
    struct iovec iov = { .iov_base = (void *)buf, .iov_len = n };
    struct msghdr msg = { .msg_name = (void *)addr, .msg_namelen = addr ? len : 0, .msg_iov = &iov, .msg_iovlen = 1 };
    return hook_result(send_routed(fd, v, a, &msg, flags, &dst));
}

SOCKSIFY_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
    if (engine_holds(fd))
        return hook_fail(EAGAIN);
    if (!msg)
        return libc()->sendmsg(fd, msg, flags);
    struct udp_assoc *a;
    union sockaddr_any dst;
    enum verdict_action v = verdict(fd, flags, msg->msg_name, msg->msg_namelen, &a, &dst);
    return v == VERDICT_PASS ? libc()->sendmsg(fd, msg, flags) : hook_result(send_routed(fd, v, a, msg, flags, &dst));
}

/* Runs of messages that pass go to libc together; the others one by one. Messages up to the
 * first failure go out, as a partial sendmmsg() would; a failed first message fails the call. */
SOCKSIFY_EXPORT int sendmmsg(int fd, struct mmsghdr *msgs, unsigned int vlen, int flags)
{
    if (engine_holds(fd))
        return hook_fail(EAGAIN);
    if (!msgs || vlen == 0)
        return libc()->sendmmsg(fd, msgs, vlen, flags);
    unsigned int sent = 0;
    while (sent < vlen) {
        struct udp_assoc *a;
        union sockaddr_any dst;
        unsigned int run = sent;
        enum verdict_action v = VERDICT_PASS;
        while (run < vlen && (v = verdict(fd, flags, msgs[run].msg_hdr.msg_name, msgs[run].msg_hdr.msg_namelen, &a,
                                          &dst)) == VERDICT_PASS)
            run++;
        if (run > sent) {
            int r = libc()->sendmmsg(fd, msgs + sent, run - sent, flags);
            if (r < 0)
                return sent ? (int)sent : -1;
            sent += (unsigned int)r;
            if (sent < run)
                return (int)sent;
            continue;
        }
        ssize_t r = send_routed(fd, v, a, &msgs[sent].msg_hdr, flags, &dst);
        if (r < 0)
            return sent ? (int)sent : hook_fail((int)-r);
        msgs[sent++].msg_len = (unsigned int)r;
    }
    return (int)sent;
}

SOCKSIFY_INTERNAL(sendto);
SOCKSIFY_INTERNAL(sendmsg);
SOCKSIFY_INTERNAL(sendmmsg);
SOCKSIFY_ALIAS(send, __send);
/* i386 programs built with _TIME_BITS=64 call these names; glibc's are the same functions. */
SOCKSIFY_ALIAS(sendmsg, __sendmsg64);
SOCKSIFY_ALIAS(sendmmsg, __sendmmsg64);
