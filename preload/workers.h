/* A small pool of socksify's own threads for work that blocks (making a non-blocking UDP socket's
 * association): at most WORKERS_MAX at once however many sockets wait, started on demand, ending
 * when there is nothing left to do. Jobs run in the order they were submitted. */
#ifndef SOCKSIFY_WORKERS_H
#define SOCKSIFY_WORKERS_H

#include <stdbool.h>

#define WORKERS_MAX 16

/* Runs fn(arg) on a worker, now or when one is free; false if no worker can run at all (the
 * caller then does the work itself). A forked child drops what was queued in its parent. */
bool workers_submit(void (*fn)(void *), void *arg);
/* Worker threads running now (for tests and logs). */
int workers_running(void);

#endif
