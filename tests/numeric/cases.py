"""The cases of the numeric suite (tests/numeric/run.py runs them).

A case is one exported function of one program run on inputs drawn from a
fixed seed (RNG below), and the outputs numpy/einops compute for the same
inputs. References of f32 functions are computed in f64 from the f32 inputs
(`wide`) and rounded to f32 once; references of narrow-float functions
(f16, bf16, f8) compute each operation in f32 and round to the narrow dtype
once per operation, as the runtime does. run.py's compare() holds the
tolerances: f32 rtol 1e-5 / atol 1e-6, f64 rtol 1e-12 / atol 1e-14, narrow
floats bit for bit unless a case allows `ulps`, integers and bools exact.

Run-time dims (`dim batch`, `dim seq`) take BATCH and SEQ unless a case
says otherwise; run.py binds them from the inputs' shapes and gives with
--dims only those no input fixes (the executable needs every dim of the
model bound, whichever function runs).

A case that fails because of a compiler bug stays in this file, commented
out, with `# FAILS: what happens`.
"""
import math
import re

import einops
import ml_dtypes
import numpy as np
from einops import rearrange, reduce, repeat

# name: the source, or (source, tdc flags)
PROGRAMS = {
    "einops": "tests/numeric/einops.td",
    "contract": "tests/numeric/contract.td",
    "elementwise": "tests/numeric/elementwise.td",
    "calls": "tests/numeric/calls.td",
    "fusion": "tests/numeric/fusion.td",
    "dims": "tests/numeric/dims.td",
    "fusion_nofuse": ("tests/numeric/fusion.td", "--no-fuse"),
    "lesson": "examples/lesson.td",
    "cruncher": "examples/cruncher.td",
    "attention": "examples/attention.td",
}

BATCH = 9
SEQ = 7
DIMS = {"batch": BATCH, "seq": SEQ, "wide": 6}  # wide: calls.td's long rows, set by their cases

F64, F32, F16 = np.dtype(np.float64), np.dtype(np.float32), np.dtype(np.float16)
BF16 = np.dtype(ml_dtypes.bfloat16)
E4M3, E5M2 = np.dtype(ml_dtypes.float8_e4m3fn), np.dtype(ml_dtypes.float8_e5m2)
I64, I32, U16, BOOL = np.dtype(np.int64), np.dtype(np.int32), np.dtype(np.uint16), np.dtype(np.bool_)

RNG = np.random.default_rng(20240531)


# ---- inputs ----

def normal(*shape, dtype=F32, scale=1.0):
    return (RNG.standard_normal(shape) * scale).astype(dtype)


def uniform(lo, hi, *shape, dtype=F32):
    return RNG.uniform(lo, hi, shape).astype(dtype)


def ints(lo, hi, *shape, dtype=I32):
    """Integers in [lo, hi)."""
    return RNG.integers(lo, hi, shape).astype(dtype)


def bools(*shape):
    return RNG.random(shape) < 0.5


# ---- cases ----

class Case:
    def __init__(self, prog, fn, inputs, expect, dims, label, rtol, atol, ulps, given):
        self.prog, self.fn, self.inputs, self.expect = prog, fn, inputs, expect
        self.dims, self.label, self.rtol, self.atol, self.ulps = dims, label, rtol, atol, ulps
        self.given = given


CASES = []


def wide(a):
    """f32 and narrow floats to f64, for references computed in f64."""
    a = np.asarray(a)
    return a.astype(F64) if a.dtype.kind in "fV" and a.dtype != F64 else a


def case(prog, fn, inputs, ref, out=None, dims=None, label="", widen=False, rtol=None, atol=None, ulps=0,
         given=None):
    """Adds a case: ref(**inputs) gives the expected output (or a tuple of
    them); with widen, float inputs reach ref as f64. out: the expected
    dtype (or one per output); each reference is rounded to it once. given:
    the dims to pass with --dims (default: the run-time dims that no input
    axis names alone)."""
    args = {k: wide(v) if widen else v for k, v in inputs.items()}
    with np.errstate(all="ignore"):   # overflow to inf and NaN are expected in some casts
        got = ref(**args)
    outs = list(got) if isinstance(got, tuple) else [got]
    if out is None:
        out = [None] * len(outs)
    elif not isinstance(out, (list, tuple)):
        out = [out] * len(outs)
    expect = [np.asarray(o) if t is None else np.asarray(o).astype(t) for o, t in zip(outs, out)]
    CASES.append(Case(prog, fn, inputs, expect, dict(DIMS, **(dims or {})), label, rtol, atol, ulps, given))


def same(prog, fn, ref, shape_or_inputs, out=F32, **kw):
    """An f32 case with an f64 reference: one input x of the given shape, or
    the inputs given."""
    inputs = shape_or_inputs if isinstance(shape_or_inputs, dict) else {"x": normal(*shape_or_inputs)}
    case(prog, fn, inputs, ref, out=out, widen=True, **kw)


def rnd(a, dt):
    """One rounding of an f32 computation to the narrow dtype dt."""
    return np.asarray(a, F32).astype(dt)


def f(a):
    """A narrow float as f32 (exact)."""
    return np.asarray(a).astype(F32)


erfc = np.vectorize(math.erfc, otypes=[F64])


def gelu(x):
    return 0.5 * x * erfc(-x / math.sqrt(2))


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


# =====================================================================
# einops.td: rearrange
# =====================================================================

E = "einops"
for fn, pattern, shape, sizes in [
    ("re_r1_split", "(a b) -> a b", (12,), {"a": 3}),
    ("re_r1_split_t", "(a b) -> b a", (12,), {"a": 3}),
    ("re_r2_t", "a b -> b a", (3, 5), {}),
    ("re_r2_merge", "a b -> (a b)", (3, 5), {}),
    ("re_r2_merge_t", "a b -> (b a)", (3, 5), {}),
    ("re_r3_perm", "a b c -> c a b", (2, 3, 4), {}),
    ("re_r3_groups", "a (b c) d -> (d b) a c", (2, 6, 5), {"b": 2}),
    ("re_r4_nchw", "b h w c -> b c h w", (2, 3, 4, 5), {}),
    ("re_r4_patch", "b (h p1) (w p2) c -> b (h w) (p1 p2 c)", (2, 4, 6, 3), {"p1": 2, "p2": 2}),
    ("re_r4_unpatch", "b (h w) (p1 p2 c) -> b (h p1) (w p2) c", (2, 6, 12), {"h": 2, "p1": 2, "p2": 2}),
    ("re_r5", "a b c d e -> e (c a) d b", (2, 3, 4, 5, 6), {}),
    ("re_r6_rev", "a b c d e f -> f e d c b a", (2, 3, 2, 3, 2, 3), {}),
    ("re_r6_merge", "a b c d e f -> (a c e) (b d f)", (2, 3, 2, 3, 2, 3), {}),
    ("re_r2_to_r6", "(a b c) (d e f) -> a d b e c f", (12, 30), {"a": 2, "b": 3, "d": 2, "e": 3}),
    ("re_ell_split", "... (h d) -> ... h d", (2, 3, 8), {"h": 2}),
    ("re_ell_merge", "... h d -> ... (h d)", (2, 3, 2, 4), {}),
    ("re_ell_front", "b ... -> ... b", (2, 3, 4, 5), {}),
    ("re_ell_flatten", "b ... -> b (...)", (2, 3, 4, 5), {}),
    ("re_ell_mid", "a ... b -> b ... a", (2, 3, 4, 5), {}),
    ("re_ell_empty", "a ... b -> b ... a", (2, 3), {}),
    ("re_ell_all", "... -> ...", (2, 3, 4), {}),
    ("re_ell_r6", "a ... f -> f ... a", (2, 3, 2, 3, 2, 3), {}),
    ("re_ell_r6_flat", "a b ... -> b a (...)", (2, 3, 2, 3, 2, 3), {}),
    ("re_unit_drop", "a 1 b -> b a", (3, 1, 4), {}),
    ("re_unit_add", "a b -> a 1 b 1", (3, 4), {}),
    ("re_unit_paren", "a () b -> (a b)", (3, 1, 4), {}),
    ("re_unit_paren_add", "a b -> () b () a", (3, 4), {}),
    ("re_unit_group", "a b -> (b a) 1", (3, 4), {}),
    ("re_rt_t", "b s h -> h s b", (BATCH, SEQ, 4), {}),
    ("re_rt_merge", "b s h -> (b s) h", (BATCH, SEQ, 4), {}),
    ("re_rt_merge_t", "b s h -> h (s b)", (BATCH, SEQ, 4), {}),
    ("re_rt_split", "b (h d) -> b h d", (BATCH, 12), {"h": 3}),
    ("re_rt_split_rt", "(b s) d -> s b d", (BATCH * SEQ, 3), {"b": BATCH}),
]:
    same(E, fn, lambda x, p=pattern, s=sizes: rearrange(x, p, **s), shape)

same(E, "re_rt_t", lambda x: rearrange(x, "b s h -> h s b"), (2, 3, 4), dims={"batch": 2, "seq": 3},
     label="batch 2, seq 3")
same(E, "re_rt_split_rt", lambda x: rearrange(x, "(b s) d -> s b d", b=4), (20, 3), dims={"batch": 4, "seq": 5},
     label="batch 4, seq 5")
same(E, "re_chain", lambda x: rearrange(rearrange(x, "a b -> b a"), "(b1 b2) a -> b1 (b2 a)", b1=3), (4, 6))
same(E, "re_then_add", lambda x, y: rearrange(x, "a b -> b a") + y, {"x": normal(3, 4), "y": normal(4, 3)})
case(E, "re_i32", {"x": ints(-1000, 1000, 3, 4)}, lambda x: rearrange(x, "a b -> b a"))
case(E, "re_i64", {"x": ints(-10**12, 10**12, 2, 3, 4, dtype=I64)}, lambda x: rearrange(x, "a b c -> b (a c)"))
case(E, "re_bool", {"x": bools(2, 3, 4)}, lambda x: rearrange(x, "a b c -> c (a b)"))
case(E, "re_f64", {"x": normal(2, 3, 4, dtype=F64)}, lambda x: rearrange(x, "a b c -> c b a"))
case(E, "re_bf16", {"x": normal(2, 3, 4, dtype=BF16)}, lambda x: rearrange(x, "a b c -> b (c a)"))

# =====================================================================
# einops.td: reduce
# =====================================================================

