/* proxychains.conf (proxychains-ng 4.x), read into the same struct config as socksify.conf, so
 * that users can point socksify at the /etc/proxychains4.conf they already have.
 *
 * The file is options, one per line, then a [ProxyList] section of "TYPE HOST PORT [USER PASS]"
 * lines. Every proxy becomes "pc1", "pc2", ... and one chain called "default" goes over all of
 * them in the file's chain mode; each localnet becomes a direct route. Options socksify has no
 * counterpart for are warnings, not errors: the file was written for another program, and
 * refusing to run over a dnat line would help nobody. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "config_line.h"

#define SECTION "[ProxyList]"
#define MAX_TIMEOUT_MS 3600000L
#define MAX_CHAIN_LEN 512   /* proxychains' own limit on its list */

/* What the options said, applied once the whole file is read. */
struct pcconf {
    struct config *c;
    const char *file;
    bool in_list;             /* after the [ProxyList] header */
    int list_line;
    enum chain_mode mode;
    long chain_len;
    int chain_len_line;
    bool proxy_dns;
    size_t hops[CHAIN_HOPS_MAX];
    size_t hop_count;
};

/* An option line with its key split off. proxychains writes "chain_len = 2" and the other
 * options without '=', so "key value", "key = value" and "key=value" are all accepted. */
struct option {
    const struct line *l;
    const char *key;
    const char *args[CONFIG_MAX_ARGS];
    int argc;
};

/* ---- small parsers ---- */

/* A decimal number in [min, max]: digits only, no sign or blanks. */
static int parse_number(const char *s, long min, long max, long *out)
{
    long v = 0;
    if (!*s)
        return -EINVAL;
    for (; *s; s++) {
        if (!isdigit((unsigned char)*s))
            return -EINVAL;
        v = v * 10 + (*s - '0');
        if (v > max)
            return -EINVAL;
    }
    if (v < min)
        return -EINVAL;
    *out = v;
    return 0;
}

/* Skips blanks as split_words does (a proxychains file may come from Windows: '\r'). */
static const char *skip_blanks(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\r')
        s++;
    return s;
}

/* The header alone on its line, blanks and a comment aside: exactly what split_words reads as
 * the one-word line "[ProxyList]". */
static bool is_section_line(const char *s)
{
    size_t n = strlen(SECTION);
    s = skip_blanks(s);
    if (strncasecmp(s, SECTION, n) != 0)
        return false;
    s += n;
    if (*s != '\0' && *s != '\n' && *s != ' ' && *s != '\t' && *s != '\r')
        return false;
    s = skip_blanks(s);
    return *s == '\0' || *s == '\n' || *s == '#';
}

bool pcconf_detect(const char *text)
{
    for (const char *p = text; *p;) {
        if (is_section_line(p))
            return true;
        const char *nl = strchr(p, '\n');
        if (!nl)
            break;
        p = nl + 1;
    }
    return false;
}

/* Splits the key off l (cutting argv[0] at a glued '='). At most one value comes out of argv[0],
 * which is not a value itself, so the values fit in args. */
static void option_from_line(struct option *o, const struct line *l)
{
    o->l = l;
    o->key = l->argv[0];
    o->argc = 0;
    char *eq = strchr(l->argv[0], '=');
    int next = 1;
    if (eq) {
        *eq = '\0';
        if (eq[1])
            o->args[o->argc++] = eq + 1;
    } else if (l->argc > 1 && l->argv[1][0] == '=') {
        /* "key = value" or "key =value" */
        if (l->argv[1][1])
            o->args[o->argc++] = l->argv[1] + 1;
        next = 2;
    }
    for (int i = next; i < l->argc; i++)
        o->args[o->argc++] = l->argv[i];
}

/* -EINVAL with "'key' takes usage" unless the option has exactly n values. */
static int option_args(const struct option *o, int n, const char *usage, char *err, size_t errsize)
{
    if (o->argc == n)
        return 0;
    return line_error(o->l, err, errsize, "'%s' takes %s", o->key, usage);
}

