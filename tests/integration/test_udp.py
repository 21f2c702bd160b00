"""UDP through SOCKS5 UDP ASSOCIATE (issue 6): python3 sendto/recvfrom and connected sockets,
IPv6, names behind fake addresses, dig against T's dnsmasq, nc -u, sendmmsg/recvmmsg and the other
calls from C (udp_mmsg.c), refusals (microsocks, SOCKS4, HTTP, ssh -D, dead proxies, reject routes)
with no datagram leaving C, the leak capture, a control connection that dies, and a chain.

Every datagram must go through danted (or fakeproxy.py's UDP modes): C can reach only P, and
udpecho.py in T logs (and answers "WHOAMI" with) the source it saw, P's address toward T; danted
logs every datagram (`iooperation`): 'udp/udpassociate -: CLIENT RELAY -> EXTERNAL DEST (LEN)'
for the client's and 'udp/udpreply -: DEST EXTERNAL -> RELAY CLIENT (LEN)' for the answers."""
import ipaddress
import os
import time

from capture import Capture, packets
from procs import wait_until
from testcase import dante_addr, test
from topology import (C4, C6, DANTE, DANTE4, DANTE6, DANTE_AUTH, DANTE_PORT, DEAD, DEAD_PORT, DNS_NAME, DNS_NAME_A,
                      DNS_NAME_AAAA, HERE, MS, MS_PORT, P4C, P4T, P6C, P6T, PY, SSH5, SSH_SOCKS_PORT, T4,
                      T6, TINY, TINY_PORT, UDP_ECHO_PORT, UDPCLIENT, fake_url)

UDP_MMSG = os.path.join(HERE, "udp_mmsg.c")
DANTE_H = "socks5h://%s:%d" % (P4C, DANTE_PORT)
DANTE6_H = "socks5h://[%s]:%d" % (P6C, DANTE_PORT)
FAKE_UDP = fake_url("udp")
FAKE_UDP_H = FAKE_UDP.replace("socks5:", "socks5h:")
FAKE4 = ipaddress.ip_network("198.18.0.0/15")
FAKE6 = ipaddress.ip_network("fd53:6f63:6b73::/96")
T_NETS = [ipaddress.ip_network("10.77.2.0/24"), ipaddress.ip_network("fd77:2::/64")]
P_CLIENT_SIDE = {P4C, P6C}
PORT = UDP_ECHO_PORT


# ----- running the clients -----

def udp(t, url, mode, *args, opts=(), conf=None, timeout=20):
    """udpclient.py [OPTS] MODE ARGS under socksify (-x URL, or -f CONF)."""
    argv = [PY, UDPCLIENT] + list(opts) + [mode] + [str(a) for a in args]
    return t.sx_f(conf, argv, timeout=timeout) if conf else t.sx_x(url, argv, timeout=timeout)


def expect_udp_echo(t, r, host, port, text, what="udpclient"):
    """r (udpclient echo/name) got text back from host:port (recvfrom's address)."""
    if r.rc != 0:
        t.fail("%s exited with status %s (%s), expected the echo" % (
            what, r.rc, ("errno " + r.errno_name()) if r.errno_name() else
            ("timeout" if r.timed_out or r.rc == 6 else "wrong answer" if r.rc == 4 else "no errno")))
    t.check(r.line("FROM") == "%s %d" % (host, port),
            "%s: recvfrom's address is %r, expected the target %s port %d" % (what, r.line("FROM"), host, port))
    t.check(r.line("ECHO") == text, "%s: the echo was %r, expected %r" % (what, r.line("ECHO"), text))


def cfg(t, text, name="sx.conf"):
    path = t.write("cwd/" + name, text)
    os.chmod(path, 0o600)
    return path


def err_lines(r, *words):
    """socksify's error lines on stderr holding every word."""
    return [l for l in r.err.splitlines() if "socksify" in l and "error" in l and all(w in l for w in words)]


def is_fake(addr):
    a = ipaddress.ip_address(addr)
    return a in (FAKE4 if a.version == 4 else FAKE6)


# ----- what the servers saw -----

def dante_datagrams(t, name, dest, client=None):
    """danted's lines for datagrams it forwarded from a client (CLIENT, C's address if given) to
    dest (ADDR.PORT): 'udp/udpassociate -: CLIENT RELAY -> EXTERNAL DEST (LEN)'."""
    out = []
    for l in t.log_lines(name, "udp/udpassociate -:"):
        f = l.split("udp/udpassociate -:", 1)[1].split()
        # With a username method the client is written USER-METHOD%USER@ADDR.PORT.
        addr = f[0].rpartition("@")[2].rpartition(".")[0] if f else None
        if len(f) >= 5 and f[2] == "->" and f[4] == dest and (client is None or addr == client):
            out.append(l)
    return out


def dante_replies(t, name, source):
    """danted's lines for answers from source (ADDR.PORT) relayed to the client: 'udp/udpreply -: SRC ...'."""
    return [l for l in t.log_lines(name, "udp/udpreply -:") if l.split("udp/udpreply -:", 1)[1].split()[:1] == [source]]


