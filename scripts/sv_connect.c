/* connect() of a supervised program. The address is read once from its memory and judged by
 * core's route_verdict, as the library's hook judges it (preload/outbound.c); then the call is
 * done here, on a duplicate of the program's socket, with that very address:
 *   direct   connect the duplicate; a non-blocking socket gets the kernel's EINPROGRESS, a
 *            blocking one waits (the notification stays pending) for the kernel's result;
 *   proxied  preload/tunnel.c's driver connects the duplicate to the first proxy and runs the
 *            chain's handshake, non-blocking, in the command's event loop among all the others;
 *            the program's call returns 0 once the tunnel is up (for a non-blocking socket too:
 *            a connect that completes at once is legal), or the errno the library would give;
 *   DNS      a UDP socket for port 53 is connected to the supervisor's responder (sv_dns.c);
 *   refused  the verdict's errno.
 * The description is made non-blocking while it is worked on, and its flags restored before the
 * answer (the program is inside connect() meanwhile). */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../preload/descriptor.h"
#include "../preload/tunnel.h"
#include "log.h"
#include "route.h"
#include "supervisor.h"
#include "verdict.h"

struct sv_job {
    struct sv_job *next;
    uint64_t id;
    int fd;                     /* our duplicate (the tunnel's socket when tunnel) */
    int target_fd;              /* the program's number for it */
    int flags;                  /* the description's status flags before we touched them */
    bool is_tunnel;
    struct file_id file;        /* the program's socket, to tell whether the driver replaced it */
    long long deadline_ms;      /* -1: none (a direct connect waits as long as the kernel does) */
    struct tunnel t;
    const struct chain *chain;
    struct timespec start;
    char what[FAKEDNS_NAME_MAX + ADDR_TEXT_MAX + 16];
};

static void job_unlink(struct supervisor *sv, struct sv_job *job)
{
    for (struct sv_job **p = &sv->jobs; *p; p = &(*p)->next) {
        if (*p == job) {
            *p = job->next;
            return;
        }
    }
}

/* Answers the job's call with result (0 or -errno) and forgets it. */
static void finish(struct supervisor *sv, struct sv_job *job, int result)
{
    supervisor_unwatch(sv, job->fd);
    if (job->is_tunnel) {
        tunnel_log_result(sv->config, job->what, job->chain, &job->t, -result, &job->start);
        /* Connected to the proxy but no tunnel: no byte of the program's may reach the proxy as
         * if it were the target. */
        if (result < 0)
            shutdown(job->fd, SHUT_RDWR);
    }
    fcntl(job->fd, F_SETFL, job->flags);
    /* A chain's retry left the program's own socket on a proxy that failed: the socket the driver
     * ended on (shut down above if no tunnel) goes under the program's number either way. */
    if (job->is_tunnel && !file_id_is(job->fd, &job->file)) {
        int installed = sv_install_fd(sv, job->id, job->fd, job->target_fd);
        if (result == 0)
            result = installed;
    }
    sv_answer(sv, job->id, result);
    close(job->fd);
    job_unlink(sv, job);
    free(job);
}

/* The tunnel driver said r (see tunnel_advance): wait for the events it wants, or finish.
 * watched: the job's registration (disabled: one-shot) still names the driver's socket. */
static void job_tunnel_step(struct supervisor *sv, struct sv_job *job, int r, bool watched)
{
    job->fd = job->t.fd;
    if (r <= 0) {
        finish(sv, job, r);
        return;
    }
    job->deadline_ms = job->t.deadline_ms;
    unsigned events = r & POLLIN ? EPOLLIN : EPOLLOUT;
    int w = watched ? supervisor_rewatch(sv, job->fd, events, job) : supervisor_watch(sv, job->fd, events, job);
    if (w < 0)
        finish(sv, job, w);
}

