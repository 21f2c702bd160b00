"""Process storms: hundreds of short socksified processes, and socksified parents that fork, exec,
posix_spawn and vfork socksified children. Every child's connection goes through the proxy (C has
no route to T), and the parent's own proxied socket is unharmed by its children."""
import json
import os
import shutil

from testcase import dante_addr, test
from topology import DANTE, ECHO_PORT, PY, PYCLIENT, T4, T6

STORM = 500

# In C, under `socksify -x DANTE` (so sh, xargs, seq and nc are all socksified): STORM nc
# processes, 8 at a time, each one connection to T's echo server (even numbers to T4, odd to T6)
# and a check of its own echo. One line per process: OK N or BAD N HOST [what came back].
STORM_SH = r"""
seq 1 "$1" | xargs -P 8 -I{} sh -c '
    i=$1
    if [ $((i % 2)) -eq 0 ]; then h=$2; else h=$3; fi
    got=$(printf "storm-%s\n" "$i" | nc -N -w 5 "$h" "$4" 2>&1)
    if [ "$got" = "storm-$i" ]; then echo "OK $i"; else echo "BAD $i $h [$got]"; fi
' sh {} "$2" "$3" "$4"
"""


def dante_sessions(t, dest):
    """danted's session-start lines ('tcp/connect [: CLIENT LOCAL -> EXTERNAL DEST') to dest."""
    return [l for l in t.log_lines("danted", "tcp/connect [:") if l.split()[-1] == dest]


