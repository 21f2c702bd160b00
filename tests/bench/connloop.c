/*
 * bench-connloop: sequential connect + request + close, N times, and print the rate.
 *
 *   bench-connloop plain  HOST PORT N
 *   bench-connloop socks5 HOST PORT N PROXYHOST PROXYPORT
 *
 * plain:  connect() straight to HOST:PORT. Run under socksify (LD_PRELOAD) this is
 *         the socksified client; run bare it is the direct baseline.
 * socks5: the client speaks SOCKS5 itself to PROXYHOST:PROXYPORT (no-auth method,
 *         CONNECT to an IPv4 address), with minimal blocking code written here, so it
 *         is the reference that socksify is compared against.
 *
 * Each iteration: socket, connect, (SOCKS5 handshake), send "ping\n", read the 5
 * echoed bytes and check them, read the server's EOF, close. HOST and PROXYHOST are
 * numeric IPv4 addresses. The target must echo one line and then close the connection
 * (tests/bench/connect.sh runs such a server).
 *
 * Output (stdout), one line:  MODE RATE conns/s n=N elapsed=SECONDS
 * Exit status 0 on success, 1 on any error (with a message on stderr), 2 on usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "io_exact.h"

static const char REQUEST[] = "ping\n";
#define REQUEST_LEN (sizeof(REQUEST) - 1)

static void usage(void)
{
    fprintf(stderr,
            "usage: bench-connloop plain  HOST PORT N\n"
            "       bench-connloop socks5 HOST PORT N PROXYHOST PROXYPORT\n"
            "       bench-connloop lookup NAME PORT N   (getaddrinfo(NAME) before every connection)\n"
            "HOST and PROXYHOST are numeric IPv4 addresses; the target echoes one line, then closes.\n");
}

static void io_error(const char *what, unsigned long iter)
{
    if (errno == 0)
        fprintf(stderr, "bench-connloop: iteration %lu: %s: unexpected EOF\n", iter, what);
    else
        fprintf(stderr, "bench-connloop: iteration %lu: %s: %s\n", iter, what, strerror(errno));
}

/* Minimal SOCKS5 client: no-auth method selection, CONNECT to an IPv4 address. */
static int socks5_connect(int fd, const struct sockaddr_in *target, unsigned long iter)
{
    static const unsigned char hello[3] = {0x05, 0x01, 0x00}; /* VER, NMETHODS, NO AUTH */
    unsigned char reply[10];

    if (write_all(fd, hello, sizeof hello) < 0) {
        io_error("socks5 method selection send", iter);
        return -1;
    }
    if (read_exact(fd, reply, 2) < 0) {
        io_error("socks5 method selection reply", iter);
        return -1;
    }
    if (reply[0] != 0x05 || reply[1] != 0x00) {
        fprintf(stderr, "bench-connloop: iteration %lu: proxy refused no-auth (%02x %02x)\n",
                iter, reply[0], reply[1]);
        return -1;
    }

    unsigned char req[10];
    req[0] = 0x05; /* VER */
    req[1] = 0x01; /* CMD CONNECT */
    req[2] = 0x00; /* RSV */
    req[3] = 0x01; /* ATYP IPv4 */
    memcpy(&req[4], &target->sin_addr.s_addr, 4);
    memcpy(&req[8], &target->sin_port, 2);
    if (write_all(fd, req, sizeof req) < 0) {
        io_error("socks5 connect request send", iter);
        return -1;
    }
    /* A reply to an IPv4 CONNECT from danted/microsocks carries an IPv4 BND.ADDR:
     * exactly 10 bytes. */
    if (read_exact(fd, reply, sizeof reply) < 0) {
        io_error("socks5 connect reply", iter);
        return -1;
    }
    if (reply[0] != 0x05 || reply[1] != 0x00) {
        fprintf(stderr, "bench-connloop: iteration %lu: socks5 CONNECT failed, REP=%u\n", iter,
                reply[1]);
        return -1;
    }
    if (reply[3] != 0x01) {
        fprintf(stderr, "bench-connloop: iteration %lu: socks5 reply ATYP %u, expected IPv4\n",
                iter, reply[3]);
        return -1;
    }
    return 0;
}

