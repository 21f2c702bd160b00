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
 *   UDP threads --datagrams to 127.0.0.1 or to a fake address--> danted's UDP relay (each socket
 *   has its association: a control connection and UDP ASSOCIATE) --from 127.0.0.2--> this
 *   program's UDP echo server (127.0.0.1, another ephemeral port), which insists on the source
 *   127.0.0.2 too, and answers through the sendto hook, routed direct ("direct 127.0.0.2/32").
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
 *     preload/engine.c): syscall(SYS_connect) then poll(), connect() then poll(), connect() with
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
 *     The forker also holds a UDP socket with an association: each child sends one datagram
 *     through it (by address or by name) and checks its echo, while the other threads'
 *     associations are busy; then the parent does the same on it.
 *   - UDP_CLIENTS threads x UDP_ROUNDS round trips, each thread on its own socket (a quarter of
 *     them IPv6: a v4-mapped relay and fake IPv6 addresses), by sendto/recvfrom, to the echo
 *     server's address and to names through the default proxy, or to names only through one of
 *     the chains (a socket's association goes through one chain); every echo must come from the
 *     address the datagram was sent to (the fake one for a name).
 *   - two UDP sockets (one sent to by address, one by name) shared by UDP_SHARERS threads each:
 *     they connect() it at once (one association is made), then send and receive on it at the
 *     same time in every way: sendto/recvfrom, send/recv, write/read, sendmsg/recvmsg,
 *     sendmmsg/recvmmsg, and connect() again then send/recv. Each thread receives as many
 *     datagrams as it sent, whoever's: every datagram carries an id and must come back once,
 *     intact, from the socket's destination.
 *   - UDP_CHURNERS threads x UDP_CHURN sockets made, used for one round trip (unconnected or
 *     connected, IPv4 or IPv6, by address or by name, through every chain) and closed: the
 *     associations end while the others run, and descriptor numbers (and their slots) are
 *     reused by every kind of thread.
 *   - one echo-server thread, with epoll (socksify's epoll_ctl, read, write and close hooks), and
 *     one UDP echo-server thread (recvfrom, sendto).
 *
 * At the end, the UDP echo server must have answered every datagram sent (the fork children's
 * too), and the totals (associations made, datagrams sent) are printed for run.sh to compare with
 * socksify's and danted's logs.
 *
 * Exit status 0 when every check passed, 1 otherwise; a race (or any other TSan report) ends the
 * process at once with TSAN_OPTIONS' exitcode (run.sh: halt_on_error=1 exitcode=66).
 *
 *   stress run CONF_PATH PROXY_PORT LOG_PATH   writes socksify's config to CONF_PATH and runs
 *   stress hosts                               prints the /etc/hosts lines danted needs
 *   stress canary                              a deliberate data race: proves TSan is active
 *
 * Sizes from the environment: STRESS_CLIENTS (64), STRESS_CONNECTS (100), STRESS_RESOLVERS (8),
 * STRESS_LOOKUPS (300), STRESS_FORKS (16), STRESS_UDP_CLIENTS (16), STRESS_UDP_ROUNDS (400),
 * STRESS_UDP_SHARERS (6 per shared socket), STRESS_UDP_CHURNERS (2), STRESS_UDP_CHURN (300); for
 * triage, STRESS_HOW=0..5 uses one way of connecting only (in the order above).
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

/* When the last TCP client and the last UDP thread finished (ms after the start): the UDP
 * threads should run about as long as the TCP ones, for their calls to race with those. */
static long long start_ms;
static _Atomic long long tcp_done_ms, udp_done_ms;

static void note_done(_Atomic long long *done)
{
    long long t = now_ms() - start_ms, seen = atomic_load(done);
    while (t > seen && !atomic_compare_exchange_weak(done, &seen, t))
        ;
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
    note_done(&tcp_done_ms);
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

/* ---------------------------------------------------------------- UDP */

/* Datagrams go to this program's UDP echo server (127.0.0.1, ephemeral port) through danted's
 * relay: by address (loopback goes through the proxy: direct_loopback no) or by name (a fake
 * address: the relay is asked for the name). The server insists on the source 127.0.0.2,
 * danted's external address: a datagram that bypassed the relay is an error. Its own replies go
 * to 127.0.0.2 through the sendto hook, which the configuration routes direct ("direct
 * 127.0.0.2/32"): the server holds no association. */

#define UDP_TIMEOUT_MS 5000   /* SO_RCVTIMEO/SO_SNDTIMEO of every UDP socket */
#define UDP_BATCH 4           /* datagrams per sendmmsg/recvmmsg */
#define UDP_PAYLOAD_MAX 128

static int udp_clients = 16, udp_rounds = 400, udp_sharers = 6, udp_churners = 2, udp_churn = 300;
static int udp_echo_fd, udp_echo_port;
static char udp_port_text[8];
/* Datagrams sent (by this process, and by fork children that exited 0), echoed, and echoed
 * although they did not come from the relay. */
static atomic_int udp_sent, udp_echo_served, udp_echo_direct;
static atomic_int udp_trips_ok, udp_churned, udp_fork_trips, udp_assocs;
static atomic_uint udp_next_id;

/* The UDP echo server: one thread, one socket, through socksify's recvfrom and sendto hooks. */
static void *udp_echo_server(void *arg)
{
    (void)arg;
    char buf[2048];
    while (!atomic_load(&stopping)) {
        struct pollfd p = { .fd = udp_echo_fd, .events = POLLIN };
        if (poll(&p, 1, 100) <= 0)
            continue;
        for (;;) {
            struct sockaddr_in from = { 0 };
            socklen_t len = sizeof(from);
            ssize_t n = recvfrom(udp_echo_fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &len);
            if (n < 0) {
                if (errno != EAGAIN && errno != EINTR)
                    fail("UDP echo server: recvfrom: %s", strerror(errno));
                break;
            }
            if (from.sin_family != AF_INET || from.sin_addr.s_addr != htonl(0x7f000002)) {
                char text[INET6_ADDRSTRLEN] = "?";
                inet_ntop(AF_INET, &from.sin_addr, text, sizeof(text));
                atomic_fetch_add(&udp_echo_direct, 1);
                fail("UDP echo server: a datagram from %s, not from the relay (127.0.0.2)", text);
                continue;   /* not answered: its sender fails too */
            }
            if (sendto(udp_echo_fd, buf, (size_t)n, 0, (struct sockaddr *)&from, len) != n)
                fail("UDP echo server: sendto: %s", strerror(errno));
            else
                atomic_fetch_add(&udp_echo_served, 1);
        }
    }
    return NULL;
}

static int udp_loopback_socket(int *port)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(a);
    int size = 4 << 20;   /* bursts from a hundred threads at once */
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
        perror("stress: UDP loopback socket");
        exit(1);
    }
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    *port = ntohs(a.sin_port);
    return fd;
}

static int udp_socket(const char *who, int family)
{
    int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        fail("%s: UDP socket: %s", who, strerror(errno));
        return -1;
    }
    set_timeouts(fd, UDP_TIMEOUT_MS);
    return fd;
}

