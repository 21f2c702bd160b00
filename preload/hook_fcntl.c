/* fcntl() (and fcntl64, glibc's __fcntl): while a non-blocking connect's handshake runs, the
 * status flags (O_NONBLOCK, ...) are the real socket's, which the placeholder stands in for;
 * descriptor flags (FD_CLOEXEC) stay with the number. */
#include <fcntl.h>
#include <stdarg.h>

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

SOCKSIFY_EXPORT int fcntl(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    void *arg = va_arg(ap, void *);   /* as libc reads it: one pointer-sized argument, or none */
    va_end(ap);
    int r;
    struct fcntl_call c = { .cmd = cmd, .arg = arg };
    if ((cmd == F_GETFL || cmd == F_SETFL) && engine_maybe(fd) && engine_on_real(fd, real_fcntl, &c, &r))
        return r;
    return libc()->fcntl(fd, cmd, arg);
}

SOCKSIFY_ALIAS(fcntl, fcntl64);
SOCKSIFY_ALIAS(fcntl, __fcntl);
