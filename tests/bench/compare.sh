#!/usr/bin/env bash
# Benchmark: socksify against the tools people use today, in one run, on the same proxy.
#
# Tools (each one is how a user runs a program through a SOCKS5 proxy):
#   socksify      build/socksify -f CONF PROGRAM            (this project)
#   proxychains4  proxychains4 -q -f CONF PROGRAM             (strict_chain, one socks5 line)
#   torsocks      TORSOCKS_CONF_FILE=CONF torsocks PROGRAM    (TorAddress/TorPort = the proxy)
#   tsocks        TSOCKS_CONF_FILE=CONF tsocks PROGRAM        (server, server_type 5, local)
#   dante         SOCKS_CONF=CONF /usr/bin/socksify PROGRAM   (dante-client's libdsocks, one route)
#   none          the baseline: the program without any library (a client that speaks SOCKS5
#                 itself where the case needs a proxy; the bare program otherwise)
#
# Cases (each writes tests/bench/results/<case>.csv; tests/bench/results/README.md has the columns):
#   1 case1-connect     sequential connect+request+close x1000 (build/bench-connloop), conns/s
#   2 case2-concurrent  40 and 400 concurrent non-blocking connects from python3 asyncio
#                       (tests/bench/asyncio_conns.py) through tests/bench/delayproxy.py, which
#                       waits 100 ms before each upstream connect: wall time, and the ideal
#   3 case3-startup     500 runs of /bin/true under each tool: total s and ms per run
#   4 case4-bulk        1 GiB read through the proxy (build/bench-bulk), MB/s
#   5 case5-hotpath     10 million read()/write() calls on a pipe (build/bench-pipeloop), ns/call
#   6 case6-dns         10 000 getaddrinfo+connect+request+close with a name only the proxy can
#                       resolve (bench-connloop lookup), conns/s; tools without remote DNS: n/a
#   7 rtt               round trips per connection and socks5_pipelining: measured by
#                       tests/bench/rtt.sh into tests/bench/results/rtt.csv (its own columns);
#                       this script quotes it in its summary, or sources $CASE7_HOOK (see below)
# Every case runs every tool in the same run, in an order that rotates over the rounds (3), and
# reports medians and the ratio of each median to socksify's. A tool that cannot do a case is
# recorded as n/a with the reason. A tool whose single run is long (a serial tool at N=400 in
# case 2, dante's 10 M calls in case 5, ...) is run once, and each case stops adding rounds when
# the next one would take it past its time budget; the CSV's runs column and notes say so.
#
# Network: three namespaces made here with unique names, removed on exit whatever happens:
#
#   C 10.78.1.2 --veth-- 10.78.1.1 P 10.78.2.1 --veth-- 10.78.2.2 T
#
# C (the clients) reaches only P: no default route, no forwarding in P. P runs danted (port 1080,
# outgoing from 10.78.2.1) and delayproxy; T runs build/bench-tserver (echo on 7000, bulk on
# 7001). A tool that tried to connect directly would fail (ENETUNREACH), not be measured as fast.
# Names: only P's /etc/netns/<P>/hosts knows target.bench.test; C has no resolver.
# Every run is checked: the echo server counts the connections it served, delayproxy counts the
# CONNECTs it carried, the bulk client checks its byte count.
#
# Run as root after `make all build/bench-connloop build/bench-tserver build/bench-bulk
# build/bench-pipeloop` (`make bench` does it). Draws tests/bench/results/bench.png with
# tests/bench/chart.sh when gnuplot is there. Environment:
#   BENCH_QUICK=1     a smoke run: 1 round, small counts, case 2 only at N=40; results go to
#                     build/bench-tools-quick/ (not to tests/bench/results/)
#   BENCH_ROUNDS      rounds (3)                  BENCH_RESULTS  the results directory
#   BENCH_CASES       the cases to run ("1 2 3 4 5 6 7")
#   BENCH_TOOLS       the tools to compare (all of them; socksify and none are always there)
#
# Case 7 hook: if tests/bench/case7_roundtrips.sh (or BENCH_CASE7_HOOK) exists, it is sourced as
# case 7 with everything below in scope: the namespaces ($C $P $T), addresses ($C4 $P4C $P4T $T4),
# ports ($DANTE_PORT $ECHO_PORT $BULK_PORT $DP_PORT), $TOOLS, tool_prefix, run_c, run_p,
# echo_total, warmup, measure, row, case_rows and summary: a function run_c7 and the pattern of
# the case functions below give $RESULTS/case7-roundtrips.csv in the same columns as the others.
set -euo pipefail

ME=compare.sh
source "$(dirname "$0")/lib.sh"
REPO=$PWD

QUICK=${BENCH_QUICK:-0}
if [[ $QUICK == 1 ]]; then
    ROUNDS=${BENCH_ROUNDS:-1}
    RESULTS=${BENCH_RESULTS:-build/bench-tools-quick}
    CONN_N=200 ASYNC_NS="40" STARTUP_N=50 BULK_BYTES=$((64 << 20)) PIPE_CALLS=1000000 DNS_N=500
else
    ROUNDS=${BENCH_ROUNDS:-3}
    RESULTS=${BENCH_RESULTS:-tests/bench/results}
    CONN_N=1000 ASYNC_NS="40 400" STARTUP_N=500 BULK_BYTES=$((1 << 30)) PIPE_CALLS=10000000 DNS_N=10000
