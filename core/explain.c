#include "explain.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "bind_rule.h"
#include "chain.h"
#include "socks5.h"
#include "names.h"
#include "route.h"

/* Appends to a bounded buffer; keeps it NUL-terminated whatever happens. */
struct text {
    char *buf;
    size_t size, used;
};

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct text *t, const char *fmt, ...)
{
    if (t->used + 1 >= t->size)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->buf + t->used, t->size - t->used, fmt, ap);
    va_end(ap);
    if (n > 0)
        t->used += (size_t)n < t->size - t->used ? (size_t)n : t->size - t->used - 1;
}

static void put_cidr(struct text *t, const struct cidr *c)
{
    char a[INET6_ADDRSTRLEN];
    inet_ntop(c->family, c->addr, a, sizeof(a));
    put(t, " %s/%u", a, c->prefix);
}

char *rule_format(const struct config *c, const struct rule *r, char *buf, size_t size)
{
    struct text t = { buf, size, 0 };
    buf[0] = '\0';
    put(&t, "route");
    if (r->has_cidr)
        put_cidr(&t, &r->cidr);
    if (r->glob)
        put(&t, " %s", r->glob);
    for (size_t i = 0; i < r->port_count; i++) {
        put(&t, "%s%u", i ? "," : " port ", r->ports[i].lo);
        if (r->ports[i].hi != r->ports[i].lo)
            put(&t, "-%u", r->ports[i].hi);
    }
    if (!r->has_cidr && !r->glob && !r->port_count)
        put(&t, " *");
    if (r->action == ROUTE_VIA)
        put(&t, " via %s", c->chains[r->chain].name);
    else
        put(&t, " %s", r->action == ROUTE_DIRECT ? "direct" : "reject");
    return buf;
}

char *chain_format(const struct config *c, const struct chain *ch, char *buf, size_t size)
{
    struct text t = { buf, size, 0 };
    buf[0] = '\0';
    if (ch->hop_count == 1 && ch->mode == CHAIN_STRICT)
        put(&t, "proxy %s: ", ch->name);
    else if (ch->mode == CHAIN_RANDOM || ch->mode == CHAIN_ROUND_ROBIN)
        put(&t, "chain %s (%s, %zu of these per connection): ", ch->name, chain_mode_name(ch->mode), ch->length);
    else
        put(&t, "chain %s (%s): ", ch->name, chain_mode_name(ch->mode));
    for (size_t i = 0; i < ch->hop_count; i++) {
        char url[PROXY_HOST_MAX + PROXY_CRED_MAX + 32];
        put(&t, "%s%s", i ? " -> " : "", proxy_format(&c->proxies[ch->hops[i]], url, sizeof(url)));
    }
    return buf;
}

/* Splits "host", "host:port", "[v6]:port" or a bare IPv6 address into host and port (80 if none). */
static int parse_dest(const char *dest, char *host, size_t hsize, uint16_t *port)
{
    struct addr_hostport parts;
    if (addr_split_hostport(dest, &parts) < 0)
        return -EINVAL;
    *port = 80;
    if (parts.port && addr_parse_port(parts.port, port) < 0)
        return -EINVAL;
    if (parts.host_len == 0 || parts.host_len >= hsize)
        return -EINVAL;
    memcpy(host, parts.host, parts.host_len);
    host[parts.host_len] = '\0';
    return 0;
}

static void put_route(struct text *t, const struct config *c, const struct route *r)
{
    char rule[RULE_GLOB_MAX + PROXY_NAME_MAX + 128];
    if (r->rule)
        put(t, "route:       %s:%d: %s\n", c->source[0] ? c->source : "(config)", r->rule->line,
            rule_format(c, r->rule, rule, sizeof(rule)));
    else if (r->action == ROUTE_VIA)
        put(t, "route:       no route matched: the default\n");
    else
        put(t, "route:       built in: %s\n", r->reason);
}

static void put_action(struct text *t, const struct config *c, const struct route *r, const char *what)
{
    char chain[PROXY_CHAIN_MAX * (PROXY_HOST_MAX + 40)];
    switch (r->action) {
    case ROUTE_DIRECT:
        put(t, "action:      direct: connect() goes straight to %s, not through a proxy\n", what);
        break;
    case ROUTE_REJECT:
        put(t, "action:      reject: connect() fails with ECONNREFUSED (\"Connection refused\")\n");
        break;
    case ROUTE_VIA:
        put(t, "action:      via %s, which connects to %s\n", chain_format(c, r->chain, chain, sizeof(chain)), what);
        break;
    }
}

