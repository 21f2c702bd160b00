#include "outbound.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <time.h>

#include "context.h"
#include "registry.h"
#include "route.h"
#include "tunnel.h"

static bool is_inet(const struct sockaddr *addr, socklen_t len)
{
    return addr && len >= (socklen_t)sizeof(sa_family_t) && (addr->sa_family == AF_INET || addr->sa_family == AF_INET6);
}

/* TCP (or MPTCP, which speaks TCP to the proxy); one getsockopt tells both type and protocol. */
static bool is_tcp_socket(int fd)
{
    int protocol = 0;
    socklen_t len = sizeof(protocol);
    return getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &protocol, &len) == 0 &&
           (protocol == IPPROTO_TCP || protocol == IPPROTO_MPTCP);
}

enum outbound_verdict outbound_decide(int fd, const struct sockaddr *addr, socklen_t len)
{
    /* While socksify itself is loading (resolving the proxy's name may open sockets), its own
     * connections are its business, not the program's. */
    if (!is_inet(addr, len) || context_loading())
        return OUTBOUND_PASS;
    int saved = errno;
    enum outbound_verdict v = OUTBOUND_PASS;
    union sockaddr_any dst;
    if (is_tcp_socket(fd) && addr_from_sockaddr(&dst, addr, len)) {
        const struct config *c = context_config();
        /* Without a usable configuration nothing may go out directly: fail closed. */
        struct route r = c ? route_decide(c, &dst) : (struct route){ ROUTE_PROXY, "no configuration" };
        v = r.action == ROUTE_PROXY ? OUTBOUND_PROXY : OUTBOUND_PASS;
        if (v == OUTBOUND_PASS && log_enabled(LOG_INFO)) {
            char text[ADDR_TEXT_MAX];
            log_msg(LOG_INFO, "connect %s: direct (%s)", addr_format(&dst, text, sizeof(text)), r.reason);
        }
    }
    errno = saved;
    return v;
}

static double elapsed_ms(const struct timespec *start)
{
    struct timespec end;
    clock_gettime(CLOCK_MONOTONIC, &end);
    return (double)(end.tv_sec - start->tv_sec) * 1e3 + (double)(end.tv_nsec - start->tv_nsec) / 1e6;
}

static void log_result(const struct config *c, const union sockaddr_any *dst, const struct tunnel *t, int err,
                       const struct timespec *start)
{
    enum log_level level = err ? LOG_ERROR : LOG_INFO;
    if (!log_enabled(level))
        return;
    char target[ADDR_TEXT_MAX], proxy[PROXY_HOST_MAX + PROXY_CRED_MAX + 32];
    addr_format(dst, target, sizeof(target));
    proxy_format(&c->proxy, proxy, sizeof(proxy));
    if (!err) {
        log_msg(level, "connect %s via %s: ok (%.1f ms)", target, proxy, elapsed_ms(start));
        if (log_enabled(LOG_DEBUG)) {
            char bound[ADDR_TEXT_MAX];
            const struct socks_target *b = &t->handshake.reply.bound;
            log_msg(LOG_DEBUG, "connect %s: the proxy's side of the tunnel is %s", target,
                    b->is_name ? b->name : addr_format(&b->addr, bound, sizeof(bound)));
        }
    }
    else
        log_msg(level, "connect %s via %s: failed during %s: %s (%.1f ms)", target, proxy,
                tunnel_phase(t), strerror(err), elapsed_ms(start));
}

int outbound_connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    const struct config *c = context_config();
    if (!c) {
        errno = ECONNREFUSED;
        return -1;
    }
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    struct socks_target target = { 0 };
    addr_from_sockaddr(&target.addr, addr, len);
    target.port = addr_port(&target.addr);
    struct tunnel t;
    int r = tunnel_open(fd, c, &target, &t);
    log_result(c, &target.addr, &t, -r, &start);
    if (r < 0) {
        /* The socket may be connected to the proxy: make sure no byte of the program's can
         * reach the proxy as if it were the target. */
        shutdown(fd, SHUT_RDWR);
        errno = -r;
        return -1;
    }
    registry_add(fd, &target.addr);
    return 0;
}
