/* Listening sockets that go through the proxy (SOCKS5 BIND, RFC 1928 section 4), for programs
 * that take a connection back from the peer they talk to (active-mode FTP).
 *
 * When core/bind_rule.h says a bind() is meant for the proxy, its first use as a listener
 * (getsockname or listen; a connect() instead makes it a client bound as asked) opens a fresh
 * connection through the chain of the program's latest tunnel and asks the last proxy for BIND;
 * its first reply (where the proxy listens) is what getsockname() reports from then on. The program's socket
 * itself is bound to loopback, port 0, so nobody on the network can reach it, and listens there
 * for real: poll/select/epoll and blocking accept() work on it as on any listener. From listen()
 * a thread of ours waits for the second reply (the peer that connected to the proxy, or a
 * failure) within bind_timeout, then makes the listener readable by connecting to it from
 * loopback; the program's own poll/select and accept read a reply that came before our thread
 * ran (binds_settle). accept() takes that connection, checks it is ours, and puts the proxy connection
 * under its number instead: the program's new socket is the tunnel to the peer, and
 * getpeername() gives the peer from the second reply. A failure reaches accept() as its errno
 * (ECONNRESET: the proxy hung up; EPROTO: a malformed reply; ETIMEDOUT; the reply's own).
 * One BIND per accept: after it the listener has spent its proxy connection, and a later accept()
 * fails with EINVAL (active FTP opens a new listener per transfer).
 * Lookups for other descriptors are lock-free and make no syscall. */
#ifndef SOCKSIFY_BINDS_H
#define SOCKSIFY_BINDS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* Whether fd may be such a listener: no lock, no syscall; false for every fd while none exists. */
bool binds_maybe(int fd);
/* bind() of fd to addr: 1 if not meant for the proxy (the caller binds for real), 0 when it is
 * (nothing is done yet: the first getsockname() or listen() asks the proxy, a connect() binds
 * for real after all), -errno. */
int binds_bind(int fd, const struct sockaddr *addr, socklen_t len);
/* listen() on a listener fd (binds_maybe): asks the proxy if not done yet, listens for real and
 * starts waiting for the second reply; 1 if fd is not one, 0, or -errno (the proxy's refusal). */
int binds_listen(int fd, int backlog);
/* accept4() on a listener fd: the new descriptor (the tunnel to the peer) or -errno; *mine false
 * (and the result meaningless) if fd is not one: the caller accepts for real. */
int binds_accept(int fd, struct sockaddr *addr, socklen_t *len, int flags, bool *mine);
/* getsockname() of a listener fd: asks the proxy if not done yet; 0 with the proxy's bound
 * address copied out, 1 if fd is not one, or -errno (the proxy's refusal). */
int binds_sockname(int fd, struct sockaddr *addr, socklen_t *len);
/* connect() on fd: a listener that was never used as one becomes a plain socket again, bound as
 * the program asked. 0, or -errno of that bind. */
int binds_connecting(int fd);
/* Whether some listener waits for its second reply: one relaxed load, for the wait hooks. */
bool binds_waiting(void);
/* Reads, in the caller's thread, the second replies that have come, and makes their listeners
 * readable at once; how many became readable, their descriptors in ready[cap]. The wait hooks
 * call it when a wait ends, so that a peer the proxy announced before other data is reported
 * with (not after) that data, as the kernel orders a connection and the data its peer sends
 * after it, however late our thread runs. */
size_t binds_settle(int *ready, size_t cap);
/* The program closes fd: its proxy connection is closed and the waiting ends. */
void binds_close(int fd);

#endif
