#!/usr/bin/env python3
"""A seeded generator of random well-typed .td programs, for the costcheck suite.

Each program has a fixed set of dims (static p q r s, run-time batch and seq,
bound by the driver to RUNTIME's values), a few params and many exported
functions. A function is built one statement at a time from the shapes the
generator tracks (so it checks as written): elementwise unary and binary
operations with broadcasting (scalars, literals, unit axes), casts (to
f64, bf16, f16, FP8 and integers), comparisons, where and bool masks, reduce with the five reductions (unit axes, `...`,
anonymous and split axes), rearrange (transposes, splits, merges, unit
axes, `...`), repeat, einsum of 1-3 operands (batch, contracted, outer and
summed labels, diagonals, groups, `...`), `@` (integer ones too), x[i], gathers x[idx] and
take with integer inputs, softmax, log_softmax, layer_norm and
cross_entropy from nn.td, tril/triu and constructors. About a third of the
functions return grad() of a scalar loss built the same way, by inputs,
params or values computed on the way.

An integer input that indexes an axis is named `i<K>_<DIM>`: its values must
lie in [0, DIM), and costcheck.c reads the bound from the name.

Every function is generated from its own seed (seed, program, function,
attempt), so a function that fails `tdc check` can be regenerated alone
(attempt + 1) without changing the others.

  python3 gen.py [--seed S] [--programs N] [--fns M] [--out DIR] [--validate TDC]
"""
import argparse
import os
import random
import subprocess
import sys

STATIC = {"p": 2, "q": 3, "r": 4, "s": 5}
RUNTIME = {"batch": 7, "seq": 11}  # bound by the driver (run.py passes them); unlike any static size
DIMS = {**STATIC, **RUNTIME}
DIM_NAMES = list(DIMS)
LABELS = "abcdefghijklmnotuvwxyz"  # pattern labels: not the dims' names
FLOATS = ("f32", "f64", "bf16", "f16", "f8e4m3", "f8e5m2")
INTS = ("i64", "i32")
MAX_NUMEL = 2000
MAX_RANK = 4

SEED = 20240607
PROGRAMS = 8
FNS_PER_PROGRAM = 25  # 8 x 25 = 200 functions (run.py says so too)


# ---- sizes and shapes: a size is a sorted tuple of dim names (a product); () is 1 ----

def size(*names):
    return tuple(sorted(names))


def size_str(s):
    return "*".join(s) if s else "1"


def size_val(s):
    v = 1
    for n in s:
        v *= DIMS[n]
    return v


def numel(shape):
    v = 1
    for s in shape:
        v *= size_val(s)
    return v


def shape_str(shape):
    return " ".join(size_str(s) for s in shape)


def type_str(dt, shape):
    return f'{dt}["{shape_str(shape)}"]' if shape else dt


def is_float(dt):
    return dt in FLOATS


def grad_dtype(dt):
    return "f32" if dt not in ("f32", "f64") else dt


def broadcast(a, b):
    """numpy's rule on my sizes (no static dim is 1); None when they do not fit."""
    out = []
    for i in range(1, max(len(a), len(b)) + 1):
        x = a[-i] if i <= len(a) else None
        y = b[-i] if i <= len(b) else None
        if x is None or x == ():
            out.append(y if y is not None else x)
        elif y is None or y == () or x == y:
            out.append(x)
        else:
            return None
    return tuple(reversed(out))


class Val:
    def __init__(self, name, dtype, shape):
        self.name, self.dtype, self.shape = name, dtype, tuple(shape)


class Reject(Exception):
    """The operation does not apply to this operand (try another)."""


# ---- one function ----

