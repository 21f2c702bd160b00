/* The hooks the library calls itself (hook_NAME, see SOCKSIFY_INTERNAL in libc.h): syscall()
 * passes socket calls on to them, and the fortified variants do the plain call after their check. */
#ifndef SOCKSIFY_HOOKS_H
#define SOCKSIFY_HOOKS_H

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

/* Inside the library every function returns -errno (0 or a count on success), as the kernel
 * does; only the exported hooks turn that into libc's -1 with errno, with these. */
static inline int hook_fail(int err)
{
    errno = err;
    return -1;
}

static inline long hook_result(long r)
{
    return r < 0 ? hook_fail((int)-r) : r;
}

/* glibc's: reports the overflow and aborts, as the unhooked variant would. */
extern void __chk_fail(void) __attribute__((noreturn));

extern __typeof__(connect) hook_connect;
extern __typeof__(sendto) hook_sendto;
extern __typeof__(sendmsg) hook_sendmsg;
extern __typeof__(sendmmsg) hook_sendmmsg;
extern __typeof__(read) hook_read;
extern __typeof__(recv) hook_recv;
extern __typeof__(recvfrom) hook_recvfrom;
extern __typeof__(recvmsg) hook_recvmsg;
extern __typeof__(recvmmsg) hook_recvmmsg;

#endif
