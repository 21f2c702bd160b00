# What the shell tests share (sourced by tests/install-test.sh and tests/deb-test.sh): a private
# temp dir removed on exit ($tmp), PASS/FAIL lines and the "N passed, N failed" summary.
tmp=$(mktemp -d)
cleanup_hooks=()
# Runs the cleanup hooks (last added first), then removes $tmp.
cleanup() {
    local i
    for ((i = ${#cleanup_hooks[@]} - 1; i >= 0; i--)); do eval "${cleanup_hooks[i]}"; done
    rm -rf "$tmp"
}
trap cleanup EXIT
# on_exit CODE: run CODE when the test ends, however it ends.
on_exit() { cleanup_hooks+=("$1"); }
pass=0 fail=0
ok() { echo "PASS $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1: $2"; fail=$((fail + 1)); }
# check NAME COMMAND...: PASS if COMMAND succeeds, else FAIL with its output.
check() {
    local name=$1 out
    shift
    if out=$("$@" 2>&1); then ok "$name"; else bad "$name" "$(printf '%s' "$out" | tail -5)"; fi
}
# summary: the last line, and the exit status (1 if anything failed).
summary() {
    echo "$pass passed, $fail failed"
    [ "$fail" -eq 0 ]
}