static int option_number(const struct option *o, long min, long max, const char *usage, long *out, char *err,
                         size_t errsize)
{
    if (option_args(o, 1, usage, err, errsize) < 0)
        return -EINVAL;
    if (parse_number(o->args[0], min, max, out) < 0)
        return line_error(o->l, err, errsize, "bad value '%s' for '%s': expected %s", o->args[0], o->key, usage);
    return 0;
}

/* ---- options ---- */

static const char *const mode_keys[] = {
    [CHAIN_STRICT] = "strict_chain",
    [CHAIN_DYNAMIC] = "dynamic_chain",
    [CHAIN_RANDOM] = "random_chain",
    [CHAIN_ROUND_ROBIN] = "round_robin_chain",
};

/* strict_chain, dynamic_chain, random_chain, round_robin_chain: the last one wins, as in proxychains. */
static int key_mode(struct pcconf *pc, const struct option *o, char *err, size_t errsize)
{
    if (option_args(o, 0, "no value", err, errsize) < 0)
        return -EINVAL;
    for (size_t m = 0; m < sizeof(mode_keys) / sizeof(mode_keys[0]); m++)
        if (strcmp(o->key, mode_keys[m]) == 0)
            pc->mode = (enum chain_mode)m;
    return 0;
}

static int key_chain_len(struct pcconf *pc, const struct option *o, char *err, size_t errsize)
{
    if (option_number(o, 1, MAX_CHAIN_LEN, "a number of proxies per connection, e.g. chain_len = 2", &pc->chain_len,
                      err, errsize) < 0)
        return -EINVAL;
    pc->chain_len_line = o->l->number;
    return 0;
}

static int key_proxy_dns(struct pcconf *pc, const struct option *o, char *err, size_t errsize)
{
    if (option_args(o, 0, "no value", err, errsize) < 0)
        return -EINVAL;
    pc->proxy_dns = true;
    return 0;
}

/* The other ways proxychains has of resolving names remotely still mean "no DNS leaves this
 * machine": socksify keeps that promise its own way rather than leaking names by ignoring them. */
static int key_proxy_dns_other(struct pcconf *pc, const struct option *o, char *err, size_t errsize)
{
    (void)err;
    (void)errsize;
    pc->proxy_dns = true;
    config_warn(pc->c, "%s:%d: '%s' is read as proxy_dns: socksify resolves names through the proxy itself", pc->file,
                o->l->number, o->key);
    return 0;
}

/* remote_dns_subnet N: fake addresses come from N.0.0.0/8. */
static int key_remote_dns_subnet(struct pcconf *pc, const struct option *o, char *err, size_t errsize)
{
    long subnet;
    if (option_number(o, 0, 255, "a number from 0 to 255, e.g. remote_dns_subnet 224", &subnet, err, errsize) < 0)
        return -EINVAL;
    char range[32];
    snprintf(range, sizeof(range), "%ld.0.0.0/8", subnet);
    cidr_parse(range, &pc->c->fake_range);
    return 0;
}

static int key_timeout(int *out, const struct option *o, char *err, size_t errsize)
{
    long ms;
    if (option_number(o, 1, MAX_TIMEOUT_MS, "milliseconds from 1 to 3600000, e.g. 15000", &ms, err, errsize) < 0)
        return -EINVAL;
    *out = (int)ms;
    return 0;
}

/* proxychains' read timeout bounds each read of the proxy's answers: the handshake, for socksify. */
static int key_read_timeout(struct pcconf *pc, const struct option *o, char *err, size_t errsize)
{
    return key_timeout(&pc->c->handshake_timeout_ms, o, err, errsize);
}

static int key_connect_timeout(struct pcconf *pc, const struct option *o, char *err, size_t errsize)
{
    return key_timeout(&pc->c->connect_timeout_ms, o, err, errsize);
}

static int key_quiet_mode(struct pcconf *pc, const struct option *o, char *err, size_t errsize)
{
    if (option_args(o, 0, "no value", err, errsize) < 0)
        return -EINVAL;
    pc->c->log_level = LOG_NONE;
    return 0;
}

