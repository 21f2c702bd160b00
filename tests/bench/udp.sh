#!/usr/bin/env bash
# Benchmark: UDP request/response round trips through a SOCKS5 UDP association, and the cost of
# the preloaded library on read()/write() calls that are not on a managed socket.
#
# Round trips per second of one client, 64-byte datagrams one at a time (build/bench-udp-rtt,
# tests/bench/udp_rtt.c), in rounds of rotating order, all against the same UDP echo server
# (bench-udp-rtt serve) and the same danted:
#   direct    bench-udp-rtt plain  -> echo server                      (no proxy: the reference)
#   native    bench-udp-rtt socks5 -> danted's relay -> echo server    (the client speaks SOCKS5
#             itself: UDP ASSOCIATE, builds and strips the 10-byte header, one sendto/recvfrom each)
#   socksify  LD_PRELOAD=libsocksify.so bench-udp-rtt plain -> danted's relay -> echo server
#             (the library makes the association and adds/strips the header)
# (dante-client's socksify, the other preload library that carries UDP, cannot be compared here:
# it adds direct routes for every local address, so on one host it never uses the proxy.)
# The key figure is socksify/native: what the library costs over a hand-written SOCKS5 UDP
# client (1.00 = nothing); the per-round ratios show the noise.
#
# Then the hot path: build/bench-pipeloop (1-byte read()/write() on a pipe, as compare.sh's
# case 5) alone and with the library preloaded, interleaved; CPU ns per call and the ratio.
#
# Every run is checked: danted sends to the target from 127.0.0.2, the direct client from
# 127.0.0.1, and the echo server counts datagrams per source address, so a socksified datagram
# that bypassed the proxy fails the check; danted's log (one line per finished association, with
# its packet counts) must add up to the datagrams the proxied runs sent.
#
# Run as root (danted needs it) after `make all build/bench-udp-rtt build/bench-pipeloop`
# (`make bench` does it). Everything listens on loopback on ports the kernel picks. Environment:
# BENCH_UDP_ROUNDS (5), BENCH_UDP_N (20000 round trips per run), BENCH_UDP_PIPE_CALLS (4000000),
# BENCH_UDP_CSV (a file to write the medians to as CSV; none by default).
set -euo pipefail

ROUNDS=${BENCH_UDP_ROUNDS:-5}
N=${BENCH_UDP_N:-20000}
PIPE_CALLS=${BENCH_UDP_PIPE_CALLS:-4000000}
CSV=${BENCH_UDP_CSV:-}
WARMUP=1000

RTT=build/bench-udp-rtt
PIPELOOP=build/bench-pipeloop
LIB=build/libsocksify.so

ME=udp.sh
source "$(dirname "$0")/lib.sh"

[[ $(id -u) -eq 0 ]] || die "must run as root (danted switches to its privileged user root); try: sudo make bench"
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ && "$N" =~ ^[1-9][0-9]*$ && "$PIPE_CALLS" =~ ^[1-9][0-9]*$ ]] ||
    die "BENCH_UDP_ROUNDS, BENCH_UDP_N and BENCH_UDP_PIPE_CALLS must be positive integers"
for f in "$RTT" "$PIPELOOP" "$LIB"; do
    [[ -e "$f" ]] || die "$f is missing: run 'make all $RTT $PIPELOOP' ('make bench' builds everything)"
done