/* Where a datagram for the echo server goes, in family's addresses: the server's own address
 * (v4-mapped for IPv6), or, for a name, the fake address getaddrinfo gives for it. */
static bool udp_destination(const char *who, const char *name, int family, struct sockaddr_storage *dst, socklen_t *len)
{
    memset(dst, 0, sizeof(*dst));
    if (!name) {
        if (family == AF_INET) {
            struct sockaddr_in *in4 = (struct sockaddr_in *)dst;
            *in4 = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons((uint16_t)udp_echo_port),
                                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
            *len = sizeof(*in4);
        } else {
            struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)dst;
            *in6 = (struct sockaddr_in6){ .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)udp_echo_port) };
            inet_pton(AF_INET6, "::ffff:127.0.0.1", &in6->sin6_addr);
            *len = sizeof(*in6);
        }
        return true;
    }
    struct addrinfo hints = { .ai_family = family, .ai_socktype = SOCK_DGRAM }, *res;
    int r = getaddrinfo(name, udp_port_text, &hints, &res);
    if (r != 0) {
        fail("%s: getaddrinfo %s (UDP): %s", who, name, gai_strerror(r));
        return false;
    }
    bool ok = is_fake(res->ai_addr) && res->ai_addrlen <= sizeof(*dst);
    if (ok) {
        memcpy(dst, res->ai_addr, res->ai_addrlen);
        *len = res->ai_addrlen;
    } else {
        fail("%s: getaddrinfo %s (UDP) gave no fake address", who, name);
    }
    freeaddrinfo(res);
    return ok;
}

static const char *udp_text(const struct sockaddr_storage *a, char *buf, size_t size)
{
    const void *raw = a->ss_family == AF_INET6 ? (const void *)&((const struct sockaddr_in6 *)a)->sin6_addr
                                               : (const void *)&((const struct sockaddr_in *)a)->sin_addr;
    if (!inet_ntop(a->ss_family, raw, buf, (socklen_t)size))
        snprintf(buf, size, "(family %d)", a->ss_family);
    return buf;
}

