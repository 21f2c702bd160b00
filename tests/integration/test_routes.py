"""Routes: `route MATCH... ACTION`, first match wins. Each action (direct, reject, via NAME), each
match kind (CIDR v4/v6, address, host-name glob on remote names, port, port range and list, *),
ANDed matches, ordering, no default proxy; and `socksify --explain` (file:line, action, no password,
no connection)."""
import re

from testcase import dante_addr, test
from topology import (C4, DANTE, ECHO_PORT, HTTP_PORT, MS, P4C, PASSWORD, SSH5, T4, T6, TINY, TINY_AUTH,
                      token_url)

NAME = "target.sx.test"
BASE = """# default: danted; two more proxies by name
proxy default %s
proxy tiny %s
proxy ssh %s
""" % (DANTE, TINY, SSH5)


def conf(t, *lines, base=BASE):
    return t.write("cwd/sx.conf", base + "".join(l + "\n" for l in lines))


def tiny_saw_target(t, host, port):
    return t.tiny_saw("tinyproxy", "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port))


# ---------- actions ----------

@test
def test_route_direct_local_service(t):
    """route C's own address direct: the echo server in C is reached without the proxy. The control,
    without the route, goes through microsocks (which can reach C; danted cannot: it connects out
    from its T-side address, which C has no route back to)."""
    t.need("microsocks", "echo-c")
    base = "proxy default %s\n" % MS
    r = t.sx_f(conf(t, base=base), t.pyclient(C4, ECHO_PORT))
    t.expect_echo(r, C4, ECHO_PORT)
    t.check(t.ms_saw("microsocks", C4, ECHO_PORT), "control: microsocks did not carry the connection to C")
    t.need("microsocks")  # look at microsocks's log only from here on
    r = t.sx_f(conf(t, "route %s direct" % C4, base=base), t.pyclient(C4, ECHO_PORT))
    t.expect_echo(r, C4, ECHO_PORT)
    t.check(not t.log_lines("microsocks", t.ms_request(C4, ECHO_PORT)), "microsocks saw the connection routed direct")


@test
def test_route_direct_cidr_unreachable(t):
    """route 10.77.2.0/24 direct: a direct connect from C, which has no route there (ENETUNREACH)."""
    t.need("danted", "echo")
    r = t.sx_f(conf(t, "route 10.77.2.0/24 direct"), t.pyclient(T4, ECHO_PORT))
    t.expect_errno(r, "ENETUNREACH")
    t.check(not t.log_lines("danted", "[:", dante_addr(T4, ECHO_PORT)), "danted saw the connection routed direct")


@test
def test_route_reject(t):
    t.need("danted", "http", "echo")
    c = conf(t, "route %s port %d reject" % (T4, ECHO_PORT))
    r = t.sx_f(c, t.pyclient(T4, ECHO_PORT))
    t.expect_errno(r, "ECONNREFUSED")
    t.check(r.seconds < 5, "reject took %.1fs" % r.seconds)
    t.check(not t.log_lines("danted", "[:", dante_addr(T4, ECHO_PORT)), "danted saw the rejected connection")
    t.expect_token(t.sx_f(c, t.curl(token_url(T4))))  # another port of the same host: default proxy
    t.check(t.dante_saw("danted", dante_addr(T4, HTTP_PORT)), "danted did not carry the unmatched connection")


@test
def test_route_via_name(t):
    t.need("danted", "tinyproxy", "http")
    r = t.sx_f(conf(t, "route 10.77.2.0/24 via tiny"), t.curl(token_url(T4)))
    t.expect_token(r)
    t.check(tiny_saw_target(t, T4, HTTP_PORT), "tinyproxy did not carry the connection")
    t.check(not t.log_lines("danted", "[:", dante_addr(T4, HTTP_PORT)), "the default proxy carried it")


# ---------- match kinds ----------

@test
def test_route_cidr_v4_and_v6(t):
    """fd77:2::/64 via tiny; T's IPv4 address matches nothing and goes to the default (danted)."""
    t.need("danted", "tinyproxy", "echo")
    c = conf(t, "route fd77:2::/64 via tiny", "route 192.0.2.0/24 reject")
    r = t.sx_f(c, t.pyclient(T6, ECHO_PORT))
    t.expect_echo(r, T6, ECHO_PORT)
    t.check(tiny_saw_target(t, T6, ECHO_PORT), "tinyproxy did not carry the IPv6 connection")
    r = t.sx_f(c, t.pyclient(T4, ECHO_PORT))
    t.expect_echo(r, T4, ECHO_PORT)
    t.check(t.dante_saw("danted", dante_addr(T4, ECHO_PORT)), "danted did not carry the IPv4 connection")
    t.check(not t.log_lines("danted", "[:", dante_addr(T6, ECHO_PORT)), "danted carried the IPv6 connection")
    t.check(not t.log_lines("tinyproxy", t.tiny_request("%s:%d" % (T4, ECHO_PORT))), "tinyproxy carried the IPv4 one")


@test
def test_route_glob_on_remote_names(t):
    """With remote DNS, a glob matches the name behind the fake address, case-insensitively; the
    first match wins; an address matches no glob."""
    t.need("danted", "tinyproxy", "ssh-socks", "http")
    c = conf(t, "dns remote", "route target.sx.test via tiny", "route *.SX.Test via ssh")
    t.expect_token(t.sx_f(c, t.curl(token_url(NAME))))
    t.check(t.tiny_saw("tinyproxy", "%s:%d" % (NAME, HTTP_PORT)), "tinyproxy did not get CONNECT %s" % NAME)
    t.expect_token(t.sx_f(c, t.curl(token_url("N5.sx.test"))))
    want = "dynamic request: socks5 " + t.ssh_request("n5.sx.test", HTTP_PORT)
    t.check(t.wait_log("ssh-socks", lambda text: want in text.lower()), "ssh -D did not get the request for N5.sx.test")
    t.expect_token(t.sx_f(c, t.curl(token_url(T4))))
    t.check(t.dante_saw("danted", dante_addr(T4, HTTP_PORT)), "an address did not go to the default proxy")
    t.check(not t.log_lines("danted", "[:", "%s.%d" % (NAME, HTTP_PORT)), "danted got a name a route sends elsewhere")


@test
def test_route_port(t):
    t.need("danted", "tinyproxy", "http", "echo")
    c = conf(t, "route port %d via tiny" % HTTP_PORT)
    t.expect_token(t.sx_f(c, t.curl(token_url(T4))))
    t.check(tiny_saw_target(t, T4, HTTP_PORT), "tinyproxy did not carry port %d" % HTTP_PORT)
    t.expect_echo(t.sx_f(c, t.pyclient(T4, ECHO_PORT)), T4, ECHO_PORT)
    t.check(t.dante_saw("danted", dante_addr(T4, ECHO_PORT)), "danted did not carry port %d" % ECHO_PORT)


@test
def test_route_port_range_and_list(t):
    t.need("danted", "tinyproxy", "http", "echo")
    c = conf(t, "route port 7000-7999 reject", "route port 80,443,%d via tiny" % HTTP_PORT)
    t.expect_errno(t.sx_f(c, t.pyclient(T4, ECHO_PORT)), "ECONNREFUSED")
    t.expect_errno(t.sx_f(c, t.pyclient(T6, ECHO_PORT)), "ECONNREFUSED")
    t.expect_token(t.sx_f(c, t.curl(token_url(T4))))
    t.check(tiny_saw_target(t, T4, HTTP_PORT), "tinyproxy did not carry port %d (in the list)" % HTTP_PORT)
    c = conf(t, "route port 7776-7778 via tiny", "route port 6000-7776 reject")
    t.expect_echo(t.sx_f(c, t.pyclient(T4, ECHO_PORT)), T4, ECHO_PORT)
    t.check(tiny_saw_target(t, T4, ECHO_PORT), "tinyproxy did not carry port %d (in 7776-7778)" % ECHO_PORT)


@test
def test_route_star(t):
    """route * via NAME with no default proxy at all; route * reject."""
    t.need("tinyproxy", "http")
    base = "# no default proxy\nproxy tiny %s\n" % TINY
    t.expect_token(t.sx_f(conf(t, "route * via tiny", base=base), t.curl(token_url(T4))))
    t.check(tiny_saw_target(t, T4, HTTP_PORT), "tinyproxy did not carry the connection")
    r = t.sx_f(conf(t, "route * reject"), t.pyclient(T4, ECHO_PORT))
    t.expect_errno(r, "ECONNREFUSED")


@test
def test_route_and_of_matches(t):
    """All words of a route must match: CIDR and port."""
    t.need("danted", "tinyproxy", "echo", "http")
    c = conf(t, "route 10.77.2.0/24 port %d via tiny" % ECHO_PORT)
    t.expect_echo(t.sx_f(c, t.pyclient(T4, ECHO_PORT)), T4, ECHO_PORT)
    t.check(tiny_saw_target(t, T4, ECHO_PORT), "tinyproxy did not carry %s:%d" % (T4, ECHO_PORT))
    t.expect_token(t.sx_f(c, t.curl(token_url(T4))))
    t.check(t.dante_saw("danted", dante_addr(T4, HTTP_PORT)), "the other port did not go to the default")
    t.expect_echo(t.sx_f(c, t.pyclient(T6, ECHO_PORT)), T6, ECHO_PORT)
    t.check(t.dante_saw("danted", dante_addr(T6, ECHO_PORT)), "the other address did not go to the default")


@test
def test_route_first_match_wins(t):
    t.need("danted", "tinyproxy", "echo", "http")
    specific, broad = "route %s port %d via tiny" % (T4, ECHO_PORT), "route 10.77.2.0/24 reject"
    c = conf(t, specific, broad, "route * via default")
    t.expect_echo(t.sx_f(c, t.pyclient(T4, ECHO_PORT)), T4, ECHO_PORT)
    t.check(tiny_saw_target(t, T4, ECHO_PORT), "the first (specific) route did not win")
    t.expect_errno(t.sx_f(c, t.pyclient(T4, HTTP_PORT)), "ECONNREFUSED")
    t.expect_echo(t.sx_f(c, t.pyclient(T6, ECHO_PORT)), T6, ECHO_PORT)
    t.check(t.dante_saw("danted", dante_addr(T6, ECHO_PORT)), "route * via default did not use danted")
    c = conf(t, broad, specific)
    t.expect_errno(t.sx_f(c, t.pyclient(T4, ECHO_PORT)), "ECONNREFUSED")


@test
def test_route_no_default_no_match_rejected(t):
    """No proxy named default and no matching route: rejected (ECONNREFUSED), nothing sent anywhere."""
    t.need("tinyproxy", "danted", "http", "echo")
    c = t.write("cwd/sx.conf", "proxy tiny %s\nproxy d %s\nroute port %d via tiny\n" % (TINY, DANTE, HTTP_PORT))
    t.expect_token(t.sx_f(c, t.curl(token_url(T4))))
    r = t.sx_f(c, t.pyclient(T4, ECHO_PORT))
    t.expect_errno(r, "ECONNREFUSED")
    t.check(not t.log_lines("tinyproxy", "%s:%d" % (T4, ECHO_PORT)), "tinyproxy saw the unmatched connection")
    t.check(not t.log_lines("danted", "[:", dante_addr(T4, ECHO_PORT)), "danted saw the unmatched connection")


@test
def test_route_direct_keyword_still_works(t):
    """The existing `direct CIDR` line is `route CIDR direct`, in order with the route lines."""
    t.need("danted", "tinyproxy", "echo")
    r = t.sx_f(conf(t, "direct 10.77.2.0/24", "route * via tiny"), t.pyclient(T4, ECHO_PORT))
    t.expect_errno(r, "ENETUNREACH")
    t.check(not t.log_lines("tinyproxy", "CONNECT"), "tinyproxy saw a connection that 'direct' matched first")


# ---------- socksify --explain ----------

EXPLAIN_CONF = """# routes for --explain
dns remote
proxy default %s
proxy auth %s
route %s port %d reject
route *.sx.test via auth
route 10.77.2.0/24 port 8000-8100 direct
route fd77:2::/64 via auth
""" % (DANTE, TINY_AUTH, T4, ECHO_PORT)


def conf_line(text, prefix):
    """The 1-based number of the line of text that starts with prefix."""
    return [i for i, l in enumerate(text.splitlines(), 1) if l.startswith(prefix)][0]


def explain(t, conf_args, dest):
    r = t.sx(list(conf_args) + ["--explain", dest])
    t.expect_ok(r, "socksify --explain %s" % dest)
    text = r.out + r.err
    t.check(text.strip(), "--explain %s printed nothing" % dest)
    t.check(PASSWORD not in text, "--explain %s printed the password" % dest)
    return text


def expect_line(t, text, fname, line, dest):
    t.check(re.search(r"%s:%d\b" % (re.escape(fname), line), text),
            "--explain %s does not name %s:%d: %r" % (dest, fname, line, text))


@test
def test_explain_routes(t):
    t.need("danted", "tinyproxy-auth")
    path = t.write("cwd/sx.conf", EXPLAIN_CONF)
    text = explain(t, ["-f", path], "%s:%d" % (T4, ECHO_PORT))
    expect_line(t, text, "sx.conf", conf_line(EXPLAIN_CONF, "route %s port" % T4), "T4:7777")
    t.check("reject" in text, "--explain does not say reject: %r" % text)
    for dest in ("target.sx.test:8080", "n1.sx.test"):
        text = explain(t, ["-f", path], dest)
        expect_line(t, text, "sx.conf", conf_line(EXPLAIN_CONF, "route *.sx.test"), dest)
        t.check("auth" in text and "1091" in text, "--explain %s does not name the proxy auth (:1091): %r" % (dest, text))
    text = explain(t, ["-f", path], "%s:%d" % (T4, HTTP_PORT))
    expect_line(t, text, "sx.conf", conf_line(EXPLAIN_CONF, "route 10.77.2.0/24"), "T4:8080")
    t.check("direct" in text, "--explain does not say direct: %r" % text)
    text = explain(t, ["-f", path], "[%s]:%d" % (T6, HTTP_PORT))
    expect_line(t, text, "sx.conf", conf_line(EXPLAIN_CONF, "route fd77:2::/64"), "[T6]:8080")
    text = explain(t, ["-f", path], "%s:%d" % (T4, 9))
    t.check("default" in text and P4C in text, "--explain of an unmatched destination does not name the default "
            "proxy %s: %r" % (P4C, text))
    text = explain(t, ["-f", path], "127.0.0.1:%d" % ECHO_PORT)
    t.check("direct" in text, "--explain 127.0.0.1 does not say direct: %r" % text)
    # It only explains: no proxy saw any connection.
    t.check(not t.server_log_since("tinyproxy-auth").count("CONNECT"), "--explain made tinyproxy-auth connect")
    t.check(not t.log_lines("danted", "[:", "tcp/connect"), "--explain made danted connect")


@test
def test_explain_config_search_and_chain(t):
    """Without -f, --explain reads ./socksify.conf; a chain is explained with its hops, no password."""
    t.write("cwd/socksify.conf", "proxy first %s\nproxy second %s\nchain twohop strict first second\n"
            "route port 8080 via twohop\n" % (DANTE, TINY_AUTH))
    text = explain(t, [], "%s:%d" % (T4, HTTP_PORT))
    expect_line(t, text, "socksify.conf", 4, "T4:8080")
    t.check("twohop" in text and "strict" in text, "--explain does not describe the chain twohop: %r" % text)
