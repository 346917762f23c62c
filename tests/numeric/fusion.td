# Numeric tests of what the backend arranges: fused elementwise chains read
# through views (triu and arange follow the reader's axes), results that
# share memory with inputs or with each other, updates that read their own
# old value through a view, operands given twice, and loops of a million
# elements. cases.py runs every function compiled twice: as usual and with
# --no-fuse, against the same numpy references.
dim n = 4
dim m = 3
dim big = 1024

# ---- fused maps through views ----

fn fu_triu_t(x: f32["n n"]) -> f32["n n"] {
  return rearrange(triu(x) * 2, "a b -> b a")
}
fn fu_triu_of_t(x: f32["n n"]) -> f32["n n"] {
  return triu(rearrange(x, "a b -> b a")) + x
}
fn fu_tril_rect_t(x: f32["m n"]) -> f32["n m"] {
  return rearrange(tril(x, diagonal = 1), "a b -> b a") + 1
}
fn fu_triu_ones_t() -> f32["n m"] {
  return rearrange(triu(ones("m n")), "a b -> b a") * 3
}
fn fu_triu_batched_t(x: f32["2 m n"]) -> f32["n 2 m"] {
  return rearrange(triu(x, diagonal = -1) - 1, "b r c -> c b r")
}
fn fu_arange_t(x: f32["n m"]) -> f32["m n"] {
  return rearrange(x + (arange("m") as f32), "a b -> b a") * 2
}
fn fu_arange_col(x: f32["n m"]) -> f32["n m"] {
  return x * rearrange(arange("n") as f32, "a -> a 1")
}
fn fu_arange_repeat() -> i64["m n"] {
  return repeat(arange("n"), "a -> k a", k = 3) * 10 + rearrange(arange("m"), "a -> a 1")
}
fn fu_view_chain(x: f32["2 3 4"]) -> f32["4 6"] {
  y = exp(x)
  z = rearrange(y, "a b c -> c (a b)")
  return z - 1
}
fn fu_where_views(c: bool["m n"], x: f32["n m"]) -> f32["m n"] {
  return where(c, rearrange(x, "a b -> b a"), -x[0][0])
}
fn fu_split_merge(x: f32["2 12"]) -> f32["12 2"] {
  y = rearrange(x * 2, "a (b c) -> c b a", b = 3)
  return rearrange(y + 1, "c b a -> (b c) a")
}

# ---- results sharing memory ----

fn fu_multi_use(x: f32["n"]) -> (f32["n"], f32["n"]) {
  y = exp(x)
  return y + 1, y * 2
}
fn fu_same_twice(x: f32["n"]) -> (f32["n"], f32["n"]) {
  y = x * 2
  return y, y
}
fn fu_return_input(x: f32["m n"]) -> f32["m n"] {
  return x
}
fn fu_return_input_twice(x: f32["m n"]) -> (f32["m n"], f32["m n"]) {
  return x, x
}
fn fu_return_input_view(x: f32["m n"]) -> (f32["n m"], f32["m n"]) {
  return rearrange(x, "a b -> b a"), x
}
fn fu_view_and_base(x: f32["m n"]) -> (f32["m n"], f32["n m"]) {
  y = x + 1
  return y, rearrange(y, "a b -> b a")
}
fn fu_inputs_swapped(x: f32["n"], y: f32["n"]) -> (f32["n"], f32["n"]) {
  return y, x
}

# ---- updates that read their old value, operands given twice ----

fn fu_self_transpose(x: f32["n n"]) -> f32["n n"] {
  y = x * 1
  y = y + rearrange(y, "a b -> b a")
  return y
}
fn fu_loop_transpose(x: f32["n n"]) -> f32["n n"] {
  for i in 0..3 {
    x = x + rearrange(x, "a b -> b a") * 0.5
  }
  return x
}
fn fu_self_reverse(x: f32["8"]) -> f32["8"] {
  y = exp(x)
  y = rearrange(y, "(a b) -> (b a)", a = 2) - y
  return y
}
fn fu_inplace_mm(x: f32["n n"], w: f32["n n"]) -> f32["n n"] {
  x = x @ w
  x = x @ w
  return x
}
fn fu_mm_self(a: f32["n n"]) -> f32["n n"] {
  return a @ a
}
fn fu_mm_self_t(a: f32["n n"]) -> f32["n n"] {
  return a @ rearrange(a, "i j -> j i")
}
fn fu_einsum_same(a: f32["m n"]) -> f32["n n"] {
  return einsum(a, a, "i j, i k -> j k")
}
fn fu_einsum_three_same(a: f32["n n"]) -> f32["n n"] {
  return einsum(a, a, a, "i j, j k, k l -> i l")
}
fn fu_mm_views(a: f32["2 5 3"], b: f32["2 4 5"]) -> f32["2 3 4"] {
  return rearrange(a, "b k m -> b m k") @ rearrange(b, "b n k -> b k n")
}
fn fu_mm_repeat(a: f32["m n"], b: f32["n 5"]) -> f32["2 m 5"] {
  return repeat(a, "i j -> k i j", k = 2) @ b
}
fn fu_mm_fused_operand(a: f32["m n"], b: f32["n 5"]) -> f32["m 5"] {
  return exp(a) @ (b * 2)
}
fn fu_mm_into_map(a: f32["m n"], b: f32["n 5"], c: f32["5"]) -> f32["m 5"] {
  return tanh(a @ b + c)
}

