/* Non-blocking connect() cases for the socksify integration tests (test_eventloops.py compiles
 * this with cc into the test's temp dir and runs it under socksify, in C, against T's echo server
 * through fakeproxy.py's delaying relay).
 *
 * usage: epoll_cases CASE HOST PORT DELAY [COUNT | ERRNO]
 *   CASE   et-before | lt-after | oneshot | poll | select | pending | sockopt | close-pending | many
 *          | fail-epoll | fail-poll
 *   HOST PORT   the echo server (a literal IPv4 address); DELAY  the relay's delay in seconds
 *   COUNT  connections for "many" (default 100)
 *   ERRNO  for fail-*: the errno name SO_ERROR must give (the proxy makes the connection fail);
 *          DELAY is then when the failure is due (e.g. the handshake_timeout)
 *
 * What socksify promises for a non-blocking socket routed via a proxy: connect() returns
 * -1/EINPROGRESS at once; the descriptor becomes writable only when the tunnel to the target is
 * up (so never before DELAY has passed), then SO_ERROR is 0 and getpeername() gives the target.
 * While pending: connect() -> EALREADY, send/recv -> EAGAIN, getpeername -> ENOTCONN;
 * getsockname/getsockopt/setsockopt/fcntl work. connect() again once it is up: 0 or EISCONN.
 *
 * Output: one line per check, "ok ...", "FAIL ..." or "SYNC ..." (connect() finished the
 * handshake before returning: correct, but serial; the pending-only checks are then skipped),
 * "SLOW ..." (a bound on wall time missed). Exit status: 0 all ok; 1 a FAIL; 10 no FAIL, but
 * SYNC or SLOW lines (what socksify without its non-blocking engine gives); 2 usage.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "cases.h"

#define LATE_S 1.0    /* readiness later than DELAY + this: the wakeup was missed */
#define CLOSE_S 0.3   /* close() must not block */
#define WAIT_S 3      /* how long a case waits for readiness (well past DELAY + LATE_S) */
#define WAIT_MS (WAIT_S * 1000)

static struct sockaddr_in target;
static double delay_s;
static int n_sync, n_slow;

#define SYNC(...) (n_sync++, say("SYNC", __VA_ARGS__))
#define SLOW(...) (n_slow++, say("SLOW", __VA_ARGS__))

static const char *ename(int e)
{
    static char buf[32];
    switch (e) {
    case 0: return "0";
    case EINPROGRESS: return "EINPROGRESS";
    case EALREADY: return "EALREADY";
    case EAGAIN: return "EAGAIN";
    case ENOTCONN: return "ENOTCONN";
    case EISCONN: return "EISCONN";
    case ECONNREFUSED: return "ECONNREFUSED";
    case ETIMEDOUT: return "ETIMEDOUT";
    case ECONNRESET: return "ECONNRESET";
    case EPIPE: return "EPIPE";
    case ENETUNREACH: return "ENETUNREACH";
    case EHOSTUNREACH: return "EHOSTUNREACH";
    case EBADF: return "EBADF";
    case EINVAL: return "EINVAL";
    case EPROTO: return "EPROTO";
    case EACCES: return "EACCES";
    default: snprintf(buf, sizeof(buf), "errno %d", e); return buf;
    }
}

static int new_socket(int how)   /* how: 0 SOCK_NONBLOCK, 1 fcntl O_NONBLOCK */
{
    int fd = socket(AF_INET, SOCK_STREAM | (how == 0 ? SOCK_NONBLOCK : 0), 0);
    if (fd < 0) {
        FAIL("socket: %s", strerror(errno));
        exit(1);
    }
    if (how == 1 && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
        FAIL("fcntl O_NONBLOCK: %s", strerror(errno));
        exit(1);
    }
    return fd;
}

/* connect(); returns 1 if pending (EINPROGRESS at once), 0 if it completed inside connect()
 * (SYNC), -1 on an error (FAIL). *t0 is when connect() was called. */
static int start_connect(int fd, double *t0, int quiet)
{
    *t0 = now();
    int r = connect(fd, (struct sockaddr *)&target, sizeof(target));
    int e = errno;
    double took = now() - *t0;
    if (r < 0 && e == EINPROGRESS) {
        if (took > delay_s / 2)
            SLOW("connect() returned EINPROGRESS after %.3fs, not at once (the relay takes %.2fs)", took, delay_s);
        else if (!quiet)
            OK("connect() -> EINPROGRESS in %.4fs", took);
        return 1;
    }
    if (r == 0) {
        if (!quiet || n_sync == 0)
            SYNC("connect() returned 0 after %.3fs: the handshake ran inside connect(), expected -1/EINPROGRESS at once", took);
        else
            n_sync++;
        return 0;
    }
    FAIL("connect() -> %s after %.3fs, expected EINPROGRESS", ename(e), took);
    return -1;
}

