/* The raw BIND sequence as a program does it, for test_bind.py (run under socksify):
 *
 *   bind_client HOST PORT LOCAL WAIT
 *
 * Connects to HOST:PORT first (the proxied connection; HOST "-": none), then makes a listener:
 * socket, bind(LOCAL, port 0), getsockname, listen. Prints "BOUND ADDR PORT" (flushed: the test
 * makes the peer connect there), then waits for one connection as WAIT says:
 *   block     a blocking accept()
 *   poll      a non-blocking listener, poll() for POLLIN (15 s at most), accept4(SOCK_NONBLOCK|SOCK_CLOEXEC)
 *   order     as poll, but one poll() on the listener and the HOST:PORT connection together, then
 *             "ORDER listener ready|waiting control ready|waiting": what that poll reported
 *   order-epoll  the same with one epoll_wait() (level-triggered registrations, room for both)
 *   fork      a forked child polls the HOST:PORT connection (0.5 s) and exits; "CHILD-POLLED"; then
 *             a blocking accept()
 *   epoll     a non-blocking listener in an epoll set (edge-triggered), epoll_wait (15 s), accept()
 *   self      connects to the bound address itself (a purely local listener), then accept()
 *   client    no listener after all: the bound socket connects to HOST:PORT (bind before connect)
 * and prints "PEER ADDR PORT" (from accept), "GETPEERNAME ADDR PORT", reads one line from the
 * connection and prints "DATA LINE", answers "ACK\n". A failed accept prints "ERRNO NAME". Then a
 * second accept on the spent listener (non-blocking) prints "AGAIN ERRNO NAME" or "AGAIN OK". */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static void print_addr(const char *label, const struct sockaddr_storage *ss)
{
    char text[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const void *)ss;
        inet_ntop(AF_INET, &a->sin_addr, text, sizeof(text));
        port = ntohs(a->sin_port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const void *)ss;
        inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof(text));
        port = ntohs(a->sin6_port);
    }
    printf("%s %s %u\n", label, text, port);
    fflush(stdout);
}

static int fail(const char *what)
{
    printf("%s %s\n", what, strerrorname_np(errno) ? strerrorname_np(errno) : "?");
    fflush(stdout);
    return 1;
}

/* Fills ss with host (numeric) and port; its length, or 0. */
static socklen_t make_addr(const char *host, unsigned port, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *a4 = (void *)ss;
    struct sockaddr_in6 *a6 = (void *)ss;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons(port);
        return sizeof(*a4);
    }
    if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
        return sizeof(*a6);
    }
    return 0;
}

/* Waits until the listener is readable, as WAIT says; 0, or -1 after printing why. */
static int wait_readable(int l, int ctrl, const char *wait, const struct sockaddr_storage *bound, socklen_t blen)
{
    if (strcmp(wait, "block") != 0 && strcmp(wait, "self") != 0 && strcmp(wait, "fork") != 0)
        fcntl(l, F_SETFL, fcntl(l, F_GETFL) | O_NONBLOCK);
    if (strcmp(wait, "fork") == 0) {
        pid_t child = fork();
        if (child == 0) {
            struct pollfd p = { .fd = ctrl, .events = POLLIN };
            poll(&p, 1, 500);
            _exit(0);
        }
        if (child < 0 || waitpid(child, NULL, 0) < 0)
            return fail("ERRNO"), -1;
        printf("CHILD-POLLED\n");
        fflush(stdout);
    } else if (strcmp(wait, "order-epoll") == 0) {
        int ep = epoll_create1(EPOLL_CLOEXEC);
        struct epoll_event ev[2] = { { .events = EPOLLIN, .data.fd = l }, { .events = EPOLLIN, .data.fd = ctrl } };
        if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev[0]) < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, ctrl, &ev[1]) < 0)
            return fail("ERRNO"), -1;
        int r = epoll_wait(ep, ev, 2, 15000);
        close(ep);
        if (r <= 0)
            return r == 0 ? (printf("TIMEOUT epoll\n"), -1) : (fail("ERRNO"), -1);
        bool lr = false, cr = false;
        for (int i = 0; i < r; i++) {
            lr |= ev[i].data.fd == l && (ev[i].events & EPOLLIN);
            cr |= ev[i].data.fd == ctrl && (ev[i].events & EPOLLIN);
        }
        printf("ORDER listener %s control %s\n", lr ? "ready" : "waiting", cr ? "ready" : "waiting");
        fflush(stdout);
    } else if (strcmp(wait, "order") == 0) {
        struct pollfd p[2] = { { .fd = l, .events = POLLIN }, { .fd = ctrl, .events = POLLIN } };
        int r = poll(p, 2, 15000);
        if (r <= 0)
            return r == 0 ? (printf("TIMEOUT poll\n"), -1) : (fail("ERRNO"), -1);
        printf("ORDER listener %s control %s\n", p[0].revents & POLLIN ? "ready" : "waiting",
               p[1].revents & POLLIN ? "ready" : "waiting");
        fflush(stdout);
    } else if (strcmp(wait, "poll") == 0) {
        struct pollfd p = { .fd = l, .events = POLLIN };
        int r = poll(&p, 1, 15000);
        if (r <= 0)
            return r == 0 ? (printf("TIMEOUT poll\n"), -1) : (fail("ERRNO"), -1);
    } else if (strcmp(wait, "epoll") == 0) {
        int ep = epoll_create1(EPOLL_CLOEXEC);
        struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.fd = l };
        if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev) < 0)
            return fail("ERRNO"), -1;
        int r = epoll_wait(ep, &ev, 1, 15000);
        close(ep);
        if (r <= 0)
            return r == 0 ? (printf("TIMEOUT epoll\n"), -1) : (fail("ERRNO"), -1);
    } else if (strcmp(wait, "self") == 0) {
        int s = socket(bound->ss_family, SOCK_STREAM, 0);
        if (s < 0 || connect(s, (const struct sockaddr *)bound, blen) < 0)
            return fail("ERRNO"), -1;
        if (write(s, "from-self\n", 10) != 10)
            return fail("ERRNO"), -1;
    }
    return 0;
}

