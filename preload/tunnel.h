/* The blocking driver: connects a program's socket to the proxy and runs the core's handshake
 * machine over it, within the configured timeouts. Bytes in, bytes out; no protocol here. */
#ifndef SOCKSIFY_TUNNEL_H
#define SOCKSIFY_TUNNEL_H

#include "config.h"
#include "handshake.h"

/* Makes fd a tunnel to target through the configured proxy, whatever fd's blocking mode (it is
 * restored). Returns 0, or -errno; h holds the handshake's final state for logs. */
int tunnel_open(int fd, const struct config *c, const struct socks_target *target, struct handshake *h);

#endif