TMP=$(mktemp -d /tmp/socksify-bench-udp.XXXXXX)
ECHO_PID= DANTED_PID= CHILD_PID=
cleanup() {
    stop_pid "$CHILD_PID"
    stop_pid "$DANTED_PID"
    stop_pid "$ECHO_PID"
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the UDP echo server on 127.0.0.1, port in a file once it is bound.
"$RTT" serve 127.0.0.1 "$TMP/echo.port" > "$TMP/echo.log" 2>&1 &
ECHO_PID=$!
wait_port_file ECHO_PORT "$TMP/echo.port" "$ECHO_PID" "the UDP echo server" "$TMP/echo.log"
ss -Hlun "sport = :$ECHO_PORT" | grep -q . || die "nothing is bound to UDP port $ECHO_PORT"

# udp_counts: the echoed datagrams by source address, "A B" for 127.0.0.1 and 127.0.0.2.
udp_counts() {
    timeout 10 "$PY" - "$ECHO_PORT" <<'PYCOUNT'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
for attempt in range(3):
    s.sendto(b"stats", ("127.0.0.1", int(sys.argv[1])))
    try:
        data = s.recv(65536).decode()
        break
    except socket.timeout:
        continue
else:
    sys.exit("the UDP echo server does not answer stats")
c = dict(kv.split("=") for kv in data.split() if "=" in kv)
print(c.get("127.0.0.1", 0), c.get("127.0.0.2", 0))
PYCOUNT
}

# --- danted: internal 127.0.0.1, external 127.0.0.2 (its relay sends to the target from there),
# UDP associate allowed (servers.sh's danted_conf with its UDP rules), logging each association's
# start and end (the end line carries its packet counts).
PROXY_PORT=$(free_port)
danted_conf "$TMP/danted.conf" "$PROXY_PORT" 127.0.0.2 "$TMP/danted.log" "connect disconnect error"
start_danted DANTED_PID "$TMP/danted.conf" "$PROXY_PORT"

# --- socksify: everything is on loopback, so loopback must not go direct.
printf 'proxy socks5://127.0.0.1:%s\ndirect_loopback no\n' "$PROXY_PORT" > "$TMP/socksify.conf"

# run_child CMD...: CMD (it may start with VAR=value words), bounded by 120 s, stdout to
# $TMP/child.out, stderr to $TMP/client.err; in the background, so that a signal to this script
# stops it at once (cleanup stops the child).
run_child() {
    local rc=0
    timeout -k 5 120 env "$@" > "$TMP/child.out" 2> "$TMP/client.err" &
    CHILD_PID=$!
    wait "$CHILD_PID" || rc=$?
    CHILD_PID=
    return "$rc"
}
# run_client MODE COUNT: one run; sets RATE and CPU (client CPU us per round trip) or fails.
run_client() {
    local mode=$1 count=$2
    case $mode in
        direct)   run_child "$RTT" plain 127.0.0.1 "$ECHO_PORT" "$count" ;;
        native)   run_child "$RTT" socks5 127.0.0.1 "$PROXY_PORT" 127.0.0.1 "$ECHO_PORT" "$count" ;;
        socksify) run_child LD_PRELOAD="$PWD/$LIB" SOCKSIFY_CONF="$TMP/socksify.conf" SOCKSIFY_LOG_FILE="$TMP/socksify.log" \
                            "$RTT" plain 127.0.0.1 "$ECHO_PORT" "$count" ;;
    esac || return 1
    read -r RATE CPU < <(awk '$1 == "plain" || $1 == "socks5" { r = $2; for (i = 3; i <= NF; i++) if ($i ~ /^cpu=/) c = substr($i, 5) }
                             END { if (r != "") print r, c }' "$TMP/child.out") ||
        { echo "no rate in: $(cat "$TMP/child.out")" >> "$TMP/client.err"; return 1; }
}
client_err() { grep . "$TMP/client.err" 2> /dev/null | tail -n 3 || true; }

# Every run adds to the echo server's count for one source address; checked after each step.
WANT_DIRECT=0 WANT_PROXIED=0
expect_counts() { # WHAT
    local got
    got=$(udp_counts) || die "$1: cannot read the echo server's counts"
    [[ "$got" == "$WANT_DIRECT $WANT_PROXIED" ]] && return 0
    echo "$1: the echo server saw $got datagrams from 127.0.0.1/127.0.0.2, expected $WANT_DIRECT $WANT_PROXIED" >&2
    return 1
}
# Associations that danted finished, and the datagrams they carried from the client.
ASSOC_RUNS=0 ASSOC_DATAGRAMS=0
danted_assocs() { # "STARTED FINISHED DATAGRAMS" from danted's log
    awk '/udp\/udpassociate \[:/ { s++ }
         /udp\/udpassociate \]:/ { n++; for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+\/[0-9]+$/) { split($i, a, "/"); p += a[2]; break } }
         END { print s + 0, n + 0, p + 0 }' "$TMP/danted.log" 2> /dev/null || echo 0 0 0
}
danted_settle() { # waits (at most 5 s) until every association danted started has finished
    local i s n p
    for ((i = 0; i < 100; i++)); do
        read -r s n p < <(danted_assocs)
        ((s == n)) && { echo "$n $p"; return 0; }
        sleep 0.05
    done
    echo "$n $p"
}
danted_check() { # WHAT
    local got
    got=$(danted_settle)
    [[ "$got" == "$ASSOC_RUNS $ASSOC_DATAGRAMS" ]] ||
        die "$1: danted's log shows $got finished associations/datagrams from clients, expected $ASSOC_RUNS $ASSOC_DATAGRAMS"
}
resync() { # after a failed client: take the counts as they are now
    read -r WANT_DIRECT WANT_PROXIED < <(udp_counts)
    read -r ASSOC_RUNS ASSOC_DATAGRAMS < <(danted_settle)
}
account() { # MODE COUNT: what a successful run of MODE adds
    if [[ $1 == direct ]]; then
        WANT_DIRECT=$((WANT_DIRECT + $2))
    else
        WANT_PROXIED=$((WANT_PROXIED + $2)) ASSOC_RUNS=$((ASSOC_RUNS + 1)) ASSOC_DATAGRAMS=$((ASSOC_DATAGRAMS + $2))
    fi
}

