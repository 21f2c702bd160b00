/* A proxy as the user names it: a URL in the curl convention, e.g. socks5h://user:pw@[fd00::1]:1080,
 * socks4a://userid@host:1080 or http://user:pw@host:3128. */
#ifndef SOCKSIFY_PROXY_H
#define SOCKSIFY_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

enum proxy_kind { PROXY_SOCKS5, PROXY_SOCKS4, PROXY_HTTP };

#define PROXY_DEFAULT_PORT 1080
#define PROXY_HOST_MAX 255
#define PROXY_CRED_MAX 255
#define PROXY_NAME_MAX 63
/* Most proxies one connection can go through. */
#define PROXY_CHAIN_MAX 16

struct proxy {
    char name[PROXY_NAME_MAX + 1];   /* how the config names it ("default" if unnamed) */
    enum proxy_kind kind;
    bool remote_dns;                 /* socks5h, socks4a, http: names are resolved by the proxy */
    char host[PROXY_HOST_MAX + 1];   /* as written, without IPv6 brackets */
    uint16_t port;
    bool has_auth;
    char user[PROXY_CRED_MAX + 1];
    char pass[PROXY_CRED_MAX + 1];
    bool pipeline;                   /* SOCKS5: send greeting, auth and request at once (socks5_pipelining) */
    bool has_addr;                   /* addr is valid: host was numeric, or has been resolved */
    union sockaddr_any addr;
};

/* Parses url into *out. Returns 0, or -EINVAL with a message saying what is wrong in err; the
 * message never holds the password, even of a malformed URL. */
int proxy_url_parse(const char *url, struct proxy *out, char *err, size_t errsize);
/* The URL scheme of p's kind: "socks5h", "socks4", "http", ... */
const char *proxy_scheme(const struct proxy *p);
/* Whether p can be asked for a name rather than an address (socks5h/socks5, socks4a, http). */
bool proxy_carries_names(const struct proxy *p);
/* Writes the URL back for logs, never with the password ("socks5://user@host:port"); returns buf. */
char *proxy_format(const struct proxy *p, char *buf, size_t size);
/* Copies text that may be a (malformed) proxy URL into buf with the password, the userinfo after
 * its first ':' up to the last '@', replaced by "***" ("alice:***@host:1080"); returns buf. */
char *proxy_url_redact(const char *url, char *buf, size_t size);
/* The same for every word (between blanks and quotes) of a message; returns buf. */
char *proxy_text_redact(const char *text, char *buf, size_t size);

#endif
