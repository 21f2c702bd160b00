/*
 * bench-udp-rtt: sequential UDP request/response round trips, and print the rate.
 *
 *   bench-udp-rtt plain  HOST PORT N
 *   bench-udp-rtt socks5 PROXYHOST PROXYPORT HOST PORT N
 *   bench-udp-rtt serve  ADDR PORTFILE
 *
 * plain:  one UDP socket, N times sendto(HOST:PORT) a 64-byte request and recvfrom() its echo.
 *         Run under LD_PRELOAD=libsocksify.so (with a route via a SOCKS5 proxy) this is the
 *         socksified client, whose datagrams go through the library's UDP association; run bare
 *         it is the direct reference.
 * socks5: the same client speaking SOCKS5 itself, as a hand-written client would: a TCP control
 *         connection to PROXYHOST:PROXYPORT, no-auth method selection, UDP ASSOCIATE (client
 *         address 0.0.0.0:0), the relay address from the reply (0.0.0.0 becomes PROXYHOST);
 *         each request is one sendto() to the relay with the 10-byte RFC 1928 header (ATYP
 *         IPv4, HOST:PORT) built here, each reply one recvfrom() whose header is checked and
 *         stripped. The control connection stays open for the whole run.
 * serve:  the echo target: binds ADDR port 0, writes its port to PORTFILE (atomically), and
 *         echoes every datagram to its sender. It counts echoed datagrams per source IPv4
 *         address; a datagram "stats" is answered with "ADDR=COUNT ..." instead (not counted).
 *         Runs until killed.
 *
 * Every request carries a sequence number; a reply must come from HOST:PORT (plain) or the
 * relay with a header naming HOST:PORT (socks5) and be the request byte for byte. Stale replies
 * (a retransmitted request answered twice) are skipped; a request unanswered for 1 s is sent
 * again, at most 5 times. Timing covers everything from the first send (the association's
 * handshake in both modes: the library makes it on the first sendto) to the last reply.
 * HOST and PROXYHOST are numeric IPv4 addresses.
 *
 * Output (stdout), one line:  MODE RATE rt/s n=N elapsed=SECONDS cpu=CPUUS retransmits=K
 * (CPUUS: this process's CPU time, user + system, per round trip in microseconds).
 * Exit status 0 on success, 1 on any error (with a message on stderr), 2 on usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "io_exact.h"

#define PAYLOAD 64
#define HDR 10                 /* RSV RSV FRAG ATYP=1 ADDR(4) PORT(2) */
#define REPLY_TIMEOUT_MS 1000
#define MAX_TRIES 5
#define MAX_SOURCES 64

static const char *me = "bench-udp-rtt";

static void usage(void)
{
    fprintf(stderr,
            "usage: bench-udp-rtt plain  HOST PORT N\n"
            "       bench-udp-rtt socks5 PROXYHOST PROXYPORT HOST PORT N\n"
            "       bench-udp-rtt serve  ADDR PORTFILE\n"
            "HOST, PROXYHOST and ADDR are numeric IPv4 addresses; HOST:PORT echoes each datagram.\n");
}

static const char *fmt_addr(const struct sockaddr_in *a, char *buf, size_t len)
{
    char ip[INET_ADDRSTRLEN];
    if (a->sin_family != AF_INET || !inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip))
        snprintf(buf, len, "(family %u)", (unsigned)a->sin_family);
    else
        snprintf(buf, len, "%s:%u", ip, (unsigned)ntohs(a->sin_port));
    return buf;
}

static int same_addr(const struct sockaddr_in *a, const struct sockaddr_in *b)
{
    return a->sin_family == AF_INET && a->sin_addr.s_addr == b->sin_addr.s_addr &&
           a->sin_port == b->sin_port;
}

/* ---------------------------------------------------------------- SOCKS5 control connection */

static int ctl_error(const char *what)
{
    fprintf(stderr, "%s: socks5 %s: %s\n", me, what, errno ? strerror(errno) : "unexpected EOF");
    return -1;
}

/* Opens the control connection and asks for an association; *relay gets the relay address
 * (0.0.0.0 replaced by the proxy's). Returns the control socket, or -1. */
