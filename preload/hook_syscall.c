/* syscall(): programs that make socket calls through syscall(SYS_connect, ...) instead of libc
 * (some runtimes do; libuv sends and receives batches of datagrams that way) get the same
 * treatment as through the libc calls (on i386 also through socketcall); every other number passes
 * straight through, so the cost for the rest is a switch. */
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>
#include <linux/net.h>
#include <sys/syscall.h>

#include "hooks.h"
#include "libc.h"

/* The socket calls socksify takes over, by system call number: true with *result if number is one. */
static bool socket_call(long number, const long *a, long *result)
{
    switch (number) {
    case SYS_connect: *result = hook_connect((int)a[0], (const struct sockaddr *)a[1], (socklen_t)a[2]); return true;
    case SYS_sendto:
        *result = hook_sendto((int)a[0], (const void *)a[1], (size_t)a[2], (int)a[3], (const struct sockaddr *)a[4],
                              (socklen_t)a[5]);
        return true;
    case SYS_sendmsg: *result = hook_sendmsg((int)a[0], (const struct msghdr *)a[1], (int)a[2]); return true;
    case SYS_sendmmsg: *result = hook_sendmmsg((int)a[0], (struct mmsghdr *)a[1], (unsigned int)a[2], (int)a[3]); return true;
    case SYS_recvfrom:
        *result = hook_recvfrom((int)a[0], (void *)a[1], (size_t)a[2], (int)a[3], (struct sockaddr *)a[4], (socklen_t *)a[5]);
        return true;
    case SYS_recvmsg: *result = hook_recvmsg((int)a[0], (struct msghdr *)a[1], (int)a[2]); return true;
    case SYS_recvmmsg:
        *result = hook_recvmmsg((int)a[0], (struct mmsghdr *)a[1], (unsigned int)a[2], (int)a[3], (struct timespec *)a[4]);
        return true;
    default: return false;
    }
}

#ifdef SYS_socketcall
/* i386's older way into every socket call, socketcall(CALL, args[]): the same calls, which must
 * not get past socksify this way. *argc: how many arguments CALL reads from args[] (no more may be
 * read: the program's array may be shorter). The system call number of CALL, or -1. */
static long socketcall_number(long call, int *argc)
{
    switch (call) {
    case SYS_CONNECT: *argc = 3; return SYS_connect;
    case SYS_SENDTO: *argc = 6; return SYS_sendto;
    case SYS_SENDMSG: *argc = 3; return SYS_sendmsg;
    case SYS_SENDMMSG: *argc = 4; return SYS_sendmmsg;
    case SYS_RECVFROM: *argc = 6; return SYS_recvfrom;
    case SYS_RECVMSG: *argc = 3; return SYS_recvmsg;
    case SYS_RECVMMSG: *argc = 5; return SYS_recvmmsg;
    default: return -1;
    }
}

static bool socketcall(const long *a, long *result)
{
    int argc = 0;
    long number = socketcall_number(a[0], &argc), args[6] = { 0 };
    if (number < 0 || !a[1])
        return false;
    memcpy(args, (const long *)a[1], (size_t)argc * sizeof(long));
    return socket_call(number, args, result);
}
#endif

SOCKSIFY_EXPORT long syscall(long number, ...)
{
    long a[6], r;
    LIBC_SYSCALL_ARGS(number, a);
    if (socket_call(number, a, &r))
        return r;
#ifdef SYS_socketcall
    if (number == SYS_socketcall && socketcall(a, &r))
        return r;
#endif
    return libc()->syscall(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}
