#include "outbound.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "context.h"
#include "shared.h"
#include "engine.h"
#include "libc.h"
#include "tunnels.h"
#include "route.h"
#include "verdict.h"
#include "descriptor.h"
#include "tunnel.h"

static void log_dns_refused(const union sockaddr_any *dst, const char *proto)
{
    char text[ADDR_TEXT_MAX];
    log_msg(LOG_ERROR, "%s to %s refused: DNS past the proxy would leak names (set direct_dns yes to allow)", proto,
            addr_format(dst, text, sizeof(text)));
}

/* "route at FILE:LINE" or the built-in reason, for logs. */
static const char *route_text(const struct config *c, const struct route *r, char *buf, size_t size)
{
    if (!r->rule)
        return r->reason;
    snprintf(buf, size, "route at %s:%d", c->source[0] ? c->source : "config", r->rule->line);
    return buf;
}

/* Says why a call to dst on a socket of kind was not given a proxy: rejected, refused, or direct
 * (datagrams are too many to log each at info). */
static void tell(const struct config *c, const union sockaddr_any *dst, enum verdict_protocol kind, const struct verdict *v)
{
    const char *what = kind == VERDICT_UDP_SOCKET ? "UDP to" : "connect";
    char text[ADDR_TEXT_MAX], why[PATH_MAX + 32];
    enum log_level level = kind == VERDICT_UDP_SOCKET ? LOG_DEBUG : LOG_INFO;
    addr_format(dst, text, sizeof(text));
    if (v->action == VERDICT_REJECT)
        log_msg(LOG_ERROR, "%s %s: rejected (%s)", what, text, route_text(c, &v->route, why, sizeof(why)));
    else if (v->reason == VERDICT_DNS_LEAK)
        log_dns_refused(dst, kind == VERDICT_UDP_SOCKET ? "UDP" : "TCP");
    else if (v->reason == VERDICT_UNCARRIED)
        log_msg(LOG_ERROR, "%s refused: a socket SOCKS cannot carry (only TCP and UDP), routed via a proxy", text);
    else if (v->action == VERDICT_PASS && log_enabled(level))
        log_msg(level, "%s %s: direct (%s)", what, text, route_text(c, &v->route, why, sizeof(why)));
}

/* Where a call's address really goes, read as the kernel will read it (the short IPv6 form,
 * AF_UNSPEC); the socket's family is asked only for the one form that depends on it. While
 * socksify itself is loading (resolving the proxy's name may open sockets), its own connections
 * are its business, not the program's: no destination to judge. */
static enum addr_form read_destination(int fd, const struct sockaddr *addr, socklen_t len, bool is_connect,
                                       union sockaddr_any *dst)
{
    if (context_loading())
        return ADDR_FORM_NONE;
    enum addr_form f = addr_read_as_kernel(dst, addr, len, -1, is_connect);
    if (f == ADDR_FORM_UNKNOWN)
        f = addr_read_as_kernel(dst, addr, len, socket_int(fd, SOL_SOCKET, SO_DOMAIN, -1), is_connect);
    return f;
}

/* A destination socksify cannot judge must not reach libc: it might go anywhere. */
static enum verdict_action undecided(void)
{
    log_msg(LOG_ERROR, "refused a socket call whose destination cannot be read (the socket's family is unknown)");
    return VERDICT_REFUSE;
}

/* What kind of socket fd is, for the verdict; -1 if it is none of socksify's business (not a
 * socket, or not an inet one: the kernel refuses an inet address there itself). */
static int socket_kind(int fd)
{
    switch (socket_int(fd, SOL_SOCKET, SO_PROTOCOL, -1)) {
    case IPPROTO_TCP:
    case IPPROTO_MPTCP: return VERDICT_TCP_SOCKET;
    case IPPROTO_UDP: return VERDICT_UDP_SOCKET;
    case -1: return -1;
    default: {
        int domain = socket_int(fd, SOL_SOCKET, SO_DOMAIN, -1);
        return domain == AF_INET || domain == AF_INET6 ? VERDICT_OTHER_SOCKET : -1;
    }
    }
}

