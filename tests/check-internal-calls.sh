#!/usr/bin/env bash
# tests/check-internal-calls.sh HOOKS_LIST OBJECT...: socksify's own code must never call a name
# it hooks (close, read, syscall, ...): such a call enters socksify's hook again (a recursion, or
# a lock taken twice). Internal code goes through libc() (preload/libc.h), hook_NAME for the few
# deliberate calls of a hook (preload/hooks.h), or core/rawsys.h. An object that references a
# hooked name as an undefined symbol breaks that rule.
set -euo pipefail
if [[ $# -lt 2 ]]; then
    echo "usage: $0 HOOKS_LIST OBJECT..." >&2
    exit 2
fi
LIST=$1
shift
declare -A hooked=()
while read -r n; do [[ -n "$n" ]] && hooked[$n]=1; done < "$LIST"
[[ ${#hooked[@]} -gt 0 ]] || { echo "check-internal-calls: $LIST is empty" >&2; exit 1; }
bad=()
for o in "$@"; do
    [[ -f "$o" ]] || { echo "check-internal-calls: $o: no such file" >&2; exit 1; }
    while read -r _u name; do
        name=${name%%@*}
        [[ -n "${hooked[$name]:-}" ]] && bad+=("$o calls $name")
    done < <(nm -u "$o")
done
if [[ ${#bad[@]} -ne 0 ]]; then
    echo "check-internal-calls: socksify's own code calls names it hooks (use libc()->NAME, hook_NAME or rawsys_*):" >&2
    printf '    %s\n' "${bad[@]}" >&2
    exit 1
fi
echo "internal calls OK: $# objects call none of the ${#hooked[@]} hooked names"