/* A dotted netmask as a prefix length; its one bits must be contiguous from the top. */
static int netmask_prefix(const char *text, long *prefix)
{
    struct in_addr m;
    if (inet_pton(AF_INET, text, &m) != 1)
        return -EINVAL;
    uint32_t inverse = ~ntohl(m.s_addr);
    if (inverse & (inverse + 1))
        return -EINVAL;
    *prefix = __builtin_popcount(~inverse);
    return 0;
}

/* Splits a localnet address in place: "ADDR", "ADDR:PORT" (IPv4), "[ADDR]", "[ADDR]:PORT", or a
 * bare IPv6 ADDR (no port then: its colons are the address's). Sets *family from the address. */
static int localnet_address(char *text, char **addr, char **port, int *family)
{
    unsigned char bytes[16];
    *addr = text;
    *port = NULL;
    bool bracketed = text[0] == '[';
    if (bracketed) {
        char *close = strchr(text, ']');
        if (!close || (close[1] != '\0' && close[1] != ':'))
            return -EINVAL;
        *close = '\0';
        *addr = text + 1;
        *port = close[1] == ':' ? close + 2 : NULL;
    } else {
        char *colon = strchr(text, ':');
        if (colon && colon == strrchr(text, ':')) {
            *colon = '\0';
            *port = colon + 1;
        }
    }
    if (!bracketed && inet_pton(AF_INET, *addr, bytes) == 1)
        *family = AF_INET;
    else if (inet_pton(AF_INET6, *addr, bytes) == 1)
        *family = AF_INET6;
    else
        return -EINVAL;
    return 0;
}

static int localnet_mask(const char *mask, int family, long *prefix)
{
    if (family == AF_INET && strchr(mask, '.'))
        return netmask_prefix(mask, prefix);
    return parse_number(mask, 0, family == AF_INET ? 32 : 128, prefix);
}

/* localnet ADDR[:PORT]/NETMASK: destinations that bypass the proxies, as a direct route. */
static int key_localnet(struct pcconf *pc, const struct option *o, char *err, size_t errsize)
{
    static const char usage[] = "ADDRESS[:PORT]/NETMASK, e.g. localnet 192.168.0.0/255.255.0.0, "
                                "localnet 127.0.0.1:8000/32 or localnet [::1]:80/128";
    if (option_args(o, 1, usage, err, errsize) < 0)
        return -EINVAL;
    char text[128], *addr, *port;
    const char *slash = strchr(o->args[0], '/');
    if (!slash || strlen(o->args[0]) >= sizeof(text))
        return line_error(o->l, err, errsize, "bad localnet '%s': expected %s", o->args[0], usage);
    snprintf(text, sizeof(text), "%.*s", (int)(slash - o->args[0]), o->args[0]);
    int family;
    long prefix, port_number = 0;
    if (localnet_address(text, &addr, &port, &family) < 0)
        return line_error(o->l, err, errsize, "bad localnet address in '%s': expected an IPv4 address, "
                          "ADDRESS:PORT, an IPv6 address or [IPv6]:PORT", o->args[0]);
    if (port && parse_number(port, 0, 65535, &port_number) < 0)
        return line_error(o->l, err, errsize, "bad localnet port '%s': expected 0-65535", port);
    if (localnet_mask(slash + 1, family, &prefix) < 0)
        return line_error(o->l, err, errsize, "bad localnet netmask '%s': expected %s", slash + 1,
                          family == AF_INET ? "a contiguous netmask such as 255.255.0.0, or a prefix length 0-32"
                                            : "a prefix length 0-128");
    struct rule r = { .has_cidr = true, .action = ROUTE_DIRECT, .line = o->l->number };
    char range[sizeof(text) + 8];
    snprintf(range, sizeof(range), "%s/%ld", addr, prefix);
    if (cidr_parse(range, &r.cidr) < 0)
        return line_error(o->l, err, errsize, "bad localnet '%s'", o->args[0]);
    /* Port 0 is proxychains' "any port". */
    if (port_number) {
        r.ports[0] = (struct port_range){ (uint16_t)port_number, (uint16_t)port_number };
        r.port_count = 1;
    }
    return config_add_rule(pc->c, &r) < 0 ? line_error(o->l, err, errsize, "out of memory") : 0;
}

