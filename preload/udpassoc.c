#include "udpassoc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "fakedns.h"
#include "fdmap.h"
#include "outbound.h"
#include "real.h"
#include "spawn.h"
#include "tunnel.h"
#include "udpwake.h"

/* Largest UDP payload an IPv4 or IPv6 packet can carry (without jumbograms). */
#define UDP4_MAX 65507
#define UDP6_MAX 65527

/* Slots are never freed: a thread still using an association another thread just closed reads
 * a stale but valid slot, never freed memory. */
static struct fdmap slots;
static atomic_int live;   /* slots not UDP_NONE */

static struct udp_assoc *slot(int fd, bool create)
{
    return fdmap_slot(&slots, fd, sizeof(struct udp_assoc), create);
}

bool udp_maybe(int fd)
{
    if (atomic_load_explicit(&live, memory_order_acquire) == 0)
        return false;
    struct udp_assoc *a = slot(fd, false);
    return a && atomic_load_explicit(&a->state, memory_order_acquire) != UDP_NONE;
}

static bool same_file(int fd, dev_t dev, ino_t ino)
{
    struct stat st;
    return fstat(fd, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

struct udp_queued {
    struct udp_queued *next;
    size_t len;
    uint8_t data[];   /* header and payload */
};

/* Datagrams wait for a pending association at most this many: then EAGAIN, as from a full buffer. */
#define QUEUE_MAX 64

static void drop_queue(struct udp_assoc *a)
{
    for (struct udp_queued *q = a->queue, *next; q; q = next) {
        next = q->next;
        free(q);
    }
    a->queue = NULL;
    a->queue_tail = &a->queue;
    a->queued = 0;
}

/* Forgets the slot's association; the caller holds its lock. */
static void reset_locked(struct udp_assoc *a)
{
    /* The program may have closed our control connection and reused its number: not ours then. */
    if (a->ctl >= 0 && same_file(a->ctl, a->ctl_dev, a->ctl_ino))
        libc()->close(a->ctl);
    a->ctl = -1;
    a->gen++;
    drop_queue(a);
    if (atomic_exchange_explicit(&a->state, UDP_NONE, memory_order_acq_rel) != UDP_NONE)
        atomic_fetch_sub_explicit(&live, 1, memory_order_acq_rel);
}

struct udp_assoc *udp_assoc_of(int fd)
{
    struct udp_assoc *a = slot(fd, false);
    if (!a || atomic_load_explicit(&a->state, memory_order_acquire) == UDP_NONE)
        return NULL;
    if (same_file(fd, a->dev, a->ino))
        return a;
    /* fd was closed behind our back (close_range, a raw syscall) and its number reused. */
    pthread_mutex_lock(&a->lock);
    if (!same_file(fd, a->dev, a->ino))
        reset_locked(a);
    pthread_mutex_unlock(&a->lock);
    return NULL;
}

/* The port fd sends from, binding it first to the wildcard address if it is not bound yet
 * (as its first sendto would); 0 on failure. */
static uint16_t bound_port(int fd, int family)
{
    union sockaddr_any local;
    socklen_t len = sizeof(local);
    if (libc()->getsockname(fd, &local.sa, &len) < 0)
        return 0;
    if (addr_port(&local) == 0) {
        memset(&local, 0, sizeof(local));
        local.sa.sa_family = (sa_family_t)family;
        if (bind(fd, &local.sa, family == AF_INET6 ? sizeof(local.in6) : sizeof(local.in4)) < 0)
            return 0;
        len = sizeof(local);
        if (libc()->getsockname(fd, &local.sa, &len) < 0)
            return 0;
    }
    return addr_port(&local);
}

/* Where datagrams go: the relay the last proxy named, or that proxy's own address if it named
 * the unspecified one; in the socket's family. 0 or -errno. */
static int relay_address(const struct tunnel *t, int family, union sockaddr_any *relay)
{
    const struct socks_target *b = &t->handshake.reply.bound;
    if (b->is_name)
        return -EPROTO;   /* a relay by name: RFC 1928 allows it, no proxy we know does it */
    *relay = b->addr;
    bool unspecified = relay->sa.sa_family == AF_INET ? relay->in4.sin_addr.s_addr == INADDR_ANY
                                                      : IN6_IS_ADDR_UNSPECIFIED(&relay->in6.sin6_addr);
    if (unspecified) {
        const struct proxy *last = &t->config->proxies[t->picked[t->hop_count - 1]];
        if (!last->has_addr)
            return -EHOSTUNREACH;
        *relay = last->addr;
        if (relay->sa.sa_family == AF_INET)
            relay->in4.sin_port = htons(b->port);
        else
            relay->in6.sin6_port = htons(b->port);
    }
    if (relay->sa.sa_family == family)
        return 0;
    if (family != AF_INET6)
        return -EAFNOSUPPORT;   /* an IPv4 socket cannot reach an IPv6 relay */
    addr_to_v4mapped(relay);
    return 0;
}

/* Proxies (danted) give a relay of the family of the address in the request: an IPv6 one for an
 * IPv6-only socket, or when the last proxy is reached over IPv6; an IPv4 one otherwise (a
 * dual-stack socket reaches it v4-mapped). */
static bool wants_ipv6_relay(int fd, int family, const struct config *c, const struct chain *ch)
{
    if (family != AF_INET6)
        return false;
    int v6only = 0;
    socklen_t len = sizeof(v6only);
    if (libc()->getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &len) == 0 && v6only)
        return true;
    const struct proxy *last = ch->hop_count ? &c->proxies[ch->hops[ch->hop_count - 1]] : NULL;
    return last && last->has_addr && last->addr.sa.sa_family == AF_INET6;
}

/* An association made but not yet attached to its slot. */
struct made {
    int ctl;
    dev_t ctl_dev;
    ino_t ctl_ino;
    int family;
    union sockaddr_any relay;
    size_t max_datagram;
    char via[PROXY_HOST_MAX + 16];
};

/* Opens the control connection and asks for the association (fd: the program's socket, or our
 * duplicate of it); fills m or returns -errno (logged). */
static int make(struct made *m, int fd, const struct config *c, const struct chain *ch, const char *first_dst)
{
    socklen_t len = sizeof(m->family);
    if (libc()->getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &m->family, &len) < 0)
        return -errno;
    /* The proxy is told which port our datagrams come from; the address is left to it (it sees
     * the control connection's, which behind a chain is not ours). */
    struct socks_target from = { .port = bound_port(fd, m->family) };
    if (from.port == 0)
        return -errno;
    from.addr.sa.sa_family = (sa_family_t)(wants_ipv6_relay(fd, m->family, c, ch) ? AF_INET6 : AF_INET);
    m->ctl = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (m->ctl < 0)
        return -errno;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    struct tunnel t;
    int r = tunnel_open_command(m->ctl, c, ch, &from, SOCKS5_CMD_UDP_ASSOCIATE, &t);
    outbound_log_result(c, first_dst, ch, &t, -r, &start);
    if (r == 0 && (r = relay_address(&t, m->family, &m->relay)) < 0)
        log_msg(LOG_ERROR, "UDP association for %s: unusable relay address from the proxy: %s", first_dst, strerror(-r));
    struct stat cst;
    if (r == 0 && fstat(m->ctl, &cst) < 0)
        r = -errno;
    if (r < 0) {
        libc()->close(m->ctl);
        return r;
    }
    m->ctl_dev = cst.st_dev;
    m->ctl_ino = cst.st_ino;
    m->max_datagram = t.handshake.reply.bound.addr.sa.sa_family == AF_INET6 ? UDP6_MAX : UDP4_MAX;
    char url[PROXY_HOST_MAX + PROXY_CRED_MAX + 32];
    snprintf(m->via, sizeof(m->via), "%s", proxy_format(&c->proxies[t.picked[t.hop_count - 1]], url, sizeof(url)));
    return 0;
}

