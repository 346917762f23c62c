"""checkpoint_oracle.py - training checkpoints (runtime/checkpoint.c) read
and written by a safetensors reader and writer in pure Python, and
tools/plot_metrics.py.

The C side is tests/runtime/checkpoint_probe_main.c: a hand-written model
"probe" (params w: f32[3], b: f64 scalar, d: f32[2]; train blocks "fit",
SGD with momentum 0.9 and weight decay 0.01 on w only, and "aux", Adam on
d), compiled with the runtime sources it needs and driven one command a
line. Checked here:
  - A checkpoint C writes after N steps of fit parses as safetensors with
    Python's json and struct alone: exactly the tensors w, b, d,
    fit.sgd.momentum_buffer.{w,b}, aux.adam.exp_avg.d and
    aux.adam.exp_avg_sq.d with their dtypes and shapes, data offsets that
    tile the data, and the metadata keys format, tdc_model, program_hash,
    step, seed, rng_offset, data_cursor, dims and hparams.{fit,aux} (dims and
    hparams as JSON).
  - Its values: the params and momentum buffers equal torch's SGD rule
    (buf = g on the first step, then 0.9 buf + g; g with 0.01 p for w) run
    here in float64 on the same batch, within 1e-5 (f32 against f64);
    Adam's untouched state is zeros.
  - A checkpoint Python writes (other values, step, seed, offset, cursor)
    loads in C bit for bit; one with another program_hash, a missing
    tensor or a wrong shape is refused with the file named.
  - tools/plot_metrics.py draws a JSONL and a CSV log to PNG files when
    matplotlib imports (skipped otherwise), and says what to install when it
    does not.
"""
import json
import os
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import probe  # noqa: E402

NAME = "checkpoint oracle"
ROOT = probe.ROOT
SOURCES = ["tests/runtime/checkpoint_probe_main.c", "runtime/ctx.c", "runtime/dtype.c", "runtime/rng.c",
           "runtime/npy.c", "runtime/safetensors.c", "runtime/file_io.c", "runtime/optim.c", "runtime/model.c",
           "runtime/train.c", "runtime/checkpoint.c",
           # model.c and train.c run models on the GPU too
           "runtime/cuda/loader.c", "runtime/cuda/nvrtc.c", "runtime/cuda/cache.c", "runtime/cuda/device.c",
           "runtime/cuda/optim.c", "runtime/cuda/gemm.c", "runtime/cuda/gemm_tune.c", "runtime/cuda/step.c",
           "runtime/cuda/profile.c", "runtime/gemm.c", "runtime/gemm_shape.c"]
FORMATS = {"F32": ("<f", 4), "F64": ("<d", 8)}
EXPECTED = {"w": ("F32", [3]), "b": ("F64", []), "d": ("F32", [2]),
            "fit.sgd.momentum_buffer.w": ("F32", [3]), "fit.sgd.momentum_buffer.b": ("F64", []),
            "aux.adam.exp_avg.d": ("F32", [2]), "aux.adam.exp_avg_sq.d": ("F32", [2])}
META_KEYS = {"format", "tdc_model", "program_hash", "step", "seed", "rng_offset", "data_cursor", "dims",
             "hparams.fit", "hparams.aux"}
ORDER = ["w", "b", "d", "fit.sgd.momentum_buffer.w", "fit.sgd.momentum_buffer.b", "aux.adam.exp_avg.d",
         "aux.adam.exp_avg_sq.d"]


