"""Fail closed: when the proxy is down or misbehaves, connect() fails with an errno and not one
packet for the target leaves C. tcpdump watches C's interface (every packet must be between C and
a proxy address/port of P, none to T, none to port 53) and C's loopback (no DNS query) while every
fault runs: each fakeproxy.py fault mode, dead proxies, wrong credentials, a target the proxy
cannot reach, chains with dead hops, and `reject` routes. Each fault is tried to T's IPv4 and IPv6
address and by name (remote DNS); all runs share one capture and go in parallel, to stay fast."""
import ipaddress
import time
from concurrent.futures import ThreadPoolExecutor

from capture import Capture, packets
from testcase import test
from topology import (C4, C6, CLOSED_PORT, DANTE_AUTH_PORT, DANTE_PORT, DEAD2_PORT, DEAD_PORT, ECHO_PORT,
                      FAKE_PORTS, MS_AUTH_PORT, P4C, P6C, PASSWORD, PY, T4, T6, TINY_AUTH_PORT, USER, fake_url)

NAME = "target.sx.test"   # only P can resolve it: by name, the runs need remote DNS
T_NETS = [ipaddress.ip_network("10.77.2.0/24"), ipaddress.ip_network("fd77:2::/64")]

# connect() by name (getaddrinfo, then connect), in pyclient's output format: ERRNO NAME, exit 3.
NAMECLIENT = r"""
import errno, socket, sys
try:
    ai = socket.getaddrinfo(sys.argv[1], int(sys.argv[2]), type=socket.SOCK_STREAM)
except socket.gaierror as e:
    print("GAIERROR", e); sys.exit(7)
family, kind, proto, _, addr = ai[0]
s = socket.socket(family, kind, proto)
s.settimeout(15)
try:
    s.connect(addr)
except OSError as e:
    if e.errno is None:
        print("TIMEOUT client-side connect"); sys.exit(6)
    print("ERRNO %s connect" % errno.errorcode.get(e.errno, e.errno)); sys.exit(3)
print("CONNECTED", s.getpeername()); sys.exit(0)
"""


def fake(mode):
    return ("p", FAKE_PORTS[mode])


def wrong(scheme, port):
    return "%s://%s:wrong%s@%s:%d" % (scheme, USER, PASSWORD, P4C, port)


def remote(conf):
    """The same configuration with remote DNS: socks5 -> socks5h (http:// is remote already)."""
    return conf.replace("socks5://", "socks5h://")


P = {"p": P4C, "p6": P6C}
# (fault, config, expected errno (None: any but ENETUNREACH), endpoints of P that must see C's
# packets, endpoints of P that must see none[, the target's port: T's echo port if not given]).
# Endpoints: (address key, port).
FAULTS = [("fake %s" % mode, "proxy default %s\n%s" % (fake_url(mode), extra), errno, [fake(mode)], [])
          for mode, errno, extra in (
              ("rep:1", None, ""), ("rep:2", "EACCES", ""), ("rep:3", "ENETUNREACH", ""),
              ("rep:4", "EHOSTUNREACH", ""), ("rep:5", "ECONNREFUSED", ""), ("rep:6", "ETIMEDOUT", ""),
              ("badver", "EPROTO", ""), ("badver-method", "EPROTO", ""), ("close-greeting", "ECONNRESET", ""),
              ("close-request", "ECONNRESET", ""), ("nomethod", "EACCES", ""),
              ("silent", "ETIMEDOUT", "handshake_timeout 1s\n"),
              ("blackhole", "ETIMEDOUT", "connect_timeout 1s\nhandshake_timeout 5s\n"),
              ("http-403", "EACCES", ""), ("http-endless", "EPROTO", ""),
              ("http-drip", "ETIMEDOUT", "handshake_timeout 1s\n"), ("http-garbage", "EPROTO", ""))]
