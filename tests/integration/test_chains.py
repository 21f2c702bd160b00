"""Chains: socksify connects to the first proxy and has each hop connect to the next, then to the
target. Two and three hops of different kinds (each proxy's log shows its part), strict (a dead
hop fails the connection), dynamic (dead hops skipped, a failed proxy marked down), random and
round-robin (length N), and a chain of dead proxies (an errno, no direct connection)."""
from testcase import dante_addr, test
from topology import (DANTE, DEAD, DEAD2, DEAD2_PORT, DEAD_PORT, ECHO_PORT, HTTP_PORT, MS, P4C, P4T, SSH4A, SSH5,
                      SSH_SOCKS_PORT, T4, TINY, TINY_PORT, fake_url, token_url)

NAME = "target.sx.test"
PROXIES = """# the proxies of P
proxy d     %s
proxy ms    %s
proxy tiny  %s
proxy ssh   %s
proxy dead  %s
proxy dead2 %s
""" % (DANTE, MS, TINY, SSH5, DEAD, DEAD2)


def conf(t, *lines):
    return t.write("cwd/sx.conf", PROXIES + "".join(l + "\n" for l in lines))


def dante_to(t, host, port):
    """danted's session-start lines ('tcp/connect [: CLIENT LOCAL -> EXTERNAL DEST') whose DEST is
    host.port (its own address 10.77.1.1.1080 is on every line, so match the last field)."""
    return [l for l in t.log_lines("danted", "tcp/connect [:") if l.split()[-1] == dante_addr(host, port)]


def tiny_client_line(t, client):
    """tinyproxy logs 'Connect (file descriptor N): CLIENT' for each connection it accepts."""
    return t.wait_lines("tinyproxy", 1, "Connect (file descriptor", "): %s" % client)


@test
def test_chain_two_hops_danted_tinyproxy(t):
    t.need("danted", "tinyproxy", "http")
    r = t.sx_f(conf(t, "chain default strict d tiny"), t.curl(token_url(T4)))
    t.expect_token(r)
    t.check(t.dante_saw("danted", dante_addr(P4C, TINY_PORT)), "danted did not connect to tinyproxy (hop 1 -> 2)")
    t.check(t.tiny_saw("tinyproxy", "%s:%d" % (T4, HTTP_PORT)), "tinyproxy did not CONNECT to the target (hop 2)")
    # danted connects out from its external address: tinyproxy's client was danted, not C.
    t.check(tiny_client_line(t, P4T), "tinyproxy's client was not danted (%s)" % P4T)
    t.check(not t.log_lines("danted", "[:", dante_addr(T4, HTTP_PORT)), "danted connected to the target itself")


@test
def test_chain_two_hops_by_name(t):
    """The target's name travels to the last hop (http sends names): CONNECT target.sx.test."""
    t.need("danted", "tinyproxy", "http")
    r = t.sx_f(conf(t, "dns remote", "chain default strict d tiny"), t.curl(token_url(NAME)))
    t.expect_token(r)
    t.check(t.dante_saw("danted", dante_addr(P4C, TINY_PORT)), "danted did not connect to tinyproxy")
    t.check(t.tiny_saw("tinyproxy", "%s:%d" % (NAME, HTTP_PORT)), "tinyproxy did not CONNECT to %s" % NAME)


@test
def test_chain_three_hops_microsocks_danted_tinyproxy(t):
    t.need("microsocks", "danted", "tinyproxy", "http")
    r = t.sx_f(conf(t, "chain default strict ms d tiny"), t.curl(token_url(T4)))
    t.expect_token(r)
    t.check(t.ms_saw("microsocks", P4C, 1080), "microsocks did not connect to danted (hop 1 -> 2)")
    # danted's client is microsocks (10.77.1.1), not C (10.77.1.2)
    t.check(t.wait_lines("danted", 1, "tcp/connect [: %s." % P4C, dante_addr(P4C, TINY_PORT)),
            "danted did not connect microsocks's session to tinyproxy (hop 2 -> 3)")
    t.check(t.tiny_saw("tinyproxy", "%s:%d" % (T4, HTTP_PORT)), "tinyproxy did not CONNECT to the target (hop 3)")


