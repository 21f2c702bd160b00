/* close(): a closed descriptor stops being managed before its number can be reused (a pending
 * handshake on it is abandoned, its UDP association ended, its epoll registrations made stale).
 * For a descriptor socksify does not manage this takes no lock and allocates nothing: close()
 * is async-signal-safe, and programs call it from signal handlers and forked children. */
#include "binds.h"
#include "context.h"
#include "epolltrack.h"
#include "engine.h"
#include "libc.h"
#include "tunnels.h"
#include "udp_assoc.h"

SOCKSIFY_EXPORT int close(int fd)
{
    /* A vfork child shares our memory but not our descriptors: what it closes is its own. */
    if ((tunnels_has(fd) || engine_maybe(fd) || udp_maybe(fd) || epolltrack_has(fd) || binds_maybe(fd)) &&
        !in_vfork_child()) {
        tunnels_remove(fd);
        if (engine_maybe(fd))
            engine_close(fd);
        udp_assoc_close(fd);
        epolltrack_closed(fd);
        if (binds_maybe(fd))
            binds_close(fd);
    }
    return libc()->close(fd);
}
SOCKSIFY_ALIAS(close, __close);