static int so_error(int fd)
{
    int err = -1;
    socklen_t len = sizeof(err);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        return -errno;
    return err;
}

/* close() returns at once, whatever socksify has to tidy up. */
static void timed_close(int fd, const char *how)
{
    double t = now();
    int r = close(fd);
    t = now() - t;
    if (r < 0)
        FAIL("%s: close() -> %s", how, ename(errno));
    else if (t > CLOSE_S)
        FAIL("%s: close() took %.3fs", how, t);
}

static int same_target(const struct sockaddr_in *a)
{
    return a->sin_family == AF_INET && a->sin_port == target.sin_port && a->sin_addr.s_addr == target.sin_addr.s_addr;
}

/* The descriptor just reported writable: the tunnel must be up (not before the relay's delay),
 * SO_ERROR 0, getpeername the target. Returns 0 if so. */
static int check_up(int fd, double t0, const char *how)
{
    double at = now() - t0;
    int bad = 0;
    if (at < delay_s * 0.9) {
        FAIL("%s reported the socket ready %.3fs after connect(), before the proxy could have reached the target (%.2fs)", how, at, delay_s);
        bad = 1;
    } else if (at > delay_s + LATE_S) {
        FAIL("%s reported the socket ready only %.3fs after connect() (the relay takes %.2fs): the wakeup came late", how, at, delay_s);
        bad = 1;
    }
    int err = so_error(fd);
    if (err != 0) {
        FAIL("%s: ready, but SO_ERROR is %s", how, err < 0 ? strerror(-err) : ename(err));
        bad = 1;
    }
    struct sockaddr_in peer;
    socklen_t len = sizeof(peer);
    memset(&peer, 0, sizeof(peer));
    if (getpeername(fd, (struct sockaddr *)&peer, &len) < 0) {
        FAIL("%s: ready, but getpeername() -> %s", how, ename(errno));
        bad = 1;
    } else if (!same_target(&peer)) {
        char a[64];
        inet_ntop(AF_INET, &peer.sin_addr, a, sizeof(a));
        FAIL("%s: getpeername() gave %s:%d, expected the target", how, a, ntohs(peer.sin_port));
        bad = 1;
    }
    if (!bad)
        OK("%s: ready after %.3fs, SO_ERROR 0, getpeername the target", how, at);
    return bad ? -1 : 0;
}

/* Waits (poll) for events on fd until the deadline; returns revents or 0 on timeout. */
static short wait_fd(int fd, short events, double seconds)
{
    double end = now() + seconds;
    for (;;) {
        double left = end - now();
        if (left <= 0)
            return 0;
        struct pollfd p = { .fd = fd, .events = events };
        int r = poll(&p, 1, (int)(left * 1000) + 1);
        if (r > 0)
            return p.revents;
        if (r < 0 && errno != EINTR)
            return POLLNVAL;
    }
}

/* Sends a payload and reads it back. 0 if the echo matched. */
static int echo(int fd, const char *how)
{
    char payload[96], got[96];
    int n = snprintf(payload, sizeof(payload), "%s fd %d pid %d %ld\n", cur_case, fd, (int)getpid(), random());
    int sent = 0, have = 0;
    while (sent < n) {
        if (!(wait_fd(fd, POLLOUT, WAIT_S) & POLLOUT)) {
            FAIL("%s: echo: not writable", how);
            return -1;
        }
        ssize_t w = send(fd, payload + sent, (size_t)(n - sent), MSG_NOSIGNAL);
        if (w < 0 && errno != EAGAIN && errno != EINTR) {
            FAIL("%s: echo: send -> %s", how, ename(errno));
            return -1;
        }
        if (w > 0)
            sent += (int)w;
    }
    while (have < n) {
        if (!(wait_fd(fd, POLLIN, WAIT_S) & (POLLIN | POLLHUP | POLLERR))) {
            FAIL("%s: echo: nothing came back within %ds", how, WAIT_S);
            return -1;
        }
        ssize_t r = recv(fd, got + have, (size_t)(n - have), 0);
        if (r < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (r <= 0) {
            FAIL("%s: echo: recv -> %s after %d bytes", how, r < 0 ? ename(errno) : "EOF", have);
            return -1;
        }
        have += (int)r;
    }
    if (memcmp(got, payload, (size_t)n) != 0) {
        FAIL("%s: echo: got %.*s, sent %.*s", how, have, got, n, payload);
        return -1;
    }
    OK("%s: echo matched", how);
    return 0;
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    if (!d)
        return -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1;   /* opendir's own descriptor */
}

static void list_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[300], link[256];
        snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
        ssize_t n = readlink(path, link, sizeof(link) - 1);
        link[n > 0 ? n : 0] = '\0';
        printf("  fd %s -> %s\n", e->d_name, link);
    }
    closedir(d);
}

