#include "real.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>

static struct libc_calls calls;
static pthread_once_t calls_once = PTHREAD_ONCE_INIT;

/* A libc without one of these is not a system socksify can run on: better to stop loudly than
 * to call through a NULL pointer later. */
static void *must_find(const char *name)
{
    void *f = dlsym(RTLD_NEXT, name);
    if (!f)
        abort();
    return f;
}

static void resolve_all(void)
{
    calls.connect = must_find("connect");
    calls.sendto = must_find("sendto");
    calls.sendmsg = must_find("sendmsg");
    calls.recvfrom = must_find("recvfrom");
    calls.getpeername = must_find("getpeername");
    calls.close = must_find("close");
    calls.getaddrinfo = must_find("getaddrinfo");
}

const struct libc_calls *libc(void)
{
    pthread_once(&calls_once, resolve_all);
    return &calls;
}
