"""No DNS packet leaves C while names are remote (issue 13, item 3): the resolver's own calls
(res_query and kin, also under their __res_ names), getaddrinfo_a, getaddrinfo with AI_PASSIVE,
reverse lookups of real addresses, a name /etc/hosts lists only in the other family, and
localhost names glibc would ask DNS for ("localhost.", "*.localhost"). Each test runs its lookups
under tcpdump on C's interface and loopback (C's resolv.conf names 127.0.0.1, where nothing
listens: a query shows up on lo) and checks the answers socksify gives itself. dns_calls.c is the C
client (built with cc); python3 is the real program for getaddrinfo, getnameinfo and gethostbyaddr."""
import json
import os

from capture import Capture, packets
from procs import wait_until
from testcase import test
from topology import DANTE_PORT, HERE, P4C, PY

DNS_CALLS = os.path.join(HERE, "dns_calls.c")
REMOTE = "socks5h://%s:%d" % (P4C, DANTE_PORT)   # names remote; these lookups never reach the proxy
FAKE_PREFIX = "198.18."
EAI_NONAME, HOST_NOT_FOUND, NO_RECOVERY = -2, 1, 3

# A datagram to 127.0.0.1:53 and to P's address, port 53, sent without socksify after the runs:
# once both captures show it, they have seen everything sent before it.
CONTROL = ("import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
           "[s.sendto(b'control', (h, 53)) for h in ('127.0.0.1', %r)]; print('PORT', s.getsockname()[1])" % P4C)


def dns_calls(t):
    return t.compiled(DNS_CALLS, "-lresolv")


def watch_dns(t, runs):
    """Calls runs() while tcpdump watches port 53 on C's interface and loopback; returns (what runs
    returned, the port-53 packets captured other than the control's)."""
    vc = Capture(t, "dns-vc", bpf="port 53")
    lo = Capture(t, "dns-lo", iface="lo", bpf="port 53")
    port = None
    try:
        results = runs()
        control = t.run([PY, "-c", CONTROL])
        port = control.line("PORT")
        t.check(control.rc == 0 and port, "the control datagrams were not sent: %r" % control.err)
        mark = ".%s > " % port
        wait_until(lambda: all(mark in open(c.out).read() for c in (vc, lo)), 10)
    finally:
        vc_lines, lo_lines = vc.stop(), lo.stop()
    for name, lines in (("C's interface", vc_lines), ("C's loopback", lo_lines)):
        t.check(any(".%s > " % port in l for l in lines), "the capture on %s missed the control datagram: %r"
                % (name, lines[:5]))
    leaks = [l for src, dst, l in packets(t, vc_lines + lo_lines) if port not in (str(src[1]), str(dst[1]))]
    return results, leaks


def no_leaks(t, leaks):
    t.check(not leaks, "%d DNS packets left the client while names are remote:\n  %s"
            % (len(leaks), "\n  ".join(leaks[:10])))


def lines(r, key):
    """The words after key on each of r's stdout lines starting with it."""
    return [l.split()[1:] for l in r.out.splitlines() if l.split()[:1] == [key]]


def run_calls(t, *args, url=REMOTE, conf=None):
    argv = [dns_calls(t)] + [str(a) for a in args]
    r = t.sx_f(conf, argv) if conf else t.sx_x(url, argv)
    t.check(not r.timed_out and r.rc == 0, "dns_calls %s: exit %s" % (" ".join(argv[1:]), r.rc))
    return r


