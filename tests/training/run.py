"""Training compiled programs end to end: the lesson's linreg converges, the
Cruncher's trajectory matches numpy's Adagrad step for step, charlm's loss
falls and its resumed run is bit for bit the straight one, and its
checkpoints read with the reference safetensors package."""
import json
import os
import subprocess
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def compile_program(r, rel, tmp):
    exe = os.path.join(tmp, os.path.basename(rel)[:-3])
    code, out, err = r.run([rel, "-o", exe], timeout=180)
    if code != 0:
        r.fail(f"training: {rel}", f"does not compile:\n{err}")
        return None
    return exe


def run(cmd, timeout=300):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def log_of(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def read_checkpoint(path):
    from safetensors.numpy import load_file  # the reference reader
    from safetensors import safe_open
    with safe_open(path, framework="numpy") as f:
        meta = f.metadata()
    return load_file(path), meta


def linreg(r, tmp):
    exe = compile_program(r, "examples/linreg.td", tmp)
    if not exe:
        return
    logs = []
    for i in range(2):
        log = os.path.join(tmp, f"linreg{i}.jsonl")
        p = run([exe, "train", "--steps", "300", "--seed", "3", "--log", log, "--log-every", "10"])
        if p.returncode != 0:
            r.fail("training: linreg", p.stderr)
            return
        logs.append(log_of(log))
    first, last = logs[0][0]["loss"], logs[0][-1]["loss"]
    # the lesson's train_loop: SGD on y = x @ arange(16) converges from a loss of tens to well under 1
    if not (last < 0.1 * first and last < 1.0):
        r.fail("training: linreg converges", f"loss {first} -> {last}")
    else:
        r.ok("training: linreg converges")
    if logs[0] != [dict(row, ms=row["ms"]) for row in logs[1]] and \
            [(x["step"], x["loss"]) for x in logs[0]] != [(x["step"], x["loss"]) for x in logs[1]]:
        r.fail("training: linreg is deterministic", "two runs with one seed differ")
    else:
        r.ok("training: linreg is deterministic")


def cruncher(r, tmp):
    """Sequential rows, so numpy can replay every batch: forward, backward and
    torch's Adagrad (lr 0.01, eps 1e-10) in float64; params compared in f32
    after 20 steps (rtol 1e-4: f32 training against an f64 replay)."""
    exe = compile_program(r, "examples/cruncher.td", tmp)
    if not exe:
        return
    rng = np.random.default_rng(0)
    n, b, d = 64, 16, 64
    xs = rng.standard_normal((n, d)).astype(np.float32)
    ys = (xs @ rng.standard_normal(d) / 8).astype(np.float32)
    np.save(os.path.join(tmp, "cx.npy"), xs)
    np.save(os.path.join(tmp, "cy.npy"), ys)
    p0 = os.path.join(tmp, "c0.safetensors")
    ck = os.path.join(tmp, "c20.safetensors")
    p = run([exe, "params", "--dims", f"batch={b}", "--seed", "5", "--out", p0])
    q = run([exe, "train", "--dims", f"batch={b}", "--seed", "5", "--data", f"x={tmp}/cx.npy", "--data", f"y={tmp}/cy.npy",
             "--sequential", "--steps", "20", "--ckpt", ck]) if p.returncode == 0 else p
    if q.returncode != 0:
        r.fail("training: cruncher", q.stderr)
        return
    init, _ = read_checkpoint(p0)
    trained, meta = read_checkpoint(ck)
    w, final = init["w"].astype(np.float64), init["final"].astype(np.float64)
    sum_w, sum_f = np.zeros_like(w), np.zeros_like(final)
    cursor = 0
    for step in range(20):
        if cursor + b > n:
            cursor = 0
        x, y = xs[cursor:cursor + b].astype(np.float64), ys[cursor:cursor + b].astype(np.float64)
        cursor += b
        h0 = x
        h1 = h0 @ w[0]
        h2 = h1 @ w[1]
        out = (h2 @ final)[:, 0]
        g_out = 2 * (out - y) / b
        g_final = h2.T @ g_out[:, None]
        g_h2 = g_out[:, None] @ final.T
        g_w1 = h1.T @ g_h2
        g_h1 = g_h2 @ w[1].T
        g_w0 = h0.T @ g_h1
        g_w = np.stack([g_w0, g_w1])
        sum_w += g_w * g_w
        sum_f += g_final * g_final
        w = w - 0.01 * g_w / (np.sqrt(sum_w) + 1e-10)
        final = final - 0.01 * g_final / (np.sqrt(sum_f) + 1e-10)
    ok = np.allclose(trained["w"], w, rtol=1e-4, atol=1e-6) and np.allclose(trained["final"], final, rtol=1e-4, atol=1e-6)
    ok = ok and np.allclose(trained["adagrad.sum.w"], sum_w, rtol=1e-4, atol=1e-8) and meta.get("step") == "20"
    if not ok:
        r.fail("training: cruncher matches numpy's Adagrad", f"max |dw| {np.abs(trained['w'] - w).max()}, metadata {meta}")
    else:
        r.ok("training: cruncher matches numpy's Adagrad")


def charlm(r, tmp):
    exe = compile_program(r, "examples/charlm.td", tmp)
    if not exe:
        return
    data = os.path.join(tmp, "text")
    p = run(["python3", os.path.join(ROOT, "tools/make_text_data.py"), data])
    if p.returncode != 0:
        r.fail("training: charlm data", p.stderr)
        return
    common = [exe, "train", "--dims", "batch=4", "--seed", "1", "--data", f"{data}/train.bin"]
    straight, half = os.path.join(tmp, "straight.safetensors"), os.path.join(tmp, "half.safetensors")
    log = os.path.join(tmp, "charlm.jsonl")
    a = run(common + ["--steps", "30", "--ckpt", straight, "--log", log, "--log-every", "1"])
    b = run(common + ["--steps", "15", "--ckpt", half]) if a.returncode == 0 else a
    c = run(common + ["--steps", "30", "--resume", half, "--ckpt", half]) if b.returncode == 0 else b
    if c.returncode != 0:
        r.fail("training: charlm", c.stderr)
        return
    losses = [row["loss"] for row in log_of(log)]
    # from ln 256 = 5.5 the byte-level loss falls well within 30 steps
    if not (losses[0] > 5.0 and np.mean(losses[-5:]) < losses[0] - 1.0):
        r.fail("training: charlm's loss falls", f"{losses[0]} -> {losses[-5:]}")
    else:
        r.ok("training: charlm's loss falls")
    if open(straight, "rb").read() != open(half, "rb").read():
        r.fail("training: charlm resumes bit for bit", "15 + 15 steps differ from 30 straight")
    else:
        r.ok("training: charlm resumes bit for bit")
    other = compile_program(r, "examples/linreg.td", tmp)
    p = run([other, "train", "--steps", "1", "--resume", straight]) if other else None
    if p and (p.returncode != 2 or "a checkpoint of another program" not in p.stderr):
        r.fail("training: a checkpoint of another program is refused", f"exit {p.returncode}: {p.stderr}")
    elif p:
        r.ok("training: a checkpoint of another program is refused")
    # measured against planned: the step's FLOPs in info are tdc report's, the log has FLOP/s and MFU, profile times every op
    code, out, err = r.run(["report", "--format=json", "--dims", "batch=4", "examples/charlm.td"])
    planned = sum(o["flops"] for o in json.loads(out)["operations"] if o["function"] == "step") if code == 0 else -1
    info = run([exe, "info", "--dims", "batch=4"]).stdout
    if f"{int(planned)} a step" not in info:
        r.fail("training: info's FLOPs a step are tdc report's", f"report {planned}\n{info}")
    else:
        r.ok("training: info's FLOPs a step are tdc report's")
    mlog = os.path.join(tmp, "mfu.jsonl")
    p = run(common + ["--steps", "3", "--peak", "1e11", "--log", mlog])
    rows = log_of(mlog) if p.returncode == 0 else []
    if not rows or any(abs(row["mfu"] - row["flops_per_s"] / 1e11) > 1e-9 for row in rows):
        r.fail("training: MFU against --peak", f"{p.stderr} {rows}")
    else:
        r.ok("training: MFU against --peak")
    # FLOP/s over the step's time: on the GPU its GPU time (CUDA events, within the wall time), else the wall time
    if rows and any(abs(row["flops_per_s"] * row.get("gpu_ms", row["ms"]) / 1e3 - planned) > 1e-2 * planned
                    for row in rows):
        r.fail("training: FLOP/s are the step's FLOPs over its time", f"planned {planned}: {rows}")
    elif rows:
        r.ok("training: FLOP/s are the step's FLOPs over its time")
    if any("gpu_ms" in row for row in rows):
        if all(0 < row.get("gpu_ms", 0) <= row["ms"] * 1.01 + 0.01 for row in rows):
            r.ok("training: on the GPU each step's GPU time (CUDA events) is logged, within its wall time")
        else:
            r.fail("training: GPU times", f"{rows}")
    p = run([exe, "profile", "--train", "step", "--steps", "2", "--dims", "batch=4", "--data", f"{data}/train.bin"])
    if p.returncode != 0 or "backward contract" not in p.stdout or "operations" not in p.stdout:
        r.fail("training: profile of the step", p.stdout + p.stderr)
    else:
        r.ok("training: profile of the step")
    segments(r, tmp, common)
    tensors, meta = read_checkpoint(straight)
    want = {"embed", "unembed", "adamw.exp_avg.embed", "adamw.exp_avg_sq.wqkv"}
    if not want <= set(tensors) or tensors["embed"].shape != (256, 64) or meta.get("step") != "30":
        r.fail("training: safetensors reads charlm's checkpoint", f"{sorted(tensors)[:8]} {meta}")
    else:
        r.ok("training: safetensors reads charlm's checkpoint")


def segments(r, tmp, common):
    """charlm's step (over 100 KB of C) is compiled in parts as segments, functions of their own called in order:
    the program trains as the one compiled as one translation unit does, bit for bit."""
    c_file = os.path.join(tmp, "charlm_parts.c")
    p = run([r.tdc, "--emit=c", os.path.join(ROOT, "examples/charlm.td"), "-o", c_file], env=dict(os.environ, TDC_C_PARTS="2"))
    if p.returncode != 0 or "/* step: its " not in open(c_file).read():
        r.fail("training: charlm's step in segments", p.stderr or "no segments in the C of parts")
        return
    ckpts = []
    for parts in ("1", "2", "16"):  # 16: finer segments (12 KB)
        exe, ckpt = os.path.join(tmp, f"charlm_{parts}"), os.path.join(tmp, f"charlm_{parts}.safetensors")
        p = run([r.tdc, os.path.join(ROOT, "examples/charlm.td"), "-o", exe], timeout=180, env=dict(os.environ, TDC_C_PARTS=parts))
        q = run([exe] + common[1:] + ["--steps", "3", "--device", "cpu", "--ckpt", ckpt]) if p.returncode == 0 else p
        if q.returncode != 0:
            r.fail(f"training: charlm in {parts} parts", q.stderr)
            return
        ckpts.append(open(ckpt, "rb").read())
    if any(c != ckpts[0] for c in ckpts[1:]):
        r.fail("training: charlm in segments", "3 steps differ from the program compiled as one translation unit")
    else:
        r.ok("training: charlm's step in segments trains as in one translation unit, bit for bit")


def device_follows_cpu(r, name, common, steps, rtol, precision, tmp):
    """Trains `common` for `steps` on the CPU and the default device (checkpointing the latter); each loss on the
    device within rtol (relative) of the CPU's, and the CPU's falling by half. The device's checkpoint's path, or
    None when a run failed."""
    straight = os.path.join(tmp, f"{name}{steps}.safetensors")
    logs = {dev: os.path.join(tmp, f"{name}_{dev}.jsonl") for dev in ("cpu", "auto")}
    for dev, log in logs.items():
        p = run(common + ["--steps", str(steps), "--device", dev, "--log", log, "--log-every", "1"] +
                (["--ckpt", straight] if dev == "auto" else []))
        if p.returncode != 0:
            r.fail(f"training: {name} on --device {dev}", p.stderr)
            return None
    cpu, dev = [row["loss"] for row in log_of(logs["cpu"])], [row["loss"] for row in log_of(logs["auto"])]
    full = len(cpu) == len(dev) == steps
    worst = max(abs(a - b) / max(abs(a), 1e-3) for a, b in zip(cpu, dev)) if full else float("inf")
    if not (worst < rtol and cpu[-1] < 0.5 * cpu[0]):
        r.fail(f"training: {name}'s losses on the default device follow the CPU's",
               f"worst relative difference {worst}; cpu {cpu[0]} -> {cpu[-1]}, device {dev[0] if dev else None} -> {dev[-1] if dev else None}")
    else:
        r.ok(f"training: {name}'s losses on the default device follow the CPU's ({precision}) and fall")
    return straight


def resumes_bit_for_bit(r, name, common, steps, straight, tmp):
    """Half the steps, then the rest resumed from that checkpoint: the same bytes as the straight run's."""
    half = os.path.join(tmp, f"{name}{steps // 2}.safetensors")
    b = run(common + ["--steps", str(steps // 2), "--ckpt", half])
    c = run(common + ["--steps", str(steps), "--resume", half, "--ckpt", half]) if b.returncode == 0 else b
    if c.returncode != 0:
        r.fail(f"training: {name} resumed", c.stderr)
    elif open(straight, "rb").read() != open(half, "rb").read():
        r.fail(f"training: {name} resumes bit for bit", f"{steps // 2} + {steps - steps // 2} steps differ from {steps} straight")
    else:
        r.ok(f"training: {name} resumes bit for bit")


def mixed(r, tmp):
    """tests/training/mixed.td, f32 weights cast to bf16 for their products: on the GPU (the default device where
    there is one) the casts read a bf16 copy the optimizer keeps and a checkpoint's load rewrites. Its losses follow
    the CPU's, where the casts run each step (to bf16's precision: the products sum in other orders); a run resumed
    from a checkpoint ends bit for bit where the straight one does (a copy the optimizer left stale, or a load did
    not rewrite, would part them); and `run forward` from the checkpoint agrees with the CPU's."""
    exe = compile_program(r, "tests/training/mixed.td", tmp)
    if not exe:
        return
    rng = np.random.default_rng(1)
    xs = rng.standard_normal((64, 32)).astype(np.float32)
    ys = (xs @ rng.standard_normal(32) / 6).astype(np.float32)
    np.save(os.path.join(tmp, "mx.npy"), xs)
    np.save(os.path.join(tmp, "my.npy"), ys)
    common = [exe, "train", "--dims", "batch=16", "--seed", "2", "--data", f"x={tmp}/mx.npy", "--data", f"y={tmp}/my.npy",
              "--sequential"]
    straight = device_follows_cpu(r, "mixed", common, 30, 0.05, "within bf16's precision", tmp)
    if not straight:
        return
    resumes_bit_for_bit(r, "mixed", common, 30, straight, tmp)
    outs = {dev: os.path.join(tmp, f"mixed_out_{dev}.npy") for dev in ("cpu", "auto")}
    for dev, out in outs.items():
        p = run([exe, "run", "forward", "--dims", "batch=64", "--params", straight, "--in", f"x={tmp}/mx.npy", "--out", out,
                 "--device", dev])
        if p.returncode != 0:
            r.fail(f"training: mixed's forward on --device {dev}", p.stderr)
            return
    a, b = np.load(outs["cpu"]), np.load(outs["auto"])
    if not np.allclose(a, b, rtol=2e-2, atol=2e-2 * np.abs(a).max()):
        r.fail("training: mixed's forward from the checkpoint on the default device is the CPU's", f"max |diff| {np.abs(a - b).max()}")
    else:
        r.ok("training: mixed's forward from the checkpoint on the default device is the CPU's (within bf16's precision)")


def mlp(r, tmp):
    """tests/training/mlp.td, products with bias and relu epilogues: on the default device (the GPU where there is
    one: cuBLASLt's epilogue, and the runtime's own pass) its f32 losses follow the CPU's to the sums' rounding, the
    loss falls, and a run resumed from a checkpoint ends bit for bit where the straight one does."""
    exe = compile_program(r, "tests/training/mlp.td", tmp)
    if not exe:
        return
    rng = np.random.default_rng(5)
    xs = rng.standard_normal((256, 64)).astype(np.float32)
    ys = np.maximum(xs @ rng.standard_normal(64) / 8, 0).astype(np.float32)
    np.save(os.path.join(tmp, "px.npy"), xs)
    np.save(os.path.join(tmp, "py.npy"), ys)
    common = [exe, "train", "--dims", "batch=64", "--seed", "4", "--data", f"x={tmp}/px.npy", "--data", f"y={tmp}/py.npy",
              "--sequential"]
    # f32 throughout: the products' sums in other orders, carried 20 steps
    straight = device_follows_cpu(r, "mlp", common, 20, 1e-3, "to 1e-3", tmp)
    if straight:
        resumes_bit_for_bit(r, "mlp", common, 20, straight, tmp)


def run_suite(r):
    with tempfile.TemporaryDirectory() as tmp:
        linreg(r, tmp)
        cruncher(r, tmp)
        charlm(r, tmp)
        mixed(r, tmp)
        mlp(r, tmp)


run_all = run_suite


def run(r_or_cmd, timeout=300, env=None):  # noqa: F811 - the suite entry point and the subprocess helper share a name
    if isinstance(r_or_cmd, list):
        return subprocess.run(r_or_cmd, capture_output=True, text=True, timeout=timeout, env=env)
    run_suite(r_or_cmd)