/* Which authentication each SOCKS5 proxy of the chain will be asked for. */
static void put_auth(struct text *t, const struct config *c, const struct route *r)
{
    if (r->action != ROUTE_VIA)
        return;
    const struct chain *ch = r->chain;
    for (size_t i = 0; i < ch->hop_count; i++) {
        const struct proxy *p = &c->proxies[ch->hops[i]];
        if (p->kind != PROXY_SOCKS5)
            continue;
        char url[PROXY_HOST_MAX + PROXY_CRED_MAX + 32], auth[PROXY_PRINCIPAL_MAX + 160];
        put(t, "auth:        %s is offered %s\n", proxy_format(p, url, sizeof(url)),
            proxy_auth_describe(p, auth, sizeof(auth)));
    }
}

/* What UDP to the destination would do: only a SOCKS5 last hop can be asked for UDP ASSOCIATE. */
static void put_udp(struct text *t, const struct config *c, const struct route *r)
{
    if (r->action != ROUTE_VIA)
        return;
    switch (chain_socks5_end(c, r->chain)) {
    case CHAIN_SOCKS5_END_ALWAYS:
        put(t, "udp:         datagrams go through an association with the last proxy (if it allows UDP ASSOCIATE)\n");
        break;
    case CHAIN_SOCKS5_END_NEVER:
        put(t, "udp:         none: only a SOCKS5 last proxy carries UDP; datagrams fail with EOPNOTSUPP\n");
        break;
    default:
        put(t, "udp:         only when the chain ends with one of its SOCKS5 proxies; otherwise datagrams fail "
               "with EOPNOTSUPP\n");
    }
}

/* What a listener of the program does while its latest proxied connection goes here (bind_rule.h). */
static void put_bind(struct text *t, const struct config *c, const struct route *r)
{
    if (r->action != ROUTE_VIA)
        return;
    if (!c->bind_auto)
        put(t, "bind:        none (bind no): listeners stay local\n");
    else if (bind_rule_chain_binds(c, r->chain))
        put(t, "bind:        while this connection is open, a TCP listener bound to port 0 of a non-loopback address "
               "goes through the last proxy with BIND (accept within %d ms of listen)\n", c->bind_timeout_ms);
    else
        put(t, "bind:        none: only a SOCKS5 last proxy can BIND; listeners stay local\n");
}

int explain(const struct config *c, const char *dest, const char *hosts, char *out, size_t size)
{
    struct text t = { out, size, 0 };
    out[0] = '\0';
    char host[SOCKS5_NAME_MAX + 1];
    uint16_t port;
    if (parse_dest(dest, host, sizeof(host), &port) < 0) {
        put(&t, "cannot explain '%s': expected HOST, HOST:PORT, an address, or [IPv6]:PORT", dest);
        return -EINVAL;
    }
    union sockaddr_any addr = { 0 };
    bool numeric = inet_pton(AF_INET, host, &addr.in4.sin_addr) == 1;
    if (numeric) {
        addr.in4.sin_family = AF_INET;
        addr.in4.sin_port = htons(port);
    } else if (inet_pton(AF_INET6, host, &addr.in6.sin6_addr) == 1) {
        numeric = true;
        addr.in6.sin6_family = AF_INET6;
        addr.in6.sin6_port = htons(port);
    }
    put(&t, "config:      %s\n", c->source[0] ? c->source : "(none: from the environment)");
    char what[SOCKS5_NAME_MAX + 16];
    snprintf(what, sizeof(what), numeric && strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, port);
    if (!numeric) {
        if (config_dns_mode(c) == DNS_OFF && !names_resolve_locally(host, hosts ? hosts : "")) {
            put(&t, "destination: %s (a name, but dns off: the program's lookup fails, so it never connects)\n", what);
            return 0;
        }
        if (config_dns_mode(c) != DNS_REMOTE || names_resolve_locally(host, hosts ? hosts : "")) {
            put(&t, "destination: %s (a name the program resolves locally: %s); the connection then goes to "
                "an address, and address rules decide; name rules do not apply. Give an address to see which.\n",
                what, config_dns_mode(c) == DNS_REMOTE ? "it is localhost or in /etc/hosts" : "dns local");
            return 0;
        }
        put(&t, "destination: %s (a name; dns remote: the program gets a fake address and the proxy resolves the name)\n", what);
        addr.in4.sin_family = AF_INET;
        addr.in4.sin_port = htons(port);
    } else {
        put(&t, "destination: %s (an address)\n", what);
    }
    struct route r = route_decide(c, &addr, numeric ? NULL : host);
    put_route(&t, c, &r);
    put_action(&t, c, &r, what);
    put_auth(&t, c, &r);
    put_udp(&t, c, &r);
    put_bind(&t, c, &r);
    return 0;
}