/* ----- the cases ----- */

/* Edge-triggered epoll, registered before connect(): exactly one EPOLLOUT, after the tunnel is up. */
static void case_et_before(void)
{
    int fd = new_socket(0);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.fd = fd };
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
        FAIL("epoll_ctl ADD before connect: %s", strerror(errno));
        return;
    }
    double t0;
    if (start_connect(fd, &t0, 0) < 0)
        return;
    int outs = 0;
    double end = t0 + WAIT_S;
    while (!outs && now() < end) {
        struct epoll_event got[4];
        int n = epoll_wait(ep, got, 4, (int)((end - now()) * 1000) + 1);
        for (int i = 0; i < n; i++) {
            if (got[i].events & (EPOLLERR | EPOLLHUP | EPOLLRDHUP | EPOLLIN)) {
                FAIL("edge-triggered epoll reported events 0x%x %.3fs after connect() (expected EPOLLOUT alone)",
                     got[i].events, now() - t0);
                return;
            }
            if (got[i].events & EPOLLOUT)
                outs++;
        }
    }
    if (!outs) {
        FAIL("no EPOLLOUT within %ds (edge-triggered, registered before connect())", WAIT_S);
        return;
    }
    if (check_up(fd, t0, "epoll ET registered before connect") < 0)
        return;
    struct epoll_event more[4];
    int n = epoll_wait(ep, more, 4, 300);
    if (n != 0)
        FAIL("edge-triggered epoll reported a second event (0x%x) with nothing new on the socket", n > 0 ? more[0].events : 0);
    else
        OK("exactly one EPOLLOUT edge (nothing more within 0.3s)");
    echo(fd, "epoll ET");
    timed_close(fd, "close");
    close(ep);
}

/* Level-triggered epoll registered after connect(): EPOLLOUT when the tunnel is up, and again (level). */
static void case_lt_after(void)
{
    int fd = new_socket(0);
    double t0;
    if (start_connect(fd, &t0, 0) < 0)
        return;
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = { .events = EPOLLOUT, .data.fd = fd };
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
        FAIL("epoll_ctl ADD after connect: %s", strerror(errno));
        return;
    }
    struct epoll_event got;
    int n = epoll_wait(ep, &got, 1, WAIT_MS);
    if (n != 1 || !(got.events & EPOLLOUT) || (got.events & (EPOLLERR | EPOLLHUP))) {
        FAIL("level-triggered epoll_wait -> %d, events 0x%x (expected EPOLLOUT)", n, n == 1 ? got.events : 0);
        return;
    }
    if (check_up(fd, t0, "epoll LT registered after connect") < 0)
        return;
    n = epoll_wait(ep, &got, 1, 0);
    if (n != 1 || !(got.events & EPOLLOUT))
        FAIL("level-triggered epoll did not report EPOLLOUT again (-> %d)", n);
    else
        OK("level-triggered: EPOLLOUT again");
    echo(fd, "epoll LT");
    timed_close(fd, "close");
    close(ep);
}