/* Whether dst is a fake address: a name only the proxy can resolve. */
static bool is_fake(const struct config *c, const union sockaddr_any *dst)
{
    struct fakedns *map = c ? shared_names() : NULL;
    return map && fakedns_is_fake(map, dst);
}

/* The verdict for a connection of fd to dst, told in the log. */
static enum verdict_action decide_connect(int fd, const union sockaddr_any *dst)
{
    int kind = socket_kind(fd);
    if (kind < 0)
        return VERDICT_PASS;
    const struct config *c = context_config();
    struct verdict v = route_verdict(c, dst, is_fake(c, dst), (enum verdict_protocol)kind);
    tell(c, dst, (enum verdict_protocol)kind, &v);
    return v.action;
}

/* The verdict for a datagram of fd to dst. The route is judged first, as for UDP: a datagram
 * that goes direct anyway needs no syscall to learn fd's kind. */
static enum verdict_action decide_datagram(int fd, const union sockaddr_any *dst)
{
    const struct config *c = context_config();
    bool fake = is_fake(c, dst);
    struct verdict v = route_verdict(c, dst, fake, VERDICT_UDP_SOCKET);
    if (v.action == VERDICT_PASS && !log_enabled(LOG_DEBUG))
        return VERDICT_PASS;
    int kind = socket_kind(fd);
    if (kind < 0 || kind == VERDICT_TCP_SOCKET)
        return VERDICT_PASS;   /* TCP ignores the address of a plain send */
    if (kind == VERDICT_OTHER_SOCKET)
        v = route_verdict(c, dst, fake, VERDICT_OTHER_SOCKET);
    tell(c, dst, (enum verdict_protocol)kind, &v);
    return v.action;
}

/* The verdict for a connect (or a send, !is_connect) of fd to addr, with *dst where it goes. */
static enum verdict_action decide(int fd, const struct sockaddr *addr, socklen_t len, bool is_connect,
                                  union sockaddr_any *dst)
{
    int saved = errno;
    enum verdict_action v = VERDICT_PASS;
    switch (read_destination(fd, addr, len, is_connect, dst)) {
    case ADDR_FORM_INET: v = is_connect ? decide_connect(fd, dst) : decide_datagram(fd, dst); break;
    case ADDR_FORM_UNKNOWN: v = undecided(); break;
    default: break;   /* no destination (a disconnect), or one the kernel refuses itself */
    }
    errno = saved;
    return v;
}

enum verdict_action outbound_decide(int fd, const struct sockaddr *addr, socklen_t len, union sockaddr_any *dst)
{
    return decide(fd, addr, len, true, dst);
}

enum verdict_action outbound_decide_send(int fd, const struct sockaddr *addr, socklen_t len, union sockaddr_any *dst)
{
    return decide(fd, addr, len, false, dst);
}

/* "name:port (fake address)" or "address:port", for logs. */
char *outbound_describe(const struct socks_target *t, const union sockaddr_any *dst, char *buf, size_t size)
{
    return socks_target_describe(t, dst, buf, size);
}

int outbound_route(const struct config *c, const union sockaddr_any *dst, const char *what, struct socks_target *target,
                   struct route *route)
{
    char text[FAKEDNS_NAME_MAX + ADDR_TEXT_MAX + 16], why[PATH_MAX + 32];
    int r = socks_target_for(shared_names(), dst, target);
    if (r < 0) {
        /* A fake address nobody asked for here (a program that bypassed our hooks, or an
         * expired name): there is no destination to send, and it must not go out as is. */
        log_msg(LOG_ERROR, "%s %s: a fake address with no name behind it", what, outbound_describe(target, dst, text, sizeof(text)));
        return r;
    }
    *route = route_decide(c, dst, target->is_name ? target->name : NULL);
    if (route->action == ROUTE_REJECT) {
        log_msg(LOG_ERROR, "%s %s: rejected (%s)", what, outbound_describe(target, dst, text, sizeof(text)),
                route_text(c, route, why, sizeof(why)));
        return -ECONNREFUSED;
    }
    return 0;
}

