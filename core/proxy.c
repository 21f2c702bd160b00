#include "proxy.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int fail(char *err, size_t errsize, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errsize, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    c = (char)tolower((unsigned char)c);
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* Percent-decodes src[0..len) into dst (size bytes); false on a bad escape, NUL byte or overflow. */
static bool percent_decode(const char *src, size_t len, char *dst, size_t size)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)src[i];
        if (c == '%') {
            if (i + 2 >= len)
                return false;
            int hi = hexval(src[i + 1]), lo = hexval(src[i + 2]);
            if (hi < 0 || lo < 0)
                return false;
            c = hi << 4 | lo;
            i += 2;
        }
        if (c == 0 || o + 1 >= size)
            return false;
        dst[o++] = (char)c;
    }
    dst[o] = '\0';
    return true;
}

static const struct { const char *scheme; enum proxy_kind kind; bool remote_dns; } schemes[] = {
    { "socks5", PROXY_SOCKS5, false },
    { "socks5h", PROXY_SOCKS5, true },
    { "socks4", PROXY_SOCKS4, false },
    { "socks4a", PROXY_SOCKS4, true },
    { "http", PROXY_HTTP, true },
};

/* Error messages show the URL only redacted: a malformed URL may still hold a password. */
static int fail_url(char *err, size_t errsize, const char *url, const char *what)
{
    char shown[512];
    proxy_url_redact(url, shown, sizeof(shown));
    return fail(err, errsize, "proxy URL '%s' %s: expected e.g. socks5://host:1080", shown, what);
}

static bool plain_scheme(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("+-.", s[i]))
            return false;
    return true;
}

static int parse_scheme(const char *url, struct proxy *out, const char **rest, char *err, size_t errsize)
{
    const char *sep = strstr(url, "://");
    if (!sep)
        return fail_url(err, errsize, url, "has no scheme");
    size_t n = (size_t)(sep - url);
    if (!plain_scheme(url, n))
        return fail_url(err, errsize, url, "has no valid scheme");
    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
        if (strlen(schemes[i].scheme) == n && strncasecmp(url, schemes[i].scheme, n) == 0) {
            out->kind = schemes[i].kind;
            out->remote_dns = schemes[i].remote_dns;
            *rest = sep + 3;
            return 0;
        }
    }
    return fail(err, errsize, "unsupported proxy scheme '%.*s': expected socks5, socks5h, socks4, socks4a or http", (int)n, url);
}

static int parse_userinfo(const char *s, size_t len, struct proxy *out, char *err, size_t errsize)
{
    const char *colon = memchr(s, ':', len);
    size_t ulen = colon ? (size_t)(colon - s) : len;
    if (!percent_decode(s, ulen, out->user, sizeof(out->user)) || out->user[0] == '\0')
        return fail(err, errsize, "bad user name in proxy URL: empty, too long, or a bad %%-escape");
    const char *p = colon ? colon + 1 : s + len;
    /* SOCKS4 knows a user id and nothing else: a password would silently go nowhere. */
    if (colon && out->kind == PROXY_SOCKS4)
        return fail(err, errsize, "socks4 proxies take a user id only (socks4://userid@host), not a password");
    if (!percent_decode(p, (size_t)(s + len - p), out->pass, sizeof(out->pass)))
        return fail(err, errsize, "bad password in proxy URL: too long or a bad %%-escape");
    out->has_auth = true;
    return 0;
}

static int parse_port(const char *s, uint16_t *port, char *err, size_t errsize)
{
    if (*s == '\0')
        return fail(err, errsize, "empty port in proxy URL");
    int r = addr_parse_port(s, port);
    if (r == -EINVAL)   /* not shown: it may be a password missing its '@' */
        return fail(err, errsize, "bad port in proxy URL: expected a number 1-65535");
    if (r < 0)
        return fail(err, errsize, "bad port '%.10s' in proxy URL: expected 1-65535", s);
    return 0;
}

static bool valid_hostname(const char *h)
{
    for (; *h; h++)
        if (!isalnum((unsigned char)*h) && *h != '-' && *h != '.' && *h != '_')
            return false;
    return true;
}

/* Splits host[:port] or [v6][:port] (hp is NUL-terminated, no path) into out->host and out->port,
 * defaulting the port, and says whether the host was in brackets; fails (-EINVAL, err set) on an
 * empty, overlong or unbracketed IPv6 host and on a bad port. */
