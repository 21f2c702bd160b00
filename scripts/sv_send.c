/* sendto/sendmsg/sendmmsg of a supervised program, when they may carry an address (sendto with
 * a NULL address never reaches us: the filter lets it through).
 *
 * Only a datagram socket's address is a destination: a TCP socket ignores it (unless
 * MSG_FASTOPEN, which would connect: refused with EOPNOTSUPP, programs fall back to connect), and
 * a socket that is not inet cannot take an inet address. Those calls continue as the program made
 * them; on a datagram socket every call is done here, with or without an address (continued, the
 * kernel would read the program's msghdr again, and another thread could have added one). A datagram with an inet address is
 * judged by route_verdict as the library judges it, then sent here, on a duplicate of the
 * program's socket, from a copy of its bytes: direct routes go out to the address that was
 * judged; DNS (port 53 while names are remote) goes to the supervisor's responder; a destination
 * routed via a proxy fails with EOPNOTSUPP (a program without the library has no association:
 * the issue allows this, and it is never direct). */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../preload/descriptor.h"
#include "log.h"
#include "supervisor.h"
#include "verdict.h"

#ifndef MSG_FASTOPEN
#define MSG_FASTOPEN 0x20000000
#endif

/* Bounds on what is copied out of the program for one datagram. */
#define SEND_DATA_MAX (256 * 1024)
#define SEND_CONTROL_MAX 4096
#define SEND_IOV_MAX 1024      /* UIO_MAXIOV */
#define SEND_VLEN_MAX 1024     /* the kernel's cap on sendmmsg's vlen */

/* One message as it lies in the program's memory (pointers are the program's). */
struct remote_msg {
    uint64_t name;
    uint32_t namelen;
    uint64_t iov;               /* the program's iovec array, iovlen entries */
    size_t iovlen;
    uint64_t control;
    size_t controllen;
};

/* What a call on fd with an address must become. */
enum send_plan { PLAN_CONTINUE, PLAN_DO, PLAN_REFUSE };

/* Whether fd's address matters (a datagram socket of an inet family): PLAN_DO; else continue, or
 * refuse a TCP Fast Open send (*err). */
static enum send_plan plan_for(int fd, int flags, int *err)
{
    int domain = socket_int(fd, SOL_SOCKET, SO_DOMAIN, -1);
    if (domain != AF_INET && domain != AF_INET6)
        return PLAN_CONTINUE;
    int type = socket_int(fd, SOL_SOCKET, SO_TYPE, -1);
    if (type == SOCK_STREAM) {
        if (!(flags & MSG_FASTOPEN))
            return PLAN_CONTINUE;
        log_msg(LOG_ERROR, "a TCP Fast Open send refused: the supervisor carries connect() only (EOPNOTSUPP)");
        *err = -EOPNOTSUPP;
        return PLAN_REFUSE;
    }
    return PLAN_DO;
}

/* Where a datagram of fd (family) to the address raw (len bytes) goes: 0 with *to set (len 0:
 * no address, the socket's peer), or -errno for one refused. *dns_server: the nameserver asked
 * for when the datagram goes to the DNS responder instead (family 0 otherwise). */
static int judge(const struct supervisor *sv, int fd, const union sockaddr_any *raw, socklen_t len,
                 union sockaddr_any *to, socklen_t *to_len, union sockaddr_any *dns_server)
{
    dns_server->sa.sa_family = 0;
    int family = socket_int(fd, SOL_SOCKET, SO_DOMAIN, AF_INET);
    union sockaddr_any dst;
    enum addr_form form = addr_read_as_kernel(&dst, &raw->sa, len, family, false);
    if (form != ADDR_FORM_INET) {
        /* No destination (the peer's), or the kernel's own refusal of the copy we have. */
        *to = *raw;
        *to_len = form == ADDR_FORM_NONE ? 0 : len;
        return 0;
    }
    char text[ADDR_TEXT_MAX];
    addr_format(&dst, text, sizeof(text));
    bool fake = sv->names && fakedns_is_fake(sv->names, &dst);
    if (!fake && sv_dns_redirect(sv, &dst, family, socket_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, 0) == 1, to)) {
        log_msg(LOG_DEBUG, "UDP to %s: DNS, answered by socksify", text);
        *to_len = addr_len(to);
        *dns_server = dst;
        return 0;
    }
    int kind = socket_int(fd, SOL_SOCKET, SO_PROTOCOL, -1) == IPPROTO_UDP ? VERDICT_UDP_SOCKET : VERDICT_OTHER_SOCKET;
    struct verdict v = route_verdict(sv->config, &dst, fake, (enum verdict_protocol)kind);
    if (v.action == VERDICT_UDP)
        v = sv_udp_exception(sv, &dst, &v);
    switch (v.action) {
    case VERDICT_PASS:
        log_msg(LOG_DEBUG, "UDP to %s: direct (%s)", text, v.route.reason ? v.route.reason : "route");
        *to = dst;
        *to_len = addr_len(&dst);
        return 0;
    case VERDICT_UDP:
        log_msg(LOG_ERROR, "UDP to %s refused: datagrams of programs without the library are not carried through "
                           "the proxy (EOPNOTSUPP)", text);
        return -EOPNOTSUPP;
    default:
        log_msg(LOG_ERROR, "UDP to %s refused (%s)", text, v.reason == VERDICT_DNS_LEAK ? "DNS past the proxy" : "route");
        return -(verdict_errno(v.action) ? verdict_errno(v.action) : EACCES);
    }
}

