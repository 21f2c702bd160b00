/* The blocking driver: connects a program's socket to the first proxy of a chain and runs the
 * core's handshake machine over it, within the configured timeouts; chains that skip dead
 * proxies try again on a fresh socket. Bytes in, bytes out; no protocol here. */
#ifndef SOCKSIFY_TUNNEL_H
#define SOCKSIFY_TUNNEL_H

#include "config.h"
#include "handshake.h"

#include <stdbool.h>

/* How the last attempt to open a tunnel went. */
struct tunnel {
    size_t picked[PROXY_CHAIN_MAX];   /* the proxies it went through, indices into config.proxies */
    size_t hop_count;
    size_t attempts;
    bool proxy_tried;                 /* the target could be carried, and the first proxy was tried */
    bool proxy_connected;             /* the TCP connect to the first proxy succeeded */
    struct handshake handshake;
};

/* Makes fd a tunnel to target through chain ch, whatever fd's blocking mode (it is restored).
 * Returns 0, or -errno; t keeps the final state for logs. */
int tunnel_open(int fd, const struct config *c, const struct chain *ch, const struct socks_target *target,
                struct tunnel *t);
/* Where the last attempt ended (or is), for logs: "proxy connect", "hop 2 (http://p:3128) request", ... */
const char *tunnel_phase(const struct config *c, const struct tunnel *t, char *buf, size_t size);
/* "socks5://a:1080 -> http://b:3128" for the proxies of the last attempt, into buf. */
char *tunnel_path(const struct config *c, const struct tunnel *t, char *buf, size_t size);

#endif
