#!/usr/bin/env bash
# bench/gpu/run.sh - tdc on a GPU against PyTorch, in one command for the GPU
# machine: the GPU tests (tests/gpu/run.sh), then matmul (f32, tf32, bf16),
# a linear layer, softmax, a Cruncher train step at 8 x 4096 (f32, bf16) and
# at 2 x 64, AdamW over a GPT-2-sized parameter, and compile time (tdc, then
# NVRTC cold and warm, and the warm first step beside bringup.c's floor),
# each against PyTorch eager and torch.compile where it has a form.
# Prints a table row per benchmark and writes every number to
# $OUT/bench.json (else bench/gpu/results.json). bench/gpu/README.md says
# what each benchmark measures.
#
#   bash bench/gpu/run.sh [BUILD_DIR] [--no-tests] [--dry-run] [--only matmul,linear,softmax,train,adamw,compile]
#
# BUILD_DIR (default build/) holds a tdc and libtdrt.a built elsewhere: the
# GPU machine cannot build tdc (no re2c, lemon or OpenBLAS), only compile
# the generated C with cc. As tests/gpu/run.sh does, the OpenBLAS carried in
# .gpu/ is installed where the link line looks for it. --dry-run builds
# everything and runs every tdc benchmark at tiny sizes on the CPU (PyTorch
# too, where it is installed), for a machine without a GPU: what it catches
# costs no GPU time. Targets (matmul >= 0.97 x PyTorch's FLOP/s, ...) are
# recorded, never failed; a wrong result or a benchmark that cannot run
# makes the exit status 1.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
BUILD=build
TESTS=1
DRY=0
ONLY=
while [ $# -gt 0 ]; do
    case $1 in
    --no-tests) TESTS=0 ;;
    --dry-run) DRY=1 TESTS=0 ;;
    --only) ONLY=$2; shift ;;
    --only=*) ONLY=${1#--only=} ;;
    -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    *) BUILD=$1 ;;
    esac
    shift
done
. bench/gpu/build_driver.sh
check_build run.sh
START=$(date +%s)

. tests/gpu/carried_libs.sh

WORK=$(mktemp -d "${TMPDIR:-/tmp}/tdc-bench-gpu.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
if [ "$DRY" = 1 ]; then
    JSON=${OUT:+$OUT/bench-dry-run.json}
    JSON=${JSON:-bench/gpu/results-dry-run.json}
else
    JSON=${OUT:+$OUT/bench.json}
    JSON=${JSON:-bench/gpu/results.json}
fi

# 1. the GPU tests
tests_rc=0
tests_line="not run"
if [ "$TESTS" = 1 ]; then
    echo "== tests/gpu/run.sh $BUILD"
    bash tests/gpu/run.sh "$BUILD" 2>&1 | tee "$WORK/tests.log"
    tests_rc=${PIPESTATUS[0]}
    tests_line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$WORK/tests.log" | tail -n 1)
    tests_line="${tests_line:-no summary} (exit $tests_rc)"
    [ -n "${OUT:-}" ] && cp "$WORK/tests.log" "$OUT/tests.log"
    echo "== tests: $tests_line ($(($(date +%s) - START)) s)"
fi

# 2. the programs, their C, and the driver linked with them.
echo "== building the benchmarks' programs and bench/gpu/driver.c"
build_driver "$WORK/gen" bench/gpu/cruncher_big.td bench/gpu/cruncher_big_bf16.td "$WORK/driver" ||
    { echo "run.sh: the build failed" >&2; exit 1; }
DRIVER=$WORK/driver
cc -std=c11 -O2 -Wall -Wextra bench/gpu/bringup.c -ldl -o "$WORK/bringup" ||
    { echo "run.sh: bench/gpu/bringup.c does not build" >&2; exit 1; }
if [ "$DRY" = 1 ]; then
    # the same program at hidden = 128, so a step fits the dry run
    mkdir -p "$WORK/small"
    for p in cruncher_big cruncher_big_bf16; do
        sed 's/^dim hidden = 4096$/dim hidden = 128/' "bench/gpu/$p.td" >"$WORK/small/$p.td"
        grep -q '^dim hidden = 128$' "$WORK/small/$p.td" || { echo "run.sh: cannot shrink $p.td" >&2; exit 1; }
    done
    build_driver "$WORK/gen-small" "$WORK/small/cruncher_big.td" "$WORK/small/cruncher_big_bf16.td" "$WORK/driver-small" || exit 1
    DRIVER=$WORK/driver-small
fi

# 3. the benchmarks
echo "== benchmarks ($([ "$DRY" = 1 ] && echo "dry run: tiny sizes on the CPU" || echo GPU))"
MODE=()
[ "$DRY" = 1 ] && MODE=(--dry-run)
python3 bench/gpu/bench.py --driver "$DRIVER" --tdc "$TDC" --bringup "$WORK/bringup" --work "$WORK/bench" --json "$JSON" \
    --tests "$tests_line" ${ONLY:+--only "$ONLY"} "${MODE[@]}"
bench_rc=$?
echo "== done in $(($(date +%s) - START)) s; tests: $tests_line; benchmarks exit $bench_rc"
[ "$tests_rc" -eq 0 ] && [ "$bench_rc" -eq 0 ]