fi
CASES=${BENCH_CASES:-"1 2 3 4 5 6 7"}
ALL_TOOLS=(socksify proxychains4 torsocks tsocks dante)
read -r -a WANT_TOOLS <<<"${BENCH_TOOLS:-${ALL_TOOLS[*]}}"
DELAY=0.1
CASE7_HOOK=${BENCH_CASE7_HOOK:-tests/bench/case7_roundtrips.sh}
RTT_CSV=tests/bench/results/rtt.csv   # case 7, written by tests/bench/rtt.sh

CONNLOOP=build/bench-connloop
TSERVER=build/bench-tserver
BULK=build/bench-bulk
PIPELOOP=build/bench-pipeloop
LIB=build/libsocksify.so
WRAPPER=build/socksify
ASYNC=tests/bench/asyncio_conns.py
DELAYPROXY=tests/bench/delayproxy.py

[[ $(id -u) -eq 0 ]] || die "must run as root (network namespaces, danted); try: sudo make bench"
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || die "BENCH_ROUNDS must be a positive integer"
for f in "$CONNLOOP" "$TSERVER" "$BULK" "$PIPELOOP" "$LIB" "$WRAPPER" "$ASYNC" "$DELAYPROXY"; do
    [[ -e "$f" ]] || die "$f is missing: run 'make bench' (it builds everything first)"
done
command -v ip > /dev/null || die "ip not found: run scripts/deps.sh"
[[ -x "$DANTED" ]] || die "danted not found: run scripts/deps.sh"

# Where each tool is; a missing one is recorded n/a in every case.
declare -A BIN=([proxychains4]=$(command -v proxychains4 || true) [torsocks]=$(command -v torsocks || true)
                [tsocks]=$(command -v tsocks || true) [dante]=$([[ -x /usr/bin/socksify ]] && echo /usr/bin/socksify || true))
TOOLS=(socksify)
for t in "${WANT_TOOLS[@]}"; do
    [[ " ${ALL_TOOLS[*]} " == *" $t "* ]] || die "BENCH_TOOLS: unknown tool $t (known: ${ALL_TOOLS[*]})"
    [[ $t == socksify ]] || TOOLS+=("$t")
done

# ---------------------------------------------------------------- the namespaces
C4=10.78.1.2 P4C=10.78.1.1 P4T=10.78.2.1 T4=10.78.2.2
DANTE_PORT=1080 ECHO_PORT=7000 BULK_PORT=7001
RUN_ID="sxb$$$(od -An -N2 -tx1 /dev/urandom | tr -d ' \n')"
C=$RUN_ID-c P=$RUN_ID-p T=$RUN_ID-t
TMP=$(mktemp -d "/tmp/socksify-bench-tools.XXXXXX")
chmod 0755 "$TMP"
mkdir -p "$TMP/home" "$TMP/conf"
CREATED_NS=() CREATED_ETC=() MADE_ETC_NETNS=0 PIDS=()

