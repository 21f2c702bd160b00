/* Name lookups: getaddrinfo, gethostbyname*, gethostbyaddr*, getnameinfo. Names meant for the
 * proxy get fake addresses (never a local lookup); fake addresses turn back into their names.
 * While names are remote, libc's resolver is never asked for a name or an address: it would ask
 * DNS for whatever /etc/hosts lacks (another family, "localhost.", a reverse lookup). Local names
 * and addresses are answered here from /etc/hosts as read at load, or loopback for localhost. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fakedns.h"
#include "hostent.h"
#include "lookup.h"
#include "libc.h"
#include "resolve.h"

/* The longest name a reverse lookup answers: a fake address's, or one from /etc/hosts. */
#define REVERSE_NAME_MAX (FAKEDNS_NAME_MAX > NAMES_NAME_MAX ? FAKEDNS_NAME_MAX : NAMES_NAME_MAX)

/* The answer of the non-reentrant gethostbyname*() family: one per thread, unlike libc's. */
static __thread struct {
    struct hostent he;
    char buf[FAKEDNS_NAME_MAX + NAMES_NAME_MAX + 2 + NAMES_ADDRS_MAX * (16 + sizeof(char *)) + 4 * sizeof(char *)];
} host_answer __attribute__((tls_model("initial-exec")));

/* getaddrinfo for a fake address: libc builds the list from its numeric form, so socktypes,
 * protocols, services and AI_NUMERICSERV behave exactly as libc's. */
static int fake_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res)
{
    struct addrinfo h = hints ? *hints : (struct addrinfo){ .ai_family = AF_UNSPEC };
    if (h.ai_family != AF_UNSPEC && h.ai_family != AF_INET && h.ai_family != AF_INET6)
        return EAI_FAMILY;
    h.ai_family = h.ai_family == AF_INET6 ? AF_INET6 : AF_INET;
    union sockaddr_any fake;
    if (lookup_fake_address(node, h.ai_family, &fake) < 0)
        return EAI_FAIL;
    char text[INET6_ADDRSTRLEN];
    inet_ntop(h.ai_family, h.ai_family == AF_INET ? (void *)&fake.in4.sin_addr : (void *)&fake.in6.sin6_addr, text,
              sizeof(text));
    int canon = h.ai_flags & AI_CANONNAME;
    h.ai_flags = (h.ai_flags & AI_NUMERICSERV) | AI_NUMERICHOST;
    h.ai_canonname = NULL, h.ai_addr = NULL, h.ai_next = NULL;
    int r = libc()->getaddrinfo(text, service, &h, res);
    /* libc's freeaddrinfo frees ai_canonname with free(): a strdup is what it expects. */
    if (r == 0 && canon && !((*res)->ai_canonname = strdup(node))) {
        freeaddrinfo(*res);
        return EAI_MEMORY;
    }
    return r;
}

/* The addresses answered locally for node under hints' family: an AF_INET6 lookup with
 * AI_V4MAPPED also gets the IPv4 ones when there is no IPv6 one (or always, with AI_ALL). */
static int local_addresses(const char *node, int family, int flags, struct names_answer *a)
{
    int n = lookup_local_answer(node, family, a);
    if (n < 0 || family != AF_INET6 || !(flags & AI_V4MAPPED) || (n > 0 && !(flags & AI_ALL)))
        return n;
    struct names_answer v4;
    for (int i = 0; i < lookup_local_answer(node, AF_INET, &v4) && a->count < NAMES_ADDRS_MAX; i++)
        a->addrs[a->count++] = v4.addrs[i];
    if (!a->canon[0] || n == 0)
        memcpy(a->canon, v4.canon, sizeof(a->canon));
    return (int)a->count;
}

/* getaddrinfo for a local answer: libc builds each address's entries from its numeric form, as
 * for fake addresses, and they are chained in the answer's order. */
