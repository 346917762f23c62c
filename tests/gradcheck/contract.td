# Gradient checks: einsum (batch, contracted, outer, `...` and group axes,
# three operands, a diagonal, a trace) and `@` (1-D, 2-D, batched,
# broadcast) (tests/gradcheck/run.py; see elementwise.td for the layout).

fn wsum(y: f64["..."], w: f64["..."]) -> f64 {
  return reduce(y * w, "... ->", "sum")
}

# ---- einsum ----

fn f_es_mm(a: f64["3 4"], b: f64["4 2"], w: f64["3 2"]) -> f64 {
  return wsum(einsum(a, b, "i j, j k -> i k"), w)
}
fn g_es_mm(a: f64["3 4"], b: f64["4 2"], w: f64["3 2"]) -> (f64["3 4"], f64["4 2"], f64["3 2"]) {
  ga, gb, gw = grad(f_es_mm(a, b, w), a, b, w)
  return ga, gb, gw
}

# operands and result transposed
fn f_es_transposed(a: f64["4 3"], b: f64["2 4"], w: f64["2 3"]) -> f64 {
  return wsum(einsum(a, b, "j i, k j -> k i"), w)
}
fn g_es_transposed(a: f64["4 3"], b: f64["2 4"], w: f64["2 3"]) -> (f64["4 3"], f64["2 4"], f64["2 3"]) {
  ga, gb, gw = grad(f_es_transposed(a, b, w), a, b, w)
  return ga, gb, gw
}

fn f_es_batch(a: f64["2 3 4"], b: f64["2 4 3"], w: f64["2 3 3"]) -> f64 {
  return wsum(tanh(einsum(a, b, "b i j, b j k -> b i k")), w)
}
fn g_es_batch(a: f64["2 3 4"], b: f64["2 4 3"], w: f64["2 3 3"]) -> (f64["2 3 4"], f64["2 4 3"], f64["2 3 3"]) {
  ga, gb, gw = grad(f_es_batch(a, b, w), a, b, w)
  return ga, gb, gw
}

# a batch axis in the middle, the output permuted
fn f_es_batch_mid(a: f64["3 2 4"], b: f64["2 4 5"], w: f64["5 2 3"]) -> f64 {
  return wsum(einsum(a, b, "i b j, b j k -> k b i"), w)
}
fn g_es_batch_mid(a: f64["3 2 4"], b: f64["2 4 5"], w: f64["5 2 3"]) -> (f64["3 2 4"], f64["2 4 5"], f64["5 2 3"]) {
  ga, gb, gw = grad(f_es_batch_mid(a, b, w), a, b, w)
  return ga, gb, gw
}

fn f_es_two_contracted(a: f64["3 4 2"], b: f64["2 4 3"], w: f64["3 3"]) -> f64 {
  return wsum(einsum(a, b, "i j k, k j l -> i l"), w)
}
fn g_es_two_contracted(a: f64["3 4 2"], b: f64["2 4 3"], w: f64["3 3"]) -> (f64["3 4 2"], f64["2 4 3"], f64["3 3"]) {
  ga, gb, gw = grad(f_es_two_contracted(a, b, w), a, b, w)
  return ga, gb, gw
}

fn f_es_outer(a: f64["3"], b: f64["4"], w: f64["4 3"]) -> f64 {
  return wsum(einsum(a, b, "i, j -> j i"), w)
}
fn g_es_outer(a: f64["3"], b: f64["4"], w: f64["4 3"]) -> (f64["3"], f64["4"], f64["4 3"]) {
  ga, gb, gw = grad(f_es_outer(a, b, w), a, b, w)
  return ga, gb, gw
}

fn f_es_outer_batch(a: f64["2 3"], b: f64["2 4"], w: f64["2 3 4"]) -> f64 {
  return wsum(exp(einsum(a, b, "b i, b j -> b i j")), w)
}
fn g_es_outer_batch(a: f64["2 3"], b: f64["2 4"], w: f64["2 3 4"]) -> (f64["2 3"], f64["2 4"], f64["2 3 4"]) {
  ga, gb, gw = grad(f_es_outer_batch(a, b, w), a, b, w)
  return ga, gb, gw
}

