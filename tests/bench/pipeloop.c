/*
 * bench-pipeloop: the cost of a hot-path libc call under a preload library.
 *
 *   bench-pipeloop [CALLS]        (default 10000000)
 *
 * CALLS calls alternate write(1 byte) and read(1 byte) on one pipe of this process (CALLS/2
 * of each), through libc's read() and write() symbols, so an LD_PRELOAD library that
 * interposes read/write (or hooks them on the way) pays its cost on every call. Nothing
 * touches the network: what is measured is the price of being preloaded into a program whose
 * own work is I/O on non-socket descriptors.
 *
 * Output (stdout), one line:  pipeloop NS ns/call cpu=CPUNS calls=CALLS elapsed=SECONDS
 * NS is wall time per call; CPUNS the process's CPU time (user + system, getrusage) per call,
 * which a busy machine disturbs less: time spent waiting for a core is not counted.
 * Exit status 0 on success, 1 on an I/O error, 2 on usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

int main(int argc, char **argv)
{
    unsigned long calls = 10000000UL;
    if (argc > 2) {
        fprintf(stderr, "usage: bench-pipeloop [CALLS]\n");
        return 2;
    }
    if (argc == 2) {
        char *end = NULL;
        errno = 0;
        calls = strtoul(argv[1], &end, 10);
        if (errno || end == argv[1] || *end || argv[1][0] == '-' || calls < 2) {
            fprintf(stderr, "bench-pipeloop: bad CALLS: %s (want an integer >= 2)\n", argv[1]);
            return 2;
        }
    }
    int p[2];
    if (pipe(p) < 0) {
        perror("bench-pipeloop: pipe");
        return 1;
    }
    unsigned long pairs = calls / 2;
    char c = 'x';
    double c0 = cpu_seconds();
    double t0 = now_seconds();
    for (unsigned long i = 0; i < pairs; i++) {
        if (write(p[1], &c, 1) != 1 || read(p[0], &c, 1) != 1) {
            fprintf(stderr, "bench-pipeloop: call %lu: %s\n", 2 * i, strerror(errno));
            return 1;
        }
    }
    double elapsed = now_seconds() - t0;
    double cpu = cpu_seconds() - c0;
    printf("pipeloop %.1f ns/call cpu=%.1f calls=%lu elapsed=%.3fs\n", elapsed * 1e9 / (double)(2 * pairs),
           cpu * 1e9 / (double)(2 * pairs), 2 * pairs, elapsed);
    return 0;
}