static int socks5_associate(const struct sockaddr_in *proxy, struct sockaddr_in *relay)
{
    static const unsigned char hello[3] = {0x05, 0x01, 0x00}; /* VER, NMETHODS, NO AUTH */
    /* VER, CMD UDP ASSOCIATE, RSV, ATYP IPv4, DST.ADDR 0.0.0.0, DST.PORT 0: the client does not
     * know yet where it will send from (RFC 1928: then zeros). */
    static const unsigned char req[10] = {0x05, 0x03, 0x00, 0x01, 0, 0, 0, 0, 0, 0};
    unsigned char reply[10];

    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return ctl_error("socket");
    if (connect(fd, (const struct sockaddr *)proxy, sizeof *proxy) < 0) {
        ctl_error("connect to the proxy");
        goto fail;
    }
    if (write_all(fd, hello, sizeof hello) < 0) {
        ctl_error("method selection send");
        goto fail;
    }
    if (read_exact(fd, reply, 2) < 0) {
        ctl_error("method selection reply");
        goto fail;
    }
    if (reply[0] != 0x05 || reply[1] != 0x00) {
        fprintf(stderr, "%s: proxy refused no-auth (%02x %02x)\n", me, reply[0], reply[1]);
        goto fail;
    }
    if (write_all(fd, req, sizeof req) < 0) {
        ctl_error("UDP ASSOCIATE send");
        goto fail;
    }
    /* An IPv4 BND.ADDR (danted's answer to an IPv4 client): exactly 10 bytes. */
    if (read_exact(fd, reply, 4) < 0) {
        ctl_error("UDP ASSOCIATE reply");
        goto fail;
    }
    if (reply[0] != 0x05 || reply[1] != 0x00) {
        fprintf(stderr, "%s: socks5 UDP ASSOCIATE failed, REP=%u\n", me, reply[1]);
        goto fail;
    }
    if (reply[3] != 0x01) {
        fprintf(stderr, "%s: socks5 UDP ASSOCIATE reply ATYP %u, expected IPv4\n", me, reply[3]);
        goto fail;
    }
    if (read_exact(fd, reply + 4, 6) < 0) {
        ctl_error("UDP ASSOCIATE reply address");
        goto fail;
    }
    memset(relay, 0, sizeof *relay);
    relay->sin_family = AF_INET;
    memcpy(&relay->sin_addr.s_addr, &reply[4], 4);
    memcpy(&relay->sin_port, &reply[8], 2);
    if (relay->sin_addr.s_addr == htonl(INADDR_ANY))
        relay->sin_addr = proxy->sin_addr;
    return fd;
fail:
    close(fd);
    return -1;
}

/* ---------------------------------------------------------------- the client loop */

struct client {
    int socks;                  /* 1: socks5 mode */
    int fd;                     /* the UDP socket */
    struct sockaddr_in target;  /* HOST:PORT */
    struct sockaddr_in relay;   /* socks5 mode: where datagrams go */
    unsigned char out[HDR + PAYLOAD];
    unsigned char in[HDR + PAYLOAD + 512];
    unsigned long retransmits;
};

static int send_request(struct client *c, unsigned long i)
{
    ssize_t n;
    if (c->socks)
        n = sendto(c->fd, c->out, HDR + PAYLOAD, 0, (const struct sockaddr *)&c->relay, sizeof c->relay);
    else
        n = sendto(c->fd, c->out + HDR, PAYLOAD, 0, (const struct sockaddr *)&c->target, sizeof c->target);
    if (n < 0) {
        fprintf(stderr, "%s: round trip %lu: sendto: %s\n", me, i, strerror(errno));
        return -1;
    }
    if (n != (c->socks ? HDR + PAYLOAD : PAYLOAD)) {
        fprintf(stderr, "%s: round trip %lu: sendto sent %zd bytes\n", me, i, n);
        return -1;
    }
    return 0;
}

