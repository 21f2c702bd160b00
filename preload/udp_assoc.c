#include "udp_assoc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "context.h"

#include "fakedns.h"
#include "fdmap.h"
#include "libc.h"
#include "session.h"
#include "threads.h"
#include "udp_control.h"
#include "udp_wakeup.h"

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

/* Closes the control connection, if the number still holds it: the program may have closed it
 * (close loops) and reused the number. The caller holds the lock. */
static void close_ctl(struct udp_assoc *a)
{
    if (a->ctl >= 0 && file_id_is(a->ctl, &a->ctl_id))
        libc()->close(a->ctl);
    a->ctl = -1;
}

/* Forgets the slot's association; the caller holds its lock. */
static void reset_locked(struct udp_assoc *a)
{
    close_ctl(a);
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
    if (file_id_is(fd, &a->id))
        return a;
    /* fd was closed behind our back (close_range, a raw syscall) and its number reused. */
    pthread_mutex_lock(&a->lock);
    if (!file_id_is(fd, &a->id))
        reset_locked(a);
    pthread_mutex_unlock(&a->lock);
    return NULL;
}

/* Copies m into the slot; the caller holds the lock. */
static void publish(struct udp_assoc *a, const struct udp_control *m)
{
    a->ctl = m->ctl;
    a->ctl_id = m->ctl_id;
    a->family = m->family;
    a->relay = m->relay;
    a->max_datagram = m->max_datagram;
    memcpy(a->via, m->via, sizeof(a->via));
}

/* Ties fd to m's relay and the slot to m; the caller holds the lock. 0 or -errno (m's control
 * connection is then closed). */
