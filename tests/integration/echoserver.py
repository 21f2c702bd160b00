#!/usr/bin/python3
"""TCP echo server for the socksify integration tests (stdlib only).

usage: echoserver.py PORT
Listens on [::]:PORT, dual-stack (IPv4 and IPv6), and echoes every byte back until the client
shuts its side down; then closes. Prints "ready" once listening.
"""
import socket
import sys
import threading


def handle(conn):
    conn.settimeout(30)
    try:
        while True:
            data = conn.recv(65536)
            if not data:
                break
            conn.sendall(data)
    except OSError:
        pass
    finally:
        conn.close()


def main():
    port = int(sys.argv[1])
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    try:
        # Accept TCP Fast Open too, so clients that do TFO end to end are served either way.
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_FASTOPEN, 16)
    except (OSError, AttributeError):
        pass
    s.bind(("::", port))
    s.listen(64)
    print("ready", flush=True)
    while True:
        conn, _ = s.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
