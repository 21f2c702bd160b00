"""Configuration: the preload library driven by the environment alone (no wrapper), config keys
(direct, direct_loopback, timeouts, comments), where the config file is searched, and which
source wins."""
from testcase import dante_addr, test
from topology import DANTE, DEAD, ECHO_PORT, HTTP_PORT, PRELOAD, T4, token_url


@test
def test_env_preload_without_wrapper_wget(t):
    t.need("danted", "http")
    r = t.run(t.wget(token_url(T4)), env=t.env(LD_PRELOAD=PRELOAD, SOCKSIFY_PROXY=DANTE))
    t.expect_token(r)
    t.check(t.dante_saw("danted", dante_addr(T4, HTTP_PORT)), "danted's log does not show the connection")


@test
def test_env_socksify_conf_without_wrapper(t):
    t.need("danted", "echo")
    conf = t.write("conf/sx.conf", "# via SOCKSIFY_CONF\nproxy %s\n" % DANTE)
    r = t.run(t.pyclient(T4, ECHO_PORT), env=t.env(LD_PRELOAD=PRELOAD, SOCKSIFY_CONF=conf))
    t.expect_echo(r, T4, ECHO_PORT)


@test
def test_config_direct_bypasses_proxy(t):
    """direct 10.77.2.0/24: socksify connects directly, which from C cannot work (no route)."""
    t.need("danted", "echo")
    control = t.write("cwd/control.conf", "proxy %s\ndirect 10.77.3.0/24\n" % DANTE)
    r = t.sx_f(control, t.pyclient(T4, ECHO_PORT))
    t.expect_echo(r, T4, ECHO_PORT)  # control: the same setup without the matching 'direct' works
    t.need("danted")  # look at danted's log only from here on
    conf = t.write("cwd/sx.conf", "proxy %s\ndirect 10.77.2.0/24\n" % DANTE)
    r = t.sx_f(conf, t.pyclient(T4, ECHO_PORT))
    t.expect_errno(r, "ENETUNREACH")
    t.check(dante_addr(T4, ECHO_PORT) not in t.server_log_since("danted"),
            "danted saw the connection although the destination is 'direct'")


@test
def test_config_direct_other_range_uses_proxy(t):
    t.need("danted", "echo")
    conf = t.write("cwd/sx.conf", "# comment\nproxy %s   # trailing comment\ndirect 192.0.2.0/24 fd00:dead::/32\n"
                   "connect_timeout 500ms\nhandshake_timeout 5\n" % DANTE)
    r = t.sx_f(conf, t.pyclient(T4, ECHO_PORT))
    t.expect_echo(r, T4, ECHO_PORT)
    t.check(t.dante_saw("danted", dante_addr(T4, ECHO_PORT)), "danted's log does not show the connection")


@test
def test_config_direct_loopback_default(t):
    """Loopback is direct by default: 127.0.0.1 reaches C's own echo server, not P's loopback."""
    t.need("danted", "echo-c")
    r = t.sx_x(DANTE, t.pyclient("127.0.0.1", ECHO_PORT))
    t.expect_echo(r, "127.0.0.1", ECHO_PORT)


@test
def test_config_direct_loopback_no(t):
    """direct_loopback no: 127.0.0.1 goes via the proxy, where nothing listens on that port."""
    t.need("danted", "echo-c")
    conf = t.write("cwd/sx.conf", "proxy %s\ndirect_loopback no\n" % DANTE)
    r = t.sx_f(conf, t.pyclient("127.0.0.1", ECHO_PORT))
    t.expect_errno(r, "ECONNREFUSED")
    t.check(t.dante_saw("danted", dante_addr("127.0.0.1", ECHO_PORT)), "danted's log does not show the 127.0.0.1 connection")


@test
def test_config_search_cwd(t):
    t.need("danted", "echo")
    t.write("cwd/socksify.conf", "proxy %s\n" % DANTE)
    t.expect_echo(t.sx(["--"] + t.pyclient(T4, ECHO_PORT)), T4, ECHO_PORT)


@test
def test_config_search_home(t):
    t.need("danted", "echo")
    t.write("home/.config/socksify/socksify.conf", "proxy %s\n" % DANTE)
    t.expect_echo(t.sx(t.pyclient(T4, ECHO_PORT)), T4, ECHO_PORT)


@test
def test_config_socksify_conf_env_with_wrapper(t):
    t.need("danted", "echo")
    conf = t.write("elsewhere/x.conf", "proxy %s\n" % DANTE)
    t.expect_echo(t.sx(["--"] + t.pyclient(T4, ECHO_PORT), env=t.env(SOCKSIFY_CONF=conf)), T4, ECHO_PORT)


@test
def test_env_proxy_overrides_config(t):
    t.need("danted", "echo")
    conf = t.write("cwd/sx.conf", "proxy %s\n" % DEAD)
    r = t.sx_f(conf, t.pyclient(T4, ECHO_PORT), env=t.env(SOCKSIFY_PROXY=DANTE))
    t.expect_echo(r, T4, ECHO_PORT)
    r = t.sx(["-f", conf, "-x", DANTE, "--"] + t.pyclient(T4, ECHO_PORT))
    t.expect_echo(r, T4, ECHO_PORT)
