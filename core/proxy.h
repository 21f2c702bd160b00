/* A proxy as the user names it: a URL in the curl convention, e.g. socks5h://user:pw@[fd00::1]:1080,
 * socks4a://userid@host:1080 or http://user:pw@host:3128. */
#ifndef SOCKSIFY_PROXY_H
#define SOCKSIFY_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

enum proxy_kind { PROXY_SOCKS5, PROXY_SOCKS4, PROXY_HTTP };

/* SOCKS5 authentication methods a URL's auth= option may list (a set of bits). */
enum proxy_auth { PROXY_AUTH_NONE = 1, PROXY_AUTH_USERPASS = 2, PROXY_AUTH_GSSAPI = 4 };

#define PROXY_DEFAULT_PORT 1080
#define PROXY_HOST_MAX 255
#define PROXY_CRED_MAX 255
#define PROXY_NAME_MAX 63
/* Longest GSSAPI service principal (principal= in the URL). */
#define PROXY_PRINCIPAL_MAX 511
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
    unsigned auth;                   /* SOCKS5 methods to offer (PROXY_AUTH_*) from ?auth=; 0: the default
                                        (no auth, and username/password when the URL has credentials) */
    char principal[PROXY_PRINCIPAL_MAX + 1]; /* GSSAPI service principal (?principal=); empty: rcmd/HOST */
    bool has_addr;                   /* addr is valid: host was numeric, or has been resolved */
    union sockaddr_any addr;
};

/* Parses url into *out. Returns 0, or -EINVAL with a message saying what is wrong in err; the
 * message never holds the password, even of a malformed URL. */
int proxy_url_parse(const char *url, struct proxy *out, char *err, size_t errsize);
/* The Kerberos principal p is authenticated against with GSSAPI: its principal= or "rcmd/HOST". */
char *proxy_gssapi_principal(const struct proxy *p, char *buf, size_t size);
/* The SOCKS5 methods p offers, in the order offered (PROXY_AUTH_* bits in *methods, at most 3). */
size_t proxy_auth_methods(const struct proxy *p, unsigned methods[3]);
/* Says which authentication p will be asked for, for --explain ("GSSAPI (principal rcmd/h)", ...). */
char *proxy_auth_describe(const struct proxy *p, char *buf, size_t size);
/* The URL scheme of p's kind: "socks5h", "socks4", "http", ... */
const char *proxy_scheme(const struct proxy *p);
/* Whether p can be asked for a name rather than an address (socks5h/socks5, socks4a, http). */
bool proxy_carries_names(const struct proxy *p);
/* Writes the URL back for logs, never with the password ("socks5://user@host:port"); returns buf. */
char *proxy_format(const struct proxy *p, char *buf, size_t size);
/* Copies text that may be a (malformed) proxy URL into buf with the password, the userinfo after
 * its first ':' up to the last '@', replaced by "***" ("alice:***@host:1080"); returns buf. */
char *proxy_url_redact(const char *url, char *buf, size_t size);

struct addrinfo;
/* getaddrinfo, or the real one behind the library's hook. */
typedef int (*proxy_getaddrinfo_fn)(const char *, const char *, const struct addrinfo *, struct addrinfo **);
/* Gives p, named by a host name, the address resolve finds for it (locally: the proxy is not a
 * destination); 0, also when p had an address already, or resolve's EAI_* error code. */
int proxy_resolve(struct proxy *p, proxy_getaddrinfo_fn resolve);
/* The same for every word (between blanks and quotes) of a message; returns buf. */
char *proxy_text_redact(const char *text, char *buf, size_t size);

#endif
