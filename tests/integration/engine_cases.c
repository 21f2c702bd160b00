/* Regression cases for the engine of non-blocking connects and the close()/epoll_ctl hooks
 * (test_engine.py compiles this with cc into the test's temp dir and runs it under socksify, in
 * C, against T's echo server through fakeproxy.py's delaying relay, some under valgrind).
 *
 * usage: engine_cases CASE HOST PORT DELAY
 *   dup2-pending    dup2() over a pending descriptor: the engine must notice, leave the new file
 *                   alone and drop the job so that nothing reaches it once freed (run under
 *                   valgrind: read() and close() on the number must not touch freed memory)
 *   stale-epoll     epoll registrations gone stale behind socksify's back (close_range): the
 *                   engine's epoll reusing the number of a closed program epoll must not get the
 *                   program's registration (its data read as a job: the engine crashed), and a
 *                   socket reusing a registered number must not be registered by socksify
 *   fork-lock       fork() while another thread is in epoll_ctl(): the child's close() and
 *                   epoll_ctl() must not hang on a lock held by a thread the child does not have
 *   signal-close    close() from a signal handler that interrupts epoll_ctl(): must not deadlock
 *   clone-close     a raw clone(SIGCHLD) child (no fork handlers run) closes a pending descriptor:
 *                   that is its own process, whose close must drop the pending state; a vfork
 *                   child closing it must not disturb the parent
 *   placeholder     while pending the descriptor has no address another process could connect to,
 *                   poll reports nothing, epoll accepts it, and a poll() asleep on it wakes when
 *                   the tunnel is up
 *
 * Output: "ok ..." and "FAIL ..." lines, then "END CASE fail=N". Exit status 0 if every check
 * passed, 1 otherwise, 2 usage. Hangs are caught by bounded waits here (a child that does not
 * exit in time is killed and reported) and by the caller's timeout; crashes by the exit status.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cases.h"

#define WAIT_S 5.0   /* bound on every wait for the tunnel (the relay takes DELAY) */

static struct sockaddr_in target;
static double delay_s;


/* A non-blocking TCP socket whose connect() to the target is pending; -1 (FAIL) otherwise. */
static int pending_socket(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&target, sizeof(target)) == 0 || errno != EINPROGRESS) {
        FAIL("connect() did not return EINPROGRESS (%s)", strerror(errno));
        return -1;
    }
    return fd;
}

/* Waits until fd is writable, then checks SO_ERROR 0 and an echo; 0 if the tunnel works. */
static int tunnel_works(int fd, const char *how)
{
    struct pollfd p = { .fd = fd, .events = POLLOUT };
    int err = -1;
    socklen_t len = sizeof(err);
    if (poll(&p, 1, (int)(WAIT_S * 1000)) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err) {
        FAIL("%s: not connected within %gs (revents 0x%x, SO_ERROR %d)", how, WAIT_S, p.revents, err);
        return -1;
    }
    char msg[] = "engine case\n", got[sizeof(msg)];
    size_t have = 0;
    if (send(fd, msg, strlen(msg), MSG_NOSIGNAL) != (ssize_t)strlen(msg)) {
        FAIL("%s: send: %s", how, strerror(errno));
        return -1;
    }
    while (have < strlen(msg)) {
        p = (struct pollfd){ .fd = fd, .events = POLLIN };
        ssize_t r = poll(&p, 1, (int)(WAIT_S * 1000)) == 1 ? recv(fd, got + have, sizeof(got) - have, 0) : 0;
        if (r <= 0 && !(r < 0 && errno == EAGAIN)) {
            FAIL("%s: no echo (%s)", how, r < 0 ? strerror(errno) : "EOF or timeout");
            return -1;
        }
        have += r > 0 ? (size_t)r : 0;
    }
    if (memcmp(got, msg, strlen(msg)) != 0) {
        FAIL("%s: wrong echo", how);
        return -1;
    }
    OK("%s: connected, echo matched", how);
    return 0;
}

/* One complete connection: the engine is alive and well. */
static void fresh_connection(const char *how)
{
    int fd = pending_socket();
    if (fd >= 0) {
        tunnel_works(fd, how);
        close(fd);
    }
}

/* Waits for child pid at most seconds; its exit status, or -1 (killed: it hung). */
static int wait_child(pid_t pid, double seconds)
{
    double end = now() + seconds;
    int st;
    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG | __WALL);
        if (r == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        if (r < 0 || now() > end)
            break;
        struct timespec tick = { 0, 2 * 1000 * 1000 };   /* polling a bounded wait, not synchronising */
        nanosleep(&tick, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, __WALL);
    return -1;
}

