#!/usr/bin/env python3
"""optim_reference.py - torch.optim's trajectories, the reference that
tests/runtime/optim_oracle.py replays through runtime/optim.c.

  python3 tests/runtime/optim_reference.py OUT_DIR

needs torch (and numpy) and writes OUT_DIR/optim_ref.npz, which is committed
as tests/runtime/optim_ref/optim_ref.npz, and OUT_DIR/torch_sources.txt (the
source of the single-tensor functions it ran, to read against optim.c; not
committed). Each config of CONFIGS runs 10 steps of one optimizer on a
parameter of 7 elements, in float32 and in float64, on the CPU, with
foreach=False (torch's _single_tensor_* functions). The gradients and the
initial parameter come from numpy with a fixed seed (not from torch's RNG),
so the inputs are the same on every machine; float32 gets the float64
values rounded once.

The .npz holds (all arrays small):
  meta            a JSON string: torch's version, every config (in the
                  runtime's names: td_optim_hparams' fields, plus "lrs" when
                  the learning rate changes from step to step, as a
                  schedule sets it), the order of torch's state keys per
                  config, and torch's defaults per optimizer
  param0_<dt>     [7] the initial parameter (dt f32 or f64)
  grads_<dt>      [10, 7] the gradient of each step
  <name>_<dt>     [10, 7] the parameter after each step
  <name>_<dt>_state  [slots, 10, 7] each state tensor after each step, in
                  the order of torch's state dict (its "step" left out)
  clip_<dt>_*     torch.nn.utils.clip_grad_norm_ on four gradients (see
                  clip_cases)
"""
import inspect
import json
import os
import sys

import numpy as np

SEED = 20240613
STEPS, N = 10, 7

# Names and fields as runtime/td.h's td_optim_hparams; unset fields take
# torch's defaults.
CONFIGS = [
    {"name": "sgd_plain", "kind": "sgd", "lr": 0.1},
    {"name": "sgd_momentum", "kind": "sgd", "lr": 0.05, "momentum": 0.9},
    {"name": "sgd_nesterov", "kind": "sgd", "lr": 0.05, "momentum": 0.9, "nesterov": True},
    {"name": "sgd_dampening", "kind": "sgd", "lr": 0.05, "momentum": 0.8, "dampening": 0.3},
    {"name": "sgd_weight_decay", "kind": "sgd", "lr": 0.1, "weight_decay": 0.1},
    {"name": "sgd_momentum_weight_decay", "kind": "sgd", "lr": 0.05, "momentum": 0.9, "weight_decay": 0.05,
     "nesterov": True},
    {"name": "adagrad_plain", "kind": "adagrad", "lr": 0.1},
    {"name": "adagrad_all", "kind": "adagrad", "lr": 0.1, "lr_decay": 0.05, "initial_accumulator_value": 0.2,
     "weight_decay": 0.05, "eps": 1e-6},
    {"name": "rmsprop_plain", "kind": "rmsprop", "lr": 0.01},
    {"name": "rmsprop_momentum", "kind": "rmsprop", "lr": 0.01, "momentum": 0.9},
    {"name": "rmsprop_centered", "kind": "rmsprop", "lr": 0.01, "centered": True},
    {"name": "rmsprop_weight_decay", "kind": "rmsprop", "lr": 0.01, "weight_decay": 0.1},
    {"name": "rmsprop_all", "kind": "rmsprop", "lr": 0.01, "alpha": 0.9, "eps": 1e-6, "momentum": 0.5,
     "centered": True, "weight_decay": 0.02},
    {"name": "rmsprop_low_alpha", "kind": "rmsprop", "lr": 0.01, "alpha": 0.4, "centered": True},
    {"name": "adam_plain", "kind": "adam", "lr": 0.05},
    {"name": "adam_amsgrad", "kind": "adam", "lr": 0.05, "amsgrad": True},
    {"name": "adam_weight_decay", "kind": "adam", "lr": 0.05, "weight_decay": 0.1},
    {"name": "adam_all", "kind": "adam", "lr": 0.02, "beta1": 0.8, "beta2": 0.99, "eps": 1e-6, "amsgrad": True,
     "weight_decay": 0.05},
    {"name": "adam_low_beta1", "kind": "adam", "lr": 0.05, "beta1": 0.3, "beta2": 0.9},
    {"name": "adamw_plain", "kind": "adamw", "lr": 0.05},
    {"name": "adamw_amsgrad", "kind": "adamw", "lr": 0.05, "weight_decay": 0.1, "amsgrad": True},
    {"name": "adamw_schedule", "kind": "adamw", "lr": 0.05, "weight_decay": 0.1,
     "lrs": [0.01, 0.02, 0.03, 0.04, 0.05, 0.05, 0.04, 0.03, 0.02, 0.01]},
]


