# Shell helpers of demo.sh, also sourced by the benchmarks (tests/bench/lib.sh) and the TSan stress
# (tests/tsan/run.sh): start, wait for and stop local servers, danted among them.
# Source it after setting ME (the script's name, for messages).

die() { echo "$ME: $*" >&2; exit 1; }

PY=/usr/bin/python3
[[ -x "$PY" ]] || PY=$(command -v python3) || die "python3 not found: run scripts/deps.sh"
DANTED=$(command -v danted || echo /usr/sbin/danted)

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

# wait_port_file PORTVAR FILE PID NAME LOG: polls (at most 10 s) until the server PID has written the
# port it bound to FILE, and sets the variable PORTVAR to it; fails early, showing LOG, if PID died first.
wait_port_file() {
    local var=$1 file=$2 pid=$3 name=$4 log=$5 i
    for ((i = 0; i < 200; i++)); do
        [[ -s "$file" ]] && break
        kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; die "$name failed to start"; }
        sleep 0.05
    done
    [[ -s "$file" ]] || die "$name did not start within 10 s"
    printf -v "$var" %s "$(cat "$file")"
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

# start_danted PIDVAR CONF PORT [HOSTS]: starts $DANTED on CONF (see danted_conf), which listens on
# 127.0.0.1:PORT, and waits until it listens; its output goes to CONF's name with .out for .conf.
# PIDVAR names the variable that gets danted's pid, set before the wait so that the caller's exit
# trap stops it if the wait fails. danted leads a process group of its own (setsid), so stop_pid
# stops its worker processes too. With HOSTS, danted runs in a private mount namespace where that
# file is /etc/hosts: names only the proxy can resolve.
start_danted() {
    local var=$1 conf=$2 port=$3 hosts=${4:-} out=${2%.conf}.out pid=${2%.conf}.pid
    [[ -x "$DANTED" ]] || die "danted not found: run scripts/deps.sh"
    if [[ -n "$hosts" ]]; then
        # unshare without --fork and sh's exec keep $! as danted's pid.
        setsid unshare --mount --propagation private -- /bin/sh -c 'mount --bind "$0" /etc/hosts && exec "$@"' \
            "$hosts" "$DANTED" -f "$conf" -p "$pid" > "$out" 2>&1 &
    else
        setsid "$DANTED" -f "$conf" -p "$pid" > "$out" 2>&1 &
    fi
    printf -v "$var" %s "$!"
    wait_listen "$port" "$!" danted "$out"
}