static int attach(struct udp_assoc *a, int fd, struct udp_control *m)
{
    char relay[ADDR_TEXT_MAX];
    session_note_relay(addr_format(&m->relay, relay, sizeof(relay)));
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
static void settle(struct udp_assoc *a, int fd, struct udp_control *m, int r)
{
    if (r == 0 && udp_wakeup_reader_blocked(fd)) {
        /* The woken receive must find the association when it comes back through the hooks,
         * and the empty datagram must arrive before the socket takes only the relay's. */
        publish(a, m);
        atomic_store_explicit(&a->state, UDP_ACTIVE, memory_order_release);
        udp_wakeup_send(fd, m->family);
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

static void make_in_background(void *arg)
{
    struct background *b = arg;
    struct udp_control m;
    int r = udp_control_make(&m, b->fd, b->c, b->ch, b->what);
    struct udp_assoc *a = b->a;
    pthread_mutex_lock(&a->lock);
    if (a->gen == b->gen && atomic_load_explicit(&a->state, memory_order_acquire) == UDP_PENDING)
        settle(a, b->fd, &m, r);
    else if (r == 0)
        libc()->close(m.ctl);   /* the program closed its socket meanwhile */
    pthread_mutex_unlock(&a->lock);
    libc()->close(b->fd);
    free(b);
}

/* Hands the making of a's association to a worker (threads.h: a few threads, however many
 * sockets wait); false if none can run (then the caller makes it in place). Lock held. */
static bool start_background(struct udp_assoc *a, int fd, const struct config *c, const struct chain *ch,
                             const char *first_dst)
{
    struct background *b = calloc(1, sizeof(*b));
    if (!b)
        return false;
    *b = (struct background){ .a = a, .gen = a->gen, .c = c, .ch = ch };
    snprintf(b->what, sizeof(b->what), "%s", first_dst);
    b->fd = libc()->fcntl(fd, F_DUPFD_CLOEXEC, 0);
    bool ok = b->fd >= 0 && threads_submit(make_in_background, b);
    if (!ok) {
        if (b->fd >= 0)
            libc()->close(b->fd);
        free(b);
    }
    return ok;
}

/* Makes a blocking socket's association in this thread, with the lock released meanwhile (held
 * on entry and on return): a lock held through a handshake would stall every other thread's
 * datagram, and a child forked meanwhile would inherit it locked for ever. Other threads find the
 * association pending and queue their datagrams. Returns its state. */
static int make_in_place(struct udp_assoc *a, int fd, const struct config *c, const struct chain *ch,
                         const char *first_dst)
{
    unsigned gen = a->gen;
    pthread_mutex_unlock(&a->lock);
    struct udp_control m;
    int r = udp_control_make(&m, fd, c, ch, first_dst);
    pthread_mutex_lock(&a->lock);
    if (a->gen == gen && atomic_load_explicit(&a->state, memory_order_acquire) == UDP_PENDING)
        settle(a, fd, &m, r);
    else if (r == 0)
        libc()->close(m.ctl);   /* the program closed its socket meanwhile */
    return atomic_load_explicit(&a->state, memory_order_acquire);
}

/* A fresh association for the slot of fd; lock held. Returns the new state, or -errno. */
static int begin(struct udp_assoc *a, int fd, const struct config *c, const struct chain *ch, const char *first_dst)
{
    if (!file_id_of(fd, &a->id))
        return -errno;
    a->ctl = -1;
    memset(&a->relay, 0, sizeof(a->relay));   /* stays so unless the socket gets connected to a relay */
    a->chain = ch;
    a->max_datagram = UDP4_MAX;   /* until the relay's family is known: the smaller */
    a->via[0] = '\0';
    a->has_peer = a->has_name = false;
    a->queue_tail = &a->queue;
    atomic_fetch_add_explicit(&live, 1, memory_order_acq_rel);
    a->maker = getpid();
    atomic_store_explicit(&a->state, UDP_PENDING, memory_order_release);
    int flags = libc()->fcntl(fd, F_GETFL);
    /* An event loop must not wait for the handshake: datagrams queue meanwhile. */
    if (flags >= 0 && (flags & O_NONBLOCK) && start_background(a, fd, c, ch, first_dst))
        return wait_briefly(a);
    return make_in_place(a, fd, c, ch, first_dst);
}

int udp_assoc_open(int fd, const struct config *c, const struct chain *ch, const char *first_dst, struct udp_assoc **out)
{
    struct udp_assoc *a = slot(fd, true);
    if (!a)
        return -ENOBUFS;
    pthread_mutex_lock(&a->lock);
    int state = atomic_load_explicit(&a->state, memory_order_acquire);
    if (state != UDP_NONE && !file_id_is(fd, &a->id)) {
        reset_locked(a);
        state = UDP_NONE;
    }
    if (state == UDP_NONE)
        state = begin(a, fd, c, ch, first_dst);
    /* UDP_NONE: the program closed the socket while its association was being made. */
    int err = state < 0 ? -state : state == UDP_NONE ? EBADF : a->error;
    pthread_mutex_unlock(&a->lock);
    if (state < 0 || state == UDP_FAILED || state == UDP_NONE)
        return -err;
    *out = a;
    return 0;
}

bool udp_assoc_enqueue(struct udp_assoc *a, const uint8_t *header, size_t hlen, const struct msghdr *msg, ssize_t *result)
{
    size_t payload = 0;
    for (size_t i = 0; i < msg->msg_iovlen; i++)
        payload += msg->msg_iov[i].iov_len;   /* bounded by the caller's EMSGSIZE check */
    pthread_mutex_lock(&a->lock);
    if (atomic_load_explicit(&a->state, memory_order_acquire) != UDP_PENDING) {
        pthread_mutex_unlock(&a->lock);
        return false;
    }
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
        *result = (ssize_t)payload;
    } else {
        *result = a->queued < QUEUE_MAX ? -ENOBUFS : -EAGAIN;
    }
    pthread_mutex_unlock(&a->lock);
    return true;
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
    if (libc()->poll(&p, 1, 0) <= 0)
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
        close_ctl(a);
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

/* A lock another thread held when the program forked stays locked in the child for ever: the
 * child starts with every association's lock free (the state they guard is as it was). */
static void after_fork_child(void)
{
    for (unsigned p = 0; p < FDMAP_PAGES; p++) {
        struct udp_assoc *page = atomic_load_explicit(&slots.pages[p], memory_order_acquire);
        for (unsigned i = 0; page && i < FDMAP_PAGE_SIZE; i++) {
            pthread_mutex_init(&page[i].lock, NULL);
            pthread_cond_init(&page[i].settled, NULL);
        }
    }
}

__attribute__((constructor)) static void udp_assoc_init(void)
{
    context_atfork(NULL, NULL, after_fork_child);
}