/* ----- dup2 over a pending descriptor ----- */

static void case_dup2_pending(void)
{
    int fd = pending_socket(), sp[2];
    if (fd < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sp) < 0)
        return;
    if (write(sp[1], "z", 1) != 1 || dup2(sp[0], fd) != fd) {
        FAIL("socketpair/dup2: %s", strerror(errno));
        return;
    }
    /* Reads give EAGAIN until the engine, at the handshake's end, sees that fd is not its socket
     * any more and lets go of it; then the byte the socketpair holds comes through. */
    char c = 0;
    ssize_t r = -1;
    double end = now() + delay_s + WAIT_S;
    while (now() < end && (r = read(fd, &c, 1)) < 0 && errno == EAGAIN) {
        struct pollfd p = { .fd = sp[1], .events = POLLIN };
        poll(&p, 1, 5);   /* a bounded pause between tries: nothing ever arrives on sp[1] */
    }
    if (r == 1 && c == 'z')
        OK("read() on the replaced number reaches the new file once the handshake is over");
    else
        FAIL("read() on the replaced number -> %zd (%s) after %.1fs", r, r < 0 ? strerror(errno) : "", now() - end + delay_s + WAIT_S);
    int dom = 0;
    socklen_t len = sizeof(dom);
    getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &len);
    if (dom == AF_UNIX)
        OK("the engine left the new file under the number alone");
    else
        FAIL("the number no longer holds the socketpair (domain %d): the engine overwrote it", dom);
    if (write(fd, "y", 1) != 1 || read(sp[1], &c, 1) != 1)
        FAIL("the socketpair under the replaced number does not work");
    close(fd);
    close(sp[0]);
    close(sp[1]);
    fresh_connection("a connection after the replaced one");
}

/* ----- epoll registrations gone stale behind socksify's back ----- */

static int epoll_events_now(int ep)
{
    struct epoll_event got[4];
    return epoll_wait(ep, got, 4, 0);
}

static void case_stale_epoll(void)
{
    /* 1. The program's epoll, holding a registration whose data is no pointer at all, closed by
     * close_range (socksify's close() does not see it): the engine's epoll, made at the first
     * non-blocking connect, takes its number (the lowest free). */
    int ep = epoll_create1(0), s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct epoll_event ev = { .events = EPOLLOUT | EPOLLIN, .data.u64 = 0x4141414141414141ull };
    if (ep < 0 || s < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev) < 0 || syscall(SYS_close_range, ep, ep, 0) < 0) {
        FAIL("set-up: %s", strerror(errno));
        return;
    }
    if (connect(s, (struct sockaddr *)&target, sizeof(target)) == 0 || errno != EINPROGRESS) {
        FAIL("connect() -> %s, expected EINPROGRESS", strerror(errno));
        return;
    }
    tunnel_works(s, "a socket registered in an epoll that close_range closed");
    fresh_connection("the engine goes on (it did not take the stale registration for a job)");
    close(s);

    /* 2. A registered socket closed by close_range, its number reused by a socket the program
     * never registered: socksify must not register it in the program's epoll. */
    ep = epoll_create1(0);
    s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (ep < 0 || s < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev) < 0 || syscall(SYS_close_range, s, s, 0) < 0) {
        FAIL("set-up 2: %s", strerror(errno));
        return;
    }
    int s2 = pending_socket();
    if (s2 != s)
        OK("(the new socket got number %d, not %d: the check is weaker)", s2, s);
    if (s2 >= 0 && tunnel_works(s2, "a socket on a number a stale registration names") == 0) {
        int n = epoll_events_now(ep);
        if (n == 0)
            OK("the program's epoll reports nothing for the socket it never registered");
        else
            FAIL("the program's epoll reports %d event(s): socksify registered a socket the program never did", n);
    }
    close(s2);
    close(ep);
}

/* ----- fork while another thread holds epoll_ctl's lock ----- */

static atomic_bool stop;

static void *epoll_hammer(void *arg)
{
    int ep = epoll_create1(0), s = socket(AF_INET, SOCK_STREAM, 0);
    struct epoll_event ev = { .events = EPOLLIN };
    (void)arg;
    while (!atomic_load(&stop)) {
        epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev);
        epoll_ctl(ep, EPOLL_CTL_DEL, s, NULL);
    }
    close(s);
    close(ep);
    return NULL;
}

