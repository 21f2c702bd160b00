#!/usr/bin/env bash
# Benchmark: sequential connect + request + close through a local danted.
#
# Connections per second of three clients, measured in one run against the same
# echo server and the same danted, in alternating order over a few rounds:
#   direct    build/bench-connloop plain   -> echo server            (no proxy)
#   native    build/bench-connloop socks5  -> danted -> echo server  (client speaks SOCKS5)
#   socksify  build/socksify ... bench-connloop plain -> danted -> echo server
# The key figure is socksify/native: what the preloaded library costs compared with a
# client that speaks SOCKS5 itself (1.00 = nothing).
#
# Run as root (danted needs it), after `make all build/bench-connloop`
# (`make bench` does both). BENCH_ROUNDS and BENCH_N override rounds and connections.
set -euo pipefail

ROUNDS=${BENCH_ROUNDS:-5}
N=${BENCH_N:-2000}
WARMUP=200

BENCH=build/bench-connloop
LIB=build/libsocksify.so
WRAPPER=build/socksify

ME=connect.sh
source "$(dirname "$0")/lib.sh"

[[ $(id -u) -eq 0 ]] || die "must run as root (danted switches to its privileged user root); try: sudo make bench"
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ && "$N" =~ ^[1-9][0-9]*$ ]] || die "BENCH_ROUNDS and BENCH_N must be positive integers"
for f in "$BENCH" "$LIB" "$WRAPPER"; do
    [[ -e "$f" ]] || die "$f is missing: run 'make bench' (it builds everything first)"
done

TMP=$(mktemp -d /tmp/socksify-bench.XXXXXX)
ECHO_PID=
DANTED_PID=

cleanup() {
    stop_pid "$DANTED_PID"
    stop_pid "$ECHO_PID"
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- echo server: answers one line with that line, then closes (so TIME_WAIT lands on
# the server side, not on the client's ephemeral ports). It counts served connections
# per client address; the line "stats" returns the counts. danted connects out from
# 127.0.0.2, the direct client from 127.0.0.1: that proves which way each run went.
start_echo "$TMP"

# --- danted: internal 127.0.0.1, outgoing connections from 127.0.0.2, no auth, quiet; the
# socksify config: everything here is on loopback, so loopback must not bypass.
start_loopback_danted "$TMP"

# run_client MODE COUNT: prints conns/s of one run (the second field of connloop's line).
run_client() {
    local mode=$1 count=$2 out
    case $mode in
        direct)   out=$(timeout 300 "$BENCH" plain 127.0.0.1 "$ECHO_PORT" "$count") ;;
        native)   out=$(timeout 300 "$BENCH" socks5 127.0.0.1 "$ECHO_PORT" "$count" 127.0.0.1 "$PROXY_PORT") ;;
        socksify) out=$(timeout 300 "$WRAPPER" -f "$TMP/socksify.conf" -- \
                            "$BENCH" plain 127.0.0.1 "$ECHO_PORT" "$count") ;;
    esac || die "$mode client failed (see above); danted log: $(tail -n 5 "$TMP/danted.log" 2>/dev/null)"
    local rate
    rate=$(awk '$1 == "plain" || $1 == "socks5" { print $2 }' <<<"$out" | tail -n 1)
    [[ -n "$rate" ]] || die "$mode client printed no rate: $out"
    echo "$rate"
}

# Check that the echo server saw exactly the expected connections from each address.
expect_counts() {
    local want_direct=$1 want_proxied=$2 what=$3 got
    got=$(echo_counts)
    if [[ "$got" != "$want_direct $want_proxied" ]]; then
        die "$what: echo server saw $got connections from 127.0.0.1/127.0.0.2, expected $want_direct $want_proxied (did a socksified connection bypass the proxy?)"
    fi
}

# --- warm-up (danted starts its worker processes) and routing check.
start=$SECONDS
run_client direct "$WARMUP" > /dev/null
run_client native "$WARMUP" > /dev/null
expect_counts "$WARMUP" "$WARMUP" "warm-up"
run_client socksify "$WARMUP" > /dev/null
expect_counts "$WARMUP" $((2 * WARMUP)) "socksify warm-up"

# --- measured rounds, rotating the order so no client always runs first or last.
MODES=(direct native socksify)
declare -A RESULTS=([direct]="" [native]="" [socksify]="")
echo "socksify benchmark: $ROUNDS rounds x $N sequential connect+request+close per client"
for ((r = 0; r < ROUNDS; r++)); do
    line="  round $((r + 1)):"
    for ((k = 0; k < 3; k++)); do
        mode=${MODES[$(((r + k) % 3))]}
        rate=$(run_client "$mode" "$N")
        RESULTS[$mode]+="${RESULTS[$mode]:+ }$rate"
        line+=" $mode $rate"
    done
    echo "$line"
done
expect_counts $((WARMUP + ROUNDS * N)) $((2 * WARMUP + 2 * ROUNDS * N)) "after the rounds"

MED_DIRECT=$(median "${RESULTS[direct]}")
MED_NATIVE=$(median "${RESULTS[native]}")
MED_SOCKSIFY=$(median "${RESULTS[socksify]}")

row() { # LABEL MEDIAN RATES
    awk -v l="$1" -v m="$2" -v r="$3" 'BEGIN { printf "  %-40s %10.1f %9.1f   %s\n", l, m, 1e6 / m, r }'
}
echo
DANTE_VERSION=$("$DANTED" -v 2>&1 | grep -o 'v[0-9][0-9.]*[0-9]' | head -n 1 || true)
echo "results (median of $ROUNDS rounds; echo server and danted ${DANTE_VERSION:-} on 127.0.0.1)"
printf '  %-40s %10s %9s   %s\n' "client" "conns/s" "us/conn" "all rounds"
row "direct, no proxy" "$MED_DIRECT" "${RESULTS[direct]}"
row "native: client speaks SOCKS5 to danted" "$MED_NATIVE" "${RESULTS[native]}"
row "socksify: plain client under LD_PRELOAD" "$MED_SOCKSIFY" "${RESULTS[socksify]}"
echo
awk -v s="$MED_SOCKSIFY" -v n="$MED_NATIVE" -v d="$MED_DIRECT" \
    -v ss="${RESULTS[socksify]}" -v ns="${RESULTS[native]}" 'BEGIN {
    printf "  socksify / native = %.2f   (key figure: 1.00 means socksify costs nothing over a hand-written SOCKS5 client)\n", s / n
    k = split(ss, sv, " "); split(ns, nv, " ")
    printf "      per round:"
    for (i = 1; i <= k; i++) printf " %.2f", sv[i] / nv[i]
    printf "   (run-to-run noise through danted is often +-10%% on a 2-core machine)\n"
    printf "  native / direct   = %.2f   (what going through danted costs at all)\n", n / d
}'
echo "  all $((ROUNDS * N)) socksified connections were seen arriving from danted (127.0.0.2); bench took $((SECONDS - start)) s"
echo "  note: the target is a Python asyncio echo server, which bounds the direct figure."
