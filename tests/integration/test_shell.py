"""socksify on / off / status in an interactive bash on a pseudo-terminal in C, and the bash
completion (scripts/socksify.bash-completion)."""
import os

from test_command import Terminal
from testcase import dante_addr, test
from topology import CLEAN_PATH, DANTE, DANTE_AUTH_PORT, HTTP_PORT, P4C, PASSWORD, REPO, T4, USER, WRAPPER, token_url

TARGET = token_url(T4)
COMPLETION = os.path.join(REPO, "scripts", "socksify.bash-completion")
BASH_COMPLETION = "/usr/share/bash-completion/bash_completion"


# What off must leave: LD_PRELOAD as the test's environment had it (make check-asan preloads a
# sanitizer runtime), and none of the variables on sets.
LEFT = 'echo "left[${LD_PRELOAD-unset}|$(env | grep -c -E "^SOCKSIFY_(SHELL|SESSION|CONF|PROXY|LOG_LEVEL)=")]"'


def left_expected(t):
    return "left[%s|0]" % t.env().get("LD_PRELOAD", "unset")


def say(term, t, command, expected, why, seconds=15):
    """Types command into the terminal and waits for expected in what it prints."""
    term.send(command + "\n")
    t.check(term.expect(expected, seconds), "%s: typed %r, no %r in %r" % (why, command, expected, term.seen[-500:]))


def curl_line(marker):
    """A curl whose body and status come out on one line: MARKER[BODY] rc=N (its messages go away)."""
    return 'echo "%s[$(curl -q -sS --noproxy "" --max-time 5 %s 2>/dev/null)] rc=$?"' % (marker, TARGET)


@test
def test_shell_on_status_off_under_a_terminal(t):
    """eval "$(socksify on -x URL)" in bash -i: curl goes through danted (its log), status and the
    prompt marker name the proxy; eval "$(socksify off)": status says off, LD_PRELOAD and the
    variables are gone, and curl's direct connection fails (C has no route to T)."""
    t.need("danted", "http")
    token = t.h.token
    term = Terminal(t, ns="c")
    try:
        t.check(term.expect("$ "), "no prompt from bash -i")
        say(term, t, 'eval "$(%s on -x %s)"; echo "on=$?"' % (WRAPPER, DANTE), "on=0", "socksify on")
        say(term, t, curl_line("A"), "A[%s] rc=0" % token, "curl after on")
        t.check(t.dante_saw("danted", dante_addr(T4, HTTP_PORT)), "danted did not carry the connection")
        say(term, t, "%s status; echo st=$?" % WRAPPER, "st=0", "status when on")
        t.check("socks5://%s" % P4C in term.before, "status does not name the proxy: %r" % term.before)
        say(term, t, 'echo "marker[$SOCKSIFY_SHELL]"', "marker[%s]" % DANTE, "the prompt marker")
        say(term, t, 'eval "$(%s off)"; echo "off=$?"' % WRAPPER, "off=0", "socksify off")
        say(term, t, "%s status; echo st=$?" % WRAPPER, "st=1", "status when off")
        say(term, t, LEFT, left_expected(t), "off leaves nothing")
        say(term, t, curl_line("B"), "B[] rc=7", "curl after off (a direct connect must fail)")
    finally:
        term.close()


@test
def test_shell_on_sourced_and_restored(t):
    """. <(socksify on -f FILE) works too (the config file pinned as an absolute path), and off gives
    back the LD_PRELOAD and SOCKSIFY_LOG_LEVEL the shell had before; on twice is refused."""
    t.need("danted", "http")
    conf = t.write("shell.conf", "proxy %s\n" % DANTE)
    term = Terminal(t, ns="c")
    try:
        t.check(term.expect("$ "), "no prompt from bash -i")
        preload = " ".join(p for p in (t.env().get("LD_PRELOAD"), "libm.so.6") if p)
        say(term, t, "export LD_PRELOAD='%s' SOCKSIFY_LOG_LEVEL=warn; cd %s" % (preload, t.dir), "$ ", "setup")
        say(term, t, ". <(%s on -v -f shell.conf); echo \"on=$?\"" % WRAPPER, "on=0", ". <(socksify on)")
        say(term, t, 'echo "conf[$SOCKSIFY_CONF]"', "conf[%s]" % conf, "the config pinned as an absolute path")
        say(term, t, curl_line("A"), "A[%s] rc=0" % t.h.token, "curl after on -f")
        t.check(t.dante_saw("danted", dante_addr(T4, HTTP_PORT)), "danted did not carry the connection")
        say(term, t, 'code=$(%s on -x %s); echo "again=$?[$code]"' % (WRAPPER, DANTE), "again=2[]", "on twice")
        say(term, t, 'eval "$(%s off)"; echo "back[$LD_PRELOAD|$SOCKSIFY_LOG_LEVEL|${SOCKSIFY_CONF-unset}]"' % WRAPPER,
            "back[%s|warn|unset]" % preload, "off restores what on replaced")
    finally:
        term.close()


