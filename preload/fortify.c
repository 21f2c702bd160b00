/* __read_chk, __recv_chk, __recvfrom_chk: what programs built with _FORTIFY_SOURCE (most of
 * Debian) call instead of read, recv and recvfrom when the buffer's size is known. Each checks
 * the size as glibc does, then is the plain hook: a fortified program must not read a pending
 * socket or a UDP association's raw datagrams past socksify. */
#include <stddef.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hooks.h"
#include "real.h"

/* glibc's: reports the overflow and aborts, as the unhooked variant would. */
extern void __chk_fail(void) __attribute__((noreturn));

SOCKSIFY_EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
    if (n > buflen)
        __chk_fail();
    return hook_read(fd, buf, n);
}

SOCKSIFY_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
    if (n > buflen)
        __chk_fail();
    return hook_recv(fd, buf, n, flags);
}

SOCKSIFY_EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags, struct sockaddr *addr,
                                       socklen_t *len)
{
    if (n > buflen)
        __chk_fail();
    return hook_recvfrom(fd, buf, n, flags, addr, len);
}