FAULTS += [
    ("dead socks5 proxy", "proxy default socks5://%s:%d\n" % (P4C, DEAD_PORT), "ECONNREFUSED", [("p", DEAD_PORT)], []),
    ("dead http proxy", "proxy default http://%s:%d\n" % (P4C, DEAD2_PORT), "ECONNREFUSED", [("p", DEAD2_PORT)], []),
    ("danted wrong password", "proxy default %s\n" % wrong("socks5", DANTE_AUTH_PORT), "EACCES",
     [("p", DANTE_AUTH_PORT)], []),
    ("danted no credentials", "proxy default socks5://[%s]:%d\n" % (P6C, DANTE_AUTH_PORT), "EACCES",
     [("p6", DANTE_AUTH_PORT)], []),
    ("microsocks wrong password", "proxy default %s\n" % wrong("socks5", MS_AUTH_PORT), "EACCES",
     [("p", MS_AUTH_PORT)], []),
    ("tinyproxy wrong password", "proxy default %s\n" % wrong("http", TINY_AUTH_PORT), "EACCES",
     [("p", TINY_AUTH_PORT)], []),
    ("danted: target port closed", "proxy default socks5://%s:%d\n" % (P4C, DANTE_PORT), "ECONNREFUSED",
     [("p", DANTE_PORT)], [], CLOSED_PORT),
    # Chains: the dead hops at P's IPv6 address, so their packets are told apart from the dead proxies above.
    ("chain strict, all hops dead", "proxy a socks5://[%s]:%d\nproxy b http://[%s]:%d\nchain default strict a b\n"
     % (P6C, DEAD_PORT, P6C, DEAD2_PORT), None, [("p6", DEAD_PORT)], []),
    ("chain dynamic, all hops dead", "proxy a socks5://[%s]:%d\nproxy b http://[%s]:%d\nchain default dynamic a b\n"
     % (P6C, DEAD_PORT, P6C, DEAD2_PORT), None, [("p6", DEAD_PORT), ("p6", DEAD2_PORT)], []),
    ("chain: danted, then a dead hop", "proxy d socks5://%s:%d\nproxy x http://%s:%d\nchain default strict d x\n"
     % (P4C, DANTE_PORT, P4C, DEAD_PORT), None, [("p", DANTE_PORT)], []),
    # reject: not even the (working) default proxy at P's IPv6 address may see a packet.
    ("reject route", "proxy default socks5://[%s]:%d\nroute 10.77.2.0/24 reject\nroute fd77:2::/64 reject\n"
     "route *.sx.test reject\n" % (P6C, DANTE_PORT), "ECONNREFUSED", [], [("p6", DANTE_PORT)]),
]


def in_t(addr):
    try:
        return any(ipaddress.ip_address(addr) in net for net in T_NETS)
    except ValueError:
        return False


def check_packets(t, lines, faults):
    """Problems in the capture of C's interface: packets to T, to port 53, or not between C and an
    endpoint of P the faults use; endpoints that should have seen packets and did not (proof that
    the capture watched the runs) or should not have and did."""
    problems = []
    pk = packets(t, lines)
    allowed = {(P[a], port) for f in faults for a, port in f[3]}
    for src, dst, line in pk:
        if any(in_t(e[0]) for e in (src, dst)):
            problems.append("a packet of T's network left C: %s" % line)
        elif 53 in (src[1], dst[1]):
            problems.append("a port-53 packet left C: %s" % line)
        elif not ((src[0] in (C4, C6) and dst in allowed) or (dst[0] in (C4, C6) and src in allowed)):
            problems.append("a packet not between C and a proxy endpoint the faults use: %s" % line)
    for fault, _c, _e, must, must_not, *_port in faults:
        for a, port in must:
            if not any(src[0] in (C4, C6) and dst == (P[a], port) for src, dst, _l in pk):
                problems.append("%s: no packet from C to the proxy %s port %d was captured" % (fault, P[a], port))
        for a, port in must_not:
            seen = [l for src, dst, l in pk if (P[a], port) in (src, dst)]
            if seen:
                problems.append("%s: packets to or from %s port %d: %r" % (fault, P[a], port, seen[:3]))
    return problems