static int split_hostport(const char *hp, struct proxy *out, bool *bracketed, char *err, size_t errsize)
{
    struct addr_hostport parts;
    int r = addr_split_hostport(hp, &parts);
    if (r == -EINVAL)
        return fail(err, errsize, "unclosed '[' in proxy URL host");
    if (r < 0)
        return fail(err, errsize, "unexpected text after ']' in proxy URL");
    if (parts.bare_ipv6)
        return fail(err, errsize, "the proxy host looks like an IPv6 address: put it in brackets, e.g. [::1]:1080");
    if (parts.host_len == 0)
        return fail(err, errsize, "proxy URL has no host");
    if (parts.host_len > PROXY_HOST_MAX)
        return fail(err, errsize, "proxy host is longer than %d characters", PROXY_HOST_MAX);
    memcpy(out->host, parts.host, parts.host_len);
    out->host[parts.host_len] = '\0';
    out->port = PROXY_DEFAULT_PORT;
    if (parts.port && parse_port(parts.port, &out->port, err, errsize) < 0)
        return -EINVAL;
    *bracketed = parts.bracketed;
    return 0;
}

/* Parses host[:port] or [v6][:port] (hostport is NUL-terminated, no path). */
static int parse_hostport(const char *hp, struct proxy *out, char *err, size_t errsize)
{
    bool bracketed = false;
    if (split_hostport(hp, out, &bracketed, err, errsize) < 0)
        return -EINVAL;
    if (bracketed) {
        out->addr.in6.sin6_family = AF_INET6;
        if (inet_pton(AF_INET6, out->host, &out->addr.in6.sin6_addr) != 1)
            return fail(err, errsize, "'%s' in brackets is not an IPv6 address", out->host);
        out->addr.in6.sin6_port = htons(out->port);
        out->has_addr = true;
    } else if (inet_pton(AF_INET, out->host, &out->addr.in4.sin_addr) == 1) {
        out->addr.in4.sin_family = AF_INET;
        out->addr.in4.sin_port = htons(out->port);
        out->has_addr = true;
    } else if (!valid_hostname(out->host)) {
        return fail(err, errsize, "bad proxy host '%s': expected a name, an IPv4 address or [IPv6]", out->host);
    }
    return 0;
}

static const struct { const char *name; unsigned bit; } auth_names[] = {
    { "gssapi", PROXY_AUTH_GSSAPI },
    { "userpass", PROXY_AUTH_USERPASS },
    { "none", PROXY_AUTH_NONE },
};

/* auth=METHOD[,METHOD...]: the SOCKS5 methods to offer. */
static int parse_auth(const char *v, size_t len, struct proxy *out, char *err, size_t errsize)
{
    out->auth = 0;
    while (len > 0) {
        const char *comma = memchr(v, ',', len);
        size_t n = comma ? (size_t)(comma - v) : len;
        size_t i = 0;
        while (i < sizeof(auth_names) / sizeof(auth_names[0]) &&
               (strlen(auth_names[i].name) != n || strncasecmp(v, auth_names[i].name, n) != 0))
            i++;
        if (i == sizeof(auth_names) / sizeof(auth_names[0]))
            return fail(err, errsize, "unknown auth method in proxy URL: expected gssapi, userpass or none "
                        "(e.g. ?auth=gssapi or ?auth=gssapi,none)");
        out->auth |= auth_names[i].bit;
        len -= comma ? n + 1 : n;
        v += comma ? n + 1 : n;
    }
    return out->auth ? 0 : fail(err, errsize, "empty auth= in proxy URL: expected gssapi, userpass or none");
}

/* One name=value of the query. */
static int parse_option(const char *s, size_t len, struct proxy *out, char *err, size_t errsize)
{
    const char *eq = memchr(s, '=', len);
    size_t klen = eq ? (size_t)(eq - s) : len;
    const char *v = eq ? eq + 1 : s + len;
    size_t vlen = (size_t)(s + len - v);
    if (klen == 4 && strncmp(s, "auth", 4) == 0)
        return parse_auth(v, vlen, out, err, errsize);
    if (klen == 9 && strncmp(s, "principal", 9) == 0) {
        if (!percent_decode(v, vlen, out->principal, sizeof(out->principal)) || !out->principal[0])
            return fail(err, errsize, "bad principal= in proxy URL: empty, too long, or a bad %%-escape");
        return 0;
    }
    /* Not shown: a '?' in an unescaped password would put part of it here. */
    return fail(err, errsize, "unknown option in the proxy URL's query: expected auth= or principal=");
}