/* One datagram to the echo server and its echo on fd, a socket this thread alone reads: by
 * sendto/recvfrom (the reply must come from dst, as the program addressed it), or, connected,
 * by connect/send/recv (getpeername must give dst back). True when all went well; failures are
 * reported. Allocates nothing: fork children use it. */
static bool udp_round_trip(int fd, const char *who, const char *what, const struct sockaddr_storage *dst, socklen_t dstlen,
                           bool connected)
{
    char payload[UDP_PAYLOAD_MAX], reply[UDP_PAYLOAD_MAX + 16];
    int plen = snprintf(payload, sizeof(payload), "u%u %s %s", atomic_fetch_add(&udp_next_id, 1), who, what);
    if (plen >= (int)sizeof(payload))
        plen = (int)sizeof(payload) - 1;
    const struct sockaddr *to = (const struct sockaddr *)dst;
    struct sockaddr_storage from = { 0 };
    socklen_t fromlen = sizeof(from);
    char text[INET6_ADDRSTRLEN];
    if (connected) {
        struct sockaddr_storage peer = { 0 };
        socklen_t peerlen = sizeof(peer);
        if (connect(fd, to, dstlen) < 0) {
            fail("%s: UDP connect to %s: %s", who, what, strerror(errno));
            return false;
        }
        if (getpeername(fd, (struct sockaddr *)&peer, &peerlen) < 0 || !same_sockaddr((struct sockaddr *)&peer, to)) {
            fail("%s: UDP getpeername after connect to %s is not %s", who, what, udp_text(dst, text, sizeof(text)));
            return false;
        }
        if (send(fd, payload, (size_t)plen, 0) != plen) {
            fail("%s: UDP send to %s: %s", who, what, strerror(errno));
            return false;
        }
    } else if (sendto(fd, payload, (size_t)plen, 0, to, dstlen) != plen) {
        fail("%s: UDP sendto %s: %s", who, what, strerror(errno));
        return false;
    }
    atomic_fetch_add(&udp_sent, 1);
    /* A non-blocking socket (the churners make some) waits here: its association may still be
     * in the making, its datagram queued. */
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    poll(&pfd, 1, UDP_TIMEOUT_MS);
    ssize_t n = connected ? recv(fd, reply, sizeof(reply), 0)
                          : recvfrom(fd, reply, sizeof(reply), 0, (struct sockaddr *)&from, &fromlen);
    if (n != plen || memcmp(reply, payload, (size_t)plen) != 0) {
        fail("%s: UDP %s: echo mismatch or no echo (%s)", who, what, n < 0 ? strerror(errno) : "wrong datagram");
        return false;
    }
    if (!connected && !same_sockaddr((struct sockaddr *)&from, to)) {
        char want[INET6_ADDRSTRLEN];
        fail("%s: UDP %s: the echo came from %s, not from %s", who, what, udp_text(&from, text, sizeof(text)),
             udp_text(dst, want, sizeof(want)));
        return false;
    }
    return true;
}

/* (a) A thread with its own socket: round trips by sendto/recvfrom, by address and by names (of
 * one kind: a socket's association goes through one chain). Some sockets are IPv6 (v4-mapped
 * relay, fake IPv6 addresses). */
static void *udp_client(void *arg)
{
    int tid = (int)(intptr_t)arg, kind = tid % KINDS, family = tid % 4 == 3 ? AF_INET6 : AF_INET;
    char who[32];
    snprintf(who, sizeof(who), "UDP client %d", tid);
    pthread_barrier_wait(&start_line);
    int fd = udp_socket(who, family), ok = 0;
    for (int r = 0; fd >= 0 && r < udp_rounds && !too_many_errors(); r++) {
        char name[64];
        bool by_name = kind != 0 || (r & 1);
        snprintf(name, sizeof(name), "e%d.%stsan.test", (tid * 5 + r) % NAMES, kinds[kind]);
        struct sockaddr_storage dst;
        socklen_t len;
        if (!udp_destination(who, by_name ? name : NULL, family, &dst, &len))
            break;
        if (!udp_round_trip(fd, who, by_name ? name : "the echo server's address", &dst, len, false))
            break;   /* a late echo would confuse the next round trip */
        ok++;
    }
    if (ok > 0)
        atomic_fetch_add(&udp_assocs, 1);
    atomic_fetch_add(&udp_trips_ok, ok);
    if (fd >= 0)
        close(fd);
    note_done(&udp_done_ms);
    return NULL;
}

/* (c) A thread that makes a socket, does one round trip (unconnected or connected, IPv4 or
 * IPv6, by address or by name) and closes it, again and again: associations end while the other
 * threads run, and their descriptor numbers (and slots) are reused by any thread. */
