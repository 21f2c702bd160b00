"""Where everything is: paths, addresses, ports, proxy URLs and credentials of a test run.

    C 10.77.1.2 fd77:1::2  --veth--  10.77.1.1 fd77:1::1  P  10.77.2.1 fd77:2::1  --veth--  10.77.2.2 fd77:2::2  T

Imported once per run: PASSWORD and PCT_PASSWORD are fresh for every run.
"""
import os
import secrets
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
# The socksify command (make check-asan runs its UBSan build).
WRAPPER = os.environ.get("SOCKSIFY_CMD") or os.path.join(REPO, "build", "socksify")
# The LD_PRELOAD entry for programs of every class, ROOT/$LIB/libsocksify.so with a literal $LIB
# (SOCKSIFY_LIB: another build's, as the command takes it), and the native library, ROOT/libsocksify.so.
PRELOAD_ANY_CLASS = os.environ.get("SOCKSIFY_LIB") or os.path.join(REPO, "build", "$LIB", "libsocksify.so")
LIB = (PRELOAD_ANY_CLASS.split("/$LIB/")[0] + "/libsocksify.so") if "/$LIB/" in PRELOAD_ANY_CLASS else PRELOAD_ANY_CLASS
# What LD_PRELOAD holds when a test preloads the library itself (make check-asan puts the
# sanitizer runtime first).
PRELOAD = " ".join(p for p in (os.environ.get("SOCKSIFY_IT_PRELOAD"), LIB) if p)
PY = "/usr/bin/python3"
PYCLIENT = os.path.join(HERE, "pyclient.py")
FAKEPROXY = os.path.join(HERE, "fakeproxy.py")
ECHOSERVER = os.path.join(HERE, "echoserver.py")
BURSTSERVER = os.path.join(HERE, "burstserver.py")
UDPECHO = os.path.join(HERE, "udpecho.py")
UDPCLIENT = os.path.join(HERE, "udpclient.py")
CLEAN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
REQUIRED_TOOLS = ["ip", "ss", "danted", "microsocks", "curl", "wget", "nc", "openssl", "tinyproxy", "sshd", "ssh",
                  "ssh-keygen", "dig", "dnsmasq"]

# Addresses
C4, P4C, P4T, T4 = "10.77.1.2", "10.77.1.1", "10.77.2.1", "10.77.2.2"
C6, P6C, P6T, T6 = "fd77:1::2", "fd77:1::1", "fd77:2::1", "fd77:2::2"

# Names only the proxy's namespace can resolve (C has no DNS server at all).
REMOTE_NAMES = {"target.sx.test": T4, "target6.sx.test": T6}
REMOTE_NAMES.update(("n%d.sx.test" % i, T4) for i in range(320))

# Ports
HTTP_PORT = 8080      # T, dual stack
ECHO_PORT = 7777      # T, dual stack; also C on loopback
UDP_ECHO_PORT = 7779  # T, UDP, dual stack: udpecho.py (echoes datagrams; "WHOAMI" -> "YOU ARE ADDR PORT")
DNS_PORT = 53         # T, dnsmasq on 10.77.2.2 and fd77:2::2 (UDP and TCP): answers DNS_NAME only
CLOSED_PORT = 9       # T, nothing listens
DANTE_PORT = 1080     # P, 10.77.1.1 and fd77:1::1, no auth
DANTE_AUTH_PORT = 1081  # P, username auth
MS_PORT = 1082        # P, microsocks no auth
MS_AUTH_PORT = 1083   # P, microsocks -u -P
MS6_PORT = 1084       # P, microsocks on fd77:1::1
MS_PCT_PORT = 1085    # P, microsocks with credentials that need percent-encoding
MS_LONG_PORT = 1086   # P, microsocks with a URL longer than the library's start-up buffer (256)
TINY_PORT = 1090      # P, tinyproxy (HTTP CONNECT), no auth, 10.77.1.1 and fd77:1::1
TINY_AUTH_PORT = 1091  # P, tinyproxy with BasicAuth USER PASSWORD, 10.77.1.1
SSH_SOCKS_PORT = 1092  # P, ssh -D (SOCKS4, 4a and 5, no auth), 10.77.1.1 and fd77:1::1
SSHD_PORT = 2222      # P, 127.0.0.1 only: the private sshd that ssh -D logs in to
GSS_DANTE_PORT = 1093  # P, 10.77.1.1: danted rebuilt with GSSAPI (test_gssapi.py starts it), socksmethod gssapi
KDC_PORT = 88         # P: the throwaway Kerberos realm's KDC (test_gssapi.py starts it)
DEAD_PORT = 1999      # P, nothing listens
DEAD2_PORT = 1998     # P, nothing listens either (a second dead proxy for chains)
FAKE_PORTS = {
    "ok": 1100, "rep:1": 1101, "rep:2": 1102, "rep:3": 1103, "rep:4": 1104, "rep:5": 1105,
    "rep:6": 1106, "badver": 1110, "badver-method": 1111, "close-greeting": 1112,
    "close-request": 1113, "nomethod": 1114, "silent": 1115, "blackhole": 1116,
    "banner": 1117, "slow": 1118,
    "http-banner": 1119, "http-403": 1120, "http-endless": 1121, "http-drip": 1122, "http-garbage": 1123,
    "delay:0.1": 1124,
    "udp": 1125, "udp-then-close": 1126, "udp-slow": 1127,
    "bind-early": 1140, "bind-malformed": 1141, "bind-late": 1142, "bind-close": 1143, "bind-refused": 1144,
    "bind-ordered": 1145,
}
# fakeproxy.py's delaying relay: every handshake takes DELAY_SECONDS, so N connections made one
# after the other take at least N * DELAY_SECONDS and N made in parallel little more than one.
DELAY_SECONDS = 0.1
DELAY_MODE = "delay:%g" % DELAY_SECONDS
DELAY_PORT = FAKE_PORTS[DELAY_MODE]
# T, dual stack: burstserver.py (started by the tests that need it), an echo server and an HTTP
# server of the token with listen backlogs of 1024, for bursts of parallel connections.
BURST_ECHO_PORT = 7778
BURST_HTTP_PORT = 8081

