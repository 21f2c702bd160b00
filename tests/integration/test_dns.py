"""Remote DNS: names are resolved by the proxy, never in C (which has no DNS server at all).
Only P's /etc/hosts knows target.sx.test, target6.sx.test and n0..n319.sx.test."""
import ipaddress
import json
import os

from procs import wait_until
from testcase import dante_addr, test
from topology import DANTE_PORT, ECHO_PORT, HERE, HTTP_PORT, MS6_PORT, MS_PORT, P4C, P6C, PY, T4, T6, fake_url

DNSCLIENT = os.path.join(HERE, "dnsclient.py")
DANTE_H = "socks5h://%s:%d" % (P4C, DANTE_PORT)
MS_H = "socks5h://%s:%d" % (P4C, MS_PORT)
MS6_H = "socks5h://[%s]:%d" % (P6C, MS6_PORT)
FAKEPROXY_H = fake_url("ok").replace("socks5:", "socks5h:")
EACCES, EHOSTUNREACH = 13, 113
EAI_NONAME, EAI_FAIL = -2, -4
FAKE4 = ipaddress.ip_network("198.18.0.0/15")
FAKE6 = ipaddress.ip_network("fd53:6f63:6b73::/96")
NAME_URL = "http://target.sx.test:%d/token.txt" % HTTP_PORT


def dns(t, *args, url=DANTE_H, conf=None):
    """dnsclient.py ARGS under socksify; returns (result, its JSON answer or {})."""
    argv = [PY, DNSCLIENT] + [str(a) for a in args]
    r = t.sx_f(conf, argv) if conf else t.sx_x(url, argv)
    lines = [l for l in r.out.splitlines() if l.startswith("{")]
    return r, (json.loads(lines[-1]) if lines else {})


def is_fake(addr, net4=FAKE4, net6=FAKE6):
    a = ipaddress.ip_address(addr)
    return a in (net4 if a.version == 4 else net6)


def log_lines(r, *words):
    """socksify's log lines on stderr holding every word."""
    return [l for l in r.err.splitlines() if "socksify" in l and all(w in l for w in words)]


@test
def test_dns_curl_by_name(t):
    t.need("danted", "http")
    t.expect_token(t.sx_x(DANTE_H, t.curl(NAME_URL)))
    dest = dante_addr(T4, HTTP_PORT)
    t.check(t.dante_saw("danted", dest), "danted's log does not show it connecting to %s" % dest)


@test
def test_dns_name_sent_to_proxy(t):
    """The CONNECT request carries the name (ATYP 3), not the fake address."""
    t.need("fakeproxy", "echo")
    r = t.sx_x(fake_url("ok").replace("socks5:", "socks5h:"), t.pyclient_by_name("target.sx.test", ECHO_PORT))
    t.expect_ok(r, "python client by name")
    recs = wait_until(lambda: t.fake_records("ok"), 5)
    req = recs[0].get("request") if recs else None
    t.check(req and req["atyp"] == 3 and req["host"] == "target.sx.test" and req["port"] == ECHO_PORT,
            "the proxy received %r, expected CONNECT target.sx.test:%d with ATYP 3" % (req, ECHO_PORT))
    # The same through an IPv6 fake address (AF_INET6 lookup).
    t.need("fakeproxy")
    r, a = dns(t, "echo", "target6.sx.test", ECHO_PORT, "inet6", url=FAKEPROXY_H)
    t.expect_ok(r, "dnsclient echo (IPv6) via fakeproxy")
    t.check(is_fake(a.get("address", "::")), "AF_INET6 answer not in fake_range6: %r" % a)
    recs = wait_until(lambda: t.fake_records("ok"), 5)
    req = recs[0].get("request") if recs else None
    t.check(req and req["atyp"] == 3 and req["host"] == "target6.sx.test" and req["port"] == ECHO_PORT,
            "the proxy received %r, expected CONNECT target6.sx.test:%d with ATYP 3" % (req, ECHO_PORT))


@test
def test_dns_wget_by_name_microsocks(t):
    t.need("microsocks", "http")
    t.expect_token(t.sx_x(MS_H, t.wget(NAME_URL)))


@test
def test_dns_wget_by_name_danted(t):
    t.need("danted", "http")
    t.expect_token(t.sx_x(DANTE_H, t.wget(NAME_URL)))
    dest = dante_addr(T4, HTTP_PORT)
    t.check(t.dante_saw("danted", dest), "danted's log does not show it connecting to %s" % dest)


