/* The seccomp supervisor of the socksify command: the contracts between its parts.
 *
 * seccomp_filter.c builds and installs the filter (in the program, just before exec);
 * supervisor.c     is the command's event loop while the program runs: the listener, the signals
 *                  session.c handles, the DNS responder and every in-flight call, all non-blocking;
 * sv_target.c      reaches into the program: reads its memory, duplicates its socket, answers;
 * sv_connect.c     serves connect(): judged by core's route_verdict, done on the duplicate (direct),
 *                  or through the chain with preload/tunnel.c's driver (proxied);
 * sv_send.c        serves sendto/sendmsg/sendmmsg that carry an address;
 * sv_dns.c         a DNS responder on loopback that answers the program's own resolver (Go,
 *                  busybox, static glibc) with fake addresses from the session's name map;
 * sv_session.c     the session's shared region (names, dead-proxy marks), mapped at first use.
 *
 * Why the program's call is done here, on a duplicate of its socket (pidfd_getfd), and never let
 * through with SECCOMP_USER_NOTIF_FLAG_CONTINUE when it has a destination: the kernel would read
 * the address again from the program's memory, which another thread may have changed since it
 * was judged. What is done here uses the copy that was judged. CONTINUE is used only where no
 * destination can come out of the call: a TCP socket without Fast Open, or a socket that is not
 * inet, where the kernel refuses an inet address whatever the memory says (a datagram socket's
 * sendmsg without an address is done here too: continued, the msghdr would be read again). The
 * descriptor itself could still be swapped by another thread before the kernel looks it up. */
#ifndef SOCKSIFY_SUPERVISOR_H
#define SOCKSIFY_SUPERVISOR_H

#include <linux/seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "addr.h"
#include "chain.h"
#include "config.h"
#include "fakedns.h"
#include "handshake.h"

/* ---- seccomp_filter.c ---- */

/* Room for the filter's program (it is about 45 instructions). */
#define SECCOMP_FILTER_MAX 64

struct sock_filter;
/* Writes the filter's program into insn (max instructions): its length, or -E2BIG. Pure: the
 * unit tests run it through a BPF interpreter, for the architectures this machine cannot run. */
int seccomp_filter_build(struct sock_filter *insn, unsigned max);
/* Installs the filter in the calling process (no_new_privs first unless it may go without:
 * root). Returns the listener descriptor (close-on-exec), or -errno. */
int seccomp_filter_install(void);
/* 0 if this kernel offers what the supervisor needs (user notification), else -errno (ENOSYS,
 * EINVAL, or EPERM/EACCES from a filter around us that forbids seccomp). Two cheap system calls. */
int seccomp_filter_probe(void);

/* ---- supervisor.c ---- */

struct sv_job;
struct dns_forward;

struct supervisor {
    struct config *config;          /* proxies' host names are resolved in it at first use */
    const char *session_dir;
    bool attached;                  /* sv_session_attach has run */
    const char *hosts;              /* /etc/hosts text, for the DNS responder's local names */
    struct fakedns *names;          /* the session's map; NULL unless names are remote */
    struct chain_health health;     /* the session's dead-proxy marks (or our own) */
    int listener;                   /* set by the child that installed the filter; -1 before */
    int install_error;              /* -errno from the child if it could not install it */
    int epoll;
    int dns4, dns6;                 /* the DNS responder's sockets (-1 if none) */
    union sockaddr_any dns4_addr, dns6_addr;
    struct sv_job *jobs;            /* calls waiting for a socket */
    struct dns_forward *forwards;   /* queries forwarded to a nameserver (sv_dns.c) */
};

/* Prepares sv for the program (config and session directory; the config outlives the session;
 * program names it in log lines, "PROGRAM via supervisor"): the logger and the epoll set; the
 * rest waits for the first call served (sv_session_attach). 0 or -errno (said on stderr). */
int supervisor_prepare(struct supervisor *sv, struct config *c, const char *session_dir, const char *program);
/* In the child, before exec: installs the filter and leaves the listener in sv (the child shares
 * the command's memory and descriptor table until exec). 0 or -errno. */
int supervisor_install(struct supervisor *sv);
/* The session's loop: serves notifications until the program has ended, handing every signal of
 * set to session_on_signal. Returns the command's exit status. */
int supervisor_run(struct supervisor *sv, pid_t child, const sigset_t *set);
/* Adds fd to the loop for events, for job (EPOLLONESHOT). 0 or -errno. */
int supervisor_watch(struct supervisor *sv, int fd, unsigned events, struct sv_job *job);
/* Re-arms fd's one-shot registration (made by supervisor_watch for the same file) for events. */
int supervisor_rewatch(struct supervisor *sv, int fd, unsigned events, struct sv_job *job);
/* Adds the DNS responder's sockets to the loop. 0 or -errno. */
int supervisor_watch_dns(struct supervisor *sv);
/* Removes fd from the loop (if it was there). */
void supervisor_unwatch(struct supervisor *sv, int fd);

