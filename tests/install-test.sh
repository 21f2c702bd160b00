#!/usr/bin/env bash
# `make install` puts the library and the command (a binary that has the installed library's path
# compiled in) where they belong, and DESTDIR stages the same tree. Prints "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh

make -s install PREFIX="$tmp/prefix" >/dev/null || bad install "make install failed"
# One library per class, under what the loader's $LIB becomes for it (scripts/loader-lib.sh).
native=$(scripts/loader-lib.sh "${CC:-cc}")
m32=$(scripts/loader-lib.sh "${CC:-cc}" -m32) || m32=""
lib="$tmp/prefix/lib/socksify/\$LIB/libsocksify.so"   # a literal $LIB: each loader takes its own class
out=$(cd / && env -u SOCKSIFY_CONF -u SOCKSIFY_LIB HOME="$tmp" "$tmp/prefix/bin/socksify" -x socks5://127.0.0.1:1 sh -c 'echo "$LD_PRELOAD"' 2>&1)
[ "$out" = "$lib" ] && ok "installed command preloads the installed libraries" \
    || bad "installed command preloads the installed libraries" "LD_PRELOAD was '$out', expected '$lib'"
out=$(cd / && env -u SOCKSIFY_LIB "$tmp/prefix/bin/socksify" --version 2>&1)
case $out in "socksify "[0-9]*"library: $tmp/prefix/lib/socksify/$native/libsocksify.so") ok "installed command --version" ;;
    *) bad "installed command --version" "got '$out'" ;; esac
[ "$(head -c 4 "$tmp/prefix/bin/socksify" | tail -c 3)" = ELF ] && ok "the installed command is a binary" \
    || bad "the installed command is a binary" "no ELF header"

make -s install PREFIX=/usr/local DESTDIR="$tmp/stage" >/dev/null || bad "install with DESTDIR" "make install failed"
for f in usr/local/bin/socksify usr/local/lib/socksify/libsocksify.so "usr/local/lib/socksify/$native/libsocksify.so"; do
    [ -x "$tmp/stage/$f" ] && ok "DESTDIR stages $f" || bad "DESTDIR stages $f" "missing"
done
for f in usr/local/share/man/man1/socksify.1 usr/local/share/man/man5/socksify.conf.5 \
         usr/local/share/bash-completion/completions/socksify; do
    [ -f "$tmp/stage/$f" ] && ok "DESTDIR stages $f" || bad "DESTDIR stages $f" "missing"
done
[ "$(readlink "$tmp/stage/usr/local/lib/socksify/libsocksify.so")" = "$native/libsocksify.so" ] \
    && ok "lib/socksify/libsocksify.so links the native library" || bad "lib/socksify/libsocksify.so links the native library" "it does not"
# Where cc -m32 links (deps.sh installs gcc-multilib), the i386 library is installed too, and is one.
if [ -n "$m32" ] && [ "$m32" != "$native" ]; then
    f=usr/local/lib/socksify/$m32/libsocksify.so
    # ELF class (byte 4) 1 = 32-bit, machine (byte 18) 3 = i386.
    case "$(od -An -tx1 -j4 -N1 "$tmp/stage/$f" 2>/dev/null) $(od -An -tx1 -j18 -N1 "$tmp/stage/$f" 2>/dev/null)" in
        " 01  03") ok "DESTDIR stages the i386 library $f" ;;
        *) bad "DESTDIR stages the i386 library $f" "missing or not an i386 ELF" ;;
    esac
else
    echo "note: no i386 library to check: '${CC:-cc} -m32' cannot link (scripts/deps.sh installs gcc-multilib)"
fi
out=$(env -u SOCKSIFY_LIB "$tmp/stage/usr/local/bin/socksify" --version 2>&1)
case $out in *"library: /usr/local/lib/socksify/$native/libsocksify.so") ok "staged command points at the final library path" ;;
    *) bad "staged command points at the final library path" "got '$out'" ;; esac

summary
