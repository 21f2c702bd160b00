/* The decision every name-lookup hook shares: libc answers, socksify answers locally, or a fake
 * address does. The rules are core/names.c's; this adds the process's context (configuration,
 * /etc/hosts as read at load, the fake-address map). */
#ifndef SOCKSIFY_LOOKUP_H
#define SOCKSIFY_LOOKUP_H

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"
#include "names.h"

enum lookup_verdict {
    LOOKUP_REAL,      /* the real libc function answers (no name, a numeric address, dns local) */
    LOOKUP_LOCAL,     /* names are remote, but this one is local: socksify answers (lookup_local_answer) */
    LOOKUP_FAKE,      /* the proxy will resolve it: answer with a fake address */
    LOOKUP_REFUSED,   /* names are off (or socksify is unusable): fail without any lookup */
};

/* Decides for a lookup of name (NULL: no name). Logs refusals. */
enum lookup_verdict lookup_decide(const char *name);
/* True while names are remote or off: then no lookup may reach a resolver that asks DNS servers
 * (false during the library's own configuration load, and with dns local). */
bool lookup_names_remote(void);
/* True if the program may send DNS queries itself (res_query, res_send, ...): dns local, direct_dns
 * yes, or the library's own configuration load. */
bool lookup_resolver_allowed(void);
/* The local answer for name in family (names_local_answer on the hosts read at load). Returns the
 * count of addresses (0: none in family) or -ENOENT. */
int lookup_local_answer(const char *name, int family, struct names_answer *out);
/* The first name /etc/hosts (as read at load) lists for the address of addr (an IPv4-mapped address
 * counts as its IPv4 address). Returns 0 with the name in name (size bytes), or -ENOENT/-ERANGE. */
int lookup_hosts_reverse(const union sockaddr_any *addr, char *name, size_t size);
/* The fake address of name in family (AF_INET or AF_INET6). Returns 0 or -errno. */
int lookup_fake_address(const char *name, int family, union sockaddr_any *out);
/* If addr is a fake address, copies its name (FAKEDNS_NAME_MAX + 1 bytes) and returns 1; returns
 * 0 for any other address, -ENOENT for a fake address that is not mapped. */
int lookup_reverse(const union sockaddr_any *addr, char *name);

#endif
