/* What the C case programs of the integration tests share (epoll_cases.c, engine_cases.c): a
 * clock, and one line of output per finding, "ok CASE: ..." or "FAIL CASE: ...". Each program
 * sets cur_case before a case and exits with n_fail. */
#ifndef SOCKSIFY_IT_CASES_H
#define SOCKSIFY_IT_CASES_H

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

static int n_fail;
static const char *cur_case;

/* CLOCK_MONOTONIC in seconds. */
static inline double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* "KIND CASE: message", flushed at once (the test reads it even if the program hangs later). */
static inline void say(const char *kind, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%s %s: ", kind, cur_case);
    vprintf(fmt, ap);
    printf("\n");
    fflush(stdout);
    va_end(ap);
}

#define OK(...) say("ok", __VA_ARGS__)
#define FAIL(...) (n_fail++, say("FAIL", __VA_ARGS__))

#endif
