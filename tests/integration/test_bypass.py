"""Ways around socksify's judgement that an outside audit found (issue 13, items 1 and 4), each
run by bypass_cases.c in C, which reaches T only through a proxy in P: address forms the kernel
accepts (the 24-byte sockaddr_in6 of RFC 2133, AF_UNSPEC read as AF_INET by an IPv4 UDP send,
0.0.0.0 meaning this host), inet protocols SOCKS cannot carry (UDP-Lite, raw ICMP), and the other
names under which libc offers hooked calls (__connect, __read_chk, __recv_chk, __recvfrom_chk).
tcpdump on C's interface shows where packets went."""
import ipaddress
import os

from capture import Capture, packets
from testcase import test
from topology import (DANTE, DANTE_PORT, ECHO_PORT, HERE, P4C, P4T, P6C, P6T, T4, T6, UDP_ECHO_PORT,
                      fake_url)

BYPASS_CASES = os.path.join(HERE, "bypass_cases.c")
DANTE_H = "socks5h://%s:%d" % (P4C, DANTE_PORT)
T_NETS = [ipaddress.ip_network("10.77.2.0/24"), ipaddress.ip_network("fd77:2::/64")]


def run_cases(t, cases, url=DANTE, conf=None):
    """Runs each (case, host, port) under socksify (-x url, or -f conf); returns their output lines."""
    binary = t.compiled(BYPASS_CASES)
    out = []
    for case, host, port in cases:
        argv = [binary, case, host, str(port)]
        r = t.sx_f(conf, argv, timeout=20) if conf else t.sx_x(url, argv, timeout=20)
        t.check(r.rc == 0 and not r.timed_out, "bypass_cases %s %s exited %s: %s" % (case, host, r.rc, r.err[-500:]))
        out.append(r.out.strip())
    return out


def expect(t, cases, got, wanted):
    bad = ["%s %s:%s gave %r, expected %r" % (c[0], c[1], c[2], g, w) for c, g, w in zip(cases, got, wanted)
           if not g.startswith(w)]
    t.check(not bad, "; ".join(bad))


def no_packets_to_t_or_dns(t, lines):
    pk = packets(t, lines)
    leaks = [l for src, dst, l in pk
             if any(ipaddress.ip_address(e[0]) in n for e in (src, dst) for n in T_NETS if ":" in e[0] or "." in e[0])
             or 53 in (src[1], dst[1])]
    t.check(not leaks, "packets past the proxy: %r" % leaks[:5])
    return pk


@test
def test_bypass_address_forms_go_through_the_proxy(t):
    """TCP connect and TCP Fast Open with a 24-byte sockaddr_in6, UDP with one, and UDP with
    AF_UNSPEC (which an IPv4 socket's kernel reads as AF_INET): all carried by danted."""
    t.need("danted", "echo", "udpecho")
    cases = [("connect6_24", T6, ECHO_PORT), ("fastopen6_24", T6, ECHO_PORT), ("udp6_24", T6, UDP_ECHO_PORT),
             ("udp_unspec", T4, UDP_ECHO_PORT)]
    cap = Capture(t)
    try:
        got = run_cases(t, cases)
    finally:
        lines = cap.stop()
    expect(t, cases, got, ["OK x", "OK x", "OK YOU ARE %s " % P6T, "OK YOU ARE %s " % P4T])
    no_packets_to_t_or_dns(t, lines)


@test
def test_bypass_dns_guard_reads_every_form(t):
    """While names are remote, a datagram to port 53 that would go direct is refused in every form
    the kernel accepts: AF_UNSPEC on IPv4, the 24-byte IPv6 address, and UDP-Lite. Not one packet
    to port 53 leaves C (P's network is routed direct, so P stands in for a DNS server here)."""
    t.need("danted")
    cases = [("udp_unspec", P4C, 53), ("udp6_24", P6C, 53), ("udplite", P4C, 53)]
    conf = t.write("dns.conf", "proxy default %s\nroute 10.77.1.0/24 direct\nroute fd77:1::/64 direct\n" % DANTE_H)
    cap = Capture(t)
    try:
        got = run_cases(t, cases, conf=conf)
    finally:
        lines = cap.stop()
    expect(t, cases, got, ["ERRNO EACCES"] * 3)
    no_packets_to_t_or_dns(t, lines)


@test
def test_bypass_uncarried_protocols_fail_closed(t):
    """UDP-Lite and raw ICMP to a destination routed via a proxy fail with EACCES (SOCKS carries
    only TCP and UDP) instead of going direct; routed direct, they reach the kernel untouched
    (which, in C, has no route to T)."""
    t.need("danted")
    cases = [("udplite", T4, UDP_ECHO_PORT), ("raw_icmp", T4, 0)]
    cap = Capture(t)
    try:
        got = run_cases(t, cases)
    finally:
        lines = cap.stop()
    expect(t, cases, got, ["ERRNO EACCES", "ERRNO EACCES"])
    no_packets_to_t_or_dns(t, lines)
    conf = t.write("direct.conf", "proxy default %s\nroute 10.77.2.0/24 direct\n" % DANTE)
    got = run_cases(t, cases, conf=conf)
    expect(t, cases, got, ["ERRNO ENETUNREACH", "ERRNO ENETUNREACH"])


@test
def test_bypass_connect_to_any_address_stays_on_this_host(t):
    """connect() to 0.0.0.0 reaches this host (Linux reads it as loopback): it goes direct, to C's
    own echo server, and not to the proxy (whose host would take it for its own)."""
    t.need("danted", "echo-c")
    got = run_cases(t, [("connect_any", "0.0.0.0", ECHO_PORT)])
    t.check(got == ["OK x"], "connect to 0.0.0.0 gave %r, expected C's own echo" % got)
    t.check(not t.log_lines("danted", "0.0.0.0.%d" % ECHO_PORT), "danted was asked for 0.0.0.0")


@test
def test_bypass_libc_aliases_are_hooked(t):
    """__connect goes through the proxy; __read_chk on a connect still in progress says EAGAIN (not
    the placeholder's EINVAL); __recvfrom_chk and __recv_chk on a UDP socket with an association
    give the payload without the SOCKS header, from the real peer (not the relay)."""
    t.need("danted", "fakeproxy", "echo", "udpecho")
    delay = fake_url("delay:0.1")
    got = run_cases(t, [("__connect", T4, ECHO_PORT)])
    got += run_cases(t, [("read_chk_pending", T4, ECHO_PORT)], url=delay)
    got += run_cases(t, [("recvfrom_chk_udp", T4, UDP_ECHO_PORT), ("recv_chk_udp", T4, UDP_ECHO_PORT)])
    wanted = ["OK x", "EAGAIN, then OK x", "OK YOU ARE %s " % P4T, "OK YOU ARE %s " % P4T]
    cases = [("__connect", T4, ECHO_PORT), ("read_chk_pending", T4, ECHO_PORT), ("recvfrom_chk_udp", T4, UDP_ECHO_PORT),
             ("recv_chk_udp", T4, UDP_ECHO_PORT)]
    expect(t, cases, got, wanted)
    t.check(got[2].endswith("FROM %s %d" % (T4, UDP_ECHO_PORT)),
            "__recvfrom_chk reported the source %r, expected T %s %d" % (got[2], T4, UDP_ECHO_PORT))
