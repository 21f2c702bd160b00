"""Remote DNS: names are resolved by the proxy, never in C (which has no DNS server at all).
Only P's /etc/hosts knows target.sx.test, target6.sx.test and n0..n319.sx.test."""
import ipaddress
import json
import os

from procs import wait_until
from testcase import dante_addr, test
from topology import DANTE_PORT, ECHO_PORT, HERE, HTTP_PORT, MS_PORT, P4C, PY, T4, fake_url

DNSCLIENT = os.path.join(HERE, "dnsclient.py")
DANTE_H = "socks5h://%s:%d" % (P4C, DANTE_PORT)
MS_H = "socks5h://%s:%d" % (P4C, MS_PORT)
FAKE4 = ipaddress.ip_network("198.18.0.0/15")
FAKE6 = ipaddress.ip_network("fd53:6f63:6b73::/96")
NAME_URL = "http://target.sx.test:%d/token.txt" % HTTP_PORT


def dns(t, *args, url=DANTE_H, conf=None):
    """dnsclient.py ARGS under socksify; returns (result, its JSON answer or {})."""
    argv = [PY, DNSCLIENT] + [str(a) for a in args]
    r = t.sx_f(conf, argv) if conf else t.sx_x(url, argv)
    lines = [l for l in r.out.splitlines() if l.startswith("{")]
    return r, (json.loads(lines[-1]) if lines else {})


def is_fake(addr):
    a = ipaddress.ip_address(addr)
    return a in (FAKE4 if a.version == 4 else FAKE6)


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


@test
def test_dns_wget_by_name_microsocks(t):
    t.need("microsocks", "http")
    t.expect_token(t.sx_x(MS_H, t.wget(NAME_URL)))


@test
def test_dns_python_urllib_by_name(t):
    t.need("danted", "http")
    code = "import urllib.request,sys; sys.stdout.write(urllib.request.urlopen(%r, timeout=10).read().decode())" % NAME_URL
    t.expect_token(t.sx_x(DANTE_H, [PY, "-c", code]))


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
def test_dns_ipv6_answer_connects(t):
    t.need("danted", "echo")
    r, a = dns(t, "echo", "target6.sx.test", ECHO_PORT, "inet6")
    t.expect_ok(r, "dnsclient echo (IPv6)")
    t.check(is_fake(a["address"]) and a["peer"] == a["address"] and a["echo_ok"], "unexpected answer %r" % a)


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
    t.check(all(is_fake(x) for x in a["addresses"]), "not fake: %r" % a["addresses"])


@test
def test_dns_local_names_stay_local(t):
    for name in ("localhost", "local.sx.test"):
        _, a = dns(t, "gai", name, "inet", "stream")
        t.check(a.get("results") and a["results"][0][4] == "127.0.0.1", "%s should resolve from /etc/hosts: %r" % (name, a))
    _, a = dns(t, "gai", T4, "inet", "stream")
    t.check(a.get("results") and a["results"][0][4] == T4, "a numeric host changed: %r" % a)
    _, a = dns(t, "passive", "target.sx.test")
    t.check(not any(is_fake(x) for x in a.get("addresses", [])), "AI_PASSIVE got a fake address: %r" % a)


@test
def test_dns_local_and_off_modes(t):
    t.need("danted", "http")
    for mode in ("local", "off"):
        conf = t.write("cwd/%s.conf" % mode, "proxy %s\ndns %s\n" % (DANTE_H, mode))
        r = t.sx_f(conf, t.curl(NAME_URL))
        t.check(r.rc == 6, "dns %s: curl by name exited %s, expected 6 (could not resolve)" % (mode, r.rc))
    r = t.sx_x("socks5://%s:%d" % (P4C, DANTE_PORT), t.curl(NAME_URL))
    t.check(r.rc == 6, "socks5:// resolves locally by default: curl exited %s, expected 6" % r.rc)


@test
def test_dns_port53_refused(t):
    _, a = dns(t, "udp53", P4C)
    t.check(a.get("errno") == 13, "UDP to port 53 while names are remote: expected EACCES, got %r" % a)
    conf = t.write("cwd/allow.conf", "proxy %s\ndirect_dns yes\n" % DANTE_H)
    _, a = dns(t, "udp53", P4C, conf=conf)
    t.check(a.get("sent"), "direct_dns yes must let the datagram out: %r" % a)
    conf = t.write("cwd/direct.conf", "proxy %s\ndirect 10.77.1.0/24\n" % DANTE_H)
    _, a = dns(t, "tcp", P4C, 53, conf=conf)
    t.check(a.get("errno") == 13, "TCP to port 53 bypassing the proxy: expected EACCES, got %r" % a)


@test
def test_dns_unknown_fake_address_fails(t):
    _, a = dns(t, "tcp", "198.18.77.77", ECHO_PORT)
    t.check(a.get("errno") == 113, "a fake address nobody looked up: expected EHOSTUNREACH, got %r" % a)


@test
def test_dns_perl_gethostbyname(t):
    """perl calls the non-reentrant gethostbyname()/gethostbyaddr() (python uses the _r forms)."""
    code = ('use Socket; $a = gethostbyname("target.sx.test") or exit 3; ($n) = gethostbyaddr($a, AF_INET);'
            'print inet_ntoa($a), " $n\\n"')
    r = t.sx_x(DANTE_H, ["perl", "-e", code])
    t.expect_ok(r, "perl")
    addr, _, name = r.out.strip().partition(" ")
    t.check(is_fake(addr) and name == "target.sx.test", "perl saw %r, expected a fake address and its name" % r.out)
