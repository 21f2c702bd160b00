/* The client of test_lib32.py, built with -m32 (and natively, for comparison): a TCP echo or a
 * UDP datagram to HOST (a name or an address, through getaddrinfo) and PORT. Prints
 *   BITS 32                  the size of a pointer, in bits (proves which class ran)
 *   ADDR a.b.c.d             the address getaddrinfo gave (a fake one for a remote name)
 *   ECHO text / REPLY text   what came back
 *   ERRNO NAME               where a call failed (exit 3), like pyclient.py
 * usage: client32 tcp|udp|udpmsg HOST PORT MESSAGE */
#define _GNU_SOURCE   /* strerrorname_np */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static int fail(const char *call)
{
    int e = errno;
    printf("ERRNO %s\n", strerrorname_np(e) ? strerrorname_np(e) : "?");
    fprintf(stderr, "client32: %s: %s\n", call, strerror(e));
    return 3;
}

/* getaddrinfo's first IPv4 answer for host:port, or NULL (message printed). */
static struct addrinfo *resolve(const char *host, const char *port, int socktype)
{
    struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = socktype }, *res = NULL;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        printf("GAI %s\n", gai_strerror(rc));
        return NULL;
    }
    char text[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr, text, sizeof text);
    printf("ADDR %s\n", text);
    return res;
}

static int tcp_echo(struct addrinfo *ai, const char *msg)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0)
        return fail("connect");
    size_t n = strlen(msg);
    if (write(fd, msg, n) != (ssize_t)n)
        return fail("write");
    char buf[256];
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, sizeof buf - 1 - got);
        if (r <= 0)
            return r < 0 ? fail("read") : (printf("EOF after %zu bytes\n", got), 4);
        got += (size_t)r;
    }
    buf[got] = '\0';
    printf("ECHO %s\n", buf);
    close(fd);
    return 0;
}

static int udp_once(struct addrinfo *ai, const char *msg)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct timeval tv = { .tv_sec = 5 };
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0)
        return fail("socket");
    if (sendto(fd, msg, strlen(msg), 0, ai->ai_addr, ai->ai_addrlen) < 0)
        return fail("sendto");
    char buf[256];
    struct sockaddr_in from;
    socklen_t len = sizeof from;
    ssize_t r = recvfrom(fd, buf, sizeof buf - 1, 0, (struct sockaddr *)&from, &len);
    if (r < 0)
        return fail("recvfrom");
    buf[r] = '\0';
    char text[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &from.sin_addr, text, sizeof text);
    printf("FROM %s %d\nREPLY %s\n", text, ntohs(from.sin_port), buf);
    close(fd);
    return 0;
}

static void print_from(const struct sockaddr_in *from, const char *buf)
{
    char text[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &from->sin_addr, text, sizeof text);
    printf("FROM %s %d\nREPLY %s\n", text, ntohs(from->sin_port), buf);
}

/* sendmsg, then recvmsg and recvmmsg with a timeout: built with _TIME_BITS=64, an i386 program
 * calls glibc's __sendmsg64, __recvmsg64 and __recvmmsg64 for them. */
static int udp_msg(struct addrinfo *ai, const char *msg)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct timeval tv = { .tv_sec = 5 };
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0)
        return fail("socket");
    for (int i = 0; i < 2; i++) {
        struct iovec out = { .iov_base = (void *)msg, .iov_len = strlen(msg) };
        struct msghdr m = { .msg_name = ai->ai_addr, .msg_namelen = ai->ai_addrlen, .msg_iov = &out, .msg_iovlen = 1 };
        if (sendmsg(fd, &m, 0) < 0)
            return fail("sendmsg");
        char buf[256];
        struct sockaddr_in from;
        struct iovec in = { .iov_base = buf, .iov_len = sizeof buf - 1 };
        struct mmsghdr mm = { .msg_hdr = { .msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &in, .msg_iovlen = 1 } };
        struct timespec timeout = { .tv_sec = 5 };
        ssize_t r = i == 0 ? recvmsg(fd, &mm.msg_hdr, 0) : recvmmsg(fd, &mm, 1, 0, &timeout);
        if (r < 0)
            return fail(i == 0 ? "recvmsg" : "recvmmsg");
        buf[i == 0 ? r : (ssize_t)mm.msg_len] = '\0';
        print_from(&from, buf);
    }
    close(fd);
    return 0;
}

int main(int argc, char **argv)
{
    printf("BITS %zu\n", sizeof(void *) * 8);
    if (argc != 5)
        return argc == 1 ? 0 : 2;   /* no arguments: a probe that the program runs at all */
    int udp = strncmp(argv[1], "udp", 3) == 0;
    struct addrinfo *ai = resolve(argv[2], argv[3], udp ? SOCK_DGRAM : SOCK_STREAM);
    if (!ai)
        return 5;
    int rc = strcmp(argv[1], "udpmsg") == 0 ? udp_msg(ai, argv[4]) : udp ? udp_once(ai, argv[4]) : tcp_echo(ai, argv[4]);
    freeaddrinfo(ai);
    fflush(stdout);
    return rc;
}
