"""32-bit programs: a `cc -m32` client (client32.c) under socksify gets the i386 library, through
the one LD_PRELOAD entry ROOT/$LIB/libsocksify.so that also serves 64-bit programs: by address,
by name (a fake address inside the 32-bit process, the name resolved by danted), a UDP datagram
through danted's relay, a 64-bit bash that runs the 32-bit client with both proxied, and never
the loader's "wrong ELF class ... ignored". core/rawsys.c's i386 system calls (rawsys_cases.c).

Where the kernel cannot execute i386 code (no IA32 emulation: these tests' machines run under a
PVM hypervisor), the 32-bit programs run under qemu-i386-static, a static binary that ignores
LD_PRELOAD itself and passes the environment to the emulated program, whose own i386 loader then
reads LD_PRELOAD exactly as it would natively (started through sh, since the socksify command
refuses to run a static program itself). Without cc -m32 or a way to run i386 code the
tests fail: scripts/deps.sh installs gcc-multilib and qemu-user-static."""
import errno
import os
import shutil
import subprocess

from testcase import dante_addr, test
from topology import (CLEAN_PATH, DANTE, DANTE_PORT, ECHO_PORT, HERE, LIB, P4C, P4T, PRELOAD_ANY_CLASS, T4,
                      UDP_ECHO_PORT)

CLIENT = os.path.join(HERE, "client32.c")
RAWSYS_CASES = os.path.join(HERE, "rawsys_cases.c")
CORE = os.path.join(os.path.dirname(os.path.dirname(HERE)), "core")
DANTE_H = "socks5h://%s:%d" % (P4C, DANTE_PORT)
WRONG_CLASS = "wrong ELF class"
_runner = {}


def i386_runner(t, binary):
    """The argv prefix that runs an i386 program here: [] where the kernel runs it, else qemu's."""
    if "prefix" not in _runner:
        try:
            subprocess.run([binary], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30, check=False)
            _runner["prefix"] = []
        except OSError as e:
            if e.errno != errno.ENOEXEC:
                raise
            qemu = shutil.which("qemu-i386-static", path=CLEAN_PATH)
            t.check(qemu, "this kernel cannot execute i386 programs and qemu-i386-static is missing "
                          "(scripts/deps.sh installs qemu-user-static)")
            # Through sh: the socksify command refuses a static program (qemu-i386-static is one),
            # while sh, dynamically linked, is entered and execs qemu, which leaves LD_PRELOAD to
            # the emulated program's loader.
            _runner["prefix"] = ["/bin/sh", "-c", 'exec "$@"', "sh", qemu]
    return list(_runner["prefix"])


def client32(t):
    """client32.c built with -m32, as an argv prefix that runs it."""
    binary = t.compiled(CLIENT, "-m32")
    return i386_runner(t, binary) + [binary]


def expect_32bit_echo(t, r, text, addr=T4):
    t.check(r.line("BITS") == "32", "the client is not the 32-bit one: %r" % r.out)
    t.check(WRONG_CLASS not in r.err, "the loader ignored a library of the wrong class: %r" % r.err)
    t.expect_ok(r, "client32")
    t.check(r.line("ADDR") == addr, "getaddrinfo gave %r, expected %s" % (r.line("ADDR"), addr))
    t.check(r.line("ECHO") == text, "echo was %r, expected %r" % (r.line("ECHO"), text))


@test
def test_lib32_by_address(t):
    """socksify -x socks5:// ./client32 T4: the i386 library carries the connection through danted."""
    t.need("danted", "echo")
    r = t.sx_x(DANTE, client32(t) + ["tcp", T4, str(ECHO_PORT), "hello32"], opts=["-v"])
    expect_32bit_echo(t, r, "hello32")
    t.check("via" in r.err and "ok" in r.err, "no log line from the i386 library: %r" % r.err)
    t.check(t.dante_saw("danted", dante_addr(T4, ECHO_PORT)), "danted did not carry the connection")


