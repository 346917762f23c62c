# Axis names are identifiers that neither start with a digit nor start or
# end with '_'.
dim n = 4
fn f(x: f32["n n"]) -> f32["n n"] {
  a = rearrange(x, "1a b -> b 1a")
  b = rearrange(x, "_a b -> b _a")
  c = rearrange(x, "a b_ -> b_ a")
  d = rearrange(x, "a_b c2 -> c2 a_b")
  return x
}
