"""What socksify must leave to libc: UNIX sockets and UDP (for now), even when loopback is
routed via a proxy that is down — so any attempt to proxy them would fail the test."""
import os

from testcase import test
from topology import DEAD, HERE, PY


@test
def test_unix_and_udp_pass_through(t):
    conf = t.write("cwd/sx.conf", "proxy %s\ndirect_loopback no\n" % DEAD)
    r = t.sx_f(conf, [PY, os.path.join(HERE, "localpeers.py")])
    t.expect_ok(r, "localpeers.py")
    for kind in ("unix", "udp4", "udp6"):
        t.check("OK %s" % kind in r.out.splitlines(), "%s did not round-trip under socksify: %r" % (kind, r.out))