/* One request and its reply. 0, or -1 with a message. */
static int round_trip(struct client *c, unsigned long i)
{
    uint64_t seq = i;
    memcpy(c->out + HDR + 8, &seq, sizeof seq);
    if (send_request(c, i) < 0)
        return -1;
    int tries = 1;
    for (;;) {
        struct pollfd p = {.fd = c->fd, .events = POLLIN};
        int r = poll(&p, 1, REPLY_TIMEOUT_MS);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "%s: round trip %lu: poll: %s\n", me, i, strerror(errno));
            return -1;
        }
        if (r == 0) {
            if (tries >= MAX_TRIES) {
                fprintf(stderr, "%s: round trip %lu: no reply after %d sends of %d ms each\n", me, i,
                        tries, REPLY_TIMEOUT_MS);
                return -1;
            }
            tries++;
            c->retransmits++;
            if (send_request(c, i) < 0)
                return -1;
            continue;
        }
        struct sockaddr_in from;
        socklen_t fromlen = sizeof from;
        memset(&from, 0, sizeof from);
        ssize_t n = recvfrom(c->fd, c->in, sizeof c->in, 0, (struct sockaddr *)&from, &fromlen);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            fprintf(stderr, "%s: round trip %lu: recvfrom: %s\n", me, i, strerror(errno));
            return -1;
        }
        char a[64], b[64];
        const unsigned char *payload = c->in;
        size_t len = (size_t)n;
        if (c->socks) {
            if (!same_addr(&from, &c->relay)) {
                fprintf(stderr, "%s: round trip %lu: a datagram from %s, not the relay %s\n", me, i,
                        fmt_addr(&from, a, sizeof a), fmt_addr(&c->relay, b, sizeof b));
                return -1;
            }
            if (len < HDR || c->in[0] || c->in[1] || c->in[2] || c->in[3] != 0x01) {
                fprintf(stderr, "%s: round trip %lu: a reply of %zu bytes without an IPv4 SOCKS5 UDP header\n",
                        me, i, len);
                return -1;
            }
            struct sockaddr_in src = {.sin_family = AF_INET};
            memcpy(&src.sin_addr.s_addr, c->in + 4, 4);
            memcpy(&src.sin_port, c->in + 8, 2);
            if (!same_addr(&src, &c->target)) {
                fprintf(stderr, "%s: round trip %lu: the relay says the reply is from %s, not %s\n", me, i,
                        fmt_addr(&src, a, sizeof a), fmt_addr(&c->target, b, sizeof b));
                return -1;
            }
            payload += HDR;
            len -= HDR;
        } else if (fromlen != sizeof from || !same_addr(&from, &c->target)) {
            fprintf(stderr, "%s: round trip %lu: recvfrom says the reply is from %s, not %s\n", me, i,
                    fmt_addr(&from, a, sizeof a), fmt_addr(&c->target, b, sizeof b));
            return -1;
        }
        if (len == PAYLOAD && memcmp(payload, c->out + HDR, PAYLOAD) == 0)
            return 0;
        uint64_t got;
        if (len == PAYLOAD && memcmp(payload, c->out + HDR, 8) == 0 &&
            (memcpy(&got, payload + 8, sizeof got), got < seq))
            continue; /* the second answer to a retransmitted earlier request */
        fprintf(stderr, "%s: round trip %lu: the reply (%zu bytes) is not the echoed request\n", me, i, len);
        return -1;
    }
}

static int run_client(int socks, const struct sockaddr_in *proxy, const struct sockaddr_in *target,
                      unsigned long n, const char *mode)
{
    static struct client c;
    c.socks = socks;
    c.target = *target;
    memset(c.out, 0, HDR);
    c.out[3] = 0x01; /* RSV RSV FRAG=0 ATYP=IPv4 */
    memcpy(c.out + 4, &target->sin_addr.s_addr, 4);
    memcpy(c.out + 8, &target->sin_port, 2);
    memcpy(c.out + HDR, "udp_rtt\n", 8);
    for (size_t k = HDR + 16; k < sizeof c.out; k++)
        c.out[k] = (unsigned char)('a' + k % 26);

    c.fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (c.fd < 0) {
        fprintf(stderr, "%s: socket: %s\n", me, strerror(errno));
        return 1;
    }
    double c0 = cpu_seconds();
    double t0 = now_seconds();
    int ctl = -1;
    if (socks && (ctl = socks5_associate(proxy, &c.relay)) < 0)
        return 1;
    for (unsigned long i = 0; i < n; i++)
        if (round_trip(&c, i) < 0)
            return 1;
    double elapsed = now_seconds() - t0;
    double cpu = cpu_seconds() - c0;
    if (ctl >= 0)
        close(ctl);
    close(c.fd);
    printf("%s %.1f rt/s n=%lu elapsed=%.3fs cpu=%.2f retransmits=%lu\n", mode,
           elapsed > 0 ? (double)n / elapsed : 0.0, n, elapsed, cpu * 1e6 / (double)n, c.retransmits);
    return 0;
}

