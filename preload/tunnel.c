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
#include "real.h"

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for events on fd until deadline; 0 when ready, -ETIMEDOUT, or -errno. Signals do not cut it short. */
static int wait_for(int fd, short events, long long deadline)
{
    for (;;) {
        long long left = deadline - now_ms();
        if (left <= 0)
            return -ETIMEDOUT;
        struct pollfd p = { .fd = fd, .events = events };
        int r = poll(&p, 1, left > 60000 ? 60000 : (int)left);
        if (r > 0)
            return 0;
        if (r < 0 && errno != EINTR)
            return -errno;
    }
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
        if (getsockopt(fd, options[i][0], options[i][1], &v, &len) == 0 && v)
            setsockopt(fresh, options[i][0], options[i][1], &v, len);
    }
    int fdflags = fcntl(fd, F_GETFD);
    int r = dup3(fresh, fd, fdflags > 0 && (fdflags & FD_CLOEXEC) ? O_CLOEXEC : 0);
    int err = errno;
    libc()->close(fresh);
    return r < 0 ? -err : 0;
}

/* The socket's family must match the proxy's: an IPv6 socket reaches an IPv4 proxy through a
 * v4-mapped address; otherwise a fresh socket of the proxy's family takes over fd's number. */
static int fit_socket_to_proxy(int fd, const union sockaddr_any *proxy, union sockaddr_any *dst)
{
    int domain = 0, v6only = 0;
    socklen_t len = sizeof(domain);
    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0)
        return -errno;
    *dst = *proxy;
    if (domain == proxy->sa.sa_family)
        return 0;
    len = sizeof(v6only);
    if (domain == AF_INET6 && getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &len) == 0 && !v6only) {
        addr_to_v4mapped(dst);
        return 0;
    }
    return renew_socket(fd, proxy->sa.sa_family);
}

static int connect_to_proxy(int fd, const struct config *c, const struct proxy *first)
{
    union sockaddr_any proxy;
    int r = fit_socket_to_proxy(fd, &first->addr, &proxy);
    if (r < 0)
        return r;
    if (libc()->connect(fd, &proxy.sa, addr_len(&proxy)) == 0)
        return 0;
    if (errno != EINPROGRESS && errno != EINTR)
        return -errno;
    r = wait_for(fd, POLLOUT, now_ms() + c->connect_timeout_ms);
    if (r < 0)
        return r;
    int soerr = 0;
    socklen_t len = sizeof(soerr);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
        return -errno;
    return -soerr;
}

/* One step of I/O for the machine; 0 to go on, -errno to stop (the machine records it). */
static int drive_step(int fd, struct handshake *h, long long deadline)
{
    uint8_t buf[SOCKS5_MSG_MAX];
    ssize_t n;
    if (handshake_status(h) == HANDSHAKE_WRITE) {
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
    if (errno != EAGAIN && errno != EWOULDBLOCK)
        return -errno;
    return wait_for(fd, handshake_status(h) == HANDSHAKE_WRITE ? POLLOUT : POLLIN, deadline);
}

static int run_handshake(int fd, const struct config *c, struct handshake *h)
{
    long long deadline = now_ms() + c->handshake_timeout_ms;
    for (;;) {
        enum handshake_status s = handshake_status(h);
        if (s == HANDSHAKE_DONE)
            return 0;
        if (s == HANDSHAKE_FAILED)
            return -handshake_error(h);
        int r = drive_step(fd, h, deadline);
        if (r < 0)
            handshake_abort(h, -r);
    }
}

/* One attempt through the proxies t->picked: connect to the first, then the whole handshake. */
static int attempt(int fd, const struct config *c, const struct socks_target *target, struct tunnel *t)
{
    const struct proxy *hops[PROXY_CHAIN_MAX];
    for (size_t i = 0; i < t->hop_count; i++)
        hops[i] = &c->proxies[t->picked[i]];
    struct handshake *h = &t->handshake;
    t->proxy_tried = t->proxy_connected = false;
    if (handshake_start_chain(h, hops, t->hop_count, target) < 0)
        return -handshake_error(h);
    if (!hops[0]->has_addr) {
        handshake_abort(h, EHOSTUNREACH);
        return -EHOSTUNREACH;
    }
    t->proxy_tried = true;
    int r = connect_to_proxy(fd, c, hops[0]);
    t->proxy_connected = r == 0;
    if (r < 0)
        handshake_abort(h, -r);
    else
        r = run_handshake(fd, c, h);
    return r;
}

/* The proxy an attempt's failure is blamed on (an index into config.proxies), or -1. */
static long blamed_proxy(const struct tunnel *t)
{
    /* A target the chain cannot carry is nobody's failure: no proxy was even tried. */
    if (!t->proxy_tried)
        return -1;
    if (!t->proxy_connected)
        return (long)t->picked[0];
    int hop = handshake_blame(&t->handshake);
    return hop < 0 ? -1 : (long)t->picked[hop];
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

int tunnel_open(int fd, const struct config *c, const struct chain *ch, const struct socks_target *target,
                struct tunnel *t)
{
    memset(t, 0, sizeof(*t));
    struct chain_health *health = context_health();
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0)
        return -errno;
    if (!(flags & O_NONBLOCK) && fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
        return -errno;
    size_t tries = chain_attempts(ch);
    int r = -ECONNREFUSED;
    for (t->attempts = 0; t->attempts < tries; t->attempts++) {
        long long now = now_ms();
        t->hop_count = chain_pick(c, ch, health, now, random_state(), t->picked);
        /* A used socket cannot connect again: a retry starts on a fresh one. */
        if (t->attempts > 0 && (r = renew_socket(fd, c->proxies[t->picked[0]].addr.sa.sa_family)) < 0)
            break;
        r = attempt(fd, c, target, t);
        long culprit = r < 0 ? blamed_proxy(t) : -1;
        if (r == 0 || culprit < 0)
            break;
        chain_mark_down(health, (size_t)culprit, now + c->proxy_retry_ms);
        if (ch->mode != CHAIN_STRICT && log_enabled(LOG_WARN) && t->attempts + 1 < tries) {
            char phase[PROXY_HOST_MAX + 96];
            log_msg(LOG_WARN, "chain %s: proxy %s failed (%s: %s); skipped for %d s, trying again", ch->name,
                    c->proxies[culprit].name, tunnel_phase(c, t, phase, sizeof(phase)), strerror(-r),
                    c->proxy_retry_ms / 1000);
        }
    }
    /* fd may be a fresh socket now; restore the program's mode on whatever it holds. */
    fcntl(fd, F_SETFL, flags);
    return r;
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
