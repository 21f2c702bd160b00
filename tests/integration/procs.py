"""Running programs: a command with a hard timeout (optionally inside a network namespace), its
recorded Result, and small helpers for waiting and for showing log tails."""
import os
import signal
import subprocess
import time


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
