/* poll, ppoll, select, pselect, epoll_wait, epoll_pwait, epoll_pwait2 (and glibc's __poll,
 * __select, the fortified __poll_chk and __ppoll_chk, i386's _TIME_BITS=64 __ppoll64, __select64,
 * __pselect64, __epoll_pwait2_time64): the wait happens in libc. Only while a listener through
 * the proxy waits for its peer (binds.h) does a wait that ends look at the proxy's replies, and
 * if a listener became readable, look again at once with a zero timeout (epoll: add its event).
 * A program that reads "the peer connected" from the listener and "the peer spoke" from another
 * socket (curl's active FTP) then sees them together, never the second alone. Every other wait
 * costs one relaxed atomic load more than libc's. */
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>

#include "binds.h"
#include "epolltrack.h"
#include "hooks.h"
#include "libc.h"

/* After a wait that returned r: true if a listener became readable, so that the caller looks again. */
static bool settled(int r)
{
    int fd;
    return r >= 0 && binds_waiting() && binds_settle(&fd, 1) > 0;
}

/* poll()'s second look: its answer, or the first one's (r) if it failed. */
static int poll_again(struct pollfd *fds, nfds_t n, int r)
{
    int again = libc()->poll(fds, n, 0);
    return again >= 0 ? again : r;
}

SOCKSIFY_EXPORT int poll(struct pollfd *fds, nfds_t n, int timeout)
{
    int r = libc()->poll(fds, n, timeout);
    return settled(r) ? poll_again(fds, n, r) : r;
}
SOCKSIFY_INTERNAL(poll);

SOCKSIFY_EXPORT int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *timeout, const sigset_t *mask)
{
    int r = libc()->ppoll(fds, n, timeout, mask);
    return settled(r) ? poll_again(fds, n, r) : r;
}
SOCKSIFY_INTERNAL(ppoll);

SOCKSIFY_EXPORT int __ppoll64(struct pollfd *fds, nfds_t n, const void *timeout, const sigset_t *mask)
{
    if (!libc()->__ppoll64)
        return hook_fail(ENOSYS);
    int r = libc()->__ppoll64(fds, n, timeout, mask);
    return settled(r) ? poll_again(fds, n, r) : r;
}

/* What programs built with _FORTIFY_SOURCE call when the array's size is known. */
SOCKSIFY_EXPORT int __poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t fdslen)
{
    if (fdslen / sizeof(*fds) < n)
        __chk_fail();
    return hook_poll(fds, n, timeout);
}

SOCKSIFY_EXPORT int __ppoll_chk(struct pollfd *fds, nfds_t n, const struct timespec *timeout,
                                const sigset_t *mask, size_t fdslen)
{
    if (fdslen / sizeof(*fds) < n)
        __chk_fail();
    return hook_ppoll(fds, n, timeout, mask);
}

/* select()'s sets as the program passed them, kept only while a listener waits (select
 * overwrites them), for the second look. */
struct select_sets {
    bool kept;
    size_t bytes;
    fd_set *sets[3];
    fd_set copies[3];
};

static void sets_keep(struct select_sets *k, int nfds, fd_set *r, fd_set *w, fd_set *e)
{
    k->kept = binds_waiting() && nfds > 0 && nfds <= FD_SETSIZE;
    if (!k->kept)
        return;
    k->bytes = ((size_t)nfds + 7) / 8;
    k->sets[0] = r, k->sets[1] = w, k->sets[2] = e;
    for (int i = 0; i < 3; i++)
        if (k->sets[i])
            memcpy(&k->copies[i], k->sets[i], k->bytes);
}

/* select()'s second look with the kept sets: its answer, or the first one's (r) if it failed. */
static int select_again(struct select_sets *k, int nfds, int r)
{
    if (!k->kept || !settled(r))
        return r;
    fd_set first[3];
    for (int i = 0; i < 3; i++)
        if (k->sets[i]) {
            memcpy(&first[i], k->sets[i], k->bytes);
            memcpy(k->sets[i], &k->copies[i], k->bytes);
        }
    struct timeval zero = { 0, 0 };
    int again = libc()->select(nfds, k->sets[0], k->sets[1], k->sets[2], &zero);
    if (again >= 0)
        return again;
    for (int i = 0; i < 3; i++)
        if (k->sets[i])
            memcpy(k->sets[i], &first[i], k->bytes);
    return r;
}

