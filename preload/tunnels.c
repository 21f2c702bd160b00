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

bool tunnels_target(int fd, union sockaddr_any *target)
{
    struct entry *e = entry_for(fd, false);
    if (!e || !atomic_load_explicit(&e->used, memory_order_acquire))
        return false;
    if (!file_id_is(fd, &e->id))
        return false;
    *target = e->target;
    return true;
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

bool tunnels_latest(int *fd, union sockaddr_any *target)
{
    unsigned long best = 0;
    int top = atomic_load_explicit(&highest, memory_order_relaxed);
    for (int i = 0; i <= top; i++) {
        struct entry *e = entry_for(i, false);
        union sockaddr_any t;
        if (!e || !tunnels_has(i) || e->seq <= best || !tunnels_target(i, &t))
            continue;
        best = e->seq;
        *fd = i;
        *target = t;
    }
    return best != 0;
}

bool tunnels_outward(int fd, union sockaddr_any *outward)
{
    struct entry *e = entry_for(fd, false);
    if (!e || !atomic_load_explicit(&e->used, memory_order_acquire) || e->outward.sa.sa_family == AF_UNSPEC)
        return false;
    if (!file_id_is(fd, &e->id))
        return false;
    *outward = e->outward;
    return true;
}
