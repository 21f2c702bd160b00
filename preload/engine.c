#include "engine.h"

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
#include <unistd.h>

#include "context.h"

#include "epolltrack.h"
#include "fdmap.h"
#include "descriptor.h"
#include "log.h"
#include "libc.h"
#include "tunnels.h"
#include "threads.h"

struct job {
    int fd;                 /* the program's number */
    int real;               /* our own descriptor of the socket being driven; -1 once closed */
    int placeholder;        /* our own descriptor of the placeholder; -1 once closed */
    int placeholder_peer;   /* the other end of the placeholder's socketpair; -1 once closed */
    int family;             /* of the program's socket */
    struct file_id placeholder_id; /* to notice fd replaced behind our back */
    bool cancelled;         /* the program closed, shut down or replaced fd: out of its slot for good */
    bool over;              /* the engine is done with it */
    int error;              /* once failed: what SO_ERROR reports, once */
    struct tunnel tunnel;
    union sockaddr_any dst;
    char what[300];
    struct timespec start;
    struct job *next;       /* the engine's list */
};

/* One lock for the engine's state and every job: jobs are short non-blocking steps. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
/* fd -> the job's address, with SLOT_RUNNING set while its handshake runs. Readers without the
 * lock look at the word only, never through it: a job is freed only once out of its slot, but
 * a reader may still hold the word it loaded just before. */
static struct fdmap slots;
#define SLOT_RUNNING ((uintptr_t)1)
static atomic_int live;                 /* jobs in slots: 0 spares every hook the lookup */
static struct job *jobs;                /* the engine's, running or over */
static int engine_ep = -1, engine_wake = -1;
static struct file_id engine_id, wake_id; /* a program may close or dup2 over them */
static unsigned engine_gen;             /* a thread whose generation is past stops */
static bool engine_up;

static _Atomic(uintptr_t) *slot_of(int fd, bool create)
{
    return fdmap_slot(&slots, fd, sizeof(_Atomic(uintptr_t)), create);
}

static uintptr_t slot_word(int fd)
{
    _Atomic(uintptr_t) *s = slot_of(fd, false);
    return s ? atomic_load_explicit(s, memory_order_acquire) : 0;
}

/* fd's job; only with the lock held (jobs are freed under it). */
static struct job *job_of(int fd)
{
    return (struct job *)(slot_word(fd) & ~SLOT_RUNNING);
}

static void set_slot(int fd, struct job *j, bool running)
{
    _Atomic(uintptr_t) *s = slot_of(fd, true);
    if (!s)
        return;
    uintptr_t old = atomic_exchange(s, (uintptr_t)j | (j && running ? SLOT_RUNNING : 0));
    atomic_fetch_add(&live, (j != NULL) - (old != 0));
}

bool engine_maybe(int fd)
{
    /* acquire: a thread that finds nothing is ordered after the engine's last change (free on x86). */
    return atomic_load_explicit(&live, memory_order_acquire) > 0 && slot_word(fd) != 0;
}

bool engine_running(int fd)
{
    return (slot_word(fd) & SLOT_RUNNING) != 0;
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
    if (j->placeholder_peer >= 0)
        libc()->close(j->placeholder_peer);
    j->placeholder = j->placeholder_peer = -1;
}

/* Puts file under the program's number, its epoll registrations moved along: off the file fd
 * holds now (before its hang-up could be reported), onto the new one. With expect, only if fd
 * still holds that file (else -ESTALE): the check comes last before dup3, under the engine's lock
 * (which the close() hook of a pending descriptor takes too), so no close through the hook can
 * land between them. A close socksify cannot see (close_range, a raw syscall, dup2 by another
 * thread) still can, within the few instructions between fstat and dup3: no system call
 * replaces a descriptor only if it still holds a given file. engine is the engine's epoll, which
 * a stale registration must never be moved into. */
static int move_under(int file, int fd, const struct file_id *expect, int engine)
{
    struct epoll_reg moved[EPOLLTRACK_MAX];
    epolltrack_lock();
    size_t n = epolltrack_detach(fd, engine, moved);
    int r = -ESTALE;
    if (!expect || file_id_is(fd, expect))
        r = tunnel_replace_fd(file, fd) < 0 ? -errno : 0;
    /* Put back what was taken off, onto whatever fd holds now. */
    epolltrack_attach(fd, moved, n);
    epolltrack_unlock();
    return r;
}

/* Puts the socket back under the program's number, registrations and close-on-exec included,
 * if the number still holds our placeholder; 0 or -errno (-ESTALE: the program replaced it). */