# T's DNS server (dnsmasq): the one name it knows, and its addresses.
DNS_NAME = "udpdns.sx.test"
DNS_NAME_A = "10.77.2.99"
DNS_NAME_AAAA = "fd77:2::99"

USER = "sxuser"
PASSWORD = "Pw" + secrets.token_hex(6)            # unique per run, so leak checks mean something
LONG_USER = "u" * 120
LONG_PASSWORD = "p" * 120 + secrets.token_hex(8)
PCT_USER = "sx@user"
PCT_PASSWORD = "p@ss:w%rd/" + secrets.token_hex(4)

DANTE = "socks5://%s:%d" % (P4C, DANTE_PORT)
DANTE6 = "socks5://[%s]:%d" % (P6C, DANTE_PORT)
DANTE_AUTH = "socks5://%s:%s@%s:%d" % (USER, PASSWORD, P4C, DANTE_AUTH_PORT)
MS = "socks5://%s:%d" % (P4C, MS_PORT)
MS_AUTH = "socks5://%s:%s@%s:%d" % (USER, PASSWORD, P4C, MS_AUTH_PORT)
MS6 = "socks5://[%s]:%d" % (P6C, MS6_PORT)
MS_PCT = "socks5://%s:%s@%s:%d" % (urllib.parse.quote(PCT_USER, safe=""),
                                   urllib.parse.quote(PCT_PASSWORD, safe=""), P4C, MS_PCT_PORT)
MS_LONG = "socks5://%s:%s@%s:%d" % (LONG_USER, LONG_PASSWORD, P4C, MS_LONG_PORT)
DEAD = "socks5://%s:%d" % (P4C, DEAD_PORT)
# Other proxy kinds. danted speaks SOCKS4 (not 4a) on its SOCKS5 port; ssh -D speaks SOCKS4, 4a and 5.
DANTE4 = "socks4://%s:%d" % (P4C, DANTE_PORT)
SSH4 = "socks4://%s:%d" % (P4C, SSH_SOCKS_PORT)
SSH4A = "socks4a://%s:%d" % (P4C, SSH_SOCKS_PORT)
SSH5 = "socks5://%s:%d" % (P4C, SSH_SOCKS_PORT)
SSH5H = "socks5h://%s:%d" % (P4C, SSH_SOCKS_PORT)
SSH6 = "socks5://[%s]:%d" % (P6C, SSH_SOCKS_PORT)
TINY = "http://%s:%d" % (P4C, TINY_PORT)
TINY6 = "http://[%s]:%d" % (P6C, TINY_PORT)
TINY_AUTH = "http://%s:%s@%s:%d" % (USER, PASSWORD, P4C, TINY_AUTH_PORT)
DEAD2 = "http://%s:%d" % (P4C, DEAD2_PORT)


def fake_url(mode):
    return "%s://%s:%d" % ("http" if mode.startswith("http-") else "socks5", P4C, FAKE_PORTS[mode])


def token_url(host, port=HTTP_PORT):
    """The URL of the token served by T's HTTP server, at host (an IPv6 address gets brackets)."""
    return "http://%s:%d/token.txt" % ("[%s]" % host if ":" in host else host, port)