/* Copies the message's bytes and control data out of process pid into *data and control. */
static long gather(pid_t pid, const struct remote_msg *m, uint8_t **data, uint8_t *control)
{
    struct iovec iov[SEND_IOV_MAX];
    if (m->iovlen > SEND_IOV_MAX || m->controllen > SEND_CONTROL_MAX)
        return m->iovlen > SEND_IOV_MAX ? -EMSGSIZE : -ENOBUFS;
    if (m->iovlen && sv_read(pid, m->iov, iov, m->iovlen * sizeof(iov[0])) < 0)
        return -EFAULT;
    size_t total = 0;
    for (size_t i = 0; i < m->iovlen; i++) {
        if (iov[i].iov_len > SEND_DATA_MAX || (total += iov[i].iov_len) > SEND_DATA_MAX)
            return -EMSGSIZE;
    }
    *data = malloc(total ? total : 1);
    if (!*data)
        return -ENOMEM;
    size_t at = 0;
    for (size_t i = 0; i < m->iovlen; at += iov[i].iov_len, i++)
        if (iov[i].iov_len && sv_read(pid, (uintptr_t)iov[i].iov_base, *data + at, iov[i].iov_len) < 0)
            return -EFAULT;
    if (m->controllen && sv_read(pid, m->control, control, m->controllen) < 0)
        return -EFAULT;
    return (long)total;
}

/* Sends the message m of process pid on fd (a datagram socket), judged: a count or -errno. */
static long send_one(const struct supervisor *sv, pid_t pid, int fd, const struct remote_msg *m, int flags)
{
    union sockaddr_any raw, to, dns_server = { .sa.sa_family = 0 };
    socklen_t to_len = 0;
    memset(&raw, 0, sizeof(raw));
    if (m->name && m->namelen) {
        if (m->namelen > sizeof(raw))
            return -EINVAL;
        if (sv_read(pid, m->name, &raw, m->namelen) < 0)
            return -EFAULT;
        int r = judge(sv, fd, &raw, m->namelen, &to, &to_len, &dns_server);
        if (r < 0)
            return r;
    }
    uint8_t *data = NULL, control[SEND_CONTROL_MAX];
    long n = gather(pid, m, &data, control);
    if (n >= 0) {
        struct iovec one = { data, (size_t)n };
        struct msghdr msg = { .msg_name = to_len ? &to : NULL, .msg_namelen = to_len, .msg_iov = &one, .msg_iovlen = 1,
                              .msg_control = m->controllen ? control : NULL, .msg_controllen = m->controllen };
        n = sendmsg(fd, &msg, flags | MSG_NOSIGNAL);
        n = n < 0 ? -errno : n;
    }
    if (n >= 0 && dns_server.sa.sa_family)
        sv_dns_note(fd, &dns_server);   /* bound now: the responder knows where the query was meant to go */
    free(data);
    return n;
}

static void remote_from_msghdr(const struct msghdr *h, struct remote_msg *m)
{
    m->name = (uintptr_t)h->msg_name;
    m->namelen = h->msg_namelen;
    m->iov = (uintptr_t)h->msg_iov;
    m->iovlen = h->msg_iovlen;
    m->control = (uintptr_t)h->msg_control;
    m->controllen = h->msg_controllen;
}

/* The program's socket fd, and what to do with a call on it: PLAN_DO with *dup to work on, or the
 * call was answered (continued or refused). */
