# where's condition must be bool.
dim n = 4
fn f(x: f32["n"], i: i64["n"]) -> f32["n"] {
  a = where(x, x, 0.0)
  b = where(i, x, x)
  return where(x > 0, x, 0.0)
}
