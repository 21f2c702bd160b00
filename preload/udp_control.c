#include "udp_control.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "outbound.h"
#include "libc.h"
#include "descriptor.h"
#include "tunnel.h"

/* The port fd sends from, binding it first to the wildcard address if it is not bound yet
 * (as its first sendto would); 0 on failure. */
static uint16_t bound_port(int fd, int family)
{
    union sockaddr_any local;
    socklen_t len = sizeof(local);
    if (libc()->getsockname(fd, &local.sa, &len) < 0)
        return 0;
    if (addr_port(&local) == 0) {
        memset(&local, 0, sizeof(local));
        local.sa.sa_family = (sa_family_t)family;
        if (libc()->bind(fd, &local.sa, family == AF_INET6 ? sizeof(local.in6) : sizeof(local.in4)) < 0)
            return 0;
        len = sizeof(local);
        if (libc()->getsockname(fd, &local.sa, &len) < 0)
            return 0;
    }
    return addr_port(&local);
}

/* Where datagrams go: the relay the last proxy named (socks5_udp_relay), in the socket's
 * family. 0 or -errno. */
static int relay_address(const struct tunnel *t, int family, union sockaddr_any *relay)
{
    const struct proxy *last = &t->config->proxies[t->picked[t->hop_count - 1]];
    int r = socks5_udp_relay(&t->handshake.reply.bound, last->has_addr ? &last->addr : NULL, relay);
    return r < 0 ? r : addr_fit_family(relay, family);
}

/* The family of the address a UDP ASSOCIATE request names for fd (socks5_udp_request_family). */
static int request_family(int fd, int family, const struct config *c, const struct chain *ch)
{
    const struct proxy *last = ch->hop_count ? &c->proxies[ch->hops[ch->hop_count - 1]] : NULL;
    bool v6only = family == AF_INET6 && socket_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, 0) > 0;
    return socks5_udp_request_family(family, v6only, last && last->has_addr ? last->addr.sa.sa_family : AF_UNSPEC);
}

int udp_control_make(struct udp_control *m, int fd, const struct config *c, const struct chain *ch, const char *first_dst)
{
    m->family = socket_int(fd, SOL_SOCKET, SO_DOMAIN, -1);
    if (m->family < 0)
        return -errno;
    /* The proxy is told which port our datagrams come from; the address is left to it (it sees
     * the control connection's, which behind a chain is not ours). */
    struct socks_target from = { .port = bound_port(fd, m->family) };
    if (from.port == 0)
        return -errno;
    from.addr.sa.sa_family = (sa_family_t)request_family(fd, m->family, c, ch);
    m->ctl = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (m->ctl < 0)
        return -errno;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    struct tunnel t;
    int r = tunnel_open_command(m->ctl, c, ch, &from, SOCKS5_CMD_UDP_ASSOCIATE, &t);
    tunnel_log_result(c, first_dst, ch, &t, -r, &start);
    if (r == 0 && (r = relay_address(&t, m->family, &m->relay)) < 0)
        log_msg(LOG_ERROR, "UDP association for %s: unusable relay address from the proxy: %s", first_dst, strerror(-r));
    if (r == 0 && !file_id_of(m->ctl, &m->ctl_id))
        r = -errno;
    if (r < 0) {
        libc()->close(m->ctl);
        return r;
    }
    m->max_datagram = t.handshake.reply.bound.addr.sa.sa_family == AF_INET6 ? UDP6_MAX : UDP4_MAX;
    char url[PROXY_HOST_MAX + PROXY_CRED_MAX + 32];
    snprintf(m->via, sizeof(m->via), "%s", proxy_format(&c->proxies[t.picked[t.hop_count - 1]], url, sizeof(url)));
    return 0;
}