static int answer_list(const struct names_answer *a, const char *service, const struct addrinfo *hints,
                       struct addrinfo **res)
{
    struct addrinfo h = *hints, *head = NULL, **tail = &head;
    h.ai_flags = (h.ai_flags & (AI_NUMERICSERV | AI_V4MAPPED)) | AI_NUMERICHOST;
    h.ai_canonname = NULL, h.ai_addr = NULL, h.ai_next = NULL;
    int r = 0;
    for (size_t i = 0; i < a->count && r == 0; i++) {
        char text[INET6_ADDRSTRLEN];
        inet_ntop(a->addrs[i].family, a->addrs[i].bytes, text, sizeof(text));
        r = libc()->getaddrinfo(text, service, &h, tail);
        while (r == 0 && *tail)
            tail = &(*tail)->ai_next;
    }
    /* libc's freeaddrinfo frees ai_canonname with free(): a strdup is what it expects. */
    if (r == 0 && head && (hints->ai_flags & AI_CANONNAME) && !(head->ai_canonname = strdup(a->canon)))
        r = EAI_MEMORY;
    if (r != 0 && head)
        freeaddrinfo(head);
    *res = r == 0 ? head : NULL;
    return r;
}

/* getaddrinfo for a local name while names are remote; EAI_NONAME if it has no address in the family. */
static int local_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                             struct addrinfo **res)
{
    struct addrinfo h = hints ? *hints : (struct addrinfo){ .ai_family = AF_UNSPEC };
    if (h.ai_family != AF_UNSPEC && h.ai_family != AF_INET && h.ai_family != AF_INET6)
        return EAI_FAMILY;
    struct names_answer a;
    if (local_addresses(node, h.ai_family, h.ai_flags, &a) <= 0)
        return EAI_NONAME;
    return answer_list(&a, service, &h, res);
}

/* libc for a numeric host (or none). While names are remote, AI_NUMERICHOST makes sure libc only
 * parses the number and asks nobody. */
static int real_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                            struct addrinfo **res)
{
    if (!node || !lookup_names_remote())
        return libc()->getaddrinfo(node, service, hints, res);
    struct addrinfo h = hints ? *hints : (struct addrinfo){ .ai_family = AF_UNSPEC };
    h.ai_flags |= AI_NUMERICHOST;
    return libc()->getaddrinfo(node, service, &h, res);
}

int resolve_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res)
{
    int flags = hints ? hints->ai_flags : 0;
    /* Without a name nothing is resolved; a numeric-only lookup never reaches a resolver. AI_PASSIVE
     * changes nothing for a given name (POSIX ignores it then): the same decision applies. */
    if (!node || (flags & AI_NUMERICHOST))
        return libc()->getaddrinfo(node, service, hints, res);
    switch (lookup_decide(node)) {
    case LOOKUP_REAL: return real_getaddrinfo(node, service, hints, res);
    case LOOKUP_LOCAL: return local_getaddrinfo(node, service, hints, res);
    case LOOKUP_FAKE: return fake_getaddrinfo(node, service, hints, res);
    default: return EAI_FAIL;
    }
}

SOCKSIFY_EXPORT int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                                struct addrinfo **res)
{
    return resolve_getaddrinfo(node, service, hints, res);
}

/* Fills he for name's fake address in family. Returns 0 or an errno (ERANGE, EAFNOSUPPORT). */
static int fake_hostent(const char *name, int family, struct hostent *he, char *buf, size_t buflen, int *herr)
{
    union sockaddr_any fake;
    *herr = NO_RECOVERY;
    if (family != AF_INET && family != AF_INET6)
        return EAFNOSUPPORT;
    if (lookup_fake_address(name, family, &fake) < 0)
        return EAGAIN;
    const void *addr = family == AF_INET ? (const void *)&fake.in4.sin_addr : (const void *)&fake.in6.sin6_addr;
    int r = hostent_fill(he, name, family, addr, buf, buflen);
    *herr = r == ERANGE ? NETDB_INTERNAL : 0;
    return r;
}

/* Fills he for a local name's addresses in family; "no such name" (0, *herr HOST_NOT_FOUND, as
 * glibc's not-found) if it has none there. Returns 0 or an errno (ERANGE, EAFNOSUPPORT). */
