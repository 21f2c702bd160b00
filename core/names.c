#include "names.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

/* Compares a word of hosts_text (w, n bytes) with name, ignoring case and a trailing dot on either. */
static bool same_name(const char *w, size_t n, const char *name, size_t name_len)
{
    if (n > 0 && w[n - 1] == '.')
        n--;
    return n == name_len && strncasecmp(w, name, n) == 0;
}

/* The next word of a hosts line [*p, end) in (w, n); false at the end of the line or at a comment. */
static bool next_word(const char **p, const char *end, const char **w, size_t *n)
{
    const char *s = *p;
    while (s < end && (*s == ' ' || *s == '\t' || *s == '\r'))
        s++;
    if (s == end || *s == '#') {
        *p = end;
        return false;
    }
    *w = s;
    while (s < end && *s != ' ' && *s != '\t' && *s != '\r' && *s != '#')
        s++;
    *n = (size_t)(s - *w);
    *p = s;
    return true;
}

/* The end of the line starting at p (its newline, or the final NUL). */
static const char *line_end(const char *p)
{
    const char *end = strchr(p, '\n');
    return end ? end : p + strlen(p);
}

/* True if one line of /etc/hosts (up to end) names `name` after its address. */
static bool line_has_name(const char *p, const char *end, const char *name, size_t name_len)
{
    const char *w;
    size_t n;
    if (!next_word(&p, end, &w, &n))   /* the first word is the address */
        return false;
    while (next_word(&p, end, &w, &n))
        if (same_name(w, n, name, name_len))
            return true;
    return false;
}

/* The address a hosts line starts with; false if it has none socksify can read. */
static bool line_address(const char *p, const char *end, struct names_address *a)
{
    const char *w;
    size_t n;
    char text[INET6_ADDRSTRLEN];
    if (!next_word(&p, end, &w, &n) || n >= sizeof(text))
        return false;
    memcpy(text, w, n);
    text[n] = '\0';
    memset(a, 0, sizeof(*a));
    a->family = inet_pton(AF_INET, text, a->bytes) == 1 ? AF_INET
              : inet_pton(AF_INET6, text, a->bytes) == 1 ? AF_INET6 : AF_UNSPEC;
    return a->family != AF_UNSPEC;
}

/* Copies the first name of a hosts line into name (size bytes); -ENOENT if it has none. */
static int line_first_name(const char *p, const char *end, char *name, size_t size)
{
    const char *w;
    size_t n;
    if (!next_word(&p, end, &w, &n) || !next_word(&p, end, &w, &n))
        return -ENOENT;
    if (n >= size)
        return -ERANGE;
    memcpy(name, w, n);
    name[n] = '\0';
    return 0;
}

static bool in_hosts(const char *hosts_text, const char *name, size_t name_len)
{
    for (const char *p = hosts_text; p && *p;) {
        const char *end = line_end(p);
        if (line_has_name(p, end, name, name_len))
            return true;
        p = *end ? end + 1 : end;
    }
    return false;
}

static bool is_localhost(const char *name, size_t len)
{
    static const char suffix[] = ".localhost";
    size_t slen = sizeof(suffix) - 1;
    if (len == slen - 1 && strncasecmp(name, suffix + 1, len) == 0)
        return true;
    return len > slen && strncasecmp(name + len - slen, suffix, slen) == 0;
}

/* inet_aton also accepts "1.2.3.4 anything": libc's resolver does not, and would send such a
 * name to a DNS server. Only the characters of numeric forms count as numeric. */
static bool numeric_ipv4(const char *name)
{
    struct in_addr a4;
    return name[0] && name[strspn(name, "0123456789abcdefABCDEFxX.")] == '\0' && inet_aton(name, &a4);
}

/* An IPv6 address, with or without a scope ("fe80::1%eth0"), which getaddrinfo reads itself. */
static bool numeric_ipv6(const char *name)
{
    struct in6_addr a6;
    char text[INET6_ADDRSTRLEN];
    size_t n = strcspn(name, "%");
    if (n >= sizeof(text))
        return false;
    memcpy(text, name, n);
    text[n] = '\0';
    return inet_pton(AF_INET6, text, &a6) == 1;
}

/* The name's length without a trailing dot. */
static size_t name_length(const char *name)
{
    size_t len = strlen(name);
    return len > 0 && name[len - 1] == '.' ? len - 1 : len;
}

bool names_resolve_locally(const char *name, const char *hosts_text)
{
    if (!name || numeric_ipv4(name) || numeric_ipv6(name))
        return true;
    size_t len = name_length(name);
    return is_localhost(name, len) || in_hosts(hosts_text, name, len);
}

