# A literal fits a scalar parameter of a matching kind; tensors need the
# parameter's exact dtype.
dim n = 4
fn takes_int(k: i32) -> i32 {
  return k * 2
}
fn takes_vec(v: f32["n"]) -> f32["n"] {
  return v
}
fn g(x: f32["n"]) -> f32["n"] {
  a = takes_int(1.5)
  b = takes_vec(1.0)
  c = takes_int(true)
  d = takes_vec(x as f16)
  ok = takes_int(3)
  return x
}