static int one_connection(int socks, const struct sockaddr_in *target,
                          const struct sockaddr_in *proxy, unsigned long iter)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        io_error("socket", iter);
        return -1;
    }
    const struct sockaddr_in *dst = socks ? proxy : target;
    if (connect(fd, (const struct sockaddr *)dst, sizeof *dst) < 0) {
        io_error("connect", iter);
        goto fail;
    }
    if (socks && socks5_connect(fd, target, iter) < 0)
        goto fail;
    if (write_all(fd, REQUEST, REQUEST_LEN) < 0) {
        io_error("send request", iter);
        goto fail;
    }
    char resp[REQUEST_LEN];
    if (read_exact(fd, resp, sizeof resp) < 0) {
        io_error("read response", iter);
        goto fail;
    }
    if (memcmp(resp, REQUEST, REQUEST_LEN) != 0) {
        fprintf(stderr, "bench-connloop: iteration %lu: response is not the echoed request\n",
                iter);
        goto fail;
    }
    /* The server closes after answering: wait for that EOF, so that the server side
     * closes first and TIME_WAIT lands there, not on this client's ephemeral ports
     * (thousands of them per run would otherwise slow down later runs). */
    char extra;
    ssize_t got;
    do
        got = read(fd, &extra, 1);
    while (got < 0 && errno == EINTR);
    if (got != 0) {
        if (got < 0)
            io_error("read end of response", iter);
        else
            fprintf(stderr, "bench-connloop: iteration %lu: more data than the echoed request\n",
                    iter);
        goto fail;
    }
    if (close(fd) < 0) {
        io_error("close", iter);
        return -1;
    }
    return 0;
fail:
    close(fd);
    return -1;
}

/* lookup mode: a fresh getaddrinfo() per connection, as a program that resolves every time. */
static int resolve(const char *host, struct sockaddr_in *out, unsigned long iter)
{
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res;
    int r = getaddrinfo(host, NULL, &hints, &res);
    if (r != 0) {
        fprintf(stderr, "bench-connloop: iteration %lu: getaddrinfo(%s): %s\n", iter, host, gai_strerror(r));
        return -1;
    }
    memcpy(out, res->ai_addr, sizeof *out);
    freeaddrinfo(res);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage();
        return 2;
    }
    int socks;
    int lookup = strcmp(argv[1], "lookup") == 0 && argc == 5;
    if ((strcmp(argv[1], "plain") == 0 && argc == 5) || lookup) {
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
    if ((!lookup && parse_ipv4(argv[2], &target.sin_addr) < 0) ||
        parse_ulong(argv[3], 1, 65535, "PORT", &port) < 0 ||
        parse_ulong(argv[4], 1, 100000000UL, "N", &n) < 0)
        return 2;
    target.sin_port = htons((uint16_t)port);
    if (socks) {
        if (parse_ipv4(argv[5], &proxy.sin_addr) < 0 ||
            parse_ulong(argv[6], 1, 65535, "PROXYPORT", &pport) < 0)
            return 2;
        proxy.sin_port = htons((uint16_t)pport);
    }

    bench_watchdog(n);

    double t0 = now_seconds();
    for (unsigned long i = 0; i < n; i++) {
        if (lookup && resolve(argv[2], &target, i) < 0)
            return 1;
        target.sin_port = htons((uint16_t)port);
        if (one_connection(socks, &target, &proxy, i) < 0)
            return 1;
    }
    double elapsed = now_seconds() - t0;

    alarm(0);
    printf("%s %.1f conns/s n=%lu elapsed=%.3fs\n", argv[1], elapsed > 0 ? (double)n / elapsed : 0.0,
           n, elapsed);
    return 0;
}
