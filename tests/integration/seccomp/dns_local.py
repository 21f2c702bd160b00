#!/usr/bin/python3
"""A tiny DNS server for test_seccomp's `dns local` case: on 127.0.0.1:53 (UDP) it answers an A
query for NAME with ADDR, anything else with NXDOMAIN; prints "ready" once bound and logs each
query to stdout. usage: dns_local.py NAME ADDR"""
import socket
import sys

name, addr = sys.argv[1].lower().rstrip("."), socket.inet_aton(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 53))
print("ready", flush=True)
while True:
    q, peer = s.recvfrom(512)
    if len(q) < 17:
        continue
    at, labels = 12, []
    while q[at]:
        labels.append(q[at + 1:at + 1 + q[at]].decode(errors="replace"))
        at += 1 + q[at]
    qtype = int.from_bytes(q[at + 1:at + 3], "big")
    asked = ".".join(labels).lower()
    print("query", asked, qtype, flush=True)
    hit = asked == name and qtype == 1
    head = q[:2] + bytes([0x81 | (q[2] & 0x01), 0x80 | (0 if asked == name else 3)]) + b"\x00\x01" + \
        (b"\x00\x01" if hit else b"\x00\x00") + b"\x00\x00\x00\x00"
    answer = b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04" + addr if hit else b""
    s.sendto(head + q[12:at + 5] + answer, peer)
