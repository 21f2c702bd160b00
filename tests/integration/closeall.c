/* A daemon-like client: closes every descriptor it has (close_range), then fetches
 * /token.txt over HTTP from ADDR (a fake address another process resolved) and from NAME (resolved
 * here), and writes both bodies to OUT. Its first network call comes after close_range, so the
 * library must find the session's map by path. Usage: closeall OUT ADDR NAME PORT
 * Exit: 0, 3 connect by address failed, 4 lookup failed, 5 connect by name failed, 6 OUT. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* GET /token.txt over a connected fd; appends the body to out. */
static int fetch(int fd, char *out, size_t size)
{
    const char req[] = "GET /token.txt HTTP/1.0\r\n\r\n";
    if (write(fd, req, sizeof(req) - 1) < 0)
        return -1;
    char buf[8192];
    size_t n = 0;
    ssize_t r;
    while (n < sizeof(buf) - 1 && (r = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
        n += (size_t)r;
    buf[n] = '\0';
    const char *body = strstr(buf, "\r\n\r\n");
    if (!body)
        return -1;
    strncat(out, body + 4, size - strlen(out) - 1);
    close(fd);
    return 0;
}

static int connect_to(const struct sockaddr *sa, socklen_t len)
{
    int fd = socket(sa->sa_family, SOCK_STREAM, 0);
    return fd >= 0 && connect(fd, sa, len) == 0 ? fd : -1;
}

int main(int argc, char **argv)
{
    if (argc != 5)
        return 2;
    close_range(0, ~0u, 0);
    char out[16384] = "";
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST }, *res;
    if (getaddrinfo(argv[2], argv[4], &hints, &res) != 0)
        return 4;
    int fd = connect_to(res->ai_addr, res->ai_addrlen);
    if (fd < 0 || fetch(fd, out, sizeof(out)) < 0)
        return 3;
    hints.ai_flags = 0;
    hints.ai_family = AF_INET;
    if (getaddrinfo(argv[3], argv[4], &hints, &res) != 0)
        return 4;
    fd = connect_to(res->ai_addr, res->ai_addrlen);
    if (fd < 0 || fetch(fd, out, sizeof(out)) < 0)
        return 5;
    int o = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (o < 0 || write(o, out, strlen(out)) < 0)
        return 6;
    return 0;
}
