#!/usr/bin/env bash
# ThreadSanitizer pass over socksify's threaded code paths (`make check-tsan`, part of `make check`).
#
#   tests/tsan/run.sh [build-tsan/tsan-stress]      as root, from the repository root
#
# build-tsan/tsan-stress is tests/tsan/stress.c linked with the preload/ and core/ objects, all
# built with -fsanitize=thread (see the comment at the top of stress.c for what it does). This
# script:
#   1. runs `tsan-stress canary`, a deliberate data race, and insists that TSan reports it with
#      exit status 66: the pass cannot silently run without the sanitizer;
#   2. starts danted on 127.0.0.1:<free port>, connecting out from 127.0.0.2 and relaying UDP
#      (servers.sh's danted_conf with UDP rules, logging each association's start and end), in a
#      private mount namespace whose /etc/hosts maps the test names (e0.tsan.test,
#      e0.dyn.tsan.test, ...) to 127.0.0.1: the proxy resolves them, while the test program
#      (which sees the real /etc/hosts) gets fake addresses for them, as names meant for the
#      proxy do;
#   3. runs `tsan-stress run` (about 5-10 s) under a hard time limit, with TSAN_OPTIONS
#      halt_on_error=1 exitcode=66 io_sync=0: TSan's default io_sync=1 takes every write to a
#      socket as happening before every later read from a socket, in any thread, which can hide
#      races between threads that do network I/O (all of them, here);
#   4. checks socksify's log: every chain skipped its dead proxy at least once, and no errors;
#   5. checks the UDP totals the stress printed (associations made, datagrams sent) against
#      socksify's log (one "UDP association for ...: ok" line each) and danted's (one start and
#      one end line per association, the end line counting the datagrams the client sent).
# Any TSan report (log_path files, one per process) fails the run and is shown, with the tails of
# socksify's and danted's logs. danted and the temp dir are removed on every exit path.
#
# Environment: TSAN_STRESS_LIMIT (seconds for the stress run, default 60), STRESS_* (see
# stress.c), TSAN_OPTIONS (appended to ours: e.g. TSAN_OPTIONS=halt_on_error=0 shows every
# report), SOCKSIFY_TSAN_KEEP=1 keeps the temp dir.
set -euo pipefail

BIN=${1:-build-tsan/tsan-stress}
LIMIT=${TSAN_STRESS_LIMIT:-60}

ME=tsan/run.sh
source "$(dirname "$0")/../../scripts/servers.sh"

[[ $(id -u) -eq 0 ]] || die "must run as root (danted, and a private mount namespace for its /etc/hosts)"
[[ -x "$BIN" ]] || die "$BIN is missing: run 'make check-tsan' (it builds it first)"
[[ -x "$DANTED" ]] || die "danted not found: run scripts/deps.sh"
command -v unshare > /dev/null || die "unshare (util-linux) not found"

