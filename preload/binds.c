#include "binds.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bind_rule.h"
#include "context.h"
#include "descriptor.h"
#include "fakedns.h"
#include "fdmap.h"
#include "libc.h"
#include "log.h"
#include "outbound.h"
#include "threads.h"
#include "tunnel.h"
#include "tunnels.h"

enum listener_state {
    LISTENER_CANDIDATE, /* bind() was meant for the proxy; nothing done yet: a connect() may still make it a client */
    LISTENER_ARMED,     /* the first reply is in; waiting for listen() */
    LISTENER_WAITING,   /* our thread waits for the second reply: it alone touches the proxy connection */
    LISTENER_READY,     /* the second reply (or a failure) is in, and the listener was made readable */
    LISTENER_SPENT,     /* accept() took the connection (or the failure): nothing more to accept */
};

struct listener {
    pthread_mutex_t lock;          /* state, closed, and the descriptors below once waiting ends */
    int refs;                      /* its slot, our thread, each call using it (under registry) */
    enum listener_state state;
    bool closed;                   /* the program closed its socket: nothing more to log or wake */
    struct file_id id;             /* the program's socket, to notice it replaced behind our back */
    int family;                    /* of the program's socket */
    union sockaddr_any asked;      /* what the program bind()s to: done for real if it connect()s instead */
    const struct config *config;
    const struct chain *chain;     /* of the proxied connection: BIND goes the same way */
    struct socks_target expect;    /* that connection's target, port 0: the peer the proxy may take */
    int arm_error;                 /* positive errno if asking the proxy failed */
    int proxy;                     /* our connection to the first proxy, asked for BIND */
    struct tunnel tunnel;          /* its handshake, which goes on with the second reply */
    long long deadline_ms;         /* for the second reply */
    union sockaddr_any bound;      /* where the proxy listens: what getsockname() reports */
    union sockaddr_any loop;       /* where the program's socket really listens (loopback) */
    int poke;                      /* our end of the connection that makes the listener readable */
    union sockaddr_any poke_local; /* its address: how accept() knows that connection is ours */
    union sockaddr_any peer;       /* from the second reply */
    int error;                     /* positive errno of the second reply */
    char what[FAKEDNS_NAME_MAX + ADDR_TEXT_MAX + 16]; /* the expected peer, for logs */
};

static struct fdmap slots;          /* per descriptor: _Atomic(struct listener *) */
static atomic_bool any;             /* a listener was ever made: binds_maybe's fast answer */
/* Taking a listener from its slot and counting its users, so that none is freed while a call (a
 * blocking accept in another thread, say) or our thread still uses it. Only listeners' calls take it. */
static pthread_mutex_t registry = PTHREAD_MUTEX_INITIALIZER;

static _Atomic(struct listener *) *slot_of(int fd, bool create)
{
    return fdmap_slot(&slots, fd, sizeof(_Atomic(struct listener *)), create);
}

bool binds_maybe(int fd)
{
    if (!atomic_load_explicit(&any, memory_order_relaxed))
        return false;
    _Atomic(struct listener *) *s = slot_of(fd, false);
    return s && atomic_load_explicit(s, memory_order_relaxed);
}

static void close_if_open(int *fd);
static void listener_free(struct listener *l);

/* fd's listener, if fd still holds the socket it was made for, with a reference for the caller
 * (listener_put). */
static struct listener *listener_get(int fd)
{
    _Atomic(struct listener *) *s = slot_of(fd, false);
    pthread_mutex_lock(&registry);
    struct listener *l = s ? atomic_load_explicit(s, memory_order_acquire) : NULL;
    if (l && file_id_is(fd, &l->id))
        l->refs++;
    else
        l = NULL;
    pthread_mutex_unlock(&registry);
    return l;
}

/* Drops a reference; the last one frees. */
static void listener_put(struct listener *l)
{
    pthread_mutex_lock(&registry);
    bool last = --l->refs == 0;
    pthread_mutex_unlock(&registry);
    if (last)
        listener_free(l);
}

/* Takes fd's listener out of its slot, with the slot's reference, or NULL. */
static struct listener *listener_take(int fd)
{
    _Atomic(struct listener *) *s = slot_of(fd, false);
    pthread_mutex_lock(&registry);
    struct listener *l = s ? atomic_exchange_explicit(s, NULL, memory_order_acq_rel) : NULL;
    pthread_mutex_unlock(&registry);
    return l;
}

static void close_if_open(int *fd)
{
    if (*fd >= 0)
        libc()->close(*fd);
    *fd = -1;
}

static void listener_free(struct listener *l)
{
    close_if_open(&l->proxy);
    close_if_open(&l->poke);
    pthread_mutex_destroy(&l->lock);
    free(l);
}