def expect_dante_carried(t, name, host, port, client, count=1):
    """danted forwarded at least count datagrams from client to host:port and relayed answers back."""
    dest = dante_addr(host, port)
    t.wait_log(name, lambda _t: len(dante_datagrams(t, name, dest, client)) >= count and dante_replies(t, name, dest))
    got = dante_datagrams(t, name, dest, client)
    t.check(len(got) >= count, "%s's log shows %d datagrams from %s to %s, expected at least %d" % (
        name, len(got), client, dest, count))
    t.check(dante_replies(t, name, dest), "%s's log shows no answer from %s relayed back" % (name, dest))


def dante_relays(t, name):
    """The relay addresses danted announced during the test, as (addr, port): the last field of
    'udp/udpassociate [: CLIENT RELAY'."""
    out = set()
    for l in t.log_lines(name, "udp/udpassociate [:"):
        addr, _, port = l.split()[-1].rpartition(".")
        if port.isdigit():
            out.add((addr, int(port)))
    return out


def echo_sources(t, name="udpecho"):
    """The source addresses udpecho.py logged during the test ('from ADDR PORT len N')."""
    return [l.split()[1] for l in t.log_lines(name, "from ") if l.startswith("from ")]


def expect_echo_from_proxy(t, addr, count=1):
    """udpecho.py saw count datagrams, every one from addr (P's address toward T)."""
    t.wait_log("udpecho", lambda _t: len(echo_sources(t)) >= count)
    srcs = echo_sources(t)
    t.check(len(srcs) >= count, "udpecho.py saw %d datagrams, expected at least %d" % (len(srcs), count))
    t.check(all(s == addr for s in srcs), "udpecho.py saw datagrams from %r, expected only the proxy's %s" % (
        sorted(set(srcs)), addr))


# ----- 1. sendto/recvfrom -----

@test
def test_udp_python_sendto_danted(t):
    """sendto/recvfrom (and sendmsg/recvmsg) to T4 through danted: the echo comes back from the
    target's address; udpecho.py saw P's address, danted's log shows the datagrams from C."""
    t.need("danted", "udpecho")
    r = udp(t, DANTE, "echo", T4, PORT, "hello over udp")
    expect_udp_echo(t, r, T4, PORT, "hello over udp")
    r = udp(t, DANTE, "echo", T4, PORT, "hello by sendmsg", opts=["--sendmsg"])
    expect_udp_echo(t, r, T4, PORT, "hello by sendmsg", "udpclient --sendmsg")
    r = udp(t, DANTE, "whoami", T4, PORT)
    t.expect_ok(r, "udpclient whoami")
    seen = r.line("SEEN") or ""
    t.check(seen.split()[:1] == [P4T], "the echo server saw the datagram from %r, expected the proxy %s" % (seen, P4T))
    expect_echo_from_proxy(t, P4T, 3)
    expect_dante_carried(t, "danted", T4, PORT, C4, 3)


@test
def test_udp_python_danted_username_auth(t):
    """The association's control connection authenticates (danted's username method)."""
    t.need("danted-auth", "udpecho")
    r = udp(t, DANTE_AUTH, "echo", T4, PORT, "hello with a password")
    expect_udp_echo(t, r, T4, PORT, "hello with a password")
    expect_dante_carried(t, "danted-auth", T4, PORT, C4)


# ----- 2. connected UDP -----

@test
def test_udp_python_connected_danted(t):
    """connect() sets the default destination: send/recv, getpeername() is the target, recvfrom's
    address too; connect(AF_UNSPEC) dissolves it: send() -> EDESTADDRREQ, getpeername() ->
    ENOTCONN, and sendto() still works on the same association."""
    t.need("danted", "udpecho")
    r = udp(t, DANTE, "connected", T4, PORT)
    if r.rc not in (0, 4):
        t.fail("udpclient connected exited %s (%s)" % (r.rc, r.errno_name() or ("timeout" if r.timed_out or r.rc == 6
                                                                                   else "no errno")))
    t.check(r.line("PEER") == "%s %d" % (T4, PORT), "getpeername() after connect: %r" % r.line("PEER"))
    echoes = [l for l in r.out.splitlines() if l.startswith("ECHO ")]
    t.check(echoes == ["ECHO connected one", "ECHO connected two"], "echoes %r" % echoes)
    t.check(r.line("FROM") == "%s %d" % (T4, PORT), "recvfrom on the connected socket gave %r" % r.line("FROM"))
    t.check(r.line("RESULT connect-unspec") == "ok", "connect(AF_UNSPEC): %r" % r.line("RESULT connect-unspec"))
    t.check(r.line("RESULT send-after-unspec") == "EDESTADDRREQ",
            "send() after connect(AF_UNSPEC): %r, expected EDESTADDRREQ" % r.line("RESULT send-after-unspec"))
    t.check(r.line("RESULT getpeername-after-unspec") == "ENOTCONN",
            "getpeername() after connect(AF_UNSPEC): %r, expected ENOTCONN" % r.line("RESULT getpeername-after-unspec"))
    t.check(r.line("RESULT sendto-after-unspec") == "ok",
            "sendto() after connect(AF_UNSPEC): %r" % r.line("RESULT sendto-after-unspec"))
    t.check(r.rc == 0, "udpclient connected: wrong answer somewhere (exit 4)")
    expect_echo_from_proxy(t, P4T, 3)
    expect_dante_carried(t, "danted", T4, PORT, C4, 3)


