#!/usr/bin/python3
"""A selectors client for the socksify integration tests: non-blocking sockets by hand (stdlib only).

usage: selectors_client.py [--count N] [--selector select|poll|epoll] [--budget SECONDS] HOST PORT

Makes N non-blocking sockets, calls connect() on each (expecting -1/EINPROGRESS, or 0), waits with
the chosen selector (select(), poll() or epoll) until each is writable, reads SO_ERROR, then sends
each its own payload and checks that exactly that comes back from the echo server HOST:PORT.
Output lines (stdout):
  CONNECT inprogress=<k> immediate=<m>  how the N connect() calls returned
  DONE <n> WALL <seconds>               all n echoed; WALL is from the first connect to the last echo
  ERRNO <NAME> <where>                  connect, so_error (writable with SO_ERROR set), or io
  BAD <i> <what>                        connection i echoed something else
  TIMEOUT <k> of <n> done after <seconds>
Exit status: 0 all echoed; 3 a connect failed (ERRNO printed); 4 wrong echo; 5 error after
connecting; 6 the budget ran out; 2 usage.

The budget is also checked between connect() calls, so a socksify that handshakes inside
connect() does not make the client run N handshakes one after the other to the end.
"""
import argparse
import errno
import os
import selectors
import socket
import sys
import time

SELECTORS = {"select": selectors.SelectSelector, "poll": selectors.PollSelector, "epoll": selectors.EpollSelector}


def errname(e):
    return errno.errorcode.get(e, "E%d" % e) if e else "none"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--selector", choices=sorted(SELECTORS), default="select")
    ap.add_argument("--budget", type=float, default=10.0)
    args = ap.parse_args()

    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sel = SELECTORS[args.selector]()
    start = time.monotonic()
    deadline = start + args.budget
    inprogress = immediate = 0
    state = {}   # sock -> [i, payload, phase ("connect" | "echo"), received]
    for i in range(args.count):
        if time.monotonic() > deadline:
            print("CONNECT inprogress=%d immediate=%d" % (inprogress, immediate), flush=True)
            print("TIMEOUT 0 of %d done after %.3f (%d connect() calls made)" % (
                args.count, time.monotonic() - start, i), flush=True)
            return 6
        s = socket.socket(family, socket.SOCK_STREAM)
        s.setblocking(False)
        payload = ("conn %d pid %d %s\n" % (i, os.getpid(), os.urandom(6).hex())).encode()
        rc = s.connect_ex((args.host, args.port))
        if rc == errno.EINPROGRESS:
            inprogress += 1
            state[s] = [i, payload, "connect", b""]
            sel.register(s, selectors.EVENT_WRITE)
        elif rc == 0:
            immediate += 1
            state[s] = [i, payload, "echo", b""]
            s.send(payload)   # a few bytes into an empty send buffer
            sel.register(s, selectors.EVENT_READ)
        else:
            print("CONNECT inprogress=%d immediate=%d" % (inprogress, immediate), flush=True)
            print("ERRNO %s connect" % errname(rc), flush=True)
            return 3
    print("CONNECT inprogress=%d immediate=%d" % (inprogress, immediate), flush=True)

    done = 0
    while done < args.count:
        left = deadline - time.monotonic()
        events = sel.select(left) if left > 0 else []
        if not events:
            print("TIMEOUT %d of %d done after %.3f" % (done, args.count, time.monotonic() - start), flush=True)
            return 6
        for key, _mask in events:
            s = key.fileobj
            st = state[s]
            if st[2] == "connect":
                err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    print("ERRNO %s so_error" % errname(err), flush=True)
                    return 3
                try:
                    s.send(st[1])
                except OSError as e:
                    print("ERRNO %s io (send right after the socket became writable)" % errname(e.errno), flush=True)
                    return 5
                st[2] = "echo"
                sel.modify(s, selectors.EVENT_READ)
                continue
            try:
                chunk = s.recv(65536)
            except BlockingIOError:
                continue
            except OSError as e:
                print("ERRNO %s io" % errname(e.errno), flush=True)
                return 5
            st[3] += chunk
            if not chunk or len(st[3]) >= len(st[1]):
                if st[3] != st[1]:
                    print("BAD %d echo %r, sent %r" % (st[0], st[3], st[1]), flush=True)
                    return 4
                sel.unregister(s)
                s.close()
                done += 1
    print("DONE %d WALL %.3f" % (done, time.monotonic() - start), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
