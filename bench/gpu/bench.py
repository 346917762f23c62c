#!/usr/bin/env python3
"""bench.py - tdc on a GPU against PyTorch: each benchmark's tdc side through
the C driver (bench/gpu/driver.c, one process per benchmark), its PyTorch
side here, a check of both against a float64 reference, one table row each,
and every number in one JSON file.

    python3 bench/gpu/bench.py --driver DRIVER --tdc BUILD/tdc --work DIR [--dry-run] [--json PATH]

Both sides are timed alike: warm-up calls, then batches of calls, each batch
one wall-clock interval closed by a device synchronisation; a batch's time
over its calls is one sample, and the tables give the median. Inputs come
from bench_values(), the same hash of the element index the driver's
fill() computes, so no input crosses a file; the driver writes only what a
check needs (sampled output rows, initial params, optimizer state).
--dry-run runs every tdc benchmark at tiny sizes on the CPU (driver --cpu),
and PyTorch where it is installed, on the CPU too. bench/gpu/README.md
explains each benchmark and its FLOP and byte counts."""
import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback

import numpy as np

try:
    import torch
except ImportError:
    torch = None

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# (sizes, repetitions) for the GPU and for the dry run; repetitions are
# (warm-up calls, timed batches, calls a batch)
GPU = {
    "matmul": (16384, 32768, 8192), "softmax": (16384, 8192), "big_batch": 8192, "tiny_batch": 8,
    "adamw_n": 124_439_808,  # GPT-2 small's parameter count
    "linear": (8192, 16384, 4096), "first_step_runs": 5, "cold_runs": 3,
    "reps": {"matmul f32": (5, 20, 1), "matmul tf32": (5, 20, 2), "matmul bf16": (5, 20, 4), "softmax": (5, 20, 20),
             "linear f32": (3, 20, 1), "linear bf16": (5, 20, 10),
             "train big": (3, 10, 2), "train big_bf16": (3, 10, 4), "train tiny": (50, 20, 50), "adamw": (5, 20, 10)},
}
DRY = {
    "matmul": (48, 80, 64), "softmax": (24, 100), "linear": (40, 72, 56), "big_batch": 16, "tiny_batch": 8, "adamw_n": 100_003,
    "first_step_runs": 2, "cold_runs": 1,
    "reps": {k: (1, 3, 2) for k in GPU["reps"]},
}

M32 = 0xFFFFFFFF


# ---- inputs: driver.c's fill(), bit for bit ----
def _mul32(h, c):
    """h * c mod 2^32 for h < 2^32, in int64 without overflow (16-bit halves of c)."""
    lo, hi = c & 0xFFFF, c >> 16
    return (h * lo + (((h * hi) & 0xFFFF) << 16)) & M32


def values_at(idx, seed, scale):
    """The inputs at element indices idx (an int64 numpy array or torch tensor)."""
    h = (idx + ((seed * 0x9E3779B9) & M32)) & M32
    h = h ^ (h >> 16)
    h = _mul32(h, 0x85EBCA6B)
    h = h ^ (h >> 13)
    h = _mul32(h, 0xC2B2AE35)
    h = h ^ (h >> 16)
    k = (h >> 8) - (1 << 23)
    if isinstance(k, np.ndarray):
        return k.astype(np.float32) * np.float32(2.0 ** -24 * scale)
    return k.to(torch.float32) * (2.0 ** -24 * scale)


def bench_values(n, seed, scale, device):
    """n inputs from seed: a float32 torch tensor on device, or numpy when device is None."""
    if device is None:
        return values_at(np.arange(n, dtype=np.int64), seed, scale)
    out = torch.empty(n, dtype=torch.float32, device=device)
    chunk = 1 << 25
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        out[start:stop] = values_at(torch.arange(start, stop, dtype=torch.int64, device=device), seed, scale)
    return out


# ---- timing, as the driver times ----
def sync(device):
    if device is not None and device.type == "cuda":
        torch.cuda.synchronize()


def time_calls(fn, reps, device):
    warmup, batches, per_batch = reps
    for _ in range(warmup):
        fn()
    sync(device)
    seconds = []
    for _ in range(batches):
        t0 = time.perf_counter()
        for _ in range(per_batch):
            fn()
        sync(device)
        seconds.append((time.perf_counter() - t0) / per_batch)
    return {"batches": batches, "per_batch": per_batch, "seconds": seconds}


def median(t):
    return statistics.median(t["seconds"]) if t else None


def summary(t):
    """The median and the spread of a timing, for the JSON."""
    if not t:
        return None
    s = t["seconds"]
    return {**t, "median_s": statistics.median(s), "min_s": min(s), "max_s": max(s)}


# ---- error measures (against float64) ----
def rel_l2(a, ref):
    a, ref = np.asarray(a, np.float64), np.asarray(ref, np.float64)
    return float(np.linalg.norm(a - ref) / np.linalg.norm(ref))


def max_rel(a, ref):
    """max |a - ref| / max |ref|: the largest error on the scale of the result."""
    a, ref = np.asarray(a, np.float64), np.asarray(ref, np.float64)
    return float(np.max(np.abs(a - ref)) / np.max(np.abs(ref)))