# ----- 3. IPv6 -----

@test
def test_udp_ipv6_target(t):
    """fd77:2::2 from an AF_INET6 socket, through danted's IPv6 address and through its IPv4 address."""
    t.need("danted", "udpecho")
    for url in (DANTE6, DANTE):
        r = udp(t, url, "echo", T6, PORT, "hello over udp6")
        expect_udp_echo(t, r, T6, PORT, "hello over udp6", "udpclient via %s" % url)
        r = udp(t, url, "whoami", T6, PORT)
        t.expect_ok(r, "udpclient whoami via %s" % url)
        t.check((r.line("SEEN") or "").split()[:1] == [P6T], "via %s the echo server saw %r, expected %s" % (
            url, r.line("SEEN"), P6T))
    expect_echo_from_proxy(t, P6T, 4)
    expect_dante_carried(t, "danted", T6, PORT, None, 4)


@test
def test_udp_relay_family(t):
    """danted gives a relay of the family of the UDP ASSOCIATE request's DST.ADDR (0.0.0.0 -> its
    IPv4 address, :: -> its IPv6 address), whatever the control connection's family. An AF_INET6
    socket with IPV6_V6ONLY (as dig makes) cannot talk to an IPv4 relay, and an AF_INET socket not
    to an IPv6 one: each must get a relay of its own family, through the IPv4 and the IPv6 proxy
    address alike. And a proxy given by its IPv6 address carries an AF_INET6 socket's datagrams over
    IPv6 (from C6 to danted's IPv6 relay)."""
    t.need("danted", "udpecho")
    problems = []
    for url in (DANTE, DANTE6):
        for host, text, opts in ((T6, "v6only", ["--v6only"]), (T4, "inet socket", []), (T6, "dual", [])):
            r = udp(t, url, "echo", host, PORT, text, opts=opts)
            if r.rc != 0 or r.line("ECHO") != text or r.line("FROM") != "%s %d" % (host, PORT):
                problems.append("%s socket to %s via %s: exit %s, %s" % (
                    "AF_INET6 IPV6_V6ONLY" if opts else "AF_INET6" if ":" in host else "AF_INET", host, url, r.rc,
                    ("errno " + r.errno_name()) if r.errno_name() else r.out.strip().replace("\n", "; ") or "no output"))
    clients6 = {l.split("udp/udpassociate -:", 1)[1].split()[0].rpartition(".")[0]
                for l in dante_datagrams(t, "danted", dante_addr(T6, PORT))}
    if C6 not in clients6:
        problems.append("via %s no AF_INET6 socket's datagram reached danted over IPv6 (clients seen: %s): the "
                        "association asked for an IPv4 relay" % (DANTE6, sorted(clients6) or "none"))
    t.check(not problems, "%d problems:\n  %s" % (len(problems), "\n  ".join(problems)))


@test
def test_udp_ipv4_target_from_inet6_socket(t):
    """An AF_INET6 socket sending to ::ffff:10.77.2.2 (IPv4-mapped): the datagram goes to T4 through
    danted and the answer comes from ::ffff:10.77.2.2."""
    t.need("danted", "udpecho")
    r = udp(t, DANTE, "echo", T4, PORT, "mapped", opts=["--family", "inet6"])
    expect_udp_echo(t, r, "::ffff:" + T4, PORT, "mapped")
    expect_echo_from_proxy(t, P4T)
    t.check(t.wait_lines("danted", 1, "udp/udpassociate -:", dante_addr(T4, PORT)),
            "danted's log does not show the datagram to %s" % dante_addr(T4, PORT))


# ----- 4. names through fake addresses -----

@test
def test_udp_name_fake_address(t):
    """getaddrinfo(NAME, PORT, SOCK_DGRAM) with socks5h:// gives a fake address; sendto it works,
    and recvfrom's address is that fake address (IPv4 and IPv6 names); connect() to it: getpeername()
    is the fake address, send/recv work."""
    t.need("danted", "udpecho")
    r = udp(t, DANTE_H, "name", "target.sx.test", PORT)
    addr = r.line("ADDR") or ""
    t.check(addr and is_fake(addr) and ":" not in addr, "getaddrinfo(SOCK_DGRAM) gave %r, expected a fake IPv4 address"
            % addr)
    expect_udp_echo(t, r, addr, PORT, "hello by name")
    t.check(r.line("PEER") == "%s %d" % (addr, PORT) and r.line("ECHO2") == "connected by name",
            "connect() to the fake address: getpeername() %r, echo %r" % (r.line("PEER"), r.line("ECHO2")))
    r = udp(t, DANTE_H, "name", "target6.sx.test", PORT, opts=["--family", "inet6"])
    addr6 = r.line("ADDR") or ""
    t.check(addr6 and is_fake(addr6) and ":" in addr6, "getaddrinfo(AF_INET6, SOCK_DGRAM) gave %r" % addr6)
    expect_udp_echo(t, r, addr6, PORT, "hello by name")
    t.check(r.line("PEER") == "%s %d" % (addr6, PORT) and r.line("ECHO2") == "connected by name",
            "connect() to the IPv6 fake address: getpeername() %r, echo %r" % (r.line("PEER"), r.line("ECHO2")))
    expect_dante_carried(t, "danted", T4, PORT, C4)
    expect_dante_carried(t, "danted", T6, PORT, C4)
    t.wait_log("udpecho", lambda _t: len(echo_sources(t)) >= 2)
    t.check(sorted(set(echo_sources(t))) == sorted([P4T, P6T]), "udpecho.py saw %r, expected %s and %s" % (
        echo_sources(t), P4T, P6T))