def st_read(path):
    """(header without metadata, metadata, {name: list of floats}); raises on any fault."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack_from("<Q", raw, 0)
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    data = raw[8 + n:]
    spans = sorted(tuple(e["data_offsets"]) for e in header.values())
    pos = 0
    for begin, end in spans:
        if begin != pos:
            raise ValueError(f"data offsets do not tile the data at {begin}")
        pos = end
    if pos != len(data):
        raise ValueError("bytes after the last tensor")
    values = {}
    for name, e in header.items():
        fmt, size = FORMATS[e["dtype"]]
        begin, end = e["data_offsets"]
        count = 1
        for d in e["shape"]:
            count *= d
        if end - begin != count * size:
            raise ValueError(f"{name}: {end - begin} bytes for {count} elements")
        values[name] = [struct.unpack_from(fmt, data, begin + k * size)[0] for k in range(count)]
    return header, meta, values


def st_write(path, tensors, meta):
    """tensors: [(name, dtype, shape, floats)], written in the given order."""
    header, blobs, offset = {"__metadata__": meta}, [], 0
    for name, dtype, shape, vals in tensors:
        fmt, size = FORMATS[dtype]
        blob = b"".join(struct.pack(fmt, v) for v in vals)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def simulate(batch, steps):
    """torch's SGD (momentum 0.9, weight decay 0.01 on w) on the probe's batch, in float64."""
    x = [[f32((3 * i + f + 1) / 10.0 - 0.5) for f in range(3)] for i in range(batch)]
    y = [f32(i / 4.0 - 0.3) for i in range(batch)]
    w, b = [f32(0.1), f32(-0.2), f32(0.3)], 0.05
    bw, bb = None, None
    for _ in range(steps):
        r = [sum(x[i][f] * w[f] for f in range(3)) + b - y[i] for i in range(batch)]
        gw = [sum(2 * r[i] * x[i][f] for i in range(batch)) / batch + 0.01 * w[f] for f in range(3)]
        gb = sum(2 * r[i] for i in range(batch)) / batch
        bw = gw if bw is None else [0.9 * bw[f] + gw[f] for f in range(3)]
        bb = gb if bb is None else 0.9 * bb + gb
        w = [w[f] - 0.1 * bw[f] for f in range(3)]
        b = b - 0.1 * bb
    return w, b, bw, bb


def check_written(r, exe, tmp):
    path = os.path.join(tmp, "c.safetensors")
    answer = probe.run_probe(exe, [f"train 4 5 {path}"])[0]
    if answer != "ok 5":
        r.fail(NAME, f"the probe's training: {answer}")
        return None
    try:
        header, meta, values = st_read(path)
    except (ValueError, KeyError, struct.error, json.JSONDecodeError) as e:
        r.fail(NAME, f"Python cannot read the checkpoint C wrote: {e}")
        return None
    got = {k: (v["dtype"], v["shape"]) for k, v in header.items()}
    if got != EXPECTED:
        r.fail(NAME, f"tensors {got}, expected {EXPECTED}")
    else:
        r.ok("checkpoint tensor names, dtypes and shapes")
    problems = []
    if set(meta) != META_KEYS:
        problems.append(f"metadata keys {sorted(meta)}")
    expect = {"format": "tdc checkpoint 1", "tdc_model": "probe", "program_hash": "probe-hash-1", "step": "5",
              "seed": "7", "rng_offset": "0", "data_cursor": "0"}
    problems += [f"{k} = {meta.get(k)!r}, not {v!r}" for k, v in expect.items() if meta.get(k) != v]
    try:
        if json.loads(meta["dims"]) != {"batch": 4, "feat": 3}:
            problems.append(f"dims {meta['dims']}")
        fit, aux = json.loads(meta["hparams.fit"]), json.loads(meta["hparams.aux"])
        want_fit = {"optimizer": "sgd", "lr": 0.1, "weight_decay": 0.01, "momentum": 0.9, "dampening": 0,
                    "nesterov": False, "schedule": "constant", "warmup": 0, "clip": 0}
        if fit != want_fit or aux.get("optimizer") != "adam" or aux.get("beta2") != 0.999:
            problems.append(f"hparams {fit} {aux}")
    except (KeyError, json.JSONDecodeError) as e:
        problems.append(f"metadata JSON: {e}")
    if problems:
        r.fail(NAME, "checkpoint metadata: " + "; ".join(problems))
    else:
        r.ok("checkpoint metadata")
    w, b, bw, bb = simulate(4, 5)
    want = {"w": w, "b": [b], "d": [1.0, -1.0], "fit.sgd.momentum_buffer.w": bw, "fit.sgd.momentum_buffer.b": [bb],
            "aux.adam.exp_avg.d": [0.0, 0.0], "aux.adam.exp_avg_sq.d": [0.0, 0.0]}
    bad = [(k, values.get(k), v) for k, v in want.items()
           if values.get(k) is None or len(values[k]) != len(v)
           or any(abs(a - e) > 1e-5 * max(1.0, abs(e)) for a, e in zip(values[k], v))]
    if bad:
        r.fail(NAME, f"checkpoint values differ from torch's SGD rule in float64: {bad[:2]}")
    else:
        r.ok("checkpoint values are 5 steps of torch's SGD with momentum")
    return header


def bits(dtype, v):
    if dtype == "F64":
        return "%016x" % struct.unpack("<Q", struct.pack("<d", v))[0]
    return "%08x" % struct.unpack("<I", struct.pack("<f", v))[0]


def check_read(r, exe, tmp):
    tensors = [("w", "F32", [3], [0.5, -1.25, 3.0]), ("b", "F64", [], [0.1]), ("d", "F32", [2], [2.0, 4.0]),
               ("fit.sgd.momentum_buffer.w", "F32", [3], [1e-3, 2e-3, -3e-3]),
               ("fit.sgd.momentum_buffer.b", "F64", [], [1 / 3]),
               ("aux.adam.exp_avg.d", "F32", [2], [0.25, 0.5]), ("aux.adam.exp_avg_sq.d", "F32", [2], [1e-8, 2e-8])]
    meta = {"format": "tdc checkpoint 1", "tdc_model": "probe", "program_hash": "probe-hash-1", "step": "7",
            "seed": "18446744073709551615", "rng_offset": "1234", "data_cursor": "99"}
    good = os.path.join(tmp, "py.safetensors")
    st_write(good, list(reversed(tensors)), meta)  # any order of data reads the same
    values = {n: (d, v) for n, d, _, v in tensors}
    want = "ok 7 18446744073709551615 1234 99 " + " ".join(bits(values[n][0], x) for n in ORDER for x in values[n][1])
    variants = [("another program", dict(meta, program_hash="other"), tensors, "a checkpoint of another program"),
                ("a missing tensor", meta, tensors[:-1], "no tensor 'aux.adam.exp_avg_sq.d'"),
                ("a wrong shape", meta, [("w", "F32", [4], [0.0] * 4)] + tensors[1:], "tensor 'w' is f32[4]")]
    commands = [f"load 4 {good}"]
    for i, (_, m, t, _) in enumerate(variants):
        st_write(os.path.join(tmp, f"bad{i}.safetensors"), t, m)
        commands.append(f"load 4 {os.path.join(tmp, f'bad{i}.safetensors')}")
    answers = probe.run_probe(exe, commands)
    if answers[0] != want:
        r.fail(NAME, f"a Python-written checkpoint loads as\n  {answers[0]}\nnot\n  {want}")
    else:
        r.ok("a Python-written checkpoint loads bit for bit")
    for i, ((label, _, _, words), answer) in enumerate(zip(variants, answers[1:])):
        path = os.path.join(tmp, f"bad{i}.safetensors")
        if not answer.startswith(f"error {path}: ") or words not in answer:
            r.fail(NAME, f"{label}: expected an error naming {path} with '{words}', got '{answer}'")
        else:
            r.ok(f"refuses {label}")


def check_plot(r, tmp):
    tool = os.path.join(ROOT, "tools", "plot_metrics.py")
    jsonl, csv = os.path.join(tmp, "m.jsonl"), os.path.join(tmp, "m.csv")
    with open(jsonl, "w") as f:
        for s in range(1, 21):
            row = {"step": s, "loss": 3.0 / s, "lr": 0.01, "grad_norm": 1.0, "ms": 2.5, "tokens_per_s": 1000.0}
            if s % 5 == 0:
                row["val_loss"] = 3.2 / s
            f.write(json.dumps(row) + "\n")
    with open(csv, "w") as f:
        f.write("step,loss,lr,grad_norm,ms,rows_per_s,val_loss\n")
        for s in range(1, 11):
            f.write(f"{s},{2.0 / s},0.1,0.5,1.0,80.0,{'' if s % 2 else 2.1 / s}\n")
    # without matplotlib: one clear line and exit 2
    fake = os.path.join(tmp, "nompl")
    os.makedirs(os.path.join(fake, "matplotlib"), exist_ok=True)
    with open(os.path.join(fake, "matplotlib", "__init__.py"), "w") as f:
        f.write("raise ImportError('no matplotlib here')\n")
    env = dict(os.environ, PYTHONPATH=fake)
    p = subprocess.run([sys.executable, tool, jsonl, "-o", os.path.join(tmp, "x.png")], capture_output=True, text=True,
                       env=env, timeout=120)
    if p.returncode != 2 or "matplotlib is not installed: pip install matplotlib" not in p.stderr:
        r.fail(NAME, f"plot_metrics.py without matplotlib: exit {p.returncode}, stderr {p.stderr!r}")
    else:
        r.ok("plot_metrics.py says to install matplotlib")
    p = subprocess.run([sys.executable, tool, os.path.join(tmp, "none.jsonl")], capture_output=True, text=True,
                       timeout=120)
    if p.returncode != 2 or "none.jsonl: cannot read" not in p.stderr:
        r.fail(NAME, f"plot_metrics.py on a missing file: exit {p.returncode}, stderr {p.stderr!r}")
    else:
        r.ok("plot_metrics.py names a missing file")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        r.skipped += 1
        print(f"skip {NAME}: matplotlib is not installed, so plot_metrics.py is not drawn")
        return
    for src, out, extra in ((jsonl, os.path.join(tmp, "j.png"), []), (csv, os.path.join(tmp, "c.png"), ["--log-y"]),
                            (jsonl, os.path.join(tmp, "both.png"), [csv])):
        p = subprocess.run([sys.executable, tool, src] + extra + ["-o", out], capture_output=True, text=True,
                           timeout=300)
        ok = p.returncode == 0 and os.path.exists(out) and open(out, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
        if not ok:
            r.fail(NAME, f"plot_metrics.py {os.path.basename(src)} {extra}: exit {p.returncode}\n{p.stderr[-2000:]}")
        else:
            r.ok(f"plot_metrics.py draws {os.path.basename(out)}")


def run(r, build_dir):
    with tempfile.TemporaryDirectory() as tmp:
        exe = probe.compile_probe(r, NAME, build_dir, tmp, SOURCES + [os.path.join(build_dir, "gen", "optim_kernels_text.c")],
                                  libs=("-lopenblas", "-lm", "-ldl"))
        if exe is not None:
            try:
                check_written(r, exe, tmp)
                check_read(r, exe, tmp)
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                r.fail(NAME, str(e))
        check_plot(r, tmp)