static void *udp_churner(void *arg)
{
    int tid = (int)(intptr_t)arg;
    char who[32];
    snprintf(who, sizeof(who), "UDP churner %d", tid);
    pthread_barrier_wait(&start_line);
    for (int i = 0; i < udp_churn && !too_many_errors(); i++) {
        int family = (i + tid) % 3 == 2 ? AF_INET6 : AF_INET, kind = (i + tid) % KINDS;
        bool by_name = kind != 0 || (i & 2);
        char name[64];
        snprintf(name, sizeof(name), "e%d.%stsan.test", (i * 3 + tid) % NAMES, kinds[kind]);
        struct sockaddr_storage dst;
        socklen_t len;
        if (!udp_destination(who, by_name ? name : NULL, family, &dst, &len))
            continue;
        int fd = udp_socket(who, family);
        if (fd < 0)
            continue;
        /* Every fourth socket is non-blocking: its association is made on a thread of its own. */
        if (i % 4 == 3)
            fcntl(fd, F_SETFL, O_NONBLOCK);
        if (udp_round_trip(fd, who, by_name ? name : "the echo server's address", &dst, len, i & 1)) {
            atomic_fetch_add(&udp_churned, 1);
            atomic_fetch_add(&udp_assocs, 1);
        }
        close(fd);
    }
    note_done(&udp_done_ms);
    return NULL;
}

/* (b) Sockets shared by udp_sharers threads each, which send and receive on them at once in
 * every way there is: sendto/recvfrom, send/recv (the socket is connect()ed), write/read,
 * sendmsg/recvmsg, sendmmsg/recvmmsg, and connect() again (to the same destination) then send.
 * A thread receives as many datagrams as it sent, whoever's they are (so no thread waits for a
 * datagram another one took): each datagram carries an id, and every id must come back exactly
 * once, intact, from the socket's destination. One socket sends to the echo server's address,
 * the other to a name. */
enum shared_way { BY_SENDTO, BY_SEND, BY_WRITE, BY_SENDMSG, BY_MMSG, BY_CONNECT, SHARED_WAYS };
static const char *const shared_way_names[] = { "sendto/recvfrom", "send/recv", "write/read", "sendmsg/recvmsg",
                                                "sendmmsg/recvmmsg", "connect/send/recv" };
enum { SHARED_SOCKETS = 2 };

struct shared_udp {
    const char *what;
    int fd;                             /* made by the group's first thread before `ready` */
    struct sockaddr_storage dst;        /* its destination: the echo server's address, or a name's fake one */
    socklen_t dstlen;
    pthread_barrier_t ready, primed;
    atomic_int sent, received;
};
static struct shared_udp shared[SHARED_SOCKETS];
static atomic_uint shared_next_id;
static unsigned shared_max_ids;
static atomic_uchar *shared_seen;   /* per id: times its echo was received */

static int shared_payload(unsigned id, char *buf, size_t size)
{
    int n = snprintf(buf, size, "s%u/%08x/", id, id * 2654435761u);
    /* A length that varies with the id, so that a datagram cut or merged shows. */
    for (unsigned i = 0; i < id % 32 && n < (int)size - 1; i++)
        buf[n++] = (char)('a' + (id + i) % 26);
    buf[n] = '\0';
    return n;
}

/* One echo received on a shared socket: its id must be new, its content intact, its source (if
 * the way of receiving tells it) the socket's destination. */
static bool shared_check(struct shared_udp *s, const char *who, const char *buf, ssize_t n,
                         const struct sockaddr_storage *from)
{
    char expected[UDP_PAYLOAD_MAX], text[INET6_ADDRSTRLEN];
    unsigned id = 0;
    if (n <= 1 || buf[0] != 's' || sscanf(buf + 1, "%u", &id) != 1 || id >= shared_max_ids ||
        shared_payload(id, expected, sizeof(expected)) != n || memcmp(buf, expected, (size_t)n) != 0) {
        fail("%s: a damaged datagram on the shared socket (%s, %zd bytes)", who, s->what, n);
        return false;
    }
    if (atomic_fetch_add(&shared_seen[id], 1) != 0) {
        fail("%s: datagram %u received twice on the shared socket (%s)", who, id, s->what);
        return false;
    }
    if (from && !same_sockaddr((const struct sockaddr *)from, (const struct sockaddr *)&s->dst)) {
        fail("%s: the echo of datagram %u came from %s, not from %s's address", who, id, udp_text(from, text, sizeof(text)),
             s->what);
        return false;
    }
    atomic_fetch_add(&s->received, 1);
    return true;
}

