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

# danted_conf FILE PORT EXTERNAL LOG: a quiet, no-auth danted listening on 127.0.0.1:PORT that
# connects out from EXTERNAL.
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
socks pass { from: 0.0.0.0/0 to: 0.0.0.0/0 log: error }
CONF
}
