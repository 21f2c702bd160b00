#!/usr/bin/env bash
# tests/check-exports.sh LIB HOOKS_LIST [LIBC]: the preloaded library must export exactly the hooks of
# preload/hooks.def (HOOKS_LIST is the list the build generated from it, one name a line), and
# every name under which libc offers a hooked call (__connect, __read_chk, ...) must be among
# them: a program calling an alias socksify does not export goes past it. LIBC is the libc of LIB's
# class (default: the one ldd finds, which needs a loader that can run here; the i386 library
# gets it from `cc -m32 -print-file-name=libc.so.6`).
set -euo pipefail

# Linker-generated names that are not the library's own code or data.
NOISE=(_init _fini _edata _end __bss_start)
# libc names of hooked calls that need no hook, each with its reason. GLIBC_PRIVATE names are
# left out below: programs cannot link against them.
NOT_HOOKED=()

if [[ $# -ne 2 && $# -ne 3 ]]; then
    echo "usage: $0 LIB HOOKS_LIST [LIBC]" >&2
    exit 2
fi
LIB=$1 LIST=$2 LIBC=${3:-}
for f in "$LIB" "$LIST"; do [[ -f "$f" ]] || { echo "check-exports: $f: no such file" >&2; exit 1; }; done
mapfile -t allowed < "$LIST"
[[ ${#allowed[@]} -gt 0 ]] || { echo "check-exports: $LIST is empty" >&2; exit 1; }

declare -A want=() have=()
for n in "${allowed[@]}"; do want[$n]=1; done

listing=$(nm -D --defined-only "$LIB") || { echo "check-exports: nm failed on $LIB" >&2; exit 1; }
bad=()
while read -r -a f; do
    [[ ${#f[@]} -ge 2 ]] || continue
    if [[ ${#f[@]} -ge 3 ]]; then type=${f[1]} name=${f[2]}; else type=${f[0]} name=${f[1]}; fi
    [[ "$type" == A ]] && continue   # version nodes
    name=${name%%@*}
    [[ " ${NOISE[*]} " == *" $name "* ]] && continue
    if [[ -n "${want[$name]:-}" ]]; then have[$name]=1; else bad+=("$type $name"); fi
done <<<"$listing"

status=0
if [[ ${#bad[@]} -ne 0 ]]; then
    echo "check-exports: $LIB exports symbols that are not in preload/hooks.def:" >&2
    printf '    %s\n' "${bad[@]}" >&2
    status=1
fi
for n in "${allowed[@]}"; do
    [[ -n "${have[$n]:-}" ]] || { echo "check-exports: $LIB does not export $n (listed in hooks.def)" >&2; status=1; }
done

# Every public libc name of a hooked call: NAME, __NAME, NAME_chk, __NAME_chk, NAME64, and i386's
# names for programs built with _TIME_BITS=64 (glibc 2.34): __NAME64, __NAME_time64.
[[ -n "$LIBC" ]] || LIBC=$(ldd "$LIB" | awk '$1 ~ /^libc\.so/ { print $3 }')
[[ -n "$LIBC" && -f "$LIBC" ]] || { echo "check-exports: cannot find the libc $LIB links" >&2; exit 1; }
libc_public=$(nm -D --defined-only "$LIBC" | awk '$3 !~ /GLIBC_PRIVATE/ { sub(/@.*/, "", $3); print $3 }' | sort -u)
bases=$(sed -n 's/^\(HOOK\|HOOK_MAYBE\|HOOK_TIME64\|WRAP\)(\([A-Za-z0-9_]*\).*/\2/p' preload/hooks.def 2>/dev/null || true)
[[ -n "$bases" ]] || bases=$(printf '%s\n' "${allowed[@]}" | grep -v '^__')
missed=()
for b in $bases; do
    for variant in "__$b" "${b}_chk" "__${b}_chk" "${b}64" "__${b}64" "__${b}_time64"; do
        grep -qx -- "$variant" <<<"$libc_public" || continue
        [[ -n "${want[$variant]:-}" ]] && continue
        [[ " ${NOT_HOOKED[*]:-} " == *" $variant "* ]] && continue
        missed+=("$variant (libc's other name for $b)")
    done
done
if [[ ${#missed[@]} -ne 0 ]]; then
    echo "check-exports: $LIBC offers hooked calls under names socksify does not hook:" >&2
    printf '    %s\n' "${missed[@]}" >&2
    echo "check-exports: add each to preload/hooks.def (ALIAS or FORTIFY) with its code" >&2
    status=1
fi
[[ $status -eq 0 ]] || exit 1
echo "exports OK: ${#allowed[@]} hooks, every public libc alias of them among them ($(basename "$LIBC"))"
