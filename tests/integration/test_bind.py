"""BIND: listeners meant for the proxy (core/bind_rule.h) go through it. Active FTP with curl
(EPRT and PORT) from an FTP server in T through danted, with no packet leaving C except to the
proxy; the raw BIND sequence (bind_client.c: blocking accept, poll, epoll, accept4) against danted
and against fakeproxy's scripted BIND faults (early, malformed, late, missing and refused second
replies: the errno the program sees, never a hang); listeners not meant for the proxy stay local."""
import os
import secrets
import selectors
import subprocess
import time

from capture import Capture, packets
from procs import killpg, wait_until
from testcase import test
from topology import C4, DANTE_PORT, ECHO_PORT, FAKE_PORTS, HERE, P4C, P4T, P6T, PRELOAD, PY, T4, T6, WRAPPER

DANTE = "socks5://%s:%d" % (P4C, DANTE_PORT)
FTP_PORT = 2121
BIND_CLIENT = os.path.join(HERE, "bind_client.c")
SLOW_THREAD = os.path.join(HERE, "slowthread.c")
# fakeproxy.py's scripted BIND answers.
FAKE_LISTEN = ("10.77.2.1", 4242)
FAKE_PEER = ("10.77.2.2", 2020)
FAKE_DATA = "BIND-DATA from the peer"
FAKE_CONTROL = "CONTROL after the peer connected"


# ---------- helpers ----------

class Background:
    """A program in a namespace in its own session, its stdout read line by line with deadlines."""

    def __init__(self, t, argv, ns="c", env=None):
        self.t = t
        self.argv = argv
        self.err_path = os.path.join(t.dir, "bg-%s.err" % secrets.token_hex(4))
        self.err = open(self.err_path, "w")
        self.proc = subprocess.Popen(["ip", "netns", "exec", t.h.ns[ns]] + argv, env=env or t.env(), cwd=t.cwd,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self.err,
                                     start_new_session=True)
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.proc.stdout, selectors.EVENT_READ)
        self.buf = b""
        self.lines = []

    def _read(self, seconds):
        for _key, _ev in self.sel.select(seconds):
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            if not chunk:
                return False
            self.buf += chunk
            *done, self.buf = self.buf.split(b"\n")
            self.lines += [l.decode(errors="replace") for l in done]
        return True

    def line_starting(self, prefix, seconds=10):
        """The first output line that starts with prefix, waiting up to seconds; None if none came."""
        deadline = time.monotonic() + seconds
        while True:
            for l in self.lines:
                if l.startswith(prefix):
                    return l
            left = deadline - time.monotonic()
            if left <= 0 or not self._read(left):
                return next((l for l in self.lines if l.startswith(prefix)), None)

    def finish(self, seconds=20):
        """Waits for the program to end (killed after seconds); (status, all output lines)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and self._read(max(0.0, deadline - time.monotonic())):
            pass
        try:
            self.proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            killpg(self.proc.pid, 9)
            self.proc.wait()
        self.proc.stdout.close()
        self.err.close()
        if self.buf:
            self.lines.append(self.buf.decode(errors="replace"))
        return self.proc.returncode, self.lines

    def stderr(self):
        with open(self.err_path, errors="replace") as f:
            return f.read()

    def kill(self):
        if self.proc.poll() is None:
            killpg(self.proc.pid, 9)
            self.proc.wait()


def ftp_server(t, token):
    """pyftpdlib in T on T4:FTP_PORT (anonymous, read-only, debug log with every command),
    serving token.txt; returns (the Background, the path of its log)."""
    root = os.path.join(t.dir, "ftp-root")
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, "token.txt"), "w") as f:
        f.write(token)
    srv = Background(t, [PY, "-m", "pyftpdlib", "-i", T4, "-p", str(FTP_PORT), "-d", root, "-D"], ns="t")
    listening = wait_until(lambda: t.h.is_listening(t.h.listening(t.h.ns["t"]), T4, FTP_PORT) or
                           srv.proc.poll() is not None, 15)
    if not listening or srv.proc.poll() is not None:
        srv.kill()
        t.fail("pyftpdlib did not listen on %s:%d:\n%s" % (T4, FTP_PORT, srv.stderr()))
    return srv


def bind_client(t, opts, host, port, local, wait):
    """bind_client.c under socksify OPTS, in the background."""
    exe = t.compiled(BIND_CLIENT)
    return Background(t, [WRAPPER] + list(opts) + ["--", exe, host, str(port), local, wait])


def field(line, n):
    return line.split()[n] if line and len(line.split()) > n else None


def peer_connects(t, addr, port, text):
    """From T, connects to addr:port, sends a line of text, returns what comes back (a line)."""
    code = ("import socket,sys\ns=socket.create_connection((%r,%d),timeout=10)\ns.sendall(%r)\n"
            "print(s.makefile().readline().strip())" % (addr, port, (text + "\n").encode()))
    return t.run([PY, "-c", code], ns="t", timeout=15)


def expect_lines(t, lines, *wanted):
    for w in wanted:
        t.check(w in lines, "bind_client did not print %r: %r" % (w, lines))


# ---------- curl, active FTP, through danted ----------

def active_ftp(t, curl_opts, command):
    t.need("danted")
    token = "ftp-token-" + secrets.token_hex(8)
    srv = ftp_server(t, token)
    cap = None
    try:
        cap = Capture(t)
        r = t.sx_x(DANTE, ["curl", "-q", "-sS", "--max-time", "20", "-P", "-"] + curl_opts +
                   ["ftp://%s:%d/token.txt" % (T4, FTP_PORT)], env=t.env(SOCKSIFY_LOG_LEVEL="info"), timeout=30)
        time.sleep(0.2)   # let the last FIN/ACKs reach the capture before it stops (not synchronisation)
        lines = cap.stop()
    finally:
        if cap:
            cap.stop()
        srv.kill()
        _rc, log = srv.finish(5)
    t.expect_ok(r, "curl -P - (active FTP) through danted")
    t.check(r.out == token, "curl got %r, not the token %r" % (r.out, token))
    said = "\n".join(log) + srv.stderr()
    t.check(("%s %s" % ("<-", command)) in said or ("%s " % command) in said,
            "the FTP server never saw %s:\n%s" % (command, said[-2000:]))
    t.check(P4T.replace(".", ",") in said or P4T in said,
            "the announced address is not danted's external %s:\n%s" % (P4T, said[-2000:]))
    t.check("BIND for a peer at %s:0" % T4 in r.err, "socksify did not log the BIND:\n%s" % r.err)
    t.check(t.wait_log("danted", lambda s: "bindreply" in s), "danted did not log a bindreply")
    stray = [l for src, dst, l in packets(t, lines)
             if not ((src[0] == C4 and dst == (P4C, DANTE_PORT)) or (src == (P4C, DANTE_PORT) and dst[0] == C4))]
    t.check(lines, "tcpdump captured nothing")
    t.check(not stray, "packets not between C and danted %s:%d: %r" % (P4C, DANTE_PORT, stray[:5]))


@test
def test_bind_curl_active_ftp_eprt(t):
    """curl -P - announces danted's bound address with EPRT; the file arrives; only proxy traffic leaves C."""
    active_ftp(t, [], "EPRT")


