#!/usr/bin/env bash
# Source coverage of core/*.c reached by the fuzz targets' corpora (make fuzz-coverage).
#
# Builds every tests/fuzz/*.c target with clang's source-based coverage
# (-fprofile-instr-generate -fcoverage-mapping; libFuzzer for the driver, no ASan), runs each once
# over its committed corpus tests/fuzz/corpus/<target>/ (-runs=0: every input once, no fuzzing),
# merges the profiles with llvm-profdata and prints llvm-cov's per-file line and branch coverage of
# core/*.c with a TOTAL row. An HTML report goes to build/fuzz-cov/html/index.html.
#
#   tests/fuzz/coverage.sh            the committed corpora only
#   tests/fuzz/coverage.sh --scratch  plus build/fuzz/<target>.corpus, what `make fuzz` found
#
# Environment: B (build dir, default build), CLANG (default clang), LLVM_PROFDATA, LLVM_COV
# (default: the tools versioned like clang, e.g. llvm-cov-14 from Debian's llvm-14 package, else
# the unversioned llvm-profdata/llvm-cov).
set -euo pipefail

cd "$(dirname "$0")/../.."
B=${B:-build}
CLANG=${CLANG:-clang}
OUT=$B/fuzz-cov
CORPUS=tests/fuzz/corpus

scratch=0
case "${1:-}" in
    "") ;;
    --scratch) scratch=1 ;;
    *) echo "usage: $0 [--scratch]" >&2; exit 2 ;;
esac

# llvm-profdata and llvm-cov must match clang's version (the profile format changes).
find_tool() {
    local name=$1 major
    major=$("$CLANG" -dumpversion | cut -d. -f1)
    for cand in "$name-$major" "$name"; do
        if command -v "$cand" >/dev/null 2>&1; then
            echo "$cand"
            return 0
        fi
    done
    echo "coverage.sh: $name (or $name-$major) not found; install llvm-$major (make deps)" >&2
    return 1
}
PROFDATA=${LLVM_PROFDATA:-$(find_tool llvm-profdata)}
COV=${LLVM_COV:-$(find_tool llvm-cov)}

rm -rf "$OUT"
mkdir -p "$OUT"
CFLAGS=(-Wall -Wextra -Werror -std=gnu11 -D_GNU_SOURCE -Icore -g -O1
        -fsanitize=fuzzer -fprofile-instr-generate -fcoverage-mapping)

targets=()
for src in tests/fuzz/*.c; do
    targets+=("$(basename "$src" .c)")
done

# Build in parallel (two at a time: the build of each target compiles all of core/).
printf '%s\n' "${targets[@]}" |
    xargs -P 2 -I{} "$CLANG" "${CFLAGS[@]}" -o "$OUT/{}" "tests/fuzz/{}.c" core/*.c

objects=()
printf '%-22s %8s\n' target inputs
for t in "${targets[@]}"; do
    dirs=()
    [[ -d $CORPUS/$t ]] && dirs+=("$CORPUS/$t")
    [[ $scratch -eq 1 && -d $B/fuzz/$t.corpus ]] && dirs+=("$B/fuzz/$t.corpus")
    if [[ ${#dirs[@]} -eq 0 ]]; then
        echo "coverage.sh: no corpus for $t, skipped" >&2
        continue
    fi
    inputs=$(find "${dirs[@]}" -maxdepth 1 -type f | wc -l)
    printf '%-22s %8d\n' "$t" "$inputs"
    if ! LLVM_PROFILE_FILE="$OUT/$t.profraw" "$OUT/$t" -runs=0 -artifact_prefix="$OUT/$t-" \
            "${dirs[@]}" > "$OUT/$t.log" 2>&1; then
        tail -30 "$OUT/$t.log"
        echo "coverage.sh: $t failed on its corpus (see $OUT/$t.log)" >&2
        exit 1
    fi
    objects+=("$OUT/$t")
done
if [[ ${#objects[@]} -eq 0 ]]; then
    echo "coverage.sh: nothing ran" >&2
    exit 1
fi

"$PROFDATA" merge -sparse -o "$OUT/fuzz.profdata" "$OUT"/*.profraw

# The first binary is the positional object, the rest -object; only core/*.c is reported.
cov_args=(-instr-profile="$OUT/fuzz.profdata" "${objects[0]}")
for o in "${objects[@]:1}"; do
    cov_args+=(-object "$o")
done
echo
echo "Coverage of core/*.c by the fuzz corpora (functions, lines, branches; with regions in $OUT/report.txt):"
"$COV" report "${cov_args[@]}" -show-region-summary=false -show-instantiation-summary=false core/*.c
"$COV" report "${cov_args[@]}" core/*.c > "$OUT/report.txt"
"$COV" show "${cov_args[@]}" -format=html -output-dir="$OUT/html" -show-branches=count core/*.c
echo
echo "HTML: $OUT/html/index.html"