/* ---- sv_target.c ---- */

/* Copies len bytes at addr in process pid into buf: 0, or -EFAULT. */
int sv_read(pid_t pid, uint64_t addr, void *buf, size_t len);
/* Copies len bytes of buf to addr in process pid: 0, or -EFAULT. */
int sv_write(pid_t pid, uint64_t addr, const void *buf, size_t len);
/* A duplicate of the caller's descriptor fd, taken while the notification is still valid: our
 * descriptor, or -errno (-EBADF: no such descriptor; -ENOENT: the call is gone). */
int sv_take_fd(const struct supervisor *sv, const struct seccomp_notif *req, int fd);
/* Answers notification id: result >= 0 is the call's return value, < 0 its -errno. */
void sv_answer(const struct supervisor *sv, uint64_t id, long result);
/* Lets the call run as the program made it (only for calls without a destination, see above). */
void sv_continue(const struct supervisor *sv, uint64_t id);
/* Puts our socket fd under number target_fd in the caller's table (a socket the tunnel driver
 * replaced). 0 or -errno. */
int sv_install_fd(const struct supervisor *sv, uint64_t id, int fd, int target_fd);

/* Whether the process of thread tid has the library loaded (then the library logged the
 * connection already; the supervisor's own line for it would be a second one). Reads
 * /proc/TID/maps once per thread: call it only when the line is to be written. */
bool sv_has_library(pid_t tid);

/* ---- sv_connect.c ---- */

/* Serves connect(fd, addr, len) (args of req). */
void sv_connect(struct supervisor *sv, const struct seccomp_notif *req);
/* A job's socket is ready (or its deadline passed: timed_out): goes on, answering when done. */
void sv_job_event(struct supervisor *sv, struct sv_job *job, bool timed_out);
/* The earliest deadline of the jobs (CLOCK_MONOTONIC ms), or -1 for none. */
long long sv_jobs_deadline(const struct supervisor *sv);
/* Expires the jobs whose deadline is before now_ms. */
void sv_jobs_expire(struct supervisor *sv, long long now_ms);
/* Where a datagram or connection to the DNS server dst goes instead, if it is DNS the responder
 * takes (port 53 while names are remote): true with *to (fitted to a socket of family and v6only). */
bool sv_dns_redirect(const struct supervisor *sv, const union sockaddr_any *dst, int family, bool v6only,
                     union sockaddr_any *to);

/* ---- sv_send.c ---- */

/* Serves sendto(fd, buf, len, flags, addr, alen) with an address. */
void sv_sendto(struct supervisor *sv, const struct seccomp_notif *req);
/* Serves sendmsg(fd, msg, flags). */
void sv_sendmsg(struct supervisor *sv, const struct seccomp_notif *req);
/* Serves sendmmsg(fd, msgs, vlen, flags). */
void sv_sendmmsg(struct supervisor *sv, const struct seccomp_notif *req);

/* ---- sv_dns.c ---- */

/* Opens the responder's sockets on 127.0.0.1 and ::1 (ephemeral ports) into sv and the loop,
 * and reads /etc/hosts for it (at the first call served: nothing of it at start-up). 0 or -errno. */
int sv_dns_open(struct supervisor *sv);
/* Answers every query waiting on sock (or forwards it: a name routed direct). */
void sv_dns_serve(struct supervisor *sv, int sock);
/* Remembers that the program socket fd (our duplicate), redirected to the responder, asked for
 * the nameserver server: a query to forward goes there. */
void sv_dns_note(int fd, const union sockaddr_any *server);
/* A forwarded query's answer is ready (forward: the tagged key's pointer). */
void sv_dns_forward_event(struct supervisor *sv, void *forward);
/* The earliest deadline of the forwarded queries (CLOCK_MONOTONIC ms), or -1. */
long long sv_dns_deadline(const struct supervisor *sv);
/* Answers SERVFAIL for the forwarded queries whose deadline passed. */
void sv_dns_expire(struct supervisor *sv, long long now_ms);

/* ---- sv_session.c ---- */

/* Attaches sv's names and dead-proxy marks to the session's shared region (DIR/names, made if no
 * process has made it yet), once; later calls return at once. Failures are logged: names meant
 * for the proxy then fail, and the marks are sv's own. */
void sv_session_attach(struct supervisor *sv);
/* True if dst is a UDP relay the library's processes of the session noted (DIR/relays): their
 * association datagrams go there, to the proxy. */
bool sv_is_relay(const struct supervisor *sv, const union sockaddr_any *dst);
struct verdict;
/* What becomes of a datagram (or UDP connect) to dst that verdict v sends through an association,
 * which a program without the library does not have: direct for a relay the library noted and
 * for DNS while names are resolved locally (libc's resolver in a library process sends its
 * queries itself), else v (refused by the caller with EOPNOTSUPP). */
struct verdict sv_udp_exception(const struct supervisor *sv, const union sockaddr_any *dst, const struct verdict *v);

#endif
