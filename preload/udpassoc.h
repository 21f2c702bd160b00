/* UDP associations: a UDP socket whose datagrams go through a SOCKS5 proxy holds one, made on
 * the first datagram (or connect) to a destination routed via a proxy: a TCP control connection
 * through the route's chain that asked the last proxy for UDP ASSOCIATE, and the relay address
 * it answered. The program's socket is connected to the relay, so the kernel drops datagrams
 * from anyone else. The association lives as long as the socket (close(), or the proxy hanging
 * up the control connection). Lookups are lock-free; unmanaged descriptors pay one atomic load. */
#ifndef SOCKSIFY_UDPASSOC_H
#define SOCKSIFY_UDPASSOC_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/types.h>

#include "addr.h"
#include "config.h"
#include "socks5.h"

enum udp_state { UDP_NONE, UDP_ACTIVE, UDP_FAILED };

struct udp_assoc {
    atomic_int state;              /* enum udp_state */
    pthread_mutex_t lock;          /* creation, and the fields below that change after it */
    int error;                     /* UDP_FAILED: the errno every later send gets */
    int ctl;                       /* the control connection */
    dev_t ctl_dev;                 /* its identity: the program may close it (close loops) and reuse the number */
    ino_t ctl_ino;
    dev_t dev;                     /* identity of the program's socket, to notice it replaced behind our back */
    ino_t ino;
    int family;                    /* of the program's socket */
    union sockaddr_any relay;      /* in the socket's family (v4-mapped on an IPv6 socket); AF_UNSPEC
                                    * if the association failed before the socket was connected to it */
    size_t max_datagram;           /* header + payload the relay's address family can carry */
    const struct chain *chain;
    char via[PROXY_HOST_MAX + 16]; /* the last proxy, for logs */
    bool has_peer;                 /* the program connect()ed: its default destination */
    union sockaddr_any peer;
    bool has_name;                 /* the last name sent to (behind a fake address), to map replies back */
    union sockaddr_any name_fake;
};

/* Whether fd may hold an association: no lock, no syscall; false for every fd while none exists. */
bool udp_maybe(int fd);
/* fd's association if it has a live one (active or failed) and fd is still the same socket; NULL otherwise. */
struct udp_assoc *udp_assoc_of(int fd);
/* Gives fd (a UDP socket of family `family`) an association through ch, unless it has one.
 * Returns it (active), or NULL with errno set; a failure is logged and remembered for fd. */
struct udp_assoc *udp_assoc_open(int fd, const struct config *c, const struct chain *ch, const char *first_dst);
/* Whether the control connection still stands; if not, the association fails with ECONNRESET (logged once). */
bool udp_assoc_alive(struct udp_assoc *a);
/* Ends fd's association (the program closes fd, or connects it directly): the control connection
 * is closed. The program's socket stays connected to the relay unless the caller connects it elsewhere. */
void udp_assoc_close(int fd);

#endif
