/* close() with many epoll registrations (tests/bench/epollclose.sh): registers N eventfds in one
 * epoll (epoll_ctl: socksify's hook remembers each), then closes them all, timing the closes
 * alone; then closes the epoll. Prints "registered N closes S seconds".
 *
 *   bench-epollclose N
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 20000;
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;   /* as many descriptors as we may */
    if (n <= 0 || setrlimit(RLIMIT_NOFILE, &rl) < 0 || (rlim_t)n + 16 > rl.rlim_cur) {
        fprintf(stderr, "bench-epollclose: %d descriptors do not fit under the limit (%llu)\n", n,
                (unsigned long long)rl.rlim_cur);
        return 2;
    }
    int *fds = calloc((size_t)n, sizeof(int));
    int ep = epoll_create1(0);
    for (int i = 0; i < n; i++) {
        fds[i] = eventfd(0, 0);
        struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (unsigned)i };
        if (fds[i] < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev) < 0) {
            perror("eventfd/epoll_ctl");
            return 1;
        }
    }
    double t0 = now();
    for (int i = 0; i < n; i++)
        close(fds[i]);
    double closes = now() - t0;
    close(ep);
    printf("registered %d closes %.6f seconds\n", n, closes);
    return 0;
}