@test
def test_storm_500_socksified_processes(t):
    """500 socksified nc processes (8 in parallel) each make one proxied connection and check its
    echo: all 500 succeed, and danted's log shows every one of them (250 to T4, 250 to T6)."""
    t.need("danted", "echo")
    r = t.sx_x(DANTE, ["sh", "-c", STORM_SH, "sh", str(STORM), T4, T6, str(ECHO_PORT)], timeout=120)
    ok = {l.split()[1] for l in r.out.splitlines() if l.startswith("OK ")}
    bad = [l for l in r.out.splitlines() if not l.startswith("OK ")]
    t.check(not r.timed_out, "the storm did not finish within 120 s (%d of %d done)" % (len(ok), STORM))
    t.check(len(ok) == STORM and not bad,
            "%d of %d processes got their echo; failures: %r" % (len(ok), STORM, bad[:10]))
    t.expect_ok(r, "the storm's shell")
    want = {dante_addr(T4, ECHO_PORT): STORM // 2, dante_addr(T6, ECHO_PORT): STORM - STORM // 2}
    t.wait_log("danted", lambda _text: all(len(dante_sessions(t, d)) >= n for d, n in want.items()), 10)
    seen = {d: len(dante_sessions(t, d)) for d in want}
    t.check(seen == want, "danted logged %r sessions, expected %r" % (seen, want))


def json_result(t, r, what):
    """The JSON line a child-spawning script prints; fails with the whole of it if a check failed."""
    lines = [l for l in r.out.splitlines() if l.startswith("{")]
    t.check(lines, "%s printed no result (exit %s)" % (what, r.rc))
    res = json.loads(lines[-1])
    failed = {k: v for k, v in res.items() if v is not True}
    t.check(not failed and r.rc == 0, "%s: checks failed: %r (exit %s)" % (what, failed, r.rc))
    return res


# Shared by the parents below: a proxied connection and its checks, and a pyclient run's output.
PARENT_LIB = r"""
import json, os, socket, sys
host4, host6, port, pyclient, outdir = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
res = {}

def echo(s, data):
    s.sendall(data)
    got = b""
    while len(got) < len(data):
        chunk = s.recv(100)
        if not chunk:
            break
        got += chunk
    return got == data

def proxied_ok(s, host, tag):
    # getpeername() is the target (not the proxy), and the tunnel carries data.
    peer = s.getpeername()[:2]
    if peer != (host, port):
        return "getpeername() is %r, not the target" % (peer,)
    return echo(s, tag.encode() + b"\n") or "no echo through the tunnel"

def client_ok(path, host, status):
    # A pyclient child: exit 0 (echo matched) and getpeername() was the target.
    try:
        text = open(path).read()
    except OSError as e:
        return "no output: %s" % e
    if status == 0 and ("PEER %s %d" % (host, port)) in text:
        return True
    return "status %r, output %r" % (status, text)

def status_of(wstatus):
    return os.waitstatus_to_exitcode(wstatus)

def client_argv(host, data):
    return [sys.executable, pyclient, "--data", data, host, str(port)]
"""

FORK_EXEC = PARENT_LIB + r"""
s0 = socket.create_connection((host4, port), timeout=10)
res["parent before"] = proxied_ok(s0, host4, "p0")
kids = {}
for i in range(6):
    host = host6 if i % 2 else host4
    out = os.path.join(outdir, "fork%d.txt" % i)
    pid = os.fork()
    if pid == 0:   # fork + exec of a socksified client (LD_PRELOAD inherited through environ)
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(fd, 1)
        os.execv(sys.executable, client_argv(host, "kid%d" % i))
    kids[pid] = ("fork+exec %d" % i, out, host)
pid = os.fork()
if pid == 0:       # fork without exec: the inherited tunnel, then a connection of its own
    ok = proxied_ok(s0, host4, "c0") is True
    s1 = socket.create_connection((host6, port), timeout=10)
    os._exit(0 if ok and proxied_ok(s1, host6, "c1") is True else 1)
kids[pid] = ("fork without exec", None, None)
out = os.path.join(outdir, "daemon.txt")
pid = os.fork()
if pid == 0:       # double fork, setsid, exec in the grandchild (daemon style)
    gpid = os.fork()
    if gpid == 0:
        os.setsid()
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(fd, 1)
        os.execv(sys.executable, client_argv(host4, "grandkid"))
    os._exit(status_of(os.waitpid(gpid, 0)[1]))
kids[pid] = ("double fork + setsid + exec", out, host4)
while kids:
    pid, wstatus = os.wait()
    name, out, host = kids.pop(pid)
    code = status_of(wstatus)
    res[name] = client_ok(out, host, code) if out else (code == 0 or "status %d" % code)
res["parent after"] = proxied_ok(s0, host4, "p1")
s2 = socket.create_connection((host6, port), timeout=10)
res["parent new connection"] = proxied_ok(s2, host6, "p2")
print(json.dumps(res))
sys.exit(0 if all(v is True for v in res.values()) else 1)
"""


@test
def test_storm_fork_exec_from_socksified_parent(t):
    """A socksified python with a proxied connection forks: 6 children exec a client (LD_PRELOAD
    inherited), one child uses the inherited tunnel and connects on its own without exec, one
    double-forks a setsid grandchild that execs; every child works, and so does the parent after."""
    t.need("danted", "echo")
    r = t.sx_x(DANTE, [PY, "-c", FORK_EXEC, T4, T6, str(ECHO_PORT), PYCLIENT, t.dir], timeout=60)
    json_result(t, r, "the forking parent")
    sessions = t.wait_lines("danted", 10, "tcp/connect [:")
    t.check(len(sessions) == 10, "danted logged %d sessions, expected the 10 proxied connections" % len(sessions))


SPAWN = PARENT_LIB + r"""
import subprocess
s0 = socket.create_connection((host6, port), timeout=10)
res["parent before"] = proxied_ok(s0, host6, "p0")
# os.posix_spawn / posix_spawnp: glibc's posix_spawn, clone(CLONE_VM|CLONE_VFORK) + exec; the file
# actions (run in the child, sharing the parent's memory) open its stdout and close the parent's tunnel.
for i, (spawn, exe, host) in enumerate(((os.posix_spawn, sys.executable, host4),
                                        (os.posix_spawnp, os.path.basename(sys.executable), host6))):
    out = os.path.join(outdir, "spawn%d.txt" % i)
    pid = spawn(exe, client_argv(host, "spawn%d" % i), os.environ,
                file_actions=[(os.POSIX_SPAWN_OPEN, 1, out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
                              (os.POSIX_SPAWN_CLOSE, s0.fileno())])
    res[spawn.__name__] = client_ok(out, host, status_of(os.waitpid(pid, 0)[1]))
# subprocess: close_fds=True uses vfork() in CPython 3.11; close_fds=False (absolute executable,
# no cwd/pass_fds/new session) uses posix_spawn. pass_fds hands the proxied socket to the child.
for close_fds, host in ((True, host4), (False, host6)):
    p = subprocess.run(client_argv(host, "sub"), close_fds=close_fds, stdout=subprocess.PIPE, timeout=20)
    out = os.path.join(outdir, "subprocess-%s.txt" % close_fds)
    open(out, "wb").write(p.stdout)
    res["subprocess close_fds=%s" % close_fds] = client_ok(out, host, p.returncode)
code = ("import socket,sys; s=socket.socket(fileno=int(sys.argv[1])); s.settimeout(10); s.sendall(b'passed\\n');"
        "got=s.recv(10); print(repr(got)); sys.exit(0 if got==b'passed\\n' else 1)")
p = subprocess.run([sys.executable, "-c", code, str(s0.fileno())], pass_fds=(s0.fileno(),), timeout=20,
                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
res["subprocess pass_fds tunnel"] = p.returncode == 0 or "status %d: %r" % (p.returncode, p.stdout)
res["parent after"] = proxied_ok(s0, host6, "p1")
s1 = socket.create_connection((host4, port), timeout=10)
res["parent new connection"] = proxied_ok(s1, host4, "p2")
print(json.dumps(res))
sys.exit(0 if all(v is True for v in res.values()) else 1)
"""


@test
def test_storm_posix_spawn_and_subprocess(t):
    """A socksified python (CPython 3.11) with a proxied connection spawns socksified clients with
    os.posix_spawn and os.posix_spawnp (glibc: clone(CLONE_VM|CLONE_VFORK), file actions run in the
    child), subprocess with close_fds=True (CPython calls vfork() itself) and close_fds=False
    (posix_spawn), and hands its tunnel to a child with pass_fds. Every child works; the parent's
    tunnel still reports the target and carries data."""
    t.need("danted", "echo")
    r = t.sx_x(DANTE, [PY, "-c", SPAWN, T4, T6, str(ECHO_PORT), PYCLIENT, t.dir], timeout=60)
    json_result(t, r, "the spawning parent")


# A C-level vfork + exec (ctypes cannot call vfork safely: the child would return into the
# interpreter on the parent's stack). The parent connects through the proxy, vforks; the child
# optionally close()s the tunnel (as programs that vfork commonly do before exec; the child has
# its own descriptor table but shares the parent's memory) and execs a socksified client. The
# parent then checks that its tunnel still reports the target and carries data.
VFORKER_C = r"""
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int peer_is(int s, const char *when, const char *host, int port)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char buf[INET6_ADDRSTRLEN] = "?";
    int p = -1;
    if (getpeername(s, (struct sockaddr *)&ss, &len) == 0) {
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *a = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
            p = ntohs(a->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
            p = ntohs(a->sin6_port);
        }
    }
    printf("PARENT-PEER %s %s %d\n", when, buf, p);
    fflush(stdout);
    return strcmp(buf, host) == 0 && p == port;
}

static int echo_ok(int s, const char *msg)
{
    size_t n = strlen(msg), got = 0;
    char buf[64];
    if (write(s, msg, n) != (ssize_t)n)
        return 0;
    while (got < n) {
        ssize_t r = read(s, buf + got, sizeof buf - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    printf("PARENT-ECHO %s\n", got == n && memcmp(buf, msg, n) == 0 ? "ok" : "bad");
    return got == n && memcmp(buf, msg, n) == 0;
}

int main(int argc, char **argv)
{
    if (argc < 5)
        return 2;
    int doclose = strncmp(argv[1], "close", 5) == 0, nonblock = strcmp(argv[1], "close-nonblock") == 0;
    int port = atoi(argv[3]);
    const char *host = argv[2];
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t len;
    if (strchr(host, ':')) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(port);
        inet_pton(AF_INET6, host, &a->sin6_addr);
        len = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons(port);
        inet_pton(AF_INET, host, &a->sin_addr);
        len = sizeof *a;
    }
    int s = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
    if (s < 0 || (connect(s, (struct sockaddr *)&ss, len) != 0 && !(nonblock && errno == EINPROGRESS))) {
        perror("connect");
        return 3;
    }
    int ok = nonblock ? 1 : peer_is(s, "before", host, port);
    pid_t pid = vfork();   /* with nonblock, while the connection may still be in progress */
    if (pid == 0) {
        if (doclose)
            close(s);
        execv(argv[4], argv + 4);
        _exit(127);
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid)
        return 4;
    int child = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    printf("CHILD %d\n", child);
    if (nonblock) {
        struct pollfd pfd = { .fd = s, .events = POLLOUT };
        int err = -1;
        socklen_t elen = sizeof err;
        if (poll(&pfd, 1, 10000) != 1 || getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &elen) != 0 || err != 0) {
            printf("PARENT-CONNECT failed: %s\n", err > 0 ? strerror(err) : "not writable within 10 s");
            return 1;
        }
        fcntl(s, F_SETFL, fcntl(s, F_GETFL) & ~O_NONBLOCK);
    }
    ok &= peer_is(s, "after", host, port);
    ok &= echo_ok(s, "vfork parent\n");
    return ok && child == 0 ? 0 : 1;
}
"""


@test
def test_storm_c_vfork_exec(t):
    """A C program, socksified, connects through the proxy and vfork()s; the child execs a
    socksified client to the other address family: as is, after close()ing the parent's tunnel,
    and after close()ing the parent's non-blocking socket while its connect may be in progress.
    The child connects through the proxy; the parent's connection completes, reports the target
    (getpeername) and carries data. Built with cc (which `make all` needs)."""
    t.need("danted", "echo")
    cc = shutil.which("cc") or shutil.which("gcc")
    t.check(cc, "no C compiler (cc) to build the vfork program")
    src = t.write("vforker.c", VFORKER_C)
    exe = os.path.join(t.dir, "vforker")
    t.expect_ok(t.run([cc, "-O1", "-Wall", "-o", exe, src], ns=None), "cc vforker.c")
    problems = []
    for mode in ("keep", "close", "close-nonblock"):
        for host, child_host in ((T4, T6), (T6, T4)):
            r = t.sx_x(DANTE, [exe, mode, host, str(ECHO_PORT), PY, PYCLIENT, "--data", "vfork child",
                               child_host, str(ECHO_PORT)])
            what = "vfork (%s), parent to %s" % (mode, host)
            if not ("PEER %s %d" % (child_host, ECHO_PORT) in r.out and "ECHO vfork child" in r.out
                    and "CHILD 0" in r.out):
                problems.append("%s: the child's client did not work: %r" % (what, r.out))
            elif "PARENT-PEER after %s %d" % (host, ECHO_PORT) not in r.out:
                problems.append("%s: after the child ran, the parent's getpeername() is not the target: %r"
                                % (what, r.line("PARENT-PEER after") or r.out))
            elif "PARENT-ECHO ok" not in r.out or r.rc != 0:
                problems.append("%s: the parent's connection no longer works (exit %s): %r" % (what, r.rc, r.out))
    t.check(not problems, "\n  ".join(["%d of 6 runs failed:" % len(problems)] + problems))
