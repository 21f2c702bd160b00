#!/usr/bin/env bash
# Runs the Criterion unit tests and fails if any test failed, crashed, or did not run:
# Criterion counts a skipped test as neither passed nor failed, and a skip is not a pass.
set -uo pipefail
bin=$1
listed=$("$bin" --list | awk '/: [0-9]+ tests?$/ { n += $(NF-1) } END { print n + 0 }')
out=$("$bin" --jobs 2 2>&1)
status=$?
printf '%s\n' "$out"
tested=$(printf '%s\n' "$out" | sed -n 's/.*Synthesis: Tested: \([0-9]*\).*/\1/p' | tail -1)
if [ "${tested:-0}" -ne "$listed" ]; then
    echo "unit tests: $listed defined but only ${tested:-0} ran: skipped or disabled tests count as failures" >&2
    exit 1
fi
exit "$status"