@test
def test_lib32_by_name(t):
    """socks5h: the name gets a fake address inside the 32-bit process and danted resolves it."""
    t.need("danted", "echo")
    r = t.sx_x(DANTE_H, client32(t) + ["tcp", "target.sx.test", str(ECHO_PORT), "named32"])
    t.check((r.line("ADDR") or "").startswith("198.1"), "the name did not get a fake address: %r" % r.out)
    expect_32bit_echo(t, r, "named32", addr=r.line("ADDR"))
    t.check(t.dante_saw("danted", dante_addr(T4, ECHO_PORT)), "danted did not carry the connection")


@test
def test_lib32_udp(t):
    """A datagram from the 32-bit client goes through danted's UDP relay; the answer's source is the target."""
    t.need("danted", "udpecho")
    r = t.sx_x(DANTE, client32(t) + ["udp", T4, str(UDP_ECHO_PORT), "WHOAMI"])
    t.check(WRONG_CLASS not in r.err, "the loader ignored a library of the wrong class: %r" % r.err)
    t.expect_ok(r, "client32 udp")
    t.check(r.line("FROM") == "%s %d" % (T4, UDP_ECHO_PORT), "recvfrom's source is %r" % r.line("FROM"))
    t.check((r.line("REPLY") or "").startswith("YOU ARE %s " % P4T),
            "udpecho saw %r, expected danted's address %s" % (r.line("REPLY"), P4T))
    t.check(t.wait_lines("danted", 1, "udp/udpassociate -:", dante_addr(T4, UDP_ECHO_PORT)),
            "danted's log shows no datagram to %s" % dante_addr(T4, UDP_ECHO_PORT))


@test
def test_lib32_time64_udp(t):
    """Built with _TIME_BITS=64, the 32-bit client's sendmsg, recvmsg and recvmmsg are glibc's
    __sendmsg64, __recvmsg64 and __recvmmsg64: both datagrams go through danted's relay and come back
    from the target, without the relay's SOCKS header (the library once hooked none of those names:
    the datagram went direct)."""
    t.need("danted", "udpecho")
    binary = t.compiled(CLIENT, "-m32", "-D_TIME_BITS=64", "-D_FILE_OFFSET_BITS=64")
    t.check(b"__sendmsg64" in open(binary, "rb").read(), "the client does not call __sendmsg64: not a time64 build")
    r = t.sx_x(DANTE, i386_runner(t, binary) + [binary, "udpmsg", T4, str(UDP_ECHO_PORT), "WHOAMI"])
    t.expect_ok(r, "client32 udpmsg")
    froms = [l for l in r.out.splitlines() if l.startswith("FROM ")]
    replies = [l for l in r.out.splitlines() if l.startswith("REPLY ")]
    t.check(froms == ["FROM %s %d" % (T4, UDP_ECHO_PORT)] * 2, "the sources were %r" % froms)
    t.check(len(replies) == 2 and all(l.startswith("REPLY YOU ARE %s " % P4T) for l in replies),
            "udpecho saw %r, expected danted's address %s twice" % (replies, P4T))
    t.check(t.wait_lines("danted", 2, "udp/udpassociate -:", dante_addr(T4, UDP_ECHO_PORT)),
            "danted's log shows fewer than two datagrams to %s" % dante_addr(T4, UDP_ECHO_PORT))


