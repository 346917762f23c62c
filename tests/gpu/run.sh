#!/usr/bin/env bash
# tests/gpu/run.sh - the tests that need a GPU, in one command for the GPU
# machine: the runtime's CUDA suites (device memory, NVRTC, cuBLAS
# contractions, optimizers bit for bit against the CPU), every generated
# kernel against the C backend (tests/cuda), and the numerical, gradient
# and training suites with compiled programs on the GPU (their default
# device is auto, so on a machine with a GPU they run there).
#
#   bash tests/gpu/run.sh [BUILD_DIR]      (default build/, already built)
#
# A machine that cannot build (no re2c, lemon or OpenBLAS: the GPU lender's
# image) runs a build made elsewhere and carried with the libraries in
# .gpu/ (libopenblasp-*.so, libgfortran.so.5, libquadmath.so.0), which are
# installed where the build's link line names them. Ends with the summed
# `N passed, N failed`.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
BUILD=${1:-build}
. tests/gpu/carried_libs.sh
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null

passed=0
failed=0
tally() { # NAME LOG RC
    local line p f
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$2" | tail -n 1)
    if [ -n "$line" ]; then
        p=${line%% passed*}
        f=${line#*passed, }
        f=${f%% failed*}
    else
        p=0 f=1
    fi
    [ "$3" -ne 0 ] && [ "$f" -eq 0 ] && f=1
    passed=$((passed + p))
    failed=$((failed + f))
    printf '%-12s %5d passed %4d failed (exit %d)\n' "$1" "$p" "$f" "$3" >>"$SUMMARY"
}
LOGS=$(mktemp -d)
SUMMARY=$LOGS/summary
: >"$SUMMARY"
for suite in cuda cuda_gemm cuda_epilogue cuda_optim model train; do
    "$BUILD/test_runtime" "$suite" >"$LOGS/rt_$suite.log" 2>&1
    rc=$?
    grep -E "FAIL|skipped|passed" "$LOGS/rt_$suite.log" | head -40
    tally "rt:$suite" "$LOGS/rt_$suite.log" $rc
done
# --sanitize (or SANITIZE=1): compute-sanitizer's memcheck and racecheck
# over four compiled programs training on the GPU (eagerly, then as a
# graph: generated kernels, row groups, gathers, cuBLAS and its epilogues, the optimizers)
# and memcheck over the runtime's CUDA suite; each clean run counts one.
if [ "${2:-}" = "--sanitize" ] || [ "${SANITIZE:-0}" = 1 ]; then
    work=$(mktemp -d)
    "$BUILD/tdc" examples/cruncher.td -o "$work/cruncher" && "$BUILD/tdc" examples/charlm.td -o "$work/charlm" &&
        "$BUILD/tdc" examples/linreg.td -o "$work/linreg" && "$BUILD/tdc" tests/training/mlp.td -o "$work/mlp" &&
        python3 tools/make_text_data.py "$work/text" >/dev/null &&
        python3 -c "import numpy as np; g = np.random.default_rng(0); np.save('$work/x.npy', g.standard_normal((64, 64), dtype=np.float32)); np.save('$work/y.npy', g.standard_normal(64, dtype=np.float32))"
    programs=("$work/cruncher train --dims batch=8 --steps 4 --data x=$work/x.npy --data y=$work/y.npy"
              "$work/charlm train --dims batch=4 --steps 4 --data $work/text/train.bin"
              "$work/linreg train --steps 4"
              "$work/mlp train --dims batch=64 --steps 4 --data x=$work/x.npy --data y=$work/y.npy")
    for tool in memcheck racecheck; do
        runs=("${programs[@]}")
        [ "$tool" = memcheck ] && runs+=("$BUILD/test_runtime cuda" "$BUILD/test_runtime cuda_epilogue") # racecheck is too slow for the suites
        for cmd in "${runs[@]}"; do
            log="$LOGS/sanitize_${tool}_$(echo "$cmd" | tr -c 'a-z0-9' _ | cut -c1-60).log"
            # shellcheck disable=SC2086
            compute-sanitizer --tool "$tool" --error-exitcode 99 $cmd >"$log" 2>&1
            rc=$?
            tail -n 2 "$log"
            if [ $rc -eq 0 ] || { [ $rc -ne 99 ] && ! grep -q "ERROR SUMMARY: [1-9]" "$log"; }; then
                echo "1 passed, 0 failed" >>"$log"
            else
                echo "0 passed, 1 failed" >>"$log"
            fi
            tally "$tool" "$log" 0
        done
    done
fi
for suite in ${GPU_SUITES:-cuda numeric gradcheck training}; do
    PYTHONUNBUFFERED=1 python3 tests/run_tests.py --tdc "$BUILD/tdc" "$suite" >"$LOGS/$suite.log" 2>&1
    rc=$?
    grep -vE "^(ok|PASS)" "$LOGS/$suite.log" | tail -60
    tally "$suite" "$LOGS/$suite.log" $rc
done
cat "$SUMMARY"
[ -n "${OUT:-}" ] && tar czf "$OUT/gpu-logs.tgz" -C "$LOGS" . 2>/dev/null
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
