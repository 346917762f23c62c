# A binary operator with nothing after it.
dim n = 4
fn f(x: f32["n"]) -> f32["n"] {
  y = x *
  return y
}
