#!/usr/bin/python3
"""An asyncio (epoll) client for the socksify integration tests (stdlib only).

usage: asyncio_client.py [--count N] [--budget SECONDS] HOST PORT

Opens N connections to the echo server HOST:PORT (a literal address) at once with
asyncio.open_connection(), sends each its own payload and checks that exactly that comes back.
Output lines (stdout):
  DONE <n> WALL <seconds>     all n connections echoed; WALL is from the first connect to the last echo
  ERRNO <NAME> <where>        a connection failed with an errno (where: connect or io)
  BAD <i> <what>              connection i echoed something else
  TIMEOUT <k> of <n> done after <seconds>   the budget ran out
Exit status: 0 all echoed; 3 a connect failed (ERRNO printed); 4 wrong echo; 5 error after
connecting; 6 the budget ran out; 2 usage.

The budget is checked before each connect too: while connect() blocks (socksify without its
non-blocking engine handshakes inside connect()), the loop cannot run, so the coroutines give up
on their own instead of running N handshakes one after the other to the end.
"""
import argparse
import asyncio
import errno
import os
import sys
import time


def errname(e):
    return errno.errorcode.get(e, "E%d" % e) if e else "none"


class Failed(Exception):
    def __init__(self, status, line):
        super().__init__(line)
        self.status, self.line = status, line


async def one(i, host, port, deadline):
    if time.monotonic() > deadline:
        raise Failed(6, None)
    payload = ("conn %d pid %d %s\n" % (i, os.getpid(), os.urandom(6).hex())).encode()
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError as e:
        raise Failed(3, "ERRNO %s connect (%s)" % (errname(e.errno), e)) from e
    try:
        writer.write(payload)
        await writer.drain()
        got = await reader.readexactly(len(payload))
    except asyncio.IncompleteReadError as e:
        raise Failed(4, "BAD %d short echo %r" % (i, e.partial)) from e
    except OSError as e:
        raise Failed(5, "ERRNO %s io (%s)" % (errname(e.errno), e)) from e
    finally:
        writer.close()
    if got != payload:
        raise Failed(4, "BAD %d echo %r, sent %r" % (i, got, payload))


async def main_async(args):
    start = time.monotonic()
    deadline = start + args.budget
    tasks = [asyncio.ensure_future(one(i, args.host, args.port, deadline)) for i in range(args.count)]
    done, pending = await asyncio.wait(tasks, timeout=max(0.0, deadline - time.monotonic()),
                                       return_when=asyncio.FIRST_EXCEPTION)
    wall = time.monotonic() - start
    for t in pending:
        t.cancel()
    ok = 0
    first = None
    for t in done:
        e = t.exception()
        if e is None:
            ok += 1
        elif first is None or (isinstance(e, Failed) and e.line and not (isinstance(first, Failed) and first.line)):
            first = e
    if first is not None and not (isinstance(first, Failed) and first.status == 6):
        if isinstance(first, Failed):
            print(first.line, flush=True)
            return first.status
        print("ERROR %r" % first, flush=True)
        return 5
    if ok < args.count:
        print("TIMEOUT %d of %d done after %.3f" % (ok, args.count, wall), flush=True)
        return 6
    print("DONE %d WALL %.3f" % (ok, wall), flush=True)
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--budget", type=float, default=10.0)
    args = ap.parse_args()
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
