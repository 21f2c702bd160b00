#!/usr/bin/env bash
# Make sure the Debian packages needed to build, test, demo and benchmark socksify
# are installed. Quiet and quick when everything is already there (it runs on every
# `make check`); installs what is missing when run as root; otherwise prints the
# command to run and exits 1.
set -euo pipefail

# One place to extend. What each is for:
#   build-essential   gcc, make, libc headers, binutils (nm for tests/check-exports.sh)
#   libcriterion-dev  unit tests (tests/unit, -lcriterion)
#   uthash-dev        hash tables used by core/
#   dante-server      danted: SOCKS5 proxy for integration tests and the benchmark
#   microsocks        small SOCKS5 proxy for the demo and integration tests
#   curl wget         unmodified clients to socksify in tests and the demo
#   netcat-openbsd    nc, a raw TCP client/server for tests (nc -u for the UDP tests)
#   bind9-dnsutils    dig, a real DNS client (libuv: sendmmsg through syscall()) for the UDP tests
#   dnsmasq-base      dnsmasq, the DNS server in the target namespace that dig asks through the proxy
#   python3           tiny HTTP/echo servers, free-port picking
#   iproute2          ss, to wait for servers to listen
#   procps            ps, pgrep, sysctl
#   tcpdump           integration tests that prove where traffic went
#   valgrind          memcheck of a socksified curl run (tests/integration)
#   clang, libclang-rt-14-dev  libFuzzer targets (tests/fuzz, make fuzz)
#   llvm-14           llvm-profdata-14 and llvm-cov-14 for make fuzz-coverage (clang does not pull them in)
#   openssl           TLS-through-proxy integration tests (s_server/s_client)
#   tinyproxy         HTTP CONNECT proxy (with and without Basic auth) for integration tests
#   openssh-server    a private sshd in the proxy namespace, for the ssh -D SOCKS4/4a/5 proxy
#   openssh-client    ssh -D (SOCKS4/4a/5 proxy) and ssh-keygen for integration tests
#   golang-go         go, to build the Go clients (test_command.py refuses them without the seccomp
#                     supervisor; test_seccomp.py carries them, static and cgo)
#   busybox-static    a statically linked busybox (refused without the supervisor, carried with it)
#   golang-golang-x-net-dev  golang.org/x/net/proxy, the built-in SOCKS5 dialer tests/bench/seccomp.sh
#                     compares the supervisor with (used offline, from /usr/share/gocode) (benchmark only)
#   nodejs            node, a libuv (epoll) client for the non-blocking connect tests (test_eventloops.py);
#                     a machine with NodeSource's nodejs package already has it
#   proxychains4      the reference preload library that tests/bench/eventloop.sh and compare.sh compare against (benchmark only)
#   torsocks          Tor's preload library, compared against in tests/bench/compare.sh (benchmark only)
#   tsocks            the classic SOCKS preload library, compared against in tests/bench/compare.sh (benchmark only)
#   dante-client      Dante's socksify wrapper/libdsocks, compared against in tests/bench/compare.sh (benchmark only)
#   gcc-multilib      cc -m32 and the i386 libc (libc6-dev-i386): make builds the library for 32-bit programs too
#   qemu-user-static  qemu-i386-static runs the 32-bit test programs (tests/integration/test_lib32.py) where the
#                     kernel cannot execute i386 code itself (no IA32 emulation, e.g. under a PVM hypervisor);
#                     static, so an LD_PRELOAD in its environment reaches only the emulated program's loader
#   python3-pyftpdlib an FTP server in the target namespace: active FTP (curl -P -) through BIND (test_bind.py)
#   chromium          a browser whose processes resolve a name in one and connect in another
#                     (test_session_shared.py: the session's shared name map)
#   mandoc            make check-man: mandoc -T lint finds no warning in the man pages
#   lintian           tests/deb-test.sh: the .deb that make deb builds has no lintian error
#   bash-completion   _init_completion and _command_offset, which scripts/socksify.bash-completion
#                     uses (tests/integration/test_shell.py)
#   zsh               socksify on/off in zsh (tests/integration/test_shell.py)
#   krb5-kdc krb5-admin-server krb5-user  a throwaway Kerberos realm (krb5kdc, kdb5_util, kadmin.local,
#                     kinit, kdestroy, kvno) for the GSSAPI tests (tests/integration/test_gssapi.py)
#   libgssapi-krb5-2  the GSS-API library the library dlopen()s for GSSAPI proxies
#   libkrb5-dev dpkg-dev bison flex autoconf automake libtool
#                     to rebuild Debian's dante source with GSSAPI (Debian's danted has none):
#                     tests/integration/build-gss-dante.sh, cached in /var/cache/socksify-test
#   gnuplot-nox       tests/bench/chart.sh draws tests/bench/results/bench.png with it (benchmark only)
PACKAGES=(
    build-essential
    libcriterion-dev
    uthash-dev
    dante-server
    microsocks
    curl
    wget
    netcat-openbsd
    bind9-dnsutils
    dnsmasq-base
    python3
    iproute2
    procps
    tcpdump
    openssl
    clang
    libclang-rt-14-dev
    llvm-14
    valgrind
    tinyproxy
    openssh-server
    openssh-client
    nodejs
    gcc-multilib
    qemu-user-static
    golang-go
    busybox-static
    python3-pyftpdlib
    chromium
    mandoc
    lintian
    bash-completion
    zsh
    krb5-kdc
    krb5-admin-server
    krb5-user
    libgssapi-krb5-2
    libkrb5-dev
    dpkg-dev
    bison
    flex
    autoconf
    automake
    libtool
)
# Only for `make bench` (scripts/deps.sh --bench): the tools socksify is compared against.
BENCH_PACKAGES=(
    proxychains4
    torsocks
    tsocks
    dante-client
    gnuplot-nox
    golang-golang-x-net-dev
)
if [[ ${1:-} == --bench ]]; then
    PACKAGES+=("${BENCH_PACKAGES[@]}")
