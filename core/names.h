/* Which host names stay with the local resolver even when names are meant for the proxy. */
#ifndef SOCKSIFY_NAMES_H
#define SOCKSIFY_NAMES_H

#include <stdbool.h>

/* True if name must be resolved locally: a numeric address (any form inet_aton or inet_pton
 * accepts), "localhost" and names under ".localhost", or a name listed in hosts_text (the
 * contents of /etc/hosts; NULL for none). Names compare case-insensitively, trailing dot ignored. */
bool names_resolve_locally(const char *name, const char *hosts_text);

#endif
