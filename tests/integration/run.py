#!/usr/bin/python3
"""Integration tests for socksify (Python stdlib only; run as root).

usage: run.py [--list] [-v] [PATTERN ...]
  PATTERN   run only tests whose name contains PATTERN (or matches it as a shell glob)
  --list    print the test names and exit
  -v        also print the commands and logs of tests that pass

Three network namespaces, unique to the run:
  C (client) 10.77.1.2/24 fd77:1::2/64  <-veth->  P (proxy) 10.77.1.1/24 fd77:1::1/64
                                                  P          10.77.2.1/24 fd77:2::1/64  <-veth->  T (target) 10.77.2.2/24 fd77:2::2/64
No default routes and no forwarding: from C only P is reachable, so a client in C reaches T only
through a SOCKS proxy running in P. Servers: in T an HTTP server (serving a random token) and a
TCP echo server; in P danted (no auth, and username auth against a namespace-private
/etc/passwd + /etc/shadow), microsocks (no auth, user/pass, percent-encoded credentials, IPv6),
and fakeproxy.py (fault injection); in C an echo server on loopback (for direct_loopback).

Every test prints PASS or FAIL (with the reason and the commands/logs); the last line is
"N passed, N failed"; the exit status is 1 if any test failed. Everything created (namespaces,
processes, temporary files, /etc/netns/<ns>) is removed on exit, on failure, and on SIGINT/SIGTERM.
"""
import atexit
import fnmatch
import glob
import json
import re
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
WRAPPER = os.path.join(REPO, "scripts", "socksify")
LIB = os.path.join(REPO, "build", "libsocksify.so")
CHECK = os.path.join(REPO, "build", "socksify-check")
PY = "/usr/bin/python3"
PYCLIENT = os.path.join(HERE, "pyclient.py")
FAKEPROXY = os.path.join(HERE, "fakeproxy.py")
ECHOSERVER = os.path.join(HERE, "echoserver.py")
CLEAN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
REQUIRED_TOOLS = ["ip", "ss", "danted", "microsocks", "curl", "wget", "nc", "openssl"]

# Addresses
C4, P4C, P4T, T4 = "10.77.1.2", "10.77.1.1", "10.77.2.1", "10.77.2.2"
C6, P6C, P6T, T6 = "fd77:1::2", "fd77:1::1", "fd77:2::1", "fd77:2::2"

# Ports
HTTP_PORT = 8080      # T, dual stack
ECHO_PORT = 7777      # T, dual stack; also C on loopback
CLOSED_PORT = 9       # T, nothing listens
DANTE_PORT = 1080     # P, 10.77.1.1 and fd77:1::1, no auth
DANTE_AUTH_PORT = 1081  # P, username auth
MS_PORT = 1082        # P, microsocks no auth
MS_AUTH_PORT = 1083   # P, microsocks -u -P
MS6_PORT = 1084       # P, microsocks on fd77:1::1
MS_PCT_PORT = 1085    # P, microsocks with credentials that need percent-encoding
DEAD_PORT = 1999      # P, nothing listens
FAKE_PORTS = {
    "ok": 1100, "rep:1": 1101, "rep:2": 1102, "rep:3": 1103, "rep:4": 1104, "rep:5": 1105,
    "rep:6": 1106, "badver": 1110, "badver-method": 1111, "close-greeting": 1112,
    "close-request": 1113, "nomethod": 1114, "silent": 1115, "blackhole": 1116,
}

USER = "sxuser"
PASSWORD = "Pw" + secrets.token_hex(6)            # unique per run, so leak checks mean something
PCT_USER = "sx@user"
PCT_PASSWORD = "p@ss:w%rd/" + secrets.token_hex(4)

DANTE = "socks5://%s:%d" % (P4C, DANTE_PORT)
DANTE6 = "socks5://[%s]:%d" % (P6C, DANTE_PORT)
DANTE_AUTH = "socks5://%s:%s@%s:%d" % (USER, PASSWORD, P4C, DANTE_AUTH_PORT)
MS = "socks5://%s:%d" % (P4C, MS_PORT)
MS_AUTH = "socks5://%s:%s@%s:%d" % (USER, PASSWORD, P4C, MS_AUTH_PORT)
MS6 = "socks5://[%s]:%d" % (P6C, MS6_PORT)
MS_PCT = "socks5://%s:%s@%s:%d" % (urllib.parse.quote(PCT_USER, safe=""),
                                   urllib.parse.quote(PCT_PASSWORD, safe=""), P4C, MS_PCT_PORT)
DEAD = "socks5://%s:%d" % (P4C, DEAD_PORT)


def fake_url(mode):
    return "socks5://%s:%d" % (P4C, FAKE_PORTS[mode])


class TestFailure(Exception):
    pass


class Result:
    def __init__(self, argv, rc, out, err, seconds, timed_out=False, ns=None):
        self.argv, self.rc, self.out, self.err = argv, rc, out, err
        self.seconds, self.timed_out, self.ns = seconds, timed_out, ns

    def describe(self):
        lines = ["$ %s%s" % ("[ns %s] " % self.ns if self.ns else "", " ".join(quote(a) for a in self.argv)),
                 "  exit status: %s%s, %.2fs" % (self.rc, " (TIMED OUT, killed)" if self.timed_out else "", self.seconds)]
        for name, text in (("stdout", self.out), ("stderr", self.err)):
            if text:
                lines.append("  %s:" % name)
                lines.extend("    | " + l for l in text.rstrip("\n").split("\n")[-60:])
            else:
                lines.append("  %s: (empty)" % name)
        return "\n".join(lines)

    def errno_name(self):
        for line in self.out.splitlines():
            if line.startswith("ERRNO "):
                return line.split()[1]
        return None

    def line(self, prefix):
        for line in self.out.splitlines():
            if line.startswith(prefix + " "):
                return line[len(prefix) + 1:]
        return None


def quote(a):
    if a and all(ch.isalnum() or ch in "-_./:=@%[],+" for ch in a):
        return a
    return "'" + a.replace("'", "'\\''") + "'"


