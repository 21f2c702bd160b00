/* The program's epoll registrations, remembered so that a descriptor whose socket socksify swaps
 * out (for a placeholder while a non-blocking connect's handshake runs) and back can have its
 * registrations moved along: epoll keys a registration by (descriptor, open file), so a
 * registration made on the socket would otherwise report it writable as soon as the proxy
 * accepts the TCP connection.
 *
 * Registrations are kept per descriptor number (a slot in an fdmap), each with the generation of
 * its epoll's number; close() bumps a number's generation without a lock, which makes stale both
 * the registrations of that number and those made in it (if it was an epoll): close stays O(1)
 * and async-signal-safe. Numbers closed behind our back (close_range, dup2, fclose) leave stale
 * entries that look alive: moving a registration therefore re-adds only what EPOLL_CTL_DEL proved
 * to be there, and never into socksify's own epoll. epolltrack_lock guards the registrations; it
 * is never held across blocking I/O and never taken by close(). */
#ifndef SOCKSIFY_EPOLLTRACK_H
#define SOCKSIFY_EPOLLTRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/epoll.h>

#define EPOLLTRACK_MAX 8   /* epoll instances one descriptor is tracked in; more are not tracked */

struct epoll_reg {
    int epfd;
    unsigned epfd_gen;        /* the epoll number's generation when the registration was made */
    struct epoll_event event;
};

/* The program's epoll_ctl: made, and remembered if it succeeded. Takes the lock. */
int epolltrack_ctl(int epfd, int op, int fd, struct epoll_event *ev);
/* Whether fd's number ever took part in a registration (as the descriptor or the epoll): no lock, no syscall. */
bool epolltrack_has(int fd);
/* fd is being closed: its registrations, and those in it if it is an epoll, become stale. No lock, O(1). */
void epolltrack_closed(int fd);
/* socksify made fd (its own epoll): registrations the program once made in that number are stale. No lock. */
void epolltrack_claim(int fd);
void epolltrack_lock(void);
void epolltrack_unlock(void);
/* With the lock: takes fd's live registrations off the open file fd holds now (before dup3), never
 * touching skip_epfd (socksify's own epoll); fills moved with those EPOLL_CTL_DEL removed and
 * returns how many (at most EPOLLTRACK_MAX). */
size_t epolltrack_detach(int fd, int skip_epfd, struct epoll_reg *moved);
/* With the lock: adds the n registrations detach moved to the open file fd holds now (after dup3). */
void epolltrack_attach(int fd, const struct epoll_reg *moved, size_t n);
/* The event of fd's registration in epfd, as the program made it: true with *ev, or false if
 * none is known. Takes the lock. */
bool epolltrack_event(int epfd, int fd, struct epoll_event *ev);
/* pthread_atfork handlers, called by the engine's (engine.c) in lock order: prepare, parent, child. */
void epolltrack_before_fork(void);
void epolltrack_after_fork_parent(void);
void epolltrack_after_fork_child(void);

#endif