@test
def test_dnsleak_res_calls_refused(t):
    """res_query, res_search, res_querydomain, res_send, their res_n* forms and the __res_ names
    older binaries call: -1, h_errno NO_RECOVERY (also in the res_state), errno ECONNREFUSED, one
    log line naming the call, and not one packet to a DNS server."""
    r, leaks = watch_dns(t, lambda: run_calls(t, "res", "target.sx.test"))
    no_leaks(t, leaks)
    res = lines(r, "RES")
    calls = [x[0] for x in res]
    want = ["res_query", "res_search", "res_querydomain", "res_send", "res_nquery", "res_nsearch",
            "res_nquerydomain", "res_nsend", "__res_query", "__res_search", "__res_nsend"]
    t.check(calls == want, "dns_calls made the calls %r, expected %r" % (calls, want))
    bad = [x for x in res if x[1:] != ["rc=-1", "h_errno=%d" % NO_RECOVERY, "errno=ECONNREFUSED"]]
    t.check(not bad, "calls not refused with -1, NO_RECOVERY, ECONNREFUSED: %r" % bad)
    t.check(lines(r, "STATE") == [["res_h_errno=%d" % NO_RECOVERY]], "res_state's h_errno: %r" % lines(r, "STATE"))
    for call in set(c.lstrip("_") for c in want):
        t.check(any("%s(" % call in l and "refused" in l for l in r.err.splitlines()),
                "no log line names the refused %s" % call)


@test
def test_dnsleak_res_query_passes_with_local_dns(t):
    """dns local (a socks5:// proxy) and direct_dns yes let the program's own queries through: the
    query reaches the resolv.conf nameserver (nobody answers it in C). getaddrinfo_a goes to libc's."""
    for i, conf_text in enumerate(("proxy socks5://%s:%d\n" % (P4C, DANTE_PORT), "proxy %s\ndirect_dns yes\n" % REMOTE)):
        conf = t.write("cwd/local-%d.conf" % i, conf_text)
        r, leaks = watch_dns(t, lambda: run_calls(t, "res", "target.sx.test", conf=conf))
        t.check(not [l for l in r.err.splitlines() if "refused" in l], "%r: socksify refused a query: %r"
                % (conf_text, r.err))
        t.check(any("127.0.0.1.53:" in l for l in leaks), "%r: no query reached 127.0.0.1:53, so res_query was "
                "blocked: %r" % (conf_text, leaks[:5]))
    conf = t.write("cwd/dns-local.conf", "proxy socks5://%s:%d\n" % (P4C, DANTE_PORT))
    r = run_calls(t, "gai_a", "thread", "local.sx.test", "inet", conf=conf)
    t.check(lines(r, "GAIA") == [["local.sx.test", "rc=0", "127.0.0.1"]] and lines(r, "NOTIFIED") ==
            [["thread", "value=42"]], "dns local: libc's getaddrinfo_a answered %r" % r.out)


# getaddrinfo_a requests (name, family) and the answer socksify must give: a fake address, the
# hosts entry, EAI_NONAME (no IPv6 line for local.sx.test), loopback.
GAIA = [("target.sx.test", "inet", lambda a: a[0] == "rc=0" and len(a) == 2 and a[1].startswith(FAKE_PREFIX)),
        ("proxy.sx.test", "inet", lambda a: a == ["rc=0", "10.77.1.1"]),
        ("local.sx.test", "inet6", lambda a: a == ["rc=%d" % EAI_NONAME]),
        ("foo.localhost", "unspec", lambda a: a == ["rc=0", "::1", "127.0.0.1"])]


@test
def test_dnsleak_getaddrinfo_a(t):
    """getaddrinfo_a with GAI_WAIT and with GAI_NOWAIT notifying by thread, by signal (SI_ASYNCNL,
    as glibc) and not at all: every request answered as getaddrinfo answers it, gai_error()
    reading the result, the notification delivered, and no DNS packet."""
    args = [x for name, family, _ in GAIA for x in (name, family)]
    modes = ("wait", "thread", "signal", "none")
    runs, leaks = watch_dns(t, lambda: [run_calls(t, "gai_a", mode, *args) for mode in modes])
    no_leaks(t, leaks)
    for mode, r in zip(modes, runs):
        t.check(lines(r, "GETADDRINFO_A") == [["rc=0"]], "%s: getaddrinfo_a returned %r" % (mode, r.out))
        got = {x[0]: x[1:] for x in lines(r, "GAIA")}
        for name, family, ok in GAIA:
            t.check(name in got and ok(got[name]), "%s: %s (%s) answered %r" % (mode, name, family, got.get(name)))
        want = {"thread": [["thread", "value=42"]], "signal": [["signal", "code=-60", "value=42"]]}.get(mode, [])
        t.check(lines(r, "NOTIFIED") == want, "%s: notification %r, expected %r" % (mode, lines(r, "NOTIFIED"), want))


