/* Threads of socksify's own inside the program. */
#ifndef SOCKSIFY_SPAWN_H
#define SOCKSIFY_SPAWN_H

#include <stdbool.h>

/* Starts fn(arg) on a detached thread that takes none of the program's signals (they are the
 * program's business); false if it cannot. */
bool spawn_detached(void *(*fn)(void *), void *arg);

#endif
