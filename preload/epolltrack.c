#include "epolltrack.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "real.h"

#define REGS_MAX 8   /* epoll instances one descriptor is registered in; more are not tracked */

struct node {
    int fd;
    size_t count;
    struct epoll_reg regs[REGS_MAX];
    UT_hash_handle hh;
};

static struct node *nodes;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
/* Closes are frequent and registrations often absent: this spares close() the lock. */
static atomic_size_t tracked;

bool epolltrack_any(void)
{
    return atomic_load_explicit(&tracked, memory_order_relaxed) > 0;
}

void epolltrack_lock(void) { pthread_mutex_lock(&lock); }
void epolltrack_unlock(void) { pthread_mutex_unlock(&lock); }

void epolltrack_after_fork(void)
{
    pthread_mutex_init(&lock, NULL);
}

static struct node *node_of(int fd, bool create)
{
    struct node *n;
    HASH_FIND_INT(nodes, &fd, n);
    if (n || !create)
        return n;
    n = calloc(1, sizeof(*n));
    if (n) {
        n->fd = fd;
        HASH_ADD_INT(nodes, fd, n);
    }
    return n;
}

static void record(int epfd, int op, int fd, const struct epoll_event *ev);

static void drop_node(struct node *n)
{
    atomic_fetch_sub(&tracked, n->count);
    HASH_DEL(nodes, n);
    free(n);
}

static void remove_reg(struct node *n, size_t i)
{
    n->regs[i] = n->regs[--n->count];
    atomic_fetch_sub(&tracked, 1);
    if (n->count == 0)
        drop_node(n);
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

static void record(int epfd, int op, int fd, const struct epoll_event *ev)
{
    struct node *n = node_of(fd, op == EPOLL_CTL_ADD);
    size_t i = 0;
    while (n && i < n->count && n->regs[i].epfd != epfd)
        i++;
    if (n && op == EPOLL_CTL_DEL && i < n->count)
        remove_reg(n, i);
    else if (n && op != EPOLL_CTL_DEL && ev) {
        if (i == n->count && i < REGS_MAX) {
            n->count++;
            atomic_fetch_add(&tracked, 1);
        }
        if (i < n->count)
            n->regs[i] = (struct epoll_reg){ epfd, *ev };
    }
}

void epolltrack_forget(int fd)
{
    if (!epolltrack_any())
        return;
    epolltrack_lock();
    struct node *n = node_of(fd, false), *tmp;
    if (n)
        drop_node(n);
    /* fd may be an epoll instance: whatever was registered in it goes with it. */
    HASH_ITER(hh, nodes, n, tmp)
        for (size_t i = n->count; i-- > 0;)
            if (n->regs[i].epfd == fd)
                remove_reg(n, i);
    epolltrack_unlock();
}

size_t epolltrack_of(int fd, struct epoll_reg *out, size_t max)
{
    struct node *n = node_of(fd, false);
    size_t count = n ? n->count : 0;
    for (size_t i = 0; i < count && i < max; i++)
        out[i] = n->regs[i];
    return count;
}

void epolltrack_detach(int fd)
{
    struct epoll_reg regs[REGS_MAX];
    size_t n = epolltrack_of(fd, regs, REGS_MAX);
    for (size_t i = 0; i < n; i++)
        libc()->epoll_ctl(regs[i].epfd, EPOLL_CTL_DEL, fd, NULL);
}

void epolltrack_attach(int fd)
{
    struct epoll_reg regs[REGS_MAX];
    size_t n = epolltrack_of(fd, regs, REGS_MAX);
    for (size_t i = 0; i < n; i++)
        if (libc()->epoll_ctl(regs[i].epfd, EPOLL_CTL_ADD, fd, &regs[i].event) < 0)
            libc()->epoll_ctl(regs[i].epfd, EPOLL_CTL_MOD, fd, &regs[i].event);
}
