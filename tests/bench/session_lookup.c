/*
 * bench-session-lookup: the cost of name lookups through a socksify session's shared map. Run
 * preloaded with libsocksify.so, names remote (socks5h://), in a session (SOCKSIFY_SESSION_DIR).
 *
 *   bench-session-lookup hit   N          N getaddrinfo() of one name already in the map
 *   bench-session-lookup fill  N PREFIX   resolves PREFIX0 .. PREFIX<N-1> (another process's names)
 *   bench-session-lookup cross N PREFIX   after `fill` ran in another process: getaddrinfo() and
 *                                         getnameinfo() of each of those names / fake addresses
 *   bench-session-lookup first            the first getaddrinfo() of a fresh process (loads the
 *                                         configuration, maps the session's file), then a second
 *
 * Output (stdout), one line per measure:  WHAT NS ns/op n=N
 * Exit status 0, 1 on a failed lookup, 2 on usage.
 */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* One IPv4 lookup of name into out (may be NULL); 0 or -1 with a message. */
static int lookup(const char *name, struct sockaddr_storage *out)
{
    struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *res;
    int r = getaddrinfo(name, "80", &hints, &res);
    if (r != 0) {
        fprintf(stderr, "bench-session-lookup: %s: %s\n", name, gai_strerror(r));
        return -1;
    }
    if (out)
        memcpy(out, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return 0;
}

static int hit(long n)
{
    if (lookup("hit.bench.test", NULL) < 0)
        return 1;
    double t0 = now_ns();
    for (long i = 0; i < n; i++)
        if (lookup("hit.bench.test", NULL) < 0)
            return 1;
    printf("hit %.0f ns/op n=%ld\n", (now_ns() - t0) / n, n);
    return 0;
}

static int fill(long n, const char *prefix)
{
    char name[256];
    for (long i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "%s%ld.bench.test", prefix, i);
        if (lookup(name, NULL) < 0)
            return 1;
    }
    return 0;
}

/* Names another process put in the map: forward lookups, then reverse ones (as connect() does). */
static int cross(long n, const char *prefix)
{
    if (lookup("attach.bench.test", NULL) < 0)   /* maps the session's file: not measured here */
        return 1;
    struct sockaddr_storage *addrs = calloc((size_t)n, sizeof(*addrs));
    char name[256], host[NI_MAXHOST];
    double t0 = now_ns();
    for (long i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "%s%ld.bench.test", prefix, i);
        if (lookup(name, &addrs[i]) < 0)
            return 1;
    }
    double t1 = now_ns();
    for (long i = 0; i < n; i++)
        if (getnameinfo((struct sockaddr *)&addrs[i], sizeof(struct sockaddr_in), host, sizeof(host), NULL, 0,
                        NI_NAMEREQD) != 0)
            return 1;
    double t2 = now_ns();
    printf("cross-forward %.0f ns/op n=%ld\n", (t1 - t0) / n, n);
    printf("cross-reverse %.0f ns/op n=%ld\n", (t2 - t1) / n, n);
    free(addrs);
    return 0;
}

static int first(void)
{
    double t0 = now_ns();
    if (lookup("first.bench.test", NULL) < 0)
        return 1;
    double t1 = now_ns();
    if (lookup("second.bench.test", NULL) < 0)
        return 1;
    printf("first %.0f ns/op n=1\n", t1 - t0);
    printf("second %.0f ns/op n=1\n", now_ns() - t1);
    return 0;
}

int main(int argc, char **argv)
{
    long n = argc >= 3 ? atol(argv[2]) : 0;
    if (argc == 3 && strcmp(argv[1], "hit") == 0 && n > 0)
        return hit(n);
    if (argc == 4 && strcmp(argv[1], "fill") == 0 && n > 0)
        return fill(n, argv[3]);
    if (argc == 4 && strcmp(argv[1], "cross") == 0 && n > 0)
        return cross(n, argv[3]);
    if (argc == 2 && strcmp(argv[1], "first") == 0)
        return first();
    fprintf(stderr, "usage: bench-session-lookup hit N | fill N PREFIX | cross N PREFIX | first\n");
    return 2;
}
