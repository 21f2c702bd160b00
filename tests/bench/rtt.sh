#!/usr/bin/env bash
# Benchmark: round trips per CONNECT, and what socks5_pipelining saves on a slow link.
#
# socksify -> latency relay (adds DELAY each way) -> danted -> echo server, 1 connection at a
# time (build/bench-connloop plain), with and without `socks5_pipelining yes`, with and without
# username/password auth. Reports ms per connection, that time in link round trips (2 x DELAY),
# and the client's data segments to the proxy per connection (tcpdump on lo), which shows the
# messages that went one by one.
# Run as root after `make all build/bench-connloop` (`make bench` does both). Everything runs in
# a network namespace of its own (loopback only), with its own /etc/passwd for the test user.
set -euo pipefail

# Re-run inside a fresh network namespace; `ip netns exec` gives it /etc/netns/NS/* as /etc/*.
if [[ -z ${BENCH_RTT_INSIDE:-} ]]; then
    [[ $(id -u) -eq 0 ]] || { echo "rtt.sh: must run as root; try: sudo make bench" >&2; exit 1; }
    NS=sxrtt$$
    PASS=bench$RANDOM$RANDOM
    cleanup_ns() { ip netns del "$NS" 2> /dev/null || true; rm -rf "/etc/netns/$NS"; }
    trap cleanup_ns EXIT
    trap 'exit 130' INT TERM
    ip netns add "$NS"
    ip -n "$NS" link set lo up
    mkdir -p "/etc/netns/$NS"
    cp /etc/passwd /etc/shadow "/etc/netns/$NS/"
    echo "sxbench:x:64243:64243:socksify bench:/nonexistent:/usr/sbin/nologin" >> "/etc/netns/$NS/passwd"
    echo "sxbench:$(openssl passwd -6 "$PASS"):19000:0:99999:7:::" >> "/etc/netns/$NS/shadow"
    BENCH_RTT_INSIDE=1 BENCH_RTT_PASS=$PASS ip netns exec "$NS" "$0" "$@"
    exit $?
fi

N=${BENCH_RTT_N:-30}
DELAY=${BENCH_RTT_DELAY:-0.02}
BENCH=build/bench-connloop
ME=rtt.sh
source "$(dirname "$0")/lib.sh"

[[ $(id -u) -eq 0 ]] || die "must run as root (danted, tcpdump); try: sudo make bench"
[[ -x "$BENCH" ]] || die "$BENCH is missing: run 'make bench'"
command -v tcpdump > /dev/null || die "tcpdump not found: run scripts/deps.sh"

TMP=$(mktemp -d /tmp/socksify-bench-rtt.XXXXXX)
ECHO_PID= DANTED_PID= AUTH_PID= RELAY_PID= RELAY2_PID= DUMP_PID=
cleanup() {
    for p in "$DUMP_PID" "$RELAY_PID" "$RELAY2_PID" "$DANTED_PID" "$AUTH_PID" "$ECHO_PID"; do stop_pid "$p"; done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_echo "$TMP"
DANTE_PORT=$(free_port)
danted_conf "$TMP/danted.conf" "$DANTE_PORT" 127.0.0.2 "$TMP/danted.log"
start_danted DANTED_PID "$TMP/danted.conf" "$DANTE_PORT"

# A second danted with username auth, for the user this namespace's /etc/passwd has.
PASS=$BENCH_RTT_PASS
AUTH_PORT=$(free_port)
danted_conf "$TMP/auth.conf" "$AUTH_PORT" 127.0.0.2 "$TMP/auth.log"
sed -i 's/^socksmethod: none/socksmethod: username/' "$TMP/auth.conf"
start_danted AUTH_PID "$TMP/auth.conf" "$AUTH_PORT"

start_relay() { # UPSTREAM VAR_PID VAR_PORT
    local file=$TMP/relay.$1.port
    "$PY" tests/bench/latencyrelay.py "$file" "$1" --delay "$DELAY" > "$TMP/relay.$1.log" 2>&1 &
    local pid=$! i
    for ((i = 0; i < 200; i++)); do [[ -s "$file" ]] && break; sleep 0.05; done
    [[ -s "$file" ]] || die "latency relay did not start"
    printf -v "$2" %s "$pid"
    printf -v "$3" %s "$(cat "$file")"
}
start_relay "$DANTE_PORT" RELAY_PID RELAY_PORT
start_relay "$AUTH_PORT" RELAY2_PID RELAY2_PORT

tcpdump -i lo -n -l "tcp and (dst port $RELAY_PORT or dst port $RELAY2_PORT) and tcp[tcpflags] & tcp-push != 0" \
    > "$TMP/dump.txt" 2> "$TMP/dump.err" &
DUMP_PID=$!
for ((i = 0; i < 100; i++)); do grep -q "listening on" "$TMP/dump.err" 2> /dev/null && break; sleep 0.05; done

run_case() { # LABEL PROXYURL PIPELINING
    printf 'proxy %s\ndirect_loopback no\nsocks5_pipelining %s\n' "$2" "$3" > "$TMP/case.conf"
    chmod 600 "$TMP/case.conf"
    local before after out rate
    before=$(wc -l < "$TMP/dump.txt")
    out=$(timeout 120 build/socksify -f "$TMP/case.conf" -- "$BENCH" plain 127.0.0.1 "$ECHO_PORT" "$N") ||
        die "$1: client failed"
    sleep 0.3   # tcpdump's line buffer: let the last packets of the run reach the file
    after=$(wc -l < "$TMP/dump.txt")
    rate=$(awk '$1 == "plain" { print $2 }' <<< "$out")
    awk -v l="$1" -v r="$rate" -v d="$DELAY" -v s=$((after - before)) -v n="$N" 'BEGIN {
        ms = 1000 / r; printf "  %-36s %7.1f ms/conn  = %4.1f link round trips   %4.1f segments to the proxy\n", l, ms, ms / (2000 * d), s / n }'
    echo "\"$1\",$(awk -v r="$rate" 'BEGIN { printf "%.2f", 1000 / r }'),$(awk -v s=$((after - before)) -v n="$N" 'BEGIN { printf "%.1f", s / n }')" >> "$TMP/rtt.csv"
}

echo "round trips per CONNECT: $N sequential connections through a link with ${DELAY}s each way (round trip $(awk -v d="$DELAY" 'BEGIN { print 2 * d * 1000 }') ms)"
run_case "no auth" "socks5://127.0.0.1:$RELAY_PORT" no
run_case "no auth, socks5_pipelining" "socks5://127.0.0.1:$RELAY_PORT" yes
run_case "username/password" "socks5://sxbench:$PASS@127.0.0.1:$RELAY2_PORT" no
run_case "username/password, socks5_pipelining" "socks5://sxbench:$PASS@127.0.0.1:$RELAY2_PORT" yes
echo "  (each connection also sends one request to the target and reads its answer: one round trip and one segment of the above)"
mkdir -p tests/bench/results
{ echo "case,ms_per_conn,segments_to_proxy_per_conn"; cat "$TMP/rtt.csv"; } > tests/bench/results/rtt.csv
