#!/usr/bin/python3
"""A TCP client for the socksify integration tests (stdlib only).

usage: pyclient.py [--nonblock | --fastopen] [--data TEXT] [--timeout SECONDS] HOST PORT

Connects to HOST:PORT (a literal IPv4 or IPv6 address), prints the peer address, sends TEXT,
reads the echo and prints it. Output lines (stdout):
  CONNECT immediate|inprogress|fastopen   how the connection was made
  PEER <host> <port>                      getpeername() after connecting
  ECHO <text>                             what came back
  ERRNO <NAME> <where>                    on a socket error (e.g. ERRNO ECONNREFUSED connect)
Exit status: 0 ok; 3 connect failed (ERRNO printed); 4 echo mismatch or short;
5 error after connecting (ERRNO printed); 6 timeout waiting in the client itself; 2 usage.
"""
import argparse
import errno
import select
import socket
import sys
import time


def errname(e):
    return errno.errorcode.get(e, "E%d" % e)


def fail_errno(code, where, status):
    print("ERRNO %s %s" % (errname(code), where), flush=True)
    sys.exit(status)


def wait(sock, readable, deadline):
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        print("TIMEOUT client-side wait", flush=True)
        sys.exit(6)
    r, w, _ = select.select([sock] if readable else [], [] if readable else [sock], [], remaining)
    if not (r or w):
        print("TIMEOUT client-side wait", flush=True)
        sys.exit(6)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("--data", default="hello from pyclient")
    ap.add_argument("--nonblock", action="store_true")
    ap.add_argument("--fastopen", action="store_true")
    ap.add_argument("--timeout", type=float, default=15.0)
    args = ap.parse_args()

    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    addr = (args.host, args.port)
    data = args.data.encode()
    deadline = time.monotonic() + args.timeout
    sock = socket.socket(family, socket.SOCK_STREAM)
    sent = 0

    if args.fastopen:
        try:
            sent = sock.sendto(data, socket.MSG_FASTOPEN, addr)
        except OSError as e:
            fail_errno(e.errno, "sendto", 3)
        print("CONNECT fastopen sent=%d" % sent, flush=True)
        sock.settimeout(max(0.1, deadline - time.monotonic()))
    elif args.nonblock:
        sock.setblocking(False)
        rc = sock.connect_ex(addr)
        if rc == 0:
            print("CONNECT immediate", flush=True)
        elif rc == errno.EINPROGRESS:
            wait(sock, False, deadline)
            err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                fail_errno(err, "so_error", 3)
            print("CONNECT inprogress", flush=True)
        else:
            fail_errno(rc, "connect", 3)
    else:
        sock.settimeout(args.timeout)
        try:
            sock.connect(addr)
        except OSError as e:
            # Python's own timeout is a TimeoutError without errno; ETIMEDOUT from connect() has one.
            if e.errno is None:
                print("TIMEOUT client-side connect", flush=True)
                sys.exit(6)
            fail_errno(e.errno, "connect", 3)
        print("CONNECT immediate", flush=True)

    try:
        peer = sock.getpeername()
    except OSError as e:
        fail_errno(e.errno, "getpeername", 5)
    print("PEER %s %d" % (peer[0], peer[1]), flush=True)

    try:
        while sent < len(data):
            if args.nonblock:
                wait(sock, False, deadline)
            sent += sock.send(data[sent:])
        # No shutdown(SHUT_WR) before reading: some proxies (microsocks) tear the whole
        # connection down on a half-close, racing the echo.
        got = b""
        while len(got) < len(data):
            if args.nonblock:
                wait(sock, True, deadline)
            chunk = sock.recv(65536)
            if not chunk:
                break
            got += chunk
    except OSError as e:
        if e.errno is None:
            print("TIMEOUT client-side recv", flush=True)
            sys.exit(6)
        fail_errno(e.errno, "io", 5)
    print("ECHO %s" % got.decode(errors="replace"), flush=True)
    sock.close()
    return 0 if got == data else 4


if __name__ == "__main__":
    sys.exit(main())
