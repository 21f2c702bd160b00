"""Programs that go around libc's socket functions, or leave descriptors behind."""
from testcase import test
from topology import DANTE, ECHO_PORT, PY, T4, fake_url

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
