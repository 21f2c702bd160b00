#include "pending.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/un.h>
#include <unistd.h>

#include "epolltrack.h"
#include "fdmap.h"
#include "fileid.h"
#include "log.h"
#include "outbound.h"
#include "real.h"
#include "registry.h"
#include "sockint.h"
#include "spawn.h"

struct job {
    int fd;                 /* the program's number */
    int real;               /* our own descriptor of the socket being driven; -1 once closed */
    int placeholder;        /* our own descriptor of the placeholder; -1 once closed */
    int family;             /* of the program's socket */
    struct file_id placeholder_id; /* to notice fd replaced behind our back */
    bool cancelled;         /* the program closed or shut down fd: nobody waits for the result */
    bool over;              /* the engine is done with it */
    atomic_bool running;
    int error;              /* once failed: what SO_ERROR reports, once */
    struct tunnel tunnel;
    union sockaddr_any dst;
    char what[300];
    struct timespec start;
    struct job *next;       /* the engine's list */
};

/* One lock for the engine's state and every job: jobs are short non-blocking steps. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct fdmap slots;              /* fd -> _Atomic(struct job *) */
static atomic_int live;                 /* jobs in slots: 0 spares every hook the lookup */
static struct job *jobs;                /* the engine's, running or over */
static int engine_ep = -1, engine_wake = -1;
static struct file_id engine_id, wake_id; /* a program may close or dup2 over them */
static unsigned engine_gen;             /* a thread whose generation is past stops */
static bool engine_up, atfork_done;

static _Atomic(struct job *) *slot_of(int fd, bool create)
{
    return fdmap_slot(&slots, fd, sizeof(_Atomic(struct job *)), create);
}

static struct job *job_of(int fd)
{
    _Atomic(struct job *) *s = slot_of(fd, false);
    return s ? atomic_load_explicit(s, memory_order_acquire) : NULL;
}

static void set_slot(int fd, struct job *j)
{
    _Atomic(struct job *) *s = slot_of(fd, true);
    if (!s)
        return;
    struct job *old = atomic_exchange(s, j);
    atomic_fetch_add(&live, (j != NULL) - (old != NULL));
}

bool pending_maybe(int fd)
{
    /* acquire: a thread that finds nothing is ordered after the engine's last change (free on x86). */
    return atomic_load_explicit(&live, memory_order_acquire) > 0 && job_of(fd) != NULL;
}

bool pending_running(int fd)
{
    struct job *j = job_of(fd);
    return j && atomic_load_explicit(&j->running, memory_order_acquire);
}

/* ---------- the engine thread ---------- */

static uint32_t epoll_events(int poll_events)
{
    return (poll_events & POLLIN ? EPOLLIN : 0) | (poll_events & POLLOUT ? EPOLLOUT : 0);
}

static void close_placeholder(struct job *j)
{
    if (j->placeholder >= 0)
        libc()->close(j->placeholder);
    j->placeholder = -1;
}

/* Puts file under the program's number, its epoll registrations moved along: off the file fd
 * holds now (before its hang-up could be reported), onto the new one. */
static int move_under(int file, int fd)
{
    epolltrack_lock();
    epolltrack_detach(fd);
    int r = tunnel_replace_fd(file, fd);
    epolltrack_attach(fd);
    epolltrack_unlock();
    return r;
}

/* Puts the socket back under the program's number, registrations and close-on-exec included. */
static void swap_back(struct job *j)
{
    move_under(j->real, j->fd);
    /* A poll() or select() already asleep on the placeholder would sleep on for ever: hanging it
     * up wakes them, and they look at the descriptor again, which now is the socket. */
    libc()->shutdown(j->placeholder, SHUT_RDWR);
    close_placeholder(j);
}

static void close_real(struct job *j)
{
    if (j->real < 0)
        return;
    libc()->epoll_ctl(engine_ep, EPOLL_CTL_DEL, j->real, NULL);
    libc()->close(j->real);
    j->real = -1;
}

/* A failed connect leaves an unconnected socket behind (writable and hung up for poll, ENOTCONN
 * for getpeername, EPIPE for send), not our connection to the proxy. */
