/* Address ranges in CIDR notation (10.0.0.0/8, fd00::/8); a bare address is a /32 or /128. */
#ifndef SOCKSIFY_CIDR_H
#define SOCKSIFY_CIDR_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"

struct cidr {
    int family;          /* AF_INET or AF_INET6 */
    uint8_t addr[16];    /* network bytes; host bits are zeroed */
    unsigned prefix;
};

/* Parses text into *out. Returns 0, or -EINVAL if it is not an address with an optional /prefix in range. */
int cidr_parse(const char *text, struct cidr *out);
/* True if a's address lies in c; an IPv4-mapped IPv6 address also matches IPv4 ranges. */
bool cidr_match(const struct cidr *c, const union sockaddr_any *a);

#endif