@test
def test_bind_curl_active_ftp_port(t):
    """The same with PORT (--disable-eprt)."""
    active_ftp(t, ["--disable-eprt"], "PORT")


@test
def test_bind_curl_active_ftp_sequential(t):
    """Three files over one control connection: a listener, and a BIND, per transfer."""
    t.need("danted")
    tokens = ["seq-%d-%s" % (i, secrets.token_hex(6)) for i in range(3)]
    root = os.path.join(t.dir, "ftp-root")
    os.makedirs(root, exist_ok=True)
    for i, tok in enumerate(tokens[1:], 1):
        with open(os.path.join(root, "token%d.txt" % i), "w") as f:
            f.write(tok)
    srv = ftp_server(t, tokens[0])
    try:
        urls = ["ftp://%s:%d/%s" % (T4, FTP_PORT, name) for name in ("token.txt", "token1.txt", "token2.txt")]
        r = t.sx_x(DANTE, ["curl", "-q", "-sS", "--max-time", "30", "-P", "-"] + urls,
                   env=t.env(SOCKSIFY_LOG_LEVEL="info"), timeout=40)
    finally:
        srv.kill()
        srv.finish(5)
    t.expect_ok(r, "curl -P - with three files")
    t.check(r.out == "".join(tokens), "curl got %r, not %r" % (r.out, "".join(tokens)))
    t.check(r.err.count("connect %s:%d via" % (T4, FTP_PORT)) == 1, "not one control connection:\n%s" % r.err)
    t.check(r.err.count(" connected") == 3, "not three connections through BIND:\n%s" % r.err)


# ---------- the raw sequence against danted ----------

