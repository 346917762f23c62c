# Arithmetic and math functions do not take bool values.
dim n = 4
fn f(m: bool["n"], k: bool["n"], x: f32["n"]) -> f32["n"] {
  a = m + k
  b = m * k
  c = -m
  d = abs(m)
  e = relu(k)
  g = exp(m)
  ok = m == k
  return x
}