/* The socket-level result of a non-blocking connect that has finished: 0 or -errno. */
static int connect_result(int fd)
{
    int soerr = socket_int(fd, SOL_SOCKET, SO_ERROR, -1);
    return soerr < 0 ? -errno : -soerr;
}

void sv_job_event(struct supervisor *sv, struct sv_job *job, bool timed_out)
{
    if (!job->is_tunnel) {
        finish(sv, job, timed_out ? -ETIMEDOUT : connect_result(job->fd));
        return;
    }
    /* The driver puts a fresh socket under our number only when it starts another attempt: then
     * the registration must go while it still names the file it was made for; else it stays
     * and is re-armed (one system call instead of two). */
    if (timed_out) {
        supervisor_unwatch(sv, job->fd);
        job_tunnel_step(sv, job, tunnel_expire(&job->t), false);
        return;
    }
    size_t attempts = job->t.attempts;
    int r = tunnel_advance(&job->t);
    bool same = job->t.attempts == attempts;
    if (!same)
        epoll_ctl(sv->epoll, EPOLL_CTL_DEL, job->fd, NULL);   /* names the old file: the number is the new one's */
    job_tunnel_step(sv, job, r, same);
}

long long sv_jobs_deadline(const struct supervisor *sv)
{
    long long earliest = -1;
    for (const struct sv_job *j = sv->jobs; j; j = j->next)
        if (j->deadline_ms >= 0 && (earliest < 0 || j->deadline_ms < earliest))
            earliest = j->deadline_ms;
    return earliest;
}

void sv_jobs_expire(struct supervisor *sv, long long now_ms)
{
    for (struct sv_job *j = sv->jobs, *next; j; j = next) {
        next = j->next;
        if (j->deadline_ms >= 0 && j->deadline_ms <= now_ms)
            sv_job_event(sv, j, true);
    }
}

/* A job for the call req on our duplicate fd, made non-blocking; NULL (fd closed, call answered)
 * if there is no memory. */
static struct sv_job *job_new(struct supervisor *sv, const struct seccomp_notif *req, int fd)
{
    struct sv_job *job = calloc(1, sizeof(*job));
    if (!job) {
        close(fd);
        sv_answer(sv, req->id, -ENOMEM);
        return NULL;
    }
    job->id = req->id;
    job->fd = fd;
    job->target_fd = (int)req->data.args[0];
    job->deadline_ms = -1;
    job->flags = fcntl(fd, F_GETFL);
    file_id_of(fd, &job->file);
    clock_gettime(CLOCK_MONOTONIC, &job->start);
    if (!(job->flags & O_NONBLOCK))
        fcntl(fd, F_SETFL, job->flags | O_NONBLOCK);
    job->next = sv->jobs;
    sv->jobs = job;
    return job;
}

/* A direct connect of fd to dst: the kernel's answer, at once for a non-blocking socket. */
static void connect_direct(struct supervisor *sv, const struct seccomp_notif *req, int fd, const union sockaddr_any *dst)
{
    struct sv_job *job = job_new(sv, req, fd);
    if (!job)
        return;
    int r = connect(fd, &dst->sa, addr_len(dst)) < 0 ? -errno : 0;
    if (r != -EINPROGRESS || (job->flags & O_NONBLOCK)) {
        finish(sv, job, r);
        return;
    }
    int w = supervisor_watch(sv, fd, EPOLLOUT, job);
    if (w < 0)
        finish(sv, job, w);
}

/* A connect of fd to dst through route's chain (target: what the proxy is asked for). */
static void connect_proxied(struct supervisor *sv, const struct seccomp_notif *req, int fd, const union sockaddr_any *dst,
                            const struct socks_target *target, const struct chain *chain)
{
    struct sv_job *job = job_new(sv, req, fd);
    if (!job)
        return;
    job->is_tunnel = true;
    job->chain = chain;
    socks_target_describe(target, dst, job->what, sizeof(job->what));
    job_tunnel_step(sv, job, tunnel_begin(&job->t, fd, sv->config, chain, target), false);
}

