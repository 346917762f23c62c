# Anonymous axes: a positive length; rearrange, einsum and take accept only 1.
dim n = 4
param emb: f32["n n"] = zeros()
fn f(x: f32["n 6"], tok: i64["n"]) -> f32["n 6"] {
  a = rearrange(x, "a (b 2) -> a b 2")
  b = reduce(x, "a 0 -> a", "sum")
  c = reduce(x, "a 99999999999999999999 -> a", "sum")
  d = einsum(x, "i 6 -> i")
  e = take(emb, tok, "v 4, b -> b")
  g = rearrange(x, "a b -> a 1 b 1")
  return x
}
