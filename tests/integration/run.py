#!/usr/bin/python3
"""Integration tests for socksify (Python stdlib only; run as root).

usage: run.py [--list] [-v] [PATTERN ...]
  PATTERN   run only tests whose name contains PATTERN (or matches it as a shell glob)
  --list    print the test names and exit
  -v        also print the commands and logs of tests that pass

Three network namespaces, unique to the run:
  C (client) 10.77.1.2/24 fd77:1::2/64  <-veth->  P (proxy) 10.77.1.1/24 fd77:1::1/64
                                                  P          10.77.2.1/24 fd77:2::1/64  <-veth->  T (target) 10.77.2.2/24 fd77:2::2/64
No default routes and no forwarding: from C only P is reachable, so a client in C reaches T only
through a SOCKS proxy running in P. Servers: in T an HTTP server (serving a random token) and a
TCP echo server; in P danted (no auth, and username auth against a namespace-private
/etc/passwd + /etc/shadow), microsocks (no auth, user/pass, percent-encoded credentials, IPv6),
and fakeproxy.py (fault injection); in C an echo server on loopback (for direct_loopback).

Every test prints PASS or FAIL (with the reason and the commands/logs); the last line is
"N passed, N failed"; the exit status is 1 if any test failed. Everything created (namespaces,
processes, temporary files, /etc/netns/<ns>) is removed on exit, on failure, and on SIGINT/SIGTERM.

This file is the entry point only; the harness is in harness.py, testcase.py, procs.py and
topology.py, the tests in test_*.py (see README.md).
"""
import atexit
import fnmatch
import glob
import importlib
import os
import signal
import sys
import time
import traceback

from harness import Harness
from testcase import TESTS, T, TestFailure
from topology import CLEAN_PATH, HERE

FIRST_MODULES = ["test_sanity"]  # preconditions first: when they fail, they explain the other failures


def load_tests():
    """Imports every test_*.py here (FIRST_MODULES first, the others by name); each registers its tests."""
    found = sorted(os.path.basename(p)[:-len(".py")] for p in glob.glob(os.path.join(HERE, "test_*.py")))
    for name in FIRST_MODULES + [m for m in found if m not in FIRST_MODULES]:
        importlib.import_module(name)


def select_tests(patterns):
    if not patterns:
        return list(TESTS)
    return [(n, f) for n, f in TESTS if any(p in n or fnmatch.fnmatch(n, p) for p in patterns)]


def indent(text, prefix):
    return "\n".join(prefix + l for l in text.split("\n"))


def print_records(t):
    for r in t.records:
        print(indent(r.describe(), "    "))


def print_server_logs(h, t):
    """The part of each server log that the test looked at (t.need) written during the test."""
    for path in t.logs_to_show:
        print("    --- %s (this test's part):" % os.path.basename(path))
        name_for = [n for n, s in h.servers.items() if s.watch_log == path]
        text = t.server_log_since(name_for[0]) if name_for else ""
        lines = text.rstrip("\n").split("\n")[-30:] if text.strip() else ["(nothing)"]
        print("\n".join("    | " + l for l in lines))


def main(argv):
    verbose = False
    patterns = []
    load_tests()
    for a in argv:
        if a == "--list":
            for n, _ in TESTS:
                print(n)
            return 0
        elif a in ("-v", "--verbose"):
            verbose = True
        elif a in ("-h", "--help"):
            print(__doc__)
            return 0
        else:
            patterns.append(a)
    selected = select_tests(patterns)
    if not selected:
        print("no test matches %s" % " ".join(patterns))
        print("0 passed, 1 failed")
        return 1

    # Tools live in /usr/sbin etc.; a caller's PATH (sudo, pyenv) may lack them. Python is always PY.
    os.environ["PATH"] = CLEAN_PATH + ":" + os.environ.get("PATH", "")
    h = Harness()

    def on_signal(signum, _frame):
        raise KeyboardInterrupt("signal %d" % signum)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    atexit.register(h.cleanup)

    passed = failed = 0
    started = time.monotonic()
    try:
        print("socksify integration tests: run %s, namespaces %s, %d tests" % (
            h.id, " ".join(h.ns[k] for k in "cpt"), len(selected)), flush=True)
        if os.geteuid() != 0:
            h.setup_error = "must run as root (network namespaces)"
        else:
            try:
                h.setup()
            except Exception as e:  # noqa: BLE001
                h.setup_error = "%s\n%s" % (e, traceback.format_exc())
        for name, fn in selected:
            t0 = time.monotonic()
            t = None
            reason = None
            try:
                if h.setup_error:
                    raise TestFailure("setup failed: " + h.setup_error)
                t = T(h, name)
                fn(t)
            except TestFailure as e:
                reason = str(e)
            except KeyboardInterrupt:
                raise
            except Exception:  # noqa: BLE001 - a harness error is a failure too
                reason = "exception in test:\n" + traceback.format_exc()
            dt = time.monotonic() - t0
            if reason is None:
                passed += 1
                print("PASS %s (%.1fs)" % (name, dt), flush=True)
                if verbose and t:
                    print_records(t)
            else:
                failed += 1
                print("FAIL %s (%.1fs): %s" % (name, dt, reason), flush=True)
                if t:
                    print_records(t)
                    print_server_logs(h, t)
                sys.stdout.flush()
    except KeyboardInterrupt as e:
        print("\ninterrupted (%s): cleaning up" % e, flush=True)
        failed += 1
    finally:
        h.cleanup()
    print("(%.1fs)" % (time.monotonic() - started))
    print("%d passed, %d failed" % (passed, failed), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