# --- warm-up (danted starts its worker processes) and the routing check of each client.
start=$SECONDS
declare -A NA=()
MODES=(direct native socksify)
for mode in "${MODES[@]}"; do
    if ! run_client "$mode" "$WARMUP"; then
        [[ $mode == direct || $mode == native ]] && die "$mode client failed: $(client_err)"
        NA[$mode]="the client failed: $(client_err)"
        [[ $mode == socksify ]] && NA[$mode]+="$(tail -n 2 "$TMP/socksify.log" 2> /dev/null | sed 's/^/ | /' | tr -d '\n')"
        resync
        continue
    fi
    before_direct=$WANT_DIRECT before_proxied=$WANT_PROXIED
    account "$mode" "$WARMUP"
    if ! expect_counts "$mode warm-up" 2> "$TMP/count.err"; then
        [[ $mode == direct || $mode == native ]] && die "$(cat "$TMP/count.err")"
        resync
        NA[$mode]="its datagrams did not go through danted: of $WARMUP round trips, the echo server saw"
        NA[$mode]+=" $((WANT_DIRECT - before_direct)) datagrams straight from the client and $((WANT_PROXIED - before_proxied)) from danted"
    fi
done
danted_check "warm-up"
for mode in "${!NA[@]}"; do echo "  $mode: n/a: ${NA[$mode]}"; done
RUN_MODES=()
for mode in "${MODES[@]}"; do [[ -n ${NA[$mode]:-} ]] || RUN_MODES+=("$mode"); done

# --- measured rounds, rotating the order so no client always runs first or last.
declare -A RATES=() CPUS=()
echo "UDP round trips: $ROUNDS rounds x $N sequential 64-byte request/response round trips per client"
k=${#RUN_MODES[@]}
for ((r = 0; r < ROUNDS; r++)); do
    line="  round $((r + 1)):"
    for ((j = 0; j < k; j++)); do
        mode=${RUN_MODES[$(((r + j) % k))]}
        run_client "$mode" "$N" || die "$mode client failed in round $((r + 1)): $(client_err)"
        account "$mode" "$N"
        RATES[$mode]+="${RATES[$mode]:+ }$RATE"
        CPUS[$mode]+="${CPUS[$mode]:+ }$CPU"
        line+=" $mode $RATE"
    done
    echo "$line"
done
expect_counts "after the rounds" || die "a proxied client's datagrams did not all go through danted"
danted_check "after the rounds"

# --- the hot path: read()/write() on a pipe, with and without the library, interleaved.
declare -A PIPE_CPU=() PIPE_WALL=()
run_pipe() { # MODE
    local out
    if [[ $1 == socksify ]]; then
        run_child LD_PRELOAD="$PWD/$LIB" SOCKSIFY_CONF="$TMP/socksify.conf" "$PIPELOOP" "$PIPE_CALLS"
    else
        run_child "$PIPELOOP" "$PIPE_CALLS"
    fi || die "bench-pipeloop ($1) failed: $(client_err)"
    out=$(cat "$TMP/child.out")
    PIPE_WALL[$1]+="${PIPE_WALL[$1]:+ }$(awk '$1 == "pipeloop" { print $2 }' <<<"$out")"
    PIPE_CPU[$1]+="${PIPE_CPU[$1]:+ }$(awk '$1 == "pipeloop" { for (i = 2; i <= NF; i++) if ($i ~ /^cpu=/) print substr($i, 5) }' <<<"$out")"
}
run_pipe none; run_pipe socksify; PIPE_CPU=() PIPE_WALL=()   # warm-up
for ((r = 0; r < ROUNDS; r++)); do
    if ((r % 2)); then run_pipe socksify; run_pipe none; else run_pipe none; run_pipe socksify; fi
done

# --- report
ratio_list() { # A_VALUES B_VALUES: the per-round ratios A/B
    awk -v a="$1" -v b="$2" 'BEGIN { k = split(a, x, " "); split(b, y, " "); for (i = 1; i <= k; i++) printf "%s%.2f", (i > 1 ? " " : ""), x[i] / y[i] }'
}
rmedian() { # the median of ratios, two decimals (lib.sh's median keeps one for an even count)
    tr ' ' '\n' <<<"$1" | grep . | sort -g |
        awk '{ v[NR] = $1 } END { printf "%.2f\n", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
min() { tr ' ' '\n' <<<"$1" | grep . | sort -g | head -n 1; }
div() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
declare -A MED=() MEDCPU=()
DANTE_VERSION=$("$DANTED" -v 2>&1 | grep -o 'v[0-9][0-9.]*[0-9]' | head -n 1 || true)
echo
echo "results (median of $ROUNDS rounds; UDP echo server and danted ${DANTE_VERSION:-} on loopback)"
printf '  %-52s %10s %8s %12s   %s\n' client "rt/s" "us/rt" "client CPU" "all rounds"
for mode in "${MODES[@]}"; do
    case $mode in
        direct)   label="direct: plain client, no proxy" ;;
        native)   label="native: client speaks SOCKS5 UDP to danted itself" ;;
        socksify) label="socksify: plain client under LD_PRELOAD" ;;
    esac
    if [[ -n ${NA[$mode]:-} ]]; then
        printf '  %-52s %10s\n' "$label" n/a
        continue
    fi
    MED[$mode]=$(median "${RATES[$mode]}")
    MEDCPU[$mode]=$(median "${CPUS[$mode]}")
    awk -v l="$label" -v m="${MED[$mode]}" -v c="${MEDCPU[$mode]}" -v r="${RATES[$mode]}" \
        'BEGIN { printf "  %-52s %10.1f %8.1f %9.1f us   %s\n", l, m, 1e6 / m, c, r }'
