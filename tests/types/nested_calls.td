# Functions calling functions; sizes in signatures may be products.
dim n = 4
fn double_len(x: f32["k"]) -> f32["2*k"] {
  return repeat(x, "k -> (two k)", two = 2)
}
fn quadruple_len(x: f32["k"]) -> f32["4*k"] {
  return double_len(double_len(x))
}
fn g(x: f32["n"]) -> f32["16"] {
  y = quadruple_len(x)
  z = double_len(y)
  return quadruple_len(x)
}
