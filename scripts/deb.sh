#!/usr/bin/env bash
# scripts/deb.sh (make deb): builds build/socksify_VERSION-1_ARCH.deb with dpkg-deb, no debian/
# directory needed. The tree is what `make install PREFIX=/usr` lays out, built in build/deb/ with
# Debian's hardening flags (dpkg-buildflags): /usr/bin/socksify (its library path compiled in),
# /usr/lib/socksify/$LIB/libsocksify.so for every class built (lib/x86_64-linux-gnu, and lib32
# where gcc-multilib built the i386 library), the man pages (gzip -9n), the bash completion, and
# /etc/socksify.conf as a conffile (the last place the command and the library search), plus
# copyright (DEP-5), changelog.Debian.gz, md5sums, and a control file whose Depends come from
# dpkg-shlibdeps (and which conflicts with dante-client: its /usr/bin/socksify and socksify(1) are
# Dante's own socksify). Prints the path of the .deb.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
out=$repo/build
work=$out/deb
root=$work/root
upstream=$(sed -n 's/^VERSION := //p' Makefile)
version=$upstream-1
arch=$(dpkg --print-architecture)
maintainer="socksify maintainers <maintainers@users.noreply.r-seed-d3811ad3.example>"
# Reproducible: every date is the last commit's.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}

build_tree() {
    local flags
    export DEB_BUILD_MAINT_OPTIONS=hardening=+all
    flags="$(dpkg-buildflags --get CFLAGS) $(dpkg-buildflags --get CPPFLAGS) $(dpkg-buildflags --get LDFLAGS)"
    rm -rf "$root"
    # The command links dynamically here (CMD_LDFLAGS empty, not the Makefile's -static): libc's
    # security updates then reach it, and lintian sees a program, not a library without NEEDED.
    make -s B="$work/build" CFLAGS="$flags" CMD_LDFLAGS= PREFIX=/usr DESTDIR="$root" install >/dev/null
    install -D -m 0644 socksify.conf "$root/etc/socksify.conf"
    # dh_strip's choices; the libraries are not programs (make install leaves them 0755).
    strip --remove-section=.comment --remove-section=.note "$root/usr/bin/socksify"
    find "$root/usr/lib/socksify" -type f -name 'libsocksify.so' | while read -r lib; do
        strip --strip-unneeded --remove-section=.comment --remove-section=.note "$lib"
        chmod 0644 "$lib"
    done
    gzip -9n "$root"/usr/share/man/man*/*
}

write_docs() {
    local doc=$root/usr/share/doc/socksify
    install -d "$doc"
    cat > "$doc/copyright" <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: socksify
Upstream-Contact: $maintainer
Comment: Built by make deb (scripts/deb.sh) from the socksify repository.

Files: *
Copyright: 2026 socksify maintainers
License: no-license-yet
 The socksify repository does not state a license yet. Until its authors add
 one, no rights are granted beyond those the law gives.
EOF
    cat > "$work/changelog" <<EOF
socksify ($version) unstable; urgency=medium

  * Built by make deb from the socksify repository, version $upstream.

 -- $maintainer  $(date -u -R -d "@$SOURCE_DATE_EPOCH")
EOF
    gzip -9n -c "$work/changelog" > "$doc/changelog.Debian.gz"
    chmod 0644 "$doc"/*
}

# libc6's minimum version, as dpkg-shlibdeps reads it from the native library and the command
# (the i386 library runs only where a 32-bit libc is installed already: no dependency for it).
depends() {
    local src=$work/shlibdeps
    mkdir -p "$src/debian"
    printf 'Source: socksify\n\nPackage: socksify\nArchitecture: any\n' > "$src/debian/control"
    local native
    native=$(scripts/loader-lib.sh "${CC:-cc}")
    (cd "$src" && dpkg-shlibdeps -O -e"$root/usr/bin/socksify" -e"$root/usr/lib/socksify/$native/libsocksify.so" 2>/dev/null) |
        sed -n 's/^shlibs:Depends=//p'
}

write_control() {
    install -d -m 0755 "$root/DEBIAN"
    echo /etc/socksify.conf > "$root/DEBIAN/conffiles"
    (cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) \
        | grep -v ' etc/' > "$root/DEBIAN/md5sums"
    local size
    size=$(du -s -k --apparent-size --exclude=DEBIAN "$root" | cut -f1)
    cat > "$root/DEBIAN/control" <<EOF
Package: socksify
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $size
Depends: $(depends)
Conflicts: dante-client
Section: net
Priority: optional
Description: run programs with their connections going through SOCKS and HTTP proxies
 socksify makes unmodified, dynamically linked programs talk through proxies:
 SOCKS5 (with username and password, and UDP ASSOCIATE), SOCKS4, SOCKS4a and
 HTTP CONNECT, alone or in chains, chosen per destination by routes. It is a
 library preloaded into the program and a command that runs it, checks the
 configuration first and refuses programs the library cannot enter (static or
 Go programs), so that nothing meant for the proxy goes out directly.
 .
 Names can be resolved by the proxy, a proxychains.conf is read as it is, and
 "socksify on" turns a whole interactive shell on.
EOF
    chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/conffiles" "$root/DEBIAN/md5sums"
}

build_tree
write_docs
write_control
deb=$out/socksify_${version}_$arch.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
