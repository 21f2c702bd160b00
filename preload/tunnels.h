/* Which descriptors socksify has connected through a proxy, and to what target.
 * Lookups are lock-free and make no syscall, so hooks on unmanaged descriptors stay cheap. */
#ifndef SOCKSIFY_TUNNELS_H
#define SOCKSIFY_TUNNELS_H

#include <stdbool.h>

#include "addr.h"

/* Records that fd now carries a tunnel to target; outward (NULL: unknown) is the proxy's side of
 * it, the address the target sees. Returns false if fd is beyond the table. */
bool tunnels_add(int fd, const union sockaddr_any *target, const union sockaddr_any *outward);
/* The proxy's side of fd's tunnel (into *outward), if it is known; false otherwise. */
bool tunnels_outward(int fd, union sockaddr_any *outward);
/* Copies the target of a managed fd into *target; false if fd is not managed (or was replaced
 * behind our back, e.g. by dup2 or close_range). */
bool tunnels_target(int fd, union sockaddr_any *target);
/* The target of the tunnel the program opened last of those still open (into *target, its
 * descriptor into *fd); false if none is open. Scans the table: for rare calls (bind()). */
bool tunnels_latest(int *fd, union sockaddr_any *target);
/* Whether fd may be managed: no syscall, no lock. */
bool tunnels_has(int fd);
/* Forgets fd (on close). Cheap no-op for unmanaged descriptors. */
void tunnels_remove(int fd);

#endif
