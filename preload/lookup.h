/* The decision every name-lookup hook shares: libc answers, or a fake address does. */
#ifndef SOCKSIFY_LOOKUP_H
#define SOCKSIFY_LOOKUP_H

#include "addr.h"

enum lookup_verdict {
    LOOKUP_REAL,      /* the real libc function answers */
    LOOKUP_FAKE,      /* the proxy will resolve it: answer with a fake address */
    LOOKUP_REFUSED,   /* names are off (or socksify is unusable): fail without any lookup */
};

/* Decides for a lookup of name (NULL: no name). Logs refusals. */
enum lookup_verdict lookup_decide(const char *name);
/* The fake address of name in family (AF_INET or AF_INET6). Returns 0 or -errno. */
int lookup_fake_address(const char *name, int family, union sockaddr_any *out);
/* If addr is a fake address, copies its name (FAKEDNS_NAME_MAX + 1 bytes) and returns 1; returns
 * 0 for any other address, -ENOENT for a fake address that is not mapped. */
int lookup_reverse(const union sockaddr_any *addr, char *name);

#endif
