/* The one decision every outgoing-TCP hook shares (connect, and sendto/sendmsg with
 * MSG_FASTOPEN): pass the call to libc, or open a tunnel through the proxy instead. */
#ifndef SOCKSIFY_OUTBOUND_H
#define SOCKSIFY_OUTBOUND_H

#include <sys/socket.h>

enum outbound_verdict {
    OUTBOUND_PASS,    /* not ours: call libc as if socksify were not there */
    OUTBOUND_PROXY,   /* goes through the proxy: call outbound_connect */
};

/* Decides for a connection of fd to addr. Costs no syscall unless addr is AF_INET/AF_INET6. */
enum outbound_verdict outbound_decide(int fd, const struct sockaddr *addr, socklen_t len);
/* Connects fd to addr through the proxy (or fails closed). Returns 0, or -1 with errno set, like connect(). */
int outbound_connect(int fd, const struct sockaddr *addr, socklen_t len);

#endif