PASSIVE = r"""
import json, socket, sys
out = {}
for name, family in (("target.sx.test", socket.AF_INET), ("local.sx.test", socket.AF_INET6),
                     ("wpad.localhost", socket.AF_INET6)):
    try:
        out[name] = [a[4][0] for a in socket.getaddrinfo(name, 80, family, socket.SOCK_STREAM, 0, socket.AI_PASSIVE)]
    except socket.gaierror as e:
        out[name] = e.errno
print(json.dumps(out))
"""


@test
def test_dnsleak_getaddrinfo_passive(t):
    """AI_PASSIVE with a host name gets the same decision as without (POSIX ignores AI_PASSIVE
    when there is a name): a fake address for a remote name, EAI_NONAME for a hosts name without
    an IPv6 line, loopback for *.localhost; none of it reaches DNS (C client and python)."""
    def runs():
        return ([run_calls(t, "gai", name, family, "passive") for name, family in
                 (("target.sx.test", "inet"), ("local.sx.test", "inet6"), ("wpad.localhost", "inet6"))],
                t.sx_x(REMOTE, [PY, "-c", PASSIVE]))
    (c, py), leaks = watch_dns(t, runs)
    no_leaks(t, leaks)
    got = [lines(r, "GAI")[0] if lines(r, "GAI") else None for r in c]
    t.check(got[0] and got[0][0] == "rc=0" and got[0][1].startswith(FAKE_PREFIX), "target.sx.test: %r" % got[0])
    t.check(got[1:] == [["rc=%d" % EAI_NONAME], ["rc=0", "::1"]], "local.sx.test, wpad.localhost: %r" % got[1:])
    a = json.loads(py.out or "{}")
    t.check(str(a.get("target.sx.test", [""])[0]).startswith(FAKE_PREFIX) and a.get("local.sx.test") == EAI_NONAME
            and a.get("wpad.localhost") == ["::1"], "python's AI_PASSIVE lookups: %r" % a)


REVERSE = r"""
import json, socket, sys
out = {}
for addr in sys.argv[1:]:
    a = {}
    for key, flags in (("nameinfo", 0), ("namereqd", socket.NI_NAMEREQD)):
        try:
            a[key] = socket.getnameinfo((addr, 80), flags)[0]
        except socket.gaierror as e:
            a[key] = e.errno
    try:
        a["byaddr"] = socket.gethostbyaddr(addr)[0]
    except socket.herror as e:
        a["byaddr"] = e.errno
    out[addr] = a
print(json.dumps(out))
"""


@test
def test_dnsleak_reverse_lookups(t):
    """Reverse lookups of real (non-fake) addresses while names are remote: the /etc/hosts name if
    listed, else getnameinfo's numeric form (EAI_NONAME with NI_NAMEREQD) and gethostbyaddr(_r)'s
    HOST_NOT_FOUND; a fake address nobody looked up likewise. No PTR query leaves C."""
    addrs = {"10.77.2.2": None, "fd77:2::2": None, "198.18.77.77": None,
             "10.77.1.1": "proxy.sx.test", "fd77:1::1": "proxy6.sx.test", "127.0.0.1": "localhost"}
    (c, py), leaks = watch_dns(t, lambda: ([run_calls(t, "reverse", a) for a in addrs],
                                           t.sx_x(REMOTE, [PY, "-c", REVERSE] + list(addrs))))
    no_leaks(t, leaks)
    pyout = json.loads(py.out or "{}")
    for (addr, name), r in zip(addrs.items(), c):
        if name:
            want = {"GBA": ["h_errno=0", name], "GBAR": ["rc=0", "h_errno=0", name], "GNI": ["rc=0", name],
                    "GNIREQ": ["rc=0", name]}
            want_py = {"nameinfo": name, "namereqd": name, "byaddr": name}
        else:
            want = {"GBA": ["h_errno=%d" % HOST_NOT_FOUND, "-"], "GBAR": ["rc=2", "h_errno=%d" % HOST_NOT_FOUND, "-"],
                    "GNI": ["rc=0", addr], "GNIREQ": ["rc=%d" % EAI_NONAME, "-"]}
            want_py = {"nameinfo": addr, "namereqd": EAI_NONAME, "byaddr": HOST_NOT_FOUND}
        got = {k: (lines(r, k) or [None])[0] for k in want}
        t.check(got == want, "reverse %s (C): %r, expected %r" % (addr, got, want))
        t.check(pyout.get(addr) == want_py, "reverse %s (python): %r, expected %r" % (addr, pyout.get(addr), want_py))