static void case_fork_lock(void)
{
    int ep = epoll_create1(0), s = socket(AF_INET, SOCK_STREAM, 0);
    struct epoll_event ev = { .events = EPOLLIN };
    epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev);   /* a registration exists: close() has one to look at */
    pthread_t t;
    pthread_create(&t, NULL, epoll_hammer, NULL);
    int forks = 200, hung = 0;
    for (int i = 0; i < forks && !hung; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            int e = epoll_create1(0), x = socket(AF_INET, SOCK_STREAM, 0);
            close(s);
            epoll_ctl(e, EPOLL_CTL_ADD, x, &ev);
            close(x);
            close(e);
            _exit(0);
        }
        if (pid < 0 || wait_child(pid, 3.0) != 0)
            hung = pid < 0 ? -1 : i + 1;
    }
    atomic_store(&stop, true);
    pthread_join(t, NULL);
    if (hung)
        FAIL("child %d of %d did not exit within 3s (hung in close() or epoll_ctl() on a lock held at fork)", hung, forks);
    else
        OK("%d children forked while another thread was in epoll_ctl() all closed and exited", forks);
    close(s);
    close(ep);
}

/* ----- close() from a signal handler ----- */

static int keep_fd;
static atomic_int handled;

static void on_signal(int sig)
{
    (void)sig;
    int saved = errno, d = dup(keep_fd);
    close(d);
    atomic_fetch_add(&handled, 1);
    errno = saved;
}

static void *signaller(void *arg)
{
    pthread_t main_thread = *(pthread_t *)arg;
    while (!atomic_load(&stop)) {
        pthread_kill(main_thread, SIGUSR1);
        sched_yield();
    }
    return NULL;
}

/* The work, in a child that the parent waits for with a bound: a deadlock shows as a hang. */
static void signal_close_work(void)
{
    keep_fd = socket(AF_INET, SOCK_STREAM, 0);
    signal(SIGUSR1, on_signal);
    int ep = epoll_create1(0);
    struct epoll_event ev = { .events = EPOLLIN };
    epoll_ctl(ep, EPOLL_CTL_ADD, keep_fd, &ev);   /* a registration exists all along */
    pthread_t self = pthread_self(), t;
    pthread_create(&t, NULL, signaller, &self);
    double end = now() + 1.5;
    while (now() < end) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev);
        epoll_ctl(ep, EPOLL_CTL_DEL, s, NULL);
        close(s);
    }
    atomic_store(&stop, true);
    pthread_join(t, NULL);
    printf("ok %s: %d signal handlers closed a descriptor while epoll_ctl() ran\n", cur_case, atomic_load(&handled));
    fflush(stdout);
    _exit(0);
}

static void case_signal_close(void)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
        signal_close_work();
    int st = pid < 0 ? -2 : wait_child(pid, 10.0);
    if (st == -1)
        FAIL("close() in a signal handler deadlocked (the worker did not finish within 10s)");
    else if (st != 0)
        FAIL("the worker exited with status %d", st);
}

/* ----- a raw clone() child closing a pending descriptor ----- */

/* In a child that shares nothing with us: close fd, put a socketpair holding a byte under the
 * number, and read it. Exit 0 if the byte came, 3 on EAGAIN (socksify still took the number for
 * a pending one: it thought the close was a vfork child's, not ours to track). */
static int clone_child(int fd)
{
    int sp[2];
    close(fd);
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sp) < 0 || dup2(sp[0], fd) != fd || write(sp[1], "z", 1) != 1)
        return 4;
    char c;
    ssize_t r = read(fd, &c, 1);
    return r == 1 ? 0 : r < 0 && errno == EAGAIN ? 3 : 5;
}

static void case_clone_close(void)
{
    int fd = pending_socket();
    if (fd < 0)
        return;
    fflush(stdout);
    long pid = syscall(SYS_clone, (long)SIGCHLD, 0L, 0L, 0L, 0L);
    if (pid == 0)
        _exit(clone_child(fd));
    int st = pid < 0 ? -2 : wait_child((pid_t)pid, 5.0);
    if (st == 0)
        OK("a clone(SIGCHLD) child's close() of a pending descriptor let go of the number in the child");
    else
        FAIL("clone(SIGCHLD) child: status %d (3: read() on its reused number gave EAGAIN, taken for pending;"
             " -1: it hung)", st);
    pid = vfork();
    if (pid == 0) {
        close(fd);   /* the child's copy: the parent's descriptor and its handshake go on */
        _exit(0);
    }
    wait_child((pid_t)pid, 5.0);
    tunnel_works(fd, "the parent's pending connection, after both children closed their copies");
    close(fd);
}

