"""One session for a whole process tree (issue 15): a name resolved in any process of a socksify
session can be connected from any other (after exec, in a pipeline, in a program that closed every
descriptor), other users cannot open the session's map, the session directory goes when the program
ends, and a proxy one process marked down is skipped by the others. Without the command (LD_PRELOAD
by hand) names are shared by forked families only, as before."""
import os
import shlex

from testcase import dante_addr, test
from topology import DANTE, DANTE_PORT, HERE, HTTP_PORT, P4C, PRELOAD, T4, fake_url, token_url

DANTE_H = "socks5h://%s:%d" % (P4C, DANTE_PORT)
NAME = "target.sx.test"
NOBODY = 65534

# bash: the first address getent gives for NAME, as a URL host (IPv6 in brackets).
RESOLVE = ('ip=$(getent hosts %s | head -n1 | cut -d" " -f1); echo "IP $ip" >&2; '
           'case $ip in *:*) host="[$ip]" ;; *) host=$ip ;; esac; ') % NAME


def curl_host(t):
    """curl of the token from "$host", for bash."""
    return " ".join(shlex.quote(a) for a in t.curl("http://HOST:%d/token.txt" % HTTP_PORT)).replace("HOST", '"$host"')


def fake_ip(r):
    ips = [l.split()[1] for l in r.err.splitlines() if l.startswith("IP ") and len(l.split()) > 1]
    return ips[-1] if ips else ""


def expect_name_via_dante(t, r):
    t.expect_token(r)
    ip = fake_ip(r)
    t.check(ip.startswith("198.18.") or ip.startswith("fd53:"), "getent gave %r, not a fake address" % ip)
    # Only P knows the name (and C cannot reach T): danted resolved it and carried the connection.
    t.check(t.dante_saw("danted", dante_addr(T4, HTTP_PORT)), "danted did not carry the connection to %s" % NAME)


@test
def test_session_shared_name_across_exec_shell(t):
    """getent resolves in one process, curl (another exec) connects to the fake address."""
    t.need("danted", "http")
    r = t.sx_x(DANTE_H, ["bash", "-c", RESOLVE + "exec " + curl_host(t)])
    expect_name_via_dante(t, r)


@test
def test_session_shared_without_session_names_stay_per_family(t):
    """LD_PRELOAD by hand, no session: the fake address getent got means nothing to curl (fails closed)."""
    t.need("danted", "http")
    r = t.run(["bash", "-c", RESOLVE + "exec " + curl_host(t)], env=t.env(LD_PRELOAD=PRELOAD, SOCKSIFY_PROXY=DANTE_H))
    t.check(r.rc != 0 and t.h.token not in r.out, "curl reached the target by a fake address resolved in another process")
    t.check("no name behind it" in r.err, "no message about the unknown fake address:\n%s" % r.err[-500:])


@test
def test_session_shared_python_parent_curl_child(t):
    t.need("danted", "http")
    code = ("import socket,subprocess,sys\n"
            "ip=socket.getaddrinfo(%r,%d,socket.AF_INET,socket.SOCK_STREAM)[0][4][0]\n"
            "print('IP',ip,file=sys.stderr,flush=True)\n"
            "sys.exit(subprocess.call(%r+['http://%%s:%d/token.txt'%%ip]))\n") % (
        NAME, HTTP_PORT, t.curl("")[:-1], HTTP_PORT)
    r = t.sx_x(DANTE_H, ["python3", "-c", code])
    expect_name_via_dante(t, r)


@test
def test_session_shared_pipeline(t):
    """getent | while read: curl in the pipeline's other end, a forked subshell's exec."""
    t.need("danted", "http")
    script = ('getent ahostsv4 %s | head -n1 | while read ip rest; do echo "IP $ip" >&2; host=$ip; %s; done'
              % (NAME, curl_host(t)))
    r = t.sx_x(DANTE_H, ["bash", "-c", script])
    expect_name_via_dante(t, r)


@test
def test_session_shared_program_that_closes_every_descriptor(t):
    """close_range(0, ~0) before its first network call: the library maps the session's file by
    path, then connects to the fake address bash's getent got, and by name."""
    t.need("danted", "http")
    prog = t.compiled(os.path.join(HERE, "closeall.c"))
    out = os.path.join(t.dir, "closeall.out")
    r = t.sx_x(DANTE_H, ["bash", "-c", 'ip=$(getent ahostsv4 %s | head -n1 | cut -d" " -f1); echo "IP $ip" >&2; '
                         'exec %s %s "$ip" %s %d' % (NAME, prog, out, NAME, HTTP_PORT)])
    t.check(r.rc == 0, "closeall exited with %s (3: by address, 4: lookup, 5: by name)" % r.rc)
    with open(out) as f:
        t.check(f.read() == t.h.token * 2, "closeall did not get the token twice")
    t.check(fake_ip(r).startswith("198.18."), "getent gave %r, not a fake address" % fake_ip(r))