fn f_es_dot(a: f64["5"], b: f64["5"]) -> f64 {
  return sin(einsum(a, b, "i, i ->"))
}
fn g_es_dot(a: f64["5"], b: f64["5"]) -> (f64["5"], f64["5"]) {
  ga, gb = grad(f_es_dot(a, b), a, b)
  return ga, gb
}

fn f_es_hadamard(a: f64["3 4"], b: f64["4 3"], w: f64["4 3"]) -> f64 {
  return wsum(einsum(a, b, "i j, j i -> j i"), w)
}
fn g_es_hadamard(a: f64["3 4"], b: f64["4 3"], w: f64["4 3"]) -> (f64["3 4"], f64["4 3"], f64["4 3"]) {
  ga, gb, gw = grad(f_es_hadamard(a, b, w), a, b, w)
  return ga, gb, gw
}

# a label only one operand has, summed away
fn f_es_sum_apart(a: f64["3 4"], b: f64["5"], w: f64["3"]) -> f64 {
  return wsum(einsum(a, b, "i j, k -> i"), w)
}
fn g_es_sum_apart(a: f64["3 4"], b: f64["5"], w: f64["3"]) -> (f64["3 4"], f64["5"], f64["3"]) {
  ga, gb, gw = grad(f_es_sum_apart(a, b, w), a, b, w)
  return ga, gb, gw
}

fn f_es_ell(a: f64["2 3 4 2"], b: f64["2 3"], w: f64["2 3 4 3"]) -> f64 {
  return wsum(einsum(a, b, "... i j, j k -> ... i k"), w)
}
fn g_es_ell(a: f64["2 3 4 2"], b: f64["2 3"], w: f64["2 3 4 3"]) -> (f64["2 3 4 2"], f64["2 3"], f64["2 3 4 3"]) {
  ga, gb, gw = grad(f_es_ell(a, b, w), a, b, w)
  return ga, gb, gw
}

# `...` on both operands, broadcast (b has fewer axes, and a unit axis)
fn f_es_ell_bcast(a: f64["2 3 4 2"], b: f64["1 3 2 3"], w: f64["2 3 4 3"]) -> f64 {
  return wsum(einsum(a, b, "... i j, ... j k -> ... i k"), w)
}
fn g_es_ell_bcast(a: f64["2 3 4 2"], b: f64["1 3 2 3"], w: f64["2 3 4 3"]) -> (f64["2 3 4 2"], f64["1 3 2 3"], f64["2 3 4 3"]) {
  ga, gb, gw = grad(f_es_ell_bcast(a, b, w), a, b, w)
  return ga, gb, gw
}

fn f_es_ell_short(a: f64["2 3 4 2"], b: f64["3 2 3"], w: f64["2 3 4 3"]) -> f64 {
  return wsum(tanh(einsum(a, b, "... i j, ... j k -> ... i k")), w)
}
fn g_es_ell_short(a: f64["2 3 4 2"], b: f64["3 2 3"], w: f64["2 3 4 3"]) -> (f64["2 3 4 2"], f64["3 2 3"], f64["2 3 4 3"]) {
  ga, gb, gw = grad(f_es_ell_short(a, b, w), a, b, w)
  return ga, gb, gw
}

fn f_es_ell_out_first(a: f64["2 3 4"], b: f64["4 2"], w: f64["2 2 3"]) -> f64 {
  return wsum(einsum(a, b, "... j, j k -> k ..."), w)
}
fn g_es_ell_out_first(a: f64["2 3 4"], b: f64["4 2"], w: f64["2 2 3"]) -> (f64["2 3 4"], f64["4 2"], f64["2 2 3"]) {
  ga, gb, gw = grad(f_es_ell_out_first(a, b, w), a, b, w)
  return ga, gb, gw
}