cleanup() {
    set +e
    trap '' INT TERM HUP
    local i pid ns
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${PIDS[$i]}"; done
    for ns in "${CREATED_NS[@]}"; do   # whatever still runs in our namespaces is ours
        for sig in TERM KILL; do
            pids=$(ip netns pids "$ns" 2> /dev/null)
            [[ -n "$pids" ]] || break
            kill -"$sig" $pids 2> /dev/null
            for ((i = 0; i < 20; i++)); do [[ -z "$(ip netns pids "$ns" 2> /dev/null)" ]] && break; sleep 0.1; done
        done
    done
    for ((i = ${#CREATED_NS[@]} - 1; i >= 0; i--)); do timeout 10 ip netns del "${CREATED_NS[$i]}"; done
    for d in "${CREATED_ETC[@]}"; do rm -rf "$d"; done
    [[ $MADE_ETC_NETNS == 1 ]] && rmdir /etc/netns 2> /dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
START=$SECONDS

[[ -d /etc/netns ]] || MADE_ETC_NETNS=1
mkdir -p /etc/netns
for ns in "$C" "$P" "$T"; do
    ip netns add "$ns" || die "cannot create network namespace $ns"
    CREATED_NS+=("$ns")
    ip -n "$ns" link set lo up
    mkdir -p "/etc/netns/$ns"   # -p: a parallel test run may remove an empty /etc/netns meanwhile
    CREATED_ETC+=("/etc/netns/$ns")
    # `ip netns exec` bind-mounts these over /etc: names resolve from this hosts file only, and
    # DNS queries go to 127.0.0.1 in the namespace, where nothing listens.
    printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' > "/etc/netns/$ns/resolv.conf"
    printf '127.0.0.1 localhost\n::1 localhost\n' > "/etc/netns/$ns/hosts"
done
echo "$T4 target.bench.test" >> "/etc/netns/$P/hosts"   # only the proxy knows the name
ip -n "$C" link add vc type veth peer name vp netns "$P"
ip -n "$P" link add vpt type veth peer name vt netns "$T"
for spec in "$C vc $C4" "$P vp $P4C" "$P vpt $P4T" "$T vt $T4"; do
    read -r ns dev addr <<<"$spec"
    ip -n "$ns" addr add "$addr/24" dev "$dev"
    ip -n "$ns" link set "$dev" up
done
ip netns exec "$P" sysctl -qw net.ipv4.ip_forward=0
for ns in "$C" "$P" "$T"; do ip netns exec "$ns" sysctl -qw net.ipv4.tcp_tw_reuse=1; done

BASE_ENV=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME="$TMP/home" LANG=C LC_ALL=C)
# run_c LIMIT CMD...: CMD in C with a clean environment (CMD may start with VAR=value words),
# bounded by LIMIT seconds. run_p likewise in P.
run_c() { local l=$1; shift; timeout -k 5 "$l" ip netns exec "$C" env -i "${BASE_ENV[@]}" "$@"; }
run_p() { local l=$1; shift; timeout -k 5 "$l" ip netns exec "$P" env -i "${BASE_ENV[@]}" "$@"; }

# start NAME NS CMD...: a server in NS, in its own session (so its children stop with it).
start() {
    local name=$1 ns=$2; shift 2
    setsid ip netns exec "$ns" "$@" > "$TMP/$name.log" 2>&1 < /dev/null &
    PIDS+=($!)
    LAST_PID=$!
}
# wait_port NS ADDR PORT NAME PID: at most 10 s until something listens there.
wait_port() {
    local i
    for ((i = 0; i < 200; i++)); do
        ip netns exec "$1" ss -Hltn "sport = :$3" | grep -qF "$2:$3" && return 0
        kill -0 "$5" 2> /dev/null || { cat "$TMP/$4.log" >&2; die "$4 exited before listening on $2:$3"; }
        sleep 0.05
    done
    cat "$TMP/$4.log" >&2
    die "$4 did not listen on $2:$3 within 10 s"
}
# ask NS ADDR PORT: the one-line answer of the echo server or delayproxy to "stats".
ask() {
    timeout 5 ip netns exec "$1" bash -c 'exec 3<>"/dev/tcp/$0/$1" && echo stats >&3 && cat <&3' "$2" "$3"
}
# echo_total: the connections the echo server served that came from P (the proxies' side).
echo_total() { ask "$T" 127.0.0.1 "$ECHO_PORT" | tr ' ' '\n' | awk -F= -v a="$P4T" '$1 == a { n = $2 } END { print n + 0 }'; }
dp_connects() { ask "$P" "$P4C" "$DP_PORT" | tr ' ' '\n' | awk -F= '$1 == "connects" { print $2 }'; }

start tserver "$T" "$REPO/$TSERVER" 0.0.0.0 "$ECHO_PORT" "$BULK_PORT"
wait_port "$T" 0.0.0.0 "$ECHO_PORT" tserver "$LAST_PID"
wait_port "$T" 0.0.0.0 "$BULK_PORT" tserver "$LAST_PID"

# danted listens on P's side towards C, not on P's loopback as danted_conf writes.
danted_conf "$TMP/danted.conf" "$DANTE_PORT" "$P4T" "$TMP/danted.log"
sed -i "s/^internal: .*/internal: $P4C port = $DANTE_PORT/" "$TMP/danted.conf"
start danted "$P" "$DANTED" -f "$TMP/danted.conf" -p "$TMP/danted.pid"
wait_port "$P" "$P4C" "$DANTE_PORT" danted "$LAST_PID"

start delayproxy "$P" /usr/bin/python3 "$REPO/$DELAYPROXY" "$TMP/dp.port" --delay "$DELAY" --source "$P4T" --host "$P4C"
DP_PID=$LAST_PID
for ((i = 0; i < 200; i++)); do [[ -s "$TMP/dp.port" ]] && break; sleep 0.05; done
[[ -s "$TMP/dp.port" ]] || { cat "$TMP/delayproxy.log" >&2; die "delayproxy did not start within 10 s"; }
DP_PORT=$(cat "$TMP/dp.port")
wait_port "$P" "$P4C" "$DP_PORT" delayproxy "$DP_PID"

# Proof that the client namespace cannot reach the target by itself.
if run_c 5 bash -c "exec 3<>/dev/tcp/$T4/$ECHO_PORT" 2> /dev/null; then
    die "the client namespace reaches $T4 directly: the topology is wrong"
fi
if run_c 5 getent hosts target.bench.test > /dev/null; then
    die "target.bench.test resolves in the client namespace: case 6 would not be remote"
fi

# ---------------------------------------------------------------- tool configurations
# write_confs TAG PORT DNS: each tool's configuration for the proxy at $P4C:PORT; DNS=1 asks for
# names to be resolved by the proxy where the tool can.
write_confs() {
    local tag=$1 port=$2 dns=$3 d=$TMP/conf
    printf 'proxy %s://%s:%s\n' "$([[ $dns == 1 ]] && echo socks5h || echo socks5)" "$P4C" "$port" > "$d/socksify-$tag.conf"
    {
        echo strict_chain
        [[ $dns == 1 ]] && echo proxy_dns
        printf 'quiet_mode\ntcp_connect_time_out 8000\ntcp_read_time_out 15000\n[ProxyList]\nsocks5 %s %s\n' "$P4C" "$port"
    } > "$d/proxychains-$tag.conf"
    printf 'TorAddress %s\nTorPort %s\n' "$P4C" "$port" > "$d/torsocks-$tag.conf"
    printf 'server = %s\nserver_type = 5\nserver_port = %s\nlocal = 10.78.1.0/255.255.255.0\n' "$P4C" "$port" > "$d/tsocks-$tag.conf"
    {
        [[ $dns == 1 ]] && echo 'resolveprotocol: fake'
        printf 'route {\n    from: 0.0.0.0/0 to: 0.0.0.0/0 via: %s port = %s\n    proxyprotocol: socks_v5\n    method: none\n}\n' "$P4C" "$port"
    } > "$d/dante-$tag.conf"
}
write_confs danted "$DANTE_PORT" 0
write_confs delay "$DP_PORT" 0
write_confs dns "$DANTE_PORT" 1

# tool_prefix TOOL TAG: sets PFX, the words that go before the program to run it under TOOL with
# the configuration TAG (VAR=value words first: run_c passes them to env).
tool_prefix() {
    local d=$TMP/conf
    case $1 in
        socksify)         PFX=("$REPO/$WRAPPER" -f "$d/socksify-$2.conf" --) ;;
        socksify-preload) PFX=(LD_PRELOAD="$REPO/$LIB" SOCKSIFY_CONF="$d/socksify-$2.conf") ;;
        proxychains4)     PFX=("${BIN[proxychains4]}" -q -f "$d/proxychains-$2.conf") ;;
        torsocks)         PFX=(TORSOCKS_CONF_FILE="$d/torsocks-$2.conf" "${BIN[torsocks]}") ;;
        tsocks)           PFX=(TSOCKS_CONF_FILE="$d/tsocks-$2.conf" "${BIN[tsocks]}") ;;
        dante)            PFX=(SOCKS_CONF="$d/dante-$2.conf" "${BIN[dante]}") ;;
        none)             PFX=() ;;
        *)                die "tool_prefix: unknown tool $1" ;;
    esac
}

