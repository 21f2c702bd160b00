"""Non-blocking connects in event loops: asyncio, selectors (select, poll), Node.js, curl
--parallel and a C program (epoll edge/level/one-shot, poll, ppoll, select, pselect, the calls a
program makes while a connect is pending, close while pending, 100 at once), failures reaching
the program, and fork with a connect pending.

Most go through fakeproxy.py's delaying relay (DELAY_SECONDS per handshake): N connections made
one after the other take at least N * DELAY_SECONDS, N made in parallel little more than one, so
the wall-time bounds prove that socksify's connect() returns EINPROGRESS at once and handshakes in
the background. A connect() that handshakes inside itself is correct but serial: those tests then
fail on their timing only, and say so ("timing:").

Bursts of more connections than T's http.server (backlog 5) and echoserver.py (backlog 64) can
queue go to burstserver.py instead (backlog 1024), started in T by the tests that need it: an
overflowing accept queue drops SYNs, which come back a second later, and the bounds would measure
that instead of socksify."""
import contextlib
import os
import shutil
import signal
import subprocess

from procs import killpg, tail, wait_until
from testcase import test
from topology import (BURST_ECHO_PORT, BURST_HTTP_PORT, BURSTSERVER, CLOSED_PORT, DANTE, DEAD, DELAY_MODE,
                      DELAY_SECONDS, ECHO_PORT, HERE, PY, T4, fake_url, token_url)

ASYNCIO_CLIENT = os.path.join(HERE, "asyncio_client.py")
SELECTORS_CLIENT = os.path.join(HERE, "selectors_client.py")
FORK_CLIENT = os.path.join(HERE, "fork_client.py")
NODE_CLIENT = os.path.join(HERE, "nodeclient.js")
EPOLL_CASES = os.path.join(HERE, "epoll_cases.c")
DELAY = fake_url(DELAY_MODE)


def serial_note(n):
    return "one after the other, %d handshakes through the %gs relay take >= %.1fs" % (n, DELAY_SECONDS,
                                                                                      n * DELAY_SECONDS)


# A program whose connections are all done must not take longer than this to exit (close() and
# exit must not block on whatever socksify tidies up).
EXIT_SLACK = 2.0


@contextlib.contextmanager
def burst_servers(t):
    """burstserver.py in T (echo on BURST_ECHO_PORT, the token on BURST_HTTP_PORT) for the test's duration."""
    log = os.path.join(t.dir, "burstserver.out")
    with open(log, "w") as lf:
        p = subprocess.Popen(["ip", "netns", "exec", t.h.ns["t"], PY, BURSTSERVER, str(BURST_ECHO_PORT),
                              str(BURST_HTTP_PORT), os.path.join(t.h.tmp, "www")], stdin=subprocess.DEVNULL,
                             stdout=lf, stderr=subprocess.STDOUT, env=t.h.base_env(t.home), cwd=t.dir,
                             start_new_session=True)
    try:
        def ready():
            with open(log, errors="replace") as f:
                return "ready" in f.read() or p.poll() is not None
        wait_until(ready, 10)
        t.check(p.poll() is None and ready(), "burstserver.py did not start:\n" + tail(log))
        yield
    finally:
        killpg(p.pid, signal.SIGTERM)
        try:
            p.wait(timeout=3)
        except subprocess.TimeoutExpired:
            killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=3)


def expect_parallel(t, r, n, bound, what):
    """r (a client printing "DONE ... WALL s") made its n connections, each echo or body checked,
    within bound seconds, and exited promptly; the delaying relay carried at least n connections."""
    wall = None
    line = next((l for l in r.out.splitlines() if l.startswith("DONE ")), None)
    if line:
        wall = float(line.split("WALL")[1].split()[0])
    if r.rc == 6 or r.timed_out or (line is None and "TIMEOUT" in r.out):
        if r.line("CONNECT") == "inprogress=%d immediate=0" % n:
            t.fail("%s: every connect() returned EINPROGRESS at once, but the sockets were not all ready within "
                   "the budget (%.1fs in all): readiness not signalled? %s" % (what, r.seconds, r.out.strip()[-200:]))
        t.fail("timing: %s did not finish %d connections within its budget (%.1fs in all; %s)" % (
            what, n, r.seconds, serial_note(n)))
    if r.rc != 0 or line is None:
        t.fail("%s failed (exit %s): %s" % (what, r.rc, (r.out.strip().splitlines() or ["no output"])[-1]))
    recs = wait_until(lambda: len(t.fake_records(DELAY_MODE)) >= n and t.fake_records(DELAY_MODE), 5)
    t.check(recs and len(recs) >= n, "the delaying relay saw %d connections, expected %d: socksify did not use it" % (
        len(recs or []), n))
    t.check(wall <= bound, "timing: %s took %.2fs for %d connections, expected < %.1fs (%s)" % (
        what, wall, n, bound, serial_note(n)))
    t.check(r.seconds <= wall + EXIT_SLACK, "%s was done after %.2fs but took %.2fs in all to exit: close() or "
            "exit blocked" % (what, wall, r.seconds))