@test
def test_udp_name_sent_in_datagram_header(t):
    """Through fakeproxy.py's UDP relay: the datagram header carries the name (ATYP 3), not the fake
    address; the association request is a SOCKS5 UDP ASSOCIATE (command 3)."""
    t.need("fakeproxy", "udpecho")
    r = udp(t, FAKE_UDP_H, "name", "target.sx.test", PORT)
    expect_udp_echo(t, r, r.line("ADDR") or "?", PORT, "hello by name")
    recs = wait_until(lambda: [x for x in t.fake_records("udp") if "udp" in x], 5) or []
    hdr = recs[0]["udp"] if recs else None
    t.check(hdr and hdr["atyp"] == 3 and hdr["host"] == "target.sx.test" and hdr["port"] == PORT and hdr["frag"] == 0,
            "the relay received %r, expected a datagram for target.sx.test:%d with ATYP 3" % (hdr, PORT))
    assoc = [x for x in t.fake_records("udp") if "request" in x]
    t.check(assoc and assoc[0]["request"]["cmd"] == 3, "no UDP ASSOCIATE request: %r" % assoc)
    # By address: ATYP 1 with T4.
    r = udp(t, FAKE_UDP, "echo", T4, PORT, "by address")
    expect_udp_echo(t, r, T4, PORT, "by address")
    hdrs = [x["udp"] for x in t.fake_records("udp") if "udp" in x]
    t.check(any(h["atyp"] == 1 and h["host"] == T4 and h["port"] == PORT for h in hdrs),
            "no datagram for %s:%d with ATYP 1: %r" % (T4, PORT, hdrs))


@test
def test_udp_junk_from_relay_dropped(t):
    """fakeproxy.py sends a fragment (FRAG 1), a bad ATYP, a short header and a datagram from another
    port of P before the real answer: the program receives the real answer first."""
    t.need("fakeproxy", "udpecho")
    for opts in ([], ["--sendmsg"]):
        r = udp(t, FAKE_UDP, "echo", T4, PORT, "JUNK-FIRST", opts=opts)
        expect_udp_echo(t, r, T4, PORT, "JUNK-FIRST", "udpclient %s" % " ".join(opts))


# A relay labels 50 answers with names the program never asked for, then sends the real one. The
# program gets the real one first, and the next name it looks up gets the map's second address:
# the relay's names took none.
NAMES_CLIENT = r"""
import socket, sys
port = int(sys.argv[1])
fake = socket.getaddrinfo("target.sx.test", port, socket.AF_INET, socket.SOCK_DGRAM)[0][4]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(10)
s.sendto(b"NAMES-FIRST", fake)
data, src = s.recvfrom(100)
print("FIRST", data.decode(errors="replace"), src[0], src[1])
print("NEXT", socket.getaddrinfo("other.sx.test", port, socket.AF_INET, socket.SOCK_DGRAM)[0][4][0])
"""


@test
def test_udp_relay_names_do_not_fill_the_map(t):
    """A hostile relay labels answers with names nobody asked for: they are dropped, and take no
    fake address (the map would otherwise fill up, 65536 names at most)."""
    t.need("fakeproxy", "udpecho")
    r = t.sx_x(FAKE_UDP_H, [PY, "-c", NAMES_CLIENT, str(PORT)])
    t.expect_ok(r, "names client")
    t.check(r.line("FIRST") == "NAMES-FIRST 198.18.0.1 %d" % PORT,
            "the first datagram received was %r, expected the echo from target.sx.test's fake address" % r.line("FIRST"))
    t.check(r.line("NEXT") == "198.18.0.2", "the next name got %r: the relay's names took addresses" % r.line("NEXT"))


# ----- 5. dig -----

def dig(server, qtype):
    return ["dig", "+tries=1", "+time=3", "+short", "@" + server, DNS_NAME, qtype]


@test
def test_udp_dig_through_proxy(t):
    """dig @T4 and @T6 (UDP to port 53 of a target routed via the proxy, with remote names) goes
    through the association: dnsmasq in T answers, and saw the query from P."""
    t.need("danted", "dns")
    control = t.run(dig(T4, "A"), timeout=15)
    t.check(control.rc != 0 and DNS_NAME_A not in control.out, "control: dig without socksify reached T's DNS server")
    # dig's IPv6 socket is IPv6-only: its association asks for an IPv6 relay, reached from C6.
    for server, qtype, answer, src, client in ((T4, "A", DNS_NAME_A, P4T, C4), (T6, "AAAA", DNS_NAME_AAAA, P6T, C6)):
        r = t.sx_x(DANTE_H, dig(server, qtype), timeout=15)
        t.expect_ok(r, "dig @%s" % server)
        t.check(r.out.split() == [answer], "dig @%s %s %s printed %r, expected %s" % (server, DNS_NAME, qtype, r.out,
                                                                                     answer))
        t.check(t.wait_lines("dns", 1, "query[%s] %s from %s" % (qtype, DNS_NAME, src)),
                "dnsmasq did not log the %s query from the proxy %s" % (qtype, src))
        expect_dante_carried(t, "danted", server, 53, client)


