/* Small helpers the benchmark programs share: their clocks, their argument parsing and their
 * watchdog. Messages name the program (program_invocation_short_name, e.g. bench-connloop). */
#ifndef SOCKSIFY_BENCH_H
#define SOCKSIFY_BENCH_H

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* Seconds on the monotonic clock. */
static inline double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU seconds this process has used, user and system: a busy machine disturbs it less than the
 * wall clock, as time spent waiting for a core is not counted. */
static inline double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* Reads a numeric IPv4 address into *out; -1, said on stderr, if s is not one. */
static inline int parse_ipv4(const char *s, struct in_addr *out)
{
    if (inet_pton(AF_INET, s, out) != 1) {
        fprintf(stderr, "%s: not an IPv4 address: %s\n", program_invocation_short_name, s);
        return -1;
    }
    return 0;
}

/* Reads a decimal number in min..max into *out; -1, said on stderr naming it `what`, if it is not. */
static inline int parse_ulong(const char *s, unsigned long min, unsigned long max, const char *what,
                              unsigned long *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < min || v > max) {
        fprintf(stderr, "%s: bad %s: %s (want %lu..%lu)\n", program_invocation_short_name, what, s, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

/* The whole run is bounded, so that a stuck server cannot hang the benchmark for ever: at least a
 * minute, or 10 ms for each of n exchanges; SIGALRM's default action then ends the process with a
 * clear status. A peer that hangs up gives EPIPE, not SIGPIPE. */
static inline void bench_watchdog(unsigned long n)
{
    unsigned long budget = n / 100;
    alarm((unsigned)(budget < 60 ? 60 : budget));
    signal(SIGPIPE, SIG_IGN);
}

#endif