static int swap_back(struct job *j)
{
    int r = move_under(j->real, j->fd, &j->placeholder_id, engine_ep);
    /* A poll() or select() already asleep on the placeholder would sleep on for ever: hanging it
     * up wakes them, and they look at the descriptor again, which now is the socket. */
    libc()->shutdown(j->placeholder, SHUT_RDWR);
    close_placeholder(j);
    return r;
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

/* The program gave fd up (closed, shut down or replaced it): j leaves its slot, so that nothing
 * reaches it once reap() frees it. With the lock. */
static void cancel(struct job *j)
{
    j->cancelled = true;
    if (job_of(j->fd) == j)
        set_slot(j->fd, NULL, false);
}

/* The handshake ended with r (0 or -errno): hand the result to the program. */
static void finish(struct job *j, int r)
{
    j->over = true;
    if (!j->cancelled && r < 0)
        replace_with_unconnected(j);
    if (!j->cancelled && swap_back(j) < 0)
        cancel(j);   /* the program put something else under fd (dup2): not ours any more */
    if (!j->cancelled) {
        tunnel_log_result(j->tunnel.config, j->what, j->tunnel.chain, &j->tunnel, -r, &j->start);
        if (r == 0)
            tunnel_register(j->fd, &j->dst, &j->tunnel);
        j->error = -r;
        /* A failure stays in the slot until SO_ERROR or connect() reports it. */
        set_slot(j->fd, r == 0 ? NULL : j, false);
    }
    close_real(j);
    close_placeholder(j);
}

static void step(struct job *j, int r)
{
    if (j->cancelled && !j->over) {
        j->over = true;
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

/* Frees jobs nobody refers to any more: over, and out of their slot. */
static void reap(void)
{
    for (struct job **p = &jobs; *p;) {
        struct job *j = *p;
        if (j->over && job_of(j->fd) != j) {
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
            cancel(j);
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
        int n = libc()->epoll_wait(ep, evs, 64, timeout);
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

/* Both locks, in their order (the engine takes epolltrack's inside its own), are held across
 * fork() from the first call on: a child must not inherit one that a vanished thread held. */
static void before_fork(void) { pthread_mutex_lock(&lock); epolltrack_before_fork(); }
static void after_fork_parent(void) { epolltrack_after_fork_parent(); pthread_mutex_unlock(&lock); }

/* The child has no engine thread: its copies of the handshakes are abandoned (their descriptors
 * keep the placeholder), and a new engine starts if the child connects. */
static void after_fork_child(void)
{
    pthread_mutex_init(&lock, NULL);
    epolltrack_after_fork_child();
    for (struct job *j = jobs, *next; j; j = next) {
        next = j->next;
        if (j->real >= 0)
            libc()->close(j->real);
        close_placeholder(j);
        if (job_of(j->fd) == j)
            set_slot(j->fd, NULL, false);
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

__attribute__((constructor)) static void engine_init(void)
{
    context_atfork(before_fork, after_fork_parent, after_fork_child);
}

/* Starts the engine on first use (or again, if the program closed its descriptors); false if it
 * cannot run. Called with the lock held. */
static bool engine_start(void)
{
    if (engine_up && (!file_id_is(engine_ep, &engine_id) || !file_id_is(engine_wake, &wake_id)))
        engine_lost();
    if (engine_up)
        return true;
    engine_ep = epoll_create1(EPOLL_CLOEXEC);
    engine_wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
    bool ok = engine_ep >= 0 && engine_wake >= 0 && libc()->epoll_ctl(engine_ep, EPOLL_CTL_ADD, engine_wake, &ev) == 0 &&
              threads_spawn(engine_main, (void *)(uintptr_t)engine_gen);
    if (!ok) {
        if (engine_ep >= 0)
            libc()->close(engine_ep);
        if (engine_wake >= 0)
            libc()->close(engine_wake);
        engine_ep = engine_wake = -1;
        return false;
    }
    /* Registrations the program once made in this number (closed behind our back) are stale. */
    epolltrack_claim(engine_ep);
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

/* A descriptor no other process can reach, never readable nor writable, that accepts epoll
 * registrations and wakes its sleepers when shut down: one end of an AF_UNIX socketpair (no
 * address anywhere) whose send buffer is shrunk to the minimum and filled (its peer, ours, never
 * reads nor writes). A listening socket would need an address, which anyone could connect to,
 * making it readable. Returns the end, the peer in *peer, or -errno. */
static int make_placeholder(int *peer)
{
    int sp[2], zero = 0;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sp) < 0)
        return -errno;
    libc()->setsockopt(sp[0], SOL_SOCKET, SO_SNDBUF, &zero, sizeof(zero));
    static const char fill[8192];
    ssize_t n;
    while ((n = libc()->sendto(sp[0], fill, sizeof(fill), MSG_DONTWAIT | MSG_NOSIGNAL, NULL, 0)) > 0)
        ;
    if (n < 0 && errno != EAGAIN) {
        int err = errno;
        libc()->close(sp[0]);
        libc()->close(sp[1]);
        return -err;
    }
    *peer = sp[1];
    return sp[0];
}

/* Puts the placeholder under the program's number, with the registrations moved to it. 0 or -errno. */
static int swap_in_placeholder(struct job *j, int engine)
{
    int p = make_placeholder(&j->placeholder_peer);
    if (p < 0)
        return p;
    j->placeholder = p;   /* kept, to wake sleepers on it at the end */
    int r = move_under(p, j->fd, NULL, engine);
    if (r >= 0)
        file_id_of(j->fd, &j->placeholder_id);
    else
        close_placeholder(j);
    return r < 0 ? r : 0;
}

/* A job for fd, with our own descriptor of its socket, if the engine runs; NULL otherwise. */
static struct job *new_job(int fd, const union sockaddr_any *dst, const char *what, const struct timespec *start,
                           int *engine)
{
    pthread_mutex_lock(&lock);
    bool up = engine_start();
    *engine = engine_ep;
    pthread_mutex_unlock(&lock);
    struct job *j = up ? calloc(1, sizeof(*j)) : NULL;
    if (!j)
        return NULL;
    j->fd = fd;
    j->placeholder = j->placeholder_peer = -1;
    j->family = dst->sa.sa_family;
    j->dst = *dst;
    j->start = *start;
    snprintf(j->what, sizeof(j->what), "%s", what);
    j->real = libc()->fcntl(fd, F_DUPFD_CLOEXEC, 0);
    return j;
}

/* A tunnel over before it began (a refused connect to a local proxy, a bad target) or done at
 * once (r: 0 or -errno): no background work. Returns r. */
static int over_at_once(struct job *j, const struct config *c, const struct chain *ch, int r)
{
    struct file_id tunnel_id;
    /* A dynamic chain may have moved to a fresh socket: that one is the tunnel. */
    if (r == 0 && file_id_of(j->real, &tunnel_id) && !file_id_is(j->fd, &tunnel_id))
        tunnel_replace_fd(j->real, j->fd);
    if (j->real >= 0) {
        tunnel_log_result(c, j->what, ch, &j->tunnel, -r, &j->start);
        libc()->close(j->real);
    }
    if (r == 0)
        tunnel_register(j->fd, &j->dst, &j->tunnel);
    free(j);
    return r;
}

/* Hands j, whose tunnel waits for events (poll bits), to the engine thread. */
static void run_in_background(struct job *j, int events)
{
    pthread_mutex_lock(&lock);
    j->next = jobs;
    jobs = j;
    set_slot(j->fd, j, true);
    struct epoll_event ev = { .events = epoll_events(events), .data.ptr = j };
    libc()->epoll_ctl(engine_ep, EPOLL_CTL_ADD, j->real, &ev);
    wake_engine();   /* its deadline may be the nearest now */
    pthread_mutex_unlock(&lock);
}

int engine_connect(int fd, const struct config *c, const struct chain *ch, const struct socks_target *target,
                   const union sockaddr_any *dst, const char *what, const struct timespec *start, bool *taken)
{
    int engine;
    struct job *j = new_job(fd, dst, what, start, &engine);
    *taken = j != NULL;
    if (!j)
        return 0;
    int r = j->real < 0 ? -errno : tunnel_begin(&j->tunnel, j->real, c, ch, target);
    if (r <= 0)
        return over_at_once(j, c, ch, r);
    if (swap_in_placeholder(j, engine) < 0) {
        libc()->close(j->real);
        free(j);
        *taken = false;
        return 0;
    }
    run_in_background(j, r);
    return -EINPROGRESS;
}

int engine_connect_again(int fd)
{
    pthread_mutex_lock(&lock);
    struct job *j = job_of(fd);
    int r = 0;
    if (j && !j->over) {
        r = -EALREADY;
    } else if (j) {
        r = -j->error;
        set_slot(fd, NULL, false);
        reap();
    }
    pthread_mutex_unlock(&lock);
    return r;
}

bool engine_so_error(int fd, int *err)
{
    pthread_mutex_lock(&lock);
    struct job *j = job_of(fd);
    if (j) {
        *err = j->over ? j->error : 0;
        /* Like the kernel's, the error is reported once. */
        if (j->over) {
            set_slot(fd, NULL, false);
            reap();
        }
    }
    pthread_mutex_unlock(&lock);
    return j != NULL;
}

bool engine_on_real(int fd, int (*op)(int real, void *ctx), void *ctx, int *ret)
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

void engine_close(int fd)
{
    pthread_mutex_lock(&lock);
    struct job *j = job_of(fd);
    if (j) {
        cancel(j);
        if (j->over)
            reap();
        else
            wake_engine();
    }
    pthread_mutex_unlock(&lock);
}

void engine_abandon(int fd)
{
    pthread_mutex_lock(&lock);
    struct job *j = job_of(fd);
    if (j && !j->over && j->real >= 0) {
        cancel(j);
        swap_back(j);   /* unless the program put something else under fd meanwhile */
        wake_engine();
    } else if (j) {
        cancel(j);
        reap();
    }
    pthread_mutex_unlock(&lock);
}