@test
def test_chain_three_hops_inline_urls_to_ssh_socks4a_by_name(t):
    """Hops given as URLs inline; the last (ssh -D, socks4a) gets the name."""
    t.need("microsocks", "danted", "ssh-socks", "http")
    r = t.sx_f(conf(t, "dns remote", "chain default strict %s %s %s" % (MS, DANTE, SSH4A)), t.curl(token_url(NAME)))
    t.expect_token(r)
    t.check(t.ms_saw("microsocks", P4C, 1080), "microsocks did not connect to danted")
    t.check(t.dante_saw("danted", dante_addr(P4C, SSH_SOCKS_PORT)), "danted did not connect to ssh -D")
    t.check(t.ssh_saw(NAME, HTTP_PORT, "socks4"), "ssh -D did not get a SOCKS4a request for %s" % NAME)


@test
def test_chain_via_route(t):
    """A chain used by a route (not named default)."""
    t.need("danted", "ssh-socks", "echo")
    r = t.sx_f(conf(t, "chain two strict d ssh", "route * via two"), t.pyclient(T4, ECHO_PORT))
    t.expect_echo(r, T4, ECHO_PORT)
    t.check(t.dante_saw("danted", dante_addr(P4C, SSH_SOCKS_PORT)), "danted did not connect to ssh -D")
    t.check(t.ssh_saw(T4, ECHO_PORT, "socks5"), "ssh -D did not get the request for the target")


@test
def test_chain_strict_dead_hop_fails(t):
    t.need("danted", "tinyproxy")
    r = t.sx_f(conf(t, "chain default strict d dead tiny"), t.pyclient(T4, ECHO_PORT))
    t.expect_errno(r, "ECONNREFUSED")
    t.check(t.dante_saw("danted", dante_addr(P4C, DEAD_PORT)), "danted was not asked to connect to the dead hop")
    t.check(not t.log_lines("tinyproxy", "CONNECT"), "tinyproxy was used although the hop before it is dead")
    r = t.sx_f(conf(t, "chain default strict dead d tiny"), t.pyclient(T4, ECHO_PORT))
    t.expect_errno(r, "ECONNREFUSED")


@test
def test_chain_dynamic_dead_first(t):
    t.need("danted", "tinyproxy", "http")
    r = t.sx_f(conf(t, "chain default dynamic dead d tiny"), t.curl(token_url(T4)))
    t.expect_token(r)
    t.check(t.dante_saw("danted", dante_addr(P4C, TINY_PORT)), "danted did not connect to tinyproxy")
    t.check(t.tiny_saw("tinyproxy", "%s:%d" % (T4, HTTP_PORT)), "tinyproxy did not CONNECT to the target")


@test
def test_chain_dynamic_dead_middle(t):
    t.need("danted", "tinyproxy", "http")
    r = t.sx_f(conf(t, "chain default dynamic d dead tiny"), t.curl(token_url(T4)))
    t.expect_token(r)
    t.check(t.dante_saw("danted", dante_addr(P4C, TINY_PORT)), "danted did not connect to tinyproxy")
    t.check(t.tiny_saw("tinyproxy", "%s:%d" % (T4, HTTP_PORT)), "tinyproxy did not CONNECT to the target")


@test
def test_chain_dynamic_marks_failed_proxy_down(t):
    """A broken first hop (closes at the greeting) is tried once, then skipped while marked down:
    three connections in one process, one attempt on the broken proxy."""
    t.need("fakeproxy", "danted", "http")
    c = conf(t, "proxy broken %s" % fake_url("close-greeting"), "chain default dynamic broken d")
    r = t.sx_f(c, t.curl_many(*[token_url(T4)] * 3))
    t.expect_tokens(r, 3)
    t.check(t.wait_lines("danted", 3, "tcp/connect [:", dante_addr(T4, HTTP_PORT)), "danted did not carry 3 connections")
    tries = t.fake_records("close-greeting")
    t.check(len(tries) == 1, "the broken proxy was tried %d times, expected once (then marked down)" % len(tries))


@test
def test_chain_random_length_2(t):
    """random length 2 over three proxies that log: every connection uses two of them, one of
    which asks for the target, the other for a proxy."""
    t.need("danted", "tinyproxy", "ssh-socks", "http")
    n = 4
    r = t.sx_f(conf(t, "chain default random length 2 d tiny ssh"), t.curl_many(*[token_url(T4)] * n))
    t.expect_tokens(r, n)
    proxy_ports = (1080, TINY_PORT, SSH_SOCKS_PORT)

    def counts():
        to_target = (len(dante_to(t, T4, HTTP_PORT)) +
                     len(t.log_lines("tinyproxy", t.tiny_request("%s:%d" % (T4, HTTP_PORT)))) +
                     len(t.log_lines("ssh-socks", t.ssh_request(T4, HTTP_PORT))))
        to_proxy = sum(len(dante_to(t, P4C, p)) +
                       len(t.log_lines("tinyproxy", t.tiny_request("%s:%d" % (P4C, p)))) +
                       len(t.log_lines("ssh-socks", t.ssh_request(P4C, p))) for p in proxy_ports)
        return to_target, to_proxy
    t.wait_log("danted", lambda _text: counts() == (n, n))
    got = counts()
    t.check(got == (n, n), "requests for the target / for a proxy: %d / %d, expected %d / %d (two hops each)"
            % (got[0], got[1], n, n))


