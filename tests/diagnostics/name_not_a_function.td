# Only functions can be called.
dim n = 4
const k = 2
param w: f32["n"] = zeros()
fn f(x: f32["n"]) -> f32["n"] {
  a = x(1)
  b = n(2)
  c = w(0)
  return k(x)
}
