"""delayproxy: a small asyncio SOCKS5 proxy for the event-loop benchmark (tests/bench/eventloop.sh).

It waits DELAY seconds after it has read a CONNECT request and before it connects upstream, so
a client that runs its proxy handshakes one after another pays N x DELAY, while one that runs
them concurrently pays about one DELAY. No authentication (method 0 only), CONNECT only, IPv4
addresses and domain names (resolved here, IPv4 only); anything else gets the proper SOCKS5
error reply. It serves as many clients at once as the file descriptor limit allows (the listen
backlog is 1024).

    python3 delayproxy.py PORT_FILE [--delay SECONDS] [--source ADDR] [--host ADDR]

PORT_FILE  the port it listens on is written there (atomically) once it listens.
--delay    seconds to wait before connecting upstream (default 0.1; 0 = no wait).
--source   local address for the upstream connections (e.g. 127.0.0.3, so the target can tell
           connections that came through this proxy from direct ones).
--host     address to listen on (default 127.0.0.1; the port is picked by the kernel).

Counters. A connection whose first line is "stats" (not a SOCKS5 greeting, which starts with
byte 5) gets one line back and is closed:

    connects=C failed=F rejected=R peak_waiting=P peak_active=A

connects   CONNECTs that reached their target (reply 0 sent), since start
failed     CONNECTs whose upstream connect failed (error reply sent), since start
rejected   greetings or requests refused (bad version, no method 0, not CONNECT, IPv6), since start
peak_waiting  the most clients that were in the DELAY wait at the same time since the previous
           "stats" query (reset by each query): 1 means the client's handshakes did not overlap
peak_active   the most SOCKS sessions open at once since the previous query (reset likewise)

Each query is also logged on stderr, and the totals are logged when the proxy exits (SIGTERM or
SIGINT).
"""
import argparse
import asyncio
import errno
import os
import resource
import signal
import socket
import struct
import sys

IO_TIMEOUT = 30.0        # reading a greeting/request; a stalled client is dropped
CONNECT_TIMEOUT = 10.0   # the upstream connect


class Counters:
    def __init__(self):
        self.connects = 0
        self.failed = 0
        self.rejected = 0
        self.waiting = 0
        self.active = 0
        self.peak_waiting = 0
        self.peak_active = 0

    def line(self):
        return (f"connects={self.connects} failed={self.failed} rejected={self.rejected} "
                f"peak_waiting={self.peak_waiting} peak_active={self.peak_active}")


C = Counters()


def log(msg):
    print(f"delayproxy[{os.getpid()}]: {msg}", file=sys.stderr, flush=True)


def reply(code, addr="0.0.0.0", port=0):
    try:
        packed = socket.inet_aton(addr)
    except OSError:
        packed = bytes(4)
    return b"\x05" + bytes([code, 0, 1]) + packed + struct.pack(">H", port)


def errno_to_rep(e):
    if isinstance(e, (asyncio.TimeoutError, TimeoutError)):
        return 4  # host unreachable (TTL/timeout)
    code = getattr(e, "errno", None)
    return {
        errno.ECONNREFUSED: 5,
        errno.ENETUNREACH: 3,
        errno.EHOSTUNREACH: 4,
        errno.ETIMEDOUT: 4,
        errno.EACCES: 2,
    }.get(code, 1)


async def pump(src, dst):
    try:
        while True:
            data = await src.read(65536)
            if not data:
                break
            dst.write(data)
            await dst.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        try:
            if dst.can_write_eof() and not dst.is_closing():
                dst.write_eof()
        except (OSError, RuntimeError):
            pass


async def close(w):
    try:
        w.close()
        await w.wait_closed()
    except (ConnectionError, OSError):
        pass


