"""Echo server of the benchmarks: answers one line with that line, then closes (so TIME_WAIT
lands on the server side, not on the client's ephemeral ports). It counts served connections
per client address; the line "stats" returns the counts. Writes its port to the file argv[1]."""
import asyncio, collections, os, sys

counts = collections.Counter()

class Echo(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
        self.buf = b""

    def data_received(self, data):
        self.buf += data
        if b"\n" not in self.buf:
            return
        if self.buf == b"stats\n":
            reply = " ".join(f"{k}={v}" for k, v in sorted(counts.items())) + "\n"
            self.transport.write(reply.encode())
        else:
            counts[self.transport.get_extra_info("peername")[0]] += 1
            self.transport.write(self.buf)
        self.transport.close()

    def eof_received(self):
        return False

async def main(port_file):
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Echo, "127.0.0.1", 0, backlog=1024)
    with open(port_file + ".tmp", "w") as f:
        f.write(f"{server.sockets[0].getsockname()[1]}\n")
    os.rename(port_file + ".tmp", port_file)
    await server.serve_forever()

asyncio.run(main(sys.argv[1]))