def run(argv, timeout=20, env=None, cwd=None, input_text=None, ns=None):
    """Runs argv (in namespace ns if given) with a hard timeout; kills its whole process group on expiry."""
    full = (["ip", "netns", "exec", ns] + list(argv)) if ns else list(argv)
    start = time.monotonic()
    try:
        p = subprocess.Popen(full, stdin=subprocess.PIPE if input_text is not None else subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=cwd,
                             start_new_session=True)
    except OSError as e:
        return Result(full, 127, "", "cannot start: %s" % e, 0.0, ns=None)
    timed_out = False
    try:
        out, err = p.communicate(input_text.encode() if input_text is not None else None, timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        killpg(p.pid, signal.SIGKILL)
        try:
            out, err = p.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            out, err = b"", b""
    return Result(list(argv), p.returncode, out.decode(errors="replace"), err.decode(errors="replace"),
                  time.monotonic() - start, timed_out, ns=ns)


def killpg(pid, sig):
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def must(argv, **kw):
    r = run(argv, **kw)
    if r.rc != 0:
        raise RuntimeError("setup command failed:\n" + r.describe())
    return r


def wait_until(predicate, seconds, step=0.05):
    deadline = time.monotonic() + seconds
    while True:
        v = predicate()
        if v:
            return v
        if time.monotonic() >= deadline:
            return v
        time.sleep(step)


def tail(path, n=40):
    try:
        with open(path, errors="replace") as f:
            lines = f.read().rstrip("\n").split("\n")
    except OSError as e:
        return "(cannot read %s: %s)" % (path, e)
    return "\n".join("    | " + l for l in lines[-n:])


class Server:
    def __init__(self, name, ns, argv, log, watch_log=None):
        self.name, self.ns, self.argv, self.log = name, ns, argv, log
        self.watch_log = watch_log or log   # the file tests look into (danted's logoutput, fakeproxy's JSON)
        self.proc = None
        self.error = None


class Harness:
    def __init__(self):
        self.id = "sx%d%s" % (os.getpid() % 100000, secrets.token_hex(2))
        self.ns = {k: "%s-%s" % (self.id, k) for k in "cpt"}
        self.tmp = None
        self.servers = {}
        self.created_ns = []
        self.etc_netns_dirs = []
        self.created_etc_netns = False
        self.setup_error = None
        self.token = secrets.token_hex(16)
        self.cleaned = False
        self.test_seq = 0

    # ---------- environment for programs ----------
    def base_env(self, home):
        return {"PATH": CLEAN_PATH, "HOME": home, "LANG": "C", "LC_ALL": "C", "TERM": "dumb"}

    # ---------- setup ----------
    def setup(self):
        self.tmp = tempfile.mkdtemp(prefix="socksify-it-%s-" % self.id)
        os.chmod(self.tmp, 0o755)
        missing = [t for t in ["ip", "ss"] if not shutil.which(t)]
        if missing:
            raise RuntimeError("missing tools needed for any test: %s" % ", ".join(missing))
        self.setup_network()
        self.setup_etc_netns()
        self.start_servers()

    def setup_network(self):
        c, p, t = self.ns["c"], self.ns["p"], self.ns["t"]
        for ns in (c, p, t):
            must(["ip", "netns", "add", ns])
            self.created_ns.append(ns)
            must(["ip", "-n", ns, "link", "set", "lo", "up"])
        # Create the veth pairs directly inside the namespaces: nothing ever appears in the host's.
        must(["ip", "-n", c, "link", "add", "vc", "type", "veth", "peer", "name", "vp", "netns", p])
        must(["ip", "-n", p, "link", "add", "vpt", "type", "veth", "peer", "name", "vt", "netns", t])
        for ns, dev, a4, a6 in ((c, "vc", C4, C6), (p, "vp", P4C, P6C), (p, "vpt", P4T, P6T), (t, "vt", T4, T6)):
            must(["ip", "-n", ns, "addr", "add", a4 + "/24", "dev", dev])
            must(["ip", "-n", ns, "addr", "add", a6 + "/64", "dev", dev, "nodad"])
            must(["ip", "-n", ns, "link", "set", dev, "up"])
        must(["sysctl", "-qw", "net.ipv4.ip_forward=0", "net.ipv6.conf.all.forwarding=0"], ns=p)

    def setup_etc_netns(self):
        """/etc/netns/<ns>/ files are bind-mounted over /etc/ by `ip netns exec`: a private view."""
        # /etc/netns is ours to remove (when empty) if it did not exist, or held only the
        # directories of other runs of this harness (parallel runs share it).
        try:
            others = os.listdir("/etc/netns")
        except FileNotFoundError:
            others = []
        self.created_etc_netns = all(re.match(r"^sx\d+[0-9a-f]{4}-[cpt]$", e) for e in others)
        os.makedirs("/etc/netns", exist_ok=True)
        for k in "cpt":
            d = "/etc/netns/" + self.ns[k]
            os.makedirs(d)
            self.etc_netns_dirs.append(d)
            # Names resolve only from our hosts file; DNS goes to 127.0.0.1 inside the namespace.
            with open(d + "/resolv.conf", "w") as f:
                f.write("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
            with open(d + "/hosts", "w") as f:
                f.write("127.0.0.1 localhost\n::1 localhost\n%s proxy.sx.test\n%s proxy6.sx.test\n"
                        "%s target.sx.test\n" % (P4C, P6C, T4))
        # In P only: a system user for danted's username method.
        d = "/etc/netns/" + self.ns["p"]
        h = must(["openssl", "passwd", "-6", PASSWORD]).out.strip() if shutil.which("openssl") else None
        if h is None:
            import crypt  # deprecated but present in 3.11; only if openssl is missing
            h = crypt.crypt(PASSWORD, crypt.mksalt(crypt.METHOD_SHA512))
        shutil.copy("/etc/passwd", d + "/passwd")
        shutil.copy("/etc/shadow", d + "/shadow")
        os.chmod(d + "/shadow", 0o640)
        with open(d + "/passwd", "a") as f:
            f.write("%s:x:64242:64242:socksify test:/nonexistent:/usr/sbin/nologin\n" % USER)
        with open(d + "/shadow", "a") as f:
            f.write("%s:%s:19000:0:99999:7:::\n" % (USER, h))

    def danted_conf(self, name, port, method, logfile):
        return """logoutput: {log}
internal: {p4} port = {port}
internal: {p6} port = {port}
external: {p4t}
external: {p6t}
socksmethod: {method}
clientmethod: none
user.privileged: root
user.unprivileged: nobody
client pass {{
  from: 0/0 to: 0/0
  log: error connect disconnect
}}
socks pass {{
  from: 0/0 to: 0/0
  command: connect
  log: error connect disconnect
}}
""".format(log=logfile, p4=P4C, p6=P6C, port=port, p4t=P4T, p6t=P6T, method=method)

    def start_servers(self):
        c, p, t = self.ns["c"], self.ns["p"], self.ns["t"]
        www = os.path.join(self.tmp, "www")
        os.makedirs(www)
        with open(os.path.join(www, "token.txt"), "w") as f:
            f.write(self.token)
        specs = []  # (name, ns, argv, listen [(addr, port)], watch_log)
        specs.append(("http", t, [PY, "-m", "http.server", "--bind", "::", "--directory", www, str(HTTP_PORT)],
                      [("*", HTTP_PORT)], None))
        specs.append(("echo", t, [PY, ECHOSERVER, str(ECHO_PORT)], [("*", ECHO_PORT)], None))
        specs.append(("echo-c", c, [PY, ECHOSERVER, str(ECHO_PORT)], [("*", ECHO_PORT)], None))
        for name, port, method in (("danted", DANTE_PORT, "none"), ("danted-auth", DANTE_AUTH_PORT, "username")):
            conf = os.path.join(self.tmp, name + ".conf")
            dlog = os.path.join(self.tmp, name + ".log")
            with open(conf, "w") as f:
                f.write(self.danted_conf(name, port, method, dlog))
            open(dlog, "w").close()
            specs.append((name, p, ["danted", "-f", conf, "-p", os.path.join(self.tmp, name + ".pid")],
                          [(P4C, port), (P6C, port)], dlog))
        specs.append(("microsocks", p, ["microsocks", "-i", P4C, "-p", str(MS_PORT)], [(P4C, MS_PORT)], None))
        specs.append(("microsocks-auth", p, ["microsocks", "-i", P4C, "-p", str(MS_AUTH_PORT), "-u", USER,
                                             "-P", PASSWORD], [(P4C, MS_AUTH_PORT)], None))
        specs.append(("microsocks6", p, ["microsocks", "-i", P6C, "-p", str(MS6_PORT)], [(P6C, MS6_PORT)], None))
        specs.append(("microsocks-pct", p, ["microsocks", "-i", P4C, "-p", str(MS_PCT_PORT), "-u", PCT_USER,
                                            "-P", PCT_PASSWORD], [(P4C, MS_PCT_PORT)], None))
        flog = os.path.join(self.tmp, "fakeproxy.jsonl")
        open(flog, "w").close()
        specs.append(("fakeproxy", p, [PY, FAKEPROXY, "--host", P4C, "--log", flog] +
                      ["%d=%s" % (port, mode) for mode, port in FAKE_PORTS.items()],
                      [(P4C, port) for port in FAKE_PORTS.values()], flog))

        for name, ns, argv, _listen, watch in specs:
            log = os.path.join(self.tmp, name + ".out")
            s = Server(name, ns, argv, log, watch)
            self.servers[name] = s
            if not shutil.which(argv[0]):
                s.error = "%s is not installed (missing tool is a failure)" % argv[0]
                continue
            try:
                with open(log, "w") as lf:
                    s.proc = subprocess.Popen(["ip", "netns", "exec", ns] + argv, stdin=subprocess.DEVNULL,
                                              stdout=lf, stderr=subprocess.STDOUT,
                                              env=self.base_env(self.tmp), cwd=self.tmp, start_new_session=True)
            except OSError as e:
                s.error = "cannot start %s: %s" % (argv[0], e)
        # Wait for all of them to listen, in parallel, with one deadline.
        pending = {name: listen for name, _ns, _argv, listen, _w in specs if not self.servers[name].error}
        deadline = time.monotonic() + 15
        while pending and time.monotonic() < deadline:
            sockets = {k: self.listening(self.ns[k]) for k in "cpt"}
            for name in list(pending):
                s = self.servers[name]
                nskey = [k for k in "cpt" if self.ns[k] == s.ns][0]
                if all(self.is_listening(sockets[nskey], a, port) for a, port in pending[name]):
                    del pending[name]
                elif s.proc.poll() is not None:
                    s.error = "%s exited with status %s before listening:\n%s" % (
                        name, s.proc.returncode, tail(s.log) + ("\n" + tail(s.watch_log) if s.watch_log != s.log else ""))
                    del pending[name]
            if pending:
                time.sleep(0.05)
        for name in pending:
            s = self.servers[name]
            s.error = "%s did not listen on %s within 15s:\n%s" % (
                name, ", ".join("%s:%d" % lp for lp in pending[name]), tail(s.log))

    @staticmethod
    def listening(ns):
        r = run(["ss", "-N", ns, "-ltnH"], timeout=10)
        out = []
        for line in r.out.splitlines():
            cols = line.split()
            if len(cols) >= 4:
                host, _, port = cols[3].rpartition(":")
                host = host.strip("[]").split("%")[0]
                try:
                    out.append((host, int(port)))
                except ValueError:
                    pass
        return out

    @staticmethod
    def is_listening(sockets, addr, port):
        wild = {"*", "0.0.0.0", "::"}
        return any(p == port and (h == addr or h in wild or addr == "*") for h, p in sockets)

    # ---------- cleanup ----------
    def cleanup(self):
        if self.cleaned:
            return
        self.cleaned = True
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            try:
                signal.signal(sig, signal.SIG_IGN)
            except (OSError, ValueError):
                pass
        for s in self.servers.values():
            if s.proc and s.proc.poll() is None:
                killpg(s.proc.pid, signal.SIGTERM)
        for s in self.servers.values():
            if s.proc:
                try:
                    s.proc.wait(timeout=3)
                except subprocess.TimeoutExpired:
                    killpg(s.proc.pid, signal.SIGKILL)
                    try:
                        s.proc.wait(timeout=3)
                    except subprocess.TimeoutExpired:
                        pass
        # Whatever is still alive inside our private namespaces was started by this run.
        for ns in self.created_ns:
            for sig, wait in ((signal.SIGTERM, 2), (signal.SIGKILL, 2)):
                pids = self.ns_pids(ns)
                if not pids:
                    break
                for pid in pids:
                    try:
                        os.kill(pid, sig)
                    except (ProcessLookupError, PermissionError):
                        pass
                wait_until(lambda: not self.ns_pids(ns), wait, 0.05)
        for ns in reversed(self.created_ns):
            run(["ip", "netns", "del", ns], timeout=10)
        for d in self.etc_netns_dirs:
            shutil.rmtree(d, ignore_errors=True)
        if self.created_etc_netns:
            try:
                os.rmdir("/etc/netns")
            except OSError:
                pass
        if self.tmp and os.environ.get("SOCKSIFY_IT_KEEP") != "1":
            shutil.rmtree(self.tmp, ignore_errors=True)

    @staticmethod
    def ns_pids(ns):
        r = run(["ip", "netns", "pids", ns], timeout=5)
        return [int(x) for x in r.out.split() if x.isdigit()]


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

    def sx(self, args, env=None, **kw):
        """scripts/socksify ARGS, in C."""
        return self.run([WRAPPER] + list(args), env=env, **kw)

    def sx_x(self, url, program, env=None, opts=(), **kw):
        return self.sx(list(opts) + ["-x", url, "--"] + list(program), env=env, **kw)

    def curl(self, url):
        return ["curl", "-q", "-sS", "--noproxy", "", "--max-time", "10", url]

    def pyclient(self, host, port, *opts):
        return [PY, PYCLIENT] + list(opts) + [host, str(port)]

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


# ---------------------------------------------------------------- tests
TESTS = []


def test(fn):
    TESTS.append((fn.__name__[len("test_"):] if fn.__name__.startswith("test_") else fn.__name__, fn))
    return fn


@test
def test_tools_present(t):
    missing = [x for x in REQUIRED_TOOLS if not shutil.which(x, path=CLEAN_PATH)]
    t.check(not missing, "missing tools: %s" % ", ".join(missing))
    r = t.run(["nc", "-h"], ns=None)
    t.check("OpenBSD" in r.out + r.err, "nc is not OpenBSD netcat (need -N)")


@test
def test_library_built(t):
    for path in (LIB, CHECK, WRAPPER):
        t.check(os.path.exists(path), "%s does not exist (run make all)" % path)
    t.check(os.access(WRAPPER, os.X_OK), "%s is not executable" % WRAPPER)


@test
def test_sanity_no_direct_route(t):
    """Without socksify, C cannot reach T (IPv4 nor IPv6); P can (the servers are up)."""
    t.need("echo", "http")
    r = t.run(t.pyclient(T4, ECHO_PORT))
    t.check(r.rc != 0, "plain connect from C to %s:%d succeeded: the namespaces leak" % (T4, ECHO_PORT))
    t.expect_errno(r, "ENETUNREACH")
    r = t.run(t.pyclient(T6, ECHO_PORT))
    t.check(r.rc != 0, "plain connect from C to [%s]:%d succeeded: the namespaces leak" % (T6, ECHO_PORT))
    t.expect_errno(r, "ENETUNREACH")
    r = t.run(t.curl("http://%s:%d/token.txt" % (T4, HTTP_PORT)))
    t.check(r.rc != 0, "plain curl from C reached the target")
    r = t.run(t.pyclient(T4, ECHO_PORT), ns="p")
    t.expect_echo(r, T4, ECHO_PORT)
    r = t.run(t.curl("http://%s:%d/token.txt" % (T4, HTTP_PORT)), ns="p")
    t.expect_token(r)


@test
def test_curl_danted(t):
    t.need("danted", "http")
    r = t.sx_x(DANTE, t.curl("http://%s:%d/token.txt" % (T4, HTTP_PORT)))
    t.expect_token(r)
    t.check(t.dante_saw("danted", "%s.%d" % (T4, HTTP_PORT)), "danted's log does not show the connection to %s.%d" % (T4, HTTP_PORT))


@test
def test_curl_danted_auth(t):
    t.need("danted-auth", "http")
    r = t.sx_x(DANTE_AUTH, t.curl("http://%s:%d/token.txt" % (T4, HTTP_PORT)))
    t.expect_token(r)
    t.check(t.dante_saw("danted-auth", "username%%%s@" % USER),
            "danted-auth's log does not show user %s authenticated" % USER)


@test
def test_curl_microsocks(t):
    t.need("microsocks", "http")
    t.expect_token(t.sx_x(MS, t.curl("http://%s:%d/token.txt" % (T4, HTTP_PORT))))


@test
def test_curl_microsocks_auth(t):
    t.need("microsocks-auth", "http")
    t.expect_token(t.sx_x(MS_AUTH, t.curl("http://%s:%d/token.txt" % (T4, HTTP_PORT))))


@test
def test_curl_microsocks_percent_encoded_credentials(t):
    t.need("microsocks-pct", "http")
    t.expect_token(t.sx_x(MS_PCT, t.curl("http://%s:%d/token.txt" % (T4, HTTP_PORT))))


@test
def test_curl_socks5h_scheme(t):
    t.need("danted", "http")
    t.expect_token(t.sx_x("socks5h://%s:%d" % (P4C, DANTE_PORT), t.curl("http://%s:%d/token.txt" % (T4, HTTP_PORT))))


@test
def test_curl_proxy_given_by_name(t):
    """socks5://proxy.sx.test:1080 (resolved through C's private /etc/hosts)."""
    t.need("danted", "http")
    t.expect_token(t.sx_x("socks5://proxy.sx.test:%d" % DANTE_PORT, t.curl("http://%s:%d/token.txt" % (T4, HTTP_PORT))))


@test
def test_curl_default_port_1080(t):
    t.need("danted", "http")
    t.expect_token(t.sx_x("socks5://%s" % P4C, t.curl("http://%s:%d/token.txt" % (T4, HTTP_PORT))))


@test
def test_wget_danted(t):
    t.need("danted", "http")
    r = t.sx_x(DANTE, ["wget", "-qO-", "--no-proxy", "--timeout=10", "--tries=1",
                       "http://%s:%d/token.txt" % (T4, HTTP_PORT)])
    t.expect_token(r)


@test
def test_nc_echo_danted(t):
    t.need("danted", "echo")
    r = t.sx_x(DANTE, ["nc", "-N", T4, str(ECHO_PORT)], input_text="hello")
    t.expect_ok(r, "nc")
    t.check(r.out == "hello", "nc printed %r, expected the echo 'hello'" % r.out)


@test
def test_pyclient_echo_getpeername(t):
    t.need("danted", "echo")
    r = t.sx_x(DANTE, t.pyclient(T4, ECHO_PORT))
    t.expect_echo(r, T4, ECHO_PORT)
    t.check(t.dante_saw("danted", "%s.%d" % (T4, ECHO_PORT)), "danted's log does not show the connection")


@test
def test_pyclient_nonblocking(t):
    t.need("danted", "echo")
    r = t.sx_x(DANTE, t.pyclient(T4, ECHO_PORT, "--nonblock"))
    t.expect_echo(r, T4, ECHO_PORT)
    t.check(r.line("CONNECT") in ("immediate", "inprogress"), "unexpected connect mode %r" % r.line("CONNECT"))


@test
def test_pyclient_nonblocking_refused(t):
    """Non-blocking connect, proxy answers 'connection refused': connect() or SO_ERROR gives ECONNREFUSED."""
    t.need("fakeproxy")
    r = t.sx_x(fake_url("rep:5"), t.pyclient(T4, ECHO_PORT, "--nonblock"))
    t.expect_errno(r, "ECONNREFUSED")


@test
def test_errno_proxy_down(t):
    r = t.sx_x(DEAD, t.pyclient(T4, ECHO_PORT))
    t.expect_errno(r, "ECONNREFUSED")


@test
def test_errno_wrong_password_microsocks(t):
    t.need("microsocks-auth")
    r = t.sx_x("socks5://%s:wrong%s@%s:%d" % (USER, PASSWORD, P4C, MS_AUTH_PORT), t.pyclient(T4, ECHO_PORT))
    t.expect_errno(r, "EACCES")


@test
def test_errno_wrong_password_danted(t):
    t.need("danted-auth")
    r = t.sx_x("socks5://%s:wrong%s@%s:%d" % (USER, PASSWORD, P4C, DANTE_AUTH_PORT), t.pyclient(T4, ECHO_PORT))
    t.expect_errno(r, "EACCES")


@test
def test_errno_no_credentials_for_auth_proxy(t):
    """danted requires username auth, we offer none: no acceptable method -> EACCES."""
    t.need("danted-auth")
    r = t.sx_x("socks5://%s:%d" % (P4C, DANTE_AUTH_PORT), t.pyclient(T4, ECHO_PORT))
    t.expect_errno(r, "EACCES")


@test
def test_errno_target_port_closed_danted(t):
    t.need("danted")
    r = t.sx_x(DANTE, t.pyclient(T4, CLOSED_PORT))
    t.expect_errno(r, "ECONNREFUSED")


def make_fake_test(mode, expected):
    def fn(t):
        t.need("fakeproxy")
        r = t.sx_x(fake_url(mode), t.pyclient(T4, ECHO_PORT))
        # The record is written as the server answers (or right after it closes): give it a moment.
        recs = wait_until(lambda: t.fake_records(mode), 5 if r.rc == 3 and r.errno_name() != "ENETUNREACH" else 0.5)
        t.check(recs, "the fake proxy (%s) never saw a connection: socksify did not use the proxy" % mode)
        if expected is None:
            t.check(r.rc == 3 and r.errno_name(), "expected a connect error (any errno), got exit %s" % r.rc)
        else:
            t.expect_errno(r, expected)
        if mode.startswith("rep:") or mode == "badver" or mode == "close-request":
            req = recs[0].get("request")
            t.check(req and req["cmd"] == 1 and req["atyp"] == 1 and req["host"] == T4 and req["port"] == ECHO_PORT,
                    "the CONNECT request received was %r, expected CONNECT %s:%d (ATYP 1)" % (req, T4, ECHO_PORT))
    fn.__name__ = "test_errno_fake_" + mode.replace(":", "").replace("-", "_")
    fn.__doc__ = "fake proxy mode %s -> %s" % (mode, expected or "some error")
    return fn


for _mode, _expected in (("rep:1", None), ("rep:2", "EACCES"), ("rep:3", "ENETUNREACH"), ("rep:4", "EHOSTUNREACH"),
                         ("rep:5", "ECONNREFUSED"), ("rep:6", "ETIMEDOUT"), ("badver", "EPROTO"),
                         ("badver-method", "EPROTO"), ("close-greeting", "ECONNRESET"),
                         ("close-request", "ECONNRESET"), ("nomethod", "EACCES")):
    test(make_fake_test(_mode, _expected))


@test
def test_fakeproxy_ok_request_encoding(t):
    """Through our relay: the CONNECT request carries the target (IPv4 and IPv6) exactly."""
    t.need("fakeproxy", "echo")
    r = t.sx_x(fake_url("ok"), t.pyclient(T4, ECHO_PORT))
    t.expect_echo(r, T4, ECHO_PORT)
    r = t.sx_x(fake_url("ok"), t.pyclient(T6, ECHO_PORT))
    t.expect_echo(r, T6, ECHO_PORT)
    recs = wait_until(lambda: len(t.fake_records("ok")) >= 2 and t.fake_records("ok"), 5)
    t.check(recs and len(recs) >= 2, "the fake relay saw %d connections, expected 2" % len(recs or []))
    reqs = [(x["request"]["cmd"], x["request"]["atyp"], x["request"]["host"], x["request"]["port"]) for x in recs]
    t.check((1, 1, T4, ECHO_PORT) in reqs and (1, 4, T6, ECHO_PORT) in reqs,
            "requests seen: %r; expected CONNECT ATYP1 %s and ATYP4 %s port %d" % (reqs, T4, T6, ECHO_PORT))
    t.check(all(x["greeting"].startswith("05") for x in recs), "greeting is not SOCKS5: %r" % [x["greeting"] for x in recs])


@test
def test_handshake_timeout(t):
    """A proxy that accepts and never answers: handshake_timeout 1s -> ETIMEDOUT quickly."""
    t.need("fakeproxy")
    conf = t.write("cwd/sx.conf", "proxy %s\nhandshake_timeout 1s\nconnect_timeout 5s\n" % fake_url("silent"))
    r = t.sx(["-f", conf, "--"] + t.pyclient(T4, ECHO_PORT, "--timeout", "15"))
    t.expect_errno(r, "ETIMEDOUT")
    t.check(r.seconds < 8, "took %.1fs with handshake_timeout 1s" % r.seconds)


@test
def test_connect_timeout(t):
    """A proxy whose SYNs are dropped (accept queue full): connect_timeout 1s -> ETIMEDOUT quickly."""
    t.need("fakeproxy")
    conf = t.write("cwd/sx.conf", "proxy %s\nconnect_timeout 1s\nhandshake_timeout 5s\n" % fake_url("blackhole"))
    r = t.sx(["-f", conf, "--"] + t.pyclient(T4, ECHO_PORT, "--timeout", "15"))
    t.expect_errno(r, "ETIMEDOUT")
    t.check(r.seconds < 8, "took %.1fs with connect_timeout 1s" % r.seconds)


@test
def test_env_preload_without_wrapper_wget(t):
    t.need("danted", "http")
    r = t.run(["wget", "-qO-", "--no-proxy", "--timeout=10", "--tries=1", "http://%s:%d/token.txt" % (T4, HTTP_PORT)],
              env=t.env(LD_PRELOAD=LIB, SOCKSIFY_PROXY=DANTE))
    t.expect_token(r)
    t.check(t.dante_saw("danted", "%s.%d" % (T4, HTTP_PORT)), "danted's log does not show the connection")


@test
def test_env_socksify_conf_without_wrapper(t):
    t.need("danted", "echo")
    conf = t.write("conf/sx.conf", "# via SOCKSIFY_CONF\nproxy %s\n" % DANTE)
    r = t.run(t.pyclient(T4, ECHO_PORT), env=t.env(LD_PRELOAD=LIB, SOCKSIFY_CONF=conf))
    t.expect_echo(r, T4, ECHO_PORT)


@test
def test_config_direct_bypasses_proxy(t):
    """direct 10.77.2.0/24: socksify connects directly, which from C cannot work (no route)."""
    t.need("danted", "echo")
    control = t.write("cwd/control.conf", "proxy %s\ndirect 10.77.3.0/24\n" % DANTE)
    r = t.sx(["-f", control, "--"] + t.pyclient(T4, ECHO_PORT))
    t.expect_echo(r, T4, ECHO_PORT)  # control: the same setup without the matching 'direct' works
    t.need("danted")  # look at danted's log only from here on
    conf = t.write("cwd/sx.conf", "proxy %s\ndirect 10.77.2.0/24\n" % DANTE)
    r = t.sx(["-f", conf, "--"] + t.pyclient(T4, ECHO_PORT))
    t.expect_errno(r, "ENETUNREACH")
    t.check("%s.%d" % (T4, ECHO_PORT) not in t.server_log_since("danted"),
            "danted saw the connection although the destination is 'direct'")


@test
def test_config_direct_other_range_uses_proxy(t):
    t.need("danted", "echo")
    conf = t.write("cwd/sx.conf", "# comment\nproxy %s   # trailing comment\ndirect 192.0.2.0/24 fd00:dead::/32\n"
                   "connect_timeout 500ms\nhandshake_timeout 5\n" % DANTE)
    r = t.sx(["-f", conf, "--"] + t.pyclient(T4, ECHO_PORT))
    t.expect_echo(r, T4, ECHO_PORT)
    t.check(t.dante_saw("danted", "%s.%d" % (T4, ECHO_PORT)), "danted's log does not show the connection")


@test
def test_config_direct_loopback_default(t):
    """Loopback is direct by default: 127.0.0.1 reaches C's own echo server, not P's loopback."""
    t.need("danted", "echo-c")
    r = t.sx_x(DANTE, t.pyclient("127.0.0.1", ECHO_PORT))
    t.expect_echo(r, "127.0.0.1", ECHO_PORT)


@test
def test_config_direct_loopback_no(t):
    """direct_loopback no: 127.0.0.1 goes via the proxy, where nothing listens on that port."""
    t.need("danted", "echo-c")
    conf = t.write("cwd/sx.conf", "proxy %s\ndirect_loopback no\n" % DANTE)
    r = t.sx(["-f", conf, "--"] + t.pyclient("127.0.0.1", ECHO_PORT))
    t.expect_errno(r, "ECONNREFUSED")
    t.check(t.dante_saw("danted", "127.0.0.1.%d" % ECHO_PORT), "danted's log does not show the 127.0.0.1 connection")


@test
def test_config_search_cwd(t):
    t.need("danted", "echo")
    t.write("cwd/socksify.conf", "proxy %s\n" % DANTE)
    t.expect_echo(t.sx(["--"] + t.pyclient(T4, ECHO_PORT)), T4, ECHO_PORT)


@test
def test_config_search_home(t):
    t.need("danted", "echo")
    t.write("home/.config/socksify/socksify.conf", "proxy %s\n" % DANTE)
    t.expect_echo(t.sx(t.pyclient(T4, ECHO_PORT)), T4, ECHO_PORT)


@test
def test_config_socksify_conf_env_with_wrapper(t):
    t.need("danted", "echo")
    conf = t.write("elsewhere/x.conf", "proxy %s\n" % DANTE)
    t.expect_echo(t.sx(["--"] + t.pyclient(T4, ECHO_PORT), env=t.env(SOCKSIFY_CONF=conf)), T4, ECHO_PORT)


@test
def test_env_proxy_overrides_config(t):
    t.need("danted", "echo")
    conf = t.write("cwd/sx.conf", "proxy %s\n" % DEAD)
    r = t.sx(["-f", conf, "--"] + t.pyclient(T4, ECHO_PORT), env=t.env(SOCKSIFY_PROXY=DANTE))
    t.expect_echo(r, T4, ECHO_PORT)
    r = t.sx(["-f", conf, "-x", DANTE, "--"] + t.pyclient(T4, ECHO_PORT))
    t.expect_echo(r, T4, ECHO_PORT)


@test
def test_wrapper_bad_config(t):
    conf = t.write("cwd/bad.conf", "# a comment\nlog_level info\nproxy ftp://x\n")
    r = t.sx(["-f", conf, "--", "touch", "marker"])
    t.check(not os.path.exists(os.path.join(t.cwd, "marker")), "the program ran despite the bad config")
    t.check(r.rc == 2, "exit status %s, expected 2" % r.rc)
    t.check("bad.conf:3" in r.err, "stderr does not say bad.conf:3 (file:line)")


@test
def test_wrapper_bad_config_found_in_cwd(t):
    t.write("cwd/socksify.conf", "proxy %s\nconnect_timeout soon\n" % DANTE)
    r = t.sx(["--", "touch", "marker"])
    t.check(not os.path.exists(os.path.join(t.cwd, "marker")), "the program ran despite the bad config")
    t.check(r.rc != 0, "exit status 0 for a bad ./socksify.conf")
    t.check("socksify.conf:2" in r.err, "stderr does not say socksify.conf:2 (file:line)")


@test
def test_wrapper_bad_proxy_url(t):
    for url in ("ftp://x", "socks5://[fd77::1", "socks5://host:99999"):
        r = t.sx(["-x", url, "--", "touch", "marker"])
        t.check(not os.path.exists(os.path.join(t.cwd, "marker")), "the program ran despite -x %s" % url)
        t.check(r.rc != 0, "exit status 0 for -x %s" % url)
        t.check(r.err.strip(), "no message on stderr for -x %s" % url)


@test
def test_wrapper_missing_config_file(t):
    r = t.sx(["-f", os.path.join(t.dir, "nope.conf"), "--", "touch", "marker"])
    t.check(not os.path.exists(os.path.join(t.cwd, "marker")), "the program ran despite the missing config")
    t.check(r.rc != 0 and "nope.conf" in r.err, "expected nonzero exit and the file name on stderr")


@test
def test_wrapper_no_config(t):
    t.check(not os.path.exists("/etc/socksify.conf"), "/etc/socksify.conf exists on this machine: cannot test 'no config'")
    r = t.sx(["--", "touch", "marker"])
    t.check(not os.path.exists(os.path.join(t.cwd, "marker")), "the program ran with no proxy configured")
    t.check(r.rc != 0, "exit status 0 with no proxy configured")
    t.check(r.err.strip(), "no message on stderr")


@test
def test_wrapper_exit_status(t):
    r = t.sx_x(DANTE, ["sh", "-c", "exit 7"])
    t.check(r.rc == 7, "exit status %s, expected 7" % r.rc)
    r = t.sx_x(DANTE, ["sh", "-c", "echo out; echo err >&2; exit 0"])
    t.check(r.rc == 0 and r.out == "out\n" and "err" in r.err, "stdout/stderr/status not passed through")


@test
def test_wrapper_args_passed_verbatim(t):
    r = t.sx_x(DANTE, ["printf", "[%s]", "a b", "", "-x", "--", "$HOME"])
    t.check(r.rc == 0 and r.out == "[a b][][-x][--][$HOME]", "program got other arguments: %r" % r.out)


@test
def test_wrapper_keeps_ld_preload(t):
    cands = sorted(glob.glob("/lib/*/libm.so.6") + glob.glob("/usr/lib/*/libm.so.6") + glob.glob("/lib64/libm.so.6"))
    t.check(cands, "no libm.so.6 found to preload")
    other = cands[0]
    r = t.sx_x(DANTE, ["sh", "-c", 'echo "$LD_PRELOAD"'], env=t.env(LD_PRELOAD=other))
    t.expect_ok(r, "sh")
    v = r.out.strip()
    t.check(other in v, "the existing LD_PRELOAD entry %s was dropped: %r" % (other, v))
    t.check("libsocksify.so" in v, "libsocksify.so is not in LD_PRELOAD: %r" % v)
    t.check(v.index(other) < v.index("libsocksify.so"), "libsocksify.so was not appended after %s: %r" % (other, v))


def info_lines(text, dest):
    return [l for l in text.splitlines() if dest in l and "via" in l]


@test
def test_wrapper_verbose_logs_connection(t):
    t.need("danted", "echo")
    r = t.sx_x(DANTE, t.pyclient(T4, ECHO_PORT), opts=["-v"])
    t.expect_echo(r, T4, ECHO_PORT)
    dest = "%s:%d" % (T4, ECHO_PORT)
    lines = info_lines(r.err, dest)
    t.check(len(lines) == 1, "expected exactly one stderr line with %r and 'via', got %d" % (dest, len(lines)))
    t.check(P4C in lines[0], "the line does not name the proxy %s: %r" % (P4C, lines[0]))
    t.check(re.search(r"\bok\b", lines[0]), "the line does not say ok: %r" % lines[0])
    t.check(re.search(r"\d(\.\d+)? ?(us|ms|s)\b", lines[0]), "the line shows no time: %r" % lines[0])
    t.check(not [l for l in r.out.splitlines() if "socksify" in l], "socksify wrote to stdout")


@test
def test_wrapper_verbose_logs_error(t):
    t.need("fakeproxy")
    r = t.sx_x(fake_url("rep:5"), t.pyclient(T4, ECHO_PORT), opts=["-v"])
    t.expect_errno(r, "ECONNREFUSED")
    dest = "%s:%d" % (T4, ECHO_PORT)
    t.check(info_lines(r.err, dest), "no stderr line with %r and 'via' for the failed connection" % dest)


@test
def test_wrapper_quiet(t):
    t.need("fakeproxy")
    r = t.sx_x(fake_url("rep:5"), t.pyclient(T4, ECHO_PORT), opts=["-q"])
    t.expect_errno(r, "ECONNREFUSED")
    t.check("socksify" not in r.err, "-q but socksify wrote to stderr")


@test
def test_log_level_env_and_log_file(t):
    t.need("danted", "echo")
    logf = os.path.join(t.dir, "sx.log")
    r = t.sx_x(DANTE, t.pyclient(T4, ECHO_PORT), env=t.env(SOCKSIFY_LOG_LEVEL="info", SOCKSIFY_LOG_FILE=logf))
    t.expect_echo(r, T4, ECHO_PORT)
    dest = "%s:%d" % (T4, ECHO_PORT)
    text = open(logf).read() if os.path.exists(logf) else ""
    t.check(info_lines(text, dest), "the log file has no line with %r and 'via': %r" % (dest, text[-500:]))
    t.check(not info_lines(r.err, dest), "the connection was logged to stderr although SOCKSIFY_LOG_FILE is set")


@test
def test_config_log_keys(t):
    """log_level and log_file from the config file."""
    t.need("danted", "echo")
    logf = os.path.join(t.dir, "from-conf.log")
    conf = t.write("cwd/sx.conf", "proxy %s\nlog_level info\nlog_file %s\n" % (DANTE, logf))
    r = t.sx(["-f", conf, "--"] + t.pyclient(T4, ECHO_PORT))
    t.expect_echo(r, T4, ECHO_PORT)
    dest = "%s:%d" % (T4, ECHO_PORT)
    text = open(logf).read() if os.path.exists(logf) else ""
    t.check(info_lines(text, dest), "log_file %s has no line with %r and 'via': %r" % (logf, dest, text[-500:]))


CONCURRENT_CLIENT = r'''
import socket, sys, threading
host, port, threads, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
errors = []
def work(i):
    for j in range(per):
        msg = ("t%d-c%d " % (i, j)).encode() * 50
        try:
            s = socket.create_connection((host, port), timeout=10)
            if s.getpeername()[:2] != (host, port):
                errors.append("peer %r" % (s.getpeername(),))
            s.sendall(msg)
            got = b""
            while len(got) < len(msg):
                c = s.recv(65536)
                if not c:
                    break
                got += c
            s.close()
            if got != msg:
                errors.append("thread %d conn %d: echo mismatch (%d of %d bytes)" % (i, j, len(got), len(msg)))
        except OSError as e:
            errors.append("thread %d conn %d: %r" % (i, j, e))
ts = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
[t.start() for t in ts]
[t.join() for t in ts]
print("\n".join(errors) if errors else "ALL OK")
sys.exit(1 if errors else 0)
'''


@test
def test_concurrent_connections_threads(t):
    """8 threads x 5 connections each, through danted, in one process."""
    t.need("danted", "echo")
    r = t.sx_x(DANTE, [PY, "-c", CONCURRENT_CLIENT, T4, str(ECHO_PORT), "8", "5"], timeout=40)
    t.expect_ok(r, "concurrent client")
    t.check("ALL OK" in r.out, "not all connections worked")


@test
def test_password_never_logged(t):
    t.need("microsocks-auth", "microsocks-pct", "echo")
    logf = os.path.join(t.dir, "sx.log")
    env = t.env(SOCKSIFY_LOG_LEVEL="debug")
    outs = []
    r = t.sx_x(MS_AUTH, t.pyclient(T4, ECHO_PORT), opts=["-v"])
    t.expect_echo(r, T4, ECHO_PORT)
    outs.append(r.out + r.err)
    r = t.sx_x(MS_AUTH, t.pyclient(T4, ECHO_PORT), env=env)
    t.expect_echo(r, T4, ECHO_PORT)
    outs.append(r.out + r.err)
    r = t.sx_x(MS_PCT, t.pyclient(T4, ECHO_PORT), env=t.env(SOCKSIFY_LOG_LEVEL="debug", SOCKSIFY_LOG_FILE=logf))
    t.expect_echo(r, T4, ECHO_PORT)
    outs.append(r.out + r.err)
    r = t.sx_x("socks5://%s:bad%s@%s:%d" % (USER, PASSWORD, P4C, MS_AUTH_PORT), t.pyclient(T4, ECHO_PORT), env=env)
    t.expect_errno(r, "EACCES")
    outs.append(r.out + r.err)
    conf = t.write("cwd/sx.conf", "proxy %s\nlog_level debug\n" % MS_AUTH)
    r = t.sx(["-f", conf, "--"] + t.pyclient(T4, ECHO_PORT))
    t.expect_echo(r, T4, ECHO_PORT)
    outs.append(r.out + r.err)
    if os.path.exists(logf):
        outs.append(open(logf).read())
    everything = "\n".join(outs)
    t.check("socksify" in everything, "no socksify log output at all at debug level (cannot check for leaks)")
    pct = urllib.parse.quote(PCT_PASSWORD, safe="")
    for secret in (PASSWORD, PCT_PASSWORD, pct, "p@ss:w"):
        t.check(secret not in everything, "the password %r appears in the log output" % secret)


@test
def test_tfo_curl(t):
    t.need("danted", "http")
    r = t.sx_x(DANTE, ["curl", "-q", "-sS", "--tcp-fastopen", "--max-time", "10",
                       "http://%s:%d/token.txt" % (T4, HTTP_PORT)])
    t.expect_token(r)


@test
def test_tfo_sendto_msg_fastopen(t):
    t.need("danted", "echo")
    r = t.sx_x(DANTE, t.pyclient(T4, ECHO_PORT, "--fastopen"))
    t.expect_echo(r, T4, ECHO_PORT)
    t.check(t.dante_saw("danted", "%s.%d" % (T4, ECHO_PORT)), "danted's log does not show the connection")


@test
def test_ipv6_proxy_ipv4_target(t):
    t.need("microsocks6", "http")
    t.expect_token(t.sx_x(MS6, t.curl("http://%s:%d/token.txt" % (T4, HTTP_PORT))))


@test
def test_ipv6_proxy_ipv6_target(t):
    t.need("microsocks6", "http")
    t.expect_token(t.sx_x(MS6, t.curl("http://[%s]:%d/token.txt" % (T6, HTTP_PORT))))


@test
def test_ipv6_proxy_by_name(t):
    t.need("danted", "http")
    t.expect_token(t.sx_x("socks5://proxy6.sx.test:%d" % DANTE_PORT, t.curl("http://[%s]:%d/token.txt" % (T6, HTTP_PORT))))


@test
def test_ipv6_danted_pyclient_getpeername(t):
    t.need("danted", "echo")
    r = t.sx_x(DANTE6, t.pyclient(T6, ECHO_PORT))
    t.expect_echo(r, T6, ECHO_PORT)
    t.check(t.dante_saw("danted", "%s.%d" % (T6, ECHO_PORT)), "danted's log does not show the connection")


@test
def test_ipv4_proxy_ipv6_target(t):
    t.need("danted", "echo")
    r = t.sx_x(DANTE, t.pyclient(T6, ECHO_PORT))
    t.expect_echo(r, T6, ECHO_PORT)


# ---------------------------------------------------------------- main
def select_tests(patterns):
    if not patterns:
        return list(TESTS)
    return [(n, f) for n, f in TESTS if any(p in n or fnmatch.fnmatch(n, p) for p in patterns)]


def main(argv):
    verbose = False
    patterns = []
    for a in argv:
        if a == "--list":
            for n, _ in TESTS:
                print(n)
            return 0
        elif a in ("-v", "--verbose"):
            verbose = True
        elif a in ("-h", "--help"):
            print(__doc__)
            return 0
        else:
            patterns.append(a)
    selected = select_tests(patterns)
    if not selected:
        print("no test matches %s" % " ".join(patterns))
        print("0 passed, 1 failed")
        return 1

    # Tools live in /usr/sbin etc.; a caller's PATH (sudo, pyenv) may lack them. Python is always PY.
    os.environ["PATH"] = CLEAN_PATH + ":" + os.environ.get("PATH", "")
    h = Harness()

    def on_signal(signum, _frame):
        raise KeyboardInterrupt("signal %d" % signum)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    atexit.register(h.cleanup)

    passed = failed = 0
    started = time.monotonic()
    try:
        print("socksify integration tests: run %s, namespaces %s, %d tests" % (
            h.id, " ".join(h.ns[k] for k in "cpt"), len(selected)), flush=True)
        if os.geteuid() != 0:
            h.setup_error = "must run as root (network namespaces)"
        else:
            try:
                h.setup()
            except Exception as e:  # noqa: BLE001
                h.setup_error = "%s\n%s" % (e, traceback.format_exc())
        for name, fn in selected:
            t0 = time.monotonic()
            t = None
            reason = None
            try:
                if h.setup_error:
                    raise TestFailure("setup failed: " + h.setup_error)
                t = T(h, name)
                fn(t)
            except TestFailure as e:
                reason = str(e)
            except KeyboardInterrupt:
                raise
            except Exception:  # noqa: BLE001 - a harness error is a failure too
                reason = "exception in test:\n" + traceback.format_exc()
            dt = time.monotonic() - t0
            if reason is None:
                passed += 1
                print("PASS %s (%.1fs)" % (name, dt), flush=True)
                if verbose and t:
                    for r in t.records:
                        print(indent(r.describe(), "    "))
            else:
                failed += 1
                print("FAIL %s (%.1fs): %s" % (name, dt, reason), flush=True)
                if t:
                    for r in t.records:
                        print(indent(r.describe(), "    "))
                    for path in t.logs_to_show:
                        print("    --- %s (this test's part):" % os.path.basename(path))
                        name_for = [n for n, s in h.servers.items() if s.watch_log == path]
                        text = t.server_log_since(name_for[0]) if name_for else ""
                        lines = text.rstrip("\n").split("\n")[-30:] if text.strip() else ["(nothing)"]
                        print("\n".join("    | " + l for l in lines))
                sys.stdout.flush()
    except KeyboardInterrupt as e:
        print("\ninterrupted (%s): cleaning up" % e, flush=True)
        failed += 1
    finally:
        h.cleanup()
    print("(%.1fs)" % (time.monotonic() - started))
    print("%d passed, %d failed" % (passed, failed), flush=True)
    return 1 if failed else 0


def indent(text, prefix):
    return "\n".join(prefix + l for l in text.split("\n"))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
