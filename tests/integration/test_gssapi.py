"""GSSAPI authentication (SOCKS5 method X'01', RFC 1961) against Dante rebuilt with GSSAPI.

Debian's danted has no GSSAPI: build-gss-dante.sh rebuilds Debian's own dante source against
libkrb5-dev once and caches the server in /var/cache/socksify-test (the first run pays minutes).
Each run makes a throwaway Kerberos realm SX.TEST in its temp dir (kdb5_util, kadmin.local), with
its KDC (krb5kdc) in P on KDC_PORT, a user with a password, and the service principal
rcmd/proxy.sx.test whose keytab the GSSAPI danted (P, GSS_DANTE_PORT, gssapi.enctype clear) uses.
Clients in C kinit into a private credential cache; the KDC is on the proxy's address, which
C reaches directly (the Kerberos library's own traffic never goes through the proxy).
danted logs each connection's method and user: "gssapi/clear%alice@SX.TEST@CLIENT".
"""
import os
import secrets

from procs import tail, wait_until
from testcase import T, dante_addr, test
from topology import ECHO_PORT, GSS_DANTE_PORT, HERE, HTTP_PORT, KDC_PORT, P4C, PY, T4, UDP_ECHO_PORT, UDPCLIENT

REALM = "SX.TEST"
PROXY_NAME = "proxy.sx.test"       # C's hosts file: P4C
USER = "alice"
USER_PASSWORD = secrets.token_hex(8)
GSS = "socks5://%s:%d?auth=gssapi" % (PROXY_NAME, GSS_DANTE_PORT)
GSS_H = "socks5h://%s:%d?auth=gssapi" % (PROXY_NAME, GSS_DANTE_PORT)
BUILD = os.path.join(HERE, "build-gss-dante.sh")

_realms = {}   # run's temp dir -> Realm


class Realm:
    """The realm's files and the environment of its tools."""

    def __init__(self, top):
        self.dir = os.path.join(top, "krb5")
        os.makedirs(self.dir)
        self.krb5_conf = os.path.join(self.dir, "krb5.conf")
        self.kdc_conf = os.path.join(self.dir, "kdc.conf")
        self.keytab = os.path.join(self.dir, "danted.keytab")
        self.dante_log = os.path.join(self.dir, "danted-gss.log")

    def env(self, t, ccache=None, **extra):
        e = t.env(KRB5_CONFIG=self.krb5_conf, KRB5_KDC_PROFILE=self.kdc_conf, **extra)
        if ccache:
            e["KRB5CCNAME"] = "FILE:" + ccache
        return e


def write_realm_files(r):
    with open(r.krb5_conf, "w") as f:
        f.write("""[libdefaults]
    default_realm = {realm}
    dns_lookup_kdc = false
    dns_lookup_realm = false
    dns_canonicalize_hostname = false
    rdns = false
[realms]
    {realm} = {{
        kdc = {kdc}:{port}
    }}
""".format(realm=REALM, kdc=P4C, port=KDC_PORT))
    with open(r.kdc_conf, "w") as f:
        f.write("""[kdcdefaults]
    kdc_ports = {port}
    kdc_tcp_ports = {port}
[realms]
    {realm} = {{
        database_name = {d}/principal
        key_stash_file = {d}/stash
        acl_file = {d}/kadm5.acl
    }}
[logging]
    kdc = FILE:{d}/kdc.log
""".format(realm=REALM, port=KDC_PORT, d=r.dir))


def dante_conf(t, r):
    """The harness's danted configuration, with method gssapi and the realm's key in its rules."""
    gss = """  gssapi.servicename: rcmd/{name}@{realm}
  gssapi.keytab: FILE:{keytab}
  gssapi.enctype: clear
""".format(name=PROXY_NAME, realm=REALM, keytab=r.keytab)
    conf = t.h.danted_conf("danted-gss", GSS_DANTE_PORT, "gssapi", r.dante_log)
    return conf.replace("  from: 0/0 to: 0/0\n", "  from: 0/0 to: 0/0\n" + gss)


def start(t, name, argv, r, port):
    """Starts argv in P as a harness server (stopped by the harness's cleanup) and waits, bounded,
    until it listens on port."""
    s = t.h.servers.get(name)
    if s is None:
        from harness import Server
        s = Server(name, t.h.ns["p"], ["env", "KRB5_CONFIG=" + r.krb5_conf, "KRB5_KDC_PROFILE=" + r.kdc_conf] + argv,
                   os.path.join(t.h.tmp, name + ".out"), r.dante_log if name == "danted-gss" else None)
        t.h.servers[name] = s
        t.h.launch(s)
    t.check(not s.error, "%s: %s" % (name, s.error))
    up = wait_until(lambda: t.h.is_listening(t.h.listening(t.h.ns["p"]), "*", port) or s.proc.poll() is not None, 15)
    t.check(up and s.proc.poll() is None, "%s did not listen on port %d:\n%s" % (name, port, tail(s.log)))


