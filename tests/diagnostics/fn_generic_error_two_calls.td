# An error in a generic function's body, for two calls that bind it
# differently: each is reported with its own call.
dim n = 4
fn pick(x: f32["m"]) -> f32["m"] {
  return x[2] * x
}
fn g(a: f32["2"], b: f32["1"], c: f32["n"]) -> f32["n"] {
  p = pick(a)
  q = pick(b)
  r = pick(a)
  return pick(c)
}