static const struct {
    const char *name;
    int (*parse)(struct pcconf *, const struct option *, char *, size_t);
} option_keys[] = {
    { "strict_chain", key_mode },
    { "dynamic_chain", key_mode },
    { "random_chain", key_mode },
    { "round_robin_chain", key_mode },
    { "chain_len", key_chain_len },
    { "proxy_dns", key_proxy_dns },
    { "proxy_dns_old", key_proxy_dns_other },
    { "proxy_dns_daemon", key_proxy_dns_other },
    { "remote_dns_subnet", key_remote_dns_subnet },
    { "tcp_read_time_out", key_read_timeout },
    { "tcp_connect_time_out", key_connect_timeout },
    { "quiet_mode", key_quiet_mode },
    { "localnet", key_localnet },
};

const char *pcconf_key_name(size_t i)
{
    return i < sizeof(option_keys) / sizeof(option_keys[0]) ? option_keys[i].name : NULL;
}

/* The option word starts (up to an '=' glued to it, as in "chain_len=2"), or -1. */
static int find_option(const char *word)
{
    size_t n = strcspn(word, "=");
    for (size_t i = 0; i < sizeof(option_keys) / sizeof(option_keys[0]); i++)
        if (strlen(option_keys[i].name) == n && strncmp(word, option_keys[i].name, n) == 0)
            return (int)i;
    return -1;
}

static int parse_option(struct pcconf *pc, struct option *o, char *err, size_t errsize)
{
    int k = find_option(o->key);
    if (k >= 0)
        return option_keys[k].parse(pc, o, err, errsize);
    config_warn(pc->c, "%s:%d: proxychains option '%s' is not supported by socksify; ignored", pc->file, o->l->number,
                o->key);
    return 0;
}

/* ---- [ProxyList] ---- */

static const char *const proxy_types[] = { "socks4", "socks5", "http", "raw" };

static bool is_proxy_type(const char *word)
{
    for (size_t i = 0; i < sizeof(proxy_types) / sizeof(proxy_types[0]); i++)
        if (strcasecmp(word, proxy_types[i]) == 0)
            return true;
    return false;
}

/* proxychains 4.15 also takes a whole proxy as one URL: socks5://user:pass@host:port. */
static bool is_proxy_url(const struct line *l)
{
    return l->argc == 1 && strstr(l->argv[0], "://");
}

/* Appends s to the URL in out, %-escaping all but unreserved characters (':', '@', '%' in a
 * password must not be read as the URL's own). */
static void append_escaped(char *out, size_t size, const char *s)
{
    size_t n = strlen(out);
    for (; *s && n + 4 < size; s++) {
        unsigned char ch = (unsigned char)*s;
        if (isalnum(ch) || strchr("-._~", ch))
            out[n++] = (char)ch;
        else
            n += (size_t)snprintf(out + n, size - n, "%%%02X", ch);
    }
    out[n] = '\0';
}

/* HOST as the URL's host: an IPv6 address goes in brackets; anything that could be read as
 * another part of the URL ('@', '/', ...) is refused before it gets there. */
static int url_host(const char *host, char *out, size_t size)
{
    unsigned char bytes[16];
    size_t len = strlen(host);
    if (host[0] == '[' && len > 2 && host[len - 1] == ']') {
        snprintf(out, size, "%.*s", (int)(len - 2), host + 1);
        if (inet_pton(AF_INET6, out, bytes) != 1)
            return -EINVAL;
        snprintf(out, size, "%s", host);
        return 0;
    }
    if (strchr(host, ':')) {
        if (inet_pton(AF_INET6, host, bytes) != 1)
            return -EINVAL;
        snprintf(out, size, "[%s]", host);
        return 0;
    }
    if (len == 0 || len > PROXY_HOST_MAX)
        return -EINVAL;
    for (const char *s = host; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("-._", *s))
            return -EINVAL;
    snprintf(out, size, "%s", host);
    return 0;
}