/* Copies m into the slot; the caller holds the lock. */
static void publish(struct udp_assoc *a, const struct made *m)
{
    a->ctl = m->ctl;
    a->ctl_dev = m->ctl_dev;
    a->ctl_ino = m->ctl_ino;
    a->family = m->family;
    a->relay = m->relay;
    a->max_datagram = m->max_datagram;
    memcpy(a->via, m->via, sizeof(a->via));
}

/* Ties fd to m's relay and the slot to m; the caller holds the lock. 0 or -errno (m's control
 * connection is then closed). */
static int attach(struct udp_assoc *a, int fd, struct made *m)
{
    if (libc()->connect(fd, &m->relay.sa, addr_len(&m->relay)) < 0) {
        int err = errno;
        libc()->close(m->ctl);
        a->ctl = -1;
        memset(&a->relay, 0, sizeof(a->relay));   /* not tied to it after all */
        return -err;
    }
    publish(a, m);
    if (log_enabled(LOG_DEBUG)) {
        char text[ADDR_TEXT_MAX];
        log_msg(LOG_DEBUG, "UDP association via %s: relay %s", a->via, addr_format(&a->relay, text, sizeof(text)));
    }
    return 0;
}

/* Sends what waited for the association, in order; a datagram the socket cannot take now is
 * lost, as UDP allows. The caller holds the lock. */
static void flush_queue(struct udp_assoc *a, int fd)
{
    for (struct udp_queued *q = a->queue; q; q = q->next)
        libc()->send(fd, q->data, q->len, MSG_DONTWAIT);
    drop_queue(a);
}

