/* One listener through the proxy (SOCKS5 BIND), its state and its talk with the proxy: asking for
 * BIND up to the first reply, waiting for the second, waking the program's socket. Internal to
 * binds.c (the registry and the calls), which says how the pieces fit. */
#ifndef SOCKSIFY_BIND_LISTENER_H
#define SOCKSIFY_BIND_LISTENER_H

#include <pthread.h>
#include <stdbool.h>

#include "addr.h"
#include "config.h"
#include "descriptor.h"
#include "fakedns.h"
#include "socks5.h"
#include "tunnel.h"

enum listener_state {
    LISTENER_CANDIDATE, /* bind() was meant for the proxy; nothing done yet: a connect() may still make it a client */
    LISTENER_ARMED,     /* the first reply is in; waiting for listen() */
    LISTENER_WAITING,   /* the second reply is awaited: read by whoever holds the lock (our thread, or the
                         * program's wait calls through binds_settle) */
    LISTENER_READY,     /* the second reply (or a failure) is in, and the listener was made readable */
    LISTENER_SPENT,     /* accept() took the connection (or the failure): nothing more to accept */
};

struct listener {
    pthread_mutex_t lock;          /* state, closed, and the descriptors below once waiting ends */
    int refs;                      /* its slot, our thread, each call using it (binds.c's registry lock) */
    enum listener_state state;
    bool closed;                   /* the program closed its socket: nothing more to log or wake */
    bool inherited;                /* this process is a fork of the one that listened: hands off */
    struct file_id id;             /* the program's socket, to notice it replaced behind our back */
    int fd;                        /* its number, for the wait hooks (binds_settle) */
    int family;                    /* of the program's socket */
    union sockaddr_any asked;      /* what the program bind()s to: done for real if it connect()s instead */
    const struct config *config;
    const struct chain *chain;     /* of the proxied connection: BIND goes the same way */
    struct socks_target expect;    /* that connection's target, port 0: the peer the proxy may take */
    int arm_error;                 /* positive errno if asking the proxy failed */
    int proxy;                     /* our connection to the first proxy, asked for BIND */
    struct tunnel tunnel;          /* its handshake, which goes on with the second reply */
    long long deadline_ms;         /* for the second reply */
    union sockaddr_any bound;      /* where the proxy listens: what getsockname() reports */
    union sockaddr_any loop;       /* where the program's socket really listens (loopback) */
    int wake;                      /* eventfd: finishing the wait elsewhere wakes our thread */
    struct listener *next_waiting; /* binds.c's list of waiting listeners (its registry lock) */
    int poke;                      /* our end of the connection that makes the listener readable */
    union sockaddr_any poke_local; /* its address: how accept() knows that connection is ours */
    union sockaddr_any peer;       /* from the second reply */
    int error;                     /* positive errno of the second reply */
    char what[FAKEDNS_NAME_MAX + ADDR_TEXT_MAX + 16]; /* the expected peer, for logs */
};

/* Closes *fd if open and sets it to -1. */
void bind_listener_close_fd(int *fd);
/* Frees l and closes its descriptors (the last reference is gone). */
void bind_listener_free(struct listener *l);
/* The first use of a candidate as a listener (getsockname, listen): asks the proxy for BIND, up to
 * the first reply, and binds the program's socket fd to loopback. 0, or -errno (for good: the
 * listener is spent). With l->lock held. */
int bind_listener_arm(int fd, struct listener *l);
/* listen() happened: the wait for the second reply starts (until deadline_ms), in l->state
 * LISTENER_WAITING. 0, or -errno if our thread could not be given its wake-up. With l->lock held. */
int bind_listener_start_wait(struct listener *l, long long deadline_ms);
/* Reads what has come of the second reply without blocking; true if that ended the wait: the
 * peer or the failure is recorded, logged, and the socket made readable (unless the program
 * closed it). With l->lock held; false (and nothing done) if l is not waiting. */
bool bind_listener_pump(struct listener *l);
/* Our thread's work: pumps as the proxy connection becomes readable until the wait ends,
 * elsewhere or here (at l->deadline_ms, with ETIMEDOUT). Takes l->lock. */
void bind_listener_wait(struct listener *l);

#endif