@test
def test_dns_python_urllib_by_name(t):
    t.need("danted", "http")
    code = "import urllib.request,sys; sys.stdout.write(urllib.request.urlopen(%r, timeout=10).read().decode())" % NAME_URL
    t.expect_token(t.sx_x(DANTE_H, [PY, "-c", code]))
    dest = dante_addr(T4, HTTP_PORT)
    t.check(t.dante_saw("danted", dest), "danted's log does not show it connecting to %s" % dest)


@test
def test_dns_without_socksify_fails(t):
    """Control: C alone cannot resolve the name, so the passing tests above did not resolve locally."""
    r = t.run(t.curl(NAME_URL))
    t.check(r.rc == 6, "curl without socksify exited %s, expected 6 (could not resolve host)" % r.rc)


@test
def test_dns_getaddrinfo_families(t):
    _, v4 = dns(t, "gai", "target.sx.test", "inet", "stream", "http")
    t.check(v4.get("results") and all(is_fake(x[4]) and x[0] == 2 for x in v4["results"]),
            "AF_INET answer not a fake IPv4 address: %r" % v4)
    t.check(len(v4["results"]) == 1 and v4["results"][0][5] == 80, "one SOCK_STREAM entry, port 80 for 'http': %r" % v4)
    _, v6 = dns(t, "gai", "target.sx.test", "inet6", "stream")
    t.check(v6.get("results") and all(is_fake(x[4]) and x[0] == 10 for x in v6["results"]),
            "AF_INET6 answer not a fake IPv6 address: %r" % v6)
    _, un = dns(t, "gai", "target.sx.test", "unspec", "0")
    kinds = sorted(x[1] for x in un.get("results", []))
    t.check(kinds == [1, 2, 3] and all(is_fake(x[4]) for x in un["results"]),
            "AF_UNSPEC with socktype 0: expected one fake entry per socket type as glibc gives, got %r" % un)
    t.check(v4["results"][0][4] == un["results"][0][4], "the same name got two IPv4 addresses: %r %r" % (v4, un))
    _, canon = dns(t, "gai", "target.sx.test", "inet", "stream", "80", "canon")
    t.check(canon.get("results") and canon["results"][0][3] == "target.sx.test", "AI_CANONNAME: %r" % canon)


@test
def test_dns_getaddrinfo_like_glibc(t):
    """For every service/socktype/protocol/flags combination, a remote name's answer has the shape
    glibc gives for a name in C's /etc/hosts (entries, types, protocols, ports, errors, canonname),
    with one fake address; AI_NUMERICHOST makes a name fail with EAI_NONAME."""
    for family, ref in (("inet", "local.sx.test"), ("inet6", "localhost"), ("unspec", "local.sx.test")):
        r, a = dns(t, "gaimatrix", "target.sx.test", ref, family)
        t.check(a.get("rows"), "dnsclient gaimatrix %s gave no answer" % family)
        addrs, bad = set(), []
        for row in a["rows"]:
            got, want = row["name"], row["ref"]
            if isinstance(want, str) or isinstance(got, str):
                if got != want:
                    bad.append((row["hints"], got, want))
                continue
            shape = lambda res, name: [(f, ty, p, port, c == name if c else None) for f, ty, p, c, _, port in res]
            if shape(got, "target.sx.test") != shape(want, ref):
                bad.append((row["hints"], got, want))
            addrs.update(x[4] for x in got)
        t.check(not bad, "%s: answers unlike glibc's for %s (hints, socksify, glibc): %r" % (family, ref, bad[:4]))
        t.check(len(addrs) == 1 and is_fake(addrs.pop()) if addrs else False,
                "%s: expected one fake address for target.sx.test, got %r" % (family, addrs))
        t.check(a["numerichost"] == "gaierror %d" % EAI_NONAME,
                "%s: AI_NUMERICHOST with a name gave %r, expected EAI_NONAME" % (family, a["numerichost"]))


