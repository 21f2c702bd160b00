/* getaddrinfo's answer as the hook gives it, for other hooks that answer lookups (getaddrinfo_a). */
#ifndef SOCKSIFY_RESOLVE_H
#define SOCKSIFY_RESOLVE_H

#include <netdb.h>

/* getaddrinfo(node, service, hints, res) as socksify answers it: libc, a local answer, a fake
 * address or a refusal (lookup_decide). Returns 0 or an EAI_ code, as getaddrinfo does. */
int resolve_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res);

#endif
