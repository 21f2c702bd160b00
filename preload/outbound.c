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
#include "fakemap.h"
#include "engine.h"
#include "libc.h"
#include "tunnels.h"
#include "route.h"
#include "descriptor.h"
#include "tunnel.h"

#define DNS_PORT 53

/* IPPROTO_TCP, IPPROTO_UDP, ... of fd, or -1; one getsockopt tells both type and protocol. */
static int socket_protocol(int fd)
{
    return socket_int(fd, SOL_SOCKET, SO_PROTOCOL, -1);
}

/* DNS that does not go through the proxy would tell the local network the names the proxy is
 * meant to resolve: unless names are local (or the config allows it) it is refused. */
static bool dns_leak(const struct config *c, const union sockaddr_any *dst)
{
    return addr_port(dst) == DNS_PORT && !(c && (config_dns_mode(c) == DNS_LOCAL || c->direct_dns));
}

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

/* The verdict for a connection (or datagram, udp) to dst, silently: through a proxy (also with
 * no usable configuration: fail closed, and for a fake address, which stands for a name the
 * proxy is asked for), direct, or refused. *r is the route taken, if one was. No syscall. */
static enum outbound_verdict judge(const struct config *c, const union sockaddr_any *dst, bool udp, struct route *r)
{
    enum outbound_verdict via = udp ? OUTBOUND_UDP : OUTBOUND_PROXY;
    struct fakedns *map = c ? fakemap() : NULL;
    if (!c || (map && fakedns_is_fake(map, dst)))
        return via;
    *r = route_decide(c, dst, NULL);
    if (r->action == ROUTE_VIA)
        return via;
    if (r->action == ROUTE_REJECT)
        return OUTBOUND_REJECT;
    return dns_leak(c, dst) ? OUTBOUND_REFUSE : OUTBOUND_PASS;
}

/* Logs a verdict judge() gave without a proxy: rejected, refused, or direct (datagrams are too
 * many to log each at info). */
static void tell(const struct config *c, const union sockaddr_any *dst, bool udp, const struct route *r,
                 enum outbound_verdict v)
{
    const char *what = udp ? "UDP to" : "connect";
    char text[ADDR_TEXT_MAX], why[PATH_MAX + 32];
    enum log_level level = udp ? LOG_DEBUG : LOG_INFO;
    if (v == OUTBOUND_REJECT)
        log_msg(LOG_ERROR, "%s %s: rejected (%s)", what, addr_format(dst, text, sizeof(text)), route_text(c, r, why, sizeof(why)));
    else if (v == OUTBOUND_REFUSE)
        log_dns_refused(dst, udp ? "UDP" : "TCP");
    else if (v == OUTBOUND_PASS && log_enabled(level))
        log_msg(level, "%s %s: direct (%s)", what, addr_format(dst, text, sizeof(text)), route_text(c, r, why, sizeof(why)));
}