/* Asks the chain's last proxy for BIND over a fresh connection, up to the first reply: where the
 * proxy listens (its own address when it answers the unspecified one). 0 or -errno, logged. */
static int ask_proxy(struct listener *l)
{
    const struct config *c = l->config;
    const struct chain *ch = l->chain;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    l->proxy = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (l->proxy < 0)
        return -errno;
    struct tunnel *t = &l->tunnel;
    int r = tunnel_open_command(l->proxy, c, ch, &l->expect, SOCKS5_CMD_BIND, t);
    tunnel_log_result(c, l->what, ch, t, -r, &start);
    if (r < 0)
        return r;
    const struct proxy *last = t->handshake.hops[t->hop_count - 1];
    r = socks5_udp_relay(&t->handshake.reply.bound, last->has_addr ? &last->addr : NULL, &l->bound);
    if (r == 0)
        r = addr_fit_family(&l->bound, l->family);
    if (r < 0)
        log_msg(LOG_ERROR, "BIND for a peer at %s: the proxy listens where this socket cannot say: %s", l->what,
                strerror(-r));
    return r;
}

/* Binds the program's socket fd to loopback, port 0, where only we connect; l->loop says where. */
static int bind_loopback(int fd, struct listener *l)
{
    union sockaddr_any lo;
    memset(&lo, 0, sizeof(lo));
    if (l->family == AF_INET6) {
        lo.in6.sin6_family = AF_INET6;
        lo.in6.sin6_addr = in6addr_loopback;
    } else {
        lo.in4.sin_family = AF_INET;
        lo.in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    }
    socklen_t n = sizeof(l->loop);
    if (libc()->bind(fd, &lo.sa, addr_len(&lo)) < 0 || libc()->getsockname(fd, &l->loop.sa, &n) < 0)
        return -errno;
    return 0;
}

/* Remembers that fd's bind() to asked was meant for the proxy: through ch's last proxy,
 * expecting a peer at expect. Nothing goes out yet (see arm). 0 or -errno. */
static int listener_new(int fd, const union sockaddr_any *asked, const struct config *c, const struct chain *ch,
                        const struct socks_target *expect, const union sockaddr_any *expect_dst)
{
    _Atomic(struct listener *) *s = slot_of(fd, true);
    struct listener *l = s ? calloc(1, sizeof(*l)) : NULL;
    if (!l)
        return -ENOMEM;
    pthread_mutex_init(&l->lock, NULL);
    l->proxy = l->poke = -1;
    l->refs = 1;   /* the slot's */
    l->family = asked->sa.sa_family;
    l->asked = *asked;
    l->config = c;
    l->chain = ch;
    l->expect = *expect;
    outbound_describe(expect, expect_dst, l->what, sizeof(l->what));
    if (!file_id_of(fd, &l->id)) {
        listener_free(l);
        return -EBADF;
    }
    atomic_store_explicit(&any, true, memory_order_relaxed);
    pthread_mutex_lock(&registry);
    struct listener *old = atomic_exchange_explicit(s, l, memory_order_acq_rel);
    pthread_mutex_unlock(&registry);
    if (old)
        listener_put(old);   /* of a socket closed behind our back under the same number */
    return 0;
}

/* The first use of a candidate as a listener (getsockname, listen): asks the proxy for BIND, up to
 * the first reply, and binds the program's socket to loopback. 0, or -errno (then for good).
 * With l->lock held. */
static int arm(int fd, struct listener *l)
{
    if (l->state != LISTENER_CANDIDATE)
        return -l->arm_error;
    int r = ask_proxy(l);
    if (r == 0)
        r = bind_loopback(fd, l);
    if (r < 0) {
        close_if_open(&l->proxy);
        l->state = LISTENER_SPENT;
        l->error = l->arm_error = -r;
        return r;
    }
    l->state = LISTENER_ARMED;
    if (log_enabled(LOG_INFO)) {
        char bound[ADDR_TEXT_MAX];
        log_msg(LOG_INFO, "BIND for a peer at %s: the proxy listens on %s", l->what,
                addr_format(&l->bound, bound, sizeof(bound)));
    }
    return 0;
}

