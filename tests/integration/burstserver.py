#!/usr/bin/python3
"""Echo and HTTP servers for bursts of hundreds of connections, for the socksify integration
tests (stdlib only).

usage: burstserver.py ECHO_PORT HTTP_PORT WWW_DIR

The harness's servers in T listen with small backlogs (http.server: 5, echoserver.py: 64): a
burst of parallel connections overflows them and the dropped SYNs come back a second later,
which would blur the wall-time bounds of test_eventloops.py. These two listen on [::] (dual
stack) with a backlog of 1024 and a thread per connection: ECHO_PORT echoes every byte back
until the client shuts its side down, HTTP_PORT serves WWW_DIR (the token) over HTTP/1.0.
Prints "ready" once both listen.
"""
import functools
import http.server
import socket
import socketserver
import sys
import threading

BACKLOG = 1024


class DualStack:
    address_family = socket.AF_INET6
    request_queue_size = BACKLOG
    allow_reuse_address = True
    daemon_threads = True

    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


class EchoHandler(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.settimeout(30)
        try:
            while True:
                data = self.request.recv(65536)
                if not data:
                    break
                self.request.sendall(data)
        except OSError:
            pass


class EchoServer(DualStack, socketserver.ThreadingTCPServer):
    pass


class HTTPServer(DualStack, http.server.ThreadingHTTPServer):
    pass


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    echo_port, http_port, www = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    servers = [EchoServer(("::", echo_port), EchoHandler),
               HTTPServer(("::", http_port), functools.partial(QuietHandler, directory=www))]
    for s in servers:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    print("ready", flush=True)
    threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
