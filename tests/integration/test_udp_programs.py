"""UDP of real programs through danted's UDP ASSOCIATE: node's dgram (libuv), asyncio datagram
endpoints (connected, unconnected, 20 at once, by name), threads sharing one socket and threads
with their own, a thread blocked in recvfrom() when another makes the association, fork with an association (the child uses the inherited socket, the parent's
association outlives the child), non-blocking sockets under select/poll/epoll with MSG_DONTWAIT,
and a storm of 1000 datagrams through one association.

As in test_udp.py, C reaches only P: every datagram must go through danted. udpecho.py in T
answers "WHOAMI" with the source it saw (P's address toward T, and danted's external port, which
is the client's source port: one per association) and logs every datagram's source; danted logs
every datagram from C ('udp/udpassociate -:') and every association ('udp/udpassociate [:').
The programs are udp_node.js, udp_asyncio.py and udp_sockets.py; each has a budget of its own
below the test's hard timeout and sends a datagram again only after a bounded wait for its answer."""
import errno
import os
import shutil

from test_udp import DANTE_H, dante_datagrams, echo_sources, expect_dante_carried, expect_echo_from_proxy, is_fake
from testcase import dante_addr, test
from topology import C4, DANTE, DANTE6, FAKE_PORTS, HERE, P4T, P6T, PY, REMOTE_NAMES, T4, T6, UDP_ECHO_PORT, fake_url

UDP_NODE = os.path.join(HERE, "udp_node.js")
UDP_ASYNCIO = os.path.join(HERE, "udp_asyncio.py")
UDP_SOCKETS = os.path.join(HERE, "udp_sockets.py")
PORT = UDP_ECHO_PORT
STATUS = {3: "an OSError", 4: "a wrong answer", 6: "its budget ran out"}


# ----- helpers -----

def lines(r, prefix):
    """The rest of every stdout line starting with prefix and a space."""
    return [l[len(prefix) + 1:] for l in r.out.splitlines() if l.startswith(prefix + " ")]


def expect_prog_ok(t, r, what):
    """r exited 0; else a failure naming why (the program's BAD/ERRNO/ERROR/TIMEOUT lines)."""
    if r.rc == 0:
        return
    why = [l for l in r.out.splitlines() if l.split(" ", 1)[0] in ("BAD", "ERRNO", "ERROR", "TIMEOUT")]
    t.fail("%s exited with status %s (%s)%s%s" % (
        what, r.rc, "killed after the test's timeout" if r.timed_out else STATUS.get(r.rc, "?"),
        ": " if why else "", "; ".join(why[:8])))


def expect_seen(t, r, addr, who=None):
    """Every SEEN line (WHOAMI's answer: the source udpecho.py saw) names addr; returns {who: port}."""
    seen = {}
    for l in lines(r, "SEEN"):
        f = l.split()
        if len(f) != 3:
            t.fail("a malformed SEEN line %r" % l)
        seen[f[0]] = f[1], int(f[2])
    t.check(seen, "no WHOAMI answer at all")
    wrong = {w: s for w, s in seen.items() if s[0] != addr}
    t.check(not wrong, "udpecho.py saw WHOAMI from %r, expected only the proxy's %s" % (wrong, addr))
    if who is not None:
        t.check(sorted(seen) == sorted(who), "WHOAMI answers for %s, expected %s" % (sorted(seen), sorted(who)))
    return {w: s[1] for w, s in seen.items()}


def expect_from_target(t, r, host, port=PORT):
    """Every FROM line (an answer's source as the program got it) is host port."""
    froms = lines(r, "FROM")
    t.check(froms, "no FROM line: no answer's address reported")
    bad = [l for l in froms if l.split()[-2:] != [host, str(port)]]
    t.check(not bad, "answers reported from %r, expected the target %s port %d" % (bad, host, port))


def expect_associations(t, n, what):
    """danted started exactly n associations during the test (waits, bounded, for its log)."""
    got = t.wait_lines("danted", n, "udp/udpassociate [:")
    t.check(len(got) == n, "danted started %d associations for %s, expected %d" % (len(got), what, n))


def node_binary(t):
    node = shutil.which("node") or shutil.which("nodejs")
    t.check(node, "node is not installed (scripts/deps.sh installs nodejs)")
    return node


# ----- 1. node dgram -----

