#!/usr/bin/python3
"""Name lookups the way programs make them, for the remote-DNS tests (stdlib only).

usage: dnsclient.py COMMAND ARGS...   (prints one JSON object; exit 0 if the command worked)
  gai NAME FAMILY SOCKTYPE [SERVICE] [canon]  getaddrinfo; FAMILY inet|inet6|unspec, SOCKTYPE stream|0
  echo NAME PORT [inet|inet6]       getaddrinfo + connect + echo of one line + getpeername
  reverse NAME                      gethostbyname, gethostbyname_ex, gethostbyaddr, getnameinfo
  fork NAME1 NAME2 PORT             parent resolves NAME1, a child connects to it; the child resolves
                                    NAME2, the parent connects to that after the child exited
  threads NTHREADS NNAMES PORT      each thread: getaddrinfo + connect + echo for n<i>.sx.test
  passive NAME                      getaddrinfo with AI_PASSIVE (the same answer as without)
  gaimatrix NAME REF FAMILY         getaddrinfo of NAME and of REF (a name glibc resolves) for every
                                    combination of service, socktype, protocol and flags
  hostent NAME4 NAME6               gethostbyname2(_r), gethostbyname_r (ctypes: python has no
                                    binding), then gethostbyaddr/getnameinfo of the IPv6 answer
  udp53 HOST [sendto|sendmsg|connect]   one datagram to HOST:53 (or just connect the UDP socket)
  tcp HOST PORT                     connect() only
"""
import ctypes
import json
import os
import socket
import sys
import threading

FAMILIES = {"inet": socket.AF_INET, "inet6": socket.AF_INET6, "unspec": socket.AF_UNSPEC}


def out(**kw):
    print(json.dumps(kw), flush=True)


def echo(addr, family, data=b"hello by name\n"):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(addr)
    peer = s.getpeername()[0]
    s.sendall(data)
    got = b""
    while len(got) < len(data):
        chunk = s.recv(100)
        if not chunk:
            break
        got += chunk
    s.close()
    return peer, got == data


def cmd_gai(name, family, socktype, service=None, canon=None):
    flags = socket.AI_CANONNAME if canon else 0
    res = socket.getaddrinfo(name, service, FAMILIES[family], socket.SOCK_STREAM if socktype == "stream" else 0, 0, flags)
    out(results=[[int(f), int(t), p, c, a[0], a[1]] for f, t, p, c, a in res])


def cmd_echo(name, port, family="inet"):
    fam = FAMILIES[family]
    info = socket.getaddrinfo(name, int(port), fam, socket.SOCK_STREAM)[0]
    peer, ok = echo(info[4], fam)
    out(address=info[4][0], peer=peer, echo_ok=ok)
    return 0 if ok else 1


def cmd_reverse(name):
    a = socket.gethostbyname(name)
    ex = socket.gethostbyname_ex(name)
    byaddr = socket.gethostbyaddr(a)
    ni = socket.getnameinfo((a, 80), 0)
    ni_num = socket.getnameinfo((a, 80), socket.NI_NUMERICHOST)
    out(address=a, ex=[ex[0], ex[2]], byaddr=[byaddr[0], byaddr[2]], nameinfo=list(ni), nameinfo_numeric=list(ni_num))


def cmd_fork(name1, name2, port):
    port = int(port)
    first = socket.getaddrinfo(name1, port, socket.AF_INET, socket.SOCK_STREAM)[0][4]
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            _, ok = echo(first, socket.AF_INET)
            second = socket.getaddrinfo(name2, port, socket.AF_INET, socket.SOCK_STREAM)[0][4]
            os.write(w, json.dumps([ok, second[0]]).encode())
        finally:
            os._exit(0)
    os.close(w)
    os.waitpid(pid, 0)
    child_ok, second_addr = json.loads(os.read(r, 1000).decode())
    _, parent_ok = echo((second_addr, port), socket.AF_INET)
    out(first=first[0], child_echo_ok=child_ok, second=second_addr, parent_echo_ok=parent_ok)
    return 0 if child_ok and parent_ok else 1


