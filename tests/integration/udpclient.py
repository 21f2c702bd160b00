#!/usr/bin/python3
"""A UDP client for the socksify integration tests (stdlib only), in the style of pyclient.py.

usage: udpclient.py [--family inet|inet6] [--v6only] [--sendmsg] [--timeout SECONDS] MODE ARGS...

HOST is a literal IPv4 or IPv6 address. With --family inet6 and an IPv4 HOST the socket is
AF_INET6 and sends to the IPv4-mapped address ::ffff:HOST. --v6only sets IPV6_V6ONLY on an
AF_INET6 socket (as dig does). Modes:
  echo HOST PORT [TEXT]   sendto(TEXT) (sendmsg with --sendmsg), then recvfrom (recvmsg)
  whoami HOST PORT        sendto("WHOAMI") to udpecho.py, which answers with the source it saw
  connected HOST PORT     connect(), send()/recv(), getpeername(), recvfrom()'s address; then
                          connect(AF_UNSPEC) (through libc, via ctypes), send() -> EDESTADDRREQ,
                          getpeername() -> ENOTCONN, and sendto() to HOST PORT still works
  name NAME PORT          getaddrinfo(NAME, PORT, SOCK_DGRAM) (family from --family, default
                          AF_INET), sendto the first answer, recvfrom; then connect() to it on
                          the same socket: getpeername(), send()/recv()
  fail HOST PORT          sendto twice; both must fail (the second is the remembered failure)
  control-close HOST PORT one echo, then sendto+recvfrom again and again (at most 40 times, each
                          waiting up to 0.25 s for the answer) until sendto fails
Output lines (stdout):
  ADDR <addr>                  name: what getaddrinfo gave
  PEER <host> <port>           getpeername()
  FROM <host> <port>           recvfrom()'s source address (IPv4-mapped shown as given)
  ECHO <text>                  the datagram that came back
  SEEN <addr> <port>           whoami: the source udpecho.py saw
  ERRNO <NAME> <where>         a socket error (where: sendto, sendto2, recvfrom, connect, ...)
  RESULT <where> <NAME|ok>     connected/control-close: the outcome of each later step
  ATTEMPTS <n>                 control-close: sends until the failure
Exit status: 0 ok; 3 the first sendto/connect failed (ERRNO printed); 4 wrong answer;
5 error later (ERRNO printed); 6 timeout waiting for an answer; 7 getaddrinfo failed; 2 usage.
"""
import argparse
import ctypes
import errno
import socket
import sys


def errname(e):
    """errno's name; EOPNOTSUPP for 95 (Linux's ENOTSUP is the same number)."""
    if e == errno.EOPNOTSUPP:
        return "EOPNOTSUPP"
    return errno.errorcode.get(e, "E%d" % e) if e is not None else "none"


def show(addr):
    return "%s %d" % (addr[0], addr[1])


def die_errno(e, where, status):
    if e.errno is None:  # socket.timeout
        print("TIMEOUT %s" % where, flush=True)
        sys.exit(6)
    print("ERRNO %s %s" % (errname(e.errno), where), flush=True)
    sys.exit(status)


def target(host, port, family):
    if family == socket.AF_INET6 and ":" not in host:
        return ("::ffff:" + host, port)
    return (host, port)


def sock_for(host, args):
    if args.family == "inet6" or (args.family is None and ":" in host):
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        if args.v6only:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        return s, socket.AF_INET6
    return socket.socket(socket.AF_INET, socket.SOCK_DGRAM), socket.AF_INET


def exchange(s, data, dest, args, where="sendto"):
    """Sends data to dest, returns (answer, source); exits on errors."""
    try:
        if args.sendmsg:
            s.sendmsg([data], [], 0, dest)
        else:
            s.sendto(data, dest)
    except OSError as e:
        die_errno(e, where, 3)
    try:
        if args.sendmsg:
            got, _anc, flags, src = s.recvmsg(65536)
        else:
            got, src = s.recvfrom(65536)
    except OSError as e:
        die_errno(e, "recvfrom", 5)
    return got, src


def libc_connect_unspec(fd):
    """connect(fd, {AF_UNSPEC}) through libc's symbol (so an LD_PRELOAD hook sees it)."""
    libc = ctypes.CDLL(None, use_errno=True)
    sa = (ctypes.c_ubyte * 16)()   # sa_family = AF_UNSPEC (0)
    rc = libc.connect(fd, ctypes.byref(sa), ctypes.c_uint(16))
    return 0 if rc == 0 else ctypes.get_errno()


def mode_echo(args, host, port, text="hello over udp"):
    s, fam = sock_for(host, args)
    s.settimeout(args.timeout)
    dest = target(host, int(port), fam)
    got, src = exchange(s, text.encode(), dest, args)
    print("FROM %s" % show(src))
    print("ECHO %s" % got.decode(errors="replace"), flush=True)
    if src[:2] != dest or got != text.encode():
        sys.exit(4)


def mode_whoami(args, host, port):
    s, fam = sock_for(host, args)
    s.settimeout(args.timeout)
    dest = target(host, int(port), fam)
    got, src = exchange(s, b"WHOAMI", dest, args)
    print("FROM %s" % show(src))
    text = got.decode(errors="replace")
    if not text.startswith("YOU ARE "):
        print("ECHO %s" % text)
        sys.exit(4)
    print("SEEN %s" % text[len("YOU ARE "):], flush=True)
    sys.exit(0 if src[:2] == dest else 4)