/* ---------------------------------------------------------------- the echo server */

static int serve(const struct in_addr *addr, const char *portfile)
{
    struct {
        uint32_t addr;
        unsigned long count;
    } src[MAX_SOURCES];
    size_t nsrc = 0;

    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr = *addr};
    socklen_t salen = sizeof sa;
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &salen) < 0) {
        fprintf(stderr, "%s serve: socket/bind: %s\n", me, strerror(errno));
        return 1;
    }
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", portfile) >= sizeof tmp) {
        fprintf(stderr, "%s serve: PORTFILE too long\n", me);
        return 2;
    }
    FILE *f = fopen(tmp, "w");
    if (!f || fprintf(f, "%u\n", (unsigned)ntohs(sa.sin_port)) < 0 || fclose(f) != 0 ||
        rename(tmp, portfile) < 0) {
        fprintf(stderr, "%s serve: writing %s: %s\n", me, portfile, strerror(errno));
        return 1;
    }
    unsigned char buf[65536];
    for (;;) {
        struct sockaddr_in from;
        socklen_t fromlen = sizeof from;
        ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fromlen);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "%s serve: recvfrom: %s\n", me, strerror(errno));
            return 1;
        }
        if (n == 5 && memcmp(buf, "stats", 5) == 0) {
            size_t len = 0;
            for (size_t k = 0; k < nsrc && len < sizeof buf - 64; k++) {
                char ip[INET_ADDRSTRLEN];
                struct in_addr a = {.s_addr = src[k].addr};
                inet_ntop(AF_INET, &a, ip, sizeof ip);
                len += (size_t)snprintf((char *)buf + len, sizeof buf - len, "%s%s=%lu", len ? " " : "", ip,
                                        src[k].count);
            }
            n = (ssize_t)len;
            if (n == 0)
                buf[n++] = '-'; /* "-": nothing yet */
        } else {
            size_t k = 0;
            while (k < nsrc && src[k].addr != from.sin_addr.s_addr)
                k++;
            if (k == nsrc && nsrc < MAX_SOURCES) {
                src[nsrc].addr = from.sin_addr.s_addr;
                src[nsrc++].count = 0;
            }
            if (k < nsrc)
                src[k].count++;
        }
        if (sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fromlen) < 0 && errno != EINTR)
            fprintf(stderr, "%s serve: sendto: %s\n", me, strerror(errno));
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage();
        return 2;
    }
    int socks;
    if (strcmp(argv[1], "serve") == 0 && argc == 4) {
        struct in_addr a;
        if (parse_ipv4(argv[2], &a) < 0)
            return 2;
        return serve(&a, argv[3]);
    } else if (strcmp(argv[1], "plain") == 0 && argc == 5) {
        socks = 0;
    } else if (strcmp(argv[1], "socks5") == 0 && argc == 7) {
        socks = 1;
    } else {
        usage();
        return 2;
    }

    struct sockaddr_in target = {.sin_family = AF_INET};
    struct sockaddr_in proxy = {.sin_family = AF_INET};
    unsigned long port, n, pport;
    char **t = argv + (socks ? 4 : 2); /* HOST PORT N */
    if (parse_ipv4(t[0], &target.sin_addr) < 0 || parse_ulong(t[1], 1, 65535, "PORT", &port) < 0 ||
        parse_ulong(t[2], 1, 100000000UL, "N", &n) < 0)
        return 2;
    target.sin_port = htons((uint16_t)port);
    if (socks) {
        if (parse_ipv4(argv[2], &proxy.sin_addr) < 0 ||
            parse_ulong(argv[3], 1, 65535, "PROXYPORT", &pport) < 0)
            return 2;
        proxy.sin_port = htons((uint16_t)pport);
    }

    bench_watchdog(n);
    return run_client(socks, &proxy, &target, n, argv[1]);
}
