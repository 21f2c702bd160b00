#include "tunnel.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chain.h"
#include "context.h"
#include "log.h"
#include "libc.h"
#include "descriptor.h"
#include "tunnels.h"

long long tunnel_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int tunnel_replace_fd(int file, int fd)
{
    int fdflags = libc()->fcntl(fd, F_GETFD);
    return dup3(file, fd, fdflags > 0 && (fdflags & FD_CLOEXEC) ? O_CLOEXEC : 0);
}

/* A fresh socket of family takes over fd's number (keeping close-on-exec and the options
 * programs commonly set); the old one is closed by dup3. */
static int renew_socket(int fd, int family)
{
    int fresh = socket(family, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fresh < 0)
        return -errno;
    static const int options[][2] = { { SOL_SOCKET, SO_KEEPALIVE }, { IPPROTO_TCP, TCP_NODELAY } };
    for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
        int v = 0;
        socklen_t len = sizeof(v);
        if (libc()->getsockopt(fd, options[i][0], options[i][1], &v, &len) == 0 && v)
            libc()->setsockopt(fresh, options[i][0], options[i][1], &v, len);
    }
    int r = tunnel_replace_fd(fresh, fd);
    int err = errno;
    libc()->close(fresh);
    return r < 0 ? -err : 0;
}

/* The socket's family must match the proxy's: an IPv6 socket reaches an IPv4 proxy through a
 * v4-mapped address; otherwise a fresh socket of the proxy's family takes over fd's number. */
static int fit_socket_to_proxy(int fd, const union sockaddr_any *proxy, union sockaddr_any *dst)
{
    int domain = socket_int(fd, SOL_SOCKET, SO_DOMAIN, -1);
    if (domain < 0)
        return -errno;
    *dst = *proxy;
    if (domain == proxy->sa.sa_family)
        return 0;
    if (domain == AF_INET6 && socket_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1) == 0) {
        addr_to_v4mapped(dst);
        return 0;
    }
    return renew_socket(fd, proxy->sa.sa_family);
}

/* Starts the non-blocking TCP connect to the first proxy: 0 when connected, POLLOUT to wait, -errno. */
static int connect_to_proxy(struct tunnel *t, const struct proxy *first)
{
    union sockaddr_any proxy;
    int r = fit_socket_to_proxy(t->fd, &first->addr, &proxy);
    if (r < 0)
        return r;
    if (libc()->connect(t->fd, &proxy.sa, addr_len(&proxy)) == 0)
        return 0;
    return errno == EINPROGRESS || errno == EINTR ? POLLOUT : -errno;
}

/* The connect to the first proxy is over (the socket said so): 0 or -errno. */
static int proxy_connect_result(int fd)
{
    int soerr = 0;
    socklen_t len = sizeof(soerr);
    if (libc()->getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
        return -errno;
    return -soerr;
}

void tunnel_register(int fd, const union sockaddr_any *dst, const struct tunnel *t)
{
    const struct handshake *h = &t->handshake;
    const struct socks_target *b = &h->reply.bound;
    bool known = t->done && t->command == SOCKS5_CMD_CONNECT && h->hops[t->hop_count - 1]->kind == PROXY_SOCKS5 &&
                 !b->is_name && !addr_is_this_host(&b->addr) && addr_port(&b->addr) != 0;
    tunnels_add(fd, dst, known ? &b->addr : NULL);
}

int tunnel_step(int fd, struct handshake *h)
{
    uint8_t buf[SOCKS5_MSG_MAX];
    ssize_t n;
    bool writing = handshake_status(h) == HANDSHAKE_WRITE;
    if (writing) {
        size_t len;
        const uint8_t *out = handshake_output(h, &len);
        n = libc()->sendto(fd, out, len, MSG_NOSIGNAL, NULL, 0);
        if (n >= 0)
            handshake_sent(h, (size_t)n);
    } else {
        size_t want = handshake_wants(h);
        n = libc()->recvfrom(fd, buf, want < sizeof(buf) ? want : sizeof(buf), 0, NULL, NULL);
        if (n == 0)
            handshake_eof(h);
        else if (n > 0)
            handshake_feed(h, buf, (size_t)n);
    }
    if (n >= 0 || errno == EINTR)
        return 0;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
        return writing ? POLLOUT : POLLIN;
    return -errno;
}

/* The proxy an attempt's failure is blamed on (an index into config.proxies), or -1. */
static long blamed_proxy(const struct tunnel *t)
{
    int hop = t->proxy_connected ? handshake_blame(&t->handshake) : -1;
    return chain_blame(t->picked, t->proxy_tried, t->proxy_connected, hop);
}

static uint64_t *random_state(void)
{
    static __thread uint64_t state __attribute__((tls_model("initial-exec")));
    if (!state) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        state = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 40) ^ (uintptr_t)&ts;
    }
    return &state;
}

