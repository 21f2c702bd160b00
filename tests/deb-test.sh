#!/usr/bin/env bash
# The package `make deb` builds: lintian finds no error in it; `dpkg -i` installs it; the
# installed command, with nothing but the installed files (the build directory is hidden), finds
# /etc/socksify.conf and takes a program through a real proxy (microsocks on loopback, whose log
# shows the connection), -x too; `dpkg --purge` leaves not one file behind in /usr or /etc.
#
# dpkg runs "on the machine" but in private namespaces: /usr, /etc and /var are overlays whose
# changes go to a tmpfs that vanishes with the test (the machine is untouched, and an apt-get
# running meanwhile does not hold our dpkg lock), and the network is a fresh one with only
# loopback (plus 10.99.0.2 on it, a target socksify routes through the proxy).
# Prints PASS/FAIL lines and "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh
target=10.99.0.2

# ---------- inside the private namespaces ----------

# Each of /usr /etc /var becomes an overlay on a tmpfs; the build directory is hidden.
private_root() {
    mount -t tmpfs none "$tmp/ov" || return 1
    mkdir "$tmp/ov/real" && mount --bind / "$tmp/ov/real" || return 1   # the lower layers, to compare with
    local d
    for d in usr etc var; do
        mkdir -p "$tmp/ov/$d.up" "$tmp/ov/$d.work"
        mount -t overlay overlay -o "lowerdir=/$d,upperdir=$tmp/ov/$d.up,workdir=$tmp/ov/$d.work" "/$d" || return 1
    done
    mount -t tmpfs none "$PWD/build"
    ip link set lo up && ip addr add "$target/32" dev lo
}

# wait_port PORT: until something listens on TCP PORT (at most 5 s).
wait_port() {
    local i
    for ((i = 0; i < 100; i++)); do
        ss -ltnH "sport = :$1" | grep -q . && return 0
        sleep 0.05
    done
    return 1
}

# A microsocks on 127.0.0.1:1080 (what /etc/socksify.conf names) and one on :1081 (for -x),
# and an HTTP server on $target:8000 serving a token.
start_servers() {
    token=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
    mkdir -p "$tmp/www" "$tmp/home" && echo "$token" > "$tmp/www/token"
    microsocks -i 127.0.0.1 -p 1080 > "$tmp/ms1080.log" 2>&1 &
    microsocks -i 127.0.0.1 -p 1081 > "$tmp/ms1081.log" 2>&1 &
    (cd "$tmp/www" && exec python3 -m http.server --bind "$target" 8000) > "$tmp/http.log" 2>&1 &
    wait_port 1080 && wait_port 1081 && wait_port 8000
}

# run_installed ARGS...: the installed command, from /, with a bare environment.
run_installed() {
    (cd / && env -i PATH=/usr/bin:/bin HOME="$tmp/home" /usr/bin/socksify "$@")
}

# proxied NAME LOG ARGS...: socksify ARGS curl fetches the token, and microsocks' LOG shows it.
proxied() {
    local name=$1 log=$2 out i
    shift 2
    out=$(run_installed "$@" curl -sS --max-time 10 "http://$target:8000/token" 2>&1)
    [ "$out" = "$token" ] || { bad "$name" "curl printed '$out', expected the token"; return; }
    for ((i = 0; i < 100; i++)); do
        grep -q "connected to $target:8000" "$log" && { ok "$name"; return; }
        sleep 0.05
    done
    bad "$name" "the token came, but $(basename "$log") did not log the connection: $(tail -3 "$log")"
}

# What dpkg left in the overlays' upper layers of /usr and /etc: any file, or any directory the
# machine does not have (a directory it has is copied up when a file goes in, and stays).
# Compared with the layers, not with a listing of /usr: an apt-get elsewhere changes that meanwhile.
left_behind() {
    local d path left=0
    for d in usr etc; do
        while IFS= read -r -d '' path; do
            if [ -d "$tmp/ov/$d.up/$path" ] && [ -d "$tmp/ov/real/$d/$path" ]; then continue; fi
            grep -qxF "/$d/$path" "$tmp/baseline" && continue
            echo "left: /$d/$path"
            left=1
        done < <(cd "$tmp/ov/$d.up" && find . -mindepth 1 -printf '%P\0')
    done
    return $left
}