/* EPOLLONESHOT: one event, then silence until re-armed; re-armed for EPOLLIN it reports the echo. */
static void case_oneshot(void)
{
    int fd = new_socket(0);
    double t0;
    if (start_connect(fd, &t0, 0) < 0)
        return;
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = { .events = EPOLLOUT | EPOLLONESHOT, .data.fd = fd };
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    struct epoll_event got;
    int n = epoll_wait(ep, &got, 1, WAIT_MS);
    if (n != 1 || !(got.events & EPOLLOUT) || (got.events & (EPOLLERR | EPOLLHUP))) {
        FAIL("EPOLLONESHOT epoll_wait -> %d, events 0x%x (expected EPOLLOUT)", n, n == 1 ? got.events : 0);
        return;
    }
    if (check_up(fd, t0, "epoll EPOLLONESHOT") < 0)
        return;
    n = epoll_wait(ep, &got, 1, 300);
    if (n != 0)
        FAIL("EPOLLONESHOT reported again (0x%x) before being re-armed", got.events);
    else
        OK("EPOLLONESHOT: silent until re-armed");
    char payload[] = "oneshot re-armed\n", buf[64];
    ev.events = EPOLLIN | EPOLLONESHOT;
    if (epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev) < 0) {
        FAIL("epoll_ctl MOD: %s", strerror(errno));
        return;
    }
    if (send(fd, payload, strlen(payload), MSG_NOSIGNAL) != (ssize_t)strlen(payload)) {
        FAIL("send -> %s", ename(errno));
        return;
    }
    n = epoll_wait(ep, &got, 1, WAIT_MS);
    if (n != 1 || !(got.events & EPOLLIN)) {
        FAIL("re-armed EPOLLIN: epoll_wait -> %d", n);
        return;
    }
    size_t have = 0;
    while (have < strlen(payload)) {
        ssize_t r = recv(fd, buf + have, sizeof(buf) - have, 0);
        if (r < 0 && errno == EAGAIN && (wait_fd(fd, POLLIN, WAIT_S) & POLLIN))
            continue;
        if (r <= 0)
            break;
        have += (size_t)r;
    }
    if (have != strlen(payload) || memcmp(buf, payload, have) != 0)
        FAIL("re-armed EPOLLIN: echo wrong (%zu bytes)", have);
    else
        OK("re-armed EPOLLIN: echo matched");
    timed_close(fd, "close");
    close(ep);
}

/* poll() and ppoll(). */
static void case_poll(void)
{
    for (int which = 0; which < 2; which++) {
        const char *how = which ? "ppoll" : "poll";
        int fd = new_socket(which);
        double t0;
        if (start_connect(fd, &t0, 0) < 0)
            return;
        struct pollfd p = { .fd = fd, .events = POLLOUT };
        int n;
        if (which) {
            struct timespec ts = { WAIT_S, 0 };
            sigset_t none;
            sigemptyset(&none);
            n = ppoll(&p, 1, &ts, &none);
        } else {
            n = poll(&p, 1, WAIT_MS);
        }
        if (n != 1 || !(p.revents & POLLOUT) || (p.revents & (POLLERR | POLLHUP | POLLNVAL))) {
            FAIL("%s -> %d, revents 0x%x (expected POLLOUT)", how, n, p.revents);
            return;
        }
        if (check_up(fd, t0, how) == 0)
            echo(fd, how);
        timed_close(fd, "close");
    }
}

/* select() and pselect(). */
static void case_select(void)
{
    for (int which = 0; which < 2; which++) {
        const char *how = which ? "pselect" : "select";
        int fd = new_socket(which);
        double t0;
        if (start_connect(fd, &t0, 0) < 0)
            return;
        fd_set w, x;
        FD_ZERO(&w);
        FD_ZERO(&x);
        FD_SET(fd, &w);
        FD_SET(fd, &x);
        int n;
        if (which) {
            struct timespec ts = { WAIT_S, 0 };
            n = pselect(fd + 1, NULL, &w, &x, &ts, NULL);
        } else {
            struct timeval tv = { WAIT_S, 0 };
            n = select(fd + 1, NULL, &w, &x, &tv);
        }
        if (n != 1 || !FD_ISSET(fd, &w)) {
            FAIL("%s -> %d, writable %d, exception %d (expected writable)", how, n, FD_ISSET(fd, &w), FD_ISSET(fd, &x));
            return;
        }
        if (check_up(fd, t0, how) == 0)
            echo(fd, how);
        timed_close(fd, "close");
    }
}

/* While pending: connect -> EALREADY, send/recv -> EAGAIN, getpeername -> ENOTCONN; the
 * calls on the real socket work. After: getpeername the target, connect -> 0 or EISCONN and the
 * tunnel still echoes. */
