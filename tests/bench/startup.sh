#!/usr/bin/env bash
# Benchmark: start-up cost per exec (issue 15's figures), one run, every command timed in the same
# rounds (build/bench-startcmp: each round starts each command once, order rotating; medians of
# the runs, robust against a shared machine's bursts):
#   bare         /bin/true
#   empty-so     /bin/true with an empty library preloaded (what any preload costs)
#   library      /bin/true with libsocksify.so preloaded by hand (it pins the session's config)
#   library-cmd  the same as under the command (SOCKSIFY_SESSION=1: nothing to pin)
#   socksify     socksify -x URL /bin/true (the supervisor's filter on, where the kernel has it)
#   socksify-nosec  socksify --seccomp=no -x URL /bin/true
#   proxychains4 proxychains4 -q -f CONF /bin/true (when installed)
# Key figures: socksify / proxychains4 (issue: <= 1), library - bare (<= 0.3 ms).
# Run after `make all build/bench-startcmp` (`make bench` does it). BENCH_STARTS: rounds (2500).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
STARTS=${BENCH_STARTS:-2500}
LIB=$PWD/build/libsocksify.so
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
echo 'int socksify_bench_empty;' > "$TMP/empty.c"
cc -shared -fPIC -o "$TMP/empty.so" "$TMP/empty.c"
printf 'strict_chain\nquiet_mode\n[ProxyList]\nsocks5 127.0.0.1 1080\n' > "$TMP/pc.conf"
URL=socks5://127.0.0.1:1080
names=(bare empty-so library library-cmd socksify socksify-nosec)
args=(/bin/true ::: LD_PRELOAD="$TMP/empty.so" /bin/true ::: LD_PRELOAD="$LIB" /bin/true
      ::: LD_PRELOAD="$LIB" SOCKSIFY_SESSION=1 /bin/true ::: "$PWD/build/socksify" -x "$URL" /bin/true
      ::: "$PWD/build/socksify" --seccomp=no -x "$URL" /bin/true)
if command -v proxychains4 > /dev/null; then
    names+=(proxychains4)
    args+=(::: proxychains4 -q -f "$TMP/pc.conf" /bin/true)
fi
cd "$TMP"   # no socksify.conf in the working directory
echo "start-up, $STARTS rounds: median (25th-75th percentile) per exec, ms; page faults per exec (the"
echo "command and what it waited for: they do not move with the machine's load)"
declare -A med
while IFS=$'\t' read -r i m lo hi faults; do
    n=${names[$((i - 1))]}
    med[$n]=$m
    awk -v n="$n" -v m="$m" -v lo="$lo" -v hi="$hi" -v f="$faults" \
        'BEGIN { printf "  %-15s %.3f (%.3f-%.3f)  %4d faults\n", n, m / 1000, lo / 1000, hi / 1000, f }'
done < <("$OLDPWD/build/bench-startcmp" "$STARTS" "${args[@]}")
awk -v b="${med[bare]}" -v e="${med[empty-so]}" -v l="${med[library]}" -v c="${med[library-cmd]}" 'BEGIN {
    printf "library - bare: %+.3f ms by hand, %+.3f ms under the command (an empty library: %+.3f ms)\n",
           (l - b) / 1000, (c - b) / 1000, (e - b) / 1000 }'
if [[ -n ${med[proxychains4]:-} ]]; then
    awk -v s="${med[socksify]}" -v n="${med[socksify-nosec]}" -v p="${med[proxychains4]}" 'BEGIN {
        printf "socksify / proxychains4: %.2f with the filter, %.2f without\n", s / p, n / p }'
fi
