#!/usr/bin/python3
"""asyncio datagram endpoints for the socksify integration tests (stdlib only).

usage: udp_asyncio.py [--budget SECONDS] MODE HOST PORT [N]

Against udpecho.py at HOST:PORT (HOST a literal address, or a name in mode name). Every round
trip waits up to 0.5 s for its answer and sends again (at most 6 tries; RESENT counts the extra
sends). Modes:
  connected HOST PORT   loop.create_datagram_endpoint(remote_addr=(HOST, PORT)): the transport's
                        peername, sendto(data) without an address (WHOAMI, then a text), the
                        answers' addresses (datagram_received's addr)
  sendto HOST PORT      create_datagram_endpoint(family=...) without remote_addr:
                        transport.sendto(data, (HOST, PORT)) (WHOAMI, then a text)
  many HOST PORT N      N endpoints at once (gather; even ones connected, odd ones not), each
                        a WHOAMI and a text of its own
  name NAME PORT        remote_addr=(NAME, PORT) (loop.getaddrinfo, in asyncio's executor
                        thread): peername, the answers' address; then an unconnected endpoint
                        whose transport.sendto(data, (NAME, PORT)) lets socket.sendto resolve
                        NAME; ADDR is socket.getaddrinfo(NAME, PORT, AF_INET, SOCK_DGRAM)
Output lines (stdout):
  ADDR <addr>                 name: what getaddrinfo gave in this process
  PEER <addr> <port>          the connected transport's peername
  SEEN <i> <addr> <port>      what udpecho.py saw (WHOAMI) for endpoint i (0 unless mode many)
  FROM <i> <addr> <port>      the address datagram_received got for endpoint i's text
  ECHO <i> <text>             endpoint i's text came back
  BAD <what>                  a wrong answer or address
  ERRNO <NAME> <where>        an OSError
  RESENT <n>                  retransmissions in all
  STRAY <data> from <addr>    a datagram that answered nothing pending (a late duplicate)
  STRAYS <n>                  how many
  DONE <n> WALL <seconds>     every endpoint finished
  TIMEOUT <what>
Exit status: 0 ok; 3 an OSError; 4 a wrong answer; 6 timeout.
"""
import argparse
import asyncio
import errno
import socket
import sys
import time

RESENT = 0
STRAY = 0
BAD = []


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def bad(what):
    BAD.append(what)
    say("BAD %s" % what)


class Proto(asyncio.DatagramProtocol):
    def __init__(self):
        self.queue = asyncio.Queue()

    def datagram_received(self, data, addr):
        self.queue.put_nowait((data, addr))

    def error_received(self, exc):
        self.queue.put_nowait((exc, None))


async def round_trip(transport, proto, data, addr=None, tries=6, wait=0.5):
    """Sends data (to addr, or the connected peer) until its answer comes (an answer to WHOAMI
    starts with "YOU ARE ", any other is data itself); returns (answer, source). Other datagrams
    (late answers to an earlier try) are skipped and counted as STRAY."""
    global RESENT, STRAY
    loop = asyncio.get_running_loop()
    for attempt in range(tries):
        if attempt:
            RESENT += 1
        if addr is None:
            transport.sendto(data)
        else:
            transport.sendto(data, addr)
        deadline = loop.time() + wait
        while True:
            try:
                got, src = await asyncio.wait_for(proto.queue.get(), max(0.0, deadline - loop.time()))
            except asyncio.TimeoutError:
                break
            if isinstance(got, Exception):
                raise got
            if (got.startswith(b"YOU ARE ") if data == b"WHOAMI" else got == data):
                return got, src
            STRAY += 1
            say("STRAY %r from %r" % (got[:60], src))
    raise asyncio.TimeoutError("no answer to %r after %d tries" % (data[:40], tries))


def plain(addr):
    return (addr[0], addr[1])