def inputs():
    """The initial parameter and the ten gradients, float64; one gradient
    element is exactly 0 in a few steps (eps then carries the division)."""
    rng = np.random.default_rng(SEED)
    param0 = rng.normal(0.0, 1.0, size=N) + np.sign(rng.normal(size=N)) * 0.5
    grads = rng.normal(0.0, 1.0, size=(STEPS, N)) * np.array([1.0, 0.1, 3.0, 0.5, 1.0, 2.0, 0.01])
    grads[[2, 5, 6], 4] = 0.0
    return param0, grads


def make_optimizer(torch, c, p):
    kind = c["kind"]
    lr = c["lr"]
    if kind == "sgd":
        return torch.optim.SGD([p], lr=lr, momentum=c.get("momentum", 0.0), dampening=c.get("dampening", 0.0),
                               weight_decay=c.get("weight_decay", 0.0), nesterov=c.get("nesterov", False),
                               foreach=False)
    if kind == "adagrad":
        return torch.optim.Adagrad([p], lr=lr, lr_decay=c.get("lr_decay", 0.0),
                                   weight_decay=c.get("weight_decay", 0.0),
                                   initial_accumulator_value=c.get("initial_accumulator_value", 0.0),
                                   eps=c.get("eps", 1e-10), foreach=False)
    if kind == "rmsprop":
        return torch.optim.RMSprop([p], lr=lr, alpha=c.get("alpha", 0.99), eps=c.get("eps", 1e-8),
                                   weight_decay=c.get("weight_decay", 0.0), momentum=c.get("momentum", 0.0),
                                   centered=c.get("centered", False), foreach=False)
    betas = (c.get("beta1", 0.9), c.get("beta2", 0.999))
    if kind == "adam":
        return torch.optim.Adam([p], lr=lr, betas=betas, eps=c.get("eps", 1e-8),
                                weight_decay=c.get("weight_decay", 0.0), amsgrad=c.get("amsgrad", False),
                                foreach=False)
    if kind == "adamw":
        return torch.optim.AdamW([p], lr=lr, betas=betas, eps=c.get("eps", 1e-8),
                                 weight_decay=c.get("weight_decay", 1e-2), amsgrad=c.get("amsgrad", False),
                                 foreach=False)
    raise ValueError(kind)


def run_config(torch, c, dtype, param0, grads):
    p = torch.nn.Parameter(torch.tensor(param0, dtype=dtype))
    opt = make_optimizer(torch, c, p)
    traj, states, keys = [], [], None
    for t in range(STEPS):
        if "lrs" in c:
            for group in opt.param_groups:
                group["lr"] = c["lrs"][t]
        p.grad = torch.tensor(grads[t], dtype=dtype)
        opt.step()
        traj.append(p.detach().clone().numpy())
        state = opt.state[p]
        keys = [k for k, v in state.items() if k != "step" and torch.is_tensor(v)]
        states.append([state[k].detach().clone().numpy() for k in keys])
    st = np.array(states).transpose(1, 0, 2) if keys else np.zeros((0, STEPS, N), dtype=traj[0].dtype)
    return np.array(traj), st, keys


CLIP_SIZES = [5, 1, 3, 8]
CLIP_MAX_NORMS = [1.0, 1e3]


def clip_cases(torch, dtype, npdt, arrays):
    """torch.nn.utils.clip_grad_norm_ (norm 2) over four gradients, once
    clipping (max_norm 1) and once not (1e3): clip_<dt>_in [20] the
    gradients end to end, clip_<dt>_<k> [20] them afterwards and
    clip_<dt>_<k>_total [] the norm it returned."""
    rng = np.random.default_rng(SEED + 1)
    flat = (rng.normal(size=sum(CLIP_SIZES)) * 2.0).astype(npdt)
    dt = "f32" if npdt == np.float32 else "f64"
    arrays[f"clip_{dt}_in"] = flat
    for k, max_norm in enumerate(CLIP_MAX_NORMS):
        ps, at = [], 0
        for size in CLIP_SIZES:
            p = torch.nn.Parameter(torch.zeros(size, dtype=dtype))
            p.grad = torch.tensor(flat[at:at + size], dtype=dtype)
            ps.append(p)
            at += size
        total = torch.nn.utils.clip_grad_norm_(ps, max_norm, norm_type=2.0, foreach=False)
        arrays[f"clip_{dt}_{k}"] = np.concatenate([p.grad.numpy() for p in ps]).astype(npdt)
        arrays[f"clip_{dt}_{k}_total"] = np.array(float(total), dtype=np.float64)


