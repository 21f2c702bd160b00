#!/usr/bin/python3
"""A fault-injecting SOCKS5 server for the socksify integration tests (stdlib only).

usage: fakeproxy.py --host ADDR --log FILE PORT=MODE [PORT=MODE ...]

One listener per PORT=MODE, all served by one process. MODE is one of:
  ok             a working SOCKS5 CONNECT relay (no auth; accepts user/pass if offered)
  rep:N          answers the CONNECT request with reply code N (0x00-0xff) and closes
  badver         answers the CONNECT request with version 4 instead of 5 (malformed)
  badver-method  answers the method selection with version 4 instead of 5 (malformed)
  close-greeting reads the greeting, then closes without a word
  close-request  selects a method, reads the CONNECT request, then closes without a reply
  nomethod       answers the greeting with method 0xFF (no acceptable method)
  silent         reads the greeting and never answers (for handshake timeouts)
  blackhole      a listener whose accept queue is kept full, so new SYNs are dropped
                 (for proxy connect timeouts)
  delay:SECONDS  a working SOCKS5 relay, like ok, that waits SECONDS (e.g. delay:0.1) after the
                 CONNECT request before it connects upstream: serial handshakes are measurably
                 slower than parallel ones. Takes hundreds of clients at once (backlog 1024, one
                 thread each)
  udp            a working SOCKS5 UDP ASSOCIATE relay (CONNECT gets "command not supported"):
                 replies with a relay socket on the listener's address, forwards each datagram
                 from the client's address (RFC 1928 header: IPv4, IPv6 or a name, resolved in P)
                 and returns the answers with the header of their real source; logs one JSON line
                 for the association and one per datagram ("udp": frag, atyp, host, port, len).
                 An answer whose payload is JUNK-FIRST is preceded by datagrams the client must
                 drop: FRAG 1, a bad ATYP, a short header, and one from another port of P; one
                 whose payload is NAMES-FIRST by 50 answers labelled with names nobody asked for
  udp-slow       like udp, but answers UDP ASSOCIATE only after UDP_SLOW_SECONDS (0.3 s): a
                 non-blocking socket's association is then made in the background
  udp-then-close like udp, but closes the TCP control connection as soon as the first answer from
                 the target arrives, before relaying that answer; the relay socket then stays
                 open (dropping everything) for a while, so only the control connection's end
                 can tell the client the association is gone
BIND modes (a CONNECT is relayed as by ok; BIND, command 2, gets a scripted answer whose first
reply says the proxy listens on BIND_LISTEN, a port nothing listens on):
  bind-early     both replies (the second: the peer BIND_PEER connected) and BIND_DATA from the
                 peer in one segment, right after the request
  bind-malformed the first reply, then a second reply of version 4 (malformed)
  bind-late      the first reply, then the second only after BIND_LATE_SECONDS (beyond the tests'
                 bind_timeout)
  bind-close     the first reply, then closes the connection (no second reply)
  bind-refused   the first reply, then a second reply with code 5 (connection refused)
  bind-ordered   both replies and BIND_DATA, then BIND_CONTROL on the client's latest relayed
                 connection (CONNECT) to this port, as an FTP server's reply follows its
                 connection to the client: the client must see the peer no later than that line
HTTP CONNECT modes (the client speaks HTTP, not SOCKS5):
  http-banner    answers "200" with a few headers and the target's banner in one segment
  http-403       answers "403 Forbidden" and closes
  http-endless   answers "200" and then header lines without end (until the client gives up)
  http-drip      answers a status line, then one byte of a header every 0.2 s (slowloris)
  http-garbage   answers a line that is not HTTP

Every connection appends one JSON line to the log file: the port, mode, the greeting and the
CONNECT request as received. The process prints "ready" on stdout once every port listens.
"""
import argparse
import ipaddress
import json
import resource
import select
import socket
import struct
import sys
import threading
import time

