/* A proxy as the user names it: a URL in the curl convention, e.g. socks5h://user:pw@[fd00::1]:1080. */
#ifndef SOCKSIFY_PROXY_H
#define SOCKSIFY_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

enum proxy_kind { PROXY_SOCKS5 };

#define PROXY_DEFAULT_PORT 1080
#define PROXY_HOST_MAX 255
#define PROXY_CRED_MAX 255

struct proxy {
    enum proxy_kind kind;
    bool remote_dns;                 /* socks5h: names are resolved by the proxy */
    char host[PROXY_HOST_MAX + 1];   /* as written, without IPv6 brackets */
    uint16_t port;
    bool has_auth;
    char user[PROXY_CRED_MAX + 1];
    char pass[PROXY_CRED_MAX + 1];
    bool has_addr;                   /* addr is valid: host was numeric, or has been resolved */
    union sockaddr_any addr;
};

/* Parses url into *out. Returns 0, or -EINVAL with a message saying what is wrong in err. */
int proxy_url_parse(const char *url, struct proxy *out, char *err, size_t errsize);
/* Writes the URL back for logs, never with the password ("socks5://user@host:port"); returns buf. */
char *proxy_format(const struct proxy *p, char *buf, size_t size);

#endif