static int local_hostent(const char *name, int family, struct hostent *he, char *buf, size_t buflen, int *herr)
{
    struct names_answer a;
    unsigned char packed[NAMES_ADDRS_MAX * 16];
    *herr = NETDB_INTERNAL;
    if (family != AF_INET && family != AF_INET6)
        return EAFNOSUPPORT;
    size_t addr_len = family == AF_INET6 ? 16 : 4;
    int n = lookup_local_answer(name, family, &a);
    *herr = HOST_NOT_FOUND;
    if (n <= 0)
        return -1;   /* not an errno: the caller's "no answer" */
    for (int i = 0; i < n; i++)
        memcpy(packed + (size_t)i * addr_len, a.addrs[i].bytes, addr_len);
    int r = hostent_fill_many(he, a.canon, family, packed, (size_t)n, buf, buflen);
    *herr = r ? NETDB_INTERNAL : 0;
    return r;
}

/* The answer for a name libc is not to resolve: a local answer, a fake address, or a refusal. */
static int answer_name(enum lookup_verdict v, const char *name, int family, struct hostent *he, char *buf,
                       size_t buflen, struct hostent **result, int *herr)
{
    int r = EAGAIN;
    *herr = NO_RECOVERY;
    if (v == LOOKUP_FAKE)
        r = fake_hostent(name, family, he, buf, buflen, herr);
    else if (v == LOOKUP_LOCAL)
        r = local_hostent(name, family, he, buf, buflen, herr);
    *result = r ? NULL : he;
    return r < 0 ? 0 : r;
}

SOCKSIFY_EXPORT int gethostbyname2_r(const char *name, int family, struct hostent *he, char *buf, size_t buflen,
                                     struct hostent **result, int *herr)
{
    enum lookup_verdict v = lookup_decide(name);
    if (v == LOOKUP_REAL)
        return libc()->gethostbyname2_r(name, family, he, buf, buflen, result, herr);
    int r = answer_name(v, name, family, he, buf, buflen, result, herr);
    /* glibc's _r functions set h_errno too, and programs (python) read that one. */
    if (!*result)
        h_errno = *herr;
    return r;
}

SOCKSIFY_EXPORT int gethostbyname_r(const char *name, struct hostent *he, char *buf, size_t buflen,
                                    struct hostent **result, int *herr)
{
    return gethostbyname2_r(name, AF_INET, he, buf, buflen, result, herr);
}

SOCKSIFY_EXPORT struct hostent *gethostbyname2(const char *name, int family)
{
    enum lookup_verdict v = lookup_decide(name);
    if (v == LOOKUP_REAL)
        return libc()->gethostbyname2(name, family);
    struct hostent *result;
    int herr;
    int r = answer_name(v, name, family, &host_answer.he, host_answer.buf, sizeof(host_answer.buf), &result, &herr);
    h_errno = herr;
    if (r)
        errno = r;
    return result;
}

SOCKSIFY_EXPORT struct hostent *gethostbyname(const char *name)
{
    return gethostbyname2(name, AF_INET);
}

/* The socket address for a raw address of type/len, for the map; false if it is not IPv4/IPv6. */
static bool raw_to_sockaddr(const void *addr, socklen_t len, int type, union sockaddr_any *out)
{
    memset(out, 0, sizeof(*out));
    if (type == AF_INET && len == 4) {
        out->in4.sin_family = AF_INET;
        memcpy(&out->in4.sin_addr, addr, 4);
        return true;
    }
    if (type == AF_INET6 && len == 16) {
        out->in6.sin6_family = AF_INET6;
        memcpy(&out->in6.sin6_addr, addr, 16);
        return true;
    }
    return false;
}

/* A name for an address: a fake address's, or while names are remote the one /etc/hosts lists.
 * Returns 1 with the name (REVERSE_NAME_MAX + 1 bytes), 0 if libc answers (dns local, or an
 * address that is not IPv4/IPv6 while names are local), -ENOENT if there is none. */
