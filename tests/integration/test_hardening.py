"""Programs that go around libc's socket functions, or leave descriptors behind."""
import json
import os

from testcase import test
from topology import DANTE, DANTE_PORT, ECHO_PORT, HERE, HTTP_PORT, P4C, PY, T4, fake_url

DNSCLIENT = os.path.join(HERE, "dnsclient.py")
DANTE_H = "socks5h://%s:%d" % (P4C, DANTE_PORT)

# connect() made as syscall(SYS_connect, ...) through ctypes, as some runtimes do.
SYSCALL_CONNECT = r"""
import ctypes, socket, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
s = socket.socket()
addr = struct.pack("!HH4s8x", socket.AF_INET, int(sys.argv[2]), socket.inet_aton(sys.argv[1]))
addr = struct.pack("=H", socket.AF_INET) + addr[2:]
buf = ctypes.create_string_buffer(addr, len(addr))
if libc.syscall(42, s.fileno(), buf, len(addr)) != 0:   # 42: SYS_connect on x86-64
    print("ERRNO", ctypes.get_errno()); sys.exit(3)
s.sendall(b"raw\n")
print("ECHO", s.recv(10).decode().strip())
"""

# Descriptors open before and after a failed proxied connect must be the same set.
FD_LEAK = r"""
import os, socket, sys
before = sorted(os.listdir("/proc/self/fd"))
for i in range(20):
    s = socket.socket()
    try:
        s.connect((sys.argv[1], int(sys.argv[2])))
    except OSError:
        pass
    s.close()
after = sorted(os.listdir("/proc/self/fd"))
print("FDS", len(before), len(after))
sys.exit(0 if before == after else 1)
"""


@test
def test_syscall_connect_is_proxied(t):
    t.need("danted", "echo")
    r = t.sx_x(DANTE, [PY, "-c", SYSCALL_CONNECT, T4, str(ECHO_PORT)])
    t.expect_ok(r, "syscall(SYS_connect) client")
    t.check("ECHO raw" in r.out, "expected the echo through the proxy, got %r" % r.out)


@test
def test_no_descriptor_leak_on_failures(t):
    """20 failed connects each through a proxy that is down, one that resets, and one that refuses."""
    t.need("fakeproxy")
    for url in ("socks5://10.77.1.1:1999", fake_url("close-request"), fake_url("rep:5"), fake_url("badver")):
        r = t.sx_x(url, [PY, "-c", FD_LEAK, T4, str(ECHO_PORT)], opts=["-q"])
        t.expect_ok(r, "descriptor count via %s (%s)" % (url, r.out.strip()))


# Threads mid-handshake (a proxy that takes 0.6 s) while the main thread forks; the child
# resolves and connects on its own. Both sides must work: nothing the child inherits blocks it.
FORK_MID_HANDSHAKE = r"""
import os, socket, sys, threading, time
port = int(sys.argv[1])
def echo(name):
    s = socket.create_connection((name, port), timeout=20)
    s.sendall(b"x\n")
    return s.recv(10) == b"x\n"
results = []
threads = [threading.Thread(target=lambda i=i: results.append(echo("n%d.sx.test" % i))) for i in range(8)]
for th in threads:
    th.start()
time.sleep(0.2)   # lands the fork inside the handshakes; the checks below hold at any timing
pid = os.fork()
if pid == 0:
    os._exit(0 if echo("n100.sx.test") else 1)
_, status = os.waitpid(pid, 0)
for th in threads:
    th.join()
print("CHILD", status, "PARENT", results.count(True))
sys.exit(0 if status == 0 and results.count(True) == 8 else 1)
"""


@test
def test_threads_64x100_remote_names(t):
    """64 threads x 100 lookups + proxied connects, sharing 320 names."""
    t.need("danted", "echo")
    r = t.sx_x(DANTE_H, [PY, DNSCLIENT, "threads", "64", "100", str(ECHO_PORT), "320"], timeout=180)
    t.expect_ok(r, "dnsclient threads 64x100")
    a = json.loads([l for l in r.out.splitlines() if l.startswith("{")][-1])
    t.check(a["ok"] == 6400 and a["distinct_addresses"] == 320 and not a["errors"], "64x100: %r" % {
        k: a[k] for k in ("ok", "distinct_addresses", "errors")})