static void case_pending(void)
{
    int fd = new_socket(0);
    double t0;
    int st = start_connect(fd, &t0, 0);
    if (st < 0)
        return;
    if (st == 1) {
        int r = connect(fd, (struct sockaddr *)&target, sizeof(target));
        if (r == -1 && errno == EALREADY)
            OK("second connect() while pending -> EALREADY");
        else
            FAIL("second connect() while pending -> %s, expected EALREADY", r == 0 ? "0" : ename(errno));
        r = (int)send(fd, "x", 1, MSG_NOSIGNAL);
        if (r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
            OK("send() while pending -> EAGAIN");
        else
            FAIL("send() while pending -> %s, expected EAGAIN", r >= 0 ? "success (the byte went into the handshake?)" : ename(errno));
        char c;
        r = (int)recv(fd, &c, 1, 0);
        if (r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
            OK("recv() while pending -> EAGAIN");
        else
            FAIL("recv() while pending -> %s, expected EAGAIN", r >= 0 ? "data (the proxy's reply?)" : ename(errno));
        struct sockaddr_in a;
        socklen_t len = sizeof(a);
        r = getpeername(fd, (struct sockaddr *)&a, &len);
        if (r == -1 && errno == ENOTCONN)
            OK("getpeername() while pending -> ENOTCONN");
        else
            FAIL("getpeername() while pending -> %s, expected ENOTCONN", r == 0 ? "an address" : ename(errno));
        len = sizeof(a);
        r = getsockname(fd, (struct sockaddr *)&a, &len);
        if (r == 0 && a.sin_family == AF_INET)
            OK("getsockname() while pending works");
        else
            FAIL("getsockname() while pending -> %s (family %d)", r ? ename(errno) : "0", a.sin_family);
        int v = 0;
        len = sizeof(v);
        r = getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len);
        if (r == 0 && v == SOCK_STREAM)
            OK("getsockopt(SO_TYPE) while pending works");
        else
            FAIL("getsockopt(SO_TYPE) while pending -> %s, type %d", r ? ename(errno) : "0", v);
        int err = so_error(fd);
        if (err == 0)
            OK("SO_ERROR while pending is 0");
        else
            FAIL("SO_ERROR while pending is %s", err < 0 ? strerror(-err) : ename(err));
        v = 1;
        if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof(v)) == 0)
            OK("setsockopt(SO_KEEPALIVE) while pending works");
        else
            FAIL("setsockopt(SO_KEEPALIVE) while pending -> %s", ename(errno));
        int fl = fcntl(fd, F_GETFL);
        if (fl >= 0 && (fl & O_NONBLOCK))
            OK("fcntl(F_GETFL) while pending shows O_NONBLOCK");
        else
            FAIL("fcntl(F_GETFL) while pending -> %#x (expected O_NONBLOCK set)", fl);
        if (fcntl(fd, F_SETFD, FD_CLOEXEC) == 0 && fcntl(fd, F_GETFD) == FD_CLOEXEC)
            OK("fcntl(F_SETFD, FD_CLOEXEC) while pending works");
        else
            FAIL("fcntl(F_SETFD/F_GETFD) while pending failed");
    } else {
        SYNC("not pending after connect(): EALREADY, EAGAIN, ENOTCONN while pending not checked");
        int v = 1;
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof(v));
    }
    short rev = wait_fd(fd, POLLOUT, WAIT_S);
    if (!(rev & POLLOUT) || (rev & (POLLERR | POLLHUP))) {
        FAIL("poll after pending -> revents 0x%x", rev);
        return;
    }
    if (check_up(fd, t0, "poll after the pending checks") < 0)
        return;
    /* The "connect again to learn the outcome" idiom: Linux answers 0 once the connection is
     * up (the first time), then EISCONN; either way the connection stays as it is. */
    for (int k = 0; k < 2; k++) {
        int r = connect(fd, (struct sockaddr *)&target, sizeof(target));
        if (r == 0 || errno == EISCONN)
            OK("connect() again after the tunnel is up -> %s", r == 0 ? "0" : "EISCONN");
        else
            FAIL("connect() again after the tunnel is up -> %s, expected 0 or EISCONN", ename(errno));
    }
    int v = 0;
    socklen_t len = sizeof(v);
    if (getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &v, &len) == 0 && v)
        OK("SO_KEEPALIVE set while pending is still set");
    else
        FAIL("SO_KEEPALIVE set while pending is gone after connecting");
    echo(fd, "after pending");
    timed_close(fd, "close");
}

