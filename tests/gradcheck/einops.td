# Gradient checks: rearrange (transposes, splits, merges, groups, `...`,
# unit axes), repeat, indexing x[i], triu and tril (tests/gradcheck/run.py;
# see elementwise.td for the layout).

dim batch      # bound to 3 by the driver

fn wsum(y: f64["..."], w: f64["..."]) -> f64 {
  return reduce(y * w, "... ->", "sum")
}

# ---- rearrange: views ----

fn f_transpose(x: f64["2 3"], w: f64["3 2"]) -> f64 {
  return wsum(rearrange(x, "a b -> b a"), w)
}
fn g_transpose(x: f64["2 3"], w: f64["3 2"]) -> (f64["2 3"], f64["3 2"]) {
  gx, gw = grad(f_transpose(x, w), x, w)
  return gx, gw
}

fn f_permute(x: f64["2 3 4"], w: f64["4 2 3"]) -> f64 {
  return wsum(tanh(rearrange(x, "a b c -> c a b")), w)
}
fn g_permute(x: f64["2 3 4"], w: f64["4 2 3"]) -> (f64["2 3 4"], f64["4 2 3"]) {
  gx, gw = grad(f_permute(x, w), x, w)
  return gx, gw
}

fn f_split(x: f64["6 4"], w: f64["2 3 4"]) -> f64 {
  return wsum(rearrange(x, "(a b) c -> a b c", a = 2) ** 2, w)
}
fn g_split(x: f64["6 4"], w: f64["2 3 4"]) -> (f64["6 4"], f64["2 3 4"]) {
  gx, gw = grad(f_split(x, w), x, w)
  return gx, gw
}

fn f_merge(x: f64["2 3 4"], w: f64["2 12"]) -> f64 {
  return wsum(sin(rearrange(x, "a b c -> a (b c)")), w)
}
fn g_merge(x: f64["2 3 4"], w: f64["2 12"]) -> (f64["2 3 4"], f64["2 12"]) {
  gx, gw = grad(f_merge(x, w), x, w)
  return gx, gw
}

# a split and a merge in another order: a copy
fn f_split_merge(x: f64["6 4"], w: f64["3 8"]) -> f64 {
  return wsum(exp(rearrange(x, "(a b) c -> b (c a)", a = 2)), w)
}
fn g_split_merge(x: f64["6 4"], w: f64["3 8"]) -> (f64["6 4"], f64["3 8"]) {
  gx, gw = grad(f_split_merge(x, w), x, w)
  return gx, gw
}

# a merge of transposed axes (a copy), then used twice
fn f_transpose_merge(x: f64["2 3 4"], w: f64["8 3"]) -> f64 {
  y = rearrange(x, "a b c -> (c a) b")
  return wsum(y * y + y, w)
}
fn g_transpose_merge(x: f64["2 3 4"], w: f64["8 3"]) -> (f64["2 3 4"], f64["8 3"]) {
  gx, gw = grad(f_transpose_merge(x, w), x, w)
  return gx, gw
}

fn f_heads(x: f64["2 3 8"], w: f64["2 4 3 2"]) -> f64 {
  return wsum(rearrange(x, "b s (h d) -> b h s d", h = 4), w)
}
fn g_heads(x: f64["2 3 8"], w: f64["2 4 3 2"]) -> (f64["2 3 8"], f64["2 4 3 2"]) {
  gx, gw = grad(f_heads(x, w), x, w)
  return gx, gw
}

fn f_ell(x: f64["2 3 8"], w: f64["2 3 2 4"]) -> f64 {
  return wsum(rearrange(x, "... (h d) -> ... d h", h = 4), w)
}
fn g_ell(x: f64["2 3 8"], w: f64["2 3 2 4"]) -> (f64["2 3 8"], f64["2 3 2 4"]) {
  gx, gw = grad(f_ell(x, w), x, w)
  return gx, gw
}

fn f_ell_front(x: f64["2 3 4"], w: f64["3 4 2"]) -> f64 {
  return wsum(cos(rearrange(x, "b ... -> ... b")), w)
}
fn g_ell_front(x: f64["2 3 4"], w: f64["3 4 2"]) -> (f64["2 3 4"], f64["3 4 2"]) {
  gx, gw = grad(f_ell_front(x, w), x, w)
  return gx, gw
}

fn f_ell_flatten(x: f64["2 3 4"], w: f64["4 6"]) -> f64 {
  return wsum(rearrange(x, "... c -> c (...)"), w)
}
fn g_ell_flatten(x: f64["2 3 4"], w: f64["4 6"]) -> (f64["2 3 4"], f64["4 6"]) {
  gx, gw = grad(f_ell_flatten(x, w), x, w)
  return gx, gw
}