# ----- asyncio, selectors -----

def asyncio_parallel(t, n, bound, port=ECHO_PORT):
    t.need("fakeproxy", "echo")
    r = t.sx_x(DELAY, [PY, ASYNCIO_CLIENT, "--count", str(n), "--budget", "3", T4, str(port)], timeout=20)
    expect_parallel(t, r, n, bound, "asyncio (%d open_connection()s)" % n)


@test
def test_evloop_asyncio_40(t):
    """asyncio (epoll): 40 open_connection()s at once through the 0.1 s relay, every echo checked, < 1.5 s."""
    asyncio_parallel(t, 40, 1.5)


@test
def test_evloop_asyncio_200(t):
    """asyncio: 200 at once (to burstserver.py's echo), < 2.5 s."""
    with burst_servers(t):
        asyncio_parallel(t, 200, 2.5, BURST_ECHO_PORT)


def selectors_parallel(t, selector, n=40, bound=1.5):
    t.need("fakeproxy", "echo")
    r = t.sx_x(DELAY, [PY, SELECTORS_CLIENT, "--selector", selector, "--count", str(n), "--budget", "3",
                       T4, str(ECHO_PORT)], timeout=20)
    expect_parallel(t, r, n, bound, "the selectors client (%s, %d non-blocking sockets)" % (selector, n))
    t.check(r.line("CONNECT") == "inprogress=%d immediate=0" % n,
            "timing: connect() returns were %s, expected all %d -1/EINPROGRESS" % (r.line("CONNECT"), n))


@test
def test_evloop_selectors_select_40(t):
    """40 non-blocking sockets: connect() -> EINPROGRESS, select() for writability, SO_ERROR 0, echo; < 1.5 s."""
    selectors_parallel(t, "select")


@test
def test_evloop_selectors_poll_40(t):
    """The same with selectors.PollSelector (poll())."""
    selectors_parallel(t, "poll")


# ----- Node.js, curl -----

@test
def test_evloop_node_40_echo_10_http(t):
    """node (libuv): 40 net.connect()s to the echo server and 10 http.get()s of the token
    (burstserver.py's HTTP) at once, < 1.5 s."""
    t.need("fakeproxy", "echo")
    node = shutil.which("node") or shutil.which("nodejs")
    t.check(node, "node is not installed (scripts/deps.sh installs nodejs)")
    with burst_servers(t):
        r = t.sx_x(DELAY, [node, NODE_CLIENT, T4, str(ECHO_PORT), "40", token_url(T4, BURST_HTTP_PORT), "10",
                           t.h.token, "3"], timeout=20)
    expect_parallel(t, r, 50, 1.5, "node (40 net.connect + 10 http.get)")


@test
def test_evloop_curl_parallel_20(t):
    """curl --parallel --parallel-max 20 with 20 URLs of the token (burstserver.py's HTTP): every
    body is the token, < 1.5 s in all."""
    t.need("fakeproxy")
    urls = [token_url(T4, BURST_HTTP_PORT) + "?n=%d" % i for i in range(20)]
    with burst_servers(t):
        r = t.sx_x(DELAY, ["curl", "-q", "-sS", "--noproxy", "", "--max-time", "10", "--parallel",
                           "--parallel-immediate", "--parallel-max", "20"] + urls, timeout=20)
    t.expect_ok(r, "curl --parallel")
    t.check(r.out == t.h.token * 20, "curl printed %r, expected the token 20 times" % r.out[:300])
    recs = wait_until(lambda: len(t.fake_records(DELAY_MODE)) >= 20 and t.fake_records(DELAY_MODE), 5)
    t.check(recs and len(recs) >= 20, "the delaying relay saw %d connections, expected 20" % len(recs or []))
    t.check(r.seconds < 1.5, "timing: curl --parallel took %.2fs for 20 transfers, expected < 1.5s (%s)" % (
        r.seconds, serial_note(20)))