def realm(t):
    """The run's realm, KDC and GSSAPI danted, made on first use."""
    r = _realms.get(t.h.tmp)
    if r:
        return r
    # make check builds it first; a run of this file alone may pay the build here (minutes).
    built = t.run(["bash", BUILD], ns=None, timeout=1800)
    t.expect_ok(built, BUILD + " (rebuilds Debian's dante with GSSAPI)")
    danted = built.out.strip().splitlines()[-1]
    r = Realm(t.h.tmp)
    write_realm_files(r)
    admin = [("kdb5_util", "create", "-s", "-r", REALM, "-P", secrets.token_hex(12))]
    for q in ("addprinc -pw %s %s" % (USER_PASSWORD, USER), "addprinc -randkey rcmd/%s" % PROXY_NAME,
              "addprinc -randkey rcmd/other.sx.test", "ktadd -k %s rcmd/%s" % (r.keytab, PROXY_NAME)):
        admin.append(("kadmin.local", "-r", REALM, "-q", q))
    for argv in admin:
        t.expect_ok(t.run(list(argv), ns=None, env=r.env(t), timeout=30), argv[0])
    with open(os.path.join(t.h.tmp, "danted-gss.conf"), "w") as f:
        f.write(dante_conf(t, r))
    open(r.dante_log, "w").close()
    start(t, "krb5kdc", ["krb5kdc", "-n"], r, KDC_PORT)
    start(t, "danted-gss", [danted, "-f", os.path.join(t.h.tmp, "danted-gss.conf"),
                            "-p", os.path.join(t.h.tmp, "danted-gss.pid")], r, GSS_DANTE_PORT)
    _realms[t.h.tmp] = r
    return r


def kinit(t, r):
    """A fresh credential cache for this test, holding the user's ticket (kinit with the password)."""
    ccache = os.path.join(t.dir, "ccache")
    k = t.run(["kinit", "%s@%s" % (USER, REALM)], env=r.env(t, ccache), input_text=USER_PASSWORD + "\n", timeout=20)
    t.expect_ok(k, "kinit")
    return ccache


def gss_test(t):
    """Realm, proxy and a ticket; the danted log watched from here on."""
    r = realm(t)
    t.need("danted-gss")
    return r, kinit(t, r)


def saw_gssapi(t, dest):
    """danted logged a CONNECT to dest (ADDR.PORT) by the Kerberos user, GSSAPI with no protection."""
    who = "gssapi/clear%%%s@%s" % (USER, REALM)
    return t.wait_log("danted-gss", lambda text: any("tcp/connect [" in l and who in l and dest in l
                                                     for l in text.splitlines()))


@test
def test_gssapi_curl_by_address(t: T):
    r, cc = gss_test(t)
    res = t.sx_x(GSS, t.curl("http://%s:%d/token.txt" % (T4, HTTP_PORT)), env=r.env(t, cc))
    t.expect_token(res)
    t.check(saw_gssapi(t, dante_addr(T4, HTTP_PORT)), "danted-gss did not log a GSSAPI connect to the target")


@test
def test_gssapi_curl_by_name(t: T):
    r, cc = gss_test(t)
    res = t.sx_x(GSS_H, t.curl("http://target.sx.test:%d/token.txt" % HTTP_PORT), env=r.env(t, cc))
    t.expect_token(res)
    # C cannot resolve the name: the proxy did (danted logs the address it connected to).
    t.check(saw_gssapi(t, dante_addr(T4, HTTP_PORT)), "danted-gss did not log a GSSAPI connect to the target")


@test
def test_gssapi_python_by_address(t: T):
    r, cc = gss_test(t)
    res = t.sx_x(GSS, t.pyclient(T4, ECHO_PORT), env=r.env(t, cc))
    t.expect_echo(res, T4, ECHO_PORT)
    t.check(saw_gssapi(t, dante_addr(T4, ECHO_PORT)), "danted-gss did not log a GSSAPI connect to the echo server")


@test
def test_gssapi_python_by_name(t: T):
    r, cc = gss_test(t)
    res = t.sx_x(GSS_H, t.pyclient_by_name("target.sx.test", ECHO_PORT), env=r.env(t, cc))
    t.expect_ok(res, "python3 create_connection by name")
    t.check(saw_gssapi(t, dante_addr(T4, ECHO_PORT)), "danted-gss did not log a GSSAPI connect to the target")


