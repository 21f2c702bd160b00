#include "udp.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "context.h"
#include "shared.h"
#include "outbound.h"
#include "libc.h"

/* Room for any datagram: its payload is below 64 KiB, and the header is inside it. */
#define BOUNCE_SIZE 65536

/* ---------- sending ---------- */

static size_t payload_size(const struct msghdr *msg)
{
    size_t total = 0;
    for (size_t i = 0; i < msg->msg_iovlen; i++) {
        if (msg->msg_iov[i].iov_len > SIZE_MAX - total)
            return SIZE_MAX;
        total += msg->msg_iov[i].iov_len;
    }
    return total;
}

/* The datagram goes to the relay (fd is connected to it) behind the header for target, or waits
 * in the queue while the association is being made. The payload's length, or -errno. */
static ssize_t send_via(int fd, struct udp_assoc *a, const struct msghdr *msg, int flags, const struct socks_target *target,
                        const union sockaddr_any *dst)
{
    /* A v4-mapped destination (an IPv6 socket sending to IPv4) is an IPv4 target for the proxy. */
    struct socks_target wire = *target;
    if (!wire.is_name)
        addr_from_v4mapped(&wire.addr);
    uint8_t header[SOCKS5_UDP_HEADER_MAX];
    int h = socks5_udp_header_encode(header, sizeof(header), &wire);
    if (h < 0)
        return h;
    /* max_datagram is set when a pending association is made: read under the lock. */
    pthread_mutex_lock(&a->lock);
    bool fits = payload_size(msg) <= a->max_datagram - (size_t)h && msg->msg_iovlen < IOV_MAX;
    if (fits) {
        /* Replies to a name come back from the address the proxy resolved it to: remember which
         * fake address the program will expect them from, before another thread can receive one. */
        a->has_name = target->is_name;
        if (target->is_name)
            a->name_fake = *dst;
    }
    pthread_mutex_unlock(&a->lock);
    if (!fits)
        return -EMSGSIZE;
    ssize_t queued;
    if (atomic_load_explicit(&a->state, memory_order_acquire) == UDP_PENDING &&
        udp_assoc_enqueue(a, header, (size_t)h, msg, &queued))
        return queued;
    struct iovec iov[msg->msg_iovlen + 1];
    iov[0] = (struct iovec){ .iov_base = header, .iov_len = (size_t)h };
    if (msg->msg_iovlen)
        memcpy(iov + 1, msg->msg_iov, msg->msg_iovlen * sizeof(*iov));
    struct msghdr m = { .msg_iov = iov, .msg_iovlen = msg->msg_iovlen + 1, .msg_control = msg->msg_control,
                        .msg_controllen = msg->msg_controllen };
    /* Without control data or flags that matter, writev sends the same datagram on the socket
     * (connected to the relay), and is not one of the calls the command's seccomp filter hands to
     * its supervisor, as sendmsg is: a round trip per datagram (tests/bench/seccomp.sh). */
    ssize_t r = !m.msg_controllen && !(flags & ~MSG_NOSIGNAL) ? libc()->writev(fd, iov, (int)m.msg_iovlen)
                                                             : libc()->sendmsg(fd, &m, flags);
    if (r < 0)
        return -errno;
    return r >= h ? r - h : 0;
}

/* Where a datagram routed direct (by route) goes: dst itself, or the address a name resolves to
 * here, as the route allows; port 53 is refused while names are remote. 0 (*dst set) or -errno. */
static int direct_address(int fd, const struct socks_target *target, const struct route *route, union sockaddr_any *dst)
{
    if (target->is_name) {
        int r = outbound_resolve_direct(fd, target, route, "UDP to", dst);
        if (r < 0)
            return r;
    }
    return outbound_dns_refused(dst, "UDP") ? -EACCES : 0;
}

/* a's default destination into *dst, if the program connect()ed it. Another thread may connect()
 * (or dissolve it) meanwhile: both fields are read under the lock. */