/* The slot's new state after making (r: 0 or -errno, m valid if 0) and attaching; lock held. */
static void settle(struct udp_assoc *a, int fd, struct made *m, int r)
{
    if (r == 0 && udpwake_reader_blocked(fd)) {
        /* The woken receive must find the association when it comes back through the hooks,
         * and the empty datagram must arrive before the socket takes only the relay's. */
        publish(a, m);
        atomic_store_explicit(&a->state, UDP_ACTIVE, memory_order_release);
        udpwake_send(fd, m->family);
    }
    if (r == 0)
        r = attach(a, fd, m);
    if (r == 0)
        flush_queue(a, fd);
    else
        drop_queue(a);
    a->error = -r;
    atomic_store_explicit(&a->state, r < 0 ? UDP_FAILED : UDP_ACTIVE, memory_order_release);
    pthread_cond_broadcast(&a->settled);
}

/* Waits (lock held) up to UDP_WAIT_MS for a pending association to settle; returns its state. */
static int wait_briefly(struct udp_assoc *a)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += UDP_WAIT_MS * 1000000L;
    until.tv_sec += until.tv_nsec / 1000000000L;
    until.tv_nsec %= 1000000000L;
    int state;
    while ((state = atomic_load_explicit(&a->state, memory_order_acquire)) == UDP_PENDING &&
           pthread_cond_timedwait(&a->settled, &a->lock, &until) == 0)
        ;
    return state;
}

struct background {
    struct udp_assoc *a;
    unsigned gen;
    int fd;   /* our duplicate of the program's socket: its number may be closed and reused meanwhile */
    const struct config *c;
    const struct chain *ch;
    char what[FAKEDNS_NAME_MAX + ADDR_TEXT_MAX + 16];
};

static void *make_in_background(void *arg)
{
    struct background *b = arg;
    struct made m;
    int r = make(&m, b->fd, b->c, b->ch, b->what);
    struct udp_assoc *a = b->a;
    pthread_mutex_lock(&a->lock);
    if (a->gen == b->gen && atomic_load_explicit(&a->state, memory_order_acquire) == UDP_PENDING)
        settle(a, b->fd, &m, r);
    else if (r == 0)
        libc()->close(m.ctl);   /* the program closed its socket meanwhile */
    pthread_mutex_unlock(&a->lock);
    libc()->close(b->fd);
    free(b);
    return NULL;
}

/* Starts making a's association on a thread of its own; false if it cannot (then the caller
 * makes it in place). Lock held. */
static bool start_background(struct udp_assoc *a, int fd, const struct config *c, const struct chain *ch,
                             const char *first_dst)
{
    struct background *b = calloc(1, sizeof(*b));
    if (!b)
        return false;
    *b = (struct background){ .a = a, .gen = a->gen, .c = c, .ch = ch };
    snprintf(b->what, sizeof(b->what), "%s", first_dst);
    b->fd = libc()->fcntl(fd, F_DUPFD_CLOEXEC, 0);
    bool ok = b->fd >= 0 && spawn_detached(make_in_background, b);
    if (!ok) {
        if (b->fd >= 0)
            libc()->close(b->fd);
        free(b);
    }
    return ok;
}

/* A fresh association for the slot of fd; lock held. Returns the new state, or -errno. */
static int begin(struct udp_assoc *a, int fd, const struct config *c, const struct chain *ch, const char *first_dst)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    a->dev = st.st_dev;
    a->ino = st.st_ino;
    a->ctl = -1;
    memset(&a->relay, 0, sizeof(a->relay));   /* stays so unless the socket gets connected to a relay */
    a->chain = ch;
    a->max_datagram = UDP4_MAX;   /* until the relay's family is known: the smaller */
    a->via[0] = '\0';
    a->has_peer = a->has_name = false;
    a->queue_tail = &a->queue;
    atomic_fetch_add_explicit(&live, 1, memory_order_acq_rel);
    int flags = libc()->fcntl(fd, F_GETFL);
    /* An event loop must not wait for the handshake: datagrams queue meanwhile. */
    if (flags >= 0 && (flags & O_NONBLOCK)) {
        a->maker = getpid();
        atomic_store_explicit(&a->state, UDP_PENDING, memory_order_release);
        if (start_background(a, fd, c, ch, first_dst))
            return wait_briefly(a);
    }
    struct made m;
    settle(a, fd, &m, make(&m, fd, c, ch, first_dst));
    return atomic_load_explicit(&a->state, memory_order_acquire);
}

