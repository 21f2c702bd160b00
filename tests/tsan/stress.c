/* ThreadSanitizer stress test of socksify's threaded paths (run by tests/tsan/run.sh: `make check-tsan`).
 *
 * This program is linked with the preload/ and core/ objects themselves, built with
 * -fsanitize=thread (build-tsan/). Their hooks (connect, getaddrinfo, close, read, epoll_ctl, ...)
 * are ordinary functions of the program here, so they take its calls as the preloaded library
 * does, and reach libc through TSan's interceptors (dlsym(RTLD_NEXT) from the program finds
 * gcc's shared libtsan first), so TSan sees socksify's own socket calls too. Everything runs on
 * loopback:
 *
 *   client threads --connect to a fake address--> danted on 127.0.0.1 (started by run.sh; it
 *   resolves the test names through a private /etc/hosts) --from 127.0.0.2--> this program's echo
 *   server (127.0.0.1, ephemeral port), which insists on the peer 127.0.0.2: a connection that
 *   bypassed the proxy is an error.
 *
 * All of this runs at once, started together at a barrier (so the lazy configuration load and the
 * fake-address map's set-up race as well):
 *   - CLIENTS threads x CONNECTS connects by name (remote DNS: fake addresses), through the
 *     default proxy, and through a dynamic, a round-robin and a random chain that each hold a dead
 *     proxy (a port this program bound and never listens on: refused at once), skipped for
 *     proxy_retry 100ms: down-marks are written and read by every thread all the time, and
 *     retries move handshakes to fresh sockets. Six ways of connecting: blocking connect() on an
 *     IPv4 socket; on an IPv6 socket (v4-mapped, or, with IPV6_V6ONLY, a fresh IPv4 socket under
 *     the same number); sendto(MSG_FASTOPEN); and non-blocking (the background engine,
 *     preload/pending.c): syscall(SYS_connect) then poll(), connect() then poll(), connect() with
 *     the socket already in an epoll set then epoll_wait(), each followed by SO_ERROR. One
 *     non-blocking connect in eight is given up while its handshake runs, by close() or by
 *     shutdown() then close(). Every other connect checks getpeername() (the registry),
 *     getnameinfo() (the name back), the same fake address in every thread, and its echo;
 *     descriptor numbers are reused across threads all the time.
 *   - RESOLVERS threads x LOOKUPS names through getaddrinfo (IPv4 and IPv6), gethostbyname_r,
 *     gethostbyname2_r, gethostbyname (socksify's per-thread answer), getnameinfo and
 *     gethostbyaddr_r, each answer checked against the others; a quarter of the names are shared
 *     by all resolver threads; localhost and numeric names go to the real resolver now and then.
 *   - one thread fork()s FORKS times, every FORK_INTERVAL_MS, while the others are mid-handshake
 *     (socksify's fork handlers run against its engine); each child connects once, blocking, to a
 *     fake address its parent looked up (the map is shared across fork), checks the echo and
 *     _exit()s; the parent kills a child that takes more than CHILD_TIMEOUT_MS. (TSan checks
 *     nothing in the child of a multi-threaded process: the child's part is functional.)
 *   - one echo-server thread, with epoll (socksify's epoll_ctl, read, write and close hooks).
 *
 * Exit status 0 when every check passed, 1 otherwise; a race (or any other TSan report) ends the
 * process at once with TSAN_OPTIONS' exitcode (run.sh: halt_on_error=1 exitcode=66).
 *
 *   stress run CONF_PATH PROXY_PORT LOG_PATH   writes socksify's config to CONF_PATH and runs
 *   stress hosts                               prints the /etc/hosts lines danted needs
 *   stress canary                              a deliberate data race: proves TSan is active
 * Sizes from the environment: STRESS_CLIENTS (64), STRESS_CONNECTS (100), STRESS_RESOLVERS (8),
 * STRESS_LOOKUPS (300), STRESS_FORKS (16); for triage, STRESS_HOW=0..5 uses one way of
 * connecting only (in the order above).
 */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NAMES 16                 /* e0..e15 per kind: what danted can resolve */
#define SHARED_NAMES 32          /* s0..s31: looked up by every resolver thread */
#define IO_TIMEOUT_MS 15000
#define CONNECT_WAIT_MS 5000     /* for a non-blocking connect to become writable */
#define CHILD_TIMEOUT_MS 10000
#define FORK_INTERVAL_MS 100
#define MAX_ERRORS_SHOWN 40

