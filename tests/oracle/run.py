"""Oracle suite: tdc's shape inference for einops operations against the real
einops and numpy.

tests/run_tests.py loads this file and calls run(r). Every case is one check:
one r.ok or one r.fail.

Each case is an einops call -- rearrange, reduce (sum/mean/max/min/prod),
repeat, or einsum with 1 to 3 operands -- on operands of fixed shapes, with
sizes given by keyword. The expected result is what einops (and numpy) say:
the shape of einops.<op>(numpy.zeros(shape), ...) or "error" when they raise.
tdc checks the same call written as a tdc function,

    fn case(x0: f32["2 3 8"]) {
      y = rearrange(x0, "a b c -> (a b) c")
      return y
    }

and `tdc check --types` must print the same shape for y, or fail (exit 1,
an error on stderr) where einops raises.

The cases are a fixed list of hand-written edge cases followed by a few
hundred generated with random.Random(1234), so the suite is the same on every
run. Generated cases start from a valid call and are mutated a third of the
time (wrong rank, a size that does not divide, a name only on one side, a
duplicate name, a missing or wrong keyword size, `...` in the wrong place,
a unit axis on an axis that is not 1, ...), so both outcomes are covered.

Where tdc differs from einops on purpose, the expected result is adjusted
(see expected()); each such rule is marked INTENTIONAL below:
  (a) reduce with a pattern that removes no axis: einops allows it (it is a
      rearrange), tdc rejects it.
  (b) einsum with groups `(a b)`, `...` inside a group, or unit axes `1` /
      `()`: einops.einsum raises NotImplementedError, tdc accepts them. The
      expected shape is computed by flattening each operand with
      einops.rearrange (sizes known from earlier operands are passed by
      keyword), calling einops.einsum on the flat operands, and rearranging
      the result into the output's groups.
  (c) einsum with an axis repeated inside one operand ("i i -> i", a
      diagonal) is accepted by both; nothing special.
  (d) numpy.einsum (behind einops.einsum) broadcasts a labelled axis of
      size 1 against any size ("i, i -> i" on shapes 3 and 1) and accepts
      `...` in the output when no input has it (as zero axes). einops'
      own rule is one size per axis name, and `...` on the right needs
      `...` on the left; tdc follows einops, so those are expected errors.
  (e) a size given as 0 (`c = 0`): einops makes an empty axis, tdc's sizes
      are positive, so it is an error.
"""
import os
import random
import re
import tempfile

REDUCTIONS = ["sum", "mean", "max", "min", "prod"]
NAMES = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "p", "q", "r", "s", "t"]
LONG_NAMES = ["head", "seq", "x1", "h2d", "batch", "w_in"]


# ---------------------------------------------------------------------------
# Cases

class Case:
    def __init__(self, op, pattern, shapes, sizes=(), reduction=None, origin="hand"):
        self.op = op                  # "rearrange" | "reduce" | "repeat" | "einsum"
        self.pattern = pattern
        self.shapes = [tuple(s) for s in shapes]
        self.sizes = list(sizes)      # [(name, int)], keyword sizes in order
        self.reduction = reduction
        self.origin = origin          # which generator (and mutation) made it

    def describe(self):
        kw = "".join(f", {n}={v}" for n, v in self.sizes)
        red = f", {self.reduction!r}" if self.reduction else ""
        shapes = ", ".join(str(s) for s in self.shapes)
        return f'{self.op}({shapes}, "{self.pattern}"{red}{kw}) [{self.origin}]'

    def program(self):
        params = ", ".join(f'x{k}: f32["{" ".join(str(d) for d in s)}"]' for k, s in enumerate(self.shapes))
        args = ", ".join(f"x{k}" for k in range(len(self.shapes)))
        call = f'{self.op}({args}, "{self.pattern}"'
        if self.op == "reduce":
            call += f', "{self.reduction}"'
        call += "".join(f", {n} = {v}" for n, v in self.sizes) + ")"
        return f"fn case({params}) {{\n  y = {call}\n  return y\n}}\n"


# ---------------------------------------------------------------------------
# Pattern text <-> items. A side is a list of items:
#   ("name", str) | ("anon", int) | ("unit", "1" or "()") | ("ell",)
#   | ("group", [("name", s) | ("anon", n) | ("ell",)])

def render_item(it):
    if it[0] == "name":
        return it[1]
    if it[0] == "anon":
        return str(it[1])
    if it[0] == "unit":
        return it[1]
    if it[0] == "ell":
        return "..."
    return "(" + " ".join(render_item(x) for x in it[1]) + ")"


def render_side(items):
    return " ".join(render_item(it) for it in items)


def parse_side(text):
    """Parses one side of a pattern into items (only for patterns this file
    writes; malformed text raises ValueError)."""
    items, group = [], None
    for tok in re.findall(r"\(|\)|[^\s()]+", text):
        if tok == "(":
            if group is not None:
                raise ValueError("nested group")
            group = []
        elif tok == ")":
            if group is None:
                raise ValueError("unmatched )")
            items.append(("group", group) if group else ("unit", "()"))
            group = None
        else:
            if tok == "...":
                it = ("ell",)
            elif tok.isdigit():
                it = ("unit", "1") if int(tok) == 1 and group is None else ("anon", int(tok))
            else:
                it = ("name", tok)
            (group if group is not None else items).append(it)
    if group is not None:
        raise ValueError("unclosed (")
    return items


def names_of(items):
    out = []
    for it in items:
        if it[0] == "name":
            out.append(it[1])
        elif it[0] == "group":
            out.extend(x[1] for x in it[1] if x[0] == "name")
    return out


# ---------------------------------------------------------------------------
# Expected results

def expected(case, np, einops):
    """The result shape as a tuple, or "error"."""
    xs = [np.zeros(s) for s in case.shapes]
    sizes = dict(case.sizes)
    if any(v <= 0 for v in sizes.values()):
        return "error"  # INTENTIONAL (e): sizes are positive in tdc
    try:
        if case.op == "rearrange":
            return tuple(np.shape(einops.rearrange(xs[0], case.pattern, **sizes)))
        if case.op == "repeat":
            return tuple(np.shape(einops.repeat(xs[0], case.pattern, **sizes)))
        if case.op == "reduce":
            shape = tuple(np.shape(einops.reduce(xs[0], case.pattern, case.reduction, **sizes)))
            if removes_nothing(case.pattern):
                return "error"  # INTENTIONAL (a): tdc rejects a reduce that removes no axis
            return shape
        return expected_einsum(case, xs, np, einops)
    except Exception:  # einops.EinopsError, ValueError from numpy, NotImplementedError...
        return "error"


