"""What socksify must leave to libc: UNIX sockets always, and UDP routed direct, even when the
proxy is down — so any attempt to proxy them would fail the test."""
import os

from testcase import test
from topology import DEAD, HERE, PY


@test
def test_unix_and_udp_pass_through(t):
    """UNIX sockets are never touched; UDP on loopback, routed direct, passes to libc even though
    the proxy is dead. With `direct_loopback no` the same UDP is routed via the dead proxy and
    fails closed instead of going out directly."""
    conf = t.write("cwd/sx.conf", "proxy %s\n" % DEAD)
    r = t.sx_f(conf, [PY, os.path.join(HERE, "localpeers.py")])
    t.expect_ok(r, "localpeers.py")
    closed = t.write("cwd/closed.conf", "proxy %s\ndirect_loopback no\n" % DEAD)
    r2 = t.sx_f(closed, [PY, os.path.join(HERE, "localpeers.py")])
    t.check(r2.rc == 1 and "OK unix" in r2.out.splitlines(), "localpeers.py with loopback via a dead proxy: %r" % r2.out)
    for kind in ("udp4", "udp6"):
        t.check("FAIL %s [Errno 111] Connection refused" % kind in r2.out.splitlines(),
                "%s via a dead proxy must fail with ECONNREFUSED, not go direct: %r" % (kind, r2.out))
    for kind in ("unix", "udp4", "udp6"):
        t.check("OK %s" % kind in r.out.splitlines(), "%s did not round-trip under socksify: %r" % (kind, r.out))
