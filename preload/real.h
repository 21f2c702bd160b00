/* The libc functions socksify wraps, found once with dlsym(RTLD_NEXT, ...). Internal code calls
 * these, never the hooked names, so socksify's own I/O never re-enters its hooks. */
#ifndef SOCKSIFY_REAL_H
#define SOCKSIFY_REAL_H

#include <netdb.h>
#include <resolv.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>

struct libc_calls {
    int (*connect)(int, const struct sockaddr *, socklen_t);
    ssize_t (*sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
    ssize_t (*sendmsg)(int, const struct msghdr *, int);
    int (*sendmmsg)(int, struct mmsghdr *, unsigned int, int);
    ssize_t (*recvfrom)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
    int (*getpeername)(int, struct sockaddr *, socklen_t *);
    int (*close)(int);
    long (*syscall)(long, ...);
    int (*getaddrinfo)(const char *, const char *, const struct addrinfo *, struct addrinfo **);
    int (*getnameinfo)(const struct sockaddr *, socklen_t, char *, socklen_t, char *, socklen_t, int);
    struct hostent *(*gethostbyname2)(const char *, int);
    int (*gethostbyname2_r)(const char *, int, struct hostent *, char *, size_t, struct hostent **, int *);
    struct hostent *(*gethostbyaddr)(const void *, socklen_t, int);
    int (*gethostbyaddr_r)(const void *, socklen_t, int, struct hostent *, char *, size_t, struct hostent **, int *);
    int (*epoll_ctl)(int, int, int, struct epoll_event *);
    ssize_t (*read)(int, void *, size_t);
    ssize_t (*write)(int, const void *, size_t);
    ssize_t (*readv)(int, const struct iovec *, int);
    ssize_t (*writev)(int, const struct iovec *, int);
    ssize_t (*recv)(int, void *, size_t, int);
    ssize_t (*send)(int, const void *, size_t, int);
    ssize_t (*recvmsg)(int, struct msghdr *, int);
    int (*recvmmsg)(int, struct mmsghdr *, unsigned int, int, struct timespec *);
    int (*getsockopt)(int, int, int, void *, socklen_t *);
    int (*setsockopt)(int, int, int, const void *, socklen_t);
    int (*getsockname)(int, struct sockaddr *, socklen_t *);
    int (*shutdown)(int, int);
    int (*fcntl)(int, int, ...);
    /* The resolver calls that send DNS queries, and getaddrinfo_a: NULL if the process has none
     * (libresolv not loaded before glibc 2.34); their hooks then refuse. */
    int (*res_query)(const char *, int, int, unsigned char *, int);
    int (*res_search)(const char *, int, int, unsigned char *, int);
    int (*res_querydomain)(const char *, const char *, int, int, unsigned char *, int);
    int (*res_send)(const unsigned char *, int, unsigned char *, int);
    int (*res_nquery)(res_state, const char *, int, int, unsigned char *, int);
    int (*res_nsearch)(res_state, const char *, int, int, unsigned char *, int);
    int (*res_nquerydomain)(res_state, const char *, const char *, int, int, unsigned char *, int);
    int (*res_nsend)(res_state, const unsigned char *, int, unsigned char *, int);
    int (*getaddrinfo_a)(int, struct gaicb **, int, struct sigevent *);
};

/* Resolves every real function once (thread-safe, idempotent) and returns the table. */
const struct libc_calls *libc(void);

/* Marks a hook as one of the few symbols the library exports. */
#define SOCKSIFY_EXPORT __attribute__((visibility("default")))

#endif
