# A generic function's sizes computed from run-time dims at the call: each
# call contributes its own checks.
dim batch
dim seq
fn halves(x: f32["n"]) -> f32["n/2 2"] {
  return rearrange(x, "(h two) -> h two", two = 2)
}
fn pairs(x: f32["... k"]) -> f32["... k/2"] {
  return reduce(x, "... (k2 two) -> ... k2", "sum", two = 2)
}
fn g(x: f32["batch"], y: f32["seq 6"], z: f32["batch seq"]) -> f32["batch/2 2"] {
  a = halves(x)
  b = pairs(y)
  c = pairs(z)
  d = halves(rearrange(z, "b s -> (b s)"))
  return a
}
