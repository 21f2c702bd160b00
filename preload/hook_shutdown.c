/* shutdown(): shutting down a socket whose connect through a proxy is still running abandons the
 * connect; the socket comes back under its number to take the shutdown. */
#include "engine.h"
#include "libc.h"

SOCKSIFY_EXPORT int shutdown(int fd, int how)
{
    if (engine_maybe(fd))
        engine_abandon(fd);
    return libc()->shutdown(fd, how);
}
