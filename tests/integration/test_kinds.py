"""Proxy kinds other than SOCKS5: socks4:// (danted, ssh -D), socks4a:// (ssh -D, names sent to the
proxy), socks5 through ssh -D, http:// CONNECT (tinyproxy: by name, by address, Basic auth, IPv6
proxy address), and how their failures map to errno (HTTP status, SOCKS4 and IPv6)."""
from testcase import dante_addr, test
from topology import (P6C, CLOSED_PORT, DANTE4, DANTE_PORT, ECHO_PORT, HTTP_PORT, P4C, PASSWORD, SSH4, SSH4A, SSH5,
                      SSH5H, SSH6, SSH_SOCKS_PORT, T4, T6, TINY, TINY6, TINY_AUTH, TINY_AUTH_PORT, USER, token_url)

NAME = "target.sx.test"  # only P can resolve it: C has no DNS at all


# ---------- socks4:// ----------

@test
def test_kinds_socks4_danted_curl(t):
    t.need("danted", "http")
    t.expect_token(t.sx_x(DANTE4, t.curl(token_url(T4))))
    t.check(t.dante_saw("danted", dante_addr(T4, HTTP_PORT)), "danted's log does not show the connection")


@test
def test_kinds_socks4_danted_pyclient(t):
    t.need("danted", "echo")
    r = t.sx_x(DANTE4, t.pyclient(T4, ECHO_PORT))
    t.expect_echo(r, T4, ECHO_PORT)
    t.check(t.dante_saw("danted", dante_addr(T4, ECHO_PORT)), "danted's log does not show the connection")


@test
def test_kinds_socks4_ssh_is_socks4_on_the_wire(t):
    """ssh -D logs which SOCKS version it decoded: socks4://, not 5."""
    t.need("ssh-socks", "http")
    t.expect_token(t.sx_x(SSH4, t.curl(token_url(T4))))
    t.check(t.ssh_saw(T4, HTTP_PORT, "socks4"), "ssh -D did not log a socks4 request for %s:%d" % (T4, HTTP_PORT))


@test
def test_kinds_socks4_user_id(t):
    """socks4://USERID@host:port sends USERID in the request (ssh -D logs it); danted accepts one too."""
    t.need("ssh-socks", "danted", "http")
    t.expect_token(t.sx_x("socks4://sxid42@%s:%d" % (P4C, SSH_SOCKS_PORT), t.curl(token_url(T4))))
    t.check(t.wait_lines("ssh-socks", 1, "decode socks4: user sxid42/"),
            "ssh -D did not log the SOCKS4 user id sxid42")
    t.expect_token(t.sx_x("socks4://sxid42@%s:%d" % (P4C, DANTE_PORT), t.curl(token_url(T4))))
    t.check(t.dante_saw("danted", dante_addr(T4, HTTP_PORT)), "danted's log does not show the connection")


@test
def test_kinds_socks4_ipv6_target_eafnosupport(t):
    """SOCKS4 carries IPv4 addresses only: an IPv6 target fails with EAFNOSUPPORT, nothing is sent."""
    t.need("danted", "echo")
    r = t.sx_x(DANTE4, t.pyclient(T6, ECHO_PORT))
    t.expect_errno(r, "EAFNOSUPPORT")
    t.check(not t.log_lines("danted", "[:", dante_addr(T6, ECHO_PORT)), "danted saw the IPv6 connection")


# ---------- socks4a:// and socks5 through ssh -D ----------

@test
def test_kinds_socks4a_ssh_curl_by_name(t):
    """socks4a sends the name (remote DNS by default): C cannot resolve it, ssh -D in P does."""
    t.need("ssh-socks", "http")
    t.expect_token(t.sx_x(SSH4A, t.curl(token_url(NAME))))
    t.check(t.ssh_saw(NAME, HTTP_PORT, "socks4"), "ssh -D did not get a SOCKS4a request for the name %s" % NAME)


@test
def test_kinds_socks4a_ssh_pyclient_by_name(t):
    t.need("ssh-socks", "echo")
    r = t.sx_x(SSH4A, t.pyclient_by_name("n3.sx.test", ECHO_PORT))
    t.expect_ok(r, "python client by name")
    t.check(t.ssh_saw("n3.sx.test", ECHO_PORT, "socks4"), "ssh -D did not get a SOCKS4a request for n3.sx.test")


