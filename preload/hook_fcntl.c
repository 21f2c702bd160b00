/* fcntl() and fcntl64() (and glibc's __fcntl): while a non-blocking connect's handshake runs, the
 * status flags (O_NONBLOCK, ...) are the real socket's, which the placeholder stands in for;
 * descriptor flags (FD_CLOEXEC) stay with the number. Every other command goes to the same real
 * call the program made: on i386 fcntl64 is not fcntl (its lock commands take struct flock64). */
#include <fcntl.h>

#include "engine.h"
#include "libc.h"

struct fcntl_call {
    int cmd;
    void *arg;
};

static int real_fcntl(int real, void *ctx)
{
    struct fcntl_call *c = ctx;
    return libc()->fcntl(real, c->cmd, c->arg);
}

/* The call on fd, by real (libc's fcntl or fcntl64) unless it is about a pending socket's flags. */
static int fcntl_on(int (*real)(int, int, ...), int fd, int cmd, void *arg)
{
    int r;
    struct fcntl_call c = { .cmd = cmd, .arg = arg };
    if ((cmd == F_GETFL || cmd == F_SETFL) && engine_maybe(fd) && engine_on_real(fd, real_fcntl, &c, &r))
        return r;
    return real(fd, cmd, arg);
}

SOCKSIFY_EXPORT int fcntl(int fd, int cmd, ...)
{
    void *arg;
    LIBC_FCNTL_ARG(cmd, arg);
    return fcntl_on(libc()->fcntl, fd, cmd, arg);
}

SOCKSIFY_EXPORT int fcntl64(int fd, int cmd, ...)
{
    void *arg;
    LIBC_FCNTL_ARG(cmd, arg);
    return fcntl_on(libc()->fcntl64, fd, cmd, arg);
}

SOCKSIFY_ALIAS(fcntl, __fcntl);
/* What an i386 program built with _TIME_BITS=64 calls: glibc's is fcntl64 itself. */
SOCKSIFY_ALIAS(fcntl64, __fcntl_time64);