# ---------------------------------------------------------------- measuring
declare -A VALS NA ONCE LASTWALL NOTE
# Why a tool cannot do a case, when the failure is the known one (the client's own words follow).
declare -A WHY=(
    [c2|tsocks]="tsocks returns from a non-blocking connect() before it has read the SOCKS5 replies, so the program reads the proxy's reply bytes as its data"
    [c2|dante]="dante-client finishes a non-blocking connect in a child process and dup2()s the socket over the program's descriptor, which drops the descriptor's epoll registration: the event loop never sees it connect"
    [c6|torsocks]="torsocks resolves names with Tor's SOCKS5 RESOLVE extension (command 0xF0), which danted refuses (unknown command); it has no other remote-DNS mode"
    [c6|tsocks]="tsocks resolves names with the local resolver only (no remote DNS), and the client namespace has none"
)

# median "V1 V2 ...": the median, at the values' own precision (lib.sh's rounds to 0.1).
median() {
    tr ' ' '\n' <<<"$1" | grep . | sort -g |
        awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.6g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
gt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a > b) }'; }
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }'; }
last_err() { grep -v '^[[:space:]]*$' "$TMP/err" 2> /dev/null | tail -n 1 | cut -c 1-200 || true; }

# run_one KEY TOOL [SIZE]: one run of case KEY under TOOL; prints the value, or fails with the
# client's error in $TMP/err. Dispatches to run_<case>.
run_one() { local key=$1; "run_${key%%n*}" "$@"; }

# warmup KEY SIZE TOOL...: one small run per tool; a tool that fails is n/a for KEY (WHY[KEY|TOOL]
# explains the known failures).
warmup() {
    local key=$1 size=$2 tool v wkey=${1%%n*}; shift 2
    for tool in "$@"; do
        [[ -z ${NA[$key|$tool]:-} ]] || continue
        if [[ $tool != none && $tool != socksify* && -z ${BIN[$tool]:-} ]]; then
            NA[$key|$tool]="not installed (scripts/deps.sh installs it)"
            continue
        fi
        if ! v=$(run_one "$key" "$tool" "$size" 2> "$TMP/err"); then
            local why=${WHY[$wkey|$tool]:-failed}
            NA[$key|$tool]="$why (warm-up run, client: $(last_err))"
            if [[ $tool == socksify || $tool == none ]]; then
                BAD+=("case $key: $tool failed: $(last_err)")
            fi
            echo "  $tool: n/a: ${NA[$key|$tool]}"
        fi
    done
}

# measure KEY LONG BUDGET TOOL...: ROUNDS rounds over the tools, rotating the order each round.
# A tool whose run took longer than LONG seconds is not run again; no new round starts if the
# runs still to repeat would take the case past BUDGET seconds.
measure() {
    local key=$1 long=$2 budget=$3; shift 3
    local tools=("$@") k=$# r i tool v t0 line started=$EPOCHREALTIME est once_s=0
    for ((r = 0; r < ROUNDS; r++)); do
        if ((r > 0)); then
            est=0
            for tool in "${tools[@]}"; do
                [[ -n ${NA[$key|$tool]:-} || -n ${ONCE[$key|$tool]:-} ]] ||
                    est=$(awk -v a="$est" -v b="${LASTWALL[$key|$tool]:-0}" 'BEGIN { print a + b }')
            done
            [[ $est == 0 ]] && break
            # the budget is for the runs that repeat: time spent in run-once runs does not count
            if gt "$(awk -v s="$(since "$started")" -v o="$once_s" -v e="$est" 'BEGIN { print s - o + e }')" "$budget"; then
                NOTE[$key]="stopped after $r of $ROUNDS rounds to stay within ${budget} s"
                echo "  (no round $((r + 1)): it would take the case past its ${budget} s budget)"
                break
            fi
        fi
        line="  round $((r + 1)):"
        for ((i = 0; i < k; i++)); do
            tool=${tools[$(((r + i) % k))]}
            [[ -z ${NA[$key|$tool]:-} && -z ${ONCE[$key|$tool]:-} ]] || continue
            t0=$EPOCHREALTIME
            if v=$(run_one "$key" "$tool" 2> "$TMP/err"); then
                VALS[$key|$tool]+="${VALS[$key|$tool]:+ }$v"
                line+=" $tool $v"
            else
                NA[$key|$tool]="failed in round $((r + 1)) (client: $(last_err))"
                [[ $tool == socksify || $tool == none ]] && BAD+=("case $key: $tool failed: $(last_err)")
                line+=" $tool FAILED"
            fi
            LASTWALL[$key|$tool]=$(since "$t0")
            if gt "${LASTWALL[$key|$tool]}" "$long" && ((r + 1 < ROUNDS)); then
                ONCE[$key|$tool]="run once: one run takes ${LASTWALL[$key|$tool]} s"
                once_s=$(awk -v a="$once_s" -v b="${LASTWALL[$key|$tool]}" 'BEGIN { print a + b }')
                line+=" [${LASTWALL[$key|$tool]}s: once]"
            fi
        done
        echo "$line"
    done
}

