/* The resolver's own calls (res_query, res_search, res_querydomain, res_send and their res_n*
 * forms taking a resolver state, each also under the __res_ name older headers bound programs
 * to) and getaddrinfo_a. While names are remote these would send the program's DNS queries to
 * the resolv.conf nameserver past the proxy: the res_* calls are refused (unless dns local or
 * direct_dns yes), and getaddrinfo_a answers every request at once as the getaddrinfo hook does. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lookup.h"
#include "real.h"
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

/* What a SIGEV_THREAD notification calls, handed to its thread. */
struct notify_call {
    void (*function)(union sigval);
    union sigval value;
};

/* The notification thread, as glibc's: every signal blocked, then the program's function. */
static void *notify_thread(void *arg)
{
    struct notify_call call = *(struct notify_call *)arg;
    free(arg);
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, NULL);
    call.function(call.value);
    return NULL;
}

/* Starts the program's notification function in a new thread (detached unless the program gave
 * attributes). Returns 0 or -errno. */
static int notify_by_thread(const struct sigevent *sev)
{
    struct notify_call *call = malloc(sizeof(*call));
    if (!call)
        return -ENOMEM;
    *call = (struct notify_call){ sev->sigev_notify_function, sev->sigev_value };
    pthread_attr_t detached, *attr = sev->sigev_notify_attributes;
    if (!attr) {
        pthread_attr_init(&detached);
        pthread_attr_setdetachstate(&detached, PTHREAD_CREATE_DETACHED);
        attr = &detached;
    }
    pthread_t thread;
    int r = pthread_create(&thread, attr, notify_thread, call);
    if (attr == &detached)
        pthread_attr_destroy(&detached);
    if (r != 0)
        free(call);
    return -r;
}

/* Queues the program's signal to its main thread as glibc does (si_code SI_ASYNCNL). Returns 0 or -errno. */
static int notify_by_signal(const struct sigevent *sev)
{
    siginfo_t info;
    memset(&info, 0, sizeof(info));
    info.si_signo = sev->sigev_signo;
    info.si_code = SI_ASYNCNL;
    info.si_pid = getpid();
    info.si_uid = getuid();
    info.si_value = sev->sigev_value;
    if (libc()->syscall(SYS_rt_tgsigqueueinfo, info.si_pid, info.si_pid, info.si_signo, &info) < 0)
        return -errno;
    return 0;
}

/* Tells the program its GAI_NOWAIT requests are done, as sev says. Returns 0 or -errno. */
static int notify_done(const struct sigevent *sev)
{
    if (!sev || sev->sigev_notify == SIGEV_NONE)
        return 0;
    if (sev->sigev_notify == SIGEV_THREAD)
        return notify_by_thread(sev);
    if (sev->sigev_notify == SIGEV_SIGNAL)
        return notify_by_signal(sev);
    return -EINVAL;
}

SOCKSIFY_EXPORT int getaddrinfo_a(int mode, struct gaicb *list[], int nitems, struct sigevent *sev)
{
    if (!lookup_names_remote()) {
        if (libc()->getaddrinfo_a)
            return libc()->getaddrinfo_a(mode, list, nitems, sev);
        errno = ENOSYS;
        return EAI_SYSTEM;
    }
    if (mode != GAI_WAIT && mode != GAI_NOWAIT) {
        errno = EINVAL;
        return EAI_SYSTEM;
    }
    /* Every answer is ready at once: no resolver thread, nothing for the program to wait for;
     * gai_error() reads __return, and gai_suspend()/gai_cancel() find no request in progress. */
    for (int i = 0; i < nitems; i++) {
        if (!list[i])
            continue;
        list[i]->ar_result = NULL;
        list[i]->__return = resolve_getaddrinfo(list[i]->ar_name, list[i]->ar_service, list[i]->ar_request,
                                                &list[i]->ar_result);
    }
    int r = mode == GAI_NOWAIT ? notify_done(sev) : 0;
    if (r < 0) {
        errno = -r;
        return EAI_SYSTEM;
    }
    return 0;
}
