#!/usr/bin/env bash
# tests/check-exports.sh LIB: the preloaded library must export nothing but the libc
# calls it hooks. Any other defined dynamic symbol would interpose on (or collide with)
# symbols of the programs it is loaded into.
set -euo pipefail

# The hooked libc calls that may be exported. One place; extend as hooks are added.
ALLOWED=(connect sendto sendmsg sendmmsg getpeername close syscall getaddrinfo gethostbyname gethostbyname2
         gethostbyname_r gethostbyname2_r gethostbyaddr gethostbyaddr_r getnameinfo
         epoll_ctl read write readv writev recv send recvfrom recvmsg recvmmsg getsockopt setsockopt getsockname
         fcntl fcntl64 shutdown
         res_query __res_query res_search __res_search res_querydomain __res_querydomain res_send __res_send
         res_nquery __res_nquery res_nsearch __res_nsearch res_nquerydomain __res_nquerydomain res_nsend __res_nsend
         getaddrinfo_a)
# Of those, what the library is useless without.
REQUIRED=(connect)
# Linker-generated names that are not the library's own code or data.
NOISE=(_init _fini _edata _end __bss_start)

if [[ $# -ne 1 ]]; then
    echo "usage: $0 LIB" >&2
    exit 2
fi
LIB=$1
[[ -f "$LIB" ]] || { echo "check-exports: $LIB: no such file" >&2; exit 1; }

listing=$(nm -D --defined-only "$LIB") || { echo "check-exports: nm failed on $LIB" >&2; exit 1; }

in_list() { # NAME LIST...
    local name=$1 x
    shift
    for x in "$@"; do [[ "$x" == "$name" ]] && return 0; done
    return 1
}

exported=()
bad=()
while read -r -a f; do
    [[ ${#f[@]} -ge 2 ]] || continue
    # "VALUE TYPE NAME", or "TYPE NAME" for symbols without a value.
    if [[ ${#f[@]} -ge 3 ]]; then type=${f[1]} name=${f[2]}; else type=${f[0]} name=${f[1]}; fi
    # Version nodes from a version script show up as absolute symbols (type A).
    [[ "$type" == A ]] && continue
    name=${name%%@*} # connect@@SOCKSIFY_1 -> connect
    in_list "$name" "${NOISE[@]}" && continue
    if in_list "$name" "${ALLOWED[@]}"; then
        in_list "$name" "${exported[@]}" || exported+=("$name")
    else
        bad+=("$type $name")
    fi
done <<<"$listing"

status=0
if [[ ${#bad[@]} -ne 0 ]]; then
    echo "check-exports: $LIB exports symbols that are not hooked libc calls:" >&2
    printf '    %s\n' "${bad[@]}" >&2
    echo "check-exports: allowed: ${ALLOWED[*]} (edit ALLOWED in $0 when adding a hook;" \
        "otherwise hide the symbol: static, -fvisibility=hidden, preload/exports.map)" >&2
    status=1
fi
for name in "${REQUIRED[@]}"; do
    if ! in_list "$name" "${exported[@]}"; then
        echo "check-exports: $LIB does not export $name" >&2
        status=1
    fi
done
[[ $status -eq 0 ]] || exit 1
echo "exports OK: ${exported[*]}"