/* Reads a line (or up to the buffer) from c into buf, NUL-terminated. */
static void read_line(int c, char *buf, size_t size)
{
    size_t n = 0;
    while (n + 1 < size) {
        ssize_t r = read(c, buf + n, 1);
        if (r <= 0 || buf[n] == '\n')
            break;
        n++;
    }
    buf[n] = '\0';
}

static int serve_one(int l, const char *wait)
{
    struct sockaddr_storage peer;
    socklen_t plen = sizeof(peer);
    bool nonblocking = strcmp(wait, "poll") == 0 || strncmp(wait, "order", 5) == 0;
    int c = nonblocking ? accept4(l, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC)
                                      : accept(l, (struct sockaddr *)&peer, &plen);
    if (c < 0)
        return fail("ERRNO");
    print_addr("PEER", &peer);
    plen = sizeof(peer);
    if (getpeername(c, (struct sockaddr *)&peer, &plen) < 0)
        return fail("ERRNO");
    print_addr("GETPEERNAME", &peer);
    fcntl(c, F_SETFL, fcntl(c, F_GETFL) & ~O_NONBLOCK);
    char line[256];
    read_line(c, line, sizeof(line));
    printf("DATA %s\n", line);
    fflush(stdout);
    if (write(c, "ACK\n", 4) != 4)
        return fail("ERRNO");
    close(c);
    return 0;
}

/* WAIT "client": the bound socket connects to host:port (an echo server) instead, as programs
 * that bind before they connect do; prints "CLIENT-ECHO LINE". */
static int bound_client(int s, const char *host, unsigned port)
{
    struct sockaddr_storage ss;
    socklen_t len = make_addr(host, port, &ss);
    if (!len || connect(s, (struct sockaddr *)&ss, len) < 0)
        return fail("CLIENT-CONNECT");
    if (write(s, "ping\n", 5) != 5)
        return fail("ERRNO");
    char line[64];
    read_line(s, line, sizeof(line));
    printf("CLIENT-ECHO %s\n", line);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s HOST PORT LOCAL WAIT\n", argv[0]);
        return 2;
    }
    struct sockaddr_storage ss;
    socklen_t len;
    int ctrl = -1;
    if (strcmp(argv[1], "-") != 0) {
        len = make_addr(argv[1], (unsigned)atoi(argv[2]), &ss);
        ctrl = socket(ss.ss_family, SOCK_STREAM, 0);
        if (!len || ctrl < 0 || connect(ctrl, (struct sockaddr *)&ss, len) < 0)
            return fail("CONNECT");
        printf("CONNECTED\n");
    }
    len = make_addr(argv[3], 0, &ss);
    int l = socket(ss.ss_family, SOCK_STREAM, 0);
    if (!len || l < 0 || bind(l, (struct sockaddr *)&ss, len) < 0)
        return fail("BIND");
    if (strcmp(argv[4], "client") == 0)
        return bound_client(l, argv[1], (unsigned)atoi(argv[2]));
    struct sockaddr_storage bound;
    socklen_t blen = sizeof(bound);
    if (getsockname(l, (struct sockaddr *)&bound, &blen) < 0)
        return fail("GETSOCKNAME");
    if (listen(l, 1) < 0)
        return fail("LISTEN");
    print_addr("BOUND", &bound);
    /* A listener on the unspecified address is reached on loopback by the "self" client. */
    if (strcmp(argv[4], "self") == 0 && bound.ss_family == AF_INET &&
        ((struct sockaddr_in *)&bound)->sin_addr.s_addr == htonl(INADDR_ANY))
        ((struct sockaddr_in *)&bound)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (wait_readable(l, ctrl, argv[4], &bound, blen) < 0)
        return 1;
    int r = serve_one(l, argv[4]);
    fcntl(l, F_SETFL, fcntl(l, F_GETFL) | O_NONBLOCK);
    if (accept(l, NULL, NULL) < 0)
        fail("AGAIN ERRNO");
    else
        printf("AGAIN OK\n");
    close(l);
    return r;
}
