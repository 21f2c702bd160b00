/* Making a UDP association: the control connection through a chain, UDP ASSOCIATE asked of its
 * last proxy, and where the relay is, in the program's socket's family. No state of its own:
 * udp_assoc.h decides when, and ties the result to the socket. */
#ifndef SOCKSIFY_UDP_CONTROL_H
#define SOCKSIFY_UDP_CONTROL_H

#include <stddef.h>
#include <sys/types.h>

#include "addr.h"
#include "config.h"
#include "descriptor.h"

/* Largest UDP payload an IPv4 or IPv6 packet can carry (without jumbograms). */
#define UDP4_MAX 65507
#define UDP6_MAX 65527

/* An association made, not yet tied to its socket. */
struct udp_control {
    int ctl;                       /* the control connection (ours to close) */
    struct file_id ctl_id;
    int family;                    /* of the program's socket */
    union sockaddr_any relay;      /* in that family (v4-mapped on an IPv6 socket) */
    size_t max_datagram;           /* header + payload the relay's family can carry */
    char via[PROXY_HOST_MAX + 16]; /* the last proxy, for logs */
};

/* Binds fd (the program's UDP socket, or a duplicate) if it is not bound, opens the control
 * connection through ch and asks for the association; fills m, or returns -errno (logged, with
 * first_dst naming the destination that asked for it). Waits for the handshake. */
int udp_control_make(struct udp_control *m, int fd, const struct config *c, const struct chain *ch, const char *first_dst);

#endif
