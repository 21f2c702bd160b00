/* getsockopt(), setsockopt(): while a non-blocking connect's handshake runs, the program's
 * descriptor holds a placeholder, so these reach the real socket instead (options set now are
 * there when it comes back); SO_ERROR says 0 until the end, then the result once. */
#include "engine.h"
#include "libc.h"

struct sockopt_call {
    int level, name;
    void *value;
    const void *cvalue;
    socklen_t *len, clen;
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

SOCKSIFY_EXPORT int getsockopt(int fd, int level, int name, void *value, socklen_t *len)
{
    if (engine_maybe(fd)) {
        int err, r;
        if (level == SOL_SOCKET && name == SO_ERROR && value && len && *len >= (socklen_t)sizeof(int) &&
            engine_so_error(fd, &err)) {
            *(int *)value = err;
            *len = sizeof(int);
            return 0;
        }
        struct sockopt_call c = { .level = level, .name = name, .value = value, .len = len };
        if (engine_on_real(fd, real_getsockopt, &c, &r))
            return r;
    }
    return libc()->getsockopt(fd, level, name, value, len);
}

SOCKSIFY_EXPORT int setsockopt(int fd, int level, int name, const void *value, socklen_t len)
{
    int r;
    struct sockopt_call c = { .level = level, .name = name, .cvalue = value, .clen = len };
    if (engine_maybe(fd) && engine_on_real(fd, real_setsockopt, &c, &r))
        return r;
    return libc()->setsockopt(fd, level, name, value, len);
}
/* i386 programs built with _TIME_BITS=64 call these names; glibc's are the same functions. Declared
 * by hand: libc's headers declare the targets __THROW, which an alias must repeat. */
extern int __getsockopt64(int, int, int, void *, socklen_t *) __THROW
    __attribute__((alias("getsockopt"), visibility("default")));
extern int __setsockopt64(int, int, int, const void *, socklen_t) __THROW
    __attribute__((alias("setsockopt"), visibility("default")));
