#!/usr/bin/env python3
"""plot_metrics.py - draws the loss curve of `MODEL train --log FILE` to a PNG.

  python3 tools/plot_metrics.py metrics.jsonl [more.jsonl ...] [-o loss.png] [--log-y] [--title TEXT]

Reads the metrics a compiled model's `train` command writes: JSON lines
(one object a logged step: step, loss, lr, grad_norm, ms, and val_loss where
validation ran) or CSV (a header, then one row a logged step; empty cells
where a value is absent), told apart by the file's first character. Draws
the training loss against the step, the validation loss (points joined by a
dashed line) where there is any, one colour per file, and the learning rate
on a second axis when a single file is given. The PNG goes to -o (default:
the first file's name with .png). matplotlib is imported only when drawing,
so the parsing works without it, and its absence is one clear message
(exit 2), as is a file without metrics.
"""
import argparse
import csv
import json
import math
import os
import sys


class MetricsError(Exception):
    pass


def _number(value):
    if value is None or value == "":
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def read_metrics(path):
    """The rows of a metrics file as dicts of floats (None where absent)."""
    try:
        with open(path, newline="") as f:
            text = f.read()
    except OSError as e:
        raise MetricsError(f"{path}: cannot read: {e.strerror}")
    rows = []
    if text.lstrip().startswith("{"):
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise MetricsError(f"{path}:{number}: not a JSON object: {e.msg}")
            if not isinstance(obj, dict):
                raise MetricsError(f"{path}:{number}: not a JSON object")
            rows.append({k: _number(v) for k, v in obj.items()})
    else:
        reader = csv.DictReader(text.splitlines())
        for row in reader:
            rows.append({k: _number(v) for k, v in row.items() if k is not None})
    rows = [r for r in rows if r.get("step") is not None and (r.get("loss") is not None or r.get("val_loss") is not None)]
    if not rows:
        raise MetricsError(f"{path}: no logged steps (rows with step and loss)")
    return rows


def series(rows, key):
    pts = [(r["step"], r[key]) for r in rows if r.get(key) is not None]
    return [p[0] for p in pts], [p[1] for p in pts]


def import_pyplot():
    try:
        import matplotlib
    except ImportError:
        raise MetricsError("matplotlib is not installed: pip install matplotlib (the metrics files need nothing else)")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def plot(paths, out, log_y=False, title=None):
    data = [(p, read_metrics(p)) for p in paths]
    plt = import_pyplot()
    fig, ax = plt.subplots(figsize=(8, 5))
    for i, (path, rows) in enumerate(data):
        color = f"C{i}"
        label = os.path.basename(path) if len(data) > 1 else "train"
        xs, ys = series(rows, "loss")
        if xs:
            ax.plot(xs, ys, color=color, linewidth=1.2, label=f"{label} loss" if len(data) > 1 else "train loss")
        vx, vy = series(rows, "val_loss")
        if vx:
            ax.plot(vx, vy, color=color, linestyle="--", marker="o", markersize=3,
                    label=f"{label} val_loss" if len(data) > 1 else "val loss")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    if log_y:
        ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    if len(data) == 1:
        lx, ly = series(data[0][1], "lr")
        if lx:
            ax2 = ax.twinx()
            ax2.plot(lx, ly, color="gray", linewidth=0.8, alpha=0.6, label="lr")
            ax2.set_ylabel("learning rate")
            lines, labels = ax.get_legend_handles_labels()
            lines2, labels2 = ax2.get_legend_handles_labels()
            ax.legend(lines + lines2, labels + labels2, loc="upper right")
        else:
            ax.legend(loc="upper right")
    else:
        ax.legend(loc="upper right")
    ax.set_title(title or ", ".join(os.path.basename(p) for p in paths))
    fig.tight_layout()
    try:
        fig.savefig(out, dpi=120)
    except OSError as e:
        raise MetricsError(f"{out}: cannot write: {e.strerror}")
    finally:
        plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Draw the loss curve of `MODEL train --log FILE` to a PNG.")
    ap.add_argument("files", nargs="+", help="metrics files (JSON lines or CSV) that `train --log` wrote")
    ap.add_argument("-o", "--out", help="the PNG to write (default: the first file's name with .png)")
    ap.add_argument("--log-y", action="store_true", help="a logarithmic loss axis")
    ap.add_argument("--title", help="the plot's title (default: the files' names)")
    args = ap.parse_args(argv)
    out = args.out or os.path.splitext(args.files[0])[0] + ".png"
    try:
        plot(args.files, out, args.log_y, args.title)
    except MetricsError as e:
        print(f"plot_metrics.py: error: {e}", file=sys.stderr)
        return 2
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
