#!/usr/bin/python3
"""Talks to peers of its own, in this process, over kinds of socket socksify must leave alone:
a UNIX stream socket and UDP on IPv4 and IPv6 loopback. Prints one "OK <kind>" line per kind
that round-tripped, or "FAIL <kind> <error>" and exits 1. Stdlib only."""
import os
import socket
import sys
import tempfile
import threading


def unix_stream():
    path = os.path.join(tempfile.mkdtemp(), "s")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)

    def echo_once():
        conn, _ = server.accept()
        conn.sendall(conn.recv(100))
        conn.close()
    threading.Thread(target=echo_once, daemon=True).start()
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.settimeout(5)
    client.connect(path)
    client.sendall(b"unix")
    return client.recv(100) == b"unix"


def udp(family, host):
    server = socket.socket(family, socket.SOCK_DGRAM)
    server.bind((host, 0))
    server.settimeout(5)
    client = socket.socket(family, socket.SOCK_DGRAM)
    client.settimeout(5)
    client.connect(server.getsockname()[:2])      # connect() on UDP, then sendto() too
    client.send(b"one")
    client.sendto(b"two", server.getsockname()[:2])
    got = {server.recvfrom(100)[0], server.recvfrom(100)[0]}
    return got == {b"one", b"two"}


def main():
    status = 0
    for kind, fn in (("unix", unix_stream), ("udp4", lambda: udp(socket.AF_INET, "127.0.0.1")),
                     ("udp6", lambda: udp(socket.AF_INET6, "::1"))):
        try:
            ok = fn()
            print("OK %s" % kind if ok else "FAIL %s wrong data" % kind, flush=True)
            status |= not ok
        except OSError as e:
            print("FAIL %s %s" % (kind, e), flush=True)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