# ----- 6. nc -u -----

@test
def test_udp_nc(t):
    """OpenBSD nc -u (connect() on a non-blocking socket, then write/read) to T4 and T6."""
    t.need("danted", "udpecho")
    for host, src in ((T4, P4T), (T6, P6T)):
        r = t.sx_x(DANTE, ["nc", "-u", "-w1", host, str(PORT)], input_text="hello nc\n", timeout=15)
        t.expect_ok(r, "nc -u %s" % host)
        t.check(r.out == "hello nc\n", "nc -u %s printed %r, expected the echo" % (host, r.out))
        expect_dante_carried(t, "danted", host, PORT, C4)
    t.wait_log("udpecho", lambda _t: len(echo_sources(t)) >= 2)
    t.check(sorted(set(echo_sources(t))) == sorted([P4T, P6T]), "udpecho.py saw %r" % echo_sources(t))


# ----- 7. C: sendmmsg/recvmmsg and the other calls -----



def udp_mmsg_binary(t):
    return t.compiled(UDP_MMSG)


def c_cases(t, url, host, *cases):
    r = t.sx_x(url, [udp_mmsg_binary(t), host, str(PORT)] + list(cases), timeout=40)
    fails = [l for l in r.out.splitlines() if l.startswith("FAIL ")]
    if r.timed_out:
        t.fail("udp_mmsg %s timed out" % host)
    t.check(not fails and r.rc == 0 and "END" in r.out.splitlines(), "udp_mmsg %s via %s: exit %s%s" % (
        host, url, r.rc, "".join("\n  " + l for l in fails) or " (crashed? no FAIL line)"))
    return r


@test
def test_udp_c_mmsg_and_calls_ipv4(t):
    """udp_mmsg.c to T4 through danted: sendmmsg/recvmmsg (MSG_WAITFORONE and blocking, and via
    syscall()), MSG_PEEK, MSG_TRUNC, EAGAIN, recvmsg with 2 iovecs, connected write/read,
    writev/readv, send/recv, 65500 bytes -> EMSGSIZE, an 8000-byte round trip."""
    t.need("danted", "udpecho")
    c_cases(t, DANTE, T4, "all")
    expect_echo_from_proxy(t, P4T, 20)
    expect_dante_carried(t, "danted", T4, PORT, C4, 20)


@test
def test_udp_c_mmsg_and_calls_ipv6(t):
    """The same to T6: through danted's IPv4 address (every case, EMSGSIZE included: the IPv4 relay
    takes 65507 bytes) and its IPv6 address (all but the size limit)."""
    t.need("danted", "udpecho")
    c_cases(t, DANTE, T6, "all")
    c_cases(t, DANTE6, T6, "mmsg", "sysmmsg", "peek", "trunc", "eagain", "iov", "rwv", "8k")
    expect_echo_from_proxy(t, P6T, 40)
    expect_dante_carried(t, "danted", T6, PORT, None, 40)


# ----- 8. proxies without UDP: an errno, a log line, no datagram -----

REFUSALS = [
    # (what, proxy URL or config, expected errnos, P ports that may see C's TCP packets)
    ("microsocks", MS, ("EOPNOTSUPP",), {MS_PORT}),
    ("danted as socks4", DANTE4, ("EOPNOTSUPP",), set()),
    ("tinyproxy (http)", TINY, ("EOPNOTSUPP",), set()),
    ("ssh -D", SSH5, ("ECONNRESET", "EOPNOTSUPP"), {SSH_SOCKS_PORT}),
    ("dead proxy", DEAD, ("ECONNREFUSED",), {DEAD_PORT}),
    ("chain ending in http", "proxy d %s\nproxy tiny %s\nchain default strict d tiny\n" % (DANTE, TINY),
     ("EOPNOTSUPP",), set()),
    ("reject route", "proxy default %s\nroute 10.77.2.0/24 port %d reject\n" % (DANTE, PORT), ("ECONNREFUSED",), set()),
]


