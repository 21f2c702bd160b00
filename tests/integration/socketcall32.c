/* connect() made as i386 programs once all made it, and some runtimes still do: the raw
 * syscall(SYS_socketcall, SYS_CONNECT, args). Then an echo of "x\n" over the socket. Prints "ECHO x"
 * or "ERRNO NAME". usage: socketcall32 ADDR PORT (built with -m32) */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/net.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static int fail(void)
{
    printf("ERRNO %s\n", strerrorname_np(errno) ? strerrorname_np(errno) : "?");
    return 3;
}

int main(int argc, char **argv)
{
#ifndef SYS_socketcall
    (void)argv;
    printf("NO SOCKETCALL\n");
    return argc == 3 ? 4 : 2;
#else
    if (argc != 3)
        return 2;
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2])) };
    inet_pton(AF_INET, argv[1], &sa.sin_addr);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    unsigned long args[3] = { (unsigned long)s, (unsigned long)&sa, sizeof(sa) };
    if (syscall(SYS_socketcall, SYS_CONNECT, args) < 0)
        return fail();
    char buf[16];
    ssize_t n;
    if (write(s, "x\n", 2) != 2 || (n = read(s, buf, sizeof(buf) - 1)) <= 0)
        return fail();
    buf[n] = '\0';
    printf("ECHO %s", buf);
    return 0;
#endif
}
