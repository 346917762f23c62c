# Functions, train blocks and built-ins are not values.
dim n = 4
param w: f32["n"] = zeros()
fn f(x: f32) -> f32 {
  return x
}
train step {
  minimize reduce(w * w, "n ->", "sum") with sgd()
}
fn g(x: f32) -> f32 {
  a = f
  b = step
  c = exp
  return x
}