static const char *const kinds[] = { "", "dyn.", "rr.", "rnd." };   /* default proxy, then the chains */
enum { KINDS = 4 };

static int clients = 64, connects = 100, resolvers = 8, lookups = 300, forks = 16, only_how = -1;
static int echo_fd, dead_fd, echo_port;
static char echo_port_text[8];
static pthread_barrier_t start_line;
static atomic_bool stopping;
static atomic_int errors, connects_ok, abandoned, lookups_ok, forks_ok;
static atomic_int echo_planned, echo_served, echo_direct;
static atomic_int by_kind[KINDS];
/* The first fake IPv4 address each connect name got, to check that every thread gets the same. */
static _Atomic uint32_t first_fake[KINDS][NAMES];

/* Reports one failed check (to stderr in one write, so lines from threads do not mix). */
static void fail(const char *fmt, ...)
{
    int n = atomic_fetch_add(&errors, 1);
    if (n >= MAX_ERRORS_SHOWN)
        return;
    char line[512];
    int len = snprintf(line, sizeof(line), "stress: FAIL: ");
    va_list ap;
    va_start(ap, fmt);
    len += vsnprintf(line + len, sizeof(line) - (size_t)len, fmt, ap);
    va_end(ap);
    if (len > (int)sizeof(line) - 2)
        len = (int)sizeof(line) - 2;
    line[len++] = '\n';
    ssize_t w = write(2, line, (size_t)len);
    (void)w;
}