@test
def test_lib32_from_64bit_shell(t):
    """A 64-bit bash under socksify runs the 32-bit client, then connects itself (/dev/tcp): one
    LD_PRELOAD string, each loader its own library, both proxied, no "wrong ELF class"."""
    t.need("danted", "echo")
    script = ('"$@" || exit 9; exec 3<>/dev/tcp/%s/%d || exit 8; echo bash64 >&3; read -r line <&3; '
              'echo "BASH $line"; echo "PRELOAD $LD_PRELOAD"' % (T4, ECHO_PORT))
    r = t.sx_x(DANTE, ["bash", "-c", script, "bash"] + client32(t) + ["tcp", T4, str(ECHO_PORT), "from-bash"])
    expect_32bit_echo(t, r, "from-bash")
    t.check(r.line("BASH") == "bash64", "the 64-bit shell's own connection failed: %r" % r.out)
    t.check("/$LIB/" in (r.line("PRELOAD") or ""), "LD_PRELOAD holds no literal $LIB: %r" % r.line("PRELOAD"))
    t.check(len(t.wait_lines("danted", 2, "tcp/connect [", dante_addr(T4, ECHO_PORT))) >= 2,
            "danted did not carry both connections")


@test
def test_lib32_preload_by_hand(t):
    """LD_PRELOAD=ROOT/$LIB/libsocksify.so set by hand reaches the 32-bit client; the native
    library's plain path does not (the loader says "wrong ELF class" and the client goes direct):
    the control that shows the check above would see the bypass."""
    t.need("danted", "echo")
    argv = client32(t) + ["tcp", T4, str(ECHO_PORT), "by-hand"]
    r = t.run(argv, env=t.env(LD_PRELOAD=PRELOAD_ANY_CLASS, SOCKSIFY_PROXY=DANTE))
    expect_32bit_echo(t, r, "by-hand")
    r = t.run(argv, env=t.env(LD_PRELOAD=LIB, SOCKSIFY_PROXY=DANTE))
    t.check(WRONG_CLASS in r.err, "no 'wrong ELF class' from the loader for the 64-bit library: %r" % r.err)
    t.check(r.rc != 0 and r.errno_name() == "ENETUNREACH", "without its library the client should go direct and fail")


@test
def test_lib32_rawsys(t):
    """core/rawsys.c built -m32: open, read, write, close, lseek and a six-argument mmap2 whose
    page offset travels in ebp reach the kernel intact; errno stays untouched."""
    binary = t.compiled(RAWSYS_CASES, "-m32", "-I" + CORE, os.path.join(CORE, "rawsys.c"))
    r = t.run(i386_runner(t, binary) + [binary, os.path.join(t.dir, "scratch")], ns=None)
    t.expect_ok(r, "rawsys_cases -m32")
    t.check(r.out.strip() == "OK", "rawsys_cases: %r" % r.out)


LOCK32 = os.path.join(HERE, "lock32.c")


@test
def test_lib32_large_file_locks(t):
    """A 32-bit program built with large-file support locks a file through fcntl (libc's fcntl64
    on i386, struct flock64): under socksify the lock is the one it asked for, as without."""
    binary = t.compiled(LOCK32, "-m32", "-D_FILE_OFFSET_BITS=64")
    argv = i386_runner(t, binary) + [binary, os.path.join(t.dir, "locked")]
    r = t.sx_x(DANTE, argv)
    t.expect_ok(r, "lock32 under socksify")
    t.check(r.line("BITS") == "32 LOCK write 5 10", "the lock seen from another open file: %r" % r.out)


SOCKETCALL32 = os.path.join(HERE, "socketcall32.c")


@test
def test_lib32_socketcall_is_proxied(t):
    """A 32-bit program connecting through syscall(SYS_socketcall, SYS_CONNECT, args) goes through
    the proxy like one calling connect() (C has no route to T: a direct connect cannot succeed)."""
    t.need("danted", "echo")
    binary = t.compiled(SOCKETCALL32, "-m32")
    r = t.sx_x(DANTE, i386_runner(t, binary) + [binary, T4, str(ECHO_PORT)])
    t.expect_ok(r, "socketcall32 under socksify")
    t.check(r.line("ECHO") == "x", "socketcall connect: %r" % r.out)
    t.check(t.dante_saw("danted", dante_addr(T4, ECHO_PORT)), "danted did not carry the connection")
