/* sendto()/sendmsg()/sendmmsg(): MSG_FASTOPEN connects and sends in one call (TCP Fast Open),
 * so the connect goes through the proxy and the data through the tunnel; and a datagram that
 * would carry DNS past the proxy while names are remote is refused. */
#include <errno.h>
#include <stddef.h>

#include "outbound.h"
#include "pending.h"
#include "real.h"

static enum outbound_verdict send_verdict(int fd, int flags, const struct sockaddr *addr, socklen_t len)
{
    return (flags & MSG_FASTOPEN) ? outbound_decide(fd, addr, len) : outbound_decide_send(fd, addr, len);
}

SOCKSIFY_EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *addr, socklen_t len)
{
    if (pending_hold(fd))
        return -1;
    enum outbound_verdict v = send_verdict(fd, flags, addr, len);
    switch (v) {
    case OUTBOUND_PROXY:
        if (outbound_connect(fd, addr, len) < 0)
            return -1;
        return libc()->sendto(fd, buf, n, flags & ~MSG_FASTOPEN, NULL, 0);
    case OUTBOUND_REFUSE:
    case OUTBOUND_REJECT: return outbound_fail(v);
    default: return libc()->sendto(fd, buf, n, flags, addr, len);
    }
}

SOCKSIFY_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
    if (pending_hold(fd))
        return -1;
    enum outbound_verdict v = msg ? send_verdict(fd, flags, msg->msg_name, msg->msg_namelen) : OUTBOUND_PASS;
    switch (v) {
    case OUTBOUND_PROXY: {
        if (outbound_connect(fd, msg->msg_name, msg->msg_namelen) < 0)
            return -1;
        struct msghdr tunnelled = *msg;
        tunnelled.msg_name = NULL;
        tunnelled.msg_namelen = 0;
        return libc()->sendmsg(fd, &tunnelled, flags & ~MSG_FASTOPEN);
    }
    case OUTBOUND_REFUSE:
    case OUTBOUND_REJECT: return outbound_fail(v);
    default: return libc()->sendmsg(fd, msg, flags);
    }
}

/* Messages up to the first refused one go out, as a partial sendmmsg() would; a refused first
 * message fails the call. */
SOCKSIFY_EXPORT int sendmmsg(int fd, struct mmsghdr *msgs, unsigned int vlen, int flags)
{
    if (pending_hold(fd))
        return -1;
    unsigned int allowed = 0;
    while (msgs && allowed < vlen &&
           outbound_decide_send(fd, msgs[allowed].msg_hdr.msg_name, msgs[allowed].msg_hdr.msg_namelen) != OUTBOUND_REFUSE)
        allowed++;
    if (vlen > 0 && allowed == 0 && msgs) {
        errno = EACCES;
        return -1;
    }
    return libc()->sendmmsg(fd, msgs, allowed, flags);
}
