# Shell helpers shared by demo.sh and bench.sh: start, wait for and stop local test servers.
# Source it after setting ME (the script's name, for messages).

die() { echo "$ME: $*" >&2; exit 1; }

PY=/usr/bin/python3
[[ -x "$PY" ]] || PY=$(command -v python3) || die "python3 not found: run scripts/deps.sh"

# Stops one background process of ours: TERM, a bounded wait, then KILL (its group too).
stop_pid() {
    local pid=$1 i
    [[ -n "$pid" ]] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# Prints a TCP port on 127.0.0.1 that is free right now.
free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_listen PORT PID NAME LOG: polls (at most 10 s) until something listens on PORT;
# fails early, showing LOG, if PID died first.
wait_listen() {
    local port=$1 pid=$2 name=$3 log=$4 i
    for ((i = 0; i < 200; i++)); do
        if ss -Hltn "sport = :$port" | grep -q .; then
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "$ME: $name exited before listening on port $port; its log:" >&2
            cat "$log" >&2 || true
            exit 1
        fi
        sleep 0.05
    done
    echo "$ME: $name did not listen on port $port within 10 s; its log:" >&2
    cat "$log" >&2 || true
    exit 1
}

# danted_conf FILE PORT EXTERNAL LOG [UDP_LOG]: a quiet, no-auth danted listening on 127.0.0.1:PORT
# that connects out from EXTERNAL. Without UDP_LOG, one socks rule for every command, logging
# errors. With UDP_LOG (danted's "log:" items, e.g. "error" or "connect disconnect error"), it also
# relays UDP: a socks rule for connect (logging errors), and one each for udpassociate and
# udpreply, which log UDP_LOG (with "connect disconnect": a "udp/udpassociate [:" line when an
# association starts and a "]:" line with its packet counts when it ends).
danted_conf() {
    cat > "$1" <<CONF
logoutput: $4
internal: 127.0.0.1 port = $2
external: $3
socksmethod: none
clientmethod: none
user.privileged: root
user.unprivileged: nobody
client pass { from: 0.0.0.0/0 to: 0.0.0.0/0 log: error }
CONF
    if [[ -z "${5:-}" ]]; then
        echo "socks pass { from: 0.0.0.0/0 to: 0.0.0.0/0 log: error }" >> "$1"
        return 0
    fi
    local command log
    for command in connect udpassociate udpreply; do
        log=$5
        [[ $command == connect ]] && log=error
        cat >> "$1" <<CONF
socks pass {
    from: 0.0.0.0/0 to: 0.0.0.0/0
    command: $command
    log: $log
}
CONF
    done
}

# start_echo DIR: starts tests/bench/echoserver.py on 127.0.0.1; sets ECHO_PID and ECHO_PORT.
start_echo() {
    local dir=$1 i
    "$PY" "$(dirname "${BASH_SOURCE[0]}")/../tests/bench/echoserver.py" "$dir/echo.port" > "$dir/echo.log" 2>&1 &
    ECHO_PID=$!
    for ((i = 0; i < 200; i++)); do
        [[ -s "$dir/echo.port" ]] && break
        kill -0 "$ECHO_PID" 2>/dev/null || { cat "$dir/echo.log" >&2; die "echo server failed to start"; }
        sleep 0.05
    done
    [[ -s "$dir/echo.port" ]] || die "echo server did not start within 10 s"
    ECHO_PORT=$(cat "$dir/echo.port")
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
