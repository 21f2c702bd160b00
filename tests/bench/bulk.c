/*
 * bench-bulk: one bulk transfer through a TCP connection, and its rate.
 *
 *   bench-bulk get|put HOST PORT BYTES                       connect() to HOST:PORT
 *   bench-bulk get|put HOST PORT BYTES PROXYHOST PROXYPORT   speak SOCKS5 to the proxy itself
 *
 * get: sends "GET BYTES\n" and reads BYTES bytes and the server's EOF (bench-tserver's bulk port).
 * put: sends "PUT BYTES\n" and BYTES bytes, then reads the server's "OK BYTES\n".
 * The first form is the one to run under a preload library (socksify, proxychains, ...); the
 * second is the reference: a client that speaks SOCKS5 itself (no-auth, CONNECT to an IPv4
 * address), so any difference between the two is the library's. Reads and writes use 256 KiB
 * buffers through libc's read()/write(). HOST and PROXYHOST are numeric IPv4 addresses.
 *
 * Output (stdout), one line:  bulk MODE RATE MB/s bytes=BYTES elapsed=SECONDS
 * (MB = 10^6 bytes; the time runs from before connect() to the end of the transfer.)
 * Exit status 0 on success, 1 on any error (message on stderr), 2 on usage.
 */
#include <arpa/inet.h>
#include <errno.h>
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

#define BUF_SIZE (256 * 1024)

static void fail(const char *what)
{
    fprintf(stderr, "bench-bulk: %s: %s\n", what, errno ? strerror(errno) : "unexpected EOF");
    exit(1);
}

static int socks5(int fd, const struct sockaddr_in *target)
{
    unsigned char m[3] = {5, 1, 0}, r[10], req[10] = {5, 1, 0, 1};
    memcpy(req + 4, &target->sin_addr.s_addr, 4);
    memcpy(req + 8, &target->sin_port, 2);
    if (write_all(fd, m, 3) < 0 || read_exact(fd, r, 2) < 0)
        fail("socks5 method selection");
    if (r[0] != 5 || r[1] != 0) {
        fprintf(stderr, "bench-bulk: proxy refused the no-auth method\n");
        exit(1);
    }
    if (write_all(fd, req, sizeof req) < 0 || read_exact(fd, r, 10) < 0)
        fail("socks5 connect");
    if (r[1] != 0 || r[3] != 1) {
        fprintf(stderr, "bench-bulk: socks5 CONNECT failed: REP=%u ATYP=%u\n", r[1], r[3]);
        exit(1);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if ((argc != 5 && argc != 7) || (strcmp(argv[1], "get") && strcmp(argv[1], "put"))) {
        fprintf(stderr, "usage: bench-bulk get|put HOST PORT BYTES [PROXYHOST PROXYPORT]\n");
        return 2;
    }
    int get = argv[1][0] == 'g';
    struct sockaddr_in target = {.sin_family = AF_INET}, proxy = {.sin_family = AF_INET};
    char *end;
    unsigned long long bytes = strtoull(argv[4], &end, 10);
    if (inet_pton(AF_INET, argv[2], &target.sin_addr) != 1 || *end || argv[4][0] == '-' || bytes == 0) {
        fprintf(stderr, "bench-bulk: bad HOST or BYTES\n");
        return 2;
    }
    target.sin_port = htons((uint16_t)atoi(argv[3]));
    if (argc == 7) {
        if (inet_pton(AF_INET, argv[5], &proxy.sin_addr) != 1) {
            fprintf(stderr, "bench-bulk: bad PROXYHOST\n");
            return 2;
        }
        proxy.sin_port = htons((uint16_t)atoi(argv[6]));
    }
    signal(SIGPIPE, SIG_IGN);
    alarm(120); /* bounded, whatever happens */
    char *buf = malloc(BUF_SIZE);
    if (!buf)
        fail("malloc");
    memset(buf, 'p', BUF_SIZE);

    double t0 = now_seconds();
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        fail("socket");
    const struct sockaddr_in *dst = argc == 7 ? &proxy : &target;
    if (connect(fd, (const struct sockaddr *)dst, sizeof *dst) < 0)
        fail("connect");
    if (argc == 7)
        socks5(fd, &target);
    char req[64];
    int rl = snprintf(req, sizeof req, "%s %llu\n", get ? "GET" : "PUT", bytes);
    if (write_all(fd, req, (size_t)rl) < 0)
        fail("send request");
    unsigned long long done = 0;
    if (get) {
        for (;;) {
            ssize_t n = read(fd, buf, BUF_SIZE);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                fail("read");
            }
            if (n == 0)
                break;
            done += (unsigned long long)n;
        }
    } else {
        while (done < bytes) {
            size_t n = bytes - done < BUF_SIZE ? (size_t)(bytes - done) : BUF_SIZE;
            if (write_all(fd, buf, n) < 0)
                fail("write");
            done += n;
        }
        char ok[64] = "";
        size_t len = 0;
        while (len < sizeof ok - 1) {
            ssize_t n = read(fd, ok + len, sizeof ok - 1 - len);
            if (n <= 0)
                break;
            len += (size_t)n;
        }
        ok[len] = '\0';
        unsigned long long acked = 0;
        if (sscanf(ok, "OK %llu", &acked) != 1 || acked != bytes) {
            fprintf(stderr, "bench-bulk: the server acknowledged %s", len ? ok : "nothing\n");
            return 1;
        }
    }
    double el = now_seconds() - t0;
    close(fd);
    if (done != bytes) {
        fprintf(stderr, "bench-bulk: transferred %llu of %llu bytes\n", done, bytes);
        return 1;
    }
    printf("bulk %s %.1f MB/s bytes=%llu elapsed=%.3fs\n", argv[1], (double)bytes / el / 1e6, bytes, el);
    return 0;
}