for fn, pattern, how, x, sizes in [
    ("rd_sum", "a b c -> a c", "sum", normal(3, 4, 5), {}),
    ("rd_mean", "a b c -> c", "mean", normal(3, 4, 5), {}),
    ("rd_max", "a b c -> b", "max", normal(3, 4, 5), {}),
    ("rd_min", "a b c -> a b", "min", normal(3, 4, 5), {}),
    ("rd_prod", "a b c -> a", "prod", uniform(0.5, 1.5, 3, 4, 5), {}),
    ("rd_all_sum", "a b c ->", "sum", normal(3, 4, 5), {}),
    ("rd_all_mean", "a b c ->", "mean", normal(3, 4, 5), {}),
    ("rd_all_max", "a ->", "max", normal(7), {}),
    ("rd_all_prod", "a b ->", "prod", uniform(-2, 2, 2, 3), {}),
    ("rd_transposed", "a b c -> c a", "sum", normal(3, 4, 5), {}),
    ("rd_group_mean", "a (b k) -> a b", "mean", normal(3, 8), {"k": 2}),
    ("rd_group_inner", "a (k b) -> a b", "max", normal(3, 8), {"k": 4}),
    ("rd_group_out", "a b c -> (a b)", "max", normal(2, 3, 4), {}),
    ("rd_group_out_t", "a b c -> (c a)", "min", normal(2, 3, 4), {}),
    ("rd_pool", "b (h h2) (w w2) c -> b h w c", "max", normal(2, 4, 6, 3), {"h2": 2, "w2": 2}),
    ("rd_ell", "... h -> ...", "sum", normal(2, 3, 4, 5), {}),
    ("rd_ell_front", "b ... -> b", "mean", normal(2, 3, 4, 5), {}),
    ("rd_ell_keep", "a ... b -> ...", "min", normal(2, 3, 4, 5), {}),
    ("rd_ell_all", "... -> ", "sum", normal(2, 3, 4), {}),
    ("rd_unit_keep", "a b c -> a () c", "max", normal(3, 4, 5), {}),
    ("rd_unit_keep1", "a b c -> 1 b 1", "sum", normal(3, 4, 5), {}),
    ("rd_anon", "a 2 c -> a c", "sum", normal(3, 2, 5), {}),
    ("rd_unit_in", "a 1 c -> a", "prod", uniform(0.5, 1.5, 3, 1, 5), {}),
    ("rd_r5", "a b c d e -> e c", "sum", normal(2, 3, 4, 5, 2), {}),
    ("rd_r6", "a b c d e f -> (a c) f", "min", normal(2, 3, 2, 3, 2, 2), {}),
    ("rd_r6_mean", "a b c d e f -> d b", "mean", normal(2, 3, 2, 3, 2, 2), {}),
    ("rd_big", "a b -> a", "sum", normal(64, 300), {}),
    ("rd_big_cols", "a b -> b", "mean", normal(300, 64), {}),
    ("rd_rt", "b s h -> s", "mean", normal(BATCH, SEQ, 4), {}),
    ("rd_rt_max", "b s h -> b h", "max", normal(BATCH, SEQ, 4), {}),
]:
    # sums of up to 300 terms of size ~1 in f32: the f64 reference differs by
    # rounding only, within rtol 1e-5 / atol 1e-6 except where the sum cancels
    # to near 0 (atol 1e-5 for the 300-term sums: ~sqrt(300) * 2^-24 * |terms|)
    big = x.size >= 1000
    same(E, fn, lambda x, p=pattern, h=how, s=sizes: reduce(x, p, h, **s), {"x": x},
         atol=1e-5 if big else None)

case(E, "rd_i32_sum", {"x": ints(-10**6, 10**6, 3, 4)}, lambda x: x.sum(1, dtype=I32))
case(E, "rd_i32_min", {"x": ints(-10**6, 10**6, 3, 4)}, lambda x: x.min(0))
case(E, "rd_i64_max", {"x": ints(-10**15, 10**15, 3, 4, dtype=I64)}, lambda x: x.max(1))
case(E, "rd_i64_prod", {"x": ints(-50, 50, 3, 4, dtype=I64)}, lambda x: x.prod(0, dtype=I64))
case(E, "rd_u16_sum", {"x": ints(0, 65536, 3, 4, dtype=U16)}, lambda x: x.sum(1, dtype=U16),
     label="wraps modulo 2^16")
case(E, "rd_bool_sum", {"x": bools(3, 4)}, lambda x: x.sum(1, dtype=I64))
case(E, "rd_bool_prod", {"x": RNG.random((3, 4)) < 0.8}, lambda x: x.prod(0, dtype=I64))
case(E, "rd_bool_max", {"x": RNG.random((3, 4)) < 0.2}, lambda x: x.max(1))
case(E, "rd_f64_mean", {"x": normal(3, 4, 5, dtype=F64)}, lambda x: x.mean((0, 2)))
case(E, "rd_f64_sum", {"x": normal(3, 4, 5, dtype=F64)}, lambda x: x.sum())
case(E, "rd_f64_prod", {"x": uniform(0.5, 1.5, 3, 4, dtype=F64)}, lambda x: x.prod(1))
# narrow floats: one operation, rounded once; the f32 sum's order may differ
# from the f64 reference's, which can move the rounding by 1 ulp
case(E, "rd_bf16_sum", {"x": normal(4, 16, dtype=BF16)}, lambda x: rnd(wide(x).sum(1), BF16), ulps=1)
case(E, "rd_bf16_max", {"x": normal(4, 16, dtype=BF16)}, lambda x: x.max(0))
case(E, "rd_f16_mean", {"x": normal(4, 16, dtype=F16)}, lambda x: rnd(wide(x).mean(1), F16), ulps=1)

# =====================================================================
# einops.td: repeat
# =====================================================================

for fn, pattern, shape, sizes in [
    ("rp_r1", "a -> a k", (3,), {"k": 4}),
    ("rp_r1_front", "a -> k a", (3,), {"k": 4}),
    ("rp_tile", "a b -> a (k b)", (2, 3), {"k": 2}),
    ("rp_interleave", "a b -> a (b k)", (2, 3), {"k": 2}),
    ("rp_anon", "a b -> a 3 b", (2, 3), {}),
    ("rp_anon_group", "a b -> (2 a) b", (2, 3), {}),
    ("rp_anon_front", "a b -> 5 a b", (2, 3), {}),
    ("rp_ell", "... c -> ... k c", (2, 3, 4), {"k": 5}),
    ("rp_ell_front", "... -> k ...", (2, 3, 4), {"k": 2}),
    ("rp_unit", "a 1 b -> a k b", (2, 1, 3), {"k": 4}),
    ("rp_unit_paren", "a () b -> b a k", (2, 1, 3), {"k": 2}),
    ("rp_unit_out", "a b -> a 1 b k", (2, 3), {"k": 2}),
    ("rp_r6", "a b -> a k b l m n", (2, 3), {"k": 2, "l": 3, "m": 2, "n": 2}),
    ("rp_r4_perm", "a b c -> c k a b", (2, 3, 4), {"k": 2}),
    ("rp_group_perm", "a b -> b (k a l)", (2, 3), {"k": 2, "l": 2}),
    ("rp_scalar", " -> k", (), {"k": 5}),
    ("rp_rt", "b n -> b k n", (BATCH, 3), {"k": 2}),
    ("rp_rt_size", "b n -> b n k", (BATCH, 3), {"k": BATCH}),
]:
    same(E, fn, lambda x, p=pattern, s=sizes: repeat(x, p, **s), shape)

case(E, "rp_i64", {"x": ints(-10**12, 10**12, 3, dtype=I64)}, lambda x: repeat(x, "a -> k a", k=2))
case(E, "rp_bool", {"x": bools(2, 3)}, lambda x: repeat(x, "a b -> a b k", k=2))
same(E, "rp_then_reduce", lambda x: reduce(repeat(x, "a b -> a b k", k=4), "a b k -> a b", "mean"), (2, 3))

# =====================================================================
# contract.td: einsum
# =====================================================================

C = "contract"


def es(fn, pattern, *shapes, dims=None, label="", **kw):
    """An f32 einsum case with operands a, b, c, e (the names in contract.td)."""
    names = ["a", "b", "c", "e"] if len(shapes) > 1 else ["a"]
    inputs = {n: normal(*s) for n, s in zip(names, shapes)}
    case(C, fn, inputs, lambda **ops: einops_ref(pattern, *[ops[n] for n in names[:len(shapes)]]), out=F32,
         widen=True, dims=dims, label=label, **kw)


def einops_ref(pattern, *ops):
    """einops.einsum, after flattening groups and unit axes the way tdc reads
    them (einops' own einsum has neither): each operand's groups are split
    with rearrange (a group's sizes come from wherever its names appear
    alone), the flat operands contracted, then the output's groups merged."""
    lhs, rhs = pattern.split("->")
    sides = [s.strip().replace("()", "1") for s in lhs.split(",")]
    parsed = [re.findall(r"\([^)]*\)|\.\.\.|\S+", s) for s in sides]
    sizes = {}
    for items, op in zip(parsed, ops):
        lead = items.index("...") if "..." in items else len(items)
        for i, item in enumerate(items):
            axis = i if i < lead else i - len(items) + op.ndim
            if item != "..." and not item.startswith("(") and item != "1":
                sizes[item] = op.shape[axis]
    flat_ops, flat_sides = [], []
    for side, op in zip(sides, ops):
        atoms = [a for a in side.replace("(", " ").replace(")", " ").split() if a != "1"]
        known = {a: sizes[a] for a in atoms if a in sizes and "(" in side}
        plain = side.split() == atoms   # nothing to flatten (and rearrange refuses "i i")
        flat_ops.append(op if plain else rearrange(op, f"{side} -> {' '.join(atoms)}", **known))
        flat_sides.append(" ".join(atoms))
    rhs = rhs.strip().replace("()", "1")
    out_atoms = [a for a in rhs.replace("(", " ").replace(")", " ").split() if a != "1"]
    result = np_einsum(", ".join(flat_sides) + " -> " + " ".join(out_atoms), *flat_ops)
    return rearrange(result, " ".join(out_atoms) + " -> " + rhs) if rhs else result


