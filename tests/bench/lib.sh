# Shell helpers shared by the benchmarks of tests/bench/: scripts/servers.sh (start, wait for and
# stop local servers, danted among them, as the demo does) plus what only benchmarks need.
# Source it after setting ME (the script's name, for messages). It moves to the repository's root,
# where the benchmarks find build/, build/socksify and tests/bench/, from wherever they are run.
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source scripts/servers.sh

# start_echo DIR: starts tests/bench/echoserver.py on 127.0.0.1; sets ECHO_PID and ECHO_PORT.
start_echo() {
    local dir=$1
    "$PY" tests/bench/echoserver.py "$dir/echo.port" > "$dir/echo.log" 2>&1 &
    ECHO_PID=$!
    wait_port_file ECHO_PORT "$dir/echo.port" "$ECHO_PID" "echo server" "$dir/echo.log"
    wait_listen "$ECHO_PORT" "$ECHO_PID" "echo server" "$dir/echo.log"
}

# stats_of PORT: the answer of the server on 127.0.0.1:PORT to "stats" (echoserver.py,
# delayproxy.py), on one line.
stats_of() {
    "$PY" - "$1" <<'PYSTATS'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"stats\n")
data = b""
while chunk := s.recv(4096):
    data += chunk
print(data.decode().strip())
PYSTATS
}

# echo_counts: the echo server's served connections by client address, "A B" for 127.0.0.1
# and 127.0.0.2.
echo_counts() {
    stats_of "$ECHO_PORT" | tr ' ' '\n' | awk -F= '{ c[$1] = $2 } END { print c["127.0.0.1"] + 0, c["127.0.0.2"] + 0 }'
}

# start_loopback_danted DIR: danted on 127.0.0.1 connecting out from 127.0.0.2 (no auth), and
# DIR/socksify.conf sending everything through it (loopback too); sets PROXY_PORT and DANTED_PID.
start_loopback_danted() {
    local dir=$1
    PROXY_PORT=$(free_port)
    danted_conf "$dir/danted.conf" "$PROXY_PORT" 127.0.0.2 "$dir/danted.log"
    start_danted DANTED_PID "$dir/danted.conf" "$PROXY_PORT"
    printf 'proxy socks5://127.0.0.1:%s\ndirect_loopback no\n' "$PROXY_PORT" > "$dir/socksify.conf"
}

# median "V1 V2 ...": the median of the values.
median() {
    tr ' ' '\n' <<<"$1" | grep . | sort -g |
        awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