def removes_nothing(pattern):
    """True when a reduce pattern keeps every axis of its left side: every
    name on the left is on the right, the left has no anonymous size, and
    `...` is kept if the left has it. (Unit axes removed do not count.)"""
    left, right = pattern.split("->")
    li, ri = parse_side(left), parse_side(right)
    if any(it[0] == "anon" or (it[0] == "group" and any(x[0] == "anon" for x in it[1])) for it in li):
        return False
    if has_ellipsis(li) and not has_ellipsis(ri):
        return False
    return set(names_of(li)) <= set(names_of(ri))


def has_ellipsis(items):
    return any(it[0] == "ell" or (it[0] == "group" and any(x[0] == "ell" for x in it[1])) for it in items)


def flat_names(items):
    """The elementary axes of a side, in order, with "..." where it is."""
    out = []
    for it in items:
        if it[0] == "name":
            out.append(it[1])
        elif it[0] == "ell":
            out.append("...")
        elif it[0] == "group":
            for x in it[1]:
                if x[0] == "anon":
                    raise NotImplementedError("anonymous axes in einsum")  # einops rejects these too
                out.append("..." if x[0] == "ell" else x[1])
        elif it[0] == "anon":
            raise NotImplementedError("anonymous axes in einsum")
    return out


def bind_flat(flat, shape, known):
    """Binds the names of a flat einsum side to the axes of `shape`; raises if
    a name already has another size (INTENTIONAL (d): no size-1 broadcasting
    of labelled axes)."""
    if "..." in flat:
        i = flat.index("...")
        before, after = flat[:i], flat[i + 1:]
        if len(shape) < len(before) + len(after):
            raise ValueError("rank")
        pairs = list(zip(before, shape[:len(before)])) + list(zip(after, shape[len(shape) - len(after):]))
    else:
        if len(shape) != len(flat):
            raise ValueError("rank")
        pairs = list(zip(flat, shape))
    for n, d in pairs:
        if n in known and known[n] != d:
            raise ValueError(f"axis {n} is {known[n]} and {d}")
        known[n] = d


def expected_einsum(case, xs, np, einops):
    left, right = case.pattern.split("->")
    ins = [parse_side(s) for s in left.split(",")]
    out = parse_side(right)
    if len(ins) != len(xs):
        raise ValueError("operand count")
    # INTENTIONAL (d): `...` in the output needs `...` in some input.
    if has_ellipsis(out) and not any(has_ellipsis(s) for s in ins):
        raise ValueError("... only on the right")
    reshaped = "(" in case.pattern or any(it[0] == "unit" for s in ins + [out] for it in s)
    known = {}
    if not reshaped:
        for side, x in zip(ins, xs):
            bind_flat(flat_names(side), np.shape(x), known)
        return tuple(np.shape(einops.einsum(*xs, case.pattern)))
    # INTENTIONAL (b): groups and unit axes, which einops.einsum does not
    # take: flatten each operand with rearrange, einsum, then regroup.
    flats, flat_ops = [], []
    for side, x in zip(ins, xs):
        flat = flat_names(side)
        if any(it[0] in ("group", "unit") for it in side):
            # rearrange takes no repeated name: a diagonal's second "i"
            # is renamed for the reshape and is "i" again for einsum.
            renamed, seen = [], {}
            for it in side:
                if it[0] == "name" and it[1] in seen:
                    seen[it[1]] += 1
                    renamed.append(("name", f"zz{it[1]}{seen[it[1]]}"))
                else:
                    if it[0] == "name":
                        seen[it[1]] = 0
                    renamed.append(it)
            given = {n: known[n] for n in names_of(side) if n in known}
            x = einops.rearrange(x, render_side(renamed) + " -> " + " ".join(flat_names(renamed)), **given)
        bind_flat(flat, np.shape(x), known)
        flats.append(flat)
        flat_ops.append(x)
    flat_out = flat_names(out)
    res = np.asarray(einops.einsum(*flat_ops, ", ".join(" ".join(f) for f in flats) + " -> " + " ".join(flat_out)))
    if any(it[0] in ("group", "unit") for it in out):
        res = einops.rearrange(res, " ".join(flat_out) + " -> " + render_side(out))
    return tuple(np.shape(res))


# ---------------------------------------------------------------------------
# Hand-written cases: the forms named in einops' documentation and the
# errors einops reports.

