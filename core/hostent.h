/* Builds the struct hostent answers of gethostbyname*() and gethostbyaddr*() for one name and
 * its addresses, inside a caller buffer, as the reentrant *_r functions require. */
#ifndef SOCKSIFY_HOSTENT_H
#define SOCKSIFY_HOSTENT_H

#include <netdb.h>
#include <stddef.h>

/* Fills he with name, no aliases and the single address addr of family (AF_INET or AF_INET6),
 * storing everything it points to in buf. Returns 0, or ERANGE if buflen is too small. */
int hostent_fill(struct hostent *he, const char *name, int family, const void *addr, char *buf, size_t buflen);
/* The same with count addresses (count >= 1), packed one after the other in addrs (4 or 16 bytes each). */
int hostent_fill_many(struct hostent *he, const char *name, int family, const void *addrs, size_t count, char *buf,
                      size_t buflen);

#endif