/* Options set before connect() survive the handshake; O_NONBLOCK set with fcntl stays set. */
static void case_sockopt(void)
{
    int fd = new_socket(1);
    int rcvbuf = 48 * 1024, one = 1, before = 0, v = 0;
    socklen_t len = sizeof(before);
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) < 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0) {
        FAIL("setsockopt before connect: %s", strerror(errno));
        return;
    }
    getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &before, &len);
    double t0;
    if (start_connect(fd, &t0, 0) < 0)
        return;
    short rev = wait_fd(fd, POLLOUT, WAIT_S);
    if (!(rev & POLLOUT) || (rev & (POLLERR | POLLHUP))) {
        FAIL("poll -> revents 0x%x", rev);
        return;
    }
    if (check_up(fd, t0, "poll") < 0)
        return;
    len = sizeof(v);
    getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, &len);
    if (v == before)
        OK("SO_RCVBUF set before connect() is still %d", v);
    else
        FAIL("SO_RCVBUF was %d before connect(), %d after", before, v);
    v = 0;
    len = sizeof(v);
    getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &len);
    if (v)
        OK("TCP_NODELAY set before connect() is still set");
    else
        FAIL("TCP_NODELAY set before connect() is gone");
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0 && (fl & O_NONBLOCK))
        OK("O_NONBLOCK (set with fcntl) is still set");
    else
        FAIL("O_NONBLOCK is gone after connecting (F_GETFL %#x)", fl);
    echo(fd, "options");
    timed_close(fd, "close");
}

/* A complete connection through poll(); 0 if it worked. */
static int full_connection(int fd, const char *how)
{
    double t0;
    if (start_connect(fd, &t0, 1) < 0)
        return -1;
    short rev = wait_fd(fd, POLLOUT, WAIT_S);
    if (!(rev & POLLOUT) || (rev & (POLLERR | POLLHUP))) {
        FAIL("%s: poll -> revents 0x%x", how, rev);
        return -1;
    }
    if (check_up(fd, t0, how) < 0)
        return -1;
    return echo(fd, how);
}

/* close() while pending: no crash, no leak, no harm to the descriptor number's next owner. */
static void case_close_pending(void)
{
    int fd = new_socket(0);   /* warm-up: whatever socksify keeps for its engine exists now */
    full_connection(fd, "warm-up connection");
    timed_close(fd, "close");
    usleep(100 * 1000);
    int before = count_fds();
    OK("%d descriptors open after the warm-up", before);

    double t0;
    for (int i = 0; i < 8; i++) {   /* closed at once */
        fd = new_socket(i & 1);
        start_connect(fd, &t0, 1);
        timed_close(fd, "close right after connect()");
    }
    OK("8 sockets closed right after connect()");
    fd = new_socket(0);   /* closed mid-handshake, while the relay waits */
    start_connect(fd, &t0, 1);
    usleep((useconds_t)(delay_s / 2 * 1e6));
    timed_close(fd, "close mid-handshake");
    OK("a socket closed halfway through the handshake");

    /* The number of a socket closed while pending goes to a socketpair at once: socksify's
     * handshake for the old socket must not touch it. */
    fd = new_socket(0);
    int old = fd;
    start_connect(fd, &t0, 1);
    timed_close(fd, "close");
    int sp[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) < 0) {
        FAIL("socketpair: %s", strerror(errno));
        return;
    }
    usleep((useconds_t)(delay_s * 3 * 1e6));
    int dom = 0;
    socklen_t len = sizeof(dom);
    getsockopt(sp[0], SOL_SOCKET, SO_DOMAIN, &dom, &len);
    struct pollfd p[2] = { { .fd = sp[0], .events = POLLIN }, { .fd = sp[1], .events = POLLIN } };
    int n = poll(p, 2, 0);
    if (dom != AF_UNIX)
        FAIL("descriptor %d (a socketpair now, was a pending socket %d) is no longer AF_UNIX (%d)", sp[0], old, dom);
    else if (n != 0)
        FAIL("the socketpair that took a pending socket's number (%d) got data or an error (revents 0x%x 0x%x)",
             old, p[0].revents, p[1].revents);
    else if (write(sp[1], "z", 1) != 1 || read(sp[0], &dom, 1) != 1)
        FAIL("the socketpair that took a pending socket's number does not work");
    else
        OK("the socketpair that took pending socket %d's number (%d) is untouched", old, sp[0]);
    close(sp[0]);
    close(sp[1]);

    /* ... and to a new proxied socket: that one works. */
    fd = new_socket(0);
    old = fd;
    start_connect(fd, &t0, 1);
    timed_close(fd, "close");
    fd = new_socket(0);
    char how[64];
    snprintf(how, sizeof(how), "a new connection on fd %d (pending socket %d closed)", fd, old);
    full_connection(fd, how);
    timed_close(fd, "close after the new connection");

    double end = now() + 3;
    int after = count_fds();
    while (after != before && now() < end) {
        usleep(50 * 1000);
        after = count_fds();
    }
    if (after == before) {
        OK("descriptors back to %d", after);
    } else {
        FAIL("%d descriptors open after closing pending sockets, %d before (a leak)", after, before);
        list_fds();
    }
}