TMP=$(mktemp -d /tmp/socksify-tsan.XXXXXX)
DANTED_PID=
cleanup() {
    local rc=$?
    stop_pid "$DANTED_PID"
    if [[ "${SOCKSIFY_TSAN_KEEP:-}" == 1 ]]; then
        echo "$ME: kept $TMP" >&2
    else
        rm -rf "$TMP"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

BASE_OPTIONS="halt_on_error=1 exitcode=66 io_sync=0 history_size=7 second_deadlock_stack=1"
start=$SECONDS

# --- 1. the canary: TSan must catch a plain race and exit with 66.
rc=0
TSAN_OPTIONS="$BASE_OPTIONS log_path=$TMP/canary" timeout -k 5 30 "$BIN" canary > "$TMP/canary.out" 2>&1 || rc=$?
if [[ $rc -ne 66 ]] || ! grep -qs "WARNING: ThreadSanitizer: data race" "$TMP"/canary.*; then
    cat "$TMP"/canary.* >&2 || true
    die "the canary's deliberate race was not reported (exit status $rc, expected 66): is $BIN built with -fsanitize=thread?"
fi
echo "$ME: canary race reported by ThreadSanitizer (exit status 66), as it must be"

# --- 2. danted, resolving the test names through a private /etc/hosts.
{ echo "127.0.0.1 localhost"; "$BIN" hosts; } > "$TMP/hosts"
PROXY_PORT=$(free_port)
danted_conf "$TMP/danted.conf" "$PROXY_PORT" 127.0.0.2 "$TMP/danted.log" "connect disconnect error"
start_danted DANTED_PID "$TMP/danted.conf" "$PROXY_PORT" "$TMP/hosts"

show_logs() {
    local f
    for f in "$TMP"/tsan.*; do
        [[ -e "$f" ]] || continue
        echo "----- ThreadSanitizer report: $f" >&2
        cat "$f" >&2
    done
    echo "----- socksify log (last 30 lines)" >&2
    tail -n 30 "$TMP/socksify.log" >&2 2>/dev/null || true
    echo "----- danted log (last 20 lines)" >&2
    tail -n 20 "$TMP/danted.log" "$TMP/danted.out" >&2 2>/dev/null || true
}

# --- 3. the stress run.
rc=0
# (pipefail: rc is the stress's status; tee keeps its output for step 5)
TSAN_OPTIONS="$BASE_OPTIONS log_path=$TMP/tsan ${TSAN_OPTIONS:-}" \
    timeout -k 5 "$LIMIT" "$BIN" run "$TMP/socksify.conf" "$PROXY_PORT" "$TMP/socksify.log" | tee "$TMP/stress.out" || rc=$?
if [[ $rc -ne 0 ]] || compgen -G "$TMP/tsan.*" > /dev/null; then
    show_logs
    case $rc in
        66)  die "ThreadSanitizer reported a problem (exit status 66): see the report above" ;;
        124) die "the stress run did not finish within $LIMIT s (TSAN_STRESS_LIMIT)" ;;
        0)   die "ThreadSanitizer wrote a report although the run passed: see above" ;;
        *)   die "the stress run failed (exit status $rc): see above" ;;
    esac
fi

# --- 4. socksify's own account: the dead proxy was skipped by every chain, nothing failed.
for chain in dyn rr rnd; do
    n=$(grep -c "chain $chain: proxy dead failed" "$TMP/socksify.log" || true)
    if [[ $n -lt 1 ]]; then
        show_logs
        die "socksify's log shows no skipped dead proxy in chain $chain: the down-mark path did not run"
    fi
    echo "$ME: chain $chain skipped the dead proxy $n times"
done
if grep -q ": error: " "$TMP/socksify.log"; then
    show_logs
    die "socksify logged errors although every connection succeeded"
fi

# --- 5. the UDP associations, as the stress, socksify and danted account for them.
read -r want_assocs want_datagrams < <(sed -n 's/^stress: UDP totals: \([0-9]*\) associations, \([0-9]*\) datagrams$/\1 \2/p' \
    "$TMP/stress.out") || true
[[ -n "${want_datagrams:-}" ]] || die "the stress printed no UDP totals"
n=$(grep -c "UDP association for .*: ok (" "$TMP/socksify.log" || true)
if [[ $n -ne $want_assocs ]]; then
    show_logs
    die "socksify's log shows $n UDP associations made, the stress counted $want_assocs"
fi
# "STARTED ENDED DATAGRAMS": danted's udpassociate lines; an end line ("]:") comes once the
# association's control connection closed (when the stress exited), its first "BYTES/PACKETS"
# what the client sent.
danted_udp() {
    awk '/udp\/udpassociate \[:/ { s++ }
         /udp\/udpassociate \]:/ { n++; for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+\/[0-9]+$/) { split($i, a, "/"); p += a[2]; break } }
         END { print s + 0, n + 0, p + 0 }' "$TMP/danted.log" 2> /dev/null || echo 0 0 0
}
for ((i = 0; i < 100; i++)); do   # danted logs the ends a moment after the stress exits: at most 5 s
    read -r started ended datagrams < <(danted_udp)
    ((ended >= want_assocs)) && break
    sleep 0.05
done
if [[ "$started $ended $datagrams" != "$want_assocs $want_assocs $want_datagrams" ]]; then
    show_logs
    die "danted's log shows $started UDP associations started and $ended ended, carrying $datagrams datagrams from the" \
        "client; the stress made $want_assocs, sending $want_datagrams"
fi
echo "$ME: UDP: $want_assocs associations, $want_datagrams datagrams, in the stress's count, socksify's log and danted's"
echo "$ME: ok, no data race reported ($((SECONDS - start)) s)"