@test
def test_shell_on_off_in_zsh(t):
    """The code on and off print works in zsh too: curl through danted, then nothing left."""
    t.need("danted", "http")
    script = ('eval "$(%s on -x %s)" || exit 9; curl -q -sS --noproxy "" --max-time 5 %s; echo; '
              'eval "$(%s off)" || exit 9; %s' % (WRAPPER, DANTE, TARGET, WRAPPER, LEFT))
    r = t.run(["zsh", "-f", "-c", script])
    t.check(r.rc == 0 and r.out == "%s\n%s\n" % (t.h.token, left_expected(t)), "zsh: status %s, output %r" % (r.rc, r.out))
    t.check(t.dante_saw("danted", dante_addr(T4, HTTP_PORT)), "danted did not carry the connection")


@test
def test_shell_on_refuses_a_password_in_the_environment(t):
    url = "socks5://%s:%s@%s:%d" % (USER, PASSWORD, P4C, DANTE_AUTH_PORT)
    r = t.sx(["on", "-x", url])
    t.check(r.rc == 2 and r.out == "", "on -x URL-with-password: status %s, printed %r" % (r.rc, r.out))
    t.check(r.err.startswith("socksify: on: ") and r.err.count("\n") == 1 and PASSWORD not in r.err,
            "not one line, or the password is shown: %r" % r.err)
    r = t.sx(["on", "-x", DANTE, "curl"])
    t.check(r.rc == 2 and r.out == "", "on with a PROGRAM: status %s, printed %r" % (r.rc, r.out))
    r = t.sx(["off"])
    t.check(r.rc == 1 and r.out == "" and r.err.startswith("socksify: off: "), "off when off: %s %r" % (r.rc, r.err))


@test
def test_shell_words_are_programs_after_the_options(t):
    """on/off/status are subcommands as the first word only: socksify -x URL -- on runs a program called on."""
    bindir = os.path.join(t.dir, "bin")
    os.makedirs(bindir)
    with open(os.path.join(bindir, "on"), "w") as f:
        f.write("#!/bin/sh\necho ran-on\n")
    os.chmod(os.path.join(bindir, "on"), 0o755)
    env = t.env(PATH=bindir + ":" + CLEAN_PATH)
    r = t.sx(["-x", DANTE, "--", "on"], env=env)
    t.check(r.rc == 0 and r.out == "ran-on\n", "socksify -- on: %s %r %r" % (r.rc, r.out, r.err))
    r = t.sx(["-x", DANTE, "on"], env=env)
    t.check(r.rc == 0 and r.out == "ran-on\n", "socksify -x URL on: %s %r %r" % (r.rc, r.out, r.err))


def complete(t, *words):
    """The words bash completion offers for the command line words (the last one being completed)."""
    line = " ".join(words)
    script = ('source %s; source %s; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; '
              'COMP_POINT=${#COMP_LINE}; _socksify socksify "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}" '
              '2>/dev/null; printf "%%s\\n" "${COMPREPLY[@]}"' % (BASH_COMPLETION, COMPLETION))
    env = t.env(PATH=os.path.dirname(WRAPPER) + ":" + CLEAN_PATH)
    r = t.run(["bash", "-c", script, "_"] + list(words), ns=None, env=env)
    t.expect_ok(r, "completion of %r" % line)
    return set(r.out.split())


@test
def test_shell_completion(t):
    t.check(os.path.exists(BASH_COMPLETION), "no %s (scripts/deps.sh installs bash-completion)" % BASH_COMPLETION)
    cases = [
        (("socksify", "--ver"), {"--version"}, set()),
        (("socksify", "--ex"), {"--explain"}, set()),
        (("socksify", "-"), {"-f", "-x", "-q", "-v", "--help", "--print-config"}, set()),
        (("socksify", "o"), {"on", "off"}, set()),
        (("socksify", "sta"), {"status", "stat"}, set()),
        (("socksify", "-q", "o"), set(), {"on", "off"}),              # a program there, not a subcommand
        (("socksify", "on", "-"), {"-f", "-x", "-q", "-v"}, {"--explain"}),
        (("socksify", "-x", "socks5h"), {"socks5h://"}, set()),
        (("socksify", "-x", DANTE, "wget", "--no-pro"), {"--no-proxy"}, set()),   # the program's own
        (("socksify", "--", "wge"), {"wget"}, set()),
        (("socksify", "-f", os.path.join(t.dir, "my")), {os.path.join(t.dir, "my.conf")}, set()),
    ]
    t.write("my.conf", "proxy %s\n" % DANTE)
    for words, want, unwanted in cases:
        got = complete(t, *words)
        t.check(want <= got and not (unwanted & got),
                "completing %r gave %r: wanted %r, not %r" % (" ".join(words), sorted(got)[:20], sorted(want), sorted(unwanted)))
