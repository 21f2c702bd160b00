/* epoll_ctl(): passed to libc, and remembered (see epolltrack.h) so that registrations follow a
 * descriptor whose socket is swapped during a non-blocking connect through a proxy. */
#include "epolltrack.h"
#include "libc.h"

SOCKSIFY_EXPORT int epoll_ctl(int epfd, int op, int fd, struct epoll_event *event)
{
    return epolltrack_ctl(epfd, op, fd, event);
}
