#include "names.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>

/* Compares a word of hosts_text (w, n bytes) with name, ignoring case and a trailing dot on either. */
static bool same_name(const char *w, size_t n, const char *name, size_t name_len)
{
    if (n > 0 && w[n - 1] == '.')
        n--;
    return n == name_len && strncasecmp(w, name, n) == 0;
}

/* True if one line of /etc/hosts (up to a newline) names `name` after its address. */
static bool line_has_name(const char *p, const char *end, const char *name, size_t name_len)
{
    bool first = true;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
            p++;
        if (p == end || *p == '#')
            return false;
        const char *w = p;
        while (p < end && *p != ' ' && *p != '\t' && *p != '\r' && *p != '#')
            p++;
        if (!first && same_name(w, (size_t)(p - w), name, name_len))
            return true;
        first = false;   /* the first word is the address */
    }
    return false;
}

static bool in_hosts(const char *hosts_text, const char *name, size_t name_len)
{
    for (const char *p = hosts_text; p && *p;) {
        const char *end = strchr(p, '\n');
        if (!end)
            end = p + strlen(p);
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

bool names_resolve_locally(const char *name, const char *hosts_text)
{
    struct in6_addr a6;
    if (!name || numeric_ipv4(name) || inet_pton(AF_INET6, name, &a6) == 1)
        return true;
    size_t len = strlen(name);
    if (len > 0 && name[len - 1] == '.')
        len--;
    return is_localhost(name, len) || in_hosts(hosts_text, name, len);
}
