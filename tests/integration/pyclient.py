#!/usr/bin/python3
"""A TCP client for the socksify integration tests (stdlib only).

usage: pyclient.py [--nonblock | --fastopen] [--signals | --signals-restart] [--data TEXT] [--timeout SECONDS] HOST PORT

Connects to HOST:PORT (a literal IPv4 or IPv6 address), prints the peer address, sends TEXT,
reads the echo and prints it. Output lines (stdout):
  CONNECT immediate|inprogress|fastopen   how the connection was made
  PEER <host> <port>                      getpeername() after connecting
  ECHO <text>                             what came back
  ERRNO <NAME> <where>                    on a socket error (e.g. ERRNO ECONNREFUSED connect)
  SIGNALS <n>                             with --signals: SIGALRMs delivered during connect()
Exit status: 0 ok; 3 connect failed (ERRNO printed); 4 echo mismatch or short;
5 error after connecting (ERRNO printed); 6 timeout waiting in the client itself; 2 usage.
"""
import argparse
import errno
import os
import select
import signal
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


wakeup_pipe = None


def start_signal_storm(restart):
    # Python runs its handlers only between bytecodes, so they cannot count signals that hit a
    # C call; the wakeup fd gets one byte per delivery, even inside connect().
    global wakeup_pipe
    wakeup_pipe = os.pipe()
    os.set_blocking(wakeup_pipe[1], False)
    signal.signal(signal.SIGALRM, lambda signum, frame: None)
    signal.siginterrupt(signal.SIGALRM, not restart)   # restart=True: SA_RESTART
    signal.set_wakeup_fd(wakeup_pipe[1], warn_on_full_buffer=False)
    signal.setitimer(signal.ITIMER_REAL, 0.005, 0.005)


def stop_signal_storm():
    signal.setitimer(signal.ITIMER_REAL, 0, 0)
    signal.set_wakeup_fd(-1)
    os.set_blocking(wakeup_pipe[0], False)
    try:
        return len(os.read(wakeup_pipe[0], 65536))
    except BlockingIOError:
        return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("--data", default="hello from pyclient")
    ap.add_argument("--nonblock", action="store_true")
    ap.add_argument("--fastopen", action="store_true")
    ap.add_argument("--timeout", type=float, default=15.0)
    ap.add_argument("--signals", action="store_true",
                    help="deliver SIGALRM every 5 ms during connect() (SA_RESTART off), to test EINTR")
    ap.add_argument("--signals-restart", action="store_true", help="the same with SA_RESTART on")
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
        if args.signals or args.signals_restart:
            start_signal_storm(args.signals_restart)
        try:
            sock.connect(addr)
        except OSError as e:
            # Python's own timeout is a TimeoutError without errno; ETIMEDOUT from connect() has one.
            if e.errno is None:
                print("TIMEOUT client-side connect", flush=True)
                sys.exit(6)
            fail_errno(e.errno, "connect", 3)
        if args.signals or args.signals_restart:
            print("SIGNALS %d" % stop_signal_storm(), flush=True)
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
