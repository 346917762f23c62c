# An axis name appears at most once on each side.
dim n = 4
fn f(x: f32["n n"]) -> f32["n n"] {
  a = rearrange(x, "a a -> a")
  b = rearrange(x, "a b -> a b a")
  c = rearrange(x, "(a a) b -> a b", a = 2)
  return x
}
