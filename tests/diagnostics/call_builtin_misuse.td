# Built-ins used the wrong way.
dim n = 4
fn f(x: f32["n n"], v: f32["n"]) -> f32["n n"] {
  a = max(x)
  b = min(v)
  c = triu(x, diagonal = 0.5)
  d = tril(v)
  e = triu(x, diagonal = n - 5 + v[0])
  g = normal(std = 1.0)
  h = adam(lr = 0.1)
  i = log(-1)
  return x
}
