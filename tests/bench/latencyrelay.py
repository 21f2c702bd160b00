"""latencyrelay: a TCP relay that adds a fixed delay in each direction, to stand for a slow link
between a client and its proxy (the test machines have no netem).

    python3 latencyrelay.py PORT_FILE UPSTREAM_PORT [--delay SECONDS]

Listens on 127.0.0.1 (port written to PORT_FILE), connects each client to 127.0.0.1:UPSTREAM_PORT,
and forwards every chunk after DELAY seconds (default 0.02), keeping the order: a round trip
through it costs 2 x DELAY more. The TCP connect itself is answered at once by this relay, but
is only forwarded once the upstream connect is made, so it costs one more delay there too."""
import argparse
import asyncio
import os


async def pipe(reader, writer, delay):
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()

    async def sender():
        while True:
            due, data = await queue.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if data is None:
                break
            writer.write(data)
            await writer.drain()
        try:
            writer.write_eof()
        except OSError:
            pass

    task = asyncio.ensure_future(sender())
    try:
        while data := await reader.read(65536):
            queue.put_nowait((loop.time() + delay, data))
    except OSError:
        pass
    queue.put_nowait((loop.time() + delay, None))
    await task


async def handle(creader, cwriter, upstream, delay):
    await asyncio.sleep(delay)   # the SYN's way to the proxy
    try:
        ureader, uwriter = await asyncio.open_connection("127.0.0.1", upstream)
    except OSError:
        cwriter.close()
        return
    await asyncio.gather(pipe(creader, uwriter, delay), pipe(ureader, cwriter, delay), return_exceptions=True)
    cwriter.close()
    uwriter.close()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port_file")
    ap.add_argument("upstream", type=int)
    ap.add_argument("--delay", type=float, default=0.02)
    a = ap.parse_args()
    server = await asyncio.start_server(lambda r, w: handle(r, w, a.upstream, a.delay), "127.0.0.1", 0, backlog=1024)
    with open(a.port_file + ".tmp", "w") as f:
        f.write("%d\n" % server.sockets[0].getsockname()[1])
    os.rename(a.port_file + ".tmp", a.port_file)
    await server.serve_forever()


asyncio.run(main())