/* ----- the placeholder ----- */

/* The address of the AF_UNIX socket fd holds, from /proc/net/unix: 1 with it in path, 0 if it has
 * none, -1 if not found. */
static int unix_address(int fd, char *path, size_t size)
{
    char link[64], want[32], line[512];
    char proc[64];
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(proc, link, sizeof(link) - 1);
    unsigned long ino;
    if (n <= 0 || (link[n] = '\0', sscanf(link, "socket:[%lu]", &ino) != 1))
        return -1;
    snprintf(want, sizeof(want), " %lu", ino);
    FILE *f = fopen("/proc/net/unix", "r");
    int found = -1;
    while (f && found < 0 && fgets(line, sizeof(line), f)) {
        char *at = strstr(line, want);
        if (!at || (at[strlen(want)] != ' ' && at[strlen(want)] != '\n'))
            continue;
        at += strlen(want);
        at += strspn(at, " ");
        at[strcspn(at, "\n")] = '\0';
        snprintf(path, size, "%s", at);
        found = *at != '\0';
    }
    if (f)
        fclose(f);
    return found;
}

/* Connects to an abstract address "@name" as another process could; 0 if it worked. */
static int connect_abstract(const char *path)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    size_t len = strlen(path);
    if (path[0] != '@' || len > sizeof(a.sun_path))
        return -1;
    memcpy(a.sun_path + 1, path + 1, len - 1);
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    return connect(c, (struct sockaddr *)&a, (socklen_t)(sizeof(sa_family_t) + len)) == 0 ? 0 : -1;
}

static void case_placeholder(void)
{
    int fd = pending_socket();
    if (fd < 0)
        return;
    char path[256] = "";
    int has = unix_address(fd, path, sizeof(path));
    if (has == 0)
        OK("while pending the descriptor has no address anyone could connect to");
    else if (has < 0)
        OK("while pending the descriptor is no AF_UNIX socket");
    else
        FAIL("while pending the descriptor has the address %s%s", path,
             connect_abstract(path) == 0 ? ", and another socket could connect to it" : "");
    struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT | POLLPRI | POLLRDHUP };
    int n = poll(&p, 1, 0);
    if (n == 0)
        OK("poll() reports nothing while pending");
    else
        FAIL("poll() while pending -> %d, revents 0x%x (a connection to its address makes it readable)", n, p.revents);
    int ep = epoll_create1(0);
    struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.fd = fd };
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0 && epoll_events_now(ep) == 0)
        OK("epoll accepts the pending descriptor and reports nothing yet");
    else
        FAIL("epoll while pending: %s, %d events", strerror(errno), epoll_events_now(ep));
    /* poll() falls asleep on the placeholder; the end of the handshake must wake it. */
    p = (struct pollfd){ .fd = fd, .events = POLLOUT };
    double t0 = now();
    n = poll(&p, 1, (int)(WAIT_S * 1000));
    if (n == 1 && (p.revents & POLLOUT) && now() - t0 < delay_s + 1.0)
        OK("a poll() asleep on the pending descriptor woke when the tunnel came up");
    else
        FAIL("a poll() asleep on the pending descriptor -> %d, revents 0x%x after %.2fs", n, p.revents, now() - t0);
    tunnel_works(fd, "the connection");
    close(fd);
    close(ep);
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: %s CASE HOST PORT DELAY\n", argv[0]);
        return 2;
    }
    cur_case = argv[1];
    target.sin_family = AF_INET;
    target.sin_port = htons((unsigned short)atoi(argv[3]));
    if (inet_pton(AF_INET, argv[2], &target.sin_addr) != 1)
        return 2;
    delay_s = atof(argv[4]);
    signal(SIGPIPE, SIG_IGN);
    static const struct { const char *name; void (*run)(void); } cases[] = {
        { "dup2-pending", case_dup2_pending }, { "stale-epoll", case_stale_epoll }, { "fork-lock", case_fork_lock },
        { "signal-close", case_signal_close }, { "clone-close", case_clone_close }, { "placeholder", case_placeholder },
    };
    size_t i = 0;
    while (i < sizeof(cases) / sizeof(cases[0]) && strcmp(cases[i].name, cur_case) != 0)
        i++;
    if (i == sizeof(cases) / sizeof(cases[0])) {
        fprintf(stderr, "unknown case %s\n", cur_case);
        return 2;
    }
    cases[i].run();
    printf("END %s fail=%d\n", cur_case, n_fail);
    return n_fail ? 1 : 0;
}