def node_run(t, url, kind, host, target_from, proxy_addr):
    r = t.sx_x(url, [node_binary(t), UDP_NODE, kind, host, str(PORT), "10"], timeout=20)
    expect_prog_ok(t, r, "node dgram %s via %s" % (kind, url))
    t.check(lines(r, "ECHO") == ["unconnected node %s unconnected" % kind, "connected node %s connected" % kind],
            "node's echoes: %r" % lines(r, "ECHO"))
    expect_from_target(t, r, target_from)
    t.check(r.line("PEER") == "%s %d" % (host, PORT), "remoteAddress() after connect(): %r, expected %s %d" % (
        r.line("PEER"), host, PORT))
    expect_seen(t, r, proxy_addr, ["unconnected", "connected"])
    return r


@test
def test_udp_programs_node_udp4(t):
    """node: dgram.createSocket('udp4'): send(msg, port, host) and the 'message' event (rinfo is the
    target), then socket.connect(): send(msg) without an address, remoteAddress(), the answers'
    rinfo; WHOAMI from both sockets shows P's address; danted carried every datagram, one
    association per socket."""
    t.need("danted", "udpecho")
    node_run(t, DANTE, "udp4", T4, T4, P4T)
    expect_echo_from_proxy(t, P4T, 4)
    expect_dante_carried(t, "danted", T4, PORT, C4, 4)
    expect_associations(t, 2, "node's two udp4 sockets")


@test
def test_udp_programs_node_udp6(t):
    """node: dgram.createSocket('udp6') to fd77:2::2, unconnected and connected, through danted's
    IPv4 address and through its IPv6 address: the answers come from fd77:2::2, udpecho.py saw P's
    fd77:2::1."""
    t.need("danted", "udpecho")
    for url in (DANTE, DANTE6):
        node_run(t, url, "udp6", T6, T6, P6T)
    expect_echo_from_proxy(t, P6T, 8)
    expect_dante_carried(t, "danted", T6, PORT, None, 8)
    expect_associations(t, 4, "node's four udp6 sockets")


# ----- 2. asyncio -----

@test
def test_udp_programs_asyncio_connected_and_sendto(t):
    """asyncio: create_datagram_endpoint(remote_addr=T4) (a connected socket: peername is the
    target, transport.sendto(data) without an address) and an endpoint without remote_addr
    (transport.sendto(data, addr)); datagram_received's address is the target for both."""
    t.need("danted", "udpecho")
    for mode in ("connected", "sendto"):
        r = t.sx_x(DANTE, [PY, UDP_ASYNCIO, "--budget", "10", mode, T4, str(PORT)], timeout=20)
        expect_prog_ok(t, r, "udp_asyncio.py %s" % mode)
        t.check(lines(r, "ECHO") == ["0 asyncio endpoint 0 %s" % mode], "asyncio %s: echoes %r" % (
            mode, lines(r, "ECHO")))
        expect_from_target(t, r, T4)
        expect_seen(t, r, P4T, ["0"])
        if mode == "connected":
            t.check(r.line("PEER") == "%s %d" % (T4, PORT), "the connected transport's peername: %r" % r.line("PEER"))
    expect_echo_from_proxy(t, P4T, 4)
    expect_dante_carried(t, "danted", T4, PORT, C4, 4)
    expect_associations(t, 2, "two asyncio endpoints")


@test
def test_udp_programs_asyncio_20_endpoints(t):
    """asyncio: 20 datagram endpoints at once (asyncio.gather; half connected, half not), each a
    WHOAMI and an echo of its own: every one answered from the target, 20 associations (20
    different external ports at P), all through danted."""
    t.need("danted", "udpecho")
    n = 20
    r = t.sx_x(DANTE, [PY, UDP_ASYNCIO, "--budget", "15", "many", T4, str(PORT), str(n)], timeout=25)
    expect_prog_ok(t, r, "udp_asyncio.py many %d" % n)
    t.check(r.line("DONE") and r.line("DONE").split()[0] == str(n), "not every endpoint finished: %r" % r.line("DONE"))
    echoes = sorted(lines(r, "ECHO"))
    want = sorted("%d asyncio endpoint %d %s" % (i, i, "connected" if i % 2 == 0 else "sendto") for i in range(n))
    t.check(echoes == want, "echoes %r, expected one per endpoint %r" % (echoes, want))
    expect_from_target(t, r, T4)
    ports = expect_seen(t, r, P4T, [str(i) for i in range(n)])
    t.check(len(set(ports.values())) == n, "the %d endpoints' datagrams left P from %d ports, expected %d (one "
            "association each)" % (n, len(set(ports.values())), n))
    expect_echo_from_proxy(t, P4T, 2 * n)
    expect_dante_carried(t, "danted", T4, PORT, C4, 2 * n)
    expect_associations(t, n, "%d asyncio endpoints" % n)


