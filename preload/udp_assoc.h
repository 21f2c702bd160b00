/* UDP associations: a UDP socket whose datagrams go through a SOCKS5 proxy holds one, made on
 * the first datagram (or connect) to a destination routed via a proxy: a TCP control connection
 * through the route's chain that asked the last proxy for UDP ASSOCIATE, and the relay address
 * it answered. The program's socket is connected to the relay, so the kernel drops datagrams
 * from anyone else. The association lives as long as the socket (close(), or the proxy hanging
 * up the control connection). Lookups are lock-free; unmanaged descriptors pay one atomic load. */
#ifndef SOCKSIFY_UDP_ASSOC_H
#define SOCKSIFY_UDP_ASSOC_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "addr.h"
#include "config.h"
#include "descriptor.h"
#include "socks5.h"

/* UDP_PENDING: a non-blocking socket's association is being made in the background (it took
 * longer than UDP_WAIT_MS); its datagrams wait in a short queue meanwhile, as a plain socket's
 * would in its send buffer. */
enum udp_state { UDP_NONE, UDP_PENDING, UDP_ACTIVE, UDP_FAILED };

struct udp_queued;

/* How long the first datagram of a non-blocking socket waits for its association before it
 * queues instead: a nearby proxy answers well within it, so its refusals reach that datagram. */
#define UDP_WAIT_MS 50

struct udp_assoc {
    atomic_int state;              /* enum udp_state */
    pthread_mutex_t lock;          /* creation, and the fields below that change after it */
    pthread_cond_t settled;        /* a pending association became active or failed */
    int error;                     /* UDP_FAILED: the errno every later send gets */
    int ctl;                       /* the control connection */
    struct file_id ctl_id;         /* the program may close it (close loops) and reuse the number */
    struct file_id id;             /* the program's socket, to notice it replaced behind our back */
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
    unsigned gen;                  /* bumped when the slot is reset: a background handshake that finds
                                    * another generation was for a socket closed meanwhile */
    pid_t maker;                   /* UDP_PENDING: the process whose thread makes it (a forked child has none) */
    struct udp_queued *queue, **queue_tail;
    size_t queued;
};

/* Whether fd may hold an association: no lock, no syscall; false for every fd while none exists. */
bool udp_maybe(int fd);
/* fd's association if it has one (pending, active or failed) and fd is still the same socket; NULL otherwise. */
struct udp_assoc *udp_assoc_of(int fd);
/* Gives UDP socket fd an association through ch, unless it has one. A non-blocking socket's is
 * made in the background, waited for UDP_WAIT_MS at most (it may be returned pending); a
 * blocking socket's is made in place.
 * 0 with *out set, or -errno; a failure is logged and remembered for fd. */
int udp_assoc_open(int fd, const struct config *c, const struct chain *ch, const char *first_dst, struct udp_assoc **out);
/* Whether a can carry datagrams (active, or pending in this process); an active one whose control
 * connection closed fails with ECONNRESET (logged once), a pending one in a forked child with ECONNABORTED. */
bool udp_assoc_alive(struct udp_assoc *a);
/* While a is pending: keeps the datagram (header of hlen bytes, then msg's payload) for when it is
 * made, with *result the payload's length, or -EAGAIN when the queue is full (-ENOBUFS). False
 * if a is no longer pending: the caller sends it itself. */
bool udp_assoc_enqueue(struct udp_assoc *a, const uint8_t *header, size_t hlen, const struct msghdr *msg,
                       ssize_t *result);
/* The relay datagrams come from, for a receive that began in state (pending: read under the lock,
 * as it may just have been set); AF_UNSPEC while there is none. */
union sockaddr_any udp_assoc_relay(struct udp_assoc *a, int state);
/* Ends fd's association (the program closes fd, or connects it directly): the control connection
 * is closed. The program's socket stays connected to the relay unless the caller connects it elsewhere. */
void udp_assoc_close(int fd);

#endif