# ----- failures reach the program -----

def expect_errno_both(t, url_or_conf, port, name, seconds=3.0):
    """The asyncio client and the selectors client (select()) connecting to T4:port both fail with
    errno name, from connect() or (non-blocking engine) from SO_ERROR once the socket is writable."""
    for client, what in (([PY, ASYNCIO_CLIENT, "--budget", "4"], "asyncio"),
                         ([PY, SELECTORS_CLIENT, "--selector", "select", "--budget", "4"], "selectors")):
        argv = client + [T4, str(port)]
        if url_or_conf.startswith("/"):
            r = t.sx_f(url_or_conf, argv, timeout=20)
        else:
            r = t.sx_x(url_or_conf, argv, timeout=20)
        got = r.errno_name()
        t.check(r.rc == 3 and got == name, "%s client: exit %s, %s; expected the connection to fail with %s" % (
            what, r.rc, got or (r.out.strip().splitlines() or ["no output"])[-1], name))
        t.check(r.seconds < seconds, "%s client took %.1fs to see %s and exit (expected < %gs)" % (
            what, r.seconds, name, seconds))


@test
def test_evloop_errno_proxy_refused(t):
    """The proxy answers 'connection refused' (fakeproxy rep:5): ECONNREFUSED reaches asyncio and selectors."""
    t.need("fakeproxy")
    expect_errno_both(t, fake_url("rep:5"), ECHO_PORT, "ECONNREFUSED")
    t.check(len(wait_until(lambda: len(t.fake_records("rep:5")) >= 2 and t.fake_records("rep:5"), 5) or []) >= 2,
            "the fake proxy (rep:5) did not see both connections")


@test
def test_evloop_errno_target_refused(t):
    """danted finds the target's port closed: ECONNREFUSED reaches asyncio and selectors."""
    t.need("danted")
    expect_errno_both(t, DANTE, CLOSED_PORT, "ECONNREFUSED")


@test
def test_evloop_errno_handshake_timeout(t):
    """A proxy that never answers, handshake_timeout 1s (config file): ETIMEDOUT reaches both clients."""
    t.need("fakeproxy")
    conf = t.write("cwd/sx.conf", "proxy %s\nhandshake_timeout 1s\nconnect_timeout 5s\n" % fake_url("silent"))
    expect_errno_both(t, conf, ECHO_PORT, "ETIMEDOUT", seconds=3.5)


@test
def test_evloop_errno_proxy_down(t):
    """Nothing listens at the proxy's address: ECONNREFUSED reaches both clients."""
    expect_errno_both(t, DEAD, ECHO_PORT, "ECONNREFUSED")


# ----- the C program: epoll, poll, select, pending calls, close while pending, 100 at once -----

def epoll_cases_binary(t):
    return t.compiled(EPOLL_CASES)


def c_case(t, case, *extra, proxy=DELAY, conf=None, delay=DELAY_SECONDS, timeout=20):
    """Runs epoll_cases CASE under socksify (proxy URL, or the config file conf) against T's echo server."""
    t.need("fakeproxy", "echo")
    binary = epoll_cases_binary(t)
    argv = [binary, case, T4, str(ECHO_PORT), "%g" % delay] + list(extra)
    r = t.sx_f(conf, argv, timeout=timeout) if conf else t.sx_x(proxy, argv, timeout=timeout)
    lines = r.out.splitlines()
    fails = [l for l in lines if l.startswith("FAIL ")]
    timing = [l for l in lines if l.startswith(("SYNC ", "SLOW "))]
    if r.rc == 0 and not fails and not timing and any(l.startswith("END ") for l in lines):
        return r
    if r.timed_out:
        t.fail("epoll_cases %s timed out" % case)
    if fails or r.rc not in (0, 10):
        t.fail("epoll_cases %s: exit %s%s" % (case, r.rc, "".join("\n  " + l for l in fails) or
                                              " (crashed? no FAIL line)"))
    t.fail("timing: epoll_cases %s (connect() did not return EINPROGRESS at once, or was slow):%s" % (
        case, "".join("\n  " + l for l in timing)))


