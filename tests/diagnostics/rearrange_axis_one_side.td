# rearrange keeps every axis: none may appear on one side only.
dim n = 4
fn f(x: f32["n n"]) -> f32["n n"] {
  a = rearrange(x, "a b -> a b c")
  b = rearrange(x, "a b -> a")
  c = rearrange(x, "... b -> b")
  return x
}
