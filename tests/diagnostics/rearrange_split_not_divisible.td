# Splitting an axis needs sizes that divide it.
dim n = 12
fn f(x: f32["n 5"]) -> f32["n 5"] {
  a = rearrange(x, "(h d) c -> h d c", h = 5)
  b = rearrange(x, "a (c k) -> a c k", k = 2)
  c = rearrange(x, "(a b) c -> a b c", a = 3, b = 5)
  return x
}
