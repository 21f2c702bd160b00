#include "libc.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "rawsys.h"

static struct libc_calls calls;
static pthread_once_t calls_once = PTHREAD_ONCE_INIT;

/* If the next library lacks a function (an odd libc, or a static program's dlsym failing), the
 * raw system call stands in: socksify must never crash the program it is loaded into, and never
 * call its own hooks (syscall() is one of them). */
#define RAW(nr, a, b, c, d, e, f) rawsys_errno(rawsys_call(nr, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f)))

static int fallback_connect(int fd, const struct sockaddr *a, socklen_t l) { return (int)RAW(SYS_connect, fd, a, l, 0, 0, 0); }
static ssize_t fallback_sendto(int fd, const void *b, size_t n, int f, const struct sockaddr *a, socklen_t l)
{
    return RAW(SYS_sendto, fd, b, n, f, a, l);
}
static ssize_t fallback_sendmsg(int fd, const struct msghdr *m, int f) { return RAW(SYS_sendmsg, fd, m, f, 0, 0, 0); }
static int fallback_sendmmsg(int fd, struct mmsghdr *m, unsigned int n, int f) { return (int)RAW(SYS_sendmmsg, fd, m, n, f, 0, 0); }
static ssize_t fallback_recvfrom(int fd, void *b, size_t n, int f, struct sockaddr *a, socklen_t *l)
{
    return RAW(SYS_recvfrom, fd, b, n, f, a, l);
}
static int fallback_getpeername(int fd, struct sockaddr *a, socklen_t *l) { return (int)RAW(SYS_getpeername, fd, a, l, 0, 0, 0); }
static int fallback_close(int fd) { return (int)RAW(SYS_close, fd, 0, 0, 0, 0, 0); }
static int fallback_epoll_ctl(int e, int op, int fd, struct epoll_event *ev) { return (int)RAW(SYS_epoll_ctl, e, op, fd, ev, 0, 0); }
static ssize_t fallback_read(int fd, void *b, size_t n) { return RAW(SYS_read, fd, b, n, 0, 0, 0); }
static ssize_t fallback_write(int fd, const void *b, size_t n) { return RAW(SYS_write, fd, b, n, 0, 0, 0); }
static ssize_t fallback_readv(int fd, const struct iovec *v, int n) { return RAW(SYS_readv, fd, v, n, 0, 0, 0); }
static ssize_t fallback_writev(int fd, const struct iovec *v, int n) { return RAW(SYS_writev, fd, v, n, 0, 0, 0); }
static ssize_t fallback_recv(int fd, void *b, size_t n, int f) { return RAW(SYS_recvfrom, fd, b, n, f, 0, 0); }
static ssize_t fallback_send(int fd, const void *b, size_t n, int f) { return RAW(SYS_sendto, fd, b, n, f, 0, 0); }
static ssize_t fallback_recvmsg(int fd, struct msghdr *m, int f) { return RAW(SYS_recvmsg, fd, m, f, 0, 0, 0); }
static int fallback_recvmmsg(int fd, struct mmsghdr *m, unsigned int n, int f, struct timespec *t)
{
    return (int)RAW(SYS_recvmmsg, fd, m, n, f, t, 0);
}
static int fallback_getsockopt(int fd, int l, int o, void *v, socklen_t *n) { return (int)RAW(SYS_getsockopt, fd, l, o, v, n, 0); }
static int fallback_setsockopt(int fd, int l, int o, const void *v, socklen_t n)
{
    return (int)RAW(SYS_setsockopt, fd, l, o, v, n, 0);
}
static int fallback_getsockname(int fd, struct sockaddr *a, socklen_t *l) { return (int)RAW(SYS_getsockname, fd, a, l, 0, 0, 0); }
static int fallback_bind(int fd, const struct sockaddr *a, socklen_t l) { return (int)RAW(SYS_bind, fd, a, l, 0, 0, 0); }
static int fallback_listen(int fd, int backlog) { return (int)RAW(SYS_listen, fd, backlog, 0, 0, 0, 0); }
/* accept4 with no flags is accept (i386 has no accept call of its own). */
static int fallback_accept4(int fd, struct sockaddr *a, socklen_t *l, int f) { return (int)RAW(SYS_accept4, fd, a, l, f, 0, 0); }
static int fallback_accept(int fd, struct sockaddr *a, socklen_t *l) { return fallback_accept4(fd, a, l, 0); }
static int fallback_shutdown(int fd, int how) { return (int)RAW(SYS_shutdown, fd, how, 0, 0, 0, 0); }
/* On i386 fcntl64 is its own call: struct flock64 for the lock commands. */
#ifndef SYS_fcntl64
#define SYS_fcntl64 SYS_fcntl
#endif
/* The waits through ppoll and pselect6, which every architecture has; the kernel's write-back of
 * the time left goes to a copy, as glibc's does. 8: the kernel's sigset_t. */
