/* Non-blocking connects through a proxy. connect() returns EINPROGRESS at once and a background
 * engine (one thread, its own epoll, started on first use) runs the handshake on the socket,
 * driven by the same tunnel code as the blocking path. Meanwhile the program's descriptor holds
 * a placeholder that is never ready and that no other process can reach (one end of an AF_UNIX
 * socketpair with its send buffer filled), so poll, select and epoll see nothing; the program's
 * epoll registrations are moved to it and back (epolltrack.h). When the
 * handshake ends the socket returns under the program's number and is writable: connected, or
 * shut down with the mapped errno waiting in SO_ERROR. Calls the program makes meanwhile reach
 * the real socket (options, name, flags) or behave as on a connecting socket (EAGAIN, EALREADY). */
#ifndef SOCKSIFY_ENGINE_H
#define SOCKSIFY_ENGINE_H

#include <stdbool.h>
#include <time.h>

#include "config.h"
#include "tunnel.h"

/* Starts a background tunnel for the program's non-blocking fd. Returns -EINPROGRESS, 0 if it
 * was done at once, or the -errno of an immediate failure; *taken is false (and the result
 * meaningless) if the engine cannot run: the caller then takes the blocking path. */
int engine_connect(int fd, const struct config *c, const struct chain *ch, const struct socks_target *target,
                   const union sockaddr_any *dst, const char *what, const struct timespec *start, bool *taken);
/* Whether fd may be pending or failed: no lock, no syscall; false for every fd while none is.
 * This and engine_running read one word of fd's slot and never a job: jobs are freed. */
bool engine_maybe(int fd);
/* True while fd's handshake runs: reads and writes must fail with EAGAIN. */
bool engine_running(int fd);
/* For read/write-like hooks: true while fd's handshake runs: they fail with EAGAIN, as on a
 * connecting socket. Two relaxed loads for every other descriptor. */
static inline bool engine_holds(int fd)
{
    return engine_maybe(fd) && engine_running(fd);
}
/* A second connect() on fd: -EALREADY while it runs, the failure's -errno (once), or 0 if fd is
 * not pending (connect goes on as usual). */
int engine_connect_again(int fd);
/* getsockopt(SO_ERROR) on fd: true with *err set (0 while running; the failure once) if fd is pending. */
bool engine_so_error(int fd, int *err);
/* Runs op on the real socket behind fd while its handshake runs; true (with *ret) if it did. */
bool engine_on_real(int fd, int (*op)(int real, void *ctx), void *ctx, int *ret);
/* The program closes fd: the handshake is abandoned. */
void engine_close(int fd);
/* The program shuts fd down: the handshake is abandoned and the socket put back under fd. */
void engine_abandon(int fd);

#endif