# dante-client ships a /usr/bin/socksify too (`make bench` installs it, to compare): the package
# conflicts with it, so it goes first, in the overlays only; what its removal changed there is
# the baseline left_behind starts from.
make_room() {
    local d path
    : > "$tmp/baseline"
    dpkg-query -W -f='${Status}' dante-client 2>/dev/null | grep -q 'ok installed' || return 0
    dpkg -r dante-client > /dev/null || return 1
    for d in usr etc; do
        (cd "$tmp/ov/$d.up" && find . -mindepth 1 -printf "/$d/%P\n") >> "$tmp/baseline"
    done
}

inside() {
    local deb=$1
    private_root || { bad "private namespaces" "cannot mount the overlays"; return; }
    make_room || { bad "dante-client" "cannot remove it in the overlays"; return; }
    check "dpkg -i installs the package" dpkg -i "$deb"
    check "the installed command names the installed library" \
        sh -c "env -i /usr/bin/socksify --version | grep -qx 'library: /usr/lib/socksify/$native/libsocksify.so'"
    [ -z "$m32" ] || check "the i386 library is installed" test -f "/usr/lib/socksify/$m32/libsocksify.so"
    check "/etc/socksify.conf is a conffile" sh -c "dpkg-query -W -f='\${Conffiles}' socksify | grep -q '/etc/socksify.conf '"
    check "man finds socksify(1)" sh -c "man -w socksify | grep -qx /usr/share/man/man1/socksify.1.gz"
    check "man finds socksify.conf(5)" sh -c "man -w 5 socksify.conf | grep -qx /usr/share/man/man5/socksify.conf.5.gz"
    check "the bash completion is installed" test -f /usr/share/bash-completion/completions/socksify
    if start_servers; then
        proxied "the installed command uses /etc/socksify.conf and its proxy" "$tmp/ms1080.log"
        proxied "the installed command takes -x" "$tmp/ms1081.log" -x socks5://127.0.0.1:1081
    else
        bad "servers" "microsocks or the HTTP server did not start"
    fi
    check "dpkg --purge removes the package" dpkg --purge socksify
    check "nothing is left in /usr or /etc" left_behind
    check "dpkg forgot the package" sh -c "! dpkg-query -W socksify 2>/dev/null && ! ls /var/lib/dpkg/info/socksify.* 2>/dev/null"
}

if [ "${1:-}" = --inside ]; then
    tmp=$2 native=$4 m32=$5
    # The parent's lib.sh removes tmp; the servers go with the network namespace's processes.
    trap 'jobs -p | xargs -r kill 2>/dev/null' EXIT
    inside "$3"
    summary
    exit
fi

# ---------- outside ----------

deb=$(scripts/deb.sh) || { bad "make deb" "scripts/deb.sh failed"; summary; exit; }
ok "make deb builds $(basename "$deb")"
out=$(lintian --fail-on error "$deb" 2>&1 | grep -v '^running with root privileges')
if lintian --fail-on error "$deb" > /dev/null 2>&1; then
    ok "lintian reports no error${out:+ (}$(printf '%s' "$out" | tr '\n' ';')${out:+)}"
else
    bad "lintian reports no error" "$out"
fi
cp "$deb" "$tmp/" && mkdir -p "$tmp/ov"
native=$(scripts/loader-lib.sh "${CC:-cc}")
m32=$(scripts/loader-lib.sh "${CC:-cc}" -m32) || m32=""
[ "$m32" != "$native" ] || m32=""
# Bounded: a hung dpkg or server must not hang make check.
timeout -k 10 300 unshare --mount --net --propagation private "$0" --inside "$tmp" "$tmp/$(basename "$deb")" "$native" "$m32"
inner=$?
[ "$inner" -eq 0 ] && ok "install, run and purge" || bad "install, run and purge" "failed (status $inner, lines above)"
summary