/* The query after '?': options separated by '&', for SOCKS5 proxies only. */
static int parse_query(const char *q, struct proxy *out, char *err, size_t errsize)
{
    if (out->kind != PROXY_SOCKS5)
        return fail(err, errsize, "proxy URL options (?auth=, ?principal=) are for socks5 and socks5h proxies only");
    while (*q) {
        size_t n = strcspn(q, "&");
        if (parse_option(q, n, out, err, errsize) < 0)
            return -EINVAL;
        q += n + (q[n] == '&');
    }
    if (out->principal[0] && !(out->auth & PROXY_AUTH_GSSAPI))
        return fail(err, errsize, "principal= in proxy URL needs auth=gssapi");
    return 0;
}

/* Credentials and auth= must agree: a password the methods never send would silently go nowhere. */
static int check_auth(const struct proxy *p, char *err, size_t errsize)
{
    if (!p->auth)
        return 0;
    if ((p->auth & PROXY_AUTH_USERPASS) && !p->has_auth)
        return fail(err, errsize, "auth=userpass needs user:password@ in the proxy URL");
    if (p->has_auth && !(p->auth & PROXY_AUTH_USERPASS))
        return fail(err, errsize, "the proxy URL has credentials but its auth= does not list userpass");
    return 0;
}

/* Splits "...?query" at its first '?' when an option follows it (the query goes to parse_query);
 * any other '?' is left for the caller to refuse, as it may be part of an unescaped password. */
static int split_query(const char *rest, size_t *len, struct proxy *out, char *err, size_t errsize)
{
    const char *q = strchr(rest, '?');
    if (!q || (strncmp(q + 1, "auth=", 5) != 0 && strncmp(q + 1, "principal=", 10) != 0))
        return 0;
    *len = (size_t)(q - rest);
    return parse_query(q + 1, out, err, errsize);
}

int proxy_url_parse(const char *url, struct proxy *out, char *err, size_t errsize)
{
    memset(out, 0, sizeof(*out));
    const char *rest = NULL;
    if (parse_scheme(url, out, &rest, err, errsize) < 0)
        return -EINVAL;
    size_t len = strlen(rest);
    if (split_query(rest, &len, out, err, errsize) < 0)
        return -EINVAL;
    /* A trailing '/' is tolerated, as curl does; any other path is not a proxy address. */
    if (len > 0 && rest[len - 1] == '/')
        len--;
    if (memchr(rest, '/', len) || memchr(rest, '?', len) || memchr(rest, '#', len))
        return fail(err, errsize, "proxy URL must not have a path, query or fragment");
    char buf[2048];   /* 255-byte credentials, every byte %-escaped, fit */
    if (len >= sizeof(buf))
        return fail(err, errsize, "proxy URL is too long");
    memcpy(buf, rest, len);
    buf[len] = '\0';
    char *at = strrchr(buf, '@');
    char *hostport = buf;
    if (at) {
        if (parse_userinfo(buf, (size_t)(at - buf), out, err, errsize) < 0)
            return -EINVAL;
        hostport = at + 1;
    }
    if (parse_hostport(hostport, out, err, errsize) < 0)
        return -EINVAL;
    return check_auth(out, err, errsize);
}

char *proxy_gssapi_principal(const struct proxy *p, char *buf, size_t size)
{
    if (p->principal[0])
        snprintf(buf, size, "%s", p->principal);
    else
        snprintf(buf, size, "rcmd/%s", p->host);
    return buf;
}

size_t proxy_auth_methods(const struct proxy *p, unsigned methods[3])
{
    size_t n = 0;
    if (!p->auth) {   /* the default greeting, socks5_methods_encode's */
        methods[n++] = PROXY_AUTH_NONE;
        if (p->has_auth)
            methods[n++] = PROXY_AUTH_USERPASS;
        return n;
    }
    unsigned set = p->auth;
    for (size_t i = 0; i < sizeof(auth_names) / sizeof(auth_names[0]); i++)
        if (set & auth_names[i].bit)
            methods[n++] = auth_names[i].bit;
    return n;
}