@test
def test_dnsleak_hosts_name_other_family(t):
    """A name /etc/hosts lists only for IPv4 (local.sx.test, proxy.sx.test) asked for IPv6, and
    one listed only for IPv6 (proxy6.sx.test) asked for IPv4: "no such name" (EAI_NONAME,
    HOST_NOT_FOUND) from getaddrinfo, gethostbyname2(_r) and gethostbyname, where glibc asks DNS;
    the listed family still gets the hosts entry."""
    cases = [("local.sx.test", "inet6", None), ("proxy.sx.test", "inet6", None), ("proxy6.sx.test", "inet", None),
             ("proxy.sx.test", "inet", "10.77.1.1"), ("proxy6.sx.test", "inet6", "fd77:1::1"),
             ("local.sx.test", "inet", "127.0.0.1")]
    runs, leaks = watch_dns(t, lambda: [(run_calls(t, "gai", n, f), run_calls(t, "hostent", n, f)) for n, f, _ in cases])
    no_leaks(t, leaks)
    for (name, family, addr), (g, h) in zip(cases, runs):
        if addr:
            want = {"GAI": ["rc=0", addr], "GBN2": ["h_errno=0", name, addr], "GBN2R": ["rc=0", "h_errno=0", name, addr]}
        else:
            want = {"GAI": ["rc=%d" % EAI_NONAME], "GBN2": ["h_errno=%d" % HOST_NOT_FOUND, "-"],
                    "GBN2R": ["rc=0", "h_errno=%d" % HOST_NOT_FOUND, "-"]}
        if family == "inet":
            want["GBN"] = want["GBN2"]
        got = {k: (lines(g if k == "GAI" else h, k) or [None])[0] for k in want}
        t.check(got == want, "%s (%s): %r, expected %r" % (name, family, got, want))


@test
def test_dnsleak_localhost_names(t):
    """localhost with a trailing dot and names under .localhost (RFC 6761) are loopback, answered
    by socksify for every family through getaddrinfo and gethostbyname2(_r): glibc would ask DNS."""
    names = ("localhost.", "foo.localhost", "wpad.localhost", "wpad.localhost.", "A.B.LOCALHOST")
    fams = {"inet": ["127.0.0.1"], "inet6": ["::1"], "unspec": ["::1", "127.0.0.1"]}
    runs, leaks = watch_dns(t, lambda: [(run_calls(t, "gai", n, f), run_calls(t, "hostent", n, f) if f != "unspec"
                                         else None) for n in names for f in fams])
    no_leaks(t, leaks)
    for (name, family), (g, h) in zip([(n, f) for n in names for f in fams], runs):
        t.check(lines(g, "GAI") == [["rc=0"] + fams[family]], "getaddrinfo(%s, %s): %r" % (name, family, g.out))
        if h:
            got = lines(h, "GBN2R")
            t.check(len(got) == 1 and got[0][:2] == ["rc=0", "h_errno=0"] and got[0][3:] == fams[family],
                    "gethostbyname2_r(%s, %s): %r" % (name, family, h.out))