LOG_LOCK = threading.Lock()


BANNER = b"SOCKSIFY-BANNER 42\r\n"
BIND_LISTEN = ("10.77.2.1", 4242)
BIND_PEER = ("10.77.2.2", 2020)
BIND_DATA = b"BIND-DATA from the peer\n"
BIND_CONTROL = b"CONTROL after the peer connected\n"
# bind-ordered: per port, the client side of the latest relayed connection (CONNECT).
LATEST_RELAYED = {}
BIND_LATE_SECONDS = 5
SLOW_SECONDS = 0.6
BACKLOG = 64
UDP_SLOW_SECONDS = 0.3
DELAY_BACKLOG = 1024   # delay:SECONDS listeners get hundreds of connections in one burst


def log(path, record):
    with LOG_LOCK:
        with open(path, "a") as f:
            f.write(json.dumps(record) + "\n")


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError("peer closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return buf


def read_greeting(sock):
    head = recv_exact(sock, 2)
    methods = recv_exact(sock, head[1])
    return head, methods


def read_userpass(sock):
    ver, ulen = recv_exact(sock, 2)
    user = recv_exact(sock, ulen)
    (plen,) = recv_exact(sock, 1)
    password = recv_exact(sock, plen)
    return ver, user.decode("latin-1"), password.decode("latin-1")


def select_method(sock, methods, record):
    """Chooses no-auth if offered, else user/pass (accepting anything). Returns False if neither."""
    if 0 in methods:
        sock.sendall(b"\x05\x00")
        return True
    if 2 in methods:
        sock.sendall(b"\x05\x02")
        ver, user, _password = read_userpass(sock)
        record["auth_user"] = user
        record["auth_version"] = ver
        sock.sendall(b"\x01\x00")
        return True
    sock.sendall(b"\x05\xff")
    return False


def read_request(sock):
    ver, cmd, rsv, atyp = recv_exact(sock, 4)
    if atyp == 1:
        host = socket.inet_ntop(socket.AF_INET, recv_exact(sock, 4))
    elif atyp == 4:
        host = socket.inet_ntop(socket.AF_INET6, recv_exact(sock, 16))
    elif atyp == 3:
        (n,) = recv_exact(sock, 1)
        host = recv_exact(sock, n).decode("latin-1")
    else:
        raise ValueError("bad ATYP %d" % atyp)
    (port,) = struct.unpack("!H", recv_exact(sock, 2))
    return {"ver": ver, "cmd": cmd, "rsv": rsv, "atyp": atyp, "host": host, "port": port}


def reply(rep, ver=5, bind=("0.0.0.0", 0)):
    addr = ipaddress.ip_address(bind[0])
    if addr.version == 4:
        body = b"\x01" + addr.packed
    else:
        body = b"\x04" + addr.packed
    return bytes([ver, rep, 0]) + body + struct.pack("!H", bind[1])


def wait_for_close(sock, seconds):
    """Holds the connection until the client closes it (or the time runs out)."""
    sock.settimeout(seconds)
    try:
        while sock.recv(4096):
            pass
    except OSError:
        pass


def relay(a, b):
    """Copies both ways until both sides are done (or 60 s pass without a byte). poll, not select:
    with hundreds of relays at once descriptors go past FD_SETSIZE."""
    socks = [a, b]
    by_fd = {a.fileno(): a, b.fileno(): b}
    open_dirs = {a: b, b: a}
    poller = select.poll()
    for s in socks:
        poller.register(s, select.POLLIN)
    while open_dirs:
        events = poller.poll(60000)
        if not events:
            break
        for fd, _ev in events:
            s = by_fd[fd]
            if s not in open_dirs:
                continue
            try:
                data = s.recv(65536)
            except OSError:
                data = b""
            if not data:
                peer = open_dirs.pop(s)
                poller.unregister(s)
                try:
                    peer.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
            else:
                try:
                    open_dirs[s].sendall(data)
                except OSError:
                    open_dirs.clear()
    for s in socks:
        s.close()


def parse_udp_header(data):
    """RFC 1928 UDP request header -> (frag, atyp, host, port, payload); ValueError if malformed."""
    if len(data) < 4 or data[0:2] != b"\0\0":
        raise ValueError("bad RSV")
    frag, atyp = data[2], data[3]
    if atyp == 1 and len(data) >= 10:
        return frag, atyp, socket.inet_ntop(socket.AF_INET, data[4:8]), struct.unpack("!H", data[8:10])[0], data[10:]
    if atyp == 4 and len(data) >= 22:
        return frag, atyp, socket.inet_ntop(socket.AF_INET6, data[4:20]), struct.unpack("!H", data[20:22])[0], data[22:]
    if atyp == 3 and len(data) >= 5 and len(data) >= 7 + data[4]:
        n = data[4]
        return frag, atyp, data[5:5 + n].decode("latin-1"), struct.unpack("!H", data[5 + n:7 + n])[0], data[7 + n:]
    raise ValueError("bad ATYP %d or short header" % atyp)


def udp_header(host, port):
    addr = ipaddress.ip_address(host)
    if addr.version == 6 and addr.ipv4_mapped:
        addr = addr.ipv4_mapped
    return b"\0\0\0" + (b"\x01" if addr.version == 4 else b"\x04") + addr.packed + struct.pack("!H", port)


JUNK_FIRST = b"JUNK-FIRST"
NAMES_FIRST = b"NAMES-FIRST"
NAMES_COUNT = 50


def send_names(relay_sock, client, data):
    """Answers labelled with names the client never asked for (a hostile relay filling its
    name map), sent before the real answer."""
    for i in range(NAMES_COUNT):
        name = ("junk%d.names.test" % i).encode()
        relay_sock.sendto(b"\0\0\0\x03" + bytes([len(name)]) + name + struct.pack("!H", 7) + data, client)


def send_junk(relay_sock, client, src, data):
    """Datagrams a client must drop, sent before the real answer: a fragment (FRAG 1), an unknown
    ATYP, a header cut short, and the answer from a port of P that is not the relay."""
    header = udp_header(src[0], src[1])
    for junk in (header[:2] + b"\x01" + header[3:] + b"frag", b"\0\0\0\x09" + b"bad atyp", b"\0\0\0\x01\x0a"):
        relay_sock.sendto(junk, client)
    other = socket.socket(relay_sock.family, socket.SOCK_DGRAM)
    try:
        other.bind((relay_sock.getsockname()[0], 0))
        other.sendto(header + b"stray " + data, client)
    finally:
        other.close()


def udp_associate(conn, port, mode, logpath, record):
    """Serves one UDP association until the control connection ends (udp) or the first answer
    arrives (udp-then-close). The relay listens on the control connection's local address."""
    local = conn.getsockname()[0]
    relay_sock = socket.socket(socket.AF_INET6 if ":" in local else socket.AF_INET, socket.SOCK_DGRAM)
    relay_sock.bind((local, 0))
    up = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    up.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    up.bind(("::", 0))
    client_ip = conn.getpeername()[0]
    client_udp = None
    bound = relay_sock.getsockname()
    conn.sendall(reply(0, bind=(bound[0], bound[1])))
    record["action"] = "udp associate, relay %s %d" % (bound[0], bound[1])
    record["relay"] = [bound[0], bound[1]]
    log(logpath, record)
    conn.settimeout(None)
    poller = select.poll()
    for s in (conn, relay_sock, up):
        poller.register(s, select.POLLIN)
    try:
        while True:
            events = poller.poll(60000)
            if not events:
                return
            for fd, _ev in events:
                if fd == conn.fileno():
                    if not conn.recv(4096):
                        log(logpath, {"port": port, "mode": mode, "action": "control closed by the client"})
                        return
                elif fd == relay_sock.fileno():
                    data, src = relay_sock.recvfrom(65535)
                    rec = {"port": port, "mode": mode, "from": list(src[:2])}
                    if src[0] != client_ip:
                        rec["action"] = "dropped: not from the client's address"
                        log(logpath, rec)
                        continue
                    client_udp = src
                    try:
                        frag, atyp, host, dport, payload = parse_udp_header(data)
                    except ValueError as e:
                        rec["action"] = "dropped: %s" % e
                        log(logpath, rec)
                        continue
                    rec["udp"] = {"frag": frag, "atyp": atyp, "host": host, "port": dport, "len": len(payload)}
                    if frag:
                        rec["action"] = "dropped: fragment"
                    else:
                        try:
                            dest = socket.getaddrinfo(host, dport, socket.AF_INET6, socket.SOCK_DGRAM, 0,
                                                      socket.AI_V4MAPPED)[0][4]
                            up.sendto(payload, dest)
                            rec["action"] = "forwarded to %s %d" % (dest[0], dest[1])
                        except OSError as e:
                            rec["action"] = "dropped: %s" % e
                    log(logpath, rec)
                elif fd == up.fileno():
                    data, src = up.recvfrom(65535)
                    if client_udp is None:
                        continue
                    if mode == "udp-then-close":
                        conn.shutdown(socket.SHUT_RDWR)
                        conn.close()
                    if data == JUNK_FIRST:
                        send_junk(relay_sock, client_udp, src, data)
                    if data == NAMES_FIRST:
                        send_names(relay_sock, client_udp, data)
                    relay_sock.sendto(udp_header(src[0], src[1]) + data, client_udp)
                    log(logpath, {"port": port, "mode": mode, "action": "answer from %s %d relayed%s" % (
                        src[0], src[1], ", control connection closed first" if mode == "udp-then-close" else "")})
                    if mode == "udp-then-close":
                        # Keep the relay port bound (no ICMP port unreachable for the client's
                        # next datagrams) while the client notices the closed control connection.
                        relay_sock.settimeout(10)
                        deadline = time.monotonic() + 10
                        while time.monotonic() < deadline:
                            try:
                                relay_sock.recvfrom(65535)
                            except OSError:
                                break
                        return
    finally:
        relay_sock.close()
        up.close()


def read_http_request(sock):
    """The CONNECT request, read byte by byte up to the blank line (bounded)."""
    data = b""
    while not data.endswith(b"\r\n\r\n"):
        data += recv_exact(sock, 1)
        if len(data) > 8192:
            raise ValueError("request headers too long")
    return data.decode("latin-1")


def endless_headers(sock, line, pause):
    """Sends line again and again until the client closes (at most 30 s or 16 MiB)."""
    deadline, sent = time.monotonic() + 30, 0
    try:
        while time.monotonic() < deadline and sent < (16 << 20):
            sock.sendall(line)
            sent += len(line)
            if pause:
                time.sleep(pause)
    except OSError:
        pass
    return sent


def handle_http(conn, mode, record):
    record["request"] = read_http_request(conn)
    if mode == "http-banner":
        conn.sendall(b"HTTP/1.1 200 Connection established\r\nProxy-Agent: fakeproxy\r\nX-Pad: " + b"p" * 300 +
                     b"\r\n\r\n" + BANNER)
        record["action"] = "sent 200 + banner"
    elif mode == "http-403":
        conn.sendall(b"HTTP/1.1 403 Forbidden by fakeproxy\r\nContent-Length: 0\r\n\r\n")
        record["action"] = "sent 403"
    elif mode == "http-garbage":
        conn.sendall(b"SSH-2.0-NotAProxy\r\n\r\n")
        record["action"] = "sent garbage"
    elif mode == "http-endless":
        conn.sendall(b"HTTP/1.1 200 OK\r\n")
        record["sent"] = endless_headers(conn, b"X-Endless: " + b"e" * 1000 + b"\r\n", 0)
        record["action"] = "sent endless headers"
        return
    elif mode == "http-drip":
        conn.sendall(b"HTTP/1.1 200 OK\r\nX-Drip: ")
        record["sent"] = endless_headers(conn, b"d", 0.2)
        record["action"] = "dripped"
        return
    wait_for_close(conn, 10)


def handle_bind(conn, mode, record):
    """Answers a BIND request as mode scripts it."""
    first = reply(0, bind=BIND_LISTEN)
    if mode == "bind-early":
        conn.sendall(first + reply(0, bind=BIND_PEER) + BIND_DATA)
        record["action"] = "sent both replies and data"
    elif mode == "bind-ordered":
        conn.sendall(first + reply(0, bind=BIND_PEER) + BIND_DATA)
        control = LATEST_RELAYED.get(record["port"])
        if control:
            control.sendall(BIND_CONTROL)
        record["action"] = "sent both replies and data, then %s" % ("the control line" if control else
                                                                   "no control line: no relayed connection")
    else:
        conn.sendall(first)
        if mode == "bind-malformed":
            conn.sendall(reply(0, ver=4, bind=BIND_PEER))
            record["action"] = "sent a second reply of version 4"
        elif mode == "bind-late":
            record["action"] = "second reply after %d s" % BIND_LATE_SECONDS
            conn.settimeout(BIND_LATE_SECONDS)
            try:
                if conn.recv(1) == b"":
                    record["action"] += ": the client closed first"
                    return
            except socket.timeout:
                pass
            conn.sendall(reply(0, bind=BIND_PEER) + BIND_DATA)
        elif mode == "bind-close":
            record["action"] = "closed after the first reply"
            return
        elif mode == "bind-refused":
            conn.sendall(reply(5, bind=BIND_PEER))
            record["action"] = "sent a second reply with code 5"
    wait_for_close(conn, 10)


def handle(conn, client, port, mode, logpath):
    record = {"port": port, "mode": mode, "client": list(client[:2])}
    try:
        if mode.startswith("http-"):
            handle_http(conn, mode, record)
            return
        head, methods = read_greeting(conn)
        record["greeting"] = (head + methods).hex()
        if mode == "close-greeting":
            record["action"] = "closed after greeting"
            return
        if mode == "silent":
            record["action"] = "silent"
            log(logpath, record)
            record = None
            wait_for_close(conn, 60)
            return
        if mode == "nomethod":
            conn.sendall(b"\x05\xff")
            record["action"] = "sent method 0xff"
            log(logpath, record)
            record = None
            wait_for_close(conn, 10)
            return
        if mode == "badver-method":
            conn.sendall(b"\x04\x00")
            record["action"] = "sent method reply with version 4"
            log(logpath, record)
            record = None
            wait_for_close(conn, 10)
            return
        if not select_method(conn, methods, record):
            record["action"] = "no acceptable method offered"
            return
        req = read_request(conn)
        record["request"] = req
        if mode in ("udp", "udp-then-close", "udp-slow"):
            if req["cmd"] != 3:
                conn.sendall(reply(7))
                record["action"] = "sent rep 7 (only UDP ASSOCIATE here)"
                return
            if mode == "udp-slow":
                time.sleep(UDP_SLOW_SECONDS)
            udp_associate(conn, port, mode, logpath, record)
            record = None
            return
        if mode.startswith("bind-"):
            if req["cmd"] == 2:
                handle_bind(conn, mode, record)
                return
            mode = "ok"
        if mode == "close-request":
            record["action"] = "closed after request"
            return
        if mode == "badver":
            conn.sendall(reply(0, ver=4))
            record["action"] = "sent reply with version 4"
            log(logpath, record)
            record = None
            wait_for_close(conn, 10)
            return
        if mode.startswith("rep:"):
            rep = int(mode[4:], 0)
            conn.sendall(reply(rep))
            record["action"] = "sent rep %d" % rep
            log(logpath, record)
            record = None
            wait_for_close(conn, 10)
            return
        if mode == "banner":
            # The reply and the target's first bytes in one segment, as a server that speaks
            # first (SSH, SMTP) can produce: the client must not lose the banner.
            conn.sendall(reply(0) + BANNER)
            record["action"] = "sent reply + banner"
            log(logpath, record)
            record = None
            wait_for_close(conn, 10)
            return
        if mode == "slow":
            # A proxy whose upstream connect takes a while: the handshake spans many signals.
            time.sleep(SLOW_SECONDS)
            mode = "ok"
        if mode.startswith("delay:"):
            # Every handshake takes at least this long: N of them one after the other take N times it.
            time.sleep(delay_seconds(mode))
            mode = "ok"
        if mode == "ok":
            try:
                up = socket.create_connection((req["host"], req["port"]), timeout=10)
            except OSError as e:
                record["action"] = "upstream failed: %s" % e
                conn.sendall(reply(5))
                return
            up.settimeout(None)
            conn.settimeout(None)
            bound = up.getsockname()
            conn.sendall(reply(0, bind=(bound[0], bound[1])))
            LATEST_RELAYED[port] = conn
            record["action"] = "relaying"
            log(logpath, record)
            record = None
            relay(conn, up)
            return
        record["action"] = "unknown mode"
    except Exception as e:  # noqa: BLE001 - a test server logs everything
        if record is not None:
            record["error"] = "%s: %s" % (type(e).__name__, e)
    finally:
        if record is not None:
            log(logpath, record)
        try:
            conn.close()
        except OSError:
            pass


def delay_seconds(mode):
    """SECONDS of a delay:SECONDS mode (ValueError if it is not a number >= 0)."""
    seconds = float(mode[len("delay:"):])
    if not 0 <= seconds <= 60:
        raise ValueError("delay out of range: %r" % mode)
    return seconds


def raise_fd_limit():
    """Hundreds of clients, each with its upstream socket: take the hard limit of descriptors."""
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard == resource.RLIM_INFINITY or hard > soft:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY else 65536, hard))
    except (OSError, ValueError):
        pass