fn f_es_group_in(a: f64["2 6"], b: f64["3 2 4"], w: f64["2 4"]) -> f64 {
  return wsum(einsum(a, b, "b (h d), h d e -> b e"), w)
}
fn g_es_group_in(a: f64["2 6"], b: f64["3 2 4"], w: f64["2 4"]) -> (f64["2 6"], f64["3 2 4"], f64["2 4"]) {
  ga, gb, gw = grad(f_es_group_in(a, b, w), a, b, w)
  return ga, gb, gw
}

fn f_es_group_out(a: f64["2 3"], b: f64["3 4"], w: f64["8"]) -> f64 {
  return wsum(einsum(a, b, "i j, j k -> (i k)"), w)
}
fn g_es_group_out(a: f64["2 3"], b: f64["3 4"], w: f64["8"]) -> (f64["2 3"], f64["3 4"], f64["8"]) {
  ga, gb, gw = grad(f_es_group_out(a, b, w), a, b, w)
  return ga, gb, gw
}

# a group on the output made of axes of both operands, transposed
fn f_es_group_mixed(a: f64["2 3"], b: f64["3 4"], w: f64["4 2"]) -> f64 {
  return wsum(einsum(a, b, "i j, j k -> (k i)"), rearrange(w, "k i -> (k i)"))
}
fn g_es_group_mixed(a: f64["2 3"], b: f64["3 4"], w: f64["4 2"]) -> (f64["2 3"], f64["3 4"], f64["4 2"]) {
  ga, gb, gw = grad(f_es_group_mixed(a, b, w), a, b, w)
  return ga, gb, gw
}

fn f_es_three(a: f64["2 3"], b: f64["3 4"], c: f64["4 2"], w: f64["2 2"]) -> f64 {
  return wsum(einsum(a, b, c, "i j, j k, k l -> i l"), w)
}
fn g_es_three(a: f64["2 3"], b: f64["3 4"], c: f64["4 2"], w: f64["2 2"]) -> (f64["2 3"], f64["3 4"], f64["4 2"], f64["2 2"]) {
  ga, gb, gc, gw = grad(f_es_three(a, b, c, w), a, b, c, w)
  return ga, gb, gc, gw
}

# three operands sharing a batch axis, one label in all three
fn f_es_three_batch(a: f64["2 3"], b: f64["2 3 4"], c: f64["2 4"], w: f64["2"]) -> f64 {
  return wsum(einsum(a, b, c, "b i, b i k, b k -> b"), w)
}
fn g_es_three_batch(a: f64["2 3"], b: f64["2 3 4"], c: f64["2 4"], w: f64["2"]) -> (f64["2 3"], f64["2 3 4"], f64["2 4"], f64["2"]) {
  ga, gb, gc, gw = grad(f_es_three_batch(a, b, c, w), a, b, c, w)
  return ga, gb, gc, gw
}

fn f_es_single(a: f64["2 3 4"], w: f64["4 2"]) -> f64 {
  return wsum(einsum(a, "i j k -> k i"), w)
}
fn g_es_single(a: f64["2 3 4"], w: f64["4 2"]) -> (f64["2 3 4"], f64["4 2"]) {
  ga, gw = grad(f_es_single(a, w), a, w)
  return ga, gw
}

fn f_es_diagonal(m: f64["4 4"], w: f64["4"]) -> f64 {
  return wsum(einsum(m, "i i -> i"), w)
}
fn g_es_diagonal(m: f64["4 4"], w: f64["4"]) -> (f64["4 4"], f64["4"]) {
  gm, gw = grad(f_es_diagonal(m, w), m, w)
  return gm, gw
}

fn f_es_trace(m: f64["4 4"], w: f64) -> f64 {
  return exp(einsum(m, "i i ->") * w)
}
fn g_es_trace(m: f64["4 4"], w: f64) -> (f64["4 4"], f64) {
  gm, gw = grad(f_es_trace(m, w), m, w)
  return gm, gw
}

# a diagonal used with another operand, and a batched diagonal
fn f_es_diag_mul(m: f64["2 3 3"], v: f64["3"], w: f64["2 3"]) -> f64 {
  return wsum(einsum(m, v, "b i i, i -> b i"), w)
}
fn g_es_diag_mul(m: f64["2 3 3"], v: f64["3"], w: f64["2 3"]) -> (f64["2 3 3"], f64["3"], f64["2 3"]) {
  gm, gv, gw = grad(f_es_diag_mul(m, v, w), m, v, w)
  return gm, gv, gw
}

