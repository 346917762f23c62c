"""gemm_oracle.py - runtime/gemm.c's td_gemm_run against numpy.

Random batched products of strided views: every operand is a view of a
buffer whose axes are stored in a random order, padded, some flipped
(negative strides), and A or B broadcast along some batch axes (stride 0),
so the BLAS path meets row-major, transposed and packed operands and the
transposed problem C^T = B^T A^T. Also: the lesson's batched matmul
(4, 8, 16, 32) @ (32, 2), a few larger products that take OpenBLAS's
blocked (and threaded) kernels, and in-place products (C overlapping A or
B). C's buffer has room around the view; those elements must come back
unchanged, bit for bit. Each case is one check.

The reference is numpy in float64 on the operands' exact values:
  ref = alpha * (A @ B) + beta * C    (beta * C left out when beta == 0)
  mag = |alpha| * (|A| @ |B|) + |beta| * |C|, the scale of rounding errors
Tolerances, per element:
  f64     |got - ref| <= 1e-12 * mag
  f32     |got - ref| <= 1e-5 * mag
  f16, bf16, f8e4m3, f8e5m2 (computed in f32, rounded once): got lies
          between round(ref - e) and round(ref + e), rounding to the dtype,
          where e = (k + 3) * 2^-24 * mag bounds the f32 arithmetic's error.
          Rounding is monotone, so this accepts exactly the roundings of
          values the f32 computation could have produced: rounding twice
          or applying beta after rounding fails it.
  i64, i32, u16: exact, modulo 2^bits (numpy's int64 product, cast).

The C side is tests/runtime/gemm_probe_main.c, compiled here with gemm.c,
gemm_shape.c, dtype.c and ctx.c against OpenBLAS (with the sanitizers when the build under
test has them) and fed one command a line.
"""
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import probe  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NAME = "gemm oracle"
SEED = 20240612


def compile_probe(r, build_dir, tmp):
    return probe.compile_probe(r, NAME, build_dir, tmp, ["tests/runtime/gemm_probe_main.c", "runtime/gemm.c",
                               "runtime/gemm_shape.c", "runtime/dtype.c", "runtime/ctx.c"],
                               libs=["-lopenblas", "-lm"])


run_probe = probe.run_probe