fn f_unit_add(x: f64["2 3"], w: f64["2 1 3 1"]) -> f64 {
  return wsum(rearrange(x, "a b -> a 1 b ()"), w)
}
fn g_unit_add(x: f64["2 3"], w: f64["2 1 3 1"]) -> (f64["2 3"], f64["2 1 3 1"]) {
  gx, gw = grad(f_unit_add(x, w), x, w)
  return gx, gw
}

fn f_unit_drop(x: f64["2 1 3"], w: f64["3 2"]) -> f64 {
  return wsum(tanh(rearrange(x, "a 1 b -> b a")), w)
}
fn g_unit_drop(x: f64["2 1 3"], w: f64["3 2"]) -> (f64["2 1 3"], f64["3 2"]) {
  gx, gw = grad(f_unit_drop(x, w), x, w)
  return gx, gw
}

# a chain of rearranges is one view
fn f_chain(x: f64["2 3 4"], w: f64["3 8"]) -> f64 {
  y = rearrange(x, "a b c -> b a c")
  z = rearrange(y, "b a (c1 c2) -> b c2 a c1", c1 = 2)
  return wsum(rearrange(z, "b c2 a c1 -> b (c2 a c1)"), w)
}
fn g_chain(x: f64["2 3 4"], w: f64["3 8"]) -> (f64["2 3 4"], f64["3 8"]) {
  gx, gw = grad(f_chain(x, w), x, w)
  return gx, gw
}

# ---- repeat: a broadcast, then a merge ----

fn f_repeat_new(x: f64["2 3"], w: f64["2 4 3"]) -> f64 {
  return wsum(repeat(x, "a b -> a k b", k = 4), w)
}
fn g_repeat_new(x: f64["2 3"], w: f64["2 4 3"]) -> (f64["2 3"], f64["2 4 3"]) {
  gx, gw = grad(f_repeat_new(x, w), x, w)
  return gx, gw
}

fn f_repeat_tile(x: f64["2 3"], w: f64["2 6"]) -> f64 {
  return wsum(repeat(x, "a b -> a (k b)", k = 2), w)
}
fn g_repeat_tile(x: f64["2 3"], w: f64["2 6"]) -> (f64["2 3"], f64["2 6"]) {
  gx, gw = grad(f_repeat_tile(x, w), x, w)
  return gx, gw
}

fn f_repeat_interleave(x: f64["2 3"], w: f64["2 9"]) -> f64 {
  return wsum(exp(repeat(x, "a b -> a (b k)", k = 3)), w)
}
fn g_repeat_interleave(x: f64["2 3"], w: f64["2 9"]) -> (f64["2 3"], f64["2 9"]) {
  gx, gw = grad(f_repeat_interleave(x, w), x, w)
  return gx, gw
}

fn f_repeat_lead(x: f64["2 3"], w: f64["6 3"]) -> f64 {
  return wsum(repeat(x, "a b -> (k a) b", k = 3) ** 2, w)
}
fn g_repeat_lead(x: f64["2 3"], w: f64["6 3"]) -> (f64["2 3"], f64["6 3"]) {
  gx, gw = grad(f_repeat_lead(x, w), x, w)
  return gx, gw
}

fn f_repeat_anon(x: f64["3"], w: f64["3 2 4"]) -> f64 {
  return wsum(repeat(x, "a -> a 2 4"), w)
}
fn g_repeat_anon(x: f64["3"], w: f64["3 2 4"]) -> (f64["3"], f64["3 2 4"]) {
  gx, gw = grad(f_repeat_anon(x, w), x, w)
  return gx, gw
}

fn f_repeat_ell(x: f64["2 3"], w: f64["2 3 2"]) -> f64 {
  return wsum(sin(repeat(x, "... -> ... k", k = 2)), w)
}
fn g_repeat_ell(x: f64["2 3"], w: f64["2 3 2"]) -> (f64["2 3"], f64["2 3 2"]) {
  gx, gw = grad(f_repeat_ell(x, w), x, w)
  return gx, gw
}

# a unit axis repeated, with a transpose
fn f_repeat_unit(x: f64["2 1 3"], w: f64["3 4 2"]) -> f64 {
  return wsum(repeat(x, "a 1 b -> b k a", k = 4), w)
}
fn g_repeat_unit(x: f64["2 1 3"], w: f64["3 4 2"]) -> (f64["2 1 3"], f64["3 4 2"]) {
  gx, gw = grad(f_repeat_unit(x, w), x, w)
  return gx, gw
}

# ---- indexing x[i] ----

fn f_index(x: f64["3 4"], w: f64["4"]) -> f64 {
  return wsum(x[1], w)
}
fn g_index(x: f64["3 4"], w: f64["4"]) -> (f64["3 4"], f64["4"]) {
  gx, gw = grad(f_index(x, w), x, w)
  return gx, gw
}

