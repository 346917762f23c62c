# Size keywords: each names an axis of the pattern once, with a positive
# whole size that agrees with the operand.
dim n = 4
fn f(x: f32["n 6"]) -> f32["n 6"] {
  a = rearrange(x, "a b -> b a", c = 2)
  b = rearrange(x, "a b -> b a", a = 5)
  c = rearrange(x, "a (b k) -> a b k", k = 2, k = 3)
  d = rearrange(x, "a (b k) -> a b k", k = 2.5)
  e = rearrange(x, "a (b k) -> a b k", k = 0)
  g = rearrange(x, "a (b k) -> a b k", k = "two")
  return x
}
