"""proxychains-ng configuration files read by `socksify -f FILE`: a file written the way proxychains
users write it (the stock file's comments, strict_chain, proxy_dns, remote_dns_subnet, timeouts,
[ProxyList] with socks5 and http lines), credentials, dynamic_chain with a dead proxy,
round_robin_chain with chain_len, localnet, the timeouts in milliseconds, quiet_mode, and an
unsupported key (a warning naming the line; the program still runs)."""
import re

from testcase import dante_addr, test
from topology import (C4, DANTE_AUTH_PORT, DANTE_PORT, DEAD_PORT, ECHO_PORT, FAKE_PORTS, HTTP_PORT, MS_PORT, P4C,
                      PASSWORD, PY, SSH_SOCKS_PORT, T4, TINY_AUTH_PORT, TINY_PORT, USER, token_url)

NAME = "target.sx.test"

# The head of proxychains-ng's stock proxychains.conf, as users keep it (comments and all).
HEAD = """# proxychains.conf  VER 4.x
#
#        HTTP, SOCKS4a, SOCKS5 tunneling proxifier with DNS.
#

# The option below identifies how the ProxyList is treated.
# only one option should be uncommented at time,
# otherwise the last appearing option will be accepted
#
{chain_type}
#
# Dynamic - Each connection will be done via chained proxies
# all proxies chained in the order as they appear in the list
# at least one proxy must be online to play in chain
# (dead proxies are skipped)
# otherwise EINTR is returned to the app
#
# Strict - Each connection will be done via chained proxies
# all proxies chained in the order as they appear in the list
# all proxies must be online to play in chain
# otherwise EINTR is returned to the app
#
#random_chain
#
# Random - Each connection will be done via random proxy
# (or proxy chain, see  chain_len) from the list.
# this option is good to test your IDS :)

# Make sense only if random_chain or round_robin_chain
{chain_len}

# Quiet mode (no output from library)
{quiet}

## Proxy DNS requests - no leak for DNS data
# (disable all of the 3 items below to not proxy your DNS requests)

# method 1. this uses the proxychains4 style method to do remote dns:
# a thread is spawned that serves DNS requests and hands down an ip
# assigned from an internal list (via remote_dns_subnet).
{proxy_dns}

# set the class A subnet number to use for the internal remote DNS mapping
# we use the reserved 224.x.x.x range by default,
# if the proxified app does a DNS request, we will return an IP from that range.
#remote_dns_subnet 127
#remote_dns_subnet 10
remote_dns_subnet 224

# Some timeouts in milliseconds
tcp_read_time_out {read_ms}
tcp_connect_time_out {connect_ms}

### Examples for localnet exclusion
## localnet ranges will *not* use a proxy to connect.
## Exclude connections to 192.168.1.0/24 with port 80
# localnet 192.168.1.0:80/255.255.255.0

## RFC1918 Private Address Ranges
# localnet 10.0.0.0/255.0.0.0
# localnet 172.16.0.0/255.240.0.0
# localnet 192.168.0.0/255.255.0.0
{extra}
# ProxyList format
#       type  ip  port [user pass]
#       (values separated by 'tab' or 'blank')
#
#       only numeric ipv4 addresses are valid
#
#        Examples:
#
#               socks5  192.168.67.78   1080    lamer   secret
#               http    192.168.89.3    8080    justu   hidden
#               socks4  192.168.1.49    1080
#               http    192.168.39.93   8080
#
[ProxyList]
# add proxy here ...
# meanwile
# defaults set to "tor"
"""


def pc_conf(t, proxies, chain_type="strict_chain", chain_len="#chain_len = 2", quiet="#quiet_mode",
            proxy_dns="proxy_dns", read_ms=15000, connect_ms=8000, extra="", name="proxychains4.conf"):
    text = HEAD.format(chain_type=chain_type, chain_len=chain_len, quiet=quiet, proxy_dns=proxy_dns,
                       read_ms=read_ms, connect_ms=connect_ms, extra=extra)
    return t.write("cwd/" + name, text + "".join(p + "\n" for p in proxies))


def line_of(path, text):
    """The 1-based number of the first line of file path that is text."""
    with open(path) as f:
        for i, line in enumerate(f, 1):
            if line.rstrip("\n") == text:
                return i
    raise AssertionError("%r not in %s" % (text, path))


