# Scalar parameters and results: rank-0 tensors of any dtype.
dim n = 4
fn scale(x: f32, k: i32) -> f32 {
  return x * (k as f32)
}
fn norm(v: f32["n"]) -> f32 {
  return sqrt(reduce(v * v, "n ->", "sum"))
}
fn g(v: f32["n"]) -> f32["n"] {
  s = scale(norm(v), 3 as i32)
  t = scale(2.0, 1)
  return v / s
}
