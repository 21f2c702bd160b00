/* The resolver's own calls: res_query, res_search, res_querydomain, res_send and their res_n*
 * forms taking a resolver state, each also under the __res_ name older headers bound programs
 * to. While names are remote these would send the program's DNS queries to the resolv.conf
 * nameserver past the proxy: they are refused (unless dns local or direct_dns yes). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lookup.h"
#include "libc.h"
#include "resolve.h"

/* The refusal of a query the program would send itself: -1, h_errno (and the state's copy of it)
 * NO_RECOVERY (retrying will not help), errno ECONNREFUSED. */
static int refuse_query(const char *call, const char *name, res_state statp)
{
    log_msg(LOG_ERROR, "%s(%.255s) refused: names are resolved by the proxy (dns local or direct_dns yes allow it)",
            call, name ? name : "");
    if (statp)
        statp->res_h_errno = NO_RECOVERY;
    h_errno = NO_RECOVERY;
    errno = ECONNREFUSED;
    return -1;
}

/* Defines hook `name` with parameters params, passing args to the real call if the program may
 * ask DNS itself, and exports it under `__name` too. qname is the name queried, for the log. */
#define RES_HOOK(name, params, args, qname, statp)                                      \
    SOCKSIFY_EXPORT int name params                                                     \
    {                                                                                   \
        if (!lookup_resolver_allowed() || !libc()->name)                                \
            return refuse_query(#name, qname, statp);                                   \
        return libc()->name args;                                                       \
    }                                                                                   \
    extern __typeof(name) __##name __attribute__((alias(#name), copy(name), visibility("default")));

RES_HOOK(res_query, (const char *dname, int class, int type, unsigned char *answer, int anslen),
         (dname, class, type, answer, anslen), dname, NULL)
RES_HOOK(res_search, (const char *dname, int class, int type, unsigned char *answer, int anslen),
         (dname, class, type, answer, anslen), dname, NULL)
RES_HOOK(res_querydomain,
         (const char *name, const char *domain, int class, int type, unsigned char *answer, int anslen),
         (name, domain, class, type, answer, anslen), name, NULL)
RES_HOOK(res_send, (const unsigned char *msg, int msglen, unsigned char *answer, int anslen),
         (msg, msglen, answer, anslen), "", NULL)
RES_HOOK(res_nquery, (res_state statp, const char *dname, int class, int type, unsigned char *answer, int anslen),
         (statp, dname, class, type, answer, anslen), dname, statp)
RES_HOOK(res_nsearch, (res_state statp, const char *dname, int class, int type, unsigned char *answer, int anslen),
         (statp, dname, class, type, answer, anslen), dname, statp)
RES_HOOK(res_nquerydomain,
         (res_state statp, const char *name, const char *domain, int class, int type, unsigned char *answer,
          int anslen),
         (statp, name, domain, class, type, answer, anslen), name, statp)
RES_HOOK(res_nsend, (res_state statp, const unsigned char *msg, int msglen, unsigned char *answer, int anslen),
         (statp, msg, msglen, answer, anslen), "", statp)
