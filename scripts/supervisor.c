/* The command's event loop while a supervised program runs: one epoll set holding the seccomp
 * listener, a signalfd for the signals session.c handles (the program's end, job control, signals
 * to pass on), the DNS responder's sockets and the socket of every call being served. Nothing in
 * it blocks: one slow proxy never delays another thread's connect (tests/integration/
 * test_seccomp.py: 100 concurrent dials through a proxy that waits 0.1 s each finish in ~0.1 s). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../preload/tunnel.h"
#include "../preload/tunnels.h"
#include "log.h"
#include "socksify.h"
#include "startup_data.h"
#include "supervisor.h"
#include "text.h"

/* epoll keys that are not jobs (jobs are heap pointers, never this small, and even: a forwarded
 * DNS query's key is its pointer with the lowest bit set). */
enum { KEY_LISTENER = 1, KEY_SIGNALS, KEY_DNS4, KEY_DNS6 };

/* preload/tunnel.c asks for the dead-proxy marks through the library's context; in the command
 * there is one supervisor, whose marks are the session's. */
static struct supervisor *current STARTUP_DATA;   /* set on every start */

struct chain_health *context_health(void)
{
    return current ? &current->health : NULL;
}

/* preload/tunnel.c's tunnel_register files a tunnel in the library's table of the process's
 * tunnels (getpeername answers from it); the supervisor keeps no such table: a program it carried
 * sees the proxy as its socket's peer (README, "Every binary"). Never called by the supervisor. */
bool tunnels_add(int fd, const union sockaddr_any *target, const union sockaddr_any *outward)
{
    (void)fd, (void)target, (void)outward;
    return false;
}

