"""The engine of non-blocking connects and the close()/epoll_ctl() hooks around it, against what
programs do behind socksify's back: dup2 over a pending descriptor (under valgrind: no freed job
may be touched), close_range over registered epolls and sockets (the engine crashed on a stale
registration), fork while another thread is in epoll_ctl, close from a signal handler (both hung
on epoll_ctl's lock), a raw clone() child closing a pending descriptor, and the placeholder a
pending descriptor holds (no address anyone could connect to, never ready).

engine_cases.c does the work in C (see its header); a hang fails by its bounded waits or the
timeout here, a crash by its exit status, a memory error by valgrind's."""
import os
import shutil

from testcase import test
from topology import DELAY_MODE, DELAY_SECONDS, ECHO_PORT, HERE, T4, fake_url

ENGINE_CASES = os.path.join(HERE, "engine_cases.c")
DELAY = fake_url(DELAY_MODE)
VALGRIND_ERROR = 99

def engine_cases_binary(t):
    return t.compiled(ENGINE_CASES, "-pthread")


def engine_case(t, case, valgrind=False, timeout=30):
    """Runs engine_cases CASE under socksify (the delaying relay) against T's echo server."""
    t.need("fakeproxy", "echo")
    argv = [engine_cases_binary(t), case, T4, str(ECHO_PORT), "%g" % DELAY_SECONDS]
    if valgrind:
        vg = shutil.which("valgrind")
        t.check(vg, "valgrind is not installed (scripts/deps.sh installs it)")
        argv = [vg, "-q", "--error-exitcode=%d" % VALGRIND_ERROR, "--trace-children=no"] + argv
    r = t.sx_x(DELAY, argv, timeout=timeout)
    fails = [l for l in r.out.splitlines() if l.startswith("FAIL ")]
    if r.timed_out:
        t.fail("engine_cases %s did not finish within %ds (a hang)" % (case, timeout))
    if valgrind and r.rc == VALGRIND_ERROR:
        t.fail("engine_cases %s: valgrind found memory errors:\n%s" % (case, r.err.strip()[-3000:]))
    t.check(r.rc == 0 and not fails and "END %s fail=0" % case in r.out,
            "engine_cases %s: exit %s%s" % (case, r.rc, "".join("\n  " + l for l in fails) or
                                            " (crashed? no FAIL line)\n" + r.err.strip()[-1500:]))
    return r


@test
def test_engine_dup2_over_pending_valgrind(t):
    """dup2() over a pending descriptor, under valgrind: read() gets the new file once the
    handshake ends, the engine leaves it alone, and read()/close() touch no freed job."""
    engine_case(t, "dup2-pending", valgrind=True, timeout=60)


@test
def test_engine_stale_epoll_close_range(t):
    """close_range() over a registered epoll and a registered socket: the engine's epoll reusing
    the epoll's number gets no stale registration (no crash), a socket reusing the socket's number
    is not registered for the program."""
    engine_case(t, "stale-epoll")


@test
def test_engine_fork_during_epoll_ctl(t):
    """200 fork()s while another thread runs epoll_ctl(): every child's close() and epoll_ctl() return."""
    engine_case(t, "fork-lock", timeout=60)


@test
def test_engine_close_in_signal_handler(t):
    """close() in a signal handler interrupting epoll_ctl() (a registration exists): no deadlock."""
    engine_case(t, "signal-close")


@test
def test_engine_clone_child_closes_pending(t):
    """A raw clone(SIGCHLD) child that closes a pending descriptor lets go of its number (it is not
    a vfork child); a vfork child closing it leaves the parent's connection alone."""
    engine_case(t, "clone-close")


@test
def test_engine_placeholder_unreachable(t):
    """While pending: no address another process could connect to, poll() reports nothing, epoll
    accepts the descriptor, and a poll() asleep on it wakes when the tunnel is up."""
    engine_case(t, "placeholder")