def hand_cases():
    C = Case
    return [
        # rearrange
        C("rearrange", "a b c -> (a b) c", [(2, 3, 8)]),
        C("rearrange", "a b c -> c b a", [(2, 3, 4)]),
        C("rearrange", "(h d) -> h d", [(6,)], [("h", 2)]),
        C("rearrange", "(h d) -> h d", [(6,)], [("d", 3)]),
        C("rearrange", "(h d) -> h d", [(6,)], [("h", 2), ("d", 3)]),
        C("rearrange", "(h d) -> h d", [(6,)], [("h", 4)]),                 # does not divide
        C("rearrange", "(h d) -> h d", [(6,)], [("h", 2), ("d", 2)]),       # 2*2 != 6
        C("rearrange", "(h d) -> h d", [(6,)]),                             # two unknowns
        C("rearrange", "b (h w c) -> b h w c", [(2, 24)], [("h", 2), ("w", 3)]),
        C("rearrange", "b h w c -> b (c h w)", [(2, 3, 4, 5)]),
        C("rearrange", "b ... -> b (...)", [(2, 3, 4)]),
        C("rearrange", "b ... -> b (...)", [(2,)]),
        C("rearrange", "b ... -> (...) b", [(2, 3, 4, 5)]),
        C("rearrange", "... -> (...)", [(2, 3, 4)]),
        C("rearrange", "... c -> c ...", [(2, 3, 4)]),
        C("rearrange", "... c -> c ...", [()]),                             # rank too small
        C("rearrange", "... -> ...", [()]),
        C("rearrange", " -> ", [()]),
        C("rearrange", " -> 1 ()", [()]),
        C("rearrange", "a 1 b -> a b", [(2, 1, 3)]),
        C("rearrange", "a () b -> a b", [(2, 1, 3)]),
        C("rearrange", "a 1 b -> a b", [(2, 2, 3)]),                        # unit axis is 2
        C("rearrange", "a b -> a 1 b ()", [(2, 3)]),
        C("rearrange", "a b -> (a 1) (1 b)", [(2, 3)]),
        C("rearrange", "(a 1) b -> a b", [(2, 3)]),
        C("rearrange", "a b -> b (a)", [(2, 3)]),
        C("rearrange", "a b -> a b", [(2, 3, 4)]),                          # wrong rank
        C("rearrange", "a b c -> a b", [(2, 3, 4)]),                        # c dropped
        C("rearrange", "a b -> a b c", [(2, 3)]),                           # unknown axis on the right
        C("rearrange", "a b -> a b c", [(2, 3)], [("c", 1)]),
        C("rearrange", "a a -> a", [(2, 2)]),                               # duplicate on the left
        C("rearrange", "a b -> a a b", [(2, 3)]),                           # duplicate on the right
        C("rearrange", "a b -> a b", [(2, 3)], [("c", 2)]),                 # keyword not in the pattern
        C("rearrange", "a b -> a b", [(2, 3)], [("b", 3)]),
        C("rearrange", "a b -> a b", [(2, 3)], [("b", 4)]),                 # keyword disagrees
        C("rearrange", "a 2 -> a", [(2, 2)]),                               # anonymous axis in rearrange
        C("rearrange", "(a ...) -> a ...", [(6,)]),                         # ... in a group on the left
        C("rearrange", "a -> a ...", [(2,)]),                               # ... only on the right
        C("rearrange", "a ... -> a", [(2, 3)]),                             # ... only on the left
        C("rearrange", "a ... ... -> a", [(2, 3)]),
        C("rearrange", "(a b -> a b", [(6,)]),
        C("rearrange", "a b) -> a b", [(6,)]),
        C("rearrange", "((a b)) -> a b", [(6,)]),
        C("rearrange", "a b", [(2, 3)]),                                    # no arrow
        C("rearrange", "a -> b -> a", [(2,)]),
        C("rearrange", "head seq -> seq head", [(2, 3)]),
        C("rearrange", "x1 (h2d w_in) -> w_in x1 h2d", [(2, 6)], [("w_in", 3)]),
        # reduce
        C("reduce", "a b -> a", [(2, 3)], reduction="sum"),
        C("reduce", "a b -> ", [(2, 3)], reduction="mean"),
        C("reduce", "a b -> ()", [(2, 3)], reduction="max"),
        C("reduce", "a b -> a 1", [(2, 3)], reduction="min"),
        C("reduce", "a b -> 1 b", [(2, 3)], reduction="prod"),
        C("reduce", "a b -> b a", [(2, 3)], reduction="sum"),               # removes nothing: (a)
        C("reduce", "a b -> a b", [(2, 3)], reduction="sum"),               # removes nothing: (a)
        C("reduce", "a 1 b -> a b", [(2, 1, 3)], reduction="sum"),          # removes only a unit axis: (a)
        C("reduce", "a 3 -> a", [(2, 3)], reduction="sum"),
        C("reduce", "a 3 -> a", [(2, 4)], reduction="sum"),                 # anonymous size disagrees
        C("reduce", "a (b 2) -> a b", [(2, 6)], reduction="max"),
        C("reduce", "a (b 4) -> a b", [(2, 6)], reduction="max"),            # does not divide
        C("reduce", "(h w) c -> h c", [(12, 5)], [("h", 3)], "mean"),
        C("reduce", "(h w) c -> h c", [(12, 5)], [("w", 3)], "mean"),
        C("reduce", "(h w) c -> h c", [(12, 5)], reduction="mean"),           # two unknowns
        C("reduce", "b ... -> b", [(2, 3, 4)], reduction="sum"),
        C("reduce", "b ... -> b", [(2,)], reduction="sum"),
        C("reduce", "b ... c -> ...", [(2, 3, 4)], reduction="sum"),
        C("reduce", "b ... -> (b ...)", [(2, 3, 4)], reduction="sum"),      # removes nothing: (a)
        C("reduce", "... c -> (...)", [(2, 3, 4)], reduction="sum"),
        C("reduce", "a b -> a c", [(2, 3)], reduction="sum"),               # c only on the right
        C("reduce", "a b -> a c", [(2, 3)], [("c", 2)], "sum"),
        C("reduce", "a b -> a 2", [(2, 3)], reduction="sum"),               # anonymous size on the right
        C("reduce", "a b -> (a 2)", [(2, 3)], reduction="sum"),
        C("reduce", "a b -> a", [(2, 3, 4)], reduction="sum"),              # wrong rank
        C("reduce", "a a -> a", [(2, 2)], reduction="sum"),                 # duplicate
        C("reduce", "a b -> a", [(2, 3)], [("b", 3)], "sum"),
        C("reduce", "a b -> a", [(2, 3)], [("b", 2)], "sum"),               # keyword disagrees
        C("reduce", "a b -> a", [(2, 3)], [("z", 2)], "sum"),               # keyword not in the pattern
        # repeat
        C("repeat", "h w -> h w 3", [(2, 4)]),
        C("repeat", "h w -> h w c", [(2, 4)], [("c", 3)]),
        C("repeat", "h w -> h w c", [(2, 4)]),                              # missing size for c
        C("repeat", "h w -> (h 2) (w 3)", [(2, 4)]),
        C("repeat", "h w -> (h a) (b w)", [(2, 4)], [("a", 2), ("b", 3)]),
        C("repeat", "h w -> (h a) (b w)", [(2, 4)], [("a", 2)]),            # missing size for b
        C("repeat", " -> a b", [()], [("a", 2), ("b", 3)]),
        C("repeat", "h -> h 1", [(2,)]),
        C("repeat", "h -> h ()", [(2,)]),
        C("repeat", "h -> h c", [(2,)], [("c", 1)]),
        C("repeat", "h w -> w", [(2, 3)]),                                  # h dropped
        C("repeat", "h 3 -> h 3 c", [(2, 3)], [("c", 2)]),                  # anonymous axis on the left
        C("repeat", "(h w) -> h w c", [(6,)], [("h", 2), ("c", 2)]),
        C("repeat", "(h w) -> h w c", [(6,)], [("c", 2)]),                  # two unknowns
        C("repeat", "b ... -> b c ...", [(2, 3, 4)], [("c", 2)]),
        C("repeat", "b ... -> b (c ...)", [(2, 3, 4)], [("c", 2)]),
        C("repeat", "b ... -> (...) b 2", [(2, 3, 4)]),
        C("repeat", "h -> h h", [(2,)]),                                    # duplicate on the right
        C("repeat", "h -> h c", [(2,)], [("c", 2), ("d", 2)]),              # keyword not in the pattern
        C("repeat", "h -> h", [(2,)]),
        C("repeat", "h -> h", [(2,)], [("h", 3)]),                          # keyword disagrees
        # einsum
        C("einsum", "i j, j k -> i k", [(2, 3), (3, 4)]),
        C("einsum", "i j, j k -> k i", [(2, 3), (3, 4)]),
        C("einsum", "i j, j k -> i k", [(2, 3), (4, 4)]),                   # j disagrees
        C("einsum", "i j, j k -> i k", [(2, 3), (1, 4)]),                   # j is 3 and 1: (d)
        C("einsum", "i j, j k -> i l", [(2, 3), (3, 4)]),                   # unknown output axis
        C("einsum", "i j, j k -> i i", [(2, 3), (3, 4)]),                   # duplicate in the output
        C("einsum", "i j, j k -> i k", [(2, 3, 1), (3, 4)]),                # wrong rank
        C("einsum", "i j, j k, k l -> i l", [(2, 3), (3, 4), (4, 5)]),
        C("einsum", "i j, j k, k l -> i l", [(2, 3), (3, 4)]),              # operand count
        C("einsum", "i j, j k -> i k", [(2, 3), (3, 4), (4, 5)]),           # operand count
        C("einsum", "i, i -> ", [(3,), (3,)]),
        C("einsum", "i j, i j -> ", [(2, 3), (2, 3)]),
        C("einsum", "i j, i j -> j i", [(2, 3), (2, 3)]),
        C("einsum", "i i -> i", [(3, 3)]),                                  # diagonal: (c)
        C("einsum", "i i -> ", [(3, 3)]),
        C("einsum", "i i -> i", [(2, 3)]),
        C("einsum", "i i j, j k -> i k", [(3, 3, 2), (2, 4)]),
        C("einsum", "... j, j k -> ... k", [(2, 3, 4), (4, 5)]),
        C("einsum", "... j, ... j k -> ... k", [(2, 3, 4), (3, 4, 5)]),
        C("einsum", "... j k, ... j k -> ...", [(2, 3, 4), (1, 3, 4)]),     # broadcast 1
        C("einsum", "... j k, ... j k -> ...", [(2, 3, 4), (3, 4)]),        # broadcast rank
        C("einsum", "... j k, ... j k -> ...", [(2, 3, 4), (5, 3, 4)]),     # cannot broadcast
        C("einsum", "... j, j k -> k", [(2, 3, 4), (4, 5)]),                # ... dropped
        C("einsum", "i j, j k -> i ... k", [(2, 3), (3, 4)]),               # ... only on the right: (d)
        C("einsum", "i 2, j k -> i k", [(2, 2), (3, 4)]),                   # anonymous axis
        C("einsum", "(i l) j, j k -> i k", [(6, 3), (3, 4)]),               # two unknowns
        C("einsum", "i l, (i l) j, j k -> i k", [(2, 3), (6, 3), (3, 4)]),  # groups: (b)
        C("einsum", "i l, (i l) j, j k -> i k", [(2, 3), (5, 3), (3, 4)]),
        C("einsum", "i j, j k -> (i k)", [(2, 3), (3, 4)]),                 # group in the output: (b)
        C("einsum", "i j, j k -> (k i) 1", [(2, 3), (3, 4)]),
        C("einsum", "i 1 j, j k -> i () k", [(2, 1, 3), (3, 4)]),           # unit axes: (b)
        C("einsum", "i 1 j, j k -> i k", [(2, 2, 3), (3, 4)]),
        C("einsum", "(i) j, j k -> i k", [(2, 3), (3, 4)]),
        C("einsum", "... j, j k -> (...) k", [(2, 3, 4), (4, 5)]),          # (...) in the output: (b)
        C("einsum", "... j, j k -> (... k)", [(2, 3, 4), (4, 5)]),
        C("einsum", "(... j), j k -> k", [(6,), (3, 4)]),                   # ... in a group on the left
        C("einsum", "i j, j k", [(2, 3), (3, 4)]),                          # no arrow
        C("einsum", "i j,j k->i k", [(2, 3), (3, 4)]),
        C("einsum", "_ b -> b", [(2, 3)]),
        C("einsum", "a_ b -> b", [(2, 3)]),                                 # name ends with '_'
        C("einsum", "A b1, b1 c -> c A", [(2, 3), (3, 4)]),
        C("einsum", "i j, j k, k l -> i l", [(2, 3), (3, 4), (5, 5)]),      # k disagrees in the third
        C("einsum", "i j, j k, k i -> ", [(2, 3), (3, 4), (4, 2)]),
        C("einsum", "i j, j k, k i -> ", [(2, 3), (3, 4), (4, 3)]),
        C("einsum", "b i, b j, b k -> b (i j k)", [(2, 2), (2, 3), (2, 4)]),
        C("einsum", "i, (i j) -> j", [(2,), (6,)]),
        C("einsum", "i, (j i) -> j", [(2,), (7,)]),                         # does not divide
        C("einsum", "... i, ... i -> ...", [(2, 3), (4, 1, 3)]),
        C("einsum", "i ..., i ... -> ...", [(3, 2), (3, 4, 1)]),            # cannot broadcast (2 vs 4 1)
        C("einsum", "i ..., i ... -> ...", [(3, 4, 2), (3, 2)]),
        # spelling of patterns
        C("rearrange", "a b->b a", [(2, 3)]),
        C("rearrange", "  a   b  ->  b a  ", [(2, 3)]),
        C("rearrange", "(a b)c -> a b c", [(6, 3)], [("a", 2)]),
        C("rearrange", "a b -> (b a)()", [(2, 3)]),
        C("rearrange", "A B -> B A", [(2, 3)]),
        C("rearrange", "a1 b2 -> b2 a1", [(2, 3)]),
        C("rearrange", "a__b c -> c a__b", [(2, 3)]),
        C("rearrange", "a_ b -> b a_", [(2, 3)]),                           # name ends with '_'
        C("rearrange", "_a b -> b _a", [(2, 3)]),                           # name starts with '_'
        C("rearrange", "_ b -> b _", [(2, 3)]),
        C("rearrange", "1a b -> b 1a", [(2, 3)]),                           # name starts with a digit
        C("rearrange", "a.b c -> c a.b", [(2, 3)]),
        C("rearrange", "a b -> b a,", [(2, 3)]),
        C("rearrange", "a, b -> b a", [(2, 3)]),
        C("rearrange", "a b -> (() b) a", [(2, 3)]),
        C("rearrange", "a b -> b a 0", [(2, 3)]),
        C("rearrange", "a b -> b a 01", [(2, 3)]),
        C("repeat", "a b -> b a 0", [(2, 3)]),
        C("repeat", "a b -> b a 01", [(2, 3)]),
        C("repeat", "a b -> b (a 02)", [(2, 3)]),
        C("repeat", "a -> a c", [(2,)], [("c", 0)]),
        C("reduce", "a 0 -> a", [(2, 3)], reduction="sum"),
        C("reduce", "a 1 -> a", [(2, 1)], reduction="sum"),                  # removes only a unit axis: (a)
        C("reduce", "(a 1) b -> a", [(2, 3)], reduction="sum"),
        C("reduce", "(h 2) w -> h", [(6, 5)], reduction="prod"),
        C("reduce", "(h 2) w -> h", [(6, 5)], [("h", 3)], "prod"),
        C("reduce", "(h 2) w -> h", [(6, 5)], [("h", 2)], "prod"),          # 2*2 != 6
        C("reduce", "a b -> a", [(2, 3)], reduction="median"),              # unknown reduction
        C("reduce", "... -> ", [()], reduction="sum"),
        C("reduce", "... -> ", [(2, 3)], reduction="max"),
        C("reduce", "... -> ...", [(2, 3)], reduction="sum"),               # removes nothing: (a)
        C("reduce", "(a 2 b) c -> c", [(12, 5)], [("a", 3)], "mean"),
        C("reduce", "(a 2 b) c -> b", [(12, 5)], [("a", 3)], "mean"),
        C("reduce", "(a 2 b) c -> b", [(12, 5)], [("a", 4)], "mean"),       # does not divide
        C("reduce", "(a 2) b -> b", [(6, 5)], reduction="min"),
        C("reduce", "a b c -> b", [(2, 3, 4)], [("a", 2), ("c", 4)], "sum"),
        C("rearrange", "... (h d) -> ... h d", [(2, 3, 12)], [("h", 4)]),
        C("rearrange", "... (h d) -> ... h d", [(12,)], [("h", 4)]),
        C("rearrange", "... (h d) -> ... h d", [()], [("h", 4)]),           # rank too small
        C("rearrange", "1 1 a -> a", [(1, 1, 3)]),
        C("rearrange", "1 1 a -> a 1 1", [(1, 1, 3)]),
        C("rearrange", "a b -> (a b)", [(2, 3)], [("a", 2), ("b", 3)]),
        C("rearrange", "(a b) -> (b a)", [(6,)], [("a", 2), ("b", 3)]),
        C("rearrange", "(a b) -> (b a)", [(6,)], [("a", 3), ("b", 3)]),     # 3*3 != 6
        C("repeat", "(a b) -> a b c", [(6,)], [("a", 2), ("c", 3)]),
        C("repeat", "a -> (c 1) a", [(2,)], [("c", 3)]),
        C("repeat", "a -> (a 1 2)", [(2,)]),
        C("repeat", "a -> (a 2 c) 3", [(2,)], [("c", 2)]),
        C("repeat", "a -> a ...", [(2,)]),                                  # ... only on the right
        C("repeat", "... -> ... c", [()], [("c", 2)]),
        C("repeat", "... a -> (...) a c", [(4, 5, 2)], [("c", 2)]),
        C("repeat", "(a 2) -> a 2", [(6,)]),                                # anonymous axis on the left
        C("repeat", "a 1 -> a c", [(2, 1)], [("c", 3)]),
        C("repeat", "a 1 -> a c", [(2, 2)], [("c", 3)]),                    # unit axis is 2
        C("einsum", "i j -> j i", [(2, 3)]),
        C("einsum", "i j -> ", [(2, 3)]),
        C("einsum", "i j -> j", [(2, 3)]),
        C("einsum", "... -> ...", [(2, 3)]),
        C("einsum", "... i -> (...)", [(3,)]),
        C("einsum", "i j, j -> (i)", [(2, 3), (3,)]),
        C("einsum", ", i -> i", [(), (3,)]),
        C("einsum", " -> ", [()]),
        C("einsum", "i, -> ", [(3,), ()]),
        C("einsum", "i, -> ", [(3,), (2,)]),                                # wrong rank
    ]


