# repeat adds axes: each new one needs a size, and none may be dropped.
dim n = 4
fn f(x: f32["n 2"]) -> f32["n 2"] {
  b = repeat(x, "a b -> a b c")
  c = repeat(x, "a 2 -> a c", c = 3)
  d = repeat(x, "a b -> a", b = 2)
  e = repeat(x, "... b -> b c", c = 2)
  g = repeat(x, "a b -> a b c", c = 2, d = 3)
  h = repeat(x, "a b -> a (b c)", c = x)
  return x
}