def expect_refused(t, res, *needles):
    """connect() failed with EACCES, quickly, and socksify's log line says why."""
    t.expect_errno(res, "EACCES")
    t.check(res.seconds < 10, "took %.1fs to fail" % res.seconds)
    for n in needles:
        t.check(n in res.err, "socksify's log does not say %r:\n%s" % (n, res.err))


@test
def test_gssapi_no_ticket_is_eacces(t: T):
    r, cc = gss_test(t)
    t.expect_ok(t.run(["kdestroy"], env=r.env(t, cc)), "kdestroy")
    res = t.sx_x(GSS, t.pyclient(T4, ECHO_PORT), env=r.env(t, cc))
    expect_refused(t, res, "GSSAPI: no valid Kerberos ticket (run kinit)")


@test
def test_gssapi_unknown_principal_is_eacces(t: T):
    r, cc = gss_test(t)
    url = GSS + "&principal=rcmd/nosuch.sx.test"
    res = t.sx_x(url, t.pyclient(T4, ECHO_PORT), env=r.env(t, cc))
    expect_refused(t, res, "rcmd/nosuch.sx.test", "not found in Kerberos database")


@test
def test_gssapi_proxy_refuses_another_principal(t: T):
    """A ticket for a real principal whose key danted does not hold: danted closes the connection."""
    r, cc = gss_test(t)
    res = t.sx_x(GSS + "&principal=rcmd/other.sx.test", t.pyclient(T4, ECHO_PORT), env=r.env(t, cc))
    expect_refused(t, res, "GSSAPI: the proxy closed the connection")


@test
def test_gssapi_proxy_never_falls_back(t: T):
    """A proxy that wants GSSAPI, asked for no authentication: refused (X'FF'), EACCES."""
    r, cc = gss_test(t)
    res = t.sx_x("socks5://%s:%d" % (PROXY_NAME, GSS_DANTE_PORT), t.pyclient(T4, ECHO_PORT), env=r.env(t, cc))
    t.expect_errno(res, "EACCES")


MAPS_CLIENT = """
import socket, sys
def gss():
    return "libgssapi_krb5" in open("/proc/self/maps").read()
before = gss()
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
print("BEFORE", before, "AFTER", gss())
"""


@test
def test_gssapi_library_loaded_only_for_gssapi_proxies(t: T):
    """libgssapi_krb5 is not linked: a program gets it mapped only once it uses a GSSAPI proxy."""
    r, cc = gss_test(t)
    argv = [PY, "-c", MAPS_CLIENT, T4, str(ECHO_PORT)]
    res = t.sx_x(GSS, argv, env=r.env(t, cc))
    t.expect_ok(res, "python through the GSSAPI proxy")
    t.check("BEFORE False AFTER True" in res.out, "expected the library loaded on first use: %r" % res.out)
    res = t.sx_x("socks5://%s:1080" % P4C, argv, env=r.env(t, cc))
    t.expect_ok(res, "python through the no-auth danted")
    t.check("BEFORE False AFTER False" in res.out, "the library was loaded without a GSSAPI proxy: %r" % res.out)


@test
def test_gssapi_explain_shows_the_method(t: T):
    res = t.sx(["-x", GSS + "&principal=rcmd/gw@SX.TEST", "--explain", "%s:%d" % (T4, HTTP_PORT)])
    t.expect_ok(res, "socksify --explain")
    t.check("is offered GSSAPI (Kerberos principal rcmd/gw@SX.TEST, no per-message protection)" in res.out,
            "--explain does not show the GSSAPI method:\n" + res.out)


@test
def test_gssapi_udp_associate(t: T):
    """UDP ASSOCIATE through the GSSAPI danted: the control connection authenticates with GSSAPI,
    datagrams ("clear") go to the relay with the plain RFC 1928 header."""
    r, cc = gss_test(t)
    res = t.sx_x(GSS, [PY, UDPCLIENT, "echo", T4, str(UDP_ECHO_PORT), "hello gss"], env=r.env(t, cc))
    t.expect_ok(res, "udpclient through the GSSAPI proxy")
    t.check(res.line("FROM") == "%s %d" % (T4, UDP_ECHO_PORT) and res.line("ECHO") == "hello gss",
            "unexpected answer: %r" % res.out)
    t.check(t.wait_lines("danted-gss", 1, "udp/udpassociate [:", "gssapi/clear%"),
            "danted-gss did not log a GSSAPI-authenticated UDP association")
