#!/usr/bin/env bash
# Benchmark of remote names: getaddrinfo + connect + request + close per second through
# socksify and a local danted, with a name the proxy resolves (a fake address, the name sent
# in the SOCKS request) versus the numeric address (the plain path), measured in one run.
# Then the memory of the fake-address map after 100 000 distinct names; lookups through a
# session's shared map (a hit, names another process added, and the system calls of hits, by
# strace -c); and connects by name spread over 20 processes of one session against one process.
#
# danted runs in a mount namespace of its own whose /etc/hosts knows bench.sx.test, so
# only the proxy can resolve that name, as in real use. Run as root after
# `make all build/bench-connloop build/bench-fakedns` (`make bench` does it).
set -euo pipefail
ME=dns.sh
source "$(dirname "$0")/lib.sh"

ROUNDS=${BENCH_ROUNDS:-5}
N=${BENCH_N:-2000}
BENCH=build/bench-connloop
[[ $(id -u) -eq 0 ]] || die "must run as root (danted, unshare); try: sudo make bench"
LOOKUP=build/bench-session-lookup
SPREAD_N=${BENCH_SPREAD_N:-10000}
SPREAD_ROUNDS=${BENCH_SPREAD_ROUNDS:-3}
for f in "$BENCH" build/bench-fakedns "$LOOKUP" build/libsocksify.so build/socksify; do
    [[ -e "$f" ]] || die "$f is missing: run 'make bench'"
done

TMP=$(mktemp -d /tmp/socksify-bench-dns.XXXXXX)
ECHO_PID= DANTED_PID=
cleanup() { stop_pid "$DANTED_PID"; stop_pid "$ECHO_PID"; rm -rf "$TMP"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

ECHO_PORT=$(free_port)
cat > "$TMP/echo.py" <<'PYEOF'
import asyncio, sys
async def echo(r, w):
    w.write(await r.readline()); await w.drain(); w.close()
async def main():
    s = await asyncio.start_server(echo, "127.0.0.1", int(sys.argv[1]), backlog=512)
    await s.serve_forever()
asyncio.run(main())
PYEOF
setsid "$PY" "$TMP/echo.py" "$ECHO_PORT" > "$TMP/echo.log" 2>&1 &
ECHO_PID=$!
wait_listen "$ECHO_PORT" "$ECHO_PID" "echo server" "$TMP/echo.log"

PROXY_PORT=$(free_port)
{ cat /etc/hosts; echo "127.0.0.1 bench.sx.test"; } > "$TMP/hosts"
danted_conf "$TMP/danted.conf" "$PROXY_PORT" 127.0.0.1 "$TMP/danted.log"
start_danted DANTED_PID "$TMP/danted.conf" "$PROXY_PORT" "$TMP/hosts"
printf 'proxy socks5h://127.0.0.1:%s\ndirect_loopback no\n' "$PROXY_PORT" > "$TMP/socksify.conf"

if getent hosts bench.sx.test > /dev/null; then
    die "bench.sx.test resolves locally: the name benchmark would not be remote"
fi

rate() { # HOST: conns/s of one run
    local out
    out=$(timeout 300 build/socksify -f "$TMP/socksify.conf" -- "$BENCH" lookup "$1" "$ECHO_PORT" "$N") ||
        die "client for $1 failed: $out; danted: $(tail -n 3 "$TMP/danted.log" 2>/dev/null)"
    awk '$1 == "lookup" { print $2 }' <<<"$out"
}
rate bench.sx.test > /dev/null   # warm-up
echo "socksify remote-DNS benchmark: $ROUNDS rounds x $N getaddrinfo+connect+request+close"
names="" numeric=""
for ((r = 0; r < ROUNDS; r++)); do
    a=$(rate bench.sx.test)
    b=$(rate 127.0.0.1)
    names+=" $a"
    numeric+=" $b"
    echo "  round $((r + 1)): name $a  numeric $b"
done
awk -v a="$(median "$names")" -v b="$(median "$numeric")" 'BEGIN {
    printf "  remote name (fake address, name sent to danted)  %8.1f conns/s\n", a
    printf "  numeric address                                  %8.1f conns/s\n", b
    printf "  name / numeric = %.2f   (1.00: remote names cost nothing extra)\n", a / b }'
echo
build/bench-fakedns
echo

# Lookups through a session's map: every process of a `socksify` run maps the same file.
echo "session name lookups (getaddrinfo of a remote name, one socksify session):"
build/socksify -f "$TMP/socksify.conf" -- bash -c "
    $LOOKUP hit 200000 && $LOOKUP fill 5000 other && $LOOKUP cross 5000 other &&
    strace -f -c -o $TMP/strace.10 $LOOKUP hit 10 > /dev/null &&
    strace -f -c -o $TMP/strace.100k $LOOKUP hit 100000 > /dev/null" > "$TMP/lookup.out" || die "session lookups failed"
awk '{ printf "  %-14s %8.0f ns/op\n", $1, $2 }' "$TMP/lookup.out"
calls() { awk '$NF == "total" { print $(NF - 2) }' "$1"; }
a=$(calls "$TMP/strace.10") b=$(calls "$TMP/strace.100k")
echo "  system calls of a whole process: $a with 10 hits, $b with 100 000 (equal: a hit makes none)"
[[ "$a" == "$b" ]] || echo "  WARNING: hits make system calls"
echo

# N connects by name spread over P processes of one session: wall clock from the command's start.
spread() { # P: conns/s
    local p=$1 t0 t1
    t0=$(date +%s.%N)
    timeout 600 build/socksify -f "$TMP/socksify.conf" -- bash -c "
        pids=()
        for ((i = 0; i < $p; i++)); do $BENCH lookup bench.sx.test $ECHO_PORT $((SPREAD_N / p)) > /dev/null & pids+=(\$!); done
        for pid in \${pids[@]}; do wait \$pid || exit 1; done" || die "connects by name over $p processes failed"
    t1=$(date +%s.%N)
    awk -v n="$SPREAD_N" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", n / (b - a) }'
}
echo "$SPREAD_N connects by name (getaddrinfo+connect+request+close), one process vs 20 of one session:"
one="" twenty=""
for ((r = 0; r < SPREAD_ROUNDS; r++)); do
    a=$(spread 1)
    b=$(spread 20)
    one+=" $a"
    twenty+=" $b"
    echo "  round $((r + 1)): 1 process $a  20 processes $b conns/s"
done
awk -v a="$(median "$one")" -v b="$(median "$twenty")" 'BEGIN {
    printf "  20 processes / 1 process = %.2f   (goal: at least 0.90)\n", b / a }'