def cmd_threads(nthreads, nnames, port, distinct=None):
    """Each thread looks up and connects to nnames names n<k>.sx.test; with DISTINCT, k cycles
    through that many names, so threads share names (and their fake addresses) as well."""
    nthreads, nnames, port = int(nthreads), int(nnames), int(port)
    results, errors, oks = {}, [], []

    def work(t):
        for i in range(nnames):
            k = t * nnames + i
            name = "n%d.sx.test" % (k % int(distinct) if distinct else k)
            try:
                info = socket.getaddrinfo(name, port, socket.AF_INET, socket.SOCK_STREAM)[0][4]
                _, ok = echo(info, socket.AF_INET)
                if results.setdefault(name, info[0]) != info[0]:
                    errors.append("%s: got %s, earlier %s" % (name, info[0], results[name]))
                oks.append(ok)
            except OSError as e:
                errors.append("%s: %s" % (name, e))
    threads = [threading.Thread(target=work, args=(t,)) for t in range(nthreads)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    addrs = list(results.values())
    out(ok=sum(oks), distinct_addresses=len(set(addrs)), addresses=sorted(set(addrs)), errors=errors[:5])
    return 0 if not errors else 1


def cmd_passive(name):
    try:
        res = socket.getaddrinfo(name, 80, socket.AF_INET, socket.SOCK_STREAM, 0, socket.AI_PASSIVE)
        out(addresses=[a[4][0] for a in res])
    except socket.gaierror as e:
        out(gaierror=e.errno)


def cmd_udp53(host, how="sendto"):
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
    query = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x01"
    try:
        if how == "sendto":
            s.sendto(query, (host, 53))
        elif how == "sendmsg":
            s.sendmsg([query], [], 0, (host, 53))
        else:
            s.connect((host, 53))
        out(sent=True)
    except OSError as e:
        out(errno=e.errno, error=str(e))


def gai_row(name, service, family, socktype, proto, flags):
    try:
        return [[int(f), int(t), p, c, a[0], a[1]] for f, t, p, c, a in
                socket.getaddrinfo(name, service, family, socktype, proto, flags)]
    except socket.gaierror as e:
        return "gaierror %d" % e.errno


def cmd_gaimatrix(name, ref, family):
    """The same hints for NAME (answered by socksify) and REF (answered by glibc from /etc/hosts)."""
    fam = FAMILIES[family]
    kinds = [(0, 0), (socket.SOCK_STREAM, 0), (socket.SOCK_DGRAM, 0), (socket.SOCK_RAW, 0),
             (0, socket.IPPROTO_TCP), (0, socket.IPPROTO_UDP), (socket.SOCK_STREAM, socket.IPPROTO_TCP)]
    rows = []
    for service in ("http", "80", None):
        for socktype, proto in kinds:
            for flags in (0, socket.AI_NUMERICSERV, socket.AI_CANONNAME):
                rows.append({"hints": [service, family, socktype, proto, flags],
                             "name": gai_row(name, service, fam, socktype, proto, flags),
                             "ref": gai_row(ref, service, fam, socktype, proto, flags)})
    out(rows=rows, numerichost=gai_row(name, "80", fam, 0, 0, socket.AI_NUMERICHOST))


class Hostent(ctypes.Structure):
    _fields_ = [("h_name", ctypes.c_char_p), ("h_aliases", ctypes.POINTER(ctypes.c_char_p)),
                ("h_addrtype", ctypes.c_int), ("h_length", ctypes.c_int),
                ("h_addr_list", ctypes.POINTER(ctypes.POINTER(ctypes.c_ubyte)))]


def hostent(p):
    if not p:
        return None
    h = p.contents
    addrs, i = [], 0
    while h.h_addr_list[i]:
        addrs.append(socket.inet_ntop(h.h_addrtype, bytes(h.h_addr_list[i][:h.h_length])))
        i += 1
    return [h.h_name.decode(), h.h_addrtype, addrs]


def cmd_hostent(name4, name6):
    libc = ctypes.CDLL(None, use_errno=True)
    libc.gethostbyname2.restype = ctypes.POINTER(Hostent)
    res, rp, herr = Hostent(), ctypes.POINTER(Hostent)(), ctypes.c_int()
    buf = ctypes.create_string_buffer(2048)

    def r_call(fn, *args, size=2048):
        rc = fn(*args, ctypes.byref(res), buf, size, ctypes.byref(rp), ctypes.byref(herr))
        return {"rc": rc, "h_errno": herr.value, "hostent": hostent(rp) if rc == 0 else None}
    a = {"gbn2_inet6": hostent(libc.gethostbyname2(name6.encode(), socket.AF_INET6)),
         "gbn2_inet": hostent(libc.gethostbyname2(name4.encode(), socket.AF_INET)),
         "gbn2_r_inet6": r_call(libc.gethostbyname2_r, ("r6." + name6).encode(), socket.AF_INET6),
         "gbn_r": r_call(libc.gethostbyname_r, ("r4." + name4).encode()),
         "gbn_r_small": r_call(libc.gethostbyname_r, ("small." + name4).encode(), size=8)}
    v6 = a["gbn2_inet6"][2][0] if a["gbn2_inet6"] else "::"
    byaddr = socket.gethostbyaddr(v6)
    a["byaddr6"] = [byaddr[0], byaddr[2]]
    a["nameinfo6"] = list(socket.getnameinfo((v6, 7777, 0, 0), socket.NI_NUMERICSERV))
    out(**a)


def cmd_tcp(host, port):
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(5)
    try:
        s.connect((host, int(port)))
        out(connected=True)
    except OSError as e:
        out(errno=e.errno, error=str(e))


def main(argv):
    commands = {"gai": cmd_gai, "echo": cmd_echo, "reverse": cmd_reverse, "fork": cmd_fork,
                "threads": cmd_threads, "passive": cmd_passive, "udp53": cmd_udp53, "tcp": cmd_tcp,
                "gaimatrix": cmd_gaimatrix, "hostent": cmd_hostent}
    if len(argv) < 2 or argv[1] not in commands:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        return commands[argv[1]](*argv[2:]) or 0
    except OSError as e:
        out(exception=type(e).__name__, errno=e.errno, error=str(e))
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