@test
def test_dns_hostent_functions(t):
    """gethostbyname2 (both families), gethostbyname2_r, gethostbyname_r (and ERANGE for a small
    buffer), then gethostbyaddr/getnameinfo of the IPv6 fake address give the name back."""
    r, a = dns(t, "hostent", "target.sx.test", "target6.sx.test")
    t.expect_ok(r, "dnsclient hostent")
    for key, name, fam in (("gbn2_inet6", "target6.sx.test", 10), ("gbn2_inet", "target.sx.test", 2)):
        h = a[key]
        t.check(h and h[0] == name and h[1] == fam and len(h[2]) == 1 and is_fake(h[2][0]) and
                (":" in h[2][0]) == (fam == 10), "%s(%s): %r, expected one fake address of family %d" % (key, name, h, fam))
    for key, name, fam in (("gbn2_r_inet6", "r6.target6.sx.test", 10), ("gbn_r", "r4.target.sx.test", 2)):
        x = a[key]
        h = x["hostent"]
        t.check(x["rc"] == 0 and h and h[0] == name and h[1] == fam and len(h[2]) == 1 and is_fake(h[2][0]),
                "%s(%s): %r, expected one fake address of family %d" % (key, name, x, fam))
    t.check(a["gbn_r_small"]["rc"] == 34, "gethostbyname_r with an 8-byte buffer: %r, expected ERANGE"
            % a["gbn_r_small"])
    v6 = a["gbn2_inet6"][2][0]
    t.check(a["byaddr6"] == ["target6.sx.test", [v6]], "gethostbyaddr(%s): %r" % (v6, a["byaddr6"]))
    t.check(a["nameinfo6"] == ["target6.sx.test", "7777"], "getnameinfo(%s): %r" % (v6, a["nameinfo6"]))


@test
def test_dns_ipv6_answer_connects(t):
    """The AF_INET6 answer for an IPv6-only name, through danted (IPv4 proxy address) and through
    microsocks listening on IPv6; the proxy resolves the name and connects to T over IPv6."""
    t.need("danted", "microsocks6", "echo")
    for url in (DANTE_H, MS6_H):
        r, a = dns(t, "echo", "target6.sx.test", ECHO_PORT, "inet6", url=url)
        t.expect_ok(r, "dnsclient echo (IPv6) via %s" % url)
        t.check(is_fake(a["address"]) and ":" in a["address"] and a["peer"] == a["address"] and a["echo_ok"],
                "via %s: unexpected answer %r" % (url, a))
    dest = dante_addr(T6, ECHO_PORT)
    t.check(t.dante_saw("danted", dest), "danted's log does not show it connecting to %s" % dest)


@test
def test_dns_nc_by_name(t):
    t.need("danted", "echo")
    r = t.sx_x(DANTE_H, ["nc", "-N", "target.sx.test", str(ECHO_PORT)], input_text="hello")
    t.expect_ok(r, "nc")
    t.check(r.out == "hello", "nc printed %r, expected the echo" % r.out)


@test
def test_dns_reverse_lookups(t):
    r, a = dns(t, "reverse", "target.sx.test")
    t.expect_ok(r, "dnsclient reverse")
    t.check(is_fake(a["address"]), "gethostbyname gave %r" % a["address"])
    t.check(a["ex"] == ["target.sx.test", [a["address"]]], "gethostbyname_ex: %r" % a["ex"])
    t.check(a["byaddr"] == ["target.sx.test", [a["address"]]], "gethostbyaddr: %r" % a["byaddr"])
    t.check(a["nameinfo"] == ["target.sx.test", "http"], "getnameinfo: %r" % a["nameinfo"])
    t.check(a["nameinfo_numeric"] == [a["address"], "http"], "getnameinfo NI_NUMERICHOST: %r" % a["nameinfo_numeric"])


@test
def test_dns_fork_both_ways(t):
    t.need("danted", "echo")
    r, a = dns(t, "fork", "n300.sx.test", "n301.sx.test", ECHO_PORT)
    t.expect_ok(r, "dnsclient fork")
    t.check(a["child_echo_ok"], "the child could not connect to its parent's answer: %r" % a)
    t.check(a["parent_echo_ok"], "the parent could not connect to its child's answer: %r" % a)
    t.check(is_fake(a["first"]) and is_fake(a["second"]) and a["first"] != a["second"], "answers %r" % a)


@test
def test_dns_32_threads(t):
    t.need("danted", "echo")
    r, a = dns(t, "threads", 32, 10, ECHO_PORT)
    t.expect_ok(r, "dnsclient threads")
    t.check(a["ok"] == 320 and a["distinct_addresses"] == 320, "32x10 lookups+connects: %r" % a)
    t.check(len(a["addresses"]) == 320 and all(is_fake(x) for x in a["addresses"]),
            "not all in fake_range: %r" % [x for x in a["addresses"] if not is_fake(x)][:5])