@test
def test_fork_while_threads_mid_handshake(t):
    t.need("fakeproxy", "echo")
    slow = fake_url("slow").replace("socks5:", "socks5h:")
    r = t.sx_x(slow, [PY, "-c", FORK_MID_HANDSHAKE, str(ECHO_PORT)], timeout=60)
    t.expect_ok(r, "fork during handshakes (%s)" % r.out.strip())


# A daemon-like program: closes every descriptor above 2 and dup2s a file over a high number,
# then connects by name with a log file configured. socksify holds no descriptor to lose.
CLOSE_EVERYTHING = r"""
import os, socket, sys
os.closerange(3, 65536)
junk = os.open("/dev/null", os.O_RDONLY)
for n in (3, 4, 5, 100, 1000):
    os.dup2(junk, n)
s = socket.create_connection(("target.sx.test", int(sys.argv[1])), timeout=10)
s.sendall(b"x\n")
sys.exit(0 if s.recv(10) == b"x\n" else 1)
"""


@test
def test_program_that_closes_every_descriptor(t):
    t.need("danted", "echo")
    log = os.path.join(t.dir, "socksify.log")
    conf = t.write("cwd/sx.conf", "proxy %s\nlog_level info\nlog_file %s\n" % (DANTE_H, log))
    r = t.sx_f(conf, [PY, "-c", CLOSE_EVERYTHING, str(ECHO_PORT)])
    t.expect_ok(r, "a program that closes every descriptor")
    with open(log) as f:
        text = f.read()
    t.check("target.sx.test:%d" % ECHO_PORT in text and ": ok" in text, "log file lacks the connection: %r" % text)


# The same through libc's own calls: close_range(2), closefrom(3), and a close() loop up to the limit.
CLOSE_WAYS = r"""
import ctypes, os, resource, socket, sys
libc = ctypes.CDLL(None, use_errno=True)
way = sys.argv[2]
if way == "close_range":
    assert libc.close_range(3, 0xFFFFFFFF, 0) == 0, ctypes.get_errno()
elif way == "closefrom":
    libc.closefrom(3)
else:
    for fd in range(3, resource.getrlimit(resource.RLIMIT_NOFILE)[0]):
        libc.close(fd)
s = socket.create_connection(("target.sx.test", int(sys.argv[1])), timeout=10)
s.sendall(b"y\n")
sys.exit(0 if s.recv(10) == b"y\n" else 1)
"""


@test
def test_close_range_closefrom_and_close_loop(t):
    t.need("danted", "echo")
    for way in ("close_range", "closefrom", "loop"):
        r = t.sx_x(DANTE_H, [PY, "-c", CLOSE_WAYS, str(ECHO_PORT), way])
        t.expect_ok(r, "a program that closes every descriptor with %s" % way)


# dup2 of another socket over a proxied one: socksify must notice the descriptor changed hands
# (getpeername reports the new socket's peer), and the old tunnel's number works as the new socket.
DUP2_OVER = r"""
import os, socket, sys
port = int(sys.argv[1])
proxied = socket.create_connection(("target.sx.test", port), timeout=10)
assert proxied.getpeername()[1] == port
local = socket.create_connection(("127.0.0.1", port), timeout=10)   # loopback: direct
os.dup2(local.fileno(), proxied.fileno())
peer = proxied.getpeername()
print("PEER", peer[0], peer[1])
proxied.sendall(b"z\n")
sys.exit(0 if peer[0] == "127.0.0.1" and proxied.recv(10) == b"z\n" else 1)
"""


@test
def test_dup2_over_a_proxied_socket(t):
    t.need("danted", "echo", "echo-c")
    r = t.sx_x(DANTE_H, [PY, "-c", DUP2_OVER, str(ECHO_PORT)])
    t.expect_ok(r, "dup2 over a proxied socket (%s)" % r.out.strip())