/* Starts attempt number t->attempts: picks the proxies, checks the target, connects to the first. */
static int start_attempt(struct tunnel *t)
{
    const struct config *c = t->config;
    long long now = tunnel_now_ms();
    t->hop_count = chain_pick(c, t->chain, context_health(), now, random_state(), t->picked);
    t->proxy_tried = t->proxy_connected = false;
    /* A used socket cannot connect again: a retry starts on a fresh one. */
    if (t->attempts++ > 0) {
        int r = renew_socket(t->fd, c->proxies[t->picked[0]].addr.sa.sa_family);
        if (r < 0)
            return r;
    }
    const struct proxy *hops[PROXY_CHAIN_MAX];
    for (size_t i = 0; i < t->hop_count; i++)
        hops[i] = &c->proxies[t->picked[i]];
    struct handshake *h = &t->handshake;
    if (handshake_start_command(h, hops, t->hop_count, &t->target, t->command) < 0)
        return -handshake_error(h);
    if (!hops[0]->has_addr)
        return -EHOSTUNREACH;
    t->proxy_tried = true;
    t->deadline_ms = now + c->connect_timeout_ms;
    return connect_to_proxy(t, hops[0]);
}

/* An attempt failed with err: marks the culprit down and starts the next attempt if the chain
 * allows one; otherwise the tunnel has failed. Returns as tunnel_advance. */
static int attempt_failed(struct tunnel *t, int err)
{
    handshake_abort(&t->handshake, err);
    /* The machine may know better what the failure means (a reset during GSSAPI is a refusal). */
    if (handshake_error(&t->handshake))
        err = handshake_error(&t->handshake);
    long culprit = blamed_proxy(t);
    const struct chain *ch = t->chain;
    if (culprit >= 0)
        chain_mark_down(context_health(), (size_t)culprit, tunnel_now_ms() + t->config->proxy_retry_ms);
    if (!chain_retries(ch, t->attempts, culprit)) {
        t->error = err;
        return -err;
    }
    if (log_enabled(LOG_WARN)) {
        char phase[PROXY_HOST_MAX + 96];
        log_msg(LOG_WARN, "chain %s: proxy %s failed (%s: %s); skipped for %.1f s, trying again", ch->name,
                t->config->proxies[culprit].name, tunnel_phase(t->config, t, phase, sizeof(phase)), strerror(err),
                t->config->proxy_retry_ms / 1000.0);
    }
    int r = start_attempt(t);
    return r < 0 ? attempt_failed(t, -r) : tunnel_advance(t);
}

static int begin(struct tunnel *t, int fd, const struct config *c, const struct chain *ch,
                 const struct socks_target *target, enum socks5_command cmd)
{
    memset(t, 0, sizeof(*t));
    t->fd = fd;
    t->command = cmd;
    t->config = c;
    t->chain = ch;
    t->target = *target;
    int r = start_attempt(t);
    if (r < 0)
        return attempt_failed(t, -r);
    return r == 0 ? tunnel_advance(t) : r;
}

int tunnel_begin(struct tunnel *t, int fd, const struct config *c, const struct chain *ch,
                 const struct socks_target *target)
{
    return begin(t, fd, c, ch, target, SOCKS5_CMD_CONNECT);
}

int tunnel_advance(struct tunnel *t)
{
    if (t->done)
        return 0;
    if (t->error)
        return -t->error;
    if (!t->proxy_connected) {
        /* Writable means the connect is over, either way; SO_ERROR then says which way. */
        struct pollfd p = { .fd = t->fd, .events = POLLOUT };
        if (libc()->poll(&p, 1, 0) == 0)
            return POLLOUT;
        int r = proxy_connect_result(t->fd);
        if (r < 0)
            return attempt_failed(t, -r);
        t->proxy_connected = true;
        t->deadline_ms = tunnel_now_ms() + t->config->handshake_timeout_ms;
    }
    for (;;) {
        struct handshake *h = &t->handshake;
        if (handshake_status(h) == HANDSHAKE_DONE) {
            t->done = true;
            return 0;
        }
        if (handshake_status(h) == HANDSHAKE_FAILED)
            return attempt_failed(t, handshake_error(h));
        int r = tunnel_step(t->fd, h);
        if (r < 0)
            return attempt_failed(t, -r);
        if (r > 0)
            return r;
    }
}

int tunnel_expire(struct tunnel *t)
{
    if (t->done || t->error)
        return tunnel_advance(t);
    return attempt_failed(t, ETIMEDOUT);
}