static int fallback_ppoll(struct pollfd *p, nfds_t n, const struct timespec *t, const sigset_t *m)
{
    struct timespec left = t ? *t : (struct timespec){ 0, 0 };
    return (int)RAW(SYS_ppoll, p, n, t ? &left : NULL, m, 8, 0);
}
static int fallback_poll(struct pollfd *p, nfds_t n, int ms)
{
    struct timespec t = { ms / 1000, (long)(ms % 1000) * 1000000 };
    return fallback_ppoll(p, n, ms < 0 ? NULL : &t, NULL);
}
static int fallback_pselect(int n, fd_set *r, fd_set *w, fd_set *e, const struct timespec *t, const sigset_t *m)
{
    struct timespec left = t ? *t : (struct timespec){ 0, 0 };
    struct { const sigset_t *set; size_t size; } mask = { m, 8 };
    return (int)RAW(SYS_pselect6, n, r, w, e, t ? &left : NULL, m ? &mask : NULL);
}
static int fallback_select(int n, fd_set *r, fd_set *w, fd_set *e, struct timeval *t)
{
    struct timespec ts = { t ? t->tv_sec : 0, t ? (long)t->tv_usec * 1000 : 0 };
    return fallback_pselect(n, r, w, e, t ? &ts : NULL, NULL);
}
static int fallback_epoll_pwait(int e, struct epoll_event *ev, int n, int ms, const sigset_t *m)
{
    return (int)RAW(SYS_epoll_pwait, e, ev, n, ms, m, 8);
}
static int fallback_epoll_wait(int e, struct epoll_event *ev, int n, int ms) { return fallback_epoll_pwait(e, ev, n, ms, NULL); }
static int fallback_fcntl(int fd, int cmd, ...)
{
    void *arg;
    LIBC_FCNTL_ARG(cmd, arg);
    return (int)RAW(SYS_fcntl, fd, cmd, arg, 0, 0, 0);
}
static int fallback_fcntl64(int fd, int cmd, ...)
{
    void *arg;
    LIBC_FCNTL_ARG(cmd, arg);
    return (int)RAW(SYS_fcntl64, fd, cmd, arg, 0, 0, 0);
}
static long fallback_syscall(long n, ...)
{
    long a[6];
    LIBC_SYSCALL_ARGS(n, a);
    return RAW(n, a[0], a[1], a[2], a[3], a[4], a[5]);
}
static int fallback_getaddrinfo(const char *n, const char *s, const struct addrinfo *h, struct addrinfo **r)
{
    (void)n, (void)s, (void)h, (void)r;
    errno = ENOSYS;
    return EAI_SYSTEM;
}

static int fallback_getnameinfo(const struct sockaddr *sa, socklen_t l, char *h, socklen_t hl, char *s, socklen_t sl, int f)
{
    (void)sa, (void)l, (void)h, (void)hl, (void)s, (void)sl, (void)f;
    errno = ENOSYS;
    return EAI_SYSTEM;
}
static struct hostent *fallback_gethostbyname2(const char *n, int f)
{
    (void)n, (void)f;
    h_errno = NO_RECOVERY;
    return NULL;
}
static int fallback_gethostbyname2_r(const char *n, int f, struct hostent *he, char *b, size_t bl, struct hostent **r, int *e)
{
    (void)n, (void)f, (void)he, (void)b, (void)bl;
    *r = NULL;
    *e = NO_RECOVERY;
    return ENOSYS;
}
static struct hostent *fallback_gethostbyaddr(const void *a, socklen_t l, int t)
{
    (void)a, (void)l, (void)t;
    h_errno = NO_RECOVERY;
    return NULL;
}
static int fallback_gethostbyaddr_r(const void *a, socklen_t l, int t, struct hostent *he, char *b, size_t bl, struct hostent **r,
                              int *e)
{
    (void)a, (void)l, (void)t, (void)he, (void)b, (void)bl;
    *r = NULL;
    *e = NO_RECOVERY;
    return ENOSYS;
}

static void resolve_all(void)
{
#define HOOK(name, ret, params) \
    calls.name = dlsym(RTLD_NEXT, #name); \
    if (!calls.name) \
        calls.name = fallback_##name;
/* glibc 2.34 moved the resolver's calls into libc under their plain names; before, libresolv
 * exported them as __name (what its headers renamed the calls to). */
#define HOOK_MAYBE(name, ret, params) \
    calls.name = dlsym(RTLD_NEXT, #name); \
    if (!calls.name) \
        calls.name = dlsym(RTLD_NEXT, "__" #name);
#define HOOK_TIME64(name, ret, params) \
    calls.name = sizeof(time_t) < 8 ? dlsym(RTLD_NEXT, #name) : NULL;
#include "hooks.def"
}

const struct libc_calls *libc(void)
{
    pthread_once(&calls_once, resolve_all);
    return &calls;
}
