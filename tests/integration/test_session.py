"""A session's configuration (issue 13): decided once where the session starts and kept by every
descendant wherever it runs; config files other users can write; passwords that must not show in
messages nor travel in the environment (-x hands a URL with credentials over in a private file, one
without in SOCKSIFY_PROXY); the wrapper as the program's parent (exit status, signals, the session's
directory removed); a log_file symlink that is not followed."""
import os
import stat

from testcase import dante_addr, test
from topology import (DANTE, DEAD, ECHO_PORT, HTTP_PORT, MS_AUTH, MS_AUTH_PORT, P4C, PASSWORD, PRELOAD, PY, PYCLIENT,
                      T4, USER, WRAPPER, token_url)

NOBODY = 65534


def curl_in(t, directory):
    """bash: cd DIRECTORY, then curl the token from T: the program runs where a socksify.conf waits."""
    return ["bash", "-c", "cd %s && exec %s" % (directory, " ".join(t.curl(token_url(T4))))]


def direct_everything_dir(t):
    """A directory whose socksify.conf would send everything direct (and names a dead proxy)."""
    t.write("elsewhere/socksify.conf", "proxy %s\nroute * direct\n" % DEAD)
    return os.path.join(t.dir, "elsewhere")


def expect_token_via_dante(t, r):
    t.expect_token(r)
    t.check(t.dante_saw("danted", dante_addr(T4, HTTP_PORT)),
            "danted's log does not show the connection: the later directory's socksify.conf took over")


@test
def test_session_later_cwd_conf_does_not_take_over_wrapper(t):
    t.need("danted", "http")
    r = t.sx_x(DANTE, curl_in(t, direct_everything_dir(t)))
    expect_token_via_dante(t, r)


@test
def test_session_later_cwd_conf_does_not_take_over_preload(t):
    """Preloaded by hand: the first process pins the session (no file here, SOCKSIFY_PROXY)."""
    t.need("danted", "http")
    r = t.run(curl_in(t, direct_everything_dir(t)), env=t.env(LD_PRELOAD=PRELOAD, SOCKSIFY_PROXY=DANTE))
    expect_token_via_dante(t, r)


@test
def test_session_pins_the_file_found_where_it_starts(t):
    """Preloaded by hand in a directory with a socksify.conf: that file, not the later one, rules."""
    t.need("danted", "http")
    t.write("cwd/socksify.conf", "proxy %s\n" % DANTE)
    r = t.run(curl_in(t, direct_everything_dir(t)), env=t.env(LD_PRELOAD=PRELOAD))
    expect_token_via_dante(t, r)


def untrusted_confs(t):
    """(config path, what is wrong) for a group-writable, a world-writable and a foreign-owned file."""
    out = []
    for name, mode, owner in (("group.conf", 0o664, 0), ("world.conf", 0o666, 0), ("nobody.conf", 0o644, NOBODY)):
        path = t.write("cwd/" + name, "proxy %s\n" % DANTE)
        os.chmod(path, mode)
        os.chown(path, owner, -1)
        out.append(path)
    return out


@test
def test_session_config_writable_by_others_wrapper_warns_library_refuses(t):
    t.need("danted", "echo")
    for conf in untrusted_confs(t):
        r = t.sx_f(conf, t.pyclient(T4, ECHO_PORT))
        warnings = [l for l in r.err.splitlines() if "warning" in l and conf in l]
        t.check(warnings, "the wrapper gave no warning naming %s" % conf)
        t.expect_any_errno(r)
        t.check([l for l in r.err.splitlines() if "error" in l and conf in l and "refused" in l],
                "the library did not refuse %s with a message naming it" % conf)


@test
def test_session_config_writable_by_others_preload_refuses(t):
    t.need("danted", "echo")
    for conf in untrusted_confs(t):
        r = t.run(t.pyclient(T4, ECHO_PORT), env=t.env(LD_PRELOAD=PRELOAD, SOCKSIFY_CONF=conf))
        t.expect_any_errno(r)
        t.check(conf in r.err and "refused" in r.err, "the library did not refuse %s with a message naming it" % conf)
    conf = t.write("cwd/mine.conf", "proxy %s\n" % DANTE)  # control: the same file, not writable by others
    r = t.run(t.pyclient(T4, ECHO_PORT), env=t.env(LD_PRELOAD=PRELOAD, SOCKSIFY_CONF=conf))
    t.expect_echo(r, T4, ECHO_PORT)


