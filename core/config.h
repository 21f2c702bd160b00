/* socksify.conf: a small line-oriented language, one "key value..." per line, '#' starts a comment.
 * The shipped socksify.conf documents every key. Parsing is pure (text in, struct out); errors
 * come back as "file:line: what was expected" for the caller to show. */
#ifndef SOCKSIFY_CONFIG_H
#define SOCKSIFY_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "cidr.h"
#include "log.h"
#include "proxy.h"

#define CONFIG_DEFAULT_CONNECT_TIMEOUT_MS 10000
#define CONFIG_DEFAULT_FAKE_RANGE "198.18.0.0/15"
#define CONFIG_DEFAULT_FAKE_RANGE6 "fd53:6f63:6b73::/96"

/* Who resolves host names. */
enum dns_mode {
    DNS_DEFAULT,   /* not set: remote for socks5h proxies, local otherwise (see config_dns_mode) */
    DNS_REMOTE,    /* the proxy: programs get fake addresses, connect() sends the name */
    DNS_LOCAL,     /* the local resolver, as without socksify */
    DNS_OFF,       /* nobody: lookups of names that are not local fail */
};
#define CONFIG_DEFAULT_HANDSHAKE_TIMEOUT_MS 10000

struct config {
    bool has_proxy;
    struct proxy proxy;
    int connect_timeout_ms;      /* TCP connect to the proxy */
    int handshake_timeout_ms;    /* the whole SOCKS exchange after that */
    enum log_level log_level;
    char log_file[PATH_MAX];     /* empty: stderr */
    struct cidr *direct;         /* destinations that bypass the proxy */
    size_t direct_count, direct_capacity;
    bool direct_loopback;
    enum dns_mode dns;
    struct cidr fake_range;      /* where fake IPv4 addresses come from */
    struct cidr fake_range6;     /* and their IPv6 counterparts */
    bool direct_dns;             /* allow port-53 traffic that bypasses the proxy while names are remote */
    char source[PATH_MAX];       /* the file that was read, empty if none */
    char warning[PATH_MAX + 128]; /* something the user should fix, though it is no error; empty if none */
};

/* Where configuration comes from, in order of precedence; NULL fields are unset. */
struct config_env {
    const char *proxy_url;   /* -x / SOCKSIFY_PROXY: overrides the file's proxy */
    const char *proxy_label; /* how errors name proxy_url's origin; NULL: "SOCKSIFY_PROXY" */
    const char *conf_path;   /* -f / SOCKSIFY_CONF: the file to read, which must exist */
    const char *log_level;   /* SOCKSIFY_LOG_LEVEL */
    const char *log_file;    /* SOCKSIFY_LOG_FILE */
    const char *home;        /* for ~/.config/socksify/socksify.conf */
    const char *system_conf; /* the last place searched; NULL: "/etc/socksify.conf" */
};

/* Fills c with the defaults. */
void config_init(struct config *c);
/* Releases what c owns; c may be initialised again afterwards. */
void config_free(struct config *c);
/* Parses text (NUL-terminated) as the contents of filename into c. Returns 0, or -EINVAL with
 * "filename:line: message" in err. */
int config_parse(struct config *c, const char *text, const char *filename, char *err, size_t errsize);
/* Reads and parses the file at path. Returns 0, or -errno with the reason in err. */
int config_parse_file(struct config *c, const char *path, char *err, size_t errsize);
/* Builds the configuration every socksify entry point uses: the explicit file, else the first of
 * ./socksify.conf, ~/.config/socksify/socksify.conf, /etc/socksify.conf that exists; then the
 * overrides from env. Fails with -ENOENT and a message if no proxy is configured anywhere. */
int config_load(struct config *c, const struct config_env *env, char *err, size_t errsize);
/* The effective DNS mode: the configured one, or remote for socks5h proxies and local otherwise. */
enum dns_mode config_dns_mode(const struct config *c);
/* Parses a duration: "10s", "500ms", or a bare number of seconds; returns milliseconds, or -EINVAL. */
int config_duration_parse(const char *text);

#endif