/* A connection that fails: EINPROGRESS at once, then the descriptor reports readiness (writable
 * or an error: edge-triggered epoll registered before connect(), or poll()) and SO_ERROR is the
 * errno named want; getpeername() -> ENOTCONN. */
static void case_fail(int use_epoll, const char *want)
{
    int fd = new_socket(0), ep = -1;
    if (use_epoll) {
        ep = epoll_create1(EPOLL_CLOEXEC);
        struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLET, .data.fd = fd };
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    }
    double t0 = now();
    int r = connect(fd, (struct sockaddr *)&target, sizeof(target));
    int e = errno;
    double took = now() - t0;
    if (r == 0) {
        FAIL("connect() succeeded, expected it to fail with %s", want);
        return;
    }
    if (e != EINPROGRESS) {
        if (!strcmp(ename(e), want))
            SYNC("connect() failed with %s inside connect() after %.3fs: expected -1/EINPROGRESS at once, "
                 "then %s from SO_ERROR", want, took, want);
        else
            FAIL("connect() -> %s after %.3fs, expected EINPROGRESS (then %s)", ename(e), took, want);
        timed_close(fd, "close");
        return;
    }
    OK("connect() -> EINPROGRESS in %.4fs", took);
    const char *how = use_epoll ? "epoll ET registered before connect" : "poll";
    unsigned events = 0;
    if (use_epoll) {
        struct epoll_event got;
        int n = epoll_wait(ep, &got, 1, WAIT_MS);
        events = n == 1 ? got.events : 0;
        if (!(events & (EPOLLOUT | EPOLLERR))) {
            FAIL("%s: no EPOLLOUT or EPOLLERR within %ds (-> %d, events 0x%x)", how, WAIT_S, n, events);
            return;
        }
    } else {
        events = (unsigned)wait_fd(fd, POLLOUT, WAIT_S);
        if (!(events & (POLLOUT | POLLERR))) {
            FAIL("%s: no POLLOUT or POLLERR within %ds (revents 0x%x)", how, WAIT_S, events);
            return;
        }
    }
    double at = now() - t0;
    if (at > delay_s + LATE_S)
        FAIL("%s: ready only %.3fs after connect() (the failure is due after %.2fs): the wakeup came late", how, at,
             delay_s);
    int err = so_error(fd);
    if (err < 0 || strcmp(ename(err), want) != 0)
        FAIL("%s: ready after %.3fs (events 0x%x), SO_ERROR %s, expected %s", how, now() - t0, events,
             err < 0 ? strerror(-err) : ename(err), want);
    else
        OK("%s: ready after %.3fs (events 0x%x), SO_ERROR %s", how, now() - t0, events, want);
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    r = getpeername(fd, (struct sockaddr *)&a, &len);
    if (r == -1 && errno == ENOTCONN)
        OK("getpeername() after the failure -> ENOTCONN");
    else
        FAIL("getpeername() after the failure -> %s, expected ENOTCONN", r == 0 ? "an address" : ename(errno));
    timed_close(fd, "close");
    if (ep >= 0)
        close(ep);
}

