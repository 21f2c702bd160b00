/* Opening a tunnel through a chain of proxies over a non-blocking socket, one step at a time:
 * the TCP connect to the first proxy, then the core's handshake machine, within the configured
 * timeouts; chains that skip dead proxies try again on a fresh socket. The blocking connect()
 * waits between steps with poll (tunnel_open); the engine of non-blocking connects waits for
 * many tunnels at once with epoll. Bytes in, bytes out; no protocol here. */
#ifndef SOCKSIFY_TUNNEL_H
#define SOCKSIFY_TUNNEL_H

#include "config.h"
#include "handshake.h"

#include <stdbool.h>
#include <time.h>

struct tunnel {
    int fd;                           /* the socket being driven (non-blocking while it is) */
    const struct config *config;
    const struct chain *chain;
    struct socks_target target;
    enum socks5_command command;      /* asked of the last proxy: CONNECT, or UDP ASSOCIATE */
    size_t picked[PROXY_CHAIN_MAX];   /* the proxies of this attempt, indices into config.proxies */
    size_t hop_count;
    size_t attempts;                  /* attempts started */
    bool proxy_tried;                 /* the target could be carried, and the first proxy was tried */
    bool proxy_connected;             /* the TCP connect to the first proxy succeeded */
    long long deadline_ms;            /* when the current phase times out (CLOCK_MONOTONIC) */
    int error;                        /* positive errno once failed */
    bool done;
    struct handshake handshake;
};

/* Starts opening a tunnel on fd (which must be non-blocking) to target through ch. Returns what
 * tunnel_advance would. */
int tunnel_begin(struct tunnel *t, int fd, const struct config *c, const struct chain *ch,
                 const struct socks_target *target);
/* Goes as far as it can without blocking. Returns 0 once the tunnel is up, -errno once it has
 * failed (for good: retries are done inside), or the poll events (POLLIN/POLLOUT) to wait for
 * on t->fd before calling again (until t->deadline_ms). */
int tunnel_advance(struct tunnel *t);
/* The deadline passed: fails the current attempt with ETIMEDOUT (maybe starting another). Returns as tunnel_advance. */
int tunnel_expire(struct tunnel *t);
/* Makes fd a tunnel, waiting in place whatever fd's blocking mode (it is restored). 0 or -errno. */
int tunnel_open(int fd, const struct config *c, const struct chain *ch, const struct socks_target *target,
                struct tunnel *t);
/* tunnel_open asking the last proxy for cmd (UDP ASSOCIATE for an association's control connection). */
int tunnel_open_command(int fd, const struct config *c, const struct chain *ch, const struct socks_target *target,
                        enum socks5_command cmd, struct tunnel *t);
/* Records the program's fd as an open tunnel t to dst (tunnels.h), with the proxy's side of it
 * when the last proxy told it (a SOCKS5 reply naming a specific address). */
void tunnel_register(int fd, const union sockaddr_any *dst, const struct tunnel *t);
/* One step of I/O for handshake h on fd (non-blocking, or known ready): sends or reads what the
 * machine asks for. 0 to go on, the poll events to wait for (POLLIN/POLLOUT), or -errno. */
int tunnel_step(int fd, struct handshake *h);
/* Where the last attempt ended (or is), for logs: "proxy connect", "hop 2 (http://p:3128) request", ... */
const char *tunnel_phase(const struct config *c, const struct tunnel *t, char *buf, size_t size);
/* "socks5://a:1080 -> http://b:3128" for the proxies of the last attempt, into buf. */
char *tunnel_path(const struct config *c, const struct tunnel *t, char *buf, size_t size);
/* Puts the open file of descriptor file under number fd (dup3), keeping fd's close-on-exec flag:
 * it belongs to the number the program chose. Returns dup3's result. */
int tunnel_replace_fd(int file, int fd);
/* Logs how a tunnel to target (text, for the line) through ch ended: err 0 or a positive errno,
 * timed from start; the proxies by URL without passwords, what the last proxy said. */
void tunnel_log_result(const struct config *c, const char *target, const struct chain *ch, const struct tunnel *t,
                       int err, const struct timespec *start);
/* CLOCK_MONOTONIC in milliseconds. */
long long tunnel_now_ms(void);

#endif