# row KEY TOOL METRIC UNIT [NOTES]: one result line (tab-separated) into $TMP/rows, from VALS.
row() {
    local key=$1 tool=$2 metric=$3 unit=$4 notes=${5:-} vals=${VALS[$1|$2]:-}
    if [[ -n ${NA[$key|$tool]:-} ]]; then
        notes=${NA[$key|$tool]}
        vals=""
    fi
    [[ -n ${ONCE[$key|$tool]:-} ]] && notes+="${notes:+; }${ONCE[$key|$tool]}"
    [[ -n ${NOTE[$key]:-} && -n $vals && -z ${ONCE[$key|$tool]:-} ]] && notes+="${notes:+; }${NOTE[$key]}"
    if [[ -z $vals ]]; then
        printf '%s\t%s\tn/a\t%s\t0\t%s\n' "$tool" "$metric" "$unit" "${notes:-n/a}" >> "$TMP/rows"
    else
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$tool" "$metric" "$(median "$vals")" "$unit" "$(wc -w <<<"$vals")" \
            "$notes${notes:+; }runs: $vals" >> "$TMP/rows"
    fi
}
# rowv TOOL METRIC VALUE UNIT RUNS NOTES: a computed result line.
rowv() { printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >> "$TMP/rows"; }

# case_rows FILE: $TMP/rows -> FILE as CSV, with each median's ratio to socksify's median of the
# same metric (n/a where either is missing); then clears $TMP/rows.
case_rows() {
    awk -F'\t' 'function q(s) { gsub(/"/, "\"\"", s); return "\"" s "\"" }
        NR == FNR { if ($1 == "socksify" && $3 != "n/a") s[$2] = $3; next }
        FNR == 1 { print "tool,metric,median,unit,runs,ratio_to_socksify,notes" }
        { r = ($3 == "n/a" || !($2 in s) || s[$2] == 0) ? "n/a" : sprintf("%.3f", $3 / s[$2])
          print $1 "," $2 "," $3 "," $4 "," $5 "," r "," q($6) }' "$TMP/rows" "$TMP/rows" > "$1"
    cp "$1" "$TMP/last.csv"
    : > "$TMP/rows"
}

# summary CASE TITLE METRIC...: one line from the case's CSV: each tool's median (ratio).
summary() {
    local id=$1 title=$2; shift 2
    local line
    line=$(awk -F, -v ms=" $* " 'NR > 1 && index(ms, " " $2 " ") {
            v = ($3 == "n/a") ? "n/a" : sprintf("%s %s (%s)", $3, $4, $6)
            if (!(($2) in seen)) { order[++n] = $2; seen[$2] = 1 }
            out[$2] = out[$2] sprintf("%s%s %s", (out[$2] == "" ? "" : ", "), $1, v) }
        END { for (i = 1; i <= n; i++) printf "%s%s: %s", (i > 1 ? " | " : ""), order[i], out[order[i]] }' "$TMP/last.csv")
    SUMMARY+=("case $id $title: $line")
    echo "case $id summary: ${SUMMARY[-1]#case $id }"
}