def malformed_urls():
    where = "%s:%d" % (P4C, MS_AUTH_PORT)
    cred = "%s:%s" % (USER, PASSWORD)
    return ["%s@%s" % (cred, where), "socks5:/%s@%s" % (cred, where), "socks5//%s@%s" % (cred, where),
            "%s@socks5://%s" % (cred, where), "socks5://%s" % cred, "socks5://%s:1:2" % cred,
            "socks4://%s@%s" % (cred, where), "socks5://%s@%s/x" % (cred, where), "socks5://%s@[%s" % (cred, P4C),
            "socks5://%s@%s:99999" % (cred, P4C), "socks5://%s%%zz@%s" % (cred, where)]


@test
def test_session_malformed_url_never_shows_password(t):
    t.need("microsocks-auth")
    for url in malformed_urls():
        r = t.sx_x(url, ["true"])
        t.check(r.rc == 2 and r.err.strip(), "the wrapper accepted -x %s (status %s)" % (url.replace(PASSWORD, "***"), r.rc))
        t.check(PASSWORD not in r.out + r.err, "the wrapper's message shows the password")
        r = t.run(t.pyclient(T4, ECHO_PORT), env=t.env(LD_PRELOAD=PRELOAD, SOCKSIFY_PROXY=url))
        t.check(r.rc != 0 and "socksify" in r.err, "the library gave no error for a malformed SOCKSIFY_PROXY")
        t.check(PASSWORD not in r.out + r.err, "the library's message shows the password")
        conf = t.write("cwd/bad.conf", "proxy %s\n" % url)
        r = t.sx_f(conf, ["true"])
        t.check(r.rc == 2 and PASSWORD not in r.out + r.err, "the wrapper's config error shows the password")
        r = t.run(t.pyclient(T4, ECHO_PORT), env=t.env(LD_PRELOAD=PRELOAD, SOCKSIFY_CONF=conf))
        t.check("bad.conf:1" in r.err and PASSWORD not in r.out + r.err, "the library's config error shows the password")
    for word in ("--proxy=socks5://%s:%s@%s:%d" % (USER, PASSWORD, P4C, MS_AUTH_PORT),
                 "-Xsocks5://%s:%s@%s:%d" % (USER, PASSWORD, P4C, MS_AUTH_PORT)):
        r = t.sx([word, "true"])
        t.check(r.rc == 2 and "unknown option" in r.err, "the command accepted %s" % word.replace(PASSWORD, "***"))
        t.check(PASSWORD not in r.out + r.err, "the command's unknown-option message shows the password")


@test
def test_session_x_password_not_in_environ(t):
    """-x socks5://user:secret@...: no descendant's /proc/PID/environ holds the password, nor the
    wrapper's /proc/PID/cmdline while the program runs (every user can read it), the connection
    still authenticates, and the file that carried the URL is gone afterwards."""
    t.need("microsocks-auth", "echo")
    envdump, cmddump = os.path.join(t.dir, "environ"), os.path.join(t.dir, "cmdline")
    script = ('echo "FILE $SOCKSIFY_PROXY_FILE"; cat /proc/$$/environ > %s; cat /proc/$PPID/cmdline > %s; '
              'exec %s %s %s %d' % (envdump, cmddump, PY, PYCLIENT, T4, ECHO_PORT))
    r = t.sx_x(MS_AUTH, ["bash", "-c", script])
    t.expect_echo(r, T4, ECHO_PORT)
    t.check(t.ms_saw("microsocks-auth", T4, ECHO_PORT), "microsocks-auth did not carry the connection")
    with open(envdump, "rb") as f:
        environ = f.read()
    with open(cmddump, "rb") as f:
        cmdline = f.read()
    t.check(environ, "no environment was captured")
    t.check(PASSWORD.encode() not in environ, "the password is in the program's /proc/PID/environ")
    # The wrapper stays the program's parent while it runs; every user can read its command line.
    t.check(b"socksify" in cmdline, "the program's parent is not the wrapper: %r" % cmdline)
    t.check(PASSWORD.encode() not in cmdline, "the password is in the wrapper's /proc/PID/cmdline: %r" % cmdline)
    path = r.line("FILE")
    t.check(path, "SOCKSIFY_PROXY_FILE is not set in the program")
    t.check(not os.path.exists(path), "%s still exists after the program ended" % path)
    t.check(not os.path.exists(os.path.dirname(path)), "the directory of %s is left behind" % path)


