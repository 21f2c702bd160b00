"""HTTP CONNECT proxies that misbehave (fakeproxy.py's http-* modes): the tunnel's first bytes are
never eaten, and every fault reaches the program as a clean errno within the timeouts."""
import time

from testcase import test
from topology import ECHO_PORT, T4, fake_url


@test
def test_http_banner_coalesced_with_headers(t):
    """The target's first bytes arrive in the same segment as the end of the proxy's headers:
    socksify reads the headers exactly and leaves the banner to the program."""
    t.need("fakeproxy")
    r = t.sx_x(fake_url("http-banner"), ["nc", "-N", "-w", "5", T4, str(ECHO_PORT)], input_text="")
    t.expect_ok(r, "nc")
    t.check(r.out == "SOCKSIFY-BANNER 42\r\n", "nc printed %r, expected only the banner sent after the headers" % r.out)
    request = t.fake_records("http-banner")[-1]["request"]
    t.check(request.startswith("CONNECT %s:%d HTTP/1.1\r\n" % (T4, ECHO_PORT)), "request %r" % request)


@test
def test_http_status_403_is_eacces_and_logged(t):
    t.need("fakeproxy")
    r = t.sx_x(fake_url("http-403"), t.pyclient(T4, ECHO_PORT))
    t.expect_errno(r, "EACCES")
    t.check("HTTP/1.1 403 Forbidden by fakeproxy" in r.err, "the status line is not in the log: %r" % r.err)


@test
def test_http_endless_headers_fail_fast(t):
    """Header lines without end: socksify gives up after 64 KiB with EPROTO, long before the timeout."""
    t.need("fakeproxy")
    start = time.monotonic()
    r = t.sx_x(fake_url("http-endless"), t.pyclient(T4, ECHO_PORT))
    t.expect_errno(r, "EPROTO")
    t.check(time.monotonic() - start < 5, "took %.1f s" % (time.monotonic() - start))


@test
def test_http_drip_times_out(t):
    """A status line that arrives one byte at a time, for ever: the handshake timeout ends it."""
    t.need("fakeproxy")
    conf = t.write("drip.conf", "proxy %s\nhandshake_timeout 1s\n" % fake_url("http-drip"))
    start = time.monotonic()
    r = t.sx_f(conf, t.pyclient(T4, ECHO_PORT))
    elapsed = time.monotonic() - start
    t.expect_errno(r, "ETIMEDOUT")
    t.check(0.9 < elapsed < 5, "took %.1f s with a 1 s handshake timeout" % elapsed)


@test
def test_http_garbage_is_eproto(t):
    t.need("fakeproxy")
    r = t.sx_x(fake_url("http-garbage"), t.pyclient(T4, ECHO_PORT))
    t.expect_errno(r, "EPROTO")