SOCKSIFY_EXPORT int select(int nfds, fd_set *r, fd_set *w, fd_set *e, struct timeval *timeout)
{
    struct select_sets k;
    sets_keep(&k, nfds, r, w, e);
    return select_again(&k, nfds, libc()->select(nfds, r, w, e, timeout));
}

SOCKSIFY_EXPORT int __select64(int nfds, fd_set *r, fd_set *w, fd_set *e, void *timeout)
{
    if (!libc()->__select64)
        return hook_fail(ENOSYS);
    struct select_sets k;
    sets_keep(&k, nfds, r, w, e);
    return select_again(&k, nfds, libc()->__select64(nfds, r, w, e, timeout));
}

SOCKSIFY_EXPORT int pselect(int nfds, fd_set *r, fd_set *w, fd_set *e, const struct timespec *timeout,
                            const sigset_t *mask)
{
    struct select_sets k;
    sets_keep(&k, nfds, r, w, e);
    return select_again(&k, nfds, libc()->pselect(nfds, r, w, e, timeout, mask));
}

SOCKSIFY_EXPORT int __pselect64(int nfds, fd_set *r, fd_set *w, fd_set *e, const void *timeout,
                                const sigset_t *mask)
{
    if (!libc()->__pselect64)
        return hook_fail(ENOSYS);
    struct select_sets k;
    sets_keep(&k, nfds, r, w, e);
    return select_again(&k, nfds, libc()->__pselect64(nfds, r, w, e, timeout, mask));
}

/* epoll cannot be asked again without taking events the program's array may have no room for
 * (and an edge-triggered one taken is lost): a listener made readable is added to r events of
 * events[max] as its registration in ep says, unless the kernel reported it already. The kernel
 * reports it once more only if it is still readable then. The new count. */
static int epoll_settled(int ep, struct epoll_event *events, int max, int r)
{
    int ready[8];
    size_t n = r >= 0 && binds_waiting() ? binds_settle(ready, sizeof(ready) / sizeof(ready[0])) : 0;
    for (size_t i = 0; i < n && r < max; i++) {
        struct epoll_event reg;
        if (!epolltrack_event(ep, ready[i], &reg) || !(reg.events & EPOLLIN))
            continue;
        int j = 0;
        while (j < r && events[j].data.u64 != reg.data.u64)
            j++;
        if (j == r)
            events[r++] = (struct epoll_event){ .events = EPOLLIN | (reg.events & EPOLLRDNORM), .data = reg.data };
    }
    return r;
}

SOCKSIFY_EXPORT int epoll_wait(int ep, struct epoll_event *events, int max, int timeout)
{
    int r = libc()->epoll_wait(ep, events, max, timeout);
    return epoll_settled(ep, events, max, r);
}

SOCKSIFY_EXPORT int epoll_pwait(int ep, struct epoll_event *events, int max, int timeout, const sigset_t *mask)
{
    int r = libc()->epoll_pwait(ep, events, max, timeout, mask);
    return epoll_settled(ep, events, max, r);
}

SOCKSIFY_EXPORT int epoll_pwait2(int ep, struct epoll_event *events, int max, const struct timespec *timeout,
                                 const sigset_t *mask)
{
    if (!libc()->epoll_pwait2)
        return hook_fail(ENOSYS);
    int r = libc()->epoll_pwait2(ep, events, max, timeout, mask);
    return epoll_settled(ep, events, max, r);
}

SOCKSIFY_EXPORT int __epoll_pwait2_time64(int ep, struct epoll_event *events, int max, const void *timeout,
                                          const sigset_t *mask)
{
    if (!libc()->__epoll_pwait2_time64)
        return hook_fail(ENOSYS);
    int r = libc()->__epoll_pwait2_time64(ep, events, max, timeout, mask);
    return epoll_settled(ep, events, max, r);
}

SOCKSIFY_ALIAS(poll, __poll);
SOCKSIFY_ALIAS(select, __select);