/* Sends 1 datagram (UDP_BATCH with sendmmsg) the given way; how many went, or -1. */
static int shared_send(struct shared_udp *s, const char *who, enum shared_way way)
{
    char payloads[UDP_BATCH][UDP_PAYLOAD_MAX];
    int count = way == BY_MMSG ? UDP_BATCH : 1, len[UDP_BATCH];
    for (int i = 0; i < count; i++) {
        unsigned id = atomic_fetch_add(&shared_next_id, 1);
        if (id >= shared_max_ids) {
            fail("%s: more shared datagrams than planned", who);
            return -1;
        }
        len[i] = shared_payload(id, payloads[i], sizeof(payloads[i]));
    }
    const struct sockaddr *to = (const struct sockaddr *)&s->dst;
    struct iovec iov[UDP_BATCH];
    struct mmsghdr mm[UDP_BATCH];
    memset(mm, 0, sizeof(mm));
    for (int i = 0; i < count; i++) {
        iov[i] = (struct iovec){ .iov_base = payloads[i], .iov_len = (size_t)len[i] };
        /* sendmsg/sendmmsg: to the address, or (every other message of a batch) the default destination. */
        bool addressed = way == BY_SENDMSG || i % 2 == 0;
        mm[i].msg_hdr = (struct msghdr){ .msg_name = addressed ? (void *)to : NULL, .msg_namelen = addressed ? s->dstlen : 0,
                                         .msg_iov = &iov[i], .msg_iovlen = 1 };
    }
    ssize_t r;
    switch (way) {
    case BY_SENDTO: r = sendto(s->fd, payloads[0], (size_t)len[0], 0, to, s->dstlen); break;
    case BY_CONNECT: {
        struct sockaddr_storage peer = { 0 };
        socklen_t peerlen = sizeof(peer);
        if (connect(s->fd, to, s->dstlen) < 0) {
            fail("%s: connect again on the shared socket (%s): %s", who, s->what, strerror(errno));
            return -1;
        }
        if (getpeername(s->fd, (struct sockaddr *)&peer, &peerlen) < 0 || !same_sockaddr((struct sockaddr *)&peer, to)) {
            fail("%s: getpeername of the shared socket (%s) is not its destination", who, s->what);
            return -1;
        }
    }
        /* fall through */
    case BY_SEND: r = send(s->fd, payloads[0], (size_t)len[0], 0); break;
    case BY_WRITE: r = write(s->fd, payloads[0], (size_t)len[0]); break;
    case BY_SENDMSG: r = sendmsg(s->fd, &mm[0].msg_hdr, 0); break;
    default: {
        int m = sendmmsg(s->fd, mm, (unsigned)count, 0);
        for (int i = 0; i < m; i++)
            if (mm[i].msg_len != (unsigned)len[i]) {
                fail("%s: sendmmsg on the shared socket (%s) sent %u bytes of %d", who, s->what, mm[i].msg_len, len[i]);
                return -1;
            }
        r = m > 0 ? m : -1;
        if (r < 0)
            break;
        atomic_fetch_add(&s->sent, m);
        atomic_fetch_add(&udp_sent, m);
        return m;
    }
    }
    if (r != len[0]) {
        fail("%s: %s on the shared socket (%s): %s", who, shared_way_names[way], s->what, r < 0 ? strerror(errno) : "short");
        return -1;
    }
    atomic_fetch_add(&s->sent, 1);
    atomic_fetch_add(&udp_sent, 1);
    return 1;
}

