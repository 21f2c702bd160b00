"""Failures: how proxy and handshake errors map to connect()'s errno (real proxies, and every fault
mode of fakeproxy.py), what the CONNECT request carries, and the connect/handshake timeouts."""
from procs import wait_until
from testcase import test
from topology import (CLOSED_PORT, DANTE, DANTE_AUTH_PORT, DEAD, ECHO_PORT, MS_AUTH_PORT, P4C, PASSWORD, T4, T6,
                      USER, fake_url)


@test
def test_pyclient_nonblocking_refused(t):
    """Non-blocking connect, proxy answers 'connection refused': connect() or SO_ERROR gives ECONNREFUSED."""
    t.need("fakeproxy")
    r = t.sx_x(fake_url("rep:5"), t.pyclient(T4, ECHO_PORT, "--nonblock"))
    t.expect_errno(r, "ECONNREFUSED")


@test
def test_errno_proxy_down(t):
    r = t.sx_x(DEAD, t.pyclient(T4, ECHO_PORT))
    t.expect_errno(r, "ECONNREFUSED")


def wrong_password_url(port):
    return "socks5://%s:wrong%s@%s:%d" % (USER, PASSWORD, P4C, port)


@test
def test_errno_wrong_password_microsocks(t):
    t.need("microsocks-auth")
    r = t.sx_x(wrong_password_url(MS_AUTH_PORT), t.pyclient(T4, ECHO_PORT))
    t.expect_errno(r, "EACCES")


@test
def test_errno_wrong_password_danted(t):
    t.need("danted-auth")
    r = t.sx_x(wrong_password_url(DANTE_AUTH_PORT), t.pyclient(T4, ECHO_PORT))
    t.expect_errno(r, "EACCES")


@test
def test_errno_no_credentials_for_auth_proxy(t):
    """danted requires username auth, we offer none: no acceptable method -> EACCES."""
    t.need("danted-auth")
    r = t.sx_x("socks5://%s:%d" % (P4C, DANTE_AUTH_PORT), t.pyclient(T4, ECHO_PORT))
    t.expect_errno(r, "EACCES")


@test
def test_errno_target_port_closed_danted(t):
    t.need("danted")
    r = t.sx_x(DANTE, t.pyclient(T4, CLOSED_PORT))
    t.expect_errno(r, "ECONNREFUSED")


def make_fake_test(mode, expected):
    """A test of fakeproxy.py's mode: connect() fails with expected (None: any errno)."""
    def fn(t):
        t.need("fakeproxy")
        r = t.sx_x(fake_url(mode), t.pyclient(T4, ECHO_PORT))
        # The record is written as the server answers (or right after it closes): give it a moment.
        recs = wait_until(lambda: t.fake_records(mode), 5 if r.rc == 3 and r.errno_name() != "ENETUNREACH" else 0.5)
        t.check(recs, "the fake proxy (%s) never saw a connection: socksify did not use the proxy" % mode)
        if expected is None:
            t.check(r.rc == 3 and r.errno_name(), "expected a connect error (any errno), got exit %s" % r.rc)
        else:
            t.expect_errno(r, expected)
        if mode.startswith("rep:") or mode == "badver" or mode == "close-request":
            req = recs[0].get("request")
            t.check(req and req["cmd"] == 1 and req["atyp"] == 1 and req["host"] == T4 and req["port"] == ECHO_PORT,
                    "the CONNECT request received was %r, expected CONNECT %s:%d (ATYP 1)" % (req, T4, ECHO_PORT))
    fn.__name__ = "test_errno_fake_" + mode.replace(":", "").replace("-", "_")
    fn.__doc__ = "fake proxy mode %s -> %s" % (mode, expected or "some error")
    return fn


for _mode, _expected in (("rep:1", None), ("rep:2", "EACCES"), ("rep:3", "ENETUNREACH"), ("rep:4", "EHOSTUNREACH"),
                         ("rep:5", "ECONNREFUSED"), ("rep:6", "ETIMEDOUT"), ("badver", "EPROTO"),
                         ("badver-method", "EPROTO"), ("close-greeting", "ECONNRESET"),
                         ("close-request", "ECONNRESET"), ("nomethod", "EACCES")):
    test(make_fake_test(_mode, _expected))


@test
def test_fakeproxy_ok_request_encoding(t):
    """Through our relay: the CONNECT request carries the target (IPv4 and IPv6) exactly."""
    t.need("fakeproxy", "echo")
    r = t.sx_x(fake_url("ok"), t.pyclient(T4, ECHO_PORT))
    t.expect_echo(r, T4, ECHO_PORT)
    r = t.sx_x(fake_url("ok"), t.pyclient(T6, ECHO_PORT))
    t.expect_echo(r, T6, ECHO_PORT)
    recs = wait_until(lambda: len(t.fake_records("ok")) >= 2 and t.fake_records("ok"), 5)
    t.check(recs and len(recs) >= 2, "the fake relay saw %d connections, expected 2" % len(recs or []))
    reqs = [(x["request"]["cmd"], x["request"]["atyp"], x["request"]["host"], x["request"]["port"]) for x in recs]
    t.check((1, 1, T4, ECHO_PORT) in reqs and (1, 4, T6, ECHO_PORT) in reqs,
            "requests seen: %r; expected CONNECT ATYP1 %s and ATYP4 %s port %d" % (reqs, T4, T6, ECHO_PORT))
    t.check(all(x["greeting"].startswith("05") for x in recs), "greeting is not SOCKS5: %r" % [x["greeting"] for x in recs])


def expect_quick_timeout(t, mode, timeouts, which):
    """Proxy fakeproxy mode with config lines timeouts: ETIMEDOUT well before the client's own 15s."""
    t.need("fakeproxy")
    conf = t.write("cwd/sx.conf", "proxy %s\n%s" % (fake_url(mode), timeouts))
    r = t.sx_f(conf, t.pyclient(T4, ECHO_PORT, "--timeout", "15"))
    t.expect_errno(r, "ETIMEDOUT")
    t.check(r.seconds < 8, "took %.1fs with %s 1s" % (r.seconds, which))


@test
def test_handshake_timeout(t):
    """A proxy that accepts and never answers: handshake_timeout 1s -> ETIMEDOUT quickly."""
    expect_quick_timeout(t, "silent", "handshake_timeout 1s\nconnect_timeout 5s\n", "handshake_timeout")


@test
def test_connect_timeout(t):
    """A proxy whose SYNs are dropped (accept queue full): connect_timeout 1s -> ETIMEDOUT quickly."""
    expect_quick_timeout(t, "blackhole", "connect_timeout 1s\nhandshake_timeout 5s\n", "connect_timeout")
