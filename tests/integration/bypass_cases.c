/* Socket calls that once went around socksify's judgement (issue 13, item 1 and 4): address forms
 * the kernel accepts (the 24-byte sockaddr_in6, AF_UNSPEC in an IPv4 send, 0.0.0.0), protocols
 * SOCKS cannot carry (UDP-Lite, raw ICMP), and libc's other names for hooked calls (__connect,
 * __read_chk, __recv_chk, __recvfrom_chk). Usage: bypass_cases CASE HOST PORT. Prints one line:
 * "OK <what came back>", "SENT" (a datagram left without an error), or "ERRNO <NAME>"; exit 0. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#ifndef IPPROTO_UDPLITE
#define IPPROTO_UDPLITE 136
#endif

extern int __connect(int, const struct sockaddr *, socklen_t);
extern ssize_t __read_chk(int, void *, size_t, size_t);
extern ssize_t __recv_chk(int, void *, size_t, size_t, int);
extern ssize_t __recvfrom_chk(int, void *, size_t, size_t, int, struct sockaddr *, socklen_t *);

static const char *host;
static int port;

static int fail(void)
{
    const char *name = strerrorname_np(errno);
    printf("ERRNO %s\n", name ? name : "?");
    return 0;
}

static int sent(void)
{
    printf("SENT\n");
    return 0;
}

static void v4(struct sockaddr_in *a, sa_family_t family)
{
    memset(a, 0, sizeof(*a));
    a->sin_family = family;
    a->sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, host, &a->sin_addr);
}

static void v6(struct sockaddr_in6 *a)
{
    memset(a, 0, sizeof(*a));
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)port);
    inet_pton(AF_INET6, host, &a->sin6_addr);
}

static int socket_timed(int family, int type, int protocol)
{
    int s = socket(family, type, protocol);
    struct timeval tv = { .tv_sec = 5 };
    if (s >= 0)
        setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return s;
}

/* What comes back on a connected stream socket. */
static int reply(int s)
{
    char buf[64];
    ssize_t n = recv(s, buf, sizeof(buf) - 1, 0);
    if (n <= 0)
        return fail();
    buf[n] = '\0';
    printf("OK %s", buf);
    return 0;
}

/* The echo of "x\n" on a connected stream socket. */
static int echo(int s)
{
    return send(s, "x\n", 2, 0) != 2 ? fail() : reply(s);
}

/* The answer to a datagram; "SENT" if none came (the datagram left, but not through the proxy). */
static int answer(int s)
{
    char buf[256];
    ssize_t n = recv(s, buf, sizeof(buf) - 1, 0);
    if (n < 0)
        return errno == EAGAIN ? sent() : fail();
    buf[n] = '\0';
    printf("OK %s\n", buf);
    return 0;
}

static int connect6_24(void)
{
    struct sockaddr_in6 a;
    v6(&a);
    int s = socket_timed(AF_INET6, SOCK_STREAM, 0);
    return connect(s, (struct sockaddr *)&a, 24) < 0 ? fail() : echo(s);
}

static int fastopen6_24(void)
{
    struct sockaddr_in6 a;
    v6(&a);
    int s = socket_timed(AF_INET6, SOCK_STREAM, 0);
    return sendto(s, "x\n", 2, MSG_FASTOPEN, (struct sockaddr *)&a, 24) != 2 ? fail() : reply(s);
}

static int udp6_24(void)
{
    struct sockaddr_in6 a;
    v6(&a);
    int s = socket_timed(AF_INET6, SOCK_DGRAM, 0);
    return sendto(s, "WHOAMI", 6, 0, (struct sockaddr *)&a, 24) < 0 ? fail() : answer(s);
}

static int udp_unspec(void)
{
    struct sockaddr_in a;
    v4(&a, AF_UNSPEC);
    int s = socket_timed(AF_INET, SOCK_DGRAM, 0);
    return sendto(s, "WHOAMI", 6, 0, (struct sockaddr *)&a, sizeof(a)) < 0 ? fail() : answer(s);
}

static int udplite(void)
{
    struct sockaddr_in a;
    v4(&a, AF_INET);
    int s = socket_timed(AF_INET, SOCK_DGRAM, IPPROTO_UDPLITE);
    if (s < 0)
        return fail();
    return sendto(s, "WHOAMI", 6, 0, (struct sockaddr *)&a, sizeof(a)) < 0 ? fail() : sent();
}