/* Receives up to `owed` datagrams the given way (at least one); how many, or -1. */
static int shared_receive(struct shared_udp *s, const char *who, enum shared_way way, int owed)
{
    char bufs[UDP_BATCH][UDP_PAYLOAD_MAX + 16];
    struct sockaddr_storage from[UDP_BATCH];
    struct iovec iov[UDP_BATCH];
    struct mmsghdr mm[UDP_BATCH];
    int count = way == BY_MMSG ? (owed < UDP_BATCH ? owed : UDP_BATCH) : 1;
    memset(mm, 0, sizeof(mm));
    memset(from, 0, sizeof(from));
    for (int i = 0; i < count; i++) {
        iov[i] = (struct iovec){ .iov_base = bufs[i], .iov_len = sizeof(bufs[i]) };
        mm[i].msg_hdr = (struct msghdr){ .msg_name = &from[i], .msg_namelen = sizeof(from[i]), .msg_iov = &iov[i], .msg_iovlen = 1 };
    }
    socklen_t fromlen = sizeof(from[0]);
    ssize_t n;
    bool has_source = true;
    switch (way) {
    case BY_SENDTO: n = recvfrom(s->fd, bufs[0], sizeof(bufs[0]), 0, (struct sockaddr *)&from[0], &fromlen); break;
    case BY_SEND:
    case BY_CONNECT: n = recv(s->fd, bufs[0], sizeof(bufs[0]), 0); has_source = false; break;
    case BY_WRITE: n = read(s->fd, bufs[0], sizeof(bufs[0])); has_source = false; break;
    case BY_SENDMSG:
        n = recvmsg(s->fd, &mm[0].msg_hdr, 0);
        if (n >= 0 && (mm[0].msg_hdr.msg_flags & MSG_TRUNC))
            n = -2;
        break;
    default: {
        int m = recvmmsg(s->fd, mm, (unsigned)count, MSG_WAITFORONE, NULL);
        if (m < 0) {
            fail("%s: recvmmsg on the shared socket (%s): %s", who, s->what, strerror(errno));
            return -1;
        }
        for (int i = 0; i < m; i++)
            if (!shared_check(s, who, bufs[i], (ssize_t)mm[i].msg_len, &from[i]))
                return -1;
        return m;
    }
    }
    if (n < 0) {
        fail("%s: receiving (%s) on the shared socket (%s): %s", who, shared_way_names[way], s->what,
             n == -2 ? "truncated" : strerror(errno));
        return -1;
    }
    return shared_check(s, who, bufs[0], n, has_source ? &from[0] : NULL) ? 1 : -1;
}

static void *udp_sharer(void *arg)
{
    int idx = (int)(intptr_t)arg, tid = idx % udp_sharers;
    struct shared_udp *s = &shared[idx / udp_sharers];
    char who[48];
    snprintf(who, sizeof(who), "UDP sharer %d of %s", tid, s->what);
    pthread_barrier_wait(&start_line);
    if (tid == 0) {   /* the socket and its destination, for the whole group */
        bool by_name = s == &shared[1];
        s->fd = -1;
        if (udp_destination(who, by_name ? "e15.tsan.test" : NULL, AF_INET, &s->dst, &s->dstlen))
            s->fd = udp_socket(who, AF_INET);
    }
    pthread_barrier_wait(&s->ready);
    if (s->fd < 0) {
        pthread_barrier_wait(&s->primed);
        return NULL;
    }
    /* Everyone connects at once: one association is made, the others wait for it. */
    bool ok = connect(s->fd, (struct sockaddr *)&s->dst, s->dstlen) == 0;
    if (!ok)
        fail("%s: connect: %s", who, strerror(errno));
    int owed = 0;
    /* One datagram before the others send: the socket's first send to a name tells socksify to
     * report its echoes from the fake address; an echo received before that send returns would
     * come from the address the proxy resolved the name to (a documented limit). */
    if (ok && tid == 0 && (owed = shared_send(s, who, BY_SEND)) < 0)
        ok = false;
    pthread_barrier_wait(&s->primed);
    for (int r = 0; ok && r < udp_rounds && !too_many_errors(); r++) {
        enum shared_way way = (enum shared_way)((r + tid) % SHARED_WAYS);
        int m = shared_send(s, who, way);
        if (m < 0)
            break;
        owed += m;
        while (owed > 0) {
            m = shared_receive(s, who, way, owed);
            if (m < 0) {
                ok = false;
                break;
            }
            owed -= m;
        }
    }
    while (ok && owed > 0) {   /* the first thread's first datagram, with no rounds at all */
        int m = shared_receive(s, who, BY_SENDTO, owed);
        if (m < 0)
            break;
        owed -= m;
    }
    note_done(&udp_done_ms);
    return NULL;
}

static void udp_shared_init(void)
{
    shared[0].what = "the echo server's address";
    shared[1].what = "e15.tsan.test";
    for (int i = 0; i < SHARED_SOCKETS; i++) {
        shared[i].fd = -1;
        pthread_barrier_init(&shared[i].ready, NULL, (unsigned)(udp_sharers ? udp_sharers : 1));
        pthread_barrier_init(&shared[i].primed, NULL, (unsigned)(udp_sharers ? udp_sharers : 1));
    }
    shared_max_ids = (unsigned)(SHARED_SOCKETS * udp_sharers * (udp_rounds + 1) * UDP_BATCH);
    shared_seen = calloc(shared_max_ids ? shared_max_ids : 1, sizeof(*shared_seen));
    if (!shared_seen) {
        perror("stress: calloc");
        exit(1);
    }
}

/* After the sharers: every datagram sent on a shared socket came back exactly once; the sockets
 * are closed. */