def check_run(fault, target, expected, r):
    """The problem with one client run, or None: it must fail in connect() with the expected errno
    (ENETUNREACH, unless expected, means a direct connection was attempted)."""
    got = r.errno_name()
    if r.rc == 0:
        return "%s, %s: the connection succeeded" % (fault, target)
    if r.timed_out or r.rc == 6:
        return "%s, %s: the client timed out (%.1fs)" % (fault, target, r.seconds)
    if r.rc != 3 or not got:
        return "%s, %s: exit %s without a connect() errno: %r %r" % (fault, target, r.rc, r.out[-200:], r.err[-300:])
    if got == "ENETUNREACH" and expected != "ENETUNREACH":
        return "%s, %s: ENETUNREACH: a direct connection was attempted" % (fault, target)
    if expected and got != expected:
        return "%s, %s: %s, expected %s" % (fault, target, got, expected)
    return None


@test
def test_failclosed_every_fault_no_packet_for_target(t):
    """Every fault in FAULTS, to T4, T6 and by name (3 runs each, 8 at a time): connect() fails with
    the fault's errno, and C's interface shows only C<->proxy packets (each fault's proxy among
    them), none to T or port 53; C's loopback shows no DNS query but the control's."""
    t.need("fakeproxy", "danted", "danted-auth", "microsocks-auth", "tinyproxy-auth")
    jobs = []  # (fault, target, expected, conf path, argv)
    for i, (fault, conf, expected, _must, _must_not, *port) in enumerate(FAULTS):
        port = port[0] if port else ECHO_PORT
        c = t.write("cwd/f%02d.conf" % i, conf)
        cr = t.write("cwd/f%02d-remote.conf" % i, remote(conf))
        jobs.append((fault, T4, expected, c, t.pyclient(T4, port, "--timeout", "10")))
        jobs.append((fault, T6, expected, c, t.pyclient(T6, port, "--timeout", "10")))
        jobs.append((fault, NAME, expected, cr, [PY, "-c", NAMECLIENT, NAME, str(port)]))
    cap = Capture(t)
    dns = Capture(t, "tcpdump-lo", iface="lo", bpf="port 53")
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(lambda j: t.sx_f(j[3], j[4], timeout=20), jobs))
        # Control for the loopback capture: one UDP datagram to 127.0.0.1:53, sent without socksify.
        control = t.run([PY, "-c", "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
                                   "s.sendto(b'control', ('127.0.0.1', 53)); print('PORT', s.getsockname()[1])"])
        time.sleep(0.2)   # let the last packets reach the captures before they stop
    finally:
        lines = cap.stop()
        dns_lines = dns.stop()
    problems = [p for p in (check_run(f, tg, e, r) for (f, tg, e, _c, _a), r in zip(jobs, results)) if p]
    t.check(lines, "tcpdump captured nothing on C's interface: the capture is not watching the runs")
    problems += check_packets(t, lines, FAULTS)
    port = control.line("PORT")
    t.check(control.rc == 0 and port, "the control datagram to 127.0.0.1:53 was not sent: %r" % control.err)
    leaks = [l for src, dst, l in packets(t, dns_lines) if str(src[1]) != port and str(dst[1]) != port]
    problems += ["a DNS packet on C's loopback: %s" % l for l in leaks[:5]]
    t.check(len(dns_lines) > len(leaks), "the loopback capture missed the control datagram: %r" % dns_lines)
    t.check(not problems, "%d problems in %d runs of %d faults:\n  %s%s" % (
        len(problems), len(jobs), len(FAULTS), "\n  ".join(problems[:40]),
        "\n  ... and %d more" % (len(problems) - 40) if len(problems) > 40 else ""))