@test
def test_udp_programs_asyncio_name(t):
    """asyncio with socks5h:// and a name only P's hosts file knows: create_datagram_endpoint(
    remote_addr=(NAME, PORT)) resolves it (loop.getaddrinfo, an executor thread) to a fake address,
    connects: peername and the answers' address are that fake address; an unconnected endpoint's
    transport.sendto(data, (NAME, PORT)) (socket.sendto resolves NAME) too. danted sent the
    datagrams to the name's real address."""
    t.need("danted", "udpecho")
    name = "n7.sx.test"
    t.check(REMOTE_NAMES.get(name) == T4, "harness: %s is not one of P's names for %s" % (name, T4))
    r = t.run([PY, "-c", "import socket,sys\ntry:\n socket.getaddrinfo(%r, %d)\nexcept socket.gaierror:\n sys.exit(0)\n"
               "sys.exit(1)" % (name, PORT)])
    t.check(r.rc == 0, "C resolves %s without socksify: the test would prove nothing" % name)
    r = t.sx_x(DANTE_H, [PY, UDP_ASYNCIO, "--budget", "10", "name", name, str(PORT)], timeout=20)
    expect_prog_ok(t, r, "udp_asyncio.py name %s" % name)
    addr = r.line("ADDR") or ""
    t.check(addr and ":" not in addr and is_fake(addr), "getaddrinfo(%s) gave %r, expected a fake IPv4 address" % (
        name, addr))
    t.check(r.line("PEER") == "%s %d" % (addr, PORT), "peername %r, expected the fake address %s %d" % (
        r.line("PEER"), addr, PORT))
    expect_from_target(t, r, addr)
    t.check(sorted(lines(r, "ECHO")) == ["0 asyncio by name connected", "1 asyncio by name sendto"],
            "echoes %r" % lines(r, "ECHO"))
    expect_seen(t, r, P4T, ["0", "1"])
    expect_echo_from_proxy(t, P4T, 4)
    expect_dante_carried(t, "danted", T4, PORT, C4, 4)


# ----- 3. threads -----

@test
def test_udp_programs_threads_shared_socket(t):
    """8 python threads share one UDP socket with no association yet, released together: their
    first sendto()s race to make it; then each sends 25 tagged datagrams and reads answers (any
    thread's) into a shared table, waiting for its own. Every message comes back unchanged from
    the target, over exactly one association."""
    t.need("danted", "udpecho")
    r = t.sx_x(DANTE, [PY, UDP_SOCKETS, "--budget", "20", "threads-shared", T4, str(PORT), "25"], timeout=30)
    expect_prog_ok(t, r, "udp_sockets.py threads-shared")
    t.check(r.line("THREADS") == "8 MESSAGES 200 DONE 200", "threads: %r" % r.line("THREADS"))
    expect_associations(t, 1, "one socket shared by 8 threads")
    expect_echo_from_proxy(t, P4T, 200)
    expect_dante_carried(t, "danted", T4, PORT, C4, 200)


@test
def test_udp_programs_threads_own_sockets(t):
    """8 python threads, each with a socket of its own (associations made at the same time):
    WHOAMI and 10 tagged round trips each; 8 associations, 8 external ports at P."""
    t.need("danted", "udpecho")
    r = t.sx_x(DANTE, [PY, UDP_SOCKETS, "--budget", "20", "threads-own", T4, str(PORT), "10"], timeout=30)
    expect_prog_ok(t, r, "udp_sockets.py threads-own")
    t.check(r.line("THREADS") == "8 MESSAGES 80 DONE 80", "threads: %r" % r.line("THREADS"))
    ports = expect_seen(t, r, P4T, ["thread%d" % i for i in range(8)])
    t.check(len(set(ports.values())) == 8, "8 sockets' datagrams left P from %d ports" % len(set(ports.values())))
    expect_associations(t, 8, "8 threads' own sockets")
    expect_echo_from_proxy(t, P4T, 88)
    expect_dante_carried(t, "danted", T4, PORT, C4, 88)


# ----- 4. fork -----