def np_einsum(pattern, *ops):
    """numpy.einsum of an einops-style pattern (names of any length, `...`)."""
    lhs, rhs = pattern.split("->")
    letters = {}

    def conv(side):
        out = []
        for a in side.split():
            if a == "...":
                out.append("...")
            else:
                out.append(letters.setdefault(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"[len(letters)]))
        return "".join(out)
    spec = ",".join(conv(s) for s in lhs.split(",")) + "->" + conv(rhs)
    return np.einsum(spec, *ops)


es("es_mm", "i j, j k -> i k", (3, 4), (4, 5))
es("es_mm_tt", "j i, k j -> k i", (4, 3), (5, 4))
es("es_batch", "b i j, b j k -> b i k", (2, 3, 4), (2, 4, 5))
es("es_batch_mid", "i b j, b j k -> k b i", (3, 2, 4), (2, 4, 5))
es("es_two_contracted", "i j k, k j l -> i l", (3, 4, 5), (5, 4, 6))
es("es_outer", "i, j -> i j", (3,), (4,))
es("es_outer_t", "i, j -> j i", (3,), (4,))
es("es_outer_r4", "i j, k l -> l i k j", (2, 3), (4, 5))
es("es_dot", "i, i ->", (7,), (7,))
es("es_hadamard", "i j, i j -> i j", (3, 4), (3, 4))
es("es_hadamard_t", "i j, j i -> j i", (3, 4), (4, 3))
es("es_outer_batch", "b i, b j -> b i j", (2, 3), (2, 4))
es("es_sum_apart", "i j, k -> i", (3, 4), (5,))
es("es_frobenius", "i j, i j ->", (3, 4), (3, 4))
es("es_ell", "... i j, j k -> ... i k", (2, 3, 4, 5), (5, 6))
es("es_ell_both", "... i j, ... j k -> ... i k", (2, 3, 4, 5), (2, 3, 5, 6))
es("es_ell_bcast", "... i j, ... j k -> ... i k", (2, 3, 4, 5), (3, 5, 6))
es("es_ell_bcast1", "... i j, ... j k -> ... i k", (2, 3, 4, 5), (1, 3, 5, 6))
case(C, "es_ell_bcast_reuse", {"a": normal(1, 3), "b": normal(2, 3)},
     lambda a, b: (np.einsum("...i,...i->...", a + 1, b), a + 1), out=F32)
es("es_ell_front", "i ..., i -> ...", (4, 2, 3), (4,))
es("es_ell_out_first", "... j, j k -> k ...", (2, 3, 4), (4, 5))
es("es_group_in", "b (h d), h d e -> b e", (2, 12), (3, 4, 5))
es("es_group_out", "i j, j k -> (i k)", (2, 3), (3, 4))
es("es_group_out_t", "i j, j k -> (k i)", (2, 3), (3, 4))
es("es_group_both", "b (h d), d e -> b (h e)", (2, 6), (3, 4))
es("es_group_ell", "... (h d), d e -> ... h e", (2, 3, 8), (4, 5))
es("es_three", "i j, j k, k l -> i l", (2, 3), (3, 4), (4, 5))
es("es_three_batch", "b i, b j, b k -> i j k", (2, 3), (2, 4), (2, 5))
es("es_three_mixed", "b i j, j k, b k -> b i", (2, 3, 4), (4, 5), (2, 5))
es("es_three_scalar", "i, i j, j ->", (3,), (3, 4), (4,))
es("es_four", "i j, j k, k l, l m -> m i", (2, 3), (3, 4), (4, 5), (5, 6))
es("es_t", "i j -> j i", (3, 4))
es("es_perm3", "i j k -> k i j", (2, 3, 4))
es("es_rowsum", "i j -> i", (3, 4))
es("es_colsum_t", "i j k -> k i", (2, 3, 4))
es("es_total", "i j k ->", (3, 4, 5))
es("es_trace", "i i ->", (4, 4))
es("es_diag", "i i -> i", (4, 4))
es("es_batch_diag", "b i i -> b i", (2, 4, 4))
es("es_batch_trace", "i b i -> b", (4, 2, 4))
es("es_diag_mm", "i i, i k -> k", (4, 4), (4, 5))
es("es_unit", "i 1 j, j k -> i k", (3, 1, 4), (4, 5))
es("es_unit_out", "i j, j k -> i () k", (3, 4), (4, 5))
es("es_rt", "b s h, b t h -> b s t", (BATCH, SEQ, 4), (BATCH, SEQ, 4))
es("es_large", "i j, j k -> i k", (32, 64), (64, 48), atol=1e-5)   # 64-term sums in f32: atol 1e-5
case(C, "es_ell_lesson", {"x": normal(2, 3, 4), "y": normal(2, 3, 4)},
     lambda x, y: einops.einsum(x, y, "... s1 h, ... s2 h -> ... s1 s2"), out=F32, widen=True)
case(C, "es_rt_mm", {"a": normal(BATCH, 4), "w": normal(4, 3)}, lambda a, w: a @ w, out=F32, widen=True)
case(C, "es_i32", {"a": ints(-100, 100, 3, 4), "b": ints(-100, 100, 4, 5)}, lambda a, b: a @ b)
case(C, "es_i64_batch", {"a": ints(-10**6, 10**6, 2, 3, 4, dtype=I64), "b": ints(-10**6, 10**6, 2, 4, dtype=I64)},
     lambda a, b: np.einsum("bij,bj->bi", a, b))
case(C, "es_f64", {"a": normal(2, 3, 4, dtype=F64), "b": normal(2, 4, 5, dtype=F64)},
     lambda a, b: np.einsum("bij,bjk->bki", a, b))
case(C, "es_promote", {"a": ints(-10, 10, 3, 4), "b": normal(4, 5)}, lambda a, b: a @ b, out=F32, widen=True)
case(C, "es_promote_int", {"a": ints(-10**4, 10**4, 3, 4), "b": ints(-10**9, 10**9, 4, 5, dtype=I64)},
     lambda a, b: a.astype(I64) @ b)
# bf16/f16 contractions: widened to f32, one GEMM, rounded once; the f32
# sums' order may move the rounding by 1 ulp against the f64 reference
case(C, "es_bf16", {"a": normal(3, 8, dtype=BF16), "b": normal(8, 4, dtype=BF16)},
     lambda a, b: rnd(wide(a) @ wide(b), BF16), ulps=1)
case(C, "es_f16", {"a": normal(2, 3, 8, dtype=F16), "b": normal(8, 4, dtype=F16)},
     lambda a, b: rnd(wide(a) @ wide(b), F16), ulps=1)

# =====================================================================
# contract.td: @
# =====================================================================


def mm(fn, shapes, names=("a", "b"), dtype=F32, **kw):
    inputs = {n: normal(*s, dtype=dtype) for n, s in zip(names, shapes)}
    case(C, fn, inputs, lambda **ops: np.matmul(*[ops[n] for n in names]), out=dtype, widen=True, **kw)


mm("mm_2d", [(16, 32), (32, 2)], ("x", "w"))
mm("mm_batched", [(4, 8, 16, 32), (32, 2)], ("xb", "w"))
mm("mm_mv", [(16, 32), (32,)], ("x", "v"))
mm("mm_vm", [(16,), (16, 32)], ("v", "x"))
mm("mm_vv", [(32,), (32,)], ("u", "v"))
mm("mm_bb", [(3, 4, 5), (3, 5, 6)])
mm("mm_bcast", [(2, 1, 4, 5), (3, 5, 6)])
mm("mm_bcast_left", [(4, 5), (2, 5, 6)])
mm("mm_bv", [(2, 3, 4, 5), (5,)], ("a", "v"))
mm("mm_vb", [(4,), (2, 3, 4, 5)], ("v", "b"))
mm("mm_ones", [(1, 5), (5, 1)])
mm("mm_rt", [(BATCH, 8), (8, 3)], ("x", "w"))
mm("mm_rt3", [(BATCH, SEQ, 8), (8, 3)], ("x", "w"))
mm("mm_f64", [(3, 4, 5), (5, 6)], dtype=F64)
mm("mm_f64_vv", [(50,), (50,)], dtype=F64)
case(C, "mm_chain", {"x": normal(3, 4), "w1": normal(4, 5), "w2": normal(5, 2)}, lambda x, w1, w2: x @ w1 @ w2,
     out=F32, widen=True)
case(C, "mm_of_view", {"x": normal(2, 3, 4), "y": normal(2, 3, 4)}, lambda x, y: x @ np.swapaxes(y, 1, 2),
     out=F32, widen=True)
case(C, "mm_scaled", {"x": normal(3, 4), "w": normal(4, 5)}, lambda x, w: 2 * x @ w / 2, out=F32, widen=True)
case(C, "mm_i32", {"a": ints(-100, 100, 3, 4), "b": ints(-100, 100, 4, 5)}, lambda a, b: a @ b)
case(C, "mm_i64_bcast", {"a": ints(-10**6, 10**6, 2, 3, 4, dtype=I64), "b": ints(-10**6, 10**6, 4, 2, dtype=I64)},
     lambda a, b: a @ b)
case(C, "mm_promote", {"a": ints(-10, 10, 3, 4), "b": normal(4, 5)}, lambda a, b: a @ b, out=F32, widen=True)
case(C, "mm_bf16", {"a": normal(4, 16, dtype=BF16), "b": normal(16, 3, dtype=BF16)},
     lambda a, b: rnd(wide(a) @ wide(b), BF16), ulps=1)   # one rounding of an f32 GEMM: 1 ulp for the sum order
case(C, "mm_f16_batched", {"a": normal(2, 4, 16, dtype=F16), "b": normal(16, 3, dtype=F16)},
     lambda a, b: rnd(wide(a) @ wide(b), F16), ulps=1)   # as above

# =====================================================================
# contract.td: take, table[idx], x[i], loops
# =====================================================================

table = normal(10, 4)
case(C, "tk_bsd", {"t": table, "idx": ints(0, 10, 2, 3, dtype=I64)}, lambda t, idx: t[idx])
case(C, "tk_dbs", {"t": table, "idx": ints(0, 10, 2, 3, dtype=I64)}, lambda t, idx: rearrange(t[idx], "b s d -> d b s"))
case(C, "tk_stack", {"t": normal(2, 10, 4), "idx": ints(0, 10, 2, 3, dtype=I64)},
     lambda t, idx: np.stack([t[0][idx], t[1][idx]]))
case(C, "tk_ell", {"t": table, "idx": ints(0, 10, 2, 3, 5)}, lambda t, idx: t[idx])
case(C, "tk_u16", {"t": table, "idx": ints(0, 10, 6, dtype=U16)}, lambda t, idx: t[idx])
case(C, "tk_last", {"t": normal(4, 10), "idx": ints(0, 10, 5, dtype=I64)}, lambda t, idx: t[:, idx].T)
case(C, "tk_mid", {"t": normal(3, 10, 4), "idx": ints(0, 10, 5, dtype=I64)},
     lambda t, idx: rearrange(t[:, idx, :], "a i e -> e i a"))
case(C, "tk_1d", {"t": normal(10), "idx": ints(0, 10, 5, dtype=I64)}, lambda t, idx: t[idx])
case(C, "tk_rt", {"t": table, "idx": ints(0, 10, BATCH, SEQ, dtype=I64)}, lambda t, idx: t[idx])
case(C, "tk_i64_table", {"t": ints(-10**15, 10**15, 10, 3, dtype=I64), "idx": ints(0, 10, 4)}, lambda t, idx: t[idx])
case(C, "tk_bf16", {"t": normal(10, 4, dtype=BF16), "idx": ints(0, 10, 4, dtype=I64)}, lambda t, idx: t[idx])
case(C, "gx_emb", {"t": table, "idx": ints(0, 10, 2, 3, dtype=I64)}, lambda t, idx: t[idx])
case(C, "gx_emb", {"t": table, "idx": np.array([[0, 9, -1], [-10, 3, -4]], I64)}, lambda t, idx: t[idx],
     label="negative indices count from the end, as numpy's")
case(C, "gx_1d", {"t": normal(10), "idx": ints(0, 10, 5)}, lambda t, idx: t[idx])
case(C, "gx_r3", {"t": normal(10, 2, 3), "idx": ints(0, 10, 4, dtype=I64)}, lambda t, idx: t[idx])
case(C, "gx_rt", {"t": table, "idx": ints(0, 10, BATCH, SEQ, dtype=I64)}, lambda t, idx: t[idx])
case(C, "gx_rt_table", {"t": normal(BATCH, 4), "idx": ints(0, BATCH, 5, dtype=I64)}, lambda t, idx: t[idx])
case(C, "gx_bool_table", {"t": bools(10, 2), "idx": ints(0, 10, 3, dtype=I64)}, lambda t, idx: t[idx])

x345 = normal(3, 4, 5)
for fn, ref in [("ix_first", lambda x: x[0]), ("ix_two", lambda x: x[2]), ("ix_const", lambda x: x[2]),
                ("ix_neg", lambda x: x[-1]), ("ix_neg3", lambda x: x[-3]), ("ix_chain", lambda x: x[1][-1]),
                ("ix_chain3", lambda x: x[1][2][3]), ("ix_of_view", lambda x: x.T[1])]:
    case(C, fn, {"x": x345}, ref)
case(C, "ix_rt", {"x": normal(BATCH, 4)}, lambda x: x[1])
case(C, "ix_i64", {"x": ints(-10**15, 10**15, 3, 4, dtype=I64)}, lambda x: x[-2])
same(C, "ix_sum", lambda x: x[0] + x[1] * x[2], (3, 4))


# epilogues (plan_epilogue): f32 and f64 as the separate operations; bf16
# is rounded once for the product and once for the sum and relu on the
# CPU and in the GPU's own pass (the small case on the GPU too): the sum's
# order, and the double rounding against the reference's, 2 ulps
def relu(a):
    return np.maximum(a, 0)


E8 = {"x": normal(BATCH, 8), "w": normal(8, 5), "b": normal(5)}
case(C, "ep_bias", E8, lambda x, w, b: x @ w + b, out=F32, widen=True)
case(C, "ep_bias_first", E8, lambda x, w, b: b + x @ w, out=F32, widen=True)
case(C, "ep_relu", {"x": E8["x"], "w": E8["w"]}, lambda x, w: relu(x @ w), out=F32, widen=True)
case(C, "ep_relu_bias", {"x": normal(BATCH, SEQ, 8), "w": normal(8, 5), "b": normal(5)},
     lambda x, w, b: relu(x @ w + b), out=F32, widen=True)
case(C, "ep_mlp", {"x": normal(BATCH, 8), "w1": normal(8, 16), "b1": normal(16), "w2": normal(16, 3), "b2": normal(3)},
     lambda x, w1, b1, w2, b2: relu(x @ w1 + b1) @ w2 + b2, out=F32, widen=True)
case(C, "ep_batched", {"x": normal(2, 4, 8), "w": normal(2, 8, 5), "b": normal(5)},
     lambda x, w, b: relu(x @ w + b), out=F32, widen=True)
case(C, "ep_transposed", {"x": normal(8, 6), "w": normal(8, 5), "b": normal(5)},
     lambda x, w, b: x.T @ w + b, out=F32, widen=True)
case(C, "ep_rows", {"x": E8["x"], "w": E8["w"], "b": normal(BATCH)},
     lambda x, w, b: x @ w + b[:, None], out=F32, widen=True)
case(C, "ep_f64", {"x": normal(BATCH, 8, dtype=F64), "w": normal(8, 5, dtype=F64), "b": normal(5, dtype=F64)},
     lambda x, w, b: relu(x @ w + b))
L = {"x": normal(64, 512), "w": normal(512, 96, scale=0.05), "b": normal(96)}
case(C, "ep_large", L, lambda x, w, b: relu(x @ w + b), out=F32, widen=True)
case(C, "ep_large_bias", L, lambda x, w, b: x @ w + b, out=F32, widen=True)
case(C, "ep_large_relu", {"x": L["x"], "w": L["w"]}, lambda x, w: relu(x @ w), out=F32, widen=True)
case(C, "ep_bf16", {"x": normal(BATCH, 16, dtype=BF16), "w": normal(16, 8, dtype=BF16), "b": normal(8, dtype=BF16)},
     lambda x, w, b: relu(f(rnd(f(rnd(wide(x) @ wide(w), BF16)) + f(b), BF16))).astype(BF16), ulps=2)
# on cuBLASLt's epilogue (one rounding) the large one would part from the
# CPU's two roundings by many ulps where the bias cancels the product: small
# integers instead, so every sum, and every rounding, is exact on each path
LB = {"x": ints(-2, 3, 64, 512).astype(F32).astype(BF16),
      "w": (ints(-1, 2, 512, 128) * (RNG.random((512, 128)) < 0.15)).astype(F32).astype(BF16),
      "b": ints(-8, 9, 128).astype(F32).astype(BF16)}
assert np.abs(f(LB["x"]) @ f(LB["w"])).max() + 8 <= 256, "the bf16 sums must stay exact"
case(C, "ep_large_bf16", LB, lambda x, w, b: relu(f(x) @ f(w) + f(b)).astype(BF16))


def layers(x, w):
    for i in range(3):
        x = np.maximum(x @ w[i], 0)
    return x


def nested(x):
    for i in range(2):
        for j in range(3):
            x = x @ x * 0.5 + i - j
    return x


def retype(x):
    for _ in range(3):
        x = x.T + 1
    return x


case(C, "lp_layers", {"x": normal(2, 4), "w": normal(3, 4, 4)}, layers, out=F32, widen=True)
same(C, "lp_accumulate", lambda x: sum(x[i] * i for i in range(5)), (5, 3))
same(C, "lp_retype", retype, (2, 3))
same(C, "lp_empty", lambda x: x, (3,))
same(C, "lp_nested", nested, {"x": normal(2, 2, scale=0.5)})

# =====================================================================
# elementwise.td
# =====================================================================

W = "elementwise"
pos = uniform(0.1, 4, BATCH, 6)
anyx = normal(BATCH, 6, scale=2)
for fn, ref, x in [
    ("ew_sqrt", np.sqrt, pos),
    ("ew_rsqrt", lambda x: 1 / np.sqrt(x), pos),
    ("ew_exp", np.exp, anyx),
    ("ew_log", np.log, pos),
    ("ew_tanh", np.tanh, anyx),
    ("ew_sigmoid", sigmoid, normal(BATCH, 6, scale=6)),
    ("ew_gelu", gelu, anyx),
    ("ew_silu", lambda x: x * sigmoid(x), normal(BATCH, 6, scale=4)),
    ("ew_sin", np.sin, normal(BATCH, 6, scale=4)),
    ("ew_cos", np.cos, normal(BATCH, 6, scale=4)),
    ("ew_abs", np.abs, anyx),
    ("ew_relu", lambda x: np.maximum(x, 0), anyx),
    ("ew_neg", lambda x: -x, anyx),
    ("ew_pos", lambda x: +x, anyx),
    ("ew_pow2", lambda x: x ** 2, anyx),
    ("ew_pow3", lambda x: x ** 3, anyx),
    ("ew_pow_half", lambda x: x ** 0.5, pos),
    ("ew_pow_neg", lambda x: x ** -1, pos),
    ("ew_neg_pow", lambda x: -x ** 2, anyx),
    ("ew_max_lit", lambda x: np.maximum(x, 0.25), anyx),
]:
    same(W, fn, lambda x, r=ref: r(x), {"x": x})
same(W, "ew_pow_base", lambda y: 2 ** y, {"y": normal(BATCH, 6, scale=3)})
xy = {"x": normal(BATCH, 6), "y": normal(BATCH, 6)}
for fn, ref in [("ew_add", lambda x, y: x + y), ("ew_sub", lambda x, y: x - y), ("ew_mul", lambda x, y: x * y),
                ("ew_div", lambda x, y: x / y), ("ew_max", np.maximum), ("ew_min", np.minimum)]:
    same(W, fn, lambda x, y, r=ref: r(x, y), xy)
same(W, "ew_pow_tensor", lambda x, y: x ** y, {"x": pos, "y": normal(BATCH, 6)})
same(W, "ew_min_bcast", lambda x, y: np.minimum(y, x), {"x": normal(3, 6), "y": normal(6)})
same(W, "ew_where", lambda c, a, b: np.where(c, a, b), {"c": bools(3, 6), "a": normal(3, 6), "b": normal(6)})
same(W, "ew_where_lit", lambda x: np.where(x > 0, x, 0), (3, 6))
same(W, "ew_where_bcast_cond", lambda c, a, b: np.where(c, a, b), {"c": bools(6), "a": normal(3, 1), "b": normal()})
cx = normal(3, 6)
cy = np.where(bools(3, 6), cx, normal(3, 6))   # about half the elements equal
case(W, "ew_cmp", {"x": cx, "y": cy}, lambda x, y: (x == y, x != y, x < y, x <= y, x > y, x >= y))
case(W, "ew_cmp_lit", {"x": np.where(bools(3, 6), np.float32(1), cx)}, lambda x: (x > 0.5, x == 1))
case(W, "ew_cmp_int", {"x": ints(-3, 3, 3, 6), "y": ints(-3, 3, 6, dtype=I64)}, lambda x, y: (x < y, x == y))
case(W, "ew_cmp_bool", {"a": bools(6), "b": bools(6)},
     lambda a, b: (a == b, a != b, a < b, a >= b, np.where(a, b, a)))


def ew_doc(x):
    a = np.sqrt(np.abs(x)) + 1 / np.sqrt(x * x + 1e-6) + np.exp(-x) + np.log(sigmoid(x))
    b = np.tanh(x) + gelu(x) + x * sigmoid(x) + np.maximum(x, 0) + np.sin(x) * np.cos(x)
    c = np.maximum(a, 0) - np.minimum(b, x)
    return np.where(x > 0, c, 0) + np.tril(np.ones((x.shape[0],) * 2)) @ x


same(W, "ew_doc", ew_doc, (SEQ, 6))
same(W, "ew_fused", lambda x, y: np.exp(-(x - y) ** 2 / 2) * sigmoid(y) + np.tanh(x * y) / (1 + np.abs(x)),
     {"x": normal(BATCH, 6), "y": normal(6)})

same(W, "bc_three", lambda x, b, m: x + b + m, {"x": normal(2, 3, 4), "b": normal(4), "m": normal(3, 1)})
same(W, "bc_both", lambda a, b: a * b, {"a": normal(3, 1), "b": normal(1, 4)})
same(W, "bc_rank", lambda a, b: a - b, {"a": normal(2, 1, 4), "b": normal(3, 1)})
same(W, "bc_scalar", lambda x, s: x * s + s, {"x": normal(3, 4), "s": normal()})
same(W, "bc_scalar_only", lambda s, t: s / t - s * t, {"s": normal(), "t": uniform(1, 2)})
same(W, "bc_rt", lambda x, b, c: (x - b) / c,
     {"x": normal(BATCH, SEQ, 4), "b": normal(SEQ, 4), "c": uniform(1, 2, BATCH, 1, 1)})
same(W, "bc_r6", lambda a, b: a * b + a, {"a": normal(2, 1, 3, 1, 2, 1), "b": normal(1, 2, 1, 3, 1, 2)})

# integers and promotion (exact: small values, no overflow unless a label says so)
nz = ints(1, 20, 6) * np.where(bools(6), 1, -1).astype(I32)
case(W, "pr_int_div", {"a": ints(-100, 100, 6), "b": nz}, lambda a, b: a / b, out=F32)
case(W, "pr_int_div", {"a": np.array([1, -1, 0, 7, 0, -3], I32), "b": np.array([0, 0, 0, 2, 5, 0], I32)},
     lambda a, b: a / b, out=F32, label="by zero: inf and nan")
case(W, "pr_int_div_lit", {"a": ints(-100, 100, 6)}, lambda a: a / 2, out=F32)
case(W, "pr_int_arith", {"a": ints(-1000, 1000, 6), "b": ints(-10**12, 10**12, 6, dtype=I64)},
     lambda a, b: a + b * 3 - a)
case(W, "pr_i32_ops", {"a": ints(-10**4, 10**4, 6), "b": ints(-10**4, 10**4, 6)},
     lambda a, b: (a + b, a - b, a * b, -a))
case(W, "pr_i64_pow", {"a": ints(-1000, 1000, 6, dtype=I64)}, lambda a: a ** 3)
case(W, "pr_i32_pow", {"a": ints(-1000, 1000, 6)}, lambda a: a ** 2)
case(W, "pr_int_pow_tensor", {"a": ints(-9, 10, 6), "b": ints(0, 6, 6)}, lambda a, b: a ** b)
same(W, "pr_float_pow_int", lambda x, b: x ** b, {"x": normal(6), "b": ints(-3, 4, 6)})
case(W, "pr_abs_int", {"a": ints(-1000, 1000, 6)}, lambda a: (np.abs(a), np.maximum(a, 0)))
case(W, "pr_max_int", {"a": ints(-5, 5, 6, dtype=I64), "b": ints(-5, 5, 6)},
     lambda a, b: (np.maximum(a, b), np.minimum(a, b)))
case(W, "pr_int_float_lit", {"a": ints(-1000, 1000, 6)}, lambda a: a * 2.5, out=F32)
case(W, "pr_int_f16", {"a": ints(-100, 100, 6), "h": normal(6, dtype=F16)},
     lambda a, h: rnd(f(a.astype(F16)) + f(h), F16))   # i32 to f16 (exact here), then one f16 add
case(W, "pr_bool_mul", {"m": bools(6), "x": normal(6)}, lambda m, x: m * x)
case(W, "pr_bool_int_lit", {"m": bools(6)}, lambda m: m + 1, out=I64)
case(W, "pr_bool_float_lit", {"m": bools(6)}, lambda m: m * 2.5, out=F32)
case(W, "pr_bool_int", {"m": bools(6), "a": ints(-100, 100, 6)}, lambda m, a: m * a + a)
case(W, "pr_u16", {"a": ints(100, 200, 6, dtype=U16), "b": ints(0, 100, 6, dtype=U16)},
     lambda a, b: (a + b, a * b, a - b))
case(W, "pr_u16", {"a": ints(0, 65536, 6, dtype=U16), "b": ints(30000, 65536, 6, dtype=U16)},
     lambda a, b: (a + b, a * b, a - b), label="wraps modulo 2^16")
case(W, "pr_u16_i32", {"a": ints(0, 65536, 6, dtype=U16), "b": ints(-10**5, 10**5, 6)},
     lambda a, b: a.astype(I32) - b)
# A literal meeting a narrow float is used at f32 precision, as PyTorch's
# opmath does (LANGUAGE.md section 11): 0.1 here is the f32 0.1, not the f16 one.
case(W, "pr_weak_f16", {"h": normal(6, dtype=F16)},
     lambda h: rnd(f(rnd(f(h) * 2, F16)) + np.float32(0.1), F16))
same(W, "pr_weak_const", lambda x: x * (1 / math.sqrt(6)), (6,))

# f64: rtol 1e-12
f64x = normal(6, dtype=F64, scale=2)
case(W, "f64_fns", {"x": f64x},
     lambda x: (np.exp(x), np.tanh(x), sigmoid(x), gelu(x), x * sigmoid(x), np.sin(x), np.cos(x)))
case(W, "f64_pos", {"x": uniform(0.1, 5, 6, dtype=F64)}, lambda x: (np.sqrt(x), 1 / np.sqrt(x), np.log(x), x ** 0.25))
case(W, "f64_arith", {"x": normal(6, dtype=F64), "y": uniform(0, 2, 6, dtype=F64)},
     lambda x, y: (x + y) * (x - y) / (y + 3) - np.maximum(x, y) + np.abs(-x) + np.maximum(y, 0))
case(W, "f64_lit", {"x": normal(6, dtype=F64)}, lambda x: x * 0.1 + 1e-300)   # 0.1 as a double, not an f32


# narrow floats: each operation in f32, rounded once
def narrow_arith(dt):
    def ref(x, y):
        x, y = f(x), f(y)
        return rnd(x + y, dt), rnd(x - y, dt), rnd(x * y, dt), rnd(x / y, dt)
    return ref


def narrow_chain(dt):
    def ref(x, y):
        xf, yf = f(x), f(y)
        t = rnd(f(rnd(xf * yf, dt)) + f(rnd(xf / yf, dt)), dt)
        return rnd(f(t) - xf, dt)
    return ref


hx = normal(6, dtype=F16, scale=2)
hy = uniform(0.5, 2, 6, dtype=F16) * np.where(bools(6), 1, -1).astype(F16)
case(W, "h_arith", {"x": hx, "y": hy}, narrow_arith(F16))
case(W, "h_chain", {"x": hx, "y": hy}, narrow_chain(F16))
# transcendental functions: f32's (not correctly rounded) can land on the
# other side of an f16/bf16 rounding boundary: 1 ulp
case(W, "h_fns", {"x": hx}, lambda x: (rnd(np.exp(wide(x)), F16), rnd(np.tanh(wide(x)), F16),
                                        rnd(sigmoid(wide(x)), F16), rnd(np.sqrt(np.abs(wide(x))), F16)), ulps=1)
bx = normal(6, dtype=BF16, scale=2)
by = (uniform(0.5, 2, 6) * np.where(bools(6), 1, -1)).astype(BF16)
case(W, "b_arith", {"x": bx, "y": by}, narrow_arith(BF16))
case(W, "b_chain", {"x": bx, "y": by}, narrow_chain(BF16))
case(W, "b_fns", {"x": bx}, lambda x: (rnd(np.exp(wide(x)), BF16), rnd(np.tanh(wide(x)), BF16),
                                        rnd(gelu(wide(x)), BF16), rnd(wide(x) * sigmoid(wide(x)), BF16)),
     ulps=1)   # as h_fns
# as pr_weak_f16: the literal is the f32 0.1
case(W, "b_weak", {"x": bx}, lambda x: rnd(f(rnd(f(x) * 3, BF16)) + np.float32(0.1), BF16))
case(W, "b_cmp", {"x": bx, "y": np.where(bools(6), bx, by)}, lambda x, y: f(x) < f(y))

# FP8: each operation in f32, rounded once (e4m3 is the "fn" variant: no inf)
qx, qy = normal(6, scale=4).astype(E4M3), (uniform(0.5, 4, 6) * np.where(bools(6), 1, -1)).astype(E4M3)
case(W, "q_arith", {"x": qx, "y": qy}, lambda x, y: (rnd(f(x) + f(y), E4M3), rnd(f(x) * f(y), E4M3),
                                                      rnd(f(x) / f(y), E4M3)))
q5x, q5y = normal(6, scale=4).astype(E5M2), normal(6, scale=4).astype(E5M2)
case(W, "q5_chain", {"x": q5x, "y": q5y}, lambda x, y: rnd(f(rnd(f(x) * f(y), E5M2)) - f(x), E5M2))
case(W, "q_mm", {"x": normal(2, 6).astype(E4M3), "y": normal(6, 3).astype(E4M3)},
     lambda x, y: rnd(wide(x) @ wide(y), E4M3), ulps=1)   # one rounding of an f32 GEMM: 1 ulp for the sum order
case(W, "q5_sum", {"x": normal(2, 6).astype(E5M2)}, lambda x: rnd(wide(x).sum(1), E5M2), ulps=1)   # as q_mm
case(W, "q5_bf16", {"x": q5x}, lambda x: f(x).astype(BF16))   # exact

# casts
fr = uniform(-100, 100, 6)
fr[:2] = [2.5, -2.5]
case(W, "c_f32_i32", {"x": fr}, lambda x: x.astype(I32))   # toward zero
case(W, "c_f32_i64", {"x": uniform(-1e12, 1e12, 6)}, lambda x: x.astype(I64))
case(W, "c_f32_u16", {"x": uniform(0, 65535, 6)}, lambda x: x.astype(U16))
case(W, "c_f32_f64", {"x": normal(6)}, lambda x: x.astype(F64))
case(W, "c_f64_f32", {"x": normal(6, dtype=F64)}, lambda x: x.astype(F32))
case(W, "c_f64_i64", {"x": uniform(-1e15, 1e15, 6, dtype=F64)}, lambda x: x.astype(I64))
case(W, "c_i64_f32", {"x": ints(-10**15, 10**15, 6, dtype=I64)}, lambda x: x.astype(F32))
case(W, "c_i64_f64", {"x": ints(-2**62, 2**62, 6, dtype=I64)}, lambda x: x.astype(F64))
case(W, "c_i32_f64", {"x": ints(-2**31, 2**31 - 1, 6)}, lambda x: x.astype(F64))
case(W, "c_i32_i64", {"x": ints(-2**31, 2**31 - 1, 6)}, lambda x: x.astype(I64))
case(W, "c_i64_i32", {"x": ints(-2**31, 2**31 - 1, 6, dtype=I64)}, lambda x: x.astype(I32))
case(W, "c_u16_i64", {"x": ints(0, 65536, 6, dtype=U16)}, lambda x: x.astype(I64))
case(W, "c_u16_f32", {"x": ints(0, 65536, 6, dtype=U16)}, lambda x: x.astype(F32))
case(W, "c_f32_bool", {"x": np.array([0.0, -0.0, 1e-30, -2.5, 1.0, 0.0], F32)}, lambda x: x != 0)
case(W, "c_i32_bool", {"x": np.array([0, 1, -1, 7, 0, 2**31 - 1], I32)}, lambda x: x != 0)
case(W, "c_bool_f32", {"x": bools(6)}, lambda x: x.astype(F32))
case(W, "c_bool_i32", {"x": bools(6)}, lambda x: x.astype(I32))
# conversions to narrow floats: round to nearest even, bit for bit as ml_dtypes / numpy
special16 = np.array([65504, 65520, 1e-8, -6e-8, np.inf, np.nan], F32)
case(W, "c_f32_f16", {"x": normal(6, scale=100)}, lambda x: x.astype(F16))
case(W, "c_f32_f16", {"x": special16}, lambda x: x.astype(F16), label="overflow, subnormals, inf, nan")
case(W, "c_f32_bf16", {"x": normal(6, scale=100)}, lambda x: x.astype(BF16))
case(W, "c_f32_bf16", {"x": np.array([1 + 2**-8, 1 + 3 * 2**-8, -(1 + 2**-8), 3.4e38, 1e-40, -np.inf], F32)},
     lambda x: x.astype(BF16), label="ties to even, overflow, subnormal")
case(W, "c_f64_f16", {"x": normal(6, dtype=F64)}, lambda x: x.astype(F16))
# f64 -> f16 rounds once, as numpy's cast does, also next to f16's rounding boundaries
case(W, "c_f64_f16", {"x": np.array([1 + 2**-11 + 2**-40, -(1 + 2**-11 + 2**-40), 2.0**-25 + 2**-60,
                                      65520 - 1e-9, 1 + 2**-8 + 2**-40, 1.0])},
     lambda x: x.astype(F16), label="one rounding near f16 boundaries")
case(W, "c_f64_bf16", {"x": normal(6, dtype=F64)}, lambda x: x.astype(BF16))
case(W, "c_f16_f32", {"x": normal(6, dtype=F16)}, lambda x: x.astype(F32))
case(W, "c_bf16_f32", {"x": normal(6, dtype=BF16)}, lambda x: x.astype(F32))
case(W, "c_f16_bf16", {"x": normal(6, dtype=F16)}, lambda x: x.astype(F32).astype(BF16))
case(W, "c_bf16_f64", {"x": normal(6, dtype=BF16)}, lambda x: x.astype(F64))
case(W, "c_bf16_i32", {"x": normal(6, dtype=BF16, scale=50)}, lambda x: x.astype(F32).astype(I32))
case(W, "c_i32_bf16", {"x": ints(-10**6, 10**6, 6)}, lambda x: x.astype(F64).astype(BF16))
case(W, "c_bool_bf16", {"x": bools(6)}, lambda x: x.astype(BF16))
case(W, "c_f32_e4m3", {"x": normal(6, scale=100)}, lambda x: x.astype(E4M3))
case(W, "c_f32_e4m3", {"x": np.array([448, 464, 465, 1e-4, -0.3, np.nan], F32)}, lambda x: x.astype(E4M3),
     label="saturation to 448, NaN above 464")
case(W, "c_f32_e5m2", {"x": normal(6, scale=1000)}, lambda x: x.astype(E5M2))
case(W, "c_e4m3_f32", {"x": normal(6, scale=10).astype(E4M3)}, lambda x: x.astype(F32))
case(W, "c_arith", {"x": ints(-100, 100, 6)}, lambda x: x.astype(F32) / 3, out=F32, widen=True)
case(W, "c_cmp", {"x": normal(6)}, lambda x: (x > 0).astype(I64))
case(W, "c_roundtrip", {"x": normal(6)}, lambda x: x.astype(BF16).astype(F32) - x)

# constructors
case(W, "k_zeros", {}, lambda: np.zeros((3, 4), F32))
case(W, "k_ones_bf16", {}, lambda: np.ones((2, 3), BF16))
case(W, "k_ones_i32", {}, lambda: np.ones(4, I32))
case(W, "k_zeros_bool", {}, lambda: np.zeros((2, 2), BOOL))
case(W, "k_full", {}, lambda: np.full((2, 3), -1.5, F32))
case(W, "k_full_int", {}, lambda: np.full(4, 7, I64))
case(W, "k_full_bool", {}, lambda: np.full((2, 2), True))
case(W, "k_full_f64", {}, lambda: np.full(3, 0.1, F64))   # 0.1 as a double
case(W, "k_full_i32", {}, lambda: np.full(2, -3, I32))
case(W, "k_full_scalar", {}, lambda: np.float32(2.5))
case(W, "k_arange", {}, lambda: np.arange(5, dtype=I64))
case(W, "k_arange_f32", {}, lambda: np.arange(7, dtype=F32))
case(W, "k_arange_rt", {"x": normal(BATCH)}, lambda x: np.arange(BATCH, dtype=I64))
case(W, "k_arange_cmp", {}, lambda: np.arange(6) < 3)
case(W, "k_triu_ones", {}, lambda: np.triu(np.ones((4, 4), F32)))
case(W, "k_triu_d1", {}, lambda: np.triu(np.ones((4, 4), F32), 1))
case(W, "k_tril_ones", {}, lambda: np.tril(np.ones((4, 4), F32)))
case(W, "k_tril_dm1", {}, lambda: np.tril(np.ones((4, 4), F32), -1))
case(W, "k_triu_x", {"x": normal(2, 3, 4, 5)}, lambda x: np.triu(x))
case(W, "k_triu_x_d2", {"x": normal(5, 3)}, lambda x: np.triu(x, 2))
case(W, "k_tril_x_dm2", {"x": normal(3, 5)}, lambda x: np.tril(x, -2))
case(W, "k_tril_x_d1", {"x": normal(2, 4, 3)}, lambda x: np.tril(x, 1))
case(W, "k_triu_i32", {"x": ints(-100, 100, 3, 3)}, lambda x: np.triu(x))
case(W, "k_tril_rt", {"x": normal(BATCH, SEQ, SEQ)}, lambda x: np.tril(x))
same(W, "k_causal", lambda x: np.cumsum(x, 0), (SEQ, 6))
same(W, "k_mask", lambda x: np.where(np.triu(np.ones((SEQ, SEQ)), 1) > 0, -1e9, x), (SEQ, SEQ))
same(W, "k_zeros_rt", lambda x: x + 1, (BATCH, 6))
same(W, "k_size_local", lambda x: repeat(x, "b n -> b (n k)", k=2), (BATCH, 6))

# =====================================================================
# calls.td: the standard library, generic functions, params
# =====================================================================

K = "calls"


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def log_softmax(x):
    s = x - x.max(-1, keepdims=True)
    return s - np.log(np.exp(s).sum(-1, keepdims=True))


def layer_norm(x, g, b):
    c = x - x.mean(-1, keepdims=True)
    return c / np.sqrt((c ** 2).mean(-1, keepdims=True) + 1e-5) * g + b


def cross_entropy(logits, t):
    lp = log_softmax(logits)
    return -np.take_along_axis(lp, t[..., None], -1).mean()


same(K, "sm_r1", softmax, (5,))
same(K, "sm_r2", softmax, {"x": normal(3, 5, scale=30)}, label="large logits")
same(K, "sm_r3", softmax, (2, 3, 5))
same(K, "sm_rt", softmax, (BATCH, SEQ, 5))
# on the GPU a row group keeps rows of up to 48 KiB in shared memory (the row cache) and reads longer ones
# from global memory in every phase: both ways, and a row of many elements a thread
same(K, "sm_wide", softmax, {"x": normal(3, 4096, scale=3)}, dims={"wide": 4096}, label="rows in the GPU's row cache")
same(K, "sm_wide", softmax, {"x": normal(3, 20000, scale=3)}, dims={"wide": 20000}, label="rows past the GPU's row cache (80 KB)")
# the cache and the kernel's own shared memory (its combines' arrays, 768 bytes here) within 48 KiB: a row of
# 12000 f32 (48000 bytes) is cached, one of 12288 (48 KiB exactly) is not
same(K, "sm_wide", softmax, {"x": normal(3, 12000, scale=3)}, dims={"wide": 12000}, label="rows just in the row cache")
same(K, "sm_wide", softmax, {"x": normal(3, 12288, scale=3)}, dims={"wide": 12288}, label="rows of 48 KiB: past the row cache with the combines")
# the same with the row's length a number: the GPU code has only the kernel the host would choose
same(K, "sm_fits", softmax, {"x": normal(3, 12000, scale=3)}, label="static rows in the row cache: its kernel alone")
same(K, "sm_past", softmax, {"x": normal(3, 12288, scale=3)}, label="static rows past the row cache: the plain kernel alone")
case(K, "sm_f64", {"x": normal(3, 5, dtype=F64, scale=10)}, softmax)


def softmax_narrow(x, dt):
    """nn.td's softmax, one rounding to dt per operation."""
    x = f(x)
    shifted = f(rnd(x - x.max(-1, keepdims=True), dt))
    e = f(rnd(np.exp(shifted), dt))
    return rnd(e / f(rnd(e.sum(-1, keepdims=True), dt)), dt)


# exp and the sum in f32 may each land 1 ulp from the reference's rounding
case(K, "sm_bf16", {"x": normal(3, 5, dtype=BF16, scale=3)}, lambda x: softmax_narrow(x, BF16), ulps=1)
same(K, "lsm_r1", log_softmax, (5,))
same(K, "lsm_r3", log_softmax, {"x": normal(2, 3, 5, scale=30)}, label="large logits")
for fn, shape in [("ln_r1", (8,)), ("ln_r2", (3, 8)), ("ln_r3", (2, 3, 8))]:
    same(K, fn, lambda x, g, bias: layer_norm(x, g, bias), {"x": normal(*shape, scale=3) + 1, "g": normal(8), "bias": normal(8)})
same(K, "ln_wide", lambda x, g, bias: layer_norm(x, g, bias),
     {"x": normal(3, 13000, scale=3) + 1, "g": normal(13000), "bias": normal(13000)}, dims={"wide": 13000}, label="rows past the GPU's row cache")
same(K, "ce_r2", cross_entropy, {"logits": normal(4, 5), "t": ints(0, 5, 4, dtype=I64)})
same(K, "ce_r3", cross_entropy, {"logits": normal(2, 3, 5, scale=5), "t": ints(0, 5, 2, 3, dtype=I64)})
same(K, "ce_r1", cross_entropy, {"logits": normal(5), "t": np.int64(3)})
same(K, "ce_rt", cross_entropy, {"logits": normal(BATCH, 5), "t": ints(0, 5, BATCH, dtype=I64)})

def bf16_matmul_grad(x, v):
    """loss = sum(f32(x @ v)^2) in bf16 products (f32 sums, one rounding each), its gradients as tdc's
    backward computes them: the adjoint 2 y rounded to bf16, then a product of bf16 operands for each
    gradient whose f32 sums are the f32 result (the widening cast's adjoint: no rounding to bf16)."""
    xf, vf = f(x), f(v)
    g = f(rnd(2 * f(rnd(xf @ vf, BF16)), BF16))
    return (g @ vf.T).astype(np.float32), (xf.T @ g).astype(np.float32)


# the f32 sums' order may move a bf16 rounding by one place: 2^-8 relative
case(K, "gn_bf16_matmul_grad", {"x": normal(3, 8, dtype=BF16), "v": normal(8, 5, dtype=BF16)}, bf16_matmul_grad,
     out=(F32, F32), rtol=1e-2, atol=1e-2)

same(K, "gn_stack_tiles", lambda w: np.stack([np.full_like(w[0], 2), 2 * w[1], np.exp(w[2])]), {"w": normal(3, 4, 5)})
same(K, "gn_stack_tiles_kept", lambda w: 2 * np.stack([np.full_like(w[0], 2), 2 * w[1], np.exp(w[2])]) + w,
     {"w": normal(3, 4, 5)})
same(K, "gn_stack_piece", lambda w: np.stack([np.zeros_like(w[0]), 2 * w[1], np.zeros_like(w[2])]), {"w": normal(3, 4, 5)})


def bf16_chain_grad(x, w, v):
    """loss = sum(f32(x @ w @ v)^2) in bf16 products; w's gradient as tdc's backward computes it."""
    xf, wf, vf = f(x), f(w), f(v)
    h = f(rnd(xf @ wf, BF16))
    g = f(rnd(2 * f(rnd(h @ vf, BF16)), BF16))
    gh = f(rnd(g @ vf.T, BF16))
    return (xf.T @ gh).astype(np.float32)


for k in (1000, 6):  # 8 elements a lane, and one
    case(K, "gn_bf16_head", {"h": normal(BATCH, k, dtype=BF16), "v": normal(k, 1)},
         lambda h, v: (f(h).astype(np.float32) @ v, f(h).astype(np.float32)), out=(F32, F32), dims={"wide": k},
         label=f"rows of {k}", rtol=1e-5, atol=1e-5)
case(K, "gn_bf16_head_chain", {"x": normal(BATCH, 16, dtype=BF16), "w": normal(16, 16, dtype=BF16), "v": normal(16, 1)},
     lambda x, w, v: f(rnd(f(x) @ f(w), BF16)) @ v, dims={"wide": 16}, rtol=1e-2, atol=1e-2)
case(K, "gn_bf16_weight_grad", {"x": np.array([[256, 3], [1, 5], [0, 7]]).astype(BF16), "w": normal(2, 1)},
     lambda x, w: np.array([[257], [15]], F32), rtol=0, atol=0)
case(K, "gn_bf16_chain_grad", {"x": normal(3, 8, dtype=BF16), "w": normal(8, 6, dtype=BF16), "v": normal(6, 5, dtype=BF16)},
     bf16_chain_grad, rtol=2e-2, atol=2e-2)
same(K, "gn_use", lambda x, v: rearrange((x @ v) / 2, "b (two m) -> b two m", two=2),
     {"x": normal(BATCH, 16), "v": normal(16, 4)})
same(K, "gn_mm_twice", lambda x, y, z: x @ y @ z, {"x": normal(3, 4), "y": normal(4, 5), "z": normal(5, 2)})


def centre(x):
    return x - x.sum(1, keepdims=True) / 8


same(K, "gn_twice_centred", lambda x: centre(centre(x)) * 2, (BATCH, 8))
same(K, "gn_stats", lambda x: (x.sum(1), x.sum(1) / 8), (BATCH, 8))
same(K, "centre", centre, (BATCH, 8), label="a result type inferred from the body")
same(K, "stats", lambda x: (x.sum(1), x.sum(1) / 8), (BATCH, 8))
same(K, "gn_float_f32", lambda y: y * 0.5, {"y": normal(5)})
case(K, "gn_float_bf16", {"h": normal(4, 5, dtype=BF16)}, lambda h: rnd(f(h) * 3, BF16))
same(K, "gn_ell_consts", lambda x: x + 4 + np.arange(4), (2, 3, 4))
same(K, "gn_ell_consts_r1", lambda x: x + 7 + np.arange(7), (7,))


def attention(x, wq, wk, wv):
    def split(t):
        return rearrange(t, "b t (h e) -> b h t e", h=2)
    q, k, v = split(x @ wq), split(x @ wk), split(x @ wv)
    o = softmax(np.einsum("bhte,bhse->bhts", q, k) / 2) @ v
    return rearrange(o, "b h t e -> b t (h e)")


same(K, "gn_attention", attention, {"x": normal(2, SEQ, 8), "wq": normal(8, 8, scale=0.5),
                                    "wk": normal(8, 8, scale=0.5), "wv": normal(8, 8)})
same(K, "gn_causal_attention",
     lambda q, k, v: softmax(np.where(np.triu(np.ones((SEQ, SEQ)), 1) > 0, -1e9, q @ k.T / 2)) @ v,
     {"q": normal(SEQ, 4), "k": normal(SEQ, 4), "v": normal(SEQ, 4)})

# =====================================================================
# fusion.td, compiled as usual and with --no-fuse
# =====================================================================

BIG_X = None   # drawn below, once for both programs
for U in ("fusion", "fusion_nofuse"):
    BIG_X = normal(1024, 1024) if BIG_X is None else BIG_X
    same(U, "fu_triu_t", lambda x: np.triu(x).T * 2, (4, 4))
    same(U, "fu_triu_of_t", lambda x: np.triu(x.T) + x, (4, 4))
    same(U, "fu_tril_rect_t", lambda x: np.tril(x, 1).T + 1, (3, 4))
    case(U, "fu_triu_ones_t", {}, lambda: np.triu(np.ones((3, 4), F32)).T * 3)
    same(U, "fu_triu_batched_t", lambda x: rearrange(np.triu(x, -1) - 1, "b r c -> c b r"), (2, 3, 4))
    same(U, "fu_arange_t", lambda x: (x + np.arange(3)).T * 2, (4, 3))
    same(U, "fu_arange_col", lambda x: x * np.arange(4)[:, None], (4, 3))
    case(U, "fu_arange_repeat", {}, lambda: np.arange(4)[None, :] * 10 + np.arange(3)[:, None])
    same(U, "fu_view_chain", lambda x: rearrange(np.exp(x), "a b c -> c (a b)") - 1, (2, 3, 4))
    same(U, "fu_where_views", lambda c, x: np.where(c, x.T, -x[0, 0]), {"c": bools(3, 4), "x": normal(4, 3)})
    same(U, "fu_split_merge",
         lambda x: rearrange(rearrange(x * 2, "a (b c) -> c b a", b=3) + 1, "c b a -> (b c) a"), (2, 12))
    same(U, "fu_multi_use", lambda x: (np.exp(x) + 1, np.exp(x) * 2), (4,))
    same(U, "fu_same_twice", lambda x: (x * 2, x * 2), (4,))
    same(U, "fu_return_input", lambda x: x, (3, 4))
    same(U, "fu_return_input_twice", lambda x: (x, x), (3, 4))
    same(U, "fu_return_input_view", lambda x: (x.T, x), (3, 4))
    same(U, "fu_view_and_base", lambda x: (x + 1, (x + 1).T), (3, 4))
    same(U, "fu_inputs_swapped", lambda x, y: (y, x), {"x": normal(4), "y": normal(4)})
    same(U, "fu_self_transpose", lambda x: x + x.T, (4, 4))
    same(U, "fu_loop_transpose", lambda x: (lambda a: (lambda b: b + b.T * 0.5)((lambda c: c + c.T * 0.5)(a)))(
        x + x.T * 0.5), (4, 4))
    same(U, "fu_self_reverse", lambda x: rearrange(np.exp(x), "(a b) -> (b a)", a=2) - np.exp(x), (8,))
    same(U, "fu_inplace_mm", lambda x, w: x @ w @ w, {"x": normal(4, 4), "w": normal(4, 4)})
    same(U, "fu_mm_self", lambda a: a @ a, {"a": normal(4, 4)})
    same(U, "fu_mm_self_t", lambda a: a @ a.T, {"a": normal(4, 4)})
    same(U, "fu_einsum_same", lambda a: a.T @ a, {"a": normal(3, 4)})
    same(U, "fu_einsum_three_same", lambda a: a @ a @ a, {"a": normal(4, 4)})
    same(U, "fu_mm_views", lambda a, b: np.swapaxes(a, 1, 2) @ np.swapaxes(b, 1, 2),
         {"a": normal(2, 5, 3), "b": normal(2, 4, 5)})
    same(U, "fu_mm_repeat", lambda a, b: np.stack([a @ b, a @ b]), {"a": normal(3, 4), "b": normal(4, 5)})
    same(U, "fu_mm_fused_operand", lambda a, b: np.exp(a) @ (b * 2), {"a": normal(3, 4), "b": normal(4, 5)})
    same(U, "fu_mm_into_map", lambda a, b, c: np.tanh(a @ b + c),
         {"a": normal(3, 4), "b": normal(4, 5), "c": normal(5)})
    same(U, "fu_reduce_view", lambda x: x.max((0, 2)), (3, 4, 5))
    same(U, "fu_reduce_bcast", lambda x: x * 8, (3,))
    same(U, "fu_reduce_fused", lambda x: (np.exp(x) * x).sum(0), (4, 6))
    same(U, "fu_reduce_then_map", lambda x: x - x.mean(1, keepdims=True), (4, 6))
    case(U, "fu_gather_view", {"t": normal(4, 10), "idx": ints(0, 10, 3, dtype=I64)}, lambda t, idx: t.T[idx])
    same(U, "fu_gather_fused", lambda t, idx: np.exp(t)[idx] * 2, {"t": normal(10, 4), "idx": ints(0, 10, 3, dtype=I64)})
    same(U, "fu_index_fused", lambda x: (x * 2)[1] + 1, (3, 4))
    same(U, "fu_index_view", lambda x: x.T[-1] * 2, (3, 4))
    same(U, "fu_repeat_merge", lambda x: np.repeat(x, 4), (3,))
    same(U, "fu_repeat_merge_t", lambda x: np.tile(x, 4) * 2, (3,))
    same(U, "fu_regroup", lambda x: rearrange(rearrange(x, "a (b c) -> (c a) b", b=3), "(c a) b -> b (a c)", c=2),
         (4, 6))
    same(U, "fu_view_of_view", lambda x: rearrange(x, "a b c -> c (b a)"), (2, 3, 4))
    same(U, "fu_flat_unflat", lambda x: repeat(x, "a b -> b a k", k=4), (2, 3))
    same(U, "fu_diag_of_t", lambda x: np.diag(x), (4, 4))
    same(U, "fu_diag_split", lambda x: np.einsum("abcb->ac", x.reshape(3, 2, 3, 2)), (6, 6))
    same(U, "fu_many_inputs", lambda **x: (x["x0"] + x["x1"] * x["x2"] + x["x3"] + x["x4"] * x["x5"]
                                           + sum(x[f"x{i}"] for i in range(6, 19)) - x["x19"]),
         {f"x{i}": normal(4) for i in range(20)})
    same(U, "fu_big_map", lambda x, b: x.T * b + np.tanh(x), {"x": BIG_X, "b": normal(1024)})
    # sums of 1024 terms ~N(0, 1) in f32: atol 1e-4 (~sqrt(1024) * 2^-24 * 32)
    same(U, "fu_big_reduce", lambda x: (x.sum(0), x.max(1)), {"x": BIG_X}, atol=1e-4)
    same(U, "fu_big_triu", lambda x: np.triu(x, 3).T + np.arange(1024), {"x": BIG_X})

# =====================================================================
# dims.td: run-time and derived dims (batch 6, seq 5 here: batch/2 must be whole)
# =====================================================================

D = "dims"
B6 = {"batch": 6, "seq": 5}
same(D, "dm_double", lambda x: x.reshape(6, 2, 3), (12, 3), dims=B6, given={"seq"})
same(D, "dm_halves", lambda x: x.reshape(2, 3, 3), (6, 3), dims=B6, given={"seq"})
same(D, "dm_flat", lambda x: x.reshape(-1), (6, 5), dims=B6, given=set())
same(D, "dm_unflat", lambda x, y: x.reshape(6, 5).T + y, {"x": normal(30), "y": normal(6)}, dims=B6, given={"seq"})
same(D, "dm_half_in", lambda x: x[0] * 2, (3, 3), dims=B6, given={"seq"}, label="batch from half = batch/2")
same(D, "dm_pairs", lambda x: x.reshape(-1), (5, 2), dims=B6, given={"batch"})
same(D, "dm_mix", lambda x, y: x + y.reshape(6, 5), {"x": normal(6, 5), "y": normal(3, 2, 5)}, dims=B6, given=set())
same(D, "dm_sizevar", lambda x: x.T * 5 + 6, (6, 5), dims=B6, given=set())
same(D, "dm_loop", lambda x: (lambda a: (lambda b: (lambda c: c)(b * 2 + b[1]))(a * 2 + a[1]))(x * 2 + x[1]),
     (6, 5), dims=B6, given=set())
same(D, "dm_repeat", lambda x: np.repeat(x[:, None], 6, 1), (5,), dims=B6, given={"batch"})
case(D, "dm_arange", {}, lambda: np.arange(30, dtype=I64) + 3, dims=B6, given={"batch", "seq"})
same(D, "dm_mean_rt", lambda x: x.sum(0) / 6, (6, 5), dims=B6, given=set())
same(D, "dm_double", lambda x: x.reshape(2, 2, 3), (4, 3), dims={"batch": 2, "seq": 1}, given={"seq"},
     label="batch 2, seq 1")

# =====================================================================
# examples/lesson.td: the lesson's checks
# =====================================================================

L = "lesson"
case(L, "jaxtyping_basics", {}, lambda: np.ones((2, 3, 1, 4), F32))
same(L, "einops_einsum", lambda x, y: x @ np.swapaxes(y, 1, 2), {"x": normal(2, 3, 4), "y": normal(2, 3, 4)})
same(L, "einops_reduce", lambda x: (x.sum(-1), x.mean(-1)), (2, 3, 4))
same(L, "einops_rearrange",
     lambda x, w: rearrange(np.einsum("bshi,ij->bshj", rearrange(x, "... (heads h1) -> ... heads h1", heads=2), w),
                            "... heads h2 -> ... (heads h2)"),
     {"x": normal(2, 3, 8), "w": normal(4, 4)})
same(L, "tensor_views", lambda x: (x.reshape(3, 2), x.T), {"x": np.array([[1, 2, 3], [4, 5, 6]], F32)})
same(L, "tensor_views", lambda x: (x.reshape(3, 2), x.T), (2, 3), label="random")
case(L, "tensor_elementwise", {"x": np.array([1, 4, 9], F32)}, lambda x: np.triu(np.ones((3, 3), F32)),
     label="the triu of ones")
case(L, "tensor_matmul", {}, lambda: (np.full((16, 2), 32, F32), np.full((4, 8, 16, 2), 32, F32)),
     label="(4, 8, 16, 32) @ (32, 2)")
case(L, "gradients_basics", {"x": np.array([1, 2, 3], F32)}, lambda x: np.float32(0.5))
same(L, "gradients_basics", lambda x: 0.5 * (x.sum() - 5) ** 2, (3,), label="random")

# The plans of pure views: no copy (tdc --emit=plan says "copies: 0").
PLAN_NO_COPIES = {
    "examples/lesson.td": ["tensor_views", "einops_rearrange"],
    "tests/numeric/einops.td": ["re_r1_split", "re_r2_t", "re_r2_merge", "re_r3_perm", "re_r4_nchw", "re_r6_rev",
                                "re_ell_split", "re_ell_merge", "re_ell_front", "re_unit_drop", "re_unit_add",
                                "re_unit_paren", "re_rt_t", "re_rt_merge", "re_rt_split",
                                "re_rt_split_rt", "re_r2_to_r6"],
}

# =====================================================================
# Params: `EXE params --out P.safetensors` read back in Python
# =====================================================================


class ModelCase:
    """Runs `EXE params --out P --dims .. [--seed S]`, reads P, then runs FN
    with --seed S (or, with `custom`, on a checkpoint of the params custom
    returns, via --params) and compares with ref(params, **inputs)."""
    def __init__(self, prog, fn, inputs, ref, seed=None, custom=None, label="", rtol=None, atol=None):
        self.prog, self.fn, self.inputs, self.ref, self.seed = prog, fn, inputs, ref, seed
        self.custom, self.label, self.rtol, self.atol = custom, label, rtol, atol
        self.dims = dict(DIMS)


def cruncher(p, x):
    x = wide(x)
    for i in range(2):
        x = x @ wide(p["w"][i])
    return (x @ wide(p["final"]))[:, 0].astype(F32)


def scaled(std):
    """Params of the same shapes and dtypes, drawn here from N(0, std^2)."""
    return lambda p: {k: (RNG.standard_normal(v.shape) * std).astype(v.dtype) for k, v in p.items()}


def attention(p, x):
    """examples/attention.td's attention, in f64."""
    qkv = rearrange(wide(x) @ wide(p["wqkv"]), "b s (three h d) -> three b h s d", three=3, h=4)
    q, k, v = qkv[0], qkv[1], qkv[2]
    scores = np.einsum("bhsd,bhtd->bhst", q, k) / 4
    s = scores.shape[-1]
    scores = np.where(np.triu(np.ones((s, s)), 1) > 0, -1e9, scores)
    out = np.einsum("bhst,bhtd->bhsd", softmax(scores), v)
    return (rearrange(out, "b h s d -> b s (h d)") @ wide(p["wo"])).astype(F32)


MODEL_CASES = [
    ModelCase("cruncher", "forward", {"x": normal(BATCH, 64)}, cruncher, label="seed 0"),
    ModelCase("cruncher", "forward", {"x": normal(5, 64)}, cruncher, seed=3, label="seed 3, batch 5"),
    ModelCase("cruncher", "forward", {"x": normal(BATCH, 64)}, cruncher, custom=scaled(0.3),
              label="--params of a checkpoint written here"),
    ModelCase("attention", "attention", {"x": normal(2, SEQ, 64)}, attention),
    ModelCase("attention", "attention", {"x": normal(3, 4, 64)}, attention, custom=scaled(0.05),
              label="--params, batch 3, seq 4"),
    ModelCase("calls", "pm_affine", {"x": normal(BATCH, 8)},
              lambda p, x: (wide(x) @ p["w"] + p["b"] + p["c"]).astype(F32)),
    ModelCase("calls", "pm_consts", {}, lambda p: (np.full(8, 0.25, F32), np.ones(3, I64)),
              label="constant(0.25) and ones()"),
    ModelCase("calls", "pm_mlp", {"x": normal(BATCH, 8)},
              lambda p, x: layer_norm(np.maximum(wide(x) @ p["w"] + p["b"], 0), wide(p["c"]) * 4,
                                      wide(p["b"])).sum(1).astype(F32)),
    ModelCase("calls", "pm_mlp", {"x": normal(BATCH, 8)},
              lambda p, x: layer_norm(np.maximum(wide(x) @ p["w"] + p["b"], 0), wide(p["c"]) * 4,
                                      wide(p["b"])).sum(1).astype(F32), custom=scaled(0.3), label="--params"),
]

# =====================================================================
# Random numbers: properties only (the stream is the runtime's, tested there)
# =====================================================================


class Property:
    """Runs FN once per entry of `runs` (extra arguments, e.g. a seed) and
    calls check(outputs of each run), which returns why not or None."""
    def __init__(self, prog, fn, inputs, runs, outs, check, label):
        self.prog, self.fn, self.inputs, self.runs, self.outs = prog, fn, inputs, runs, outs
        self.check, self.label = check, label
        self.dims = dict(DIMS)


def random_moments(runs):
    first, again, other = runs
    for i, (a, b) in enumerate(zip(first, again)):
        if not np.array_equal(a, b):
            return f"output {i}: two runs with --seed 0 differ"
    for i, (a, b) in enumerate(zip(first, other)):
        if np.mean(a == b) > 0.01:
            return f"output {i}: --seed 0 and --seed 1 give the same numbers"
    want = [(F32, 0, 1), (F32, 0.5, 1 / math.sqrt(12)), (F64, 0, 1), (F64, 0.5, 1 / math.sqrt(12))]
    for i, (a, (dt, mean, std)) in enumerate(zip(first, want)):
        # 100,000 samples: the mean is within 5 standard errors (5 * std / 316)
        if a.dtype != dt or a.shape != (100000,):
            return f"output {i}: {a.dtype}{a.shape}, expected {dt}(100000,)"
        if abs(a.mean() - mean) > 5 * std / 316 or abs(a.std() / std - 1) > 0.02:
            return f"output {i}: mean {a.mean()}, std {a.std()}; expected about {mean}, {std}"
        if mean and not (a.min() >= 0 and a.max() < 1):
            return f"output {i}: rand gives values outside [0, 1): {a.min()} .. {a.max()}"
    return None


PROPERTIES = [
    Property(W, "k_random", {}, [[], ["--seed", "0"], ["--seed", "1"]], 4, random_moments,
             "randn and rand: deterministic per seed, their moments"),
]

# =====================================================================
# Errors of the executable: exit status 2, one line naming the input or dim
# =====================================================================


class ErrorCase:
    def __init__(self, prog, fn, inputs, words, label, dims=None, outs=1, status=2):
        self.prog, self.fn, self.inputs, self.words, self.label = prog, fn, inputs, words, label
        self.dims, self.outs, self.status = dims, outs, status


ERRORS = [
    ErrorCase(C, "es_mm", {"a": normal(3, 4, dtype=F64), "b": normal(4, 5)}, ["'a'", "f64", "f32"],
              "wrong dtype"),
    ErrorCase(C, "es_mm", {"a": ints(0, 5, 3, 4), "b": normal(4, 5)}, ["'a'", "i32"], "an integer for a float"),
    ErrorCase(C, "es_mm", {"a": normal(3, 4), "b": normal(5, 5)}, ["'b'", "axis 0", "5"], "wrong extent"),
    ErrorCase(C, "es_mm", {"a": normal(3, 4, 1), "b": normal(4, 5)}, ["'a'", "rank"], "wrong rank"),
    ErrorCase(C, "es_mm", {"a": normal(3, 4)}, ["'b'", "missing"], "missing --in"),
    ErrorCase(C, "es_rt", {"a": normal(2, 3, 4), "b": normal(5, 3, 4)}, ["'batch'", "'a'", "'b'", "2", "5"],
              "conflicting dims between two inputs"),
    ErrorCase(C, "es_rt", {"a": normal(2, 3, 4), "b": normal(2, 6, 4)}, ["'seq'", "'a'", "'b'", "3", "6"],
              "conflicting dims between two inputs (second dim)"),
    ErrorCase(C, "es_rt", {"a": normal(2, 3, 4), "b": normal(2, 3, 4)}, ["'batch'", "--dims", "2", "4"],
              "an input against --dims", dims={"batch": 4}),
    ErrorCase(C, "es_mm", {"a": normal(3, 4), "b": normal(4, 5)}, ["'batch'", "'seq'", "--dims"],
              "dims that no input binds are missing", dims={}),
    ErrorCase(C, "es_mm", {"a": "/nonexistent/a.npy", "b": normal(4, 5)}, ["/nonexistent/a.npy"],
              "an unreadable input file"),
    ErrorCase(C, "es_mm", {"a": normal(3, 4), "b": normal(4, 5)}, ["--out", "2"], "two outputs for one", outs=2),
    ErrorCase(C, "no_such_fn", {}, ["no_such_fn"], "an unknown function"),
    ErrorCase(C, "es_mm", {"a": np.asfortranarray(normal(3, 4)), "b": normal(4, 5)}, ["a.npy"],
              "a Fortran-order .npy"),
    ErrorCase(C, "es_mm", {"a": normal(3, 4).astype(">f4"), "b": normal(4, 5)}, ["a.npy"], "a big-endian .npy"),
    ErrorCase(C, "es_mm", {"a": b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4)}",
                           "b": normal(4, 5)}, ["a.npy"], "a cut .npy"),
    ErrorCase(C, "es_mm", {"a": b"3 4\n1 2 3 4\n", "b": normal(4, 5)}, ["a.npy"], "a text file"),
    ErrorCase(C, "mm_rt", {"x": np.zeros((0, 8), F32), "w": normal(8, 3)}, ["'batch'", "'x'"],
              "an empty axis for a run-time dim"),
    ErrorCase(C, "es_mm", {"a": normal(3, 4), "b": normal(4, 5)}, ["batch", "0"], "--dims batch=0",
              dims={"batch": 0, "seq": 2}),
    ErrorCase(C, "es_mm", {"a": normal(3, 4), "b": normal(4, 5)}, ["nosuchdim"], "an unknown dim in --dims",
              dims={"batch": 2, "seq": 2, "nosuchdim": 3}),
    ErrorCase(C, "ix_rt", {"x": normal(1, 4)}, ["batch > 1"], "a run-time check of the program (x[1] of batch 1)",
              dims={"seq": 3}),
    ErrorCase(E, "re_rt_split_rt", {"x": normal(7, 3)}, ["'x'", "7"], "an extent that no dims make",
              dims={"batch": 2, "seq": 3}),
    ErrorCase("dims", "dm_halves", {"x": normal(5, 3)}, ["batch", "divisible by 2"],
              "a derived dim that does not divide (half = batch/2 with batch 5)", dims={"seq": 2}),
    ErrorCase("dims", "dm_unflat", {"x": normal(12), "y": normal(4)}, ["'seq'", "--dims"],
              "a dim only a product binds (tokens = batch*seq) needs --dims", dims={}),
    ErrorCase("dims", "dm_unflat", {"x": normal(12), "y": normal(4)}, ["'x'", "12"],
              "an extent that disagrees with derived dims (tokens = 4*5 but x has 12)", dims={"seq": 5}),
    ErrorCase(C, "gx_emb", {"t": normal(10, 4), "idx": np.array([[0, 1, 10], [2, 3, 4]], I64)},
              ["gx_emb", "index 10", "out of range"], "an index out of range fails the program (status 1)",
              status=1),
]
