#!/usr/bin/env bash
# Benchmark: connect rate through a two-hop chain against one hop, in the same run.
#
#   one hop   socksify -> danted -> echo server
#   two hops  socksify -> microsocks -> danted -> echo server   (chain default strict ms danted)
# Both run build/bench-connloop plain under the wrapper, alternating over rounds. danted connects
# out from 127.0.0.2, so the echo server's counts prove every connection took danted as its last hop.
# Run as root after `make all build/bench-connloop` (`make bench` does both).
set -euo pipefail

ROUNDS=${BENCH_ROUNDS:-5}
N=${BENCH_N:-1000}
BENCH=build/bench-connloop
WRAPPER=build/socksify
ME=chain.sh
source "$(dirname "$0")/lib.sh"

[[ $(id -u) -eq 0 ]] || die "must run as root (danted); try: sudo make bench"
for f in "$BENCH" build/libsocksify.so; do [[ -e "$f" ]] || die "$f is missing: run 'make bench'"; done
MICROSOCKS=$(command -v microsocks) || die "microsocks not found: run scripts/deps.sh"

TMP=$(mktemp -d /tmp/socksify-bench-chain.XXXXXX)
ECHO_PID= DANTED_PID= MS_PID=
cleanup() {
    stop_pid "$MS_PID"
    stop_pid "$DANTED_PID"
    stop_pid "$ECHO_PID"
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_echo "$TMP"
DANTE_PORT=$(free_port)
danted_conf "$TMP/danted.conf" "$DANTE_PORT" 127.0.0.2 "$TMP/danted.log"
start_danted DANTED_PID "$TMP/danted.conf" "$DANTE_PORT"
MS_PORT=$(free_port)
setsid "$MICROSOCKS" -i 127.0.0.1 -p "$MS_PORT" > "$TMP/ms.out" 2>&1 &
MS_PID=$!
wait_listen "$MS_PORT" "$MS_PID" microsocks "$TMP/ms.out"

printf 'proxy socks5://127.0.0.1:%s\ndirect_loopback no\n' "$DANTE_PORT" > "$TMP/one.conf"
printf 'proxy ms socks5://127.0.0.1:%s\nproxy danted socks5://127.0.0.1:%s\nchain default strict ms danted\ndirect_loopback no\n' \
    "$MS_PORT" "$DANTE_PORT" > "$TMP/two.conf"

run() { # CONF COUNT: conns/s
    local out
    out=$(timeout 300 "$WRAPPER" -f "$1" -- "$BENCH" plain 127.0.0.1 "$ECHO_PORT" "$2") ||
        die "client failed with $1; danted: $(tail -n 3 "$TMP/danted.log")"
    awk '$1 == "plain" { print $2 }' <<<"$out"
}

run "$TMP/one.conf" 200 > /dev/null
run "$TMP/two.conf" 200 > /dev/null
ONE="" TWO=""
echo "chain benchmark: $ROUNDS rounds x $N sequential connect+request+close"
for ((r = 0; r < ROUNDS; r++)); do
    if ((r % 2)); then t=$(run "$TMP/two.conf" "$N"); o=$(run "$TMP/one.conf" "$N");
    else o=$(run "$TMP/one.conf" "$N"); t=$(run "$TMP/two.conf" "$N"); fi
    ONE+=" $o" TWO+=" $t"
    echo "  round $((r + 1)): one hop $o, two hops $t"
done
got=$(echo_counts)
want="0 $((400 + 2 * ROUNDS * N))"
[[ "$got" == "$want" ]] || die "echo server saw $got connections from 127.0.0.1/127.0.0.2, expected $want"
M1=$(median "$ONE") M2=$(median "$TWO")
awk -v a="$M1" -v b="$M2" 'BEGIN {
    printf "  one hop  (danted):             %8.1f conns/s\n", a
    printf "  two hops (microsocks, danted): %8.1f conns/s\n", b
    printf "  two hops / one hop = %.2f   (each hop adds one TCP connect and one handshake)\n", b / a
}'
echo "  every connection reached the echo server from danted (127.0.0.2)"
