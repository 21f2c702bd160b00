#!/usr/bin/env bash
# Benchmark: many concurrent non-blocking connects from one event loop, through a slow proxy.
#
# tests/bench/asyncio_conns.py opens N connections at once from one asyncio loop (non-blocking
# sockets: connect() is expected to return EINPROGRESS), sends a line, reads the echo. The proxy,
# tests/bench/delayproxy.py, waits DELAY (0.1 s) before it connects upstream, so
#   serial handshakes (the handshake runs inside connect())   take about N x DELAY,
#   concurrent handshakes (the handshake runs in the background) take about one DELAY.
# For N in 40 and 400, over a few rounds in rotating order:
#   direct       asyncio_conns.py -> echo server                            (no proxy: baseline)
#   socksify     build/socksify -f CONF -- asyncio_conns.py -> delayproxy -> echo server
#   proxychains  proxychains4 -q -f CONF asyncio_conns.py     -> delayproxy -> echo server
#   ideal        DELAY + the direct time
# and the ratios proxychains/socksify (above 1: socksify is faster) and socksify/ideal (1.00:
# the handshakes overlap perfectly). A run that takes longer than BENCH_EV_LONG seconds (3) is
# not repeated: that is a serial client, whose time is N x DELAY to within a few percent anyway;
# this keeps the whole script under two minutes even while both tools are serial (proxychains4
# always is: it makes the socket blocking for the handshake, about 41 s at N=400).
#
# Then the blocking path, so a regression there shows too: build/bench-connloop (sequential
# blocking connect + request + close) under socksify against a client that speaks SOCKS5 itself,
# both through danted, as tests/bench/connect.sh does; the key figure is socksify/native (the median
# of the per-round ratios).
#
# Every run is checked: delayproxy counts the CONNECTs it carried and the echo server counts the
# connections per source address (direct from 127.0.0.1, via danted from 127.0.0.2, via
# delayproxy from 127.0.0.3), so a connection that bypassed the proxy fails the benchmark.
# delayproxy also reports how many handshakes waited in its delay at the same time (peak): 1
# means the client's handshakes did not overlap at all.
#
# Run from anywhere as root (danted needs it) after `make all build/bench-connloop` (`make bench`
# does both). Everything listens on 127.0.0.1 on ports the kernel picks. Environment:
# BENCH_EV_ROUNDS (3), BENCH_EV_NS ("40 400"), BENCH_EV_DELAY (0.1), BENCH_EV_LONG (3),
# BENCH_EV_BLOCK_N (1000 connections per blocking run), BENCH_EV_BLOCK_ROUNDS (5).
set -euo pipefail

ROUNDS=${BENCH_EV_ROUNDS:-3}
NS=${BENCH_EV_NS:-"40 400"}
DELAY=${BENCH_EV_DELAY:-0.1}
LONG=${BENCH_EV_LONG:-3}
BLOCK_N=${BENCH_EV_BLOCK_N:-1000}
BLOCK_ROUNDS=${BENCH_EV_BLOCK_ROUNDS:-5}
BLOCK_WARMUP=200

BENCH=build/bench-connloop
LIB=build/libsocksify.so
WRAPPER=build/socksify
CONNS=tests/bench/asyncio_conns.py
DELAYPROXY=tests/bench/delayproxy.py

ME=eventloop.sh
source "$(dirname "$0")/lib.sh"

[[ $(id -u) -eq 0 ]] || die "must run as root (danted switches to its privileged user root); try: sudo make bench"
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ && "$BLOCK_N" =~ ^[1-9][0-9]*$ && "$BLOCK_ROUNDS" =~ ^[1-9][0-9]*$ ]] ||
    die "BENCH_EV_ROUNDS, BENCH_EV_BLOCK_N and BENCH_EV_BLOCK_ROUNDS must be positive integers"
