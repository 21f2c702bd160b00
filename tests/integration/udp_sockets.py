#!/usr/bin/python3
"""UDP sockets used the ways real programs use them, for the socksify integration tests (stdlib only).

usage: udp_sockets.py [--budget SECONDS] MODE HOST PORT [N]

Against udpecho.py at HOST:PORT (a literal address). Wherever a datagram may be lost, the sender
waits a bounded time for its answer and sends it again (RESENT counts those extra sends). Modes:
  threads-shared   one socket (no association yet) shared by 8 threads released together:
                   each sendto()s N (default 25) datagrams tagged with its number and recvfrom()s
                   on the same socket. An answer may reach any thread: every answer goes into one
                   shared table, and each thread waits (bounded, sending again) until its own
                   message is in it before sending the next (the reader of an answer wakes its
                   owner through the owner's pipe). The first sendto()s race to make the
                   association.
  threads-own      8 threads, each with a socket of its own: WHOAMI, then N tagged round trips
  fork             the parent: WHOAMI (makes the association); fork(); the child: WHOAMI and an
                   echo on the inherited socket, exit 0 (without closing it); the parent waits,
                   then WHOAMI again; a second child does the same but close()s the socket before
                   it exits; the parent again; then the parent closes the socket and a fresh one
                   does WHOAMI
  nonblock         for each of selectors.SelectSelector, PollSelector, EpollSelector: a
                   non-blocking socket: recv on it before anything -> EAGAIN; sendto WHOAMI;
                   select for read readiness; recvfrom; recv(MSG_DONTWAIT) on the empty socket ->
                   EAGAIN; select(timeout 0) -> not ready; sendto; select; recvfrom(MSG_DONTWAIT)
                   -> the data; then the socket made blocking: recv(MSG_DONTWAIT) -> EAGAIN,
                   sendto, select, recv(MSG_DONTWAIT) -> the data; writability is immediate
  storm            N (default 1000) datagrams of sizes 1..1400, each numbered, through one
                   socket, at most 64 unanswered at a time; one unanswered after 0.5 s is lost
                   and sent again (at most 5 times)
Output lines (stdout):
  SEEN <who> <addr> <port>     what udpecho.py saw (WHOAMI) for parent/child1/child2/fresh, thread i, or a selector
  FROM <who> <addr> <port>     where an answer came from (if not the target: BAD too)
  RESULT <who> <step> <ok|NAME>  nonblock: each step's outcome (NAME: an errno, "ready", "notready", "data")
  CHILD <n> STATUS <status>    fork: the children's exit status
  THREADS <n> MESSAGES <m> DONE <k>   threads: how many messages came back to the table
  STORM SENT <n> ANSWERED <k> LOST_FIRST <l> RESENT <r> MISSING <m> DUPLICATES <d> CORRUPT <c> WALL <s>
  BAD <what>                   a wrong answer, address or outcome
  ERRNO <NAME> <where>         an unexpected OSError
  RESENT <n>
  DONE
Exit status: 0 ok; 3 an unexpected OSError; 4 a wrong answer; 6 timeout.
"""
import argparse
import errno
import os
import select
import selectors
import socket
import sys
import threading
import time

LOCK = threading.Lock()
BAD = []
RESENT = 0
TARGET = None
DEADLINE = None


def say(line):
    with LOCK:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def bad(what):
    with LOCK:
        BAD.append(what)
    say("BAD %s" % what)


def errname(e):
    return errno.errorcode.get(e, "E%s" % e) if e is not None else "timeout"


class Timeout(Exception):
    pass


def left():
    t = DEADLINE - time.monotonic()
    if t <= 0:
        raise Timeout("budget")
    return t


def new_socket():
    return socket.socket(socket.AF_INET6 if ":" in TARGET[0] else socket.AF_INET, socket.SOCK_DGRAM)


def check_from(who, src):
    if (src[0], src[1]) != TARGET:
        bad("%s: an answer came from %r, expected the target %r" % (who, src, TARGET))


def round_trip(s, data, who, tries=6, wait=0.5):
    """sendto + recvfrom on a blocking socket, sending again after wait; skips late duplicates."""
    global RESENT
    want = (lambda g: g.startswith(b"YOU ARE ")) if data == b"WHOAMI" else (lambda g: g == data)
    for attempt in range(tries):
        if attempt:
            with LOCK:
                RESENT += 1
        s.sendto(data, TARGET)
        until = time.monotonic() + wait
        while True:
            s.settimeout(max(0.001, min(until - time.monotonic(), left())))
            try:
                got, src = s.recvfrom(65536)
            except socket.timeout:
                if time.monotonic() >= until:
                    break
                continue
            finally:
                s.settimeout(None)
            check_from(who, src)
            if want(got):
                return got
            say("STRAY %s %r" % (who, got[:60]))
    raise Timeout("%s: no answer to %r after %d tries" % (who, data[:40], tries))


