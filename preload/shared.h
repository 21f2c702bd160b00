/* What a process shares with the other processes of its session, or without a session with its
 * forked family: the fake-address map and (in a session) the dead-proxy marks of its chains.
 *
 * In a session (SOCKSIFY_SESSION_DIR, see session.h) both live in the file DIR/names, which every
 * process of the session maps at first use, whatever it exec'd and whichever descriptors it
 * closed. Without one (LD_PRELOAD set by hand) the map lives in an anonymous MAP_SHARED region
 * mapped when the library loads, so only the process and its forked children (and theirs) share
 * names; each process keeps its own marks (context.c). Once mapped, a lookup makes no system call:
 * the map is memory, its lock a futex that enters the kernel only when contended. */
#ifndef SOCKSIFY_SHARED_H
#define SOCKSIFY_SHARED_H

#include "chain.h"
#include "fakedns.h"

/* The map when names are remote (DNS_REMOTE), NULL otherwise or if it could not be set up (the
 * reason was logged; names meant for the proxy then fail). */
struct fakedns *shared_names(void);
/* The session's dead-proxy marks; NULL outside a session, without a configuration, or if they
 * could not be shared (logged): the caller then keeps its own. */
struct chain_health *shared_health(void);

#endif