# ---------------------------------------------------------------------------
# Generated cases

class Gen:
    def __init__(self, rng):
        self.rng = rng

    def names(self, n):
        pool = NAMES + LONG_NAMES if self.rng.random() < 0.2 else NAMES
        return self.rng.sample(pool, n)

    def size(self):
        return self.rng.choice([1, 2, 2, 2, 3, 3, 3, 4, 5])

    def unit(self):
        return ("unit", self.rng.choice(["1", "()"]))

    def group_left(self, elems, allow_groups=True):
        """Turns a list of (name, size) into left-hand items: bare names and
        groups of 2-3 consecutive names, with unit axes sprinkled in. Returns
        (items, shape, groups) where groups lists the names of each group."""
        items, shape, groups = [], [], []
        i = 0
        while i < len(elems):
            if self.rng.random() < 0.08:
                items.append(self.unit())
                shape.append(1)
            k = 1
            if allow_groups and i + 1 < len(elems) and self.rng.random() < 0.35:
                k = self.rng.choice([2, 2, 3])
                k = min(k, len(elems) - i)
            chunk = elems[i:i + k]
            if k == 1 and self.rng.random() > 0.05:
                items.append(("name", chunk[0][0]))
            else:
                items.append(("group", [("name", n) for n, _ in chunk]))
                groups.append([n for n, _ in chunk])
            d = 1
            for _, s in chunk:
                d *= s
            shape.append(d)
            i += k
        if self.rng.random() < 0.05:
            items.append(self.unit())
            shape.append(1)
        return items, shape, groups

    def group_right(self, tokens, ell_in_group=True):
        """Groups a list of right-hand tokens (("name", n), ("anon", k),
        ("ell",)) into items: bare, or consecutive runs in parentheses."""
        items = []
        i = 0
        while i < len(tokens):
            if self.rng.random() < 0.08:
                items.append(self.unit())
            k = 1
            if i + 1 < len(tokens) and self.rng.random() < 0.3:
                k = min(self.rng.choice([2, 2, 3]), len(tokens) - i)
            chunk = tokens[i:i + k]
            if not ell_in_group and any(t[0] == "ell" for t in chunk) and k > 1:
                chunk, k = tokens[i:i + 1], 1
            if k == 1 and (chunk[0][0] != "ell" or not ell_in_group or self.rng.random() < 0.6) \
                    and self.rng.random() > 0.05:
                items.append(chunk[0])
            else:
                items.append(("group", list(chunk)))
            i += k
        if self.rng.random() < 0.05:
            items.append(self.unit())
        return items

    def keyword_sizes(self, groups, sizes, names):
        """Sizes by keyword: for each group, all but one of its names (or all
        of them), and now and then a redundant one for a bare name."""
        kw = []
        for g in groups:
            given = list(g)
            if self.rng.random() < 0.8:
                given.remove(self.rng.choice(g))
            kw.extend(given)
        bare = [n for n in names if not any(n in g for g in groups)]
        if bare and self.rng.random() < 0.1:
            kw.append(self.rng.choice(bare))
        self.rng.shuffle(kw)
        return [(n, sizes[n]) for n in kw]

    def with_ellipsis(self, items, shape):
        """Replaces a run of 0-2 bare names (with their axes) by `...`.
        Returns (items, shape, covered names) or None."""
        bare = [i for i, it in enumerate(items) if it[0] == "name"]
        start = self.rng.choice(bare) if bare and self.rng.random() < 0.8 else self.rng.randrange(len(items) + 1)
        n = 0
        while n < 2 and start + n < len(items) and items[start + n][0] == "name" and self.rng.random() < 0.7:
            n += 1
        covered = [it[1] for it in items[start:start + n]]
        return items[:start] + [("ell",)] + items[start + n:], shape, covered, (start, n)

    # -- one generator per operation --

    def elems(self, lo, hi):
        n = self.rng.randint(lo, hi)
        return [(name, self.size()) for name in self.names(n)]

    def left_side(self, lo, hi, allow_groups=True):
        elems = self.elems(lo, hi)
        sizes = dict(elems)
        items, shape, groups = self.group_left(elems, allow_groups)
        covered = []
        if self.rng.random() < 0.25:
            items, shape, covered, _ = self.with_ellipsis(items, shape)
            # the shape keeps the covered axes where `...` stands; add 0-1 more
            if self.rng.random() < 0.3:
                pos = self.ell_axis(items)
                shape = shape[:pos] + [self.size()] + shape[pos:]
        return items, shape, groups, sizes, covered

    @staticmethod
    def ell_axis(items):
        """The axis index where `...` starts."""
        return [i for i, it in enumerate(items) if it[0] == "ell"][0]

    def gen_rearrange(self):
        items, shape, groups, sizes, covered = self.left_side(0, 5)
        names = [n for n in names_of(items)]
        tokens = [("name", n) for n in names]
        if any(it[0] == "ell" for it in items):
            tokens.append(("ell",))
        self.rng.shuffle(tokens)
        right = self.group_right(tokens)
        kw = self.keyword_sizes(groups, sizes, names_of(items))
        return self.mutate("rearrange", items, right, shape, kw, sizes, None)

    def gen_reduce(self):
        items, shape, groups, sizes, covered = self.left_side(1, 5)
        # anonymous sizes on the left are reduced
        if self.rng.random() < 0.2:
            k = self.rng.choice([2, 3])
            pos = self.rng.randrange(len(items) + 1)
            if self.rng.random() < 0.5 or not any(it[0] == "group" for it in items):
                ax = axis_of(items, len(shape), pos)
                items = items[:pos] + [("anon", k)] + items[pos:]
                shape = shape[:ax] + [k] + shape[ax:]
            else:
                gi = [i for i, it in enumerate(items) if it[0] == "group"][0]
                g = items[gi][1]
                ax = axis_of(items, len(shape), gi)
                items = items[:gi] + [("group", g + [("anon", k)])] + items[gi + 1:]
                shape = list(shape)
                shape[ax] *= k
        names = names_of(items)
        keep = [n for n in names if self.rng.random() < 0.5]
        tokens = [("name", n) for n in keep]
        if any(it[0] == "ell" for it in items) and self.rng.random() < 0.6:
            tokens.append(("ell",))
        self.rng.shuffle(tokens)
        right = self.group_right(tokens)
        kw = self.keyword_sizes(groups, sizes, names_of(items))
        return self.mutate("reduce", items, right, shape, kw, sizes, self.rng.choice(REDUCTIONS))

    def gen_repeat(self):
        items, shape, groups, sizes, covered = self.left_side(0, 3)
        names = names_of(items)
        tokens = [("name", n) for n in names]
        if any(it[0] == "ell" for it in items):
            tokens.append(("ell",))
        self.rng.shuffle(tokens)
        new = [n for n in NAMES if n not in names and n not in sizes]
        added = []
        for _ in range(self.rng.choice([1, 1, 2, 2, 3])):
            if self.rng.random() < 0.4:
                tok = ("anon", self.rng.choice([2, 3, 4]))
            else:
                n = new.pop(self.rng.randrange(len(new)))
                tok = ("name", n)
                added.append(n)
                sizes[n] = self.size()
            tokens.insert(self.rng.randrange(len(tokens) + 1), tok)
        right = self.group_right(tokens)
        kw = self.keyword_sizes(groups, sizes, names) + [(n, sizes[n]) for n in added]
        self.rng.shuffle(kw)
        return self.mutate("repeat", items, right, shape, kw, sizes, None)

    def mutate(self, op, left, right, shape, kw, sizes, reduction):
        rng = self.rng
        origin = op
        shape = list(shape)
        before = (render_side(left), render_side(right), list(shape), list(kw))
        if rng.random() < 0.4:
            kinds = ["rank+", "rank-", "divide", "unknown_right", "dup_left", "dup_right",
                     "drop_right", "kw_wrong", "kw_unknown", "kw_missing", "anon", "ell_left_group",
                     "ell_right_only", "unit_wrong"]
            kind = rng.choice(kinds)
            origin += "/" + kind
            lnames = names_of(left)
            rnames = names_of(right)
            if kind == "rank+":
                shape.insert(rng.randrange(len(shape) + 1), self.size())
            elif kind == "rank-" and shape:
                del shape[rng.randrange(len(shape))]
            elif kind == "divide":
                gs = [i for i, it in enumerate(left) if it[0] == "group"]
                if gs and not any(it[0] == "ell" for it in left):
                    shape[rng.choice(gs)] += 1
                elif shape:
                    shape[rng.randrange(len(shape))] += 1
            elif kind == "unknown_right":
                n = rng.choice([x for x in NAMES if x not in lnames and x not in rnames])
                right = right[:] ; right.insert(rng.randrange(len(right) + 1), ("name", n))
            elif kind == "dup_left" and lnames:
                n = rng.choice(lnames)
                left = left[:] ; left.insert(rng.randrange(len(left) + 1), ("name", n))
                shape.insert(0, sizes.get(n, 2))  # rank matches; the duplicate is what is wrong
            elif kind == "dup_right" and rnames:
                n = rng.choice(rnames)
                right = right[:] ; right.insert(rng.randrange(len(right) + 1), ("name", n))
            elif kind == "drop_right" and rnames:
                n = rng.choice(rnames)
                right = drop_name(right, n)
            elif kind == "kw_wrong" and kw:
                i = rng.randrange(len(kw))
                kw = kw[:] ; kw[i] = (kw[i][0], kw[i][1] + 1)
            elif kind == "kw_unknown":
                n = rng.choice([x for x in NAMES if x not in lnames and x not in rnames])
                kw = kw + [(n, 2)]
            elif kind == "kw_missing" and kw:
                kw = kw[:] ; del kw[rng.randrange(len(kw))]
            elif kind == "anon":
                k = rng.choice([2, 3])
                if rng.random() < 0.5:
                    left = left[:] ; pos = rng.randrange(len(left) + 1)
                    left.insert(pos, ("anon", k))
                    shape.insert(min(pos, len(shape)), k)
                else:
                    right = right[:] ; right.insert(rng.randrange(len(right) + 1), ("anon", k))
            elif kind == "ell_left_group":
                gs = [i for i, it in enumerate(left) if it[0] == "group"]
                if gs and not any(it[0] == "ell" for it in left):
                    gi = rng.choice(gs)
                    left = left[:] ; left[gi] = ("group", [("ell",)] + left[gi][1])
                    right = right + [("ell",)]
            elif kind == "ell_right_only":
                if not any(it[0] == "ell" for it in left):
                    right = right[:] ; right.insert(rng.randrange(len(right) + 1), ("ell",))
            elif kind == "unit_wrong":
                pos = rng.randrange(len(left) + 1)
                left = left[:] ; left.insert(pos, self.unit())
                shape.insert(min(pos, len(shape)), rng.choice([2, 3]))
        if (render_side(left), render_side(right), shape, kw) == before:
            origin = op  # the mutation did not apply
        pattern = render_side(left) + " -> " + render_side(right)
        return Case(op, pattern, [shape], kw, reduction, origin)

    def gen_einsum(self):
        rng = self.rng
        nops = rng.choice([1, 2, 2, 2, 3, 3])
        pool = self.names(rng.randint(2, 5))
        sizes = {n: self.size() for n in pool}
        sides = []
        for _ in range(nops):
            k = rng.randint(1, min(3, len(pool)))
            sides.append(rng.sample(pool, k))
        if rng.random() < 0.12:  # a diagonal: (c)
            s = rng.choice(sides)
            s.insert(rng.randrange(len(s) + 1), rng.choice(s))
        used = []
        for s in sides:
            for n in s:
                if n not in used:
                    used.append(n)
        out = [n for n in used if rng.random() < 0.55]
        rng.shuffle(out)
        ell = rng.random() < 0.2
        shapes = [[sizes[n] for n in s] for s in sides]
        items = [[("name", n) for n in s] for s in sides]
        out_items = [("name", n) for n in out]
        origin = "einsum"
        if ell:
            batch = [self.size() for _ in range(rng.randint(0, 2))]
            for k in range(nops):
                if k > 0 and rng.random() < 0.3:
                    continue  # this operand has no `...`
                b = batch[rng.randint(0, len(batch)):] if rng.random() < 0.3 else batch
                b = [1 if rng.random() < 0.15 else d for d in b]
                pos = rng.randrange(len(items[k]) + 1)
                items[k].insert(pos, ("ell",))
                shapes[k][pos:pos] = b
            out_items.insert(rng.randrange(len(out_items) + 1), ("ell",))
            origin += "/ellipsis"
        # INTENTIONAL (b): groups and unit axes, which only tdc takes.
        if rng.random() < 0.25:
            origin += "/groups"
            items, shapes, out_items = self.einsum_groups(items, shapes, out_items, sizes)
        case = Case("einsum", ", ".join(render_side(s) for s in items) + " -> " + render_side(out_items),
                    shapes, origin=origin)
        if rng.random() < 0.35:
            before = (case.pattern, list(case.shapes), case.origin)
            self.mutate_einsum(case, pool, sizes)
            if (case.pattern, case.shapes) == before[:2]:
                case.origin = before[2]  # the mutation did not apply
        return case

    def einsum_groups(self, items, shapes, out_items, sizes):
        """Merges adjacent axes into groups and adds unit axes. A group's names
        are all known from earlier operands except at most one, so the sizes
        follow operand by operand (as einops would need them)."""
        rng = self.rng
        known = set()
        for k, side in enumerate(items):
            if len(side) >= 2 and rng.random() < 0.6:
                i = rng.randrange(len(side) - 1)
                a, b = side[i], side[i + 1]
                if a[0] == "name" and b[0] == "name" and a[1] != b[1] and \
                        (a[1] in known or b[1] in known) and names_of(side).count(a[1]) == 1 \
                        and names_of(side).count(b[1]) == 1:
                    ax = axis_of(side, len(shapes[k]), i)
                    side[i:i + 2] = [("group", [a, b])]
                    shapes[k][ax:ax + 2] = [shapes[k][ax] * shapes[k][ax + 1]]
            if rng.random() < 0.3:
                pos = rng.randrange(len(side) + 1)
                ax = axis_of(side, len(shapes[k]), pos)
                side.insert(pos, self.unit())
                shapes[k].insert(ax, 1)
            known.update(names_of(side))
        if len(out_items) >= 2 and rng.random() < 0.6:
            i = rng.randrange(len(out_items) - 1)
            out_items[i:i + 2] = [("group", [out_items[i], out_items[i + 1]])]
        elif any(it[0] == "ell" for it in out_items) and rng.random() < 0.5:
            out_items = [("group", [("ell",)]) if it[0] == "ell" else it for it in out_items]
        if rng.random() < 0.3:
            out_items.insert(rng.randrange(len(out_items) + 1), self.unit())
        return items, shapes, out_items

    def mutate_einsum(self, case, pool, sizes):
        rng = self.rng
        kind = rng.choice(["size", "size", "rank", "unknown_out", "dup_out", "operands", "ell_out",
                           "drop_ell_out", "anon"])
        case.origin += "/" + kind
        left, right = case.pattern.split("->")
        if kind == "size":
            k = rng.randrange(len(case.shapes))
            if case.shapes[k]:
                s = list(case.shapes[k])
                i = rng.randrange(len(s))
                s[i] += rng.choice([1, 2])
                case.shapes[k] = tuple(s)
        elif kind == "rank":
            k = rng.randrange(len(case.shapes))
            s = list(case.shapes[k])
            if s and rng.random() < 0.5:
                del s[rng.randrange(len(s))]
            else:
                s.insert(rng.randrange(len(s) + 1), self.size())
            case.shapes[k] = tuple(s)
        elif kind == "unknown_out":
            n = rng.choice([x for x in NAMES if x not in pool])
            case.pattern = left + "-> " + (right.strip() + " " + n).strip()
        elif kind == "dup_out":
            names = re.findall(r"[A-Za-z_]\w*", right)
            if names:
                case.pattern = left + "-> " + (right.strip() + " " + rng.choice(names)).strip()
        elif kind == "operands":
            if rng.random() < 0.5 and len(case.shapes) > 1:
                case.shapes.pop()
            else:
                case.shapes.append((sizes[pool[0]],))
        elif kind == "ell_out":
            if "..." not in right:
                case.pattern = left + "-> ... " + right.strip()
        elif kind == "drop_ell_out":
            if "..." in right:
                case.pattern = left + "-> " + right.replace("(...)", "").replace("...", "").strip()
        elif kind == "anon":
            case.pattern = "2 " + case.pattern
            case.shapes[0] = (2,) + case.shapes[0]