static enum send_plan take(struct supervisor *sv, const struct seccomp_notif *req, int flags, int *dup)
{
    int err = 0;
    *dup = sv_take_fd(sv, req, (int)req->data.args[0]);
    if (*dup < 0) {
        sv_answer(sv, req->id, *dup == -ENOENT ? -EINTR : *dup);
        return PLAN_REFUSE;
    }
    enum send_plan p = plan_for(*dup, flags, &err);
    if (p == PLAN_DO)
        return p;
    close(*dup);
    if (p == PLAN_CONTINUE)
        sv_continue(sv, req->id);
    else
        sv_answer(sv, req->id, err);
    return p;
}

void sv_sendto(struct supervisor *sv, const struct seccomp_notif *req)
{
    int fd, flags = (int)req->data.args[3];
    if (take(sv, req, flags, &fd) != PLAN_DO)
        return;
    /* One buffer, no iovec array in the program's memory: read here rather than by gather(). */
    pid_t pid = (pid_t)req->pid;
    size_t len = (size_t)req->data.args[2];
    union sockaddr_any raw, to, dns_server = { .sa.sa_family = 0 };
    socklen_t to_len = 0, namelen = (socklen_t)req->data.args[5];
    uint8_t *data = NULL;
    long r = 0;
    memset(&raw, 0, sizeof(raw));
    if (namelen > sizeof(raw))
        r = -EINVAL;
    else if (sv_read(pid, req->data.args[4], &raw, namelen) < 0)
        r = -EFAULT;
    else
        r = judge(sv, fd, &raw, namelen, &to, &to_len, &dns_server);
    if (r == 0 && len > SEND_DATA_MAX)
        r = -EMSGSIZE;
    if (r == 0 && !(data = malloc(len ? len : 1)))
        r = -ENOMEM;
    if (r == 0 && len && sv_read(pid, req->data.args[1], data, len) < 0)
        r = -EFAULT;
    if (r == 0)
        r = sendto(fd, data, len, flags | MSG_NOSIGNAL, to_len ? &to.sa : NULL, to_len) < 0 ? -errno : (long)len;
    if (r >= 0 && dns_server.sa.sa_family)
        sv_dns_note(fd, &dns_server);
    free(data);
    close(fd);
    sv_answer(sv, req->id, r);
}

void sv_sendmsg(struct supervisor *sv, const struct seccomp_notif *req)
{
    struct msghdr h;
    if (sv_read((pid_t)req->pid, req->data.args[1], &h, sizeof(h)) < 0) {
        sv_answer(sv, req->id, -EFAULT);
        return;
    }
    /* Without an address the call continues on a TCP or unix socket (take()); on a datagram
     * socket it is still done here: the kernel would read msg_name again from the program's
     * memory, where another thread may have put an address nobody judged. */
    int fd, flags = (int)req->data.args[2];
    if (take(sv, req, flags, &fd) != PLAN_DO)
        return;
    struct remote_msg m;
    remote_from_msghdr(&h, &m);
    long r = send_one(sv, (pid_t)req->pid, fd, &m, flags);
    close(fd);
    sv_answer(sv, req->id, r);
}

void sv_sendmmsg(struct supervisor *sv, const struct seccomp_notif *req)
{
    static struct mmsghdr v[SEND_VLEN_MAX];
    size_t vlen = req->data.args[2] < SEND_VLEN_MAX ? (size_t)req->data.args[2] : SEND_VLEN_MAX;
    if (vlen && sv_read((pid_t)req->pid, req->data.args[1], v, vlen * sizeof(v[0])) < 0) {
        sv_answer(sv, req->id, -EFAULT);
        return;
    }
    int fd, flags = (int)req->data.args[3];   /* with or without names: as in sv_sendmsg */
    if (take(sv, req, flags, &fd) != PLAN_DO)
        return;
    long sent = 0, r = 0;
    for (size_t i = 0; i < vlen; i++, sent++) {
        struct remote_msg m;
        remote_from_msghdr(&v[i].msg_hdr, &m);
        r = send_one(sv, (pid_t)req->pid, fd, &m, flags);
        if (r < 0)
            break;
        unsigned len = (unsigned)r;
        uint64_t at = req->data.args[1] + i * sizeof(v[0]) + offsetof(struct mmsghdr, msg_len);
        sv_write((pid_t)req->pid, at, &len, sizeof(len));
    }
    close(fd);
    sv_answer(sv, req->id, sent > 0 ? sent : r);
}
