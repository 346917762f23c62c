"""Sums an ncu CSV (--csv --print-units base, metric gpu__time_duration.sum)
by kernel: launches, mean and total time, and the time a step (the total
over --steps). Used by bench/gpu/profile.sh."""
import argparse
import csv
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("csv")
    ap.add_argument("--steps", type=int, required=True)
    ap.add_argument("--title", default="")
    args = ap.parse_args()
    with open(args.csv) as f:
        lines = [line for line in f if line.startswith('"')]  # ncu's own notes are not quoted
    rows = list(csv.DictReader(lines))
    by_kernel = {}
    for row in rows:
        if row.get("Metric Name") != "gpu__time_duration.sum":
            continue
        name = row["Kernel Name"]
        ns = float(row["Metric Value"].replace(",", ""))
        calls, total = by_kernel.get(name, (0, 0.0))
        by_kernel[name] = (calls + 1, total + ns)
    if not by_kernel:
        sys.exit(f"ncu_summary: no gpu__time_duration.sum rows in {args.csv}")
    grand = sum(t for _, t in by_kernel.values())
    print(f"## {args.title}: {sum(c for c, _ in by_kernel.values())} kernel launches over {args.steps} steps, "
          f"{grand / args.steps / 1e3:.1f} us of kernels a step")
    print(f"{'launches':>8} {'a step':>7} {'mean us':>9} {'us a step':>10} {'share':>6}  kernel")
    for name, (calls, total) in sorted(by_kernel.items(), key=lambda kv: -kv[1][1]):
        print(f"{calls:8d} {calls / args.steps:7.2f} {total / calls / 1e3:9.2f} {total / args.steps / 1e3:10.2f} "
              f"{100 * total / grand:5.1f}%  {name[:110]}")
    print()


if __name__ == "__main__":
    main()
