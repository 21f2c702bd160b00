/* A receive that was already blocked inside libc when its socket got a UDP association is out
 * of socksify's reach: it would return the relay's first datagram raw (header and all, from the
 * relay). Before the socket is tied to the relay, such a receive is found and woken with an
 * empty datagram, so that the program's next receive goes through the hooks. */
#ifndef SOCKSIFY_UDP_WAKEUP_H
#define SOCKSIFY_UDP_WAKEUP_H

#include <stdbool.h>

/* Whether a thread of this process is blocked in read, readv, recvfrom, recvmsg or recvmmsg on
 * fd (from /proc/self/task/N/syscall; false if that cannot be read). */
bool udp_wakeup_reader_blocked(int fd);
/* Sends an empty datagram to fd's own address (loopback for a wildcard one) from a socket of
 * our own: a blocked receive returns it; one that comes through the hooks later drops it. */
void udp_wakeup_send(int fd, int family);

#endif