def whoami(s, who):
    got = round_trip(s, b"WHOAMI", who)
    seen = got[len(b"YOU ARE "):].decode()
    say("SEEN %s %s" % (who, seen))
    return seen


# ----- threads -----

def mode_threads_shared(n):
    nthreads = 8
    s = new_socket()
    answers = {}              # message -> times it came back
    total = nthreads * n
    start = threading.Barrier(nthreads)
    errors = []
    # Thread i sleeps in select() on the socket and on its own pipe; whoever reads an answer
    # tagged "t<i>-" wakes thread i through that pipe (and everyone once all answers are in).
    wake = [os.pipe() for _ in range(nthreads)]
    for r, w in wake:
        os.set_blocking(r, False)
        os.set_blocking(w, False)

    def poke(k):
        try:
            os.write(wake[k][1], b"x")
        except BlockingIOError:
            pass

    def reader_step(i, sel, until):
        """Waits (bounded) for the shared socket or thread i's pipe; one recvfrom into the table."""
        for key, _ev in sel.select(max(0.0, min(until - time.monotonic(), left()))):
            if key.fd == wake[i][0]:
                try:
                    os.read(wake[i][0], 4096)
                except BlockingIOError:
                    pass
        try:
            got, src = s.recvfrom(65536, socket.MSG_DONTWAIT)
        except BlockingIOError:
            return              # nothing there, or another thread took it
        check_from("thread%d" % i, src)
        with LOCK:
            answers[got] = answers.get(got, 0) + 1
            done = len(answers) >= total
        owner = got[1:got.find(b"-")] if got.startswith(b"t") else b""
        if done:
            for k in range(nthreads):
                poke(k)
        elif owner.isdigit() and int(owner) < nthreads and int(owner) != i:
            poke(int(owner))

    def worker(i):
        global RESENT
        who = "thread%d" % i
        sel = selectors.DefaultSelector()
        try:
            sel.register(s, selectors.EVENT_READ)
            sel.register(wake[i][0], selectors.EVENT_READ)
            start.wait(timeout=left())
            for j in range(n):
                msg = ("t%d-m%d " % (i, j)).encode() + b"x" * (j % 50)
                for attempt in range(8):
                    if attempt:
                        with LOCK:
                            RESENT += 1
                    s.sendto(msg, TARGET)
                    until = time.monotonic() + 0.5
                    while msg not in answers and time.monotonic() < until:
                        reader_step(i, sel, until)
                    if msg in answers:
                        break
                else:
                    raise Timeout("%s: no answer to %r" % (who, msg))
            # Keep reading for the others until every thread's messages are in.
            while len(answers) < total:
                reader_step(i, sel, time.monotonic() + 1)
        except (OSError, Timeout, threading.BrokenBarrierError) as e:
            errors.append("%s: %s %s" % (who, errname(getattr(e, "errno", None)) if isinstance(e, OSError) else "",
                                          e))
        finally:
            sel.close()

    ths = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(nthreads)]
    for th in ths:
        th.start()
    for th in ths:
        th.join(max(0.0, DEADLINE - time.monotonic()) + 1)
    sent = {("t%d-m%d " % (i, j)).encode() + b"x" * (j % 50) for i in range(nthreads) for j in range(n)}
    strange = [k for k in answers if k not in sent]
    for k in strange:
        bad("an answer nobody sent: %r" % k[:60])
    missing = len(sent - set(answers))
    say("THREADS %d MESSAGES %d DONE %d" % (nthreads, len(sent), len(sent & set(answers))))
    for e in errors:
        bad(e)
    if missing or any(th.is_alive() for th in ths):
        raise Timeout("%d messages never came back" % missing)


def mode_threads_own(n):
    nthreads = 8
    start = threading.Barrier(nthreads)
    errors = []
    done = []

    def worker(i):
        who = "thread%d" % i
        try:
            s = new_socket()
            start.wait(timeout=left())
            whoami(s, who)
            for j in range(n):
                msg = ("own t%d-m%d " % (i, j)).encode() + b"y" * (j * 7 % 100)
                round_trip(s, msg, who)
            s.close()
            done.append(i)
        except (OSError, Timeout, threading.BrokenBarrierError) as e:
            errors.append("%s: %s %s" % (who, errname(e.errno) if isinstance(e, OSError) else "", e))

    ths = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(nthreads)]
    for th in ths:
        th.start()
    for th in ths:
        th.join(max(0.0, DEADLINE - time.monotonic()) + 1)
    say("THREADS %d MESSAGES %d DONE %d" % (nthreads, nthreads * n, len(done) * n))
    for e in errors:
        bad(e)
    if len(done) != nthreads:
        raise Timeout("%d threads did not finish" % (nthreads - len(done)))


