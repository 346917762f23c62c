# Unpacking the results of a call.
dim n = 4
fn two(x: f32["n"]) -> (f32["n"], f32["n"]) {
  return x, x * 2
}
fn nothing(x: f32["n"]) {
  y = x
}
fn g(x: f32["n"]) -> f32["n"] {
  a = two(x)
  b, c, d = two(x)
  e, f = x * 2
  h = nothing(x)
  i = two(x) + 1
  return x
}