async def session(reader, writer, args):
    first = await asyncio.wait_for(reader.readexactly(1), IO_TIMEOUT)
    if first == b"s":
        rest = await asyncio.wait_for(reader.readline(), IO_TIMEOUT)
        if first + rest.rstrip(b"\r\n") == b"stats":
            line = C.line()
            log("stats: " + line)
            C.peak_waiting = C.waiting
            C.peak_active = C.active
            writer.write(line.encode() + b"\n")
            await writer.drain()
        return
    if first != b"\x05":
        C.rejected += 1
        return
    C.active += 1
    C.peak_active = max(C.peak_active, C.active)
    try:
        await socks5(reader, writer, args)
    finally:
        C.active -= 1


async def socks5(reader, writer, args):
    (nmethods,) = await asyncio.wait_for(reader.readexactly(1), IO_TIMEOUT)
    methods = await asyncio.wait_for(reader.readexactly(nmethods), IO_TIMEOUT)
    if 0 not in methods:
        C.rejected += 1
        writer.write(b"\x05\xff")
        await writer.drain()
        return
    writer.write(b"\x05\x00")
    await writer.drain()
    ver, cmd, _rsv, atyp = await asyncio.wait_for(reader.readexactly(4), IO_TIMEOUT)
    if atyp == 1:
        host = socket.inet_ntoa(await asyncio.wait_for(reader.readexactly(4), IO_TIMEOUT))
    elif atyp == 3:
        (n,) = await asyncio.wait_for(reader.readexactly(1), IO_TIMEOUT)
        host = (await asyncio.wait_for(reader.readexactly(n), IO_TIMEOUT)).decode("ascii", "replace")
    elif atyp == 4:
        await asyncio.wait_for(reader.readexactly(16), IO_TIMEOUT)
        host = None
    else:
        host = None
    if atyp in (1, 3, 4):
        (port,) = struct.unpack(">H", await asyncio.wait_for(reader.readexactly(2), IO_TIMEOUT))
    if ver != 5 or host is None or cmd != 1:
        C.rejected += 1
        code = 1 if ver != 5 else 8 if host is None else 7  # general / atyp / command not supported
        writer.write(reply(code))
        await writer.drain()
        return

    C.waiting += 1
    C.peak_waiting = max(C.peak_waiting, C.waiting)
    try:
        if args.delay > 0:
            await asyncio.sleep(args.delay)
    finally:
        C.waiting -= 1

    try:
        up_r, up_w = await asyncio.wait_for(
            asyncio.open_connection(host, port, family=socket.AF_INET,
                                    local_addr=(args.source, 0) if args.source else None),
            CONNECT_TIMEOUT)
    except (OSError, asyncio.TimeoutError) as e:
        C.failed += 1
        writer.write(reply(errno_to_rep(e)))
        await writer.drain()
        return
    bound = up_w.get_extra_info("sockname") or ("0.0.0.0", 0)
    C.connects += 1
    try:
        writer.write(reply(0, bound[0], bound[1]))
        await writer.drain()
        await asyncio.gather(pump(reader, up_w), pump(up_r, writer))
    finally:
        await close(up_w)


async def main():
    p = argparse.ArgumentParser(description="SOCKS5 proxy that waits before connecting upstream")
    p.add_argument("port_file")
    p.add_argument("--delay", type=float, default=0.1)
    p.add_argument("--source", default=None)
    p.add_argument("--host", default="127.0.0.1")
    args = p.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:  # two descriptors per client: let it serve as many as the system allows
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    async def handle(reader, writer):
        try:
            await session(reader, writer, args)
        except (asyncio.IncompleteReadError, asyncio.TimeoutError, ConnectionError, OSError):
            pass
        finally:
            await close(writer)

    server = await asyncio.start_server(handle, args.host, 0, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    with open(args.port_file + ".tmp", "w") as f:
        f.write(f"{port}\n")
    os.rename(args.port_file + ".tmp", args.port_file)
    log(f"listening on {args.host}:{port}, delay {args.delay} s, upstream from {args.source or 'any'}")

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()
    log("exiting: " + C.line())


if __name__ == "__main__":
    asyncio.run(main())
