"""The socksify command (build/socksify): it refuses to run the program on a bad, missing or absent
config or proxy URL, and otherwise runs it transparently (arguments, exit status, output,
an existing LD_PRELOAD)."""
import glob
import os

from testcase import test
from topology import DANTE


def sx_refused(t, args, ran_msg):
    """socksify ARGS -- touch marker; fails with ran_msg if touch ran."""
    r = t.sx(list(args) + ["--", "touch", "marker"])
    t.check(not os.path.exists(os.path.join(t.cwd, "marker")), ran_msg)
    return r


@test
def test_wrapper_bad_config(t):
    conf = t.write("cwd/bad.conf", "# a comment\nlog_level info\nproxy ftp://x\n")
    r = sx_refused(t, ["-f", conf], "the program ran despite the bad config")
    t.check(r.rc == 2, "exit status %s, expected 2" % r.rc)
    t.check("bad.conf:3" in r.err, "stderr does not say bad.conf:3 (file:line)")


@test
def test_wrapper_bad_config_found_in_cwd(t):
    t.write("cwd/socksify.conf", "proxy %s\nconnect_timeout soon\n" % DANTE)
    r = sx_refused(t, [], "the program ran despite the bad config")
    t.check(r.rc != 0, "exit status 0 for a bad ./socksify.conf")
    t.check("socksify.conf:2" in r.err, "stderr does not say socksify.conf:2 (file:line)")


@test
def test_wrapper_bad_proxy_url(t):
    for url in ("ftp://x", "socks5://[fd77::1", "socks5://host:99999"):
        r = sx_refused(t, ["-x", url], "the program ran despite -x %s" % url)
        t.check(r.rc != 0, "exit status 0 for -x %s" % url)
        t.check(r.err.strip(), "no message on stderr for -x %s" % url)


@test
def test_wrapper_missing_config_file(t):
    r = sx_refused(t, ["-f", os.path.join(t.dir, "nope.conf")], "the program ran despite the missing config")
    t.check(r.rc != 0 and "nope.conf" in r.err, "expected nonzero exit and the file name on stderr")


@test
def test_wrapper_no_config(t):
    t.check(not os.path.exists("/etc/socksify.conf"), "/etc/socksify.conf exists on this machine: cannot test 'no config'")
    r = sx_refused(t, [], "the program ran with no proxy configured")
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
    # Under make check-asan the sanitizer runtime must stay first.
    runtime = os.environ.get("SOCKSIFY_IT_PRELOAD", "")
    r = t.sx_x(DANTE, ["sh", "-c", 'echo "$LD_PRELOAD"'], env=t.env(LD_PRELOAD=(runtime + " " + other).strip()))
    t.expect_ok(r, "sh")
    v = r.out.strip()
    t.check(other in v, "the existing LD_PRELOAD entry %s was dropped: %r" % (other, v))
    t.check("libsocksify.so" in v, "libsocksify.so is not in LD_PRELOAD: %r" % v)
    t.check(v.index(other) < v.index("libsocksify.so"), "libsocksify.so was not appended after %s: %r" % (other, v))