# A daemon that closes every descriptor after it used the background engine (non-blocking
# connects): the engine's own descriptors go too, and the next connects must still work.
# Python run by the engine tests: `many(n, tag)` opens n asyncio connections at once (non-blocking
# connects: the background engine) to argv[1]:argv[2] and returns the echoed lines.
ASYNC_ECHO = r"""
import asyncio, sys
host, port = sys.argv[1], int(sys.argv[2])
async def one(data):
    r, w = await asyncio.open_connection(host, port)
    w.write(data + b"\n")
    await w.drain()
    line = await asyncio.wait_for(r.readline(), 10)
    w.close()
    return line
async def many(n, tag):
    return await asyncio.gather(*[one(b"%s%d" % (tag, i)) for i in range(n)])
"""

CLOSEFROM_AFTER_ENGINE = ASYNC_ECHO + r"""
import ctypes
first = asyncio.run(many(3, b"c"))
ctypes.CDLL(None).closefrom(3)
second = asyncio.run(many(5, b"c"))
ok = first == [b"c%d\n" % i for i in range(3)] and second == [b"c%d\n" % i for i in range(5)]
print("FIRST", first, "SECOND", second)
sys.exit(0 if ok else 1)
"""


@test
def test_closefrom_after_the_engine_started(t):
    t.need("danted", "echo")
    r = t.sx_x(DANTE, [PY, "-c", CLOSEFROM_AFTER_ENGINE, T4, str(ECHO_PORT)])
    t.expect_ok(r, "non-blocking connects after closefrom(3) (%s)" % r.out.strip())


# A program that dup2s its own files over the engine's epoll and eventfd (it cannot know they
# are ours): socksify must neither wait on the program's epoll nor write into its file.
DUP2_OVER_ENGINE = ASYNC_ECHO + r"""
import os, select
first = asyncio.run(many(3, b"d"))
def kind(fd):
    try:
        return os.readlink("/proc/self/fd/%s" % fd)
    except OSError:   # listdir's own descriptor, gone by now
        return ""
kinds = {fd: kind(fd) for fd in os.listdir("/proc/self/fd") if fd.isdigit()}
ep = [int(fd) for fd, k in kinds.items() if k == "anon_inode:[eventpoll]"]
ev = [int(fd) for fd, k in kinds.items() if k == "anon_inode:[eventfd]"]
mine = select.epoll()
rd, wr = os.pipe()
os.set_blocking(rd, False)
for fd in ep:
    os.dup2(mine.fileno(), fd)
for fd in ev:
    os.dup2(wr, fd)
second = asyncio.run(many(5, b"d"))
try:
    leaked = os.read(rd, 100)
except BlockingIOError:
    leaked = b""
print("ENGINE-FDS", ep, ev, "FIRST", first, "SECOND", second, "LEAKED", leaked)
ok = ep and ev and second == [b"d%d\n" % i for i in range(5)] and leaked == b""
sys.exit(0 if ok else 1)
"""


@test
def test_dup2_over_the_engine_descriptors(t):
    t.need("danted", "echo")
    r = t.sx_x(DANTE, [PY, "-c", DUP2_OVER_ENGINE, T4, str(ECHO_PORT)])
    t.expect_ok(r, "non-blocking connects after dup2 over the engine's descriptors (%s)" % r.out.strip())


@test
def test_very_low_descriptor_limit(t):
    """With RLIMIT_NOFILE at 16 the program still connects by name: socksify needs no spare descriptor."""
    t.need("danted", "echo")
    code = ("import socket,sys; s=socket.create_connection(('target.sx.test', %d), timeout=10); s.sendall(b'x\\n');"
            "sys.exit(0 if s.recv(10)==b'x\\n' else 1)" % ECHO_PORT)
    r = t.sx_x(DANTE_H, ["sh", "-c", 'ulimit -n 16 && exec "$0" -c "$1"', PY, code])
    t.expect_ok(r, "python with ulimit -n 16")


@test
def test_valgrind_memcheck_curl_by_name(t):
    """memcheck reports no error in a curl run through socksify with a remote name."""
    t.need("danted", "http")
    url = "http://target.sx.test:%d/token.txt" % HTTP_PORT
    r = t.sx_x(DANTE_H, ["valgrind", "-q", "--error-exitcode=97", "--errors-for-leak-kinds=none"] + t.curl(url),
               timeout=120)
    t.check(r.rc != 97, "valgrind found errors:\n%s" % r.err[-3000:])
    t.expect_token(r)