# per_round KEY A B: A's value / B's value of each round in which both ran (same round: the
# same conditions on a machine whose load changes), e.g. "0.981 1.012 0.995".
per_round() {
    local a b i out=""
    read -r -a a <<<"${VALS[$1|$2]:-}"
    read -r -a b <<<"${VALS[$1|$3]:-}"
    for ((i = 0; i < ${#a[@]} && i < ${#b[@]}; i++)); do
        out+="${out:+ }$(awk -v x="${a[$i]}" -v y="${b[$i]}" 'BEGIN { printf "%.3f", x / y }')"
    done
    echo "$out"
}
val() { awk -F, -v t="$1" -v m="$2" '$1 == t && $2 == m { print $3 }' "$TMP/last.csv"; }

BAD=() SUMMARY=()
mkdir -p "$RESULTS"

# ---------------------------------------------------------------- case 1: sequential connects
# none: bench-connloop speaks SOCKS5 itself; every tool runs bench-connloop plain.
run_c1() {
    local tool=$2 n=${3:-$CONN_N} out e0 e1
    e0=$(echo_total)
    if [[ $tool == none ]]; then
        out=$(run_c 300 "$REPO/$CONNLOOP" socks5 "$T4" "$ECHO_PORT" "$n" "$P4C" "$DANTE_PORT") || return 1
    else
        tool_prefix "$tool" danted
        out=$(run_c 300 "${PFX[@]}" "$REPO/$CONNLOOP" plain "$T4" "$ECHO_PORT" "$n") || return 1
    fi
    e1=$(echo_total)
    (( e1 - e0 == n )) || { echo "the echo server saw $((e1 - e0)) connections via the proxy, expected $n" >&2; return 1; }
    awk '$1 == "plain" || $1 == "socks5" { print $2 }' <<<"$out" | grep . || { echo "no rate in: $out" >&2; return 1; }
}
case_1() {
    echo "case 1: sequential connect+request+close x$CONN_N through danted (conns/s)"
    run_c1 c1 none 300 > /dev/null 2> "$TMP/err" || die "warm-up of danted failed: $(last_err)"
    warmup c1 100 none "${TOOLS[@]}"
    measure c1 30 45 none "${TOOLS[@]}"
    local tool rr
    rr=$(per_round c1 socksify none)
    row c1 none conns_per_s conns/s "no library: bench-connloop speaks SOCKS5 to danted itself (the baseline)"
    row c1 socksify conns_per_s conns/s "${rr:+per-round socksify/none: $rr}"
    for tool in "${TOOLS[@]:1}"; do row c1 "$tool" conns_per_s conns/s; done
    case_rows "$RESULTS/case1-connect.csv"
    summary 1 "connect+request+close x$CONN_N (conns/s, ratio to socksify)" conns_per_s
    if [[ -n $rr ]]; then
        local m s n
        m=$(median "$rr") s=$(val socksify conns_per_s) n=$(val none conns_per_s)
        SUMMARY[-1]+="; socksify/none: medians $(awk -v s="$s" -v n="$n" 'BEGIN { printf "%.3f", s / n }'), per round $rr (median $m): $(
            awk -v m="$m" 'BEGIN { if (m >= 0.95) print "target met (at least 95% of the native SOCKS5 client)"; else print "target MISSED (below 95% of the native SOCKS5 client)" }')"
    fi
}

# ---------------------------------------------------------------- case 2: concurrent connects
# none: asyncio_conns.py from P straight to the target (no proxy; the network part of the ideal).
run_c2() {
    local key=$1 tool=$2 n out d0 d1 e0 e1 lim el
    n=${3:-${key#c2n}}
    lim=$(awk -v n="$n" -v d="$DELAY" 'BEGIN { printf "%d", 20 + 2 * n * d }')
    local client=(/usr/bin/python3 "$REPO/$ASYNC" "$T4" "$ECHO_PORT" "$n" --timeout "$((n < 10 ? 5 : lim - 5))")
    d0=$(dp_connects) e0=$(echo_total)
    if [[ $tool == none ]]; then
        out=$(run_p "$lim" "${client[@]}") || return 1
    else
        tool_prefix "$tool" delay
        out=$(run_c "$lim" "${PFX[@]}" "${client[@]}") || return 1
    fi
    d1=$(dp_connects) e1=$(echo_total)
    local want_dp=$n; [[ $tool == none ]] && want_dp=0
    (( d1 - d0 == want_dp && e1 - e0 == n )) || {
        echo "delayproxy carried $((d1 - d0)) and the echo server saw $((e1 - e0)) connections; expected $want_dp and $n" >&2; return 1; }
    el=$(awk '$1 == "asyncio-conns" { for (i = 2; i <= NF; i++) if ($i ~ /^elapsed=/) print substr($i, 9) }' <<<"$out")
    [[ -n $el ]] || { echo "no elapsed time in: $out" >&2; return 1; }
    echo "$el"
}
case_2() {
    local n key tool long=3 ideal
    echo "case 2: N concurrent non-blocking connects (python3 asyncio) through a proxy that waits ${DELAY}s before each upstream connect (wall s)"
    warmup c2n4 4 none "${TOOLS[@]}"
    for n in $ASYNC_NS; do
        key=c2n$n
        for tool in none "${TOOLS[@]}"; do [[ -z ${NA[c2n4|$tool]:-} ]] || NA[$key|$tool]=${NA[c2n4|$tool]}; done
        echo " N=$n:"
        measure "$key" "$long" 60 none "${TOOLS[@]}"
        row "$key" none "wall_s_n$n" s "no proxy: the client in P connects straight to the target (the network part of the ideal)"
        for tool in "${TOOLS[@]}"; do
            local serial=""
            if [[ -n ${VALS[$key|$tool]:-} ]] && gt "$(median "${VALS[$key|$tool]}")" "$(awk -v n="$n" -v d="$DELAY" 'BEGIN { print 0.8 * n * d }')"; then
                serial="serial: the handshakes ran one after another (N x delay = $(awk -v n="$n" -v d="$DELAY" 'BEGIN { print n * d }') s)"
            fi
            row "$key" "$tool" "wall_s_n$n" s "$serial"
        done
        if [[ -n ${VALS[$key|none]:-} ]]; then
            ideal=$(awk -v d="$DELAY" -v m="$(median "${VALS[$key|none]}")" 'BEGIN { printf "%.4f", d + m }')
            rowv ideal "wall_s_n$n" "$ideal" s "$(wc -w <<<"${VALS[$key|none]}")" "one delay (${DELAY} s) + the no-proxy time: all handshakes overlapping"
        fi
    done
    case_rows "$RESULTS/case2-concurrent.csv"
    local metrics=""; for n in $ASYNC_NS; do metrics+=" wall_s_n$n"; done
    summary 2 "concurrent connects via a ${DELAY}s-delay proxy (wall s, ratio to socksify)" $metrics
}

# ---------------------------------------------------------------- case 3: start-up cost
# The loop runs inside one shell in C; each iteration starts the tool's command and /bin/true.
run_c3() {
    local tool=$2 n=${3:-$STARTUP_N} out w envs=(BT_PRELOAD=) cmd=()
    tool_prefix "$tool" danted
    for w in "${PFX[@]}"; do   # VAR=value words go to the loop's environment, the rest before /bin/true
        if ((${#cmd[@]} == 0)) && [[ $w =~ ^[A-Za-z_][A-Za-z0-9_]*= ]]; then envs+=("$w"); else cmd+=("$w"); fi
    done
    if [[ $tool == socksify-preload ]]; then   # LD_PRELOAD goes on each /bin/true, not on the loop's shell
        envs=("${envs[@]/#LD_PRELOAD=/BT_PRELOAD=}")
    fi
    out=$(run_c 300 "${envs[@]}" bash -c '
        n=$1; shift
        t0=$EPOCHREALTIME
        if [[ -n $BT_PRELOAD ]]; then
            for ((i = 0; i < n; i++)); do LD_PRELOAD=$BT_PRELOAD /bin/true || { echo "run $i failed" >&2; exit 1; }; done
        else
            for ((i = 0; i < n; i++)); do "$@" /bin/true || { echo "run $i failed" >&2; exit 1; }; done
        fi
        echo "$t0 $EPOCHREALTIME"' loop "$n" "${cmd[@]}") || return 1
    awk '{ printf "%.3f\n", $2 - $1 }' <<<"$out"
}
case_3() {
    echo "case 3: start-up cost: $STARTUP_N runs of /bin/true (total s)"
    local tools=(none socksify socksify-preload "${TOOLS[@]:1}") tool
    warmup c3 5 "${tools[@]}"
    measure c3 60 55 "${tools[@]}"
    for tool in "${tools[@]}"; do
        local notes=""
        case $tool in
            none) notes="bare /bin/true" ;;
            socksify) notes="the command (C: checks the configuration and the program, stays its parent), then the program" ;;
            socksify-preload) notes="LD_PRELOAD=libsocksify.so SOCKSIFY_CONF=... set by hand: the library alone, no wrapper" ;;
            proxychains4) notes="a C launcher" ;;
            torsocks | tsocks | dante) notes="a shell-script launcher" ;;
        esac
        row c3 "$tool" total_s s "$notes"
    done
    # per-run figures from the same medians
    while IFS=$'\t' read -r tool metric med unit runs notes; do
        [[ $metric == total_s ]] || continue
        if [[ $med == n/a ]]; then rowv "$tool" per_run_ms n/a ms 0 "$notes"
        else rowv "$tool" per_run_ms "$(awk -v t="$med" -v n="$STARTUP_N" 'BEGIN { printf "%.3f", 1000 * t / n }')" ms "$runs" "median total / $STARTUP_N"; fi
    done < <(cp "$TMP/rows" "$TMP/rows.c3" && cat "$TMP/rows.c3")
    case_rows "$RESULTS/case3-startup.csv"
    summary 3 "start-up, $STARTUP_N x /bin/true (ms per run, ratio to socksify)" per_run_ms
}

# ---------------------------------------------------------------- case 4: bulk transfer
run_c4() {
    local tool=$2 bytes=${3:-$BULK_BYTES} out
    if [[ $tool == none ]]; then
        out=$(run_c 150 "$REPO/$BULK" get "$T4" "$BULK_PORT" "$bytes" "$P4C" "$DANTE_PORT") || return 1
    else
        tool_prefix "$tool" danted
        out=$(run_c 150 "${PFX[@]}" "$REPO/$BULK" get "$T4" "$BULK_PORT" "$bytes") || return 1
    fi
    awk '$1 == "bulk" { print $3 }' <<<"$out" | grep . || { echo "no rate in: $out" >&2; return 1; }
}
case_4() {
    local mib=$((BULK_BYTES >> 20)) tool
    echo "case 4: bulk transfer: read $mib MiB from the target through danted (MB/s)"
    warmup c4 $((16 << 20)) none "${TOOLS[@]}"
    measure c4 8 30 none "${TOOLS[@]}"
    local rr
    rr=$(per_round c4 socksify none)
    row c4 none mb_per_s MB/s "no library: bench-bulk speaks SOCKS5 to danted itself (the baseline)"
    row c4 socksify mb_per_s MB/s "${rr:+per-round socksify/none: $rr}"
    for tool in "${TOOLS[@]:1}"; do row c4 "$tool" mb_per_s MB/s; done
    case_rows "$RESULTS/case4-bulk.csv"
    summary 4 "bulk read of $mib MiB via danted (MB/s, ratio to socksify)" mb_per_s
    [[ -z $rr ]] || SUMMARY[-1]+="; socksify/none per round $rr (median $(median "$rr"); 1.00: socksify is not in the data path)"
}

# ---------------------------------------------------------------- case 5: hot path
run_c5() {
    local tool=$2 calls=${3:-$PIPE_CALLS} out
    tool_prefix "$tool" danted
    out=$(run_c 200 "${PFX[@]}" "$REPO/$PIPELOOP" "$calls") || return 1
    # the value is the CPU time per call; the wall time per call goes to a side file
    [[ -n ${3:-} ]] || awk '$1 == "pipeloop" { print $2 }' <<<"$out" >> "$TMP/c5wall.$tool"
    awk '$1 == "pipeloop" { for (i = 2; i <= NF; i++) if ($i ~ /^cpu=/) print substr($i, 5) }' <<<"$out" | grep . ||
        { echo "no figure in: $out" >&2; return 1; }
}
case_5() {
    local tool
    echo "case 5: hot path: $PIPE_CALLS read()/write() calls of 1 byte on a pipe (ns per call)"
    warmup c5 100000 none "${TOOLS[@]}"
    measure c5 10 55 none "${TOOLS[@]}"
    row c5 none ns_per_call ns "CPU time (user+system) per call; no library preloaded"
    for tool in "${TOOLS[@]}"; do row c5 "$tool" ns_per_call ns "CPU time (user+system) per call; preloaded by its launcher"; done
    for tool in none "${TOOLS[@]}"; do   # the same runs' wall time per call
        if [[ -z ${NA[c5|$tool]:-} && -s $TMP/c5wall.$tool ]]; then
            local w; w=$(tr '\n' ' ' < "$TMP/c5wall.$tool")
            rowv "$tool" wall_ns_per_call "$(median "$w")" ns "$(wc -w <<<"$w")" "wall time per call (includes waiting for a core on a busy machine); runs: $w"
        else
            rowv "$tool" wall_ns_per_call n/a ns 0 "${NA[c5|$tool]:-n/a}"
        fi
    done
    case_rows "$RESULTS/case5-hotpath.csv"
    summary 5 "read/write on a pipe x$PIPE_CALLS (CPU ns/call, ratio to socksify)" ns_per_call
    SUMMARY[-1]+="; socksify/none $(awk -v a="$(val socksify ns_per_call)" -v b="$(val none ns_per_call)" 'BEGIN { if (b != "" && b != "n/a" && a != "n/a") printf "%.2f (%+.1f ns per call)", a / b, a - b; else print "n/a" }')"
    local rr; rr=$(per_round c5 socksify none)
    [[ -z $rr ]] || SUMMARY[-1]+=", per round $rr"
}

# ---------------------------------------------------------------- case 6: remote names
run_c6() {
    local tool=$2 n=${3:-$DNS_N} out e0 e1
    e0=$(echo_total)
    tool_prefix "$tool" dns
    out=$(run_c 300 "${PFX[@]}" "$REPO/$CONNLOOP" lookup target.bench.test "$ECHO_PORT" "$n") || return 1
    e1=$(echo_total)
    (( e1 - e0 == n )) || { echo "the echo server saw $((e1 - e0)) connections via the proxy, expected $n" >&2; return 1; }
    awk '$1 == "lookup" { print $2 }' <<<"$out" | grep . || { echo "no rate in: $out" >&2; return 1; }
}
case_6() {
    local tool
    echo "case 6: remote names: $DNS_N x getaddrinfo(target.bench.test)+connect+request+close; only the proxy can resolve the name (conns/s)"
    warmup c6 100 "${TOOLS[@]}"
    measure c6 30 55 "${TOOLS[@]}"
    for tool in "${TOOLS[@]}"; do
        local notes=""
        case $tool in
            socksify) notes="proxy socks5h://: a fake address from getaddrinfo, the name sent to danted" ;;
            proxychains4) notes="proxy_dns: a fake address from getaddrinfo, the name sent to danted" ;;
            dante) notes="resolveprotocol: fake: a fake address, the name sent to danted" ;;
        esac
        row c6 "$tool" conns_per_s conns/s "$notes"
    done
    case_rows "$RESULTS/case6-dns.csv"
    summary 6 "getaddrinfo+connect x$DNS_N with remote names (conns/s, ratio to socksify)" conns_per_s
}