@test
def test_kinds_socks4a_ssh_address(t):
    """socks4a with a literal address: a plain SOCKS4 request (ssh -D logs the address)."""
    t.need("ssh-socks", "echo")
    r = t.sx_x(SSH4A, t.pyclient(T4, ECHO_PORT))
    t.expect_echo(r, T4, ECHO_PORT)
    t.check(t.ssh_saw(T4, ECHO_PORT, "socks4"), "ssh -D did not log a socks4 request for %s" % T4)


@test
def test_kinds_socks5_ssh(t):
    t.need("ssh-socks", "http", "echo")
    t.expect_token(t.sx_x(SSH5, t.curl(token_url(T4))))
    t.check(t.ssh_saw(T4, HTTP_PORT, "socks5"), "ssh -D did not log a socks5 request for %s" % T4)
    r = t.sx_x(SSH5, t.pyclient(T6, ECHO_PORT))
    t.expect_echo(r, T6, ECHO_PORT)
    t.check(t.ssh_saw(T6, ECHO_PORT, "socks5"), "ssh -D did not log a socks5 request for %s" % T6)


@test
def test_kinds_socks5h_ssh_by_name(t):
    t.need("ssh-socks", "http")
    t.expect_token(t.sx_x(SSH5H, t.curl(token_url(NAME))))
    t.check(t.ssh_saw(NAME, HTTP_PORT, "socks5"), "ssh -D did not get a socks5 request for the name %s" % NAME)


@test
def test_kinds_socks5_ssh_ipv6_proxy(t):
    t.need("ssh-socks", "http")
    t.expect_token(t.sx_x(SSH6, t.curl(token_url(T6))))
    t.check(t.ssh_saw(T6, HTTP_PORT, "socks5"), "ssh -D did not log the request")


# ---------- http:// (CONNECT) ----------

@test
def test_kinds_http_tinyproxy_by_name(t):
    """http:// sends names (remote DNS by default): CONNECT target.sx.test:8080."""
    t.need("tinyproxy", "http")
    t.expect_token(t.sx_x(TINY, t.curl(token_url(NAME))))
    t.check(t.tiny_saw("tinyproxy", "%s:%d" % (NAME, HTTP_PORT)), "tinyproxy did not log CONNECT %s" % NAME)


@test
def test_kinds_http_tinyproxy_by_address(t):
    t.need("tinyproxy", "http")
    t.expect_token(t.sx_x(TINY, t.curl(token_url(T4))))
    t.check(t.tiny_saw("tinyproxy", "%s:%d" % (T4, HTTP_PORT)), "tinyproxy did not log CONNECT %s" % T4)


@test
def test_kinds_http_tinyproxy_pyclient_ipv4_ipv6(t):
    t.need("tinyproxy", "echo")
    r = t.sx_x(TINY, t.pyclient(T4, ECHO_PORT))
    t.expect_echo(r, T4, ECHO_PORT)
    r = t.sx_x(TINY, t.pyclient(T6, ECHO_PORT))
    t.expect_echo(r, T6, ECHO_PORT)
    t.check(t.tiny_saw("tinyproxy", "[%s]:%d" % (T6, ECHO_PORT)), "tinyproxy did not log CONNECT [%s]:%d" % (T6, ECHO_PORT))


@test
def test_kinds_http_tinyproxy_nc(t):
    """nc speaking HTTP itself through a CONNECT tunnel. (No -N: tinyproxy closes the whole tunnel
    when the client half-closes, so the request is sent and nc waits for the server to close.)"""
    t.need("tinyproxy", "http")
    r = t.sx_x(TINY, ["nc", T4, str(HTTP_PORT)], input_text="GET /token.txt HTTP/1.0\r\n\r\n")
    t.expect_ok(r, "nc")
    t.check(r.out.startswith("HTTP/1.0 200") and r.out.endswith("\r\n\r\n" + t.h.token),
            "nc printed %r, expected a 200 response with the token" % r.out[-300:])
    t.check(t.tiny_saw("tinyproxy", "%s:%d" % (T4, HTTP_PORT)), "tinyproxy did not log the CONNECT")


