#!/usr/bin/env bash
# bench/cpu/run.sh - the lesson's CPU matmul (1024x256 @ 256x64, f32) and a
# Cruncher forward pass (D = 1024, 4 layers, B = 1024), tdc against numpy
# in one run on this machine. Prints a table and writes build/bench-cpu.json
# (or $OUT).
# Target: tdc's median time at most 1.2x numpy's. Slowness is reported, not
# a failure; a benchmark that cannot run is.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TDC=${TDC:-$ROOT/build/tdc}
OUT=${OUT:-$ROOT/build/bench-cpu.json}
REPEATS=${REPEATS:-100}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tdc-bench-cpu.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

rows=()
for prog in matmul cruncher; do
    fn=$([ "$prog" = matmul ] && echo matmul || echo forward)
    "$TDC" --lib "$ROOT/bench/cpu/$prog.td" -o "$WORK/model"
    cc -std=c11 -O2 -fopenmp -I "$ROOT/runtime" -I "$WORK" "$ROOT/bench/cpu/bench.c" "$WORK/model.c" \
        "$(dirname "$TDC")/libtdrt.a" -lopenblas -lm -o "$WORK/bench_$prog"
    "$WORK/bench_$prog" "$fn" "$REPEATS" "$WORK/$prog.tdc.json"
    python3 "$ROOT/bench/cpu/bench.py" "$prog" "$REPEATS" "$WORK/$prog.numpy.json"
    rows+=("$prog")
done

python3 - "$WORK" "$OUT" "${rows[@]}" <<'PY'
import json, sys
work, out, names = sys.argv[1], sys.argv[2], sys.argv[3:]
flops = {"matmul": 2 * 1024 * 256 * 64, "cruncher": 4 * 2 * 1024 * 1024 * 1024 + 2 * 1024 * 1024}
results = {}
print(f"{'benchmark':<10} {'tdc ms':>9} {'numpy ms':>9} {'ratio':>6} {'tdc GFLOP/s':>12}")
for n in names:
    t = json.load(open(f"{work}/{n}.tdc.json"))
    p = json.load(open(f"{work}/{n}.numpy.json"))
    ratio = t["median_s"] / p["median_s"]
    results[n] = {"tdc_median_s": t["median_s"], "numpy_median_s": p["median_s"], "ratio": ratio,
                  "flops": flops[n], "tdc_gflops": flops[n] / t["median_s"] / 1e9, "target_ratio": 1.2}
    print(f"{n:<10} {t['median_s']*1e3:9.3f} {p['median_s']*1e3:9.3f} {ratio:6.2f} {flops[n]/t['median_s']/1e9:12.1f}"
          + ("" if ratio <= 1.2 else "   (over the 1.2x target)"))
json.dump(results, open(out, "w"), indent=2)
print(f"wrote {out}")
PY
