#!/usr/bin/python3
"""UDP echo server for the socksify integration tests (stdlib only).

usage: udpecho.py PORT
Binds [::]:PORT, dual-stack (IPv4 and IPv6, IPV6_V6ONLY=0), and sends every datagram back to its
sender unchanged, with one exception: the 6-byte datagram "WHOAMI" is answered with
"YOU ARE <addr> <port>" (the source address the server saw), so a client can prove its datagrams
came from the proxy. One line per datagram on stdout (the harness's udpecho.out):
  from <addr> <port> len <n>
with IPv4 sources written as plain dotted quads (not ::ffff:a.b.c.d). Prints "ready" once bound.
"""
import socket
import sys


def plain(addr):
    return addr[len("::ffff:"):] if addr.startswith("::ffff:") and "." in addr else addr


def main():
    port = int(sys.argv[1])
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.bind(("::", port))
    print("ready", flush=True)
    while True:
        data, peer = s.recvfrom(65536)
        addr = plain(peer[0])
        print("from %s %d len %d" % (addr, peer[1], len(data)), flush=True)
        reply = ("YOU ARE %s %d" % (addr, peer[1])).encode() if data == b"WHOAMI" else data
        try:
            s.sendto(reply, peer)
        except OSError as e:
            print("sendto %s %d failed: %s" % (addr, peer[1], e), flush=True)


if __name__ == "__main__":
    sys.exit(main())
