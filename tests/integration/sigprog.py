"""A program that reports the signals it gets, for the tests of the socksify command as a parent.

    sigprog.py LOG exit    logs "got N" for the first of HUP INT QUIT USR1 USR2 WINCH TERM, exits 100+N
    sigprog.py LOG count   logs "got N" for each of them, exits 0 after 30 s (or 100+N on TERM)

First it logs "ready PID PPID"; its own SIGTSTP is left at the default, so Ctrl-Z stops it.
"""
import os
import signal
import sys
import time

HANDLED = [signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2, signal.SIGWINCH,
           signal.SIGTERM]


def log(line):
    with open(sys.argv[1], "a") as f:
        f.write(line + "\n")


def on_signal(sig, _frame):
    log("got %d" % sig)
    if sys.argv[2] == "exit" or sig == signal.SIGTERM:
        os._exit(100 + sig)


def main():
    for sig in HANDLED:
        signal.signal(sig, on_signal)
    log("ready %d %d" % (os.getpid(), os.getppid()))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        time.sleep(0.05)


main()
