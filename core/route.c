#include "route.h"

#include <fnmatch.h>
#include <string.h>
#include <strings.h>

/* The proxies must be reachable directly, or nothing could ever connect to them. */
static bool is_a_proxy(const struct config *c, const union sockaddr_any *dst)
{
    for (size_t i = 0; i < c->proxy_count; i++) {
        const struct proxy *p = &c->proxies[i];
        if (!p->has_addr)
            continue;
        union sockaddr_any mapped = p->addr;
        addr_to_v4mapped(&mapped);
        if (addr_equal(&p->addr, dst) || addr_equal(&mapped, dst))
            return true;
    }
    return false;
}

static bool port_match(const struct rule *r, uint16_t port)
{
    if (r->port_count == 0)
        return true;
    for (size_t i = 0; i < r->port_count; i++)
        if (port >= r->ports[i].lo && port <= r->ports[i].hi)
            return true;
    return false;
}

static bool glob_match(const struct rule *r, const char *name, size_t name_len)
{
    switch (r->glob_kind) {
    case GLOB_EXACT: return strcasecmp(r->glob, name) == 0;
    case GLOB_SUFFIX: {
        /* "*.corp.example": the same as fnmatch would say, without its cost. */
        size_t suffix_len = strlen(r->glob + 1);
        return name_len >= suffix_len && strcasecmp(name + name_len - suffix_len, r->glob + 1) == 0;
    }
    default: return fnmatch(r->glob, name, FNM_CASEFOLD) == 0;
    }
}

static bool match(const struct rule *r, const union sockaddr_any *dst, uint16_t port, const char *name, size_t name_len)
{
    if (!port_match(r, port))
        return false;
    /* A fake address stands for its name: address ranges do not apply to it. */
    if (r->has_cidr && (name || !cidr_match(&r->cidr, dst)))
        return false;
    if (r->glob && (!name || !glob_match(r, name, name_len)))
        return false;
    return true;
}

bool rule_match(const struct rule *r, const union sockaddr_any *dst, const char *name)
{
    return match(r, dst, addr_port(dst), name, name ? strlen(name) : 0);
}

struct route route_decide(const struct config *c, const union sockaddr_any *dst, const char *name)
{
    if (!name && is_a_proxy(c, dst))
        return (struct route){ .action = ROUTE_DIRECT, .reason = "the proxy itself", .to_proxy = true };
    /* 0.0.0.0 and :: reach this host too: a proxy would take them for its own. */
    if (!name && c->direct_loopback && addr_is_this_host(dst))
        return (struct route){ .action = ROUTE_DIRECT, .reason = "loopback" };
    uint16_t port = addr_port(dst);
    size_t name_len = name ? strlen(name) : 0;
    for (size_t i = 0; i < c->rule_count; i++) {
        const struct rule *r = &c->rules[i];
        if (match(r, dst, port, name, name_len))
            return (struct route){ .action = r->action,
                                   .chain = r->action == ROUTE_VIA ? &c->chains[r->chain] : NULL,
                                   .rule = r,
                                   .reason = "route" };
    }
    const struct chain *ch = config_default_chain(c);
    if (ch)
        return (struct route){ .action = ROUTE_VIA, .chain = ch, .reason = "default" };
    return (struct route){ .action = ROUTE_REJECT, .reason = "no route matched and no default proxy" };
}