enum names_verdict names_decide(const char *name, enum dns_mode mode, const char *hosts_text)
{
    if (mode == DNS_LOCAL || !name || numeric_ipv4(name) || numeric_ipv6(name))
        return NAMES_LIBC;
    if (names_resolve_locally(name, hosts_text))
        return NAMES_LOCAL;
    return mode == DNS_REMOTE ? NAMES_REMOTE : NAMES_REFUSED;
}

bool names_resolver_allowed(const struct config *c)
{
    return c && (config_dns_mode(c) == DNS_LOCAL || c->direct_dns);
}

/* RFC 6724's default precedence of a destination, which glibc's getaddrinfo sorts by (rule 6). */
static int precedence(const struct names_address *a)
{
    static const unsigned char loopback6[16] = { [15] = 1 }, mapped[12] = { [10] = 0xff, [11] = 0xff };
    const unsigned char *b = a->bytes;
    if (a->family == AF_INET || memcmp(b, mapped, 12) == 0)
        return 35;
    if (memcmp(b, loopback6, 16) == 0)
        return 50;
    if (b[0] == 0x20 && b[1] == 0x02)
        return 30;
    if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] == 0)
        return 5;
    if ((b[0] & 0xfe) == 0xfc)
        return 3;
    static const unsigned char zero[12];
    if ((b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) || (b[0] == 0x3f && b[1] == 0xfe) || memcmp(b, zero, 12) == 0)
        return 1;
    return 40;
}

/* Stable sort by descending precedence: the order glibc gives both families in, other rules aside. */
static void sort_by_precedence(struct names_answer *out)
{
    for (size_t i = 1; i < out->count; i++) {
        struct names_address a = out->addrs[i];
        size_t j = i;
        for (; j > 0 && precedence(&out->addrs[j - 1]) < precedence(&a); j--)
            out->addrs[j] = out->addrs[j - 1];
        out->addrs[j] = a;
    }
}

static bool family_wanted(int wanted, int family)
{
    return wanted == AF_UNSPEC || wanted == family;
}

/* Adds a to out unless it is there already (a name on two lines of one address) or out is full. */
static void add_address(struct names_answer *out, const struct names_address *a)
{
    for (size_t i = 0; i < out->count; i++)
        if (out->addrs[i].family == a->family && memcmp(out->addrs[i].bytes, a->bytes, 16) == 0)
            return;
    if (out->count < NAMES_ADDRS_MAX)
        out->addrs[out->count++] = *a;
}

/* Collects name's addresses of family from hosts_text into out; returns true if any line lists the name. */
static bool hosts_addresses(const char *hosts_text, const char *name, int family, struct names_answer *out)
{
    bool listed = false;
    size_t len = name_length(name);
    for (const char *p = hosts_text; p && *p;) {
        const char *end = line_end(p);
        struct names_address a;
        if (line_has_name(p, end, name, len)) {
            listed = true;
            if (line_address(p, end, &a) && family_wanted(family, a.family)) {
                if (out->count == 0)
                    line_first_name(p, end, out->canon, sizeof(out->canon));
                add_address(out, &a);
            }
        }
        p = *end ? end + 1 : end;
    }
    return listed;
}

/* Adds the loopback address of each wanted family (RFC 6761: localhost names are loopback). */
static void add_loopback(struct names_answer *out, int family)
{
    struct names_address a = { .family = AF_INET6, .bytes = { [15] = 1 } };
    if (family_wanted(family, AF_INET6))
        add_address(out, &a);
    a = (struct names_address){ .family = AF_INET, .bytes = { 127, 0, 0, 1 } };
    if (family_wanted(family, AF_INET))
        add_address(out, &a);
}

int names_local_answer(const char *name, int family, const char *hosts_text, struct names_answer *out)
{
    memset(out, 0, sizeof(*out));
    if (!name)
        return -ENOENT;
    bool listed = hosts_addresses(hosts_text, name, family, out);
    bool localhost = is_localhost(name, name_length(name));
    if (!listed && !localhost)
        return -ENOENT;
    if (out->count == 0 && localhost)
        add_loopback(out, family);
    if (!out->canon[0] && strlen(name) < sizeof(out->canon))
        strcpy(out->canon, name);
    if (family == AF_UNSPEC)
        sort_by_precedence(out);
    return (int)out->count;
}

int names_hosts_name_for(const char *hosts_text, int family, const void *addr, char *name, size_t size)
{
    size_t addr_len = family == AF_INET6 ? 16 : 4;
    for (const char *p = hosts_text; p && *p;) {
        const char *end = line_end(p);
        struct names_address a;
        if (line_address(p, end, &a) && a.family == family && memcmp(a.bytes, addr, addr_len) == 0) {
            int r = line_first_name(p, end, name, size);
            if (r != -ENOENT)
                return r;
        }
        p = *end ? end + 1 : end;
    }
    return -ENOENT;
}