/* The URL of "TYPE HOST PORT [USER [PASS]]", for proxy_url_parse to check and fill in. */
static int compose_url(struct pcconf *pc, const struct line *l, char *url, size_t size, char *err, size_t errsize)
{
    const char *type = l->argv[0], *host = l->argv[1], *port = l->argv[2];
    const char *user = l->argc > 3 ? l->argv[3] : NULL, *pass = l->argc > 4 ? l->argv[4] : NULL;
    char hostpart[PROXY_HOST_MAX + 3];
    long number;
    if (url_host(host, hostpart, sizeof(hostpart)) < 0)
        return line_error(l, err, errsize, "bad proxy host '%s': expected an IPv4 or IPv6 address or a host name", host);
    if (parse_number(port, 1, 65535, &number) < 0)
        return line_error(l, err, errsize, "bad proxy port '%s': expected 1-65535", port);
    if ((user && strlen(user) > PROXY_CRED_MAX) || (pass && strlen(pass) > PROXY_CRED_MAX))
        return line_error(l, err, errsize, "proxy user name or password longer than %d characters", PROXY_CRED_MAX);
    if (pass && strcasecmp(type, "socks4") == 0) {
        config_warn(pc->c, "%s:%d: socks4 takes a user id only; the password is ignored", pc->file, l->number);
        pass = NULL;
    }
    snprintf(url, size, "%s://", type);
    for (char *s = url; *s != ':'; s++)
        *s = (char)tolower((unsigned char)*s);
    if (user) {
        append_escaped(url, size, user);
        if (pass) {
            strncat(url, ":", size - strlen(url) - 1);
            append_escaped(url, size, pass);
        }
        strncat(url, "@", size - strlen(url) - 1);
    }
    size_t n = strlen(url);
    snprintf(url + n, size - n, "%s:%ld", hostpart, number);
    return 0;
}

static int proxy_from_line(struct pcconf *pc, const struct line *l, struct proxy *p, char *err, size_t errsize)
{
    char url[2 * 3 * PROXY_CRED_MAX + PROXY_HOST_MAX + 64], why[256];
    int r = 0;
    if (is_proxy_url(l))
        snprintf(url, sizeof(url), "%s", l->argv[0]);
    else
        r = compose_url(pc, l, url, sizeof(url), err, errsize);
    if (r == 0 && proxy_url_parse(url, p, why, sizeof(why)) < 0)
        r = line_error(l, err, errsize, "%s", why);
    memset(url, 0, sizeof(url));
    return r;
}

/* raw forwards the bytes untouched, a tunnel socksify does not have: the line is checked, so
 * that a typo still shows, then left out with a warning. */
static int skip_raw(struct pcconf *pc, const struct line *l, char *err, size_t errsize)
{
    char url[2 * 3 * PROXY_CRED_MAX + PROXY_HOST_MAX + 64];
    int r = compose_url(pc, l, url, sizeof(url), err, errsize);
    memset(url, 0, sizeof(url));
    if (r == 0)
        config_warn(pc->c, "%s:%d: proxychains proxy type 'raw' is not supported by socksify; line skipped", pc->file,
                    l->number);
    return r;
}

static int add_proxy(struct pcconf *pc, const struct line *l, char *err, size_t errsize)
{
    if (pc->hop_count == CHAIN_HOPS_MAX)
        return line_error(l, err, errsize, "too many proxies: a socksify chain lists at most %d", CHAIN_HOPS_MAX);
    struct proxy p;
    if (proxy_from_line(pc, l, &p, err, errsize) < 0)
        return -EINVAL;
    snprintf(p.name, sizeof(p.name), "pc%zu", pc->hop_count + 1);
    int index = config_add_proxy(pc->c, &p, l->number);
    memset(&p, 0, sizeof(p));
    /* The names are fresh, so only memory can be missing. */
    if (index < 0)
        return line_error(l, err, errsize, "out of memory");
    pc->hops[pc->hop_count++] = (size_t)index;
    return 0;
}