@test
def test_udp_refused_without_leaks(t):
    """Proxies that cannot carry UDP: sendto fails with the documented errno (twice: the failure is
    remembered, and no second handshake is made), an error line names UDP; under capture not one
    UDP packet leaves C, and the only TCP is to the proxies that had to be asked."""
    t.need("microsocks", "ssh-socks", "danted", "tinyproxy", "udpecho")
    cap = Capture(t)
    runs = []
    try:
        for i, (what, proxy, _errnos, _ports) in enumerate(REFUSALS):
            if "\n" in proxy:
                runs.append(udp(t, None, "fail", T4, PORT, conf=cfg(t, proxy, "r%d.conf" % i)))
            else:
                runs.append(udp(t, proxy, "fail", T4, PORT))
        time.sleep(0.2)   # let the last packets reach the capture before it stops (not synchronisation)
    finally:
        lines = cap.stop()
    problems = []
    for (what, proxy, errnos, _ports), r in zip(REFUSALS, runs):
        got = [l.split()[1] for l in r.out.splitlines() if l.startswith("ERRNO ")]
        sent = [l for l in r.out.splitlines() if l.startswith("SENT ")]
        if sent or len(got) != 2 or got[0] not in errnos or got[1] != got[0]:
            problems.append("%s: sendto results %r%s, expected %s twice" % (what, got, " and " + ", ".join(sent) if sent
                                                                            else "", " or ".join(errnos)))
        elif not err_lines(r, "UDP"):
            problems.append("%s: no error log line naming UDP on stderr" % what)
    allowed = set().union(*(p for _w, _u, _e, p in REFUSALS))
    conns = {}
    for src, dst, line in packets(t, lines):
        if "UDP" in line:
            problems.append("a UDP packet: %s" % line)
        elif dst[0] in (P4C, P6C) and dst[1] is not None:
            if dst[1] not in allowed:
                problems.append("a packet to %s port %d (a proxy that must not be asked): %s" % (dst[0], dst[1], line))
            conns.setdefault(dst[1], set()).add(src[1])
        elif src[0] in (P4C, P6C) and src[1] in allowed:
            continue
        else:
            problems.append("a packet not between C and an allowed proxy port: %s" % line)
    for port in (MS_PORT, SSH_SOCKS_PORT, DEAD_PORT):
        if len(conns.get(port, ())) != 1:
            problems.append("%d connections to port %d, expected exactly one (one attempt, then the failure is "
                            "remembered)" % (len(conns.get(port, ())), port))
    t.check(not t.log_lines("danted", "udp/"), "danted saw UDP: %r" % t.log_lines("danted", "udp/"))
    t.check(not echo_sources(t), "udpecho.py received datagrams: %r" % echo_sources(t))
    t.check(not problems, "%d problems:\n  %s" % (len(problems), "\n  ".join(problems[:30])))


# ----- 9. the leak capture -----

@test
def test_udp_leaks_only_relay_traffic(t):
    """Under capture on C's interface: python (v4, v6, by name), nc -u, dig (v4, v6) and
    udp_mmsg.c; every UDP packet is between C and a relay danted announced, all TCP is to danted's
    SOCKS port, nothing goes to T and nothing to port 53."""
    t.need("danted", "udpecho", "dns")
    binary = udp_mmsg_binary(t)
    cap = Capture(t)
    try:
        runs = [udp(t, DANTE_H, "echo", T4, PORT, "leak v4"),
                udp(t, DANTE6_H, "echo", T6, PORT, "leak v6"),
                udp(t, DANTE_H, "name", "target.sx.test", PORT),
                t.sx_x(DANTE_H, ["nc", "-u", "-w1", T4, str(PORT)], input_text="leak nc\n", timeout=15),
                t.sx_x(DANTE_H, dig(T4, "A"), timeout=15),
                t.sx_x(DANTE_H, dig(T6, "AAAA"), timeout=15),
                t.sx_x(DANTE_H, [binary, T4, str(PORT), "mmsg", "8k"], timeout=40)]
        time.sleep(0.2)   # let the last packets reach the capture before it stops (not synchronisation)
    finally:
        lines = cap.stop()
    # Every client's failure, and every stray packet, in one report.
    problems = ["client %d (%s) exited with status %s" % (i + 1, " ".join(r.argv[-5:]), r.rc)
                for i, r in enumerate(runs) if r.rc != 0]
    for r, answer in ((runs[4], DNS_NAME_A), (runs[5], DNS_NAME_AAAA)):
        if r.rc == 0 and r.out.split() != [answer]:
            problems.append("%s answered %r, expected %s" % (" ".join(r.argv[-3:]), r.out, answer))
    relays = dante_relays(t, "danted")
    t.check(relays, "danted's log shows no UDP association")
    udp_packets = 0
    for src, dst, line in packets(t, lines):
        if _in_t(src[0]) or _in_t(dst[0]):
            problems.append("a packet to or from T: %s" % line)
        elif 53 in (src[1], dst[1]):
            problems.append("a port-53 packet: %s" % line)
        elif "UDP" in line:
            udp_packets += 1
            peer = dst if src[0] in (C4, C6) else src
            if peer not in relays:
                problems.append("a UDP packet not between C and a relay danted announced %r: %s" % (sorted(relays), line))
        elif not ((src[0] in (C4, C6) and dst[0] in P_CLIENT_SIDE and dst[1] in (DANTE_PORT, None)) or
                  (dst[0] in (C4, C6) and src[0] in P_CLIENT_SIDE and src[1] in (DANTE_PORT, None))):
            problems.append("a packet not between C and danted: %s" % line)
    t.check(udp_packets >= 20, "only %d UDP packets captured: the capture missed the clients' datagrams" % udp_packets)
    t.check(not problems, "%d problems:\n  %s" % (len(problems), "\n  ".join(problems[:30])))