class Operand:
    """A view of a flat buffer: `values` (logical shape) is buffer[offset +
    sum(index * strides)]."""

    def __init__(self, np, buffer, view):
        self.buffer = buffer
        item = buffer.dtype.itemsize
        self.offset = (view.__array_interface__["data"][0] - buffer.__array_interface__["data"][0]) // item
        self.strides = [s // item for s in view.strides]
        self.values = np.array(view)
        self.shape = view.shape

    def flat_index(self, np):
        idx = np.full(self.shape, self.offset, dtype=np.int64)
        for ax, (n, s) in enumerate(zip(self.shape, self.strides)):
            shape = [1] * len(self.shape)
            shape[ax] = n
            idx = idx + (np.arange(n, dtype=np.int64) * s).reshape(shape)
        return idx


def make_operand(np, rng, shape, broadcast, fill, layout=True):
    """A view with logical `shape`, broadcast (stride 0) along the axes in
    `broadcast`; with `layout`, its buffer stores the axes in a random
    order, with padding, and some axes are flipped."""
    core = [1 if ax in broadcast else n for ax, n in enumerate(shape)]
    rank = len(shape)
    perm = list(rng.permutation(rank)) if layout else list(range(rank))
    pad = [int(rng.integers(1, 3)) if layout and rng.random() < 0.3 else 0 for _ in range(rank)]
    stored = [core[p] + pad[p] for p in perm]
    buffer = fill(int(np.prod(stored, dtype=np.int64)) + (int(rng.integers(0, 3)) if layout else 0))
    start = int(rng.integers(0, buffer.size - int(np.prod(stored)) + 1))
    view = buffer[start:start + int(np.prod(stored))].reshape(stored)
    view = view[tuple(slice(0, core[p]) for p in perm)]
    view = view.transpose([perm.index(ax) for ax in range(rank)])
    if layout:
        for ax in range(rank):
            if core[ax] > 1 and rng.random() < 0.2:
                view = np.flip(view, ax)
    view = np.broadcast_to(view, shape)
    return Operand(np, buffer, view)


def dtypes(np, ml):
    return {"f64": np.dtype(np.float64), "f32": np.dtype(np.float32), "f16": np.dtype(np.float16),
            "bf16": np.dtype(ml.bfloat16), "f8e4m3": np.dtype(ml.float8_e4m3fn),
            "f8e5m2": np.dtype(ml.float8_e5m2), "i64": np.dtype(np.int64), "i32": np.dtype(np.int32),
            "u16": np.dtype(np.uint16)}


def filler(np, rng, name, dtype, small):
    """Values per dtype: normals for the wide floats, small ones for FP8 so
    sums stay finite, integers that make i32 and u16 products wrap."""
    def fill(n):
        if name in ("f64", "f32", "f16", "bf16"):
            return rng.standard_normal(n).astype(dtype)
        if name.startswith("f8"):
            return rng.uniform(-2, 2, n).astype(dtype)
        lo, hi = {"i64": (-1000, 1000), "i32": (-(1 << 20), 1 << 20), "u16": (0, 65535)}[name]
        if small:
            lo, hi = max(lo, -3), min(hi, 3)
        return rng.integers(lo, hi + 1, n).astype(dtype)
    return fill


class Case:
    def __init__(self, label, dtype_name, a, b, c, m, n, k, batch, alpha, beta, alias=None, plan=None):
        self.label, self.dtype_name, self.a, self.b, self.c = label, dtype_name, a, b, c
        self.m, self.n, self.k, self.batch, self.alpha, self.beta = m, n, k, batch, alpha, beta
        self.alias = alias  # "A" or "B": that operand lives in C's buffer
        self.plan = plan    # an expected td_gemm_describe, or a regex it must match

    def command(self, tmp, i):
        paths = []
        for name, op in (("a", self.a), ("b", self.b), ("c", self.c)):
            if self.alias and name == self.alias.lower():
                paths.append("=C")
                continue
            path = os.path.join(tmp, f"{i}_{name}.bin")
            op.buffer.tofile(path)
            paths.append(path)
        self.out = os.path.join(tmp, f"{i}_out.bin")
        nb = len(self.batch)
        sa, sb, sc = self.a.strides, self.b.strides, self.c.strides
        words = ["gemm", self.dtype_name, self.m, self.n, self.k, sa[nb], sa[nb + 1], sb[nb], sb[nb + 1], sc[nb],
                 sc[nb + 1], repr(float(self.alpha)), repr(float(self.beta)), nb]
        for t in range(nb):
            words += [self.batch[t], sa[t], sb[t], sc[t]]
        words += [self.a.offset, self.b.offset, self.c.offset] + paths + [self.out]
        return " ".join(str(w) for w in words)


def random_case(np, rng, ml, name, i):
    dt = dtypes(np, ml)[name]
    nb = int(rng.integers(0, 4))
    batch = [int(rng.integers(1, 5)) for _ in range(nb)]
    top = 16 if name.startswith("f8") else 40
    m, n, k = (int(rng.integers(1, top)) for _ in range(3))
    if rng.random() < 0.1:  # vectors and single elements
        m = 1
    if rng.random() < 0.1:
        n = 1
    # broadcast: along each batch axis, A or B (not both) may be stride 0
    ba, bb = set(), set()
    for t in range(nb):
        u = rng.random()
        (ba if u < 0.3 else bb if u < 0.6 else set()).add(t)
    fill = filler(np, rng, name, dt, small=False)
    a = make_operand(np, rng, batch + [m, k], ba, fill)
    b = make_operand(np, rng, batch + [k, n], bb, fill)
    c = make_operand(np, rng, batch + [m, n], set(), fill)
    alpha = [1.0, -1.5, 0.5, 2.0][int(rng.integers(0, 4))]
    beta = [0.0, 1.0, -0.5, 2.0][int(rng.integers(0, 4))]
    if name in ("i64", "i32", "u16"):
        alpha, beta = float(int(alpha * 2)), float(int(beta * 2))
    return Case(f"{name} random {i}: batch {batch} m {m} n {n} k {k}", name, a, b, c, m, n, k, batch, alpha, beta)


def special_cases(np, rng, ml):
    out = []
    dt = dtypes(np, ml)
    f32 = filler(np, rng, "f32", dt["f32"], False)
    # the lesson's batched matmul, contiguous: folds into one 512 x 2 x 32 sgemm
    a = make_operand(np, rng, [4, 8, 16, 32], set(), f32, layout=False)
    b = make_operand(np, rng, [4, 8, 32, 2], {0, 1}, f32, layout=False)
    c = make_operand(np, rng, [4, 8, 16, 2], set(), f32, layout=False)
    out.append(Case("lesson (4,8,16,32) @ (32,2)", "f32", a, b, c, 16, 2, 32, [4, 8], 1.0, 0.0,
                    plan="sgemm 1 x 512x2x32; A N ld=32; B N ld=2; C ld=2"))
    # the same through transposed views: A stored (32, 16) per item, B as (2, 32)
    a = make_operand(np, rng, [4, 8, 16, 32], set(), f32, layout=False)
    at = np.ascontiguousarray(np.swapaxes(a.values, 2, 3))
    buf = at.reshape(-1)
    a = Operand(np, buf, np.swapaxes(buf.reshape(at.shape), 2, 3))
    bt = np.ascontiguousarray(rng.standard_normal((2, 32)).astype(np.float32))
    bbuf = bt.reshape(-1)
    b = Operand(np, bbuf, np.broadcast_to(bbuf.reshape(2, 32).T, (4, 8, 32, 2)))
    c = make_operand(np, rng, [4, 8, 16, 2], set(), f32, layout=False)
    out.append(Case("lesson with A and B transposed", "f32", a, b, c, 16, 2, 32, [4, 8], 1.0, 0.0,
                    plan="sgemm 32 x 16x2x32; A T ld=16; B T ld=32; C ld=2"))
    # sliding windows (im2col-like): A[i][p] = x[i s + p] with s < k, so its
    # rows overlap and BLAS cannot take it in place; B broadcast over a batch
    for name, step in (("f32", 1), ("f64", 2), ("f16", 3), ("f32", 8)):
        fill = filler(np, rng, name, dt[name], False)
        m, n, k = 20, 7, 9
        buf = fill(step * (m - 1) + k + 5)
        item = buf.dtype.itemsize
        view = np.lib.stride_tricks.as_strided(buf[2:], (2, m, k), (3 * item, step * item, item))
        a = Operand(np, buf, view)
        b = make_operand(np, rng, [2, k, n], {0}, fill)
        c = make_operand(np, rng, [2, m, n], set(), fill)
        out.append(Case(f"{name} sliding windows, step {step}", name, a, b, c, m, n, k, [2], 1.0, 1.0,
                        plan=re.compile(r"; A(\^T)? (packed|f32)(;|$)")))
    # larger products: OpenBLAS's blocked kernels (and threads), every layout
    for name, (m, n, k) in (("f64", (300, 200, 250)), ("f32", (257, 129, 300)), ("f32", (64, 300, 1000)),
                            ("bf16", (100, 120, 200))):
        fill = filler(np, rng, name, dt[name], False)
        a = make_operand(np, rng, [m, k], set(), fill)
        b = make_operand(np, rng, [k, n], set(), fill)
        c = make_operand(np, rng, [m, n], set(), fill)
        out.append(Case(f"large {name} {m}x{n}x{k}", name, a, b, c, m, n, k, [], 1.0, 0.5))
    # in place: C is A (x = x @ W) or B (x = W @ x), square, in every dtype family
    for name in ("f32", "f64", "bf16", "i32"):
        fill = filler(np, rng, name, dt[name], True)
        for alias in ("A", "B"):
            c = make_operand(np, rng, [2, 6, 6], set(), fill)
            other = make_operand(np, rng, [2, 6, 6], {0}, fill)
            a, b = (c, other) if alias == "A" else (other, c)
            out.append(Case(f"{name} in place, C is {alias}", name, a, b, c, 6, 6, 6, [2], 1.0, 0.0,
                            alias=alias, plan=re.compile(rf"; copies {alias} first \(C overlaps it\)$")))
    # k = 0: C = beta C
    for name in ("f32", "bf16", "u16"):
        fill = filler(np, rng, name, dt[name], True)
        a = make_operand(np, rng, [3, 4, 0], set(), fill)
        b = make_operand(np, rng, [3, 0, 5], set(), fill)
        c = make_operand(np, rng, [3, 4, 5], set(), fill)
        out.append(Case(f"{name} k = 0", name, a, b, c, 4, 5, 0, [3], 1.0, 2.0, plan="scale 3 x 4x5: C = beta C"))
    return out


def expected(np, ml, case):
    """(ref, mag) in float64, or the exact integers as the dtype."""
    dt = case.c.values.dtype
    if case.dtype_name in ("i64", "i32", "u16"):
        a, b, c = (x.values.astype(np.int64) for x in (case.a, case.b, case.c))
        with np.errstate(over="ignore"):
            v = np.int64(int(case.alpha)) * np.matmul(a, b)
            if case.beta != 0:
                v = v + np.int64(int(case.beta)) * c
        return v.astype(dt), None
    a, b, c = (x.values.astype(np.float64) for x in (case.a, case.b, case.c))
    ref = case.alpha * np.matmul(a, b)
    mag = abs(case.alpha) * np.matmul(np.abs(a), np.abs(b))
    if case.beta != 0:
        ref = ref + case.beta * c
        mag = mag + abs(case.beta) * np.abs(c)
    return ref, mag


def judge(np, ml, case, answer):
    """None when the answer is right, else why not."""
    plan = answer[3:] if answer.startswith("ok ") else None
    if plan is None:
        return f"the probe says '{answer}'"
    if isinstance(case.plan, str) and plan != case.plan:
        return f"plan '{plan}', expected '{case.plan}'"
    if case.plan is not None and not isinstance(case.plan, str) and not case.plan.search(plan):
        return f"plan '{plan}' does not match {case.plan.pattern}"
    dt = case.c.buffer.dtype
    got_buf = np.fromfile(case.out, dtype=dt)
    if got_buf.size != case.c.buffer.size:
        return f"C's buffer came back with {got_buf.size} elements, not {case.c.buffer.size}"
    idx = case.c.flat_index(np)
    outside = np.ones(got_buf.size, dtype=bool)
    outside[idx.reshape(-1)] = False
    if got_buf[outside].tobytes() != case.c.buffer[outside].tobytes():
        return "elements of C's buffer outside the view changed"
    got = got_buf[idx]
    ref, mag = expected(np, ml, case)
    name = case.dtype_name
    if mag is None:
        bad = got != ref
        if bad.any():
            w = np.argwhere(bad)[0]
            return f"at {tuple(w)}: {got[tuple(w)]}, expected {ref[tuple(w)]} (exact)"
        return None
    g64 = got.astype(np.float64)
    if name in ("f64", "f32"):
        rtol = 1e-12 if name == "f64" else 1e-5
        bad = ~(np.abs(g64 - ref) <= rtol * mag)
        if bad.any():
            w = tuple(np.argwhere(bad)[0])
            return f"at {w}: {g64[w]!r}, expected {ref[w]!r} within {rtol} * {mag[w]!r}"
        return None
    e = (case.k + 3) * 2.0 ** -24 * mag
    lo = (ref - e).astype(dt).astype(np.float64)
    hi = (ref + e).astype(dt).astype(np.float64)
    bad = ~((lo <= g64) & (g64 <= hi))
    if bad.any():
        w = tuple(np.argwhere(bad)[0])
        return (f"at {w}: {g64[w]!r}, expected a {name} rounding of {ref[w]!r} +- {e[w]!r}, "
                f"so in [{lo[w]!r}, {hi[w]!r}]")
    return None


def run(r, build_dir):
    try:
        import numpy as np
        import ml_dtypes as ml
    except ImportError:
        r.fail(NAME, "numpy and ml_dtypes are needed: pip install numpy ml_dtypes (tools/deps.sh installs them)")
        return
    rng = np.random.default_rng(SEED)
    cases = special_cases(np, rng, ml)
    for name in ("f32", "f64", "f16", "bf16", "f8e4m3", "f8e5m2", "i64", "i32", "u16"):
        count = 30 if name in ("f32", "f64") else 12
        cases += [random_case(np, rng, ml, name, i) for i in range(count)]
    with tempfile.TemporaryDirectory() as tmp:
        exe = compile_probe(r, build_dir, tmp)
        if exe is None:
            return
        commands = [case.command(tmp, i) for i, case in enumerate(cases)]
        try:
            answers = run_probe(exe, commands)
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            r.fail(NAME, str(e))
            return
        plans = []
        for case, answer in zip(cases, answers):
            why = judge(np, ml, case, answer)
            if why:
                r.fail(NAME, f"{case.label}: {why}")
            else:
                r.ok(case.label)
            plans.append(answer)
        # the random layouts must have reached every way BLAS takes an operand
        text = "\n".join(plans)
        for what in (" N ld=", " T ld=", " packed", " as C^T = B^T A^T", "; C ld=", " f32", "loop "):
            if what in text:
                r.ok(f"{NAME}: plans include '{what}'")
            else:
                r.fail(NAME, f"no case exercised '{what}'; change the seed or the shapes")