static void log_refusal(const struct config *c, const char *text, const struct verdict *v, int kind)
{
    if (v->action == VERDICT_REJECT)
        log_msg(LOG_ERROR, "connect %s: rejected (route at %s:%d)", text, c->source[0] ? c->source : "config",
                v->route.rule ? v->route.rule->line : 0);
    else if (v->reason == VERDICT_DNS_LEAK)
        log_msg(LOG_ERROR, "connect %s refused: DNS past the proxy would leak names (set direct_dns yes to allow)", text);
    else if (v->action == VERDICT_UDP || kind == VERDICT_UDP_SOCKET)
        log_msg(LOG_ERROR, "UDP connect %s refused: datagrams of programs without the library are not carried "
                           "through the proxy (EOPNOTSUPP)", text);
    else
        log_msg(LOG_ERROR, "connect %s refused (%s)", text, v->reason == VERDICT_UNCARRIED ? "a socket SOCKS cannot carry"
                                                                                            : "no usable configuration");
}

/* A name routed direct is resolved here, as the library resolves it (outbound_resolve_direct),
 * for fd's family: 0 with *out, or -EHOSTUNREACH. The lookup waits in the loop: rare, and local
 * by the config's own choice. */
static int resolve_direct(int fd, const struct socks_target *target, union sockaddr_any *out)
{
    int family = socket_int(fd, SOL_SOCKET, SO_DOMAIN, AF_INET);
    struct addrinfo hints = { .ai_family = family, .ai_socktype = socket_int(fd, SOL_SOCKET, SO_TYPE, SOCK_STREAM),
                              .ai_flags = AI_V4MAPPED },
                    *res = NULL;
    char port[8];
    snprintf(port, sizeof(port), "%u", target->port);
    int r = getaddrinfo(target->name, port, &hints, &res) == 0 && res && addr_from_sockaddr(out, res->ai_addr, res->ai_addrlen)
                ? 0
                : -EHOSTUNREACH;
    if (res)
        freeaddrinfo(res);
    if (r == 0 && log_enabled(LOG_INFO)) {
        char text[ADDR_TEXT_MAX];
        log_msg(LOG_INFO, "connect %s:%u: direct (route) to %s", target->name, target->port, addr_format(out, text, sizeof(text)));
    }
    return r;
}

