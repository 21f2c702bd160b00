"""Leak test: every packet leaving C while programs use names through socksify goes to the
proxy's address and port; not one packet goes to port 53."""
import time

from capture import PACKET, Capture
from testcase import test
from topology import C4, DANTE_PORT, ECHO_PORT, HTTP_PORT, P4C, PY

DANTE_H = "socks5h://%s:%d" % (P4C, DANTE_PORT)
URL = "http://target.sx.test:%d/token.txt" % HTTP_PORT


def proxy_leg(src, dst, what):
    """True if a packet goes between C and the proxy's SOCKS port, either way, or is a datagram
    between C and the proxy's UDP relay (any port of the proxy's address), or ICMP from the proxy."""
    proxy = "%s.%d" % (P4C, DANTE_PORT)
    if (src.startswith(C4 + ".") and dst == proxy) or (src == proxy and dst.startswith(C4 + ".")):
        return True
    relay = P4C + "."
    # The relay's "port unreachable" when a datagram arrives after the association ended.
    if what.startswith("ICMP") and src == P4C and dst == C4:
        return True
    return what.startswith("UDP") and ((src.startswith(C4 + ".") and dst.startswith(relay)) or
                                      (src.startswith(relay) and dst.startswith(C4 + ".")))


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
    stray = [l for l, m in zip(lines, packets) if not proxy_leg(m.group(1), m.group(2), m.group(3))]
    t.check(not stray, "packets not between C and the proxy %s:%d (or its UDP relay): %r" % (P4C, DANTE_PORT, stray[:5]))
    t.check(len(lines) >= 20, "only %d packets captured for five clients: %r" % (len(lines), lines))
