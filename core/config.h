/* socksify.conf: a small line-oriented language, one "key value..." per line, '#' starts a comment.
 * The shipped socksify.conf documents every key. Parsing is pure (text in, struct out); errors
 * come back as "file:line: what was expected" for the caller to show. */
#ifndef SOCKSIFY_CONFIG_H
#define SOCKSIFY_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
/* Whether the command serves seccomp notifications for its program (see scripts/supervisor.c). */
enum config_seccomp {
    CONFIG_SECCOMP_AUTO,   /* where the kernel offers user notification (the default) */
    CONFIG_SECCOMP_YES,    /* always: a kernel without it is an error */
    CONFIG_SECCOMP_NO,     /* never: the library alone, static programs refused */
};
#define CONFIG_DEFAULT_HANDSHAKE_TIMEOUT_MS 10000
/* How long a listener that went through the proxy (BIND) waits for the peer (the second reply). */
#define CONFIG_DEFAULT_BIND_TIMEOUT_MS 60000

/* How a chain uses its proxies (the semantics proxychains-ng users know). */
enum chain_mode {
    CHAIN_STRICT,       /* all, in order; any failure fails the connection */
    CHAIN_DYNAMIC,      /* all live ones, in order; dead ones are skipped */
    CHAIN_RANDOM,       /* `length` live ones picked at random */
    CHAIN_ROUND_ROBIN,  /* `length` live ones, starting after where the previous connection started */
};

/* Proxies a chain can list: random and round-robin chains pick `length` (at most PROXY_CHAIN_MAX)
 * of them per connection; strict and dynamic ones go through all, so they list at most PROXY_CHAIN_MAX. */
#define CHAIN_HOPS_MAX 64

/* A named way through proxies. Every proxy also gets a one-hop strict chain of its own name,
 * so routes always point at a chain. */
struct chain {
    char name[PROXY_NAME_MAX + 1];
    enum chain_mode mode;
    size_t length;                  /* hops per connection for random/round-robin; hop_count otherwise */
    size_t hops[CHAIN_HOPS_MAX];    /* indices into config.proxies */
    size_t hop_count;
    int line;                       /* where it was declared; 0 if implicit or from the environment */
};

enum route_action { ROUTE_DIRECT, ROUTE_REJECT, ROUTE_VIA };

#define RULE_PORTS_MAX 16
#define RULE_GLOB_MAX 255

struct port_range { uint16_t lo, hi; };

/* How a host-name glob is matched: most are a plain name or "*.suffix", which need no fnmatch. */
enum glob_kind { GLOB_NONE, GLOB_EXACT, GLOB_SUFFIX, GLOB_PATTERN };

/* One `route` line (or one range of a `direct` line): all its matchers must match. */
struct rule {
    bool has_cidr;
    struct cidr cidr;                 /* destination addresses */
    enum glob_kind glob_kind;
    char *glob;                       /* host-name glob (owned by the config), NULL if none */
    struct port_range ports[RULE_PORTS_MAX];
    size_t port_count;                /* 0: any port */
    enum route_action action;
    size_t chain;                     /* index into config.chains for ROUTE_VIA */
    int line;                         /* line in config.source */
};

#define CONFIG_WARNINGS_MAX 4096
#define CONFIG_DEFAULT_PROXY_RETRY_MS 30000

struct config {
    struct proxy *proxies;       /* every proxy, named; see config_default_proxy */
    size_t proxy_count, proxy_capacity;
    struct chain *chains;
    size_t chain_count, chain_capacity;
    struct rule *rules;          /* in file order; the first that matches decides */
    size_t rule_count, rule_capacity;
    int connect_timeout_ms;      /* TCP connect to the proxy */
    int handshake_timeout_ms;    /* the whole SOCKS exchange after that */
    int proxy_retry_ms;          /* how long a failed proxy is skipped by non-strict chains */
    enum log_level log_level;
    bool direct_loopback;
    enum dns_mode dns;
    struct cidr fake_range;      /* where fake IPv4 addresses come from */
    struct cidr fake_range6;     /* and their IPv6 counterparts */
    bool direct_dns;             /* allow port-53 traffic that bypasses the proxy while names are remote */
    bool socks5_pipelining;      /* SOCKS5 proxies get greeting, auth and request in one write */
    bool bind_auto;              /* `bind auto` (default): listeners go through the proxy per core/bind_rule.h; `bind no` */
    int bind_timeout_ms;         /* from listen() to BIND's second reply */
    enum config_seccomp seccomp; /* the command's supervisor: auto, yes or no (the library ignores it) */
    bool has_source, has_warnings; /* whether those texts below hold any: a look at them is a page fault */
    /* Text, last: config_init clears only their first bytes, not pages of them. */
    char log_file[PATH_MAX];     /* empty: stderr */
    char source[PATH_MAX];       /* the file that was read, empty if none */
    char warnings[CONFIG_WARNINGS_MAX]; /* things the user should fix, one per line; empty if none */
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
    bool pinned;             /* SOCKSIFY_SESSION: the session's file is decided (conf_path, or none): no search */
    bool refuse_untrusted;   /* a config file other users can write is an error, not a warning (the library) */
};

