#include "fdmap.h"

#include <stdatomic.h>
#include <stdlib.h>

void *fdmap_slot(struct fdmap *m, int fd, size_t elem_size, bool create)
{
    if (fd < 0 || (unsigned)fd >= FDMAP_PAGES * FDMAP_PAGE_SIZE)
        return NULL;
    _Atomic(void *) *slot = &m->pages[(unsigned)fd >> FDMAP_PAGE_BITS];
    char *page = atomic_load_explicit(slot, memory_order_acquire);
    if (!page && create) {
        void *fresh = calloc(FDMAP_PAGE_SIZE, elem_size);
        if (!fresh)
            return NULL;
        void *expected = NULL;
        if (atomic_compare_exchange_strong(slot, &expected, fresh))
            page = fresh;
        else {
            free(fresh);   /* another thread won; its page is in expected */
            page = expected;
        }
    }
    return page ? page + ((unsigned)fd & (FDMAP_PAGE_SIZE - 1)) * elem_size : NULL;
}
