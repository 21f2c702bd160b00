"""Real clients (curl, wget, nc, pyclient.py) through danted and microsocks: auth, proxy given by
name or scheme, non-blocking connect, threads, TCP Fast Open, IPv6 proxies and targets."""
import os
import shlex

from testcase import dante_addr, test
from topology import (DANTE, DANTE6, DANTE_AUTH, DANTE_PORT, ECHO_PORT, HTTP_PORT, MS, MS6, MS_AUTH, MS_LONG, MS_PCT,
                      P4C, PY, T4, T6, USER, token_url)


@test
def test_curl_danted(t):
    t.need("danted", "http")
    r = t.sx_x(DANTE, t.curl(token_url(T4)))
    t.expect_token(r)
    dest = dante_addr(T4, HTTP_PORT)
    t.check(t.dante_saw("danted", dest), "danted's log does not show the connection to %s" % dest)


@test
def test_curl_danted_auth(t):
    t.need("danted-auth", "http")
    r = t.sx_x(DANTE_AUTH, t.curl(token_url(T4)))
    t.expect_token(r)
    t.check(t.dante_saw("danted-auth", "username%%%s@" % USER),
            "danted-auth's log does not show user %s authenticated" % USER)


@test
def test_curl_microsocks(t):
    t.need("microsocks", "http")
    t.expect_token(t.sx_x(MS, t.curl(token_url(T4))))


@test
def test_curl_microsocks_auth(t):
    t.need("microsocks-auth", "http")
    t.expect_token(t.sx_x(MS_AUTH, t.curl(token_url(T4))))


@test
def test_curl_microsocks_percent_encoded_credentials(t):
    t.need("microsocks-pct", "http")
    t.expect_token(t.sx_x(MS_PCT, t.curl(token_url(T4))))


@test
def test_curl_microsocks_long_credentials(t):
    """A -x URL longer than the buffer the library reads it into at start-up (256 bytes): read
    again into its long one, in the program and in every process it starts (sh, then curl)."""
    t.need("microsocks-long", "http")
    t.check(len(MS_LONG) > 256, "the URL is only %d bytes" % len(MS_LONG))
    t.expect_token(t.sx_x(MS_LONG, ["sh", "-c", shlex.join(t.curl(token_url(T4)))]))


@test
def test_curl_socks5h_scheme(t):
    t.need("danted", "http")
    t.expect_token(t.sx_x("socks5h://%s:%d" % (P4C, DANTE_PORT), t.curl(token_url(T4))))


@test
def test_curl_proxy_given_by_name(t):
    """socks5://proxy.sx.test:1080 (resolved through C's private /etc/hosts)."""
    t.need("danted", "http")
    t.expect_token(t.sx_x("socks5://proxy.sx.test:%d" % DANTE_PORT, t.curl(token_url(T4))))


@test
def test_curl_default_port_1080(t):
    t.need("danted", "http")
    t.expect_token(t.sx_x("socks5://%s" % P4C, t.curl(token_url(T4))))


@test
def test_wget_danted(t):
    t.need("danted", "http")
    r = t.sx_x(DANTE, t.wget(token_url(T4)))
    t.expect_token(r)


@test
def test_nc_echo_danted(t):
    t.need("danted", "echo")
    r = t.sx_x(DANTE, ["nc", "-N", T4, str(ECHO_PORT)], input_text="hello")
    t.expect_ok(r, "nc")
    t.check(r.out == "hello", "nc printed %r, expected the echo 'hello'" % r.out)


@test
def test_pyclient_echo_getpeername(t):
    t.need("danted", "echo")
    r = t.sx_x(DANTE, t.pyclient(T4, ECHO_PORT))
    t.expect_echo(r, T4, ECHO_PORT)
    t.check(t.dante_saw("danted", dante_addr(T4, ECHO_PORT)), "danted's log does not show the connection")