int binds_bind(int fd, const struct sockaddr *addr, socklen_t len)
{
    struct listener *bound = binds_maybe(fd) ? listener_get(fd) : NULL;
    if (bound) {
        listener_put(bound);
        return -EINVAL;   /* bound already, as the kernel would say */
    }
    union sockaddr_any local;
    /* The common cases cost no syscall: not inet, a fixed port, loopback. */
    if (context_loading() || !addr || !addr_from_sockaddr(&local, addr, len) || addr_port(&local) != 0 ||
        addr_is_loopback(&local))
        return 1;
    int saved = errno;
    const struct config *c = context_config();
    if (!c || !c->bind_auto) {
        errno = saved;
        return 1;
    }
    int proto = socket_int(fd, SOL_SOCKET, SO_PROTOCOL, -1);
    bool tcp = proto == IPPROTO_TCP || proto == IPPROTO_MPTCP;
    int tunnel_fd;
    union sockaddr_any dst;
    struct socks_target expect;
    struct route route;
    const struct route *via = NULL;
    if (tcp && tunnels_latest(&tunnel_fd, &dst) && outbound_route(c, &dst, "BIND for", &expect, &route) == 0)
        via = &route;
    struct bind_verdict v = bind_rule_decide(c, tcp, &local, via);
    errno = saved;
    if (!v.via_proxy) {
        if (tcp && log_enabled(LOG_DEBUG)) {
            char text[ADDR_TEXT_MAX];
            log_msg(LOG_DEBUG, "bind %s: local (%s)", addr_format(&local, text, sizeof(text)), v.reason);
        }
        return 1;
    }
    /* The peer connects from the host the tunnel reaches, from a port nobody knows yet. */
    expect.port = 0;
    expect.addr.in4.sin_port = dst.in4.sin_port = 0;   /* the same place in sockaddr_in6 */
    return listener_new(fd, &local, c, route.chain, &expect, &dst);
}

/* Reads the second reply within the deadline: 0 with l->peer, or a positive errno. */
static int read_second_reply(struct listener *l)
{
    struct handshake *h = &l->tunnel.handshake;
    if (handshake_bind_second(h) < 0)
        return EINVAL;
    int flags = libc()->fcntl(l->proxy, F_GETFL);
    libc()->fcntl(l->proxy, F_SETFL, flags | O_NONBLOCK);
    while (handshake_status(h) == HANDSHAKE_READ) {
        long long left = l->deadline_ms - tunnel_now_ms();
        if (left <= 0) {
            handshake_abort(h, ETIMEDOUT);
            break;
        }
        struct pollfd p = { .fd = l->proxy, .events = POLLIN };
        int r = poll(&p, 1, left > 60000 ? 60000 : (int)left);
        if (r < 0 && errno != EINTR)
            handshake_abort(h, errno);
        if (r <= 0)
            continue;
        r = tunnel_step(l->proxy, h);
        if (r < 0)
            handshake_abort(h, -r);
    }
    int err = handshake_error(h);
    if (err)
        return err;
    l->peer = h->reply.bound.addr;
    if (h->reply.bound.is_name || addr_fit_family(&l->peer, l->family) < 0)
        return EPROTO;   /* a peer this socket cannot name */
    return 0;
}

/* Makes the program's socket readable: a connection to it from loopback, which accept() knows
 * by its address. */