done
echo
if [[ -n ${MED[socksify]:-} ]]; then
    echo "  socksify / native = $(div "${MED[socksify]}" "${MED[native]}")   (key figure: 1.00 means the library's association costs nothing over a hand-written SOCKS5 UDP client)"
    rr=$(ratio_list "${RATES[socksify]}" "${RATES[native]}")
    echo "      per round: $rr (median $(rmedian "$rr"))"
    echo "      client CPU per round trip: socksify $(awk -v a="${MEDCPU[socksify]}" -v b="${MEDCPU[native]}" 'BEGIN { printf "%.1f us, native %.1f us (%+.1f us)", a, b, a - b }')"
else
    echo "  socksify / native = n/a (${NA[socksify]})"
fi
echo "  native / direct   = $(div "${MED[native]}" "${MED[direct]}")   (what going through danted's relay costs at all)"
PIPE_NONE=$(median "${PIPE_CPU[none]}") PIPE_SX=$(median "${PIPE_CPU[socksify]}")
echo
echo "read()/write() of 1 byte on a pipe, $PIPE_CALLS calls x $ROUNDS rounds (build/bench-pipeloop; CPU ns per call, median)"
echo "  no library $PIPE_NONE ns, libsocksify.so preloaded $PIPE_SX ns: socksify / none = $(div "$PIPE_SX" "$PIPE_NONE") ($(awk -v a="$PIPE_SX" -v b="$PIPE_NONE" 'BEGIN { printf "%+.1f", a - b }') ns per call)"
rr=$(ratio_list "${PIPE_CPU[socksify]}" "${PIPE_CPU[none]}")
echo "      per round: $rr (median $(rmedian "$rr")); fastest run: none $(min "${PIPE_CPU[none]}") ns, socksify $(min "${PIPE_CPU[socksify]}") ns"
echo "      (wall ns per call: none ${PIPE_WALL[none]}; socksify ${PIPE_WALL[socksify]})"
echo
echo "  checked: the echo server saw $WANT_PROXIED datagrams from danted (127.0.0.2) and $WANT_DIRECT from the direct client;"
echo "  danted's log shows $ASSOC_RUNS finished associations that carried $ASSOC_DATAGRAMS datagrams from the clients. bench took $((SECONDS - start)) s"

if [[ -n $CSV ]]; then
    {
        echo "client,metric,median,unit,runs,notes"
        for mode in "${MODES[@]}"; do
            if [[ -n ${NA[$mode]:-} ]]; then
                echo "$mode,rt_per_s,n/a,rt/s,0,\"${NA[$mode]//\"/\'}\""
            else
                echo "$mode,rt_per_s,${MED[$mode]},rt/s,$ROUNDS,\"runs: ${RATES[$mode]}\""
                echo "$mode,client_cpu_us_per_rt,${MEDCPU[$mode]},us,$ROUNDS,\"runs: ${CPUS[$mode]}\""
            fi
        done
        echo "none,pipe_ns_per_call,$PIPE_NONE,ns,$ROUNDS,\"CPU; runs: ${PIPE_CPU[none]}\""
        echo "socksify,pipe_ns_per_call,$PIPE_SX,ns,$ROUNDS,\"CPU; runs: ${PIPE_CPU[socksify]}\""
    } > "$CSV"
    echo "  medians written to $CSV"
fi
[[ -z ${NA[socksify]:-} ]] || die "socksify could not carry UDP through danted: ${NA[socksify]}"
