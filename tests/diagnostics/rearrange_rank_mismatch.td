# The left side of a pattern must match the operand's rank.
dim n = 4
fn f(x: f32["n n"]) -> f32["n n"] {
  a = rearrange(x, "a b c -> c b a")
  b = rearrange(x, "a -> a")
  c = rearrange(x, "a b c ... -> ... a b c")
  return x
}
