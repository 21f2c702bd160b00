#!/bin/sh
# scripts/loader-lib.sh CC [FLAGS...]: prints what the dynamic loader's $LIB token becomes for
# programs that `CC FLAGS` builds (Debian: lib/x86_64-linux-gnu for x86-64; lib32 for i386
# programs with gcc-multilib's libc6-i386, lib/i386-linux-gnu with the multiarch libc6:i386;
# Fedora: lib64 and lib). Exits 1, printing nothing, if CC FLAGS cannot link a program.
#
# ld.so's $LIB is the directory its own libc was installed in (glibc's slibdir, relative to /),
# which is where the toolchain finds that libc: no program has to run, so this works where the
# kernel cannot execute the class (the i386 loader is checked by the tests instead).
set -u
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
printf 'int main(void) { return 0; }\n' > "$tmp/t.c"
"$@" -o "$tmp/t" "$tmp/t.c" > /dev/null 2>&1 || exit 1
libc=$("$@" -print-file-name=libc.so.6) || exit 1
case $libc in /*) ;; *) exit 1 ;; esac
dir=$(dirname "$(readlink -f "$libc")")
dir=${dir#/usr}
echo "${dir#/}"