static int reverse_name(const union sockaddr_any *sa, char *name)
{
    int found = sa ? lookup_reverse(sa, name) : 0;
    if (found != 0 || !lookup_names_remote())
        return found;
    return sa && lookup_hosts_reverse(sa, name, REVERSE_NAME_MAX + 1) == 0 ? 1 : -ENOENT;
}

/* reverse_name for a raw address of type/len. */
static int reverse_raw(const void *addr, socklen_t len, int type, char *name)
{
    union sockaddr_any sa;
    return reverse_name(addr && raw_to_sockaddr(addr, len, type, &sa) ? &sa : NULL, name);
}

/* The answer for an address that reverse_raw named (found > 0) or not (found < 0). */
static int answer_addr(int found, const char *name, const void *addr, int type, struct hostent *he, char *buf,
                       size_t buflen, struct hostent **result, int *herr)
{
    int r = found < 0 ? ENOENT : hostent_fill(he, name, type, addr, buf, buflen);
    *herr = found < 0 ? HOST_NOT_FOUND : r ? NETDB_INTERNAL : 0;
    *result = r ? NULL : he;
    return r;
}

SOCKSIFY_EXPORT int gethostbyaddr_r(const void *addr, socklen_t len, int type, struct hostent *he, char *buf,
                                    size_t buflen, struct hostent **result, int *herr)
{
    char name[REVERSE_NAME_MAX + 1];
    int found = reverse_raw(addr, len, type, name);
    if (found == 0)
        return libc()->gethostbyaddr_r(addr, len, type, he, buf, buflen, result, herr);
    int r = answer_addr(found, name, addr, type, he, buf, buflen, result, herr);
    if (!*result)
        h_errno = *herr;   /* as in gethostbyname2_r */
    return r;
}

SOCKSIFY_EXPORT struct hostent *gethostbyaddr(const void *addr, socklen_t len, int type)
{
    char name[REVERSE_NAME_MAX + 1];
    int found = reverse_raw(addr, len, type, name);
    if (found == 0)
        return libc()->gethostbyaddr(addr, len, type);
    struct hostent *result;
    int herr;
    answer_addr(found, name, addr, type, &host_answer.he, host_answer.buf, sizeof(host_answer.buf), &result, &herr);
    h_errno = herr;
    return result;
}

/* Copies an address's name as getnameinfo would, honouring NI_NOFQDN. */
static int copy_host(const char *name, char *host, socklen_t hostlen, int flags)
{
    size_t n = strlen(name);
    const char *dot = (flags & NI_NOFQDN) ? strchr(name, '.') : NULL;
    if (dot)
        n = (size_t)(dot - name);
    if (n >= hostlen)
        return EAI_OVERFLOW;
    memcpy(host, name, n);
    host[n] = '\0';
    return 0;
}

SOCKSIFY_EXPORT int getnameinfo(const struct sockaddr *sa, socklen_t salen, char *host, socklen_t hostlen, char *serv,
                                socklen_t servlen, int flags)
{
    union sockaddr_any addr;
    char name[REVERSE_NAME_MAX + 1];
    int found = host && hostlen && !(flags & NI_NUMERICHOST) && addr_from_sockaddr(&addr, sa, salen)
                    ? reverse_name(&addr, name) : 0;
    if (found == 0)
        return libc()->getnameinfo(sa, salen, host, hostlen, serv, servlen, flags);
    /* No name (an address neither fake-mapped nor in /etc/hosts): the numeric form, as libc gives
     * when DNS has no name either, without asking DNS. */
    if (found < 0)
        return (flags & NI_NAMEREQD) ? EAI_NONAME
                                     : libc()->getnameinfo(sa, salen, host, hostlen, serv, servlen, flags | NI_NUMERICHOST);
    int r = copy_host(name, host, hostlen, flags);
    if (r == 0 && serv && servlen)
        r = libc()->getnameinfo(sa, salen, NULL, 0, serv, servlen, flags);
    return r;
}
