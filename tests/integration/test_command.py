"""The socksify command as the program's parent (issue 15): signals passed on once, exit statuses
(128+N), job control under a terminal (Ctrl-Z, fg, Ctrl-C), nothing left running when the program
ends or the command is killed; the -x password wiped from its command line; and the programs it
refuses because the preloaded library cannot enter them (static, Go, another architecture,
set-user-ID/set-group-ID), with exit status 2 and a message that says why."""
import os
import pty
import select
import shutil
import signal
import struct
import subprocess
import time

from procs import wait_until
from testcase import test
from topology import DANTE, HERE, LIB, MS_AUTH_PORT, P4C, PASSWORD, PY, USER, WRAPPER

SIGPROG = os.path.join(HERE, "sigprog.py")
NOBODY = 65534


# ---------- helpers ----------

def start(t, program, opts=None):
    """socksify OPTS -- PROGRAM in the background (its own session, like t.run); the Popen."""
    argv = [WRAPPER] + list(opts if opts is not None else ["-x", DANTE]) + ["--"] + list(program)
    return subprocess.Popen(argv, env=t.env(), cwd=t.cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def wait_ready(t, log):
    """sigprog's "ready PID PPID" line: (pid, ppid)."""
    t.check(wait_until(lambda: "ready" in read(log), 10), "the program did not start (log %s)" % log)
    words = [l for l in read(log).splitlines() if l.startswith("ready")][0].split()
    return int(words[1]), int(words[2])


def state(pid):
    """The process's state letter (R, S, T, Z...), or None if it is gone."""
    stat = read("/proc/%d/stat" % pid)
    return stat[stat.rindex(")") + 2] if stat else None


def running(pid):
    return state(pid) not in (None, "Z")


def children(pid):
    return [int(w) for w in read("/proc/%d/task/%d/children" % (pid, pid)).split()]


def finish(p, timeout=10):
    try:
        return p.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        return None


def is_dynamic(path):
    """True if the ELF file at path has a PT_INTERP program header (read here, not by socksify)."""
    with open(path, "rb") as f:
        data = f.read(1 << 16)
    is64 = data[4] == 2
    phoff, = struct.unpack_from("<Q" if is64 else "<I", data, 32 if is64 else 28)
    phentsize, phnum = struct.unpack_from("<HH", data, 54 if is64 else 42)
    return any(struct.unpack_from("<I", data, phoff + i * phentsize)[0] == 3 for i in range(phnum))


# ---------- signals and exit statuses ----------

@test
def test_command_passes_signals_on_once(t):
    """HUP INT QUIT USR1 USR2 WINCH TERM sent to the command reach the program once; its exit
    status comes back; the program's parent is the command, also without -x."""
    conf = t.write("cwd/sx.conf", "proxy %s\n" % DANTE)
    for n, sig in enumerate([signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2,
                             signal.SIGWINCH, signal.SIGTERM]):
        log = os.path.join(t.dir, "sig%d.log" % n)
        p = start(t, [PY, SIGPROG, log, "exit"], opts=["-f", conf] if n % 2 else None)
        _, ppid = wait_ready(t, log)
        t.check(ppid == p.pid, "the program's parent is %d, not the command %d" % (ppid, p.pid))
        os.kill(p.pid, sig)
        rc = finish(p)
        t.check(rc == 100 + sig, "%s: exit status %s, expected %d (the program's)" % (sig.name, rc, 100 + sig))
        got = read(log).count("got %d\n" % sig)
        t.check(got == 1, "%s reached the program %d times" % (sig.name, got))


@test
def test_command_signals_within_its_process_group(t):
    """A script without job control runs `socksify PROG &` in its own process group, then
    `kill -USR1 $!`: passed on. The program's tree signalling the whole group (kill 0): the program
    has it already, so it gets it once."""
    log = os.path.join(t.dir, "script.log")
    script = ('%s -x %s -- %s %s %s exit & sx=$!; while ! grep -q ready %s 2>/dev/null; do sleep 0.05; done; '
              'kill -USR1 $sx; wait $sx; echo "rc=$?"' % (WRAPPER, DANTE, PY, SIGPROG, log, log))
    r = t.run(["sh", "-c", script], ns=None)
    t.check("rc=%d\n" % (100 + signal.SIGUSR1) in r.out, "kill $! from the same group: %r" % r.out)
    log = os.path.join(t.dir, "group.log")
    program = ('trap "" USR1; %s %s %s count & while ! grep -q ready %s 2>/dev/null; do sleep 0.05; done; '
               'kill -USR1 0; sleep 0.5; kill -TERM $!; wait' % (PY, SIGPROG, log, log))
    r = t.sx_x(DANTE, ["sh", "-c", program])
    got = read(log).count("got %d\n" % signal.SIGUSR1)
    t.check(got == 1, "kill -USR1 0 inside the program reached it %d times" % got)


@test
def test_command_signal_deaths_and_cleanup(t):
    """A program killed by signal N gives 128+N; the session's directory is gone afterwards, also
    when the command itself got the signal; no process is left."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1):
        where = os.path.join(t.dir, "file-%d" % sig)
        p = start(t, ["sh", "-c", 'echo "$SOCKSIFY_SESSION_DIR" > %s; exec sleep 30' % where])
        t.check(wait_until(lambda: read(where).strip() and children(p.pid), 10), "the program did not start")
        child = children(p.pid)[0]
        os.kill(p.pid, sig)
        rc = finish(p)
        t.check(rc == 128 + sig, "%s to the command: exit status %s, expected %d" % (sig.name, rc, 128 + sig))
        t.check(not running(child), "%s: the program %d is still running" % (sig.name, child))
        directory = read(where).strip()
        t.check(directory and not os.path.exists(directory), "%s: %s is left behind" % (sig.name, directory))
    r = t.sx_x(DANTE, ["sh", "-c", "kill -USR1 $$"])
    t.check(r.rc == 128 + signal.SIGUSR1, "a program that killed itself: status %s" % r.rc)


@test
def test_command_killed_leaves_nothing_running(t):
    """SIGKILL to the command, which it cannot pass on: the program gets SIGTERM and ends."""
    where = os.path.join(t.dir, "file")
    p = start(t, ["sh", "-c", 'echo "$SOCKSIFY_SESSION_DIR" > %s; exec sleep 30' % where])
    t.check(wait_until(lambda: read(where).strip() and children(p.pid), 10), "the program did not start")
    child = children(p.pid)[0]
    os.kill(p.pid, signal.SIGKILL)
    finish(p)
    t.check(wait_until(lambda: not running(child), 5), "the program %d runs on after the command was killed" % child)
    shutil.rmtree(read(where).strip(), ignore_errors=True)   # SIGKILL: nobody could remove it


# ---------- job control under a terminal ----------

class Terminal:
    """An interactive bash on a pseudo-terminal, as a user would have it (in network namespace ns
    if given: ns is "c", "p" or "t")."""

    def __init__(self, t, ns=None):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.chdir(t.cwd)
            bash = ["/bin/bash", "--norc", "--noprofile", "-i"]
            argv = ["ip", "netns", "exec", t.h.ns[ns]] + bash if ns else bash
            os.execvpe(argv[0], argv, t.env(PS1="$ ", TERM="dumb"))
        self.seen = ""
        self.before = ""   # what came up to (and with) the text the last expect found

    def send(self, text):
        os.write(self.fd, text.encode())

    def expect(self, text, seconds=10):
        """True once text has appeared in the terminal's output (since the last expect)."""
        deadline = time.monotonic() + seconds
        while text not in self.seen and time.monotonic() < deadline:
            if select.select([self.fd], [], [], 0.1)[0]:
                try:
                    self.seen += os.read(self.fd, 4096).decode(errors="replace")
                except OSError:
                    break
        found = text in self.seen
        if found:
            end = self.seen.index(text) + len(text)
            self.before, self.seen = self.seen[:end], self.seen[end:]
        return found

    def close(self):
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(self.pid, 0)
        os.close(self.fd)


@test
def test_command_job_control_under_a_terminal(t):
    """bash -i on a pty: Ctrl-Z stops the program and the command (bash says Stopped), fg resumes
    both, Ctrl-C reaches the program once, and $? is the program's."""
    log = os.path.join(t.dir, "sig.log")
    term = Terminal(t)
    try:
        t.check(term.expect("$ "), "no prompt from bash -i")
        term.send("%s -x %s -- %s %s %s exit\n" % (WRAPPER, DANTE, PY, SIGPROG, log))
        prog, command = wait_ready(t, log)
        term.send("\x1a")
        t.check(wait_until(lambda: state(prog) == "T" and state(command) == "T", 5),
                "Ctrl-Z: program %s, command %s (expected both T)" % (state(prog), state(command)))
        t.check(term.expect("Stopped"), "bash did not report the job stopped: %r" % term.seen)
        term.send("fg\n")
        t.check(wait_until(lambda: state(prog) in ("S", "R") and state(command) in ("S", "R"), 5),
                "fg: program %s, command %s (expected both running)" % (state(prog), state(command)))
        time.sleep(0.2)
        term.send("\x03")
        t.check(wait_until(lambda: not running(command), 5), "Ctrl-C did not end the command")
        term.send("echo rc=$?\n")
        t.check(term.expect("rc=%d" % (100 + signal.SIGINT)), "$? is not the program's 102: %r" % term.seen)
        got = read(log).count("got %d\n" % signal.SIGINT)
        t.check(got == 1, "Ctrl-C reached the program %d times" % got)
        t.check(not read(log).count("got %d\n" % signal.SIGTERM), "the program got a SIGTERM")
    finally:
        term.close()


# ---------- the -x password ----------

@test
def test_command_x_attached_form_wiped_from_cmdline(t):
    """-xURL in one word: the command's /proc/PID/cmdline shows no password while the program runs."""
    url = "socks5://%s:%s@%s:%d" % (USER, PASSWORD, P4C, MS_AUTH_PORT)
    dump = os.path.join(t.dir, "cmdline")
    r = t.sx(["-x" + url, "sh", "-c", "cat /proc/$PPID/cmdline > %s; cat /proc/$$/environ >> %s" % (dump, dump)])
    t.expect_ok(r, "socksify -xURL sh")
    with open(dump, "rb") as f:
        data = f.read()
    t.check(b"socksify" in data, "no command line captured: %r" % data)
    t.check(PASSWORD.encode() not in data, "the password is in the command line or environment: %r" % data)


# ---------- programs the library cannot enter ----------

MARKER_C = '#include <stdio.h>\nint main(int c, char **v) { return c > 1 && fopen(v[1], "w") ? 0 : 1; }\n'
MARKER_GO = 'package main\nimport ("net"; "os")\nfunc main() { net.ParseIP("1.2.3.4"); os.Create(os.Args[1]) }\n'


def expect_refused(t, program, *words):
    """socksify --seccomp=no -x URL PROGRAM marker: exit 2, one socksify: line holding words, and
    nothing ran. (With the seccomp supervisor, the default where the kernel has it, these programs
    are carried instead: test_seccomp.py.)"""
    marker = os.path.join(t.cwd, "marker")
    r = t.sx_x(DANTE, list(program) + [marker], opts=["--seccomp=no"])
    t.check(r.rc == 2, "%s: exit status %s, expected 2 (refused)" % (program[0], r.rc))
    t.check(r.err.startswith("socksify: ") and all(w in r.err for w in words),
            "%s: the message does not say %s: %r" % (program[0], " / ".join(words), r.err))
    t.check(not os.path.exists(marker), "%s ran although refused" % program[0])


def expect_allowed(t, program):
    marker = os.path.join(t.cwd, "marker")
    r = t.sx_x(DANTE, list(program) + [marker])
    t.expect_ok(r, "socksify %s" % program[0])
    t.check(os.path.exists(marker), "%s did not run" % program[0])
    os.unlink(marker)


def build_c(t, static):
    src = t.write("marker.c", MARKER_C)
    out = os.path.join(t.dir, "marker-static" if static else "marker-dynamic")
    t.expect_ok(t.run(["cc", "-O1", "-o", out, src] + (["-static"] if static else []), ns=None, timeout=60), "cc")
    return out


@test
def test_command_refuses_static_programs(t):
    static, dynamic = build_c(t, True), build_c(t, False)
    t.check(not is_dynamic(static) and is_dynamic(dynamic), "cc -static did not make a static program")
    expect_refused(t, [static], "statically linked", "bypass the proxy")
    expect_allowed(t, [dynamic])
    script = t.write("static.sh", "#!%s\n" % static)
    os.chmod(script, 0o755)
    expect_refused(t, [script], "statically linked", "interpreter of %s" % script)
    script = t.write("sh.sh", '#!/bin/sh\nexec touch "$1"\n')
    os.chmod(script, 0o755)
    expect_allowed(t, [script])
    busybox = shutil.which("busybox", path="/usr/bin:/bin")
    t.check(busybox and not is_dynamic(busybox), "busybox-static is not installed (scripts/deps.sh)")
    expect_refused(t, [busybox, "touch"], "statically linked")


@test
def test_command_refuses_go_programs(t):
    """A CGO_ENABLED=0 (static) and a cgo (dynamically linked) Go program: both make their own
    connect() system calls, so both are refused."""
    go = shutil.which("go", path="/usr/lib/go/bin:/usr/bin:/bin")
    t.check(go, "go is not installed (scripts/deps.sh installs golang-go)")
    src = t.write("gomarker/main.go", MARKER_GO)
    cache = os.path.join(t.h.tmp, "gocache")
    for cgo in ("0", "1"):
        out = os.path.join(t.dir, "go-cgo%s" % cgo)
        env = t.env(CGO_ENABLED=cgo, GOCACHE=cache, GOPATH=os.path.join(t.dir, "gopath"), GO111MODULE="off")
        t.expect_ok(t.run([go, "build", "-o", out, src], ns=None, env=env, timeout=180), "go build (cgo %s)" % cgo)
        t.check(is_dynamic(out) == (cgo == "1"), "go build CGO_ENABLED=%s: unexpected linking" % cgo)
        expect_refused(t, [out], "Go program", "bypass the proxy")


def privileged_copy(t, name, uid, gid, mode):
    path = os.path.join(t.dir, name)
    shutil.copy("/usr/bin/touch", path)
    os.chown(path, uid, gid)
    os.chmod(path, mode)
    return path


@test
def test_command_refuses_setuid_programs(t):
    """The loader drops LD_PRELOAD where the program gets other ids than ours (AT_SECURE): a
    set-user-ID program of another user, a set-group-ID one of another group. Root running a
    set-user-ID-root program keeps its ids (euid == uid): that one runs socksified."""
    t.check(os.geteuid() == 0, "needs root")
    t.check(not os.statvfs(t.dir).f_flag & os.ST_NOSUID, "%s is on a nosuid mount" % t.dir)
    expect_refused(t, [privileged_copy(t, "suid-touch", NOBODY, 0, 0o4755)], "set-user-ID", "LD_PRELOAD")
    expect_refused(t, [privileged_copy(t, "sgid-touch", 0, NOBODY, 0o2755)], "set-group-ID", "LD_PRELOAD")
    expect_allowed(t, [privileged_copy(t, "suid-root-touch", 0, 0, 0o4755)])


def elf_header(elf_class, machine):
    """The first bytes of an ELF executable of that class and machine (all the check reads)."""
    if elf_class == 2:
        return struct.pack("<4sBBBB8sHHIQQQIHHHHHH", b"\x7fELF", 2, 1, 1, 0, b"", 2, machine, 1, 0, 64, 0, 0,
                           64, 56, 0, 64, 0, 0)
    return struct.pack("<4sBBBB8sHHIIIIIHHHHHH", b"\x7fELF", 1, 1, 1, 0, b"", 2, machine, 1, 0, 52, 0, 0,
                       52, 32, 0, 40, 0, 0)


@test
def test_command_refuses_other_architectures(t):
    """No library for aarch64 or 32-bit ARM here: refused before the loader would skip it."""
    for name, elf_class, machine, words in (("aarch64", 2, 183, ("64-bit aarch64",)), ("arm", 1, 40, ("32-bit arm",))):
        path = os.path.join(t.dir, name)
        with open(path, "wb") as f:
            f.write(elf_header(elf_class, machine))
        os.chmod(path, 0o755)
        expect_refused(t, [path], "no library for that architecture", *words)


# ---------- the command line ----------

@test
def test_command_usage_version_and_missing_programs(t):
    r = t.sx([])
    t.check(r.rc == 2 and "usage:" in r.err and "no PROGRAM" in r.err, "no PROGRAM: %s %r" % (r.rc, r.err))
    r = t.sx(["--version"])
    shown = (r.out.split("library: ", 1)[1].strip() if "library: " in r.out else "")
    t.check(r.rc == 0 and r.out.startswith("socksify ") and os.path.realpath(shown) == os.path.realpath(LIB),
            "--version: %r (expected the library %s)" % (r.out, os.path.realpath(LIB)))
    r = t.sx(["--help"])
    t.check(r.rc == 0 and "refuses" in r.out and "parent" in r.out, "--help says nothing of what changed: %r" % r.out)
    r = t.sx_x(DANTE, ["no-such-program-here"])
    t.check(r.rc == 127 and "command not found" in r.err, "a missing program: %s %r" % (r.rc, r.err))
    path = t.write("not-executable", "echo hi\n")
    r = t.sx_x(DANTE, [path])
    t.check(r.rc == 126, "a file that cannot be run: status %s, expected 126" % r.rc)
    r = t.sx(["-x", DANTE, "--print-config"])
    t.check(r.rc == 0 and "config:" in r.out and "default:" in r.out, "--print-config: %r" % r.out)