static int watch_key(struct supervisor *sv, int fd, unsigned events, uint64_t key)
{
    struct epoll_event ev = { .events = events, .data.u64 = key };
    return epoll_ctl(sv->epoll, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

int supervisor_watch(struct supervisor *sv, int fd, unsigned events, struct sv_job *job)
{
    return watch_key(sv, fd, events | EPOLLONESHOT, (uint64_t)(uintptr_t)job);
}

int supervisor_rewatch(struct supervisor *sv, int fd, unsigned events, struct sv_job *job)
{
    struct epoll_event ev = { .events = events | EPOLLONESHOT, .data.u64 = (uint64_t)(uintptr_t)job };
    return epoll_ctl(sv->epoll, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

void supervisor_unwatch(struct supervisor *sv, int fd)
{
    epoll_ctl(sv->epoll, EPOLL_CTL_DEL, fd, NULL);
}

int supervisor_prepare(struct supervisor *sv, struct config *c, const char *session_dir, const char *program)
{
    memset(sv, 0, sizeof(*sv));
    sv->config = c;
    sv->listener = sv->dns4 = sv->dns6 = -1;
    current = sv;
    char name[64];
    const char *base = strrchr(program, '/');
    text_join(name, sizeof(name), base ? base + 1 : program, " via supervisor", (const char *)NULL);
    /* config_load took SOCKSIFY_LOG_LEVEL and SOCKSIFY_LOG_FILE (and -q/-v, put there) already. */
    log_setup(c->log_level, 2, name);
    log_set_file(c->log_file[0] ? c->log_file : NULL);
    sv->session_dir = session_dir;
    int r = (sv->epoll = epoll_create1(EPOLL_CLOEXEC)) < 0 ? -errno : 0;
    if (r < 0)
        fprintf(stderr, "socksify: cannot prepare the seccomp supervisor: %s\n", strerror(-r));
    return r;
}

int supervisor_watch_dns(struct supervisor *sv)
{
    if ((sv->dns4 >= 0 && watch_key(sv, sv->dns4, EPOLLIN, KEY_DNS4) < 0) ||
        (sv->dns6 >= 0 && watch_key(sv, sv->dns6, EPOLLIN, KEY_DNS6) < 0))
        return -errno;
    return 0;
}

int supervisor_install(struct supervisor *sv)
{
    int fd = seccomp_filter_install();
    if (fd < 0)
        sv->install_error = fd;
    else
        sv->listener = fd;
    return fd < 0 ? fd : 0;
}

/* One notification: what the filter sent us is always one of these four calls. */
static void serve_notification(struct supervisor *sv)
{
    struct seccomp_notif req;
    memset(&req, 0, sizeof(req));
    if (ioctl(sv->listener, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0)
        return;   /* ENOENT: the caller went away (a fatal signal) before we took it */
    sv_session_attach(sv);
    switch (req.data.nr) {
    case SYS_connect: sv_connect(sv, &req); break;
    case SYS_sendto: sv_sendto(sv, &req); break;
    case SYS_sendmsg: sv_sendmsg(sv, &req); break;
    case SYS_sendmmsg: sv_sendmmsg(sv, &req); break;
    default: sv_answer(sv, req.id, -ENOSYS); break;
    }
}

/* Every signal waiting on the signalfd, to session.c: 1 with *status once the program has ended. */
static int serve_signals(int sfd, pid_t child, int *status)
{
    struct signalfd_siginfo ssi;
    while (read(sfd, &ssi, sizeof(ssi)) == (ssize_t)sizeof(ssi)) {
        siginfo_t si;
        memset(&si, 0, sizeof(si));
        si.si_signo = (int)ssi.ssi_signo;
        si.si_code = ssi.ssi_code;
        si.si_pid = (pid_t)ssi.ssi_pid;
        if (session_on_signal(child, (int)ssi.ssi_signo, &si, status))
            return 1;
    }
    return 0;
}

/* How long epoll may wait: until the earliest job deadline (ms), or for ever (-1). */
static int wait_ms(const struct supervisor *sv)
{
    long long d = sv_jobs_deadline(sv), f = sv_dns_deadline(sv);
    if (f >= 0 && (d < 0 || f < d))
        d = f;
    if (d < 0)
        return -1;
    long long left = d - tunnel_now_ms();
    return left <= 0 ? 0 : left > 60000 ? 60000 : (int)left;
}

/* Serves events: with the signalfd sfd until the program has ended (1, its status in *status);
 * without (sfd < 0) until nobody is left under the filter and no call or query is pending (0). */
static int serve(struct supervisor *sv, int sfd, pid_t child, int *status)
{
    bool nobody_left = false;
    for (;;) {
        struct epoll_event ev[64];
        int n = epoll_wait(sv->epoll, ev, 64, wait_ms(sv));
        for (int i = 0; i < n; i++) {
            uint64_t key = ev[i].data.u64;
            if (key == KEY_LISTENER && (ev[i].events & EPOLLIN)) {
                serve_notification(sv);
            } else if (key == KEY_LISTENER) {
                supervisor_unwatch(sv, sv->listener);   /* HUP: nobody left under the filter; RECV would block */
                nobody_left = true;
            } else if (key == KEY_SIGNALS && sfd >= 0 && serve_signals(sfd, child, status)) {
                return 1;
            } else if (key == KEY_DNS4 || key == KEY_DNS6) {
                sv_dns_serve(sv, key == KEY_DNS4 ? sv->dns4 : sv->dns6);
            } else if (key > KEY_DNS6 && (key & 1)) {   /* a forwarded DNS query (tagged pointer) */
                sv_dns_forward_event(sv, (void *)(uintptr_t)(key & ~(uint64_t)1));
            } else if (key > KEY_DNS6) {
                sv_job_event(sv, (struct sv_job *)(uintptr_t)key, false);
            }
        }
        if (sv->jobs || sv->forwards) {   /* the clock only when something can expire: its first read faults pages in */
            long long now = tunnel_now_ms();
            sv_jobs_expire(sv, now);
            sv_dns_expire(sv, now);
        }
        if (sfd < 0 && nobody_left && !sv->jobs && !sv->forwards)
            return 0;
    }
}

/* The program has ended, but processes it started may still run under the filter (a daemon, `ssh
 * -f`, a `cmd &` of a script): a child of the command serves them until the last is gone, so that
 * their connects keep going through the proxy (the library's processes too: their connects to the
 * proxy are filtered). The command itself returns the program's status at once. The server keeps
 * no terminal or pipe of the caller open (its output goes to /dev/null, or to the log file). The
 * session directory goes with the command, as before: names handed out in it stay mapped here, but
 * relays the library notes afterwards are not seen, and their datagrams are refused. */
static void serve_the_rest(struct supervisor *sv, int sfd)
{
    struct pollfd p = { .fd = sv->listener, .events = POLLIN };
    if (poll(&p, 1, 0) == 1 && (p.revents & POLLHUP) && !(p.revents & POLLIN) && !sv->jobs)
        return;   /* nobody left under the filter */
    if (fork() != 0)
        return;   /* the command (or no fork: the leftovers' calls fail with ENOSYS) */
    epoll_ctl(sv->epoll, EPOLL_CTL_DEL, sfd, NULL);
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
        dup2(null, 0);
        dup2(null, 1);
        if (!sv->config->log_file[0])
            dup2(null, 2);
    }
    int status;
    serve(sv, -1, 0, &status);
    _exit(0);
}

int supervisor_run(struct supervisor *sv, pid_t child, const sigset_t *set)
{
    int status = 0, sfd = signalfd(-1, set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sfd < 0 || watch_key(sv, sfd, EPOLLIN, KEY_SIGNALS) < 0 || watch_key(sv, sv->listener, EPOLLIN, KEY_LISTENER) < 0) {
        fprintf(stderr, "socksify: the supervisor cannot wait: %s\n", strerror(errno));
        kill(child, SIGKILL);
    }
    /* Signals that arrived before the signalfd existed are pending on it: none is lost. */
    serve(sv, sfd, child, &status);
    serve_the_rest(sv, sfd);
    close(sfd);
    /* What is left under the filter after the server is gone finds no listener: ENOSYS. */
    close(sv->listener);
    return status;
}