class Bench:
    def __init__(self, args):
        self.args = args
        self.cfg = DRY if args.dry_run else GPU
        self.device = None
        if torch is not None:
            if args.dry_run:
                self.device = torch.device("cpu")
            elif torch.cuda.is_available():
                self.device = torch.device("cuda")
        self.results = {}
        self.rows = []  # the table
        self.failed = []

    # -- plumbing --
    def driver(self, name, *argv):
        out = os.path.join(self.args.work, name.replace(" ", "_"))
        os.makedirs(out, exist_ok=True)
        cmd = [self.args.driver] + (["--cpu"] if self.args.dry_run else []) + [str(a) for a in argv] + [out]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)}: exit {p.returncode}\n{p.stderr.strip()}")
        return json.loads(p.stdout.strip().splitlines()[-1]), out

    def free(self):
        if self.device is not None and self.device.type == "cuda":
            torch.cuda.empty_cache()

    def row(self, name, tdc=None, eager=None, compiled=None, flops=None, bytes_=None, check=""):
        self.rows.append({"name": name, "tdc": tdc, "eager": eager, "compiled": compiled, "flops": flops,
                          "bytes": bytes_, "check": check})
        print(format_row(self.rows[-1]), flush=True)

    def note(self, text):
        self.rows.append({"note": text})
        print(format_row(self.rows[-1]), flush=True)

    def verdict(self, name, errors, limits):
        """'ok' when every error is under its limit (NaN never is); records a failure otherwise."""
        bad = [k for k, lim in limits.items() if k in errors and not (errors[k] <= lim)]
        if bad:
            self.failed.append(f"{name}: {', '.join(f'{k} {errors[k]:.3g} > {limits[k]:.3g}' for k in bad)}")
            return "FAIL " + " ".join(f"{k}={errors[k]:.2g}" for k in bad)
        key = next(iter(limits))
        return f"ok ({key} {errors[key]:.1e})"

    def run(self, name, fn):
        start = time.perf_counter()
        try:
            fn()
        except Exception as e:  # a benchmark that cannot run is reported, and the others still run
            if not isinstance(e, RuntimeError):
                traceback.print_exc()
            print(f"{name}: {e}", file=sys.stderr)
            self.failed.append(f"{name}: {e}")
            self.results[name] = {"error": str(e)}
            self.row(name, check="ERROR")
        self.free()
        self.results[name]["elapsed_s"] = elapsed = time.perf_counter() - start
        print(f"  [{name}: {elapsed:.1f} s]", flush=True)

    # -- matmul --
    def matmul(self, mode, linear=False):
        """C = x @ w; with linear, relu(x @ w + bias): the product's epilogue in tdc, addmm and relu in PyTorch."""
        name = f"{'linear' if linear else 'matmul'} {mode}"
        B, D, K = self.cfg["linear" if linear else "matmul"]
        reps = self.cfg["reps"][name]
        r, out = self.driver(name, "matmul", f"linear_{mode}" if linear else mode, B, D, K, *reps)
        rows = np.load(os.path.join(out, "rows.npy"))
        tdc_rows = np.load(os.path.join(out, "out_rows.npy"))
        flops = 2 * B * D * K
        dev = self.device
        res = {"B": B, "D": D, "K": K, "flops": flops, "tdc": summary(r["tdc"]), "tdc_nonfinite": r["nonfinite"],
               "tdc_gemm_tuning": r.get("gemm_tuning"),
               "device": r["device"]}
        # the float64 reference of the sampled rows, from the inputs as the matmul saw them
        # (rounded to bf16 for bf16)
        lib = torch if dev is not None else np
        if lib is torch:
            w = bench_values(K * D, 2, 1.0, dev).view(K, D)
            ridx = torch.as_tensor(rows, device=dev)[:, None] * K + torch.arange(K, device=dev)
            xr = values_at(ridx, 1, 1.0)
            bias = bench_values(D, 3, 1.0, dev)
            if mode == "bf16":
                w, xr, bias = w.bfloat16(), xr.bfloat16(), bias.bfloat16()
            ref = xr.double() @ w.double()
            if linear:
                ref = torch.relu(ref + bias.double())
            ref = ref.cpu().numpy()
            del ridx, xr
        else:
            w = bench_values(K * D, 2, 1.0, None).reshape(K, D)
            xr = values_at(rows[:, None] * K + np.arange(K), 1, 1.0)
            bias = bench_values(D, 3, 1.0, None)
            if mode == "bf16":
                w, xr, bias = round_bf16(w), round_bf16(xr), round_bf16(bias)
            ref = xr.astype(np.float64) @ w.astype(np.float64)
            if linear:
                ref = np.maximum(ref + bias.astype(np.float64), 0)
        errors = {"rel_l2": rel_l2(tdc_rows, ref), "max_rel": max_rel(tdc_rows, ref),
                  "nonfinite": float(r["nonfinite"])}
        if lib is torch:
            dtype = torch.bfloat16 if mode == "bf16" else torch.float32
            x = bench_values(B * K, 1, 1.0, dev).view(B, K).to(dtype)
            w = w.to(dtype)
            c = torch.empty(B, D, dtype=dtype, device=dev)
            if dev.type == "cuda":
                torch.backends.cuda.matmul.allow_tf32 = mode == "tf32"
            bias = bias.to(dtype)

            def layer():  # PyTorch's Linear and ReLU: addmm (cuBLASLt with the bias), then relu in place
                return torch.relu_(torch.addmm(bias, x, w, out=c))

            call = layer if linear else lambda: torch.matmul(x, w, out=c)
            call()
            torch_rows = c[torch.as_tensor(rows, device=dev)].float().cpu().numpy()
            errors["torch_rel_l2"] = rel_l2(torch_rows, ref)
            errors["tdc_vs_torch_rel_l2"] = rel_l2(tdc_rows, torch_rows)
            res["eager"] = summary(time_calls(call, reps, dev))
            try:  # torch.compile of the same expression (its output allocated by the call, from the cache)
                t0 = time.perf_counter()
                if linear:
                    fast = torch.compile(lambda x, w, bias: torch.relu(x @ w + bias))
                else:
                    fast = torch.compile(lambda x, w, bias: x @ w)
                fast(x, w, bias)
                sync(dev)
                res["compile_s"] = time.perf_counter() - t0
                res["compiled"] = summary(time_calls(lambda: fast(x, w, bias), reps, dev))
                del fast
            except Exception as exc:  # no triton or no C compiler: recorded, not fatal
                res["compiled_error"] = f"{type(exc).__name__}: {exc}"[:2000]
                print(f"torch.compile failed: {res['compiled_error'][:300]}", file=sys.stderr)
            if dev.type == "cuda":
                torch.backends.cuda.matmul.allow_tf32 = False
            del x, w, c, bias
        res["errors"] = errors
        # float32 lands far under 1e-3 (about 1e-6 here); tf32 near 3e-4; bf16 rounds the output (2^-9)
        limit = {"f32": 2e-5, "tf32": 2e-3, "bf16": 1e-2}[mode]
        check = self.verdict(name, errors, {"rel_l2": limit, "nonfinite": 0.0, "torch_rel_l2": limit})
        res["target"] = "tdc's FLOP/s >= 0.97 x PyTorch's" if not linear else "the epilogue: no slower than PyTorch's"
        self.results[name] = res
        self.row(f"{name} {B}x{D}x{K}", median(res["tdc"]), median(res.get("eager")), median(res.get("compiled")),
                 flops=flops, check=check)

    # -- softmax --
    def softmax(self):
        name = "softmax"
        R, N = self.cfg["softmax"]
        reps = self.cfg["reps"][name]
        r, out = self.driver(name, "softmax", R, N, *reps)
        rows = np.load(os.path.join(out, "rows.npy"))
        tdc_rows = np.load(os.path.join(out, "out_rows.npy"))
        xr = values_at(rows[:, None] * N + np.arange(N), 31, 16.0).astype(np.float64)
        e = np.exp(xr - xr.max(axis=1, keepdims=True))
        ref = e / e.sum(axis=1, keepdims=True)
        nbytes = 2 * R * N * 4  # read x once, write y once
        res = {"rows": R, "n": N, "bytes": nbytes, "tdc": summary(r["tdc"]), "device": r["device"]}
        errors = {"rel_l2": rel_l2(tdc_rows, ref), "max_rel": max_rel(tdc_rows, ref),
                  "max_row_sum_error": r["max_row_sum_error"], "nonfinite": float(r["nonfinite"])}
        compiled = None
        if self.device is not None:
            dev = self.device
            x = bench_values(R * N, 31, 16.0, dev).view(R, N)

            def composed(x):
                shifted = torch.exp(x - x.amax(dim=-1, keepdim=True))
                return shifted / shifted.sum(dim=-1, keepdim=True)

            y = composed(x)
            errors["torch_rel_l2"] = rel_l2(y[torch.as_tensor(rows, device=dev)].cpu().numpy(), ref)
            errors["torch_softmax_rel_l2"] = rel_l2(
                torch.softmax(x, -1)[torch.as_tensor(rows, device=dev)].cpu().numpy(), ref)
            del y
            res["eager"] = summary(time_calls(lambda: composed(x), reps, dev))
            res["torch_softmax"] = summary(time_calls(lambda: torch.softmax(x, -1), reps, dev))
            dst = torch.empty_like(x)
            res["copy"] = summary(time_calls(lambda: dst.copy_(x), reps, dev))
            del dst
            try:
                t0 = time.perf_counter()
                fast = torch.compile(composed)
                y = fast(x)
                sync(dev)
                res["compile_s"] = time.perf_counter() - t0
                errors["compiled_rel_l2"] = rel_l2(y[torch.as_tensor(rows, device=dev)].cpu().numpy(), ref)
                del y
                res["compiled"] = summary(time_calls(lambda: fast(x), reps, dev))
                compiled = median(res["compiled"])
            except Exception as exc:  # no triton or no C compiler: recorded, not fatal
                res["compiled_error"] = f"{type(exc).__name__}: {exc}"[:2000]
                print(f"torch.compile failed: {res['compiled_error'][:300]}", file=sys.stderr)
            del x
        res["errors"] = errors
        # f32 over 8192 terms: about 1e-7; rows sum to 1 within 1e-4
        check = self.verdict(name, errors, {"rel_l2": 1e-5, "max_row_sum_error": 1e-4, "nonfinite": 0.0,
                                            "torch_rel_l2": 1e-5})
        self.results[name] = res
        self.row(f"softmax {R}x{N} (composed)", median(res["tdc"]), median(res.get("eager")), compiled,
                 bytes_=nbytes, check=check)
        if "torch_softmax" in res:
            self.row("  torch.softmax", None, median(res["torch_softmax"]), bytes_=nbytes)
            self.row("  device copy (copy_)", None, median(res["copy"]), bytes_=nbytes)

    # -- Cruncher train steps --
    def train(self, kind):
        name = f"train {kind}"
        big, bf16 = kind.startswith("big"), kind.endswith("bf16")
        B = self.cfg["big_batch" if big else "tiny_batch"]
        reps = self.cfg["reps"][name]
        r, out = self.driver(name, "train", kind, B, *reps)
        w0 = np.load(os.path.join(out, "w.npy"))
        final0 = np.load(os.path.join(out, "final.npy"))
        L, H = w0.shape[0], w0.shape[1]
        # model FLOPs: L + 1 products forward, the weights' and the activations' gradients backward
        # (none for the input x): (6 L - 2) B H^2 + 6 B H
        flops = (6 * L - 2) * B * H * H + 6 * B * H
        tdc_mem = sum(r["region_bytes"].values()) + r["stage_bytes"] + r["scratch_bytes"] + r.get("copy_bytes", 0)
        res = {"B": B, "H": H, "layers": L, "flops_per_step": flops, "tdc": summary(r["tdc"]),
               "tdc_first_steps": r["first_steps"], "tdc_region_bytes": r["region_bytes"],
               "tdc_stage_bytes": r["stage_bytes"], "tdc_device_bytes": tdc_mem, "device": r["device"],
               "tdc_gemm_tuning": r.get("gemm_tuning"),
               "optimizer": f"{'adamw' if big else 'adagrad'}(lr={r['first_steps'][0]['lr']:g})"}
        if "h2d_x" in r:
            res["tdc_h2d_x"] = summary(r["h2d_x"])
        if "tdc_staged" in r:
            res["tdc_staged"] = summary(r["tdc_staged"])
        if "tdc_device_batch" in r:
            res["tdc_device_batch"] = summary(r["tdc_device_batch"])
            res["tdc_device_batch_bytes"] = r["device_batch_bytes"]
            res["tdc_device_batch_gpu_ms"] = r.get("tdc_device_batch_gpu_ms")
        # the first loss in float64, from the initial params
        errors = {}
        dev = self.device
        if dev is not None:
            a = bench_values(B * H, 41, 1.0, dev).view(B, H).double()
            y64 = bench_values(B, 42, 1.0, dev).double()
            w64 = torch.from_numpy(w0).to(dev, torch.float64)
            for l in range(L):
                a = a @ w64[l]
            pred = (a @ torch.from_numpy(final0).to(dev, torch.float64))[:, 0]
            ref_loss = float(((pred - y64) ** 2).mean())
            del w64, a, pred, y64
        else:
            a = bench_values(B * H, 41, 1.0, None).reshape(B, H).astype(np.float64)
            y64 = bench_values(B, 42, 1.0, None).astype(np.float64)
            for l in range(L):
                a = a @ w0[l].astype(np.float64)
            ref_loss = float((((a @ final0.astype(np.float64))[:, 0] - y64) ** 2).mean())
        errors["first_loss_rel"] = abs(r["first_steps"][0]["loss"] - ref_loss) / abs(ref_loss)
        res["ref_first_loss"] = ref_loss
        if dev is not None:
            self.torch_train(kind, B, L, w0, final0, reps, res, errors)
        res["errors"] = errors
        # step 1 is the forward pass alone in f32 (about 1e-6); steps 2 and 3 follow AdamW's and
        # AdaGrad's sign-like first updates, where a gradient near 0 may round either way. In bf16
        # every layer's output is rounded to 8 bits of mantissa (2^-9 relative), through 8 layers:
        # against float64 a few 1e-3 expected, against torch's autocast (the same roundings, other
        # summation orders) less
        loose = 5e-2 if bf16 else 1e-4
        check = self.verdict(name, errors, {"first_loss_rel": loose, "torch_first_loss_rel": loose,
                                            "tdc_vs_torch_loss_rel": 5e-2 if bf16 else 1e-2,
                                            "tdc_vs_torch_compiled_loss_rel": 5e-2 if bf16 else 1e-2})
        self.results[name] = res
        label = f"cruncher {L}x{H} B={B} step{' bf16' if bf16 else ''}"
        compiled = median(res.get("compiled"))
        self.row(label, median(res["tdc"]), median(res.get("eager")), compiled, flops=flops, check=check)
        if "eager_h2d_item" in res:
            self.row("  + batch from host, loss read", median(res["tdc"]), median(res["eager_h2d_item"]),
                     flops=flops)
        if "tdc_staged" in res:
            self.row("  tdc, the next batch staged meanwhile", median(res["tdc_staged"]),
                     median(res.get("eager_h2d_item")), flops=flops)
        if "tdc_device_batch" in res:
            self.row("  tdc with the batch on the GPU", median(res["tdc_device_batch"]), median(res.get("eager")),
                     compiled, flops=flops)
        regions = ", ".join(f"{k} {fmt_bytes(v)}" for k, v in r["region_bytes"].items())
        torch_mem = res.get("torch_max_memory_allocated")
        copies = f", bf16 copies {fmt_bytes(r['copy_bytes'])}" if r.get("copy_bytes") else ""
        self.note(f"device memory: tdc {fmt_bytes(tdc_mem)} ({regions}, staging {fmt_bytes(r['stage_bytes'])}{copies})"
                  + (f"; torch max_memory_allocated {fmt_bytes(torch_mem)}" if torch_mem is not None else ""))
        if "tdc_device_batch_bytes" in res:
            self.note(f"device memory, batches on the GPU (no staging buffer): tdc {fmt_bytes(res['tdc_device_batch_bytes'])}"
                      f" = {res['tdc_device_batch_bytes'] / 1e9:.3f} GB (target: at most 3.5 GB)")
        if "tdc_h2d_x" in res:
            self.note(f"x's upload alone (td_cuda_upload from pageable memory): {fmt_time(median(res['tdc_h2d_x']))}")

    def torch_train(self, kind, B, L, w0, final0, reps, res, errors):
        dev = self.device
        if dev.type == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = False
            torch.cuda.reset_peak_memory_stats()
            base = torch.cuda.memory_allocated()
        H = w0.shape[1]
        w = torch.from_numpy(w0).to(dev).requires_grad_()
        final = torch.from_numpy(final0).to(dev).requires_grad_()
        x = bench_values(B * H, 41, 1.0, dev).view(B, H)
        y = bench_values(B, 42, 1.0, dev)
        lr = res["tdc_first_steps"][0]["lr"]  # the program's, as tdc reported it
        if kind.startswith("big"):
            opt = torch.optim.AdamW([w, final], lr=lr)  # torch's defaults otherwise: betas, eps, weight_decay 0.01
        else:
            opt = torch.optim.Adagrad([w, final], lr=lr)
        bf16 = kind.endswith("bf16")

        step = train_step(opt, cruncher_loss(dev, L, bf16), x, y, w, final)

        losses = [float(step().item()) for _ in range(3)]
        res["torch_first_losses"] = losses
        errors["torch_first_loss_rel"] = abs(losses[0] - res["ref_first_loss"]) / abs(res["ref_first_loss"])
        errors["tdc_vs_torch_loss_rel"] = max(abs(t["loss"] - p) / abs(p)
                                              for t, p in zip(res["tdc_first_steps"], losses))
        res["eager"] = summary(time_calls(step, reps, dev))
        res["eager_item"] = summary(time_calls(lambda: step().item(), reps, dev))
        x_host, y_host = x.cpu(), y.cpu()  # pageable, as the driver's batch

        def step_from_host():
            x.copy_(x_host)
            y.copy_(y_host)
            return step().item()

        res["eager_h2d_item"] = summary(time_calls(step_from_host, reps, dev))
        if dev.type == "cuda":
            res["torch_max_memory_allocated"] = torch.cuda.max_memory_allocated() - base
        del opt, w, final
        self.free()
        try:
            self.torch_train_compiled(kind, B, L, w0, final0, x, y, lr, reps, res, errors)
        except Exception as exc:  # no triton or no C compiler: recorded, not fatal
            res["compiled_error"] = f"{type(exc).__name__}: {exc}"[:2000]
            print(f"torch.compile failed: {res['compiled_error'][:300]}", file=sys.stderr)

    def torch_train_compiled(self, kind, B, L, w0, final0, x, y, lr, reps, res, errors):
        """The same step with the model and its loss through torch.compile (the backward is
        AOTAutograd's compiled graph), from the initial params again: PyTorch at its best as a
        user would write it. AdamW is the fused one (one kernel set over both params); AdaGrad
        has no fused CUDA form and stays foreach. The tiny step is launch-bound, so it is
        compiled with mode="reduce-overhead" (CUDA graphs of the forward and the backward)."""
        dev = self.device
        bf16 = kind.endswith("bf16")
        big = kind.startswith("big")
        w = torch.from_numpy(w0).to(dev).requires_grad_()
        final = torch.from_numpy(final0).to(dev).requires_grad_()
        cuda = dev.type == "cuda"
        if big:
            opt = torch.optim.AdamW([w, final], lr=lr, fused=cuda)
        else:
            opt = torch.optim.Adagrad([w, final], lr=lr)

        mode = "reduce-overhead" if not big and cuda else "default"
        step = train_step(opt, torch.compile(cruncher_loss(dev, L, bf16), mode=mode), x, y, w, final)

        t0 = time.perf_counter()
        losses = [float(step().item()) for _ in range(3)]
        res["compile_s"] = time.perf_counter() - t0
        res["compiled_mode"] = mode
        res["compiled_optimizer"] = type(opt).__name__ + (" (fused)" if big and cuda else " (foreach)")
        res["torch_compiled_first_losses"] = losses
        errors["tdc_vs_torch_compiled_loss_rel"] = max(abs(t["loss"] - p) / abs(p)
                                                       for t, p in zip(res["tdc_first_steps"], losses))
        res["compiled"] = summary(time_calls(step, reps, dev))
        del opt, w, final, step  # the step holds the compiled function
        self.free()

    # -- AdamW over a GPT-2-sized parameter --
    def adamw(self):
        name = "adamw"
        n = self.cfg["adamw_n"]
        reps = self.cfg["reps"][name]
        r, out = self.driver(name, "adamw", n, *reps)
        idx = np.load(os.path.join(out, "idx.npy"))
        got = {k: np.load(os.path.join(out, f"{k}.npy")) for k in ("param", "exp_avg", "exp_avg_sq")}
        nbytes = 28 * n  # read param, grad, exp_avg, exp_avg_sq; write param, exp_avg, exp_avg_sq
        res = {"n": n, "bytes": nbytes, "tdc": summary(r["tdc"]), "device": r["device"]}
        # step 1 in float64: AdamW from zero state, torch's defaults (lr 1e-3, weight decay 1e-2)
        p = values_at(idx, 51, 1.0).astype(np.float64)
        g = values_at(idx, 52, 1.0 / 64).astype(np.float64)
        lr, wd, b1, b2, eps = r["lr"], r["weight_decay"], 0.9, 0.999, 1e-8
        m, v = (1 - b1) * g, (1 - b2) * g * g
        ref = {"param": p * (1 - lr * wd) - (lr / (1 - b1)) * m / (np.sqrt(v) / np.sqrt(1 - b2) + eps),
               "exp_avg": m, "exp_avg_sq": v}
        errors = {f"{k}_rel": max_rel(got[k], ref[k]) for k in ref}
        errors["nonfinite"] = float(r["nonfinite"])
        dev = self.device
        if dev is not None:
            param = torch.nn.Parameter(bench_values(n, 51, 1.0, dev))
            param.grad = bench_values(n, 52, 1.0 / 64, dev)
            fused = dev.type == "cuda"  # fused AdamW is for CUDA tensors
            opt = torch.optim.AdamW([param], lr=lr, weight_decay=wd, fused=fused)
            opt.step()
            tidx = torch.as_tensor(idx, device=dev)
            state = opt.state[param]
            tgot = {"param": param.detach()[tidx], "exp_avg": state["exp_avg"][tidx],
                    "exp_avg_sq": state["exp_avg_sq"][tidx]}
            for k in ref:
                errors[f"torch_{k}_rel"] = max_rel(tgot[k].cpu().numpy(), ref[k])
            res["torch_fused"] = fused
            res["eager"] = summary(time_calls(opt.step, reps, dev))
            del opt
            opt = torch.optim.AdamW([param], lr=lr, weight_decay=wd, foreach=True)
            opt.step()
            res["eager_foreach"] = summary(time_calls(opt.step, reps, dev))
            del opt
            self.torch_adamw_compiled(param, lr, wd, reps, res)
            del param
        res["errors"] = errors
        # f32 updates of values near 0.5 by 1e-3: a few ulp
        check = self.verdict(name, errors, {"param_rel": 1e-6, "exp_avg_rel": 1e-6, "exp_avg_sq_rel": 1e-6,
                                            "nonfinite": 0.0, "torch_param_rel": 1e-6})
        self.results[name] = res
        self.row(f"adamw {n / 1e6:.1f}M f32 (vs fused)", median(res["tdc"]), median(res.get("eager")),
                 median(res.get("compiled")), bytes_=nbytes, check=check)
        if "eager_foreach" in res:
            self.row("  vs foreach", median(res["tdc"]), median(res["eager_foreach"]), bytes_=nbytes)

    def torch_adamw_compiled(self, param, lr, wd, reps, res):
        """AdamW's step through torch.compile (PyTorch's recipe for a compiled optimizer: the
        step in a compiled function, lr a tensor so that a new lr does not recompile), timed
        after the compile."""
        try:
            opt = torch.optim.AdamW([param], lr=torch.tensor(lr), weight_decay=wd)

            @torch.compile(fullgraph=False)
            def step():
                opt.step()

            t0 = time.perf_counter()
            step()
            res["compile_s"] = time.perf_counter() - t0
            res["compiled"] = summary(time_calls(step, reps, self.device))
            del opt, step
        except Exception as exc:  # no triton or no C compiler: recorded, not fatal
            res["compiled_error"] = f"{type(exc).__name__}: {exc}"[:2000]
            print(f"torch.compile failed: {res['compiled_error'][:300]}", file=sys.stderr)

    # -- compile time: tdc, then the first run's NVRTC build, cold and warm --
    def compile_time(self):
        work = os.path.join(self.args.work, "compile")
        os.makedirs(work, exist_ok=True)
        exe = os.path.join(work, "charlm")
        tdc_runs = []
        for _ in range(self.cfg["cold_runs"]):  # machines and runs differ by 0.1-0.2 s: medians of a few
            t0 = time.perf_counter()
            p = subprocess.run([self.args.tdc, os.path.join(ROOT, "examples/charlm.td"), "-o", exe],
                               capture_output=True, text=True)
            tdc_runs.append(time.perf_counter() - t0)
            if p.returncode != 0:
                raise RuntimeError(f"tdc examples/charlm.td: {p.stderr}")
        tdc_s = statistics.median(tdc_runs)
        data = os.path.join(work, "text")
        p = subprocess.run([sys.executable, os.path.join(ROOT, "tools/make_text_data.py"), data],
                           capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"make_text_data.py: {p.stderr}")
        cmd = [exe, "train", "--steps", "1", "--dims", "batch=4", "--data", os.path.join(data, "train.bin"),
               "--device", "cpu" if self.args.dry_run else "cuda"]
        colds = []
        for _ in range(self.cfg["cold_runs"]):
            cache = tempfile.mkdtemp(prefix="nvrtc-cache.", dir=work)
            # NVRTC (CUDA 13) keeps a cache of its own, the driver's (~/.nv/ComputeCache, or CUDA_CACHE_PATH): a
            # cold run empties both, or an earlier run of the same kernels (the test suite's) makes the build look free
            nv_cache = tempfile.mkdtemp(prefix="nv-cache.", dir=work)
            env = dict(os.environ, TDC_CACHE=cache, CUDA_CACHE_PATH=nv_cache)
            colds.append(timed_process(cmd, env, "step 1/1", work))
        entries = len(os.listdir(cache))
        warm = [timed_process(cmd, env, "step 1/1", work) for _ in range(self.cfg["first_step_runs"])]
        cold = {"exit_s": median_of(colds, "exit_s"), "line_s": median_of(colds, "line_s")}
        res = {"tdc_compile_s": tdc_s, "tdc_runs_s": tdc_runs, "first_run_cold_cache_s": cold["exit_s"],
               "first_run_warm_cache_s": median_of(warm, "exit_s"),
               "nvrtc_s": cold["exit_s"] - median_of(warm, "exit_s"), "cache_entries": entries,
               "cold_to_first_step_s": cold["line_s"], "warm_to_first_step_s": median_of(warm, "line_s"),
               "tdc_and_cold_first_step_s": tdc_s + cold["line_s"],
               "cold_runs": colds, "warm_runs": warm, "command": " ".join(cmd[1:])}
        # the floor: a process that brings up the driver's context and nothing else
        floor = None
        if self.args.bringup and not self.args.dry_run:
            runs = [timed_process([self.args.bringup], os.environ, "ready", work) for _ in range(self.cfg["first_step_runs"])]
            phases = [json.loads(r["stdout"].splitlines()[0]) for r in runs]
            floor = median_of(runs, "line_s")
            res["bringup"] = {"runs": runs, "to_ready_s": floor, "exit_s": median_of(runs, "exit_s"),
                              **{k: statistics.median(ph[k] for ph in phases) for k in phases[0]}}
        # PyTorch's: the import and a first CUDA operation, before a step could begin
        if self.device is not None and self.device.type == "cuda":
            script = "import torch; torch.ones(1, device='cuda').sum().item(); print('ready', flush=True)"
            runs = [timed_process([sys.executable, "-c", script], os.environ, "ready", work) for _ in range(3)]
            res["torch_import_first_op_s"] = median_of(runs, "line_s")
        self.results["compile"] = res
        print(f"compile: tdc examples/charlm.td {tdc_s:.2f} s; train --steps 1: {cold['exit_s']:.2f} s with an empty "
              f"NVRTC cache ({entries} entries made), {res['first_run_warm_cache_s']:.2f} s warm", flush=True)
        self.row("tdc charlm.td -o charlm", tdc_s, None)
        self.row("  charlm train, cold cache", cold["exit_s"], None)
        self.row("  tdc + cold, to step 1's line", res["tdc_and_cold_first_step_s"], None)
        self.row("  charlm train, warm cache", res["first_run_warm_cache_s"], None)
        self.row("  warm, start to step 1's line", res["warm_to_first_step_s"],
                 res.get("torch_import_first_op_s"))
        if floor is not None:
            b = res["bringup"]
            self.note(f"the driver alone (bench/gpu/bringup.c), start to context ready: {fmt_time(floor)} (dlopen "
                      f"{b['dlopen_ms']:.1f} ms, cuInit {b['cuInit_ms']:.1f} ms, primary context {b['context_ms']:.1f} ms, "
                      f"first cuMemAlloc {b['first_alloc_ms']:.1f} ms); charlm's first step comes "
                      f"{fmt_time(res['warm_to_first_step_s'] - floor)} after that")
        if "torch_import_first_op_s" in res:
            self.note("the eager column of the first-step row: python -c 'import torch' and one CUDA operation")