# ----- fork -----

def child_round_trip(s, who, close_first):
    """In the child: WHOAMI and an echo on the inherited socket; exit 0 if both came back right."""
    status = 0
    try:
        whoami(s, who)
        text = ("%s echo" % who).encode()
        if round_trip(s, text, who) != text:
            status = 4
        if close_first:
            s.close()
    except Timeout as e:
        say("TIMEOUT %s" % e)
        status = 6
    except OSError as e:
        say("ERRNO %s %s" % (errname(e.errno), who))
        status = 3
    if BAD:
        status = status or 4
    sys.stdout.flush()
    os._exit(status)


def wait_child(pid, k):
    """waitpid, bounded by the budget (select() on a pidfd for the child's exit)."""
    fd = os.pidfd_open(pid)
    try:
        if not select.select([fd], [], [], max(0.0, DEADLINE - time.monotonic()))[0]:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            raise Timeout("child %d did not exit" % k)
    finally:
        os.close(fd)
    _pid, st = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(st)
    say("CHILD %d STATUS %d" % (k, code))
    if code != 0:
        bad("child %d exited with %d" % (k, code))


def mode_fork(_n):
    s = new_socket()
    first = whoami(s, "parent")
    for k, close_first in ((1, False), (2, True)):
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            child_round_trip(s, "child%d" % k, close_first)
        wait_child(pid, k)
        again = whoami(s, "parent%d" % k)
        if again != first:
            bad("after child %d the parent's datagrams come from %s, before from %s (not the same association)"
                % (k, again, first))
    s.close()
    s2 = new_socket()
    whoami(s2, "fresh")
    text = b"fresh socket echo"
    round_trip(s2, text, "fresh")
    s2.close()


# ----- non-blocking sockets and selectors -----

def expect_eagain(who, step, fn):
    try:
        got = fn()
    except BlockingIOError as e:
        say("RESULT %s %s %s" % (who, step, errname(e.errno)))
        return
    say("RESULT %s %s data" % (who, step))
    bad("%s: %s returned %r, expected EAGAIN (BlockingIOError)" % (who, step, got))


def wait_readable(sel, who, step):
    ev = sel.select(min(5.0, left()))
    say("RESULT %s %s %s" % (who, step, "ready" if ev else "notready"))
    if not ev:
        raise Timeout("%s: %s: no read readiness within 5 s" % (who, step))


def mode_nonblock(_n):
    for name in ("SelectSelector", "PollSelector", "EpollSelector"):
        who = name[:-len("Selector")].lower()
        sel = getattr(selectors, name)()
        s = new_socket()
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE)
        ev = sel.select(0)
        writable = any(m & selectors.EVENT_WRITE for _k, m in ev)
        readable = any(m & selectors.EVENT_READ for _k, m in ev)
        say("RESULT %s writable-at-once %s" % (who, "ok" if writable and not readable else "no"))
        if not writable or readable:
            bad("%s: a fresh socket: select(0) gave %r, expected writable only" % (who, ev))
        sel.modify(s, selectors.EVENT_READ)
        expect_eagain(who, "recv-before-anything", lambda: s.recv(100))
        s.sendto(b"WHOAMI", TARGET)          # the association (waits for its handshake once)
        wait_readable(sel, who, "select-whoami")
        got, src = s.recvfrom(65536)
        check_from(who, src)
        say("SEEN %s %s" % (who, got[len(b"YOU ARE "):].decode()))
        if not got.startswith(b"YOU ARE "):
            bad("%s: WHOAMI answered %r" % (who, got[:60]))
        expect_eagain(who, "recv-dontwait-empty", lambda: s.recv(100, socket.MSG_DONTWAIT))
        ev = sel.select(0)
        say("RESULT %s select-empty %s" % (who, "ready" if ev else "notready"))
        if ev:
            bad("%s: select(0) says readable on an empty socket" % who)
        text = ("%s nonblocking" % who).encode()
        s.sendto(text, TARGET)
        wait_readable(sel, who, "select-data")
        got, src = s.recvfrom(65536, socket.MSG_DONTWAIT)
        check_from(who, src)
        say("RESULT %s recvfrom-dontwait %s" % (who, "data" if got == text else "wrong"))
        if got != text:
            bad("%s: recvfrom(MSG_DONTWAIT) gave %r, expected %r" % (who, got[:60], text))
        expect_eagain(who, "recv-dontwait-empty-again", lambda: s.recv(100, socket.MSG_DONTWAIT))
        # A blocking socket: MSG_DONTWAIT alone makes the call non-blocking.
        s.setblocking(True)
        expect_eagain(who, "blocking-recv-dontwait-empty", lambda: s.recv(100, socket.MSG_DONTWAIT))
        text = ("%s blocking" % who).encode()
        s.sendto(text, TARGET)
        wait_readable(sel, who, "select-blocking")
        got = s.recv(65536, socket.MSG_DONTWAIT)
        say("RESULT %s blocking-recv-dontwait %s" % (who, "data" if got == text else "wrong"))
        if got != text:
            bad("%s: recv(MSG_DONTWAIT) gave %r, expected %r" % (who, got[:60], text))
        sel.close()
        s.close()