/* TYPE HOST PORT [USER [PASS]], or one URL. */
static int parse_proxy(struct pcconf *pc, const struct line *l, char *err, size_t errsize)
{
    static const char usage[] = "TYPE HOST PORT [USER PASS], e.g. socks5 127.0.0.1 9050";
    if (is_proxy_url(l))
        return add_proxy(pc, l, err, errsize);
    if (!is_proxy_type(l->argv[0]))
        return line_error(l, err, errsize, "unknown proxy type '%s': expected socks4, socks5, http or raw (%s)",
                          l->argv[0], usage);
    if (l->argc < 3 || l->argc > 5)
        return line_error(l, err, errsize, "a proxy line is %s", usage);
    if (strcasecmp(l->argv[0], "raw") == 0)
        return skip_raw(pc, l, err, errsize);
    return add_proxy(pc, l, err, errsize);
}

/* ---- the file ---- */

static int parse_line(void *ctx, char *text, struct line *l, char *err, size_t errsize)
{
    struct pcconf *pc = ctx;
    if (split_words(text, l, err, errsize) < 0)
        return -EINVAL;
    if (l->argc == 0)
        return 0;
    if (strcasecmp(l->argv[0], SECTION) == 0) {
        if (l->argc > 1)
            return line_error(l, err, errsize, "unexpected '%s' after %s", l->argv[1], SECTION);
        if (!pc->in_list)
            pc->list_line = l->number;
        pc->in_list = true;
        return 0;
    }
    /* proxychains wants every option above the list; one below it is taken anyway rather than
     * read as a proxy of an unknown type. */
    if (pc->in_list && (is_proxy_url(l) || find_option(l->argv[0]) < 0))
        return parse_proxy(pc, l, err, errsize);
    if (!pc->in_list && (is_proxy_url(l) || is_proxy_type(l->argv[0]))) {
        config_warn(pc->c, "%s:%d: a proxy above %s is not read by proxychains; ignored", pc->file, l->number, SECTION);
        return 0;
    }
    struct option o;
    option_from_line(&o, l);
    return parse_option(pc, &o, err, errsize);
}

/* What depends on the whole file: the DNS mode, and the chain over every proxy. */
static int finish(struct pcconf *pc, char *err, size_t errsize)
{
    struct config *c = pc->c;
    c->dns = pc->proxy_dns ? DNS_REMOTE : DNS_LOCAL;
    /* proxychains hands names to SOCKS5 and (as SOCKS4a) SOCKS4 proxies when proxy_dns is on. */
    for (size_t i = 0; i < pc->hop_count; i++)
        if (c->proxies[pc->hops[i]].kind != PROXY_HTTP)
            c->proxies[pc->hops[i]].remote_dns = pc->proxy_dns;
    if (pc->hop_count == 0)
        return 0;
    size_t length = 0;
    if (pc->mode == CHAIN_RANDOM || pc->mode == CHAIN_ROUND_ROBIN) {
        length = (size_t)pc->chain_len;
        if (length > pc->hop_count) {
            config_warn(c, "%s:%d: chain_len %zu is more than the %zu proxies listed; using %zu", pc->file,
                        pc->chain_len_line, length, pc->hop_count, pc->hop_count);
            length = pc->hop_count;
        }
    }
    struct line l = { .file = pc->file, .number = pc->list_line };
    if (pc->hop_count > chain_list_max(pc->mode))
        return line_error(&l, err, errsize, "%zu proxies in a %s chain, which goes through all of them: at most %d "
                          "(random_chain and round_robin_chain with chain_len take up to %d)", pc->hop_count,
                          pc->mode == CHAIN_STRICT ? "strict" : "dynamic", PROXY_CHAIN_MAX, CHAIN_HOPS_MAX);
    if (length > PROXY_CHAIN_MAX)
        return line_error(&l, err, errsize, "chain_len %zu: a connection goes through at most %d proxies", length,
                          PROXY_CHAIN_MAX);
    if (config_add_chain(c, "default", pc->mode, length, pc->hops, pc->hop_count, pc->list_line) < 0)
        return line_error(&l, err, errsize, "out of memory");
    return 0;
}

int pcconf_parse(struct config *c, const char *text, const char *filename, char *err, size_t errsize)
{
    struct pcconf pc = { .c = c, .file = filename, .mode = CHAIN_DYNAMIC, .chain_len = 1 };
    if (for_each_line(text, filename, err, errsize, parse_line, &pc) < 0)
        return -EINVAL;
    return finish(&pc, err, errsize);
}