static void poke(struct listener *l)
{
    l->poke = socket(l->loop.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    socklen_t n = sizeof(l->poke_local);
    if (l->poke < 0 || libc()->connect(l->poke, &l->loop.sa, addr_len(&l->loop)) < 0 ||
        libc()->getsockname(l->poke, &l->poke_local.sa, &n) < 0) {
        log_msg(LOG_ERROR, "BIND for a peer at %s: cannot wake the listener: %s", l->what, strerror(errno));
        close_if_open(&l->poke);
    }
}

static void log_second_reply(const struct listener *l, int err)
{
    if (err) {
        const char *detail = l->tunnel.handshake.detail;
        log_msg(LOG_ERROR, "BIND for a peer at %s: no connection: %s%s%s%s", l->what, strerror(err),
                detail[0] ? " (proxy said: " : "", detail, detail[0] ? ")" : "");
    } else if (log_enabled(LOG_INFO)) {
        char peer[ADDR_TEXT_MAX];
        log_msg(LOG_INFO, "BIND for a peer at %s: %s connected", l->what, addr_format(&l->peer, peer, sizeof(peer)));
    }
}

/* The thread that waits for the second reply of one listener. */
static void *wait_second_reply(void *arg)
{
    struct listener *l = arg;
    int err = read_second_reply(l);
    pthread_mutex_lock(&l->lock);
    l->error = err;
    bool closed = l->closed;
    if (!closed) {
        log_second_reply(l, err);
        poke(l);
    }
    l->state = LISTENER_READY;
    pthread_mutex_unlock(&l->lock);
    listener_put(l);
    return NULL;
}

int binds_listen(int fd, int backlog)
{
    struct listener *l = listener_get(fd);
    if (!l)
        return 1;
    pthread_mutex_lock(&l->lock);
    int r = arm(fd, l);
    if (r == 0 && libc()->listen(fd, backlog) < 0)
        r = -errno;
    if (r == 0 && l->state == LISTENER_ARMED) {
        l->state = LISTENER_WAITING;
        l->deadline_ms = tunnel_now_ms() + context_config()->bind_timeout_ms;
        pthread_mutex_lock(&registry);
        l->refs++;   /* our thread's */
        pthread_mutex_unlock(&registry);
        if (!threads_spawn(wait_second_reply, l)) {
            l->state = LISTENER_ARMED;
            r = -EAGAIN;
            pthread_mutex_lock(&registry);
            l->refs--;   /* never the last: the caller holds one */
            pthread_mutex_unlock(&registry);
        }
    }
    pthread_mutex_unlock(&l->lock);
    listener_put(l);
    return r;
}

/* accept() took our own connection, accepted as descriptor conn: it gives way to the proxy
 * connection (the tunnel to the peer), or to the failure. The new descriptor, or -errno. */
static int hand_over(struct listener *l, int conn, struct sockaddr *addr, socklen_t *len, int flags)
{
    close_if_open(&l->poke);
    l->state = LISTENER_SPENT;
    int err = l->error;
    if (!err && dup3(l->proxy, conn, flags & SOCK_CLOEXEC ? O_CLOEXEC : 0) < 0)
        err = errno;
    if (err) {
        libc()->close(conn);
        l->error = err;
        return -err;
    }
    close_if_open(&l->proxy);
    int fl = libc()->fcntl(conn, F_GETFL);
    libc()->fcntl(conn, F_SETFL, flags & SOCK_NONBLOCK ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
    tunnels_add(conn, &l->peer, &l->bound);
    l->error = EINVAL;   /* one BIND, one connection */
    if (addr && len)
        *len = addr_copy_out(&l->peer, addr, *len);
    return conn;
}

/* accept() on l's socket until our own connection comes (or, non-blocking, nothing is there). */
static int accept_loop(int fd, struct listener *l, struct sockaddr *addr, socklen_t *len, int flags)
{
    for (;;) {
        pthread_mutex_lock(&l->lock);
        int spent = l->state == LISTENER_SPENT || l->closed ? (l->error ? l->error : EBADF) : 0;
        pthread_mutex_unlock(&l->lock);
        if (spent)
            return -spent;
        union sockaddr_any from;
        socklen_t n = sizeof(from);
        memset(&from, 0, sizeof(from));
        int conn = libc()->accept4(fd, &from.sa, &n, flags);
        if (conn < 0)
            return -errno;
        pthread_mutex_lock(&l->lock);
        bool ours = l->state == LISTENER_READY && l->poke >= 0 && addr_equal(&from, &l->poke_local);
        int r = ours ? hand_over(l, conn, addr, len, flags) : 0;
        pthread_mutex_unlock(&l->lock);
        if (ours)
            return r;
        /* Someone else on this host found the loopback port: not the peer. */
        libc()->close(conn);
        int fl = libc()->fcntl(fd, F_GETFL);
        if (fl >= 0 && (fl & O_NONBLOCK))
            return -EAGAIN;
    }
}

int binds_accept(int fd, struct sockaddr *addr, socklen_t *len, int flags, bool *mine)
{
    struct listener *l = listener_get(fd);
    *mine = l != NULL;
    if (!l)
        return 0;
    int r = accept_loop(fd, l, addr, len, flags);
    listener_put(l);
    return r;
}

int binds_sockname(int fd, struct sockaddr *addr, socklen_t *len)
{
    if (!addr || !len)
        return 1;
    struct listener *l = listener_get(fd);
    if (!l)
        return 1;
    pthread_mutex_lock(&l->lock);
    int r = arm(fd, l);
    if (r == 0)
        *len = addr_copy_out(&l->bound, addr, *len);
    pthread_mutex_unlock(&l->lock);
    listener_put(l);
    return r;
}

int binds_connecting(int fd)
{
    struct listener *l = listener_get(fd);
    if (!l)
        return 0;
    pthread_mutex_lock(&l->lock);
    bool candidate = l->state == LISTENER_CANDIDATE;
    union sockaddr_any asked = l->asked;
    pthread_mutex_unlock(&l->lock);
    listener_put(l);
    binds_close(fd);
    /* A client after all (it bound before connecting): its bind() happens now, as asked. */
    if (candidate && libc()->bind(fd, &asked.sa, addr_len(&asked)) < 0)
        return -errno;
    return 0;
}

void binds_close(int fd)
{
    struct listener *l = listener_take(fd);
    if (!l)
        return;
    pthread_mutex_lock(&l->lock);
    l->closed = true;
    /* Wakes our thread: the proxy connection reads end of file. */
    if (l->state == LISTENER_WAITING)
        libc()->shutdown(l->proxy, SHUT_RDWR);
    pthread_mutex_unlock(&l->lock);
    listener_put(l);
}