static int raw_icmp(void)
{
    struct sockaddr_in a;
    v4(&a, AF_INET);
    int s = socket_timed(AF_INET, SOCK_RAW, IPPROTO_ICMP);
    if (s < 0)
        return fail();
    struct icmphdr ping = { .type = ICMP_ECHO };
    ping.checksum = htons((uint16_t)~(ICMP_ECHO << 8));
    return sendto(s, &ping, sizeof(ping), 0, (struct sockaddr *)&a, sizeof(a)) < 0 ? fail() : sent();
}

static int connect_any(void)
{
    struct sockaddr_in a;
    v4(&a, AF_INET);   /* host is 0.0.0.0 */
    int s = socket_timed(AF_INET, SOCK_STREAM, 0);
    return connect(s, (struct sockaddr *)&a, sizeof(a)) < 0 ? fail() : echo(s);
}

static int alias_connect(void)
{
    struct sockaddr_in a;
    v4(&a, AF_INET);
    int s = socket_timed(AF_INET, SOCK_STREAM, 0);
    return __connect(s, (struct sockaddr *)&a, sizeof(a)) < 0 ? fail() : echo(s);
}

/* __read_chk on a socket whose connect through a (slow) proxy is still running: EAGAIN, as on
 * any connecting socket; then, once writable, the echo. */
static int read_chk_pending(void)
{
    struct sockaddr_in a;
    v4(&a, AF_INET);
    int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (connect(s, (struct sockaddr *)&a, sizeof(a)) == 0 || errno != EINPROGRESS)
        return fail();
    char buf[16];
    size_t want = (size_t)port % 2 + 3;   /* not a constant: the compiler keeps the call fortified */
    if (__read_chk(s, buf, want, sizeof(buf)) >= 0 || errno != EAGAIN)
        return fail();
    struct pollfd p = { .fd = s, .events = POLLOUT };
    if (poll(&p, 1, 10000) != 1)
        return fail();
    fcntl(s, F_SETFL, 0);
    printf("EAGAIN, then ");
    return echo(s);
}

static int recvfrom_chk_udp(void)
{
    struct sockaddr_in a, from;
    v4(&a, AF_INET);
    socklen_t len = sizeof(from);
    int s = socket_timed(AF_INET, SOCK_DGRAM, 0);
    char buf[256];
    if (sendto(s, "WHOAMI", 6, 0, (struct sockaddr *)&a, sizeof(a)) < 0)
        return fail();
    size_t want = sizeof(buf) - 1 - (size_t)port % 2;
    ssize_t n = __recvfrom_chk(s, buf, want, sizeof(buf), 0, (struct sockaddr *)&from, &len);
    if (n < 0)
        return fail();
    buf[n] = '\0';
    char text[INET_ADDRSTRLEN] = "?";
    inet_ntop(AF_INET, &from.sin_addr, text, sizeof(text));
    printf("OK %s FROM %s %d\n", buf, text, ntohs(from.sin_port));
    return 0;
}

static int recv_chk_udp(void)
{
    struct sockaddr_in a;
    v4(&a, AF_INET);
    int s = socket_timed(AF_INET, SOCK_DGRAM, 0);
    char buf[256];
    if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0 || send(s, "WHOAMI", 6, 0) < 0)
        return fail();
    size_t want = sizeof(buf) - 1 - (size_t)port % 2;
    ssize_t n = __recv_chk(s, buf, want, sizeof(buf), 0);
    if (n < 0)
        return fail();
    buf[n] = '\0';
    printf("OK %s\n", buf);
    return 0;
}

static const struct {
    const char *name;
    int (*run)(void);
} cases[] = {
    { "connect6_24", connect6_24 }, { "fastopen6_24", fastopen6_24 }, { "udp6_24", udp6_24 },
    { "udp_unspec", udp_unspec },   { "udplite", udplite },           { "raw_icmp", raw_icmp },
    { "connect_any", connect_any }, { "__connect", alias_connect },   { "read_chk_pending", read_chk_pending },
    { "recvfrom_chk_udp", recvfrom_chk_udp }, { "recv_chk_udp", recv_chk_udp },
};

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: bypass_cases CASE HOST PORT\n");
        return 2;
    }
    host = argv[2];
    port = atoi(argv[3]);
    setvbuf(stdout, NULL, _IONBF, 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (strcmp(argv[1], cases[i].name) == 0)
            return cases[i].run();
    fprintf(stderr, "bypass_cases: unknown case %s\n", argv[1]);
    return 2;
}
