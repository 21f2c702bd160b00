"""Preconditions, run first: the tools are installed, socksify is built, and the namespaces
really isolate C from T (otherwise no other test proves anything)."""
import os
import shutil

from testcase import test
from topology import CLEAN_PATH, ECHO_PORT, LIB, REQUIRED_TOOLS, T4, T6, WRAPPER, token_url


@test
def test_tools_present(t):
    missing = [x for x in REQUIRED_TOOLS if not shutil.which(x, path=CLEAN_PATH)]
    t.check(not missing, "missing tools: %s" % ", ".join(missing))
    r = t.run(["nc", "-h"], ns=None)
    t.check("OpenBSD" in r.out + r.err, "nc is not OpenBSD netcat (need -N)")


@test
def test_library_built(t):
    for path in (LIB, WRAPPER):
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
    r = t.run(t.curl(token_url(T4)))
    t.check(r.rc != 0, "plain curl from C reached the target")
    r = t.run(t.pyclient(T4, ECHO_PORT), ns="p")
    t.expect_echo(r, T4, ECHO_PORT)
    r = t.run(t.curl(token_url(T4)), ns="p")
    t.expect_token(r)
