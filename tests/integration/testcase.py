"""What a test is: the @test registry (TESTS), TestFailure, and T, the object every test gets —
a private cwd/HOME, helpers that run programs in a namespace and record them, and assertions."""
import json
import os
import shutil

from procs import run, tail, wait_until
from topology import FAKE_PORTS, PY, PYCLIENT, WRAPPER

TESTS = []  # (name, function) in registration order


_compiled = {}   # (run's temp dir, source) -> binary


def test(fn):
    """Registers fn as a test named after it without the "test_" prefix."""
    name = fn.__name__[len("test_"):] if fn.__name__.startswith("test_") else fn.__name__
    if any(n == name for n, _ in TESTS):
        raise RuntimeError("two tests are named %r" % name)
    TESTS.append((name, fn))
    return fn


class TestFailure(Exception):
    pass


def dante_addr(host, port):
    """How danted's log writes an address: ADDR.PORT."""
    return "%s.%d" % (host, port)


class T:
    """What a test gets: a private cwd/HOME in a temp dir, helpers that record every command."""

    def __init__(self, h, name):
        self.h, self.name = h, name
        h.test_seq += 1
        self.dir = os.path.join(h.tmp, "t%03d-%s" % (h.test_seq, name))
        self.home = os.path.join(self.dir, "home")
        self.cwd = os.path.join(self.dir, "cwd")
        os.makedirs(self.home)
        os.makedirs(self.cwd)
        self.records = []
        self.marks = {}
        self.logs_to_show = []

    # ----- servers -----
    def need(self, *names):
        for n in names:
            s = self.h.servers.get(n)
            if s is None:
                raise TestFailure("harness bug: no server %r" % n)
            if s.error:
                raise TestFailure("server %s unavailable: %s" % (n, s.error))
            if s.proc.poll() is not None:
                raise TestFailure("server %s died (status %s):\n%s" % (n, s.proc.returncode, tail(s.log)))
            if s.watch_log not in self.logs_to_show:
                self.logs_to_show.append(s.watch_log)
            try:
                self.marks[n] = os.path.getsize(s.watch_log)
            except OSError:
                self.marks[n] = 0

    def server_log_since(self, name):
        s = self.h.servers[name]
        try:
            with open(s.watch_log, errors="replace") as f:
                f.seek(self.marks.get(name, 0))
                return f.read()
        except OSError:
            return ""

    def fake_records(self, mode):
        out = []
        for line in self.server_log_since("fakeproxy").splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if rec.get("port") == FAKE_PORTS[mode]:
                out.append(rec)
        return out

    def wait_log(self, name, predicate, seconds=5):
        return wait_until(lambda: predicate(self.server_log_since(name)), seconds)

    # ----- files -----
    def write(self, relpath, text):
        path = os.path.join(self.dir, relpath)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        return path

    # ----- running programs -----
    def env(self, **extra):
        e = self.h.base_env(self.home)
        e.update(extra)
        return e

    def run(self, argv, ns="c", env=None, timeout=20, input_text=None, cwd=None):
        r = run(argv, timeout=timeout, env=env if env is not None else self.env(), cwd=cwd or self.cwd,
                input_text=input_text, ns=self.h.ns[ns] if ns else None)
        self.records.append(r)
        return r

    def compiled(self, src, *flags):
        """The C program at src, compiled with cc (and flags: -pthread, -lresolv...) into this run's
        temp dir, once per run; its path."""
        key = (self.h.tmp, src, flags)
        path = _compiled.get(key)
        if path and os.path.exists(path):
            return path
        cc = shutil.which("cc") or shutil.which("gcc")
        self.check(cc, "no C compiler (cc) to build %s" % os.path.basename(src))
        # The same source built for another class (-m32) gets its own binary.
        path = os.path.join(self.h.tmp, os.path.splitext(os.path.basename(src))[0] + ("-m32" if "-m32" in flags else ""))
        r = self.run([cc, "-O1", "-g", "-Wall", "-Wextra", "-o", path, src] + list(flags), ns=None, timeout=60)
        self.expect_ok(r, "cc %s" % os.path.basename(src))
        _compiled[key] = path
        return path

    def sx(self, args, env=None, **kw):
        """the socksify command: socksify ARGS, in C."""
        return self.run([WRAPPER] + list(args), env=env, **kw)

    def sx_x(self, url, program, env=None, opts=(), **kw):
        """socksify [OPTS] -x URL -- PROGRAM, in C."""
        return self.sx(list(opts) + ["-x", url, "--"] + list(program), env=env, **kw)

    def sx_f(self, conf, program, env=None, **kw):
        """socksify -f CONF -- PROGRAM, in C."""
        return self.sx(["-f", conf, "--"] + list(program), env=env, **kw)

    def curl(self, url):
        return ["curl", "-q", "-sS", "--noproxy", "", "--max-time", "10", url]

    def wget(self, url):
        return ["wget", "-qO-", "--no-proxy", "--timeout=10", "--tries=1", url]

    def pyclient(self, host, port, *opts):
        return [PY, PYCLIENT] + list(opts) + [host, str(port)]

    def pyclient_by_name(self, name, port):
        """A python3 client that connects by name (create_connection: getaddrinfo, then connect) and echoes."""
        code = ("import socket,sys; s=socket.create_connection((%r,%d),timeout=10); s.sendall(b'hi\\n');"
                "sys.exit(0 if s.recv(10)==b'hi\\n' else 1)" % (name, port))
        return [PY, "-c", code]

    # ----- assertions -----
    def fail(self, msg):
        raise TestFailure(msg)

    def check(self, cond, msg):
        if not cond:
            raise TestFailure(msg)

    def expect_ok(self, r, what="command"):
        if r.rc != 0:
            self.fail("%s exited with status %s%s (expected 0)" % (what, r.rc, " after timeout" if r.timed_out else ""))

    def expect_token(self, r):
        self.expect_ok(r)
        if r.out != self.h.token:
            self.fail("body is %r, expected the token %r" % (r.out[:200], self.h.token))

    def expect_echo(self, r, host, port, data="hello from pyclient"):
        if r.rc != 0:
            self.fail("pyclient exited with status %s (%s), expected a working connection" % (
                r.rc, ("errno " + r.errno_name()) if r.errno_name() else ("timeout" if r.timed_out else "no errno")))
        peer = r.line("PEER")
        self.check(peer == "%s %d" % (host, port),
                   "getpeername() returned %r, expected the target %s port %d" % (peer, host, port))
        self.check(r.line("ECHO") == data, "echo was %r, expected %r" % (r.line("ECHO"), data))

    def expect_errno(self, r, name):
        got = r.errno_name()
        if r.rc == 3 and got == name:
            return
        if r.rc == 0:
            self.fail("connection succeeded, expected it to fail with %s" % name)
        if r.timed_out or r.rc == 6:
            self.fail("client timed out, expected %s" % name)
        hint = " (ENETUNREACH from C usually means a direct connection was attempted)" if got == "ENETUNREACH" else ""
        self.fail("got %s (pyclient exit %s), expected %s%s" % (got or "no errno", r.rc, name, hint))

    def dante_saw(self, name, dest):
        """danted logs 'tcp/connect [: ... -> ... <dest>' with dest as ADDR.PORT."""
        return self.wait_log(name, lambda text: any("tcp/connect" in l and dest in l for l in text.splitlines()))

    # ----- more clients and proxy logs (proxy kinds, chains, routes) -----
    def curl_many(self, *urls):
        """One curl process fetching several URLs in order: one connection each (T's HTTP/1.0
        server closes after every response), for chains that change from connection to connection."""
        return ["curl", "-q", "-sS", "--noproxy", "", "--max-time", "20"] + list(urls)

    def expect_tokens(self, r, n):
        """r printed the token n times (curl_many with n URLs)."""
        self.expect_ok(r)
        if r.out != self.h.token * n:
            self.fail("body is %r, expected the token %r %d times" % (r.out[:300], self.h.token, n))

    def expect_any_errno(self, r, but=("ENETUNREACH",)):
        """pyclient's connect() failed with some errno (not one of but: ENETUNREACH from C means a
        direct connection was attempted); returns its name."""
        got = r.errno_name()
        if r.rc == 0:
            self.fail("connection succeeded, expected it to fail")
        if r.timed_out or r.rc == 6:
            self.fail("client timed out, expected connect() to fail with an errno")
        if r.rc != 3 or not got:
            self.fail("pyclient exit %s with %s, expected connect() to fail with an errno" % (r.rc, got or "no errno"))
        self.check(got not in but, "connect() failed with %s%s" % (
            got, " (a direct connection was attempted)" if got == "ENETUNREACH" else ""))
        return got

    def log_lines(self, name, *needles):
        """Lines of server name's log, written during the test, containing every needle."""
        return [l for l in self.server_log_since(name).splitlines() if all(n in l for n in needles)]

    def wait_lines(self, name, count, *needles, seconds=5):
        """Waits (bounded) until server name's log has at least count lines with every needle; returns them."""
        self.wait_log(name, lambda _text: len(self.log_lines(name, *needles)) >= count, seconds)
        return self.log_lines(name, *needles)

    @staticmethod
    def tiny_request(hostport):
        """What tinyproxy logs for a CONNECT: 'Request (file descriptor N): CONNECT HOST:PORT HTTP/1.1'
        (an IPv6 HOST in brackets)."""
        return "CONNECT %s HTTP/" % hostport

    def tiny_saw(self, name, hostport):
        return bool(self.wait_lines(name, 1, self.tiny_request(hostport)))

    @staticmethod
    def ssh_request(host, port, kind=None):
        """What ssh -D logs (-vv) for a SOCKS request: 'dynamic request: socks4 host HOST port PORT
        command 1' (kind socks4 for SOCKS4 and 4a, socks5; HOST is the name for 4a and socks5 by name)."""
        return "%shost %s port %d command" % ("dynamic request: %s " % kind if kind else "", host, port)

    def ssh_saw(self, host, port, kind=None):
        return bool(self.wait_lines("ssh-socks", 1, "dynamic request:", self.ssh_request(host, port, kind)))

    @staticmethod
    def ms_request(host, port):
        """What microsocks prints (stdout) for a CONNECT: 'client[N] CLIENT: connected to HOST:PORT'."""
        return ": connected to %s:%d" % (host, port)

    def ms_saw(self, name, host, port):
        return bool(self.wait_lines(name, 1, self.ms_request(host, port)))