def axis_of(items, rank, i):
    """The axis of the operand (of `rank` axes) where item i of a side
    starts; i == len(items) is the end."""
    ells = [j for j, it in enumerate(items) if it[0] == "ell"]
    if not ells or i <= ells[0]:
        return i
    return rank - (len(items) - i)


def drop_name(items, name):
    out = []
    for it in items:
        if it[0] == "name" and it[1] == name:
            continue
        if it[0] == "group":
            g = [x for x in it[1] if not (x[0] == "name" and x[1] == name)]
            out.append(("group", g) if g else ("unit", "()"))
            continue
        out.append(it)
    return out


def generated_cases():
    rng = random.Random(1234)
    g = Gen(rng)
    cases = []
    for _ in range(160):
        cases.append(g.gen_rearrange())
    for _ in range(130):
        cases.append(g.gen_reduce())
    for _ in range(110):
        cases.append(g.gen_repeat())
    for _ in range(200):
        cases.append(g.gen_einsum())
    return cases


def all_cases():
    cases = hand_cases() + generated_cases()
    seen, unique = set(), []
    for c in cases:
        key = c.describe().rsplit(" [", 1)[0]
        if key not in seen:
            seen.add(key)
            unique.append(c)
    return unique


# ---------------------------------------------------------------------------
# Running tdc

