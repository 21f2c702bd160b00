"""Leak test: every packet leaving C while programs use names through socksify goes to the
proxy's address and port; not one packet goes to port 53."""
import os
import re
import signal
import subprocess
import time

from procs import wait_until
from testcase import test
from topology import C4, DANTE_PORT, ECHO_PORT, HTTP_PORT, P4C, PY

DANTE_H = "socks5h://%s:%d" % (P4C, DANTE_PORT)
URL = "http://target.sx.test:%d/token.txt" % HTTP_PORT
# The link's own plumbing is not a program's traffic: ARP, IPv6 link-local multicast (MLD, DAD,
# router and neighbour solicitations) and unicast neighbour discovery (ICMPv6 types 133-137).
FILTER = "not arp and not ip6 dst net ff02::/16 and not (icmp6 and ip6[40] >= 133 and ip6[40] <= 137)"
PACKET = re.compile(r"^\d+\.\d+ IP6? (\S+) > (\S+): (.*)$")


class Capture:
    """tcpdump on C's interface, started and stopped by the test, with bounded waits."""

    def __init__(self, t):
        self.out = os.path.join(t.dir, "tcpdump.txt")
        self.err = os.path.join(t.dir, "tcpdump.err")
        with open(self.out, "w") as o, open(self.err, "w") as e:
            self.proc = subprocess.Popen(["ip", "netns", "exec", t.h.ns["c"], "tcpdump", "-i", "vc", "-n", "-l", "-tt",
                                          "-q", FILTER], stdout=o, stderr=e, start_new_session=True)
        started = wait_until(lambda: "listening on" in open(self.err).read() or self.proc.poll() is not None, 10)
        if not started or self.proc.poll() is not None:
            self.stop()
            t.fail("tcpdump did not start: %s" % open(self.err).read())

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        with open(self.out) as f:
            return [l.strip() for l in f if l.strip()]


def proxy_leg(src, dst):
    """True if a packet goes between C and the proxy's SOCKS port, either way."""
    proxy = "%s.%d" % (P4C, DANTE_PORT)
    return (src.startswith(C4 + ".") and dst == proxy) or (src == proxy and dst.startswith(C4 + "."))


@test
def test_leaks_only_proxy_traffic_no_dns(t):
    t.need("danted", "http", "echo")
    cap = Capture(t)
    try:
        runs = [t.sx_x(DANTE_H, t.curl(URL)), t.sx_x(DANTE_H, t.wget(URL)),
                t.sx_x(DANTE_H, t.pyclient_by_name("n7.sx.test", ECHO_PORT)),
                t.sx_x(DANTE_H, [PY, "-c", "import socket; socket.getaddrinfo('unknown-name.example', 80)"]),
                t.sx_x(DANTE_H, [PY, "-c", "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                                           "try: s.sendto(b'q', ('10.77.1.1', 53))\nexcept OSError: pass"])]
        time.sleep(0.2)   # let the last FIN/ACKs reach the capture before it stops (not synchronisation of the clients)
    finally:
        lines = cap.stop()
    for r in runs[:3]:
        t.expect_ok(r, "client")
    t.check(lines, "tcpdump captured nothing: the capture is not watching the traffic")
    packets = [PACKET.match(l) for l in lines]
    odd = [l for l, m in zip(lines, packets) if not m]
    t.check(not odd, "unparsed capture lines: %r" % odd[:5])
    dns = [l for l, m in zip(lines, packets) if m.group(1).endswith(".53") or m.group(2).endswith(".53")]
    t.check(not dns, "port-53 packets left C: %r" % dns[:5])
    stray = [l for l, m in zip(lines, packets) if not proxy_leg(m.group(1), m.group(2))]
    t.check(not stray, "packets not between C and the proxy %s:%d: %r" % (P4C, DANTE_PORT, stray[:5]))
    t.check(len(lines) >= 20, "only %d packets captured for five clients: %r" % (len(lines), lines))
