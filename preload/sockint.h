/* Reading one integer socket option (family, type, protocol, IPV6_V6ONLY, ...) straight from libc. */
#ifndef SOCKSIFY_SOCKINT_H
#define SOCKSIFY_SOCKINT_H

/* fd's option name at level; fallback (errno set) if it cannot be read. */
int socket_int(int fd, int level, int name, int fallback);

#endif
