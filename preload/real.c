#include "real.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
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
static int sys_sendmmsg(int fd, struct mmsghdr *m, unsigned int n, int f) { return (int)syscall(SYS_sendmmsg, fd, m, n, f); }
static ssize_t sys_recvfrom(int fd, void *b, size_t n, int f, struct sockaddr *a, socklen_t *l)
{
    return syscall(SYS_recvfrom, fd, b, n, f, a, l);
}
static int sys_getpeername(int fd, struct sockaddr *a, socklen_t *l) { return (int)syscall(SYS_getpeername, fd, a, l); }
static int sys_close(int fd) { return (int)syscall(SYS_close, fd); }
static int sys_epoll_ctl(int e, int op, int fd, struct epoll_event *ev) { return (int)syscall(SYS_epoll_ctl, e, op, fd, ev); }
static ssize_t sys_read(int fd, void *b, size_t n) { return syscall(SYS_read, fd, b, n); }
static ssize_t sys_write(int fd, const void *b, size_t n) { return syscall(SYS_write, fd, b, n); }
static ssize_t sys_readv(int fd, const struct iovec *v, int n) { return syscall(SYS_readv, fd, v, n); }
static ssize_t sys_writev(int fd, const struct iovec *v, int n) { return syscall(SYS_writev, fd, v, n); }
static ssize_t sys_recv(int fd, void *b, size_t n, int f) { return syscall(SYS_recvfrom, fd, b, n, f, NULL, NULL); }
static ssize_t sys_send(int fd, const void *b, size_t n, int f) { return syscall(SYS_sendto, fd, b, n, f, NULL, 0); }
static ssize_t sys_recvmsg(int fd, struct msghdr *m, int f) { return syscall(SYS_recvmsg, fd, m, f); }
static int sys_recvmmsg(int fd, struct mmsghdr *m, unsigned int n, int f, struct timespec *t)
{
    return (int)syscall(SYS_recvmmsg, fd, m, n, f, t);
}
static int sys_getsockopt(int fd, int l, int o, void *v, socklen_t *n) { return (int)syscall(SYS_getsockopt, fd, l, o, v, n); }
static int sys_setsockopt(int fd, int l, int o, const void *v, socklen_t n)
{
    return (int)syscall(SYS_setsockopt, fd, l, o, v, n);
}
static int sys_getsockname(int fd, struct sockaddr *a, socklen_t *l) { return (int)syscall(SYS_getsockname, fd, a, l); }
static int sys_shutdown(int fd, int how) { return (int)syscall(SYS_shutdown, fd, how); }
static int sys_fcntl(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    return (int)syscall(SYS_fcntl, fd, cmd, arg);
}
static long no_syscall(long n, ...)
{
    (void)n;
    errno = ENOSYS;
    return -1;
}
static int no_getaddrinfo(const char *n, const char *s, const struct addrinfo *h, struct addrinfo **r)
{
    (void)n, (void)s, (void)h, (void)r;
    errno = ENOSYS;
    return EAI_SYSTEM;
}

static int no_getnameinfo(const struct sockaddr *sa, socklen_t l, char *h, socklen_t hl, char *s, socklen_t sl, int f)
{
    (void)sa, (void)l, (void)h, (void)hl, (void)s, (void)sl, (void)f;
    errno = ENOSYS;
    return EAI_SYSTEM;
}
static struct hostent *no_gethostbyname2(const char *n, int f)
{
    (void)n, (void)f;
    h_errno = NO_RECOVERY;
    return NULL;
}
static int no_gethostbyname2_r(const char *n, int f, struct hostent *he, char *b, size_t bl, struct hostent **r, int *e)
{
    (void)n, (void)f, (void)he, (void)b, (void)bl;
    *r = NULL;
    *e = NO_RECOVERY;
    return ENOSYS;
}
static struct hostent *no_gethostbyaddr(const void *a, socklen_t l, int t)
{
    (void)a, (void)l, (void)t;
    h_errno = NO_RECOVERY;
    return NULL;
}
static int no_gethostbyaddr_r(const void *a, socklen_t l, int t, struct hostent *he, char *b, size_t bl, struct hostent **r,
                              int *e)
{
    (void)a, (void)l, (void)t, (void)he, (void)b, (void)bl;
    *r = NULL;
    *e = NO_RECOVERY;
    return ENOSYS;
}

#define FIND(field, fallback) \
    (calls.field = dlsym(RTLD_NEXT, #field), calls.field = calls.field ? calls.field : (fallback))
/* The resolver's calls: glibc 2.34 moved them into libc under their plain names; before, libresolv
 * exported them as __res_NAME (what its headers renamed the calls to). No fallback: NULL. */
#define FIND_RES(field) \
    (calls.field = dlsym(RTLD_NEXT, #field), calls.field = calls.field ? calls.field : dlsym(RTLD_NEXT, "__" #field))

static void resolve_all(void)
{
    FIND(connect, sys_connect);
    FIND(sendto, sys_sendto);
    FIND(sendmsg, sys_sendmsg);
    FIND(sendmmsg, sys_sendmmsg);
    FIND(recvfrom, sys_recvfrom);
    FIND(getpeername, sys_getpeername);
    FIND(close, sys_close);
    FIND(syscall, no_syscall);
    FIND(getaddrinfo, no_getaddrinfo);
    FIND(getnameinfo, no_getnameinfo);
    FIND(gethostbyname2, no_gethostbyname2);
    FIND(gethostbyname2_r, no_gethostbyname2_r);
    FIND(gethostbyaddr, no_gethostbyaddr);
    FIND(gethostbyaddr_r, no_gethostbyaddr_r);
    FIND(epoll_ctl, sys_epoll_ctl);
    FIND(read, sys_read);
    FIND(write, sys_write);
    FIND(readv, sys_readv);
    FIND(writev, sys_writev);
    FIND(recv, sys_recv);
    FIND(send, sys_send);
    FIND(recvmsg, sys_recvmsg);
    FIND(recvmmsg, sys_recvmmsg);
    FIND(getsockopt, sys_getsockopt);
    FIND(setsockopt, sys_setsockopt);
    FIND(getsockname, sys_getsockname);
    FIND(shutdown, sys_shutdown);
    FIND(fcntl, sys_fcntl);
    FIND_RES(res_query);
    FIND_RES(res_search);
    FIND_RES(res_querydomain);
    FIND_RES(res_send);
    FIND_RES(res_nquery);
    FIND_RES(res_nsearch);
    FIND_RES(res_nquerydomain);
    FIND_RES(res_nsend);
    calls.getaddrinfo_a = dlsym(RTLD_NEXT, "getaddrinfo_a");
}

const struct libc_calls *libc(void)
{
    pthread_once(&calls_once, resolve_all);
    return &calls;
}