TYPE_LINE = re.compile(r'^.*:(\d+): y: (\w+)(?:\["([^"]*)"\])?\s*$')


def tdc_result(r, path):
    """("shape", tuple) | ("error", stderr) | ("bad", why)."""
    code, out, err = r.run(["check", "--types", path])
    if code == 1:
        if "error" in err:
            return "error", err
        return "bad", f"exit status 1 but no error on stderr\nstdout:\n{out}stderr:\n{err}"
    if code != 0:
        return "bad", f"exit status {code}\nstdout:\n{out}stderr:\n{err}"
    for line in out.splitlines():
        m = TYPE_LINE.match(line)
        if m and m.group(1) == "2":
            dims = m.group(3)
            if dims is None or dims.strip() == "":
                return "shape", ()
            try:
                return "shape", tuple(int(d) for d in dims.split())
            except ValueError:
                return "bad", f"y has a shape that is not all numbers: {line}"
    return "bad", f"no type printed for y\nstdout:\n{out}stderr:\n{err}"


def run(r):
    try:
        import numpy as np
        import einops
    except ImportError:
        r.fail("oracle", "numpy and einops are required: pip install numpy einops")
        return
    try:
        cases = all_cases()
    except Exception as e:  # a bug in this file, not in tdc
        r.fail("oracle", f"generating the cases failed: {type(e).__name__}: {e}")
        return
    with tempfile.TemporaryDirectory(prefix="tdc-oracle-") as tmp:
        for i, case in enumerate(cases):
            name = f"oracle/{i:03d} {case.describe()}"
            want = expected(case, np, einops)
            path = os.path.join(tmp, f"case{i:03d}.td")
            src = case.program()
            with open(path, "w") as f:
                f.write(src)
            kind, got = tdc_result(r, path)
            if kind == "bad":
                r.fail(name, got + "\nprogram:\n" + src)
            elif want == "error" and kind == "error":
                r.ok(name)
            elif want == "error":
                r.fail(name, f"einops raises, but tdc accepts it with shape {list(got)}\nprogram:\n" + src)
            elif kind == "error":
                r.fail(name, f"einops gives shape {list(want)}, but tdc rejects it:\n{got}program:\n" + src)
            elif tuple(got) != tuple(want):
                r.fail(name, f"einops gives shape {list(want)}, tdc gives {list(got)}\nprogram:\n" + src)
            else:
                r.ok(name)