/* Judges and does a connect of fd (of kind) to the inet destination dst. */
static void judge(struct supervisor *sv, const struct seccomp_notif *req, int fd, int kind, const union sockaddr_any *dst)
{
    const struct config *c = sv->config;
    char text[ADDR_TEXT_MAX + FAKEDNS_NAME_MAX + 16];
    addr_format(dst, text, sizeof(text));
    bool fake = sv->names && fakedns_is_fake(sv->names, dst);
    union sockaddr_any to;
    if (!fake && kind == VERDICT_UDP_SOCKET &&
        sv_dns_redirect(sv, dst, dst->sa.sa_family, socket_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, 0) == 1, &to)) {
        log_msg(LOG_INFO, "UDP connect %s: DNS, answered by socksify", text);
        int r = connect(fd, &to.sa, addr_len(&to)) < 0 ? -errno : 0;   /* UDP: never waits */
        if (r == 0)
            sv_dns_note(fd, dst);
        close(fd);
        sv_answer(sv, req->id, r);
        return;
    }
    struct verdict v = route_verdict(c, dst, fake, (enum verdict_protocol)kind);
    /* The library's association connects its UDP socket to the proxy's relay (it noted it). */
    if (v.action == VERDICT_UDP)
        v = sv_udp_exception(sv, dst, &v);
    if (v.action == VERDICT_PASS) {
        /* The library's own connects to its proxy, and what the library decided and logged
         * already, are told at debug level only: one line per connection under -v. */
        const char *why = v.route.reason ? v.route.reason : "route";
        bool library = v.route.to_proxy;
        if (log_enabled(LOG_INFO))
            log_msg(library || sv_has_library((pid_t)req->pid) ? LOG_DEBUG : LOG_INFO, "connect %s: direct (%s)", text, why);
        connect_direct(sv, req, fd, dst);
        return;
    }
    if (v.action != VERDICT_PROXY) {
        log_refusal(c, text, &v, kind);
        close(fd);
        sv_answer(sv, req->id, v.action == VERDICT_UDP ? -EOPNOTSUPP : -verdict_errno(v.action));
        return;
    }
    struct socks_target target;
    int r = socks_target_for(sv->names, dst, &target);
    struct route route = route_decide(c, dst, target.is_name ? target.name : NULL);
    if (r == 0 && route.action == ROUTE_VIA) {
        connect_proxied(sv, req, fd, dst, &target, route.chain);
        return;
    }
    union sockaddr_any local;
    if (r == 0 && route.action == ROUTE_DIRECT && (r = resolve_direct(fd, &target, &local)) == 0) {
        connect_direct(sv, req, fd, &local);
        return;
    }
    if (r == 0)
        log_msg(LOG_ERROR, "connect %s: rejected", text);
    else if (r == -EHOSTUNREACH && route.action == ROUTE_DIRECT && target.is_name)
        log_msg(LOG_ERROR, "connect %s:%u: direct, but it does not resolve here", target.name, target.port);
    else
        log_msg(LOG_ERROR, "connect %s: a fake address with no name behind it", text);
    close(fd);
    sv_answer(sv, req->id, r < 0 ? r : -ECONNREFUSED);
}

/* The kind of socket fd is, for the verdict, and its family in *domain; -1 if not an inet socket. */
static int socket_kind(int fd, int *domain)
{
    *domain = socket_int(fd, SOL_SOCKET, SO_DOMAIN, -1);
    if (*domain != AF_INET && *domain != AF_INET6)
        return -1;
    switch (socket_int(fd, SOL_SOCKET, SO_PROTOCOL, -1)) {
    case IPPROTO_TCP:
    case IPPROTO_MPTCP: return VERDICT_TCP_SOCKET;
    case IPPROTO_UDP: return VERDICT_UDP_SOCKET;
    default: return VERDICT_OTHER_SOCKET;
    }
}

void sv_connect(struct supervisor *sv, const struct seccomp_notif *req)
{
    union sockaddr_any raw, dst;
    memset(&raw, 0, sizeof(raw));
    socklen_t len = (socklen_t)req->data.args[2];
    if (len > sizeof(raw)) {
        sv_answer(sv, req->id, -EINVAL);   /* as the kernel: longer than any address */
        return;
    }
    size_t n = len;
    if (n && sv_read((pid_t)req->pid, req->data.args[1], &raw, n) < 0) {
        sv_answer(sv, req->id, -EFAULT);
        return;
    }
    int fd = sv_take_fd(sv, req, (int)req->data.args[0]);
    if (fd < 0) {
        sv_answer(sv, req->id, fd == -ENOENT ? -EINTR : fd);
        return;
    }
    int family, kind = socket_kind(fd, &family);
    if (kind < 0) {
        /* Not an inet socket (unix, netlink...): the kernel refuses an inet address there, and a
         * unix path must be resolved in the program's own root and directory. */
        close(fd);
        sv_continue(sv, req->id);
        return;
    }
    if (addr_read_as_kernel(&dst, &raw.sa, (socklen_t)n, family, true) == ADDR_FORM_INET) {
        judge(sv, req, fd, kind, &dst);
        return;
    }
    /* No destination (AF_UNSPEC: a disconnect) or one the kernel refuses: its own answer, on the
     * copy that was read. */
    int r = connect(fd, &raw.sa, len) < 0 ? -errno : 0;
    close(fd);
    sv_answer(sv, req->id, r);
}
