"""tcpdump in C for the leak and fail-closed tests: by default every packet that leaves or reaches
C on its interface vc, one line each, parsed into (source, destination) endpoints."""
import os
import re
import signal
import subprocess

from procs import wait_until

# The link's own plumbing is not a program's traffic: ARP, IPv6 link-local multicast (MLD, DAD,
# router and neighbour solicitations) and unicast neighbour discovery (ICMPv6 types 133-137).
FILTER = "not arp and not ip6 dst net ff02::/16 and not (icmp6 and ip6[40] >= 133 and ip6[40] <= 137)"
PACKET = re.compile(r"^\d+\.\d+ IP6? (\S+) > (\S+): (.*)$")


class Capture:
    """tcpdump in C (by default on its interface vc, without the link's plumbing), started and
    stopped by the test, with bounded waits. name: the files in the test's dir (NAME.txt, NAME.err)."""

    def __init__(self, t, name="tcpdump", iface="vc", bpf=FILTER):
        self.out = os.path.join(t.dir, name + ".txt")
        self.err = os.path.join(t.dir, name + ".err")
        with open(self.out, "w") as o, open(self.err, "w") as e:
            self.proc = subprocess.Popen(["ip", "netns", "exec", t.h.ns["c"], "tcpdump", "-i", iface, "-n", "-l", "-tt",
                                          "-q", bpf], stdout=o, stderr=e, start_new_session=True)
        started = wait_until(lambda: "listening on" in open(self.err).read() or self.proc.poll() is not None, 10)
        if not started or self.proc.poll() is not None:
            self.stop()
            t.fail("tcpdump did not start: %s" % open(self.err).read())

    def stop(self):
        """Stops tcpdump (SIGINT, bounded) and returns the captured lines."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        with open(self.out) as f:
            return [l.strip() for l in f if l.strip()]


def endpoint(text):
    """tcpdump's ADDR.PORT (IPv4 or IPv6; ICMP has no port) as (addr, port or None)."""
    addr, dot, port = text.rstrip(":").rpartition(".")
    if dot and port.isdigit() and (":" in addr or addr.count(".") == 3):
        return addr, int(port)
    return text.rstrip(":"), None


def packets(t, lines):
    """Parses captured lines into (src, dst, line) with src/dst as (addr, port); fails the test on a
    line that is not a packet (the filters and -q keep every line in one shape)."""
    parsed = [(PACKET.match(l), l) for l in lines]
    odd = [l for m, l in parsed if not m]
    t.check(not odd, "unparsed capture lines: %r" % odd[:5])
    return [(endpoint(m.group(1)), endpoint(m.group(2)), l) for m, l in parsed]
