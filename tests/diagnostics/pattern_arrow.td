# Every pattern has exactly one '->'.
dim n = 4
fn f(x: f32["n n"]) -> f32["n n"] {
  a = rearrange(x, "a b")
  b = reduce(x, "a b -> a -> b", "sum")
  c = einsum(x, x, "i j, j k")
  return x
}
