# '...' appears at most once per side, never inside a group on the left, and
# on the right only if it is on the left.
dim n = 4
fn f(x: f32["n n n"]) -> f32["n n n"] {
  a = rearrange(x, "... a ... -> a ...")
  b = rearrange(x, "(... a) b -> ... a b")
  c = rearrange(x, "a b c -> ... a b c")
  d = einsum(x, "(... i) j k -> ... i j k")
  e = rearrange(x, "... a -> (... a)")
  return x
}
