#include "bind_listener.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "libc.h"
#include "log.h"

void bind_listener_close_fd(int *fd)
{
    if (*fd >= 0)
        libc()->close(*fd);
    *fd = -1;
}

void bind_listener_free(struct listener *l)
{
    bind_listener_close_fd(&l->proxy);
    bind_listener_close_fd(&l->poke);
    bind_listener_close_fd(&l->wake);
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

int bind_listener_arm(int fd, struct listener *l)
{
    if (l->state != LISTENER_CANDIDATE)
        return -l->arm_error;
    int r = ask_proxy(l);
    if (r == 0)
        r = bind_loopback(fd, l);
    if (r < 0) {
        bind_listener_close_fd(&l->proxy);
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


/* The outcome of the second reply, once read: 0 with l->peer, or a positive errno. */
static int second_reply_result(struct listener *l)
{
    const struct handshake *h = &l->tunnel.handshake;
    int err = handshake_error(h);
    if (err)
        return err;
    l->peer = h->reply.bound.addr;
    if (h->reply.bound.is_name || addr_fit_family(&l->peer, l->family) < 0)
        return EPROTO;   /* a peer this socket cannot name */
    return 0;
}

/* Connects s to loopback address to, waiting at most a second: a backlog filled by strangers
 * must not stall the caller, which may be the program's own poll(). 0 or -errno. */
static int connect_loopback(int s, const union sockaddr_any *to)
{
    if (libc()->connect(s, &to->sa, addr_len(to)) == 0)
        return 0;
    if (errno != EINPROGRESS)
        return -errno;
    struct pollfd p = { .fd = s, .events = POLLOUT };
    int r = libc()->poll(&p, 1, 1000);
    if (r <= 0)
        return r == 0 ? -ETIMEDOUT : -errno;
    int err = 0;
    socklen_t n = sizeof(err);
    if (libc()->getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &n) < 0)
        return -errno;
    return -err;
}

/* Makes the program's socket readable: a connection to it from loopback, which accept() knows
 * by its address. */
static void poke(struct listener *l)
{
    l->poke = socket(l->loop.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    socklen_t n = sizeof(l->poke_local);
    int r = l->poke < 0 ? -errno : connect_loopback(l->poke, &l->loop);
    if (r == 0 && libc()->getsockname(l->poke, &l->poke_local.sa, &n) < 0)
        r = -errno;
    if (r < 0) {
        log_msg(LOG_ERROR, "BIND for a peer at %s: cannot wake the listener: %s", l->what, strerror(-r));
        bind_listener_close_fd(&l->poke);
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

/* The wait is over with err (0: l->peer connected): recorded, logged and made readable (unless
 * the program closed its socket); our thread, if asleep, is woken. */
static void finish_wait(struct listener *l, int err)
{
    l->error = err;
    if (!l->closed) {
        log_second_reply(l, err);
        poke(l);
    }
    l->state = LISTENER_READY;
    uint64_t one = 1;
    if (l->wake >= 0 && libc()->write(l->wake, &one, sizeof(one)) < 0)
        log_msg(LOG_DEBUG, "BIND for a peer at %s: cannot wake our thread: %s", l->what, strerror(errno));
}

int bind_listener_start_wait(struct listener *l, long long deadline_ms)
{
    l->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (l->wake < 0)
        return -errno;
    l->deadline_ms = deadline_ms;
    l->state = LISTENER_WAITING;
    int flags = libc()->fcntl(l->proxy, F_GETFL);
    libc()->fcntl(l->proxy, F_SETFL, flags | O_NONBLOCK);
    if (handshake_bind_second(&l->tunnel.handshake) < 0)
        finish_wait(l, EINVAL);
    return 0;
}

bool bind_listener_pump(struct listener *l)
{
    /* A forked child shares the proxy connection: a reply it read would be lost to the parent. */
    if (l->state != LISTENER_WAITING || l->inherited)
        return false;
    struct handshake *h = &l->tunnel.handshake;
    while (handshake_status(h) == HANDSHAKE_READ) {
        int r = tunnel_step(l->proxy, h);
        if (r > 0)
            return false;   /* nothing more has come */
        if (r < 0)
            handshake_abort(h, -r);
    }
    finish_wait(l, second_reply_result(l));
    return true;
}

/* Our thread gives up waiting with err (ETIMEDOUT, or poll's own failure). */
static void abandon_wait(struct listener *l, int err)
{
    handshake_abort(&l->tunnel.handshake, err);
    finish_wait(l, second_reply_result(l));
}

void bind_listener_wait(struct listener *l)
{
    pthread_mutex_lock(&l->lock);
    while (l->state == LISTENER_WAITING) {
        long long left = l->deadline_ms - tunnel_now_ms();
        if (left <= 0) {
            abandon_wait(l, ETIMEDOUT);
            break;
        }
        /* Asleep without the lock: the program's own calls (binds_settle) may read the reply
         * first; finish_wait then wakes us through l->wake. */
        struct pollfd p[2] = { { .fd = l->proxy, .events = POLLIN }, { .fd = l->wake, .events = POLLIN } };
        pthread_mutex_unlock(&l->lock);
        int r = libc()->poll(p, 2, left > 60000 ? 60000 : (int)left);
        int err = r < 0 ? errno : 0;
        pthread_mutex_lock(&l->lock);
        if (r < 0 && err != EINTR && l->state == LISTENER_WAITING)
            abandon_wait(l, err);
        else if (r > 0)
            bind_listener_pump(l);
    }
    pthread_mutex_unlock(&l->lock);
}
