# rearrange takes a tensor and a pattern string.
dim n = 4
fn f(x: f32["n n"]) -> f32["n n"] {
  a = rearrange("a b -> b a", x)
  b = rearrange(x)
  c = rearrange(x, pattern = "a b -> b a", x = x)
  d = rearrange(x, "a b -> b a", "extra")
  return x
}
