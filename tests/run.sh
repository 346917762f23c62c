#!/usr/bin/env bash
# tests/run.sh - THE test command: everything that must pass, in one run.
#
#   deps      tools/deps.sh (installs only what is missing)
#   build     configure + build build/ (RelWithDebInfo)
#   tests     python3 tests/run_tests.py --tdc build/tdc
#   asan      configure + build build-asan/ (-DTDC_SANITIZE=ON)
#   tests-asan  python3 tests/run_tests.py --tdc build-asan/tdc, with the
#             sanitizers aborting on the first report and leaks detected
#   fuzz      tests/fuzz/run.sh ${FUZZ_SECONDS:-60}: libFuzzer, saved
#             crashers, ~1 MB inputs in under 1 s
#   bench     bench/frontend/run.sh: 20,000-line program timed; slowness is
#             reported, never a failure
#   bench-cpu bench/cpu/run.sh: compiled matmul and Cruncher against numpy;
#             the same
#   bench-gpu-dry  bench/gpu/run.sh --dry-run: every GPU benchmark's program,
#             driver and checks at tiny sizes on the CPU, so they cannot rot
#             between GPU runs; a failed check or a benchmark that cannot
#             run fails it
#
# Each step's own `N passed, N failed` line is summed (a step without one,
# such as a build, counts as one check). The last line is the total,
# `N passed, N failed`; the exit status is 1 if any step or check failed.
#
# Environment: FUZZ_SECONDS (default 60), JOBS (default nproc).
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1

FUZZ_SECONDS=${FUZZ_SECONDS:-60}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
LOGS=$(mktemp -d "${TMPDIR:-/tmp}/tdc-tests.XXXXXX")
trap 'rm -rf "$LOGS"' EXIT

total_passed=0
total_failed=0
summary=()
suite_start=$(date +%s)

# step NAME LIMIT_SECONDS COMMAND...: runs COMMAND with its output shown and
# logged, then adds its `N passed, N failed` (or 1 check by exit status).
step() {
    local name=$1 limit=$2
    shift 2
    local log="$LOGS/$name.log" start rc p f line
    echo
    echo "======== $name: $* ========"
    start=$(date +%s)
    timeout --kill-after=10 "$limit" "$@" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
    if [ -n "$line" ]; then
        p=$(sed -E 's/^([0-9]+) passed, ([0-9]+) failed.*/\1/' <<<"$line")
        f=$(sed -E 's/^([0-9]+) passed, ([0-9]+) failed.*/\2/' <<<"$line")
        # a step that exits non-zero with no failure counted still fails
        if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
            f=1
        fi
    elif [ "$rc" -eq 0 ]; then
        p=1 f=0
    else
        p=0 f=1
    fi
    [ "$rc" -eq 124 ] && echo "$name: timed out after ${limit}s"
    total_passed=$((total_passed + p))
    total_failed=$((total_failed + f))
    local status=ok
    [ "$f" -ne 0 ] && status=FAILED
    summary+=("$(printf '%-11s %-6s %5d passed %4d failed  exit %-3d %4ds' "$name" "$status" "$p" "$f" "$rc" $(($(date +%s) - start)))")
    return "$rc"
}

# skip NAME WHY: a step that cannot run because an earlier one failed.
skip() {
    echo
    echo "======== $1: skipped ($2) ========"
    total_failed=$((total_failed + 1))
    summary+=("$(printf '%-11s %-6s %5d passed %4d failed  (%s)' "$1" SKIP 0 1 "$2")")
}

step deps 900 bash tools/deps.sh

if step build 600 bash -c "cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTDC_SANITIZE=OFF >/dev/null && cmake --build build -j$JOBS"; then
    step tests 600 python3 tests/run_tests.py --tdc build/tdc
else
    skip tests "build failed"
fi

if step asan 600 bash -c "cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTDC_SANITIZE=ON >/dev/null && cmake --build build-asan -j$JOBS"; then
    step tests-asan 900 env ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 python3 tests/run_tests.py --tdc build-asan/tdc
else
    skip tests-asan "asan build failed"
fi

step fuzz $((FUZZ_SECONDS + 600)) bash tests/fuzz/run.sh "$FUZZ_SECONDS"

step bench 300 bash bench/frontend/run.sh

step bench-cpu 300 bash bench/cpu/run.sh

step bench-gpu-dry 300 env OUT="$LOGS" bash bench/gpu/run.sh build --dry-run

echo
echo "======== summary ($(($(date +%s) - suite_start))s) ========"
printf '%s\n' "${summary[@]}"
echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ] && [ "$total_passed" -gt 0 ]