def step(where, fn):
    try:
        v = fn()
        print("RESULT %s ok" % where, flush=True)
        return v
    except OSError as e:
        print("RESULT %s %s" % (where, "timeout" if e.errno is None else errname(e.errno)), flush=True)
        return None


def mode_connected(args, host, port):
    s, fam = sock_for(host, args)
    s.settimeout(args.timeout)
    dest = target(host, int(port), fam)
    try:
        s.connect(dest)
    except OSError as e:
        die_errno(e, "connect", 3)
    print("PEER %s" % show(s.getpeername()))
    try:
        s.send(b"connected one")
        got = s.recv(65536)
    except OSError as e:
        die_errno(e, "send/recv", 5)
    print("ECHO %s" % got.decode(errors="replace"))
    try:
        s.send(b"connected two")
        got2, src = s.recvfrom(65536)
    except OSError as e:
        die_errno(e, "send/recvfrom", 5)
    print("FROM %s" % show(src))
    print("ECHO %s" % got2.decode(errors="replace"), flush=True)
    bad = got != b"connected one" or got2 != b"connected two" or src[:2] != dest or s.getpeername()[:2] != dest
    err = libc_connect_unspec(s.fileno())
    print("RESULT connect-unspec %s" % ("ok" if err == 0 else errname(err)))
    step("send-after-unspec", lambda: s.send(b"nowhere"))
    step("getpeername-after-unspec", s.getpeername)

    def again():
        s.sendto(b"after unspec", dest)
        got3, src3 = s.recvfrom(65536)
        if got3 != b"after unspec" or src3[:2] != dest:
            raise OSError(errno.EBADMSG, "wrong answer %r from %r" % (got3, src3))
    step("sendto-after-unspec", again)
    sys.exit(4 if bad else 0)


def mode_name(args, name, port):
    fam = socket.AF_INET6 if args.family == "inet6" else socket.AF_INET
    try:
        ai = socket.getaddrinfo(name, int(port), fam, socket.SOCK_DGRAM)
    except socket.gaierror as e:
        print("GAIERROR %s" % e, flush=True)
        sys.exit(7)
    family, kind, proto, _, addr = ai[0]
    print("ADDR %s" % addr[0], flush=True)
    s = socket.socket(family, kind, proto)
    if args.v6only and family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.settimeout(args.timeout)
    got, src = exchange(s, b"hello by name", addr, args)
    print("FROM %s" % show(src))
    print("ECHO %s" % got.decode(errors="replace"), flush=True)
    ok = src[:2] == addr[:2] and got == b"hello by name"
    try:
        s.connect(addr)
        print("PEER %s" % show(s.getpeername()))
        s.send(b"connected by name")
        got2 = s.recv(65536)
    except OSError as e:
        die_errno(e, "connect/send/recv by name", 5)
    print("ECHO2 %s" % got2.decode(errors="replace"), flush=True)
    sys.exit(0 if ok and got2 == b"connected by name" and s.getpeername()[:2] == addr[:2] else 4)


def mode_fail(args, host, port):
    s, fam = sock_for(host, args)
    s.settimeout(args.timeout)
    dest = target(host, int(port), fam)
    for where in ("sendto", "sendto2"):
        try:
            s.sendto(b"should not go out", dest)
            print("SENT %s" % where, flush=True)
        except OSError as e:
            print("ERRNO %s %s" % (errname(e.errno), where), flush=True)
    sys.exit(3)


def mode_control_close(args, host, port):
    s, fam = sock_for(host, args)
    s.settimeout(args.timeout)
    dest = target(host, int(port), fam)
    got, src = exchange(s, b"first", dest, args)
    print("FROM %s" % show(src))
    print("ECHO %s" % got.decode(errors="replace"), flush=True)
    s.settimeout(0.25)
    for attempt in range(1, 41):
        try:
            s.sendto(b"again", dest)
        except OSError as e:
            print("ATTEMPTS %d" % attempt)
            print("ERRNO %s sendto2" % errname(e.errno), flush=True)
            sys.exit(5)
        try:
            s.recvfrom(65536)
            print("RESULT recv-after-close answered", flush=True)
        except OSError as e:
            if e.errno is not None:
                print("RESULT recv-after-close %s" % errname(e.errno), flush=True)
    print("ATTEMPTS %d" % attempt)
    print("TIMEOUT sendto never failed", flush=True)
    sys.exit(6)


MODES = {"echo": mode_echo, "whoami": mode_whoami, "connected": mode_connected, "name": mode_name,
         "fail": mode_fail, "control-close": mode_control_close}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--family", choices=["inet", "inet6"])
    ap.add_argument("--v6only", action="store_true")
    ap.add_argument("--sendmsg", action="store_true")
    ap.add_argument("--timeout", type=float, default=5.0)
    ap.add_argument("mode", choices=sorted(MODES))
    ap.add_argument("args", nargs="*")
    a = ap.parse_args()
    MODES[a.mode](a, *a.args)


if __name__ == "__main__":
    main()
