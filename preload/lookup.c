#include "lookup.h"

#include <errno.h>
#include <string.h>

#include "context.h"
#include "shared.h"
#include "names.h"

/* The effective DNS mode; without a configuration it is unknown who may see a name: nobody does. */
static enum dns_mode current_mode(void)
{
    const struct config *c = context_config();
    return c ? config_dns_mode(c) : DNS_OFF;
}

enum lookup_verdict lookup_decide(const char *name)
{
    if (context_loading())
        return LOOKUP_REAL;
    enum dns_mode mode = current_mode();
    switch (names_decide(name, mode, context_hosts())) {
    case NAMES_LIBC: return LOOKUP_REAL;
    case NAMES_LOCAL: return LOOKUP_LOCAL;
    case NAMES_REMOTE:
        if (shared_names())
            return LOOKUP_FAKE;
        break;
    case NAMES_REFUSED: break;
    }
    log_msg(LOG_ERROR, "lookup of %.255s refused: %s", name, mode == DNS_OFF ? "dns off" : "no fake-address map");
    return LOOKUP_REFUSED;
}

bool lookup_names_remote(void)
{
    return !context_loading() && current_mode() != DNS_LOCAL;
}

bool lookup_resolver_allowed(void)
{
    return context_loading() || names_resolver_allowed(context_config());
}

int lookup_local_answer(const char *name, int family, struct names_answer *out)
{
    return names_local_answer(name, family, context_hosts(), out);
}

int lookup_hosts_reverse(const union sockaddr_any *addr, char *name, size_t size)
{
    union sockaddr_any a = *addr;
    addr_from_v4mapped(&a);
    if (a.sa.sa_family == AF_INET)
        return names_hosts_name_for(context_hosts(), AF_INET, &a.in4.sin_addr, name, size);
    if (a.sa.sa_family == AF_INET6)
        return names_hosts_name_for(context_hosts(), AF_INET6, &a.in6.sin6_addr, name, size);
    return -ENOENT;
}

int lookup_fake_address(const char *name, int family, union sockaddr_any *out)
{
    struct fakedns *map = shared_names();
    if (!map)
        return -ENOENT;
    int r = fakedns_address_for(map, name, family, out);
    if (r == 0 && log_enabled(LOG_DEBUG)) {
        char text[ADDR_TEXT_MAX];
        log_msg(LOG_DEBUG, "lookup %.255s: %s, to be resolved by the proxy", name, addr_format(out, text, sizeof(text)));
    }
    return r;
}

int lookup_reverse(const union sockaddr_any *addr, char *name)
{
    struct fakedns *map = shared_names();
    if (!map || !fakedns_is_fake(map, addr))
        return 0;
    return fakedns_name_for(map, addr, name) == 0 ? 1 : -ENOENT;
}
