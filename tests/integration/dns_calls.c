/* Name lookups through every libc entry point that can reach a DNS server, for test_dnsleak.py.
 * Built with cc (and -lresolv) into the test's temp dir. One line per call, "KEY ..." words:
 *
 *   dns_calls res NAME                 res_query, res_search, res_querydomain, res_send, res_nquery,
 *                                      res_nsearch, res_nquerydomain, res_nsend, and the __res_ aliases
 *                                      (found with dlsym, as old binaries bind them): "RES CALL rc h_errno errno"
 *   dns_calls gai_a MODE NAME FAMILY...   getaddrinfo_a with MODE wait|thread|signal|none (GAI_NOWAIT with
 *                                      that notification; bounded waits): "GAIA NAME rc ADDR..." then "NOTIFIED ..."
 *   dns_calls gai NAME FAMILY [passive]   getaddrinfo: "GAI rc ADDR..."
 *   dns_calls hostent NAME FAMILY      gethostbyname2 and gethostbyname2_r (and gethostbyname for inet):
 *                                      "GBN2 h_errno NAME ADDR...", "GBN2R rc h_errno NAME ADDR...", "GBN ..."
 *   dns_calls reverse ADDR             gethostbyaddr, gethostbyaddr_r, getnameinfo (0, NI_NAMEREQD):
 *                                      "GBA h_errno NAME", "GBAR rc h_errno NAME", "GNI rc HOST", "GNIREQ rc HOST"
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <netdb.h>
#include <resolv.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int family_of(const char *s)
{
    return !strcmp(s, "inet") ? AF_INET : !strcmp(s, "inet6") ? AF_INET6 : AF_UNSPEC;
}

static void print_addrinfo(const struct addrinfo *ai)
{
    char text[INET6_ADDRSTRLEN];
    for (; ai; ai = ai->ai_next) {
        if (ai->ai_socktype != SOCK_STREAM)
            continue;
        const void *a = ai->ai_family == AF_INET ? (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr
                                                 : (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
        printf(" %s", inet_ntop(ai->ai_family, a, text, sizeof(text)));
    }
    printf("\n");
}

static void print_hostent(const struct hostent *he)
{
    char text[INET6_ADDRSTRLEN];
    printf(" %s", he ? he->h_name : "-");
    for (char **p = he ? he->h_addr_list : NULL; p && *p; p++)
        printf(" %s", inet_ntop(he->h_addrtype, *p, text, sizeof(text)));
    printf("\n");
}

static void res_line(const char *call, int rc, int err)
{
    printf("RES %s rc=%d h_errno=%d errno=%s\n", call, rc, h_errno, rc < 0 ? strerrorname_np(err) : "0");
}

static int cmd_res(const char *name)
{
    unsigned char answer[512], query[512];
    struct __res_state st;
    memset(&st, 0, sizeof(st));
    res_ninit(&st);
    int qlen = res_mkquery(QUERY, name, C_IN, T_A, NULL, 0, NULL, query, sizeof(query));
    int rc;
#define TRY(call, expr) (errno = 0, h_errno = 0, rc = (expr), res_line(call, rc, errno))
    TRY("res_query", res_query(name, C_IN, T_A, answer, sizeof(answer)));
    TRY("res_search", res_search(name, C_IN, T_A, answer, sizeof(answer)));
    TRY("res_querydomain", res_querydomain("target", "sx.test", C_IN, T_A, answer, sizeof(answer)));
    TRY("res_send", res_send(query, qlen, answer, sizeof(answer)));
    TRY("res_nquery", res_nquery(&st, name, C_IN, T_A, answer, sizeof(answer)));
    TRY("res_nsearch", res_nsearch(&st, name, C_IN, T_A, answer, sizeof(answer)));
    TRY("res_nquerydomain", res_nquerydomain(&st, "target", "sx.test", C_IN, T_A, answer, sizeof(answer)));
    TRY("res_nsend", res_nsend(&st, query, qlen, answer, sizeof(answer)));
    printf("STATE res_h_errno=%d\n", st.res_h_errno);
    /* Binaries built before glibc 2.34 call these names. */
    int (*q)(const char *, int, int, unsigned char *, int) = dlsym(RTLD_DEFAULT, "__res_query");
    int (*ns)(res_state, const unsigned char *, int, unsigned char *, int) = dlsym(RTLD_DEFAULT, "__res_nsend");
    int (*s)(const char *, int, int, unsigned char *, int) = dlsym(RTLD_DEFAULT, "__res_search");
    if (q)
        TRY("__res_query", q(name, C_IN, T_A, answer, sizeof(answer)));
    if (s)
        TRY("__res_search", s(name, C_IN, T_A, answer, sizeof(answer)));
    if (ns)
        TRY("__res_nsend", ns(&st, query, qlen, answer, sizeof(answer)));
    res_nclose(&st);
    return 0;
}

static sem_t notified;
static void on_notify(union sigval v)
{
    printf("NOTIFIED thread value=%d\n", v.sival_int);
    fflush(stdout);
    sem_post(&notified);
}

/* Waits (at most 5 s) for the notification mode asked for. */
static void wait_notification(const char *mode, const sigset_t *set)
{
    struct timespec deadline, five = { 5, 0 };
    if (!strcmp(mode, "thread")) {
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += 5;
        printf(sem_timedwait(&notified, &deadline) == 0 ? "" : "NOTIFIED none (timeout)\n");
    } else if (!strcmp(mode, "signal")) {
        siginfo_t info;
        if (sigtimedwait(set, &info, &five) == SIGRTMIN)
            printf("NOTIFIED signal code=%d value=%d\n", info.si_code, info.si_value.sival_int);
        else
            printf("NOTIFIED none (timeout)\n");
    }
}