for n in $NS; do [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "BENCH_EV_NS must list positive integers"; done
[[ "$DELAY" =~ ^[0-9]+(\.[0-9]+)?$ && "$LONG" =~ ^[0-9]+(\.[0-9]+)?$ ]] ||
    die "BENCH_EV_DELAY and BENCH_EV_LONG must be numbers of seconds"
for f in "$BENCH" "$LIB" "$WRAPPER" "$CONNS" "$DELAYPROXY"; do
    [[ -e "$f" ]] || die "$f is missing: run 'make bench' (it builds everything first)"
done
PROXYCHAINS=$(command -v proxychains4) || die "proxychains4 not found: run scripts/deps.sh"

TMP=$(mktemp -d /tmp/socksify-bench-eventloop.XXXXXX)
ECHO_PID='' DP_PID='' DANTED_PID=''
cleanup() {
    stop_pid "$DANTED_PID"
    stop_pid "$DP_PID"
    stop_pid "$ECHO_PID"
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
start=$SECONDS

# --- servers: the echo server, delayproxy (upstream from 127.0.0.3), danted (from 127.0.0.2).
start_echo "$TMP"

setsid "$PY" "$DELAYPROXY" "$TMP/dp.port" --delay "$DELAY" --source 127.0.0.3 > "$TMP/dp.log" 2>&1 &
DP_PID=$!
wait_port_file DP_PORT "$TMP/dp.port" "$DP_PID" "delayproxy" "$TMP/dp.log"
wait_listen "$DP_PORT" "$DP_PID" delayproxy "$TMP/dp.log"

DANTE_PORT=$(free_port)
danted_conf "$TMP/danted.conf" "$DANTE_PORT" 127.0.0.2 "$TMP/danted.log"
start_danted DANTED_PID "$TMP/danted.conf" "$DANTE_PORT"

# --- client configurations. Everything is on loopback, so loopback must not bypass the proxy:
# socksify needs `direct_loopback no`; proxychains gets no localnet line.
printf 'proxy socks5://127.0.0.1:%s\ndirect_loopback no\n' "$DP_PORT" > "$TMP/socksify.conf"
printf 'proxy socks5://127.0.0.1:%s\ndirect_loopback no\n' "$DANTE_PORT" > "$TMP/socksify-danted.conf"
cat > "$TMP/proxychains.conf" <<EOF
strict_chain
quiet_mode
tcp_connect_time_out 8000
tcp_read_time_out 15000
[ProxyList]
socks5 127.0.0.1 $DP_PORT
EOF

# kv LINE KEY: the value of KEY=VALUE in LINE (0 if absent).
kv() {
    awk -v k="$2" '{ for (i = 1; i <= NF; i++) { split($i, p, "="); if (p[1] == k) { print p[2]; f = 1 } } }
                   END { if (!f) print 0 }' <<<"$1"
}
echo_from() { # ECHO_STATS: "A B C", the connections served to 127.0.0.1, .2 and .3
    echo "$(kv "$1" 127.0.0.1) $(kv "$1" 127.0.0.2) $(kv "$1" 127.0.0.3)"
}

# run_async MODE N: one asyncio_conns.py run; prints "ELAPSED PEAK" (PEAK: the most handshakes
# that waited in delayproxy's delay at the same time; 0 for direct). Checks that the proxy
# carried exactly N connections (none for direct) and that they reached the echo server from it.
run_async() {
    local mode=$1 n=$2 limit out dp0 dp1 e0 e1 el want
    limit=$(awk -v n="$n" -v d="$DELAY" 'BEGIN { printf "%d", 30 + 2 * n * d }')
    dp0=$(stats_of "$DP_PORT")  # also resets delayproxy's peak counters
    e0=$(echo_from "$(stats_of "$ECHO_PORT")")
    local client=("$PY" "$CONNS" 127.0.0.1 "$ECHO_PORT" "$n" --timeout "$((limit - 5))")
    case $mode in
        direct)      out=$(timeout "$limit" "${client[@]}") ;;
        socksify)    out=$(timeout "$limit" "$WRAPPER" -f "$TMP/socksify.conf" -- "${client[@]}") ;;
        proxychains) out=$(timeout "$limit" "$PROXYCHAINS" -q -f "$TMP/proxychains.conf" "${client[@]}") ;;
    esac || die "$mode client with N=$n failed or timed out after $limit s (see above); delayproxy: $(tail -n 3 "$TMP/dp.log")"
    el=$(awk '$1 == "asyncio-conns" { for (i = 2; i <= NF; i++) if ($i ~ /^elapsed=/) print substr($i, 9) }' <<<"$out")
    [[ -n "$el" ]] || die "$mode client printed no elapsed time: $out"
    dp1=$(stats_of "$DP_PORT")
    e1=$(echo_from "$(stats_of "$ECHO_PORT")")
    local got_dp=$(($(kv "$dp1" connects) - $(kv "$dp0" connects)))
    local got_e
    got_e=$(awk -v a="$e0" -v b="$e1" 'BEGIN { split(a, x, " "); split(b, y, " "); print y[1] - x[1], y[2] - x[2], y[3] - x[3] }')
    if [[ $mode == direct ]]; then want="0 / $n 0 0"; else want="$n / 0 0 $n"; fi
    [[ "$got_dp / $got_e" == "$want" ]] ||
        die "$mode N=$n: delayproxy carried $got_dp connections and the echo server saw $got_e from 127.0.0.1/.2/.3; expected $want (did a connection bypass the proxy?)"
    echo "$el $(kv "$dp1" peak_waiting)"
}

# run_block MODE COUNT: conns/s of build/bench-connloop (blocking connects) through danted.
run_block() {
    local mode=$1 n=$2 out e0 e1 rate
    e0=$(echo_from "$(stats_of "$ECHO_PORT")")
    case $mode in
        native)   out=$(timeout 300 "$BENCH" socks5 127.0.0.1 "$ECHO_PORT" "$n" 127.0.0.1 "$DANTE_PORT") ;;
        socksify) out=$(timeout 300 "$WRAPPER" -f "$TMP/socksify-danted.conf" -- "$BENCH" plain 127.0.0.1 "$ECHO_PORT" "$n") ;;
    esac || die "blocking $mode client failed (see above); danted log: $(tail -n 5 "$TMP/danted.log" 2>/dev/null)"
    rate=$(awk '$1 == "plain" || $1 == "socks5" { print $2 }' <<<"$out" | tail -n 1)
    [[ -n "$rate" ]] || die "blocking $mode client printed no rate: $out"
    e1=$(echo_from "$(stats_of "$ECHO_PORT")")
    local got
    got=$(awk -v a="$e0" -v b="$e1" 'BEGIN { split(a, x, " "); split(b, y, " "); print y[1] - x[1], y[2] - x[2], y[3] - x[3] }')
    [[ "$got" == "0 $n 0" ]] ||
        die "blocking $mode: echo server saw $got connections from 127.0.0.1/.2/.3, expected 0 $n 0"
    echo "$rate"
}

