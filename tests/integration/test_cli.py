"""The command line as a shell user expects it: usage on stderr and status 2 without a PROGRAM,
--version with the library's path, and every error one line that begins with "socksify:"."""
import os
import shutil

from testcase import test
from topology import DANTE


@test
def test_cli_usage_and_version(t):
    r = t.sx([])
    lines = r.err.splitlines()
    t.check(r.rc == 2 and r.out == "" and lines and lines[0].startswith("usage: socksify "),
            "no PROGRAM: status %s, stdout %r, stderr %r (expected usage on stderr, status 2)" % (r.rc, r.out, r.err))
    t.check(lines[-1].startswith("socksify: no PROGRAM"), "the last line does not say why: %r" % r.err)
    t.check(len(lines) < 8, "no PROGRAM prints the whole help (%d lines), not the usage" % len(lines))
    r = t.sx(["--version"])
    words = r.out.split()
    t.check(r.rc == 0 and r.out.startswith("socksify ") and "library:" in words, "--version: %s %r" % (r.rc, r.out))
    t.check(os.path.exists(words[-1]), "--version names a library that does not exist: %r" % words[-1])


@test
def test_cli_errors_are_one_line(t):
    bad_conf = t.write("bad.conf", "proxy socks5://127.0.0.1:1080\nroute nowhere\n")
    cases = [
        (["-z", "true"], 2, "unknown option"),
        (["--bogus", "true"], 2, "unknown option"),
        (["--proxy=socks5://u:S3cret@h:1", "true"], 2, "'--proxy=socks5://u:***@h:1'"),
        (["-x"], 2, "-x needs"),
        (["-x", "gopher://h", "true"], 2, "-x"),
        (["-f", os.path.join(t.dir, "missing.conf"), "true"], 2, "missing.conf"),
        (["-f", bad_conf, "true"], 2, "bad.conf:2:"),
        (["-x", DANTE, "--explain", "host", "extra"], 2, "--explain takes no PROGRAM"),
        (["-x", DANTE, "--explain", "[::1"], 2, ""),
        (["-x", DANTE, "no-such-program-here"], 127, "no-such-program-here"),
        (["on", "-z"], 2, "on: "),
    ]
    busybox = shutil.which("busybox")
    if busybox:
        # Refused by the library alone (the seccomp supervisor would carry it: test_seccomp.py).
        cases.append((["--seccomp=no", "-x", DANTE, busybox, "true"], 2, "statically linked"))
    for args, status, needle in cases:
        r = t.sx(args)
        lines = r.err.splitlines()
        t.check(r.rc == status and len(lines) == 1 and lines[0].startswith("socksify: ") and needle in lines[0],
                "socksify %s: status %s (expected %d), stderr %r (expected one line 'socksify: ...%s...')"
                % (" ".join(args), r.rc, status, r.err, needle))
        t.check(r.out == "", "socksify %s printed on stdout: %r" % (" ".join(args), r.out))
        t.check("S3cret" not in r.err, "socksify %s shows the password: %r" % (" ".join(args), r.err))