static void udp_shared_check(void)
{
    for (int i = 0; i < SHARED_SOCKETS; i++) {
        struct shared_udp *s = &shared[i];
        if (udp_sharers && atomic_load(&s->sent) != atomic_load(&s->received))
            fail("shared UDP socket (%s): %d datagrams sent, %d echoes received", s->what, atomic_load(&s->sent),
                 atomic_load(&s->received));
        if (s->fd >= 0) {
            atomic_fetch_add(&udp_assocs, 1);
            close(s->fd);
        }
    }
    unsigned ids = atomic_load(&shared_next_id), missing = 0;
    for (unsigned id = 0; id < ids && id < shared_max_ids; id++)
        missing += atomic_load(&shared_seen[id]) == 0;
    if (missing)
        fail("shared UDP sockets: %u of %u datagrams never came back", missing, ids);
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

/* What a fork child sends its datagram to, on the socket (with an association) it inherits. */
struct child_udp {
    int fd;
    struct sockaddr_storage dst;
    socklen_t len;
    const char *what;
};

/* In the child: one connect to a fake address the parent looked up, an echo; one datagram
 * through the association the parent made for u->fd, an echo; _exit. Only async-signal-safe
 * habits: other threads may have held locks when the parent forked. */
static void child(int n, const struct sockaddr *addr, socklen_t len, const char *name, const struct child_udp *u)
{
    alarm(CHILD_TIMEOUT_MS / 1000 + 5);   /* the parent kills it first; this is the back-stop */
    char who[32];
    snprintf(who, sizeof(who), "fork child %d", n);
    bool ok = echo_through(who, name, addr, len, VIA_CONNECT, false, WAIT, -1);
    if (u->fd >= 0)
        ok = udp_round_trip(u->fd, who, u->what, &u->dst, u->len, false) && ok;
    _exit(ok ? 0 : 1);
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
    /* A UDP socket with an association (and this thread's receive buffer made) for the children:
     * each sends through it, by address or by name, while the other threads' associations are
     * busy; then the parent does, after the child's exit. */
    struct child_udp u = { .fd = udp_socket("forker", AF_INET), .what = "the echo server's address" };
    struct sockaddr_storage by_address;
    socklen_t by_address_len;
    if (u.fd >= 0 && (!udp_destination("forker", NULL, AF_INET, &by_address, &by_address_len) ||
                      !udp_round_trip(u.fd, "forker", u.what, &by_address, by_address_len, false))) {
        close(u.fd);
        u.fd = -1;
    }
    if (u.fd >= 0) {
        atomic_fetch_add(&udp_assocs, 1);
        atomic_fetch_add(&udp_trips_ok, 1);
    }
    for (int n = 0; n < forks && !too_many_errors(); n++) {
        nanosleep(&(struct timespec){ 0, FORK_INTERVAL_MS * 1000000 }, NULL);   /* the clients are mid-handshake */
        char name[64], uname[64];
        snprintf(name, sizeof(name), "e%d.%stsan.test", n % NAMES, kinds[n % KINDS]);
        snprintf(uname, sizeof(uname), "e%d.tsan.test", (n * 7) % NAMES);   /* the default chain: the socket's */
        u.what = n % 2 ? uname : "the echo server's address";
        if (n % 2 == 0) {
            u.dst = by_address;
            u.len = by_address_len;
        } else if (u.fd >= 0 && !udp_destination("forker", uname, AF_INET, &u.dst, &u.len)) {
            continue;
        }
        r = getaddrinfo(name, echo_port_text, &hints, &res);
        if (r != 0) {
            fail("forker: getaddrinfo %s: %s", name, gai_strerror(r));
            continue;
        }
        pid_t pid = fork();
        if (pid == 0)
            child(n, res->ai_addr, res->ai_addrlen, name, &u);
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
            if (u.fd >= 0) {   /* the child's datagram, counted here; and the association still works here */
                atomic_fetch_add(&udp_sent, 1);
                atomic_fetch_add(&udp_fork_trips, 1);
                if (udp_round_trip(u.fd, "forker", u.what, &u.dst, u.len, false))
                    atomic_fetch_add(&udp_trips_ok, 1);
            }
        } else if (WIFEXITED(status)) {
            fail("fork child %d (pid %d) exited with %d", n, (int)pid, WEXITSTATUS(status));
        } else {
            fail("fork child %d (pid %d) died of signal %d", n, (int)pid, WTERMSIG(status));
        }
    }
    if (u.fd >= 0)
        close(u.fd);
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
            "direct 127.0.0.2/32\n"   /* the UDP echo server's replies to danted's relay */
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
    udp_clients = env_int("STRESS_UDP_CLIENTS", udp_clients, 1000);
    udp_rounds = env_int("STRESS_UDP_ROUNDS", udp_rounds, 100000);
    udp_sharers = env_int("STRESS_UDP_SHARERS", udp_sharers, 100);
    udp_churners = env_int("STRESS_UDP_CHURNERS", udp_churners, 100);
    udp_churn = env_int("STRESS_UDP_CHURN", udp_churn, 100000);
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
    udp_echo_fd = udp_loopback_socket(&udp_echo_port);
    snprintf(echo_port_text, sizeof(echo_port_text), "%d", echo_port);
    snprintf(udp_port_text, sizeof(udp_port_text), "%d", udp_echo_port);
    write_config(argv[2], proxy_port, dead_port, argv[4]);
    setenv("SOCKSIFY_CONF", argv[2], 1);
    unsetenv("SOCKSIFY_PROXY");
    unsetenv("SOCKSIFY_LOG_LEVEL");
    unsetenv("SOCKSIFY_LOG_FILE");

    int udp_threads = udp_clients + SHARED_SOCKETS * udp_sharers + udp_churners;
    pthread_t echo, udp_echo, *threads = calloc((size_t)(clients + resolvers + 1 + udp_threads), sizeof(pthread_t));
    if (!threads)
        return 1;
    udp_shared_init();
    start(&echo, echo_server, 0);
    start(&udp_echo, udp_echo_server, 0);
    pthread_barrier_init(&start_line, NULL, (unsigned)(clients + resolvers + 1 + udp_threads + 1));
    int nt = 0;
    for (int i = 0; i < clients; i++)
        start(&threads[nt++], client, i);
    for (int i = 0; i < resolvers; i++)
        start(&threads[nt++], resolver, i);
    start(&threads[nt++], forker, 0);
    for (int i = 0; i < udp_clients; i++)
        start(&threads[nt++], udp_client, i);
    for (int i = 0; i < SHARED_SOCKETS * udp_sharers; i++)
        start(&threads[nt++], udp_sharer, i);
    for (int i = 0; i < udp_churners; i++)
        start(&threads[nt++], udp_churner, i);
    printf("stress: %d client threads x %d connects, %d resolver threads x %d names, %d forks; echo on 127.0.0.1:%d, "
           "proxy 127.0.0.1:%d, dead proxy 127.0.0.1:%d\n",
           clients, connects, resolvers, lookups, forks, echo_port, proxy_port, dead_port);
    printf("stress: UDP: %d client threads x %d round trips, %d sockets shared by %d threads x %d rounds, %d churner "
           "threads x %d sockets; UDP echo on 127.0.0.1:%d\n",
           udp_clients, udp_rounds, SHARED_SOCKETS, udp_sharers, udp_rounds, udp_churners, udp_churn, udp_echo_port);
    fflush(stdout);
    long long t0 = start_ms = now_ms();
    pthread_barrier_wait(&start_line);
    for (int i = 0; i < nt; i++)
        pthread_join(threads[i], NULL);
    long long elapsed = now_ms() - t0;
    udp_shared_check();
    atomic_store(&stopping, true);
    pthread_join(echo, NULL);
    pthread_join(udp_echo, NULL);
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
    int want_trips = udp_clients * udp_rounds + 1 + forks;   /* the forker's: its first, and one after each child */
    int want_churned = udp_churners * udp_churn;
    printf("stress: UDP: %d/%d own-socket round trips, %d/%d churned sockets, %d/%d fork children's datagrams, shared "
           "sockets %d/%d and %d/%d echoes, UDP echo server served %d/%d (%d not via the relay); TCP clients done at "
           "%lld ms, UDP threads at %lld ms\n",
           atomic_load(&udp_trips_ok), want_trips, atomic_load(&udp_churned), want_churned, atomic_load(&udp_fork_trips),
           forks, atomic_load(&shared[0].received), atomic_load(&shared[0].sent), atomic_load(&shared[1].received),
           atomic_load(&shared[1].sent), atomic_load(&udp_echo_served), atomic_load(&udp_sent),
           atomic_load(&udp_echo_direct), atomic_load(&tcp_done_ms), atomic_load(&udp_done_ms));
    /* For run.sh: socksify's log and danted's must show exactly these. */
    printf("stress: UDP totals: %d associations, %d datagrams\n", atomic_load(&udp_assocs), atomic_load(&udp_sent));
    if (atomic_load(&udp_echo_served) != atomic_load(&udp_sent))
        fail("the UDP echo server served %d datagrams, %d were sent", atomic_load(&udp_echo_served), atomic_load(&udp_sent));
    close(udp_echo_fd);
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
