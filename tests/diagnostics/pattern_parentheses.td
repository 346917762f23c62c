# Groups must be balanced and cannot nest.
dim n = 4
fn f(x: f32["n n"]) -> f32["n n"] {
  a = rearrange(x, "(a b -> a b", a = 2)
  b = rearrange(x, "a b) -> a b")
  c = rearrange(x, "a b -> ((a b))")
  d = rearrange(x, "a b -> (a b")
  return x
}