@test
def test_proxychains_stock_style_file(t):
    """strict_chain danted -> tinyproxy, proxy_dns: curl by name, the name reaches tinyproxy."""
    t.need("danted", "tinyproxy", "http")
    c = pc_conf(t, ["socks5\t%s\t%d" % (P4C, DANTE_PORT), "http\t%s\t%d" % (P4C, TINY_PORT)])
    r = t.sx_f(c, t.curl(token_url(NAME)))
    t.expect_token(r)
    t.check(t.dante_saw("danted", dante_addr(P4C, TINY_PORT)), "danted (first hop) did not connect to tinyproxy")
    t.check(t.tiny_saw("tinyproxy", "%s:%d" % (NAME, HTTP_PORT)), "tinyproxy (last hop) did not CONNECT to %s" % NAME)
    t.check(not [l for l in r.err.splitlines() if "warn" in l.lower()], "warnings for a stock file: %r" % r.err)


@test
def test_proxychains_remote_dns_subnet(t):
    """proxy_dns with remote_dns_subnet 224: a lookup answers 224.x.x.x, and connecting to it sends
    the name to the proxy (ssh -D logs the names it is asked for)."""
    t.need("ssh-socks", "echo")
    c = pc_conf(t, ["socks5 %s %d" % (P4C, SSH_SOCKS_PORT)])
    r = t.sx_f(c, [PY, "-c", "import socket; print(socket.gethostbyname(%r))" % NAME])
    t.expect_ok(r, "gethostbyname")
    t.check(re.match(r"^224\.\d+\.\d+\.\d+$", r.out.strip()), "lookup answered %r, expected 224.x.x.x" % r.out)
    t.expect_ok(t.sx_f(c, t.pyclient_by_name("n4.sx.test", ECHO_PORT)), "python client by name")
    t.check(t.ssh_saw("n4.sx.test", ECHO_PORT, "socks5"), "ssh -D was not asked for the name n4.sx.test")


@test
def test_proxychains_credentials(t):
    """[ProxyList] lines with user and password: danted's username auth, then tinyproxy's BasicAuth."""
    t.need("danted-auth", "tinyproxy-auth", "http")
    c = pc_conf(t, ["socks5 %s %d %s %s" % (P4C, DANTE_AUTH_PORT, USER, PASSWORD),
                    "http %s %d %s %s" % (P4C, TINY_AUTH_PORT, USER, PASSWORD)])
    r = t.sx_f(c, t.curl(token_url(NAME)))
    t.expect_token(r)
    t.check(t.dante_saw("danted-auth", "username%%%s@" % USER), "danted-auth did not authenticate %s" % USER)
    t.check(t.tiny_saw("tinyproxy-auth", "%s:%d" % (NAME, HTTP_PORT)), "tinyproxy-auth did not CONNECT")
    t.check(PASSWORD not in r.out + r.err, "the password was printed")


@test
def test_proxychains_dynamic_chain_dead_first(t):
    t.need("danted", "tinyproxy", "http")
    c = pc_conf(t, ["socks5 %s %d" % (P4C, DEAD_PORT), "socks4 %s %d" % (P4C, DANTE_PORT),
                    "http %s %d" % (P4C, TINY_PORT)], chain_type="dynamic_chain", proxy_dns="#proxy_dns")
    r = t.sx_f(c, t.curl(token_url(T4)))
    t.expect_token(r)
    t.check(t.dante_saw("danted", dante_addr(P4C, TINY_PORT)), "danted did not connect to tinyproxy")
    t.check(t.tiny_saw("tinyproxy", "%s:%d" % (T4, HTTP_PORT)), "tinyproxy did not CONNECT to the target")


@test
def test_proxychains_round_robin_chain_len(t):
    """round_robin_chain with chain_len = 1: three connections in a row, one through each proxy."""
    t.need("danted", "tinyproxy", "microsocks", "http")
    c = pc_conf(t, ["socks5 %s %d" % (P4C, DANTE_PORT), "http %s %d" % (P4C, TINY_PORT),
                    "socks5 %s %d" % (P4C, MS_PORT)], chain_type="round_robin_chain", chain_len="chain_len = 1",
                proxy_dns="#proxy_dns")
    r = t.sx_f(c, t.curl_many(*[token_url(T4)] * 3))
    t.expect_tokens(r, 3)
    seen = {
        "danted": lambda: t.log_lines("danted", "tcp/connect [:", dante_addr(T4, HTTP_PORT)),
        "tinyproxy": lambda: t.log_lines("tinyproxy", t.tiny_request("%s:%d" % (T4, HTTP_PORT))),
        "microsocks": lambda: t.log_lines("microsocks", t.ms_request(T4, HTTP_PORT)),
    }
    t.wait_log("danted", lambda _text: all(len(f()) >= 1 for f in seen.values()))
    got = {name: len(f()) for name, f in seen.items()}
    t.check(all(v == 1 for v in got.values()), "connections per proxy: %r, expected one through each" % got)


