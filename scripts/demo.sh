#!/usr/bin/env bash
# socksify demo: an unmodified curl fetches a file from a local web server, and
# socksify sends the connection through a local SOCKS5 proxy (microsocks); then an
# unmodified nc sends a UDP datagram to a local echo server, and socksify carries it
# through danted's UDP ASSOCIATE relay.
#
# Everything runs on this machine, on loopback. microsocks makes its outgoing
# connections from 127.0.0.2, so the web server's access log shows who really
# connected: 127.0.0.2 means the request came through the proxy, 127.0.0.1 would
# mean curl connected directly.
#
# Run from the repo root after `make` (`make demo` does both).
set -euo pipefail

LIB=build/libsocksify.so
WRAPPER=build/socksify

ME=demo.sh
source "$(dirname "$0")/servers.sh"

[[ -e "$LIB" ]] || die "$LIB is missing: run 'make demo' (it builds the library first)"
[[ -x "$WRAPPER" ]] || die "$WRAPPER is missing or not executable"
for tool in microsocks curl nc "$DANTED"; do
    command -v "$tool" > /dev/null || die "$tool not found: run scripts/deps.sh"
done

TMP=$(mktemp -d /tmp/socksify-demo.XXXXXX)
HTTP_PID=
PROXY_PID=
UDP_PID=
DANTED_PID=