# ---- @ ----

fn f_mm(a: f64["3 4"], b: f64["4 2"], w: f64["3 2"]) -> f64 {
  return wsum(a @ b, w)
}
fn g_mm(a: f64["3 4"], b: f64["4 2"], w: f64["3 2"]) -> (f64["3 4"], f64["4 2"], f64["3 2"]) {
  ga, gb, gw = grad(f_mm(a, b, w), a, b, w)
  return ga, gb, gw
}

fn f_mv(a: f64["3 4"], v: f64["4"], w: f64["3"]) -> f64 {
  return wsum(a @ v, w)
}
fn g_mv(a: f64["3 4"], v: f64["4"], w: f64["3"]) -> (f64["3 4"], f64["4"], f64["3"]) {
  ga, gv, gw = grad(f_mv(a, v, w), a, v, w)
  return ga, gv, gw
}

fn f_vm(v: f64["3"], b: f64["3 4"], w: f64["4"]) -> f64 {
  return wsum(tanh(v @ b), w)
}
fn g_vm(v: f64["3"], b: f64["3 4"], w: f64["4"]) -> (f64["3"], f64["3 4"], f64["4"]) {
  gv, gb, gw = grad(f_vm(v, b, w), v, b, w)
  return gv, gb, gw
}

fn f_vv(u: f64["4"], v: f64["4"]) -> f64 {
  return exp(u @ v)
}
fn g_vv(u: f64["4"], v: f64["4"]) -> (f64["4"], f64["4"]) {
  gu, gv = grad(f_vv(u, v), u, v)
  return gu, gv
}

# x @ x: one tensor on both sides
fn f_mm_self(a: f64["3 3"], w: f64["3 3"]) -> f64 {
  return wsum(a @ a, w)
}
fn g_mm_self(a: f64["3 3"], w: f64["3 3"]) -> (f64["3 3"], f64["3 3"]) {
  ga, gw = grad(f_mm_self(a, w), a, w)
  return ga, gw
}

fn f_bmm(a: f64["2 3 4"], b: f64["2 4 2"], w: f64["2 3 2"]) -> f64 {
  return wsum(a @ b, w)
}
fn g_bmm(a: f64["2 3 4"], b: f64["2 4 2"], w: f64["2 3 2"]) -> (f64["2 3 4"], f64["2 4 2"], f64["2 3 2"]) {
  ga, gb, gw = grad(f_bmm(a, b, w), a, b, w)
  return ga, gb, gw
}

# a batched left operand, a shared right one (the weight of a linear layer)
fn f_bmm_shared(a: f64["2 3 4"], b: f64["4 2"], w: f64["2 3 2"]) -> f64 {
  return wsum(a @ b, w)
}
fn g_bmm_shared(a: f64["2 3 4"], b: f64["4 2"], w: f64["2 3 2"]) -> (f64["2 3 4"], f64["4 2"], f64["2 3 2"]) {
  ga, gb, gw = grad(f_bmm_shared(a, b, w), a, b, w)
  return ga, gb, gw
}

fn f_bmm_shared_left(a: f64["3 4"], b: f64["2 4 2"], w: f64["2 3 2"]) -> f64 {
  return wsum(a @ b, w)
}
fn g_bmm_shared_left(a: f64["3 4"], b: f64["2 4 2"], w: f64["2 3 2"]) -> (f64["3 4"], f64["2 4 2"], f64["2 3 2"]) {
  ga, gb, gw = grad(f_bmm_shared_left(a, b, w), a, b, w)
  return ga, gb, gw
}

# batch axes broadcast against each other: 2 1 against 3
fn f_bmm_bcast(a: f64["2 1 3 4"], b: f64["3 4 2"], w: f64["2 3 3 2"]) -> f64 {
  return wsum(sin(a @ b), w)
}
fn g_bmm_bcast(a: f64["2 1 3 4"], b: f64["3 4 2"], w: f64["2 3 3 2"]) -> (f64["2 1 3 4"], f64["3 4 2"], f64["2 3 3 2"]) {
  ga, gb, gw = grad(f_bmm_bcast(a, b, w), a, b, w)
  return ga, gb, gw
}