@test
def test_pyclient_nonblocking(t):
    t.need("danted", "echo")
    r = t.sx_x(DANTE, t.pyclient(T4, ECHO_PORT, "--nonblock"))
    t.expect_echo(r, T4, ECHO_PORT)
    t.check(r.line("CONNECT") in ("immediate", "inprogress"), "unexpected connect mode %r" % r.line("CONNECT"))


CONCURRENT_CLIENT = r'''
import socket, sys, threading
host, port, threads, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
errors = []
def work(i):
    for j in range(per):
        msg = ("t%d-c%d " % (i, j)).encode() * 50
        try:
            s = socket.create_connection((host, port), timeout=10)
            if s.getpeername()[:2] != (host, port):
                errors.append("peer %r" % (s.getpeername(),))
            s.sendall(msg)
            got = b""
            while len(got) < len(msg):
                c = s.recv(65536)
                if not c:
                    break
                got += c
            s.close()
            if got != msg:
                errors.append("thread %d conn %d: echo mismatch (%d of %d bytes)" % (i, j, len(got), len(msg)))
        except OSError as e:
            errors.append("thread %d conn %d: %r" % (i, j, e))
ts = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
[t.start() for t in ts]
[t.join() for t in ts]
print("\n".join(errors) if errors else "ALL OK")
sys.exit(1 if errors else 0)
'''


@test
def test_concurrent_connections_threads(t):
    """8 threads x 5 connections each, through danted, in one process."""
    t.need("danted", "echo")
    r = t.sx_x(DANTE, [PY, "-c", CONCURRENT_CLIENT, T4, str(ECHO_PORT), "8", "5"], timeout=40)
    t.expect_ok(r, "concurrent client")
    t.check("ALL OK" in r.out, "not all connections worked")


@test
def test_tfo_curl(t):
    t.need("danted", "http")
    r = t.sx_x(DANTE, ["curl", "-q", "-sS", "--tcp-fastopen", "--max-time", "10", token_url(T4)])
    t.expect_token(r)


@test
def test_tfo_sendto_msg_fastopen(t):
    t.need("danted", "echo")
    r = t.sx_x(DANTE, t.pyclient(T4, ECHO_PORT, "--fastopen"))
    t.expect_echo(r, T4, ECHO_PORT)
    t.check(t.dante_saw("danted", dante_addr(T4, ECHO_PORT)), "danted's log does not show the connection")


@test
def test_ipv6_proxy_ipv4_target(t):
    t.need("microsocks6", "http")
    t.expect_token(t.sx_x(MS6, t.curl(token_url(T4))))


@test
def test_ipv6_proxy_ipv6_target(t):
    t.need("microsocks6", "http")
    t.expect_token(t.sx_x(MS6, t.curl(token_url(T6))))


@test
def test_ipv6_proxy_by_name(t):
    t.need("danted", "http")
    t.expect_token(t.sx_x("socks5://proxy6.sx.test:%d" % DANTE_PORT, t.curl(token_url(T6))))


@test
def test_ipv6_danted_pyclient_getpeername(t):
    t.need("danted", "echo")
    r = t.sx_x(DANTE6, t.pyclient(T6, ECHO_PORT))
    t.expect_echo(r, T6, ECHO_PORT)
    t.check(t.dante_saw("danted", dante_addr(T6, ECHO_PORT)), "danted's log does not show the connection")


@test
def test_ipv4_proxy_ipv6_target(t):
    t.need("danted", "echo")
    r = t.sx_x(DANTE, t.pyclient(T6, ECHO_PORT))
    t.expect_echo(r, T6, ECHO_PORT)


@test
def test_socks5_pipelining_danted(t):
    """socks5_pipelining: greeting, credentials and request in one write; danted reads ahead."""
    t.need("danted", "danted-auth", "http")
    for url in (DANTE, DANTE_AUTH):
        conf = t.write("cwd/sx.conf", "proxy %s\nsocks5_pipelining yes\n" % url)
        os.chmod(conf, 0o600)
        t.expect_token(t.sx_f(conf, t.curl(token_url(T4))))
