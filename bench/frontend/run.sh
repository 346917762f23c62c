#!/usr/bin/env bash
# bench/frontend/run.sh - times `tdc check` on a generated 20,000-line program.
#
#   bench/frontend/run.sh            (env: TDC=path/to/tdc, LINES=20000, RUNS=5)
#
# Builds build/tdc if it is missing, writes the program with gen.py into
# bench/frontend/out/ (ignored by git), checks that it checks clean, then
# times `tdc check` (and `tdc check --types --runtime-checks`, for
# information) RUNS times each and reports the median against the 0.2 s
# target. Results go to bench/frontend/out/results.json.
#
# A benchmark: being slower than the target is reported (status SLOW) but is
# not a failure. Failures are a missing build, a program that does not check
# clean, or a crash. Ends with `N passed, N failed`.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
OUT=bench/frontend/out
TDC=${TDC:-build/tdc}
LINES=${LINES:-20000}
RUNS=${RUNS:-5}
mkdir -p "$OUT"

if [ ! -x "$TDC" ]; then
    echo "bench: building $TDC"
    if ! { cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
        cmake --build build -j"$(nproc)" --target tdc >/dev/null; }; then
        echo "FAIL build $TDC"
        echo "0 passed, 1 failed"
        exit 1
    fi
fi

exec python3 - "$TDC" "$OUT" "$LINES" "$RUNS" <<'EOF'
import json, os, platform, statistics, subprocess, sys, time

tdc, out, lines, runs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
TARGET = 0.2
passed = failed = 0

def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
        print(f"PASS {what}")
    else:
        failed += 1
        print(f"FAIL {what}")
    return ok

program = os.path.join(out, f"bench_{lines}.td")
r = subprocess.run([sys.executable, "bench/frontend/gen.py", "--lines", str(lines), "-o", program])
if not check(r.returncode == 0, f"generate {program}"):
    print(f"{passed} passed, {failed} failed")
    sys.exit(1)
with open(program, "rb") as f:
    data = f.read()
nlines, nbytes = data.count(b"\n"), len(data)

r = subprocess.run([tdc, "check", program], capture_output=True, text=True, errors="replace")
clean = r.returncode == 0 and not r.stdout and not r.stderr
check(clean, f"{program} checks clean (exit {r.returncode})")
if not clean:
    sys.stdout.write((r.stdout + r.stderr)[:3000])

def timed(args):
    times, rc = [], 0
    for _ in range(runs):
        t0 = time.perf_counter()
        p = subprocess.run([tdc] + args + [program], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
        rc = rc or p.returncode
    return times, rc

rows = []
for name, args, target in [("check", ["check"], TARGET),
                           ("check --types --runtime-checks", ["check", "--types", "--runtime-checks"], None)]:
    times, rc = timed(args)
    med = statistics.median(times)
    status = "ok" if rc == 0 and (target is None or med < target) else ("SLOW" if rc == 0 else f"exit {rc}")
    check(rc == 0, f"tdc {name}: {runs} runs, exit status 0")
    rows.append({"command": f"tdc {name}", "lines": nlines, "bytes": nbytes, "runs": runs,
                 "median_s": round(med, 4), "min_s": round(min(times), 4), "max_s": round(max(times), 4),
                 "times_s": [round(t, 4) for t in times], "target_s": target, "status": status})

print()
print(f"{'command':<36} {'lines':>7} {'bytes':>9} {'median s':>9} {'min s':>7} {'target s':>8}  status")
for row in rows:
    tgt = f"{row['target_s']:.1f}" if row["target_s"] is not None else "-"
    print(f"{row['command']:<36} {row['lines']:>7} {row['bytes']:>9} {row['median_s']:>9.3f} {row['min_s']:>7.3f} {tgt:>8}  {row['status']}")
main = rows[0]
print(f"\nbench: median {main['median_s']:.3f} s for {nlines} lines "
      f"({nlines / main['median_s'] / 1e3:.0f}k lines/s); target {TARGET} s: {main['status']}")

results = {"program": program, "lines": nlines, "bytes": nbytes, "tdc": tdc, "runs": runs,
           "target_s": TARGET, "median_s": main["median_s"], "status": main["status"],
           "clean": clean, "host": platform.node(), "cpus": os.cpu_count(),
           "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "rows": rows}
with open(os.path.join(out, "results.json"), "w") as f:
    json.dump(results, f, indent=2)
    f.write("\n")
print(f"results: {os.path.join(out, 'results.json')}")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
EOF