def raw_danted(t, wait, target=T4, local="0.0.0.0", external=P4T):
    t.need("danted", "echo")
    bg = bind_client(t, ["-x", DANTE], target, ECHO_PORT, local, wait)
    try:
        bound = bg.line_starting("BOUND", 15)
        t.check(bound, "bind_client printed no BOUND line: %r\n%s" % (bg.lines, bg.stderr()))
        t.check(field(bound, 1) == external, "getsockname is not danted's external address %s: %s\n%s" % (
            external, bound, bg.stderr()))
        text = "hello-from-T-" + secrets.token_hex(4)
        r = peer_connects(t, field(bound, 1), int(field(bound, 2)), text)
        rc, lines = bg.finish(20)
    finally:
        bg.kill()
    t.expect_ok(r, "the peer in T")
    t.check(r.out.strip() == "ACK", "the peer got %r, not ACK" % r.out)
    t.check(rc == 0, "bind_client exited %s: %r\n%s" % (rc, lines, bg.stderr()))
    peer = [l for l in lines if l.startswith("PEER ")]
    t.check(peer and field(peer[0], 1) == target, "accept's peer is not %s: %r" % (target, lines))
    getpeer = [l for l in lines if l.startswith("GETPEERNAME ")]
    t.check(getpeer and getpeer[0].replace("GETPEERNAME", "PEER") == peer[0],
            "getpeername differs from accept's address: %r" % lines)
    expect_lines(t, lines, "DATA " + text, "AGAIN ERRNO EINVAL")


@test
def test_bind_raw_danted_blocking_accept(t):
    raw_danted(t, "block")


@test
def test_bind_raw_danted_poll_accept4(t):
    raw_danted(t, "poll")


@test
def test_bind_raw_danted_epoll(t):
    raw_danted(t, "epoll")


@test
def test_bind_raw_danted_ipv6(t):
    """An IPv6 listener (::) while an IPv6 target is proxied: danted listens on its IPv6 side."""
    raw_danted(t, "block", T6, "::", P6T)


# ---------- scripted faults (fakeproxy) ----------

def fake_bind(t, mode, wait="block", timeout="1s"):
    """bind_client through fakeproxy's BIND mode; (status, lines, seconds, bound line)."""
    t.need("fakeproxy", "echo")
    conf = t.write("cwd/sx.conf", "proxy socks5://%s:%d\nbind_timeout %s\n" % (P4C, FAKE_PORTS[mode], timeout))
    start = time.monotonic()
    bg = bind_client(t, ["-f", conf], T4, ECHO_PORT, "0.0.0.0", wait)
    try:
        bound = bg.line_starting("BOUND", 10)
        rc, lines = bg.finish(15)
    finally:
        bg.kill()
    t.check(bound == "BOUND %s %d" % FAKE_LISTEN, "getsockname is not the first reply's %s:%d: %r\n%s" % (
        FAKE_LISTEN + (bg.lines, bg.stderr())))
    return rc, lines, time.monotonic() - start


@test
def test_bind_fake_early_second_reply(t):
    """Both replies and the peer's first bytes in one segment: nothing is lost, for either wait."""
    for wait in ("block", "poll"):
        rc, lines, _s = fake_bind(t, "bind-early", wait)
        t.check(rc == 0, "bind_client (%s) exited %s: %r" % (wait, rc, lines))
        expect_lines(t, lines, "PEER %s %d" % FAKE_PEER, "GETPEERNAME %s %d" % FAKE_PEER, "DATA " + FAKE_DATA)


@test
def test_bind_fake_malformed_second_reply(t):
    for wait in ("block", "epoll"):
        _rc, lines, _s = fake_bind(t, "bind-malformed", wait)
        expect_lines(t, lines, "ERRNO EPROTO")


@test
def test_bind_fake_missing_second_reply(t):
    """The proxy closes after the first reply: ECONNRESET."""
    _rc, lines, _s = fake_bind(t, "bind-close")
    expect_lines(t, lines, "ERRNO ECONNRESET")


@test
def test_bind_fake_refused_second_reply(t):
    _rc, lines, _s = fake_bind(t, "bind-refused", "poll")
    expect_lines(t, lines, "ERRNO ECONNREFUSED")


@test
def test_bind_fake_late_second_reply_times_out(t):
    """A second reply later than bind_timeout (1 s; it comes after 5 s): ETIMEDOUT, in time."""
    _rc, lines, seconds = fake_bind(t, "bind-late", "block", "1s")
    expect_lines(t, lines, "ERRNO ETIMEDOUT")
    t.check(seconds < 4.5, "bind_client took %.1f s: the timeout of 1 s was not kept" % seconds)