/* Enough failures to tell what is wrong: the threads stop early rather than time out one by one. */
static bool too_many_errors(void)
{
    return atomic_load(&errors) >= MAX_ERRORS_SHOWN;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void set_timeouts(int fd, int ms)
{
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static bool write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* Reads one line (up to and including '\n') into buf; its length, or -1. */
static ssize_t read_line(int fd, char *buf, size_t size)
{
    size_t got = 0;
    while (got < size - 1) {
        ssize_t r = read(fd, buf + got, size - 1 - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        got += (size_t)r;
        if (memchr(buf, '\n', got))
            break;
    }
    buf[got] = '\0';
    return (ssize_t)got;
}

/* ---------------------------------------------------------------- the echo server */

/* A connection to the echo server: what it sent so far. */
struct echo_conn {
    int fd;
    size_t got;
    char buf[256];
};

/* Checks a new connection's peer: only danted (connecting out from 127.0.0.2) may be there;
 * anything else reached the server without the proxy. getpeername is hooked too: on an
 * accepted socket the registry must stay out of it. */
static void check_echo_peer(int fd)
{
    struct sockaddr_in peer = { 0 };
    socklen_t len = sizeof(peer);
    if (getpeername(fd, (struct sockaddr *)&peer, &len) < 0) {
        if (errno != ENOTCONN)   /* gone already (a handshake given up on): nothing to check */
            fail("echo server: getpeername: %s", strerror(errno));
        return;
    }
    if (peer.sin_family == AF_INET && peer.sin_addr.s_addr == htonl(0x7f000002))
        return;
    char text[INET6_ADDRSTRLEN] = "?";
    inet_ntop(AF_INET, &peer.sin_addr, text, sizeof(text));
    atomic_fetch_add(&echo_direct, 1);
    fail("echo server: a connection from %s, not from the proxy (127.0.0.2)", text);
}

/* The echo server: one thread, one epoll, non-blocking sockets, so that connections that never
 * send (abandoned handshakes, a stuck client) hold nothing up. Each connection gets its first
 * line back, then is closed. */
static void *echo_server(void *arg)
{
    (void)arg;
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL }, evs[64];
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, echo_fd, &ev) < 0) {
        fail("echo server: epoll: %s", strerror(errno));
        return NULL;
    }
    while (!atomic_load(&stopping)) {
        int n = epoll_wait(ep, evs, 64, 100);
        for (int i = 0; i < n; i++) {
            struct echo_conn *c = evs[i].data.ptr;
            if (!c) {   /* the listener */
                int fd;
                while ((fd = accept4(echo_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0) {
                    check_echo_peer(fd);
                    c = calloc(1, sizeof(*c));
                    ev = (struct epoll_event){ .events = EPOLLIN | EPOLLRDHUP, .data.ptr = c };
                    if (!c || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
                        fail("echo server: cannot take a connection: %s", strerror(errno));
                        free(c);
                        close(fd);
                        continue;
                    }
                    c->fd = fd;
                }
                continue;
            }
            ssize_t r = read(c->fd, c->buf + c->got, sizeof(c->buf) - 1 - c->got);
            if (r < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            if (r > 0)
                c->got += (size_t)r;
            bool line = memchr(c->buf, '\n', c->got) != NULL;
            if (!line && r > 0 && c->got < sizeof(c->buf) - 1)
                continue;
            /* A whole line (written back at once: a few bytes into a fresh socket), or EOF, an
             * error, or too long: either way the connection is over. */
            if (line && write(c->fd, c->buf, c->got) == (ssize_t)c->got)
                atomic_fetch_add(&echo_served, 1);
            epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
            close(c->fd);
            free(c);
        }
    }
    close(ep);   /* connections still open at the end are abandoned ones: their memory goes with the process */
    return NULL;
}

/* A listening socket on 127.0.0.1 (backlog > 0), or a bound socket that never listens (backlog
 * 0: connecting to it is refused, a dead proxy nobody else can take the port of). */
static int loopback_socket(bool listening, int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (listening ? SOCK_NONBLOCK : 0), 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(a);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || (listening && listen(fd, 1024) < 0) ||
        getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
        perror("stress: loopback socket");
        exit(1);
    }
    *port = ntohs(a.sin_port);
    return fd;
}

/* ---------------------------------------------------------------- connecting */

static bool is_fake(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {   /* 198.18.0.0/15 */
        uint32_t a = ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr);
        return (a & 0xfffe0000u) == 0xc6120000u;
    }
    static const uint8_t prefix6[12] = { 0xfd, 0x53, 0x6f, 0x63, 0x6b, 0x73 };   /* fd53:6f63:6b73::/96 */
    return sa->sa_family == AF_INET6 && memcmp(((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr, prefix6, 12) == 0;
}

static bool same_sockaddr(const struct sockaddr *a, const struct sockaddr *b)
{
    if (a->sa_family != b->sa_family)
        return false;
    if (a->sa_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
    return x->sin6_port == y->sin6_port && memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
}

enum how { VIA_CONNECT, VIA_CONNECT6, VIA_FASTOPEN, VIA_SYSCALL, VIA_POLL, VIA_EPOLL, HOWS };
static const char *const how_names[] = { "connect", "connect (IPv6 socket)", "sendto(MSG_FASTOPEN)",
                                         "syscall(SYS_connect) non-blocking", "connect non-blocking + poll",
                                         "connect non-blocking + epoll" };
/* What a non-blocking connect does before its handshake ends: waits for it, or gives up on it. */
enum ending { WAIT, CLOSE_EARLY, SHUTDOWN_EARLY };

/* A non-blocking connect is under way: waits (bounded) until fd is writable, by poll or through
 * the epoll instance ep (fd registered before the connect), then takes its SO_ERROR. Returns 0
 * (connected), an errno, or -1 if fd did not become writable in time. */
static int finish_connect(int fd, int ep)
{
    int n;
    if (ep >= 0) {
        struct epoll_event ev;
        n = epoll_wait(ep, &ev, 1, CONNECT_WAIT_MS);
        epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
    } else {
        struct pollfd p = { .fd = fd, .events = POLLOUT };
        n = poll(&p, 1, CONNECT_WAIT_MS);
    }
    if (n == 0)
        return -1;   /* not writable in time */
    if (n < 0)
        return errno;
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        return errno;
    return err;
}

/* Connects to addr (a fake address of name) the way `how` says, checks getpeername, sends a
 * payload and checks its echo; or, with CLOSE_EARLY/SHUTDOWN_EARLY on a non-blocking connect,
 * abandons the handshake while it runs. True when all went well; failures are reported. */
static bool echo_through(const char *who, const char *name, const struct sockaddr *addr, socklen_t addrlen, enum how how,
                         bool v6only, enum ending ending, int ep)
{
    bool nonblocking = how == VIA_SYSCALL || how == VIA_POLL || how == VIA_EPOLL;
    int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0);
    if (fd < 0) {
        fail("%s: socket: %s", who, strerror(errno));
        return false;
    }
    if (v6only)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &(int){ 1 }, sizeof(int));
    if (how != VIA_EPOLL)
        ep = -1;
    if (ep >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, fd, &(struct epoll_event){ .events = EPOLLOUT, .data.fd = fd }) < 0) {
        fail("%s: epoll_ctl: %s", who, strerror(errno));
        close(fd);
        return false;
    }
    char payload[128], reply[256];
    int plen = snprintf(payload, sizeof(payload), "%s %s %lld\n", who, name, now_ms());
    bool ok = false;
    int r;
    if (how == VIA_FASTOPEN)
        r = sendto(fd, payload, (size_t)plen, MSG_FASTOPEN | MSG_NOSIGNAL, addr, addrlen) == plen ? 0 : -1;
    else if (how == VIA_SYSCALL)
        r = (int)syscall(SYS_connect, fd, addr, addrlen);
    else
        r = connect(fd, addr, addrlen);
    if (r < 0 && nonblocking && errno == EINPROGRESS) {
        if (ending != WAIT) {   /* the program gives up while the handshake runs */
            if (ending == SHUTDOWN_EARLY)
                shutdown(fd, SHUT_RDWR);
            ok = true;
            goto out;
        }
        int err = finish_connect(fd, ep);
        if (err < 0) {
            /* Tell a handshake still running from a wake-up that never came. */
            struct pollfd p = { .fd = fd, .events = POLLOUT };
            fail("%s: %s to %s: not writable within %d ms: %s", who, how_names[how], name, CONNECT_WAIT_MS,
                 poll(&p, 1, 0) == 1 ? "it is writable now, but the poll/epoll_wait waiting for it was not woken"
                                     : "still not writable (the handshake did not end?)");
            goto out;
        }
        if (err) {
            fail("%s: %s to %s: %s", who, how_names[how], name, strerror(err));
            goto out;
        }
        r = 0;
    } else if (r < 0) {
        fail("%s: %s to %s: %s", who, how_names[how], name, strerror(errno));
        goto out;
    }
    if (ending != WAIT) {   /* it completed at once: nothing to abandon */
        ok = true;
        goto out;
    }
    if (nonblocking)
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    set_timeouts(fd, IO_TIMEOUT_MS);
    struct sockaddr_storage peer;
    socklen_t plen_peer = sizeof(peer);
    if (getpeername(fd, (struct sockaddr *)&peer, &plen_peer) < 0 || !same_sockaddr((struct sockaddr *)&peer, addr)) {
        fail("%s: getpeername after %s to %s is not the fake address", who, how_names[how], name);
        goto out;
    }
    if (how != VIA_FASTOPEN && !write_all(fd, payload, (size_t)plen)) {
        fail("%s: write to %s: %s", who, name, strerror(errno));
        goto out;
    }
    if (read_line(fd, reply, sizeof(reply)) != plen || memcmp(reply, payload, (size_t)plen) != 0) {
        fail("%s: %s to %s: echo mismatch or no echo (%s)", who, how_names[how], name, strerror(errno));
        goto out;
    }
    ok = true;
out:
    if (ep >= 0)
        epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);   /* fails (ENOENT) when finish_connect did it */
    close(fd);
    return ok;
}

