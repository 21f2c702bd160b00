#include "epolltrack.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "fdmap.h"
#include "libc.h"

/* One per descriptor number: its generation, and the registrations made of it. */
struct track {
    atomic_uint gen;          /* bumped by every close() of the number, without the lock */
    atomic_bool known;        /* the number took part in a registration once: close must bump */
    unsigned regs_gen;        /* gen when regs were recorded: regs are stale once it moved on */
    unsigned count;
    struct epoll_reg regs[EPOLLTRACK_MAX];
};

static struct fdmap tracks;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
/* Spares close() the lookup while the program has never called epoll_ctl. */
static atomic_bool used;

static struct track *track_of(int fd, bool create)
{
    return fdmap_slot(&tracks, fd, sizeof(struct track), create);
}

static unsigned gen_of(const struct track *t)
{
    return atomic_load_explicit(&t->gen, memory_order_acquire);
}

bool epolltrack_has(int fd)
{
    if (!atomic_load_explicit(&used, memory_order_relaxed))
        return false;
    struct track *t = track_of(fd, false);
    return t && atomic_load_explicit(&t->known, memory_order_relaxed);
}

void epolltrack_closed(int fd)
{
    struct track *t = atomic_load_explicit(&used, memory_order_relaxed) ? track_of(fd, false) : NULL;
    if (t)
        atomic_fetch_add_explicit(&t->gen, 1, memory_order_acq_rel);
}

void epolltrack_claim(int fd)
{
    epolltrack_closed(fd);
}

void epolltrack_lock(void) { pthread_mutex_lock(&lock); }
void epolltrack_unlock(void) { pthread_mutex_unlock(&lock); }

void epolltrack_before_fork(void) { pthread_mutex_lock(&lock); }
void epolltrack_after_fork_parent(void) { pthread_mutex_unlock(&lock); }
void epolltrack_after_fork_child(void) { pthread_mutex_init(&lock, NULL); }

/* Drops fd's registrations that a close made stale (of fd itself, or of their epoll). With the lock. */
static void prune(struct track *t)
{
    if (t->regs_gen != gen_of(t)) {
        t->count = 0;
        t->regs_gen = gen_of(t);
    }
    for (unsigned i = t->count; i-- > 0;) {
        struct track *ep = track_of(t->regs[i].epfd, false);
        if (!ep || gen_of(ep) != t->regs[i].epfd_gen)
            t->regs[i] = t->regs[--t->count];
    }
}

/* Remembers what a successful epoll_ctl did. With the lock. */
static void record(int epfd, int op, int fd, const struct epoll_event *ev)
{
    struct track *t = track_of(fd, op != EPOLL_CTL_DEL), *ep = track_of(epfd, op != EPOLL_CTL_DEL);
    if (!t || !ep)
        return;
    atomic_store_explicit(&used, true, memory_order_relaxed);
    atomic_store_explicit(&t->known, true, memory_order_relaxed);
    atomic_store_explicit(&ep->known, true, memory_order_relaxed);
    prune(t);
    unsigned i = 0;
    while (i < t->count && t->regs[i].epfd != epfd)
        i++;
    if (op == EPOLL_CTL_DEL) {
        if (i < t->count)
            t->regs[i] = t->regs[--t->count];
        return;
    }
    if (!ev || (i == t->count && t->count == EPOLLTRACK_MAX))
        return;
    if (i == t->count)
        t->count++;
    t->regs[i] = (struct epoll_reg){ epfd, gen_of(ep), *ev };
}

int epolltrack_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
    /* One lock around the call and the record: a swap of fd in between would misfile it. */
    epolltrack_lock();
    int r = libc()->epoll_ctl(epfd, op, fd, ev);
    int saved = errno;
    if (r == 0)
        record(epfd, op, fd, ev);
    epolltrack_unlock();
    errno = saved;
    return r;
}

bool epolltrack_event(int epfd, int fd, struct epoll_event *ev)
{
    epolltrack_lock();
    struct track *t = epolltrack_has(fd) ? track_of(fd, false) : NULL;
    bool found = false;
    if (t) {
        prune(t);
        for (unsigned i = 0; i < t->count && !found; i++)
            if (t->regs[i].epfd == epfd) {
                *ev = t->regs[i].event;
                found = true;
            }
    }
    epolltrack_unlock();
    return found;
}

size_t epolltrack_detach(int fd, int skip_epfd, struct epoll_reg *moved)
{
    struct track *t = track_of(fd, false);
    size_t n = 0;
    if (!t)
        return 0;
    prune(t);
    /* A registration is moved only if DEL proves that epoll holds (fd, the file fd holds now): an
     * entry gone stale behind our back (close_range, dup2) fails it, and is not re-added. */
    for (unsigned i = 0; i < t->count; i++)
        if (t->regs[i].epfd != skip_epfd && libc()->epoll_ctl(t->regs[i].epfd, EPOLL_CTL_DEL, fd, NULL) == 0)
            moved[n++] = t->regs[i];
    return n;
}

void epolltrack_attach(int fd, const struct epoll_reg *moved, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct epoll_event ev = moved[i].event;
        if (libc()->epoll_ctl(moved[i].epfd, EPOLL_CTL_ADD, fd, &ev) < 0 && errno == EEXIST)
            libc()->epoll_ctl(moved[i].epfd, EPOLL_CTL_MOD, fd, &ev);
    }
}