/* Waits for events on fd until deadline; 0 when ready or the deadline passed, -errno. Signals do not cut it short. */
static int wait_for(int fd, short events, long long deadline)
{
    for (;;) {
        long long left = deadline - tunnel_now_ms();
        if (left <= 0)
            return 0;
        struct pollfd p = { .fd = fd, .events = events };
        int r = libc()->poll(&p, 1, left > 60000 ? 60000 : (int)left);
        if (r > 0)
            return 0;
        if (r < 0 && errno != EINTR)
            return -errno;
    }
}

int tunnel_open_command(int fd, const struct config *c, const struct chain *ch, const struct socks_target *target,
                        enum socks5_command cmd, struct tunnel *t)
{
    int flags = libc()->fcntl(fd, F_GETFL);
    if (flags < 0)
        return -errno;
    if (!(flags & O_NONBLOCK) && libc()->fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
        return -errno;
    int r = begin(t, fd, c, ch, target, cmd);
    while (r > 0) {
        int w = wait_for(fd, (short)r, t->deadline_ms);
        if (w < 0)
            r = attempt_failed(t, -w);
        else if (tunnel_now_ms() >= t->deadline_ms)
            r = tunnel_expire(t);
        else
            r = tunnel_advance(t);
    }
    /* fd may be a fresh socket now; restore the program's mode on whatever it holds. */
    libc()->fcntl(fd, F_SETFL, flags);
    return r;
}

int tunnel_open(int fd, const struct config *c, const struct chain *ch, const struct socks_target *target,
                struct tunnel *t)
{
    return tunnel_open_command(fd, c, ch, target, SOCKS5_CMD_CONNECT, t);
}

const char *tunnel_phase(const struct config *c, const struct tunnel *t, char *buf, size_t size)
{
    if (!t->proxy_tried)
        return "start";
    if (!t->proxy_connected)
        return "proxy connect";
    const struct handshake *h = &t->handshake;
    if (t->hop_count <= 1)
        return handshake_step_name(h);
    char url[PROXY_HOST_MAX + PROXY_CRED_MAX + 32];
    snprintf(buf, size, "hop %zu (%s) %s", h->hop + 1, proxy_format(&c->proxies[t->picked[h->hop]], url, sizeof(url)),
             handshake_step_name(h));
    return buf;
}

char *tunnel_path(const struct config *c, const struct tunnel *t, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < t->hop_count && used < size; i++) {
        char url[PROXY_HOST_MAX + PROXY_CRED_MAX + 32];
        int n = snprintf(buf + used, size - used, "%s%s", i ? " -> " : "",
                         proxy_format(&c->proxies[t->picked[i]], url, sizeof(url)));
        if (n < 0)
            break;
        used += (size_t)n;
    }
    return buf;
}

static double elapsed_ms(const struct timespec *start)
{
    struct timespec end;
    clock_gettime(CLOCK_MONOTONIC, &end);
    return (double)(end.tv_sec - start->tv_sec) * 1e3 + (double)(end.tv_nsec - start->tv_nsec) / 1e6;
}

void tunnel_log_result(const struct config *c, const char *target, const struct chain *ch, const struct tunnel *t,
                         int err, const struct timespec *start)
{
    enum log_level level = err ? LOG_ERROR : LOG_INFO;
    if (!log_enabled(level))
        return;
    char path[PROXY_CHAIN_MAX * (PROXY_HOST_MAX + 40)], phase[PROXY_HOST_MAX + 96], via[PROXY_NAME_MAX + 16] = "";
    tunnel_path(c, t, path, sizeof(path));
    if (ch->hop_count > 1 || ch->line == 0 || strcmp(ch->name, "default") != 0)
        snprintf(via, sizeof(via), "%s ", ch->name);
    const char *verb = t->command == SOCKS5_CMD_UDP_ASSOCIATE ? "UDP association for"
                       : t->command == SOCKS5_CMD_BIND ? "BIND for a peer at" : "connect";
    if (err) {
        const char *detail = t->handshake.detail;
        log_msg(level, "%s %s via %s%s: failed during %s: %s%s%s%s (%.1f ms)", verb, target, via, path,
                tunnel_phase(c, t, phase, sizeof(phase)), strerror(err), detail[0] ? " (proxy said: " : "", detail,
                detail[0] ? ")" : "", elapsed_ms(start));
        return;
    }
    log_msg(level, "%s %s via %s%s: ok (%.1f ms)", verb, target, via, path, elapsed_ms(start));
    if (log_enabled(LOG_DEBUG) && t->command == SOCKS5_CMD_CONNECT && t->handshake.hops[t->hop_count - 1]->kind == PROXY_SOCKS5) {
        char bound[ADDR_TEXT_MAX];
        const struct socks_target *b = &t->handshake.reply.bound;
        log_msg(LOG_DEBUG, "connect %s: the proxy's side of the tunnel is %s", target,
                b->is_name ? b->name : addr_format(&b->addr, bound, sizeof(bound)));
    }
}
