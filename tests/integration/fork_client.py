#!/usr/bin/python3
"""fork() with a proxied connection pending, for the socksify integration tests (stdlib only).

usage: fork_client.py HOST PORT

The parent starts a non-blocking connect() to the echo server HOST:PORT (a literal address),
then forks while it is pending. The child closes its copy of that socket and makes a new
non-blocking connection of its own with asyncio (open_connection, epoll) and checks its echo;
the parent finishes its own connection (select() for writability, SO_ERROR, echo) and waits for
the child. Output lines (stdout): "PARENT CONNECT inprogress|immediate", "CHILD ECHO ok",
"PARENT READY after <s>" (select() said writable), "PARENT ECHO ok", "ERRNO <NAME> <who> <where>", "CHILD STATUS <n>", "SLOW parent close() took <s>"
(close() must not block). Exit status 0 if both
connections worked, 1 otherwise; 6 on a timeout.
"""
import asyncio
import errno
import os
import select
import socket
import sys
import time


def errname(e):
    return errno.errorcode.get(e, "E%d" % e) if e else "none"


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def child_echo(host, port):
    reader, writer = await asyncio.open_connection(host, port)
    payload = ("child pid %d %s\n" % (os.getpid(), os.urandom(4).hex())).encode()
    writer.write(payload)
    await writer.drain()
    got = await reader.readexactly(len(payload))
    writer.close()
    return got == payload


def child(host, port, inherited):
    t = time.monotonic()
    inherited.close()
    t = time.monotonic() - t
    if t > 0.3:
        say("SLOW child close() of the inherited pending socket took %.3fs" % t)
        return 7
    try:
        ok = asyncio.run(asyncio.wait_for(child_echo(host, port), 8))
    except OSError as e:
        say("ERRNO %s child connect (%s)" % (errname(e.errno), e))
        return 3
    except (asyncio.TimeoutError, asyncio.IncompleteReadError) as e:
        say("CHILD FAILED %r" % e)
        return 6
    say("CHILD ECHO %s" % ("ok" if ok else "wrong"))
    return 0 if ok else 4


def parent_finish(sock, deadline, started):
    _, w, _ = select.select([], [sock], [], max(0, deadline - time.monotonic()))
    if not w:
        say("TIMEOUT parent connect")
        return False
    say("PARENT READY after %.3fs" % (time.monotonic() - started))
    err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    if err:
        say("ERRNO %s parent so_error" % errname(err))
        return False
    payload = b"parent says hello\n"
    sock.setblocking(True)
    sock.settimeout(max(0.1, deadline - time.monotonic()))
    try:
        sock.sendall(payload)
        got = b""
        while len(got) < len(payload):
            chunk = sock.recv(100)
            if not chunk:
                break
            got += chunk
    except OSError as e:
        say("ERRNO %s parent io" % errname(e.errno))
        return False
    say("PARENT ECHO %s" % ("ok" if got == payload else "wrong %r" % got))
    return got == payload


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    started = time.monotonic()
    deadline = started + 5
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setblocking(False)
    rc = sock.connect_ex((host, port))
    if rc not in (0, errno.EINPROGRESS):
        say("ERRNO %s parent connect" % errname(rc))
        return 1
    say("PARENT CONNECT %s" % ("inprogress" if rc else "immediate"))
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            status = child(host, port, sock)
        finally:
            os._exit(status)
    ok = parent_finish(sock, deadline, started)
    t = time.monotonic()
    sock.close()
    t = time.monotonic() - t
    if t > 0.3:
        say("SLOW parent close() took %.3fs" % t)
        ok = False
    child_deadline = max(deadline, time.monotonic() + 2)
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > child_deadline:
            say("TIMEOUT child still running")
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            return 6
        time.sleep(0.02)
    code = os.waitstatus_to_exitcode(status)
    say("CHILD STATUS %d" % code)
    return 0 if ok and code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
