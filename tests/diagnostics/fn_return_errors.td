# What a function returns must match its declared results.
dim n = 4
fn one(x: f32["n"]) -> f32["n"] {
  return x, x
}
fn shape(x: f32["n"]) -> f32["n n"] {
  return x
}
fn kind(x: f32["n"]) -> i32["n"] {
  return x
}
fn text(x: f32["n"]) -> f32["n"] {
  return "x"
}
fn none(x: f32["n"]) -> f32["n"] {
  y = x * 2
}
fn two(x: f32["n"]) -> (f32["n"], f32["n"]) {
  y = x
}
