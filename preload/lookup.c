#include "lookup.h"

#include <errno.h>
#include <string.h>

#include "context.h"
#include "fakemap.h"
#include "names.h"

enum lookup_verdict lookup_decide(const char *name)
{
    if (context_loading() || names_resolve_locally(name, context_hosts()))
        return LOOKUP_REAL;
    const struct config *c = context_config();
    /* Without a configuration it is unknown who may see the name: nobody does. */
    enum dns_mode mode = c ? config_dns_mode(c) : DNS_OFF;
    if (mode == DNS_LOCAL)
        return LOOKUP_REAL;
    if (mode == DNS_REMOTE && fakemap())
        return LOOKUP_FAKE;
    log_msg(LOG_ERROR, "lookup of %.255s refused: %s", name, mode == DNS_OFF ? "dns off" : "no fake-address map");
    return LOOKUP_REFUSED;
}

int lookup_fake_address(const char *name, int family, union sockaddr_any *out)
{
    struct fakedns *map = fakemap();
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
    struct fakedns *map = fakemap();
    if (!map || !fakedns_is_fake(map, addr))
        return 0;
    return fakedns_name_for(map, addr, name) == 0 ? 1 : -ENOENT;
}
