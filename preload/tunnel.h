/* The blocking driver: connects a program's socket to the proxy and runs the core's handshake
 * machine over it, within the configured timeouts. Bytes in, bytes out; no protocol here. */
#ifndef SOCKSIFY_TUNNEL_H
#define SOCKSIFY_TUNNEL_H

#include "config.h"
#include "handshake.h"

#include <stdbool.h>

/* One attempt to open a tunnel: the TCP connect to the proxy, then the handshake. */
struct tunnel {
    bool proxy_connected;
    struct handshake handshake;
};

/* Makes fd a tunnel to target through the configured proxy, whatever fd's blocking mode (it is
 * restored). Returns 0, or -errno; t keeps the final state for logs. */
int tunnel_open(int fd, const struct config *c, const struct socks_target *target, struct tunnel *t);
/* Where the attempt ended (or is), for logs: "proxy connect", "authentication", ... */
const char *tunnel_phase(const struct tunnel *t);

#endif