/* One lookup-connect-echo-close by name, varied by thread and iteration; ep is the thread's epoll. */
static void one_connect(int tid, int j, int ep)
{
    int kind = (tid + j) % KINDS, k = (tid * 7 + j) % NAMES;
    enum how how = only_how >= 0 ? (enum how)only_how : (enum how)((j / KINDS + tid) % HOWS);
    bool nonblocking = how == VIA_SYSCALL || how == VIA_POLL || how == VIA_EPOLL;
    enum ending ending = nonblocking && j % 8 == 7 ? (tid & 1 ? CLOSE_EARLY : SHUTDOWN_EARLY) : WAIT;
    char name[64], who[32], host[NI_MAXHOST];
    snprintf(name, sizeof(name), "e%d.%stsan.test", k, kinds[kind]);
    snprintf(who, sizeof(who), "client %d/%d", tid, j);
    if (ending == WAIT)
        atomic_fetch_add(&echo_planned, 1);
    struct addrinfo hints = { .ai_family = how == VIA_CONNECT6 ? AF_INET6 : AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res;
    int r = getaddrinfo(name, echo_port_text, &hints, &res);
    if (r != 0) {
        fail("%s: getaddrinfo %s: %s", who, name, gai_strerror(r));
        return;
    }
    if (!is_fake(res->ai_addr)) {
        fail("%s: getaddrinfo %s gave no fake address", who, name);
        goto out;
    }
    if (res->ai_family == AF_INET) {
        uint32_t a = ((struct sockaddr_in *)res->ai_addr)->sin_addr.s_addr, expected = 0;
        if (!atomic_compare_exchange_strong(&first_fake[kind][k], &expected, a) && expected != a)
            fail("%s: %s has two fake addresses", who, name);
    }
    r = getnameinfo(res->ai_addr, res->ai_addrlen, host, sizeof(host), NULL, 0, NI_NAMEREQD);
    if (r != 0 || strcmp(host, name) != 0) {
        fail("%s: getnameinfo of %s's fake address: %s", who, name, r ? gai_strerror(r) : host);
        goto out;
    }
    if (echo_through(who, name, res->ai_addr, res->ai_addrlen, how, how == VIA_CONNECT6 && (j & 4), ending, ep)) {
        atomic_fetch_add(ending == WAIT ? &connects_ok : &abandoned, 1);
        if (ending == WAIT)
            atomic_fetch_add(&by_kind[kind], 1);
    }
out:
    freeaddrinfo(res);
}

static void *client(void *arg)
{
    int tid = (int)(intptr_t)arg;
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        fail("client %d: epoll_create1: %s", tid, strerror(errno));
    pthread_barrier_wait(&start_line);
    for (int j = 0; j < connects && !too_many_errors(); j++)
        one_connect(tid, j, ep);
    if (ep >= 0)
        close(ep);
    return NULL;
}

/* ---------------------------------------------------------------- lookups */

static bool lookup1(const char *name, int family, struct sockaddr_storage *out)
{
    struct addrinfo hints = { .ai_family = family, .ai_socktype = SOCK_STREAM }, *res;
    int r = getaddrinfo(name, "80", &hints, &res);
    if (r != 0) {
        fail("resolver: getaddrinfo %s (%s): %s", name, family == AF_INET6 ? "IPv6" : "IPv4", gai_strerror(r));
        return false;
    }
    memcpy(out, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return true;
}

static const void *raw_addr(const struct sockaddr_storage *s)
{
    return s->ss_family == AF_INET ? (const void *)&((const struct sockaddr_in *)s)->sin_addr
                                   : (const void *)&((const struct sockaddr_in6 *)s)->sin6_addr;
}

/* Every way of asking about name must give the same fake addresses, and the name back. */
static void check_name(const char *name)
{
    struct sockaddr_storage a4, a6;
    if (!lookup1(name, AF_INET, &a4) || !lookup1(name, AF_INET6, &a6))
        return;
    if (!is_fake((struct sockaddr *)&a4) || !is_fake((struct sockaddr *)&a6)) {
        fail("resolver: %s did not get fake addresses", name);
        return;
    }
    struct hostent he, *result = NULL;
    char buf[1024];
    int herr = 0;
    if (gethostbyname_r(name, &he, buf, sizeof(buf), &result, &herr) != 0 || !result ||
        memcmp(result->h_addr_list[0], raw_addr(&a4), 4) != 0 || strcmp(result->h_name, name) != 0) {
        fail("resolver: gethostbyname_r %s disagrees with getaddrinfo", name);
        return;
    }
    if (gethostbyname2_r(name, AF_INET6, &he, buf, sizeof(buf), &result, &herr) != 0 || !result ||
        memcmp(result->h_addr_list[0], raw_addr(&a6), 16) != 0) {
        fail("resolver: gethostbyname2_r %s (IPv6) disagrees with getaddrinfo", name);
        return;
    }
    struct hostent *h = gethostbyname(name);   /* socksify's answer is per thread */
    if (!h || memcmp(h->h_addr_list[0], raw_addr(&a4), 4) != 0 || strcmp(h->h_name, name) != 0) {
        fail("resolver: gethostbyname %s disagrees with getaddrinfo", name);
        return;
    }
    char host[NI_MAXHOST];
    for (int f = 0; f < 2; f++) {
        struct sockaddr_storage *s = f ? &a6 : &a4;
        socklen_t len = f ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
        int r = getnameinfo((struct sockaddr *)s, len, host, sizeof(host), NULL, 0, NI_NAMEREQD);
        if (r != 0 || strcmp(host, name) != 0) {
            fail("resolver: getnameinfo of %s's fake %s address: %s", name, f ? "IPv6" : "IPv4", r ? gai_strerror(r) : host);
            return;
        }
    }
    if (gethostbyaddr_r(raw_addr(&a4), 4, AF_INET, &he, buf, sizeof(buf), &result, &herr) != 0 || !result ||
        strcmp(result->h_name, name) != 0) {
        fail("resolver: gethostbyaddr_r of %s's fake address", name);
        return;
    }
    atomic_fetch_add(&lookups_ok, 1);
}

/* Names that stay with the real resolver: localhost (hosts file) and numeric ones. */
static void check_local(void)
{
    struct sockaddr_storage s;
    char host[NI_MAXHOST];
    if (!lookup1("localhost", AF_INET, &s) || !lookup1("127.0.0.1", AF_INET, &s))
        return;
    if (((struct sockaddr_in *)&s)->sin_addr.s_addr != htonl(INADDR_LOOPBACK) ||
        getnameinfo((struct sockaddr *)&s, sizeof(struct sockaddr_in), host, sizeof(host), NULL, 0, NI_NUMERICHOST) != 0 ||
        strcmp(host, "127.0.0.1") != 0)
        fail("resolver: localhost/127.0.0.1 did not stay local");
}

static void *resolver(void *arg)
{
    int tid = (int)(intptr_t)arg;
    pthread_barrier_wait(&start_line);
    for (int n = 0; n < lookups && !too_many_errors(); n++) {
        char name[64];
        if (n % 4 == 0)
            snprintf(name, sizeof(name), "s%d.tsan.test", (n / 4 + tid) % SHARED_NAMES);
        else
            snprintf(name, sizeof(name), "r%d-%d.tsan.test", tid, n);
        check_name(name);
        if (n % 16 == 0)
            check_local();
    }
    return NULL;
}

/* ---------------------------------------------------------------- fork */

/* gcc 12's libtsan does not take its allocator's locks around fork() (later TSan runtimes do):
 * a fork child that allocates or frees while another thread of the parent held one of those
 * locks at the moment of the fork waits for ever (seen: socksify's child handler freeing the
 * parent's pending connects, and the child's connect allocating a registry page). So in fork
 * children free() leaks (they _exit at once), and the forker connects once itself before it
 * forks, so that the registry's pages exist. This free() takes the calls of this program and of
 * socksify's objects linked into it; libc's own calls go to TSan's free as usual. */
static void (*tsan_free)(void *);
static bool in_fork_child;

void free(void *p)
{
    if (p && !in_fork_child && tsan_free)
        tsan_free(p);
}

static void forked_child(void)
{
    in_fork_child = true;
}

/* Before any thread starts, and before socksify registers its fork handlers (child handlers run
 * in the order they were registered: this one first). */
static void free_shim_init(void)
{
    tsan_free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
    if (!tsan_free || pthread_atfork(NULL, NULL, forked_child) != 0) {
        fprintf(stderr, "stress: cannot find the real free()\n");
        exit(1);
    }
}

/* In the child: one connect to a fake address the parent looked up, an echo, _exit. Only
 * async-signal-safe habits: other threads may have held locks when the parent forked. */
static void child(int n, const struct sockaddr *addr, socklen_t len, const char *name)
{
    alarm(CHILD_TIMEOUT_MS / 1000 + 5);   /* the parent kills it first; this is the back-stop */
    char who[32];
    snprintf(who, sizeof(who), "fork child %d", n);
    _exit(echo_through(who, name, addr, len, VIA_CONNECT, false, WAIT, -1) ? 0 : 1);
}

static void *forker(void *arg)
{
    (void)arg;
    pthread_barrier_wait(&start_line);
    /* A connect of the parent's own first: a child's connect must not have to allocate the
     * registry's page for its descriptor (see free() above); and the forks are spread over the run. */
    struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *res;
    int r = getaddrinfo("e0.tsan.test", echo_port_text, &hints, &res);
    if (r != 0) {
        fail("forker: getaddrinfo e0.tsan.test: %s", gai_strerror(r));
        return NULL;
    }
    echo_through("forker", "e0.tsan.test", res->ai_addr, res->ai_addrlen, VIA_CONNECT, false, WAIT, -1);
    freeaddrinfo(res);
    for (int n = 0; n < forks && !too_many_errors(); n++) {
        nanosleep(&(struct timespec){ 0, FORK_INTERVAL_MS * 1000000 }, NULL);   /* the clients are mid-handshake */
        char name[64];
        snprintf(name, sizeof(name), "e%d.%stsan.test", n % NAMES, kinds[n % KINDS]);
        r = getaddrinfo(name, echo_port_text, &hints, &res);
        if (r != 0) {
            fail("forker: getaddrinfo %s: %s", name, gai_strerror(r));
            continue;
        }
        pid_t pid = fork();
        if (pid == 0)
            child(n, res->ai_addr, res->ai_addrlen, name);
        freeaddrinfo(res);
        if (pid < 0) {
            fail("forker: fork: %s", strerror(errno));
            continue;
        }
        int status = 0;
        long long deadline = now_ms() + CHILD_TIMEOUT_MS;
        while ((r = waitpid(pid, &status, WNOHANG)) == 0 && now_ms() < deadline)
            nanosleep(&(struct timespec){ 0, 5 * 1000000 }, NULL);
        if (r == 0) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            fail("fork child %d (pid %d) hung: killed after %d s", n, (int)pid, CHILD_TIMEOUT_MS / 1000);
        } else if (r < 0) {
            fail("fork child %d: waitpid: %s", n, strerror(errno));
        } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
            atomic_fetch_add(&forks_ok, 1);
        } else if (WIFEXITED(status)) {
            fail("fork child %d (pid %d) exited with %d", n, (int)pid, WEXITSTATUS(status));
        } else {
            fail("fork child %d (pid %d) died of signal %d", n, (int)pid, WTERMSIG(status));
        }
    }
    return NULL;
}

