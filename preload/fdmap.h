/* A table indexed by descriptor number that readers use without a lock: a slot per descriptor,
 * in pages allocated on first use and never freed. Hooks on unmanaged descriptors look up a
 * slot with no syscall, no lock and no allocation. */
#ifndef SOCKSIFY_FDMAP_H
#define SOCKSIFY_FDMAP_H

#include <stdbool.h>
#include <stddef.h>

#define FDMAP_PAGE_BITS 8
#define FDMAP_PAGE_SIZE (1u << FDMAP_PAGE_BITS)
#define FDMAP_PAGES 4096u   /* descriptors below 1,048,576 */

/* Pages of elem_size-byte slots; zero-initialise a static one. */
struct fdmap {
    _Atomic(void *) pages[FDMAP_PAGES];
};

/* The slot of fd (elem_size bytes, zeroed when its page was made); NULL if fd is out of range,
 * or if its page does not exist yet and create is false (or allocation failed). */
void *fdmap_slot(struct fdmap *m, int fd, size_t elem_size, bool create);

#endif