@test
def test_chain_round_robin_length_1(t):
    """round-robin length 1 over three proxies: three connections in a row, one through each."""
    t.need("danted", "tinyproxy", "ssh-socks", "http")
    r = t.sx_f(conf(t, "chain default round-robin length 1 d tiny ssh"), t.curl_many(*[token_url(T4)] * 3))
    t.expect_tokens(r, 3)
    seen = {
        "danted": lambda: dante_to(t, T4, HTTP_PORT),
        "tinyproxy": lambda: t.log_lines("tinyproxy", t.tiny_request("%s:%d" % (T4, HTTP_PORT))),
        "ssh-socks": lambda: t.log_lines("ssh-socks", t.ssh_request(T4, HTTP_PORT)),
    }
    t.wait_log("danted", lambda _text: all(len(f()) >= 1 for f in seen.values()))
    got = {name: len(f()) for name, f in seen.items()}
    t.check(all(v == 1 for v in got.values()), "connections per proxy: %r, expected one through each" % got)


@test
def test_chain_random_with_dead_proxies(t):
    """random length 1 over two dead proxies and danted: every one of 6 connections in one process
    works (a dead pick is marked down and the attempt retried on another), and each dead proxy
    costs at most one failed attempt."""
    t.need("danted", "http")
    r = t.sx_f(conf(t, "chain default random length 1 dead d dead2", "log_level warn"),
               t.curl_many(*[token_url(T4)] * 6))
    t.expect_tokens(r, 6)
    t.check(t.wait_lines("danted", 6, "tcp/connect [:", dante_addr(T4, HTTP_PORT)), "danted did not carry 6 connections")
    for name in ("dead", "dead2"):
        skips = r.err.count("proxy %s failed" % name)
        t.check(skips <= 1, "proxy %s was tried and failed %d times; it should be skipped once marked down" % (name, skips))


@test
def test_chain_round_robin_with_dead_proxy(t):
    """round-robin length 1 over danted, a dead proxy and tinyproxy: 4 connections all work, the
    dead one is skipped, and both live proxies carry some."""
    t.need("danted", "tinyproxy", "http")
    r = t.sx_f(conf(t, "chain default round-robin length 1 d dead tiny"), t.curl_many(*[token_url(T4)] * 4))
    t.expect_tokens(r, 4)
    via_d = lambda: dante_to(t, T4, HTTP_PORT)
    via_tiny = lambda: t.log_lines("tinyproxy", t.tiny_request("%s:%d" % (T4, HTTP_PORT)))
    t.wait_log("danted", lambda _text: len(via_d()) + len(via_tiny()) >= 4)
    t.check(len(via_d()) >= 1 and len(via_tiny()) >= 1 and len(via_d()) + len(via_tiny()) == 4,
            "connections via danted / tinyproxy: %d / %d, expected 4 spread over both" % (len(via_d()), len(via_tiny())))


@test
def test_chain_all_dead_fails(t):
    """Every hop dead: an errno, no direct connection (which from C would be ENETUNREACH)."""
    t.need("echo")
    for mode in ("dynamic", "strict"):
        r = t.sx_f(conf(t, "chain default %s dead dead2" % mode), t.pyclient(T4, ECHO_PORT))
        t.expect_any_errno(r)
        t.check(r.seconds < 8, "a chain of refusing proxies took %.1fs to fail" % r.seconds)
    r = t.sx_f(conf(t, "chain default random length 1 dead dead2"), t.pyclient(T4, ECHO_PORT))
    t.expect_any_errno(r)


@test
def test_chain_dead_ports_are_dead(t):
    """Control for the tests above: nothing listens on the dead proxies' ports."""
    for port in (DEAD_PORT, DEAD2_PORT):
        t.expect_errno(t.run(t.pyclient(P4C, port)), "ECONNREFUSED")
