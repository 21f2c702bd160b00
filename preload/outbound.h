/* What the outgoing hooks (connect, and sendto/sendmsg/sendmmsg) do: gather the facts of a call
 * (the destination as the kernel reads it, the socket's kind, whether it is a fake address), ask
 * core's route_verdict, log why, and act: a tunnel through the proxy, or libc. */
#ifndef SOCKSIFY_OUTBOUND_H
#define SOCKSIFY_OUTBOUND_H

#include <stdbool.h>
#include <sys/socket.h>
#include <time.h>

#include "route.h"
#include "tunnel.h"
#include "verdict.h"

/* Decides for a connection of fd to addr (connect, or a send with MSG_FASTOPEN), reading addr as
 * the kernel will (into *dst, which is what a tunnel must use); refusals are logged. An inet
 * socket of a protocol SOCKS cannot carry (UDP-Lite, SCTP, ...) is refused where its route goes
 * via a proxy. Costs no syscall unless addr is an inet address. */
enum verdict_action outbound_decide(int fd, const struct sockaddr *addr, socklen_t len, union sockaddr_any *dst);
/* Decides for a plain send of fd to addr (into *dst as for outbound_decide): a datagram goes
 * through an association, direct, or is refused (a TCP socket ignores the address). A datagram
 * routed direct costs no syscall; the others one or two getsockopt. */
enum verdict_action outbound_decide_send(int fd, const struct sockaddr *addr, socklen_t len, union sockaddr_any *dst);
/* Where a connection or datagram (what: "connect", "UDP to") to dst goes: *target is the address or
 * the name behind a fake address, *route the first matching rule. 0, or -errno for a rejected
 * destination or a fake address with no name (both logged). */
int outbound_route(const struct config *c, const union sockaddr_any *dst, const char *what, struct socks_target *target,
                   struct route *route);
/* A name routed direct (by route) is resolved here, for fd's family and socket type (what:
 * "connect", "UDP to", for logs). 0 with *out, or -EHOSTUNREACH (logged). */
int outbound_resolve_direct(int fd, const struct socks_target *target, const struct route *route, const char *what,
                            union sockaddr_any *out);
/* Whether proto traffic straight to dst would leak DNS past the proxy (logged when it would). */
bool outbound_dns_refused(const union sockaddr_any *dst, const char *proto);
/* "name:port (fake address)" or "address:port" into buf, for logs. */
char *outbound_describe(const struct socks_target *t, const union sockaddr_any *dst, char *buf, size_t size);
/* Connects fd to addr through the proxy (or fails closed): 0, -EINPROGRESS for a non-blocking fd
 * whose handshake runs in the background (engine.h), or -errno. */
int outbound_connect(int fd, const struct sockaddr *addr, socklen_t len);

#endif
