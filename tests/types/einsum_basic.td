# einsum: contractions, transposes, diagonals, outer products, full sums.
dim n = 3
dim k = 4
dim m = 5
fn f(a: f32["n k"], b: f32["k m"], s: f32["k k"], v: f32["k"], w: f32["n"]) -> f32["n m"] {
  mm = einsum(a, b, "i j, j l -> i l")
  t = einsum(a, "i j -> j i")
  diag = einsum(s, "i i -> i")
  trace = einsum(s, "i i ->")
  outer = einsum(v, w, "i, j -> i j")
  total = einsum(a, "i j ->")
  chain = einsum(a, b, v, "i j, j l, j -> i l")
  half = einsum(a as f16, b as f16, "i j, j l -> i l")
  return mm
}