static int cmd_gai_a(const char *mode, int n, char **args)
{
    struct gaicb reqs[16], *list[16];
    struct addrinfo hints[16];
    n = n > 16 ? 16 : n;
    for (int i = 0; i < n; i++) {
        hints[i] = (struct addrinfo){ .ai_family = family_of(args[2 * i + 1]), .ai_socktype = SOCK_STREAM };
        reqs[i] = (struct gaicb){ .ar_name = args[2 * i], .ar_request = &hints[i] };
        list[i] = &reqs[i];
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGRTMIN);
    sigprocmask(SIG_BLOCK, &set, NULL);
    sem_init(&notified, 0, 0);
    struct sigevent sev = { .sigev_value.sival_int = 42 };
    sev.sigev_notify = !strcmp(mode, "thread") ? SIGEV_THREAD : !strcmp(mode, "signal") ? SIGEV_SIGNAL : SIGEV_NONE;
    sev.sigev_signo = SIGRTMIN;
    sev.sigev_notify_function = on_notify;
    int rc = getaddrinfo_a(strcmp(mode, "wait") ? GAI_NOWAIT : GAI_WAIT, list, n, &sev);
    printf("GETADDRINFO_A rc=%d\n", rc);
    wait_notification(mode, &set);
    for (int i = 0; i < n; i++) {
        /* Bounded: at most 5 s for requests still in progress. */
        struct timespec five = { 5, 0 };
        const struct gaicb *one[1] = { list[i] };
        gai_suspend(one, 1, &five);
        printf("GAIA %s rc=%d", reqs[i].ar_name, gai_error(list[i]));
        print_addrinfo(gai_error(list[i]) == 0 ? reqs[i].ar_result : NULL);
    }
    return 0;
}

static int cmd_gai(const char *name, const char *family, int passive)
{
    struct addrinfo hints = { .ai_family = family_of(family), .ai_socktype = SOCK_STREAM,
                              .ai_flags = passive ? AI_PASSIVE : 0 }, *res = NULL;
    int rc = getaddrinfo(name, "80", &hints, &res);
    printf("GAI rc=%d", rc);
    print_addrinfo(rc == 0 ? res : NULL);
    if (rc == 0)
        freeaddrinfo(res);
    return 0;
}

static int cmd_hostent(const char *name, int family)
{
    struct hostent he, *result = NULL;
    char buf[2048];
    int herr = 0;
    h_errno = 0;
    struct hostent *h = gethostbyname2(name, family);
    printf("GBN2 h_errno=%d", h ? 0 : h_errno);
    print_hostent(h);
    int rc = gethostbyname2_r(name, family, &he, buf, sizeof(buf), &result, &herr);
    printf("GBN2R rc=%d h_errno=%d", rc, result ? 0 : herr);
    print_hostent(result);
    if (family == AF_INET) {
        h = gethostbyname(name);
        printf("GBN h_errno=%d", h ? 0 : h_errno);
        print_hostent(h);
    }
    return 0;
}

static int cmd_reverse(const char *text)
{
    union { struct sockaddr sa; struct sockaddr_in in4; struct sockaddr_in6 in6; } sa;
    memset(&sa, 0, sizeof(sa));
    int family = strchr(text, ':') ? AF_INET6 : AF_INET;
    void *raw = family == AF_INET ? (void *)&sa.in4.sin_addr : (void *)&sa.in6.sin6_addr;
    socklen_t len = family == AF_INET ? sizeof(sa.in4) : sizeof(sa.in6);
    sa.sa.sa_family = (sa_family_t)family;
    if (inet_pton(family, text, raw) != 1)
        return 2;
    h_errno = 0;
    struct hostent *h = gethostbyaddr(raw, family == AF_INET ? 4 : 16, family);
    printf("GBA h_errno=%d %s\n", h ? 0 : h_errno, h ? h->h_name : "-");
    struct hostent he, *result = NULL;
    char buf[2048], host[NI_MAXHOST];
    int herr = 0;
    int rc = gethostbyaddr_r(raw, family == AF_INET ? 4 : 16, family, &he, buf, sizeof(buf), &result, &herr);
    printf("GBAR rc=%d h_errno=%d %s\n", rc, result ? 0 : herr, result ? result->h_name : "-");
    rc = getnameinfo(&sa.sa, len, host, sizeof(host), NULL, 0, 0);
    printf("GNI rc=%d %s\n", rc, rc ? "-" : host);
    rc = getnameinfo(&sa.sa, len, host, sizeof(host), NULL, 0, NI_NAMEREQD);
    printf("GNIREQ rc=%d %s\n", rc, rc ? "-" : host);
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc >= 3 && !strcmp(argv[1], "res"))
        return cmd_res(argv[2]);
    if (argc >= 5 && !strcmp(argv[1], "gai_a") && argc % 2 == 1)
        return cmd_gai_a(argv[2], (argc - 3) / 2, argv + 3);
    if (argc >= 4 && !strcmp(argv[1], "gai"))
        return cmd_gai(argv[2], argv[3], argc > 4 && !strcmp(argv[4], "passive"));
    if (argc >= 4 && !strcmp(argv[1], "hostent"))
        return cmd_hostent(argv[2], family_of(argv[3]));
    if (argc >= 3 && !strcmp(argv[1], "reverse"))
        return cmd_reverse(argv[2]);
    fprintf(stderr, "usage: see the comment at the top of dns_calls.c\n");
    return 2;
}
