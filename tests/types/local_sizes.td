# Inside a function, size variables are numbers and sizes; names bound to
# sizes may be used in shape strings; names bound in a loop stay visible.
dim batch
dim n = 4
const double = 2 * batch
fn f(x: f32["double n"]) -> f32["n double"] {
  k = 2 * n
  r = randn("batch k")
  for i in 0..2 {
    inner = x * 2
  }
  after = inner
  return rearrange(x, "a b -> b a") / sqrt(n)
}
fn g(x: f32["... m"]) -> f32["... m"] {
  return x / sqrt(m) + zeros("m")
}
fn h(x: f32["batch n"], s: f32[""]) -> f32["batch n"] {
  return g(x) * s
}
