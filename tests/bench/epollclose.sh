#!/usr/bin/env bash
# Benchmark: close() of descriptors that are registered in an epoll.
#
# build/bench-epollclose registers N eventfds in one epoll, then times closing them all. It runs
# without socksify and with build/libsocksify.so preloaded, alternating, BENCH_ROUNDS times; the
# best time of each is kept and the ratio printed (1.00 = close costs nothing more under socksify).
# close() must stay O(1) whatever the number of registrations (it bumps a generation; it walked
# every registration once). Run from the repo root after `make all build/bench-epollclose`.
# BENCH_ROUNDS (default 5) and BENCH_EPOLL_N (default 19000) override rounds and descriptors.
set -euo pipefail

ROUNDS=${BENCH_ROUNDS:-5}
# 19000: under the common hard limit of 20000 descriptors (the program raises its soft limit to it)
N=${BENCH_EPOLL_N:-19000}
BENCH=build/bench-epollclose
LIB=$(realpath "${SOCKSIFY_LIB:-build/libsocksify.so}")

for f in "$BENCH" "$LIB"; do
    [[ -e "$f" ]] || { echo "epollclose.sh: $f is missing: run 'make bench'" >&2; exit 1; }
done

best() { # best (smallest) of the times on stdin
    sort -g | head -n 1
}
plain=()
preloaded=()
for ((r = 0; r < ROUNDS; r++)); do
    plain+=("$("$BENCH" "$N" | awk '{ print $4 }')")
    # A proxy that is never used: nothing here connects.
    preloaded+=("$(SOCKSIFY_PROXY=socks5://127.0.0.1:9 LD_PRELOAD="$LIB" "$BENCH" "$N" | awk '{ print $4 }')")
done
p=$(printf '%s\n' "${plain[@]}" | best)
s=$(printf '%s\n' "${preloaded[@]}" | best)
awk -v n="$N" -v p="$p" -v s="$s" 'BEGIN {
    printf "epoll close: %d closes of registered descriptors: without socksify %.4f s, with %.4f s; ratio %.2f\n", n, p, s, s / p }'
