#!/usr/bin/env bash
# Builds Debian's own dante source with GSSAPI (Debian's danted is built without it) and caches
# the server binary outside the tree, so `make check` pays the build (about a minute) once.
# Idempotent: prints the cached binary's path and exits at once when it is already there.
# Usage: build-gss-dante.sh [CACHE_DIR]   (default /var/cache/socksify-test)
set -euo pipefail
ME=build-gss-dante.sh
CACHE=${1:-${SOCKSIFY_TEST_CACHE:-/var/cache/socksify-test}}
OUT=$CACHE/danted-gssapi

if [[ -x $OUT ]]; then
    echo "$OUT"
    exit 0
fi
[[ $(id -u) -eq 0 ]] || { echo "$ME: needs root (apt-get source, build-deps)" >&2; exit 1; }

# The deb-src line: the same mirror, suite and key the machine's deb lines use. deb822 form, since
# apt refuses one source named twice with different Signed-By values.
src_list=/etc/apt/sources.list.d/socksify-deb-src.sources
if ! grep -rqsE '^(deb-src|Types:.*deb-src)' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    mirror=$(grep -rhsE '^URIs:.*debian/?$' /etc/apt/sources.list.d/*.sources | head -1 | awk '{print $2}')
    [[ -n $mirror ]] || mirror=$(grep -hsE '^deb .*debian/? ' /etc/apt/sources.list | head -1 | awk '{print $2}')
    [[ -n $mirror ]] || mirror=http://deb.debian.org/debian
    codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
    keyring=/usr/share/keyrings/debian-archive-keyring.gpg
    printf 'Types: deb-src\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: %s\n' \
        "$mirror" "$codename" "$keyring" > "$src_list"
    apt-get update -q >&2
fi

export DEBIAN_FRONTEND=noninteractive
# Build dependencies of Debian's dante (debian/control) plus the Kerberos GSS-API headers.
apt-get install -y -q --no-install-recommends dpkg-dev libkrb5-dev bison flex autoconf automake libtool >&2

work=$(mktemp -d /tmp/socksify-dante-build.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
apt-get source -q dante >&2
src=$(find . -maxdepth 1 -type d -name 'dante-*' | head -1)
cd "$src"
# Debian's patches touch the autotools inputs: regenerate as debian/rules does (dh_autoreconf),
# then configure with GSSAPI (found through krb5-config) and without the optional extras.
# configure alone takes minutes on a busy 2-core machine; that is why the result is cached.
autoreconf -fi >&2
./configure --prefix=/usr --sysconfdir=/etc --disable-client --without-upnp --without-pam \
    --without-libwrap --without-sasl >&2
grep -q 'define HAVE_GSSAPI 1' include/autoconf.h || { echo "$ME: configure did not enable GSSAPI" >&2; exit 1; }
make -j"$(nproc)" >&2
mkdir -p "$CACHE"
install -m 0755 sockd/sockd "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "$OUT"