# ----- storm -----

def payload(seq):
    size = 1 + (seq * 37) % 1400
    head = b"%06d:" % seq
    body = bytes((seq + k) % 251 for k in range(max(0, size - len(head))))
    return (head + body)[:size] if size >= len(head) else head


def mode_storm(n):
    global RESENT
    window, expiry, max_tries = 64, 0.5, 6
    s = new_socket()
    s.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(s, selectors.EVENT_READ)
    data = {seq: payload(seq) for seq in range(n)}
    tries = {}
    outstanding = {}              # seq -> time sent
    answered = set()
    lost_first = duplicates = corrupt = 0
    nxt = 0
    t0 = time.monotonic()
    while len(answered) < n:
        left()
        now = time.monotonic()
        for seq, at in list(outstanding.items()):   # expired: lost (or late), send again
            if now - at > expiry:
                if tries[seq] == 1:
                    lost_first += 1
                if tries[seq] >= max_tries:
                    raise Timeout("datagram %d: no answer after %d tries" % (seq, max_tries))
                tries[seq] += 1
                RESENT += 1
                s.sendto(data[seq], TARGET)
                outstanding[seq] = now
        while nxt < n and len(outstanding) < window:
            try:
                s.sendto(data[nxt], TARGET)
            except BlockingIOError:
                break
            tries[nxt] = 1
            outstanding[nxt] = time.monotonic()
            nxt += 1
        sel.select(0.05)
        while True:
            try:
                got, src = s.recvfrom(65536)
            except BlockingIOError:
                break
            if (src[0], src[1]) != TARGET:
                corrupt += 1
                bad("storm: an answer from %r" % (src,))
                continue
            try:
                seq = int(got[:6])
            except ValueError:
                seq = -1
            if seq not in data or data[seq] != got:
                corrupt += 1
                bad("storm: a wrong answer %r (%d bytes)" % (got[:20], len(got)))
                continue
            if seq in answered:
                duplicates += 1
                continue
            answered.add(seq)
            outstanding.pop(seq, None)
    wall = time.monotonic() - t0
    say("STORM SENT %d ANSWERED %d LOST_FIRST %d RESENT %d MISSING %d DUPLICATES %d CORRUPT %d WALL %.3f" % (
        n, len(answered), lost_first, RESENT, n - len(answered), duplicates, corrupt, wall))


MODES = {"threads-shared": mode_threads_shared, "threads-own": mode_threads_own,
         "fork": mode_fork, "nonblock": mode_nonblock, "storm": mode_storm}
DEFAULT_N = {"threads-shared": 25, "threads-own": 10, "fork": 0, "nonblock": 0, "storm": 1000}


def main():
    global TARGET, DEADLINE
    ap = argparse.ArgumentParser()
    ap.add_argument("--budget", type=float, default=15.0)
    ap.add_argument("mode", choices=sorted(MODES))
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("n", nargs="?", type=int)
    a = ap.parse_args()
    TARGET = (a.host, a.port)
    DEADLINE = time.monotonic() + a.budget
    status = 0
    try:
        MODES[a.mode](a.n if a.n is not None else DEFAULT_N[a.mode])
    except Timeout as e:
        say("TIMEOUT %s" % e)
        status = 6
    except OSError as e:
        say("ERRNO %s %s" % (errname(e.errno), e))
        status = 3
    say("RESENT %d" % RESENT)
    if not status and not BAD:
        say("DONE")
    sys.exit(status or (4 if BAD else 0))


if __name__ == "__main__":
    main()