@test
def test_session_x_exit_status_and_signals(t):
    """With -x the wrapper stays the parent: it forwards the status, 128+N for signal N, and
    removes the session's directory (with the URL's file, for a URL with credentials) whatever
    the end."""
    t.need("danted", "microsocks-auth")
    for url in (DANTE, MS_AUTH):
        for script, want in (("exit 7", 7), ("kill -TERM $$", 128 + 15), ("kill -INT $$", 128 + 2),
                             ("kill -KILL $$", 128 + 9), ("exit 0", 0)):
            r = t.sx_x(url, ["sh", "-c", 'echo "DIR $SOCKSIFY_SESSION_DIR"; echo "FILE $SOCKSIFY_PROXY_FILE"; ' + script])
            t.check(r.rc == want, "%r: exit status %s, expected %d" % (script, r.rc, want))
            directory, path = r.line("DIR"), r.line("FILE")
            t.check(directory and not os.path.exists(directory),
                    "%r: SOCKSIFY_SESSION_DIR %r unset or left behind" % (script, directory))
            t.check(bool(path) == (url == MS_AUTH), "%r: SOCKSIFY_PROXY_FILE is %r for %s" % (
                script, path, url.replace(PASSWORD, "***")))


@test
def test_session_x_without_credentials_in_the_environment(t):
    """-x with a URL that holds no credentials: the program finds it in SOCKSIFY_PROXY (no file
    for each of its processes to read), SOCKSIFY_PROXY_FILE is unset, and its connections go
    through that proxy. Inside a session whose -x URL had credentials (a file), a nested
    socksify -x without them is not overridden by the outer file."""
    t.need("danted", "microsocks-auth", "http")
    seen = os.path.join(t.dir, "environment")
    show = ['sh', '-c', 'echo "PROXY ${SOCKSIFY_PROXY-unset}" > "$0"; echo "FILE ${SOCKSIFY_PROXY_FILE-unset}" >> "$0"; '
            'exec "$@"', seen] + t.curl(token_url(T4))

    def variable(name):
        with open(seen) as f:
            return next((l.split(" ", 1)[1].strip() for l in f if l.startswith(name + " ")), None)
    r = t.sx_x(DANTE, show)
    expect_token_via_dante(t, r)
    t.check(variable("PROXY") == DANTE and variable("FILE") == "unset",
            "SOCKSIFY_PROXY %r, SOCKSIFY_PROXY_FILE %r: not the URL in the environment" % (
                variable("PROXY"), variable("FILE")))
    # Both without a supervisor: the kernel allows one per process tree, and a dynamically linked
    # command (make check-asan's) would have the outer session's library in it, tunnelling its
    # supervisor's own connections. The outer library refuses a static program, the command
    # (make's): a shell starts it.
    r = t.sx_x(MS_AUTH, ["sh", "-c", 'exec "$@"', "sh", WRAPPER, "--seccomp=no", "-x", DANTE, "--"] + show,
               opts=["--seccomp=no"])
    expect_token_via_dante(t, r)
    t.check(variable("FILE") == "unset", "the outer session's file is still set: %r" % variable("FILE"))
    t.check(not t.ms_saw("microsocks-auth", T4, HTTP_PORT), "the outer session's proxy carried the connection")


@test
def test_session_proxy_file_by_hand(t):
    """SOCKSIFY_PROXY_FILE without the wrapper: a private file works, one others can read is refused."""
    t.need("microsocks-auth", "echo")
    path = t.write("cwd/proxy-url", MS_AUTH + "\n")
    os.chmod(path, 0o600)
    r = t.run(t.pyclient(T4, ECHO_PORT), env=t.env(LD_PRELOAD=PRELOAD, SOCKSIFY_PROXY_FILE=path))
    t.expect_echo(r, T4, ECHO_PORT)
    os.chmod(path, 0o644)
    r = t.run(t.pyclient(T4, ECHO_PORT), env=t.env(LD_PRELOAD=PRELOAD, SOCKSIFY_PROXY_FILE=path))
    t.expect_any_errno(r)
    t.check(path in r.err and "refused" in r.err, "the library did not refuse %s with a message naming it" % path)
    t.check(PASSWORD not in r.err, "the message shows the password")


@test
def test_session_log_file_symlink_not_followed(t):
    t.need("danted", "echo")
    victim = t.write("victim.txt", "")
    link = os.path.join(t.dir, "socksify.log")
    os.symlink(victim, link)
    r = t.sx_x(DANTE, t.pyclient(T4, ECHO_PORT), env=t.env(SOCKSIFY_LOG_LEVEL="info", SOCKSIFY_LOG_FILE=link))
    t.expect_echo(r, T4, ECHO_PORT)
    t.check(stat.S_ISLNK(os.lstat(link).st_mode), "the symlink was replaced")
    t.check(os.path.getsize(victim) == 0, "the log line was written through the symlink into %s" % victim)
    t.check("%s:%d" % (T4, ECHO_PORT) in r.err, "the line did not fall back to stderr")