@test
def test_evloop_c_epoll_et_before_connect(t):
    """Edge-triggered epoll registered before connect(): exactly one EPOLLOUT, once the tunnel is up."""
    c_case(t, "et-before")


@test
def test_evloop_c_epoll_lt_after_connect(t):
    """Level-triggered epoll registered after connect(): EPOLLOUT once the tunnel is up, and again."""
    c_case(t, "lt-after")


@test
def test_evloop_c_epoll_oneshot(t):
    """EPOLLONESHOT: one EPOLLOUT when the tunnel is up, silence until re-armed, then EPOLLIN for the echo."""
    c_case(t, "oneshot")


@test
def test_evloop_c_poll_ppoll(t):
    """poll() and ppoll(): POLLOUT (no POLLERR/POLLHUP) once the tunnel is up."""
    c_case(t, "poll")


@test
def test_evloop_c_select_pselect(t):
    """select() and pselect(): writable once the tunnel is up."""
    c_case(t, "select")


@test
def test_evloop_c_calls_while_pending(t):
    """While pending: connect -> EALREADY, send/recv -> EAGAIN, getpeername -> ENOTCONN; getsockname,
    getsockopt, setsockopt, fcntl work; after: getpeername the target, connect again -> 0 or EISCONN
    (Linux: 0 the first time) and the tunnel still echoes."""
    c_case(t, "pending")


@test
def test_evloop_c_options_survive(t):
    """SO_RCVBUF and TCP_NODELAY set before connect() (O_NONBLOCK by fcntl) are still set after."""
    c_case(t, "sockopt")


@test
def test_evloop_c_close_while_pending(t):
    """close() while pending (at once, mid-handshake): no crash, no descriptor leaked, and the
    number's next owner (a socketpair, a new proxied socket) is left alone."""
    c_case(t, "close-pending")


@test
def test_evloop_c_100_pending(t):
    """100 non-blocking connects pending at once in one process (epoll): all complete and echo."""
    c_case(t, "many", "100")


@test
def test_evloop_c_failure_epoll_refused(t):
    """The proxy refuses (fakeproxy rep:5): EINPROGRESS, then edge-triggered epoll (registered before
    connect) reports EPOLLOUT or EPOLLERR at once, SO_ERROR is ECONNREFUSED, getpeername ENOTCONN."""
    c_case(t, "fail-epoll", "ECONNREFUSED", proxy=fake_url("rep:5"), delay=0)


@test
def test_evloop_c_failure_poll_timeout(t):
    """A silent proxy with handshake_timeout 1s: EINPROGRESS, then poll() reports POLLOUT or POLLERR
    after about 1 s, SO_ERROR is ETIMEDOUT, getpeername ENOTCONN."""
    conf = t.write("cwd/sx.conf", "proxy %s\nhandshake_timeout 1s\nconnect_timeout 5s\n" % fake_url("silent"))
    c_case(t, "fail-poll", "ETIMEDOUT", conf=conf, delay=1)


# ----- fork -----

@test
def test_evloop_fork_with_connect_pending(t):
    """fork() while a non-blocking connect is pending: the child's own new asyncio connection works,
    and so does the parent's."""
    t.need("fakeproxy", "echo")
    r = t.sx_x(DELAY, [PY, FORK_CLIENT, T4, str(ECHO_PORT)], timeout=20)
    t.check(r.line("CHILD ECHO") == "ok", "the child's asyncio connection failed: %s" % (
        (r.out.strip().splitlines() or ["no output"])[-1]))
    t.check(r.line("PARENT ECHO") == "ok", "the parent's pending connection failed after fork")
    slow = [l for l in r.out.splitlines() if l.startswith("SLOW ")]
    t.check(not slow, "; ".join(slow))
    ready = float((r.line("PARENT READY") or "after 99s").split()[1].rstrip("s"))
    t.check(ready < DELAY_SECONDS + 1.0, "the parent's select() reported its socket writable only after %.2fs "
            "(the relay takes %gs): the wakeup came late" % (ready, DELAY_SECONDS))
    t.expect_ok(r, "fork_client.py")
    t.check(r.seconds < 5, "fork_client.py took %.1fs" % r.seconds)
