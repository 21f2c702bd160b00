#include "tunnels.h"

#include "fdmap.h"
#include "descriptor.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct entry {
    atomic_bool used;
    struct file_id id;   /* of the open socket, to notice a descriptor reused behind our back */
    union sockaddr_any target;
    union sockaddr_any outward;   /* AF_UNSPEC if unknown */
    unsigned long seq;   /* when it was added: the latest open tunnel is the one with the highest */
};

static struct fdmap entries;
static _Atomic unsigned long added;   /* tunnels ever added: the source of seq */
static atomic_int highest = -1;       /* the highest descriptor ever added: where scans stop */

static struct entry *entry_for(int fd, bool create)
{
    return fdmap_slot(&entries, fd, sizeof(struct entry), create);
}

bool tunnels_add(int fd, const union sockaddr_any *target, const union sockaddr_any *outward)
{
    struct file_id id;
    struct entry *e = entry_for(fd, true);
    if (!e || !file_id_of(fd, &id))
        return false;
    /* acq_rel: ordered after the previous owner of this number (another thread's add or remove). */
    atomic_exchange_explicit(&e->used, false, memory_order_acq_rel);
    e->id = id;
    e->target = *target;
    memset(&e->outward, 0, sizeof(e->outward));
    if (outward)
        e->outward = *outward;
    e->seq = atomic_fetch_add_explicit(&added, 1, memory_order_relaxed) + 1;
    int top = atomic_load_explicit(&highest, memory_order_relaxed);
    while (fd > top && !atomic_compare_exchange_weak_explicit(&highest, &top, fd, memory_order_relaxed,
                                                              memory_order_relaxed))
        ;
    atomic_store_explicit(&e->used, true, memory_order_release);
    return true;
}

/* fd's entry if it holds an open tunnel and fd is still that socket (one fstat), else NULL. */
static const struct entry *entry_open(int fd)
{
    struct entry *e = entry_for(fd, false);
    if (!e || !atomic_load_explicit(&e->used, memory_order_acquire))
        return NULL;
    return file_id_is(fd, &e->id) ? e : NULL;
}

bool tunnels_target(int fd, union sockaddr_any *target)
{
    const struct entry *e = entry_open(fd);
    if (e)
        *target = e->target;
    return e != NULL;
}

void tunnels_remove(int fd)
{
    struct entry *e = entry_for(fd, false);
    if (e && atomic_load_explicit(&e->used, memory_order_acquire))
        atomic_store_explicit(&e->used, false, memory_order_release);
}

bool tunnels_has(int fd)
{
    struct entry *e = entry_for(fd, false);
    return e && atomic_load_explicit(&e->used, memory_order_relaxed);
}

/* The descriptor of the open tunnel added last before seq `below`, by the atomic flags alone (no
 * system call), with its seq in *seq; -1 if none. */
static int latest_marked(unsigned long below, unsigned long *seq)
{
    unsigned long best = 0;
    int found = -1, top = atomic_load_explicit(&highest, memory_order_relaxed);
    for (int i = 0; i <= top; i++) {
        struct entry *e = entry_for(i, false);
        if (e && atomic_load_explicit(&e->used, memory_order_acquire) && e->seq > best && e->seq < below) {
            best = e->seq;
            found = i;
        }
    }
    *seq = best;
    return found;
}

bool tunnels_latest(int *fd, union sockaddr_any *target)
{
    /* Candidates are checked against their sockets latest first, so one fstat in the usual case. */
    unsigned long below = (unsigned long)-1, seq;
    for (int i; (i = latest_marked(below, &seq)) >= 0; below = seq)
        if (tunnels_target(i, target)) {
            *fd = i;
            return true;
        }
    return false;
}

bool tunnels_outward(int fd, union sockaddr_any *outward)
{
    const struct entry *e = entry_open(fd);
    if (!e || e->outward.sa.sa_family == AF_UNSPEC)
        return false;
    *outward = e->outward;
    return true;
}
