"""asyncio_conns: N concurrent connections from one asyncio event loop, for tests/bench/eventloop.sh.

    python3 asyncio_conns.py HOST PORT N [--timeout SECONDS]

Starts N tasks at once; each opens a TCP connection to HOST:PORT (asyncio.open_connection, so
the socket is non-blocking and connect() is expected to return EINPROGRESS), sends one line,
reads the echoed line and checks it, reads the server's EOF and closes. The target must echo
one line and then close (tests/bench/echoserver.py). Run under socksify or proxychains, each
connect goes through the proxy; a preload library that runs the proxy handshake inside
connect() serialises the N connections, one that runs it in the background does not.

Output (stdout), one line:  asyncio-conns n=N ok=N elapsed=SECONDS
elapsed is the wall time from just before the first connection is started to the moment the
last one has finished (interpreter start-up is not included).
Exit status 0 if all N connections succeeded, 1 on any failure or on the timeout (default 120 s,
for the whole run; the first few errors go to stderr), 2 on usage.
"""
import argparse
import asyncio
import sys
import time


async def one(i, host, port):
    reader, writer = await asyncio.open_connection(host, port)
    try:
        msg = f"conn-{i}\n".encode()
        writer.write(msg)
        await writer.drain()
        line = await reader.readline()
        if line != msg:
            raise RuntimeError(f"connection {i}: expected {msg!r}, got {line!r}")
        rest = await reader.read()
        if rest:
            raise RuntimeError(f"connection {i}: unexpected data after the echo: {rest[:40]!r}")
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except (ConnectionError, OSError):
            pass


async def run(host, port, n, timeout):
    done = 0

    async def counted(i):
        nonlocal done
        await one(i, host, port)
        done += 1

    start = time.monotonic()
    tasks = [asyncio.ensure_future(counted(i)) for i in range(n)]
    try:
        results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout)
    except asyncio.TimeoutError:
        elapsed = time.monotonic() - start
        print(f"asyncio_conns: timeout after {elapsed:.1f} s: {done} of {n} connections done",
              file=sys.stderr)
        return 1
    elapsed = time.monotonic() - start
    errors = [r for r in results if isinstance(r, BaseException)]
    for e in errors[:5]:
        print(f"asyncio_conns: {type(e).__name__}: {e}", file=sys.stderr)
    if len(errors) > 5:
        print(f"asyncio_conns: ... and {len(errors) - 5} more errors", file=sys.stderr)
    print(f"asyncio-conns n={n} ok={n - len(errors)} elapsed={elapsed:.4f}", flush=True)
    return 1 if errors else 0


def main():
    p = argparse.ArgumentParser(description="N concurrent asyncio echo connections")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("n", type=int)
    p.add_argument("--timeout", type=float, default=120.0, help="for the whole run (s)")
    try:
        args = p.parse_args()
    except SystemExit:
        sys.exit(2)
    if args.n < 1 or not 0 < args.port < 65536 or args.timeout <= 0:
        print("asyncio_conns: N must be >= 1, PORT in 1..65535, --timeout > 0", file=sys.stderr)
        sys.exit(2)
    sys.exit(asyncio.run(run(args.host, args.port, args.n, args.timeout)))


if __name__ == "__main__":
    main()
