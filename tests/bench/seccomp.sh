#!/usr/bin/env bash
# Benchmark: the seccomp supervisor (issue 16), in one run against the same echo server and
# danted on loopback, rounds alternating:
#   go-supervisor  a CGO_ENABLED=0 Go client (goconnloop.go, net.Dial) under socksify: every
#                  connect is a seccomp notification served by the supervisor
#   go-native      the same client dialling with golang.org/x/net/proxy's SOCKS5 dialer, no socksify
#   dyn-filter     build/bench-connloop (dynamically linked) under socksify --seccomp=yes: the
#                  library tunnels, its connect to danted is trapped and done by the supervisor
#   dyn-library    the same under socksify --seccomp=no: the library alone
#   udp-filter     build/bench-udp-rtt plain (64-byte request/response through the library's UDP
#                  association with danted) under --seccomp=yes: every datagram the library sends
#                  is a sendmsg, which the filter hands to the supervisor (no address: it continues)
#   udp-library    the same under --seccomp=no
# and the start-up of `socksify /bin/true` with and without the filter (BENCH_STARTS runs each).
# Key figures: go-supervisor / go-native (issue: >= 0.9), dyn-filter / dyn-library (>= 0.95),
# udp-filter / udp-library (>= 0.8), start-up difference (<= 0.5 ms). Bulk TCP transfer is not
# measured: read/write/send/recv and sendto without an address never reach the supervisor.
#
# Run as root after `make all build/bench-connloop build/bench-udp-rtt` (`make bench` does it).
# BENCH_ROUNDS, BENCH_N, BENCH_UDP_N and BENCH_STARTS override rounds, connections per client,
# UDP round trips per client and start-ups.
set -euo pipefail

ROUNDS=${BENCH_ROUNDS:-3}
N=${BENCH_N:-1000}
STARTS=${BENCH_STARTS:-200}
UDP_N=${BENCH_UDP_N:-10000}
WARMUP=100
BENCH=build/bench-connloop
RTT=build/bench-udp-rtt
WRAPPER=build/socksify

ME=seccomp.sh
source "$(dirname "$0")/lib.sh"

[[ $(id -u) -eq 0 ]] || die "must run as root (danted); try: sudo make bench"
for f in "$BENCH" "$RTT" "$WRAPPER"; do
    [[ -e "$f" ]] || die "$f is missing: run 'make bench' (it builds everything first)"
done
GO=$(command -v go || true)
[[ -n "$GO" ]] || die "go is missing (scripts/deps.sh installs golang-go)"
[[ -d /usr/share/gocode/src/golang.org/x/net/proxy ]] ||
    die "golang.org/x/net/proxy is missing (scripts/deps.sh --bench installs golang-golang-x-net-dev)"

TMP=$(mktemp -d /tmp/socksify-bench.XXXXXX)
ECHO_PID=
UDP_ECHO_PID=
DANTED_PID=
cleanup() {
    stop_pid "$DANTED_PID"
    stop_pid "$ECHO_PID"
    stop_pid "$UDP_ECHO_PID"
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The Go client, offline: Debian's x/net from /usr/share/gocode, a private build cache.
mkdir -p "$TMP/go"
cp tests/bench/goconnloop.go "$TMP/go/main.go"
(cd "$TMP/go" && CGO_ENABLED=0 GO111MODULE=off GOFLAGS= GOPATH=/usr/share/gocode GOCACHE="$TMP/gocache" \
    "$GO" build -o "$TMP/goconnloop" main.go) || die "go build of tests/bench/goconnloop.go failed"
GOBIN=$TMP/goconnloop

start_echo "$TMP"
"$RTT" serve 127.0.0.1 "$TMP/udpecho.port" > "$TMP/udpecho.log" 2>&1 &
UDP_ECHO_PID=$!
wait_port_file UDP_ECHO_PORT "$TMP/udpecho.port" "$UDP_ECHO_PID" "the UDP echo server" "$TMP/udpecho.log"
start_loopback_danted "$TMP"
SX=("$WRAPPER" -f "$TMP/socksify.conf")

# run_client MODE COUNT: conns/s of one run.
run_client() {
    local mode=$1 count=$2 out
    case $mode in
        go-supervisor) out=$(timeout 300 "${SX[@]}" --seccomp=yes -- "$GOBIN" plain "127.0.0.1:$ECHO_PORT" "$count") ;;
        go-native)     out=$(timeout 300 "$GOBIN" socks5 "127.0.0.1:$ECHO_PORT" "$count" "127.0.0.1:$PROXY_PORT") ;;
        dyn-filter)    out=$(timeout 300 "${SX[@]}" --seccomp=yes -- "$BENCH" plain 127.0.0.1 "$ECHO_PORT" "$count") ;;
        dyn-library)   out=$(timeout 300 "${SX[@]}" --seccomp=no -- "$BENCH" plain 127.0.0.1 "$ECHO_PORT" "$count") ;;
        udp-filter)    out=$(timeout 300 "${SX[@]}" --seccomp=yes -- "$RTT" plain 127.0.0.1 "$UDP_ECHO_PORT" "$((count * UDP_N / N))") ;;
        udp-library)   out=$(timeout 300 "${SX[@]}" --seccomp=no -- "$RTT" plain 127.0.0.1 "$UDP_ECHO_PORT" "$((count * UDP_N / N))") ;;
    esac || die "$mode client failed; danted log: $(tail -n 5 "$TMP/danted.log" 2>/dev/null)"
    awk '{ print $2 }' <<<"$out" | tail -n 1
}