def defaults(torch):
    p = torch.nn.Parameter(torch.zeros(1))
    out = {}
    for kind, cls in [("sgd", torch.optim.SGD), ("adagrad", torch.optim.Adagrad), ("rmsprop", torch.optim.RMSprop),
                      ("adam", torch.optim.Adam), ("adamw", torch.optim.AdamW)]:
        d = cls([p]).defaults
        out[kind] = {k: (list(v) if isinstance(v, tuple) else v) for k, v in d.items()
                     if isinstance(v, (int, float, bool, tuple)) and not isinstance(v, type(None))}
    return out


def sources(torch):
    parts = [f"torch {torch.__version__}\n"]
    import torch.optim.adagrad as adagrad
    import torch.optim.adam as adam
    import torch.optim.rmsprop as rmsprop
    import torch.optim.sgd as sgd
    for mod, fn in [(sgd, "_single_tensor_sgd"), (adagrad, "_single_tensor_adagrad"),
                    (rmsprop, "_single_tensor_rmsprop"), (adam, "_single_tensor_adam")]:
        parts.append(f"# {mod.__file__}\n{inspect.getsource(getattr(mod, fn))}\n")
    for cls in [torch.optim.SGD, torch.optim.Adagrad, torch.optim.RMSprop, torch.optim.Adam, torch.optim.AdamW]:
        parts.append(f"# {cls.__name__}.__init__\n{inspect.getsource(cls.__init__)}\n")
    parts.append(f"# clip_grad_norm_\n{inspect.getsource(torch.nn.utils.clip_grad_norm_)}\n")
    try:
        import torch.nn.utils.clip_grad as cg
        parts.append(f"# clip_grad\n{inspect.getsource(cg)}\n")
    except Exception as e:  # provenance only
        parts.append(f"# clip_grad source unavailable: {e!r}\n")
    return "".join(parts)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: optim_reference.py OUT_DIR")
    import torch
    torch.set_num_threads(1)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    param0, grads = inputs()
    arrays = {}
    meta = {"torch": torch.__version__, "steps": STEPS, "n": N, "seed": SEED, "configs": CONFIGS,
            "state_keys": {}, "clip_sizes": CLIP_SIZES, "clip_max_norms": CLIP_MAX_NORMS}
    try:
        meta["defaults"] = defaults(torch)
    except Exception as e:
        meta.setdefault("errors", []).append(f"defaults: {e!r}")
    for dt, tdt, npdt in [("f32", torch.float32, np.float32), ("f64", torch.float64, np.float64)]:
        p0 = param0.astype(npdt)
        g = grads.astype(npdt)
        arrays[f"param0_{dt}"] = p0
        arrays[f"grads_{dt}"] = g
        for c in CONFIGS:
            try:
                traj, st, keys = run_config(torch, c, tdt, p0, g)
            except Exception as e:  # recorded, so one bad config costs no second run
                meta.setdefault("errors", []).append(f"{c['name']} {dt}: {e!r}")
                continue
            arrays[f"{c['name']}_{dt}"] = traj.astype(npdt)
            arrays[f"{c['name']}_{dt}_state"] = st.astype(npdt)
            meta["state_keys"][c["name"]] = keys
        try:
            clip_cases(torch, tdt, npdt, arrays)
        except Exception as e:
            meta.setdefault("errors", []).append(f"clip {dt}: {e!r}")
    arrays["meta"] = np.array(json.dumps(meta, sort_keys=True))
    np.savez_compressed(os.path.join(out, "optim_ref.npz"), **arrays)
    try:
        text = sources(torch)
    except Exception as e:  # provenance only
        text = f"sources unavailable: {e!r}\n"
    with open(os.path.join(out, "torch_sources.txt"), "w") as f:
        f.write(text)
    print(f"torch {torch.__version__}: {len(CONFIGS)} configs x 2 dtypes -> {out}/optim_ref.npz")
    for e in meta.get("errors", []):
        print("error:", e)


if __name__ == "__main__":
    main()
