/* The one decision every outgoing hook shares (connect, and sendto/sendmsg/sendmmsg): pass the
 * call to libc, open a tunnel through the proxy instead, or refuse it. */
#ifndef SOCKSIFY_OUTBOUND_H
#define SOCKSIFY_OUTBOUND_H

#include <stdbool.h>
#include <sys/socket.h>
#include <time.h>

#include "tunnel.h"

enum outbound_verdict {
    OUTBOUND_PASS,     /* not ours: call libc as if socksify were not there */
    OUTBOUND_PROXY,    /* TCP that goes through the proxy: call outbound_connect */
    OUTBOUND_REFUSE,   /* would leak (DNS past the proxy while names are remote): fail with EACCES */
    OUTBOUND_REJECT,   /* a route says reject: fail with ECONNREFUSED */
};

/* Decides for a connection of fd to addr (connect, or a send with MSG_FASTOPEN); refusals are
 * logged. Costs no syscall unless addr is AF_INET/AF_INET6. */
enum outbound_verdict outbound_decide(int fd, const struct sockaddr *addr, socklen_t len);
/* Decides for a plain send of fd to addr: only a datagram to a DNS port can be refused (a TCP
 * socket ignores the address). Costs no syscall unless addr's port is a DNS port. */
enum outbound_verdict outbound_decide_send(int fd, const struct sockaddr *addr, socklen_t len);
/* Fails a refused or rejected call as the program should see it: -1 with errno set. */
int outbound_fail(enum outbound_verdict v);
/* Logs how a tunnel to target (text) through ch ended (err 0 or a positive errno), timed from start. */
void outbound_log_result(const struct config *c, const char *target, const struct chain *ch, const struct tunnel *t,
                         int err, const struct timespec *start);
/* Connects fd to addr through the proxy (or fails closed). Returns 0, or -1 with errno set, like connect(). */
int outbound_connect(int fd, const struct sockaddr *addr, socklen_t len);

#endif
