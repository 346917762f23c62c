"""optim_oracle.py - runtime/optim.c against torch.optim's own trajectories.

torch is not needed here: tests/runtime/optim_reference.py ran torch 2.11
(CPU, foreach=False) once and its output is committed as
tests/runtime/optim_ref/optim_ref.npz (run it again, on a machine with
torch, after changing its configs). For every config there (SGD plain,
momentum, nesterov, dampening, weight decay; AdaGrad with lr_decay,
initial_accumulator_value and weight decay; RMSprop plain, momentum,
centered, weight decay, alpha below 0.5; Adam plain, amsgrad, weight decay,
beta1 below 0.5; AdamW plain, amsgrad, a learning rate per step) and each
dtype, tests/runtime/optim_probe_main.c replays the same initial param and
ten gradients through td_optim_init_state and td_optim_update, and this
compares, each a check:

  the trajectory   the param after each of the 10 steps
  the state        every state slot after each step, slot names and order
                   as torch's state dict (its "step" aside)
Tolerances, per element, |ours - torch| <= atol + rtol |torch|:
  f32   rtol 1e-6, atol 1e-7 (a few f32 roundings, where torch's build
        fuses a multiply-add that ours does not)
  f64   rtol 1e-12, atol 1e-14
Also each kind's td_optim_defaults against torch's constructor defaults
(exactly), and td_clip_grad_norm against torch.nn.utils.clip_grad_norm_ on
four gradients, clipping and not (total norm rtol 1e-6 for f32, where torch
sums per-tensor norms in f32 and we square in double; 1e-12 for f64; the
clipped gradients with the trajectories' tolerances).
"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import probe  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NAME = "optim oracle"
REF = os.path.join(ROOT, "tests/runtime/optim_ref/optim_ref.npz")
TOL = {"f32": (1e-6, 1e-7), "f64": (1e-12, 1e-14)}
FIELDS = ["lr", "weight_decay", "momentum", "dampening", "nesterov", "beta1", "beta2", "eps", "amsgrad", "lr_decay",
          "initial_accumulator_value", "alpha", "centered"]


def compile_probe(r, build_dir, tmp):
    return probe.compile_probe(r, NAME, build_dir, tmp, ["tests/runtime/optim_probe_main.c", "runtime/optim.c",
                                                         "runtime/dtype.c", "runtime/ctx.c"])


def run(r, build_dir):
    try:
        import numpy as np
    except ImportError:
        r.fail(NAME, "numpy is missing: pip install numpy (tools/deps.sh installs it)")
        return
    if not os.path.exists(REF):
        r.fail(NAME, f"{REF} is missing: run tests/runtime/optim_reference.py OUT_DIR where torch is installed")
        return
    ref = np.load(REF, allow_pickle=False)
    meta = json.loads(str(ref["meta"]))
    with tempfile.TemporaryDirectory() as tmp:
        exe = compile_probe(r, build_dir, tmp)
        if exe is None:
            return
        try:
            defaults(r, exe, meta)
            trajectories(r, np, exe, tmp, ref, meta)
            clipping(r, np, exe, tmp, ref, meta)
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            r.fail(NAME, str(e))


def close(np, got, want, dt):
    """None, or a message naming the worst element."""
    rtol, atol = TOL[dt]
    err = np.abs(got.astype(np.float64) - want.astype(np.float64))
    bound = atol + rtol * np.abs(want.astype(np.float64))
    if np.all(err <= bound) and np.array_equal(np.isnan(got), np.isnan(want)):
        return None
    i = np.unravel_index(np.argmax(err / bound), err.shape)
    return (f"element {tuple(int(x) for x in i)}: ours {got[i]!r}, torch {want[i]!r} "
            f"(|diff| {err[i]:.3g} > {bound[i]:.3g}: rtol {rtol}, atol {atol})")


def defaults(r, exe, meta):
    kinds = ["sgd", "adagrad", "rmsprop", "adam", "adamw"]
    torch_defaults = meta.get("defaults", {})
    for kind, answer in zip(kinds, probe.run_probe(exe, [f"defaults {k}" for k in kinds])):
        ours = dict(kv.split("=") for kv in answer.split()[1:])
        want = dict(torch_defaults.get(kind, {}))
        if "betas" in want:
            want["beta1"], want["beta2"] = want.pop("betas")
        bad = [f"{k}: ours {ours[k]}, torch {want[k]}" for k in FIELDS
               if k in want and float(ours[k]) != float(want[k])]
        if not answer.startswith("ok ") or not want or bad:
            r.fail(NAME, f"td_optim_defaults({kind}) differs from torch's: {bad or answer}")
        else:
            r.ok(f"defaults {kind}")


def command(config, dt, steps, n, inp, out):
    words = [f"run {dt} {n} {steps} {inp} {out}", f"kind={config['kind']}"]
    for key, value in config.items():
        if key in ("name", "kind"):
            continue
        if key == "lrs":
            words.append("lrs=" + ",".join(repr(float(x)) for x in value))
        else:
            words.append(f"{key}={int(value) if isinstance(value, bool) else repr(float(value))}")
    return " ".join(words)


def trajectories(r, np, exe, tmp, ref, meta):
    steps, n = meta["steps"], meta["n"]
    cases, commands = [], []
    for dt in ("f32", "f64"):
        inp = os.path.join(tmp, f"in_{dt}")
        np.concatenate([ref[f"param0_{dt}"][None, :], ref[f"grads_{dt}"]]).tofile(inp)
        for config in meta["configs"]:
            name = config["name"]
            if f"{name}_{dt}" not in ref.files:
                r.fail(NAME, f"{name} {dt}: the reference has no trajectory (see its meta 'errors')")
                continue
            out = os.path.join(tmp, f"out_{name}_{dt}")
            cases.append((name, dt, out))
            commands.append(command(config, dt, steps, n, inp, out))
    for (name, dt, out), answer in zip(cases, probe.run_probe(exe, commands)):
        label = f"{name} {dt}"
        keys = meta["state_keys"][name]
        if answer != " ".join(["ok", str(len(keys))] + keys):
            r.fail(NAME, f"{label}: the probe says '{answer}', torch's state is {keys}")
            continue
        npdt = np.float32 if dt == "f32" else np.float64
        got = np.fromfile(out, dtype=npdt).reshape(steps, 1 + len(keys), n)
        bad = close(np, got[:, 0, :], ref[f"{name}_{dt}"], dt)
        report(r, f"{label} trajectory", bad)
        if keys:
            bad = close(np, got[:, 1:, :].transpose(1, 0, 2), ref[f"{name}_{dt}_state"], dt)
            report(r, f"{label} state {keys}", bad)


def report(r, label, bad):
    if bad:
        r.fail(NAME, f"{label}: {bad}")
    else:
        r.ok(label)


def clipping(r, np, exe, tmp, ref, meta):
    sizes = meta["clip_sizes"]
    cases, commands = [], []
    for dt in ("f32", "f64"):
        inp = os.path.join(tmp, f"clip_in_{dt}")
        ref[f"clip_{dt}_in"].tofile(inp)
        for k, max_norm in enumerate(meta["clip_max_norms"]):
            out = os.path.join(tmp, f"clip_out_{dt}_{k}")
            cases.append((dt, k, max_norm, out))
            commands.append(f"clip {dt} {max_norm!r} {inp} {out} " + " ".join(str(s) for s in sizes))
    for (dt, k, max_norm, out), answer in zip(cases, probe.run_probe(exe, commands)):
        label = f"clip_grad_norm {dt} max_norm {max_norm}"
        if not answer.startswith("ok "):
            r.fail(NAME, f"{label}: the probe says '{answer}'")
            continue
        total, want_total = float(answer.split()[1]), float(ref[f"clip_{dt}_{k}_total"])
        rtol = 1e-6 if dt == "f32" else 1e-12
        if abs(total - want_total) > rtol * abs(want_total):
            r.fail(NAME, f"{label}: total norm {total!r}, torch {want_total!r} (rtol {rtol})")
            continue
        npdt = np.float32 if dt == "f32" else np.float64
        report(r, label, close(np, np.fromfile(out, dtype=npdt), ref[f"clip_{dt}_{k}"], dt))