@test
def test_dns_local_names_stay_local(t):
    # Control: in the same setup a remote name does get a fake address, so the real answers below
    # come from the local-name rule, not from remote DNS being off.
    _, a = dns(t, "gai", "target.sx.test", "inet", "stream")
    t.check(a.get("results") and is_fake(a["results"][0][4]), "control: target.sx.test is not fake: %r" % a)
    for name in ("localhost", "local.sx.test"):
        _, a = dns(t, "gai", name, "inet", "stream")
        t.check(a.get("results") and a["results"][0][4] == "127.0.0.1", "%s should resolve from /etc/hosts: %r" % (name, a))
    _, a = dns(t, "gai", "localhost", "inet6", "stream")
    t.check(a.get("results") and a["results"][0][4] == "::1", "localhost (AF_INET6) should be ::1: %r" % a)
    for host, family in ((T4, "inet"), (T6, "inet6"), (T4, "unspec")):
        _, a = dns(t, "gai", host, family, "stream")
        t.check(a.get("results") and [x[4] for x in a["results"]] == [host], "a numeric host changed: %r" % a)
    # AI_PASSIVE changes nothing for a given name (POSIX ignores it then): a remote name is fake,
    # never a question for the local resolver (test_dnsleak.py watches the wire).
    _, a = dns(t, "passive", "target.sx.test")
    t.check(a.get("addresses") and all(is_fake(x) for x in a["addresses"]), "AI_PASSIVE with a remote name: "
            "expected a fake address, got %r" % a)


@test
def test_dns_local_and_off_modes(t):
    t.need("danted", "http")
    socks5 = "socks5://%s:%d" % (P4C, DANTE_PORT)
    # Controls: the same curl works with dns remote, explicit or by default, so the failures below
    # come from the mode, not from the setup; `dns remote` also works with a socks5:// proxy.
    for proxy, line in ((DANTE_H, "dns remote\n"), (DANTE_H, ""), (socks5, "dns remote\n")):
        conf = t.write("cwd/remote.conf", "proxy %s\n%s" % (proxy, line))
        t.expect_token(t.sx_f(conf, t.curl(NAME_URL)))
    for mode in ("local", "off"):
        conf = t.write("cwd/%s.conf" % mode, "proxy %s\ndns %s\n" % (DANTE_H, mode))
        r = t.sx_f(conf, t.curl(NAME_URL))
        t.check(r.rc == 6, "dns %s: curl by name exited %s, expected 6 (could not resolve)" % (mode, r.rc))
        r, a = dns(t, "gai", "target.sx.test", "unspec", "stream", conf=conf)
        t.check("results" not in a and a.get("errno") is not None, "dns %s: getaddrinfo answered %r" % (mode, a))
        if mode == "off":
            t.check(a["errno"] in (EAI_FAIL, EAI_NONAME), "dns off: getaddrinfo error %r, expected EAI_FAIL "
                    "or EAI_NONAME" % a["errno"])
        # localhost still resolves in every mode
        _, a = dns(t, "gai", "localhost", "inet", "stream", conf=conf)
        t.check(a.get("results") and a["results"][0][4] == "127.0.0.1", "dns %s: localhost gave %r" % (mode, a))
    r = t.sx_x(socks5, t.curl(NAME_URL))
    t.check(r.rc == 6, "socks5:// resolves locally by default: curl exited %s, expected 6" % r.rc)


@test
def test_dns_fake_range_keys(t):
    """fake_range and fake_range6 choose where fake addresses come from; connections still work."""
    t.need("danted", "echo")
    net4, net6 = ipaddress.ip_network("100.64.7.0/24"), ipaddress.ip_network("fd00:5ec::/112")
    conf = t.write("cwd/ranges.conf", "proxy %s\nfake_range %s\nfake_range6 %s\n" % (DANTE_H, net4, net6))
    for name, family in (("target.sx.test", "inet"), ("target6.sx.test", "inet6")):
        r, a = dns(t, "echo", name, ECHO_PORT, family, conf=conf)
        t.expect_ok(r, "dnsclient echo %s" % family)
        t.check(is_fake(a["address"], net4, net6) and a["echo_ok"],
                "%s: expected an address in %s / %s and a working echo, got %r" % (name, net4, net6, a))