# ---------------------------------------------------------------- case 7: hook
case_7() {
    if [[ -f $CASE7_HOOK ]]; then
        echo "case 7: round trips (from $CASE7_HOOK)"
        # shellcheck disable=SC1090
        source "$CASE7_HOOK"
    elif [[ -f $RTT_CSV ]]; then
        echo "case 7: round trips and socks5_pipelining are measured by tests/bench/rtt.sh (make bench runs it): $RTT_CSV of $(date -r "$RTT_CSV" '+%Y-%m-%d %H:%M')"
        SUMMARY+=("case 7 round trips (tests/bench/rtt.sh, $RTT_CSV): $(awk -F, 'NR > 1 && NF >= 3 { l = $1; for (i = 2; i < NF - 1; i++) l = l "," $i
                                                                       gsub(/"/, "", l); printf "%s%s: %s ms", (n++ ? "; " : ""), l, $(NF - 1) }' "$RTT_CSV")")
    else
        echo "case 7: round trips and socks5_pipelining: not measured in this run (tests/bench/rtt.sh writes $RTT_CSV; hook: $CASE7_HOOK)"
    fi
}

# ---------------------------------------------------------------- run
echo "compare.sh: socksify vs ${TOOLS[*]:1} and no library; $ROUNDS round(s)$([[ $QUICK == 1 ]] && echo ", QUICK smoke run")"
echo "  namespaces $C -> $P -> $T; danted $P4C:$DANTE_PORT, delayproxy $P4C:$DP_PORT, target $T4:$ECHO_PORT/$BULK_PORT"
for c in $CASES; do
    [[ $c =~ ^[1-7]$ ]] || die "BENCH_CASES: unknown case $c (1..7)"
    t0=$SECONDS
    "case_$c"
    echo "  (case $c took $((SECONDS - t0)) s)"
done
WALL=$((SECONDS - START))

{
    echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "socksify: $(git -C "$REPO" describe --always --dirty 2> /dev/null || echo unknown)"
    echo "machine: $(nproc) cores, kernel $(uname -r), load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "tools: $(dpkg-query -W -f='${Package} ${Version}, ' proxychains4 torsocks tsocks dante-client dante-server 2> /dev/null | sed 's/, $//')"
    echo "rounds: $ROUNDS; quick: $QUICK; cases: $CASES; wall time: $WALL s"
    echo
    printf '%s\n' "${SUMMARY[@]}"
} > "$RESULTS/run-info.txt"

if command -v gnuplot > /dev/null && [[ -f $RESULTS/case1-connect.csv || -f $RESULTS/case2-concurrent.csv || -f $RESULTS/case3-startup.csv ]]; then
    tests/bench/chart.sh "$RESULTS" || echo "$ME: the chart failed (the results are in $RESULTS)" >&2
fi

echo
echo "results in $RESULTS/ (medians; ratio = tool / socksify for the same metric)"
for f in "$RESULTS"/case*.csv; do
    [[ -f $f ]] || continue
    echo "  ${f##*/}"
    awk -F, 'NR > 1 { printf "    %-17s %-14s %12s %-8s runs %-2s ratio %s\n", $1, $2, $3, $4, $5, $6 }' "$f"
done
echo
printf '%s\n' "${SUMMARY[@]}"
echo "compare.sh took $WALL s"
if ((${#BAD[@]})); then
    printf '%s: %s\n' "$ME" "${BAD[@]}" >&2
    exit 1
fi
