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

# echo_counts: the echo server's served connections by client address, "A B" for 127.0.0.1
# and 127.0.0.2.
echo_counts() {
    "$PY" - "$ECHO_PORT" <<'PYCOUNT'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"stats\n")
data = b""
while chunk := s.recv(4096):
    data += chunk
c = dict(kv.split("=") for kv in data.decode().split())
print(c.get("127.0.0.1", 0), c.get("127.0.0.2", 0))
PYCOUNT
}

# median "V1 V2 ...": the median of the values.
median() {
    tr ' ' '\n' <<<"$1" | grep . | sort -g |
        awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
