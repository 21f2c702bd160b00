/* getsockopt/setsockopt/getsockname/fcntl/shutdown: while a non-blocking connect's handshake runs,
 * the program's descriptor holds a placeholder, so these reach the real socket instead (options
 * set now are there when it comes back); SO_ERROR says 0 until the end, then the result once. */
#include <fcntl.h>
#include <stdarg.h>

#include "pending.h"
#include "real.h"

struct sockopt_call {
    int level, name;
    void *value;
    const void *cvalue;
    socklen_t *len, clen;
    struct sockaddr *addr;
    int cmd;
    void *arg;
};

static int real_getsockopt(int real, void *ctx)
{
    struct sockopt_call *c = ctx;
    return libc()->getsockopt(real, c->level, c->name, c->value, c->len);
}

static int real_setsockopt(int real, void *ctx)
{
    struct sockopt_call *c = ctx;
    return libc()->setsockopt(real, c->level, c->name, c->cvalue, c->clen);
}

static int real_getsockname(int real, void *ctx)
{
    struct sockopt_call *c = ctx;
    return libc()->getsockname(real, c->addr, c->len);
}

static int real_fcntl(int real, void *ctx)
{
    struct sockopt_call *c = ctx;
    return libc()->fcntl(real, c->cmd, c->arg);
}

SOCKSIFY_EXPORT int getsockopt(int fd, int level, int name, void *value, socklen_t *len)
{
    if (pending_maybe(fd)) {
        int err, r;
        if (level == SOL_SOCKET && name == SO_ERROR && value && len && *len >= (socklen_t)sizeof(int) &&
            pending_so_error(fd, &err)) {
            *(int *)value = err;
            *len = sizeof(int);
            return 0;
        }
        struct sockopt_call c = { .level = level, .name = name, .value = value, .len = len };
        if (pending_on_real(fd, real_getsockopt, &c, &r))
            return r;
    }
    return libc()->getsockopt(fd, level, name, value, len);
}

SOCKSIFY_EXPORT int setsockopt(int fd, int level, int name, const void *value, socklen_t len)
{
    int r;
    struct sockopt_call c = { .level = level, .name = name, .cvalue = value, .clen = len };
    if (pending_maybe(fd) && pending_on_real(fd, real_setsockopt, &c, &r))
        return r;
    return libc()->setsockopt(fd, level, name, value, len);
}

SOCKSIFY_EXPORT int getsockname(int fd, struct sockaddr *addr, socklen_t *len)
{
    int r;
    struct sockopt_call c = { .addr = addr, .len = len };
    if (pending_maybe(fd) && pending_on_real(fd, real_getsockname, &c, &r))
        return r;
    return libc()->getsockname(fd, addr, len);
}

/* Status flags (O_NONBLOCK, ...) belong to the socket; descriptor flags stay with the number. */
static int fcntl_hook(int fd, int cmd, void *arg)
{
    int r;
    struct sockopt_call c = { .cmd = cmd, .arg = arg };
    if ((cmd == F_GETFL || cmd == F_SETFL) && pending_maybe(fd) && pending_on_real(fd, real_fcntl, &c, &r))
        return r;
    return libc()->fcntl(fd, cmd, arg);
}

SOCKSIFY_EXPORT int fcntl(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    void *arg = va_arg(ap, void *);   /* as libc reads it: one pointer-sized argument, or none */
    va_end(ap);
    return fcntl_hook(fd, cmd, arg);
}

SOCKSIFY_EXPORT int shutdown(int fd, int how)
{
    /* Shutting down a connecting socket abandons the connect; the socket comes back to take it. */
    if (pending_maybe(fd))
        pending_abandon(fd);
    return libc()->shutdown(fd, how);
}

SOCKSIFY_ALIAS(fcntl, fcntl64);
SOCKSIFY_ALIAS(fcntl, __fcntl);