async def exchange(i, transport, proto, dest, expect_from, text):
    """WHOAMI, then text; checks both answers' source (expect_from)."""
    got, src = await round_trip(transport, proto, b"WHOAMI", dest)
    if not got.startswith(b"YOU ARE "):
        bad("endpoint %d: WHOAMI answered %r" % (i, got[:60]))
    else:
        say("SEEN %d %s" % (i, got[len(b"YOU ARE "):].decode()))
    if plain(src) != expect_from:
        bad("endpoint %d: WHOAMI's answer came from %r, expected %r" % (i, src, expect_from))
    got, src = await round_trip(transport, proto, text.encode(), dest)
    say("FROM %d %s %d" % (i, src[0], src[1]))
    say("ECHO %d %s" % (i, got.decode(errors="replace")))
    if got != text.encode():
        bad("endpoint %d: echo %r, expected %r" % (i, got[:60], text))
    if plain(src) != expect_from:
        bad("endpoint %d: the echo came from %r, expected %r" % (i, src, expect_from))


def family_of(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


async def one(i, host, port, connected):
    loop = asyncio.get_running_loop()
    if connected:
        transport, proto = await loop.create_datagram_endpoint(Proto, remote_addr=(host, port))
        peer = plain(transport.get_extra_info("peername"))
        if i == 0:
            say("PEER %s %d" % peer)
        if peer != (host, port):
            bad("endpoint %d: peername %r, expected %r" % (i, peer, (host, port)))
        dest = None
    else:
        transport, proto = await loop.create_datagram_endpoint(Proto, family=family_of(host))
        dest = (host, port)
    try:
        await exchange(i, transport, proto, dest, (host, port),
                       "asyncio endpoint %d %s" % (i, "connected" if connected else "sendto"))
    finally:
        transport.close()


async def mode_many(host, port, n):
    t0 = time.monotonic()
    await asyncio.gather(*(one(i, host, port, i % 2 == 0) for i in range(n)))
    say("DONE %d WALL %.3f" % (n, time.monotonic() - t0))


async def mode_name(name, port):
    loop = asyncio.get_running_loop()
    addr = socket.getaddrinfo(name, port, socket.AF_INET, socket.SOCK_DGRAM)[0][4]
    say("ADDR %s" % addr[0])
    # Connected: asyncio resolves remote_addr with loop.getaddrinfo (executor thread), then connect().
    transport, proto = await loop.create_datagram_endpoint(Proto, remote_addr=(name, port), family=socket.AF_INET)
    peer = plain(transport.get_extra_info("peername"))
    say("PEER %s %d" % peer)
    if peer != plain(addr):
        bad("peername %r, expected the fake address %r" % (peer, addr))
    try:
        await exchange(0, transport, proto, None, plain(addr), "asyncio by name connected")
    finally:
        transport.close()
    # Unconnected: transport.sendto(data, (NAME, PORT)) -> socket.sendto resolves NAME itself.
    transport, proto = await loop.create_datagram_endpoint(Proto, family=socket.AF_INET)
    try:
        await exchange(1, transport, proto, (name, port), plain(addr), "asyncio by name sendto")
    finally:
        transport.close()
    say("DONE 2 WALL 0")


async def main_async(a):
    port = int(a.port)
    if a.mode == "connected":
        await one(0, a.host, port, True)
        say("DONE 1 WALL 0")
    elif a.mode == "sendto":
        await one(0, a.host, port, False)
        say("DONE 1 WALL 0")
    elif a.mode == "many":
        await mode_many(a.host, port, int(a.n))
    elif a.mode == "name":
        await mode_name(a.host, port)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--budget", type=float, default=10.0)
    ap.add_argument("mode", choices=["connected", "sendto", "many", "name"])
    ap.add_argument("host")
    ap.add_argument("port")
    ap.add_argument("n", nargs="?", default="20")
    a = ap.parse_args()
    status = 0
    try:
        asyncio.run(asyncio.wait_for(main_async(a), a.budget))
    except asyncio.TimeoutError as e:
        say("TIMEOUT %s" % (e or "budget"))
        status = 6
    except OSError as e:
        say("ERRNO %s %s" % (errno.errorcode.get(e.errno, "E%s" % e.errno), e))
        status = 3
    say("RESENT %d" % RESENT)
    say("STRAYS %d" % STRAY)
    sys.exit(status or (4 if BAD else 0))


if __name__ == "__main__":
    main()
