/* Name lookups: getaddrinfo, gethostbyname*, gethostbyaddr*, getnameinfo. Names meant for the
 * proxy get fake addresses (never a local lookup); fake addresses turn back into their names. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fakedns.h"
#include "hostent.h"
#include "lookup.h"
#include "real.h"

/* The answer of the non-reentrant gethostbyname*() family: one per thread, unlike libc's. */
static __thread struct {
    struct hostent he;
    char buf[FAKEDNS_NAME_MAX + 1 + 16 + 4 * sizeof(char *)];
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

SOCKSIFY_EXPORT int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                                struct addrinfo **res)
{
    int flags = hints ? hints->ai_flags : 0;
    /* Numeric-only and passive lookups never reach a DNS server for a name the proxy must see. */
    if (!node || (flags & (AI_NUMERICHOST | AI_PASSIVE)))
        return libc()->getaddrinfo(node, service, hints, res);
    switch (lookup_decide(node)) {
    case LOOKUP_REAL: return libc()->getaddrinfo(node, service, hints, res);
    case LOOKUP_FAKE: return fake_getaddrinfo(node, service, hints, res);
    default: return EAI_FAIL;
    }
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

/* The answer for a name libc is not to resolve: a fake address, or a refusal. */
static int answer_name(enum lookup_verdict v, const char *name, int family, struct hostent *he, char *buf,
                       size_t buflen, struct hostent **result, int *herr)
{
    int r = EAGAIN;
    *herr = NO_RECOVERY;
    if (v == LOOKUP_FAKE)
        r = fake_hostent(name, family, he, buf, buflen, herr);
    *result = r ? NULL : he;
    return r;
}

SOCKSIFY_EXPORT int gethostbyname2_r(const char *name, int family, struct hostent *he, char *buf, size_t buflen,
                                     struct hostent **result, int *herr)
{
    enum lookup_verdict v = lookup_decide(name);
    if (v == LOOKUP_REAL)
        return libc()->gethostbyname2_r(name, family, he, buf, buflen, result, herr);
    return answer_name(v, name, family, he, buf, buflen, result, herr);
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

/* Looks a raw address up in the fake map: 1 with its name, 0 if it is no fake address (libc
 * answers), -ENOENT for a fake address with no name. */
static int reverse_raw(const void *addr, socklen_t len, int type, char *name)
{
    union sockaddr_any sa;
    return addr && raw_to_sockaddr(addr, len, type, &sa) ? lookup_reverse(&sa, name) : 0;
}

/* The answer for a fake address that reverse_raw found (found > 0) or not (found < 0). */
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
    char name[FAKEDNS_NAME_MAX + 1];
    int found = reverse_raw(addr, len, type, name);
    if (found == 0)
        return libc()->gethostbyaddr_r(addr, len, type, he, buf, buflen, result, herr);
    return answer_addr(found, name, addr, type, he, buf, buflen, result, herr);
}

SOCKSIFY_EXPORT struct hostent *gethostbyaddr(const void *addr, socklen_t len, int type)
{
    char name[FAKEDNS_NAME_MAX + 1];
    int found = reverse_raw(addr, len, type, name);
    if (found == 0)
        return libc()->gethostbyaddr(addr, len, type);
    struct hostent *result;
    int herr;
    answer_addr(found, name, addr, type, &host_answer.he, host_answer.buf, sizeof(host_answer.buf), &result, &herr);
    h_errno = herr;
    return result;
}

/* Copies a fake address's name as getnameinfo would, honouring NI_NOFQDN. */
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
    char name[FAKEDNS_NAME_MAX + 1];
    int found = host && hostlen && !(flags & NI_NUMERICHOST) && addr_from_sockaddr(&addr, sa, salen)
                    ? lookup_reverse(&addr, name) : 0;
    if (found <= 0 && !(found < 0 && (flags & NI_NAMEREQD)))
        return libc()->getnameinfo(sa, salen, host, hostlen, serv, servlen, flags);
    if (found < 0)
        return EAI_NONAME;
    int r = copy_host(name, host, hostlen, flags);
    if (r == 0 && serv && servlen)
        r = libc()->getnameinfo(sa, salen, NULL, 0, serv, servlen, flags);
    return r;
}
