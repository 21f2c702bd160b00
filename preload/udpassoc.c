#include "udpassoc.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "fdmap.h"
#include "outbound.h"
#include "real.h"
#include "tunnel.h"

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

/* Forgets the slot's association; the caller holds its lock. */
static void reset_locked(struct udp_assoc *a)
{
    /* The program may have closed our control connection and reused its number: not ours then. */
    if (a->ctl >= 0 && same_file(a->ctl, a->ctl_dev, a->ctl_ino))
        libc()->close(a->ctl);
    a->ctl = -1;
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

/* Opens the control connection and asks for the association; fills a or returns -errno. */
static int associate(struct udp_assoc *a, int fd, const struct config *c, const struct chain *ch, const char *first_dst)
{
    int family = AF_INET;
    socklen_t len = sizeof(family);
    struct stat st;
    if (libc()->getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &family, &len) < 0 || fstat(fd, &st) < 0)
        return -errno;
    /* The proxy is told which port our datagrams come from; the address is left to it (it sees
     * the control connection's, which behind a chain is not ours). */
    struct socks_target from = { .port = bound_port(fd, family) };
    if (from.port == 0)
        return -errno;
    from.addr.sa.sa_family = (sa_family_t)(wants_ipv6_relay(fd, family, c, ch) ? AF_INET6 : AF_INET);
    int ctl = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (ctl < 0)
        return -errno;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    struct tunnel t;
    int r = tunnel_open_command(ctl, c, ch, &from, SOCKS5_CMD_UDP_ASSOCIATE, &t);
    outbound_log_result(c, first_dst, ch, &t, -r, &start);
    union sockaddr_any relay;
    if (r == 0 && (r = relay_address(&t, family, &relay)) < 0)
        log_msg(LOG_ERROR, "UDP association for %s: unusable relay address from the proxy: %s", first_dst, strerror(-r));
    if (r == 0 && libc()->connect(fd, &relay.sa, addr_len(&relay)) < 0)
        r = -errno;
    struct stat cst;
    if (r == 0 && fstat(ctl, &cst) < 0)
        r = -errno;
    if (r < 0) {
        libc()->close(ctl);
        return r;
    }
    a->ctl = ctl;
    a->ctl_dev = cst.st_dev;
    a->ctl_ino = cst.st_ino;
    a->dev = st.st_dev;
    a->ino = st.st_ino;
    a->family = family;
    a->relay = relay;
    a->max_datagram = t.handshake.reply.bound.addr.sa.sa_family == AF_INET6 ? UDP6_MAX : UDP4_MAX;
    a->chain = ch;
    a->has_peer = a->has_name = false;
    char url[PROXY_HOST_MAX + PROXY_CRED_MAX + 32];
    snprintf(a->via, sizeof(a->via), "%s", proxy_format(&c->proxies[t.picked[t.hop_count - 1]], url, sizeof(url)));
    if (log_enabled(LOG_DEBUG)) {
        char text[ADDR_TEXT_MAX];
        log_msg(LOG_DEBUG, "UDP association via %s: relay %s", a->via, addr_format(&relay, text, sizeof(text)));
    }
    return 0;
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
    if (state == UDP_NONE) {
        a->ctl = -1;
        memset(&a->relay, 0, sizeof(a->relay));   /* stays so unless the socket gets connected to a relay */
        int r = associate(a, fd, c, ch, first_dst);
        struct stat st;
        if (r < 0 && fstat(fd, &st) == 0) {
            a->dev = st.st_dev;
            a->ino = st.st_ino;
        }
        a->error = -r;
        state = r < 0 ? UDP_FAILED : UDP_ACTIVE;
        atomic_store_explicit(&a->state, state, memory_order_release);
        atomic_fetch_add_explicit(&live, 1, memory_order_acq_rel);
    }
    int err = a->error;
    pthread_mutex_unlock(&a->lock);
    if (state == UDP_FAILED) {
        errno = err;
        return NULL;
    }
    return a;
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

bool udp_assoc_alive(struct udp_assoc *a)
{
    if (atomic_load_explicit(&a->state, memory_order_acquire) != UDP_ACTIVE)
        return false;
    if (!control_lost(a))
        return true;
    pthread_mutex_lock(&a->lock);
    if (atomic_load_explicit(&a->state, memory_order_acquire) == UDP_ACTIVE) {
        log_msg(LOG_ERROR, "UDP association via %s ended: the control connection to the proxy closed", a->via);
        if (a->ctl >= 0 && same_file(a->ctl, a->ctl_dev, a->ctl_ino))
            libc()->close(a->ctl);
        a->ctl = -1;
        a->error = ECONNRESET;
        atomic_store_explicit(&a->state, UDP_FAILED, memory_order_release);
    }
    pthread_mutex_unlock(&a->lock);
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
