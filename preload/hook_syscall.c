/* syscall(): programs that make socket calls through syscall(SYS_connect, ...) instead of libc
 * (some runtimes do; libuv sends and receives batches of datagrams that way) get the same
 * treatment as through the libc calls; every other number passes straight through, so the cost
 * for the rest is one comparison. */
#include <stdarg.h>
#include <sys/syscall.h>

#include "hooks.h"
#include "libc.h"

SOCKSIFY_EXPORT long syscall(long number, ...)
{
    long a[6];
    LIBC_SYSCALL_ARGS(number, a);
    switch (number) {
    case SYS_connect: return hook_connect((int)a[0], (const struct sockaddr *)a[1], (socklen_t)a[2]);
    case SYS_sendto:
        return hook_sendto((int)a[0], (const void *)a[1], (size_t)a[2], (int)a[3], (const struct sockaddr *)a[4], (socklen_t)a[5]);
    case SYS_sendmsg: return hook_sendmsg((int)a[0], (const struct msghdr *)a[1], (int)a[2]);
    case SYS_sendmmsg: return hook_sendmmsg((int)a[0], (struct mmsghdr *)a[1], (unsigned int)a[2], (int)a[3]);
    case SYS_recvfrom:
        return hook_recvfrom((int)a[0], (void *)a[1], (size_t)a[2], (int)a[3], (struct sockaddr *)a[4], (socklen_t *)a[5]);
    case SYS_recvmsg: return hook_recvmsg((int)a[0], (struct msghdr *)a[1], (int)a[2]);
    case SYS_recvmmsg: return hook_recvmmsg((int)a[0], (struct mmsghdr *)a[1], (unsigned int)a[2], (int)a[3], (struct timespec *)a[4]);
    default: return libc()->syscall(number, a[0], a[1], a[2], a[3], a[4], a[5]);
    }
}