/* COUNT pending connections at once in one process, all completing (level-triggered epoll). */
static void case_many(int count)
{
    int *fds = calloc((size_t)count, sizeof(int));
    int *phase = calloc((size_t)count, sizeof(int));   /* 0 connecting, 1 echoing, 2 done */
    char (*payload)[48] = calloc((size_t)count, 48);
    int *have = calloc((size_t)count, sizeof(int));
    char (*got)[48] = calloc((size_t)count, 48);
    int ep = epoll_create1(EPOLL_CLOEXEC), pending = 0;
    double start = now(), budget = 3;
    for (int i = 0; i < count; i++) {
        if (now() - start > budget) {
            SLOW("gave up after %.1fs: only %d of %d connect() calls made (they do not return at once)", now() - start, i, count);
            return;
        }
        fds[i] = new_socket(i & 1);
        double t0;
        int st = start_connect(fds[i], &t0, 1);
        if (st < 0)
            return;
        pending += st;
        snprintf(payload[i], 48, "many %d pid %d %ld\n", i, (int)getpid(), random() % 100000);
        struct epoll_event ev = { .events = EPOLLOUT, .data.u32 = (unsigned)i };
        epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
    }
    double connects = now() - start;
    if (pending == count)
        OK("%d connect() calls -> EINPROGRESS in %.3fs", count, connects);
    int done = 0;
    while (done < count && now() - start < budget + 1) {
        struct epoll_event evs[64];
        int n = epoll_wait(ep, evs, 64, 1000);
        for (int k = 0; k < n; k++) {
            int i = (int)evs[k].data.u32;
            if (phase[i] == 0) {
                int err = so_error(fds[i]);
                if (err || (evs[k].events & (EPOLLERR | EPOLLHUP))) {
                    FAIL("connection %d: events 0x%x, SO_ERROR %s", i, evs[k].events, err < 0 ? strerror(-err) : ename(err));
                    return;
                }
                struct sockaddr_in peer;
                socklen_t len = sizeof(peer);
                if (getpeername(fds[i], (struct sockaddr *)&peer, &len) < 0 || !same_target(&peer)) {
                    FAIL("connection %d: getpeername is not the target once writable", i);
                    return;
                }
                size_t plen = strlen(payload[i]);
                if (send(fds[i], payload[i], plen, MSG_NOSIGNAL) != (ssize_t)plen) {
                    FAIL("connection %d: send -> %s", i, ename(errno));
                    return;
                }
                phase[i] = 1;
                struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (unsigned)i };
                epoll_ctl(ep, EPOLL_CTL_MOD, fds[i], &ev);
            } else if (phase[i] == 1) {
                ssize_t r = recv(fds[i], got[i] + have[i], (size_t)(47 - have[i]), 0);
                if (r < 0 && errno == EAGAIN)
                    continue;
                if (r <= 0) {
                    FAIL("connection %d: recv -> %s", i, r ? ename(errno) : "EOF");
                    return;
                }
                have[i] += (int)r;
                if (have[i] >= (int)strlen(payload[i])) {
                    if (memcmp(got[i], payload[i], strlen(payload[i])) != 0) {
                        FAIL("connection %d: echo %.*s, sent %s", i, have[i], got[i], payload[i]);
                        return;
                    }
                    phase[i] = 2;
                    epoll_ctl(ep, EPOLL_CTL_DEL, fds[i], NULL);
                    timed_close(fds[i], "close");
                    done++;
                }
            }
        }
    }
    double wall = now() - start;
    if (done < count) {
        FAIL("only %d of %d connections echoed within %.1fs", done, count, wall);
        return;
    }
    OK("all %d connections echoed, %.3fs in all", count, wall);
    if (wall > 2.0)
        SLOW("%d connections took %.3fs (parallel: about %.1fs; one after the other: %.1fs)", count, wall, delay_s,
             count * delay_s);
    close(ep);
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: %s CASE HOST PORT DELAY [COUNT]\n", argv[0]);
        return 2;
    }
    cur_case = argv[1];
    memset(&target, 0, sizeof(target));
    target.sin_family = AF_INET;
    target.sin_port = htons((unsigned short)atoi(argv[3]));
    if (inet_pton(AF_INET, argv[2], &target.sin_addr) != 1) {
        fprintf(stderr, "bad HOST %s\n", argv[2]);
        return 2;
    }
    delay_s = atof(argv[4]);
    srandom((unsigned)getpid());
    signal(SIGPIPE, SIG_IGN);
    if (!strcmp(cur_case, "et-before"))
        case_et_before();
    else if (!strcmp(cur_case, "lt-after"))
        case_lt_after();
    else if (!strcmp(cur_case, "oneshot"))
        case_oneshot();
    else if (!strcmp(cur_case, "poll"))
        case_poll();
    else if (!strcmp(cur_case, "select"))
        case_select();
    else if (!strcmp(cur_case, "pending"))
        case_pending();
    else if (!strcmp(cur_case, "sockopt"))
        case_sockopt();
    else if (!strcmp(cur_case, "close-pending"))
        case_close_pending();
    else if (!strcmp(cur_case, "fail-epoll") || !strcmp(cur_case, "fail-poll"))
        case_fail(!strcmp(cur_case, "fail-epoll"), argc > 5 ? argv[5] : "ECONNREFUSED");
    else if (!strcmp(cur_case, "many"))
        case_many(argc > 5 ? atoi(argv[5]) : 100);
    else {
        fprintf(stderr, "unknown case %s\n", cur_case);
        return 2;
    }
    printf("END %s fail=%d sync=%d slow=%d\n", cur_case, n_fail, n_sync, n_slow);
    return n_fail ? 1 : (n_sync || n_slow) ? 10 : 0;
}