fn f_index_neg(x: f64["3 4"], w: f64["4"]) -> f64 {
  return wsum(exp(x[-1]) + x[-3] * x[2], w)
}
fn g_index_neg(x: f64["3 4"], w: f64["4"]) -> (f64["3 4"], f64["4"]) {
  gx, gw = grad(f_index_neg(x, w), x, w)
  return gx, gw
}

fn f_index_chain(x: f64["2 3 4"], w: f64["4"]) -> f64 {
  return wsum(x[1][2] * x[0][0] - x[-1][-3], w)
}
fn g_index_chain(x: f64["2 3 4"], w: f64["4"]) -> (f64["2 3 4"], f64["4"]) {
  gx, gw = grad(f_index_chain(x, w), x, w)
  return gx, gw
}

# an index of a transposed view
fn f_index_view(x: f64["3 4"], w: f64["3"]) -> f64 {
  return wsum(tanh(rearrange(x, "a b -> b a")[2]), w)
}
fn g_index_view(x: f64["3 4"], w: f64["3"]) -> (f64["3 4"], f64["3"]) {
  gx, gw = grad(f_index_view(x, w), x, w)
  return gx, gw
}

# every row, summed back: each index's adjoint lands in its own place
fn f_index_all(x: f64["3 4"], w: f64["4"]) -> f64 {
  return wsum(x[0] * x[1] + x[1] * x[2] + x[2] * x[0], w)
}
fn g_index_all(x: f64["3 4"], w: f64["4"]) -> (f64["3 4"], f64["4"]) {
  gx, gw = grad(f_index_all(x, w), x, w)
  return gx, gw
}

# ---- triu and tril ----

fn f_triu(x: f64["4 4"], w: f64["4 4"]) -> f64 {
  return wsum(triu(x), w)
}
fn g_triu(x: f64["4 4"], w: f64["4 4"]) -> (f64["4 4"], f64["4 4"]) {
  gx, gw = grad(f_triu(x, w), x, w)
  return gx, gw
}

fn f_tril(x: f64["4 4"], w: f64["4 4"]) -> f64 {
  return wsum(exp(tril(x)), w)
}
fn g_tril(x: f64["4 4"], w: f64["4 4"]) -> (f64["4 4"], f64["4 4"]) {
  gx, gw = grad(f_tril(x, w), x, w)
  return gx, gw
}

fn f_triu_diag(x: f64["2 3 4"], w: f64["2 3 4"]) -> f64 {
  return wsum(triu(x * x, diagonal = 1) + tril(x, diagonal = -1), w)
}
fn g_triu_diag(x: f64["2 3 4"], w: f64["2 3 4"]) -> (f64["2 3 4"], f64["2 3 4"]) {
  gx, gw = grad(f_triu_diag(x, w), x, w)
  return gx, gw
}

# a triangle of a transposed tensor
fn f_tril_transposed(x: f64["3 4"], w: f64["4 3"]) -> f64 {
  return wsum(tril(rearrange(x, "a b -> b a"), diagonal = 1), w)
}
fn g_tril_transposed(x: f64["3 4"], w: f64["4 3"]) -> (f64["3 4"], f64["4 3"]) {
  gx, gw = grad(f_tril_transposed(x, w), x, w)
  return gx, gw
}

# an index, then a merge of transposed axes (a copy of an offset view)
fn f_index_merge(x: f64["2 3 4"], w: f64["12"]) -> f64 {
  return wsum(rearrange(x[1], "a b -> (b a)"), w)
}
fn g_index_merge(x: f64["2 3 4"], w: f64["12"]) -> (f64["2 3 4"], f64["12"]) {
  gx, gw = grad(f_index_merge(x, w), x, w)
  return gx, gw
}

# an index of a repeated tensor, and a repeat of an index
fn f_index_repeat(x: f64["3 4"], w: f64["4 3"]) -> f64 {
  a = repeat(x, "a b -> k b a", k = 2)[1]
  b = repeat(x[2], "b -> b k", k = 3)
  return wsum(a * a + b, w)
}
fn g_index_repeat(x: f64["3 4"], w: f64["4 3"]) -> (f64["3 4"], f64["4 3"]) {
  gx, gw = grad(f_index_repeat(x, w), x, w)
  return gx, gw
}

# a split of a run-time size
fn f_runtime_split(x: f64["2*batch 4"], w: f64["batch 2 4"]) -> f64 {
  return wsum(rearrange(x, "(a b) c -> b a c", a = 2) ** 3, w)
}
fn g_runtime_split(x: f64["2*batch 4"], w: f64["batch 2 4"]) -> (f64["2*batch 4"], f64["batch 2 4"]) {
  gx, gw = grad(f_runtime_split(x, w), x, w)
  return gx, gw
}