@test
def test_udp_programs_fork_inherited_association(t):
    """fork(): the parent makes the association (WHOAMI), forks; the child does WHOAMI and an echo
    on the inherited socket and exits 0 (the first child without closing it, the second after
    close()); after each child the parent's socket still works, over the same association (same
    external port at P). Then the parent closes the socket and a fresh one works (a second
    association)."""
    t.need("danted", "udpecho")
    r = t.sx_x(DANTE, [PY, UDP_SOCKETS, "--budget", "15", "fork", T4, str(PORT)], timeout=25)
    expect_prog_ok(t, r, "udp_sockets.py fork")
    t.check(lines(r, "CHILD") == ["1 STATUS 0", "2 STATUS 0"], "children: %r" % lines(r, "CHILD"))
    ports = expect_seen(t, r, P4T, ["parent", "child1", "parent1", "child2", "parent2", "fresh"])
    same = {w: ports[w] for w in ("parent", "child1", "parent1", "child2", "parent2")}
    t.check(len(set(same.values())) == 1, "parent and children reached T from different ports %r: not one "
            "association" % same)
    expect_associations(t, 2, "the inherited socket and the fresh one")
    expect_echo_from_proxy(t, P4T, 8)
    expect_dante_carried(t, "danted", T4, PORT, C4, 8)


# ----- 5. non-blocking -----

@test
def test_udp_programs_nonblocking_selectors(t):
    """A non-blocking UDP socket under selectors' select, poll and epoll: writable at once; recv
    before anything -> EAGAIN; the WHOAMI answer makes it readable; recv(MSG_DONTWAIT) on the empty
    socket -> EAGAIN (BlockingIOError) and select(0) says not ready; then the echo: readable,
    recvfrom(MSG_DONTWAIT) gives it; the same socket made blocking: recv(MSG_DONTWAIT) -> EAGAIN,
    then the data."""
    t.need("danted", "udpecho")
    r = t.sx_x(DANTE, [PY, UDP_SOCKETS, "--budget", "15", "nonblock", T4, str(PORT)], timeout=25)
    expect_prog_ok(t, r, "udp_sockets.py nonblock")
    want = []
    for who in ("select", "poll", "epoll"):
        want += ["%s writable-at-once ok" % who, "%s recv-before-anything EAGAIN" % who, "%s select-whoami ready" % who,
                 "%s recv-dontwait-empty EAGAIN" % who, "%s select-empty notready" % who,
                 "%s select-data ready" % who, "%s recvfrom-dontwait data" % who,
                 "%s recv-dontwait-empty-again EAGAIN" % who, "%s blocking-recv-dontwait-empty EAGAIN" % who,
                 "%s select-blocking ready" % who, "%s blocking-recv-dontwait data" % who]
    got = lines(r, "RESULT")
    diff = [("expected %r" % w, "got %r" % g) for w, g in zip(want, got) if w != g]
    t.check(got == want, "steps differ: %r%s" % (diff[:6], "" if len(got) == len(want) else
                                                 " (%d steps, expected %d)" % (len(got), len(want))))
    ports = expect_seen(t, r, P4T, ["select", "poll", "epoll"])
    t.check(len(set(ports.values())) == 3, "three sockets, %d external ports at P" % len(set(ports.values())))
    expect_associations(t, 3, "three non-blocking sockets")
    expect_echo_from_proxy(t, P4T, 9)
    expect_dante_carried(t, "danted", T4, PORT, C4, 9)


# ----- 6. a storm -----