def train_step(opt, loss_fn, x, y, w, final):
    """One PyTorch train step of the Cruncher, as a function of nothing: the loss, its backward, the
    optimizer's step; it returns the loss (a tensor, not yet read)."""
    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(x, y, w, final)
        loss.backward()
        opt.step()
        return loss
    return step


def cruncher_loss(dev, L, bf16):
    """The Cruncher's loss as PyTorch computes it, for eager and torch.compile alike. bf16: the layers
    under autocast (bf16 products, f32 accumulation), the final product and the loss in f32, as
    cruncher_big_bf16.td has them."""
    def loss(x, y, w, final):
        a = x
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=bf16):
            for l in range(L):
                a = a @ w[l]
        return (((a.float() @ final)[:, 0] - y) ** 2).mean()
    return loss


def timed_process(cmd, env, marker, work):
    """Runs cmd; the seconds from its start to the first stdout line that starts with marker
    (None when none does) and to its exit, and its stdout. A failure raises."""
    with tempfile.TemporaryFile("w+", dir=work) as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True, env=env)
        line_s, lines = None, []
        for line in p.stdout:
            if line_s is None and line.startswith(marker):
                line_s = time.perf_counter() - t0
            lines.append(line)
        rc = p.wait()
        exit_s = time.perf_counter() - t0
        if rc != 0 or line_s is None:
            err.seek(0)
            raise RuntimeError(f"{' '.join(cmd)}: exit {rc}{'' if line_s else f', no line {marker!r}'}: {err.read()}")
    return {"line_s": line_s, "exit_s": exit_s, "stdout": "".join(lines)}


