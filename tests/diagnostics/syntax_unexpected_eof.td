# The file ends inside a function body.
dim n = 4
fn f(x: f32["n"]) -> f32["n"] {
  return x
