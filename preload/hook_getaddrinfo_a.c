/* getaddrinfo_a(): while names are remote, libc's would ask the resolv.conf nameserver past the
 * proxy; every request is answered at once as the getaddrinfo hook answers it, then notified as
 * the program asked (GAI_WAIT, or SIGEV_THREAD / SIGEV_SIGNAL / SIGEV_NONE). */
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