char *proxy_auth_describe(const struct proxy *p, char *buf, size_t size)
{
    unsigned methods[3];
    size_t n = proxy_auth_methods(p, methods), used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && used < size; i++) {
        char principal[PROXY_PRINCIPAL_MAX + 1];
        const char *sep = i == 0 ? "" : i + 1 == n ? " or " : ", ";
        int r;
        if (methods[i] == PROXY_AUTH_GSSAPI)
            r = snprintf(buf + used, size - used, "%sGSSAPI (Kerberos principal %s, no per-message protection)", sep,
                         proxy_gssapi_principal(p, principal, sizeof(principal)));
        else if (methods[i] == PROXY_AUTH_USERPASS)
            r = snprintf(buf + used, size - used, "%susername/password (user %s)", sep, p->user);
        else
            r = snprintf(buf + used, size - used, "%sno authentication", sep);
        if (r < 0)
            break;
        used += (size_t)r;
    }
    return buf;
}

const char *proxy_scheme(const struct proxy *p)
{
    switch (p->kind) {
    case PROXY_SOCKS4: return p->remote_dns ? "socks4a" : "socks4";
    case PROXY_HTTP: return "http";
    default: return p->remote_dns ? "socks5h" : "socks5";
    }
}

bool proxy_carries_names(const struct proxy *p)
{
    return p->kind != PROXY_SOCKS4 || p->remote_dns;
}

char *proxy_format(const struct proxy *p, char *buf, size_t size)
{
    const char *scheme = proxy_scheme(p);
    bool v6 = strchr(p->host, ':') != NULL;
    int n = snprintf(buf, size, "%s://%s%s%s%s%s:%u", scheme, p->has_auth ? p->user : "", p->has_auth ? "@" : "",
                     v6 ? "[" : "", p->host, v6 ? "]" : "", p->port);
    if (p->auth && n > 0 && (size_t)n < size) {
        int m = snprintf(buf + n, size - (size_t)n, "?auth=");
        for (size_t i = 0; m > 0 && (size_t)(n + m) < size && i < sizeof(auth_names) / sizeof(auth_names[0]); i++)
            if (p->auth & auth_names[i].bit)
                m += snprintf(buf + n + m, size - (size_t)(n + m), "%s%s", buf[n + m - 1] == '=' ? "" : ",",
                              auth_names[i].name);
    }
    return buf;
}

/* Appends s[0..n) to buf (size bytes, NUL kept room for) at *used. */
static void put(char *buf, size_t size, size_t *used, const char *s, size_t n)
{
    size_t room = size - 1 - *used;
    n = n < room ? n : room;
    memcpy(buf + *used, s, n);
    *used += n;
}

/* Appends the word w[0..n) with the userinfo after its first ':' up to its last '@' as "***". */
static void put_redacted(char *buf, size_t size, size_t *used, const char *w, size_t n)
{
    const char *at = memrchr(w, '@', n);
    const char *sep = memmem(w, n, "://", 3);
    const char *user = sep && at && sep < at ? sep + 3 : w;
    const char *colon = at ? memchr(user, ':', (size_t)(at - user)) : NULL;
    if (!colon) {
        put(buf, size, used, w, n);
        return;
    }
    put(buf, size, used, w, (size_t)(colon + 1 - w));
    put(buf, size, used, "***", 3);
    put(buf, size, used, at, (size_t)(w + n - at));
}

char *proxy_url_redact(const char *url, char *buf, size_t size)
{
    size_t used = 0;
    if (size == 0)
        return buf;
    put_redacted(buf, size, &used, url, strlen(url));
    buf[used] = '\0';
    return buf;
}

char *proxy_text_redact(const char *text, char *buf, size_t size)
{
    static const char separators[] = " \t\n'\"";
    size_t used = 0;
    if (size == 0)
        return buf;
    while (*text) {
        size_t gap = strspn(text, separators);
        put(buf, size, &used, text, gap);
        text += gap;
        size_t word = strcspn(text, separators);
        put_redacted(buf, size, &used, text, word);
        text += word;
    }
    buf[used] = '\0';
    return buf;
}

int proxy_resolve(struct proxy *p, proxy_getaddrinfo_fn resolve)
{
    if (p->has_addr)
        return 0;
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res = NULL;
    int r = resolve(p->host, NULL, &hints, &res);
    if (r != 0 || !res)
        return r != 0 ? r : EAI_NONAME;
    if (addr_from_sockaddr(&p->addr, res->ai_addr, res->ai_addrlen)) {
        addr_set_port(&p->addr, p->port);
        p->has_addr = true;
    }
    freeaddrinfo(res);
    return 0;
}
