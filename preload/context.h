/* The process-wide state of the library: its configuration, loaded once on first use. */
#ifndef SOCKSIFY_CONTEXT_H
#define SOCKSIFY_CONTEXT_H

#include "chain.h"
#include "config.h"
#include "startup_data.h"

/* The configuration, loaded lazily and thread-safely from the environment and config files;
 * NULL if it could not be loaded (the reason was logged), in which case callers fail closed. */
const struct config *context_config(void);
/* Which proxies failed lately, shared by all threads, and by all processes of a session (shared.h);
 * NULL when context_config() is. */
struct chain_health *context_health(void);
/* The contents of /etc/hosts as read when the configuration was loaded ("" if unreadable). */
const char *context_hosts(void);
/* True in a vfork child (or posix_spawn's): it shares the parent's memory, so it must not change
 * socksify's state on behalf of its own descriptors. One getpid() call; in a child that fork()'s
 * handlers did not see (vfork, a raw clone) one kcmp() too, until a child with its own memory
 * takes the state over. Async-signal-safe; errno is kept. */
bool in_vfork_child(void);
/* pthread_atfork(prepare, parent, child), whose child part also runs in a child made by a raw
 * clone() without CLONE_VM, which pthread_atfork never sees: the first time in_vfork_child finds
 * such a child. Every fork handler of the library registers through it (at most 8). */
void context_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void));
/* True while this thread is loading the configuration, or inside the GSS-API library (talking to
 * its KDC): hooks then pass calls straight to libc. */
bool context_loading(void);

#endif
