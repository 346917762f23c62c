# Two different float dtypes never mix silently.
dim n = 4
fn f(a: f32["n"], b: bf16["n"], c: f16["n"], d: f64["n"]) -> f32["n"] {
  x = a + b
  y = c * d
  z = max(a, c)
  w = where(a > 0, a, d)
  return a
}