static bool default_peer(struct udp_assoc *a, union sockaddr_any *dst)
{
    pthread_mutex_lock(&a->lock);
    bool has = a->has_peer;
    if (has)
        *dst = a->peer;
    pthread_mutex_unlock(&a->lock);
    return has;
}

/* The destination of msg: its address, or the default one. 0 or -errno. */
static int destination(struct udp_assoc *a, const struct msghdr *msg, union sockaddr_any *dst)
{
    if (msg->msg_name && msg->msg_namelen)
        return addr_from_sockaddr(dst, msg->msg_name, msg->msg_namelen) ? 0 : -EAFNOSUPPORT;
    return a && default_peer(a, dst) ? 0 : -EDESTADDRREQ;
}

/* The association that carries a datagram routed via ch: *a, made if need be. 0 or -errno. */
static int carrier(int fd, struct udp_assoc **a, const struct config *c, const struct chain *ch, const char *what)
{
    if (!*a) {
        int r = udp_assoc_open(fd, c, ch, what, a);
        if (r < 0)
            return r;
    }
    if (atomic_load_explicit(&(*a)->state, memory_order_acquire) == UDP_FAILED)
        return -(*a)->error;
    if ((*a)->chain != ch) {
        log_msg(LOG_ERROR, "UDP to %s: routed via chain %s, but this socket's association is through %s", what, ch->name,
                (*a)->chain->name);
        return -ENETUNREACH;
    }
    return udp_assoc_alive(*a) ? 0 : -(*a)->error;
}

enum routed { ROUTED_VIA, ROUTED_DIRECT };

/* How a datagram (or connect) to dst goes: via the association, *a (made if need be), with
 * *target what the proxy is asked for; or direct, to *dst (rewritten: a name resolved here).
 * -errno if it may not go at all. */
static int route_datagram(int fd, struct udp_assoc **a, union sockaddr_any *dst, struct socks_target *target)
{
    const struct config *c = context_config();
    if (!c)
        return -ECONNREFUSED;   /* no configuration: fail closed */
    struct route route;
    int r = outbound_route(c, dst, "UDP to", target, &route);
    if (r == 0 && route.action == ROUTE_DIRECT && (r = direct_address(fd, target, &route, dst)) == 0)
        return ROUTED_DIRECT;
    if (r < 0)
        return r;
    char what[FAKEDNS_NAME_MAX + ADDR_TEXT_MAX + 16];
    r = carrier(fd, a, c, route.chain, outbound_describe(target, dst, what, sizeof(what)));
    return r < 0 ? r : ROUTED_VIA;
}

ssize_t udp_send(int fd, struct udp_assoc *a, const struct msghdr *msg, int flags)
{
    union sockaddr_any dst;
    struct socks_target target;
    int r = destination(a, msg, &dst);
    if (r < 0)
        return r;
    r = route_datagram(fd, &a, &dst, &target);
    if (r == ROUTED_VIA)
        return send_via(fd, a, msg, flags, &target, &dst);
    if (r < 0)
        return r;
    struct msghdr direct = *msg;
    direct.msg_name = &dst;
    direct.msg_namelen = addr_len(&dst);
    ssize_t n = libc()->sendmsg(fd, &direct, flags);
    return n < 0 ? -errno : n;
}

/* ---------- receiving ---------- */

static pthread_key_t bounce_key;
static pthread_once_t bounce_once = PTHREAD_ONCE_INIT;

static void make_bounce_key(void)
{
    pthread_key_create(&bounce_key, free);
}

/* This thread's buffer for one whole datagram (freed when the thread ends); NULL if out of memory. */
static uint8_t *bounce_buffer(void)
{
    pthread_once(&bounce_once, make_bounce_key);
    uint8_t *b = pthread_getspecific(bounce_key);
    if (!b && (b = malloc(BOUNCE_SIZE)) != NULL)
        pthread_setspecific(bounce_key, b);
    return b;
}

