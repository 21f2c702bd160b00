/* Datagrams of UDP sockets routed through a proxy (see udp_assoc.h): what the send, receive,
 * connect and getpeername hooks do with them. Each datagram is routed on its own: via the
 * socket's association (gaining the RFC 1928 header), direct, or refused. Received datagrams
 * lose the header and come from the real peer. The hooks call these only for sockets that hold
 * an association (udp_managed) or whose verdict is VERDICT_UDP. Each returns what the call it
 * stands for returns, or -errno. */
#ifndef SOCKSIFY_UDP_H
#define SOCKSIFY_UDP_H

#include <sys/socket.h>
#include <sys/types.h>

#include "udp_assoc.h"

/* fd's association if it holds one: one atomic load for every other descriptor. */
static inline struct udp_assoc *udp_managed(int fd)
{
    return udp_maybe(fd) ? udp_assoc_of(fd) : NULL;
}

/* sendmsg() of one datagram on fd (association a, or NULL to make one) to msg's address or the
 * default destination. Returns the payload bytes sent, or -errno. */
ssize_t udp_send(int fd, struct udp_assoc *a, const struct msghdr *msg, int flags);
/* recvmsg() on fd with association a: one datagram from the relay, header removed, msg_name set
 * to the real peer; MSG_PEEK, MSG_TRUNC, MSG_DONTWAIT as on a plain UDP socket. */
ssize_t udp_recv(int fd, struct udp_assoc *a, struct msghdr *msg, int flags);
/* udp_send of one buffer to the default destination (write, send). */
ssize_t udp_send_buffer(int fd, struct udp_assoc *a, const void *buf, size_t n, int flags);
/* udp_recv into one buffer, with recvfrom()'s address arguments (both may be NULL). */
ssize_t udp_recv_buffer(int fd, struct udp_assoc *a, void *buf, size_t n, int flags, struct sockaddr *addr, socklen_t *len);
/* recvmmsg() on fd with association a, one udp_recv per message. */
int udp_recv_many(int fd, struct udp_assoc *a, struct mmsghdr *msgs, unsigned int n, int flags, struct timespec *timeout);
/* connect() of UDP socket fd (association a, or NULL to make one) to addr: sets or (AF_UNSPEC)
 * clears the default destination; a destination routed direct ends the association. */
int udp_connect(int fd, struct udp_assoc *a, const struct sockaddr *addr, socklen_t len);
/* getpeername() of a socket with association a: its default destination, or ENOTCONN. */
int udp_peer(struct udp_assoc *a, struct sockaddr *addr, socklen_t *len);

#endif