class FnGen:
    def __init__(self, rng, name, params, grad):
        self.rng = rng
        self.name = name
        self.params = params  # Val of each program param
        self.grad = grad
        self.inputs = []  # Val
        self.vals = []    # Val: inputs and bound values, in order
        self.lines = []
        self.nin = 0
        self.ntmp = 0
        self.used_params = []

    # -- operands --

    def new_input(self, dt, shape):
        v = Val(f"x{self.nin}", dt, shape)
        self.nin += 1
        self.inputs.append(v)
        self.vals.append(v)
        return v

    def new_index(self, dim, shape):
        """An integer input whose values index an axis of size `dim`."""
        v = Val(f"i{self.nin}_{dim}", self.rng.choice(INTS + ("u16",)), shape)
        self.nin += 1
        self.inputs.append(v)
        return v

    def operand(self, dt, shape):
        """A value of this dtype and shape: an existing one, a param, or a new input."""
        r = self.rng
        same = [v for v in self.vals if v.dtype == dt and v.shape == tuple(shape)]
        if same and r.random() < 0.5:
            return r.choice(same)
        ps = [p for p in self.params if p.dtype == dt and p.shape == tuple(shape)]
        if ps and r.random() < 0.6:
            p = r.choice(ps)
            if p not in self.used_params:
                self.used_params.append(p)
            return p
        return self.new_input(dt, shape)

    def bind(self, expr, dt, shape):
        if numel(shape) > MAX_NUMEL or len(shape) > MAX_RANK:
            raise Reject()
        v = Val(f"t{self.ntmp}", dt, shape)
        self.ntmp += 1
        self.lines.append(f"  {v.name} = {expr}")
        self.vals.append(v)
        return v

    def rand_dim(self, static_only=False):
        return self.rng.choice(list(STATIC) if static_only else DIM_NAMES)

    def rand_shape(self, lo=1, hi=3):
        r = self.rng
        return tuple(size(self.rand_dim()) for _ in range(r.randint(lo, hi)))

    def labels(self, n, avoid=()):
        pool = [c for c in LABELS if c not in avoid]
        return self.rng.sample(pool, n)

    def float_dt(self, x):
        if not is_float(x.dtype):
            raise Reject()

    # -- operations: each takes the primary operand and returns a new Val (or raises Reject) --

    def op_unary(self, x):
        r = self.rng
        if is_float(x.dtype):
            forms = ["exp({})", "tanh({})", "sigmoid({})", "gelu({})", "silu({})", "sin({})", "cos({})",
                     "relu({})", "abs({})", "-{}", "sqrt(abs({}) + 1)", "log(abs({}) + 0.5)",
                     "rsqrt({0} * {0} + 1)", "{} ** 2", "{} ** 3", "exp(-{0} * {0})", "2 * {} - 1",
                     "{} / 3", "0.5 - {}", "1 / (1 + abs({}))"]
        elif x.dtype in INTS:
            forms = ["abs({})", "relu({})", "-{}", "{} * 2", "{} + 1", "{} ** 2", "3 - {}"]
        else:
            raise Reject()
        return self.bind(r.choice(forms).format(x.name), x.dtype, x.shape)

    def partner_shape(self, shape):
        """A shape that broadcasts with `shape`."""
        r = self.rng
        mode = r.random()
        if mode < 0.25 or not shape:
            return tuple(shape)
        if mode < 0.6:  # a suffix, some axes 1
            k = r.randint(0, len(shape))
            suf = list(shape[len(shape) - k:])
            for i in range(len(suf)):
                if r.random() < 0.3:
                    suf[i] = ()
            return tuple(suf)
        if mode < 0.8:  # more leading axes
            return tuple(size(self.rand_dim()) for _ in range(r.randint(1, 2))) + tuple(shape)
        # fill the 1 axes of shape, keep the others or make them 1
        out = []
        for s in shape:
            if s == ():
                out.append(size(self.rand_dim()) if r.random() < 0.7 else ())
            else:
                out.append(s if r.random() < 0.7 else ())
        return tuple(out)

    def partner(self, x):
        """(expression, dtype, result shape) of a value to combine with x."""
        r = self.rng
        c = r.random()
        if c < 0.15:  # a literal
            lit = r.choice(["2", "0.5", "3", "1.5", "1"]) if is_float(x.dtype) else r.choice(["2", "3", "1"])
            return lit, x.dtype, x.shape
        if c < 0.35:  # another value of this function
            fits = [v for v in self.vals if v is not x and v.dtype == x.dtype and broadcast(x.shape, v.shape) is not None]
            if fits:
                v = r.choice(fits)
                return v.name, v.dtype, broadcast(x.shape, v.shape)
        if c < 0.42 and is_float(x.dtype) and x.shape and not self.grad:  # a constructor
            shp = self.partner_shape(x.shape)
            if shp and () not in shp:
                kind = r.choice(["randn", "ones", "rand", "arange"])
                if kind == "arange":
                    last = x.shape[-1] if x.shape[-1] else size(self.rand_dim())
                    e = f'(arange("{size_str(last)}") as {x.dtype})'
                    return e, x.dtype, broadcast(x.shape, (last,))
                dt = "" if x.dtype == "f32" else f", dtype = {x.dtype}"
                e = f'{kind}("{shape_str(shp)}"{dt})'
                if broadcast(x.shape, shp) is not None:
                    return e, x.dtype, broadcast(x.shape, shp)
        if c < 0.5:  # a scalar input
            v = self.operand(x.dtype, ())
            return v.name, x.dtype, x.shape
        shp = self.partner_shape(x.shape)
        b = broadcast(x.shape, shp)
        if b is None or numel(b) > MAX_NUMEL:
            raise Reject()
        v = self.operand(x.dtype, shp)
        return v.name, x.dtype, b

    def op_binary(self, x):
        r = self.rng
        if x.dtype == "bool":
            raise Reject()
        y, dt, shape = self.partner(x)
        ops = ["+", "-", "*", "/", "max", "min"] + (["**"] if is_float(x.dtype) else [])
        op = r.choice(ops)
        a, b = (x.name, y) if r.random() < 0.6 else (y, x.name)
        if op in ("max", "min"):
            e = f"{op}({a}, {b})"
        elif op == "**":
            if r.random() < 0.5:
                e = f"abs({x.name}) ** {y}"
            else:
                e, shape = f"{x.name} ** 2", x.shape
        else:
            e = f"{a} {op} {b}"
            if op == "/" and not is_float(dt):
                dt = "f32"
        return self.bind(e, dt, shape)

    def op_cast(self, x):
        r = self.rng
        if self.grad:
            choices = [d for d in ("f32", "f64", "bf16", "f16", "f32", "f64", "f8e4m3") if d != x.dtype]
        else:
            choices = [d for d in ("f32", "f64", "bf16", "f16", "i32", "i64", "f32", "f8e5m2") if d != x.dtype]
        if not is_float(x.dtype):
            choices = [d for d in choices if is_float(d)]
        dt = r.choice(choices)
        return self.bind(f"{x.name} as {dt}", dt, x.shape)

    def op_where(self, x):
        r = self.rng
        if x.dtype == "bool":
            raise Reject()
        y, _, shape = self.partner(x)
        cmp = r.choice(["<", "<=", ">", ">=", "==", "!="])
        c = r.random()
        if c < 0.1:  # a bool input
            m = self.operand("bool", self.partner_shape(x.shape))
            b = broadcast(x.shape, m.shape)
            if b is None:
                raise Reject()
            return self.bind(r.choice([f"where({m.name}, {x.name}, 0)", f"{m.name} * {x.name}"]), x.dtype, b)
        if c < 0.35:
            return self.bind(f"where({x.name} {cmp} {y}, {x.name}, {y})", x.dtype, shape)
        if c < 0.55:
            zero = "0.1 * " + x.name if is_float(x.dtype) else "0"
            return self.bind(f"where({x.name} {cmp} 0, {x.name}, {zero})", x.dtype, x.shape)
        if c < 0.7 and not y[0].isdigit():  # (both literals would be i64)
            return self.bind(f"where({x.name} {cmp} {y}, {y}, 1)", x.dtype, shape)
        if c < 0.85 and not self.grad:
            return self.bind(f"({x.name} {cmp} {y}) as f32", "f32", shape)
        return self.bind(f"({x.name} {cmp} {y}) * {x.name}", x.dtype, shape)

    def op_reduce(self, x):
        r = self.rng
        if not x.shape or x.dtype == "bool":
            raise Reject()
        reds = ["sum", "max", "min", "prod"] + (["mean", "mean"] if is_float(x.dtype) else [])
        red = r.choice(reds)
        n = len(x.shape)
        labs = self.labels(n + 1)
        removed = set(r.sample(range(n), r.randint(1, n)))
        left = []
        kw = []
        out_sizes = {}
        split_kept = None
        for i, s in enumerate(x.shape):
            if i in removed and len(s) == 1 and s[0] in STATIC and r.random() < 0.3:
                left.append(str(STATIC[s[0]]))  # an anonymous axis
            elif len(s) >= 2 and not kw and r.random() < 0.6:  # split (a k), k given, one of them kept
                k = s[-1]
                rest = tuple(n_ for n_ in s[:-1])
                left.append(f"({labs[i]} {labs[n]})")
                kw.append(f"{labs[n]} = {k}")
                if i not in removed:
                    keep_first = r.random() < 0.5
                    split_kept = (i, labs[i] if keep_first else labs[n], size(*rest) if keep_first else size(k))
                    removed.add(i)  # the group's other part goes
                else:
                    removed.add(i)
            else:
                left.append(labs[i])
                out_sizes[labs[i]] = s
        kept = [labs[i] for i in range(n) if i not in removed]
        right = list(kept)
        shape = [x.shape[i] for i in range(n) if i not in removed]
        if split_kept:
            i, lab, s = split_kept
            pos = sum(1 for j in range(n) if j not in removed and j < i)
            right.insert(pos, lab)
            shape.insert(pos, s)
        c = r.random()
        if c < 0.2 and len(right) >= 2:  # reorder the kept axes
            order = list(range(len(right)))
            r.shuffle(order)
            right = [right[j] for j in order]
            shape = [shape[j] for j in order]
        elif c < 0.4:  # unit axes for the removed ones
            at = r.randint(0, len(right))
            right.insert(at, r.choice(["()", "1"]))
            shape.insert(at, ())
        elif c < 0.6 and not kw:  # '...' over the leading kept axes
            k = 0
            while k < n and k not in removed and k < len(right) and right[k] == labs[k]:
                k += 1
            if k >= 1:
                left = ["..."] + left[k:]
                right = ["..."] + right[k:]
        pattern = f'{" ".join(left)} -> {" ".join(right)}'.rstrip()
        args = "".join(f", {a}" for a in kw)
        return self.bind(f'reduce({x.name}, "{pattern}", "{red}"{args})', x.dtype, shape)

    def op_rearrange(self, x):
        r = self.rng
        if not x.shape:
            raise Reject()
        n = len(x.shape)
        labs = self.labels(2 * n + 2)
        left, kw = [], []
        items = []  # (label, size) of the axes in between
        extra = n
        for i, s in enumerate(x.shape):
            if s == () and r.random() < 0.6:
                left.append("1")  # dropped
            elif len(s) >= 2 and r.random() < 0.7:  # split
                a, b = labs[i], labs[extra]
                extra += 1
                left.append(f"({a} {b})")
                kw.append(f"{b} = {s[-1]}")
                items.append((a, size(*s[:-1])))
                items.append((b, size(s[-1])))
            else:
                left.append(labs[i])
                items.append((labs[i], s))
        order = list(range(len(items)))
        if r.random() < 0.7:
            r.shuffle(order)
        right = [items[j][0] for j in order]
        shape = [items[j][1] for j in order]
        if len(right) >= 2 and r.random() < 0.5:  # merge two neighbours
            j = r.randrange(len(right) - 1)
            right[j:j + 2] = [f"({right[j]} {right[j + 1]})"]
            shape[j:j + 2] = [size(*shape[j], *shape[j + 1])]
        if r.random() < 0.3 and len(shape) < MAX_RANK:
            at = r.randint(0, len(right))
            right.insert(at, r.choice(["1", "()"]))
            shape.insert(at, ())
        # '...' for a common prefix
        k = 0
        while k < len(left) and k < len(right) and left[k] == right[k] and left[k] in LABELS:
            k += 1
        if k and r.random() < 0.7:
            left, right = ["..."] + left[k:], ["..."] + right[k:]
        if left == right or ("..." in left and len(left) == 1 and len(right) == 1):
            raise Reject()
        args = "".join(f", {a}" for a in kw)
        return self.bind(f'rearrange({x.name}, "{" ".join(left)} -> {" ".join(right)}"{args})', x.dtype, shape)

    def op_repeat(self, x):
        r = self.rng
        n = len(x.shape)
        labs = self.labels(n + 1)
        new, d = labs[n], self.rand_dim()
        right = list(labs[:n])
        shape = list(x.shape)
        c = r.random()
        if c < 0.3 and n:  # tile into a group
            j = r.randrange(n)
            first = r.random() < 0.5
            right[j] = f"({new} {right[j]})" if first else f"({right[j]} {new})"
            shape[j] = size(d, *shape[j])
            kw = f", {new} = {d}"
        else:
            at = r.randint(0, n)
            if d in STATIC and r.random() < 0.4:
                right.insert(at, str(STATIC[d]))
                kw = ""
            else:
                right.insert(at, new)
                kw = f", {new} = {d}"
            shape.insert(at, size(d))
        left = list(labs[:n])
        if n and r.random() < 0.3 and right[0] == left[0]:
            left[0] = right[0] = "..."
        return self.bind(f'repeat({x.name}, "{" ".join(left)} -> {" ".join(right)}"{kw})', x.dtype, shape)

    def op_einsum(self, x):
        r = self.rng
        if not x.shape or x.dtype == "bool":  # integer contractions too
            raise Reject()
        n = len(x.shape)
        labs = iter(self.labels(n + 8))
        ell = 1 if n >= 2 and r.random() < 0.2 else 0  # leading axes of x as '...'
        xl = [next(labs) for _ in range(n - ell)]
        sizes = dict(zip(xl, x.shape[ell:]))
        same = [(i, j) for i in range(ell, n) for j in range(i + 1, n) if x.shape[i] == x.shape[j] and x.shape[i]]
        if same and r.random() < 0.15:  # one operand with a diagonal: "a i i -> a i", a trace
            i, j = r.choice(same)
            xl[j - ell] = xl[i - ell]
            uniq = list(dict.fromkeys(xl))
            out = [l for l in uniq if l != xl[i - ell] or r.random() < 0.6]
            r.shuffle(out)
            pre = "... " if ell else ""
            shape = list(x.shape[:ell]) + [sizes[l] for l in out]
            pat = f'{pre}{" ".join(xl)} -> {pre}{" ".join(out)}'.strip()
            return self.bind(f'einsum({x.name}, "{pat}")', x.dtype, shape)
        if r.random() < 0.1:  # one operand: a transpose or a sum
            out = [l for l in xl if r.random() < 0.6]
            r.shuffle(out)
            if out == xl and not ell:
                raise Reject()
            pre = "... " if ell else ""
            shape = list(x.shape[:ell]) + [sizes[l] for l in out]
            pat = f'{pre}{" ".join(xl)} -> {pre}{" ".join(out)}'.strip()
            return self.bind(f'einsum({x.name}, "{pat}")', x.dtype, shape)
        roles = {l: r.choice(["batch", "contract", "contract", "outer", "outer", "sum"]) for l in xl}
        if all(v == "sum" for v in roles.values()):
            roles[xl[0]] = "contract"
        yl = [l for l in xl if roles[l] in ("batch", "contract")]
        ynew = [next(labs) for _ in range(r.randint(0 if yl else 1, 2))]
        for l in ynew:
            sizes[l] = size(self.rand_dim())
        yl = yl + ynew
        r.shuffle(yl)
        out = [l for l in xl if roles[l] in ("batch", "outer")]
        youter = list(ynew)
        operands = [x]
        pats = [("... " if ell else "") + " ".join(xl)]
        y = self.operand(x.dtype, tuple(sizes[l] for l in yl))
        operands.append(y)
        pats.append(" ".join(yl))
        if r.random() < 0.35:  # a third operand: contracts some of y's new axes, brings its own
            zc = [l for l in youter if r.random() < 0.6]
            znew = [next(labs) for _ in range(r.randint(0 if zc else 1, 1))]
            for l in znew:
                sizes[l] = size(self.rand_dim())
            zl = zc + znew
            r.shuffle(zl)
            z = self.operand(x.dtype, tuple(sizes[l] for l in zl))
            operands.append(z)
            pats.append(" ".join(zl))
            youter = [l for l in youter if l not in zc] + znew
        out += youter
        r.shuffle(out)
        shape = list(x.shape[:ell]) + [sizes[l] for l in out]
        if numel(shape) > MAX_NUMEL:
            raise Reject()
        outs = list(out)
        if len(outs) >= 2 and r.random() < 0.2:  # a group in the output
            j = r.randrange(len(outs) - 1)
            outs[j:j + 2] = [f"({outs[j]} {outs[j + 1]})"]
            k = j + ell
            shape[k:k + 2] = [size(*shape[k], *shape[k + 1])]
        pat = f'{", ".join(pats)} -> {"... " if ell else ""}{" ".join(outs)}'.rstrip()
        names = ", ".join(v.name for v in operands)
        return self.bind(f'einsum({names}, "{pat}")', x.dtype, shape)

    def op_matmul(self, x):
        r = self.rng
        if not x.shape or x.dtype == "bool":
            raise Reject()
        k = x.shape[-1]
        c = r.random()
        if c < 0.2 and len(x.shape) >= 2:  # v @ x
            v = self.operand(x.dtype, (x.shape[-2],))
            return self.bind(f"{v.name} @ {x.name}", x.dtype, x.shape[:-2] + x.shape[-1:])
        if c < 0.4:  # x @ v
            v = self.operand(x.dtype, (k,))
            return self.bind(f"{x.name} @ {v.name}", x.dtype, x.shape[:-1])
        new = size(self.rand_dim())
        if c < 0.55 and len(x.shape) >= 3:  # batched w, its batch axis maybe 1
            w = self.operand(x.dtype, (x.shape[-3] if r.random() < 0.7 else (), k, new))
            return self.bind(f"{x.name} @ {w.name}", x.dtype, x.shape[:-1] + (new,))
        w = self.operand(x.dtype, (k, new))
        return self.bind(f"{x.name} @ {w.name}", x.dtype, x.shape[:-1] + (new,))

    def op_index(self, x):
        r = self.rng
        if not x.shape:
            raise Reject()
        s = x.shape[0]
        if s == () or any(n in RUNTIME for n in s):
            i = r.choice([0, 0, 1]) if s != () else 0
        else:
            v = size_val(s)
            i = r.randrange(-v, v)
        return self.bind(f"{x.name}[{i}]", x.dtype, x.shape[1:])

    def index_shape(self):
        return tuple(size(self.rand_dim()) for _ in range(self.rng.randint(1, 2)))

    def op_gather(self, x):
        if not x.shape or len(x.shape[0]) != 1:
            raise Reject()
        idx = self.new_index(x.shape[0][0], self.index_shape())
        return self.bind(f"{x.name}[{idx.name}]", x.dtype, idx.shape + x.shape[1:])

    def op_take(self, x):
        r = self.rng
        axes = [i for i, s in enumerate(x.shape) if len(s) == 1]
        if not axes:
            raise Reject()
        j = r.choice(axes)
        idx = self.new_index(x.shape[j][0], self.index_shape())
        labs = self.labels(len(x.shape) + len(idx.shape))
        tl, il = labs[:len(x.shape)], labs[len(x.shape):]
        sizes = dict(zip(tl, x.shape))
        sizes.update(zip(il, idx.shape))
        out = [l for k, l in enumerate(tl) if k != j] + il
        r.shuffle(out)
        pat = f'{" ".join(tl)}, {" ".join(il)} -> {" ".join(out)}'
        return self.bind(f'take({x.name}, {idx.name}, "{pat}")', x.dtype, [sizes[l] for l in out])

    def op_nn(self, x):
        r = self.rng
        self.float_dt(x)
        if not x.shape:
            raise Reject()
        c = r.random()
        if c < 0.35:
            return self.bind(f"softmax({x.name})", x.dtype, x.shape)
        if c < 0.55:
            return self.bind(f"log_softmax({x.name})", x.dtype, x.shape)
        if c < 0.85:
            g = self.operand(x.dtype, x.shape[-1:])
            b = self.operand(x.dtype, x.shape[-1:])
            return self.bind(f"layer_norm({x.name}, {g.name}, {b.name})", x.dtype, x.shape)
        last = x.shape[-1]
        if len(last) != 1:
            raise Reject()
        t = self.new_index(last[0], x.shape[:-1])
        t.dtype = "i64"
        return self.bind(f"cross_entropy({x.name}, {t.name})", x.dtype, ())

    def op_tri(self, x):
        r = self.rng
        if len(x.shape) < 2 or x.dtype == "bool":
            raise Reject()
        fn = r.choice(["tril", "triu"])
        diag = r.choice(["", "", ", diagonal = 1", ", diagonal = -1"])
        return self.bind(f"{fn}({x.name}{diag})", x.dtype, x.shape)

    OPS = [("unary", 10), ("binary", 14), ("cast", 4), ("where", 6), ("reduce", 10), ("rearrange", 8),
           ("repeat", 5), ("einsum", 9), ("matmul", 7), ("index", 4), ("gather", 4), ("take", 4),
           ("nn", 6), ("tri", 2)]

    def step(self, x):
        r = self.rng
        names = [n for n, _ in self.OPS]
        weights = [w for _, w in self.OPS]
        for _ in range(40):
            op = r.choices(names, weights)[0]
            nl, nv, ni, nin, ntmp = len(self.lines), len(self.vals), len(self.inputs), self.nin, self.ntmp
            try:
                return getattr(self, "op_" + op)(x)
            except Reject:  # undo what the attempt made
                del self.lines[nl:], self.vals[nv:], self.inputs[ni:]
                self.nin, self.ntmp = nin, ntmp
        raise Reject()

    def primary(self):
        """The operand of the next statement: mostly the latest value, so most of the body is live."""
        r = self.rng
        bound = [v for v in self.vals if v.name.startswith("t")]
        if bound and r.random() < 0.75:
            return bound[-1]
        return r.choice(self.vals)

    def generate(self):
        r = self.rng
        dt = "f64" if r.random() < 0.2 else "f32"
        self.new_input(dt, self.rand_shape(1, 3))
        nstmts = r.randint(2, 6)
        while self.ntmp < nstmts:
            self.step(self.primary())
        last = self.vals[-1]
        if self.grad:
            return self.finish_grad(last)
        results = [last]
        others = [v for v in self.vals if v.name.startswith("t") and v is not last]
        if others and r.random() < 0.25:
            results.append(r.choice(others))
        return self.text(results, [f"{v.name}" for v in results])

    def finish_grad(self, last):
        r = self.rng
        if not is_float(last.dtype):
            last = self.bind(f"{last.name} as f32", "f32", last.shape)
        if last.shape:
            red = r.choice(["sum", "mean"])
            loss = self.bind(f'reduce({last.name}, "... ->", "{red}")', last.dtype, ())
        else:
            loss = last
        wrt_pool = [v for v in self.inputs if is_float(v.dtype)] + self.used_params
        wrt_pool += [v for v in self.vals if v.name.startswith("t") and is_float(v.dtype) and v is not loss]
        k = min(len(wrt_pool), r.choice([1, 1, 2]))
        wrt = r.sample(wrt_pool, k)
        gnames = [f"g{i}" for i in range(k)]
        self.lines.append(f"  {', '.join(gnames)} = grad({loss.name}, {', '.join(v.name for v in wrt)})")
        results = [Val(g, grad_dtype(v.dtype), v.shape) for g, v in zip(gnames, wrt)]
        return self.text(results, gnames)

    def text(self, results, names):
        params = ", ".join(f"{v.name}: {type_str(v.dtype, v.shape)}" for v in self.inputs)
        types = [type_str(v.dtype, v.shape) for v in results]
        ret = types[0] if len(types) == 1 else f"({', '.join(types)})"
        body = "\n".join(self.lines)
        return f"fn {self.name}({params}) -> {ret} {{\n{body}\n  return {', '.join(names)}\n}}\n"


