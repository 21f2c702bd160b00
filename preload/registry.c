#include "registry.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <sys/stat.h>

/* Two-level table indexed by descriptor number: pages are allocated on first use and never
 * freed, so readers need no lock. 4096 pages of 256 cover descriptors below 1,048,576. */
#define PAGE_BITS 8
#define PAGE_SIZE (1u << PAGE_BITS)
#define PAGE_COUNT 4096u

struct entry {
    atomic_bool used;
    dev_t dev;       /* identity of the open socket, to notice a descriptor reused behind our back */
    ino_t ino;
    union sockaddr_any target;
};

struct page {
    struct entry entries[PAGE_SIZE];
};

static _Atomic(struct page *) pages[PAGE_COUNT];

static struct entry *entry_for(int fd, bool create)
{
    if (fd < 0 || (unsigned)fd >= PAGE_COUNT * PAGE_SIZE)
        return NULL;
    _Atomic(struct page *) *slot = &pages[(unsigned)fd >> PAGE_BITS];
    struct page *p = atomic_load_explicit(slot, memory_order_acquire);
    if (!p && create) {
        struct page *fresh = calloc(1, sizeof(*fresh));
        if (!fresh)
            return NULL;
        if (atomic_compare_exchange_strong(slot, &p, fresh))
            p = fresh;
        else
            free(fresh);   /* another thread won; p now holds its page */
    }
    return p ? &p->entries[(unsigned)fd & (PAGE_SIZE - 1)] : NULL;
}

bool registry_add(int fd, const union sockaddr_any *target)
{
    struct stat st;
    struct entry *e = entry_for(fd, true);
    if (!e || fstat(fd, &st) < 0)
        return false;
    atomic_store_explicit(&e->used, false, memory_order_release);
    e->dev = st.st_dev;
    e->ino = st.st_ino;
    e->target = *target;
    atomic_store_explicit(&e->used, true, memory_order_release);
    return true;
}

bool registry_target(int fd, union sockaddr_any *target)
{
    struct entry *e = entry_for(fd, false);
    if (!e || !atomic_load_explicit(&e->used, memory_order_acquire))
        return false;
    struct stat st;
    if (fstat(fd, &st) < 0 || st.st_dev != e->dev || st.st_ino != e->ino)
        return false;
    *target = e->target;
    return true;
}

void registry_remove(int fd)
{
    struct entry *e = entry_for(fd, false);
    if (e && atomic_load_explicit(&e->used, memory_order_relaxed))
        atomic_store_explicit(&e->used, false, memory_order_release);
}