@test
def test_bind_fake_peer_reported_with_the_control_line(t):
    """The proxy announces the peer, then a line comes on the program's other (relayed)
    connection, as an FTP server's reply follows its connection back: one poll(), and one
    epoll_wait(), on both report the listener readable with that line, even while our waiting
    thread runs late (slowthread.c holds its polls 300 ms, as busy CPUs did in CI, where curl's
    active FTP then saw the reply alone and failed: "Ctrl conn has data while waiting for data
    conn")."""
    t.need("fakeproxy", "echo")
    conf = t.write("cwd/sx.conf", "proxy socks5://%s:%d\n" % (P4C, FAKE_PORTS["bind-ordered"]))
    env = t.env(LD_PRELOAD=PRELOAD + " " + t.compiled(SLOW_THREAD, "-shared", "-fPIC"), SOCKSIFY_CONF=conf)
    for wait in ("order", "order-epoll"):
        bg = Background(t, [t.compiled(BIND_CLIENT), T4, str(ECHO_PORT), "0.0.0.0", wait], env=env)
        try:
            rc, lines = bg.finish(15)
        finally:
            bg.kill()
        t.check(t.wait_log("fakeproxy", lambda s: s.count("then the control line") == (1 if wait == "order" else 2)),
                "fakeproxy did not send the control line:\n%s" % t.server_log_since("fakeproxy")[-2000:])
        t.check(rc == 0, "bind_client (%s) exited %s: %r\n%s" % (wait, rc, lines, bg.stderr()))
        expect_lines(t, lines, "ORDER listener ready control ready", "PEER %s %d" % FAKE_PEER, "DATA " + FAKE_DATA)


@test
def test_bind_forked_child_leaves_the_reply_to_the_listener(t):
    """A child forked after listen() that polls (and so looks at the proxy's replies, for
    listeners of its own) must not read the parent's second reply from the connection they
    share: with the parent's thread held back (slowthread.c), the parent's accept() still gets
    the peer."""
    t.need("fakeproxy", "echo")
    conf = t.write("cwd/sx.conf", "proxy socks5://%s:%d\nbind_timeout 3s\n" % (P4C, FAKE_PORTS["bind-early"]))
    env = t.env(LD_PRELOAD=PRELOAD + " " + t.compiled(SLOW_THREAD, "-shared", "-fPIC"), SOCKSIFY_CONF=conf)
    bg = Background(t, [t.compiled(BIND_CLIENT), T4, str(ECHO_PORT), "0.0.0.0", "fork"], env=env)
    try:
        rc, lines = bg.finish(15)
    finally:
        bg.kill()
    t.check(rc == 0, "bind_client exited %s: %r\n%s" % (rc, lines, bg.stderr()))
    expect_lines(t, lines, "CHILD-POLLED", "PEER %s %d" % FAKE_PEER, "DATA " + FAKE_DATA)


# ---------- listeners that stay local ----------

def local_listener(t, opts, host, local):
    bg = bind_client(t, opts, host, ECHO_PORT, local, "self")
    try:
        rc, lines = bg.finish(15)
    finally:
        bg.kill()
    t.check(rc == 0, "bind_client exited %s: %r\n%s" % (rc, lines, bg.stderr()))
    bound = [l for l in lines if l.startswith("BOUND ")]
    t.check(bound and field(bound[0], 1) == local and field(bound[0], 2) != "0",
            "the listener is not bound locally to %s: %r" % (local, lines))
    expect_lines(t, lines, "DATA from-self")
    return lines


@test
def test_bind_local_listeners_stay_local(t):
    """127.0.0.1 with a proxied connection open; 0.0.0.0 without one; 0.0.0.0 with `bind no`:
    all three listen here, and danted is never asked for BIND."""
    t.need("danted", "echo")
    local_listener(t, ["-x", DANTE], T4, "127.0.0.1")
    local_listener(t, ["-x", DANTE], "-", "0.0.0.0")
    conf = t.write("cwd/sx.conf", "proxy %s\nbind no\n" % DANTE)
    local_listener(t, ["-f", conf], T4, "0.0.0.0")
    t.check("tcp/bind" not in t.server_log_since("danted"), "danted saw a BIND:\n%s" % t.server_log_since("danted")[-2000:])


@test
def test_bind_then_connect_is_a_client(t):
    """A socket bound to 0.0.0.0:0 while a proxied connection is open, that then connects instead of
    listening, is a client: its connection goes through the proxy and danted sees no BIND."""
    t.need("danted", "echo")
    bg = bind_client(t, ["-x", DANTE], T4, ECHO_PORT, "0.0.0.0", "client")
    try:
        rc, lines = bg.finish(15)
    finally:
        bg.kill()
    t.check(rc == 0, "bind_client exited %s: %r\n%s" % (rc, lines, bg.stderr()))
    expect_lines(t, lines, "CLIENT-ECHO ping")
    t.check("tcp/bind" not in t.server_log_since("danted"), "danted saw a BIND:\n%s" % t.server_log_since("danted")[-2000:])