# ---- reductions and gathers of views and fused values ----

fn fu_reduce_view(x: f32["3 4 5"]) -> f32["4"] {
  return reduce(rearrange(x, "a b c -> c b a"), "c b a -> b", "max")
}
fn fu_reduce_bcast(x: f32["3"]) -> f32["3"] {
  return reduce(repeat(x, "a -> a k", k = 4) * 2, "a k -> a", "sum")
}
fn fu_reduce_fused(x: f32["4 6"]) -> f32["6"] {
  return reduce(exp(x) * x, "a b -> b", "sum")
}
fn fu_reduce_then_map(x: f32["4 6"]) -> f32["4 6"] {
  return x - repeat(reduce(x, "a b -> a", "mean"), "a -> a b", b = 6)
}
fn fu_gather_view(t: f32["4 10"], idx: i64["3"]) -> f32["3 4"] {
  return rearrange(t, "d v -> v d")[idx]
}
fn fu_gather_fused(t: f32["10 4"], idx: i64["3"]) -> f32["3 4"] {
  return exp(t)[idx] * 2
}
fn fu_index_fused(x: f32["3 4"]) -> f32["4"] {
  return (x * 2)[1] + 1
}
fn fu_index_view(x: f32["3 4"]) -> f32["3"] {
  return rearrange(x, "a b -> b a")[-1] * 2
}

# ---- views of views, broadcasts merged, diagonals of views ----

fn fu_repeat_merge(x: f32["3"]) -> f32["12"] {
  return rearrange(repeat(x, "a -> a k", k = 4), "a k -> (a k)")
}
fn fu_repeat_merge_t(x: f32["3"]) -> f32["12"] {
  return rearrange(repeat(x, "a -> a k", k = 4), "a k -> (k a)") * 2
}
fn fu_regroup(x: f32["4 6"]) -> f32["3 8"] {
  y = rearrange(x, "a (b c) -> (c a) b", b = 3)
  return rearrange(y, "(c a) b -> b (a c)", c = 2)
}
fn fu_view_of_view(x: f32["2 3 4"]) -> f32["4 6"] {
  y = rearrange(x, "a b c -> c b a")
  z = rearrange(y, "c b a -> c (b a)")
  return z + 0
}
fn fu_flat_unflat(x: f32["2 3"]) -> f32["3 2 4"] {
  y = repeat(x, "a b -> b a k", k = 4)
  return rearrange(rearrange(y, "b a k -> (b a k)"), "(b a k) -> b a k", a = 2, k = 4)
}
fn fu_diag_of_t(x: f32["4 4"]) -> f32["4"] {
  return einsum(rearrange(x, "a b -> b a"), "i i -> i")
}
fn fu_diag_split(x: f32["6 6"]) -> f32["3 3"] {
  y = rearrange(x, "(a b) (c d) -> a b c d", b = 2, d = 2)
  return einsum(y, "a b c b -> a c")
}
fn fu_many_inputs(x0: f32["4"], x1: f32["4"], x2: f32["4"], x3: f32["4"], x4: f32["4"], x5: f32["4"],
                  x6: f32["4"], x7: f32["4"], x8: f32["4"], x9: f32["4"], x10: f32["4"], x11: f32["4"],
                  x12: f32["4"], x13: f32["4"], x14: f32["4"], x15: f32["4"], x16: f32["4"], x17: f32["4"],
                  x18: f32["4"], x19: f32["4"]) -> f32["4"] {
  return x0 + x1 * x2 + x3 + x4 * x5 + x6 + x7 + x8 + x9 + x10 + x11 + x12 + x13 + x14 + x15 + x16 + x17 + x18 - x19
}

# ---- a million elements (the loops run with OpenMP) ----

fn fu_big_map(x: f32["big big"], b: f32["big"]) -> f32["big big"] {
  return rearrange(x, "a c -> c a") * b + tanh(x)
}
fn fu_big_reduce(x: f32["big big"]) -> (f32["big"], f32["big"]) {
  return reduce(x, "a c -> c", "sum"), reduce(x, "a c -> a", "max")
}
fn fu_big_triu(x: f32["big big"]) -> f32["big big"] {
  return rearrange(triu(x, diagonal = 3), "a c -> c a") + (arange("big") as f32)
}