# ---- programs ----

def program_params(seed, prog):
    r = random.Random(f"{seed}:{prog}:params")
    params = []
    for i in range(r.randint(2, 4)):
        dt = "f64" if r.random() < 0.2 else "f32"
        shape = tuple(size(r.choice(list(STATIC))) for _ in range(r.randint(1, 2)))
        params.append(Val(f"w{i}", dt, shape))
    return params


def function(seed, prog, index, attempt, params):
    """The text of function `index` of program `prog` at this attempt."""
    for extra in range(100):
        r = random.Random(f"{seed}:{prog}:{index}:{attempt}:{extra}")
        grad = r.random() < 0.35
        name = f"{'bwd' if grad else 'fwd'}{index}"
        try:
            return name, FnGen(r, name, params, grad).generate()
        except Reject:
            continue
    raise RuntimeError("no function generated")


def program(seed, prog, nfns, attempts=None):
    """(text, [(function name, first line, last line)]); attempts: index -> attempt."""
    attempts = attempts or {}
    params = program_params(seed, prog)
    head = [f"# costcheck program {prog} (seed {seed}), generated by tests/costcheck/gen.py", 'import "nn.td"', ""]
    head += [f"dim {n} = {v}" for n, v in STATIC.items()]
    head += [f"dim {n}" for n in RUNTIME]
    head.append("")
    for p in params:
        init = "normal(std = 0.5)" if len(p.shape) >= 1 else "ones()"
        head.append(f"param {p.name}: {type_str(p.dtype, p.shape)} = {init}")
    head.append("")
    lines = list(head)
    spans = []
    for i in range(nfns):
        name, text = function(seed, prog, i, attempts.get(i, 0), params)
        first = len(lines) + 1
        lines += text.rstrip("\n").split("\n")
        spans.append((name, first, len(lines)))
        lines.append("")
    return "\n".join(lines), spans


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--programs", type=int, default=PROGRAMS)
    ap.add_argument("--fns", type=int, default=FNS_PER_PROGRAM)
    ap.add_argument("--out", default=None)
    ap.add_argument("--validate", metavar="TDC", default=None, help="check each program with this tdc and report")
    args = ap.parse_args()
    bad = 0
    for k in range(args.programs):
        text, spans = program(args.seed, k, args.fns)
        path = os.path.join(args.out or ".", f"prog{k}.td")
        if args.out:
            os.makedirs(args.out, exist_ok=True)
            with open(path, "w") as fh:
                fh.write(text)
        else:
            path = f"/tmp/costcheck-gen-{os.getpid()}-{k}.td"
            with open(path, "w") as fh:
                fh.write(text)
        if args.validate:
            p = subprocess.run([args.validate, "check", path], capture_output=True, text=True)
            if p.returncode:
                bad += 1
                print(f"{path}: fails\n{p.stderr}")
        if not args.out:
            os.unlink(path)
    if args.validate:
        print(f"{args.programs - bad} of {args.programs} programs check")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
