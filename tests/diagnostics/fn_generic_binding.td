# Size variables and '...' are bound by the first argument that has them;
# later arguments must agree.
dim n = 4
dim m = 3
fn add(x: f32["... k"], y: f32["... k"]) -> f32["... k"] {
  return x + y
}
fn outer(x: f32["a"], y: f32["a"]) -> f32["a"] {
  return x * y
}
fn g(p: f32["2 n"], q: f32["5 n"], r: f32["n"], s: f32["m"]) -> f32["n"] {
  a = add(p, q)
  b = outer(r, s)
  c = add(r, s)
  return r
}