def median_of(runs, key):
    return statistics.median(r[key] for r in runs)


def round_bf16(a):
    """float32 to the nearest bfloat16 (ties to even), kept as float32: numpy has no bfloat16."""
    bits = np.asarray(a, np.float32).view(np.uint32).astype(np.uint64)
    bits = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16 << 16
    return bits.astype(np.uint32).view(np.float32)


def fmt_bytes(n):
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.2f} {unit}"
    return f"{n} B"


def fmt_time(s):
    if s is None:
        return "-"
    return f"{s * 1e6:.1f} us" if s < 1e-3 else f"{s * 1e3:.2f} ms" if s < 1 else f"{s:.2f} s"


def fmt_rate(t, flops, bytes_):
    if t is None or (flops is None and bytes_ is None):
        return "-"
    rate, unit = (flops, "FLOP/s") if flops is not None else (bytes_, "B/s")
    rate /= t
    for prefix, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6)):
        if rate >= scale or prefix == "M":
            return f"{rate / scale:.{1 if flops is not None else 2}f} {prefix}{unit}"


HEADER = (f"{'benchmark':<36} {'tdc':>10} {'eager':>10} {'compiled':>10} {'tdc/eager':>9} {'tdc/comp':>8} "
          f"{'tdc rate':>14} {'eager rate':>14}  check")