static enum outbound_verdict decide_routed(const union sockaddr_any *dst, bool udp)
{
    const struct config *c = context_config();
    struct route r;
    enum outbound_verdict v = judge(c, dst, udp, &r);
    tell(c, dst, udp, &r, v);
    return v;
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
static enum outbound_verdict undecided(void)
{
    log_msg(LOG_ERROR, "refused a socket call whose destination cannot be read (the socket's family is unknown)");
    return OUTBOUND_REFUSE;
}

static bool inet_socket(int fd)
{
    int domain = socket_int(fd, SOL_SOCKET, SO_DOMAIN, -1);
    return domain == AF_INET || domain == AF_INET6;
}

/* An inet socket of another protocol (UDP-Lite, SCTP, ICMP, raw): SOCKS carries only TCP and UDP,
 * so a destination meant for the proxy fails rather than go direct. v: its route's verdict. */
static enum outbound_verdict uncarried(int fd, int protocol, const union sockaddr_any *dst, enum outbound_verdict v)
{
    if (v == OUTBOUND_PASS || v == OUTBOUND_REJECT || v == OUTBOUND_REFUSE || !inet_socket(fd))
        return v;
    char text[ADDR_TEXT_MAX];
    log_msg(LOG_ERROR, "protocol %d to %s refused: routed via a proxy, which carries only TCP and UDP", protocol,
            addr_format(dst, text, sizeof(text)));
    return OUTBOUND_REFUSE;
}

/* The verdict for a connection of fd to dst, by fd's protocol. */
static enum outbound_verdict decide_connect(int fd, const union sockaddr_any *dst)
{
    int protocol = socket_protocol(fd);
    switch (protocol) {
    case IPPROTO_TCP:
    case IPPROTO_MPTCP:   /* speaks TCP to the proxy */
        return decide_routed(dst, false);
    case IPPROTO_UDP: return decide_routed(dst, true);
    case -1: return OUTBOUND_PASS;   /* not a socket: connect() fails with ENOTSOCK */
    default: {
        struct route r;
        const struct config *c = context_config();
        enum outbound_verdict v = judge(c, dst, false, &r);
        tell(c, dst, false, &r, v);
        return uncarried(fd, protocol, dst, v);
    }
    }
}

enum outbound_verdict outbound_decide(int fd, const struct sockaddr *addr, socklen_t len, union sockaddr_any *dst)
{
    int saved = errno;
    enum outbound_verdict v = OUTBOUND_PASS;
    switch (read_destination(fd, addr, len, true, dst)) {
    case ADDR_FORM_INET: v = decide_connect(fd, dst); break;
    case ADDR_FORM_UNKNOWN: v = undecided(); break;
    default: break;   /* no destination (a disconnect), or one the kernel refuses itself */
    }
    errno = saved;
    return v;
}

/* The verdict for a datagram to dst, whose route gave v (judged without a syscall). */
static enum outbound_verdict decide_datagram(int fd, const union sockaddr_any *dst, const struct route *r,
                                             enum outbound_verdict v)
{
    int protocol = socket_protocol(fd);
    const struct config *c = context_config();
    if (protocol == IPPROTO_UDP) {
        tell(c, dst, true, r, v);
        return v;
    }
    if (protocol == IPPROTO_TCP || protocol == IPPROTO_MPTCP || protocol < 0)
        return OUTBOUND_PASS;   /* TCP ignores the address of a plain send */
    return uncarried(fd, protocol, dst, v == OUTBOUND_UDP ? OUTBOUND_PROXY : v);
}

enum outbound_verdict outbound_decide_send(int fd, const struct sockaddr *addr, socklen_t len, union sockaddr_any *dst)
{
    int saved = errno;
    enum outbound_verdict v = OUTBOUND_PASS;
    switch (read_destination(fd, addr, len, false, dst)) {
    case ADDR_FORM_INET: {
        /* The route first: a datagram that goes direct anyway needs no syscall to learn fd's kind. */
        struct route r;
        v = judge(context_config(), dst, true, &r);
        if (v != OUTBOUND_PASS || log_enabled(LOG_DEBUG))
            v = decide_datagram(fd, dst, &r, v);
        break;
    }
    case ADDR_FORM_UNKNOWN: v = undecided(); break;
    default: break;
    }
    errno = saved;
    return v;
}

int outbound_fail(enum outbound_verdict v)
{
    errno = v == OUTBOUND_REJECT ? ECONNREFUSED : EACCES;
    return -1;
}

static double elapsed_ms(const struct timespec *start)
{
    struct timespec end;
    clock_gettime(CLOCK_MONOTONIC, &end);
    return (double)(end.tv_sec - start->tv_sec) * 1e3 + (double)(end.tv_nsec - start->tv_nsec) / 1e6;
}

/* "name:port (fake address)" or "address:port", for logs. */
char *outbound_describe(const struct socks_target *t, const union sockaddr_any *dst, char *buf, size_t size)
{
    char addr[ADDR_TEXT_MAX];
    addr_format(dst, addr, sizeof(addr));
    if (t->is_name)
        snprintf(buf, size, "%s:%u (%s)", t->name, t->port, addr);
    else
        snprintf(buf, size, "%s", addr);
    return buf;
}

void outbound_log_result(const struct config *c, const char *target, const struct chain *ch, const struct tunnel *t,
                         int err, const struct timespec *start)
{
    enum log_level level = err ? LOG_ERROR : LOG_INFO;
    if (!log_enabled(level))
        return;
    char path[PROXY_CHAIN_MAX * (PROXY_HOST_MAX + 40)], phase[PROXY_HOST_MAX + 96], via[PROXY_NAME_MAX + 16] = "";
    tunnel_path(c, t, path, sizeof(path));
    if (ch->hop_count > 1 || ch->line == 0 || strcmp(ch->name, "default") != 0)
        snprintf(via, sizeof(via), "%s ", ch->name);
    const char *verb = t->command == SOCKS5_CMD_UDP_ASSOCIATE ? "UDP association for" : "connect";
    if (err) {
        const char *detail = t->handshake.detail;
        log_msg(level, "%s %s via %s%s: failed during %s: %s%s%s%s (%.1f ms)", verb, target, via, path,
                tunnel_phase(c, t, phase, sizeof(phase)), strerror(err), detail[0] ? " (proxy said: " : "", detail,
                detail[0] ? ")" : "", elapsed_ms(start));
        return;
    }
    log_msg(level, "%s %s via %s%s: ok (%.1f ms)", verb, target, via, path, elapsed_ms(start));
    if (log_enabled(LOG_DEBUG) && t->command == SOCKS5_CMD_CONNECT && t->handshake.hops[t->hop_count - 1]->kind == PROXY_SOCKS5) {
        char bound[ADDR_TEXT_MAX];
        const struct socks_target *b = &t->handshake.reply.bound;
        log_msg(LOG_DEBUG, "connect %s: the proxy's side of the tunnel is %s", target,
                b->is_name ? b->name : addr_format(&b->addr, bound, sizeof(bound)));
    }
}

/* The target to ask the proxy for: the address, or the name behind a fake address. */
static int make_target(const union sockaddr_any *dst, struct socks_target *target)
{
    memset(target, 0, sizeof(*target));
    target->addr = *dst;
    target->port = addr_port(dst);
    struct fakedns *map = fakemap();
    if (!map || !fakedns_is_fake(map, dst))
        return 0;
    if (fakedns_name_for(map, dst, target->name) < 0)
        return -EHOSTUNREACH;
    target->is_name = true;
    return 0;
}

int outbound_route(const struct config *c, const union sockaddr_any *dst, const char *what, struct socks_target *target,
                   struct route *route)
{
    char text[FAKEDNS_NAME_MAX + ADDR_TEXT_MAX + 16], why[PATH_MAX + 32];
    int r = make_target(dst, target);
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
    if (!dns_leak(context_config(), dst))
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

/* A name routed direct: the config allows resolving it here, so the local resolver does. */
static int connect_direct_by_name(int fd, const struct socks_target *target, const struct route *route)
{
    union sockaddr_any a;
    int r = outbound_resolve_direct(fd, target, route, "connect", &a);
    if (r < 0) {
        errno = -r;
        return -1;
    }
    return libc()->connect(fd, &a.sa, addr_len(&a));
}

int outbound_connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    union sockaddr_any tunnelled;
    /* Already a tunnel: connect() again is what it is on any connected socket. */
    if (tunnels_target(fd, &tunnelled)) {
        errno = EISCONN;
        return -1;
    }
    const struct config *c = context_config();
    if (!c) {
        errno = ECONNREFUSED;
        return -1;
    }
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    union sockaddr_any dst;
    addr_from_sockaddr(&dst, addr, len);
    struct socks_target target;
    struct route route;
    char text[FAKEDNS_NAME_MAX + ADDR_TEXT_MAX + 16];
    int r = outbound_route(c, &dst, "connect", &target, &route);
    if (r < 0) {
        errno = -r;
        return -1;
    }
    if (route.action == ROUTE_DIRECT)
        return target.is_name ? connect_direct_by_name(fd, &target, &route) : libc()->connect(fd, addr, len);
    int flags = libc()->fcntl(fd, F_GETFL);
    /* An event loop must not wait for the handshake: it runs in the background. */
    if (flags >= 0 && (flags & O_NONBLOCK)) {
        r = engine_connect(fd, c, route.chain, &target, &dst, outbound_describe(&target, &dst, text, sizeof(text)), &start);
        if (r <= 0)
            return r;
    }
    struct tunnel t;
    r = tunnel_open(fd, c, route.chain, &target, &t);
    outbound_log_result(c, outbound_describe(&target, &dst, text, sizeof(text)), route.chain, &t, -r, &start);
    if (r < 0) {
        /* The socket may be connected to the proxy: make sure no byte of the program's can
         * reach the proxy as if it were the target. */
        libc()->shutdown(fd, SHUT_RDWR);
        errno = -r;
        return -1;
    }
    tunnels_add(fd, &dst);
    return 0;
}
