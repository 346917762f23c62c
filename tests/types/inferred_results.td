# A function without '->' takes the types of what it returns.
dim n = 4
fn double(x: f32["n"]) {
  return x * 2
}
fn both(x: f32["n"]) {
  return x, x > 0
}
fn g(x: f32["n"]) -> f32["n"] {
  y = double(x)
  a, mask = both(x)
  return where(mask, y, a)
}
