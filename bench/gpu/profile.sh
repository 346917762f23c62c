#!/usr/bin/env bash
# bench/gpu/profile.sh - where tdc's GPU time goes, for the shortfalls in
# bench/gpu/README.md, in one command for the GPU machine:
#   1. Nsight Compute (ncu) on the softmax benchmark's row-group kernel: its
#      speed of light, memory, instruction mix, warp states and occupancy;
#   2. every kernel of the tiny and of the bf16 Cruncher's train steps with
#      its duration (ncu, one pass a kernel; graph nodes one by one), summed
#      by kernel (ncu_summary.py);
#   3. the time to a first step stage by stage (driver startup), with the
#      NVRTC cache empty and then full, and the whole process's time.
#
#   bash bench/gpu/profile.sh [BUILD_DIR] [--only softmax,steps,startup]
#
# Writes into $OUT (else bench/gpu/profile/): ncu-softmax.txt,
# ncu-tiny.csv, ncu-bf16.csv, kernels.txt (the summaries), startup.json.
# ncu runs with --clock-control none (the clocks as they are: METHOD.md),
# and serialises kernels, so the durations are each kernel's alone: the
# step's wall time less their sum is what launching and waiting cost.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
BUILD=build
ONLY=softmax,steps,startup
while [ $# -gt 0 ]; do
    case $1 in
    --only) ONLY=$2; shift ;;
    -*) echo "profile.sh: unknown option $1" >&2; exit 2 ;;
    *) BUILD=$1 ;;
    esac
    shift
done
. bench/gpu/build_driver.sh
check_build profile.sh
command -v ncu >/dev/null || { echo "profile.sh: no ncu on the PATH" >&2; exit 2; }
. tests/gpu/carried_libs.sh
DEST=${OUT:-bench/gpu/profile}
mkdir -p "$DEST"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tdc-profile.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
build_driver "$WORK/gen" bench/gpu/cruncher_big.td bench/gpu/cruncher_big_bf16.td "$WORK/driver" ||
    { echo "profile.sh: the build failed" >&2; exit 1; }
D=$WORK/driver
NCU=(ncu --clock-control none)
rc=0
want() { [[ ",$ONLY," == *",$1,"* ]]; }

if want softmax; then
    echo "== ncu: softmax 16384 x 8192, the row group's kernel"
    mkdir -p "$WORK/sm"
    "${NCU[@]}" --kernel-name regex:tdg_k0_1 --launch-count 1 --section SpeedOfLight --section MemoryWorkloadAnalysis \
        --section ComputeWorkloadAnalysis --section InstructionStats --section WarpStateStats --section SchedulerStats \
        --section Occupancy --section LaunchStats "$D" softmax 16384 8192 0 1 1 "$WORK/sm" >"$DEST/ncu-softmax.txt" 2>&1 || rc=1
    grep -E "Duration|DRAM Throughput|Memory Throughput|Compute \(SM\)|Block Size|Registers Per|Achieved Occupancy|Stall|Issued Ipc|Executed Ipc" \
        "$DEST/ncu-softmax.txt" | head -40
fi
if want steps; then
    # 3 checked steps, then warm-up 1 + 1 timed step three ways (from host memory, staged, on the device), then
    # 1 for the device batch's GPU time: 10 steps
    for kind in tiny:8:ncu-tiny big_bf16:8192:ncu-bf16; do
        IFS=: read -r name batch file <<<"$kind"
        echo "== ncu: every kernel of 10 Cruncher $name steps (batch $batch)"
        mkdir -p "$WORK/$name"
        "${NCU[@]}" --metrics gpu__time_duration.sum --csv --print-units base --log-file "$DEST/$file.csv" \
            "$D" train "$name" "$batch" 1 1 1 "$WORK/$name" >/dev/null || rc=1
        python3 bench/gpu/ncu_summary.py "$DEST/$file.csv" --steps 10 --title "Cruncher $name, batch $batch" |
            tee -a "$DEST/kernels.txt" || rc=1
    done
fi
if want startup; then
    echo "== the time to a first step (the tiny Cruncher), NVRTC cache empty then full"
    : >"$DEST/startup.json"
    for label in cold warm; do
        t0=$(date +%s%N)
        TDC_CACHE=$WORK/cache "$D" startup 8 >"$WORK/startup.out" || rc=1
        t1=$(date +%s%N)
        python3 -c "import json, sys; r = json.load(open(sys.argv[1])); r['cache'] = sys.argv[2]; r['process_ms'] = int(sys.argv[3]) / 1e6; print(json.dumps(r))" \
            "$WORK/startup.out" "$label" $((t1 - t0)) | tee -a "$DEST/startup.json" || rc=1
    done
fi
if want startup && python3 -c "import torch" 2>/dev/null; then
    echo "== PyTorch's bring-up in a fresh process, for scale: the CUDA context, then a first matmul"
    python3 - <<'PY' | tee -a "$DEST/startup.json" || rc=1
import json, time
t0 = time.perf_counter()
import torch
t1 = time.perf_counter()
torch.cuda.init()
torch.zeros(1, device="cuda")
torch.cuda.synchronize()
t2 = time.perf_counter()
a = torch.randn(64, 64, device="cuda")
(a @ a).sum().item()
t3 = time.perf_counter()
print(json.dumps({"name": "torch_startup", "ms": {"import_torch": (t1 - t0) * 1e3, "context_and_first_tensor": (t2 - t1) * 1e3,
                                                 "first_matmul": (t3 - t2) * 1e3}}))
PY
fi
echo "== profile.sh: done, exit $rc; files in $DEST"
exit $rc
