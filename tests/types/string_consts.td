# A const may hold a string, such as a pattern shared by several calls.
dim n = 4
const swap = "a b -> b a"
const total = "sum"
fn f(x: f32["n 2"]) -> f32["n 2"] {
  t = rearrange(x, swap)
  s = reduce(x, "a b -> a", total)
  return rearrange(t, swap)
}