def _in_t(addr):
    try:
        a = ipaddress.ip_address(addr)
    except ValueError:
        return False
    return any(a in n for n in T_NETS if n.version == a.version)


# ----- 10. the control connection dies -----

@test
def test_udp_control_connection_closed(t):
    """fakeproxy.py udp-then-close closes the association's TCP control connection when the first
    answer arrives: the answer is delivered, and the next sendto fails with ECONNRESET (and
    keeps failing)."""
    t.need("fakeproxy", "udpecho")
    r = udp(t, fake_url("udp-then-close"), "control-close", T4, PORT, timeout=30)
    t.check(r.line("ECHO") == "first" and r.line("FROM") == "%s %d" % (T4, PORT),
            "the first exchange failed: %r" % r.out)
    t.check(r.errno_name() == "ECONNRESET", "after the control connection closed sendto gave %s, expected ECONNRESET"
            % (r.errno_name() or ("nothing: " + (r.line("TIMEOUT") or "timeout"))))
    t.check(r.line("ATTEMPTS") == "1", "sendto failed only at attempt %s (the first send after the close should fail)"
            % r.line("ATTEMPTS"))
    t.check(err_lines(r, "UDP"), "no error log line naming UDP when the control connection closed")


# ----- 11. a chain -----

@test
def test_udp_chain_microsocks_danted(t):
    """chain ms -> danted: the control connection goes through microsocks (CONNECT to danted), the
    association is danted's, the datagrams go from C straight to danted's relay."""
    t.need("microsocks", "danted", "udpecho")
    conf = cfg(t, "proxy ms %s\nproxy d %s\nchain default strict ms d\n" % (MS, DANTE))
    r = udp(t, None, "echo", T4, PORT, "chained", conf=conf)
    expect_udp_echo(t, r, T4, PORT, "chained")
    r = udp(t, None, "whoami", T4, PORT, conf=conf)
    t.expect_ok(r, "udpclient whoami")
    t.check((r.line("SEEN") or "").split()[:1] == [P4T], "the echo server saw %r" % r.line("SEEN"))
    t.check(t.ms_saw("microsocks", P4C, DANTE_PORT), "microsocks did not connect to danted (hop 1 -> 2)")
    t.check(t.wait_lines("danted", 1, "udp/udpassociate [:"), "danted did not get the UDP ASSOCIATE")
    expect_dante_carried(t, "danted", T4, PORT, C4, 2)
    expect_echo_from_proxy(t, P4T, 2)


# ----- direct routes stay direct -----

@test
def test_udp_direct_routes_untouched(t):
    """UDP to loopback (direct_loopback) and to a `direct` range goes to libc: the loopback echo
    works without danted, and a direct datagram to T fails as it does without socksify."""
    t.need("danted", "udpecho-c")
    r = udp(t, DANTE, "echo", "127.0.0.1", PORT, "loopback")
    expect_udp_echo(t, r, "127.0.0.1", PORT, "loopback")
    r = udp(t, DANTE, "echo", "::1", PORT, "loopback6")
    expect_udp_echo(t, r, "::1", PORT, "loopback6")
    conf = cfg(t, "proxy default %s\nroute 10.77.2.0/24 direct\n" % DANTE)
    r = udp(t, None, "echo", T4, PORT, "direct", conf=conf)
    t.check(r.errno_name() == "ENETUNREACH", "a `direct` datagram to T gave %s (exit %s), expected ENETUNREACH from "
            "the kernel (C has no route to T)" % (r.errno_name(), r.rc))
    t.check(not t.log_lines("danted", "udp/"), "danted saw UDP: %r" % t.log_lines("danted", "udp/"))


@test
def test_udp_name_routed_direct_resolved_locally(t):
    """A name routed direct is resolved here, for datagrams as for connections: C cannot resolve
    it (no DNS), so sendto and connect fail with EHOSTUNREACH and an error line, and nothing
    reaches the proxy or leaves C as UDP."""
    t.need("danted")
    conf = t.write("cwd/sx.conf", "proxy socks5h://%s:%d\nroute *.nowhere.sx.test direct\n" % (P4C, DANTE_PORT))
    before = len(t.log_lines("danted", "udpassociate"))
    connect = ("import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
               "try:\n    s.connect(('x.nowhere.sx.test', %d))\n    print('CONNECTED')\n"
               "except OSError as e:\n    print('ERRNO', errno.errorcode[e.errno])\n" % UDP_ECHO_PORT)
    for how, argv in (("sendto", [PY, UDPCLIENT, "name", "x.nowhere.sx.test", str(UDP_ECHO_PORT)]),
                      ("connect", [PY, "-c", "import errno\n" + connect])):
        r = t.sx_f(conf, argv)
        t.check("ERRNO EHOSTUNREACH" in r.out, "%s to a direct name C cannot resolve: expected EHOSTUNREACH, got %r"
                % (how, r.out))
        t.check("does not resolve here" in r.err, "no error line for the unresolvable direct name: %r" % r.err)
    t.check(len(t.log_lines("danted", "udpassociate")) == before, "danted saw an association for a name routed direct")


