/* `socksify --explain HOST[:PORT]`: what would happen to a connection, in words, without making it. */
#ifndef SOCKSIFY_EXPLAIN_H
#define SOCKSIFY_EXPLAIN_H

#include <stddef.h>

#include "config.h"

/* Writes into out (NUL-terminated, truncated to size) which route a connection to dest
 * ("host", "host:port", "1.2.3.4:80", "[::1]:443"; port 80 if none) takes under c and what
 * happens then. hosts is the /etc/hosts text (names there stay local), may be NULL. Returns 0,
 * or -EINVAL with the reason in out if dest cannot be parsed. Never writes a password. */
int explain(const struct config *c, const char *dest, const char *hosts, char *out, size_t size);
/* Writes a rule back the way socksify.conf would say it ("route *.corp.example port 443 via corp"). */
char *rule_format(const struct config *c, const struct rule *r, char *buf, size_t size);
/* Writes what a chain does: "chain out (dynamic): socks5://a:1080 -> http://b:3128". */
char *chain_format(const struct config *c, const struct chain *ch, char *buf, size_t size);

#endif
