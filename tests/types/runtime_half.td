# A run-time dim divided by a number: whether it divides is checked when
# the program starts.
dim batch
dim half = batch / 2
dim quarter = half / 2
fn f(x: f32["batch 4"]) -> f32["half 8"] {
  return rearrange(x, "(h two) d -> h (two d)", two = 2)
}
fn g(x: f32["quarter"]) -> f32["quarter"] {
  return x
}