fn f_bmv(a: f64["2 3 4"], v: f64["4"], w: f64["2 3"]) -> f64 {
  return wsum(a @ v, w)
}
fn g_bmv(a: f64["2 3 4"], v: f64["4"], w: f64["2 3"]) -> (f64["2 3 4"], f64["4"], f64["2 3"]) {
  ga, gv, gw = grad(f_bmv(a, v, w), a, v, w)
  return ga, gv, gw
}

fn f_vbm(v: f64["3"], b: f64["2 3 4"], w: f64["2 4"]) -> f64 {
  return wsum(v @ b, w)
}
fn g_vbm(v: f64["3"], b: f64["2 3 4"], w: f64["2 4"]) -> (f64["3"], f64["2 3 4"], f64["2 4"]) {
  gv, gb, gw = grad(f_vbm(v, b, w), v, b, w)
  return gv, gb, gw
}

# a transposed operand and a chain of products
fn f_mm_chain(a: f64["4 3"], b: f64["4 2"], c: f64["2 3"], w: f64["3 3"]) -> f64 {
  return wsum(rearrange(a, "i j -> j i") @ b @ c, w)
}
fn g_mm_chain(a: f64["4 3"], b: f64["4 2"], c: f64["2 3"], w: f64["3 3"]) -> (f64["4 3"], f64["4 2"], f64["2 3"], f64["3 3"]) {
  ga, gb, gc, gw = grad(f_mm_chain(a, b, c, w), a, b, c, w)
  return ga, gb, gc, gw
}

# unit axes: an outer product by `@` (contracted axis 1), and a 1 x 1 result
fn f_mm_unit(a: f64["3 1"], b: f64["1 4"], c: f64["1 3"], d: f64["3 1"], w: f64["3 4"]) -> f64 {
  return wsum(a @ b, w) + reduce(exp(c @ d), "a b ->", "sum")
}
fn g_mm_unit(a: f64["3 1"], b: f64["1 4"], c: f64["1 3"], d: f64["3 1"], w: f64["3 4"]) -> (f64["3 1"], f64["1 4"], f64["1 3"], f64["3 1"], f64["3 4"]) {
  ga, gb, gc, gd, gw = grad(f_mm_unit(a, b, c, d, w), a, b, c, d, w)
  return ga, gb, gc, gd, gw
}

# one operand twice: a Gram matrix
fn f_es_gram(a: f64["3 4"], w: f64["4 4"]) -> f64 {
  return wsum(einsum(a, a, "i j, i k -> j k"), w)
}
fn g_es_gram(a: f64["3 4"], w: f64["4 4"]) -> (f64["3 4"], f64["4 4"]) {
  ga, gw = grad(f_es_gram(a, w), a, w)
  return ga, gw
}

# `...` merged into a group on the output
fn f_es_ell_group(a: f64["2 3 4"], v: f64["4"], w: f64["6"]) -> f64 {
  return wsum(einsum(a, v, "... i, i -> (...)"), w)
}
fn g_es_ell_group(a: f64["2 3 4"], v: f64["4"], w: f64["6"]) -> (f64["2 3 4"], f64["4"], f64["6"]) {
  ga, gv, gw = grad(f_es_ell_group(a, v, w), a, v, w)
  return ga, gv, gw
}

# the diagonal and the trace of a computed matrix
fn f_es_diag_computed(a: f64["3 4"], b: f64["4 3"], w: f64["3"]) -> f64 {
  m = exp(a @ b * 0.5)
  return wsum(einsum(m, "i i -> i"), w) + einsum(m * m, "i i ->")
}
fn g_es_diag_computed(a: f64["3 4"], b: f64["4 3"], w: f64["3"]) -> (f64["3 4"], f64["4 3"], f64["3"]) {
  ga, gb, gw = grad(f_es_diag_computed(a, b, w), a, b, w)
  return ga, gb, gw
}
