#include "tunnel.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

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
    int fresh = socket(proxy->sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fresh < 0)
        return -errno;
    int fdflags = fcntl(fd, F_GETFD);
    int r = dup3(fresh, fd, fdflags > 0 && (fdflags & FD_CLOEXEC) ? O_CLOEXEC : 0);
    int err = errno;
    libc()->close(fresh);
    return r < 0 ? -err : 0;
}

static int connect_to_proxy(int fd, const struct config *c)
{
    union sockaddr_any proxy;
    int r = fit_socket_to_proxy(fd, &c->proxy.addr, &proxy);
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

int tunnel_open(int fd, const struct config *c, const struct socks_target *target, struct tunnel *t)
{
    struct handshake *h = &t->handshake;
    t->proxy_connected = false;
    if (handshake_start(h, &c->proxy, target) < 0)
        return -handshake_error(h);
    if (!c->proxy.has_addr) {
        handshake_abort(h, EHOSTUNREACH);
        return -EHOSTUNREACH;
    }
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0)
        return -errno;
    if (!(flags & O_NONBLOCK) && fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
        return -errno;
    int r = connect_to_proxy(fd, c);
    t->proxy_connected = r == 0;
    if (r < 0)
        handshake_abort(h, -r);
    else
        r = run_handshake(fd, c, h);
    /* fd may be a fresh socket now; restore the program's mode on whatever it holds. */
    fcntl(fd, F_SETFL, flags);
    return r;
}

const char *tunnel_phase(const struct tunnel *t)
{
    return t->proxy_connected ? handshake_step_name(&t->handshake) : "proxy connect";
}