/* Copies len bytes into the iovecs; returns how many fitted. */
static size_t scatter(const struct msghdr *msg, const uint8_t *data, size_t len)
{
    size_t done = 0;
    for (size_t i = 0; i < msg->msg_iovlen && done < len; i++) {
        size_t n = msg->msg_iov[i].iov_len < len - done ? msg->msg_iov[i].iov_len : len - done;
        memcpy(msg->msg_iov[i].iov_base, data + done, n);
        done += n;
    }
    return done;
}

/* The peer a datagram came from, as the program knows it: the fake address for a name (or for
 * the address the proxy resolved the last name sent to), v4-mapped on an IPv6 socket. False for
 * a name the program never asked for: the relay's labels must not fill the map. */
static bool peer_of(struct udp_assoc *a, const struct socks_target *from, union sockaddr_any *src)
{
    struct fakedns *map = shared_names();
    memset(src, 0, sizeof(*src));
    if (from->is_name) {
        if (!map || fakedns_find_address(map, from->name, a->family, src) < 0)
            return false;
        if (src->sa.sa_family == AF_INET)
            src->in4.sin_port = htons(from->port);
        else
            src->in6.sin6_port = htons(from->port);
        return true;
    }
    pthread_mutex_lock(&a->lock);
    bool named = a->has_name && addr_port(&a->name_fake) == from->port;
    *src = named ? a->name_fake : from->addr;
    pthread_mutex_unlock(&a->lock);
    if (a->family == AF_INET6 && src->sa.sa_family == AF_INET)
        addr_to_v4mapped(src);
    return true;
}

/* Hands a datagram of len bytes from src to the program as recvmsg() would (m: what the real
 * call reported). */
static ssize_t deliver(struct msghdr *msg, int flags, const struct msghdr *m, const uint8_t *data, size_t len,
                       const union sockaddr_any *src)
{
    size_t copied = scatter(msg, data, len);
    if (msg->msg_name)
        msg->msg_namelen = addr_copy_out(src, msg->msg_name, msg->msg_namelen);
    msg->msg_controllen = m->msg_controllen;
    msg->msg_flags = (m->msg_flags & ~MSG_TRUNC) | (copied < len ? MSG_TRUNC : 0);
    return (ssize_t)((flags & MSG_TRUNC) ? len : copied);
}

/* A datagram we will not deliver: if it was only peeked at, it must still leave the queue. */
static void drop(int fd, int flags, const char *why)
{
    if (flags & MSG_PEEK)
        libc()->recv(fd, NULL, 0, MSG_DONTWAIT);
    log_msg(LOG_DEBUG, "UDP: dropped a datagram from the relay: %s", why);
}

ssize_t udp_recv(int fd, struct udp_assoc *a, struct msghdr *msg, int flags)
{
    /* The error queue holds the kernel's reports, not relayed datagrams; and a socket whose
     * association failed before it was tied to a relay receives only what it would without us. */
    int state = atomic_load_explicit(&a->state, memory_order_acquire);
    if ((flags & MSG_ERRQUEUE) || (state == UDP_FAILED && a->relay.sa.sa_family == AF_UNSPEC)) {
        ssize_t n = libc()->recvmsg(fd, msg, flags);
        return n < 0 ? -errno : n;
    }
    uint8_t *buf = bounce_buffer();
    if (!buf)
        return -ENOBUFS;
    for (;;) {
        union sockaddr_any from;
        struct iovec iov = { .iov_base = buf, .iov_len = BOUNCE_SIZE };
        struct msghdr m = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov, .msg_iovlen = 1,
                            .msg_control = msg->msg_control, .msg_controllen = msg->msg_controllen };
        ssize_t n = libc()->recvmsg(fd, &m, flags & ~MSG_TRUNC);
        if (n < 0)
            return -errno;
        /* Pending, the relay may have been set while this waited: what came before is a direct peer's. */
        union sockaddr_any relay = udp_assoc_relay(a, state);
        if (relay.sa.sa_family == AF_UNSPEC)
            return deliver(msg, flags, &m, buf, (size_t)n, &from);
        struct socks_target peer;
        uint8_t frag = 0;
        /* The socket is connected to the relay, so the kernel drops anyone else's: this is a check. */
        int h = addr_equal(&from, &relay) ? socks5_udp_header_decode(buf, (size_t)n, &peer, &frag) : -EPERM;
        if (h < 0 || frag != 0) {
            drop(fd, flags, h == -EPERM ? "not from the relay" : h < 0 ? "malformed header" : "a fragment");
            continue;
        }
        union sockaddr_any src;
        if (!peer_of(a, &peer, &src)) {
            drop(fd, flags, "labelled with a name the program never asked for");
            continue;
        }
        return deliver(msg, flags, &m, buf + h, (size_t)n - (size_t)h, &src);
    }
}

