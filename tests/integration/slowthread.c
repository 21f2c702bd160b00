/* Preloaded after libsocksify by test_bind.py: a poll() made by any thread but the program's
 * first waits 300 ms before it starts, as a thread the scheduler leaves runnable behind busy
 * CPUs would. libsocksify's own threads reach libc's poll() through this one (dlsym(RTLD_NEXT));
 * the program's calls reach libsocksify's hook first, then this, undelayed. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

int poll(struct pollfd *fds, nfds_t n, int timeout)
{
    static int (*real)(struct pollfd *, nfds_t, int);
    if (!real)
        real = (int (*)(struct pollfd *, nfds_t, int))dlsym(RTLD_NEXT, "poll");
    if (gettid() != getpid()) {
        struct timespec late = { 0, 300 * 1000 * 1000 };
        nanosleep(&late, NULL);
    }
    return real(fds, n, timeout);
}