@test
def test_kinds_http_basic_auth(t):
    t.need("tinyproxy-auth", "http")
    r = t.sx_x(TINY_AUTH, t.curl(token_url(NAME)))
    t.expect_token(r)
    t.check(t.tiny_saw("tinyproxy-auth", "%s:%d" % (NAME, HTTP_PORT)), "tinyproxy-auth did not log the CONNECT")
    t.check(PASSWORD not in r.err, "the password appears on stderr")


@test
def test_kinds_http_wrong_password_eacces(t):
    """tinyproxy answers a wrong password with '401 Unauthorized': EACCES, status line logged (error level)."""
    t.need("tinyproxy-auth")
    wrong = "wrong" + PASSWORD
    r = t.sx_x("http://%s:%s@%s:%d" % (USER, wrong, P4C, TINY_AUTH_PORT), t.pyclient(T4, ECHO_PORT))
    t.expect_errno(r, "EACCES")
    t.check("401" in r.err and "Unauthorized" in r.err, "stderr does not show the status line 401 Unauthorized")
    t.check(wrong not in r.err, "the password appears on stderr")


@test
def test_kinds_http_no_credentials_eacces(t):
    """No credentials for tinyproxy with BasicAuth: '407 Proxy Authentication Required' -> EACCES."""
    t.need("tinyproxy-auth")
    r = t.sx_x("http://%s:%d" % (P4C, TINY_AUTH_PORT), t.pyclient(T4, ECHO_PORT))
    t.expect_errno(r, "EACCES")
    t.check("407" in r.err, "stderr does not show the status line 407")


@test
def test_kinds_http_connect_closed_port(t):
    """CONNECT to a closed port: tinyproxy answers '500 Unable to connect'; connect() fails with an errno
    (quickly, not a timeout) and the status line is logged."""
    t.need("tinyproxy")
    r = t.sx_x(TINY, t.pyclient(T4, CLOSED_PORT))
    t.expect_any_errno(r)
    t.check(r.seconds < 8, "took %.1fs" % r.seconds)
    t.check("500" in r.err, "stderr does not show tinyproxy's status line (500 Unable to connect)")
    t.check(t.tiny_saw("tinyproxy", "%s:%d" % (T4, CLOSED_PORT)), "tinyproxy did not log the CONNECT")


@test
def test_kinds_http_ipv6_proxy(t):
    t.need("tinyproxy", "http", "echo")
    t.expect_token(t.sx_x(TINY6, t.curl(token_url(NAME))))
    t.check(t.tiny_saw("tinyproxy", "%s:%d" % (NAME, HTTP_PORT)), "tinyproxy did not log CONNECT %s" % NAME)
    r = t.sx_x(TINY6, t.pyclient(T6, ECHO_PORT))
    t.expect_echo(r, T6, ECHO_PORT)


@test
def test_kinds_from_config_file(t):
    """Every kind as the config file's unnamed proxy line (the default proxy)."""
    t.need("danted", "ssh-socks", "tinyproxy", "http")
    for url, host in ((DANTE4, T4), (SSH4A, NAME), (TINY, NAME)):
        conf = t.write("cwd/sx.conf", "# kind %s\nproxy %s\n" % (url.split(":")[0], url))
        t.expect_token(t.sx_f(conf, t.curl(token_url(host))))
    t.check(t.dante_saw("danted", dante_addr(T4, HTTP_PORT)), "danted's log does not show the socks4 connection")
    t.check(t.ssh_saw(NAME, HTTP_PORT, "socks4"), "ssh -D did not get the socks4a request")
    t.check(t.tiny_saw("tinyproxy", "%s:%d" % (NAME, HTTP_PORT)), "tinyproxy did not log the CONNECT")


@test
def test_kinds_socks4_proxies_at_ipv6_addresses(t):
    """SOCKS4 and SOCKS4a proxies reached at an IPv6 address (the target itself stays IPv4 or a name)."""
    t.need("ssh-socks", "danted", "http")
    t.expect_token(t.sx_x("socks4a://[%s]:%d" % (P6C, SSH_SOCKS_PORT), t.curl(token_url(NAME))))
    t.check(t.ssh_saw(NAME, HTTP_PORT, "socks4"), "ssh -D did not get a SOCKS4a request for %s" % NAME)
    t.expect_token(t.sx_x("socks4://[%s]:%d" % (P6C, DANTE_PORT), t.curl(token_url(T4))))