struct udp_assoc *udp_assoc_open(int fd, const struct config *c, const struct chain *ch, const char *first_dst)
{
    struct udp_assoc *a = slot(fd, true);
    if (!a) {
        errno = ENOBUFS;
        return NULL;
    }
    pthread_mutex_lock(&a->lock);
    int state = atomic_load_explicit(&a->state, memory_order_acquire);
    if (state != UDP_NONE && !same_file(fd, a->dev, a->ino)) {
        reset_locked(a);
        state = UDP_NONE;
    }
    if (state == UDP_NONE)
        state = begin(a, fd, c, ch, first_dst);
    int err = state < 0 ? -state : a->error;
    pthread_mutex_unlock(&a->lock);
    if (state < 0 || state == UDP_FAILED) {
        errno = err;
        return NULL;
    }
    return a;
}

ssize_t udp_assoc_enqueue(struct udp_assoc *a, const uint8_t *header, size_t hlen, const struct msghdr *msg)
{
    size_t payload = 0;
    for (size_t i = 0; i < msg->msg_iovlen; i++)
        payload += msg->msg_iov[i].iov_len;   /* bounded by the caller's EMSGSIZE check */
    pthread_mutex_lock(&a->lock);
    if (atomic_load_explicit(&a->state, memory_order_acquire) != UDP_PENDING) {
        pthread_mutex_unlock(&a->lock);
        return -2;
    }
    ssize_t r = -1;
    struct udp_queued *q = a->queued < QUEUE_MAX ? malloc(sizeof(*q) + hlen + payload) : NULL;
    if (q) {
        q->next = NULL;
        q->len = hlen + payload;
        memcpy(q->data, header, hlen);
        size_t at = hlen;
        for (size_t i = 0; i < msg->msg_iovlen; at += msg->msg_iov[i].iov_len, i++)
            memcpy(q->data + at, msg->msg_iov[i].iov_base, msg->msg_iov[i].iov_len);
        *a->queue_tail = q;
        a->queue_tail = &q->next;
        a->queued++;
        r = (ssize_t)payload;
    } else {
        errno = a->queued < QUEUE_MAX ? ENOBUFS : EAGAIN;
    }
    pthread_mutex_unlock(&a->lock);
    return r;
}

union sockaddr_any udp_assoc_relay(struct udp_assoc *a, int state)
{
    if (state != UDP_PENDING)
        return a->relay;
    pthread_mutex_lock(&a->lock);
    union sockaddr_any relay = a->relay;
    pthread_mutex_unlock(&a->lock);
    return relay;
}

/* The proxy ended the association (or our control connection was taken from us): every later
 * datagram fails. */
static bool control_lost(struct udp_assoc *a)
{
    if (a->ctl < 0)
        return true;
    /* POLLNVAL tells a control connection closed behind our back; its identity is checked only
     * before we close it ourselves (a syscall per datagram saved). */
    struct pollfd p = { .fd = a->ctl, .events = POLLIN | POLLRDHUP };
    if (poll(&p, 1, 0) <= 0)
        return false;
    /* Readable: a proxy says nothing on the control connection, so only its end can be read. */
    char byte;
    return (p.revents & (POLLHUP | POLLRDHUP | POLLERR | POLLNVAL)) ||
           libc()->recv(a->ctl, &byte, 1, MSG_PEEK | MSG_DONTWAIT) <= 0;
}

/* a fails with err (logged with why) unless it left state meanwhile. */
static void fail(struct udp_assoc *a, int state, int err, const char *why)
{
    pthread_mutex_lock(&a->lock);
    if (atomic_load_explicit(&a->state, memory_order_acquire) == state) {
        log_msg(LOG_ERROR, "UDP association%s%s: %s", a->via[0] ? " via " : "", a->via, why);
        if (a->ctl >= 0 && same_file(a->ctl, a->ctl_dev, a->ctl_ino))
            libc()->close(a->ctl);
        a->ctl = -1;
        drop_queue(a);
        a->error = err;
        atomic_store_explicit(&a->state, UDP_FAILED, memory_order_release);
    }
    pthread_mutex_unlock(&a->lock);
}

bool udp_assoc_alive(struct udp_assoc *a)
{
    int state = atomic_load_explicit(&a->state, memory_order_acquire);
    if (state == UDP_PENDING && a->maker != getpid()) {
        /* A forked child: the thread that makes it is the parent's. */
        fail(a, state, ECONNABORTED, "was being made by the parent process when it forked");
        return false;
    }
    if (state == UDP_PENDING)
        return true;
    if (state != UDP_ACTIVE)
        return false;
    if (!control_lost(a))
        return true;
    fail(a, state, ECONNRESET, "ended: the control connection to the proxy closed");
    return false;
}

void udp_assoc_close(int fd)
{
    struct udp_assoc *a = slot(fd, false);
    if (!a || atomic_load_explicit(&a->state, memory_order_acquire) == UDP_NONE)
        return;
    pthread_mutex_lock(&a->lock);
    reset_locked(a);
    pthread_mutex_unlock(&a->lock);
}
