/* Threads of socksify's own inside the program: they take none of the program's signals (those
 * are the program's business).
 *
 * The workers: a small pool for work that blocks (making a non-blocking UDP socket's association),
 * at most THREADS_WORKERS_MAX at once however many sockets wait, started on demand, ending when
 * there is nothing left to do. Jobs run in the order they were submitted. */
#ifndef SOCKSIFY_THREADS_H
#define SOCKSIFY_THREADS_H

#include <stdbool.h>

#define THREADS_WORKERS_MAX 16

/* Starts fn(arg) on a detached thread of its own; false if it cannot. */
bool threads_spawn(void *(*fn)(void *), void *arg);
/* Runs fn(arg) on a worker, now or when one is free; false if no worker can run at all (the
 * caller then does the work itself). A forked child drops what was queued in its parent. */
bool threads_submit(void (*fn)(void *), void *arg);
/* Worker threads running now (for tests and logs). */
int threads_workers_running(void);

#endif