@test
def test_dns_port53_refused(t):
    """Port 53 routed direct would leak names while they are remote: refused. (Routed via the
    proxy it goes through the UDP association instead: test_udp.py.)"""
    direct = t.write("cwd/direct-net.conf", "proxy %s\ndirect 10.77.1.0/24 fd77:1::/64\n" % DANTE_H)
    for host, how in ((P4C, "sendto"), (P4C, "sendmsg"), (P4C, "connect"), (P6C, "sendto"), ("127.0.0.1", "sendto")):
        r, a = dns(t, "udp53", host, how, conf=direct)
        t.check(a.get("errno") == EACCES, "UDP %s to %s port 53 while names are remote: expected EACCES, got %r"
                % (how, host, a))
        t.check(log_lines(r, "error", "53"), "UDP %s to %s:53 refused without an error log line" % (how, host))
    conf = t.write("cwd/allow.conf", "proxy %s\ndirect_dns yes\n" % DANTE_H)
    for how in ("sendto", "sendmsg", "connect"):
        _, a = dns(t, "udp53", P4C, how, conf=conf)
        t.check(a.get("sent"), "direct_dns yes must let UDP %s to port 53 through: %r" % (how, a))
    # Only remote names make port 53 a leak: with a socks5:// proxy (dns local) it is not refused.
    _, a = dns(t, "udp53", P4C, url="socks5://%s:%d" % (P4C, DANTE_PORT))
    t.check(a.get("sent"), "dns local: UDP to port 53 must not be refused: %r" % a)
    conf = t.write("cwd/direct.conf", "proxy %s\ndirect 10.77.1.0/24\n" % DANTE_H)
    r, a = dns(t, "tcp", P4C, 53, conf=conf)
    t.check(a.get("errno") == EACCES, "TCP to port 53 bypassing the proxy: expected EACCES, got %r" % a)
    t.check(log_lines(r, "error", "53"), "TCP to %s:53 refused without an error log line" % P4C)


@test
def test_dns_port53_through_proxy_allowed(t):
    """TCP to port 53 of a remote target goes through the proxy: the proxy gets the CONNECT."""
    t.need("fakeproxy")
    for host, atyp in (("target.sx.test", 3), (T4, 1)):
        _, a = dns(t, "tcp", host, 53, url=FAKEPROXY_H)
        # T's dnsmasq listens on T4:53 (TCP too), so the connection through the proxy succeeds, not EACCES.
        t.check(a.get("connected"), "TCP to %s:53 via the proxy: expected a connection to T's DNS server, got %r"
                % (host, a))
    reqs = [r.get("request") or {} for r in wait_until(lambda: len(t.fake_records("ok")) >= 2 and t.fake_records("ok"), 5) or []]
    t.check([(q.get("atyp"), q.get("host"), q.get("port")) for q in reqs] == [(3, "target.sx.test", 53), (1, T4, 53)],
            "the proxy should have received CONNECT target.sx.test:53 and %s:53, got %r" % (T4, reqs))


@test
def test_dns_unknown_fake_address_fails(t):
    """A fake address nobody looked up fails locally: nothing reaches the proxy."""
    t.need("fakeproxy")
    for addr in ("198.18.77.77", "fd53:6f63:6b73::7777"):
        r, a = dns(t, "tcp", addr, ECHO_PORT, url=FAKEPROXY_H)
        t.check(a.get("errno") == EHOSTUNREACH, "%s, a fake address nobody looked up: expected EHOSTUNREACH, got %r"
                % (addr, a))
        t.check(log_lines(r, "error"), "connect to %s failed without an error log line" % addr)
    t.check(not wait_until(lambda: t.fake_records("ok"), 0.3),
            "the proxy received a request for an unknown fake address: %r" % t.fake_records("ok"))


@test
def test_dns_perl_gethostbyname(t):
    """perl calls the non-reentrant gethostbyname()/gethostbyaddr() (python uses the _r forms)."""
    code = ('use Socket; $a = gethostbyname("target.sx.test") or exit 3; ($n) = gethostbyaddr($a, AF_INET);'
            'print inet_ntoa($a), " $n\\n"')
    r = t.sx_x(DANTE_H, ["perl", "-e", code])
    t.expect_ok(r, "perl")
    addr, _, name = r.out.strip().partition(" ")
    t.check(is_fake(addr) and name == "target.sx.test", "perl saw %r, expected a fake address and its name" % r.out)
