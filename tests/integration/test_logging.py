"""Logging: -v / -q, SOCKSIFY_LOG_LEVEL and SOCKSIFY_LOG_FILE, the log_level and log_file config
keys, and that no password ever reaches a log."""
import os
import re
import urllib.parse

from testcase import test
from topology import DANTE, ECHO_PORT, MS_AUTH, MS_AUTH_PORT, MS_PCT, P4C, PASSWORD, PCT_PASSWORD, T4, USER, fake_url

ECHO_DEST = "%s:%d" % (T4, ECHO_PORT)  # how socksify's log names the echo server


def info_lines(text, dest):
    return [l for l in text.splitlines() if dest in l and "via" in l]


def read_text(path):
    """The file's contents, "" if it does not exist."""
    if not os.path.exists(path):
        return ""
    with open(path) as f:
        return f.read()


@test
def test_wrapper_verbose_logs_connection(t):
    t.need("danted", "echo")
    r = t.sx_x(DANTE, t.pyclient(T4, ECHO_PORT), opts=["-v"])
    t.expect_echo(r, T4, ECHO_PORT)
    lines = info_lines(r.err, ECHO_DEST)
    t.check(len(lines) == 1, "expected exactly one stderr line with %r and 'via', got %d" % (ECHO_DEST, len(lines)))
    t.check(P4C in lines[0], "the line does not name the proxy %s: %r" % (P4C, lines[0]))
    t.check(re.search(r"\bok\b", lines[0]), "the line does not say ok: %r" % lines[0])
    t.check(re.search(r"\d(\.\d+)? ?(us|ms|s)\b", lines[0]), "the line shows no time: %r" % lines[0])
    t.check(not [l for l in r.out.splitlines() if "socksify" in l], "socksify wrote to stdout")


@test
def test_wrapper_verbose_logs_direct_connection(t):
    """-v shows connections that bypass the proxy too, with the reason."""
    t.need("danted", "echo-c")
    r = t.sx_x(DANTE, t.pyclient("127.0.0.1", ECHO_PORT), opts=["-v"])
    t.expect_echo(r, "127.0.0.1", ECHO_PORT)
    lines = [l for l in r.err.splitlines() if "127.0.0.1:%d" % ECHO_PORT in l]
    t.check(len(lines) == 1 and "direct (loopback)" in lines[0],
            "expected one line saying 127.0.0.1:%d went direct (loopback), got %r" % (ECHO_PORT, lines))


@test
def test_wrapper_verbose_logs_error(t):
    t.need("fakeproxy")
    r = t.sx_x(fake_url("rep:5"), t.pyclient(T4, ECHO_PORT), opts=["-v"])
    t.expect_errno(r, "ECONNREFUSED")
    t.check(info_lines(r.err, ECHO_DEST), "no stderr line with %r and 'via' for the failed connection" % ECHO_DEST)


@test
def test_wrapper_quiet(t):
    t.need("fakeproxy")
    r = t.sx_x(fake_url("rep:5"), t.pyclient(T4, ECHO_PORT), opts=["-q"])
    t.expect_errno(r, "ECONNREFUSED")
    t.check("socksify" not in r.err, "-q but socksify wrote to stderr")


@test
def test_log_level_env_and_log_file(t):
    t.need("danted", "echo")
    logf = os.path.join(t.dir, "sx.log")
    r = t.sx_x(DANTE, t.pyclient(T4, ECHO_PORT), env=t.env(SOCKSIFY_LOG_LEVEL="info", SOCKSIFY_LOG_FILE=logf))
    t.expect_echo(r, T4, ECHO_PORT)
    text = read_text(logf)
    t.check(info_lines(text, ECHO_DEST), "the log file has no line with %r and 'via': %r" % (ECHO_DEST, text[-500:]))
    t.check(not info_lines(r.err, ECHO_DEST), "the connection was logged to stderr although SOCKSIFY_LOG_FILE is set")


@test
def test_config_log_keys(t):
    """log_level and log_file from the config file."""
    t.need("danted", "echo")
    logf = os.path.join(t.dir, "from-conf.log")
    conf = t.write("cwd/sx.conf", "proxy %s\nlog_level info\nlog_file %s\n" % (DANTE, logf))
    r = t.sx_f(conf, t.pyclient(T4, ECHO_PORT))
    t.expect_echo(r, T4, ECHO_PORT)
    text = read_text(logf)
    t.check(info_lines(text, ECHO_DEST), "log_file %s has no line with %r and 'via': %r" % (logf, ECHO_DEST, text[-500:]))


@test
def test_password_never_logged(t):
    t.need("microsocks-auth", "microsocks-pct", "echo")
    logf = os.path.join(t.dir, "sx.log")
    env = t.env(SOCKSIFY_LOG_LEVEL="debug")
    outs = []
    r = t.sx_x(MS_AUTH, t.pyclient(T4, ECHO_PORT), opts=["-v"])
    t.expect_echo(r, T4, ECHO_PORT)
    outs.append(r.out + r.err)
    r = t.sx_x(MS_AUTH, t.pyclient(T4, ECHO_PORT), env=env)
    t.expect_echo(r, T4, ECHO_PORT)
    outs.append(r.out + r.err)
    r = t.sx_x(MS_PCT, t.pyclient(T4, ECHO_PORT), env=t.env(SOCKSIFY_LOG_LEVEL="debug", SOCKSIFY_LOG_FILE=logf))
    t.expect_echo(r, T4, ECHO_PORT)
    outs.append(r.out + r.err)
    r = t.sx_x("socks5://%s:bad%s@%s:%d" % (USER, PASSWORD, P4C, MS_AUTH_PORT), t.pyclient(T4, ECHO_PORT), env=env)
    t.expect_errno(r, "EACCES")
    outs.append(r.out + r.err)
    conf = t.write("cwd/sx.conf", "proxy %s\nlog_level debug\n" % MS_AUTH)
    r = t.sx_f(conf, t.pyclient(T4, ECHO_PORT))
    t.expect_echo(r, T4, ECHO_PORT)
    outs.append(r.out + r.err)
    outs.append(read_text(logf))
    everything = "\n".join(outs)
    t.check("socksify" in everything, "no socksify log output at all at debug level (cannot check for leaks)")
    pct = urllib.parse.quote(PCT_PASSWORD, safe="")
    for secret in (PASSWORD, PCT_PASSWORD, pct, "p@ss:w"):
        t.check(secret not in everything, "the password %r appears in the log output" % secret)