static void replace_with_unconnected(struct job *j)
{
    int domain = socket_int(j->real, SOL_SOCKET, SO_DOMAIN, AF_INET);
    int flags = libc()->fcntl(j->real, F_GETFL);
    int fresh = socket(domain, SOCK_STREAM | SOCK_CLOEXEC | (flags >= 0 && (flags & O_NONBLOCK) ? SOCK_NONBLOCK : 0), 0);
    if (fresh < 0) {
        libc()->shutdown(j->real, SHUT_RDWR);
        return;
    }
    libc()->epoll_ctl(engine_ep, EPOLL_CTL_DEL, j->real, NULL);
    libc()->close(j->real);
    j->real = fresh;
}

/* The handshake ended with r (0 or -errno): hand the result to the program. */
static void finish(struct job *j, int r)
{
    j->over = true;
    atomic_store_explicit(&j->running, false, memory_order_release);
    if (!j->cancelled && !file_id_is(j->fd, &j->placeholder_id))
        j->cancelled = true;   /* the program put something else under fd (dup2): not ours any more */
    if (!j->cancelled) {
        if (r < 0)
            replace_with_unconnected(j);
        swap_back(j);
        outbound_log_result(j->tunnel.config, j->what, j->tunnel.chain, &j->tunnel, -r, &j->start);
        if (r == 0)
            registry_add(j->fd, &j->dst);
        j->error = -r;
        if (r == 0)
            set_slot(j->fd, NULL);
    }
    close_real(j);
    close_placeholder(j);
}

static void step(struct job *j, int r)
{
    if (j->cancelled && !j->over) {
        j->over = true;
        atomic_store_explicit(&j->running, false, memory_order_release);
        close_real(j);
        close_placeholder(j);
        return;
    }
    if (r > 0) {
        struct epoll_event ev = { .events = epoll_events(r), .data.ptr = j };
        /* A retry on a fresh socket left the old registration behind with the old socket. */
        if (libc()->epoll_ctl(engine_ep, EPOLL_CTL_MOD, j->real, &ev) < 0)
            libc()->epoll_ctl(engine_ep, EPOLL_CTL_ADD, j->real, &ev);
        return;
    }
    finish(j, r);
}

/* Frees jobs nobody refers to any more: over, and out of their slot (or cancelled). */
static void reap(void)
{
    for (struct job **p = &jobs; *p;) {
        struct job *j = *p;
        if (j->over && (j->cancelled || job_of(j->fd) != j)) {
            *p = j->next;
            free(j);
        } else {
            p = &j->next;
        }
    }
}

static int next_timeout_ms(void)
{
    long long now = tunnel_now_ms(), first = -1;
    for (struct job *j = jobs; j; j = j->next)
        if (!j->over && (first < 0 || j->tunnel.deadline_ms < first))
            first = j->tunnel.deadline_ms;
    if (first < 0)
        return -1;
    return first <= now ? 0 : (int)(first - now > 60000 ? 60000 : first - now);
}

/* One step of a job. Its registration goes first: a chain's retry may have put a fresh socket
 * under j->real, and the old one (alive in a forked child, say) would go on reporting events
 * for j after j is freed. step() registers whatever j->real holds now. */
static int advance(struct job *j, bool expired)
{
    libc()->epoll_ctl(engine_ep, EPOLL_CTL_DEL, j->real, NULL);
    return expired ? tunnel_expire(&j->tunnel) : tunnel_advance(&j->tunnel);
}

static void run_events(struct epoll_event *evs, int n)
{
    for (int i = 0; i < n; i++) {
        struct job *j = evs[i].data.ptr;
        if (!j) {
            uint64_t drain;
            libc()->read(engine_wake, &drain, sizeof(drain));
        } else if (!j->over) {
            step(j, j->cancelled ? 0 : advance(j, false));
        }
    }
    long long now = tunnel_now_ms();
    for (struct job *j = jobs; j; j = j->next)
        if (!j->over && (j->cancelled || now >= j->tunnel.deadline_ms))
            step(j, j->cancelled ? 0 : advance(j, true));
    reap();
}

/* The program closed the engine's own descriptors (closefrom, close_range): the handshakes in
 * flight fail, and the next non-blocking connect starts a new engine. Its numbers may belong to
 * the program by now, so they are not closed again. */
