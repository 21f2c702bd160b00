#!/usr/bin/env bash
# `make install` puts the library and the command (a binary that has the installed library's path
# compiled in) where they belong, and DESTDIR stages the same tree. Prints "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { echo "PASS $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1: $2"; fail=$((fail + 1)); }

make -s install PREFIX="$tmp/prefix" >/dev/null || bad install "make install failed"
lib="$tmp/prefix/lib/socksify/libsocksify.so"
out=$(cd / && env -u SOCKSIFY_CONF -u SOCKSIFY_LIB HOME="$tmp" "$tmp/prefix/bin/socksify" -x socks5://127.0.0.1:1 sh -c 'echo "$LD_PRELOAD"' 2>&1)
[ "$out" = "$lib" ] && ok "installed command preloads the installed library" \
    || bad "installed command preloads the installed library" "LD_PRELOAD was '$out', expected '$lib'"
out=$(cd / && env -u SOCKSIFY_LIB "$tmp/prefix/bin/socksify" --version 2>&1)
case $out in "socksify "[0-9]*"library: $lib") ok "installed command --version" ;; *) bad "installed command --version" "got '$out'" ;; esac
[ "$(head -c 4 "$tmp/prefix/bin/socksify" | tail -c 3)" = ELF ] && ok "the installed command is a binary" \
    || bad "the installed command is a binary" "no ELF header"

make -s install PREFIX=/usr/local DESTDIR="$tmp/stage" >/dev/null || bad "install with DESTDIR" "make install failed"
for f in usr/local/bin/socksify usr/local/lib/socksify/libsocksify.so; do
    [ -x "$tmp/stage/$f" ] && ok "DESTDIR stages $f" || bad "DESTDIR stages $f" "missing"
done
out=$(env -u SOCKSIFY_LIB "$tmp/stage/usr/local/bin/socksify" --version 2>&1)
case $out in *"library: /usr/local/lib/socksify/libsocksify.so") ok "staged command points at the final library path" ;;
    *) bad "staged command points at the final library path" "got '$out'" ;; esac

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