def format_row(r):
    if "note" in r:
        return f"  {r['note']}"
    ratio = f"{r['eager'] / r['tdc']:.2f}x" if r["tdc"] and r["eager"] else "-"
    ratio_compiled = f"{r['compiled'] / r['tdc']:.2f}x" if r["tdc"] and r["compiled"] else "-"
    return (f"{r['name']:<36} {fmt_time(r['tdc']):>10} {fmt_time(r['eager']):>10} {fmt_time(r['compiled']):>10} "
            f"{ratio:>9} {ratio_compiled:>8} {fmt_rate(r['tdc'], r['flops'], r['bytes']):>14} "
            f"{fmt_rate(r['eager'], r['flops'], r['bytes']):>14}  {r['check']}")


def meta(args):
    m = {"dry_run": args.dry_run, "python": platform.python_version(), "numpy": np.__version__,
         "torch": torch.__version__ if torch is not None else None, "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
         "timing": "median over batches of calls, each batch one wall-clock interval closed by a device sync"}
    if torch is not None and torch.cuda.is_available():
        m["gpu"] = torch.cuda.get_device_name(0)
        m["cuda"] = torch.version.cuda
    smi = shutil.which("nvidia-smi")
    if smi:
        p = subprocess.run([smi, "--query-gpu=name,driver_version,memory.total,clocks.max.sm,power.limit",
                            "--format=csv,noheader"], capture_output=True, text=True)
        m["nvidia_smi"] = p.stdout.strip()
    return m


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--driver", required=True)
    ap.add_argument("--tdc", required=True)
    ap.add_argument("--bringup", default=None, help="bench/gpu/bringup.c built: the driver's bring-up alone")
    ap.add_argument("--work", required=True)
    ap.add_argument("--dry-run", action="store_true")
    ap.add_argument("--json", default=os.path.join(ROOT, "bench/gpu/results.json"))
    ap.add_argument("--tests", default=None, help="the GPU tests' summary line, for the JSON")
    ap.add_argument("--only", default=None, help="comma-separated: matmul,linear,softmax,train,adamw,compile")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    b = Bench(args)
    if torch is None:
        print("bench: torch is not installed: the PyTorch columns stay empty", flush=True)
    elif args.dry_run:
        print("bench: dry run: PyTorch on the CPU", flush=True)
    elif b.device is None:
        print("bench: torch sees no GPU: the PyTorch columns stay empty", flush=True)

    # the generator: the driver's fill() against values_at(), bit for bit
    check_path = os.path.join(args.work, "fill.npy")
    p = subprocess.run([args.driver, "--cpu", "fill", "7", str(1 << 16), "2", check_path], capture_output=True,
                       text=True)
    if p.returncode != 0 or not np.array_equal(np.load(check_path), values_at(np.arange(1 << 16), 7, 2.0)):
        print(f"bench: driver.c's fill() and bench.py's values_at() disagree {p.stderr}", file=sys.stderr)
        return 1

    print(HEADER, flush=True)
    only = set(args.only.split(",")) if args.only else None
    plan = [("matmul", lambda: b.matmul("f32")), ("matmul", lambda: b.matmul("tf32")),
            ("matmul", lambda: b.matmul("bf16")), ("linear", lambda: b.matmul("f32", True)),
            ("linear", lambda: b.matmul("bf16", True)), ("softmax", b.softmax), ("train", lambda: b.train("big")),
            ("train", lambda: b.train("big_bf16")), ("train", lambda: b.train("tiny")), ("adamw", b.adamw),
            ("compile", b.compile_time)]
    names = ["matmul f32", "matmul tf32", "matmul bf16", "linear f32", "linear bf16", "softmax", "train big", "train big_bf16", "train tiny", "adamw",
             "compile"]
    for (group, fn), name in zip(plan, names):
        if only is None or group in only:
            b.run(name, fn)

    report = {"meta": meta(args), "tests": args.tests, "results": b.results, "table": b.rows, "failed": b.failed}
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(report, f, indent=2)
    print()
    print(HEADER)
    for row in b.rows:
        print(format_row(row))
    print(f"\ntdc/eager and tdc/comp are PyTorch's time (eager, torch.compile) over tdc's: above 1, tdc is faster. "
          f"Wrote {args.json}")
    for f in b.failed:
        print(f"FAILED: {f}")
    return 1 if b.failed else 0


if __name__ == "__main__":
    sys.exit(main())
