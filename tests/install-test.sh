#!/usr/bin/env bash
# `make install` puts the library, the checker and the wrapper where the installed wrapper finds
# them, and DESTDIR stages the same tree. Prints "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { echo "PASS $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1: $2"; fail=$((fail + 1)); }

make -s install PREFIX="$tmp/prefix" >/dev/null || bad install "make install failed"
lib="$tmp/prefix/lib/socksify/libsocksify.so"
out=$(cd / && env -u SOCKSIFY_CONF HOME="$tmp" "$tmp/prefix/bin/socksify" -x socks5://127.0.0.1:1 sh -c 'echo "$LD_PRELOAD"' 2>&1)
[ "$out" = "$lib" ] && ok "installed wrapper preloads the installed library" \
    || bad "installed wrapper preloads the installed library" "LD_PRELOAD was '$out', expected '$lib'"
out=$(cd / && "$tmp/prefix/bin/socksify" --version 2>&1)
case $out in "socksify "[0-9]*) ok "installed wrapper --version" ;; *) bad "installed wrapper --version" "got '$out'" ;; esac

make -s install PREFIX=/usr/local DESTDIR="$tmp/stage" >/dev/null || bad "install with DESTDIR" "make install failed"
for f in usr/local/bin/socksify usr/local/lib/socksify/libsocksify.so usr/local/libexec/socksify/socksify-check; do
    [ -x "$tmp/stage/$f" ] && ok "DESTDIR stages $f" || bad "DESTDIR stages $f" "missing"
done
grep -q '^SOCKSIFY_INSTALLED_LIB="/usr/local/lib/socksify/libsocksify.so"$' "$tmp/stage/usr/local/bin/socksify" \
    && ok "staged wrapper points at the final library path" || bad "staged wrapper points at the final library path" "wrong path"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