# start_ms: "ON OFF ONCPU OFFCPU", the milliseconds of wall time and of CPU time (user + system, the
# command and its program) per `socksify --seccomp=yes /bin/true` and per `--seccomp=no`, over
# STARTS runs each, in blocks of 10 alternating (a busy machine's noise then falls on both alike;
# the CPU figure is the steadier one on a shared machine).
start_ms() {
    local on=0 off=0 oncpu=0 offcpu=0 line TIMEFORMAT='%R %U %S'
    for ((i = 0; i < STARTS; i += 10)); do
        for mode in yes no; do
            line=$({ time for ((k = 0; k < 10; k++)); do "${SX[@]}" --seccomp=$mode -- /bin/true; done; } 2>&1)
            read -r wall user sys <<<"$line"
            if [[ $mode == yes ]]; then
                on=$(awk -v a="$on" -v w="$wall" 'BEGIN { print a + w }'); oncpu=$(awk -v a="$oncpu" -v u="$user" -v s="$sys" 'BEGIN { print a + u + s }')
            else
                off=$(awk -v a="$off" -v w="$wall" 'BEGIN { print a + w }'); offcpu=$(awk -v a="$offcpu" -v u="$user" -v s="$sys" 'BEGIN { print a + u + s }')
            fi
        done
    done
    awk -v a="$on" -v b="$off" -v c="$oncpu" -v d="$offcpu" -v n="$STARTS" \
        'BEGIN { n = int((n + 9) / 10) * 10; printf "%.3f %.3f %.3f %.3f", a * 1000 / n, b * 1000 / n, c * 1000 / n, d * 1000 / n }'
}

MODES=(go-supervisor go-native dyn-filter dyn-library udp-filter udp-library)
declare -A RESULTS
for m in "${MODES[@]}"; do
    run_client "$m" "$WARMUP" > /dev/null
    RESULTS[$m]=""
done
read -r direct proxied <<<"$(echo_counts)"
[[ $direct -eq 0 && $proxied -eq $((4 * WARMUP)) ]] ||
    die "warm-up: the echo server saw $direct direct and $proxied proxied connections, expected 0 and $((4 * WARMUP))"

echo "seccomp supervisor benchmark: $ROUNDS rounds x $N sequential connect+request+close per client"
for ((r = 0; r < ROUNDS; r++)); do
    line="  round $((r + 1)):"
    for ((k = 0; k < ${#MODES[@]}; k++)); do
        mode=${MODES[$(((r + k) % ${#MODES[@]}))]}
        rate=$(run_client "$mode" "$N")
        RESULTS[$mode]+="${RESULTS[$mode]:+ }$rate"
        line+=" $mode $rate"
    done
    echo "$line"
done
read -r direct proxied <<<"$(echo_counts)"
[[ $direct -eq 0 ]] || die "$direct connections reached the echo server directly: a supervised one bypassed danted"

S_ON="" S_OFF="" C_ON="" C_OFF=""
for ((r = 0; r < ROUNDS; r++)); do
    read -r on off con coff <<<"$(start_ms)"
    S_ON+="${S_ON:+ }$on"
    S_OFF+="${S_OFF:+ }$off"
    C_ON+="${C_ON:+ }$con"
    C_OFF+="${C_OFF:+ }$coff"
done

declare -A MED
for m in "${MODES[@]}"; do MED[$m]=$(median "${RESULTS[$m]}"); done
MED_ON=$(median "$S_ON")
MED_OFF=$(median "$S_OFF")
MED_CON=$(median "$C_ON")
MED_COFF=$(median "$C_OFF")
echo
echo "results (median of $ROUNDS rounds; echo server and danted on 127.0.0.1; all $proxied connections came through danted)"
for m in "${MODES[@]}"; do
    printf '  %-14s %10.1f %s/s   %s\n' "$m" "${MED[$m]}" "$([[ $m == udp-* ]] && echo "round trips" || echo conns)" "${RESULTS[$m]}"
done
awk -v gs="${MED[go-supervisor]}" -v gn="${MED[go-native]}" -v df="${MED[dyn-filter]}" -v dl="${MED[dyn-library]}" \
    -v uf="${MED[udp-filter]}" -v ul="${MED[udp-library]}" \
    -v on="$MED_ON" -v off="$MED_OFF" -v con="$MED_CON" -v coff="$MED_COFF" -v n="$STARTS" 'BEGIN {
    printf "  go-supervisor / go-native  = %.2f   (Go static through the supervisor vs x/net/proxy SOCKS5; issue: >= 0.9)\n", gs / gn
    printf "  dyn-filter / dyn-library   = %.2f   (a dynamic program with the filter on vs the library alone; issue: >= 0.95)\n", df / dl
    printf "  udp-filter / udp-library   = %.2f   (UDP request/response through the association, filter on vs off; issue: >= 0.8)\n", uf / ul
    printf "  start-up: %.3f ms with the filter, %.3f ms without: %+.3f ms wall; CPU %.3f vs %.3f ms: %+.3f ms   (socksify /bin/true, %d runs each; issue: <= 0.5 ms)\n", on, off, on - off, con, coff, con - coff, n
}'