/* Fills c with the defaults. c is zeroed memory (static, calloc, "= { 0 }") or a config that
 * config_free released: its text buffers are taken as empty, not cleared. */
void config_init(struct config *c);
/* Releases what c owns and empties its texts; c may be initialised again afterwards. */
void config_free(struct config *c);
/* Parses text (NUL-terminated) as the contents of filename into c. Returns 0, or -EINVAL with
 * "filename:line: message" in err. Text with a [ProxyList] section is read as a proxychains.conf. */
int config_parse(struct config *c, const char *text, const char *filename, char *err, size_t errsize);
/* Reads and parses the file at path. Returns 0, or -errno with the reason in err. */
int config_parse_file(struct config *c, const char *path, char *err, size_t errsize);
/* The config file of a session, as an absolute path into path: env's conf_path, else (unless
 * env is pinned) the first of ./socksify.conf, ~/.config/socksify/socksify.conf, /etc/socksify.conf
 * that exists. Returns 1, 0 if there is none, or -errno (getcwd, -ENAMETOOLONG). */
int config_locate(const struct config_env *env, char *path, size_t size);
/* Builds the configuration every socksify entry point uses (into c, as config_init takes it): the
 * file config_locate finds (a file others can write is refused or warned about, per env), then
 * the overrides from env. Fails with -ENOENT and a message if no proxy is configured anywhere. */
int config_load(struct config *c, const struct config_env *env, char *err, size_t errsize);
/* Reads the proxy URL (its first line) from the file at path (SOCKSIFY_PROXY_FILE) into url.
 * Returns 0; -EPERM if the file is not the euid's or is open to group or other; -EINVAL if empty,
 * -E2BIG if the URL does not fit; -errno if unreadable. err names the file, never its contents. */
int config_read_proxy_file(const char *path, char *url, size_t size, char *err, size_t errsize);
/* The chain a connection takes when no route matches: the one named "default" (an unnamed
 * `proxy` line, or -x), or NULL: such connections are rejected. */
const struct chain *config_default_chain(const struct config *c);
/* The proxy named "default", or NULL. */
const struct proxy *config_default_proxy(const struct config *c);
/* The chain or proxy called name (a proxy's one-hop chain), or NULL. */
const struct chain *config_find_chain(const struct config *c, const char *name);
/* Adds proxy p under its name (p->name, "default" if empty) with its one-hop chain; returns the
 * proxy's index, -EEXIST if the name is taken, -ENOMEM. */
int config_add_proxy(struct config *c, const struct proxy *p, int line);
/* Adds a chain over the proxies hops[0..n); returns its index, -EEXIST, -EINVAL (no hops, too many
 * for the mode, a length larger than the hops or than PROXY_CHAIN_MAX), -ENOMEM. */
int config_add_chain(struct config *c, const char *name, enum chain_mode mode, size_t length, const size_t *hops,
                     size_t n, int line);
/* Appends a routing rule (the config takes a copy of r->glob); 0 or -ENOMEM. */
int config_add_rule(struct config *c, const struct rule *r);
/* Appends a line to c->warnings (dropped if full), passwords hidden (proxy_text_redact). */
void config_warn(struct config *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The effective DNS mode: the configured one, or remote for socks5h proxies and local otherwise. */
enum dns_mode config_dns_mode(const struct config *c);
/* Parses "auto", "yes" or "no" (the words key_bool takes for yes and no too) into *out: 0, or -EINVAL. */
int config_seccomp_parse(const char *text, enum config_seccomp *out);
/* Parses a duration: "10s", "500ms", or a bare number of seconds; returns milliseconds, or -EINVAL. */
int config_duration_parse(const char *text);
/* The i-th key socksify.conf knows (its parser's own table), or NULL past the last: for listings
 * that must stay true (the man page check, completion). */
const char *config_key_name(size_t i);
/* The i-th option key a proxychains.conf may hold that socksify reads, or NULL past the last. */
const char *pcconf_key_name(size_t i);

#endif