fi

# Prints the packages of "$@" that are not fully installed (one dpkg-query call).
find_missing() {
    local installed
    installed=$(dpkg-query -W -f='${Package} ${Status}\n' "$@" 2>/dev/null |
                awk '$2 == "install" && $3 == "ok" && $4 == "installed" { print $1 }' || true)
    local pkg
    for pkg in "$@"; do
        grep -qxF -- "$pkg" <<<"$installed" || echo "$pkg"
    done
}

mapfile -t missing < <(find_missing "${PACKAGES[@]}")

if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi

install_cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}"

if [[ $(id -u) -ne 0 ]]; then
    echo "deps.sh: missing Debian packages: ${missing[*]}" >&2
    echo "deps.sh: run as root:" >&2
    echo "    $install_cmd" >&2
    exit 1
fi

echo "deps.sh: installing missing Debian packages: ${missing[*]}"

# Installing dante-server runs its init script. In a container without systemd that
# may try to start a danted on port 1080 with the stock (incomplete) config. Tell
# invoke-rc.d not to start services for the duration of the install, unless the
# system already has a policy in place.
policy=/usr/sbin/policy-rc.d
made_policy=0
cleanup() {
    if [[ $made_policy -eq 1 ]]; then
        rm -f "$policy"
    fi
}
trap cleanup EXIT
if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\n# temporary, from socksify scripts/deps.sh\nexit 101\n' > "$policy"
    chmod 0755 "$policy"
    made_policy=1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    "${missing[@]}"

# Verify.
mapfile -t still < <(find_missing "${missing[@]}")
if [[ ${#still[@]} -ne 0 ]]; then
    echo "deps.sh: still missing after apt-get install: ${still[*]}" >&2
    exit 1
fi
echo "deps.sh: done"