@test
def test_session_shared_other_user_cannot_open_map(t):
    """The map is a 0600 file in a 0700 directory; a process of another uid with the session's
    environment refuses it with a message and fails closed (no name, no connection)."""
    t.need("danted")
    script = ('getent hosts %s > /dev/null; stat -c "MODE %%a %%u" "$SOCKSIFY_SESSION_DIR" "$SOCKSIFY_SESSION_DIR/names"; '
              'setpriv --reuid=%d --regid=%d --clear-groups cat "$SOCKSIFY_SESSION_DIR/names" > /dev/null 2>&1; echo "CAT $?"; '
              'setpriv --reuid=%d --regid=%d --clear-groups getent hosts other.sx.test; echo "NOBODY $?"'
              % (NAME, NOBODY, NOBODY, NOBODY, NOBODY))
    r = t.sx(["--", "bash", "-c", script], env=t.env(SOCKSIFY_PROXY=DANTE_H))
    modes = [l.split()[1] for l in r.out.splitlines() if l.startswith("MODE ")]
    t.check(modes == ["700", "600"], "session directory and file modes are %s, expected 700 and 600" % modes)
    t.check(r.line("CAT") == "1", "another user could read the map (%r)" % r.line("CAT"))
    t.check(r.line("NOBODY") not in (None, "0"), "another user resolved a name through the session")
    t.check("refused" in r.err and "another user" in r.err, "no message refusing the session:\n%s" % r.err[-600:])
    t.check("other.sx.test" not in r.out, "another user got an address")


@test
def test_session_shared_directory_removed_at_end(t):
    """Exists while the program runs, gone after it ends: with and without -x, and when killed."""
    t.need("danted")
    show = 'echo "DIR $SOCKSIFY_SESSION_DIR"; getent hosts %s > /dev/null; ls "$SOCKSIFY_SESSION_DIR"; ' % NAME
    runs = [t.sx_x(DANTE_H, ["bash", "-c", show + "exit 3"]),
            t.sx(["--", "bash", "-c", show + "exit 4"], env=t.env(SOCKSIFY_PROXY=DANTE_H)),
            t.sx(["--", "bash", "-c", show + "kill -TERM $$"], env=t.env(SOCKSIFY_PROXY=DANTE_H))]
    for r, rc in zip(runs, (3, 4, 143)):
        t.check(r.rc == rc, "exit status %s, expected %d" % (r.rc, rc))
        d = r.line("DIR") or ""
        t.check(d and "names" in r.out.split(), "no session directory with a map while the program ran")
        t.check(not os.path.exists(d), "the session directory %s is left behind" % d)


@test
def test_session_shared_dead_proxy_skipped_by_other_processes(t):
    """dynamic chain whose first proxy is broken (closes at the greeting): three curls, each its own
    exec, connect through danted; only the first tries the broken proxy."""
    t.need("fakeproxy", "danted", "http")
    conf = t.write("cwd/dyn.conf", "proxy broken %s\nproxy d %s\nchain default dynamic broken d\n"
                   % (fake_url("close-greeting"), DANTE))
    curl = " ".join(shlex.quote(a) for a in t.curl(token_url(T4)))
    r = t.sx_f(conf, ["bash", "-c", "%s; %s; %s" % (curl, curl, curl)])
    t.expect_tokens(r, 3)
    tries = t.fake_records("close-greeting")
    t.check(len(tries) == 1, "the broken proxy was tried %d times by 3 processes, expected once" % len(tries))
    t.check("not shared" not in r.err, "the marks were not shared:\n%s" % r.err[-400:])


@test
def test_session_shared_lookup_hit_makes_no_system_call(t):
    """After the first lookup has mapped the session's file, a lookup of a name in the map makes
    no system call: strace -c counts as many calls for 10 hits as for 10 000."""
    prog = t.compiled(os.path.join(HERE, "..", "bench", "session_lookup.c"))
    totals = []
    for n in (10, 10000):
        out = os.path.join(t.dir, "strace.%d" % n)
        r = t.sx(["--", "strace", "-f", "-c", "-o", out, prog, "hit", str(n)], env=t.env(SOCKSIFY_PROXY=DANTE_H))
        t.expect_ok(r, "bench-session-lookup hit %d" % n)
        with open(out) as f:
            total = [l.split() for l in f.read().splitlines() if l.strip().endswith("total")]
        t.check(total, "no strace summary")
        totals.append(int(total[-1][3]))   # % time, seconds, usecs/call, calls[, errors], total
    t.check(totals[0] == totals[1], "system calls: %d with 10 hits, %d with 10 000: hits make system calls" % tuple(totals))


@test
def test_session_shared_chromium(t):
    """Chromium resolves a name in one process and connects from another (its network service,
    started by exec): through the session's map the fake address finds its name, and danted, the
    only one that knows the name, carries the page."""
    t.need("danted", "http")
    profile = os.path.join(t.dir, "chromium-profile")
    r = t.sx_x(DANTE_H, ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                         "--user-data-dir=" + profile, "--dump-dom", "http://%s:%d/token.txt" % (NAME, HTTP_PORT)],
               timeout=90)
    t.expect_ok(r, "chromium")
    t.check(t.h.token in r.out, "chromium's page does not hold the token:\n%s" % r.out[-500:])
    t.check("no name behind it" not in r.err, "a process of chromium met a fake address it could not name:\n%s"
            % r.err[-800:])
    t.check(t.dante_saw("danted", dante_addr(T4, HTTP_PORT)), "danted did not carry chromium's connection")
