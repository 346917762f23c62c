# An identifier or a dtype where the grammar wants something else.
dim n = 4
fn f(x f32["n"]) -> f32["n"] {
  return x
}
fn g(x: f32["n"]) -> f32["n"] {
  return x y
}