@test
def test_proxychains_localnet(t):
    """localnet ADDR/MASK goes direct: C's own echo server without danted; T's subnet from C directly
    is unreachable (ENETUNREACH), which proves socksify did not use the proxy."""
    t.need("danted", "echo-c", "echo")
    c = pc_conf(t, ["socks5 %s %d" % (P4C, DANTE_PORT)], proxy_dns="#proxy_dns",
                extra="localnet 10.77.1.0/255.255.255.0\nlocalnet 10.77.2.0/255.255.255.0\n")
    t.expect_echo(t.sx_f(c, t.pyclient(C4, ECHO_PORT)), C4, ECHO_PORT)
    t.expect_errno(t.sx_f(c, t.pyclient(T4, ECHO_PORT)), "ENETUNREACH")
    t.check(not t.log_lines("danted", "[:", "tcp/connect"), "danted saw a localnet connection")
    c = pc_conf(t, ["socks5 %s %d" % (P4C, DANTE_PORT)], proxy_dns="#proxy_dns",  # control: no localnet
                extra="localnet 192.168.0.0/255.255.0.0\n")
    t.expect_echo(t.sx_f(c, t.pyclient(T4, ECHO_PORT)), T4, ECHO_PORT)
    t.check(t.dante_saw("danted", dante_addr(T4, ECHO_PORT)), "control: danted did not carry the connection")


@test
def test_proxychains_timeouts_in_milliseconds(t):
    """tcp_connect_time_out / tcp_read_time_out are milliseconds: 800 against a black hole and a
    silent proxy fail with ETIMEDOUT in about a second, well before pyclient's 15 s."""
    t.need("fakeproxy")
    for mode in ("blackhole", "silent"):
        c = pc_conf(t, ["socks5 %s %d" % (P4C, FAKE_PORTS[mode])], proxy_dns="#proxy_dns",
                    read_ms=800 if mode == "silent" else 15000, connect_ms=800 if mode == "blackhole" else 8000)
        r = t.sx_f(c, t.pyclient(T4, ECHO_PORT, "--timeout", "15"))
        t.expect_errno(r, "ETIMEDOUT")
        t.check(r.seconds < 5, "%s proxy: took %.1fs with an 800 ms timeout" % (mode, r.seconds))


@test
def test_proxychains_quiet_mode(t):
    """quiet_mode: no output from socksify, even for a failed connection (like -q)."""
    t.need("echo")
    c = pc_conf(t, ["socks5 %s %d" % (P4C, DEAD_PORT)], quiet="quiet_mode", proxy_dns="#proxy_dns")
    r = t.sx_f(c, t.pyclient(T4, ECHO_PORT))
    t.expect_errno(r, "ECONNREFUSED")
    t.check("socksify" not in r.err, "quiet_mode, but socksify wrote to stderr: %r" % r.err)


@test
def test_proxychains_unsupported_key_warns(t):
    """proxy_dns_daemon (proxychains' DNS daemon) is not supported: a warning naming the file's
    line, and the program runs all the same."""
    t.need("danted", "http")
    key = "proxy_dns_daemon 127.0.0.1:1053"
    c = pc_conf(t, ["socks5 %s %d" % (P4C, DANTE_PORT)], extra="\n# use the DNS daemon\n%s\n" % key,
                name="proxychains.conf")
    n = line_of(c, key)
    r = t.sx_f(c, t.curl(token_url(T4)))
    t.expect_token(r)
    warnings = [l for l in r.err.splitlines() if "proxy_dns_daemon" in l]
    t.check(warnings, "no warning about proxy_dns_daemon on stderr: %r" % r.err)
    t.check(any(re.search(r"(?<![\d.])%d(?!\d)" % n, l) for l in warnings),
            "the warning does not name line %d: %r" % (n, warnings))
