/* A client for the seccomp supervisor's tests, built with -static (the preloaded library cannot
 * enter it). MODE HOST PORT:
 *   http  connects (HOST numeric, or a name through getaddrinfo), sends GET /token.txt, prints the body
 *   raw   the same, but connect() is an inline `syscall` instruction (HOST numeric)
 *   udp   sends one datagram to HOST:PORT with sendto, then waits 1 s for an answer
 *   closeall  closes every descriptor but 0-2 (as daemons do), then as http
 *   thread    as http, from a second thread
 * and without HOST PORT:
 *   uring     io_uring_setup(): prints "URING OK" or ERRNO
 *   vfork PROGRAM ARGS...   runs PROGRAM with vfork+execv and exits with its status
 * Prints "ERRNO NAME" and exits 3 when a call fails. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <pthread.h>
#include <unistd.h>

static int fail(const char *what)
{
    printf("ERRNO %s\n", strerrorname_np(errno) ? strerrorname_np(errno) : "?");
    fprintf(stderr, "%s: %s\n", what, strerror(errno));
    return 3;
}

static long raw_connect(int fd, const struct sockaddr *a, socklen_t len)
{
#ifndef __x86_64__
    return connect(fd, a, len);   /* -m32: i386 has no `syscall` instruction; the plain call */
#else
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "0"((long)SYS_connect), "D"((long)fd), "S"(a), "d"((long)len)
                     : "rcx", "r11", "memory");
    if (r < 0) {
        errno = (int)-r;
        return -1;
    }
    return r;
#endif
}

static int address(const char *host, const char *port, int type, struct sockaddr_storage *out, socklen_t *len)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = type }, *res;
    int r = getaddrinfo(host, port, &hints, &res);
    if (r != 0) {
        fprintf(stderr, "getaddrinfo %s: %s\n", host, gai_strerror(r));
        return -1;
    }
    memcpy(out, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

static int http(const char *host, const char *port, int raw)
{
    struct sockaddr_storage a;
    socklen_t len;
    if (address(host, port, SOCK_STREAM, &a, &len) < 0)
        return 4;
    int fd = socket(a.ss_family, SOCK_STREAM, 0);
    if ((raw ? raw_connect(fd, (struct sockaddr *)&a, len) : connect(fd, (struct sockaddr *)&a, len)) < 0)
        return fail("connect");
    char req[512], buf[65536];
    int n = snprintf(req, sizeof(req), "GET /token.txt HTTP/1.0\r\nHost: %s\r\n\r\n", host);
    if (write(fd, req, (size_t)n) != n)
        return fail("write");
    size_t got = 0;
    ssize_t r;
    while (got < sizeof(buf) - 1 && (r = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
        got += (size_t)r;
    buf[got] = '\0';
    char *body = strstr(buf, "\r\n\r\n");
    fputs(body ? body + 4 : buf, stdout);
    return 0;
}

static int udp(const char *host, const char *port)
{
    struct sockaddr_storage a;
    socklen_t len;
    if (address(host, port, SOCK_DGRAM, &a, &len) < 0)
        return 4;
    int fd = socket(a.ss_family, SOCK_DGRAM, 0);
    if (sendto(fd, "WHOAMI", 6, 0, (struct sockaddr *)&a, len) < 0)
        return fail("sendto");
    struct pollfd p = { fd, POLLIN, 0 };
    char buf[512];
    ssize_t n = poll(&p, 1, 1000) == 1 ? recv(fd, buf, sizeof(buf) - 1, 0) : -1;
    printf("SENT %s\n", n > 0 ? "answered" : "unanswered");
    return 0;
}

static int uring(void)
{
    char params[120] = { 0 };   /* struct io_uring_params */
    long fd = syscall(SYS_io_uring_setup, 4, params);
    if (fd < 0)
        return fail("io_uring_setup");
    printf("URING OK\n");
    return 0;
}

static int run_vfork(char **argv)
{
    pid_t pid = vfork();
    if (pid == 0) {
        execv(argv[0], argv);
        _exit(127);
    }
    int status;
    if (pid < 0 || waitpid(pid, &status, 0) < 0)
        return fail("vfork");
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static char **thread_argv;

static void *thread_main(void *arg)
{
    (void)arg;
    return (void *)(long)http(thread_argv[2], thread_argv[3], 0);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc >= 2 && strcmp(argv[1], "uring") == 0)
        return uring();
    if (argc >= 3 && strcmp(argv[1], "vfork") == 0)
        return run_vfork(argv + 2);
    if (argc != 4)
        return 2;
    if (strcmp(argv[1], "closeall") == 0)
        close_range(3, ~0U, 0);
    if (strcmp(argv[1], "thread") == 0) {
        pthread_t th;
        void *r;
        thread_argv = argv;
        pthread_create(&th, NULL, thread_main, NULL);
        pthread_join(th, &r);
        return (int)(long)r;
    }
    if (strcmp(argv[1], "udp") == 0)
        return udp(argv[2], argv[3]);
    return http(argv[2], argv[3], strcmp(argv[1], "raw") == 0);
}