bool outbound_dns_refused(const union sockaddr_any *dst, const char *proto)
{
    if (!verdict_dns_leak(context_config(), dst))
        return false;
    log_dns_refused(dst, proto);
    return true;
}

int outbound_resolve_direct(int fd, const struct socks_target *target, const struct route *route, const char *what,
                            union sockaddr_any *out)
{
    struct addrinfo hints = { .ai_family = socket_int(fd, SOL_SOCKET, SO_DOMAIN, AF_INET),
                              .ai_socktype = socket_int(fd, SOL_SOCKET, SO_TYPE, SOCK_STREAM),
                              .ai_flags = AI_V4MAPPED },
                    *res = NULL;
    char port[8], why[PATH_MAX + 32];
    route_text(context_config(), route, why, sizeof(why));
    snprintf(port, sizeof(port), "%u", target->port);
    int r = libc()->getaddrinfo(target->name, port, &hints, &res);
    if (r != 0 || !res || !addr_from_sockaddr(out, res->ai_addr, res->ai_addrlen)) {
        log_msg(LOG_ERROR, "%s %s:%u: direct (%s), but it does not resolve here: %s", what, target->name, target->port,
                why, r ? gai_strerror(r) : "no address");
        if (res)
            freeaddrinfo(res);
        return -EHOSTUNREACH;
    }
    freeaddrinfo(res);
    if (log_enabled(LOG_INFO)) {
        char text[ADDR_TEXT_MAX];
        log_msg(LOG_INFO, "%s %s:%u: direct (%s) to %s", what, target->name, target->port, why, addr_format(out, text, sizeof(text)));
    }
    return 0;
}

/* A connection routed direct: to addr as the program gave it, or, for a name the config lets
 * resolve here, to the address the local resolver gives. 0 or -errno. */
static int connect_direct(int fd, const struct sockaddr *addr, socklen_t len, const struct socks_target *target,
                          const struct route *route)
{
    union sockaddr_any a;
    if (target->is_name) {
        int r = outbound_resolve_direct(fd, target, route, "connect", &a);
        if (r < 0)
            return r;
        addr = &a.sa;
        len = addr_len(&a);
    }
    return libc()->connect(fd, addr, len) < 0 ? -errno : 0;
}

/* Opens the tunnel on fd in place, waiting for the handshake (what: the target, for the log).
 * 0 or -errno. */
static int connect_in_place(int fd, const struct config *c, const struct chain *ch, const struct socks_target *target,
                            const union sockaddr_any *dst, const char *what, const struct timespec *start)
{
    struct tunnel t;
    int r = tunnel_open(fd, c, ch, target, &t);
    tunnel_log_result(c, what, ch, &t, -r, start);
    if (r < 0) {
        /* The socket may be connected to the proxy: make sure no byte of the program's can
         * reach the proxy as if it were the target. */
        libc()->shutdown(fd, SHUT_RDWR);
        return r;
    }
    tunnel_register(fd, dst, &t);
    return 0;
}

int outbound_connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    union sockaddr_any dst;
    /* Already a tunnel: connect() again is what it is on any connected socket. */
    if (tunnels_target(fd, &dst))
        return -EISCONN;
    const struct config *c = context_config();
    if (!c)
        return -ECONNREFUSED;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    addr_from_sockaddr(&dst, addr, len);
    struct socks_target target;
    struct route route;
    int r = outbound_route(c, &dst, "connect", &target, &route);
    if (r < 0)
        return r;
    if (route.action == ROUTE_DIRECT)
        return connect_direct(fd, addr, len, &target, &route);
    char what[FAKEDNS_NAME_MAX + ADDR_TEXT_MAX + 16];
    outbound_describe(&target, &dst, what, sizeof(what));
    int flags = libc()->fcntl(fd, F_GETFL);
    /* An event loop must not wait for the handshake: it runs in the background. */
    if (flags >= 0 && (flags & O_NONBLOCK)) {
        bool taken;
        r = engine_connect(fd, c, route.chain, &target, &dst, what, &start, &taken);
        if (taken)
            return r;
    }
    return connect_in_place(fd, c, route.chain, &target, &dst, what, &start);
}