@test
def test_udp_programs_storm_1000(t):
    """1000 datagrams (1..1400 bytes, numbered) round-trip through one association, at most 64
    unanswered at a time; one unanswered after 0.5 s counts as lost and is sent again. Every
    answer is exactly the datagram sent, from the target; nothing is missing in the end, and
    fewer than 1% were lost the first time (the loss count is in the output)."""
    t.need("danted", "udpecho")
    n = 1000
    r = t.sx_x(DANTE, [PY, UDP_SOCKETS, "--budget", "20", "storm", T4, str(PORT), str(n)], timeout=30)
    expect_prog_ok(t, r, "udp_sockets.py storm")
    f = (r.line("STORM") or "").split()
    stats = dict(zip(f[0::2], f[1::2]))
    t.check(stats.get("SENT") == str(n) and stats.get("ANSWERED") == str(n) and stats.get("MISSING") == "0",
            "storm: %r" % r.line("STORM"))
    t.check(stats.get("CORRUPT") == "0", "storm: %s wrong answers" % stats.get("CORRUPT"))
    lost = int(stats.get("LOST_FIRST", n))
    t.check(lost < n // 100, "storm: %d of %d datagrams lost the first time (>= 1%%)" % (lost, n))
    expect_associations(t, 1, "the storm's socket")
    expect_echo_from_proxy(t, P4T, n)
    t.wait_log("danted", lambda _t: len(dante_datagrams(t, "danted", dante_addr(T4, PORT), C4)) >= n)
    forwarded = dante_datagrams(t, "danted", dante_addr(T4, PORT), C4)
    t.check(len(forwarded) >= n, "danted forwarded %d datagrams from C, expected at least %d" % (len(forwarded), n))
    t.check(len(echo_sources(t)) >= n, "udpecho.py saw %d datagrams" % len(echo_sources(t)))


# A thread makes a blocking socket's association through a proxy that never answers; the main
# thread forks once the control connection is up, and the child sends on the inherited socket.
# The child must get an error at once, not wait for a lock its parent's thread held at fork().
FORK_WHILE_MAKING = r"""
import os, signal, socket, sys, threading, time
proxy_port = int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
dest = (sys.argv[1], int(sys.argv[3]))
threading.Thread(target=lambda: s.sendto(b"first", dest), daemon=True).start()
def control_up():
    for name in ("/proc/self/net/tcp",):
        for line in open(name).read().splitlines()[1:]:
            f = line.split()
            if f[3] == "01" and int(f[2].split(":")[1], 16) == proxy_port:
                return True
    return False
deadline = time.monotonic() + 10
while not control_up():
    if time.monotonic() > deadline:
        print("NO CONTROL CONNECTION"); sys.exit(5)
    time.sleep(0.01)   # a bounded wait for a condition, not synchronisation by time
pid = os.fork()
if pid == 0:
    signal.alarm(3)    # a hang ends the child with SIGALRM
    try:
        s.sendto(b"child", dest)
        os._exit(0)
    except OSError as e:
        os.write(1, ("CHILD ERRNO %d\n" % e.errno).encode())
        os._exit(3)
_, status = os.waitpid(pid, 0)
print("CHILD STATUS", os.WEXITSTATUS(status) if os.WIFEXITED(status) else "signal %d" % os.WTERMSIG(status))
"""


@test
def test_udp_programs_fork_while_association_is_made(t):
    """A child forked while another thread makes the association (a blocking socket, a proxy that
    never answers) gets ECONNABORTED from sendto() at once; it used to hang on the lock held
    through the handshake."""
    t.need("fakeproxy", "udpecho")
    conf = t.write("silent.conf", "proxy default %s\nhandshake_timeout 8s\n" % fake_url("silent"))
    r = t.sx_f(conf, [PY, "-c", FORK_WHILE_MAKING, T4, str(FAKE_PORTS["silent"]), str(UDP_ECHO_PORT)], timeout=30)
    t.check(r.line("CHILD") == "ERRNO %d" % errno.ECONNABORTED and r.line("CHILD STATUS") == "3",
            "the child's sendto: %r / status %r, expected ECONNABORTED at once" % (r.line("CHILD"), r.line("CHILD STATUS")))


# 100 non-blocking sockets whose associations a proxy never answers: socksify's threads that make
# them stay few (workers.h), and every socket still gets its error once the handshake times out.
MANY_PENDING = r"""
import errno, os, socket, sys, time
dest = (sys.argv[1], int(sys.argv[2]))
socks = []
for i in range(100):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setblocking(False)
    s.sendto(b"x", dest)
    socks.append(s)
print("THREADS", len(os.listdir("/proc/self/task")))
deadline = time.monotonic() + 60
failed = 0
for s in socks:
    while True:
        try:
            s.sendto(b"y", dest)
        except OSError as e:
            if e.errno == errno.EAGAIN and time.monotonic() < deadline:
                time.sleep(0.05)   # the queue is full while pending: a bounded retry
                continue
            failed += 1
            break
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
print("FAILED", failed)
"""


@test
def test_udp_programs_pending_associations_use_few_threads(t):
    """100 non-blocking sockets to a proxy that never answers UDP ASSOCIATE: at most 16 threads of
    socksify's make associations (one per socket before: about 40 at once here), and every socket
    fails in the end."""
    t.need("fakeproxy")
    conf = t.write("silent.conf", "proxy default %s\nhandshake_timeout 2s\n" % fake_url("silent"))
    r = t.sx_f(conf, [PY, "-c", MANY_PENDING, T4, str(UDP_ECHO_PORT)], timeout=90)
    t.expect_ok(r, "many pending associations")
    threads = int(r.line("THREADS") or 0)
    t.check(0 < threads <= 1 + 16, "%d threads while 100 associations were pending" % threads)
    t.check(r.line("FAILED") == "100", "%s of 100 sockets failed, expected all" % r.line("FAILED"))
