/* Which host names stay with the local resolver even when names are meant for the proxy, and the
 * answers socksify gives itself for them while names are remote, without asking any DNS server. */
#ifndef SOCKSIFY_NAMES_H
#define SOCKSIFY_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* True if name must be resolved locally: a numeric address (any form inet_aton or inet_pton
 * accepts), "localhost" and names under ".localhost", or a name listed in hosts_text (the
 * contents of /etc/hosts; NULL for none). Names compare case-insensitively, trailing dot ignored. */
bool names_resolve_locally(const char *name, const char *hosts_text);

/* What a forward lookup gets. */
enum names_verdict {
    NAMES_LIBC,     /* libc answers: no name (NULL), a numeric address, or dns local */
    NAMES_LOCAL,    /* socksify answers from hosts_text, or loopback for localhost (names_local_answer) */
    NAMES_REMOTE,   /* the proxy resolves it: a fake address */
    NAMES_REFUSED,  /* dns off and not a local name: fails, nobody resolves it */
};

/* The verdict for a lookup of name under mode (DNS_REMOTE, DNS_LOCAL or DNS_OFF). While names are
 * remote (remote or off) nothing but a numeric address reaches libc, whose resolver would ask
 * DNS for a name hosts_text lacks in the wanted family, for "localhost." or "foo.localhost". */
enum names_verdict names_decide(const char *name, enum dns_mode mode, const char *hosts_text);

/* True if the program may talk to DNS servers itself (res_query, res_send, ...): dns local, or
 * direct_dns yes. c NULL (no configuration): false. */
bool names_resolver_allowed(const struct config *c);

/* Addresses answered for one name: more than NAMES_ADDRS_MAX in hosts_text are ignored. */
#define NAMES_ADDRS_MAX 16
#define NAMES_NAME_MAX 255

struct names_address {
    int family;                  /* AF_INET or AF_INET6 */
    unsigned char bytes[16];     /* 4 or 16 bytes, network order */
};

struct names_answer {
    char canon[NAMES_NAME_MAX + 1];   /* the official name: first name of the first line used, or the name */
    size_t count;
    struct names_address addrs[NAMES_ADDRS_MAX];
};

/* Answers name for family (AF_INET, AF_INET6, or AF_UNSPEC for both, IPv6 loopback first as
 * glibc's RFC 6724 sort puts it) from hosts_text: its addresses of that family in file order; if
 * it has none and it is localhost or *.localhost, the loopback address (RFC 6761). Returns the
 * count (0: no address in family: "no such name"), or -ENOENT if the name is not local at all. */
int names_local_answer(const char *name, int family, const char *hosts_text, struct names_answer *out);

/* Reverse lookup in hosts_text: copies the first name listed for addr (4 bytes for AF_INET, 16
 * for AF_INET6) into name (size bytes). Returns 0, -ENOENT if not listed, -ERANGE if too long. */
int names_hosts_name_for(const char *hosts_text, int family, const void *addr, char *name, size_t size);

#endif