def serve(lsock, port, mode, logpath):
    while True:
        try:
            conn, client = lsock.accept()
        except OSError:
            return
        conn.settimeout(30)
        threading.Thread(target=handle, args=(conn, client, port, mode, logpath), daemon=True).start()


def make_listener(host, port, backlog):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    s.listen(backlog)
    return s


def fill_accept_queue(host, port, keep):
    """Connects to our own never-accepting listener until the kernel stops completing handshakes."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _ in range(8):
        c = socket.socket(family, socket.SOCK_STREAM)
        c.setblocking(False)
        c.connect_ex((host, port))
        keep.append(c)
        _, w, _ = select.select([], [c], [], 0.5)
        if not w or c.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
            return  # this SYN was dropped: the queue is full
    # Not proven full, but a handful of queued connections is still enough for the tests.


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("listeners", nargs="+", metavar="PORT=MODE")
    args = ap.parse_args()
    raise_fd_limit()
    keep = []
    threads = []
    for spec in args.listeners:
        port_s, mode = spec.split("=", 1)
        port = int(port_s)
        if mode.startswith("delay:"):
            try:
                delay_seconds(mode)
            except ValueError as e:
                ap.error("%s: %s" % (spec, e))
        if mode == "blackhole":
            lsock = make_listener(args.host, port, 0)
            keep.append(lsock)
            fill_accept_queue(args.host, port, keep)
            continue
        lsock = make_listener(args.host, port, DELAY_BACKLOG if mode.startswith("delay:") else BACKLOG)
        keep.append(lsock)
        t = threading.Thread(target=serve, args=(lsock, port, mode, args.log), daemon=True)
        t.start()
        threads.append(t)
    print("ready", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