cleanup() {
    stop_pid "$DANTED_PID"
    stop_pid "$UDP_PID"
    stop_pid "$PROXY_PID"
    stop_pid "$HTTP_PID"
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Wait (bounded) until FILE has a line matching the extended regex RE.
wait_for_line() {
    local file=$1 re=$2 i
    for ((i = 0; i < 40; i++)); do
        grep -Eq -- "$re" "$file" 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

indent() { sed 's/^/    /'; }
heading() { printf '\n-- %s\n' "$*"; }

# --- the web server: serves $TMP/www on 127.0.0.1, on a port it picks itself.
mkdir "$TMP/www"
TOKEN="socksify-demo-$$-$RANDOM"
echo "Hello from the demo web server ($TOKEN)" > "$TMP/www/hello.txt"
"$PY" -u - "$TMP/www" "$TMP/http.port" > "$TMP/http.log" 2>&1 <<'EOF' &
import functools, http.server, os, sys
root, port_file = sys.argv[1], sys.argv[2]
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=root)
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
with open(port_file + ".tmp", "w") as f:
    f.write(f"{server.server_address[1]}\n")
os.rename(port_file + ".tmp", port_file)
server.serve_forever()
EOF
HTTP_PID=$!
wait_port_file HTTP_PORT "$TMP/http.port" "$HTTP_PID" "web server" "$TMP/http.log"
wait_listen "$HTTP_PORT" "$HTTP_PID" "web server" "$TMP/http.log"

# --- the SOCKS5 proxy: listens on 127.0.0.1, connects out from 127.0.0.2.
PROXY_PORT=$(free_port)
microsocks -i 127.0.0.1 -p "$PROXY_PORT" -b 127.0.0.2 > "$TMP/microsocks.log" 2>&1 &
PROXY_PID=$!
wait_listen "$PROXY_PORT" "$PROXY_PID" microsocks "$TMP/microsocks.log"

# --- socksify's config. direct_loopback no: by default socksify lets loopback
# destinations bypass the proxy; here the web server is on loopback too.
CONF="$TMP/socksify.conf"
cat > "$CONF" <<EOF
proxy socks5://127.0.0.1:$PROXY_PORT
direct_loopback no
EOF

URL="http://127.0.0.1:$HTTP_PORT/hello.txt"
CMD=("$WRAPPER" -v -f "$CONF" curl -sS --max-time 10 "$URL")

echo "== socksify demo ============================================================"
echo "An unmodified curl fetches a file; socksify routes its connection through a"
echo "SOCKS5 proxy. Everything runs here, on loopback:"
echo "    web server    python3 http.server on 127.0.0.1:$HTTP_PORT, serving hello.txt"
echo "    SOCKS5 proxy  microsocks on 127.0.0.1:$PROXY_PORT, connecting out from 127.0.0.2"
echo "So the web server sees 127.0.0.2 if the request came through the proxy."

heading "socksify config file ($CONF)"
indent < "$CONF"
echo "    (direct_loopback no: send loopback destinations through the proxy too;"
echo "     the default, yes, would let this local request bypass it)"

heading "command"
echo "    \$ ${CMD[*]}"

set +e
"${CMD[@]}" > "$TMP/curl.out" 2> "$TMP/socksify.err"
RC=$?
set -e

# The servers log while handling the request; give the lines a moment to land.
wait_for_line "$TMP/microsocks.log" "connected to 127\.0\.0\.1:$HTTP_PORT" || true
wait_for_line "$TMP/http.log" '"GET /hello.txt' || true

heading "curl's output (exit status $RC)"
indent < "$TMP/curl.out"

heading "socksify -v (one line per connection), on stderr"
if [[ -s "$TMP/socksify.err" ]]; then indent < "$TMP/socksify.err"; else echo "    (nothing)"; fi

heading "microsocks' log: the proxy made the connection"
if [[ -s "$TMP/microsocks.log" ]]; then indent < "$TMP/microsocks.log"; else echo "    (nothing)"; fi

heading "web server's access log: the client address is the proxy's 127.0.0.2"
if grep -q '"GET ' "$TMP/http.log"; then grep '"GET ' "$TMP/http.log" | indent; else echo "    (no request)"; fi
echo

fail() { echo "demo FAILED: $*" >&2; exit 1; }
[[ $RC -eq 0 ]] || fail "the command exited with status $RC"
grep -qF "$TOKEN" "$TMP/curl.out" || fail "curl did not print the file's contents"
grep -Eq "connected to 127\.0\.0\.1:$HTTP_PORT" "$TMP/microsocks.log" ||
    fail "microsocks did not log a connection to the web server"
grep -Eq '^127\.0\.0\.2 .*"GET /hello\.txt' "$TMP/http.log" ||
    fail "the web server did not see the request coming from the proxy (127.0.0.2)"
if grep -Eq '^127\.0\.0\.1 .*"GET /hello\.txt' "$TMP/http.log"; then
    fail "the web server saw a request straight from curl (127.0.0.1), bypassing the proxy"
fi
echo "demo OK: the request went through the SOCKS5 proxy"

# --- UDP: an echo server on 127.0.0.1 that answers with the address it saw, and danted
# (which relays UDP, unlike microsocks) listening on 127.0.0.1, sending from 127.0.0.2.
"$PY" -u - "$TMP/udp.port" > "$TMP/udp.log" 2>&1 <<'EOF' &
import os, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write("%d\n" % s.getsockname()[1])
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    data, peer = s.recvfrom(65536)
    print("datagram from %s:%d: %r" % (peer[0], peer[1], data), flush=True)
    s.sendto(b"echo to %s:%d: " % (peer[0].encode(), peer[1]) + data, peer)
EOF
UDP_PID=$!
wait_port_file UDP_PORT "$TMP/udp.port" "$UDP_PID" "UDP echo server" "$TMP/udp.log"
DANTED_PORT=$(free_port)
danted_conf "$TMP/danted.conf" "$DANTED_PORT" 127.0.0.2 "$TMP/danted.log" "connect disconnect error"
start_danted DANTED_PID "$TMP/danted.conf" "$DANTED_PORT"
UCONF="$TMP/socksify-udp.conf"
printf 'proxy socks5://127.0.0.1:%s\ndirect_loopback no\n' "$DANTED_PORT" > "$UCONF"
UCMD=("$WRAPPER" -v -f "$UCONF" nc -u -w1 127.0.0.1 "$UDP_PORT")

echo
echo "== UDP ======================================================================="
echo "An unmodified nc sends one UDP datagram to an echo server on 127.0.0.1:$UDP_PORT;"
echo "socksify carries it through danted (127.0.0.1:$DANTED_PORT, which relays UDP and"
echo "sends from 127.0.0.2; microsocks cannot relay UDP)."
heading "command"
echo "    \$ echo 'hello over UDP' | ${UCMD[*]}"
set +e
echo "hello over UDP" | "${UCMD[@]}" > "$TMP/nc.out" 2> "$TMP/nc.err"
URC=$?
set -e
heading "nc's output (exit status $URC): the echo server saw the proxy's address"
indent < "$TMP/nc.out"
heading "socksify -v, on stderr"
if [[ -s "$TMP/nc.err" ]]; then indent < "$TMP/nc.err"; else echo "    (nothing)"; fi
echo
[[ $URC -eq 0 ]] || fail "nc -u exited with status $URC"
grep -q "^echo to 127\.0\.0\.2:[0-9]*: hello over UDP" "$TMP/nc.out" ||
    fail "the UDP echo did not come back through danted (127.0.0.2)"
echo "demo OK: the datagram went through the SOCKS5 proxy's UDP relay"
