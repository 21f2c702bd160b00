#include "tunnels.h"

#include "fdmap.h"
#include "descriptor.h"

#include <stdatomic.h>
#include <stdlib.h>

struct entry {
    atomic_bool used;
    struct file_id id;   /* of the open socket, to notice a descriptor reused behind our back */
    union sockaddr_any target;
};

static struct fdmap entries;

static struct entry *entry_for(int fd, bool create)
{
    return fdmap_slot(&entries, fd, sizeof(struct entry), create);
}

bool tunnels_add(int fd, const union sockaddr_any *target)
{
    struct file_id id;
    struct entry *e = entry_for(fd, true);
    if (!e || !file_id_of(fd, &id))
        return false;
    /* acq_rel: ordered after the previous owner of this number (another thread's add or remove). */
    atomic_exchange_explicit(&e->used, false, memory_order_acq_rel);
    e->id = id;
    e->target = *target;
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
