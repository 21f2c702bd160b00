/* The program's epoll registrations, remembered so that a descriptor whose socket socksify swaps
 * out (for a placeholder while a non-blocking connect's handshake runs) and back can have its
 * registrations moved along: epoll keys a registration by (descriptor, open file), so a
 * registration made on the socket would otherwise report it writable as soon as the proxy
 * accepts the TCP connection. Every function but epolltrack_ctl/forget needs the lock held. */
#ifndef SOCKSIFY_EPOLLTRACK_H
#define SOCKSIFY_EPOLLTRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/epoll.h>

struct epoll_reg {
    int epfd;
    struct epoll_event event;
};

/* The program's epoll_ctl: made, and remembered if it succeeded. */
int epolltrack_ctl(int epfd, int op, int fd, struct epoll_event *ev);
/* fd is being closed: forgets its registrations, and all registrations in it if it is an epoll. */
void epolltrack_forget(int fd);
/* Whether any registration is tracked: no lock. */
bool epolltrack_any(void);
void epolltrack_lock(void);
void epolltrack_unlock(void);
/* Copies up to max registrations of fd into out; returns how many fd has. */
size_t epolltrack_of(int fd, struct epoll_reg *out, size_t max);
/* Moves fd's registrations off the open file fd holds now (before it is replaced by dup2/dup3). */
void epolltrack_detach(int fd);
/* Registers the open file fd holds now under fd's registrations (after dup2/dup3). */
void epolltrack_attach(int fd);
/* After fork, in the child: the lock may have been held by a thread that no longer exists. */
void epolltrack_after_fork(void);

#endif