@test
def test_udp_failed_association_keeps_direct_traffic(t):
    """A socket whose association failed (dead proxy) is not tied to any relay: datagrams from a
    peer it reaches directly (loopback) still arrive, unchanged, and it still sends to it; the
    proxied destination keeps failing with the remembered errno."""
    conf = t.write("cwd/sx.conf", "proxy %s\n" % DEAD)
    prog = """import errno, socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('127.0.0.1', 0))
s.settimeout(5)
for i in range(2):
    try:
        s.sendto(b'x', ('%s', %d))
        print('SENT')
    except OSError as e:
        print('ERRNO', errno.errorcode[e.errno])
p = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
p.bind(('127.0.0.1', 0))
p.settimeout(5)
p.sendto(b'direct in', s.getsockname())
data, src = s.recvfrom(100)
print('GOT', data.decode(), src == p.getsockname())
s.sendto(b'direct out', p.getsockname())
print('BACK', p.recvfrom(100)[0].decode())
""" % (T4, UDP_ECHO_PORT)
    r = t.sx_f(conf, [PY, "-c", prog])
    t.expect_ok(r, "the program")
    t.check(r.out.splitlines() == ["ERRNO ECONNREFUSED", "ERRNO ECONNREFUSED", "GOT direct in True", "BACK direct out"],
            "a socket with a failed association: %r" % r.out)


@test
def test_udp_nonblocking_association_in_background(t):
    """Through a proxy that takes 0.3 s to answer UDP ASSOCIATE: the first sendto() of each of 8
    non-blocking sockets returns at once (its datagram waits for the association, made in the
    background), so all 8 are sent in far less than 8 x 0.3 s; every echo then arrives from the
    target. A blocking socket's first sendto() waits for its association instead."""
    t.need("fakeproxy", "udpecho")
    prog = """import socket, time
n = 8
socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(n)]
for s in socks:
    s.setblocking(False)
start = time.monotonic()
for i, s in enumerate(socks):
    s.sendto(b'bg %%d' %% i, ('%s', %d))
print('SENT %%.3f' %% (time.monotonic() - start))
for i, s in enumerate(socks):
    s.settimeout(5)
    data, src = s.recvfrom(100)
    print('ECHO', data.decode(), src == ('%s', %d))
b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
start = time.monotonic()
b.sendto(b'blocking', ('%s', %d))
print('BLOCKING %%.3f' %% (time.monotonic() - start))
""" % ((T4, PORT) * 3)
    r = t.sx_x(fake_url("udp-slow"), [PY, "-c", prog], timeout=30)
    t.expect_ok(r, "the program")
    out = r.out.splitlines()
    sent = float(out[0].split()[1])
    t.check(sent < 1.0, "8 first datagrams of non-blocking sockets took %.3f s to send: the association was "
            "waited for (8 x 0.3 s serially would be 2.4 s)" % sent)
    t.check(out[1:9] == ["ECHO bg %d True" % i for i in range(8)], "echoes: %r" % out[1:9])
    blocking = float(out[9].split()[1])
    t.check(blocking >= 0.25, "a blocking socket's first sendto returned in %.3f s, before its association" % blocking)
    assoc = [l for l in t.log_lines("fakeproxy", "udp associate")]
    t.check(len(assoc) >= 9, "fakeproxy logged %d associations, expected 9: %r" % (len(assoc), assoc[-3:]))


@test
def test_udp_receive_blocked_before_the_association(t):
    """A thread is blocked in recvfrom() (a blocking socket, no timeout) before another thread's
    first sendto() makes the association: that receive is inside libc, so it is woken with an
    empty datagram from loopback before the socket is tied to the relay; its next recvfrom()
    goes through socksify and gets the answer from the target. No datagram from the relay, and
    no SOCKS header, ever reaches the program."""
    t.need("danted", "udpecho")
    prog = r"""import os, socket, threading, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('0.0.0.0', 0))
got = []
def reader():
    while True:
        data, src = s.recvfrom(65536)
        got.append((data, src))
        if data:
            return
th = threading.Thread(target=reader, daemon=True)
th.start()
nr = {'x86_64': '45', 'aarch64': '207'}[os.uname().machine]
deadline = time.monotonic() + 5
while time.monotonic() < deadline:
    with open('/proc/self/task/%%d/syscall' %% th.native_id) as f:
        if f.read().split()[:1] == [nr]:
            break
else:
    raise SystemExit('the reader never blocked in recvfrom')
s.sendto(b'WHOAMI', ('%s', %d))
th.join(5)
for data, src in got:
    print('GOT', repr(data), src[0], src[1])
""" % (T4, PORT)
    r = t.sx_x(DANTE, [PY, "-c", prog], timeout=20)
    t.expect_ok(r, "the program")
    got = [l.split(" ", 1)[1] for l in r.out.splitlines() if l.startswith("GOT ")]
    t.check(got and got[-1].startswith("b'YOU ARE %s " % P4T) and got[-1].endswith(" %s %d" % (T4, PORT)),
            "the blocked reader's last datagram is not the answer from the target: %r" % got)
    t.check(all(g.startswith("b'' 127.0.0.1 ") for g in got[:-1]),
            "before the answer the reader got something else than one empty datagram from loopback: %r" % got)
    t.check(len(got) <= 2, "the reader got %d datagrams: %r" % (len(got), got))
