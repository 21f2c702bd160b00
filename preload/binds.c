#include "binds.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bind_listener.h"
#include "bind_rule.h"
#include "context.h"
#include "fdmap.h"
#include "libc.h"
#include "log.h"
#include "outbound.h"
#include "threads.h"
#include "tunnels.h"

static struct fdmap slots;          /* per descriptor: _Atomic(struct listener *) */
static atomic_bool any;             /* a listener was ever made: binds_maybe's fast answer */
static atomic_int waiting;          /* listeners in the list below: binds_waiting's answer */
/* Taking a listener from its slot and counting its users, so that none is freed while a call (a
 * blocking accept in another thread, say) or our thread still uses it. Only listeners' calls take it. */
static pthread_mutex_t registry = PTHREAD_MUTEX_INITIALIZER;
static struct listener *waiting_list; /* those whose thread runs, linked by next_waiting (registry) */

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
        bind_listener_free(l);
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

/* fork(): the registry is taken around it; in the child the waiting listeners are the parent's
 * (their threads are not here), and reading their proxy connections would rob the parent. */
static void before_fork(void) { pthread_mutex_lock(&registry); }
static void after_fork_parent(void) { pthread_mutex_unlock(&registry); }
static void after_fork_child(void)
{
    for (struct listener *l = waiting_list; l; l = l->next_waiting)
        l->inherited = true;
    waiting_list = NULL;
    atomic_store_explicit(&waiting, 0, memory_order_relaxed);
    pthread_mutex_init(&registry, NULL);
}

static void register_fork_handlers(void)
{
    context_atfork(before_fork, after_fork_parent, after_fork_child);
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
    l->proxy = l->poke = l->wake = -1;
    l->fd = fd;
    l->refs = 1;   /* the slot's */
    l->family = asked->sa.sa_family;
    l->asked = *asked;
    l->config = c;
    l->chain = ch;
    l->expect = *expect;
    outbound_describe(expect, expect_dst, l->what, sizeof(l->what));
    if (!file_id_of(fd, &l->id)) {
        bind_listener_free(l);
        return -EBADF;
    }
    static pthread_once_t fork_handlers = PTHREAD_ONCE_INIT;
    pthread_once(&fork_handlers, register_fork_handlers);
    atomic_store_explicit(&any, true, memory_order_relaxed);
    pthread_mutex_lock(&registry);
    struct listener *old = atomic_exchange_explicit(s, l, memory_order_acq_rel);
    pthread_mutex_unlock(&registry);
    if (old)
        listener_put(old);   /* of a socket closed behind our back under the same number */
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
    /* Without a proxied connection open (most binds) the socket is not even asked what it is,
     * unless the decision is logged. */
    int tunnel_fd;
    union sockaddr_any dst;
    bool tunnel = tunnels_latest(&tunnel_fd, &dst);
    int proto = tunnel || log_enabled(LOG_DEBUG) ? socket_int(fd, SOL_SOCKET, SO_PROTOCOL, -1) : -1;
    bool tcp = proto == IPPROTO_TCP || proto == IPPROTO_MPTCP;
    struct socks_target expect;
    struct route route;
    const struct route *via = NULL;
    if (tcp && tunnel && outbound_route(c, &dst, "BIND for", &expect, &route) == 0)
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

/* Puts l on (or takes it off) the list binds_settle reads, with the list's reference. */
static void waiting_add(struct listener *l)
{
    pthread_mutex_lock(&registry);
    l->refs++;
    l->next_waiting = waiting_list;
    waiting_list = l;
    atomic_fetch_add_explicit(&waiting, 1, memory_order_relaxed);
    pthread_mutex_unlock(&registry);
}

static void waiting_remove(struct listener *l)
{
    pthread_mutex_lock(&registry);
    struct listener **p = &waiting_list;
    while (*p && *p != l)
        p = &(*p)->next_waiting;
    bool found = *p == l;
    if (found) {
        *p = l->next_waiting;
        atomic_fetch_sub_explicit(&waiting, 1, memory_order_relaxed);
    }
    pthread_mutex_unlock(&registry);
    if (found)
        listener_put(l);
}

/* The thread that waits for the second reply of one listener, holding a reference. */
static void *wait_second_reply(void *arg)
{
    struct listener *l = arg;
    bind_listener_wait(l);
    waiting_remove(l);
    listener_put(l);
    return NULL;
}

/* listen() on an armed listener: our thread starts waiting for the second reply. With l->lock,
 * which our thread takes first thing: it finds l waiting, or (after a failure here) not, and ends. */
static int start_waiting(struct listener *l)
{
    pthread_mutex_lock(&registry);
    l->refs++;   /* our thread's */
    pthread_mutex_unlock(&registry);
    if (!threads_spawn(wait_second_reply, l)) {
        pthread_mutex_lock(&registry);
        l->refs--;   /* never the last: the caller holds one */
        pthread_mutex_unlock(&registry);
        return -EAGAIN;
    }
    int r = bind_listener_start_wait(l, tunnel_now_ms() + context_config()->bind_timeout_ms);
    if (r == 0)
        waiting_add(l);
    return r;
}

bool binds_waiting(void)
{
    return atomic_load_explicit(&waiting, memory_order_relaxed) > 0;
}

size_t binds_settle(int *ready, size_t cap)
{
    struct listener *ls[16];
    size_t n = 0, made = 0;
    pthread_mutex_lock(&registry);
    for (struct listener *l = waiting_list; l && n < sizeof(ls) / sizeof(ls[0]); l = l->next_waiting) {
        l->refs++;
        ls[n++] = l;
    }
    pthread_mutex_unlock(&registry);
    for (size_t i = 0; i < n; i++) {
        pthread_mutex_lock(&ls[i]->lock);
        if (bind_listener_pump(ls[i]) && made < cap)
            ready[made++] = ls[i]->fd;
        pthread_mutex_unlock(&ls[i]->lock);
        listener_put(ls[i]);
    }
    return made;
}

int binds_listen(int fd, int backlog)
{
    struct listener *l = listener_get(fd);
    if (!l)
        return 1;
    pthread_mutex_lock(&l->lock);
    int r = bind_listener_arm(fd, l);
    if (r == 0 && libc()->listen(fd, backlog) < 0)
        r = -errno;
    if (r == 0 && l->state == LISTENER_ARMED)
        r = start_waiting(l);
    pthread_mutex_unlock(&l->lock);
    listener_put(l);
    return r;
}

/* accept() took our own connection, accepted as descriptor conn: it gives way to the proxy
 * connection (the tunnel to the peer), or to the failure. The new descriptor, or -errno. */
static int hand_over(struct listener *l, int conn, struct sockaddr *addr, socklen_t *len, int flags)
{
    bind_listener_close_fd(&l->poke);
    l->state = LISTENER_SPENT;
    int err = l->error;
    if (!err && dup3(l->proxy, conn, flags & SOCK_CLOEXEC ? O_CLOEXEC : 0) < 0)
        err = errno;
    if (err) {
        libc()->close(conn);
        l->error = err;
        return -err;
    }
    bind_listener_close_fd(&l->proxy);
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
    /* The reply may be in while our thread has not run yet: a non-blocking accept takes it now. */
    pthread_mutex_lock(&l->lock);
    bind_listener_pump(l);
    pthread_mutex_unlock(&l->lock);
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
    int r = bind_listener_arm(fd, l);
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