ssize_t udp_send_buffer(int fd, struct udp_assoc *a, const void *buf, size_t n, int flags)
{
    struct iovec iov = { .iov_base = (void *)buf, .iov_len = n };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
    return udp_send(fd, a, &msg, flags);
}

ssize_t udp_recv_buffer(int fd, struct udp_assoc *a, void *buf, size_t n, int flags, struct sockaddr *addr, socklen_t *len)
{
    struct iovec iov = { .iov_base = buf, .iov_len = n };
    struct msghdr msg = { .msg_name = addr && len ? addr : NULL, .msg_namelen = addr && len ? *len : 0,
                          .msg_iov = &iov, .msg_iovlen = 1 };
    ssize_t r = udp_recv(fd, a, &msg, flags);
    if (r >= 0 && addr && len)
        *len = msg.msg_namelen;
    return r;
}

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int udp_recv_many(int fd, struct udp_assoc *a, struct mmsghdr *msgs, unsigned int n, int flags, struct timespec *timeout)
{
    long long deadline = timeout ? now_ns() + (long long)timeout->tv_sec * 1000000000LL + timeout->tv_nsec : 0;
    unsigned int got = 0;
    while (got < n) {
        int f = flags & ~MSG_WAITFORONE;
        /* After the first: MSG_WAITFORONE takes only what is there; a timeout is checked between datagrams, as the kernel does. */
        if (got > 0 && ((flags & MSG_WAITFORONE) || (timeout && now_ns() >= deadline)))
            f |= MSG_DONTWAIT;
        ssize_t r = udp_recv(fd, a, &msgs[got].msg_hdr, f);
        if (r < 0)
            return got ? (int)got : (int)r;
        msgs[got++].msg_len = (unsigned int)r;
    }
    return (int)got;
}

/* ---------- connect and peer ---------- */

int udp_connect(int fd, struct udp_assoc *a, const struct sockaddr *addr, socklen_t len)
{
    if (a && addr && len >= sizeof(sa_family_t) && addr->sa_family == AF_UNSPEC) {
        /* Dissolves the default destination; the socket stays tied to the relay. */
        pthread_mutex_lock(&a->lock);
        a->has_peer = false;
        pthread_mutex_unlock(&a->lock);
        return 0;
    }
    union sockaddr_any dst;
    struct socks_target target;
    if (!addr_from_sockaddr(&dst, addr, len))
        return -EAFNOSUPPORT;
    int r = route_datagram(fd, &a, &dst, &target);
    if (r < 0)
        return r;
    if (r == ROUTED_DIRECT) {
        /* Its one peer is reached directly: the association has nothing left to carry. */
        udp_assoc_close(fd);
        return libc()->connect(fd, &dst.sa, addr_len(&dst)) < 0 ? -errno : 0;
    }
    pthread_mutex_lock(&a->lock);
    a->peer = dst;
    a->has_peer = true;
    pthread_mutex_unlock(&a->lock);
    return 0;
}

int udp_peer(struct udp_assoc *a, struct sockaddr *addr, socklen_t *len)
{
    union sockaddr_any peer;
    if (!default_peer(a, &peer))
        return -ENOTCONN;
    *len = addr_copy_out(&peer, addr, *len);
    return 0;
}
