# A unit axis, written () or 1, matches only an axis of size 1.
dim n = 4
fn f(x: f32["n 3"]) -> f32["n 3"] {
  a = rearrange(x, "a () -> a")
  b = rearrange(x, "a 1 -> a")
  return x
}