/* ---------------------------------------------------------------- main */

static void write_config(const char *path, int proxy_port, int dead_port, const char *log_path)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(1);
    }
    fprintf(f,
            "# written by tests/tsan/stress.c\n"
            "proxy live socks5h://127.0.0.1:%d\n"
            "proxy dead socks5h://127.0.0.1:%d\n"
            "chain default strict live\n"
            "chain dyn dynamic dead live\n"
            "chain rr round-robin length 1 dead live\n"
            "chain rnd random length 1 dead live\n"
            "route *.dyn.tsan.test via dyn\n"
            "route *.rr.tsan.test via rr\n"
            "route *.rnd.tsan.test via rnd\n"
            "direct_loopback no\n"
            "dns remote\n"
            "fake_range 198.18.0.0/15\n"
            "fake_range6 fd53:6f63:6b73::/96\n"
            "proxy_retry 100ms\n"
            "connect_timeout 5s\n"
            "handshake_timeout 10s\n"
            "log_level info\n"
            "log_file %s\n",
            proxy_port, dead_port, log_path);
    if (fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

static int env_int(const char *var, int fallback, int max)
{
    const char *v = getenv(var);
    if (!v || !*v)
        return fallback;
    int n = atoi(v);
    if (n < 0 || n > max) {
        fprintf(stderr, "stress: %s must be 0..%d\n", var, max);
        exit(2);
    }
    return n;
}

/* Two threads increment one plain int: TSan must say so (exit status TSAN_OPTIONS' exitcode). */
static int racy_counter;
static void *race(void *arg)
{
    for (int i = 0; i < 1000; i++)
        racy_counter++;
    return arg;
}

static int canary(void)
{
    pthread_t a, b;
    pthread_create(&a, NULL, race, NULL);
    pthread_create(&b, NULL, race, NULL);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    printf("canary: no race reported (counter %d): ThreadSanitizer is not active\n", racy_counter);
    return 0;
}

static int hosts(void)
{
    for (int kind = 0; kind < KINDS; kind++)
        for (int k = 0; k < NAMES; k++)
            printf("127.0.0.1 e%d.%stsan.test\n", k, kinds[kind]);
    return 0;
}

static int start(pthread_t *t, void *(*fn)(void *), intptr_t arg)
{
    int r = pthread_create(t, NULL, fn, (void *)arg);
    if (r != 0) {
        fprintf(stderr, "stress: pthread_create: %s\n", strerror(r));
        exit(1);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "canary") == 0)
        return canary();
    if (argc == 2 && strcmp(argv[1], "hosts") == 0)
        return hosts();
    if (argc != 5 || strcmp(argv[1], "run") != 0) {
        fprintf(stderr, "usage: stress run CONF_PATH PROXY_PORT LOG_PATH | stress hosts | stress canary\n");
        return 2;
    }
    clients = env_int("STRESS_CLIENTS", clients, 1000);
    connects = env_int("STRESS_CONNECTS", connects, 100000);
    resolvers = env_int("STRESS_RESOLVERS", resolvers, 1000);
    lookups = env_int("STRESS_LOOKUPS", lookups, 10000);
    forks = env_int("STRESS_FORKS", forks, 1000);
    only_how = env_int("STRESS_HOW", -1, HOWS - 1);   /* one way of connecting only, for triage */
    int proxy_port = atoi(argv[3]), dead_port;
    if (proxy_port <= 0 || proxy_port > 65535) {
        fprintf(stderr, "stress: bad proxy port '%s'\n", argv[3]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    free_shim_init();
    /* No hook may run before this: the configuration is read on first use, from SOCKSIFY_CONF. */
    echo_fd = loopback_socket(true, &echo_port);
    dead_fd = loopback_socket(false, &dead_port);
    snprintf(echo_port_text, sizeof(echo_port_text), "%d", echo_port);
    write_config(argv[2], proxy_port, dead_port, argv[4]);
    setenv("SOCKSIFY_CONF", argv[2], 1);
    unsetenv("SOCKSIFY_PROXY");
    unsetenv("SOCKSIFY_LOG_LEVEL");
    unsetenv("SOCKSIFY_LOG_FILE");

    pthread_t echo, *threads = calloc((size_t)(clients + resolvers + 1), sizeof(pthread_t));
    if (!threads)
        return 1;
    start(&echo, echo_server, 0);
    pthread_barrier_init(&start_line, NULL, (unsigned)(clients + resolvers + 1 + 1));
    int nt = 0;
    for (int i = 0; i < clients; i++)
        start(&threads[nt++], client, i);
    for (int i = 0; i < resolvers; i++)
        start(&threads[nt++], resolver, i);
    start(&threads[nt++], forker, 0);
    printf("stress: %d client threads x %d connects, %d resolver threads x %d names, %d forks; echo on 127.0.0.1:%d, "
           "proxy 127.0.0.1:%d, dead proxy 127.0.0.1:%d\n",
           clients, connects, resolvers, lookups, forks, echo_port, proxy_port, dead_port);
    fflush(stdout);
    long long t0 = now_ms();
    pthread_barrier_wait(&start_line);
    for (int i = 0; i < nt; i++)
        pthread_join(threads[i], NULL);
    long long elapsed = now_ms() - t0;
    atomic_store(&stopping, true);
    pthread_join(echo, NULL);
    free(threads);

    /* The clients' echoes, the fork children's, and the forker's own. */
    int want_lookups = resolvers * lookups, want_echo = atomic_load(&echo_planned) + forks + 1;
    printf("stress: %d/%d connects echoed (default %d, dynamic %d, round-robin %d, random %d), %d/%d abandoned "
           "mid-handshake, %d/%d names checked, %d/%d fork children ok, echo server served %d/%d (%d not via the "
           "proxy), %lld ms\n",
           atomic_load(&connects_ok), atomic_load(&echo_planned), atomic_load(&by_kind[0]), atomic_load(&by_kind[1]),
           atomic_load(&by_kind[2]), atomic_load(&by_kind[3]), atomic_load(&abandoned),
           clients * connects - atomic_load(&echo_planned), atomic_load(&lookups_ok), want_lookups,
           atomic_load(&forks_ok), forks, atomic_load(&echo_served), want_echo, atomic_load(&echo_direct), elapsed);
    if (atomic_load(&echo_served) != want_echo)
        fail("the echo server served %d connections, expected %d", atomic_load(&echo_served), want_echo);
    close(dead_fd);
    close(echo_fd);
    int e = atomic_load(&errors);
    if (e) {
        printf("stress: %d check(s) failed\n", e);
        return 1;
    }
    printf("stress: ok\n");
    return 0;
}
