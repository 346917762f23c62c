# Characters that have no meaning in a pattern.
dim n = 4
fn f(x: f32["n n"]) -> f32["n n"] {
  a = rearrange(x, "a+b -> a")
  b = rearrange(x, "a b -> b, a")
  c = rearrange(x, "a.b c -> c a.b")
  d = rearrange(x, "a é -> é a")
  return x
}
