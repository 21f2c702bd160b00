#include "real.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

static struct libc_calls calls;
static pthread_once_t calls_once = PTHREAD_ONCE_INIT;

/* If the next library lacks a function (an odd libc, or a static program's dlsym failing), the
 * raw system call stands in: socksify must never crash the program it is loaded into. */
static int sys_connect(int fd, const struct sockaddr *a, socklen_t l) { return (int)syscall(SYS_connect, fd, a, l); }
static ssize_t sys_sendto(int fd, const void *b, size_t n, int f, const struct sockaddr *a, socklen_t l)
{
    return syscall(SYS_sendto, fd, b, n, f, a, l);
}
static ssize_t sys_sendmsg(int fd, const struct msghdr *m, int f) { return syscall(SYS_sendmsg, fd, m, f); }
static ssize_t sys_recvfrom(int fd, void *b, size_t n, int f, struct sockaddr *a, socklen_t *l)
{
    return syscall(SYS_recvfrom, fd, b, n, f, a, l);
}
static int sys_getpeername(int fd, struct sockaddr *a, socklen_t *l) { return (int)syscall(SYS_getpeername, fd, a, l); }
static int sys_close(int fd) { return (int)syscall(SYS_close, fd); }
static int no_getaddrinfo(const char *n, const char *s, const struct addrinfo *h, struct addrinfo **r)
{
    (void)n, (void)s, (void)h, (void)r;
    errno = ENOSYS;
    return EAI_SYSTEM;
}

#define FIND(field, fallback) \
    (calls.field = dlsym(RTLD_NEXT, #field), calls.field = calls.field ? calls.field : (fallback))

static void resolve_all(void)
{
    FIND(connect, sys_connect);
    FIND(sendto, sys_sendto);
    FIND(sendmsg, sys_sendmsg);
    FIND(recvfrom, sys_recvfrom);
    FIND(getpeername, sys_getpeername);
    FIND(close, sys_close);
    FIND(getaddrinfo, no_getaddrinfo);
}

const struct libc_calls *libc(void)
{
    pthread_once(&calls_once, resolve_all);
    return &calls;
}