static void engine_lost(void)
{
    log_msg(LOG_WARN, "the background engine's descriptors were closed by the program: a new engine takes "
            "over; handshakes in flight, if any, fail with ECONNABORTED");
    engine_ep = engine_wake = -1;
    engine_up = false;
    engine_gen++;
    for (struct job *j = jobs; j; j = j->next) {
        if (j->over)
            continue;
        /* Probably closed as well, and not ours to close if its number was reused: a fresh socket
         * stands in, so that the program gets its failure (finish puts one back under its number). */
        j->real = socket(j->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (j->real < 0)
            j->cancelled = true;
        finish(j, -ECONNABORTED);
    }
}

static void *engine_main(void *arg)
{
    unsigned gen = (unsigned)(uintptr_t)arg;
    struct epoll_event evs[64];
    pthread_mutex_lock(&lock);
    while (gen == engine_gen) {
        int timeout = next_timeout_ms();
        int ep = engine_ep;
        /* Something else under our number (the program's own epoll after a dup2) must not be
         * waited on: its events would be taken for jobs. */
        if (!file_id_is(ep, &engine_id)) {
            engine_lost();
            break;
        }
        pthread_mutex_unlock(&lock);
        int n = epoll_wait(ep, evs, 64, timeout);
        int err = errno;
        pthread_mutex_lock(&lock);
        if (gen != engine_gen)
            break;   /* replaced while it slept: nothing here is its business any more */
        if (n < 0 && err != EINTR) {
            engine_lost();
            break;
        }
        run_events(evs, n < 0 ? 0 : n);
    }
    pthread_mutex_unlock(&lock);
    return NULL;
}

/* ---------- fork ---------- */

static void before_fork(void) { pthread_mutex_lock(&lock); epolltrack_lock(); }
static void after_fork_parent(void) { epolltrack_unlock(); pthread_mutex_unlock(&lock); }

/* The child has no engine thread: its copies of the handshakes are abandoned (their descriptors
 * keep the placeholder), and a new engine starts if the child connects. */
static void after_fork_child(void)
{
    pthread_mutex_init(&lock, NULL);
    epolltrack_after_fork();
    for (struct job *j = jobs, *next; j; j = next) {
        next = j->next;
        if (j->real >= 0)
            libc()->close(j->real);
        if (j->placeholder >= 0)
            libc()->close(j->placeholder);
        if (job_of(j->fd) == j)
            set_slot(j->fd, NULL);
        free(j);
    }
    jobs = NULL;
    if (engine_up) {
        libc()->close(engine_ep);
        libc()->close(engine_wake);
    }
    engine_ep = engine_wake = -1;
    engine_up = false;
}

/* Starts the engine on first use (or again, if the program closed its descriptors); false if it
 * cannot run. Called with the lock held. */
static bool engine_start(void)
{
    if (engine_up && (!file_id_is(engine_ep, &engine_id) || !file_id_is(engine_wake, &wake_id)))
        engine_lost();
    if (engine_up)
        return true;
    if (!atfork_done && pthread_atfork(before_fork, after_fork_parent, after_fork_child) != 0)
        return false;
    atfork_done = true;
    engine_ep = epoll_create1(EPOLL_CLOEXEC);
    engine_wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
    bool ok = engine_ep >= 0 && engine_wake >= 0 && libc()->epoll_ctl(engine_ep, EPOLL_CTL_ADD, engine_wake, &ev) == 0 &&
              spawn_detached(engine_main, (void *)(uintptr_t)engine_gen);
    if (!ok) {
        if (engine_ep >= 0)
            libc()->close(engine_ep);
        if (engine_wake >= 0)
            libc()->close(engine_wake);
        engine_ep = engine_wake = -1;
        return false;
    }
    file_id_of(engine_ep, &engine_id);
    file_id_of(engine_wake, &wake_id);
    engine_up = true;
    return true;
}

/* ---------- the program's side ---------- */

/* Nudges the engine to look at its jobs again; never writes into a file that is not its eventfd. */
static void wake_engine(void)
{
    if (engine_up && file_id_is(engine_wake, &wake_id))
        libc()->write(engine_wake, &(uint64_t){ 1 }, sizeof(uint64_t));
}

/* A descriptor that is never readable nor writable: a listening AF_UNIX socket (autobound). */
static int make_placeholder(void)
{
    int p = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    struct sockaddr_un autobind = { .sun_family = AF_UNIX };
    if (p >= 0 && (bind(p, (struct sockaddr *)&autobind, sizeof(sa_family_t)) < 0 || listen(p, 0) < 0)) {
        libc()->close(p);
        return -1;
    }
    return p;
}

/* Puts the placeholder under the program's number, with the registrations moved to it. */
static int swap_in_placeholder(struct job *j)
{
    int p = make_placeholder();
    if (p < 0)
        return -1;
    int r = move_under(p, j->fd);
    if (r >= 0)
        file_id_of(j->fd, &j->placeholder_id);
    j->placeholder = p;   /* kept, to wake sleepers on it at the end */
    if (r < 0)
        close_placeholder(j);
    return r < 0 ? -1 : 0;
}

int pending_connect(int fd, const struct config *c, const struct chain *ch, const struct socks_target *target,
                    const union sockaddr_any *dst, const char *what, const struct timespec *start)
{
    pthread_mutex_lock(&lock);
    bool up = engine_start();
    pthread_mutex_unlock(&lock);
    struct job *j = up ? calloc(1, sizeof(*j)) : NULL;
    if (!j)
        return 1;
    j->fd = fd;
    j->placeholder = -1;
    j->family = dst->sa.sa_family;
    j->dst = *dst;
    j->start = *start;
    snprintf(j->what, sizeof(j->what), "%s", what);
    j->real = libc()->fcntl(fd, F_DUPFD_CLOEXEC, 0);
    int r = j->real < 0 ? -errno : tunnel_begin(&j->tunnel, j->real, c, ch, target);
    if (r <= 0) {
        /* Over before it began (a refused connect to a local proxy, a bad target) or done at once. */
        struct file_id tunnel_id;
        /* A dynamic chain may have moved to a fresh socket: that one is the tunnel. */
        if (r == 0 && file_id_of(j->real, &tunnel_id) && !file_id_is(fd, &tunnel_id))
            tunnel_replace_fd(j->real, fd);
        if (j->real >= 0) {
            outbound_log_result(c, what, ch, &j->tunnel, -r, start);
            libc()->close(j->real);
        }
        free(j);
        if (r == 0)
            registry_add(fd, dst);
        errno = -r;
        return r == 0 ? 0 : -1;
    }
    if (swap_in_placeholder(j) < 0) {
        libc()->close(j->real);
        free(j);
        return 1;
    }
    atomic_store(&j->running, true);
    pthread_mutex_lock(&lock);
    j->next = jobs;
    jobs = j;
    set_slot(fd, j);
    struct epoll_event ev = { .events = epoll_events(r), .data.ptr = j };
    libc()->epoll_ctl(engine_ep, EPOLL_CTL_ADD, j->real, &ev);
    wake_engine();   /* its deadline may be the nearest now */
    pthread_mutex_unlock(&lock);
    errno = EINPROGRESS;
    return -1;
}

int pending_connect_again(int fd)
{
    pthread_mutex_lock(&lock);
    struct job *j = job_of(fd);
    int r = 1;
    if (j && !j->over) {
        errno = EALREADY;
        r = -1;
    } else if (j) {
        errno = j->error;
        set_slot(fd, NULL);
        reap();
        r = -1;
    }
    pthread_mutex_unlock(&lock);
    return r;
}

bool pending_so_error(int fd, int *err)
{
    pthread_mutex_lock(&lock);
    struct job *j = job_of(fd);
    if (j) {
        *err = j->over ? j->error : 0;
        /* Like the kernel's, the error is reported once. */
        if (j->over) {
            set_slot(fd, NULL);
            reap();
        }
    }
    pthread_mutex_unlock(&lock);
    return j != NULL;
}

bool pending_on_real(int fd, int (*op)(int real, void *ctx), void *ctx, int *ret)
{
    pthread_mutex_lock(&lock);
    struct job *j = job_of(fd);
    bool running = j && !j->over && j->real >= 0;
    if (running)
        *ret = op(j->real, ctx);
    int saved = errno;
    pthread_mutex_unlock(&lock);
    errno = saved;
    return running;
}

void pending_close(int fd)
{
    pthread_mutex_lock(&lock);
    struct job *j = job_of(fd);
    if (j) {
        j->cancelled = true;
        set_slot(fd, NULL);
        if (j->over)
            reap();
        else
            wake_engine();
    }
    pthread_mutex_unlock(&lock);
}

void pending_abandon(int fd)
{
    pthread_mutex_lock(&lock);
    struct job *j = job_of(fd);
    if (j && !j->over && j->real >= 0 && file_id_is(fd, &j->placeholder_id)) {
        j->cancelled = true;
        swap_back(j);
        set_slot(fd, NULL);
        wake_engine();
    } else if (j) {
        set_slot(fd, NULL);
        j->cancelled = true;
    }
    pthread_mutex_unlock(&lock);
}
