# Indexing takes one element of the leading axis, at a known position.
dim n = 4
dim batch
fn f(x: f32["n n"], y: f32["batch n"], i: i64["n"], s: f32) -> f32["n"] {
  a = x[4]
  b = x[-5]
  c = y[-1]
  d = x[1.5]
  e = x["0"]
  g = s[0]
  h = x[reduce(i, "n ->", "sum")]
  k = n[0]
  l = x[x > 0]
  return x[0]
}
