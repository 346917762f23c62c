# Arguments of a call must match the parameter types.
dim n = 4
dim m = 3
fn f(x: f32["n"], y: f32["n m"]) -> f32["n"] {
  return x
}
fn g(a: f32["n"], b: f32["n m"], c: f32["m"], i: i64["n"]) -> f32["n"] {
  p = f(b, b)
  q = f(a, a)
  r = f(i, b)
  s = f(c, b)
  t = f(a)
  u = f(a, b, c)
  v = f(x = a, y = b)
  w = f(a, "b")
  return a
}
