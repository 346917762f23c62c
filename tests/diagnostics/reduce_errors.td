# reduce drops axes with a known reduction.
dim n = 4
fn f(x: f32["n n"], k: i32["n n"]) -> f32["n n"] {
  a = reduce(x, "a b -> a", "avg")
  b = reduce(x, "a b -> a b", "sum")
  c = reduce(x, "a b -> (a b)", "sum")
  d = reduce(x, "a b -> a c", "max")
  e = reduce(k, "a b -> a", "mean")
  g = reduce(x, "a b -> a", 3)
  h = reduce(x, 3, "sum")
  j = reduce(x, "a b -> a", "sum", n = 4)
  return x
}
fn adds_axis(x: f32["4 4"]) -> f32["4"] {
  return reduce(x, "a b -> a 3", "sum")
}
