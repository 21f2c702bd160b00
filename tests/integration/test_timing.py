"""Connections that must survive awkward timing: signals arriving all through a slow handshake,
and a target whose first bytes arrive in the same segment as the proxy's reply."""
from testcase import test
from topology import ECHO_PORT, T4, fake_url


def signals_during_slow_handshake(t, option):
    t.need("fakeproxy", "echo")
    r = t.sx_x(fake_url("slow"), t.pyclient(T4, ECHO_PORT, option))
    t.expect_ok(r, "pyclient --signals")
    signals = int(r.line("SIGNALS") or 0)
    t.check(signals >= 20, "only %d signals arrived during connect(): the test did not exercise EINTR" % signals)
    t.check(r.line("PEER") == "%s %d" % (T4, ECHO_PORT), "getpeername() gave %r" % r.line("PEER"))
    t.check(t.fake_records("slow"), "the fake proxy never saw the connection")


@test
def test_signals_during_slow_handshake(t):
    """SIGALRM every 5 ms (no SA_RESTART) while the proxy takes 0.6 s: connect() still succeeds."""
    signals_during_slow_handshake(t, "--signals")


@test
def test_signals_with_sa_restart_during_slow_handshake(t):
    """The same with SA_RESTART set: the interrupted waits restart, connect() succeeds."""
    signals_during_slow_handshake(t, "--signals-restart")


@test
def test_banner_coalesced_with_reply(t):
    """The target's banner arrives glued to the SOCKS reply: socksify must leave it for the program."""
    t.need("fakeproxy")
    r = t.sx_x(fake_url("banner"), ["nc", "-N", "-w", "5", T4, str(ECHO_PORT)], input_text="")
    t.expect_ok(r, "nc")
    t.check(r.out == "SOCKSIFY-BANNER 42\r\n", "nc printed %r, expected the banner the proxy sent after its reply" % r.out)