gt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a > b) }'; }

# --- warm-up: every client once with a few connections (also proves the routing).
for mode in direct socksify proxychains; do run_async "$mode" 4 > /dev/null; done
run_block native "$BLOCK_WARMUP" > /dev/null
run_block socksify "$BLOCK_WARMUP" > /dev/null

MODES=(direct socksify proxychains)
declare -A RES PEAK SKIP
SUMMARY=()
echo "event-loop benchmark: asyncio clients opening N connections at once through a SOCKS5 proxy that waits $DELAY s before connecting upstream; $ROUNDS rounds"
for n in $NS; do
    SKIP=()
    for ((r = 0; r < ROUNDS; r++)); do
        line="  N=$n round $((r + 1)):"
        for ((k = 0; k < 3; k++)); do
            mode=${MODES[$(((r + k) % 3))]}
            [[ -z "${SKIP[$mode]:-}" ]] || continue
            res=$(run_async "$mode" "$n")
            read -r el pk <<<"$res"
            RES[$n,$mode]+="${RES[$n,$mode]:+ }$el"
            [[ -n "${PEAK[$n,$mode]:-}" ]] && ((PEAK[$n,$mode] <= pk)) || PEAK[$n,$mode]=$pk  # the lowest
            line+=" $mode ${el}s"
            [[ $mode == direct ]] || line+=" (peak $pk)"
            if gt "$el" "$LONG"; then
                SKIP[$mode]=1
                line+=" [over ${LONG}s: not repeated]"
            fi
        done
        echo "$line"
    done
    md=$(median "${RES[$n,direct]}") ms=$(median "${RES[$n,socksify]}") mp=$(median "${RES[$n,proxychains]}")
    SUMMARY+=("$(awk -v n="$n" -v d="$DELAY" -v md="$md" -v ms="$ms" -v mp="$mp" \
        -v ks="$(wc -w <<<"${RES[$n,socksify]}")" -v kp="$(wc -w <<<"${RES[$n,proxychains]}")" \
        -v ps="${PEAK[$n,socksify]}" -v pp="${PEAK[$n,proxychains]}" 'BEGIN {
        ideal = d + md
        printf "N=%-4d concurrent connects: socksify %.3f s, proxychains4 %.3f s, ideal %.3f s (delay %.3f + direct %.3f; serial would be %.1f s)", n, ms, mp, ideal, d, md, n * d
        printf "; proxychains/socksify %.2f, socksify/ideal %.2f; overlapping handshakes (lowest peak over the runs) socksify %d/%d, proxychains %d/%d", mp / ms, ms / ideal, ps, n, pp, n
        if (ks < 3 || kp < 3) printf "; runs: socksify %d, proxychains %d", ks, kp
    }')")
done

# --- the blocking path: sequential blocking connects, socksify against a native SOCKS5 client,
# in alternating order; the figure is the median of the per-round ratios (danted on a busy
# machine is noisy: +-10% between rounds is common).
BN="" BS="" BR=""
for ((r = 0; r < BLOCK_ROUNDS; r++)); do
    if ((r % 2)); then s=$(run_block socksify "$BLOCK_N"); nv=$(run_block native "$BLOCK_N")
    else nv=$(run_block native "$BLOCK_N"); s=$(run_block socksify "$BLOCK_N"); fi
    BN+="${BN:+ }$nv" BS+="${BS:+ }$s"
    BR+="${BR:+ }$(awk -v a="$s" -v b="$nv" 'BEGIN { printf "%.3f", a / b }')"
done
echo "  blocking, $BLOCK_ROUNDS rounds x $BLOCK_N: native $BN conns/s; socksify $BS conns/s"
mn=$(median "$BN") msx=$(median "$BS") mr=$(median "$BR")
SUMMARY+=("$(awk -v n="$mn" -v s="$msx" -v r="$mr" -v rs="$BR" -v c="$BLOCK_N" 'BEGIN {
    printf "blocking connect (bench-connloop, %d sequential, via danted): socksify %.0f conns/s, native SOCKS5 client %.0f conns/s; socksify/native %.2f (%+.0f us per connect; rounds: %s)", c, s, n, r, 1e6 / s - 1e6 / n, rs
}')")

echo
echo "results (medians; every proxied connection was counted by the proxy and seen arriving from it)"
for l in "${SUMMARY[@]}"; do echo "  $l"; done
echo "  eventloop.sh took $((SECONDS - start)) s"
