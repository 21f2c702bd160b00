/*
 * bench-tserver: the target servers of tests/bench/compare.sh, run in the target namespace.
 *
 *   bench-tserver ADDR ECHOPORT BULKPORT
 *
 * ECHOPORT  echo: reads one line, writes it back and closes (so TIME_WAIT lands on this side,
 *           not on the client's ephemeral ports). It counts the connections it served per peer
 *           address; a connection whose line is "stats" gets the counts back instead, as
 *           "ADDR=COUNT ..." (addresses in the order first seen; "none" when there are none).
 *           One thread, epoll, non-blocking: thousands of connections a second and hundreds at
 *           once, so the proxy, not this server, is what a benchmark measures.
 * BULKPORT  bulk: reads "GET N\n" and sends N bytes, then closes; or reads "PUT N\n", reads N
 *           bytes and answers "OK N\n". Served one at a time by a child process (blocking I/O
 *           with 60 s timeouts), each transfer logged on stderr with its rate.
 *
 * Both listen on ADDR (numeric IPv4, e.g. 0.0.0.0). It runs until SIGTERM/SIGINT.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define LINE_MAX_LEN 256
#define MAX_PEERS 64
#define BULK_CHUNK (1 << 20)

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

static int listen_on(const char *addr, const char *port_s)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    char *end;
    long port = strtol(port_s, &end, 10);
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1 || *end || port < 1 || port > 65535) {
        fprintf(stderr, "bench-tserver: bad address or port: %s %s\n", addr, port_s);
        exit(2);
    }
    sa.sin_port = htons((unsigned short)port);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 4096) < 0) {
        fprintf(stderr, "bench-tserver: listen on %s:%s: %s\n", addr, port_s, strerror(errno));
        exit(1);
    }
    return fd;
}

/* ---------- echo ---------- */

struct conn {
    int fd;
    size_t len;
    char buf[LINE_MAX_LEN];
    char peer[INET_ADDRSTRLEN];
};

static struct { char addr[INET_ADDRSTRLEN]; unsigned long n; } peers[MAX_PEERS];
static int npeers;

static void count_peer(const char *addr)
{
    for (int i = 0; i < npeers; i++)
        if (strcmp(peers[i].addr, addr) == 0) {
            peers[i].n++;
            return;
        }
    if (npeers < MAX_PEERS) {
        snprintf(peers[npeers].addr, sizeof peers[npeers].addr, "%s", addr);
        peers[npeers++].n = 1;
    }
}

static void finish(int ep, struct conn *c)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c);
}

/* Returns 1 when the connection is done (answered or failed). */
static int on_readable(struct conn *c)
{
    for (;;) {
        ssize_t n = read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
        if (n < 0)
            return errno == EAGAIN ? 0 : (errno == EINTR ? on_readable(c) : 1);
        if (n == 0)
            return 1;
        c->len += (size_t)n;
        char *nl = memchr(c->buf, '\n', c->len);
        if (nl) {
            size_t line = (size_t)(nl - c->buf) + 1;
            if (line == 6 && memcmp(c->buf, "stats\n", 6) == 0) {
                char out[MAX_PEERS * 32] = "";
                size_t used = 0;
                for (int i = 0; i < npeers && used < sizeof out - 32; i++)
                    used += (size_t)snprintf(out + used, sizeof out - used, "%s%s=%lu", i ? " " : "",
                                             peers[i].addr, peers[i].n);
                if (npeers == 0)
                    used = (size_t)snprintf(out, sizeof out, "none");
                out[used++] = '\n';
                (void)!write(c->fd, out, used);
            } else {
                count_peer(c->peer);
                (void)!write(c->fd, c->buf, line);
            }
            return 1;
        }
        if (c->len == sizeof c->buf)
            return 1; /* no line: drop it */
    }
}

static void echo_loop(int lfd)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    fcntl(lfd, F_SETFL, O_NONBLOCK);
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    struct epoll_event evs[256];
    while (!stop) {
        int n = epoll_wait(ep, evs, 256, 500);
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (c == NULL) {
                for (;;) {
                    struct sockaddr_in sa;
                    socklen_t sl = sizeof sa;
                    int fd = accept4(lfd, (struct sockaddr *)&sa, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (fd < 0)
                        break;
                    c = calloc(1, sizeof *c);
                    if (!c) {
                        close(fd);
                        continue;
                    }
                    c->fd = fd;
                    inet_ntop(AF_INET, &sa.sin_addr, c->peer, sizeof c->peer);
                    /* Most clients have sent their line by now: try at once. */
                    if (on_readable(c)) {
                        close(fd);
                        free(c);
                        continue;
                    }
                    struct epoll_event cev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
                }
            } else if (on_readable(c)) {
                finish(ep, c);
            }
        }
    }
}

/* ---------- bulk ---------- */

static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR && !stop)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static void bulk_one(int fd, char *buf)
{
    struct timeval tv = {.tv_sec = 60};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    char line[64];
    size_t len = 0;
    while (len < sizeof line - 1) { /* byte by byte: no byte of a PUT's data is read here */
        ssize_t n = read(fd, line + len, 1);
        if (n <= 0)
            return;
        if (line[len++] == '\n')
            break;
    }
    line[len] = '\0';
    char verb[4];
    unsigned long long want;
    if (sscanf(line, "%3s %llu", verb, &want) != 2 || (strcmp(verb, "GET") && strcmp(verb, "PUT"))) {
        fprintf(stderr, "bench-tserver: bulk: bad request %.40s\n", line);
        return;
    }
    double t0 = now_seconds();
    unsigned long long done = 0;
    if (verb[0] == 'G') {
        while (done < want) {
            size_t n = want - done < BULK_CHUNK ? (size_t)(want - done) : BULK_CHUNK;
            if (write_all(fd, buf, n) < 0)
                break;
            done += n;
        }
    } else {
        while (done < want) {
            ssize_t n = read(fd, buf, want - done < BULK_CHUNK ? (size_t)(want - done) : BULK_CHUNK);
            if (n <= 0)
                break;
            done += (unsigned long long)n;
        }
        char ok[64];
        int n = snprintf(ok, sizeof ok, "OK %llu\n", done);
        (void)write_all(fd, ok, (size_t)n);
    }
    double el = now_seconds() - t0;
    fprintf(stderr, "bench-tserver: bulk %s %llu of %llu bytes in %.3f s (%.0f MB/s)\n", verb, done, want, el,
            el > 0 ? (double)done / el / 1e6 : 0.0);
}

static void bulk_loop(int lfd)
{
    char *buf = malloc(BULK_CHUNK);
    if (!buf)
        exit(1);
    memset(buf, 'b', BULK_CHUNK);
    while (!stop) {
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        bulk_one(fd, buf);
        close(fd);
    }
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: bench-tserver ADDR ECHOPORT BULKPORT\n");
        return 2;
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART: accept/epoll_wait return */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    int efd = listen_on(argv[1], argv[2]);
    int bfd = listen_on(argv[1], argv[3]);
    pid_t child = fork();
    if (child < 0) {
        perror("bench-tserver: fork");
        return 1;
    }
    if (child == 0) {
        close(efd);
        bulk_loop(bfd);
        _exit(0);
    }
    close(bfd);
    fprintf(stderr, "bench-tserver: echo on %s:%s, bulk on %s:%s\n", argv[1], argv[2], argv[1], argv[3]);
    echo_loop(efd);
    kill(child, SIGTERM);
    waitpid(child, NULL, 0);
    return 0;
}
